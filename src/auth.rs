//! [`Authenticator`]: an in-process authentication policy for a
//! context, served as an RFC 27 ZAP handler.
//!
//! It binds a REP socket at `inproc://zeromq.zap.01`, the endpoint every
//! ZAP client asks, and answers each request from its thread: first the
//! peer's address against the allow and deny lists, then the credentials
//! (PLAIN user names and passwords, CURVE public keys), or a callback of
//! the application's instead. So the policy is tested through the same
//! protocol as any other ZAP handler, and an application may bind its
//! own handler there instead (at most one per context).
//!
//! Ownership: the thread owns the two sockets it serves (the ZAP socket
//! and a control socket); the [`Authenticator`] shares the policy with it
//! and stops it when dropped.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use bytes::{Bytes, BytesMut};

use crate::zap::ZAP_ENDPOINT;
use crate::zmtp::AuthReply;
use crate::{Context, Error, Interest, Message, Poller, Result, Socket, SocketType};

/// A ZAP request, as an authentication callback sees it (RFC 27).
///
/// ```
/// use brokerless::{AuthReply, Authenticator, Context, SocketType};
///
/// let ctx = Context::new();
/// let auth = Authenticator::new(&ctx)?;
/// // Any password will do, for the user names of one team.
/// auth.set_handler(|req| match req.username() {
///     Some(name) if name.starts_with(b"ops-") => AuthReply::allow_as(name.to_vec()),
///     _ => AuthReply::deny(400, "not on the ops team"),
/// });
///
/// let server = ctx.socket(SocketType::Pull)?;
/// server.set_plain_server(true)?;
/// server.bind("tcp://127.0.0.1:*")?;
/// let client = ctx.socket(SocketType::Push)?;
/// client.set_plain_client("ops-alice", "any")?;
/// client.connect(&server.last_endpoint().expect("bound"))?;
/// client.send("hi")?;
/// assert_eq!(server.recv()?.user_id(), Some(&b"ops-alice"[..]));
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZapRequest {
    /// The ZAP domain of the socket that asks (may be empty).
    pub domain: Bytes,
    /// The peer's IP address as text (empty for ipc).
    pub address: String,
    /// The routing id of the socket that asks.
    pub identity: Bytes,
    /// `NULL`, `PLAIN` or `CURVE`.
    pub mechanism: String,
    /// The credentials: none for NULL; the user name and the password
    /// for PLAIN; the client's 32-byte public key for CURVE.
    pub credentials: Vec<Bytes>,
}

impl ZapRequest {
    /// The PLAIN user name.
    pub fn username(&self) -> Option<&[u8]> {
        self.plain().map(|(u, _)| u)
    }

    /// The PLAIN password.
    pub fn password(&self) -> Option<&[u8]> {
        self.plain().map(|(_, p)| p)
    }

    /// The CURVE client's long-term public key.
    pub fn curve_key(&self) -> Option<[u8; 32]> {
        match (self.mechanism.as_str(), self.credentials.as_slice()) {
            ("CURVE", [key]) => key[..].try_into().ok(),
            _ => None,
        }
    }

    fn plain(&self) -> Option<(&[u8], &[u8])> {
        match (self.mechanism.as_str(), self.credentials.as_slice()) {
            ("PLAIN", [u, p]) => Some((u, p)),
            _ => None,
        }
    }
}

/// The decision function an application may install with
/// [`Authenticator::set_handler`].
type Handler = Arc<dyn Fn(&ZapRequest) -> AuthReply + Send + Sync>;

#[derive(Default)]
struct Policy {
    allow: HashSet<IpAddr>,
    deny: HashSet<IpAddr>,
    plain: HashMap<Bytes, Bytes>,
    curve: HashSet<[u8; 32]>,
    curve_any: bool,
    handler: Option<Handler>,
}

