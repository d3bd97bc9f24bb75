//! PUSH/PULL throughput over TCP loopback, ipc and inproc: brokerless
//! against libzmq 4.3.5, measured in the same run with the same harness.
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
//! The same is measured over tcp, then over ipc (a Unix socket file in the
//! temporary directory), then over inproc, one table each. inproc needs
//! both sockets in one context, so there the sender and receiver are two
//! threads of one process (child role `recv+send`), as in libzmq's
//! `inproc_thr`: the main thread binds the PULL, a second thread creates
//! the PUSH from the same (shared) context, connects and sends, and the
//! main thread receives and times from the first message to the last as
//! above. Both libraries make an inproc pipe's limit the sum of the two
//! sides' high-water marks, so 2000 messages there.
//!
//! The senders, on every transport: brokerless sends one `Bytes` payload
//! built once, each message a reference-counted view of it (over inproc
//! the receiver gets that same buffer, nothing is copied at all); libzmq
//! gets a fresh `zmq_msg_t` with a copy of the payload per message, as
//! `remote_thr` allocates one per message (plus the copy a real
//! application makes and `remote_thr` skips), and that message, too, is
//! handed over by pointer over inproc. The receivers reuse one message
//! (libzmq) or drop each `Message` (brokerless). So over inproc the
//! brokerless figures are a message rate with no byte touched (its MB/s
//! is that rate times the size, not bytes moved), and at 64 KiB the ratio
//! mostly measures libzmq's per-message allocation and copy.
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
//! Over inproc one command does both:
//! `throughput-<hash> child brokerless recv+send inproc://x 64 200000`.

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
             receiver in separate processes, and over inproc, sender and receiver threads of \
             one process (pipe limit 2000, the sum of both HWMs, in both)",
            "; MB = 10^6 B of payload",
        )?;

        let mut tables = Vec::new();
        for (transport, label) in [
            (common::Transport::Tcp, "tcp    "),
            (common::Transport::Ipc, "ipc    "),
            (common::Transport::Inproc, "inproc "),
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
/// and `child <impl> send <endpoint> <size> <count>`, or over inproc both
/// in one, `child <impl> recv+send <endpoint> <size> <count>`.
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
        } = ChildArgs::parse(args, "recv|send|recv+send")?;
        if count < 2 {
            return Err("count must be at least 2".into());
        }
        match (imp, role) {
            (Impl::Brokerless, "recv") => report(brokerless_recv(endpoint, size, count)?),
            (Impl::Brokerless, "send") => brokerless_send(endpoint, size, count),
            (Impl::Libzmq, "recv") => report(zmq::recv(endpoint, size, count)?),
            (Impl::Libzmq, "send") => zmq::send(endpoint, size, count),
            (Impl::Brokerless, "recv+send") => report(brokerless_inproc(endpoint, size, count)?),
            (Impl::Libzmq, "recv+send") => report(zmq::inproc(endpoint, size, count)?),
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
        common::brokerless_recv_loop(&pull, size, count)
    }

    fn brokerless_send(endpoint: &str, size: usize, count: u64) -> Res<()> {
        let ctx = common::brokerless_context()?;
        let push = brokerless_push(&ctx, endpoint)?;
        common::brokerless_send_loop(&push, size, count)?;
        // Closing the socket and then the context flushes what is still
        // queued (linger is infinite by default) before returning.
        drop(push);
        drop(ctx);
        Ok(())
    }

    /// A PUSH socket of `ctx` connected to `endpoint`.
    fn brokerless_push(ctx: &brokerless::Context, endpoint: &str) -> Res<brokerless::Socket> {
        use brokerless::SocketType;
        let err = |what: &str, e: brokerless::Error| format!("{what}: {e}");
        let push = ctx.socket(SocketType::Push).map_err(|e| err("socket", e))?;
        push.set_send_timeout(Some(CHILD_TIMEOUT))
            .map_err(|e| err("option", e))?;
        push.connect(endpoint).map_err(|e| err("connect", e))?;
        Ok(push)
    }

    /// Over inproc: binds a PULL in this thread, runs the PUSH's part in a
    /// second thread on a clone of the same context, and returns the
    /// receiver's timed window.
    fn brokerless_inproc(endpoint: &str, size: usize, count: u64) -> Res<Duration> {
        use brokerless::SocketType;
        let err = |what: &str, e: brokerless::Error| format!("{what}: {e}");
        let ctx = common::brokerless_context()?;
        let pull = ctx.socket(SocketType::Pull).map_err(|e| err("socket", e))?;
        pull.set_recv_timeout(Some(CHILD_TIMEOUT))
            .map_err(|e| err("option", e))?;
        pull.bind(endpoint).map_err(|e| err("bind", e))?;
        let sender_ctx = ctx.clone();
        let endpoint = endpoint.to_owned();
        let elapsed = with_sender_thread(
            move || {
                let push = brokerless_push(&sender_ctx, &endpoint)?;
                common::brokerless_send_loop(&push, size, count)?;
                Ok(push)
            },
            || common::brokerless_recv_loop(&pull, size, count),
        )?;
        drop(pull);
        drop(ctx);
        Ok(elapsed)
    }

    /// Runs `send` in a thread of its own and `recv` in this one, and
    /// returns what `recv` measured once the sender thread has finished.
    /// `send` returns its socket, dropped here only after everything was
    /// received, so that closing it cannot race with the last messages.
    /// If `recv` fails, the sender thread is left behind (the process is
    /// about to exit with the error).
    fn with_sender_thread<S: Send + 'static>(
        send: impl FnOnce() -> Res<S> + Send + 'static,
        recv: impl FnOnce() -> Res<Duration>,
    ) -> Res<Duration> {
        let sender = std::thread::Builder::new()
            .name("sender".into())
            .spawn(send)
            .map_err(|e| format!("cannot start the sender thread: {e}"))?;
        let elapsed = recv()?;
        let socket = sender
            .join()
            .map_err(|_| "the sender thread panicked".to_string())?
            .map_err(|e| format!("sender thread: {e}"))?;
        drop(socket);
        Ok(elapsed)
    }

    /// The libzmq side through the raw C API, as libzmq's own
    /// `local_thr` / `remote_thr` use it.
    mod zmq {
        use std::ffi::c_void;

        use libzmq_peer::{Context, SocketKind, ZMQ_RCVTIMEO, ZMQ_SNDTIMEO, ZmqError, ffi};

        use super::*;
        use common::zmq::{Msg, Zmq, retry, send_copies};

        pub fn recv(bind: &str, size: usize, count: u64) -> Res<Duration> {
            let z = Zmq::new(SocketKind::Pull.raw(), ZMQ_RCVTIMEO)?;
            z.bind(bind)?;
            announce(&z.last_endpoint()?);
            // SAFETY: `z.sock` is live while `z` is, and used by this
            // thread only.
            unsafe { recv_loop(z.sock, size, count) }
        }

        /// Receives `count` messages of `size` bytes on `sock` and
        /// returns the time from the first to the last.
        ///
        /// # Safety
        ///
        /// `sock` is a live libzmq socket that no other thread uses during
        /// the call.
        unsafe fn recv_loop(sock: *mut c_void, size: usize, count: u64) -> Res<Duration> {
            // One message reused for every receive, as in local_thr.
            let mut msg = Msg::new()?;
            let mut recv_one = |what: &str| -> Res<()> {
                // SAFETY: live socket used by this thread only (the
                // caller's promise); `msg` is initialised, and
                // zmq_msg_recv releases its previous content first.
                retry(what, || unsafe {
                    ffi::zmq_msg_recv(msg.as_mut_ptr(), sock, 0)
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

        /// Over inproc, as libzmq's `inproc_thr`: one context shared by
        /// two threads, the PULL bound in this one, the PUSH created,
        /// connected and used in the other.
        pub fn inproc(endpoint: &str, size: usize, count: u64) -> Res<Duration> {
            let zerr = |what: &'static str| move |e: ZmqError| format!("{what}: {e}");
            let timeout = CHILD_TIMEOUT.as_millis() as i32;
            // `Context` is `Send + Sync` and its clones share one libzmq
            // context; `Socket` is `Send`, so the sender thread can hand
            // its socket back (the join is the memory barrier libzmq asks
            // for when a socket changes threads).
            let ctx = Context::new().map_err(zerr("zmq_ctx_new"))?;
            let pull = ctx.socket(SocketKind::Pull).map_err(zerr("zmq_socket"))?;
            pull.set_rcvtimeo(timeout).map_err(zerr("ZMQ_RCVTIMEO"))?;
            pull.bind(endpoint).map_err(zerr("zmq_bind"))?;
            let sender_ctx = ctx.clone();
            let endpoint = endpoint.to_owned();
            let elapsed = with_sender_thread(
                move || {
                    let push = sender_ctx
                        .socket(SocketKind::Push)
                        .map_err(zerr("zmq_socket"))?;
                    push.set_sndtimeo(timeout).map_err(zerr("ZMQ_SNDTIMEO"))?;
                    push.connect(&endpoint).map_err(zerr("zmq_connect"))?;
                    // SAFETY: `push` is live until it is returned, and only
                    // this thread uses it meanwhile.
                    unsafe { send_copies(push.as_raw(), &vec![0x5a_u8; size], count) }?;
                    Ok(push)
                },
                // SAFETY: `pull` is live until it is dropped below, and
                // only this thread uses it.
                || unsafe { recv_loop(pull.as_raw(), size, count) },
            )?;
            // Sockets first, then the last context handle terminates the
            // context (nothing is left to linger for).
            drop(pull);
            drop(ctx);
            Ok(elapsed)
        }
    }
}
