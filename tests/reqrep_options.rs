//! REQ relaxed/correlate, ROUTER handover, connect routing ids and
//! probes (ports of libzmq's test_req_relaxed, test_req_correlate,
//! test_router_handover, test_connect_rid and test_probe_router), and a
//! REQ client that survives its server's restart.

mod common;

use std::time::Duration;

use brokerless::{Context, Error, Message, MonitorEvent, Socket, SocketType};
use bytes::Bytes;
use common::{bind_any, frames, free_port, handshakes, socket_with_timeouts as socket, wait_for};

/// A [`socket`] bound to a loopback port, and that endpoint. These tests
/// keep the default, infinite linger.
fn bound(ctx: &Context, t: SocketType) -> (Socket, String) {
    bind_any(socket(ctx, t))
}

#[test]
fn test_req_correlate() {
    // A ROUTER sees the request id frame, then the delimiter, then the
    // body; a reply with a wrong id is discarded, the right one accepted.
    let ctx = Context::new();
    let (router, ep) = bound(&ctx, SocketType::Router);
    let req = socket(&ctx, SocketType::Req);
    req.set_req_correlate(true).unwrap();
    req.set_req_relaxed(true).unwrap();
    req.connect(&ep).unwrap();
    req.send("request").unwrap();
    let m = router.recv().unwrap();
    assert_eq!(m.len(), 4, "{m:?}");
    let (peer, request_id) = (m[0].to_vec(), m[1].to_vec());
    assert_eq!(request_id.len(), 4);
    assert!(m[2].is_empty());
    assert_eq!(&m[3], b"request");

    let mut wrong = request_id.clone();
    wrong[0] = wrong[0].wrapping_add(1);
    router
        .send(Message::from(vec![
            Bytes::from(peer.clone()),
            Bytes::from(wrong),
            Bytes::new(),
            Bytes::from_static(b"wrong"),
        ]))
        .unwrap();
    router
        .send(Message::from(vec![
            Bytes::from(peer),
            Bytes::from(request_id),
            Bytes::new(),
            Bytes::from_static(b"right"),
        ]))
        .unwrap();
    assert_eq!(frames(&req.recv().unwrap()), [b"right".to_vec()]);
}

#[test]
fn test_req_relaxed() {
    // Two REPs; a relaxed REQ may send again without waiting, and the
    // abandoned request's reply is not delivered for the new one.
    let ctx = Context::new();
    let req = socket(&ctx, SocketType::Req);
    req.set_req_relaxed(true).unwrap();
    req.set_req_correlate(true).unwrap();
    let monitor = req.monitor().unwrap();
    let (rep1, ep1) = bound(&ctx, SocketType::Rep);
    let (rep2, ep2) = bound(&ctx, SocketType::Rep);
    req.connect(&ep1).unwrap();
    req.connect(&ep2).unwrap();
    handshakes(&monitor, 2);

    // Strict mode would refuse this second send.
    req.send("A").unwrap();
    req.send("B").unwrap();
    assert_eq!(&rep1.recv().unwrap()[0], b"A");
    assert_eq!(&rep2.recv().unwrap()[0], b"B");
    // The reply to A comes first but is stale; B's is the one received.
    rep1.send("late A").unwrap();
    rep2.send("B reply").unwrap();
    assert_eq!(&req.recv().unwrap()[0], b"B reply");

    // A relaxed REQ still refuses to receive before sending.
    assert!(matches!(req.recv(), Err(Error::InvalidState(_))));

    // Same peer twice: correlation tells the late reply from the new one.
    let (rep3, ep3) = bound(&ctx, SocketType::Rep);
    let req2 = socket(&ctx, SocketType::Req);
    req2.set_req_relaxed(true).unwrap();
    req2.set_req_correlate(true).unwrap();
    req2.connect(&ep3).unwrap();
    req2.send("C").unwrap();
    assert_eq!(&rep3.recv().unwrap()[0], b"C");
    req2.send("D").unwrap();
    rep3.send("C reply").unwrap();
    assert_eq!(&rep3.recv().unwrap()[0], b"D");
    rep3.send("D reply").unwrap();
    assert_eq!(&req2.recv().unwrap()[0], b"D reply");
}

#[test]
fn strict_req_refuses_out_of_order_calls() {
    let ctx = Context::new();
    let req = socket(&ctx, SocketType::Req);
    assert!(matches!(req.recv(), Err(Error::InvalidState(_))));
    let (rep, ep) = bound(&ctx, SocketType::Rep);
    req.connect(&ep).unwrap();
    req.send("one").unwrap();
    assert!(matches!(req.send("two"), Err(Error::InvalidState(_))));
    assert!(matches!(rep.send("x"), Err(Error::InvalidState(_))));
    assert_eq!(&rep.recv().unwrap()[0], b"one");
    assert!(matches!(rep.recv(), Err(Error::InvalidState(_))));
    rep.send("ok").unwrap();
    assert_eq!(&req.recv().unwrap()[0], b"ok");
}

