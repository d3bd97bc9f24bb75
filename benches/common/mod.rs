//! The harness shared by the benchmarks in this directory, each of which
//! includes it with `#[path = "common/mod.rs"] mod common;` (cargo does not
//! build `benches/common/mod.rs` as a benchmark of its own).
//!
//! A benchmark binary is both the orchestrating parent and, re-executed
//! as `<bench> child <impl> <role> <endpoint> <size> <count>`, the measured
//! processes. Per measurement the parent starts a *binder* child, which
//! binds `tcp://127.0.0.1:*` and prints `endpoint <resolved>` on stdout,
//! then a *connector* child given that endpoint; one of the two prints a
//! result line. Every wait has a deadline and a child that is dropped
//! before it exited successfully is killed, so nothing hangs. Over
//! inproc, which needs both sockets in one context, one child does both
//! ([`Solo`]).
//!
//! Here: the environment settings (`BENCH_SCALE`, `BENCH_RUNS`,
//! `BENCH_TIMEOUT`), the pair and solo runners, interleaved runs, the throughput
//! measure both benchmarks make ([`Throughput`]), medians with min-max
//! ranges, tables, the machine line, and a minimal libzmq socket through
//! the raw C API ([`zmq`], in zmq.rs).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a child's blocking send or receive may wait before the run is
/// declared broken.
pub const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

/// Stdout line prefix with which a binder announces its endpoint.
pub const ENDPOINT_LINE: &str = "endpoint ";

/// Stdout line prefix of a throughput receiver's result, `elapsed_ns <ns>`.
pub const ELAPSED_LINE: &str = "elapsed_ns ";

/// The endpoint every binder binds.
/// Where binders bind over TCP (the port is chosen by the system).
pub const TCP_BIND: &str = "tcp://127.0.0.1:*";

/// The transport a measure runs over.
#[allow(dead_code, reason = "not every benchmark uses it")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TCP on loopback.
    Tcp,
    /// A Unix domain socket file in the temporary directory.
    Ipc,
    /// `inproc://`: both sockets in one context, so in one process; the
    /// binder's child runs the connector as a thread of its own (see
    /// [`Throughput`]).
    Inproc,
}

#[allow(dead_code, reason = "not every benchmark uses it")]
impl Transport {
    /// A fresh endpoint for a binder to bind.
    pub fn bind_endpoint(self) -> String {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        match self {
            Transport::Tcp => TCP_BIND.to_string(),
            Transport::Ipc => format!(
                "ipc://{}/brokerless-bench-{}-{}.sock",
                std::env::temp_dir().display(),
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ),
            Transport::Inproc => format!("inproc://bench-{}", N.fetch_add(1, Ordering::Relaxed)),
        }
    }
}

pub type Res<T> = Result<T, String>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    Brokerless,
    Libzmq,
}

impl Impl {
    pub const ALL: [Impl; 2] = [Impl::Brokerless, Impl::Libzmq];

