//! REQ (RFC 28): strict request-reply. Each request goes round-robin to
//! one peer with an empty delimiter frame in front; the reply is taken
//! only from that peer, its delimiter checked and stripped. `send` twice
//! or `recv` before `send` is [`Error::InvalidState`] (libzmq's EFSM).
//!
//! State machine: `Ready --send--> Waiting { pipe } --reply--> Ready`.
//! Messages from other peers, or replies without a delimiter, are
//! discarded.

use std::collections::HashMap;

use bytes::Bytes;

use super::{Pattern, Peer};
use crate::options::Options;
use crate::pipe::{self, PipeId, PipeReader};
use crate::routing::lb::LoadBalancer;
use crate::{Error, Message, Result};

/// Where a REQ socket is in its request-reply cycle.
#[derive(Debug, Default, PartialEq, Eq)]
enum State {
    /// May send a request.
    #[default]
    Ready,
    /// Sent a request through `pipe`; waits for its reply.
    Waiting { pipe: PipeId },
}

/// The REQ routing rules.
#[derive(Default)]
pub(crate) struct Req {
    lb: LoadBalancer,
    readers: HashMap<PipeId, PipeReader>,
    state: State,
}

impl Req {
    fn set_state(&mut self, state: State) {
        log::trace!("REQ: {:?} -> {:?}", self.state, state);
        self.state = state;
    }

    /// Throws away what a peer sent that is not an awaited reply, so that
    /// its connection is not stalled by a full queue.
    fn discard_from(&mut self, id: PipeId) {
        let Some(reader) = self.readers.get_mut(&id) else {
            return;
        };
        loop {
            match reader.read() {
                pipe::Read::Message(_) => log::debug!("REQ: discarding an unexpected message"),
                pipe::Read::Empty => return,
                pipe::Read::Closed => {
                    self.readers.remove(&id);
                    return;
                }
            }
        }
    }
}

impl Pattern for Req {
    fn attach(&mut self, peer: Peer) {
        self.lb.attach(peer.writer);
        self.readers.insert(peer.id, peer.reader);
    }

    fn readable(&mut self, id: PipeId) {
        if self.state != (State::Waiting { pipe: id }) {
            self.discard_from(id);
        }
    }

    fn writable(&mut self, id: PipeId) {
        self.lb.activated(id);
    }

    fn send(&mut self, mut msg: Message, _options: &Options) -> Result<Result<(), Message>> {
        if self.state != State::Ready {
            return Err(Error::InvalidState(
                "a REQ socket must receive the reply before sending again",
            ));
        }
        msg.push_front(Bytes::new());
        match self.lb.send(msg) {
            Ok(pipe) => {
                // Anything that arrived from this peer before the request
                // cannot be its reply.
                self.discard_from(pipe);
                self.set_state(State::Waiting { pipe });
                Ok(Ok(()))
            }
            Err(mut back) => {
                back.pop_front();
                Ok(Err(back))
            }
        }
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        let State::Waiting { pipe } = self.state else {
            return Err(Error::InvalidState(
                "a REQ socket must send a request before receiving",
            ));
        };
        let Some(reader) = self.readers.get_mut(&pipe) else {
            return Ok(None);
        };
        loop {
            match reader.read() {
                pipe::Read::Message(mut m) => {
                    if m.len() >= 2 && m[0].is_empty() {
                        m.pop_front();
                        self.set_state(State::Ready);
                        return Ok(Some(m));
                    }
                    log::debug!("REQ: discarding a reply without a delimiter");
                }
                pipe::Read::Empty => return Ok(None),
                pipe::Read::Closed => {
                    // The peer is gone; as in libzmq, a strict REQ waits on.
                    self.readers.remove(&pipe);
                    return Ok(None);
                }
            }
        }
    }
}
