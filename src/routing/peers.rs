//! [`Peers`]: fair-queued receiving from every peer, with the peers'
//! outbound ends kept alongside — what PULL, REP, SUB and XSUB share.
//!
//! Keeping a peer's outbound end matters even for a socket that never
//! sends: closing it tells the engine the socket has let go of the peer.
//! An outbound end whose reader closed (the connection is gone) is
//! dropped; the inbound end drains through the fair queue first.

use std::collections::HashMap;

use super::fq::FairQueue;
use crate::Message;
use crate::pipe::{PipeId, PipeReader, PipeWriter};

/// Fair queue plus outbound ends, by pipe id.
#[derive(Default)]
pub(crate) struct Peers {
    fq: FairQueue,
    writers: HashMap<PipeId, PipeWriter>,
}

impl Peers {
    /// Adds a peer.
    pub(crate) fn attach(&mut self, id: PipeId, writer: PipeWriter, reader: PipeReader) {
        self.writers.insert(id, writer);
        self.fq.attach(reader);
    }

    /// The inbound pipe `id` reported data or closure.
    pub(crate) fn readable(&mut self, id: PipeId) {
        self.fq.activated(id);
    }

    /// The outbound pipe `id` reported room or closure.
    pub(crate) fn writable(&mut self, id: PipeId) {
        if self.writers.get(&id).is_some_and(PipeWriter::is_closed) {
            self.writers.remove(&id);
        }
    }

    /// The next message in fair order, with the pipe it came from.
    pub(crate) fn recv(&mut self) -> Option<(PipeId, Message)> {
        self.fq.recv()
    }

    /// The outbound end of peer `id`.
    pub(crate) fn writer(&self, id: PipeId) -> Option<&PipeWriter> {
        self.writers.get(&id)
    }

    /// Every peer's outbound end.
    pub(crate) fn writers(&self) -> impl Iterator<Item = &PipeWriter> {
        self.writers.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::pipe;

    #[test]
    fn a_gone_peer_is_dropped_after_its_messages() {
        let mut peers = Peers::default();
        let (out_w, out_r) = pipe(1, 0);
        let (in_w, in_r) = pipe(1, 0);
        peers.attach(1, out_w, in_r);
        in_w.write(Message::from("last")).unwrap();
        // The engine goes: both of its ends close.
        drop((out_r, in_w));
        peers.writable(1);
        assert!(peers.writer(1).is_none());
        assert_eq!(&peers.recv().unwrap().1[0], b"last");
        assert!(peers.recv().is_none());
    }
}
