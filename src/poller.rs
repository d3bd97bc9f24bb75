//! Waiting on many sockets at once: [`Poller`] (zmq_poll without its
//! edge-triggered traps), [`ReadinessFd`] for an application's own event
//! loop, and the readiness a socket reports ([`Socket::events`]).
//!
//! Readiness is level-triggered and exact: a socket is *readable* when a
//! [`Socket::try_recv`] would return a message (to know, the check may
//! take one message ahead, which the next receive returns), and
//! *writable* when a [`Socket::try_send`] would not have to wait (a PUSH
//! with a peer with room, a PUB always, since it drops). Every socket
//! tells its watchers of each change through its mailbox, so a wait
//! cannot miss one: the poller checks readiness after it is watching.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Token};

use crate::socket::{Mailbox, Watcher};
use crate::{Error, Result, Socket};

/// What to wait for, and what was found.
///
/// ```
/// use brokerless::{Context, Interest, SocketType};
///
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert_eq!(both, Interest::BOTH);
/// assert!(both.is_readable() && both.is_writable());
/// assert!(Interest::NONE.is_empty());
///
/// // What a socket is ready for, as Socket::events reports it.
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// pull.bind("inproc://interest")?;
/// let push = ctx.socket(SocketType::Push)?;
/// assert_eq!(push.events()?, Interest::NONE); // no peer: a send would wait
/// push.connect("inproc://interest")?;
/// assert_eq!(push.events()?, Interest::WRITABLE);
/// assert_eq!(pull.events()?, Interest::NONE); // nothing to receive yet
/// push.send("job")?;
/// assert!(pull.events()?.is_readable()); // inproc delivers at once
/// assert_eq!(&pull.try_recv()?[0], b"job");
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Interest {
    readable: bool,
    writable: bool,
}

impl Interest {
    /// Ready to receive.
    pub const READABLE: Interest = Interest {
        readable: true,
        writable: false,
    };
    /// Ready to send.
    pub const WRITABLE: Interest = Interest {
        readable: false,
        writable: true,
    };
    /// Either.
    pub const BOTH: Interest = Interest {
        readable: true,
        writable: true,
    };
    /// Neither (as [`Socket::events`] reports an idle socket).
    pub const NONE: Interest = Interest {
        readable: false,
        writable: false,
    };

    /// Whether this includes readable.
    pub fn is_readable(self) -> bool {
        self.readable
    }

    /// Whether this includes writable.
    pub fn is_writable(self) -> bool {
        self.writable
    }

    /// Whether this is neither.
    pub fn is_empty(self) -> bool {
        !self.readable && !self.writable
    }

    fn and(self, other: Interest) -> Interest {
        Interest {
            readable: self.readable && other.readable,
            writable: self.writable && other.writable,
        }
    }

    fn mio(self) -> Option<mio::Interest> {
        match (self.readable, self.writable) {
            (true, true) => Some(mio::Interest::READABLE | mio::Interest::WRITABLE),
            (true, false) => Some(mio::Interest::READABLE),
            (false, true) => Some(mio::Interest::WRITABLE),
            (false, false) => None,
        }
    }
}

impl std::ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, other: Interest) -> Interest {
        Interest {
            readable: self.readable || other.readable,
            writable: self.writable || other.writable,
        }
    }
}

/// One ready item of a [`Poller::wait`]: which one, and how it is ready
/// (only what was asked for).
///
/// ```
/// use std::time::Duration;
/// use brokerless::{Context, Interest, Poller, SocketType};
///
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// pull.bind("tcp://127.0.0.1:*")?;
/// let push = ctx.socket(SocketType::Push)?;
/// push.connect(&pull.last_endpoint().unwrap())?;
///
/// let mut poller = Poller::new()?;
/// let inbox = poller.add(&pull, Interest::READABLE)?;
/// let outbox = poller.add(&push, Interest::BOTH)?;
///
/// let mut received = None;
/// while received.is_none() {
///     // Level-triggered: each wait reports every item still ready.
///     let ready: Vec<_> = poller.wait(Some(Duration::from_secs(5)))?.to_vec();
///     assert!(!ready.is_empty(), "nothing ready within 5 s");
///     for event in ready {
///         if event.token == outbox {
///             // A PUSH never receives: only WRITABLE can be reported.
///             assert_eq!(event.ready, Interest::WRITABLE);
///             push.try_send("work")?;
///             poller.modify(outbox, Interest::NONE)?; // one is enough
///         } else if event.token == inbox {
///             assert!(event.ready.is_readable());
///             received = Some(pull.try_recv()?);
///         }
///     }
/// }
/// assert_eq!(&received.unwrap()[0], b"work");
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollEvent {
    /// The token [`Poller::add`] or [`Poller::add_fd`] returned.
    pub token: usize,
    /// Ready, as far as asked.
    pub ready: Interest,
}

