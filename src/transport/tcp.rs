//! The `tcp://` transport: endpoint syntax, listeners and outgoing
//! streams, with the socket options libzmq sets (TCP_NODELAY,
//! SO_REUSEADDR on listeners).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket as RawSocket, TcpKeepalive, Type};

use crate::{Error, Result};

/// The host part of a TCP endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Host {
    /// `*`: every interface (bind only).
    Any,
    /// A literal address; IPv6 is written in brackets.
    Ip(IpAddr),
    /// A name to resolve.
    Name(String),
}

/// A parsed `tcp://host:port` address (port `None` is `*` or `0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TcpEndpoint {
    pub host: Host,
    pub port: Option<u16>,
}

impl TcpEndpoint {
    /// Parses the part after `tcp://`.
    pub(crate) fn parse(s: &str) -> Result<TcpEndpoint> {
        TcpEndpoint::parse_for("tcp", s)
    }

    /// Parses the `host:port` part of an endpoint of `scheme` (`tcp`, or
    /// `udp`, which has the same syntax); errors name the scheme.
    pub(crate) fn parse_for(scheme: &str, s: &str) -> Result<TcpEndpoint> {
        let bad = |why: &str| Error::InvalidEndpoint(format!("{scheme}://{s}: {why}"));
        let (host, port) = s.rsplit_once(':').ok_or_else(|| bad("missing :port"))?;
        let port = match port {
            "*" | "0" => None,
            p => Some(p.parse::<u16>().map_err(|_| bad("bad port"))?),
        };
        let host = if host == "*" {
            Host::Any
        } else if let Some(inner) = host.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or_else(|| bad("unclosed ["))?;
            Host::Ip(IpAddr::V6(
                inner.parse().map_err(|_| bad("bad IPv6 address"))?,
            ))
        } else if let Ok(ip) = host.parse::<Ipv4Addr>() {
            Host::Ip(IpAddr::V4(ip))
        } else if host.is_empty() || host.contains([':', '/', ' ']) {
            return Err(bad("bad host"));
        } else {
            Host::Name(host.to_string())
        };
        Ok(TcpEndpoint { host, port })
    }

    /// The address to bind to. `*` is every IPv4 interface, or with
    /// `ipv6` every interface of both families (`[::]`, dual-stack).
    pub(crate) fn bind_addr(&self, ipv6: bool) -> Result<SocketAddr> {
        let port = self.port.unwrap_or(0);
        match &self.host {
            Host::Any if ipv6 => Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)),
            Host::Any => Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)),
            Host::Ip(ip) => Ok(SocketAddr::new(*ip, port)),
            Host::Name(name) => pick_family(name, resolve(name, port)?, ipv6)?
                .into_iter()
                .next()
                .ok_or_else(|| Error::InvalidEndpoint(format!("{name} resolves to nothing"))),
        }
    }

    /// The addresses to try when connecting. A literal address is used
    /// as written; a host name gives its IPv4 addresses, or with `ipv6`
    /// its IPv6 addresses then its IPv4 ones.
    pub(crate) fn connect_addrs(&self, ipv6: bool) -> Result<Vec<SocketAddr>> {
        let port = self.port.ok_or_else(|| {
            Error::InvalidEndpoint("connect needs a port other than * or 0".into())
        })?;
        match &self.host {
            Host::Any => Err(Error::InvalidEndpoint("cannot connect to *".into())),
            Host::Ip(ip) => Ok(vec![SocketAddr::new(*ip, port)]),
            Host::Name(name) => pick_family(name, resolve(name, port)?, ipv6),
        }
    }
}

/// Orders resolved addresses as libzmq's IPV6 option does: without it
/// only IPv4 addresses are used; with it IPv6 comes first, then IPv4.
fn pick_family(name: &str, mut addrs: Vec<SocketAddr>, ipv6: bool) -> Result<Vec<SocketAddr>> {
    let found = addrs.len();
    if ipv6 {
        addrs.sort_by_key(|a| a.is_ipv4());
    } else {
        addrs.retain(SocketAddr::is_ipv4);
    }
    addrs.dedup();
    if addrs.is_empty() {
        return Err(Error::InvalidEndpoint(if found > 0 {
            format!("{name} has only IPv6 addresses; set the socket's ipv6 option to use them")
        } else {
            format!("{name} resolves to nothing")
        }));
    }
    Ok(addrs)
}

fn resolve(name: &str, port: u16) -> Result<Vec<SocketAddr>> {
    (name, port)
        .to_socket_addrs()
        .map(|it| it.collect())
        .map_err(|e| Error::InvalidEndpoint(format!("cannot resolve {name}: {e}")))
}

/// The endpoint string libzmq reports for a bound or connected address.
pub(crate) fn endpoint_string(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("tcp://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("tcp://[{}]:{}", a.ip(), a.port()),
    }
}

/// Binds and listens; returns the non-blocking listener and its resolved
/// endpoint (with the port the OS chose for `*` or 0).
pub(crate) fn listen(
    ep: &TcpEndpoint,
    backlog: i32,
    ipv6: bool,
) -> Result<(mio::net::TcpListener, String)> {
    let addr = ep.bind_addr(ipv6)?;
    let sock = RawSocket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        // With the ipv6 option an IPv6 bind takes IPv4 connections too
        // (libzmq clears IPV6_V6ONLY); without it, a literal IPv6 bind
        // accepts only IPv6.
        sock.set_only_v6(!ipv6)?;
    }
    sock.set_reuse_address(true)?;
    sock.set_cloexec(true)?;
    sock.bind(&addr.into())?;
    sock.listen(backlog)?;
    sock.set_nonblocking(true)?;
    let std_listener: std::net::TcpListener = sock.into();
    let local = std_listener.local_addr()?;
    Ok((
        mio::net::TcpListener::from_std(std_listener),
        endpoint_string(local),
    ))
}

