//! PUB/SUB over TCP (RFC 29; ports of parts of libzmq's test_pubsub and
//! test_hwm_pubsub), waiting for subscriptions instead of sleeping.

use std::time::Duration;

use brokerless::{Context, Error, Message, Socket, SocketType};
use bytes::Bytes;

const LONG: Duration = Duration::from_secs(20);

fn publisher(ctx: &Context) -> (Socket, String) {
    let publ = ctx.socket(SocketType::Pub).unwrap();
    publ.bind("tcp://127.0.0.1:*").unwrap();
    let ep = publ.last_endpoint().unwrap();
    (publ, ep)
}

fn subscriber(ctx: &Context, ep: &str, topics: &[&str]) -> Socket {
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_recv_timeout(Some(LONG)).unwrap();
    for t in topics {
        sub.subscribe(t).unwrap();
    }
    sub.connect(ep).unwrap();
    sub
}

fn text(m: &Message) -> String {
    String::from_utf8(m[0].to_vec()).unwrap()
}

#[test]
fn test_pubsub_filters_by_prefix() {
    let ctx = Context::new();
    let (publ, ep) = publisher(&ctx);
    let weather = subscriber(&ctx, &ep, &["weather."]);
    let all = subscriber(&ctx, &ep, &[""]);
    publ.wait_for_subscribers(2, LONG).unwrap();
    for topic in ["weather.rome", "sport.golf", "weather.oslo", "w"] {
        publ.send(topic).unwrap();
    }
    assert_eq!(text(&weather.recv().unwrap()), "weather.rome");
    assert_eq!(text(&weather.recv().unwrap()), "weather.oslo");
    assert!(matches!(weather.try_recv(), Err(Error::WouldBlock)));
    for want in ["weather.rome", "sport.golf", "weather.oslo", "w"] {
        assert_eq!(text(&all.recv().unwrap()), want);
    }
}

#[test]
fn multipart_messages_are_matched_on_the_first_frame() {
    let ctx = Context::new();
    let (publ, ep) = publisher(&ctx);
    let sub = subscriber(&ctx, &ep, &["A"]);
    publ.wait_for_subscribers(1, LONG).unwrap();
    publ.send(Message::from(vec![
        Bytes::from_static(b"B"),
        Bytes::from_static(b"A"),
    ]))
    .unwrap();
    publ.send(Message::from(vec![
        Bytes::from_static(b"A1"),
        Bytes::from_static(b"body"),
    ]))
    .unwrap();
    let m = sub.recv().unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(&m[1], b"body");
}

#[test]
fn counted_subscriptions_and_unsubscribe() {
    // An XPUB publishes like a PUB and shows the subscriptions it has
    // applied, so the test knows exactly what the publisher filters on.
    let ctx = Context::new();
    let publ = ctx.socket(SocketType::XPub).unwrap();
    publ.set_recv_timeout(Some(LONG)).unwrap();
    publ.bind("tcp://127.0.0.1:*").unwrap();
    let ep = publ.last_endpoint().unwrap();
    let sub = subscriber(&ctx, &ep, &["A", "A", "Z"]);
    let mut seen = vec![text(&publ.recv().unwrap()), text(&publ.recv().unwrap())];
    seen.sort();
    assert_eq!(seen, ["\x01A", "\x01Z"]);
    // One cancel of two: nothing goes upstream and "A" still arrives.
    sub.unsubscribe("A").unwrap();
    publ.send("A1").unwrap();
    publ.send("Z1").unwrap();
    assert_eq!(text(&sub.recv().unwrap()), "A1");
    assert_eq!(text(&sub.recv().unwrap()), "Z1");
    // The last cancel goes upstream; from then on the publisher itself
    // no longer sends "A" messages to this subscriber.
    sub.unsubscribe("A").unwrap();
    assert_eq!(text(&publ.recv().unwrap()), "\x00A");
    publ.send("A2").unwrap();
    publ.send("Z2").unwrap();
    assert_eq!(text(&sub.recv().unwrap()), "Z2");
    assert!(matches!(sub.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn subscriptions_survive_the_publisher_restarting() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let sub_ctx = Context::new();
    let sub = subscriber(&sub_ctx, &ep, &["T"]);
    for round in 0..3 {
        let ctx = Context::new();
        let publ = ctx.socket(SocketType::Pub).unwrap();
        publ.bind(&ep).unwrap();
        publ.wait_for_subscribers(1, LONG).unwrap();
        publ.send(format!("T{round}")).unwrap();
        assert_eq!(text(&sub.recv().unwrap()), format!("T{round}"));
    }
}

#[test]
fn a_full_subscriber_misses_messages_and_the_publisher_counts_them() {
    let ctx = Context::new();
    let publ = ctx.socket(SocketType::Pub).unwrap();
    publ.set_send_hwm(10).unwrap();
    publ.bind("tcp://127.0.0.1:*").unwrap();
    let ep = publ.last_endpoint().unwrap();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_recv_hwm(10).unwrap();
    sub.set_recv_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    sub.subscribe("").unwrap();
    sub.connect(&ep).unwrap();
    publ.wait_for_subscribers(1, LONG).unwrap();
    const N: u64 = 100_000;
    let payload = Bytes::from(vec![0u8; 1000]);
    for _ in 0..N {
        // Never blocks, whatever the subscriber does.
        publ.send(payload.clone()).unwrap();
    }
    let mut received = 0u64;
    while sub.recv().is_ok() {
        received += 1;
    }
    let dropped = publ.dropped_messages();
    assert!(dropped > 0, "the subscriber could not keep up with 100 MB");
    assert_eq!(
        received + dropped,
        N,
        "received {received}, dropped {dropped}"
    );
}

#[test]
fn wrong_calls_are_refused() {
    let ctx = Context::new();
    let publ = ctx.socket(SocketType::Pub).unwrap();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    assert!(matches!(publ.recv(), Err(Error::NotSupported(_))));
    assert!(matches!(sub.send("x"), Err(Error::NotSupported(_))));
    assert!(matches!(publ.subscribe("x"), Err(Error::NotSupported(_))));
    assert!(matches!(
        sub.wait_for_subscribers(1, Duration::from_millis(1)),
        Err(Error::NotSupported(_))
    ));
    assert!(matches!(
        publ.wait_for_subscribers(1, Duration::from_millis(50)),
        Err(Error::Timeout)
    ));
    assert_eq!(sub.linger(), Some(Duration::ZERO));
}
