//! Resource use: CPU time per message of PUSH/PULL over TCP loopback, and
//! resident memory of a PULL holding 1,000 idle connections; brokerless
//! against libzmq 4.3.5, measured in the same run with the same harness as
//! `benches/throughput.rs`.
//!
//! ```text
//! cargo bench --bench resources
//! BENCH_SCALE=0.2 BENCH_RUNS=3 cargo bench --bench resources   # quick look
//! ```
//!
//! What is measured (every socket in its own process; this binary
//! re-executes itself with `child ...` arguments; default options on both
//! sides: HWM 1000, one I/O thread, infinite linger):
//!
//! 1. **CPU seconds per million messages**, PUSH -> PULL over
//!    `tcp://127.0.0.1`, single-frame messages of 64 B, 1 KiB and 64 KiB.
//!    The receiver binds a PULL, prints its endpoint and receives `count`
//!    messages; the sender connects a PUSH and sends `count` messages,
//!    then closes its socket and context, which waits until everything
//!    is flushed (infinite linger). Each process reads its own CPU time
//!    with `getrusage(RUSAGE_SELF)` (user + system, every thread of the
//!    process, I/O threads included, live or already joined; Linux
//!    computes it from the scheduler's nanosecond runtime, reported in
//!    microseconds) once its socket is bound or connected and again after
//!    the socket and the context are closed (I/O threads joined), and
//!    prints the difference. So process start, library loading and socket
//!    creation are outside the window; the connection handshake, all the
//!    messages, the flush and the teardown are inside it. The cell is the
//!    sum of the two processes' CPU seconds divided by `count` / 10^6;
//!    the `send` and `recv` columns split the brokerless and libzmq
//!    figures by process (medians of each, so they need not add up
//!    exactly). Both senders allocate and fill a fresh message per send:
//!    brokerless `Message::from(&payload[..])` (a copy into a new
//!    `Bytes`), libzmq `zmq_msg_init_size` plus a copy, as in
//!    `throughput` (unlike `throughput`, whose brokerless sender shares one
//!    `Bytes` and copies nothing, so that here both do the same
//!    application-side work). The receivers drop each `Message`
//!    (brokerless) or reuse one `zmq_msg_t` (libzmq). Lower is better; the
//!    ratio is brokerless/libzmq.
//! 2. **Resident memory of one PULL with 1,000 idle connections.** A
//!    process binds one PULL on `tcp://127.0.0.1:*` (brokerless or
//!    libzmq, default options) and then waits in a blocking receive, as a
//!    server waiting for work does (so both libraries take in their new
//!    peers as they arrive, which each does only when the socket's own
//!    thread is inside a socket call). The parent samples
//!    its `VmRSS` (`/proc/<pid>/status`) every 100 ms until it is stable
//!    (at least 0.5 s, and the last 5 samples within 16 KiB of each
//!    other): that is *RSS after bind*. Then a separate client process,
//!    the same one for both libraries, opens 1,000 TCP connections with
//!    `std::net`, one after the other, and on each writes a ZMTP 3.1 NULL
//!    greeting and a READY command with `Socket-Type` PUSH, then reads
//!    the server's 64-byte greeting and its READY (checked to be a READY
//!    with `Socket-Type` PULL). Once all 1,000 are done it prints so and
//!    keeps the connections open and silent. The parent checks that the
//!    PULL process now has at least 1,000 more open file descriptors,
//!    samples its `VmRSS` again until stable as above (so at least 0.5 s
//!    idle): *RSS with 1,000 connections*. *Per connection* is the
//!    difference divided by 1,000, in KiB (1024 B). Kernel socket buffers
//!    are not part of RSS. Lower is better; the ratio is
//!    brokerless/libzmq.
//!
//! Each cell is the median of `BENCH_RUNS` runs (default 5) with the
//! min-max range in brackets; runs of the two implementations are
//! interleaved and alternate which goes first, because this machine is
//! noisy (and the CPU figures include the cost of contention: on 2 cores,
//! four busy threads share them).
//!
//! Environment: `BENCH_SCALE` (multiplies the message counts, not the
//! number of connections; default 1), `BENCH_RUNS` (runs per cell,
//! default 5), `BENCH_TIMEOUT` (seconds a single measurement may take
//! before its processes are killed, default 120). Arguments other than
//! `child ...` (cargo passes `--bench`) are ignored. Linux only (`/proc`).
//!
//! A child can be run by hand, e.g. under a profiler:
//! `resources-<hash> child brokerless recv tcp://127.0.0.1:* 64 1000000`
//! prints `endpoint tcp://127.0.0.1:<port>`; then
//! `resources-<hash> child brokerless send tcp://127.0.0.1:<port> 64 1000000`.
//! Each prints `cpu_us <user> <system>` at the end. For memory,
//! `resources-<hash> child libzmq idle tcp://127.0.0.1:* 0 0` and
//! `resources-<hash> child libzmq client tcp://127.0.0.1:<port> 0 1000`
//! (the client's implementation argument is ignored).

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{CHILD_TIMEOUT, ChildArgs, Impl, Res};

