//! [`Socket`]: the user's handle, and the per-type routing rules behind it.
//!
//! Ownership: the user thread owns the socket's side of every pipe (inside
//! the [`Pattern`]); the I/O thread owns the engine side. They meet only in
//! the pipes and the [`Mailbox`]. The socket is `Send` but not `Sync`: its
//! per-call state is a `RefCell`, borrowed for one call and never across
//! a sleep, and only the owning thread can wait on its mailbox. Sharing
//! between threads goes through [`Socket::split`] (`split.rs`), which puts
//! the socket behind a mutex that only those who split pay for.

mod bus;
mod dealer;
mod dish;
mod future;
mod mailbox;
mod monitor;
mod options;
mod pair;
mod pull;
mod push;
mod radio;
mod rep;
mod req;
mod router;
mod security;
mod split;
mod subscribe;
mod xpub;
mod xsub;

use std::cell::{RefCell, RefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use bus::{BusPeer, relay};
pub use future::{RecvFuture, SendFuture};
pub(crate) use mailbox::{Command, Mailbox, Peer, Watcher};
pub use monitor::{Monitor, MonitorEvent};
pub use split::{ReuniteError, SocketReceiver, SocketSender, SplitRecvFuture, SplitSendFuture};

use crate::context::ContextInner;
use crate::io::{IoCmd, IoHandle};
use crate::options::Options;
use crate::pipe::{self, PipeId};
use crate::routing::trie::CountedTrie;
use crate::transport::Endpoint;
use crate::zmtp::PeerInfo;
use crate::{Error, Message, Result, SocketType};

/// The routing rules of one socket type, over its peers' pipes.
pub(crate) trait Pattern: Send {
    /// A peer was connected (or, for a connecting socket, its queue was
    /// created).
    fn attach(&mut self, peer: Peer, options: &Options);
    /// The peer of pipes attached at `connect` completed a handshake
    /// (`inproc`: an inproc peer was bound).
    fn handshaken(&mut self, _id: PipeId, _info: PeerInfo, _inproc: bool, _options: &Options) {}
    /// An inbound pipe reported data or closure.
    fn readable(&mut self, id: PipeId, options: &Options);
    /// An outbound pipe reported room or closure.
    fn writable(&mut self, id: PipeId, options: &Options);
    /// Sends a whole message, or hands it back when it must wait.
    fn send(&mut self, msg: Message, options: &Options) -> Result<Result<(), Message>>;
    /// Receives a whole message, or `None` when none is ready.
    fn recv(&mut self, options: &Options) -> Result<Option<Message>>;
    /// Whether a `send` would complete now (a poller's "writable"): a
    /// peer has room, or the type never waits (it drops instead).
    fn can_send(&mut self, _options: &Options) -> bool {
        false
    }
    /// Adds (`true`) or cancels a subscription (SUB).
    fn subscribe(&mut self, _topic: &[u8], _subscribe: bool) -> Result<()> {
        Err(Error::NotSupported(
            "only SUB sockets have subscriptions".into(),
        ))
    }
    /// Joins (`true`) or leaves a group (DISH).
    fn join(&mut self, _group: &[u8], _join: bool) -> Result<()> {
        Err(Error::NotSupported("only DISH sockets join groups".into()))
    }
    /// How many peers have at least one subscription (PUB).
    fn subscribers(&self) -> Option<usize> {
        None
    }
    /// BUS: the peers and their drops.
    fn bus_peers(&self) -> Option<Vec<bus::BusPeer>> {
        None
    }
    /// Messages dropped because a peer's queue was full (PUB).
    fn dropped(&self) -> u64 {
        0
    }
}

fn new_pattern(t: SocketType, shared: &Arc<SocketShared>) -> Result<Box<dyn Pattern>> {
    match t {
        SocketType::Push => Ok(Box::new(push::Push::default())),
        SocketType::Pull => Ok(Box::new(pull::Pull::default())),
        SocketType::Dealer => Ok(Box::new(dealer::Dealer::default())),
        SocketType::Pair => Ok(Box::new(pair::Pair::default())),
        SocketType::Req => Ok(Box::new(req::Req::new())),
        SocketType::Rep => Ok(Box::new(rep::Rep::default())),
        SocketType::Router => Ok(Box::new(router::Router::new())),
        SocketType::Pub => Ok(Box::new(xpub::XPub::new(false))),
        SocketType::XPub => Ok(Box::new(xpub::XPub::new(true))),
        SocketType::XSub => Ok(Box::new(xsub::XSub::new(shared.clone()))),
        SocketType::Sub => Ok(Box::new(subscribe::Sub::new(shared.clone()))),
        SocketType::Radio => Ok(Box::new(radio::Radio::default())),
        SocketType::Bus => Ok(Box::new(bus::Bus::new())),
        SocketType::Dish => Ok(Box::new(dish::Dish::new(shared.clone()))),
    }
}

static NEXT_SOCKET_ID: AtomicU64 = AtomicU64::new(1);

/// What the I/O thread knows of a socket.
pub(crate) struct SocketShared {
    /// Unique within the process.
    pub id: u64,
    /// The socket's type, announced in READY.
    pub socket_type: SocketType,
    /// Where new peers and pipe events go.
    pub mailbox: Arc<Mailbox>,
    /// Where monitor events go, if someone watches.
    monitor: Mutex<Option<Arc<monitor::MonitorQueue>>>,
    /// SUB: the subscriptions, which the I/O thread sends in full on
    /// every (re)connection; the socket sends only changes after that.
    pub subscriptions: Mutex<CountedTrie>,
    /// The context, for its authenticator (weak: the context holds the
    /// I/O threads, which hold this).
    pub ctx: std::sync::Weak<ContextInner>,
}

impl Drop for SocketShared {
    /// The socket and every listener and session it had are gone: no
    /// event can follow.
    fn drop(&mut self) {
        if let Some(q) = self
            .monitor
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            q.stop();
        }
    }
}

