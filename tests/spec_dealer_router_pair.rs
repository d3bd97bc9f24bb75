//! DEALER, ROUTER and PAIR over real TCP sockets on loopback: ports of
//! libzmq's behaviour tests (test_spec_dealer, test_spec_router,
//! test_router_mandatory, test_router_mandatory_hwm, test_pair_tcp), each
//! named after its original, plus the RFC 28/31 rules those tests leave
//! out. REQ and REP are in tests/spec_req_rep.rs.
//!
//! Where libzmq sleeps to let connections settle, these tests wait for
//! monitor events instead; tests/common/mod.rs says why that is exact.

mod common;

use std::time::{Duration, Instant};

use brokerless::{Context, Error, Message, MonitorEvent, Socket, SocketType};
use bytes::Bytes;
use common::*;

// ---------------------------------------------------------------------------
// DEALER (test_spec_dealer)
// ---------------------------------------------------------------------------

/// SHALL route outgoing messages to available peers using a round-robin
/// strategy.
#[test]
fn test_spec_dealer_round_robin_out() {
    let ctx = Context::new();
    let (dealer, ep) = bound(&ctx, SocketType::Dealer);
    let monitor = dealer.monitor().unwrap();
    let (reps, _) = connect_in_order(&ctx, SocketType::Rep, &ep, &monitor, 5, |_, _| {});

    for i in 0..5 {
        dealer.send(msg(&["", &format!("ABC{i}")])).unwrap();
    }
    // Every REP got one message, in turn.
    for (k, rep) in reps.iter().enumerate() {
        assert_eq!(frames(&rep.recv().unwrap()), fr(&[&format!("ABC{k}")]));
        rep.send(format!("R{k}")).unwrap();
    }
    let mut replies: Vec<Vec<Vec<u8>>> = (0..5).map(|_| frames(&dealer.recv().unwrap())).collect();
    replies.sort();
    let expected: Vec<Vec<Vec<u8>>> = (0..5).map(|k| fr(&["", &format!("R{k}")])).collect();
    assert_eq!(replies, expected);
    for rep in &reps {
        assert!(matches!(rep.try_recv(), Err(Error::WouldBlock)));
    }
}

/// SHALL receive incoming messages from its peers using a fair-queuing
/// strategy.
#[test]
fn test_spec_dealer_fair_queue_in() {
    let ctx = Context::new();
    let (receiver, ep) = bound(&ctx, SocketType::Dealer);
    let monitor = receiver.monitor().unwrap();
    let senders: Vec<Socket> = (0..5)
        .map(|_| connected(&ctx, SocketType::Dealer, &ep))
        .collect();

    senders[0].send("A").unwrap();
    assert_eq!(frames(&receiver.recv().unwrap()), fr(&["A"]));
    senders[0].send("A").unwrap();
    assert_eq!(frames(&receiver.recv().unwrap()), fr(&["A"]));

    for s in &senders {
        s.send("B").unwrap();
    }
    for _ in 0..5 {
        assert_eq!(frames(&receiver.recv().unwrap()), fr(&["B"]));
    }

    // Exact fairness: every sender queues four and closes; once all five
    // connections ended, everything is queued at the receiver.
    for (k, s) in senders.iter().enumerate() {
        for j in 0..4 {
            s.send(format!("{k}:{j}")).unwrap();
        }
        s.set_linger(LONG).unwrap();
    }
    drop(senders);
    disconnections(&monitor, 5);
    io_barrier(&monitor, &ep);
    let got: Vec<(usize, usize)> = (0..20)
        .map(|_| sender_seq(&receiver.recv().unwrap()[0]))
        .collect();
    assert_fair_rounds(&got, 5, 4);
    assert!(matches!(receiver.try_recv(), Err(Error::WouldBlock)));
}

