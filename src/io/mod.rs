//! The I/O thread: a hand-rolled mio event loop.
//!
//! One [`mio::Poll`], one [`mio::Waker`] for commands from user threads,
//! a slab of entries (listeners, sessions and `udp://` links) whose keys
//! are the poll tokens, and a timer heap. Every readiness is drained to
//! WouldBlock by the engine (or the link); commands are coalesced so a
//! burst of posts costs one wake-up. No protocol logic lives here.
//!
//! Ownership: the thread owns every listener, stream and engine, and the
//! engine ends of the pipes. Users reach it only through [`IoHandle::post`].

mod session;
mod udp;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use crate::engine::{Engine, EnginePipes};
use crate::options::Options;
use crate::pipe::{DirectSink, PipeEvents, PipeId};
use crate::socket::SocketShared;
use crate::transport::{Listener, Remote};
use crate::{Message, SocketType};
use session::{Bound, Session};
pub(crate) use udp::UdpLink;

const WAKER: Token = Token(usize::MAX);

/// A request to an I/O thread.
pub(crate) enum IoCmd {
    /// Accept connections on a bound listener.
    Listen {
        listener: Listener,
        endpoint: String,
        socket: Arc<SocketShared>,
        options: Options,
    },
    /// Keep a connection to `addrs` (tried in turn) for these pipes, or
    /// (`immediate`) for pipes made at each handshake and given the
    /// routing id `routing_id`.
    Connect {
        addrs: Vec<Remote>,
        endpoint: String,
        socket: Arc<SocketShared>,
        options: Options,
        pipes: Option<EnginePipes>,
        routing_id: Option<bytes::Bytes>,
    },
    /// The socket was closed: stop its listeners, and let its sessions
    /// flush for up to `linger`.
    SocketClosed {
        socket: u64,
        linger: Option<Duration>,
    },
    /// Close the listener on `endpoint` and, within `linger`, the
    /// connections it accepted.
    Unbind {
        socket: u64,
        endpoint: String,
        linger: Option<Duration>,
    },
    /// Drop the session connected to `endpoint` at once.
    Disconnect { socket: u64, endpoint: String },
    /// Serve a `udp://` bind (DISH) or connect (RADIO).
    Udp(UdpLink),
    /// A pipe of the session or link with this token has news.
    PipeEvent(usize),
    /// The authenticator's verdict for the handshake of the session with
    /// this token, if it is still in the same `generation`.
    AuthVerdict {
        token: usize,
        generation: u64,
        reply: crate::zmtp::AuthReply,
    },
    /// The context is shutting down: flush within each linger, then exit.
    Shutdown,
}

struct Shared {
    waker: Waker,
    queue: Mutex<Vec<IoCmd>>,
    woken: AtomicBool,
}

/// A cloneable handle to post commands to one I/O thread.
#[derive(Clone)]
pub(crate) struct IoHandle {
    shared: Arc<Shared>,
}

impl IoHandle {
    /// Queues a command and wakes the thread if it is not already awake.
    pub(crate) fn post(&self, cmd: IoCmd) {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cmd);
        if !self.shared.woken.swap(true, Ordering::AcqRel)
            && let Err(e) = self.shared.waker.wake()
        {
            log::error!("cannot wake I/O thread: {e}");
        }
    }
}

/// Routes a session's pipe notifications to its I/O thread.
pub(crate) struct SessionEvents {
    io: IoHandle,
    token: usize,
}

impl PipeEvents for SessionEvents {
    fn readable(&self, _id: PipeId) {
        self.io.post(IoCmd::PipeEvent(self.token));
    }

    fn writable(&self, _id: PipeId) {
        self.io.post(IoCmd::PipeEvent(self.token));
    }
}

/// Sends from the socket's thread straight into an idle connection, for
/// the socket types that never have more than one message in flight per
/// peer (REQ, REP): there is nothing to batch, and skipping the hand-off
/// to the I/O thread saves a thread wake-up per message, a large part of
/// a round trip's latency. Any other case (the I/O thread is busy with
/// the engine, output is pending, the handshake is not done) goes
/// through the pipe as usual.
pub(crate) struct DirectSend {
    pub engine: Arc<Mutex<Engine>>,
    pub io: IoHandle,
    pub token: usize,
}

impl DirectSend {
    /// Whether sockets of type `t` send directly.
    pub(crate) fn wanted(t: SocketType) -> bool {
        matches!(t, SocketType::Req | SocketType::Rep)
    }
}

impl DirectSink for DirectSend {
    fn try_send(&self, msg: Message) -> Result<(), Message> {
        // Never wait for the I/O thread: that is what the pipe is for.
        let Ok(mut engine) = self.engine.try_lock() else {
            return Err(msg);
        };
        let needs_drive = engine.send_direct(msg)?;
        drop(engine);
        if needs_drive {
            self.io.post(IoCmd::PipeEvent(self.token));
        }
        Ok(())
    }
}

