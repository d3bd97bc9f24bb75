//! REQ, REP, DEALER, ROUTER and PAIR over real TCP sockets on loopback:
//! ports of libzmq's behaviour tests (test_spec_req, test_spec_rep,
//! test_spec_dealer, test_spec_router, test_invalid_rep,
//! test_router_mandatory, test_router_mandatory_hwm, test_pair_tcp), each
//! named after its original, plus the RFC 28/31 rules those tests leave
//! out.
//!
//! Where libzmq sleeps to let connections settle, these tests wait for
//! monitor events instead. Three facts of this library make that exact:
//!
//! * a socket's connections are all served by one I/O thread, which
//!   hands a new peer's queue to the socket in the same step as it reports
//!   `HandshakeSucceeded`; so once a *later* event of the same socket is
//!   seen (the next handshake, or the `Accepted` of a bare TCP connection
//!   made after: [`io_barrier`]), the queue of every earlier handshake has
//!   been handed over, in handshake order, and every connection reported
//!   lost has been cleared away;
//! * a connection's `Disconnected` is reported only after everything the
//!   peer sent before closing was put in the socket's queue;
//! * a socket takes what it was handed when it is next called (any send
//!   or receive, even one that blocks).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use brokerless::{
    Context, Error, Message, Monitor, MonitorEvent, ProtocolError, Socket, SocketType,
};
use bytes::Bytes;

const LONG: Option<Duration> = Some(Duration::from_secs(20));

/// A socket with 20 s send and receive timeouts (so nothing hangs) and no
/// linger (so nothing left queued holds up the end of a test).
fn sock(ctx: &Context, t: SocketType) -> Socket {
    let s = ctx.socket(t).unwrap();
    s.set_recv_timeout(LONG).unwrap();
    s.set_send_timeout(LONG).unwrap();
    s.set_linger(Some(Duration::ZERO)).unwrap();
    s
}

/// A socket bound to a system-chosen loopback port, and that endpoint.
fn bound(ctx: &Context, t: SocketType) -> (Socket, String) {
    let s = sock(ctx, t);
    s.bind("tcp://127.0.0.1:*").unwrap();
    let ep = s.last_endpoint().unwrap();
    (s, ep)
}

fn connected(ctx: &Context, t: SocketType, endpoint: &str) -> Socket {
    let s = sock(ctx, t);
    s.connect(endpoint).unwrap();
    s
}

/// A message of text frames.
fn msg(parts: &[&str]) -> Message {
    parts
        .iter()
        .map(|p| Bytes::copy_from_slice(p.as_bytes()))
        .collect()
}

/// The frames of a message, for comparisons.
fn frames(m: &Message) -> Vec<Vec<u8>> {
    m.iter().map(|f| f.to_vec()).collect()
}

/// Text frames, for comparisons.
fn fr(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

/// The next event `pred` accepts, skipping others (20 s at most).
fn wait_for(monitor: &Monitor, pred: impl Fn(&MonitorEvent) -> bool) -> MonitorEvent {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match monitor.recv_timeout(left) {
            Ok(ev) if pred(&ev) => return ev,
            Ok(_) => {}
            Err(e) => panic!("event not seen: {e}"),
        }
    }
}

/// Waits for the next completed handshake; returns the peer's address.
fn handshake(monitor: &Monitor) -> SocketAddr {
    match wait_for(monitor, |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    }) {
        MonitorEvent::HandshakeSucceeded { peer, .. } => peer,
        _ => unreachable!(),
    }
}

/// Waits until the connection from `peer` is reported lost.
fn disconnected(monitor: &Monitor, from: SocketAddr) {
    wait_for(
        monitor,
        |e| matches!(e, MonitorEvent::Disconnected { peer, .. } if *peer == from),
    );
}

/// Waits until `n` connections are reported lost.
fn disconnections(monitor: &Monitor, n: usize) {
    for _ in 0..n {
        wait_for(monitor, |e| matches!(e, MonitorEvent::Disconnected { .. }));
    }
}

