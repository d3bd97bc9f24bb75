//! A real libzmq peer for brokerless' interop tests and benchmarks.
//!
//! This test-only crate builds libzmq 4.3.5 statically from the sources
//! vendored in the `zeromq-src` crate (DRAFT API on, so RADIO/DISH work;
//! CURVE on, with a static libsodium built by `libsodium-sys-stable`) and
//! wraps the small part of its C API that tests need:
//!
//! * [`ffi`]: raw `unsafe extern "C"` declarations;
//! * [`Context`], [`Socket`], [`SocketKind`], [`ZmqError`]: a safe wrapper
//!   in which every ordinary failure is a `Result`, never a panic;
//! * [`version`] and [`has`]: what the linked libzmq is and can do;
//! * security: the PLAIN / CURVE / ZAP socket options on [`Socket`],
//!   [`curve_keypair`], [`curve_public`], [`z85_encode`], [`z85_decode`], and
//!   a ZAP handler ([`ZapHandler`], or a REP socket of your own bound at
//!   [`ZAP_ENDPOINT`] with [`ZapRequest`] / [`ZapReply`]);
//! * monitoring: [`Socket::monitor`] and [`Socket::recv_monitor_event`].
//!
//! ```
//! use libzmq_peer::{Context, SocketKind};
//!
//! let ctx = Context::new().unwrap();
//! let pull = ctx.socket(SocketKind::Pull).unwrap();
//! pull.bind("tcp://127.0.0.1:*").unwrap();
//! let push = ctx.socket(SocketKind::Push).unwrap();
//! push.connect(&pull.last_endpoint().unwrap()).unwrap();
//! push.send(&[b"hello", b"", b"world"]).unwrap();
//! assert_eq!(pull.recv().unwrap(), vec![b"hello".to_vec(), vec![], b"world".to_vec()]);
//! ```
//!
//! # Lifetimes and blocking on drop
//!
//! libzmq's `zmq_ctx_term` blocks until every socket of the context is
//! closed, and then until each closed socket's pending outgoing messages are
//! sent or its `ZMQ_LINGER` period runs out. libzmq's default linger is -1
//! (wait forever). So:
//!
//! * each [`Socket`] holds a reference to its context's inner state, and the
//!   context is terminated only when the [`Context`] handle (and its clones)
//!   *and* all its sockets have been dropped; dropping a `Context` while
//!   sockets are still open never blocks and never invalidates them;
//! * sockets keep libzmq's defaults (linger included): a test that may leave
//!   unsent messages behind (e.g. a peer that went away) should call
//!   [`Socket::set_linger`]`(0)`, or the final drop can block forever.

#![deny(missing_docs)]

// libzmq's CURVE calls into the static libsodium that this dependency
// builds; naming the crate makes sure rustc links it (after libzmq) even
// though no Rust code here calls libsodium directly.
use libsodium_sys as _;

use std::ffi::{CStr, CString, c_int, c_void};
use std::io;
use std::sync::Arc;
use std::{fmt, ptr};

/// Raw declarations of the libzmq C API used by this crate (see `zmq.h`).
///
/// Everything here is a direct binding: prefer the safe wrapper.
#[allow(non_camel_case_types)]
pub mod ffi {
    use std::ffi::{c_char, c_int, c_long, c_short, c_void};

    /// libzmq's opaque message: 64 bytes, aligned on (at least) a pointer.
    ///
    /// Must be initialised with [`zmq_msg_init`] or [`zmq_msg_init_size`]
    /// before use and released with [`zmq_msg_close`].
    #[repr(C, align(8))]
    pub struct zmq_msg_t {
        _opaque: [u8; 64],
    }

    impl zmq_msg_t {
        /// An all-zero, *uninitialised* message (not yet usable by libzmq).
        pub const fn zeroed() -> Self {
            Self { _opaque: [0; 64] }
        }
    }

    /// The file-descriptor type of a [`zmq_pollitem_t`] (`SOCKET` on
    /// Windows).
    #[cfg(windows)]
    pub type zmq_fd_t = usize;
    /// The file-descriptor type of a [`zmq_pollitem_t`] (`int` on Unix).
    #[cfg(not(windows))]
    pub type zmq_fd_t = c_int;

    /// One entry of a [`zmq_poll`] set.
    #[repr(C)]
    #[derive(Debug, Clone, Copy)]
    pub struct zmq_pollitem_t {
        /// The libzmq socket to poll, or null to poll `fd` instead.
        pub socket: *mut c_void,
        /// A plain file descriptor, used when `socket` is null.
        pub fd: zmq_fd_t,
        /// Requested events (`ZMQ_POLLIN` | `ZMQ_POLLOUT` | ...).
        pub events: c_short,
        /// Events that occurred, filled in by [`zmq_poll`].
        pub revents: c_short,
    }

    unsafe extern "C" {
        /// `int zmq_errno (void)`: the calling thread's last libzmq error.
        pub safe fn zmq_errno() -> c_int;
        /// `const char *zmq_strerror (int)`: a static message for an error
        /// number.
        pub safe fn zmq_strerror(errnum: c_int) -> *const c_char;
        /// `void zmq_version (int *, int *, int *)`.
        pub fn zmq_version(major: *mut c_int, minor: *mut c_int, patch: *mut c_int);
        /// `int zmq_has (const char *)`: 1 if the capability is built in.
        pub fn zmq_has(capability: *const c_char) -> c_int;

        /// `void *zmq_ctx_new (void)`: a new context, or null.
        pub safe fn zmq_ctx_new() -> *mut c_void;
        /// `int zmq_ctx_term (void *)`: blocks until all sockets are closed
        /// and have lingered.
        pub fn zmq_ctx_term(context: *mut c_void) -> c_int;
        /// `int zmq_ctx_set (void *, int, int)`.
        pub fn zmq_ctx_set(context: *mut c_void, option: c_int, optval: c_int) -> c_int;

        /// `void *zmq_socket (void *, int)`: a new socket, or null.
        pub fn zmq_socket(context: *mut c_void, kind: c_int) -> *mut c_void;
        /// `int zmq_close (void *)`.
        pub fn zmq_close(socket: *mut c_void) -> c_int;
        /// `int zmq_setsockopt (void *, int, const void *, size_t)`.
        pub fn zmq_setsockopt(
            socket: *mut c_void,
            option: c_int,
            optval: *const c_void,
            optvallen: usize,
        ) -> c_int;
        /// `int zmq_getsockopt (void *, int, void *, size_t *)`.
        pub fn zmq_getsockopt(
            socket: *mut c_void,
            option: c_int,
            optval: *mut c_void,
            optvallen: *mut usize,
        ) -> c_int;
        /// `int zmq_bind (void *, const char *)`.
        pub fn zmq_bind(socket: *mut c_void, endpoint: *const c_char) -> c_int;
        /// `int zmq_connect (void *, const char *)`.
        pub fn zmq_connect(socket: *mut c_void, endpoint: *const c_char) -> c_int;
        /// `int zmq_unbind (void *, const char *)`.
        pub fn zmq_unbind(socket: *mut c_void, endpoint: *const c_char) -> c_int;
        /// `int zmq_disconnect (void *, const char *)`.
        pub fn zmq_disconnect(socket: *mut c_void, endpoint: *const c_char) -> c_int;
        /// `int zmq_send (void *, const void *, size_t, int)`: copies the
        /// buffer into one frame.
        pub fn zmq_send(socket: *mut c_void, buf: *const c_void, len: usize, flags: c_int)
        -> c_int;
        /// `int zmq_recv (void *, void *, size_t, int)`: truncates frames
        /// longer than `len` (prefer [`zmq_msg_recv`]).
        pub fn zmq_recv(socket: *mut c_void, buf: *mut c_void, len: usize, flags: c_int) -> c_int;
        /// `int zmq_poll (zmq_pollitem_t *, int, long)`.
        pub fn zmq_poll(items: *mut zmq_pollitem_t, nitems: c_int, timeout: c_long) -> c_int;
        /// `int zmq_socket_monitor (void *, const char *, int)`: publishes
        /// the socket's events on a PAIR socket bound at the `inproc://`
        /// address (null stops monitoring).
        pub fn zmq_socket_monitor(socket: *mut c_void, addr: *const c_char, events: c_int)
        -> c_int;

        /// `char *zmq_z85_encode (char *, const uint8_t *, size_t)`: writes
        /// `size * 5 / 4` characters and a NUL to `dest`; null (`EINVAL`)
        /// unless `size` is a multiple of 4.
        pub fn zmq_z85_encode(dest: *mut c_char, data: *const u8, size: usize) -> *mut c_char;
        /// `uint8_t *zmq_z85_decode (uint8_t *, const char *)`: writes
        /// `strlen(string) * 4 / 5` bytes to `dest`; null (`EINVAL`) for a
        /// length that is not a non-zero multiple of 5 or an invalid
        /// character.
        pub fn zmq_z85_decode(dest: *mut u8, string: *const c_char) -> *mut u8;
        /// `int zmq_curve_keypair (char *, char *)`: a new CURVE key pair,
        /// each written as 40 Z85 characters and a NUL (41 bytes); `ENOTSUP`
        /// without CURVE.
        pub fn zmq_curve_keypair(z85_public_key: *mut c_char, z85_secret_key: *mut c_char)
        -> c_int;
        /// `int zmq_curve_public (char *, const char *)`: the Z85 public key
        /// (41 bytes with the NUL) of a Z85 secret key.
        pub fn zmq_curve_public(
            z85_public_key: *mut c_char,
            z85_secret_key: *const c_char,
        ) -> c_int;

        /// `int zmq_msg_init (zmq_msg_t *)`: an empty message.
        pub fn zmq_msg_init(msg: *mut zmq_msg_t) -> c_int;
        /// `int zmq_msg_init_size (zmq_msg_t *, size_t)`: an uninitialised
        /// buffer of `size` bytes.
        pub fn zmq_msg_init_size(msg: *mut zmq_msg_t, size: usize) -> c_int;
        /// `int zmq_msg_send (zmq_msg_t *, void *, int)`: nullifies `msg`
        /// on success.
        pub fn zmq_msg_send(msg: *mut zmq_msg_t, socket: *mut c_void, flags: c_int) -> c_int;
        /// `int zmq_msg_recv (zmq_msg_t *, void *, int)`: releases the
        /// previous content of `msg` first.
        pub fn zmq_msg_recv(msg: *mut zmq_msg_t, socket: *mut c_void, flags: c_int) -> c_int;
        /// `int zmq_msg_close (zmq_msg_t *)`.
        pub fn zmq_msg_close(msg: *mut zmq_msg_t) -> c_int;
        /// `void *zmq_msg_data (zmq_msg_t *)`.
        pub fn zmq_msg_data(msg: *mut zmq_msg_t) -> *mut c_void;
        /// `size_t zmq_msg_size (const zmq_msg_t *)`.
        pub fn zmq_msg_size(msg: *const zmq_msg_t) -> usize;
        /// `int zmq_msg_more (const zmq_msg_t *)`: 1 if more frames follow.
        pub fn zmq_msg_more(msg: *const zmq_msg_t) -> c_int;

        /// DRAFT `int zmq_join (void *, const char *)`: a DISH joins a group.
        pub fn zmq_join(socket: *mut c_void, group: *const c_char) -> c_int;
        /// DRAFT `int zmq_leave (void *, const char *)`: a DISH leaves a
        /// group.
        pub fn zmq_leave(socket: *mut c_void, group: *const c_char) -> c_int;
        /// DRAFT `int zmq_msg_set_group (zmq_msg_t *, const char *)`.
        pub fn zmq_msg_set_group(msg: *mut zmq_msg_t, group: *const c_char) -> c_int;
        /// DRAFT `const char *zmq_msg_group (zmq_msg_t *)`.
        pub fn zmq_msg_group(msg: *mut zmq_msg_t) -> *const c_char;
    }
}

