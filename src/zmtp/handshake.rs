//! The security handshake of a [`Connection`], between the greeting and
//! the first message: NULL (RFC 37), PLAIN (RFC 24) and CURVE (RFC 26),
//! each in its client or server role.
//!
//! Every mechanism ends the same way, with both peers' metadata
//! exchanged (NULL's READY both ways; PLAIN's INITIATE and READY; CURVE's
//! boxed INITIATE and READY), and the same checks then apply to the
//! peer's `Socket-Type`. The steps, one [`Step`] each:
//!
//! ```text
//! NULL          READY ─▶ ◀─ READY            (with a ZAP domain: ask first)
//! PLAIN client  HELLO ─▶ ◀─ WELCOME  INITIATE ─▶ ◀─ READY
//! PLAIN server  ◀─ HELLO  [ask]  WELCOME ─▶ ◀─ INITIATE  READY ─▶
//! CURVE client  HELLO ─▶ ◀─ WELCOME  INITIATE ─▶ ◀─ READY
//! CURVE server  ◀─ HELLO  WELCOME ─▶ ◀─ INITIATE  [ask]  READY ─▶
//! ```
//!
//! CURVE's boxes, keys and nonces are `curve`'s; once its handshake is
//! done the connection boxes every frame with the `CurveCodec` it
//! returned.
//!
//! "[ask]" is [`Event::Authenticate`]: the handshake reads nothing more
//! until [`Connection::handle_auth`] brings the verdict (RFC 27: the
//! server "SHALL NOT ... continue the handshake until it receives the
//! reply"). A refusal goes to the peer as an ERROR whose reason is the
//! three-digit status code, as libzmq sends it, and a client (or a NULL
//! peer) that gets such an ERROR reports [`ProtocolError::RefusedByPeer`].

use bytes::{BufMut, Bytes, BytesMut};

use super::command::{self, Properties};
use super::connection::{Connection, Event, PeerInfo, State};
use super::curve::{CurveClient, CurveCodec, CurveServer};
use super::mechanism::{AuthReply, AuthRequest, Mechanism};
use crate::ProtocolError;

const HELLO: &[u8] = b"HELLO";
const WELCOME: &[u8] = b"WELCOME";
const INITIATE: &[u8] = b"INITIATE";
/// How libzmq 4.3's PLAIN server starts an ERROR body (see
/// `on_handshake_command`).
const LIBZMQ_PLAIN_ERROR: &[u8] = b"\x5eRROR";

/// Where a handshake stands: what it waits for next.
#[derive(Debug)]
pub(super) enum Step {
    /// NULL: our READY is sent; the peer's is awaited.
    NullReady,
    /// NULL with a ZAP domain: the verdict is awaited before our READY.
    NullAuth,
    /// PLAIN client: HELLO sent, WELCOME awaited.
    PlainWelcome,
    /// PLAIN client: INITIATE sent, READY awaited.
    PlainReady,
    /// PLAIN server: HELLO awaited.
    PlainHello,
    /// PLAIN server: the verdict on HELLO's credentials is awaited.
    PlainAuth,
    /// PLAIN server: WELCOME sent, INITIATE awaited.
    PlainInitiate,
    /// CURVE client: HELLO sent, WELCOME awaited.
    CurveWelcome(Box<CurveClient>),
    /// CURVE client: INITIATE sent, READY awaited.
    CurveReady(Box<CurveClient>),
    /// CURVE server: HELLO awaited.
    CurveHello(Box<CurveServer>),
    /// CURVE server: WELCOME sent, INITIATE awaited.
    CurveInitiate(Box<CurveServer>),
    /// CURVE server: the verdict on INITIATE's client key is awaited; the
    /// client (its metadata checked) is kept for then.
    CurveAuth(Box<CurveServer>, Box<PeerInfo>),
    /// The handshake finished inside [`Connection::handle_auth`]: the
    /// next `handle_input` reports [`Event::Established`].
    Done(Box<PeerInfo>),
}