/// Starts an I/O thread.
pub(crate) fn spawn(index: usize, spin: Duration) -> std::io::Result<(IoHandle, JoinHandle<()>)> {
    let poll = Poll::new()?;
    let waker = Waker::new(poll.registry(), WAKER)?;
    let handle = IoHandle {
        shared: Arc::new(Shared {
            waker,
            queue: Mutex::new(Vec::new()),
            woken: AtomicBool::new(false),
        }),
    };
    let mut thread = IoThread {
        poll,
        handle: handle.clone(),
        entries: Slab::new(),
        timers: BinaryHeap::new(),
        ready: Vec::new(),
        shutting_down: false,
        spin,
    };
    let join = std::thread::Builder::new()
        .name(format!("brokerless-io-{index}"))
        .spawn(move || thread.run())?;
    Ok((handle, join))
}

/// What a timer is for; it fires only if the session's generation is
/// still the one it was armed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    /// Retry accepting after an error such as running out of descriptors
    /// (readiness is edge-triggered, so no new event would come).
    Accept,
    Reconnect,
    Handshake,
    /// The engine's heartbeat deadlines (next PING, silence timeouts).
    Heartbeat,
    Linger,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: Instant,
    token: usize,
    generation: u64,
    kind: TimerKind,
}

// Sessions are most of the entries: boxing them would add an allocation
// and a listener-sized slot to every connection.
#[allow(clippy::large_enum_variant)]
enum Entry {
    Listener(Bound),
    Session(Session),
    Udp(UdpLink),
}

struct IoThread {
    poll: Poll,
    handle: IoHandle,
    entries: Slab<Entry>,
    timers: BinaryHeap<Reverse<Timer>>,
    /// Sessions whose engine yielded with work left, driven again after
    /// the next (non-blocking) poll.
    ready: Vec<usize>,
    shutting_down: bool,
    /// How long to keep polling without blocking before sleeping.
    spin: Duration,
}

