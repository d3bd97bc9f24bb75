//! Listeners and sessions, and the I/O thread's handling of them.
//!
//! A session is one peer slot of a socket. A *connecting* session is made
//! by `connect`, owns its pipes for life and cycles
//! `Idle -> Connecting -> Active -> Idle ...` (reconnecting after each
//! loss). An *accepted* session is made by a listener, gets its pipes when
//! the handshake completes, and ends with its connection. A closing
//! session (socket closed, or context shut down) ends once everything
//! queued was written, or when its linger runs out.

use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mio::{Interest, Token};

use super::{DirectSend, Entry, IoThread, SessionEvents, TimerKind};
use crate::ProtocolError;
use crate::engine::{Engine, EngineError, EnginePipes, Progress};
use crate::options::Options;
use crate::pipe;
use crate::socket::{Command, MonitorEvent, Peer, SocketShared};
use crate::transport::{Listener, Remote, Stream};
use crate::zap;
use crate::zmtp::{AuthReply, AuthRequest, Config, HeartbeatConfig, PeerInfo};

/// Pause before accepting again after an accept error.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// A new session's first generation. Timers name a session by its slab
/// key and generation, and a timer outlives the session it was armed for
/// (it stays in the heap until due): if sessions all started from the
/// same generation, one that took over the key of a session that ended
/// would match that session's pending timers, and a new connection could
/// be dropped for a handshake timeout armed by an older one. So each
/// session draws its own range of 2^32 generations.
/// The longest pause between reconnects to a peer that refused our
/// credentials, when `reconnect_interval_max` does not say (the interval
/// doubles from `reconnect_interval` up to this).
const REFUSED_BACKOFF_MAX: Duration = Duration::from_secs(30);

fn first_generation() -> u64 {
    static SESSIONS: AtomicU64 = AtomicU64::new(0);
    SESSIONS.fetch_add(1, Ordering::Relaxed) << 32
}

/// A bound endpoint accepting connections.
pub(super) struct Bound {
    pub listener: Listener,
    pub endpoint: String,
    pub socket: Arc<SocketShared>,
    pub options: Options,
}

/// How a session came to be.
enum Origin {
    /// Made by `connect`: reconnects, round-robin over the addresses.
    /// With `immediate` its pipes live only while a connection does, and
    /// `routing_id` names the peer of each one to the socket.
    Connect {
        addrs: Vec<Remote>,
        next: usize,
        endpoint: String,
        routing_id: Option<bytes::Bytes>,
    },
    /// Made by a listener for one accepted connection.
    Accepted { endpoint: String },
}

/// The connection state of a session.
enum State {
    /// No connection; a reconnect timer may be armed.
    Idle,
    /// A non-blocking connect is in progress.
    Connecting(Stream),
    /// Connected; the engine runs the protocol. It is shared with the
    /// socket's thread for direct sends (REQ, REP; see `DirectSend`).
    Active(Arc<Mutex<Engine>>),
}

/// The engine, locked: uncontended except against a direct send, which
/// only ever tries the lock.
fn lock(cell: &Mutex<Engine>) -> MutexGuard<'_, Engine> {
    cell.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Connecting(_) => "connecting",
            State::Active(e) if lock(e).is_established() => "active",
            State::Active(_) => "handshaking",
        }
    }
}

/// One peer slot of a socket.
pub(super) struct Session {
    pub socket: Arc<SocketShared>,
    pub options: Options,
    origin: Origin,
    /// `Some` while connected: the remote address (TCP) or `None` (ipc).
    peer: Option<Option<SocketAddr>>,
    pipes: Option<EnginePipes>,
    state: State,
    /// Bumped on every state change; timers of older generations, or of
    /// other sessions, are void (see [`first_generation`]).
    generation: u64,
    /// `Some` once closing: the deadline, or `None` inside to wait forever.
    closing: Option<Option<Instant>>,
    /// When the armed heartbeat timer fires, if one is armed.
    heartbeat_at: Option<Instant>,
    /// The current reconnect backoff (with `reconnect_interval_max`, or
    /// after the peer refused our credentials).
    backoff: Option<Duration>,
    /// The peer refused our credentials last time: reconnects back off
    /// even without `reconnect_interval_max`.
    refused: bool,
}