// ---------------------------------------------------------------------------
// Constants (values checked against libzmq 4.3.5's include/zmq.h).
// ---------------------------------------------------------------------------

/// Context option: number of I/O threads (default 1).
pub const ZMQ_IO_THREADS: i32 = 1;
/// Context option: maximum number of sockets.
pub const ZMQ_MAX_SOCKETS: i32 = 2;
/// Context option: whether `zmq_ctx_term` blocks (default true).
pub const ZMQ_BLOCKY: i32 = 70;

/// Send/recv flag: non-blocking operation.
pub const ZMQ_DONTWAIT: i32 = 1;
/// Send flag: more frames of this message follow.
pub const ZMQ_SNDMORE: i32 = 2;

/// Socket option: ROUTER-visible identity of this socket (1..=255 bytes).
pub const ZMQ_ROUTING_ID: i32 = 5;
/// Socket option (SUB, XSUB): add a subscription prefix.
pub const ZMQ_SUBSCRIBE: i32 = 6;
/// Socket option (SUB, XSUB): remove a subscription prefix.
pub const ZMQ_UNSUBSCRIBE: i32 = 7;
/// Socket option (read only): 1 if more frames of the current message follow.
pub const ZMQ_RCVMORE: i32 = 13;
/// Socket option (read only): `ZMQ_POLLIN` / `ZMQ_POLLOUT` readiness.
pub const ZMQ_EVENTS: i32 = 15;
/// Socket option (read only): the socket type.
pub const ZMQ_TYPE: i32 = 16;
/// Socket option: linger period on close, ms (-1 = forever, the default).
pub const ZMQ_LINGER: i32 = 17;
/// Socket option: reconnection interval, ms.
pub const ZMQ_RECONNECT_IVL: i32 = 18;
/// Socket option: maximum inbound message size, bytes (-1 = none).
pub const ZMQ_MAXMSGSIZE: i32 = 22;
/// Socket option: outbound high-water mark, messages.
pub const ZMQ_SNDHWM: i32 = 23;
/// Socket option: inbound high-water mark, messages.
pub const ZMQ_RCVHWM: i32 = 24;
/// Socket option: receive timeout, ms (-1 = forever).
pub const ZMQ_RCVTIMEO: i32 = 27;
/// Socket option: send timeout, ms (-1 = forever).
pub const ZMQ_SNDTIMEO: i32 = 28;
/// Socket option (read only): the last endpoint bound or connected.
pub const ZMQ_LAST_ENDPOINT: i32 = 32;
/// Socket option (ROUTER): fail with `EHOSTUNREACH` on unroutable messages.
pub const ZMQ_ROUTER_MANDATORY: i32 = 33;
/// Socket option: queue messages only to completed connections.
pub const ZMQ_IMMEDIATE: i32 = 39;
/// Socket option (XPUB): pass all subscription messages upstream.
pub const ZMQ_XPUB_VERBOSE: i32 = 40;
/// Socket option: enable IPv6 on the socket.
pub const ZMQ_IPV6: i32 = 42;
/// Socket option (read only): the security mechanism in use.
pub const ZMQ_MECHANISM: i32 = 43;
/// Socket option: act as a PLAIN server.
pub const ZMQ_PLAIN_SERVER: i32 = 44;
/// Socket option: PLAIN user name (client side).
pub const ZMQ_PLAIN_USERNAME: i32 = 45;
/// Socket option: PLAIN password (client side).
pub const ZMQ_PLAIN_PASSWORD: i32 = 46;
/// Socket option: act as a CURVE server (needs [`ZMQ_CURVE_SECRETKEY`]).
pub const ZMQ_CURVE_SERVER: i32 = 47;
/// Socket option: this socket's long-term CURVE public key (client side).
pub const ZMQ_CURVE_PUBLICKEY: i32 = 48;
/// Socket option: this socket's long-term CURVE secret key.
pub const ZMQ_CURVE_SECRETKEY: i32 = 49;
/// Socket option: the server's long-term CURVE public key (client side;
/// setting it makes the socket a CURVE client).
pub const ZMQ_CURVE_SERVERKEY: i32 = 50;
/// Socket option (REQ): match replies to requests with a request id.
pub const ZMQ_REQ_CORRELATE: i32 = 52;
/// Socket option (REQ): allow sending a new request without a reply.
pub const ZMQ_REQ_RELAXED: i32 = 53;
/// Socket option: keep only the last message in queues.
pub const ZMQ_CONFLATE: i32 = 54;
/// Socket option: the ZAP domain.
pub const ZMQ_ZAP_DOMAIN: i32 = 55;
/// Socket option: routing id to give the peer of the next `connect`.
pub const ZMQ_CONNECT_ROUTING_ID: i32 = 61;
/// Socket option: maximum handshake duration, ms.
pub const ZMQ_HANDSHAKE_IVL: i32 = 66;
/// Socket option: interval between ZMTP PINGs, ms (0 = off).
pub const ZMQ_HEARTBEAT_IVL: i32 = 75;
/// Socket option: TTL advertised in PINGs, ms.
pub const ZMQ_HEARTBEAT_TTL: i32 = 76;
/// Socket option: time to wait for a PONG, ms.
pub const ZMQ_HEARTBEAT_TIMEOUT: i32 = 77;

/// [`ZMQ_MECHANISM`] value: no security (the default).
pub const ZMQ_NULL: i32 = 0;
/// [`ZMQ_MECHANISM`] value: PLAIN user name and password.
pub const ZMQ_PLAIN: i32 = 1;
/// [`ZMQ_MECHANISM`] value: CURVE (CurveZMQ).
pub const ZMQ_CURVE: i32 = 2;
/// [`ZMQ_MECHANISM`] value: GSSAPI (not built in here).
pub const ZMQ_GSSAPI: i32 = 3;