#[test]
fn test_router_handover() {
    let ctx = Context::new();
    let (router, ep) = bound(&ctx, SocketType::Router);
    router.set_router_handover(true).unwrap();
    let monitor = router.monitor().unwrap();

    let first = socket(&ctx, SocketType::Dealer);
    first.set_routing_id("X").unwrap();
    first.connect(&ep).unwrap();
    first.send("from first").unwrap();
    assert_eq!(
        frames(&router.recv().unwrap()),
        [b"X".to_vec(), b"from first".to_vec()]
    );

    let second = socket(&ctx, SocketType::Dealer);
    second.set_routing_id("X").unwrap();
    second.connect(&ep).unwrap();
    second.send("from second").unwrap();
    assert_eq!(
        frames(&router.recv().unwrap()),
        [b"X".to_vec(), b"from second".to_vec()]
    );
    // The older connection was closed; "X" now reaches the second dealer.
    wait_for(&monitor, |e| matches!(e, MonitorEvent::Disconnected { .. }));
    router
        .send(Message::from(vec![
            Bytes::from_static(b"X"),
            Bytes::from_static(b"to X"),
        ]))
        .unwrap();
    assert_eq!(&second.recv().unwrap()[0], b"to X");
}

#[test]
fn a_duplicate_routing_id_is_refused_without_handover() {
    let ctx = Context::new();
    let (router, ep) = bound(&ctx, SocketType::Router);
    let monitor = router.monitor().unwrap();
    let first = socket(&ctx, SocketType::Dealer);
    first.set_routing_id("X").unwrap();
    first.connect(&ep).unwrap();
    first.send("1").unwrap();
    assert_eq!(frames(&router.recv().unwrap())[1], b"1");
    let second = socket(&ctx, SocketType::Dealer);
    second.set_routing_id("X").unwrap();
    second.connect(&ep).unwrap();
    handshakes(&monitor, 2);
    // The router meets the newcomer at its next call: the first keeps the
    // id, and the newcomer's connection is closed.
    router
        .send(Message::from(vec![
            Bytes::from_static(b"X"),
            Bytes::from_static(b"to X"),
        ]))
        .unwrap();
    assert_eq!(&first.recv().unwrap()[0], b"to X");
    wait_for(&monitor, |e| matches!(e, MonitorEvent::Disconnected { .. }));
}

#[test]
fn test_connect_rid() {
    // ROUTER to ROUTER: the connecting ROUTER names its peer itself, so
    // it can send first; the bound ROUTER knows the connector by the
    // connector's own routing id.
    let ctx = Context::new();
    let server = socket(&ctx, SocketType::Router);
    server.set_routing_id("SERVER").unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let ep = server.last_endpoint().unwrap();
    let client = socket(&ctx, SocketType::Router);
    client.set_routing_id("CLIENT").unwrap();
    client.set_router_mandatory(true).unwrap();
    let monitor = client.monitor().unwrap();
    client.set_connect_routing_id("S").unwrap();
    client.connect(&ep).unwrap();
    assert!(client.router_mandatory());
    handshakes(&monitor, 1);
    client
        .send(Message::from(vec![
            Bytes::from_static(b"S"),
            Bytes::from_static(b"hello"),
        ]))
        .unwrap();
    assert_eq!(
        frames(&server.recv().unwrap()),
        [b"CLIENT".to_vec(), b"hello".to_vec()]
    );
    server
        .send(Message::from(vec![
            Bytes::from_static(b"CLIENT"),
            Bytes::from_static(b"back"),
        ]))
        .unwrap();
    assert_eq!(
        frames(&client.recv().unwrap()),
        [b"S".to_vec(), b"back".to_vec()]
    );
    // The assigned id was used by one connect only.
    assert!(matches!(
        client.send(Message::from(vec![
            Bytes::from_static(b"SERVER"),
            Bytes::from_static(b"x"),
        ])),
        Err(Error::HostUnreachable)
    ));
}

#[test]
fn test_probe_router() {
    let ctx = Context::new();
    let (server, ep) = bound(&ctx, SocketType::Router);
    let client = socket(&ctx, SocketType::Dealer);
    client.set_routing_id("A").unwrap();
    client.set_probe_router(true).unwrap();
    client.connect(&ep).unwrap();
    // The probe arrives without the client sending anything.
    assert_eq!(frames(&server.recv().unwrap()), [b"A".to_vec(), Vec::new()]);
    server
        .send(Message::from(vec![
            Bytes::from_static(b"A"),
            Bytes::from_static(b"hi"),
        ]))
        .unwrap();
    assert_eq!(&client.recv().unwrap()[0], b"hi");
}

