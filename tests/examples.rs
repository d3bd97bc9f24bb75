//! The examples as separate processes on loopback: the tour, and zcat
//! against itself, against the pushpull, pubsub, reqrep and radiodish
//! examples, and against libzmq.
//!
//! The binaries are those cargo builds in `target/<profile>/examples/`.
//! A plain `cargo test` builds every example before running the tests; a
//! filtered run (`cargo test --test examples`) does not, so build them
//! first then: `cargo build --examples`.
//!
//! Every child is killed when its handle drops, so a failing test leaves
//! no process behind; every wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use libzmq_peer as zmq;

/// The longest any step waits (generous: the machine may be busy).
const WAIT: Duration = Duration::from_secs(15);

/// The path of an example binary, checked to exist and to be newer than
/// its source.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // The test runs as target/<profile>/deps/examples-<hash>.
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let built = std::fs::metadata(&path).and_then(|m| m.modified());
    let Ok(built) = built else {
        panic!(
            "{} is missing: `cargo test` builds the examples, a filtered \
             `cargo test --test examples` does not (run `cargo build --examples` first)",
            path.display()
        );
    };
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(format!("{name}.rs"));
    let edited = std::fs::metadata(&source)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    assert!(
        built >= edited,
        "{} is older than {}: run `cargo build --examples`",
        path.display(),
        source.display()
    );
    path
}

/// A running example. Its stdout and stderr are read line by line by two
/// threads; the process is killed when this is dropped.
struct Proc {
    what: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    /// Every stderr line seen so far, for failure messages.
    errors: Vec<String>,
}

