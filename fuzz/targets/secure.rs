//! The harness shared by the `plain` and `curve` targets (each includes
//! this file as a module): a checked [`Connection`] ([`Peer`]), the
//! "raw" mode (arbitrary peer bytes after a valid greeting) and the
//! "relay" mode (a real client and a real server, with the fuzzer as a
//! man in the middle that delivers, flips, drops, duplicates, swaps and
//! injects whole units of their byte streams, sends traffic and gives
//! the authenticator's verdicts).
//!
//! Invariants checked, on every connection:
//! - no panic; input is only ever taken, and none at all while a verdict
//!   is awaited; errors are sticky, and after one the connection is no
//!   longer established;
//! - Authenticate comes only to a server (or a NULL socket with a ZAP
//!   domain), once per handshake, naming its mechanism, with well-formed
//!   credentials (CURVE: exactly the real client's public key, since no
//!   other INITIATE box can open); `handle_auth` with no verdict awaited
//!   changes nothing; a refusal fails with `CredentialsRefused` and
//!   queues exactly a 12-octet ERROR; a server is established only after
//!   an approval, with the approved user id and metadata;
//! - messages and commands only once established, never over
//!   `max_msg_size`; a PING is answered while the backlog allows;
//! - the transmit queue is bounded: the handshake, what we sent, and two
//!   octets per octet taken (PONGs); what is written parses as a greeting
//!   followed by whole frames.
//!
//! In relay mode, on top: every frame delivered was sent by the other
//! side, in order, never twice (a subsequence: frames may be lost to
//! dropped or corrupted units, never made up); under CURVE, whatever the
//! man in the middle did, what is delivered is exactly what was sent, in
//! order, with nothing left out and its flags unchanged (a gap in the
//! nonces fails the connection; the outer header's flags are ignored);
//! for an untouched direction, everything sent is delivered exactly, and a refusal reaches the client as `RefusedByPeer` (or as a
//! `PeerError` for a status that is not a 3xx to 5xx).

use std::collections::VecDeque;
use std::io::IoSlice;

use brokerless::zmtp::frame::FrameHeader;
use brokerless::zmtp::greeting::{GREETING_LEN, Greeting};
use brokerless::zmtp::{
    AuthReply, AuthRequest, Command, Config, Connection, Event, MAX_PONG_BACKLOG, Mechanism,
};
use brokerless::{Message, ProtocolError};
use bytes::{Bytes, BytesMut};

/// More than any handshake queues: greeting (64), PLAIN's HELLO (< 530)
/// or CURVE's HELLO or WELCOME (< 180), INITIATE or READY with metadata
/// (< 400), an ERROR (< 40).
const HANDSHAKE_MAX: usize = 1024;

/// The octets a CURVE box adds to a frame body (name, nonce, MAC, flags).
const BOX_OVERHEAD: usize = 33;

/// An ERROR frame with a 3-digit reason: header 2, name 1 + 5, reason 1 + 3.
const REFUSAL_ERROR_LEN: usize = 12;

/// Takes bytes from the front of the input (zeros once it is used up).
pub struct Reader<'a>(pub &'a [u8]);

impl Reader<'_> {
    pub fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    pub fn bytes(&mut self, n: usize) -> Bytes {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Bytes::copy_from_slice(head)
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }
}

/// An authenticator's verdict from the input: approvals (with a user id,
/// and metadata) and refusals (with odd status codes too) alternate with
/// the low bit.
fn verdict(r: &mut Reader) -> AuthReply {
    let b = r.byte();
    if b & 1 == 0 {
        let mut reply = AuthReply::allow_as(r.bytes(usize::from(b >> 4)));
        if b & 2 != 0 {
            let name = format!("X-Fuzz-{}", (b >> 2) & 3);
            reply
                .metadata
                .push(name, r.bytes(4))
                .expect("valid property");
        }
        reply
    } else {
        let codes = [300, 400, 500, 0, 999, 1000, 250, u16::MAX];
        AuthReply::deny(codes[usize::from(b >> 1) % codes.len()], "fuzz")
    }
}

