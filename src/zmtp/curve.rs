//! The CURVE security mechanism (CurveZMQ, RFC 26, over ZMTP as RFC 25
//! and RFC 37 carry it), sans-IO, byte-compatible with libzmq 4.3.5.
//!
//! [`CurveClient`] and [`CurveServer`] run the handshake; both hand back a
//! [`CurveCodec`] that boxes and unboxes every frame afterwards. They
//! take and produce command BODIES (the caller owns the frame headers of
//! the handshake commands and matches the command names); they touch no
//! socket and no clock. Randomness (transient keys, the cookie key, long
//! nonces) comes from the operating system.
//!
//! ```text
//! C:HELLO    (200)  [5]HELLO 1 0, 72 zeros, C', short nonce, Box[64 zeros](C'->S)
//! S:WELCOME  (168)  [7]WELCOME, long nonce, Box[S' + cookie](S->C')
//!                   cookie = long nonce, SecretBox[C' + s'](K)
//! C:INITIATE (257+) [8]INITIATE, cookie, short nonce, Box[C + vouch + metadata](C'->S')
//!                   vouch = long nonce, Box[C' + S](C->S')
//! S:READY    (30+)  [5]READY, short nonce, Box[metadata](S'->C')
//! C|S:MESSAGE (33+) [7]MESSAGE, short nonce, Box[flags + frame](C'->S' | S'->C')
//! ```
//!
//! Boxes are NaCl `crypto_box` (X25519, HSalsa20, XSalsa20Poly1305) and
//! the cookie a NaCl `crypto_secretbox`; on the wire a box is its 16-octet
//! MAC followed by the ciphertext, as libsodium's `crypto_box_easy` and
//! `crypto_box` with its 16 `BOXZEROBYTES` stripped write it. Like
//! libsodium, a peer transient or long-term key of small order (whose
//! X25519 result is all zeros) never opens a box.
//!
//! # Nonces
//!
//! RFC 26: "the client uses an 8 octet "short nonce" in the HELLO,
//! INITIATE, and MESSAGE commands. This nonce SHALL be an incrementing
//! integer, and unique to each command within a connection." Short nonces
//! are one counter per sender, as libzmq's `get_and_inc_nonce`: the client
//! sends HELLO with 1, INITIATE with 2 and its messages from 3; the server
//! sends READY with 1 and its messages from 2. Long nonces (WELCOME,
//! cookie, vouch) are 16 random octets.
//!
//! The receive check is stricter than libzmq's
//! (`curve_encoding_t::check_validity`, "strictly greater than the last"):
//! a MESSAGE is refused unless its nonce is exactly one above the last
//! nonce received from that peer, which starts as the nonce of the
//! INITIATE (server side) or READY (client side). Every sender, libzmq
//! included, counts one per MESSAGE, and a gap would mean frames were
//! removed on the way, silently shortening a multipart message. libzmq
//! does not compare the HELLO and INITIATE nonces with each other, nor
//! READY's with anything, and neither do we.
//!
//! # MESSAGE frames
//!
//! RFC 26 calls MESSAGE a command, but libzmq 4.3.5
//! (`curve_encoding_t::encode` in src/curve_mechanism_base.cpp) sends it
//! in a DATA frame with no flags: the boxed message replaces the frame
//! and gets fresh flags, so the outer frame never has MORE or COMMAND set
//! (only LONG when the body is over 255 octets). The frame's own flags
//! travel inside the box: "The message payload consists of a flags field
//! (1 octet) followed by zero or more octets of payload data" — libzmq
//! puts 0x01 (MORE) and 0x02 (COMMAND: PING, PONG, SUBSCRIBE, CANCEL...)
//! there. [`CurveCodec::encrypt`] does exactly that.
//!
//! On receive libzmq accepts any outer flags and then ORs the inner flags
//! into them (`msg_t::set_flags` in `curve_encoding_t::decode`), so an
//! outer MORE or COMMAND flag is kept. [`CurveCodec::decrypt`] does not:
//! the outer flags are not authenticated, and honouring them would let
//! anyone on the path merge two messages or turn data into a command.
//! Only the boxed flags count (libzmq never sets outer ones, so nothing
//! it sends is affected); the inner reserved bits 2-7 are ignored
//! (libzmq masks them off).
//!
//! # Sizes
//!
//! As libzmq: HELLO exactly 200 octets, WELCOME exactly 168, INITIATE at
//! least 257, READY at least 30, MESSAGE at least 33 (command name
//! included). Every length is checked before anything is sliced.