impl Policy {
    /// The verdict on one request: the address first, then the
    /// credentials (or the application's handler).
    fn judge(&self, req: &ZapRequest) -> AuthReply {
        let ip = req.address.parse::<IpAddr>().ok();
        if !self.allow.is_empty() {
            // An allow list admits only its addresses (the deny list is
            // then not consulted), as CZMQ's zauth.
            if !ip.is_some_and(|ip| self.allow.contains(&ip)) {
                return AuthReply::deny(400, "address not allowed");
            }
        } else if ip.is_some_and(|ip| self.deny.contains(&ip)) {
            return AuthReply::deny(400, "address denied");
        }
        if let Some(handler) = &self.handler {
            return handler(req);
        }
        match req.mechanism.as_str() {
            "NULL" => AuthReply::allow(),
            "PLAIN" => match req.plain() {
                Some((user, password))
                    if self
                        .plain
                        .get(user)
                        .is_some_and(|p| constant_time_eq(p, password)) =>
                {
                    AuthReply::allow_as(Bytes::copy_from_slice(user))
                }
                _ => AuthReply::deny(400, "invalid user name or password"),
            },
            "CURVE" => match req.curve_key() {
                Some(key) if self.curve_any || self.curve.contains(&key) => {
                    AuthReply::allow_as(crate::security::z85::encode(&key).unwrap_or_default())
                }
                _ => AuthReply::deny(400, "public key not allowed"),
            },
            _ => AuthReply::deny(400, "unknown mechanism"),
        }
    }
}

/// Compares a password without an early exit, so the time taken does not
/// tell a guesser how many leading bytes were right (only the length).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How many requests an [`Authenticator`] has answered.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// use brokerless::{AuthStats, Authenticator, Context, SocketType};
///
/// let ctx = Context::new();
/// let auth = Authenticator::new(&ctx)?;
/// auth.add_plain_user("admin", "secret");
/// assert_eq!(auth.stats(), AuthStats::default());
///
/// let server = ctx.socket(SocketType::Pull)?;
/// server.set_plain_server(true)?;
/// server.bind("tcp://127.0.0.1:*")?;
/// let endpoint = server.last_endpoint().expect("bound");
/// let client = ctx.socket(SocketType::Push)?;
/// client.set_plain_client("admin", "secret")?;
/// client.connect(&endpoint)?;
/// client.send("hi")?;
/// server.recv()?;
/// assert_eq!(auth.stats(), AuthStats { allowed: 1, denied: 0 });
///
/// let intruder = ctx.socket(SocketType::Push)?;
/// intruder.set_plain_client("admin", "guess")?;
/// intruder.connect(&endpoint)?;
/// let deadline = Instant::now() + Duration::from_secs(10);
/// while auth.stats().denied == 0 && Instant::now() < deadline {
///     std::thread::sleep(Duration::from_millis(5));
/// }
/// assert!(auth.stats().denied >= 1); // it may have retried since
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthStats {
    /// Requests answered with status 200.
    pub allowed: u64,
    /// Requests answered with any other status.
    pub denied: u64,
}

#[derive(Default)]
struct Counters {
    allowed: AtomicU64,
    denied: AtomicU64,
}

/// An authentication policy for every socket of a context: allow and
/// deny lists of peer addresses, PLAIN user names and passwords, CURVE
/// public keys (or any key), or a callback of your own.
///
/// It is a ZAP handler (RFC 27) bound at `inproc://zeromq.zap.01`: while
/// it lives, every PLAIN or CURVE server socket of the context asks it
/// about each client, and so does every NULL socket that has a ZAP
/// domain ([`Socket::set_zap_domain`]). Without an authenticator (or
/// another ZAP handler), CURVE servers admit any client and PLAIN
/// servers refuse every one, as in libzmq. A refused client gets an
/// ERROR with the status code, and its monitor reports the refusal.
///
/// The user id of an admitted peer (the PLAIN user name, or the Z85 text
/// of the CURVE public key, or what a handler returns) is on every
/// message received from it: [`Message::user_id`].
///
/// # Example
///
/// ```
/// use brokerless::{Authenticator, Context, SocketType};
///
/// # fn main() -> brokerless::Result<()> {
/// let ctx = Context::new();
/// let auth = Authenticator::new(&ctx)?;
/// auth.add_plain_user("admin", "secret");
///
/// let server = ctx.socket(SocketType::Rep)?;
/// server.set_plain_server(true)?;
/// server.bind("tcp://127.0.0.1:*")?;
/// let endpoint = server.last_endpoint().expect("bound");
///
/// let client = ctx.socket(SocketType::Req)?;
/// client.set_plain_client("admin", "secret")?;
/// client.connect(&endpoint)?;
/// client.send("hello")?;
///
/// let msg = server.recv()?;
/// assert_eq!(msg.user_id(), Some(&b"admin"[..]));
/// # Ok(())
/// # }
/// ```
pub struct Authenticator {
    policy: Arc<Mutex<Policy>>,
    counters: Arc<Counters>,
    control: Socket,
    thread: Option<JoinHandle<()>>,
}