/// What the peer of a refused connection must report.
fn refusal_seen_by_peer(status_code: u16) -> ProtocolError {
    let code = status_code.min(999);
    if (300..600).contains(&code) {
        ProtocolError::RefusedByPeer { status_code: code }
    } else {
        ProtocolError::PeerError {
            reason: format!("{code:03}"),
        }
    }
}

fn is_curve(m: &Mechanism) -> bool {
    matches!(
        m,
        Mechanism::CurveClient { .. } | Mechanism::CurveServer { .. }
    )
}

/// One frame as the application sees it.
#[derive(Clone, Debug, PartialEq)]
struct Frame {
    body: Bytes,
    more: bool,
    command: bool,
    /// Whether the receiver reports it (unknown commands are dropped).
    reported: bool,
}

/// A connection, with the invariants checked at every call.
pub struct Peer {
    conn: Connection,
    config: Config,
    /// The real client's public key, if this is a CURVE server.
    client_key: Option<[u8; 32]>,
    input: BytesMut,
    fed: usize,
    /// Octets written out of the transmit queue.
    written: usize,
    /// Octets queued by our own sends.
    sent: usize,
    /// Whether the greeting was seen in what this side wrote, and the
    /// bytes written not yet parsed as whole units.
    out_greeting: bool,
    out_pending: Vec<u8>,
    failed: Option<ProtocolError>,
    established: bool,
    asked: bool,
    approved: Option<AuthReply>,
    refused: Option<AuthReply>,
}

impl Peer {
    pub fn new(config: Config, client_key: Option<[u8; 32]>) -> Peer {
        let conn = Connection::new(config.clone());
        assert_eq!(conn.transmit().len(), GREETING_LEN);
        assert!(!conn.is_established() && !conn.awaits_auth());
        Peer {
            conn,
            config,
            client_key,
            input: BytesMut::new(),
            fed: 0,
            written: 0,
            sent: 0,
            out_greeting: false,
            out_pending: Vec::new(),
            failed: None,
            established: false,
            asked: false,
            approved: None,
            refused: None,
        }
    }

    fn consumed(&self) -> usize {
        self.fed - self.input.len()
    }

    /// Whether the authenticator is asked at all.
    fn asks(&self) -> bool {
        self.config.mechanism.is_server() || self.config.zap
    }

    /// Gives `bytes` to the connection; returns the events, checked.
    fn feed(&mut self, bytes: &[u8]) -> Vec<(Event, bool)> {
        self.input.extend_from_slice(bytes);
        self.fed += bytes.len();
        let mut events = Vec::new();
        loop {
            let before = self.input.len();
            let queued = self.conn.transmit().len();
            let awaiting = self.conn.awaits_auth();
            let result = self.conn.handle_input(&mut self.input);
            assert!(self.input.len() <= before, "handle_input added input");
            if awaiting {
                assert_eq!(result, Ok(None), "input handled while a verdict is awaited");
                assert_eq!(
                    self.input.len(),
                    before,
                    "input taken while a verdict is awaited"
                );
            }
            match result {
                Ok(Some(event)) => {
                    let ponged = self.on_event(&event, queued);
                    events.push((event, ponged));
                }
                Ok(None) => {
                    assert!(self.failed.is_none(), "Ok after {:?}", self.failed);
                    assert_eq!(self.conn.awaits_auth(), self.asked);
                    break;
                }
                Err(e) => {
                    match &self.failed {
                        Some(first) => assert_eq!(first, &e, "errors are sticky"),
                        None => self.failed = Some(e),
                    }
                    assert!(!self.conn.is_established() && self.conn.peer().is_none());
                    assert!(!self.conn.awaits_auth());
                    break;
                }
            }
        }
        events
    }

