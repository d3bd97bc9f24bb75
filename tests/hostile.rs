//! Hostile peers over TCP: each bad connection is closed (with a logged
//! protocol error, reported by the monitor) and the socket keeps serving
//! good peers; what the protocol allows is served, as libzmq does.
//!
//! The peer is a raw `std::net::TcpStream` writing hand-made bytes, to
//! our bound sockets and, where it matters, as the listener our
//! connecting sockets reach. Floods, measured in memory, are in
//! `tests/flood.rs`; connection churn, measured in descriptors, in
//! `tests/churn.rs`.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use brokerless::{Context, Error, Monitor, MonitorEvent, ProtocolError, Socket, SocketType};
use common::{greeting, read_exactly, ready};

/// RFC 37: "A long frame has a body of 0 to 2^63-1 octets."
const MAX_FRAME_SIZE: u64 = (1 << 63) - 1;

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

// ---------------------------------------------------------------------------
// Helpers: raw ZMTP bytes and peers
// ---------------------------------------------------------------------------

/// A greeting of any version and mechanism.
fn greeting_with(major: u8, minor: u8, mechanism: &str, as_server: u8) -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, major, minor];
    g.extend(mechanism.as_bytes());
    g.resize(32, 0);
    g.push(as_server);
    g.resize(64, 0);
    g
}

/// A 3.1 NULL greeting and the READY of `socket_type`.
fn hello(socket_type: &str) -> Vec<u8> {
    let mut v = greeting(1);
    v.extend(ready(socket_type));
    v
}

/// A frame with `flags` (LONG is added for bodies over 255 octets).
fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut f = if body.len() > 255 {
        let mut h = vec![flags | 0x02];
        h.extend((body.len() as u64).to_be_bytes());
        h
    } else {
        vec![flags, body.len() as u8]
    };
    f.extend(body);
    f
}

/// A message frame.
fn data(body: &[u8], more: bool) -> Vec<u8> {
    frame(u8::from(more), body)
}

/// A command frame: name length, name, data.
fn command(name: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend(name.as_bytes());
    body.extend(payload);
    frame(0x04, &body)
}

/// A header with an 8-octet size and no body.
fn long_header(flags: u8, size: u64) -> Vec<u8> {
    let mut h = vec![flags | 0x02];
    h.extend(size.to_be_bytes());
    h
}

/// Connects, writes `bytes` (the server may close before taking them
/// all) and reads until the server closes; returns what it sent.
fn refused(ep: &str, bytes: &[u8]) -> Vec<u8> {
    let mut s = raw(ep);
    let _ = s.write_all(bytes);
    read_until_closed(&mut s)
}

/// A PULL bound to loopback with `setup` applied (and a 20 s receive
/// timeout).
fn pull_with(ctx: &Context, setup: impl FnOnce(&Socket)) -> (Socket, String, Monitor) {
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let monitor = pull.monitor().unwrap();
    pull.set_recv_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    setup(&pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    (pull, ep, monitor)
}

/// Waits for the next completed handshake.
fn handshake(monitor: &Monitor) {
    common::wait_for(monitor, |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
}

/// Accepts one connection within 20 s.
fn accept(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                return s;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no connection came");
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Greetings
// ---------------------------------------------------------------------------

#[test]
fn garbage_of_every_kind_is_closed_at_once() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx);
    // A deterministic pseudo-random megabyte (xorshift), not starting
    // with 0xFF.
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut noise: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    noise[0] = 0x42;
    let mut tls = vec![0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03];
    tls.resize(517, 0x00);
    // 0xFF, then octet 9 with bit 0 clear: a ZMTP 1.0 long identity.
    let mut v1_long = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x00];
    v1_long.extend([0u8; 54]);
    let cases: [(&str, Vec<u8>); 5] = [
        ("zeros", vec![0u8; 64]),
        ("noise", noise),
        ("tls", tls),
        ("zmtp 1.0 long identity", v1_long),
        ("http", b"GET / HTTP/1.1\r\n\r\n".to_vec()),
    ];
    for (name, bytes) in cases {
        let got = refused(&ep, &bytes);
        assert!(got.len() <= 64, "{name}: only our greeting may go out");
        assert_eq!(
            next_error(&monitor),
            Some(ProtocolError::BadSignature),
            "{name}"
        );
    }
    still_serves(&ctx, &pull, &ep);
}

