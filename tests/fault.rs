//! Fault tests: PUSH -> PULL over TCP while the PULL is killed and
//! restarted 20 times in the middle of a stream.
//!
//! The PUSH binds `tcp://127.0.0.1:0` and a sender thread keeps sending
//! numbered messages (an 8-byte big-endian sequence number, then filler
//! derived from it) with a short send timeout: a message `send` refuses
//! (`Error::Timeout`, as while no PULL is connected) is not counted as
//! accepted and gets no second chance; its number is skipped. The PULL
//! connects, receives for a while and is killed: in the first test it
//! lives in a child process (this test binary run again) that is killed
//! with SIGKILL, in the second it is a socket of this process that is
//! dropped with linger 0. The next PULL is started once the PUSH has
//! reported the previous connection lost, so that each PULL is the PUSH's
//! only peer while it lives.
//!
//! The guarantee checked, in plain words:
//!
//! * no message is delivered twice, none out of order, and none that
//!   `send` refused;
//! * a connection loses nothing but its end: each PULL receives an
//!   unbroken run of the accepted messages (every message accepted between
//!   two it received, it received too), and each PULL's run comes after
//!   the previous one's;
//! * so a kill loses only a run of consecutive messages that were in
//!   flight when the PULL died, and that run is no longer than what the
//!   queues and buffers between the two `send`/`recv` calls can hold: the
//!   PUSH's send high-water mark, the PULL's receive high-water mark, the
//!   library's own write batch and read buffer, and the kernel's socket
//!   buffers at their largest (`tcp_wmem` and `tcp_rmem` maxima);
//! * once the last PULL has completed its handshake, every message
//!   accepted afterwards is delivered, in order.
//!
//! Each PULL runs until the PUSH accepted more messages for it than that
//! bound, so a lost queue, a lost buffer or a dropped message anywhere in
//! the stream fails the test.

mod common;

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use brokerless::{Context, Error, Message, Monitor, Socket, SocketType};
use bytes::Bytes;
use common::{LONG, disconnected, handshake, sock};

/// How many times the PULL is killed (and so started 21 times).
const RESTARTS: usize = 20;
/// Bytes per message: the sequence number and filler.
const MSG_SIZE: usize = 4096;
/// The send high-water mark of the PUSH and receive high-water mark of
/// the PULL, in messages.
const HWM: usize = 100;
/// The sender's timeout per `send`: sends time out while no PULL is
/// connected.
const SEND_TIMEOUT: Duration = Duration::from_millis(20);
/// The pause between a kill and the next start, during which the sender
/// has no peer (part of the scenario, not synchronisation).
const PAUSE: Duration = Duration::from_millis(20);
/// The sequence number of the last message, which tells the last PULL to
/// stop (it is 8 bytes long, unlike the numbered messages).
const END: u64 = u64::MAX;

/// The environment variables that make [`child_pull_process`] a PULL.
const ENV_ENDPOINT: &str = "BROKERLESS_FAULT_ENDPOINT";
const ENV_RECORD: &str = "BROKERLESS_FAULT_RECORD";

/// The library's buffers per connection outside the pipes: the PUSH
/// engine's write batch (256 KiB plus the message that crossed it) and
/// the PULL engine's read buffer (at most 1 MiB plus a partial message),
/// rounded up.
const LIBRARY_BUFFER_BYTES: usize = 2 << 20;
/// Kernel socket buffer maxima assumed where /proc does not say.
const FALLBACK_KERNEL_BYTES: usize = 64 << 20;

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

/// The PULL is a child process, killed with SIGKILL 20 times.
#[test]
fn pull_process_killed_and_restarted() {
    let started = Instant::now();
    let ctx = Context::new();
    let mut run = Run::start(&ctx);
    let mut runs = Vec::new();
    for k in 0..=RESTARTS {
        let mut child = PullProcess::spawn(&run.endpoint, k);
        let peer = handshake(&run.monitor);
        if k == RESTARTS {
            run.sender.begin_final_phase();
            run.sender
                .await_accepted_more(run.per_connection, || child.check_alive());
            let (log, _push) = run.sender.finish();
            let status = child.wait_exit();
            assert!(status.success(), "the last PULL process failed: {status}");
            runs.push(child.received());
            run.check("process killed", &log, &runs, started);
            return;
        }
        run.sender
            .await_accepted_more(run.per_connection, || child.check_alive());
        child.check_alive();
        child.kill();
        runs.push(child.received());
        disconnected(&run.monitor, peer);
        thread::sleep(PAUSE);
    }
}

