//! PULL (RFC 30): fair-queued from the connected pushers. Never sends.

use super::{Pattern, Peer};
use crate::options::Options;
use crate::pipe::PipeId;
use crate::routing::peers::Peers;
use crate::{Error, Message, Result};

/// The PULL routing rules.
#[derive(Default)]
pub(crate) struct Pull {
    peers: Peers,
}

impl Pattern for Pull {
    fn attach(&mut self, peer: Peer, _options: &Options) {
        self.peers.attach(peer.id, peer.writer, peer.reader);
    }

    fn readable(&mut self, id: PipeId, _options: &Options) {
        self.peers.readable(id);
    }

    fn writable(&mut self, id: PipeId, _options: &Options) {
        self.peers.writable(id);
    }

    fn send(&mut self, _msg: Message, _options: &Options) -> Result<Result<(), Message>> {
        Err(Error::NotSupported("PULL sockets cannot send".into()))
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        Ok(self.peers.recv().map(|(_, m)| m))
    }
}
