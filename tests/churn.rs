//! Connection churn against a bound socket leaks nothing: after 10,000
//! connect/disconnect cycles (bare connections, whole handshakes with a
//! message, garbage, half greetings, and now and then a socket of ours)
//! the process has the descriptors it had before and about the same
//! resident memory. Its own test binary, so that nothing else opens
//! descriptors or allocates meanwhile.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use brokerless::{Context, Monitor, MonitorEvent, Socket, SocketType};
use common::{greeting, ready, wait_for};

const WARM_UP: usize = 5_000;
const CYCLES: usize = 10_000;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Resident memory in KiB.
fn rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line["VmRSS:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap()
}

/// Waits until the connection from `peer` has ended, however it ended.
fn ended(monitor: &Monitor, from: SocketAddr) {
    wait_for(monitor, |e| match e {
        MonitorEvent::Disconnected { peer, .. } | MonitorEvent::HandshakeFailed { peer, .. } => {
            *peer == Some(from)
        }
        _ => false,
    });
}

/// One connection to `ep` and its end, in one of five ways.
fn cycle(ctx: &Context, pull: &Socket, ep: &str, monitor: &Monitor, i: usize) {
    if i % 10 == 9 {
        // A socket of ours connects, sends, and goes.
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_linger(Some(Duration::ZERO)).unwrap();
        push.connect(ep).unwrap();
        push.send("ours").unwrap();
        assert_eq!(&pull.recv().unwrap()[0], b"ours");
        drop(push);
        wait_for(monitor, |e| matches!(e, MonitorEvent::Disconnected { .. }));
        return;
    }
    let mut s = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    let me = s.local_addr().unwrap();
    match i % 4 {
        // Connect and close at once.
        0 => {}
        // A whole handshake and a message.
        1 => {
            let mut hello = greeting(1);
            hello.extend(ready("PUSH"));
            hello.extend([0x00, 0x03, b'r', b'a', b'w']);
            s.write_all(&hello).unwrap();
            assert_eq!(&pull.recv().unwrap()[0], b"raw");
        }
        // Garbage: the socket closes it.
        2 => s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap(),
        // Half a greeting, then gone.
        _ => s.write_all(&greeting(1)[..30]).unwrap(),
    }
    drop(s);
    ended(monitor, me);
}

#[test]
fn ten_thousand_connections_leak_no_descriptor_and_no_memory() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_recv_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // Each accepted connection arms a handshake timer (30 s by default)
    // that outlives a connection which ends sooner; the I/O thread sweeps
    // such timers out once they outnumber its live connections, so they
    // must not show up as growth here either.
    let monitor = pull.monitor().unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    wait_for(&monitor, |e| matches!(e, MonitorEvent::Listening { .. }));
    let fds = open_fds();

    for i in 0..WARM_UP {
        cycle(&ctx, &pull, &ep, &monitor, i);
    }
    let rss = rss_kib();
    let started = Instant::now();
    for i in 0..CYCLES {
        cycle(&ctx, &pull, &ep, &monitor, i);
    }
    let took = started.elapsed();

    // A connection's descriptor is closed just after its end is
    // reported: wait for the last one.
    let deadline = Instant::now() + Duration::from_secs(20);
    while open_fds() > fds && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let (fds_after, rss_after) = (open_fds(), rss_kib());
    eprintln!(
        "{CYCLES} cycles in {took:?}: descriptors {fds} -> {fds_after}, \
         resident {rss} -> {rss_after} KiB, {} monitor events dropped",
        monitor.dropped()
    );
    assert_eq!(fds_after, fds, "descriptors leaked");
    assert!(
        rss_after < rss + 1024,
        "resident memory grew from {rss} to {rss_after} KiB"
    );
    assert_eq!(monitor.dropped(), 0);
}
