//! The 64-octet greeting that opens every ZMTP 3 connection.
//!
//! RFC 37 §"Formal Grammar":
//!
//! ```text
//! greeting = signature version mechanism as-server filler
//! signature = %xFF padding %x7F
//! padding = 8OCTET        ; Not significant
//! version = version-major version-minor
//! mechanism = 20mechanism-char
//! as-server = %x00 | %x01
//! filler = 31%x00             ; 31 zero octets
//! ```
//!
//! Both peers send their whole greeting at once (RFC 37: "A peer that
//! reads a full greeting, including mechanism, MUST also send a full
//! greeting including mechanism"), and parse the other's incrementally:
//! [`Greeting::decode`] looks at whatever prefix has arrived and fails as
//! soon as a byte it can judge is wrong, so a peer that is not ZMTP 3 is
//! turned away after its first byte (signature), its tenth (signature
//! end) or its eleventh (major version).

use bytes::BufMut;

use super::Decoded;
use crate::ProtocolError;

/// The greeting's fixed length in octets.
pub const GREETING_LEN: usize = 64;
/// Length of the NUL-padded mechanism name.
pub const MECHANISM_LEN: usize = 20;
/// The NULL mechanism's name as it appears in the greeting.
pub const NULL_MECHANISM: [u8; MECHANISM_LEN] = *b"NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// The major version we speak.
pub const VERSION_MAJOR: u8 = 3;
/// The minor version we announce (ZMTP 3.1).
pub const VERSION_MINOR: u8 = 1;

const SIGNATURE_START: usize = 0;
const SIGNATURE_END: usize = 9;
const MAJOR: usize = 10;
const MINOR: usize = 11;
const MECHANISM: usize = 12;
const AS_SERVER: usize = 32;
const FILLER_LEN: usize = 31;

/// The meaningful fields of a greeting (padding and filler are not kept:
/// "A peer SHALL NOT assign any significance to the padding field and
/// MUST NOT validate this nor interpret it in any way whatsoever").
///
/// ```
/// use brokerless::ProtocolError;
/// use brokerless::zmtp::Decoded;
/// use brokerless::zmtp::greeting::{GREETING_LEN, Greeting};
///
/// // What a ZMTP 3.0 peer sends.
/// let mut wire = Vec::new();
/// Greeting { minor: 0, ..Greeting::null() }.encode(&mut wire);
/// assert_eq!(wire.len(), GREETING_LEN);
/// let Decoded::Done { value: peer, .. } = Greeting::decode(&wire)? else {
///     unreachable!("all 64 octets are there");
/// };
/// assert_eq!(peer.mechanism_name(), "NULL");
/// assert_eq!(peer.effective_minor(), 0);
///
/// // Not ZMTP at all: refused at the first octet.
/// assert_eq!(Greeting::decode(b"GET / HTTP/1.1"), Err(ProtocolError::BadSignature));
/// # Ok::<(), ProtocolError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Greeting {
    /// Major protocol version (3 for ZMTP 3.x).
    pub major: u8,
    /// Minor protocol version (0 for 3.0, 1 for 3.1).
    pub minor: u8,
    /// The security mechanism, ASCII, NUL padded to 20 octets.
    pub mechanism: [u8; MECHANISM_LEN],
    /// The as-server field ("SHALL have no significance" for NULL; libzmq
    /// never reads it).
    pub as_server: bool,
}

impl Greeting {
    /// Our greeting: ZMTP 3.1, NULL mechanism, as-server 0.
    pub fn null() -> Greeting {
        Greeting {
            major: VERSION_MAJOR,
            minor: VERSION_MINOR,
            mechanism: NULL_MECHANISM,
            as_server: false,
        }
    }

    /// Always [`GREETING_LEN`].
    pub fn encoded_len(&self) -> usize {
        GREETING_LEN
    }

    /// Appends all 64 octets: `FF`, 8 zero padding octets (RFC 37: "the
    /// peer SHOULD set the padding field to binary zeros"), `7F`, the
    /// version, the mechanism, as-server and 31 zero octets.
    pub fn encode(&self, buf: &mut impl BufMut) {
        buf.put_u8(0xFF);
        buf.put_bytes(0, SIGNATURE_END - SIGNATURE_START - 1);
        buf.put_u8(0x7F);
        buf.put_u8(self.major);
        buf.put_u8(self.minor);
        buf.put_slice(&self.mechanism);
        buf.put_u8(u8::from(self.as_server));
        buf.put_bytes(0, FILLER_LEN);
    }

    /// The minor version to behave as: a 3.0 peer gets 3.0 behaviour, and
    /// anything above 3.1 is treated as 3.1 ("a ZMTP peer MUST accept
    /// protocol versions greater or equal to 3.1").
    pub fn effective_minor(&self) -> u8 {
        if self.major > VERSION_MAJOR {
            VERSION_MINOR
        } else {
            self.minor.min(VERSION_MINOR)
        }
    }

    /// The mechanism name without its NUL padding, lossily decoded (for
    /// error messages).
    pub fn mechanism_name(&self) -> String {
        mechanism_name(&self.mechanism)
    }

