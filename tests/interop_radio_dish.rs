//! RADIO/DISH against libzmq 4.3.5 (drafts on) over TCP, in both
//! directions and both bind orders, and the exact JOIN and LEAVE bytes
//! our DISH puts on the wire (RFC 48, as libzmq's dish_session encodes
//! them), checked with raw TCP mocks.
//!
//! Nothing tells a RADIO's application when a join has arrived (libzmq's
//! RADIO cannot receive, and applies the joins waiting on a pipe only when
//! it is next used), so where our `wait_for_subscribers` cannot help the
//! tests send until the message arrives. The copies sent while waiting may
//! still be on their way afterwards, so later receives skip them
//! ([`Skip`]): every such probe has a body used nowhere else.
//!
//! Our DISH and libzmq's both drop messages of groups they have not
//! joined, so end to end only the group filtering as a whole shows; what
//! the RADIOs send is checked on the wire with the mocks.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use brokerless::{Context, Error, Message, MonitorEvent, Socket, SocketType};
use libzmq_peer as zmq;

mod common;
use common::{
    TIMEOUT_MS, fr, frames, greeting, read_exactly, ready, sock, wait_for, zmq_ctx, zsock,
};

/// The libzmq wrapper's and our timeouts, as a `Duration`.
const LONG: Duration = Duration::from_secs(20);

/// How long "send until received" keeps trying: long enough for a
/// reconnection on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(30);

/// One receive attempt of a "send until received" loop.
const PROBE: Duration = Duration::from_millis(20);

/// The probes ("send until received" messages) that later receives skip.
#[derive(Default)]
struct Skip(Vec<(Vec<u8>, Vec<u8>)>);

impl Skip {
    fn add(&mut self, group: &[u8], body: &[u8]) {
        self.0.push((group.to_vec(), body.to_vec()));
    }

    fn contains(&self, group: &[u8], body: &[u8]) -> bool {
        self.0.iter().any(|(g, b)| g == group && b == body)
    }
}

fn grouped(group: &str, body: &str) -> Message {
    Message::with_group(group.to_string(), body.to_string())
}

// ---------------------------------------------------------------------------
// libzmq RADIO -> our DISH
// ---------------------------------------------------------------------------

/// Sends `[group, body]` from the libzmq RADIO until our DISH has it.
fn zsend_until_received(
    radio: &zmq::Socket,
    dish: &Socket,
    skip: &mut Skip,
    group: &str,
    body: &str,
) {
    skip.add(group.as_bytes(), body.as_bytes());
    dish.set_recv_timeout(Some(PROBE)).unwrap();
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        radio.send_group(group, body.as_bytes()).unwrap();
        match dish.recv() {
            Ok(m) if m.len() == 2 && skip.contains(&m[0], &m[1]) => {
                if frames(&m) == fr(&[group, body]) {
                    dish.set_recv_timeout(Some(LONG)).unwrap();
                    return;
                }
            }
            Ok(m) => panic!("unexpected {m:?} while waiting for {group}"),
            Err(Error::Timeout) => {}
            Err(e) => panic!("{e}"),
        }
    }
    panic!("our DISH never received {group}");
}

/// Our DISH's next message that is not a probe.
fn recv_skipping(dish: &Socket, skip: &Skip) -> Vec<Vec<u8>> {
    loop {
        let m = dish.recv().unwrap();
        if !(m.len() == 2 && skip.contains(&m[0], &m[1])) {
            return frames(&m);
        }
    }
}

