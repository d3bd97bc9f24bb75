//! Floods from hostile peers over TCP, with the memory they cost measured:
//! ten million empty messages (held back by back-pressure), one message
//! of ten million empty frames (cut off by `max_frames`), and millions of
//! PINGs from a peer that never reads (their PONGs are not piled up).
//!
//! Memory is the process's resident set (`VmRSS`, and its peak `VmHWM`,
//! reset through `/proc/self/clear_refs` before each flood), so the tests
//! of this binary run one at a time, in their own process.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use brokerless::{Context, Monitor, MonitorEvent, ProtocolError, Socket, SocketType};
use common::{greeting, ready, wait_for};

/// The floods: ten million frames each.
const FRAMES: usize = 10_000_000;

/// How much a flood may add to the resident set, in KiB. Measured: under
/// 3 MiB for each (and 0 for two of them); without the bounds tested, the
/// frame flood holds over 300 MiB and the PING flood about 70 MiB.
const ALLOWED_GROWTH_KIB: usize = 16 * 1024;

/// Serialises the tests of this binary: each measures the whole process.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn status_kib(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap()
}

/// Resident memory now, in KiB.
fn rss_kib() -> usize {
    status_kib("VmRSS:")
}

/// Peak resident memory since the last [`reset_peak`], in KiB.
fn peak_kib() -> usize {
    status_kib("VmHWM:")
}

/// Restarts the peak (`VmHWM`) from the current resident set.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

fn pull(ctx: &Context, setup: impl FnOnce(&Socket)) -> (Socket, String, Monitor) {
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let monitor = pull.monitor().unwrap();
    pull.set_recv_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    setup(&pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    (pull, ep, monitor)
}

/// A raw PUSH peer: connected, greeting and READY sent.
fn raw_push(ep: &str) -> TcpStream {
    let mut s = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    s.write_all(&greeting(1)).unwrap();
    s.write_all(&ready("PUSH")).unwrap();
    s
}

/// Writes `unit` `count` times on another thread, in 64 KiB writes,
/// counting the bytes written; stops quietly if the connection is
/// closed. Returns the thread and the counters (bytes written, done).
fn flood(
    mut s: TcpStream,
    unit: &'static [u8],
    count: usize,
    tail: Vec<u8>,
) -> (
    thread::JoinHandle<TcpStream>,
    Arc<AtomicUsize>,
    Arc<AtomicBool>,
) {
    let written = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let (w, d) = (written.clone(), done.clone());
    let handle = thread::spawn(move || {
        let per_chunk = 64 * 1024 / unit.len();
        let chunk: Vec<u8> = unit.repeat(per_chunk);
        let mut left = count;
        while left > 0 {
            let n = left.min(per_chunk);
            if s.write_all(&chunk[..n * unit.len()]).is_err() {
                d.store(true, Ordering::SeqCst);
                return s;
            }
            w.fetch_add(n * unit.len(), Ordering::SeqCst);
            left -= n;
        }
        let _ = s.write_all(&tail);
        d.store(true, Ordering::SeqCst);
        s
    });
    (handle, written, done)
}

/// The error of the next failed handshake or disconnection.
fn next_error(monitor: &Monitor) -> Option<ProtocolError> {
    match wait_for(monitor, |e| {
        matches!(
            e,
            MonitorEvent::HandshakeFailed { .. } | MonitorEvent::Disconnected { .. }
        )
    }) {
        MonitorEvent::HandshakeFailed { error, .. } => Some(error),
        MonitorEvent::Disconnected { error, .. } => error,
        _ => unreachable!(),
    }
}

/// Ten million empty messages (20 MB on the wire) to a PULL that reads
/// none of them at first: once its queue holds `recv_hwm` messages the
/// connection is no longer read, TCP pushes back, and the writer stalls
/// with most of the flood unsent; memory stays flat. Then everything is
/// received, in order, and the writer finishes.
#[test]
fn ten_million_empty_messages_are_held_back() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx, |_| {});
    let raw = raw_push(&ep);
    wait_for(&monitor, |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
    let before = rss_kib();
    reset_peak();
    let (writer, written, done) = flood(raw, &[0x00, 0x00], FRAMES, data(b"last"));
    // Nothing is received until the writer has stalled (no progress for
    // half a second) or finished. Stopping early only weakens the checks.
    let mut last = (0, Instant::now());
    while !done.load(Ordering::SeqCst) && last.1.elapsed() < Duration::from_millis(500) {
        let now = written.load(Ordering::SeqCst);
        if now != last.0 {
            last = (now, Instant::now());
        }
        thread::sleep(Duration::from_millis(10));
    }
    let held = rss_kib();
    let stalled_at = written.load(Ordering::SeqCst);
    assert!(
        !done.load(Ordering::SeqCst),
        "the whole flood went in without a read: no back-pressure"
    );
    assert!(
        held < before + ALLOWED_GROWTH_KIB,
        "holding back grew the resident set from {before} to {held} KiB"
    );
    let started = Instant::now();
    for i in 0..FRAMES {
        let m = pull.recv().unwrap();
        assert!(m.len() == 1 && m[0].is_empty(), "message {i}: {m:?}");
    }
    assert_eq!(&pull.recv().unwrap()[0], b"last");
    drop(writer.join().unwrap());
    let peak = peak_kib();
    eprintln!(
        "writer stalled after {stalled_at} of {} bytes; resident {before} KiB, \
         {held} KiB while held back, peak {peak} KiB; received in {:?}",
        FRAMES * 2,
        started.elapsed()
    );
    assert!(
        peak < before + ALLOWED_GROWTH_KIB,
        "the flood grew the resident set from {before} to {peak} KiB"
    );
}

