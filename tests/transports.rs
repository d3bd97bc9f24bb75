//! The core pattern behaviours over every transport. Each test body below
//! takes a [`Transport`] and runs three times, as `tcp::<name>`,
//! `ipc::<name>` and `inproc::<name>` (see `transport_tests!` at the end).
//!
//! Ports, in spirit, of libzmq's test_spec_pushpull, test_spec_req,
//! test_spec_rep, test_spec_dealer, test_spec_router, test_router_mandatory,
//! test_pair_*, test_pubsub, test_xpub_*, test_hwm, test_unbind_*,
//! test_term_endpoint and test_reconnect_ivl, which libzmq itself runs over
//! tcp, ipc and inproc alike.
//!
//! Endpoints: tcp binds `tcp://127.0.0.1:0` and reads the port back with
//! `last_endpoint`; ipc uses a fresh socket file in a directory of its own
//! per test (removed at the end); inproc uses fresh names, and every
//! socket of a test comes from the test's one [`Context`] (inproc names
//! belong to a context).
//!
//! Synchronisation is by monitor events where the transport has them
//! (tcp, ipc) and needs none on inproc, whose pairing and closing happen
//! in the calling thread: see [`Transport::settle`] and friends. The
//! transports deliberately differ, as in libzmq, in a few places, which
//! the tests assert:
//!
//! * ipc peers have no address in monitor events, and inproc reports no
//!   connection events at all (it has no connections);
//! * `unbind` of an inproc name frees the name but keeps the pairs made
//!   through it (libzmq's `term_endpoint` does the same), where tcp and
//!   ipc close the accepted connections;
//! * an inproc pair whose bound side closed is gone for good: a new bind
//!   of the name does not re-pair earlier connects (there is nothing to
//!   reconnect), where tcp and ipc reconnect and deliver what was queued;
//! * inproc's high-water mark is the sum of both sides' marks, exactly.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use brokerless::{Context, Error, Message, Monitor, MonitorEvent, Socket, SocketType};
use bytes::Bytes;
use common::{
    LONG, assert_fair_rounds, disconnections, fr, frames, msg, sender_seq, text, wait_for,
};

// ---------------------------------------------------------------------------
// The transports
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Tcp,
    Ipc,
    Inproc,
}

/// One test's transport: makes fresh endpoints and sockets of one
/// context, and waits for what the transport needs waiting for.
struct Transport {
    kind: Kind,
    test: &'static str,
    /// `Option` so that `drop` can shut the context down (closing every
    /// listener) before it removes the ipc directory.
    ctx: Option<Context>,
    /// ipc: this test's directory of socket files.
    dir: Option<PathBuf>,
    next: AtomicUsize,
}