impl SocketShared {
    /// Reports an event to the monitor, if there is one; the event is
    /// built only then.
    pub(crate) fn emit(&self, event: impl FnOnce() -> MonitorEvent) {
        let queue = self
            .monitor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(q) = queue {
            q.push(event());
        }
    }
}

struct State {
    options: Options,
    pattern: Box<dyn Pattern>,
    last_endpoint: Option<String>,
    /// Resolved endpoints of live binds, for `unbind`.
    bound: Vec<String>,
    /// Endpoints of live connects, for `disconnect`.
    connected: Vec<String>,
    /// The pipes of inproc connects, which `disconnect` cuts.
    inproc_links: Vec<(String, PipeId, [pipe::PipeCutter; 2])>,
    commands: Vec<Command>,
    /// A message taken ahead by a readiness check, returned by the next
    /// receive.
    prefetched: Option<Message>,
}

/// A messaging socket of one [`SocketType`], made by
/// [`Context::socket`](crate::Context::socket).
///
/// Bind or connect it to endpoints (`tcp://host:port`), then send and
/// receive whole [`Message`]s. Dropping the socket closes it; queued
/// output is still flushed in the background for up to its
/// [`linger`](Socket::set_linger).
///
/// # Threads
///
/// A socket is `Send` but not `Sync`: it can be moved to another thread
/// (or task), but used by one at a time, as libzmq asks of its sockets.
/// Being `!Sync` lets every call borrow the socket's state without a
/// lock, which measured 11-14% fewer instructions per message and about
/// 13% more inproc throughput than a `Mutex` (issue #8). To send from one
/// thread while another receives, [`split`](Socket::split) it into a
/// [`SocketSender`] and a [`SocketReceiver`], each `Send + Sync`; to
/// serve several sockets from one thread, use a [`Poller`](crate::Poller).
///
/// ```compile_fail,E0277
/// // Not Sync: a socket cannot be shared by reference between threads.
/// fn shared<T: Sync>(_: &T) {}
/// let ctx = brokerless::Context::new();
/// shared(&ctx.socket(brokerless::SocketType::Pair)?);
/// # Ok::<(), brokerless::Error>(())
/// ```
///
/// ```
/// // Send: it can be moved to the thread that uses it.
/// use brokerless::{Context, SocketType};
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// pull.bind("inproc://moved")?;
/// let push = ctx.socket(SocketType::Push)?;
/// push.connect("inproc://moved")?;
/// let worker = std::thread::spawn(move || pull.recv());
/// push.send("to the thread that owns the PULL")?;
/// assert_eq!(&worker.join().unwrap()?[0], b"to the thread that owns the PULL");
/// # Ok::<(), brokerless::Error>(())
/// ```
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use brokerless::{Context, Error, SocketType};
///
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// pull.set_recv_timeout(Some(Duration::from_millis(10)))?;
/// pull.bind("tcp://127.0.0.1:*")?;
/// let endpoint = pull.last_endpoint().unwrap(); // the port the system chose
/// assert!(matches!(pull.recv(), Err(Error::Timeout)));
///
/// let push = ctx.socket(SocketType::Push)?;
/// push.connect(&endpoint)?;
/// push.send(vec!["header", "body"].into_iter().collect::<brokerless::Message>())?;
/// pull.set_recv_timeout(None)?;
/// let msg = pull.recv()?;
/// assert_eq!((&msg[0], &msg[1]), (&b"header"[..], &b"body"[..]));
/// # Ok::<(), brokerless::Error>(())
/// ```
pub struct Socket {
    ctx: Arc<ContextInner>,
    io: IoHandle,
    shared: Arc<SocketShared>,
    state: RefCell<State>,
}