/// A barrier on the I/O thread of the socket bound at `endpoint`: a bare
/// TCP connection is made and its `Accepted` awaited. That event comes
/// after the I/O thread finished all it was doing for the events seen
/// before, such as handing the queue of the last handshake to the socket.
fn io_barrier(monitor: &Monitor, endpoint: &str) {
    let stream = std::net::TcpStream::connect(endpoint.trim_start_matches("tcp://")).unwrap();
    let me = stream.local_addr().unwrap();
    wait_for(
        monitor,
        |e| matches!(e, MonitorEvent::Accepted { peer, .. } if *peer == me),
    );
}

/// A loopback port with nothing listening on it.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `n` sockets of type `t` connected to `endpoint` one after the other,
/// each only once the bound socket (watched by `monitor`) completed the
/// handshake of the one before; then an [`io_barrier`]. The bound socket
/// has their queues in this order. Returns the sockets and the address
/// each is seen from.
fn connect_in_order(
    ctx: &Context,
    t: SocketType,
    endpoint: &str,
    monitor: &Monitor,
    n: usize,
    setup: impl Fn(usize, &Socket),
) -> (Vec<Socket>, Vec<SocketAddr>) {
    let mut sockets = Vec::new();
    let mut peers = Vec::new();
    for i in 0..n {
        let s = sock(ctx, t);
        setup(i, &s);
        s.connect(endpoint).unwrap();
        peers.push(handshake(monitor));
        sockets.push(s);
    }
    io_barrier(monitor, endpoint);
    (sockets, peers)
}

/// Checks that `got`, a list of (sender, sequence number) in receive
/// order from `senders` senders that each had `per_sender` messages
/// queued, was served fairly: every run of `senders` messages takes one
/// from each sender, and each sender's messages come in order.
fn assert_fair_rounds(got: &[(usize, usize)], senders: usize, per_sender: usize) {
    assert_eq!(got.len(), senders * per_sender, "{got:?}");
    for (round, chunk) in got.chunks(senders).enumerate() {
        let mut who: Vec<usize> = chunk.iter().map(|&(k, _)| k).collect();
        who.sort();
        assert_eq!(
            who,
            (0..senders).collect::<Vec<_>>(),
            "round {round}: {got:?}"
        );
        for &(k, j) in chunk {
            assert_eq!(j, round, "sender {k} out of order: {got:?}");
        }
    }
}

/// Parses a "k:j" body.
fn sender_seq(body: &[u8]) -> (usize, usize) {
    let s = text(body);
    let (k, j) = s.split_once(':').unwrap();
    (k.parse().unwrap(), j.parse().unwrap())
}

// ---------------------------------------------------------------------------
// REQ (test_spec_req)
// ---------------------------------------------------------------------------

/// SHALL route outgoing messages to connected peers using a round-robin
/// strategy. REQ binds, five REPs connect (libzmq sleeps for the connects
/// to settle; here each handshake is awaited in turn).
#[test]
fn test_spec_req_round_robin_out() {
    let ctx = Context::new();
    let (req, ep) = bound(&ctx, SocketType::Req);
    let monitor = req.monitor().unwrap();
    let (reps, _) = connect_in_order(&ctx, SocketType::Rep, &ep, &monitor, 5, |_, _| {});

    // Two full cycles: every REP is used once per cycle, in order.
    for cycle in 0..2 {
        for (k, rep) in reps.iter().enumerate() {
            req.send(format!("ABC{cycle}")).unwrap();
            assert_eq!(
                frames(&rep.recv().unwrap()),
                fr(&[&format!("ABC{cycle}")]),
                "REP {k}"
            );
            rep.send(format!("DEF{k}")).unwrap();
            assert_eq!(frames(&req.recv().unwrap()), fr(&[&format!("DEF{k}")]));
        }
    }
    for rep in &reps {
        assert!(matches!(rep.try_recv(), Err(Error::WouldBlock)));
    }
}

