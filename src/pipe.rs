//! Pipes: the bounded, single-producer single-consumer message queues
//! between a socket and one of its peers.
//!
//! A peer has two pipes: outbound (socket writes, engine reads) and
//! inbound (engine writes, socket reads). The same code serves both, and
//! later inproc pipes with a socket at each end.
//!
//! Invariants:
//! - The high-water mark counts whole messages: `count` is the number of
//!   messages written and not yet *credited back* by the reader, so a
//!   message sitting in the reader's local batch still counts.
//! - Wake-ups happen only on edges: the reader is told when the queue goes
//!   from empty to non-empty after it announced it found it empty
//!   (`reader_asleep`), the writer when credit comes back after it found
//!   the pipe full (`writer_blocked`). A busy pipe costs one uncontended
//!   lock per message written and one per batch read, and no syscall.
//! - No lost wake-up: both flags are set and tested under the same lock as
//!   the queue, so an event racing with a side going to sleep is seen
//!   either by the sleeper's re-check or by the notifier.
//! - Closing either end always notifies the other end, so dead pipes are
//!   removed promptly. Messages already queued when the writer closes are
//!   still delivered; messages queued when the reader closes are dropped.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::Message;

/// Identifies the pair of pipes of one peer within a context.
pub type PipeId = u64;

static NEXT_PIPE_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh, process-unique pipe id.
pub(crate) fn next_pipe_id() -> PipeId {
    NEXT_PIPE_ID.fetch_add(1, Ordering::Relaxed)
}

/// Where a pipe end's wake-ups go: a socket's mailbox or an I/O thread.
pub(crate) trait PipeEvents: Send + Sync {
    /// To the reader: data arrived after it found the pipe empty, or the
    /// writer closed.
    fn readable(&self, id: PipeId);
    /// To the writer: credit came back after it found the pipe full, or
    /// the reader closed.
    fn writable(&self, id: PipeId);
}

/// A way to send a message at once, past the queue, from the writer's
/// thread (see [`PipeReader::set_direct`]).
pub(crate) trait DirectSink: Send + Sync {
    /// Sends `msg` now, or hands it back when that cannot be done without
    /// waiting (the message then goes through the queue as usual).
    fn try_send(&self, msg: Message) -> Result<(), Message>;
}

struct State {
    queue: VecDeque<Message>,
    count: usize,
    reader_asleep: bool,
    writer_blocked: bool,
    reader_closed: bool,
    writer_closed: bool,
    reader_events: Option<Arc<dyn PipeEvents>>,
    writer_events: Option<Arc<dyn PipeEvents>>,
    /// Where a write may go directly while the queue is empty.
    direct: Option<Arc<dyn DirectSink>>,
}

struct Shared {
    id: PipeId,
    /// 0 = unlimited. Atomic because an inproc pipe made by a `connect`
    /// before the `bind` learns its peer's share at the bind.
    hwm: AtomicUsize,
    /// Conflating: a data write replaces whatever is queued, and the HWM
    /// does not apply (the `conflate` option). Atomic for the same reason
    /// as `hwm`.
    conflate: AtomicBool,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the queue
        // half-updated (every critical section is a few field writes), so
        // a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn full(&self, st: &State) -> bool {
        if self.conflate.load(Ordering::Relaxed) {
            return false;
        }
        let hwm = self.hwm.load(Ordering::Relaxed);
        hwm != 0 && st.count >= hwm
    }
}

/// Creates a pipe holding at most `hwm` messages (0 = unlimited).
pub(crate) fn pipe(id: PipeId, hwm: usize) -> (PipeWriter, PipeReader) {
    let shared = Arc::new(Shared {
        id,
        hwm: AtomicUsize::new(hwm),
        conflate: AtomicBool::new(false),
        state: Mutex::new(State {
            queue: VecDeque::new(),
            count: 0,
            reader_asleep: true,
            writer_blocked: false,
            reader_closed: false,
            writer_closed: false,
            reader_events: None,
            writer_events: None,
            direct: None,
        }),
    });
    // Credit goes back in batches (libzmq's low-water mark), but never
    // later than after half the pipe was consumed.
    let credit_batch = if hwm == 0 {
        256
    } else {
        (hwm / 2).clamp(1, 256)
    };
    (
        PipeWriter {
            shared: shared.clone(),
        },
        PipeReader {
            shared,
            local: VecDeque::new(),
            consumed: 0,
            credit_batch,
        },
    )
}