impl Transport {
    fn new(kind: Kind, test: &'static str) -> Transport {
        let dir = (kind == Kind::Ipc).then(|| {
            let dir =
                std::env::temp_dir().join(format!("brokerless-{}-{test}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            dir
        });
        Transport {
            kind,
            test,
            ctx: Some(Context::new()),
            dir,
            next: AtomicUsize::new(0),
        }
    }

    fn ctx(&self) -> &Context {
        self.ctx
            .as_ref()
            .expect("the context lives as long as the test")
    }

    /// A socket with 20 s timeouts and no linger ([`common::sock`]).
    fn sock(&self, t: SocketType) -> Socket {
        common::sock(self.ctx(), t)
    }

    /// An endpoint nothing is bound at yet: for tcp a port the system
    /// chose and released (so it can also be connected to before the
    /// bind), for ipc a fresh socket file, for inproc a fresh name.
    fn unused(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        match self.kind {
            Kind::Tcp => format!("tcp://127.0.0.1:{}", common::free_port()),
            Kind::Ipc => {
                let path = self.dir.as_ref().unwrap().join(format!("{n}.sock"));
                let ep = format!("ipc://{}", path.display());
                assert!(ep.len() <= 107 + 6, "socket path too long: {ep}");
                ep
            }
            Kind::Inproc => format!("inproc://{}-{n}", self.test),
        }
    }

    /// Binds `s` to a fresh endpoint; returns the endpoint to connect to
    /// (tcp: the port the system chose, read back).
    fn bind(&self, s: &Socket) -> String {
        let asked = match self.kind {
            Kind::Tcp => "tcp://127.0.0.1:0".to_string(),
            _ => self.unused(),
        };
        s.bind(&asked).unwrap();
        let ep = s.last_endpoint().unwrap();
        match self.kind {
            Kind::Tcp => assert!(
                ep.starts_with("tcp://127.0.0.1:") && !ep.ends_with(":0"),
                "{ep}"
            ),
            // ipc and inproc endpoints are reported as given.
            Kind::Ipc | Kind::Inproc => assert_eq!(ep, asked),
        }
        ep
    }

    /// A [`Transport::sock`] bound to a fresh endpoint, and the endpoint.
    fn bound(&self, t: SocketType) -> (Socket, String) {
        let s = self.sock(t);
        let ep = self.bind(&s);
        (s, ep)
    }

    /// A [`Transport::sock`] connected to `ep`.
    fn connected(&self, t: SocketType, ep: &str) -> Socket {
        let s = self.sock(t);
        s.connect(ep).unwrap();
        s
    }

    /// Whether the transport has connections to report to monitors.
    fn has_events(&self) -> bool {
        self.kind != Kind::Inproc
    }

    /// The socket file of an ipc endpoint.
    fn ipc_path(ep: &str) -> &Path {
        Path::new(ep.strip_prefix("ipc://").unwrap())
    }

    /// Waits until the socket watched by `monitor` completed a handshake
    /// (and, as it hears of the peer first, has the peer in place). inproc
    /// pairs in the calling thread: nothing to wait for.
    fn await_handshake(&self, monitor: &Monitor) {
        if self.has_events() {
            wait_for(monitor, |e| {
                matches!(e, MonitorEvent::HandshakeSucceeded { .. })
            });
        }
    }

    /// Waits until the socket watched by `monitor` saw a connection end.
    /// inproc closes a pair in the calling thread: nothing to wait for.
    fn await_lost(&self, monitor: &Monitor) {
        if self.has_events() {
            wait_for(monitor, |e| matches!(e, MonitorEvent::Disconnected { .. }));
        }
    }

    /// Waits until the listener at `ep` of the socket watched by `monitor`
    /// is closed and the address free again. inproc frees a name in the
    /// calling thread.
    fn await_closed(&self, monitor: &Monitor, ep: &str) {
        if self.has_events() {
            wait_for(
                monitor,
                |e| matches!(e, MonitorEvent::Closed { endpoint } if endpoint == ep),
            );
        }
    }

    /// Waits until the socket bound at `ep` (watched by `monitor`) has
    /// lost `n` connections and holds everything their peers sent before
    /// going: the `n` disconnections, then a barrier on its I/O thread (a
    /// bare connection whose `Accepted` is awaited; tests/common says why
    /// that is exact). inproc: the messages are in the pipes already.
    fn settle(&self, monitor: &Monitor, ep: &str, n: usize) {
        match self.kind {
            Kind::Tcp => {
                disconnections(monitor, n);
                common::io_barrier(monitor, ep);
            }
            Kind::Ipc => {
                disconnections(monitor, n);
                let _stream = std::os::unix::net::UnixStream::connect(Self::ipc_path(ep)).unwrap();
                wait_for(monitor, |e| matches!(e, MonitorEvent::Accepted { .. }));
            }
            Kind::Inproc => {}
        }
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        // Shutting the context down waits for the I/O thread, which
        // closes every listener (and removes its socket file) first.
        drop(self.ctx.take());
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn run(kind: Kind, test: &'static str, body: fn(&Transport)) {
    let t = Transport::new(kind, test);
    body(&t);
}

/// The first frame of a message, as text.
fn first(m: &Message) -> String {
    text(&m[0])
}

/// Whether nothing is waiting to be received.
fn nothing_waiting(s: &Socket) -> bool {
    matches!(s.try_recv(), Err(Error::WouldBlock))
}

// ---------------------------------------------------------------------------
// PUSH/PULL (test_spec_pushpull)
// ---------------------------------------------------------------------------

/// A PUSH connected to three PULLs deals messages to them in turn, in the
/// order of the connects (the queues exist from `connect` on, so nothing
/// needs waiting for).
fn push_pull_round_robin(t: &Transport) {
    let pulls: Vec<(Socket, String)> = (0..3).map(|_| t.bound(SocketType::Pull)).collect();
    let push = t.sock(SocketType::Push);
    for (_, ep) in &pulls {
        push.connect(ep).unwrap();
    }
    for i in 0..30 {
        push.send(i.to_string()).unwrap();
    }
    for (k, (pull, _)) in pulls.iter().enumerate() {
        for j in 0..10 {
            assert_eq!(first(&pull.recv().unwrap()), (3 * j + k).to_string());
        }
        assert!(nothing_waiting(pull));
    }
}

/// A PULL fair-queues its PUSHers: once everything the three sent is
/// queued at the PULL, it takes one message from each in turn, each
/// PUSHer's in order.
fn push_pull_fair_queue(t: &Transport) {
    let (pull, ep) = t.bound(SocketType::Pull);
    let monitor = pull.monitor().unwrap();
    let pushes: Vec<Socket> = (0..3).map(|_| t.connected(SocketType::Push, &ep)).collect();
    for (k, push) in pushes.iter().enumerate() {
        push.send(format!("hello {k}")).unwrap();
    }
    let mut hellos: Vec<String> = (0..3).map(|_| first(&pull.recv().unwrap())).collect();
    hellos.sort();
    assert_eq!(hellos, ["hello 0", "hello 1", "hello 2"]);

    for (k, push) in pushes.iter().enumerate() {
        for j in 0..5 {
            push.send(format!("{k}:{j}")).unwrap();
        }
        push.set_linger(LONG).unwrap();
    }
    drop(pushes);
    t.settle(&monitor, &ep, 3);
    let got: Vec<(usize, usize)> = (0..15)
        .map(|_| sender_seq(&pull.recv().unwrap()[0]))
        .collect();
    assert_fair_rounds(&got, 3, 5);
    assert!(nothing_waiting(&pull));
}

/// Multipart messages arrive whole and unchanged: empty frames, frames
/// around the 255-byte short/long boundary, 1 MiB frames; with either
/// side bound. inproc hands the very buffers over, without a copy.
fn multipart_integrity(t: &Transport) {
    let big = Bytes::from((0..1 << 20).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let msgs: Vec<Message> = vec![
        Message::from(""),
        Message::from(vec![Bytes::new(), Bytes::from_static(b"x"), Bytes::new()]),
        Message::from(vec![Bytes::from_static(b"head"), big.clone()]),
        Message::from(vec![
            Bytes::from(vec![7u8; 256]),
            Bytes::from(vec![8u8; 255]),
        ]),
        Message::from(
            (0..100)
                .map(|i| Bytes::from(i.to_string()))
                .collect::<Vec<_>>(),
        ),
        big.clone().into(),
    ];
    // PULL bound, PUSH connected; then PUSH bound, PULL connected.
    let (pull, ep) = t.bound(SocketType::Pull);
    let push = t.connected(SocketType::Push, &ep);
    let (push2, ep2) = t.bound(SocketType::Push);
    let pull2 = t.connected(SocketType::Pull, &ep2);
    for (push, pull) in [(&push, &pull), (&push2, &pull2)] {
        for m in &msgs {
            push.send(m.clone()).unwrap();
        }
        for m in &msgs {
            let got = pull.recv().unwrap();
            assert_eq!(&got, m);
            if t.kind == Kind::Inproc && got.len() == 2 && got[1].len() == 1 << 20 {
                assert_eq!(got[1].as_ptr(), big.as_ptr(), "inproc does not copy");
            }
        }
        assert!(nothing_waiting(pull));
    }
}

/// PUSH's high-water mark: a PUSH whose PULL does not read stops after a
/// bounded number of messages (exactly the sum of both sides' marks over
/// inproc; at least that over tcp and ipc, whose kernel buffers hold
/// more); then `try_send` says `WouldBlock` and `send` times out with
/// `Error::Timeout`. Nothing is lost, and a blocked send resumes once the
/// PULL reads. A PUSH with no peer at all blocks the same way.
fn push_hwm_blocks_and_times_out(t: &Transport) {
    // No peer: nowhere to queue.
    let (lonely, _) = t.bound(SocketType::Push);
    assert!(matches!(lonely.try_send("x"), Err(Error::WouldBlock)));
    lonely
        .set_send_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let start = Instant::now();
    assert!(matches!(lonely.send("x"), Err(Error::Timeout)));
    assert!(start.elapsed() >= Duration::from_millis(100));

    let pull = t.sock(SocketType::Pull);
    pull.set_recv_hwm(5).unwrap();
    let ep = t.bind(&pull);
    let push = t.sock(SocketType::Push);
    push.set_send_hwm(5).unwrap();
    push.connect(&ep).unwrap();
    // The first message is through: the connection is up.
    push.send("first").unwrap();
    assert_eq!(first(&pull.recv().unwrap()), "first");

    push.set_send_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let payload = Bytes::from(vec![0u8; 16 * 1024]);
    let numbered = |i: usize| Message::from(vec![Bytes::from(i.to_string()), payload.clone()]);
    let mut sent = 0usize;
    loop {
        match push.send(numbered(sent)) {
            Ok(()) => sent += 1,
            Err(Error::Timeout) => break,
            Err(e) => panic!("after {sent} messages: {e:?}"),
        }
        assert!(sent < 100_000, "no back-pressure");
    }
    assert!(matches!(push.try_send("over"), Err(Error::WouldBlock)));
    eprintln!("{:?}: the PUSH blocked after {sent} messages", t.kind);
    match t.kind {
        Kind::Inproc => assert_eq!(sent, 10, "inproc: the sum of both HWMs"),
        Kind::Tcp | Kind::Ipc => assert!(sent >= 10, "both queues fill: {sent}"),
    }

    // A blocked send completes once the PULL drains the queues.
    push.set_send_timeout(LONG).unwrap();
    let last = numbered(sent);
    let blocked = std::thread::spawn(move || {
        let sent = push.send(last);
        (push, sent)
    });
    for i in 0..=sent {
        assert_eq!(first(&pull.recv().unwrap()), i.to_string());
    }
    let (_push, result) = blocked.join().unwrap();
    result.unwrap();
    assert!(nothing_waiting(&pull));
}

// ---------------------------------------------------------------------------
// REQ/REP (test_spec_req, test_spec_rep)
// ---------------------------------------------------------------------------

/// Requests and replies in lockstep, single and multipart, with either
/// side bound.
fn req_rep_basic(t: &Transport) {
    let (rep, ep) = t.bound(SocketType::Rep);
    let req = t.connected(SocketType::Req, &ep);
    let (req2, ep2) = t.bound(SocketType::Req);
    let rep2 = t.connected(SocketType::Rep, &ep2);
    for (req, rep) in [(&req, &rep), (&req2, &rep2)] {
        for i in 0..10 {
            req.send(format!("request {i}")).unwrap();
            assert_eq!(frames(&rep.recv().unwrap()), fr(&[&format!("request {i}")]));
            rep.send(msg(&["reply", &i.to_string()])).unwrap();
            assert_eq!(frames(&req.recv().unwrap()), fr(&["reply", &i.to_string()]));
        }
        req.send(msg(&["a", "", "c"])).unwrap();
        assert_eq!(frames(&rep.recv().unwrap()), fr(&["a", "", "c"]));
        rep.send(msg(&["", "y"])).unwrap();
        assert_eq!(frames(&req.recv().unwrap()), fr(&["", "y"]));
        assert!(nothing_waiting(rep));
    }
}

/// A REQ connected to five REPs sends its requests round-robin, one REP
/// after the other in connect order, two full cycles, and takes each
/// reply from the REP it asked.
fn req_round_robin_over_reps(t: &Transport) {
    let reps: Vec<(Socket, String)> = (0..5).map(|_| t.bound(SocketType::Rep)).collect();
    let req = t.sock(SocketType::Req);
    for (_, ep) in &reps {
        req.connect(ep).unwrap();
    }
    for cycle in 0..2 {
        for (k, (rep, _)) in reps.iter().enumerate() {
            req.send(format!("ABC{cycle}")).unwrap();
            assert_eq!(
                frames(&rep.recv().unwrap()),
                fr(&[&format!("ABC{cycle}")]),
                "REP {k}"
            );
            rep.send(format!("DEF{k}")).unwrap();
            assert_eq!(frames(&req.recv().unwrap()), fr(&[&format!("DEF{k}")]));
        }
    }
    for (rep, _) in &reps {
        assert!(nothing_waiting(rep));
    }
}

/// A REP keeps each request's envelope (everything up to the empty
/// delimiter), hands the application only the body, and puts the envelope
/// back on the reply; with several REQs, every reply goes back to the
/// REQ that asked.
fn rep_envelopes_and_fair_queue(t: &Transport) {
    let (rep, ep) = t.bound(SocketType::Rep);
    let dealer = t.connected(SocketType::Dealer, &ep);
    dealer.send(msg(&["", "A"])).unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["A"]));
    rep.send("a").unwrap();
    assert_eq!(frames(&dealer.recv().unwrap()), fr(&["", "a"]));
    dealer.send(msg(&["X", "Y", "", "B", "", "C"])).unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["B", "", "C"]));
    rep.send(msg(&["D", "E"])).unwrap();
    assert_eq!(
        frames(&dealer.recv().unwrap()),
        fr(&["X", "Y", "", "D", "E"])
    );
    // Without a delimiter, a request is discarded.
    dealer.send("no delimiter").unwrap();
    dealer.send(msg(&["", "good"])).unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["good"]));
    rep.send("ok").unwrap();
    assert_eq!(frames(&dealer.recv().unwrap()), fr(&["", "ok"]));

    let letters = ["A", "B", "C", "D", "E"];
    let reqs: Vec<Socket> = letters
        .iter()
        .map(|_| t.connected(SocketType::Req, &ep))
        .collect();
    for (req, letter) in reqs.iter().zip(letters) {
        req.send(letter).unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..letters.len() {
        let m = rep.recv().unwrap();
        seen.push(first(&m));
        rep.send(msg(&[&first(&m), "echo"])).unwrap();
    }
    seen.sort();
    assert_eq!(seen, letters);
    for (req, letter) in reqs.iter().zip(letters) {
        assert_eq!(frames(&req.recv().unwrap()), fr(&[letter, "echo"]));
    }
    assert!(nothing_waiting(&rep));
}

