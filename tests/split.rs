//! `Socket::split`: the sending and receiving halves used from two
//! threads (or tasks) at once.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use brokerless::{Context, Error, Socket, SocketType};
use common::*;

/// A DEALER in a thread of its own that sends back every message it
/// receives, until the context ends; returns its endpoint.
fn echo(ctx: &Context, endpoint: &str) -> String {
    let echo = sock(ctx, SocketType::Dealer);
    echo.set_send_hwm(0).unwrap();
    echo.set_recv_timeout(None).unwrap();
    echo.bind(endpoint).unwrap();
    let ep = echo.last_endpoint().unwrap();
    std::thread::spawn(move || {
        while let Ok(m) = echo.recv() {
            if echo.send(m).is_err() {
                break;
            }
        }
    });
    ep
}

/// One thread sends 100,000 numbered messages through the sending half
/// while another receives them back through the receiving half: none is
/// lost or reordered, and neither thread waits for the other (the default
/// HWMs make the sender block now and then).
fn concurrent_echo(endpoint: &str) {
    const N: u32 = 100_000;
    let ctx = Context::new();
    let ep = echo(&ctx, endpoint);
    let dealer = sock(&ctx, SocketType::Dealer);
    dealer.connect(&ep).unwrap();
    let (tx, rx) = dealer.split();
    let start = Instant::now();
    let sender = std::thread::spawn(move || {
        for i in 0..N {
            tx.send(i.to_le_bytes().as_slice()).unwrap();
        }
        tx
    });
    let receiver = std::thread::spawn(move || {
        for i in 0..N {
            let m = rx.recv().unwrap();
            assert_eq!(m[0], i.to_le_bytes(), "message {i}");
        }
        assert!(matches!(rx.try_recv(), Err(Error::WouldBlock)));
        rx
    });
    let tx = sender.join().unwrap();
    let rx = receiver.join().unwrap();
    eprintln!(
        "{endpoint}: {N} messages echoed through a split DEALER in {:?}",
        start.elapsed()
    );
    // Back together, the socket still works.
    let dealer = Socket::reunite(tx, rx).unwrap();
    dealer.send("last").unwrap();
    assert_eq!(&dealer.recv().unwrap()[0], b"last");
}

#[test]
fn two_threads_send_and_receive_through_a_split_dealer_inproc() {
    concurrent_echo("inproc://split-echo");
}

#[test]
fn two_threads_send_and_receive_through_a_split_dealer_tcp() {
    concurrent_echo("tcp://127.0.0.1:*");
}

/// A receive blocked on one half does not hold up a send on the other:
/// the send completes (and reaches the peer) while the receive waits.
#[test]
fn a_blocked_recv_does_not_block_a_send() {
    let ctx = Context::new();
    let (peer, ep) = bound(&ctx, SocketType::Pair);
    let pair = connected(&ctx, SocketType::Pair, &ep);
    pair.set_recv_timeout(None).unwrap();
    let (tx, rx) = pair.split();
    let (done, received) = mpsc::channel();
    let waiting = std::thread::spawn(move || {
        done.send(rx.recv()).unwrap();
        rx
    });
    // Give the receiver time to block (not needed for correctness: the
    // send must complete whether or not it has).
    std::thread::sleep(Duration::from_millis(50));
    tx.send("while you wait").unwrap();
    assert_eq!(&peer.recv().unwrap()[0], b"while you wait");
    assert!(
        matches!(received.try_recv(), Err(mpsc::TryRecvError::Empty)),
        "the receive is still waiting"
    );
    peer.send("your turn").unwrap();
    let got = received.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(&got.unwrap()[0], b"your turn");
    drop(waiting.join().unwrap());
}

