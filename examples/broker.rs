//! An asynchronous request-reply broker (DEALER/ROUTER), in one process.
//!
//! Clients (REQ) connect to the broker's ROUTER frontend; workers (REP)
//! connect to its DEALER backend. The broker only moves whole messages:
//! a request arrives on the frontend as [client id, "", body], goes out
//! of the backend unchanged (the DEALER shares requests among workers),
//! and each REP keeps that envelope so its reply comes back through the
//! DEALER to the ROUTER, which routes it to the right client by its id.
//!
//! The broker is one thread waiting on both sockets with a `Poller`, as
//! libzmq's `zmq_proxy` does (`brokerless::proxy(&frontend, &backend,
//! None)` is the same loop, with flow control); each socket has one owner.
//!
//! Run: `cargo run --example broker`

use std::thread;
use std::time::Duration;

use brokerless::{Context, Error, Interest, Poller, SocketType};

const CLIENTS: usize = 4;
const WORKERS: usize = 3;
const REQUESTS: usize = 25;

fn main() -> Result<(), Error> {
    let ctx = Context::new();
    let frontend = ctx.socket(SocketType::Router)?;
    frontend.bind("tcp://127.0.0.1:*")?;
    let backend = ctx.socket(SocketType::Dealer)?;
    backend.bind("tcp://127.0.0.1:*")?;
    let front_ep = frontend.last_endpoint().unwrap_or_default();
    let back_ep = backend.last_endpoint().unwrap_or_default();
    println!("broker: clients on {front_ep}, workers on {back_ep}");

    // The broker: one thread owns both sockets and moves every message
    // that arrives on one to the other, until the context ends.
    thread::spawn(move || -> Result<(), Error> {
        let mut poller = Poller::new()?;
        let front = poller.add(&frontend, Interest::READABLE)?;
        poller.add(&backend, Interest::READABLE)?;
        loop {
            for event in poller.wait(None)?.to_vec() {
                let (from, to) = if event.token == front {
                    (&frontend, &backend)
                } else {
                    (&backend, &frontend)
                };
                while let Ok(msg) = from.try_recv() {
                    to.send(msg)?;
                }
            }
        }
    });

    for id in 0..WORKERS {
        let ctx = ctx.clone();
        let back_ep = back_ep.clone();
        thread::spawn(move || -> Result<(), Error> {
            let rep = ctx.socket(SocketType::Rep)?;
            rep.connect(&back_ep)?;
            loop {
                let request = rep.recv()?;
                let text = String::from_utf8_lossy(&request[0]).into_owned();
                rep.send(format!("{text} handled by worker {id}"))?;
            }
        });
    }

    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let ctx = ctx.clone();
            let front_ep = front_ep.clone();
            thread::spawn(move || -> Result<Vec<String>, Error> {
                let req = ctx.socket(SocketType::Req)?;
                req.set_recv_timeout(Some(Duration::from_secs(10)))?;
                req.connect(&front_ep)?;
                let mut replies = Vec::new();
                for r in 0..REQUESTS {
                    req.send(format!("client {c} request {r}"))?;
                    let reply = req.recv()?;
                    replies.push(String::from_utf8_lossy(&reply[0]).into_owned());
                }
                Ok(replies)
            })
        })
        .collect();

    let mut per_worker = [0usize; WORKERS];
    for (c, client) in clients.into_iter().enumerate() {
        let replies = client.join().expect("client thread")?;
        for (r, reply) in replies.iter().enumerate() {
            assert!(reply.starts_with(&format!("client {c} request {r} handled")));
            let worker: usize = reply
                .rsplit(' ')
                .next()
                .and_then(|w| w.parse().ok())
                .unwrap_or(0);
            per_worker[worker] += 1;
        }
        println!(
            "client {c}: {} replies, e.g. {:?}",
            replies.len(),
            replies[0]
        );
    }
    for (w, n) in per_worker.iter().enumerate() {
        println!("worker {w} handled {n} requests");
    }
    // Workers and broker threads hold clones of the context, so end it
    // explicitly: their blocked calls return Error::Terminated.
    ctx.shutdown();
    Ok(())
}
