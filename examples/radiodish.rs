//! RADIO and DISH across terminals: messages in groups, delivered to the
//! dishes that joined them.
//!
//! ```text
//! cargo run --example radiodish -- radio 'tcp://*:5560'
//! cargo run --example radiodish -- radio 'tcp://*:5560' sports weather   # a ticker
//! cargo run --example radiodish -- dish tcp://localhost:5560 sports weather
//! ```
//!
//! The radio sends each line of standard input of the form `group: text`
//! to `group` or, given group names, a numbered tick to each of them
//! twice a second. A dish joins the groups it is given and prints
//! `[group] text` for every message. A group has at most 255 bytes and is
//! matched exactly (unlike PUB/SUB prefixes); a message whose group no
//! dish has joined is dropped by the radio. Dishes may come and go and
//! the radio may be restarted: the joins are sent again on every
//! reconnection.
//!
//! By default the radio binds and the dishes connect, except over
//! `udp://`, where the dish binds (it receives the datagrams) and the
//! radio connects (sends to that address); `--bind` or `--connect` before
//! the endpoint chooses explicitly, e.g.
//!
//! ```text
//! cargo run --example radiodish -- dish --bind 'tcp://*:5560' news
//! cargo run --example radiodish -- radio --connect tcp://localhost:5560
//! ```

use std::io::BufRead;
use std::time::Duration;

use brokerless::{Context, Error, Message, Socket, SocketType};

const USAGE: &str = "\
usage: radiodish radio [--bind|--connect] ENDPOINT [GROUP...]
       radiodish dish  [--bind|--connect] ENDPOINT GROUP...

  radio   sends the lines `group: text` read from standard input, or a
          tick to each GROUP twice a second when groups are given
  dish    joins each GROUP and prints `[group] text` for what arrives

  The radio binds and the dish connects, except over udp:// (the dish
  binds there); --bind or --connect overrides. Groups are at most 255
  bytes, matched exactly.

examples:
  radiodish radio 'tcp://*:5560'
  radiodish dish tcp://localhost:5560 sports weather";

/// The longest group name.
const MAX_GROUP: usize = 255;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Radio,
    Dish,
}

/// What the command line asks for.
struct Args {
    role: Role,
    bind: bool,
    endpoint: String,
    groups: Vec<String>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let (role, rest) = match args.split_first() {
        Some((r, rest)) if r == "radio" => (Role::Radio, rest),
        Some((r, rest)) if r == "dish" => (Role::Dish, rest),
        Some((r, _)) => return Err(format!("unknown role {r:?}: use radio or dish")),
        None => return Err("missing role".into()),
    };
    let (side, rest) = match rest.split_first() {
        Some((flag, rest)) if flag == "--bind" => (Some(true), rest),
        Some((flag, rest)) if flag == "--connect" => (Some(false), rest),
        _ => (None, rest),
    };
    let Some((endpoint, groups)) = rest.split_first() else {
        return Err("missing endpoint".into());
    };
    if endpoint.starts_with('-') {
        return Err(format!("unknown option {endpoint:?}"));
    }
    if !endpoint.contains("://") {
        return Err(format!(
            "{endpoint:?} is not an endpoint (like tcp://host:port)"
        ));
    }
    if role == Role::Dish && groups.is_empty() {
        return Err("a dish needs at least one group to join".into());
    }
    if let Some(g) = groups.iter().find(|g| g.len() > MAX_GROUP) {
        return Err(format!(
            "group {:?}... is {} bytes; at most {MAX_GROUP}",
            g.chars().take(16).collect::<String>(),
            g.len()
        ));
    }
    if let Some((i, g)) = groups
        .iter()
        .enumerate()
        .find(|(i, g)| groups[..*i].contains(g))
    {
        return Err(format!("group {g:?} given twice (argument {})", i + 1));
    }
    // The radio binds and the dish connects, except over UDP, where the
    // datagrams' receiver binds.
    let udp = endpoint.starts_with("udp://");
    let bind = side.unwrap_or((role == Role::Radio) != udp);
    Ok(Args {
        role,
        bind,
        endpoint: endpoint.clone(),
        groups: groups.to_vec(),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("radiodish: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("radiodish: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Error> {
    let ctx = Context::new();
    let socket = ctx.socket(match args.role {
        Role::Radio => SocketType::Radio,
        Role::Dish => SocketType::Dish,
    })?;
    if args.role == Role::Dish {
        // Joined before connecting: the joins go out with the handshake.
        for g in &args.groups {
            socket.join(g)?;
        }
    }
    if args.bind {
        socket.bind(&args.endpoint)?;
        let at = socket
            .last_endpoint()
            .unwrap_or_else(|| args.endpoint.clone());
        eprintln!("bound to {at}");
    } else {
        socket.connect(&args.endpoint)?;
        eprintln!("connecting to {}", args.endpoint);
    }
    match args.role {
        Role::Dish => dish(&socket, &args.groups),
        Role::Radio if args.groups.is_empty() => radio_lines(&socket),
        Role::Radio => radio_ticker(&socket, &args.groups),
    }
}

fn dish(dish: &Socket, groups: &[String]) -> Result<(), Error> {
    eprintln!("joined {}", groups.join(", "));
    loop {
        let msg = dish.recv()?;
        let part = |i: usize| msg.get(i).map(|f| String::from_utf8_lossy(f));
        println!(
            "[{}] {}",
            part(0).unwrap_or_default(),
            part(1).unwrap_or_default()
        );
    }
}

/// Sends `group: text` lines until the end of standard input.
fn radio_lines(radio: &Socket) -> Result<(), Error> {
    eprintln!("type lines `group: text` (end with Ctrl-D)");
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(Error::Io)?;
        if line.trim().is_empty() {
            continue;
        }
        let Some((group, text)) = line.split_once(':') else {
            eprintln!("not sent: {line:?} has no `group:` in front");
            continue;
        };
        let group = group.trim();
        match radio.send(Message::with_group(
            group.to_string(),
            text.trim_start().to_string(),
        )) {
            Ok(()) => {}
            // A bad group (too long): say so and go on.
            Err(Error::InvalidArgument(why)) => eprintln!("not sent: {why}"),
            Err(e) => return Err(e),
        }
    }
    // Dropping the socket and the context sends what is still queued.
    Ok(())
}

/// Sends `tick #n` to every group, twice a second, forever.
fn radio_ticker(radio: &Socket, groups: &[String]) -> Result<(), Error> {
    eprintln!("ticking to {}", groups.join(", "));
    for n in 0u64.. {
        for g in groups {
            radio.send(Message::with_group(g.clone(), format!("tick #{n}")))?;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}
