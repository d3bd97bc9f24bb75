//! The inproc:// transport (ports of libzmq's test_inproc_connect and the
//! inproc half of test_hwm): sockets of one context joined by pipes, with
//! no encoding and no copy.

use std::time::Duration;

use brokerless::{Context, Error, Message, ProtocolError, SocketType};
use bytes::Bytes;

const LONG: Option<Duration> = Some(Duration::from_secs(20));

#[test]
fn test_inproc_connect_before_and_after_bind() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect("inproc://early").unwrap();
    push.send("queued before the bind").unwrap();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_recv_timeout(LONG).unwrap();
    pull.bind("inproc://early").unwrap();
    assert_eq!(pull.last_endpoint().unwrap(), "inproc://early");
    assert_eq!(&pull.recv().unwrap()[0], b"queued before the bind");
    // And a connect after the bind.
    let push2 = ctx.socket(SocketType::Push).unwrap();
    push2.connect("inproc://early").unwrap();
    push2.send("after").unwrap();
    assert_eq!(&pull.recv().unwrap()[0], b"after");
}

#[test]
fn messages_are_handed_over_without_a_copy() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_recv_timeout(LONG).unwrap();
    pull.bind("inproc://nocopy").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect("inproc://nocopy").unwrap();
    let big = Bytes::from(vec![9u8; 1 << 20]);
    push.send(Message::from(vec![Bytes::from_static(b"h"), big.clone()]))
        .unwrap();
    let m = pull.recv().unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[1].as_ptr(), big.as_ptr(), "the same buffer, not a copy");
}

#[test]
fn test_hwm_inproc_is_the_sum_of_both_sides() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_recv_hwm(7).unwrap();
    pull.bind("inproc://hwm").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_send_hwm(5).unwrap();
    push.connect("inproc://hwm").unwrap();
    for i in 0..12 {
        push.try_send(i.to_string()).unwrap();
    }
    assert!(matches!(push.try_send("over"), Err(Error::WouldBlock)));
    // The same when the connect came first.
    let push2 = ctx.socket(SocketType::Push).unwrap();
    push2.set_send_hwm(3).unwrap();
    push2.connect("inproc://hwm-late").unwrap();
    let pull2 = ctx.socket(SocketType::Pull).unwrap();
    pull2.set_recv_hwm(4).unwrap();
    pull2.bind("inproc://hwm-late").unwrap();
    for i in 0..7 {
        push2.try_send(i.to_string()).unwrap();
    }
    assert!(matches!(push2.try_send("over"), Err(Error::WouldBlock)));
}

#[test]
fn request_reply_and_routing_ids_over_inproc() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    router.set_recv_timeout(LONG).unwrap();
    router.bind("inproc://router").unwrap();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.set_recv_timeout(LONG).unwrap();
    dealer.set_routing_id("D").unwrap();
    dealer.connect("inproc://router").unwrap();
    dealer.send("hi").unwrap();
    let m = router.recv().unwrap();
    assert_eq!((&m[0], &m[1]), (&b"D"[..], &b"hi"[..]));
    router.send(m).unwrap();
    assert_eq!(&dealer.recv().unwrap()[0], b"hi");

    // REQ connecting before its REP binds.
    let req = ctx.socket(SocketType::Req).unwrap();
    req.set_recv_timeout(LONG).unwrap();
    req.connect("inproc://rep").unwrap();
    req.send("q").unwrap();
    let rep = ctx.socket(SocketType::Rep).unwrap();
    rep.set_recv_timeout(LONG).unwrap();
    rep.bind("inproc://rep").unwrap();
    assert_eq!(&rep.recv().unwrap()[0], b"q");
    rep.send("a").unwrap();
    assert_eq!(&req.recv().unwrap()[0], b"a");
}

