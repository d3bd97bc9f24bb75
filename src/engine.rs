//! The engine: glue between one byte stream, its sans-IO
//! [`zmtp::Connection`](crate::zmtp::Connection) and the peer's pipes.
//!
//! It holds no protocol logic. Each call to [`Engine::drive`] moves data
//! as far as it can in both directions: delivers decoded messages into the
//! inbound pipe (stopping — and so stopping reading the stream — while
//! the pipe is full: TCP back-pressure, nothing dropped), reads large
//! chunks, encodes many outbound messages into one transmit batch, and
//! writes it with one vectored write per batch until the kernel says
//! WouldBlock. Readiness is edge-triggered, so the engine remembers
//! whether the stream may still be readable or writable.

use std::io::{self, IoSlice, Read, Write};
use std::time::Instant;

use bytes::BytesMut;

use crate::pipe::{self, PipeReader, PipeWriter, WriteError};
use crate::routing::trie::CountedTrie;
use crate::transport::Stream;
use crate::zmtp::{
    AuthReply, AuthRequest, Command, Config, Connection, Event, PeerInfo, Subscription,
};
use crate::{Message, ProtocolError, SocketType};

/// Stop pulling from the outbound pipe once this much is waiting to be
/// written: big enough to batch many small messages per syscall, small
/// enough to bound memory per connection.
const WRITE_BATCH: usize = 256 * 1024;
/// The smallest and largest read per syscall. The read size adapts: it
/// doubles while reads fill it, so a busy stream is read in large chunks
/// and a quiet one costs little per read.
const MIN_READ: usize = 8 * 1024;
const MAX_READ: usize = 1024 * 1024;
/// Vectored writes take at most this many slices.
const MAX_IOV: usize = 64;
/// Bytes one drive may move (read plus written) before it yields, so that
/// one busy connection cannot starve the others on its I/O thread.
const DRIVE_BUDGET: usize = 1024 * 1024;

/// The engine's ends of a peer's two pipes.
pub(crate) struct EnginePipes {
    /// Messages from the socket to send.
    pub outbound: PipeReader,
    /// Received messages for the socket.
    pub inbound: PipeWriter,
}

/// Why an engine stopped.
#[derive(Debug)]
pub(crate) enum EngineError {
    /// The peer closed the stream.
    Eof,
    /// The stream failed.
    Io(io::Error),
    /// The peer broke the protocol.
    Protocol(ProtocolError),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Eof => f.write_str("peer closed the connection"),
            EngineError::Io(e) => write!(f, "i/o error: {e}"),
            EngineError::Protocol(e) => write!(f, "protocol error: {e}"),
        }
    }
}

/// What a drive achieved.
pub(crate) enum Progress {
    /// Nothing more can be done until the next readiness or pipe event.
    Idle,
    /// The handshake completed; the caller attaches pipes if it has none
    /// yet, and drives again.
    Established(PeerInfo),
    /// The handshake needs the authenticator's verdict: the caller gets
    /// it and hands it to [`Engine::handle_auth`], then drives again.
    Authenticate(AuthRequest),
    /// The socket let go of this peer and everything queued was written.
    Finished,
    /// The drive used its budget with work left: the caller drives again
    /// after serving the other connections (readiness is edge-triggered,
    /// so no new event would come).
    Yielded,
}

/// What decoding found that ends a drive.
enum Handshake {
    Established(PeerInfo),
    Authenticate(AuthRequest),
}

