//! The crate's error types: [`Error`] for every public call and
//! [`ProtocolError`] for what a misbehaving peer did on the wire.

use std::fmt;
use std::io;

use crate::SocketType;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a public call of this crate can fail with.
///
/// Match on the variants that a caller can act on, such as a receive
/// timeout, and pass the others up with `?`. The enum is
/// `#[non_exhaustive]`, so a `match` needs a catch-all arm.
///
/// ```
/// use std::time::Duration;
/// use brokerless::{Context, Error, SocketType};
///
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// pull.bind("tcp://127.0.0.1:*")?;
/// pull.set_recv_timeout(Some(Duration::from_millis(50)))?;
///
/// // Nobody sends: the receive gives up after 50 ms.
/// match pull.recv() {
///     Ok(msg) => panic!("unexpected message {msg:?}"),
///     Err(Error::Timeout) => {} // carry on: ask again, or give up
///     Err(e) => return Err(e),
/// }
/// // A non-blocking receive says the same at once.
/// assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
///
/// // Errors say what was wrong, in lowercase, without a final period.
/// let err = pull.connect("tcp://127.0.0.1").unwrap_err();
/// assert!(matches!(err, Error::InvalidEndpoint(_)), "{err}");
/// assert_eq!(Error::Timeout.to_string(), "operation timed out");
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A non-blocking call (`try_send`, `try_recv`) could not complete now.
    WouldBlock,
    /// A blocking call did not complete within the socket's timeout.
    Timeout,
    /// The context was shut down; the socket can no longer be used.
    Terminated,
    /// The socket type or feature is not available in this version.
    NotSupported(String),
    /// The endpoint string could not be parsed or resolved.
    InvalidEndpoint(String),
    /// A message with no frames was given to `send`.
    EmptyMessage,
    /// An argument was outside its allowed range.
    InvalidArgument(String),
    /// The call is not allowed in the socket's current state (libzmq's
    /// EFSM), such as a second `send` on a REQ socket before `recv`.
    InvalidState(&'static str),
    /// A ROUTER with `router_mandatory` was asked to send to a routing id
    /// it has no peer for.
    HostUnreachable,
    /// `unbind` or `disconnect` named an endpoint the socket is not bound
    /// or connected to.
    EndpointNotFound(String),
    /// A peer broke the protocol (reported through logs and, for tests
    /// of the core, by the sans-IO connection).
    Protocol(ProtocolError),
    /// An operating-system error, such as an address already in use.
    Io(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::WouldBlock => f.write_str("operation would block"),
            Error::Timeout => f.write_str("operation timed out"),
            Error::Terminated => f.write_str("context was terminated"),
            Error::NotSupported(what) => write!(f, "not supported: {what}"),
            Error::InvalidEndpoint(why) => write!(f, "invalid endpoint: {why}"),
            Error::EmptyMessage => f.write_str("message has no frames"),
            Error::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
            Error::InvalidState(why) => write!(f, "not allowed in this state: {why}"),
            Error::HostUnreachable => f.write_str("no peer with that routing id"),
            Error::EndpointNotFound(ep) => write!(f, "not bound or connected to {ep}"),
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
            Error::Io(e) => write!(f, "i/o error: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        Error::Protocol(e)
    }
}

/// What a peer did wrong on the wire. Any of these closes the connection
/// it happened on; the socket goes on serving its other peers.
///
/// A socket's calls never return these for a peer's fault: they are
/// logged (at `warn`) and reported by the socket's [`Monitor`] in
/// [`MonitorEvent::HandshakeFailed`] or [`MonitorEvent::Disconnected`].
/// Here a client that is not ZeroMQ at all (an HTTP request sent to a
/// PULL's port) is turned away:
///
/// ```
/// use std::io::Write;
/// use std::time::Duration;
/// use brokerless::{Context, MonitorEvent, ProtocolError, SocketType};
///
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// let monitor = pull.monitor()?;
/// pull.bind("tcp://127.0.0.1:*")?;
/// let endpoint = pull.last_endpoint().unwrap();
///
/// let address = endpoint.trim_start_matches("tcp://");
/// let mut http = std::net::TcpStream::connect(address)?;
/// http.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
///
/// let error = loop {
///     match monitor.recv_timeout(Duration::from_secs(5))? {
///         MonitorEvent::HandshakeFailed { error, .. } => break error,
///         _ => {} // Listening, Accepted
///     }
/// };
/// assert_eq!(error, ProtocolError::BadSignature);
/// assert_eq!(error.to_string(), "peer sent a bad greeting signature");
/// # Ok::<(), brokerless::Error>(())
/// ```
///
/// [`Monitor`]: crate::Monitor
/// [`MonitorEvent::HandshakeFailed`]: crate::MonitorEvent::HandshakeFailed
/// [`MonitorEvent::Disconnected`]: crate::MonitorEvent::Disconnected
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The greeting did not start with `0xFF` or had no `0x7F` at byte 9:
    /// the peer does not speak ZMTP 3 (or is not ZMTP at all).
    BadSignature,
    /// The peer announced a ZMTP version below 3.0.
    UnsupportedVersion {
        /// The major version the peer sent.
        major: u8,
        /// The minor version the peer sent.
        minor: u8,
    },
    /// The peer asked for a security mechanism other than ours.
    MechanismMismatch {
        /// Our mechanism name.
        ours: String,
        /// The name the peer sent.
        theirs: String,
    },
    /// A frame or message larger than the socket's `max_msg_size`, or a
    /// frame size no ZMTP frame may have (over 2^63-1 octets, RFC 37), or
    /// a handshake command over 64 KiB.
    MessageTooLarge {
        /// The size the peer announced (frame) or reached (message).
        size: u64,
        /// The configured limit.
        max: u64,
    },
    /// A message with more frames than the socket's `max_frames`.
    TooManyFrames {
        /// The configured limit.
        max: usize,
    },
    /// A command frame that could not be parsed.
    MalformedCommand {
        /// What was wrong with it.
        reason: &'static str,
    },
    /// A command that is not allowed at this point of the handshake.
    UnexpectedCommand {
        /// The command's name (lossily decoded).
        name: String,
    },
    /// A data frame sent before the handshake finished.
    MessageBeforeHandshake,
    /// A command frame with the MORE flag set.
    CommandWithMore,
    /// A property list (READY metadata) that was cut short or malformed.
    MalformedMetadata,
    /// READY had no `Socket-Type` property.
    MissingSocketType,
    /// READY named a socket type this library does not know.
    UnknownSocketType(String),
    /// The peer's socket type cannot talk to ours.
    IncompatibleSocketType {
        /// Our socket type.
        ours: SocketType,
        /// The peer's socket type.
        theirs: SocketType,
    },
    /// The peer sent an ERROR command.
    PeerError {
        /// The reason the peer gave.
        reason: String,
    },
    /// The peer did not complete the handshake in time.
    HandshakeTimeout,
    /// The peer sent nothing within the heartbeat timeout (after our
    /// PING) or within the TTL of its own PING.
    HeartbeatTimeout,
    /// Our authenticator refused the peer's credentials (or its address):
    /// the peer was sent an ERROR with the status code and disconnected.
    CredentialsRefused {
        /// The RFC 27 status code: 300 temporary, 400 denied, 500
        /// internal error.
        status_code: u16,
        /// The authenticator's status text.
        text: String,
    },
    /// The peer refused our credentials: its ERROR carried an RFC 27
    /// status code (libzmq sends "400" for a wrong password or key).
    RefusedByPeer {
        /// The status code: 300 temporary, 400 denied, 500 internal error.
        status_code: u16,
    },
    /// A CURVE command (HELLO, WELCOME, INITIATE, READY, MESSAGE) of the
    /// wrong size or with a bad field outside its boxes.
    MalformedCurveCommand {
        /// The command.
        command: &'static str,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// A CURVE box that does not open: made with other keys than ours
    /// (e.g. a client configured with another server key), or altered on
    /// the way.
    BadCurveBox {
        /// The command or part holding the box: HELLO, WELCOME, cookie,
        /// INITIATE, vouch, READY or MESSAGE.
        command: &'static str,
    },
    /// A CURVE cookie or vouch that opened but names other keys than
    /// this handshake's.
    CurveKeyMismatch {
        /// `cookie` or `vouch`.
        what: &'static str,
    },
    /// A CURVE MESSAGE whose short nonce is not above the peer's last
    /// one: a replayed, duplicated or reordered message.
    CurveNonceNotIncreasing {
        /// The nonce the peer sent.
        nonce: u64,
        /// The peer's previous nonce.
        last: u64,
    },
    /// A CURVE MESSAGE whose short nonce skips some: messages were
    /// removed on the way (every sender counts one per MESSAGE).
    CurveNonceSkipped {
        /// The nonce the peer sent.
        nonce: u64,
        /// The nonce that should have come.
        expected: u64,
    },
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::BadSignature => f.write_str("peer sent a bad greeting signature"),
            ProtocolError::UnsupportedVersion { major, minor } => {
                write!(f, "peer speaks unsupported ZMTP version {major}.{minor}")
            }
            ProtocolError::MechanismMismatch { ours, theirs } => {
                write!(f, "peer asked for mechanism {theirs:?}, we use {ours:?}")
            }
            ProtocolError::MessageTooLarge { size, max } => {
                write!(f, "peer sent {size} bytes, over the limit of {max}")
            }
            ProtocolError::TooManyFrames { max } => {
                write!(f, "peer sent a message of more than {max} frames")
            }
            ProtocolError::MalformedCommand { reason } => {
                write!(f, "peer sent a malformed command: {reason}")
            }
            ProtocolError::UnexpectedCommand { name } => {
                write!(f, "peer sent unexpected command {name:?}")
            }
            ProtocolError::MessageBeforeHandshake => {
                f.write_str("peer sent a message before the handshake finished")
            }
            ProtocolError::CommandWithMore => f.write_str("peer sent a command with MORE set"),
            ProtocolError::MalformedMetadata => f.write_str("peer sent malformed metadata"),
            ProtocolError::MissingSocketType => f.write_str("peer sent no socket type"),
            ProtocolError::UnknownSocketType(name) => {
                write!(f, "peer sent unknown socket type {name:?}")
            }
            ProtocolError::IncompatibleSocketType { ours, theirs } => {
                write!(f, "peer socket type {theirs} cannot talk to {ours}")
            }
            ProtocolError::PeerError { reason } => write!(f, "peer sent ERROR: {reason}"),
            ProtocolError::HandshakeTimeout => f.write_str("peer did not finish the handshake"),
            ProtocolError::HeartbeatTimeout => {
                f.write_str("peer went silent past the heartbeat timeout")
            }
            ProtocolError::CredentialsRefused { status_code, text } => {
                write!(f, "peer's credentials refused ({status_code} {text})")
            }
            ProtocolError::RefusedByPeer { status_code } => {
                write!(f, "peer refused our credentials ({status_code})")
            }
            ProtocolError::MalformedCurveCommand { command, reason } => {
                write!(f, "peer sent a malformed CURVE {command}: {reason}")
            }
            ProtocolError::BadCurveBox { command } => {
                write!(f, "peer sent a CURVE {command} box that does not open")
            }
            ProtocolError::CurveKeyMismatch { what } => {
                write!(f, "peer sent a CURVE {what} naming other keys")
            }
            ProtocolError::CurveNonceSkipped { nonce, expected } => {
                write!(f, "peer sent CURVE nonce {nonce}, expected {expected}")
            }
            ProtocolError::CurveNonceNotIncreasing { nonce, last } => {
                write!(
                    f,
                    "peer sent CURVE nonce {nonce}, not above its last {last}"
                )
            }
        }
    }
}

