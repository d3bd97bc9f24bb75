//! The `ipc://` transport: Unix domain stream sockets.
//!
//! `ipc://path` binds a socket file (a stale one left by a dead process is
//! removed first, as libzmq does) and removes it again when the listener
//! closes; `ipc://@name` uses the Linux abstract namespace, which has no
//! file at all. Paths are limited to 107 bytes by the kernel.

use std::os::unix::net::SocketAddr;
use std::path::PathBuf;

use crate::{Error, Result};

/// The longest path a Unix socket address holds (sun_path minus the NUL).
const MAX_PATH: usize = 107;

/// A parsed `ipc://` address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IpcEndpoint {
    /// What followed `ipc://`.
    pub name: String,
}

impl IpcEndpoint {
    /// Parses the part after `ipc://`.
    pub(crate) fn parse(s: &str) -> Result<IpcEndpoint> {
        if s.is_empty() || s == "*" {
            return Err(Error::InvalidEndpoint(format!(
                "ipc://{s}: a path or @name is needed"
            )));
        }
        if s.len() > MAX_PATH {
            return Err(Error::InvalidEndpoint(format!(
                "ipc://{s}: longer than {MAX_PATH} bytes"
            )));
        }
        Ok(IpcEndpoint {
            name: s.to_string(),
        })
    }

    /// The file to create and remove, unless the name is abstract.
    pub(crate) fn path(&self) -> Option<PathBuf> {
        (!self.name.starts_with('@')).then(|| PathBuf::from(&self.name))
    }

    /// The socket address: the path, or the abstract name after `@`.
    pub(crate) fn addr(&self) -> Result<SocketAddr> {
        let bad = |e: std::io::Error| Error::InvalidEndpoint(format!("ipc://{}: {e}", self.name));
        match self.name.strip_prefix('@') {
            Some(abstract_name) => abstract_addr(abstract_name.as_bytes()).map_err(bad),
            None => SocketAddr::from_pathname(&self.name).map_err(bad),
        }
    }

    /// `ipc://` and the name, as `last_endpoint` reports it.
    pub(crate) fn endpoint_string(&self) -> String {
        format!("ipc://{}", self.name)
    }
}

#[cfg(target_os = "linux")]
fn abstract_addr(name: &[u8]) -> std::io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(target_os = "linux"))]
fn abstract_addr(_name: &[u8]) -> std::io::Result<SocketAddr> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "abstract socket names exist only on Linux",
    ))
}

/// Binds and listens; a stale socket file is removed first.
pub(crate) fn listen(ep: &IpcEndpoint) -> Result<(mio::net::UnixListener, String)> {
    let addr = ep.addr()?;
    if let Some(path) = ep.path() {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if is_socket(&meta) => {
                // Only a socket nobody answers on is stale.
                if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                    return Err(Error::Io(std::io::Error::new(
                        std::io::ErrorKind::AddrInUse,
                        format!("{} is in use", ep.endpoint_string()),
                    )));
                }
                std::fs::remove_file(&path).map_err(|e| explain(ep, e))?;
            }
            _ => {}
        }
    }
    let listener = mio::net::UnixListener::bind_addr(&addr).map_err(|e| explain(ep, e))?;
    Ok((listener, ep.endpoint_string()))
}

/// Turns a bind error into one that says what to fix, keeping its kind.
fn explain(ep: &IpcEndpoint, e: std::io::Error) -> Error {
    use std::io::ErrorKind;
    let endpoint = ep.endpoint_string();
    let dir = ep
        .path()
        .and_then(|p| p.parent().map(|d| d.display().to_string()))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| ".".into());
    let why = match (e.kind(), ep.path()) {
        (ErrorKind::PermissionDenied, Some(_)) => format!(
            "permission denied: this process may not create the socket file in {dir} \
             (it needs write and search permission there)"
        ),
        (ErrorKind::NotFound, Some(_)) => format!("directory {dir} does not exist"),
        (ErrorKind::NotADirectory, Some(_)) => format!("a part of {dir} is not a directory"),
        (ErrorKind::AddrInUse, Some(_)) => {
            "something that is not a socket already exists at that path".into()
        }
        (ErrorKind::AddrInUse, None) => "the abstract name is in use".into(),
        _ => e.to_string(),
    };
    Error::Io(std::io::Error::new(e.kind(), format!("{endpoint}: {why}")))
}

fn is_socket(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_socket()
}

/// Starts a connect; completion is signalled by writability.
pub(crate) fn connect(addr: &SocketAddr) -> std::io::Result<mio::net::UnixStream> {
    mio::net::UnixStream::connect_addr(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_and_abstract_names() {
        let e = IpcEndpoint::parse("/tmp/x.sock").unwrap();
        assert_eq!(e.path(), Some(PathBuf::from("/tmp/x.sock")));
        assert_eq!(e.endpoint_string(), "ipc:///tmp/x.sock");
        let a = IpcEndpoint::parse("@name").unwrap();
        assert_eq!(a.path(), None);
        assert!(IpcEndpoint::parse("").is_err());
        assert!(IpcEndpoint::parse(&"x".repeat(108)).is_err());
        assert!(IpcEndpoint::parse(&"x".repeat(107)).is_ok());
    }

    #[test]
    fn bind_errors_say_what_to_fix() {
        use std::io::{Error as IoError, ErrorKind};
        let ep = IpcEndpoint::parse("/srv/app/x.sock").unwrap();
        let msg = |kind| explain(&ep, IoError::from(kind)).to_string();
        let denied = msg(ErrorKind::PermissionDenied);
        assert!(denied.contains("ipc:///srv/app/x.sock"), "{denied}");
        assert!(denied.contains("permission denied"), "{denied}");
        assert!(denied.contains("/srv/app"), "{denied}");
        assert!(msg(ErrorKind::NotFound).contains("directory /srv/app does not exist"));
        assert!(msg(ErrorKind::AddrInUse).contains("not a socket"));
        let Error::Io(e) = explain(&ep, IoError::from(ErrorKind::PermissionDenied)) else {
            panic!("not an i/o error");
        };
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);

        // And for real: a missing directory, and a regular file in the way.
        let missing = IpcEndpoint::parse("/nonexistent-brokerless-dir/x.sock").unwrap();
        let err = listen(&missing).unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
        let file = std::env::temp_dir().join(format!("brokerless-file-{}", std::process::id()));
        std::fs::write(&file, b"not a socket").unwrap();
        let in_the_way = IpcEndpoint::parse(file.to_str().unwrap()).unwrap();
        let err = listen(&in_the_way).unwrap_err().to_string();
        assert!(err.contains("not a socket"), "{err}");
        std::fs::remove_file(&file).unwrap();
    }

    #[test]
    fn a_stale_socket_file_is_replaced_and_a_live_one_is_not() {
        let dir = std::env::temp_dir().join(format!("brokerless-ipc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stale.sock");
        let ep = IpcEndpoint::parse(path.to_str().unwrap()).unwrap();
        // A socket file whose listener is gone.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let (live, _) = listen(&ep).unwrap();
        // Now someone listens: a second bind must fail, not steal it.
        assert!(listen(&ep).is_err());
        drop(live);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
