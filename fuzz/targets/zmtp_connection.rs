//! The whole sans-IO `Connection`, as the peer of a hostile byte stream:
//! every socket type, with or without `max_msg_size`, `max_frames`,
//! heartbeats and a routing id, fed arbitrary bytes in arbitrary chunks, with the clock
//! advanced arbitrarily, the transmit queue drained in arbitrary steps
//! and messages, subscriptions and commands sent once established.
//!
//! Invariants checked:
//! - no panic; input bytes are only ever taken, never added, and a
//!   message delivered is made of bytes taken;
//! - errors are sticky, and the connection is no longer established after
//!   one; only a configured heartbeat or a PING's TTL can time it out;
//! - `max_msg_size` is honoured: no bigger message is delivered, and the
//!   connection never asks to buffer more than the limit (plus a header)
//!   before judging a frame; `max_frames` too: no message has more frames;
//! - the transmit queue is bounded: the handshake, at most three octets
//!   per octet taken (PONGs), one PING per clock tick, and exactly the
//!   bytes of what we sent; a PING is answered exactly when less than
//!   `MAX_PONG_BACKLOG` octets were waiting;
//! - everything written is valid ZMTP: a second `Connection` of a
//!   compatible type (the mirror) reads it back without error and sees
//!   exactly what was sent, PONGs and the ERROR for an incompatible peer
//!   included.
//!
//! Shared by the cargo-fuzz target `zmtp_connection` and by the corpus
//! replay test `tests/fuzz_corpus.rs`.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::time::{Duration, Instant};

use brokerless::zmtp::command::{IDENTITY, SOCKET_TYPE};
use brokerless::zmtp::frame::{FrameHeader, LONG_HEADER_LEN};
use brokerless::zmtp::greeting::Greeting;
use brokerless::zmtp::{
    Command, Config, Connection, Event, HeartbeatConfig, MAX_PONG_BACKLOG, Properties, Subscription,
};
use brokerless::{Message, ProtocolError, SocketType};
use bytes::{Bytes, BytesMut};

/// The floor under `max_msg_size` for command frames
/// (`zmtp::connection::MIN_COMMAND_LIMIT`, which is crate-private).
const COMMAND_FLOOR: u64 = 64 * 1024;

/// More than the handshake can queue: our greeting (64), our READY
/// (Socket-Type and an Identity of at most 255 octets: < 310) and an
/// ERROR for an incompatible peer (< 40).
const HANDSHAKE_MAX: usize = 512;

/// A heartbeat PING frame: header 2, name 1 + 4, TTL 2.
const PING_FRAME: usize = 9;

/// The reason of the ERROR sent to an incompatible peer.
const INCOMPATIBLE_REASON: &str = "incompatible socket type";

/// Big frames (sent by reference) only while less than this is queued.
const MAX_QUEUED_FOR_BIG: usize = 1 << 20;