    /// Checks one event; returns whether a PING's PONG was queued.
    fn on_event(&mut self, event: &Event, queued: usize) -> bool {
        assert!(self.failed.is_none(), "event after {:?}", self.failed);
        match event {
            Event::Authenticate(req) => {
                self.check_request(req);
                false
            }
            Event::Established(peer) => {
                assert!(!self.established, "established twice");
                assert!(!self.asked, "established while a verdict is awaited");
                self.established = true;
                assert!(self.conn.is_established());
                assert_eq!(self.conn.peer(), Some(peer));
                assert!(self.config.socket_type.is_compatible(peer.socket_type));
                if self.asks() {
                    let reply = self.approved.as_ref().expect("established unapproved");
                    assert_eq!(peer.user_id, reply.user_id);
                    for (name, _) in reply.metadata.iter() {
                        assert!(peer.properties.get(name).is_some(), "metadata lost");
                    }
                } else {
                    assert!(peer.user_id.is_empty());
                }
                false
            }
            Event::Message(msg) => {
                assert!(self.established, "message before the handshake");
                assert!(!msg.is_empty());
                if let Some(max) = self.config.max_msg_size {
                    assert!(msg.byte_len() as u64 <= max, "message over max_msg_size");
                }
                false
            }
            Event::Command(cmd) => {
                assert!(self.established, "command before the handshake");
                match cmd {
                    Command::Ping { .. } => {
                        let now = self.conn.transmit().len();
                        if queued < MAX_PONG_BACKLOG {
                            assert!(now > queued, "PING not answered");
                            true
                        } else {
                            assert_eq!(now, queued, "PONG for a peer not reading");
                            false
                        }
                    }
                    Command::Pong { .. }
                    | Command::Subscribe(_)
                    | Command::Cancel(_)
                    | Command::Join(_)
                    | Command::Leave(_) => false,
                    other => panic!("{other:?} reported"),
                }
            }
        }
    }

    fn check_request(&mut self, req: &AuthRequest) {
        assert!(self.asks(), "a client asked {req:?}");
        assert!(!self.asked && !self.established, "asked twice");
        assert!(self.conn.awaits_auth());
        self.asked = true;
        assert_eq!(req.mechanism, self.config.mechanism.name());
        match &self.config.mechanism {
            Mechanism::Null => assert!(req.credentials.is_empty()),
            Mechanism::PlainServer => {
                assert_eq!(req.credentials.len(), 2);
                assert!(req.credentials.iter().all(|c| c.len() <= 255));
            }
            Mechanism::CurveServer { .. } => {
                let key = self.client_key.expect("the client's key");
                assert_eq!(req.credentials, [Bytes::copy_from_slice(&key)]);
            }
            other => panic!("{other:?} asked"),
        }
    }

    /// Gives the authenticator's verdict.
    fn answer(&mut self, reply: AuthReply) {
        let awaited = self.conn.awaits_auth();
        assert_eq!(awaited, self.asked);
        let before = self.conn.transmit().len();
        let established = self.conn.is_established();
        let result = self.conn.handle_auth(reply.clone());
        if !awaited {
            // Not awaited: nothing changes.
            assert_eq!(result, Ok(()));
            assert_eq!(self.conn.transmit().len(), before);
            assert_eq!(self.conn.is_established(), established);
            return;
        }
        self.asked = false;
        assert!(!self.conn.awaits_auth());
        if reply.is_success() {
            assert_eq!(result, Ok(()));
            self.approved = Some(reply);
        } else {
            let e = ProtocolError::CredentialsRefused {
                status_code: reply.status_code,
                text: reply.status_text.clone(),
            };
            assert_eq!(result, Err(e.clone()));
            assert_eq!(self.conn.transmit().len() - before, REFUSAL_ERROR_LEN);
            self.failed = Some(e.clone());
            self.refused = Some(reply);
            // Sticky through handle_input.
            assert_eq!(self.conn.handle_input(&mut BytesMut::new()), Err(e));
        }
    }

