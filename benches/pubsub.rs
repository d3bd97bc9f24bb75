//! PUB/SUB fan-out and subscription matching over TCP loopback: brokerless
//! against libzmq 4.3.5, measured in the same run with the same harness as
//! `benches/throughput.rs`.
//!
//! ```text
//! cargo bench --bench pubsub
//! BENCH_SCALE=0.1 BENCH_RUNS=3 cargo bench --bench pubsub   # quick look
//! ```
//!
//! What is measured (publisher and subscribers in separate processes; this
//! binary re-executes itself with `child ...` arguments; one I/O thread
//! and infinite linger, the defaults; high-water marks as below):
//!
//! 1. **PUB -> SUB fan-out, 64 B, to 1, 4 and 16 subscribers.** The
//!    publisher binds `tcp://127.0.0.1:*`, prints its endpoint, waits until
//!    every subscriber has subscribed to `""` and then sends `count`
//!    messages as fast as it can. brokerless: a PUB and
//!    [`brokerless::Socket::wait_for_subscribers`], one shared payload
//!    (`Bytes`, no copy per message, as in `throughput`). libzmq: an XPUB
//!    with `ZMQ_XPUB_VERBOSE`, from which the publisher reads one
//!    subscription message per subscriber (a libzmq PUB cannot tell when
//!    its subscribers are there; libzmq's PUB is its XPUB without the
//!    receiving side, the send path is the same), and a fresh `zmq_msg_t`
//!    plus a copy of the payload per message, as `throughput` sends. The
//!    subscribers run in one process, one thread and one SUB each, all in
//!    **one shared context** (one I/O thread) for both implementations, as
//!    one application with several subscribers would. Each connects,
//!    subscribes to `""` and counts messages until it has `count` or none
//!    came for 2 s. The result, taken in the subscribers' process, is
//!    *messages delivered per second*: the messages received by all
//!    subscribers, less the first, over the window from the earliest
//!    first message of any subscriber to the last message of the last
//!    one; and the *fraction delivered*, received / (`count` x
//!    subscribers). Default counts make about 4 million deliveries per
//!    case.
//!
//!    **High-water marks: SNDHWM and RCVHWM 0 (unlimited) on every
//!    socket, for both implementations** ([`FANOUT_HWM`]; what counts is
//!    the publisher's SNDHWM and the subscribers' RCVHWM). A PUB
//!    drops what finds a subscriber's queue at its mark; at the default
//!    1000 an unpaced publisher had only 8 to 35 % of the messages
//!    delivered here, for both implementations and differently each run,
//!    so the rate said more about how far the publisher outran its
//!    subscribers, and how they shared the 2 cores, than about delivery. A
//!    paced publisher would measure its pace instead (delivered rate = pace
//!    x subscribers until drops start), and finding the fastest pace
//!    without drops needs a search per case, too slow for a run of a few
//!    minutes. Unlimited, nothing may be dropped: the publisher queues
//!    ahead (up to `count` x subscribers messages in memory) and the
//!    window measures what PUB -> TCP -> SUB delivers, while the
//!    publisher process still works. The fraction delivered must then be
//!    100 %; it is a check (set [`FANOUT_HWM`] to 1000 to see the drops;
//!    brokerless's `dropped_messages()` then accounts for exactly the
//!    messages missing at the subscribers).
//!
//!    brokerless, at the time of writing: with 16 subscribers on one I/O
//!    thread a subscriber now and then gets nothing for more than 500 ms
//!    in the middle of a run, then the rest (seen in 5 runs of 80; never
//!    with one context, so one I/O thread, per subscriber; never with
//!    libzmq), most likely because an I/O thread serves one connection for
//!    as long as it makes progress (`Engine::drive` loops until idle, with
//!    no budget per turn). Such a run shows as a lower rate, not as drops.
//! 2. **Subscription matching, 10,000 subscriptions.** One SUB subscribes
//!    to `topic.00000` .. `topic.09999`; the publisher sends `count`
//!    64 B messages, each a topic followed by padding, cycling in a fixed
//!    shuffled order through `topic.00000` .. `topic.12499`, so that a
//!    fifth match no subscription. The result is the publisher's rate:
//!    `count` over the time of its send loop, the sender-side cost that the
//!    subscription trie adds to. The publisher is an XPUB for both
//!    implementations, so that it can read the 10,000 subscription
//!    messages and start only once all of them are in
//!    (`wait_for_subscribers` counts peers, not subscriptions; brokerless's
//!    PUB is, as libzmq's, its XPUB without the receiving side). Payloads
//!    are prepared before the loop; brokerless sends a clone of a `Bytes`,
//!    libzmq a copy (`zmq_send`). Every socket here has SNDHWM and RCVHWM
//!    0: with drops the loop's work would depend on how many messages
//!    each implementation happened to drop, unlimited both queue every
//!    matching message once; and libzmq's SUB drops subscriptions that
//!    find its outbound queue full (at the default 1000 only 1000 of the
//!    10,000 arrived). The subscriber receives and checks every matching
//!    message, so a lost one fails the run. The publisher's I/O thread and
//!    the subscriber's process run on the same 2 cores during the loop.
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
//! `pubsub-<hash> child brokerless pub tcp://127.0.0.1:* 64 1000000 4`
//! prints `endpoint tcp://127.0.0.1:<port>`; then
//! `pubsub-<hash> child brokerless sub tcp://127.0.0.1:<port> 64 1000000 4`
//! (the last argument is the number of subscribers, the same on both
//! sides). The roles of the matching measure are `match-pub` and
//! `match-sub`, whose last argument is the number of topics (10000).

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{CHILD_TIMEOUT, ChildArgs, ELAPSED_LINE, Impl, Pair, Reporter, Res};

