//! REQ/REP round-trip latency and DEALER/ROUTER throughput over TCP
//! loopback: brokerless against libzmq 4.3.5, measured in the same run
//! with the same harness as `benches/throughput.rs`.
//!
//! ```text
//! cargo bench --bench reqrep
//! BENCH_SCALE=0.1 BENCH_RUNS=3 cargo bench --bench reqrep   # quick look
//! ```
//!
//! What is measured (every socket in its own process; this binary
//! re-executes itself with `child ...` arguments; default options: HWM
//! 1000, one I/O thread, infinite linger):
//!
//! 1. **REQ/REP latency, 64 B**, as libzmq's `local_lat` / `remote_lat`:
//!    a REP binds `tcp://127.0.0.1:*`, prints its endpoint and echoes
//!    every request (brokerless: the received [`brokerless::Message`] is
//!    sent back, zero copy; libzmq: one `zmq_msg_t` reused for
//!    `zmq_msg_recv` / `zmq_msg_send`). A REQ connects, does 1,000 warm-up
//!    round trips, then times each of `count` round trips (default 20,000)
//!    with `Instant` and prints p50, p99 (nearest rank) and mean. libzmq's
//!    REQ sends with `zmq_send` and receives into one reused `zmq_msg_t`.
//! 2. **DEALER -> ROUTER throughput, 64 B and 1 KiB**, as `throughput`
//!    measures PUSH/PULL: a ROUTER binds and receives `count`
//!    messages, each `[routing id, payload]`, from one DEALER, and times
//!    from the first message received to the last; rates count the
//!    `count - 1` messages inside that window. After the window the
//!    ROUTER sends `[routing id, "done"]` and the DEALER closes only once
//!    it has that acknowledgement, so that the run does not depend on
//!    what a ROUTER does with queued messages of a peer that disconnects
//!    (brokerless, at the time of writing, drops them).
//!
//! Each cell is the median of `BENCH_RUNS` runs (default 5) with the
//! min-max range in brackets; runs of the two implementations are
//! interleaved and alternate which goes first, because this machine is
//! noisy. Latency ratios are brokerless/libzmq (lower is better),
//! throughput ratios brokerless/libzmq (higher is better).
//!
//! Environment: `BENCH_SCALE` (multiplies every message and round-trip
//! count, not the warm-up; default 1), `BENCH_RUNS` (runs per cell,
//! default 5), `BENCH_TIMEOUT` (seconds a single measurement may take
//! before its processes are killed, default 120). Arguments other than
//! `child ...` (cargo passes `--bench`) are ignored.
//!
//! A child can be run by hand, e.g. under a profiler:
//! `reqrep-<hash> child brokerless rep tcp://127.0.0.1:* 64 20000` prints
//! `endpoint tcp://127.0.0.1:<port>`; then
//! `reqrep-<hash> child brokerless req tcp://127.0.0.1:<port> 64 20000`
//! (the same count on both sides: the REP adds the 1,000 warm-up round
//! trips itself). The roles of the throughput measure are `router` and
//! `dealer`.

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{CHILD_TIMEOUT, ChildArgs, Impl, Pair, Reporter, Res, Throughput};

/// Payload of a latency round trip.
const LATENCY_SIZE: usize = 64;
/// Timed round trips per latency measurement, before `BENCH_SCALE`.
const ROUND_TRIPS: u64 = 20_000;
/// Untimed round trips before the timed ones (not scaled).
const WARMUP: u64 = 1_000;

/// DEALER/ROUTER message sizes and their default counts, as in
/// `throughput`: roughly 0.3 to 1 s per measurement on a 2-core machine.
const THROUGHPUT_CASES: [(usize, u64); 2] = [(64, 3_000_000), (1024, 800_000)];

/// Stdout line prefix of the REQ's result, `latency_ns <p50> <p99>
/// <mean>` (the ROUTER prints `common::ELAPSED_LINE`).
const LATENCY_LINE: &str = "latency_ns ";

/// The ROUTER's acknowledgement of the last message, without which the
/// DEALER does not close (see the module documentation).
const DONE: &[u8] = b"done";

fn main() {
    common::main("reqrep", child::run, parent::run);
}

