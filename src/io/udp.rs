//! The I/O thread's side of `udp://`: one entry per DISH bind or RADIO
//! connect, holding the UDP socket and the I/O ends of the peer's pipes.
//! There is no handshake and no engine; each message is one datagram
//! (the codec is in `transport::udp`).
//!
//! A *receiving* link (DISH bind) reads datagrams until WouldBlock and
//! queues each as `[group, body]`; malformed datagrams, and those whose
//! group and body exceed the socket's `max_msg_size`, are dropped and
//! logged at debug level. When the DISH's queue is full the link stops
//! reading, holding the one message it could not queue, until the socket
//! makes room: the kernel's receive buffer then fills and drops, as UDP
//! does, and nothing is dropped here. What the DISH sends (its joins) is
//! read and discarded, as libzmq does: no RADIO would hear it.
//!
//! A *sending* link (RADIO connect) sends every queued message as a
//! datagram until the queue is empty or the kernel's send buffer is full
//! (then it waits for writability, keeping the datagram). A failed send
//! is logged and the message dropped, as UDP loses datagrams anyway.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::{Interest, Token};

use super::{Entry, IoThread, SessionEvents, TimerKind};
use crate::engine::EnginePipes;
use crate::options::Options;
use crate::pipe::{self, WriteError};
use crate::socket::{MonitorEvent, Peer, SocketShared};
use crate::transport::udp::{self, UdpEndpoint};
use crate::{Message, Result};

/// Datagrams handled per turn before other entries get theirs.
const BATCH: usize = 256;

/// Which way the datagrams go.
enum Role {
    /// A DISH's bind.
    Receive {
        /// Big enough for any datagram.
        buffer: Box<[u8]>,
        /// A message the full inbound queue refused, queued first once
        /// there is room.
        held: Option<Message>,
        /// The socket's `max_msg_size` (group and body together).
        max_msg_size: Option<u64>,
    },
    /// A RADIO's connect.
    Send {
        target: SocketAddr,
        /// The datagram being sent, reused for each message.
        datagram: Vec<u8>,
        /// `datagram` holds one the kernel had no room for.
        unsent: bool,
    },
}

/// A bound or connected `udp://` endpoint of one socket.
pub(crate) struct UdpLink {
    udp: mio::net::UdpSocket,
    /// The resolved bound endpoint, or the connect's endpoint as given.
    endpoint: String,
    owner: Arc<SocketShared>,
    pipes: EnginePipes,
    role: Role,
    linger: Option<Duration>,
    /// `Some` once closing: the deadline, or `None` inside to wait forever.
    closing: Option<Option<Instant>>,
}

/// What a turn of a link came to.
enum Step {
    /// Waiting for readiness or a pipe event.
    Idle,
    /// Work left; drive again after the next poll.
    Yielded,
    /// The link has nothing more to do: remove it.
    Finished,
}

impl UdpLink {
    /// A DISH's `bind`: the socket is bound now (so the port is known and
    /// datagrams queue in the kernel from now on); returns the link for
    /// the I/O thread and the peer for the socket.
    pub(crate) fn bind(
        ep: &UdpEndpoint,
        owner: &Arc<SocketShared>,
        options: &Options,
    ) -> Result<(UdpLink, Peer)> {
        udp::check_bind(owner.socket_type)?;
        let (socket, endpoint) = udp::bind(ep, options.ipv6)?;
        let role = Role::Receive {
            buffer: vec![0; udp::RECV_BUFFER].into_boxed_slice(),
            held: None,
            max_msg_size: options.max_msg_size,
        };
        Ok(UdpLink::new(socket, endpoint, owner, options, role, None))
    }

    /// A RADIO's `connect` to `endpoint` (host names resolved now).
    pub(crate) fn connect(
        ep: &UdpEndpoint,
        endpoint: &str,
        owner: &Arc<SocketShared>,
        options: &Options,
    ) -> Result<(UdpLink, Peer)> {
        udp::check_connect(owner.socket_type)?;
        let (socket, target) = udp::open_sender(ep, options.ipv6)?;
        let role = Role::Send {
            target,
            datagram: Vec::with_capacity(udp::MAX_DATAGRAM),
            unsent: false,
        };
        let max = Some(udp::MAX_DATAGRAM);
        Ok(UdpLink::new(
            socket,
            endpoint.to_string(),
            owner,
            options,
            role,
            max,
        ))
    }