/// Payload of every message, in both measures.
const SIZE: usize = 64;

/// Fan-out cases: subscribers and messages published, before
/// `BENCH_SCALE`; about 4 million deliveries each, roughly 0.5 to 1.5 s
/// per measurement on a 2-core machine.
const FANOUT_CASES: [(usize, u64); 3] = [(1, 4_000_000), (4, 1_000_000), (16, 250_000)];

/// Distinct subscriptions of the matching measure's subscriber.
const TOPICS: usize = 10_000;
/// Messages the matching measure publishes, before `BENCH_SCALE`.
const MATCH_COUNT: u64 = 3_000_000;

/// How long a fan-out subscriber waits for a further message, once it has
/// had one, before it concludes that the rest were dropped: long enough
/// not to take a stall of brokerless's I/O thread (see the module
/// documentation) for drops.
const QUIET: Duration = Duration::from_secs(2);

/// How long the matching measure's subscriber waits for a further message
/// before it declares the missing ones lost (a failure).
const MATCH_QUIET: Duration = Duration::from_secs(5);

/// SNDHWM and RCVHWM of the fan-out publisher and subscribers: 0,
/// unlimited, so that nothing is dropped (see the module documentation;
/// 1000, the default, shows what an unpaced publisher loses).
const FANOUT_HWM: usize = 0;

/// Stdout line prefix of the fan-out subscribers' result, `delivered
/// <messages received, all subscribers> <window ns>`.
const DELIVERED_LINE: &str = "delivered ";

fn main() {
    common::main("pubsub", child::run, parent::run);
}

/// `topic.00042`: the `i`th topic of the matching measure.
fn topic(i: usize) -> String {
    format!("topic.{i:05}")
}

/// The topics the matching measure publishes, cycling through them in
/// this order: `topic(i)` for `i` below `topics + topics / 4`, each with
/// whether it is subscribed (`i < topics`); the unsubscribed fifth share
/// the `topic.` prefix and match nothing. Shuffled by a fixed xorshift, so
/// that both implementations send the same sequence and the subscriber
/// can count what it must receive.
fn published_topics(topics: usize) -> Vec<(String, bool)> {
    let mut order: Vec<(String, bool)> = (0..topics + topics / 4)
        .map(|i| (topic(i), i < topics))
        .collect();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..order.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    order
}

/// A `size`-byte single-frame message body starting with `topic`.
fn topic_message(topic: &str, size: usize) -> Res<Vec<u8>> {
    if topic.len() > size {
        return Err(format!("topic {topic:?} is longer than {size} bytes"));
    }
    let mut body = topic.as_bytes().to_vec();
    body.resize(size, 0x5a);
    Ok(body)
}

/// How many of the first `count` published messages match a subscription.
fn matching_count(order: &[(String, bool)], count: u64) -> u64 {
    let per_cycle = order.iter().filter(|(_, m)| *m).count() as u64;
    let len = order.len() as u64;
    let rest = order[..(count % len) as usize]
        .iter()
        .filter(|(_, m)| *m)
        .count() as u64;
    count / len * per_cycle + rest
}

