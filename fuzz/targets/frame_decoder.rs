//! Frame header codec: `FrameHeader::decode` on arbitrary bytes, and
//! `decode(encode(h)) == h` for a header built from the input.
//!
//! Shared by the cargo-fuzz target `frame_decoder` and by the corpus replay
//! test `tests/fuzz_corpus.rs`.

use brokerless::ProtocolError;
use brokerless::zmtp::Decoded;
use brokerless::zmtp::frame::{
    FLAG_COMMAND, FLAG_LONG, FLAG_MORE, FrameHeader, LONG_HEADER_LEN, MAX_SHORT_SIZE,
    SHORT_HEADER_LEN,
};
use bytes::BytesMut;

/// Checks every invariant on one input; panics on a violation.
pub fn run(data: &[u8]) {
    check_decode(data);
    check_stream(data);
    if let Some((&flags, rest)) = data.split_first() {
        let mut size = [0u8; 8];
        let n = rest.len().min(8);
        size[8 - n..].copy_from_slice(&rest[..n]);
        let mut size = u64::from_be_bytes(size);
        // Bit 6 of the flags picks a size around the short/long boundary.
        if flags & 0x40 != 0 {
            size %= 2 * (MAX_SHORT_SIZE + 1);
        }
        if usize::try_from(size).is_err() {
            size >>= 32; // 32-bit targets: the decoder refuses such sizes
        }
        round_trip(FrameHeader {
            more: flags & FLAG_MORE != 0,
            command: flags & FLAG_COMMAND != 0,
            size,
        });
    }
}

/// Decodes the front of `data` and checks the result against the bytes.
fn check_decode(data: &[u8]) {
    let header_len = match data.first() {
        Some(&flags) if flags & FLAG_LONG != 0 => LONG_HEADER_LEN,
        _ => SHORT_HEADER_LEN,
    };
    match FrameHeader::decode(data) {
        Ok(Decoded::Done { value, len }) => {
            assert_eq!(len, header_len);
            assert!(len <= data.len(), "took {len} of {} bytes", data.len());
            let flags = data[0];
            assert_eq!(value.more, flags & FLAG_MORE != 0);
            assert_eq!(value.command, flags & FLAG_COMMAND != 0);
            let size = data[1..len]
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            assert_eq!(value.size, size);
            // Trailing bytes change nothing.
            assert_eq!(
                FrameHeader::decode(&data[..len]),
                Ok(Decoded::Done { value, len })
            );
            let encoded = round_trip(value);
            // A canonical header (reserved bits clear, long form only when
            // needed) re-encodes to exactly the same bytes.
            let canonical = flags & 0xF8 == 0 && (flags & FLAG_LONG != 0) == value.is_long();
            if canonical {
                assert_eq!(&encoded[..], &data[..len]);
            }
        }
        Ok(Decoded::NeedMore { more }) => {
            assert!(more > 0);
            assert!(data.len() < header_len);
            assert_eq!(data.len() + more, header_len);
        }
        Err(e) => {
            // Only a size beyond usize, which a 64-bit target cannot see.
            let size_too_large = matches!(e, ProtocolError::MessageTooLarge { size, .. }
                if usize::try_from(size).is_err());
            assert!(size_too_large, "unexpected error {e:?} for {data:?}");
        }
    }
}

/// Walks `data` as a stream of whole frames: never past its end.
fn check_stream(mut data: &[u8]) {
    let total = data.len();
    let mut consumed = 0usize;
    while let Ok(Decoded::Done { value, len }) = FrameHeader::decode(data) {
        let Some(end) = usize::try_from(value.size)
            .ok()
            .and_then(|size| len.checked_add(size))
            .filter(|&end| end <= data.len())
        else {
            break;
        };
        consumed += end;
        data = &data[end..];
    }
    assert!(consumed <= total);
    assert_eq!(consumed + data.len(), total);
}

/// Encodes `h`, checks the encoding and its decoding, returns the bytes.
fn round_trip(h: FrameHeader) -> BytesMut {
    let mut buf = BytesMut::new();
    h.encode(&mut buf);
    assert_eq!(buf.len(), h.encoded_len());
    assert_eq!(buf[0], h.flags());
    assert_eq!(buf[0] & 0xF8, 0, "reserved flag bits must be zero");
    assert_eq!(buf.len() == LONG_HEADER_LEN, h.size > MAX_SHORT_SIZE);
    assert_eq!(
        FrameHeader::decode(&buf),
        Ok(Decoded::Done {
            value: h,
            len: buf.len()
        })
    );
    for cut in 0..buf.len() {
        match FrameHeader::decode(&buf[..cut]) {
            Ok(Decoded::NeedMore { more }) => assert!(more > 0 && more <= buf.len() - cut),
            other => panic!("prefix {cut} of {h:?}: {other:?}"),
        }
    }
    buf
}