/// Message sizes of the CPU measure and their default counts, chosen so
/// that one measurement takes roughly 1 to 3 s on a 2-core machine.
const CPU_CASES: [(usize, u64); 3] = [(64, 5_000_000), (1024, 1_000_000), (65536, 25_000)];

/// Idle connections of the memory measure.
const CONNECTIONS: u64 = 1_000;

/// Stdout line prefix of a CPU measure's result, `cpu_us <user> <system>`.
const CPU_LINE: &str = "cpu_us ";

/// Stdout line prefix with which the client says that all its
/// connections are established, `connected <n>`.
const CONNECTED_LINE: &str = "connected ";

fn main() {
    common::main("resources", child::run, parent::run);
}

/// The orchestrating process.
mod parent {
    use std::path::Path;
    use std::process::{Command, Stdio};

    use super::*;
    use common::{ENDPOINT_LINE, Kid, Settings, TCP_BIND, interleaved, median_min_max};

    pub fn run() -> Res<()> {
        let (settings, exe) = common::start(
            "PUSH/PULL over tcp://127.0.0.1, every socket in its own process; CPU = user + \
             system seconds of both processes (getrusage, all threads)",
            "",
        )?;
        let cpu = cpu_rows(&settings, &exe)?;
        let mem = memory(&settings, &exe)?;

        println!();
        println!("CPU seconds per million messages, sender + receiver (lower is better)");
        print_cpu_table(&cpu);
        println!();
        println!(
            "resident memory (VmRSS) of one PULL with {CONNECTIONS} idle ZMTP connections \
             (lower is better)"
        );
        print_memory_table(&mem);
        Ok(())
    }

    /// One CPU run: seconds of CPU of the sender and of the receiver.
    #[derive(Clone, Copy)]
    struct Cpu {
        send: f64,
        recv: f64,
    }

    /// A CPU table row: message size, count, samples per implementation.
    type CpuRow = (usize, u64, [Vec<Cpu>; 2]);

    fn cpu_rows(settings: &Settings, exe: &Path) -> Res<Vec<CpuRow>> {
        let mut rows = Vec::new();
        for (size, base) in CPU_CASES {
            let count = settings.count(base, 2);
            let samples = interleaved(settings.runs, |imp, run| {
                let started = Instant::now();
                let cpu = cpu_run(exe, imp, size, count, settings.timeout).map_err(|e| {
                    format!(
                        "{} {}, run {}: {e}",
                        imp.name(),
                        common::size_label(size),
                        run + 1
                    )
                })?;
                eprintln!(
                    "  cpu {:>6} run {}/{} {:<10} {:.3} s/M msgs (send {:.3} + recv {:.3} s \
                     for {count} msgs, {:.2} s wall)",
                    common::size_label(size),
                    run + 1,
                    settings.runs,
                    imp.name(),
                    (cpu.send + cpu.recv) * 1e6 / count as f64,
                    cpu.send,
                    cpu.recv,
                    started.elapsed().as_secs_f64(),
                );
                Ok(cpu)
            })?;
            rows.push((size, count, samples));
        }
        Ok(rows)
    }