/// SHALL block on sending, or return a suitable error, when it has no
/// connected peers.
#[test]
fn test_spec_dealer_block_on_send_no_peers() {
    let ctx = Context::new();
    let unconnected = sock(&ctx, SocketType::Dealer);
    let (bound_alone, _) = bound(&ctx, SocketType::Dealer);
    for sc in [&unconnected, &bound_alone] {
        sc.set_send_timeout(Some(Duration::from_millis(250)))
            .unwrap();
        assert!(matches!(sc.try_send(""), Err(Error::WouldBlock)));
        let t = Instant::now();
        assert!(matches!(sc.send(""), Err(Error::Timeout)));
        assert!(t.elapsed() >= Duration::from_millis(250));
    }
}

/// A DEALER queues up to its send HWM per peer, then blocks: exact counts
/// with queues made by `connect` to ports where nothing listens yet.
/// Everything queued is delivered, in order, once the peers come.
#[test]
fn test_spec_dealer_blocks_at_hwm() {
    let ctx = Context::new();
    let port = free_port();
    for hwm in [1usize, 5, 1000] {
        let dealer = sock(&ctx, SocketType::Dealer);
        dealer.set_send_hwm(hwm).unwrap();
        dealer.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
        for i in 0..hwm {
            dealer.try_send(i.to_string()).unwrap();
        }
        assert!(matches!(dealer.try_send("over"), Err(Error::WouldBlock)));
    }

    // Two full peers: twice the HWM, round-robin, then blocked.
    let (p1, mut p2) = (free_port(), free_port());
    while p2 == p1 || p2 == port {
        p2 = free_port();
    }
    let eps = [p1, p2].map(|p| format!("tcp://127.0.0.1:{p}"));
    let dealer = sock(&ctx, SocketType::Dealer);
    dealer.set_send_hwm(3).unwrap();
    for ep in &eps {
        dealer.connect(ep).unwrap();
    }
    for i in 0..6 {
        dealer.try_send(i.to_string()).unwrap();
    }
    assert!(matches!(dealer.try_send("over"), Err(Error::WouldBlock)));
    dealer
        .set_send_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    assert!(matches!(dealer.send("over"), Err(Error::Timeout)));
    // The peers bind: each got every other message, in order.
    for (k, ep) in eps.iter().enumerate() {
        let peer = sock(&ctx, SocketType::Dealer);
        peer.bind(ep).unwrap();
        for j in 0..3 {
            assert_eq!(
                frames(&peer.recv().unwrap()),
                fr(&[&(2 * j + k).to_string()])
            );
        }
        assert!(matches!(peer.try_recv(), Err(Error::WouldBlock)));
    }
}

/// A DEALER blocked at its HWM resumes as its peer drains the queue;
/// nothing is lost or reordered.
#[test]
fn test_spec_dealer_blocked_send_resumes() {
    let ctx = Context::new();
    let ep = format!("tcp://127.0.0.1:{}", free_port());
    let dealer = sock(&ctx, SocketType::Dealer);
    dealer.set_send_hwm(10).unwrap();
    dealer.connect(&ep).unwrap();
    // The sending thread owns the DEALER, and hands it back at the end.
    let sender = std::thread::spawn(move || {
        for i in 0..500 {
            dealer.send(i.to_string()).unwrap();
        }
        dealer
    });
    let peer = sock(&ctx, SocketType::Dealer);
    peer.bind(&ep).unwrap();
    for i in 0..500 {
        assert_eq!(frames(&peer.recv().unwrap()), fr(&[&i.to_string()]));
    }
    drop(sender.join().unwrap());
}

// ---------------------------------------------------------------------------
// ROUTER (test_spec_router, test_router_mandatory, test_router_mandatory_hwm)
// ---------------------------------------------------------------------------

