//! The security wrappers against libzmq itself: Z85 and CURVE keys, CURVE
//! and PLAIN handshakes between two libzmq sockets over loopback TCP, ZAP
//! handlers that accept or refuse, and the monitor events reporting
//! failures. Failures are observed through monitor events and receive
//! timeouts, never by sleeping.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use libzmq_peer::{
    Context, MonitorEvent, Socket, SocketKind, ZAP_ENDPOINT, ZMQ_CURVE, ZMQ_EVENT_ALL,
    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
    ZMQ_EVENT_HANDSHAKE_SUCCEEDED, ZMQ_NULL, ZMQ_PLAIN, ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC,
    ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, ZapHandler, ZapReply, ZapRequest, curve_keypair,
    curve_public, has, z85_decode, z85_encode,
};

/// Receive timeout for everything that is expected to arrive, so that a bug
/// fails a test instead of hanging it.
const TIMEOUT_MS: i32 = 5_000;

/// How long a client waits to confirm it gets *nothing*, once the server's
/// monitor has already reported the failed handshake.
const NOTHING_MS: i32 = 300;

/// The RFC 32 test vector.
const HELLO_WORLD: [u8; 8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];

/// A socket with linger 0 (drops never block) and bounded timeouts.
fn socket(ctx: &Context, kind: SocketKind) -> Socket {
    let s = ctx.socket(kind).expect("zmq_socket");
    s.set_linger(0).expect("linger");
    s.set_rcvtimeo(TIMEOUT_MS).expect("rcvtimeo");
    s.set_sndtimeo(TIMEOUT_MS).expect("sndtimeo");
    s
}

/// Binds `s` to a wildcard loopback port and returns the resolved endpoint.
fn bind_loopback(s: &Socket) -> String {
    s.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = s.last_endpoint().expect("last endpoint");
    assert!(endpoint.starts_with("tcp://127.0.0.1:"), "{endpoint}");
    assert!(!endpoint.ends_with(":*"), "{endpoint}");
    endpoint
}

/// Starts monitoring every event of `s` and returns the connected PAIR
/// socket that receives them (connected before any event of interest).
fn monitor(ctx: &Context, s: &Socket) -> Socket {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let endpoint = format!(
        "inproc://security-monitor-{}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    s.monitor(&endpoint, ZMQ_EVENT_ALL)
        .expect("zmq_socket_monitor");
    let events = socket(ctx, SocketKind::Pair);
    events.connect(&endpoint).expect("connect monitor");
    events
}

/// Reads events until one of kind `wanted` arrives (skipping the others,
/// e.g. ACCEPTED); fails the test after [`TIMEOUT_MS`].
fn wait_event(events: &Socket, wanted: u16) -> MonitorEvent {
    let deadline = Instant::now() + Duration::from_millis(TIMEOUT_MS as u64);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match events.recv_monitor_event() {
            Ok(event) if event.event == wanted => return event,
            Ok(event) => seen.push(event),
            Err(e) if e.is_again() => break,
            Err(e) => panic!("monitor: {e}"),
        }
    }
    panic!("no event {wanted:#x} within {TIMEOUT_MS} ms; saw {seen:?}");
}

/// Asserts that `s` receives nothing within [`NOTHING_MS`].
fn assert_gets_nothing(s: &Socket) {
    s.set_rcvtimeo(NOTHING_MS).expect("rcvtimeo");
    match s.recv() {
        Err(e) => assert!(e.is_again(), "expected a timeout, got {e}"),
        Ok(msg) => panic!("expected nothing, got {msg:?}"),
    }
}

/// One REQ/REP round trip from `client` to `server`.
fn round_trip(client: &Socket, server: &Socket) {
    client
        .send(&[b"ping", b"", b"frames"])
        .expect("send request");
    let request = server.recv().expect("server recv");
    assert_eq!(request, vec![b"ping".to_vec(), vec![], b"frames".to_vec()]);
    server.send(&[b"pong"]).expect("send reply");
    assert_eq!(client.recv().expect("client recv"), vec![b"pong".to_vec()]);
}

// ---------------------------------------------------------------------------
// Build, Z85 and keys
// ---------------------------------------------------------------------------

#[test]
fn curve_is_built_in() {
    assert!(has("curve"), "built with libsodium");
    assert!(has("draft"), "drafts stay on");
    // PLAIN is always built in: zmq_has does not list it.
}

#[test]
fn z85_rfc32_vector() {
    assert_eq!(z85_encode(&HELLO_WORLD).unwrap(), "HelloWorld");
    assert_eq!(z85_decode("HelloWorld").unwrap(), HELLO_WORLD);
    assert_eq!(z85_encode(&[]).unwrap(), "");

    // Every byte value survives a round trip.
    let all: Vec<u8> = (0..=255).collect();
    let text = z85_encode(&all).unwrap();
    assert_eq!(text.len(), 320);
    assert_eq!(z85_decode(&text).unwrap(), all);
}

