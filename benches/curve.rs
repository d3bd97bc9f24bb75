//! CURVE PUSH/PULL throughput over TCP loopback: brokerless against
//! libzmq 4.3.5 (built with libsodium), measured in the same run with the
//! same harness as `benches/throughput.rs`.
//!
//! ```text
//! cargo bench --bench curve
//! BENCH_SCALE=0.1 BENCH_RUNS=3 cargo bench --bench curve   # quick look
//! BENCH_NULL=0 cargo bench --bench curve                   # CURVE only
//! ```
//!
//! What is measured, for 64 B, 1 KiB and 64 KiB single-frame messages: as
//! in `throughput`, sender and receiver are separate processes (this
//! binary re-executes itself with `child ...` arguments). The receiver
//! makes a PULL socket a CURVE server (brokerless `set_curve_server`,
//! libzmq `ZMQ_CURVE_SERVER` and `ZMQ_CURVE_SECRETKEY`), binds it on
//! `tcp://127.0.0.1:*`, prints its resolved endpoint, receives `count`
//! messages and times from the first message received to the last; the
//! sender makes a PUSH socket a CURVE client (brokerless
//! `set_curve_client`, libzmq `ZMQ_CURVE_PUBLICKEY`, `ZMQ_CURVE_SECRETKEY`
//! and `ZMQ_CURVE_SERVERKEY`), connects, sends `count` messages and exits
//! once everything is flushed. So the CURVE handshake (four commands, a
//! few X25519 operations), process start and connection set-up are
//! outside the timed window: what is measured is the steady state, where
//! every message is one CURVE MESSAGE command, its frame encrypted and
//! authenticated with XSalsa20-Poly1305 under the connection's session
//! key and a fresh 8-byte nonce (33 bytes of overhead per message on the
//! wire), and decrypted and verified on the other side. brokerless does
//! the crypto in Rust (the `crypto_box` crates), libzmq through
//! libsodium; both on their I/O threads.
//!
//! The keys are the example key pairs of libzmq's `doc/zmq_curve.txt`,
//! fixed so that every run does the same work; the parent checks once
//! that both libraries derive the same public keys from the secret keys.
//! There is no ZAP handler on either side, so both servers admit the
//! client (encryption without authentication, the default of both
//! libraries). Everything else is each library's default (high-water
//! marks 1000, one I/O thread, infinite linger).
//!
//! For context the same run then measures the same thing without
//! security (NULL, exactly `throughput`'s tcp table), unless
//! `BENCH_NULL=0`, and prints each library's CURVE rate as a fraction of
//! its own NULL rate.
//!
//! The senders and receivers are `throughput`'s: brokerless sends one
//! `Bytes` payload built once, each message a reference-counted view of it
//! (with CURVE, the library then encrypts it into a buffer of its own, as
//! libzmq does); libzmq gets a fresh `zmq_msg_t` with a copy of the
//! payload per message, as `remote_thr`. The receivers reuse one message
//! (libzmq) or drop each `Message` (brokerless). Each cell is the median
//! of `BENCH_RUNS` runs (default 5) with the min-max range in brackets;
//! runs of the two implementations are interleaved and alternate which
//! goes first, because this machine is noisy. Rates count the `count - 1`
//! messages received inside the timed window; MB is 10^6 bytes of
//! payload (not counting CURVE's overhead).
//!
//! Environment: `BENCH_SCALE` (multiplies every message count, default 1),
//! `BENCH_RUNS` (runs per cell, default 5), `BENCH_TIMEOUT` (seconds a
//! single measurement may take before its processes are killed, default
//! 120), `BENCH_NULL` (`0` skips the NULL table). Arguments other than
//! `child ...` (cargo passes `--bench`) are ignored.
//!
//! A child can be run by hand, e.g. under a profiler:
//! `curve-<hash> child brokerless curve-recv tcp://127.0.0.1:* 64 500000`
//! prints `endpoint tcp://127.0.0.1:<port>`; then
//! `curve-<hash> child brokerless curve-send tcp://127.0.0.1:<port> 64 500000`.
//! The roles `recv` and `send` are the same without security.

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{CHILD_TIMEOUT, ChildArgs, Impl, Res, Throughput};

/// Message sizes and their default counts with CURVE, chosen so that one
/// measurement takes roughly 0.3 to 1.5 s on a 2-core machine (the slower
/// implementation taking the longer time).
const CURVE_CASES: [(usize, u64); 3] = [(64, 300_000), (1024, 100_000), (65536, 3_000)];

/// The same without security: `throughput`'s counts.
const NULL_CASES: [(usize, u64); 3] = [(64, 3_000_000), (1024, 800_000), (65536, 20_000)];

/// The example key pairs of libzmq's `doc/zmq_curve.txt`, in Z85.
const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