impl ProtocolError {
    /// The ZAP status code (300, 400, 500) when the handshake failed on
    /// authentication, on either side (libzmq's
    /// `ZMQ_EVENT_HANDSHAKE_FAILED_AUTH`); `None` for every protocol error
    /// (`ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL`).
    pub fn auth_status(&self) -> Option<u16> {
        match self {
            ProtocolError::CredentialsRefused { status_code, .. }
            | ProtocolError::RefusedByPeer { status_code } => Some(*status_code),
            _ => None,
        }
    }
}

impl std::error::Error for ProtocolError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_status_only_for_refusals() {
        assert_eq!(
            ProtocolError::RefusedByPeer { status_code: 400 }.auth_status(),
            Some(400)
        );
        let refused = ProtocolError::CredentialsRefused {
            status_code: 300,
            text: "later".into(),
        };
        assert_eq!(refused.auth_status(), Some(300));
        assert_eq!(ProtocolError::BadSignature.auth_status(), None);
    }

    #[test]
    fn display_is_lowercase_without_period() {
        let samples: Vec<String> = vec![
            Error::WouldBlock.to_string(),
            Error::Terminated.to_string(),
            Error::Protocol(ProtocolError::MessageTooLarge { size: 10, max: 5 }).to_string(),
            ProtocolError::TooManyFrames { max: 3 }.to_string(),
            ProtocolError::MalformedCurveCommand {
                command: "HELLO",
                reason: "not 200 octets",
            }
            .to_string(),
            ProtocolError::BadCurveBox { command: "MESSAGE" }.to_string(),
            ProtocolError::CurveKeyMismatch { what: "vouch" }.to_string(),
            ProtocolError::CurveNonceNotIncreasing { nonce: 3, last: 4 }.to_string(),
            ProtocolError::IncompatibleSocketType {
                ours: SocketType::Push,
                theirs: SocketType::Push,
            }
            .to_string(),
        ];
        for s in samples {
            assert!(!s.ends_with('.'), "{s}");
            assert!(s.chars().next().is_some_and(|c| c.is_lowercase()), "{s}");
        }
    }
}
