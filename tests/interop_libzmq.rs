//! Interoperability with real libzmq 4.3.5 (built from source by the
//! `zeromq-src` crate, see testing/libzmq-peer), in both directions and
//! with either side binding.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use brokerless::zmtp::{Config, Connection};
use brokerless::{Context, SocketType};
use bytes::{Bytes, BytesMut};
use common::{frames, socket_with_timeouts as our_socket, to_message, zmq_ctx, zmq_socket};
use libzmq_peer as zmq;

/// Messages that exercise the frame codec: empty frames, short/long
/// boundaries, many frames, and a 1 MiB frame.
fn samples() -> Vec<Vec<Vec<u8>>> {
    let big: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 256) as u8).collect();
    vec![
        vec![b"hello".to_vec()],
        vec![Vec::new()],
        vec![b"a".to_vec(), Vec::new(), b"c".to_vec()],
        vec![vec![1; 255], vec![2; 256]],
        (0..20).map(|i| vec![i as u8; i]).collect(),
        vec![b"head".to_vec(), big],
    ]
}

#[test]
fn libzmq_push_to_our_pull() {
    let ctx = Context::new();
    let pull = our_socket(&ctx, SocketType::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let zctx = zmq_ctx();
    let push = zmq_socket(&zctx, zmq::SocketKind::Push);
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    for m in samples() {
        let refs: Vec<&[u8]> = m.iter().map(Vec::as_slice).collect();
        push.send(&refs).unwrap();
        assert_eq!(frames(&pull.recv().unwrap()), m);
    }
}

#[test]
fn our_push_to_libzmq_pull() {
    let zctx = zmq_ctx();
    let pull = zmq_socket(&zctx, zmq::SocketKind::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ctx = Context::new();
    let push = our_socket(&ctx, SocketType::Push);
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    for m in samples() {
        push.send(to_message(&m)).unwrap();
        assert_eq!(pull.recv().unwrap(), m);
    }
}

#[test]
fn libzmq_connects_to_our_bound_push_and_we_connect_to_its_bound_push() {
    let ctx = Context::new();
    let zctx = zmq_ctx();

    let push = our_socket(&ctx, SocketType::Push);
    push.bind("tcp://127.0.0.1:*").unwrap();
    let zpull = zmq_socket(&zctx, zmq::SocketKind::Pull);
    zpull.connect(&push.last_endpoint().unwrap()).unwrap();
    // The first send waits for libzmq's connection to complete.
    push.send(vec![Bytes::from_static(b"x"), Bytes::from_static(b"y")])
        .unwrap();
    assert_eq!(zpull.recv().unwrap(), vec![b"x".to_vec(), b"y".to_vec()]);

    let zpush = zmq_socket(&zctx, zmq::SocketKind::Push);
    zpush.bind("tcp://127.0.0.1:*").unwrap();
    let pull = our_socket(&ctx, SocketType::Pull);
    pull.connect(&zpush.last_endpoint().unwrap()).unwrap();
    zpush.send(&[b"from", b"libzmq"]).unwrap();
    assert_eq!(
        frames(&pull.recv().unwrap()),
        vec![b"from".to_vec(), b"libzmq".to_vec()]
    );
}

#[test]
fn many_messages_both_ways() {
    const N: usize = 100_000;
    let ctx = Context::new();
    let zctx = zmq_ctx();

    let pull = our_socket(&ctx, SocketType::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let zpush = zmq_socket(&zctx, zmq::SocketKind::Push);
    zpush.connect(&pull.last_endpoint().unwrap()).unwrap();
    let sender = std::thread::spawn(move || {
        for i in 0..N {
            zpush.send(&[&(i as u32).to_be_bytes()]).unwrap();
        }
        zpush
    });
    for i in 0..N {
        assert_eq!(&pull.recv().unwrap()[0], &(i as u32).to_be_bytes());
    }
    drop(sender.join().unwrap());

    let zpull = zmq_socket(&zctx, zmq::SocketKind::Pull);
    zpull.bind("tcp://127.0.0.1:*").unwrap();
    let push = our_socket(&ctx, SocketType::Push);
    push.connect(&zpull.last_endpoint().unwrap()).unwrap();
    let sender = std::thread::spawn(move || {
        for i in 0..N {
            push.send(Bytes::from((i as u32).to_be_bytes().to_vec()))
                .unwrap();
        }
        push
    });
    for i in 0..N {
        assert_eq!(
            zpull.recv().unwrap(),
            vec![(i as u32).to_be_bytes().to_vec()]
        );
    }
    drop(sender.join().unwrap());
}

#[test]
fn libzmq_refuses_and_is_refused_by_incompatible_types() {
    // Our PUSH bound, a libzmq PUSH connecting: the handshake fails on
    // both sides and nothing is delivered; a libzmq PULL is then served.
    let ctx = Context::new();
    let zctx = zmq_ctx();
    let push = our_socket(&ctx, SocketType::Push);
    push.bind("tcp://127.0.0.1:*").unwrap();
    let ep = push.last_endpoint().unwrap();
    let wrong = zmq_socket(&zctx, zmq::SocketKind::Push);
    wrong.set_linger(0).unwrap();
    wrong.connect(&ep).unwrap();
    let right = zmq_socket(&zctx, zmq::SocketKind::Pull);
    right.connect(&ep).unwrap();
    for i in 0..10 {
        push.send(i.to_string()).unwrap();
    }
    for i in 0..10 {
        assert_eq!(right.recv().unwrap(), vec![i.to_string().into_bytes()]);
    }
}

/// Reads one ZMTP frame (header and body) from a raw stream.
fn read_frame(s: &mut std::net::TcpStream) -> Vec<u8> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).unwrap();
    assert_eq!(head[0] & 0x02, 0, "READY fits a short frame");
    let mut body = vec![0u8; head[1] as usize];
    s.read_exact(&mut body).unwrap();
    let mut frame = head.to_vec();
    frame.extend(body);
    frame
}

/// Takes everything the core has queued for the wire.
fn drain(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut slices = [std::io::IoSlice::new(&[]); 8];
        let n = conn.transmit().io_slices(&mut slices);
        for s in &slices[..n] {
            out.extend_from_slice(s);
        }
    }
    conn.transmit_mut().advance(out.len());
    out
}