impl Authenticator {
    /// Starts the authenticator of `ctx`: binds `inproc://zeromq.zap.01`
    /// and starts its thread. With no rules it admits NULL peers and
    /// refuses PLAIN and CURVE ones.
    ///
    /// Errors: [`Error::Io`] (address in use) if the context already has
    /// a ZAP handler; [`Error::Terminated`] if it was shut down.
    pub fn new(ctx: &Context) -> Result<Authenticator> {
        let zap = ctx.socket(SocketType::Rep)?;
        zap.set_linger(Some(std::time::Duration::ZERO))?;
        zap.bind(ZAP_ENDPOINT)?;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let control_name = format!(
            "inproc://brokerless.authenticator.{}",
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let control_end = ctx.socket(SocketType::Pair)?;
        control_end.bind(&control_name)?;
        let control = ctx.socket(SocketType::Pair)?;
        control.set_linger(Some(std::time::Duration::ZERO))?;
        control.connect(&control_name)?;
        let policy = Arc::new(Mutex::new(Policy::default()));
        let counters = Arc::new(Counters::default());
        let (p, c) = (policy.clone(), counters.clone());
        let thread = std::thread::Builder::new()
            .name("brokerless-auth".into())
            .spawn(move || serve(zap, control_end, p, c))
            .map_err(Error::Io)?;
        Ok(Authenticator {
            policy,
            counters,
            control,
            thread: Some(thread),
        })
    }

    fn policy(&self) -> MutexGuard<'_, Policy> {
        self.policy.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits peers from `ip` only (with every other address allowed
    /// this way): once the allow list has an address, peers from any
    /// other are refused, and the deny list is not consulted. ipc peers
    /// have no address, so an allow list refuses them.
    pub fn allow(&self, ip: IpAddr) {
        self.policy().allow.insert(ip);
    }

    /// Refuses peers from `ip` (when the allow list is empty).
    pub fn deny(&self, ip: IpAddr) {
        self.policy().deny.insert(ip);
    }

    /// Adds (or replaces) a PLAIN user.
    pub fn add_plain_user(&self, username: impl Into<Bytes>, password: impl Into<Bytes>) {
        self.policy().plain.insert(username.into(), password.into());
    }

    /// Removes a PLAIN user.
    pub fn remove_plain_user(&self, username: &[u8]) {
        self.policy().plain.remove(username);
    }

    /// Admits CURVE clients with this long-term public key.
    pub fn allow_curve_key(&self, key: &crate::CurvePublicKey) {
        self.policy().curve.insert(*key.as_bytes());
    }

    /// Admits any CURVE client (encryption without authentication), or
    /// (`false`) only the keys allowed with
    /// [`Authenticator::allow_curve_key`].
    pub fn allow_any_curve(&self, on: bool) {
        self.policy().curve_any = on;
    }

    /// Decides with `handler` instead of the PLAIN and CURVE lists (the
    /// address lists still apply first). It runs on the authenticator's
    /// thread, one request at a time: keep it quick.
    pub fn set_handler(&self, handler: impl Fn(&ZapRequest) -> AuthReply + Send + Sync + 'static) {
        self.policy().handler = Some(Arc::new(handler));
    }

    /// How many requests were answered so far.
    pub fn stats(&self) -> AuthStats {
        AuthStats {
            allowed: self.counters.allowed.load(Ordering::Relaxed),
            denied: self.counters.denied.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Authenticator {
    /// Stops the thread and unbinds `inproc://zeromq.zap.01`.
    fn drop(&mut self) {
        // If the context is gone, the thread has stopped already.
        let _ = self.control.try_send("stop");
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            log::error!("the authenticator's thread panicked");
        }
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// The authenticator's thread: answers ZAP requests until told to stop
/// or the context goes.
fn serve(zap: Socket, control: Socket, policy: Arc<Mutex<Policy>>, counters: Arc<Counters>) {
    let result = (|| -> Result<()> {
        let mut poller = Poller::new()?;
        let zap_token = poller.add(&zap, Interest::READABLE)?;
        poller.add(&control, Interest::READABLE)?;
        loop {
            let ready: Vec<usize> = poller.wait(None)?.iter().map(|e| e.token).collect();
            for token in ready {
                if token != zap_token {
                    return Ok(());
                }
                let Ok(request) = zap.try_recv() else {
                    continue;
                };
                let reply = answer(&request, &policy, &counters);
                zap.send(reply)?;
            }
        }
    })();
    match result {
        Ok(()) | Err(Error::Terminated) => log::debug!("authenticator stops"),
        Err(e) => log::error!("authenticator stops: {e}"),
    }
}

/// The reply to one request (RFC 27: version, request id, status code,
/// status text, user id, metadata). A malformed request gets status 500.
fn answer(request: &Message, policy: &Mutex<Policy>, counters: &Counters) -> Message {
    let frames = request.frames();
    let id = frames.get(1).cloned().unwrap_or_default();
    let reply = match parse_request(frames) {
        Some(req) => policy.lock().unwrap_or_else(|e| e.into_inner()).judge(&req),
        None => AuthReply::deny(500, "malformed ZAP request"),
    };
    let counter = if reply.is_success() {
        &counters.allowed
    } else {
        &counters.denied
    };
    counter.fetch_add(1, Ordering::Relaxed);
    let mut metadata = BytesMut::new();
    reply.metadata.encode(&mut metadata);
    Message::from(vec![
        Bytes::from_static(b"1.0"),
        id,
        Bytes::from(format!("{:03}", reply.status_code.min(999))),
        Bytes::from(reply.status_text),
        reply.user_id,
        metadata.freeze(),
    ])
}

/// RFC 27 request frames (after the envelope): "1.0", request id,
/// domain, address, identity, mechanism, credentials...
fn parse_request(frames: &[Bytes]) -> Option<ZapRequest> {
    let [
        version,
        _id,
        domain,
        address,
        identity,
        mechanism,
        credentials @ ..,
    ] = frames
    else {
        return None;
    };
    if version[..] != *b"1.0" {
        return None;
    }
    Some(ZapRequest {
        domain: domain.clone(),
        address: String::from_utf8(address.to_vec()).ok()?,
        identity: identity.clone(),
        mechanism: String::from_utf8(mechanism.to_vec()).ok()?,
        credentials: credentials.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(mechanism: &str, credentials: &[&[u8]], address: &str) -> ZapRequest {
        ZapRequest {
            domain: Bytes::new(),
            address: address.into(),
            identity: Bytes::new(),
            mechanism: mechanism.into(),
            credentials: credentials
                .iter()
                .map(|c| Bytes::copy_from_slice(c))
                .collect(),
        }
    }

    #[test]
    fn passwords_compare_exactly() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret!"));
        assert!(!constant_time_eq(b"", b"x"));
        let mut policy = Policy::default();
        policy.plain.insert(Bytes::from("u"), Bytes::from("pw"));
        let judge = |p: &[u8]| {
            policy
                .judge(&request("PLAIN", &[b"u", p], "10.0.0.1"))
                .status_code
        };
        assert_eq!(judge(b"pw"), 200);
        assert_eq!(judge(b"pW"), 400);
        assert_eq!(judge(b"p"), 400);
    }

    #[test]
    fn malformed_requests_are_not_parsed() {
        let f = |v: &[&[u8]]| {
            v.iter()
                .map(|x| Bytes::copy_from_slice(x))
                .collect::<Vec<_>>()
        };
        assert!(parse_request(&f(&[b"1.0", b"1", b"d", b"a", b"i"])).is_none());
        assert!(parse_request(&f(&[b"2.0", b"1", b"d", b"a", b"i", b"NULL"])).is_none());
        assert!(parse_request(&f(&[b"1.0", b"1", b"d", b"\xff", b"i", b"NULL"])).is_none());
        let ok = parse_request(&f(&[
            b"1.0", b"1", b"d", b"1.2.3.4", b"i", b"PLAIN", b"u", b"p",
        ]));
        assert_eq!(
            ok.and_then(|r| r.username().map(<[u8]>::to_vec)),
            Some(b"u".to_vec())
        );
    }
}
