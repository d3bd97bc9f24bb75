//! PUSH/PULL over real TCP sockets on loopback (RFC 30 and libzmq's
//! test_spec_pushpull, test_hwm, test_timeo, test_last_endpoint).

mod common;

use std::time::{Duration, Instant};

use brokerless::{Context, Error, Message, MonitorEvent, Socket, SocketType};
use bytes::Bytes;
use common::{LONG, free_port, text, wait_for};

fn pull_bound(ctx: &Context, endpoint: &str) -> (Socket, String) {
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_recv_timeout(LONG).unwrap();
    pull.bind(endpoint).unwrap();
    let ep = pull.last_endpoint().unwrap();
    (pull, ep)
}

fn push_to(ctx: &Context, endpoint: &str) -> Socket {
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_send_timeout(LONG).unwrap();
    push.connect(endpoint).unwrap();
    push
}

#[test]
fn single_message_both_ways_of_binding() {
    let ctx = Context::new();
    let (pull, ep) = pull_bound(&ctx, "tcp://127.0.0.1:*");
    assert!(ep.starts_with("tcp://127.0.0.1:") && !ep.ends_with(":0"));
    let push = push_to(&ctx, &ep);
    push.send("hello").unwrap();
    assert_eq!(&pull.recv().unwrap()[0], b"hello");

    // And the other way round: PUSH binds, PULL connects.
    let push2 = ctx.socket(SocketType::Push).unwrap();
    push2.set_send_timeout(LONG).unwrap();
    push2.bind("tcp://127.0.0.1:0").unwrap();
    let pull2 = ctx.socket(SocketType::Pull).unwrap();
    pull2.set_recv_timeout(LONG).unwrap();
    pull2.connect(&push2.last_endpoint().unwrap()).unwrap();
    push2.send("back").unwrap();
    assert_eq!(&pull2.recv().unwrap()[0], b"back");
}

#[test]
fn multipart_with_empty_and_large_frames() {
    let ctx = Context::new();
    let (pull, ep) = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let push = push_to(&ctx, &ep);
    let big = Bytes::from((0..1 << 20).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let msgs: Vec<Message> = vec![
        Message::from(""),
        Message::from(vec![Bytes::new(), Bytes::from_static(b"x"), Bytes::new()]),
        Message::from(vec![Bytes::from_static(b"head"), big.clone()]),
        Message::from(vec![
            Bytes::from(vec![7u8; 256]),
            Bytes::from(vec![8u8; 255]),
        ]),
        big.clone().into(),
    ];
    for m in &msgs {
        push.send(m.clone()).unwrap();
    }
    for m in &msgs {
        assert_eq!(&pull.recv().unwrap(), m);
    }
}

#[test]
fn wildcard_bind_reports_all_interfaces_and_accepts_loopback() {
    let ctx = Context::new();
    let (pull, ep) = pull_bound(&ctx, "tcp://*:*");
    assert!(ep.starts_with("tcp://0.0.0.0:"), "{ep}");
    let port = ep.rsplit(':').next().unwrap();
    let push = push_to(&ctx, &format!("tcp://localhost:{port}"));
    push.send("via name").unwrap();
    assert_eq!(&pull.recv().unwrap()[0], b"via name");
}

#[test]
fn ipv6_loopback() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this machine; skipping");
        return;
    }
    let ctx = Context::new();
    let (pull, ep) = pull_bound(&ctx, "tcp://[::1]:*");
    assert!(ep.starts_with("tcp://[::1]:"), "{ep}");
    let push = push_to(&ctx, &ep);
    push.send("six").unwrap();
    assert_eq!(&pull.recv().unwrap()[0], b"six");
}

#[test]
fn bad_endpoints_are_refused_clearly() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Push).unwrap();
    assert!(matches!(
        s.bind("tcp://127.0.0.1"),
        Err(Error::InvalidEndpoint(_))
    ));
    assert!(matches!(
        s.connect("tcp://*:5"),
        Err(Error::InvalidEndpoint(_))
    ));
    assert!(matches!(s.bind("nope://x"), Err(Error::InvalidEndpoint(_))));
    assert!(matches!(
        s.bind("inproc://"),
        Err(Error::InvalidEndpoint(_))
    ));
    let (_pull, ep) = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let other = ctx.socket(SocketType::Pull).unwrap();
    assert!(matches!(other.bind(&ep), Err(Error::Io(_))));
    // Every socket type of the roadmap is built now.
    for t in SocketType::ALL {
        ctx.socket(t).unwrap();
    }
}

