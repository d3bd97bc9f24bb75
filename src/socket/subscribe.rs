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

use std::sync::{Arc, MutexGuard};

use bytes::Bytes;

use super::{Pattern, Peer, SocketShared};
use crate::options::Options;
use crate::pipe::{PipeId, PipeWriter, WriteError};
use crate::routing::peers::Peers;
use crate::routing::trie::CountedTrie;
use crate::zmtp::{PeerInfo, Subscription};
use crate::{Error, Message, Result};

/// What SUB and XSUB share: the publishers' pipes, fair-queued in, and
/// the subscriptions sent to them.
pub(crate) struct Upstream {
    peers: Peers,
    shared: Arc<SocketShared>,
}

impl Upstream {
    pub(crate) fn new(shared: Arc<SocketShared>) -> Upstream {
        Upstream {
            peers: Peers::default(),
            shared,
        }
    }

    /// The socket's subscriptions (shared with the I/O thread).
    pub(crate) fn subscriptions(&self) -> MutexGuard<'_, CountedTrie> {
        self.shared
            .subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn attach(&mut self, peer: Peer) {
        if peer.info.is_some() {
            // An accepted peer: the I/O thread sent every subscription at
            // its handshake, but one made since then reached no pipe of
            // this peer; an inproc peer has no I/O thread at all. Sending
            // all again covers both.
            self.send_all(&peer.writer);
        }
        self.peers.attach(peer.id, peer.writer, peer.reader);
    }

    /// A connect's peer completed its handshake; an inproc one was bound
    /// and has no I/O thread to send it our subscriptions.
    pub(crate) fn handshaken(&mut self, id: PipeId, inproc: bool) {
        if inproc && let Some(w) = self.peers.writer(id) {
            self.send_all(w);
        }
    }

    fn send_all(&self, writer: &PipeWriter) {
        for topic in self.subscriptions().topics() {
            let sub = Subscription {
                subscribe: true,
                topic: Bytes::from(topic),
            };
            let _ = writer.write_control(sub.to_message());
        }
    }

    pub(crate) fn readable(&mut self, id: PipeId) {
        self.peers.readable(id);
    }

    pub(crate) fn writable(&mut self, id: PipeId) {
        self.peers.writable(id);
    }

    /// The next message from any publisher, fair-queued.
    pub(crate) fn recv(&mut self) -> Option<Message> {
        self.peers.recv().map(|(_, m)| m)
    }

    /// Counts a subscription change and tells every publisher when it
    /// matters: a cancel only when it was the last, a subscribe when it is
    /// the first (or always, with `every_subscribe`, as XSUB does so that
    /// verbose XPUBs upstream see each one).
    pub(crate) fn change(&self, subscribe: bool, topic: &[u8], every_subscribe: bool) {
        let mut subscriptions = self.subscriptions();
        let changed = if subscribe {
            subscriptions.add(topic) || every_subscribe
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
            for w in self.peers.writers() {
                let _ = w.write_control(msg.clone());
            }
        }
    }

    /// Sends a data message to every publisher; a full one misses it.
    pub(crate) fn send_to_all(&self, msg: &Message) {
        for w in self.peers.writers() {
            if let Err(WriteError::Full(_)) = w.write(msg.clone()) {
                log::debug!("a publisher is full, message dropped for it");
            }
        }
    }
}

/// The SUB routing rules.
pub(crate) struct Sub {
    upstream: Upstream,
}

impl Sub {
    pub(crate) fn new(shared: Arc<SocketShared>) -> Sub {
        Sub {
            upstream: Upstream::new(shared),
        }
    }
}

impl Pattern for Sub {
    fn attach(&mut self, peer: Peer, _options: &Options) {
        self.upstream.attach(peer);
    }

    fn handshaken(&mut self, id: PipeId, _info: PeerInfo, inproc: bool, _options: &Options) {
        self.upstream.handshaken(id, inproc);
    }

    fn readable(&mut self, id: PipeId, _options: &Options) {
        self.upstream.readable(id);
    }

    fn writable(&mut self, id: PipeId, _options: &Options) {
        self.upstream.writable(id);
    }

    fn send(&mut self, _msg: Message, _options: &Options) -> Result<Result<(), Message>> {
        Err(Error::NotSupported(
            "SUB sockets cannot send; use subscribe and unsubscribe".into(),
        ))
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        while let Some(msg) = self.upstream.recv() {
            if self.upstream.subscriptions().matches(&msg[0]) {
                return Ok(Some(msg));
            }
        }
        Ok(None)
    }

    fn subscribe(&mut self, topic: &[u8], subscribe: bool) -> Result<()> {
        self.upstream.change(subscribe, topic, false);
        Ok(())
    }
}
