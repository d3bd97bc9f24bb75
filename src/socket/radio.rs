//! RADIO (RFC 48, a draft in libzmq): each message belongs to a group and
//! goes to every DISH that joined exactly that group. A DISH whose queue
//! is full misses the message (counted in `dropped`): the radio never
//! blocks.
//!
//! A message is two frames, `[group, body]` (see
//! [`Message::with_group`]), the form it has on the wire too. Joins and
//! leaves arrive from the engines (which turn the peers' JOIN and LEAVE
//! commands into 1/0-prefixed messages, as subscriptions are) or, from
//! inproc DISHes, as those messages themselves.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;

use super::{Pattern, Peer};
use crate::options::Options;
use crate::pipe::{self, PipeId, PipeReader, PipeWriter, WriteError};
use crate::zmtp::Subscription;
use crate::{Error, Message, Result};

/// The longest group name, as in libzmq.
pub(crate) const MAX_GROUP: usize = 255;

/// Checks a message for RADIO: a group of at most 255 bytes and a body.
pub(crate) fn check_grouped(msg: &Message) -> Result<()> {
    if msg.len() != 2 {
        return Err(Error::InvalidArgument(format!(
            "a RADIO message is [group, body] (see Message::with_group), not {} frames",
            msg.len()
        )));
    }
    if msg[0].len() > MAX_GROUP {
        return Err(Error::InvalidArgument(format!(
            "a group is at most {MAX_GROUP} bytes, not {}",
            msg[0].len()
        )));
    }
    Ok(())
}

struct Dish {
    writer: PipeWriter,
    reader: PipeReader,
    groups: HashSet<Bytes>,
}

/// The RADIO routing rules.
#[derive(Default)]
pub(crate) struct Radio {
    peers: HashMap<PipeId, Dish>,
    /// Who joined each group.
    groups: HashMap<Bytes, Vec<PipeId>>,
    dropped: u64,
}

impl Radio {
    /// Applies the joins and leaves waiting on `id`'s inbound pipe.
    fn read_joins(&mut self, id: PipeId) {
        loop {
            let Some(peer) = self.peers.get_mut(&id) else {
                return;
            };
            let msg = match peer.reader.read() {
                pipe::Read::Message(m) => m,
                pipe::Read::Empty => return,
                pipe::Read::Closed => {
                    self.remove(id);
                    return;
                }
            };
            match Subscription::from_message(&msg) {
                Some(Subscription {
                    subscribe: true,
                    topic,
                }) => {
                    if peer.groups.insert(topic.clone()) {
                        self.groups.entry(topic).or_default().push(id);
                    }
                }
                Some(Subscription {
                    subscribe: false,
                    topic,
                }) => {
                    if peer.groups.remove(&topic) {
                        self.forget(&topic, id);
                    }
                }
                None => log::debug!("RADIO: ignoring a message from a dish"),
            }
        }
    }

    fn forget(&mut self, group: &Bytes, id: PipeId) {
        if let Some(members) = self.groups.get_mut(group) {
            members.retain(|m| *m != id);
            if members.is_empty() {
                self.groups.remove(group);
            }
        }
    }

    fn remove(&mut self, id: PipeId) {
        if let Some(peer) = self.peers.remove(&id) {
            for group in &peer.groups {
                self.forget(group, id);
            }
        }
    }
}

impl Pattern for Radio {
    fn attach(&mut self, peer: Peer, _options: &Options) {
        self.peers.insert(
            peer.id,
            Dish {
                writer: peer.writer,
                reader: peer.reader,
                groups: HashSet::new(),
            },
        );
        self.read_joins(peer.id);
    }

    fn readable(&mut self, id: PipeId, _options: &Options) {
        self.read_joins(id);
    }

    fn writable(&mut self, id: PipeId, _options: &Options) {
        if self.peers.get(&id).is_some_and(|p| p.writer.is_closed()) {
            self.remove(id);
        }
    }

    fn send(&mut self, msg: Message, _options: &Options) -> Result<Result<(), Message>> {
        check_grouped(&msg)?;
        let Some(members) = self.groups.get(&msg[0]) else {
            return Ok(Ok(()));
        };
        for id in members {
            let Some(peer) = self.peers.get(id) else {
                continue;
            };
            match peer.writer.write(msg.clone()) {
                Ok(()) | Err(WriteError::Closed(_)) => {}
                Err(WriteError::Full(_)) => self.dropped += 1,
            }
        }
        Ok(Ok(()))
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        Err(Error::NotSupported("RADIO sockets cannot receive".into()))
    }

    fn subscribers(&self) -> Option<usize> {
        Some(self.peers.values().filter(|p| !p.groups.is_empty()).count())
    }

    fn dropped(&self) -> u64 {
        self.dropped
    }
}
