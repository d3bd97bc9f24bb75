//! The Poller (level-triggered zmq_poll), socket readiness and the
//! readiness descriptor for an application's own mio loop.

mod common;

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use brokerless::{Context, Error, Interest, PollEvent, Poller, SocketType};
use common::*;

fn tokens(ready: &[PollEvent]) -> Vec<(usize, bool, bool)> {
    let mut v: Vec<_> = ready
        .iter()
        .map(|e| (e.token, e.ready.is_readable(), e.ready.is_writable()))
        .collect();
    v.sort();
    v
}

const SHORT: Option<Duration> = Some(Duration::from_millis(50));
const WAIT: Option<Duration> = Some(Duration::from_secs(20));

#[test]
fn three_sockets_of_different_types() {
    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    pull.bind("inproc://poll-pull").unwrap();
    let sub = sock(&ctx, SocketType::Sub);
    sub.subscribe("").unwrap();
    let rep = sock(&ctx, SocketType::Rep);
    rep.bind("inproc://poll-rep").unwrap();

    let mut poller = Poller::new().unwrap();
    let t_pull = poller.add(&pull, Interest::READABLE).unwrap();
    let t_sub = poller.add(&sub, Interest::READABLE).unwrap();
    let t_rep = poller.add(&rep, Interest::BOTH).unwrap();

    // Nothing yet: a zero timeout only looks, a short one times out.
    assert!(poller.wait(Some(Duration::ZERO)).unwrap().is_empty());
    let start = Instant::now();
    assert!(poller.wait(SHORT).unwrap().is_empty());
    assert!(start.elapsed() >= Duration::from_millis(50));

    let push = sock(&ctx, SocketType::Push);
    push.connect("inproc://poll-pull").unwrap();
    push.send("job").unwrap();
    assert_eq!(tokens(poller.wait(WAIT).unwrap()), [(t_pull, true, false)]);

    let publ = sock(&ctx, SocketType::Pub);
    publ.bind("inproc://poll-pub").unwrap();
    sub.connect("inproc://poll-pub").unwrap();
    publ.wait_for_subscribers(1, Duration::from_secs(20))
        .unwrap();
    publ.send("news").unwrap();
    let req = sock(&ctx, SocketType::Req);
    req.connect("inproc://poll-rep").unwrap();
    req.send("question").unwrap();
    // The REP is readable (a request waits) but not writable (it owes no
    // reply yet).
    assert_eq!(
        tokens(poller.wait(WAIT).unwrap()),
        [
            (t_pull, true, false),
            (t_sub, true, false),
            (t_rep, true, false)
        ]
    );
    assert_eq!(text(&pull.recv().unwrap()[0]), "job");
    assert_eq!(text(&sub.recv().unwrap()[0]), "news");
    assert_eq!(text(&rep.recv().unwrap()[0]), "question");
    // Now the REP owes a reply: writable, no longer readable.
    assert_eq!(tokens(poller.wait(WAIT).unwrap()), [(t_rep, false, true)]);
    rep.send("answer").unwrap();
    assert!(poller.wait(Some(Duration::ZERO)).unwrap().is_empty());
    assert_eq!(text(&req.recv().unwrap()[0]), "answer");
}

#[test]
fn results_are_level_triggered() {
    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    pull.bind("inproc://poll-level").unwrap();
    let push = sock(&ctx, SocketType::Push);
    push.connect("inproc://poll-level").unwrap();
    push.send("a").unwrap();
    push.send("b").unwrap();
    let mut poller = Poller::new().unwrap();
    let t = poller.add(&pull, Interest::READABLE).unwrap();
    // Reported on every wait while a message waits, acted on or not.
    for _ in 0..3 {
        assert_eq!(tokens(poller.wait(WAIT).unwrap()), [(t, true, false)]);
    }
    assert_eq!(text(&pull.try_recv().unwrap()[0]), "a");
    assert_eq!(tokens(poller.wait(WAIT).unwrap()), [(t, true, false)]);
    assert_eq!(text(&pull.try_recv().unwrap()[0]), "b");
    assert!(poller.wait(Some(Duration::ZERO)).unwrap().is_empty());
    assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn writable_follows_room() {
    let ctx = Context::new();
    let push = sock(&ctx, SocketType::Push);
    push.set_send_hwm(2).unwrap();
    let mut poller = Poller::new().unwrap();
    let t = poller.add(&push, Interest::WRITABLE).unwrap();
    // No peer: a send would wait.
    assert!(poller.wait(SHORT).unwrap().is_empty());
    let pull = sock(&ctx, SocketType::Pull);
    pull.set_recv_hwm(2).unwrap();
    pull.bind("inproc://poll-room").unwrap();
    push.connect("inproc://poll-room").unwrap();
    assert_eq!(tokens(poller.wait(WAIT).unwrap()), [(t, false, true)]);
    // Fill the pipe (4: both HWMs), then it is not writable until the
    // puller takes some (credit comes back in batches).
    for i in 0..4 {
        push.try_send(i.to_string().as_str()).unwrap();
    }
    assert!(poller.wait(SHORT).unwrap().is_empty());
    let reader = std::thread::spawn(move || {
        for _ in 0..4 {
            pull.recv().unwrap();
        }
        pull
    });
    assert_eq!(tokens(poller.wait(WAIT).unwrap()), [(t, false, true)]);
    let _pull = reader.join().unwrap();
}

#[test]
fn plain_descriptors_too() {
    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    pull.bind("inproc://poll-fd").unwrap();
    let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut poller = Poller::new().unwrap();
    let t_sock = poller.add(&pull, Interest::READABLE).unwrap();
    let t_fd = poller.add_fd(b.as_fd(), Interest::READABLE).unwrap();
    assert!(poller.wait(Some(Duration::ZERO)).unwrap().is_empty());
    a.write_all(b"x").unwrap();
    // Level-triggered for descriptors as well: reported until read.
    for _ in 0..2 {
        assert_eq!(tokens(poller.wait(WAIT).unwrap()), [(t_fd, true, false)]);
    }
    let mut buf = [0u8; 1];
    (&b).read_exact(&mut buf).unwrap();
    assert!(poller.wait(Some(Duration::ZERO)).unwrap().is_empty());
    // Both at once.
    a.write_all(b"y").unwrap();
    let push = sock(&ctx, SocketType::Push);
    push.connect("inproc://poll-fd").unwrap();
    push.send("m").unwrap();
    assert_eq!(
        tokens(poller.wait(WAIT).unwrap()),
        [(t_sock, true, false), (t_fd, true, false)]
    );
    // Removed and modified items.
    poller.remove(t_fd).unwrap();
    assert_eq!(tokens(poller.wait(WAIT).unwrap()), [(t_sock, true, false)]);
    poller.modify(t_sock, Interest::WRITABLE).unwrap();
    assert!(poller.wait(Some(Duration::ZERO)).unwrap().is_empty());
    assert!(matches!(poller.remove(99), Err(Error::InvalidArgument(_))));
}

#[test]
fn a_wait_is_woken_from_another_thread_over_tcp() {
    let ctx = Context::new();
    let (pull, ep) = bound(&ctx, SocketType::Pull);
    let push = connected(&ctx, SocketType::Push, &ep);
    let mut poller = Poller::new().unwrap();
    let t = poller.add(&pull, Interest::READABLE).unwrap();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        push.send("late").unwrap();
        push
    });
    assert_eq!(tokens(poller.wait(None).unwrap()), [(t, true, false)]);
    assert_eq!(text(&pull.try_recv().unwrap()[0]), "late");
    drop(sender.join().unwrap());
}

