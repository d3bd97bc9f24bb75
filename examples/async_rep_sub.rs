//! An async service under tokio: one task answers REP requests while
//! another consumes a SUB feed, both on the same multi-threaded runtime,
//! with the library's own futures (`recv_async` / `send_async`; the
//! library itself depends on no async runtime).
//!
//! A `Socket` is `Send` but not `Sync`, so a future that borrows one is
//! not `Send`; `tokio::spawn` wants `Send` tasks, so each socket given to
//! a task is first split into its `Send + Sync` halves, whose futures are
//! `Send`. (On a current-thread runtime or a `LocalSet`, the socket's own
//! `recv_async`/`send_async` do as well.)
//!
//! ```text
//! cargo run --example async_rep_sub
//! ```
//!
//! It starts its own publisher and clients over TCP loopback so that it
//! runs alone; point `--rep` and `--sub` at other endpoints to serve real
//! peers: `cargo run --example async_rep_sub -- --rep 'tcp://*:5555'
//! --sub tcp://localhost:5556` (then no local publisher or clients).

use std::time::Duration;

use brokerless::{Context, Message, SocketType};

fn usage() -> ! {
    eprintln!("usage: async_rep_sub [--rep BIND_ENDPOINT --sub CONNECT_ENDPOINT]");
    std::process::exit(2);
}

#[tokio::main]
async fn main() -> Result<(), brokerless::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (rep_ep, sub_ep) = match args.as_slice() {
        [] => (None, None),
        [a, r, b, s] if a == "--rep" && b == "--sub" => (Some(r.clone()), Some(s.clone())),
        _ => usage(),
    };
    let demo = rep_ep.is_none();
    let ctx = Context::new();

    let rep = ctx.socket(SocketType::Rep)?;
    rep.bind(rep_ep.as_deref().unwrap_or("tcp://127.0.0.1:*"))?;
    let rep_endpoint = rep.last_endpoint().unwrap_or_default();
    let sub = ctx.socket(SocketType::Sub)?;
    sub.subscribe("")?;

    // In the demo, a local publisher and three clients play the peers.
    let publisher = if demo {
        let publ = ctx.socket(SocketType::Pub)?;
        publ.bind("tcp://127.0.0.1:*")?;
        sub.connect(&publ.last_endpoint().unwrap_or_default())?;
        publ.wait_for_subscribers(1, Duration::from_secs(10))?;
        Some(publ)
    } else {
        sub.connect(sub_ep.as_deref().unwrap_or_default())?;
        None
    };

    let server = {
        let (replies, requests) = rep.split();
        tokio::spawn(async move {
            let mut served = 0;
            while let Ok(request) = requests.recv_async().await {
                let reply =
                    Message::from(format!("echo: {}", String::from_utf8_lossy(&request[0])));
                if replies.send_async(reply).await.is_err() {
                    break;
                }
                served += 1;
                if demo && served == 9 {
                    break;
                }
            }
            served
        })
    };
    let feed = {
        let (_, feed) = sub.split();
        tokio::spawn(async move {
            let mut seen = 0;
            while let Ok(m) = feed.recv_async().await {
                println!("feed: {}", String::from_utf8_lossy(&m[0]));
                seen += 1;
                if demo && seen == 5 {
                    break;
                }
            }
            seen
        })
    };

    if let Some(publ) = publisher {
        let mut clients = Vec::new();
        for c in 0..3 {
            let req = ctx.socket(SocketType::Req)?;
            req.connect(&rep_endpoint)?;
            let (requests, replies) = req.split();
            clients.push(tokio::spawn(async move {
                for i in 0..3 {
                    requests
                        .send_async(format!("client {c} request {i}"))
                        .await?;
                    let reply = replies.recv_async().await?;
                    println!("{}", String::from_utf8_lossy(&reply[0]));
                }
                Ok::<_, brokerless::Error>(())
            }));
        }
        for i in 0..5 {
            publ.send_async(format!("tick {i}")).await?;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for c in clients {
            c.await.unwrap_or(Ok(()))?;
        }
    }
    let served = server.await.unwrap_or(0);
    let seen = feed.await.unwrap_or(0);
    println!("served {served} requests and read {seen} feed messages concurrently");
    Ok(())
}