/// And the other way: a send blocked at the HWM on one half does not
/// hold up a receive on the other; it completes once the peer reads.
#[test]
fn a_blocked_send_does_not_block_a_recv() {
    let ctx = Context::new();
    let peer = sock(&ctx, SocketType::Pair);
    peer.set_recv_hwm(1).unwrap();
    peer.bind("inproc://split-blocked-send").unwrap();
    let pair = sock(&ctx, SocketType::Pair);
    pair.set_send_hwm(1).unwrap();
    pair.connect("inproc://split-blocked-send").unwrap();
    // Both queues full (inproc: the sum of both HWMs).
    pair.try_send("0").unwrap();
    pair.try_send("1").unwrap();
    assert!(matches!(pair.try_send("2"), Err(Error::WouldBlock)));
    pair.set_send_timeout(None).unwrap();
    let (tx, rx) = pair.split();
    let (done, sent) = mpsc::channel();
    let blocked = std::thread::spawn(move || {
        done.send(tx.send("2")).unwrap();
        tx
    });
    std::thread::sleep(Duration::from_millis(50));
    peer.send("meanwhile").unwrap();
    assert_eq!(&rx.recv().unwrap()[0], b"meanwhile");
    assert!(
        matches!(sent.try_recv(), Err(mpsc::TryRecvError::Empty)),
        "the send is still waiting"
    );
    for want in ["0", "1", "2"] {
        assert_eq!(&peer.recv().unwrap()[0], want.as_bytes());
    }
    sent.recv_timeout(Duration::from_secs(20)).unwrap().unwrap();
    drop(blocked.join().unwrap());
}

/// The socket closes when both halves are gone, not before: the peer
/// sees the disconnection only then.
#[test]
fn dropping_both_halves_closes_the_socket() {
    let ctx = Context::new();
    let (peer, ep) = bound(&ctx, SocketType::Dealer);
    let monitor = peer.monitor().unwrap();
    let dealer = connected(&ctx, SocketType::Dealer, &ep);
    let from = handshake(&monitor);
    let (tx, rx) = dealer.split();

    drop(tx);
    // Still open: the receiving half works, and so does the peer's link.
    peer.send("still there").unwrap();
    assert_eq!(&rx.recv().unwrap()[0], b"still there");

    drop(rx);
    disconnected(&monitor, from);
}

/// The same with the receiving half dropped first.
#[test]
fn dropping_the_receiver_first_keeps_the_sender_working() {
    let ctx = Context::new();
    let (peer, ep) = bound(&ctx, SocketType::Dealer);
    let monitor = peer.monitor().unwrap();
    let dealer = connected(&ctx, SocketType::Dealer, &ep);
    let from = handshake(&monitor);
    let (tx, rx) = dealer.split();
    drop(rx);
    tx.send("still there").unwrap();
    assert_eq!(&peer.recv().unwrap()[0], b"still there");
    drop(tx);
    disconnected(&monitor, from);
}

