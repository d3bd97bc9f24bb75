//! Helpers shared by the integration tests: sockets that cannot hang,
//! monitor waits, frame comparisons, raw ZMTP bytes and libzmq sockets.
//!
//! Where libzmq's tests sleep to let connections settle, ours wait for
//! monitor events instead. Three facts of this library make that exact:
//!
//! * a socket's connections are all served by one I/O thread, which
//!   hands a new peer's queue to the socket in the same step as it reports
//!   `HandshakeSucceeded`; so once a *later* event of the same socket is
//!   seen (the next handshake, or the `Accepted` of a bare TCP connection
//!   made after: [`io_barrier`]), the queue of every earlier handshake has
//!   been handed over, in handshake order, and every connection reported
//!   lost has been cleared away;
//! * a connection's `Disconnected` is reported only after everything the
//!   peer sent before closing was put in the socket's queue;
//! * a socket takes what it was handed when it is next called (any send
//!   or receive, even one that blocks).

// Each test crate (tests/*.rs) compiles this module separately and uses
// only a subset of it; the rest would be reported as dead code there.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use brokerless::{Context, Message, Monitor, MonitorEvent, Socket, SocketType};
use bytes::Bytes;
use libzmq_peer as zmq;

/// The send and receive timeout of test sockets: long enough never to
/// fire on a working stack, short enough that a broken one fails.
pub const LONG: Option<Duration> = Some(Duration::from_secs(20));

/// [`LONG`] in milliseconds, for libzmq's options.
pub const TIMEOUT_MS: i32 = 20_000;

// ---------------------------------------------------------------------------
// Our sockets
// ---------------------------------------------------------------------------

/// A socket with 20 s send and receive timeouts, so nothing hangs (and
/// the default, infinite linger).
pub fn socket_with_timeouts(ctx: &Context, t: SocketType) -> Socket {
    let s = ctx.socket(t).unwrap();
    s.set_recv_timeout(LONG).unwrap();
    s.set_send_timeout(LONG).unwrap();
    s
}

/// A socket with 20 s send and receive timeouts (so nothing hangs) and no
/// linger (so nothing left queued holds up the end of a test).
pub fn sock(ctx: &Context, t: SocketType) -> Socket {
    let s = socket_with_timeouts(ctx, t);
    s.set_linger(Some(Duration::ZERO)).unwrap();
    s
}

/// Binds `s` to a system-chosen loopback port; returns it and that
/// endpoint.
pub fn bind_any(s: Socket) -> (Socket, String) {
    s.bind("tcp://127.0.0.1:*").unwrap();
    let ep = s.last_endpoint().unwrap();
    (s, ep)
}

/// A [`sock`] bound to a system-chosen loopback port, and that endpoint.
pub fn bound(ctx: &Context, t: SocketType) -> (Socket, String) {
    bind_any(sock(ctx, t))
}

/// A [`sock`] connected to `endpoint`.
pub fn connected(ctx: &Context, t: SocketType, endpoint: &str) -> Socket {
    let s = sock(ctx, t);
    s.connect(endpoint).unwrap();
    s
}

/// A loopback port with nothing listening on it (reserved and released
/// by a plain std listener, which closes synchronously).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------
// Messages and frames
// ---------------------------------------------------------------------------

/// A message of text frames.
pub fn msg(parts: &[&str]) -> Message {
    parts
        .iter()
        .map(|p| Bytes::copy_from_slice(p.as_bytes()))
        .collect()
}

/// A message of raw frames.
pub fn to_message(frames: &[Vec<u8>]) -> Message {
    frames.iter().map(|f| Bytes::from(f.clone())).collect()
}

/// The frames of a message, for comparisons.
pub fn frames(m: &Message) -> Vec<Vec<u8>> {
    m.iter().map(|f| f.to_vec()).collect()
}

