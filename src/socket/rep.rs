//! REP (RFC 28): fair-queued requests; the routing envelope (every frame
//! up to and including the empty delimiter) is kept and put back in front
//! of the reply, which goes to the peer the request came from. A request
//! without a delimiter is discarded; a reply whose requester has gone, or
//! whose queue is full, is dropped (REP never blocks on a reply).
//!
//! State machine: `Receiving --request--> Replying { pipe, envelope }
//! --send--> Receiving`.

use bytes::Bytes;

use super::{Pattern, Peer};
use crate::options::Options;
use crate::pipe::PipeId;
use crate::routing::peers::Peers;
use crate::{Error, Message, Result};

/// Where a REP socket is in its request-reply cycle.
#[derive(Debug, Default)]
enum State {
    /// May receive a request.
    #[default]
    Receiving,
    /// Received a request from `pipe`; the reply goes back there.
    Replying { pipe: PipeId, envelope: Vec<Bytes> },
}

/// The REP routing rules.
#[derive(Default)]
pub(crate) struct Rep {
    peers: Peers,
    state: State,
}

impl Pattern for Rep {
    fn attach(&mut self, peer: Peer, _options: &Options) {
        self.peers.attach(peer.id, peer.writer, peer.reader);
    }

    fn readable(&mut self, id: PipeId, _options: &Options) {
        self.peers.readable(id);
    }

    fn writable(&mut self, id: PipeId, _options: &Options) {
        self.peers.writable(id);
    }

    fn send(&mut self, msg: Message, _options: &Options) -> Result<Result<(), Message>> {
        let State::Replying { pipe, envelope } = std::mem::take(&mut self.state) else {
            return Err(Error::InvalidState(
                "a REP socket must receive a request before replying",
            ));
        };
        let reply: Message = envelope.into_iter().chain(msg).collect();
        match self.peers.writer(pipe).map(|w| w.write(reply)) {
            Some(Ok(())) => {}
            _ => log::debug!("REP: requester gone or full, reply dropped"),
        }
        Ok(Ok(()))
    }

    fn can_send(&mut self, _options: &Options) -> bool {
        // A reply never waits: it is dropped if its requester has gone.
        matches!(self.state, State::Replying { .. })
    }

    fn recv(&mut self, _options: &Options) -> Result<Option<Message>> {
        if matches!(self.state, State::Replying { .. }) {
            return Err(Error::InvalidState(
                "a REP socket must reply before receiving again",
            ));
        }
        while let Some((pipe, mut msg)) = self.peers.recv() {
            let meta = msg.take_metadata();
            let mut frames = msg.into_frames();
            let Some(delimiter) = frames.iter().position(|f| f.is_empty()) else {
                log::debug!("REP: discarding a request without a delimiter");
                continue;
            };
            if delimiter + 1 == frames.len() {
                log::debug!("REP: discarding a request without a body");
                continue;
            }
            let body = frames.split_off(delimiter + 1);
            self.state = State::Replying {
                pipe,
                envelope: frames,
            };
            let mut body = Message::from(body);
            if let Some(meta) = meta {
                body.set_metadata(meta);
            }
            return Ok(Some(body));
        }
        Ok(None)
    }
}
