//! PUSH and PULL in separate terminals: one sender and one receiver, or a
//! whole pipeline (a ventilator, workers and a sink).
//!
//! ```text
//! cargo run --example pushpull -- pull 'tcp://*:5557'
//! cargo run --example pushpull -- push tcp://127.0.0.1:5557 hello world
//! ```
//!
//! `pull` binds and prints every message it receives (frames separated by
//! " | "); `push` connects and sends each remaining argument as one
//! message (or lines from standard input when there are none). Either
//! side may start first.
//!
//! A pipeline, as the ZeroMQ guide's divide-and-conquer: the sink, two
//! workers, then the ventilator, each in its own terminal:
//!
//! ```text
//! cargo run --example pushpull -- pull 'tcp://*:5558'
//! cargo run --example pushpull -- worker tcp://localhost:5557 tcp://localhost:5558 anna
//! cargo run --example pushpull -- worker tcp://localhost:5557 tcp://localhost:5558 ben
//! cargo run --example pushpull -- push --bind --peers 2 'tcp://*:5557' task-1 task-2 task-3 task-4
//! ```
//!
//! A `worker` PULLs tasks from the ventilator, prints each, and PUSHes
//! `TASK done by NAME` to the sink. `push --bind` makes the ventilator
//! bind, and `--peers 2` makes it wait until two workers are connected
//! before sending: a PUSH hands each message to the next peer it has, so
//! tasks sent while only the first worker had connected would all go to
//! that one.

use std::io::BufRead;
use std::time::Duration;

use brokerless::{Context, Monitor, MonitorEvent, SocketType};

const USAGE: &str = "\
usage: pushpull pull ENDPOINT
       pushpull push [--bind] [--peers N] ENDPOINT [MESSAGE...]
       pushpull worker FROM TO [NAME]

  pull     binds ENDPOINT and prints every message received
  push     connects to ENDPOINT (binds it with --bind) and sends each
           MESSAGE, or each line of standard input when none is given;
           with --peers N, first waits until N peers are connected
  worker   PULLs tasks from FROM, prints each and PUSHes `TASK done by
           NAME` to TO (NAME: worker-<process id> by default)";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let ctx = Context::new();
    match args.as_slice() {
        ["pull", endpoint] => pull(&ctx, endpoint),
        ["worker", from, to, name @ ..] if name.len() <= 1 => {
            let name = match name.first() {
                Some(n) => n.to_string(),
                None => format!("worker-{}", std::process::id()),
            };
            worker(&ctx, from, to, &name)
        }
        ["push", rest @ ..] => match parse_push(rest) {
            Some(push_args) => push(&ctx, push_args),
            None => usage(),
        },
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2);
}

/// What `push` was asked to do.
struct PushArgs<'a> {
    bind: bool,
    peers: usize,
    endpoint: &'a str,
    messages: &'a [&'a str],
}

fn parse_push<'a>(mut args: &'a [&'a str]) -> Option<PushArgs<'a>> {
    let mut bind = false;
    let mut peers = 0;
    loop {
        match args {
            ["--bind", rest @ ..] => {
                bind = true;
                args = rest;
            }
            ["--peers", n, rest @ ..] => {
                peers = n.parse().ok()?;
                args = rest;
            }
            [endpoint, messages @ ..] if !endpoint.starts_with('-') => {
                return Some(PushArgs {
                    bind,
                    peers,
                    endpoint,
                    messages,
                });
            }
            _ => return None,
        }
    }
}

fn pull(ctx: &Context, endpoint: &str) -> Result<(), Box<dyn std::error::Error>> {
    let pull = ctx.socket(SocketType::Pull)?;
    pull.bind(endpoint)?;
    eprintln!("pulling on {}", pull.last_endpoint().unwrap_or_default());
    loop {
        let msg = pull.recv()?;
        let frames: Vec<String> = msg
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        println!("{}", frames.join(" | "));
    }
}

fn push(ctx: &Context, args: PushArgs) -> Result<(), Box<dyn std::error::Error>> {
    let push = ctx.socket(SocketType::Push)?;
    let monitor = push.monitor()?;
    if args.bind {
        push.bind(args.endpoint)?;
        eprintln!("pushing on {}", push.last_endpoint().unwrap_or_default());
    } else {
        push.connect(args.endpoint)?;
    }
    if args.peers > 0 {
        wait_for_peers(&monitor, args.peers)?;
    }
    if args.messages.is_empty() {
        for line in std::io::stdin().lock().lines() {
            push.send(line?)?;
        }
    } else {
        for m in args.messages {
            push.send(*m)?;
        }
    }
    // Dropping the context waits until everything was delivered.
    Ok(())
}

/// Waits until `n` peers have completed their handshake (and are still
/// there).
fn wait_for_peers(monitor: &Monitor, n: usize) -> Result<(), brokerless::Error> {
    eprintln!("waiting for {n} peers...");
    let mut peers = 0usize;
    while peers < n {
        match monitor.recv()? {
            MonitorEvent::HandshakeSucceeded { .. } => peers += 1,
            MonitorEvent::Disconnected { .. } => peers = peers.saturating_sub(1),
            _ => {}
        }
    }
    eprintln!("{peers} peers connected: sending");
    Ok(())
}

fn worker(
    ctx: &Context,
    from: &str,
    to: &str,
    name: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let tasks = ctx.socket(SocketType::Pull)?;
    tasks.connect(from)?;
    let results = ctx.socket(SocketType::Push)?;
    results.connect(to)?;
    eprintln!("{name}: tasks from {from}, results to {to}");
    loop {
        let task = tasks.recv()?;
        let task = String::from_utf8_lossy(&task[0]).into_owned();
        println!("{task}");
        // The "work".
        std::thread::sleep(Duration::from_millis(10));
        results.send(format!("{task} done by {name}"))?;
    }
}
