//! The frame header codec: a flags octet followed by a 1-octet (short) or
//! 8-octet big-endian (long) body size.
//!
//! RFC 37 §"Framing": "A frame consists of a flags field (1 octet),
//! followed by a size field (one octet or eight octets) and a frame body
//! of size octets. The size does not include the flags field, nor itself,
//! so an empty frame has a size of zero."
//!
//! Only the header is decoded here; the body is sliced out of the input
//! by the connection once all of it has arrived, so nothing is allocated
//! for a size announced by the peer.

use bytes::BufMut;

use super::Decoded;
use crate::ProtocolError;

/// Bit 0: "More frames to follow" (never set on command frames).
pub const FLAG_MORE: u8 = 0x01;
/// Bit 1: the size field is 8 octets instead of 1.
pub const FLAG_LONG: u8 = 0x02;
/// Bit 2: the frame is a command frame, not a message frame.
pub const FLAG_COMMAND: u8 = 0x04;

/// Length of a header with a 1-octet size (body of 0 to 255 octets).
pub const SHORT_HEADER_LEN: usize = 2;
/// Length of a header with an 8-octet size.
pub const LONG_HEADER_LEN: usize = 9;
/// The longest body a short header can describe.
pub const MAX_SHORT_SIZE: u64 = 255;

/// The header of one frame: its flags that matter and its body size.
///
/// Whether the size was sent short or long is not kept: RFC 37 says a
/// frame "SHOULD use" the short form up to 255 octets, so we send the
/// long form only above that, and accept either form for any size.
///
/// ```
/// use brokerless::zmtp::Decoded;
/// use brokerless::zmtp::frame::FrameHeader;
///
/// let header = FrameHeader::message(300, true);
/// let mut wire = Vec::new();
/// header.encode(&mut wire);
/// assert_eq!(wire.len(), 9); // over 255 octets: an 8-octet size
/// assert_eq!(wire.len(), header.encoded_len());
/// assert_eq!(FrameHeader::decode(&wire)?, Decoded::Done { value: header, len: 9 });
/// // Only the flags octet so far: 8 more are needed.
/// assert_eq!(FrameHeader::decode(&wire[..1])?, Decoded::NeedMore { more: 8 });
///
/// let mut short = Vec::new();
/// FrameHeader::command(5).encode(&mut short);
/// assert_eq!(short, [0x04, 5]); // COMMAND flag, 1-octet size
/// # Ok::<(), brokerless::ProtocolError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// MORE: another frame of the same message follows.
    pub more: bool,
    /// COMMAND: the body is a command (name + data), not message data.
    pub command: bool,
    /// The body size in octets.
    pub size: u64,
}

impl FrameHeader {
    /// The header of a message (data) frame.
    pub fn message(size: u64, more: bool) -> FrameHeader {
        FrameHeader {
            more,
            command: false,
            size,
        }
    }

    /// The header of a command frame (commands never carry MORE).
    pub fn command(size: u64) -> FrameHeader {
        FrameHeader {
            more: false,
            command: true,
            size,
        }
    }

    /// Whether this header is sent with an 8-octet size.
    pub fn is_long(&self) -> bool {
        self.size > MAX_SHORT_SIZE
    }