fn libzmq_radio_to_our_dish(radio_binds: bool) {
    let zctx = zmq_ctx();
    let radio = zsock(&zctx, zmq::SocketKind::Radio);
    let ctx = Context::new();
    let dish = sock(&ctx, SocketType::Dish);
    // Joined before any connection: sent on the handshake.
    dish.join("Movies").unwrap();
    if radio_binds {
        radio.bind("tcp://127.0.0.1:*").unwrap();
        dish.connect(&radio.last_endpoint().unwrap()).unwrap();
    } else {
        dish.bind("tcp://127.0.0.1:*").unwrap();
        radio.connect(&dish.last_endpoint().unwrap()).unwrap();
    }
    let mut skip = Skip::default();
    zsend_until_received(&radio, &dish, &mut skip, "Movies", "probe 1");

    // A group not joined never arrives; the joined one does, in order.
    radio.send_group("TV", b"Friends").unwrap();
    radio.send_group("Movies", b"Godfather").unwrap();
    radio.send_group("TV", b"Seinfeld").unwrap();
    radio.send_group("Movies", b"Godfather II").unwrap();
    assert_eq!(recv_skipping(&dish, &skip), fr(&["Movies", "Godfather"]));
    assert_eq!(recv_skipping(&dish, &skip), fr(&["Movies", "Godfather II"]));

    // After a leave nothing more of that group arrives. The LEAVE goes
    // before the JOIN on the one connection, so once TV arrives libzmq
    // has applied both.
    dish.leave("Movies").unwrap();
    dish.join("TV").unwrap();
    zsend_until_received(&radio, &dish, &mut skip, "TV", "probe 2");
    radio.send_group("Movies", b"Godfather III").unwrap();
    radio.send_group("TV", b"Lost").unwrap();
    assert_eq!(recv_skipping(&dish, &skip), fr(&["TV", "Lost"]));
    dish.set_recv_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    loop {
        match dish.recv() {
            Ok(m) if m.len() == 2 && skip.contains(&m[0], &m[1]) => {}
            Ok(m) => panic!("unexpected {m:?}"),
            Err(Error::Timeout) => break,
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn libzmq_radio_to_our_dish_radio_binds() {
    libzmq_radio_to_our_dish(true);
}

#[test]
fn libzmq_radio_to_our_dish_dish_binds() {
    libzmq_radio_to_our_dish(false);
}

// ---------------------------------------------------------------------------
// Our RADIO -> libzmq DISH
// ---------------------------------------------------------------------------

/// The libzmq DISH's next message, as frames `[group, body]`.
fn zrecv(dish: &zmq::Socket) -> Vec<Vec<u8>> {
    let (group, body) = dish.recv_group().unwrap();
    vec![group.into_bytes(), body]
}

/// Sends `[group, body]` from our RADIO until the libzmq DISH has it.
fn send_until_zreceived(
    radio: &Socket,
    dish: &zmq::Socket,
    skip: &mut Skip,
    group: &str,
    body: &str,
) {
    skip.add(group.as_bytes(), body.as_bytes());
    dish.set_rcvtimeo(PROBE.as_millis() as i32).unwrap();
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        radio.send(grouped(group, body)).unwrap();
        match dish.recv_group() {
            Ok((g, b)) if skip.contains(g.as_bytes(), &b) => {
                if (g.as_str(), b.as_slice()) == (group, body.as_bytes()) {
                    dish.set_rcvtimeo(TIMEOUT_MS).unwrap();
                    return;
                }
            }
            Ok(other) => panic!("unexpected {other:?} while waiting for {group}"),
            Err(e) if e.is_again() => {}
            Err(e) => panic!("{e}"),
        }
    }
    panic!("the libzmq DISH never received {group}");
}

/// The libzmq DISH's next message that is not a probe.
fn zrecv_skipping(dish: &zmq::Socket, skip: &Skip) -> Vec<Vec<u8>> {
    loop {
        let m = zrecv(dish);
        if !skip.contains(&m[0], &m[1]) {
            return m;
        }
    }
}

/// Waits until the libzmq DISH's first join has reached our RADIO,
/// calling the DISH meanwhile: a libzmq DISH sends its joins to a
/// connection it accepted only from inside a call on the socket (the new
/// pipe is attached, and the joins written to it, when the application's
/// thread next processes commands), so a bound DISH that is not used
/// never joins.
fn wait_for_zdish(radio: &Socket, dish: &zmq::Socket) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        dish.poll(zmq::ZMQ_POLLIN, 0).unwrap();
        match radio.wait_for_subscribers(1, PROBE) {
            Ok(()) => return,
            Err(Error::Timeout) if Instant::now() < deadline => {}
            Err(e) => panic!("no join from the libzmq DISH: {e}"),
        }
    }
}

