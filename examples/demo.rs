//! The main demonstration: a divide-and-conquer pipeline over TCP on
//! loopback, in one process.
//!
//! A ventilator PUSHes 1,000 tasks to three workers (round-robin); each
//! worker PULLs its tasks, "works" on them and PUSHes results to one sink,
//! which fair-queues them. The sink prints how the work was shared.
//!
//! The workers bind and the ventilator connects to each of them, so the
//! ventilator's three queues exist before the first task is sent and the
//! tasks are shared exactly evenly, even while connections are still
//! being made.
//!
//! Run: `cargo run --example demo`

use std::collections::BTreeMap;
use std::thread;
use std::time::{Duration, Instant};

use brokerless::{Context, Message, SocketType};

const TASKS: u32 = 1000;
const WORKERS: usize = 3;

fn main() -> Result<(), brokerless::Error> {
    let ctx = Context::new();
    let started = Instant::now();

    // The sink binds first; the port is chosen by the system.
    let sink = ctx.socket(SocketType::Pull)?;
    sink.set_recv_timeout(Some(Duration::from_secs(10)))?;
    sink.bind("tcp://127.0.0.1:*")?;
    let sink_ep = sink.last_endpoint().expect("bound");

    println!("sink on {sink_ep}");

    let (tx, rx) = std::sync::mpsc::channel();
    let mut workers = Vec::new();
    for id in 0..WORKERS {
        let ctx = ctx.clone();
        let sink_ep = sink_ep.clone();
        let tx = tx.clone();
        workers.push(thread::spawn(move || -> Result<(), brokerless::Error> {
            let tasks = ctx.socket(SocketType::Pull)?;
            tasks.set_recv_timeout(Some(Duration::from_millis(500)))?;
            tasks.bind("tcp://127.0.0.1:*")?;
            let _ = tx.send(tasks.last_endpoint().unwrap_or_default());
            let results = ctx.socket(SocketType::Push)?;
            results.connect(&sink_ep)?;
            // Work until no task came for half a second.
            while let Ok(task) = tasks.recv() {
                let n: u32 = std::str::from_utf8(&task[0])
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0);
                // A two-frame result: who did it, and the answer.
                let reply: Message = [format!("worker-{id}"), (n * n).to_string()]
                    .into_iter()
                    .collect();
                results.send(reply)?;
            }
            Ok(())
        }));
    }

    let ventilator = ctx.socket(SocketType::Push)?;
    for _ in 0..WORKERS {
        let ep = rx.recv().expect("worker endpoint");
        println!("ventilator connects to a worker on {ep}");
        ventilator.connect(&ep)?;
    }
    for n in 0..TASKS {
        ventilator.send(n.to_string())?;
    }

    let mut per_worker = BTreeMap::new();
    let mut sum: u64 = 0;
    for _ in 0..TASKS {
        let result = sink.recv()?;
        let who = String::from_utf8_lossy(&result[0]).into_owned();
        sum += std::str::from_utf8(&result[1])
            .unwrap_or("0")
            .parse::<u64>()
            .unwrap_or(0);
        *per_worker.entry(who).or_insert(0) += 1;
    }
    let elapsed = started.elapsed();
    for w in workers {
        w.join().expect("worker thread")?;
    }
    let expected: u64 = (0..TASKS as u64).map(|n| n * n).sum();
    println!("{TASKS} results in {elapsed:?}");
    for (who, count) in &per_worker {
        println!("  {who}: {count} tasks");
    }
    println!("sum of squares: {sum} (expected {expected})");
    assert_eq!(sum, expected);
    Ok(())
}