/// Text frames, for comparisons.
pub fn fr(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// A frame as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

// ---------------------------------------------------------------------------
// Monitor events
// ---------------------------------------------------------------------------

/// The next event `pred` accepts, skipping others (20 s at most).
pub fn wait_for(monitor: &Monitor, pred: impl Fn(&MonitorEvent) -> bool) -> MonitorEvent {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match monitor.recv_timeout(left) {
            Ok(ev) if pred(&ev) => return ev,
            Ok(_) => {}
            Err(e) => panic!("event not seen: {e}"),
        }
    }
}

/// Waits for the next completed handshake; returns the peer's address.
pub fn handshake(monitor: &Monitor) -> SocketAddr {
    match wait_for(monitor, |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    }) {
        MonitorEvent::HandshakeSucceeded { peer, .. } => peer.expect("a TCP peer has an address"),
        _ => unreachable!(),
    }
}

/// Waits for `n` completed handshakes.
pub fn handshakes(monitor: &Monitor, n: usize) {
    for _ in 0..n {
        wait_for(monitor, |e| {
            matches!(e, MonitorEvent::HandshakeSucceeded { .. })
        });
    }
}

/// Waits until the connection from `peer` is reported lost.
pub fn disconnected(monitor: &Monitor, from: SocketAddr) {
    wait_for(
        monitor,
        |e| matches!(e, MonitorEvent::Disconnected { peer, .. } if *peer == Some(from)),
    );
}

/// Waits until `n` connections are reported lost.
pub fn disconnections(monitor: &Monitor, n: usize) {
    for _ in 0..n {
        wait_for(monitor, |e| matches!(e, MonitorEvent::Disconnected { .. }));
    }
}

/// A barrier on the I/O thread of the socket bound at `endpoint`: a bare
/// TCP connection is made and its `Accepted` awaited. That event comes
/// after the I/O thread finished all it was doing for the events seen
/// before, such as handing the queue of the last handshake to the socket
/// or clearing away every connection reported lost (see the module
/// documentation).
pub fn io_barrier(monitor: &Monitor, endpoint: &str) {
    let stream = std::net::TcpStream::connect(endpoint.trim_start_matches("tcp://")).unwrap();
    let me = stream.local_addr().unwrap();
    wait_for(
        monitor,
        |e| matches!(e, MonitorEvent::Accepted { peer, .. } if *peer == Some(me)),
    );
}

/// `n` sockets of type `t` connected to `endpoint` one after the other,
/// each only once the bound socket (watched by `monitor`) completed the
/// handshake of the one before; then an [`io_barrier`]. The bound socket
/// has their queues in this order. Returns the sockets and the address
/// each is seen from.
pub fn connect_in_order(
    ctx: &Context,
    t: SocketType,
    endpoint: &str,
    monitor: &Monitor,
    n: usize,
    setup: impl Fn(usize, &Socket),
) -> (Vec<Socket>, Vec<SocketAddr>) {
    let mut sockets = Vec::new();
    let mut peers = Vec::new();
    for i in 0..n {
        let s = sock(ctx, t);
        setup(i, &s);
        s.connect(endpoint).unwrap();
        peers.push(handshake(monitor));
        sockets.push(s);
    }
    io_barrier(monitor, endpoint);
    (sockets, peers)
}

// ---------------------------------------------------------------------------
// Fair queuing
// ---------------------------------------------------------------------------

/// Checks that `got`, a list of (sender, sequence number) in receive
/// order from `senders` senders that each had `per_sender` messages
/// queued, was served fairly: every run of `senders` messages takes one
/// from each sender, and each sender's messages come in order.
pub fn assert_fair_rounds(got: &[(usize, usize)], senders: usize, per_sender: usize) {
    assert_eq!(got.len(), senders * per_sender, "{got:?}");
    for (round, chunk) in got.chunks(senders).enumerate() {
        let mut who: Vec<usize> = chunk.iter().map(|&(k, _)| k).collect();
        who.sort();
        assert_eq!(
            who,
            (0..senders).collect::<Vec<_>>(),
            "round {round}: {got:?}"
        );
        for &(k, j) in chunk {
            assert_eq!(j, round, "sender {k} out of order: {got:?}");
        }
    }
}

