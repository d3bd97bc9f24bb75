//! The socket types of the roadmap, their ZMTP names and the pairing rules.
//!
//! RFC 37 (ZMTP 3.1) §"The Socket-Type Property": "The peer SHOULD verify
//! that the socket type of the other peer is valid" — a connection whose
//! types do not pair is closed during the handshake.

use std::fmt;

/// The kind of a [`Socket`](crate::Socket): its messaging pattern and role.
///
/// Every type of the roadmap is listed; [`Context::socket`](crate::Context::socket)
/// returns [`Error::NotSupported`](crate::Error::NotSupported) for the types
/// that are not built yet (see [`SocketType::is_supported`]).
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
