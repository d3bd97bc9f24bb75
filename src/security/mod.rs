//! Security mechanism helpers that users touch directly: CURVE keys
//! ([`CurveKeyPair`], [`CurvePublicKey`], [`CurveSecretKey`]) and the Z85
//! text encoding ([`z85`]) in which ZeroMQ writes them.
//!
//! The CurveZMQ handshake and message boxes themselves live in the
//! sans-IO protocol core (`zmtp::curve`); this module holds only the
//! key material and its text form, so it can be used to make and store
//! keys without any socket.

mod keys;
pub mod z85;

pub use keys::{CurveKeyPair, CurvePublicKey, CurveSecretKey};
