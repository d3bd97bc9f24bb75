//! PUB/SUB against libzmq 4.3.5, and the exact subscription bytes sent to
//! ZMTP 3.0 and 3.1 peers (port of libzmq's test_mock_pub_sub).

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use brokerless::{Context, SocketType};
use libzmq_peer as zmq;

mod common;
use common::{greeting, read_exactly, ready, zsock};

/// The libzmq wrapper's and our timeouts, as a `Duration`.
const LONG: Duration = Duration::from_secs(20);

#[test]
fn libzmq_publisher_to_our_subscriber() {
    let zctx = zmq::Context::new().unwrap();
    // An XPUB is a PUB that also shows the subscriptions it receives, so
    // the test can wait for ours instead of sleeping.
    let xpub = zsock(&zctx, zmq::SocketKind::XPub);
    xpub.bind("tcp://127.0.0.1:*").unwrap();
    let ctx = Context::new();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_recv_timeout(Some(LONG)).unwrap();
    sub.subscribe("A").unwrap();
    sub.connect(&xpub.last_endpoint().unwrap()).unwrap();
    assert_eq!(xpub.recv().unwrap(), vec![b"\x01A".to_vec()]);
    for m in ["B1", "A1", "C1", "A2"] {
        xpub.send(&[m.as_bytes()]).unwrap();
    }
    assert_eq!(&sub.recv().unwrap()[0], b"A1");
    assert_eq!(&sub.recv().unwrap()[0], b"A2");
    sub.unsubscribe("A").unwrap();
    assert_eq!(xpub.recv().unwrap(), vec![b"\x00A".to_vec()]);
}

#[test]
fn our_publisher_to_libzmq_subscribers() {
    let ctx = Context::new();
    let publ = ctx.socket(SocketType::Pub).unwrap();
    publ.bind("tcp://127.0.0.1:*").unwrap();
    let ep = publ.last_endpoint().unwrap();
    let zctx = zmq::Context::new().unwrap();
    let a = zsock(&zctx, zmq::SocketKind::Sub);
    a.subscribe(b"A").unwrap();
    a.connect(&ep).unwrap();
    let all = zsock(&zctx, zmq::SocketKind::Sub);
    all.subscribe(b"").unwrap();
    all.connect(&ep).unwrap();
    publ.wait_for_subscribers(2, LONG).unwrap();
    for m in ["B1", "A1", "A2"] {
        publ.send(m).unwrap();
    }
    assert_eq!(a.recv().unwrap(), vec![b"A1".to_vec()]);
    assert_eq!(a.recv().unwrap(), vec![b"A2".to_vec()]);
    for m in ["B1", "A1", "A2"] {
        assert_eq!(all.recv().unwrap(), vec![m.as_bytes().to_vec()]);
    }
}

/// Our SUB talking to a raw mock PUB of either version: the subscription
/// arrives as a SUBSCRIBE command for 3.1 and as a message for 3.0.
#[test]
fn test_mock_pub_sub_our_subscriber() {
    for (minor, expected) in [
        (1u8, b"\x04\x0b\x09SUBSCRIBEA".to_vec()),
        (0u8, b"\x00\x02\x01A".to_vec()),
    ] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ctx = Context::new();
        let sub = ctx.socket(SocketType::Sub).unwrap();
        sub.set_recv_timeout(Some(LONG)).unwrap();
        sub.subscribe("A").unwrap();
        sub.connect(&format!("tcp://{}", listener.local_addr().unwrap()))
            .unwrap();
        let (mut raw, _) = listener.accept().unwrap();
        raw.set_read_timeout(Some(LONG)).unwrap();
        raw.write_all(&greeting(minor)).unwrap();
        raw.write_all(&ready("PUB")).unwrap();
        assert_eq!(read_exactly(&mut raw, 64), greeting(1));
        let our_ready = ready("SUB");
        assert_eq!(read_exactly(&mut raw, our_ready.len()), our_ready);
        assert_eq!(
            read_exactly(&mut raw, expected.len()),
            expected,
            "3.{minor}"
        );
        // And the mock's messages are filtered by the subscription.
        raw.write_all(b"\x00\x02B1\x00\x02A1").unwrap();
        assert_eq!(&sub.recv().unwrap()[0], b"A1");
    }
}

/// Our PUB serving a raw mock SUB that subscribes in either form.
#[test]
fn test_mock_pub_sub_our_publisher() {
    for (minor, subscription) in [
        (1u8, b"\x04\x0b\x09SUBSCRIBEA".to_vec()),
        (0u8, b"\x00\x02\x01A".to_vec()),
    ] {
        let ctx = Context::new();
        let publ = ctx.socket(SocketType::Pub).unwrap();
        publ.bind("tcp://127.0.0.1:*").unwrap();
        let ep = publ.last_endpoint().unwrap();
        let mut raw = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
        raw.set_read_timeout(Some(LONG)).unwrap();
        raw.write_all(&greeting(minor)).unwrap();
        raw.write_all(&ready("SUB")).unwrap();
        raw.write_all(&subscription).unwrap();
        publ.wait_for_subscribers(1, LONG).unwrap();
        publ.send("B1").unwrap();
        publ.send("A1").unwrap();
        assert_eq!(read_exactly(&mut raw, 64), greeting(1));
        let our_ready = ready("PUB");
        assert_eq!(read_exactly(&mut raw, our_ready.len()), our_ready);
        assert_eq!(read_exactly(&mut raw, 4), b"\x00\x02A1", "3.{minor}");
    }
}

/// Our PUB and SUB with a libzmq XSUB/XPUB forwarder in the middle: the
/// subscription goes up through libzmq, the data comes down.
#[test]
fn libzmq_xsub_xpub_forwarder_between_our_pub_and_sub() {
    let zctx = zmq::Context::new().unwrap();
    let xsub = zsock(&zctx, zmq::SocketKind::XSub);
    xsub.bind("tcp://127.0.0.1:*").unwrap();
    let xpub = zsock(&zctx, zmq::SocketKind::XPub);
    xpub.bind("tcp://127.0.0.1:*").unwrap();
    let (up_ep, down_ep) = (xsub.last_endpoint().unwrap(), xpub.last_endpoint().unwrap());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    // One thread owns both libzmq sockets (they are not thread-safe).
    let forwarder = std::thread::spawn(move || {
        while !stop2.load(std::sync::atomic::Ordering::Acquire) {
            if xpub.poll(zmq::ZMQ_POLLIN, 10).unwrap() != 0 {
                let m = xpub.recv().unwrap();
                xsub.send(&common::refs(&m)).unwrap();
            }
            while xsub.poll(zmq::ZMQ_POLLIN, 0).unwrap() != 0 {
                let m = xsub.recv().unwrap();
                xpub.send(&common::refs(&m)).unwrap();
            }
        }
    });
    let ctx = Context::new();
    let publ = ctx.socket(SocketType::Pub).unwrap();
    publ.connect(&up_ep).unwrap();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_recv_timeout(Some(LONG)).unwrap();
    sub.subscribe("A").unwrap();
    sub.connect(&down_ep).unwrap();
    publ.wait_for_subscribers(1, LONG).unwrap();
    for m in ["B1", "A1", "A2"] {
        publ.send(m).unwrap();
    }
    assert_eq!(&sub.recv().unwrap()[0], b"A1");
    assert_eq!(&sub.recv().unwrap()[0], b"A2");
    stop.store(true, std::sync::atomic::Ordering::Release);
    forwarder.join().unwrap();
}
