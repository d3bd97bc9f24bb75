//! XSUB (RFC 29): a SUB whose subscriptions are messages. Sending
//! `\x01topic` subscribes and `\x00topic` cancels (the cancel goes out
//! only when no subscription to the topic is left, every subscribe goes
//! out so that verbose XPUBs upstream see it); any other message is sent
//! to every publisher. Received messages are not filtered. As for SUB, the
//! I/O thread sends every subscription again on each (re)connection.

use std::sync::Arc;

use super::subscribe::Upstream;
use super::{Pattern, Peer, SocketShared};
use crate::options::Options;
use crate::pipe::PipeId;
use crate::zmtp::{PeerInfo, Subscription};
use crate::{Message, Result};

/// The XSUB routing rules.
pub(crate) struct XSub {
    upstream: Upstream,
}

impl XSub {
    pub(crate) fn new(shared: Arc<SocketShared>) -> XSub {
        XSub {
            upstream: Upstream::new(shared),
        }
    }
}

impl Pattern for XSub {
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

    fn send(&mut self, msg: Message, _options: &Options) -> Result<Result<(), Message>> {
        match Subscription::from_message(&msg) {
            Some(sub) => self.upstream.change(sub.subscribe, &sub.topic, true),
            None => self.upstream.send_to_all(&msg),
        }
        Ok(Ok(()))
    }

    fn can_send(&mut self, _options: &Options) -> bool {
        true
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        Ok(self.upstream.recv())
    }
}
