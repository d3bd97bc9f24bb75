//! PUSH/PULL throughput over TCP loopback: brokerless against libzmq 4.3.5,
//! measured in the same run with the same harness.
//!
//! ```text
//! cargo bench --bench throughput
//! BENCH_SCALE=0.1 BENCH_RUNS=3 cargo bench --bench throughput   # quick look
//! ```
//!
//! What is measured, for 64 B, 1 KiB and 64 KiB single-frame messages: as
//! with libzmq's `local_thr` / `remote_thr`, sender and receiver are
//! separate processes (this binary re-executes itself with `child ...`
//! arguments). The receiver binds a PULL socket on `tcp://127.0.0.1:*`,
//! prints its resolved endpoint, receives `count` messages and times from
//! the first message received to the last; the sender connects a PUSH
//! socket, sends `count` messages and exits once everything is flushed.
//! Both implementations keep their defaults (high-water marks 1000, one
//! I/O thread, infinite linger), so connection set-up and process start
//! are outside the timed window. Each cell is the median of `BENCH_RUNS`
//! runs (default 5) with the min-max range in brackets; runs of the two
//! implementations are interleaved and alternate which goes first, because
//! this machine is noisy. Rates count the `count - 1` messages received
//! inside the timed window (`local_thr` divides by `count`, a difference
//! below 0.01 % here); MB is 10^6 bytes of payload.
//!
//! Environment: `BENCH_SCALE` (multiplies every message count, default 1),
//! `BENCH_RUNS` (runs per cell, default 5), `BENCH_TIMEOUT` (seconds a
//! single measurement may take before its processes are killed, default
//! 120). Arguments other than `child ...` (cargo passes `--bench`) are
//! ignored.
//!
//! A child can be run by hand, e.g. under a profiler:
//! `throughput-<hash> child brokerless recv tcp://127.0.0.1:* 64 200000`
//! prints `endpoint tcp://127.0.0.1:<port>`; then
//! `throughput-<hash> child brokerless send tcp://127.0.0.1:<port> 64 200000`.

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{CHILD_TIMEOUT, ChildArgs, Impl, Res, Throughput};

/// Message sizes and their default counts, chosen so that one measurement
/// takes roughly 0.3 to 1 s on a 2-core machine.
const CASES: [(usize, u64); 3] = [(64, 3_000_000), (1024, 800_000), (65536, 20_000)];

fn main() {
    common::main("throughput", child::run, parent::run);
}

/// The orchestrating process: spawns receiver/sender pairs, collects the
/// timings and prints the table.
mod parent {
    use super::*;

    pub fn run() -> Res<()> {
        let (settings, exe) = common::start(
            "PUSH/PULL over tcp://127.0.0.1 and over ipc (a Unix socket file), sender and \
             receiver in separate processes",
            "; MB = 10^6 B of payload",
        )?;

        let mut tables = Vec::new();
        for (transport, label) in [
            (common::Transport::Tcp, "tcp "),
            (common::Transport::Ipc, "ipc "),
        ] {
            let rows = Throughput {
                binder: ("receiver", "recv"),
                connector: ("sender", "send"),
                label,
                transport,
            }
            .rows(&settings, &exe, &CASES)?;
            tables.push((label, rows));
        }
        for (label, rows) in tables {
            println!();
            println!("over {}", label.trim());
            common::print_throughput_table(&rows, "ratio (brokerless/libzmq)");
        }
        Ok(())
    }
}

