//! The per-connection ZMTP state machine.
//!
//! States, in order (one enum, [`State`]; every change goes through
//! `Connection::transition`, which logs `old -> new` at trace level):
//!
//! ```text
//! Greeting ──peer greeting ok──▶ Handshake ──peer READY ok──▶ Established
//!     └───────────────┴──────────── any protocol error ──────────┴──▶ Failed
//! ```
//!
//! - `Greeting`: our whole greeting is queued at construction (libzmq
//!   waits for parts of ours before sending the rest of its own, so ours
//!   must not wait for theirs); the peer's is parsed as it arrives.
//! - `Handshake`: the peer's greeting was accepted (same mechanism as
//!   ours); the security handshake runs, one step at a time (the
//!   `handshake` module: NULL, PLAIN, CURVE). Only that mechanism's
//!   commands, or ERROR, may come now; no messages.
//! - `Established`: "A peer MAY start to send messages immediately after
//!   completing its handshake, that is, having both sent and received a
//!   READY command." Messages and commands flow; the partial multipart
//!   message being received lives in this state.
//! - `Failed`: terminal; every later `handle_input` returns the error.
//!
//! Ownership: the connection owns nothing of the stream. It takes bytes
//! from the front of the engine's input buffer only when a whole unit
//! (the 64-octet greeting, or a whole frame) is there, and slices frame
//! bodies out of it without copying. It never allocates for a size the
//! peer announced: a frame is taken only once all its octets are present,
//! and every limit is checked at the frame header, before its body is
//! needed:
//!
//! - a message's total size against `max_msg_size`, and any frame against
//!   RFC 37's ceiling of 2^63-1 octets ([`MAX_FRAME_SIZE`]);
//! - a message's frame count against `max_frames` (default
//!   [`DEFAULT_MAX_FRAMES`]): without it, a flood of empty frames with
//!   MORE costs the peer 2 octets a frame and us about 32 (one `Bytes`
//!   in the partial message), an amplification of 16 with no end;
//! - commands before the handshake against
//!   [`HANDSHAKE_COMMAND_LIMIT`] whatever the options say, since the
//!   peer has not even said who it is yet.
//!
//! What the connection queues in reply to input is bounded too: READY and
//! ERROR once each, and a PONG per PING only while less than
//! [`MAX_PONG_BACKLOG`] octets wait to be written, so a peer that sends
//! PINGs and never reads cannot make the transmit queue grow without end.

use std::fmt;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};

use super::Decoded;
use super::command::{self, Command, Properties};
use super::curve::CurveCodec;
use super::frame::FrameHeader;
use super::greeting::{self, Greeting};
use super::handshake::Step;
use super::heartbeat::{Heartbeat, HeartbeatConfig, Tick};
use super::mechanism::{AuthReply, AuthRequest, Mechanism};
use super::transmit::TransmitQueue;
use crate::{Message, ProtocolError, SocketType};

/// Commands after the handshake are not messages, so `max_msg_size`
/// limits them only down to this floor: a small message limit must not
/// break subscriptions (libzmq applies the limit to commands as well, so
/// a tiny limit there refuses READY). With no limit, they have only RFC
/// 37's ceiling ([`MAX_FRAME_SIZE`]); handshake commands have their own
/// ([`HANDSHAKE_COMMAND_LIMIT`]).
pub const MIN_COMMAND_LIMIT: u64 = 64 * 1024;

/// RFC 37: "A long frame has a body of 0 to 2^63-1 octets." A larger
/// size is refused at its header whatever `max_msg_size` says (no Rust
/// allocation could hold it anyway: that is `isize::MAX` on 64-bit
/// targets).
pub const MAX_FRAME_SIZE: u64 = (1 << 63) - 1;

/// The largest command accepted before the handshake is done (READY,
/// ERROR), whatever `max_msg_size` says: an unidentified peer must not
/// make us buffer more. libzmq's READY is under 300 octets; this leaves
/// ample room for application metadata.
pub const HANDSHAKE_COMMAND_LIMIT: u64 = 64 * 1024;