/// One fan-out run's result, from the subscribers' process.
#[derive(Clone, Copy)]
struct Fanout {
    /// Messages delivered per second, all subscribers together.
    rate: f64,
    /// Messages received / (messages published x subscribers).
    delivered: f64,
}

/// The orchestrating process: spawns the publisher/subscribers pairs,
/// collects the results and prints the tables.
mod parent {
    use super::*;
    use common::{interleaved, print_table, range_cell, rate_cell, ratio_cell, size_label};

    pub fn run() -> Res<()> {
        let hwm = match FANOUT_HWM {
            0 => "SNDHWM and RCVHWM 0 (unlimited) on every socket".to_string(),
            n => format!("SNDHWM and RCVHWM {n} for fan-out, 0 (unlimited) for matching"),
        };
        let (settings, exe) = common::start(
            &format!(
                "PUB/SUB over tcp://127.0.0.1, publisher and subscribers in separate processes, \
                 {hwm} instead of the default"
            ),
            "",
        )?;

        let mut fanout = Vec::new();
        for &(subscribers, base_count) in &FANOUT_CASES {
            let count = settings.count(base_count, 2);
            let samples = interleaved(settings.runs, |imp, run| {
                let f = measure_fanout(&exe, imp, subscribers, count, settings.timeout).map_err(
                    |e| {
                        format!(
                            "{} fan-out to {subscribers}, run {}: {e}",
                            imp.name(),
                            run + 1
                        )
                    },
                )?;
                eprintln!(
                    "  fan-out {subscribers:>2} subs run {}/{} {:<10} {:>12.0} msgs/s, \
                     {:>6.2} % delivered ({count} msgs x {subscribers})",
                    run + 1,
                    settings.runs,
                    imp.name(),
                    f.rate,
                    f.delivered * 100.0,
                );
                Ok(f)
            })?;
            fanout.push((subscribers, count, samples));
        }

        let match_count = settings.count(MATCH_COUNT, 1);
        let matching = interleaved(settings.runs, |imp, run| {
            let elapsed = measure_matching(&exe, imp, match_count, settings.timeout)
                .map_err(|e| format!("{} matching, run {}: {e}", imp.name(), run + 1))?;
            let rate = match_count as f64 / elapsed.as_secs_f64().max(1e-9);
            eprintln!(
                "  matching {TOPICS} topics run {}/{} {:<10} {:>12.0} msgs/s \
                 ({match_count} msgs in {:.3} s)",
                run + 1,
                settings.runs,
                imp.name(),
                rate,
                elapsed.as_secs_f64(),
            );
            Ok(rate)
        })?;

        println!();
        println!(
            "PUB -> SUB fan-out, {}, subscribers in one process (one thread each, one shared \
             context), SNDHWM/RCVHWM {FANOUT_HWM}; messages delivered per second, all \
             subscribers together",
            size_label(SIZE)
        );
        let rows: Vec<[String; 7]> = fanout
            .iter()
            .map(|(subscribers, count, samples)| {
                let rate: [Vec<f64>; 2] = samples
                    .each_ref()
                    .map(|v| v.iter().map(|f| f.rate).collect());
                let delivered = |imp: Impl| -> Vec<f64> {
                    samples[imp as usize].iter().map(|f| f.delivered).collect()
                };
                [
                    subscribers.to_string(),
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
                "subscribers",
                "msgs published",
                "brokerless msgs/s",
                "brokerless delivered",
                "libzmq msgs/s",
                "libzmq delivered",
                "ratio (brokerless/libzmq, higher is better)",
            ],
            &rows,
        );

        println!();
        println!(
            "Subscription matching: one subscriber with {TOPICS} topics, {} messages over {} \
             topics (a fifth match none); publisher send loop, messages sent per second",
            size_label(SIZE),
            TOPICS + TOPICS / 4,
        );
        print_table(
            [
                "subscriptions",
                "msgs published",
                "brokerless msgs/s",
                "libzmq msgs/s",
                "ratio (brokerless/libzmq, higher is better)",
            ],
            &[[
                TOPICS.to_string(),
                match_count.to_string(),
                rate_cell(&matching[Impl::Brokerless as usize]),
                rate_cell(&matching[Impl::Libzmq as usize]),
                ratio_cell(&matching),
            ]],
        );
        Ok(())
    }

    /// One publisher / subscribers pair; returns the subscribers' result.
    fn measure_fanout(
        exe: &Path,
        imp: Impl,
        subscribers: usize,
        count: u64,
        timeout: Duration,
    ) -> Res<Fanout> {
        let line = Pair {
            imp,
            binder: ("publisher", "pub"),
            connector: ("subscribers", "sub"),
            args: &[SIZE.to_string(), count.to_string(), subscribers.to_string()],
            reporter: Reporter::Connector,
            result_line: DELIVERED_LINE,
            bind: common::TCP_BIND,
        }
        .run(exe, timeout)?;
        let bad = || format!("the subscribers printed a bad result {line:?}");
        let fields: Vec<u64> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        let [received, ns] = fields[..] else {
            return Err(bad());
        };
        let window = Duration::from_nanos(ns).as_secs_f64().max(1e-9);
        Ok(Fanout {
            rate: received.saturating_sub(1) as f64 / window,
            delivered: received as f64 / (count * subscribers as u64) as f64,
        })
    }

    /// One matching publisher / subscriber pair; returns the publisher's
    /// send loop time.
    fn measure_matching(exe: &Path, imp: Impl, count: u64, timeout: Duration) -> Res<Duration> {
        let elapsed = Pair {
            imp,
            binder: ("publisher", "match-pub"),
            connector: ("subscriber", "match-sub"),
            args: &[SIZE.to_string(), count.to_string(), TOPICS.to_string()],
            reporter: Reporter::Binder,
            result_line: ELAPSED_LINE,
            bind: common::TCP_BIND,
        }
        .run(exe, timeout)?;
        let ns: u64 = elapsed
            .parse()
            .map_err(|_| format!("the publisher printed a bad elapsed time {elapsed:?}"))?;
        Ok(Duration::from_nanos(ns))
    }
}

/// The measured processes: `child <impl> <role> <endpoint> <size> <count>
/// <n>` with role `pub` (publishes `count` messages once `n` subscribers
/// subscribed), `sub` (`n` subscribers, each counting up to `count`
/// messages), `match-pub` (publishes `count` messages over the topics once
/// the `n` subscriptions arrived) or `match-sub` (subscribes to `n` topics
/// and receives every matching message).
mod child {
    use super::*;
    use common::{announce, report_elapsed as report};

