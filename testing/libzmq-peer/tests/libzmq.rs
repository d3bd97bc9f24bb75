//! libzmq against itself through the wrapper, over loopback TCP with
//! wildcard ports: checks the build (version, drafts) and the wrapper
//! (multipart, large frames, timeouts, lifetimes) before brokerless' interop
//! tests rely on them.

use std::thread;
use std::time::{Duration, Instant};

use libzmq_peer::{Context, Socket, SocketKind, ZMQ_POLLIN, ZmqError, has, version};

/// Receive timeout for every blocking receive in these tests, so that a bug
/// fails a test instead of hanging it.
const TIMEOUT_MS: i32 = 5_000;

/// A socket with linger 0 (drops never block) and a bounded receive timeout.
fn socket(ctx: &Context, kind: SocketKind) -> Socket {
    let s = ctx.socket(kind).expect("zmq_socket");
    s.set_linger(0).expect("linger");
    s.set_rcvtimeo(TIMEOUT_MS).expect("rcvtimeo");
    s.set_sndtimeo(TIMEOUT_MS).expect("sndtimeo");
    s
}

/// Binds `s` to a wildcard loopback port and returns the resolved endpoint.
fn bind_loopback(s: &Socket) -> String {
    s.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = s.last_endpoint().expect("last endpoint");
    assert!(endpoint.starts_with("tcp://127.0.0.1:"), "{endpoint}");
    assert!(
        !endpoint.ends_with(":*") && !endpoint.ends_with(":0"),
        "{endpoint}"
    );
    endpoint
}

/// A bound PULL and a PUSH connected to it.
fn push_pull(ctx: &Context) -> (Socket, Socket) {
    let pull = socket(ctx, SocketKind::Pull);
    let endpoint = bind_loopback(&pull);
    let push = socket(ctx, SocketKind::Push);
    push.connect(&endpoint).expect("connect");
    (push, pull)
}

/// `len` bytes of a pattern that catches truncation, reordering and
/// offsets (not a repeating byte).
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn version_is_4_3_5() {
    assert_eq!(version(), (4, 3, 5));
}

#[test]
fn capabilities() {
    assert!(has("draft"), "built with enable_draft(true)");
    assert!(has("ipc"));
    assert!(!has("no-such-capability"));
    assert!(!has("draft\0"), "a NUL byte is rejected, not truncated");
}

#[test]
fn push_pull_single_frame() {
    let ctx = Context::new().unwrap();
    let (push, pull) = push_pull(&ctx);
    push.send(&[b"hello"]).unwrap();
    assert_eq!(pull.recv().unwrap(), vec![b"hello".to_vec()]);
    // One empty frame is a valid message.
    push.send(&[b""]).unwrap();
    assert_eq!(pull.recv().unwrap(), vec![Vec::<u8>::new()]);
}

#[test]
fn push_pull_multipart_with_empty_and_large_frames() {
    let ctx = Context::new().unwrap();
    let (push, pull) = push_pull(&ctx);

    let one_mib = pattern(1 << 20, 1);
    let four_mib_plus = pattern((4 << 20) + 7, 2);
    let small = pattern(255, 3);
    let messages: Vec<Vec<&[u8]>> = vec![
        vec![b"first", b"", b"last"],
        vec![b"", b"", b""],
        vec![&one_mib],
        vec![b"head", &one_mib, b"", &small, &four_mib_plus],
        vec![&small],
    ];
    for message in &messages {
        push.send(message).unwrap();
    }
    // Messages arrive whole and in order, every frame intact.
    for message in &messages {
        let got = pull.recv().unwrap();
        assert_eq!(got.len(), message.len());
        for (got, want) in got.iter().zip(message) {
            assert_eq!(got.len(), want.len());
            assert!(got == want, "frame of {} bytes differs", want.len());
        }
    }
    assert_eq!(pull.try_recv().unwrap(), None);
}

#[test]
fn recv_timeout_is_eagain() {
    let ctx = Context::new().unwrap();
    let pull = socket(&ctx, SocketKind::Pull);
    bind_loopback(&pull);
    pull.set_rcvtimeo(100).unwrap();
    let start = Instant::now();
    let err = pull.recv().unwrap_err();
    let elapsed = start.elapsed();
    assert!(err.is_again(), "{err}");
    #[cfg(target_os = "linux")]
    assert_eq!(err.errno, 11, "EAGAIN on Linux");
    assert!(!err.message.is_empty());
    assert!(elapsed >= Duration::from_millis(80), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(TIMEOUT_MS as u64),
        "{elapsed:?}"
    );
}

