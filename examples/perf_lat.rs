//! REQ/REP round-trip latency, measured like libzmq's `local_lat` /
//! `remote_lat`.
//!
//! In two terminals (or on two machines), start the echoing REP, then the
//! measuring REQ, with the same message size and round-trip count:
//!
//! ```text
//! cargo run --release --example perf_lat -- rep 'tcp://*:5555' 64 100000
//! cargo run --release --example perf_lat -- req tcp://127.0.0.1:5555 64 100000
//! ```
//!
//! inproc needs both sockets in one context, so `both` runs the REQ (main
//! thread) and the REP (a second thread) in one process:
//!
//! ```text
//! cargo run --release --example perf_lat -- both inproc://lat 64 100000
//! cargo run --release --example perf_lat -- both 'tcp://127.0.0.1:*' 64 100000
//! ```
//!
//! Modes and libzmq equivalents (same positional arguments):
//!
//! | brokerless                          | libzmq (`perf/`)                            |
//! |-------------------------------------|---------------------------------------------|
//! | `rep <endpoint> <size> <roundtrips>`| `local_lat <bind-to> <size> <roundtrips>`   |
//! | `req <endpoint> <size> <roundtrips>`| `remote_lat <connect-to> <size> <roundtrips>` |
//! | `both <endpoint> <size> <roundtrips>`| `inproc_lat <size> <roundtrips>`           |
//!
//! What is measured: the REQ first does a warm-up of `--warmup N` round
//! trips (default 1 % of the count, at least 100), which are not counted
//! and absorb connection set-up. The REP echoes `warm-up + roundtrips`
//! requests, so both sides must be given the same count and `--warmup`.
//! Then the REQ times each of `roundtrips` round trips (send a message of
//! `size` bytes, receive the echo) with `std::time::Instant`, and prints:
//!
//! - `average latency`, as `remote_lat` prints it: the whole timed loop
//!   divided by `2 * roundtrips`, i.e. a one-way latency taken as half
//!   the round trip;
//! - the round-trip time's mean, p50, p90, p99, p99.9 (nearest rank) and
//!   max, in microseconds (whole round trips, not halved).
//!
//! Every request and reply must be one frame of exactly `size` bytes,
//! otherwise the tool stops with an error. The REP sends back the message
//! it received (no copy).
//!
//! To pair with libzmq's tools (same wire protocol, ZMTP 3.1), account for
//! the warm-up, which they do not have: either pass `--warmup 0` (then the
//! measurement is exactly `remote_lat`'s, connection set-up included), or
//! give `local_lat` the count plus the warm-up (`perf_lat req ... 64 100000`
//! does 1,000 warm-up round trips, so `local_lat ... 64 101000`).
//!
//! Options (anywhere on the line):
//!
//! - `--bind` / `--connect`: whether this process binds or connects. The
//!   default is that of libzmq's tools: the REP binds and the REQ
//!   connects. In `both` mode the flag is the REP's; the REQ does the
//!   opposite.
//! - `--hwm N`: the send and receive high-water marks of both sockets
//!   (0 = unlimited; default 1000; irrelevant with one request in flight).
//! - `--warmup N`: warm-up round trips, on both sides.
//!
//! A binding side may use a wildcard port (`tcp://127.0.0.1:*`); the
//! resolved endpoint is printed on standard error. `ipc:///tmp/lat.sock`
//! works like tcp.

use std::ffi::OsString;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use brokerless::{Context, Message, Socket, SocketType};
use bytes::Bytes;

#[path = "perf_common/mod.rs"]
mod perf_common;
use perf_common::{
    Cli, Res, attach, how, is_terminated, main_with, new_socket, parse_number, utf8_args,
};

