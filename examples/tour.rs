//! The tour: every messaging pattern of brokerless, end to end, in one
//! process, over real transports: TCP on loopback, ipc (Unix domain
//! sockets in a temporary directory, removed at the end) and inproc.
//!
//! Run: `cargo run --example tour`
//!
//! 1. request-reply: REQ clients and a REP server (tcp)
//! 2. dealer-router: DEALER clients pipeline requests through a
//!    ROUTER/DEALER broker (`brokerless::proxy`) to REP workers
//!    (ipc, inproc)
//! 3. pub-sub: one PUB bound on tcp, ipc and inproc; each SUB gets its
//!    topics and nothing else
//! 4. pipeline: ventilator, three workers and a sink (tcp, ipc); the
//!    ventilator starts once its monitor has seen the three workers
//! 5. bus: a four-node BUS mesh over tcp, ipc and inproc; every node hears
//!    every other node's message exactly once, although each pair of
//!    nodes is linked twice
//! 6. radio-dish: groups over tcp, ipc and inproc
//! 7. radio-dish-udp: a DISH bound on `udp://127.0.0.1:*`, a RADIO
//!    sending datagrams to it
//! 8. curve: REQ/REP encrypted with CURVE over tcp; the context's
//!    authenticator admits one client key, names the client by it on
//!    every message, and refuses a client with an unknown key
//!
//! Every section checks that exactly the expected messages arrived (counts
//! and contents), prints a few of them and a one-line figure, and reports
//! `PASS name: ...` or `FAIL name: why`. The exit code is 0 only if every
//! section passed. No step sleeps to wait for connections: binds use port
//! `*` read back with `last_endpoint`, and publishers wait with
//! `wait_for_subscribers` or a monitor. Every wait is bounded (5 s), and
//! every socket lingers at most 1 s, so the tour cannot hang.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use brokerless::{
    Authenticator, Context, CurveKeyPair, Error, Message, MonitorEvent, ProtocolError, Socket,
    SocketType,
};

/// The longest any step waits before its section fails.
const WAIT: Duration = Duration::from_secs(5);
/// How long a closing socket may keep sending what it has queued.
const LINGER: Duration = Duration::from_secs(1);

/// A section's result: its one-line figure, or why it failed.
type Outcome<T = String> = Result<T, String>;

/// A section of the tour.
type Section = fn(&TempDir) -> Outcome;

