//! PUSH/PULL throughput, measured like libzmq's `local_thr` / `remote_thr`.
//!
//! In two terminals (or on two machines), start the receiver, then the
//! sender, with the same message size and count:
//!
//! ```text
//! cargo run --release --example perf_thr -- recv 'tcp://*:5555' 64 1000000
//! cargo run --release --example perf_thr -- send tcp://127.0.0.1:5555 64 1000000
//! ```
//!
//! inproc needs both sockets in one context, so `both` runs the receiver
//! (main thread) and the sender (a second thread) in one process:
//!
//! ```text
//! cargo run --release --example perf_thr -- both inproc://thr 64 1000000
//! cargo run --release --example perf_thr -- both 'tcp://127.0.0.1:*' 64 1000000
//! ```
//!
//! Modes and libzmq equivalents (same positional arguments):
//!
//! | brokerless                          | libzmq (`perf/`)                     |
//! |-------------------------------------|--------------------------------------|
//! | `recv <endpoint> <size> <count>`    | `local_thr <bind-to> <size> <count>` |
//! | `send <endpoint> <size> <count>`    | `remote_thr <connect-to> <size> <count>` |
//! | `both <endpoint> <size> <count>`    | `inproc_thr <size> <count>`          |
//!
//! The wire protocol is the same (ZMTP 3.1), so either side can be
//! swapped for the libzmq tool: `local_thr` against `perf_thr send`, or
//! `perf_thr recv` against `remote_thr`.
//!
//! What is measured, as in `local_thr`: the receiver (PULL) takes the
//! first message, starts the clock, receives the remaining `count - 1`
//! and stops the clock; throughput is `count / elapsed` (libzmq's formula,
//! which counts one message more than the timed window holds; negligible
//! for large counts), in messages per second, MB/s (10^6 bytes of payload
//! per second) and Mb/s (10^6 bits, libzmq's unit). Every message must be
//! one frame of exactly `size` bytes, otherwise the receiver stops with
//! an error. Connection set-up and process start are outside the timed
//! window.
//!
//! The sender (PUSH) sends `count` single-frame messages and then closes
//! its socket and context, which waits until the queue is flushed to the
//! peer (infinite linger, as libzmq's default); it reports how long the
//! sends took and how long the flush took after them. By default every
//! message is a reference-counted view of one payload buffer built once
//! (over inproc the receiver gets that buffer, no byte is copied);
//! `--alloc` allocates a fresh zeroed buffer per message instead, closer
//! to `remote_thr`, which does a `zmq_msg_init_size` per message.
//!
//! Options (anywhere on the line):
//!
//! - `--bind` / `--connect`: whether this process binds or connects. The
//!   default is that of libzmq's tools: the receiver binds and the sender
//!   connects. In `both` mode the flag is the receiver's; the other side
//!   does the opposite.
//! - `--hwm N`: the send and receive high-water marks of both sockets
//!   (messages per peer; 0 = unlimited; default 1000 as in libzmq). Over
//!   inproc the pipe holds the sum of the two sides' marks.
//! - `--alloc`: see above.
//!
//! A binding side may use a wildcard port (`tcp://127.0.0.1:*`); the
//! resolved endpoint is printed on standard error. `ipc:///tmp/thr.sock`
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
usage: perf_thr recv <endpoint> <msg-size> <msg-count> [options]   (like local_thr)
       perf_thr send <endpoint> <msg-size> <msg-count> [options]   (like remote_thr)
       perf_thr both <endpoint> <msg-size> <msg-count> [options]   (one process, two threads;
                                                                   needed for inproc://)
endpoints: tcp://host:port, tcp://*:port, tcp://127.0.0.1:* (bind), ipc:///path, inproc://name
options:
  --bind | --connect   this process binds / connects (default: recv binds, send connects;
                       in `both` mode the flag is the receiver's)
  --hwm N              send and receive high-water marks of the sockets (0 = unlimited;
                       default 1000)
  --alloc              sender: a fresh buffer per message (default: one shared buffer)
  -h, --help           this text
example, two terminals:
  cargo run --release --example perf_thr -- recv 'tcp://*:5555' 64 1000000
  cargo run --release --example perf_thr -- send tcp://127.0.0.1:5555 64 1000000
";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Recv,
    Send,
    Both,
}

#[derive(Debug)]
struct Args {
    mode: Mode,
    endpoint: String,
    size: usize,
    count: u64,
    /// Whether the receiver is the side that binds.
    receiver_binds: bool,
    hwm: Option<usize>,
    alloc: bool,
}

fn main() -> ExitCode {
    main_with("perf_thr", USAGE, parse_args, run)
}

fn parse_args(argv: impl Iterator<Item = OsString>) -> Result<Cli<Args>, String> {
    let mut positional = Vec::new();
    let mut this_binds = None;
    let mut hwm = None;
    let mut alloc = false;
    let mut argv = utf8_args(argv)?.into_iter();
    while let Some(arg) = argv.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if arg.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
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
            "--alloc" => alloc = true,
            "--hwm" => {
                let value = match inline {
                    Some(v) => v,
                    None => argv.next().ok_or("--hwm needs a value")?,
                };
                hwm = Some(parse_number("--hwm", &value)?);
            }
            f if f.starts_with('-') => return Err(format!("unknown option {f:?}")),
            _ => positional.push(arg),
        }
    }
    let [mode, endpoint, size, count] = positional.as_slice() else {
        return Err(format!(
            "expected 4 arguments (mode, endpoint, size, count), got {}",
            positional.len()
        ));
    };
    let mode = match mode.as_str() {
        "recv" => Mode::Recv,
        "send" => Mode::Send,
        "both" => Mode::Both,
        other => return Err(format!("unknown mode {other:?}: use recv, send or both")),
    };
    let count: u64 = parse_number("message count", count)?;
    if count < 2 {
        return Err("the message count must be at least 2 (the clock starts at the first)".into());
    }
    let receiver_binds = match (mode, this_binds) {
        (Mode::Send, Some(sender_binds)) => !sender_binds,
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
        count,
        receiver_binds,
        hwm,
        alloc,
    }))
}

