//! Feeds arbitrary bytes, split at arbitrary points, to a ZMTP connection
//! of each socket type: it must never panic, never take bytes it was not
//! given, and stay failed once failed.
//!
//! Run: `cargo fuzz run zmtp_connection` (from the repository root, with
//! cargo-fuzz installed).
#![no_main]

use brokerless::SocketType;
use brokerless::zmtp::{Config, Connection};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let socket_type = SocketType::ALL[head as usize % SocketType::ALL.len()];
    let mut config = Config::new(socket_type);
    if head & 0x80 != 0 {
        config.max_msg_size = Some(u64::from(head) * 16);
    }
    let mut conn = Connection::new(config);
    let mut input = BytesMut::new();
    let mut failed = None;
    // The first byte of each chunk sets the next chunk's length.
    let mut rest = rest;
    while let Some((&len, tail)) = rest.split_first() {
        let n = (len as usize).min(tail.len());
        input.extend_from_slice(&tail[..n]);
        rest = &tail[n..];
        loop {
            let before = input.len();
            match conn.handle_input(&mut input) {
                Ok(Some(_)) => assert!(input.len() <= before),
                Ok(None) => break,
                Err(e) => {
                    if let Some(first) = &failed {
                        assert_eq!(first, &e, "errors are sticky");
                    }
                    failed = Some(e);
                    break;
                }
            }
        }
        let queued = conn.transmit().len();
        conn.transmit_mut().advance(queued);
    }
});