#[test]
fn partial_units_then_silence_are_dropped_after_the_handshake_interval() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx); // handshake_interval 300 ms
    let g = greeting(1);
    let r = ready("PUSH");
    let mut announced = g.clone();
    announced.extend([0x04, 200]); // a READY of 200 octets, 20 sent
    announced.extend(&r[2..22]);
    let cases: Vec<Vec<u8>> = vec![
        g[..1].to_vec(),
        g[..10].to_vec(),
        g[..11].to_vec(),
        g[..63].to_vec(),
        g.clone(),
        [&g[..], &r[..5]].concat(),
        announced,
    ];
    // All at once: each is dropped on its own timer.
    let mut peers: Vec<TcpStream> = cases
        .iter()
        .map(|bytes| {
            let mut s = raw(&ep);
            s.write_all(bytes).unwrap();
            s
        })
        .collect();
    let started = Instant::now();
    for s in &mut peers {
        let got = read_until_closed(s);
        assert!(got.len() <= 64 + r.len(), "{got:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(20));
    for _ in 0..cases.len() {
        assert_eq!(next_error(&monitor), Some(ProtocolError::HandshakeTimeout));
    }
    still_serves(&ctx, &pull, &ep);
}

/// The handshake interval counts from each connection's own start, also
/// for a connection that takes over the I/O thread's slot of one that
/// ended while its handshake timer was still pending.
#[test]
fn the_handshake_interval_counts_from_each_connection() {
    let interval = Duration::from_secs(2);
    let ctx = Context::new();
    let (pull, ep, monitor) = pull_with(&ctx, |s| {
        s.set_handshake_interval(Some(interval)).unwrap();
    });
    let early = raw(&ep);
    let me = early.local_addr().unwrap();
    drop(early);
    common::disconnected(&monitor, me);
    // Half-way through the first connection's interval (a pause on
    // purpose: the offset is what is tested), a silent one comes.
    std::thread::sleep(interval / 2);
    let started = Instant::now();
    let mut late = raw(&ep);
    read_until_closed(&mut late);
    let lived = started.elapsed();
    assert_eq!(next_error(&monitor), Some(ProtocolError::HandshakeTimeout));
    assert!(lived >= interval, "dropped after {lived:?}");
    still_serves(&ctx, &pull, &ep);
}

#[test]
fn zmtp_1_0_and_2_0_peers_are_refused() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx);
    // ZMTP 1.0: no greeting, an identity frame first (length 1, flags 0).
    let got = refused(&ep, &[0x01, 0x00]);
    assert!(got.len() <= 64);
    assert_eq!(next_error(&monitor), Some(ProtocolError::BadSignature));
    // ZMTP 2.0 as libzmq 3.2 sends it: signature (padding = identity
    // length + 1), revision 1, socket type 8 (PUSH), empty identity.
    let v2 = [0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01, 0x08, 0x00, 0x00];
    for (major, bytes) in [
        (1u8, v2.to_vec()),
        (0, greeting_with(0, 0, "NULL", 0)),
        (2, greeting_with(2, 1, "NULL", 0)),
    ] {
        let got = refused(&ep, &bytes);
        assert!(got.len() <= 64, "no READY to a ZMTP {major} peer");
        assert_eq!(
            next_error(&monitor),
            Some(ProtocolError::UnsupportedVersion { major, minor: 0 })
        );
    }
    still_serves(&ctx, &pull, &ep);
}

