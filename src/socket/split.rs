//! [`Socket::split`]: a sending half and a receiving half of one socket,
//! each `Send + Sync`, for the applications that must send and receive
//! on one socket from two threads (or two tasks) at once.
//!
//! A [`Socket`] is `Send` but not `Sync` (issue #8): its per-call state
//! lives in a `RefCell`, which measured 11-14% fewer instructions per
//! message than a `Mutex`. The halves put the socket back behind a
//! `Mutex`, so only the applications that split pay for sharing.
//!
//! Ownership and wake-ups: both halves hold the socket in one `Mutex`,
//! taken for the length of one non-blocking attempt and never while
//! waiting. A blocked half reads the generation of [`Events`] *before*
//! its attempt and, if the attempt would block, sleeps until the
//! generation moves, the deadline passes, or never. The generation moves
//! at every post to the socket's mailbox (the halves watch it as a
//! poller does), so whichever half's attempt consumed a post, the other
//! is woken by it too: a post can never be lost between them. Every
//! change that may unblock a send or a receive arrives as a post (new
//! peer, pipe readable, pipe writable, context shutdown); a call in the
//! wrong state (REQ/REP lockstep) fails at once rather than waiting. The
//! halves' futures are woken by the mailbox itself, which wakes every
//! waiting task at each post.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::{Mailbox, Socket, Watcher};
use crate::{Error, Message, Result, SocketType};

/// Tells the blocked halves of a split socket of every post.
#[derive(Default)]
struct Events {
    /// Moves at every post.
    generation: AtomicU64,
    /// Threads about to sleep or asleep on `cond` (so a post costs no
    /// lock and no syscall when nobody sleeps).
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    cond: Condvar,
}

impl Watcher for Events {
    fn notify(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        // SeqCst pairs with the sleeper's: either it sees the new
        // generation, or this sees it counted and wakes it under the lock
        // (which it holds from its last look until it waits).
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.cond.notify_all();
        }
    }
}

