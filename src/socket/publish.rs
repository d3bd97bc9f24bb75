//! PUB (RFC 29): every message goes to each peer with a subscription that
//! is a prefix of its first frame; filtering happens here, in a
//! [`PipeTrie`]. A peer whose queue is full misses the message (counted in
//! `dropped`); the publisher never blocks. Subscriptions arrive from the
//! engines as 1/0-prefixed messages on the peers' inbound pipes and are
//! applied before each send.

use std::collections::{HashMap, HashSet};

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

/// The PUB routing rules.
#[derive(Default)]
pub(crate) struct Pub {
    peers: HashMap<PipeId, Subscriber>,
    trie: PipeTrie,
    matched: Vec<PipeId>,
    dropped: u64,
}

impl Pub {
    /// Applies the subscriptions waiting on `id`'s inbound pipe.
    fn read_subscriptions(&mut self, id: PipeId) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        loop {
            match peer.reader.read() {
                pipe::Read::Message(m) => match Subscription::from_message(&m) {
                    Some(s) if s.subscribe => {
                        self.trie.add(&s.topic, id);
                        peer.topics.insert(s.topic);
                    }
                    Some(s) => {
                        self.trie.remove(&s.topic, id);
                        peer.topics.remove(&s.topic);
                    }
                    None => log::debug!("PUB: ignoring a message from a subscriber"),
                },
                pipe::Read::Empty => return,
                pipe::Read::Closed => {
                    self.remove(id);
                    return;
                }
            }
        }
    }

    fn remove(&mut self, id: PipeId) {
        if let Some(peer) = self.peers.remove(&id) {
            for topic in peer.topics {
                self.trie.remove(&topic, id);
            }
        }
    }
}

impl Pattern for Pub {
    fn attach(&mut self, peer: Peer, _options: &Options) {
        self.peers.insert(
            peer.id,
            Subscriber {
                writer: peer.writer,
                reader: peer.reader,
                topics: HashSet::new(),
            },
        );
        self.read_subscriptions(peer.id);
    }

    fn readable(&mut self, id: PipeId) {
        self.read_subscriptions(id);
    }

    fn writable(&mut self, id: PipeId) {
        if self.peers.get(&id).is_some_and(|p| p.writer.is_closed()) {
            self.remove(id);
        }
    }

    fn send(&mut self, msg: Message, _options: &Options) -> Result<Result<(), Message>> {
        self.trie.matching(&msg[0], &mut self.matched);
        for id in &self.matched {
            let Some(peer) = self.peers.get(id) else {
                continue;
            };
            match peer.writer.write(msg.clone()) {
                Ok(()) => {}
                Err(WriteError::Full(_)) => self.dropped += 1,
                Err(WriteError::Closed(_)) => {}
            }
        }
        Ok(Ok(()))
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        Err(Error::NotSupported("PUB sockets cannot receive".into()))
    }

    fn subscribers(&self) -> Option<usize> {
        Some(self.peers.values().filter(|p| !p.topics.is_empty()).count())
    }

    fn dropped(&self) -> u64 {
        self.dropped
    }
}