/// RFC 37: "A peer MUST accept higher protocol versions as valid ... A
/// peer SHALL always use its own protocol (including framing) when
/// talking to an equal or higher protocol peer." libzmq too treats every
/// major version above 3 as 3.1 (`zmtp_engine_t::select_handshake_fun`),
/// whatever its minor.
#[test]
fn a_zmtp_4_peer_is_served_as_3_1() {
    // Bound: a 4.0 PUSH gets its message through.
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx);
    let mut s = raw(&ep);
    s.write_all(&greeting_with(4, 0, "NULL", 0)).unwrap();
    s.write_all(&ready("PUSH")).unwrap();
    s.write_all(&data(b"from the future", false)).unwrap();
    assert_eq!(&pull.recv().unwrap()[0], b"from the future");
    drop(s);
    assert_eq!(next_error(&monitor), None, "closed by the peer, no error");

    // Connecting: our SUB subscribes to a 4.0 PUB with a 3.1 SUBSCRIBE
    // command, not with a 3.0 subscription message.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_recv_timeout(Some(Duration::from_secs(20))).unwrap();
    sub.subscribe("A").unwrap();
    sub.connect(&format!("tcp://{}", listener.local_addr().unwrap()))
        .unwrap();
    let mut publ = accept(&listener);
    publ.write_all(&greeting_with(4, 0, "NULL", 0)).unwrap();
    publ.write_all(&ready("PUB")).unwrap();
    assert_eq!(read_exactly(&mut publ, 64), greeting(1));
    let sub_ready = ready("SUB");
    assert_eq!(read_exactly(&mut publ, sub_ready.len()), sub_ready);
    assert_eq!(read_exactly(&mut publ, 13), b"\x04\x0b\x09SUBSCRIBEA");
    publ.write_all(&data(b"A-news", false)).unwrap();
    assert_eq!(&sub.recv().unwrap()[0], b"A-news");
}

#[test]
fn a_mechanism_mismatch_is_refused_before_ready() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx);
    for (mechanism, as_server) in [("PLAIN", 0), ("PLAIN", 1), ("CURVE", 1), ("GSSAPI", 0)] {
        let got = refused(&ep, &greeting_with(3, 1, mechanism, as_server));
        assert_eq!(got, greeting(1), "our greeting only, no READY");
        assert_eq!(
            next_error(&monitor),
            Some(ProtocolError::MechanismMismatch {
                ours: "NULL".into(),
                theirs: mechanism.into()
            })
        );
    }
    still_serves(&ctx, &pull, &ep);
}

#[test]
fn bad_socket_types_are_refused() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx);
    // Unknown names, compared exactly as libzmq does.
    for name in ["FOO", "push", "PUSH "] {
        refused(&ep, &hello(name));
        assert_eq!(
            next_error(&monitor),
            Some(ProtocolError::UnknownSocketType(name.into()))
        );
    }
    // No Socket-Type at all: a READY with only an Identity.
    let mut bytes = greeting(1);
    bytes.extend(command("READY", b"\x08Identity\x00\x00\x00\x01x"));
    refused(&ep, &bytes);
    assert_eq!(next_error(&monitor), Some(ProtocolError::MissingSocketType));
    // A known type that does not pair with PULL gets an ERROR first.
    let got = refused(&ep, &hello("PUB"));
    assert!(got.ends_with(b"\x05ERROR\x18incompatible socket type"));
    assert_eq!(
        next_error(&monitor),
        Some(ProtocolError::IncompatibleSocketType {
            ours: SocketType::Pull,
            theirs: SocketType::Pub
        })
    );
    still_serves(&ctx, &pull, &ep);
}

// ---------------------------------------------------------------------------
// Frame sizes and counts
// ---------------------------------------------------------------------------

#[test]
fn frame_sizes_past_the_rfc_ceiling_are_refused_with_and_without_a_limit() {
    for max_msg_size in [None, Some(1000u64)] {
        let ctx = Context::new();
        let (pull, ep, monitor) = pull_with(&ctx, |s| {
            s.set_max_msg_size(max_msg_size).unwrap();
        });
        for size in [1u64 << 63, u64::MAX] {
            // A message frame, one with MORE, and a command.
            for flags in [0x00u8, 0x01, 0x04] {
                let mut bytes = hello("PUSH");
                bytes.extend(long_header(flags, size));
                bytes.extend([0u8; 100]);
                refused(&ep, &bytes);
                let max = if flags == 0x04 {
                    max_msg_size.map_or(MAX_FRAME_SIZE, |m| m.max(64 * 1024))
                } else {
                    max_msg_size.unwrap_or(MAX_FRAME_SIZE)
                };
                assert_eq!(
                    next_error(&monitor),
                    Some(ProtocolError::MessageTooLarge { size, max }),
                    "size {size}, flags {flags:#04x}, max_msg_size {max_msg_size:?}"
                );
            }
        }
        still_serves(&ctx, &pull, &ep);
    }
}

