//! RADIO and DISH over `udp://`: a port of libzmq's test_radio_dish UDP
//! cases, plus wildcard ports, hostile datagrams, sizes, back-pressure,
//! the release of the UDP sockets, and interop with libzmq 4.3.5 in both
//! directions. Everything is on 127.0.0.1 with system-chosen ports.
//!
//! UDP has no handshake, so where a test needs to know that datagrams
//! flow it sends numbered probes until one arrives (instead of
//! sleeping), and skips the probes still in flight afterwards.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use brokerless::{Context, Error, Message, MonitorEvent, Socket, SocketType};
use common::*;
use libzmq_peer::{self as zmq, SocketKind, ZMQ_POLLIN};

fn grouped(group: &str, body: &[u8]) -> Message {
    Message::with_group(group.to_string(), body.to_vec())
}

/// A DISH bound to a system-chosen loopback port, and its endpoint.
fn bound_dish(ctx: &Context) -> (Socket, String) {
    let dish = sock(ctx, SocketType::Dish);
    dish.bind("udp://127.0.0.1:*").unwrap();
    let ep = dish.last_endpoint().unwrap();
    (dish, ep)
}

fn port_of(endpoint: &str) -> u16 {
    endpoint.rsplit(':').next().unwrap().parse().unwrap()
}

fn is_probe(body: &[u8]) -> bool {
    body.starts_with(b"probe-")
}

/// Sends probes of `group` through `send` until `received` reports one
/// (each call of `received` may wait a little).
fn probe(group: &str, send: impl Fn(&str, &[u8]), received: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    for i in 0.. {
        assert!(Instant::now() < deadline, "no probe of {group} arrived");
        send(group, format!("probe-{i}").as_bytes());
        if received() {
            return;
        }
    }
}

/// Probes from our RADIO to our DISH.
fn probe_ours(radio: &Socket, dish: &Socket, group: &str) {
    dish.set_recv_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    probe(
        group,
        |g, b| radio.send(grouped(g, b)).unwrap(),
        || match dish.recv() {
            Ok(m) => {
                assert_eq!(&m[0][..], group.as_bytes());
                assert!(is_probe(&m[1]), "{m:?}");
                true
            }
            Err(Error::Timeout) => false,
            Err(e) => panic!("{e}"),
        },
    );
    dish.set_recv_timeout(LONG).unwrap();
}

/// The next message that is not a probe.
fn recv_data(dish: &Socket) -> Vec<Vec<u8>> {
    loop {
        let m = dish.recv().unwrap();
        if !is_probe(&m[1]) {
            return frames(&m);
        }
    }
}

/// Nothing but probes is waiting.
fn assert_nothing_more(dish: &Socket) {
    loop {
        match dish.try_recv() {
            Ok(m) if is_probe(&m[1]) => {}
            Ok(m) => panic!("unexpected {m:?}"),
            Err(Error::WouldBlock) => return,
            Err(e) => panic!("{e}"),
        }
    }
}

// ---------------------------------------------------------------------------
// libzmq's test_radio_dish, UDP cases
// ---------------------------------------------------------------------------

#[test]
fn test_radio_bind_fails() {
    let ctx = Context::new();
    let radio = sock(&ctx, SocketType::Radio);
    let mon = radio.monitor().unwrap();
    let err = radio.bind("udp://127.0.0.1:*").unwrap_err();
    assert!(matches!(err, Error::NotSupported(_)), "{err}");
    assert!(err.to_string().contains("RADIO"), "{err}");
    wait_for(&mon, |e| matches!(e, MonitorEvent::BindFailed { .. }));
    assert_eq!(radio.last_endpoint(), None);
    // tcp still works for it.
    radio.bind("tcp://127.0.0.1:*").unwrap();
}

#[test]
fn test_dish_connect_fails() {
    let ctx = Context::new();
    let dish = sock(&ctx, SocketType::Dish);
    let target = UdpSocket::bind("127.0.0.1:0").unwrap();
    let ep = format!("udp://{}", target.local_addr().unwrap());
    let err = dish.connect(&ep).unwrap_err();
    assert!(matches!(err, Error::NotSupported(_)), "{err}");
    assert!(err.to_string().contains("DISH"), "{err}");
    assert!(matches!(
        dish.disconnect(&ep),
        Err(Error::EndpointNotFound(_))
    ));
}

