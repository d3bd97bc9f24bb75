//! The `udp://` transport of RADIO and DISH, as libzmq's draft UDP
//! transport has it: a DISH binds (`udp://*:5555`, `udp://127.0.0.1:*`),
//! a RADIO connects (`udp://host:5555`), and each message travels as one
//! datagram with no handshake and no ZMTP:
//!
//! ```text
//! | group length (1 byte) | group (0-255 bytes) | body |
//! ```
//!
//! No JOIN ever reaches the RADIO, so it sends every group to a UDP peer
//! and the DISH keeps only the groups it joined.
//!
//! Sizes. libzmq's UDP engine (`MAX_UDP_MSG` in src/udp_engine.hpp)
//! drops a message whose datagram would exceed 8192 bytes, and reads
//! datagrams into an 8192-byte buffer *without* checking for truncation,
//! so a longer datagram reaches a libzmq DISH cut short. We therefore
//! send at most [`MAX_DATAGRAM`] bytes too (the RADIO drops and counts a
//! longer message), and receive datagrams of any size UDP carries
//! ([`RECV_BUFFER`]), so nothing a sender may send is ever cut.
//!
//! This file holds the endpoint syntax, the socket set-up and the pure
//! datagram codec; the I/O thread's side is in `io/udp.rs`.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use socket2::{Domain, Protocol, Socket as RawSocket, Type};

use super::tcp::TcpEndpoint;
use crate::{Error, Result, SocketType};

/// The largest datagram a RADIO sends: libzmq's limit (see the module
/// documentation), so that a libzmq DISH never receives a cut message.
pub(crate) const MAX_DATAGRAM: usize = 8192;

/// The receive buffer: larger than any UDP payload (65,507 bytes over
/// IPv4, 65,527 over IPv6), so no datagram is ever truncated.
pub(crate) const RECV_BUFFER: usize = 64 * 1024;

/// The longest group a datagram can name (its length is one byte).
const MAX_GROUP: usize = u8::MAX as usize;

/// A parsed `udp://host:port` address (port `None` is `*` or `0`). The
/// syntax is TCP's; libzmq's `iface;multicast-address` form is not
/// supported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UdpEndpoint(TcpEndpoint);

impl UdpEndpoint {
    /// Parses the part after `udp://`.
    pub(crate) fn parse(s: &str) -> Result<UdpEndpoint> {
        if s.contains(';') {
            return Err(Error::NotSupported(format!(
                "udp://{s}: multicast with an interface (iface;address:port) is not built yet"
            )));
        }
        TcpEndpoint::parse_for("udp", s).map(UdpEndpoint)
    }
}

/// The endpoint string of a bound address, as `last_endpoint` reports it.
pub(crate) fn endpoint_string(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("udp://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("udp://[{}]:{}", a.ip(), a.port()),
    }
}

/// Only a DISH binds `udp://` (libzmq answers ENOCOMPATPROTO otherwise).
pub(crate) fn check_bind(t: SocketType) -> Result<()> {
    match t {
        SocketType::Dish => Ok(()),
        SocketType::Radio => Err(Error::NotSupported(
            "a RADIO cannot bind udp://; it connects to the address a DISH bound".into(),
        )),
        other => Err(Error::NotSupported(format!(
            "udp:// carries only RADIO (connect) and DISH (bind) sockets, not {other}"
        ))),
    }
}

/// Only a RADIO connects `udp://` (libzmq answers ENOCOMPATPROTO
/// otherwise).
pub(crate) fn check_connect(t: SocketType) -> Result<()> {
    match t {
        SocketType::Radio => Ok(()),
        SocketType::Dish => Err(Error::NotSupported(
            "a DISH cannot connect udp://; it binds, and RADIOs connect to it".into(),
        )),
        other => Err(Error::NotSupported(format!(
            "udp:// carries only RADIO (connect) and DISH (bind) sockets, not {other}"
        ))),
    }
}

/// Binds a DISH's socket; returns it (non-blocking) and the resolved
/// endpoint (with the port the OS chose for `*` or 0). Unlike libzmq, no
/// SO_REUSEADDR: a port in use is an error here, not a silent share.
pub(crate) fn bind(ep: &UdpEndpoint, ipv6: bool) -> Result<(mio::net::UdpSocket, String)> {
    let addr = ep.0.bind_addr(ipv6)?;
    if addr.ip().is_multicast() {
        return Err(Error::NotSupported(format!(
            "udp://{addr}: binding a multicast group is not built yet"
        )));
    }
    let sock = RawSocket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // As for TCP: with the ipv6 option `[::]` takes IPv4 too.
        sock.set_only_v6(!ipv6)?;
    }
    sock.set_cloexec(true)?;
    sock.bind(&addr.into())?;
    sock.set_nonblocking(true)?;
    let std_socket: std::net::UdpSocket = sock.into();
    let local = std_socket.local_addr()?;
    Ok((
        mio::net::UdpSocket::from_std(std_socket),
        endpoint_string(local),
    ))
}