/// One REQ's summary of its timed round trips, in microseconds.
#[derive(Clone, Copy)]
struct Latency {
    p50: f64,
    p99: f64,
    mean: f64,
}

/// The orchestrating process: spawns the pairs, collects the results and
/// prints the tables.
mod parent {
    use super::*;
    use common::{print_table, range_cell, ratio_cell, size_label};

    pub fn run() -> Res<()> {
        let (settings, exe) = common::start(
            "REQ/REP and DEALER/ROUTER over tcp://127.0.0.1, each socket in its own process",
            "",
        )?;

        let round_trips = settings.count(ROUND_TRIPS, 1);
        let latency = common::interleaved(settings.runs, |imp, run| {
            let l = measure_latency(&exe, imp, round_trips, settings.timeout)
                .map_err(|e| format!("{} REQ/REP latency, run {}: {e}", imp.name(), run + 1))?;
            eprintln!(
                "  REQ/REP run {}/{} {:<10} p50 {:>7.2} us, p99 {:>7.2} us, mean {:>7.2} us \
                 ({round_trips} round trips)",
                run + 1,
                settings.runs,
                imp.name(),
                l.p50,
                l.p99,
                l.mean,
            );
            Ok(l)
        })?;

        let rows = Throughput {
            binder: ("ROUTER", "router"),
            connector: ("DEALER", "dealer"),
            label: "DEALER/ROUTER ",
            transport: common::Transport::Tcp,
        }
        .rows(&settings, &exe, &THROUGHPUT_CASES)?;

        println!();
        println!(
            "REQ/REP round-trip latency, {}, {round_trips} timed round trips after {WARMUP} \
             warm-up; microseconds, lower is better",
            size_label(LATENCY_SIZE),
        );
        print_latency_table(&latency);
        println!();
        println!(
            "DEALER -> ROUTER throughput, one DEALER, ROUTER receives [routing id, payload]; \
             MB = 10^6 B of payload"
        );
        common::print_throughput_table(&rows, "ratio (brokerless/libzmq, higher is better)");
        Ok(())
    }

    fn print_latency_table(samples: &[Vec<Latency>; 2]) {
        let field = |f: fn(&Latency) -> f64| samples.each_ref().map(|v| v.iter().map(f).collect());
        let columns: [[Vec<f64>; 2]; 3] = [field(|l| l.p50), field(|l| l.p99), field(|l| l.mean)];
        let mut rows: Vec<[String; 4]> = Impl::ALL
            .into_iter()
            .map(|imp| {
                let cell = |c: &[Vec<f64>; 2]| range_cell(&c[imp as usize], 1.0, "");
                [
                    imp.name().to_string(),
                    cell(&columns[0]),
                    cell(&columns[1]),
                    cell(&columns[2]),
                ]
            })
            .collect();
        rows.push([
            "ratio (brokerless/libzmq, lower is better)".to_string(),
            ratio_cell(&columns[0]),
            ratio_cell(&columns[1]),
            ratio_cell(&columns[2]),
        ]);
        print_table(["implementation", "p50 µs", "p99 µs", "mean µs"], &rows);
    }

    /// One REP/REQ pair; returns the REQ's summary.
    fn measure_latency(exe: &Path, imp: Impl, round_trips: u64, timeout: Duration) -> Res<Latency> {
        let line = Pair {
            imp,
            binder: ("REP", "rep"),
            connector: ("REQ", "req"),
            args: &[LATENCY_SIZE.to_string(), round_trips.to_string()],
            reporter: Reporter::Connector,
            result_line: LATENCY_LINE,
            bind: common::TCP_BIND,
        }
        .run(exe, timeout)?;
        let bad = || format!("REQ printed a bad latency line {line:?}");
        let ns: Vec<f64> = line
            .split_whitespace()
            .map(|x| x.parse::<u64>().map(|ns| ns as f64 / 1e3))
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        let [p50, p99, mean] = ns[..] else {
            return Err(bad());
        };
        Ok(Latency { p50, p99, mean })
    }
}

/// The measured processes: `child <impl> <role> <endpoint> <size> <count>`
/// with role `rep` (echoes `count + WARMUP` requests), `req` (`WARMUP`
/// then `count` timed round trips), `router` (receives `count` messages)
/// or `dealer` (sends `count` messages).
mod child {
    use super::*;
    use common::{announce, report_elapsed as report};