    /// The octets `frames` take on the wire, boxed or not.
    fn frame_len(&self, body: usize, command: bool) -> usize {
        let size = if is_curve(&self.config.mechanism) {
            body + BOX_OVERHEAD
        } else {
            body
        };
        let header = if command && !is_curve(&self.config.mechanism) {
            FrameHeader::command(size as u64)
        } else {
            FrameHeader::message(size as u64, false)
        };
        header.encoded_len() + size
    }

    /// Sends a message, if established; returns its frames.
    fn send(&mut self, msg: &Message) -> Vec<Frame> {
        if !self.conn.is_established() || msg.is_empty() {
            return Vec::new();
        }
        let expected: usize = msg.iter().map(|f| self.frame_len(f.len(), false)).sum();
        let before = self.conn.transmit().len();
        self.conn.send(msg);
        assert_eq!(self.conn.transmit().len() - before, expected);
        self.sent += expected;
        let last = msg.len() - 1;
        msg.iter()
            .enumerate()
            .map(|(i, f)| Frame {
                body: f.clone(),
                more: i < last,
                command: false,
                reported: true,
            })
            .collect()
    }

    /// Sends a command, if established; returns its frame.
    fn command(&mut self, cmd: &Command) -> Option<Frame> {
        if !self.conn.is_established() {
            return None;
        }
        let expected = self.frame_len(cmd.encoded_len(), true);
        let before = self.conn.transmit().len();
        self.conn.send_command(cmd);
        assert_eq!(self.conn.transmit().len() - before, expected);
        self.sent += expected;
        Some(Frame {
            body: encoded(cmd),
            more: false,
            command: true,
            reported: !matches!(cmd, Command::Unknown { .. }),
        })
    }

    /// Takes everything queued; returns the whole units (the greeting,
    /// then frames) it completes.
    fn write(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !self.conn.transmit().is_empty() {
            let mut slots = [IoSlice::new(&[]); 4];
            let n = self.conn.transmit().io_slices(&mut slots);
            assert!(n > 0);
            let written: usize = slots[..n].iter().map(|s| s.len()).sum();
            for s in &slots[..n] {
                out.extend_from_slice(s);
            }
            self.conn.transmit_mut().advance(written);
        }
        self.written += out.len();
        self.out_pending.extend_from_slice(&out);
        let mut units = Vec::new();
        if !self.out_greeting {
            if self.out_pending.len() < GREETING_LEN {
                return units;
            }
            self.out_greeting = true;
            units.push(self.out_pending.drain(..GREETING_LEN).collect());
        }
        loop {
            let header = match FrameHeader::decode(&self.out_pending) {
                Ok(brokerless::zmtp::Decoded::Done { value, len }) => (value, len),
                Ok(brokerless::zmtp::Decoded::NeedMore { .. }) => break,
                Err(e) => panic!("we wrote a bad frame header: {e:?}"),
            };
            let total = header.1 + header.0.size as usize;
            if self.out_pending.len() < total {
                break;
            }
            units.push(self.out_pending.drain(..total).collect());
        }
        units
    }

    fn check_bounds(&self) {
        let out = self.written + self.conn.transmit().len();
        let bound = HANDSHAKE_MAX + self.sent + 2 * self.consumed();
        assert!(out <= bound, "wrote {out} octets, bound {bound}");
    }
}

fn encoded(cmd: &Command) -> Bytes {
    let mut body = BytesMut::with_capacity(cmd.encoded_len());
    cmd.encode(&mut body);
    body.freeze()
}

/// A peer's valid greeting for `config`'s mechanism.
fn peer_greeting(config: &Config, minor: u8) -> Vec<u8> {
    let mut buf = BytesMut::new();
    Greeting {
        minor,
        mechanism: config.mechanism.greeting_field(),
        as_server: !config.mechanism.is_server(),
        ..Greeting::null()
    }
    .encode(&mut buf);
    buf.to_vec()
}