/// The same with the REQ connecting to five bound REPs (libzmq's comment:
/// "We could alternatively connect the REQ sockets to the REP sockets"):
/// the queues exist from `connect` on, so no waiting is needed at all.
#[test]
fn test_spec_req_round_robin_out_req_connects() {
    let ctx = Context::new();
    let reps: Vec<(Socket, String)> = (0..5).map(|_| bound(&ctx, SocketType::Rep)).collect();
    let req = sock(&ctx, SocketType::Req);
    for (_, ep) in &reps {
        req.connect(ep).unwrap();
    }
    for cycle in 0..2 {
        for (k, (rep, _)) in reps.iter().enumerate() {
            req.send(format!("ABC{cycle}")).unwrap();
            assert_eq!(frames(&rep.recv().unwrap()), fr(&[&format!("ABC{cycle}")]));
            rep.send(format!("DEF{k}")).unwrap();
            assert_eq!(frames(&req.recv().unwrap()), fr(&[&format!("DEF{k}")]));
        }
    }
}

/// SHALL accept an incoming message only from the last peer that it sent
/// a request to; SHALL discard silently any messages received from other
/// peers. (Disabled in libzmq as racy: a stale message still in flight
/// from a peer when the next request goes to that peer is, on the wire,
/// indistinguishable from its reply. Here the stale replies' arrival is
/// awaited, so the test is exact.)
#[test]
fn test_spec_req_req_only_listens_to_current_peer() {
    let ctx = Context::new();
    let req = sock(&ctx, SocketType::Req);
    req.set_routing_id("A").unwrap();
    req.bind("tcp://127.0.0.1:*").unwrap();
    let ep = req.last_endpoint().unwrap();
    let monitor = req.monitor().unwrap();
    let (routers, peers) = connect_in_order(&ctx, SocketType::Router, &ep, &monitor, 3, |_, r| {
        r.set_router_mandatory(true).unwrap();
    });

    // One request to each ROUTER in turn; each sees the REQ's routing id
    // and the delimiter, and answers.
    for (i, router) in routers.iter().enumerate() {
        req.send("ABC").unwrap();
        assert_eq!(frames(&router.recv().unwrap()), fr(&["A", "", "ABC"]));
        router.send(msg(&["A", "", &format!("GOOD{i}")])).unwrap();
        assert_eq!(frames(&req.recv().unwrap()), fr(&[&format!("GOOD{i}")]));
    }

    // The next request goes to ROUTER 0. All ROUTERs answer it; 1 and 2
    // then close (flushing what they sent first), so once the REQ reports
    // both connections lost their wrong replies are in its queues.
    req.send("ABC").unwrap();
    assert_eq!(frames(&routers[0].recv().unwrap()), fr(&["A", "", "ABC"]));
    let mut routers = routers.into_iter();
    let router0 = routers.next().unwrap();
    for router in routers {
        router.send(msg(&["A", "", "WRONG"])).unwrap();
        router.set_linger(LONG).unwrap();
    }
    disconnected(&monitor, peers[1]);
    disconnected(&monitor, peers[2]);
    // Waiting for ROUTER 0, the REQ has nothing to give.
    assert!(matches!(req.try_recv(), Err(Error::WouldBlock)));
    router0.send(msg(&["A", "", "GOOD"])).unwrap();
    assert_eq!(frames(&req.recv().unwrap()), fr(&["GOOD"]));
}

/// The request and reply messages SHALL have this format on the wire: a
/// delimiter (an empty frame) added by the REQ socket, then the data
/// frames. Seen from a ROUTER, which shows the envelope.
#[test]
fn test_spec_req_req_message_format() {
    let ctx = Context::new();
    let (req, ep) = bound(&ctx, SocketType::Req);
    let router = connected(&ctx, SocketType::Router, &ep);

    req.send(msg(&["ABC", "DEF"])).unwrap();
    let got = router.recv().unwrap();
    assert_eq!(got.len(), 4, "{got:?}");
    let peer_id = got[0].to_vec();
    assert!(!peer_id.is_empty());
    assert_eq!(frames(&got)[1..], fr(&["", "ABC", "DEF"]));

    // A single-part reply, with the delimiter the REQ strips.
    let mut reply = msg(&["", "GHI"]);
    reply.push_front(Bytes::from(peer_id));
    router.send(reply).unwrap();
    assert_eq!(frames(&req.recv().unwrap()), fr(&["GHI"]));
}

