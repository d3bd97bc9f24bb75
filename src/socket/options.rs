//! Typed option setters and getters on [`Socket`]. As in libzmq, options
//! that shape connections (high-water marks, routing id, reconnect and
//! handshake intervals, maximum message size and frame count) apply to
//! binds and connects made after they are set.

use std::time::Duration;

use bytes::Bytes;

use super::Socket;
use crate::options::Options;
use crate::{Error, Message, Result};

impl Socket {
    fn set(&self, f: impl FnOnce(&mut Options)) -> Result<()> {
        let mut st = self.lock()?;
        f(&mut st.options);
        Ok(())
    }

    fn get<T>(&self, f: impl FnOnce(&Options) -> T) -> T {
        f(&self.state.borrow().options)
    }

    /// Sets the outbound high-water mark: how many messages may be queued
    /// for each peer (0 = unlimited; default 1000). What happens at the
    /// mark depends on the socket type (PUSH blocks).
    pub fn set_send_hwm(&self, hwm: usize) -> Result<()> {
        self.set(|o| o.send_hwm = hwm)
    }

    /// The outbound high-water mark.
    pub fn send_hwm(&self) -> usize {
        self.get(|o| o.send_hwm)
    }

    /// Sets the inbound high-water mark per peer (0 = unlimited; default
    /// 1000). When a peer's inbound queue is full the socket stops reading
    /// from that connection, so TCP pushes back on the sender; nothing is
    /// dropped.
    pub fn set_recv_hwm(&self, hwm: usize) -> Result<()> {
        self.set(|o| o.recv_hwm = hwm)
    }

    /// The inbound high-water mark.
    pub fn recv_hwm(&self) -> usize {
        self.get(|o| o.recv_hwm)
    }

    /// Sets how long messages still queued when the socket is closed (or
    /// the context shut down) keep being sent: `None` waits forever (the
    /// default, as libzmq), `Some(Duration::ZERO)` drops them at once.
    pub fn set_linger(&self, linger: Option<Duration>) -> Result<()> {
        self.set(|o| o.linger = linger)
    }

    /// The linger period.
    pub fn linger(&self) -> Option<Duration> {
        self.get(|o| o.linger)
    }

    /// Sets the largest inbound message, in bytes summed over its frames
    /// (`None` = unlimited, the default). A peer sending more is
    /// disconnected before anything is allocated for it.
    pub fn set_max_msg_size(&self, max: Option<u64>) -> Result<()> {
        self.set(|o| o.max_msg_size = max)
    }

    /// The largest inbound message.
    pub fn max_msg_size(&self) -> Option<u64> {
        self.get(|o| o.max_msg_size)
    }

    /// Sets the most frames an inbound message may have (`None` =
    /// unlimited; default `Some(65_536)`). A peer sending a message with
    /// more is disconnected with [`ProtocolError::TooManyFrames`] at the
    /// header of the frame over the limit.
    ///
    /// Why a limit by default: each frame of a message being received is
    /// held as a `Bytes` handle of about 32 bytes until the last frame
    /// arrives, while an empty frame costs the peer only 2 bytes on the
    /// wire. Without a cap, one endless message of empty frames makes the
    /// receiver hold 16 times what the peer sent, and `max_msg_size`
    /// (which counts only frame bodies) does not stop it. With the cap, a
    /// message being received holds at most about `max_msg_size + 32 *
    /// max_frames` bytes (2 MiB of handles by default). libzmq has no such
    /// limit; 65,536 frames is far more than applications use. `Some(0)`
    /// is refused with [`Error::InvalidArgument`].
    ///
    /// [`ProtocolError::TooManyFrames`]: crate::ProtocolError::TooManyFrames
    pub fn set_max_frames(&self, max: Option<usize>) -> Result<()> {
        if max == Some(0) {
            return Err(Error::InvalidArgument(
                "a message has at least one frame: max_frames must be at least 1".into(),
            ));
        }
        self.set(|o| o.max_frames = max)
    }

    /// The most frames an inbound message may have.
    pub fn max_frames(&self) -> Option<usize> {
        self.get(|o| o.max_frames)
    }

    /// Sets the pause before a lost or failed connection is retried
    /// (default 100 ms; `None` never reconnects).
    pub fn set_reconnect_interval(&self, interval: Option<Duration>) -> Result<()> {
        self.set(|o| o.reconnect_interval = interval)
    }

    /// The reconnect interval.
    pub fn reconnect_interval(&self) -> Option<Duration> {
        self.get(|o| o.reconnect_interval)
    }

