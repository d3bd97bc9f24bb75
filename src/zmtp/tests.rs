//! Protocol scenarios on in-memory pairs of [`Connection`]s, hand-made
//! peer bytes for hostile input, and a property test feeding a random
//! stream to a connection in random splits.

use std::io::IoSlice;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::frame::FrameHeader;
use super::greeting::{Greeting, MECHANISM_LEN, NULL_MECHANISM};
use super::*;
use crate::{Message, ProtocolError, SocketType};

// ---------------------------------------------------------------- helpers

fn config(socket_type: SocketType) -> Config {
    Config::new(socket_type)
}

/// Everything pending in the transmit queue, drained through io_slices.
pub(super) fn take_transmit(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while !conn.transmit().is_empty() {
        let mut slots = [IoSlice::new(&[]); 4];
        let n = conn.transmit().io_slices(&mut slots);
        let written: usize = slots[..n].iter().map(|s| s.len()).sum();
        for s in &slots[..n] {
            out.extend_from_slice(s);
        }
        conn.transmit_mut().advance(written);
    }
    out
}

/// Calls handle_input until it needs more bytes or fails.
pub(super) fn drive(
    conn: &mut Connection,
    input: &mut BytesMut,
) -> (Vec<Event>, Option<ProtocolError>) {
    let mut events = Vec::new();
    loop {
        match conn.handle_input(input) {
            Ok(Some(ev)) => events.push(ev),
            Ok(None) => return (events, None),
            Err(e) => return (events, Some(e)),
        }
    }
}

/// Feeds `bytes` to a fresh connection in one go.
fn feed(cfg: Config, bytes: &[u8]) -> (Connection, Vec<Event>, Option<ProtocolError>) {
    let mut conn = Connection::new(cfg);
    let mut input = BytesMut::from(bytes);
    let (events, err) = drive(&mut conn, &mut input);
    (conn, events, err)
}

/// Two connections and the bytes in flight to each.
struct Pair {
    a: Connection,
    b: Connection,
    to_a: BytesMut,
    to_b: BytesMut,
}

impl Pair {
    fn new(a: Config, b: Config) -> Pair {
        Pair {
            a: Connection::new(a),
            b: Connection::new(b),
            to_a: BytesMut::new(),
            to_b: BytesMut::new(),
        }
    }

    /// Shuttles bytes both ways until neither side has anything to say;
    /// returns the events (and first error) of each side.
    fn run(&mut self) -> [(Vec<Event>, Option<ProtocolError>); 2] {
        let mut out: [(Vec<Event>, Option<ProtocolError>); 2] = Default::default();
        loop {
            let a_bytes = take_transmit(&mut self.a);
            let b_bytes = take_transmit(&mut self.b);
            if a_bytes.is_empty() && b_bytes.is_empty() {
                return out;
            }
            self.to_b.extend_from_slice(&a_bytes);
            self.to_a.extend_from_slice(&b_bytes);
            for (side, conn, input) in [
                (0, &mut self.a, &mut self.to_a),
                (1, &mut self.b, &mut self.to_b),
            ] {
                if out[side].1.is_some() {
                    continue;
                }
                let (events, err) = drive(conn, input);
                out[side].0.extend(events);
                out[side].1 = err;
            }
        }
    }

    fn established(a: SocketType, b: SocketType) -> Pair {
        let mut pair = Pair::new(config(a), config(b));
        let [(ea, erra), (eb, errb)] = pair.run();
        assert_eq!((erra, errb), (None, None));
        assert!(matches!(ea.as_slice(), [Event::Established(p)] if p.socket_type == b));
        assert!(matches!(eb.as_slice(), [Event::Established(p)] if p.socket_type == a));
        pair
    }
}

fn greeting(major: u8, minor: u8, mechanism: &[u8]) -> Vec<u8> {
    let mut mech = [0u8; MECHANISM_LEN];
    mech[..mechanism.len()].copy_from_slice(mechanism);
    let mut buf = BytesMut::new();
    Greeting {
        major,
        minor,
        mechanism: mech,
        as_server: false,
    }
    .encode(&mut buf);
    buf.to_vec()
}

fn command_frame(cmd: &Command) -> Vec<u8> {
    let mut buf = BytesMut::new();
    FrameHeader::command(cmd.encoded_len() as u64).encode(&mut buf);
    cmd.encode(&mut buf);
    buf.to_vec()
}

fn ready(props: &[(&'static str, &'static [u8])]) -> Vec<u8> {
    let mut p = Properties::new();
    for (n, v) in props {
        p.push(*n, *v).expect("valid property");
    }
    command_frame(&Command::Ready(p))
}

fn data_frame(body: &[u8], more: bool) -> Vec<u8> {
    let mut buf = BytesMut::new();
    FrameHeader::message(body.len() as u64, more).encode(&mut buf);
    buf.extend_from_slice(body);
    buf.to_vec()
}