    pub fn run(args: &[String]) -> Res<()> {
        const ROLES: &str = "pub|sub|match-pub|match-sub";
        let (common_args, extra) = args.split_at(args.len().min(5));
        let ChildArgs {
            imp,
            role,
            endpoint,
            size,
            count,
        } = ChildArgs::parse(common_args, ROLES)?;
        let [n] = extra else {
            return Err(format!(
                "usage: child <brokerless|libzmq> <{ROLES}> <endpoint> <size> <count> \
                 <subscribers|topics>, got {args:?}"
            ));
        };
        let n: usize = n.parse().map_err(|_| format!("bad number {n:?}"))?;
        if count < 1 || n < 1 {
            return Err("count and the number of subscribers or topics must be positive".into());
        }
        match (imp, role) {
            (Impl::Brokerless, "pub") => brokerless_pub(endpoint, size, count, n),
            (Impl::Brokerless, "sub") => {
                brokerless_subs(endpoint, size, count, n).and_then(report_delivered)
            }
            (Impl::Brokerless, "match-pub") => {
                brokerless_match_pub(endpoint, size, count, n).and_then(report)
            }
            (Impl::Brokerless, "match-sub") => brokerless_match_sub(endpoint, size, count, n),
            (Impl::Libzmq, "pub") => zmq::publ(endpoint, size, count, n),
            (Impl::Libzmq, "sub") => zmq::subs(endpoint, size, count, n).and_then(report_delivered),
            (Impl::Libzmq, "match-pub") => {
                zmq::match_pub(endpoint, size, count, n).and_then(report)
            }
            (Impl::Libzmq, "match-sub") => zmq::match_sub(endpoint, size, count, n),
            (_, other) => Err(format!("unknown role {other:?}")),
        }
        .map_err(|e| format!("{} {role}: {e}", imp.name()))
    }

    /// What one fan-out subscriber received.
    struct Received {
        count: u64,
        /// When the first message arrived.
        first: Instant,
        /// When the last message arrived (see [`count_messages`]).
        last: Instant,
    }