/// REQ and REP in strict lockstep: out-of-order calls are
/// `Error::InvalidState` and change nothing; a REQ with no peer blocks on
/// send (`WouldBlock` / `Timeout`) and may still not receive.
fn req_rep_strictness(t: &Transport) {
    let (rep, ep) = t.bound(SocketType::Rep);
    let req = t.connected(SocketType::Req, &ep);
    assert!(matches!(req.recv(), Err(Error::InvalidState(_))));
    assert!(matches!(req.try_recv(), Err(Error::InvalidState(_))));
    assert!(matches!(rep.send("x"), Err(Error::InvalidState(_))));
    req.send("one").unwrap();
    assert!(matches!(req.send("two"), Err(Error::InvalidState(_))));
    assert!(matches!(req.try_send("two"), Err(Error::InvalidState(_))));
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["one"]));
    assert!(matches!(rep.recv(), Err(Error::InvalidState(_))));
    assert!(matches!(rep.try_recv(), Err(Error::InvalidState(_))));
    rep.send("1").unwrap();
    assert!(matches!(rep.send("again"), Err(Error::InvalidState(_))));
    assert_eq!(frames(&req.recv().unwrap()), fr(&["1"]));
    assert!(matches!(req.recv(), Err(Error::InvalidState(_))));
    // The refused "two" never left.
    req.send("three").unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["three"]));
    rep.send("3").unwrap();
    assert_eq!(frames(&req.recv().unwrap()), fr(&["3"]));
    assert!(nothing_waiting(&rep));

    let (alone, _) = t.bound(SocketType::Req);
    alone
        .set_send_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    assert!(matches!(alone.try_send("x"), Err(Error::WouldBlock)));
    assert!(matches!(alone.send("x"), Err(Error::Timeout)));
    assert!(matches!(alone.try_recv(), Err(Error::InvalidState(_))));
}

