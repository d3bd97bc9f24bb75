//! The sans-IO ZMTP 3.1 protocol core (RFC 23 and RFC 37), with the
//! NULL, PLAIN (RFC 24) and CURVE (RFC 26) mechanisms.
//!
//! Nothing in here touches a socket, a thread or a clock: a
//! [`Connection`] takes the bytes the peer sent (`handle_input`) and
//! hands back [`Event`]s, and it leaves the bytes to send to the peer in
//! its [`TransmitQueue`]. The engine moves bytes between the stream and
//! the connection; everything ZMTP-specific happens here, so the whole
//! protocol, hostile input included, is tested without I/O.
//!
//! Layout:
//! - [`greeting`]: the fixed 64-byte greeting, parsed incrementally;
//! - [`frame`]: the frame header codec (flags + short or long size);
//! - [`command`]: command bodies and READY metadata ([`Properties`]);
//! - `curve`: the CURVE handshake and message boxes (RFC 26);
//! - `connection`: the per-connection state machine ([`Connection`]);
//! - `handshake`: its security handshakes, step by step;
//! - [`mechanism`]: which mechanism, role and credentials ([`Mechanism`]),
//!   and what a server asks its authenticator ([`AuthRequest`],
//!   [`AuthReply`]);
//! - `subscription`: subscriptions as messages and as commands
//!   ([`Subscription`]);
//! - `transmit`: the outgoing byte queue ([`TransmitQueue`]).
//!
//! Every wire type has `encode`, `decode` and `encoded_len`; decoders
//! never index or panic on peer bytes, and they report "need more" with a
//! [`Decoded::NeedMore`] rather than buffering partial units themselves.

pub mod command;
mod connection;
mod curve;
pub mod frame;
pub mod greeting;
mod handshake;
mod heartbeat;
pub mod mechanism;
mod subscription;
mod transmit;

#[cfg(test)]
mod security_tests;
#[cfg(test)]
mod tests;

pub use command::{Command, Properties};
pub use connection::{
    Config, Connection, DEFAULT_MAX_FRAMES, Event, HANDSHAKE_COMMAND_LIMIT, MAX_FRAME_SIZE,
    MAX_PONG_BACKLOG, PeerInfo,
};
pub use heartbeat::HeartbeatConfig;
pub use mechanism::{AuthReply, AuthRequest, Mechanism};
pub use subscription::Subscription;
pub use transmit::{TransmitQueue, ZERO_COPY_THRESHOLD};

/// The outcome of a decoder that was given the bytes received so far.
///
/// Errors are reported separately, as `Err(ProtocolError)`: a decoder
/// returns `Result<Decoded<T>, ProtocolError>`.
///
/// ```
/// use brokerless::zmtp::Decoded;
/// use brokerless::zmtp::greeting::Greeting;
///
/// let mut wire = Vec::new();
/// Greeting::null().encode(&mut wire);
/// // The first 20 octets have arrived: wait for the other 44.
/// match Greeting::decode(&wire[..20])? {
///     Decoded::NeedMore { more } => assert_eq!(more, 44),
///     Decoded::Done { .. } => unreachable!("only 20 octets"),
/// }
/// let done = Greeting::decode(&wire)?;
/// assert_eq!(done, Decoded::Done { value: Greeting::null(), len: 64 });
/// # Ok::<(), brokerless::ProtocolError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded<T> {
    /// A whole value was decoded from the front of the input.
    Done {
        /// The decoded value.
        value: T,
        /// How many bytes of the input it took.
        len: usize,
    },
    /// The input is a valid beginning of a value, but too short.
    NeedMore {
        /// At least this many more bytes are needed (more may be needed
        /// after those arrive, e.g. the size of a frame header that only
        /// its flags byte announced).
        more: usize,
    },
}
