//! Per-message cost of `Socket::send` and `Socket::recv`, single-threaded
//! and deterministic (inproc PUSH -> PULL, HWM unlimited), for callgrind:
//! `valgrind --tool=callgrind --toggle-collect='*send_phase*' target/release/examples/sync_cost 100000`
//! (and `*recv_phase*`); instructions / n = per message. Measured for
//! issue #8 (Socket `!Sync`). `SYNC_COST_TIME=1` prints nanoseconds.
use brokerless::{Context, Message, Socket, SocketType};

#[inline(never)]
fn send_phase(push: &Socket, payload: &bytes::Bytes, n: u64) {
    for _ in 0..n {
        push.send(Message::from(payload.clone())).unwrap();
    }
}

#[inline(never)]
fn recv_phase(pull: &Socket, n: u64) -> usize {
    let mut total = 0;
    for _ in 0..n {
        total += pull.recv().unwrap()[0].len();
    }
    total
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(100_000, |s| s.parse().unwrap());
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_recv_hwm(0).unwrap();
    pull.bind("inproc://cost").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_send_hwm(0).unwrap();
    push.connect("inproc://cost").unwrap();
    let payload = bytes::Bytes::from(vec![0x5a_u8; 64]);
    let t = std::time::Instant::now();
    send_phase(&push, &payload, n);
    let ts = t.elapsed();
    let t = std::time::Instant::now();
    let got = recv_phase(&pull, n);
    let tr = t.elapsed();
    if std::env::var_os("SYNC_COST_TIME").is_some() {
        println!(
            "send_ns_per_msg {:.2} recv_ns_per_msg {:.2}",
            ts.as_nanos() as f64 / n as f64,
            tr.as_nanos() as f64 / n as f64
        );
    }
    assert_eq!(got as u64, 64 * n);
}
