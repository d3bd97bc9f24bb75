//! Security mechanisms: which one a connection speaks, in which role,
//! with which credentials, and what a server asks its authenticator.
//!
//! RFC 37 §"Authentication and Confidentiality": "the mechanism SHALL
//! ... be sent in the greeting", and both peers must name the same one.
//! NULL (no security) needs no role; PLAIN (RFC 24) and CURVE (RFC 26)
//! have a client and a server, chosen by the application (libzmq's
//! `ZMQ_PLAIN_SERVER` and `ZMQ_CURVE_SERVER`), independently of which
//! side binds.
//!
//! A server's handshake stops once it knows who the peer claims to be
//! (PLAIN's HELLO, CURVE's INITIATE) and reports an [`AuthRequest`]; the
//! engine answers with an [`AuthReply`] (RFC 27 ZAP status codes) and
//! the handshake goes on or ends with an ERROR. NULL asks too, but only
//! when the socket has a ZAP domain, as libzmq does.

use bytes::Bytes;

use super::Properties;
use super::greeting::MECHANISM_LEN;

/// The greeting's mechanism field for PLAIN.
pub const PLAIN_MECHANISM: [u8; MECHANISM_LEN] = *b"PLAIN\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
/// The greeting's mechanism field for CURVE.
pub const CURVE_MECHANISM: [u8; MECHANISM_LEN] = *b"CURVE\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// The security mechanism of a connection, with its role and
/// credentials.
///
/// A socket takes it with [`Socket::set_mechanism`](crate::Socket::set_mechanism)
/// (or the shortcuts such as `set_curve_server`); here a CURVE server and
/// its client:
///
/// ```
/// use brokerless::{Context, CurveKeyPair, Mechanism, SocketType};
///
/// let ctx = Context::new();
/// let server_keys = CurveKeyPair::generate();
/// let server = ctx.socket(SocketType::Pull)?;
/// server.set_mechanism(Mechanism::CurveServer { keys: server_keys.clone() })?;
/// server.bind("tcp://127.0.0.1:*")?;
/// assert!(server.mechanism().is_server());
///
/// let client = ctx.socket(SocketType::Push)?;
/// client.set_mechanism(Mechanism::CurveClient {
///     keys: CurveKeyPair::generate(),
///     server_key: *server_keys.public(),
/// })?;
/// assert_eq!(client.mechanism().name(), "CURVE");
/// client.connect(&server.last_endpoint().expect("bound"))?;
/// client.send("sealed")?;
/// assert_eq!(&server.recv()?[0], b"sealed");
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Mechanism {
    /// No security (RFC 37's NULL): anyone may connect, nothing is
    /// encrypted. A socket with a ZAP domain still asks its
    /// authenticator (which sees only the peer's address).
    #[default]
    Null,
    /// PLAIN client (RFC 24): sends a user name and password in clear
    /// text. Use it only on trusted networks or over an encrypted link.
    PlainClient {
        /// The user name (at most 255 octets).
        username: Bytes,
        /// The password (at most 255 octets).
        password: Bytes,
    },
    /// PLAIN server: checks each client's user name and password with
    /// the authenticator; without one, every client is refused.
    PlainServer,
    /// CURVE client (RFC 26): encrypts and authenticates with
    /// Curve25519; needs its own key pair and the server's public key.
    CurveClient {
        /// The client's long-term key pair.
        keys: crate::CurveKeyPair,
        /// The server's long-term public key.
        server_key: crate::CurvePublicKey,
    },
    /// CURVE server: needs its long-term key pair; the authenticator, if
    /// any, checks each client's public key (without one, any client
    /// that knows the server's public key gets in, as in libzmq).
    CurveServer {
        /// The server's long-term key pair.
        keys: crate::CurveKeyPair,
    },
}

impl Mechanism {
    /// The mechanism's name as ZAP spells it: `NULL`, `PLAIN`, `CURVE`.
    pub fn name(&self) -> &'static str {
        match self {
            Mechanism::Null => "NULL",
            Mechanism::PlainClient { .. } | Mechanism::PlainServer => "PLAIN",
            Mechanism::CurveClient { .. } | Mechanism::CurveServer { .. } => "CURVE",
        }
    }

    /// The NUL-padded name sent in the greeting.
    pub fn greeting_field(&self) -> [u8; MECHANISM_LEN] {
        match self {
            Mechanism::Null => super::greeting::NULL_MECHANISM,
            Mechanism::PlainClient { .. } | Mechanism::PlainServer => PLAIN_MECHANISM,
            Mechanism::CurveClient { .. } | Mechanism::CurveServer { .. } => CURVE_MECHANISM,
        }
    }

    /// Whether this is a server role (the greeting's as-server field).
    pub fn is_server(&self) -> bool {
        matches!(self, Mechanism::PlainServer | Mechanism::CurveServer { .. })
    }
}