/// Only the pairings of RFC 28/31 talk: a REQ refuses a DEALER (and the
/// DEALER the REQ), and so on; the handshake fails on the bound side
/// with the two types named.
#[test]
fn test_spec_reqrep_incompatible_pairings_are_refused() {
    use SocketType::{Dealer, Pair, Rep, Req, Router};
    let ctx = Context::new();
    for (ours, theirs) in [
        (Dealer, Req),
        (Req, Dealer),
        (Req, Req),
        (Rep, Rep),
        (Rep, Router),
        (Router, Rep),
        (Pair, Dealer),
        (Dealer, Pair),
    ] {
        let (b, ep) = bound(&ctx, ours);
        let monitor = b.monitor().unwrap();
        let c = sock(&ctx, theirs);
        c.set_reconnect_interval(None).unwrap();
        c.connect(&ep).unwrap();
        let ev = wait_for(&monitor, |e| {
            matches!(
                e,
                MonitorEvent::HandshakeFailed { .. }
                    | MonitorEvent::HandshakeSucceeded { .. }
                    | MonitorEvent::Disconnected { .. }
            )
        });
        match ev {
            MonitorEvent::HandshakeFailed {
                error: ProtocolError::IncompatibleSocketType { ours: o, theirs: t },
                ..
            } => assert_eq!((o, t), (ours, theirs)),
            other => panic!("{ours} bound, {theirs} connecting: {other:?}"),
        }
    }
}

/// Every reply comes through, however the threads are scheduled: several
/// REQs in lockstep with an echoing ROUTER, many times over. (A reply
/// must never be taken for a stale message and thrown away, even when it
/// arrives while `send` is still returning.)
#[test]
fn test_spec_req_no_reply_lost_under_load() {
    const CLIENTS: usize = 8;
    const REQUESTS: usize = 5000;
    let ctx = Context::new();
    let (router, ep) = bound(&ctx, SocketType::Router);
    let served = std::thread::scope(|s| {
        for k in 0..CLIENTS {
            let (ctx, ep) = (&ctx, &ep);
            s.spawn(move || {
                let req = connected(ctx, SocketType::Req, ep);
                for j in 0..REQUESTS {
                    req.send(format!("{k}:{j}")).unwrap();
                    match req.recv() {
                        Ok(m) => assert_eq!(frames(&m), fr(&[&format!("{k}:{j}")])),
                        Err(e) => panic!("client {k}: reply to request {j} lost: {e}"),
                    }
                }
            });
        }
        let mut served = 0;
        while served < CLIENTS * REQUESTS {
            match router.recv() {
                Ok(m) => router.send(m).unwrap(),
                Err(Error::Timeout) => break,
                Err(e) => panic!("{e}"),
            }
            served += 1;
        }
        served
    });
    assert_eq!(served, CLIENTS * REQUESTS);
}

/// SHALL block on sending, or return a suitable error, when it has no
/// connected peers.
#[test]
fn test_spec_req_block_on_send_no_peers() {
    let ctx = Context::new();
    let unconnected = sock(&ctx, SocketType::Req);
    let (bound_alone, _) = bound(&ctx, SocketType::Req);
    for sc in [&unconnected, &bound_alone] {
        sc.set_send_timeout(Some(Duration::from_millis(250)))
            .unwrap();
        assert!(matches!(sc.try_send("x"), Err(Error::WouldBlock)));
        let t = Instant::now();
        assert!(matches!(sc.send("x"), Err(Error::Timeout)));
        assert!(t.elapsed() >= Duration::from_millis(250));
        // Nothing was sent, so the REQ may still send and not receive.
        assert!(matches!(sc.try_recv(), Err(Error::InvalidState(_))));
    }

    // Once a peer comes, the same REQ works.
    let (rep, ep) = bound(&ctx, SocketType::Rep);
    unconnected.set_send_timeout(LONG).unwrap();
    unconnected.connect(&ep).unwrap();
    unconnected.send("late").unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["late"]));
    rep.send("ok").unwrap();
    assert_eq!(frames(&unconnected.recv().unwrap()), fr(&["ok"]));
}

