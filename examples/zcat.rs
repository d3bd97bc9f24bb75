//! zcat: netcat for ZeroMQ sockets. It makes one socket of any type,
//! binds and connects it, sends lines of standard input (or `--send`
//! values) as messages and prints the messages it receives, one per line.
//! It talks to any ZMTP 3.x peer: brokerless, libzmq, pyzmq, ...
//!
//! ```text
//! cargo run --example zcat -- --type pull --bind 'tcp://127.0.0.1:*'
//! cargo run --example zcat -- --type push --connect tcp://127.0.0.1:5557 --send hello
//! ```
//!
//! Run `zcat --help` for the options. Each `--bind` reports the resolved
//! endpoint on stderr (`zcat: bound tcp://127.0.0.1:45678`), so a script
//! can bind port `*` and read the port back. Exit codes: 0 success, 1 a
//! runtime error (including a timeout before `--count` messages, or a
//! REQ without its reply), 2 a usage error.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::thread;
use std::time::Duration;

use brokerless::{Context, Error, Message, Socket, SocketReceiver, SocketSender, SocketType};

const USAGE: &str = "\
usage: zcat --type TYPE [--bind ENDPOINT]... [--connect ENDPOINT]... [OPTIONS]

netcat for ZeroMQ sockets: sends lines of standard input as messages and
prints the messages received, one per line.

  --type TYPE          push, pull, req, rep, dealer, router, pub, sub, xpub,
                       xsub, pair, bus, radio or dish
  --bind ENDPOINT      accept peers, e.g. 'tcp://*:5555', 'tcp://127.0.0.1:*'
                       (port chosen by the system), ipc:///tmp/sock,
                       udp://127.0.0.1:* (DISH); repeatable. Each bind
                       prints 'zcat: bound ENDPOINT' (resolved) on stderr
  --connect ENDPOINT   connect to a peer, e.g. tcp://localhost:5555;
                       repeatable (at least one --bind or --connect)
  --send VALUE         send VALUE instead of reading standard input;
                       repeatable, sent in order
  --separator SEP      split each line (or VALUE) into frames at SEP, e.g.
                       '|'; also joins received frames. Default: one frame
                       per line, received frames joined by ' | '
  --format FORMAT      how received messages are printed:
                         text  frames joined by the separator (or ' | ');
                               a frame that is not UTF-8 is printed 0x<hex>
                         hex   every frame in hex, joined the same way
                         json  a JSON array with one string per frame; a
                               frame that is not UTF-8 is {\"hex\": \"...\"}
                       (default text)
  --subscribe TOPIC    SUB, XSUB: subscribe to the messages whose first frame
                       starts with TOPIC; repeatable (a SUB given none gets
                       everything)
  --join GROUP         DISH: join GROUP; repeatable, at least one
  --group GROUP        RADIO: send every line (whole, as the body) to GROUP
                       (required)
  --identity ID        the socket's routing id (what a ROUTER peer sees)
  --count N            exit after receiving N messages
  --timeout MS         exit after MS milliseconds without a message received
                       (with --count: an error if fewer arrived); also
                       bounds each send and a REQ's wait for its reply
  --linger MS          on exit, keep sending what is queued for up to MS
                       milliseconds (default: --timeout if given, else
                       until delivered)
  --echo               REP, ROUTER, DEALER, PAIR: send every received
                       message straight back (instead of reading input)
  --wait-subscribers N PUB, XPUB, RADIO: send nothing until N peers have
                       subscribed (joined), so that none misses the start
  -h, --help           show this help

Per type: PUSH, PUB and RADIO only send; PULL, SUB and DISH only receive
(standard input is not read); REQ sends a line, waits for the reply and
prints it, then sends the next; REP prints a request and answers it with
the next line of input (or the message itself with --echo), and exits
when the input is exhausted; DEALER, ROUTER, PAIR, BUS, XPUB and XSUB
send input and print what arrives at the same time, and keep receiving
after the end of input (until --count or --timeout). A ROUTER's first
frame is the peer's routing id, received and sent (use --separator).

Exit codes: 0 success, 1 runtime error, 2 usage error.

examples:
  zcat --type pull --bind 'tcp://127.0.0.1:*'
  zcat --type push --connect tcp://127.0.0.1:5557 --send 'job|42' --separator '|'
  zcat --type rep --bind 'tcp://*:5555' --echo
  zcat --type req --connect tcp://localhost:5555 --timeout 2000 < questions.txt
  zcat --type sub --connect tcp://localhost:5556 --subscribe weather. --format json
  zcat --type dish --bind 'udp://*:5560' --join alerts";

/// How received messages are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Hex,
    Json,
}