/// A message of up to 4 frames from the input, within `max` octets.
fn message(r: &mut Reader, max: Option<u64>) -> Message {
    let frames = r.byte() % 4 + 1;
    let mut msg = Message::new();
    let mut left = max.map_or(usize::MAX, |m| m as usize);
    for _ in 0..frames {
        let b = r.byte();
        let len = if b & 0x80 != 0 {
            300 + usize::from(b & 0x7F) * 8 // over a short frame
        } else {
            usize::from(b)
        };
        let len = len.min(left);
        left -= len;
        let mut frame = r.bytes(len).to_vec();
        frame.resize(len, b);
        msg.push(frame);
    }
    msg
}

/// A traffic command from the input.
fn command(r: &mut Reader) -> Command {
    let b = r.byte();
    let data = r.bytes(usize::from(b >> 3));
    match b & 7 {
        0 => Command::Subscribe(data),
        1 => Command::Cancel(data),
        2 => Command::Ping {
            ttl: u16::from(b),
            context: data,
        },
        3 => Command::Pong { context: data },
        4 => Command::Join(data),
        5 => Command::Leave(data),
        _ => Command::Unknown {
            name: Bytes::from_static(b"X-FUZZ"),
            data,
        },
    }
}

/// Raw mode: our connection (`config`) gets a valid greeting of its
/// mechanism, then arbitrary bytes, verdicts, and sends once established.
/// Under CURVE nothing may come of it: only a peer with the right keys
/// makes boxes we open.
pub fn raw(r: &mut Reader, config: Config) {
    let curve = is_curve(&config.mechanism);
    let mut p = Peer::new(config.clone(), None);
    let greeting = peer_greeting(&config, r.byte() % 3);
    let events = p.feed(&greeting);
    raw_events(curve, &events);
    while !r.0.is_empty() {
        match r.byte() % 6 {
            0..=2 => {
                let len = usize::from(r.byte());
                let chunk = r.bytes(len);
                let events = p.feed(&chunk);
                raw_events(curve, &events);
            }
            3 => {
                let reply = verdict(r);
                p.answer(reply);
                let events = p.feed(&[]);
                raw_events(curve, &events);
            }
            4 => {
                let msg = message(r, config.max_msg_size);
                p.send(&msg);
            }
            _ => {
                p.write();
            }
        }
        p.check_bounds();
    }
    p.write();
    assert!(p.out_pending.is_empty(), "we wrote part of a frame");
    p.check_bounds();
}

fn raw_events(curve: bool, events: &[(Event, bool)]) {
    if curve {
        // Nothing can come out of hostile bytes under CURVE: the peer
        // would need our keys to make a box we open.
        assert!(events.is_empty(), "CURVE box opened: {events:?}");
    }
}

/// Relay mode: a real client and a real server, the fuzzer in between.
/// `client_key`: the client's CURVE public key, if CURVE. With
/// `handshake_first`, the handshake is completed untouched (the server
/// approving) before the fuzzer takes over.
pub fn relay(r: &mut Reader, client: Config, server: Config, client_key: Option<[u8; 32]>) {
    let handshake_first = r.byte() & 1 != 0;
    let mut relay = Relay {
        peers: [Peer::new(client, None), Peer::new(server, client_key)],
        wire: Default::default(),
        sent: Default::default(),
        used: Default::default(),
        cursor: [0; 2],
        data_cursor: [0; 2],
        tampered: [false; 2],
    };
    if handshake_first {
        relay.settle();
        assert!(
            relay.peers.iter().all(|p| p.established),
            "an untouched handshake failed: {:?} {:?}",
            relay.peers[0].failed,
            relay.peers[1].failed
        );
    }
    while !r.0.is_empty() {
        let b = r.byte();
        let from = usize::from(b & 1);
        match (b >> 1) % 11 {
            0 => relay.deliver(from, Tamper::None),
            1 => {
                relay.flush();
            }
            2 => {
                let at = usize::from(r.u16());
                let mask = r.byte() | 1;
                relay.deliver(from, Tamper::Flip { at, mask });
            }
            3 => relay.deliver(from, Tamper::Drop),
            4 => relay.deliver(from, Tamper::Duplicate),
            5 => relay.deliver(from, Tamper::Swap),
            6 => {
                let len = usize::from(r.byte());
                let bytes = r.bytes(len);
                relay.inject(from, &bytes);
            }
            7 | 8 => {
                let max = relay.peers[1 - from].config.max_msg_size;
                let msg = message(r, max);
                let frames = relay.peers[from].send(&msg);
                for frame in frames {
                    relay.push_sent(from, frame);
                }
            }
            9 => {
                let cmd = command(r);
                if let Some(frame) = relay.peers[from].command(&cmd) {
                    relay.push_sent(from, frame);
                }
            }
            _ => {
                let reply = verdict(r);
                relay.answer(reply);
            }
        }
        for p in &relay.peers {
            p.check_bounds();
        }
    }
    relay.finish();
}

