//! send_async / recv_async under tokio (multi-thread) and under a minimal
//! hand-written executor; cancellation safety.
//!
//! A `Socket` is not `Sync`, so its own futures are not `Send`: they run
//! on the test's own task (`block_on`), while sockets given to spawned
//! tasks are split into halves, whose futures are `Send`.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

use brokerless::{Context, Error, Socket, SocketType};
use common::*;

/// The smallest executor: polls on the calling thread, parks between
/// wake-ups.
fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = TaskContext::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn pipeline_under_a_minimal_executor() {
    let ctx = Context::new();
    let (pull, ep) = bound(&ctx, SocketType::Pull);
    let push = connected(&ctx, SocketType::Push, &ep);
    let sender = std::thread::spawn(move || {
        for i in 0..10_000u32 {
            block_on(push.send_async(i.to_le_bytes().as_slice())).unwrap();
        }
        push
    });
    for i in 0..10_000u32 {
        let m = block_on(pull.recv_async()).unwrap();
        assert_eq!(m[0], i.to_le_bytes());
    }
    drop(sender.join().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn request_reply_with_many_tasks() {
    let ctx = Context::new();
    let rep = sock(&ctx, SocketType::Router);
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let ep = rep.last_endpoint().unwrap();
    // A ROUTER server echoing from one task.
    let server = {
        let (tx, rx) = rep.split();
        tokio::spawn(async move {
            for _ in 0..20 * 100 {
                let m = rx.recv_async().await.unwrap();
                tx.send_async(m).await.unwrap();
            }
        })
    };
    let mut clients = Vec::new();
    for c in 0..20 {
        let req = sock(&ctx, SocketType::Req);
        req.connect(&ep).unwrap();
        let (tx, rx) = req.split();
        clients.push(tokio::spawn(async move {
            for i in 0..100 {
                let body = format!("{c}-{i}");
                tx.send_async(body.as_str()).await.unwrap();
                let reply = rx.recv_async().await.unwrap();
                assert_eq!(text(&reply[0]), body);
            }
        }));
    }
    for c in clients {
        c.await.unwrap();
    }
    server.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipeline_with_many_producers() {
    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let mut producers = Vec::new();
    for p in 0..8u32 {
        let push = sock(&ctx, SocketType::Push);
        push.set_send_hwm(10).unwrap();
        push.connect(&ep).unwrap();
        let (tx, rx) = push.split();
        producers.push(tokio::spawn(async move {
            for i in 0..2_000u32 {
                tx.send_async(format!("{p}:{i}")).await.unwrap();
            }
            Socket::reunite(tx, rx).unwrap()
        }));
    }
    let mut next = [0u32; 8];
    for _ in 0..8 * 2_000 {
        let m = pull.recv_async().await.unwrap();
        let t = text(&m[0]);
        let (p, i) = t.split_once(':').unwrap();
        let p: usize = p.parse().unwrap();
        assert_eq!(i.parse::<u32>().unwrap(), next[p], "in order per producer");
        next[p] += 1;
    }
    for p in producers {
        drop(p.await.unwrap());
    }
}

/// Dropping a pending receive loses nothing: races between a timeout and
/// a message arriving, many times over; every message sent is received
/// exactly once in the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_recv_loses_no_message() {
    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    pull.bind("inproc://async-cancel").unwrap();
    let sender = spawn_sender(&ctx, "inproc://async-cancel");
    let mut got = Vec::new();
    let mut timeouts = 0;
    while got.len() < N_CANCEL as usize {
        let wait = Duration::from_micros(if got.len() % 3 == 0 { 1 } else { 50 });
        match tokio::time::timeout(wait, pull.recv_async()).await {
            Ok(m) => got.push(u32::from_le_bytes(m.unwrap()[0][..4].try_into().unwrap())),
            Err(_) => timeouts += 1,
        }
        assert!(timeouts < 1_000_000, "stuck at {}", got.len());
    }
    assert_eq!(got, (0..N_CANCEL).collect::<Vec<_>>());
    assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
    drop(sender.await.unwrap());
}

const N_CANCEL: u32 = 2_000;

/// A task sending 0..N_CANCEL through a PUSH connected to `endpoint`,
/// yielding now and then; it returns the PUSH.
fn spawn_sender(ctx: &Context, endpoint: &str) -> tokio::task::JoinHandle<Socket> {
    let push = sock(ctx, SocketType::Push);
    push.connect(endpoint).unwrap();
    let (tx, rx) = push.split();
    tokio::spawn(async move {
        for i in 0..N_CANCEL {
            tx.send_async(i.to_le_bytes().as_slice()).await.unwrap();
            if i % 7 == 0 {
                tokio::task::yield_now().await;
            }
        }
        Socket::reunite(tx, rx).unwrap()
    })
}

/// As above, with the receiving half's future, in a task of its own on
/// the multi-threaded runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_split_recv_loses_no_message() {
    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    pull.bind("inproc://async-cancel-split").unwrap();
    let (_tx, rx) = pull.split();
    let receiver = tokio::spawn(async move {
        let mut got = Vec::new();
        let mut timeouts = 0;
        while got.len() < N_CANCEL as usize {
            let wait = Duration::from_micros(if got.len() % 3 == 0 { 1 } else { 50 });
            match tokio::time::timeout(wait, rx.recv_async()).await {
                Ok(m) => got.push(u32::from_le_bytes(m.unwrap()[0][..4].try_into().unwrap())),
                Err(_) => timeouts += 1,
            }
            assert!(timeouts < 1_000_000, "stuck at {}", got.len());
        }
        assert!(matches!(rx.try_recv(), Err(Error::WouldBlock)));
        got
    });
    let sender = spawn_sender(&ctx, "inproc://async-cancel-split");
    assert_eq!(receiver.await.unwrap(), (0..N_CANCEL).collect::<Vec<_>>());
    drop(sender.await.unwrap());
}

/// Dropping a pending send sends nothing: a PUSH whose peer's queue is
/// full keeps the message; when the future is dropped, that message never
/// arrives, and every message whose future completed does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_send_sends_all_or_nothing() {
    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    pull.set_recv_hwm(1).unwrap();
    pull.bind("inproc://async-send").unwrap();
    let push = sock(&ctx, SocketType::Push);
    push.set_send_hwm(1).unwrap();
    push.connect("inproc://async-send").unwrap();
    let mut completed = Vec::new();
    let mut cancelled = 0;
    for i in 0..10u32 {
        match tokio::time::timeout(Duration::from_millis(20), push.send_async(i.to_string())).await
        {
            Ok(r) => {
                r.unwrap();
                completed.push(i.to_string());
            }
            Err(_) => cancelled += 1,
        }
    }
    // The pipe holds 2 (both HWMs): the rest were cancelled.
    assert_eq!(completed, ["0", "1"]);
    assert_eq!(cancelled, 8);
    for want in &completed {
        assert_eq!(&text(&pull.recv_async().await.unwrap()[0]), want);
    }
    // And a later send, once there is room, arrives next.
    push.send_async("after").await.unwrap();
    assert_eq!(text(&pull.recv_async().await.unwrap()[0]), "after");
    assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
}

