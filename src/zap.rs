//! The ZAP client (RFC 27): how a handshake asks its context's
//! authenticator, a socket bound at `inproc://zeromq.zap.01`.
//!
//! One client per context, made at the first request: a DEALER connected
//! to the handler, and a thread that reads the replies and posts each one
//! to the I/O thread of the connection that asked. An I/O thread only
//! ever sends (never waits): the DEALER has no high-water mark, and a
//! send that cannot go at once is answered with a refusal (status 500).
//!
//! Ownership: the context holds the client weakly and the reply thread
//! strongly, so the client (and its socket, which holds the context) goes
//! when the context is shut down and the thread sees `Terminated`.
//!
//! RFC 27 request: "", "1.0", request id, domain, address, identity,
//! mechanism, credentials...; reply: "", "1.0", request id, status code,
//! status text, user id, metadata. libzmq numbers every request "1"
//! (one client per connection); ours are numbered, one client serving
//! every connection of the context.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;

use crate::context::ContextInner;
use crate::io::{IoCmd, IoHandle};
use crate::zmtp::{AuthReply, AuthRequest, Properties};
use crate::{Error, Message, Result, Socket, SocketReceiver, SocketSender, SocketType};

/// The endpoint every ZAP handler binds (RFC 27).
pub(crate) const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";
/// [`ZAP_ENDPOINT`] without its scheme, as the inproc registry names it.
pub(crate) const ZAP_NAME: &str = "zeromq.zap.01";
const VERSION: &[u8] = b"1.0";

/// The verdict when no ZAP handler is bound in the context: NULL and
/// CURVE admit (as libzmq: CURVE then encrypts without authenticating),
/// PLAIN refuses (libzmq 4.3 admits, but a password nobody checks
/// protects nothing).
pub(crate) fn without_handler(request: &AuthRequest) -> AuthReply {
    if request.mechanism == "PLAIN" {
        AuthReply::deny(500, "no authenticator")
    } else {
        AuthReply::allow()
    }
}

/// The fields of a ZAP request that the session knows, with the
/// connection's own part.
pub(crate) struct ZapQuery {
    /// The socket's ZAP domain.
    pub domain: Bytes,
    /// The peer's IP address as text (empty for ipc).
    pub address: String,
    /// Our socket's routing id (libzmq sends its own, not the peer's).
    pub identity: Bytes,
    /// Mechanism and credentials, from the handshake.
    pub request: AuthRequest,
}

/// Where a verdict goes: one handshake of one session.
pub(crate) struct ReplyTo {
    pub io: IoHandle,
    pub token: usize,
    pub generation: u64,
}

/// The context's ZAP client. Its DEALER is split: I/O threads send
/// through one half while the reply thread blocks on the other.
pub(crate) struct ZapClient {
    sender: SocketSender,
    receiver: SocketReceiver,
    pending: Mutex<HashMap<u64, ReplyTo>>,
    next_id: AtomicU64,
}

impl ZapClient {
    /// The context's client, made (with its reply thread) on first use.
    pub(crate) fn get(ctx: &Arc<ContextInner>) -> Result<Arc<ZapClient>> {
        let mut slot = ctx.zap.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = slot.upgrade() {
            return Ok(client);
        }
        let dealer = Socket::new(ctx.clone(), SocketType::Dealer)?;
        dealer.set_send_hwm(0)?;
        dealer.set_recv_hwm(0)?;
        dealer.set_linger(Some(std::time::Duration::ZERO))?;
        dealer.connect(ZAP_ENDPOINT)?;
        let (sender, receiver) = dealer.split();
        let client = Arc::new(ZapClient {
            sender,
            receiver,
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
        });
        let reader = client.clone();
        std::thread::Builder::new()
            .name("brokerless-zap".into())
            .spawn(move || reader.read_replies())
            .map_err(Error::Io)?;
        *slot = Arc::downgrade(&client);
        Ok(client)
    }