/// The PULL is a socket of this process, dropped (linger 0) from the
/// controlling thread and made again 20 times while a thread receives.
#[test]
fn pull_socket_closed_and_reopened() {
    let started = Instant::now();
    let ctx = Context::new();
    let mut run = Run::start(&ctx);
    let mut runs = Vec::new();
    for k in 0..=RESTARTS {
        let pull = PullThread::spawn(&ctx, &run.endpoint);
        let peer = handshake(&run.monitor);
        if k == RESTARTS {
            run.sender.begin_final_phase();
            run.sender
                .await_accepted_more(run.per_connection, || pull.check_alive());
            let (log, _push) = run.sender.finish();
            runs.push(pull.join_at_end());
            run.check("socket closed", &log, &runs, started);
            return;
        }
        run.sender
            .await_accepted_more(run.per_connection, || pull.check_alive());
        let (socket, received) = pull.stop();
        drop(socket);
        runs.push(received);
        disconnected(&run.monitor, peer);
        thread::sleep(PAUSE);
    }
}

/// Not a test of its own: the PULL process of
/// [`pull_process_killed_and_restarted`], which runs this test binary
/// again with the environment variables set. Without them it does
/// nothing.
#[test]
fn child_pull_process() {
    let (Ok(endpoint), Ok(record)) = (std::env::var(ENV_ENDPOINT), std::env::var(ENV_RECORD))
    else {
        return;
    };
    // Each number is written with its own `write` as soon as it arrives,
    // so what the parent reads after a SIGKILL is exactly what was
    // received, but for at most the one message being written.
    let mut file = OpenOptions::new().append(true).open(record).unwrap();
    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    pull.set_recv_hwm(HWM).unwrap();
    pull.connect(&endpoint).unwrap();
    loop {
        // Times out (and fails) only if the parent has gone.
        let msg = pull.recv().unwrap();
        match decode(&msg) {
            Some(seq) => file.write_all(&seq.to_be_bytes()).unwrap(),
            None => return,
        }
    }
}

// ---------------------------------------------------------------------------
// The sending side and the checks
// ---------------------------------------------------------------------------

/// The PUSH, its monitor and sender thread, and the loss bound.
struct Run {
    endpoint: String,
    monitor: Monitor,
    sender: Sender,
    /// The most messages one kill may lose.
    bound: usize,
    /// How many messages each PULL is sent before it is killed.
    per_connection: u64,
}

impl Run {
    fn start(ctx: &Context) -> Run {
        let push = sock(ctx, SocketType::Push);
        push.set_send_hwm(HWM).unwrap();
        push.set_send_timeout(Some(SEND_TIMEOUT)).unwrap();
        let monitor = push.monitor().unwrap();
        push.bind("tcp://127.0.0.1:0").unwrap();
        let endpoint = push.last_endpoint().unwrap();
        let bound = loss_bound();
        Run {
            endpoint,
            monitor,
            sender: Sender::start(push),
            bound,
            per_connection: bound as u64 + 2000,
        }
    }

    /// Checks the guarantee (see the module documentation) for the
    /// accepted messages in `log` and the numbers each PULL received, in
    /// the order the PULLs ran; reports the losses.
    fn check(&self, name: &str, log: &SendLog, runs: &[Vec<u64>], started: Instant) {
        assert_eq!(runs.len(), RESTARTS + 1);
        let accepted = &log.accepted;
        let index = |seq: u64| {
            accepted
                .binary_search(&seq)
                .unwrap_or_else(|_| panic!("message {seq} was refused by send, yet delivered"))
        };
        // `next`: the index in `accepted` of the first message no PULL
        // has received yet; `last_run`: the PULL that received the
        // message before it.
        let mut next = 0;
        let mut last_run = None;
        let mut losses = Vec::new();
        for (k, run) in runs.iter().enumerate() {
            let Some(&first) = run.first() else {
                continue;
            };
            let start = index(first);
            assert!(
                start >= next,
                "PULL {k} received message {first}, which an earlier PULL received or which \
                 comes before one it received"
            );
            for (i, &seq) in run.iter().enumerate() {
                let at = index(seq);
                assert_eq!(
                    at,
                    start + i,
                    "PULL {k} received message {seq} after {}, but message {} was accepted \
                     between them and never reached it",
                    run[i - 1],
                    accepted[start + i],
                );
            }
            // The kills since the PULL that received something last.
            let kills = k - last_run.unwrap_or(0);
            let lost = start - next;
            assert!(
                lost <= kills * self.bound,
                "{lost} accepted messages ({}..{first}) lost over {kills} kill(s) before PULL \
                 {k}; the bound is {} per kill",
                accepted[next],
                self.bound,
            );
            losses.push((lost, kills));
            next = start + run.len();
            last_run = Some(k);
        }
        let cutoff = log.cutoff.expect("the final phase began");
        let final_start = accepted.partition_point(|&s| s < cutoff);
        assert!(
            accepted.len() - final_start > self.bound,
            "too few messages accepted after the last handshake"
        );
        assert_eq!(
            last_run,
            Some(RESTARTS),
            "the last PULL received nothing of what was accepted after its handshake"
        );
        assert!(
            runs[RESTARTS]
                .first()
                .is_some_and(|&s| s <= accepted[final_start]),
            "the last PULL missed messages accepted after its handshake"
        );
        assert_eq!(
            next,
            accepted.len(),
            "the last PULL did not receive the last {} messages accepted",
            accepted.len() - next,
        );
        let mut per_kill: Vec<usize> = losses
            .iter()
            .filter(|&&(_, kills)| kills == 1)
            .map(|&(lost, _)| lost)
            .collect();
        per_kill.sort_unstable();
        eprintln!(
            "{name}: {} accepted, {} refused, {} received over {} connections; lost per kill \
             min {} median {} max {} (bound {}); gaps {:?}; {:.2?}",
            accepted.len(),
            log.refused,
            runs.iter().map(Vec::len).sum::<usize>(),
            runs.len(),
            per_kill.first().unwrap_or(&0),
            per_kill.get(per_kill.len() / 2).unwrap_or(&0),
            per_kill.last().unwrap_or(&0),
            self.bound,
            losses,
            started.elapsed(),
        );
    }
}