/// The command line, checked.
#[derive(Debug)]
struct Args {
    socket_type: SocketType,
    binds: Vec<String>,
    connects: Vec<String>,
    sends: Vec<String>,
    separator: Option<Vec<u8>>,
    format: Format,
    subscribe: Vec<String>,
    join: Vec<String>,
    group: Option<String>,
    identity: Option<String>,
    count: Option<u64>,
    timeout: Option<Duration>,
    linger: Option<Duration>,
    echo: bool,
    wait_subscribers: Option<usize>,
}

/// Why zcat stops early, and with which exit code.
#[derive(Debug)]
struct Fail {
    code: u8,
    message: String,
}

fn usage(message: impl Into<String>) -> Fail {
    Fail {
        code: 2,
        message: message.into(),
    }
}

fn runtime(message: impl Into<String>) -> Fail {
    Fail {
        code: 1,
        message: message.into(),
    }
}

/// A library error while setting up: the user's input (an endpoint, a
/// group, an id) when the library says it is invalid, else a runtime one.
fn setup(what: &str, e: Error) -> Fail {
    let message = format!("{what}: {e}");
    match e {
        Error::InvalidEndpoint(_) | Error::InvalidArgument(_) | Error::NotSupported(_) => {
            usage(message)
        }
        _ => runtime(message),
    }
}

type Run<T = ()> = Result<T, Fail>;

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(fail) => {
            eprintln!("zcat: {}\n(zcat --help shows the options)", fail.message);
            return ExitCode::from(fail.code);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => {
            if !fail.message.is_empty() {
                eprintln!("zcat: {}", fail.message);
            }
            ExitCode::from(fail.code)
        }
    }
}

// ---------------------------------------------------------------------------
// The command line

fn parse_type(name: &str) -> Option<SocketType> {
    Some(match name.to_ascii_lowercase().as_str() {
        "push" => SocketType::Push,
        "pull" => SocketType::Pull,
        "req" => SocketType::Req,
        "rep" => SocketType::Rep,
        "dealer" => SocketType::Dealer,
        "router" => SocketType::Router,
        "pub" => SocketType::Pub,
        "sub" => SocketType::Sub,
        "xpub" => SocketType::XPub,
        "xsub" => SocketType::XSub,
        "pair" => SocketType::Pair,
        "bus" => SocketType::Bus,
        "radio" => SocketType::Radio,
        "dish" => SocketType::Dish,
        _ => return None,
    })
}

/// Whether the type can send messages.
fn sends(t: SocketType) -> bool {
    !matches!(t, SocketType::Pull | SocketType::Sub | SocketType::Dish)
}

/// Whether the type can receive messages.
fn receives(t: SocketType) -> bool {
    !matches!(t, SocketType::Push | SocketType::Pub | SocketType::Radio)
}

fn number<T>(flag: &str, value: &str, min: T) -> Run<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    match value.parse::<T>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(usage(format!(
            "{flag} needs a whole number of at least {min}, not {value:?}"
        ))),
    }
}

