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

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Message sizes and their default counts, chosen so that one measurement
/// takes roughly 0.3 to 1 s on a 2-core machine.
const CASES: [(usize, u64); 3] = [(64, 3_000_000), (1024, 800_000), (65536, 20_000)];

/// How long a child's blocking send or receive may wait before the run is
/// declared broken.
const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

/// Stdout line prefixes of the receiver's tiny protocol with the parent.
const ENDPOINT_LINE: &str = "endpoint ";
const ELAPSED_LINE: &str = "elapsed_ns ";

type Res<T> = Result<T, String>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Impl {
    Brokerless,
    Libzmq,
}

impl Impl {
    const ALL: [Impl; 2] = [Impl::Brokerless, Impl::Libzmq];

    fn name(self) -> &'static str {
        match self {
            Impl::Brokerless => "brokerless",
            Impl::Libzmq => "libzmq",
        }
    }

    fn parse(s: &str) -> Res<Impl> {
        Impl::ALL
            .into_iter()
            .find(|i| i.name() == s)
            .ok_or_else(|| format!("unknown implementation {s:?}"))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((first, rest)) if first == "child" => child::run(rest),
        _ => parent::run(),
    };
    if let Err(e) = result {
        eprintln!("throughput: {e}");
        std::process::exit(1);
    }
}

/// The orchestrating process: spawns receiver/sender pairs, collects the
/// timings and prints the table.
mod parent {
    use super::*;

    struct Settings {
        scale: f64,
        runs: usize,
        timeout: Duration,
    }

    fn env_parse<T: std::str::FromStr>(name: &str, default: T) -> Res<T> {
        match std::env::var(name) {
            Ok(v) => v
                .trim()
                .parse()
                .map_err(|_| format!("{name}={v:?} is not a valid number")),
            Err(_) => Ok(default),
        }
    }

    fn settings() -> Res<Settings> {
        let scale: f64 = env_parse("BENCH_SCALE", 1.0)?;
        let runs: usize = env_parse("BENCH_RUNS", 5)?;
        let timeout: f64 = env_parse("BENCH_TIMEOUT", 120.0)?;
        let positive = |x: f64| x > 0.0 && x.is_finite();
        if !positive(scale) || runs == 0 || !positive(timeout) {
            return Err("BENCH_SCALE, BENCH_RUNS and BENCH_TIMEOUT must be positive".into());
        }
        Ok(Settings {
            scale,
            runs,
            timeout: Duration::from_secs_f64(timeout),
        })
    }

    pub fn run() -> Res<()> {
        let settings = settings()?;
        let exe = std::env::current_exe().map_err(|e| format!("cannot find own binary: {e}"))?;
        let (major, minor, patch) = libzmq_peer::version();

        println!(
            "machine: nproc {}, kernel {}{}",
            nproc(),
            uname_r(),
            cpu_model()
        );
        println!(
            "PUSH/PULL over tcp://127.0.0.1, sender and receiver in separate processes, \
             HWM 1000; brokerless {} vs libzmq {major}.{minor}.{patch}",
            env!("CARGO_PKG_VERSION"),
        );
        println!(
            "median of {} interleaved runs per cell, [min-max] in brackets; MB = 10^6 B of payload",
            settings.runs
        );

        let mut rows = Vec::new();
        for (size, base_count) in CASES {
            let count = ((base_count as f64 * settings.scale).round() as u64).max(2);
            let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
            for run in 0..settings.runs {
                let mut order = Impl::ALL;
                if run % 2 == 1 {
                    order.reverse();
                }
                for imp in order {
                    let elapsed =
                        measure(&exe, imp, size, count, settings.timeout).map_err(|e| {
                            format!("{} {}, run {}: {e}", imp.name(), size_label(size), run + 1)
                        })?;
                    let rate = (count - 1) as f64 / elapsed.as_secs_f64().max(1e-9);
                    eprintln!(
                        "  {:>6} run {}/{} {:<10} {:>12.0} msgs/s ({count} msgs in {:.3} s)",
                        size_label(size),
                        run + 1,
                        settings.runs,
                        imp.name(),
                        rate,
                        elapsed.as_secs_f64(),
                    );
                    rates[imp as usize].push(rate);
                }
            }
            rows.push(row(size, &rates));
        }
        println!();
        print_table(&rows);
        Ok(())
    }

