//! Socket options and their libzmq defaults.
//!
//! Options are kept by the socket and copied into each bind or connect, so
//! (as in libzmq) a change applies to connections made after it.

use std::time::Duration;

use bytes::Bytes;

use crate::SocketType;
use crate::transport::tcp::Keepalive;

/// The options of one socket. Defaults are libzmq's.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// Outbound high-water mark per peer, in messages (0 = unlimited).
    pub send_hwm: usize,
    /// Inbound high-water mark per peer, in messages (0 = unlimited).
    pub recv_hwm: usize,
    /// How long pending output is kept after close (None = forever).
    pub linger: Option<Duration>,
    /// Largest inbound message accepted (None = unlimited).
    pub max_msg_size: Option<u64>,
    /// Most frames in an inbound message (None = unlimited).
    pub max_frames: Option<usize>,
    /// Pause before reconnecting (None = never reconnect).
    pub reconnect_interval: Option<Duration>,
    /// Upper bound of the doubling reconnect pause (None = no doubling).
    pub reconnect_interval_max: Option<Duration>,
    /// Time allowed for the ZMTP handshake (None = unlimited).
    pub handshake_interval: Option<Duration>,
    /// Identity sent to peers (REQ, DEALER, ROUTER).
    pub routing_id: Bytes,
    /// How long a blocking send may wait (None = forever).
    pub send_timeout: Option<Duration>,
    /// How long a blocking receive may wait (None = forever).
    pub recv_timeout: Option<Duration>,
    /// Listen backlog for bound TCP endpoints.
    pub backlog: i32,
    /// ROUTER: an unknown routing id is an error and a full peer blocks,
    /// instead of dropping the message.
    pub router_mandatory: bool,
    /// ROUTER: a peer announcing a routing id in use takes it over from
    /// the older connection, which is closed.
    pub router_handover: bool,
    /// REQ: a new request may be sent at any time.
    pub req_relaxed: bool,
    /// REQ: requests carry an id that the reply must echo.
    pub req_correlate: bool,
    /// ROUTER: the routing id to give the peer of the next `connect`.
    pub connect_routing_id: Option<Bytes>,
    /// ROUTER, DEALER, REQ: send an empty message to each new peer.
    pub probe_router: bool,
    /// XPUB: report every subscription, not only the first per topic.
    pub xpub_verbose: bool,
    /// XPUB: report every subscription and every cancel.
    pub xpub_verboser: bool,
    /// XPUB: wait for room instead of dropping for a full peer.
    pub xpub_nodrop: bool,
    /// XPUB: a message sent to each new subscriber.
    pub xpub_welcome_msg: Option<crate::Message>,
    /// PING every this often (None: no heartbeats).
    pub heartbeat_interval: Option<Duration>,
    /// Traffic must follow a PING within this (None: the interval).
    pub heartbeat_timeout: Option<Duration>,
    /// The TTL our PINGs ask the peer to apply (None: none).
    pub heartbeat_ttl: Option<Duration>,
    /// Queue messages only to connections whose handshake completed.
    pub immediate: bool,
    /// Keep only the newest message in each queue (PUSH, PULL, PUB, SUB,
    /// DEALER).
    pub conflate: bool,
    /// `*` binds and host names use IPv6 as well as IPv4.
    pub ipv6: bool,
    /// TCP keepalive settings for new connections.
    pub tcp_keepalive: Keepalive,
    /// BUS: forward received messages to the other peers.
    pub bus_relay: bool,
    /// The security mechanism, role and credentials (shared: options are
    /// copied into every session).
    pub mechanism: std::sync::Arc<crate::zmtp::Mechanism>,
    /// The ZAP domain sent to the authenticator; a NULL socket asks the
    /// authenticator only when it is set (libzmq's ZMQ_ZAP_DOMAIN).
    pub zap_domain: Bytes,
}

impl Options {
    /// Whether the queues to peers keep only the newest message: PUSH,
    /// PUB and DEALER conflate what they send (never subscriptions).
    pub(crate) fn conflate_out(&self, t: SocketType) -> bool {
        self.conflate && matches!(t, SocketType::Push | SocketType::Pub | SocketType::Dealer)
    }

    /// Whether the queues from peers keep only the newest message: PULL,
    /// SUB and DEALER conflate what they receive (a PUB's inbound queue
    /// carries subscriptions, which are never conflated).
    pub(crate) fn conflate_in(&self, t: SocketType) -> bool {
        self.conflate && matches!(t, SocketType::Pull | SocketType::Sub | SocketType::Dealer)
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            send_hwm: 1000,
            recv_hwm: 1000,
            linger: None,
            max_msg_size: None,
            max_frames: Some(crate::zmtp::DEFAULT_MAX_FRAMES),
            reconnect_interval: Some(Duration::from_millis(100)),
            reconnect_interval_max: None,
            handshake_interval: Some(Duration::from_secs(30)),
            routing_id: Bytes::new(),
            send_timeout: None,
            recv_timeout: None,
            backlog: 100,
            router_mandatory: false,
            router_handover: false,
            req_relaxed: false,
            req_correlate: false,
            connect_routing_id: None,
            probe_router: false,
            xpub_verbose: false,
            xpub_verboser: false,
            xpub_nodrop: false,
            xpub_welcome_msg: None,
            heartbeat_interval: None,
            heartbeat_timeout: None,
            heartbeat_ttl: None,
            immediate: false,
            conflate: false,
            ipv6: false,
            tcp_keepalive: Keepalive::default(),
            bus_relay: false,
            mechanism: Default::default(),
            zap_domain: Bytes::new(),
        }
    }
}