/// Checks every invariant on one input; panics on a violation.
pub fn run(data: &[u8]) {
    let mut r = Reader(data);
    let ours = SocketType::ALL[usize::from(r.byte()) % SocketType::ALL.len()];
    let flags = r.byte();
    let mut config = Config::new(ours);
    if flags & 0x01 != 0 {
        let base = u16::from_be_bytes([r.byte(), r.byte()]);
        config.max_msg_size = Some(u64::from(base) << (r.byte() % 17));
    }
    if flags & 0x02 != 0 {
        let ms = |b: u8| (b > 0).then(|| Duration::from_millis(u64::from(b)));
        config.heartbeat = Some(HeartbeatConfig {
            interval: ms(r.byte()),
            timeout: ms(r.byte()),
            ttl: ms(r.byte()).map(|d| d * 100),
        });
    }
    if flags & 0x04 != 0 {
        let len = usize::from(r.byte());
        config.routing_id = r.bytes(len);
    }
    if flags & 0x10 != 0 {
        // 0 lifts the limit; else 1 to 7 frames.
        config.max_frames = Some(usize::from(r.byte() % 8)).filter(|&n| n > 0);
    }
    let mut h = Harness::new(config);
    if flags & 0x08 != 0 {
        // Start the stream with a valid greeting and READY, to get past
        // the handshake at once (the peer's type may still not pair).
        let minor = r.byte() % 3;
        let t = r.byte();
        let theirs = if t & 0x80 != 0 {
            compatible(ours)
        } else {
            SocketType::ALL[usize::from(t) % SocketType::ALL.len()]
        };
        let len = usize::from(r.byte());
        let identity = r.bytes(len);
        h.feed(&preamble(minor, theirs, identity));
    }
    while !r.0.is_empty() {
        match r.byte() % 8 {
            0..=2 => {
                let len = usize::from(r.byte());
                let chunk = r.bytes(len);
                h.feed(&chunk);
            }
            3 => {
                let ms = u16::from_be_bytes([r.byte(), r.byte()]);
                h.tick(Duration::from_millis(u64::from(ms)));
            }
            4 => {
                let n = usize::from(r.byte()) * 16;
                h.drain(n);
            }
            5 => {
                let frames = r.byte() % 4 + 1;
                let mut msg = Message::new();
                for _ in 0..frames {
                    let b = r.byte();
                    if b & 0xC0 == 0xC0 && h.conn.transmit().len() < MAX_QUEUED_FOR_BIG {
                        let len = 8 * 1024 + usize::from(b & 0x3F) * 97;
                        msg.push(vec![b; len]);
                    } else {
                        msg.push(r.bytes(usize::from(b & 0x7F)));
                    }
                }
                h.send(&msg);
            }
            6 => {
                let b = r.byte();
                let topic = r.bytes(usize::from(b >> 1));
                h.subscribe(Subscription {
                    subscribe: b & 1 != 0,
                    topic,
                });
            }
            _ => {
                let b = r.byte();
                let len = usize::from(b >> 3);
                let cmd = match b % 5 {
                    // Our own PINGs carry a context, to tell them from
                    // heartbeat PINGs.
                    0 => {
                        let ttl = u16::from(r.byte());
                        let mut context = r.bytes(len % 16 + 1);
                        if context.is_empty() {
                            context = Bytes::from_static(b"!"); // the input ran out
                        }
                        Command::Ping { ttl, context }
                    }
                    1 => Command::Pong {
                        context: r.bytes(len % 17),
                    },
                    2 => Command::Join(r.bytes(len)),
                    3 => Command::Leave(r.bytes(len)),
                    _ => Command::Unknown {
                        name: Bytes::from_static(b"X-FUZZ"),
                        data: r.bytes(len),
                    },
                };
                h.command(&cmd);
            }
        }
        h.check_bounds();
    }
    h.finish();
}

/// Takes bytes from the front of the input (zeros once it is used up).
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    fn bytes(&mut self, n: usize) -> Bytes {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Bytes::copy_from_slice(head)
    }
}

/// The first type that pairs with `t`.
fn compatible(t: SocketType) -> SocketType {
    SocketType::ALL
        .into_iter()
        .find(|&p| t.is_compatible(p))
        .unwrap_or(t)
}

/// A valid greeting (ZMTP 3.`minor`) and READY of a `theirs` peer.
fn preamble(minor: u8, theirs: SocketType, identity: Bytes) -> BytesMut {
    let mut buf = BytesMut::new();
    let mut greeting = Greeting::null();
    greeting.minor = minor;
    greeting.encode(&mut buf);
    let mut props = Properties::new();
    props
        .push(SOCKET_TYPE, theirs.name())
        .expect("valid property");
    props.push(IDENTITY, identity).expect("valid property");
    command_frame(&Command::Ready(props), &mut buf);
    buf
}

fn command_frame(cmd: &Command, buf: &mut BytesMut) {
    FrameHeader::command(cmd.encoded_len() as u64).encode(buf);
    cmd.encode(buf);
}

/// What the mirror must see next.
#[derive(Debug, PartialEq)]
enum Expect {
    Message(Message),
    Command(Command),
    Error,
}