impl Session {
    pub(super) fn connecting(
        socket: Arc<SocketShared>,
        options: Options,
        addrs: Vec<Remote>,
        endpoint: String,
        pipes: Option<EnginePipes>,
        routing_id: Option<bytes::Bytes>,
    ) -> Session {
        Session {
            socket,
            options,
            origin: Origin::Connect {
                addrs,
                next: 0,
                endpoint,
                routing_id,
            },
            peer: None,
            pipes,
            state: State::Idle,
            generation: first_generation(),
            closing: None,
            heartbeat_at: None,
            backoff: None,
            refused: false,
        }
    }

    /// The endpoint monitor events name: the connected or bound one.
    fn endpoint(&self) -> &str {
        match &self.origin {
            Origin::Connect { endpoint, .. } | Origin::Accepted { endpoint } => endpoint,
        }
    }

    fn describe(&self) -> String {
        match (&self.origin, self.peer) {
            (Origin::Accepted { endpoint }, Some(Some(peer))) => {
                format!("socket {} on {endpoint} from {peer}", self.socket.id)
            }
            _ => format!("socket {} to {}", self.socket.id, self.endpoint()),
        }
    }

    /// Reports a monitor event about the current connection.
    fn emit(&self, event: impl FnOnce(String, Option<SocketAddr>) -> MonitorEvent) {
        if let Some(peer) = self.peer {
            self.socket
                .emit(|| event(self.endpoint().to_string(), peer));
        }
    }

    /// Whether timers armed in `generation` are still live.
    pub(super) fn generation_is(&self, generation: u64) -> bool {
        self.generation == generation
    }

    /// The one place state changes: bumps the generation and logs.
    fn set_state(&mut self, state: State) -> State {
        log::trace!(
            "{}: {} -> {}",
            self.describe(),
            self.state.name(),
            state.name()
        );
        self.generation = self.generation.wrapping_add(1);
        self.heartbeat_at = None;
        std::mem::replace(&mut self.state, state)
    }

    fn zmtp_config(&self) -> Config {
        Config {
            socket_type: self.socket.socket_type,
            routing_id: self.options.routing_id.clone(),
            max_msg_size: self.options.max_msg_size,
            max_frames: self.options.max_frames,
            heartbeat: self
                .options
                .heartbeat_interval
                .map(|interval| HeartbeatConfig {
                    interval: Some(interval),
                    timeout: self.options.heartbeat_timeout,
                    ttl: self.options.heartbeat_ttl,
                }),
            mechanism: (*self.options.mechanism).clone(),
            zap: !self.options.zap_domain.is_empty(),
        }
    }

    /// The pause before the next connect attempt: the reconnect interval,
    /// or with `reconnect_interval_max` an interval that doubles after
    /// each failure up to that maximum, plus up to a tenth of it at random
    /// so that many clients do not retry in step. A handshake resets it.
    fn next_retry(&mut self) -> Option<Duration> {
        let base = self.options.reconnect_interval?;
        let max = match self.options.reconnect_interval_max.filter(|m| *m > base) {
            Some(max) => max,
            // A server that refuses our credentials will most likely
            // refuse them again: no reconnect storm against it.
            None if self.refused => REFUSED_BACKOFF_MAX.max(base),
            None => return Some(base),
        };
        let current = self.backoff.unwrap_or(base).min(max);
        self.backoff = Some((current * 2).min(max));
        let tenth = (current.as_nanos() / 10).max(1);
        let jitter = RandomState::new().hash_one((self.generation, Instant::now())) as u128 % tenth;
        Some(current + Duration::from_nanos(jitter as u64))
    }

    /// Whether a closing session has nothing left to send.
    fn is_flushed(&mut self) -> bool {
        match &mut self.state {
            State::Active(engine) => lock(engine).is_flushed(self.pipes.as_mut()),
            _ => self
                .pipes
                .as_mut()
                .is_none_or(|p| !p.outbound.check_readable()),
        }
    }
}