/// Monitor event: a connection was made (value: the fd).
pub const ZMQ_EVENT_CONNECTED: u16 = 0x0001;
/// Monitor event: a non-blocking connect is in progress.
pub const ZMQ_EVENT_CONNECT_DELAYED: u16 = 0x0002;
/// Monitor event: a reconnection was scheduled (value: the interval, ms).
pub const ZMQ_EVENT_CONNECT_RETRIED: u16 = 0x0004;
/// Monitor event: the socket listens on an endpoint (value: the fd).
pub const ZMQ_EVENT_LISTENING: u16 = 0x0008;
/// Monitor event: a bind failed (value: errno).
pub const ZMQ_EVENT_BIND_FAILED: u16 = 0x0010;
/// Monitor event: a connection was accepted (value: the fd).
pub const ZMQ_EVENT_ACCEPTED: u16 = 0x0020;
/// Monitor event: accepting a connection failed (value: errno).
pub const ZMQ_EVENT_ACCEPT_FAILED: u16 = 0x0040;
/// Monitor event: a connection or listener was closed (value: the fd).
pub const ZMQ_EVENT_CLOSED: u16 = 0x0080;
/// Monitor event: closing failed (value: errno).
pub const ZMQ_EVENT_CLOSE_FAILED: u16 = 0x0100;
/// Monitor event: a session was broken (value: the fd).
pub const ZMQ_EVENT_DISCONNECTED: u16 = 0x0200;
/// Monitor event: monitoring stopped (the last event sent).
pub const ZMQ_EVENT_MONITOR_STOPPED: u16 = 0x0400;
/// Monitor event: the ZMTP handshake failed, no detail (value: errno).
pub const ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: u16 = 0x0800;
/// Monitor event: the ZMTP handshake (security included) succeeded.
pub const ZMQ_EVENT_HANDSHAKE_SUCCEEDED: u16 = 0x1000;
/// Monitor event: the handshake failed on a protocol error (value: one of
/// the `ZMQ_PROTOCOL_ERROR_*` codes).
pub const ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: u16 = 0x2000;
/// Monitor event: ZAP refused the peer (value: the ZAP status code, e.g.
/// 400). `0x4000` in libzmq 4.3.5's `zmq.h`.
pub const ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: u16 = 0x4000;
/// Monitor event mask: every event above.
pub const ZMQ_EVENT_ALL: i32 = 0xFFFF;

/// Protocol error (monitor value): unspecified ZMTP error.
pub const ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED: u32 = 0x1000_0000;
/// Protocol error: a command that is not valid at this point.
pub const ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND: u32 = 0x1000_0001;
/// Protocol error: invalid sequence (nonce).
pub const ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE: u32 = 0x1000_0002;
/// Protocol error: key exchange failed.
pub const ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE: u32 = 0x1000_0003;
/// Protocol error: malformed command, unspecified.
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED: u32 = 0x1000_0011;
/// Protocol error: malformed MESSAGE command.
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE: u32 = 0x1000_0012;
/// Protocol error: malformed HELLO command.
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO: u32 = 0x1000_0013;
/// Protocol error: malformed INITIATE command.
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE: u32 = 0x1000_0014;
/// Protocol error: malformed ERROR command.
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR: u32 = 0x1000_0015;
/// Protocol error: malformed READY command.
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY: u32 = 0x1000_0016;
/// Protocol error: malformed WELCOME command.
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME: u32 = 0x1000_0017;
/// Protocol error: invalid metadata.
pub const ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA: u32 = 0x1000_0018;
/// Protocol error: a box failed to open (e.g. CURVE with the wrong key).
pub const ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: u32 = 0x1100_0001;
/// Protocol error: the peers use different security mechanisms.
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: u32 = 0x1100_0002;
/// Protocol error: unspecified ZAP error.
pub const ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED: u32 = 0x2000_0000;
/// Protocol error: malformed ZAP reply.
pub const ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY: u32 = 0x2000_0001;
/// Protocol error: ZAP reply with a wrong request id.
pub const ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID: u32 = 0x2000_0002;
/// Protocol error: ZAP reply with a wrong version.
pub const ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION: u32 = 0x2000_0003;
/// Protocol error: ZAP reply with an invalid status code.
pub const ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE: u32 = 0x2000_0004;
/// Protocol error: ZAP reply with invalid metadata.
pub const ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA: u32 = 0x2000_0005;

/// Poll event: at least one message can be received.
pub const ZMQ_POLLIN: i16 = 1;
/// Poll event: at least one message can be sent.
pub const ZMQ_POLLOUT: i16 = 2;
/// Poll event: error on a plain file descriptor.
pub const ZMQ_POLLERR: i16 = 4;

/// Maximum length of a RADIO/DISH group name, bytes.
pub const ZMQ_GROUP_MAX_LENGTH: usize = 255;

/// libzmq's base for the error numbers it defines itself.
pub const ZMQ_HAUSNUMERO: i32 = 156_384_712;
/// Operation not valid in the socket's current state (e.g. REQ sending twice).
pub const EFSM: i32 = ZMQ_HAUSNUMERO + 51;
/// The context was terminated.
pub const ETERM: i32 = ZMQ_HAUSNUMERO + 53;

/// `EINVAL` (22 on Linux, the BSDs, macOS and Windows' CRT), used for
/// argument errors detected by this wrapper before calling libzmq.
const EINVAL: i32 = 22;

// ---------------------------------------------------------------------------
// Errors, version, capabilities
// ---------------------------------------------------------------------------

/// An error reported by libzmq (or an invalid argument caught by this
/// wrapper, reported as `EINVAL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZmqError {
    /// The error number: a system `errno` or one of libzmq's own
    /// (`ZMQ_HAUSNUMERO + n`).
    pub errno: i32,
    /// A human-readable message (`zmq_strerror`, possibly with context).
    pub message: String,
}

impl ZmqError {
    /// The error for `errno`, with libzmq's message for it.
    pub fn from_errno(errno: i32) -> Self {
        let text = ffi::zmq_strerror(errno);
        let message = if text.is_null() {
            format!("error {errno}")
        } else {
            // SAFETY: zmq_strerror returns a pointer to a static,
            // NUL-terminated string (libzmq's table or the C library's
            // strerror buffer), valid at least until the next call on this
            // thread; it is copied out at once.
            unsafe { CStr::from_ptr(text) }
                .to_string_lossy()
                .into_owned()
        };
        Self { errno, message }
    }

    /// The calling thread's last libzmq error (`zmq_errno`).
    pub fn last() -> Self {
        Self::from_errno(ffi::zmq_errno())
    }

    /// An `EINVAL` error with a custom message.
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            errno: EINVAL,
            message: message.into(),
        }
    }

    /// True for `EAGAIN`: a non-blocking call found nothing to do, or a
    /// `ZMQ_RCVTIMEO` / `ZMQ_SNDTIMEO` timeout expired.
    pub fn is_again(&self) -> bool {
        io::Error::from_raw_os_error(self.errno).kind() == io::ErrorKind::WouldBlock
    }

    /// True for `EINTR`: a signal interrupted the call.
    pub fn is_interrupted(&self) -> bool {
        io::Error::from_raw_os_error(self.errno).kind() == io::ErrorKind::Interrupted
    }

    /// True for `ETERM`: the socket's context is being terminated.
    pub fn is_term(&self) -> bool {
        self.errno == ETERM
    }
}

impl fmt::Display for ZmqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "libzmq error {}: {}", self.errno, self.message)
    }
}

impl std::error::Error for ZmqError {}

/// The linked libzmq's version, `(major, minor, patch)`: `(4, 3, 5)`.
pub fn version() -> (i32, i32, i32) {
    let (mut major, mut minor, mut patch): (c_int, c_int, c_int) = (0, 0, 0);
    // SAFETY: the three pointers are valid, writable, distinct c_ints.
    unsafe { ffi::zmq_version(&mut major, &mut minor, &mut patch) };
    (major, minor, patch)
}

/// Whether the linked libzmq has a capability (`zmq_has`): `"draft"`,
/// `"ipc"`, `"curve"`, `"gssapi"` ... (PLAIN is always built in, not listed).
/// A name containing NUL is never one.
pub fn has(capability: &str) -> bool {
    let Ok(name) = CString::new(capability) else {
        return false;
    };
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
    unsafe { ffi::zmq_has(name.as_ptr()) == 1 }
}

/// A new CURVE key pair, `(public, secret)`, each as 40 Z85 characters
/// (`zmq_curve_keypair`); [`z85_decode`] gives the 32 raw bytes.
///
/// Fails (`ENOTSUP`) only if libzmq was built without CURVE, which this crate
/// never does.
pub fn curve_keypair() -> Result<(String, String), ZmqError> {
    let mut public = [0u8; 41];
    let mut secret = [0u8; 41];
    // SAFETY: both buffers are writable for the 41 bytes (40 Z85 characters
    // and a NUL) that zmq_curve_keypair writes.
    check(unsafe {
        ffi::zmq_curve_keypair(public.as_mut_ptr().cast(), secret.as_mut_ptr().cast())
    })?;
    Ok((z85_from_buf(&public)?, z85_from_buf(&secret)?))
}