fn lines(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

impl Proc {
    fn spawn(name: &str, args: &[&str]) -> Proc {
        let what = format!("{name} {}", args.join(" "));
        let mut child = Command::new(example(name))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let stdout = lines(child.stdout.take().expect("piped stdout"));
        let stderr = lines(child.stderr.take().expect("piped stderr"));
        Proc {
            what,
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
            errors: Vec::new(),
        }
    }

    /// The next line of stdout.
    fn line(&mut self) -> String {
        match self.stdout.recv_timeout(WAIT) {
            Ok(line) => line,
            Err(e) => {
                self.drain_stderr();
                panic!(
                    "{}: no output line ({e:?}); stderr: {:?}",
                    self.what, self.errors
                )
            }
        }
    }

    /// What follows `prefix` in the first stderr line that starts with it
    /// (such as zcat's "zcat: bound " and its endpoint).
    fn stderr_after(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.errors.push(line.clone());
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.trim().to_string();
                    }
                }
                Err(e) => panic!(
                    "{}: no stderr line {prefix:?} ({e:?}); stderr: {:?}",
                    self.what, self.errors
                ),
            }
        }
    }

    /// The endpoint a zcat `--bind` resolved to.
    fn bound(&mut self) -> String {
        self.stderr_after("zcat: bound ")
    }

    fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("{}: writing stdin: {e}", self.what));
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    fn drain_stderr(&mut self) {
        while let Ok(line) = self.stderr.try_recv() {
            self.errors.push(line);
        }
    }

    /// Waits for the exit; returns the exit code and the rest of stdout
    /// (stderr is kept in `errors`).
    fn finish(&mut self) -> (i32, Vec<String>) {
        self.close_stdin();
        let deadline = Instant::now() + WAIT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(10));
                }
                Ok(None) => {
                    self.drain_stderr();
                    panic!(
                        "{} did not exit within {WAIT:?}; stderr: {:?}",
                        self.what, self.errors
                    );
                }
                Err(e) => panic!("{}: {e}", self.what),
            }
        };
        // The process is gone: its streams end.
        let mut out = Vec::new();
        loop {
            match self.stdout.recv_timeout(WAIT) {
                Ok(line) => out.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("{}: stdout not closed", self.what),
            }
        }
        self.drain_stderr();
        (status.code().unwrap_or(-1), out)
    }

    /// Expects a successful exit; returns the rest of stdout.
    fn success(mut self) -> Vec<String> {
        let (code, out) = self.finish();
        assert_eq!(
            code, 0,
            "{} failed; stdout {out:?}, stderr {:?}",
            self.what, self.errors
        );
        out
    }

    /// The exit code, for a process expected to fail.
    fn code(mut self) -> i32 {
        self.finish().0
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// zcat with its arguments given as one string split at spaces (so no
/// argument may contain one), standard input closed.
fn zcat(command: &str) -> Proc {
    let args: Vec<&str> = command.split_whitespace().collect();
    let mut p = Proc::spawn("zcat", &args);
    p.close_stdin();
    p
}

/// zcat whose standard input stays open, for the test to write.
fn zcat_fed(command: &str) -> Proc {
    let args: Vec<&str> = command.split_whitespace().collect();
    Proc::spawn("zcat", &args)
}

// ---------------------------------------------------------------------------
// The tour

#[test]
fn tour_runs_every_pattern_and_exits_0() {
    let out = Proc::spawn("tour", &[]).success();
    let text = out.join("\n");
    for section in [
        "request-reply",
        "dealer-router",
        "pub-sub",
        "pipeline",
        "bus",
        "radio-dish",
        "radio-dish-udp",
        "curve",
    ] {
        assert!(
            out.iter()
                .any(|l| l.trim_start().starts_with(&format!("PASS {section}: "))),
            "no PASS line for {section} in:\n{text}"
        );
    }
    assert!(!text.contains("FAIL"), "{text}");
    assert!(
        out.iter()
            .any(|l| l.starts_with("tour: all 8 patterns delivered exactly what they should")),
        "{text}"
    );
}

// ---------------------------------------------------------------------------
// zcat against zcat

#[test]
fn zcat_push_to_zcat_pull_over_tcp() {
    let mut pull = zcat("--type pull --bind tcp://127.0.0.1:* --count 3 --timeout 10000");
    let endpoint = pull.bound();
    assert!(endpoint.starts_with("tcp://127.0.0.1:"), "{endpoint}");
    // Lines of stdin, split into frames at '|'.
    let mut push = zcat_fed(&format!("--type push --connect {endpoint} --separator |"));
    push.send_line("hello");
    push.send_line("job|42");
    push.send_line("a||c");
    assert!(push.success().is_empty());
    assert_eq!(pull.success(), ["hello", "job | 42", "a |  | c"]);
}

#[test]
fn zcat_json_and_hex_output() {
    let mut pull =
        zcat("--type pull --bind tcp://127.0.0.1:* --count 2 --timeout 10000 --format json");
    let endpoint = pull.bound();
    // Bytes that are not UTF-8 come in through stdin.
    let mut push = zcat_fed(&format!("--type push --connect {endpoint} --separator /"));
    if let Some(stdin) = push.stdin.as_mut() {
        stdin
            .write_all(b"say \"hi\"/\xff\xfe/\n\tend\n")
            .expect("write stdin");
    }
    push.success();
    assert_eq!(
        pull.success(),
        [r#"["say \"hi\"",{"hex":"fffe"},""]"#, r#"["\tend"]"#]
    );

    let mut pull =
        zcat("--type pull --bind tcp://127.0.0.1:* --count 1 --timeout 10000 --format hex");
    let endpoint = pull.bound();
    zcat(&format!(
        "--type push --connect {endpoint} --send AB|z --separator |"
    ))
    .success();
    assert_eq!(pull.success(), ["4142 | 7a"]);
}

#[test]
fn zcat_req_and_rep_alternate() {
    // REP answers with its --send values in turn and exits after the last.
    let mut rep = zcat(
        "--type rep --bind tcp://127.0.0.1:* --send one --send two --send three --timeout 10000",
    );
    let endpoint = rep.bound();
    // Each reply is read before the next request is written: REQ sends a
    // line only once the previous reply is in.
    let mut req = zcat_fed(&format!("--type req --connect {endpoint} --timeout 10000"));
    for (question, answer) in [("1?", "one"), ("2?", "two"), ("3?", "three")] {
        req.send_line(question);
        assert_eq!(req.line(), answer);
    }
    assert!(req.success().is_empty());
    assert_eq!(rep.success(), ["1?", "2?", "3?"]);
}

#[test]
fn zcat_rep_echo_router_dealer() {
    let mut rep = zcat("--type rep --bind tcp://127.0.0.1:* --echo --count 2 --timeout 10000");
    let endpoint = rep.bound();
    let req = zcat(&format!(
        "--type req --connect {endpoint} --send a|b --send c --separator | --timeout 10000"
    ));
    assert_eq!(req.success(), ["a|b", "c"]);
    assert_eq!(rep.success(), ["a | b", "c"]);

    // A ROUTER sees the DEALER's identity as the first frame, and echoes
    // back to it.
    let mut router =
        zcat("--type router --bind tcp://127.0.0.1:* --echo --count 1 --timeout 10000");
    let endpoint = router.bound();
    let dealer = zcat(&format!(
        "--type dealer --connect {endpoint} --identity dealer-1 --send ping --count 1 --timeout 10000"
    ));
    assert_eq!(dealer.success(), ["ping"]);
    assert_eq!(router.success(), ["dealer-1 | ping"]);
}

#[test]
fn zcat_pub_sub_topics_and_udp_radio_dish() {
    let mut sub =
        zcat("--type sub --bind tcp://127.0.0.1:* --subscribe weather. --count 2 --timeout 10000");
    let endpoint = sub.bound();
    zcat(&format!(
        "--type pub --connect {endpoint} --wait-subscribers 1 --timeout 10000 \
         --send weather.rome=21 --send sport.golf=par --send weather.oslo=3"
    ))
    .success();
    assert_eq!(sub.success(), ["weather.rome=21", "weather.oslo=3"]);

    let mut dish =
        zcat("--type dish --bind udp://127.0.0.1:* --join alerts --count 2 --timeout 10000");
    let endpoint = dish.bound();
    assert!(endpoint.starts_with("udp://127.0.0.1:"), "{endpoint}");
    for (group, body) in [("alerts", "fire"), ("chatter", "hi"), ("alerts", "flood")] {
        zcat(&format!(
            "--type radio --connect {endpoint} --group {group} --send {body}"
        ))
        .success();
    }
    assert_eq!(dish.success(), ["alerts | fire", "alerts | flood"]);
}

#[test]
fn zcat_exit_codes() {
    for usage_error in [
        "--type push",
        "--type nope --bind tcp://127.0.0.1:*",
        "--type pull --bind tcp://127.0.0.1:* --count x",
        "--type pull --bind tcp://127.0.0.1:* --send x",
        "--type radio --connect tcp://127.0.0.1:1",
        "--type pull --bind tcp://127.0.0.1:99999",
        "--type push --bind nowhere",
        "--type pull --connect tcp://127.0.0.1:1 stray",
    ] {
        assert_eq!(zcat(usage_error).code(), 2, "zcat {usage_error}");
    }
    // A port in use is a runtime error, as is a timeout before --count
    // messages arrived, or a REQ whose reply never comes.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = taken.local_addr().expect("its address").port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    for runtime_error in [
        format!("--type pull --bind {endpoint}"),
        "--type pull --bind tcp://127.0.0.1:* --count 1 --timeout 200".to_string(),
        format!("--type req --connect {endpoint} --send anyone? --timeout 200"),
    ] {
        assert_eq!(zcat(&runtime_error).code(), 1, "zcat {runtime_error}");
    }
    // Without --count, running out of time is the normal end.
    assert_eq!(
        zcat("--type sub --bind tcp://127.0.0.1:* --timeout 200").code(),
        0
    );
    drop(taken);
}

// ---------------------------------------------------------------------------
// zcat against the other examples

#[test]
fn zcat_with_the_pushpull_example() {
    let mut pull = Proc::spawn("pushpull", &["pull", "tcp://127.0.0.1:*"]);
    let endpoint = pull.stderr_after("pulling on ");
    zcat(&format!(
        "--type push --connect {endpoint} --send hello|world --separator |"
    ))
    .success();
    assert_eq!(pull.line(), "hello | world");

    let mut zpull = zcat("--type pull --bind tcp://127.0.0.1:* --count 2 --timeout 10000");
    let endpoint = zpull.bound();
    Proc::spawn("pushpull", &["push", &endpoint, "from", "pushpull"]).success();
    assert_eq!(zpull.success(), ["from", "pushpull"]);
}

#[test]
fn zcat_with_the_pubsub_and_reqrep_examples() {
    // The publisher sends on five topics in turn, ten times a second.
    let mut publ = Proc::spawn("pubsub", &["pub", "tcp://127.0.0.1:*"]);
    let endpoint = publ.stderr_after("publishing on ");
    let got = zcat(&format!(
        "--type sub --connect {endpoint} --subscribe sport. --count 3 --timeout 10000"
    ))
    .success();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|l| l.starts_with("sport.")), "{got:?}");
    drop(publ);

    let mut server = Proc::spawn("reqrep", &["server", "tcp://127.0.0.1:*"]);
    let endpoint = server.stderr_after("serving on ");
    let replies = zcat(&format!(
        "--type req --connect {endpoint} --send hello --send zcat --timeout 10000"
    ))
    .success();
    assert_eq!(replies, ["olleh", "tacz"]);
    assert_eq!(server.line(), "request: hello");
}

