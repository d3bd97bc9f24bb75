//! REQ, REP, DEALER, ROUTER and PAIR against real libzmq 4.3.5 (see
//! testing/libzmq-peer), in both directions and with either side binding.
//! libzmq sockets get a linger of 0 and 20 s send/receive timeouts, ours
//! the same, so that nothing can hang.

mod common;

use std::time::{Duration, Instant};

use brokerless::{Context, MonitorEvent, SocketType};
use bytes::Bytes;
use common::{
    LONG, TIMEOUT_MS, fr, frames, io_barrier, refs, sock as our, to_message, wait_for, zmq_ctx,
    zsock,
};
use libzmq_peer as zmq;

/// Request and reply bodies that exercise the envelope logic and the
/// frame codec: empty frames (inside a body they are data), short/long
/// boundaries, many frames and a 1 MiB frame.
fn bodies() -> Vec<Vec<Vec<u8>>> {
    let big: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 256) as u8).collect();
    vec![
        fr(&["hello"]),
        fr(&[""]),
        fr(&["a", "", "c"]),
        fr(&["", "starts empty"]),
        vec![vec![1; 255], vec![2; 256]],
        (0..20).map(|i| vec![i as u8; i]).collect(),
        vec![b"head".to_vec(), big],
    ]
}

fn is_generated_id(id: &[u8]) -> bool {
    id.len() == 5 && id[0] == 0
}

// ---------------------------------------------------------------------------
// REQ <-> REP
// ---------------------------------------------------------------------------

#[test]
fn our_req_with_libzmq_rep_either_side_binding() {
    let ctx = Context::new();
    let zctx = zmq_ctx();

    // libzmq REP binds, our REQ connects.
    let zrep = zsock(&zctx, zmq::SocketKind::Rep);
    zrep.bind("tcp://127.0.0.1:*").unwrap();
    let req = our(&ctx, SocketType::Req);
    req.connect(&zrep.last_endpoint().unwrap()).unwrap();
    // Our REQ binds, a libzmq REP connects.
    let req2 = our(&ctx, SocketType::Req);
    req2.bind("tcp://127.0.0.1:*").unwrap();
    let zrep2 = zsock(&zctx, zmq::SocketKind::Rep);
    zrep2.connect(&req2.last_endpoint().unwrap()).unwrap();

    for (req, zrep) in [(&req, &zrep), (&req2, &zrep2)] {
        for (i, body) in bodies().into_iter().enumerate() {
            req.send(to_message(&body)).unwrap();
            assert_eq!(zrep.recv().unwrap(), body, "request {i}");
            let reply = [body.clone(), fr(&["reply"])].concat();
            zrep.send(&refs(&reply)).unwrap();
            assert_eq!(frames(&req.recv().unwrap()), reply, "reply {i}");
        }
    }
}

#[test]
fn libzmq_req_with_our_rep_either_side_binding() {
    let ctx = Context::new();
    let zctx = zmq_ctx();

    // Our REP binds, a libzmq REQ connects.
    let rep = our(&ctx, SocketType::Rep);
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let zreq = zsock(&zctx, zmq::SocketKind::Req);
    zreq.connect(&rep.last_endpoint().unwrap()).unwrap();
    // A libzmq REQ binds, our REP connects.
    let zreq2 = zsock(&zctx, zmq::SocketKind::Req);
    zreq2.bind("tcp://127.0.0.1:*").unwrap();
    let rep2 = our(&ctx, SocketType::Rep);
    rep2.connect(&zreq2.last_endpoint().unwrap()).unwrap();

    for (zreq, rep) in [(&zreq, &rep), (&zreq2, &rep2)] {
        for (i, body) in bodies().into_iter().enumerate() {
            zreq.send(&refs(&body)).unwrap();
            assert_eq!(frames(&rep.recv().unwrap()), body, "request {i}");
            let reply = [fr(&["reply"]), body].concat();
            rep.send(to_message(&reply)).unwrap();
            assert_eq!(zreq.recv().unwrap(), reply, "reply {i}");
        }
    }
}