impl IoThread {
    fn session(&mut self, token: usize) -> Option<&mut Session> {
        match self.entries.get_mut(token) {
            Some(Entry::Session(s)) => Some(s),
            _ => None,
        }
    }

    /// The entries of `socket` for `endpoint`: its connecting sessions
    /// (`connected`), or its listener and the sessions it accepted.
    pub(super) fn endpoint_entries(
        &self,
        socket: u64,
        endpoint: &str,
        connected: bool,
    ) -> Vec<usize> {
        self.entries
            .iter()
            .filter(|(_, e)| match e {
                Entry::Listener(l) => !connected && l.socket.id == socket && l.endpoint == endpoint,
                Entry::Session(s) => {
                    s.socket.id == socket
                        && s.endpoint() == endpoint
                        && connected == matches!(s.origin, Origin::Connect { .. })
                }
                Entry::Udp(u) => u.is_endpoint(socket, endpoint, connected),
            })
            .map(|(k, _)| k)
            .collect()
    }

    /// Readiness from the poller.
    pub(super) fn on_ready(&mut self, token: usize, readable: bool, writable: bool) {
        match self.entries.get_mut(token) {
            Some(Entry::Listener(_)) => self.accept(token),
            Some(Entry::Session(s)) => match &mut s.state {
                State::Connecting(_) => self.finish_connect(token),
                State::Active(engine) => {
                    lock(engine).ready(readable, writable);
                    self.drive(token);
                }
                State::Idle => {}
            },
            Some(Entry::Udp(_)) => self.drive_udp(token),
            None => {}
        }
    }

