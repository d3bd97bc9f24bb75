//! CURVE over real TCP on loopback: ports of libzmq's
//! test_security_curve (valid keys, wrong keys, NULL and PLAIN clients,
//! key allow lists), with every pattern's traffic boxed both ways.

mod common;

use std::time::Duration;

use brokerless::{
    Authenticator, Context, CurveKeyPair, Error, Message, MonitorEvent, ProtocolError, Socket,
    SocketType,
};
use common::*;

fn curve_server(ctx: &Context, t: SocketType, keys: &CurveKeyPair) -> (Socket, String) {
    let s = sock(ctx, t);
    s.set_curve_server(keys).unwrap();
    bind_any(s)
}

fn curve_client(
    ctx: &Context,
    t: SocketType,
    endpoint: &str,
    keys: &CurveKeyPair,
    server: &CurveKeyPair,
) -> Socket {
    let c = sock(ctx, t);
    c.set_curve_client(keys, server.public()).unwrap();
    c.connect(endpoint).unwrap();
    c
}

#[test]
fn curve_req_rep_with_valid_keys_and_no_authenticator() {
    let ctx = Context::new();
    let server_keys = CurveKeyPair::generate();
    let client_keys = CurveKeyPair::generate();
    let (server, ep) = curve_server(&ctx, SocketType::Rep, &server_keys);
    let client = curve_client(&ctx, SocketType::Req, &ep, &client_keys, &server_keys);
    for i in 0..100 {
        let body = format!("request {i}").repeat(i % 7 + 1);
        client.send(body.as_str()).unwrap();
        let got = server.recv().unwrap();
        assert_eq!(&got[0], body.as_bytes());
        // No authenticator: encrypted but not authenticated, no user id.
        assert_eq!(got.user_id(), None);
        assert_eq!(got.property("Socket-Type"), Some(&b"REQ"[..]));
        server
            .send(
                vec![got[0].to_vec(), b"x".to_vec()]
                    .into_iter()
                    .collect::<Message>(),
            )
            .unwrap();
        let reply = client.recv().unwrap();
        assert_eq!(reply.len(), 2);
    }
}

#[test]
fn curve_large_and_multipart_messages() {
    let ctx = Context::new();
    let sk = CurveKeyPair::generate();
    let ck = CurveKeyPair::generate();
    let (pull, ep) = curve_server(&ctx, SocketType::Pull, &sk);
    let push = curve_client(&ctx, SocketType::Push, &ep, &ck, &sk);
    let big = vec![7u8; 1 << 20];
    for size in [0usize, 1, 255, 256, 65_536, 1 << 20] {
        let msg: Message = vec![big[..size].to_vec(), b"tail".to_vec()]
            .into_iter()
            .collect();
        push.send(msg).unwrap();
        let got = pull.recv().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), size);
        assert_eq!(&got[1], b"tail");
    }
}

#[test]
fn curve_pub_sub_subscriptions_travel_boxed() {
    let ctx = Context::new();
    let sk = CurveKeyPair::generate();
    let ck = CurveKeyPair::generate();
    let (publisher, ep) = curve_server(&ctx, SocketType::Pub, &sk);
    let sub = sock(&ctx, SocketType::Sub);
    sub.set_curve_client(&ck, sk.public()).unwrap();
    sub.subscribe(b"news").unwrap();
    sub.connect(&ep).unwrap();
    publisher
        .wait_for_subscribers(1, Duration::from_secs(20))
        .unwrap();
    publisher.send("sport: no").unwrap();
    publisher.send("news: yes").unwrap();
    assert_eq!(&sub.recv().unwrap()[0], b"news: yes");
}

#[test]
fn curve_with_a_wrong_server_key_fails_the_handshake() {
    let ctx = Context::new();
    let sk = CurveKeyPair::generate();
    let other = CurveKeyPair::generate();
    let ck = CurveKeyPair::generate();
    let (server, ep) = curve_server(&ctx, SocketType::Rep, &sk);
    let monitor = server.monitor().unwrap();
    let client = curve_client(&ctx, SocketType::Req, &ep, &ck, &other);
    assert!(matches!(
        handshake_failure(&monitor),
        ProtocolError::BadCurveBox { command: "HELLO" }
    ));
    refused(&client, &server);
}