/// What the man in the middle does to the next unit.
#[derive(Clone, Copy, Debug)]
enum Tamper {
    None,
    Flip { at: usize, mask: u8 },
    Drop,
    Duplicate,
    Swap,
}

struct Relay {
    /// The client, then the server.
    peers: [Peer; 2],
    /// Whole units written by `peers[i]`, not yet delivered.
    wire: [VecDeque<Vec<u8>>; 2],
    /// Frames sent by `peers[i]` once established (PONGs included).
    sent: [Vec<Frame>; 2],
    /// Which of `sent[i]` were delivered.
    used: [Vec<bool>; 2],
    /// Past the last frame of `sent[i]` that completed an event (a
    /// command, or the last frame of a message): events come in the
    /// order their last frame was received.
    cursor: [usize; 2],
    /// Past the last data frame of `sent[i]` delivered: the frames of
    /// messages come in order, but a message's first frames may be
    /// received before commands that are reported before it.
    data_cursor: [usize; 2],
    /// Whether the stream from `peers[i]` was altered.
    tampered: [bool; 2],
}

impl Relay {
    fn collect(&mut self, from: usize) {
        let units = self.peers[from].write();
        self.wire[from].extend(units);
    }

    fn deliver(&mut self, from: usize, tamper: Tamper) {
        self.collect(from);
        let Some(mut unit) = self.wire[from].pop_front() else {
            return;
        };
        match tamper {
            Tamper::None => {}
            Tamper::Flip { at, mask } => {
                let at = at % unit.len();
                unit[at] ^= mask;
                self.tampered[from] = true;
            }
            Tamper::Drop => {
                self.tampered[from] = true;
                return;
            }
            Tamper::Duplicate => {
                self.tampered[from] = true;
                self.wire[from].push_front(unit.clone());
            }
            Tamper::Swap => {
                let Some(next) = self.wire[from].pop_front() else {
                    self.wire[from].push_front(unit);
                    return;
                };
                self.tampered[from] = true;
                self.wire[from].push_front(unit);
                unit = next;
            }
        }
        self.give(1 - from, &unit);
    }

    fn inject(&mut self, from: usize, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.tampered[from] = true;
        self.give(1 - from, bytes);
    }

    /// Gives `bytes` to `peers[to]` and checks what comes out.
    fn give(&mut self, to: usize, bytes: &[u8]) {
        let from = 1 - to;
        let events = self.peers[to].feed(bytes);
        for (event, ponged) in events {
            match event {
                Event::Message(msg) => self.matched_message(from, &msg),
                Event::Command(cmd) => {
                    if ponged && let Command::Ping { context, .. } = &cmd {
                        let pong = Command::pong_for(context);
                        let frame = Frame {
                            body: encoded(&pong),
                            more: false,
                            command: true,
                            reported: true,
                        };
                        self.push_sent(to, frame);
                    }
                    let start = self.cursor[from];
                    let at = self.matched(from, start, &encoded(&cmd), false, true);
                    self.cursor[from] = at.map_or(start, |at| at + 1);
                }
                Event::Authenticate(_) | Event::Established(_) => {}
            }
        }
    }