/// One live connection.
pub(crate) struct Engine {
    stream: Stream,
    conn: Connection,
    input: ReadBuffer,
    read_size: usize,
    readable: bool,
    writable: bool,
    eof: bool,
    stalled: Option<Message>,
    outbound_closed: bool,
    /// Bytes moved by the current drive.
    moved: usize,
    /// The handshake completed at some point.
    handshaken: bool,
    /// SUB/XSUB: outbound 1/0-prefixed messages are subscriptions.
    sends_subscriptions: bool,
    /// PUB/XPUB: inbound SUBSCRIBE/CANCEL become 1/0-prefixed messages.
    takes_subscriptions: bool,
    /// DISH: outbound 1/0-prefixed messages are JOIN/LEAVE commands.
    sends_joins: bool,
    /// RADIO: inbound JOIN/LEAVE become 1/0-prefixed messages.
    takes_joins: bool,
    /// SUB and DISH: the topics or groups this peer was told of on this
    /// connection, so that each goes out once (see `send_control`).
    told: Option<std::collections::HashSet<bytes::Bytes>>,
    /// The last fill found the outbound pipe empty: nothing taken from it
    /// waits outside the transmit queue (a direct send may go now).
    outbound_idle: bool,
    /// A direct send's write failed; the next drive reports it.
    failed: Option<io::Error>,
    /// The I/O thread let go of this connection: no direct send.
    retired: bool,
    /// The peer's metadata, attached to every message it sends once a
    /// security mechanism or an authenticator was involved.
    meta: Option<std::sync::Arc<crate::zmtp::Properties>>,
}

/// What messages from this peer carry: its handshake metadata and its
/// user id, when the connection was secured or authenticated (a plain
/// NULL connection costs nothing per message).
fn peer_metadata(
    secured: bool,
    info: &PeerInfo,
) -> Option<std::sync::Arc<crate::zmtp::Properties>> {
    if !secured && info.user_id.is_empty() {
        return None;
    }
    let mut props = info.properties.clone();
    if let Err(e) = props.push(crate::message::USER_ID, info.user_id.clone()) {
        log::debug!("user id not attached: {e}");
    }
    Some(std::sync::Arc::new(props))
}

impl Engine {
    /// Starts the ZMTP exchange on a connected stream (our greeting is
    /// queued at once).
    pub(crate) fn new(stream: Stream, config: Config) -> Engine {
        let t = config.socket_type;
        Engine {
            sends_subscriptions: matches!(t, SocketType::Sub | SocketType::XSub),
            takes_subscriptions: matches!(t, SocketType::Pub | SocketType::XPub),
            sends_joins: t == SocketType::Dish,
            takes_joins: t == SocketType::Radio,
            told: matches!(t, SocketType::Sub | SocketType::Dish).then(Default::default),
            stream,
            conn: Connection::new(config),
            input: ReadBuffer::default(),
            read_size: MIN_READ,
            readable: true,
            writable: true,
            eof: false,
            stalled: None,
            outbound_closed: false,
            moved: 0,
            handshaken: false,
            outbound_idle: false,
            failed: None,
            retired: false,
            meta: None,
        }
    }

    /// Sends `msg` from the caller's thread, past the outbound pipe, if
    /// the connection is idle: established, nothing waiting to be written
    /// and nothing taken from the pipe still to encode. A write that the
    /// kernel only partly takes leaves the rest to the I/O thread (a
    /// writable edge follows). Returns whether the I/O thread must drive
    /// the engine now (the write failed).
    pub(crate) fn send_direct(&mut self, msg: Message) -> Result<bool, Message> {
        if self.retired
            || !self.conn.is_established()
            || !self.outbound_idle
            || self.outbound_closed
            || self.failed.is_some()
            || !self.conn.transmit().is_empty()
        {
            return Err(msg);
        }
        self.conn.send(&msg);
        match self.write() {
            Ok(_) => Ok(false),
            Err(EngineError::Io(e)) => {
                self.failed = Some(e);
                Ok(true)
            }
            Err(_) => Ok(true),
        }
    }

    /// Hands the authenticator's verdict to the handshake (after
    /// [`Progress::Authenticate`]); drive the engine again afterwards. A
    /// refusal queues an ERROR for the peer and is returned as the
    /// protocol error that ends the connection.
    pub(crate) fn handle_auth(&mut self, reply: AuthReply) -> Result<(), EngineError> {
        let result = self.conn.handle_auth(reply);
        if let Err(e) = result {
            // Best effort: let the peer read our ERROR.
            let _ = self.write();
            return Err(EngineError::Protocol(e));
        }
        Ok(())
    }