    fn new(
        udp: mio::net::UdpSocket,
        endpoint: String,
        owner: &Arc<SocketShared>,
        options: &Options,
        role: Role,
        datagram_max: Option<usize>,
    ) -> (UdpLink, Peer) {
        let id = pipe::next_pipe_id();
        let (out_w, out_r) = pipe::pipe(id, options.send_hwm);
        let (in_w, in_r) = pipe::pipe(id, options.recv_hwm);
        out_w.set_events(owner.mailbox.clone());
        in_r.set_events(owner.mailbox.clone());
        let link = UdpLink {
            udp,
            endpoint,
            owner: owner.clone(),
            pipes: EnginePipes {
                outbound: out_r,
                inbound: in_w,
            },
            role,
            linger: options.linger,
            closing: None,
        };
        let peer = Peer {
            id,
            writer: out_w,
            reader: in_r,
            info: None,
            routing_id: None,
            datagram_max,
        };
        (link, peer)
    }

    /// The endpoint `unbind` or `disconnect` names it by.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn is_bound(&self) -> bool {
        matches!(self.role, Role::Receive { .. })
    }

    /// The socket this link serves.
    pub(super) fn owner_id(&self) -> u64 {
        self.owner.id
    }

    /// The linger it closes with at context shutdown.
    pub(super) fn linger(&self) -> Option<Duration> {
        self.linger
    }

    /// Whether this is `socket`'s bind of `endpoint` (`connected`: its
    /// connect to `endpoint`).
    pub(super) fn is_endpoint(&self, socket: u64, endpoint: &str, connected: bool) -> bool {
        self.owner.id == socket && self.endpoint == endpoint && connected != self.is_bound()
    }

    /// One turn: moves datagrams until WouldBlock, a full or empty queue,
    /// or the batch limit.
    fn drive(&mut self) -> Step {
        match &mut self.role {
            Role::Receive {
                buffer,
                held,
                max_msg_size,
            } => {
                // Nobody hears a DISH's joins over UDP.
                loop {
                    match self.pipes.outbound.read() {
                        pipe::Read::Message(_) => {}
                        pipe::Read::Empty => break,
                        pipe::Read::Closed => return Step::Finished,
                    }
                }
                receive(
                    &self.udp,
                    &self.endpoint,
                    &self.pipes,
                    buffer,
                    held,
                    *max_msg_size,
                )
            }
            Role::Send {
                target,
                datagram,
                unsent,
            } => {
                let step = send(
                    &self.udp,
                    &self.endpoint,
                    &mut self.pipes,
                    *target,
                    datagram,
                    unsent,
                );
                // A closing link is done once its queue is flushed (idle
                // with nothing unsent: the queue was found empty).
                match step {
                    Step::Idle if self.closing.is_some() && !*unsent => Step::Finished,
                    step => step,
                }
            }
        }
    }
}

/// Reads datagrams into the DISH's queue.
fn receive(
    socket: &mio::net::UdpSocket,
    endpoint: &str,
    pipes: &EnginePipes,
    buffer: &mut [u8],
    held: &mut Option<Message>,
    max_msg_size: Option<u64>,
) -> Step {
    if let Some(msg) = held.take() {
        match pipes.inbound.write(msg) {
            Ok(()) => {}
            Err(WriteError::Full(msg)) => {
                *held = Some(msg);
                return Step::Idle;
            }
            Err(WriteError::Closed(_)) => return Step::Finished,
        }
    }
    for _ in 0..BATCH {
        let (n, from) = match socket.recv_from(buffer) {
            Ok(got) => got,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Step::Idle,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // Not seen on an unconnected socket in practice; the next
                // datagram's readiness brings us back.
                log::warn!("{endpoint}: receive failed: {e}");
                return Step::Idle;
            }
        };
        // One copy, exactly the datagram's size; group and body are
        // slices of it.
        let datagram = Bytes::copy_from_slice(&buffer[..n]);
        let (group, body) = match udp::decode(&datagram) {
            Ok(parts) => parts,
            Err(e) => {
                log::debug!("{endpoint}: dropping a datagram from {from}: {e}");
                continue;
            }
        };
        if let Some(max) = max_msg_size
            && (group.len() + body.len()) as u64 > max
        {
            log::debug!("{endpoint}: dropping a datagram from {from}: over max_msg_size {max}");
            continue;
        }
        match pipes.inbound.write(Message::with_group(group, body)) {
            Ok(()) => {}
            Err(WriteError::Full(msg)) => {
                // Stop reading until the socket makes room (the pipe will
                // tell us); the kernel's buffer takes what comes meanwhile.
                *held = Some(msg);
                return Step::Idle;
            }
            Err(WriteError::Closed(_)) => return Step::Finished,
        }
    }
    Step::Yielded
}