#[test]
fn a_huge_frame_within_the_rfc_is_waited_for_without_allocating_it() {
    // No max_msg_size: 2^62 octets may come, and only what arrives is
    // held (the process would abort trying to reserve 4 EiB).
    let ctx = Context::new();
    let (pull, ep, monitor) = pull_with(&ctx, |_| {});
    let mut s = raw(&ep);
    s.write_all(&hello("PUSH")).unwrap();
    s.write_all(&long_header(0x00, 1 << 62)).unwrap();
    s.write_all(&vec![7u8; 1 << 20]).unwrap();
    handshake(&monitor);
    still_serves(&ctx, &pull, &ep);
    drop(s);
    assert_eq!(next_error(&monitor), None, "closed by the peer, no error");
}

#[test]
fn max_msg_size_is_exact() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx); // max_msg_size 1000
    assert_eq!(pull.max_msg_size(), Some(1000));
    let mut s = raw(&ep);
    s.write_all(&hello("PUSH")).unwrap();
    s.write_all(&data(&[1; 1000], false)).unwrap();
    s.write_all(&data(&[2; 600], true)).unwrap();
    s.write_all(&data(&[3; 400], false)).unwrap();
    assert_eq!(pull.recv().unwrap()[0].len(), 1000);
    let m = pull.recv().unwrap();
    assert_eq!((m.len(), m[0].len(), m[1].len()), (2, 600, 400));
    // One octet more over two frames: refused at the second header.
    s.write_all(&data(&[4; 600], true)).unwrap();
    s.write_all(&[0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x91]).unwrap();
    read_until_closed(&mut s);
    assert_eq!(
        next_error(&monitor),
        Some(ProtocolError::MessageTooLarge {
            size: 1001,
            max: 1000
        })
    );
    still_serves(&ctx, &pull, &ep);
}

#[test]
fn max_frames_is_enforced_per_message() {
    let ctx = Context::new();
    let probe = ctx.socket(SocketType::Pull).unwrap();
    assert_eq!(probe.max_frames(), Some(65_536), "the default");
    assert!(matches!(
        probe.set_max_frames(Some(0)),
        Err(Error::InvalidArgument(_))
    ));
    probe.set_max_frames(None).unwrap();
    assert_eq!(probe.max_frames(), None);

    let (pull, ep, monitor) = pull_with(&ctx, |s| s.set_max_frames(Some(10)).unwrap());
    let mut s = raw(&ep);
    s.write_all(&hello("PUSH")).unwrap();
    let ten: Vec<u8> = (0..10).flat_map(|i| data(b"", i < 9)).collect();
    for _ in 0..3 {
        s.write_all(&ten).unwrap();
    }
    for _ in 0..3 {
        assert_eq!(pull.recv().unwrap().len(), 10);
    }
    // The 11th frame header ends it, before its body is sent.
    for _ in 0..10 {
        s.write_all(&data(b"", true)).unwrap();
    }
    s.write_all(&[0x00, 100]).unwrap();
    read_until_closed(&mut s);
    assert_eq!(
        next_error(&monitor),
        Some(ProtocolError::TooManyFrames { max: 10 })
    );
    still_serves(&ctx, &pull, &ep);
}

// ---------------------------------------------------------------------------
// Flags and commands
// ---------------------------------------------------------------------------

/// RFC 37: "Bits 7-3 are reserved for future use and MUST be zero": a
/// rule for the sender. libzmq ignores them when reading (its decoder
/// looks at MORE, LONG and COMMAND only), and so do we: they carry no
/// meaning we could act on, and refusing them would break a future peer.
#[test]
fn reserved_flag_bits_are_ignored_as_libzmq_does() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx);
    let mut s = raw(&ep);
    s.write_all(&hello("PUSH")).unwrap();
    s.write_all(&frame(0xF9, b"one")).unwrap(); // reserved | MORE
    s.write_all(&frame(0x08, b"two")).unwrap(); // reserved, last
    s.write_all(&frame(0xFC, b"\x04PING\x00\x00ctx")).unwrap();
    let m = pull.recv().unwrap();
    assert_eq!(
        (m.len(), &m[0][..], &m[1][..]),
        (2, &b"one"[..], &b"two"[..])
    );
    // The PING was a PING: its PONG comes after our greeting and READY.
    assert_eq!(read_exactly(&mut s, 64), greeting(1));
    let our_ready = ready("PULL");
    assert_eq!(read_exactly(&mut s, our_ready.len()), our_ready);
    assert_eq!(read_exactly(&mut s, 10), b"\x04\x08\x04PONGctx");
    drop(s);
    assert_eq!(next_error(&monitor), None, "closed by the peer, no error");
}