/// A connected REQ has a queue before its peer exists: the request waits
/// in it and is answered once a REP binds there.
#[test]
fn test_spec_req_request_queued_before_peer_binds() {
    let ctx = Context::new();
    let ep = format!("tcp://127.0.0.1:{}", free_port());
    let req = connected(&ctx, SocketType::Req, &ep);
    req.try_send("early").unwrap();
    let rep = sock(&ctx, SocketType::Rep);
    rep.bind(&ep).unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["early"]));
    rep.send("answer").unwrap();
    assert_eq!(frames(&req.recv().unwrap()), fr(&["answer"]));
}

/// Strict lockstep (libzmq's EFSM): receive before any request, or a
/// second request before the reply, is an error that changes nothing.
#[test]
fn test_spec_req_strict_lockstep() {
    let ctx = Context::new();
    let (rep, ep) = bound(&ctx, SocketType::Rep);
    let req = connected(&ctx, SocketType::Req, &ep);

    assert!(matches!(req.recv(), Err(Error::InvalidState(_))));
    assert!(matches!(req.try_recv(), Err(Error::InvalidState(_))));
    req.send("one").unwrap();
    assert!(matches!(req.send("two"), Err(Error::InvalidState(_))));
    assert!(matches!(req.try_send("two"), Err(Error::InvalidState(_))));
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["one"]));
    rep.send("1").unwrap();
    assert_eq!(frames(&req.recv().unwrap()), fr(&["1"]));
    assert!(matches!(req.recv(), Err(Error::InvalidState(_))));
    // The refused "two" never left.
    req.send("three").unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["three"]));
    rep.send("3").unwrap();
    assert_eq!(frames(&req.recv().unwrap()), fr(&["3"]));
    assert!(matches!(rep.try_recv(), Err(Error::WouldBlock)));
}

/// A reply that does not start with the empty delimiter (or has nothing
/// after it) is discarded; the REQ goes on waiting for a proper one.
#[test]
fn test_spec_req_discards_reply_without_delimiter() {
    let ctx = Context::new();
    let (router, ep) = bound(&ctx, SocketType::Router);
    let req = connected(&ctx, SocketType::Req, &ep);
    req.send("r").unwrap();
    let request = router.recv().unwrap();
    assert_eq!(frames(&request)[1..], fr(&["", "r"]));
    let id = request[0].to_vec();
    let to_req = |parts: &[&str]| {
        let mut m = msg(parts);
        m.push_front(Bytes::from(id.clone()));
        router.send(m).unwrap();
    };
    to_req(&["no delimiter"]);
    to_req(&["x", "", "envelope before the delimiter"]);
    to_req(&[""]);
    to_req(&["", "good"]);
    assert_eq!(frames(&req.recv().unwrap()), fr(&["good"]));
    // And the REQ is back in step.
    req.send("again").unwrap();
    assert_eq!(frames(&router.recv().unwrap())[1..], fr(&["", "again"]));
}

/// test_invalid_rep: a ROUTER answers a REQ first with a message that is
/// only the routing id (nothing reaches the REQ), then properly.
#[test]
fn test_invalid_rep() {
    let ctx = Context::new();
    let (router_socket, ep) = bound(&ctx, SocketType::Router);
    let req_socket = connected(&ctx, SocketType::Req, &ep);

    req_socket.send("r").unwrap();
    let request = router_socket.recv().unwrap();
    assert_eq!(request.len(), 3);
    let addr = request[0].to_vec();
    assert!(request[1].is_empty(), "bottom");
    assert_eq!(&request[2], b"r");

    // Invalid reply: the routing id alone.
    router_socket
        .send(Bytes::from(addr.clone()))
        .expect("an id-only message is accepted and dropped");
    // Valid reply.
    let mut valid = msg(&["", "b"]);
    valid.push_front(Bytes::from(addr));
    router_socket.send(valid).unwrap();
    assert_eq!(frames(&req_socket.recv().unwrap()), fr(&["b"]));
}

// ---------------------------------------------------------------------------
// REP (test_spec_rep)
// ---------------------------------------------------------------------------