    /// A receiver and a sender child; returns the CPU seconds each
    /// reported.
    fn cpu_run(exe: &Path, imp: Impl, size: usize, count: u64, timeout: Duration) -> Res<Cpu> {
        let deadline = Instant::now() + timeout;
        let args = [size.to_string(), count.to_string()];
        let spawn = |who: &'static str, role: &str, endpoint: &str| {
            Kid::spawn(
                who,
                Command::new(exe)
                    .args(["child", imp.name(), role, endpoint])
                    .args(&args)
                    .stdout(Stdio::piped()),
            )
        };
        let mut receiver = spawn("receiver", "recv", TCP_BIND)?;
        let receiver_lines = receiver.stdout_lines()?;
        let endpoint = receiver.wait_line(&receiver_lines, ENDPOINT_LINE, deadline, None)?;
        let mut sender = spawn("sender", "send", &endpoint)?;
        let sender_lines = sender.stdout_lines()?;
        let send = sender.wait_line(&sender_lines, CPU_LINE, deadline, Some(&mut receiver))?;
        let recv = receiver.wait_line(&receiver_lines, CPU_LINE, deadline, Some(&mut sender))?;
        sender.wait_success(deadline)?;
        receiver.wait_success(deadline)?;
        Ok(Cpu {
            send: parse_cpu("sender", &send)?,
            recv: parse_cpu("receiver", &recv)?,
        })
    }

    /// `<user µs> <system µs>` as seconds of CPU.
    fn parse_cpu(who: &str, line: &str) -> Res<f64> {
        let us: Vec<u64> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| format!("the {who} printed a bad CPU time {line:?}"))?;
        match us[..] {
            [user, system] => Ok((user + system) as f64 / 1e6),
            _ => Err(format!("the {who} printed a bad CPU time {line:?}")),
        }
    }

    fn print_cpu_table(rows: &[CpuRow]) {
        let header = [
            "size",
            "brokerless CPU s/M msgs",
            "send / recv",
            "libzmq CPU s/M msgs",
            "send / recv",
            "ratio (brokerless/libzmq)",
        ];
        let cells: Vec<[String; 6]> = rows
            .iter()
            .map(|(size, count, samples)| {
                let per_m = 1e6 / *count as f64;
                let total = |v: &[Cpu]| -> Vec<f64> {
                    v.iter().map(|c| (c.send + c.recv) * per_m).collect()
                };
                let split = |v: &[Cpu]| {
                    let send: Vec<f64> = v.iter().map(|c| c.send * per_m).collect();
                    let recv: Vec<f64> = v.iter().map(|c| c.recv * per_m).collect();
                    format!(
                        "{:.3} / {:.3}",
                        median_min_max(&send).0,
                        median_min_max(&recv).0
                    )
                };
                let (b, z) = (
                    &samples[Impl::Brokerless as usize],
                    &samples[Impl::Libzmq as usize],
                );
                let totals = [total(b), total(z)];
                [
                    common::size_label(*size),
                    cpu_cell(&totals[0]),
                    split(b),
                    cpu_cell(&totals[1]),
                    split(z),
                    common::ratio_cell(&totals),
                ]
            })
            .collect();
        common::print_table(header, &cells);
    }

    /// `0.123 [0.111-0.140]`: CPU seconds to three decimals.
    fn cpu_cell(v: &[f64]) -> String {
        let (med, min, max) = median_min_max(v);
        format!("{med:.3} [{min:.3}-{max:.3}]")
    }

    /// One memory run: the PULL's VmRSS in KiB before and after the
    /// connections.
    #[derive(Clone, Copy)]
    struct Mem {
        before: f64,
        after: f64,
    }

    impl Mem {
        fn per_connection(self) -> f64 {
            (self.after - self.before) / CONNECTIONS as f64
        }
    }

    fn memory(settings: &Settings, exe: &Path) -> Res<[Vec<Mem>; 2]> {
        check_fd_limit(CONNECTIONS + 64)?;
        interleaved(settings.runs, |imp, run| {
            let mem = memory_run(exe, imp, settings.timeout)
                .map_err(|e| format!("{} memory, run {}: {e}", imp.name(), run + 1))?;
            eprintln!(
                "  mem run {}/{} {:<10} VmRSS {:.0} KiB after bind, {:.0} KiB with {CONNECTIONS} \
                 connections, {:.2} KiB per connection",
                run + 1,
                settings.runs,
                imp.name(),
                mem.before,
                mem.after,
                mem.per_connection(),
            );
            Ok(mem)
        })
    }

    fn memory_run(exe: &Path, imp: Impl, timeout: Duration) -> Res<Mem> {
        let deadline = Instant::now() + timeout;
        let mut server = Kid::spawn(
            "PULL process",
            Command::new(exe)
                .args(["child", imp.name(), "idle", TCP_BIND, "0", "0"])
                .stdout(Stdio::piped()),
        )?;
        let server_lines = server.stdout_lines()?;
        let endpoint = server.wait_line(&server_lines, ENDPOINT_LINE, deadline, None)?;
        let pid = server.id();
        let before = settled_rss(pid, deadline)?;
        let fds_before = open_fds(pid)?;

        let mut client = Kid::spawn(
            "client",
            Command::new(exe)
                .args(["child", imp.name(), "client", &endpoint, "0"])
                .arg(CONNECTIONS.to_string())
                .stdout(Stdio::piped()),
        )?;
        let client_lines = client.stdout_lines()?;
        client.wait_line(&client_lines, CONNECTED_LINE, deadline, Some(&mut server))?;
        let after = settled_rss(pid, deadline)?;
        let fds_after = open_fds(pid)?;
        server.check(true)?;
        client.check(true)?;
        if fds_after < fds_before + CONNECTIONS as usize {
            return Err(format!(
                "the PULL process has {fds_after} open files with {CONNECTIONS} connections, \
                 {fds_before} before"
            ));
        }
        // Dropping the children kills them.
        Ok(Mem { before, after })
    }

    /// The process's VmRSS in KiB once it is stable: sampled every 100 ms
    /// for at least 0.5 s, until the last 5 samples are within 16 KiB of
    /// each other (or 10 s have passed, with a warning).
    fn settled_rss(pid: u32, deadline: Instant) -> Res<f64> {
        const WINDOW: usize = 5;
        let start = Instant::now();
        let mut samples = Vec::new();
        loop {
            std::thread::sleep(Duration::from_millis(100));
            samples.push(vm_rss_kib(pid)?);
            let last = &samples[samples.len().saturating_sub(WINDOW)..];
            let spread = last.iter().max().unwrap_or(&0) - last.iter().min().unwrap_or(&0);
            let waited = start.elapsed();
            if waited >= Duration::from_millis(500) && last.len() == WINDOW && spread <= 16 {
                break;
            }
            if waited >= Duration::from_secs(10) {
                eprintln!("  warning: VmRSS of {pid} not stable after 10 s: {last:?} KiB");
                break;
            }
            if Instant::now() > deadline {
                return Err("timed out waiting for a stable VmRSS".into());
            }
        }
        Ok(*samples.last().unwrap_or(&0) as f64)
    }

    /// `VmRSS` of `pid` in KiB, from `/proc/<pid>/status`.
    fn vm_rss_kib(pid: u32) -> Res<u64> {
        let path = format!("/proc/{pid}/status");
        let status =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| format!("no VmRSS in {path}"))
    }

    /// How many files `pid` has open.
    fn open_fds(pid: u32) -> Res<usize> {
        let path = format!("/proc/{pid}/fd");
        Ok(std::fs::read_dir(&path)
            .map_err(|e| format!("cannot list {path}: {e}"))?
            .count())
    }

    /// Fails unless this process (whose limits the children inherit) may
    /// open `need` files.
    fn check_fd_limit(need: u64) -> Res<()> {
        let limits = std::fs::read_to_string("/proc/self/limits")
            .map_err(|e| format!("cannot read /proc/self/limits: {e}"))?;
        let soft = limits
            .lines()
            .find_map(|l| l.strip_prefix("Max open files"))
            .and_then(|l| l.split_whitespace().next())
            .ok_or("no \"Max open files\" in /proc/self/limits")?;
        if soft != "unlimited" && soft.parse::<u64>().map_or(true, |n| n < need) {
            return Err(format!(
                "the open file limit is {soft}, the memory measure needs {need} (ulimit -n)"
            ));
        }
        Ok(())
    }

    fn print_memory_table(samples: &[Vec<Mem>; 2]) {
        let header = [
            "VmRSS of the PULL process",
            "brokerless",
            "libzmq",
            "ratio (brokerless/libzmq)",
        ];
        type Row = (&'static str, fn(Mem) -> f64);
        let rows: [Row; 3] = [
            ("after bind", |m| m.before),
            ("with 1000 connections", |m| m.after),
            ("per connection", Mem::per_connection),
        ];
        let cells: Vec<[String; 4]> = rows
            .iter()
            .map(|&(label, f)| {
                let values = samples
                    .each_ref()
                    .map(|v| v.iter().copied().map(f).collect());
                let cell = |v: &Vec<f64>| {
                    let (med, min, max) = median_min_max(v);
                    if label == "per connection" {
                        format!("{med:.1} KiB [{min:.1}-{max:.1}]")
                    } else {
                        format!("{med:.0} KiB [{min:.0}-{max:.0}]")
                    }
                };
                [
                    label.to_string(),
                    cell(&values[Impl::Brokerless as usize]),
                    cell(&values[Impl::Libzmq as usize]),
                    common::ratio_cell(&values),
                ]
            })
            .collect();
        common::print_table(header, &cells);
    }
}