    /// The I/O thread stops serving this connection.
    pub(crate) fn retire(&mut self) {
        self.retired = true;
    }

    /// The stream, for (de)registration with the poller.
    pub(crate) fn stream_mut(&mut self) -> &mut Stream {
        &mut self.stream
    }

    /// SUB/XSUB: queues every subscription in `set` (after a handshake,
    /// before anything from the pipe), in the form the peer asks for.
    pub(crate) fn send_subscriptions(&mut self, set: &std::sync::Mutex<CountedTrie>) {
        if !self.sends_subscriptions && !self.sends_joins {
            return;
        }
        let topics = set.lock().unwrap_or_else(|e| e.into_inner()).topics();
        for topic in topics {
            self.send_control(&Subscription {
                subscribe: true,
                topic: topic.into(),
            });
        }
    }

    /// Queues a subscription change, or for a DISH a JOIN or LEAVE.
    ///
    /// A SUB or DISH tells each peer of a topic once per connection, and
    /// cancels only what it told: the full set sent at the handshake and
    /// the changes queued in the pipe meanwhile (or sent again when the
    /// socket attaches an accepted peer) overlap, and a peer that counts
    /// joins (libzmq's RADIO does) would otherwise need two LEAVEs.
    /// XSUB passes every message on as it is: verbose XPUBs upstream want
    /// each one.
    fn send_control(&mut self, sub: &Subscription) {
        if let Some(told) = &mut self.told {
            let fresh = if sub.subscribe {
                told.insert(sub.topic.clone())
            } else {
                told.remove(&sub.topic)
            };
            if !fresh {
                return;
            }
        }
        if self.sends_joins {
            let group = sub.topic.clone();
            self.conn.send_command(&if sub.subscribe {
                Command::Join(group)
            } else {
                Command::Leave(group)
            });
        } else {
            self.conn.send_subscription(sub);
        }
    }

    /// Records readiness reported by the poller.
    pub(crate) fn ready(&mut self, readable: bool, writable: bool) {
        self.readable |= readable;
        self.writable |= writable;
    }

    /// Whether the handshake has completed.
    /// (It stays true after a later failure, so that the failure is
    /// reported as a disconnection, not as a failed handshake.)
    pub(crate) fn is_established(&self) -> bool {
        self.handshaken
    }

    /// Whether nothing is left to send: the transmit queue is empty and
    /// the outbound pipe holds nothing.
    pub(crate) fn is_flushed(&mut self, pipes: Option<&mut EnginePipes>) -> bool {
        self.conn.transmit().is_empty()
            && pipes.is_none_or(|p| self.outbound_closed || !p.outbound.check_readable())
    }

    /// Moves data both ways until nothing more can be done now.
    pub(crate) fn drive(
        &mut self,
        pipes: Option<&mut EnginePipes>,
    ) -> Result<Progress, EngineError> {
        self.drive_with_budget(pipes, DRIVE_BUDGET)
    }