    /// Decodes a greeting from the front of `input`, judging every octet
    /// that has already arrived:
    ///
    /// - octet 0 must be `0xFF` and octet 9 must have bit 0 set (libzmq
    ///   checks `octet9 & 1`), else [`ProtocolError::BadSignature`];
    /// - the major version (octet 10) must be at least 3, else
    ///   [`ProtocolError::UnsupportedVersion`]. Its `minor` is reported
    ///   as 0: before ZMTP 3, octet 11 is not a minor version (ZMTP 2.0
    ///   puts the socket type there);
    /// - padding (octets 1-8), as-server and the filler are not validated.
    ///
    /// The mechanism is not compared here: that is the connection's job.
    pub fn decode(input: &[u8]) -> Result<Decoded<Greeting>, ProtocolError> {
        if input.first().is_some_and(|&b| b != 0xFF) {
            return Err(ProtocolError::BadSignature);
        }
        if input.get(SIGNATURE_END).is_some_and(|&b| b & 0x01 == 0) {
            return Err(ProtocolError::BadSignature);
        }
        if let Some(&major) = input.get(MAJOR)
            && major < VERSION_MAJOR
        {
            return Err(ProtocolError::UnsupportedVersion { major, minor: 0 });
        }
        // A fixed-size array from here on: every index below is checked
        // at compile time.
        let Some(whole) = input.first_chunk::<GREETING_LEN>() else {
            return Ok(Decoded::NeedMore {
                more: GREETING_LEN - input.len(),
            });
        };
        let mut mechanism = [0u8; MECHANISM_LEN];
        mechanism.copy_from_slice(&whole[MECHANISM..MECHANISM + MECHANISM_LEN]);
        Ok(Decoded::Done {
            value: Greeting {
                major: whole[MAJOR],
                minor: whole[MINOR],
                mechanism,
                as_server: whole[AS_SERVER] != 0,
            },
            len: GREETING_LEN,
        })
    }
}

/// A NUL-padded mechanism field as text, for error messages.
///
/// ```
/// use brokerless::zmtp::greeting::{NULL_MECHANISM, mechanism_name};
/// use brokerless::zmtp::mechanism::CURVE_MECHANISM;
///
/// assert_eq!(mechanism_name(&NULL_MECHANISM), "NULL");
/// assert_eq!(mechanism_name(&CURVE_MECHANISM), "CURVE");
/// assert_eq!(mechanism_name(b"X\xFF\0\0"), "X\u{FFFD}"); // lossy
/// ```
pub fn mechanism_name(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(field.get(..end).unwrap_or(field)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use proptest::prelude::*;

    fn ours() -> Vec<u8> {
        let mut buf = BytesMut::new();
        Greeting::null().encode(&mut buf);
        buf.to_vec()
    }

    #[test]
    fn our_greeting_bytes() {
        let g = ours();
        assert_eq!(g.len(), GREETING_LEN);
        assert_eq!(g.len(), Greeting::null().encoded_len());
        let mut expected = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1];
        expected.extend_from_slice(b"NULL");
        expected.extend_from_slice(&[0; 16]);
        expected.push(0); // as-server
        expected.extend_from_slice(&[0; 31]);
        assert_eq!(g, expected);
    }

    #[test]
    fn round_trip_and_prefixes() {
        let g = ours();
        assert_eq!(
            Greeting::decode(&g),
            Ok(Decoded::Done {
                value: Greeting::null(),
                len: 64
            })
        );
        for cut in 0..GREETING_LEN {
            assert_eq!(
                Greeting::decode(&g[..cut]),
                Ok(Decoded::NeedMore { more: 64 - cut })
            );
        }
    }

    #[test]
    fn bad_first_byte_fails_at_once() {
        assert_eq!(Greeting::decode(b"G"), Err(ProtocolError::BadSignature));
        assert_eq!(
            Greeting::decode(b"GET / HTTP/1.1\r\n"),
            Err(ProtocolError::BadSignature)
        );
    }

    #[test]
    fn byte_nine_needs_bit_zero() {
        let mut g = ours();
        g[9] = 0x7E;
        assert_eq!(Greeting::decode(&g[..10]), Err(ProtocolError::BadSignature));
        g[9] = 0x01; // libzmq only checks bit 0
        assert!(Greeting::decode(&g).is_ok());
    }

    #[test]
    fn padding_is_not_validated() {
        let mut g = ours();
        g[1..9].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 9]);
        g[33] = 0xAA; // filler neither
        assert!(matches!(Greeting::decode(&g), Ok(Decoded::Done { .. })));
    }

    #[test]
    fn old_major_fails_at_byte_ten() {
        let mut g = ours();
        g[10] = 2;
        assert_eq!(
            Greeting::decode(&g[..11]),
            Err(ProtocolError::UnsupportedVersion { major: 2, minor: 0 })
        );
        assert_eq!(
            Greeting::decode(&g[..10]),
            Ok(Decoded::NeedMore { more: 54 })
        );
    }

    #[test]
    fn effective_minor() {
        let mut g = Greeting::null();
        assert_eq!(g.effective_minor(), 1);
        g.minor = 0;
        assert_eq!(g.effective_minor(), 0);
        g.minor = 7;
        assert_eq!(g.effective_minor(), 1);
        g.major = 4;
        g.minor = 0;
        assert_eq!(g.effective_minor(), 1);
    }

    #[test]
    fn mechanism_names() {
        assert_eq!(Greeting::null().mechanism_name(), "NULL");
        assert_eq!(mechanism_name(b"PLAIN\0\0"), "PLAIN");
        assert_eq!(mechanism_name(b"ABC"), "ABC");
    }

    proptest! {
        #[test]
        fn decode_never_panics(input in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Greeting::decode(&input);
        }

        #[test]
        fn fields_round_trip(major in 3u8.., minor: u8, as_server: bool, mech: [u8; 20]) {
            let g = Greeting { major, minor, mechanism: mech, as_server };
            let mut buf = BytesMut::new();
            g.encode(&mut buf);
            prop_assert_eq!(buf.len(), g.encoded_len());
            prop_assert_eq!(Greeting::decode(&buf), Ok(Decoded::Done { value: g, len: 64 }));
        }
    }
}