impl Socket {
    pub(crate) fn new(ctx: Arc<ContextInner>, socket_type: SocketType) -> Result<Socket> {
        let shared = Arc::new(SocketShared {
            id: NEXT_SOCKET_ID.fetch_add(1, Ordering::Relaxed),
            socket_type,
            mailbox: Arc::new(Mailbox::new()),
            monitor: Mutex::new(None),
            subscriptions: Mutex::new(CountedTrie::default()),
            ctx: Arc::downgrade(&ctx),
        });
        let pattern = new_pattern(socket_type, &shared)?;
        let mut options = Options::default();
        if matches!(
            socket_type,
            SocketType::Sub | SocketType::XSub | SocketType::Dish
        ) {
            // As libzmq: queued subscriptions are not worth waiting for.
            options.linger = Some(Duration::ZERO);
        }
        let io = ctx.pick_io()?;
        ctx.register(&shared.mailbox);
        Ok(Socket {
            ctx,
            io,
            shared,
            state: RefCell::new(State {
                options,
                pattern,
                last_endpoint: None,
                bound: Vec::new(),
                connected: Vec::new(),
                inproc_links: Vec::new(),
                commands: Vec::new(),
                prefetched: None,
            }),
        })
    }

    /// The socket's state, for one call. The socket is `!Sync`, so only
    /// the thread that owns it gets here, and no method holds the state
    /// while it calls another that takes it (nor while it sleeps): the
    /// borrow cannot fail.
    fn lock(&self) -> Result<RefMut<'_, State>> {
        if self.ctx.is_terminated() {
            return Err(Error::Terminated);
        }
        Ok(self.state.borrow_mut())
    }

    /// The socket's type.
    pub fn socket_type(&self) -> SocketType {
        self.shared.socket_type
    }

    /// Accepts connections on `endpoint`, such as `tcp://127.0.0.1:5555`,
    /// `tcp://*:5555` (every interface), `tcp://[::1]:0` or
    /// `tcp://127.0.0.1:*` (a port chosen by the system: read it back with
    /// [`last_endpoint`](Socket::last_endpoint)), or `ipc:///path/to/file`
    /// (a stale socket file is replaced; the file is removed on unbind or
    /// close) or `ipc://@name` (Linux abstract namespace).
    ///
    /// Errors: [`Error::InvalidEndpoint`] for a malformed address,
    /// [`Error::Io`] when the address is in use or not local,
    /// [`Error::NotSupported`] for a transport not built yet.
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        let result = self.bind_inner(endpoint);
        if let Err(e) = &result {
            self.shared.emit(|| MonitorEvent::BindFailed {
                endpoint: endpoint.to_string(),
                error: e.to_string(),
            });
        }
        result
    }

    fn bind_inner(&self, endpoint: &str) -> Result<()> {
        let mut st = self.lock()?;
        let parsed = Endpoint::parse(endpoint)?;
        if let Endpoint::Inproc(name) = &parsed {
            let side = self.inproc_side(&st);
            self.ctx.inproc_registry().bind(name, side)?;
            st.bound.push(endpoint.to_string());
            st.last_endpoint = Some(endpoint.to_string());
            return Ok(());
        }
        if let Endpoint::Udp(ep) = &parsed {
            // DISH only: no listener, one peer fed with datagrams.
            let (link, peer) = crate::io::UdpLink::bind(ep, &self.shared, &st.options)?;
            let resolved = link.endpoint().to_string();
            log::debug!("socket {} bound to {resolved}", self.shared.id);
            self.attach(&mut st, peer);
            self.io.post(IoCmd::Udp(link));
            st.bound.push(resolved.clone());
            st.last_endpoint = Some(resolved);
            return Ok(());
        }
        let (listener, resolved) = parsed.listen(st.options.backlog, st.options.ipv6)?;
        log::debug!("socket {} bound to {resolved}", self.shared.id);
        self.io.post(IoCmd::Listen {
            listener,
            endpoint: resolved.clone(),
            socket: self.shared.clone(),
            options: st.options.clone(),
        });
        st.bound.push(resolved.clone());
        st.last_endpoint = Some(resolved);
        Ok(())
    }

    /// Connects to `endpoint` (`tcp://host:port`, host names resolved
    /// now, `ipc://path`, or `inproc://name` of a socket of the same
    /// context). Returns at once: the connection is made in the background
    /// and re-made after any loss every
    /// [`reconnect_interval`](Socket::set_reconnect_interval). The queue
    /// to this peer exists from now on, so messages sent before the peer
    /// is up wait for it (up to the send high-water mark; see
    /// [`set_immediate`](Socket::set_immediate) for the other way).
    ///
    /// inproc differs in two ways, as in libzmq: a connect made before the
    /// bind is paired when the name is bound, but once its peer socket
    /// closes it is not re-made (connect again); and inproc connections
    /// report no monitor events.
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        let mut st = self.lock()?;
        let parsed = Endpoint::parse(endpoint)?;
        if let Endpoint::Inproc(name) = &parsed {
            let side = self.inproc_side(&st);
            let mut peer = self.ctx.inproc_registry().connect(name, side)?;
            peer.writer.set_events(self.shared.mailbox.clone());
            peer.reader.set_events(self.shared.mailbox.clone());
            peer.routing_id = st.options.connect_routing_id.take();
            st.inproc_links.push((
                endpoint.to_string(),
                peer.id,
                [peer.writer.cutter(), peer.reader.cutter()],
            ));
            self.attach(&mut st, peer);
            st.connected.push(endpoint.to_string());
            st.last_endpoint = Some(endpoint.to_string());
            return Ok(());
        }
        if let Endpoint::Udp(ep) = &parsed {
            // RADIO only: no connection, each message one datagram.
            let (link, peer) =
                crate::io::UdpLink::connect(ep, endpoint, &self.shared, &st.options)?;
            self.attach(&mut st, peer);
            self.io.post(IoCmd::Udp(link));
            st.connected.push(endpoint.to_string());
            st.last_endpoint = Some(endpoint.to_string());
            return Ok(());
        }
        let addrs = parsed.remotes(st.options.ipv6)?;
        if st.options.immediate {
            // The peer joins the socket at each handshake (see
            // `set_immediate`).
            self.io.post(IoCmd::Connect {
                addrs,
                endpoint: endpoint.to_string(),
                socket: self.shared.clone(),
                options: st.options.clone(),
                pipes: None,
                routing_id: st.options.connect_routing_id.take(),
            });
            st.connected.push(endpoint.to_string());
            st.last_endpoint = Some(endpoint.to_string());
            return Ok(());
        }
        let id = pipe::next_pipe_id();
        let (out_w, out_r) = pipe::pipe(id, st.options.send_hwm);
        let (in_w, in_r) = pipe::pipe(id, st.options.recv_hwm);
        out_w.set_conflate(st.options.conflate_out(self.shared.socket_type));
        in_w.set_conflate(st.options.conflate_in(self.shared.socket_type));
        out_w.set_events(self.shared.mailbox.clone());
        in_r.set_events(self.shared.mailbox.clone());
        let routing_id = st.options.connect_routing_id.take();
        self.attach(
            &mut st,
            Peer {
                id,
                writer: out_w,
                reader: in_r,
                info: None,
                routing_id,
                datagram_max: None,
            },
        );
        self.io.post(IoCmd::Connect {
            addrs,
            endpoint: endpoint.to_string(),
            socket: self.shared.clone(),
            options: st.options.clone(),
            pipes: Some(crate::engine::EnginePipes {
                outbound: out_r,
                inbound: in_w,
            }),
            routing_id: None,
        });
        st.connected.push(endpoint.to_string());
        st.last_endpoint = Some(endpoint.to_string());
        Ok(())
    }

    /// Stops accepting connections on a bound endpoint and closes the
    /// connections accepted through it (after flushing for up to the
    /// linger). A wildcard bind is unbound by its resolved endpoint, as
    /// [`last_endpoint`](Socket::last_endpoint) reports it
    /// (`tcp://0.0.0.0:41234`), not by `tcp://*:*`. For `inproc://`, as
    /// in libzmq, only the name is freed: sockets already paired through
    /// it stay connected.
    ///
    /// Errors: [`Error::EndpointNotFound`] if nothing is bound there.
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        let mut st = self.lock()?;
        let Some(i) = st.bound.iter().position(|e| e == endpoint) else {
            return Err(Error::EndpointNotFound(endpoint.to_string()));
        };
        st.bound.remove(i);
        if let Some(name) = endpoint.strip_prefix("inproc://") {
            self.ctx.inproc_registry().unbind(name, self.shared.id);
            return Ok(());
        }
        self.io.post(IoCmd::Unbind {
            socket: self.shared.id,
            endpoint: endpoint.to_string(),
            linger: st.options.linger,
        });
        Ok(())
    }

    /// Drops the connection made by `connect(endpoint)` (the same string)
    /// and stops reconnecting; messages still queued for that peer are
    /// discarded. For `inproc://` the pipes to the peer are cut: the peer
    /// sees the connection close, and a connect still waiting for its
    /// bind is forgotten.
    ///
    /// Errors: [`Error::EndpointNotFound`] if there is no such connect.
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        let mut st = self.lock()?;
        if !st.connected.iter().any(|e| e == endpoint) {
            return Err(Error::EndpointNotFound(endpoint.to_string()));
        }
        st.connected.retain(|e| e != endpoint);
        if let Some(name) = endpoint.strip_prefix("inproc://") {
            let (cut, kept) = std::mem::take(&mut st.inproc_links)
                .into_iter()
                .partition(|(e, _, _)| e == endpoint);
            st.inproc_links = kept;
            let cut: Vec<_> = cut;
            let mut registry = self.ctx.inproc_registry();
            for (_, id, cutters) in &cut {
                registry.forget_pending(name, *id);
                cutters.iter().for_each(pipe::PipeCutter::cut);
            }
            return Ok(());
        }
        self.io.post(IoCmd::Disconnect {
            socket: self.shared.id,
            endpoint: endpoint.to_string(),
        });
        Ok(())
    }

    /// The endpoint of the last successful bind or connect, with a
    /// wildcard port or address resolved (`tcp://127.0.0.1:41234`).
    pub fn last_endpoint(&self) -> Option<String> {
        self.state.borrow().last_endpoint.clone()
    }

    /// Starts reporting this socket's connection events. An earlier
    /// monitor is replaced: it receives [`MonitorEvent::MonitorStopped`]
    /// and nothing more. When the socket closes, its monitor receives
    /// `MonitorStopped` once the last connection has ended (after the
    /// linger).
    pub fn monitor(&self) -> Result<Monitor> {
        let _st = self.lock()?;
        let (monitor, queue) = Monitor::new();
        let old = self
            .shared
            .monitor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(queue);
        if let Some(old) = old {
            old.stop();
        }
        Ok(monitor)
    }

    /// Hands a new peer to the socket type (after the probe, if asked).
    fn attach(&self, st: &mut State, peer: Peer) {
        let probes = matches!(
            self.shared.socket_type,
            SocketType::Router | SocketType::Dealer | SocketType::Req
        );
        if st.options.probe_router && probes {
            // A fresh pipe always has room for one message (an HWM of 0
            // means unlimited), so only a dead peer refuses the probe.
            if peer
                .writer
                .write(Message::from(bytes::Bytes::new()))
                .is_err()
            {
                log::debug!("probe not queued: peer already gone");
            }
        }
        st.pattern.attach(peer, &st.options);
    }

    /// This socket as an inproc peer sees it.
    fn inproc_side(&self, st: &State) -> crate::transport::inproc::Side {
        crate::transport::inproc::Side {
            shared: self.shared.clone(),
            send_hwm: st.options.send_hwm,
            recv_hwm: st.options.recv_hwm,
            conflate_out: st.options.conflate_out(self.shared.socket_type),
            conflate_in: st.options.conflate_in(self.shared.socket_type),
            routing_id: st.options.routing_id.clone(),
        }
    }

    fn process_commands(&self, st: &mut State) {
        if !self.shared.mailbox.has_pending() {
            return;
        }
        let mut cmds = std::mem::take(&mut st.commands);
        self.shared.mailbox.take(&mut cmds);
        for cmd in cmds.drain(..) {
            match cmd {
                Command::Attach(peer) => {
                    peer.writer.set_events(self.shared.mailbox.clone());
                    peer.reader.set_events(self.shared.mailbox.clone());
                    self.attach(st, peer);
                }
                Command::Handshaken { id, info, inproc } => {
                    st.pattern.handshaken(id, info, inproc, &st.options);
                }
                Command::Readable(id) => st.pattern.readable(id, &st.options),
                Command::Writable(id) => st.pattern.writable(id, &st.options),
            }
        }
        st.commands = cmds;
    }

    /// Runs `attempt` until it yields, sleeping on the mailbox in between.
    /// `timeout` None blocks forever, `Some(ZERO)` never blocks.
    fn blocking<T>(
        &self,
        timeout: impl Fn(&Options) -> Option<Duration>,
        mut attempt: impl FnMut(&mut State) -> Result<Option<T>>,
    ) -> Result<T> {
        let mut deadline: Option<Option<Instant>> = None;
        loop {
            {
                let mut st = self.lock()?;
                self.process_commands(&mut st);
                if let Some(v) = attempt(&mut st)? {
                    return Ok(v);
                }
                let d = *deadline.get_or_insert_with(|| {
                    // A timeout too long to represent waits for ever.
                    timeout(&st.options).and_then(|t| Instant::now().checked_add(t))
                });
                if d.is_some_and(|d| d <= Instant::now()) {
                    return Err(if timeout(&st.options) == Some(Duration::ZERO) {
                        Error::WouldBlock
                    } else {
                        Error::Timeout
                    });
                }
            }
            self.shared.mailbox.wait(deadline.flatten(), self.ctx.spin);
        }
    }

    fn send_with(
        &self,
        msg: Message,
        timeout: impl Fn(&Options) -> Option<Duration>,
    ) -> Result<()> {
        if msg.is_empty() {
            return Err(Error::EmptyMessage);
        }
        let mut pending = Some(msg);
        self.blocking(timeout, |st| {
            let Some(msg) = pending.take() else {
                return Ok(Some(()));
            };
            st.before_send(self.shared.socket_type)?;
            match st.pattern.send(msg, &st.options)? {
                Ok(()) => Ok(Some(())),
                Err(back) => {
                    pending = Some(back);
                    Ok(None)
                }
            }
        })
    }

    /// Sends a whole message, blocking while the socket type's rules say
    /// it must wait (PUSH: every peer at its high-water mark, or no peer),
    /// up to the [`send_timeout`](Socket::set_send_timeout)
    /// ([`Error::Timeout`]).
    pub fn send(&self, msg: impl Into<Message>) -> Result<()> {
        self.send_with(msg.into(), |o| o.send_timeout)
    }

    /// Sends a whole message if that can be done at once, else returns
    /// [`Error::WouldBlock`] (the message is dropped; cloning a
    /// [`Message`] to keep it is cheap).
    pub fn try_send(&self, msg: impl Into<Message>) -> Result<()> {
        self.send_with(msg.into(), |_| Some(Duration::ZERO))
    }

    /// Receives a whole message, blocking until one arrives or the
    /// [`recv_timeout`](Socket::set_recv_timeout) passes
    /// ([`Error::Timeout`]).
    pub fn recv(&self) -> Result<Message> {
        self.blocking(|o| o.recv_timeout, State::next_message)
    }

    /// Receives a whole message if one is ready, else returns
    /// [`Error::WouldBlock`].
    pub fn try_recv(&self) -> Result<Message> {
        self.blocking(|_| Some(Duration::ZERO), State::next_message)
    }

    /// Whether a receive and a send would complete now, as a poller sees
    /// it (level-triggered). To know, a message may be taken ahead; the
    /// next receive returns it.
    pub(crate) fn readiness(&self) -> Result<(bool, bool)> {
        let mut guard = self.lock()?;
        self.process_commands(&mut guard);
        let st = &mut *guard;
        if st.prefetched.is_none() {
            // A type that cannot receive, or cannot now, is not readable.
            if let Ok(Some(msg)) = st.pattern.recv(&st.options) {
                st.prefetched = Some(msg);
            }
        }
        let readable = st.prefetched.is_some();
        // A REQ or REP whose next message was only taken ahead has not
        // received it as far as the application knows: it may not send.
        let lockstep = matches!(self.shared.socket_type, SocketType::Req | SocketType::Rep);
        let writable = !(lockstep && readable) && st.pattern.can_send(&st.options);
        Ok((readable, writable))
    }

    /// Offers `msg` once without waiting: `Ok(Err(msg))` hands it back
    /// when the socket would have to wait.
    pub(crate) fn send_now(&self, msg: Message) -> Result<std::result::Result<(), Message>> {
        if msg.is_empty() {
            return Err(Error::EmptyMessage);
        }
        let mut st = self.lock()?;
        self.process_commands(&mut st);
        let st = &mut *st;
        st.before_send(self.shared.socket_type)?;
        st.pattern.send(msg, &st.options)
    }

    /// The socket's mailbox, for pollers and async tasks to watch.
    pub(crate) fn mailbox(&self) -> &Arc<Mailbox> {
        &self.shared.mailbox
    }

    /// SUB: receive the messages whose first frame starts with `topic`
    /// (the empty topic matches everything). Subscriptions are counted:
    /// subscribing twice needs two [`unsubscribe`](Socket::unsubscribe)s.
    /// They are sent to every peer, and again after each reconnection.
    pub fn subscribe(&self, topic: impl AsRef<[u8]>) -> Result<()> {
        let mut st = self.lock()?;
        self.process_commands(&mut st);
        st.pattern.subscribe(topic.as_ref(), true)
    }

    /// SUB: cancels one [`subscribe`](Socket::subscribe) to `topic` (a
    /// topic not subscribed is ignored).
    pub fn unsubscribe(&self, topic: impl AsRef<[u8]>) -> Result<()> {
        let mut st = self.lock()?;
        self.process_commands(&mut st);
        st.pattern.subscribe(topic.as_ref(), false)
    }

    /// DISH: receive the messages of `group` (exact match; at most 255
    /// bytes). Each received message is `[group, body]`. The join is sent
    /// to every RADIO, and again after each reconnection.
    ///
    /// Errors, as libzmq: [`Error::InvalidArgument`] for a group over 255
    /// bytes or one already joined; [`Error::NotSupported`] on other
    /// socket types.
    pub fn join(&self, group: impl AsRef<[u8]>) -> Result<()> {
        let mut st = self.lock()?;
        self.process_commands(&mut st);
        st.pattern.join(group.as_ref(), true)
    }

    /// DISH: leaves `group` ([`Error::InvalidArgument`] if not a member).
    pub fn leave(&self, group: impl AsRef<[u8]>) -> Result<()> {
        let mut st = self.lock()?;
        self.process_commands(&mut st);
        st.pattern.join(group.as_ref(), false)
    }

    /// PUB, XPUB and RADIO: waits until at least `n` peers are connected
    /// and have sent at least one subscription (RADIO: joined at least one
    /// group) each, or `timeout` passes
    /// ([`Error::Timeout`]). This is the answer to the "slow joiner": a
    /// publisher that starts sending only then loses nothing to
    /// connections still being made. A peer with several subscriptions
    /// counts as soon as the first has arrived; to wait for particular
    /// topics, use an XPUB, which receives each subscription.
    pub fn wait_for_subscribers(&self, n: usize, timeout: Duration) -> Result<()> {
        let timeout = timeout.max(Duration::from_nanos(1));
        self.blocking(
            |_| Some(timeout),
            |st| match st.pattern.subscribers() {
                None => Err(Error::NotSupported(
                    "only PUB sockets count subscribers".into(),
                )),
                Some(k) if k >= n => Ok(Some(())),
                Some(_) => Ok(None),
            },
        )
    }

    /// PUB, XPUB, RADIO and BUS: how many messages were not delivered to
    /// a peer because its queue was at the high-water mark (counted once
    /// per peer missed).
    pub fn dropped_messages(&self) -> u64 {
        self.state.borrow().pattern.dropped()
    }
}

