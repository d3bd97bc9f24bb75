//! Command bodies and the metadata properties READY carries.
//!
//! RFC 37 §"Formal Grammar":
//!
//! ```text
//! command-body = command-name command-data
//! command-name = short-size 1*255command-name-char
//! command-data = *OCTET
//! ```
//!
//! [`Command::encode`] and [`Command::decode`] work on the command BODY
//! (name length, name, data); the frame header around it belongs to
//! [`super::frame`]. Decoding slices the body [`Bytes`] (no copies) and
//! never indexes or panics on peer bytes.

use bytes::{BufMut, Bytes, BytesMut};

use crate::ProtocolError;

/// The READY command's name (NULL mechanism handshake).
pub const READY: &[u8] = b"READY";
/// The ERROR command's name.
pub const ERROR: &[u8] = b"ERROR";
/// The PING command's name (heartbeat request).
pub const PING: &[u8] = b"PING";
/// The PONG command's name (heartbeat reply).
pub const PONG: &[u8] = b"PONG";
/// The SUBSCRIBE command's name (ZMTP 3.1 subscriptions).
pub const SUBSCRIBE: &[u8] = b"SUBSCRIBE";
/// The CANCEL command's name (ZMTP 3.1 subscriptions).
pub const CANCEL: &[u8] = b"CANCEL";
/// The JOIN command's name (RADIO/DISH groups).
pub const JOIN: &[u8] = b"JOIN";
/// The LEAVE command's name (RADIO/DISH groups).
pub const LEAVE: &[u8] = b"LEAVE";

/// The `Socket-Type` property name, spelled as libzmq sends it.
pub const SOCKET_TYPE: &str = "Socket-Type";
/// The `Identity` property name, spelled as libzmq sends it.
pub const IDENTITY: &str = "Identity";

/// RFC 37 §"Connection Heartbeating": the PONG "echoes the
/// ping-context, which may be empty and MUST not exceed 16 octets".
pub const MAX_PING_CONTEXT: usize = 16;

/// The longest command or property name: "1*255" characters.
pub const MAX_NAME_LEN: usize = 255;

/// The longest ERROR reason: "error-reason = short-size 0*255VCHAR".
pub const MAX_ERROR_REASON: usize = 255;

/// Metadata: an ordered list of (name, value) properties, as READY
/// carries them.
///
/// RFC 37: "The name SHALL be 1 to 255 characters. Zero-sized names are
/// not valid. The case (upper or lower) of names SHALL NOT be
/// significant." Names are kept exactly as received (or pushed);
/// [`Properties::get`] compares them ignoring ASCII case.
///
/// ```text
/// metadata = *property
/// property = name value
/// name = short-size 1*255name-char
/// value = 4OCTET *OCTET       ; Size in network byte order
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<(Bytes, Bytes)>,
}

impl Properties {
    /// An empty property list.
    pub fn new() -> Properties {
        Properties::default()
    }