    /// Sends a request; the verdict is posted to `reply_to` later as
    /// [`IoCmd::AuthVerdict`]. An error means no verdict will come.
    pub(crate) fn ask(&self, query: ZapQuery, reply_to: ReplyTo) -> Result<()> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut frames = vec![
            Bytes::new(),
            Bytes::from_static(VERSION),
            Bytes::from(id.to_string()),
            query.domain,
            Bytes::from(query.address),
            query.identity,
            Bytes::from_static(query.request.mechanism.as_bytes()),
        ];
        frames.extend(query.request.credentials);
        self.lock().insert(id, reply_to);
        if let Err(e) = self.sender.try_send(Message::from(frames)) {
            self.lock().remove(&id);
            return Err(e);
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, ReplyTo>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The reply thread: until the context goes.
    fn read_replies(self: Arc<ZapClient>) {
        loop {
            match self.receiver.recv() {
                Ok(msg) => self.on_reply(&msg),
                Err(Error::Terminated) => break,
                Err(e) => {
                    log::error!("zap: receive failed: {e}");
                    break;
                }
            }
        }
        log::debug!("zap: client stops");
    }

    fn on_reply(&self, msg: &Message) {
        let (id, reply) = match parse_reply(msg) {
            Ok(parsed) => parsed,
            Err(why) => {
                log::warn!("zap: malformed reply from the handler: {why}");
                match reply_id(msg) {
                    // The handshake that asked fails rather than hangs.
                    Some(id) => (
                        id,
                        AuthReply::deny(500, format!("malformed ZAP reply: {why}")),
                    ),
                    None => return,
                }
            }
        };
        let Some(to) = self.lock().remove(&id) else {
            log::debug!("zap: reply to unknown request {id}");
            return;
        };
        to.io.post(IoCmd::AuthVerdict {
            token: to.token,
            generation: to.generation,
            reply,
        });
    }
}

/// The request id of a reply, if it can be read.
fn reply_id(msg: &Message) -> Option<u64> {
    let frame = msg.frames().get(2)?;
    std::str::from_utf8(frame).ok()?.parse().ok()
}

/// RFC 27: "The reply message SHALL consist of ... exactly 7 frames";
/// the status code is "200", "300", "400" or "500" (libzmq refuses any
/// other), the metadata is a property list.
fn parse_reply(msg: &Message) -> std::result::Result<(u64, AuthReply), &'static str> {
    let [delimiter, version, _, status, text, user_id, metadata] = msg.frames() else {
        return Err("not 7 frames");
    };
    if !delimiter.is_empty() {
        return Err("no empty delimiter");
    }
    if version[..] != *VERSION {
        return Err("version is not 1.0");
    }
    let id = reply_id(msg).ok_or("request id is not ours")?;
    let status_code = match &status[..] {
        [c @ b'2'..=b'5', b'0', b'0'] => u16::from(c - b'0') * 100,
        _ => return Err("status code is not 200, 300, 400 or 500"),
    };
    let metadata =
        Properties::decode(metadata.clone()).map_err(|_| "metadata is not a property list")?;
    Ok((
        id,
        AuthReply {
            status_code,
            status_text: String::from_utf8_lossy(text).into_owned(),
            user_id: user_id.clone(),
            metadata,
        },
    ))
}

/// Keeps a context's client weakly (see the module docs).
pub(crate) type ZapSlot = Mutex<Weak<ZapClient>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(frames: &[&[u8]]) -> Message {
        Message::from(
            frames
                .iter()
                .map(|f| Bytes::copy_from_slice(f))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn a_good_reply_parses() {
        let mut meta = bytes::BytesMut::new();
        let mut props = Properties::new();
        props.push("X-Colour", "blue").unwrap();
        props.encode(&mut meta);
        let (id, r) = parse_reply(&reply(&[
            b"", b"1.0", b"42", b"200", b"OK", b"alice", &meta,
        ]))
        .expect("valid");
        assert_eq!(id, 42);
        assert_eq!(r.status_code, 200);
        assert_eq!(&r.user_id[..], b"alice");
        assert_eq!(
            r.metadata.get("x-colour").map(|v| &v[..]),
            Some(&b"blue"[..])
        );
    }

    #[test]
    fn bad_replies_are_refused() {
        for bad in [
            reply(&[b"", b"1.0", b"1", b"200", b"OK", b""]),
            reply(&[b"x", b"1.0", b"1", b"200", b"OK", b"", b""]),
            reply(&[b"", b"2.0", b"1", b"200", b"OK", b"", b""]),
            reply(&[b"", b"1.0", b"one", b"200", b"OK", b"", b""]),
            reply(&[b"", b"1.0", b"1", b"201", b"OK", b"", b""]),
            reply(&[b"", b"1.0", b"1", b"600", b"OK", b"", b""]),
            reply(&[b"", b"1.0", b"1", b"200", b"OK", b"", b"\x05X"]),
        ] {
            assert!(parse_reply(&bad).is_err(), "{bad:?}");
        }
    }
}