#[test]
fn zcat_with_the_radiodish_example_over_udp() {
    let mut dish = Proc::spawn("radiodish", &["dish", "udp://127.0.0.1:*", "news"]);
    let endpoint = dish.stderr_after("bound to ");
    zcat(&format!(
        "--type radio --connect {endpoint} --group news --send extra!"
    ))
    .success();
    assert_eq!(dish.line(), "[news] extra!");
}

// ---------------------------------------------------------------------------
// zcat against libzmq 4.3.5

fn zmq_socket(ctx: &zmq::Context, kind: zmq::SocketKind) -> zmq::Socket {
    let s = ctx.socket(kind).expect("libzmq socket");
    s.set_rcvtimeo(WAIT.as_millis() as i32).expect("rcvtimeo");
    s.set_sndtimeo(WAIT.as_millis() as i32).expect("sndtimeo");
    s.set_linger(0).expect("linger");
    s
}

#[test]
fn zcat_interoperates_with_libzmq() {
    let ctx = zmq::Context::new().expect("libzmq context");

    // zcat PUSH -> libzmq PULL, multipart.
    let pull = zmq_socket(&ctx, zmq::SocketKind::Pull);
    pull.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = pull.last_endpoint().expect("endpoint");
    zcat(&format!(
        "--type push --connect {endpoint} --send to|libzmq --separator |"
    ))
    .success();
    assert_eq!(
        pull.recv().expect("libzmq receives"),
        [b"to".to_vec(), b"libzmq".to_vec()]
    );

    // libzmq PUSH -> zcat PULL.
    let mut zpull = zcat("--type pull --bind tcp://127.0.0.1:* --count 1 --timeout 10000");
    let endpoint = zpull.bound();
    let push = zmq_socket(&ctx, zmq::SocketKind::Push);
    push.connect(&endpoint).expect("connect");
    push.send(&[b"from", b"libzmq"]).expect("libzmq sends");
    assert_eq!(zpull.success(), ["from | libzmq"]);

    // zcat REQ -> libzmq REP.
    let rep = zmq_socket(&ctx, zmq::SocketKind::Rep);
    rep.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = rep.last_endpoint().expect("endpoint");
    let server = thread::spawn(move || {
        let request = rep.recv().expect("libzmq REP receives");
        rep.send(&[b"pong"]).expect("libzmq REP replies");
        request
    });
    let replies = zcat(&format!(
        "--type req --connect {endpoint} --send ping --timeout 10000"
    ))
    .success();
    assert_eq!(replies, ["pong"]);
    assert_eq!(server.join().expect("REP thread"), [b"ping".to_vec()]);
}
