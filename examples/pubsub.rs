//! Publish-subscribe across terminals.
//!
//! ```text
//! cargo run --example pubsub -- pub 'tcp://*:5556'
//! cargo run --example pubsub -- sub tcp://localhost:5556 weather. sport.golf
//! ```
//!
//! The publisher sends a made-up update ten times a second on topics such
//! as `weather.rome` and `sport.golf`; each subscriber names the topic
//! prefixes it wants (none means everything) and prints what it gets.
//! Subscribers may come and go, and the publisher may be restarted: the
//! subscriptions are sent again on every reconnection.

use std::time::Duration;

use brokerless::{Context, SocketType};

const TOPICS: [&str; 5] = [
    "weather.rome",
    "weather.oslo",
    "sport.golf",
    "sport.chess",
    "news.local",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ctx = Context::new();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["pub", endpoint] => {
            let publ = ctx.socket(SocketType::Pub)?;
            publ.bind(endpoint)?;
            eprintln!("publishing on {}", publ.last_endpoint().unwrap_or_default());
            eprintln!("waiting for a first subscriber...");
            publ.wait_for_subscribers(1, Duration::from_secs(3600))?;
            let mut n: u64 = 0;
            loop {
                let topic = TOPICS[(n % TOPICS.len() as u64) as usize];
                let update = format!("{topic} update #{n}");
                publ.send(update.as_str())?;
                n += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        ["sub", endpoint, topics @ ..] => {
            let sub = ctx.socket(SocketType::Sub)?;
            if topics.is_empty() {
                sub.subscribe("")?;
            }
            for t in topics {
                sub.subscribe(t)?;
            }
            sub.connect(endpoint)?;
            loop {
                let msg = sub.recv()?;
                println!("{}", String::from_utf8_lossy(&msg[0]));
            }
        }
        _ => {
            eprintln!("usage: pubsub pub ENDPOINT | pubsub sub ENDPOINT [TOPIC...]");
            std::process::exit(2);
        }
    }
}