#[test]
fn round_robin_across_three_pulls() {
    let ctx = Context::new();
    let pulls: Vec<(Socket, String)> = (0..3)
        .map(|_| pull_bound(&ctx, "tcp://127.0.0.1:*"))
        .collect();
    let push = ctx.socket(SocketType::Push).unwrap();
    for (_, ep) in &pulls {
        push.connect(ep).unwrap();
    }
    for i in 0..300 {
        push.send(i.to_string()).unwrap();
    }
    for (k, (pull, _)) in pulls.iter().enumerate() {
        for j in 0..100 {
            assert_eq!(text(&pull.recv().unwrap()[0]), (j * 3 + k).to_string());
        }
        assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
    }
}

#[test]
fn fair_queue_from_three_pushes() {
    let ctx = Context::new();
    let (pull, ep) = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let pushes: Vec<Socket> = (0..3).map(|_| push_to(&ctx, &ep)).collect();
    for (k, push) in pushes.iter().enumerate() {
        for j in 0..100 {
            push.send(format!("{k}:{j}")).unwrap();
        }
    }
    let mut next = [0usize; 3];
    for _ in 0..300 {
        let m = text(&pull.recv().unwrap()[0]);
        let (k, j) = m.split_once(':').unwrap();
        let k: usize = k.parse().unwrap();
        assert_eq!(
            j.parse::<usize>().unwrap(),
            next[k],
            "order from pusher {k}"
        );
        next[k] += 1;
    }
    assert_eq!(next, [100, 100, 100]);
}

#[test]
fn hwm_blocks_with_exact_counts() {
    let ctx = Context::new();
    let port = free_port();
    // Nobody listens: the queue created by connect holds exactly the HWM.
    for hwm in [1usize, 5, 1000] {
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_linger(Some(Duration::ZERO)).unwrap();
        push.set_send_hwm(hwm).unwrap();
        push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
        for i in 0..hwm {
            push.try_send(i.to_string()).unwrap();
        }
        assert!(matches!(push.try_send("over"), Err(Error::WouldBlock)));
    }
    // A bound PUSH with no peer has nowhere to queue at all.
    let push = ctx.socket(SocketType::Push).unwrap();
    push.bind("tcp://127.0.0.1:*").unwrap();
    assert!(matches!(push.try_send("x"), Err(Error::WouldBlock)));
}

#[test]
fn blocked_send_resumes_when_the_reader_drains() {
    let ctx = Context::new();
    let port = free_port();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_send_hwm(10).unwrap();
    push.set_send_timeout(LONG).unwrap();
    push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let sender = std::thread::spawn(move || {
        for i in 0..500 {
            push.send(i.to_string()).unwrap();
        }
        push
    });
    let (pull, _) = pull_bound(&ctx, &format!("tcp://127.0.0.1:{port}"));
    for i in 0..500 {
        assert_eq!(text(&pull.recv().unwrap()[0]), i.to_string());
    }
    drop(sender.join().unwrap());
}

#[test]
fn send_and_recv_timeouts() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.bind("tcp://127.0.0.1:*").unwrap();
    push.set_send_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let t = Instant::now();
    assert!(matches!(push.send("x"), Err(Error::Timeout)));
    assert!(t.elapsed() >= Duration::from_millis(100));

    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_recv_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let t = Instant::now();
    assert!(matches!(pull.recv(), Err(Error::Timeout)));
    assert!(t.elapsed() >= Duration::from_millis(100));
    assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn wrong_direction_and_empty_messages_are_errors() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    assert!(matches!(push.recv(), Err(Error::NotSupported(_))));
    assert!(matches!(pull.send("x"), Err(Error::NotSupported(_))));
    assert!(matches!(
        push.send(Message::new()),
        Err(Error::EmptyMessage)
    ));
}

#[test]
fn connect_before_bind() {
    let ctx = Context::new();
    let port = free_port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let push = push_to(&ctx, &ep);
    for i in 0..10 {
        push.send(i.to_string()).unwrap();
    }
    let (pull, _) = pull_bound(&ctx, &ep);
    for i in 0..10 {
        assert_eq!(text(&pull.recv().unwrap()[0]), i.to_string());
    }
}