/// Parses the arguments (`--opt value` or `--opt=value`); `None` for
/// `--help`.
fn parse_args(args: impl IntoIterator<Item = String>) -> Run<Option<Args>> {
    let mut socket_type = None;
    let mut a = Args {
        socket_type: SocketType::Pair,
        binds: Vec::new(),
        connects: Vec::new(),
        sends: Vec::new(),
        separator: None,
        format: Format::Text,
        subscribe: Vec::new(),
        join: Vec::new(),
        group: None,
        identity: None,
        count: None,
        timeout: None,
        linger: None,
        echo: false,
        wait_subscribers: None,
    };
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        if flag == "--echo" {
            if inline.is_some() {
                return Err(usage("--echo takes no value"));
            }
            a.echo = true;
            continue;
        }
        if !flag.starts_with('-') {
            return Err(usage(format!("unexpected argument {flag:?}")));
        }
        let known = [
            "--type",
            "--bind",
            "--connect",
            "--send",
            "--separator",
            "--format",
            "--subscribe",
            "--join",
            "--group",
            "--identity",
            "--count",
            "--timeout",
            "--linger",
            "--wait-subscribers",
        ];
        if !known.contains(&flag.as_str()) {
            return Err(usage(format!("unknown option {flag:?}")));
        }
        let Some(value) = inline.or_else(|| it.next()) else {
            return Err(usage(format!("{flag} needs a value")));
        };
        // Only --send and --subscribe may be empty (an empty frame, every
        // topic).
        if value.is_empty() && !matches!(flag.as_str(), "--send" | "--subscribe") {
            return Err(usage(format!("{flag} needs a non-empty value")));
        }
        match flag.as_str() {
            "--type" => {
                if socket_type.is_some() {
                    return Err(usage("--type given twice"));
                }
                socket_type = Some(parse_type(&value).ok_or_else(|| {
                    usage(format!(
                        "unknown socket type {value:?}: use push, pull, req, rep, dealer, \
                         router, pub, sub, xpub, xsub, pair, bus, radio or dish"
                    ))
                })?);
            }
            "--bind" => a.binds.push(value),
            "--connect" => a.connects.push(value),
            "--send" => a.sends.push(value),
            "--separator" => a.separator = Some(value.into_bytes()),
            "--format" => {
                a.format = match value.as_str() {
                    "text" => Format::Text,
                    "hex" => Format::Hex,
                    "json" => Format::Json,
                    _ => {
                        return Err(usage(format!(
                            "unknown format {value:?}: use text, hex or json"
                        )));
                    }
                }
            }
            "--subscribe" => a.subscribe.push(value),
            "--join" => a.join.push(value),
            "--group" => {
                if value.len() > 255 {
                    return Err(usage(format!(
                        "--group: {} bytes; a group has at most 255",
                        value.len()
                    )));
                }
                a.group = Some(value);
            }
            "--identity" => a.identity = Some(value),
            "--count" => a.count = Some(number(&flag, &value, 1)?),
            "--timeout" => a.timeout = Some(Duration::from_millis(number(&flag, &value, 1)?)),
            "--linger" => a.linger = Some(Duration::from_millis(number(&flag, &value, 0)?)),
            "--wait-subscribers" => a.wait_subscribers = Some(number(&flag, &value, 1)?),
            _ => return Err(usage(format!("unknown option {flag:?}"))),
        }
    }
    let t = socket_type.ok_or_else(|| usage("--type is required"))?;
    a.socket_type = t;
    let name = t.name();
    if a.binds.is_empty() && a.connects.is_empty() {
        return Err(usage("give at least one --bind or --connect"));
    }
    if !a.sends.is_empty() && !sends(t) {
        return Err(usage(format!("a {name} socket cannot send (--send)")));
    }
    if a.count.is_some() && !receives(t) {
        return Err(usage(format!(
            "--count counts received messages, and a {name} socket receives none"
        )));
    }
    if !a.subscribe.is_empty() && !matches!(t, SocketType::Sub | SocketType::XSub) {
        return Err(usage("--subscribe is for SUB and XSUB sockets"));
    }
    if t == SocketType::Dish && a.join.is_empty() {
        return Err(usage("a DISH needs at least one --join GROUP"));
    }
    if !a.join.is_empty() && t != SocketType::Dish {
        return Err(usage("--join is for DISH sockets"));
    }
    if t == SocketType::Radio && a.group.is_none() {
        return Err(usage("a RADIO sends to a group: give --group GROUP"));
    }
    if a.group.is_some() && t != SocketType::Radio {
        return Err(usage("--group is for RADIO sockets"));
    }
    if a.echo
        && !matches!(
            t,
            SocketType::Rep | SocketType::Router | SocketType::Dealer | SocketType::Pair
        )
    {
        return Err(usage("--echo is for REP, ROUTER, DEALER and PAIR sockets"));
    }
    if a.echo && t == SocketType::Rep && !a.sends.is_empty() {
        return Err(usage(
            "a REP replies either with --echo or with --send values",
        ));
    }
    if a.wait_subscribers.is_some()
        && !matches!(t, SocketType::Pub | SocketType::XPub | SocketType::Radio)
    {
        return Err(usage(
            "--wait-subscribers is for PUB, XPUB and RADIO sockets",
        ));
    }
    Ok(Some(a))
}