// ---------------------------------------------------------------------------
// DEALER/ROUTER and PAIR (test_spec_dealer, test_spec_router,
// test_router_mandatory, test_pair_*)
// ---------------------------------------------------------------------------

/// A ROUTER prefixes each message with its sender's routing id (the one
/// the peer set, else a generated `00` + 4 bytes) and routes what it
/// sends by the first frame; unknown ids are dropped silently.
fn dealer_router_routing_ids(t: &Transport) {
    let (router, ep) = t.bound(SocketType::Router);
    let named = |id: &str| {
        let s = t.sock(SocketType::Dealer);
        s.set_routing_id(id.to_string()).unwrap();
        s.connect(&ep).unwrap();
        s
    };
    let x = named("X");
    let y = named("Y");
    let anon = t.connected(SocketType::Dealer, &ep);
    x.send("from x").unwrap();
    y.send("from y").unwrap();
    anon.send("from anon").unwrap();
    let mut anon_id = None;
    for _ in 0..3 {
        let m = router.recv().unwrap();
        assert_eq!(m.len(), 2, "{m:?}");
        match &m[1][..] {
            b"from x" => assert_eq!(&m[0], b"X"),
            b"from y" => assert_eq!(&m[0], b"Y"),
            b"from anon" => {
                assert_eq!(m[0].len(), 5, "{m:?}");
                assert_eq!(m[0][0], 0, "{m:?}");
                anon_id = Some(Bytes::copy_from_slice(&m[0]));
            }
            _ => panic!("{m:?}"),
        }
    }
    let anon_id = anon_id.unwrap();

    router.send(msg(&["Y", "to y"])).unwrap();
    router.send(msg(&["X", "to x", "", "more"])).unwrap();
    router.send(msg(&["Z", "to nobody"])).unwrap();
    router
        .send(Message::from(vec![anon_id, Bytes::from_static(b"to anon")]))
        .unwrap();
    assert_eq!(frames(&y.recv().unwrap()), fr(&["to y"]));
    assert_eq!(frames(&x.recv().unwrap()), fr(&["to x", "", "more"]));
    assert_eq!(frames(&anon.recv().unwrap()), fr(&["to anon"]));
    for s in [&x, &y, &anon, &router] {
        assert!(nothing_waiting(s));
    }
}

/// ROUTER to ROUTER: `connect_routing_id` names the bound ROUTER on the
/// connecting side, whatever it announces; the bound one knows the
/// connecting one by the routing id that one set.
fn router_to_router_with_connect_routing_id(t: &Transport) {
    let server = t.sock(SocketType::Router);
    server.set_routing_id("SERVER").unwrap();
    let ep = t.bind(&server);
    let client = t.sock(SocketType::Router);
    client.set_routing_id("CLIENT").unwrap();
    client.set_router_mandatory(true).unwrap();
    let monitor = client.monitor().unwrap();
    client.set_connect_routing_id("srv").unwrap();
    client.connect(&ep).unwrap();
    // The peer is routable once its handshake is done.
    t.await_handshake(&monitor);
    client.send(msg(&["srv", "hello"])).unwrap();
    assert_eq!(frames(&server.recv().unwrap()), fr(&["CLIENT", "hello"]));
    server.send(msg(&["CLIENT", "world"])).unwrap();
    assert_eq!(frames(&client.recv().unwrap()), fr(&["srv", "world"]));
    // The id it announced is not the one it is known by.
    assert!(matches!(
        client.send(msg(&["SERVER", "x"])),
        Err(Error::HostUnreachable)
    ));
}