    pub fn name(self) -> &'static str {
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

/// The benchmark's `main`: runs `child` for `child ...` arguments and
/// `parent` otherwise (cargo passes `--bench`), and exits with status 1
/// and a message prefixed by `bench` on failure.
pub fn main(bench: &str, child: fn(&[String]) -> Res<()>, parent: fn() -> Res<()>) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((first, rest)) if first == "child" => child(rest),
        _ => parent(),
    };
    if let Err(e) = result {
        eprintln!("{bench}: {e}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------
// Parent side
// ---------------------------------------------------------------------------

/// What the environment asks for.
pub struct Settings {
    /// `BENCH_SCALE`: multiplies every message count (default 1).
    pub scale: f64,
    /// `BENCH_RUNS`: runs per cell (default 5).
    pub runs: usize,
    /// `BENCH_TIMEOUT`: seconds one measurement may take (default 120).
    pub timeout: Duration,
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

impl Settings {
    pub fn from_env() -> Res<Settings> {
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

    /// `base` scaled by `BENCH_SCALE`, at least `min`.
    pub fn count(&self, base: u64, min: u64) -> u64 {
        ((base as f64 * self.scale).round() as u64).max(min)
    }
}

/// The parent's start: reads the settings, finds this binary (see
/// [`own_exe`]) and prints the machine line, then `<setup>, HWM 1000;
/// brokerless <version> vs libzmq <version>` and `median of <runs>
/// interleaved runs per cell, [min-max] in brackets<note>`.
pub fn start(setup: &str, note: &str) -> Res<(Settings, std::path::PathBuf)> {
    let settings = Settings::from_env()?;
    let exe = own_exe()?;
    let (major, minor, patch) = libzmq_peer::version();

    print_machine_line();
    println!(
        "{setup}, HWM 1000; brokerless {} vs libzmq {major}.{minor}.{patch}",
        env!("CARGO_PKG_VERSION"),
    );
    println!(
        "median of {} interleaved runs per cell, [min-max] in brackets{note}",
        settings.runs
    );
    Ok((settings, exe))
}

/// This binary, to be re-executed as the children.
pub fn own_exe() -> Res<std::path::PathBuf> {
    std::env::current_exe().map_err(|e| format!("cannot find own binary: {e}"))
}

/// Runs `one(imp, run)` for each of `runs` runs and both implementations,
/// interleaved, alternating which implementation goes first (this machine
/// is noisy); returns the samples indexed by `Impl as usize`.
pub fn interleaved<T>(runs: usize, mut one: impl FnMut(Impl, usize) -> Res<T>) -> Res<[Vec<T>; 2]> {
    let mut samples = [Vec::new(), Vec::new()];
    for run in 0..runs {
        let mut order = Impl::ALL;
        if run % 2 == 1 {
            order.reverse();
        }
        for imp in order {
            samples[imp as usize].push(one(imp, run)?);
        }
    }
    Ok(samples)
}

/// Which process of a [`Pair`] prints the result line.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Reporter {
    Binder,
    #[allow(dead_code, reason = "not every benchmark uses it")]
    Connector,
}

/// One measurement: `child <imp> <role> <endpoint> <args...>` twice.
pub struct Pair<'a> {
    pub imp: Impl,
    /// The binding process: its name in messages and its role argument.
    pub binder: (&'static str, &'a str),
    /// The connecting process: its name in messages and its role argument.
    pub connector: (&'static str, &'a str),
    /// Arguments after the endpoint, the same for both.
    pub args: &'a [String],
    pub reporter: Reporter,
    /// Prefix of the reporter's result line.
    pub result_line: &'a str,
    /// The endpoint the binder binds.
    pub bind: &'a str,
}

impl Pair<'_> {
    /// Runs the binder, then the connector on the binder's endpoint, and
    /// returns the rest of the reporter's result line once both exited
    /// successfully, all within `timeout`.
    pub fn run(&self, exe: &Path, timeout: Duration) -> Res<String> {
        let deadline = Instant::now() + timeout;
        let command = |role: &str, endpoint: &str, stdout: Stdio| {
            let mut cmd = Command::new(exe);
            cmd.args(["child", self.imp.name(), role, endpoint])
                .args(self.args)
                .stdout(stdout);
            cmd
        };
        let mut binder = Kid::spawn(
            self.binder.0,
            &mut command(self.binder.1, self.bind, Stdio::piped()),
        )?;
        let binder_lines = binder.stdout_lines()?;
        let endpoint = binder.wait_line(&binder_lines, ENDPOINT_LINE, deadline, None)?;
        let connector_stdout = match self.reporter {
            Reporter::Binder => Stdio::null(),
            Reporter::Connector => Stdio::piped(),
        };
        let mut connector = Kid::spawn(
            self.connector.0,
            &mut command(self.connector.1, &endpoint, connector_stdout),
        )?;
        let (reporter, other, lines) = match self.reporter {
            Reporter::Binder => (&mut binder, &mut connector, binder_lines),
            Reporter::Connector => {
                let lines = connector.stdout_lines()?;
                (&mut connector, &mut binder, lines)
            }
        };
        let result = reporter.wait_line(&lines, self.result_line, deadline, Some(other))?;
        other.wait_success(deadline)?;
        reporter.wait_success(deadline)?;
        Ok(result)
    }
}

/// One child that binds and connects both ends itself (over inproc):
/// `child <imp> <role> <endpoint> <args...>`. Like [`Pair::run`], it
/// returns the rest of the child's `result_line` once the child exited
/// successfully, all within `timeout`, and kills it otherwise.
#[allow(dead_code, reason = "not every benchmark uses it")]
pub struct Solo<'a> {
    pub imp: Impl,
    /// The process: its name in messages and its role argument.
    pub process: (&'static str, &'a str),
    /// Arguments after the endpoint.
    pub args: &'a [String],
    /// Prefix of the result line.
    pub result_line: &'a str,
    /// The endpoint the child binds and connects to.
    pub endpoint: &'a str,
}

