//! PULL (RFC 30): fair-queued from the connected pushers. Never sends.

use std::collections::HashMap;

use super::{Pattern, Peer};
use crate::options::Options;
use crate::pipe::{PipeId, PipeWriter};
use crate::routing::fq::FairQueue;
use crate::{Error, Message, Result};

/// The PULL routing rules.
#[derive(Default)]
pub(crate) struct Pull {
    fq: FairQueue,
    /// The outbound ends are kept (unused) for as long as the peer is, as
    /// closing one tells the engine the socket has let go of that peer.
    writers: HashMap<PipeId, PipeWriter>,
}

impl Pattern for Pull {
    fn attach(&mut self, peer: Peer, _options: &Options) {
        self.writers.insert(peer.id, peer.writer);
        self.fq.attach(peer.reader);
    }

    fn readable(&mut self, id: PipeId, _options: &Options) {
        self.fq.activated(id);
    }

    fn writable(&mut self, id: PipeId, _options: &Options) {
        // The engine closed the peer's outbound pipe: the peer is gone.
        // Its inbound pipe is closed too and drains through `fq`.
        if self.writers.get(&id).is_some_and(PipeWriter::is_closed) {
            self.writers.remove(&id);
        }
    }

    fn send(&mut self, _msg: Message, _options: &Options) -> Result<Result<(), Message>> {
        Err(Error::NotSupported("PULL sockets cannot send".into()))
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        Ok(self.fq.recv().map(|(_, m)| m))
    }
}
