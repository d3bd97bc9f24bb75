//! Transports: how an endpoint string becomes a listener or a stream.
//!
//! `tcp://` and `ipc://` carry ZMTP over a byte stream; both are wrapped
//! in [`Stream`] and [`Listener`] so that the engine and the I/O thread
//! handle them alike. `inproc://` joins sockets of one context with pipes
//! alone (see [`inproc`]). `udp://` carries RADIO/DISH messages as single
//! datagrams, with no stream and no ZMTP (see [`udp`]).

pub(crate) mod inproc;
pub(crate) mod ipc;
pub(crate) mod tcp;
pub(crate) mod udp;

use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;

use mio::event::Source;
use mio::{Interest, Registry, Token};

use crate::{Error, Result};

/// A parsed endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `tcp://host:port`.
    Tcp(tcp::TcpEndpoint),
    /// `ipc://path` or `ipc://@name`.
    Ipc(ipc::IpcEndpoint),
    /// `inproc://name`: handled by the context, not the I/O thread.
    Inproc(String),
    /// `udp://host:port`: RADIO/DISH datagrams, no listener, no stream.
    Udp(udp::UdpEndpoint),
}

impl Endpoint {
    /// Parses `transport://address`.
    pub(crate) fn parse(s: &str) -> Result<Endpoint> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| Error::InvalidEndpoint(format!("{s:?} has no transport:// prefix")))?;
        match scheme {
            "tcp" => Ok(Endpoint::Tcp(tcp::TcpEndpoint::parse(rest)?)),
            "ipc" => Ok(Endpoint::Ipc(ipc::IpcEndpoint::parse(rest)?)),
            "inproc" if !rest.is_empty() => Ok(Endpoint::Inproc(rest.to_string())),
            "inproc" => Err(Error::InvalidEndpoint("inproc:// needs a name".into())),
            "udp" => Ok(Endpoint::Udp(udp::UdpEndpoint::parse(rest)?)),
            other => Err(Error::InvalidEndpoint(format!(
                "unknown transport {other:?} in {s:?}"
            ))),
        }
    }

    /// Binds and listens; returns the listener and the resolved endpoint.
    pub(crate) fn listen(&self, backlog: i32, ipv6: bool) -> Result<(Listener, String)> {
        match self {
            Endpoint::Tcp(ep) => {
                let (l, s) = tcp::listen(ep, backlog, ipv6)?;
                Ok((Listener::Tcp(l), s))
            }
            Endpoint::Ipc(ep) => {
                let (l, s) = ipc::listen(ep)?;
                Ok((Listener::Ipc(l, ep.path()), s))
            }
            Endpoint::Inproc(name) => Err(Error::InvalidEndpoint(format!(
                "inproc://{name} has no listener"
            ))),
            Endpoint::Udp(_) => Err(Error::InvalidEndpoint("udp:// has no listener".into())),
        }
    }

    /// The addresses a connect tries in turn (host names resolved now;
    /// to IPv6 addresses only with `ipv6`).
    pub(crate) fn remotes(&self, ipv6: bool) -> Result<Vec<Remote>> {
        match self {
            Endpoint::Tcp(ep) => Ok(ep
                .connect_addrs(ipv6)?
                .into_iter()
                .map(Remote::Tcp)
                .collect()),
            Endpoint::Ipc(ep) => Ok(vec![Remote::Ipc(ep.addr()?)]),
            Endpoint::Inproc(name) => Err(Error::InvalidEndpoint(format!(
                "inproc://{name} has no network address"
            ))),
            Endpoint::Udp(_) => Err(Error::InvalidEndpoint("udp:// makes no connection".into())),
        }
    }
}

/// One address to connect to.
#[derive(Clone, Debug)]
pub(crate) enum Remote {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix socket address (path or abstract name).
    Ipc(std::os::unix::net::SocketAddr),
}

impl Remote {
    /// Starts a non-blocking connect.
    pub(crate) fn connect(&self) -> io::Result<Stream> {
        match self {
            Remote::Tcp(a) => tcp::connect(*a).map(Stream::Tcp),
            Remote::Ipc(a) => ipc::connect(a).map(Stream::Ipc),
        }
    }
}

/// A connected byte stream of either transport.
pub(crate) enum Stream {
    /// TCP.
    Tcp(mio::net::TcpStream),
    /// A Unix domain socket.
    Ipc(mio::net::UnixStream),
}