/// The default of [`Config::max_frames`]. A frame in a message being
/// received costs about 32 octets of memory (its `Bytes` handle) while
/// it may cost the peer only 2 on the wire, so an unlimited count turns
/// a flood of empty frames into 16 times as much memory; 65,536 frames
/// (at most 2 MiB of handles) is far more than applications use.
pub const DEFAULT_MAX_FRAMES: usize = 65_536;

/// A PING is answered only while less than this many octets wait to be
/// written to the peer. A peer that sends PINGs and never reads would
/// otherwise make the PONGs pile up without end; a peer that does read
/// gets this much traffic first anyway, and RFC 37 has it "treat any
/// incoming traffic (not just a PONG reply) as a sign of life".
pub const MAX_PONG_BACKLOG: usize = 64 * 1024;

/// The reason sent in the ERROR command before refusing a peer whose
/// socket type does not pair with ours (RFC 37: "it SHOULD handle errors
/// by returning an ERROR command, and then disconnecting the peer").
const INCOMPATIBLE_REASON: &[u8] = b"incompatible socket type";

/// What a connection needs to know about its own socket.
///
/// ```
/// use brokerless::SocketType;
/// use brokerless::zmtp::{Config, Connection, DEFAULT_MAX_FRAMES};
///
/// let config = Config {
///     routing_id: "worker-1".into(),
///     max_msg_size: Some(1024 * 1024),
///     ..Config::new(SocketType::Dealer)
/// };
/// assert_eq!(config.max_frames, Some(DEFAULT_MAX_FRAMES));
/// assert!(config.heartbeat.is_none() && !config.zap);
///
/// // A new connection has queued its 64-octet greeting, nothing else.
/// let conn = Connection::new(config);
/// assert_eq!(conn.transmit().len(), 64);
/// assert!(!conn.is_established() && !conn.secured());
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    /// Our socket type, sent as `Socket-Type` in READY and checked
    /// against the peer's.
    pub socket_type: SocketType,
    /// Our routing id, sent as `Identity` only when
    /// [`SocketType::sends_identity`] (RFC 37: `identity = 0*255OCTET`;
    /// the options layer keeps it within 255 octets).
    pub routing_id: Bytes,
    /// The largest message accepted, as the sum of its frame sizes
    /// (`None`: unlimited). Checked at each frame header, before anything
    /// is taken from the input.
    pub max_msg_size: Option<u64>,
    /// The most frames a message may have (`None`: unlimited). Checked at
    /// each frame header, before its body is taken. [`Config::new`] sets
    /// [`DEFAULT_MAX_FRAMES`].
    pub max_frames: Option<usize>,
    /// Heartbeats (PING/PONG timers); `None`: none sent, but received
    /// PINGs are still answered and their TTL honoured.
    pub heartbeat: Option<HeartbeatConfig>,
    /// The security mechanism, role and credentials (default NULL).
    pub mechanism: Mechanism,
    /// Whether a NULL handshake asks the authenticator first (the socket
    /// has a ZAP domain, as in libzmq). PLAIN and CURVE servers always
    /// ask.
    pub zap: bool,
}

impl Config {
    /// A configuration with an empty routing id, no size limit and the
    /// default frame limit ([`DEFAULT_MAX_FRAMES`]).
    pub fn new(socket_type: SocketType) -> Config {
        Config {
            socket_type,
            routing_id: Bytes::new(),
            max_msg_size: None,
            max_frames: Some(DEFAULT_MAX_FRAMES),
            heartbeat: None,
            mechanism: Mechanism::Null,
            zap: false,
        }
    }
}