/// Envelopes made by a DEALER pass through a REP untouched, both ways
/// round: a libzmq DEALER through our REP, our DEALER through libzmq's.
#[test]
fn dealer_envelopes_through_rep_both_ways() {
    let ctx = Context::new();
    let zctx = zmq_ctx();
    let envelopes = [
        fr(&[""]),
        fr(&["X", "Y", ""]),
        vec![vec![0, 1, 2, 3, 4], vec![]],
    ];

    let rep = our(&ctx, SocketType::Rep);
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let zdealer = zsock(&zctx, zmq::SocketKind::Dealer);
    zdealer.connect(&rep.last_endpoint().unwrap()).unwrap();
    for env in &envelopes {
        zdealer
            .send(&refs(&[env.clone(), fr(&["A", "B"])].concat()))
            .unwrap();
        assert_eq!(frames(&rep.recv().unwrap()), fr(&["A", "B"]));
        rep.send(to_message(&fr(&["C"]))).unwrap();
        assert_eq!(zdealer.recv().unwrap(), [env.clone(), fr(&["C"])].concat());
    }

    let zrep = zsock(&zctx, zmq::SocketKind::Rep);
    zrep.bind("tcp://127.0.0.1:*").unwrap();
    let dealer = our(&ctx, SocketType::Dealer);
    dealer.connect(&zrep.last_endpoint().unwrap()).unwrap();
    for env in &envelopes {
        dealer
            .send(to_message(&[env.clone(), fr(&["A", "B"])].concat()))
            .unwrap();
        assert_eq!(zrep.recv().unwrap(), fr(&["A", "B"]));
        zrep.send(&refs(&fr(&["C"]))).unwrap();
        assert_eq!(
            frames(&dealer.recv().unwrap()),
            [env.clone(), fr(&["C"])].concat()
        );
    }
}

// ---------------------------------------------------------------------------
// DEALER <-> ROUTER
// ---------------------------------------------------------------------------

/// A libzmq DEALER's ZMQ_ROUTING_ID is what our ROUTER sees, and routes
/// by; a DEALER without one gets a generated id. Our ROUTER binding, then
/// connecting.
#[test]
fn libzmq_dealer_routing_id_seen_by_our_router() {
    let ctx = Context::new();
    let zctx = zmq_ctx();

    let router = our(&ctx, SocketType::Router);
    router.bind("tcp://127.0.0.1:*").unwrap();
    let ep = router.last_endpoint().unwrap();
    let named = zsock(&zctx, zmq::SocketKind::Dealer);
    named.set_routing_id(b"zdealer").unwrap();
    named.connect(&ep).unwrap();
    let anonymous = zsock(&zctx, zmq::SocketKind::Dealer);
    anonymous.connect(&ep).unwrap();

    named.send(&refs(&fr(&["from named", ""]))).unwrap();
    assert_eq!(
        frames(&router.recv().unwrap()),
        fr(&["zdealer", "from named", ""])
    );
    anonymous.send(&refs(&fr(&["from anonymous"]))).unwrap();
    let m = router.recv().unwrap();
    assert!(is_generated_id(&m[0]), "{m:?}");
    assert_eq!(&m[1], b"from anonymous");
    let anonymous_id = m[0].to_vec();

    router.set_router_mandatory(true).unwrap();
    router
        .send(to_message(&fr(&["zdealer", "to named", "", "x"])))
        .unwrap();
    router
        .send(to_message(&[anonymous_id, b"to anonymous".to_vec()]))
        .unwrap();
    assert!(matches!(
        router.send(to_message(&fr(&["nobody", "x"]))),
        Err(brokerless::Error::HostUnreachable)
    ));
    assert_eq!(named.recv().unwrap(), fr(&["to named", "", "x"]));
    assert_eq!(anonymous.recv().unwrap(), fr(&["to anonymous"]));

    // Our ROUTER connects to a bound libzmq DEALER.
    let zdealer = zsock(&zctx, zmq::SocketKind::Dealer);
    zdealer.set_routing_id(b"bound dealer").unwrap();
    zdealer.bind("tcp://127.0.0.1:*").unwrap();
    let router2 = our(&ctx, SocketType::Router);
    router2.connect(&zdealer.last_endpoint().unwrap()).unwrap();
    zdealer.send(&refs(&fr(&["hi"]))).unwrap();
    assert_eq!(
        frames(&router2.recv().unwrap()),
        fr(&["bound dealer", "hi"])
    );
    router2
        .send(to_message(&fr(&["bound dealer", "hi back"])))
        .unwrap();
    assert_eq!(zdealer.recv().unwrap(), fr(&["hi back"]));
}

