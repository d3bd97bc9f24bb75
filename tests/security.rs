//! PLAIN, NULL with ZAP, the authenticator and ZAP handlers: ports of
//! libzmq's test_security_null, test_security_plain and
//! test_security_zap, over real TCP on loopback.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use brokerless::{
    AuthReply, Authenticator, Context, Error, Message, ProtocolError, Socket, SocketType,
};
use common::*;

/// A REP server bound on loopback with `setup` applied first.
fn serve(ctx: &Context, setup: impl Fn(&Socket)) -> (Socket, String) {
    let s = sock(ctx, SocketType::Rep);
    setup(&s);
    bind_any(s)
}

/// A REQ client connected to `endpoint` with `setup` applied first.
fn client(ctx: &Context, endpoint: &str, setup: impl Fn(&Socket)) -> Socket {
    let c = sock(ctx, SocketType::Req);
    setup(&c);
    c.connect(endpoint).unwrap();
    c
}

/// One request and its reply.
fn round_trip(client: &Socket, server: &Socket) -> Message {
    client.send("ping").unwrap();
    let got = server.recv().unwrap();
    assert_eq!(&got[0], b"ping");
    server.send("pong").unwrap();
    assert_eq!(&client.recv().unwrap()[0], b"pong");
    got
}

#[test]
fn plain_with_valid_credentials() {
    let ctx = Context::new();
    let auth = Authenticator::new(&ctx).unwrap();
    auth.add_plain_user("admin", "password");
    let (server, ep) = serve(&ctx, |s| s.set_plain_server(true).unwrap());
    let client = client(&ctx, &ep, |c| {
        c.set_plain_client("admin", "password").unwrap()
    });
    let got = round_trip(&client, &server);
    assert_eq!(got.user_id(), Some(&b"admin"[..]));
    assert_eq!(got.property("Socket-Type"), Some(&b"REQ"[..]));
    assert_eq!(auth.stats().allowed, 1);
}

#[test]
fn plain_with_a_wrong_password_is_refused_on_both_sides() {
    let ctx = Context::new();
    let auth = Authenticator::new(&ctx).unwrap();
    auth.add_plain_user("admin", "password");
    let (server, ep) = serve(&ctx, |s| s.set_plain_server(true).unwrap());
    let server_monitor = server.monitor().unwrap();
    let c = sock(&ctx, SocketType::Req);
    c.set_plain_client("admin", "wrong").unwrap();
    let client_monitor = c.monitor().unwrap();
    c.connect(&ep).unwrap();
    assert!(matches!(
        handshake_failure(&server_monitor),
        ProtocolError::CredentialsRefused {
            status_code: 400,
            ..
        }
    ));
    assert_eq!(
        handshake_failure(&client_monitor),
        ProtocolError::RefusedByPeer { status_code: 400 }
    );
    refused(&c, &server);
    assert!(auth.stats().denied >= 1);
}

#[test]
fn plain_unknown_user_is_refused() {
    let ctx = Context::new();
    let auth = Authenticator::new(&ctx).unwrap();
    auth.add_plain_user("admin", "password");
    let (server, ep) = serve(&ctx, |s| s.set_plain_server(true).unwrap());
    let c = client(&ctx, &ep, |c| {
        c.set_plain_client("nobody", "password").unwrap()
    });
    refused(&c, &server);
}

#[test]
fn plain_server_without_an_authenticator_refuses_everyone() {
    let ctx = Context::new();
    let (server, ep) = serve(&ctx, |s| s.set_plain_server(true).unwrap());
    let monitor = server.monitor().unwrap();
    let c = client(&ctx, &ep, |c| {
        c.set_plain_client("admin", "password").unwrap()
    });
    assert!(matches!(
        handshake_failure(&monitor),
        ProtocolError::CredentialsRefused {
            status_code: 500,
            ..
        }
    ));
    refused(&c, &server);
}

#[test]
fn null_client_cannot_talk_to_a_plain_server() {
    let ctx = Context::new();
    let _auth = Authenticator::new(&ctx).unwrap();
    let (server, ep) = serve(&ctx, |s| s.set_plain_server(true).unwrap());
    let monitor = server.monitor().unwrap();
    let c = client(&ctx, &ep, |_| {});
    assert!(matches!(
        handshake_failure(&monitor),
        ProtocolError::MechanismMismatch { .. }
    ));
    refused(&c, &server);
}

#[test]
fn two_plain_clients_cannot_talk() {
    let ctx = Context::new();
    let (server, ep) = serve(&ctx, |s| s.set_plain_client("a", "b").unwrap());
    let monitor = server.monitor().unwrap();
    let c = client(&ctx, &ep, |c| c.set_plain_client("a", "b").unwrap());
    assert!(matches!(
        handshake_failure(&monitor),
        ProtocolError::UnexpectedCommand { .. }
    ));
    refused(&c, &server);
}

