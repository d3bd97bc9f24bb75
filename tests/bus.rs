//! BUS: many-to-many, no echo, duplicates suppressed, relays.
//!
//! Message bodies are `"<sender>:<seq>"` ([`sender_seq`] parses them), so
//! each receiver's take can be compared, per sender, with what was sent:
//! exactly once, and (over direct links and lines, where every path is
//! FIFO) in order. "Nothing more" is checked with a quiet period at the
//! end ([`assert_quiet`]) after exact counts; everything else waits on a
//! condition (monitor events, message counts), never on a sleep.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use brokerless::{Context, Error, Message, MonitorEvent, ProtocolError, Socket, SocketType};
use bytes::Bytes;
use common::*;

#[test]
fn three_nodes_each_hear_the_others_once() {
    let ctx = Context::new();
    let nodes: Vec<_> = (0..3)
        .map(|i| {
            let s = sock(&ctx, SocketType::Bus);
            s.set_routing_id(format!("n{i}")).unwrap();
            s.bind("tcp://127.0.0.1:*").unwrap();
            s
        })
        .collect();
    let eps: Vec<String> = nodes.iter().map(|n| n.last_endpoint().unwrap()).collect();
    let mons: Vec<_> = nodes.iter().map(|n| n.monitor().unwrap()).collect();
    for (i, n) in nodes.iter().enumerate() {
        for (j, ep) in eps.iter().enumerate() {
            if i != j {
                n.connect(ep).unwrap();
            }
        }
    }
    // Each node: 2 connects + 2 accepted = 4 handshakes.
    for m in &mons {
        handshakes(m, 4);
    }
    for (i, n) in nodes.iter().enumerate() {
        n.send(format!("from {i}").as_str()).unwrap();
    }
    for (i, n) in nodes.iter().enumerate() {
        let mut got: Vec<String> = (0..2).map(|_| text(&n.recv().unwrap()[0])).collect();
        got.sort();
        let want: Vec<String> = (0..3)
            .filter(|j| *j != i)
            .map(|j| format!("from {j}"))
            .collect();
        assert_eq!(got, want);
        n.set_recv_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        assert!(
            matches!(n.recv(), Err(Error::Timeout)),
            "a duplicate or an echo"
        );
    }
    let peers = nodes[0].bus_peers().unwrap();
    assert_eq!(peers.len(), 4);
}

#[test]
fn a_line_of_relays_reaches_the_end() {
    // a - b - c - d over inproc; b and c relay.
    let ctx = Context::new();
    let n: Vec<_> = (0..4).map(|_| sock(&ctx, SocketType::Bus)).collect();
    for (i, s) in n.iter().enumerate() {
        s.bind(&format!("inproc://line-{i}")).unwrap();
    }
    for (i, s) in n.iter().take(3).enumerate() {
        s.connect(&format!("inproc://line-{}", i + 1)).unwrap();
    }
    n[1].set_bus_relay(true).unwrap();
    n[2].set_bus_relay(true).unwrap();
    n[0].send("hello").unwrap();
    assert_eq!(text(&n[1].recv().unwrap()[0]), "hello");
    assert_eq!(text(&n[2].recv().unwrap()[0]), "hello");
    assert_eq!(text(&n[3].recv().unwrap()[0]), "hello");
    // Nothing came back to the origin.
    assert!(matches!(n[0].try_recv(), Err(Error::WouldBlock)));
    let bus = ctx.socket(SocketType::Pull).unwrap();
    assert!(matches!(bus.bus_peers(), Err(Error::NotSupported(_))));
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// How long a node must stay silent at the end of a test.
const QUIET: Duration = Duration::from_millis(200);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Tcp,
    Ipc,
    Inproc,
}

impl Transport {
    /// A fresh endpoint to bind (TCP: a port chosen by the system).
    fn bind_endpoint(self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        match self {
            Transport::Tcp => "tcp://127.0.0.1:*".into(),
            Transport::Ipc => format!(
                "ipc://{}/brokerless-bus-{}-{n}.sock",
                std::env::temp_dir().display(),
                std::process::id()
            ),
            Transport::Inproc => format!("inproc://bus-test-{n}"),
        }
    }
}

