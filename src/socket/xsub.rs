//! XSUB (RFC 29): a SUB whose subscriptions are messages. Sending
//! `\x01topic` subscribes and `\x00topic` cancels (the cancel goes out
//! only when no subscription to the topic is left, every subscribe goes
//! out so that verbose XPUBs upstream see it); any other message is sent
//! to every publisher. Received messages are not filtered. As for SUB, the
//! I/O thread sends every subscription again on each (re)connection.

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

use super::{Pattern, Peer, SocketShared};
use crate::options::Options;
use crate::pipe::{PipeId, PipeWriter, WriteError};
use crate::routing::fq::FairQueue;
use crate::routing::trie::CountedTrie;
use crate::zmtp::Subscription;
use crate::{Message, Result};

/// The XSUB routing rules.
pub(crate) struct XSub {
    fq: FairQueue,
    writers: HashMap<PipeId, PipeWriter>,
    shared: Arc<SocketShared>,
}

impl XSub {
    pub(crate) fn new(shared: Arc<SocketShared>) -> XSub {
        XSub {
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

impl Pattern for XSub {
    fn attach(&mut self, peer: Peer, _options: &Options) {
        if peer.info.is_some() {
            // See SUB: close the gap between the I/O thread's resend and
            // this peer's pipes being known.
            for topic in self.subscriptions().topics() {
                let sub = Subscription {
                    subscribe: true,
                    topic: topic.into(),
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

    fn send(&mut self, msg: Message, _options: &Options) -> Result<Result<(), Message>> {
        match Subscription::from_message(&msg) {
            Some(sub) => {
                let mut subscriptions = self.subscriptions();
                let forward = if sub.subscribe {
                    subscriptions.add(&sub.topic);
                    true
                } else {
                    subscriptions.remove(&sub.topic)
                };
                if forward {
                    for w in self.writers.values() {
                        let _ = w.write_control(msg.clone());
                    }
                }
            }
            None => {
                // Upstream data goes to every publisher; a full one misses
                // it, as libzmq's XSUB does.
                for w in self.writers.values() {
                    if let Err(WriteError::Full(_)) = w.write(msg.clone()) {
                        log::debug!("XSUB: a publisher is full, message dropped for it");
                    }
                }
            }
        }
        Ok(Ok(()))
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        Ok(self.fq.recv().map(|(_, m)| m))
    }
}