/// Wakes a poller's `mio::Poll` when a watched socket has news.
struct PollWaker(mio::Waker);

impl Watcher for PollWaker {
    fn notify(&self) {
        if let Err(e) = self.0.wake() {
            log::error!("cannot wake a poller: {e}");
        }
    }
}

enum Target<'a> {
    Socket {
        socket: &'a Socket,
        mailbox: Arc<Mailbox>,
        watch: u64,
    },
    Fd(RawFd),
    Removed,
}

struct Item<'a> {
    target: Target<'a>,
    interest: Interest,
}

/// The token of the poller's own waker.
const WAKER: Token = Token(usize::MAX);

/// Waits until one of many sockets (and plain file descriptors) is ready.
///
/// ```
/// use std::time::Duration;
/// use brokerless::{Context, Interest, Poller, SocketType};
///
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// pull.bind("inproc://work")?;
/// let push = ctx.socket(SocketType::Push)?;
/// push.connect("inproc://work")?;
///
/// let mut poller = Poller::new()?;
/// let work = poller.add(&pull, Interest::READABLE)?;
/// assert!(poller.wait(Some(Duration::ZERO))?.is_empty());
/// push.send("job")?;
/// let ready = poller.wait(Some(Duration::from_secs(5)))?;
/// assert_eq!(ready[0].token, work);
/// assert_eq!(&pull.try_recv()?[0], b"job");
/// # Ok::<(), brokerless::Error>(())
/// ```
///
/// Results are level-triggered: an item is reported by every wait while
/// it is ready, whether or not the application acted on the last report.
pub struct Poller<'a> {
    poll: mio::Poll,
    waker: Arc<PollWaker>,
    items: Vec<Item<'a>>,
    events: Events,
    ready: Vec<PollEvent>,
}