/// Why a write did not take the message; the message is handed back.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The pipe is at its high-water mark; the writer will be notified.
    Full(Message),
    /// The reader has gone; the pipe is dead.
    Closed(Message),
}

/// The writing end of a pipe.
pub(crate) struct PipeWriter {
    shared: Arc<Shared>,
}

impl PipeWriter {
    /// The pipe's id.
    pub(crate) fn id(&self) -> PipeId {
        self.shared.id
    }

    /// Sets where "writable" notifications go. The owner checks the pipe
    /// once after this, so an edge before it is not missed.
    pub(crate) fn set_events(&self, events: Arc<dyn PipeEvents>) {
        let mut st = self.shared.lock();
        st.writer_events = Some(events);
    }

    /// Queues `msg`, or hands it back if the pipe is full or dead.
    pub(crate) fn write(&self, msg: Message) -> Result<(), WriteError> {
        self.write_inner(msg, true)
    }

    /// Queues a control message (a subscription) even past the high-water
    /// mark: losing one would silently change what the peer sends. The
    /// caller bounds how many it writes (one per distinct topic).
    pub(crate) fn write_control(&self, msg: Message) -> Result<(), WriteError> {
        self.write_inner(msg, false)
    }

    fn write_inner(&self, mut msg: Message, bounded: bool) -> Result<(), WriteError> {
        let mut st = self.shared.lock();
        if st.reader_closed {
            return Err(WriteError::Closed(msg));
        }
        if bounded
            && st.queue.is_empty()
            && let Some(sink) = st.direct.clone()
        {
            // Nothing is queued ahead of it, and only this writer adds to
            // the queue, so sending past it keeps the order.
            drop(st);
            match sink.try_send(msg) {
                Ok(()) => return Ok(()),
                Err(back) => msg = back,
            }
            st = self.shared.lock();
            if st.reader_closed {
                return Err(WriteError::Closed(msg));
            }
        }
        if bounded && self.shared.conflate.load(Ordering::Relaxed) {
            // Only the newest message is worth reading. Control messages
            // (bounded = false) are never replaced.
            let stale = st.queue.len();
            st.queue.clear();
            st.count -= stale;
        } else if bounded && self.shared.full(&st) {
            st.writer_blocked = true;
            return Err(WriteError::Full(msg));
        }
        st.queue.push_back(msg);
        st.count += 1;
        if st.reader_asleep {
            st.reader_asleep = false;
            let events = st.reader_events.clone();
            drop(st);
            if let Some(ev) = events {
                ev.readable(self.shared.id);
            }
        }
        Ok(())
    }

    /// Whether a write would be accepted now (not full, not closed). When
    /// full, the writer is marked waiting, so a notification follows once
    /// there is room.
    pub(crate) fn check_writable(&self) -> bool {
        let mut st = self.shared.lock();
        if st.reader_closed {
            return false;
        }
        if self.shared.full(&st) {
            st.writer_blocked = true;
            return false;
        }
        true
    }

    /// Changes the high-water mark (0 = unlimited).
    pub(crate) fn set_hwm(&self, hwm: usize) {
        self.shared.hwm.store(hwm, Ordering::Relaxed);
    }

    /// Makes the pipe keep only the newest message (see `Shared`).
    pub(crate) fn set_conflate(&self, on: bool) {
        self.shared.conflate.store(on, Ordering::Relaxed);
    }

    /// A handle that can cut the pipe from outside either end.
    pub(crate) fn cutter(&self) -> PipeCutter {
        PipeCutter {
            shared: self.shared.clone(),
        }
    }

    /// Whether the reader has gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.lock().reader_closed
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.writer_closed = true;
        st.writer_events = None;
        st.reader_asleep = false;
        let events = st.reader_events.clone();
        drop(st);
        if let Some(ev) = events {
            ev.readable(self.shared.id);
        }
    }
}

/// Cuts a pipe as if both ends had closed: queued messages are dropped,
/// and each end is told (its next read finds the pipe closed, its next
/// write fails). Used to disconnect an inproc peer, whose pipe ends live
/// inside two sockets.
pub(crate) struct PipeCutter {
    shared: Arc<Shared>,
}