fn main() -> ExitCode {
    let dir = match TempDir::new() {
        Ok(dir) => dir,
        Err(e) => {
            println!("FAIL tour: cannot create a temporary directory for ipc: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sections: [(&str, &str, Section); 8] = [
        (
            "request-reply",
            "three REQ clients ask one REP server, over tcp",
            request_reply,
        ),
        (
            "dealer-router",
            "DEALER clients -> ROUTER/DEALER broker -> REP workers, over ipc and inproc",
            dealer_router,
        ),
        (
            "pub-sub",
            "one PUB bound on tcp, ipc and inproc; SUBs with topic prefixes",
            pub_sub,
        ),
        (
            "pipeline",
            "ventilator -> three workers -> sink, over tcp and ipc",
            pipeline,
        ),
        ("bus", "a four-node BUS mesh over tcp, ipc and inproc", bus),
        (
            "radio-dish",
            "a RADIO bound on tcp, ipc and inproc; DISHes join groups",
            radio_dish,
        ),
        (
            "radio-dish-udp",
            "a DISH bound on udp://, a RADIO sending it datagrams",
            radio_dish_udp,
        ),
        (
            "curve",
            "REQ/REP encrypted with CURVE over tcp, clients checked by an authenticator",
            curve,
        ),
    ];
    println!("brokerless tour: every pattern end to end, over tcp, ipc and inproc, in one process");
    let started = Instant::now();
    let mut failed = Vec::new();
    for (i, (name, title, run)) in sections.iter().enumerate() {
        println!("\n[{}/{}] {name}: {title}", i + 1, sections.len());
        match run(&dir) {
            Ok(figure) => println!("  PASS {name}: {figure}"),
            Err(why) => {
                println!("  FAIL {name}: {why}");
                failed.push(*name);
            }
        }
    }
    drop(dir);
    if failed.is_empty() {
        println!(
            "\ntour: all {} patterns delivered exactly what they should, in {}",
            sections.len(),
            ms(started.elapsed())
        );
        ExitCode::SUCCESS
    } else {
        println!(
            "\nFAIL tour: {} of {} patterns did not deliver what they should: {}",
            failed.len(),
            sections.len(),
            failed.join(", ")
        );
        ExitCode::FAILURE
    }
}

// ---------------------------------------------------------------------------
// 1. request-reply

fn request_reply(_: &TempDir) -> Outcome {
    const CLIENTS: usize = 3;
    const EACH: usize = 4;
    let ctx = Scoped::new();
    let rep = socket(&ctx, SocketType::Rep, Some(WAIT))?;
    let ep = bind(&rep, "tcp://127.0.0.1:*")?;
    println!("    REP server on {ep}; each client sends {EACH} sums, one at a time");
    let started = Instant::now();
    let server = thread::spawn(move || -> Outcome<usize> {
        for _ in 0..CLIENTS * EACH {
            let request = frames(&rep.recv().or_fail("server: receive")?);
            let answer = request
                .first()
                .and_then(|q| add(q))
                .ok_or_else(|| format!("server: bad request {request:?}"))?;
            rep.send(answer.to_string()).or_fail("server: reply")?;
        }
        Ok(CLIENTS * EACH)
    });
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let ctx = ctx.clone();
            let ep = ep.clone();
            thread::spawn(move || -> Outcome<Vec<(String, String)>> {
                let req = socket(&ctx, SocketType::Req, Some(WAIT))?;
                req.connect(&ep).or_fail("connect")?;
                let mut exchanges = Vec::new();
                for i in 0..EACH {
                    let (a, b) = (10 * c + i, 7 * i + 1);
                    let question = format!("{a} + {b}");
                    req.send(question.as_str()).or_fail("client: send")?;
                    let reply = frames(&req.recv().or_fail("client: receive")?);
                    ensure(reply == [(a + b).to_string()], || {
                        format!("client-{c}: {question:?} was answered {reply:?}")
                    })?;
                    exchanges.push((question, reply.concat()));
                }
                Ok(exchanges)
            })
        })
        .collect();
    let mut replies = 0;
    for (c, client) in clients.into_iter().enumerate() {
        let exchanges = joined(client)?;
        replies += exchanges.len();
        if let (Some((q1, r1)), Some((q2, r2))) = (exchanges.first(), exchanges.last()) {
            println!("    client-{c}: {q1:?} -> {r1:?}, ... {q2:?} -> {r2:?}");
        }
    }
    let served = joined(server)?;
    let elapsed = started.elapsed();
    ensure(served == CLIENTS * EACH && replies == served, || {
        format!("{served} requests served, {replies} replies checked")
    })?;
    Ok(format!(
        "{served} requests, {replies} correct replies in {} ({} per round trip, 3 clients at once)",
        ms(elapsed),
        ms(elapsed / served as u32)
    ))
}

/// Evaluates `"a + b"`.
fn add(question: &str) -> Option<u64> {
    let (a, b) = question.split_once(" + ")?;
    Some(a.parse::<u64>().ok()? + b.parse::<u64>().ok()?)
}

// ---------------------------------------------------------------------------
// 8. curve

