//! ROUTER (RFC 28): addresses peers by routing id. Each received message
//! gets the routing id of the peer it came from as its first frame; a sent
//! message's first frame names the peer to send the rest to.
//!
//! Routing ids: the peer's `Identity` from its READY if it sent a
//! non-empty one, else 5 bytes `00` + a 32-bit counter with a random start
//! (ids starting with 0 are reserved for these, as in libzmq). A peer
//! announcing an id already in use is refused (its connection closed).
//! Peers of pipes attached at `connect` are routable once their handshake
//! told us who they are.
//!
//! Sending to an unknown id or a full peer drops the message, unless
//! `router_mandatory` is on: then an unknown id is
//! [`Error::HostUnreachable`] and a full peer makes `send` wait.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use bytes::{BufMut, Bytes, BytesMut};

use super::{Pattern, Peer};
use crate::options::Options;
use crate::pipe::{PipeId, PipeReader, PipeWriter, WriteError};
use crate::routing::fq::FairQueue;
use crate::zmtp::PeerInfo;
use crate::{Error, Message, Result};

struct Routed {
    writer: PipeWriter,
    routing_id: Bytes,
}

/// The ROUTER routing rules.
pub(crate) struct Router {
    fq: FairQueue,
    peers: HashMap<PipeId, Routed>,
    by_routing_id: HashMap<Bytes, PipeId>,
    /// Peers attached at `connect` whose handshake has not completed.
    unidentified: HashMap<PipeId, Peer>,
    next_id: u32,
}

impl Router {
    pub(crate) fn new() -> Router {
        Router {
            fq: FairQueue::default(),
            peers: HashMap::new(),
            by_routing_id: HashMap::new(),
            unidentified: HashMap::new(),
            next_id: RandomState::new().hash_one(std::process::id()) as u32,
        }
    }

    fn generated_id(&mut self) -> Bytes {
        self.next_id = self.next_id.wrapping_add(1);
        let mut id = BytesMut::with_capacity(5);
        id.put_u8(0);
        id.put_u32(self.next_id);
        id.freeze()
    }

    /// Makes a peer routable under its announced or a generated id.
    fn identify(&mut self, id: PipeId, writer: PipeWriter, reader: PipeReader, info: &PeerInfo) {
        let routing_id = if info.routing_id.is_empty() {
            self.generated_id()
        } else if self.by_routing_id.contains_key(&info.routing_id) {
            log::warn!(
                "ROUTER: refusing a second peer with routing id {:?}",
                info.routing_id
            );
            return;
        } else {
            info.routing_id.clone()
        };
        self.by_routing_id.insert(routing_id.clone(), id);
        self.peers.insert(id, Routed { writer, routing_id });
        self.fq.attach(reader);
    }

    fn forget(&mut self, id: PipeId) {
        if let Some(r) = self.peers.remove(&id) {
            self.by_routing_id.remove(&r.routing_id);
        }
    }
}

impl Pattern for Router {
    fn attach(&mut self, peer: Peer) {
        match peer.info.clone() {
            Some(info) => self.identify(peer.id, peer.writer, peer.reader, &info),
            None => {
                self.unidentified.insert(peer.id, peer);
            }
        }
    }

    fn handshaken(&mut self, id: PipeId, info: PeerInfo) {
        // A reconnection may bring a peer with another identity: the old
        // id stops routing, the new one starts.
        if let Some(old) = self.peers.get(&id) {
            if old.routing_id == info.routing_id && !info.routing_id.is_empty() {
                return;
            }
            if info.routing_id.is_empty() && old.routing_id.first() == Some(&0) {
                return;
            }
            let routing_id = old.routing_id.clone();
            self.by_routing_id.remove(&routing_id);
            let generated = if info.routing_id.is_empty() {
                self.generated_id()
            } else {
                info.routing_id.clone()
            };
            if let Some(r) = self.peers.get_mut(&id) {
                r.routing_id = generated.clone();
            }
            self.by_routing_id.insert(generated, id);
            return;
        }
        if let Some(peer) = self.unidentified.remove(&id) {
            self.identify(peer.id, peer.writer, peer.reader, &info);
        }
    }

    fn readable(&mut self, id: PipeId) {
        self.fq.activated(id);
    }

    fn writable(&mut self, id: PipeId) {
        if self.peers.get(&id).is_some_and(|r| r.writer.is_closed()) {
            self.forget(id);
        }
        if self
            .unidentified
            .get(&id)
            .is_some_and(|p| p.writer.is_closed())
        {
            self.unidentified.remove(&id);
        }
    }

    fn send(&mut self, mut msg: Message, options: &Options) -> Result<Result<(), Message>> {
        let Some(routing_id) = msg.pop_front() else {
            return Ok(Ok(()));
        };
        let Some(pipe) = self.by_routing_id.get(&routing_id).copied() else {
            if options.router_mandatory {
                return Err(Error::HostUnreachable);
            }
            log::debug!("ROUTER: no peer {routing_id:?}, message dropped");
            return Ok(Ok(()));
        };
        if msg.is_empty() {
            // Only a routing id: nothing to send (as libzmq).
            return Ok(Ok(()));
        }
        let Some(peer) = self.peers.get(&pipe) else {
            return Ok(Ok(()));
        };
        match peer.writer.write(msg) {
            Ok(()) => Ok(Ok(())),
            Err(WriteError::Full(mut back)) if options.router_mandatory => {
                back.push_front(routing_id);
                Ok(Err(back))
            }
            Err(WriteError::Full(_)) => {
                log::debug!("ROUTER: peer {routing_id:?} full, message dropped");
                Ok(Ok(()))
            }
            Err(WriteError::Closed(_)) => {
                self.forget(pipe);
                if options.router_mandatory {
                    return Err(Error::HostUnreachable);
                }
                Ok(Ok(()))
            }
        }
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        while let Some((pipe, mut msg)) = self.fq.recv() {
            if let Some(peer) = self.peers.get(&pipe) {
                msg.push_front(peer.routing_id.clone());
                return Ok(Some(msg));
            }
        }
        Ok(None)
    }
}