#[test]
fn a_command_with_more_is_refused() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx);
    // During the handshake: a READY with MORE.
    let mut bytes = greeting(1);
    let mut r = ready("PUSH");
    r[0] |= 0x01;
    bytes.extend(r);
    refused(&ep, &bytes);
    assert_eq!(next_error(&monitor), Some(ProtocolError::CommandWithMore));
    // After it: a PING with MORE, refused at its header.
    let mut bytes = hello("PUSH");
    bytes.extend([0x05, 0x07]);
    refused(&ep, &bytes);
    assert_eq!(next_error(&monitor), Some(ProtocolError::CommandWithMore));
    still_serves(&ctx, &pull, &ep);
}

/// RFC 37 lets mechanisms and later versions define commands ("traffic =
/// *(command | message)"); libzmq drops the ones it does not know after
/// the handshake (`session_base_t::push_msg`), and so do we. During the
/// NULL handshake only READY or ERROR may come ("null = ready *message |
/// error"): anything else is refused, as libzmq's NULL mechanism does.
#[test]
fn unknown_commands_are_ignored_after_the_handshake_only() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx);
    let mut bytes = greeting(1);
    bytes.extend(command("HELLO", b"world"));
    refused(&ep, &bytes);
    assert_eq!(
        next_error(&monitor),
        Some(ProtocolError::UnexpectedCommand {
            name: "HELLO".into()
        })
    );

    let mut s = raw(&ep);
    s.write_all(&hello("PUSH")).unwrap();
    s.write_all(&data(b"head", true)).unwrap();
    for name in ["HELLO", "X-CUSTOM", "SUBSCRIBE", "JOIN"] {
        s.write_all(&command(name, &[9; 300])).unwrap();
    }
    s.write_all(&data(b"tail", false)).unwrap();
    let m = pull.recv().unwrap();
    assert_eq!((&m[0][..], &m[1][..]), (&b"head"[..], &b"tail"[..]));
    drop(s);
    assert_eq!(next_error(&monitor), None, "closed by the peer, no error");
    still_serves(&ctx, &pull, &ep);
}

#[test]
fn a_truncated_or_malformed_ready_is_refused() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx);
    let cases: [(&[u8], ProtocolError); 5] = [
        // The value announces 4 octets, 3 follow.
        (
            b"\x0bSocket-Type\x00\x00\x00\x04PUS",
            ProtocolError::MalformedMetadata,
        ),
        // The name announces 11 octets, 6 follow.
        (b"\x0bSocket", ProtocolError::MalformedMetadata),
        // The value length itself is cut.
        (b"\x0bSocket-Type\x00\x00", ProtocolError::MalformedMetadata),
        // A zero-length property name.
        (b"\x00\x00\x00\x00\x00", ProtocolError::MalformedMetadata),
        // No properties at all.
        (b"", ProtocolError::MissingSocketType),
    ];
    for (props, expected) in cases {
        let mut bytes = greeting(1);
        bytes.extend(command("READY", props));
        refused(&ep, &bytes);
        assert_eq!(next_error(&monitor), Some(expected), "{props:?}");
    }
    // A command frame with no name at all.
    let mut bytes = greeting(1);
    bytes.extend([0x04, 0x00]);
    refused(&ep, &bytes);
    assert!(matches!(
        next_error(&monitor),
        Some(ProtocolError::MalformedCommand { .. })
    ));
    // A READY of 64 KiB + 1, refused at its header whatever max_msg_size.
    let mut bytes = greeting(1);
    bytes.extend(long_header(0x04, 64 * 1024 + 1));
    refused(&ep, &bytes);
    assert_eq!(
        next_error(&monitor),
        Some(ProtocolError::MessageTooLarge {
            size: 64 * 1024 + 1,
            max: 64 * 1024
        })
    );
    // An ERROR instead of READY ends the handshake with its reason.
    let mut bytes = greeting(1);
    bytes.extend(command("ERROR", b"\x07go away"));
    refused(&ep, &bytes);
    assert_eq!(
        next_error(&monitor),
        Some(ProtocolError::PeerError {
            reason: "go away".into()
        })
    );
    still_serves(&ctx, &pull, &ep);
}