impl PipeCutter {
    /// Cuts the pipe. Idempotent.
    pub(crate) fn cut(&self) {
        let mut st = self.shared.lock();
        if st.reader_closed && st.writer_closed {
            return;
        }
        st.reader_closed = true;
        st.writer_closed = true;
        st.queue.clear();
        st.writer_blocked = false;
        st.reader_asleep = false;
        let reader = st.reader_events.clone();
        let writer = st.writer_events.clone();
        drop(st);
        if let Some(ev) = reader {
            ev.readable(self.shared.id);
        }
        if let Some(ev) = writer {
            ev.writable(self.shared.id);
        }
    }
}

/// What a read found.
#[derive(Debug)]
pub(crate) enum Read {
    /// The next message.
    Message(Message),
    /// Nothing now; the reader will be notified when that changes.
    Empty,
    /// The writer has gone and every message was read.
    Closed,
}

/// The reading end of a pipe. Reads are served from a local batch taken
/// from the shared queue in one go.
pub(crate) struct PipeReader {
    shared: Arc<Shared>,
    local: VecDeque<Message>,
    consumed: usize,
    credit_batch: usize,
}

impl PipeReader {
    /// The pipe's id.
    pub(crate) fn id(&self) -> PipeId {
        self.shared.id
    }

    /// Sets where "readable" notifications go. The owner reads the pipe
    /// once after this, so an edge before it is not missed.
    pub(crate) fn set_events(&self, events: Arc<dyn PipeEvents>) {
        let mut st = self.shared.lock();
        st.reader_events = Some(events);
    }

    /// Changes the high-water mark (0 = unlimited).
    pub(crate) fn set_hwm(&self, hwm: usize) {
        self.shared.hwm.store(hwm, Ordering::Relaxed);
    }

    /// Makes the pipe keep only the newest message (see `Shared`).
    pub(crate) fn set_conflate(&self, on: bool) {
        self.shared.conflate.store(on, Ordering::Relaxed);
    }

    /// A handle that can cut the pipe from outside either end.
    pub(crate) fn cutter(&self) -> PipeCutter {
        PipeCutter {
            shared: self.shared.clone(),
        }
    }

    /// Lets the writer send directly through `sink` while the queue is
    /// empty (`None` stops it). The reader must keep everything it took
    /// from the queue flowing ahead of such sends.
    pub(crate) fn set_direct(&self, sink: Option<Arc<dyn DirectSink>>) {
        self.shared.lock().direct = sink;
    }

    /// Takes the next message.
    pub(crate) fn read(&mut self) -> Read {
        if let Some(msg) = self.local.pop_front() {
            self.consumed += 1;
            if self.consumed >= self.credit_batch {
                let st = self.shared.lock();
                return_credit(&self.shared, &mut self.consumed, st);
            }
            return Read::Message(msg);
        }
        let mut st = self.shared.lock();
        std::mem::swap(&mut st.queue, &mut self.local);
        match self.local.pop_front() {
            Some(msg) => {
                self.consumed += 1;
                return_credit(&self.shared, &mut self.consumed, st);
                Read::Message(msg)
            }
            None => {
                let closed = st.writer_closed;
                if !closed {
                    st.reader_asleep = true;
                }
                return_credit(&self.shared, &mut self.consumed, st);
                if closed { Read::Closed } else { Read::Empty }
            }
        }
    }

    /// Whether a read would return a message now, without taking it. Marks
    /// the reader asleep when it would not.
    pub(crate) fn check_readable(&mut self) -> bool {
        if !self.local.is_empty() {
            return true;
        }
        let mut st = self.shared.lock();
        if st.queue.is_empty() {
            if !st.writer_closed {
                st.reader_asleep = true;
            }
            return false;
        }
        true
    }
}

