//! The `inproc://` transport: sockets of one context joined by pipes
//! alone, with no bytes, no engine and no I/O thread.
//!
//! The context keeps a registry of bound names. A `connect` to a bound
//! name pairs the two sockets at once; a `connect` before the `bind`
//! creates its pipes anyway (messages queue as for any connect) and waits
//! in the registry until the name is bound. The socket-type rules of ZMTP
//! are checked in-process, and, as in libzmq, each pipe's high-water mark
//! is the sum of the writer's send HWM and the reader's receive HWM (0
//! on either side: unlimited).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::pipe::{self, PipeId, PipeReader, PipeWriter};
use crate::socket::{Command, Peer, SocketShared};
use crate::zmtp::{PeerInfo, Properties};
use crate::{Error, ProtocolError, Result, SocketType};

/// One side of an inproc pairing: the socket and what its peer sees.
#[derive(Clone)]
pub(crate) struct Side {
    /// The socket.
    pub shared: Arc<SocketShared>,
    /// Its send and receive HWMs when it bound or connected.
    pub send_hwm: usize,
    /// See `send_hwm`.
    pub recv_hwm: usize,
    /// Whether it conflates what it sends.
    pub conflate_out: bool,
    /// Whether it conflates what it receives.
    pub conflate_in: bool,
    /// Its routing id (sent as Identity by the types that send one).
    pub routing_id: Bytes,
}

impl Side {
    /// What the other side learns in place of a READY.
    fn info(&self) -> PeerInfo {
        let t = self.shared.socket_type;
        PeerInfo {
            socket_type: t,
            routing_id: if t.sends_identity() {
                self.routing_id.clone()
            } else {
                Bytes::new()
            },
            minor_version: 1,
            properties: Properties::default(),
            user_id: Bytes::new(),
        }
    }
}

/// A connect waiting for its bind: the binder's ends of its pipes.
struct Pending {
    connector: Side,
    id: PipeId,
    to_binder: PipeReader,
    from_binder: PipeWriter,
}

/// The inproc names of one context.
#[derive(Default)]
pub(crate) struct Registry {
    bound: HashMap<String, Side>,
    pending: HashMap<String, Vec<Pending>>,
}

/// libzmq's inproc HWM: the sum of both sides, unless either is unlimited.
fn sum_hwm(a: usize, b: usize) -> usize {
    if a == 0 || b == 0 {
        0
    } else {
        a.saturating_add(b)
    }
}

fn check(binder: SocketType, connector: SocketType) -> Result<()> {
    if binder.is_compatible(connector) {
        Ok(())
    } else {
        Err(Error::Protocol(ProtocolError::IncompatibleSocketType {
            ours: connector,
            theirs: binder,
        }))
    }
}

/// Hands the binder its ends of a pairing.
fn attach_to_binder(
    binder: &Side,
    connector: &Side,
    id: PipeId,
    reader: PipeReader,
    writer: PipeWriter,
) {
    binder.shared.mailbox.post(Command::Attach(Peer {
        id,
        writer,
        reader,
        info: Some(connector.info()),
        routing_id: None,
        datagram_max: None,
    }));
}

impl Registry {
    /// Registers `name` as bound by `binder`, and pairs the connects that
    /// were waiting for it.
    pub(crate) fn bind(&mut self, name: &str, binder: Side) -> Result<()> {
        if self.bound.contains_key(name) {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("inproc://{name} is bound already"),
            )));
        }
        for p in self.pending.remove(name).unwrap_or_default() {
            if p.connector.shared.mailbox.is_closed() {
                continue; // the connector has gone
            }
            if let Err(e) = check(binder.shared.socket_type, p.connector.shared.socket_type) {
                log::warn!("inproc://{name}: refusing a connect: {e}");
                continue; // dropping the ends closes the connector's pipes
            }
            p.to_binder
                .set_hwm(sum_hwm(p.connector.send_hwm, binder.recv_hwm));
            p.from_binder
                .set_hwm(sum_hwm(binder.send_hwm, p.connector.recv_hwm));
            p.to_binder
                .set_conflate(p.connector.conflate_out || binder.conflate_in);
            p.from_binder
                .set_conflate(binder.conflate_out || p.connector.conflate_in);
            p.connector.shared.mailbox.post(Command::Handshaken {
                id: p.id,
                info: binder.info(),
                inproc: true,
            });
            attach_to_binder(&binder, &p.connector, p.id, p.to_binder, p.from_binder);
        }
        self.bound.insert(name.to_string(), binder);
        Ok(())
    }

    /// Whether some socket is bound to `name`.
    pub(crate) fn is_bound(&self, name: &str) -> bool {
        self.bound.contains_key(name)
    }

    /// Forgets a bound name (connections made through it stay).
    pub(crate) fn unbind(&mut self, name: &str, socket: u64) {
        if self.bound.get(name).is_some_and(|b| b.shared.id == socket) {
            self.bound.remove(name);
        }
    }

    /// Forgets every name bound by a closing socket, and its connects
    /// still waiting for a bind.
    pub(crate) fn socket_closed(&mut self, socket: u64) {
        self.bound.retain(|_, b| b.shared.id != socket);
        for waiting in self.pending.values_mut() {
            waiting.retain(|p| p.connector.shared.id != socket);
        }
        self.pending.retain(|_, waiting| !waiting.is_empty());
    }

    /// Forgets a connect to `name` still waiting for its bind (after a
    /// `disconnect`).
    pub(crate) fn forget_pending(&mut self, name: &str, id: PipeId) {
        if let Some(waiting) = self.pending.get_mut(name) {
            waiting.retain(|p| p.id != id);
            if waiting.is_empty() {
                self.pending.remove(name);
            }
        }
    }

    /// Connects `connector` to `name`: returns the connector's peer, to
    /// attach at once; the binder gets its side now or at its bind.
    pub(crate) fn connect(&mut self, name: &str, connector: Side) -> Result<Peer> {
        let id = pipe::next_pipe_id();
        match self.bound.get(name) {
            Some(binder) => {
                check(binder.shared.socket_type, connector.shared.socket_type)?;
                let (c_w, b_r) = pipe::pipe(id, sum_hwm(connector.send_hwm, binder.recv_hwm));
                let (b_w, c_r) = pipe::pipe(id, sum_hwm(binder.send_hwm, connector.recv_hwm));
                c_w.set_conflate(connector.conflate_out || binder.conflate_in);
                b_w.set_conflate(binder.conflate_out || connector.conflate_in);
                attach_to_binder(binder, &connector, id, b_r, b_w);
                Ok(Peer {
                    id,
                    writer: c_w,
                    reader: c_r,
                    info: Some(binder.info()),
                    routing_id: None,
                    datagram_max: None,
                })
            }
            None => {
                let (c_w, b_r) = pipe::pipe(id, connector.send_hwm);
                let (b_w, c_r) = pipe::pipe(id, connector.recv_hwm);
                c_w.set_conflate(connector.conflate_out);
                b_w.set_conflate(connector.conflate_in);
                self.pending
                    .entry(name.to_string())
                    .or_default()
                    .push(Pending {
                        connector,
                        id,
                        to_binder: b_r,
                        from_binder: b_w,
                    });
                Ok(Peer {
                    id,
                    writer: c_w,
                    reader: c_r,
                    info: None,
                    routing_id: None,
                    datagram_max: None,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sum_hwm;

    #[test]
    fn hwm_is_the_sum_unless_unlimited() {
        assert_eq!(sum_hwm(1000, 1000), 2000);
        assert_eq!(sum_hwm(0, 5), 0);
        assert_eq!(sum_hwm(5, 0), 0);
    }
}