/// With `router_mandatory`, a message to an unknown routing id is
/// `Error::HostUnreachable` (and silently dropped without it); a known
/// peer is reached; once it has gone, it is unreachable again.
fn router_mandatory_unroutable(t: &Transport) {
    let (router, ep) = t.bound(SocketType::Router);
    let monitor = router.monitor().unwrap();
    router.send(msg(&["UNKNOWN", "DATA"])).unwrap();
    router.set_router_mandatory(true).unwrap();
    assert!(matches!(
        router.send(msg(&["UNKNOWN", "DATA"])),
        Err(Error::HostUnreachable)
    ));
    assert!(matches!(
        router.try_send(msg(&["UNKNOWN", "DATA"])),
        Err(Error::HostUnreachable)
    ));

    let dealer = t.sock(SocketType::Dealer);
    dealer.set_routing_id("X").unwrap();
    dealer.connect(&ep).unwrap();
    dealer.send("Hello").unwrap();
    assert_eq!(frames(&router.recv().unwrap()), fr(&["X", "Hello"]));
    router.send(msg(&["X", "Hi"])).unwrap();
    assert_eq!(frames(&dealer.recv().unwrap()), fr(&["Hi"]));

    drop(dealer);
    t.settle(&monitor, &ep, 1);
    assert!(matches!(
        router.send(msg(&["X", "Hello"])),
        Err(Error::HostUnreachable)
    ));
}

/// Two PAIRs exchange multipart messages both ways, and many messages in
/// both directions at once.
fn pair_exchange(t: &Transport) {
    let (server, ep) = t.bound(SocketType::Pair);
    let client = t.connected(SocketType::Pair, &ep);
    let content = "12345678ABCDEFGH12345678abcdefgh";
    client.send(msg(&[content, content])).unwrap();
    assert_eq!(frames(&server.recv().unwrap()), fr(&[content, content]));
    server.send(msg(&[content, "", content])).unwrap();
    assert_eq!(frames(&client.recv().unwrap()), fr(&[content, "", content]));
    let sender = std::thread::spawn(move || {
        for i in 0..500 {
            client.send(i.to_string()).unwrap();
        }
        client
    });
    for i in 0..500 {
        server.send(i.to_string()).unwrap();
        assert_eq!(first(&server.recv().unwrap()), i.to_string());
    }
    let client = sender.join().unwrap();
    for i in 0..500 {
        assert_eq!(first(&client.recv().unwrap()), i.to_string());
    }
    assert!(nothing_waiting(&client));
    assert!(nothing_waiting(&server));
}

// ---------------------------------------------------------------------------
// PUB/SUB, XPUB/XSUB (test_pubsub, test_xpub_*, test_sub_forward)
// ---------------------------------------------------------------------------

/// A SUB receives the messages whose first frame starts with one of its
/// subscriptions (the empty one matches everything); the publisher waits
/// for its subscribers instead of losing messages to the slow joiner.
fn pub_sub_prefix_filter(t: &Transport) {
    let (publ, ep) = t.bound(SocketType::Pub);
    let subscriber = |topics: &[&str]| {
        let s = t.sock(SocketType::Sub);
        for topic in topics {
            s.subscribe(topic).unwrap();
        }
        s.connect(&ep).unwrap();
        s
    };
    let weather = subscriber(&["weather."]);
    let all = subscriber(&[""]);
    publ.wait_for_subscribers(2, LONG.unwrap()).unwrap();
    let sent = ["weather.rome", "sport.golf", "weather.oslo", "w", "weather"];
    for topic in sent {
        publ.send(msg(&[topic, "body"])).unwrap();
    }
    // Matching is on the first frame only.
    publ.send(msg(&["sport", "weather."])).unwrap();
    for want in ["weather.rome", "weather.oslo"] {
        assert_eq!(frames(&weather.recv().unwrap()), fr(&[want, "body"]));
    }
    for want in sent {
        assert_eq!(frames(&all.recv().unwrap()), fr(&[want, "body"]));
    }
    assert_eq!(frames(&all.recv().unwrap()), fr(&["sport", "weather."]));
    assert!(nothing_waiting(&weather));
    assert!(nothing_waiting(&all));
}

/// Subscriptions are counted: one cancel of two changes nothing; the last
/// goes upstream and the publisher stops sending that topic. (An XPUB
/// publishes like a PUB and shows what it has applied, so every step is
/// awaited exactly.)
fn pub_sub_unsubscribe(t: &Transport) {
    let (publ, ep) = t.bound(SocketType::XPub);
    let sub = t.sock(SocketType::Sub);
    for topic in ["A", "A", "Z"] {
        sub.subscribe(topic).unwrap();
    }
    sub.connect(&ep).unwrap();
    let mut seen = vec![first(&publ.recv().unwrap()), first(&publ.recv().unwrap())];
    seen.sort();
    assert_eq!(seen, ["\x01A", "\x01Z"]);
    sub.unsubscribe("A").unwrap();
    publ.send("A1").unwrap();
    publ.send("Z1").unwrap();
    assert_eq!(first(&sub.recv().unwrap()), "A1");
    assert_eq!(first(&sub.recv().unwrap()), "Z1");
    sub.unsubscribe("A").unwrap();
    assert_eq!(first(&publ.recv().unwrap()), "\x00A");
    publ.send("A2").unwrap();
    publ.send("Z2").unwrap();
    assert_eq!(first(&sub.recv().unwrap()), "Z2");
    assert!(nothing_waiting(&sub));
    assert!(nothing_waiting(&publ));
}

