//! BUS many-to-many over TCP loopback: messages delivered per second in a
//! 4-node mesh, each node in its own process.
//!
//! ```text
//! cargo bench --bench bus
//! BENCH_SCALE=0.1 BENCH_RUNS=3 cargo bench --bench bus   # quick look
//! ```
//!
//! **libzmq has no BUS socket, so there is no libzmq column for BUS.**
//! For a point of comparison the table has a *reference* row made of
//! libzmq sockets that move the same traffic: in each node a PUB (an
//! XPUB, to see its subscribers arrive) and a SUB subscribed to
//! everything, every node's SUB receiving from the three other nodes'
//! PUBs. That is not a BUS: it has no envelope (BUS adds a 17-byte frame
//! per message), no duplicate suppression, no relaying and no per-peer
//! drop counts, and it needs two sockets and three times as many
//! connections per node. It shows what libzmq does with the same number
//! of messages on the same machine, nothing more.
//!
//! What is measured, for 64 B and 1 KiB single-frame messages: four
//! processes (this binary re-executes itself with `child ...` arguments),
//! started one after the other. Each binds `tcp://127.0.0.1:*`, prints its
//! endpoint and connects to the nodes started before it, so every pair of
//! nodes has one connection (brokerless; for the libzmq reference each
//! node binds its PUB and its SUB, and connects its SUB to the earlier
//! nodes' PUBs and its PUB to their SUBs). Once its three peers are there
//! (brokerless: three completed handshakes on the monitor; libzmq: three
//! subscriptions on the XPUB), a node sends one short `ready` message and
//! waits for the three others' `ready`: a barrier, after which every node
//! can reach every other. Then each node, in one thread, sends `count`
//! messages and receives the others' `3 x count`: after each send it
//! takes every message already there without waiting, and once all are
//! sent it waits for the rest (giving up after 2 s of silence). Each node
//! reports how many messages it received, when it passed the barrier and
//! when its last message came (wall clock, the same for the four
//! processes). **Delivered/s is the messages received by all nodes
//! together over the wall time of the exchange: from the first node to
//! pass the barrier to the last node's last message.** The fraction
//! delivered (received / `12 x count`) is a check: it must be 100 %.
//!
//! Settings, the same for both implementations: one I/O thread per
//! process and infinite linger (the defaults); **SNDHWM and RCVHWM 0
//! (unlimited)**, because at the default 1000 an unpaced sender overruns
//! its peers and BUS (as PUB) drops what finds a queue full, and the rate
//! would measure the drops. brokerless sends one `Bytes` payload built
//! once, each message a reference-counted view of it; libzmq a fresh
//! `zmq_msg_t` with a copy of the payload per message, as `throughput`
//! sends. Receivers drop each message (brokerless) or reuse one
//! `zmq_msg_t` (libzmq).
//!
//! brokerless, at the time of writing: each message a BUS receives costs
//! about 1.8 us in its duplicate filter alone (`Seen::insert` in
//! `src/socket/bus.rs` moves its 1024-bit window one bit at a time for
//! every new sequence number; a ring bitmap does the same in a few ns):
//! at most about 550k received messages per second per core. In a `perf
//! record` of this benchmark, `Bus::recv`, where it is inlined, was the
//! top symbol with 37 % of all samples (both implementations' runs
//! together), so a large part of the gap to the reference at 64 B.
//!
//! Each cell is the median of `BENCH_RUNS` runs (default 5) with the
//! min-max range in brackets; runs of the two implementations are
//! interleaved and alternate which goes first, because this machine is
//! noisy. Environment: `BENCH_SCALE` (multiplies every message count,
//! default 1), `BENCH_RUNS`, `BENCH_TIMEOUT` (seconds a single measurement
//! may take before its processes are killed, default 120). Arguments
//! other than `child ...` are ignored.
//!
//! A node can be run by hand: `bus-<hash> child brokerless node - 64
//! 100000 4` prints `endpoint tcp://127.0.0.1:<port>`; start the next
//! with that endpoint in place of `-` (several joined by commas), and so
//! on until four run. For libzmq a node's endpoint is `<pub>|<sub>`.