impl Events {
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Waits until the generation is no longer `seen` or `deadline`
    /// passes, looking without sleeping for up to `spin` first (as
    /// `Mailbox::wait` does). Returning early is harmless: the caller
    /// tries again.
    fn wait(&self, seen: u64, deadline: Option<Instant>, spin: Duration) {
        if !spin.is_zero() {
            let until = Instant::now() + spin;
            let until = deadline.map_or(until, |d| d.min(until));
            while Instant::now() < until {
                if self.generation() != seen {
                    return;
                }
                std::thread::yield_now();
            }
        }
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        while self.generation() == seen {
            match deadline {
                None => guard = self.cond.wait(guard).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break;
                    }
                    guard = self
                        .cond
                        .wait_timeout(guard, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        drop(guard);
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Stops the mailbox telling `Events` when the halves are gone.
struct WatchGuard {
    mailbox: Arc<Mailbox>,
    id: u64,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.mailbox.unwatch(self.id);
    }
}

/// What the two halves share.
struct Shared {
    /// Declared first: unwatched before the socket closes.
    watch: WatchGuard,
    events: Arc<Events>,
    socket: Mutex<Socket>,
    socket_type: SocketType,
    spin: Duration,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Socket> {
        // A panic in `with` leaves the socket as consistent as any call
        // that returned an error.
        self.socket.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `attempt` under the lock until it yields, waiting outside the
    /// lock in between; `timeout` reads the socket's timeout (once).
    fn blocking<T>(
        &self,
        timeout: impl FnOnce(&Socket) -> Option<Duration>,
        mut attempt: impl FnMut(&Socket) -> Result<Option<T>>,
    ) -> Result<T> {
        let mut timeout = Some(timeout);
        let mut deadline: Option<Option<Instant>> = None;
        let mut zero = false;
        loop {
            let seen = self.events.generation();
            {
                let socket = self.lock();
                if let Some(v) = attempt(&socket)? {
                    return Ok(v);
                }
                if let Some(read) = timeout.take() {
                    let t = read(&socket);
                    zero = t == Some(Duration::ZERO);
                    // A timeout too long to represent waits for ever.
                    deadline = Some(t.and_then(|t| Instant::now().checked_add(t)));
                }
            }
            let deadline = deadline.flatten();
            if deadline.is_some_and(|d| d <= Instant::now()) {
                return Err(if zero {
                    Error::WouldBlock
                } else {
                    Error::Timeout
                });
            }
            self.events.wait(seen, deadline, self.spin);
        }
    }

    fn send(&self, msg: Message, timeout: impl FnOnce(&Socket) -> Option<Duration>) -> Result<()> {
        let mut pending = Some(msg);
        self.blocking(timeout, |socket| {
            let Some(msg) = pending.take() else {
                return Ok(Some(()));
            };
            match socket.send_now(msg)? {
                Ok(()) => Ok(Some(())),
                Err(back) => {
                    pending = Some(back);
                    Ok(None)
                }
            }
        })
    }

    fn recv(&self, timeout: impl FnOnce(&Socket) -> Option<Duration>) -> Result<Message> {
        self.blocking(timeout, |socket| match socket.try_recv() {
            Ok(msg) => Ok(Some(msg)),
            Err(Error::WouldBlock) => Ok(None),
            Err(e) => Err(e),
        })
    }
}

/// The sending half of a [`Socket`], made by [`Socket::split`].
///
/// `Send + Sync`: it may be moved to, or shared between, threads and
/// tasks, and used while the [`SocketReceiver`] of the same socket is
/// blocked in another thread. A blocking [`send`](SocketSender::send)
/// waits without holding the socket, up to the socket's
/// [`send_timeout`](Socket::set_send_timeout).
///
/// ```
/// use brokerless::{Context, SocketType};
///
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// pull.bind("inproc://sender-doc")?;
/// let (tx, _rx) = ctx.socket(SocketType::Push)?.split();
/// tx.with(|s| s.connect("inproc://sender-doc"))?;
///
/// // `Sync`: four threads send through the one half at once.
/// std::thread::scope(|s| {
///     let tx = &tx;
///     let workers: Vec<_> = (0..4)
///         .map(|i| s.spawn(move || tx.send(format!("job {i}"))))
///         .collect();
///     workers.into_iter().try_for_each(|w| w.join().expect("no panic"))
/// })?;
/// let mut jobs = Vec::new();
/// for _ in 0..4 {
///     jobs.push(pull.recv()?[0].to_vec());
/// }
/// jobs.sort();
/// assert_eq!(jobs, [b"job 0", b"job 1", b"job 2", b"job 3"]);
/// # Ok::<(), brokerless::Error>(())
/// ```
pub struct SocketSender {
    shared: Arc<Shared>,
}

/// The receiving half of a [`Socket`], made by [`Socket::split`].
///
/// `Send + Sync`, like [`SocketSender`]. A blocking
/// [`recv`](SocketReceiver::recv) waits without holding the socket, up to
/// the socket's [`recv_timeout`](Socket::set_recv_timeout), so the sender
/// goes on sending meanwhile.
///
/// ```
/// use std::time::Duration;
///
/// use brokerless::{Context, Error, SocketType};
///
/// let ctx = Context::new();
/// let (tx, rx) = ctx.socket(SocketType::Pair)?.split();
/// rx.with(|s| s.bind("inproc://receiver-doc"))?;
/// rx.with(|s| s.set_recv_timeout(Some(Duration::from_millis(10))))?;
/// assert!(matches!(rx.recv(), Err(Error::Timeout)));
/// rx.with(|s| s.set_recv_timeout(None))?;
///
/// let peer = ctx.socket(SocketType::Pair)?;
/// peer.connect("inproc://receiver-doc")?;
/// // The receiver waits in its own thread; the sender goes on in this one.
/// let receiver = std::thread::spawn(move || rx.recv());
/// tx.send("ping")?;
/// assert_eq!(&peer.recv()?[0], b"ping");
/// peer.send("pong")?;
/// assert_eq!(&receiver.join().expect("no panic")?[0], b"pong");
/// # Ok::<(), brokerless::Error>(())
/// ```
pub struct SocketReceiver {
    shared: Arc<Shared>,
}

/// [`Socket::reunite`] was given the halves of two different sockets;
/// here they are back.
///
/// ```
/// use brokerless::{Context, Socket, SocketType};
///
/// let ctx = Context::new();
/// let (tx_a, rx_a) = ctx.socket(SocketType::Pair)?.split();
/// let (tx_b, rx_b) = ctx.socket(SocketType::Dealer)?.split();
/// let err = Socket::reunite(tx_a, rx_b).unwrap_err();
/// assert_eq!(err.to_string(), "the halves belong to different sockets");
///
/// // Nothing is lost: the halves come back, to be paired right.
/// let a = Socket::reunite(err.sender, rx_a).expect("both halves of a");
/// let b = Socket::reunite(tx_b, err.receiver).expect("both halves of b");
/// assert_eq!(a.socket_type(), SocketType::Pair);
/// assert_eq!(b.socket_type(), SocketType::Dealer);
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Debug)]
pub struct ReuniteError {
    /// The sending half given.
    pub sender: SocketSender,
    /// The receiving half given.
    pub receiver: SocketReceiver,
}

impl std::fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the halves belong to different sockets")
    }
}