impl IoThread {
    fn run(&mut self) {
        let mut events = Events::with_capacity(256);
        let mut commands = Vec::new();
        loop {
            if self.shutting_down && self.entries.is_empty() {
                log::debug!("I/O thread done");
                return;
            }
            let timeout = if self.ready.is_empty() {
                self.timers
                    .peek()
                    .map(|Reverse(t)| t.at.saturating_duration_since(Instant::now()))
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.wait(&mut events, timeout) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    log::error!("poll failed: {e}");
                }
                continue;
            }
            for event in events.iter() {
                if event.token() == WAKER {
                    continue;
                }
                let readable = event.is_readable() || event.is_read_closed() || event.is_error();
                let writable = event.is_writable() || event.is_write_closed() || event.is_error();
                self.on_ready(event.token().0, readable, writable);
            }
            // Commands are checked every turn: the waker's event may have
            // been coalesced with others.
            self.handle.shared.woken.store(false, Ordering::Release);
            std::mem::swap(
                &mut commands,
                &mut *self
                    .handle
                    .shared
                    .queue
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()),
            );
            for cmd in commands.drain(..) {
                self.on_command(cmd);
            }
            self.fire_timers();
            for token in std::mem::take(&mut self.ready) {
                self.drive_entry(token);
            }
        }
    }

    /// Polls for events: first without blocking for up to `spin`
    /// (yielding the CPU between polls), so that an event coming soon
    /// after the last one is taken without the cost of a wake-up; then
    /// blocking until `timeout`.
    fn wait(&mut self, events: &mut Events, timeout: Option<Duration>) -> std::io::Result<()> {
        let spin = match timeout {
            Some(t) => self.spin.min(t),
            None => self.spin,
        };
        if !spin.is_zero() {
            let until = Instant::now() + spin;
            loop {
                self.poll.poll(events, Some(Duration::ZERO))?;
                if !events.is_empty() || Instant::now() >= until {
                    break;
                }
                std::thread::yield_now();
            }
            if !events.is_empty() {
                return Ok(());
            }
        }
        let left = timeout.map(|t| t.saturating_sub(spin));
        self.poll.poll(events, left)
    }

    fn on_command(&mut self, cmd: IoCmd) {
        match cmd {
            IoCmd::Listen {
                listener,
                endpoint,
                socket,
                options,
            } => self.add_listener(listener, endpoint, socket, options),
            IoCmd::Connect {
                addrs,
                endpoint,
                socket,
                options,
                pipes,
                routing_id,
            } => {
                let entry = self.entries.vacant_entry();
                let token = entry.key();
                if let Some(pipes) = &pipes {
                    let events = Arc::new(SessionEvents {
                        io: self.handle.clone(),
                        token,
                    });
                    pipes.outbound.set_events(events.clone());
                    pipes.inbound.set_events(events);
                }
                entry.insert(Entry::Session(Session::connecting(
                    socket, options, addrs, endpoint, pipes, routing_id,
                )));
                self.start_connect(token);
            }
            IoCmd::SocketClosed { socket, linger } => self.socket_closed(socket, linger),
            IoCmd::Unbind {
                socket,
                endpoint,
                linger,
            } => {
                for token in self.endpoint_entries(socket, &endpoint, false) {
                    self.begin_close(token, linger);
                }
            }
            IoCmd::Disconnect { socket, endpoint } => {
                for token in self.endpoint_entries(socket, &endpoint, true) {
                    self.remove(token);
                }
            }
            IoCmd::Udp(link) => self.add_udp(link),
            IoCmd::PipeEvent(token) => self.drive_entry(token),
            IoCmd::AuthVerdict {
                token,
                generation,
                reply,
            } => self.auth_verdict(token, generation, reply),
            IoCmd::Shutdown => self.shutdown(),
        }
    }

    /// Drives a session or a udp link.
    fn drive_entry(&mut self, token: usize) {
        if matches!(self.entries.get(token), Some(Entry::Udp(_))) {
            self.drive_udp(token);
        } else {
            self.drive(token);
        }
    }

    fn add_listener(
        &mut self,
        mut listener: Listener,
        endpoint: String,
        socket: Arc<SocketShared>,
        options: Options,
    ) {
        if self.shutting_down {
            return;
        }
        let entry = self.entries.vacant_entry();
        if let Err(e) =
            self.poll
                .registry()
                .register(&mut listener, Token(entry.key()), Interest::READABLE)
        {
            log::error!("cannot register listener {endpoint}: {e}");
            return;
        }
        socket.emit(|| crate::MonitorEvent::Listening {
            endpoint: endpoint.clone(),
        });
        entry.insert(Entry::Listener(Bound {
            listener,
            endpoint,
            socket,
            options,
        }));
    }

    fn arm(&mut self, token: usize, generation: u64, kind: TimerKind, after: Duration) {
        // A delay too long to represent never comes.
        if let Some(at) = Instant::now().checked_add(after) {
            self.arm_at(token, generation, kind, at);
        }
    }

    fn arm_at(&mut self, token: usize, generation: u64, kind: TimerKind, at: Instant) {
        self.timers.push(Reverse(Timer {
            at,
            token,
            generation,
            kind,
        }));
        // Timers of ended connections stay queued until they would have
        // fired (a handshake timer: 30 s); under heavy connection churn
        // they are swept out once they outnumber the live entries.
        if self.timers.len() > 1024 && self.timers.len() > 4 * self.entries.len() {
            self.prune_timers();
        }
    }

    /// Drops the timers that can no longer fire: their entry is gone, or
    /// (for a session) belongs to an older generation. Linger deadlines
    /// hold across generations and are kept while their entry lives.
    fn prune_timers(&mut self) {
        let before = self.timers.len();
        let entries = &self.entries;
        self.timers.retain(|Reverse(t)| match entries.get(t.token) {
            None => false,
            Some(Entry::Session(s)) => t.kind == TimerKind::Linger || s.generation_is(t.generation),
            Some(_) => true,
        });
        log::trace!("pruned {} stale timers", before - self.timers.len());
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse(t)) = self.timers.peek() {
            if t.at > now {
                break;
            }
            let Some(Reverse(t)) = self.timers.pop() else {
                break;
            };
            self.on_timer(t);
        }
    }

    fn socket_closed(&mut self, socket: u64, linger: Option<Duration>) {
        let tokens: Vec<usize> = self
            .entries
            .iter()
            .filter(|(_, e)| match e {
                Entry::Listener(l) => l.socket.id == socket,
                Entry::Session(s) => s.socket.id == socket,
                Entry::Udp(u) => u.owner_id() == socket,
            })
            .map(|(k, _)| k)
            .collect();
        for token in tokens {
            self.begin_close(token, linger);
        }
    }

    fn shutdown(&mut self) {
        self.shutting_down = true;
        let tokens: Vec<usize> = self.entries.iter().map(|(k, _)| k).collect();
        for token in tokens {
            let linger = match &self.entries[token] {
                Entry::Listener(_) => None,
                Entry::Session(s) => s.options.linger,
                Entry::Udp(u) => u.linger(),
            };
            self.begin_close(token, linger);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Timers of entries that are gone are swept out under churn instead
    /// of piling up until they would have fired.
    #[test]
    fn stale_timers_do_not_pile_up() {
        let poll = Poll::new().unwrap();
        let waker = Waker::new(poll.registry(), WAKER).unwrap();
        let mut thread = IoThread {
            poll,
            handle: IoHandle {
                shared: Arc::new(Shared {
                    waker,
                    queue: Mutex::new(Vec::new()),
                    woken: AtomicBool::new(false),
                }),
            },
            entries: Slab::new(),
            timers: BinaryHeap::new(),
            ready: Vec::new(),
            shutting_down: false,
            spin: Duration::ZERO,
        };
        // 10,000 handshake timers of connections that have all ended.
        for token in 0..10_000 {
            thread.arm(token, 1, TimerKind::Handshake, Duration::from_secs(30));
        }
        assert!(
            thread.timers.len() <= 1025,
            "{} timers kept",
            thread.timers.len()
        );
    }
}
