//! The libzmq side of the benchmarks through the raw C API, as libzmq's
//! own perf tools (`local_thr`, `local_lat` ...) use it.

use std::ffi::{CString, c_int, c_void};

use libzmq_peer::{ZMQ_LAST_ENDPOINT, ZmqError, ffi};

use super::{CHILD_TIMEOUT, Res};

/// A context with one socket; closes the socket and terminates the
/// context (waiting for the linger, infinite by default) on drop.
pub struct Zmq {
    ctx: *mut c_void,
    pub sock: *mut c_void,
}

fn last(what: &str) -> String {
    format!("{what}: {}", ZmqError::last())
}

/// Runs `call` until it does not fail with EINTR; `Err` on failure.
pub fn retry(what: &str, mut call: impl FnMut() -> c_int) -> Res<c_int> {
    loop {
        let rc = call();
        if rc >= 0 {
            return Ok(rc);
        }
        let e = ZmqError::last();
        if !e.is_interrupted() {
            return Err(format!("{what}: {e}"));
        }
    }
}

impl Zmq {
    /// A socket of `kind` (`SocketKind::raw`) in a new context, with
    /// `timeout_option` (`ZMQ_RCVTIMEO` or `ZMQ_SNDTIMEO`) set to
    /// [`CHILD_TIMEOUT`].
    pub fn new(kind: i32, timeout_option: i32) -> Res<Zmq> {
        let ctx = ffi::zmq_ctx_new();
        if ctx.is_null() {
            return Err(last("zmq_ctx_new"));
        }
        // SAFETY: `ctx` is a live context.
        let sock = unsafe { ffi::zmq_socket(ctx, kind) };
        let z = Zmq { ctx, sock };
        if sock.is_null() {
            return Err(last("zmq_socket"));
        }
        z.set_int(timeout_option, CHILD_TIMEOUT.as_millis() as c_int)?;
        Ok(z)
    }

    /// Sets an integer socket option.
    pub fn set_int(&self, option: i32, value: c_int) -> Res<()> {
        // SAFETY: live socket; the value points to one c_int whose
        // size is passed.
        let rc = unsafe {
            ffi::zmq_setsockopt(
                self.sock,
                option,
                (&raw const value).cast(),
                size_of::<c_int>(),
            )
        };
        if rc != 0 {
            return Err(last("zmq_setsockopt"));
        }
        Ok(())
    }

    /// Sets a binary socket option (a CURVE key, ...), `what` naming it
    /// in the error.
    #[allow(dead_code, reason = "not every benchmark uses it")]
    pub fn set_bytes(&self, what: &str, option: i32, value: &[u8]) -> Res<()> {
        // SAFETY: live socket; `value` is readable for `value.len()`
        // bytes, and libzmq copies it.
        let rc =
            unsafe { ffi::zmq_setsockopt(self.sock, option, value.as_ptr().cast(), value.len()) };
        if rc != 0 {
            return Err(last(what));
        }
        Ok(())
    }

    pub fn bind(&self, endpoint: &str) -> Res<()> {
        self.endpoint_call("zmq_bind", endpoint, ffi::zmq_bind)
    }

    pub fn connect(&self, endpoint: &str) -> Res<()> {
        self.endpoint_call("zmq_connect", endpoint, ffi::zmq_connect)
    }

    fn endpoint_call(
        &self,
        what: &str,
        endpoint: &str,
        f: unsafe extern "C" fn(*mut c_void, *const std::ffi::c_char) -> c_int,
    ) -> Res<()> {
        let c = CString::new(endpoint).map_err(|_| format!("bad endpoint {endpoint:?}"))?;
        // SAFETY: live socket; `c` is NUL-terminated and outlives the
        // call.
        if unsafe { f(self.sock, c.as_ptr()) } != 0 {
            return Err(last(what));
        }
        Ok(())
    }

