//! Transports: how an endpoint string becomes a listener or a stream.
//!
//! Only `tcp://` exists so far; `ipc://` and `inproc://` are recognised and
//! refused with [`Error::NotSupported`].

pub(crate) mod tcp;

use crate::{Error, Result};

/// A parsed endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `tcp://host:port`.
    Tcp(tcp::TcpEndpoint),
}

impl Endpoint {
    /// Parses `transport://address`.
    pub(crate) fn parse(s: &str) -> Result<Endpoint> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| Error::InvalidEndpoint(format!("{s:?} has no transport:// prefix")))?;
        match scheme {
            "tcp" => Ok(Endpoint::Tcp(tcp::TcpEndpoint::parse(rest)?)),
            "ipc" | "inproc" => Err(Error::NotSupported(format!(
                "the {scheme} transport is not built yet"
            ))),
            other => Err(Error::InvalidEndpoint(format!(
                "unknown transport {other:?} in {s:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_unknown_and_unbuilt_transports() {
        assert!(matches!(
            Endpoint::parse("udp://1.2.3.4:5"),
            Err(Error::InvalidEndpoint(_))
        ));
        assert!(matches!(
            Endpoint::parse("ipc:///tmp/x"),
            Err(Error::NotSupported(_))
        ));
        assert!(matches!(
            Endpoint::parse("127.0.0.1:5"),
            Err(Error::InvalidEndpoint(_))
        ));
    }
}
