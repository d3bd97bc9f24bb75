//! SUB (RFC 29): receives, fair-queued, the messages whose first frame
//! starts with one of its subscriptions. Subscriptions are counted (two
//! subscribes need two cancels); only the first subscribe and the last
//! cancel of a topic go to the peers, as 1/0-prefixed messages that the
//! engine sends in the form each peer's ZMTP version asks for. Messages
//! are filtered here too.
//!
//! The subscriptions live in [`SocketShared`] so that the I/O thread can
//! send all of them on every (re)connection by itself, without waiting
//! for the application to call the socket. A peer may therefore hear of a
//! subscription twice; publishers keep subscriptions as sets per peer
//! (libzmq's too), so that is harmless.

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

use bytes::Bytes;

use super::{Pattern, Peer, SocketShared};
use crate::options::Options;
use crate::pipe::{PipeId, PipeWriter};
use crate::routing::fq::FairQueue;
use crate::routing::trie::CountedTrie;
use crate::zmtp::Subscription;
use crate::{Error, Message, Result};

/// The SUB routing rules.
pub(crate) struct Sub {
    fq: FairQueue,
    writers: HashMap<PipeId, PipeWriter>,
    shared: Arc<SocketShared>,
}

impl Sub {
    pub(crate) fn new(shared: Arc<SocketShared>) -> Sub {
        Sub {
            fq: FairQueue::default(),
            writers: HashMap::new(),
            shared,
        }
    }

    fn subscriptions(&self) -> MutexGuard<'_, CountedTrie> {
        self.shared
            .subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

impl Pattern for Sub {
    fn attach(&mut self, peer: Peer, _options: &Options) {
        if peer.info.is_some() {
            // An accepted peer: the I/O thread sent every subscription at
            // its handshake, but one made since then reached no pipe of
            // this peer. Sending all again closes that gap.
            for topic in self.subscriptions().topics() {
                let sub = Subscription {
                    subscribe: true,
                    topic: Bytes::from(topic),
                };
                let _ = peer.writer.write_control(sub.to_message());
            }
        }
        self.writers.insert(peer.id, peer.writer);
        self.fq.attach(peer.reader);
    }

    fn readable(&mut self, id: PipeId, _options: &Options) {
        self.fq.activated(id);
    }

    fn writable(&mut self, id: PipeId, _options: &Options) {
        if self.writers.get(&id).is_some_and(PipeWriter::is_closed) {
            self.writers.remove(&id);
        }
    }

    fn send(&mut self, _msg: Message, _options: &Options) -> Result<Result<(), Message>> {
        Err(Error::NotSupported(
            "SUB sockets cannot send; use subscribe and unsubscribe".into(),
        ))
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        while let Some((_, msg)) = self.fq.recv() {
            if self.subscriptions().matches(&msg[0]) {
                return Ok(Some(msg));
            }
        }
        Ok(None)
    }

    fn subscribe(&mut self, topic: &[u8], subscribe: bool) -> Result<()> {
        let mut subscriptions = self.subscriptions();
        let changed = if subscribe {
            subscriptions.add(topic)
        } else {
            subscriptions.remove(topic)
        };
        // The change is queued to every pipe while the set is locked, so a
        // connection's full resend cannot slip between the two.
        if changed {
            let msg = Subscription {
                subscribe,
                topic: Bytes::copy_from_slice(topic),
            }
            .to_message();
            for w in self.writers.values() {
                let _ = w.write_control(msg.clone());
            }
        }
        Ok(())
    }
}
