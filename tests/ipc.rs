//! The ipc:// transport: the same patterns as over TCP, socket files and
//! abstract names, and interop with libzmq over ipc.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use brokerless::{Context, Error, MonitorEvent, SocketType};
use common::{wait_for, zsock};
use libzmq_peer as zmq;

const LONG: Option<Duration> = Some(Duration::from_secs(20));

/// A fresh socket path in a directory of this test process.
fn socket_path(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("brokerless-ipc-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}-{}.sock", N.fetch_add(1, Ordering::Relaxed)))
}

fn ipc(path: &std::path::Path) -> String {
    format!("ipc://{}", path.display())
}

#[test]
fn push_pull_over_ipc_with_a_socket_file() {
    let path = socket_path("pushpull");
    let ep = ipc(&path);
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_recv_timeout(LONG).unwrap();
    let monitor = pull.monitor().unwrap();
    pull.bind(&ep).unwrap();
    assert_eq!(pull.last_endpoint().unwrap(), ep);
    assert!(path.exists(), "bind creates the socket file");
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&ep).unwrap();
    let big = bytes::Bytes::from(vec![3u8; 1 << 20]);
    push.send(vec![bytes::Bytes::from_static(b"head"), big.clone()])
        .unwrap();
    for i in 0..1000 {
        push.send(i.to_string()).unwrap();
    }
    let m = pull.recv().unwrap();
    assert_eq!(m[1].len(), 1 << 20);
    for i in 0..1000 {
        assert_eq!(&pull.recv().unwrap()[0], i.to_string().as_bytes());
    }
    // ipc peers have no address.
    assert!(matches!(
        wait_for(&monitor, |e| matches!(e, MonitorEvent::Accepted { .. })),
        MonitorEvent::Accepted { peer: None, .. }
    ));
    // Unbinding removes the file.
    pull.unbind(&ep).unwrap();
    wait_for(&monitor, |e| matches!(e, MonitorEvent::Closed { .. }));
    assert!(!path.exists(), "unbind removes the socket file");
}

#[test]
fn req_rep_and_pub_sub_over_an_abstract_name() {
    let name = format!("ipc://@brokerless-test-{}-abstract", std::process::id());
    let ctx = Context::new();
    let rep = ctx.socket(SocketType::Rep).unwrap();
    rep.set_recv_timeout(LONG).unwrap();
    rep.bind(&name).unwrap();
    let req = ctx.socket(SocketType::Req).unwrap();
    req.set_recv_timeout(LONG).unwrap();
    req.connect(&name).unwrap();
    req.send("ping").unwrap();
    assert_eq!(&rep.recv().unwrap()[0], b"ping");
    rep.send("pong").unwrap();
    assert_eq!(&req.recv().unwrap()[0], b"pong");

    let publ = ctx.socket(SocketType::Pub).unwrap();
    let pub_name = format!("{name}-pub");
    publ.bind(&pub_name).unwrap();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_recv_timeout(LONG).unwrap();
    sub.subscribe("A").unwrap();
    sub.connect(&pub_name).unwrap();
    publ.wait_for_subscribers(1, Duration::from_secs(20))
        .unwrap();
    publ.send("B").unwrap();
    publ.send("A1").unwrap();
    assert_eq!(&sub.recv().unwrap()[0], b"A1");
}

#[test]
fn stale_files_are_replaced_and_live_ones_refused() {
    let path = socket_path("stale");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let ctx = Context::new();
    let first = ctx.socket(SocketType::Pull).unwrap();
    first.bind(&ipc(&path)).unwrap();
    let second = ctx.socket(SocketType::Pull).unwrap();
    assert!(matches!(second.bind(&ipc(&path)), Err(Error::Io(_))));
    assert!(matches!(
        second.bind(&format!("ipc://{}", "x".repeat(108))),
        Err(Error::InvalidEndpoint(_))
    ));
}

#[test]
fn connect_before_bind_over_ipc() {
    let path = socket_path("early");
    let ep = ipc(&path);
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_reconnect_interval(Some(Duration::from_millis(10)))
        .unwrap();
    push.connect(&ep).unwrap();
    push.send("waited").unwrap();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_recv_timeout(LONG).unwrap();
    pull.bind(&ep).unwrap();
    assert_eq!(&pull.recv().unwrap()[0], b"waited");
}

#[test]
fn libzmq_over_ipc_both_ways() {
    let zctx = zmq::Context::new().unwrap();
    let ctx = Context::new();

    let path = socket_path("zmq-pull");
    let zpull = zsock(&zctx, zmq::SocketKind::Pull);
    zpull.bind(&ipc(&path)).unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&ipc(&path)).unwrap();
    push.send(vec![
        bytes::Bytes::from_static(b"to"),
        bytes::Bytes::from_static(b"libzmq"),
    ])
    .unwrap();
    assert_eq!(
        zpull.recv().unwrap(),
        vec![b"to".to_vec(), b"libzmq".to_vec()]
    );

    let path = socket_path("our-pull");
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_recv_timeout(LONG).unwrap();
    pull.bind(&ipc(&path)).unwrap();
    let zpush = zsock(&zctx, zmq::SocketKind::Push);
    zpush.connect(&ipc(&path)).unwrap();
    zpush.send(&[b"from libzmq"]).unwrap();
    assert_eq!(&pull.recv().unwrap()[0], b"from libzmq");
}
