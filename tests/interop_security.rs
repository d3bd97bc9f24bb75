//! PLAIN and CURVE against real libzmq 4.3.5 built with libsodium (see
//! testing/libzmq-peer), in both directions, over REQ/REP and PUB/SUB:
//! keys made by either side, ZAP handlers on either side, refusals seen
//! by our monitor.

mod common;

use std::time::Duration;

use brokerless::security::z85;
use brokerless::{
    Authenticator, Context, CurveKeyPair, CurvePublicKey, CurveSecretKey, ProtocolError, SocketType,
};
use common::{
    fr, frames, handshake_failure, refs, sock as our, to_message, wait_for, zmq_ctx, zsock,
};
use libzmq_peer as zmq;

/// Bodies that cross the box boundary cases: empty frames, the short and
/// long frame forms, many frames, 1 MiB.
fn bodies() -> Vec<Vec<Vec<u8>>> {
    let big: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 256) as u8).collect();
    vec![
        fr(&["hello"]),
        fr(&[""]),
        fr(&["a", "", "c"]),
        vec![vec![1; 255], vec![2; 256]],
        vec![b"head".to_vec(), big],
    ]
}

/// A key pair made by libzmq, as ours.
fn libzmq_keys() -> (CurveKeyPair, String, String) {
    let (public, secret) = zmq::curve_keypair().unwrap();
    let ours = CurveKeyPair::from_secret(secret.parse::<CurveSecretKey>().unwrap());
    assert_eq!(ours.public().to_z85(), public);
    (ours, public, secret)
}

#[test]
fn keys_and_z85_agree_with_libzmq() {
    // libzmq's pairs are ours, and ours are libzmq's.
    for _ in 0..20 {
        libzmq_keys();
        let ours = CurveKeyPair::generate();
        let secret = z85::encode(ours.secret().as_bytes()).unwrap();
        assert_eq!(zmq::curve_public(&secret).unwrap(), ours.public().to_z85());
    }
    let data: Vec<u8> = (0..=255).collect();
    let text = z85::encode(&data).unwrap();
    assert_eq!(text, zmq::z85_encode(&data).unwrap());
    assert_eq!(z85::decode(&text).unwrap(), zmq::z85_decode(&text).unwrap());
}

#[test]
fn our_curve_client_with_a_libzmq_curve_server_and_its_zap_handler() {
    let ctx = Context::new();
    let zctx = zmq_ctx();
    let (server_keys, server_public, server_secret) = libzmq_keys();
    let client_keys = CurveKeyPair::generate();
    let allowed = client_keys.public().to_z85();
    let zap = zmq::ZapHandler::start(&zctx, move |req| {
        let key = req.credentials.first().cloned().unwrap_or_default();
        if req.mechanism == "CURVE" && z85::encode(&key).ok().as_deref() == Some(allowed.as_str()) {
            zmq::ZapReply::allow("client")
        } else {
            zmq::ZapReply::deny("unknown key")
        }
    })
    .unwrap();
    let zrep = zsock(&zctx, zmq::SocketKind::Rep);
    zrep.set_curve_server(true).unwrap();
    zrep.set_curve_secretkey(server_secret.as_str()).unwrap();
    zrep.bind("tcp://127.0.0.1:*").unwrap();
    let ep = zrep.last_endpoint().unwrap();
    assert_eq!(server_keys.public().to_z85(), server_public);

    let req = our(&ctx, SocketType::Req);
    req.set_curve_client(&client_keys, server_keys.public())
        .unwrap();
    req.connect(&ep).unwrap();
    for body in bodies() {
        req.send(to_message(&body)).unwrap();
        assert_eq!(zrep.recv().unwrap(), body);
        zrep.send(&refs(&body)).unwrap();
        assert_eq!(frames(&req.recv().unwrap()), body);
    }

    // A key the handler does not know: refused with 400.
    let stranger = our(&ctx, SocketType::Req);
    stranger
        .set_curve_client(&CurveKeyPair::generate(), server_keys.public())
        .unwrap();
    let monitor = stranger.monitor().unwrap();
    stranger.connect(&ep).unwrap();
    assert_eq!(
        handshake_failure(&monitor),
        ProtocolError::RefusedByPeer { status_code: 400 }
    );
    zap.stop().unwrap();
}

