//! ZMTP heartbeats (RFC 37 §"Connection Heartbeating"), as timers without
//! a clock: the caller passes `now`.
//!
//! "A peer MAY send PING commands at any point after the handshake ...
//! The TTL is a value in deciseconds ... the other peer SHALL close the
//! connection if it receives no traffic within that time." libzmq's
//! behaviour, which this follows:
//! - with an interval, a PING goes out every interval (carrying our TTL);
//! - after a PING, if no traffic at all arrives within the timeout
//!   (default: the interval), the connection is dead;
//! - a PING received with a TTL arms a deadline that the next inbound
//!   traffic cancels; if it passes first, the connection is dead.
//!
//! The connection tells this state what it saw (`saw_traffic`,
//! `saw_ping`) as it decodes, and [`Heartbeat::tick`] turns that into
//! deadlines with the time the caller supplies.

use std::time::{Duration, Instant};

/// Heartbeat settings of one connection.
///
/// A connection that pings every second, and whose peer never answers
/// (`shuttle` and the handshake are as in the [`Connection`] example):
///
/// [`Connection`]: super::Connection
///
/// ```
/// use std::time::{Duration, Instant};
///
/// use brokerless::zmtp::{Command, Config, Connection, Event, HeartbeatConfig};
/// use brokerless::{ProtocolError, SocketType};
/// use bytes::BytesMut;
/// # fn shuttle(from: &mut Connection, to: &mut BytesMut) {
/// #     let mut slices = [std::io::IoSlice::new(&[]); 4];
/// #     let n = from.transmit().io_slices(&mut slices);
/// #     let written: usize = slices[..n].iter().map(|s| s.len()).sum();
/// #     slices[..n].iter().for_each(|s| to.extend_from_slice(s));
/// #     from.transmit_mut().advance(written);
/// # }
///
/// let heartbeat = HeartbeatConfig {
///     interval: Some(Duration::from_secs(1)),
///     timeout: None, // the interval
///     ttl: Some(Duration::from_secs(3)),
/// };
/// let config = Config { heartbeat: Some(heartbeat), ..Config::new(SocketType::Pair) };
/// let mut a = Connection::new(config);
/// let mut b = Connection::new(Config::new(SocketType::Pair));
/// let (mut to_a, mut to_b) = (BytesMut::new(), BytesMut::new());
/// # while !(a.is_established() && b.is_established()) {
/// #     shuttle(&mut a, &mut to_b);
/// #     shuttle(&mut b, &mut to_a);
/// #     while a.handle_input(&mut to_a)?.is_some() {}
/// #     while b.handle_input(&mut to_b)?.is_some() {}
/// # }
/// let t0 = Instant::now();
/// a.handle_timeout(t0)?; // starts the timers
/// assert_eq!(a.poll_timeout(), Some(t0 + Duration::from_secs(1)));
/// a.handle_timeout(t0 + Duration::from_secs(1))?; // queues a PING
/// shuttle(&mut a, &mut to_b);
/// let ping = b.handle_input(&mut to_b)?;
/// assert!(matches!(ping, Some(Event::Command(Command::Ping { ttl: 30, .. }))));
/// // Nothing came back within the timeout: the peer is dead.
/// let later = t0 + Duration::from_secs(2);
/// assert_eq!(a.handle_timeout(later), Err(ProtocolError::HeartbeatTimeout));
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeartbeatConfig {
    /// How often to send a PING (`None`: never).
    pub interval: Option<Duration>,
    /// How long to wait for traffic after a PING (`None`: the interval).
    pub timeout: Option<Duration>,
    /// The TTL to ask of the peer in our PINGs (`None`: 0, no TTL),
    /// sent in deciseconds and capped at 6553.5 s.
    pub ttl: Option<Duration>,
}

/// What a tick decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Tick {
    /// Nothing to do.
    Idle,
    /// Send a PING with this TTL (deciseconds).
    SendPing(u16),
    /// The peer was silent past a deadline: close the connection.
    Expired,
}

/// Heartbeat state of one established connection.
#[derive(Debug, Default)]
pub(crate) struct Heartbeat {
    config: Option<HeartbeatConfig>,
    next_ping: Option<Instant>,
    timeout_at: Option<Instant>,
    ttl_at: Option<Instant>,
    traffic: bool,
    pending_ttl: Option<Duration>,
}