/// What the handshake told us about the peer.
///
/// Here the peer's bytes are written by hand: a DEALER's greeting and
/// its READY with an `Identity`.
///
/// ```
/// use brokerless::SocketType;
/// use brokerless::zmtp::command::{IDENTITY, SOCKET_TYPE};
/// use brokerless::zmtp::frame::FrameHeader;
/// use brokerless::zmtp::greeting::Greeting;
/// use brokerless::zmtp::{Command, Config, Connection, Event, Properties};
/// use bytes::BytesMut;
///
/// let mut props = Properties::new();
/// props.push(SOCKET_TYPE, "DEALER")?;
/// props.push(IDENTITY, "client-7")?;
/// let ready = Command::Ready(props);
/// let mut input = BytesMut::new();
/// Greeting::null().encode(&mut input);
/// FrameHeader::command(ready.encoded_len() as u64).encode(&mut input);
/// ready.encode(&mut input);
///
/// let mut router = Connection::new(Config::new(SocketType::Router));
/// let Some(Event::Established(peer)) = router.handle_input(&mut input)? else {
///     panic!("the handshake should be done");
/// };
/// assert_eq!(peer.socket_type, SocketType::Dealer);
/// assert_eq!(peer.routing_id, "client-7");
/// assert_eq!(peer.minor_version, 1);
/// assert_eq!(peer.properties.get("identity"), Some(&peer.routing_id));
/// assert!(peer.user_id.is_empty()); // no authenticator was asked
/// assert_eq!(router.peer(), Some(&peer));
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's socket type (its `Socket-Type` property).
    pub socket_type: SocketType,
    /// The peer's `Identity` property, empty if absent.
    pub routing_id: Bytes,
    /// 0 for a ZMTP 3.0 peer, 1 for 3.1 (a higher version counts as 1).
    pub minor_version: u8,
    /// Every metadata property, as received (READY, or PLAIN's and
    /// CURVE's INITIATE or READY), then any the authenticator added.
    pub properties: Properties,
    /// The user id the authenticator gave this peer (RFC 27), empty if
    /// none or if no authenticator was asked.
    pub user_id: Bytes,
}

/// What [`Connection::handle_input`] reports.
///
/// A PULL connection fed what a PUSH peer sends (its greeting, its READY,
/// then a message) reports the end of the handshake, then the message:
///
/// ```
/// use brokerless::zmtp::command::SOCKET_TYPE;
/// use brokerless::zmtp::frame::FrameHeader;
/// use brokerless::zmtp::greeting::Greeting;
/// use brokerless::zmtp::{Command, Config, Connection, Event, Properties};
/// use brokerless::{Message, SocketType};
/// use bytes::BytesMut;
///
/// let mut props = Properties::new();
/// props.push(SOCKET_TYPE, "PUSH")?;
/// let ready = Command::Ready(props);
/// let mut input = BytesMut::new();
/// Greeting::null().encode(&mut input);
/// FrameHeader::command(ready.encoded_len() as u64).encode(&mut input);
/// ready.encode(&mut input);
/// FrameHeader::message(2, false).encode(&mut input);
/// input.extend_from_slice(b"hi");
///
/// let mut pull = Connection::new(Config::new(SocketType::Pull));
/// let mut events = Vec::new();
/// while let Some(event) = pull.handle_input(&mut input)? {
///     events.push(event);
/// }
/// assert!(matches!(&events[0], Event::Established(peer) if peer.socket_type == SocketType::Push));
/// assert_eq!(events[1], Event::Message(Message::from("hi")));
/// assert_eq!(events.len(), 2);
/// assert!(input.is_empty());
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The handshake is done: messages may now be sent and will be
    /// received.
    Established(PeerInfo),
    /// One whole multipart message; its frames are slices of the input.
    Message(Message),
    /// A command after the handshake that the engine or socket may care
    /// about: SUBSCRIBE, CANCEL, JOIN, LEAVE, PING (its PONG is already
    /// queued, unless [`MAX_PONG_BACKLOG`] octets were waiting) or PONG.
    /// Unknown commands are ignored and not reported.
    Command(Command),
    /// The handshake needs the authenticator's verdict on this peer: no
    /// more input is taken until [`Connection::handle_auth`] brings it.
    Authenticate(AuthRequest),
}

/// The frames received so far of a multipart message.
#[derive(Debug, Default)]
pub(super) struct Partial {
    /// Frames that had MORE set (at most `max_frames - 1`).
    frames: Vec<Bytes>,
    /// Sum of their sizes, for the `max_msg_size` check.
    size: u64,
}

impl Partial {
    /// Adds a frame; returns the whole message when it was the last one.
    fn push(&mut self, frame: Bytes, more: bool) -> Option<Message> {
        if more {
            self.size = self.size.saturating_add(frame.len() as u64);
            self.frames.push(frame);
            return None;
        }
        self.size = 0;
        if self.frames.is_empty() {
            // The common single-frame message: no Vec at all.
            return Some(Message::from(frame));
        }
        self.frames.push(frame);
        Some(Message::from(std::mem::take(&mut self.frames)))
    }
}