    /// [`Engine::drive`], yielding once `budget` bytes have moved.
    fn drive_with_budget(
        &mut self,
        mut pipes: Option<&mut EnginePipes>,
        budget: usize,
    ) -> Result<Progress, EngineError> {
        self.moved = 0;
        if let Some(e) = self.failed.take() {
            return Err(EngineError::Io(e));
        }
        self.tick()?;
        loop {
            let mut progress = false;
            if let Some(p) = pipes.as_deref_mut() {
                progress |= self.deliver_stalled(p);
            }
            match self.decode(pipes.as_deref_mut())? {
                Some(Handshake::Established(info)) => return Ok(Progress::Established(info)),
                Some(Handshake::Authenticate(request)) => {
                    // Our ERROR or WELCOME may wait; the verdict comes
                    // later, through `handle_auth`.
                    if self.writable && !self.conn.transmit().is_empty() {
                        self.write()?;
                    }
                    return Ok(Progress::Authenticate(request));
                }
                None => {}
            }
            // While the authenticator thinks, nothing more is read: the
            // peer cannot make us buffer without bound.
            if self.readable && self.stalled.is_none() && !self.eof && !self.conn.awaits_auth() {
                progress |= self.read()?;
            }
            if self.conn.is_established()
                && let Some(p) = pipes.as_deref_mut()
            {
                self.fill_transmit(p);
            }
            if self.writable && !self.conn.transmit().is_empty() {
                progress |= self.write()?;
            }
            if self.outbound_closed && self.conn.transmit().is_empty() {
                return Ok(Progress::Finished);
            }
            if self.eof && self.stalled.is_none() {
                return Err(EngineError::Eof);
            }
            if !progress {
                // What was decoded may have armed or cancelled deadlines.
                self.tick()?;
                if self.writable && !self.conn.transmit().is_empty() {
                    continue;
                }
                return Ok(Progress::Idle);
            }
            if self.moved >= budget {
                self.tick()?;
                return Ok(Progress::Yielded);
            }
        }
    }

    /// Advances the connection's heartbeat timers to now (a PING may be
    /// queued; a silent peer fails the connection).
    fn tick(&mut self) -> Result<(), EngineError> {
        self.conn
            .handle_timeout(Instant::now())
            .map_err(EngineError::Protocol)
    }