/// A BUS node ([`sock`]: 20 s timeouts, no linger) with routing id `name`.
fn node(ctx: &Context, name: &str) -> Socket {
    let s = sock(ctx, SocketType::Bus);
    s.set_routing_id(name.to_string()).unwrap();
    s
}

/// Binds `s` to a fresh endpoint of `t`; returns the resolved endpoint.
fn bind_on(s: &Socket, t: Transport) -> String {
    s.bind(&t.bind_endpoint()).unwrap();
    s.last_endpoint().unwrap()
}

/// `"3:17"`: message 17 of node 3.
fn body(sender: usize, seq: usize) -> String {
    format!("{sender}:{seq}")
}

/// Sends `seqs` from every `(id, node)`, round-robin over the nodes, so
/// that their messages interleave.
fn send_round_robin(members: &[(usize, &Socket)], seqs: Range<usize>) {
    for k in seqs {
        for (i, s) in members {
            s.send(body(*i, k)).unwrap();
        }
    }
}

/// Receives `count` one-frame messages; returns, per sender, the
/// sequence numbers in the order they came.
fn recv_from(s: &Socket, count: usize) -> BTreeMap<usize, Vec<usize>> {
    let mut got: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for n in 0..count {
        let m = s
            .recv()
            .unwrap_or_else(|e| panic!("message {n} of {count}: {e}; so far {got:?}"));
        assert_eq!(m.len(), 1, "{m:?}");
        let (k, j) = sender_seq(&m[0]);
        got.entry(k).or_default().push(j);
    }
    got
}

/// What a node should get: `seqs` from each of `senders`, in order.
fn expected(
    senders: impl IntoIterator<Item = usize>,
    seqs: Range<usize>,
) -> BTreeMap<usize, Vec<usize>> {
    senders
        .into_iter()
        .map(|k| (k, seqs.clone().collect()))
        .collect()
}

/// Every member sends `seqs` (interleaved), then each receives exactly
/// the others' messages, once each and in order per sender.
fn exchange(members: &[(usize, &Socket)], seqs: Range<usize>) {
    send_round_robin(members, seqs.clone());
    for (i, s) in members {
        let others: Vec<usize> = members.iter().map(|(k, _)| *k).filter(|k| k != i).collect();
        let got = recv_from(s, others.len() * seqs.len());
        assert_eq!(got, expected(others, seqs.clone()), "node {i}");
    }
}

/// No node receives anything more for [`QUIET`]: no duplicate, no echo,
/// no message still going round. (The first waits the whole period, the
/// others are then only polled.)
fn assert_quiet(nodes: &[&Socket]) {
    let start = Instant::now();
    for (i, s) in nodes.iter().enumerate() {
        let left = QUIET.saturating_sub(start.elapsed());
        let got = if left.is_zero() {
            s.try_recv()
        } else {
            s.set_recv_timeout(Some(left)).unwrap();
            let got = s.recv();
            s.set_recv_timeout(LONG).unwrap();
            got
        };
        match got {
            Err(Error::Timeout | Error::WouldBlock) => {}
            Ok(m) => panic!("node {i} received one more message: {:?}", frames(&m)),
            Err(e) => panic!("node {i}: {e}"),
        }
    }
}

/// The routing ids of a node's peers, sorted, with their drops.
fn peers_of(s: &Socket) -> Vec<(String, u64)> {
    let mut peers: Vec<(String, u64)> = s
        .bus_peers()
        .unwrap()
        .into_iter()
        .map(|p| (text(&p.routing_id), p.dropped))
        .collect();
    peers.sort();
    peers
}

/// `n` nodes `n0`.. on `t`, each bound and connected to every other (two
/// links per pair), with every handshake done.
fn full_mesh(ctx: &Context, t: Transport, n: usize) -> Vec<Socket> {
    let nodes: Vec<Socket> = (0..n).map(|i| node(ctx, &format!("n{i}"))).collect();
    // inproc pairs at once and reports no events.
    let monitors: Vec<_> = match t {
        Transport::Inproc => Vec::new(),
        _ => nodes.iter().map(|s| s.monitor().unwrap()).collect(),
    };
    let eps: Vec<String> = nodes.iter().map(|s| bind_on(s, t)).collect();
    for (i, s) in nodes.iter().enumerate() {
        for (j, ep) in eps.iter().enumerate() {
            if i != j {
                s.connect(ep).unwrap();
            }
        }
    }
    for m in &monitors {
        handshakes(m, 2 * (n - 1));
    }
    nodes
}

