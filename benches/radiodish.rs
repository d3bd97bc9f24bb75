//! RADIO -> DISH throughput: brokerless against libzmq 4.3.5 (drafts on),
//! measured in the same run with the same harness as `benches/pubsub.rs`.
//!
//! ```text
//! cargo bench --bench radiodish
//! BENCH_SCALE=0.1 BENCH_RUNS=3 cargo bench --bench radiodish   # quick look
//! ```
//!
//! What is measured, for 64 B and 1 KiB bodies, per transport in
//! [`TRANSPORTS`]: one RADIO sends `count` messages to one group, and one
//! DISH, joined to that group (and no other), receives them. RADIO and
//! DISH are separate processes (this binary re-executes itself with
//! `child ...` arguments), each with its own context (one I/O thread,
//! infinite linger, the defaults). Over TCP the RADIO binds
//! `tcp://127.0.0.1:*` and the DISH connects, the usual topology. Over UDP
//! the DISH binds (it is the datagrams' receiver) a port the parent
//! reserved, since libzmq 4.3.5 reports a UDP wildcard bind as
//! `127.0.0.1:*` (and any UDP bind without its `udp://`), and the RADIO
//! connects (sends to that address): see [`Transport`]. A UDP RADIO sends
//! every group (no JOIN travels); the DISH filters.
//!
//! Start: nothing tells a RADIO when a DISH has joined (libzmq's RADIO
//! cannot receive; over UDP no join is sent at all), and a message sent
//! before is dropped, so the two processes synchronise over a plain TCP
//! connection on the side: the binding process listens on another
//! loopback port (its endpoint line is `endpoint <data endpoint> <sync
//! address>`), the other connects. The RADIO sends a 1-byte warm-up
//! message to the group every millisecond until the DISH, having received
//! one, writes a byte on that connection; then it sends the `count`
//! messages of the measured size, as fast as it can, and exits once
//! everything is flushed (infinite linger). The DISH skips the warm-ups
//! (by size), counts the measured messages until it has `count` or none
//! came for 2 s ([`QUIET`]), and reports as pubsub's subscribers do:
//! *messages delivered per second*, the messages received less the first
//! over the window from the first to the last, and the *fraction
//! delivered*, received / `count`. brokerless sends one shared group and
//! body (`Bytes`, no copy per message, as in `throughput`); libzmq a fresh
//! `zmq_msg_t` with a copy of the body per message plus
//! `zmq_msg_set_group`, as `throughput` sends. Both DISHes check every
//! message's group and size.
//!
//! **High-water marks: SNDHWM and RCVHWM 0 (unlimited) on both sockets,
//! for both implementations** ([`HWM`]), as in `pubsub`'s fan-out and for
//! the same reason: a RADIO, like a PUB, never blocks but drops what finds
//! its DISH's queue at the mark, and an unpaced RADIO at the default 1000
//! outruns its DISH (at 1000, only 3 to 12 % of the messages were
//! delivered here over TCP, for both implementations and differently each
//! run), so the rate would say more about how far the sender got ahead
//! and how the two processes shared the 2 cores than about delivery (set
//! [`HWM`] to 1000 to see; brokerless's RADIO then reports its
//! `dropped_messages()` on stderr). Unlimited, nothing may be dropped
//! over TCP: the RADIO queues ahead (up to `count` messages in memory)
//! and the window measures what RADIO -> TCP -> DISH delivers. The fraction
//! delivered must then be 100 % over TCP; it is a check. UDP is lossy:
//! datagrams the DISH's socket buffer cannot take are lost in the kernel
//! whatever the marks, so there the fraction delivered is a result, and
//! the rate counts only what arrived.
//!
//! Each cell is the median of `BENCH_RUNS` runs (default 5) with the
//! min-max range in brackets; runs of the two implementations are
//! interleaved and alternate which goes first, because this machine is
//! noisy. Ratios are brokerless/libzmq (higher is better).
//!
//! Environment: `BENCH_SCALE` (multiplies every message count, default
//! 1), `BENCH_RUNS` (runs per cell, default 5), `BENCH_TIMEOUT` (seconds a
//! single measurement may take before its processes are killed, default
//! 120). Arguments other than `child ...` (cargo passes `--bench`) are
//! ignored.
//!
//! A child can be run by hand, e.g. under a profiler:
//! `radiodish-<hash> child brokerless radio tcp://127.0.0.1:* 64 1000000`
//! prints `endpoint tcp://127.0.0.1:<port> 127.0.0.1:<sync port>`; then
//! `radiodish-<hash> child brokerless dish 'tcp://127.0.0.1:<port>
//! 127.0.0.1:<sync port>' 64 1000000` (the endpoint and the sync address
//! in one argument), which prints `delivered <messages> <window ns>`.
//! Over UDP the dish goes first, with a `udp://127.0.0.1:<port>`.