#[test]
fn try_recv_and_try_send_do_not_block() {
    let ctx = Context::new().unwrap();
    let pull = socket(&ctx, SocketKind::Pull);
    bind_loopback(&pull);
    assert_eq!(pull.try_recv().unwrap(), None);

    // A PUSH with no peer cannot queue anything.
    let push = socket(&ctx, SocketKind::Push);
    assert!(!push.try_send(&[b"nowhere", b"at all"]).unwrap());

    let (push, pull) = push_pull(&ctx);
    push.send(&[b"a", b"b"]).unwrap();
    assert_eq!(
        pull.poll(ZMQ_POLLIN, i64::from(TIMEOUT_MS)).unwrap(),
        ZMQ_POLLIN
    );
    assert_eq!(
        pull.try_recv().unwrap(),
        Some(vec![b"a".to_vec(), b"b".to_vec()])
    );
    assert_eq!(pull.poll(ZMQ_POLLIN, 0).unwrap(), 0);
}

#[test]
fn req_rep_and_fsm_error() {
    let ctx = Context::new().unwrap();
    let rep = socket(&ctx, SocketKind::Rep);
    let endpoint = bind_loopback(&rep);
    let req = socket(&ctx, SocketKind::Req);
    req.connect(&endpoint).unwrap();

    req.send(&[b"ping", b"2"]).unwrap();
    // REQ may not send twice without a reply: EFSM, an error not a panic.
    let err = req.send(&[b"again"]).unwrap_err();
    assert_eq!(err.errno, libzmq_peer::EFSM, "{err}");
    assert_eq!(rep.recv().unwrap(), vec![b"ping".to_vec(), b"2".to_vec()]);
    rep.send(&[b"pong"]).unwrap();
    assert_eq!(req.recv().unwrap(), vec![b"pong".to_vec()]);
}

#[test]
fn router_dealer_routing_id() {
    let ctx = Context::new().unwrap();
    let router = socket(&ctx, SocketKind::Router);
    let endpoint = bind_loopback(&router);
    let dealer = socket(&ctx, SocketKind::Dealer);
    dealer.set_routing_id(b"dealer-1").unwrap();
    dealer.connect(&endpoint).unwrap();

    dealer.send(&[b"", b"request"]).unwrap();
    let got = router.recv().unwrap();
    assert_eq!(
        got,
        vec![b"dealer-1".to_vec(), Vec::new(), b"request".to_vec()]
    );
    router.send(&[b"dealer-1", b"", b"reply"]).unwrap();
    assert_eq!(dealer.recv().unwrap(), vec![Vec::new(), b"reply".to_vec()]);
}

#[test]
fn pub_sub_prefix_filter() {
    let ctx = Context::new().unwrap();
    let publisher = socket(&ctx, SocketKind::Pub);
    let endpoint = bind_loopback(&publisher);
    let subscriber = socket(&ctx, SocketKind::Sub);
    subscriber.subscribe(b"weather.").unwrap();
    subscriber.connect(&endpoint).unwrap();

    // The subscription reaches the publisher asynchronously: publish until
    // the first matching message arrives (bounded), then check filtering.
    let deadline = Instant::now() + Duration::from_millis(TIMEOUT_MS as u64);
    loop {
        publisher.send(&[b"weather.probe"]).unwrap();
        if subscriber.poll(ZMQ_POLLIN, 20).unwrap() != 0 {
            break;
        }
        assert!(Instant::now() < deadline, "subscription never arrived");
    }

    publisher.send(&[b"sports.score", b"1-0"]).unwrap();
    publisher.send(&[b"weather.rain", b"10mm"]).unwrap();
    // Probes still in flight come first: skip them.
    let got = loop {
        let got = subscriber.recv().unwrap();
        if got != [b"weather.probe".to_vec()] {
            break got;
        }
    };
    assert_eq!(got, vec![b"weather.rain".to_vec(), b"10mm".to_vec()]);
    subscriber.set_rcvtimeo(100).unwrap();
    assert!(subscriber.recv().unwrap_err().is_again());
}