/// The most accepted messages one kill may lose: everything that fits
/// between the PUSH's `send` and the PULL's `recv` (see the module
/// documentation), plus the message the PULL process was recording.
fn loss_bound() -> usize {
    let bytes = kernel_buffer_bytes() + LIBRARY_BUFFER_BYTES;
    2 * HWM + bytes.div_ceil(MSG_SIZE) + 1
}

/// The largest the kernel lets a TCP socket's send buffer plus a receive
/// buffer grow (automatic tuning stays within `tcp_wmem` and `tcp_rmem`;
/// the library does not set SO_SNDBUF or SO_RCVBUF). Their accounting
/// includes overhead, so the payload they hold is less.
fn kernel_buffer_bytes() -> usize {
    let max = |path: &str| -> Option<usize> {
        let s = std::fs::read_to_string(path).ok()?;
        s.split_whitespace().nth(2)?.parse().ok()
    };
    match (
        max("/proc/sys/net/ipv4/tcp_wmem"),
        max("/proc/sys/net/ipv4/tcp_rmem"),
    ) {
        (Some(w), Some(r)) => w + r,
        _ => FALLBACK_KERNEL_BYTES,
    }
}

/// What the sender thread did.
struct SendLog {
    /// The sequence numbers `send` accepted, in order.
    accepted: Vec<u64>,
    /// How many sends timed out.
    refused: u64,
    /// The first sequence number whose send began after the last PULL's
    /// handshake had been seen.
    cutoff: Option<u64>,
}

/// The thread that sends numbered messages on the PUSH until told to
/// finish.
struct Sender {
    accepted: Arc<AtomicU64>,
    final_phase: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<(SendLog, Socket)>>,
}

impl Sender {
    fn start(push: Socket) -> Sender {
        let accepted = Arc::new(AtomicU64::new(0));
        let final_phase = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, fin, halt) = (accepted.clone(), final_phase.clone(), stop.clone());
        let thread = thread::spawn(move || {
            let mut log = SendLog {
                accepted: Vec::new(),
                refused: 0,
                cutoff: None,
            };
            let mut seq = 0;
            while !halt.load(Ordering::Acquire) {
                if log.cutoff.is_none() && fin.load(Ordering::Acquire) {
                    log.cutoff = Some(seq);
                }
                match push.send(encode(seq)) {
                    Ok(()) => {
                        log.accepted.push(seq);
                        count.fetch_add(1, Ordering::Release);
                    }
                    Err(Error::Timeout) => log.refused += 1,
                    Err(e) => panic!("send failed: {e}"),
                }
                seq += 1;
            }
            push.set_send_timeout(LONG).unwrap();
            push.send(&END.to_be_bytes()[..]).unwrap();
            (log, push)
        });
        Sender {
            accepted,
            final_phase,
            stop,
            thread: Some(thread),
        }
    }

    /// Marks the messages sent from now on as ones that must arrive.
    fn begin_final_phase(&self) {
        self.final_phase.store(true, Ordering::Release);
    }

    /// Waits until `n` more messages have been accepted, calling `check`
    /// (which panics on a failure it sees) meanwhile.
    fn await_accepted_more(&self, n: u64, check: impl FnMut()) {
        let target = self.accepted.load(Ordering::Acquire) + n;
        await_condition(
            "the sender's progress",
            || self.accepted.load(Ordering::Acquire) >= target,
            check,
        );
    }

    /// Stops the sender after it sent the end marker; returns its log and
    /// the PUSH, to be kept until the last PULL received the marker
    /// (with linger 0, dropping it would drop the marker if still queued).
    fn finish(&mut self) -> (SendLog, Socket) {
        self.stop.store(true, Ordering::Release);
        let thread = self.thread.take().expect("finished once");
        thread.join().expect("the sender thread failed")
    }
}