impl Step {
    /// Whether the handshake waits for [`Connection::handle_auth`].
    pub(super) fn awaits_auth(&self) -> bool {
        matches!(self, Step::NullAuth | Step::PlainAuth | Step::CurveAuth(..))
    }

    /// Whether an ERROR with a ZAP status code means the peer's
    /// authenticator refused us: a PLAIN or CURVE client, or a NULL peer
    /// (libzmq's `null_mechanism_t::process_error_command` reads the
    /// status too, `mechanism_base_t::handle_error_reason`).
    fn may_be_refused(&self) -> bool {
        matches!(
            self,
            Step::NullReady
                | Step::PlainWelcome
                | Step::PlainReady
                | Step::CurveWelcome(_)
                | Step::CurveReady(_)
        )
    }
}

impl Connection {
    /// After the peer's greeting: queues our first handshake command and
    /// returns the first step, with the event to report (NULL with a ZAP
    /// domain asks at once).
    pub(super) fn first_step(&mut self) -> (Step, Option<Event>) {
        match &self.config.mechanism {
            Mechanism::Null if self.config.zap => (
                Step::NullAuth,
                Some(Event::Authenticate(AuthRequest {
                    mechanism: "NULL",
                    credentials: Vec::new(),
                })),
            ),
            Mechanism::Null => {
                let ready = self.our_ready();
                self.send_command(&ready);
                (Step::NullReady, None)
            }
            Mechanism::PlainClient { username, password } => {
                // RFC 24: "hello = command-size %d5 "HELLO" username password";
                // "username = OCTET 0*255username-char" (length first).
                let mut data = BytesMut::with_capacity(2 + username.len() + password.len());
                for field in [username, password] {
                    let len = field.len().min(255);
                    data.put_u8(len as u8);
                    data.put_slice(&field[..len]);
                }
                self.send_raw_command(HELLO, &data);
                (Step::PlainWelcome, None)
            }
            Mechanism::PlainServer => (Step::PlainHello, None),
            Mechanism::CurveClient { keys, server_key } => {
                let mut client = Box::new(CurveClient::new(keys, server_key));
                let mut body = BytesMut::new();
                client.hello(&mut body);
                self.send_command_body(&body);
                (Step::CurveWelcome(client), None)
            }
            Mechanism::CurveServer { keys } => {
                (Step::CurveHello(Box::new(CurveServer::new(keys))), None)
            }
        }
    }

    /// The handshake that finished in `handle_auth`, reported now.
    pub(super) fn take_done(&mut self) -> Option<Event> {
        let State::Handshake {
            step: Step::Done(_),
            ..
        } = &self.state
        else {
            return None;
        };
        let State::Handshake {
            step: Step::Done(peer),
            approved,
            ..
        } = std::mem::replace(&mut self.state, State::Greeting)
        else {
            return None;
        };
        Some(self.finish(*peer, approved))
    }