/// An XPUB receives `\x01topic` for the first subscription to a topic and
/// `\x00topic` for the last cancel, from SUBs and XSUBs alike, including
/// the cancels of a subscriber that goes away.
fn xpub_receives_subscriptions(t: &Transport) {
    let (xpub, ep) = t.bound(SocketType::XPub);
    let a = t.sock(SocketType::Sub);
    a.subscribe("A").unwrap();
    a.connect(&ep).unwrap();
    assert_eq!(first(&xpub.recv().unwrap()), "\x01A");
    let b = t.sock(SocketType::Sub);
    b.subscribe("A").unwrap();
    b.subscribe("B").unwrap();
    b.connect(&ep).unwrap();
    // "A" is not new: only "B" is reported.
    assert_eq!(first(&xpub.recv().unwrap()), "\x01B");
    let c = t.connected(SocketType::XSub, &ep);
    c.send("\x01C").unwrap();
    assert_eq!(first(&xpub.recv().unwrap()), "\x01C");

    a.unsubscribe("A").unwrap();
    b.unsubscribe("B").unwrap();
    // "A" still has a subscriber (b); "B" has none left.
    assert_eq!(first(&xpub.recv().unwrap()), "\x00B");
    c.send("\x00C").unwrap();
    assert_eq!(first(&xpub.recv().unwrap()), "\x00C");
    // A departing subscriber's last topics are cancelled for it.
    drop(b);
    assert_eq!(first(&xpub.recv().unwrap()), "\x00A");
    assert!(nothing_waiting(&xpub));
}

/// An XSUB sends subscriptions upstream as raw `\x01topic` messages: an
/// XPUB sees them as sent, and a PUB filters on them. Other messages go
/// upstream unchanged.
fn xsub_raw_subscription_upstream(t: &Transport) {
    let (xpub, ep) = t.bound(SocketType::XPub);
    let xsub = t.connected(SocketType::XSub, &ep);
    xsub.send("\x01T").unwrap();
    assert_eq!(first(&xpub.recv().unwrap()), "\x01T");
    xsub.send("hello upstream").unwrap();
    assert_eq!(first(&xpub.recv().unwrap()), "hello upstream");
    for m in ["T1", "U1", "T2"] {
        xpub.send(m).unwrap();
    }
    assert_eq!(first(&xsub.recv().unwrap()), "T1");
    assert_eq!(first(&xsub.recv().unwrap()), "T2");
    xsub.send("\x00T").unwrap();
    assert_eq!(first(&xpub.recv().unwrap()), "\x00T");

    let (publ, ep2) = t.bound(SocketType::Pub);
    let xsub2 = t.connected(SocketType::XSub, &ep2);
    xsub2.send("\x01T").unwrap();
    publ.wait_for_subscribers(1, LONG.unwrap()).unwrap();
    for m in ["U1", "T1"] {
        publ.send(m).unwrap();
    }
    assert_eq!(first(&xsub2.recv().unwrap()), "T1");
    assert!(nothing_waiting(&xsub2));
}

// ---------------------------------------------------------------------------
// Endpoints: ordering, unbind, disconnect, reconnect, monitor events
// ---------------------------------------------------------------------------

/// Connecting first and binding later works for every pattern: what was
/// sent before the bind waits in the connect's queue, subscriptions are
/// sent once the publisher is there.
fn connect_before_bind(t: &Transport) {
    let early = |ty: SocketType, ep: &str| {
        let s = t.sock(ty);
        s.set_reconnect_interval(Some(Duration::from_millis(10)))
            .unwrap();
        s.connect(ep).unwrap();
        s
    };

    let ep = t.unused();
    let push = early(SocketType::Push, &ep);
    for i in 0..10 {
        push.try_send(i.to_string()).unwrap();
    }
    let pull = t.sock(SocketType::Pull);
    pull.bind(&ep).unwrap();
    for i in 0..10 {
        assert_eq!(first(&pull.recv().unwrap()), i.to_string());
    }

    let ep = t.unused();
    let req = early(SocketType::Req, &ep);
    req.try_send("early").unwrap();
    let rep = t.sock(SocketType::Rep);
    rep.bind(&ep).unwrap();
    assert_eq!(frames(&rep.recv().unwrap()), fr(&["early"]));
    rep.send("answer").unwrap();
    assert_eq!(frames(&req.recv().unwrap()), fr(&["answer"]));

    let ep = t.unused();
    let dealer = t.sock(SocketType::Dealer);
    dealer.set_routing_id("D").unwrap();
    dealer
        .set_reconnect_interval(Some(Duration::from_millis(10)))
        .unwrap();
    dealer.connect(&ep).unwrap();
    dealer.try_send("queued").unwrap();
    let router = t.sock(SocketType::Router);
    router.bind(&ep).unwrap();
    assert_eq!(frames(&router.recv().unwrap()), fr(&["D", "queued"]));
    router.send(msg(&["D", "back"])).unwrap();
    assert_eq!(frames(&dealer.recv().unwrap()), fr(&["back"]));

    let ep = t.unused();
    let pair = early(SocketType::Pair, &ep);
    pair.try_send("pair").unwrap();
    let pair2 = t.sock(SocketType::Pair);
    pair2.bind(&ep).unwrap();
    assert_eq!(frames(&pair2.recv().unwrap()), fr(&["pair"]));

    let ep = t.unused();
    let sub = t.sock(SocketType::Sub);
    sub.subscribe("A").unwrap();
    sub.set_reconnect_interval(Some(Duration::from_millis(10)))
        .unwrap();
    sub.connect(&ep).unwrap();
    let publ = t.sock(SocketType::Pub);
    publ.bind(&ep).unwrap();
    // The SUB's socket learns of an inproc bind at its next call.
    assert!(nothing_waiting(&sub));
    publ.wait_for_subscribers(1, LONG.unwrap()).unwrap();
    publ.send("B").unwrap();
    publ.send("A1").unwrap();
    assert_eq!(first(&sub.recv().unwrap()), "A1");
}