/// Polls `cond` (1 ms apart) until it holds, calling `check` each time;
/// fails after 20 s.
fn await_condition(what: &str, cond: impl Fn() -> bool, mut check: impl FnMut()) {
    let deadline = Instant::now() + LONG.unwrap();
    while !cond() {
        check();
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

/// Message `seq`: the number, big-endian, then bytes derived from it.
fn encode(seq: u64) -> Message {
    let mut body = vec![filler(seq); MSG_SIZE];
    body[..8].copy_from_slice(&seq.to_be_bytes());
    Message::from(Bytes::from(body))
}

/// The byte message `seq` is filled with.
fn filler(seq: u64) -> u8 {
    seq.to_le_bytes()[0]
}

/// The sequence number of a message, or `None` for the end marker;
/// panics on anything else or a corrupted message.
fn decode(msg: &Message) -> Option<u64> {
    assert_eq!(msg.len(), 1, "one frame per message");
    let body = &msg[0];
    let seq = u64::from_be_bytes(body[..8].try_into().unwrap());
    if body.len() == 8 && seq == END {
        return None;
    }
    assert_eq!(body.len(), MSG_SIZE, "message {seq} has the wrong size");
    let expected = [filler(seq); MSG_SIZE - 8];
    assert!(body[8..] == expected[..], "message {seq} is corrupted");
    Some(seq)
}

// ---------------------------------------------------------------------------
// The PULL as a process
// ---------------------------------------------------------------------------

/// A child process running [`child_pull_process`], killed when dropped.
struct PullProcess {
    child: Child,
    record: PathBuf,
}

impl PullProcess {
    fn spawn(endpoint: &str, k: usize) -> PullProcess {
        let record =
            std::env::temp_dir().join(format!("brokerless-fault-{}-{k}.seq", std::process::id()));
        File::create(&record).unwrap();
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "child_pull_process",
                "--exact",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env(ENV_ENDPOINT, endpoint)
            .env(ENV_RECORD, &record)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        PullProcess { child, record }
    }

    /// Panics if the process has exited.
    fn check_alive(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("the PULL process exited early: {status}");
        }
    }

    /// SIGKILL, and wait until it is gone.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits for the process to end by itself (20 s at most).
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + LONG.unwrap();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for the last PULL process to exit"
            );
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// The sequence numbers the process recorded, in order.
    fn received(&self) -> Vec<u64> {
        let mut bytes = Vec::new();
        File::open(&self.record)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
            .chunks_exact(8)
            .map(|c| u64::from_be_bytes(c.try_into().unwrap()))
            .collect()
    }
}

impl Drop for PullProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.record);
    }
}

// ---------------------------------------------------------------------------
// The PULL as a socket
// ---------------------------------------------------------------------------

/// A PULL socket and the thread receiving on it.
struct PullThread {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(Socket, Vec<u64>)>,
}

impl PullThread {
    fn spawn(ctx: &Context, endpoint: &str) -> PullThread {
        let pull = sock(ctx, SocketType::Pull);
        pull.set_recv_hwm(HWM).unwrap();
        pull.connect(endpoint).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let halt = stop.clone();
        let thread = thread::spawn(move || {
            let mut received = Vec::new();
            // While this PULL lives the sender keeps it busy, so `recv`
            // returns promptly and the stop flag is seen.
            while !halt.load(Ordering::Acquire) {
                match decode(&pull.recv().unwrap()) {
                    Some(seq) => received.push(seq),
                    None => break,
                }
            }
            (pull, received)
        });
        PullThread { stop, thread }
    }

    /// Panics if the receiving thread has ended.
    fn check_alive(&self) {
        assert!(!self.thread.is_finished(), "the PULL thread ended early");
    }

    /// Stops receiving; returns the socket, still open, and what it got.
    fn stop(self) -> (Socket, Vec<u64>) {
        self.stop.store(true, Ordering::Release);
        self.thread.join().expect("the PULL thread failed")
    }

    /// Waits until the end marker arrived; returns what came before it.
    fn join_at_end(self) -> Vec<u64> {
        self.thread.join().expect("the PULL thread failed").1
    }
}