/// Our DEALER's `set_routing_id` is what a libzmq ROUTER sees, and routes
/// by; without one, libzmq generates an id. libzmq's ROUTER binding, then
/// connecting.
#[test]
fn our_dealer_routing_id_seen_by_libzmq_router() {
    let ctx = Context::new();
    let zctx = zmq_ctx();

    let zrouter = zsock(&zctx, zmq::SocketKind::Router);
    zrouter.set_int(zmq::ZMQ_ROUTER_MANDATORY, 1).unwrap();
    zrouter.bind("tcp://127.0.0.1:*").unwrap();
    let ep = zrouter.last_endpoint().unwrap();
    let named = our(&ctx, SocketType::Dealer);
    named.set_routing_id("ours").unwrap();
    named.connect(&ep).unwrap();
    let anonymous = our(&ctx, SocketType::Dealer);
    anonymous.connect(&ep).unwrap();

    named.send(to_message(&fr(&["from named", ""]))).unwrap();
    assert_eq!(zrouter.recv().unwrap(), fr(&["ours", "from named", ""]));
    anonymous.send("from anonymous").unwrap();
    let m = zrouter.recv().unwrap();
    assert!(is_generated_id(&m[0]), "{m:?}");
    assert_eq!(m[1], b"from anonymous");

    zrouter
        .send(&refs(&fr(&["ours", "to named", "", "x"])))
        .unwrap();
    zrouter
        .send(&refs(&[m[0].clone(), b"to anonymous".to_vec()]))
        .unwrap();
    assert_eq!(frames(&named.recv().unwrap()), fr(&["to named", "", "x"]));
    assert_eq!(frames(&anonymous.recv().unwrap()), fr(&["to anonymous"]));

    // A libzmq ROUTER connects to our bound DEALER.
    let dealer = our(&ctx, SocketType::Dealer);
    dealer.set_routing_id("bound dealer").unwrap();
    dealer.bind("tcp://127.0.0.1:*").unwrap();
    let zrouter2 = zsock(&zctx, zmq::SocketKind::Router);
    zrouter2.connect(&dealer.last_endpoint().unwrap()).unwrap();
    // Our send waits for the libzmq ROUTER's connection.
    dealer.send("hi").unwrap();
    assert_eq!(zrouter2.recv().unwrap(), fr(&["bound dealer", "hi"]));
    zrouter2
        .send(&refs(&fr(&["bound dealer", "hi back"])))
        .unwrap();
    assert_eq!(frames(&dealer.recv().unwrap()), fr(&["hi back"]));
}