#[path = "common/mod.rs"]
#[allow(dead_code, reason = "the harness has more than this benchmark uses")]
mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{CHILD_TIMEOUT, ChildArgs, Impl, Pair, Reporter, Res};

/// Body sizes and messages sent, before `BENCH_SCALE`: roughly 0.3 to 1 s
/// per measurement on a 2-core machine.
const CASES: [(usize, u64); 2] = [(64, 3_000_000), (1024, 800_000)];

/// The transports measured, one row per transport and size.
const TRANSPORTS: [Transport; 2] = [Transport::Tcp, Transport::Udp];

/// The group every message is sent to and the DISH joins.
const GROUP: &str = "bench";

/// Size of the warm-up messages (different from every measured size).
const WARM_UP_SIZE: usize = 1;

/// How often the RADIO sends a warm-up message until the DISH answers.
const WARM_UP_EVERY: Duration = Duration::from_millis(1);

/// How long the DISH waits for a further message, once it has had one,
/// before it concludes that the rest were lost.
const QUIET: Duration = Duration::from_secs(2);

/// SNDHWM and RCVHWM of both sockets: 0, unlimited, so that nothing is
/// dropped over TCP (see the module documentation).
const HWM: usize = 0;

/// Stdout line prefix of the DISH's result, `delivered <messages
/// received> <window ns>`.
const DELIVERED_LINE: &str = "delivered ";

/// How a measure's sockets meet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// TCP loopback: the RADIO binds a system-chosen port, the DISH
    /// connects.
    Tcp,
    /// UDP loopback: the DISH binds, the RADIO connects (sends there).
    Udp,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }

    /// Whether the DISH is the binding side (else the RADIO).
    fn dish_binds(self) -> bool {
        self == Transport::Udp
    }

    /// A fresh endpoint for the binding side.
    fn bind_endpoint(self) -> Res<String> {
        match self {
            Transport::Tcp => Ok(common::TCP_BIND.to_string()),
            // A port that was free a moment ago: libzmq resolves a UDP
            // wildcard only inside its I/O thread, after reporting the
            // endpoint.
            Transport::Udp => {
                let s = std::net::UdpSocket::bind("127.0.0.1:0")
                    .map_err(|e| format!("cannot reserve a UDP port: {e}"))?;
                let port = s.local_addr().map_err(|e| e.to_string())?.port();
                Ok(format!("udp://127.0.0.1:{port}"))
            }
        }
    }
}

fn main() {
    common::main("radiodish", child::run, parent::run);
}

/// One run's result, from the DISH's process.
#[derive(Clone, Copy)]
struct Delivery {
    /// Messages delivered per second.
    rate: f64,
    /// Messages received / messages sent.
    delivered: f64,
}

/// The orchestrating process: spawns the RADIO/DISH pairs, collects the
/// results and prints the table.
mod parent {
    use super::*;
    use common::{interleaved, print_table, range_cell, rate_cell, ratio_cell, size_label};