#[test]
fn shutdown_ends_a_wait() {
    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    let mut poller = Poller::new().unwrap();
    poller.add(&pull, Interest::READABLE).unwrap();
    let c = ctx.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        c.shutdown();
    });
    assert!(matches!(poller.wait(WAIT), Err(Error::Terminated)));
    t.join().unwrap();
}

/// The readiness descriptor in the application's own mio loop: a million
/// messages, served by following its documented protocol, never stall.
#[test]
fn a_million_messages_through_an_external_mio_loop() {
    use mio::{Events, Interest as MioInterest, Poll, Token};
    const N: usize = 1_000_000;
    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    pull.bind("inproc://poll-mio").unwrap();
    let push = sock(&ctx, SocketType::Push);
    push.connect("inproc://poll-mio").unwrap();
    let mut fd = pull.readiness_fd().unwrap();
    let mut poll = Poll::new().unwrap();
    poll.registry()
        .register(&mut fd, Token(7), MioInterest::READABLE)
        .unwrap();
    let sender = std::thread::spawn(move || {
        for i in 0..N {
            push.send(i.to_le_bytes().as_slice()).unwrap();
            if i % 100_000 == 0 {
                // Let the reader run dry and sleep now and then.
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        push
    });
    let mut events = Events::with_capacity(8);
    let mut next = 0usize;
    while next < N {
        poll.poll(&mut events, Some(Duration::from_secs(20)))
            .unwrap();
        assert!(!events.is_empty(), "stalled at {next}: a wake-up was lost");
        fd.drain();
        while pull.events().unwrap().is_readable() {
            let m = pull.try_recv().unwrap();
            assert_eq!(m[0], next.to_le_bytes());
            next += 1;
        }
    }
    drop(sender.join().unwrap());
}

/// A readiness check may take a message ahead; REQ and REP still keep
/// their lockstep as the application sees it.
#[test]
fn looking_ahead_keeps_req_and_rep_in_step() {
    let ctx = Context::new();
    let rep = sock(&ctx, SocketType::Rep);
    rep.bind("inproc://poll-step").unwrap();
    let req = sock(&ctx, SocketType::Req);
    req.connect("inproc://poll-step").unwrap();
    req.send("q1").unwrap();
    assert_eq!(rep.events().unwrap(), Interest::READABLE);
    // The request was taken ahead, not received: no reply yet.
    assert!(matches!(rep.send("early"), Err(Error::InvalidState(_))));
    assert_eq!(text(&rep.recv().unwrap()[0]), "q1");
    assert_eq!(rep.events().unwrap(), Interest::WRITABLE);
    rep.send("a1").unwrap();
    assert_eq!(req.events().unwrap(), Interest::READABLE);
    assert!(matches!(req.send("q2"), Err(Error::InvalidState(_))));
    assert_eq!(text(&req.recv().unwrap()[0]), "a1");

    // A relaxed REQ's new request voids a reply taken ahead.
    req.set_req_relaxed(true).unwrap();
    req.send("q2").unwrap();
    assert_eq!(text(&rep.recv().unwrap()[0]), "q2");
    rep.send("a2").unwrap();
    assert!(req.events().unwrap().is_readable());
    req.send("q3").unwrap();
    assert_eq!(text(&rep.recv().unwrap()[0]), "q3");
    rep.send("a3").unwrap();
    assert_eq!(text(&req.recv().unwrap()[0]), "a3");
}
