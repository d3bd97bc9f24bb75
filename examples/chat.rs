//! A chat room with no server: every participant is a BUS node bound to
//! its own endpoint and connected to the others'. Each line typed is sent
//! to the others as `name: line`; their lines are printed as they come.
//!
//! In three terminals:
//!
//! ```text
//! cargo run --example chat -- --name alice --bind 'tcp://*:6001' --peer tcp://localhost:6002 --peer tcp://localhost:6003
//! cargo run --example chat -- --name bob   --bind 'tcp://*:6002' --peer tcp://localhost:6001 --peer tcp://localhost:6003
//! cargo run --example chat -- --name carol --bind 'tcp://*:6003' --peer tcp://localhost:6001 --peer tcp://localhost:6002
//! ```
//!
//! Start them in any order: a line typed before a peer is up waits for
//! it in the queue of the `--peer` connect (up to the send high-water
//! mark, 1000 lines), so here nothing is lost. Each pair of nodes has
//! two connections here (each connects to the other), and every line is
//! still shown once: BUS drops duplicates. The routing id of each node is
//! its name, so `/peers` lists who is connected (and how many lines each
//! missed because it did not keep up). Connection events go to stderr,
//! chat lines to stdout. End with Ctrl-D (end of input) or Ctrl-C.
//!
//! Not everyone needs to connect to everyone: with `--relay` a node
//! forwards what it receives to its other peers, so a line
//! (`alice - bob - carol`, where only bob names both others, with
//! `--relay`) or a ring works too:
//!
//! ```text
//! cargo run --example chat -- --name alice --bind 'tcp://*:6001'
//! cargo run --example chat -- --name bob --relay --peer tcp://localhost:6001 --peer tcp://localhost:6003
//! cargo run --example chat -- --name carol --bind 'tcp://*:6003'
//! ```
//!
//! (There alice and carol only bind: until bob has connected they have
//! no peer at all, and what they type meanwhile goes nowhere.)
//!
//! Scripted, three instances with their input from named pipes (how this
//! example is tested; every line must appear in the other two outputs
//! and never in its own):
//!
//! ```text
//! cargo build --example chat
//! cd "$(mktemp -d)" && mkfifo a.in b.in c.in
//! CHAT=<target dir>/debug/examples/chat   # usually target/debug/examples/chat
//! $CHAT --name alice --bind tcp://127.0.0.1:6001 --peer tcp://localhost:6002 --peer tcp://localhost:6003 <a.in >a.out 2>a.err &
//! $CHAT --name bob   --bind tcp://127.0.0.1:6002 --peer tcp://localhost:6001 --peer tcp://localhost:6003 <b.in >b.out 2>b.err &
//! $CHAT --name carol --bind tcp://127.0.0.1:6003 --peer tcp://localhost:6001 --peer tcp://localhost:6002 <c.in >c.out 2>c.err &
//! exec 3>a.in 4>b.in 5>c.in        # open the pipes (the chats start reading)
//! echo 'hi from alice' >&3; echo 'hi from bob' >&4; echo 'hi from carol' >&5
//! sleep 1; cat a.out b.out c.out   # a.out: "bob: hi from bob", "carol: hi from carol"; ...
//! exec 3>&- 4>&- 5>&-; wait        # end of input: each chat exits
//! ```

use std::io::BufRead;
use std::process::ExitCode;
use std::time::Duration;

use brokerless::{Context, Error, MonitorEvent, Socket, SocketReceiver, SocketSender, SocketType};

const USAGE: &str = "\
usage: chat --name NAME [--bind ENDPOINT]... [--peer ENDPOINT]... [--relay]

  --name NAME        your name: prefixes your lines, and is your node's
                     routing id (1 to 255 bytes)
  --bind ENDPOINT    accept peers on ENDPOINT, e.g. 'tcp://*:6001'
                     (repeatable)
  --peer ENDPOINT    connect to a peer, e.g. tcp://localhost:6002
                     (repeatable; retried until the peer is there)
  --relay            forward what you receive to your other peers, for
                     rooms where not everyone is connected to everyone
  -h, --help         show this help

At least one --bind or --peer is needed. Type lines to send them; /peers
lists the connected peers; end of input (Ctrl-D) quits.

example:
  chat --name alice --bind 'tcp://*:6001' --peer tcp://localhost:6002 --peer tcp://localhost:6003";

/// The command line, parsed.
#[derive(Debug, Default)]
struct Args {
    name: String,
    binds: Vec<String>,
    peers: Vec<String>,
    relay: bool,
}

/// What the command line asks for.
enum Parsed {
    Run(Args),
    Help,
}