    pub fn run(args: &[String]) -> Res<()> {
        let ChildArgs {
            imp,
            role,
            endpoint,
            size,
            count,
        } = ChildArgs::parse(args, "rep|req|router|dealer")?;
        if count < 2 && matches!(role, "router" | "dealer") {
            return Err("count must be at least 2".into());
        }
        if count == 0 {
            return Err("count must be at least 1".into());
        }
        let total = count + WARMUP;
        match (imp, role) {
            (Impl::Brokerless, "rep") => brokerless_rep(endpoint, size, total),
            (Impl::Brokerless, "req") => {
                brokerless_req(endpoint, size, count).and_then(report_latency)
            }
            (Impl::Brokerless, "router") => {
                brokerless_router(endpoint, size, count).and_then(report)
            }
            (Impl::Brokerless, "dealer") => brokerless_dealer(endpoint, size, count),
            (Impl::Libzmq, "rep") => zmq::rep(endpoint, size, total),
            (Impl::Libzmq, "req") => zmq::req(endpoint, size, count).and_then(report_latency),
            (Impl::Libzmq, "router") => zmq::router(endpoint, size, count).and_then(report),
            (Impl::Libzmq, "dealer") => zmq::dealer(endpoint, size, count),
            (_, other) => Err(format!("unknown role {other:?}")),
        }
        .map_err(|e| format!("{} {role}: {e}", imp.name()))
    }

    /// Prints p50, p99 (nearest rank) and the mean of the round-trip
    /// times, in nanoseconds.
    fn report_latency(mut ns: Vec<u64>) -> Res<()> {
        if ns.is_empty() {
            return Err("no round trips timed".into());
        }
        ns.sort_unstable();
        let rank = |q: f64| ns[((q * ns.len() as f64).ceil() as usize).clamp(1, ns.len()) - 1];
        let mean = ns.iter().map(|&x| x as f64).sum::<f64>() / ns.len() as f64;
        println!(
            "{LATENCY_LINE}{} {} {}",
            rank(0.50),
            rank(0.99),
            mean.round() as u64
        );
        Ok(())
    }

    /// Runs `WARMUP` untimed round trips, then times each of `count`.
    fn time_round_trips(count: u64, mut round_trip: impl FnMut() -> Res<()>) -> Res<Vec<u64>> {
        let total = WARMUP + count;
        let which = |i: u64| move |e: String| format!("round trip {} of {total}: {e}", i + 1);
        for i in 0..WARMUP {
            round_trip().map_err(which(i))?;
        }
        let mut ns = Vec::with_capacity(count as usize);
        for i in WARMUP..total {
            let start = Instant::now();
            round_trip().map_err(which(i))?;
            ns.push(start.elapsed().as_nanos() as u64);
        }
        Ok(ns)
    }