struct Harness {
    conn: Connection,
    config: Config,
    /// The peer's bytes not yet taken.
    input: BytesMut,
    /// Every byte given to `input`.
    fed: usize,
    now: Instant,
    ticks: usize,
    /// Octets queued by our own sends (checked exactly).
    sent: usize,
    /// Octets written out of the transmit queue.
    drained: usize,
    established: bool,
    failed: Option<ProtocolError>,
    delivered: usize,
    ping_ttl_seen: bool,
    mirror: Mirror,
}

impl Harness {
    fn new(config: Config) -> Harness {
        let conn = Connection::new(config.clone());
        assert_eq!(conn.transmit().len(), 64, "our greeting is queued");
        assert!(!conn.is_established());
        assert_eq!(conn.poll_timeout(), None);
        Harness {
            conn,
            mirror: Mirror::new(&config),
            config,
            input: BytesMut::new(),
            fed: 0,
            now: Instant::now(),
            ticks: 0,
            sent: 0,
            drained: 0,
            established: false,
            failed: None,
            delivered: 0,
            ping_ttl_seen: false,
        }
    }

    fn consumed(&self) -> usize {
        self.fed - self.input.len()
    }

    fn feed(&mut self, chunk: &[u8]) {
        self.input.extend_from_slice(chunk);
        self.fed += chunk.len();
        loop {
            let before = self.input.len();
            let queued = self.conn.transmit().len();
            let result = self.conn.handle_input(&mut self.input);
            assert!(self.input.len() <= before, "handle_input added input");
            match result {
                Ok(Some(event)) => self.on_event(event, queued),
                Ok(None) => {
                    assert!(self.failed.is_none(), "Ok after {:?}", self.failed);
                    let hint = self.conn.read_hint();
                    assert!(hint > 0, "needs more, but no hint");
                    if let Some(max) = self.config.max_msg_size {
                        let unit = (self.input.len() + hint) as u64;
                        let limit = max.max(COMMAND_FLOOR) + LONG_HEADER_LEN as u64;
                        assert!(unit <= limit, "would buffer {unit} octets, limit {max}");
                    }
                    break;
                }
                Err(e) => {
                    self.on_error(e);
                    break;
                }
            }
        }
        assert!(self.delivered <= self.consumed());
    }

    /// `queued`: the transmit queue's length before the `handle_input`
    /// that returned `event` (nothing else is queued before a PING's PONG
    /// in the same call).
    fn on_event(&mut self, event: Event, queued: usize) {
        assert!(self.failed.is_none(), "event after {:?}", self.failed);
        match event {
            Event::Established(peer) => {
                assert!(!self.established, "established twice");
                self.established = true;
                assert!(self.conn.is_established());
                assert_eq!(self.conn.peer(), Some(&peer));
                assert!(self.config.socket_type.is_compatible(peer.socket_type));
                assert!(peer.minor_version <= 1);
                let identity = peer.properties.get(IDENTITY).cloned().unwrap_or_default();
                assert_eq!(peer.routing_id, identity);
            }
            Event::Authenticate(req) => panic!("NULL without a ZAP domain asked {req:?}"),
            Event::Message(msg) => {
                assert!(self.established, "message before the handshake");
                assert!(!msg.is_empty());
                self.delivered += msg.byte_len();
                if let Some(max) = self.config.max_msg_size {
                    assert!(msg.byte_len() as u64 <= max, "message over max_msg_size");
                }
                if let Some(max) = self.config.max_frames {
                    assert!(msg.len() <= max, "message over max_frames");
                }
            }
            Event::Command(cmd) => {
                assert!(self.established, "command before the handshake");
                match &cmd {
                    Command::Ping { ttl, context } => {
                        self.ping_ttl_seen |= *ttl > 0;
                        let now = self.conn.transmit().len();
                        if queued < MAX_PONG_BACKLOG {
                            // Its PONG is queued already.
                            let pong = Command::pong_for(context);
                            assert_eq!(now, queued + command_len(&pong), "PONG not queued");
                            self.mirror.expect.push_back(Expect::Command(pong));
                        } else {
                            assert_eq!(now, queued, "PONG queued for a peer not reading");
                        }
                    }
                    Command::Pong { .. }
                    | Command::Subscribe(_)
                    | Command::Cancel(_)
                    | Command::Join(_)
                    | Command::Leave(_) => {}
                    other => panic!("{other:?} reported as an event"),
                }
            }
        }
    }

