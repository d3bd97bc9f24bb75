//! The socket types of the roadmap, their ZMTP names and the pairing rules.
//!
//! RFC 37 (ZMTP 3.1) §"The Socket-Type Property": "The peer SHOULD verify
//! that the socket type of the other peer is valid" — a connection whose
//! types do not pair is closed during the handshake.

use std::fmt;

/// The kind of a [`Socket`](crate::Socket): its messaging pattern and role.
///
/// Every type of the roadmap is built (see [`SocketType::is_supported`]).
/// Each pattern in a few lines, over inproc so that the examples run
/// alone (tcp, ipc and udp endpoints work the same way):
///
/// Request-reply (REQ, REP, DEALER, ROUTER):
/// ```
/// # use brokerless::{Context, Message, SocketType};
/// let ctx = Context::new();
/// let rep = ctx.socket(SocketType::Rep)?;
/// rep.bind("inproc://rr")?;
/// let req = ctx.socket(SocketType::Req)?;
/// req.connect("inproc://rr")?;
/// req.send("ping")?;
/// assert_eq!(&rep.recv()?[0], b"ping");
/// rep.send("pong")?;
/// assert_eq!(&req.recv()?[0], b"pong");
///
/// // A ROUTER sees who asked (its routing id first) and answers them.
/// let router = ctx.socket(SocketType::Router)?;
/// router.bind("inproc://dr")?;
/// let dealer = ctx.socket(SocketType::Dealer)?;
/// dealer.set_routing_id("worker-1")?;
/// dealer.connect("inproc://dr")?;
/// dealer.send("ready")?;
/// let m = router.recv()?;
/// assert_eq!((&m[0], &m[1]), (&b"worker-1"[..], &b"ready"[..]));
/// router.send(Message::from(vec![m.frames()[0].clone(), "go".into()]))?;
/// assert_eq!(&dealer.recv()?[0], b"go");
/// # Ok::<(), brokerless::Error>(())
/// ```
///
/// Publish-subscribe (PUB, SUB, XPUB, XSUB):
/// ```
/// # use std::time::Duration;
/// # use brokerless::{Context, SocketType};
/// let ctx = Context::new();
/// let publ = ctx.socket(SocketType::XPub)?;
/// publ.bind("inproc://ps")?;
/// let sub = ctx.socket(SocketType::Sub)?;
/// sub.subscribe("weather.")?;
/// sub.connect("inproc://ps")?;
/// assert_eq!(&publ.recv()?[0], b"\x01weather."); // XPUB sees the subscription
/// publ.send("news.local")?; // filtered out at the publisher
/// publ.send("weather.rome")?;
/// assert_eq!(&sub.recv()?[0], b"weather.rome");
/// # Ok::<(), brokerless::Error>(())
/// ```
///
/// Pipeline (PUSH, PULL) and exclusive pairs (PAIR):
/// ```
/// # use brokerless::{Context, SocketType};
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// pull.bind("inproc://pipe")?;
/// let push = ctx.socket(SocketType::Push)?;
/// push.connect("inproc://pipe")?;
/// push.send("task")?;
/// assert_eq!(&pull.recv()?[0], b"task");
///
/// let a = ctx.socket(SocketType::Pair)?;
/// a.bind("inproc://pair")?;
/// let b = ctx.socket(SocketType::Pair)?;
/// b.connect("inproc://pair")?;
/// b.send("hi")?;
/// assert_eq!(&a.recv()?[0], b"hi");
/// # Ok::<(), brokerless::Error>(())
/// ```
///
/// Groups (RADIO, DISH) and many-to-many (BUS):
/// ```
/// # use std::time::Duration;
/// # use brokerless::{Context, Message, SocketType};
/// let ctx = Context::new();
/// let radio = ctx.socket(SocketType::Radio)?;
/// radio.bind("inproc://rd")?;
/// let dish = ctx.socket(SocketType::Dish)?;
/// dish.join("sports")?;
/// dish.connect("inproc://rd")?;
/// radio.wait_for_subscribers(1, Duration::from_secs(5))?;
/// radio.send(Message::with_group("weather", "rain"))?; // not joined
/// radio.send(Message::with_group("sports", "goal"))?;
/// let m = dish.recv()?;
/// assert_eq!((&m[0], &m[1]), (&b"sports"[..], &b"goal"[..]));
///
/// let nodes: Vec<_> = (0..3)
///     .map(|i| {
///         let n = ctx.socket(SocketType::Bus)?;
///         n.bind(&format!("inproc://bus-{i}"))?;
///         Ok(n)
///     })
///     .collect::<Result<_, brokerless::Error>>()?;
/// for (i, n) in nodes.iter().enumerate() {
///     for j in 0..i {
///         n.connect(&format!("inproc://bus-{j}"))?;
///     }
/// }
/// nodes[0].send("hello, everyone")?;
/// assert_eq!(&nodes[1].recv()?[0], b"hello, everyone");
/// assert_eq!(&nodes[2].recv()?[0], b"hello, everyone");
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketType {
    /// Request side of request-reply: send, then receive, in lockstep.
    Req,
    /// Reply side of request-reply: receive a request, then reply to it.
    Rep,
    /// Asynchronous request side: round-robin out, fair-queued in.
    Dealer,
    /// Asynchronous reply side: addresses peers by routing id.
    Router,
    /// Publisher: fans messages out to matching subscribers.
    Pub,
    /// Subscriber: receives the topics it subscribed to.
    Sub,
    /// Publisher that also receives subscription messages.
    XPub,
    /// Subscriber that sends subscriptions as messages.
    XSub,
    /// Pipeline sender: round-robin to pullers, blocks at the high-water mark.
    Push,
    /// Pipeline receiver: fair-queued from pushers.
    Pull,
    /// Exclusive pair: exactly one peer.
    Pair,
    /// Many-to-many bus (a type of this library only).
    Bus,
    /// Group broadcast sender.
    Radio,
    /// Group broadcast receiver.
    Dish,
}

