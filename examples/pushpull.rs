//! PUSH and PULL in separate terminals.
//!
//! ```text
//! cargo run --example pushpull -- pull tcp://*:5557
//! cargo run --example pushpull -- push tcp://127.0.0.1:5557 hello world
//! ```
//!
//! `pull` binds and prints every message it receives (frames separated by
//! " | "); `push` connects and sends each remaining argument as one
//! message (or lines from standard input when there are none). Either
//! side may start first.

use std::io::BufRead;

use brokerless::{Context, SocketType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (role, endpoint) = match args.as_slice() {
        [role, endpoint, ..] => (role.as_str(), endpoint.as_str()),
        _ => {
            eprintln!("usage: pushpull (pull|push) ENDPOINT [MESSAGE...]");
            std::process::exit(2);
        }
    };
    let ctx = Context::new();
    match role {
        "pull" => {
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
        "push" => {
            let push = ctx.socket(SocketType::Push)?;
            push.connect(endpoint)?;
            if args.len() > 2 {
                for m in &args[2..] {
                    push.send(m.as_str())?;
                }
            } else {
                for line in std::io::stdin().lock().lines() {
                    push.send(line?)?;
                }
            }
            // Dropping the context waits until everything was delivered.
            Ok(())
        }
        other => {
            eprintln!("unknown role {other:?}: use pull or push");
            std::process::exit(2);
        }
    }
}