/// A ROUTER served by two threads: one receives the requests and hands
/// them to the other, which answers; every client gets its own replies.
#[test]
fn a_router_served_from_two_threads() {
    const CLIENTS: usize = 8;
    const REQUESTS: usize = 500;
    let ctx = Context::new();
    let (router, ep) = bound(&ctx, SocketType::Router);
    router.set_recv_timeout(None).unwrap();
    let (replies, requests) = router.split();
    let (work, jobs) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for _ in 0..CLIENTS * REQUESTS {
            work.send(requests.recv().unwrap()).unwrap();
        }
        requests
    });
    let writer = std::thread::spawn(move || {
        for m in jobs {
            let mut reply = frames(&m);
            reply[1].extend_from_slice(b" done");
            replies.send(to_message(&reply)).unwrap();
        }
        replies
    });
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let dealer = connected(&ctx, SocketType::Dealer, &ep);
            std::thread::spawn(move || {
                // Sends run ahead of the replies, so both halves of the
                // ROUTER are busy at once.
                for r in 0..REQUESTS {
                    dealer.send(format!("{c}:{r}")).unwrap();
                }
                for r in 0..REQUESTS {
                    assert_eq!(text(&dealer.recv().unwrap()[0]), format!("{c}:{r} done"));
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let requests = reader.join().unwrap();
    let replies = writer.join().unwrap();
    let router = Socket::reunite(replies, requests).unwrap();
    assert!(matches!(router.try_recv(), Err(Error::WouldBlock)));
}

/// The halves keep the socket's timeouts; `try_*` never waits.
#[test]
fn halves_keep_the_socket_timeouts() {
    let ctx = Context::new();
    let dealer = sock(&ctx, SocketType::Dealer);
    dealer
        .set_recv_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    dealer
        .set_send_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let (tx, rx) = dealer.split();
    assert!(matches!(rx.try_recv(), Err(Error::WouldBlock)));
    assert!(matches!(tx.try_send("x"), Err(Error::WouldBlock)));
    let t = Instant::now();
    assert!(matches!(rx.recv(), Err(Error::Timeout)));
    assert!(t.elapsed() >= Duration::from_millis(50));
    let t = Instant::now();
    // No peer: a DEALER's send waits.
    assert!(matches!(tx.send("x"), Err(Error::Timeout)));
    assert!(t.elapsed() >= Duration::from_millis(50));
    assert!(matches!(
        tx.send(Vec::<bytes::Bytes>::new()),
        Err(Error::EmptyMessage)
    ));
    // Options through `with`, taking effect at the next call.
    tx.with(|s| s.set_recv_timeout(Some(Duration::ZERO)))
        .unwrap();
    assert!(matches!(rx.recv(), Err(Error::WouldBlock)));
    assert_eq!(rx.with(Socket::recv_timeout), Some(Duration::ZERO));
    assert_eq!(tx.socket_type(), SocketType::Dealer);
    assert_eq!(rx.socket_type(), SocketType::Dealer);
}

/// Shutting the context down ends a receive and a send blocked on the
/// halves.
#[test]
fn shutdown_ends_blocked_halves() {
    let ctx = Context::new();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    let (tx, rx) = dealer.split();
    let receiving = std::thread::spawn(move || rx.recv());
    let sending = std::thread::spawn(move || tx.send("nobody"));
    std::thread::sleep(Duration::from_millis(50));
    ctx.shutdown();
    assert!(matches!(receiving.join().unwrap(), Err(Error::Terminated)));
    assert!(matches!(sending.join().unwrap(), Err(Error::Terminated)));
}

/// `reunite` refuses the halves of two sockets, and gives them back.
#[test]
fn reunite_refuses_halves_of_different_sockets() {
    let ctx = Context::new();
    let (tx_a, rx_a) = sock(&ctx, SocketType::Pair).split();
    let (tx_b, rx_b) = sock(&ctx, SocketType::Dealer).split();
    let err = Socket::reunite(tx_a, rx_b).unwrap_err();
    assert_eq!(err.to_string(), "the halves belong to different sockets");
    let a = Socket::reunite(err.sender, rx_a).unwrap();
    let b = Socket::reunite(tx_b, err.receiver).unwrap();
    assert_eq!(a.socket_type(), SocketType::Pair);
    assert_eq!(b.socket_type(), SocketType::Dealer);
}

/// Two threads blocked in `recv` on one (shared) receiving half are both
/// woken when two messages arrive at once.
#[test]
fn two_threads_on_one_receiving_half_are_both_woken() {
    let ctx = Context::new();
    let (pull, ep) = bound(&ctx, SocketType::Pull);
    pull.set_recv_timeout(None).unwrap();
    let push = connected(&ctx, SocketType::Push, &ep);
    let (_tx, rx) = pull.split();
    let rx = std::sync::Arc::new(rx);
    for round in 0..50 {
        let (done, got) = mpsc::channel();
        for _ in 0..2 {
            let (rx, done) = (rx.clone(), done.clone());
            std::thread::spawn(move || done.send(rx.recv().map(|m| text(&m[0]))));
        }
        push.send(format!("{round}a")).unwrap();
        push.send(format!("{round}b")).unwrap();
        let mut got: Vec<String> = (0..2)
            .map(|_| got.recv_timeout(Duration::from_secs(20)).unwrap().unwrap())
            .collect();
        got.sort();
        assert_eq!(got, [format!("{round}a"), format!("{round}b")]);
    }
}

/// The halves' futures are `Send`: each goes to a task of its own on a
/// multi-threaded runtime, sending and receiving at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_halves_futures_run_on_a_multi_threaded_runtime() {
    const N: u32 = 20_000;
    let ctx = Context::new();
    let ep = echo(&ctx, "tcp://127.0.0.1:*");
    let dealer = sock(&ctx, SocketType::Dealer);
    dealer.connect(&ep).unwrap();
    let (tx, rx) = dealer.split();
    let sending = tokio::spawn(async move {
        for i in 0..N {
            tx.send_async(i.to_le_bytes().as_slice()).await.unwrap();
        }
        tx
    });
    let receiving = tokio::spawn(async move {
        for i in 0..N {
            let m = rx.recv_async().await.unwrap();
            assert_eq!(m[0], i.to_le_bytes(), "message {i}");
        }
        rx
    });
    let (tx, rx) = (sending.await.unwrap(), receiving.await.unwrap());
    assert!(matches!(rx.try_recv(), Err(Error::WouldBlock)));
    drop((tx, rx));
}