#[test]
fn z85_rejects_bad_input() {
    // Lengths: encode takes multiples of 4 bytes, decode of 5 characters.
    assert!(z85_encode(&[1, 2, 3]).is_err());
    assert!(z85_decode("").is_err());
    assert!(z85_decode("Hell").is_err());
    assert!(z85_decode("HelloWorld!").is_err());
    // Characters outside the alphabet, and a value above u32::MAX.
    assert!(z85_decode("Hello Worl").is_err());
    assert!(z85_decode("Hell\"").is_err());
    assert!(z85_decode("Hell\0").is_err());
    assert!(z85_decode("hé11").is_err());
    assert!(z85_decode("#####").is_err());
    let e = z85_decode("Hell~").unwrap_err();
    assert!(e.message.contains("Z85"), "{e}");
}

#[test]
fn curve_keypair_lengths() {
    let (public, secret) = curve_keypair().unwrap();
    assert_eq!(public.len(), 40, "{public}");
    assert_eq!(secret.len(), 40, "{secret}");
    assert_eq!(z85_decode(&public).unwrap().len(), 32);
    assert_eq!(z85_decode(&secret).unwrap().len(), 32);
    assert_eq!(curve_public(&secret).unwrap(), public);

    let (public2, secret2) = curve_keypair().unwrap();
    assert_ne!(public, public2);
    assert_ne!(secret, secret2);

    assert!(curve_public("too short").is_err());
    assert!(curve_public(&"~".repeat(40)).is_err());
}

// ---------------------------------------------------------------------------
// CURVE
// ---------------------------------------------------------------------------

/// A CURVE server REP, the PAIR socket monitoring it (attached before any
/// connection) and a CURVE client REQ connected to it, with keys of either
/// form (32 raw bytes or 40 Z85 characters): `(client, server, events)`.
fn curve_pair(
    ctx: &Context,
    server_secret: impl AsRef<[u8]>,
    server_public: impl AsRef<[u8]>,
    client_public: impl AsRef<[u8]>,
    client_secret: impl AsRef<[u8]>,
) -> (Socket, Socket, Socket) {
    let server = socket(ctx, SocketKind::Rep);
    server.set_curve_server(true).unwrap();
    server.set_curve_secretkey(server_secret).unwrap();
    let events = monitor(ctx, &server);
    let endpoint = bind_loopback(&server);

    let client = socket(ctx, SocketKind::Req);
    client.set_curve_serverkey(server_public).unwrap();
    client.set_curve_publickey(client_public).unwrap();
    client.set_curve_secretkey(client_secret).unwrap();
    client.connect(&endpoint).unwrap();
    (client, server, events)
}