fn curve(_: &TempDir) -> Outcome {
    const REQUESTS: usize = 5;
    let ctx = Scoped::new();
    let server_keys = CurveKeyPair::generate();
    let client_keys = CurveKeyPair::generate();
    let auth = Authenticator::new(&ctx).or_fail("authenticator")?;
    auth.allow_curve_key(client_keys.public());
    let rep = socket(&ctx, SocketType::Rep, Some(WAIT))?;
    rep.set_curve_server(&server_keys).or_fail("curve server")?;
    let ep = bind(&rep, "tcp://127.0.0.1:*")?;
    println!(
        "    REP server on {ep}, public key {}",
        server_keys.public().to_z85()
    );
    println!(
        "    the authenticator admits one client key: {}",
        client_keys.public().to_z85()
    );
    let started = Instant::now();
    let req = socket(&ctx, SocketType::Req, Some(WAIT))?;
    req.set_curve_client(&client_keys, server_keys.public())
        .or_fail("curve client")?;
    req.connect(&ep).or_fail("connect")?;
    let expected_id = client_keys.public().to_z85();
    for i in 0..REQUESTS {
        req.send(format!("secret {i}")).or_fail("client: send")?;
        let msg = rep.recv().or_fail("server: receive")?;
        let user = String::from_utf8_lossy(msg.user_id().unwrap_or_default()).into_owned();
        ensure(
            frames(&msg) == [format!("secret {i}")] && user == expected_id,
            || format!("server got {:?} from user {user:?}", frames(&msg)),
        )?;
        if i == 0 {
            println!("    server: {:?} from user {user}", frames(&msg)[0]);
        }
        rep.send(format!("ok {i}")).or_fail("server: reply")?;
        let reply = frames(&req.recv().or_fail("client: receive")?);
        ensure(reply == [format!("ok {i}")], || {
            format!("client got {reply:?}")
        })?;
    }
    let elapsed = started.elapsed();

    // A client whose key the authenticator does not know is refused.
    let stranger = socket(&ctx, SocketType::Req, Some(WAIT))?;
    stranger
        .set_curve_client(&CurveKeyPair::generate(), server_keys.public())
        .or_fail("curve client")?;
    let monitor = stranger.monitor().or_fail("monitor")?;
    stranger.connect(&ep).or_fail("connect")?;
    let refused = loop {
        match monitor.recv_timeout(WAIT) {
            Ok(MonitorEvent::HandshakeFailed { error, .. }) => break error,
            Ok(_) => {}
            Err(e) => return Err(format!("stranger: no refusal seen: {e}")),
        }
    };
    ensure(
        refused == ProtocolError::RefusedByPeer { status_code: 400 },
        || format!("stranger: {refused}"),
    )?;
    println!("    a client with an unknown key: {refused}");
    ensure(auth.stats().allowed >= 1, || {
        "the authenticator admitted nobody".into()
    })?;
    Ok(format!(
        "{REQUESTS} encrypted round trips in {}, each request from the admitted key; the unknown key refused (400)",
        ms(elapsed)
    ))
}

// ---------------------------------------------------------------------------
// 2. dealer-router