/// SHALL receive incoming messages from its peers using a fair-queuing
/// strategy, each with the peer's routing id in front.
#[test]
fn test_spec_router_fair_queue_in() {
    let ctx = Context::new();
    let (receiver, ep) = bound(&ctx, SocketType::Router);
    let ids = ["A", "B", "C", "D", "E"];
    let senders: Vec<Socket> = ids
        .iter()
        .map(|id| {
            let s = sock(&ctx, SocketType::Dealer);
            s.set_routing_id(*id).unwrap();
            s.connect(&ep).unwrap();
            s
        })
        .collect();

    senders[0].send("M").unwrap();
    assert_eq!(frames(&receiver.recv().unwrap()), fr(&["A", "M"]));
    senders[0].send("M").unwrap();
    assert_eq!(frames(&receiver.recv().unwrap()), fr(&["A", "M"]));

    for s in &senders {
        s.send("M").unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..5 {
        let m = receiver.recv().unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(&m[1], b"M");
        seen.push(text(&m[0]));
    }
    seen.sort();
    assert_eq!(seen, ids);
}

/// Fair queuing, exactly, as for DEALER: every sender (already known to
/// the ROUTER) queues four messages and closes; once all five connections
/// ended, everything is queued at the ROUTER, which must take one from
/// each in turn, with the sender's routing id. (This relies on the ROUTER
/// keeping what departed peers sent: see
/// `test_spec_router_keeps_messages_of_departed_peer`.)
#[test]
fn test_spec_router_fair_queue_in_exact() {
    let ctx = Context::new();
    let (receiver, ep) = bound(&ctx, SocketType::Router);
    let monitor = receiver.monitor().unwrap();
    let ids = ["A", "B", "C", "D", "E"];
    let senders: Vec<Socket> = ids
        .iter()
        .map(|id| {
            let s = sock(&ctx, SocketType::Dealer);
            s.set_routing_id(*id).unwrap();
            s.connect(&ep).unwrap();
            s
        })
        .collect();
    for s in &senders {
        s.send("hello").unwrap();
    }
    for _ in 0..5 {
        assert_eq!(&receiver.recv().unwrap()[1], b"hello");
    }
    for (k, s) in senders.iter().enumerate() {
        for j in 0..4 {
            s.send(format!("{k}:{j}")).unwrap();
        }
        s.set_linger(LONG).unwrap();
    }
    drop(senders);
    disconnections(&monitor, 5);
    io_barrier(&monitor, &ep);
    let got: Vec<(usize, usize)> = (0..20)
        .map(|_| {
            let m = receiver.recv().unwrap();
            let (k, j) = sender_seq(&m[1]);
            assert_eq!(text(&m[0]), ids[k], "routing id of sender {k}");
            (k, j)
        })
        .collect();
    assert_fair_rounds(&got, 5, 4);
}

/// What a peer sent before it disconnected is still delivered, with its
/// routing id: as by libzmq (whose socket-side pipe is read up to the
/// delimiter the session writes when the connection ends) and as by this
/// library's DEALER and REP (see their fair-queue tests).
#[test]
fn test_spec_router_keeps_messages_of_departed_peer() {
    let ctx = Context::new();
    let (router, ep) = bound(&ctx, SocketType::Router);
    let monitor = router.monitor().unwrap();
    let dealer = sock(&ctx, SocketType::Dealer);
    dealer.set_routing_id("X").unwrap();
    dealer.set_linger(LONG).unwrap();
    dealer.connect(&ep).unwrap();
    dealer.send("hello").unwrap();
    assert_eq!(frames(&router.recv().unwrap()), fr(&["X", "hello"]));
    for i in 0..3 {
        dealer.send(format!("last words {i}")).unwrap();
    }
    drop(dealer);
    disconnections(&monitor, 1);
    io_barrier(&monitor, &ep);
    for i in 0..3 {
        assert_eq!(
            frames(&router.recv().unwrap()),
            fr(&["X", &format!("last words {i}")])
        );
    }
}

/// A peer that announces no routing id gets a generated one: 5 bytes, the
/// first 0 (a space that `set_routing_id` refuses), distinct per peer.
#[test]
fn test_spec_router_generated_routing_ids() {
    let ctx = Context::new();
    let (router, ep) = bound(&ctx, SocketType::Router);
    let dealers: Vec<Socket> = (0..3)
        .map(|_| connected(&ctx, SocketType::Dealer, &ep))
        .collect();
    let req = connected(&ctx, SocketType::Req, &ep);
    for (k, d) in dealers.iter().enumerate() {
        d.send(k.to_string()).unwrap();
    }
    req.send("from req").unwrap();

    let mut ids = Vec::new();
    for _ in 0..4 {
        let m = router.recv().unwrap();
        let id = m[0].to_vec();
        assert_eq!(id.len(), 5, "{m:?}");
        assert_eq!(id[0], 0, "{m:?}");
        // Answer each through its generated id.
        let mut reply = Message::from(Bytes::from(id.clone()));
        for f in m.iter().skip(1) {
            reply.push(f.clone());
        }
        reply.push("echo");
        router.send(reply).unwrap();
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "distinct ids");
    for (k, d) in dealers.iter().enumerate() {
        assert_eq!(frames(&d.recv().unwrap()), fr(&[&k.to_string(), "echo"]));
    }
    assert_eq!(frames(&req.recv().unwrap()), fr(&["from req", "echo"]));

    // Ids starting with 0 are reserved; an id is 1 to 255 bytes.
    let d = sock(&ctx, SocketType::Dealer);
    assert!(matches!(
        d.set_routing_id(Bytes::from_static(&[0, 1])),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        d.set_routing_id(Bytes::new()),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        d.set_routing_id(Bytes::from(vec![1u8; 256])),
        Err(Error::InvalidArgument(_))
    ));
    d.set_routing_id(Bytes::from(vec![1u8; 255])).unwrap();
}

/// A sent message's first frame names the peer; the rest is delivered to
/// it whole. An unknown id is dropped silently (router_mandatory off).
#[test]
fn test_spec_router_routes_by_first_frame() {
    let ctx = Context::new();
    let (router, ep) = bound(&ctx, SocketType::Router);
    let x = sock(&ctx, SocketType::Dealer);
    x.set_routing_id("X").unwrap();
    x.connect(&ep).unwrap();
    let y = sock(&ctx, SocketType::Dealer);
    y.set_routing_id("Y").unwrap();
    y.connect(&ep).unwrap();
    // Hear from both, so that both are known.
    x.send("hello").unwrap();
    y.send("hello").unwrap();
    let mut heard: Vec<String> = (0..2).map(|_| text(&router.recv().unwrap()[0])).collect();
    heard.sort();
    assert_eq!(heard, ["X", "Y"]);

    router.send(msg(&["Y", "to y"])).unwrap();
    router.send(msg(&["X", "to x", "", "more"])).unwrap();
    router.send(msg(&["Z", "to nobody"])).unwrap();
    router.send(msg(&["X"])).unwrap();
    router.send(msg(&["X", "last"])).unwrap();
    assert_eq!(frames(&y.recv().unwrap()), fr(&["to y"]));
    assert_eq!(frames(&x.recv().unwrap()), fr(&["to x", "", "more"]));
    assert_eq!(frames(&x.recv().unwrap()), fr(&["last"]));
    assert!(matches!(x.try_recv(), Err(Error::WouldBlock)));
    assert!(matches!(y.try_recv(), Err(Error::WouldBlock)));
}

/// test_router_mandatory (test_basic): an unknown peer is silently
/// dropped by default and EHOSTUNREACH with ROUTER_MANDATORY; a known one
/// is reached; one that left is unreachable again.
#[test]
fn test_router_mandatory_basic() {
    let ctx = Context::new();
    let (router, ep) = bound(&ctx, SocketType::Router);
    let monitor = router.monitor().unwrap();

    router.send(msg(&["UNKNOWN", "DATA"])).unwrap();
    router.set_router_mandatory(true).unwrap();
    assert!(matches!(
        router.send(msg(&["UNKNOWN", "DATA"])),
        Err(Error::HostUnreachable)
    ));
    assert!(matches!(
        router.try_send(msg(&["UNKNOWN", "DATA"])),
        Err(Error::HostUnreachable)
    ));

    let dealer = sock(&ctx, SocketType::Dealer);
    dealer.set_routing_id("X").unwrap();
    dealer.connect(&ep).unwrap();
    // Get a message from the dealer to know when the connection is ready.
    dealer.send("Hello").unwrap();
    assert_eq!(frames(&router.recv().unwrap()), fr(&["X", "Hello"]));
    router.send(msg(&["X", "Hello"])).unwrap();
    assert_eq!(frames(&dealer.recv().unwrap()), fr(&["Hello"]));

    // The dealer leaves: once its connection is gone (the barrier makes
    // sure the I/O thread finished with it), "X" is unreachable.
    let peer = match wait_for(&monitor, |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    }) {
        MonitorEvent::HandshakeSucceeded { peer, .. } => peer.expect("TCP"),
        _ => unreachable!(),
    };
    drop(dealer);
    disconnected(&monitor, peer);
    io_barrier(&monitor, &ep);
    assert!(matches!(
        router.send(msg(&["X", "Hello"])),
        Err(Error::HostUnreachable)
    ));
}