#[test]
fn pull_restart_keeps_the_push_queue() {
    let push_ctx = Context::new();
    let port = free_port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let push = push_to(&push_ctx, &ep);
    let monitor = push.monitor().unwrap();
    {
        let ctx = Context::new();
        let (pull, _) = pull_bound(&ctx, &ep);
        push.send("before").unwrap();
        assert_eq!(&pull.recv().unwrap()[0], b"before");
    }
    // Only once the PUSH has seen the loss is nothing in flight: a message
    // written into a connection that is dying may die with it.
    wait_for(&monitor, |e| matches!(e, MonitorEvent::Disconnected { .. }));
    for i in 0..50 {
        push.send(i.to_string()).unwrap();
    }
    let ctx = Context::new();
    let (pull, _) = pull_bound(&ctx, &ep);
    for i in 0..50 {
        assert_eq!(text(&pull.recv().unwrap()[0]), i.to_string());
    }
}

#[test]
fn context_drop_flushes_pending_output() {
    let pull_ctx = Context::new();
    let (pull, ep) = pull_bound(&pull_ctx, "tcp://127.0.0.1:*");
    {
        let ctx = Context::new();
        let push = push_to(&ctx, &ep);
        for i in 0..1000 {
            push.send(i.to_string()).unwrap();
        }
        // Default linger is infinite: dropping the socket and then the
        // context returns only once everything was written.
    }
    for i in 0..1000 {
        assert_eq!(text(&pull.recv().unwrap()[0]), i.to_string());
    }
}

#[test]
fn zero_linger_drops_pending_output_at_once() {
    let port = free_port();
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_linger(Some(Duration::ZERO)).unwrap();
    push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    push.send("never delivered").unwrap();
    let t = Instant::now();
    drop(push);
    drop(ctx);
    assert!(t.elapsed() < Duration::from_secs(10));
}

#[test]
fn finite_linger_gives_up() {
    let port = free_port();
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_linger(Some(Duration::from_millis(200))).unwrap();
    push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    push.send("never delivered").unwrap();
    let t = Instant::now();
    drop(push);
    drop(ctx);
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
}

#[test]
fn shutdown_wakes_blocked_calls_with_terminated() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.bind("tcp://127.0.0.1:*").unwrap();
    let receiver = std::thread::spawn(move || pull.recv().map(|_| ()));
    let sender = std::thread::spawn(move || push.send("x"));
    // The threads may or may not be asleep yet: either way they must end.
    ctx.shutdown();
    assert!(matches!(receiver.join().unwrap(), Err(Error::Terminated)));
    assert!(matches!(sender.join().unwrap(), Err(Error::Terminated)));
    assert!(matches!(
        ctx.socket(SocketType::Pull),
        Err(Error::Terminated)
    ));
}

#[test]
fn many_messages_in_both_directions_of_binding() {
    let ctx = Context::builder().io_threads(2).build().unwrap();
    assert_eq!(ctx.io_threads(), 2);
    let (pull, ep) = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let push = push_to(&ctx, &ep);
    const N: usize = 200_000;
    let sender = std::thread::spawn(move || {
        for i in 0..N {
            push.send(Bytes::from((i as u32).to_be_bytes().to_vec()))
                .unwrap();
        }
        push
    });
    for i in 0..N {
        let m = pull.recv().unwrap();
        assert_eq!(&m[0], &(i as u32).to_be_bytes());
    }
    drop(sender.join().unwrap());
}

