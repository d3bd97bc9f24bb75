//! The outgoing byte queue of a connection: what is waiting to be written
//! to the stream, in order.
//!
//! Layout: `chunks` (frozen, non-empty [`Bytes`]) come first, then the
//! `staging` buffer. Headers, commands and small frame bodies are copied
//! into `staging`, so many small messages go out in one contiguous slice.
//! A body of at least [`ZERO_COPY_THRESHOLD`] octets is not copied: the
//! staging octets so far are frozen into a chunk (no copy, `split` +
//! `freeze`), and the body's own `Bytes` is queued as the next chunk, so
//! a `writev` sends it straight from the user's buffer.
//!
//! Allocation: in steady state (the writer keeps up), small messages cost
//! no allocation. Encoding appends into the staging capacity; when a
//! write drains the queue, `advance` rewinds the staging buffer to the
//! start of its allocation (`BytesMut::try_reclaim`, which never
//! allocates), so the same memory is reused message after message. The
//! first zero-copy frame turns the staging buffer into a shared one (one
//! small bookkeeping allocation, once); while a frozen chunk of it is
//! still queued, new octets go into the capacity left after it, and the
//! whole allocation is reclaimed once every chunk is written. A staging
//! buffer that grew past [`MAX_IDLE_STAGING`] during a burst is released
//! when the queue empties, so an idle connection keeps little memory.

use std::collections::VecDeque;
use std::fmt;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

/// Frame bodies at least this long are queued by reference (their own
/// chunk for `writev`) instead of being copied into the staging buffer.
pub const ZERO_COPY_THRESHOLD: usize = 8 * 1024;

/// The staging capacity allocated up front and reclaimed after each drain.
const STAGING_CAPACITY: usize = 16 * 1024;

/// An empty staging buffer larger than this is released rather than kept.
const MAX_IDLE_STAGING: usize = 256 * 1024;

/// Bytes waiting to be written to the peer, in order.
///
/// The engine writes with [`TransmitQueue::io_slices`] (one `writev`) and
/// reports what was written with [`TransmitQueue::advance`].
///
/// ```
/// use std::io::{IoSlice, Write};
///
/// use brokerless::SocketType;
/// use brokerless::zmtp::{Config, Connection};
///
/// let mut conn = Connection::new(Config::new(SocketType::Pair));
/// let queue = conn.transmit_mut();
/// assert_eq!(queue.len(), 64); // our greeting
/// let mut wire = Vec::new();
/// while !queue.is_empty() {
///     let mut slices = [IoSlice::new(&[]); 8];
///     let n = queue.io_slices(&mut slices);
///     // A stream may take fewer octets than offered; this one takes 40.
///     let mut room = [0u8; 40];
///     let written = (&mut room[..]).write_vectored(&slices[..n])?;
///     wire.extend_from_slice(&room[..written]);
///     queue.advance(written);
/// }
/// assert_eq!(wire.len(), 64);
/// assert_eq!((wire[0], wire[9]), (0xFF, 0x7F)); // the signature
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TransmitQueue {
    /// Frozen octets that precede `staging`; none is empty.
    chunks: VecDeque<Bytes>,
    /// Total length of `chunks`.
    chunked: usize,
    /// Octets after the chunks, still growing.
    staging: BytesMut,
}

impl TransmitQueue {
    /// An empty queue.
    pub fn new() -> TransmitQueue {
        TransmitQueue {
            chunks: VecDeque::new(),
            chunked: 0,
            staging: BytesMut::with_capacity(STAGING_CAPACITY),
        }
    }

    /// Total pending octets.
    pub fn len(&self) -> usize {
        self.chunked + self.staging.len()
    }