fn dealer_router(dir: &TempDir) -> Outcome {
    const CLIENTS: [&str; 3] = ["client-a", "client-b", "client-c"];
    const WORKERS: usize = 3;
    const EACH: usize = 5;
    let ctx = Scoped::new();
    // The broker's sockets have no receive timeout: the proxy runs until
    // the context ends.
    let frontend = socket(&ctx, SocketType::Router, None)?;
    let front_ep = bind(&frontend, &dir.ipc("broker"))?;
    let backend = socket(&ctx, SocketType::Dealer, None)?;
    let back_ep = bind(&backend, "inproc://workers")?;
    println!("    broker: ROUTER on {front_ep} (clients), DEALER on {back_ep} (workers)");
    let broker = thread::spawn(move || brokerless::proxy(&frontend, &backend, None));

    let (ready, workers_ready) = std::sync::mpsc::channel();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let ctx = ctx.clone();
            let ready = ready.clone();
            thread::spawn(move || -> Outcome<()> {
                let rep = socket(&ctx, SocketType::Rep, None)?;
                rep.connect("inproc://workers").or_fail("worker: connect")?;
                let _ = ready.send(w);
                loop {
                    let request = match rep.recv() {
                        Ok(m) => frames(&m).concat(),
                        Err(Error::Terminated) => return Ok(()),
                        Err(e) => return Err(format!("worker-{w}: receive: {e}")),
                    };
                    match rep.send(format!("{request}, done by worker-{w}")) {
                        Ok(()) => {}
                        Err(Error::Terminated) => return Ok(()),
                        Err(e) => return Err(format!("worker-{w}: reply: {e}")),
                    }
                }
            })
        })
        .collect();

    // inproc connects are made at once: a worker that has connected is
    // in the backend's round-robin.
    for _ in 0..WORKERS {
        workers_ready
            .recv_timeout(WAIT)
            .or_fail("waiting for the workers")?;
    }
    let started = Instant::now();
    let clients: Vec<_> = CLIENTS
        .iter()
        .map(|&name| {
            let ctx = ctx.clone();
            let ep = front_ep.clone();
            thread::spawn(move || -> Outcome<Vec<String>> {
                let dealer = socket(&ctx, SocketType::Dealer, Some(WAIT))?;
                dealer.set_routing_id(name).or_fail("routing id")?;
                dealer.connect(&ep).or_fail("connect")?;
                // Asynchronous: every request goes out before any reply
                // is read. The empty frame is the delimiter a REP expects.
                for job in 0..EACH {
                    let request: Message = [String::new(), format!("{name} job {job}")]
                        .into_iter()
                        .collect();
                    dealer.send(request).or_fail("client: send")?;
                }
                let mut replies = Vec::new();
                for _ in 0..EACH {
                    let reply = frames(&dealer.recv().or_fail("client: receive")?);
                    match reply.as_slice() {
                        [empty, body] if empty.is_empty() => replies.push(body.clone()),
                        _ => return Err(format!("{name}: malformed reply {reply:?}")),
                    }
                }
                Ok(replies)
            })
        })
        .collect();

    let mut per_worker = BTreeMap::new();
    let mut total = 0;
    for (name, client) in CLIENTS.iter().zip(clients) {
        let replies = joined(client)?;
        let jobs: BTreeSet<usize> = replies
            .iter()
            .filter_map(|r| {
                let job = r.strip_prefix(&format!("{name} job "))?;
                let (job, worker) = job.split_once(", done by ")?;
                *per_worker.entry(worker.to_string()).or_insert(0) += 1;
                job.parse().ok()
            })
            .collect();
        ensure(jobs == (0..EACH).collect(), || {
            format!("{name} got replies {replies:?}, not one per job 0..{EACH}")
        })?;
        total += replies.len();
        println!(
            "    {name}: {EACH} requests sent at once, {} replies, e.g. {:?}",
            replies.len(),
            replies.first().cloned().unwrap_or_default()
        );
    }
    let elapsed = started.elapsed();
    ctx.shutdown();
    for w in workers {
        joined(w)?;
    }
    match broker.join() {
        Ok(Err(Error::Terminated)) => {}
        Ok(other) => return Err(format!("the broker stopped with {other:?}")),
        Err(_) => return Err("the broker thread panicked".into()),
    }
    let shares: Vec<String> = per_worker.iter().map(|(w, n)| format!("{w} {n}")).collect();
    Ok(format!(
        "{total} requests through the broker, {total} replies routed back to their clients in {} ({})",
        ms(elapsed),
        shares.join(", ")
    ))
}

// ---------------------------------------------------------------------------
// 3. pub-sub