impl std::error::Error for ReuniteError {}

impl Socket {
    /// Splits the socket into a sending and a receiving half, each
    /// `Send + Sync`, to send and receive from two threads (or tasks) at
    /// once: a DEALER that sends from one thread while another receives,
    /// a ROUTER served by two threads, a ZAP-like client whose requests
    /// come from anywhere and whose replies are read by one thread.
    ///
    /// A socket used by one thread at a time needs no split: move it (it
    /// is `Send`), or poll several with a [`Poller`](crate::Poller). The
    /// halves share the socket behind a mutex, which costs a lock per
    /// call; a blocked half never holds it. The socket closes when both
    /// halves are dropped (or put back together with
    /// [`reunite`](Socket::reunite)). Options and the other calls are
    /// reached through [`SocketSender::with`] and [`SocketReceiver::with`].
    ///
    /// ```
    /// use brokerless::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let echo = ctx.socket(SocketType::Dealer)?;
    /// echo.bind("inproc://split-echo")?;
    /// let client = ctx.socket(SocketType::Dealer)?;
    /// client.connect("inproc://split-echo")?;
    ///
    /// // One thread sends, another receives, on the same socket.
    /// let (tx, rx) = client.split();
    /// let sender = std::thread::spawn(move || -> brokerless::Result<()> {
    ///     for i in 0..100 {
    ///         tx.send(format!("{i}"))?;
    ///     }
    ///     Ok(())
    /// });
    /// let echoer = std::thread::spawn(move || -> brokerless::Result<()> {
    ///     for _ in 0..100 {
    ///         echo.send(echo.recv()?)?;
    ///     }
    ///     Ok(())
    /// });
    /// for i in 0..100 {
    ///     assert_eq!(&rx.recv()?[0], format!("{i}").as_bytes());
    /// }
    /// sender.join().unwrap()?;
    /// echoer.join().unwrap()?;
    /// # Ok::<(), brokerless::Error>(())
    /// ```
    pub fn split(self) -> (SocketSender, SocketReceiver) {
        let events = Arc::new(Events::default());
        let mailbox = self.mailbox().clone();
        let id = mailbox.watch(events.clone());
        let shared = Arc::new(Shared {
            watch: WatchGuard { mailbox, id },
            events,
            socket_type: self.socket_type(),
            spin: self.ctx.spin,
            socket: Mutex::new(self),
        });
        (
            SocketSender {
                shared: shared.clone(),
            },
            SocketReceiver { shared },
        )
    }

    /// Puts the halves made by [`split`](Socket::split) back together.
    ///
    /// Errors: [`ReuniteError`], with both halves, if they come from two
    /// different sockets.
    ///
    /// ```
    /// use brokerless::{Context, Socket, SocketType};
    ///
    /// let ctx = Context::new();
    /// let (tx, rx) = ctx.socket(SocketType::Pair)?.split();
    /// let pair: Socket = Socket::reunite(tx, rx).expect("the same socket");
    /// assert_eq!(pair.socket_type(), SocketType::Pair);
    /// # Ok::<(), brokerless::Error>(())
    /// ```
    pub fn reunite(
        sender: SocketSender,
        receiver: SocketReceiver,
    ) -> std::result::Result<Socket, ReuniteError> {
        if !Arc::ptr_eq(&sender.shared, &receiver.shared) {
            return Err(ReuniteError { sender, receiver });
        }
        drop(receiver);
        // Only the halves hold `shared`, and the futures borrow them, so
        // the sender's is now the only one.
        match Arc::try_unwrap(sender.shared) {
            Ok(Shared { watch, socket, .. }) => {
                drop(watch);
                Ok(socket.into_inner().unwrap_or_else(|e| e.into_inner()))
            }
            Err(_) => unreachable!("a split socket is held by its two halves only"),
        }
    }
}