impl<'a> Poller<'a> {
    /// An empty poller.
    pub fn new() -> Result<Poller<'a>> {
        let poll = mio::Poll::new()?;
        let waker = Arc::new(PollWaker(mio::Waker::new(poll.registry(), WAKER)?));
        Ok(Poller {
            poll,
            waker,
            items: Vec::new(),
            events: Events::with_capacity(64),
            ready: Vec::new(),
        })
    }

    /// Watches `socket` for `interest`; returns the token its events
    /// carry. The poller borrows the socket for its own lifetime.
    pub fn add(&mut self, socket: &'a Socket, interest: Interest) -> Result<usize> {
        let mailbox = socket.mailbox().clone();
        let watch = mailbox.watch(self.waker.clone());
        self.items.push(Item {
            target: Target::Socket {
                socket,
                mailbox,
                watch,
            },
            interest,
        });
        Ok(self.items.len() - 1)
    }

    /// Watches a file descriptor (a pipe, a socket of another library, a
    /// [`ReadinessFd`]...) for `interest`, level-triggered like sockets.
    pub fn add_fd(&mut self, fd: BorrowedFd<'a>, interest: Interest) -> Result<usize> {
        let raw = fd.as_raw_fd();
        let token = self.items.len();
        if let Some(i) = interest.mio() {
            self.poll
                .registry()
                .register(&mut SourceFd(&raw), Token(token), i)?;
        }
        self.items.push(Item {
            target: Target::Fd(raw),
            interest,
        });
        Ok(token)
    }

    /// Stops watching the item of `token` (tokens of others stay valid).
    ///
    /// Errors: [`Error::InvalidArgument`] for an unknown token.
    pub fn remove(&mut self, token: usize) -> Result<()> {
        let item = self
            .items
            .get_mut(token)
            .ok_or_else(|| Error::InvalidArgument(format!("no poll item {token}")))?;
        match std::mem::replace(&mut item.target, Target::Removed) {
            Target::Socket { mailbox, watch, .. } => mailbox.unwatch(watch),
            Target::Fd(raw) if item.interest.mio().is_some() => {
                self.poll.registry().deregister(&mut SourceFd(&raw))?;
            }
            Target::Fd(_) | Target::Removed => {}
        }
        Ok(())
    }

    /// Changes what the item of `token` is watched for.
    pub fn modify(&mut self, token: usize, interest: Interest) -> Result<()> {
        let item = self
            .items
            .get_mut(token)
            .ok_or_else(|| Error::InvalidArgument(format!("no poll item {token}")))?;
        if let Target::Fd(raw) = item.target {
            let registry = self.poll.registry();
            match (item.interest.mio(), interest.mio()) {
                (None, Some(i)) => registry.register(&mut SourceFd(&raw), Token(token), i)?,
                (Some(_), Some(i)) => registry.reregister(&mut SourceFd(&raw), Token(token), i)?,
                (Some(_), None) => registry.deregister(&mut SourceFd(&raw))?,
                (None, None) => {}
            }
        }
        item.interest = interest;
        Ok(())
    }

    /// Waits until at least one item is ready or `timeout` passes (`None`
    /// waits for ever, `Some(ZERO)` only looks); returns the ready items,
    /// each once, in token order for sockets. An empty slice means the
    /// timeout passed.
    ///
    /// Errors: [`Error::Terminated`] if a watched socket's context was
    /// shut down; [`Error::Io`] if the operating system's poll fails.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<&[PollEvent]> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        // Re-arming makes the kernel report descriptors that are still
        // ready (mio's registrations are edge-triggered).
        for (token, item) in self.items.iter().enumerate() {
            if let (Target::Fd(raw), Some(i)) = (&item.target, item.interest.mio()) {
                self.poll
                    .registry()
                    .reregister(&mut SourceFd(raw), Token(token), i)?;
            }
        }
        loop {
            self.ready.clear();
            // The sockets are watched already, so a change after this
            // check wakes the poll below.
            for (token, item) in self.items.iter().enumerate() {
                if let Target::Socket { socket, .. } = item.target {
                    let ready = socket.events()?.and(item.interest);
                    if !ready.is_empty() {
                        self.ready.push(PollEvent { token, ready });
                    }
                }
            }
            let wait = if self.ready.is_empty() {
                deadline.map(|d| d.saturating_duration_since(Instant::now()))
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut self.events, wait) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e.into());
            }
            for event in self.events.iter() {
                let token = event.token().0;
                let Some(item) = self.items.get(token) else {
                    continue;
                };
                if !matches!(item.target, Target::Fd(_)) {
                    continue;
                }
                let found = Interest {
                    readable: event.is_readable() || event.is_read_closed() || event.is_error(),
                    writable: event.is_writable() || event.is_write_closed() || event.is_error(),
                };
                let ready = found.and(item.interest);
                if !ready.is_empty() {
                    self.ready.push(PollEvent { token, ready });
                }
            }
            if !self.ready.is_empty() || deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(&self.ready);
            }
        }
    }
}

impl Drop for Poller<'_> {
    fn drop(&mut self) {
        for item in &self.items {
            if let Target::Socket { mailbox, watch, .. } = &item.target {
                mailbox.unwatch(*watch);
            }
        }
    }
}

impl std::fmt::Debug for Poller<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

/// Writes a byte into the handle's pipe at every post.
struct PipeSignal(mio::unix::pipe::Sender);

impl Watcher for PipeSignal {
    fn notify(&self) {
        match (&self.0).write(&[1]) {
            // A full pipe is readable already: nothing is lost.
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => log::error!("cannot signal a readiness handle: {e}"),
        }
    }
}