    /// One receiver/sender pair; returns the receiver's timed window.
    fn measure(exe: &Path, imp: Impl, size: usize, count: u64, timeout: Duration) -> Res<Duration> {
        let deadline = Instant::now() + timeout;
        let (size, count) = (size.to_string(), count.to_string());
        let mut receiver = Kid::spawn(
            "receiver",
            Command::new(exe)
                .args([
                    "child",
                    imp.name(),
                    "recv",
                    "tcp://127.0.0.1:*",
                    &size,
                    &count,
                ])
                .stdout(Stdio::piped()),
        )?;
        let lines = receiver.stdout_lines()?;
        let endpoint = receiver.wait_line(&lines, ENDPOINT_LINE, deadline, None)?;
        let mut sender = Kid::spawn(
            "sender",
            Command::new(exe)
                .args(["child", imp.name(), "send", &endpoint, &size, &count])
                .stdout(Stdio::null()),
        )?;
        let elapsed = receiver.wait_line(&lines, ELAPSED_LINE, deadline, Some(&mut sender))?;
        let ns: u64 = elapsed
            .parse()
            .map_err(|_| format!("receiver printed a bad elapsed time {elapsed:?}"))?;
        sender.wait_success(deadline)?;
        receiver.wait_success(deadline)?;
        Ok(Duration::from_nanos(ns))
    }

    /// A child process that is killed if it is dropped before it exited
    /// successfully, so that every error path cleans up.
    struct Kid {
        role: &'static str,
        child: Child,
        reaped: bool,
    }

    impl Kid {
        fn spawn(role: &'static str, cmd: &mut Command) -> Res<Kid> {
            let child = cmd
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("cannot start the {role}: {e}"))?;
            Ok(Kid {
                role,
                child,
                reaped: false,
            })
        }

        /// Forwards the child's stdout lines to a channel from a thread, so
        /// that the parent can wait for them with a deadline.
        fn stdout_lines(&mut self) -> Res<mpsc::Receiver<String>> {
            let out = self
                .child
                .stdout
                .take()
                .ok_or_else(|| format!("the {}'s stdout is not piped", self.role))?;
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            Ok(rx)
        }

        /// Fails if the child has exited unsuccessfully (or at all, when
        /// `must_live`).
        fn check(&mut self, must_live: bool) -> Res<()> {
            match self.child.try_wait() {
                Ok(None) => Ok(()),
                Ok(Some(status)) => {
                    self.reaped = true;
                    if status.success() && !must_live {
                        Ok(())
                    } else {
                        Err(format!("the {} exited early ({status})", self.role))
                    }
                }
                Err(e) => Err(format!("cannot watch the {}: {e}", self.role)),
            }
        }

