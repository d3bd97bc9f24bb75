//! Greeting parser: `Greeting::decode` on arbitrary bytes (judged octet by
//! octet, errors stable as more bytes arrive), and round trips of
//! greetings built from the input.
//!
//! Shared by the cargo-fuzz target `greeting` and by the corpus replay
//! test `tests/fuzz_corpus.rs`.

use brokerless::ProtocolError;
use brokerless::zmtp::Decoded;
use brokerless::zmtp::greeting::{GREETING_LEN, Greeting, MECHANISM_LEN, VERSION_MINOR};
use bytes::BytesMut;

/// Checks every invariant on one input; panics on a violation.
pub fn run(data: &[u8]) {
    check_decode(data);
    check_prefixes(data);
    // The same bytes with a valid signature and version always decode.
    let mut fixed = [0u8; GREETING_LEN];
    let n = data.len().min(GREETING_LEN);
    fixed[..n].copy_from_slice(&data[..n]);
    fixed[0] = 0xFF;
    fixed[9] |= 0x01;
    fixed[10] = fixed[10].max(3);
    match Greeting::decode(&fixed) {
        Ok(Decoded::Done { value, len }) => {
            assert_eq!(len, GREETING_LEN);
            round_trip(value);
        }
        other => panic!("a valid greeting was refused: {other:?}"),
    }
}

fn check_decode(data: &[u8]) {
    match Greeting::decode(data) {
        Ok(Decoded::Done { value, len }) => {
            assert_eq!(len, GREETING_LEN);
            assert!(len <= data.len());
            assert_eq!(data[0], 0xFF);
            assert_eq!(data[9] & 1, 1);
            assert!(data[10] >= 3);
            assert_eq!(value.major, data[10]);
            assert_eq!(value.minor, data[11]);
            assert_eq!(&value.mechanism[..], &data[12..12 + MECHANISM_LEN]);
            assert_eq!(value.as_server, data[32] != 0);
            assert!(value.effective_minor() <= VERSION_MINOR);
            let name = value.mechanism_name();
            assert!(name.len() <= 3 * MECHANISM_LEN); // lossy UTF-8 at most triples
            let encoded = round_trip(value);
            // Only padding (1..9), octet 9's other bits, as-server's value
            // and the filler may differ from the input.
            assert_eq!(encoded[0], data[0]);
            assert_eq!(&encoded[10..32], &data[10..32]);
        }
        Ok(Decoded::NeedMore { more }) => {
            assert!(data.len() < GREETING_LEN);
            assert_eq!(data.len() + more, GREETING_LEN);
        }
        Err(e) => match e {
            ProtocolError::BadSignature => {
                assert!(data[0] != 0xFF || data.get(9).is_some_and(|&b| b & 1 == 0));
            }
            ProtocolError::UnsupportedVersion { major, minor } => {
                assert_eq!(data.get(10), Some(&major));
                assert!(major < 3);
                assert_eq!(minor, 0);
            }
            other => panic!("unexpected greeting error {other:?}"),
        },
    }
}

/// Feeding the bytes one at a time: "need more" until the first error or
/// the whole greeting, and an error, once seen, never changes.
fn check_prefixes(data: &[u8]) {
    let end = data.len().min(GREETING_LEN);
    let mut first_error = None;
    for cut in 0..=end {
        let result = Greeting::decode(&data[..cut]);
        match (&first_error, result) {
            (Some(e), r) => assert_eq!(r.as_ref(), Err(e), "error changed at {cut}"),
            (None, Err(e)) => first_error = Some(e),
            (None, Ok(Decoded::NeedMore { more })) => assert_eq!(cut + more, GREETING_LEN),
            (None, Ok(Decoded::Done { .. })) => assert_eq!(cut, GREETING_LEN),
        }
    }
    if let Some(e) = first_error {
        assert_eq!(Greeting::decode(data), Err(e));
    }
}

fn round_trip(g: Greeting) -> BytesMut {
    let mut buf = BytesMut::new();
    g.encode(&mut buf);
    assert_eq!(buf.len(), g.encoded_len());
    assert_eq!(buf.len(), GREETING_LEN);
    assert_eq!(
        Greeting::decode(&buf),
        Ok(Decoded::Done {
            value: g,
            len: GREETING_LEN
        })
    );
    // Padding and filler are sent as zeros.
    assert!(buf[1..9].iter().all(|&b| b == 0));
    assert!(buf[33..].iter().all(|&b| b == 0));
    buf
}