/// The Z85 public key (40 characters) of a Z85 secret key
/// (`zmq_curve_public`); `EINVAL` unless `secret` is 40 valid Z85
/// characters.
pub fn curve_public(secret: &str) -> Result<String, ZmqError> {
    if secret.len() != 40 {
        return Err(ZmqError::invalid(format!(
            "a Z85 CURVE secret key has 40 characters, not {}",
            secret.len()
        )));
    }
    let secret = c_string("secret key", secret)?;
    let mut public = [0u8; 41];
    // SAFETY: `public` is writable for the 41 bytes written; `secret` is a
    // NUL-terminated string of 40 characters, which decodes to the 32 bytes
    // zmq_curve_public's own buffer holds.
    check(unsafe { ffi::zmq_curve_public(public.as_mut_ptr().cast(), secret.as_ptr()) })?;
    z85_from_buf(&public)
}

/// Z85-encodes `data` (ZeroMQ RFC 32, `zmq_z85_encode`): 5 characters per 4
/// bytes, so `data.len()` must be a multiple of 4 (else `EINVAL`).
///
/// `z85_encode(&[0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B])` is
/// `"HelloWorld"`.
pub fn z85_encode(data: &[u8]) -> Result<String, ZmqError> {
    if data.len() % 4 != 0 {
        return Err(ZmqError::invalid(format!(
            "Z85 encodes a multiple of 4 bytes, not {}",
            data.len()
        )));
    }
    let mut out = vec![0u8; data.len() / 4 * 5 + 1];
    // SAFETY: `data` is readable for `data.len()` bytes, a multiple of 4, and
    // `out` is writable for the `len * 5 / 4` characters plus NUL written.
    let rc = unsafe { ffi::zmq_z85_encode(out.as_mut_ptr().cast(), data.as_ptr(), data.len()) };
    if rc.is_null() {
        return Err(ZmqError::last());
    }
    z85_from_buf(&out)
}

/// Decodes a Z85 string (ZeroMQ RFC 32, `zmq_z85_decode`): 4 bytes per 5
/// characters. `EINVAL` unless `text` is a non-empty multiple of 5 characters
/// of the Z85 alphabet (an empty string is rejected, as libzmq does).
pub fn z85_decode(text: &str) -> Result<Vec<u8>, ZmqError> {
    if text.is_empty() || text.len() % 5 != 0 {
        return Err(ZmqError::invalid(format!(
            "Z85 decodes a non-zero multiple of 5 characters, not {}",
            text.len()
        )));
    }
    let c_text = c_string("Z85 text", text)?;
    let mut out = vec![0u8; text.len() / 5 * 4];
    // SAFETY: `c_text` is NUL-terminated with strlen == text.len() (no inner
    // NUL), and `out` is writable for the `strlen * 4 / 5` bytes written.
    let rc = unsafe { ffi::zmq_z85_decode(out.as_mut_ptr(), c_text.as_ptr()) };
    if rc.is_null() {
        return Err(ZmqError::invalid(format!("not valid Z85: {text:?}")));
    }
    Ok(out)
}

/// The Z85 text before the NUL terminator in a buffer filled by libzmq.
fn z85_from_buf(buf: &[u8]) -> Result<String, ZmqError> {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec())
        .map_err(|e| ZmqError::invalid(format!("Z85 text not UTF-8: {e}")))
}

/// Turns a libzmq `-1`-on-error return code into a `Result`.
fn check(rc: c_int) -> Result<c_int, ZmqError> {
    if rc < 0 {
        Err(ZmqError::last())
    } else {
        Ok(rc)
    }
}

/// Retries `call` while it fails with `EINTR`.
fn retry_eintr(mut call: impl FnMut() -> c_int) -> Result<c_int, ZmqError> {
    loop {
        match check(call()) {
            Err(e) if e.is_interrupted() => {}
            other => return other,
        }
    }
}

/// A NUL-terminated copy of `s`, or `EINVAL` if `s` contains a NUL byte.
fn c_string(what: &str, s: &str) -> Result<CString, ZmqError> {
    CString::new(s).map_err(|_| ZmqError::invalid(format!("{what} contains a NUL byte: {s:?}")))
}

// ---------------------------------------------------------------------------
// Context
// ---------------------------------------------------------------------------

/// The owned libzmq context, terminated when the last handle to it (the
/// [`Context`] and all its sockets) is dropped.
struct ContextInner {
    raw: *mut c_void,
}

// SAFETY: libzmq contexts are thread safe: zmq_ctx_* and zmq_socket may be
// called on one context from any thread, concurrently (zmq_ctx_new(3)).
unsafe impl Send for ContextInner {}
// SAFETY: as above; `ContextInner` exposes no `&self` method that is not
// thread safe in libzmq.
unsafe impl Sync for ContextInner {}

impl Drop for ContextInner {
    fn drop(&mut self) {
        // SAFETY: `raw` came from a successful zmq_ctx_new and is terminated
        // only here, once. Every `Socket` holds an `Arc` to this value, so
        // all sockets of the context are closed by now and zmq_ctx_term only
        // waits for their linger periods. On EINTR termination is retried,
        // as zmq_ctx_term(3) requires.
        while unsafe { ffi::zmq_ctx_term(self.raw) } != 0 {
            if !ZmqError::last().is_interrupted() {
                break;
            }
        }
    }
}

/// A libzmq context (`zmq_ctx_new`): the factory of [`Socket`]s and owner of
/// their I/O threads.
///
/// `Send + Sync` and cheap to clone (clones share one libzmq context).
/// Dropping it never blocks while sockets are open: the libzmq context is
/// terminated (`zmq_ctx_term`, which waits for every closed socket's linger)
/// only once this handle, its clones and all its sockets are dropped.
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("raw", &self.inner.raw)
            .finish()
    }
}

impl Context {
    /// A new libzmq context with default settings (one I/O thread).
    pub fn new() -> Result<Self, ZmqError> {
        let raw = ffi::zmq_ctx_new();
        if raw.is_null() {
            return Err(ZmqError::last());
        }
        Ok(Self {
            inner: Arc::new(ContextInner { raw }),
        })
    }

    /// Sets an integer context option (`zmq_ctx_set`), e.g.
    /// [`ZMQ_IO_THREADS`] or [`ZMQ_BLOCKY`].
    pub fn set(&self, option: i32, value: i32) -> Result<(), ZmqError> {
        // SAFETY: `raw` is a live context (kept alive by `inner`).
        check(unsafe { ffi::zmq_ctx_set(self.inner.raw, option, value) }).map(drop)
    }

    /// A new socket of `kind` in this context (`zmq_socket`), with libzmq's
    /// default options.
    pub fn socket(&self, kind: SocketKind) -> Result<Socket, ZmqError> {
        // SAFETY: `raw` is a live context (kept alive by `inner`).
        let raw = unsafe { ffi::zmq_socket(self.inner.raw, kind.raw()) };
        if raw.is_null() {
            return Err(ZmqError::last());
        }
        Ok(Socket {
            raw,
            kind,
            _ctx: Arc::clone(&self.inner),
        })
    }
}

// ---------------------------------------------------------------------------
// Socket
// ---------------------------------------------------------------------------

/// The libzmq socket types this crate exposes, with their `zmq.h` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum SocketKind {
    /// `ZMQ_REQ` (3).
    Req = 3,
    /// `ZMQ_REP` (4).
    Rep = 4,
    /// `ZMQ_DEALER` (5).
    Dealer = 5,
    /// `ZMQ_ROUTER` (6).
    Router = 6,
    /// `ZMQ_PUB` (1).
    Pub = 1,
    /// `ZMQ_SUB` (2).
    Sub = 2,
    /// `ZMQ_XPUB` (9).
    XPub = 9,
    /// `ZMQ_XSUB` (10).
    XSub = 10,
    /// `ZMQ_PUSH` (8).
    Push = 8,
    /// `ZMQ_PULL` (7).
    Pull = 7,
    /// `ZMQ_PAIR` (0).
    Pair = 0,
    /// `ZMQ_RADIO` (14, DRAFT).
    Radio = 14,
    /// `ZMQ_DISH` (15, DRAFT).
    Dish = 15,
}

impl SocketKind {
    /// The libzmq constant (`ZMQ_PUSH` ...) for this kind.
    pub const fn raw(self) -> i32 {
        self as i32
    }
}

/// Owns a `zmq_msg_t` and closes it on drop. Never moved once initialised
/// (it is only used in place, behind `&mut`).
struct MsgGuard {
    msg: ffi::zmq_msg_t,
    initialised: bool,
}

impl MsgGuard {
    /// An uninitialised guard; call one of the `init*` methods in place.
    const fn new() -> Self {
        Self {
            msg: ffi::zmq_msg_t::zeroed(),
            initialised: false,
        }
    }