    /// Appends a property. The name must be 1 to 255 octets and the value
    /// at most 2^31-1 octets (RFC 37), else nothing is added and
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) is
    /// returned.
    pub fn push(
        &mut self,
        name: impl Into<Bytes>,
        value: impl Into<Bytes>,
    ) -> Result<(), crate::Error> {
        let name = name.into();
        let value = value.into();
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(crate::Error::InvalidArgument(format!(
                "property name must be 1 to 255 bytes, got {}",
                name.len()
            )));
        }
        if value.len() > i32::MAX as usize {
            return Err(crate::Error::InvalidArgument(format!(
                "property value must be at most {} bytes, got {}",
                i32::MAX,
                value.len()
            )));
        }
        self.entries.push((name, value));
        Ok(())
    }

    /// The value of the first property called `name`, ignoring ASCII case.
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<&Bytes> {
        let name = name.as_ref();
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The properties in order, as (name, value).
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.entries.iter().map(|(n, v)| (n, v))
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no properties.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many octets [`Properties::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        self.entries
            .iter()
            .map(|(n, v)| 1 + n.len() + 4 + v.len())
            .sum()
    }

    /// Appends every property: 1-octet name length, name, 4-octet
    /// big-endian value length, value.
    pub fn encode(&self, buf: &mut BytesMut) {
        buf.reserve(self.encoded_len());
        for (name, value) in &self.entries {
            // push() keeps names within 1..=255 and values within i32::MAX.
            buf.put_u8(name.len() as u8);
            buf.put_slice(name);
            buf.put_u32(value.len() as u32);
            buf.put_slice(value);
        }
    }

    /// Decodes a whole property list (the rest of a READY body). Names
    /// and values are slices of one copy of `data`: properties live as
    /// long as the connection, and slices of `data` itself would keep the
    /// whole receive buffer it came in alive with them. A zero-length
    /// name or a list cut short is [`ProtocolError::MalformedMetadata`].
    pub fn decode(data: Bytes) -> Result<Properties, ProtocolError> {
        let mut data = Bytes::copy_from_slice(&data);
        let mut entries = Vec::new();
        while let Some((&name_len, _)) = data.split_first() {
            let name_len = usize::from(name_len);
            if name_len == 0 {
                return Err(ProtocolError::MalformedMetadata);
            }
            let value_len_at = 1 + name_len;
            let Some(len_bytes) = data.get(value_len_at..value_len_at + 4) else {
                return Err(ProtocolError::MalformedMetadata);
            };
            let value_len = len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            let value_at = value_len_at + 4;
            // Compare against what is there before slicing: a hostile
            // length is rejected, never allocated.
            if value_len > data.len() - value_at {
                return Err(ProtocolError::MalformedMetadata);
            }
            let name = data.slice(1..value_len_at);
            let value = data.slice(value_at..value_at + value_len);
            entries.push((name, value));
            data = data.split_off(value_at + value_len);
        }
        Ok(Properties { entries })
    }
}

/// A ZMTP command: what a command frame's body holds.
///
/// ```
/// use brokerless::zmtp::Command;
/// use bytes::{Bytes, BytesMut};
///
/// let ping = Command::Ping { ttl: 50, context: Bytes::from_static(b"ctx") };
/// let mut body = BytesMut::new();
/// ping.encode(&mut body);
/// // Name length, name, TTL (big-endian deciseconds), context.
/// assert_eq!(&body[..], b"\x04PING\x00\x32ctx");
/// assert_eq!(body.len(), ping.encoded_len());
/// assert_eq!(Command::decode(body.freeze())?, ping);
///
/// let pong = Command::pong_for(&Bytes::from_static(b"ctx"));
/// assert_eq!(pong, Command::Pong { context: "ctx".into() });
/// assert_eq!(pong.name(), b"PONG");
/// # Ok::<(), brokerless::ProtocolError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// NULL mechanism READY with the sender's metadata.
    Ready(Properties),
    /// ERROR: fatal, with a reason meant for logs (at most 255 octets
    /// are sent).
    Error {
        /// Why the peer gave up.
        reason: Bytes,
    },
    /// PING: a heartbeat request, answered with a PONG echoing `context`.
    Ping {
        /// Time-to-live in tenths of a second (0: none).
        ttl: u16,
        /// Opaque context to echo (RFC 37: 0 to 16 octets).
        context: Bytes,
    },
    /// PONG: a heartbeat reply.
    Pong {
        /// The context of the PING being answered.
        context: Bytes,
    },
    /// SUBSCRIBE (ZMTP 3.1): the topic prefix a subscriber wants.
    Subscribe(Bytes),
    /// CANCEL (ZMTP 3.1): undoes one SUBSCRIBE of the topic.
    Cancel(Bytes),
    /// JOIN: a DISH joins a group.
    Join(Bytes),
    /// LEAVE: a DISH leaves a group.
    Leave(Bytes),
    /// Any other command, kept as it came (e.g. a future mechanism's).
    Unknown {
        /// The command name (1 to 255 octets).
        name: Bytes,
        /// Everything after the name.
        data: Bytes,
    },
}

impl Command {
    /// The PONG that answers a PING with `context`: the context cut to
    /// [`MAX_PING_CONTEXT`] octets.
    pub fn pong_for(context: &Bytes) -> Command {
        Command::Pong {
            context: context.slice(..context.len().min(MAX_PING_CONTEXT)),
        }
    }

    /// The command's name as sent on the wire.
    pub fn name(&self) -> &[u8] {
        match self {
            Command::Ready(_) => READY,
            Command::Error { .. } => ERROR,
            Command::Ping { .. } => PING,
            Command::Pong { .. } => PONG,
            Command::Subscribe(_) => SUBSCRIBE,
            Command::Cancel(_) => CANCEL,
            Command::Join(_) => JOIN,
            Command::Leave(_) => LEAVE,
            Command::Unknown { name, .. } => name.get(..MAX_NAME_LEN).unwrap_or(name),
        }
    }

    /// The name, lossily decoded (for errors and logs).
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(self.name()).into_owned()
    }

    /// The ERROR reason as sent: cut to 255 octets.
    fn error_reason(reason: &Bytes) -> &[u8] {
        reason.get(..MAX_ERROR_REASON).unwrap_or(reason)
    }

    fn data_len(&self) -> usize {
        match self {
            Command::Ready(props) => props.encoded_len(),
            Command::Error { reason } => 1 + Self::error_reason(reason).len(),
            Command::Ping { context, .. } => 2 + context.len(),
            Command::Pong { context } => context.len(),
            Command::Subscribe(b) | Command::Cancel(b) | Command::Join(b) | Command::Leave(b) => {
                b.len()
            }
            Command::Unknown { data, .. } => data.len(),
        }
    }

    /// How many octets [`Command::encode`] writes (the frame body size).
    pub fn encoded_len(&self) -> usize {
        1 + self.name().len() + self.data_len()
    }

    /// Appends the command body: 1-octet name length, name, data. The
    /// name of an `Unknown` command must not be empty (the peer would
    /// reject it); a name or ERROR reason over 255 octets is cut to 255.
    pub fn encode(&self, buf: &mut BytesMut) {
        buf.reserve(self.encoded_len());
        let name = self.name();
        debug_assert!(!name.is_empty(), "a command name must not be empty");
        // name() is at most 255 octets.
        buf.put_u8(name.len() as u8);
        buf.put_slice(name);
        match self {
            Command::Ready(props) => props.encode(buf),
            Command::Error { reason } => {
                let reason = Self::error_reason(reason);
                buf.put_u8(reason.len() as u8);
                buf.put_slice(reason);
            }
            Command::Ping { ttl, context } => {
                buf.put_u16(*ttl);
                buf.put_slice(context);
            }
            Command::Pong { context } => buf.put_slice(context),
            Command::Subscribe(b) | Command::Cancel(b) | Command::Join(b) | Command::Leave(b) => {
                buf.put_slice(b)
            }
            Command::Unknown { data, .. } => buf.put_slice(data),
        }
    }

    /// Decodes a command body (the whole frame body). Names are compared
    /// exactly, as libzmq does.
    ///
    /// Errors: [`ProtocolError::MalformedCommand`] for an empty body, a
    /// zero-length or truncated name, an ERROR whose reason is cut short,
    /// a PING shorter than its 2-octet TTL; [`ProtocolError::MalformedMetadata`]
    /// for a READY whose property list is malformed.
    pub fn decode(body: Bytes) -> Result<Command, ProtocolError> {
        let malformed = |reason| Err(ProtocolError::MalformedCommand { reason });
        let (name, data) = split(body)?;
        Ok(match &name[..] {
            READY => Command::Ready(Properties::decode(data)?),
            ERROR => {
                // "error-reason = short-size 0*255VCHAR"; anything after
                // the reason is ignored.
                let Some((&reason_len, reason)) = data.split_first() else {
                    return malformed("ERROR without a reason length");
                };
                let reason_len = usize::from(reason_len);
                if reason.len() < reason_len {
                    return malformed("truncated ERROR reason");
                }
                Command::Error {
                    reason: data.slice(1..1 + reason_len),
                }
            }
            PING => {
                // "ping = command-size %d4 "PING" ping-ttl ping-context";
                // "ping-ttl = 2OCTET". A context over 16 octets is kept
                // (libzmq accepts it too); the PONG cuts it.
                let Some(&[hi, lo]) = data.first_chunk::<2>() else {
                    return malformed("PING shorter than its 2-byte TTL");
                };
                Command::Ping {
                    ttl: u16::from_be_bytes([hi, lo]),
                    context: data.slice(2..),
                }
            }
            PONG => Command::Pong { context: data },
            SUBSCRIBE => Command::Subscribe(data),
            CANCEL => Command::Cancel(data),
            JOIN => Command::Join(data),
            LEAVE => Command::Leave(data),
            _ => Command::Unknown { name, data },
        })
    }
}