/// The calls both halves offer.
macro_rules! common {
    ($half:ident) => {
        impl $half {
            /// The socket's type.
            pub fn socket_type(&self) -> SocketType {
                self.shared.socket_type
            }

            /// Runs `f` on the socket, holding it: for options
            /// (`s.set_recv_timeout(..)`, `s.last_endpoint()`), binds,
            /// connects, subscriptions and monitors. The other half waits
            /// for `f` to return, so `f` should not block (no blocking
            /// `send` or `recv` in it), and must not use this socket's
            /// halves, which would deadlock.
            pub fn with<R>(&self, f: impl FnOnce(&Socket) -> R) -> R {
                f(&self.shared.lock())
            }
        }

        impl std::fmt::Debug for $half {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($half))
                    .field("type", &self.shared.socket_type)
                    .finish_non_exhaustive()
            }
        }
    };
}

common!(SocketSender);
common!(SocketReceiver);

impl SocketSender {
    /// Sends a whole message, as [`Socket::send`]: blocks while the
    /// socket type says it must wait, up to the socket's
    /// [`send_timeout`](Socket::set_send_timeout) ([`Error::Timeout`]),
    /// without holding the socket meanwhile.
    pub fn send(&self, msg: impl Into<Message>) -> Result<()> {
        let msg = msg.into();
        if msg.is_empty() {
            return Err(Error::EmptyMessage);
        }
        self.shared.send(msg, Socket::send_timeout)
    }

    /// Sends a whole message if that can be done at once, else returns
    /// [`Error::WouldBlock`] (as [`Socket::try_send`]).
    pub fn try_send(&self, msg: impl Into<Message>) -> Result<()> {
        self.shared.lock().try_send(msg)
    }

    /// Sends a whole message, as a `Send` future (see
    /// [`Socket::send_async`]: dropping it before it completes sends
    /// nothing).
    ///
    /// ```
    /// use brokerless::{Context, SocketType};
    ///
    /// #[tokio::main]
    /// async fn main() -> brokerless::Result<()> {
    ///     let ctx = Context::new();
    ///     let (tx, rx) = ctx.socket(SocketType::Pair)?.split();
    ///     tx.with(|s| s.bind("inproc://split-async"))?;
    ///     let peer = ctx.socket(SocketType::Pair)?;
    ///     peer.connect("inproc://split-async")?;
    ///
    ///     // The halves' futures are Send: each half goes to its own task.
    ///     let sending = tokio::spawn(async move { tx.send_async("ping").await });
    ///     let receiving = tokio::spawn(async move { rx.recv_async().await });
    ///     sending.await.unwrap()?;
    ///     assert_eq!(&peer.recv()?[0], b"ping");
    ///     peer.send("pong")?;
    ///     assert_eq!(&receiving.await.unwrap()?[0], b"pong");
    ///     Ok(())
    /// }
    /// ```
    pub fn send_async(&self, msg: impl Into<Message>) -> SplitSendFuture<'_> {
        SplitSendFuture {
            shared: &self.shared,
            msg: Some(msg.into()),
        }
    }
}

impl SocketReceiver {
    /// Receives a whole message, as [`Socket::recv`]: blocks until one
    /// arrives or the socket's [`recv_timeout`](Socket::set_recv_timeout)
    /// passes ([`Error::Timeout`]), without holding the socket meanwhile.
    pub fn recv(&self) -> Result<Message> {
        self.shared.recv(Socket::recv_timeout)
    }

    /// Receives a whole message if one is ready, else returns
    /// [`Error::WouldBlock`].
    pub fn try_recv(&self) -> Result<Message> {
        self.shared.lock().try_recv()
    }

    /// Receives a whole message, as a `Send` future (see
    /// [`Socket::recv_async`]: dropping it loses no message).
    pub fn recv_async(&self) -> SplitRecvFuture<'_> {
        SplitRecvFuture {
            shared: &self.shared,
        }
    }
}

/// The future of [`SocketReceiver::recv_async`]; `Send`, so it can be
/// spawned on a multi-threaded executor.
///
/// It needs no particular runtime; here a minimal executor made with the
/// standard library only:
///
/// ```
/// use std::future::Future;
/// use std::sync::Arc;
/// use std::task::{Context, Poll, Wake, Waker};
///
/// use brokerless::SocketType;
///
/// /// Wakes the thread blocked in `block_on`.
/// struct Unpark(std::thread::Thread);
///
/// impl Wake for Unpark {
///     fn wake(self: Arc<Self>) {
///         self.0.unpark();
///     }
/// }
///
/// fn block_on<F: Future>(future: F) -> F::Output {
///     let mut future = std::pin::pin!(future);
///     let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
///     let mut cx = Context::from_waker(&waker);
///     loop {
///         if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
///             return output;
///         }
///         std::thread::park();
///     }
/// }
///
/// let ctx = brokerless::Context::new();
/// let (_tx, rx) = ctx.socket(SocketType::Pull)?.split();
/// rx.with(|s| s.bind("inproc://recv-future-doc"))?;
/// let push = ctx.socket(SocketType::Push)?;
/// push.connect("inproc://recv-future-doc")?;
/// let pusher = std::thread::spawn(move || push.send("later"));
/// assert_eq!(&block_on(rx.recv_async())?[0], b"later");
/// pusher.join().expect("no panic")?;
/// # Ok::<(), brokerless::Error>(())
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct SplitRecvFuture<'a> {
    shared: &'a Shared,
}