/// A 3.1 NULL greeting followed by the READY of `socket_type`.
fn peer_hello(socket_type: &'static str) -> Vec<u8> {
    let mut v = greeting(3, 1, b"NULL");
    v.extend(ready(&[("Socket-Type", socket_type.as_bytes())]));
    v
}

fn msg(frames: &[&[u8]]) -> Message {
    frames.iter().map(|f| Bytes::copy_from_slice(f)).collect()
}

// -------------------------------------------------------------- handshake

#[test]
fn push_pull_established_both_sides() {
    let mut pair = Pair::new(config(SocketType::Push), config(SocketType::Pull));
    let [(ea, erra), (eb, errb)] = pair.run();
    assert_eq!((erra, errb), (None, None));
    let Some(Event::Established(peer)) = ea.first() else {
        panic!("{ea:?}")
    };
    assert_eq!(peer.socket_type, SocketType::Pull);
    assert_eq!(peer.minor_version, 1);
    assert_eq!(peer.routing_id, Bytes::new());
    assert_eq!(
        peer.properties.get("socket-type").map(|v| &v[..]),
        Some(&b"PULL"[..])
    );
    assert_eq!(pair.a.peer(), Some(peer));
    assert!(pair.a.is_established() && pair.b.is_established());
    assert!(matches!(eb.as_slice(), [Event::Established(p)] if p.socket_type == SocketType::Push));
}

