//! A socket's mailbox: how pipes and I/O threads tell a socket that
//! something changed, and how a blocked `send`/`recv` sleeps until then.
//!
//! Invariant: `signaled` is set under the lock by every post and cleared
//! only by a waiter that returns, so a post that races with a caller
//! deciding to sleep is never missed. The condition variable is notified
//! only when someone is actually waiting (no syscall on the busy path),
//! and `pending` lets the socket skip the lock when nothing was posted.
//!
//! At most one thread waits here: the socket is `!Sync`, so only the
//! thread that owns it can block in its `send`/`recv`, and a signal it
//! consumes was meant for it alone. Everyone else who must hear of posts
//! (pollers, readiness handles, the split halves of
//! [`Socket::split`](super::Socket::split), async tasks) registers as a
//! watcher or a task waker, and is told of every post independently of
//! `signaled`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::pipe::{PipeEvents, PipeId, PipeReader, PipeWriter};
use crate::zmtp::PeerInfo;

/// A connected peer as the socket sees it: its two pipe ends.
pub(crate) struct Peer {
    /// The id shared by both pipes.
    pub id: PipeId,
    /// Messages to the peer.
    pub writer: PipeWriter,
    /// Messages from the peer.
    pub reader: PipeReader,
    /// What the peer said in its handshake (bound side only; a connecting
    /// socket attaches its pipes before any handshake and learns this
    /// from [`Command::Handshaken`]).
    pub info: Option<PeerInfo>,
    /// The routing id a ROUTER is to give this peer (its
    /// `connect_routing_id` at `connect`), overriding the peer's own.
    pub routing_id: Option<bytes::Bytes>,
    /// `Some(max)` for a datagram peer (a RADIO's `udp://` connect): it
    /// sends no joins, so a RADIO gives it every group, and a message
    /// whose datagram would exceed `max` bytes cannot go to it. `None`
    /// for every stream and inproc peer.
    pub datagram_max: Option<usize>,
}

/// A change the socket must process.
pub(crate) enum Command {
    /// A new peer completed its handshake (bound side).
    Attach(Peer),
    /// The peer of pipes attached at `connect` completed a handshake (on
    /// every reconnection).
    Handshaken {
        /// The pipes' id.
        id: PipeId,
        /// What the peer announced.
        info: PeerInfo,
        /// The peer is an inproc socket: no I/O thread sent it our
        /// subscriptions, so the socket sends them.
        inproc: bool,
    },
    /// An inbound pipe has messages again, or its writer closed.
    Readable(PipeId),
    /// An outbound pipe has room again, or its reader closed.
    Writable(PipeId),
}

struct Inner {
    commands: Vec<Command>,
    signaled: bool,
    waiters: usize,
    closed: bool,
}

/// Something outside the socket to tell of every post: a poller or a
/// readiness handle. Called outside the mailbox's lock; must be quick.
pub(crate) trait Watcher: Send + Sync {
    /// Something was posted.
    fn notify(&self);
}

static NEXT_WATCH: AtomicU64 = AtomicU64::new(1);

/// Who is told of posts besides sleeping threads.
#[derive(Default)]
struct Watchers {
    /// Async tasks waiting on the socket; each is woken once.
    tasks: Vec<Waker>,
    /// Pollers and readiness handles, told of every post.
    always: Vec<(u64, Arc<dyn Watcher>)>,
}

/// The mailbox; shared by the socket, its pipes and the I/O thread.
pub(crate) struct Mailbox {
    inner: Mutex<Inner>,
    cond: Condvar,
    pending: AtomicBool,
    /// Whether `watchers` holds anything (one load on the busy path).
    watched: AtomicBool,
    watchers: Mutex<Watchers>,
}