#[path = "common/mod.rs"]
#[allow(
    dead_code,
    reason = "this benchmark uses libzmq sockets of its own, not `zmq::Zmq`"
)]
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{ChildArgs, ENDPOINT_LINE, Impl, Kid, Res};

/// Nodes in the mesh.
const NODES: usize = 4;

/// Message sizes and the messages each node sends, before `BENCH_SCALE`:
/// 3 million deliveries at 64 B, 1.2 million at 1 KiB.
const CASES: [(usize, u64); 2] = [(64, 250_000), (1024, 100_000)];

/// SNDHWM and RCVHWM of every socket (see the module documentation).
const HWM: usize = 0;

/// How long a node waits for a further message, once all its own are
/// sent, before it concludes that the rest were lost.
const QUIET: Duration = Duration::from_secs(2);

/// The barrier message (shorter than any measured message).
const READY: &[u8] = b"ready";

/// Stdout line prefix of a node's result: `received <n> <start ns> <end
/// ns>` (nanoseconds since the Unix epoch).
const RESULT_LINE: &str = "received ";

/// The nodes' names in error messages.
const NAMES: [&str; NODES] = ["node 1", "node 2", "node 3", "node 4"];

fn main() {
    common::main("bus", child::run, parent::run);
}

/// Nanoseconds since the Unix epoch: the clock the node processes share.
fn wall_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// One run's result.
#[derive(Clone, Copy)]
struct Exchange {
    /// Messages delivered per second, all nodes together.
    rate: f64,
    /// Messages received / (messages sent x 3).
    delivered: f64,
}

/// The orchestrating process: starts the four nodes per run, collects
/// their results and prints the table.
mod parent {
    use super::*;
    use common::{interleaved, print_table, range_cell, rate_cell, ratio_cell, size_label};

    pub fn run() -> Res<()> {
        let (settings, exe) = common::start(
            &format!(
                "{NODES}-node mesh over tcp://127.0.0.1, one process per node, SNDHWM and RCVHWM \
                 {HWM} (unlimited) on every socket instead of the default"
            ),
            "",
        )?;
        println!(
            "libzmq has no BUS socket: there is no libzmq BUS column. The reference column is \
             libzmq PUB+SUB per node moving the same traffic (not a BUS: no envelope, no \
             deduplication, no relay)."
        );

        let mut rows = Vec::new();
        for &(size, base_count) in &CASES {
            let count = settings.count(base_count, 1);
            let samples = interleaved(settings.runs, |imp, run| {
                let x = measure(&exe, imp, size, count, settings.timeout).map_err(|e| {
                    format!("{} {}, run {}: {e}", imp.name(), size_label(size), run + 1)
                })?;
                eprintln!(
                    "  {:>6} run {}/{} {:<10} {:>12.0} msgs/s delivered, {:>6.2} % \
                     ({count} msgs x {NODES} nodes x {} receivers)",
                    size_label(size),
                    run + 1,
                    settings.runs,
                    imp.name(),
                    x.rate,
                    x.delivered * 100.0,
                    NODES - 1,
                );
                Ok(x)
            })?;
            rows.push((size, count, samples));
        }

        println!();
        println!(
            "{NODES}-node mesh, each node sends `count` messages and receives the others'; \
             messages delivered per second, all nodes together (received / wall time of the \
             exchange)"
        );
        let table: Vec<[String; 7]> = rows
            .iter()
            .map(|(size, count, samples)| {
                let rate: [Vec<f64>; 2] = samples
                    .each_ref()
                    .map(|v| v.iter().map(|x| x.rate).collect());
                let delivered = |imp: Impl| -> Vec<f64> {
                    samples[imp as usize].iter().map(|x| x.delivered).collect()
                };
                [
                    size_label(*size),
                    count.to_string(),
                    rate_cell(&rate[Impl::Brokerless as usize]),
                    range_cell(&delivered(Impl::Brokerless), 0.01, "%"),
                    rate_cell(&rate[Impl::Libzmq as usize]),
                    range_cell(&delivered(Impl::Libzmq), 0.01, "%"),
                    ratio_cell(&rate),
                ]
            })
            .collect();
        print_table(
            [
                "size",
                "msgs sent per node",
                "brokerless BUS delivered/s",
                "BUS delivered",
                "reference: libzmq PUB+SUB delivered/s",
                "reference delivered",
                "BUS / reference",
            ],
            &table,
        );
        Ok(())
    }