use std::fmt;

mod nacl;

use bytes::{BufMut, Bytes, BytesMut};
use crypto_box::aead::generic_array::GenericArray;
use crypto_box::aead::rand_core::RngCore;
use crypto_box::aead::{KeyInit, OsRng};
use crypto_box::{PublicKey, SalsaBox, SecretKey};
use crypto_secretbox::XSalsa20Poly1305;
use zeroize::Zeroizing;

use self::nacl::{
    LONG_NONCE_LEN, MAC_LEN, array_at, begin_box, long_nonce, open, precompute, random_long_nonce,
    seal, short_nonce, transient_pair,
};
use super::command::Properties;
use super::frame::FrameHeader;
use crate::{CurveKeyPair, CurvePublicKey, CurveSecretKey, ProtocolError};

/// Length of a public or secret key.
const KEY_LEN: usize = 32;
/// Length of a short nonce as sent (after its 16-octet prefix).
const SHORT_NONCE_LEN: usize = 8;
/// Length of a cookie: long nonce + Box[C' + s'].
const COOKIE_LEN: usize = LONG_NONCE_LEN + MAC_LEN + 2 * KEY_LEN;
/// Length of a vouch: long nonce + Box[C' + S].
const VOUCH_LEN: usize = LONG_NONCE_LEN + MAC_LEN + 2 * KEY_LEN;

/// HELLO's name with its length octet.
const HELLO_NAME: &[u8] = b"\x05HELLO";
/// WELCOME's name with its length octet.
const WELCOME_NAME: &[u8] = b"\x07WELCOME";
/// INITIATE's name with its length octet.
const INITIATE_NAME: &[u8] = b"\x08INITIATE";
/// READY's name with its length octet.
const READY_NAME: &[u8] = b"\x05READY";
/// MESSAGE's name with its length octet.
const MESSAGE_NAME: &[u8] = b"\x07MESSAGE";

/// HELLO body after its name: version, padding, C', nonce, signature box.
const HELLO_DATA_LEN: usize = 2 + 72 + KEY_LEN + SHORT_NONCE_LEN + MAC_LEN + 64;
/// WELCOME body after its name: long nonce, Box[S' + cookie].
const WELCOME_DATA_LEN: usize = LONG_NONCE_LEN + MAC_LEN + KEY_LEN + COOKIE_LEN;
/// Shortest INITIATE body after its name: cookie, nonce, Box[C + vouch].
const INITIATE_MIN_DATA_LEN: usize = COOKIE_LEN + SHORT_NONCE_LEN + MAC_LEN + KEY_LEN + VOUCH_LEN;
/// Shortest READY body after its name: nonce, Box[].
const READY_MIN_DATA_LEN: usize = SHORT_NONCE_LEN + MAC_LEN;
/// MESSAGE body up to the box: name and nonce.
const MESSAGE_HEADER_LEN: usize = MESSAGE_NAME.len() + SHORT_NONCE_LEN;
/// Shortest MESSAGE body: name, nonce, Box[flags].
const MESSAGE_MIN_LEN: usize = MESSAGE_HEADER_LEN + MAC_LEN + 1;

/// The CurveZMQ version HELLO carries (major, minor).
const VERSION: [u8; 2] = [1, 0];

const HELLO_PREFIX: &[u8; 16] = b"CurveZMQHELLO---";
const WELCOME_PREFIX: &[u8; 8] = b"WELCOME-";
const COOKIE_PREFIX: &[u8; 8] = b"COOKIE--";
const INITIATE_PREFIX: &[u8; 16] = b"CurveZMQINITIATE";
const VOUCH_PREFIX: &[u8; 8] = b"VOUCH---";
const READY_PREFIX: &[u8; 16] = b"CurveZMQREADY---";
const CLIENT_MESSAGE_PREFIX: &[u8; 16] = b"CurveZMQMESSAGEC";
const SERVER_MESSAGE_PREFIX: &[u8; 16] = b"CurveZMQMESSAGES";

/// Short nonce of the client's HELLO.
const HELLO_NONCE: u64 = 1;
/// Short nonce of the client's INITIATE.
const INITIATE_NONCE: u64 = 2;
/// Short nonce of the server's READY.
const READY_NONCE: u64 = 1;