/// The measured processes: `child <impl> recv|send <endpoint> <size>
/// <count>` for the CPU measure; `child <impl> idle <endpoint> 0 0` (the
/// PULL) and `child <impl> client <endpoint> 0 <connections>` (the raw
/// ZMTP client, the same for both implementations) for the memory measure.
mod child {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::*;
    use common::announce;

    pub fn run(args: &[String]) -> Res<()> {
        let ChildArgs {
            imp,
            role,
            endpoint,
            size,
            count,
        } = ChildArgs::parse(args, "recv|send|idle|client")?;
        match (imp, role) {
            (Impl::Brokerless, "recv") => brokerless_recv(endpoint, size, count),
            (Impl::Brokerless, "send") => brokerless_send(endpoint, size, count),
            (Impl::Libzmq, "recv") => zmq::recv(endpoint, size, count),
            (Impl::Libzmq, "send") => zmq::send(endpoint, size, count),
            (Impl::Brokerless, "idle") => brokerless_idle(endpoint),
            (Impl::Libzmq, "idle") => zmq::idle(endpoint),
            (_, "client") => client(endpoint, count),
            (_, other) => Err(format!("unknown role {other:?}")),
        }
        .map_err(|e| format!("{} {role}: {e}", imp.name()))
    }

    // -----------------------------------------------------------------------
    // CPU time
    // -----------------------------------------------------------------------