    fn err(what: &str) -> impl Fn(brokerless::Error) -> String + '_ {
        move |e| format!("{what}: {e}")
    }

    fn check_one(m: &brokerless::Message, size: usize) -> Res<()> {
        if m.len() == 1 && m[0].len() == size {
            Ok(())
        } else {
            Err(format!("unexpected message {m:?}"))
        }
    }

    fn brokerless_rep(bind: &str, size: usize, total: u64) -> Res<()> {
        let ctx = common::brokerless_context()?;
        let rep = ctx
            .socket(brokerless::SocketType::Rep)
            .map_err(err("socket"))?;
        rep.set_recv_timeout(Some(CHILD_TIMEOUT))
            .map_err(err("option"))?;
        rep.bind(bind).map_err(err("bind"))?;
        announce(&rep.last_endpoint().ok_or("no endpoint after bind")?);
        for _ in 0..total {
            let request = rep.recv().map_err(err("recv"))?;
            check_one(&request, size)?;
            rep.send(request).map_err(err("send"))?;
        }
        // Closing flushes the last reply (infinite linger).
        drop(rep);
        drop(ctx);
        Ok(())
    }

    fn brokerless_req(endpoint: &str, size: usize, count: u64) -> Res<Vec<u64>> {
        use brokerless::Message;
        // One payload shared by every request (reference counted, no copy).
        let payload = bytes::Bytes::from(vec![0x5a_u8; size]);
        let ctx = common::brokerless_context()?;
        let req = ctx
            .socket(brokerless::SocketType::Req)
            .map_err(err("socket"))?;
        req.set_recv_timeout(Some(CHILD_TIMEOUT))
            .map_err(err("option"))?;
        req.set_send_timeout(Some(CHILD_TIMEOUT))
            .map_err(err("option"))?;
        req.connect(endpoint).map_err(err("connect"))?;
        time_round_trips(count, || {
            req.send(Message::from(payload.clone()))
                .map_err(err("send"))?;
            check_one(&req.recv().map_err(err("recv"))?, size)
        })
    }

    fn brokerless_router(bind: &str, size: usize, count: u64) -> Res<Duration> {
        let ctx = common::brokerless_context()?;
        let router = ctx
            .socket(brokerless::SocketType::Router)
            .map_err(err("socket"))?;
        router
            .set_recv_timeout(Some(CHILD_TIMEOUT))
            .map_err(err("option"))?;
        router.bind(bind).map_err(err("bind"))?;
        announce(&router.last_endpoint().ok_or("no endpoint after bind")?);

        let check = |m: &brokerless::Message| {
            if m.len() == 2 && m[1].len() == size {
                Ok(())
            } else {
                Err(format!("unexpected message {m:?}"))
            }
        };
        let first = router.recv().map_err(err("first recv"))?;
        check(&first)?;
        let start = Instant::now();
        for i in 1..count {
            let m = router
                .recv()
                .map_err(|e| format!("recv of message {} of {count}: {e}", i + 1))?;
            check(&m)?;
        }
        let elapsed = start.elapsed();
        let routing_id = first.get(0).cloned().unwrap_or_default();
        router
            .send(brokerless::Message::from_iter([
                routing_id,
                bytes::Bytes::from_static(DONE),
            ]))
            .map_err(err("send"))?;
        // Closing flushes the acknowledgement (infinite linger).
        drop(router);
        drop(ctx);
        Ok(elapsed)
    }

    fn brokerless_dealer(endpoint: &str, size: usize, count: u64) -> Res<()> {
        use brokerless::Message;
        // As in `throughput`: one shared payload, no copy per message.
        let payload = bytes::Bytes::from(vec![0x5a_u8; size]);
        let ctx = common::brokerless_context()?;
        let dealer = ctx
            .socket(brokerless::SocketType::Dealer)
            .map_err(err("socket"))?;
        dealer
            .set_send_timeout(Some(CHILD_TIMEOUT))
            .map_err(err("option"))?;
        dealer.connect(endpoint).map_err(err("connect"))?;
        for _ in 0..count {
            dealer
                .send(Message::from(payload.clone()))
                .map_err(err("send"))?;
        }
        dealer
            .set_recv_timeout(Some(CHILD_TIMEOUT))
            .map_err(err("option"))?;
        let ack = dealer.recv().map_err(err("recv of the acknowledgement"))?;
        if ack.len() != 1 || &ack[0] != DONE {
            return Err(format!("unexpected acknowledgement {ack:?}"));
        }
        drop(dealer);
        drop(ctx);
        Ok(())
    }

    /// The libzmq side through the raw C API, as lean as libzmq's own
    /// `local_lat` / `remote_lat` and `local_thr` / `remote_thr`.
    mod zmq {
        use libzmq_peer::{SocketKind, ZMQ_RCVTIMEO, ZMQ_SNDMORE, ZMQ_SNDTIMEO, ffi};

        use super::*;
        use common::zmq::{Msg, Zmq, retry};

        /// Receives into `msg` and checks its size and whether more
        /// frames follow.
        fn recv_frame(z: &Zmq, msg: &mut Msg, size: Option<usize>, more: bool) -> Res<()> {
            // SAFETY: live socket; `msg` is initialised, and zmq_msg_recv
            // releases its previous content first.
            retry("zmq_msg_recv", || unsafe {
                ffi::zmq_msg_recv(msg.as_mut_ptr(), z.sock, 0)
            })?;
            let got = msg.size();
            if size.is_some_and(|s| s != got) {
                return Err(format!("frame of {got} bytes, expected {size:?}"));
            }
            if msg.more() != more {
                return Err(format!("frame with more = {}, expected {more}", !more));
            }
            Ok(())
        }

        pub fn rep(bind: &str, size: usize, total: u64) -> Res<()> {
            let z = Zmq::new(SocketKind::Rep.raw(), ZMQ_RCVTIMEO)?;
            z.bind(bind)?;
            announce(&z.last_endpoint()?);
            // One message reused for every request and its echo, as in
            // local_lat.
            let mut msg = Msg::new()?;
            for _ in 0..total {
                recv_frame(&z, &mut msg, Some(size), false)?;
                // SAFETY: live socket; `msg` holds the request; on success
                // libzmq takes the content and leaves `msg` empty.
                retry("zmq_msg_send", || unsafe {
                    ffi::zmq_msg_send(msg.as_mut_ptr(), z.sock, 0)
                })?;
            }
            // Dropping `z` waits in zmq_ctx_term until the last reply is
            // sent (infinite linger).
            Ok(())
        }

        pub fn req(endpoint: &str, size: usize, count: u64) -> Res<Vec<u64>> {
            let z = Zmq::new(SocketKind::Req.raw(), ZMQ_RCVTIMEO)?;
            z.set_int(ZMQ_SNDTIMEO, CHILD_TIMEOUT.as_millis() as i32)?;
            z.connect(endpoint)?;
            let payload = vec![0x5a_u8; size];
            let mut msg = Msg::new()?;
            time_round_trips(count, || {
                // SAFETY: live socket; `payload` is readable for `size`
                // bytes, which libzmq copies before returning.
                retry("zmq_send", || unsafe {
                    ffi::zmq_send(z.sock, payload.as_ptr().cast(), size, 0)
                })?;
                recv_frame(&z, &mut msg, Some(size), false)
            })
        }

        pub fn router(bind: &str, size: usize, count: u64) -> Res<Duration> {
            let z = Zmq::new(SocketKind::Router.raw(), ZMQ_RCVTIMEO)?;
            z.bind(bind)?;
            announce(&z.last_endpoint()?);
            // One message reused for every frame, as in local_thr.
            let mut msg = Msg::new()?;
            let recv_one = |msg: &mut Msg| -> Res<()> {
                recv_frame(&z, msg, None, true)?;
                recv_frame(&z, msg, Some(size), false)
            };
            recv_frame(&z, &mut msg, None, true)?;
            let routing_id = msg.content();
            recv_frame(&z, &mut msg, Some(size), false)?;
            let start = Instant::now();
            for _ in 1..count {
                recv_one(&mut msg)?;
            }
            let elapsed = start.elapsed();
            // SAFETY: live socket; both buffers are readable for the
            // lengths given, and libzmq copies them before returning.
            retry("zmq_send", || unsafe {
                ffi::zmq_send(
                    z.sock,
                    routing_id.as_ptr().cast(),
                    routing_id.len(),
                    ZMQ_SNDMORE,
                )
            })?;
            // SAFETY: as above.
            retry("zmq_send", || unsafe {
                ffi::zmq_send(z.sock, DONE.as_ptr().cast(), DONE.len(), 0)
            })?;
            // Dropping `z` waits in zmq_ctx_term until the acknowledgement
            // is sent (infinite linger).
            Ok(elapsed)
        }

        pub fn dealer(endpoint: &str, size: usize, count: u64) -> Res<()> {
            let z = Zmq::new(SocketKind::Dealer.raw(), ZMQ_SNDTIMEO)?;
            z.connect(endpoint)?;
            z.send_copies(&vec![0x5a_u8; size], count)?;
            z.set_int(ZMQ_RCVTIMEO, CHILD_TIMEOUT.as_millis() as i32)?;
            let mut ack = Msg::new()?;
            recv_frame(&z, &mut ack, Some(DONE.len()), false)
                .map_err(|e| format!("acknowledgement: {e}"))?;
            if ack.content() != DONE {
                return Err("unexpected acknowledgement".into());
            }
            Ok(())
        }
    }
}