/// NULL: "null = ready *message | error": one READY. libzmq drops a
/// second one silently; we refuse it, since a peer changing its socket
/// type or identity mid-connection is either broken or hostile, and no
/// ZMTP implementation sends two.
#[test]
fn ready_sent_twice_is_refused() {
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx);
    let mut s = raw(&ep);
    s.write_all(&hello("PUSH")).unwrap();
    s.write_all(&data(b"first", false)).unwrap();
    s.write_all(&ready("PUSH")).unwrap();
    s.write_all(&data(b"never", false)).unwrap();
    assert_eq!(&pull.recv().unwrap()[0], b"first");
    read_until_closed(&mut s);
    assert_eq!(
        next_error(&monitor),
        Some(ProtocolError::UnexpectedCommand {
            name: "READY".into()
        })
    );
    still_serves(&ctx, &pull, &ep);
}

// ---------------------------------------------------------------------------
// The connecting side
// ---------------------------------------------------------------------------

/// Our PULL connects to a raw listener whose first connection misbehaves:
/// the connection fails with `expected`, the socket reconnects, and the
/// next connection, well behaved, delivers its message.
fn connecting_pull_survives(hostile: &[u8], expected: ProtocolError) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let monitor = pull.monitor().unwrap();
    pull.set_recv_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    pull.set_reconnect_interval(Some(Duration::from_millis(10)))
        .unwrap();
    pull.set_max_msg_size(Some(1000)).unwrap();
    pull.set_max_frames(Some(10)).unwrap();
    pull.connect(&format!("tcp://{}", listener.local_addr().unwrap()))
        .unwrap();
    let mut bad = accept(&listener);
    let _ = bad.write_all(hostile);
    read_until_closed(&mut bad);
    assert_eq!(next_error(&monitor), Some(expected));
    let mut good = accept(&listener);
    good.write_all(&hello("PUSH")).unwrap();
    good.write_all(&data(b"good", false)).unwrap();
    assert_eq!(&pull.recv().unwrap()[0], b"good");
}

#[test]
fn a_connecting_socket_survives_hostile_listeners() {
    let after_hello = |tail: &[u8]| [&hello("PUSH")[..], tail].concat();
    let eleven: Vec<u8> = (0..11).flat_map(|_| data(b"", true)).collect();
    let cases: Vec<(Vec<u8>, ProtocolError)> = vec![
        (
            b"SSH-2.0-OpenSSH_9.6\r\n".to_vec(),
            ProtocolError::BadSignature,
        ),
        (
            greeting_with(2, 0, "NULL", 0),
            ProtocolError::UnsupportedVersion { major: 2, minor: 0 },
        ),
        (
            greeting_with(3, 1, "CURVE", 1),
            ProtocolError::MechanismMismatch {
                ours: "NULL".into(),
                theirs: "CURVE".into(),
            },
        ),
        (
            hello("PULL"),
            ProtocolError::IncompatibleSocketType {
                ours: SocketType::Pull,
                theirs: SocketType::Pull,
            },
        ),
        (
            after_hello(&long_header(0x00, u64::MAX)),
            ProtocolError::MessageTooLarge {
                size: u64::MAX,
                max: 1000,
            },
        ),
        (
            after_hello(&eleven),
            ProtocolError::TooManyFrames { max: 10 },
        ),
        (after_hello(&[0x05, 0x07]), ProtocolError::CommandWithMore),
    ];
    for (hostile, expected) in cases {
        connecting_pull_survives(&hostile, expected);
    }
}