    fn accept(&mut self, token: usize) {
        loop {
            let Some(Entry::Listener(l)) = self.entries.get_mut(token) else {
                return;
            };
            let (stream, peer) = match l.listener.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!("accept on {} failed: {e}; retrying shortly", l.endpoint);
                    l.socket.emit(|| MonitorEvent::AcceptFailed {
                        endpoint: l.endpoint.clone(),
                        error: e.to_string(),
                    });
                    self.arm(token, 0, TimerKind::Accept, ACCEPT_RETRY);
                    return;
                }
            };
            log::debug!("{}: accepted {peer:?}", l.endpoint);
            l.socket.emit(|| MonitorEvent::Accepted {
                endpoint: l.endpoint.clone(),
                peer,
            });
            let session = Session {
                socket: l.socket.clone(),
                options: l.options.clone(),
                origin: Origin::Accepted {
                    endpoint: l.endpoint.clone(),
                },
                peer: Some(peer),
                pipes: None,
                state: State::Idle,
                generation: first_generation(),
                closing: None,
                heartbeat_at: None,
                backoff: None,
                refused: false,
            };
            let key = self.entries.insert(Entry::Session(session));
            self.activate(key, stream);
        }
    }

    /// Registers a connected stream and starts its engine.
    fn activate(&mut self, token: usize, mut stream: Stream) {
        if let Some(Entry::Session(s)) = self.entries.get(token)
            && let Err(e) = stream.set_keepalive(&s.options.tcp_keepalive)
        {
            log::warn!("{}: cannot set TCP keepalive: {e}", s.describe());
        }
        let interest = Interest::READABLE | Interest::WRITABLE;
        let registry = self.poll.registry();
        let registered = match self.entries.get(token) {
            // A connecting stream is registered already.
            Some(Entry::Session(s)) if matches!(s.origin, Origin::Connect { .. }) => {
                registry.reregister(&mut stream, Token(token), interest)
            }
            _ => registry.register(&mut stream, Token(token), interest),
        };
        if let Err(e) = registered {
            log::warn!("cannot register stream: {e}");
            self.connection_lost(token);
            return;
        }
        let Some(s) = self.session(token) else {
            return;
        };
        let engine = Engine::new(stream, s.zmtp_config());
        let handshake = s.options.handshake_interval;
        s.set_state(State::Active(Arc::new(Mutex::new(engine))));
        let generation = s.generation;
        if let Some(after) = handshake {
            self.arm(token, generation, TimerKind::Handshake, after);
        }
        self.drive(token);
    }

    /// Starts a non-blocking connect to the session's next address.
    pub(super) fn start_connect(&mut self, token: usize) {
        let Some(s) = self.session(token) else {
            return;
        };
        let Origin::Connect { addrs, next, .. } = &mut s.origin else {
            return;
        };
        let addr = addrs[*next % addrs.len()].clone();
        *next = next.wrapping_add(1);
        match addr.connect() {
            Ok(mut stream) => {
                let interest = Interest::READABLE | Interest::WRITABLE;
                if let Err(e) = self
                    .poll
                    .registry()
                    .register(&mut stream, Token(token), interest)
                {
                    log::warn!("cannot register connecting stream: {e}");
                    self.connection_lost(token);
                    return;
                }
                if let Some(s) = self.session(token) {
                    s.set_state(State::Connecting(stream));
                    s.socket.emit(|| MonitorEvent::ConnectDelayed {
                        endpoint: s.endpoint().to_string(),
                    });
                }
            }
            Err(e) => {
                log::debug!("connect to {addr:?} failed at once: {e}");
                self.connection_lost(token);
            }
        }
    }

    fn finish_connect(&mut self, token: usize) {
        let Some(s) = self.session(token) else {
            return;
        };
        let State::Connecting(stream) = &mut s.state else {
            return;
        };
        // mio: a connect is done when the stream is writable and has a
        // peer address; an error is reported by take_error.
        let connected = match stream.take_error() {
            Ok(Some(e)) | Err(e) => Err(e),
            Ok(None) => match stream.peer_addr() {
                Ok(peer) => Ok(peer),
                Err(e) if e.kind() == std::io::ErrorKind::NotConnected => return,
                Err(e) => Err(e),
            },
        };
        let peer = match connected {
            Ok(peer) => peer,
            Err(e) => {
                log::debug!("{}: connect failed: {e}", s.describe());
                self.connection_lost(token);
                return;
            }
        };
        s.peer = Some(peer);
        log::debug!("{}: connected", s.describe());
        s.emit(|endpoint, peer| MonitorEvent::Connected { endpoint, peer });
        let State::Connecting(stream) = s.set_state(State::Idle) else {
            return;
        };
        self.activate(token, stream);
    }

    /// Moves data for a session and acts on what its engine reports.
    pub(super) fn drive(&mut self, token: usize) {
        loop {
            let Some(s) = self.session(token) else {
                return;
            };
            let State::Active(engine) = &mut s.state else {
                // Not connected: a closing session may be done now.
                if s.closing.is_some() && s.is_flushed() {
                    self.remove(token);
                }
                return;
            };
            let progress = lock(engine).drive(s.pipes.as_mut());
            match progress {
                Ok(Progress::Idle) => {
                    if s.closing.is_some() && s.is_flushed() {
                        self.remove(token);
                    } else {
                        self.arm_heartbeat(token);
                    }
                    return;
                }
                Ok(Progress::Established(info)) => self.established(token, info),
                Ok(Progress::Authenticate(request)) => {
                    if !self.authenticate(token, request) {
                        return;
                    }
                }
                Ok(Progress::Yielded) => {
                    self.arm_heartbeat(token);
                    self.ready.push(token);
                    return;
                }
                Ok(Progress::Finished) => {
                    log::debug!("{}: socket let go, output flushed", s.describe());
                    self.remove(token);
                    return;
                }
                Err(e) => {
                    let error = match e {
                        EngineError::Protocol(p) => {
                            log::warn!("{}: closing connection: protocol error: {p}", s.describe());
                            Some(p)
                        }
                        other => {
                            log::debug!("{}: connection lost: {other}", s.describe());
                            None
                        }
                    };
                    self.connection_failed(token, error);
                    return;
                }
            }
        }
    }

    /// The handshake asks who may come in. With a ZAP handler bound in the
    /// context, the question goes to it and the verdict comes later
    /// ([`IoThread::auth_verdict`]); returns false then. Without one the
    /// verdict is [`zap::without_handler`]'s, applied at once; returns
    /// whether the engine should be driven on.
    fn authenticate(&mut self, token: usize, request: AuthRequest) -> bool {
        let io = self.handle.clone();
        let Some(s) = self.session(token) else {
            return false;
        };
        let ctx = s
            .socket
            .ctx
            .upgrade()
            .filter(|ctx| ctx.inproc_registry().is_bound(zap::ZAP_NAME));
        let reply = match ctx {
            Some(ctx) => {
                let query = zap::ZapQuery {
                    domain: s.options.zap_domain.clone(),
                    address: match s.peer {
                        Some(Some(addr)) => addr.ip().to_string(),
                        _ => String::new(),
                    },
                    identity: s.options.routing_id.clone(),
                    request,
                };
                let reply_to = zap::ReplyTo {
                    io,
                    token,
                    generation: s.generation,
                };
                match zap::ZapClient::get(&ctx).and_then(|client| client.ask(query, reply_to)) {
                    Ok(()) => return false,
                    Err(e) => {
                        log::warn!("{}: cannot ask the ZAP handler: {e}", s.describe());
                        AuthReply::deny(500, "ZAP handler unreachable")
                    }
                }
            }
            None => {
                let reply = zap::without_handler(&request);
                if !reply.is_success() {
                    log::warn!(
                        "{}: {} client refused: no authenticator is bound at {}",
                        s.describe(),
                        request.mechanism,
                        zap::ZAP_ENDPOINT
                    );
                }
                reply
            }
        };
        self.apply_verdict(token, reply)
    }

    /// A verdict from the ZAP handler; a session that moved on since it
    /// asked (another generation) ignores it.
    pub(super) fn auth_verdict(&mut self, token: usize, generation: u64, reply: AuthReply) {
        match self.session(token) {
            Some(s) if s.generation == generation => {}
            _ => return,
        }
        if self.apply_verdict(token, reply) {
            self.drive(token);
        }
    }

    /// Hands a verdict to the engine; returns whether to drive it on.
    fn apply_verdict(&mut self, token: usize, reply: AuthReply) -> bool {
        let Some(s) = self.session(token) else {
            return false;
        };
        let State::Active(engine) = &s.state else {
            return false;
        };
        let result = lock(engine).handle_auth(reply);
        match result {
            Ok(()) => true,
            Err(e) => {
                let error = match e {
                    EngineError::Protocol(p) => {
                        log::info!("{}: peer refused: {p}", s.describe());
                        Some(p)
                    }
                    _ => None,
                };
                self.connection_failed(token, error);
                false
            }
        }
    }

    /// Arms a timer for the engine's next heartbeat deadline, unless one
    /// at or before it is armed already.
    fn arm_heartbeat(&mut self, token: usize) {
        let Some(s) = self.session(token) else {
            return;
        };
        let State::Active(engine) = &s.state else {
            return;
        };
        let Some(at) = lock(engine).poll_timeout() else {
            return;
        };
        if s.heartbeat_at.is_some_and(|armed| armed <= at) {
            return;
        }
        s.heartbeat_at = Some(at);
        let generation = s.generation;
        self.arm_at(token, generation, TimerKind::Heartbeat, at);
    }

    /// The handshake completed. An accepted connection gets its pipes
    /// now, and the socket its side of them.
    fn established(&mut self, token: usize, info: PeerInfo) {
        let io = self.handle.clone();
        let Some(s) = self.session(token) else {
            return;
        };
        log::debug!(
            "{}: handshake done with a {}",
            s.describe(),
            info.socket_type
        );
        s.generation = s.generation.wrapping_add(1); // voids the handshake timer
        s.heartbeat_at = None;
        s.backoff = None;
        s.refused = false;
        let direct = match &s.state {
            State::Active(engine) => {
                lock(engine).send_subscriptions(&s.socket.subscriptions);
                DirectSend::wanted(s.socket.socket_type).then(|| {
                    Arc::new(DirectSend {
                        engine: engine.clone(),
                        io: io.clone(),
                        token,
                    })
                })
            }
            _ => None,
        };
        // The socket hears of the peer before the monitor does, so that a
        // call made after seeing the event finds the peer in place.
        if let Some(p) = &s.pipes {
            let id = p.outbound.id();
            p.outbound
                .set_direct(direct.map(|d| d as Arc<dyn pipe::DirectSink>));
            s.socket.mailbox.post(Command::Handshaken {
                id,
                info,
                inproc: false,
            });
            s.emit(|endpoint, peer| MonitorEvent::HandshakeSucceeded { endpoint, peer });
            return;
        }
        let id = pipe::next_pipe_id();
        let (out_w, out_r) = pipe::pipe(id, s.options.send_hwm);
        let (in_w, in_r) = pipe::pipe(id, s.options.recv_hwm);
        out_w.set_conflate(s.options.conflate_out(s.socket.socket_type));
        in_w.set_conflate(s.options.conflate_in(s.socket.socket_type));
        let events = Arc::new(SessionEvents { io, token });
        out_r.set_events(events.clone());
        in_w.set_events(events);
        out_r.set_direct(direct.map(|d| d as Arc<dyn pipe::DirectSink>));
        s.pipes = Some(EnginePipes {
            outbound: out_r,
            inbound: in_w,
        });
        let routing_id = match &s.origin {
            Origin::Connect { routing_id, .. } => routing_id.clone(),
            Origin::Accepted { .. } => None,
        };
        s.socket.mailbox.post(Command::Attach(Peer {
            id,
            writer: out_w,
            reader: in_r,
            info: Some(info),
            routing_id,
            datagram_max: None,
        }));
        s.emit(|endpoint, peer| MonitorEvent::HandshakeSucceeded { endpoint, peer });
    }

    /// A running connection ended: reports it as a failed handshake or a
    /// disconnection, then handles the loss.
    fn connection_failed(&mut self, token: usize, error: Option<ProtocolError>) {
        let Some(s) = self.session(token) else {
            return;
        };
        let established = matches!(&s.state, State::Active(e) if lock(e).is_established());
        if s.options.immediate && matches!(s.origin, Origin::Connect { .. }) {
            // The peer leaves the socket before the monitor hears of it,
            // so a send made after the event cannot pick it.
            s.pipes = None;
        }
        if matches!(error, Some(ProtocolError::RefusedByPeer { .. })) {
            s.refused = true;
        }
        match error {
            Some(error) if !established => s.emit(|endpoint, peer| MonitorEvent::HandshakeFailed {
                endpoint,
                peer,
                error,
            }),
            error => s.emit(|endpoint, peer| MonitorEvent::Disconnected {
                endpoint,
                peer,
                error,
            }),
        }
        self.connection_lost(token);
    }

    /// The connection is gone (or never came): an accepted session ends,
    /// a connecting one waits and tries again.
    fn connection_lost(&mut self, token: usize) {
        let Some(s) = self.session(token) else {
            return;
        };
        s.peer = None;
        let old = s.set_state(State::Idle);
        if let Some(p) = &s.pipes {
            p.outbound.set_direct(None);
        }
        if s.options.immediate && matches!(s.origin, Origin::Connect { .. }) {
            // The peer leaves the socket with its connection; what was
            // queued for it goes too.
            s.pipes = None;
        }
        let generation = s.generation;
        let retry = s.next_retry();
        let accepted = matches!(s.origin, Origin::Accepted { .. });
        let closing_done = s.closing.is_some() && s.is_flushed();
        if !accepted
            && !closing_done
            && let Some(after) = retry
        {
            s.socket.emit(|| MonitorEvent::ConnectRetried {
                endpoint: s.endpoint().to_string(),
                interval: after,
            });
        }
        self.deregister(old);
        if accepted || closing_done {
            self.remove(token);
        } else if let Some(after) = retry {
            self.arm(token, generation, TimerKind::Reconnect, after);
        }
    }

    fn deregister(&mut self, state: State) {
        let registry = self.poll.registry();
        let result = match state {
            State::Idle => Ok(()),
            State::Connecting(mut stream) => registry.deregister(&mut stream),
            State::Active(engine) => {
                let mut engine = lock(&engine);
                engine.retire();
                registry.deregister(engine.stream_mut())
            }
        };
        if let Err(e) = result {
            log::debug!("deregister: {e}");
        }
    }

    /// Ends a session or listener; dropping its pipes tells the socket.
    pub(super) fn remove(&mut self, token: usize) {
        match self.entries.try_remove(token) {
            Some(Entry::Session(s)) => {
                log::trace!("{}: removed", s.describe());
                // A connection still up is closed by us now.
                s.emit(|endpoint, peer| MonitorEvent::Disconnected {
                    endpoint,
                    peer,
                    error: None,
                });
                self.deregister(s.state);
            }
            Some(Entry::Listener(mut l)) => {
                if let Err(e) = self.poll.registry().deregister(&mut l.listener) {
                    log::debug!("deregister listener: {e}");
                }
                // Closed is reported once the port is free again.
                let Bound {
                    listener,
                    endpoint,
                    socket,
                    ..
                } = l;
                drop(listener);
                log::debug!("{endpoint}: listener closed");
                socket.emit(|| MonitorEvent::Closed { endpoint });
            }
            Some(Entry::Udp(link)) => self.drop_udp(link),
            None => {}
        }
    }

    /// Starts closing an entry: listeners go at once, sessions flush for
    /// up to `linger`.
    pub(super) fn begin_close(&mut self, token: usize, linger: Option<Duration>) {
        if matches!(self.entries.get(token), Some(Entry::Udp(_))) {
            self.close_udp(token, linger);
            return;
        }
        let Some(s) = self.session(token) else {
            self.remove(token);
            return;
        };
        if s.closing.is_some() {
            return;
        }
        if linger == Some(Duration::ZERO) {
            self.remove(token);
            return;
        }
        s.closing = Some(linger.and_then(|l| Instant::now().checked_add(l)));
        let generation = s.generation;
        if let Some(after) = linger {
            self.arm(token, generation, TimerKind::Linger, after);
        }
        self.drive(token);
    }

    pub(super) fn on_timer(&mut self, t: super::Timer) {
        if matches!(self.entries.get(t.token), Some(Entry::Udp(_))) {
            if t.kind == TimerKind::Linger {
                self.udp_linger_expired(t.token);
            }
            return;
        }
        if t.kind == TimerKind::Accept {
            if matches!(self.entries.get(t.token), Some(Entry::Listener(_))) {
                self.accept(t.token);
            }
            return;
        }
        let Some(s) = self.session(t.token) else {
            return;
        };
        match t.kind {
            // Linger deadlines hold across state changes.
            TimerKind::Linger => {
                if s.closing.flatten().is_some_and(|d| d <= Instant::now()) {
                    log::debug!("{}: linger expired, dropping output", s.describe());
                    self.remove(t.token);
                }
            }
            _ if t.generation != s.generation => {}
            TimerKind::Accept => {}
            TimerKind::Heartbeat => {
                if s.heartbeat_at.is_some_and(|at| at <= t.at) {
                    s.heartbeat_at = None;
                }
                // The drive ticks the heartbeat: a PING goes out, or a
                // silent peer fails the connection; then it re-arms.
                self.drive(t.token);
            }
            TimerKind::Reconnect => {
                if matches!(s.state, State::Idle) {
                    self.start_connect(t.token);
                }
            }
            TimerKind::Handshake => {
                if matches!(&s.state, State::Active(e) if !lock(e).is_established()) {
                    let error = ProtocolError::HandshakeTimeout;
                    log::warn!("{}: closing connection: {error}", s.describe());
                    self.connection_failed(t.token, Some(error));
                }
            }
        }
    }
}