#[allow(dead_code, reason = "not every benchmark uses it")]
impl Solo<'_> {
    pub fn run(&self, exe: &Path, timeout: Duration) -> Res<String> {
        let deadline = Instant::now() + timeout;
        let mut kid = Kid::spawn(
            self.process.0,
            Command::new(exe)
                .args(["child", self.imp.name(), self.process.1, self.endpoint])
                .args(self.args)
                .stdout(Stdio::piped()),
        )?;
        let lines = kid.stdout_lines()?;
        let result = kid.wait_line(&lines, self.result_line, deadline, None)?;
        kid.wait_success(deadline)?;
        Ok(result)
    }
}

/// A throughput measure: the binder receives `count` messages of `size`
/// bytes from the connector (child arguments `<size> <count>`) and prints
/// its timed window, from the first message received to the last, with
/// [`report_elapsed`].
///
/// Over [`Transport::Inproc`] there is one child, with the role argument
/// `<binder role>+<connector role>` (`recv+send`): it binds in its main
/// thread, runs the connector's part in a second thread on the same
/// context, and reports as the binder does.
#[allow(dead_code, reason = "not every benchmark uses it")]
pub struct Throughput {
    /// The receiving process: its name in messages and its role argument.
    pub binder: (&'static str, &'static str),
    /// The sending process: its name in messages and its role argument.
    pub connector: (&'static str, &'static str),
    /// Put before the message size in each run's line on stderr.
    pub label: &'static str,
    /// The transport measured.
    pub transport: Transport,
}

#[allow(dead_code, reason = "not every benchmark uses it")]
impl Throughput {
    /// Measures each `(size, base count)` case (counts scaled by
    /// `BENCH_SCALE`, at least 2), both implementations interleaved, and
    /// logs every run on stderr; returns the msgs/s samples per size, as
    /// [`print_throughput_table`] takes them. Rates count the `count - 1`
    /// messages inside the timed window.
    pub fn rows(
        &self,
        settings: &Settings,
        exe: &Path,
        cases: &[(usize, u64)],
    ) -> Res<Vec<(usize, [Vec<f64>; 2])>> {
        let mut rows = Vec::new();
        for &(size, base_count) in cases {
            let count = settings.count(base_count, 2);
            let rates = interleaved(settings.runs, |imp, run| {
                let elapsed = self
                    .measure(exe, imp, size, count, settings.timeout)
                    .map_err(|e| {
                        format!("{} {}, run {}: {e}", imp.name(), size_label(size), run + 1)
                    })?;
                let rate = (count - 1) as f64 / elapsed.as_secs_f64().max(1e-9);
                eprintln!(
                    "  {}{:>6} run {}/{} {:<10} {:>12.0} msgs/s ({count} msgs in {:.3} s)",
                    self.label,
                    size_label(size),
                    run + 1,
                    settings.runs,
                    imp.name(),
                    rate,
                    elapsed.as_secs_f64(),
                );
                Ok(rate)
            })?;
            rows.push((size, rates));
        }
        Ok(rows)
    }