/// The connection's state; each variant carries only its own data.
#[derive(Debug)]
pub(super) enum State {
    /// Our greeting is queued; waiting for the peer's.
    Greeting,
    /// The peer's greeting was accepted; the security handshake runs.
    Handshake {
        /// The peer's minor version (0 or 1) from its greeting.
        minor_version: u8,
        /// What the handshake waits for.
        step: Step,
        /// The authenticator's verdict, once it approved the peer.
        approved: Option<AuthReply>,
    },
    /// Traffic flows.
    Established {
        /// The peer, as its READY described it.
        peer: PeerInfo,
        /// The multipart message being received.
        partial: Partial,
    },
    /// A protocol error ended the connection.
    Failed(ProtocolError),
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Greeting => f.write_str("greeting"),
            State::Handshake {
                minor_version,
                step,
                ..
            } => write!(f, "handshake (ZMTP 3.{minor_version}, {step:?})"),
            State::Established { peer, .. } => write!(f, "established ({})", peer.socket_type),
            State::Failed(e) => write!(f, "failed ({e})"),
        }
    }
}

/// One ZMTP connection, without I/O.
///
/// Call order, for the engine:
/// 1. [`Connection::new`] queues our greeting: write out
///    [`Connection::transmit_mut`] whenever it is not empty (with
///    `io_slices`, then `advance` by what was written).
/// 2. After each read, call [`Connection::handle_input`] with the input
///    buffer until it returns `Ok(None)` (more bytes needed;
///    [`Connection::read_hint`] says how many), handling each event; it
///    may stop early (back-pressure) and call again later. Input handling
///    may queue bytes (READY, PONG, ERROR), so check the transmit queue
///    after it.
/// 3. After [`Event::Established`], [`Connection::send`] and
///    [`Connection::send_command`] queue outgoing traffic.
/// 4. On `Err`, flush what is queued if convenient (an ERROR may be
///    there) and close; the error is sticky.
///
/// # Example
///
/// A whole NULL handshake between a DEALER and a ROUTER in memory, the
/// bytes each queues going straight into the other's input, then a
/// message from the DEALER to the ROUTER:
///
/// ```
/// use std::io::IoSlice;
///
/// use brokerless::zmtp::{Config, Connection, Event};
/// use brokerless::{Message, SocketType};
/// use bytes::BytesMut;
///
/// /// Writes all that `from` has queued into `to`, as a stream would.
/// fn shuttle(from: &mut Connection, to: &mut BytesMut) {
///     while !from.transmit().is_empty() {
///         let mut slices = [IoSlice::new(&[]); 4];
///         let n = from.transmit().io_slices(&mut slices);
///         let written: usize = slices[..n].iter().map(|s| s.len()).sum();
///         slices[..n].iter().for_each(|s| to.extend_from_slice(s));
///         from.transmit_mut().advance(written);
///     }
/// }
///
/// let mut dealer = Connection::new(Config::new(SocketType::Dealer));
/// let mut router = Connection::new(Config::new(SocketType::Router));
/// let (mut to_dealer, mut to_router) = (BytesMut::new(), BytesMut::new());
/// let mut established = 0;
/// while established < 2 {
///     shuttle(&mut dealer, &mut to_router);
///     shuttle(&mut router, &mut to_dealer);
///     for (conn, input) in [(&mut dealer, &mut to_dealer), (&mut router, &mut to_router)] {
///         while let Some(event) = conn.handle_input(input)? {
///             assert!(matches!(event, Event::Established(_)));
///             established += 1;
///         }
///     }
/// }
/// assert_eq!(router.peer().map(|p| p.socket_type), Some(SocketType::Dealer));
///
/// dealer.send(&Message::from("hello"));
/// shuttle(&mut dealer, &mut to_router);
/// let event = router.handle_input(&mut to_router)?;
/// assert_eq!(event, Some(Event::Message(Message::from("hello"))));
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Debug)]
pub struct Connection {
    pub(super) config: Config,
    pub(super) state: State,
    transmit: TransmitQueue,
    /// Octets still missing from the unit being parsed, as found by the
    /// last `handle_input` that returned `Ok(None)`.
    read_hint: usize,
    /// PING/PONG timers, fed by the frames decoded.
    heartbeat: Heartbeat,
    /// CURVE, once its handshake is done: every frame is boxed in a
    /// MESSAGE both ways.
    pub(super) codec: Option<Box<CurveCodec>>,
}

