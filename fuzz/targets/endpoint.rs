//! Endpoint strings through the public API: `Socket::bind`, `connect`,
//! `unbind` and `disconnect` with fuzzed endpoints.
//!
//! The endpoint parser is crate-private, so it is reached through
//! `bind`/`connect`, and the input is confined so that nothing but this
//! process's own sockets is ever reached:
//! - `inproc://` + anything (in-process only);
//! - `tcp://127.0.0.1:` / `tcp://[::1]:` / `udp://127.0.0.1:` + anything,
//!   except a valid port number, which becomes `*` (no fixed port is
//!   taken from other programs). The host is always a loopback literal:
//!   whatever follows cannot turn it into a name to resolve (a further
//!   `:` makes the host invalid). A fuzzed string is passed to `connect`
//!   only if it has no digit (so it names no port and must fail); a
//!   successful bind is connected to through its resolved endpoint;
//! - `ipc://` + a file in this process's temporary directory (no `/` in
//!   the fuzzed name) or an abstract name with this process's prefix;
//! - anything else with its transport prefix made unknown (it must fail).
//!
//! Invariants: no panic; a bind that succeeds reports its resolved
//! endpoint (a fixed-port, loopback form), a socket of a compatible type
//! connects to that endpoint, and unbind/disconnect of those strings
//! succeed exactly once; every failure is an endpoint, I/O or
//! not-supported error.
//!
//! Shared by the cargo-fuzz target `endpoint` and by the corpus replay
//! test `tests/fuzz_corpus.rs`. Safest run inside a network namespace of
//! its own (see fuzz/README.md).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use brokerless::{Context, Error, Socket, SocketType};

/// Transport names that a fuzzed "raw" endpoint must not use.
const KNOWN_SCHEMES: [&str; 11] = [
    "tcp", "ipc", "inproc", "udp", "pgm", "epgm", "norm", "vmci", "tipc", "ws", "wss",
];

struct Env {
    ctx: Context,
    /// Where ipc socket files go.
    dir: PathBuf,
    /// The prefix of abstract ipc names.
    tag: String,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let tag = format!("brokerless-fuzz-{}", std::process::id());
        let dir = std::env::temp_dir().join(&tag);
        std::fs::create_dir_all(&dir).expect("temporary directory");
        Env {
            ctx: Context::new(),
            dir,
            tag,
        }
    })
}

/// The kind of endpoint built from the input.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Inproc,
    Tcp4,
    Tcp6,
    IpcPath,
    IpcAbstract,
    Udp,
    Raw,
}

