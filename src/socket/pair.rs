//! PAIR (RFC 31): exactly one peer. A second peer that connects while
//! the first is there is refused: its pipes are closed, which closes its
//! connection. Sending blocks while there is no peer or it is full.

use super::{Pattern, Peer};
use crate::options::Options;
use crate::pipe::{self, PipeId};
use crate::{Message, Result};

/// The PAIR routing rules.
#[derive(Default)]
pub(crate) struct Pair {
    peer: Option<Peer>,
}

impl Pair {
    /// Forgets the peer once both of its pipes are dead.
    fn check_gone(&mut self) {
        if self.peer.as_ref().is_some_and(|p| p.writer.is_closed()) {
            self.peer = None;
        }
    }
}

impl Pattern for Pair {
    fn attach(&mut self, peer: Peer, _options: &Options) {
        self.check_gone();
        if self.peer.is_none() {
            self.peer = Some(peer);
        } else {
            log::debug!("PAIR already has a peer: refusing another");
        }
    }

    fn readable(&mut self, _id: PipeId, _options: &Options) {}

    fn writable(&mut self, _id: PipeId, _options: &Options) {
        self.check_gone();
    }

    fn send(&mut self, msg: Message, _options: &Options) -> Result<Result<(), Message>> {
        self.check_gone();
        let Some(peer) = &self.peer else {
            return Ok(Err(msg));
        };
        Ok(match peer.writer.write(msg) {
            Ok(()) => Ok(()),
            Err(pipe::WriteError::Full(m) | pipe::WriteError::Closed(m)) => Err(m),
        })
    }

    fn can_send(&mut self, _options: &Options) -> bool {
        self.check_gone();
        self.peer
            .as_ref()
            .is_some_and(|p| p.writer.check_writable())
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        let Some(peer) = &mut self.peer else {
            return Ok(None);
        };
        Ok(match peer.reader.read() {
            pipe::Read::Message(m) => Some(m),
            pipe::Read::Empty => None,
            pipe::Read::Closed => {
                self.peer = None;
                None
            }
        })
    }
}