impl Connection {
    /// A new connection, with our whole 64-octet greeting already queued
    /// (ZMTP 3.1, our mechanism, as-server 1 for a PLAIN or CURVE server).
    pub fn new(config: Config) -> Connection {
        let mut transmit = TransmitQueue::new();
        Greeting {
            mechanism: config.mechanism.greeting_field(),
            as_server: config.mechanism.is_server(),
            ..Greeting::null()
        }
        .encode(transmit.staging());
        Connection {
            heartbeat: Heartbeat::new(config.heartbeat),
            config,
            state: State::Greeting,
            transmit,
            read_hint: 0,
            codec: None,
        }
    }

    /// Consumes complete units from the front of `input` (the greeting,
    /// whole frames) and returns the next event, `Ok(None)` when more
    /// bytes are needed (partial units stay in `input`), or the protocol
    /// error that kills the connection. Call it in a loop until
    /// `Ok(None)`. After an `Err`, every call returns an `Err` again.
    pub fn handle_input(&mut self, input: &mut BytesMut) -> Result<Option<Event>, ProtocolError> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        self.read_hint = 0;
        let result = self.step(input);
        if let Err(e) = &result {
            self.transition(State::Failed(e.clone()));
        }
        result
    }

    /// Advances the heartbeat timers to `now`: may queue a PING, and fails
    /// with [`ProtocolError::HeartbeatTimeout`] when the peer has been
    /// silent past a deadline. Call it after handling input and whenever
    /// [`Connection::poll_timeout`] has passed. Does nothing before the
    /// handshake is done.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ProtocolError> {
        if !self.is_established() {
            return Ok(());
        }
        match self.heartbeat.tick(now) {
            Tick::Idle => Ok(()),
            Tick::SendPing(ttl) => {
                self.send_command(&Command::Ping {
                    ttl,
                    context: Bytes::new(),
                });
                Ok(())
            }
            Tick::Expired => {
                let e = ProtocolError::HeartbeatTimeout;
                self.transition(State::Failed(e.clone()));
                Err(e)
            }
        }
    }

    /// When [`Connection::handle_timeout`] next has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_established() {
            self.heartbeat.next_deadline()
        } else {
            None
        }
    }

    /// How many more input octets are needed to complete the unit being
    /// parsed (a hint for how much to reserve; may be huge for a hostile
    /// frame size, so cap it). 0 if unknown or none.
    pub fn read_hint(&self) -> usize {
        self.read_hint
    }

    /// Queues every frame of `msg` (MORE on all but the last). Only valid
    /// once [`Event::Established`] was returned, and `msg` must have at
    /// least one frame.
    pub fn send(&mut self, msg: &Message) {
        debug_assert!(self.is_established(), "send before the handshake finished");
        debug_assert!(!msg.is_empty(), "a message needs at least one frame");
        let frames = msg.frames();
        let last = frames.len().saturating_sub(1);
        if let Some(codec) = &mut self.codec {
            for (i, frame) in frames.iter().enumerate() {
                codec.encrypt(i < last, false, frame, self.transmit.staging());
            }
            return;
        }
        for (i, frame) in frames.iter().enumerate() {
            FrameHeader::message(frame.len() as u64, i < last).encode(self.transmit.staging());
            self.transmit.push_body(frame);
        }
    }

    /// Queues a subscription change in the form the peer's version asks
    /// for: a SUBSCRIBE or CANCEL command for ZMTP 3.1, the 1/0-prefixed
    /// message for 3.0 (RFC 37: "a ZMTP 3.0 peer ... sends subscriptions
    /// as messages"). Only valid once established.
    pub fn send_subscription(&mut self, sub: &super::Subscription) {
        let minor = self.peer().map_or(1, |p| p.minor_version);
        if minor == 0 {
            self.send(&sub.to_message());
        } else if sub.subscribe {
            self.send_command(&Command::Subscribe(sub.topic.clone()));
        } else {
            self.send_command(&Command::Cancel(sub.topic.clone()));
        }
    }

    /// Queues a command frame (SUBSCRIBE, PING, ...).
    pub fn send_command(&mut self, cmd: &Command) {
        if let Some(codec) = &mut self.codec {
            let mut body = BytesMut::with_capacity(cmd.encoded_len());
            cmd.encode(&mut body);
            codec.encrypt(false, true, &body, self.transmit.staging());
            return;
        }
        let buf = self.transmit.staging();
        FrameHeader::command(cmd.encoded_len() as u64).encode(buf);
        cmd.encode(buf);
    }

    /// Queues a command frame around a whole command body (CURVE's
    /// handshake commands, which `curve` writes).
    pub(super) fn send_command_body(&mut self, body: &[u8]) {
        let buf = self.transmit.staging();
        FrameHeader::command(body.len() as u64).encode(buf);
        buf.extend_from_slice(body);
    }

    /// Queues a command frame from its name and data (handshake commands).
    pub(super) fn send_raw_command(&mut self, name: &[u8], data: &[u8]) {
        let buf = self.transmit.staging();
        FrameHeader::command((1 + name.len() + data.len()) as u64).encode(buf);
        command::encode_raw(name, data, buf);
    }

    /// The bytes waiting to be written to the peer.
    pub fn transmit(&self) -> &TransmitQueue {
        &self.transmit
    }

    /// The bytes waiting to be written, to `advance` after a write.
    pub fn transmit_mut(&mut self) -> &mut TransmitQueue {
        &mut self.transmit
    }

    /// Whether the handshake is done and the connection has not failed.
    pub fn is_established(&self) -> bool {
        matches!(self.state, State::Established { .. })
    }

    /// The peer, once established (and until a failure).
    pub fn peer(&self) -> Option<&PeerInfo> {
        match &self.state {
            State::Established { peer, .. } => Some(peer),
            _ => None,
        }
    }

    /// Whether the connection uses a security mechanism or asked an
    /// authenticator (anything but an unauthenticated NULL).
    pub fn secured(&self) -> bool {
        !matches!(self.config.mechanism, Mechanism::Null) || self.config.zap
    }

    /// Whether the handshake waits for [`Connection::handle_auth`].
    pub fn awaits_auth(&self) -> bool {
        matches!(&self.state, State::Handshake { step, .. } if step.awaits_auth())
    }

    /// The one place where the state changes.
    pub(super) fn transition(&mut self, new: State) {
        log::trace!("zmtp: {} -> {}", self.state, new);
        self.state = new;
    }

    /// Parses units until one yields an event or the input runs short.
    fn step(&mut self, input: &mut BytesMut) -> Result<Option<Event>, ProtocolError> {
        loop {
            match &self.state {
                State::Failed(e) => return Err(e.clone()),
                State::Greeting => {
                    let Some(greeting) = self.read_greeting(input)? else {
                        return Ok(None);
                    };
                    if let Some(event) = self.on_greeting(greeting)? {
                        return Ok(Some(event));
                    }
                }
                // Nothing more is read until the verdict comes.
                State::Handshake { step, .. } if step.awaits_auth() => return Ok(None),
                State::Handshake {
                    step: Step::Done(_),
                    ..
                } => return Ok(self.take_done()),
                State::Handshake { .. } | State::Established { .. } => {
                    let Some((header, body)) = self.read_frame(input)? else {
                        return Ok(None);
                    };
                    self.heartbeat.saw_traffic();
                    if let Some(event) = self.on_frame(header, body)? {
                        return Ok(Some(event));
                    }
                }
            }
        }
    }

    /// Takes the peer's greeting from `input` once all 64 octets are
    /// there; fails as soon as an octet already there is wrong.
    fn read_greeting(&mut self, input: &mut BytesMut) -> Result<Option<Greeting>, ProtocolError> {
        match Greeting::decode(input)? {
            Decoded::NeedMore { more } => {
                self.read_hint = more;
                Ok(None)
            }
            Decoded::Done { value, len } => {
                input.advance(len);
                Ok(Some(value))
            }
        }
    }

    /// RFC 37: "If the mechanism that the peer received does not exactly
    /// match the mechanism it sent, it MUST close the connection."
    fn on_greeting(&mut self, greeting: Greeting) -> Result<Option<Event>, ProtocolError> {
        let ours = self.config.mechanism.greeting_field();
        if greeting.mechanism != ours {
            return Err(ProtocolError::MechanismMismatch {
                ours: greeting::mechanism_name(&ours),
                theirs: greeting.mechanism_name(),
            });
        }
        let (step, event) = self.first_step();
        self.transition(State::Handshake {
            minor_version: greeting.effective_minor(),
            step,
            approved: None,
        });
        Ok(event)
    }

    /// Our READY: `Socket-Type`, then `Identity` for the types that send
    /// one (libzmq's order and spelling).
    pub(super) fn our_ready(&self) -> Command {
        let socket_type = self.config.socket_type;
        let mut props = Properties::new();
        let pushed = props
            .push(command::SOCKET_TYPE, socket_type.name())
            .and_then(|()| {
                if socket_type.sends_identity() {
                    props.push(command::IDENTITY, self.config.routing_id.clone())
                } else {
                    Ok(())
                }
            });
        if let Err(e) = pushed {
            log::error!("zmtp: READY property not sent: {e}");
        }
        Command::Ready(props)
    }

    /// Takes one whole frame from `input`, after checking its header
    /// against the state and the size limits (before any body octet is
    /// needed).
    fn read_frame(
        &mut self,
        input: &mut BytesMut,
    ) -> Result<Option<(FrameHeader, Bytes)>, ProtocolError> {
        let (header, header_len) = match FrameHeader::decode(input)? {
            Decoded::NeedMore { more } => {
                self.read_hint = more;
                return Ok(None);
            }
            Decoded::Done { value, len } => (value, len),
        };
        if self.codec.is_some() {
            self.check_boxed_header(&header)?;
        } else {
            self.check_header(&header)?;
        }
        let Ok(size) = usize::try_from(header.size) else {
            // FrameHeader::decode already refused such sizes.
            return Err(ProtocolError::MessageTooLarge {
                size: header.size,
                max: usize::MAX as u64,
            });
        };
        let available = input.len() - header_len;
        if available < size {
            self.read_hint = size - available;
            return Ok(None);
        }
        input.advance(header_len);
        Ok(Some((header, input.split_to(size).freeze())))
    }

    /// What can be judged from a frame header alone.
    fn check_header(&self, header: &FrameHeader) -> Result<(), ProtocolError> {
        if header.command {
            // "This bit [MORE] SHALL be zero on command frames."
            if header.more {
                return Err(ProtocolError::CommandWithMore);
            }
            let max = match &self.state {
                State::Established { .. } => self
                    .config
                    .max_msg_size
                    .map_or(MAX_FRAME_SIZE, |m| m.max(MIN_COMMAND_LIMIT)),
                _ => HANDSHAKE_COMMAND_LIMIT,
            };
            return check_size(header.size, max);
        }
        let State::Established { partial, .. } = &self.state else {
            // NULL: "null = ready *message | error": no message before READY.
            return Err(ProtocolError::MessageBeforeHandshake);
        };
        if let Some(max) = self.config.max_frames
            && partial.frames.len() >= max
        {
            return Err(ProtocolError::TooManyFrames { max });
        }
        let max = self.config.max_msg_size.unwrap_or(MAX_FRAME_SIZE);
        check_size(partial.size.saturating_add(header.size), max)
    }

    /// Under CURVE every frame is a boxed MESSAGE: what can be judged of
    /// it before opening it is its size, against the limits plus the
    /// box's overhead. The frame inside is checked once opened.
    fn check_boxed_header(&self, header: &FrameHeader) -> Result<(), ProtocolError> {
        let max = self
            .config
            .max_msg_size
            .map_or(MAX_FRAME_SIZE, |m| m.max(MIN_COMMAND_LIMIT))
            .saturating_add(CurveCodec::OVERHEAD as u64);
        check_size(header.size, max)
    }

    /// Handles one whole frame; check_header (or check_boxed_header)
    /// already vetted its header.
    fn on_frame(
        &mut self,
        header: FrameHeader,
        body: Bytes,
    ) -> Result<Option<Event>, ProtocolError> {
        let (header, body) = match &mut self.codec {
            Some(codec) => {
                let (more, command, inner) = codec.decrypt(&header, &body)?;
                let inner_header = FrameHeader {
                    more,
                    command,
                    size: inner.len() as u64,
                };
                self.check_header(&inner_header)?;
                (inner_header, inner)
            }
            None => (header, body),
        };
        if header.command {
            if let State::Handshake { .. } = self.state {
                return self.on_handshake_command(body);
            }
            return self.on_traffic_command(Command::decode(body)?);
        }
        let State::Established { partial, .. } = &mut self.state else {
            return Err(ProtocolError::MessageBeforeHandshake);
        };
        Ok(partial.push(body, header.more).map(Event::Message))
    }

    /// Validates the peer's READY metadata. RFC 37: "The peer SHOULD
    /// enforce that the other peer is using a valid socket type."
    pub(super) fn check_ready(
        &mut self,
        minor_version: u8,
        properties: Properties,
    ) -> Result<PeerInfo, ProtocolError> {
        let Some(name) = properties.get(command::SOCKET_TYPE) else {
            return Err(ProtocolError::MissingSocketType);
        };
        // Values are compared exactly, as libzmq does.
        let Some(theirs) = SocketType::from_name(name) else {
            return Err(ProtocolError::UnknownSocketType(
                String::from_utf8_lossy(name).into_owned(),
            ));
        };
        let ours = self.config.socket_type;
        if !ours.is_compatible(theirs) {
            // "it SHOULD handle errors by returning an ERROR command, and
            // then disconnecting the peer".
            self.send_command(&Command::Error {
                reason: Bytes::from_static(INCOMPATIBLE_REASON),
            });
            return Err(ProtocolError::IncompatibleSocketType { ours, theirs });
        }
        let routing_id = properties
            .get(command::IDENTITY)
            .cloned()
            .unwrap_or_default();
        Ok(PeerInfo {
            socket_type: theirs,
            routing_id,
            minor_version,
            properties,
            user_id: Bytes::new(),
        })
    }

    /// A command once the handshake is done.
    fn on_traffic_command(&mut self, cmd: Command) -> Result<Option<Event>, ProtocolError> {
        match cmd {
            Command::Ready(_) => Err(ProtocolError::UnexpectedCommand {
                name: cmd.name_lossy(),
            }),
            Command::Error { reason } => Err(peer_error(&reason)),
            Command::Ping { ttl, ref context } => {
                self.heartbeat.saw_ping(ttl);
                // "When a peer receives a PING command it SHALL respond
                // with a PONG command that echoes the ping-context", unless
                // the peer is not reading what we send (MAX_PONG_BACKLOG).
                if self.transmit.len() < MAX_PONG_BACKLOG {
                    self.send_command(&Command::pong_for(context));
                } else {
                    log::trace!("zmtp: PING not answered, the peer is not reading");
                }
                Ok(Some(Event::Command(cmd)))
            }
            Command::Unknown { ref name, .. } => {
                log::debug!(
                    "zmtp: ignoring unknown command {:?}",
                    String::from_utf8_lossy(name)
                );
                Ok(None)
            }
            Command::Pong { .. }
            | Command::Subscribe(_)
            | Command::Cancel(_)
            | Command::Join(_)
            | Command::Leave(_) => Ok(Some(Event::Command(cmd))),
        }
    }
}

/// `size` octets (a frame, or a message so far) within `max` and within
/// RFC 37's frame ceiling.
fn check_size(size: u64, max: u64) -> Result<(), ProtocolError> {
    let max = max.min(MAX_FRAME_SIZE);
    if size > max {
        return Err(ProtocolError::MessageTooLarge { size, max });
    }
    Ok(())
}

fn peer_error(reason: &Bytes) -> ProtocolError {
    ProtocolError::PeerError {
        reason: String::from_utf8_lossy(reason).into_owned(),
    }
}