    /// `struct timeval` on 64-bit Linux.
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Timeval {
        sec: std::ffi::c_long,
        usec: std::ffi::c_long,
    }

    /// `struct rusage` on Linux: the two times, then 14 `long` counters.
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Rusage {
        utime: Timeval,
        stime: Timeval,
        counters: [std::ffi::c_long; 14],
    }

    const RUSAGE_SELF: std::ffi::c_int = 0;

    unsafe extern "C" {
        fn getrusage(who: std::ffi::c_int, usage: *mut Rusage) -> std::ffi::c_int;
    }

    /// User and system CPU time of this process, all threads, in µs.
    fn cpu_us() -> Res<(u64, u64)> {
        let mut r = Rusage::default();
        // SAFETY: `r` is writable storage of the layout getrusage(2)
        // expects.
        if unsafe { getrusage(RUSAGE_SELF, &mut r) } != 0 {
            return Err(format!("getrusage: {}", std::io::Error::last_os_error()));
        }
        let us = |t: Timeval| t.sec as u64 * 1_000_000 + t.usec as u64;
        Ok((us(r.utime), us(r.stime)))
    }

    /// Prints the CPU used since `start` (from [`cpu_us`]) as the result
    /// line.
    fn report_cpu(start: (u64, u64)) -> Res<()> {
        let end = cpu_us()?;
        println!("{CPU_LINE}{} {}", end.0 - start.0, end.1 - start.1);
        Ok(())
    }

    fn berr(what: &'static str) -> impl Fn(brokerless::Error) -> String {
        move |e| format!("{what}: {e}")
    }