/// A file descriptor that becomes readable when its socket may have
/// become ready, for an application's own event loop ([`Socket::readiness_fd`]).
///
/// It implements [`mio::event::Source`] (register it with your
/// `mio::Poll`, readable interest) and [`AsFd`]/[`AsRawFd`] (for epoll,
/// poll or another library's loop).
///
/// When it fires, do this, in this order:
/// 1. [`drain`](ReadinessFd::drain) it;
/// 2. ask [`Socket::events`] and serve the socket while it is ready
///    (`try_recv` until [`Error::WouldBlock`], `try_send` while writable).
///
/// Draining before looking is what makes it safe: whatever happens to the
/// socket after step 1 makes the descriptor readable again, so a loop
/// that follows the two steps never sleeps while the socket is ready. It
/// is readable at creation, so the first wait looks at the socket once.
///
/// With a `mio::Poll` of the application's own (any loop that can wait
/// on a file descriptor works the same way):
///
/// ```
/// use std::time::Duration;
/// use brokerless::{Context, Error, SocketType};
/// use mio::{Events, Interest, Poll, Token};
///
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// pull.bind("tcp://127.0.0.1:*")?;
/// let push = ctx.socket(SocketType::Push)?;
/// push.connect(&pull.last_endpoint().unwrap())?;
/// for i in 0..3 {
///     push.send(format!("message {i}"))?;
/// }
///
/// let mut ready = pull.readiness_fd()?;
/// let mut poll = Poll::new()?;
/// poll.registry().register(&mut ready, Token(7), Interest::READABLE)?;
/// let mut events = Events::with_capacity(8);
/// let mut got = Vec::new();
/// while got.len() < 3 {
///     poll.poll(&mut events, Some(Duration::from_secs(5)))?;
///     assert!(!events.is_empty(), "nothing within 5 s");
///     // 1. drain, 2. serve the socket until it would block.
///     ready.drain();
///     loop {
///         match pull.try_recv() {
///             Ok(msg) => got.push(String::from_utf8_lossy(&msg[0]).into_owned()),
///             Err(Error::WouldBlock) => break,
///             Err(e) => return Err(e),
///         }
///     }
/// }
/// assert_eq!(got, ["message 0", "message 1", "message 2"]);
/// # Ok::<(), brokerless::Error>(())
/// ```
pub struct ReadinessFd {
    receiver: mio::unix::pipe::Receiver,
    mailbox: Arc<Mailbox>,
    watch: u64,
}

impl ReadinessFd {
    pub(crate) fn new(mailbox: Arc<Mailbox>) -> Result<ReadinessFd> {
        let (sender, receiver) = mio::unix::pipe::new()?;
        let signal = Arc::new(PipeSignal(sender));
        signal.notify();
        let watch = mailbox.watch(signal);
        Ok(ReadinessFd {
            receiver,
            mailbox,
            watch,
        })
    }

    /// Empties the descriptor (step 1 above).
    pub fn drain(&self) {
        let mut buf = [0u8; 256];
        loop {
            match (&self.receiver).read(&mut buf) {
                Ok(0) => return,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }
}

impl Drop for ReadinessFd {
    fn drop(&mut self) {
        self.mailbox.unwatch(self.watch);
    }
}

impl AsFd for ReadinessFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.receiver.as_fd()
    }
}

impl AsRawFd for ReadinessFd {
    fn as_raw_fd(&self) -> RawFd {
        self.receiver.as_raw_fd()
    }
}

impl mio::event::Source for ReadinessFd {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: Token,
        interests: mio::Interest,
    ) -> std::io::Result<()> {
        self.receiver.register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: Token,
        interests: mio::Interest,
    ) -> std::io::Result<()> {
        self.receiver.reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
        self.receiver.deregister(registry)
    }
}

impl std::fmt::Debug for ReadinessFd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadinessFd")
            .field("fd", &self.receiver.as_raw_fd())
            .finish()
    }
}

impl Socket {
    /// What the socket is ready for now: [`Interest::READABLE`] if a
    /// [`try_recv`](Socket::try_recv) would return a message (one may be
    /// taken ahead to know; the next receive returns it),
    /// [`Interest::WRITABLE`] if a [`try_send`](Socket::try_send) would
    /// not have to wait. Level-triggered.
    ///
    /// Errors: [`Error::Terminated`] after context shutdown.
    pub fn events(&self) -> Result<Interest> {
        let (readable, writable) = self.readiness()?;
        Ok(Interest { readable, writable })
    }

    /// A file descriptor to put in an event loop of the application's own
    /// (mio, epoll, another library's): see [`ReadinessFd`] for when it
    /// fires and how to serve it. Each call makes a new one.
    pub fn readiness_fd(&self) -> Result<ReadinessFd> {
        ReadinessFd::new(self.mailbox().clone())
    }
}
