//! Monitor events: their order over a connection's life (a port of
//! libzmq's test_monitor), the failure events, and the end of the stream.

mod common;

use std::time::Duration;

use brokerless::{Context, Error, Monitor, MonitorEvent, SocketType};
use common::*;

/// Every event up to and including `MonitorStopped`.
fn drain_until_stopped(monitor: &Monitor) -> Vec<MonitorEvent> {
    let mut events = Vec::new();
    loop {
        let ev = monitor
            .recv_timeout(Duration::from_secs(20))
            .expect("MonitorStopped not seen");
        let stop = ev == MonitorEvent::MonitorStopped;
        events.push(ev);
        if stop {
            return events;
        }
    }
}

/// A short name for each event, to compare sequences.
fn names(events: &[MonitorEvent]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            MonitorEvent::Listening { .. } => "Listening",
            MonitorEvent::Accepted { .. } => "Accepted",
            MonitorEvent::Connected { .. } => "Connected",
            MonitorEvent::ConnectDelayed { .. } => "ConnectDelayed",
            MonitorEvent::ConnectRetried { .. } => "ConnectRetried",
            MonitorEvent::HandshakeSucceeded { .. } => "HandshakeSucceeded",
            MonitorEvent::HandshakeFailed { .. } => "HandshakeFailed",
            MonitorEvent::Disconnected { .. } => "Disconnected",
            MonitorEvent::Closed { .. } => "Closed",
            MonitorEvent::BindFailed { .. } => "BindFailed",
            MonitorEvent::AcceptFailed { .. } => "AcceptFailed",
            MonitorEvent::MonitorStopped => "MonitorStopped",
            _ => "other",
        })
        .collect()
}

#[test]
fn events_follow_a_connection_from_bind_to_close() {
    let ctx = Context::new();
    let server = sock(&ctx, SocketType::Rep);
    let server_mon = server.monitor().unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = server.last_endpoint().unwrap();

    let client = sock(&ctx, SocketType::Req);
    let client_mon = client.monitor().unwrap();
    client.connect(&endpoint).unwrap();
    client.send("hello").unwrap();
    assert_eq!(text(&server.recv().unwrap().frames()[0]), "hello");
    server.send("world").unwrap();
    assert_eq!(text(&client.recv().unwrap().frames()[0]), "world");

    // The client goes first; its events end with the stop.
    drop(client);
    let client_events = drain_until_stopped(&client_mon);
    assert_eq!(
        names(&client_events),
        [
            "ConnectDelayed",
            "Connected",
            "HandshakeSucceeded",
            "Disconnected",
            "MonitorStopped"
        ]
    );
    let MonitorEvent::Connected { peer, .. } = client_events[1].clone() else {
        unreachable!()
    };
    assert_eq!(peer.unwrap().to_string(), endpoint["tcp://".len()..]);
    for ev in &client_events[..4] {
        let ep = match ev {
            MonitorEvent::ConnectDelayed { endpoint }
            | MonitorEvent::Connected { endpoint, .. }
            | MonitorEvent::HandshakeSucceeded { endpoint, .. }
            | MonitorEvent::Disconnected { endpoint, .. } => endpoint,
            _ => unreachable!(),
        };
        assert_eq!(ep, &endpoint);
    }

    // The server sees it leave, then closes.
    let mut server_events = Vec::new();
    loop {
        let ev = server_mon.recv_timeout(Duration::from_secs(20)).unwrap();
        let done = matches!(ev, MonitorEvent::Disconnected { .. });
        server_events.push(ev);
        if done {
            break;
        }
    }
    drop(server);
    server_events.extend(drain_until_stopped(&server_mon));
    assert_eq!(
        names(&server_events),
        [
            "Listening",
            "Accepted",
            "HandshakeSucceeded",
            "Disconnected",
            "Closed",
            "MonitorStopped"
        ]
    );
    assert_eq!(
        server_events[0],
        MonitorEvent::Listening {
            endpoint: endpoint.clone()
        }
    );
    let MonitorEvent::Accepted { peer, .. } = &server_events[1] else {
        unreachable!()
    };
    assert!(peer.is_some_and(|p| p.ip().is_loopback()));
    assert_eq!(
        server_events[4],
        MonitorEvent::Closed {
            endpoint: endpoint.clone()
        }
    );
}