/// Several libzmq REQ clients (named and not) on our ROUTER, answered by
/// a tiny echo loop that sends every request back with its envelope.
#[test]
fn several_libzmq_req_clients_on_our_router() {
    const CLIENTS: usize = 4;
    const REQUESTS: usize = 100;
    let ctx = Context::new();
    let zctx = zmq_ctx();
    let router = our(&ctx, SocketType::Router);
    router.bind("tcp://127.0.0.1:*").unwrap();
    let ep = router.last_endpoint().unwrap();

    let clients: Vec<_> = (0..CLIENTS)
        .map(|k| {
            let (zctx, ep) = (zctx.clone(), ep.clone());
            std::thread::spawn(move || {
                let req = zsock(&zctx, zmq::SocketKind::Req);
                if k % 2 == 0 {
                    req.set_routing_id(format!("client-{k}").as_bytes())
                        .unwrap();
                }
                req.connect(&ep).unwrap();
                for j in 0..REQUESTS {
                    let body = fr(&[&k.to_string(), "", &j.to_string()]);
                    req.send(&refs(&body)).unwrap();
                    assert_eq!(req.recv().unwrap(), body, "client {k}");
                }
            })
        })
        .collect();

    let mut ids = std::collections::HashMap::new();
    for _ in 0..CLIENTS * REQUESTS {
        let m = router.recv().unwrap();
        assert_eq!(m.len(), 5, "{m:?}");
        assert!(m[1].is_empty(), "REQ delimiter: {m:?}");
        ids.insert(String::from_utf8(m[2].to_vec()).unwrap(), m[0].to_vec());
        router.send(m).unwrap();
    }
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(ids.len(), CLIENTS);
    for (k, id) in ids {
        let k: usize = k.parse().unwrap();
        if k % 2 == 0 {
            assert_eq!(id, format!("client-{k}").into_bytes());
        } else {
            assert!(is_generated_id(&id), "{id:?}");
        }
    }
}

/// Our REQ clients on a libzmq ROUTER broker that echoes each request
/// back with its envelope.
#[test]
fn our_req_clients_on_libzmq_router_broker() {
    const CLIENTS: usize = 4;
    const REQUESTS: usize = 100;
    let ctx = Context::new();
    let zctx = zmq_ctx();
    let broker = zsock(&zctx, zmq::SocketKind::Router);
    broker.bind("tcp://127.0.0.1:*").unwrap();
    let ep = broker.last_endpoint().unwrap();

    let echo = std::thread::spawn(move || {
        let mut ids = std::collections::HashMap::new();
        for _ in 0..CLIENTS * REQUESTS {
            let m = broker.recv().unwrap();
            assert_eq!(m.len(), 4, "{m:?}");
            assert!(m[1].is_empty(), "REQ delimiter: {m:?}");
            ids.insert(String::from_utf8(m[2].clone()).unwrap(), m[0].clone());
            broker.send(&refs(&m)).unwrap();
        }
        ids
    });
    std::thread::scope(|s| {
        for k in 0..CLIENTS {
            let (ctx, ep) = (&ctx, &ep);
            s.spawn(move || {
                let req = our(ctx, SocketType::Req);
                if k % 2 == 0 {
                    req.set_routing_id(format!("ours-{k}")).unwrap();
                }
                req.connect(ep).unwrap();
                for j in 0..REQUESTS {
                    let body = fr(&[&k.to_string(), &j.to_string()]);
                    req.send(to_message(&body)).unwrap();
                    assert_eq!(frames(&req.recv().unwrap()), body, "client {k}");
                }
            });
        }
    });
    let ids = echo.join().unwrap();
    assert_eq!(ids.len(), CLIENTS);
    for (k, id) in ids {
        let k: usize = k.parse().unwrap();
        if k % 2 == 0 {
            assert_eq!(id, format!("ours-{k}").into_bytes());
        } else {
            assert!(is_generated_id(&id), "{id:?}");
        }
    }
}

/// What a peer sent before leaving is still delivered by a libzmq ROUTER
/// (the reference behaviour): our DEALER sends and closes; once its
/// context is dropped (which returns when everything was written and the
/// connection closed), libzmq still hands over every message.
#[test]
fn libzmq_router_keeps_messages_of_departed_peer() {
    let zctx = zmq_ctx();
    let zrouter = zsock(&zctx, zmq::SocketKind::Router);
    zrouter.bind("tcp://127.0.0.1:*").unwrap();
    {
        let ctx = Context::new();
        let dealer = our(&ctx, SocketType::Dealer);
        dealer.set_routing_id("X").unwrap();
        dealer.set_linger(LONG).unwrap();
        dealer.connect(&zrouter.last_endpoint().unwrap()).unwrap();
        dealer.send("hello").unwrap();
        assert_eq!(zrouter.recv().unwrap(), fr(&["X", "hello"]));
        for i in 0..3 {
            dealer.send(format!("last words {i}")).unwrap();
        }
    }
    for i in 0..3 {
        assert_eq!(
            zrouter.recv().unwrap(),
            fr(&["X", &format!("last words {i}")])
        );
    }
}