#[test]
fn long_plain_credentials_are_refused_by_the_setter() {
    let ctx = Context::new();
    let c = ctx.socket(SocketType::Req).unwrap();
    let long = vec![b'x'; 256];
    assert!(matches!(
        c.set_plain_client(long.clone(), "p"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.set_plain_client("u", long),
        Err(Error::InvalidArgument(_))
    ));
    c.set_plain_client(vec![b'x'; 255], vec![b'y'; 255])
        .unwrap();
}

/// test_security_plain's vanilla socket: a raw peer that sends a PLAIN
/// greeting and then garbage is dropped, and the server carries on.
#[test]
fn plain_server_drops_a_raw_peer_sending_garbage() {
    let ctx = Context::new();
    let auth = Authenticator::new(&ctx).unwrap();
    auth.add_plain_user("admin", "password");
    let (server, ep) = serve(&ctx, |s| s.set_plain_server(true).unwrap());
    let monitor = server.monitor().unwrap();
    let addr = ep.trim_start_matches("tcp://");
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(LONG.unwrap())).unwrap();
    let mut greeting = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1];
    greeting.extend(b"PLAIN");
    greeting.resize(64, 0);
    raw.write_all(&greeting).unwrap();
    // A HELLO whose user name runs past its end.
    raw.write_all(b"\x04\x09\x05HELLO\xff\x00\x00").unwrap();
    assert!(matches!(
        handshake_failure(&monitor),
        ProtocolError::MalformedCommand { .. }
    ));
    // The server closed the connection.
    let mut sink = Vec::new();
    let _ = raw.read_to_end(&mut sink);
    // ... and still serves good clients.
    let good = client(&ctx, &ep, |c| {
        c.set_plain_client("admin", "password").unwrap()
    });
    round_trip(&good, &server);
}

/// HELLO's fields parsed strictly: trailing bytes are refused (libzmq).
#[test]
fn plain_hello_with_trailing_bytes_is_refused() {
    let ctx = Context::new();
    let _auth = Authenticator::new(&ctx).unwrap();
    let (server, ep) = serve(&ctx, |s| s.set_plain_server(true).unwrap());
    let monitor = server.monitor().unwrap();
    let mut raw = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    let mut greeting = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1];
    greeting.extend(b"PLAIN");
    greeting.resize(64, 0);
    raw.write_all(&greeting).unwrap();
    raw.write_all(b"\x04\x0b\x05HELLO\x01a\x01bX").unwrap();
    assert_eq!(
        handshake_failure(&monitor),
        ProtocolError::MalformedCommand {
            reason: "HELLO with trailing octets"
        }
    );
}

#[test]
fn null_with_a_zap_domain_asks_the_authenticator() {
    let ctx = Context::new();
    let auth = Authenticator::new(&ctx).unwrap();
    // No domain: the authenticator is not asked.
    let (server1, ep1) = serve(&ctx, |_| {});
    let c1 = client(&ctx, &ep1, |_| {});
    let got = round_trip(&c1, &server1);
    assert_eq!(got.user_id(), None);
    assert_eq!(auth.stats().allowed + auth.stats().denied, 0);
    // With a domain it is, and loopback is denied here.
    auth.deny("127.0.0.1".parse().unwrap());
    let (server2, ep2) = serve(&ctx, |s| s.set_zap_domain("test").unwrap());
    let monitor = server2.monitor().unwrap();
    let c2 = client(&ctx, &ep2, |_| {});
    assert!(matches!(
        handshake_failure(&monitor),
        ProtocolError::CredentialsRefused {
            status_code: 400,
            ..
        }
    ));
    refused(&c2, &server2);
}

#[test]
fn allow_list_admits_only_its_addresses() {
    let ctx = Context::new();
    let auth = Authenticator::new(&ctx).unwrap();
    auth.allow("127.0.0.1".parse().unwrap());
    auth.deny("127.0.0.1".parse().unwrap()); // ignored with an allow list
    let (server, ep) = serve(&ctx, |s| s.set_zap_domain("d").unwrap());
    let c = client(&ctx, &ep, |_| {});
    round_trip(&c, &server);

    let ctx2 = Context::new();
    let auth2 = Authenticator::new(&ctx2).unwrap();
    auth2.allow("10.0.0.1".parse().unwrap());
    let (server2, ep2) = serve(&ctx2, |s| s.set_zap_domain("d").unwrap());
    let c2 = client(&ctx2, &ep2, |_| {});
    refused(&c2, &server2);
}

#[test]
fn a_handler_decides_and_sets_user_id_and_metadata() {
    let ctx = Context::new();
    let auth = Authenticator::new(&ctx).unwrap();
    auth.set_handler(|req| {
        assert_eq!(req.mechanism, "PLAIN");
        assert_eq!(&req.domain[..], b"global");
        assert_eq!(req.address, "127.0.0.1");
        if req.password() == Some(&b"open sesame"[..]) {
            let mut reply = AuthReply::allow_as(format!(
                "user:{}",
                String::from_utf8_lossy(req.username().unwrap_or_default())
            ));
            reply.metadata.push("X-Role", "admin").unwrap();
            reply
        } else {
            AuthReply::deny(400, "no")
        }
    });
    let (server, ep) = serve(&ctx, |s| {
        s.set_plain_server(true).unwrap();
        s.set_zap_domain("global").unwrap();
    });
    let c = client(&ctx, &ep, |c| {
        c.set_plain_client("ali", "open sesame").unwrap()
    });
    let got = round_trip(&c, &server);
    assert_eq!(got.user_id(), Some(&b"user:ali"[..]));
    assert_eq!(got.property("x-role"), Some(&b"admin"[..]));
}