    fn on_error(&mut self, e: ProtocolError) {
        if let Some(first) = &self.failed {
            assert_eq!(first, &e, "errors are sticky");
        } else if matches!(e, ProtocolError::IncompatibleSocketType { .. }) {
            self.mirror.expect.push_back(Expect::Error);
        }
        assert!(!self.conn.is_established());
        assert_eq!(self.conn.peer(), None);
        assert_eq!(self.conn.poll_timeout(), None);
        self.failed = Some(e);
    }

    fn tick(&mut self, by: Duration) {
        self.now += by;
        self.ticks += 1;
        match self.conn.handle_timeout(self.now) {
            Ok(()) => {
                if let Some(t) = self.conn.poll_timeout() {
                    assert!(t >= self.now, "a deadline in the past");
                }
                let interval = self.config.heartbeat.and_then(|h| h.interval);
                if self.conn.is_established() && interval.is_some() {
                    assert!(self.conn.poll_timeout().is_some(), "no next PING");
                }
            }
            Err(e) => {
                assert_eq!(e, ProtocolError::HeartbeatTimeout);
                assert!(self.failed.is_none());
                assert!(self.established);
                assert!(self.config.heartbeat.is_some() || self.ping_ttl_seen);
                self.on_error(e);
                // Sticky through handle_input too.
                self.feed(&[]);
            }
        }
    }

    /// Writes out up to `n` octets, to the mirror.
    fn drain(&mut self, n: usize) {
        let mut out = Vec::new();
        while out.len() < n && !self.conn.transmit().is_empty() {
            let q = self.conn.transmit();
            let mut slices = [IoSlice::new(&[]); 4];
            let filled = q.io_slices(&mut slices);
            assert!(filled > 0);
            let before = out.len();
            for s in &slices[..filled] {
                assert!(!s.is_empty());
                let take = s.len().min(n - out.len());
                out.extend_from_slice(&s[..take]);
            }
            let written = out.len() - before;
            let len = q.len();
            self.conn.transmit_mut().advance(written);
            assert_eq!(self.conn.transmit().len(), len - written);
        }
        self.drained += out.len();
        self.mirror.feed(&out);
    }

    /// Runs `f` (a send), checking it queued exactly `expected` octets.
    fn queued(&mut self, expected: usize, f: impl FnOnce(&mut Connection)) {
        let before = self.conn.transmit().len();
        f(&mut self.conn);
        assert_eq!(self.conn.transmit().len() - before, expected);
        self.sent += expected;
    }

    fn send(&mut self, msg: &Message) {
        if !self.conn.is_established() {
            return;
        }
        let len = msg
            .iter()
            .map(|f| FrameHeader::message(f.len() as u64, false).encoded_len() + f.len())
            .sum();
        self.queued(len, |c| c.send(msg));
        self.mirror.expect.push_back(Expect::Message(msg.clone()));
    }

    fn subscribe(&mut self, sub: Subscription) {
        let Some(peer) = self.conn.peer() else {
            return;
        };
        let expect = if peer.minor_version == 0 {
            Expect::Message(sub.to_message())
        } else if sub.subscribe {
            Expect::Command(Command::Subscribe(sub.topic.clone()))
        } else {
            Expect::Command(Command::Cancel(sub.topic.clone()))
        };
        let len = match &expect {
            Expect::Message(m) => {
                FrameHeader::message(m.byte_len() as u64, false).encoded_len() + m.byte_len()
            }
            Expect::Command(c) => command_len(c),
            Expect::Error => unreachable!(),
        };
        self.queued(len, |c| c.send_subscription(&sub));
        self.mirror.expect.push_back(expect);
    }