/// `unbind` stops one bound endpoint and leaves the socket's others
/// alone; unbinding it twice is `EndpointNotFound`; the endpoint can be
/// bound again (tcp: the same port). The connections accepted through it
/// are closed over tcp and ipc (the PUSH there reconnects to the new
/// binder and delivers what it queued meanwhile); over inproc the pairs
/// stay, as in libzmq, and the name is only freed.
fn unbind_one_endpoint(t: &Transport) {
    let pull = t.sock(SocketType::Pull);
    let monitor = pull.monitor().unwrap();
    let e1 = t.bind(&pull);
    let e2 = t.bind(&pull);
    assert_ne!(e1, e2);
    let a = t.sock(SocketType::Push);
    a.set_reconnect_interval(Some(Duration::from_millis(10)))
        .unwrap();
    let a_monitor = a.monitor().unwrap();
    a.connect(&e1).unwrap();
    let b = t.connected(SocketType::Push, &e2);
    a.send("a1").unwrap();
    b.send("b1").unwrap();
    let mut got = vec![first(&pull.recv().unwrap()), first(&pull.recv().unwrap())];
    got.sort();
    assert_eq!(got, ["a1", "b1"]);

    pull.unbind(&e1).unwrap();
    assert!(matches!(pull.unbind(&e1), Err(Error::EndpointNotFound(_))));
    if t.has_events() {
        t.await_closed(&monitor, &e1);
        // a's connection was closed by the unbind.
        t.await_lost(&a_monitor);
        if t.kind == Kind::Ipc {
            assert!(
                !Transport::ipc_path(&e1).exists(),
                "unbind removes the file"
            );
        }
    }
    a.send("a2").unwrap();
    if t.kind == Kind::Inproc {
        // The pair made through the name stays.
        assert_eq!(first(&pull.recv().unwrap()), "a2");
    }
    // The other endpoint still works.
    b.send("b2").unwrap();
    assert_eq!(first(&pull.recv().unwrap()), "b2");
    assert!(nothing_waiting(&pull));

    // The endpoint is free for another socket.
    let pull2 = t.sock(SocketType::Pull);
    pull2.bind(&e1).unwrap();
    if t.kind == Kind::Inproc {
        let c = t.connected(SocketType::Push, &e1);
        c.send("c1").unwrap();
        assert_eq!(first(&pull2.recv().unwrap()), "c1");
    } else {
        // a reconnected, to the new binder, with what it had queued.
        assert_eq!(first(&pull2.recv().unwrap()), "a2");
    }
    assert!(nothing_waiting(&pull2));
}

/// `disconnect` drops one connect and leaves the socket's others alone:
/// a PUSH connected to two PULLs sends everything to the remaining one
/// afterwards; disconnecting twice, or from an endpoint never connected,
/// is `EndpointNotFound`.
fn disconnect_one_endpoint(t: &Transport) {
    let (p1, e1) = t.bound(SocketType::Pull);
    let m1 = p1.monitor().unwrap();
    let (p2, e2) = t.bound(SocketType::Pull);
    let push = t.sock(SocketType::Push);
    push.connect(&e1).unwrap();
    push.connect(&e2).unwrap();
    push.send("0").unwrap();
    push.send("1").unwrap();
    assert_eq!(first(&p1.recv().unwrap()), "0");
    assert_eq!(first(&p2.recv().unwrap()), "1");

    push.disconnect(&e1).unwrap();
    assert!(matches!(
        push.disconnect(&e1),
        Err(Error::EndpointNotFound(_))
    ));
    assert!(matches!(
        push.disconnect(&t.unused()),
        Err(Error::EndpointNotFound(_))
    ));
    // The PULL sees the connection end (then the PUSH's queue to it is
    // gone too).
    t.await_lost(&m1);
    for i in 0..10 {
        push.send(i.to_string()).unwrap();
    }
    for i in 0..10 {
        assert_eq!(first(&p2.recv().unwrap()), i.to_string());
    }
    assert!(nothing_waiting(&p1));
    assert!(nothing_waiting(&p2));
}

/// The bound socket closes and a new one binds the same endpoint (tcp:
/// the port read back from the first bind). Over tcp and ipc, the
/// connecting sockets reconnect by themselves: a PUSH delivers what it
/// queued meanwhile, a SUB sends its subscriptions again. Over inproc
/// there is no connection to re-make (as in libzmq): the old pair is
/// gone, and connecting again reaches the new binder.
fn reconnect_after_rebind(t: &Transport) {
    let pull = t.sock(SocketType::Pull);
    let pull_monitor = pull.monitor().unwrap();
    let ep = t.bind(&pull);
    let push = t.sock(SocketType::Push);
    push.set_reconnect_interval(Some(Duration::from_millis(10)))
        .unwrap();
    let push_monitor = push.monitor().unwrap();
    push.connect(&ep).unwrap();
    push.send("before").unwrap();
    assert_eq!(first(&pull.recv().unwrap()), "before");

    let publ = t.sock(SocketType::Pub);
    let pub_monitor = publ.monitor().unwrap();
    let pub_ep = t.bind(&publ);
    let sub = t.sock(SocketType::Sub);
    sub.set_reconnect_interval(Some(Duration::from_millis(10)))
        .unwrap();
    sub.subscribe("T").unwrap();
    sub.connect(&pub_ep).unwrap();
    publ.wait_for_subscribers(1, LONG.unwrap()).unwrap();
    publ.send("T0").unwrap();
    assert_eq!(first(&sub.recv().unwrap()), "T0");

    drop(pull);
    drop(publ);
    // The endpoints are free again once the old listeners are closed; a
    // message written into a dying connection may die with it, so the
    // PUSH sends only once it has seen the loss.
    t.await_closed(&pull_monitor, &ep);
    t.await_closed(&pub_monitor, &pub_ep);
    t.await_lost(&push_monitor);

    let pull = t.sock(SocketType::Pull);
    pull.bind(&ep).unwrap();
    let publ = t.sock(SocketType::Pub);
    publ.bind(&pub_ep).unwrap();
    if t.kind == Kind::Inproc {
        // No re-pairing: the PUSH has no peer, the publisher no
        // subscriber.
        assert!(matches!(push.try_send("lost"), Err(Error::WouldBlock)));
        assert!(matches!(
            publ.wait_for_subscribers(1, Duration::from_millis(50)),
            Err(Error::Timeout)
        ));
        push.connect(&ep).unwrap();
        sub.connect(&pub_ep).unwrap();
    }
    for i in 0..5 {
        push.send(i.to_string()).unwrap();
    }
    for i in 0..5 {
        assert_eq!(first(&pull.recv().unwrap()), i.to_string());
    }
    publ.wait_for_subscribers(1, LONG.unwrap()).unwrap();
    publ.send("U1").unwrap();
    publ.send("T1").unwrap();
    assert_eq!(first(&sub.recv().unwrap()), "T1");
    assert!(nothing_waiting(&sub));
}