    /// The flags octet we send: reserved bits 3-7 are zero ("Bits 7-3 are
    /// reserved for future use and MUST be zero").
    pub fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.more {
            flags |= FLAG_MORE;
        }
        if self.is_long() {
            flags |= FLAG_LONG;
        }
        if self.command {
            flags |= FLAG_COMMAND;
        }
        flags
    }

    /// How many octets [`FrameHeader::encode`] writes: 2 or 9.
    pub fn encoded_len(&self) -> usize {
        if self.is_long() {
            LONG_HEADER_LEN
        } else {
            SHORT_HEADER_LEN
        }
    }

    /// Appends the header to `buf`, in the short form when the size fits
    /// in one octet.
    pub fn encode(&self, buf: &mut impl BufMut) {
        buf.put_u8(self.flags());
        if self.is_long() {
            buf.put_u64(self.size);
        } else {
            // is_long() is false, so the size fits in a u8.
            buf.put_u8(self.size as u8);
        }
    }

    /// Decodes a header from the front of `input`.
    ///
    /// Reserved flag bits are ignored (libzmq ignores them too). A long
    /// size is accepted for small bodies. The only error is a size that
    /// cannot be addressed on this machine (larger than `usize`, possible
    /// on 32-bit targets only), reported as [`ProtocolError::MessageTooLarge`].
    pub fn decode(input: &[u8]) -> Result<Decoded<FrameHeader>, ProtocolError> {
        let Some(&flags) = input.first() else {
            return Ok(Decoded::NeedMore {
                more: SHORT_HEADER_LEN,
            });
        };
        let header_len = if flags & FLAG_LONG != 0 {
            LONG_HEADER_LEN
        } else {
            SHORT_HEADER_LEN
        };
        let Some(size_bytes) = input.get(1..header_len) else {
            return Ok(Decoded::NeedMore {
                more: header_len.saturating_sub(input.len()),
            });
        };
        let size = size_bytes
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        if usize::try_from(size).is_err() {
            return Err(ProtocolError::MessageTooLarge {
                size,
                max: usize::MAX as u64,
            });
        }
        Ok(Decoded::Done {
            value: FrameHeader {
                more: flags & FLAG_MORE != 0,
                command: flags & FLAG_COMMAND != 0,
                size,
            },
            len: header_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use proptest::prelude::*;

    fn encode(h: FrameHeader) -> Vec<u8> {
        let mut buf = BytesMut::new();
        h.encode(&mut buf);
        buf.to_vec()
    }

    fn done(input: &[u8]) -> (FrameHeader, usize) {
        match FrameHeader::decode(input) {
            Ok(Decoded::Done { value, len }) => (value, len),
            other => panic!("expected a header, got {other:?}"),
        }
    }

    #[test]
    fn short_and_long_forms() {
        assert_eq!(encode(FrameHeader::message(0, false)), [0x00, 0x00]);
        assert_eq!(encode(FrameHeader::message(255, true)), [0x01, 0xFF]);
        assert_eq!(
            encode(FrameHeader::message(256, false)),
            [0x02, 0, 0, 0, 0, 0, 0, 1, 0]
        );
        assert_eq!(
            encode(FrameHeader::message(256, true)),
            [0x03, 0, 0, 0, 0, 0, 0, 1, 0]
        );
        assert_eq!(encode(FrameHeader::command(10)), [0x04, 10]);
        assert_eq!(
            encode(FrameHeader::command(1 << 40)),
            [0x06, 0, 0, 1, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn long_form_accepted_for_small_sizes() {
        let (h, len) = done(&[0x03, 0, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(h, FrameHeader::message(5, true));
        assert_eq!(len, 9);
    }

    #[test]
    fn reserved_bits_ignored() {
        let (h, len) = done(&[0xF8 | FLAG_COMMAND, 3]);
        assert_eq!(h, FrameHeader::command(3));
        assert_eq!(len, 2);
    }

    #[test]
    fn need_more() {
        assert_eq!(FrameHeader::decode(&[]), Ok(Decoded::NeedMore { more: 2 }));
        assert_eq!(
            FrameHeader::decode(&[0x00]),
            Ok(Decoded::NeedMore { more: 1 })
        );
        assert_eq!(
            FrameHeader::decode(&[0x02, 0, 0]),
            Ok(Decoded::NeedMore { more: 6 })
        );
    }

    #[test]
    fn huge_size_decodes_without_allocating() {
        let (h, _) = done(&[0x02, 0x80, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(h.size, 1 << 63);
    }

    #[test]
    fn trailing_bytes_are_not_consumed() {
        let (h, len) = done(&[0x01, 2, b'a', b'b']);
        assert_eq!(h, FrameHeader::message(2, true));
        assert_eq!(len, 2);
    }

    proptest! {
        #[test]
        fn round_trip(more: bool, command: bool, size in prop_oneof![0u64..600, any::<u64>()]) {
            let size = if usize::try_from(size).is_err() { size >> 32 } else { size };
            let h = FrameHeader { more, command, size };
            let bytes = encode(h);
            prop_assert_eq!(bytes.len(), h.encoded_len());
            prop_assert_eq!(bytes[0] & 0xF8, 0);
            let (back, len) = done(&bytes);
            prop_assert_eq!(back, h);
            prop_assert_eq!(len, bytes.len());
            // Every strict prefix asks for more.
            for cut in 0..bytes.len() {
                let is_need_more = matches!(
                    FrameHeader::decode(&bytes[..cut]),
                    Ok(Decoded::NeedMore { more }) if more > 0 && more <= bytes.len() - cut
                );
                prop_assert!(is_need_more);
            }
        }

        #[test]
        fn never_panics(input in proptest::collection::vec(any::<u8>(), 0..12)) {
            let _ = FrameHeader::decode(&input);
        }
    }
}