/// The same with the roles swapped: a libzmq DEALER sends, closes (its
/// linger flushes the messages), and our ROUTER must still deliver them
/// once it saw the connection end.
#[test]
fn our_router_keeps_messages_of_departed_libzmq_peer() {
    let ctx = Context::new();
    let zctx = zmq_ctx();
    let router = our(&ctx, SocketType::Router);
    router.bind("tcp://127.0.0.1:*").unwrap();
    let ep = router.last_endpoint().unwrap();
    let monitor = router.monitor().unwrap();
    let zdealer = zsock(&zctx, zmq::SocketKind::Dealer);
    zdealer.set_routing_id(b"X").unwrap();
    zdealer.set_linger(TIMEOUT_MS).unwrap();
    zdealer.connect(&ep).unwrap();
    zdealer.send(&refs(&fr(&["hello"]))).unwrap();
    assert_eq!(frames(&router.recv().unwrap()), fr(&["X", "hello"]));
    for i in 0..3 {
        zdealer
            .send(&[format!("last words {i}").as_bytes()])
            .unwrap();
    }
    drop(zdealer);
    wait_for(&monitor, |e| matches!(e, MonitorEvent::Disconnected { .. }));
    io_barrier(&monitor, &ep);
    for i in 0..3 {
        assert_eq!(
            frames(&router.recv().unwrap()),
            fr(&["X", &format!("last words {i}")])
        );
    }
}

// ---------------------------------------------------------------------------
// PAIR <-> PAIR
// ---------------------------------------------------------------------------

#[test]
fn pair_with_libzmq_either_side_binding() {
    let ctx = Context::new();
    let zctx = zmq_ctx();

    let ours = our(&ctx, SocketType::Pair);
    ours.bind("tcp://127.0.0.1:*").unwrap();
    let theirs = zsock(&zctx, zmq::SocketKind::Pair);
    theirs.connect(&ours.last_endpoint().unwrap()).unwrap();

    let theirs2 = zsock(&zctx, zmq::SocketKind::Pair);
    theirs2.bind("tcp://127.0.0.1:*").unwrap();
    let ours2 = our(&ctx, SocketType::Pair);
    ours2.connect(&theirs2.last_endpoint().unwrap()).unwrap();

    for (ours, theirs) in [(&ours, &theirs), (&ours2, &theirs2)] {
        for body in bodies() {
            // Our PAIR sends first: when it is the bound side, the send
            // waits for libzmq's connection.
            ours.send(to_message(&body)).unwrap();
            assert_eq!(theirs.recv().unwrap(), body);
            theirs.send(&refs(&body)).unwrap();
            assert_eq!(frames(&ours.recv().unwrap()), body);
        }
        for i in 0..1000u32 {
            theirs.send(&[&i.to_be_bytes()]).unwrap();
            ours.send(Bytes::from(i.to_be_bytes().to_vec())).unwrap();
        }
        for i in 0..1000u32 {
            assert_eq!(&ours.recv().unwrap()[0], &i.to_be_bytes());
            assert_eq!(theirs.recv().unwrap(), vec![i.to_be_bytes().to_vec()]);
        }
    }
}

