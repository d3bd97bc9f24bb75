//! BUS: a many-to-many socket of our own (`BUS` on the wire, paired only
//! with BUS). Every message sent goes to every directly connected peer,
//! whichever side connected; nothing is echoed back to its sender;
//! messages are received fair-queued from all peers. A peer whose queue
//! is full misses the message, counted for that peer and in total, so a
//! slow or dead peer never holds up the others.
//!
//! Each message carries an envelope, a first frame the application never
//! sees: the sending node's random 64-bit id, a sequence number and a hop
//! count (17 bytes). With it every node suppresses duplicates, so a
//! message that reaches a node twice (two connections between the same
//! pair of nodes, or two paths through relays) is delivered once; and a
//! node with [`set_bus_relay`](crate::Socket::set_bus_relay) on forwards
//! what it receives to all its other peers (never back to the one it came
//! from), so that meshes that are not full still reach every node, rings
//! included: a message that comes round a cycle is a duplicate and goes no
//! further.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};

use bytes::{BufMut, Bytes, BytesMut};

use super::{Pattern, Peer, Socket};
use crate::options::Options;
use crate::pipe::{PipeId, PipeWriter, WriteError};
use crate::routing::fq::FairQueue;
use crate::{Message, Result};

/// The envelope: origin (8 bytes), sequence (8), hops (1).
const ENVELOPE: usize = 17;
/// A relayed message goes at most this many hops from its origin.
const MAX_HOPS: u8 = 32;
/// Sequence numbers remembered per origin: a message arriving this many
/// messages late from its origin is taken for a duplicate.
const WINDOW: u64 = 1024;
/// Origins remembered; the oldest is forgotten past this.
const MAX_ORIGINS: usize = 4096;

/// One BUS peer as [`Socket::bus_peers`] reports it.
///
/// ```
/// use std::time::Duration;
/// use brokerless::{Context, SocketType};
///
/// let ctx = Context::new();
/// let alice = ctx.socket(SocketType::Bus)?;
/// alice.bind("tcp://127.0.0.1:*")?;
/// let bob = ctx.socket(SocketType::Bus)?;
/// bob.set_routing_id("bob")?; // the name alice's bus_peers shows
/// bob.connect(&alice.last_endpoint().unwrap())?;
///
/// // Once a message from bob has arrived, his handshake is done.
/// bob.send("hello from bob")?;
/// alice.set_recv_timeout(Some(Duration::from_secs(5)))?;
/// assert_eq!(&alice.recv()?[0], b"hello from bob");
///
/// let peers = alice.bus_peers()?;
/// assert_eq!(peers.len(), 1);
/// assert_eq!(&peers[0].routing_id[..], b"bob");
/// assert_eq!(peers[0].dropped, 0); // bob kept up
/// assert_eq!(alice.dropped_messages(), 0);
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BusPeer {
    /// The routing id the peer announced (its
    /// [`set_routing_id`](crate::Socket::set_routing_id); empty if none).
    pub routing_id: Bytes,
    /// Messages this peer missed because its queue was full.
    pub dropped: u64,
}

struct Link {
    writer: PipeWriter,
    routing_id: Bytes,
    dropped: u64,
}

/// Which sequence numbers of one origin were seen: the highest, and a
/// ring of `WINDOW` bits indexed by sequence number, holding the window
/// below it (a new highest clears only the bits it moves past).
struct Seen {
    top: u64,
    bits: [u64; (WINDOW / 64) as usize],
}

impl Seen {
    fn new(seq: u64) -> Seen {
        let mut s = Seen {
            top: seq,
            bits: [0; (WINDOW / 64) as usize],
        };
        s.set(seq);
        s
    }

    fn slot(seq: u64) -> (usize, u64) {
        let i = seq % WINDOW;
        ((i / 64) as usize, 1 << (i % 64))
    }

    fn set(&mut self, seq: u64) {
        let (word, bit) = Seen::slot(seq);
        self.bits[word] |= bit;
    }

    fn clear(&mut self, seq: u64) {
        let (word, bit) = Seen::slot(seq);
        self.bits[word] &= !bit;
    }

    fn get(&self, seq: u64) -> bool {
        let (word, bit) = Seen::slot(seq);
        self.bits[word] & bit != 0
    }

    /// Records `seq`; false if it was seen (or is too old to tell).
    fn insert(&mut self, seq: u64) -> bool {
        if seq > self.top {
            if seq - self.top >= WINDOW {
                self.bits = [0; (WINDOW / 64) as usize];
            } else {
                for s in self.top + 1..seq {
                    self.clear(s);
                }
            }
            self.top = seq;
            self.set(seq);
            return true;
        }
        if self.top - seq >= WINDOW || self.get(seq) {
            return false;
        }
        self.set(seq);
        true
    }
}

/// Duplicate suppression over all origins.
#[derive(Default)]
struct Dedup {
    origins: HashMap<u64, Seen>,
    order: VecDeque<u64>,
}