    /// One command frame during the handshake.
    pub(super) fn on_handshake_command(
        &mut self,
        body: Bytes,
    ) -> Result<Option<Event>, ProtocolError> {
        // libzmq 4.3's PLAIN server spells its ERROR name "\x05ERROR" in
        // C, where the hex escape swallows the E: on the wire the body
        // starts 0x5E "RROR" (plain_common.hpp). Read that as ERROR, so a
        // refusal by libzmq is reported as one.
        if let Some(reason) = body.strip_prefix(LIBZMQ_PLAIN_ERROR) {
            let client =
                matches!(&self.state, State::Handshake { step, .. } if step.may_be_refused());
            return Err(handshake_error(client, reason));
        }
        let (name, data) = command::split(body)?;
        // The state is taken out while the command is handled; every
        // path below puts a new one back or fails (and handle_input then
        // enters Failed).
        let State::Handshake {
            minor_version,
            step,
            approved,
        } = std::mem::replace(&mut self.state, State::Greeting)
        else {
            return Ok(None);
        };
        if name[..] == *command::ERROR {
            // "The peer SHALL treat an incoming ERROR command as fatal".
            return Err(handshake_error(step.may_be_refused(), &data));
        }
        let next = |step| State::Handshake {
            minor_version,
            step,
            approved: None,
        };
        match (step, &name[..]) {
            (Step::NullReady | Step::PlainReady, command::READY) => {
                let props = Properties::decode(data)?;
                let peer = self.check_ready(minor_version, props)?;
                Ok(Some(self.finish(peer, approved)))
            }
            (Step::PlainWelcome, WELCOME) => {
                // RFC 24: "welcome = command-size %d7 "WELCOME"" (nothing
                // after the name; libzmq refuses anything more).
                if !data.is_empty() {
                    return Err(ProtocolError::MalformedCommand {
                        reason: "WELCOME with a body",
                    });
                }
                let meta = self.our_metadata();
                self.send_metadata_command(INITIATE, &meta);
                self.transition(next(Step::PlainReady));
                Ok(None)
            }
            (Step::PlainHello, HELLO) => {
                let credentials = parse_plain_hello(&data)?;
                self.transition(next(Step::PlainAuth));
                Ok(Some(Event::Authenticate(AuthRequest {
                    mechanism: "PLAIN",
                    credentials,
                })))
            }
            (Step::PlainInitiate, INITIATE) => {
                let props = Properties::decode(data)?;
                let peer = self.check_ready(minor_version, props)?;
                let meta = self.our_metadata();
                self.send_metadata_command(command::READY, &meta);
                Ok(Some(self.finish(peer, approved)))
            }
            (Step::CurveWelcome(mut client), WELCOME) => {
                let meta = self.our_metadata();
                let mut body = BytesMut::new();
                client.on_welcome(&data, &meta, &mut body)?;
                self.send_command_body(&body);
                self.transition(next(Step::CurveReady(client)));
                Ok(None)
            }
            (Step::CurveReady(mut client), command::READY) => {
                let (props, codec) = client.on_ready(&data)?;
                let peer = self.check_ready(minor_version, props)?;
                self.codec = Some(Box::new(codec));
                Ok(Some(self.finish(peer, approved)))
            }
            (Step::CurveHello(mut server), HELLO) => {
                let mut body = BytesMut::new();
                server.on_hello(&data, &mut body)?;
                self.send_command_body(&body);
                self.transition(next(Step::CurveInitiate(server)));
                Ok(None)
            }
            (Step::CurveInitiate(mut server), INITIATE) => {
                let (client_key, props) = server.on_initiate(&data)?;
                // The socket types are checked before the authenticator
                // is asked (libzmq parses the metadata first too).
                let peer = self.check_ready(minor_version, props)?;
                self.transition(next(Step::CurveAuth(server, Box::new(peer))));
                Ok(Some(Event::Authenticate(AuthRequest {
                    mechanism: "CURVE",
                    credentials: vec![Bytes::copy_from_slice(client_key.as_bytes())],
                })))
            }
            _ => Err(ProtocolError::UnexpectedCommand {
                name: String::from_utf8_lossy(&name).into_owned(),
            }),
        }
    }

