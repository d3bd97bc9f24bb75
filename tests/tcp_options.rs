//! tcp-only options: `ipv6` (libzmq's ZMQ_IPV6) and the TCP keepalive
//! settings.

mod common;

use std::time::Duration;

use brokerless::{Context, Error, SocketType};
use common::*;

#[test]
fn an_ipv6_wildcard_bind_takes_both_families() {
    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    assert!(!pull.ipv6());
    pull.set_ipv6(true).unwrap();
    pull.bind("tcp://*:*").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    assert!(endpoint.starts_with("tcp://[::]:"), "{endpoint}");
    let port = endpoint.rsplit(':').next().unwrap();
    for host in ["127.0.0.1", "[::1]"] {
        let push = connected(&ctx, SocketType::Push, &format!("tcp://{host}:{port}"));
        push.send(host).unwrap();
        assert_eq!(text(&pull.recv().unwrap().frames()[0]), host);
    }
}

#[test]
fn without_ipv6_a_wildcard_bind_is_ipv4_only() {
    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    pull.bind("tcp://*:*").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    assert!(endpoint.starts_with("tcp://0.0.0.0:"), "{endpoint}");
    // An IPv6 literal bind still works, and takes IPv6 only.
    let v6 = sock(&ctx, SocketType::Pull);
    v6.bind("tcp://[::1]:*").unwrap();
    let v6_endpoint = v6.last_endpoint().unwrap();
    assert!(v6_endpoint.starts_with("tcp://[::1]:"), "{v6_endpoint}");
    let push = connected(&ctx, SocketType::Push, &v6_endpoint);
    push.send("over ::1").unwrap();
    assert_eq!(text(&v6.recv().unwrap().frames()[0]), "over ::1");
}

#[test]
fn keepalive_options_are_kept_and_checked() {
    let ctx = Context::new();
    let s = sock(&ctx, SocketType::Dealer);
    assert_eq!(s.tcp_keepalive(), None);
    s.set_tcp_keepalive(Some(true)).unwrap();
    s.set_tcp_keepalive_idle(Some(Duration::from_secs(30)))
        .unwrap();
    s.set_tcp_keepalive_interval(Some(Duration::from_secs(5)))
        .unwrap();
    s.set_tcp_keepalive_count(Some(4)).unwrap();
    assert_eq!(s.tcp_keepalive(), Some(true));
    assert_eq!(s.tcp_keepalive_idle(), Some(Duration::from_secs(30)));
    assert_eq!(s.tcp_keepalive_interval(), Some(Duration::from_secs(5)));
    assert_eq!(s.tcp_keepalive_count(), Some(4));
    for bad in [Duration::ZERO, Duration::from_millis(1500)] {
        assert!(matches!(
            s.set_tcp_keepalive_idle(Some(bad)),
            Err(Error::InvalidArgument(_))
        ));
    }
    assert!(matches!(
        s.set_tcp_keepalive_count(Some(0)),
        Err(Error::InvalidArgument(_))
    ));

    // The connection made has the kernel's keepalive timer running:
    // /proc/net/tcp shows timer kind 2 (keepalive) for its local end.
    let router = sock(&ctx, SocketType::Router);
    let mon = router.monitor().unwrap();
    let (router, endpoint) = bind_any(router);
    s.connect(&endpoint).unwrap();
    s.send("ping").unwrap();
    let m = router.recv().unwrap();
    assert_eq!(text(&m.frames()[1]), "ping");
    let client = handshake(&mon);
    assert_eq!(settled_timer_kind(client), 2);

    // Without the option the system default (off) stays.
    let plain = sock(&ctx, SocketType::Dealer);
    plain.connect(&endpoint).unwrap();
    let client = handshake(&mon);
    assert_eq!(settled_timer_kind(client), 0);
}

/// The socket's timer kind once no retransmit timer (kind 1, unacked
/// data) is pending.
fn settled_timer_kind(addr: std::net::SocketAddr) -> u32 {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tcp_timer_kind(addr) {
            Some(1) | None if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Some(kind) => return kind,
            None => panic!("{addr} not in /proc/net/tcp"),
        }
    }
}

/// The `tr` column of /proc/net/tcp for the socket whose local address is
/// `addr` (0: no timer, 1: retransmit, 2: keepalive), if established.
fn tcp_timer_kind(addr: std::net::SocketAddr) -> Option<u32> {
    let std::net::SocketAddr::V4(a) = addr else {
        panic!("IPv4 expected");
    };
    let local = format!(
        "{:08X}:{:04X}",
        u32::from_le_bytes(a.ip().octets()),
        a.port()
    );
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    // Only the established connection (state 01): an earlier connection
    // from the same port may linger in TIME_WAIT (timer kind 3).
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        (cols[1] == local && cols[3] == "01")
            .then(|| cols[5].split(':').next().unwrap().parse().unwrap())
    })
}