/// Splits a command body into its name and the data after it, checking
/// only the name ("command-name = short-size 1*255command-name-char").
/// The security handshakes use it: their commands (HELLO, WELCOME,
/// INITIATE, and READY under CURVE, which is boxed) are not parsed as
/// [`Command`]s.
///
/// ```
/// use brokerless::zmtp::command::split;
/// use bytes::Bytes;
///
/// // A PLAIN HELLO: the name, then the user name and password.
/// let (name, data) = split(Bytes::from_static(b"\x05HELLO\x05admin\x06secret"))?;
/// assert_eq!(name, "HELLO");
/// assert_eq!(data, &b"\x05admin\x06secret"[..]);
/// // A name longer than what follows it.
/// assert!(split(Bytes::from_static(b"\x09HELLO")).is_err());
/// # Ok::<(), brokerless::ProtocolError>(())
/// ```
pub fn split(body: Bytes) -> Result<(Bytes, Bytes), ProtocolError> {
    let malformed = |reason| Err(ProtocolError::MalformedCommand { reason });
    let Some((&name_len, rest)) = body.split_first() else {
        return malformed("empty command body");
    };
    let name_len = usize::from(name_len);
    if name_len == 0 {
        return malformed("zero-length command name");
    }
    if rest.len() < name_len {
        return malformed("truncated command name");
    }
    Ok((body.slice(1..1 + name_len), body.slice(1 + name_len..)))
}