    /// When the heartbeat timers next need a [`Engine::drive`].
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.conn.poll_timeout()
    }

    /// Hands the message that found the inbound pipe full to the pipe
    /// again; returns whether it went.
    fn deliver_stalled(&mut self, pipes: &mut EnginePipes) -> bool {
        let Some(msg) = self.stalled.take() else {
            return false;
        };
        match pipes.inbound.write(msg) {
            Ok(()) | Err(WriteError::Closed(_)) => true,
            Err(WriteError::Full(msg)) => {
                self.stalled = Some(msg);
                false
            }
        }
    }

    /// Decodes buffered input into the inbound pipe until the input runs
    /// out or the pipe is full.
    fn decode(
        &mut self,
        pipes: Option<&mut EnginePipes>,
    ) -> Result<Option<Handshake>, EngineError> {
        let spare = self.input.detach_spare();
        let result = self.decode_data(pipes);
        self.input.attach_spare(spare);
        result
    }

    /// [`Engine::decode`] while `input.data` holds only unconsumed bytes.
    fn decode_data(
        &mut self,
        mut pipes: Option<&mut EnginePipes>,
    ) -> Result<Option<Handshake>, EngineError> {
        while self.stalled.is_none() {
            let event = match self.conn.handle_input(&mut self.input.data) {
                Ok(Some(ev)) => ev,
                Ok(None) => break,
                Err(e) => {
                    // Best effort: let the peer read our ERROR, if any.
                    let _ = self.write();
                    return Err(EngineError::Protocol(e));
                }
            };
            match event {
                Event::Established(info) => {
                    self.handshaken = true;
                    self.meta = peer_metadata(self.conn.secured(), &info);
                    return Ok(Some(Handshake::Established(info)));
                }
                Event::Authenticate(request) => {
                    return Ok(Some(Handshake::Authenticate(request)));
                }
                Event::Message(msg) => self.deliver(pipes.as_deref_mut(), msg),
                // A publisher's socket sees subscriptions as messages, the
                // form ZMTP 3.0 peers send them in anyway.
                Event::Command(Command::Subscribe(topic)) if self.takes_subscriptions => {
                    let sub = Subscription {
                        subscribe: true,
                        topic,
                    };
                    self.deliver(pipes.as_deref_mut(), sub.to_message());
                }
                Event::Command(Command::Cancel(topic)) if self.takes_subscriptions => {
                    let sub = Subscription {
                        subscribe: false,
                        topic,
                    };
                    self.deliver(pipes.as_deref_mut(), sub.to_message());
                }
                // A RADIO's socket sees joins and leaves as subscriptions.
                Event::Command(Command::Join(group)) if self.takes_joins => {
                    let sub = Subscription {
                        subscribe: true,
                        topic: group,
                    };
                    self.deliver(pipes.as_deref_mut(), sub.to_message());
                }
                Event::Command(Command::Leave(group)) if self.takes_joins => {
                    let sub = Subscription {
                        subscribe: false,
                        topic: group,
                    };
                    self.deliver(pipes.as_deref_mut(), sub.to_message());
                }
                // PING is answered by the core itself; other commands are
                // not for this socket type.
                Event::Command(_) => {}
            }
        }
        Ok(None)
    }

    /// Hands a received message to the socket; a full pipe stalls input.
    fn deliver(&mut self, pipes: Option<&mut EnginePipes>, mut msg: Message) {
        if let Some(meta) = &self.meta {
            msg.set_metadata(meta.clone());
        }
        if let Some(p) = pipes
            && let Err(WriteError::Full(msg)) = p.inbound.write(msg)
        {
            self.stalled = Some(msg);
        }
    }

    /// One read into the input buffer; returns whether bytes arrived.
    fn read(&mut self) -> Result<bool, EngineError> {
        let want = self.read_size.max(self.conn.read_hint().min(MAX_READ));
        let result = loop {
            match self.stream.read(self.input.spare(want)) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match result {
            Ok(0) => {
                self.eof = true;
                Ok(true)
            }
            Ok(n) => {
                self.input.commit(n);
                self.moved += n;
                if n >= want {
                    self.read_size = (self.read_size * 2).min(MAX_READ);
                } else if n < self.read_size / 4 {
                    self.read_size = (self.read_size / 2).max(MIN_READ);
                }
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.readable = false;
                Ok(false)
            }
            Err(e) => Err(EngineError::Io(e)),
        }
    }

    /// Encodes queued outbound messages until the batch is full.
    fn fill_transmit(&mut self, pipes: &mut EnginePipes) {
        while !self.outbound_closed && self.conn.transmit().len() < WRITE_BATCH {
            self.outbound_idle = false;
            match pipes.outbound.read() {
                pipe::Read::Message(msg) => match Subscription::from_message(&msg) {
                    Some(sub) if self.sends_subscriptions || self.sends_joins => {
                        self.send_control(&sub)
                    }
                    _ => self.conn.send(&msg),
                },
                pipe::Read::Empty => {
                    self.outbound_idle = true;
                    break;
                }
                pipe::Read::Closed => self.outbound_closed = true,
            }
        }
    }

    /// Writes as much of the transmit queue as the kernel takes; returns
    /// whether anything was written.
    fn write(&mut self) -> Result<bool, EngineError> {
        let mut wrote = false;
        while !self.conn.transmit().is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_IOV];
            let n = self.conn.transmit().io_slices(&mut slices);
            match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => return Err(EngineError::Io(io::ErrorKind::WriteZero.into())),
                Ok(written) => {
                    self.conn.transmit_mut().advance(written);
                    self.moved += written;
                    wrote = true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.writable = false;
                    break;
                }
                Err(e) => return Err(EngineError::Io(e)),
            }
        }
        Ok(wrote)
    }
}

/// The input buffer. `data` holds the bytes read and not yet consumed,
/// followed by `spare` bytes of room that an earlier read or resize
/// already initialised: reads go there directly, so memory is zeroed only
/// when the buffer grows, not before every read (that memset was 8% of
/// the receiver's instructions at 64 B messages).
///
/// While decoding, the spare room is split off so that the protocol core
/// sees only real bytes; both halves share one allocation, so splitting
/// and re-joining cost no copy.
#[derive(Default)]
struct ReadBuffer {
    data: BytesMut,
    spare: usize,
}