/// Our REQ clients and our DEALER workers on a libzmq load-balancing
/// broker (two libzmq ROUTERs): a worker announces itself with "READY",
/// the broker hands each request to a ready worker with the client's
/// envelope, and routes the worker's reply back to the client.
#[test]
fn our_req_clients_and_dealer_workers_on_a_libzmq_broker() {
    const CLIENTS: usize = 3;
    const WORKERS: usize = 2;
    const REQUESTS: usize = 50;
    let zctx = zmq_ctx();
    let frontend = zsock(&zctx, zmq::SocketKind::Router);
    frontend.bind("tcp://127.0.0.1:*").unwrap();
    let backend = zsock(&zctx, zmq::SocketKind::Router);
    backend.bind("tcp://127.0.0.1:*").unwrap();
    let (front_ep, back_ep) = (
        frontend.last_endpoint().unwrap(),
        backend.last_endpoint().unwrap(),
    );

    // The broker: one thread owns both libzmq sockets.
    let broker = std::thread::spawn(move || {
        let mut ready: std::collections::VecDeque<Vec<u8>> = Default::default();
        let mut served: std::collections::HashMap<Vec<u8>, usize> = Default::default();
        let mut replies = 0;
        // Every worker is ready before the first request is handed out, so
        // the FIFO of ready workers gives each of them work.
        while ready.len() < WORKERS {
            let mut m = backend.recv().unwrap();
            let worker = m.remove(0);
            assert_eq!(m, fr(&["READY"]));
            ready.push_back(worker);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while replies < CLIENTS * REQUESTS {
            assert!(Instant::now() < deadline, "broker stalled");
            if backend.poll(zmq::ZMQ_POLLIN, 10).unwrap() != 0 {
                let mut m = backend.recv().unwrap();
                let worker = m.remove(0);
                assert_eq!(m.len(), 3, "[client, \"\", reply]: {m:?}");
                assert!(m[1].is_empty());
                *served.entry(worker.clone()).or_default() += 1;
                ready.push_back(worker);
                frontend.send(&refs(&m)).unwrap();
                replies += 1;
            }
            if !ready.is_empty() && frontend.poll(zmq::ZMQ_POLLIN, 0).unwrap() != 0 {
                let mut m = frontend.recv().unwrap();
                assert_eq!(m.len(), 3, "[client, \"\", request]: {m:?}");
                m.insert(0, ready.pop_front().unwrap());
                backend.send(&refs(&m)).unwrap();
            }
        }
        served
    });

    let ctx = Context::new();
    let workers: Vec<brokerless::Socket> = (0..WORKERS)
        .map(|w| {
            let dealer = our(&ctx, SocketType::Dealer);
            dealer.set_routing_id(format!("worker-{w}")).unwrap();
            dealer.connect(&back_ep).unwrap();
            dealer.send("READY").unwrap();
            dealer
        })
        .collect();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Each worker's thread owns its DEALER.
    let worker_threads: Vec<_> = workers
        .into_iter()
        .enumerate()
        .map(|(w, dealer)| {
            let done = done.clone();
            std::thread::spawn(move || {
                dealer
                    .set_recv_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    let Ok(m) = dealer.recv() else { continue };
                    let mut reply = frames(&m);
                    assert_eq!(reply.len(), 3, "{reply:?}");
                    let body = String::from_utf8(reply[2].clone()).unwrap();
                    reply[2] = format!("{body} by worker-{w}").into_bytes();
                    dealer.send(to_message(&reply)).unwrap();
                }
            })
        })
        .collect();

    std::thread::scope(|s| {
        for c in 0..CLIENTS {
            let (ctx, front_ep) = (&ctx, &front_ep);
            s.spawn(move || {
                let req = our(ctx, SocketType::Req);
                req.connect(front_ep).unwrap();
                for r in 0..REQUESTS {
                    req.send(format!("c{c} r{r}")).unwrap();
                    let reply = frames(&req.recv().unwrap());
                    assert_eq!(reply.len(), 1);
                    let text = String::from_utf8(reply[0].clone()).unwrap();
                    assert!(text.starts_with(&format!("c{c} r{r} by worker-")), "{text}");
                }
            });
        }
    });
    let served = broker.join().unwrap();
    done.store(true, std::sync::atomic::Ordering::Release);
    for t in worker_threads {
        t.join().unwrap();
    }
    assert_eq!(served.values().sum::<usize>(), CLIENTS * REQUESTS);
    assert_eq!(served.len(), WORKERS, "every worker took part: {served:?}");
}