fn pub_sub(dir: &TempDir) -> Outcome {
    const TOPICS: [&str; 5] = [
        "weather.rome",
        "weather.oslo",
        "sport.golf",
        "news.local",
        "traffic.a1",
    ];
    const ROUNDS: usize = 8;
    let ctx = Scoped::new();
    let publ = socket(&ctx, SocketType::Pub, Some(WAIT))?;
    let tcp = bind(&publ, "tcp://127.0.0.1:*")?;
    let ipc = bind(&publ, &dir.ipc("pubsub"))?;
    let inproc = bind(&publ, "inproc://pubsub")?;
    println!("    PUB on {tcp}, {ipc} and {inproc}");
    // (prefix, endpoint, transport name); one prefix each, so that
    // `wait_for_subscribers` means every subscription has arrived.
    let wanted = [
        ("weather.", &tcp, "tcp"),
        ("sport.", &ipc, "ipc"),
        ("news.", &inproc, "inproc"),
        ("", &tcp, "tcp"),
    ];
    let mut subs = Vec::new();
    for (prefix, ep, _) in &wanted {
        let sub = socket(&ctx, SocketType::Sub, Some(WAIT))?;
        sub.subscribe(prefix).or_fail("subscribe")?;
        sub.connect(ep).or_fail("connect")?;
        subs.push(sub);
    }
    let started = Instant::now();
    publ.wait_for_subscribers(wanted.len(), WAIT)
        .or_fail("waiting for the subscribers")?;
    let joined_after = started.elapsed();
    let mut sent = Vec::new();
    for round in 0..ROUNDS {
        for (t, topic) in TOPICS.iter().enumerate() {
            let body = format!("update {}", round * TOPICS.len() + t);
            let msg: Message = [topic.to_string(), body.clone()].into_iter().collect();
            publ.send(msg).or_fail("publish")?;
            sent.push(vec![topic.to_string(), body]);
        }
    }
    let mut delivered = 0;
    for ((prefix, _, transport), sub) in wanted.iter().zip(&subs) {
        let expected: Vec<&Vec<String>> =
            sent.iter().filter(|m| m[0].starts_with(prefix)).collect();
        let mut got = Vec::new();
        for _ in 0..expected.len() {
            got.push(frames(&sub.recv().or_fail(&format!(
                "SUB {prefix:?}: receive (after {})",
                got.len()
            ))?));
        }
        ensure(got.iter().eq(expected.iter().copied()), || {
            format!("SUB {prefix:?} received {got:?}, expected {expected:?}")
        })?;
        delivered += got.len();
        let sample: Vec<String> = got.iter().take(2).map(|m| m.join(" | ")).collect();
        println!(
            "    SUB {:<10} via {transport:<6} {:>2} messages: {}, ...",
            format!("{prefix:?}"),
            got.len(),
            sample.join(", ")
        );
    }
    let elapsed = started.elapsed();
    Ok(format!(
        "{} published on 5 topics, {delivered} deliveries, each SUB exactly its prefix, in {} \
         (subscriptions in after {})",
        sent.len(),
        ms(elapsed),
        ms(joined_after)
    ))
}

// ---------------------------------------------------------------------------
// 4. pipeline

fn pipeline(dir: &TempDir) -> Outcome {
    const WORKERS: usize = 3;
    const TASKS: u64 = 300;
    let ctx = Scoped::new();
    let ventilator = socket(&ctx, SocketType::Push, Some(WAIT))?;
    let monitor = ventilator.monitor().or_fail("monitor")?;
    let vent_ep = bind(&ventilator, "tcp://127.0.0.1:*")?;
    let sink = socket(&ctx, SocketType::Pull, Some(WAIT))?;
    let sink_ep = bind(&sink, &dir.ipc("sink"))?;
    println!("    ventilator PUSH on {vent_ep}, sink PULL on {sink_ep}");

    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let ctx = ctx.clone();
            let (vent_ep, sink_ep) = (vent_ep.clone(), sink_ep.clone());
            thread::spawn(move || -> Outcome<()> {
                let tasks = socket(&ctx, SocketType::Pull, None)?;
                tasks.connect(&vent_ep).or_fail("worker: connect")?;
                let results = socket(&ctx, SocketType::Push, Some(WAIT))?;
                results.connect(&sink_ep).or_fail("worker: connect")?;
                loop {
                    let n = match tasks.recv() {
                        Ok(m) => frames(&m).concat(),
                        Err(Error::Terminated) => return Ok(()),
                        Err(e) => return Err(format!("worker-{w}: receive: {e}")),
                    };
                    let square = n.parse::<u64>().map(|n| n * n).unwrap_or(0);
                    let result: Message = [format!("worker-{w}"), n, square.to_string()]
                        .into_iter()
                        .collect();
                    match results.send(result) {
                        Ok(()) => {}
                        Err(Error::Terminated) => return Ok(()),
                        Err(e) => return Err(format!("worker-{w}: send: {e}")),
                    }
                }
            })
        })
        .collect();

    // Start only once every worker is connected, so that the tasks are
    // shared between all three from the first one.
    let started = Instant::now();
    let mut handshakes = 0;
    while handshakes < WORKERS {
        match monitor.recv_timeout(WAIT) {
            Ok(MonitorEvent::HandshakeSucceeded { .. }) => handshakes += 1,
            Ok(_) => {}
            Err(e) => return Err(format!("{handshakes} of {WORKERS} workers connected: {e}")),
        }
    }
    println!(
        "    monitor: {WORKERS} workers connected after {}; sending {TASKS} tasks",
        ms(started.elapsed())
    );
    let started = Instant::now();
    for n in 0..TASKS {
        ventilator.send(n.to_string()).or_fail("ventilator: send")?;
    }
    let mut seen = vec![false; TASKS as usize];
    let mut per_worker = BTreeMap::new();
    let mut sum = 0;
    for i in 0..TASKS {
        let result = frames(&sink.recv().or_fail(&format!("sink: receive (after {i})"))?);
        let [worker, n, square] = result.as_slice() else {
            return Err(format!("sink: malformed result {result:?}"));
        };
        let n: u64 = n.parse().or_fail("sink: task number")?;
        let square: u64 = square.parse().or_fail("sink: result")?;
        ensure(n < TASKS && !seen[n as usize] && square == n * n, || {
            format!("sink: unexpected or repeated result {result:?}")
        })?;
        seen[n as usize] = true;
        sum += square;
        *per_worker.entry(worker.clone()).or_insert(0) += 1;
    }
    let elapsed = started.elapsed();
    for (w, n) in &per_worker {
        println!("    {w}: {n} tasks");
    }
    ctx.shutdown();
    for w in workers {
        joined(w)?;
    }
    let expected: u64 = (0..TASKS).map(|n| n * n).sum();
    ensure(sum == expected && per_worker.len() == WORKERS, || {
        format!(
            "sum {sum} (expected {expected}), {} workers",
            per_worker.len()
        )
    })?;
    Ok(format!(
        "{TASKS} tasks, {TASKS} results, sum of squares {sum} as expected, in {}",
        ms(elapsed)
    ))
}