    /// One binder/connector pair; returns the binder's timed window.
    fn measure(
        &self,
        exe: &Path,
        imp: Impl,
        size: usize,
        count: u64,
        timeout: Duration,
    ) -> Res<Duration> {
        let args = &[size.to_string(), count.to_string()];
        let endpoint = &self.transport.bind_endpoint();
        let elapsed = if self.transport == Transport::Inproc {
            Solo {
                imp,
                process: (
                    "process",
                    &format!("{}+{}", self.binder.1, self.connector.1),
                ),
                args,
                result_line: ELAPSED_LINE,
                endpoint,
            }
            .run(exe, timeout)?
        } else {
            Pair {
                imp,
                binder: self.binder,
                connector: self.connector,
                args,
                reporter: Reporter::Binder,
                result_line: ELAPSED_LINE,
                bind: endpoint,
            }
            .run(exe, timeout)?
        };
        let ns: u64 = elapsed
            .parse()
            .map_err(|_| format!("{} printed a bad elapsed time {elapsed:?}", self.binder.0))?;
        Ok(Duration::from_nanos(ns))
    }
}

/// A child process that is killed if it is dropped before it exited
/// successfully, so that every error path cleans up.
pub struct Kid {
    role: &'static str,
    child: Child,
    reaped: bool,
}

