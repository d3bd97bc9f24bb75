//! The exact bytes the whole stack puts on the wire, and peers speaking
//! ZMTP 3.0, checked with a raw TCP peer.

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use brokerless::{Context, Message, SocketType};
use bytes::Bytes;
use common::{greeting, read_exactly, ready};

#[test]
fn our_push_writes_the_expected_bytes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&format!("tcp://{}", listener.local_addr().unwrap()))
        .unwrap();
    let (mut raw, _) = listener.accept().unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(20))).unwrap();

    // All 64 greeting bytes come at once, without waiting for ours.
    assert_eq!(read_exactly(&mut raw, 64), greeting(1));
    raw.write_all(&greeting(1)).unwrap();
    raw.write_all(&ready("PULL")).unwrap();
    let expected_ready = ready("PUSH");
    assert_eq!(read_exactly(&mut raw, expected_ready.len()), expected_ready);

    // Short frames up to 255 bytes, LONG above; MORE on all but the last.
    push.send(Message::from(vec![
        Bytes::from_static(b"a"),
        Bytes::new(),
        Bytes::from(vec![9u8; 255]),
        Bytes::from(vec![7u8; 256]),
    ]))
    .unwrap();
    let mut expected = vec![0x01, 1, b'a', 0x01, 0, 0x01, 255];
    expected.extend([9u8; 255]);
    expected.extend([0x02, 0, 0, 0, 0, 0, 0, 1, 0]);
    expected.extend([7u8; 256]);
    assert_eq!(read_exactly(&mut raw, expected.len()), expected);
}

#[test]
fn a_zmtp_3_0_peer_is_served() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_recv_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let mut raw = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    raw.write_all(&greeting(0)).unwrap();
    raw.write_all(&ready("PUSH")).unwrap();
    // A two-frame message, the second with a LONG header for a small size
    // (allowed on receive).
    raw.write_all(&[0x01, 2, b'h', b'i', 0x02, 0, 0, 0, 0, 0, 0, 0, 3])
        .unwrap();
    raw.write_all(b"old").unwrap();
    let m = pull.recv().unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(&m[0], b"hi");
    assert_eq!(&m[1], b"old");
}

#[test]
fn a_ping_is_answered_with_its_context() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let mut raw = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    raw.write_all(&greeting(1)).unwrap();
    raw.write_all(&ready("PUSH")).unwrap();
    raw.write_all(&[
        0x04, 0x0A, 0x04, b'P', b'I', b'N', b'G', 0, 0, b'L', b'O', b'L',
    ])
    .unwrap();
    let expected_ready = ready("PULL");
    assert_eq!(read_exactly(&mut raw, 64), greeting(1));
    assert_eq!(read_exactly(&mut raw, expected_ready.len()), expected_ready);
    assert_eq!(
        read_exactly(&mut raw, 10),
        [0x04, 0x08, 0x04, b'P', b'O', b'N', b'G', b'L', b'O', b'L']
    );
}