#[test]
fn curve_req_rep_with_z85_keys() {
    let ctx = Context::new().unwrap();
    let (server_public, server_secret) = curve_keypair().unwrap();
    let (client_public, client_secret) = curve_keypair().unwrap();
    let (client, server, events) = curve_pair(
        &ctx,
        &server_secret,
        &server_public,
        &client_public,
        &client_secret,
    );
    assert_eq!(server.mechanism().unwrap(), ZMQ_CURVE);
    assert_eq!(client.mechanism().unwrap(), ZMQ_CURVE);
    round_trip(&client, &server);
    wait_event(&events, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
}

#[test]
fn curve_req_rep_with_raw_keys() {
    let ctx = Context::new().unwrap();
    let raw = |z85: &str| -> [u8; 32] { z85_decode(z85).unwrap().try_into().unwrap() };
    let (server_public, server_secret) = curve_keypair().unwrap();
    let (client_public, client_secret) = curve_keypair().unwrap();
    let (client, server, _events) = curve_pair(
        &ctx,
        raw(&server_secret),
        raw(&server_public),
        raw(&client_public),
        raw(&client_secret),
    );
    round_trip(&client, &server);
}

#[test]
fn curve_keys_of_other_lengths_are_rejected() {
    let ctx = Context::new().unwrap();
    let s = socket(&ctx, SocketKind::Req);
    for bad in [&b""[..], &[0u8; 31], &[0u8; 33], &[b'x'; 39]] {
        let e = s.set_curve_serverkey(bad).unwrap_err();
        assert_eq!(e.errno, 22, "EINVAL for a {}-byte key: {e}", bad.len());
    }
    // 40 characters, not all Z85.
    assert!(s.set_curve_publickey("~".repeat(40)).is_err());
    assert_eq!(s.mechanism().unwrap(), ZMQ_NULL);
}

#[test]
fn curve_client_with_the_wrong_server_key_gets_nothing() {
    let ctx = Context::new().unwrap();
    let (_server_public, server_secret) = curve_keypair().unwrap();
    let (impostor_public, _) = curve_keypair().unwrap();
    let (client_public, client_secret) = curve_keypair().unwrap();

    let server = socket(&ctx, SocketKind::Rep);
    server.set_curve_server(true).unwrap();
    server.set_curve_secretkey(&server_secret).unwrap();
    let endpoint = bind_loopback(&server);
    let events = monitor(&ctx, &server);

    let client = socket(&ctx, SocketKind::Req);
    client.set_curve_serverkey(&impostor_public).unwrap();
    client.set_curve_publickey(&client_public).unwrap();
    client.set_curve_secretkey(&client_secret).unwrap();
    client.connect(&endpoint).unwrap();
    client.send(&[b"hello?"]).unwrap();

    // The server cannot open the client's HELLO box.
    let event = wait_event(&events, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    assert_eq!(
        event.value, ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC,
        "{event:?}"
    );
    assert_gets_nothing(&client);
    assert!(server.try_recv().unwrap().is_none());
}

#[test]
fn null_client_of_a_curve_server_is_a_mechanism_mismatch() {
    let ctx = Context::new().unwrap();
    let (_, server_secret) = curve_keypair().unwrap();
    let server = socket(&ctx, SocketKind::Rep);
    server.set_curve_server(true).unwrap();
    server.set_curve_secretkey(&server_secret).unwrap();
    let endpoint = bind_loopback(&server);
    let events = monitor(&ctx, &server);

    let client = socket(&ctx, SocketKind::Req);
    client.connect(&endpoint).unwrap();
    client.send(&[b"plain text"]).unwrap();

    let event = wait_event(&events, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    assert_eq!(
        event.value, ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH,
        "{event:?}"
    );
    assert!(event.endpoint.starts_with("tcp://127.0.0.1:"), "{event:?}");
    assert_gets_nothing(&client);
}

#[test]
fn curve_zap_allows_only_a_known_client_key() {
    let ctx = Context::new().unwrap();
    let (server_public, server_secret) = curve_keypair().unwrap();
    let (known_public, known_secret) = curve_keypair().unwrap();
    let (stranger_public, stranger_secret) = curve_keypair().unwrap();

    let allowed = z85_decode(&known_public).unwrap();
    let zap = ZapHandler::start(&ctx, move |request| {
        if request.credentials == [allowed.clone()] {
            ZapReply::allow("known")
        } else {
            ZapReply::deny("unknown key")
        }
    })
    .unwrap();

    let server = socket(&ctx, SocketKind::Rep);
    server.set_curve_server(true).unwrap();
    server.set_curve_secretkey(&server_secret).unwrap();
    server.set_zap_domain("keys").unwrap();
    let endpoint = bind_loopback(&server);
    let events = monitor(&ctx, &server);

    let known = socket(&ctx, SocketKind::Req);
    known.set_curve_serverkey(&server_public).unwrap();
    known.set_curve_publickey(&known_public).unwrap();
    known.set_curve_secretkey(&known_secret).unwrap();
    known.connect(&endpoint).unwrap();
    round_trip(&known, &server);

    let stranger = socket(&ctx, SocketKind::Req);
    stranger.set_curve_serverkey(&server_public).unwrap();
    stranger.set_curve_publickey(&stranger_public).unwrap();
    stranger.set_curve_secretkey(&stranger_secret).unwrap();
    stranger.connect(&endpoint).unwrap();
    stranger.send(&[b"let me in"]).unwrap();

    let event = wait_event(&events, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    assert_eq!(event.value, 400, "{event:?}");
    assert_gets_nothing(&stranger);

    let requests = zap.requests();
    let key_of = |r: &ZapRequest| z85_encode(&r.credentials[0]).unwrap();
    assert!(requests.iter().all(|r| r.mechanism == "CURVE"
        && r.version == "1.0"
        && r.domain == "keys"
        && r.address == "127.0.0.1"
        && r.credentials.len() == 1));
    assert_eq!(key_of(&requests[0]), known_public);
    assert!(requests.iter().any(|r| key_of(r) == stranger_public));
    zap.stop().unwrap();
}

// ---------------------------------------------------------------------------
// PLAIN and ZAP
// ---------------------------------------------------------------------------

/// A PLAIN REQ client of `endpoint`.
fn plain_client(ctx: &Context, endpoint: &str, user: &str, password: &str) -> Socket {
    let client = socket(ctx, SocketKind::Req);
    client.set_plain_username(user).unwrap();
    client.set_plain_password(password).unwrap();
    assert_eq!(client.mechanism().unwrap(), ZMQ_PLAIN);
    client.connect(endpoint).unwrap();
    client
}

#[test]
fn plain_zap_accepts_one_user_and_refuses_a_wrong_password() {
    let ctx = Context::new().unwrap();
    let zap = ZapHandler::start(&ctx, |request| {
        if request.credentials == [b"admin".to_vec(), b"secret".to_vec()] {
            ZapReply::allow("admin")
        } else {
            ZapReply::deny("wrong user name or password")
        }
    })
    .unwrap();

    let server = socket(&ctx, SocketKind::Rep);
    server.set_plain_server(true).unwrap();
    server.set_zap_domain("global").unwrap();
    assert_eq!(server.mechanism().unwrap(), ZMQ_PLAIN);
    let endpoint = bind_loopback(&server);
    let events = monitor(&ctx, &server);

    let good = plain_client(&ctx, &endpoint, "admin", "secret");
    round_trip(&good, &server);

    let bad = plain_client(&ctx, &endpoint, "admin", "guess");
    bad.send(&[b"let me in"]).unwrap();
    let event = wait_event(&events, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    assert_eq!(event.value, 400, "{event:?}");
    assert_gets_nothing(&bad);
    assert!(server.try_recv().unwrap().is_none());

    // The accepted client still works.
    round_trip(&good, &server);

    let requests = zap.requests();
    let first = &requests[0];
    assert_eq!(
        (first.version.as_str(), first.mechanism.as_str()),
        ("1.0", "PLAIN")
    );
    assert_eq!(first.domain, "global");
    assert_eq!(first.address, "127.0.0.1");
    assert_eq!(first.credentials, [b"admin".to_vec(), b"secret".to_vec()]);
    // The refused client may have retried: every later request is its own.
    assert!(requests.len() >= 2, "{requests:?}");
    assert!(
        requests[1..]
            .iter()
            .all(|r| r.credentials == [b"admin".to_vec(), b"guess".to_vec()])
    );
    zap.stop().unwrap();
}

#[test]
fn zap_handler_driven_by_hand() {
    // Without ZapHandler: a REP socket at ZAP_ENDPOINT, driven by the test.
    let ctx = Context::new().unwrap();
    let handler = socket(&ctx, SocketKind::Rep);
    handler.bind(ZAP_ENDPOINT).unwrap();

    let server = socket(&ctx, SocketKind::Rep);
    server.set_plain_server(true).unwrap();
    let endpoint = bind_loopback(&server);
    let client = plain_client(&ctx, &endpoint, "user", "pass");
    client.send(&[b"hi"]).unwrap();

    let request = ZapRequest::parse(&handler.recv().unwrap()).unwrap();
    assert_eq!(request.mechanism, "PLAIN");
    assert_eq!(request.domain, "");
    assert_eq!(request.credentials, [b"user".to_vec(), b"pass".to_vec()]);
    let reply = request.reply_frames(&ZapReply::allow("user"));
    assert_eq!(reply.len(), 6);
    let parts: Vec<&[u8]> = reply.iter().map(Vec::as_slice).collect();
    handler.send(&parts).unwrap();

    assert_eq!(server.recv().unwrap(), vec![b"hi".to_vec()]);
}

#[test]
fn zap_handler_stop_unbinds_and_a_second_one_is_refused() {
    let ctx = Context::new().unwrap();
    let zap = ZapHandler::start(&ctx, |_| ZapReply::allow("")).unwrap();
    assert!(
        ZapHandler::start(&ctx, |_| ZapReply::allow("")).is_err(),
        "one handler per context"
    );
    zap.stop().unwrap();
    // Stopped and unbound: the endpoint is free again; dropping also stops.
    let again = ZapHandler::start(&ctx, |_| ZapReply::allow("")).unwrap();
    assert!(again.requests().is_empty());
    drop(again);
    // Handlers in different contexts are independent.
    let other = Context::new().unwrap();
    let _a = ZapHandler::start(&ctx, |_| ZapReply::allow("")).unwrap();
    let _b = ZapHandler::start(&other, |_| ZapReply::allow("")).unwrap();
}

#[test]
fn malformed_messages_are_errors_not_panics() {
    assert!(ZapRequest::parse(&[b"1.0".to_vec(), b"1".to_vec()]).is_err());
    assert!(MonitorEvent::parse(&[vec![0; 5], b"tcp://x".to_vec()]).is_err());
    assert!(MonitorEvent::parse(&[vec![0; 6]]).is_err());
    let mut head = ZMQ_EVENT_HANDSHAKE_FAILED_AUTH.to_ne_bytes().to_vec();
    head.extend_from_slice(&400_u32.to_ne_bytes());
    let event = MonitorEvent::parse(&[head, b"tcp://127.0.0.1:1".to_vec()]).unwrap();
    assert_eq!(
        event,
        MonitorEvent {
            event: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH,
            value: 400,
            endpoint: "tcp://127.0.0.1:1".to_owned(),
        }
    );
}
