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
//! ```
//!
//! "[ask]" is [`Event::Authenticate`]: the handshake reads nothing more
//! until [`Connection::handle_auth`] brings the verdict (RFC 27: the
//! server "SHALL NOT ... continue the handshake until it receives the
//! reply"). A refusal goes to the peer as an ERROR whose reason is the
//! three-digit status code, as libzmq sends it, and a client that gets
//! such an ERROR reports [`ProtocolError::RefusedByPeer`].

use bytes::{BufMut, Bytes, BytesMut};

use super::command::{self, Properties};
use super::connection::{Connection, Event, State};
use super::mechanism::{AuthReply, AuthRequest, Mechanism};
use crate::ProtocolError;

const HELLO: &[u8] = b"HELLO";
const WELCOME: &[u8] = b"WELCOME";
const INITIATE: &[u8] = b"INITIATE";

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
}

impl Step {
    /// Whether the handshake waits for [`Connection::handle_auth`].
    pub(super) fn awaits_auth(&self) -> bool {
        matches!(self, Step::NullAuth | Step::PlainAuth)
    }

    fn is_client(&self) -> bool {
        matches!(self, Step::PlainWelcome | Step::PlainReady)
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
        }
    }

    /// One command frame during the handshake.
    pub(super) fn on_handshake_command(
        &mut self,
        body: Bytes,
    ) -> Result<Option<Event>, ProtocolError> {
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
            return Err(handshake_error(step.is_client(), &data));
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
        let step = match &self.state {
            State::Handshake {
                step: Step::NullAuth,
                ..
            } => {
                let ready = self.our_ready();
                self.send_command(&ready);
                Step::NullReady
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
    fn finish(&mut self, mut peer: super::PeerInfo, approved: Option<AuthReply>) -> Event {
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

/// An ERROR during the handshake. A client refused by the server's
/// authenticator gets the ZAP status code as reason (libzmq sends
/// "300", "400" or "500").
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