/// The acceptance test of the many-to-many pattern on one transport.
fn many_to_many(t: Transport) {
    const N: usize = 5;
    const PER_NODE: usize = 20;
    let ctx = Context::new();
    let nodes = full_mesh(&ctx, t, N);
    let members: Vec<(usize, &Socket)> = nodes.iter().enumerate().collect();
    // Each receives 4 x 20 messages, each exactly once although it came
    // over two links, in order per sender, and none of its own.
    exchange(&members, 0..PER_NODE);
    assert_quiet(&nodes.iter().collect::<Vec<_>>());
    for (i, s) in nodes.iter().enumerate() {
        let mut want: Vec<(String, u64)> = (0..N)
            .filter(|j| *j != i)
            .flat_map(|j| [(format!("n{j}"), 0), (format!("n{j}"), 0)])
            .collect();
        want.sort();
        assert_eq!(peers_of(s), want, "node {i} over {t:?}");
        assert_eq!(s.dropped_messages(), 0);
    }
}

// ---------------------------------------------------------------------------
// Many to many
// ---------------------------------------------------------------------------

/// Five nodes over TCP, each bound to its own port and connected to the
/// four others: every message reaches the four others exactly once (not
/// twice, although each pair has two connections), never its sender.
#[test]
fn a_five_node_tcp_mesh_delivers_each_message_to_the_four_others_once() {
    many_to_many(Transport::Tcp);
}

#[test]
fn a_five_node_ipc_mesh_delivers_each_message_to_the_four_others_once() {
    many_to_many(Transport::Ipc);
}

#[test]
fn a_five_node_inproc_mesh_delivers_each_message_to_the_four_others_once() {
    many_to_many(Transport::Inproc);
}

// ---------------------------------------------------------------------------
// A peer that stops reading
// ---------------------------------------------------------------------------

/// Over inproc a pipe holds exactly the writer's send HWM plus the
/// reader's receive HWM, so what a node that never reads misses is known
/// in advance: everything past that. The three live nodes exchange at
/// full speed meanwhile (every `try_send` succeeds at once, everything
/// reaches them), and only the links to the stalled node count drops.
#[test]
fn a_stalled_node_misses_exactly_what_its_inproc_queues_cannot_hold() {
    const N: usize = 500;
    const SEND_HWM: usize = 6;
    const STALLED_RECV_HWM: usize = 4;
    const HOLDS: usize = SEND_HWM + STALLED_RECV_HWM;
    let ctx = Context::new();
    let live: Vec<Socket> = (0..3)
        .map(|i| {
            let s = node(&ctx, &format!("n{i}"));
            s.set_send_hwm(SEND_HWM).unwrap();
            // Unlimited: a live pipe is SEND_HWM + 0 = unlimited.
            s.set_recv_hwm(0).unwrap();
            s
        })
        .collect();
    let stalled = node(&ctx, "stalled");
    stalled.set_recv_hwm(STALLED_RECV_HWM).unwrap();
    // One link per pair: i connects to every j > i.
    {
        let all: Vec<&Socket> = live.iter().chain([&stalled]).collect();
        let eps: Vec<String> = all.iter().map(|s| bind_on(s, Transport::Inproc)).collect();
        for (i, s) in all.iter().enumerate() {
            for ep in &eps[i + 1..] {
                s.connect(ep).unwrap();
            }
        }
    }

    let start = Instant::now();
    let (live, received) = on_own_threads(live, |i, s| {
        for k in 0..N {
            // Never held up by the stalled node: not even once
            // would this send have to wait.
            s.try_send(body(i, k)).unwrap();
        }
        recv_from(s, 2 * N)
    });
    let took = start.elapsed();
    let all: Vec<&Socket> = live.iter().chain([&stalled]).collect();
    for (i, got) in received.iter().enumerate() {
        let others = (0..3).filter(|k| *k != i);
        assert_eq!(*got, expected(others, 0..N), "live node {i}");
    }
    for (i, s) in live.iter().enumerate() {
        let mut want: Vec<(String, u64)> = (0..3)
            .filter(|j| *j != i)
            .map(|j| (format!("n{j}"), 0))
            .chain([("stalled".to_string(), (N - HOLDS) as u64)])
            .collect();
        want.sort();
        assert_eq!(peers_of(s), want, "live node {i}");
        assert_eq!(s.dropped_messages(), (N - HOLDS) as u64, "live node {i}");
    }

    // The stalled node resumes: it gets the first HOLDS of each sender,
    // and nothing more.
    let got = recv_from(&stalled, 3 * HOLDS);
    assert_eq!(got, expected(0..3, 0..HOLDS));
    assert_quiet(&all);
    assert_eq!(stalled.dropped_messages(), 0);
    eprintln!("live exchange of 3 x {N} messages while one node stalled: {took:?}");
}