/// Parses a "k:j" body.
pub fn sender_seq(body: &[u8]) -> (usize, usize) {
    let s = text(body);
    let (k, j) = s.split_once(':').unwrap();
    (k.parse().unwrap(), j.parse().unwrap())
}

// ---------------------------------------------------------------------------
// Raw ZMTP bytes
// ---------------------------------------------------------------------------

/// A ZMTP 3.`minor` greeting as a raw peer sends it: NULL mechanism, not
/// as server.
pub fn greeting(minor: u8) -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, minor];
    g.extend(b"NULL");
    g.resize(64, 0);
    g
}

/// The READY command of a peer of `socket_type` ("PUSH", "PULL" ...),
/// with only the Socket-Type property.
pub fn ready(socket_type: &str) -> Vec<u8> {
    let mut body = vec![5];
    body.extend(b"READY");
    body.push(11);
    body.extend(b"Socket-Type");
    body.extend((socket_type.len() as u32).to_be_bytes());
    body.extend(socket_type.as_bytes());
    let mut frame = vec![0x04, body.len() as u8];
    frame.extend(body);
    frame
}

/// Reads exactly `n` bytes from a raw peer's stream.
pub fn read_exactly(s: &mut std::net::TcpStream, n: usize) -> Vec<u8> {
    use std::io::Read;
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf).unwrap();
    buf
}

// ---------------------------------------------------------------------------
// libzmq sockets (testing/libzmq-peer)
// ---------------------------------------------------------------------------

pub fn zmq_ctx() -> zmq::Context {
    zmq::Context::new().expect("libzmq context")
}

/// A libzmq socket with 20 s send and receive timeouts (and libzmq's
/// default linger).
pub fn zmq_socket(ctx: &zmq::Context, kind: zmq::SocketKind) -> zmq::Socket {
    let s = ctx.socket(kind).expect("libzmq socket");
    s.set_rcvtimeo(TIMEOUT_MS).unwrap();
    s.set_sndtimeo(TIMEOUT_MS).unwrap();
    s
}

/// A [`zmq_socket`] with a linger of 0, as [`sock`] is for ours.
pub fn zsock(ctx: &zmq::Context, kind: zmq::SocketKind) -> zmq::Socket {
    let s = zmq_socket(ctx, kind);
    s.set_linger(0).unwrap();
    s
}

/// Frames as the slices libzmq's `send` takes.
pub fn refs(parts: &[Vec<u8>]) -> Vec<&[u8]> {
    parts.iter().map(Vec::as_slice).collect()
}

// ---------------------------------------------------------------------------
// Security
// ---------------------------------------------------------------------------

/// The error of the next handshake failure the monitor reports.
pub fn handshake_failure(monitor: &Monitor) -> brokerless::ProtocolError {
    match wait_for(monitor, |e| {
        matches!(e, MonitorEvent::HandshakeFailed { .. })
    }) {
        MonitorEvent::HandshakeFailed { error, .. } => error,
        _ => unreachable!(),
    }
}

/// `client` was not let in: a request it sends never reaches `server`.
pub fn refused(client: &Socket, server: &Socket) {
    client
        .set_send_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // REQ and PUSH may queue the request; the server never sees it.
    let _ = client.send("ping");
    server
        .set_recv_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(matches!(server.recv(), Err(brokerless::Error::Timeout)));
}

/// Runs `f` on each socket in a thread of its own, all at once, and
/// returns the sockets (in order) with what `f` returned. A socket is
/// `Send` but not `Sync`: it moves to its thread and back rather than
/// being borrowed by it.
pub fn on_own_threads<T: Send>(
    sockets: Vec<Socket>,
    f: impl Fn(usize, &Socket) -> T + Sync,
) -> (Vec<Socket>, Vec<T>) {
    let f = &f;
    std::thread::scope(|sc| {
        let threads: Vec<_> = sockets
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                sc.spawn(move || {
                    let r = f(i, &s);
                    (s, r)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).unzip()
    })
}