/// test_router_mandatory_hwm: with ROUTER_MANDATORY, a peer that does not
/// read fills up and `try_send` then says WouldBlock, after a bounded
/// number of messages (small HWMs on both sides; libzmq expects < 10 of
/// 64 KiB "but kernel buffering could skew results", then < 20 after
/// letting the I/O thread drain the queue into the kernel). Nothing is
/// dropped: the peer gets every message that was accepted, and a blocking
/// send completes once it reads.
#[test]
fn test_router_mandatory_hwm() {
    const BOUND: usize = 1000; // 64 MiB: far beyond any kernel buffering
    let ctx = Context::new();
    let router = sock(&ctx, SocketType::Router);
    router.set_router_mandatory(true).unwrap();
    router.set_send_hwm(1).unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    let ep = router.last_endpoint().unwrap();

    let dealer = sock(&ctx, SocketType::Dealer);
    dealer.set_routing_id("X").unwrap();
    dealer.set_recv_hwm(1).unwrap();
    dealer.connect(&ep).unwrap();
    // Get a message from the dealer to know when the connection is ready.
    dealer.send("Hello").unwrap();
    assert_eq!(frames(&router.recv().unwrap()), fr(&["X", "Hello"]));

    let buf = Bytes::from(vec![0u8; 65536]);
    let big = |i: usize| {
        Message::from(vec![
            Bytes::from_static(b"X"),
            Bytes::from(i.to_string()),
            buf.clone(),
        ])
    };
    // First batch: non-blocking, as libzmq's test.
    let mut sent = 0;
    loop {
        assert!(sent < BOUND, "try_send never blocked in {BOUND} messages");
        match router.try_send(big(sent)) {
            Ok(()) => sent += 1,
            Err(Error::WouldBlock) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(sent >= 1, "the first message fits");
    let first_batch = sent;
    // Second batch: each send waits up to 200 ms for the I/O thread to
    // make room, so this fills every buffer between the two sockets; it
    // must still stop.
    router
        .set_send_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    loop {
        assert!(sent < BOUND, "send never blocked in {BOUND} messages");
        match router.send(big(sent)) {
            Ok(()) => sent += 1,
            Err(Error::Timeout) => break,
            Err(e) => panic!("{e}"),
        }
    }
    eprintln!("router_mandatory_hwm: WouldBlock after {first_batch}, Timeout after {sent}");

    // Nothing was dropped.
    for i in 0..sent {
        let m = dealer.recv().unwrap();
        assert_eq!(text(&m[0]), i.to_string());
        assert_eq!(m[1].len(), 65536);
    }
    router.set_send_timeout(LONG).unwrap();
    router.send(msg(&["X", "end"])).unwrap();
    assert_eq!(frames(&dealer.recv().unwrap()), fr(&["end"]));
    assert!(matches!(dealer.try_recv(), Err(Error::WouldBlock)));
}

/// Without ROUTER_MANDATORY, messages to a full peer are dropped, never
/// blocking; what does arrive is in order.
#[test]
fn test_spec_router_full_peer_drops_without_mandatory() {
    const N: usize = 2000;
    let ctx = Context::new();
    let router = sock(&ctx, SocketType::Router);
    router.set_send_hwm(1).unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    let ep = router.last_endpoint().unwrap();
    let dealer = sock(&ctx, SocketType::Dealer);
    dealer.set_routing_id("X").unwrap();
    dealer.set_recv_hwm(1).unwrap();
    dealer.connect(&ep).unwrap();
    dealer.send("Hello").unwrap();
    router.recv().unwrap();

    let buf = Bytes::from(vec![0u8; 65536]);
    for i in 0..N {
        let m = Message::from(vec![
            Bytes::from_static(b"X"),
            Bytes::from(i.to_string()),
            buf.clone(),
        ]);
        router.try_send(m).unwrap();
    }
    // A marker that must arrive: sent with mandatory on, which waits for
    // room while the dealer reads.
    router.set_router_mandatory(true).unwrap();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        loop {
            let m = dealer.recv().unwrap();
            if &m[0] == b"end" {
                return (dealer, got);
            }
            got.push(text(&m[0]).parse::<usize>().unwrap());
        }
    });
    router.send(msg(&["X", "end"])).unwrap();
    let (_dealer, got) = reader.join().unwrap();
    assert!(got.len() < N, "nothing was dropped: {}", got.len());
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
}