/// MORE inside the box (libzmq's `msg_t::more`).
const INNER_MORE: u8 = 0x01;
/// COMMAND inside the box (libzmq's `msg_t::command`).
const INNER_COMMAND: u8 = 0x02;

fn malformed(command: &'static str, reason: &'static str) -> ProtocolError {
    ProtocolError::MalformedCurveCommand { command, reason }
}

fn bad_box(command: &'static str) -> ProtocolError {
    ProtocolError::BadCurveBox { command }
}

fn unexpected(name: &str) -> ProtocolError {
    ProtocolError::UnexpectedCommand {
        name: name.to_string(),
    }
}

/// What the client learnt from WELCOME.
struct Welcome {
    /// S'.
    server_transient: PublicKey,
    /// The cookie to send back verbatim.
    cookie: [u8; COOKIE_LEN],
    /// Box between C' and S'.
    session: SalsaBox,
}

/// Where the client's handshake is.
enum ClientState {
    /// HELLO not sent yet.
    Start,
    /// HELLO sent.
    AwaitWelcome,
    /// INITIATE sent.
    AwaitReady {
        /// Box between C' and S'.
        session: SalsaBox,
    },
    /// READY received; the codec was handed out.
    Done,
}

impl ClientState {
    fn name(&self) -> &'static str {
        match self {
            ClientState::Start => "start",
            ClientState::AwaitWelcome => "await-welcome",
            ClientState::AwaitReady { .. } => "await-ready",
            ClientState::Done => "done",
        }
    }
}

/// The client side of the CURVE handshake.
///
/// Call order: [`hello`](CurveClient::hello), then on the server's
/// WELCOME [`on_welcome`](CurveClient::on_welcome) (which writes
/// INITIATE), then on READY [`on_ready`](CurveClient::on_ready), which
/// yields the [`CurveCodec`]. A command out of this order is refused as
/// [`ProtocolError::UnexpectedCommand`].
pub(crate) struct CurveClient {
    /// Our long-term pair: C, c.
    keys: CurveKeyPair,
    /// S.
    server: PublicKey,
    /// c'.
    transient: SecretKey,
    /// C'.
    transient_public: PublicKey,
    /// Box between C' and S (HELLO and WELCOME), `None` if S has small
    /// order (then WELCOME can never open).
    to_server: Option<SalsaBox>,
    state: ClientState,
}

impl CurveClient {
    /// A client with long-term `keys` for the server whose long-term
    /// public key is `server`; makes the transient pair C', c'.
    pub(crate) fn new(keys: &CurveKeyPair, server: &CurvePublicKey) -> CurveClient {
        let server = PublicKey::from(*server.as_bytes());
        let (transient, transient_public) = transient_pair();
        let to_server = precompute(&server, &transient);
        CurveClient {
            keys: keys.clone(),
            server,
            transient,
            transient_public,
            to_server,
            state: ClientState::Start,
        }
    }

    /// Moves to `next`, returning the state left.
    fn transition(&mut self, next: ClientState) -> ClientState {
        log::trace!("curve client {} -> {}", self.state.name(), next.name());
        std::mem::replace(&mut self.state, next)
    }

    /// Appends the whole HELLO command body (name length octet, name,
    /// fields) to `out`; no frame header. Always 200 octets.
    pub(crate) fn hello(&mut self, out: &mut BytesMut) {
        out.reserve(HELLO_NAME.len() + HELLO_DATA_LEN);
        out.put_slice(HELLO_NAME);
        out.put_slice(&VERSION);
        out.put_bytes(0, 72);
        out.put_slice(self.transient_public.as_bytes());
        out.put_u64(HELLO_NONCE);
        let start = begin_box(out);
        out.put_bytes(0, 64);
        match &self.to_server {
            Some(cipher) => seal(cipher, &short_nonce(HELLO_PREFIX, HELLO_NONCE), out, start),
            // S has small order: libsodium's crypto_box fails here. Send
            // the box unsealed; no server can open it.
            None => log::debug!("curve server key has small order"),
        }
        self.transition(ClientState::AwaitWelcome);
    }