impl ReadBuffer {
    /// At least `want` bytes of room after the data (growing if needed).
    fn spare(&mut self, want: usize) -> &mut [u8] {
        let filled = self.data.len() - self.spare;
        if self.spare < want {
            // Drop the old room before reserving, so that the buffer can
            // take the new room from the space already consumed at its
            // front instead of allocating afresh (for an idle connection,
            // 8 KiB of its 22).
            self.data.truncate(filled);
            self.data.reserve(want);
            self.data.resize(filled + want, 0);
            self.spare = want;
        }
        &mut self.data[filled..]
    }

    /// `n` bytes were read into the room.
    fn commit(&mut self, n: usize) {
        self.spare -= n.min(self.spare);
    }

    /// Splits the room off, leaving only the data in `self.data`.
    fn detach_spare(&mut self) -> BytesMut {
        let filled = self.data.len() - self.spare;
        self.spare = 0;
        self.data.split_off(filled)
    }

    /// Puts the room back after the data (which may have been consumed
    /// from the front meanwhile).
    fn attach_spare(&mut self, spare: BytesMut) {
        self.spare = spare.len();
        self.data.unsplit(spare);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A drive that has moved its budget yields with work left, and the
    /// next drives carry on where it stopped: nothing is lost or reread.
    #[test]
    fn a_drive_yields_after_its_budget() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (ours, _) = listener.accept().unwrap();
        ours.set_nonblocking(true).unwrap();
        let stream = Stream::Tcp(mio::net::TcpStream::from_std(ours));
        let mut engine = Engine::new(stream, Config::new(SocketType::Pull));

        // A PUSH peer: greeting, READY, then 100 messages of 1,000 bytes.
        let mut wire = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1];
        wire.extend(b"NULL");
        wire.resize(64, 0);
        wire.extend(b"\x04\x1a\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH");
        for _ in 0..100 {
            wire.extend([0x02, 0, 0, 0, 0, 0, 0, 0x03, 0xE8]);
            wire.extend([5u8; 1000]);
        }
        peer.write_all(&wire).unwrap();

        let (in_w, mut in_r) = pipe::pipe(1, 0);
        let (_out_w, out_r) = pipe::pipe(1, 0);
        let mut pipes = EnginePipes {
            outbound: out_r,
            inbound: in_w,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !engine.is_established() {
            assert!(Instant::now() < deadline, "no handshake");
            engine.ready(true, true);
            match engine.drive_with_budget(None, usize::MAX).unwrap() {
                Progress::Established(_) => break,
                _ => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        let (mut received, mut yields) = (0, 0);
        while received < 100 {
            assert!(Instant::now() < deadline, "only {received} messages");
            engine.ready(true, false);
            match engine.drive_with_budget(Some(&mut pipes), 10_000).unwrap() {
                Progress::Yielded => yields += 1,
                Progress::Idle => std::thread::sleep(Duration::from_millis(1)),
                _ => {}
            }
            while let pipe::Read::Message(m) = in_r.read() {
                assert_eq!(m[0].len(), 1000);
                received += 1;
            }
        }
        // Without the budget one drive would take everything available.
        assert!(yields >= 2, "100 KB at 10 KB a drive: {yields} yields");
    }

    #[test]
    fn read_buffer_keeps_data_and_room_apart() {
        use super::ReadBuffer;
        let mut b = ReadBuffer::default();
        b.spare(8)[..3].copy_from_slice(b"abc");
        b.commit(3);
        let room = b.detach_spare();
        assert_eq!(&b.data[..], b"abc");
        assert_eq!(room.len(), 5);
        let _ = b.data.split_to(2);
        b.attach_spare(room);
        assert_eq!(b.spare(4)[..4], [0, 0, 0, 0]);
        b.spare(4)[..2].copy_from_slice(b"de");
        b.commit(2);
        let room = b.detach_spare();
        assert_eq!(&b.data[..], b"cde");
        b.attach_spare(room);
        // Asking for more room than there is grows the buffer.
        assert!(b.spare(100).len() >= 100);
        let _ = b.detach_spare();
        assert_eq!(&b.data[..], b"cde");
    }
}
