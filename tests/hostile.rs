//! Hostile peers over TCP: each bad connection is closed (with a logged
//! protocol error) and the socket keeps serving good peers.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use brokerless::{Context, Monitor, MonitorEvent, ProtocolError, Socket, SocketType};
use common::{greeting, ready};

/// The error of the next failed handshake or disconnection.
fn next_error(monitor: &Monitor) -> Option<ProtocolError> {
    loop {
        match monitor.recv_timeout(Duration::from_secs(20)).unwrap() {
            MonitorEvent::HandshakeFailed { error, .. } => return Some(error),
            MonitorEvent::Disconnected { error, .. } => return error,
            _ => {}
        }
    }
}

fn pull(ctx: &Context) -> (Socket, String, Monitor) {
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let monitor = pull.monitor().unwrap();
    pull.set_recv_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    pull.set_handshake_interval(Some(Duration::from_millis(300)))
        .unwrap();
    pull.set_max_msg_size(Some(1000)).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    (pull, ep, monitor)
}

fn raw(ep: &str) -> TcpStream {
    let s = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Reads until the server closes the connection; panics if it does not
/// within the read timeout. Returns what was read.
fn read_until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("connection not closed by the server: {e}"),
        }
    }
}

/// A good PUSH still gets through.
fn still_serves(ctx: &Context, pull: &Socket, ep: &str) {
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(ep).unwrap();
    push.send("good").unwrap();
    assert_eq!(&pull.recv().unwrap()[0], b"good");
}

#[test]
fn garbage_instead_of_a_greeting_is_closed() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx);
    let mut s = raw(&ep);
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let got = read_until_closed(&mut s);
    // At most our greeting went out before the bad byte was seen.
    assert!(got.len() <= 64);
    assert_eq!(next_error(&monitor), Some(ProtocolError::BadSignature));
    still_serves(&ctx, &pull, &ep);
}

#[test]
fn a_frame_over_max_msg_size_is_closed_before_allocation() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx);
    for size in [1001u64, 1 << 40, u64::MAX >> 1] {
        let mut s = raw(&ep);
        s.write_all(&greeting(1)).unwrap();
        s.write_all(&ready("PUSH")).unwrap();
        let mut frame = vec![0x02];
        frame.extend(size.to_be_bytes());
        frame.extend([0u8; 100]);
        s.write_all(&frame).unwrap();
        read_until_closed(&mut s);
        assert_eq!(
            next_error(&monitor),
            Some(ProtocolError::MessageTooLarge { size, max: 1000 })
        );
    }
    still_serves(&ctx, &pull, &ep);
}

#[test]
fn a_peer_that_never_finishes_the_greeting_is_dropped() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx);
    let mut silent = raw(&ep);
    let mut half = raw(&ep);
    half.write_all(&greeting(1)[..20]).unwrap();
    let got = read_until_closed(&mut silent);
    assert_eq!(got.len(), 64, "our greeting, then the close");
    read_until_closed(&mut half);
    for _ in 0..2 {
        assert_eq!(next_error(&monitor), Some(ProtocolError::HandshakeTimeout));
    }
    still_serves(&ctx, &pull, &ep);
}

#[test]
fn an_incompatible_socket_type_is_refused() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx);
    let mut s = raw(&ep);
    s.write_all(&greeting(1)).unwrap();
    // READY claiming to be a PULL: PULL-PULL does not pair.
    let mut ready = ready("PUSH");
    let n = ready.len();
    ready[n - 4..].copy_from_slice(b"PULL");
    s.write_all(&ready).unwrap();
    let got = read_until_closed(&mut s);
    // Our greeting, our READY, then an ERROR command before the close.
    assert!(
        got.ends_with(b"\x05ERROR\x18incompatible socket type"),
        "{got:?}"
    );
    assert_eq!(
        next_error(&monitor),
        Some(ProtocolError::IncompatibleSocketType {
            ours: SocketType::Pull,
            theirs: SocketType::Pull
        })
    );
    still_serves(&ctx, &pull, &ep);
}

#[test]
fn an_old_protocol_version_is_refused() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx);
    let mut s = raw(&ep);
    let mut g = greeting(1);
    g[10] = 2;
    s.write_all(&g).unwrap();
    read_until_closed(&mut s);
    assert_eq!(
        next_error(&monitor),
        Some(ProtocolError::UnsupportedVersion { major: 2, minor: 0 })
    );
    still_serves(&ctx, &pull, &ep);
}