// ---------------------------------------------------------------------------
// Running

fn run(args: &Args) -> Run {
    let ctx = Context::new();
    let result = open(&ctx, args).and_then(|socket| match args.socket_type {
        SocketType::Req => req(&socket, args),
        SocketType::Rep => rep(&socket, args),
        _ => both_ways(socket, args),
    });
    // Sends what is still queued (up to the linger), and ends any call
    // still blocked in another thread.
    ctx.shutdown();
    let _ = std::io::stdout().flush();
    result
}

/// Makes the socket, sets its options, binds and connects.
fn open(ctx: &Context, args: &Args) -> Run<Socket> {
    let t = args.socket_type;
    let socket = ctx
        .socket(t)
        .map_err(|e| runtime(format!("cannot create a {} socket: {e}", t.name())))?;
    socket
        .set_recv_timeout(args.timeout)
        .and_then(|()| socket.set_send_timeout(args.timeout))
        .map_err(|e| setup("setting the timeouts", e))?;
    if sends(t) {
        // (A type that only receives keeps its default: nothing to flush.)
        socket
            .set_linger(args.linger.or(args.timeout))
            .map_err(|e| setup("--linger", e))?;
    }
    if let Some(id) = &args.identity {
        socket
            .set_routing_id(id.clone())
            .map_err(|e| setup(&format!("--identity {id:?}"), e))?;
    }
    if t == SocketType::Sub {
        if args.subscribe.is_empty() {
            socket.subscribe("").map_err(|e| setup("subscribe", e))?;
        }
        for topic in &args.subscribe {
            socket
                .subscribe(topic)
                .map_err(|e| setup(&format!("--subscribe {topic:?}"), e))?;
        }
    }
    for group in &args.join {
        socket
            .join(group)
            .map_err(|e| setup(&format!("--join {group:?}"), e))?;
    }
    for ep in &args.binds {
        socket
            .bind(ep)
            .map_err(|e| setup(&format!("cannot bind {ep}"), e))?;
        let resolved = socket.last_endpoint().unwrap_or_else(|| ep.clone());
        eprintln!("zcat: bound {resolved}");
    }
    for ep in &args.connects {
        socket
            .connect(ep)
            .map_err(|e| setup(&format!("cannot connect to {ep}"), e))?;
        eprintln!("zcat: connecting to {ep}");
    }
    if t == SocketType::XSub {
        // An XSUB subscribes by sending the subscription as a message.
        for topic in &args.subscribe {
            let mut sub = vec![1u8];
            sub.extend_from_slice(topic.as_bytes());
            socket
                .send(sub)
                .map_err(|e| runtime(format!("subscribe {topic:?}: {e}")))?;
        }
    }
    Ok(socket)
}

/// REQ: each input message is a request; its reply is printed before the
/// next one goes.
fn req(socket: &Socket, args: &Args) -> Run {
    let mut input = Input::start(args);
    let mut out = Output::new(args);
    while let Some(request) = input.next() {
        let request = request?;
        socket
            .send(request)
            .map_err(|e| runtime(format!("send: {e}")))?;
        let reply = socket.recv().map_err(|e| match e {
            Error::Timeout => runtime(format!(
                "no reply within {} ms",
                args.timeout.unwrap_or_default().as_millis()
            )),
            e => runtime(format!("receive: {e}")),
        })?;
        out.print(&reply)?;
        if out.count_reached() {
            break;
        }
    }
    Ok(())
}