/// Opens a RADIO's sending socket for `ep` (a host name is resolved now,
/// to its first address); returns it (non-blocking, bound to an
/// ephemeral port, not connected, so that an ICMP "port unreachable"
/// never fails a later send) and the address to send to.
pub(crate) fn open_sender(
    ep: &UdpEndpoint,
    ipv6: bool,
) -> Result<(mio::net::UdpSocket, SocketAddr)> {
    let target =
        ep.0.connect_addrs(ipv6)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::InvalidEndpoint("the address resolves to nothing".into()))?;
    let local: SocketAddr = if target.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = RawSocket::new(Domain::for_address(local), Type::DGRAM, Some(Protocol::UDP))?;
    sock.set_cloexec(true)?;
    sock.bind(&local.into())?;
    sock.set_nonblocking(true)?;
    let std_socket: std::net::UdpSocket = sock.into();
    Ok((mio::net::UdpSocket::from_std(std_socket), target))
}

/// The size of the datagram that carries `group` and `body`.
pub(crate) fn datagram_len(group: &[u8], body: &[u8]) -> usize {
    1 + group.len() + body.len()
}

/// Why a message cannot be a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EncodeError {
    /// The group is over 255 bytes (the RADIO refuses those at `send`).
    GroupTooLong { len: usize },
    /// The datagram would exceed the limit.
    TooLarge { size: usize, max: usize },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::GroupTooLong { len } => {
                write!(f, "group of {len} bytes, over {MAX_GROUP}")
            }
            EncodeError::TooLarge { size, max } => {
                write!(f, "datagram of {size} bytes, over {max}")
            }
        }
    }
}

/// Writes the datagram of `[group, body]` into `out` (cleared first), if
/// it is at most `max` bytes.
pub(crate) fn encode(
    group: &[u8],
    body: &[u8],
    max: usize,
    out: &mut Vec<u8>,
) -> std::result::Result<(), EncodeError> {
    let Ok(len) = u8::try_from(group.len()) else {
        return Err(EncodeError::GroupTooLong { len: group.len() });
    };
    let size = datagram_len(group, body);
    if size > max {
        return Err(EncodeError::TooLarge { size, max });
    }
    out.clear();
    out.reserve(size);
    out.push(len);
    out.extend_from_slice(group);
    out.extend_from_slice(body);
    Ok(())
}

/// Why a received datagram is not a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// A datagram of no bytes: not even a group length.
    Empty,
    /// The group length byte says more than the datagram holds.
    GroupOverrun { group_len: usize, available: usize },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty => f.write_str("empty datagram"),
            DecodeError::GroupOverrun {
                group_len,
                available,
            } => write!(
                f,
                "group length {group_len} but only {available} bytes follow"
            ),
        }
    }
}