#[test]
fn null_and_plain_clients_cannot_talk_to_a_curve_server() {
    let ctx = Context::new();
    let sk = CurveKeyPair::generate();
    let (server, ep) = curve_server(&ctx, SocketType::Rep, &sk);
    let monitor = server.monitor().unwrap();
    let null = connected(&ctx, SocketType::Req, &ep);
    assert!(matches!(
        handshake_failure(&monitor),
        ProtocolError::MechanismMismatch { .. }
    ));
    refused(&null, &server);
    let plain = sock(&ctx, SocketType::Req);
    plain.set_plain_client("admin", "password").unwrap();
    plain.connect(&ep).unwrap();
    assert!(matches!(
        handshake_failure(&monitor),
        ProtocolError::MechanismMismatch { .. }
    ));
}

#[test]
fn authenticator_allows_only_listed_keys() {
    let ctx = Context::new();
    let auth = Authenticator::new(&ctx).unwrap();
    let sk = CurveKeyPair::generate();
    let good = CurveKeyPair::generate();
    let bad = CurveKeyPair::generate();
    auth.allow_curve_key(good.public());
    let (server, ep) = curve_server(&ctx, SocketType::Rep, &sk);
    let server_monitor = server.monitor().unwrap();

    let b = sock(&ctx, SocketType::Req);
    b.set_curve_client(&bad, sk.public()).unwrap();
    let b_monitor = b.monitor().unwrap();
    b.connect(&ep).unwrap();
    assert!(matches!(
        handshake_failure(&server_monitor),
        ProtocolError::CredentialsRefused {
            status_code: 400,
            ..
        }
    ));
    assert_eq!(
        handshake_failure(&b_monitor),
        ProtocolError::RefusedByPeer { status_code: 400 }
    );
    refused(&b, &server);

    let g = curve_client(&ctx, SocketType::Req, &ep, &good, &sk);
    g.send("hi").unwrap();
    server.set_recv_timeout(Some(LONG.unwrap())).unwrap();
    let got = server.recv().unwrap();
    assert_eq!(got.user_id(), Some(good.public().to_z85().as_bytes()));
}

#[test]
fn authenticator_allow_any_curve() {
    let ctx = Context::new();
    let auth = Authenticator::new(&ctx).unwrap();
    let sk = CurveKeyPair::generate();
    let (server, ep) = curve_server(&ctx, SocketType::Rep, &sk);
    let c = curve_client(&ctx, SocketType::Req, &ep, &CurveKeyPair::generate(), &sk);
    refused(&c, &server); // no key listed yet
    auth.allow_any_curve(true);
    let c2 = curve_client(&ctx, SocketType::Req, &ep, &CurveKeyPair::generate(), &sk);
    c2.send("hi").unwrap();
    server.set_recv_timeout(Some(LONG.unwrap())).unwrap();
    assert_eq!(&server.recv().unwrap()[0], b"hi");
}

/// Heartbeats (PING/PONG commands) go inside the boxes too.
#[test]
fn curve_heartbeats_keep_an_idle_connection() {
    let ctx = Context::new();
    let sk = CurveKeyPair::generate();
    let ck = CurveKeyPair::generate();
    let s = sock(&ctx, SocketType::Pull);
    s.set_curve_server(&sk).unwrap();
    s.set_heartbeat_interval(Some(Duration::from_millis(20)))
        .unwrap();
    s.set_heartbeat_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let (pull, ep) = bind_any(s);
    let monitor = pull.monitor().unwrap();
    let push = sock(&ctx, SocketType::Push);
    push.set_curve_client(&ck, sk.public()).unwrap();
    push.set_heartbeat_interval(Some(Duration::from_millis(20)))
        .unwrap();
    push.connect(&ep).unwrap();
    wait_for(&monitor, |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
    // Many PING/PONG rounds while idle; the connection must survive.
    std::thread::sleep(Duration::from_millis(600));
    push.send("still here").unwrap();
    assert_eq!(&pull.recv().unwrap()[0], b"still here");
    assert!(matches!(
        monitor.recv_timeout(Duration::ZERO),
        Err(Error::Timeout) | Err(Error::WouldBlock)
    ));
}