fn our_radio_to_libzmq_dish(radio_binds: bool) {
    let ctx = Context::new();
    let radio = sock(&ctx, SocketType::Radio);
    let zctx = zmq_ctx();
    let dish = zsock(&zctx, zmq::SocketKind::Dish);
    dish.join("Movies").unwrap();
    if radio_binds {
        radio.bind("tcp://127.0.0.1:*").unwrap();
        dish.connect(&radio.last_endpoint().unwrap()).unwrap();
    } else {
        dish.bind("tcp://127.0.0.1:*").unwrap();
        radio.connect(&dish.last_endpoint().unwrap()).unwrap();
    }
    wait_for_zdish(&radio, &dish);
    for m in [
        ("TV", "Friends"),
        ("Movies", "Godfather"),
        ("TV", "Seinfeld"),
        ("Movies", "Godfather II"),
    ] {
        radio.send(grouped(m.0, m.1)).unwrap();
    }
    assert_eq!(zrecv(&dish), fr(&["Movies", "Godfather"]));
    assert_eq!(zrecv(&dish), fr(&["Movies", "Godfather II"]));

    dish.leave("Movies").unwrap();
    dish.join("TV").unwrap();
    let mut skip = Skip::default();
    send_until_zreceived(&radio, &dish, &mut skip, "TV", "probe");
    radio.send(grouped("Movies", "Godfather III")).unwrap();
    radio.send(grouped("TV", "Lost")).unwrap();
    assert_eq!(zrecv_skipping(&dish, &skip), fr(&["TV", "Lost"]));
    dish.set_rcvtimeo(200).unwrap();
    loop {
        match dish.recv_group() {
            Ok((g, b)) if skip.contains(g.as_bytes(), &b) => {}
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) if e.is_again() => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(radio.dropped_messages(), 0);
}

#[test]
fn our_radio_to_libzmq_dish_radio_binds() {
    our_radio_to_libzmq_dish(true);
}

#[test]
fn our_radio_to_libzmq_dish_dish_binds() {
    our_radio_to_libzmq_dish(false);
}

/// A 255-byte group, the longest, crosses in both directions (its JOIN
/// command is 260 bytes, a long frame on the wire).
#[test]
fn longest_group_crosses_both_ways() {
    let long = "g".repeat(zmq::ZMQ_GROUP_MAX_LENGTH);
    let ctx = Context::new();
    let zctx = zmq_ctx();

    let zradio = zsock(&zctx, zmq::SocketKind::Radio);
    zradio.bind("tcp://127.0.0.1:*").unwrap();
    let dish = sock(&ctx, SocketType::Dish);
    dish.join(&long).unwrap();
    dish.connect(&zradio.last_endpoint().unwrap()).unwrap();
    zsend_until_received(&zradio, &dish, &mut Skip::default(), &long, "to us");

    let radio = sock(&ctx, SocketType::Radio);
    radio.bind("tcp://127.0.0.1:*").unwrap();
    let zdish = zsock(&zctx, zmq::SocketKind::Dish);
    zdish.join(&long).unwrap();
    zdish.connect(&radio.last_endpoint().unwrap()).unwrap();
    wait_for_zdish(&radio, &zdish);
    radio.send(grouped(&long, "to libzmq")).unwrap();
    assert_eq!(zrecv(&zdish), fr(&[&long, "to libzmq"]));
}

// ---------------------------------------------------------------------------
// Reconnection
// ---------------------------------------------------------------------------

/// A libzmq RADIO in a context of its own, bound to `endpoint`, retried
/// while the port is still held by the one before.
fn zradio_bound(endpoint: &str) -> (zmq::Context, zmq::Socket) {
    let zctx = zmq_ctx();
    let radio = zsock(&zctx, zmq::SocketKind::Radio);
    let deadline = Instant::now() + LONG;
    loop {
        match radio.bind(endpoint) {
            Ok(()) => return (zctx, radio),
            Err(e) if Instant::now() < deadline => {
                eprintln!("bind {endpoint}: {e}; retrying");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("bind {endpoint}: {e}"),
        }
    }
}

/// Our DISH reconnects to a libzmq RADIO restarted on the same port and
/// sends its joins again (and not the group it left).
#[test]
fn our_dish_joins_again_after_libzmq_radio_restarts() {
    let (zctx, radio) = zradio_bound("tcp://127.0.0.1:*");
    let ep = radio.last_endpoint().unwrap();
    let ctx = Context::new();
    let dish = sock(&ctx, SocketType::Dish);
    let mon = dish.monitor().unwrap();
    dish.join("Movies").unwrap();
    dish.join("TV").unwrap();
    dish.connect(&ep).unwrap();
    let mut skip = Skip::default();
    zsend_until_received(&radio, &dish, &mut skip, "Movies", "before");
    dish.leave("TV").unwrap();

    // Stop libzmq entirely (closing the socket and terminating its
    // context closes the listener and the connection).
    drop(radio);
    drop(zctx);
    wait_for(&mon, |e| matches!(e, MonitorEvent::Disconnected { .. }));

    let (_zctx, radio) = zradio_bound(&ep);
    zsend_until_received(&radio, &dish, &mut skip, "Movies", "after");
    wait_for(&mon, |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
    // TV, left before the restart, does not come back.
    radio.send_group("TV", b"left before the restart").unwrap();
    radio.send_group("Movies", b"still joined").unwrap();
    assert_eq!(recv_skipping(&dish, &skip), fr(&["Movies", "still joined"]));
}

// ---------------------------------------------------------------------------
// Joining twice, leaving a group not joined
// ---------------------------------------------------------------------------

/// Both DISHes refuse a second join of a group and the leave of a group
/// not joined, locally (libzmq with EINVAL); nothing goes to the RADIO
/// (see `test_mock_radio_our_dish_join_leave_bytes`), so the connection to
/// libzmq's RADIO carries on and delivers each message once.
#[test]
fn double_join_and_unknown_leave_fail_locally_as_in_libzmq() {
    const EINVAL: i32 = 22;
    let zctx = zmq_ctx();
    let zdish = zsock(&zctx, zmq::SocketKind::Dish);
    zdish.join("Movies").unwrap();
    assert_eq!(zdish.join("Movies").unwrap_err().errno, EINVAL);
    assert_eq!(zdish.leave("TV").unwrap_err().errno, EINVAL);
    zdish.leave("Movies").unwrap();
    assert_eq!(zdish.leave("Movies").unwrap_err().errno, EINVAL);

    let radio = zsock(&zctx, zmq::SocketKind::Radio);
    radio.bind("tcp://127.0.0.1:*").unwrap();
    let ctx = Context::new();
    let dish = sock(&ctx, SocketType::Dish);
    dish.join("Movies").unwrap();
    dish.connect(&radio.last_endpoint().unwrap()).unwrap();
    let mut skip = Skip::default();
    zsend_until_received(&radio, &dish, &mut skip, "Movies", "probe 1");
    assert!(matches!(
        dish.join("Movies"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(dish.leave("TV"), Err(Error::InvalidArgument(_))));
    radio.send_group("Movies", b"once").unwrap();
    radio.send_group("Movies", b"twice").unwrap();
    assert_eq!(recv_skipping(&dish, &skip), fr(&["Movies", "once"]));
    assert_eq!(recv_skipping(&dish, &skip), fr(&["Movies", "twice"]));

    // One leave is enough for libzmq (it counted one join); a second one
    // fails locally.
    dish.leave("Movies").unwrap();
    assert!(matches!(
        dish.leave("Movies"),
        Err(Error::InvalidArgument(_))
    ));
    dish.join("News").unwrap();
    zsend_until_received(&radio, &dish, &mut skip, "News", "probe 2");
    radio.send_group("Movies", b"not any more").unwrap();
    radio.send_group("News", b"last").unwrap();
    assert_eq!(recv_skipping(&dish, &skip), fr(&["News", "last"]));
}

// ---------------------------------------------------------------------------
// Raw ZMTP
// ---------------------------------------------------------------------------

/// A JOIN or LEAVE command frame as libzmq's dish_session encodes it:
/// command flag, size, then the command name (length byte, "JOIN" or
/// "LEAVE") followed by the group bytes; a long frame (8-byte size) past
/// 255 bytes.
fn join_leave(join: bool, group: &[u8]) -> Vec<u8> {
    let name: &[u8] = if join { b"\x04JOIN" } else { b"\x05LEAVE" };
    let size = name.len() + group.len();
    let mut f = if size > 255 {
        let mut f = vec![0x06];
        f.extend((size as u64).to_be_bytes());
        f
    } else {
        vec![0x04, size as u8]
    };
    f.extend(name);
    f.extend(group);
    f
}

/// A two-frame `[group, body]` message as a RADIO sends it (short
/// frames; the group frame has MORE).
fn raw_grouped(group: &str, body: &str) -> Vec<u8> {
    let mut m = vec![0x01, group.len() as u8];
    m.extend(group.as_bytes());
    m.extend([0x00, body.len() as u8]);
    m.extend(body.as_bytes());
    m
}

/// A raw mock connected to `endpoint` that has sent its greeting and
/// READY as `socket_type`.
fn mock_connect(endpoint: &str, socket_type: &str) -> TcpStream {
    let mut raw = TcpStream::connect(endpoint.trim_start_matches("tcp://")).unwrap();
    raw.set_read_timeout(Some(LONG)).unwrap();
    raw.write_all(&greeting(1)).unwrap();
    raw.write_all(&ready(socket_type)).unwrap();
    raw
}

/// The connection of our connecting socket to a raw mock listening on
/// `listener`, once the mock has sent its greeting and READY as
/// `socket_type`.
fn mock_accept(listener: &TcpListener, socket_type: &str) -> TcpStream {
    let (mut raw, _) = listener.accept().unwrap();
    raw.set_read_timeout(Some(LONG)).unwrap();
    raw.write_all(&greeting(1)).unwrap();
    raw.write_all(&ready(socket_type)).unwrap();
    raw
}

/// Reads libzmq 4.3's greeting: ZMTP 3.1, NULL mechanism, not as server
/// (its signature has 1 in the padding's last byte, as ZMTP 1.0 peers
/// need).
fn expect_libzmq_greeting(raw: &mut TcpStream) {
    let mut expected = greeting(1);
    expected[8] = 1;
    expect_bytes(raw, &expected, "libzmq greeting");
}

/// Reads exactly the bytes of `expected` and compares them.
fn expect_bytes(raw: &mut TcpStream, expected: &[u8], what: &str) {
    assert_eq!(
        read_exactly(raw, expected.len()),
        expected,
        "{what}: {:?}",
        String::from_utf8_lossy(expected)
    );
}

/// Our DISH connecting to a raw mock RADIO, which reads every JOIN and
/// LEAVE: the joins made before the connection right after READY, then
/// exactly one command per successful join or leave, none for the refused
/// ones, and every current group again on a new connection.
#[test]
fn test_mock_radio_our_dish_join_leave_bytes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ctx = Context::new();
    let dish = sock(&ctx, SocketType::Dish);
    let mon = dish.monitor().unwrap();
    dish.join("Movies").unwrap();
    dish.connect(&format!("tcp://{}", listener.local_addr().unwrap()))
        .unwrap();
    let mut raw = mock_accept(&listener, "RADIO");
    expect_bytes(&mut raw, &greeting(1), "greeting");
    expect_bytes(&mut raw, &ready("DISH"), "READY");
    expect_bytes(&mut raw, b"\x04\x0b\x04JOINMovies", "JOIN Movies");
    assert_eq!(join_leave(true, b"Movies"), b"\x04\x0b\x04JOINMovies");

    dish.join("TV").unwrap();
    expect_bytes(&mut raw, b"\x04\x07\x04JOINTV", "JOIN TV");
    // Refused locally: nothing on the wire.
    assert!(matches!(dish.join("TV"), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        dish.leave("Sports"),
        Err(Error::InvalidArgument(_))
    ));
    dish.leave("Movies").unwrap();
    expect_bytes(&mut raw, b"\x04\x0c\x05LEAVEMovies", "LEAVE Movies");
    // The longest group: a long command frame (8-byte size, 260).
    let long = vec![b'x'; 255];
    dish.join(&long).unwrap();
    let long_join = join_leave(true, &long);
    assert_eq!(&long_join[..9], b"\x06\0\0\0\0\0\0\x01\x04");
    expect_bytes(&mut raw, &long_join, "JOIN xxx...");
    dish.leave(&long).unwrap();
    expect_bytes(&mut raw, &join_leave(false, &long), "LEAVE xxx...");

    // The mock's messages are filtered by our DISH too.
    raw.write_all(&raw_grouped("Movies", "left")).unwrap();
    raw.write_all(&raw_grouped("Sports", "never joined"))
        .unwrap();
    raw.write_all(&raw_grouped("TV", "Lost")).unwrap();
    assert_eq!(frames(&dish.recv().unwrap()), fr(&["TV", "Lost"]));

    // The mock drops the connection; our DISH connects again and sends
    // every current group (TV and News), once each.
    dish.join("News").unwrap();
    expect_bytes(&mut raw, b"\x04\x09\x04JOINNews", "JOIN News");
    drop(raw);
    wait_for(&mon, |e| matches!(e, MonitorEvent::Disconnected { .. }));
    let mut raw = mock_accept(&listener, "RADIO");
    expect_bytes(&mut raw, &greeting(1), "greeting");
    expect_bytes(&mut raw, &ready("DISH"), "READY");
    let tv = join_leave(true, b"TV");
    let news = join_leave(true, b"News");
    let got = read_exactly(&mut raw, tv.len() + news.len());
    assert!(
        got == [tv.clone(), news.clone()].concat() || got == [news, tv].concat(),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    dish.leave("TV").unwrap();
    expect_bytes(&mut raw, b"\x04\x08\x05LEAVETV", "LEAVE TV");
    raw.write_all(&raw_grouped("TV", "left")).unwrap();
    raw.write_all(&raw_grouped("News", "last")).unwrap();
    assert_eq!(frames(&dish.recv().unwrap()), fr(&["News", "last"]));
}

/// A raw mock RADIO connecting to our bound DISH, which joins once the
/// connection is up: one JOIN per join, one LEAVE per leave.
#[test]
fn test_mock_radio_connects_to_our_dish() {
    let ctx = Context::new();
    let dish = sock(&ctx, SocketType::Dish);
    let mon = dish.monitor().unwrap();
    dish.bind("tcp://127.0.0.1:*").unwrap();
    let mut raw = mock_connect(&dish.last_endpoint().unwrap(), "RADIO");
    expect_bytes(&mut raw, &greeting(1), "greeting");
    expect_bytes(&mut raw, &ready("DISH"), "READY");
    wait_for(&mon, |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
    dish.join("Movies").unwrap();
    expect_bytes(&mut raw, &join_leave(true, b"Movies"), "JOIN Movies");
    assert!(matches!(
        dish.join("Movies"),
        Err(Error::InvalidArgument(_))
    ));
    dish.join("TV").unwrap();
    expect_bytes(&mut raw, &join_leave(true, b"TV"), "JOIN TV");
    dish.leave("Movies").unwrap();
    expect_bytes(&mut raw, &join_leave(false, b"Movies"), "LEAVE Movies");
    raw.write_all(&raw_grouped("Movies", "left")).unwrap();
    raw.write_all(&raw_grouped("TV", "Lost")).unwrap();
    assert_eq!(frames(&dish.recv().unwrap()), fr(&["TV", "Lost"]));
}

/// A bound DISH that joined before a RADIO connects sends each JOIN once
/// on the new connection. (It used to send them twice, from the I/O
/// thread at the handshake and again when the socket attached the peer;
/// libzmq's RADIO counts joins (see
/// `test_mock_dish_libzmq_radio_filters_and_counts_joins`), so after one
/// LEAVE it kept sending the group.)
#[test]
fn test_mock_radio_connects_to_our_dish_joined_before() {
    let ctx = Context::new();
    let dish = sock(&ctx, SocketType::Dish);
    dish.bind("tcp://127.0.0.1:*").unwrap();
    dish.join("Movies").unwrap();
    let mut raw = mock_connect(&dish.last_endpoint().unwrap(), "RADIO");
    expect_bytes(&mut raw, &greeting(1), "greeting");
    expect_bytes(&mut raw, &ready("DISH"), "READY");
    expect_bytes(&mut raw, &join_leave(true, b"Movies"), "JOIN Movies");
    // A later join shows what came in between (nothing, if correct).
    dish.join("TV").unwrap();
    expect_bytes(&mut raw, &join_leave(true, b"TV"), "JOIN TV");
}

/// One ZMTP frame read from a raw stream: (flags, body).
fn read_frame(raw: &mut TcpStream) -> (u8, Vec<u8>) {
    let flags = read_exactly(raw, 1)[0];
    let size = if flags & 0x02 != 0 {
        u64::from_be_bytes(read_exactly(raw, 8).try_into().unwrap()) as usize
    } else {
        read_exactly(raw, 1)[0] as usize
    };
    (flags, read_exactly(raw, size))
}

/// One whole message read from a raw stream (no commands expected).
fn read_message(raw: &mut TcpStream) -> Vec<Vec<u8>> {
    let mut parts = Vec::new();
    loop {
        let (flags, body) = read_frame(raw);
        assert_eq!(flags & 0x04, 0, "unexpected command {body:?}");
        parts.push(body);
        if flags & 0x01 == 0 {
            return parts;
        }
    }
}

/// Sends `[group, body]` from the libzmq RADIO until bytes reach the raw
/// mock DISH (the copies still on their way are to be skipped).
fn zsend_until_raw(radio: &zmq::Socket, raw: &mut TcpStream, group: &str, body: &str) {
    raw.set_read_timeout(Some(PROBE)).unwrap();
    let deadline = Instant::now() + PATIENCE;
    let mut byte = [0u8; 1];
    while Instant::now() < deadline {
        radio.send_group(group, body.as_bytes()).unwrap();
        match raw.peek(&mut byte) {
            Ok(1) => {
                raw.set_read_timeout(Some(LONG)).unwrap();
                return;
            }
            Ok(_) => panic!("libzmq closed the connection"),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("{e}"),
        }
    }
    panic!("nothing reached the mock DISH");
}

/// The mock's next message that is not `probe`.
fn read_skipping(raw: &mut TcpStream, probe: &[Vec<u8>]) -> Vec<Vec<u8>> {
    loop {
        let m = read_message(raw);
        if m != probe {
            return m;
        }
    }
}

/// What libzmq's RADIO does with the JOIN and LEAVE commands of a raw
/// mock DISH: it filters at the sender (only joined groups are on the
/// wire, each message once, as `[group (MORE), body]`), and it counts
/// joins: after two JOINs of a group one LEAVE does not stop it, a second
/// does (radio.cpp keeps a multimap of group -> pipe). Real DISHes, ours
/// and libzmq's, never send a second JOIN (see
/// `double_join_and_unknown_leave_fail_locally_as_in_libzmq`).
#[test]
fn test_mock_dish_libzmq_radio_filters_and_counts_joins() {
    let zctx = zmq_ctx();
    let radio = zsock(&zctx, zmq::SocketKind::Radio);
    radio.bind("tcp://127.0.0.1:*").unwrap();
    let mut raw = mock_connect(&radio.last_endpoint().unwrap(), "DISH");
    expect_libzmq_greeting(&mut raw);
    expect_bytes(&mut raw, &ready("RADIO"), "READY");
    raw.write_all(&join_leave(true, b"Movies")).unwrap();
    raw.write_all(&join_leave(true, b"Movies")).unwrap();

    let probe = fr(&["Movies", "probe 1"]);
    zsend_until_raw(&radio, &mut raw, "Movies", "probe 1");
    assert_eq!(read_message(&mut raw), probe);
    radio.send_group("TV", b"Friends").unwrap();
    radio.send_group("Movies", b"Godfather").unwrap();
    radio.send_group("Movies", b"Godfather II").unwrap();
    // Not sent twice despite two JOINs; TV not sent at all.
    assert_eq!(
        read_skipping(&mut raw, &probe),
        fr(&["Movies", "Godfather"])
    );
    assert_eq!(read_message(&mut raw), fr(&["Movies", "Godfather II"]));

    // One LEAVE: still a member. The JOIN of News after it tells when
    // libzmq has applied the LEAVE.
    raw.write_all(&join_leave(false, b"Movies")).unwrap();
    raw.write_all(&join_leave(true, b"News")).unwrap();
    let probe = fr(&["News", "probe 2"]);
    zsend_until_raw(&radio, &mut raw, "News", "probe 2");
    assert_eq!(read_message(&mut raw), probe);
    radio
        .send_group("Movies", b"one leave is not enough")
        .unwrap();
    assert_eq!(
        read_skipping(&mut raw, &probe),
        fr(&["Movies", "one leave is not enough"])
    );

    // A second LEAVE: gone.
    raw.write_all(&join_leave(false, b"Movies")).unwrap();
    raw.write_all(&join_leave(true, b"Weather")).unwrap();
    let probe = fr(&["Weather", "probe 3"]);
    zsend_until_raw(&radio, &mut raw, "Weather", "probe 3");
    assert_eq!(read_message(&mut raw), probe);
    radio.send_group("Movies", b"left twice").unwrap();
    radio.send_group("News", b"last").unwrap();
    assert_eq!(read_skipping(&mut raw, &probe), fr(&["News", "last"]));
}
