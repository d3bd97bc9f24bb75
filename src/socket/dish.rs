//! DISH (RFC 48, a draft in libzmq): receives, fair-queued, the messages
//! of the groups it joined, from RADIOs. A join or leave goes to every
//! RADIO as a JOIN or LEAVE command (the engine turns the 1/0-prefixed
//! control messages into those), and all joins are sent again on every
//! reconnection, from [`SocketShared`] as SUB does with subscriptions.
//! Messages are filtered here too (exact group match), which is what
//! keeps a DISH bound to UDP, where no JOIN reaches the sender, to its
//! groups.

use std::sync::Arc;

use super::radio::MAX_GROUP;
use super::subscribe::Upstream;
use super::{Pattern, Peer, SocketShared};
use crate::options::Options;
use crate::pipe::PipeId;
use crate::zmtp::PeerInfo;
use crate::{Error, Message, Result};

/// The DISH routing rules.
pub(crate) struct Dish {
    upstream: Upstream,
}

impl Dish {
    pub(crate) fn new(shared: Arc<SocketShared>) -> Dish {
        Dish {
            upstream: Upstream::new(shared),
        }
    }
}

impl Pattern for Dish {
    fn attach(&mut self, peer: Peer, _options: &Options) {
        self.upstream.attach(peer);
    }

    fn handshaken(&mut self, id: PipeId, _info: PeerInfo, inproc: bool, _options: &Options) {
        self.upstream.handshaken(id, inproc);
    }

    fn readable(&mut self, id: PipeId, _options: &Options) {
        self.upstream.readable(id);
    }

    fn writable(&mut self, id: PipeId, _options: &Options) {
        self.upstream.writable(id);
    }

    fn send(&mut self, _msg: Message, _options: &Options) -> Result<Result<(), Message>> {
        Err(Error::NotSupported(
            "DISH sockets cannot send; use join and leave".into(),
        ))
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        while let Some(msg) = self.upstream.recv() {
            if msg.len() == 2 && self.upstream.subscriptions().contains(&msg[0]) {
                return Ok(Some(msg));
            }
            log::trace!("DISH: dropping a message of a group not joined");
        }
        Ok(None)
    }

    fn join(&mut self, group: &[u8], join: bool) -> Result<()> {
        if group.len() > MAX_GROUP {
            return Err(Error::InvalidArgument(format!(
                "a group is at most {MAX_GROUP} bytes, not {}",
                group.len()
            )));
        }
        let joined = self.upstream.subscriptions().contains(group);
        match (join, joined) {
            (true, true) => Err(Error::InvalidArgument("already joined that group".into())),
            (false, false) => Err(Error::InvalidArgument("not a member of that group".into())),
            _ => {
                self.upstream.change(join, group, false);
                Ok(())
            }
        }
    }
}
