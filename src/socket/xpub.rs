//! PUB and XPUB (RFC 29): every message goes to each peer with a
//! subscription that is a prefix of its first frame; filtering happens
//! here, in a [`PipeTrie`] of per-peer subscription sets. A peer whose
//! queue is full misses the message (counted in `dropped`), so the
//! publisher never blocks — unless an XPUB has `xpub_nodrop`, in which
//! case `send` waits until every matching peer has room.
//!
//! Subscriptions arrive from the engines as 1/0-prefixed messages on the
//! peers' inbound pipes (see `zmtp::Subscription`) and are applied as soon
//! as the socket hears of them. An XPUB (PUB with `receives`) also hands
//! them to the application: the first subscription to a topic and the
//! last cancel of it (every subscription with `xpub_verbose`, every
//! subscription and cancel with `xpub_verboser`), a cancel for each topic
//! a departing peer was the last subscriber of, and any other message a
//! peer sends. As in libzmq, PUB is XPUB without that receiving side.

use std::collections::{HashMap, HashSet, VecDeque};

use bytes::Bytes;

use super::{Pattern, Peer};
use crate::options::Options;
use crate::pipe::{self, PipeId, PipeReader, PipeWriter, WriteError};
use crate::routing::trie::PipeTrie;
use crate::zmtp::Subscription;
use crate::{Error, Message, Result};

struct Subscriber {
    writer: PipeWriter,
    reader: PipeReader,
    topics: HashSet<Bytes>,
}

/// The PUB and XPUB routing rules.
pub(crate) struct XPub {
    /// XPUB: the application receives subscriptions.
    receives: bool,
    peers: HashMap<PipeId, Subscriber>,
    trie: PipeTrie,
    matched: Vec<PipeId>,
    dropped: u64,
    /// What an XPUB application has yet to receive.
    pending: VecDeque<Message>,
}

impl XPub {
    /// A PUB (`receives` false) or an XPUB.
    pub(crate) fn new(receives: bool) -> XPub {
        XPub {
            receives,
            peers: HashMap::new(),
            trie: PipeTrie::default(),
            matched: Vec::new(),
            dropped: 0,
            pending: VecDeque::new(),
        }
    }

    fn report(&mut self, subscribe: bool, topic: Bytes) {
        if self.receives {
            self.pending
                .push_back(Subscription { subscribe, topic }.to_message());
        }
    }

    /// Applies the subscriptions waiting on `id`'s inbound pipe.
    fn read_subscriptions(&mut self, id: PipeId, options: &Options) {
        loop {
            let Some(peer) = self.peers.get_mut(&id) else {
                return;
            };
            let msg = match peer.reader.read() {
                pipe::Read::Message(m) => m,
                pipe::Read::Empty => return,
                pipe::Read::Closed => {
                    self.remove(id);
                    return;
                }
            };
            match Subscription::from_message(&msg) {
                Some(Subscription {
                    subscribe: true,
                    topic,
                }) => {
                    let first = !self.trie.has_topic(&topic);
                    self.trie.add(&topic, id);
                    peer.topics.insert(topic.clone());
                    if first || options.xpub_verbose || options.xpub_verboser {
                        self.report(true, topic);
                    }
                }
                Some(Subscription {
                    subscribe: false,
                    topic,
                }) => {
                    let had = self.trie.remove(&topic, id);
                    peer.topics.remove(&topic);
                    let last = had && !self.trie.has_topic(&topic);
                    if last || (had && options.xpub_verboser) {
                        self.report(false, topic);
                    }
                }
                None if self.receives => self.pending.push_back(msg),
                None => log::debug!("PUB: ignoring a message from a subscriber"),
            }
        }
    }

    /// Forgets a departed peer; its topics nobody else wants are reported
    /// cancelled.
    fn remove(&mut self, id: PipeId) {
        if let Some(peer) = self.peers.remove(&id) {
            for topic in peer.topics {
                self.trie.remove(&topic, id);
                if !self.trie.has_topic(&topic) {
                    self.report(false, topic);
                }
            }
        }
    }

    fn read_all(&mut self, options: &Options) {
        let ids: Vec<PipeId> = self.peers.keys().copied().collect();
        for id in ids {
            self.read_subscriptions(id, options);
        }
    }
}

impl Pattern for XPub {
    fn attach(&mut self, peer: Peer, options: &Options) {
        if let Some(welcome) = &options.xpub_welcome_msg {
            let _ = peer.writer.write_control(welcome.clone());
        }
        self.peers.insert(
            peer.id,
            Subscriber {
                writer: peer.writer,
                reader: peer.reader,
                topics: HashSet::new(),
            },
        );
        self.read_subscriptions(peer.id, options);
    }

    fn readable(&mut self, id: PipeId, options: &Options) {
        self.read_subscriptions(id, options);
    }

    fn writable(&mut self, id: PipeId, _options: &Options) {
        if self.peers.get(&id).is_some_and(|p| p.writer.is_closed()) {
            self.remove(id);
        }
    }

    fn send(&mut self, msg: Message, options: &Options) -> Result<Result<(), Message>> {
        self.trie.matching(&msg[0], &mut self.matched);
        if self.receives && options.xpub_nodrop {
            // All or nothing: wait until every matching peer has room.
            let full = self.matched.iter().any(|id| {
                self.peers
                    .get(id)
                    .is_some_and(|p| !p.writer.check_writable())
            });
            if full {
                return Ok(Err(msg));
            }
        }
        for id in &self.matched {
            let Some(peer) = self.peers.get(id) else {
                continue;
            };
            match peer.writer.write(msg.clone()) {
                Ok(()) | Err(WriteError::Closed(_)) => {}
                Err(WriteError::Full(_)) => self.dropped += 1,
            }
        }
        Ok(Ok(()))
    }

    fn can_send(&mut self, options: &Options) -> bool {
        // PUB drops for a full subscriber, so it never waits; with
        // xpub_nodrop an XPUB waits for every subscriber to have room.
        !(self.receives && options.xpub_nodrop)
            || self.peers.values().all(|p| p.writer.check_writable())
    }

    fn recv(&mut self, options: &Options) -> Result<Option<Message>> {
        if !self.receives {
            return Err(Error::NotSupported("PUB sockets cannot receive".into()));
        }
        if self.pending.is_empty() {
            // Subscriptions may wait in pipes that gave no new edge.
            self.read_all(options);
        }
        Ok(self.pending.pop_front())
    }

    fn subscribers(&self) -> Option<usize> {
        Some(self.peers.values().filter(|p| !p.topics.is_empty()).count())
    }

    fn dropped(&self) -> u64 {
        self.dropped
    }
}