/// Starts a non-blocking connect; completion is signalled by writability.
pub(crate) fn connect(addr: SocketAddr) -> std::io::Result<mio::net::TcpStream> {
    let stream = mio::net::TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// TCP keepalive settings, libzmq's `ZMQ_TCP_KEEPALIVE*` options: `None`
/// leaves the operating system's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Keepalive {
    /// SO_KEEPALIVE on or off.
    pub enabled: Option<bool>,
    /// Idle time before the first probe (TCP_KEEPIDLE).
    pub idle: Option<Duration>,
    /// Time between probes (TCP_KEEPINTVL).
    pub interval: Option<Duration>,
    /// Probes lost before the connection is dropped (TCP_KEEPCNT).
    pub count: Option<u32>,
}

impl Keepalive {
    /// Applies the settings to a connected stream. As in libzmq, idle,
    /// interval and count take effect only with keepalive switched on.
    pub(crate) fn apply(&self, stream: &mio::net::TcpStream) -> std::io::Result<()> {
        let sock = SockRef::from(stream);
        match self.enabled {
            None => Ok(()),
            Some(false) => sock.set_keepalive(false),
            Some(true) => {
                let mut params = TcpKeepalive::new();
                if let Some(idle) = self.idle {
                    params = params.with_time(idle);
                }
                if let Some(interval) = self.interval {
                    params = params.with_interval(interval);
                }
                if let Some(count) = self.count {
                    params = params.with_retries(count);
                }
                // Sets SO_KEEPALIVE too.
                sock.set_tcp_keepalive(&params)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_and_ports() {
        let e = TcpEndpoint::parse("127.0.0.1:5555").unwrap();
        assert_eq!(e.host, Host::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(e.port, Some(5555));
        let e = TcpEndpoint::parse("*:*").unwrap();
        assert_eq!((e.host, e.port), (Host::Any, None));
        let e = TcpEndpoint::parse("[::1]:0").unwrap();
        assert_eq!(e.host, Host::Ip("::1".parse().unwrap()));
        assert_eq!(e.port, None);
        let e = TcpEndpoint::parse("localhost:1").unwrap();
        assert_eq!(e.host, Host::Name("localhost".into()));
        for bad in ["", "1.2.3.4", "1.2.3.4:x", "[::1:5", ":5", "1.2.3.4:70000"] {
            assert!(TcpEndpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn listen_reports_resolved_port() {
        let ep = TcpEndpoint::parse("127.0.0.1:*").unwrap();
        let (_l, s) = listen(&ep, 10, false).unwrap();
        assert!(s.starts_with("tcp://127.0.0.1:"));
        assert_ne!(s, "tcp://127.0.0.1:0");
    }

    #[test]
    fn connect_needs_a_port_and_a_host() {
        assert!(
            TcpEndpoint::parse("*:5")
                .unwrap()
                .connect_addrs(false)
                .is_err()
        );
        assert!(
            TcpEndpoint::parse("1.2.3.4:*")
                .unwrap()
                .connect_addrs(false)
                .is_err()
        );
        let addrs = TcpEndpoint::parse("localhost:7")
            .unwrap()
            .connect_addrs(false)
            .unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.port() == 7));
    }

    #[test]
    fn host_names_use_ipv6_only_with_the_option() {
        let v4: SocketAddr = "10.0.0.1:7".parse().unwrap();
        let v6: SocketAddr = "[fe80::1]:7".parse().unwrap();
        let both = vec![v4, v6, v4];
        assert_eq!(pick_family("h", both.clone(), false).unwrap(), vec![v4]);
        assert_eq!(pick_family("h", both, true).unwrap(), vec![v6, v4]);
        let err = pick_family("h", vec![v6], false).unwrap_err().to_string();
        assert!(err.contains("ipv6 option"), "{err}");
        assert!(pick_family("h", vec![], true).is_err());
        // Literal addresses are used as written, whatever the option.
        let lit = TcpEndpoint::parse("[::1]:7").unwrap();
        assert_eq!(
            lit.connect_addrs(false).unwrap(),
            vec!["[::1]:7".parse().unwrap()]
        );
    }

    #[test]
    fn a_wildcard_bind_with_ipv6_takes_both_families() {
        let ep = TcpEndpoint::parse("*:0").unwrap();
        let (_l, s) = listen(&ep, 10, false).unwrap();
        assert!(s.starts_with("tcp://0.0.0.0:"), "{s}");
        let (l, s) = listen(&ep, 10, true).unwrap();
        assert!(s.starts_with("tcp://[::]:"), "{s}");
        let port = l.local_addr().unwrap().port();
        std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        std::net::TcpStream::connect(("::1", port)).unwrap();
    }

    #[test]
    fn keepalive_settings_reach_the_socket() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let s = connect(l.local_addr().unwrap()).unwrap();
        let sock = SockRef::from(&s);
        let before = sock.keepalive().unwrap();
        Keepalive::default().apply(&s).unwrap();
        assert_eq!(sock.keepalive().unwrap(), before);
        let on = Keepalive {
            enabled: Some(true),
            idle: Some(Duration::from_secs(42)),
            interval: Some(Duration::from_secs(7)),
            count: Some(3),
        };
        on.apply(&s).unwrap();
        assert!(sock.keepalive().unwrap());
        assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(42));
        assert_eq!(
            sock.tcp_keepalive_interval().unwrap(),
            Duration::from_secs(7)
        );
        assert_eq!(sock.tcp_keepalive_retries().unwrap(), 3);
        let off = Keepalive {
            enabled: Some(false),
            ..on
        };
        off.apply(&s).unwrap();
        assert!(!sock.keepalive().unwrap());
    }
}