const USAGE: &str = "\
usage: perf_lat rep <endpoint> <msg-size> <roundtrips> [options]   (like local_lat)
       perf_lat req <endpoint> <msg-size> <roundtrips> [options]   (like remote_lat)
       perf_lat both <endpoint> <msg-size> <roundtrips> [options]  (one process, two threads;
                                                                   needed for inproc://)
endpoints: tcp://host:port, tcp://*:port, tcp://127.0.0.1:* (bind), ipc:///path, inproc://name
options:
  --bind | --connect   this process binds / connects (default: rep binds, req connects;
                       in `both` mode the flag is the REP's)
  --hwm N              send and receive high-water marks of the sockets (default 1000)
  --warmup N           untimed warm-up round trips, give both sides the same
                       (default: 1% of roundtrips, at least 100; 0 to pair with libzmq's
                       local_lat/remote_lat)
  -h, --help           this text
example, two terminals:
  cargo run --release --example perf_lat -- rep 'tcp://*:5555' 64 100000
  cargo run --release --example perf_lat -- req tcp://127.0.0.1:5555 64 100000
";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Rep,
    Req,
    Both,
}

#[derive(Debug)]
struct Args {
    mode: Mode,
    endpoint: String,
    size: usize,
    roundtrips: u64,
    warmup: u64,
    /// Whether the REP is the side that binds.
    rep_binds: bool,
    hwm: Option<usize>,
}

fn main() -> ExitCode {
    main_with("perf_lat", USAGE, parse_args, run)
}

fn parse_args(argv: impl Iterator<Item = OsString>) -> Result<Cli<Args>, String> {
    let mut positional = Vec::new();
    let mut this_binds = None;
    let mut hwm = None;
    let mut warmup = None;
    let mut argv = utf8_args(argv)?.into_iter();
    while let Some(arg) = argv.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if arg.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| match inline.clone() {
            Some(v) => Ok(v),
            None => argv.next().ok_or(format!("{name} needs a value")),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Cli::Help),
            "--bind" | "--connect" => {
                let binds = flag == "--bind";
                if this_binds.is_some_and(|b| b != binds) {
                    return Err("--bind and --connect exclude each other".into());
                }
                this_binds = Some(binds);
            }
            "--hwm" => hwm = Some(parse_number("--hwm", &value("--hwm")?)?),
            "--warmup" => warmup = Some(parse_number("--warmup", &value("--warmup")?)?),
            f if f.starts_with('-') => return Err(format!("unknown option {f:?}")),
            _ => positional.push(arg),
        }
    }
    let [mode, endpoint, size, roundtrips] = positional.as_slice() else {
        return Err(format!(
            "expected 4 arguments (mode, endpoint, size, roundtrips), got {}",
            positional.len()
        ));
    };
    let mode = match mode.as_str() {
        "rep" => Mode::Rep,
        "req" => Mode::Req,
        "both" => Mode::Both,
        other => return Err(format!("unknown mode {other:?}: use rep, req or both")),
    };
    let roundtrips: u64 = parse_number("round-trip count", roundtrips)?;
    if roundtrips == 0 {
        return Err("the round-trip count must be at least 1".into());
    }
    let warmup = warmup.unwrap_or((roundtrips / 100).max(100));
    if roundtrips.checked_add(warmup).is_none() {
        return Err("round trips plus warm-up overflow".into());
    }
    let rep_binds = match (mode, this_binds) {
        (Mode::Req, Some(req_binds)) => !req_binds,
        (_, Some(binds)) => binds,
        (_, None) => true,
    };
    if mode != Mode::Both && endpoint.starts_with("inproc://") {
        return Err("inproc:// works only within one process: use mode `both`".into());
    }
    Ok(Cli::Run(Args {
        mode,
        endpoint: endpoint.clone(),
        size: parse_number("message size", size)?,
        roundtrips,
        warmup,
        rep_binds,
        hwm,
    }))
}

fn check(msg: &Message, what: &str, size: usize, n: u64) -> Res<()> {
    match msg.frames() {
        [frame] if frame.len() == size => Ok(()),
        [frame] => Err(format!(
            "{what} {n} has {} bytes, expected {size} (do both sides use the same size?)",
            frame.len()
        )
        .into()),
        frames => Err(format!("{what} {n} has {} frames, expected 1", frames.len()).into()),
    }
}

/// Echoes `total` requests back.
fn echo(rep: &Socket, size: usize, total: u64) -> Res<()> {
    for n in 1..=total {
        let msg = rep.recv()?;
        check(&msg, "request", size, n)?;
        rep.send(msg)?;
    }
    Ok(())
}

struct Measured {
    /// The whole timed loop.
    total: Duration,
    /// Each timed round trip, sorted.
    rtts: Vec<Duration>,
}

/// Warm-up, then `roundtrips` timed round trips.
fn measure(req: &Socket, size: usize, warmup: u64, roundtrips: u64) -> Res<Measured> {
    let payload = Bytes::from(vec![0u8; size]);
    for n in 1..=warmup {
        req.send(payload.clone())?;
        check(&req.recv()?, "warm-up reply", size, n)?;
    }
    let mut rtts = Vec::with_capacity(usize::try_from(roundtrips).unwrap_or(0));
    let start = Instant::now();
    for n in 1..=roundtrips {
        let t0 = Instant::now();
        req.send(payload.clone())?;
        let reply = req.recv()?;
        rtts.push(t0.elapsed());
        check(&reply, "reply", size, n)?;
    }
    let total = start.elapsed();
    rtts.sort_unstable();
    Ok(Measured { total, rtts })
}