    /// `zmq_msg_init`: an empty message.
    fn init(&mut self) -> Result<(), ZmqError> {
        // SAFETY: `msg` is valid, aligned, writable storage for a zmq_msg_t.
        check(unsafe { ffi::zmq_msg_init(&mut self.msg) })?;
        self.initialised = true;
        Ok(())
    }

    /// `zmq_msg_init_size` then a copy of `data` into the message.
    fn init_with(&mut self, data: &[u8]) -> Result<(), ZmqError> {
        // SAFETY: `msg` is valid, aligned, writable storage for a zmq_msg_t.
        check(unsafe { ffi::zmq_msg_init_size(&mut self.msg, data.len()) })?;
        self.initialised = true;
        if !data.is_empty() {
            // SAFETY: the message was just initialised with room for exactly
            // `data.len()` bytes at zmq_msg_data; the libzmq buffer and
            // `data` cannot overlap.
            unsafe {
                let dst = ffi::zmq_msg_data(&mut self.msg).cast::<u8>();
                ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len());
            }
        }
        Ok(())
    }

    /// A copy of the message's bytes.
    fn copy_data(&mut self) -> Vec<u8> {
        // SAFETY: the message is initialised (callers only use this after a
        // successful init + recv).
        let (data, len) = unsafe {
            (
                ffi::zmq_msg_data(&mut self.msg).cast::<u8>(),
                ffi::zmq_msg_size(&self.msg),
            )
        };
        if len == 0 || data.is_null() {
            return Vec::new();
        }
        // SAFETY: libzmq guarantees `len` readable bytes at `data` for as
        // long as the message is neither closed nor reused; the slice is
        // copied before either happens.
        unsafe { std::slice::from_raw_parts(data, len) }.to_vec()
    }

    /// Whether more frames of the same message follow (`zmq_msg_more`).
    fn more(&self) -> bool {
        // SAFETY: the message is initialised.
        unsafe { ffi::zmq_msg_more(&self.msg) != 0 }
    }
}

impl Drop for MsgGuard {
    fn drop(&mut self) {
        if self.initialised {
            // SAFETY: the message was initialised and not yet closed;
            // closing a message nullified by a successful send is allowed.
            unsafe { ffi::zmq_msg_close(&mut self.msg) };
        }
    }
}

/// A libzmq socket (`zmq_socket`), closed on drop (`zmq_close`).
///
/// `Send` but not `Sync`: like a libzmq socket it may move between threads,
/// but must be used from one thread at a time. Options keep libzmq's
/// defaults (linger -1 included, see the [crate docs](crate)) until set.
pub struct Socket {
    raw: *mut c_void,
    kind: SocketKind,
    /// Keeps the context alive (not terminated) while this socket is open.
    _ctx: Arc<ContextInner>,
}

// SAFETY: a libzmq socket may be migrated from one thread to another
// provided a full memory barrier separates the uses (zmq_socket(3)); moving a
// value between threads in Rust (spawn, channels, mutexes) includes one.
// `Socket` is deliberately not `Sync`, so no two threads use it at once.
unsafe impl Send for Socket {}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("kind", &self.kind)
            .field("raw", &self.raw)
            .finish()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: `raw` is a live socket closed only here, once; the
        // context is still alive because `_ctx` is dropped after this body.
        unsafe { ffi::zmq_close(self.raw) };
    }
}

impl Socket {
    /// This socket's kind.
    pub fn kind(&self) -> SocketKind {
        self.kind
    }

    /// The raw libzmq socket (`void *`), to call [`ffi`] functions the
    /// wrapper does not cover, e.g. `zmq_msg_recv` into one reused message
    /// as libzmq's perf tools do.
    ///
    /// Using it is `unsafe` at the call site, with two rules: the pointer is
    /// valid only while this `Socket` lives (it is closed on drop; never
    /// `zmq_close` it yourself), and only the thread that holds this
    /// `Socket` at the time may use it (libzmq sockets are not thread
    /// safe, and the pointer is not `Send`).
    pub fn as_raw(&self) -> *mut c_void {
        self.raw
    }

    /// Binds to an endpoint (`zmq_bind`), e.g. `tcp://127.0.0.1:*`; read the
    /// actual port back with [`Socket::last_endpoint`].
    pub fn bind(&self, endpoint: &str) -> Result<(), ZmqError> {
        let endpoint = c_string("endpoint", endpoint)?;
        // SAFETY: live socket; `endpoint` is NUL-terminated and outlives the
        // call.
        check(unsafe { ffi::zmq_bind(self.raw, endpoint.as_ptr()) }).map(drop)
    }

    /// Connects to an endpoint (`zmq_connect`); the connection is made in
    /// the background and retried.
    pub fn connect(&self, endpoint: &str) -> Result<(), ZmqError> {
        let endpoint = c_string("endpoint", endpoint)?;
        // SAFETY: live socket; `endpoint` is NUL-terminated and outlives the
        // call.
        check(unsafe { ffi::zmq_connect(self.raw, endpoint.as_ptr()) }).map(drop)
    }

    /// Stops listening on an endpoint bound earlier (`zmq_unbind`; use the
    /// resolved endpoint, not a `*` wildcard).
    pub fn unbind(&self, endpoint: &str) -> Result<(), ZmqError> {
        let endpoint = c_string("endpoint", endpoint)?;
        // SAFETY: live socket; `endpoint` is NUL-terminated and outlives the
        // call.
        check(unsafe { ffi::zmq_unbind(self.raw, endpoint.as_ptr()) }).map(drop)
    }

    /// Drops a connection made earlier with [`Socket::connect`]
    /// (`zmq_disconnect`).
    pub fn disconnect(&self, endpoint: &str) -> Result<(), ZmqError> {
        let endpoint = c_string("endpoint", endpoint)?;
        // SAFETY: live socket; `endpoint` is NUL-terminated and outlives the
        // call.
        check(unsafe { ffi::zmq_disconnect(self.raw, endpoint.as_ptr()) }).map(drop)
    }

    /// The last endpoint bound or connected (`ZMQ_LAST_ENDPOINT`), with a
    /// wildcard port resolved, e.g. `tcp://127.0.0.1:41234`.
    pub fn last_endpoint(&self) -> Result<String, ZmqError> {
        let mut bytes = self.get_bytes(ZMQ_LAST_ENDPOINT, 1024)?;
        if let Some(nul) = bytes.iter().position(|&b| b == 0) {
            bytes.truncate(nul);
        }
        String::from_utf8(bytes).map_err(|e| ZmqError::invalid(format!("endpoint not UTF-8: {e}")))
    }

    /// Sets an integer socket option (`zmq_setsockopt` with an `int`).
    pub fn set_int(&self, option: i32, value: i32) -> Result<(), ZmqError> {
        let value: c_int = value;
        // SAFETY: live socket; the option value points to one readable
        // c_int and its size is passed.
        check(unsafe {
            ffi::zmq_setsockopt(
                self.raw,
                option,
                (&raw const value).cast(),
                size_of::<c_int>(),
            )
        })
        .map(drop)
    }

    /// Sets a binary/string socket option (`zmq_setsockopt` with bytes);
    /// strings are passed without a NUL terminator.
    pub fn set_bytes(&self, option: i32, value: &[u8]) -> Result<(), ZmqError> {
        // SAFETY: live socket; `value` is readable for `value.len()` bytes
        // (libzmq copies it and reads nothing when the length is 0).
        check(unsafe { ffi::zmq_setsockopt(self.raw, option, value.as_ptr().cast(), value.len()) })
            .map(drop)
    }

    /// Reads an integer socket option (`zmq_getsockopt` with an `int`).
    pub fn get_int(&self, option: i32) -> Result<i32, ZmqError> {
        let mut value: c_int = 0;
        let mut len = size_of::<c_int>();
        // SAFETY: live socket; `value` is writable for `len` bytes and `len`
        // is a valid in/out size.
        check(unsafe { ffi::zmq_getsockopt(self.raw, option, (&raw mut value).cast(), &mut len) })?;
        Ok(value)
    }

    /// Reads a binary/string socket option of at most `max_len` bytes
    /// (`zmq_getsockopt`); string options include their NUL terminator.
    pub fn get_bytes(&self, option: i32, max_len: usize) -> Result<Vec<u8>, ZmqError> {
        let mut buf = vec![0u8; max_len];
        let mut len = max_len;
        // SAFETY: live socket; `buf` is writable for `len` bytes and `len`
        // is a valid in/out size.
        check(unsafe { ffi::zmq_getsockopt(self.raw, option, buf.as_mut_ptr().cast(), &mut len) })?;
        buf.truncate(len.min(max_len));
        Ok(buf)
    }

    /// Sets `ZMQ_LINGER`, ms: how long a closed socket keeps trying to send
    /// pending messages (-1 forever, libzmq's default; 0 drop them).
    pub fn set_linger(&self, ms: i32) -> Result<(), ZmqError> {
        self.set_int(ZMQ_LINGER, ms)
    }

