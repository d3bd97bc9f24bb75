//! The `tcp://` transport: endpoint syntax, listeners and outgoing
//! streams, with the socket options libzmq sets (TCP_NODELAY,
//! SO_REUSEADDR on listeners).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use socket2::{Domain, Protocol, Socket as RawSocket, Type};

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
        let bad = |why: &str| Error::InvalidEndpoint(format!("tcp://{s}: {why}"));
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

    /// The addresses to bind to.
    fn bind_addr(&self) -> Result<SocketAddr> {
        let port = self.port.unwrap_or(0);
        match &self.host {
            Host::Any => Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)),
            Host::Ip(ip) => Ok(SocketAddr::new(*ip, port)),
            Host::Name(name) => resolve(name, port)?
                .into_iter()
                .next()
                .ok_or_else(|| Error::InvalidEndpoint(format!("{name} resolves to nothing"))),
        }
    }

    /// The addresses to try when connecting, IPv4 first (as libzmq does
    /// without its IPV6 option), then IPv6.
    pub(crate) fn connect_addrs(&self) -> Result<Vec<SocketAddr>> {
        let port = self.port.ok_or_else(|| {
            Error::InvalidEndpoint("connect needs a port other than * or 0".into())
        })?;
        match &self.host {
            Host::Any => Err(Error::InvalidEndpoint("cannot connect to *".into())),
            Host::Ip(ip) => Ok(vec![SocketAddr::new(*ip, port)]),
            Host::Name(name) => {
                let mut addrs = resolve(name, port)?;
                addrs.sort_by_key(|a| a.is_ipv6());
                addrs.dedup();
                if addrs.is_empty() {
                    return Err(Error::InvalidEndpoint(format!(
                        "{name} resolves to nothing"
                    )));
                }
                Ok(addrs)
            }
        }
    }
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
pub(crate) fn listen(ep: &TcpEndpoint, backlog: i32) -> Result<(mio::net::TcpListener, String)> {
    let addr = ep.bind_addr()?;
    let sock = RawSocket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        // `[::]` and friends accept only IPv6, as libzmq's literal binds do.
        sock.set_only_v6(true)?;
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
        let (_l, s) = listen(&ep, 10).unwrap();
        assert!(s.starts_with("tcp://127.0.0.1:"));
        assert_ne!(s, "tcp://127.0.0.1:0");
    }

    #[test]
    fn connect_needs_a_port_and_a_host() {
        assert!(TcpEndpoint::parse("*:5").unwrap().connect_addrs().is_err());
        assert!(
            TcpEndpoint::parse("1.2.3.4:*")
                .unwrap()
                .connect_addrs()
                .is_err()
        );
        let addrs = TcpEndpoint::parse("localhost:7")
            .unwrap()
            .connect_addrs()
            .unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.port() == 7));
    }
}