/// Nearest-rank percentile of sorted, non-empty samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn report(args: &Args, m: &Measured) {
    let n = m.rtts.len().max(1);
    let mean_rtt = m.rtts.iter().sum::<Duration>() / u32::try_from(n).unwrap_or(u32::MAX);
    println!("message size: {} [B]", args.size);
    println!(
        "roundtrip count: {} (after {} warm-up round trips, not counted)",
        args.roundtrips, args.warmup
    );
    println!(
        "average latency: {:.3} [us] (one-way, = round trip / 2, as libzmq's remote_lat)",
        us(m.total) / (2.0 * args.roundtrips as f64)
    );
    println!("round-trip time [us]:");
    println!("  mean   {:>10.3}", us(mean_rtt));
    for (name, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9)] {
        println!("  {name:<6} {:>10.3}", us(percentile(&m.rtts, p)));
    }
    if let Some(max) = m.rtts.last() {
        println!("  max    {:>10.3}", us(*max));
    }
}

fn run(args: &Args) -> Res<()> {
    let ctx = Context::new();
    let total = args.roundtrips + args.warmup;
    match args.mode {
        Mode::Rep => {
            let rep = new_socket(&ctx, SocketType::Rep, args.hwm)?;
            let endpoint = attach(&rep, &args.endpoint, args.rep_binds)?;
            eprintln!(
                "perf_lat: echoing {total} requests ({} warm-up + {}) of {} B, {} {endpoint}",
                args.warmup,
                args.roundtrips,
                args.size,
                how(args.rep_binds)
            );
            echo(&rep, args.size, total)?;
            println!("echoed {total} requests of {} B", args.size);
            Ok(())
        }
        Mode::Req => {
            let req = new_socket(&ctx, SocketType::Req, args.hwm)?;
            let req_binds = !args.rep_binds;
            let endpoint = attach(&req, &args.endpoint, req_binds)?;
            eprintln!(
                "perf_lat: {} warm-up + {} round trips of {} B, {} {endpoint}",
                args.warmup,
                args.roundtrips,
                args.size,
                how(req_binds)
            );
            let measured = measure(&req, args.size, args.warmup, args.roundtrips)?;
            report(args, &measured);
            Ok(())
        }
        Mode::Both => run_both(args, ctx, total),
    }
}

/// REQ on this thread, REP on another, one context.
fn run_both(args: &Args, ctx: Context, total: u64) -> Res<()> {
    let rep = new_socket(&ctx, SocketType::Rep, args.hwm)?;
    let req = new_socket(&ctx, SocketType::Req, args.hwm)?;
    {
        let (binder, connector) = if args.rep_binds {
            (&rep, &req)
        } else {
            (&req, &rep)
        };
        let endpoint = attach(binder, &args.endpoint, true)?;
        attach(connector, &endpoint, false)?;
        eprintln!(
            "perf_lat: {} warm-up + {} round trips of {} B over {endpoint}, REP {} on a second thread",
            args.warmup,
            args.roundtrips,
            args.size,
            if args.rep_binds { "binds" } else { "connects" }
        );
    }
    let size = args.size;
    let echo_ctx = ctx.clone();
    let echoer = thread::Builder::new()
        .name("perf_lat rep".into())
        .spawn(move || {
            let result = echo(&rep, size, total);
            if result.is_err() {
                // Unblocks the REQ.
                echo_ctx.shutdown();
            }
            drop(rep);
            result
        })?;
    let measured = measure(&req, size, args.warmup, args.roundtrips);
    if measured.is_err() {
        // Unblocks the REP.
        ctx.shutdown();
    }
    let echoed = echoer
        .join()
        .map_err(|_| "the REP thread panicked".to_string())?;
    match (measured, echoed) {
        (Ok(m), Ok(())) => {
            report(args, &m);
            Ok(())
        }
        (Err(q), Err(p)) if is_terminated(q.as_ref()) => Err(format!("rep: {p}").into()),
        (Err(q), _) => Err(format!("req: {q}").into()),
        (Ok(_), Err(p)) => Err(format!("rep: {p}").into()),
    }
}