    /// Whether nothing is waiting to be written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `out` with slices of the pending octets in order (as many as
    /// fit) and returns how many it filled. Slices are never empty.
    pub fn io_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let staging = Some(&self.staging[..]).filter(|s| !s.is_empty());
        let pending = self.chunks.iter().map(|c| &c[..]).chain(staging);
        let mut filled = 0;
        for (slot, bytes) in out.iter_mut().zip(pending) {
            *slot = IoSlice::new(bytes);
            filled += 1;
        }
        filled
    }

    /// Drops the first `n` pending octets (after a write of `n` octets).
    /// `n` must be at most [`TransmitQueue::len`]; a larger `n` empties
    /// the queue (and fails a debug assertion).
    pub fn advance(&mut self, n: usize) {
        debug_assert!(n <= self.len(), "advance({n}) past {} bytes", self.len());
        let mut n = n.min(self.len());
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                // Only staging is left, and n <= its length.
                self.staging.advance(n);
                break;
            };
            if n < front.len() {
                front.advance(n);
                self.chunked -= n;
                break;
            }
            n -= front.len();
            self.chunked -= front.len();
            self.chunks.pop_front();
        }
        if self.is_empty() {
            self.recycle_staging();
        }
    }

    /// The staging buffer, to encode headers and commands into directly.
    pub(crate) fn staging(&mut self) -> &mut BytesMut {
        if self.staging.capacity() == 0 {
            self.staging.reserve(STAGING_CAPACITY);
        }
        &mut self.staging
    }

    /// Queues a frame body: copied when small, by reference when at least
    /// [`ZERO_COPY_THRESHOLD`] octets long.
    pub(crate) fn push_body(&mut self, body: &Bytes) {
        if body.len() < ZERO_COPY_THRESHOLD {
            self.staging().extend_from_slice(body);
            return;
        }
        if !self.staging.is_empty() {
            let head = self.staging.split().freeze();
            self.chunked += head.len();
            self.chunks.push_back(head);
        }
        self.chunked += body.len();
        self.chunks.push_back(body.clone());
    }

    /// Called when the queue is empty: rewind the staging buffer to the
    /// start of its allocation, or release it if a burst made it large.
    fn recycle_staging(&mut self) {
        self.staging.clear();
        // try_reclaim never allocates; it succeeds (and rewinds) only when
        // the allocation is ours alone and at least that large.
        if self.staging.try_reclaim(MAX_IDLE_STAGING + 1) {
            self.staging = BytesMut::new();
        } else {
            let _ = self.staging.try_reclaim(STAGING_CAPACITY);
        }
    }
}

impl Default for TransmitQueue {
    fn default() -> TransmitQueue {
        TransmitQueue::new()
    }
}