    /// Sets `ZMQ_SNDHWM`, the outbound high-water mark in messages
    /// (0 = none; default 1000). Applies to connections made afterwards.
    pub fn set_sndhwm(&self, messages: i32) -> Result<(), ZmqError> {
        self.set_int(ZMQ_SNDHWM, messages)
    }

    /// Sets `ZMQ_RCVHWM`, the inbound high-water mark in messages
    /// (0 = none; default 1000). Applies to connections made afterwards.
    pub fn set_rcvhwm(&self, messages: i32) -> Result<(), ZmqError> {
        self.set_int(ZMQ_RCVHWM, messages)
    }

    /// Sets `ZMQ_RCVTIMEO`, ms: a blocking receive then fails with `EAGAIN`
    /// ([`ZmqError::is_again`]) after this long (-1 = wait forever).
    pub fn set_rcvtimeo(&self, ms: i32) -> Result<(), ZmqError> {
        self.set_int(ZMQ_RCVTIMEO, ms)
    }

    /// Sets `ZMQ_SNDTIMEO`, ms: a blocking send then fails with `EAGAIN`
    /// after this long (-1 = wait forever).
    pub fn set_sndtimeo(&self, ms: i32) -> Result<(), ZmqError> {
        self.set_int(ZMQ_SNDTIMEO, ms)
    }

    /// Sets `ZMQ_ROUTING_ID`, the identity a ROUTER peer sees (1..=255
    /// bytes, not starting with a zero byte); set it before connecting.
    pub fn set_routing_id(&self, id: &[u8]) -> Result<(), ZmqError> {
        self.set_bytes(ZMQ_ROUTING_ID, id)
    }

    /// Subscribes a SUB/XSUB socket to messages starting with `prefix`
    /// (`ZMQ_SUBSCRIBE`; an empty prefix matches everything).
    pub fn subscribe(&self, prefix: &[u8]) -> Result<(), ZmqError> {
        self.set_bytes(ZMQ_SUBSCRIBE, prefix)
    }

    /// Removes a subscription made with [`Socket::subscribe`]
    /// (`ZMQ_UNSUBSCRIBE`).
    pub fn unsubscribe(&self, prefix: &[u8]) -> Result<(), ZmqError> {
        self.set_bytes(ZMQ_UNSUBSCRIBE, prefix)
    }

    /// Sets `ZMQ_PLAIN_SERVER`: with `true` the socket authenticates PLAIN
    /// clients (through the context's ZAP handler, if one is bound at
    /// [`ZAP_ENDPOINT`]; without one libzmq accepts every client).
    pub fn set_plain_server(&self, server: bool) -> Result<(), ZmqError> {
        self.set_int(ZMQ_PLAIN_SERVER, i32::from(server))
    }

    /// Sets `ZMQ_PLAIN_USERNAME` (client side; makes the socket a PLAIN
    /// client). Up to 255 bytes, passed as is.
    pub fn set_plain_username(&self, username: impl AsRef<[u8]>) -> Result<(), ZmqError> {
        self.set_bytes(ZMQ_PLAIN_USERNAME, username.as_ref())
    }

    /// Sets `ZMQ_PLAIN_PASSWORD` (client side; makes the socket a PLAIN
    /// client). Up to 255 bytes, passed as is.
    pub fn set_plain_password(&self, password: impl AsRef<[u8]>) -> Result<(), ZmqError> {
        self.set_bytes(ZMQ_PLAIN_PASSWORD, password.as_ref())
    }

    /// Sets `ZMQ_CURVE_SERVER`: with `true` the socket is a CURVE server
    /// (it also needs [`Socket::set_curve_secretkey`]).
    pub fn set_curve_server(&self, server: bool) -> Result<(), ZmqError> {
        self.set_int(ZMQ_CURVE_SERVER, i32::from(server))
    }

    /// Sets `ZMQ_CURVE_PUBLICKEY`, this client's long-term public key:
    /// 32 raw bytes or 40 Z85 characters (a `&str` from [`curve_keypair`]
    /// works as is); any other length is `EINVAL`.
    pub fn set_curve_publickey(&self, key: impl AsRef<[u8]>) -> Result<(), ZmqError> {
        self.set_bytes(ZMQ_CURVE_PUBLICKEY, key.as_ref())
    }

    /// Sets `ZMQ_CURVE_SECRETKEY`, this socket's long-term secret key
    /// (client or server): 32 raw bytes or 40 Z85 characters.
    pub fn set_curve_secretkey(&self, key: impl AsRef<[u8]>) -> Result<(), ZmqError> {
        self.set_bytes(ZMQ_CURVE_SECRETKEY, key.as_ref())
    }

    /// Sets `ZMQ_CURVE_SERVERKEY`, the server's long-term public key, which
    /// makes this socket a CURVE client: 32 raw bytes or 40 Z85 characters.
    pub fn set_curve_serverkey(&self, key: impl AsRef<[u8]>) -> Result<(), ZmqError> {
        self.set_bytes(ZMQ_CURVE_SERVERKEY, key.as_ref())
    }

    /// Sets `ZMQ_ZAP_DOMAIN`, the domain a server passes to the ZAP handler
    /// ([`ZapRequest::domain`]). With NULL security, libzmq asks ZAP only if
    /// a domain is set; PLAIN and CURVE servers ask whenever a handler is
    /// bound.
    pub fn set_zap_domain(&self, domain: &str) -> Result<(), ZmqError> {
        self.set_bytes(ZMQ_ZAP_DOMAIN, domain.as_bytes())
    }

    /// Reads `ZMQ_MECHANISM`: [`ZMQ_NULL`], [`ZMQ_PLAIN`], [`ZMQ_CURVE`] or
    /// [`ZMQ_GSSAPI`], as configured by the options above.
    pub fn mechanism(&self) -> Result<i32, ZmqError> {
        self.get_int(ZMQ_MECHANISM)
    }

    /// Starts publishing this socket's events matching the `events` mask
    /// (`ZMQ_EVENT_*`, e.g. [`ZMQ_EVENT_ALL`]) on a PAIR socket that libzmq
    /// binds at `endpoint`, which must be `inproc://` (`zmq_socket_monitor`).
    ///
    /// Connect a [`SocketKind::Pair`] socket of the same context to
    /// `endpoint` *before* the events of interest happen (libzmq drops
    /// events while no peer is connected), then read them with
    /// [`Socket::recv_monitor_event`].
    pub fn monitor(&self, endpoint: &str, events: i32) -> Result<(), ZmqError> {
        let endpoint = c_string("endpoint", endpoint)?;
        // SAFETY: live socket; `endpoint` is NUL-terminated and outlives the
        // call.
        check(unsafe { ffi::zmq_socket_monitor(self.raw, endpoint.as_ptr(), events) }).map(drop)
    }

    /// Receives one event on a PAIR socket connected to a
    /// [`Socket::monitor`] endpoint, blocking up to `ZMQ_RCVTIMEO` like
    /// [`Socket::recv`]. A message not in libzmq's event format is
    /// `EINVAL`.
    pub fn recv_monitor_event(&self) -> Result<MonitorEvent, ZmqError> {
        MonitorEvent::parse(&self.recv()?)
    }

    /// Sends one multipart message, blocking as libzmq does (subject to
    /// `ZMQ_SNDTIMEO`).
    ///
    /// Every frame but the last is sent with `ZMQ_SNDMORE`, so peers get
    /// the whole message or nothing. Each frame is copied by libzmq. An empty
    /// `parts` slice is `EINVAL` (send `&[b""]` for one empty frame).
    pub fn send(&self, parts: &[&[u8]]) -> Result<(), ZmqError> {
        self.send_flags(parts, 0).map(drop)
    }

    /// Like [`Socket::send`] but without blocking (`ZMQ_DONTWAIT` on the
    /// first frame): `Ok(false)` if the message cannot be queued now
    /// (`EAGAIN`, e.g. high-water mark reached or no peer), in which case
    /// nothing was sent.
    pub fn try_send(&self, parts: &[&[u8]]) -> Result<bool, ZmqError> {
        self.send_flags(parts, ZMQ_DONTWAIT)
    }