#[test]
fn messages_flow_after_handshake() {
    let mut pair = Pair::established(SocketType::Push, SocketType::Pull);
    let big = Bytes::from(vec![0xAB; 1 << 20]);
    let sent = [
        msg(&[b"hello"]),
        msg(&[b"a", b"bb", b"ccc"]),
        msg(&[b""]),
        msg(&[b"", b"", b"x", b""]),
        Message::from(big.clone()),
        msg(&[&[7u8; 256], &[8u8; 255]]),
    ];
    for m in &sent {
        pair.a.send(m);
    }
    // The 1 MiB body is queued by reference, not copied.
    let mut slots = [IoSlice::new(&[]); 8];
    let n = pair.a.transmit().io_slices(&mut slots);
    assert!(slots[..n].iter().any(|s| s.as_ptr() == big.as_ptr()));

    let [(ea, erra), (eb, errb)] = pair.run();
    assert_eq!((erra, errb), (None, None));
    assert!(ea.is_empty());
    let got: Vec<Message> = eb
        .into_iter()
        .map(|e| match e {
            Event::Message(m) => m,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(got, sent);
}

#[test]
fn incompatible_pair_fails_on_both_sides() {
    let mut pair = Pair::new(config(SocketType::Push), config(SocketType::Push));
    let [(ea, erra), (eb, errb)] = pair.run();
    let expected = ProtocolError::IncompatibleSocketType {
        ours: SocketType::Push,
        theirs: SocketType::Push,
    };
    assert!(ea.is_empty() && eb.is_empty());
    assert_eq!(erra, Some(expected.clone()));
    assert_eq!(errb, Some(expected));
    assert!(!pair.a.is_established());
}

#[test]
fn incompatible_peer_gets_an_error_command() {
    let (mut conn, events, err) = feed(config(SocketType::Push), &peer_hello("PUB"));
    assert!(events.is_empty());
    assert!(matches!(
        err,
        Some(ProtocolError::IncompatibleSocketType { .. })
    ));
    let out = take_transmit(&mut conn);
    let error = command_frame(&Command::Error {
        reason: Bytes::from_static(b"incompatible socket type"),
    });
    assert!(out.ends_with(&error), "{out:?}");
}

#[test]
fn dealer_ready_exact_bytes() {
    let mut conn = Connection::new(config(SocketType::Dealer));
    let greeting_only = take_transmit(&mut conn);
    assert_eq!(greeting_only, greeting(3, 1, b"NULL"));
    let mut input = BytesMut::from(&greeting(3, 1, b"NULL")[..]);
    assert_eq!(conn.handle_input(&mut input), Ok(None));
    let mut expected = vec![0x04, 0x29, 0x05];
    expected.extend_from_slice(b"READY");
    expected.push(0x0B);
    expected.extend_from_slice(b"Socket-Type");
    expected.extend_from_slice(&[0, 0, 0, 6]);
    expected.extend_from_slice(b"DEALER");
    expected.push(0x08);
    expected.extend_from_slice(b"Identity");
    expected.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(take_transmit(&mut conn), expected);
}

#[test]
fn sub_ready_exact_bytes() {
    let mut conn = Connection::new(config(SocketType::Sub));
    let mut input = BytesMut::from(&greeting(3, 1, b"NULL")[..]);
    assert_eq!(conn.handle_input(&mut input), Ok(None));
    let mut expected = greeting(3, 1, b"NULL");
    expected.extend_from_slice(&[0x04, 0x19, 0x05]);
    expected.extend_from_slice(b"READY");
    expected.push(0x0B);
    expected.extend_from_slice(b"Socket-Type");
    expected.extend_from_slice(&[0, 0, 0, 3]);
    expected.extend_from_slice(b"SUB");
    assert_eq!(take_transmit(&mut conn), expected);
}

#[test]
fn routing_id_is_sent_and_received() {
    let mut cfg = config(SocketType::Dealer);
    cfg.routing_id = Bytes::from_static(b"me");
    let mut pair = Pair::new(cfg, config(SocketType::Router));
    let [(_, erra), (eb, errb)] = pair.run();
    assert_eq!((erra, errb), (None, None));
    let Some(Event::Established(peer)) = eb.first() else {
        panic!("{eb:?}")
    };
    assert_eq!(peer.routing_id, Bytes::from_static(b"me"));
    // A PUSH does not send its routing id.
    let mut cfg = config(SocketType::Push);
    cfg.routing_id = Bytes::from_static(b"me");
    let mut conn = Connection::new(cfg);
    let mut input = BytesMut::from(&greeting(3, 1, b"NULL")[..]);
    assert_eq!(conn.handle_input(&mut input), Ok(None));
    let out = take_transmit(&mut conn);
    assert!(!out.windows(8).any(|w| w == b"Identity"));
}

#[test]
fn zmtp_3_0_peer_is_accepted() {
    let mut bytes = greeting(3, 0, b"NULL");
    bytes.extend(ready(&[("Socket-Type", b"PULL")]));
    let (_, events, err) = feed(config(SocketType::Push), &bytes);
    assert_eq!(err, None);
    assert!(matches!(events.as_slice(), [Event::Established(p)] if p.minor_version == 0));
}

#[test]
fn higher_versions_count_as_3_1() {
    for (major, minor) in [(3, 2), (4, 0), (255, 255)] {
        let mut bytes = greeting(major, minor, b"NULL");
        bytes.extend(ready(&[("Socket-Type", b"PULL")]));
        let (_, events, err) = feed(config(SocketType::Push), &bytes);
        assert_eq!(err, None);
        assert!(matches!(events.as_slice(), [Event::Established(p)] if p.minor_version == 1));
    }
}

#[test]
fn version_2_rejected_at_byte_ten() {
    let g = greeting(2, 0, b"NULL");
    let mut conn = Connection::new(config(SocketType::Push));
    let mut input = BytesMut::from(&g[..10]);
    assert_eq!(conn.handle_input(&mut input), Ok(None));
    assert_eq!(conn.read_hint(), 54);
    input.extend_from_slice(&g[10..11]);
    assert_eq!(
        conn.handle_input(&mut input),
        Err(ProtocolError::UnsupportedVersion { major: 2, minor: 0 })
    );
}

#[test]
fn garbage_rejected_after_one_byte_and_error_is_sticky() {
    let mut conn = Connection::new(config(SocketType::Pull));
    let mut input = BytesMut::from(&b"G"[..]);
    assert_eq!(
        conn.handle_input(&mut input),
        Err(ProtocolError::BadSignature)
    );
    let mut more = BytesMut::from(&peer_hello("PUSH")[..]);
    assert_eq!(
        conn.handle_input(&mut more),
        Err(ProtocolError::BadSignature)
    );
    assert!(!conn.is_established());
}

#[test]
fn plain_mechanism_rejected() {
    let (_, events, err) = feed(config(SocketType::Push), &greeting(3, 1, b"PLAIN"));
    assert!(events.is_empty());
    assert_eq!(
        err,
        Some(ProtocolError::MechanismMismatch {
            ours: "NULL".into(),
            theirs: "PLAIN".into()
        })
    );
    // Same prefix, different length: "NULL\0...X" is no NULL either.
    let mut mech = NULL_MECHANISM;
    mech[19] = b'X';
    let (_, _, err) = feed(config(SocketType::Push), &greeting(3, 1, &mech));
    assert!(matches!(err, Some(ProtocolError::MechanismMismatch { .. })));
}

#[test]
fn bad_ready_metadata() {
    let mut bytes = greeting(3, 1, b"NULL");
    // READY whose only property announces a 4-byte value but has 3.
    let body = b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PUS";
    bytes.extend_from_slice(&[0x04, body.len() as u8]);
    bytes.extend_from_slice(body);
    let (_, _, err) = feed(config(SocketType::Pull), &bytes);
    assert_eq!(err, Some(ProtocolError::MalformedMetadata));

    let mut bytes = greeting(3, 1, b"NULL");
    bytes.extend(ready(&[("Identity", b"x")]));
    let (_, _, err) = feed(config(SocketType::Pull), &bytes);
    assert_eq!(err, Some(ProtocolError::MissingSocketType));

    let (_, _, err) = feed(config(SocketType::Pull), &peer_hello("push"));
    assert_eq!(err, Some(ProtocolError::UnknownSocketType("push".into())));
}

#[test]
fn command_with_more_rejected_at_its_header() {
    let mut bytes = greeting(3, 1, b"NULL");
    bytes.extend_from_slice(&[0x05, 0x29]); // COMMAND | MORE, body absent
    let (_, _, err) = feed(config(SocketType::Pull), &bytes);
    assert_eq!(err, Some(ProtocolError::CommandWithMore));
}

#[test]
fn data_before_ready_rejected_at_its_header() {
    let mut bytes = greeting(3, 1, b"NULL");
    bytes.extend_from_slice(&[0x00, 0x05]);
    let (_, _, err) = feed(config(SocketType::Pull), &bytes);
    assert_eq!(err, Some(ProtocolError::MessageBeforeHandshake));
}

#[test]
fn other_command_before_ready_rejected() {
    let mut bytes = greeting(3, 1, b"NULL");
    bytes.extend(command_frame(&Command::Ping {
        ttl: 0,
        context: Bytes::new(),
    }));
    let (_, _, err) = feed(config(SocketType::Pull), &bytes);
    assert_eq!(
        err,
        Some(ProtocolError::UnexpectedCommand {
            name: "PING".into()
        })
    );
}

#[test]
fn malformed_command_rejected() {
    let mut bytes = greeting(3, 1, b"NULL");
    bytes.extend_from_slice(&[0x04, 0x01, 0x00]); // zero-length name
    let (_, _, err) = feed(config(SocketType::Pull), &bytes);
    assert!(matches!(err, Some(ProtocolError::MalformedCommand { .. })));

    let mut bytes = peer_hello("PUSH");
    bytes.extend_from_slice(b"\x04\x06\x04PING\x00"); // PING with 1 TTL byte
    let (_, events, err) = feed(config(SocketType::Pull), &bytes);
    assert_eq!(events.len(), 1);
    assert!(matches!(err, Some(ProtocolError::MalformedCommand { .. })));
}

#[test]
fn data_may_follow_ready_in_the_same_input() {
    let mut bytes = peer_hello("PUSH");
    bytes.extend(data_frame(b"one", false));
    bytes.extend(data_frame(b"two", true));
    bytes.extend(data_frame(b"three", false));
    let (conn, events, err) = feed(config(SocketType::Pull), &bytes);
    assert_eq!(err, None);
    assert_eq!(events.len(), 3);
    assert_eq!(events[1], Event::Message(msg(&[b"one"])));
    assert_eq!(events[2], Event::Message(msg(&[b"two", b"three"])));
    assert_eq!(conn.read_hint(), 2);
}

#[test]
fn read_hint_tracks_the_unit_being_parsed() {
    let mut conn = Connection::new(config(SocketType::Pull));
    let hello = peer_hello("PUSH");
    let mut input = BytesMut::from(&hello[..20]);
    assert_eq!(conn.handle_input(&mut input), Ok(None));
    assert_eq!(conn.read_hint(), 44);
    input.extend_from_slice(&hello[20..]);
    assert!(matches!(
        conn.handle_input(&mut input),
        Ok(Some(Event::Established(_)))
    ));
    assert_eq!(conn.handle_input(&mut input), Ok(None));
    assert_eq!(conn.read_hint(), 2);
    let frame = data_frame(&[1; 300], false);
    input.extend_from_slice(&frame[..1]);
    assert_eq!(conn.handle_input(&mut input), Ok(None));
    assert_eq!(conn.read_hint(), 8);
    input.extend_from_slice(&frame[1..109]);
    assert_eq!(conn.handle_input(&mut input), Ok(None));
    assert_eq!(conn.read_hint(), 200);
    assert_eq!(input.len(), 109, "partial frame stays in the input");
    input.extend_from_slice(&frame[109..]);
    assert!(matches!(
        conn.handle_input(&mut input),
        Ok(Some(Event::Message(m))) if m.byte_len() == 300
    ));
}

// ------------------------------------------------------- traffic commands

#[test]
fn ping_is_answered_with_pong() {
    let mut conn = Connection::new(config(SocketType::Pull));
    let mut input = BytesMut::from(&peer_hello("PUSH")[..]);
    let (events, err) = drive(&mut conn, &mut input);
    assert_eq!((events.len(), err), (1, None));
    take_transmit(&mut conn);

    input.extend_from_slice(b"\x04\x0a\x04PING\x00\x00LOL");
    assert_eq!(
        conn.handle_input(&mut input),
        Ok(Some(Event::Command(Command::Ping {
            ttl: 0,
            context: Bytes::from_static(b"LOL")
        })))
    );
    assert_eq!(take_transmit(&mut conn), b"\x04\x08\x04PONGLOL");
    assert!(input.is_empty());
}

#[test]
fn traffic_commands_are_reported_unknown_ignored() {
    let mut bytes = peer_hello("XPUB");
    let cmds = [
        Command::Subscribe(Bytes::from_static(b"A")),
        Command::Unknown {
            name: Bytes::from_static(b"HELLO"),
            data: Bytes::from_static(b"world"),
        },
        Command::Cancel(Bytes::from_static(b"A")),
        Command::Pong {
            context: Bytes::from_static(b"ctx"),
        },
    ];
    for c in &cmds {
        bytes.extend(command_frame(c));
    }
    assert_eq!(&command_frame(&cmds[0]), b"\x04\x0b\x09SUBSCRIBEA");
    let (_, events, err) = feed(config(SocketType::Sub), &bytes);
    assert_eq!(err, None);
    assert_eq!(
        events[1..],
        [
            Event::Command(cmds[0].clone()),
            Event::Command(cmds[2].clone()),
            Event::Command(cmds[3].clone())
        ]
    );
}

#[test]
fn commands_may_come_between_frames_of_a_message() {
    let mut bytes = peer_hello("PUSH");
    bytes.extend(data_frame(b"head", true));
    bytes.extend_from_slice(b"\x04\x07\x04PING\x00\x01");
    bytes.extend(data_frame(b"tail", false));
    let (_, events, err) = feed(config(SocketType::Pull), &bytes);
    assert_eq!(err, None);
    assert!(matches!(
        events[1],
        Event::Command(Command::Ping { ttl: 1, .. })
    ));
    assert_eq!(events[2], Event::Message(msg(&[b"head", b"tail"])));
}

#[test]
fn ready_after_handshake_rejected() {
    let mut bytes = peer_hello("PUSH");
    bytes.extend(ready(&[("Socket-Type", b"PUSH")]));
    let (_, events, err) = feed(config(SocketType::Pull), &bytes);
    assert_eq!(events.len(), 1);
    assert_eq!(
        err,
        Some(ProtocolError::UnexpectedCommand {
            name: "READY".into()
        })
    );
}

#[test]
fn error_from_peer_is_fatal_at_any_time() {
    let error = command_frame(&Command::Error {
        reason: Bytes::from_static(b"go away"),
    });
    let expected = Some(ProtocolError::PeerError {
        reason: "go away".into(),
    });
    let mut during = greeting(3, 1, b"NULL");
    during.extend_from_slice(&error);
    let (_, _, err) = feed(config(SocketType::Pull), &during);
    assert_eq!(err, expected);

    let mut after = peer_hello("PUSH");
    after.extend_from_slice(&error);
    let (conn, events, err) = feed(config(SocketType::Pull), &after);
    assert_eq!(events.len(), 1);
    assert_eq!(err, expected);
    assert!(!conn.is_established());
}

// ------------------------------------------------------------- size limits

#[test]
fn huge_frame_without_limit_allocates_nothing() {
    let mut conn = Connection::new(config(SocketType::Pull));
    let mut input = BytesMut::from(&peer_hello("PUSH")[..]);
    let (events, err) = drive(&mut conn, &mut input);
    assert_eq!((events.len(), err), (1, None));
    // 2^63-1, the largest size RFC 37 allows: it is waited for.
    input.extend_from_slice(&[0x02, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, b'x']);
    let capacity = input.capacity();
    assert_eq!(conn.handle_input(&mut input), Ok(None));
    assert_eq!(input.len(), 10, "nothing consumed");
    assert_eq!(input.capacity(), capacity, "nothing reserved");
    assert_eq!(conn.read_hint(), (1usize << 63) - 2);
}

#[test]
fn frame_sizes_over_the_rfc_ceiling_are_refused_without_a_limit() {
    // "A long frame has a body of 0 to 2^63-1 octets."
    for size in [1u64 << 63, u64::MAX] {
        for flags in [0x02u8, 0x03, 0x06] {
            let mut bytes = peer_hello("PUSH");
            bytes.push(flags);
            bytes.extend(size.to_be_bytes());
            let (_, events, err) = feed(config(SocketType::Pull), &bytes);
            assert_eq!(events.len(), 1);
            assert_eq!(
                err,
                Some(ProtocolError::MessageTooLarge {
                    size,
                    max: MAX_FRAME_SIZE
                }),
                "flags {flags:#04x}"
            );
        }
    }
    // A multipart total past the ceiling is refused too.
    let mut bytes = peer_hello("PUSH");
    bytes.push(0x03);
    bytes.extend((1u64 << 62).to_be_bytes());
    let mut conn = Connection::new(config(SocketType::Pull));
    let mut input = BytesMut::from(&bytes[..]);
    let (events, err) = drive(&mut conn, &mut input);
    assert_eq!((events.len(), err), (1, None), "2^62 is waited for");
    assert_eq!(conn.read_hint(), 1 << 62);
}

#[test]
fn huge_frame_with_limit_rejected_at_its_header() {
    let mut cfg = config(SocketType::Pull);
    cfg.max_msg_size = Some(1000);
    let mut bytes = peer_hello("PUSH");
    bytes.extend_from_slice(&[0x02, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    let (_, events, err) = feed(cfg, &bytes);
    assert_eq!(events.len(), 1);
    assert_eq!(
        err,
        Some(ProtocolError::MessageTooLarge {
            size: 1 << 63,
            max: 1000
        })
    );
}

#[test]
fn limit_applies_to_the_multipart_total() {
    let mut cfg = config(SocketType::Pull);
    cfg.max_msg_size = Some(100);
    let mut bytes = peer_hello("PUSH");
    bytes.extend(data_frame(&[1; 60], true));
    bytes.extend(data_frame(&[2; 40], false)); // exactly 100: fine
    bytes.extend(data_frame(&[3; 60], true));
    bytes.extend_from_slice(&[0x00, 50]); // 110 in all, body not even sent
    let (_, events, err) = feed(cfg, &bytes);
    assert_eq!(events.len(), 2);
    assert_eq!(
        err,
        Some(ProtocolError::MessageTooLarge {
            size: 110,
            max: 100
        })
    );
}

#[test]
fn small_limit_does_not_break_handshake_or_commands() {
    let mut cfg = config(SocketType::Pub);
    cfg.max_msg_size = Some(4);
    let mut bytes = peer_hello("SUB");
    bytes.extend(command_frame(&Command::Subscribe(Bytes::from(vec![
        b'a';
        300
    ]))));
    let (_, events, err) = feed(cfg.clone(), &bytes);
    assert_eq!((events.len(), err), (2, None));
    // ... but a command beyond the floor is refused before its body.
    let mut bytes = peer_hello("SUB");
    bytes.extend_from_slice(&[0x06, 0, 0, 0, 0, 0, 0x10, 0, 1]);
    let (_, _, err) = feed(cfg, &bytes);
    assert!(matches!(err, Some(ProtocolError::MessageTooLarge { .. })));
}

#[test]
fn frame_count_limit_applies_at_the_header() {
    let mut cfg = config(SocketType::Pull);
    cfg.max_frames = Some(3);
    let mut bytes = peer_hello("PUSH");
    bytes.extend(data_frame(b"a", true));
    bytes.extend(data_frame(b"b", true));
    bytes.extend(data_frame(b"c", false)); // exactly 3: fine
    bytes.extend(data_frame(b"", true));
    bytes.extend(data_frame(b"", true));
    bytes.extend(data_frame(b"", true));
    bytes.extend_from_slice(&[0x00, 200]); // the 4th frame, body not sent
    let (_, events, err) = feed(cfg, &bytes);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1], Event::Message(msg(&[b"a", b"b", b"c"])));
    assert_eq!(err, Some(ProtocolError::TooManyFrames { max: 3 }));
}

#[test]
fn default_frame_limit_is_65536() {
    assert_eq!(
        config(SocketType::Pull).max_frames,
        Some(DEFAULT_MAX_FRAMES)
    );
    assert_eq!(DEFAULT_MAX_FRAMES, 65_536);
    let flood = |frames: usize| {
        let mut bytes = peer_hello("PUSH");
        for _ in 1..frames {
            bytes.extend_from_slice(&[0x01, 0x00]);
        }
        bytes.extend_from_slice(&[0x00, 0x00]);
        bytes
    };
    let (_, events, err) = feed(config(SocketType::Pull), &flood(DEFAULT_MAX_FRAMES));
    assert_eq!(err, None);
    assert!(matches!(&events[1], Event::Message(m) if m.len() == DEFAULT_MAX_FRAMES));
    let (_, events, err) = feed(config(SocketType::Pull), &flood(DEFAULT_MAX_FRAMES + 1));
    assert_eq!(events.len(), 1);
    assert_eq!(
        err,
        Some(ProtocolError::TooManyFrames {
            max: DEFAULT_MAX_FRAMES
        })
    );
    // None lifts the limit.
    let mut cfg = config(SocketType::Pull);
    cfg.max_frames = None;
    let (_, events, err) = feed(cfg, &flood(DEFAULT_MAX_FRAMES * 2));
    assert_eq!(err, None);
    assert!(matches!(&events[1], Event::Message(m) if m.len() == DEFAULT_MAX_FRAMES * 2));
}

#[test]
fn frame_limit_counts_per_message_not_per_connection() {
    let mut cfg = config(SocketType::Pull);
    cfg.max_frames = Some(2);
    let mut bytes = peer_hello("PUSH");
    for _ in 0..1000 {
        bytes.extend(data_frame(b"x", true));
        bytes.extend(data_frame(b"y", false));
    }
    let (_, events, err) = feed(cfg, &bytes);
    assert_eq!(err, None);
    assert_eq!(events.len(), 1001);
}

#[test]
fn handshake_commands_are_capped_whatever_the_limit() {
    for max_msg_size in [None, Some(1 << 30)] {
        let mut cfg = config(SocketType::Pull);
        cfg.max_msg_size = max_msg_size;
        let mut bytes = greeting(3, 1, b"NULL");
        bytes.push(0x06);
        bytes.extend((HANDSHAKE_COMMAND_LIMIT + 1).to_be_bytes());
        let (_, _, err) = feed(cfg.clone(), &bytes);
        assert_eq!(
            err,
            Some(ProtocolError::MessageTooLarge {
                size: HANDSHAKE_COMMAND_LIMIT + 1,
                max: HANDSHAKE_COMMAND_LIMIT
            })
        );
        // A READY of exactly the limit is fine (padded with an X- property).
        let mut props = Properties::new();
        props.push("Socket-Type", "PUSH").expect("valid property");
        let pad = HANDSHAKE_COMMAND_LIMIT as usize - 6 - (1 + 11 + 4 + 4) - (1 + 5 + 4);
        props
            .push("X-Pad", vec![b'p'; pad])
            .expect("valid property");
        let ready = Command::Ready(props);
        assert_eq!(ready.encoded_len() as u64, HANDSHAKE_COMMAND_LIMIT);
        let mut bytes = greeting(3, 1, b"NULL");
        bytes.extend(command_frame(&ready));
        let (_, events, err) = feed(cfg, &bytes);
        assert_eq!(err, None);
        assert!(matches!(events.as_slice(), [Event::Established(_)]));
    }
    // After the handshake, no limit means none for commands either.
    let mut bytes = peer_hello("SUB");
    bytes.extend(command_frame(&Command::Subscribe(Bytes::from(vec![
        b'a';
        HANDSHAKE_COMMAND_LIMIT as usize
            * 2
    ]))));
    let (_, events, err) = feed(config(SocketType::Pub), &bytes);
    assert_eq!((events.len(), err), (2, None));
}

#[test]
fn pongs_stop_piling_up_for_a_peer_that_does_not_read() {
    let mut conn = Connection::new(config(SocketType::Pull));
    let mut input = BytesMut::from(&peer_hello("PUSH")[..]);
    let (events, err) = drive(&mut conn, &mut input);
    assert_eq!((events.len(), err), (1, None));
    take_transmit(&mut conn);
    let ping = b"\x04\x0a\x04PING\x00\x00LOL";
    let pong_len = b"\x04\x08\x04PONGLOL".len();
    // Nothing is ever written out: 100,000 PINGs, every one reported.
    for _ in 0..100_000 {
        input.extend_from_slice(ping);
    }
    let (events, err) = drive(&mut conn, &mut input);
    assert_eq!((events.len(), err), (100_000, None));
    let queued = conn.transmit().len();
    assert!(queued >= MAX_PONG_BACKLOG, "{queued}");
    assert!(queued < MAX_PONG_BACKLOG + pong_len, "{queued}");
    // Once the peer reads, PINGs are answered again.
    take_transmit(&mut conn);
    input.extend_from_slice(ping);
    assert!(matches!(
        conn.handle_input(&mut input),
        Ok(Some(Event::Command(Command::Ping { .. })))
    ));
    assert_eq!(take_transmit(&mut conn), b"\x04\x08\x04PONGLOL");
}

#[test]
fn reserved_flag_bits_are_ignored_on_receive() {
    // "Bits 7-3 are reserved ... and MUST be zero" binds the sender;
    // libzmq ignores them when reading, and so do we.
    let mut bytes = peer_hello("PUSH");
    bytes.extend_from_slice(&[0xF9, 1, b'a', 0x08, 1, b'b']);
    bytes.extend_from_slice(b"\xFC\x07\x04PING\x00\x00");
    let (mut conn, events, err) = feed(config(SocketType::Pull), &bytes);
    assert_eq!(err, None);
    assert_eq!(events[1], Event::Message(msg(&[b"a", b"b"])));
    assert!(matches!(events[2], Event::Command(Command::Ping { .. })));
    assert!(take_transmit(&mut conn).ends_with(b"\x04\x05\x04PONG"));
}

// ----------------------------------------------------------- input splits

#[test]
fn input_one_byte_at_a_time() {
    let mut bytes = peer_hello("PUSH");
    bytes.extend(data_frame(b"single", false));
    bytes.extend(data_frame(&[9; 300], true));
    bytes.extend(data_frame(b"", false));
    bytes.extend_from_slice(b"\x04\x0a\x04PING\x00\x00LOL");
    let (_, whole, err) = feed(config(SocketType::Pull), &bytes);
    assert_eq!(err, None);
    assert_eq!(whole.len(), 4);

    let mut conn = Connection::new(config(SocketType::Pull));
    let mut input = BytesMut::new();
    let mut events = Vec::new();
    for &b in &bytes {
        input.extend_from_slice(&[b]);
        let (evs, err) = drive(&mut conn, &mut input);
        assert_eq!(err, None);
        if evs.is_empty() {
            assert!(conn.read_hint() > 0);
        }
        events.extend(evs);
    }
    assert_eq!(events, whole);
    assert!(input.is_empty());
}

/// What a sender may put on the wire after the handshake.
#[derive(Clone, Debug)]
enum Item {
    Msg(Message),
    Cmd(Command),
}

fn bytes_up_to(n: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..n).prop_map(Bytes::from)
}

fn item() -> impl Strategy<Value = Item> {
    let frame = prop_oneof![
        4 => bytes_up_to(4),
        4 => bytes_up_to(2000),
        // Now and then a body the transmit queue sends by reference.
        1 => (ZERO_COPY_THRESHOLD..ZERO_COPY_THRESHOLD + 500)
            .prop_map(|n| Bytes::from(vec![0x5A; n])),
    ];
    let message = prop_oneof![
        proptest::collection::vec(frame.clone(), 1..4),
        proptest::collection::vec(bytes_up_to(3), 10..60),
    ]
    .prop_map(|frames| Item::Msg(Message::from(frames)));
    let command = prop_oneof![
        bytes_up_to(300).prop_map(Command::Subscribe),
        bytes_up_to(30).prop_map(Command::Cancel),
        bytes_up_to(30).prop_map(Command::Join),
        bytes_up_to(30).prop_map(Command::Leave),
        (any::<u16>(), bytes_up_to(20)).prop_map(|(ttl, context)| Command::Ping { ttl, context }),
        bytes_up_to(16).prop_map(|context| Command::Pong { context }),
        bytes_up_to(50).prop_map(|data| Command::Unknown {
            name: Bytes::from_static(b"X-CUSTOM"),
            data
        }),
    ]
    .prop_map(Item::Cmd);
    prop_oneof![3 => message, 1 => command]
}

/// The events a receiver must report for `items`, after Established.
fn expected_events(items: &[Item]) -> Vec<Event> {
    items
        .iter()
        .filter_map(|it| match it {
            Item::Msg(m) => Some(Event::Message(m.clone())),
            Item::Cmd(Command::Unknown { .. }) => None,
            Item::Cmd(c) => Some(Event::Command(c.clone())),
        })
        .collect()
}

proptest! {
    #[test]
    fn any_split_gives_the_same_events(
        items in proptest::collection::vec(item(), 0..30),
        cuts in proptest::collection::vec(1usize..3000, 1..20),
    ) {
        // A DEALER talks to a DEALER: b answers a's greeting with its
        // own greeting and READY, which bring a to Established.
        let mut a = Connection::new(config(SocketType::Dealer));
        let mut b = Connection::new(config(SocketType::Dealer));
        let mut stream = take_transmit(&mut a);
        let (_, err) = drive(&mut b, &mut BytesMut::from(&stream[..]));
        prop_assert_eq!(err, None);
        let mut to_a = BytesMut::from(&take_transmit(&mut b)[..]);
        let (events, err) = drive(&mut a, &mut to_a);
        prop_assert_eq!(err, None);
        prop_assert!(a.is_established());
        prop_assert_eq!(events.len(), 1);
        stream.extend(take_transmit(&mut a));
        for it in &items {
            match it {
                Item::Msg(m) => a.send(m),
                Item::Cmd(c) => a.send_command(c),
            }
        }
        stream.extend(take_transmit(&mut a));

        // Reference: the whole stream at once.
        let (_, whole, err) = feed(config(SocketType::Dealer), &stream);
        prop_assert_eq!(err, None);
        prop_assert!(matches!(whole.first(), Some(Event::Established(_))));
        prop_assert_eq!(&whole[1..], &expected_events(&items)[..]);

        // The same stream in random pieces, with a stop after each event
        // now and then (back-pressure).
        let mut conn = Connection::new(config(SocketType::Dealer));
        let mut input = BytesMut::new();
        let mut events = Vec::new();
        let mut at = 0;
        let mut i = 0;
        while at < stream.len() {
            let n = cuts[i % cuts.len()].min(stream.len() - at);
            i += 1;
            input.extend_from_slice(&stream[at..at + n]);
            at += n;
            loop {
                match conn.handle_input(&mut input) {
                    Ok(Some(ev)) => {
                        events.push(ev);
                        if n % 3 == 0 {
                            break; // stop early; the rest stays in input
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
                }
            }
        }
        let (rest, err) = drive(&mut conn, &mut input);
        prop_assert_eq!(err, None);
        events.extend(rest);
        prop_assert_eq!(events, whole);
        prop_assert!(input.is_empty());
    }
}

proptest! {
    #[test]
    fn hostile_bytes_never_panic(
        garbage in proptest::collection::vec(any::<u8>(), 0..400),
        handshake: bool,
        cut in 1usize..50,
    ) {
        let mut bytes = if handshake { peer_hello("PUSH") } else { Vec::new() };
        bytes.extend_from_slice(&garbage);
        let mut cfg = config(SocketType::Pull);
        cfg.max_msg_size = Some(1 << 20);
        let mut conn = Connection::new(cfg);
        let mut input = BytesMut::new();
        let mut failed = None;
        for piece in bytes.chunks(cut) {
            input.extend_from_slice(piece);
            let (_, err) = drive(&mut conn, &mut input);
            if let Some(first) = &failed {
                // Sticky: the same error again.
                prop_assert_eq!(err.as_ref(), Some(first));
            } else {
                failed = err;
            }
        }
    }
}