    /// With a maximum above the reconnect interval, the pause doubles
    /// after each failed attempt up to this maximum (plus up to a tenth at
    /// random, so that many clients do not retry in step), and starts
    /// again from the interval after a successful handshake. `None` (the
    /// default) keeps the pause fixed.
    pub fn set_reconnect_interval_max(&self, max: Option<Duration>) -> Result<()> {
        self.set(|o| o.reconnect_interval_max = max)
    }

    /// The reconnect backoff maximum.
    pub fn reconnect_interval_max(&self) -> Option<Duration> {
        self.get(|o| o.reconnect_interval_max)
    }

    /// Sets how long a new connection may take to complete the ZMTP
    /// handshake before it is dropped (default 30 s; `None` = no limit).
    pub fn set_handshake_interval(&self, interval: Option<Duration>) -> Result<()> {
        self.set(|o| o.handshake_interval = interval)
    }

    /// The handshake interval.
    pub fn handshake_interval(&self) -> Option<Duration> {
        self.get(|o| o.handshake_interval)
    }

    /// Sets the routing id (ZMTP `Identity`) announced to peers by the
    /// types that send one (REQ, DEALER, ROUTER): 1 to 255 bytes, not
    /// starting with a zero byte (reserved, as in libzmq).
    pub fn set_routing_id(&self, id: impl Into<Bytes>) -> Result<()> {
        let id = check_routing_id(id.into())?;
        self.set(|o| o.routing_id = id)
    }

    /// The routing id (empty if none was set).
    pub fn routing_id(&self) -> Bytes {
        self.get(|o| o.routing_id.clone())
    }