impl Stream {
    /// The remote address, for TCP; `Ok(None)` for ipc. An
    /// `ErrorKind::NotConnected` error means a connect is still under way.
    pub(crate) fn peer_addr(&self) -> io::Result<Option<SocketAddr>> {
        match self {
            Stream::Tcp(s) => s.peer_addr().map(Some),
            Stream::Ipc(s) => s.peer_addr().map(|_| None),
        }
    }

    /// Applies TCP keepalive settings (nothing to do for ipc).
    pub(crate) fn set_keepalive(&self, keepalive: &tcp::Keepalive) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => keepalive.apply(s),
            Stream::Ipc(_) => Ok(()),
        }
    }

    /// The pending socket error, if any (how a failed connect reports).
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            Stream::Tcp(s) => s.take_error(),
            Stream::Ipc(s) => s.take_error(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Ipc(s) => s.read(buf),
        }
    }
}

/// Writes never raise SIGPIPE: a peer that has gone is an `EPIPE` error
/// for the engine, not a signal that kills a host process which left
/// SIGPIPE at its default (Rust programs ignore it, C hosts and fuzzers
/// do not). `writev` has no flags, so writes go through `sendmsg` with
/// `MSG_NOSIGNAL`.
#[cfg(any(target_os = "linux", target_os = "android"))]
impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock().send_with_flags(buf, libc::MSG_NOSIGNAL)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.sock()
            .send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl Stream {
    fn sock(&self) -> socket2::SockRef<'_> {
        match self {
            Stream::Tcp(s) => socket2::SockRef::from(s),
            Stream::Ipc(s) => socket2::SockRef::from(s),
        }
    }
}

/// Elsewhere, plain writes (SIGPIPE as the platform has it).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Ipc(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Ipc(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Source for Stream {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.register(r, t, i),
            Stream::Ipc(s) => s.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.reregister(r, t, i),
            Stream::Ipc(s) => s.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.deregister(r),
            Stream::Ipc(s) => s.deregister(r),
        }
    }
}

/// A bound endpoint of either transport. An ipc listener remembers its
/// socket file, which is removed when the listener is dropped.
pub(crate) enum Listener {
    /// TCP.
    Tcp(mio::net::TcpListener),
    /// A Unix domain socket, and its file unless the name is abstract.
    Ipc(mio::net::UnixListener, Option<std::path::PathBuf>),
}

impl Listener {
    /// Accepts one connection; the remote address for TCP.
    pub(crate) fn accept(&self) -> io::Result<(Stream, Option<SocketAddr>)> {
        match self {
            Listener::Tcp(l) => {
                let (s, a) = l.accept()?;
                if let Err(e) = s.set_nodelay(true) {
                    log::debug!("TCP_NODELAY on connection from {a}: {e}");
                }
                Ok((Stream::Tcp(s), Some(a)))
            }
            Listener::Ipc(l, _) => l.accept().map(|(s, _)| (Stream::Ipc(s), None)),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Ipc(_, Some(path)) = self
            && let Err(e) = std::fs::remove_file(&*path)
        {
            log::debug!("cannot remove {}: {e}", path.display());
        }
    }
}

impl Source for Listener {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.register(r, t, i),
            Listener::Ipc(l, _) => l.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.reregister(r, t, i),
            Listener::Ipc(l, _) => l.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.deregister(r),
            Listener::Ipc(l, _) => l.deregister(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_unknown_and_unbuilt_transports() {
        assert!(matches!(
            Endpoint::parse("pgm://1.2.3.4:5"),
            Err(Error::InvalidEndpoint(_))
        ));
        assert!(matches!(
            Endpoint::parse("udp://1.2.3.4:5"),
            Ok(Endpoint::Udp(_))
        ));
        assert!(matches!(Endpoint::parse("inproc://x"), Ok(Endpoint::Inproc(n)) if n == "x"));
        assert!(matches!(
            Endpoint::parse("inproc://"),
            Err(Error::InvalidEndpoint(_))
        ));
        assert!(matches!(
            Endpoint::parse("127.0.0.1:5"),
            Err(Error::InvalidEndpoint(_))
        ));
        assert!(matches!(
            Endpoint::parse("ipc:///tmp/a"),
            Ok(Endpoint::Ipc(_))
        ));
    }
}