fn main() {
    common::main("curve", child::run, parent::run);
}

/// A brokerless key pair from one of the Z85 secret keys above.
fn brokerless_pair(secret: &str) -> Res<brokerless::CurveKeyPair> {
    let secret: brokerless::CurveSecretKey = secret
        .parse()
        .map_err(|e| format!("bad secret key {secret:?}: {e}"))?;
    Ok(brokerless::CurveKeyPair::from_secret(secret))
}

/// The orchestrating process: spawns receiver/sender pairs, collects the
/// timings and prints the tables.
mod parent {
    use super::*;

    pub fn run() -> Res<()> {
        let with_null = match std::env::var("BENCH_NULL") {
            Ok(v) => match v.trim() {
                "0" => false,
                "1" => true,
                _ => return Err(format!("BENCH_NULL={v:?} is neither 0 nor 1")),
            },
            Err(_) => true,
        };
        check_keys()?;
        let (settings, exe) = common::start(
            "PUSH/PULL over tcp://127.0.0.1 with CURVE (receiver = bound CURVE server, sender = \
             CURVE client, no ZAP handler), sender and receiver in separate processes",
            "; MB = 10^6 B of payload",
        )?;

        let curve = Throughput {
            binder: ("receiver", "curve-recv"),
            connector: ("sender", "curve-send"),
            label: "curve ",
            transport: common::Transport::Tcp,
        }
        .rows(&settings, &exe, &CURVE_CASES)?;
        let null = if with_null {
            Some(
                Throughput {
                    binder: ("receiver", "recv"),
                    connector: ("sender", "send"),
                    label: "null  ",
                    transport: common::Transport::Tcp,
                }
                .rows(&settings, &exe, &NULL_CASES)?,
            )
        } else {
            None
        };

        println!();
        println!("CURVE over tcp");
        common::print_throughput_table(&curve, "ratio (brokerless/libzmq)");
        if let Some(null) = null {
            println!();
            println!("NULL over tcp (no security), for context");
            common::print_throughput_table(&null, "ratio (brokerless/libzmq)");
            println!();
            println!("CURVE rate as a fraction of the same library's NULL rate (medians)");
            print_cost_table(&curve, &null);
        }
        Ok(())
    }

    /// Checks that brokerless and libzmq derive the expected public keys
    /// from the secret keys, so that both run with the same keys.
    fn check_keys() -> Res<()> {
        for (secret, public) in [
            (SERVER_SECRET, SERVER_PUBLIC),
            (CLIENT_SECRET, CLIENT_PUBLIC),
        ] {
            let ours = brokerless_pair(secret)?.public().to_z85();
            let theirs = libzmq_peer::curve_public(secret)
                .map_err(|e| format!("zmq_curve_public (is CURVE built in?): {e}"))?;
            if ours != public || theirs != public {
                return Err(format!(
                    "public key of {secret:?}: brokerless {ours:?}, libzmq {theirs:?}, \
                     expected {public:?}"
                ));
            }
        }
        Ok(())
    }

    /// Per size and library: median CURVE rate / median NULL rate.
    fn print_cost_table(curve: &[(usize, [Vec<f64>; 2])], null: &[(usize, [Vec<f64>; 2])]) {
        let median = |v: &[f64]| common::median_min_max(v).0;
        let rows: Vec<[String; 3]> = curve
            .iter()
            .filter_map(|(size, c)| {
                let (_, n) = null.iter().find(|(s, _)| s == size)?;
                let cell = |imp: Impl| {
                    let i = imp as usize;
                    format!("{:.2}", median(&c[i]) / median(&n[i]))
                };
                Some([
                    common::size_label(*size),
                    cell(Impl::Brokerless),
                    cell(Impl::Libzmq),
                ])
            })
            .collect();
        common::print_table(["size", "brokerless", "libzmq"], &rows);
    }
}

/// The measured processes: `child <impl> <role> <endpoint> <size>
/// <count>` with the role `curve-recv`, `curve-send`, `recv` or `send`.
mod child {
    use super::*;
    use common::{announce, report_elapsed as report};

