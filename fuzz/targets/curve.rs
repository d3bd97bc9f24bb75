//! CURVE (RFC 26) under hostile input, in two ways:
//! - raw: a CURVE server or client fed arbitrary bytes after a valid
//!   greeting; nothing may come of them (no Authenticate, no
//!   Established, no message), since only a peer with the right keys
//!   makes boxes we open;
//! - relay: a real client and server with fixed long-term keys (their
//!   transient keys and nonces are random), the fuzzer in between,
//!   either from the start or once the handshake is done untouched
//!   (then it flips, drops, duplicates, reorders and injects MESSAGE
//!   frames): every frame delivered must be one the other side sent, in
//!   order, and the authenticator is only ever asked about the real
//!   client's key. The invariants are listed in `secure.rs`.
//!
//! Input: a mode byte (raw server, raw client, relay; a size limit),
//! then the operations of the mode.
//!
//! Shared by the cargo-fuzz target `curve` and by the corpus replay test
//! `tests/fuzz_corpus.rs`.

// `plain` and `curve` each include the shared harness (the replay test
// includes both targets, hence this file twice).
#[allow(clippy::duplicate_mod)]
#[path = "secure.rs"]
mod secure;

use brokerless::zmtp::{Config, Mechanism};
use brokerless::{CurveKeyPair, CurveSecretKey, SocketType};

use self::secure::{Reader, raw, relay};

/// A fixed key pair (the fuzzer needs no randomness of its own).
fn keys(seed: u8) -> CurveKeyPair {
    CurveKeyPair::from_secret(CurveSecretKey::from_bytes([seed; 32]))
}

/// Checks every invariant on one input; panics on a violation.
pub fn run(data: &[u8]) {
    let mut r = Reader(data);
    let mode = r.byte();
    let server_keys = keys(0x53);
    let client_keys = keys(0x43);
    let client_key = *client_keys.public().as_bytes();
    let mut client = Config::new(SocketType::Dealer);
    let mut server = Config::new(SocketType::Router);
    if mode & 0x10 != 0 {
        let max = Some(u64::from(r.byte()) << (r.byte() % 12));
        client.max_msg_size = max;
        server.max_msg_size = max;
    }
    client.mechanism = Mechanism::CurveClient {
        keys: client_keys,
        server_key: *server_keys.public(),
    };
    server.mechanism = Mechanism::CurveServer { keys: server_keys };
    match mode % 4 {
        0 => raw(&mut r, server),
        1 => raw(&mut r, client),
        _ => relay(&mut r, client, server, Some(client_key)),
    }
}