impl fmt::Debug for TransmitQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransmitQueue")
            .field("len", &self.len())
            .field("chunks", &self.chunks.len())
            .field("staged", &self.staging.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Writes everything out with at most `slots` slices per "writev" and
    /// `step` octets accepted per write, like a slow socket.
    fn drain(q: &mut TransmitQueue, slots: usize, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while !q.is_empty() {
            let written = write_once(q, slots, step, &mut out);
            q.advance(written);
        }
        out
    }

    fn write_once(q: &TransmitQueue, slots: usize, max: usize, out: &mut Vec<u8>) -> usize {
        let mut io = vec![IoSlice::new(&[]); slots];
        let n = q.io_slices(&mut io);
        let mut written = 0;
        for s in &io[..n] {
            assert!(!s.is_empty());
            let take = s.len().min(max - written);
            out.extend_from_slice(&s[..take]);
            written += take;
            if written == max {
                break;
            }
        }
        written
    }

    #[test]
    fn small_bodies_are_copied_large_ones_are_not() {
        let mut q = TransmitQueue::new();
        q.staging().extend_from_slice(b"hdr");
        q.push_body(&Bytes::from_static(b"small"));
        let big = Bytes::from(vec![7u8; ZERO_COPY_THRESHOLD]);
        q.push_body(&big);
        q.staging().extend_from_slice(b"tail");
        assert_eq!(q.len(), 3 + 5 + big.len() + 4);

        let mut io = [IoSlice::new(&[]); 8];
        let n = q.io_slices(&mut io);
        assert_eq!(n, 3);
        assert_eq!(&*io[0], b"hdrsmall");
        assert_eq!(io[1].as_ptr(), big.as_ptr(), "large body sent in place");
        assert_eq!(&*io[2], b"tail");

        // Only as many slices as fit.
        let mut one = [IoSlice::new(&[])];
        assert_eq!(q.io_slices(&mut one), 1);
        assert_eq!(q.io_slices(&mut []), 0);
    }

    #[test]
    fn advance_across_partial_chunks() {
        let mut q = TransmitQueue::new();
        q.staging().extend_from_slice(b"ab");
        let big = Bytes::from(vec![1u8; ZERO_COPY_THRESHOLD + 3]);
        q.push_body(&big);
        q.staging().extend_from_slice(b"cd");
        q.advance(1);
        assert_eq!(q.len(), 1 + big.len() + 2);
        q.advance(5);
        let mut io = [IoSlice::new(&[]); 4];
        assert_eq!(q.io_slices(&mut io), 2);
        assert_eq!(io[0].len(), big.len() - 4);
        q.advance(big.len() - 4 + 1);
        assert_eq!(q.len(), 1);
        let mut io = [IoSlice::new(&[]); 4];
        assert_eq!(q.io_slices(&mut io), 1);
        assert_eq!(&*io[0], b"d");
        q.advance(1);
        assert!(q.is_empty());
        let mut io = [IoSlice::new(&[]); 4];
        assert_eq!(q.io_slices(&mut io), 0);
    }

    #[test]
    fn staging_allocation_is_reused() {
        let mut q = TransmitQueue::new();
        let base = q.staging().as_ptr();
        for i in 0..10_000u32 {
            q.staging().extend_from_slice(&i.to_be_bytes());
            q.push_body(&Bytes::from_static(b"a small message body"));
            // A partial write, then the rest.
            q.advance(3);
            assert_eq!(q.staging().as_ptr(), base.wrapping_add(3));
            q.advance(q.len());
            assert_eq!(q.staging().as_ptr(), base, "rewound at {i}");
        }
    }

    #[test]
    fn staging_reclaimed_after_zero_copy_chunk_is_written() {
        let mut q = TransmitQueue::new();
        let base = q.staging().as_ptr();
        for _ in 0..100 {
            q.staging().extend_from_slice(b"header");
            q.push_body(&Bytes::from(vec![0u8; ZERO_COPY_THRESHOLD]));
            q.staging().extend_from_slice(b"next");
            q.advance(q.len());
            assert_eq!(q.staging().as_ptr(), base);
        }
    }

    #[test]
    fn burst_staging_is_released() {
        let mut q = TransmitQueue::new();
        for _ in 0..100 {
            q.push_body(&Bytes::from(vec![0u8; ZERO_COPY_THRESHOLD - 1]));
        }
        assert!(q.staging.capacity() > MAX_IDLE_STAGING);
        q.advance(q.len());
        assert!(q.staging.capacity() <= STAGING_CAPACITY);
        q.push_body(&Bytes::from_static(b"x"));
        assert_eq!(drain(&mut q, 1, 1), b"x");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Staged(Vec<u8>),
        Body(usize, u8),
        Write { slots: usize, max: usize },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Op::Staged),
            (0usize..300, any::<u8>()).prop_map(|(n, b)| Op::Body(n, b)),
            (
                ZERO_COPY_THRESHOLD - 2..ZERO_COPY_THRESHOLD + 3000,
                any::<u8>()
            )
                .prop_map(|(n, b)| Op::Body(n, b)),
            (1usize..5, 1usize..20_000).prop_map(|(slots, max)| Op::Write { slots, max }),
        ]
    }

    proptest! {
        #[test]
        fn reassembles_exactly(
            ops in proptest::collection::vec(op(), 0..40),
            slots in 1usize..5,
            step in 1usize..20_000,
        ) {
            let mut q = TransmitQueue::new();
            let mut expected = Vec::new();
            let mut got = Vec::new();
            for op in ops {
                match op {
                    Op::Staged(b) => {
                        q.staging().extend_from_slice(&b);
                        expected.extend_from_slice(&b);
                    }
                    Op::Body(n, byte) => {
                        // Distinct content per position catches reordering.
                        let body: Vec<u8> =
                            (0..n).map(|i| byte.wrapping_add(i as u8)).collect();
                        q.push_body(&Bytes::from(body.clone()));
                        expected.extend_from_slice(&body);
                    }
                    Op::Write { slots, max } => {
                        let n = write_once(&q, slots, max, &mut got);
                        q.advance(n);
                    }
                }
                prop_assert_eq!(got.len() + q.len(), expected.len());
            }
            got.extend(drain(&mut q, slots, step));
            prop_assert_eq!(got, expected);
            prop_assert!(q.is_empty());
        }
    }
}