    /// Security of a child's socket.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Security {
        Null,
        Curve,
    }

    pub fn run(args: &[String]) -> Res<()> {
        let ChildArgs {
            imp,
            role,
            endpoint,
            size,
            count,
        } = ChildArgs::parse(args, "curve-recv|curve-send|recv|send")?;
        if count < 2 {
            return Err("count must be at least 2".into());
        }
        let (security, dir) = match role.strip_prefix("curve-") {
            Some(dir) => (Security::Curve, dir),
            None => (Security::Null, role),
        };
        match (imp, dir) {
            (Impl::Brokerless, "recv") => report(brokerless_recv(security, endpoint, size, count)?),
            (Impl::Brokerless, "send") => brokerless_send(security, endpoint, size, count),
            (Impl::Libzmq, "recv") => report(zmq::recv(security, endpoint, size, count)?),
            (Impl::Libzmq, "send") => zmq::send(security, endpoint, size, count),
            _ => Err(format!("unknown role {role:?}")),
        }
        .map_err(|e| format!("{} {role}: {e}", imp.name()))
    }

    fn brokerless_recv(security: Security, bind: &str, size: usize, count: u64) -> Res<Duration> {
        use brokerless::SocketType;
        let err = |what: &str, e: brokerless::Error| format!("{what}: {e}");
        let ctx = common::brokerless_context()?;
        let pull = ctx.socket(SocketType::Pull).map_err(|e| err("socket", e))?;
        pull.set_recv_timeout(Some(CHILD_TIMEOUT))
            .map_err(|e| err("option", e))?;
        if security == Security::Curve {
            pull.set_curve_server(&brokerless_pair(SERVER_SECRET)?)
                .map_err(|e| err("set_curve_server", e))?;
        }
        pull.bind(bind).map_err(|e| err("bind", e))?;
        announce(&pull.last_endpoint().ok_or("no endpoint after bind")?);

        common::brokerless_recv_loop(&pull, size, count)
    }

    fn brokerless_send(security: Security, endpoint: &str, size: usize, count: u64) -> Res<()> {
        use brokerless::SocketType;
        let err = |what: &str, e: brokerless::Error| format!("{what}: {e}");
        let ctx = common::brokerless_context()?;
        let push = ctx.socket(SocketType::Push).map_err(|e| err("socket", e))?;
        push.set_send_timeout(Some(CHILD_TIMEOUT))
            .map_err(|e| err("option", e))?;
        if security == Security::Curve {
            let server = brokerless_pair(SERVER_SECRET)?;
            push.set_curve_client(&brokerless_pair(CLIENT_SECRET)?, server.public())
                .map_err(|e| err("set_curve_client", e))?;
        }
        push.connect(endpoint).map_err(|e| err("connect", e))?;
        common::brokerless_send_loop(&push, size, count)?;
        // Closing the socket and then the context flushes what is still
        // queued (linger is infinite by default) before returning.
        drop(push);
        drop(ctx);
        Ok(())
    }

    /// The libzmq side through the raw C API, as libzmq's own
    /// `local_thr` / `remote_thr` use it, plus the CURVE options.
    mod zmq {
        use libzmq_peer::{
            SocketKind, ZMQ_CURVE_PUBLICKEY, ZMQ_CURVE_SECRETKEY, ZMQ_CURVE_SERVER,
            ZMQ_CURVE_SERVERKEY, ZMQ_RCVTIMEO, ZMQ_SNDTIMEO, ffi,
        };

        use super::*;
        use common::zmq::{Msg, Zmq, retry};

        pub fn recv(security: Security, bind: &str, size: usize, count: u64) -> Res<Duration> {
            let z = Zmq::new(SocketKind::Pull.raw(), ZMQ_RCVTIMEO)?;
            if security == Security::Curve {
                z.set_int(ZMQ_CURVE_SERVER, 1)?;
                z.set_bytes(
                    "ZMQ_CURVE_SECRETKEY",
                    ZMQ_CURVE_SECRETKEY,
                    SERVER_SECRET.as_bytes(),
                )?;
            }
            z.bind(bind)?;
            announce(&z.last_endpoint()?);
            // One message reused for every receive, as in local_thr.
            let mut msg = Msg::new()?;
            let mut recv_one = |what: &str| -> Res<()> {
                // SAFETY: `z.sock` is live while `z` is and used by this
                // thread only; `msg` is initialised, and zmq_msg_recv
                // releases its previous content first.
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

        pub fn send(security: Security, endpoint: &str, size: usize, count: u64) -> Res<()> {
            let z = Zmq::new(SocketKind::Push.raw(), ZMQ_SNDTIMEO)?;
            if security == Security::Curve {
                for (what, option, key) in [
                    ("ZMQ_CURVE_PUBLICKEY", ZMQ_CURVE_PUBLICKEY, CLIENT_PUBLIC),
                    ("ZMQ_CURVE_SECRETKEY", ZMQ_CURVE_SECRETKEY, CLIENT_SECRET),
                    ("ZMQ_CURVE_SERVERKEY", ZMQ_CURVE_SERVERKEY, SERVER_PUBLIC),
                ] {
                    z.set_bytes(what, option, key.as_bytes())?;
                }
            }
            z.connect(endpoint)?;
            z.send_copies(&vec![0x5a_u8; size], count)?;
            // Dropping `z` closes the socket and waits in zmq_ctx_term
            // until everything queued has been sent (infinite linger).
            drop(z);
            Ok(())
        }
    }
}