#[test]
fn a_connect_reports_delay_connection_and_handshake_in_order() {
    let ctx = Context::new();
    let (server, endpoint) = bound(&ctx, SocketType::Pull);
    let client = sock(&ctx, SocketType::Push);
    let mon = client.monitor().unwrap();
    client.connect(&endpoint).unwrap();
    let mut seen = Vec::new();
    loop {
        let ev = mon.recv_timeout(Duration::from_secs(20)).unwrap();
        let done = matches!(ev, MonitorEvent::HandshakeSucceeded { .. });
        seen.push(ev);
        if done {
            break;
        }
    }
    assert_eq!(
        names(&seen),
        ["ConnectDelayed", "Connected", "HandshakeSucceeded"]
    );
    assert_eq!(
        seen[0],
        MonitorEvent::ConnectDelayed {
            endpoint: endpoint.clone()
        }
    );
    drop(server);
}

#[test]
fn a_refused_connect_is_delayed_then_retried() {
    let ctx = Context::new();
    let client = sock(&ctx, SocketType::Push);
    client
        .set_reconnect_interval(Some(Duration::from_millis(50)))
        .unwrap();
    let mon = client.monitor().unwrap();
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    client.connect(&endpoint).unwrap();
    // Each attempt is reported as delayed, then retried after 50 ms.
    for _ in 0..2 {
        assert_eq!(
            wait_for(&mon, |e| !matches!(e, MonitorEvent::ConnectRetried { .. })),
            MonitorEvent::ConnectDelayed {
                endpoint: endpoint.clone()
            }
        );
        assert_eq!(
            wait_for(&mon, |_| true),
            MonitorEvent::ConnectRetried {
                endpoint: endpoint.clone(),
                interval: Duration::from_millis(50)
            }
        );
    }
}

#[test]
fn a_failed_bind_is_reported_as_well_as_returned() {
    let ctx = Context::new();
    let (_first, endpoint) = bound(&ctx, SocketType::Pull);
    let second = sock(&ctx, SocketType::Pull);
    let mon = second.monitor().unwrap();
    let err = second.bind(&endpoint).unwrap_err();
    assert!(matches!(err, Error::Io(ref e) if e.kind() == std::io::ErrorKind::AddrInUse));
    assert_eq!(
        mon.try_recv().unwrap(),
        MonitorEvent::BindFailed {
            endpoint: endpoint.clone(),
            error: err.to_string(),
        }
    );
    assert!(second.bind("tcp://nonsense").is_err());
    assert!(matches!(
        mon.try_recv().unwrap(),
        MonitorEvent::BindFailed { endpoint, .. } if endpoint == "tcp://nonsense"
    ));
    assert!(matches!(mon.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn a_replaced_monitor_is_stopped() {
    let ctx = Context::new();
    let s = sock(&ctx, SocketType::Pull);
    let first = s.monitor().unwrap();
    let second = s.monitor().unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    assert_eq!(first.try_recv().unwrap(), MonitorEvent::MonitorStopped);
    assert!(matches!(first.try_recv(), Err(Error::InvalidState(_))));
    assert!(matches!(first.recv(), Err(Error::InvalidState(_))));
    assert!(matches!(
        second.recv_timeout(Duration::from_secs(20)).unwrap(),
        MonitorEvent::Listening { .. }
    ));
}

#[test]
fn monitor_stops_only_after_lingering_output_is_gone() {
    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    pull.set_recv_hwm(1).unwrap();
    let (pull, endpoint) = bind_any(pull);
    let push = socket_with_timeouts(&ctx, SocketType::Push);
    push.set_linger(Some(Duration::from_secs(20))).unwrap();
    let mon = push.monitor().unwrap();
    push.connect(&endpoint).unwrap();
    handshake(&mon);
    // The puller does not read, so more than the kernel's buffers can
    // hold stays queued: the closed PUSH keeps its connection (and its
    // monitor) until the puller takes it all.
    let payload = vec![0u8; 64 * 1024];
    for _ in 0..400 {
        push.send(payload.as_slice()).unwrap();
    }
    drop(push);
    assert!(matches!(
        mon.recv_timeout(Duration::from_millis(200)),
        Err(Error::Timeout)
    ));
    for _ in 0..400 {
        pull.recv().unwrap();
    }
    let events = drain_until_stopped(&mon);
    assert_eq!(names(&events), ["Disconnected", "MonitorStopped"]);
    assert!(matches!(mon.recv(), Err(Error::InvalidState(_))));
}