/// A second peer announcing a routing id already in use is refused (its
/// connection is closed); the first keeps the id and keeps working.
#[test]
fn test_spec_router_refuses_duplicate_routing_id() {
    let ctx = Context::new();
    let (router, ep) = bound(&ctx, SocketType::Router);
    let first = sock(&ctx, SocketType::Dealer);
    first.set_routing_id("X").unwrap();
    first.connect(&ep).unwrap();
    first.send("first 1").unwrap();
    assert_eq!(frames(&router.recv().unwrap()), fr(&["X", "first 1"]));

    let second = sock(&ctx, SocketType::Dealer);
    second.set_routing_id("X").unwrap();
    second.set_reconnect_interval(None).unwrap();
    let second_monitor = second.monitor().unwrap();
    second.connect(&ep).unwrap();
    second.send("second").unwrap();

    // The ROUTER takes the new connection while it waits in this thread
    // (which owns it until then).
    let receiver = std::thread::spawn(move || {
        let m = router.recv().unwrap();
        (router, m)
    });
    handshake(&second_monitor);
    wait_for(&second_monitor, |e| {
        matches!(e, MonitorEvent::Disconnected { .. })
    });
    first.send("first 2").unwrap();
    let (router, m) = receiver.join().unwrap();
    assert_eq!(frames(&m), fr(&["X", "first 2"]));
    router.send(msg(&["X", "to x"])).unwrap();
    assert_eq!(frames(&first.recv().unwrap()), fr(&["to x"]));
    assert!(matches!(second.try_recv(), Err(Error::WouldBlock)));
    assert!(matches!(router.try_recv(), Err(Error::WouldBlock)));
}