/// REP: each request is printed, then answered with the next input
/// message (or itself, with --echo). Ends when the input is exhausted.
fn rep(socket: &Socket, args: &Args) -> Run {
    let mut input = (!args.echo).then(|| Input::start(args));
    let mut out = Output::new(args);
    loop {
        if input.as_mut().is_some_and(Input::exhausted) {
            return Ok(());
        }
        let request = match socket.recv() {
            Ok(m) => m,
            Err(Error::Timeout) => return out.idle(),
            Err(e) => return Err(runtime(format!("receive: {e}"))),
        };
        out.print(&request)?;
        let reply = match input.as_mut() {
            None => request,
            Some(input) => match input.next() {
                Some(reply) => reply?,
                None => {
                    eprintln!("zcat: end of input: the last request stays unanswered");
                    return Ok(());
                }
            },
        };
        socket
            .send(reply)
            .map_err(|e| runtime(format!("reply: {e}")))?;
        if out.count_reached() {
            return Ok(());
        }
    }
}

/// What ended one of the two directions.
enum Done {
    Sent(Run),
    Received(Run),
}

/// Every other type: input is sent while received messages are printed,
/// by two threads using the two halves of the socket.
fn both_ways(socket: Socket, args: &Args) -> Run {
    let t = args.socket_type;
    let (sender, receiver) = socket.split();
    // The receiving thread sends too, with --echo.
    let sender = Arc::new(sender);
    let (done, finished) = mpsc::channel();
    let sending = sends(t) && !(args.echo && args.sends.is_empty());
    let receiving = receives(t);
    if sending {
        let socket = sender.clone();
        let done = done.clone();
        let mut input = Input::start(args);
        let wait = args.wait_subscribers;
        let timeout = args.timeout;
        thread::spawn(move || {
            let result = send_input(&socket, &mut input, wait, timeout);
            let _ = done.send(Done::Sent(result));
        });
    }
    if receiving {
        let echo = args.echo.then(|| sender.clone());
        let mut out = Output::new(args);
        let done = done.clone();
        thread::spawn(move || {
            let result = receive(&receiver, &mut out, echo.as_deref());
            let _ = done.send(Done::Received(result));
        });
    }
    drop(done);
    let mut sending = sending;
    // Either direction failing ends everything; the end of input ends a
    // socket that only sends; the end of receiving ends any socket.
    while let Ok(event) = finished.recv() {
        match event {
            Done::Sent(Err(fail)) | Done::Received(Err(fail)) => return Err(fail),
            Done::Received(Ok(())) => return Ok(()),
            Done::Sent(Ok(())) => {
                sending = false;
                if !receiving {
                    return Ok(());
                }
            }
        }
    }
    // Both threads gone without a word: only if one panicked.
    if sending || receiving {
        return Err(runtime("a thread stopped unexpectedly"));
    }
    Ok(())
}

/// Sends every input message (after waiting for subscribers if asked).
fn send_input(
    socket: &SocketSender,
    input: &mut Input,
    wait: Option<usize>,
    timeout: Option<Duration>,
) -> Run {
    if let Some(n) = wait {
        wait_for_subscribers(socket, n, timeout)?;
    }
    while let Some(msg) = input.next() {
        match socket.send(msg?) {
            Ok(()) => {}
            Err(Error::Timeout) => {
                return Err(runtime(format!(
                    "send: no peer took the message within {} ms",
                    timeout.unwrap_or_default().as_millis()
                )));
            }
            Err(e) => return Err(runtime(format!("send: {e}"))),
        }
    }
    Ok(())
}

/// Prints what arrives (and sends it back with --echo) until --count,
/// --timeout or the end.
/// With --echo, `echo` is the sending half of the same socket.
fn receive(socket: &SocketReceiver, out: &mut Output, echo: Option<&SocketSender>) -> Run {
    loop {
        let msg = match socket.recv() {
            Ok(m) => m,
            Err(Error::Timeout) => return out.idle(),
            Err(Error::Terminated) => return Ok(()),
            Err(e) => return Err(runtime(format!("receive: {e}"))),
        };
        out.print(&msg)?;
        if let Some(sender) = echo {
            sender
                .send(msg)
                .map_err(|e| runtime(format!("echo: {e}")))?;
        }
        if out.count_reached() {
            return Ok(());
        }
    }
}