        /// Waits for the stdout line starting with `prefix` and returns the
        /// rest, while watching this child and `other` for failures.
        fn wait_line(
            &mut self,
            lines: &mpsc::Receiver<String>,
            prefix: &str,
            deadline: Instant,
            mut other: Option<&mut Kid>,
        ) -> Res<String> {
            loop {
                match lines.recv_timeout(Duration::from_millis(20)) {
                    Ok(line) => {
                        return line.strip_prefix(prefix).map(str::to_owned).ok_or_else(|| {
                            format!("the {} printed {line:?}, expected {prefix:?}...", self.role)
                        });
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        // Give it a moment to exit, to report its status.
                        let grace = Instant::now() + Duration::from_secs(1);
                        while Instant::now() < grace {
                            self.check(true)?;
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        return Err(format!(
                            "the {} closed its stdout before printing {prefix:?}",
                            self.role
                        ));
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                }
                if let Some(other) = other.as_deref_mut() {
                    if !other.reaped {
                        other.check(false)?;
                    }
                }
                if Instant::now() > deadline {
                    return Err(format!("timed out waiting for the {}", self.role));
                }
            }
        }

        /// Waits for a successful exit.
        fn wait_success(&mut self, deadline: Instant) -> Res<()> {
            loop {
                self.check(false)?;
                if self.reaped {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err(format!("timed out waiting for the {} to exit", self.role));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    impl Drop for Kid {
        fn drop(&mut self) {
            if !self.reaped {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }

    fn median_min_max(v: &[f64]) -> (f64, f64, f64) {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        (median, s[0], s[n - 1])
    }

    /// `1.23M [1.10-1.31]`: the median and the range, in one unit, to
    /// about three significant digits.
    fn rate_cell(v: &[f64]) -> String {
        let (med, min, max) = median_min_max(v);
        let (div, unit) = if med >= 1e6 {
            (1e6, "M")
        } else if med >= 1e3 {
            (1e3, "k")
        } else {
            (1.0, "")
        };
        let sig = |x: f64| {
            let x = x / div;
            let decimals = if x >= 100.0 {
                0
            } else if x >= 10.0 {
                1
            } else {
                2
            };
            format!("{x:.decimals$}")
        };
        format!("{}{unit} [{}-{}]", sig(med), sig(min), sig(max))
    }

    fn row(size: usize, rates: &[Vec<f64>; 2]) -> [String; 6] {
        let mb = |v: &[f64]| format!("{:.1}", median_min_max(v).0 * size as f64 / 1e6);
        let (b, z) = (
            &rates[Impl::Brokerless as usize],
            &rates[Impl::Libzmq as usize],
        );
        let ratio = median_min_max(b).0 / median_min_max(z).0;
        [
            size_label(size),
            rate_cell(b),
            mb(b),
            rate_cell(z),
            mb(z),
            format!("{ratio:.2}x"),
        ]
    }

    fn print_table(rows: &[[String; 6]]) {
        let header = [
            "size",
            "brokerless msgs/s",
            "brokerless MB/s",
            "libzmq msgs/s",
            "libzmq MB/s",
            "ratio (brokerless/libzmq)",
        ];
        let mut width = header.map(str::len);
        for r in rows {
            for (w, cell) in width.iter_mut().zip(r) {
                *w = (*w).max(cell.len());
            }
        }
        let line = |cells: [&str; 6]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(width)
                .map(|(c, w)| format!("{c:>w$}"))
                .collect();
            println!("| {} |", padded.join(" | "));
        };
        line(header);
        println!("|{}|", width.map(|w| "-".repeat(w + 2)).join("|"));
        for r in rows {
            line(r.each_ref().map(String::as_str));
        }
    }

    fn size_label(size: usize) -> String {
        if size >= 1024 && size % 1024 == 0 {
            format!("{} KiB", size / 1024)
        } else {
            format!("{size} B")
        }
    }

    fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
        let out = Command::new(cmd).args(args).output().ok()?;
        let s = String::from_utf8(out.stdout).ok()?;
        Some(s.trim().to_owned()).filter(|s| !s.is_empty())
    }

    fn nproc() -> String {
        command_output("nproc", &[])
            .or_else(|| {
                std::thread::available_parallelism()
                    .ok()
                    .map(|n| n.to_string())
            })
            .unwrap_or_else(|| "?".into())
    }

    fn uname_r() -> String {
        command_output("uname", &["-r"]).unwrap_or_else(|| "?".into())
    }

    fn cpu_model() -> String {
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, m)| format!(", {}", m.trim()))
            })
            .unwrap_or_default()
    }
}

/// The measured processes: `child <impl> recv <endpoint> <size> <count>`
/// and `child <impl> send <endpoint> <size> <count>`.
mod child {
    use super::*;

    pub fn run(args: &[String]) -> Res<()> {
        let [imp, role, endpoint, size, count] = args else {
            return Err(format!(
                "usage: child <brokerless|libzmq> <recv|send> <endpoint> <size> <count>, got {args:?}"
            ));
        };
        let imp = Impl::parse(imp)?;
        let size: usize = size.parse().map_err(|_| format!("bad size {size:?}"))?;
        let count: u64 = count.parse().map_err(|_| format!("bad count {count:?}"))?;
        if count < 2 {
            return Err("count must be at least 2".into());
        }
        match (imp, role.as_str()) {
            (Impl::Brokerless, "recv") => report(brokerless_recv(endpoint, size, count)?),
            (Impl::Brokerless, "send") => brokerless_send(endpoint, size, count),
            (Impl::Libzmq, "recv") => report(zmq::recv(endpoint, size, count)?),
            (Impl::Libzmq, "send") => zmq::send(endpoint, size, count),
            (_, other) => Err(format!("unknown role {other:?}")),
        }
        .map_err(|e| format!("{} {role}: {e}", imp.name()))
    }

