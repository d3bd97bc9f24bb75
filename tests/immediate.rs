//! The `immediate` option: a port of libzmq's test_immediate. With it,
//! a connected peer takes part in routing only while its connection is
//! up and handshaken.

mod common;

use std::time::Duration;

use brokerless::{Context, Error, MonitorEvent, SocketType};
use common::*;

#[test]
fn without_a_connection_nothing_is_queued() {
    let ctx = Context::new();
    let nowhere = format!("tcp://127.0.0.1:{}", free_port());

    // Without immediate, the queue exists from connect on.
    let plain = sock(&ctx, SocketType::Dealer);
    plain.connect(&nowhere).unwrap();
    plain.try_send("queued").unwrap();

    let dealer = sock(&ctx, SocketType::Dealer);
    dealer.set_immediate(true).unwrap();
    assert!(dealer.immediate());
    dealer.connect(&nowhere).unwrap();
    assert!(matches!(dealer.try_send("refused"), Err(Error::WouldBlock)));
    dealer
        .set_send_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    assert!(matches!(dealer.send("refused"), Err(Error::Timeout)));
}

#[test]
fn messages_go_only_to_live_peers() {
    let ctx = Context::new();
    let (pull, endpoint) = bound(&ctx, SocketType::Pull);
    let push = sock(&ctx, SocketType::Push);
    push.set_immediate(true).unwrap();
    let mon = push.monitor().unwrap();
    // A dead peer first, then a live one: without immediate, round-robin
    // would queue every other message for the dead one.
    push.connect(&format!("tcp://127.0.0.1:{}", free_port()))
        .unwrap();
    push.connect(&endpoint).unwrap();
    handshake(&mon);
    for i in 0..10 {
        push.send(i.to_string().as_str()).unwrap();
    }
    for i in 0..10 {
        assert_eq!(text(&pull.recv().unwrap().frames()[0]), i.to_string());
    }
}

#[test]
fn a_lost_peer_leaves_the_socket() {
    let ctx = Context::new();
    let (pull, endpoint) = bound(&ctx, SocketType::Pull);
    let push = sock(&ctx, SocketType::Push);
    push.set_immediate(true).unwrap();
    let mon = push.monitor().unwrap();
    push.connect(&endpoint).unwrap();
    handshake(&mon);
    push.send("before").unwrap();
    assert_eq!(text(&pull.recv().unwrap().frames()[0]), "before");

    drop(pull);
    wait_for(&mon, |e| matches!(e, MonitorEvent::Disconnected { .. }));
    // No peer, so nothing can be sent.
    assert!(matches!(push.try_send("after"), Err(Error::WouldBlock)));

    // A new puller on the same port is joined again once handshaken.
    let pull = sock(&ctx, SocketType::Pull);
    pull.bind(&endpoint).unwrap();
    handshake(&mon);
    push.send("again").unwrap();
    assert_eq!(text(&pull.recv().unwrap().frames()[0]), "again");
}

#[test]
fn routing_ids_given_at_connect_survive_reconnection() {
    let ctx = Context::new();
    let (dealer, endpoint) = bound(&ctx, SocketType::Dealer);
    let router = sock(&ctx, SocketType::Router);
    router.set_immediate(true).unwrap();
    router.set_router_mandatory(true).unwrap();
    let mon = router.monitor().unwrap();
    router.set_connect_routing_id("peer-a").unwrap();
    router.connect(&endpoint).unwrap();
    // Before the handshake the peer is unknown: mandatory routing fails.
    assert!(matches!(
        router.try_send(msg(&["peer-a", "x"])),
        Err(Error::HostUnreachable) | Err(Error::WouldBlock)
    ));
    handshake(&mon);
    router.send(msg(&["peer-a", "one"])).unwrap();
    assert_eq!(frames(&dealer.recv().unwrap()), fr(&["one"]));

    drop(dealer);
    wait_for(&mon, |e| matches!(e, MonitorEvent::Disconnected { .. }));
    let dealer = sock(&ctx, SocketType::Dealer);
    dealer.bind(&endpoint).unwrap();
    handshake(&mon);
    router.send(msg(&["peer-a", "two"])).unwrap();
    assert_eq!(frames(&dealer.recv().unwrap()), fr(&["two"]));
}
