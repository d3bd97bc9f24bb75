//! Request-reply across terminals.
//!
//! ```text
//! cargo run --example reqrep -- server 'tcp://*:5555'
//! cargo run --example reqrep -- client tcp://localhost:5555 5
//! ```
//!
//! The server (REP) answers every request with its text reversed; the
//! client (REQ) sends N requests and prints each answer. The client is
//! relaxed and correlating with a receive timeout, so if the server is
//! stopped and restarted, the client reports the timeout, sends its
//! request again and carries on.

use std::time::Duration;

use brokerless::{Context, Error, SocketType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ctx = Context::new();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["server", endpoint] => {
            let rep = ctx.socket(SocketType::Rep)?;
            rep.bind(endpoint)?;
            eprintln!("serving on {}", rep.last_endpoint().unwrap_or_default());
            loop {
                let request = rep.recv()?;
                let text = String::from_utf8_lossy(&request[0]).into_owned();
                println!("request: {text}");
                rep.send(text.chars().rev().collect::<String>())?;
            }
        }
        ["client", endpoint, rest @ ..] => {
            let n: usize = rest.first().and_then(|s| s.parse().ok()).unwrap_or(5);
            let req = ctx.socket(SocketType::Req)?;
            req.set_req_relaxed(true)?;
            req.set_req_correlate(true)?;
            req.set_recv_timeout(Some(Duration::from_secs(2)))?;
            req.connect(endpoint)?;
            let mut i = 0;
            while i < n {
                let request = format!("hello {i}");
                req.send(request.as_str())?;
                match req.recv() {
                    Ok(reply) => {
                        println!("{request} -> {}", String::from_utf8_lossy(&reply[0]));
                        i += 1;
                    }
                    Err(Error::Timeout) => eprintln!("no reply to {request:?} yet, asking again"),
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        }
        _ => {
            eprintln!("usage: reqrep server ENDPOINT | reqrep client ENDPOINT [N]");
            std::process::exit(2);
        }
    }
}
