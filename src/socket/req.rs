//! REQ (RFC 28): request-reply. Each request goes round-robin to one
//! peer with an empty delimiter frame in front; the reply is taken only
//! from that peer, its delimiter checked and stripped. By default the
//! lockstep is strict: `send` twice or `recv` before `send` is
//! [`Error::InvalidState`] (libzmq's EFSM).
//!
//! `req_relaxed` allows a new request at any time (for instance after a
//! receive timeout): the earlier request is abandoned and its reply, if it
//! ever comes, is discarded. Because such a late reply may come from the
//! same peer, `req_correlate` puts a 4-byte request id in front of the
//! delimiter and accepts only the reply that echoes the current one (in
//! host byte order, as libzmq).
//!
//! State machine: `Ready --send--> Waiting { pipe, request_id } --reply-->
//! Ready` (and `Waiting --send--> Waiting` when relaxed). Messages from
//! other peers, and replies that do not match, are discarded.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use bytes::Bytes;

use super::{Pattern, Peer};
use crate::options::Options;
use crate::pipe::{self, PipeId, PipeReader};
use crate::routing::lb::LoadBalancer;
use crate::{Error, Message, Result};

/// Where a REQ socket is in its request-reply cycle.
#[derive(Debug, PartialEq, Eq)]
enum State {
    /// May send a request.
    Ready,
    /// Sent a request through `pipe`; waits for its reply, which must
    /// echo `request_id` when correlating.
    Waiting {
        pipe: PipeId,
        request_id: Option<u32>,
    },
}

/// The REQ routing rules.
pub(crate) struct Req {
    lb: LoadBalancer,
    readers: HashMap<PipeId, PipeReader>,
    state: State,
    last_request_id: u32,
}

impl Req {
    pub(crate) fn new() -> Req {
        Req {
            lb: LoadBalancer::default(),
            readers: HashMap::new(),
            state: State::Ready,
            last_request_id: RandomState::new().hash_one(std::process::id()) as u32,
        }
    }

    fn waiting_on(&self, id: PipeId) -> bool {
        matches!(self.state, State::Waiting { pipe, .. } if pipe == id)
    }

    /// Takes the reply out of a message from the awaited peer, or `None`
    /// if the message is not that reply.
    fn unwrap_reply(mut m: Message, request_id: Option<u32>) -> Option<Message> {
        if let Some(id) = request_id {
            if m.get(0).map(|f| &f[..]) != Some(&id.to_ne_bytes()[..]) {
                return None;
            }
            m.pop_front();
        }
        if m.len() < 2 || !m[0].is_empty() {
            return None;
        }
        m.pop_front();
        Some(m)
    }

    fn set_state(&mut self, state: State) {
        log::trace!("REQ: {:?} -> {:?}", self.state, state);
        self.state = state;
    }

    /// Throws away what a peer sent that is not an awaited reply, so that
    /// its connection is not stalled by a full queue.
    fn discard_from(&mut self, id: PipeId) {
        discard(&mut self.readers, id);
    }
}

/// Drains the reader of pipe `id`, dropping its messages (and the reader
/// itself once its peer is gone).
fn discard(readers: &mut HashMap<PipeId, PipeReader>, id: PipeId) {
    let Some(reader) = readers.get_mut(&id) else {
        return;
    };
    loop {
        match reader.read() {
            pipe::Read::Message(_) => log::debug!("REQ: discarding an unexpected message"),
            pipe::Read::Empty => return,
            pipe::Read::Closed => {
                readers.remove(&id);
                return;
            }
        }
    }
}

impl Pattern for Req {
    fn attach(&mut self, peer: Peer, _options: &Options) {
        self.lb.attach(peer.writer);
        self.readers.insert(peer.id, peer.reader);
    }

    fn readable(&mut self, id: PipeId, _options: &Options) {
        if !self.waiting_on(id) {
            self.discard_from(id);
        }
    }

    fn writable(&mut self, id: PipeId, _options: &Options) {
        self.lb.activated(id);
    }

    fn send(&mut self, mut msg: Message, options: &Options) -> Result<Result<(), Message>> {
        if self.state != State::Ready && !options.req_relaxed {
            return Err(Error::InvalidState(
                "a REQ socket must receive the reply before sending again",
            ));
        }
        msg.push_front(Bytes::new());
        let request_id = options.req_correlate.then(|| {
            self.last_request_id = self.last_request_id.wrapping_add(1);
            self.last_request_id
        });
        if let Some(id) = request_id {
            msg.push_front(Bytes::copy_from_slice(&id.to_ne_bytes()));
        }
        // Anything that arrived from a peer before the request is written
        // to it cannot be the reply; clearing it afterwards could throw
        // away a quick reply.
        let readers = &mut self.readers;
        match self.lb.send_after(msg, |pipe| discard(readers, pipe)) {
            Ok(pipe) => {
                self.set_state(State::Waiting { pipe, request_id });
                Ok(Ok(()))
            }
            Err(mut back) => {
                if request_id.is_some() {
                    back.pop_front();
                }
                back.pop_front();
                Ok(Err(back))
            }
        }
    }

    fn can_send(&mut self, options: &Options) -> bool {
        (self.state == State::Ready || options.req_relaxed) && self.lb.has_room()
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        let State::Waiting { pipe, request_id } = self.state else {
            return Err(Error::InvalidState(
                "a REQ socket must send a request before receiving",
            ));
        };
        let Some(reader) = self.readers.get_mut(&pipe) else {
            return Ok(None);
        };
        loop {
            match reader.read() {
                pipe::Read::Message(m) => match Req::unwrap_reply(m, request_id) {
                    Some(reply) => {
                        self.set_state(State::Ready);
                        return Ok(Some(reply));
                    }
                    None => log::debug!("REQ: discarding a malformed or stale reply"),
                },
                pipe::Read::Empty => return Ok(None),
                pipe::Read::Closed => {
                    // The peer is gone; as in libzmq, a strict REQ waits
                    // on (a relaxed one may send a new request).
                    self.readers.remove(&pipe);
                    return Ok(None);
                }
            }
        }
    }
}
