//! Writing to a peer that has gone must be an error for the engine, never
//! a SIGPIPE that kills the process. Rust programs ignore SIGPIPE, so this
//! binary puts it back to its default first, as a C host application (or
//! a fuzzer) has it. Its own binary: the signal setting is process-wide.

mod common;

use std::io::Write;
use std::time::Duration;

use brokerless::{Context, MonitorEvent, SocketType};
use common::*;

fn default_sigpipe() {
    // SAFETY: setting a signal's disposition to SIG_DFL has no memory
    // effects; this test binary runs only these tests.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Peers that connect, say a few bytes and vanish, many times over,
/// while the socket writes its greeting and messages to them.
fn vanishing_peers(connect: impl Fn() -> Box<dyn Write>) {
    for _ in 0..300 {
        let mut s = connect();
        let _ = s.write_all(&[0xff]);
        drop(s);
    }
}

#[test]
fn peers_that_vanish_do_not_kill_the_process() {
    default_sigpipe();
    let ctx = Context::new();

    // ipc: the case a fuzzer found.
    let dir = std::env::temp_dir().join(format!("brokerless-sigpipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s");
    let push = sock(&ctx, SocketType::Push);
    let mon = push.monitor().unwrap();
    let ep = format!("ipc://{}", path.display());
    push.bind(&ep).unwrap();
    vanishing_peers(|| Box::new(std::os::unix::net::UnixStream::connect(&path).unwrap()));

    // tcp, with resets.
    let (pub_, tcp_ep) = bound(&ctx, SocketType::Pub);
    let addr = tcp_ep.trim_start_matches("tcp://").to_string();
    vanishing_peers(|| {
        let s = std::net::TcpStream::connect(&addr).unwrap();
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        Box::new(s)
    });
    for _ in 0..100 {
        pub_.send("still here").unwrap();
    }

    // The socket is alive and serves a real peer afterwards.
    let pull = connected(&ctx, SocketType::Pull, &ep);
    wait_for(&mon, |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
    push.send("after").unwrap();
    assert_eq!(text(&pull.recv().unwrap()[0]), "after");
    std::fs::remove_dir_all(&dir).unwrap();
}