    /// `data` = the command body after the name ("WELCOME" already
    /// matched by the caller). Appends the whole INITIATE command body,
    /// boxing `metadata` (our READY-style properties: Socket-Type,
    /// Identity...).
    pub(crate) fn on_welcome(
        &mut self,
        data: &[u8],
        metadata: &Properties,
        out: &mut BytesMut,
    ) -> Result<(), ProtocolError> {
        if !matches!(self.state, ClientState::AwaitWelcome) {
            return Err(unexpected("WELCOME"));
        }
        let welcome = self.open_welcome(data)?;
        self.write_initiate(
            &welcome,
            self.keys.public(),
            self.keys.secret(),
            &self.vouched(),
            metadata,
            out,
        );
        self.transition(ClientState::AwaitReady {
            session: welcome.session,
        });
        Ok(())
    }

    /// Checks and opens WELCOME (after its name).
    fn open_welcome(&self, data: &[u8]) -> Result<Welcome, ProtocolError> {
        if data.len() != WELCOME_DATA_LEN {
            return Err(malformed("WELCOME", "not 168 octets"));
        }
        let nonce = array_at::<LONG_NONCE_LEN>(data, 0).ok_or(malformed("WELCOME", "cut short"))?;
        let boxed = data.get(LONG_NONCE_LEN..).unwrap_or_default();
        let cipher = self.to_server.as_ref().ok_or(bad_box("WELCOME"))?;
        let text = Zeroizing::new(
            open(cipher, &long_nonce(WELCOME_PREFIX, &nonce), boxed).ok_or(bad_box("WELCOME"))?,
        );
        let server_transient = array_at::<KEY_LEN>(&text, 0)
            .map(PublicKey::from)
            .ok_or(malformed("WELCOME", "cut short"))?;
        let cookie =
            array_at::<COOKIE_LEN>(&text, KEY_LEN).ok_or(malformed("WELCOME", "cut short"))?;
        let session = precompute(&server_transient, &self.transient).ok_or(bad_box("WELCOME"))?;
        Ok(Welcome {
            server_transient,
            cookie,
            session,
        })
    }

    /// What the vouch vouches for: C' and S.
    fn vouched(&self) -> [u8; 2 * KEY_LEN] {
        let mut vouched = [0u8; 2 * KEY_LEN];
        vouched[..KEY_LEN].copy_from_slice(self.transient_public.as_bytes());
        vouched[KEY_LEN..].copy_from_slice(self.server.as_bytes());
        vouched
    }

    /// Appends INITIATE: the cookie, then Box[C + vouch + metadata](C'->S')
    /// where the vouch is Box[`vouched`](C->S') made with `signer` (c) and
    /// `client` names C. Separate from [`CurveClient::on_welcome`] so
    /// tests can forge bad ones.
    fn write_initiate(
        &self,
        welcome: &Welcome,
        client: &CurvePublicKey,
        signer: &CurveSecretKey,
        vouched: &[u8; 2 * KEY_LEN],
        metadata: &Properties,
        out: &mut BytesMut,
    ) {
        out.reserve(INITIATE_NAME.len() + INITIATE_MIN_DATA_LEN + metadata.encoded_len());
        out.put_slice(INITIATE_NAME);
        out.put_slice(&welcome.cookie);
        out.put_u64(INITIATE_NONCE);
        let start = begin_box(out);
        out.put_slice(client.as_bytes());
        let vouch_nonce = random_long_nonce();
        out.put_slice(&vouch_nonce);
        let vouch_start = begin_box(out);
        out.put_slice(vouched);
        let signer = SecretKey::from(*signer.as_bytes());
        match precompute(&welcome.server_transient, &signer) {
            Some(cipher) => seal(
                &cipher,
                &long_nonce(VOUCH_PREFIX, &vouch_nonce),
                out,
                vouch_start,
            ),
            // Unreachable: S' already made a session key with c'.
            None => log::debug!("curve server transient key has small order"),
        }
        metadata.encode(out);
        seal(
            &welcome.session,
            &short_nonce(INITIATE_PREFIX, INITIATE_NONCE),
            out,
            start,
        );
    }