/// Over TCP what a stalled node's connection holds depends on the
/// kernel's buffers, so the check is conservation, link by link (one
/// connection per pair, no relay, so each message has one way to the
/// stalled node): every message sent to it was either counted as dropped
/// for that link or is received when it resumes — and those it receives
/// come in order. The live nodes, with unlimited queues between them, get
/// everything meanwhile.
#[test]
fn a_stalled_tcp_node_receives_every_message_not_counted_as_dropped() {
    // 384 x 64 KiB = 24 MiB per link, several times what a loopback
    // connection whose reader stopped buffers (6 to 7 MiB measured here:
    // the kernel's buffers and both queues), so every link to the stalled
    // node drops.
    const N: usize = 384;
    const SIZE: usize = 64 * 1024;
    const HWM: usize = 10;
    let ctx = Context::new();
    let stalled = node(&ctx, "stalled");
    stalled.set_recv_hwm(HWM).unwrap();
    let live: Vec<Socket> = (0..3)
        .map(|i| {
            let s = node(&ctx, &format!("n{i}"));
            s.set_send_hwm(0).unwrap();
            s.set_recv_hwm(0).unwrap();
            s
        })
        .collect();
    let (monitors, eps): (Vec<_>, Vec<String>) = live
        .iter()
        .chain([&stalled])
        .map(|s| (s.monitor().unwrap(), bind_on(s, Transport::Tcp)))
        .unzip();
    for (i, s) in live.iter().enumerate() {
        for ep in &eps[i + 1..3] {
            s.connect(ep).unwrap();
        }
        // Only the queue to the stalled node is bounded.
        s.set_send_hwm(HWM).unwrap();
        s.connect(&eps[3]).unwrap();
    }
    for m in &monitors {
        handshakes(m, 3);
    }

    let payload = Bytes::from(vec![0x5a_u8; SIZE]);
    let (live, received) = on_own_threads(live, |i, s| {
        // In rounds (send one, receive two), so that the I/O
        // threads keep up and what fills the stalled node's
        // connections is its not reading, not our pace.
        let mut got: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for k in 0..N {
            let m = Message::from(vec![Bytes::from(body(i, k)), payload.clone()]);
            s.try_send(m).unwrap();
            for _ in 0..2 {
                let m = s.recv().unwrap();
                assert_eq!(m.len(), 2);
                assert_eq!(m[1].len(), SIZE);
                let (k, j) = sender_seq(&m[0]);
                got.entry(k).or_default().push(j);
            }
        }
        got
    });
    for (i, got) in received.iter().enumerate() {
        let others = (0..3).filter(|k| *k != i);
        assert_eq!(*got, expected(others, 0..N), "live node {i}");
    }
    // Drops only on the links to the stalled node; per link and in total.
    let mut dropped = Vec::new();
    for (i, s) in live.iter().enumerate() {
        let peers = peers_of(s);
        let to_stalled: u64 = peers
            .iter()
            .filter(|(id, _)| id == "stalled")
            .map(|(_, d)| *d)
            .sum();
        assert_eq!(peers.len(), 3, "{peers:?}");
        assert!(
            peers.iter().all(|(id, d)| id == "stalled" || *d == 0),
            "live node {i}: {peers:?}"
        );
        assert!(to_stalled > 0, "live node {i} dropped nothing: {peers:?}");
        assert_eq!(s.dropped_messages(), to_stalled, "live node {i}");
        dropped.push(to_stalled as usize);
    }

    // The stalled node resumes: from each sender, exactly the messages
    // not counted as dropped, in order.
    let total: usize = dropped.iter().map(|d| N - d).sum();
    let mut got: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for n in 0..total {
        let m = stalled
            .recv()
            .unwrap_or_else(|e| panic!("message {n} of {total} (drops {dropped:?}): {e}"));
        let (k, j) = sender_seq(&m[0]);
        got.entry(k).or_default().push(j);
    }
    let all: Vec<&Socket> = live.iter().chain([&stalled]).collect();
    assert_quiet(&all);
    for (i, d) in dropped.iter().enumerate() {
        let seqs = got.get(&i).cloned().unwrap_or_default();
        assert_eq!(seqs.len(), N - d, "from node {i}");
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "from {i}: {seqs:?}");
        assert!(seqs.iter().all(|j| *j < N));
    }
    eprintln!("dropped per link to the stalled node: {dropped:?} of {N}");
    // More got through than the two queues' HWMs: the kernel's buffers
    // filled too before the drops began.
    assert!(dropped.iter().all(|d| N - d > 2 * HWM), "{dropped:?}");
}