    /// Shared body of `send` / `try_send`: `first_flags` applies to the first
    /// frame only (once it is queued, libzmq accepts the rest without
    /// blocking, as high-water marks count whole messages).
    fn send_flags(&self, parts: &[&[u8]], first_flags: i32) -> Result<bool, ZmqError> {
        if parts.is_empty() {
            return Err(ZmqError::invalid("a message needs at least one frame"));
        }
        let last = parts.len() - 1;
        for (i, part) in parts.iter().enumerate() {
            let mut flags = if i == 0 { first_flags } else { 0 };
            if i < last {
                flags |= ZMQ_SNDMORE;
            }
            // SAFETY: live socket; `part` is readable for `part.len()` bytes
            // during the call and zmq_send copies it.
            let sent = retry_eintr(|| unsafe {
                ffi::zmq_send(self.raw, part.as_ptr().cast(), part.len(), flags)
            });
            match sent {
                Ok(_) => {}
                Err(e) if i == 0 && first_flags & ZMQ_DONTWAIT != 0 && e.is_again() => {
                    return Ok(false);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Receives one whole multipart message, blocking as libzmq does:
    /// fails with `EAGAIN` ([`ZmqError::is_again`]) once `ZMQ_RCVTIMEO`
    /// expires. Frames of any size (MiB and more) are received whole.
    pub fn recv(&self) -> Result<Vec<Vec<u8>>, ZmqError> {
        self.recv_flags(0)?
            .ok_or_else(|| ZmqError::invalid("blocking receive returned no message"))
    }

    /// Receives one whole multipart message if one is ready
    /// (`ZMQ_DONTWAIT`), or returns `Ok(None)` (`EAGAIN`) without waiting.
    pub fn try_recv(&self) -> Result<Option<Vec<Vec<u8>>>, ZmqError> {
        self.recv_flags(ZMQ_DONTWAIT)
    }

    /// Shared body of `recv` / `try_recv`: `first_flags` applies to the first
    /// frame only (libzmq delivers multipart messages atomically, so the
    /// other frames are already there).
    fn recv_flags(&self, first_flags: i32) -> Result<Option<Vec<Vec<u8>>>, ZmqError> {
        let mut msg = MsgGuard::new();
        msg.init()?;
        let mut parts = Vec::new();
        loop {
            let flags = if parts.is_empty() { first_flags } else { 0 };
            // SAFETY: live socket; `msg` is an initialised message used in
            // place (zmq_msg_recv releases its previous content).
            let received =
                retry_eintr(|| unsafe { ffi::zmq_msg_recv(&mut msg.msg, self.raw, flags) });
            match received {
                Ok(_) => {}
                Err(e) if parts.is_empty() && first_flags & ZMQ_DONTWAIT != 0 && e.is_again() => {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
            parts.push(msg.copy_data());
            if !msg.more() {
                return Ok(Some(parts));
            }
        }
    }

    /// Waits up to `timeout_ms` (-1 = forever, 0 = just check) for `events`
    /// ([`ZMQ_POLLIN`] and/or [`ZMQ_POLLOUT`]) on this socket (`zmq_poll`)
    /// and returns those that are ready (0 on timeout).
    pub fn poll(&self, events: i16, timeout_ms: i64) -> Result<i16, ZmqError> {
        let mut item = ffi::zmq_pollitem_t {
            socket: self.raw,
            fd: 0,
            events,
            revents: 0,
        };
        let timeout = std::ffi::c_long::try_from(timeout_ms)
            .map_err(|_| ZmqError::invalid(format!("poll timeout out of range: {timeout_ms}")))?;
        // SAFETY: `item` is one valid, writable poll item naming a live
        // socket, and `nitems` is 1.
        retry_eintr(|| unsafe { ffi::zmq_poll(&mut item, 1, timeout) })?;
        Ok(item.revents)
    }

    /// DRAFT: makes a DISH socket join a RADIO group (`zmq_join`).
    pub fn join(&self, group: &str) -> Result<(), ZmqError> {
        let group = c_string("group", group)?;
        // SAFETY: live socket; `group` is NUL-terminated and outlives the
        // call.
        check(unsafe { ffi::zmq_join(self.raw, group.as_ptr()) }).map(drop)
    }

    /// DRAFT: makes a DISH socket leave a group (`zmq_leave`).
    pub fn leave(&self, group: &str) -> Result<(), ZmqError> {
        let group = c_string("group", group)?;
        // SAFETY: live socket; `group` is NUL-terminated and outlives the
        // call.
        check(unsafe { ffi::zmq_leave(self.raw, group.as_ptr()) }).map(drop)
    }

    /// DRAFT: sends one single-frame message to `group` from a RADIO socket
    /// (`zmq_msg_set_group` + `zmq_msg_send`). Groups are at most
    /// [`ZMQ_GROUP_MAX_LENGTH`] bytes.
    pub fn send_group(&self, group: &str, data: &[u8]) -> Result<(), ZmqError> {
        let group = c_string("group", group)?;
        let mut msg = MsgGuard::new();
        msg.init_with(data)?;
        // SAFETY: initialised message; `group` is NUL-terminated (libzmq
        // copies it).
        check(unsafe { ffi::zmq_msg_set_group(&mut msg.msg, group.as_ptr()) })?;
        // SAFETY: live socket and initialised message; on success libzmq
        // takes the content and leaves `msg` empty, to be closed by the
        // guard either way.
        retry_eintr(|| unsafe { ffi::zmq_msg_send(&mut msg.msg, self.raw, 0) }).map(drop)
    }

    /// DRAFT: receives one message on a DISH socket, returning
    /// `(group, data)` (`zmq_msg_recv` + `zmq_msg_group`); subject to
    /// `ZMQ_RCVTIMEO` like [`Socket::recv`].
    pub fn recv_group(&self) -> Result<(String, Vec<u8>), ZmqError> {
        let mut msg = MsgGuard::new();
        msg.init()?;
        // SAFETY: live socket; initialised message used in place.
        retry_eintr(|| unsafe { ffi::zmq_msg_recv(&mut msg.msg, self.raw, 0) })?;
        // SAFETY: initialised message that was just received into; the
        // returned pointer, if not null, is a NUL-terminated string inside
        // the message, copied before the message is touched again.
        let group = unsafe {
            let name = ffi::zmq_msg_group(&mut msg.msg);
            if name.is_null() {
                String::new()
            } else {
                CStr::from_ptr(name).to_string_lossy().into_owned()
            }
        };
        Ok((group, msg.copy_data()))
    }
}

/// One event from [`Socket::recv_monitor_event`]: libzmq's (version 1)
/// monitor message, a 6-byte frame (`u16` event, `u32` value, in native byte
/// order) then the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorEvent {
    /// The event, one of the `ZMQ_EVENT_*` constants.
    pub event: u16,
    /// The event's value: a file descriptor, an errno, a
    /// `ZMQ_PROTOCOL_ERROR_*` code or a ZAP status code, depending on
    /// `event`.
    pub value: u32,
    /// The endpoint concerned, e.g. `tcp://127.0.0.1:41234`.
    pub endpoint: String,
}

impl MonitorEvent {
    /// Parses a monitor message (`EINVAL` if it is not one).
    pub fn parse(frames: &[Vec<u8>]) -> Result<Self, ZmqError> {
        match frames {
            [head, endpoint] if head.len() == 6 => Ok(Self {
                event: u16::from_ne_bytes([head[0], head[1]]),
                value: u32::from_ne_bytes([head[2], head[3], head[4], head[5]]),
                endpoint: String::from_utf8_lossy(endpoint).into_owned(),
            }),
            _ => Err(ZmqError::invalid(format!(
                "not a libzmq monitor event: {} frame(s)",
                frames.len()
            ))),
        }
    }
}

// ---------------------------------------------------------------------------
// ZAP (ZeroMQ RFC 27)
// ---------------------------------------------------------------------------

/// Where libzmq's PLAIN and CURVE servers (and NULL ones with a ZAP domain)
/// send ZAP requests: a REP socket bound here *in the same context* answers
/// them (see [`ZapHandler`]).
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// One ZAP request (RFC 27) as a libzmq server sends it to the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapRequest {
    /// The protocol version, `"1.0"`.
    pub version: String,
    /// Opaque id to echo in the reply (libzmq sends `"1"`).
    pub request_id: Vec<u8>,
    /// The server socket's [`ZMQ_ZAP_DOMAIN`] (empty if unset).
    pub domain: String,
    /// The client's address, e.g. `127.0.0.1` for TCP.
    pub address: String,
    /// The server socket's routing id for this connection (often empty).
    pub routing_id: Vec<u8>,
    /// `"NULL"`, `"PLAIN"` or `"CURVE"`.
    pub mechanism: String,
    /// Mechanism-specific credentials: none for NULL, `[user name,
    /// password]` for PLAIN, `[client public key (32 raw bytes)]` for CURVE.
    pub credentials: Vec<Vec<u8>>,
}

impl ZapRequest {
    /// Parses a request received on a REP socket bound at [`ZAP_ENDPOINT`]
    /// (`EINVAL` if it has fewer than the 6 fixed frames).
    pub fn parse(frames: &[Vec<u8>]) -> Result<Self, ZmqError> {
        let [
            version,
            request_id,
            domain,
            address,
            routing_id,
            mechanism,
            credentials @ ..,
        ] = frames
        else {
            return Err(ZmqError::invalid(format!(
                "a ZAP request has at least 6 frames, not {}",
                frames.len()
            )));
        };
        let text = |frame: &[u8]| String::from_utf8_lossy(frame).into_owned();
        Ok(Self {
            version: text(version),
            request_id: request_id.clone(),
            domain: text(domain),
            address: text(address),
            routing_id: routing_id.clone(),
            mechanism: text(mechanism),
            credentials: credentials.to_vec(),
        })
    }

    /// The reply frames answering this request with `reply`: version
    /// `"1.0"`, the request id, status code, status text, user id and empty
    /// metadata. Send them with `socket.send(&frames.iter().map(Vec::as_slice)
    /// .collect::<Vec<_>>())`.
    pub fn reply_frames(&self, reply: &ZapReply) -> Vec<Vec<u8>> {
        vec![
            b"1.0".to_vec(),
            self.request_id.clone(),
            reply.status_code.to_string().into_bytes(),
            reply.status_text.clone().into_bytes(),
            reply.user_id.clone().into_bytes(),
            Vec::new(),
        ]
    }
}

/// A ZAP handler's answer (RFC 27): 200 accepts the client, 300 (temporary)
/// / 400 (refused) / 500 (internal error) reject it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapReply {
    /// `200`, `300`, `400` or `500`.
    pub status_code: u16,
    /// Free text for the status (libzmq ignores it).
    pub status_text: String,
    /// The authenticated user, exposed by libzmq as the `User-Id` message
    /// property on the server side.
    pub user_id: String,
}

impl ZapReply {
    /// Accepts the client as `user_id` (status 200).
    pub fn allow(user_id: &str) -> Self {
        Self {
            status_code: 200,
            status_text: "OK".to_owned(),
            user_id: user_id.to_owned(),
        }
    }

    /// Refuses the client (status 400): the handshake fails, libzmq reports
    /// [`ZMQ_EVENT_HANDSHAKE_FAILED_AUTH`] with value 400 on the server and
    /// the client never gets a message through.
    pub fn deny(status_text: &str) -> Self {
        Self {
            status_code: 400,
            status_text: status_text.to_owned(),
            user_id: String::new(),
        }
    }
}

/// A ZAP handler running on its own thread: a REP socket bound at
/// [`ZAP_ENDPOINT`] in a context, answering every request with a `policy`
/// closure and recording the requests it saw.
///
/// Bound before [`ZapHandler::start`] returns, so servers created afterwards
/// (or before, as libzmq looks the handler up at each handshake) use it.
/// Only one handler can be bound per context (a second `start` fails with
/// `EADDRINUSE`). Dropping it (or [`ZapHandler::stop`]) stops the thread and
/// unbinds [`ZAP_ENDPOINT`] before returning, so another handler can be
/// started at once; without a handler, libzmq accepts PLAIN and CURVE clients
/// unchecked.
///
/// ```
/// use libzmq_peer::{Context, ZapHandler, ZapReply};
///
/// let ctx = Context::new().unwrap();
/// let zap = ZapHandler::start(&ctx, |request| {
///     if request.credentials == [b"admin".to_vec(), b"secret".to_vec()] {
///         ZapReply::allow("admin")
///     } else {
///         ZapReply::deny("wrong credentials")
///     }
/// })
/// .unwrap();
/// // ... PLAIN or CURVE servers in `ctx` now consult `zap` ...
/// zap.stop().unwrap();
/// ```
#[derive(Debug)]
pub struct ZapHandler {
    /// Wakes the thread to stop (PAIR connected to its stop socket).
    stop_tx: Option<Socket>,
    /// The handler thread; `Err` if its socket failed.
    thread: Option<std::thread::JoinHandle<Result<(), ZmqError>>>,
    /// Every request answered so far.
    requests: Arc<std::sync::Mutex<Vec<ZapRequest>>>,
}

impl ZapHandler {
    /// Binds a REP socket at [`ZAP_ENDPOINT`] in `ctx` and answers each
    /// request on a new thread with `policy(&request)`.
    pub fn start(
        ctx: &Context,
        mut policy: impl FnMut(&ZapRequest) -> ZapReply + Send + 'static,
    ) -> Result<Self, ZmqError> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stop_endpoint = format!("inproc://libzmq-peer-zap-stop-{id}");

        let handler = ctx.socket(SocketKind::Rep)?;
        handler.set_linger(0)?;
        handler.bind(ZAP_ENDPOINT)?;
        let stop_rx = ctx.socket(SocketKind::Pair)?;
        stop_rx.bind(&stop_endpoint)?;
        let stop_tx = ctx.socket(SocketKind::Pair)?;
        stop_tx.set_linger(0)?;
        stop_tx.connect(&stop_endpoint)?;

        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let thread = std::thread::Builder::new()
            .name("libzmq-peer-zap".to_owned())
            .spawn(move || zap_loop(&handler, &stop_rx, &mut policy, &seen))
            .map_err(|e| ZmqError::invalid(format!("cannot spawn the ZAP thread: {e}")))?;
        Ok(Self {
            stop_tx: Some(stop_tx),
            thread: Some(thread),
            requests,
        })
    }

    /// A copy of the requests answered so far, oldest first.
    pub fn requests(&self) -> Vec<ZapRequest> {
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Stops the thread and closes the handler socket, returning the
    /// thread's socket error if it had one. A panic in `policy` (e.g. a
    /// failed assertion) is resumed here.
    pub fn stop(mut self) -> Result<(), ZmqError> {
        match self.shutdown() {
            Some(Ok(result)) => result,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Ok(()),
        }
    }

    /// Signals the thread and joins it (once).
    fn shutdown(&mut self) -> Option<std::thread::Result<Result<(), ZmqError>>> {
        let thread = self.thread.take()?;
        if let Some(stop_tx) = self.stop_tx.take() {
            // Never blocks: if the thread has already ended (its error is
            // in the join result) there is no peer and nothing is sent; the
            // join below then returns at once.
            let _ = stop_tx.try_send(&[b"stop"]);
        }
        Some(thread.join())
    }
}

/// The body of [`ZapHandler`]'s thread: answers requests on `handler` until
/// a message arrives on `stop_rx`.
fn zap_loop(
    handler: &Socket,
    stop_rx: &Socket,
    policy: &mut impl FnMut(&ZapRequest) -> ZapReply,
    seen: &std::sync::Mutex<Vec<ZapRequest>>,
) -> Result<(), ZmqError> {
    loop {
        let mut items = [
            ffi::zmq_pollitem_t {
                socket: handler.raw,
                fd: 0,
                events: ZMQ_POLLIN,
                revents: 0,
            },
            ffi::zmq_pollitem_t {
                socket: stop_rx.raw,
                fd: 0,
                events: ZMQ_POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid, writable poll items naming live sockets used
        // only by this thread; `nitems` is 2.
        retry_eintr(|| unsafe { ffi::zmq_poll(items.as_mut_ptr(), 2, -1) })?;
        if items[1].revents & ZMQ_POLLIN != 0 {
            // Unbinding is synchronous for inproc (closing the socket frees
            // the endpoint only later, on libzmq's reaper thread), so a new
            // handler can bind as soon as `stop` or `drop` returns.
            return handler.unbind(ZAP_ENDPOINT);
        }
        let Some(frames) = handler.try_recv()? else {
            continue;
        };
        let reply = match ZapRequest::parse(&frames) {
            Ok(request) => {
                let reply = request.reply_frames(&policy(&request));
                seen.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(request);
                reply
            }
            // A REP socket must answer before it can receive again.
            Err(e) => vec![
                b"1.0".to_vec(),
                frames.get(1).cloned().unwrap_or_default(),
                b"500".to_vec(),
                e.message.into_bytes(),
                Vec::new(),
                Vec::new(),
            ],
        };
        let parts: Vec<&[u8]> = reply.iter().map(Vec::as_slice).collect();
        handler.send(&parts)?;
    }
}

impl Drop for ZapHandler {
    fn drop(&mut self) {
        // Errors and panics of the thread are only reported by `stop`.
        let _ = self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The thread-safety promises of the public types.
    #[test]
    fn auto_traits() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Context>();
        send::<Socket>();
        send_sync::<ZmqError>();
    }

    #[test]
    fn kind_values_match_zmq_h() {
        let expected = [
            (SocketKind::Pair, 0),
            (SocketKind::Pub, 1),
            (SocketKind::Sub, 2),
            (SocketKind::Req, 3),
            (SocketKind::Rep, 4),
            (SocketKind::Dealer, 5),
            (SocketKind::Router, 6),
            (SocketKind::Pull, 7),
            (SocketKind::Push, 8),
            (SocketKind::XPub, 9),
            (SocketKind::XSub, 10),
            (SocketKind::Radio, 14),
            (SocketKind::Dish, 15),
        ];
        let ctx = Context::new().unwrap();
        for (kind, value) in expected {
            assert_eq!(kind.raw(), value);
            // libzmq agrees: ZMQ_TYPE reads the type back.
            let socket = ctx.socket(kind).unwrap();
            assert_eq!(socket.get_int(ZMQ_TYPE).unwrap(), value, "{kind:?}");
        }
    }

    #[test]
    fn errors_have_messages() {
        let e = ZmqError::from_errno(ETERM);
        assert!(e.is_term());
        assert!(!e.message.is_empty());
        let e = ZmqError::from_errno(EFSM);
        assert!(e.message.to_lowercase().contains("state"), "{e}");
    }
}