// ---------------------------------------------------------------------------
// PAIR (test_pair_tcp)
// ---------------------------------------------------------------------------

/// libzmq's `bounce`: a two-part message from client to server and back.
fn bounce(server: &Socket, client: &Socket) {
    let content = "12345678ABCDEFGH12345678abcdefgh";
    client.send(msg(&[content, content])).unwrap();
    assert_eq!(frames(&server.recv().unwrap()), fr(&[content, content]));
    server.send(msg(&[content, content])).unwrap();
    assert_eq!(frames(&client.recv().unwrap()), fr(&[content, content]));
}

#[test]
fn test_pair_tcp_regular() {
    let ctx = Context::new();
    let (sb, ep) = bound(&ctx, SocketType::Pair);
    let sc = connected(&ctx, SocketType::Pair, &ep);
    bounce(&sb, &sc);
    // And many messages both ways at once.
    let sender = std::thread::spawn(move || {
        for i in 0..1000 {
            sc.send(i.to_string()).unwrap();
        }
        sc
    });
    for i in 0..1000 {
        sb.send(i.to_string()).unwrap();
        assert_eq!(frames(&sb.recv().unwrap()), fr(&[&i.to_string()]));
    }
    let sc = sender.join().unwrap();
    for i in 0..1000 {
        assert_eq!(frames(&sc.recv().unwrap()), fr(&[&i.to_string()]));
    }
}