// ---------------------------------------------------------------------------
// Leaving and rejoining
// ---------------------------------------------------------------------------

/// Node `e` of a four-node TCP mesh closes its socket; a new socket
/// (routing id `e2`) binds the same endpoint and connects to the others.
/// The others' connects to that endpoint are re-made by themselves; what
/// they sent meanwhile waited in their queue to it, up to its send HWM,
/// the rest counted as dropped for that peer; the connection that `e`
/// had made to them is gone from their peers.
#[test]
fn a_node_leaves_and_rejoins_on_the_same_endpoint() {
    const AWAY_HWM: usize = 5;
    const AWAY: usize = 8;
    let ctx = Context::new();
    let names = ["a", "b", "c"];
    let setup = |s: &Socket| s.set_reconnect_interval(Some(Duration::from_millis(50)));
    let stay: Vec<Socket> = names.iter().map(|n| node(&ctx, n)).collect();
    let e = node(&ctx, "e");
    for s in stay.iter().chain([&e]) {
        setup(s).unwrap();
    }
    let monitors: Vec<_> = stay.iter().map(|s| s.monitor().unwrap()).collect();
    let e_monitor = e.monitor().unwrap();
    let eps: Vec<String> = stay.iter().map(|s| bind_on(s, Transport::Tcp)).collect();
    let e_ep = bind_on(&e, Transport::Tcp);
    for (i, s) in stay.iter().enumerate() {
        for (j, ep) in eps.iter().enumerate() {
            if i != j {
                s.connect(ep).unwrap();
            }
        }
        s.set_send_hwm(AWAY_HWM).unwrap();
        s.connect(&e_ep).unwrap();
    }
    for ep in &eps {
        e.connect(ep).unwrap();
    }
    for m in monitors.iter().chain([&e_monitor]) {
        handshakes(m, 6);
    }
    let all: Vec<(usize, &Socket)> = stay.iter().chain([&e]).enumerate().collect();
    exchange(&all, 0..3);
    assert_quiet(&all.iter().map(|(_, s)| *s).collect::<Vec<_>>());

    // e leaves: each other node loses both its connections with it; the
    // one e made is gone from its peers, its own connect to e stays (and
    // is retried).
    drop(e);
    wait_for(&e_monitor, |ev| matches!(ev, MonitorEvent::MonitorStopped));
    for (m, ep) in monitors.iter().zip(&eps) {
        disconnections(m, 2);
        io_barrier(m, ep);
    }
    for (i, s) in stay.iter().enumerate() {
        let mut want: Vec<(String, u64)> = names
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, n)| [(n.to_string(), 0), (n.to_string(), 0)])
            .chain([("e".to_string(), 0)])
            .collect();
        want.sort();
        // The connect still waiting for e's endpoint keeps the routing id
        // last seen there (today "e"; an empty one, as before a first
        // handshake, would do as well).
        let mut peers: Vec<(String, u64)> = peers_of(s)
            .into_iter()
            .map(|(id, d)| (if id.is_empty() { "e".into() } else { id }, d))
            .collect();
        peers.sort();
        assert_eq!(peers, want, "node {} after e left", names[i]);
    }
    // Meanwhile the others go on; AWAY_HWM of their messages wait for e.
    let three: Vec<(usize, &Socket)> = stay.iter().enumerate().collect();
    exchange(&three, 100..100 + AWAY);
    for s in &stay {
        assert_eq!(s.dropped_messages(), (AWAY - AWAY_HWM) as u64);
    }

    // e comes back: a new socket on the same endpoint.
    let e2 = node(&ctx, "e2");
    setup(&e2).unwrap();
    let e2_monitor = e2.monitor().unwrap();
    e2.bind(&e_ep).unwrap();
    for ep in &eps {
        e2.connect(ep).unwrap();
    }
    handshakes(&e2_monitor, 6);
    for m in &monitors {
        handshakes(m, 2);
    }
    // First what waited for it, then the mesh works as before.
    let got = recv_from(&e2, 3 * AWAY_HWM);
    assert_eq!(got, expected(0..3, 100..100 + AWAY_HWM));
    let all: Vec<(usize, &Socket)> = stay.iter().chain([&e2]).enumerate().collect();
    exchange(&all, 200..203);
    assert_quiet(&all.iter().map(|(_, s)| *s).collect::<Vec<_>>());
    for (i, s) in stay.iter().enumerate() {
        // The connect to e's endpoint now leads to e2 and kept its drops.
        let mut want: Vec<(String, u64)> = names
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, n)| [(n.to_string(), 0), (n.to_string(), 0)])
            .chain([
                ("e2".to_string(), 0),
                ("e2".to_string(), (AWAY - AWAY_HWM) as u64),
            ])
            .collect();
        want.sort();
        assert_eq!(peers_of(s), want, "node {} after e2 joined", names[i]);
        assert_eq!(s.dropped_messages(), (AWAY - AWAY_HWM) as u64);
    }
    let mut want: Vec<(String, u64)> = names
        .iter()
        .flat_map(|n| [(n.to_string(), 0), (n.to_string(), 0)])
        .collect();
    want.sort();
    assert_eq!(peers_of(&e2), want);
}