    /// One run: four nodes, each connected to those started before it.
    fn measure(exe: &Path, imp: Impl, size: usize, count: u64, timeout: Duration) -> Res<Exchange> {
        let deadline = Instant::now() + timeout;
        let mut nodes: Vec<(Kid, std::sync::mpsc::Receiver<String>)> = Vec::new();
        let mut endpoints: Vec<String> = Vec::new();
        for name in NAMES {
            let earlier = if endpoints.is_empty() {
                "-".to_string()
            } else {
                endpoints.join(",")
            };
            let mut kid = Kid::spawn(
                name,
                Command::new(exe)
                    .args(["child", imp.name(), "node", &earlier])
                    .args([size.to_string(), count.to_string(), NODES.to_string()])
                    .stdout(Stdio::piped()),
            )?;
            let lines = kid.stdout_lines()?;
            endpoints.push(kid.wait_line(&lines, ENDPOINT_LINE, deadline, None)?);
            nodes.push((kid, lines));
        }
        let mut received = 0u64;
        let mut start = u128::MAX;
        let mut end = 0u128;
        for (kid, lines) in &mut nodes {
            let line = kid.wait_line(lines, RESULT_LINE, deadline, None)?;
            let fields: Vec<u128> = line
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| format!("bad result line {line:?}"))?;
            let [n, s, e] = fields[..] else {
                return Err(format!("bad result line {line:?}"));
            };
            received += n as u64;
            start = start.min(s);
            end = end.max(e);
        }
        for (kid, _) in &mut nodes {
            kid.wait_success(deadline)?;
        }
        let wall = end.saturating_sub(start) as f64 / 1e9;
        Ok(Exchange {
            rate: received as f64 / wall.max(1e-9),
            delivered: received as f64 / (count * (NODES * (NODES - 1)) as u64) as f64,
        })
    }
}

/// The measured processes: `child <impl> node <earlier endpoints | ->
/// <size> <count> <nodes>`.
mod child {
    use super::*;
    use common::announce;

    pub fn run(args: &[String]) -> Res<()> {
        let (common_args, extra) = args.split_at(args.len().min(5));
        let ChildArgs {
            imp,
            role,
            endpoint,
            size,
            count,
        } = ChildArgs::parse(common_args, "node")?;
        let [nodes] = extra else {
            return Err(format!(
                "usage: child <brokerless|libzmq> node <earlier endpoints|-> <size> <count> \
                 <nodes>, got {args:?}"
            ));
        };
        let nodes: usize = nodes
            .parse()
            .map_err(|_| format!("bad number of nodes {nodes:?}"))?;
        if role != "node" || nodes < 2 || count < 1 || size <= READY.len() {
            return Err(format!("bad arguments {args:?}"));
        }
        let earlier: Vec<&str> = match endpoint {
            "-" => Vec::new(),
            list => list.split(',').collect(),
        };
        let node = Node {
            size,
            count,
            peers: nodes - 1,
        };
        let (received, start, end) = match imp {
            Impl::Brokerless => node.brokerless(&earlier),
            Impl::Libzmq => node.libzmq(&earlier),
        }
        .map_err(|e| format!("{} node: {e}", imp.name()))?;
        println!("{RESULT_LINE}{received} {start} {end}");
        Ok(())
    }

    struct Node {
        size: usize,
        count: u64,
        peers: usize,
    }