    fn push_sent(&mut self, from: usize, frame: Frame) {
        self.sent[from].push(frame);
        self.used[from].push(false);
    }

    /// A message delivered from `peers[from]`: its frames must be ones
    /// it sent, in order, after the data frames delivered before; its
    /// last frame also after the last event's.
    fn matched_message(&mut self, from: usize, msg: &Message) {
        let last = msg.len() - 1;
        let mut start = self.data_cursor[from];
        for (i, body) in msg.iter().enumerate() {
            if i == last {
                start = start.max(self.cursor[from]);
            }
            if let Some(at) = self.matched(from, start, body, i < last, false) {
                start = at + 1;
            }
        }
        self.data_cursor[from] = start;
        self.cursor[from] = start;
    }

    /// A frame delivered from `peers[from]` must be one it sent, at
    /// `start` or later, not delivered before; returns its index (None
    /// for clear text a man in the middle changed: anything goes).
    fn matched(
        &mut self,
        from: usize,
        start: usize,
        body: &Bytes,
        more: bool,
        command: bool,
    ) -> Option<usize> {
        let curve = is_curve(&self.peers[from].config.mechanism);
        if self.tampered[from] && !curve {
            return None;
        }
        // Under CURVE tampering can only end the stream, never change
        // what comes out of it: the checks below hold either way.
        let found = (start..self.sent[from].len()).find(|&i| {
            let sent = &self.sent[from][i];
            let flags = sent.more == more && sent.command == command;
            !self.used[from][i] && sent.body == *body && flags
        });
        let Some(at) = found else {
            panic!("delivered a frame never sent: {body:?} more {more} command {command}");
        };
        // In order and complete: every reported frame before it was
        // delivered already, but for the first frames of a message
        // still being received when a command is.
        let skipped = (0..at).find(|&i| {
            let sent = &self.sent[from][i];
            !self.used[from][i] && sent.reported && (sent.command || !command)
        });
        assert_eq!(skipped, None, "an untouched stream lost a frame");
        self.used[from][at] = true;
        Some(at)
    }

    fn answer(&mut self, reply: AuthReply) {
        self.peers[1].answer(reply);
        // A verdict may complete the handshake with nothing more to read.
        self.give(1, &[]);
    }

    /// Delivers everything in flight, untouched; true if anything moved.
    fn flush(&mut self) -> bool {
        let mut moved = false;
        loop {
            self.collect(0);
            self.collect(1);
            if self.wire.iter().all(|w| w.is_empty()) {
                return moved;
            }
            moved = true;
            for from in 0..2 {
                while !self.wire[from].is_empty() {
                    self.deliver(from, Tamper::None);
                }
            }
        }
    }

    /// Flushes, approving any pending request, until nothing moves.
    fn settle(&mut self) {
        for _ in 0..16 {
            let moved = self.flush();
            if self.peers[1].asked {
                self.answer(AuthReply::allow());
            } else if !moved {
                return;
            }
        }
        panic!("no end to the exchange");
    }

    fn finish(mut self) {
        self.settle();
        for p in &mut self.peers {
            p.write();
            assert!(p.out_pending.is_empty(), "we wrote part of a frame");
            p.check_bounds();
        }
        for from in 0..2 {
            let to = 1 - from;
            if self.tampered[from] || self.peers[to].failed.is_some() {
                continue;
            }
            // An untouched direction to a live peer: all was delivered.
            let lost: Vec<&Frame> = (self.sent[from].iter().zip(&self.used[from]))
                .filter(|(f, used)| f.reported && !**used)
                .map(|(f, _)| f)
                .collect();
            assert!(lost.is_empty(), "never delivered: {lost:?}");
        }
        if let Some(reply) = &self.peers[1].refused
            && !self.tampered[1]
        {
            assert_eq!(
                self.peers[0].failed,
                Some(refusal_seen_by_peer(reply.status_code)),
                "the client did not see its refusal"
            );
        }
    }
}
