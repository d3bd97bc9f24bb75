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

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

use bytes::{BufMut, Bytes, BytesMut};

use super::{Pattern, Peer};
use crate::options::Options;
use crate::pipe::{PipeId, PipeWriter, WriteError};
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
    /// Peers whose routing id came from `connect_routing_id`.
    assigned: HashSet<PipeId>,
    /// Routing ids of peers that are gone but whose inbound pipe may still
    /// hold messages: those are delivered, with their id, as in libzmq.
    departed: HashMap<PipeId, Bytes>,
    next_id: u32,
}

impl Router {
    pub(crate) fn new() -> Router {
        Router {
            fq: FairQueue::default(),
            peers: HashMap::new(),
            by_routing_id: HashMap::new(),
            unidentified: HashMap::new(),
            assigned: HashSet::new(),
            departed: HashMap::new(),
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

    /// The routing id for a peer: the one assigned by
    /// `connect_routing_id`, else its announced `Identity`, else a
    /// generated one.
    fn routing_id_for(&mut self, assigned: Option<Bytes>, info: &PeerInfo) -> Bytes {
        match assigned {
            Some(id) => id,
            None if info.routing_id.is_empty() => self.generated_id(),
            None => info.routing_id.clone(),
        }
    }

    /// Makes a peer routable under `routing_id`. A peer whose id is in use
    /// is refused (its pipes dropped, which closes its connection), unless
    /// `router_handover` is on: then the older peer is dropped instead.
    fn identify(&mut self, peer: Peer, routing_id: Bytes, assigned: bool, options: &Options) {
        if let Some(&old) = self.by_routing_id.get(&routing_id) {
            if !options.router_handover {
                log::warn!("ROUTER: refusing a second peer with routing id {routing_id:?}");
                return;
            }
            log::debug!("ROUTER: routing id {routing_id:?} handed over to a new peer");
            self.forget(old);
            self.fq.remove(old);
            self.departed.remove(&old);
        }
        self.by_routing_id.insert(routing_id.clone(), peer.id);
        if assigned {
            self.assigned.insert(peer.id);
        }
        self.peers.insert(
            peer.id,
            Routed {
                writer: peer.writer,
                routing_id,
            },
        );
        self.fq.attach(peer.reader);
    }

    /// Stops routing to a peer whose connection is gone; what it sent
    /// before going is still received.
    fn forget(&mut self, id: PipeId) {
        self.assigned.remove(&id);
        if let Some(r) = self.peers.remove(&id) {
            self.by_routing_id.remove(&r.routing_id);
            if self.fq.contains(id) {
                self.departed.insert(id, r.routing_id);
            }
        }
    }

    /// Drops the ids of departed peers whose messages were all received.
    fn sweep_departed(&mut self) {
        let fq = &self.fq;
        self.departed.retain(|&id, _| fq.contains(id));
    }
}

impl Pattern for Router {
    fn attach(&mut self, mut peer: Peer, options: &Options) {
        match peer.info.clone() {
            Some(info) => {
                let assigned = peer.routing_id.is_some();
                let routing_id = self.routing_id_for(peer.routing_id.take(), &info);
                self.identify(peer, routing_id, assigned, options);
            }
            None => {
                self.unidentified.insert(peer.id, peer);
            }
        }
    }

    fn handshaken(&mut self, id: PipeId, info: PeerInfo, _inproc: bool, options: &Options) {
        if let Some(mut peer) = self.unidentified.remove(&id) {
            let assigned = peer.routing_id.is_some();
            let routing_id = self.routing_id_for(peer.routing_id.take(), &info);
            self.identify(peer, routing_id, assigned, options);
            return;
        }
        // A reconnection: the peer may announce another identity. An id
        // that was assigned or generated stays; an announced one follows
        // the peer.
        let Some(current) = self.peers.get(&id).map(|r| r.routing_id.clone()) else {
            return;
        };
        let announced = &info.routing_id;
        if announced.is_empty() || *announced == current || self.assigned.contains(&id) {
            return;
        }
        if self.by_routing_id.contains_key(announced) {
            log::warn!("ROUTER: reconnected peer announces routing id {announced:?}, in use");
            return;
        }
        self.by_routing_id.remove(&current);
        self.by_routing_id.insert(announced.clone(), id);
        if let Some(r) = self.peers.get_mut(&id) {
            r.routing_id = announced.clone();
        }
    }

    fn readable(&mut self, id: PipeId, _options: &Options) {
        self.fq.activated(id);
    }

    fn writable(&mut self, id: PipeId, _options: &Options) {
        if self.peers.get(&id).is_some_and(|r| r.writer.is_closed()) {
            self.forget(id);
        }
        self.sweep_departed();
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

    fn can_send(&mut self, options: &Options) -> bool {
        // A ROUTER drops what it cannot route; with router_mandatory it
        // waits for a full peer, so it is writable while one has room.
        !options.router_mandatory || self.peers.values().any(|p| p.writer.check_writable())
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        while let Some((pipe, mut msg)) = self.fq.recv() {
            let routing_id = match self.peers.get(&pipe) {
                Some(peer) => &peer.routing_id,
                None => match self.departed.get(&pipe) {
                    Some(id) => id,
                    None => continue,
                },
            };
            msg.push_front(routing_id.clone());
            return Ok(Some(msg));
        }
        self.sweep_departed();
        Ok(None)
    }
}