    /// `data` after the name "READY": returns the server's metadata and
    /// the traffic codec.
    pub(crate) fn on_ready(
        &mut self,
        data: &[u8],
    ) -> Result<(Properties, CurveCodec), ProtocolError> {
        let ClientState::AwaitReady { session } = &self.state else {
            return Err(unexpected("READY"));
        };
        if data.len() < READY_MIN_DATA_LEN {
            return Err(malformed("READY", "shorter than 30 octets"));
        }
        let nonce = array_at::<SHORT_NONCE_LEN>(data, 0)
            .map(u64::from_be_bytes)
            .ok_or(malformed("READY", "cut short"))?;
        let boxed = data.get(SHORT_NONCE_LEN..).unwrap_or_default();
        let text =
            open(session, &short_nonce(READY_PREFIX, nonce), boxed).ok_or(bad_box("READY"))?;
        let properties = Properties::decode(Bytes::from(text))?;
        let ClientState::AwaitReady { session } = self.transition(ClientState::Done) else {
            return Err(unexpected("READY"));
        };
        let codec = CurveCodec {
            session,
            send_prefix: CLIENT_MESSAGE_PREFIX,
            recv_prefix: SERVER_MESSAGE_PREFIX,
            next_nonce: INITIATE_NONCE + 1,
            last_peer_nonce: nonce,
        };
        Ok((properties, codec))
    }
}

impl fmt::Debug for CurveClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurveClient")
            .field("public", self.keys.public())
            .field("state", &self.state.name())
            .finish_non_exhaustive()
    }
}

/// Where the server's handshake is.
enum ServerState {
    /// Nothing received yet.
    AwaitHello,
    /// WELCOME sent.
    AwaitInitiate {
        /// C'.
        client_transient: PublicKey,
        /// K, the cookie key, for this connection only.
        cookie_key: Zeroizing<[u8; KEY_LEN]>,
    },
    /// INITIATE accepted; the caller authenticates C, then asks for READY.
    Authenticating {
        /// Box between S' and C'.
        session: SalsaBox,
        /// INITIATE's short nonce: MESSAGE nonces must exceed it.
        peer_nonce: u64,
    },
    /// READY sent; the codec was handed out.
    Done,
}

impl ServerState {
    fn name(&self) -> &'static str {
        match self {
            ServerState::AwaitHello => "await-hello",
            ServerState::AwaitInitiate { .. } => "await-initiate",
            ServerState::Authenticating { .. } => "authenticating",
            ServerState::Done => "done",
        }
    }
}

/// The server side of the CURVE handshake.
///
/// Call order: on HELLO [`on_hello`](CurveServer::on_hello) (which writes
/// WELCOME), on INITIATE [`on_initiate`](CurveServer::on_initiate) (which
/// yields the client's long-term key for authentication and its
/// metadata), then, if the client is allowed in,
/// [`ready`](CurveServer::ready), which writes READY and yields the
/// [`CurveCodec`]. A command out of this order is refused as
/// [`ProtocolError::UnexpectedCommand`].
pub(crate) struct CurveServer {
    /// s.
    secret: SecretKey,
    /// S.
    public: CurvePublicKey,
    /// s'.
    transient: SecretKey,
    /// S'.
    transient_public: PublicKey,
    state: ServerState,
}

impl CurveServer {
    /// A server with long-term `keys`; makes the transient pair S', s'.
    pub(crate) fn new(keys: &CurveKeyPair) -> CurveServer {
        let (transient, transient_public) = transient_pair();
        CurveServer {
            secret: SecretKey::from(*keys.secret().as_bytes()),
            public: *keys.public(),
            transient,
            transient_public,
            state: ServerState::AwaitHello,
        }
    }

    /// Moves to `next`, returning the state left.
    fn transition(&mut self, next: ServerState) -> ServerState {
        log::trace!("curve server {} -> {}", self.state.name(), next.name());
        std::mem::replace(&mut self.state, next)
    }