impl Dedup {
    /// Whether (origin, seq) is new; records it.
    fn first_time(&mut self, origin: u64, seq: u64) -> bool {
        if let Some(seen) = self.origins.get_mut(&origin) {
            return seen.insert(seq);
        }
        if self.origins.len() >= MAX_ORIGINS
            && let Some(oldest) = self.order.pop_front()
        {
            self.origins.remove(&oldest);
        }
        self.origins.insert(origin, Seen::new(seq));
        self.order.push_back(origin);
        true
    }
}

/// The BUS routing rules.
pub(crate) struct Bus {
    node: u64,
    seq: u64,
    links: HashMap<PipeId, Link>,
    fq: FairQueue,
    dedup: Dedup,
    dropped: u64,
}

impl Bus {
    pub(crate) fn new() -> Bus {
        let node = RandomState::new().hash_one((std::process::id(), std::time::Instant::now()));
        Bus {
            node,
            seq: 0,
            links: HashMap::new(),
            fq: FairQueue::default(),
            dedup: Dedup::default(),
            dropped: 0,
        }
    }

    /// Queues `msg` to every link but `except`; a full one misses it.
    fn fan_out(&mut self, msg: &Message, except: Option<PipeId>) {
        let mut gone = Vec::new();
        for (id, link) in &mut self.links {
            if Some(*id) == except {
                continue;
            }
            match link.writer.write(msg.clone()) {
                Ok(()) => {}
                Err(WriteError::Full(_)) => {
                    link.dropped += 1;
                    self.dropped += 1;
                }
                Err(WriteError::Closed(_)) => gone.push(*id),
            }
        }
        for id in gone {
            self.links.remove(&id);
        }
    }
}

fn envelope(origin: u64, seq: u64, hops: u8) -> Bytes {
    let mut b = BytesMut::with_capacity(ENVELOPE);
    b.put_u64(origin);
    b.put_u64(seq);
    b.put_u8(hops);
    b.freeze()
}

fn parse_envelope(frame: &[u8]) -> Option<(u64, u64, u8)> {
    if frame.len() != ENVELOPE {
        return None;
    }
    let origin = u64::from_be_bytes(frame[0..8].try_into().ok()?);
    let seq = u64::from_be_bytes(frame[8..16].try_into().ok()?);
    Some((origin, seq, frame[16]))
}

impl Pattern for Bus {
    fn attach(&mut self, peer: Peer, _options: &Options) {
        let routing_id = peer
            .info
            .as_ref()
            .map(|i| i.routing_id.clone())
            .unwrap_or_default();
        self.links.insert(
            peer.id,
            Link {
                writer: peer.writer,
                routing_id,
                dropped: 0,
            },
        );
        self.fq.attach(peer.reader);
    }

    fn handshaken(
        &mut self,
        id: PipeId,
        info: crate::zmtp::PeerInfo,
        _inproc: bool,
        _options: &Options,
    ) {
        if let Some(link) = self.links.get_mut(&id) {
            link.routing_id = info.routing_id;
        }
    }

    fn readable(&mut self, id: PipeId, _options: &Options) {
        self.fq.activated(id);
    }

    fn writable(&mut self, id: PipeId, _options: &Options) {
        if self.links.get(&id).is_some_and(|l| l.writer.is_closed()) {
            self.links.remove(&id);
        }
    }

    fn send(&mut self, msg: Message, _options: &Options) -> Result<Result<(), Message>> {
        self.seq += 1;
        let mut msg = msg;
        msg.push_front(envelope(self.node, self.seq, 0));
        self.fan_out(&msg, None);
        Ok(Ok(()))
    }

    fn can_send(&mut self, _options: &Options) -> bool {
        true
    }

    fn recv(&mut self, options: &Options) -> Result<Option<Message>> {
        while let Some((from, mut msg)) = self.fq.recv() {
            let parsed = msg.pop_front().as_deref().and_then(parse_envelope);
            let Some((origin, seq, hops)) = parsed else {
                log::warn!("BUS: dropping a message without a valid envelope");
                continue;
            };
            if msg.is_empty() || origin == self.node || !self.dedup.first_time(origin, seq) {
                continue;
            }
            if options.bus_relay && hops < MAX_HOPS {
                let mut relayed = msg.clone();
                relayed.push_front(envelope(origin, seq, hops + 1));
                self.fan_out(&relayed, Some(from));
            }
            return Ok(Some(msg));
        }
        Ok(None)
    }

    fn dropped(&self) -> u64 {
        self.dropped
    }

    fn bus_peers(&self) -> Option<Vec<BusPeer>> {
        Some(
            self.links
                .values()
                .map(|l| BusPeer {
                    routing_id: l.routing_id.clone(),
                    dropped: l.dropped,
                })
                .collect(),
        )
    }
}

impl Socket {
    /// BUS: the directly connected peers, with the messages each missed
    /// because its queue was full (their sum is
    /// [`dropped_messages`](Socket::dropped_messages)). Peers still
    /// connecting are included, with an empty routing id until their
    /// handshake.
    ///
    /// Errors: [`Error::NotSupported`](crate::Error::NotSupported) on
    /// other socket types.
    pub fn bus_peers(&self) -> Result<Vec<BusPeer>> {
        let mut st = self.lock()?;
        self.process_commands(&mut st);
        st.pattern
            .bus_peers()
            .ok_or_else(|| crate::Error::NotSupported("only BUS sockets have bus peers".into()))
    }