#[test]
fn other_socket_types_refuse_udp() {
    let ctx = Context::new();
    let target = UdpSocket::bind("127.0.0.1:0").unwrap();
    let ep = format!("udp://{}", target.local_addr().unwrap());
    for t in [
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Push,
        SocketType::Pull,
        SocketType::Dealer,
    ] {
        let s = sock(&ctx, t);
        assert!(
            matches!(s.bind("udp://127.0.0.1:*"), Err(Error::NotSupported(_))),
            "{t} bind"
        );
        assert!(
            matches!(s.connect(&ep), Err(Error::NotSupported(_))),
            "{t} connect"
        );
    }
}

#[test]
fn test_radio_dish_udp() {
    let ctx = Context::new();
    let (dish, ep) = bound_dish(&ctx);
    let radio = sock(&ctx, SocketType::Radio);
    radio.connect(&ep).unwrap();

    dish.join("TV").unwrap();
    probe_ours(&radio, &dish, "TV");
    // A UDP DISH gets every group; it keeps only the joined ones.
    radio.send(grouped("Movies", b"Godfather")).unwrap();
    radio.send(grouped("TV", b"Friends")).unwrap();
    assert_eq!(recv_data(&dish), fr(&["TV", "Friends"]));

    // After a leave, nothing more of that group is received.
    dish.leave("TV").unwrap();
    dish.join("Sync").unwrap();
    radio.send(grouped("TV", b"Lost")).unwrap();
    radio.send(grouped("Sync", b"marker")).unwrap();
    assert_eq!(recv_data(&dish), fr(&["Sync", "marker"]));
    assert_nothing_more(&dish);
    // The RADIO counts the UDP peer as a subscriber (there is no join to
    // wait for) and dropped nothing.
    radio
        .wait_for_subscribers(1, Duration::from_secs(1))
        .unwrap();
    assert_eq!(radio.dropped_messages(), 0);
}

#[test]
fn one_dish_hears_several_radios_and_a_radio_feeds_several_dishes() {
    let ctx = Context::new();
    let (dish_a, ep_a) = bound_dish(&ctx);
    let (dish_b, ep_b) = bound_dish(&ctx);
    dish_a.join("g").unwrap();
    dish_b.join("g").unwrap();
    let radio = sock(&ctx, SocketType::Radio);
    radio.connect(&ep_a).unwrap();
    radio.connect(&ep_b).unwrap();
    let other = sock(&ctx, SocketType::Radio);
    other.connect(&ep_a).unwrap();
    probe_ours(&radio, &dish_a, "g");
    probe_ours(&radio, &dish_b, "g");
    probe_ours(&other, &dish_a, "g");
    radio.send(grouped("g", b"both")).unwrap();
    assert_eq!(recv_data(&dish_a), fr(&["g", "both"]));
    assert_eq!(recv_data(&dish_b), fr(&["g", "both"]));
    other.send(grouped("g", b"only a")).unwrap();
    assert_eq!(recv_data(&dish_a), fr(&["g", "only a"]));

    // After a disconnect, that DISH hears nothing more from the RADIO.
    radio.disconnect(&ep_b).unwrap();
    assert!(matches!(
        radio.disconnect(&ep_b),
        Err(Error::EndpointNotFound(_))
    ));
    radio.send(grouped("g", b"after")).unwrap();
    assert_eq!(recv_data(&dish_a), fr(&["g", "after"]));
    other.send(grouped("g", b"end")).unwrap();
    assert_eq!(recv_data(&dish_a), fr(&["g", "end"]));
    assert_nothing_more(&dish_b);
}

// ---------------------------------------------------------------------------
// Endpoints and the socket's lifetime
// ---------------------------------------------------------------------------