/// The READY libzmq sends for a socket type, captured on a raw TCP
/// listener, is byte for byte the READY our core sends for that type.
#[test]
fn our_ready_matches_the_bytes_libzmq_emits() {
    let zctx = zmq_ctx();
    for (kind, ours) in [
        (zmq::SocketKind::Push, SocketType::Push),
        (zmq::SocketKind::Pull, SocketType::Pull),
        (zmq::SocketKind::Dealer, SocketType::Dealer),
        (zmq::SocketKind::Sub, SocketType::Sub),
    ] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let z = zmq_socket(&zctx, kind);
        z.set_linger(0).unwrap();
        z.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
        let (mut raw, _) = listener.accept().unwrap();
        raw.set_read_timeout(Some(Duration::from_secs(20))).unwrap();

        // Our core plays the other side of the greeting, so libzmq goes on.
        let mut conn = Connection::new(Config::new(ours));
        let mut their_greeting = [0u8; 64];
        raw.write_all(&drain(&mut conn)).unwrap();
        raw.read_exact(&mut their_greeting).unwrap();
        assert_eq!(&their_greeting[10..12], &[3, 1], "libzmq 4.3.5 speaks 3.1");
        let their_ready = read_frame(&mut raw);

        // Feeding libzmq's greeting makes our core queue its READY.
        let mut input = BytesMut::from(&their_greeting[..]);
        assert!(conn.handle_input(&mut input).unwrap().is_none());
        assert_eq!(drain(&mut conn), their_ready, "READY of {ours}");
    }
}