/// The measured processes: `child <impl> recv <endpoint> <size> <count>`
/// and `child <impl> send <endpoint> <size> <count>`.
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
        } = ChildArgs::parse(args, "recv|send")?;
        if count < 2 {
            return Err("count must be at least 2".into());
        }
        match (imp, role) {
            (Impl::Brokerless, "recv") => report(brokerless_recv(endpoint, size, count)?),
            (Impl::Brokerless, "send") => brokerless_send(endpoint, size, count),
            (Impl::Libzmq, "recv") => report(zmq::recv(endpoint, size, count)?),
            (Impl::Libzmq, "send") => zmq::send(endpoint, size, count),
            (_, other) => Err(format!("unknown role {other:?}")),
        }
        .map_err(|e| format!("{} {role}: {e}", imp.name()))
    }

    fn brokerless_recv(bind: &str, size: usize, count: u64) -> Res<Duration> {
        use brokerless::SocketType;
        let err = |what: &str, e: brokerless::Error| format!("{what}: {e}");
        let ctx = common::brokerless_context()?;
        let pull = ctx.socket(SocketType::Pull).map_err(|e| err("socket", e))?;
        pull.set_recv_timeout(Some(CHILD_TIMEOUT))
            .map_err(|e| err("option", e))?;
        pull.bind(bind).map_err(|e| err("bind", e))?;
        announce(&pull.last_endpoint().ok_or("no endpoint after bind")?);

        let check = |m: brokerless::Message| {
            if m.len() == 1 && m[0].len() == size {
                Ok(())
            } else {
                Err(format!("unexpected message {m:?}"))
            }
        };
        check(pull.recv().map_err(|e| err("first recv", e))?)?;
        let start = Instant::now();
        for _ in 1..count {
            check(pull.recv().map_err(|e| err("recv", e))?)?;
        }
        Ok(start.elapsed())
    }

    fn brokerless_send(endpoint: &str, size: usize, count: u64) -> Res<()> {
        use brokerless::{Message, SocketType};
        let err = |what: &str, e: brokerless::Error| format!("{what}: {e}");
        // Built once and shared: each message is a reference-counted view of
        // the same buffer, no copy and no allocation of payload per message.
        // This is the idiomatic way to send one payload repeatedly with
        // `bytes::Bytes`.
        let payload = bytes::Bytes::from(vec![0x5a_u8; size]);
        let ctx = common::brokerless_context()?;
        let push = ctx.socket(SocketType::Push).map_err(|e| err("socket", e))?;
        push.set_send_timeout(Some(CHILD_TIMEOUT))
            .map_err(|e| err("option", e))?;
        push.connect(endpoint).map_err(|e| err("connect", e))?;
        for _ in 0..count {
            push.send(Message::from(payload.clone()))
                .map_err(|e| err("send", e))?;
        }
        // Closing the socket and then the context flushes what is still
        // queued (linger is infinite by default) before returning.
        drop(push);
        drop(ctx);
        Ok(())
    }

    /// The libzmq side through the raw C API, as libzmq's own
    /// `local_thr` / `remote_thr` use it.
    mod zmq {
        use libzmq_peer::{SocketKind, ZMQ_RCVTIMEO, ZMQ_SNDTIMEO, ffi};

        use super::*;
        use common::zmq::{Msg, Zmq, retry};

        pub fn recv(bind: &str, size: usize, count: u64) -> Res<Duration> {
            let z = Zmq::new(SocketKind::Pull.raw(), ZMQ_RCVTIMEO)?;
            z.bind(bind)?;
            announce(&z.last_endpoint()?);

            // One message reused for every receive, as in local_thr.
            let mut msg = Msg::new()?;
            let mut recv_one = |what: &str| -> Res<()> {
                // SAFETY: live socket; `msg` is initialised, and
                // zmq_msg_recv releases its previous content first.
                retry(what, || unsafe {
                    ffi::zmq_msg_recv(msg.as_mut_ptr(), z.sock, 0)
                })?;
                let got = msg.size();
                if got != size {
                    return Err(format!("message of {got} bytes, expected {size}"));
                }
                Ok(())
            };
            recv_one("first zmq_msg_recv")?;
            let start = Instant::now();
            for _ in 1..count {
                recv_one("zmq_msg_recv")?;
            }
            Ok(start.elapsed())
        }

        pub fn send(endpoint: &str, size: usize, count: u64) -> Res<()> {
            let z = Zmq::new(SocketKind::Push.raw(), ZMQ_SNDTIMEO)?;
            z.connect(endpoint)?;
            z.send_copies(&vec![0x5a_u8; size], count)?;
            // Dropping `z` closes the socket and waits in zmq_ctx_term
            // until everything queued has been sent (infinite linger).
            drop(z);
            Ok(())
        }
    }
}