/// Checks every invariant on one input; panics on a violation.
pub fn run(data: &[u8]) {
    let [mode, sel, rest @ ..] = data else {
        return;
    };
    let env = env();
    let s = String::from_utf8_lossy(rest);
    let kind = [
        Kind::Inproc,
        Kind::Tcp4,
        Kind::Tcp6,
        Kind::IpcPath,
        Kind::IpcAbstract,
        Kind::Udp,
        Kind::Raw,
    ][usize::from(*mode) % 7];
    let port = || {
        if s.parse::<u16>().is_ok_and(|p| p != 0) {
            "*".to_string()
        } else {
            s.to_string()
        }
    };
    let endpoint = match kind {
        Kind::Inproc => format!("inproc://{s}"),
        Kind::Tcp4 => format!("tcp://127.0.0.1:{}", port()),
        Kind::Tcp6 => format!("tcp://[::1]:{}", port()),
        Kind::Udp => format!("udp://127.0.0.1:{}", port()),
        Kind::IpcPath => {
            let name = s.replace('/', "_");
            format!("ipc://{}/_{name}", env.dir.display())
        }
        Kind::IpcAbstract => format!("ipc://@{}-{s}", env.tag),
        Kind::Raw => {
            let scheme = s.split_once("://").map(|(scheme, _)| scheme);
            if scheme.is_some_and(|sc| KNOWN_SCHEMES.contains(&&*sc.trim().to_ascii_lowercase())) {
                format!("x-{s}")
            } else {
                s.to_string()
            }
        }
    };
    let supported: Vec<SocketType> = SocketType::ALL
        .into_iter()
        .filter(|t| t.is_supported())
        .collect();
    let mut binder = supported[usize::from(*sel) % supported.len()];
    if kind == Kind::Udp && sel & 0x80 != 0 {
        binder = SocketType::Dish;
    }
    let connector = compatible(binder);

    let a = socket(&env.ctx, binder);
    match a.bind(&endpoint) {
        Ok(()) => {
            assert!(kind != Kind::Raw, "bound {endpoint:?}");
            let resolved = a.last_endpoint().expect("a bind sets last_endpoint");
            check_resolved(kind, &endpoint, &resolved);
            let b = socket(&env.ctx, connector);
            b.connect(&resolved)
                .unwrap_or_else(|e| panic!("connect to {resolved:?} (bound): {e}"));
            assert_eq!(b.last_endpoint().as_deref(), Some(&*resolved));
            b.disconnect(&resolved)
                .expect("disconnect what was connected");
            assert!(matches!(
                b.disconnect(&resolved),
                Err(Error::EndpointNotFound(_))
            ));
            a.unbind(&resolved).expect("unbind what was bound");
            assert!(matches!(
                a.unbind(&resolved),
                Err(Error::EndpointNotFound(_))
            ));
        }
        Err(e) => check_error(&e),
    }

    // The fuzzed string itself, where connecting cannot reach anything
    // but this process.
    let may_connect = match kind {
        Kind::Tcp4 | Kind::Tcp6 | Kind::Udp => !s.chars().any(|c| c.is_ascii_digit()),
        _ => true,
    };
    if may_connect {
        let c = socket(&env.ctx, connector);
        match c.connect(&endpoint) {
            Ok(()) => {
                assert!(
                    matches!(kind, Kind::Inproc | Kind::IpcPath | Kind::IpcAbstract),
                    "connected to {endpoint:?}"
                );
                c.disconnect(&endpoint)
                    .expect("disconnect what was connected");
            }
            Err(e) => check_error(&e),
        }
    }
    assert!(matches!(
        a.unbind(&endpoint),
        Err(Error::EndpointNotFound(_))
    ));
}

fn socket(ctx: &Context, t: SocketType) -> Socket {
    let s = ctx.socket(t).expect("a supported socket type");
    s.set_linger(Some(Duration::ZERO)).expect("linger");
    s
}

/// The first supported type that pairs with `t`.
fn compatible(t: SocketType) -> SocketType {
    SocketType::ALL
        .into_iter()
        .find(|&p| p.is_supported() && t.is_compatible(p))
        .unwrap_or(t)
}

fn check_resolved(kind: Kind, endpoint: &str, resolved: &str) {
    let fixed_port = |prefix: &str| {
        let port = resolved
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{endpoint:?} bound as {resolved:?}"));
        assert!(
            port.parse::<u16>().is_ok_and(|p| p != 0),
            "{endpoint:?} bound as {resolved:?}"
        );
    };
    match kind {
        Kind::Tcp4 => fixed_port("tcp://127.0.0.1:"),
        Kind::Tcp6 => fixed_port("tcp://[::1]:"),
        Kind::Udp => fixed_port("udp://127.0.0.1:"),
        Kind::Inproc | Kind::IpcPath | Kind::IpcAbstract => assert_eq!(resolved, endpoint),
        Kind::Raw => unreachable!(),
    }
}

fn check_error(e: &Error) {
    assert!(
        matches!(
            e,
            Error::InvalidEndpoint(_) | Error::Io(_) | Error::NotSupported(_)
        ),
        "unexpected error {e:?}"
    );
    assert!(!e.to_string().is_empty());
}