#[test]
fn a_full_pull_pushes_back_and_drops_nothing() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_recv_hwm(10).unwrap();
    pull.set_recv_timeout(LONG).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_send_hwm(10).unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    // Nobody reads: the PULL's queue fills, it stops reading, the kernel
    // buffers fill, and the PUSH's own queue fills. Then send times out.
    push.set_send_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let payload = Bytes::from(vec![0u8; 16 * 1024]);
    let mut sent = 0usize;
    loop {
        let mut m = Message::from(sent.to_string());
        m.push(payload.clone());
        match push.send(m) {
            Ok(()) => sent += 1,
            Err(Error::Timeout) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(sent < 1_000_000, "no back-pressure");
    }
    assert!(sent >= 20, "both queues hold their HWM: {sent}");
    for i in 0..sent {
        assert_eq!(text(&pull.recv().unwrap()[0]), i.to_string());
    }
    assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn monitor_reports_the_life_of_connections_in_order() {
    let ctx = Context::new();
    let port = free_port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let push = ctx.socket(SocketType::Push).unwrap();
    let pm = push.monitor().unwrap();
    push.connect(&ep).unwrap();
    // Nothing listens yet: the connect starts, fails and is retried.
    assert_eq!(
        wait_for(&pm, |_| true),
        MonitorEvent::ConnectDelayed {
            endpoint: ep.clone()
        }
    );
    assert!(matches!(
        wait_for(&pm, |_| true),
        MonitorEvent::ConnectRetried { endpoint, interval } if endpoint == ep && interval == Duration::from_millis(100)
    ));

    let pull = ctx.socket(SocketType::Pull).unwrap();
    let lm = pull.monitor().unwrap();
    pull.bind(&ep).unwrap();
    assert_eq!(
        wait_for(&lm, |_| true),
        MonitorEvent::Listening {
            endpoint: ep.clone()
        }
    );
    let peer = match wait_for(&lm, |_| true) {
        MonitorEvent::Accepted { endpoint, peer } if endpoint == ep => peer,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        wait_for(&lm, |_| true),
        MonitorEvent::HandshakeSucceeded {
            endpoint: ep.clone(),
            peer
        }
    );
    let e = wait_for(&pm, |e| {
        !matches!(
            e,
            MonitorEvent::ConnectRetried { .. } | MonitorEvent::ConnectDelayed { .. }
        )
    });
    assert!(
        matches!(e, MonitorEvent::Connected { ref endpoint, .. } if *endpoint == ep),
        "{e:?}"
    );
    assert!(matches!(
        wait_for(&pm, |_| true),
        MonitorEvent::HandshakeSucceeded { .. }
    ));

    drop(push);
    assert!(matches!(
        wait_for(&lm, |_| true),
        MonitorEvent::Disconnected { error: None, .. }
    ));
    let lm2 = pull.monitor().unwrap();
    drop(pull);
    assert_eq!(
        wait_for(&lm2, |_| true),
        MonitorEvent::Closed { endpoint: ep }
    );
    assert_eq!(lm.dropped(), 0);
    // The replaced monitor was stopped, with nothing else after the
    // disconnection.
    assert_eq!(lm.try_recv().unwrap(), MonitorEvent::MonitorStopped);
    assert!(matches!(lm.try_recv(), Err(Error::InvalidState(_))));
}

#[test]
fn every_blocked_receiver_is_woken_when_messages_wait() {
    // Two threads block in recv (no timeout) on one socket's receiving
    // half (a socket is not Sync; its halves are); two messages arrive
    // together (one wake-up edge). Each thread takes one message and
    // stops: the second must not sleep through the second message.
    let ctx = Context::new();
    let (pull, ep) = pull_bound(&ctx, "tcp://127.0.0.1:*");
    pull.set_recv_timeout(None).unwrap();
    let (_sender, pull) = pull.split();
    let pull = std::sync::Arc::new(pull);
    let push = push_to(&ctx, &ep);
    for round in 0..20 {
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..2 {
            let (pull, tx) = (pull.clone(), tx.clone());
            std::thread::spawn(move || tx.send(pull.recv().map(|m| text(&m[0]))));
        }
        push.send(format!("{round}a")).unwrap();
        push.send(format!("{round}b")).unwrap();
        let mut got: Vec<String> = (0..2)
            .map(|_| {
                rx.recv_timeout(Duration::from_secs(20))
                    .expect("a receiver slept through a waiting message")
                    .unwrap()
            })
            .collect();
        got.sort();
        assert_eq!(got, [format!("{round}a"), format!("{round}b")]);
    }
}

/// One connection flooding an I/O thread cannot starve another: a drive
/// yields after a budget of bytes and the thread serves the others.
#[test]
fn a_flooding_peer_does_not_starve_others_on_the_same_io_thread() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let receivers = Context::new(); // one I/O thread for both PULLs
    let flood = receivers.socket(SocketType::Pull).unwrap();
    flood.set_recv_hwm(0).unwrap();
    flood.bind("tcp://127.0.0.1:*").unwrap();
    let quiet = receivers.socket(SocketType::Pull).unwrap();
    quiet.set_recv_timeout(LONG).unwrap();
    quiet.bind("tcp://127.0.0.1:*").unwrap();

    let senders = Context::builder().io_threads(2).build().unwrap();
    let flooder = senders.socket(SocketType::Push).unwrap();
    flooder.set_send_hwm(0).unwrap();
    flooder.connect(&flood.last_endpoint().unwrap()).unwrap();
    let one = senders.socket(SocketType::Push).unwrap();
    one.connect(&quiet.last_endpoint().unwrap()).unwrap();

    const N: usize = 300_000;
    let done = Arc::new(AtomicBool::new(false));
    let sender = {
        let done = done.clone();
        std::thread::spawn(move || {
            let payload = Bytes::from(vec![7u8; 1024]);
            for _ in 0..N {
                flooder.send(payload.clone()).unwrap();
            }
            done.store(true, Ordering::Release);
            flooder
        })
    };
    // Let the flood get going: its first message has been received.
    flood.set_recv_timeout(LONG).unwrap();
    flood.recv().unwrap();
    one.send("hello").unwrap();
    assert_eq!(&quiet.recv().unwrap()[0], b"hello");
    assert!(
        !done.load(Ordering::Acquire),
        "the quiet peer was served only after the whole flood"
    );
    for _ in 1..N {
        flood.recv().unwrap();
    }
    drop(sender.join().unwrap());
}