impl SocketType {
    /// Every socket type, in declaration order.
    pub const ALL: [SocketType; 14] = [
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Router,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::XPub,
        SocketType::XSub,
        SocketType::Push,
        SocketType::Pull,
        SocketType::Pair,
        SocketType::Bus,
        SocketType::Radio,
        SocketType::Dish,
    ];

    /// The name sent in the `Socket-Type` property of READY, spelled as
    /// libzmq spells it (upper case).
    pub fn name(self) -> &'static str {
        match self {
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
            SocketType::Push => "PUSH",
            SocketType::Pull => "PULL",
            SocketType::Pair => "PAIR",
            SocketType::Bus => "BUS",
            SocketType::Radio => "RADIO",
            SocketType::Dish => "DISH",
        }
    }

    /// The type whose `Socket-Type` property value is `name`, compared
    /// byte for byte as libzmq does.
    pub fn from_name(name: &[u8]) -> Option<SocketType> {
        SocketType::ALL
            .into_iter()
            .find(|t| t.name().as_bytes() == name)
    }

    /// Whether a socket of this type may talk to a peer of type `peer`
    /// (the table of RFC 37 and libzmq's `mechanism_t::check_socket_type`).
    pub fn is_compatible(self, peer: SocketType) -> bool {
        use SocketType::*;
        match self {
            Req => matches!(peer, Rep | Router),
            Rep => matches!(peer, Req | Dealer),
            Dealer => matches!(peer, Rep | Dealer | Router),
            Router => matches!(peer, Req | Dealer | Router),
            Pub | XPub => matches!(peer, Sub | XSub),
            Sub | XSub => matches!(peer, Pub | XPub),
            Push => peer == Pull,
            Pull => peer == Push,
            Pair => peer == Pair,
            Bus => peer == Bus,
            Radio => peer == Dish,
            Dish => peer == Radio,
        }
    }

    /// Whether [`Context::socket`](crate::Context::socket) can create this
    /// type in this version of the crate.
    pub fn is_supported(self) -> bool {
        matches!(
            self,
            SocketType::Push
                | SocketType::Pull
                | SocketType::Req
                | SocketType::Rep
                | SocketType::Dealer
                | SocketType::Router
                | SocketType::Pair
                | SocketType::Pub
                | SocketType::Sub
                | SocketType::XPub
                | SocketType::XSub
                | SocketType::Radio
                | SocketType::Dish
                | SocketType::Bus
        )
    }

    /// Whether this type sends its `Identity` (routing id) in READY, as
    /// libzmq does for REQ, DEALER and ROUTER (and BUS, so that a node can
    /// tell its peers apart in [`Socket::bus_peers`](crate::Socket::bus_peers)).
    pub fn sends_identity(self) -> bool {
        matches!(
            self,
            SocketType::Req | SocketType::Dealer | SocketType::Router | SocketType::Bus
        )
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in SocketType::ALL {
            assert_eq!(SocketType::from_name(t.name().as_bytes()), Some(t));
        }
        assert_eq!(SocketType::from_name(b"push"), None);
        assert_eq!(SocketType::from_name(b""), None);
    }

    #[test]
    fn compatibility_is_symmetric() {
        for a in SocketType::ALL {
            for b in SocketType::ALL {
                assert_eq!(a.is_compatible(b), b.is_compatible(a), "{a} {b}");
            }
        }
    }

    #[test]
    fn rfc_pairings() {
        use SocketType::*;
        assert!(Push.is_compatible(Pull));
        assert!(!Push.is_compatible(Push));
        assert!(Req.is_compatible(Router));
        assert!(!Req.is_compatible(Req));
        assert!(XPub.is_compatible(Sub));
        assert!(!Pair.is_compatible(Push));
    }
}