/// `now + d`, or for a duration too long to represent, ten years on (as
/// good as never).
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(10 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

impl Heartbeat {
    pub(crate) fn new(config: Option<HeartbeatConfig>) -> Heartbeat {
        Heartbeat {
            config,
            ..Heartbeat::default()
        }
    }

    /// Any inbound frame arrived.
    pub(crate) fn saw_traffic(&mut self) {
        self.traffic = true;
        self.pending_ttl = None;
    }

    /// A PING with this TTL (deciseconds) arrived.
    pub(crate) fn saw_ping(&mut self, ttl_ds: u16) {
        self.traffic = true;
        self.pending_ttl = (ttl_ds > 0).then(|| Duration::from_millis(u64::from(ttl_ds) * 100));
    }

    /// Advances to `now`: applies what was seen, then says whether to
    /// ping or to give up.
    pub(crate) fn tick(&mut self, now: Instant) -> Tick {
        if std::mem::take(&mut self.traffic) {
            self.timeout_at = None;
            self.ttl_at = None;
        }
        if let Some(ttl) = self.pending_ttl.take() {
            self.ttl_at.get_or_insert(later(now, ttl));
        }
        if self.timeout_at.is_some_and(|t| t <= now) || self.ttl_at.is_some_and(|t| t <= now) {
            return Tick::Expired;
        }
        let Some(config) = self.config else {
            return Tick::Idle;
        };
        let Some(interval) = config.interval else {
            return Tick::Idle;
        };
        let next = *self.next_ping.get_or_insert(later(now, interval));
        if next > now {
            return Tick::Idle;
        }
        self.next_ping = Some(later(now, interval));
        let timeout = config.timeout.unwrap_or(interval);
        self.timeout_at.get_or_insert(later(now, timeout));
        let ttl_ds = config.ttl.map_or(0, |t| {
            (t.as_millis() / 100).min(u128::from(u16::MAX)) as u16
        });
        Tick::SendPing(ttl_ds)
    }

    /// When [`Heartbeat::tick`] next has something to do.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        [self.next_ping, self.timeout_at, self.ttl_at]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(interval: u64, timeout: Option<u64>, ttl: Option<u64>) -> Option<HeartbeatConfig> {
        Some(HeartbeatConfig {
            interval: Some(Duration::from_millis(interval)),
            timeout: timeout.map(Duration::from_millis),
            ttl: ttl.map(Duration::from_millis),
        })
    }

    #[test]
    fn pings_every_interval_and_expires_without_traffic() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut hb = Heartbeat::new(cfg(100, Some(50), Some(1_000)));
        assert_eq!(hb.tick(t0), Tick::Idle);
        assert_eq!(hb.next_deadline(), Some(ms(100)));
        assert_eq!(hb.tick(ms(100)), Tick::SendPing(10));
        assert_eq!(hb.next_deadline(), Some(ms(150)));
        // Traffic before the timeout keeps the connection alive.
        hb.saw_traffic();
        assert_eq!(hb.tick(ms(140)), Tick::Idle);
        assert_eq!(hb.tick(ms(200)), Tick::SendPing(10));
        // Silence past the timeout kills it.
        assert_eq!(hb.tick(ms(260)), Tick::Expired);
    }

    #[test]
    fn a_received_ttl_is_a_deadline_cancelled_by_traffic() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut hb = Heartbeat::new(None);
        hb.saw_ping(3); // 300 ms
        assert_eq!(hb.tick(t0), Tick::Idle);
        assert_eq!(hb.next_deadline(), Some(ms(300)));
        hb.saw_traffic();
        assert_eq!(hb.tick(ms(299)), Tick::Idle);
        assert_eq!(hb.next_deadline(), None);
        hb.saw_ping(3);
        assert_eq!(hb.tick(ms(400)), Tick::Idle);
        assert_eq!(hb.tick(ms(700)), Tick::Expired);
    }

    #[test]
    fn no_heartbeats_means_no_deadlines() {
        let mut hb = Heartbeat::new(None);
        hb.saw_traffic();
        assert_eq!(hb.tick(Instant::now()), Tick::Idle);
        assert_eq!(hb.next_deadline(), None);
    }
}