    /// Takes the authenticator's verdict on the request reported by
    /// [`Event::Authenticate`]. A refusal queues an ERROR (with the
    /// status code as reason, as libzmq) and fails the connection with
    /// [`ProtocolError::CredentialsRefused`]; after success the handshake
    /// goes on, so call [`Connection::handle_input`] again. Does nothing
    /// when no verdict is awaited.
    pub fn handle_auth(&mut self, reply: AuthReply) -> Result<(), ProtocolError> {
        let minor_version = match &self.state {
            State::Handshake {
                minor_version,
                step,
                ..
            } if step.awaits_auth() => *minor_version,
            _ => {
                log::debug!("zmtp: authentication verdict while none was awaited");
                return Ok(());
            }
        };
        if !reply.is_success() {
            let code = reply.status_code.min(999);
            self.send_command(&command::Command::Error {
                reason: Bytes::from(format!("{code:03}")),
            });
            let e = ProtocolError::CredentialsRefused {
                status_code: reply.status_code,
                text: reply.status_text,
            };
            self.transition(State::Failed(e.clone()));
            return Err(e);
        }
        let State::Handshake { step, .. } = std::mem::replace(&mut self.state, State::Greeting)
        else {
            return Ok(());
        };
        let step = match step {
            Step::NullAuth => {
                let ready = self.our_ready();
                self.send_command(&ready);
                Step::NullReady
            }
            Step::CurveAuth(mut server, peer) => {
                let meta = self.our_metadata();
                let mut body = BytesMut::new();
                let codec: CurveCodec = server.ready(&meta, &mut body);
                self.send_command_body(&body);
                self.codec = Some(Box::new(codec));
                Step::Done(peer)
            }
            _ => {
                self.send_raw_command(WELCOME, &[]);
                Step::PlainInitiate
            }
        };
        self.transition(State::Handshake {
            minor_version,
            step,
            approved: Some(reply),
        });
        Ok(())
    }

    /// Adds what the authenticator said (user id, metadata) to the peer
    /// and enters `Established`.
    fn finish(&mut self, mut peer: PeerInfo, approved: Option<AuthReply>) -> Event {
        if let Some(reply) = approved {
            peer.user_id = reply.user_id;
            for (name, value) in reply.metadata.iter() {
                if let Err(e) = peer.properties.push(name.clone(), value.clone()) {
                    log::debug!("zmtp: authenticator metadata not kept: {e}");
                }
            }
        }
        self.transition(State::Established {
            peer: peer.clone(),
            partial: Default::default(),
        });
        Event::Established(peer)
    }

    /// Our metadata, as NULL's READY carries it and PLAIN's INITIATE and
    /// READY do.
    pub(super) fn our_metadata(&self) -> Properties {
        match self.our_ready() {
            command::Command::Ready(props) => props,
            _ => Properties::new(),
        }
    }

    fn send_metadata_command(&mut self, name: &[u8], meta: &Properties) {
        let mut data = BytesMut::with_capacity(meta.encoded_len());
        meta.encode(&mut data);
        self.send_raw_command(name, &data);
    }
}

/// RFC 24: "hello = command-size %d5 "HELLO" username password", each
/// "OCTET 0*255char" (length first); libzmq refuses trailing octets.
fn parse_plain_hello(data: &[u8]) -> Result<Vec<Bytes>, ProtocolError> {
    let malformed = |reason| Err(ProtocolError::MalformedCommand { reason });
    let mut rest = data;
    let mut fields = Vec::with_capacity(2);
    for _ in 0..2 {
        let Some((&len, tail)) = rest.split_first() else {
            return malformed("HELLO cut short");
        };
        let len = usize::from(len);
        if tail.len() < len {
            return malformed("HELLO cut short");
        }
        fields.push(Bytes::copy_from_slice(&tail[..len]));
        rest = &tail[len..];
    }
    if !rest.is_empty() {
        return malformed("HELLO with trailing octets");
    }
    Ok(fields)
}

/// An ERROR during the handshake. A client (or NULL peer) refused by the
/// other side's authenticator gets the ZAP status code as reason (libzmq
/// sends "300", "400" or "500").
fn handshake_error(client: bool, data: &[u8]) -> ProtocolError {
    let reason = match data.split_first() {
        Some((&len, rest)) => &rest[..usize::from(len).min(rest.len())],
        None => &[][..],
    };
    if client && let [a @ b'3'..=b'5', b'0'..=b'9', b'0'..=b'9'] = reason {
        let status_code = u16::from(a - b'0') * 100
            + u16::from(reason[1] - b'0') * 10
            + u16::from(reason[2] - b'0');
        return ProtocolError::RefusedByPeer { status_code };
    }
    ProtocolError::PeerError {
        reason: String::from_utf8_lossy(reason).into_owned(),
    }
}