/// Parses `--opt value` and `--opt=value` forms.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut out = Args::default();
    let mut name = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            match inline.clone().or_else(|| it.next()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(format!("{flag} needs {what}")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--name" => {
                if name.is_some() {
                    return Err("--name given twice".into());
                }
                name = Some(value("a name")?);
            }
            "--bind" => out.binds.push(value("an endpoint")?),
            "--peer" => out.peers.push(value("an endpoint")?),
            "--relay" if inline.is_none() => out.relay = true,
            "--relay" => return Err("--relay takes no value".into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    out.name = name.ok_or("--name is required")?;
    if out.name.len() > 255 || out.name.starts_with('\0') {
        return Err("the name must be 1 to 255 bytes, not starting with a zero byte".into());
    }
    if out.binds.is_empty() && out.peers.is_empty() {
        return Err("give at least one --bind or --peer".into());
    }
    Ok(Parsed::Run(out))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("chat: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let ctx = Context::new();
    let bus = ctx
        .socket(SocketType::Bus)
        .map_err(|e| format!("cannot create the socket: {e}"))?;
    bus.set_routing_id(args.name.clone())
        .map_err(|e| format!("bad name {:?}: {e}", args.name))?;
    bus.set_bus_relay(args.relay)
        .map_err(|e| format!("cannot set --relay: {e}"))?;
    // On exit, give queued lines a moment to leave, not forever (peers
    // may be gone).
    bus.set_linger(Some(Duration::from_secs(1)))
        .map_err(|e| format!("cannot set the linger: {e}"))?;
    let monitor = bus
        .monitor()
        .map_err(|e| format!("cannot monitor the socket: {e}"))?;
    for ep in &args.binds {
        bus.bind(ep).map_err(|e| format!("cannot bind {ep}: {e}"))?;
        eprintln!("* listening on {}", bus.last_endpoint().unwrap_or_default());
    }
    for ep in &args.peers {
        bus.connect(ep)
            .map_err(|e| format!("cannot connect to {ep}: {e}"))?;
    }

    // Left to run until the process ends.
    std::thread::spawn(move || report_connections(&monitor));
    // One thread prints what arrives while this one sends: the socket is
    // split into halves that two threads may use at once.
    let (outgoing, incoming) = bus.split();
    std::thread::scope(|s| {
        s.spawn(|| print_incoming(&incoming));
        let result = send_stdin(&outgoing, &args.name);
        // Flushes what is queued (up to the linger), and ends the
        // receiving thread's `recv` with `Error::Terminated`.
        ctx.shutdown();
        result
    })
}

/// Sends every line of stdin as `name: line` until end of input.
fn send_stdin(bus: &SocketSender, name: &str) -> Result<(), String> {
    let stdin = std::io::stdin();
    // Bytes, not `lines()`: a line that is not UTF-8 is sent with
    // replacement characters rather than ending the chat.
    for line in stdin.lock().split(b'\n') {
        let line = line.map_err(|e| format!("reading stdin: {e}"))?;
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end();
        match line {
            "" => {}
            "/peers" => bus.with(list_peers),
            _ => bus
                .send(format!("{name}: {line}"))
                .map_err(|e| format!("send: {e}"))?,
        }
    }
    Ok(())
}

/// Prints the connected peers (on stderr, with the chat's notices).
fn list_peers(bus: &Socket) {
    match bus.bus_peers() {
        Ok(peers) if peers.is_empty() => eprintln!("* no peers"),
        Ok(peers) => {
            for p in peers {
                let name = if p.routing_id.is_empty() {
                    "(still connecting)".to_string()
                } else {
                    String::from_utf8_lossy(&p.routing_id).into_owned()
                };
                eprintln!("* peer {name}, {} lines missed", p.dropped);
            }
        }
        Err(e) => eprintln!("* cannot list peers: {e}"),
    }
}

/// Prints every line received until the context ends.
fn print_incoming(bus: &SocketReceiver) {
    loop {
        match bus.recv() {
            Ok(msg) => {
                let frames: Vec<_> = msg.iter().map(|f| String::from_utf8_lossy(f)).collect();
                println!("{}", frames.join(" "));
            }
            Err(Error::Terminated) => return,
            Err(e) => {
                eprintln!("chat: receive: {e}");
                return;
            }
        }
    }
}

/// Reports connections made and lost on stderr until the socket closes.
fn report_connections(monitor: &brokerless::Monitor) {
    while let Ok(event) = monitor.recv() {
        let peer = |endpoint: &str, peer: &Option<std::net::SocketAddr>| match peer {
            Some(addr) => format!("{endpoint} ({addr})"),
            None => endpoint.to_string(),
        };
        match event {
            MonitorEvent::HandshakeSucceeded { endpoint, peer: p } => {
                eprintln!("* connected: {}", peer(&endpoint, &p));
            }
            MonitorEvent::HandshakeFailed {
                endpoint,
                peer: p,
                error,
            } => eprintln!("* refused {}: {error}", peer(&endpoint, &p)),
            MonitorEvent::Disconnected {
                endpoint, peer: p, ..
            } => eprintln!("* disconnected: {}", peer(&endpoint, &p)),
            MonitorEvent::MonitorStopped => return,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Parsed, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn arguments() {
        let Ok(Parsed::Run(a)) = parse(&[
            "--name",
            "alice",
            "--bind=tcp://*:6001",
            "--peer",
            "tcp://localhost:6002",
            "--relay",
        ]) else {
            panic!("not parsed");
        };
        assert_eq!(a.name, "alice");
        assert_eq!(a.binds, ["tcp://*:6001"]);
        assert_eq!(a.peers, ["tcp://localhost:6002"]);
        assert!(a.relay);
        assert!(matches!(parse(&["--help"]), Ok(Parsed::Help)));
        for bad in [
            &["--bind", "tcp://*:6001"][..],
            &["--name", "x"],
            &["--name"],
            &["--name", "x", "--peer"],
            &["--name", "x", "--bind="],
            &["--name", "x", "--name", "y", "--peer", "p"],
            &["--name", "x", "--peer", "p", "--relay=yes"],
            &["--name", "x", "--peer", "p", "extra"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