    pub fn run() -> Res<()> {
        let transports: Vec<&str> = TRANSPORTS.iter().map(|t| t.name()).collect();
        let (settings, exe) = common::start(
            &format!(
                "RADIO -> DISH over {} loopback, one DISH joined to the group sent, in separate \
                 processes, SNDHWM and RCVHWM {HWM} (unlimited) on both sockets instead of the \
                 default",
                transports.join(" and ")
            ),
            "",
        )?;

        let mut rows = Vec::new();
        for &transport in &TRANSPORTS {
            for &(size, base_count) in &CASES {
                let count = settings.count(base_count, 2);
                let samples = interleaved(settings.runs, |imp, run| {
                    let d = measure(&exe, imp, transport, size, count, settings.timeout).map_err(
                        |e| {
                            format!(
                                "{} {} {}, run {}: {e}",
                                imp.name(),
                                transport.name(),
                                size_label(size),
                                run + 1
                            )
                        },
                    )?;
                    eprintln!(
                        "  {} {:>6} run {}/{} {:<10} {:>12.0} msgs/s, {:>6.2} % delivered \
                         ({count} msgs)",
                        transport.name(),
                        size_label(size),
                        run + 1,
                        settings.runs,
                        imp.name(),
                        d.rate,
                        d.delivered * 100.0,
                    );
                    Ok(d)
                })?;
                rows.push((transport, size, count, samples));
            }
        }

        println!();
        println!(
            "RADIO -> DISH, one DISH joined to the group, SNDHWM/RCVHWM {HWM}; messages \
             delivered per second"
        );
        let rows: Vec<[String; 8]> = rows
            .iter()
            .map(|(transport, size, count, samples)| {
                let rate: [Vec<f64>; 2] = samples
                    .each_ref()
                    .map(|v| v.iter().map(|d| d.rate).collect());
                let delivered = |imp: Impl| -> Vec<f64> {
                    samples[imp as usize].iter().map(|d| d.delivered).collect()
                };
                [
                    transport.name().to_string(),
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
                "transport",
                "size",
                "msgs sent",
                "brokerless msgs/s",
                "brokerless delivered",
                "libzmq msgs/s",
                "libzmq delivered",
                "ratio (brokerless/libzmq, higher is better)",
            ],
            &rows,
        );
        Ok(())
    }

    /// One RADIO / DISH pair; returns the DISH's result.
    fn measure(
        exe: &Path,
        imp: Impl,
        transport: Transport,
        size: usize,
        count: u64,
        timeout: Duration,
    ) -> Res<Delivery> {
        let (radio, dish) = (("RADIO", "radio"), ("DISH", "dish"));
        let (binder, connector, reporter) = if transport.dish_binds() {
            (dish, radio, Reporter::Binder)
        } else {
            (radio, dish, Reporter::Connector)
        };
        let line = Pair {
            imp,
            binder,
            connector,
            args: &[size.to_string(), count.to_string()],
            reporter,
            result_line: DELIVERED_LINE,
            bind: &transport.bind_endpoint()?,
        }
        .run(exe, timeout)?;
        let bad = || format!("the DISH printed a bad result {line:?}");
        let fields: Vec<u64> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        let [received, ns] = fields[..] else {
            return Err(bad());
        };
        let window = Duration::from_nanos(ns).as_secs_f64().max(1e-9);
        Ok(Delivery {
            rate: received.saturating_sub(1) as f64 / window,
            delivered: received as f64 / count as f64,
        })
    }
}

/// The side channel on which the DISH tells the RADIO that it receives:
/// one byte, from the DISH, on a loopback TCP connection that the binding
/// process listens for.
struct Sync(TcpStream);

impl Sync {
    /// The binding side: a listener on a system-chosen loopback port.
    fn listen() -> Res<(TcpListener, String)> {
        let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("sync listener: {e}"))?;
        let addr = l.local_addr().map_err(|e| format!("sync listener: {e}"))?;
        Ok((l, addr.to_string()))
    }

    /// The binding side: the other process's connection.
    fn accept(l: &TcpListener) -> Res<Sync> {
        let (s, _) = l.accept().map_err(|e| format!("sync accept: {e}"))?;
        Ok(Sync(s))
    }

    /// The connecting side.
    fn connect(addr: &str) -> Res<Sync> {
        TcpStream::connect(addr)
            .map(Sync)
            .map_err(|e| format!("sync connect to {addr}: {e}"))
    }

    /// The DISH: "I am receiving".
    fn signal(&mut self) -> Res<()> {
        self.0
            .write_all(b"1")
            .map_err(|e| format!("sync write: {e}"))
    }

    /// The RADIO: whether the DISH has signalled (does not wait).
    fn signalled(&mut self) -> Res<bool> {
        self.0
            .set_nonblocking(true)
            .map_err(|e| format!("sync: {e}"))?;
        let mut byte = [0u8; 1];
        match self.0.read(&mut byte) {
            Ok(1) => Ok(true),
            Ok(_) => Err("the DISH closed the sync connection".into()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(format!("sync read: {e}")),
        }
    }
}

/// The measured processes: `child <impl> <role> <endpoint> <size>
/// <count>`, role `radio` or `dish`. The binding one (the RADIO over TCP,
/// the DISH over UDP) binds `<endpoint>` and prints `endpoint <resolved>
/// <sync address>`; the other gets that `<resolved> <sync address>` as
/// its endpoint argument.
mod child {
    use super::*;
    use common::announce;

    /// Which side of the meeting a child is on.
    enum Side<'a> {
        /// Binds this endpoint, listens for the sync connection.
        Bind(&'a str),
        /// Connects to this endpoint and this sync address.
        Connect(&'a str, &'a str),
    }

