//! Monitor events: what happens to a socket's connections, as a stream
//! the application (or a test) can wait on.
//!
//! The I/O thread appends events to the socket's [`MonitorQueue`] if a
//! [`Monitor`] is attached. The queue is bounded: when the application
//! does not keep up, new events are dropped and counted
//! ([`Monitor::dropped`]), never blocking the I/O thread.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::{Error, ProtocolError, Result};

/// Events kept for a monitor that is not read; later ones are dropped.
const CAPACITY: usize = 4096;

/// Something that happened to one of a socket's endpoints or connections.
/// `endpoint` is the bound endpoint (for listeners and the connections
/// they accepted) or the connected one; `peer` is the remote address of a
/// TCP connection (`None` for ipc, where peers have no address). inproc
/// pairings are not connections and report no events; only
/// `BindFailed` and `MonitorStopped` concern them.
///
/// A connection's life as its connecting side sees it:
///
/// ```
/// use std::time::Duration;
/// use brokerless::{Context, Error, MonitorEvent, SocketType};
///
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// pull.bind("tcp://127.0.0.1:*")?;
/// let endpoint = pull.last_endpoint().unwrap();
///
/// let push = ctx.socket(SocketType::Push)?;
/// let monitor = push.monitor()?;
/// push.connect(&endpoint)?;
/// let next = || monitor.recv_timeout(Duration::from_secs(5));
///
/// // Up: (ConnectDelayed,) Connected, then HandshakeSucceeded.
/// loop {
///     match next()? {
///         MonitorEvent::ConnectDelayed { .. } => {}
///         MonitorEvent::Connected { endpoint: ep, peer } => {
///             assert_eq!(ep, endpoint);
///             assert!(peer.unwrap().ip().is_loopback());
///         }
///         MonitorEvent::HandshakeSucceeded { .. } => break,
///         other => panic!("unexpected {other:?}"),
///     }
/// }
///
/// // The peer goes: Disconnected (no protocol error: it just closed),
/// // then reconnection attempts.
/// drop(pull);
/// loop {
///     match next()? {
///         MonitorEvent::Disconnected { error, .. } => {
///             assert_eq!(error, None);
///             break;
///         }
///         other => panic!("unexpected {other:?}"),
///     }
/// }
/// assert!(matches!(next()?, MonitorEvent::ConnectRetried { .. }));
///
/// // The socket closes: MonitorStopped is the last event.
/// drop(push);
/// while next()? != MonitorEvent::MonitorStopped {}
/// assert!(matches!(next(), Err(Error::InvalidState(_))));
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MonitorEvent {
    /// A bound endpoint is accepting connections.
    Listening {
        /// The resolved endpoint.
        endpoint: String,
    },
    /// A bound endpoint accepted a connection.
    Accepted {
        /// The listener's endpoint.
        endpoint: String,
        /// The remote address (`None` for ipc).
        peer: Option<SocketAddr>,
    },
    /// An outgoing connection was established (before the handshake).
    Connected {
        /// The endpoint given to `connect`.
        endpoint: String,
        /// The remote address (`None` for ipc).
        peer: Option<SocketAddr>,
    },
    /// An outgoing connection failed or was lost; it is retried after
    /// `interval`.
    ConnectRetried {
        /// The endpoint given to `connect`.
        endpoint: String,
        /// The pause before the next attempt.
        interval: Duration,
    },
    /// The ZMTP handshake with a peer completed.
    HandshakeSucceeded {
        /// The endpoint of the connection.
        endpoint: String,
        /// The remote address (`None` for ipc).
        peer: Option<SocketAddr>,
    },
    /// The handshake failed; the connection was closed.
    HandshakeFailed {
        /// The endpoint of the connection.
        endpoint: String,
        /// The remote address (`None` for ipc).
        peer: Option<SocketAddr>,
        /// What the peer did wrong.
        error: ProtocolError,
    },
    /// A connection that had started was closed or lost.
    Disconnected {
        /// The endpoint of the connection.
        endpoint: String,
        /// The remote address (`None` for ipc).
        peer: Option<SocketAddr>,
        /// The protocol error that closed it, if that was the cause.
        error: Option<ProtocolError>,
    },
    /// A bound endpoint stopped listening.
    Closed {
        /// The endpoint.
        endpoint: String,
    },
    /// A connect could not complete at once and goes on in the
    /// background (a `Connected` or a `ConnectRetried` follows).
    ConnectDelayed {
        /// The endpoint given to `connect`.
        endpoint: String,
    },
    /// `bind` failed (the call returned the same error).
    BindFailed {
        /// The endpoint given to `bind`.
        endpoint: String,
        /// Why, as the error returned by `bind` says it.
        error: String,
    },
    /// Accepting a connection failed (such as for lack of file
    /// descriptors); accepting is retried shortly.
    AcceptFailed {
        /// The listener's endpoint.
        endpoint: String,
        /// The operating system's error.
        error: String,
    },
    /// The last event: the socket was closed and everything it was doing
    /// in the background has ended (or a newer monitor replaced this one).
    MonitorStopped,
}