/// Sends the RADIO's queued messages as datagrams.
fn send(
    socket: &mio::net::UdpSocket,
    endpoint: &str,
    pipes: &mut EnginePipes,
    target: SocketAddr,
    datagram: &mut Vec<u8>,
    unsent: &mut bool,
) -> Step {
    for _ in 0..BATCH {
        if !*unsent {
            let msg = match pipes.outbound.read() {
                pipe::Read::Message(m) => m,
                pipe::Read::Empty => return Step::Idle,
                pipe::Read::Closed => return Step::Finished,
            };
            let encoded = match msg.frames() {
                [group, body] => {
                    udp::encode(group, body, udp::MAX_DATAGRAM, datagram).map_err(|e| e.to_string())
                }
                frames => Err(format!("{} frames, not [group, body]", frames.len())),
            };
            if let Err(e) = encoded {
                // The RADIO checks both before queueing: not reached.
                log::debug!("{endpoint}: message not sent: {e}");
                continue;
            }
        }
        match socket.send_to(datagram, target) {
            Ok(_) => *unsent = false,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                // Writability brings us back, with the datagram kept.
                *unsent = true;
                return Step::Idle;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => *unsent = true,
            Err(e) => {
                *unsent = false;
                log::debug!("{endpoint}: datagram to {target} not sent: {e}");
            }
        }
    }
    Step::Yielded
}

impl IoThread {
    /// Takes over a link made by `bind` or `connect`.
    pub(super) fn add_udp(&mut self, mut link: UdpLink) {
        if self.shutting_down {
            return;
        }
        let entry = self.entries.vacant_entry();
        let token = entry.key();
        let interest = if link.is_bound() {
            Interest::READABLE
        } else {
            Interest::WRITABLE
        };
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut link.udp, Token(token), interest)
        {
            log::error!("cannot register {}: {e}", link.endpoint);
            return;
        }
        let events = Arc::new(SessionEvents {
            io: self.handle.clone(),
            token,
        });
        link.pipes.outbound.set_events(events.clone());
        link.pipes.inbound.set_events(events);
        if link.is_bound() {
            log::debug!("socket {}: receiving on {}", link.owner.id, link.endpoint);
            link.owner.emit(|| MonitorEvent::Listening {
                endpoint: link.endpoint.clone(),
            });
        }
        entry.insert(Entry::Udp(link));
        self.drive_udp(token);
    }

    /// Moves datagrams for a link and acts on the outcome.
    pub(super) fn drive_udp(&mut self, token: usize) {
        let Some(Entry::Udp(link)) = self.entries.get_mut(token) else {
            return;
        };
        match link.drive() {
            Step::Idle => {}
            Step::Yielded => self.ready.push(token),
            Step::Finished => self.remove(token),
        }
    }

    /// Starts closing a link: a DISH's goes at once, a RADIO's sends what
    /// is queued for up to `linger`.
    pub(super) fn close_udp(&mut self, token: usize, linger: Option<Duration>) {
        let Some(Entry::Udp(link)) = self.entries.get_mut(token) else {
            return;
        };
        if link.closing.is_some() {
            return;
        }
        if linger == Some(Duration::ZERO) || link.is_bound() {
            self.remove(token);
            return;
        }
        link.closing = Some(linger.and_then(|l| Instant::now().checked_add(l)));
        if let Some(after) = linger {
            self.arm(token, 0, TimerKind::Linger, after);
        }
        self.drive_udp(token);
    }

    /// A linger timer fired for what may be a link.
    pub(super) fn udp_linger_expired(&mut self, token: usize) {
        if let Some(Entry::Udp(link)) = self.entries.get(token)
            && link.closing.flatten().is_some_and(|d| d <= Instant::now())
        {
            log::debug!("{}: linger expired, dropping output", link.endpoint);
            self.remove(token);
        }
    }

    /// Releases a removed link's socket; a bind reports `Closed`.
    pub(super) fn drop_udp(&mut self, mut link: UdpLink) {
        if let Err(e) = self.poll.registry().deregister(&mut link.udp) {
            log::debug!("deregister {}: {e}", link.endpoint);
        }
        let UdpLink {
            udp,
            endpoint,
            owner,
            role,
            ..
        } = link;
        drop(udp);
        log::debug!("{endpoint}: udp socket closed");
        if matches!(role, Role::Receive { .. }) {
            owner.emit(|| MonitorEvent::Closed { endpoint });
        }
    }
}