#[test]
fn test_unbind_wildcard() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://*:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    // The wildcard itself is not an endpoint; the resolved one is.
    assert!(matches!(
        pull.unbind("tcp://*:*"),
        Err(Error::EndpointNotFound(_))
    ));
    let monitor = pull.monitor().unwrap();
    pull.unbind(&ep).unwrap();
    assert_eq!(
        wait_for(&monitor, |e| matches!(e, MonitorEvent::Closed { .. })),
        MonitorEvent::Closed {
            endpoint: ep.clone()
        }
    );
    assert!(matches!(pull.unbind(&ep), Err(Error::EndpointNotFound(_))));
    // Nothing listens there any more: the port can be bound again.
    let again = ctx.socket(SocketType::Pull).unwrap();
    again.bind(&ep.replace("0.0.0.0", "127.0.0.1")).unwrap();
}

#[test]
fn test_term_endpoint() {
    // Unbinding closes the connections accepted through the endpoint.
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.bind("tcp://127.0.0.1:*").unwrap();
    let ep = push.last_endpoint().unwrap();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_recv_timeout(LONG).unwrap();
    let pm = pull.monitor().unwrap();
    pull.connect(&ep).unwrap();
    push.send("before").unwrap();
    assert_eq!(&pull.recv().unwrap()[0], b"before");
    push.unbind(&ep).unwrap();
    wait_for(&pm, |e| matches!(e, MonitorEvent::Disconnected { .. }));
    // The PUSH has no peer left.
    assert!(matches!(push.try_send("after"), Err(Error::WouldBlock)));

    // disconnect drops a connect-side peer the same way.
    let (pull2, ep2) = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let pm2 = pull2.monitor().unwrap();
    let push2 = push_to(&ctx, &ep2);
    push2.send("x").unwrap();
    assert_eq!(&pull2.recv().unwrap()[0], b"x");
    assert!(matches!(
        push2.disconnect("tcp://nowhere:1"),
        Err(Error::EndpointNotFound(_))
    ));
    push2.disconnect(&ep2).unwrap();
    wait_for(&pm2, |e| matches!(e, MonitorEvent::Disconnected { .. }));
    assert!(matches!(push2.try_send("after"), Err(Error::WouldBlock)));
}

#[test]
fn test_reconnect_ivl_with_backoff() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_linger(Some(Duration::ZERO)).unwrap();
    push.set_reconnect_interval(Some(Duration::from_millis(10)))
        .unwrap();
    push.set_reconnect_interval_max(Some(Duration::from_millis(80)))
        .unwrap();
    let monitor = push.monitor().unwrap();
    push.connect(&format!("tcp://127.0.0.1:{}", free_port()))
        .unwrap();
    // Nothing listens: 10, 20, 40, 80, 80 ms, each plus under a tenth.
    for base in [10u64, 20, 40, 80, 80] {
        let interval = match wait_for(&monitor, |e| {
            matches!(e, MonitorEvent::ConnectRetried { .. })
        }) {
            MonitorEvent::ConnectRetried { interval, .. } => interval,
            _ => unreachable!("wait_for returns what the predicate accepts"),
        };
        let base = Duration::from_millis(base);
        assert!(
            interval >= base && interval <= base + base / 10,
            "{interval:?} for {base:?}"
        );
    }
}