    impl Side<'_> {
        /// Binds or connects through `bind` / `connect`, and opens the
        /// sync connection (announcing both endpoints when binding).
        fn meet(
            &self,
            bind: impl FnOnce(&str) -> Res<String>,
            connect: impl FnOnce(&str) -> Res<()>,
        ) -> Res<Sync> {
            match *self {
                Side::Bind(endpoint) => {
                    let resolved = bind(endpoint)?;
                    let (listener, addr) = Sync::listen()?;
                    announce(&format!("{resolved} {addr}"));
                    Sync::accept(&listener)
                }
                Side::Connect(endpoint, addr) => {
                    let sync = Sync::connect(addr)?;
                    connect(endpoint)?;
                    Ok(sync)
                }
            }
        }
    }

    pub fn run(args: &[String]) -> Res<()> {
        let ChildArgs {
            imp,
            role,
            endpoint,
            size,
            count,
        } = ChildArgs::parse(args, "radio|dish")?;
        if count < 1 || size == WARM_UP_SIZE {
            return Err(format!(
                "count must be positive and size not {WARM_UP_SIZE} (the warm-ups' size)"
            ));
        }
        let transport = if endpoint.starts_with("udp://") {
            Transport::Udp
        } else {
            Transport::Tcp
        };
        let binds = (role == "dish") == transport.dish_binds();
        let side = if binds {
            Side::Bind(endpoint)
        } else {
            let (endpoint, sync) = endpoint
                .split_once(' ')
                .ok_or("the endpoint argument needs the sync address after a space")?;
            Side::Connect(endpoint, sync)
        };
        match (imp, role) {
            (Impl::Brokerless, "radio") => brokerless_radio(&side, size, count),
            (Impl::Brokerless, "dish") => brokerless_dish(&side, size, count).and_then(report),
            (Impl::Libzmq, "radio") => zmq::radio(&side, size, count),
            (Impl::Libzmq, "dish") => zmq::dish(&side, size, count).and_then(report),
            (_, other) => Err(format!("unknown role {other:?}")),
        }
        .map_err(|e| format!("{} {role}: {e}", imp.name()))
    }

    fn report((received, window): (u64, Duration)) -> Res<()> {
        println!("{DELIVERED_LINE}{received} {}", window.as_nanos());
        Ok(())
    }

    /// The RADIO's start: sends warm-ups with `send` every
    /// [`WARM_UP_EVERY`] until the DISH signals.
    fn warm_up(sync: &mut Sync, mut send: impl FnMut() -> Res<()>) -> Res<()> {
        let deadline = Instant::now() + CHILD_TIMEOUT;
        while !sync.signalled()? {
            if Instant::now() > deadline {
                return Err(format!("no DISH within {CHILD_TIMEOUT:?}"));
            }
            send()?;
            std::thread::sleep(WARM_UP_EVERY);
        }
        Ok(())
    }

    /// The DISH's receive loop. `recv` returns the next message's body
    /// size, having checked its group, or `None` when its timeout expired:
    /// [`CHILD_TIMEOUT`] until the first measured message, then, once
    /// `quiet` has been called, [`QUIET`]. Signals on the first warm-up and
    /// skips the others; returns the measured messages received and the
    /// window from the first to the last (after a quiet timeout, the last
    /// is taken to have arrived `QUIET` before it ended, so that no clock
    /// is read per message).
    fn receive(
        sync: &mut Sync,
        size: usize,
        count: u64,
        mut recv: impl FnMut() -> Res<Option<usize>>,
        quiet: impl FnOnce() -> Res<()>,
    ) -> Res<(u64, Duration)> {
        let mut signalled = false;
        loop {
            match recv()? {
                None => return Err(format!("no message within {CHILD_TIMEOUT:?}")),
                Some(n) if n == size => break,
                Some(WARM_UP_SIZE) => {
                    if !signalled {
                        sync.signal()?;
                        signalled = true;
                    }
                }
                Some(n) => return Err(format!("unexpected body of {n} bytes")),
            }
        }
        let first = Instant::now();
        quiet()?;
        let mut received = 1;
        while received < count {
            match recv()? {
                None => {
                    let last = Instant::now().checked_sub(QUIET).unwrap_or(first);
                    return Ok((received, last.max(first).duration_since(first)));
                }
                Some(n) if n == size => received += 1,
                // A warm-up sent before the RADIO saw the signal, that
                // UDP reordered.
                Some(WARM_UP_SIZE) => {}
                Some(n) => return Err(format!("unexpected body of {n} bytes")),
            }
        }
        Ok((received, first.elapsed()))
    }