impl State {
    /// A REQ or REP whose next message a readiness check took ahead has
    /// not received it as the application sees it: a strict one may not
    /// send yet, and a relaxed REQ's new request makes that (stale) reply
    /// void, as it does any other.
    fn before_send(&mut self, t: SocketType) -> Result<()> {
        if self.prefetched.is_none() {
            return Ok(());
        }
        match t {
            SocketType::Req if self.options.req_relaxed => {
                self.prefetched = None;
                Ok(())
            }
            SocketType::Req => Err(Error::InvalidState(
                "a REQ socket must receive the reply before sending again",
            )),
            SocketType::Rep => Err(Error::InvalidState(
                "a REP socket must receive a request before replying",
            )),
            _ => Ok(()),
        }
    }

    /// The message taken ahead by a readiness check, else the next one.
    fn next_message(&mut self) -> Result<Option<Message>> {
        if let Some(msg) = self.prefetched.take() {
            return Ok(Some(msg));
        }
        self.pattern.recv(&self.options)
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.shared.mailbox.close();
        let (linger, pattern) = {
            let mut st = self.state.borrow_mut();
            let pattern = std::mem::replace(&mut st.pattern, Box::new(push::Push::default()));
            (st.options.linger, pattern)
        };
        // Tell the I/O thread first, so that it knows the linger before
        // the closing pipes wake the engines.
        self.io.post(IoCmd::SocketClosed {
            socket: self.shared.id,
            linger,
        });
        drop(pattern);
        self.ctx.inproc_registry().socket_closed(self.shared.id);
        self.ctx.unregister(&self.shared.mailbox);
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("type", &self.shared.socket_type)
            .field("id", &self.shared.id)
            .finish()
    }
}