    pub fn last_endpoint(&self) -> Res<String> {
        let mut buf = [0u8; 256];
        let mut len = buf.len();
        // SAFETY: live socket; `buf` is writable for `len` bytes and
        // libzmq writes the actual length back.
        let rc = unsafe {
            ffi::zmq_getsockopt(
                self.sock,
                ZMQ_LAST_ENDPOINT,
                buf.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(last("ZMQ_LAST_ENDPOINT"));
        }
        let s = &buf[..len.min(buf.len())];
        let s = s.split(|&b| b == 0).next().unwrap_or_default();
        String::from_utf8(s.to_vec()).map_err(|_| "endpoint not UTF-8".to_string())
    }

    /// Sends `count` single-frame messages with a copy of `payload`
    /// each, as libzmq's `remote_thr` sends (see [`send_copies`]).
    pub fn send_copies(&self, payload: &[u8], count: u64) -> Res<()> {
        // SAFETY: `sock` is live while `self` is, and a `Zmq` (raw
        // pointers, so neither `Send` nor `Sync`) is used by one thread.
        unsafe { send_copies(self.sock, payload, count) }
    }
}

/// Sends `count` single-frame messages on `sock` with a copy of `payload`
/// each, as libzmq's `remote_thr` sends.
///
/// # Safety
///
/// `sock` is a live libzmq socket that no other thread uses during the
/// call.
pub unsafe fn send_copies(sock: *mut c_void, payload: &[u8], count: u64) -> Res<()> {
    let size = payload.len();
    let mut msg = ffi::zmq_msg_t::zeroed();
    for _ in 0..count {
        // As remote_thr: a fresh message per send (libzmq allocates
        // it, beyond 33 bytes), plus a copy of the payload into it,
        // which remote_thr skips but real applications do.
        // SAFETY: `msg` is valid, writable storage for a zmq_msg_t.
        retry("zmq_msg_init_size", || unsafe {
            ffi::zmq_msg_init_size(&mut msg, size)
        })?;
        // SAFETY: the message was just initialised with room for
        // exactly `size` bytes at zmq_msg_data; the buffers are
        // distinct.
        unsafe {
            let dst = ffi::zmq_msg_data(&mut msg).cast::<u8>();
            std::ptr::copy_nonoverlapping(payload.as_ptr(), dst, size);
        }
        // SAFETY: live socket used by this thread only (the caller's
        // promise) and an initialised message; on success libzmq takes
        // the content and leaves `msg` empty.
        let sent = retry("zmq_msg_send", || unsafe {
            ffi::zmq_msg_send(&mut msg, sock, 0)
        });
        // SAFETY: `msg` is initialised (empty after a successful
        // send); closing it is what remote_thr does too.
        unsafe { ffi::zmq_msg_close(&mut msg) };
        sent?;
    }
    Ok(())
}

/// An initialised `zmq_msg_t`, boxed so that it never moves, closed on
/// drop.
pub struct Msg(Box<ffi::zmq_msg_t>);

impl Msg {
    /// A message initialised empty (`zmq_msg_init`), to be reused for
    /// every receive as libzmq's perf tools do.
    pub fn new() -> Res<Msg> {
        let mut msg = Box::new(ffi::zmq_msg_t::zeroed());
        // SAFETY: `msg` is valid, writable storage for a zmq_msg_t; it
        // stays at this heap address until it is closed in `drop`.
        retry("zmq_msg_init", || unsafe { ffi::zmq_msg_init(&mut *msg) })?;
        Ok(Msg(msg))
    }

    pub fn as_mut_ptr(&mut self) -> *mut ffi::zmq_msg_t {
        &mut *self.0
    }

    /// The size of the content (`zmq_msg_size`).
    pub fn size(&self) -> usize {
        // SAFETY: the message is initialised.
        unsafe { ffi::zmq_msg_size(&*self.0) }
    }

    /// A copy of the content.
    #[allow(dead_code, reason = "not every benchmark uses it")]
    pub fn content(&mut self) -> Vec<u8> {
        let size = self.size();
        // SAFETY: the message is initialised; zmq_msg_data points to
        // its `size` bytes of content, valid until it is next changed.
        unsafe {
            let data = ffi::zmq_msg_data(self.as_mut_ptr()).cast::<u8>();
            std::slice::from_raw_parts(data, size).to_vec()
        }
    }

    /// Whether more frames of the message follow (`zmq_msg_more`).
    #[allow(dead_code, reason = "not every benchmark uses it")]
    pub fn more(&self) -> bool {
        // SAFETY: the message is initialised.
        unsafe { ffi::zmq_msg_more(&*self.0) != 0 }
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        // SAFETY: the message is initialised and closed only here.
        unsafe { ffi::zmq_msg_close(&mut *self.0) };
    }
}

impl Drop for Zmq {
    fn drop(&mut self) {
        // SAFETY: `sock` (if any) and `ctx` are live and closed only
        // here, socket first; zmq_ctx_term is retried on EINTR as
        // zmq_ctx_term(3) requires.
        unsafe {
            if !self.sock.is_null() {
                ffi::zmq_close(self.sock);
            }
            while ffi::zmq_ctx_term(self.ctx) != 0 && ZmqError::last().is_interrupted() {}
        }
    }
}