/// An application's own ZAP handler at inproc://zeromq.zap.01, speaking
/// RFC 27 by hand: checks what it is asked, answers with the frames
/// `reply(request id)` makes; returns whether the client got in.
fn zap_handler_replies(reply: impl Fn(&[u8]) -> Vec<Vec<u8>>) -> bool {
    let ctx = Context::new();
    let handler = sock(&ctx, SocketType::Rep);
    handler.bind("inproc://zeromq.zap.01").unwrap();
    let (server, ep) = serve(&ctx, |s| {
        s.set_plain_server(true).unwrap();
        s.set_zap_domain("dom").unwrap();
        s.set_routing_id("srv").unwrap();
        // A reply that cannot be matched to its request is never
        // applied: the handshake times out.
        s.set_handshake_interval(Some(Duration::from_millis(300)))
            .unwrap();
    });
    let c = client(&ctx, &ep, |c| c.set_plain_client("u", "p").unwrap());
    let request = handler.recv().unwrap();
    let frames = frames(&request);
    assert_eq!(frames.len(), 8, "{frames:?}");
    assert_eq!(frames[0], b"1.0");
    assert_eq!(frames[2], b"dom");
    assert_eq!(frames[3], b"127.0.0.1");
    assert_eq!(frames[4], b"srv");
    assert_eq!(frames[5], b"PLAIN");
    assert_eq!(frames[6], b"u");
    assert_eq!(frames[7], b"p");
    handler.send(to_message(&reply(&frames[1]))).unwrap();
    c.send("ping").unwrap();
    server
        .set_recv_timeout(Some(Duration::from_millis(800)))
        .unwrap();
    match server.recv() {
        Ok(m) => {
            assert_eq!(m.user_id(), Some(&b"someone"[..]));
            true
        }
        Err(Error::Timeout) => false,
        Err(e) => panic!("{e}"),
    }
}

/// Owned frames.
fn v(frames: &[&[u8]]) -> Vec<Vec<u8>> {
    frames.iter().map(|f| f.to_vec()).collect()
}

/// A reply with this status, otherwise well formed.
fn with_status(status: &'static [u8]) -> impl Fn(&[u8]) -> Vec<Vec<u8>> {
    move |id| v(&[b"1.0", id, status, b"text", b"someone", b""])
}

#[test]
fn zap_handler_status_codes() {
    assert!(zap_handler_replies(with_status(b"200")));
    assert!(!zap_handler_replies(with_status(b"300")));
    assert!(!zap_handler_replies(with_status(b"400")));
    assert!(!zap_handler_replies(with_status(b"500")));
    // Not a status code at all: the handshake fails too.
    assert!(!zap_handler_replies(with_status(b"2000")));
    assert!(!zap_handler_replies(with_status(b"201")));
}

/// test_security_zap's malformed replies: each fails the handshake.
#[test]
fn zap_handler_malformed_replies() {
    // Wrong version.
    assert!(!zap_handler_replies(|id| v(&[
        b"2.0", id, b"200", b"", b"someone", b""
    ])));
    // Wrong request id.
    assert!(!zap_handler_replies(|_| v(&[
        b"1.0", b"999999", b"200", b"", b"someone", b""
    ])));
    // Too few and too many frames.
    assert!(!zap_handler_replies(|id| v(&[
        b"1.0", id, b"200", b"", b"someone"
    ])));
    assert!(!zap_handler_replies(|id| v(&[
        b"1.0", id, b"200", b"", b"someone", b"", b"x"
    ])));
    // Metadata that is not a property list.
    assert!(!zap_handler_replies(|id| v(&[
        b"1.0", id, b"200", b"", b"someone", b"\x05X"
    ])));
}

#[test]
fn a_second_authenticator_in_one_context_is_refused() {
    let ctx = Context::new();
    let _a = Authenticator::new(&ctx).unwrap();
    assert!(Authenticator::new(&ctx).is_err());
    // A new one may start once the first is gone.
    drop(_a);
    let _b = Authenticator::new(&ctx).unwrap();
}

/// A refused client does not hammer the server: its reconnects back off.
#[test]
fn a_refused_client_backs_off() {
    let ctx = Context::new();
    let auth = Authenticator::new(&ctx).unwrap();
    auth.add_plain_user("admin", "password");
    let (_server, ep) = serve(&ctx, |s| s.set_plain_server(true).unwrap());
    let c = sock(&ctx, SocketType::Req);
    c.set_plain_client("admin", "wrong").unwrap();
    c.set_reconnect_interval(Some(Duration::from_millis(10)))
        .unwrap();
    c.connect(&ep).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // With a fixed 10 ms interval that would be about 100 attempts;
    // doubling from 10 ms fits fewer than 10 in 1.5 s.
    let tries = auth.stats().denied;
    assert!((1..=10).contains(&tries), "{tries} attempts");
}