#[test]
fn publish_subscribe_over_inproc_in_either_order() {
    let ctx = Context::new();
    // The subscriber subscribes and connects before the publisher binds.
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_recv_timeout(LONG).unwrap();
    sub.subscribe("A").unwrap();
    sub.connect("inproc://pub").unwrap();
    let publ = ctx.socket(SocketType::Pub).unwrap();
    publ.bind("inproc://pub").unwrap();
    // The subscriber's socket learns of the bind at its next call.
    assert!(matches!(sub.try_recv(), Err(Error::WouldBlock)));
    publ.wait_for_subscribers(1, Duration::from_secs(20))
        .unwrap();
    publ.send("B").unwrap();
    publ.send("A1").unwrap();
    assert_eq!(&sub.recv().unwrap()[0], b"A1");
    // And a subscriber connecting after the bind.
    let sub2 = ctx.socket(SocketType::Sub).unwrap();
    sub2.set_recv_timeout(LONG).unwrap();
    sub2.subscribe("").unwrap();
    sub2.connect("inproc://pub").unwrap();
    publ.wait_for_subscribers(2, Duration::from_secs(20))
        .unwrap();
    publ.send("A2").unwrap();
    assert_eq!(&sub2.recv().unwrap()[0], b"A2");
}

#[test]
fn socket_type_rules_and_names() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://rules").unwrap();
    let other = ctx.socket(SocketType::Pull).unwrap();
    assert!(matches!(other.bind("inproc://rules"), Err(Error::Io(_))));
    assert!(matches!(
        other.connect("inproc://rules"),
        Err(Error::Protocol(
            ProtocolError::IncompatibleSocketType { .. }
        ))
    ));
    pull.unbind("inproc://rules").unwrap();
    other.bind("inproc://rules").unwrap();
    // Names belong to one context.
    let ctx2 = Context::new();
    let push = ctx2.socket(SocketType::Push).unwrap();
    push.connect("inproc://rules").unwrap();
    assert!(matches!(push.try_send("x"), Ok(())));
    let stray = ctx.socket(SocketType::Pull).unwrap();
    stray
        .set_recv_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    assert!(matches!(stray.recv(), Err(Error::Timeout)));
}

#[test]
fn disconnect_cuts_one_inproc_peer() {
    let ctx = Context::new();
    let a = ctx.socket(SocketType::Pull).unwrap();
    a.bind("inproc://cut-a").unwrap();
    let b = ctx.socket(SocketType::Pull).unwrap();
    b.set_recv_timeout(LONG).unwrap();
    b.bind("inproc://cut-b").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_send_timeout(LONG).unwrap();
    push.connect("inproc://cut-a").unwrap();
    push.connect("inproc://cut-b").unwrap();
    push.send("to a").unwrap();
    push.send("to b").unwrap();
    assert_eq!(&a.try_recv().unwrap()[0], b"to a");
    assert_eq!(&b.recv().unwrap()[0], b"to b");

    push.disconnect("inproc://cut-a").unwrap();
    for i in 0..10 {
        push.send(format!("{i}").as_str()).unwrap();
    }
    for i in 0..10 {
        assert_eq!(b.recv().unwrap()[0], *format!("{i}").as_bytes());
    }
    assert!(matches!(a.try_recv(), Err(Error::WouldBlock)));
    assert!(matches!(
        push.disconnect("inproc://cut-a"),
        Err(Error::EndpointNotFound(_))
    ));
}

#[test]
fn the_bound_side_sees_an_inproc_disconnect() {
    // A PAIR takes one peer at a time: once the first disconnects, a
    // second one is accepted.
    let ctx = Context::new();
    let bound = ctx.socket(SocketType::Pair).unwrap();
    bound.set_recv_timeout(LONG).unwrap();
    bound.bind("inproc://cut-pair").unwrap();
    let first = ctx.socket(SocketType::Pair).unwrap();
    first.connect("inproc://cut-pair").unwrap();
    first.send("first").unwrap();
    assert_eq!(&bound.recv().unwrap()[0], b"first");
    first.disconnect("inproc://cut-pair").unwrap();
    assert!(matches!(first.try_send("lost"), Err(Error::WouldBlock)));

    let second = ctx.socket(SocketType::Pair).unwrap();
    second.set_recv_timeout(LONG).unwrap();
    second.connect("inproc://cut-pair").unwrap();
    second.send("second").unwrap();
    assert_eq!(&bound.recv().unwrap()[0], b"second");
    bound.send("back").unwrap();
    assert_eq!(&second.recv().unwrap()[0], b"back");
}

#[test]
fn disconnect_forgets_a_connect_waiting_for_its_bind() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect("inproc://never-mind").unwrap();
    push.send("queued").unwrap();
    push.disconnect("inproc://never-mind").unwrap();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://never-mind").unwrap();
    assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
    // The pusher has no peer left.
    assert!(matches!(push.try_send("x"), Err(Error::WouldBlock)));
}
