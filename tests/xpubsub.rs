//! XPUB, XSUB and the proxy (ports of libzmq's test_xpub_verbose,
//! test_sub_forward, test_xpub_nodrop and test_xpub_welcome_msg).

use std::time::Duration;

use brokerless::{Context, Error, Message, Socket, SocketType, proxy};

const LONG: Duration = Duration::from_secs(20);

fn socket(ctx: &Context, t: SocketType) -> Socket {
    let s = ctx.socket(t).unwrap();
    s.set_recv_timeout(Some(LONG)).unwrap();
    s.set_send_timeout(Some(LONG)).unwrap();
    s
}

fn bound(ctx: &Context, t: SocketType) -> (Socket, String) {
    let s = socket(ctx, t);
    s.bind("tcp://127.0.0.1:*").unwrap();
    let ep = s.last_endpoint().unwrap();
    (s, ep)
}

fn bytes(m: &Message) -> Vec<u8> {
    m[0].to_vec()
}

#[test]
fn xpub_reports_first_subscribe_and_last_cancel() {
    let ctx = Context::new();
    let (xpub, ep) = bound(&ctx, SocketType::XPub);
    let a = socket(&ctx, SocketType::Sub);
    a.subscribe("A").unwrap();
    a.connect(&ep).unwrap();
    assert_eq!(bytes(&xpub.recv().unwrap()), b"\x01A");
    let b = socket(&ctx, SocketType::Sub);
    b.subscribe("A").unwrap();
    b.subscribe("B").unwrap();
    b.connect(&ep).unwrap();
    // The second "A" is not new: only "B" is reported.
    assert_eq!(bytes(&xpub.recv().unwrap()), b"\x01B");
    a.unsubscribe("A").unwrap();
    b.unsubscribe("B").unwrap();
    // "A" still has a subscriber; "B" does not.
    assert_eq!(bytes(&xpub.recv().unwrap()), b"\x00B");
    // A departing subscriber's last topics are cancelled for it.
    drop(b);
    assert_eq!(bytes(&xpub.recv().unwrap()), b"\x00A");
    assert!(matches!(xpub.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn test_xpub_verbose() {
    let ctx = Context::new();
    let (xpub, ep) = bound(&ctx, SocketType::XPub);
    xpub.set_xpub_verbose(true).unwrap();
    let subs: Vec<Socket> = (0..2)
        .map(|_| {
            let s = socket(&ctx, SocketType::Sub);
            s.subscribe("A").unwrap();
            s.connect(&ep).unwrap();
            s
        })
        .collect();
    // Verbose: both subscriptions are reported.
    assert_eq!(bytes(&xpub.recv().unwrap()), b"\x01A");
    assert_eq!(bytes(&xpub.recv().unwrap()), b"\x01A");
    // Verbose (not verboser): only the last cancel is reported.
    subs[0].unsubscribe("A").unwrap();
    subs[1].unsubscribe("A").unwrap();
    assert_eq!(bytes(&xpub.recv().unwrap()), b"\x00A");
    assert!(matches!(xpub.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn test_xpub_verboser() {
    let ctx = Context::new();
    let (xpub, ep) = bound(&ctx, SocketType::XPub);
    xpub.set_xpub_verboser(true).unwrap();
    let subs: Vec<Socket> = (0..2)
        .map(|_| {
            let s = socket(&ctx, SocketType::Sub);
            s.subscribe("A").unwrap();
            s.connect(&ep).unwrap();
            s
        })
        .collect();
    assert_eq!(bytes(&xpub.recv().unwrap()), b"\x01A");
    assert_eq!(bytes(&xpub.recv().unwrap()), b"\x01A");
    subs[0].unsubscribe("A").unwrap();
    assert_eq!(bytes(&xpub.recv().unwrap()), b"\x00A");
    subs[1].unsubscribe("A").unwrap();
    assert_eq!(bytes(&xpub.recv().unwrap()), b"\x00A");
}

#[test]
fn test_sub_forward() {
    // publisher -> XSUB | proxy | XPUB -> subscriber: data flows down,
    // subscriptions up, and the capture socket sees both.
    let ctx = Context::new();
    let (xsub, xsub_ep) = bound(&ctx, SocketType::XSub);
    let (xpub, xpub_ep) = bound(&ctx, SocketType::XPub);
    let (capture_in, capture_ep) = bound(&ctx, SocketType::Pull);
    let capture = socket(&ctx, SocketType::Push);
    capture.connect(&capture_ep).unwrap();
    let publ = socket(&ctx, SocketType::Pub);
    publ.connect(&xsub_ep).unwrap();
    let sub = socket(&ctx, SocketType::Sub);
    sub.subscribe("").unwrap();
    sub.connect(&xpub_ep).unwrap();

    // The proxy's thread owns its three sockets.
    let runner = std::thread::spawn(move || proxy(&xsub, &xpub, Some(&capture)));
    // The subscription crossed the proxy when the publisher has it.
    publ.wait_for_subscribers(1, LONG).unwrap();
    publ.send("foobar").unwrap();
    assert_eq!(bytes(&sub.recv().unwrap()), b"foobar");
    let mut seen = vec![
        bytes(&capture_in.recv().unwrap()),
        bytes(&capture_in.recv().unwrap()),
    ];
    seen.sort();
    assert_eq!(seen, [b"\x01".to_vec(), b"foobar".to_vec()]);
    ctx.shutdown();
    assert!(matches!(runner.join().unwrap(), Err(Error::Terminated)));
}

#[test]
fn proxy_refuses_sockets_that_cannot_forward() {
    let ctx = Context::new();
    let a = ctx.socket(SocketType::Pull).unwrap();
    let b = ctx.socket(SocketType::Sub).unwrap();
    assert!(matches!(
        proxy(&a, &b, None),
        Err(Error::InvalidArgument(_))
    ));
}

/// One thread forwards both ways (ROUTER <-> DEALER, a request-reply
/// broker) and receive timeouts on its sockets do not stop it, as they
/// stopped the two-thread proxy of old: it waits on a poller instead.
#[test]
fn proxy_forwards_both_ways_past_receive_timeouts() {
    let ctx = Context::new();
    let (frontend, front_ep) = bound(&ctx, SocketType::Router);
    let (backend, back_ep) = bound(&ctx, SocketType::Dealer);
    for s in [&frontend, &backend] {
        s.set_recv_timeout(Some(Duration::from_millis(1))).unwrap();
        s.set_send_timeout(Some(Duration::from_millis(1))).unwrap();
    }
    let runner = std::thread::spawn(move || proxy(&frontend, &backend, None));
    let worker = socket(&ctx, SocketType::Rep);
    worker.connect(&back_ep).unwrap();
    let client = socket(&ctx, SocketType::Req);
    client.connect(&front_ep).unwrap();
    for i in 0..20 {
        // Longer than the timeouts, between requests.
        std::thread::sleep(Duration::from_millis(5));
        client.send(format!("ping {i}")).unwrap();
        let request = worker.recv().unwrap();
        assert_eq!(bytes(&request), format!("ping {i}").as_bytes());
        worker.send(format!("pong {i}")).unwrap();
        assert_eq!(
            bytes(&client.recv().unwrap()),
            format!("pong {i}").as_bytes()
        );
    }
    ctx.shutdown();
    assert!(matches!(runner.join().unwrap(), Err(Error::Terminated)));
}

/// A full destination holds back only its own direction: a PAIR <-> PAIR
/// proxy whose downstream peer does not read still carries messages
/// upstream, and loses nothing downstream once the peer reads.
#[test]
fn proxy_back_pressure_holds_back_one_direction_only() {
    const N: usize = 200;
    let ctx = Context::new();
    let front = socket(&ctx, SocketType::Pair);
    front.bind("inproc://proxy-front").unwrap();
    let back = socket(&ctx, SocketType::Pair);
    back.set_send_hwm(2).unwrap();
    back.bind("inproc://proxy-back").unwrap();
    let upstream = socket(&ctx, SocketType::Pair);
    upstream.connect("inproc://proxy-front").unwrap();
    let downstream = socket(&ctx, SocketType::Pair);
    downstream.set_recv_hwm(2).unwrap();
    downstream.connect("inproc://proxy-back").unwrap();
    let runner = std::thread::spawn(move || proxy(&front, &back, None));
    // Far more than the queues hold: the proxy must stop taking them.
    for i in 0..N {
        upstream.send(format!("down {i}")).unwrap();
    }
    // The other direction still flows.
    for i in 0..10 {
        downstream.send(format!("up {i}")).unwrap();
        assert_eq!(
            bytes(&upstream.recv().unwrap()),
            format!("up {i}").as_bytes()
        );
    }
    for i in 0..N {
        assert_eq!(
            bytes(&downstream.recv().unwrap()),
            format!("down {i}").as_bytes()
        );
    }
    ctx.shutdown();
    assert!(matches!(runner.join().unwrap(), Err(Error::Terminated)));
}

#[test]
fn test_xpub_nodrop() {
    let ctx = Context::new();
    // The HWM applies to binds made after it is set.
    let xpub = socket(&ctx, SocketType::XPub);
    xpub.set_xpub_nodrop(true).unwrap();
    xpub.set_send_hwm(5).unwrap();
    xpub.bind("tcp://127.0.0.1:*").unwrap();
    let ep = xpub.last_endpoint().unwrap();
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_recv_hwm(5).unwrap();
    sub.subscribe("").unwrap();
    sub.connect(&ep).unwrap();
    assert_eq!(bytes(&xpub.recv().unwrap()), b"\x01");
    // The subscriber does not read: sends stop with WouldBlock instead of
    // dropping, and everything accepted arrives.
    let mut sent = 0usize;
    loop {
        match xpub.try_send(sent.to_string()) {
            Ok(()) => sent += 1,
            Err(Error::WouldBlock) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(sent < 1_000_000, "never blocked");
    }
    assert!(sent >= 5);
    assert_eq!(xpub.dropped_messages(), 0);
    for i in 0..sent {
        assert_eq!(bytes(&sub.recv().unwrap()), i.to_string().as_bytes());
    }
}

#[test]
fn test_xpub_welcome_msg() {
    let ctx = Context::new();
    let xpub = socket(&ctx, SocketType::XPub);
    xpub.set_xpub_welcome_msg(Some(Message::from("W"))).unwrap();
    xpub.bind("tcp://127.0.0.1:*").unwrap();
    let sub = socket(&ctx, SocketType::Sub);
    sub.subscribe("W").unwrap();
    sub.connect(&xpub.last_endpoint().unwrap()).unwrap();
    assert_eq!(bytes(&xpub.recv().unwrap()), b"\x01W");
    assert_eq!(bytes(&sub.recv().unwrap()), b"W");
}

#[test]
fn xsub_sends_subscriptions_and_data_upstream() {
    let ctx = Context::new();
    let (xpub, ep) = bound(&ctx, SocketType::XPub);
    let xsub = socket(&ctx, SocketType::XSub);
    xsub.connect(&ep).unwrap();
    xsub.send("\x01T").unwrap();
    assert_eq!(bytes(&xpub.recv().unwrap()), b"\x01T");
    // Other messages go upstream as they are.
    xsub.send("hello upstream").unwrap();
    assert_eq!(bytes(&xpub.recv().unwrap()), b"hello upstream");
    xpub.send("T1").unwrap();
    xpub.send("U1").unwrap();
    xpub.send("T2").unwrap();
    assert_eq!(bytes(&xsub.recv().unwrap()), b"T1");
    assert_eq!(bytes(&xsub.recv().unwrap()), b"T2");
    xsub.send("\x00T").unwrap();
    assert_eq!(bytes(&xpub.recv().unwrap()), b"\x00T");
}