/// One message of ten million empty frames, all with MORE (20 MB on the
/// wire, and 320 MB of frame handles if it were held whole): cut off
/// at the 65,537th frame by the default `max_frames`, whether or not
/// `max_msg_size` is set (empty frames never reach it).
#[test]
fn one_message_of_ten_million_frames_is_cut_off() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for max_msg_size in [None, Some(1000)] {
        let ctx = Context::new();
        let (pull, ep, monitor) = pull(&ctx, |s| s.set_max_msg_size(max_msg_size).unwrap());
        let raw = raw_push(&ep);
        wait_for(&monitor, |e| {
            matches!(e, MonitorEvent::HandshakeSucceeded { .. })
        });
        let before = rss_kib();
        reset_peak();
        let (writer, written, _) = flood(raw, &[0x01, 0x00], FRAMES, vec![0, 0]);
        assert_eq!(
            next_error(&monitor),
            Some(ProtocolError::TooManyFrames { max: 65_536 })
        );
        drop(writer.join().unwrap());
        let peak = peak_kib();
        eprintln!(
            "max_msg_size {max_msg_size:?}: closed after {} bytes written; \
             resident {before} KiB, peak {peak} KiB",
            written.load(Ordering::SeqCst)
        );
        assert!(
            peak < before + ALLOWED_GROWTH_KIB,
            "the flood grew the resident set from {before} to {peak} KiB"
        );
        still_serves(&ctx, &pull, &ep);
    }
}

/// Ten million PINGs (90 MB) from a peer that never reads: each asks for
/// a PONG, but the PONGs are not piled up once 64 KiB wait to be written
/// (a peer that does not read gets no PONGs). The connection keeps being
/// read: a message after the flood arrives.
#[test]
fn pings_from_a_peer_that_never_reads() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let ctx = Context::new();
    let (pull, ep, monitor) = pull(&ctx, |_| {});
    let raw = raw_push(&ep);
    wait_for(&monitor, |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
    let before = rss_kib();
    reset_peak();
    let ping: &[u8] = b"\x04\x07\x04PING\x00\x00";
    let (writer, written, _) = flood(raw, ping, FRAMES, data(b"last"));
    assert_eq!(&pull.recv().unwrap()[0], b"last");
    let raw = writer.join().unwrap();
    assert_eq!(written.load(Ordering::SeqCst), FRAMES * ping.len());
    let peak = peak_kib();
    eprintln!(
        "{} bytes of PINGs; resident {before} KiB, peak {peak} KiB",
        FRAMES * ping.len()
    );
    assert!(
        peak < before + ALLOWED_GROWTH_KIB,
        "the flood grew the resident set from {before} to {peak} KiB"
    );
    drop(raw);
    assert_eq!(next_error(&monitor), None, "closed by the peer, no error");
}

/// A one-frame message.
fn data(body: &[u8]) -> Vec<u8> {
    let mut f = vec![0x00, body.len() as u8];
    f.extend(body);
    f
}

/// A good PUSH still gets through.
fn still_serves(ctx: &Context, pull: &Socket, ep: &str) {
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(ep).unwrap();
    push.send("good").unwrap();
    assert_eq!(&pull.recv().unwrap()[0], b"good");
}