    /// Receives up to `count` messages with `recv`, which returns false
    /// when its timeout expired: [`CHILD_TIMEOUT`] for the first, then,
    /// once `quiet` has been called, [`QUIET`]. After a quiet timeout the
    /// last message is taken to have arrived `QUIET` before it ended, so
    /// that no clock is read per message.
    fn count_messages(
        count: u64,
        mut recv: impl FnMut() -> Res<bool>,
        quiet: impl FnOnce() -> Res<()>,
    ) -> Res<Received> {
        if !recv()? {
            return Err(format!("no message within {CHILD_TIMEOUT:?}"));
        }
        let first = Instant::now();
        quiet()?;
        let mut received = 1;
        while received < count {
            if !recv()? {
                let last = Instant::now().checked_sub(QUIET).unwrap_or(first);
                return Ok(Received {
                    count: received,
                    first,
                    last: last.max(first),
                });
            }
            received += 1;
        }
        Ok(Received {
            count: received,
            first,
            last: Instant::now(),
        })
    }

    /// Runs `one` for each of `subscribers` subscribers, each on its own
    /// thread, and sums up: the messages received by all, and the window
    /// from the first subscriber's first message to the last one's last.
    fn run_subscribers(
        subscribers: usize,
        one: impl Fn() -> Res<Received> + Sync,
    ) -> Res<(u64, Duration)> {
        let one = &one;
        let results: Vec<Res<Received>> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..subscribers).map(|_| s.spawn(one)).collect();
            threads
                .into_iter()
                .map(|t| {
                    t.join()
                        .unwrap_or_else(|_| Err("a subscriber thread panicked".into()))
                })
                .collect()
        });
        let mut total = 0;
        let mut window: Option<(Instant, Instant)> = None;
        for (i, r) in results.into_iter().enumerate() {
            let r = r.map_err(|e| format!("subscriber {}: {e}", i + 1))?;
            total += r.count;
            window = Some(match window {
                None => (r.first, r.last),
                Some((first, last)) => (first.min(r.first), last.max(r.last)),
            });
        }
        let (first, last) = window.ok_or("no subscribers")?;
        Ok((total, last.duration_since(first)))
    }

    fn report_delivered((received, window): (u64, Duration)) -> Res<()> {
        println!("{DELIVERED_LINE}{received} {}", window.as_nanos());
        Ok(())
    }

    fn err(what: &str) -> impl Fn(brokerless::Error) -> String + '_ {
        move |e| format!("{what}: {e}")
    }

    fn check_size(m: &brokerless::Message, size: usize) -> Res<()> {
        if m.len() == 1 && m[0].len() == size {
            Ok(())
        } else {
            Err(format!("unexpected message {m:?}"))
        }
    }

    fn brokerless_pub(bind: &str, size: usize, count: u64, subscribers: usize) -> Res<()> {
        use brokerless::{Message, SocketType};
        // As in `throughput`: one shared payload, no copy per message.
        let payload = bytes::Bytes::from(vec![0x5a_u8; size]);
        let ctx = common::brokerless_context()?;
        let publ = ctx.socket(SocketType::Pub).map_err(err("socket"))?;
        publ.set_send_hwm(FANOUT_HWM).map_err(err("option"))?;
        publ.set_recv_hwm(FANOUT_HWM).map_err(err("option"))?;
        publ.bind(bind).map_err(err("bind"))?;
        announce(&publ.last_endpoint().ok_or("no endpoint after bind")?);
        publ.wait_for_subscribers(subscribers, CHILD_TIMEOUT)
            .map_err(err("waiting for the subscribers"))?;
        for _ in 0..count {
            publ.send(Message::from(payload.clone()))
                .map_err(err("send"))?;
        }
        // Closing flushes what is still queued (infinite linger).
        drop(publ);
        drop(ctx);
        Ok(())
    }

    fn brokerless_subs(
        endpoint: &str,
        size: usize,
        count: u64,
        subscribers: usize,
    ) -> Res<(u64, Duration)> {
        use brokerless::{Error, SocketType};
        let ctx = common::brokerless_context()?;
        run_subscribers(subscribers, || {
            let sub = ctx.socket(SocketType::Sub).map_err(err("socket"))?;
            sub.set_send_hwm(FANOUT_HWM).map_err(err("option"))?;
            sub.set_recv_hwm(FANOUT_HWM).map_err(err("option"))?;
            sub.set_recv_timeout(Some(CHILD_TIMEOUT))
                .map_err(err("option"))?;
            sub.connect(endpoint).map_err(err("connect"))?;
            sub.subscribe("").map_err(err("subscribe"))?;
            count_messages(
                count,
                || match sub.recv() {
                    Ok(m) => check_size(&m, size).map(|()| true),
                    Err(Error::Timeout) => Ok(false),
                    Err(e) => Err(format!("recv: {e}")),
                },
                || sub.set_recv_timeout(Some(QUIET)).map_err(err("option")),
            )
        })
    }

    fn brokerless_match_pub(bind: &str, size: usize, count: u64, topics: usize) -> Res<Duration> {
        use brokerless::{Message, SocketType};
        let messages = published_topics(topics)
            .iter()
            .map(|(t, _)| topic_message(t, size).map(bytes::Bytes::from))
            .collect::<Res<Vec<_>>>()?;
        let ctx = common::brokerless_context()?;
        // An XPUB, to see every subscription arrive; it sends as a PUB.
        let xpub = ctx.socket(SocketType::XPub).map_err(err("socket"))?;
        xpub.set_send_hwm(0).map_err(err("option"))?;
        xpub.set_recv_hwm(0).map_err(err("option"))?;
        xpub.set_recv_timeout(Some(CHILD_TIMEOUT))
            .map_err(err("option"))?;
        xpub.bind(bind).map_err(err("bind"))?;
        announce(&xpub.last_endpoint().ok_or("no endpoint after bind")?);
        for i in 0..topics {
            let m = xpub
                .recv()
                .map_err(|e| format!("recv of subscription {} of {topics}: {e}", i + 1))?;
            if m.len() != 1 || m[0].first() != Some(&1) {
                return Err(format!("unexpected subscription message {m:?}"));
            }
        }
        let start = Instant::now();
        for m in messages.iter().cycle().take(count as usize) {
            xpub.send(Message::from(m.clone())).map_err(err("send"))?;
        }
        let elapsed = start.elapsed();
        drop(xpub);
        drop(ctx);
        Ok(elapsed)
    }

    /// Whether `frame` starts with one of the first `topics` topics.
    fn subscribed(frame: &[u8], topics: usize) -> bool {
        let Some(rest) = frame.strip_prefix(b"topic.") else {
            return false;
        };
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        std::str::from_utf8(&rest[..digits])
            .ok()
            .and_then(|d| d.parse::<usize>().ok())
            .is_some_and(|i| i < topics)
    }

    fn brokerless_match_sub(endpoint: &str, size: usize, count: u64, topics: usize) -> Res<()> {
        use brokerless::SocketType;
        let expected = matching_count(&published_topics(topics), count);
        let ctx = common::brokerless_context()?;
        let sub = ctx.socket(SocketType::Sub).map_err(err("socket"))?;
        // As for libzmq, which needs it (see `zmq::match_sub`).
        sub.set_send_hwm(0).map_err(err("option"))?;
        sub.set_recv_hwm(0).map_err(err("option"))?;
        sub.set_recv_timeout(Some(CHILD_TIMEOUT))
            .map_err(err("option"))?;
        sub.connect(endpoint).map_err(err("connect"))?;
        for i in 0..topics {
            sub.subscribe(topic(i)).map_err(err("subscribe"))?;
        }
        for i in 0..expected {
            let m = sub
                .recv()
                .map_err(|e| format!("recv of message {} of {expected}: {e}", i + 1))?;
            check_size(&m, size)?;
            if !subscribed(&m[0], topics) {
                return Err(format!("message {m:?} matches no subscription"));
            }
            if i == 0 {
                sub.set_recv_timeout(Some(MATCH_QUIET))
                    .map_err(err("option"))?;
            }
        }
        drop(sub);
        drop(ctx);
        Ok(())
    }

    /// The libzmq side through the raw C API, as lean as libzmq's own
    /// perf tools.
    mod zmq {
        use std::ffi::{c_int, c_void};
        use std::marker::PhantomData;

        use libzmq_peer::{
            SocketKind, ZMQ_RCVHWM, ZMQ_RCVTIMEO, ZMQ_SNDHWM, ZMQ_SUBSCRIBE, ZMQ_XPUB_VERBOSE,
            ZmqError, ffi,
        };

        use super::*;
        use common::zmq::{Msg, Zmq, retry};

        /// Sets a socket option from bytes.
        fn set_bytes(sock: *mut c_void, option: i32, value: &[u8]) -> Res<()> {
            // SAFETY: `sock` is a live socket; `value` is readable for
            // its length, which libzmq copies.
            let rc =
                unsafe { ffi::zmq_setsockopt(sock, option, value.as_ptr().cast(), value.len()) };
            if rc != 0 {
                return Err(format!("zmq_setsockopt: {}", ZmqError::last()));
            }
            Ok(())
        }

        fn set_int(sock: *mut c_void, option: i32, value: c_int) -> Res<()> {
            set_bytes(sock, option, &value.to_ne_bytes())
        }

        /// Receives into `msg`; false if the receive timeout expired.
        fn recv_or_timeout(sock: *mut c_void, msg: &mut Msg) -> Res<bool> {
            loop {
                // SAFETY: `sock` is a live socket used by this thread
                // only; `msg` is initialised, and zmq_msg_recv releases
                // its previous content first.
                if unsafe { ffi::zmq_msg_recv(msg.as_mut_ptr(), sock, 0) } >= 0 {
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

        /// Reads `n` subscription messages from an XPUB.
        fn await_subscriptions(z: &Zmq, n: usize) -> Res<()> {
            let mut msg = Msg::new()?;
            for i in 0..n {
                // SAFETY: live socket; `msg` is initialised, and
                // zmq_msg_recv releases its previous content first.
                retry("zmq_msg_recv of a subscription", || unsafe {
                    ffi::zmq_msg_recv(msg.as_mut_ptr(), z.sock, 0)
                })
                .map_err(|e| format!("subscription {} of {n}: {e}", i + 1))?;
                if msg.content().first() != Some(&1) {
                    return Err("unexpected message on the XPUB".into());
                }
            }
            Ok(())
        }

        /// A context shared by several sockets, each created, used and
        /// closed by one thread (a libzmq context is thread-safe, its
        /// sockets are not); terminated on drop.
        struct Context(*mut c_void);

        // SAFETY: libzmq contexts may be used from any thread
        // (zmq_ctx_new(3)).
        unsafe impl Send for Context {}
        // SAFETY: as above.
        unsafe impl Sync for Context {}

        impl Context {
            fn new() -> Res<Context> {
                let ctx = ffi::zmq_ctx_new();
                if ctx.is_null() {
                    return Err(format!("zmq_ctx_new: {}", ZmqError::last()));
                }
                Ok(Context(ctx))
            }

            fn socket(&self, kind: SocketKind) -> Res<Socket<'_>> {
                // SAFETY: `self.0` is a live context.
                let sock = unsafe { ffi::zmq_socket(self.0, kind.raw()) };
                if sock.is_null() {
                    return Err(format!("zmq_socket: {}", ZmqError::last()));
                }
                Ok(Socket {
                    sock,
                    _ctx: PhantomData,
                })
            }
        }

        impl Drop for Context {
            fn drop(&mut self) {
                // SAFETY: the context is live and terminated only here,
                // after every socket (which borrow it) was closed;
                // retried on EINTR as zmq_ctx_term(3) requires.
                unsafe {
                    while ffi::zmq_ctx_term(self.0) != 0 && ZmqError::last().is_interrupted() {}
                }
            }
        }

        /// A socket of a [`Context`], closed on drop.
        struct Socket<'a> {
            sock: *mut c_void,
            _ctx: PhantomData<&'a Context>,
        }

        impl Drop for Socket<'_> {
            fn drop(&mut self) {
                // SAFETY: the socket is live and closed only here.
                unsafe { ffi::zmq_close(self.sock) };
            }
        }

        pub fn publ(bind: &str, size: usize, count: u64, subscribers: usize) -> Res<()> {
            // An XPUB, to see every subscription arrive (verbose: also
            // the repeated ones); it sends as a PUB.
            let z = Zmq::new(SocketKind::XPub.raw(), ZMQ_RCVTIMEO)?;
            z.set_int(ZMQ_XPUB_VERBOSE, 1)?;
            z.set_int(ZMQ_SNDHWM, FANOUT_HWM as c_int)?;
            z.set_int(ZMQ_RCVHWM, FANOUT_HWM as c_int)?;
            z.bind(bind)?;
            announce(&z.last_endpoint()?);
            await_subscriptions(&z, subscribers)?;
            z.send_copies(&vec![0x5a_u8; size], count)?;
            // Dropping `z` waits in zmq_ctx_term until everything queued
            // has been sent (infinite linger).
            drop(z);
            Ok(())
        }

        pub fn subs(
            endpoint: &str,
            size: usize,
            count: u64,
            subscribers: usize,
        ) -> Res<(u64, Duration)> {
            let ctx = Context::new()?;
            run_subscribers(subscribers, || {
                let s = ctx.socket(SocketKind::Sub)?;
                set_int(s.sock, ZMQ_SNDHWM, FANOUT_HWM as c_int)?;
                set_int(s.sock, ZMQ_RCVHWM, FANOUT_HWM as c_int)?;
                set_int(s.sock, ZMQ_RCVTIMEO, CHILD_TIMEOUT.as_millis() as c_int)?;
                s_connect(&s, endpoint)?;
                set_bytes(s.sock, ZMQ_SUBSCRIBE, b"")?;
                // One message reused for every receive, as in local_thr.
                let mut msg = Msg::new()?;
                count_messages(
                    count,
                    || {
                        if !recv_or_timeout(s.sock, &mut msg)? {
                            return Ok(false);
                        }
                        let got = msg.size();
                        if got != size {
                            return Err(format!("message of {got} bytes, expected {size}"));
                        }
                        Ok(true)
                    },
                    || set_int(s.sock, ZMQ_RCVTIMEO, QUIET.as_millis() as c_int),
                )
            })
        }

        fn s_connect(s: &Socket<'_>, endpoint: &str) -> Res<()> {
            let c = std::ffi::CString::new(endpoint)
                .map_err(|_| format!("bad endpoint {endpoint:?}"))?;
            // SAFETY: live socket; `c` is NUL-terminated and outlives the
            // call.
            if unsafe { ffi::zmq_connect(s.sock, c.as_ptr()) } != 0 {
                return Err(format!("zmq_connect: {}", ZmqError::last()));
            }
            Ok(())
        }

        pub fn match_pub(bind: &str, size: usize, count: u64, topics: usize) -> Res<Duration> {
            let order = published_topics(topics);
            let mut bodies = Vec::with_capacity(order.len() * size);
            for (t, _) in &order {
                bodies.extend(topic_message(t, size)?);
            }
            // An XPUB, to see every subscription arrive; it sends as a
            // PUB.
            let z = Zmq::new(SocketKind::XPub.raw(), ZMQ_RCVTIMEO)?;
            z.set_int(ZMQ_SNDHWM, 0)?;
            z.set_int(ZMQ_RCVHWM, 0)?;
            z.bind(bind)?;
            announce(&z.last_endpoint()?);
            await_subscriptions(&z, topics)?;
            let start = Instant::now();
            for body in bodies.chunks_exact(size).cycle().take(count as usize) {
                // SAFETY: live socket; `body` is readable for `size`
                // bytes, which libzmq copies into a new message (as
                // `Zmq::send_copies`) before returning.
                retry("zmq_send", || unsafe {
                    ffi::zmq_send(z.sock, body.as_ptr().cast(), size, 0)
                })?;
            }
            let elapsed = start.elapsed();
            drop(z);
            Ok(elapsed)
        }

        pub fn match_sub(endpoint: &str, size: usize, count: u64, topics: usize) -> Res<()> {
            let expected = matching_count(&published_topics(topics), count);
            let z = Zmq::new(SocketKind::Sub.raw(), ZMQ_RCVTIMEO)?;
            // libzmq drops a subscription that finds the SUB's outbound
            // queue at its high-water mark.
            z.set_int(ZMQ_SNDHWM, 0)?;
            z.set_int(ZMQ_RCVHWM, 0)?;
            z.connect(endpoint)?;
            for i in 0..topics {
                set_bytes(z.sock, ZMQ_SUBSCRIBE, topic(i).as_bytes())?;
            }
            let mut msg = Msg::new()?;
            for i in 0..expected {
                let what = || format!("recv of message {} of {expected}", i + 1);
                if !recv_or_timeout(z.sock, &mut msg).map_err(|e| format!("{}: {e}", what()))? {
                    return Err(format!("{}: timed out", what()));
                }
                // SAFETY: the message is initialised; zmq_msg_data points
                // to its zmq_msg_size bytes, valid until it is next
                // changed, after this check.
                let body = unsafe {
                    std::slice::from_raw_parts(
                        ffi::zmq_msg_data(msg.as_mut_ptr()).cast::<u8>(),
                        msg.size(),
                    )
                };
                if body.len() != size || !subscribed(body, topics) {
                    return Err(format!("unexpected message {body:?}"));
                }
                if i == 0 {
                    z.set_int(ZMQ_RCVTIMEO, MATCH_QUIET.as_millis() as c_int)?;
                }
            }
            drop(z);
            Ok(())
        }
    }
}