/// SHALL receive incoming messages from its peers using a fair-queuing
/// strategy.
#[test]
fn test_spec_rep_fair_queue_in() {
    let ctx = Context::new();
    let (rep, ep) = bound(&ctx, SocketType::Rep);
    let monitor = rep.monitor().unwrap();
    let reqs: Vec<Socket> = (0..5)
        .map(|_| connected(&ctx, SocketType::Req, &ep))
        .collect();

    for _ in 0..2 {
        reqs[0].send("A").unwrap();
        assert_eq!(frames(&rep.recv().unwrap()), fr(&["A"]));
        rep.send("A").unwrap();
        assert_eq!(frames(&reqs[0].recv().unwrap()), fr(&["A"]));
    }

    // N requests, one per REQ (libzmq has this part disabled because it
    // expects an arrival order; here each request is answered and each
    // reply must reach the REQ that asked).
    let letters = ["A", "B", "C", "D", "E"];
    for (req, letter) in reqs.iter().zip(letters) {
        req.send(letter).unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..5 {
        let m = rep.recv().unwrap();
        seen.push(text(&m[0]));
        rep.send(m).unwrap();
    }
    seen.sort();
    assert_eq!(seen, letters);
    for (req, letter) in reqs.iter().zip(letters) {
        assert_eq!(frames(&req.recv().unwrap()), fr(&[letter]));
    }

    // Fairness, exactly: three DEALERs queue five requests each and close
    // (flushing them); once the REP saw the three connections end, every
    // request is in its queues, and it takes one from each in turn. The
    // requesters are gone, so the replies are dropped, without error.
    let dealers: Vec<Socket> = (0..3)
        .map(|_| connected(&ctx, SocketType::Dealer, &ep))
        .collect();
    for (k, d) in dealers.iter().enumerate() {
        for j in 0..5 {
            d.send(msg(&["", &format!("{k}:{j}")])).unwrap();
        }
        d.set_linger(LONG).unwrap();
    }
    drop(dealers);
    disconnections(&monitor, 3);
    io_barrier(&monitor, &ep);
    let mut got = Vec::new();
    for _ in 0..15 {
        let m = rep.recv().unwrap();
        got.push(sender_seq(&m[0]));
        rep.send("to nobody").unwrap();
    }
    assert_fair_rounds(&got, 3, 5);
    assert!(matches!(rep.try_recv(), Err(Error::WouldBlock)));
}

/// SHALL remove and store the address envelope, including the delimiter;
/// pass the remaining data frames to the application; prepend the
/// envelope to the reply and deliver it back to the originating peer.
#[test]
fn test_spec_rep_envelope() {
    let ctx = Context::new();
    let (rep, ep) = bound(&ctx, SocketType::Rep);
    let dealer = connected(&ctx, SocketType::Dealer, &ep);

    // Minimal envelope.
    dealer.send(msg(&["", "A"])).unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["A"]));
    rep.send("A").unwrap();
    assert_eq!(frames(&dealer.recv().unwrap()), fr(&["", "A"]));

    // Big envelope.
    dealer.send(msg(&["X", "Y", "", "A"])).unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["A"]));
    rep.send("A").unwrap();
    assert_eq!(frames(&dealer.recv().unwrap()), fr(&["X", "Y", "", "A"]));

    // Multipart bodies both ways; an empty frame inside the body is data.
    dealer.send(msg(&["id", "", "B", "", "C"])).unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["B", "", "C"]));
    rep.send(msg(&["D", "E"])).unwrap();
    assert_eq!(frames(&dealer.recv().unwrap()), fr(&["id", "", "D", "E"]));
    assert!(matches!(dealer.try_recv(), Err(Error::WouldBlock)));
}

/// A request without a delimiter (or with nothing after it) is discarded
/// (libzmq's rep_t rolls it back); the next proper one is served.
#[test]
fn test_spec_rep_discards_request_without_delimiter() {
    let ctx = Context::new();
    let (rep, ep) = bound(&ctx, SocketType::Rep);
    let dealer = connected(&ctx, SocketType::Dealer, &ep);
    dealer.send("no delimiter").unwrap();
    dealer.send(msg(&["X", "Y"])).unwrap();
    dealer.send(msg(&[""])).unwrap();
    dealer.send(msg(&["X", ""])).unwrap();
    dealer.send(msg(&["", "good"])).unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["good"]));
    rep.send("reply").unwrap();
    assert_eq!(frames(&dealer.recv().unwrap()), fr(&["", "reply"]));
    assert!(matches!(rep.try_recv(), Err(Error::WouldBlock)));
    assert!(matches!(dealer.try_recv(), Err(Error::WouldBlock)));
}