/// What a handshake asks its authenticator: the fields of an RFC 27 ZAP
/// request that only the connection knows (the engine adds the domain,
/// the peer's address and the socket's routing id).
///
/// A PLAIN server [`Connection`](super::Connection) reports one in
/// [`Event::Authenticate`](super::Event::Authenticate) and waits for the
/// verdict (`shuttle` is as in the `Connection` example):
///
/// ```
/// use brokerless::SocketType;
/// use brokerless::zmtp::{AuthReply, Config, Connection, Event, Mechanism};
/// use bytes::BytesMut;
/// # fn shuttle(from: &mut Connection, to: &mut BytesMut) {
/// #     let mut slices = [std::io::IoSlice::new(&[]); 4];
/// #     let n = from.transmit().io_slices(&mut slices);
/// #     let written: usize = slices[..n].iter().map(|s| s.len()).sum();
/// #     slices[..n].iter().for_each(|s| to.extend_from_slice(s));
/// #     from.transmit_mut().advance(written);
/// # }
///
/// let (username, password) = ("admin".into(), "secret".into());
/// let client = Config {
///     mechanism: Mechanism::PlainClient { username, password },
///     ..Config::new(SocketType::Req)
/// };
/// let server = Config { mechanism: Mechanism::PlainServer, ..Config::new(SocketType::Rep) };
/// let (mut client, mut server) = (Connection::new(client), Connection::new(server));
/// let (mut to_client, mut to_server) = (BytesMut::new(), BytesMut::new());
/// while !(client.is_established() && server.is_established()) {
///     shuttle(&mut client, &mut to_server);
///     shuttle(&mut server, &mut to_client);
///     while client.handle_input(&mut to_client)?.is_some() {}
///     while let Some(event) = server.handle_input(&mut to_server)? {
///         if let Event::Authenticate(request) = event {
///             assert_eq!(request.mechanism, "PLAIN");
///             assert_eq!(request.credentials, ["admin", "secret"]);
///             server.handle_auth(AuthReply::allow_as("admin"))?;
///         }
///     }
/// }
/// assert_eq!(server.peer().map(|p| &p.user_id[..]), Some(&b"admin"[..]));
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthRequest {
    /// `NULL`, `PLAIN` or `CURVE`.
    pub mechanism: &'static str,
    /// The credentials frames: none for NULL, the user name and the
    /// password for PLAIN, the client's 32-octet public key for CURVE.
    pub credentials: Vec<Bytes>,
}

/// The authenticator's answer (an RFC 27 ZAP reply, less its envelope).
///
/// What an [`Authenticator`](crate::Authenticator) handler returns, and
/// what [`Connection::handle_auth`](super::Connection::handle_auth) takes.
///
/// ```
/// use brokerless::AuthReply;
///
/// let welcome = AuthReply::allow_as("admin");
/// assert!(welcome.is_success());
/// assert_eq!(welcome.status_code, 200);
/// assert_eq!(welcome.user_id, "admin");
///
/// let refusal = AuthReply::deny(400, "unknown user");
/// assert!(!refusal.is_success());
/// assert!(refusal.user_id.is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthReply {
    /// RFC 27: 200 success, 300 temporary error, 400 authentication
    /// failure, 500 internal error.
    pub status_code: u16,
    /// Text for logs.
    pub status_text: String,
    /// The authenticated user's id (RFC 27: "the user identity ... for
    /// the application"), empty if none.
    pub user_id: Bytes,
    /// Metadata the authenticator attaches to the connection.
    pub metadata: Properties,
}

impl AuthReply {
    /// Status 200 with no user id.
    pub fn allow() -> AuthReply {
        AuthReply::allow_as(Bytes::new())
    }

    /// Status 200 with a user id.
    pub fn allow_as(user_id: impl Into<Bytes>) -> AuthReply {
        AuthReply {
            status_code: 200,
            status_text: "OK".into(),
            user_id: user_id.into(),
            metadata: Properties::new(),
        }
    }

    /// A refusal: `status_code` should be 300, 400 or 500.
    pub fn deny(status_code: u16, text: impl Into<String>) -> AuthReply {
        AuthReply {
            status_code,
            status_text: text.into(),
            user_id: Bytes::new(),
            metadata: Properties::new(),
        }
    }

    /// Whether the status is a success (2xx).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status_code)
    }
}