    /// Sets how long [`send`](Socket::send) may block (`None` = forever,
    /// the default); past it, `send` returns [`Error::Timeout`].
    pub fn set_send_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        self.set(|o| o.send_timeout = timeout)
    }

    /// The send timeout.
    pub fn send_timeout(&self) -> Option<Duration> {
        self.get(|o| o.send_timeout)
    }

    /// Sets how long [`recv`](Socket::recv) may block (`None` = forever,
    /// the default); past it, `recv` returns [`Error::Timeout`].
    pub fn set_recv_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        self.set(|o| o.recv_timeout = timeout)
    }

    /// The receive timeout.
    pub fn recv_timeout(&self) -> Option<Duration> {
        self.get(|o| o.recv_timeout)
    }

    /// Sends a ZMTP PING to each peer this often (`None`, the default:
    /// never). A peer that then sends nothing within the
    /// [`heartbeat_timeout`](Socket::set_heartbeat_timeout) is dropped and,
    /// for a connect, reconnected. PINGs from peers are always answered.
    pub fn set_heartbeat_interval(&self, interval: Option<Duration>) -> Result<()> {
        self.set(|o| o.heartbeat_interval = interval)
    }

    /// The heartbeat interval.
    pub fn heartbeat_interval(&self) -> Option<Duration> {
        self.get(|o| o.heartbeat_interval)
    }

    /// How long traffic may lag behind one of our PINGs before the peer is
    /// dropped (`None`, the default: the heartbeat interval).
    pub fn set_heartbeat_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        self.set(|o| o.heartbeat_timeout = timeout)
    }

    /// The heartbeat timeout.
    pub fn heartbeat_timeout(&self) -> Option<Duration> {
        self.get(|o| o.heartbeat_timeout)
    }

    /// The time-to-live our PINGs ask the peer to apply: a peer that
    /// receives no traffic from us for that long drops the connection
    /// (`None`, the default: none; sent in deciseconds, at most 6553.5 s).
    pub fn set_heartbeat_ttl(&self, ttl: Option<Duration>) -> Result<()> {
        if ttl.is_some_and(|t| t > Duration::from_millis(6_553_500)) {
            return Err(Error::InvalidArgument(
                "the heartbeat TTL is at most 6553.5 s".into(),
            ));
        }
        self.set(|o| o.heartbeat_ttl = ttl)
    }

    /// The heartbeat TTL.
    pub fn heartbeat_ttl(&self) -> Option<Duration> {
        self.get(|o| o.heartbeat_ttl)
    }

    /// ROUTER only: when on, sending to a routing id with no peer returns
    /// [`Error::HostUnreachable`] and sending to a peer whose queue is
    /// full waits (or returns [`Error::WouldBlock`] from `try_send`),
    /// instead of silently dropping the message (off by default, as in
    /// libzmq).
    pub fn set_router_mandatory(&self, on: bool) -> Result<()> {
        self.set(|o| o.router_mandatory = on)
    }

    /// Whether `router_mandatory` is on.
    pub fn router_mandatory(&self) -> bool {
        self.get(|o| o.router_mandatory)
    }

    /// ROUTER only: when on, a peer announcing a routing id that another
    /// connected peer has takes it over, and the older connection is
    /// closed; when off (the default), the newcomer is refused.
    pub fn set_router_handover(&self, on: bool) -> Result<()> {
        self.set(|o| o.router_handover = on)
    }

    /// Whether `router_handover` is on.
    pub fn router_handover(&self) -> bool {
        self.get(|o| o.router_handover)
    }

    /// ROUTER only: the routing id under which the peer of the *next*
    /// [`connect`](Socket::connect) is known to this socket, whatever
    /// identity that peer announces (for ROUTER-to-ROUTER). Used by one
    /// connect, then cleared. Same rules as
    /// [`set_routing_id`](Socket::set_routing_id).
    pub fn set_connect_routing_id(&self, id: impl Into<Bytes>) -> Result<()> {
        let id = check_routing_id(id.into())?;
        self.set(|o| o.connect_routing_id = Some(id))
    }

    /// REQ only: when on, a new request may be sent before the reply to
    /// the previous one came (say, after a receive timeout); the old reply
    /// is then discarded if it ever arrives. Off by default (strict
    /// lockstep, [`Error::InvalidState`] otherwise). Use with
    /// [`set_req_correlate`](Socket::set_req_correlate) so that a late
    /// reply from the same peer is not taken for the new one.
    pub fn set_req_relaxed(&self, on: bool) -> Result<()> {
        self.set(|o| o.req_relaxed = on)
    }

    /// Whether `req_relaxed` is on.
    pub fn req_relaxed(&self) -> bool {
        self.get(|o| o.req_relaxed)
    }

    /// REQ only: when on, each request carries a 4-byte request id before
    /// the delimiter, and only a reply echoing the current id is accepted.
    pub fn set_req_correlate(&self, on: bool) -> Result<()> {
        self.set(|o| o.req_correlate = on)
    }

    /// Whether `req_correlate` is on.
    pub fn req_correlate(&self) -> bool {
        self.get(|o| o.req_correlate)
    }

    /// ROUTER, DEALER and REQ: when on, an empty message is sent to every
    /// new peer as soon as it is attached (libzmq's ZMQ_PROBE_ROUTER), so
    /// a ROUTER on the other side learns the routing id at once.
    pub fn set_probe_router(&self, on: bool) -> Result<()> {
        self.set(|o| o.probe_router = on)
    }

    /// Whether `probe_router` is on.
    pub fn probe_router(&self) -> bool {
        self.get(|o| o.probe_router)
    }

    /// XPUB only: report every subscription message to the application,
    /// not only the first one for each topic (off by default).
    pub fn set_xpub_verbose(&self, on: bool) -> Result<()> {
        self.set(|o| o.xpub_verbose = on)
    }

    /// XPUB only: like [`set_xpub_verbose`](Socket::set_xpub_verbose), and
    /// every cancel too, not only the last one for each topic.
    pub fn set_xpub_verboser(&self, on: bool) -> Result<()> {
        self.set(|o| o.xpub_verboser = on)
    }

    /// XPUB only: when on, `send` waits (or `try_send` returns
    /// [`Error::WouldBlock`]) while a matching subscriber's queue is full,
    /// instead of dropping the message for it; a message then goes to all
    /// its subscribers or to none.
    pub fn set_xpub_nodrop(&self, on: bool) -> Result<()> {
        self.set(|o| o.xpub_nodrop = on)
    }

    /// XPUB only: a message sent to every new subscriber as it connects
    /// (subscribers receive it if they subscribed to a prefix of it);
    /// `None` (the default) sends nothing.
    pub fn set_xpub_welcome_msg(&self, msg: Option<Message>) -> Result<()> {
        if msg.as_ref().is_some_and(Message::is_empty) {
            return Err(Error::EmptyMessage);
        }
        self.set(|o| o.xpub_welcome_msg = msg)
    }

    /// Queues messages only to peers whose connection is complete (off by
    /// default, libzmq's `ZMQ_IMMEDIATE`). Normally `connect` creates the
    /// peer's queue at once, so messages wait there until the peer is
    /// up, and a load-balancing socket shares messages with peers that
    /// are not there yet. With `immediate`, a connected peer joins the
    /// socket only when its handshake completes and leaves it when the
    /// connection is lost (what was queued for it is dropped); `send`
    /// then waits for, or balances over, live peers only. Applies to tcp
    /// and ipc connects made after it is set.
    pub fn set_immediate(&self, on: bool) -> Result<()> {
        self.set(|o| o.immediate = on)
    }

    /// Whether `immediate` is on.
    pub fn immediate(&self) -> bool {
        self.get(|o| o.immediate)
    }

    /// Keeps only the newest message in each peer's queue, in and out
    /// (off by default, libzmq's `ZMQ_CONFLATE`): a newer message
    /// replaces the one waiting, so a reader sees the latest state and
    /// never a backlog, and the high-water marks do not apply. For PUSH,
    /// PULL, PUB, SUB and DEALER sockets (others refuse it with
    /// [`Error::NotSupported`]); a multipart message is kept whole.
    /// Applies to binds and connects made after it is set.
    pub fn set_conflate(&self, on: bool) -> Result<()> {
        use crate::SocketType::*;
        if on && !matches!(self.socket_type(), Push | Pull | Pub | Sub | Dealer) {
            return Err(Error::NotSupported(format!(
                "conflate does not apply to {} sockets",
                self.socket_type()
            )));
        }
        self.set(|o| o.conflate = on)
    }

    /// Whether `conflate` is on.
    pub fn conflate(&self) -> bool {
        self.get(|o| o.conflate)
    }

    /// Lets tcp endpoints use IPv6 (off by default, libzmq's
    /// `ZMQ_IPV6`): `tcp://*:port` binds every interface of both families
    /// (`[::]`, taking IPv4 connections too), and host names resolve to
    /// their IPv6 addresses first, then IPv4. Without it `*` is every IPv4
    /// interface and host names use IPv4 addresses only. Literal
    /// addresses (`tcp://[::1]:5555`) work either way.
    pub fn set_ipv6(&self, on: bool) -> Result<()> {
        self.set(|o| o.ipv6 = on)
    }

    /// Whether `ipv6` is on.
    pub fn ipv6(&self) -> bool {
        self.get(|o| o.ipv6)
    }

    /// Switches TCP keepalive probes on or off for new tcp connections
    /// (`None`, the default, leaves the system's setting; libzmq's
    /// `ZMQ_TCP_KEEPALIVE`).
    pub fn set_tcp_keepalive(&self, on: Option<bool>) -> Result<()> {
        self.set(|o| o.tcp_keepalive.enabled = on)
    }

    /// The TCP keepalive setting.
    pub fn tcp_keepalive(&self) -> Option<bool> {
        self.get(|o| o.tcp_keepalive.enabled)
    }

    /// How long a connection is idle before the first keepalive probe
    /// (`None`: the system's default; whole seconds; used only with
    /// [`set_tcp_keepalive`](Socket::set_tcp_keepalive)`(Some(true))`).
    pub fn set_tcp_keepalive_idle(&self, idle: Option<Duration>) -> Result<()> {
        check_keepalive_time(idle)?;
        self.set(|o| o.tcp_keepalive.idle = idle)
    }

    /// The keepalive idle time.
    pub fn tcp_keepalive_idle(&self) -> Option<Duration> {
        self.get(|o| o.tcp_keepalive.idle)
    }

    /// The pause between keepalive probes (`None`: the system's default;
    /// whole seconds; used only with keepalive on).
    pub fn set_tcp_keepalive_interval(&self, interval: Option<Duration>) -> Result<()> {
        check_keepalive_time(interval)?;
        self.set(|o| o.tcp_keepalive.interval = interval)
    }

    /// The keepalive probe interval.
    pub fn tcp_keepalive_interval(&self) -> Option<Duration> {
        self.get(|o| o.tcp_keepalive.interval)
    }

    /// How many unanswered keepalive probes drop the connection (`None`:
    /// the system's default; used only with keepalive on).
    pub fn set_tcp_keepalive_count(&self, count: Option<u32>) -> Result<()> {
        if count == Some(0) {
            return Err(Error::InvalidArgument(
                "the keepalive probe count is at least 1".into(),
            ));
        }
        self.set(|o| o.tcp_keepalive.count = count)
    }

    /// The keepalive probe count.
    pub fn tcp_keepalive_count(&self) -> Option<u32> {
        self.get(|o| o.tcp_keepalive.count)
    }
}

/// The kernel counts keepalive times in whole seconds, from 1 to 32767.
fn check_keepalive_time(t: Option<Duration>) -> Result<()> {
    match t {
        Some(t) if t.subsec_nanos() != 0 || t.as_secs() == 0 || t.as_secs() > 32767 => Err(
            Error::InvalidArgument("keepalive times are whole seconds from 1 to 32767".into()),
        ),
        _ => Ok(()),
    }
}

/// Routing ids are 1 to 255 bytes and do not start with a zero byte
/// (reserved for generated ids, as in libzmq).
fn check_routing_id(id: Bytes) -> Result<Bytes> {
    if id.is_empty() || id.len() > 255 || id[0] == 0 {
        return Err(Error::InvalidArgument(
            "a routing id is 1 to 255 bytes and does not start with 0".into(),
        ));
    }
    Ok(id)
}
