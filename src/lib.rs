//! # brokerless
//!
//! ZeroMQ-style messaging sockets with no central server. Peers bind or
//! connect sockets and exchange framed, multipart messages in the classic
//! patterns. The wire protocol is ZMTP 3.1, so brokerless talks to libzmq,
//! pyzmq and every other ZeroMQ peer.
//!
//! ```
//! use brokerless::{Context, SocketType};
//!
//! let ctx = Context::new();
//! let pull = ctx.socket(SocketType::Pull)?;
//! pull.bind("tcp://127.0.0.1:*")?;
//! let endpoint = pull.last_endpoint().unwrap();
//!
//! let push = ctx.socket(SocketType::Push)?;
//! push.connect(&endpoint)?;
//! push.send("hello")?;
//! assert_eq!(&pull.recv()?[0], b"hello");
//! # Ok::<(), brokerless::Error>(())
//! ```
//!
//! ## Layers
//!
//! Data flows down on send and up on receive:
//!
//! ```text
//! public API   Context, Socket, SocketType, Message, Error, options,
//!              Poller, Monitor, Authenticator, CurveKeyPair
//! socket/      one file per socket type: its routing rules
//! routing/     lb (round-robin), fq (fair-queue), dist (fan-out), trie
//!              (subscriptions), peers
//! pipe         bounded queue between a socket and one peer (HWM in messages)
//! io/          the I/O thread: mio Poll + Waker + slab + timers
//! engine       byte stream <-> zmtp::Connection <-> pipes
//! zap, auth    the ZAP client of a context, and the built-in ZAP handler
//! transport/   tcp (mio + socket2), ipc (Unix sockets), inproc (pipes
//!              only), udp (RADIO/DISH datagrams)
//! zmtp/        sans-IO protocol core: greeting, frames, commands, the
//!              NULL, PLAIN and CURVE handshakes, CURVE message boxes
//! ```
//!
//! The ZMTP core never touches a socket, a thread or a clock, so the whole
//! protocol — hostile input included — is tested without I/O.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod auth;
mod context;
mod engine;
mod error;
mod io;
mod message;
mod options;
mod pipe;
mod poller;
mod proxy;
mod routing;
pub mod security;
mod socket;
mod socket_type;
mod transport;
mod zap;
pub mod zmtp;

pub use auth::{AuthStats, Authenticator, ZapRequest};
pub use context::{Context, ContextBuilder};
pub use error::{Error, ProtocolError, Result};
pub use message::Message;

/// Internals for the fuzz targets (feature `fuzzing`); not a stable API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::pipe::PipeId;
    pub use crate::routing::trie::{CountedTrie, PipeTrie};
}
pub use poller::{Interest, PollEvent, Poller, ReadinessFd};
pub use proxy::proxy;
pub use security::{CurveKeyPair, CurvePublicKey, CurveSecretKey};
pub use socket::{
    BusPeer, Monitor, MonitorEvent, RecvFuture, ReuniteError, SendFuture, Socket, SocketReceiver,
    SocketSender, SplitRecvFuture, SplitSendFuture, relay,
};
pub use socket_type::SocketType;
pub use zmtp::{AuthReply, Mechanism};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}

    /// Contexts and messages may be shared between threads; a socket may
    /// be moved to another thread, and its split halves shared.
    #[test]
    fn public_handles_are_send_and_sync() {
        send_sync::<crate::Context>();
        send::<crate::Socket>();
        send_sync::<crate::SocketSender>();
        send_sync::<crate::SocketReceiver>();
        send::<crate::SplitSendFuture<'static>>();
        send::<crate::SplitRecvFuture<'static>>();
        send_sync::<crate::Message>();
        send_sync::<crate::Monitor>();
        send_sync::<crate::Error>();
    }

    /// A socket is not `Sync` (issue #8): this fails to compile if it
    /// becomes so, because the call below then has two candidate impls.
    #[test]
    fn socket_is_not_sync() {
        trait AmbiguousIfSync<A> {
            fn check() {}
        }
        impl<T: ?Sized> AmbiguousIfSync<()> for T {}
        #[allow(dead_code)]
        struct IsSync;
        impl<T: ?Sized + Sync> AmbiguousIfSync<IsSync> for T {}
        <crate::Socket as AmbiguousIfSync<_>>::check();
    }
}