#[test]
fn test_pair_tcp_connect_by_name() {
    let ctx = Context::new();
    let (sb, ep) = bound(&ctx, SocketType::Pair);
    let port = ep.rsplit(':').next().unwrap();
    let sc = connected(&ctx, SocketType::Pair, &format!("tcp://localhost:{port}"));
    bounce(&sb, &sc);
}

/// A PAIR has one peer: sending blocks while there is none. A connected
/// PAIR queues up to its HWM before the peer is there.
#[test]
fn test_spec_pair_blocks_without_peer() {
    let ctx = Context::new();
    let (sb, _) = bound(&ctx, SocketType::Pair);
    assert!(matches!(sb.try_send("x"), Err(Error::WouldBlock)));
    sb.set_send_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    assert!(matches!(sb.send("x"), Err(Error::Timeout)));

    let ep = format!("tcp://127.0.0.1:{}", free_port());
    let sc = sock(&ctx, SocketType::Pair);
    sc.set_send_hwm(4).unwrap();
    sc.connect(&ep).unwrap();
    for i in 0..4 {
        sc.try_send(i.to_string()).unwrap();
    }
    assert!(matches!(sc.try_send("over"), Err(Error::WouldBlock)));
    let late = sock(&ctx, SocketType::Pair);
    late.bind(&ep).unwrap();
    for i in 0..4 {
        assert_eq!(frames(&late.recv().unwrap()), fr(&[&i.to_string()]));
    }
}

/// A second PAIR connecting while the first is there is refused: its
/// connection is closed and it never receives anything; the first keeps
/// working. Once the first leaves, a new peer is taken.
#[test]
fn test_spec_pair_refuses_second_peer() {
    let ctx = Context::new();
    let (sb, ep) = bound(&ctx, SocketType::Pair);
    let sb_monitor = sb.monitor().unwrap();
    let first = connected(&ctx, SocketType::Pair, &ep);
    bounce(&sb, &first);
    let first_peer = handshake(&sb_monitor);

    let second = sock(&ctx, SocketType::Pair);
    second.set_reconnect_interval(None).unwrap();
    let second_monitor = second.monitor().unwrap();
    second.connect(&ep).unwrap();
    second.send("from the second").unwrap();

    // The bound PAIR takes (and refuses) the new connection while it
    // waits in this thread (which owns it until then).
    let receiver = std::thread::spawn(move || {
        let m = sb.recv().unwrap();
        (sb, m)
    });
    handshake(&second_monitor);
    wait_for(&second_monitor, |e| {
        matches!(e, MonitorEvent::Disconnected { .. })
    });
    first.send("from the first").unwrap();
    let (sb, m) = receiver.join().unwrap();
    assert_eq!(frames(&m), fr(&["from the first"]));
    sb.send("to the first").unwrap();
    assert_eq!(frames(&first.recv().unwrap()), fr(&["to the first"]));
    assert!(matches!(second.try_recv(), Err(Error::WouldBlock)));
    assert!(matches!(sb.try_recv(), Err(Error::WouldBlock)));

    // The first leaves; a third is then taken.
    drop(first);
    disconnected(&sb_monitor, first_peer);
    let third = connected(&ctx, SocketType::Pair, &ep);
    bounce(&sb, &third);
}