/// Monitor events as each transport has them: tcp reports the peer's
/// address, ipc none (its peers have no address), and inproc, which has
/// no connections, reports nothing at all.
fn monitor_events(t: &Transport) {
    let pull = t.sock(SocketType::Pull);
    let lm = pull.monitor().unwrap();
    let ep = t.bind(&pull);
    let push = t.sock(SocketType::Push);
    let pm = push.monitor().unwrap();
    push.connect(&ep).unwrap();
    push.send("x").unwrap();
    assert_eq!(first(&pull.recv().unwrap()), "x");

    if !t.has_events() {
        pull.unbind(&ep).unwrap();
        assert!(matches!(lm.try_recv(), Err(Error::WouldBlock)));
        assert!(matches!(pm.try_recv(), Err(Error::WouldBlock)));
        return;
    }
    // The life of a connection, in order; other events (connection
    // attempts and the like) are skipped.
    let next = |m: &Monitor| {
        wait_for(m, |e| {
            matches!(
                e,
                MonitorEvent::Listening { .. }
                    | MonitorEvent::Accepted { .. }
                    | MonitorEvent::Connected { .. }
                    | MonitorEvent::HandshakeSucceeded { .. }
                    | MonitorEvent::HandshakeFailed { .. }
                    | MonitorEvent::Disconnected { .. }
                    | MonitorEvent::Closed { .. }
            )
        })
    };
    let want_addr = t.kind == Kind::Tcp;
    assert_eq!(
        next(&lm),
        MonitorEvent::Listening {
            endpoint: ep.clone()
        }
    );
    let accepted_from = match next(&lm) {
        MonitorEvent::Accepted { endpoint, peer } if endpoint == ep => peer,
        other => panic!("{other:?}"),
    };
    assert_eq!(accepted_from.is_some(), want_addr, "{accepted_from:?}");
    assert_eq!(
        next(&lm),
        MonitorEvent::HandshakeSucceeded {
            endpoint: ep.clone(),
            peer: accepted_from
        }
    );
    let connected_to = match next(&pm) {
        MonitorEvent::Connected { endpoint, peer } if endpoint == ep => peer,
        other => panic!("{other:?}"),
    };
    match connected_to {
        Some(addr) => {
            assert!(want_addr);
            assert_eq!(format!("tcp://{addr}"), ep);
        }
        None => assert!(!want_addr),
    }
    assert_eq!(
        next(&pm),
        MonitorEvent::HandshakeSucceeded {
            endpoint: ep.clone(),
            peer: connected_to
        }
    );

    drop(push);
    assert_eq!(
        next(&lm),
        MonitorEvent::Disconnected {
            endpoint: ep.clone(),
            peer: accepted_from,
            error: None
        }
    );
    pull.unbind(&ep).unwrap();
    assert_eq!(next(&lm), MonitorEvent::Closed { endpoint: ep });
    assert_eq!(lm.dropped(), 0);
}

// ---------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------

/// `transport_tests! { name, other { inproc: #[ignore = "why"]; }, ... }`
/// makes `tcp::name`, `ipc::name` and `inproc::name` for every body
/// `fn name(&Transport)`; attributes given for one transport go on that
/// transport's test only.
macro_rules! transport_tests {
    ($(
        $name:ident $({
            $(tcp: $(#[$tcp:meta])+ ;)?
            $(ipc: $(#[$ipc:meta])+ ;)?
            $(inproc: $(#[$inproc:meta])+ ;)?
        })?
    ),* $(,)?) => {
        mod tcp {
            $(
                #[test]
                $($($(#[$tcp])+)?)?
                fn $name() {
                    super::run(super::Kind::Tcp, stringify!($name), super::$name);
                }
            )*
        }
        mod ipc {
            $(
                #[test]
                $($($(#[$ipc])+)?)?
                fn $name() {
                    super::run(super::Kind::Ipc, stringify!($name), super::$name);
                }
            )*
        }
        mod inproc {
            $(
                #[test]
                $($($(#[$inproc])+)?)?
                fn $name() {
                    super::run(super::Kind::Inproc, stringify!($name), super::$name);
                }
            )*
        }
    };
}

transport_tests! {
    push_pull_round_robin,
    push_pull_fair_queue,
    multipart_integrity,
    push_hwm_blocks_and_times_out,
    req_rep_basic,
    req_round_robin_over_reps,
    rep_envelopes_and_fair_queue,
    req_rep_strictness,
    dealer_router_routing_ids,
    router_to_router_with_connect_routing_id,
    router_mandatory_unroutable,
    pair_exchange,
    pub_sub_prefix_filter,
    pub_sub_unsubscribe,
    xpub_receives_subscriptions,
    xsub_raw_subscription_upstream,
    connect_before_bind,
    unbind_one_endpoint,
    disconnect_one_endpoint,
    reconnect_after_rebind,
    monitor_events,
}