    fn command(&mut self, cmd: &Command) {
        if !self.conn.is_established() {
            return;
        }
        self.queued(command_len(cmd), |c| c.send_command(cmd));
        // The mirror does not report unknown commands.
        if !matches!(cmd, Command::Unknown { .. }) {
            self.mirror.expect.push_back(Expect::Command(cmd.clone()));
        }
    }

    /// The transmit queue stays within what the input and our sends
    /// justify.
    fn check_bounds(&self) {
        let queued = self.conn.transmit().len() + self.drained;
        let bound = HANDSHAKE_MAX + 3 * self.consumed() + PING_FRAME * self.ticks + self.sent;
        assert!(queued <= bound, "queued {queued} octets, bound {bound}");
        assert!(self.input.len() <= self.fed);
    }

    fn finish(mut self) {
        self.check_bounds();
        let rest = self.conn.transmit().len();
        self.drain(rest);
        assert!(self.conn.transmit().is_empty());
        if self.established {
            assert!(self.mirror.established, "the mirror saw no READY");
        }
        assert!(
            self.mirror.expect.is_empty(),
            "the mirror never saw {:?}",
            self.mirror.expect
        );
    }
}

fn command_len(cmd: &Command) -> usize {
    let body = cmd.encoded_len();
    FrameHeader::command(body as u64).encoded_len() + body
}

/// A connection of a compatible type that reads what we write.
struct Mirror {
    conn: Connection,
    input: BytesMut,
    ours: SocketType,
    routing_id: Bytes,
    /// The TTL (deciseconds) of our heartbeat PINGs, if we send any.
    ping_ttl: Option<u16>,
    established: bool,
    failed: bool,
    expect: VecDeque<Expect>,
}

impl Mirror {
    fn new(config: &Config) -> Mirror {
        let ping_ttl = config.heartbeat.map(|h| {
            h.ttl.map_or(0, |t| {
                (t.as_millis() / 100).min(u128::from(u16::MAX)) as u16
            })
        });
        let routing_id = if config.socket_type.sends_identity() {
            config.routing_id.clone()
        } else {
            Bytes::new()
        };
        Mirror {
            conn: Connection::new(Config::new(compatible(config.socket_type))),
            input: BytesMut::new(),
            ours: config.socket_type,
            routing_id,
            ping_ttl,
            established: false,
            failed: false,
            expect: VecDeque::new(),
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
        while !self.failed {
            match self.conn.handle_input(&mut self.input) {
                Ok(None) => break,
                Ok(Some(Event::Established(peer))) => {
                    assert!(!self.established);
                    self.established = true;
                    assert_eq!(peer.socket_type, self.ours);
                    assert_eq!(peer.routing_id, self.routing_id);
                    assert_eq!(peer.minor_version, 1);
                }
                Ok(Some(Event::Command(Command::Ping { ttl, context })))
                    if context.is_empty() && Some(ttl) == self.ping_ttl => {} // a heartbeat
                Ok(Some(Event::Authenticate(req))) => panic!("NULL asked {req:?}"),
                Ok(Some(Event::Message(msg))) => self.expect(Expect::Message(msg)),
                Ok(Some(Event::Command(cmd))) => self.expect(Expect::Command(cmd)),
                Err(ProtocolError::PeerError { reason }) => {
                    assert_eq!(reason, INCOMPATIBLE_REASON);
                    self.expect(Expect::Error);
                    self.failed = true;
                }
                Err(e) => panic!("our own output was refused: {e:?}"),
            }
        }
        // The mirror's own replies (READY, PONGs) go nowhere.
        let queued = self.conn.transmit().len();
        self.conn.transmit_mut().advance(queued);
    }

    fn expect(&mut self, got: Expect) {
        let want = self.expect.pop_front();
        assert_eq!(want.as_ref(), Some(&got), "the mirror saw something else");
    }
}
