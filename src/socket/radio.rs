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
//!
//! A `udp://` connect is a datagram peer (`Peer::datagram_max`): no JOIN
//! ever comes from it, so, as in libzmq, it gets every message and the
//! DISH at the other end filters. A message too large for one datagram
//! is not sent to it, and is counted in `dropped`. Datagram peers count
//! as subscribers for `wait_for_subscribers`, as there is nothing to
//! wait for.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;

use super::{Pattern, Peer};
use crate::options::Options;
use crate::pipe::{self, PipeId, PipeReader, PipeWriter, WriteError};
use crate::transport::udp;
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
    /// The largest datagram a datagram peer takes (`None`: a stream or
    /// inproc peer).
    datagram_max: Option<usize>,
}

impl Dish {
    /// Queues `msg` for this peer; a full queue misses it (counted).
    fn deliver(&self, msg: &Message, dropped: &mut u64) {
        if let Some(max) = self.datagram_max {
            let size = udp::datagram_len(&msg[0], &msg[1]);
            if size > max {
                log::debug!(
                    "RADIO: a message of {size} bytes exceeds a UDP datagram ({max}); dropped"
                );
                *dropped += 1;
                return;
            }
        }
        match self.writer.write(msg.clone()) {
            Ok(()) | Err(WriteError::Closed(_)) => {}
            Err(WriteError::Full(_)) => *dropped += 1,
        }
    }
}

/// The RADIO routing rules.
#[derive(Default)]
pub(crate) struct Radio {
    peers: HashMap<PipeId, Dish>,
    /// Who joined each group.
    groups: HashMap<Bytes, Vec<PipeId>>,
    /// The datagram peers, which get every group.
    all_groups: Vec<PipeId>,
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
            self.all_groups.retain(|m| *m != id);
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
                datagram_max: peer.datagram_max,
            },
        );
        if peer.datagram_max.is_some() {
            self.all_groups.push(peer.id);
        }
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
        let members = self.groups.get(&msg[0]).into_iter().flatten();
        for id in members.chain(&self.all_groups) {
            if let Some(peer) = self.peers.get(id) {
                peer.deliver(&msg, &mut self.dropped);
            }
        }
        Ok(Ok(()))
    }

    fn can_send(&mut self, _options: &Options) -> bool {
        true
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        Err(Error::NotSupported("RADIO sockets cannot receive".into()))
    }

    fn subscribers(&self) -> Option<usize> {
        Some(
            self.peers
                .values()
                .filter(|p| !p.groups.is_empty() || p.datagram_max.is_some())
                .count(),
        )
    }

    fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::{Read, pipe};

    /// A peer for the radio, and the far ends of its pipes.
    fn peer(id: PipeId, datagram_max: Option<usize>) -> (Peer, PipeReader, PipeWriter) {
        let (out_w, out_r) = pipe(id, 0);
        let (in_w, in_r) = pipe(id, 0);
        let peer = Peer {
            id,
            writer: out_w,
            reader: in_r,
            info: None,
            routing_id: None,
            datagram_max,
        };
        (peer, out_r, in_w)
    }

    fn bodies(r: &mut PipeReader) -> Vec<Bytes> {
        let mut got = Vec::new();
        while let Read::Message(m) = r.read() {
            got.push(m.frames()[1].clone());
        }
        got
    }

    #[test]
    fn datagram_peers_get_every_group_that_fits() {
        let options = Options::default();
        let mut radio = Radio::default();
        let (stream, mut stream_out, stream_in) = peer(1, None);
        let join = Subscription {
            subscribe: true,
            topic: Bytes::from_static(b"a"),
        };
        stream_in.write(join.to_message()).unwrap();
        radio.attach(stream, &options);
        let (udp, mut udp_out, _udp_in) = peer(2, Some(8));
        radio.attach(udp, &options);
        assert_eq!(radio.subscribers(), Some(2));

        for (group, body) in [("a", "1"), ("b", "2"), ("a", "too long"), ("a", "3")] {
            let msg = Message::with_group(group.to_string(), body.to_string());
            radio.send(msg, &options).unwrap().unwrap();
        }
        assert_eq!(bodies(&mut stream_out), ["1", "too long", "3"]);
        // 1 + 1 + 8 bytes is over the datagram peer's 8: dropped, counted.
        assert_eq!(bodies(&mut udp_out), ["1", "2", "3"]);
        assert_eq!(radio.dropped(), 1);

        drop(udp_out);
        radio.writable(2, &options);
        assert_eq!(radio.subscribers(), Some(1));
        assert!(radio.all_groups.is_empty());
    }
}