#[test]
fn libzmq_curve_client_with_our_curve_server_and_authenticator() {
    let ctx = Context::new();
    let zctx = zmq_ctx();
    let server_keys = CurveKeyPair::generate();
    let (client_keys, client_public, client_secret) = libzmq_keys();
    let auth = Authenticator::new(&ctx).unwrap();
    auth.allow_curve_key(client_keys.public());

    let rep = our(&ctx, SocketType::Rep);
    rep.set_curve_server(&server_keys).unwrap();
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let ep = rep.last_endpoint().unwrap();

    let zreq = zsock(&zctx, zmq::SocketKind::Req);
    zreq.set_curve_serverkey(server_keys.public().to_z85().as_str())
        .unwrap();
    zreq.set_curve_publickey(client_public.as_str()).unwrap();
    zreq.set_curve_secretkey(client_secret.as_str()).unwrap();
    zreq.connect(&ep).unwrap();
    for body in bodies() {
        zreq.send(&refs(&body)).unwrap();
        let got = rep.recv().unwrap();
        assert_eq!(frames(&got), body);
        assert_eq!(got.user_id(), Some(client_public.as_bytes()));
        assert_eq!(got.property("Socket-Type"), Some(&b"REQ"[..]));
        rep.send(to_message(&body)).unwrap();
        assert_eq!(zreq.recv().unwrap(), body);
    }

    // A libzmq client with a key we do not know is refused.
    let (_, other_public, other_secret) = libzmq_keys();
    let monitor = rep.monitor().unwrap();
    let zbad = zsock(&zctx, zmq::SocketKind::Req);
    zbad.set_curve_serverkey(server_keys.public().to_z85().as_str())
        .unwrap();
    zbad.set_curve_publickey(other_public.as_str()).unwrap();
    zbad.set_curve_secretkey(other_secret.as_str()).unwrap();
    zbad.connect(&ep).unwrap();
    assert!(matches!(
        handshake_failure(&monitor),
        ProtocolError::CredentialsRefused {
            status_code: 400,
            ..
        }
    ));
}

#[test]
fn libzmq_curve_client_with_a_wrong_server_key_fails_at_our_server() {
    let ctx = Context::new();
    let zctx = zmq_ctx();
    let server_keys = CurveKeyPair::generate();
    let rep = our(&ctx, SocketType::Rep);
    rep.set_curve_server(&server_keys).unwrap();
    let monitor = rep.monitor().unwrap();
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let (_, public, secret) = libzmq_keys();
    let zreq = zsock(&zctx, zmq::SocketKind::Req);
    zreq.set_curve_serverkey(CurveKeyPair::generate().public().to_z85().as_str())
        .unwrap();
    zreq.set_curve_publickey(public.as_str()).unwrap();
    zreq.set_curve_secretkey(secret.as_str()).unwrap();
    zreq.connect(&rep.last_endpoint().unwrap()).unwrap();
    assert!(matches!(
        handshake_failure(&monitor),
        ProtocolError::BadCurveBox { command: "HELLO" }
    ));
}

#[test]
fn curve_pub_sub_both_ways() {
    let ctx = Context::new();
    let zctx = zmq_ctx();
    // Our PUB serves a libzmq SUB.
    let pub_keys = CurveKeyPair::generate();
    let publisher = our(&ctx, SocketType::Pub);
    publisher.set_curve_server(&pub_keys).unwrap();
    publisher.bind("tcp://127.0.0.1:*").unwrap();
    let (_, sub_public, sub_secret) = libzmq_keys();
    let zsub = zsock(&zctx, zmq::SocketKind::Sub);
    zsub.set_curve_serverkey(pub_keys.public().to_z85().as_str())
        .unwrap();
    zsub.set_curve_publickey(sub_public.as_str()).unwrap();
    zsub.set_curve_secretkey(sub_secret.as_str()).unwrap();
    zsub.subscribe(b"news").unwrap();
    zsub.connect(&publisher.last_endpoint().unwrap()).unwrap();
    publisher
        .wait_for_subscribers(1, Duration::from_secs(20))
        .unwrap();
    publisher.send("sport: no").unwrap();
    publisher.send("news: yes").unwrap();
    assert_eq!(zsub.recv().unwrap(), fr(&["news: yes"]));

    // A libzmq PUB serves our SUB.
    let (zpub_keys, _, zpub_secret) = libzmq_keys();
    let zpub = zsock(&zctx, zmq::SocketKind::Pub);
    zpub.set_curve_server(true).unwrap();
    zpub.set_curve_secretkey(zpub_secret.as_str()).unwrap();
    zpub.bind("tcp://127.0.0.1:*").unwrap();
    let sub = our(&ctx, SocketType::Sub);
    sub.set_curve_client(&CurveKeyPair::generate(), zpub_keys.public())
        .unwrap();
    sub.subscribe(b"news").unwrap();
    let monitor = sub.monitor().unwrap();
    sub.connect(&zpub.last_endpoint().unwrap()).unwrap();
    wait_for(&monitor, |e| {
        matches!(e, brokerless::MonitorEvent::HandshakeSucceeded { .. })
    });
    // The subscription travels boxed; libzmq's PUB applies it when its
    // application next sends, so keep publishing until one arrives.
    sub.set_recv_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut got = None;
    for _ in 0..400 {
        zpub.send(&[b"sport: no"]).unwrap();
        zpub.send(&[b"news: yes"]).unwrap();
        if let Ok(m) = sub.recv() {
            got = Some(m);
            break;
        }
    }
    assert_eq!(&got.expect("nothing arrived")[0], b"news: yes");
}