fn check(msg: &Message, size: usize, n: u64) -> Res<()> {
    match msg.frames() {
        [frame] if frame.len() == size => Ok(()),
        [frame] => Err(format!(
            "message {n} has {} bytes, expected {size} (do both sides use the same size?)",
            frame.len()
        )
        .into()),
        frames => Err(format!("message {n} has {} frames, expected 1", frames.len()).into()),
    }
}

/// Receives `count` messages; the time from the first to the last.
fn receive(pull: &Socket, size: usize, count: u64) -> Res<Duration> {
    check(&pull.recv()?, size, 1)?;
    let start = Instant::now();
    for n in 2..=count {
        check(&pull.recv()?, size, n)?;
    }
    Ok(start.elapsed())
}

/// Sends `count` messages; the time the sends took.
fn send_all(push: &Socket, size: usize, count: u64, alloc: bool) -> Res<Duration> {
    let payload = Bytes::from(vec![0u8; size]);
    let start = Instant::now();
    for _ in 0..count {
        if alloc {
            push.send(vec![0u8; size])?;
        } else {
            push.send(payload.clone())?;
        }
    }
    Ok(start.elapsed())
}

fn report(size: usize, count: u64, elapsed: Duration) {
    // As local_thr: count messages over the first-to-last window.
    let secs = elapsed.as_secs_f64().max(1e-9);
    let msgs_per_sec = count as f64 / secs;
    let bytes_per_sec = msgs_per_sec * size as f64;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("elapsed: {secs:.6} [s] (first message received to last)");
    println!("mean throughput: {msgs_per_sec:.0} [msg/s]");
    println!("mean throughput: {:.3} [MB/s]", bytes_per_sec / 1e6);
    println!("mean throughput: {:.3} [Mb/s]", bytes_per_sec * 8.0 / 1e6);
}

fn run(args: &Args) -> Res<()> {
    let ctx = Context::new();
    match args.mode {
        Mode::Recv => {
            let pull = new_socket(&ctx, SocketType::Pull, args.hwm)?;
            let endpoint = attach(&pull, &args.endpoint, args.receiver_binds)?;
            eprintln!(
                "perf_thr: receiving {} messages of {} B, {} {endpoint}",
                args.count,
                args.size,
                how(args.receiver_binds)
            );
            let elapsed = receive(&pull, args.size, args.count)?;
            report(args.size, args.count, elapsed);
            Ok(())
        }
        Mode::Send => {
            let push = new_socket(&ctx, SocketType::Push, args.hwm)?;
            let sender_binds = !args.receiver_binds;
            let endpoint = attach(&push, &args.endpoint, sender_binds)?;
            eprintln!(
                "perf_thr: sending {} messages of {} B, {} {endpoint}",
                args.count,
                args.size,
                how(sender_binds)
            );
            let sending = send_all(&push, args.size, args.count, args.alloc)?;
            let start = Instant::now();
            // Closing waits until the queue is flushed (infinite linger).
            drop(push);
            drop(ctx);
            println!(
                "sent {} messages of {} B in {:.6} s; queue flushed {:.6} s later",
                args.count,
                args.size,
                sending.as_secs_f64(),
                start.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Mode::Both => run_both(args, ctx),
    }
}

/// Receiver on this thread, sender on another, one context.
fn run_both(args: &Args, ctx: Context) -> Res<()> {
    let pull = new_socket(&ctx, SocketType::Pull, args.hwm)?;
    let push = new_socket(&ctx, SocketType::Push, args.hwm)?;
    {
        let (binder, connector) = if args.receiver_binds {
            (&pull, &push)
        } else {
            (&push, &pull)
        };
        let endpoint = attach(binder, &args.endpoint, true)?;
        attach(connector, &endpoint, false)?;
        eprintln!(
            "perf_thr: {} messages of {} B over {endpoint}, receiver {}, sender on a second thread",
            args.count,
            args.size,
            if args.receiver_binds {
                "binds"
            } else {
                "connects"
            }
        );
        if endpoint.starts_with("inproc://") {
            eprintln!(
                "perf_thr: inproc hands messages over by reference: MB/s and Mb/s are the \
                 message rate times the size, no payload byte is copied"
            );
        }
    }
    let (size, count, alloc) = (args.size, args.count, args.alloc);
    let sender_ctx = ctx.clone();
    let sender = thread::Builder::new()
        .name("perf_thr sender".into())
        .spawn(move || {
            let result = send_all(&push, size, count, alloc);
            if result.is_err() {
                // Unblocks the receiver.
                sender_ctx.shutdown();
            }
            drop(push);
            result
        })?;
    let received = receive(&pull, size, count);
    if received.is_err() {
        // Unblocks the sender.
        ctx.shutdown();
    }
    let sent = sender
        .join()
        .map_err(|_| "the sender thread panicked".to_string())?;
    match (received, sent) {
        (Ok(elapsed), Ok(_)) => {
            report(size, count, elapsed);
            Ok(())
        }
        (Err(r), Err(s)) if is_terminated(r.as_ref()) => Err(format!("sender: {s}").into()),
        (Err(r), _) => Err(format!("receiver: {r}").into()),
        (Ok(_), Err(s)) => Err(format!("sender: {s}").into()),
    }
}