// ---------------------------------------------------------------------------
// 5. bus

fn bus(dir: &TempDir) -> Outcome {
    let ctx = Scoped::new();
    let names = ["node-a", "node-b", "node-c", "node-d"];
    let binds = [
        "tcp://127.0.0.1:*".to_string(),
        "tcp://127.0.0.1:*".to_string(),
        dir.ipc("bus"),
        "inproc://bus-d".to_string(),
    ];
    let mut nodes = Vec::new();
    let mut endpoints = Vec::new();
    for (name, ep) in names.iter().zip(&binds) {
        let node = socket(&ctx, SocketType::Bus, Some(WAIT))?;
        node.set_routing_id(*name).or_fail("routing id")?;
        endpoints.push(bind(&node, ep)?);
        nodes.push(node);
    }
    // A full mesh, each node connecting to every other: every pair of
    // nodes is linked twice, one connection each way.
    for (i, node) in nodes.iter().enumerate() {
        for (j, ep) in endpoints.iter().enumerate() {
            if i != j {
                node.connect(ep)
                    .or_fail(&format!("{}: connect", names[i]))?;
            }
        }
    }
    for (name, ep) in names.iter().zip(&endpoints) {
        println!("    {name} on {ep}, connected to the other three");
    }
    let started = Instant::now();
    for (name, node) in names.iter().zip(&nodes) {
        node.send(format!("hello from {name}"))
            .or_fail(&format!("{name}: send"))?;
    }
    let mut deliveries = 0;
    for (i, node) in nodes.iter().enumerate() {
        let mut heard = BTreeSet::new();
        for _ in 0..names.len() - 1 {
            let msg = frames(
                &node
                    .recv()
                    .or_fail(&format!("{} heard only {heard:?}", names[i]))?,
            )
            .concat();
            let from = msg.strip_prefix("hello from ").unwrap_or(&msg).to_string();
            ensure(heard.insert(from.clone()), || {
                format!("{} heard {from} twice", names[i])
            })?;
        }
        let others: BTreeSet<String> = names
            .iter()
            .filter(|n| **n != names[i])
            .map(|n| n.to_string())
            .collect();
        ensure(heard == others, || format!("{} heard {heard:?}", names[i]))?;
        deliveries += heard.len();
        let heard: Vec<_> = heard.into_iter().collect();
        println!("    {} heard {}", names[i], heard.join(", "));
    }
    let elapsed = started.elapsed();
    // Every message had two ways to each node: check that no second copy
    // follows (a short wait, for the copies on the other links).
    // The first node waits; by then the others' copies are in too.
    for (i, (name, node)) in names.iter().zip(&nodes).enumerate() {
        let wait = if i == 0 { 100 } else { 0 };
        node.set_recv_timeout(Some(Duration::from_millis(wait)))
            .or_fail("recv timeout")?;
        match node.recv() {
            Err(Error::Timeout | Error::WouldBlock) => {}
            Ok(extra) => return Err(format!("{name} heard a duplicate: {extra:?}")),
            Err(e) => return Err(format!("{name}: {e}")),
        }
    }
    Ok(format!(
        "{} messages, {deliveries} deliveries, each heard exactly once by each other node \
         over 12 connections, in {}",
        names.len(),
        ms(elapsed)
    ))
}

