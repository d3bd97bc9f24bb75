//! ZMTP heartbeats (port of libzmq's test_heartbeats): the PING bytes and
//! TTL a raw mock peer sees, a silent peer dropped after our PING, a
//! peer's own TTL honoured, and heartbeats with libzmq.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use brokerless::{Context, MonitorEvent, ProtocolError, SocketType};
use common::{greeting, read_exactly, ready, wait_for, zsock};
use libzmq_peer as zmq;

const LONG: Duration = Duration::from_secs(20);

fn raw_push(ep: &str) -> TcpStream {
    let mut raw = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    raw.set_read_timeout(Some(LONG)).unwrap();
    raw.write_all(&greeting(1)).unwrap();
    raw.write_all(&ready("PUSH")).unwrap();
    assert_eq!(read_exactly(&mut raw, 64), greeting(1));
    let our_ready = ready("PULL");
    assert_eq!(read_exactly(&mut raw, our_ready.len()), our_ready);
    raw
}

fn disconnect_error(monitor: &brokerless::Monitor) -> Option<ProtocolError> {
    match wait_for(monitor, |e| matches!(e, MonitorEvent::Disconnected { .. })) {
        MonitorEvent::Disconnected { error, .. } => error,
        _ => unreachable!("wait_for returns what the predicate accepts"),
    }
}

#[test]
fn test_heartbeats_ping_bytes_and_silent_peer() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_heartbeat_interval(Some(Duration::from_millis(100)))
        .unwrap();
    pull.set_heartbeat_ttl(Some(Duration::from_secs(2)))
        .unwrap();
    let monitor = pull.monitor().unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut raw = raw_push(&pull.last_endpoint().unwrap());
    // PING with TTL 20 deciseconds and an empty context.
    assert_eq!(
        read_exactly(&mut raw, 9),
        [0x04, 0x07, 0x04, b'P', b'I', b'N', b'G', 0x00, 0x14]
    );
    // The mock never answers: dropped after the timeout (= interval).
    assert_eq!(
        disconnect_error(&monitor),
        Some(ProtocolError::HeartbeatTimeout)
    );
}

#[test]
fn test_heartbeats_answered_pings_keep_the_connection() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_heartbeat_interval(Some(Duration::from_millis(50)))
        .unwrap();
    pull.set_recv_timeout(Some(LONG)).unwrap();
    let monitor = pull.monitor().unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut raw = raw_push(&pull.last_endpoint().unwrap());
    for _ in 0..5 {
        assert_eq!(
            read_exactly(&mut raw, 9),
            [0x04, 0x07, 0x04, b'P', b'I', b'N', b'G', 0x00, 0x00]
        );
        raw.write_all(b"\x04\x05\x04PONG").unwrap();
    }
    raw.write_all(b"\x00\x02hi").unwrap();
    assert_eq!(&pull.recv().unwrap()[0], b"hi");
    // Five answered PINGs and still connected: nothing but the
    // handshake on the monitor.
    loop {
        match monitor.try_recv() {
            Ok(MonitorEvent::Disconnected { .. }) => panic!("dropped a live peer"),
            Ok(_) => {}
            Err(_) => break,
        }
    }
}

#[test]
fn test_heartbeats_peer_ttl_is_honoured() {
    // No heartbeats of our own; the peer's PING asks for a 300 ms TTL and
    // the peer then goes silent: we drop it.
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let monitor = pull.monitor().unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut raw = raw_push(&pull.last_endpoint().unwrap());
    raw.write_all(&[0x04, 0x07, 0x04, b'P', b'I', b'N', b'G', 0x00, 0x03])
        .unwrap();
    assert_eq!(read_exactly(&mut raw, 7), *b"\x04\x05\x04PONG");
    assert_eq!(
        disconnect_error(&monitor),
        Some(ProtocolError::HeartbeatTimeout)
    );
}

#[test]
fn heartbeats_with_libzmq_both_ways() {
    // Both sides ping every 50 ms with a 1 s TTL; libzmq answers ours and
    // we answer libzmq's, so the connection carries messages after many
    // heartbeat rounds.
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_heartbeat_interval(Some(Duration::from_millis(50)))
        .unwrap();
    pull.set_heartbeat_ttl(Some(Duration::from_secs(1)))
        .unwrap();
    pull.set_recv_timeout(Some(LONG)).unwrap();
    let monitor = pull.monitor().unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let zctx = zmq::Context::new().unwrap();
    let push = zsock(&zctx, zmq::SocketKind::Push);
    push.set_int(zmq::ZMQ_HEARTBEAT_IVL, 50).unwrap();
    push.set_int(zmq::ZMQ_HEARTBEAT_TTL, 1000).unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    for i in 0..10 {
        push.send(&[i.to_string().as_bytes()]).unwrap();
        assert_eq!(&pull.recv().unwrap()[0], i.to_string().as_bytes());
        // Let a few heartbeat rounds pass between messages.
        assert!(matches!(
            monitor.recv_timeout(Duration::from_millis(60)),
            Err(brokerless::Error::Timeout)
                | Ok(MonitorEvent::Accepted { .. })
                | Ok(MonitorEvent::HandshakeSucceeded { .. })
                | Ok(MonitorEvent::Listening { .. })
        ));
    }
}