impl Mailbox {
    pub(crate) fn new() -> Mailbox {
        Mailbox {
            inner: Mutex::new(Inner {
                commands: Vec::new(),
                signaled: false,
                waiters: 0,
                closed: false,
            }),
            cond: Condvar::new(),
            pending: AtomicBool::new(false),
            watched: AtomicBool::new(false),
            watchers: Mutex::new(Watchers::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a command and wakes a waiter. Commands posted after the
    /// socket closed are dropped (with the pipes they carry).
    pub(crate) fn post(&self, cmd: Command) {
        let mut inner = self.lock();
        if inner.closed {
            return;
        }
        inner.commands.push(cmd);
        self.signal_locked(inner);
    }

    /// Wakes every waiter without a command (context termination).
    pub(crate) fn interrupt(&self) {
        let inner = self.lock();
        self.signal_locked(inner);
    }

    fn signal_locked(&self, mut inner: MutexGuard<'_, Inner>) {
        inner.signaled = true;
        self.pending.store(true, Ordering::Release);
        let wake = inner.waiters > 0;
        drop(inner);
        if wake {
            self.cond.notify_all();
        }
        if self.watched.load(Ordering::Acquire) {
            self.notify_watchers();
        }
    }

    fn watchers(&self) -> MutexGuard<'_, Watchers> {
        self.watchers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn notify_watchers(&self) {
        let mut w = self.watchers();
        let tasks = std::mem::take(&mut w.tasks);
        for (_, watcher) in &w.always {
            watcher.notify();
        }
        self.watched.store(!w.always.is_empty(), Ordering::Release);
        drop(w);
        for task in tasks {
            task.wake();
        }
    }

    /// Wakes `task` at the next post (once). The caller checks its
    /// condition again after this, so a post in between is not missed.
    pub(crate) fn wake_on_post(&self, task: &Waker) {
        let mut w = self.watchers();
        if !w.tasks.iter().any(|t| t.will_wake(task)) {
            w.tasks.push(task.clone());
        }
        self.watched.store(true, Ordering::Release);
    }

    /// Tells `watcher` of every post from now on, until [`Mailbox::unwatch`]
    /// with the returned id.
    pub(crate) fn watch(&self, watcher: Arc<dyn Watcher>) -> u64 {
        let id = NEXT_WATCH.fetch_add(1, Ordering::Relaxed);
        let mut w = self.watchers();
        w.always.push((id, watcher));
        self.watched.store(true, Ordering::Release);
        id
    }

    /// Stops telling a watcher.
    pub(crate) fn unwatch(&self, id: u64) {
        let mut w = self.watchers();
        w.always.retain(|(i, _)| *i != id);
        self.watched.store(
            !w.always.is_empty() || !w.tasks.is_empty(),
            Ordering::Release,
        );
    }

    /// Whether commands may be waiting (one atomic load).
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Moves the queued commands into `out` (cheap when there are none).
    pub(crate) fn take(&self, out: &mut Vec<Command>) {
        if !self.pending.load(Ordering::Acquire) {
            return;
        }
        let mut inner = self.lock();
        self.pending.store(false, Ordering::Relaxed);
        out.append(&mut inner.commands);
    }

    /// Sleeps until something is posted or `deadline` passes; returns
    /// false on timeout. First it looks for a post for up to `spin`
    /// without sleeping (yielding the CPU between looks): a post that
    /// comes that soon then costs no wake-up. Returning early is always
    /// safe, as the caller re-checks its condition and waits again.
    pub(crate) fn wait(&self, deadline: Option<Instant>, spin: Duration) -> bool {
        if !spin.is_zero() {
            let until = Instant::now() + spin;
            let until = deadline.map_or(until, |d| d.min(until));
            loop {
                if self.pending.load(Ordering::Acquire) {
                    return true;
                }
                if Instant::now() >= until {
                    break;
                }
                std::thread::yield_now();
            }
        }
        let mut inner = self.lock();
        inner.waiters += 1;
        let mut ok = true;
        while !inner.signaled {
            match deadline {
                None => inner = self.cond.wait(inner).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        ok = false;
                        break;
                    }
                    inner = self
                        .cond
                        .wait_timeout(inner, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        inner.waiters -= 1;
        if ok {
            inner.signaled = false;
        }
        ok
    }

    /// Whether the socket was closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Marks the socket closed: later posts are dropped, and so are the
    /// commands still queued (closing the pipes they carry).
    pub(crate) fn close(&self) {
        let dropped = {
            let mut inner = self.lock();
            inner.closed = true;
            std::mem::take(&mut inner.commands)
        };
        drop(dropped);
    }
}

impl PipeEvents for Mailbox {
    fn readable(&self, id: PipeId) {
        self.post(Command::Readable(id));
    }

    fn writable(&self, id: PipeId) {
        self.post(Command::Writable(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn post_before_wait_is_not_lost() {
        let mb = Mailbox::new();
        mb.post(Command::Readable(7));
        assert!(mb.wait(Some(Instant::now()), Duration::ZERO));
        let mut out = Vec::new();
        mb.take(&mut out);
        assert!(matches!(out.as_slice(), [Command::Readable(7)]));
        assert!(!mb.wait(
            Some(Instant::now() + Duration::from_millis(10)),
            Duration::ZERO
        ));
    }

    #[test]
    fn wakes_a_sleeping_waiter() {
        let mb = Arc::new(Mailbox::new());
        let mb2 = mb.clone();
        let t = std::thread::spawn(move || mb2.wait(None, Duration::from_micros(30)));
        // Whether the post lands before or after the wait starts, the
        // waiter returns.
        mb.post(Command::Writable(1));
        assert!(t.join().unwrap());
    }

    #[test]
    fn closed_mailbox_drops_posts() {
        let mb = Mailbox::new();
        mb.close();
        mb.post(Command::Readable(1));
        let mut out = Vec::new();
        mb.take(&mut out);
        assert!(out.is_empty());
    }
}
