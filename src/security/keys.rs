//! CURVE key material: Curve25519 (X25519) keys of 32 octets, written in
//! Z85 as 40 characters (`zmq_curve_keypair`, `zmq_curve_public`).

use std::fmt;
use std::str::FromStr;

use crypto_box::aead::OsRng;
use zeroize::Zeroize;

use super::z85;
use crate::Error;

/// Length of every CURVE key in octets.
const KEY_LEN: usize = 32;
/// Length of every CURVE key in Z85 characters.
const Z85_KEY_LEN: usize = 40;

/// Decodes exactly 40 Z85 characters into 32 octets.
fn key_from_z85(text: &str) -> Result<[u8; KEY_LEN], Error> {
    if text.len() != Z85_KEY_LEN {
        return Err(Error::InvalidArgument(format!(
            "a z85 CURVE key is {Z85_KEY_LEN} characters, got {}",
            text.len()
        )));
    }
    let mut decoded = z85::decode(text)?;
    let key = <[u8; KEY_LEN]>::try_from(decoded.as_slice())
        .map_err(|_| Error::InvalidArgument("a z85 CURVE key must decode to 32 bytes".to_string()));
    decoded.zeroize();
    key
}

/// Encodes 32 octets as 40 Z85 characters.
fn key_to_z85(key: &[u8; KEY_LEN]) -> String {
    // 32 is a multiple of 4: every octet is encoded.
    let mut text = String::with_capacity(Z85_KEY_LEN);
    z85::encode_groups(key, &mut text);
    text
}

/// A CURVE public key (Curve25519, 32 octets): a server's long-term
/// identity that clients are configured with (`ZMQ_CURVE_SERVERKEY`), or
/// a client's, which the server may check.
///
/// `Debug` and `Display` show it in Z85, as libzmq's tools print keys.
///
/// ```
/// use brokerless::CurvePublicKey;
///
/// // A server's public key, as `curve_keygen` prints it.
/// let key: CurvePublicKey = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7".parse()?;
/// assert_eq!(key.as_bytes().len(), 32);
/// assert_eq!(key.to_string(), "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
/// assert_eq!(CurvePublicKey::from_bytes(*key.as_bytes()), key);
/// // Z85 keys are exactly 40 characters.
/// assert!(CurvePublicKey::from_z85("rq:rM>}U?@").is_err());
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurvePublicKey([u8; KEY_LEN]);

impl CurvePublicKey {
    /// The key with these 32 octets.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> CurvePublicKey {
        CurvePublicKey(bytes)
    }

    /// The key's 32 octets.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Parses the key from its 40 Z85 characters; any other length or
    /// invalid Z85 is [`Error::InvalidArgument`].
    pub fn from_z85(text: &str) -> Result<CurvePublicKey, Error> {
        key_from_z85(text).map(CurvePublicKey)
    }

    /// The key as 40 Z85 characters.
    pub fn to_z85(&self) -> String {
        key_to_z85(&self.0)
    }
}

impl fmt::Debug for CurvePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CurvePublicKey")
            .field(&self.to_z85())
            .finish()
    }
}

impl fmt::Display for CurvePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_z85())
    }
}

impl FromStr for CurvePublicKey {
    type Err = Error;

    /// Same as [`CurvePublicKey::from_z85`].
    fn from_str(text: &str) -> Result<CurvePublicKey, Error> {
        CurvePublicKey::from_z85(text)
    }
}

/// A CURVE secret key (Curve25519, 32 octets).
///
/// Its octets are wiped from memory when it is dropped, and `Debug`
/// prints `CurveSecretKey(..)`, never the key. Cloning makes a second
/// copy that is wiped on its own drop.
///
/// ```
/// use brokerless::{CurveKeyPair, CurvePublicKey, CurveSecretKey};
///
/// // The secret key alone gives back the whole pair.
/// let secret: CurveSecretKey = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6".parse()?;
/// let pair = CurveKeyPair::from_secret(secret.clone());
/// let public: CurvePublicKey = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7".parse()?;
/// assert_eq!(pair.public(), &public);
/// assert_eq!(pair.secret().as_bytes(), secret.as_bytes());
/// // Debug output never shows it.
/// assert_eq!(format!("{secret:?}"), "CurveSecretKey(..)");
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone)]
pub struct CurveSecretKey([u8; KEY_LEN]);

impl CurveSecretKey {
    /// The key with these 32 octets (any 32 octets are a valid key: X25519
    /// clamps them when it uses them, as libsodium does).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> CurveSecretKey {
        CurveSecretKey(bytes)
    }

    /// The key's 32 octets.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Parses the key from its 40 Z85 characters; any other length or
    /// invalid Z85 is [`Error::InvalidArgument`].
    pub fn from_z85(text: &str) -> Result<CurveSecretKey, Error> {
        key_from_z85(text).map(CurveSecretKey)
    }

    /// The key as 40 Z85 characters (keep them secret).
    pub fn to_z85(&self) -> String {
        key_to_z85(&self.0)
    }
}

impl Drop for CurveSecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for CurveSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CurveSecretKey(..)")
    }
}

impl FromStr for CurveSecretKey {
    type Err = Error;

    /// Same as [`CurveSecretKey::from_z85`].
    fn from_str(text: &str) -> Result<CurveSecretKey, Error> {
        CurveSecretKey::from_z85(text)
    }
}