/// Waits in slices of 10 ms, so that the receiving half is not held up
/// for longer (the wait holds the socket).
fn wait_for_subscribers(socket: &SocketSender, n: usize, timeout: Option<Duration>) -> Run {
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
    loop {
        let slice = Duration::from_millis(10);
        match socket.with(|s| s.wait_for_subscribers(n, slice)) {
            Ok(()) => return Ok(()),
            Err(Error::Timeout) if deadline.is_none_or(|d| std::time::Instant::now() < d) => {}
            Err(Error::Timeout) => {
                return Err(runtime(format!(
                    "fewer than {n} subscribers within {} ms",
                    timeout.unwrap_or_default().as_millis()
                )));
            }
            Err(e) => return Err(runtime(format!("waiting for subscribers: {e}"))),
        }
    }
}

// ---------------------------------------------------------------------------
// Input

/// The messages to send: the --send values, or lines of standard input
/// read by a thread of their own (so that a REP can tell whether the
/// input has ended without waiting for the next line).
struct Input {
    lines: Receiver<Run<Vec<u8>>>,
    ahead: VecDeque<Run<Vec<u8>>>,
    separator: Option<Vec<u8>>,
    group: Option<String>,
}

impl Input {
    fn start(args: &Args) -> Input {
        let (tx, lines) = mpsc::channel();
        if args.sends.is_empty() {
            thread::spawn(move || {
                let stdin = std::io::stdin();
                for line in stdin.lock().split(b'\n') {
                    let line = line
                        .map(|mut l| {
                            if l.last() == Some(&b'\r') {
                                l.pop();
                            }
                            l
                        })
                        .map_err(|e| runtime(format!("reading standard input: {e}")));
                    let stop = line.is_err();
                    if tx.send(line).is_err() || stop {
                        return;
                    }
                }
            });
        } else {
            for value in &args.sends {
                let _ = tx.send(Ok(value.clone().into_bytes()));
            }
        }
        Input {
            lines,
            ahead: VecDeque::new(),
            separator: args.separator.clone(),
            group: args.group.clone(),
        }
    }

    /// The next message, waiting for it; `None` at the end of input.
    fn next(&mut self) -> Option<Run<Message>> {
        let line = self.ahead.pop_front().or_else(|| self.lines.recv().ok())?;
        Some(line.map(|line| self.message(line)))
    }

    /// Whether the input has ended (without waiting).
    fn exhausted(&mut self) -> bool {
        if !self.ahead.is_empty() {
            return false;
        }
        match self.lines.try_recv() {
            Ok(line) => {
                self.ahead.push_back(line);
                false
            }
            Err(TryRecvError::Empty) => false,
            Err(TryRecvError::Disconnected) => true,
        }
    }

    /// A line as a message: frames split at the separator; for a RADIO,
    /// the line is the body of a message to the group.
    fn message(&self, line: Vec<u8>) -> Message {
        if let Some(group) = &self.group {
            return Message::with_group(group.clone(), line);
        }
        match &self.separator {
            Some(sep) => split(&line, sep).into_iter().collect(),
            None => Message::from(line),
        }
    }
}

/// Splits `line` at every occurrence of `sep` (not empty).
fn split(line: &[u8], sep: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + sep.len() <= line.len() {
        if &line[i..i + sep.len()] == sep {
            frames.push(line[start..i].to_vec());
            i += sep.len();
            start = i;
        } else {
            i += 1;
        }
    }
    frames.push(line[start..].to_vec());
    frames
}

// ---------------------------------------------------------------------------
// Output

/// Prints received messages and counts them.
struct Output {
    format: Format,
    joiner: String,
    received: u64,
    count: Option<u64>,
    timeout: Option<Duration>,
}

impl Output {
    fn new(args: &Args) -> Output {
        Output {
            format: args.format,
            joiner: args
                .separator
                .as_ref()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_else(|| " | ".to_string()),
            received: 0,
            count: args.count,
            timeout: args.timeout,
        }
    }

