//! PUSH (RFC 30): round-robin to the connected pullers; blocks when every
//! peer is at its high-water mark or there is no peer. Never receives.

use super::{Pattern, Peer};
use crate::options::Options;
use crate::pipe::PipeId;
use crate::routing::lb::LoadBalancer;
use crate::{Error, Message, Result};

/// The PUSH routing rules.
#[derive(Default)]
pub(crate) struct Push {
    lb: LoadBalancer,
}

impl Pattern for Push {
    fn attach(&mut self, peer: Peer, _options: &Options) {
        // Dropping the inbound end tells the engine to discard anything a
        // (misbehaving) peer sends.
        self.lb.attach(peer.writer);
    }

    fn readable(&mut self, _id: PipeId, _options: &Options) {}

    fn writable(&mut self, id: PipeId, _options: &Options) {
        self.lb.activated(id);
    }

    fn send(&mut self, msg: Message, _options: &Options) -> Result<Result<(), Message>> {
        Ok(self.lb.send(msg).map(|_| ()))
    }

    fn can_send(&mut self, _options: &Options) -> bool {
        self.lb.has_room()
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        Err(Error::NotSupported("PUSH sockets cannot receive".into()))
    }
}