// ---------------------------------------------------------------------------
// Relays
// ---------------------------------------------------------------------------

/// a - b - c - d - e over TCP, one connection per hop; b, c and d run
/// [`brokerless::relay`] only. Each end receives every message of the
/// other exactly once, in order, and none of its own.
#[test]
fn relay_only_nodes_carry_a_tcp_line_end_to_end() {
    const M: usize = 50;
    let ctx = Context::new();
    let nodes: Vec<Socket> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|n| node(&ctx, n))
        .collect();
    let monitors: Vec<_> = nodes.iter().map(|s| s.monitor().unwrap()).collect();
    let eps: Vec<String> = nodes.iter().map(|s| bind_on(s, Transport::Tcp)).collect();
    for i in 0..4 {
        nodes[i].connect(&eps[i + 1]).unwrap();
    }
    for (i, m) in monitors.iter().enumerate() {
        handshakes(m, if i == 0 || i == 4 { 1 } else { 2 });
    }
    let mut nodes = nodes.into_iter();
    let a = nodes.next().unwrap();
    let relays: Vec<Socket> = nodes.by_ref().take(3).collect();
    let e = nodes.next().unwrap();
    for r in &relays {
        assert_eq!(r.bus_peers().unwrap().len(), 2);
    }
    // Each relay is owned by its thread until the context ends; then the
    // thread hands it back for inspection.
    let threads: Vec<_> = relays
        .into_iter()
        .map(|r| {
            std::thread::spawn(move || {
                let result = brokerless::relay(&r);
                (r, result)
            })
        })
        .collect();
    send_round_robin(&[(0, &a), (4, &e)], 0..M);
    assert_eq!(recv_from(&a, M), expected([4], 0..M));
    assert_eq!(recv_from(&e, M), expected([0], 0..M));
    assert_quiet(&[&a, &e]);
    // The relays return when the context ends.
    ctx.shutdown();
    for t in threads {
        let (r, result) = t.join().unwrap();
        result.unwrap();
        assert!(r.bus_relay());
        assert_eq!(r.dropped_messages(), 0);
    }
}