    /// Tells the parent where to connect (stdout is line-buffered, so the
    /// line goes out at once even into a pipe).
    fn announce(endpoint: &str) {
        println!("{ENDPOINT_LINE}{endpoint}");
    }

    fn report(elapsed: Duration) -> Res<()> {
        println!("{ELAPSED_LINE}{}", elapsed.as_nanos());
        Ok(())
    }

    fn brokerless_recv(bind: &str, size: usize, count: u64) -> Res<Duration> {
        use brokerless::{Context, SocketType};
        let err = |what: &str, e: brokerless::Error| format!("{what}: {e}");
        let ctx = Context::builder().build().map_err(|e| err("context", e))?;
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
        use brokerless::{Context, Message, SocketType};
        let err = |what: &str, e: brokerless::Error| format!("{what}: {e}");
        // Built once and shared: each message is a reference-counted view of
        // the same buffer, no copy and no allocation of payload per message.
        // This is the idiomatic way to send one payload repeatedly with
        // `bytes::Bytes`.
        let payload = bytes::Bytes::from(vec![0x5a_u8; size]);
        let ctx = Context::builder().build().map_err(|e| err("context", e))?;
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
        use std::ffi::{CString, c_int, c_void};

        use libzmq_peer::{
            SocketKind, ZMQ_LAST_ENDPOINT, ZMQ_RCVTIMEO, ZMQ_SNDTIMEO, ZmqError, ffi,
        };

        use super::*;

        /// A context with one socket; closes the socket and terminates the
        /// context (waiting for the linger, infinite by default) on drop.
        struct Zmq {
            ctx: *mut c_void,
            sock: *mut c_void,
        }

        fn last(what: &str) -> String {
            format!("{what}: {}", ZmqError::last())
        }

        /// Runs `call` until it does not fail with EINTR; `Err` on failure.
        fn retry(what: &str, mut call: impl FnMut() -> c_int) -> Res<c_int> {
            loop {
                let rc = call();
                if rc >= 0 {
                    return Ok(rc);
                }
                let e = ZmqError::last();
                if !e.is_interrupted() {
                    return Err(format!("{what}: {e}"));
                }
            }
        }

        impl Zmq {
            fn new(kind: i32, timeout_option: i32) -> Res<Zmq> {
                let ctx = ffi::zmq_ctx_new();
                if ctx.is_null() {
                    return Err(last("zmq_ctx_new"));
                }
                // SAFETY: `ctx` is a live context.
                let sock = unsafe { ffi::zmq_socket(ctx, kind) };
                let z = Zmq { ctx, sock };
                if sock.is_null() {
                    return Err(last("zmq_socket"));
                }
                let ms: c_int = CHILD_TIMEOUT.as_millis() as c_int;
                // SAFETY: live socket; the value points to one c_int whose
                // size is passed.
                let rc = unsafe {
                    ffi::zmq_setsockopt(
                        sock,
                        timeout_option,
                        (&raw const ms).cast(),
                        size_of::<c_int>(),
                    )
                };
                if rc != 0 {
                    return Err(last("zmq_setsockopt"));
                }
                Ok(z)
            }

            fn endpoint_call(
                &self,
                what: &str,
                endpoint: &str,
                f: unsafe extern "C" fn(*mut c_void, *const std::ffi::c_char) -> c_int,
            ) -> Res<()> {
                let c = CString::new(endpoint).map_err(|_| format!("bad endpoint {endpoint:?}"))?;
                // SAFETY: live socket; `c` is NUL-terminated and outlives
                // the call.
                if unsafe { f(self.sock, c.as_ptr()) } != 0 {
                    return Err(last(what));
                }
                Ok(())
            }

            fn last_endpoint(&self) -> Res<String> {
                let mut buf = [0u8; 256];
                let mut len = buf.len();
                // SAFETY: live socket; `buf` is writable for `len` bytes and
                // libzmq writes the actual length back.
                let rc = unsafe {
                    ffi::zmq_getsockopt(
                        self.sock,
                        ZMQ_LAST_ENDPOINT,
                        buf.as_mut_ptr().cast(),
                        &mut len,
                    )
                };
                if rc != 0 {
                    return Err(last("ZMQ_LAST_ENDPOINT"));
                }
                let s = &buf[..len.min(buf.len())];
                let s = s.split(|&b| b == 0).next().unwrap_or_default();
                String::from_utf8(s.to_vec()).map_err(|_| "endpoint not UTF-8".to_string())
            }
        }

        impl Drop for Zmq {
            fn drop(&mut self) {
                // SAFETY: `sock` (if any) and `ctx` are live and closed
                // only here, socket first; zmq_ctx_term is retried on
                // EINTR as zmq_ctx_term(3) requires.
                unsafe {
                    if !self.sock.is_null() {
                        ffi::zmq_close(self.sock);
                    }
                    while ffi::zmq_ctx_term(self.ctx) != 0 && ZmqError::last().is_interrupted() {}
                }
            }
        }

        pub fn recv(bind: &str, size: usize, count: u64) -> Res<Duration> {
            let z = Zmq::new(SocketKind::Pull.raw(), ZMQ_RCVTIMEO)?;
            z.endpoint_call("zmq_bind", bind, ffi::zmq_bind)?;
            announce(&z.last_endpoint()?);

            // One message reused for every receive, as in local_thr.
            let mut msg = ffi::zmq_msg_t::zeroed();
            // SAFETY: `msg` is valid, writable storage for a zmq_msg_t; it
            // is not moved until it is closed below.
            retry("zmq_msg_init", || unsafe { ffi::zmq_msg_init(&mut msg) })?;
            let mut recv_one = |what: &str| -> Res<()> {
                // SAFETY: live socket; `msg` is initialised, and
                // zmq_msg_recv releases its previous content first.
                retry(what, || unsafe { ffi::zmq_msg_recv(&mut msg, z.sock, 0) })?;
                // SAFETY: `msg` holds the message just received.
                let got = unsafe { ffi::zmq_msg_size(&msg) };
                if got != size {
                    return Err(format!("message of {got} bytes, expected {size}"));
                }
                Ok(())
            };
            let result = recv_one("first zmq_msg_recv").and_then(|()| {
                let start = Instant::now();
                for _ in 1..count {
                    recv_one("zmq_msg_recv")?;
                }
                Ok(start.elapsed())
            });
            // SAFETY: `msg` is initialised and closed once.
            unsafe { ffi::zmq_msg_close(&mut msg) };
            result
        }

        pub fn send(endpoint: &str, size: usize, count: u64) -> Res<()> {
            let z = Zmq::new(SocketKind::Push.raw(), ZMQ_SNDTIMEO)?;
            z.endpoint_call("zmq_connect", endpoint, ffi::zmq_connect)?;
            let payload = vec![0x5a_u8; size];
            let mut msg = ffi::zmq_msg_t::zeroed();
            for _ in 0..count {
                // As remote_thr: a fresh message per send (libzmq allocates
                // it, beyond 33 bytes), plus a copy of the payload into it,
                // which remote_thr skips but real applications do.
                // SAFETY: `msg` is valid, writable storage for a zmq_msg_t.
                retry("zmq_msg_init_size", || unsafe {
                    ffi::zmq_msg_init_size(&mut msg, size)
                })?;
                // SAFETY: the message was just initialised with room for
                // exactly `size` bytes at zmq_msg_data; the buffers are
                // distinct.
                unsafe {
                    let dst = ffi::zmq_msg_data(&mut msg).cast::<u8>();
                    std::ptr::copy_nonoverlapping(payload.as_ptr(), dst, size);
                }
                // SAFETY: live socket and initialised message; on success
                // libzmq takes the content and leaves `msg` empty.
                let sent = retry("zmq_msg_send", || unsafe {
                    ffi::zmq_msg_send(&mut msg, z.sock, 0)
                });
                // SAFETY: `msg` is initialised (empty after a successful
                // send); closing it is what remote_thr does too.
                unsafe { ffi::zmq_msg_close(&mut msg) };
                sent?;
            }
            // Dropping `z` closes the socket and waits in zmq_ctx_term
            // until everything queued has been sent (infinite linger).
            drop(z);
            Ok(())
        }
    }
}