    /// Counts a node's messages through the exchange.
    struct Tally {
        /// Data messages received so far.
        received: u64,
    }

    impl Node {
        fn expected(&self) -> u64 {
            self.count * self.peers as u64
        }

        /// A message received: data of the right size, or `ready`.
        /// Returns whether it was `ready`.
        fn classify(&self, len: usize, tally: &mut Tally) -> Res<bool> {
            if len == self.size {
                tally.received += 1;
                Ok(false)
            } else if len == READY.len() {
                Ok(true)
            } else {
                Err(format!("message of {len} bytes, expected {}", self.size))
            }
        }

        fn brokerless(&self, earlier: &[&str]) -> Res<(u64, u128, u128)> {
            use brokerless::{Error, Message, MonitorEvent, SocketType};
            let err = |what: &'static str| move |e: Error| format!("{what}: {e}");
            let ctx = common::brokerless_context()?;
            let bus = ctx.socket(SocketType::Bus).map_err(err("socket"))?;
            bus.set_send_hwm(HWM).map_err(err("option"))?;
            bus.set_recv_hwm(HWM).map_err(err("option"))?;
            bus.set_recv_timeout(Some(common::CHILD_TIMEOUT))
                .map_err(err("option"))?;
            let monitor = bus.monitor().map_err(err("monitor"))?;
            bus.bind(common::TCP_BIND).map_err(err("bind"))?;
            announce(&bus.last_endpoint().ok_or("no endpoint after bind")?);
            for ep in earlier {
                bus.connect(ep).map_err(err("connect"))?;
            }
            let mut handshakes = 0;
            while handshakes < self.peers {
                match monitor.recv_timeout(common::CHILD_TIMEOUT) {
                    Ok(MonitorEvent::HandshakeSucceeded { .. }) => handshakes += 1,
                    Ok(_) => {}
                    Err(e) => return Err(format!("waiting for the peers: {e}")),
                }
            }

            let mut tally = Tally { received: 0 };
            bus.send(READY).map_err(err("send"))?;
            let mut ready = 0;
            while ready < self.peers {
                let m = bus.recv().map_err(err("recv of the barrier"))?;
                if self.classify(m.byte_len(), &mut tally)? {
                    ready += 1;
                }
            }
            let start = wall_ns();
            let payload = bytes::Bytes::from(vec![0x5a_u8; self.size]);
            for _ in 0..self.count {
                bus.send(Message::from(payload.clone()))
                    .map_err(err("send"))?;
                loop {
                    match bus.try_recv() {
                        Ok(m) => {
                            self.classify(m.byte_len(), &mut tally)?;
                        }
                        Err(Error::WouldBlock) => break,
                        Err(e) => return Err(format!("recv: {e}")),
                    }
                }
            }
            bus.set_recv_timeout(Some(QUIET)).map_err(err("option"))?;
            let mut end = None;
            while tally.received < self.expected() {
                match bus.recv() {
                    Ok(m) => {
                        self.classify(m.byte_len(), &mut tally)?;
                    }
                    Err(Error::Timeout) => {
                        end = Some(wall_ns() - QUIET.as_nanos());
                        break;
                    }
                    Err(e) => return Err(format!("recv: {e}")),
                }
            }
            let end = end.unwrap_or_else(wall_ns);
            // Closing flushes what is still queued (infinite linger).
            drop(bus);
            drop(ctx);
            Ok((tally.received, start, end))
        }