/// Splits a datagram into its group and body, both slices of it (no
/// copy). Never panics, whatever the bytes.
pub(crate) fn decode(datagram: &Bytes) -> std::result::Result<(Bytes, Bytes), DecodeError> {
    let Some(&len) = datagram.first() else {
        return Err(DecodeError::Empty);
    };
    let group_len = usize::from(len);
    let available = datagram.len() - 1;
    if group_len > available {
        return Err(DecodeError::GroupOverrun {
            group_len,
            available,
        });
    }
    let group = datagram.slice(1..1 + group_len);
    let body = datagram.slice(1 + group_len..);
    Ok((group, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::tcp::Host;
    use proptest::prelude::*;

    fn roundtrip(group: &[u8], body: &[u8]) -> (Bytes, Bytes) {
        let mut out = Vec::new();
        encode(group, body, usize::MAX, &mut out).unwrap();
        assert_eq!(out.len(), datagram_len(group, body));
        decode(&Bytes::from(out)).unwrap()
    }

    #[test]
    fn encodes_the_libzmq_layout() {
        let mut out = vec![9, 9, 9];
        encode(b"TV", b"Friends", MAX_DATAGRAM, &mut out).unwrap();
        assert_eq!(out, b"\x02TVFriends");
        encode(b"", b"", MAX_DATAGRAM, &mut out).unwrap();
        assert_eq!(out, b"\x00");
    }

    #[test]
    fn decodes_groups_and_bodies() {
        let (g, b) = decode(&Bytes::from_static(b"\x02TVFriends")).unwrap();
        assert_eq!((&g[..], &b[..]), (&b"TV"[..], &b"Friends"[..]));
        // An empty group and an empty body are both fine.
        let (g, b) = decode(&Bytes::from_static(b"\x00body")).unwrap();
        assert_eq!((&g[..], &b[..]), (&b""[..], &b"body"[..]));
        let (g, b) = decode(&Bytes::from_static(b"\x03abc")).unwrap();
        assert_eq!((&g[..], &b[..]), (&b"abc"[..], &b""[..]));
        let (g, b) = decode(&Bytes::from_static(b"\x00")).unwrap();
        assert!(g.is_empty() && b.is_empty());
    }

    #[test]
    fn rejects_empty_and_overrunning_datagrams() {
        assert_eq!(decode(&Bytes::new()), Err(DecodeError::Empty));
        assert_eq!(
            decode(&Bytes::from_static(b"\x05abc")),
            Err(DecodeError::GroupOverrun {
                group_len: 5,
                available: 3
            })
        );
        assert_eq!(
            decode(&Bytes::from_static(b"\xff")),
            Err(DecodeError::GroupOverrun {
                group_len: 255,
                available: 0
            })
        );
    }

    #[test]
    fn refuses_long_groups_and_oversized_datagrams() {
        let mut out = Vec::new();
        assert_eq!(
            encode(&[b'g'; 256], b"", usize::MAX, &mut out),
            Err(EncodeError::GroupTooLong { len: 256 })
        );
        let body = vec![0u8; MAX_DATAGRAM - 3];
        encode(b"ab", &body, MAX_DATAGRAM, &mut out).unwrap();
        assert_eq!(out.len(), MAX_DATAGRAM);
        let body = vec![0u8; MAX_DATAGRAM - 2];
        assert_eq!(
            encode(b"ab", &body, MAX_DATAGRAM, &mut out),
            Err(EncodeError::TooLarge {
                size: MAX_DATAGRAM + 1,
                max: MAX_DATAGRAM
            })
        );
        let (g, b) = roundtrip(&[7; 255], b"x");
        assert_eq!((g.len(), &b[..]), (255, &b"x"[..]));
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(
            group in proptest::collection::vec(any::<u8>(), 0..=255),
            body in proptest::collection::vec(any::<u8>(), 0..2000),
        ) {
            let (g, b) = roundtrip(&group, &body);
            prop_assert_eq!(&g[..], &group[..]);
            prop_assert_eq!(&b[..], &body[..]);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let datagram = Bytes::from(bytes.clone());
            match decode(&datagram) {
                Ok((g, b)) => {
                    prop_assert_eq!(usize::from(bytes[0]), g.len());
                    prop_assert_eq!(1 + g.len() + b.len(), bytes.len());
                }
                Err(DecodeError::Empty) => prop_assert!(bytes.is_empty()),
                Err(DecodeError::GroupOverrun { group_len, available }) => {
                    prop_assert!(group_len > available);
                    prop_assert_eq!(available + 1, bytes.len());
                }
            }
        }
    }

    #[test]
    fn parses_endpoints() {
        let e = UdpEndpoint::parse("127.0.0.1:5555").unwrap();
        assert_eq!(e.0.host, Host::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(e.0.port, Some(5555));
        let e = UdpEndpoint::parse("*:*").unwrap();
        assert_eq!((e.0.host, e.0.port), (Host::Any, None));
        for bad in ["", "1.2.3.4", "1.2.3.4:x", ":5"] {
            let err = UdpEndpoint::parse(bad).unwrap_err().to_string();
            assert!(err.contains("udp://"), "{err}");
        }
        assert!(matches!(
            UdpEndpoint::parse("eth0;239.0.0.1:5555"),
            Err(Error::NotSupported(_))
        ));
    }

    #[test]
    fn bind_reports_the_chosen_port() {
        let (s, ep) = bind(&UdpEndpoint::parse("127.0.0.1:*").unwrap(), false).unwrap();
        let port = s.local_addr().unwrap().port();
        assert_ne!(port, 0);
        assert_eq!(ep, format!("udp://127.0.0.1:{port}"));
        let (_s, ep) = bind(&UdpEndpoint::parse("*:0").unwrap(), false).unwrap();
        assert!(ep.starts_with("udp://0.0.0.0:"), "{ep}");
        // Without SO_REUSEADDR, a port in use is refused.
        let again = UdpEndpoint::parse(&format!("127.0.0.1:{port}")).unwrap();
        assert!(matches!(bind(&again, false), Err(Error::Io(_))));
        let group = UdpEndpoint::parse("239.1.2.3:5555").unwrap();
        assert!(matches!(bind(&group, false), Err(Error::NotSupported(_))));
    }

    #[test]
    fn senders_resolve_and_need_a_port_and_a_host() {
        let ep = UdpEndpoint::parse("localhost:5555").unwrap();
        let (_s, target) = open_sender(&ep, false).unwrap();
        assert_eq!(target, "127.0.0.1:5555".parse().unwrap());
        for bad in ["*:5555", "127.0.0.1:*", "127.0.0.1:0"] {
            let ep = UdpEndpoint::parse(bad).unwrap();
            assert!(
                matches!(open_sender(&ep, false), Err(Error::InvalidEndpoint(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_dish_binds_and_only_radio_connects() {
        assert!(check_bind(SocketType::Dish).is_ok());
        assert!(check_connect(SocketType::Radio).is_ok());
        for t in [SocketType::Radio, SocketType::Pub, SocketType::Pull] {
            assert!(matches!(check_bind(t), Err(Error::NotSupported(_))), "{t}");
        }
        for t in [SocketType::Dish, SocketType::Sub, SocketType::Push] {
            assert!(
                matches!(check_connect(t), Err(Error::NotSupported(_))),
                "{t}"
            );
        }
    }
}