    /// `data` after "HELLO"; appends the whole WELCOME command body.
    pub(crate) fn on_hello(
        &mut self,
        data: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), ProtocolError> {
        if !matches!(self.state, ServerState::AwaitHello) {
            return Err(unexpected("HELLO"));
        }
        if data.len() != HELLO_DATA_LEN {
            return Err(malformed("HELLO", "not 200 octets"));
        }
        // libzmq checks the version but neither the padding nor the 64
        // zeros inside the signature box: the box opening is the proof.
        if data.get(..2) != Some(&VERSION[..]) {
            return Err(malformed("HELLO", "not CurveZMQ version 1.0"));
        }
        let client_transient = array_at::<KEY_LEN>(data, 74)
            .map(PublicKey::from)
            .ok_or(malformed("HELLO", "cut short"))?;
        let nonce = array_at::<SHORT_NONCE_LEN>(data, 74 + KEY_LEN)
            .map(u64::from_be_bytes)
            .ok_or(malformed("HELLO", "cut short"))?;
        let boxed = data
            .get(74 + KEY_LEN + SHORT_NONCE_LEN..)
            .unwrap_or_default();
        let to_client = precompute(&client_transient, &self.secret).ok_or(bad_box("HELLO"))?;
        open(&to_client, &short_nonce(HELLO_PREFIX, nonce), boxed).ok_or(bad_box("HELLO"))?;

        let cookie_key = Zeroizing::new({
            let mut key = [0u8; KEY_LEN];
            OsRng.fill_bytes(&mut key);
            key
        });
        out.reserve(WELCOME_NAME.len() + WELCOME_DATA_LEN);
        out.put_slice(WELCOME_NAME);
        let welcome_nonce = random_long_nonce();
        out.put_slice(&welcome_nonce);
        let start = begin_box(out);
        out.put_slice(self.transient_public.as_bytes());
        // The cookie: SecretBox[C' + s'](K); s' is written into `out` and
        // encrypted where it lies.
        let cookie_nonce = random_long_nonce();
        out.put_slice(&cookie_nonce);
        let cookie_start = begin_box(out);
        out.put_slice(client_transient.as_bytes());
        out.put_slice(&Zeroizing::new(self.transient.to_bytes())[..]);
        let cookie_cipher = XSalsa20Poly1305::new(GenericArray::from_slice(&cookie_key[..]));
        seal(
            &cookie_cipher,
            &long_nonce(COOKIE_PREFIX, &cookie_nonce),
            out,
            cookie_start,
        );
        seal(
            &to_client,
            &long_nonce(WELCOME_PREFIX, &welcome_nonce),
            out,
            start,
        );
        self.transition(ServerState::AwaitInitiate {
            client_transient,
            cookie_key,
        });
        Ok(())
    }

    /// `data` after "INITIATE": checks cookie, vouch, box; returns the
    /// client's long-term public key (for authentication) and its
    /// metadata.
    pub(crate) fn on_initiate(
        &mut self,
        data: &[u8],
    ) -> Result<(CurvePublicKey, Properties), ProtocolError> {
        let ServerState::AwaitInitiate {
            client_transient,
            cookie_key,
        } = &self.state
        else {
            return Err(unexpected("INITIATE"));
        };
        if data.len() < INITIATE_MIN_DATA_LEN {
            return Err(malformed("INITIATE", "shorter than 257 octets"));
        }

        // The cookie must be the one we made for this connection.
        let cookie_nonce =
            array_at::<LONG_NONCE_LEN>(data, 0).ok_or(malformed("INITIATE", "cut short"))?;
        let cookie_box = data.get(LONG_NONCE_LEN..COOKIE_LEN).unwrap_or_default();
        let cookie_cipher = XSalsa20Poly1305::new(GenericArray::from_slice(&cookie_key[..]));
        let cookie = Zeroizing::new(
            open(
                &cookie_cipher,
                &long_nonce(COOKIE_PREFIX, &cookie_nonce),
                cookie_box,
            )
            .ok_or(bad_box("cookie"))?,
        );
        let transient = Zeroizing::new(self.transient.to_bytes());
        if cookie.get(..KEY_LEN) != Some(&client_transient.as_bytes()[..])
            || cookie.get(KEY_LEN..) != Some(&transient[..])
        {
            return Err(ProtocolError::CurveKeyMismatch { what: "cookie" });
        }

        let nonce = array_at::<SHORT_NONCE_LEN>(data, COOKIE_LEN)
            .map(u64::from_be_bytes)
            .ok_or(malformed("INITIATE", "cut short"))?;
        let boxed = data.get(COOKIE_LEN + SHORT_NONCE_LEN..).unwrap_or_default();
        let session = precompute(client_transient, &self.transient).ok_or(bad_box("INITIATE"))?;
        let text = open(&session, &short_nonce(INITIATE_PREFIX, nonce), boxed)
            .ok_or(bad_box("INITIATE"))?;

        // C, then the vouch: Box[C' + S](C->S').
        let client = array_at::<KEY_LEN>(&text, 0).ok_or(malformed("INITIATE", "cut short"))?;
        let vouch_nonce =
            array_at::<LONG_NONCE_LEN>(&text, KEY_LEN).ok_or(malformed("INITIATE", "cut short"))?;
        let vouch_box = text
            .get(KEY_LEN + LONG_NONCE_LEN..KEY_LEN + VOUCH_LEN)
            .ok_or(malformed("INITIATE", "cut short"))?;
        let vouch_cipher =
            precompute(&PublicKey::from(client), &self.transient).ok_or(bad_box("vouch"))?;
        let vouched = open(
            &vouch_cipher,
            &long_nonce(VOUCH_PREFIX, &vouch_nonce),
            vouch_box,
        )
        .ok_or(bad_box("vouch"))?;
        // libzmq checks C' only; S is checked too (RFC 26: the vouch
        // "encrypts the client's transient key C' and the server
        // permanent key S"), which every libzmq client puts there.
        if vouched.get(..KEY_LEN) != Some(&client_transient.as_bytes()[..])
            || vouched.get(KEY_LEN..) != Some(&self.public.as_bytes()[..])
        {
            return Err(ProtocolError::CurveKeyMismatch { what: "vouch" });
        }

        let metadata = text.get(KEY_LEN + VOUCH_LEN..).unwrap_or_default();
        let properties = Properties::decode(Bytes::copy_from_slice(metadata))?;
        self.transition(ServerState::Authenticating {
            session,
            peer_nonce: nonce,
        });
        Ok((CurvePublicKey::from_bytes(client), properties))
    }