#[test]
fn req_survives_its_server_restarting() {
    // relaxed + correlate + a receive timeout: after the server dies with
    // a request unanswered, the client times out, sends again, and gets
    // the new server's answer; nothing is stuck.
    let client_ctx = Context::new();
    let req = client_ctx.socket(SocketType::Req).unwrap();
    req.set_req_relaxed(true).unwrap();
    req.set_req_correlate(true).unwrap();
    req.set_recv_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let monitor = req.monitor().unwrap();
    let port = free_port();
    let ep = format!("tcp://127.0.0.1:{port}");
    req.connect(&ep).unwrap();
    for round in 0..3 {
        let server_ctx = Context::new();
        let rep = socket(&server_ctx, SocketType::Rep);
        rep.bind(&ep).unwrap();
        wait_for(&monitor, |e| {
            matches!(e, MonitorEvent::HandshakeSucceeded { .. })
        });
        req.send(format!("q{round}")).unwrap();
        assert_eq!(&rep.recv().unwrap()[0], format!("q{round}").as_bytes());
        rep.send(format!("a{round}")).unwrap();
        assert_eq!(&req.recv().unwrap()[0], format!("a{round}").as_bytes());
        // This request is never answered: the server goes away.
        req.send(format!("lost{round}")).unwrap();
        assert_eq!(&rep.recv().unwrap()[0], format!("lost{round}").as_bytes());
        drop(rep);
        drop(server_ctx);
        assert!(matches!(req.recv(), Err(Error::Timeout)));
        wait_for(&monitor, |e| matches!(e, MonitorEvent::Disconnected { .. }));
    }
}

/// REQ and REP write a message straight into an idle connection from the
/// caller's thread, and queue it when the connection is busy. A relaxed
/// REQ can send many requests in a row: a burst far larger than the
/// kernel's buffers, to a peer that reads only later, mixes both paths,
/// and must still arrive complete and in order.
#[test]
fn direct_and_queued_sends_keep_their_order() {
    let ctx = Context::new();
    let router = socket(&ctx, SocketType::Router);
    router.set_recv_hwm(10).unwrap();
    let mon = router.monitor().unwrap();
    let (router, endpoint) = bind_any(router);
    let req = socket(&ctx, SocketType::Req);
    req.set_req_relaxed(true).unwrap();
    req.set_send_hwm(0).unwrap();
    req.set_linger(Some(Duration::ZERO)).unwrap();
    req.connect(&endpoint).unwrap();
    handshakes(&mon, 1);
    const N: u32 = 2000;
    let filler = vec![7u8; 16 * 1024];
    let reader = std::thread::spawn(move || {
        for i in 0..N {
            if i % 400 == 0 {
                // Fall behind now and then (the sender's queue fills and
                // its sends are queued), then catch up (the connection
                // goes idle and sends go direct again).
                std::thread::sleep(Duration::from_millis(20));
            }
            let m = router.recv().unwrap();
            let got = u32::from_be_bytes(m[2][..4].try_into().unwrap());
            assert_eq!(got, i, "request {got} arrived in place of {i}");
            assert_eq!(m[2].len(), 4 + 16 * 1024);
        }
    });
    for i in 0..N {
        let mut body = i.to_be_bytes().to_vec();
        body.extend_from_slice(&filler);
        req.send(body).unwrap();
    }
    reader.join().unwrap();
}

/// Timeouts and intervals too long to represent as a deadline mean "for
/// ever", never a panic (Duration::MAX was an overflow in Instant + d).
#[test]
fn durations_too_long_to_represent_mean_forever() {
    let ctx = Context::new();
    let (rep, ep) = bound(&ctx, SocketType::Rep);
    let req = ctx.socket(SocketType::Req).unwrap();
    for s in [&rep, &req] {
        s.set_recv_timeout(Some(Duration::MAX)).unwrap();
        s.set_send_timeout(Some(Duration::MAX)).unwrap();
        s.set_linger(Some(Duration::MAX)).unwrap();
    }
    req.set_heartbeat_interval(Some(Duration::MAX)).unwrap();
    req.set_handshake_interval(Some(Duration::MAX)).unwrap();
    req.set_reconnect_interval(Some(Duration::MAX)).unwrap();
    req.connect(&ep).unwrap();
    req.send("q").unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), [b"q".to_vec()]);
    rep.send("a").unwrap();
    assert_eq!(frames(&req.recv().unwrap()), [b"a".to_vec()]);
    // A monitor with an event waiting answers at once, whatever the wait.
    let mon = rep.monitor().unwrap();
    drop(req);
    assert!(matches!(
        mon.recv_timeout(Duration::MAX),
        Ok(MonitorEvent::Disconnected { .. })
    ));
    let publ = ctx.socket(SocketType::Pub).unwrap();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    publ.bind("inproc://forever").unwrap();
    sub.subscribe("").unwrap();
    sub.connect("inproc://forever").unwrap();
    publ.wait_for_subscribers(1, Duration::MAX).unwrap();
    drop(mon);
}
