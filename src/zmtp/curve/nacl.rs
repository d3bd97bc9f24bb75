//! The NaCl primitives CURVE is made of, as libsodium lays them out:
//! nonces, `crypto_box_beforenm` with libsodium's small-order check, and
//! boxes written as MAC || cipher text straight into the output buffer.

use bytes::{BufMut, BytesMut};
use crypto_box::aead::consts::U24;
use crypto_box::aead::generic_array::GenericArray;
use crypto_box::aead::rand_core::RngCore;
use crypto_box::aead::{AeadCore, AeadInPlace, OsRng};
use crypto_box::{PublicKey, SalsaBox, SecretKey};
use curve25519_dalek::montgomery::MontgomeryPoint;
use zeroize::Zeroizing;

/// The MAC every box starts with (`crypto_box_MACBYTES`).
pub(super) const MAC_LEN: usize = 16;
/// Length of a long nonce as sent (after its 8-octet prefix).
pub(super) const LONG_NONCE_LEN: usize = 16;

/// A 24-octet nonce: a 16-octet prefix and a big-endian counter.
pub(super) fn short_nonce(prefix: &[u8; 16], counter: u64) -> crypto_box::Nonce {
    let mut nonce = [0u8; 24];
    nonce[..16].copy_from_slice(prefix);
    nonce[16..].copy_from_slice(&counter.to_be_bytes());
    nonce.into()
}

/// A 24-octet nonce: an 8-octet prefix and 16 (random) octets.
pub(super) fn long_nonce(prefix: &[u8; 8], random: &[u8; LONG_NONCE_LEN]) -> crypto_box::Nonce {
    let mut nonce = [0u8; 24];
    nonce[..8].copy_from_slice(prefix);
    nonce[8..].copy_from_slice(random);
    nonce.into()
}

/// 16 random octets for a long nonce.
///
/// Panics, as key generation does, if the operating system cannot
/// provide random numbers.
pub(super) fn random_long_nonce() -> [u8; LONG_NONCE_LEN] {
    let mut random = [0u8; LONG_NONCE_LEN];
    OsRng.fill_bytes(&mut random);
    random
}

/// `N` octets of `data` from `at`, if there are that many.
pub(super) fn array_at<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    data.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The precomputed key of a box between `public` and `secret`
/// (`crypto_box_beforenm`), or `None` where libsodium refuses: when the
/// X25519 result is all zeros (a public key of small order).
pub(super) fn precompute(public: &PublicKey, secret: &SecretKey) -> Option<SalsaBox> {
    let scalar = Zeroizing::new(secret.to_bytes());
    let shared = Zeroizing::new(MontgomeryPoint(*public.as_bytes()).mul_clamped(*scalar).0);
    if shared.iter().all(|&b| b == 0) {
        return None;
    }
    Some(SalsaBox::new(public, secret))
}

/// A NaCl cipher: `crypto_box` (with its key precomputed) or
/// `crypto_secretbox`, both XSalsa20Poly1305 with 24-octet nonces.
pub(super) trait NaclCipher: AeadInPlace + AeadCore<NonceSize = U24> {}

impl<C: AeadInPlace + AeadCore<NonceSize = U24>> NaclCipher for C {}

/// Starts a box at the end of `out`: reserves room for its MAC and returns
/// where the box starts. The caller appends the plain text, then calls
/// [`seal`]; the plain text is encrypted where it lies.
pub(super) fn begin_box(out: &mut BytesMut) -> usize {
    let start = out.len();
    out.put_bytes(0, MAC_LEN);
    start
}

/// Encrypts everything appended since [`begin_box`] returned `start` and
/// writes the MAC in front of it: `out[start..]` becomes MAC || cipher
/// text, as libsodium's `crypto_box_easy` lays it out.
pub(super) fn seal<C: NaclCipher>(
    cipher: &C,
    nonce: &crypto_box::Nonce,
    out: &mut BytesMut,
    start: usize,
) {
    let Some(boxed) = out.get_mut(start..) else {
        return;
    };
    let (mac, text) = boxed.split_at_mut(MAC_LEN.min(boxed.len()));
    match cipher.encrypt_in_place_detached(nonce, b"", text) {
        Ok(tag) => mac.copy_from_slice(&tag),
        // Only non-empty associated data makes XSalsa20Poly1305 fail;
        // a box left with a zero MAC would be refused by the peer.
        Err(_) => debug_assert!(false, "XSalsa20Poly1305 refused to encrypt"),
    }
}

/// Opens a box (MAC || cipher text), returning its plain text, or `None`
/// if it is too short or does not authenticate.
pub(super) fn open<C: NaclCipher>(
    cipher: &C,
    nonce: &crypto_box::Nonce,
    boxed: &[u8],
) -> Option<Vec<u8>> {
    let mac = array_at::<MAC_LEN>(boxed, 0)?;
    let mut text = boxed.get(MAC_LEN..)?.to_vec();
    cipher
        .decrypt_in_place_detached(nonce, b"", &mut text, GenericArray::from_slice(&mac))
        .ok()?;
    Some(text)
}

/// A fresh transient key pair (C' or S').
pub(super) fn transient_pair() -> (SecretKey, PublicKey) {
    let secret = SecretKey::generate(&mut OsRng);
    let public = secret.public_key();
    (secret, public)
}