/// Appends a whole command body: the name's length, the name, `data`.
pub fn encode_raw(name: &[u8], data: &[u8], buf: &mut BytesMut) {
    debug_assert!(!name.is_empty() && name.len() <= MAX_NAME_LEN);
    buf.reserve(1 + name.len() + data.len());
    buf.put_u8(name.len() as u8);
    buf.put_slice(name);
    buf.put_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(cmd: &Command) -> Vec<u8> {
        let mut buf = BytesMut::new();
        cmd.encode(&mut buf);
        buf.to_vec()
    }

    fn ready(props: &[(&'static str, &'static [u8])]) -> Command {
        let mut p = Properties::new();
        for (n, v) in props {
            p.push(*n, *v).expect("valid property");
        }
        Command::Ready(p)
    }

    #[test]
    fn dealer_ready_body() {
        let cmd = ready(&[(SOCKET_TYPE, b"DEALER"), (IDENTITY, b"")]);
        let mut expected = vec![5];
        expected.extend_from_slice(b"READY");
        expected.push(11);
        expected.extend_from_slice(b"Socket-Type");
        expected.extend_from_slice(&[0, 0, 0, 6]);
        expected.extend_from_slice(b"DEALER");
        expected.push(8);
        expected.extend_from_slice(b"Identity");
        expected.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(encode(&cmd), expected);
        assert_eq!(cmd.encoded_len(), 0x29);
    }

    #[test]
    fn property_names_are_case_insensitive() {
        let Command::Ready(props) = Command::decode(Bytes::from_static(
            b"\x05READY\x0bsocket-TYPE\x00\x00\x00\x04PUSH\x08identity\x00\x00\x00\x01A",
        ))
        .expect("valid READY") else {
            panic!("not READY")
        };
        assert_eq!(props.get("Socket-Type").map(|v| &v[..]), Some(&b"PUSH"[..]));
        assert_eq!(props.get(b"IDENTITY").map(|v| &v[..]), Some(&b"A"[..]));
        assert_eq!(props.get("User-Id"), None);
        assert_eq!(props.len(), 2);
        let names: Vec<&[u8]> = props.iter().map(|(n, _)| &n[..]).collect();
        assert_eq!(names, [&b"socket-TYPE"[..], b"identity"]);
    }

    #[test]
    fn truncated_metadata() {
        for body in [
            &b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PUS"[..],
            b"\x05READY\x0bSocket-Type\x00\x00",
            b"\x05READY\x0bSocket-Ty",
            b"\x05READY\x0b",
            b"\x05READY\x00\x00\x00\x00\x00",
            b"\x05READY\x01A\xff\xff\xff\xff",
        ] {
            assert_eq!(
                Command::decode(Bytes::from_static(body)),
                Err(ProtocolError::MalformedMetadata),
                "{body:?}"
            );
        }
        assert_eq!(
            Command::decode(Bytes::from_static(b"\x05READY")),
            Ok(Command::Ready(Properties::new()))
        );
    }

    #[test]
    fn malformed_commands() {
        for body in [
            &b""[..],
            b"\x00",
            b"\x00PING",
            b"\x05REA",
            b"\x04PING",
            b"\x04PING\x00",
            b"\x05ERROR",
            b"\x05ERROR\x05oops",
        ] {
            assert!(
                matches!(
                    Command::decode(Bytes::from_static(body)),
                    Err(ProtocolError::MalformedCommand { .. })
                ),
                "{body:?}"
            );
        }
    }

    #[test]
    fn ping_and_pong() {
        let ping = Command::decode(Bytes::from_static(b"\x04PING\x00\x00LOL")).expect("PING");
        assert_eq!(
            ping,
            Command::Ping {
                ttl: 0,
                context: Bytes::from_static(b"LOL")
            }
        );
        let pong = Command::pong_for(&Bytes::from_static(b"LOL"));
        assert_eq!(encode(&pong), b"\x04PONGLOL");
        let long = Bytes::from_static(b"0123456789abcdefXYZ");
        assert_eq!(
            encode(&Command::pong_for(&long)),
            b"\x04PONG0123456789abcdef"
        );
    }

    #[test]
    fn known_names_and_unknown() {
        assert_eq!(
            encode(&Command::Subscribe(Bytes::from_static(b"A"))),
            b"\x09SUBSCRIBEA"
        );
        assert_eq!(
            Command::decode(Bytes::from_static(b"\x06CANCELxy")),
            Ok(Command::Cancel(Bytes::from_static(b"xy")))
        );
        // Names are case-sensitive: "ready" is not READY.
        assert_eq!(
            Command::decode(Bytes::from_static(b"\x05readyabc")),
            Ok(Command::Unknown {
                name: Bytes::from_static(b"ready"),
                data: Bytes::from_static(b"abc"),
            })
        );
        // Trailing bytes after an ERROR reason are ignored.
        assert_eq!(
            Command::decode(Bytes::from_static(b"\x05ERROR\x02nozzz")),
            Ok(Command::Error {
                reason: Bytes::from_static(b"no")
            })
        );
    }

    #[test]
    fn long_error_reason_is_cut() {
        let cmd = Command::Error {
            reason: Bytes::from(vec![b'x'; 300]),
        };
        let bytes = encode(&cmd);
        assert_eq!(bytes.len(), cmd.encoded_len());
        assert_eq!(bytes.len(), 1 + 5 + 1 + 255);
    }

    #[test]
    fn push_rejects_bad_names() {
        let mut p = Properties::new();
        assert!(p.push("", "x").is_err());
        assert!(p.push(vec![b'a'; 256], "x").is_err());
        assert!(p.push(vec![b'a'; 255], "x").is_ok());
        assert_eq!(p.len(), 1);
    }

    fn bytes_up_to(n: usize) -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(any::<u8>(), 0..n).prop_map(Bytes::from)
    }

    fn properties() -> impl Strategy<Value = Properties> {
        proptest::collection::vec(
            (
                proptest::collection::vec(any::<u8>(), 1..=255).prop_map(Bytes::from),
                bytes_up_to(300),
            ),
            0..6,
        )
        .prop_map(|entries| {
            let mut p = Properties::new();
            for (n, v) in entries {
                p.push(n, v).expect("generated property is valid");
            }
            p
        })
    }

    fn command() -> impl Strategy<Value = Command> {
        let unknown_name = proptest::collection::vec(any::<u8>(), 1..=255)
            .prop_map(Bytes::from)
            .prop_filter("not a known command", |n| {
                ![READY, ERROR, PING, PONG, SUBSCRIBE, CANCEL, JOIN, LEAVE].contains(&&n[..])
            });
        prop_oneof![
            properties().prop_map(Command::Ready),
            bytes_up_to(256).prop_map(|reason| Command::Error { reason }),
            (any::<u16>(), bytes_up_to(40))
                .prop_map(|(ttl, context)| Command::Ping { ttl, context }),
            bytes_up_to(17).prop_map(|context| Command::Pong { context }),
            bytes_up_to(300).prop_map(Command::Subscribe),
            bytes_up_to(300).prop_map(Command::Cancel),
            bytes_up_to(256).prop_map(Command::Join),
            bytes_up_to(256).prop_map(Command::Leave),
            (unknown_name, bytes_up_to(300))
                .prop_map(|(name, data)| Command::Unknown { name, data }),
        ]
    }

    proptest! {
        #[test]
        fn command_round_trip(cmd in command()) {
            let mut buf = BytesMut::new();
            cmd.encode(&mut buf);
            prop_assert_eq!(buf.len(), cmd.encoded_len());
            prop_assert_eq!(Command::decode(buf.freeze()), Ok(cmd));
        }

        #[test]
        fn properties_round_trip(props in properties()) {
            let mut buf = BytesMut::new();
            props.encode(&mut buf);
            prop_assert_eq!(buf.len(), props.encoded_len());
            let bytes = buf.freeze();
            prop_assert_eq!(Properties::decode(bytes.clone()), Ok(props.clone()));
            // Any strict prefix that cuts a property is malformed.
            if !bytes.is_empty() {
                let cut = bytes.len() - 1;
                prop_assert_eq!(
                    Properties::decode(bytes.slice(..cut)),
                    Err(ProtocolError::MalformedMetadata)
                );
            }
        }

        #[test]
        fn decode_never_panics(body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Command::decode(Bytes::from(body.clone()));
            let _ = Properties::decode(Bytes::from(body));
        }
    }
}