// ---------------------------------------------------------------------------
// 6. radio-dish

fn radio_dish(dir: &TempDir) -> Outcome {
    const GROUPS: [&str; 3] = ["sports", "weather", "traffic"];
    const ROUNDS: usize = 10;
    let ctx = Scoped::new();
    let radio = socket(&ctx, SocketType::Radio, Some(WAIT))?;
    let tcp = bind(&radio, "tcp://127.0.0.1:*")?;
    let ipc = bind(&radio, &dir.ipc("radio"))?;
    let inproc = bind(&radio, "inproc://radio")?;
    println!("    RADIO on {tcp}, {ipc} and {inproc}");
    let joins = [
        ("sports", &tcp, "tcp"),
        ("weather", &ipc, "ipc"),
        ("sports", &inproc, "inproc"),
    ];
    let mut dishes = Vec::new();
    for (group, ep, _) in &joins {
        let dish = socket(&ctx, SocketType::Dish, Some(WAIT))?;
        dish.join(group).or_fail("join")?;
        dish.connect(ep).or_fail("connect")?;
        dishes.push(dish);
    }
    let started = Instant::now();
    radio
        .wait_for_subscribers(joins.len(), WAIT)
        .or_fail("waiting for the dishes to join")?;
    let mut sent = Vec::new();
    for round in 0..ROUNDS {
        for group in GROUPS {
            let body = format!("{group} #{round}");
            radio
                .send(Message::with_group(group, body.clone()))
                .or_fail("radio: send")?;
            sent.push(vec![group.to_string(), body]);
        }
    }
    let mut delivered = 0;
    for ((group, _, transport), dish) in joins.iter().zip(&dishes) {
        let expected: Vec<&Vec<String>> = sent.iter().filter(|m| m[0] == *group).collect();
        let mut got = Vec::new();
        for _ in 0..expected.len() {
            got.push(frames(&dish.recv().or_fail(&format!(
                "DISH {group:?}: receive (after {})",
                got.len()
            ))?));
        }
        ensure(got.iter().eq(expected.iter().copied()), || {
            format!("DISH {group:?} received {got:?}, expected {expected:?}")
        })?;
        delivered += got.len();
        let sample: Vec<String> = got.iter().take(2).map(|m| m.join(" | ")).collect();
        println!(
            "    DISH joined {:<9} via {transport:<6} {} messages: {}, ...",
            format!("{group:?}"),
            got.len(),
            sample.join(", ")
        );
    }
    Ok(format!(
        "{} sent to 3 groups, {delivered} deliveries (\"traffic\" had no dish), in {}",
        sent.len(),
        ms(started.elapsed())
    ))
}

// ---------------------------------------------------------------------------
// 7. radio-dish over udp