#[test]
fn radio_dish_groups() {
    let ctx = Context::new().unwrap();
    let dish = socket(&ctx, SocketKind::Dish);
    let endpoint = bind_loopback(&dish);
    dish.join("movies").unwrap();
    let radio = socket(&ctx, SocketKind::Radio);
    radio.connect(&endpoint).unwrap();

    // Joins travel to the RADIO asynchronously, as subscriptions do.
    let deadline = Instant::now() + Duration::from_millis(TIMEOUT_MS as u64);
    loop {
        radio.send_group("movies", b"probe").unwrap();
        if dish.poll(ZMQ_POLLIN, 20).unwrap() != 0 {
            break;
        }
        assert!(Instant::now() < deadline, "join never arrived");
    }

    radio.send_group("tv", b"not joined").unwrap();
    radio.send_group("movies", b"star wars").unwrap();
    // Probes still in flight come first: skip them.
    let got = loop {
        let got = dish.recv_group().unwrap();
        if got.1 != b"probe" {
            break got;
        }
    };
    assert_eq!(got, ("movies".to_string(), b"star wars".to_vec()));
    dish.set_rcvtimeo(100).unwrap();
    assert!(dish.recv_group().unwrap_err().is_again());
}

#[test]
fn argument_errors_are_results() {
    let ctx = Context::new().unwrap();
    let s = socket(&ctx, SocketKind::Pair);
    let err: ZmqError = s.bind("tcp://127.0.0.1:\0").unwrap_err();
    assert_eq!(err.errno, 22);
    assert!(s.connect("no-such-transport://x").is_err());
    assert!(s.bind("tcp://127.0.0.1:not-a-port").is_err());
    assert!(s.send(&[]).is_err());
    assert!(
        s.set_routing_id(b"").is_err(),
        "libzmq rejects empty routing ids"
    );
    assert!(s.set_int(-1, 0).is_err());
    let shown = err.to_string();
    assert!(shown.contains("22"), "{shown}");
}

#[test]
fn unbind_and_disconnect() {
    let ctx = Context::new().unwrap();
    let (push, pull) = push_pull(&ctx);
    let endpoint = pull.last_endpoint().unwrap();
    push.send(&[b"before"]).unwrap();
    assert_eq!(pull.recv().unwrap(), vec![b"before".to_vec()]);
    push.disconnect(&endpoint).unwrap();
    pull.unbind(&endpoint).unwrap();
    assert!(pull.unbind(&endpoint).is_err(), "already unbound");
}

#[test]
fn sockets_keep_the_context_alive_and_move_between_threads() {
    let ctx = Context::new().unwrap();
    let (push, pull) = push_pull(&ctx);
    // Dropping the handle does not terminate the context (that would block
    // in zmq_ctx_term): the sockets keep it alive and stay usable.
    drop(ctx);

    let sender = thread::spawn(move || {
        for i in 0..100u32 {
            push.send(&[b"n", &i.to_le_bytes()]).unwrap();
        }
        push
    });
    for i in 0..100u32 {
        assert_eq!(
            pull.recv().unwrap(),
            vec![b"n".to_vec(), i.to_le_bytes().to_vec()]
        );
    }
    let push = sender.join().unwrap();
    // The last drop terminates the context; linger 0 keeps it prompt.
    drop(push);
    drop(pull);
}

#[test]
fn high_water_mark_and_options_read_back() {
    let ctx = Context::new().unwrap();
    let s = ctx.socket(SocketKind::Dealer).unwrap();
    // libzmq defaults are kept: linger -1, HWMs 1000.
    assert_eq!(s.get_int(libzmq_peer::ZMQ_LINGER).unwrap(), -1);
    assert_eq!(s.get_int(libzmq_peer::ZMQ_SNDHWM).unwrap(), 1000);
    s.set_linger(0).unwrap();
    s.set_sndhwm(7).unwrap();
    s.set_rcvhwm(9).unwrap();
    s.set_routing_id(b"abc").unwrap();
    assert_eq!(s.get_int(libzmq_peer::ZMQ_LINGER).unwrap(), 0);
    assert_eq!(s.get_int(libzmq_peer::ZMQ_SNDHWM).unwrap(), 7);
    assert_eq!(s.get_int(libzmq_peer::ZMQ_RCVHWM).unwrap(), 9);
    assert_eq!(
        s.get_bytes(libzmq_peer::ZMQ_ROUTING_ID, 255).unwrap(),
        b"abc".to_vec()
    );
    assert_eq!(s.kind(), SocketKind::Dealer);
}