#[test]
fn wildcard_ports_are_read_back() {
    let ctx = Context::new();
    for (bind, prefix) in [
        ("udp://*:*", "udp://0.0.0.0:"),
        ("udp://*:0", "udp://0.0.0.0:"),
        ("udp://127.0.0.1:0", "udp://127.0.0.1:"),
    ] {
        let dish = sock(&ctx, SocketType::Dish);
        dish.bind(bind).unwrap();
        let ep = dish.last_endpoint().unwrap();
        assert!(ep.starts_with(prefix), "{bind} -> {ep}");
        let port = port_of(&ep);
        assert_ne!(port, 0, "{ep}");
        // The port is really ours: a second bind finds it in use.
        assert!(UdpSocket::bind(("127.0.0.1", port)).is_err(), "{ep}");
        // A RADIO reaches it by address or by name.
        dish.join("g").unwrap();
        let radio = sock(&ctx, SocketType::Radio);
        radio.connect(&format!("udp://localhost:{port}")).unwrap();
        assert_eq!(
            radio.last_endpoint().unwrap(),
            format!("udp://localhost:{port}")
        );
        probe_ours(&radio, &dish, "g");
    }
}

#[test]
fn ipv6_loopback() {
    let ctx = Context::new();
    let dish = sock(&ctx, SocketType::Dish);
    dish.bind("udp://[::1]:*").unwrap();
    let ep = dish.last_endpoint().unwrap();
    assert!(ep.starts_with("udp://[::1]:"), "{ep}");
    dish.join("g").unwrap();
    let radio = sock(&ctx, SocketType::Radio);
    radio.connect(&ep).unwrap();
    probe_ours(&radio, &dish, "g");
}

#[test]
fn malformed_endpoints_are_refused() {
    let ctx = Context::new();
    let dish = sock(&ctx, SocketType::Dish);
    let radio = sock(&ctx, SocketType::Radio);
    for bad in ["udp://", "udp://127.0.0.1", "udp://127.0.0.1:x", "udp://:5"] {
        assert!(
            matches!(dish.bind(bad), Err(Error::InvalidEndpoint(_))),
            "{bad}"
        );
        assert!(
            matches!(radio.connect(bad), Err(Error::InvalidEndpoint(_))),
            "{bad}"
        );
    }
    // A connect needs a host and a port.
    for bad in ["udp://*:5555", "udp://127.0.0.1:*", "udp://127.0.0.1:0"] {
        assert!(
            matches!(radio.connect(bad), Err(Error::InvalidEndpoint(_))),
            "{bad}"
        );
    }
    assert_eq!(dish.last_endpoint(), None);
    assert_eq!(radio.last_endpoint(), None);
}

/// Waits until `port` can be bound again: the DISH's socket is closed.
fn wait_released(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while UdpSocket::bind(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} never released");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn unbind_close_and_shutdown_release_the_port() {
    // unbind: Listening, then Closed once the socket is released.
    let ctx = Context::new();
    let dish = sock(&ctx, SocketType::Dish);
    let mon = dish.monitor().unwrap();
    dish.bind("udp://127.0.0.1:*").unwrap();
    let ep = dish.last_endpoint().unwrap();
    let listening = wait_for(&mon, |e| matches!(e, MonitorEvent::Listening { .. }));
    assert!(matches!(listening, MonitorEvent::Listening { endpoint } if endpoint == ep));
    dish.unbind(&ep).unwrap();
    let closed = wait_for(&mon, |e| matches!(e, MonitorEvent::Closed { .. }));
    assert!(matches!(closed, MonitorEvent::Closed { endpoint } if endpoint == ep));
    assert!(UdpSocket::bind(("127.0.0.1", port_of(&ep))).is_ok());
    assert!(matches!(dish.unbind(&ep), Err(Error::EndpointNotFound(_))));
    // The same DISH binds again and receives.
    dish.bind(&ep).unwrap();
    dish.join("g").unwrap();
    let radio = sock(&ctx, SocketType::Radio);
    radio.connect(&ep).unwrap();
    probe_ours(&radio, &dish, "g");

    // close: the port is free once the socket is dropped.
    let port = port_of(&ep);
    drop(dish);
    wait_released(port);

    // context shutdown: the same.
    let (dish, ep) = bound_dish(&ctx);
    ctx.shutdown();
    wait_released(port_of(&ep));
    assert!(matches!(dish.recv(), Err(Error::Terminated)));
    assert!(matches!(
        radio.send(grouped("g", b"x")),
        Err(Error::Terminated)
    ));
}