fn radio_dish_udp(_: &TempDir) -> Outcome {
    const MESSAGES: usize = 20;
    let ctx = Scoped::new();
    let dish = socket(&ctx, SocketType::Dish, Some(WAIT))?;
    dish.join("alerts").or_fail("join")?;
    let ep = bind(&dish, "udp://127.0.0.1:*")?;
    let radio = socket(&ctx, SocketType::Radio, Some(WAIT))?;
    radio.connect(&ep).or_fail("radio: connect")?;
    println!("    DISH bound on {ep} joined \"alerts\"; the RADIO connects to it");
    let started = Instant::now();
    let mut expected = Vec::new();
    for i in 0..MESSAGES {
        let (group, body) = if i % 2 == 0 {
            ("alerts", format!("alert {}", i / 2))
        } else {
            ("chatter", format!("chatter {}", i / 2))
        };
        radio
            .send(Message::with_group(group, body.clone()))
            .or_fail("radio: send")?;
        if group == "alerts" {
            expected.push(vec![group.to_string(), body]);
        }
    }
    let mut got = Vec::new();
    for _ in 0..expected.len() {
        got.push(frames(
            &dish
                .recv()
                .or_fail(&format!("DISH: receive (after {})", got.len()))?,
        ));
    }
    let elapsed = started.elapsed();
    ensure(got == expected, || {
        format!("DISH received {got:?}, expected {expected:?}")
    })?;
    let sample: Vec<String> = got.iter().take(3).map(|m| m.join(" | ")).collect();
    println!("    DISH: {}, ...", sample.join(", "));
    Ok(format!(
        "{MESSAGES} datagrams sent (alerts and chatter), the DISH kept its {} alerts, in order, in {}",
        got.len(),
        ms(elapsed)
    ))
}

// ---------------------------------------------------------------------------
// Helpers

/// A context that is shut down when its section ends, however it ends:
/// a thread still blocked on one of its sockets returns at once.
struct Scoped(Context);

impl Scoped {
    fn new() -> Scoped {
        Scoped(Context::new())
    }
}

impl std::ops::Deref for Scoped {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.0
    }
}

impl Drop for Scoped {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

/// A socket that waits at most `recv_timeout` to receive and [`WAIT`] to
/// send, and at most [`LINGER`] on close.
fn socket(ctx: &Context, t: SocketType, recv_timeout: Option<Duration>) -> Outcome<Socket> {
    let s = ctx.socket(t).or_fail(&format!("{t} socket"))?;
    s.set_recv_timeout(recv_timeout).or_fail("recv timeout")?;
    s.set_send_timeout(Some(WAIT)).or_fail("send timeout")?;
    s.set_linger(Some(LINGER)).or_fail("linger")?;
    Ok(s)
}

/// Binds, and returns the endpoint with its port resolved.
fn bind(s: &Socket, endpoint: &str) -> Outcome<String> {
    s.bind(endpoint).or_fail(&format!("bind {endpoint}"))?;
    s.last_endpoint()
        .ok_or_else(|| format!("no endpoint after binding {endpoint}"))
}

/// The frames of a message, as text.
fn frames(msg: &Message) -> Vec<String> {
    msg.iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect()
}

/// A thread's result (a panic is a failure too).
fn joined<T>(handle: thread::JoinHandle<Outcome<T>>) -> Outcome<T> {
    handle.join().map_err(|_| "a thread panicked".to_string())?
}

fn ensure(ok: bool, why: impl FnOnce() -> String) -> Outcome<()> {
    if ok { Ok(()) } else { Err(why()) }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Turns any error into a failure saying what was being done.
trait OrFail<T> {
    fn or_fail(self, what: &str) -> Outcome<T>;
}

impl<T, E: Display> OrFail<T> for Result<T, E> {
    fn or_fail(self, what: &str) -> Outcome<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// A private temporary directory for the ipc socket files, removed on
/// drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("brokerless-tour-{}-{nanos}", std::process::id());
        // ipc paths are limited to 107 bytes: fall back to /tmp if the
        // system's temporary directory has a long name.
        let mut base = std::env::temp_dir();
        if base.as_os_str().len() > 64 {
            base = PathBuf::from("/tmp");
        }
        let path = base.join(name);
        std::fs::create_dir(&path)?;
        Ok(TempDir(path))
    }

    fn ipc(&self, name: &str) -> String {
        format!("ipc://{}/{name}.sock", self.0.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