/// Gives `consumed` messages' room back to the writer, waking it if it was
/// waiting for room. Releases the lock before notifying.
fn return_credit(shared: &Shared, consumed: &mut usize, mut st: MutexGuard<'_, State>) {
    if *consumed == 0 {
        return;
    }
    st.count -= *consumed;
    *consumed = 0;
    if st.writer_blocked && !shared.full(&st) {
        st.writer_blocked = false;
        let events = st.writer_events.clone();
        drop(st);
        if let Some(ev) = events {
            ev.writable(shared.id);
        }
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.reader_closed = true;
        st.reader_events = None;
        st.direct = None;
        st.queue.clear();
        st.writer_blocked = false;
        let events = st.writer_events.clone();
        drop(st);
        if let Some(ev) = events {
            ev.writable(self.shared.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Default)]
    struct Counter {
        readable: AtomicUsize,
        writable: AtomicUsize,
    }

    impl PipeEvents for Counter {
        fn readable(&self, _: PipeId) {
            self.readable.fetch_add(1, Ordering::SeqCst);
        }
        fn writable(&self, _: PipeId) {
            self.writable.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn msg(i: usize) -> Message {
        Message::from(i.to_string())
    }

    #[test]
    fn hwm_counts_whole_messages_exactly() {
        let (w, mut r) = pipe(1, 3);
        for i in 0..3 {
            w.write(msg(i)).unwrap();
        }
        assert!(matches!(w.write(msg(3)), Err(WriteError::Full(_))));
        // A message taken into the reader's batch still counts until the
        // credit batch (hwm / 2 = 1) is returned.
        assert!(matches!(r.read(), Read::Message(_)));
        w.write(msg(3)).unwrap();
        assert!(matches!(w.write(msg(4)), Err(WriteError::Full(_))));
    }

    #[test]
    fn wakes_only_on_edges() {
        let (w, mut r) = pipe(1, 0);
        let ev = Arc::new(Counter::default());
        r.set_events(ev.clone());
        for i in 0..100 {
            w.write(msg(i)).unwrap();
        }
        assert_eq!(ev.readable.load(Ordering::SeqCst), 1);
        for _ in 0..100 {
            assert!(matches!(r.read(), Read::Message(_)));
        }
        assert!(matches!(r.read(), Read::Empty));
        w.write(msg(0)).unwrap();
        assert_eq!(ev.readable.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn writer_woken_when_credit_returns() {
        let (w, mut r) = pipe(1, 4);
        let ev = Arc::new(Counter::default());
        w.set_events(ev.clone());
        for i in 0..4 {
            w.write(msg(i)).unwrap();
        }
        assert!(w.write(msg(9)).is_err());
        assert_eq!(ev.writable.load(Ordering::SeqCst), 0);
        assert!(matches!(r.read(), Read::Message(_)));
        assert!(matches!(r.read(), Read::Message(_)));
        assert_eq!(ev.writable.load(Ordering::SeqCst), 1);
        w.write(msg(9)).unwrap();
    }

    #[test]
    fn messages_survive_writer_close_in_order() {
        let (w, mut r) = pipe(1, 0);
        w.write(msg(1)).unwrap();
        w.write(msg(2)).unwrap();
        drop(w);
        assert!(matches!(r.read(), Read::Message(m) if &m[0] == b"1"));
        assert!(matches!(r.read(), Read::Message(m) if &m[0] == b"2"));
        assert!(matches!(r.read(), Read::Closed));
    }

    #[test]
    fn reader_close_notifies_and_rejects() {
        let (w, r) = pipe(1, 0);
        let ev = Arc::new(Counter::default());
        w.set_events(ev.clone());
        drop(r);
        assert_eq!(ev.writable.load(Ordering::SeqCst), 1);
        assert!(matches!(w.write(msg(1)), Err(WriteError::Closed(_))));
        assert!(w.is_closed());
    }

    #[test]
    fn a_conflating_pipe_keeps_the_newest_and_ignores_the_hwm() {
        let (w, mut r) = pipe(1, 1);
        w.set_conflate(true);
        for i in 0..5 {
            w.write(msg(i)).unwrap();
        }
        assert!(w.check_writable());
        assert!(matches!(r.read(), Read::Message(m) if &m[0] == b"4"));
        assert!(matches!(r.read(), Read::Empty));
        // Control messages are kept beside the data, never replaced.
        w.write_control(msg(10)).unwrap();
        w.write_control(msg(11)).unwrap();
        w.write(msg(12)).unwrap();
        assert!(matches!(r.read(), Read::Message(m) if &m[0] == b"12"));
        // A plain pipe at its HWM of 1 refuses the second message.
        let (w, _r) = pipe(2, 1);
        w.write(msg(0)).unwrap();
        assert!(matches!(w.write(msg(1)), Err(WriteError::Full(_))));
    }

    #[test]
    fn a_cut_pipe_is_closed_at_both_ends() {
        let (w, mut r) = pipe(1, 0);
        let (wev, rev) = (Arc::new(Counter::default()), Arc::new(Counter::default()));
        w.set_events(wev.clone());
        r.set_events(rev.clone());
        assert!(matches!(r.read(), Read::Empty));
        w.write(msg(1)).unwrap();
        let cutter = w.cutter();
        cutter.cut();
        cutter.cut();
        assert_eq!(wev.writable.load(Ordering::SeqCst), 1);
        assert_eq!(rev.readable.load(Ordering::SeqCst), 2); // data, then the cut
        assert!(matches!(r.read(), Read::Closed));
        assert!(matches!(w.write(msg(2)), Err(WriteError::Closed(_))));
        assert!(w.is_closed());
    }

    /// A sink that takes messages while `open`, and records them.
    #[derive(Default)]
    struct Sink {
        open: std::sync::atomic::AtomicBool,
        taken: Mutex<Vec<Message>>,
    }

    impl DirectSink for Sink {
        fn try_send(&self, msg: Message) -> Result<(), Message> {
            if !self.open.load(Ordering::SeqCst) {
                return Err(msg);
            }
            self.taken.lock().unwrap().push(msg);
            Ok(())
        }
    }

    #[test]
    fn direct_sends_never_overtake_the_queue() {
        let (w, mut r) = pipe(1, 0);
        let sink = Arc::new(Sink::default());
        r.set_direct(Some(sink.clone()));
        // Refused: the message is queued.
        w.write(msg(1)).unwrap();
        // Accepted by the sink now, but the queue is not empty: queued.
        sink.open.store(true, Ordering::SeqCst);
        w.write(msg(2)).unwrap();
        // Control messages always go through the queue.
        w.write_control(msg(3)).unwrap();
        assert!(sink.taken.lock().unwrap().is_empty());
        for i in 1..=3 {
            assert!(matches!(r.read(), Read::Message(m) if m[0] == *i.to_string().as_bytes()));
        }
        assert!(matches!(r.read(), Read::Empty));
        // Queue empty: straight to the sink, no wake-up, no HWM count.
        w.write(msg(4)).unwrap();
        assert_eq!(sink.taken.lock().unwrap().len(), 1);
        assert!(matches!(r.read(), Read::Empty));
        // Gone with the reader.
        drop(r);
        assert!(matches!(w.write(msg(5)), Err(WriteError::Closed(_))));
        assert_eq!(Arc::strong_count(&sink), 1);
    }

    /// Millions of messages with random pauses on both sides: a lost
    /// wake-up would hang this test.
    #[test]
    fn no_lost_wakeup_under_stress() {
        use std::sync::Condvar;

        struct Signal {
            flag: Mutex<bool>,
            cv: Condvar,
        }
        impl Signal {
            fn wait(&self) {
                let mut f = self.flag.lock().unwrap();
                while !*f {
                    f = self.cv.wait(f).unwrap();
                }
                *f = false;
            }
            fn set(&self) {
                *self.flag.lock().unwrap() = true;
                self.cv.notify_one();
            }
        }
        impl PipeEvents for Signal {
            fn readable(&self, _: PipeId) {
                self.set()
            }
            fn writable(&self, _: PipeId) {
                self.set()
            }
        }

        const N: usize = 1_000_000;
        let (w, mut r) = pipe(1, 100);
        let rsig = Arc::new(Signal {
            flag: Mutex::new(false),
            cv: Condvar::new(),
        });
        let wsig = Arc::new(Signal {
            flag: Mutex::new(false),
            cv: Condvar::new(),
        });
        r.set_events(rsig.clone());
        w.set_events(wsig.clone());
        let writer = std::thread::spawn(move || {
            let mut seed = 12345u32;
            for i in 0..N {
                let mut m = msg(i);
                loop {
                    match w.write(m) {
                        Ok(()) => break,
                        Err(WriteError::Full(back)) => {
                            m = back;
                            wsig.wait();
                        }
                        Err(WriteError::Closed(_)) => panic!("reader closed"),
                    }
                }
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if seed % 50_000 == 0 {
                    std::thread::yield_now();
                }
            }
        });
        let mut seed = 777u32;
        for i in 0..N {
            loop {
                match r.read() {
                    Read::Message(m) => {
                        assert_eq!(&m[0], i.to_string().as_bytes());
                        break;
                    }
                    Read::Empty => rsig.wait(),
                    Read::Closed => panic!("writer closed early"),
                }
            }
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            if seed % 70_000 == 0 {
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
        }
        writer.join().unwrap();
    }
}