    /// After authentication succeeded: appends the whole READY command
    /// body boxing `metadata`, returns the codec.
    ///
    /// Must follow a successful [`on_initiate`](CurveServer::on_initiate);
    /// called at any other time (a bug of the caller) it writes nothing
    /// and returns a codec under a random key, whose frames no peer can
    /// open.
    pub(crate) fn ready(&mut self, metadata: &Properties, out: &mut BytesMut) -> CurveCodec {
        let ServerState::Authenticating {
            session,
            peer_nonce,
        } = self.transition(ServerState::Done)
        else {
            debug_assert!(false, "CurveServer::ready before INITIATE was accepted");
            let (secret, public) = transient_pair();
            return CurveCodec {
                session: SalsaBox::new(&public, &secret),
                send_prefix: SERVER_MESSAGE_PREFIX,
                recv_prefix: CLIENT_MESSAGE_PREFIX,
                next_nonce: READY_NONCE + 1,
                last_peer_nonce: u64::MAX,
            };
        };
        out.reserve(READY_NAME.len() + READY_MIN_DATA_LEN + metadata.encoded_len());
        out.put_slice(READY_NAME);
        out.put_u64(READY_NONCE);
        let start = begin_box(out);
        metadata.encode(out);
        seal(
            &session,
            &short_nonce(READY_PREFIX, READY_NONCE),
            out,
            start,
        );
        CurveCodec {
            session,
            send_prefix: SERVER_MESSAGE_PREFIX,
            recv_prefix: CLIENT_MESSAGE_PREFIX,
            next_nonce: READY_NONCE + 1,
            last_peer_nonce: peer_nonce,
        }
    }
}

impl fmt::Debug for CurveServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurveServer")
            .field("public", &self.public)
            .field("state", &self.state.name())
            .finish_non_exhaustive()
    }
}

/// Boxes and unboxes the frames of one connection after the handshake:
/// one MESSAGE per frame, each under the next short nonce.
///
/// Holds the precomputed key between the two transient keys
/// (`crypto_box_beforenm`), our next short nonce and the last nonce the
/// peer used.
pub(crate) struct CurveCodec {
    /// Box between the transient keys, precomputed.
    session: SalsaBox,
    /// Prefix of the nonces we send with.
    send_prefix: &'static [u8; 16],
    /// Prefix of the nonces the peer sends with.
    recv_prefix: &'static [u8; 16],
    /// The short nonce of our next MESSAGE.
    next_nonce: u64,
    /// The peer's last short nonce: the next must be greater.
    last_peer_nonce: u64,
}

impl CurveCodec {
    /// The body size of the MESSAGE carrying `len` octets.
    /// The octets a box adds to a frame's body: name, nonce, MAC, flags.
    pub(crate) const OVERHEAD: usize = MESSAGE_MIN_LEN;