    fn brokerless_recv(bind: &str, size: usize, count: u64) -> Res<()> {
        use brokerless::SocketType;
        let ctx = common::brokerless_context()?;
        let pull = ctx.socket(SocketType::Pull).map_err(berr("socket"))?;
        pull.set_recv_timeout(Some(CHILD_TIMEOUT))
            .map_err(berr("option"))?;
        pull.bind(bind).map_err(berr("bind"))?;
        announce(&pull.last_endpoint().ok_or("no endpoint after bind")?);
        let start = cpu_us()?;
        for _ in 0..count {
            let m = pull.recv().map_err(berr("recv"))?;
            if m.len() != 1 || m[0].len() != size {
                return Err(format!("unexpected message {m:?}"));
            }
        }
        drop(pull);
        drop(ctx);
        report_cpu(start)
    }

    fn brokerless_send(endpoint: &str, size: usize, count: u64) -> Res<()> {
        use brokerless::{Message, SocketType};
        let ctx = common::brokerless_context()?;
        let push = ctx.socket(SocketType::Push).map_err(berr("socket"))?;
        push.set_send_timeout(Some(CHILD_TIMEOUT))
            .map_err(berr("option"))?;
        push.connect(endpoint).map_err(berr("connect"))?;
        let payload = vec![0x5a_u8; size];
        let start = cpu_us()?;
        for _ in 0..count {
            // A fresh copy per message, as the libzmq sender makes.
            push.send(Message::from(&payload[..]))
                .map_err(berr("send"))?;
        }
        // Closing the socket and then the context flushes what is still
        // queued (infinite linger) and joins the I/O thread.
        drop(push);
        drop(ctx);
        report_cpu(start)
    }

    // -----------------------------------------------------------------------
    // Memory
    // -----------------------------------------------------------------------

    /// Binds a PULL, announces it and waits in `recv`, as a server
    /// waiting for work does (the parent kills this process; it exits by
    /// itself after [`CHILD_TIMEOUT`]).
    fn brokerless_idle(bind: &str) -> Res<()> {
        use brokerless::SocketType;
        let ctx = common::brokerless_context()?;
        let pull = ctx.socket(SocketType::Pull).map_err(berr("socket"))?;
        pull.set_recv_timeout(Some(CHILD_TIMEOUT))
            .map_err(berr("option"))?;
        pull.bind(bind).map_err(berr("bind"))?;
        announce(&pull.last_endpoint().ok_or("no endpoint after bind")?);
        match pull.recv() {
            Ok(m) => Err(format!("unexpected message {m:?}")),
            Err(e) => Err(format!("not killed in time (recv: {e})")),
        }
    }

    /// The ZMTP 3.1 greeting of a NULL-mechanism peer (as-server 0).
    fn greeting() -> [u8; 64] {
        let mut g = [0u8; 64];
        g[..12].copy_from_slice(&[0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1]);
        g[12..16].copy_from_slice(b"NULL");
        g
    }

    /// The READY command of a PUSH, with only the Socket-Type property.
    fn ready_push() -> Vec<u8> {
        let mut body = vec![5];
        body.extend(b"READY");
        body.push(11);
        body.extend(b"Socket-Type");
        body.extend(4u32.to_be_bytes());
        body.extend(b"PUSH");
        let mut frame = vec![0x04, body.len() as u8];
        frame.extend(body);
        frame
    }

    /// Reads one command frame (short or long) and returns its body.
    fn read_command(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
        let mut flags = [0u8; 1];
        s.read_exact(&mut flags)?;
        let len = match flags[0] {
            0x04 => {
                let mut n = [0u8; 1];
                s.read_exact(&mut n)?;
                n[0] as usize
            }
            0x06 => {
                let mut n = [0u8; 8];
                s.read_exact(&mut n)?;
                u64::from_be_bytes(n) as usize
            }
            f => {
                return Err(std::io::Error::other(format!(
                    "expected a command frame, got flags {f:#04x}"
                )));
            }
        };
        let mut body = vec![0u8; len];
        s.read_exact(&mut body)?;
        Ok(body)
    }