/// As above, with the sending half's future, in a task of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_split_send_sends_all_or_nothing() {
    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    pull.set_recv_hwm(1).unwrap();
    pull.bind("inproc://async-send-split").unwrap();
    let push = sock(&ctx, SocketType::Push);
    push.set_send_hwm(1).unwrap();
    push.connect("inproc://async-send-split").unwrap();
    let (tx, _rx) = push.split();
    let sender = tokio::spawn(async move {
        let mut completed = Vec::new();
        let mut cancelled = 0;
        for i in 0..10u32 {
            let attempt = tx.send_async(i.to_string());
            match tokio::time::timeout(Duration::from_millis(20), attempt).await {
                Ok(r) => {
                    r.unwrap();
                    completed.push(i.to_string());
                }
                Err(_) => cancelled += 1,
            }
        }
        (tx, completed, cancelled)
    });
    let (tx, completed, cancelled) = sender.await.unwrap();
    assert_eq!(completed, ["0", "1"]);
    assert_eq!(cancelled, 8);
    for want in &completed {
        assert_eq!(&text(&pull.recv_async().await.unwrap()[0]), want);
    }
    tx.send_async("after").await.unwrap();
    assert_eq!(text(&pull.recv_async().await.unwrap()[0]), "after");
    assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
}

/// Both a socket's own future (on the test's task) and a half's (spawned)
/// are pending when another task shuts the context down; both end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_pending_futures() {
    let ctx = Context::new();
    let (_tx, rx) = sock(&ctx, SocketType::Pull).split();
    let task = tokio::spawn(async move { rx.recv_async().await });
    let pull = sock(&ctx, SocketType::Pull);
    let c = ctx.clone();
    let stop = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        c.shutdown();
    });
    assert!(matches!(pull.recv_async().await, Err(Error::Terminated)));
    assert!(matches!(task.await.unwrap(), Err(Error::Terminated)));
    stop.await.unwrap();
}