#[test]
fn plain_both_ways() {
    let ctx = Context::new();
    let zctx = zmq_ctx();
    // Our PLAIN client, a libzmq PLAIN server and its ZAP handler.
    let zap = zmq::ZapHandler::start(&zctx, |req| {
        if req.credentials == [b"admin".to_vec(), b"secret".to_vec()] {
            zmq::ZapReply::allow("admin")
        } else {
            zmq::ZapReply::deny("bad password")
        }
    })
    .unwrap();
    let zrep = zsock(&zctx, zmq::SocketKind::Rep);
    zrep.set_plain_server(true).unwrap();
    zrep.bind("tcp://127.0.0.1:*").unwrap();
    let zep = zrep.last_endpoint().unwrap();
    let req = our(&ctx, SocketType::Req);
    req.set_plain_client("admin", "secret").unwrap();
    req.connect(&zep).unwrap();
    req.send("hi").unwrap();
    assert_eq!(zrep.recv().unwrap(), fr(&["hi"]));
    zrep.send(&[b"there"]).unwrap();
    assert_eq!(&req.recv().unwrap()[0], b"there");
    let wrong = our(&ctx, SocketType::Req);
    wrong.set_plain_client("admin", "guess").unwrap();
    let monitor = wrong.monitor().unwrap();
    wrong.connect(&zep).unwrap();
    assert_eq!(
        handshake_failure(&monitor),
        ProtocolError::RefusedByPeer { status_code: 400 }
    );
    zap.stop().unwrap();

    // A libzmq PLAIN client, our PLAIN server and authenticator.
    let auth = Authenticator::new(&ctx).unwrap();
    auth.add_plain_user("admin", "secret");
    let rep = our(&ctx, SocketType::Rep);
    rep.set_plain_server(true).unwrap();
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let ep = rep.last_endpoint().unwrap();
    let zreq = zsock(&zctx, zmq::SocketKind::Req);
    zreq.set_plain_username("admin").unwrap();
    zreq.set_plain_password("secret").unwrap();
    zreq.connect(&ep).unwrap();
    zreq.send(&[b"hi"]).unwrap();
    let got = rep.recv().unwrap();
    assert_eq!(got.user_id(), Some(&b"admin"[..]));
    rep.send("there").unwrap();
    assert_eq!(zreq.recv().unwrap(), fr(&["there"]));
    let server_monitor = rep.monitor().unwrap();
    let zwrong = zsock(&zctx, zmq::SocketKind::Req);
    zwrong.set_plain_username("admin").unwrap();
    zwrong.set_plain_password("guess").unwrap();
    zwrong.connect(&ep).unwrap();
    assert!(matches!(
        handshake_failure(&server_monitor),
        ProtocolError::CredentialsRefused {
            status_code: 400,
            ..
        }
    ));
}

#[test]
fn our_public_key_type_parses_libzmq_text() {
    let (_, public, _) = libzmq_keys();
    let key: CurvePublicKey = public.parse().unwrap();
    assert_eq!(key.to_z85(), public);
    assert!("too short".parse::<CurvePublicKey>().is_err());
}