    /// One connection with a completed NULL handshake as a PUSH.
    fn handshake(addr: &str, out: &[u8]) -> Res<TcpStream> {
        let io = |what: &'static str| move |e: std::io::Error| format!("{what}: {e}");
        let mut s = TcpStream::connect(addr).map_err(io("connect"))?;
        s.set_read_timeout(Some(CHILD_TIMEOUT))
            .map_err(io("set_read_timeout"))?;
        s.set_nodelay(true).map_err(io("set_nodelay"))?;
        s.write_all(out).map_err(io("write greeting"))?;
        let mut g = [0u8; 64];
        s.read_exact(&mut g).map_err(io("read greeting"))?;
        if g[0] != 0xFF || g[9] != 0x7F || g[10] != 3 || &g[12..16] != b"NULL" {
            return Err(format!("unexpected greeting {g:?}"));
        }
        let ready = read_command(&mut s).map_err(io("read READY"))?;
        let wanted: &[u8] = b"\x05READY\x0bSocket-Type\0\0\0\x04PULL";
        if !ready.starts_with(b"\x05READY")
            || !ready.windows(wanted.len() - 6).any(|w| w == &wanted[6..])
        {
            return Err(format!(
                "unexpected READY {:?}",
                String::from_utf8_lossy(&ready)
            ));
        }
        Ok(s)
    }

    /// Opens `n` connections to `endpoint`, each completing the handshake
    /// as a PUSH, prints `connected <n>` and keeps them open and silent
    /// (the parent kills this process; it exits by itself after
    /// [`CHILD_TIMEOUT`]).
    fn client(endpoint: &str, n: u64) -> Res<()> {
        let addr = endpoint
            .strip_prefix("tcp://")
            .ok_or_else(|| format!("not a tcp endpoint: {endpoint}"))?;
        let mut out = greeting().to_vec();
        out.extend(ready_push());
        let mut conns = Vec::new();
        for i in 0..n {
            conns.push(handshake(addr, &out).map_err(|e| format!("connection {}: {e}", i + 1))?);
        }
        println!("{CONNECTED_LINE}{}", conns.len());
        std::thread::sleep(CHILD_TIMEOUT);
        Err("not killed in time".into())
    }

    /// The libzmq side through the raw C API.
    mod zmq {
        use libzmq_peer::{SocketKind, ZMQ_RCVTIMEO, ZMQ_SNDTIMEO, ffi};

        use super::*;
        use common::zmq::{Msg, Zmq, retry};

        pub fn recv(bind: &str, size: usize, count: u64) -> Res<()> {
            let z = Zmq::new(SocketKind::Pull.raw(), ZMQ_RCVTIMEO)?;
            z.bind(bind)?;
            announce(&z.last_endpoint()?);
            let start = cpu_us()?;
            // One message reused for every receive, as in local_thr.
            let mut msg = Msg::new()?;
            for _ in 0..count {
                // SAFETY: `z.sock` is live and used by this thread only;
                // `msg` is initialised, and zmq_msg_recv releases its
                // previous content first.
                retry("zmq_msg_recv", || unsafe {
                    ffi::zmq_msg_recv(msg.as_mut_ptr(), z.sock, 0)
                })?;
                if msg.size() != size {
                    return Err(format!("message of {} bytes, expected {size}", msg.size()));
                }
            }
            drop(msg);
            drop(z);
            report_cpu(start)
        }

        pub fn send(endpoint: &str, size: usize, count: u64) -> Res<()> {
            let z = Zmq::new(SocketKind::Push.raw(), ZMQ_SNDTIMEO)?;
            z.connect(endpoint)?;
            let payload = vec![0x5a_u8; size];
            let start = cpu_us()?;
            z.send_copies(&payload, count)?;
            // Closing the socket and terminating the context waits until
            // everything queued has been sent (infinite linger) and joins
            // libzmq's threads.
            drop(z);
            report_cpu(start)
        }

        /// Binds a PULL, announces it and waits in `zmq_msg_recv`, as
        /// `brokerless_idle`.
        pub fn idle(bind: &str) -> Res<()> {
            let z = Zmq::new(SocketKind::Pull.raw(), ZMQ_RCVTIMEO)?;
            z.bind(bind)?;
            announce(&z.last_endpoint()?);
            let mut msg = Msg::new()?;
            // SAFETY: `z.sock` is live and used by this thread only; `msg`
            // is initialised.
            match retry("zmq_msg_recv", || unsafe {
                ffi::zmq_msg_recv(msg.as_mut_ptr(), z.sock, 0)
            }) {
                Ok(_) => Err(format!("unexpected message of {} bytes", msg.size())),
                Err(e) => Err(format!("not killed in time ({e})")),
            }
        }
    }
}
