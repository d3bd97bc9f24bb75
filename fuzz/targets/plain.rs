//! PLAIN (RFC 24), and NULL with a ZAP domain, under hostile input: a
//! PLAIN server or client fed arbitrary bytes after a valid greeting, or
//! a real client and server with the fuzzer in between, giving the
//! authenticator's verdicts (approvals and refusals alternate with the
//! input). The invariants are listed in `secure.rs`.
//!
//! Input: a mode byte (raw server, raw client, relay PLAIN, relay NULL
//! with ZAP; a size limit; the socket types), the user name and
//! password, then the operations of the mode.
//!
//! Shared by the cargo-fuzz target `plain` and by the corpus replay test
//! `tests/fuzz_corpus.rs`.

// `plain` and `curve` each include the shared harness (the replay test
// includes both targets, hence this file twice).
#[allow(clippy::duplicate_mod)]
#[path = "secure.rs"]
mod secure;

use brokerless::SocketType;
use brokerless::zmtp::{Config, Mechanism};
use bytes::Bytes;

use self::secure::{Reader, raw, relay};

/// A user name or password from the input: up to 15 octets, or 255.
fn credential(r: &mut Reader) -> Bytes {
    let b = r.byte();
    if b & 0x80 != 0 {
        Bytes::from(vec![b; 255])
    } else {
        r.bytes(usize::from(b & 0x0F))
    }
}

/// Checks every invariant on one input; panics on a violation.
pub fn run(data: &[u8]) {
    let mut r = Reader(data);
    let mode = r.byte();
    let (client_type, server_type) = if mode & 0x20 != 0 {
        (SocketType::Pair, SocketType::Pair)
    } else {
        (SocketType::Dealer, SocketType::Router)
    };
    let mut client = Config::new(client_type);
    let mut server = Config::new(server_type);
    if mode & 0x10 != 0 {
        let max = Some(u64::from(r.byte()) << (r.byte() % 12));
        client.max_msg_size = max;
        server.max_msg_size = max;
    }
    let username = credential(&mut r);
    let password = credential(&mut r);
    if mode % 4 == 3 {
        // NULL, the server asking its authenticator.
        server.zap = true;
        relay(&mut r, client, server, None);
        return;
    }
    client.mechanism = Mechanism::PlainClient { username, password };
    server.mechanism = Mechanism::PlainServer;
    match mode % 4 {
        0 => raw(&mut r, server),
        1 => raw(&mut r, client),
        _ => relay(&mut r, client, server, None),
    }
}