/// A CURVE key pair: a secret key and the public key derived from it.
///
/// A server needs its own pair; a client needs its own pair and the
/// server's public key. The pair always matches: it is either generated
/// or derived from a secret key.
///
/// ```
/// use brokerless::{CurveKeyPair, CurvePublicKey, CurveSecretKey};
///
/// // A fresh pair, as zmq_curve_keypair makes.
/// let pair = CurveKeyPair::generate();
/// let public_text = pair.public().to_z85();
/// assert_eq!(public_text.len(), 40);
///
/// // The public key again from the secret key alone, as zmq_curve_public.
/// let secret: CurveSecretKey = pair.secret().to_z85().parse()?;
/// let again = CurveKeyPair::from_secret(secret);
/// assert_eq!(again.public(), &public_text.parse::<CurvePublicKey>()?);
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct CurveKeyPair {
    public: CurvePublicKey,
    secret: CurveSecretKey,
}

impl CurveKeyPair {
    /// A new random key pair from the operating system's random number
    /// generator (as `zmq_curve_keypair`).
    ///
    /// # Panics
    ///
    /// If the operating system cannot provide random numbers.
    pub fn generate() -> CurveKeyPair {
        let secret = crypto_box::SecretKey::generate(&mut OsRng);
        CurveKeyPair::from_secret(CurveSecretKey(secret.to_bytes()))
    }

    /// The pair of this secret key: its public key is derived by X25519
    /// base-point multiplication (as `zmq_curve_public`).
    pub fn from_secret(secret: CurveSecretKey) -> CurveKeyPair {
        let public = crypto_box::SecretKey::from(*secret.as_bytes()).public_key();
        CurveKeyPair {
            public: CurvePublicKey(*public.as_bytes()),
            secret,
        }
    }

    /// The public key.
    pub fn public(&self) -> &CurvePublicKey {
        &self.public
    }

    /// The secret key.
    pub fn secret(&self) -> &CurveSecretKey {
        &self.secret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example key pairs of libzmq's doc/zmq_curve.txt (also used by
    // its tests/test_heartbeats.cpp), in hexadecimal and Z85.
    const CLIENT_PUBLIC_HEX: &str =
        "BB88471D65E2659B30C55A5321CEBB5AAB2B70A398645C26DCA2B2FCB43FC518";
    const CLIENT_PUBLIC_Z85: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
    const CLIENT_SECRET_HEX: &str =
        "7BB864B489AFA3671FBE69101F94B38972F24816DFB01B51656B3FEC8DFD0888";
    const CLIENT_SECRET_Z85: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
    const SERVER_PUBLIC_HEX: &str =
        "54FCBA24E93249969316FB617C872BB0C1D1FF14800427C594CBFACF1BC2D652";
    const SERVER_PUBLIC_Z85: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const SERVER_SECRET_HEX: &str =
        "8E0BDD697628B91D8F245587EE95C5B04D48963F79259877B49CD9063AEAD3B7";
    const SERVER_SECRET_Z85: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

    fn hex(text: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    #[test]
    fn libzmq_documented_pairs() {
        for (pub_hex, pub_z85, sec_hex, sec_z85) in [
            (
                CLIENT_PUBLIC_HEX,
                CLIENT_PUBLIC_Z85,
                CLIENT_SECRET_HEX,
                CLIENT_SECRET_Z85,
            ),
            (
                SERVER_PUBLIC_HEX,
                SERVER_PUBLIC_Z85,
                SERVER_SECRET_HEX,
                SERVER_SECRET_Z85,
            ),
        ] {
            let public = CurvePublicKey::from_z85(pub_z85).unwrap();
            assert_eq!(public.as_bytes(), &hex(pub_hex));
            assert_eq!(public.to_z85(), pub_z85);
            let secret: CurveSecretKey = sec_z85.parse().unwrap();
            assert_eq!(secret.as_bytes(), &hex(sec_hex));
            assert_eq!(secret.to_z85(), sec_z85);
            let pair = CurveKeyPair::from_secret(secret);
            assert_eq!(pair.public(), &public);
            assert_eq!(pair.secret().to_z85(), sec_z85);
        }
    }

    #[test]
    fn generated_pairs_match_and_differ() {
        let a = CurveKeyPair::generate();
        let b = CurveKeyPair::generate();
        assert_ne!(a.public(), b.public());
        let again = CurveKeyPair::from_secret(a.secret().clone());
        assert_eq!(again.public(), a.public());
    }

    #[test]
    fn z85_round_trip_and_parse() {
        let pair = CurveKeyPair::generate();
        let text = pair.public().to_z85();
        assert_eq!(text.len(), 40);
        assert_eq!(text.parse::<CurvePublicKey>().unwrap(), *pair.public());
        assert_eq!(pair.public().to_string(), text);
        assert_eq!(
            CurvePublicKey::from_bytes(*pair.public().as_bytes()),
            *pair.public()
        );
    }

    #[test]
    fn refuses_bad_z85_keys() {
        for text in [
            "",
            &SERVER_PUBLIC_Z85[..35],
            "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7rq:rM",
            "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf ",
            "%%%%%>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
        ] {
            assert!(matches!(
                CurvePublicKey::from_z85(text),
                Err(Error::InvalidArgument(_))
            ));
            assert!(matches!(
                text.parse::<CurveSecretKey>(),
                Err(Error::InvalidArgument(_))
            ));
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let pair = CurveKeyPair::from_secret(SERVER_SECRET_Z85.parse().unwrap());
        assert_eq!(format!("{:?}", pair.secret()), "CurveSecretKey(..)");
        let shown = format!("{pair:?}");
        assert!(!shown.contains(SERVER_SECRET_Z85), "{shown}");
        assert!(shown.contains(SERVER_PUBLIC_Z85), "{shown}");
        assert_eq!(
            format!("{:?}", pair.public()),
            format!("CurvePublicKey({SERVER_PUBLIC_Z85:?})")
        );
    }
}