/// A TCP forwarder for one connection, counting the bytes it carries both
/// ways: listens on a loopback port and joins the first connection it
/// accepts to `target`. Returns its endpoint and the counter.
fn counting_proxy(target: &str) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
    let bytes = Arc::new(AtomicU64::new(0));
    let target = target.trim_start_matches("tcp://").to_string();
    let counter = bytes.clone();
    std::thread::spawn(move || {
        let Ok((down, _)) = listener.accept() else {
            return;
        };
        let Ok(up) = TcpStream::connect(&target) else {
            return;
        };
        for s in [&down, &up] {
            s.set_nodelay(true).unwrap();
        }
        let (down2, up2) = (down.try_clone().unwrap(), up.try_clone().unwrap());
        let c2 = counter.clone();
        std::thread::spawn(move || pump(down2, up2, &c2));
        pump(up, down, &counter);
    });
    (endpoint, bytes)
}

/// Copies `from` to `to` until either ends, counting what went through
/// (before writing it, so that the count is complete once the other end
/// has it).
fn pump(mut from: TcpStream, mut to: TcpStream, counter: &AtomicU64) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        counter.fetch_add(n as u64, Ordering::SeqCst);
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Five nodes in a ring over TCP, all relaying members (sending and
/// receiving). Every node receives every other node's message exactly
/// once, none of its own; and the traffic stops: counted on the wire (a
/// counting forwarder on every link), each message crosses exactly 6
/// links — its sender sends it both ways, each other node forwards its
/// first copy once to its other neighbour and drops the second — and
/// nothing more moves during the quiet period.
#[test]
fn a_tcp_ring_of_relays_delivers_once_and_does_not_loop() {
    const N: usize = 5;
    const M: usize = 100;
    // On the wire: the envelope frame (2 + 17 bytes) and the body frame
    // (2 + 5 bytes, "3:042").
    const WIRE: u64 = 2 + 17 + 2 + 5;
    let ctx = Context::new();
    let nodes: Vec<Socket> = (0..N).map(|i| node(&ctx, &format!("r{i}"))).collect();
    let monitors: Vec<_> = nodes.iter().map(|s| s.monitor().unwrap()).collect();
    let eps: Vec<String> = nodes.iter().map(|s| bind_on(s, Transport::Tcp)).collect();
    let mut counters = Vec::new();
    for (i, s) in nodes.iter().enumerate() {
        s.set_bus_relay(true).unwrap();
        let (proxy, counter) = counting_proxy(&eps[(i + 1) % N]);
        s.connect(&proxy).unwrap();
        counters.push(counter);
    }
    for m in &monitors {
        handshakes(m, 2);
    }
    // Both ends of every link have finished their handshakes, so every
    // byte of them went through the forwarders already.
    let traffic = || -> u64 { counters.iter().map(|c| c.load(Ordering::SeqCst)).sum() };
    let before = traffic();

    let (nodes, received) = on_own_threads(nodes, |i, s| {
        for k in 0..M {
            s.send(format!("{i}:{k:03}")).unwrap();
        }
        // Relaying happens inside recv, so every node keeps
        // receiving until it has all.
        recv_from(s, (N - 1) * M)
    });
    for (i, got) in received.into_iter().enumerate() {
        // Two paths lead to each node, so only per-path order holds.
        let sorted: BTreeMap<usize, Vec<usize>> = got
            .into_iter()
            .map(|(k, mut v)| {
                v.sort();
                (k, v)
            })
            .collect();
        assert_eq!(
            sorted,
            expected((0..N).filter(|k| *k != i), 0..M),
            "node {i}"
        );
    }
    let want = 6 * (N * M) as u64 * WIRE;
    let deadline = Instant::now() + Duration::from_secs(20);
    while traffic() - before < want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_quiet(&nodes.iter().collect::<Vec<_>>());
    assert_eq!(
        traffic() - before,
        want,
        "bytes on the wire: each message should cross exactly 6 links"
    );
    for s in &nodes {
        assert_eq!(s.dropped_messages(), 0);
    }
}

// ---------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------

/// The next failed handshake's error.
fn handshake_error(monitor: &brokerless::Monitor) -> ProtocolError {
    match wait_for(monitor, |e| {
        matches!(
            e,
            MonitorEvent::HandshakeFailed { .. } | MonitorEvent::HandshakeSucceeded { .. }
        )
    }) {
        MonitorEvent::HandshakeFailed { error, .. } => error,
        other => panic!("expected a refused handshake, got {other:?}"),
    }
}

/// A BUS talks only to BUS: a PAIR connecting to it, over TCP or inproc,
/// a raw ZMTP peer announcing PUB, and a BUS connecting to a PAIR are all
/// refused at the handshake, both sides naming the two types; the BUS
/// keeps serving its BUS peers.
#[test]
fn a_bus_refuses_peers_of_other_types_at_the_handshake() {
    let ctx = Context::new();
    let bus = node(&ctx, "bus");
    let monitor = bus.monitor().unwrap();
    let ep = bind_on(&bus, Transport::Tcp);

    // A brokerless PAIR.
    let pair = sock(&ctx, SocketType::Pair);
    pair.set_reconnect_interval(None).unwrap();
    let pair_monitor = pair.monitor().unwrap();
    pair.connect(&ep).unwrap();
    let theirs = handshake_error(&monitor);
    assert_eq!(
        theirs,
        ProtocolError::IncompatibleSocketType {
            ours: SocketType::Bus,
            theirs: SocketType::Pair
        }
    );
    assert_eq!(
        theirs.to_string(),
        "peer socket type PAIR cannot talk to BUS"
    );
    assert_eq!(
        handshake_error(&pair_monitor),
        ProtocolError::IncompatibleSocketType {
            ours: SocketType::Pair,
            theirs: SocketType::Bus
        }
    );

    // A raw peer announcing PUB gets our READY, an ERROR and the close.
    let mut raw = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    raw.write_all(&greeting(1)).unwrap();
    raw.write_all(&ready("PUB")).unwrap();
    let mut got = Vec::new();
    match raw.read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("not closed: {e}"),
    }
    assert!(
        got.windows(11).any(|w| w == b"Socket-Type")
            && got.windows(7).any(|w| w == b"\0\0\0\x03BUS"),
        "no READY of a BUS: {got:?}"
    );
    assert!(
        got.ends_with(b"\x05ERROR\x18incompatible socket type"),
        "{got:?}"
    );
    assert_eq!(
        handshake_error(&monitor),
        ProtocolError::IncompatibleSocketType {
            ours: SocketType::Bus,
            theirs: SocketType::Pub
        }
    );

    // A BUS connecting to a PAIR.
    let (pair2, pair2_ep) = bound(&ctx, SocketType::Pair);
    let out = node(&ctx, "out");
    out.set_reconnect_interval(None).unwrap();
    let out_monitor = out.monitor().unwrap();
    out.connect(&pair2_ep).unwrap();
    assert_eq!(
        handshake_error(&out_monitor),
        ProtocolError::IncompatibleSocketType {
            ours: SocketType::Bus,
            theirs: SocketType::Pair
        }
    );
    drop(pair2);

    // inproc: the connect itself fails.
    bus.bind("inproc://bus-refuses").unwrap();
    let pair3 = sock(&ctx, SocketType::Pair);
    match pair3.connect("inproc://bus-refuses") {
        Err(Error::Protocol(ProtocolError::IncompatibleSocketType { ours, theirs })) => {
            assert_eq!((ours, theirs), (SocketType::Pair, SocketType::Bus));
        }
        other => panic!("an inproc PAIR was let in: {other:?}"),
    }

    // None of them became a peer; a BUS still gets through.
    assert_eq!(peers_of(&bus), vec![]);
    let good = node(&ctx, "good");
    good.connect(&ep).unwrap();
    handshake(&monitor);
    good.send("0:0").unwrap();
    assert_eq!(recv_from(&bus, 1), expected([0], 0..1));
    assert_eq!(peers_of(&bus), vec![("good".to_string(), 0)]);
}