    /// BUS: forward every message received to all other peers (never back
    /// to the one it came from), so that nodes not directly connected
    /// still hear each other (off by default). Forwarding happens inside
    /// `recv`: a relay must keep receiving — [`relay`](crate::relay) does
    /// that for a node that only relays. Duplicates are suppressed on
    /// every node, relay or not, so cycles are harmless; a relayed message
    /// goes at most 32 hops.
    pub fn set_bus_relay(&self, on: bool) -> Result<()> {
        let mut st = self.lock()?;
        st.options.bus_relay = on;
        Ok(())
    }

    /// Whether this BUS relays.
    pub fn bus_relay(&self) -> bool {
        self.state.borrow().options.bus_relay
    }
}

/// Runs a BUS node that only relays: turns on
/// [`set_bus_relay`](Socket::set_bus_relay) and receives (and discards)
/// for ever, forwarding each message to the node's other peers. Returns
/// when the context is shut down (`Ok`), or with another error.
///
/// Here `left` and `right` are not connected to each other, only to the
/// relay between them, and still hear each other:
///
/// ```
/// use std::time::Duration;
/// use brokerless::{Context, MonitorEvent, SocketType};
///
/// let ctx = Context::new();
/// let left = ctx.socket(SocketType::Bus)?;
/// let left_monitor = left.monitor()?;
/// left.bind("tcp://127.0.0.1:*")?;
/// let right = ctx.socket(SocketType::Bus)?;
/// right.bind("inproc://right")?;
/// right.set_recv_timeout(Some(Duration::from_secs(5)))?;
///
/// let middle = ctx.socket(SocketType::Bus)?;
/// middle.connect(&left.last_endpoint().unwrap())?;
/// middle.connect("inproc://right")?;
/// let relay = std::thread::spawn(move || brokerless::relay(&middle));
///
/// // A BUS sends only to the peers it has: wait for the relay to arrive.
/// while !matches!(
///     left_monitor.recv_timeout(Duration::from_secs(5))?,
///     MonitorEvent::HandshakeSucceeded { .. }
/// ) {}
/// left.send("over the relay")?;
/// assert_eq!(&right.recv()?[0], b"over the relay");
///
/// ctx.shutdown(); // the relay returns Ok
/// assert!(relay.join().unwrap().is_ok());
/// # Ok::<(), brokerless::Error>(())
/// ```
pub fn relay(socket: &Socket) -> Result<()> {
    socket.set_bus_relay(true)?;
    loop {
        match socket.recv() {
            Ok(_) | Err(crate::Error::Timeout) => {}
            Err(crate::Error::Terminated) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_keeps_each_sequence_once() {
        let mut s = Seen::new(10);
        assert!(!s.insert(10));
        assert!(s.insert(12));
        assert!(s.insert(11));
        assert!(!s.insert(11));
        assert!(!s.insert(12));
        // Far ahead: the window moves, older numbers are taken as seen.
        assert!(s.insert(10 + WINDOW + 5));
        assert!(!s.insert(12));
        assert!(s.insert(10 + WINDOW + 4));
        assert!(!s.insert(10 + WINDOW + 4));
        // Just inside the window after a shift.
        let mut s = Seen::new(0);
        assert!(s.insert(WINDOW - 1));
        assert!(!s.insert(0));
        assert!(s.insert(1));
        assert!(!s.insert(1));
    }

    #[test]
    fn the_window_agrees_with_a_naive_model() {
        use std::collections::HashSet;
        let mut state = 12345u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut s = Seen::new(5000);
        let mut seen: HashSet<u64> = HashSet::from([5000]);
        let mut top = 5000u64;
        for _ in 0..100_000 {
            let r = next();
            // Mostly near the top, sometimes far ahead or far behind.
            let seq = match r % 10 {
                0 => top + r % 3000,
                1 => top.saturating_sub(r % 3000),
                _ => (top + r % 40).saturating_sub(20),
            };
            let expect = if seq > top {
                true
            } else {
                top - seq < WINDOW && !seen.contains(&seq)
            };
            assert_eq!(s.insert(seq), expect, "seq {seq} top {top}");
            if expect {
                seen.insert(seq);
                top = top.max(seq);
            }
        }
    }

    #[test]
    fn origins_are_bounded() {
        let mut d = Dedup::default();
        for o in 0..(MAX_ORIGINS as u64 + 10) {
            assert!(d.first_time(o, 1));
        }
        assert_eq!(d.origins.len(), MAX_ORIGINS);
        // The oldest were forgotten, so they look new again.
        assert!(d.first_time(0, 1));
        assert!(!d.first_time(MAX_ORIGINS as u64 + 9, 1));
    }

    #[test]
    fn envelopes_round_trip_and_bad_ones_are_refused() {
        let e = envelope(7, 9, 3);
        assert_eq!(parse_envelope(&e), Some((7, 9, 3)));
        assert_eq!(parse_envelope(&e[..16]), None);
        assert_eq!(parse_envelope(b""), None);
    }
}