#[allow(dead_code, reason = "not every benchmark uses every method")]
impl Kid {
    pub fn spawn(role: &'static str, cmd: &mut Command) -> Res<Kid> {
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

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Forwards the child's stdout lines to a channel from a thread, so
    /// that the parent can wait for them with a deadline.
    pub fn stdout_lines(&mut self) -> Res<mpsc::Receiver<String>> {
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
    pub fn check(&mut self, must_live: bool) -> Res<()> {
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
    pub fn wait_line(
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
    pub fn wait_success(&mut self, deadline: Instant) -> Res<()> {
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

// ---------------------------------------------------------------------------
// Statistics and tables
// ---------------------------------------------------------------------------

pub fn median_min_max(v: &[f64]) -> (f64, f64, f64) {
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

/// `x` to about three significant digits.
fn sig3(x: f64) -> String {
    let decimals = if x >= 100.0 {
        0
    } else if x >= 10.0 {
        1
    } else {
        2
    };
    format!("{x:.decimals$}")
}

/// `12.3 [11.9-14.0]`: the median and the range of `v / div`, to about
/// three significant digits, with `unit` after the median.
pub fn range_cell(v: &[f64], div: f64, unit: &str) -> String {
    let (med, min, max) = median_min_max(v);
    format!(
        "{}{unit} [{}-{}]",
        sig3(med / div),
        sig3(min / div),
        sig3(max / div)
    )
}

/// `1.23M [1.10-1.31]`: a rate's median and range, in one unit.
pub fn rate_cell(v: &[f64]) -> String {
    let med = median_min_max(v).0;
    let (div, unit) = if med >= 1e6 {
        (1e6, "M")
    } else if med >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    range_cell(v, div, unit)
}

/// The ratio of the brokerless median to the libzmq median, `1.23x`.
pub fn ratio_cell(samples: &[Vec<f64>; 2]) -> String {
    let b = median_min_max(&samples[Impl::Brokerless as usize]).0;
    let z = median_min_max(&samples[Impl::Libzmq as usize]).0;
    format!("{:.2}x", b / z)
}

/// Prints a table of messages/s and MB/s per message size (`rates` are
/// msgs/s samples indexed by `Impl as usize`), the last column headed
/// `ratio_header`.
#[allow(dead_code, reason = "not every benchmark uses it")]
pub fn print_throughput_table(rows: &[(usize, [Vec<f64>; 2])], ratio_header: &str) {
    let header = [
        "size",
        "brokerless msgs/s",
        "brokerless MB/s",
        "libzmq msgs/s",
        "libzmq MB/s",
        ratio_header,
    ];
    let rows: Vec<[String; 6]> = rows
        .iter()
        .map(|(size, rates)| {
            let mb = |v: &[f64]| format!("{:.1}", median_min_max(v).0 * *size as f64 / 1e6);
            let (b, z) = (
                &rates[Impl::Brokerless as usize],
                &rates[Impl::Libzmq as usize],
            );
            [
                size_label(*size),
                rate_cell(b),
                mb(b),
                rate_cell(z),
                mb(z),
                ratio_cell(rates),
            ]
        })
        .collect();
    print_table(header, &rows);
}

/// A Markdown table, every column right-aligned (widths in characters).
pub fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let mut width = header.map(|h| h.chars().count());
    for r in rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
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

pub fn size_label(size: usize) -> String {
    if size >= 1024 && size % 1024 == 0 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// Prints `machine: nproc <n>, kernel <release>, <CPU model>`.
pub fn print_machine_line() {
    println!(
        "machine: nproc {}, kernel {}{}",
        nproc(),
        uname_r(),
        cpu_model()
    );
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

// ---------------------------------------------------------------------------
// Child side
// ---------------------------------------------------------------------------

/// A child's parsed `<impl> <role> <endpoint> <size> <count>` arguments.
pub struct ChildArgs<'a> {
    pub imp: Impl,
    pub role: &'a str,
    pub endpoint: &'a str,
    pub size: usize,
    pub count: u64,
}

impl ChildArgs<'_> {
    /// Parses the arguments after `child`; `roles` (`recv|send`) is for
    /// the usage message.
    pub fn parse<'a>(args: &'a [String], roles: &str) -> Res<ChildArgs<'a>> {
        let [imp, role, endpoint, size, count] = args else {
            return Err(format!(
                "usage: child <brokerless|libzmq> <{roles}> <endpoint> <size> <count>, got {args:?}"
            ));
        };
        Ok(ChildArgs {
            imp: Impl::parse(imp)?,
            role,
            endpoint,
            size: size.parse().map_err(|_| format!("bad size {size:?}"))?,
            count: count.parse().map_err(|_| format!("bad count {count:?}"))?,
        })
    }
}

/// Tells the parent where to connect (stdout is line-buffered, so the
/// line goes out at once even into a pipe).
pub fn announce(endpoint: &str) {
    println!("{ENDPOINT_LINE}{endpoint}");
}

/// Prints a throughput receiver's timed window as its result line.
#[allow(dead_code, reason = "not every benchmark uses it")]
pub fn report_elapsed(elapsed: Duration) -> Res<()> {
    println!("{ELAPSED_LINE}{}", elapsed.as_nanos());
    Ok(())
}

/// A brokerless context with one I/O thread (the default), or an error.
pub fn brokerless_context() -> Res<brokerless::Context> {
    brokerless::Context::builder()
        .build()
        .map_err(|e| format!("context: {e}"))
}

/// Receives `count` messages of `size` bytes and returns the time from
/// the first to the last.
#[allow(dead_code, reason = "not every benchmark uses it")]
pub fn brokerless_recv_loop(pull: &brokerless::Socket, size: usize, count: u64) -> Res<Duration> {
    let err = |what: &str, e: brokerless::Error| format!("{what}: {e}");
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

/// Sends `count` messages of `size` bytes.
#[allow(dead_code, reason = "not every benchmark uses it")]
pub fn brokerless_send_loop(push: &brokerless::Socket, size: usize, count: u64) -> Res<()> {
    use brokerless::Message;
    // Built once and shared: each message is a reference-counted view of
    // the same buffer, no copy and no allocation of payload per message.
    // This is the idiomatic way to send one payload repeatedly with
    // `bytes::Bytes`.
    let payload = bytes::Bytes::from(vec![0x5a_u8; size]);
    for _ in 0..count {
        push.send(Message::from(payload.clone()))
            .map_err(|e| format!("send: {e}"))?;
    }
    Ok(())
}

pub mod zmq;
