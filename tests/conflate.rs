//! The `conflate` option: a port of libzmq's test_conflate, over inproc
//! (where delivery is synchronous, so the check is exact) and over tcp.

mod common;

use std::time::Duration;

use brokerless::{Context, Error, SocketType};
use common::*;

fn seq(m: &brokerless::Message) -> u64 {
    u64::from_be_bytes(m.frames()[0][..8].try_into().unwrap())
}

fn numbered(i: u64, size: usize) -> Vec<u8> {
    let mut v = vec![0u8; size.max(8)];
    v[..8].copy_from_slice(&i.to_be_bytes());
    v
}

#[test]
fn a_conflating_pull_keeps_only_the_newest() {
    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    pull.set_conflate(true).unwrap();
    assert!(pull.conflate());
    pull.bind("inproc://conflate-pull").unwrap();
    let push = sock(&ctx, SocketType::Push);
    push.connect("inproc://conflate-pull").unwrap();
    for i in 0..20 {
        push.send(format!("{i}").as_str()).unwrap();
    }
    assert_eq!(text(&pull.recv().unwrap().frames()[0]), "19");
    assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn a_conflating_push_replaces_what_waits_for_a_peer() {
    let ctx = Context::new();
    let push = sock(&ctx, SocketType::Push);
    push.set_conflate(true).unwrap();
    push.set_send_hwm(1).unwrap();
    push.connect("inproc://conflate-push").unwrap();
    // With an HWM of 1 these would block from the second on; conflated,
    // each replaces the last.
    for i in 0..10 {
        push.try_send(format!("{i}").as_str()).unwrap();
    }
    let pull = sock(&ctx, SocketType::Pull);
    pull.bind("inproc://conflate-push").unwrap();
    assert_eq!(text(&pull.recv().unwrap().frames()[0]), "9");
    assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn a_conflating_push_over_tcp_delivers_only_the_last_queued() {
    let ctx = Context::new();
    let push = sock(&ctx, SocketType::Push);
    push.set_conflate(true).unwrap();
    // Connect before anything listens: the queue holds one message.
    let port = free_port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    push.connect(&endpoint).unwrap();
    for i in 0..100u64 {
        push.try_send(numbered(i, 8).as_slice()).unwrap();
    }
    let pull = sock(&ctx, SocketType::Pull);
    pull.bind(&endpoint).unwrap();
    assert_eq!(seq(&pull.recv().unwrap()), 99);
    pull.set_recv_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert!(matches!(pull.recv(), Err(Error::Timeout)));
}

/// A conflating PULL never holds its pusher back: 2,000 messages of
/// 64 KiB (far more than the kernel's buffers and both 1-message HWMs)
/// all go out while nobody calls `recv`, and the reader then sees the
/// newest ones in order. Without conflate the sends would stop after a
/// few hundred and time out.
#[test]
fn a_conflating_pull_never_blocks_its_pusher() {
    let (reader, writer) = (SocketType::Pull, SocketType::Push);
    let ctx = Context::new();
    let r = sock(&ctx, reader);
    r.set_conflate(true).unwrap();
    r.set_recv_hwm(1).unwrap();
    let (r, endpoint) = bind_any(r);
    let w = sock(&ctx, writer);
    w.set_send_hwm(1).unwrap();
    w.set_send_timeout(Some(Duration::from_secs(10))).unwrap();
    let mon = w.monitor().unwrap();
    w.connect(&endpoint).unwrap();
    handshake(&mon);
    const N: u64 = 2000;
    for i in 0..N {
        w.send(numbered(i, 64 * 1024).as_slice()).unwrap();
    }
    let mut last = None;
    loop {
        let s = seq(&r.recv().unwrap());
        assert!(last.is_none_or(|l| s > l), "{s} after {last:?}");
        last = Some(s);
        if s == N - 1 {
            break;
        }
    }
}

#[test]
fn a_conflating_sub_keeps_only_the_newest() {
    let ctx = Context::new();
    let publ = sock(&ctx, SocketType::Pub);
    publ.bind("inproc://conflate-sub").unwrap();
    let sub = sock(&ctx, SocketType::Sub);
    sub.set_conflate(true).unwrap();
    sub.subscribe("").unwrap();
    sub.connect("inproc://conflate-sub").unwrap();
    publ.wait_for_subscribers(1, Duration::from_secs(20))
        .unwrap();
    for i in 0..20 {
        publ.send(format!("{i}").as_str()).unwrap();
    }
    assert_eq!(text(&sub.recv().unwrap().frames()[0]), "19");
    assert!(matches!(sub.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn subscriptions_are_never_conflated() {
    let ctx = Context::new();
    let publ = sock(&ctx, SocketType::Pub);
    publ.set_conflate(true).unwrap();
    publ.bind("inproc://conflate-subs").unwrap();
    let sub = sock(&ctx, SocketType::Sub);
    sub.set_conflate(true).unwrap();
    sub.connect("inproc://conflate-subs").unwrap();
    for t in ["a", "b", "c"] {
        sub.subscribe(t).unwrap();
    }
    publ.wait_for_subscribers(1, Duration::from_secs(20))
        .unwrap();
    // inproc delivers at once, so each message is the newest when read.
    // Had a subscription been replaced by the next, "a" and "b" would be
    // filtered out at the publisher and these receives would time out.
    for t in ["a", "b", "c", "d"] {
        publ.send(t).unwrap();
        if t != "d" {
            assert_eq!(text(&sub.recv().unwrap().frames()[0]), t);
        }
    }
    assert!(matches!(sub.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn conflate_is_refused_where_it_makes_no_sense() {
    let ctx = Context::new();
    for t in [
        SocketType::Req,
        SocketType::Rep,
        SocketType::Router,
        SocketType::Pair,
        SocketType::XPub,
        SocketType::XSub,
    ] {
        let s = sock(&ctx, t);
        assert!(
            matches!(s.set_conflate(true), Err(Error::NotSupported(_))),
            "{t}"
        );
        s.set_conflate(false).unwrap();
    }
}