        fn libzmq(&self, earlier: &[&str]) -> Res<(u64, u128, u128)> {
            use common::zmq::{Msg, send_copies};
            use libzmq_peer::{SocketKind, ZMQ_DONTWAIT, ZMQ_XPUB_VERBOSE, ZmqError, ffi};
            let err = |what: &'static str| move |e: ZmqError| format!("{what}: {e}");
            let timeout_ms = common::CHILD_TIMEOUT.as_millis() as i32;
            let ctx = libzmq_peer::Context::new().map_err(err("context"))?;
            // An XPUB, to see its subscribers arrive; it sends as a PUB.
            let publ = ctx.socket(SocketKind::XPub).map_err(err("socket"))?;
            let sub = ctx.socket(SocketKind::Sub).map_err(err("socket"))?;
            publ.set_int(ZMQ_XPUB_VERBOSE, 1).map_err(err("option"))?;
            for s in [&publ, &sub] {
                s.set_sndhwm(HWM as i32).map_err(err("option"))?;
                s.set_rcvhwm(HWM as i32).map_err(err("option"))?;
                s.set_rcvtimeo(timeout_ms).map_err(err("option"))?;
                s.bind(common::TCP_BIND).map_err(err("bind"))?;
            }
            sub.subscribe(b"").map_err(err("subscribe"))?;
            let pub_ep = publ.last_endpoint().map_err(err("endpoint"))?;
            let sub_ep = sub.last_endpoint().map_err(err("endpoint"))?;
            announce(&format!("{pub_ep}|{sub_ep}"));
            for ep in earlier {
                let (their_pub, their_sub) = ep
                    .split_once('|')
                    .ok_or_else(|| format!("bad libzmq endpoint {ep:?}"))?;
                sub.connect(their_pub).map_err(err("connect"))?;
                publ.connect(their_sub).map_err(err("connect"))?;
            }
            for i in 0..self.peers {
                let m = publ
                    .recv()
                    .map_err(|e| format!("subscription {} of {}: {e}", i + 1, self.peers))?;
                if m.first().and_then(|f| f.first()) != Some(&1) {
                    return Err("unexpected message on the XPUB".into());
                }
            }

            let mut tally = Tally { received: 0 };
            publ.send(&[READY]).map_err(err("send"))?;
            let mut msg = Msg::new()?;
            let (pub_raw, sub_raw) = (publ.as_raw(), sub.as_raw());
            // Receives into `msg`: Ok(false) when nothing came (at once
            // with `flags` ZMQ_DONTWAIT, else within the receive timeout).
            let recv = |msg: &mut Msg, flags: i32| -> Res<bool> {
                loop {
                    // SAFETY: `sub_raw` is the live SUB, used by this
                    // thread only; `msg` is initialised, and zmq_msg_recv
                    // releases its previous content first.
                    if unsafe { ffi::zmq_msg_recv(msg.as_mut_ptr(), sub_raw, flags) } >= 0 {
                        return Ok(true);
                    }
                    let e = ZmqError::last();
                    if e.is_again() {
                        return Ok(false);
                    }
                    if !e.is_interrupted() {
                        return Err(format!("zmq_msg_recv: {e}"));
                    }
                }
            };
            let mut ready = 0;
            while ready < self.peers {
                if !recv(&mut msg, 0)? {
                    return Err("timed out in the barrier".into());
                }
                if self.classify(msg.size(), &mut tally)? {
                    ready += 1;
                }
            }
            let start = wall_ns();
            let payload = vec![0x5a_u8; self.size];
            for _ in 0..self.count {
                // SAFETY: `pub_raw` is the live XPUB, used by this thread
                // only.
                unsafe { send_copies(pub_raw, &payload, 1)? };
                while recv(&mut msg, ZMQ_DONTWAIT)? {
                    self.classify(msg.size(), &mut tally)?;
                }
            }
            sub.set_rcvtimeo(QUIET.as_millis() as i32)
                .map_err(err("option"))?;
            let mut end = None;
            while tally.received < self.expected() {
                if !recv(&mut msg, 0)? {
                    end = Some(wall_ns() - QUIET.as_nanos());
                    break;
                }
                self.classify(msg.size(), &mut tally)?;
            }
            let end = end.unwrap_or_else(wall_ns);
            drop(msg);
            // Closing flushes what is still queued (infinite linger).
            drop(sub);
            drop(publ);
            drop(ctx);
            Ok((tally.received, start, end))
        }
    }
}