    fn print(&mut self, msg: &Message) -> Run {
        self.received += 1;
        let line = format_message(msg, self.format, &self.joiner);
        let mut stdout = std::io::stdout().lock();
        match writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
            Ok(()) => Ok(()),
            // The reader has gone (`zcat ... | head -1`): a quiet end.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Fail {
                code: 0,
                message: String::new(),
            }),
            Err(e) => Err(runtime(format!("writing standard output: {e}"))),
        }
    }

    fn count_reached(&self) -> bool {
        self.count.is_some_and(|n| self.received >= n)
    }

    /// Nothing arrived for --timeout: the end, or an error if --count
    /// messages were expected.
    fn idle(&self) -> Run {
        let ms = self.timeout.unwrap_or_default().as_millis();
        match self.count {
            Some(n) if self.received < n => Err(runtime(format!(
                "nothing received for {ms} ms: {} of {n} messages",
                self.received
            ))),
            _ => Ok(()),
        }
    }
}

fn format_message(msg: &Message, format: Format, joiner: &str) -> String {
    match format {
        Format::Text => msg
            .iter()
            .map(|f| match std::str::from_utf8(f) {
                Ok(s) => s.to_string(),
                Err(_) => format!("0x{}", hex(f)),
            })
            .collect::<Vec<_>>()
            .join(joiner),
        Format::Hex => msg.iter().map(|f| hex(f)).collect::<Vec<_>>().join(joiner),
        Format::Json => {
            let frames: Vec<String> = msg
                .iter()
                .map(|f| match std::str::from_utf8(f) {
                    Ok(s) => json_string(s),
                    Err(_) => format!("{{\"hex\":\"{}\"}}", hex(f)),
                })
                .collect();
            format!("[{}]", frames.join(","))
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Run<Option<Args>> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn arguments() {
        let Ok(Some(a)) = parse(&[
            "--type=PUSH",
            "--connect",
            "tcp://localhost:5557",
            "--send",
            "a|b",
            "--separator",
            "|",
        ]) else {
            panic!("not parsed");
        };
        assert_eq!(a.socket_type, SocketType::Push);
        assert_eq!(a.sends, ["a|b"]);
        assert!(matches!(parse(&["-h"]), Ok(None)));
        for bad in [
            &["--bind", "tcp://*:1"][..],
            &["--type", "nope", "--bind", "tcp://*:1"],
            &["--type", "push"],
            &["--type", "pull", "--bind", "x", "--send", "a"],
            &["--type", "push", "--bind", "x", "--count", "3"],
            &["--type", "pull", "--bind", "x", "--count", "x"],
            &["--type", "pull", "--bind", "x", "--timeout", "0"],
            &["--type", "dish", "--bind", "x"],
            &["--type", "radio", "--bind", "x"],
            &["--type", "push", "--bind", "x", "--echo"],
            &["--type", "pull", "--bind", "x", "--format", "xml"],
            &["--type", "pull", "--bind", "x", "extra"],
            &["--type", "pull", "--bind"],
        ] {
            assert_eq!(parse(bad).map(|_| ()).unwrap_err().code, 2, "{bad:?}");
        }
    }

    #[test]
    fn frames_and_formats() {
        assert_eq!(split(b"a||b|", b"|"), [&b"a"[..], b"", b"b", b""]);
        assert_eq!(split(b"a::b", b"::"), [&b"a"[..], b"b"]);
        assert_eq!(split(b"", b"|"), [&b""[..]]);
        let msg: Message = [&b"a\"b"[..], b"\xff\x00", b""].into_iter().collect();
        assert_eq!(
            format_message(&msg, Format::Json, " | "),
            r#"["a\"b",{"hex":"ff00"},""]"#
        );
        assert_eq!(
            format_message(&msg, Format::Text, " | "),
            "a\"b | 0xff00 | "
        );
        assert_eq!(format_message(&msg, Format::Hex, "|"), "612262|ff00|");
        assert_eq!(json_string("\u{1}\n"), r#""\u0001\n""#);
    }
}