#[test]
fn a_closing_radio_flushes_what_it_queued() {
    let ctx = Context::new();
    let (dish, ep) = bound_dish(&ctx);
    dish.join("g").unwrap();
    {
        let radio = socket_with_timeouts(&ctx, SocketType::Radio);
        radio.connect(&ep).unwrap();
        for i in 0..100 {
            radio.send(grouped("g", i.to_string().as_bytes())).unwrap();
        }
        // Dropped at once, with its (infinite) linger.
    }
    for i in 0..100 {
        assert_eq!(recv_data(&dish), fr(&["g", &i.to_string()]));
    }
}

// ---------------------------------------------------------------------------
// Datagrams: hostile ones, sizes, back-pressure
// ---------------------------------------------------------------------------

#[test]
fn malformed_datagrams_are_dropped_without_harm() {
    let ctx = Context::new();
    let (dish, ep) = bound_dish(&ctx);
    dish.join("TV").unwrap();
    dish.join("").unwrap();
    let raw = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = ("127.0.0.1", port_of(&ep));
    // Empty; group length past the end (by one, and 255 with nothing);
    // a group not joined.
    let bad: [&[u8]; 4] = [b"", b"\x05TVa", b"\xff", b"\x06Moviesx"];
    for bad in bad {
        raw.send_to(bad, to).unwrap();
    }
    // Then good ones: an ordinary one, an empty body, the empty group,
    // and one far over libzmq's 8 KiB (we receive any UDP datagram).
    raw.send_to(b"\x02TVgood", to).unwrap();
    raw.send_to(b"\x02TV", to).unwrap();
    raw.send_to(b"\x00no group", to).unwrap();
    let mut big = b"\x02TV".to_vec();
    big.extend(std::iter::repeat_n(b'x', 60_000));
    raw.send_to(&big, to).unwrap();
    assert_eq!(frames(&dish.recv().unwrap()), fr(&["TV", "good"]));
    assert_eq!(frames(&dish.recv().unwrap()), fr(&["TV", ""]));
    assert_eq!(frames(&dish.recv().unwrap()), fr(&["", "no group"]));
    let m = dish.recv().unwrap();
    assert_eq!((&m[0][..], &m[1][..]), (&b"TV"[..], &big[3..]));
    assert!(matches!(dish.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn max_msg_size_applies_to_datagrams() {
    let ctx = Context::new();
    let dish = sock(&ctx, SocketType::Dish);
    dish.set_max_msg_size(Some(10)).unwrap();
    dish.bind("udp://127.0.0.1:*").unwrap();
    let port = port_of(&dish.last_endpoint().unwrap());
    dish.join("g").unwrap();
    let raw = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Group and body together: 11 bytes are too many, 10 are fine.
    raw.send_to(b"\x01g0123456789", ("127.0.0.1", port))
        .unwrap();
    raw.send_to(b"\x01g012345678", ("127.0.0.1", port)).unwrap();
    assert_eq!(frames(&dish.recv().unwrap()), fr(&["g", "012345678"]));
    assert!(matches!(dish.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn messages_too_large_for_a_datagram_are_dropped_and_counted() {
    let ctx = Context::new();
    let (dish, ep) = bound_dish(&ctx);
    dish.join("g").unwrap();
    let radio = sock(&ctx, SocketType::Radio);
    radio.connect(&ep).unwrap();
    probe_ours(&radio, &dish, "g");
    // 1 + 1 + 8190 = 8192 bytes: the largest datagram sent.
    let largest = vec![b'x'; 8190];
    radio.send(grouped("g", &[b'y'; 8191])).unwrap();
    assert_eq!(radio.dropped_messages(), 1);
    radio.send(grouped("g", &largest)).unwrap();
    assert_eq!(radio.dropped_messages(), 1);
    let m = recv_data(&dish);
    assert_eq!(m[1], largest);
    assert_nothing_more(&dish);
}

#[test]
fn a_full_dish_stops_reading_and_loses_nothing_the_kernel_kept() {
    let ctx = Context::new();
    let dish = sock(&ctx, SocketType::Dish);
    dish.set_recv_hwm(5).unwrap();
    dish.bind("udp://127.0.0.1:*").unwrap();
    let ep = dish.last_endpoint().unwrap();
    dish.join("g").unwrap();
    let radio = sock(&ctx, SocketType::Radio);
    radio.connect(&ep).unwrap();
    probe_ours(&radio, &dish, "g");
    // 50 small datagrams fit in the kernel's receive buffer: the DISH's
    // queue takes 5, the rest wait in the kernel, and all arrive in order.
    for i in 0..50 {
        radio.send(grouped("g", i.to_string().as_bytes())).unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    for i in 0..50 {
        assert_eq!(recv_data(&dish), fr(&["g", &i.to_string()]));
    }
    assert_nothing_more(&dish);
}

// ---------------------------------------------------------------------------
// Interop with libzmq 4.3.5
// ---------------------------------------------------------------------------

/// Waits up to 20 ms for a libzmq socket to have a message.
fn zmq_ready(s: &zmq::Socket) -> bool {
    s.poll(ZMQ_POLLIN, 20).unwrap() != 0
}

/// The next libzmq message that is not a probe, as `[group, body]`.
fn zmq_recv_data(dish: &zmq::Socket) -> Vec<Vec<u8>> {
    loop {
        let (group, body) = dish.recv_group().unwrap();
        if !is_probe(&body) {
            return vec![group.into_bytes(), body];
        }
    }
}

#[test]
fn libzmq_radio_to_our_dish() {
    let ctx = Context::new();
    let (dish, ep) = bound_dish(&ctx);
    dish.join("TV").unwrap();
    let zctx = zmq_ctx();
    let radio = zsock(&zctx, SocketKind::Radio);
    radio.connect(&ep).unwrap();

    dish.set_recv_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    probe(
        "TV",
        |g, b| radio.send_group(g, b).unwrap(),
        || dish.recv().is_ok(),
    );
    dish.set_recv_timeout(LONG).unwrap();
    radio.send_group("Movies", b"Godfather").unwrap();
    radio.send_group("TV", b"Friends").unwrap();
    assert_eq!(recv_data(&dish), fr(&["TV", "Friends"]));
    // libzmq's largest: a datagram of 8192 bytes.
    let largest = vec![b'z'; 8192 - 3];
    radio.send_group("TV", &largest).unwrap();
    assert_eq!(recv_data(&dish)[1], largest);
    // An empty body.
    radio.send_group("TV", b"").unwrap();
    assert_eq!(recv_data(&dish), fr(&["TV", ""]));

    dish.leave("TV").unwrap();
    dish.join("Sync").unwrap();
    radio.send_group("TV", b"Lost").unwrap();
    radio.send_group("Sync", b"marker").unwrap();
    assert_eq!(recv_data(&dish), fr(&["Sync", "marker"]));
    assert_nothing_more(&dish);
}

#[test]
fn our_radio_to_libzmq_dish() {
    // libzmq binds UDP in its I/O thread and reports no chosen port, so
    // the port comes from a socket bound and closed just before.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ep = format!("udp://127.0.0.1:{port}");
    let zctx = zmq_ctx();
    let dish = zsock(&zctx, SocketKind::Dish);
    dish.bind(&ep).unwrap();
    dish.join("TV").unwrap();
    let ctx = Context::new();
    let radio = sock(&ctx, SocketType::Radio);
    radio.connect(&ep).unwrap();

    // Also covers libzmq binding in the background: probes go out until
    // its socket exists.
    probe(
        "TV",
        |g, b| radio.send(grouped(g, b)).unwrap(),
        || zmq_ready(&dish),
    );
    let (group, body) = dish.recv_group().unwrap();
    assert_eq!(group, "TV");
    assert!(is_probe(&body));
    radio.send(grouped("Movies", b"Godfather")).unwrap();
    radio.send(grouped("TV", b"Friends")).unwrap();
    assert_eq!(zmq_recv_data(&dish), fr(&["TV", "Friends"]));
    // Our largest datagram is libzmq's largest: it arrives whole.
    let largest = vec![b'q'; 8192 - 3];
    radio.send(grouped("TV", &largest)).unwrap();
    assert_eq!(zmq_recv_data(&dish)[1], largest);
    radio.send(grouped("TV", &[b'q'; 8192 - 2])).unwrap();
    assert_eq!(radio.dropped_messages(), 1);

    dish.leave("TV").unwrap();
    dish.join("Sync").unwrap();
    radio.send(grouped("TV", b"Lost")).unwrap();
    radio.send(grouped("Sync", b"marker")).unwrap();
    assert_eq!(zmq_recv_data(&dish), fr(&["Sync", "marker"]));
    assert_eq!(dish.try_recv().unwrap(), None);
}
