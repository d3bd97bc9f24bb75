//! DEALER (RFC 28): round-robin out to all peers, fair-queued in; blocks
//! when every peer is at its high-water mark or there is no peer.

use super::{Pattern, Peer};
use crate::options::Options;
use crate::pipe::PipeId;
use crate::routing::fq::FairQueue;
use crate::routing::lb::LoadBalancer;
use crate::{Message, Result};

/// The DEALER routing rules.
#[derive(Default)]
pub(crate) struct Dealer {
    lb: LoadBalancer,
    fq: FairQueue,
}

impl Pattern for Dealer {
    fn attach(&mut self, peer: Peer, _options: &Options) {
        self.lb.attach(peer.writer);
        self.fq.attach(peer.reader);
    }

    fn readable(&mut self, id: PipeId, _options: &Options) {
        self.fq.activated(id);
    }

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
        Ok(self.fq.recv().map(|(_, m)| m))
    }
}