    fn err(what: &str) -> impl Fn(brokerless::Error) -> String + '_ {
        move |e| format!("{what}: {e}")
    }

    fn brokerless_socket(
        ctx: &brokerless::Context,
        t: brokerless::SocketType,
    ) -> Res<brokerless::Socket> {
        let s = ctx.socket(t).map_err(err("socket"))?;
        s.set_send_hwm(HWM).map_err(err("option"))?;
        s.set_recv_hwm(HWM).map_err(err("option"))?;
        s.set_recv_timeout(Some(CHILD_TIMEOUT))
            .map_err(err("option"))?;
        Ok(s)
    }

    /// Binds or connects a brokerless socket as `side` says.
    fn brokerless_meet(s: &brokerless::Socket, side: &Side<'_>) -> Res<Sync> {
        side.meet(
            |ep| {
                s.bind(ep).map_err(err("bind"))?;
                s.last_endpoint()
                    .ok_or_else(|| "no endpoint after bind".into())
            },
            |ep| s.connect(ep).map_err(err("connect")),
        )
    }

    fn brokerless_radio(side: &Side<'_>, size: usize, count: u64) -> Res<()> {
        use brokerless::{Message, SocketType};
        use bytes::Bytes;
        // As in `throughput`: one shared group and body, no copy per
        // message.
        let group = Bytes::from_static(GROUP.as_bytes());
        let body = Bytes::from(vec![0x5a_u8; size]);
        let warm = Bytes::from(vec![0_u8; WARM_UP_SIZE]);
        let ctx = common::brokerless_context()?;
        let radio = brokerless_socket(&ctx, SocketType::Radio)?;
        let mut sync = brokerless_meet(&radio, side)?;
        warm_up(&mut sync, || {
            radio
                .send(Message::with_group(group.clone(), warm.clone()))
                .map_err(err("send"))
        })?;
        for _ in 0..count {
            radio
                .send(Message::with_group(group.clone(), body.clone()))
                .map_err(err("send"))?;
        }
        let dropped = radio.dropped_messages();
        if dropped != 0 {
            eprintln!("brokerless radio: {dropped} messages dropped at the high-water mark");
        }
        // Closing flushes what is still queued (infinite linger).
        drop(radio);
        drop(ctx);
        Ok(())
    }

    fn brokerless_dish(side: &Side<'_>, size: usize, count: u64) -> Res<(u64, Duration)> {
        use brokerless::{Error, SocketType};
        let ctx = common::brokerless_context()?;
        let dish = brokerless_socket(&ctx, SocketType::Dish)?;
        dish.join(GROUP).map_err(err("join"))?;
        let mut sync = brokerless_meet(&dish, side)?;
        receive(
            &mut sync,
            size,
            count,
            || match dish.recv() {
                Ok(m) if m.len() == 2 && m[0] == *GROUP.as_bytes() => Ok(Some(m[1].len())),
                Ok(m) => Err(format!("unexpected message {m:?}")),
                Err(Error::Timeout) => Ok(None),
                Err(e) => Err(format!("recv: {e}")),
            },
            || dish.set_recv_timeout(Some(QUIET)).map_err(err("option")),
        )
    }

    /// The libzmq side through the raw C API, as lean as libzmq's own
    /// perf tools.
    mod zmq {
        use std::ffi::{CStr, CString, c_int};

        use libzmq_peer::{
            SocketKind, ZMQ_RCVHWM, ZMQ_RCVTIMEO, ZMQ_SNDHWM, ZMQ_SNDTIMEO, ZmqError, ffi,
        };

        use super::*;
        use common::zmq::{Msg, Zmq, retry};

        fn socket(kind: SocketKind, timeout_option: i32) -> Res<Zmq> {
            let z = Zmq::new(kind.raw(), timeout_option)?;
            z.set_int(ZMQ_SNDHWM, HWM as c_int)?;
            z.set_int(ZMQ_RCVHWM, HWM as c_int)?;
            Ok(z)
        }

        fn meet(z: &Zmq, side: &Side<'_>) -> Res<Sync> {
            side.meet(
                |ep| {
                    z.bind(ep)?;
                    // libzmq 4.3.5 reports a UDP bind without its scheme
                    // (`127.0.0.1:<port>`), and a wildcard port as `*`.
                    let got = z.last_endpoint()?;
                    match ep.split_once("://") {
                        Some((scheme, _)) if !got.contains("://") => {
                            Ok(format!("{scheme}://{got}"))
                        }
                        _ => Ok(got),
                    }
                },
                |ep| z.connect(ep),
            )
        }

        /// Sends one message of `body` to `group` with a fresh
        /// `zmq_msg_t` (a copy of the body), as `Zmq::send_copies` does.
        fn send_grouped(z: &Zmq, group: &CStr, body: &[u8]) -> Res<()> {
            let mut msg = ffi::zmq_msg_t::zeroed();
            // SAFETY: `msg` is valid, writable storage for a zmq_msg_t.
            retry("zmq_msg_init_size", || unsafe {
                ffi::zmq_msg_init_size(&mut msg, body.len())
            })?;
            // SAFETY: the message was just initialised with room for
            // exactly `body.len()` bytes at zmq_msg_data; the buffers are
            // distinct. `group` is NUL-terminated and copied by libzmq.
            let set = unsafe {
                let dst = ffi::zmq_msg_data(&mut msg).cast::<u8>();
                std::ptr::copy_nonoverlapping(body.as_ptr(), dst, body.len());
                ffi::zmq_msg_set_group(&mut msg, group.as_ptr())
            };
            let sent = if set != 0 {
                Err(format!("zmq_msg_set_group: {}", ZmqError::last()))
            } else {
                // SAFETY: live socket used by this thread only and an
                // initialised message; on success libzmq takes the
                // content and leaves `msg` empty.
                retry("zmq_msg_send", || unsafe {
                    ffi::zmq_msg_send(&mut msg, z.sock, 0)
                })
                .map(drop)
            };
            // SAFETY: `msg` is initialised (empty after a successful
            // send).
            unsafe { ffi::zmq_msg_close(&mut msg) };
            sent
        }

        pub fn radio(side: &Side<'_>, size: usize, count: u64) -> Res<()> {
            let group = CString::new(GROUP).map_err(|_| "bad group")?;
            let body = vec![0x5a_u8; size];
            let warm = vec![0_u8; WARM_UP_SIZE];
            let z = socket(SocketKind::Radio, ZMQ_SNDTIMEO)?;
            let mut sync = meet(&z, side)?;
            warm_up(&mut sync, || send_grouped(&z, &group, &warm))?;
            for _ in 0..count {
                send_grouped(&z, &group, &body)?;
            }
            // Dropping `z` waits in zmq_ctx_term until everything queued
            // has been sent (infinite linger).
            drop(z);
            Ok(())
        }

        /// Receives into `msg`; false if the receive timeout expired.
        fn recv_or_timeout(z: &Zmq, msg: &mut Msg) -> Res<bool> {
            loop {
                // SAFETY: live socket used by this thread only; `msg` is
                // initialised, and zmq_msg_recv releases its previous
                // content first.
                if unsafe { ffi::zmq_msg_recv(msg.as_mut_ptr(), z.sock, 0) } >= 0 {
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
        }

        pub fn dish(side: &Side<'_>, size: usize, count: u64) -> Res<(u64, Duration)> {
            let group = CString::new(GROUP).map_err(|_| "bad group")?;
            let z = socket(SocketKind::Dish, ZMQ_RCVTIMEO)?;
            // SAFETY: live socket; `group` is NUL-terminated and outlives
            // the call.
            if unsafe { ffi::zmq_join(z.sock, group.as_ptr()) } != 0 {
                return Err(format!("zmq_join: {}", ZmqError::last()));
            }
            let mut sync = meet(&z, side)?;
            // One message reused for every receive, as in local_thr.
            let mut msg = Msg::new()?;
            receive(
                &mut sync,
                size,
                count,
                || {
                    if !recv_or_timeout(&z, &mut msg)? {
                        return Ok(None);
                    }
                    // SAFETY: the message was just received into; the
                    // group, if any, is a NUL-terminated string inside
                    // it, compared before the message changes again.
                    let same = unsafe {
                        let g = ffi::zmq_msg_group(msg.as_mut_ptr());
                        !g.is_null() && CStr::from_ptr(g) == group.as_c_str()
                    };
                    if !same {
                        return Err("a message of another group".into());
                    }
                    Ok(Some(msg.size()))
                },
                || z.set_int(ZMQ_RCVTIMEO, QUIET.as_millis() as c_int),
            )
        }
    }
}
