//! RADIO and DISH (RFC 48): a port of libzmq's test_radio_dish (its TCP
//! and inproc cases); the UDP cases live in tests/udp.rs.

mod common;

use std::time::Duration;

use brokerless::{Context, Error, Message, MonitorEvent, SocketType};
use common::*;

fn grouped(group: &str, body: &str) -> Message {
    Message::with_group(group.to_string(), body.to_string())
}

/// Sends `msg` until the dish has it (the join travels while the radio
/// already sends, as libzmq's test polls), then checks it.
fn send_until_received(
    radio: &brokerless::Socket,
    dish: &brokerless::Socket,
    group: &str,
    body: &str,
) {
    dish.set_recv_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    for _ in 0..1000 {
        radio.send(grouped(group, body)).unwrap();
        match dish.recv() {
            Ok(m) => {
                assert_eq!(frames(&m), fr(&[group, body]));
                dish.set_recv_timeout(LONG).unwrap();
                return;
            }
            Err(Error::Timeout) => continue,
            Err(e) => panic!("{e}"),
        }
    }
    panic!("the dish never received {group}");
}

#[test]
fn test_leave_unjoined_fails() {
    let ctx = Context::new();
    let dish = sock(&ctx, SocketType::Dish);
    assert!(matches!(
        dish.leave("Movies"),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn test_join_too_long_fails() {
    let ctx = Context::new();
    let dish = sock(&ctx, SocketType::Dish);
    assert!(matches!(
        dish.join("x".repeat(256)),
        Err(Error::InvalidArgument(_))
    ));
    dish.join("x".repeat(255)).unwrap();
}

#[test]
fn test_join_twice_fails() {
    let ctx = Context::new();
    let dish = sock(&ctx, SocketType::Dish);
    dish.join("Movies").unwrap();
    assert!(matches!(
        dish.join("Movies"),
        Err(Error::InvalidArgument(_))
    ));
    dish.leave("Movies").unwrap();
    dish.join("Movies").unwrap();
}

#[test]
fn radio_refuses_long_groups_and_multipart() {
    let ctx = Context::new();
    let radio = sock(&ctx, SocketType::Radio);
    assert!(matches!(
        radio.send(Message::with_group("x".repeat(256), "body")),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        radio.send("no group"),
        Err(Error::InvalidArgument(_))
    ));
    let mut three = grouped("g", "a");
    three.push("b");
    assert!(matches!(radio.send(three), Err(Error::InvalidArgument(_))));
    assert!(matches!(radio.recv(), Err(Error::NotSupported(_))));
    let dish = sock(&ctx, SocketType::Dish);
    assert!(matches!(
        dish.send(grouped("g", "a")),
        Err(Error::NotSupported(_))
    ));
    let sub = sock(&ctx, SocketType::Sub);
    assert!(matches!(sub.join("g"), Err(Error::NotSupported(_))));
}

fn radio_dish_exchange(endpoint_for_bind: &str, radio_binds: bool) {
    let ctx = Context::new();
    let radio = sock(&ctx, SocketType::Radio);
    let dish = sock(&ctx, SocketType::Dish);
    let (bound, other) = if radio_binds {
        (&radio, &dish)
    } else {
        (&dish, &radio)
    };
    bound.bind(endpoint_for_bind).unwrap();
    let ep = bound.last_endpoint().unwrap();
    other.connect(&ep).unwrap();

    dish.join("Movies").unwrap();
    send_until_received(&radio, &dish, "Movies", "Godfather");
    // A group nobody joined is not delivered; the next joined one is.
    radio.send(grouped("TV", "Friends")).unwrap();
    radio.send(grouped("Movies", "Godfather II")).unwrap();
    assert_eq!(
        frames(&dish.recv().unwrap()),
        fr(&["Movies", "Godfather II"])
    );

    // After a leave, nothing more of that group arrives.
    dish.leave("Movies").unwrap();
    dish.join("TV").unwrap();
    send_until_received(&radio, &dish, "TV", "Seinfeld");
    radio.send(grouped("Movies", "Godfather III")).unwrap();
    radio.send(grouped("TV", "Lost")).unwrap();
    assert_eq!(frames(&dish.recv().unwrap()), fr(&["TV", "Lost"]));
}

#[test]
fn test_radio_dish_tcp_radio_binds() {
    radio_dish_exchange("tcp://127.0.0.1:*", true);
}

#[test]
fn test_radio_dish_tcp_dish_binds() {
    radio_dish_exchange("tcp://127.0.0.1:*", false);
}

#[test]
fn test_radio_dish_inproc() {
    radio_dish_exchange("inproc://radio-dish", true);
}

#[test]
fn joins_are_sent_again_after_a_reconnection() {
    let ctx = Context::new();
    let radio = sock(&ctx, SocketType::Radio);
    radio.bind("tcp://127.0.0.1:*").unwrap();
    let ep = radio.last_endpoint().unwrap();
    let dish = sock(&ctx, SocketType::Dish);
    let mon = dish.monitor().unwrap();
    dish.join("Movies").unwrap();
    dish.connect(&ep).unwrap();
    send_until_received(&radio, &dish, "Movies", "one");

    drop(radio);
    wait_for(&mon, |e| matches!(e, MonitorEvent::Disconnected { .. }));
    let radio = sock(&ctx, SocketType::Radio);
    radio.bind(&ep).unwrap();
    send_until_received(&radio, &dish, "Movies", "two");
}

#[test]
fn radio_drops_for_a_full_dish_and_counts() {
    let ctx = Context::new();
    let radio = sock(&ctx, SocketType::Radio);
    radio.set_send_hwm(10).unwrap();
    radio.bind("inproc://radio-hwm").unwrap();
    let dish = sock(&ctx, SocketType::Dish);
    dish.set_recv_hwm(10).unwrap();
    dish.join("g").unwrap();
    dish.connect("inproc://radio-hwm").unwrap();
    radio
        .wait_for_subscribers(1, Duration::from_secs(20))
        .unwrap();
    for i in 0..100 {
        radio.send(grouped("g", &i.to_string())).unwrap();
    }
    // inproc: the pipe holds the sum of both HWMs.
    assert_eq!(radio.dropped_messages(), 80);
    for i in 0..20 {
        assert_eq!(frames(&dish.recv().unwrap()), fr(&["g", &i.to_string()]));
    }
    assert!(matches!(dish.try_recv(), Err(Error::WouldBlock)));
}