/// A reply whose requester has gone is dropped without error, and the REP
/// goes on serving others.
#[test]
fn test_spec_rep_reply_to_vanished_requester_is_dropped() {
    let ctx = Context::new();
    let (rep, ep) = bound(&ctx, SocketType::Rep);
    let monitor = rep.monitor().unwrap();
    let req = connected(&ctx, SocketType::Req, &ep);
    req.send("asked").unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["asked"]));
    drop(req);
    wait_for(&monitor, |e| matches!(e, MonitorEvent::Disconnected { .. }));
    rep.send("too late").unwrap();

    let other = connected(&ctx, SocketType::Req, &ep);
    other.send("next").unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["next"]));
    rep.send("served").unwrap();
    assert_eq!(frames(&other.recv().unwrap()), fr(&["served"]));
}

/// Strict lockstep: reply before a request, or a second receive before
/// the reply, is an error that changes nothing.
#[test]
fn test_spec_rep_strict_lockstep() {
    let ctx = Context::new();
    let (rep, ep) = bound(&ctx, SocketType::Rep);
    let req = connected(&ctx, SocketType::Req, &ep);

    assert!(matches!(rep.send("x"), Err(Error::InvalidState(_))));
    assert!(matches!(rep.try_send("x"), Err(Error::InvalidState(_))));
    req.send("q").unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["q"]));
    assert!(matches!(rep.recv(), Err(Error::InvalidState(_))));
    assert!(matches!(rep.try_recv(), Err(Error::InvalidState(_))));
    rep.send("a").unwrap();
    assert!(matches!(rep.send("b"), Err(Error::InvalidState(_))));
    assert_eq!(frames(&req.recv().unwrap()), fr(&["a"]));
    assert!(matches!(rep.try_recv(), Err(Error::WouldBlock)));
}

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
    std::thread::scope(|s| {
        let sender = s.spawn(|| {
            for i in 0..500 {
                dealer.send(i.to_string()).unwrap();
            }
        });
        let peer = sock(&ctx, SocketType::Dealer);
        peer.bind(&ep).unwrap();
        for i in 0..500 {
            assert_eq!(frames(&peer.recv().unwrap()), fr(&[&i.to_string()]));
        }
        sender.join().unwrap();
    });
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
        MonitorEvent::HandshakeSucceeded { peer, .. } => peer,
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
    let got = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut got = Vec::new();
            loop {
                let m = dealer.recv().unwrap();
                if &m[0] == b"end" {
                    return got;
                }
                got.push(text(&m[0]).parse::<usize>().unwrap());
            }
        });
        router.send(msg(&["X", "end"])).unwrap();
        reader.join().unwrap()
    });
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

    std::thread::scope(|s| {
        // The ROUTER takes the new connection while it waits here.
        let receiver = s.spawn(|| router.recv().unwrap());
        handshake(&second_monitor);
        wait_for(&second_monitor, |e| {
            matches!(e, MonitorEvent::Disconnected { .. })
        });
        first.send("first 2").unwrap();
        assert_eq!(frames(&receiver.join().unwrap()), fr(&["X", "first 2"]));
    });
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
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..1000 {
                sc.send(i.to_string()).unwrap();
            }
        });
        for i in 0..1000 {
            sb.send(i.to_string()).unwrap();
            assert_eq!(frames(&sb.recv().unwrap()), fr(&[&i.to_string()]));
        }
    });
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

    std::thread::scope(|s| {
        // The bound PAIR takes (and refuses) the new connection while it
        // waits here.
        let receiver = s.spawn(|| sb.recv().unwrap());
        handshake(&second_monitor);
        wait_for(&second_monitor, |e| {
            matches!(e, MonitorEvent::Disconnected { .. })
        });
        first.send("from the first").unwrap();
        assert_eq!(frames(&receiver.join().unwrap()), fr(&["from the first"]));
    });
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