    fn body_len(len: usize) -> usize {
        MESSAGE_MIN_LEN.saturating_add(len)
    }

    /// Appends one whole frame (ZMTP frame header AND body) carrying one
    /// encrypted message frame or command: `more` and `command` are the
    /// inner flags (libzmq: 0x01 MORE, 0x02 COMMAND inside the box). The
    /// outer frame is a data frame without MORE, as libzmq sends it.
    pub(crate) fn encrypt(&mut self, more: bool, command: bool, body: &[u8], out: &mut BytesMut) {
        let size = Self::body_len(body.len());
        let header = FrameHeader::message(size as u64, false);
        out.reserve(header.encoded_len() + size);
        header.encode(out);
        let nonce = self.next_nonce;
        // 2^64 messages cannot be sent in the life of a connection.
        self.next_nonce = self.next_nonce.wrapping_add(1);
        out.put_slice(MESSAGE_NAME);
        out.put_u64(nonce);
        let start = begin_box(out);
        let mut flags = 0;
        if more {
            flags |= INNER_MORE;
        }
        if command {
            flags |= INNER_COMMAND;
        }
        out.put_u8(flags);
        out.put_slice(body);
        seal(
            &self.session,
            &short_nonce(self.send_prefix, nonce),
            out,
            start,
        );
    }

    /// The total octets [`CurveCodec::encrypt`] appends for a body of
    /// `len` (header included).
    #[cfg(test)]
    pub(crate) fn encrypted_len(len: usize) -> usize {
        let size = Self::body_len(len);
        FrameHeader::message(size as u64, false).encoded_len() + size
    }

    /// Given one received outer frame (its header and body), returns the
    /// inner (more, command, body). Refuses anything that is not a valid
    /// MESSAGE whose nonce is the next one. Only the flags inside the box
    /// count; the outer frame's are ignored.
    pub(crate) fn decrypt(
        &mut self,
        _outer: &FrameHeader,
        body: &[u8],
    ) -> Result<(bool, bool, Bytes), ProtocolError> {
        if body.get(..MESSAGE_NAME.len()) != Some(MESSAGE_NAME) {
            return Err(not_a_message(body));
        }
        if body.len() < MESSAGE_MIN_LEN {
            return Err(malformed("MESSAGE", "shorter than 33 octets"));
        }
        let nonce = array_at::<SHORT_NONCE_LEN>(body, MESSAGE_NAME.len())
            .map(u64::from_be_bytes)
            .ok_or(malformed("MESSAGE", "cut short"))?;
        if nonce <= self.last_peer_nonce {
            return Err(ProtocolError::CurveNonceNotIncreasing {
                nonce,
                last: self.last_peer_nonce,
            });
        }
        // "This nonce SHALL be an incrementing integer": every sender
        // (libzmq's too) counts one per MESSAGE, so a gap means frames
        // were taken out on the way, which would silently shorten a
        // multipart message. libzmq only checks "greater than".
        let expected = self.last_peer_nonce.wrapping_add(1);
        if nonce != expected {
            return Err(ProtocolError::CurveNonceSkipped { nonce, expected });
        }
        let boxed = body.get(MESSAGE_HEADER_LEN..).unwrap_or_default();
        let text = open(&self.session, &short_nonce(self.recv_prefix, nonce), boxed)
            .ok_or(bad_box("MESSAGE"))?;
        self.last_peer_nonce = nonce;
        let mut text = Bytes::from(text);
        let Some(&flags) = text.first() else {
            return Err(malformed("MESSAGE", "no flags octet"));
        };
        let data = text.split_off(1);
        // Only the flags inside the box count (see the module docs).
        Ok((flags & INNER_MORE != 0, flags & INNER_COMMAND != 0, data))
    }
}

/// The error for a frame that should be a MESSAGE but is not.
fn not_a_message(body: &[u8]) -> ProtocolError {
    match body.split_first() {
        Some((&len, rest)) if len > 0 => match rest.get(..usize::from(len)) {
            Some(name) => unexpected(&String::from_utf8_lossy(name)),
            None => malformed("MESSAGE", "cut short"),
        },
        _ => malformed("MESSAGE", "no command name"),
    }
}

impl fmt::Debug for CurveCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurveCodec")
            .field("next_nonce", &self.next_nonce)
            .field("last_peer_nonce", &self.last_peer_nonce)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