struct Inner {
    events: VecDeque<MonitorEvent>,
    dropped: u64,
    /// `MonitorStopped` was queued; nothing follows it.
    stopped: bool,
}

/// The queue shared by the I/O thread (writer) and a [`Monitor`].
pub(crate) struct MonitorQueue {
    inner: Mutex<Inner>,
    cond: Condvar,
}

impl MonitorQueue {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an event, or counts it as dropped when the queue is full.
    pub(crate) fn push(&self, event: MonitorEvent) {
        let mut inner = self.lock();
        if inner.stopped {
            return;
        }
        if inner.events.len() >= CAPACITY {
            inner.dropped += 1;
            return;
        }
        inner.events.push_back(event);
        drop(inner);
        self.cond.notify_all();
    }

    /// Queues the final `MonitorStopped` (even past the capacity, so that
    /// a reader always learns the stream has ended).
    pub(crate) fn stop(&self) {
        let mut inner = self.lock();
        if inner.stopped {
            return;
        }
        inner.stopped = true;
        inner.events.push_back(MonitorEvent::MonitorStopped);
        drop(inner);
        self.cond.notify_all();
    }
}

/// A stream of a socket's [`MonitorEvent`]s, from
/// [`Socket::monitor`](crate::Socket::monitor). Events that happened
/// before the monitor was created are not reported.
///
/// ```
/// use std::time::Duration;
/// use brokerless::{Context, MonitorEvent, SocketType};
///
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// let monitor = pull.monitor()?;
/// pull.bind("tcp://127.0.0.1:*")?;
/// let endpoint = pull.last_endpoint().unwrap();
/// assert_eq!(
///     monitor.recv_timeout(Duration::from_secs(5))?,
///     MonitorEvent::Listening { endpoint: endpoint.clone() }
/// );
/// let push = ctx.socket(SocketType::Push)?;
/// push.connect(&endpoint)?;
/// // Wait for the peer instead of sleeping.
/// while !matches!(
///     monitor.recv_timeout(Duration::from_secs(5))?,
///     MonitorEvent::HandshakeSucceeded { .. }
/// ) {}
/// # Ok::<(), brokerless::Error>(())
/// ```
pub struct Monitor {
    queue: Arc<MonitorQueue>,
}

impl Monitor {
    pub(crate) fn new() -> (Monitor, Arc<MonitorQueue>) {
        let queue = Arc::new(MonitorQueue {
            inner: Mutex::new(Inner {
                events: VecDeque::new(),
                dropped: 0,
                stopped: false,
            }),
            cond: Condvar::new(),
        });
        (
            Monitor {
                queue: queue.clone(),
            },
            queue,
        )
    }

    /// The next event, waiting up to `timeout` for one
    /// ([`Error::Timeout`] after that, or [`Error::WouldBlock`] for a
    /// zero timeout). Once [`MonitorEvent::MonitorStopped`] has been read
    /// no event can follow, and this returns [`Error::InvalidState`] at
    /// once.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<MonitorEvent> {
        self.next(Some(timeout))
    }

    /// The next event, waiting as long as it takes (until
    /// [`MonitorEvent::MonitorStopped`], after which it returns
    /// [`Error::InvalidState`]).
    pub fn recv(&self) -> Result<MonitorEvent> {
        self.next(None)
    }

    fn next(&self, timeout: Option<Duration>) -> Result<MonitorEvent> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut inner = self.queue.lock();
        loop {
            if let Some(ev) = inner.events.pop_front() {
                return Ok(ev);
            }
            if inner.stopped {
                return Err(Error::InvalidState("the monitor has stopped"));
            }
            let Some(deadline) = deadline else {
                inner = self
                    .queue
                    .cond
                    .wait(inner)
                    .unwrap_or_else(|e| e.into_inner());
                continue;
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(if timeout.is_some_and(|t| t.is_zero()) {
                    Error::WouldBlock
                } else {
                    Error::Timeout
                });
            }
            inner = self
                .queue
                .cond
                .wait_timeout(inner, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The next event if there is one, else [`Error::WouldBlock`].
    pub fn try_recv(&self) -> Result<MonitorEvent> {
        self.recv_timeout(Duration::ZERO)
    }

    /// How many events were dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.queue.lock().dropped
    }
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").finish_non_exhaustive()
    }
}