impl Future for SplitRecvFuture<'_> {
    type Output = Result<Message>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Message>> {
        let attempt = || self.shared.lock().try_recv();
        match attempt() {
            Err(Error::WouldBlock) => {}
            done => return Poll::Ready(done),
        }
        // Watch first, then look again (as RecvFuture).
        self.shared.watch.mailbox.wake_on_post(cx.waker());
        match attempt() {
            Err(Error::WouldBlock) => Poll::Pending,
            done => Poll::Ready(done),
        }
    }
}

impl std::fmt::Debug for SplitRecvFuture<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplitRecvFuture").finish_non_exhaustive()
    }
}

/// The future of [`SocketSender::send_async`]; `Send`, so it can be
/// spawned on a multi-threaded executor.
///
/// Dropped before it completes, it sends nothing:
///
/// ```
/// use std::future::Future;
/// use std::pin::pin;
/// use std::task::{Context, Waker};
///
/// use brokerless::SocketType;
///
/// #[tokio::main]
/// async fn main() -> brokerless::Result<()> {
///     let ctx = brokerless::Context::new();
///     let (tx, _rx) = ctx.socket(SocketType::Push)?.split();
///     {
///         // No peer yet, so a PUSH waits: the future is pending...
///         let mut early = pin!(tx.send_async("dropped"));
///         let mut cx = Context::from_waker(Waker::noop());
///         assert!(early.as_mut().poll(&mut cx).is_pending());
///     } // ... and is dropped here.
///
///     let pull = ctx.socket(SocketType::Pull)?;
///     pull.bind("inproc://send-future-doc")?;
///     tx.with(|s| s.connect("inproc://send-future-doc"))?;
///     let sending = tokio::spawn(async move { tx.send_async("kept").await });
///     sending.await.expect("no panic")?;
///     assert_eq!(&pull.recv()?[0], b"kept");
///     assert!(pull.try_recv().is_err()); // "dropped" never went
///     Ok(())
/// }
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct SplitSendFuture<'a> {
    shared: &'a Shared,
    msg: Option<Message>,
}

impl Future for SplitSendFuture<'_> {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        for attempt in 0..2 {
            let Some(msg) = self.msg.take() else {
                return Poll::Ready(Ok(()));
            };
            let sent = self.shared.lock().send_now(msg);
            match sent {
                Ok(Ok(())) => return Poll::Ready(Ok(())),
                Ok(Err(back)) => self.msg = Some(back),
                Err(e) => return Poll::Ready(Err(e)),
            }
            if attempt == 0 {
                self.shared.watch.mailbox.wake_on_post(cx.waker());
            }
        }
        Poll::Pending
    }
}

impl std::fmt::Debug for SplitSendFuture<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplitSendFuture")
            .field("msg", &self.msg)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_before_the_wait_is_not_lost() {
        let events = Events::default();
        let seen = events.generation();
        events.notify();
        // Returns at once: the generation moved after it was read.
        events.wait(seen, None, Duration::ZERO);
    }

    #[test]
    fn a_post_wakes_a_sleeper() {
        let events = Arc::new(Events::default());
        let seen = events.generation();
        let e2 = events.clone();
        let t = std::thread::spawn(move || e2.wait(seen, None, Duration::ZERO));
        let deadline = Instant::now() + Duration::from_secs(20);
        while events.sleepers.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            std::thread::yield_now();
        }
        events.notify();
        t.join().unwrap();
    }

    #[test]
    fn the_wait_ends_at_the_deadline() {
        let events = Events::default();
        let start = Instant::now();
        let seen = events.generation();
        events.wait(
            seen,
            Some(start + Duration::from_millis(20)),
            Duration::from_micros(30),
        );
        assert!(start.elapsed() >= Duration::from_millis(20));
    }
}
