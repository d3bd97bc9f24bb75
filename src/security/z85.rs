//! Z85, ZeroMQ's base-85 text encoding of binary data (ZeroMQ RFC 32),
//! as libzmq's `zmq_z85_encode` and `zmq_z85_decode` do it.
//!
//! RFC 32: "Z85 takes four octets of binary data and encodes them as five
//! printable characters", treating each group of four octets as a 32-bit
//! big-endian number written in base 85, most significant digit first,
//! with the alphabet below. The binary length must be a multiple of 4 and
//! the text length a multiple of 5: Z85 has no padding.
//!
//! Decoding refuses, as libzmq 4.3.5 does, characters outside the
//! alphabet and groups of five characters whose value exceeds
//! `0xFFFF_FFFF` (e.g. `"%%%%%"`), so every accepted text is the encoding
//! of exactly one binary value. Unlike libzmq, the empty text decodes to
//! no octets (libzmq refuses texts shorter than 5 characters), so that
//! `decode(encode(x)) == x` holds for every `x`.

use crate::Error;

/// The 85 characters, in digit order (RFC 32).
const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Sentinel in [`DIGITS`] for a character that is not in the alphabet.
const INVALID: u8 = 0xFF;

/// The digit value of every ASCII character, [`INVALID`] if it has none.
const DIGITS: [u8; 128] = {
    let mut table = [INVALID; 128];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Encodes `data` as Z85 text.
///
/// The length of `data` must be a multiple of 4 (Z85 has no padding),
/// else [`Error::InvalidArgument`] is returned. The text is 5/4 as long.
///
/// ```
/// use brokerless::security::z85;
///
/// let text = z85::encode(&[0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B])?;
/// assert_eq!(text, "HelloWorld");
/// assert_eq!(z85::decode(&text)?, [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]);
/// # Ok::<(), brokerless::Error>(())
/// ```
pub fn encode(data: &[u8]) -> Result<String, Error> {
    if data.len() % 4 != 0 {
        return Err(Error::InvalidArgument(format!(
            "z85 input length must be a multiple of 4, got {}",
            data.len()
        )));
    }
    let mut text = String::with_capacity(data.len() / 4 * 5);
    encode_groups(data, &mut text);
    Ok(text)
}

/// Appends the Z85 text of every whole group of 4 octets of `data` to
/// `text` (a trailing part group is left out: callers check the length).
pub(crate) fn encode_groups(data: &[u8], text: &mut String) {
    for group in data.chunks_exact(4) {
        let mut value = group.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        let mut digits = [0u8; 5];
        for digit in digits.iter_mut().rev() {
            // value % 85 < 85: always an index of the alphabet.
            *digit = ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        text.extend(digits.iter().map(|&d| char::from(d)));
    }
}

/// Decodes Z85 text into the octets it encodes.
///
/// The text length must be a multiple of 5, every character must be one
/// of the 85 of the alphabet, and every group of five characters must
/// stand for a value that fits in 32 bits; anything else is
/// [`Error::InvalidArgument`].
///
/// ```
/// use brokerless::security::z85;
///
/// assert_eq!(z85::decode("HelloWorld")?, [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]);
/// assert!(z85::decode("")?.is_empty());
/// assert!(z85::decode("Hello!").is_err()); // not a multiple of 5
/// assert!(z85::decode("Hell\"").is_err()); // '"' is not in the alphabet
/// assert!(z85::decode("%%%%%").is_err()); // more than 32 bits
/// # Ok::<(), brokerless::Error>(())
/// ```
pub fn decode(text: &str) -> Result<Vec<u8>, Error> {
    let text = text.as_bytes();
    if text.len() % 5 != 0 {
        return Err(Error::InvalidArgument(format!(
            "z85 text length must be a multiple of 5, got {}",
            text.len()
        )));
    }
    let mut data = Vec::with_capacity(text.len() / 5 * 4);
    for group in text.chunks_exact(5) {
        let mut value = 0u32;
        for &c in group {
            let digit = DIGITS.get(usize::from(c)).copied().unwrap_or(INVALID);
            if digit == INVALID {
                return Err(Error::InvalidArgument(format!(
                    "z85 text holds a character outside the alphabet: {:?}",
                    char::from(c)
                )));
            }
            value = value
                .checked_mul(85)
                .and_then(|v| v.checked_add(u32::from(digit)))
                .ok_or_else(|| Error::InvalidArgument("z85 group exceeds 32 bits".to_string()))?;
        }
        data.extend_from_slice(&value.to_be_bytes());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HELLO: [u8; 8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];

    #[test]
    fn rfc32_test_vector() {
        assert_eq!(encode(&HELLO).unwrap(), "HelloWorld");
        assert_eq!(decode("HelloWorld").unwrap(), HELLO);
    }

    #[test]
    fn extremes() {
        assert_eq!(encode(&[0; 4]).unwrap(), "00000");
        assert_eq!(encode(&[0xFF; 4]).unwrap(), "%nSc0");
        assert_eq!(decode("%nSc0").unwrap(), [0xFF; 4]);
        assert_eq!(encode(&[]).unwrap(), "");
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn refuses_bad_lengths() {
        for len in [1, 2, 3, 5, 7] {
            assert!(matches!(
                encode(&vec![0; len]),
                Err(Error::InvalidArgument(_))
            ));
        }
        for text in ["H", "Hell", "HelloW", "HelloWorl"] {
            assert!(matches!(decode(text), Err(Error::InvalidArgument(_))));
        }
    }

    #[test]
    fn refuses_characters_outside_the_alphabet() {
        for text in [
            "Hello Worl",
            "Hello\"orld",
            "Hell,World",
            "Hell~World",
            "Hell\u{7f}World",
            "HelléWorl",
            "Hell\0World",
        ] {
            assert!(
                matches!(decode(text), Err(Error::InvalidArgument(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn refuses_groups_over_32_bits() {
        // "%nSc0" is 0xFFFF_FFFF; one more is too much.
        assert!(matches!(decode("%nSc1"), Err(Error::InvalidArgument(_))));
        assert!(matches!(decode("%%%%%"), Err(Error::InvalidArgument(_))));
        assert!(matches!(
            decode("00000#####"),
            Err(Error::InvalidArgument(_))
        ));
    }

    proptest! {
        #[test]
        fn round_trip(words in proptest::collection::vec(any::<[u8; 4]>(), 0..64)) {
            let data: Vec<u8> = words.concat();
            let text = encode(&data).unwrap();
            prop_assert_eq!(text.len(), data.len() / 4 * 5);
            prop_assert!(text.bytes().all(|c| ALPHABET.contains(&c)));
            prop_assert_eq!(decode(&text).unwrap(), data);
        }

        #[test]
        fn decode_never_panics(text in ".{0,64}") {
            let _ = decode(&text);
        }

        #[test]
        fn accepted_text_re_encodes_to_itself(
            text in proptest::collection::vec(proptest::sample::select(ALPHABET.to_vec()), 10)
                .prop_map(|v| String::from_utf8(v).unwrap())
        ) {
            if let Ok(data) = decode(&text) {
                prop_assert_eq!(encode(&data).unwrap(), text);
            }
        }
    }
}
