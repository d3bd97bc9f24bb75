//! Fair queuing over inbound pipes, as libzmq's `fq_t`.
//!
//! Each receive takes one message from the next active pipe in turn, so a
//! busy peer cannot starve the others; an empty pipe is parked (see
//! [`ActiveSet`]) until it reports data; a pipe whose writer closed is
//! dropped once drained.

use super::active::ActiveSet;
use crate::Message;
use crate::pipe::{PipeId, PipeReader, Read};

/// Fair-queued receiving from many pipes.
#[derive(Default)]
pub(crate) struct FairQueue {
    pipes: ActiveSet<PipeReader>,
}

impl FairQueue {
    /// Adds a pipe, active at once (it may already hold messages).
    pub(crate) fn attach(&mut self, pipe: PipeReader) {
        self.pipes.attach(pipe);
    }

    /// The pipe `id` reported data (or that its writer closed).
    pub(crate) fn activated(&mut self, id: PipeId) {
        self.pipes.activate(id);
    }

    /// Whether the pipe `id` is still attached (it may hold messages).
    pub(crate) fn contains(&self, id: PipeId) -> bool {
        self.pipes.get(id).is_some()
    }

    /// Drops the pipe `id` (closing it), whatever it still holds.
    pub(crate) fn remove(&mut self, id: PipeId) {
        self.pipes.remove(id);
    }

    /// Number of attached pipes.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.pipes.len()
    }

    /// The next message in fair order, with the id of the pipe it came
    /// from; `None` when every pipe is empty.
    pub(crate) fn recv(&mut self) -> Option<(PipeId, Message)> {
        while let Some(pipe) = self.pipes.current() {
            match pipe.read() {
                Read::Message(m) => {
                    let id = pipe.id();
                    self.pipes.advance();
                    return Some((id, m));
                }
                Read::Empty => self.pipes.deactivate_current(),
                Read::Closed => self.pipes.remove_current(),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::pipe;

    #[test]
    fn takes_one_from_each_in_turn() {
        let mut fq = FairQueue::default();
        let mut writers = Vec::new();
        for id in 1..=3 {
            let (w, r) = pipe(id, 0);
            for i in 0..3 {
                w.write(Message::from(format!("{id}{i}"))).unwrap();
            }
            fq.attach(r);
            writers.push(w);
        }
        let got: Vec<String> = std::iter::from_fn(|| fq.recv())
            .map(|(_, m)| String::from_utf8(m[0].to_vec()).unwrap())
            .collect();
        assert_eq!(got, ["10", "20", "30", "11", "21", "31", "12", "22", "32"]);
        // Refilled pipes come back after their notification.
        writers[1].write(Message::from("x")).unwrap();
        fq.activated(2);
        assert_eq!(&fq.recv().unwrap().1[0], b"x");
        assert!(fq.recv().is_none());
    }

    #[test]
    fn removed_pipes_are_skipped() {
        let mut fq = FairQueue::default();
        let mut writers = Vec::new();
        for id in 1..=3 {
            let (w, r) = pipe(id, 0);
            w.write(Message::from(id.to_string())).unwrap();
            fq.attach(r);
            writers.push(w);
        }
        fq.remove(2);
        assert!(writers[1].is_closed());
        let mut got: Vec<PipeId> = std::iter::from_fn(|| fq.recv()).map(|(id, _)| id).collect();
        got.sort();
        assert_eq!(got, [1, 3]);
        assert_eq!(fq.len(), 3 - 1);
    }

    #[test]
    fn closed_pipes_are_drained_then_dropped() {
        let mut fq = FairQueue::default();
        let (w, r) = pipe(1, 0);
        fq.attach(r);
        w.write(Message::from("last")).unwrap();
        drop(w);
        assert_eq!(&fq.recv().unwrap().1[0], b"last");
        assert!(fq.recv().is_none());
        assert_eq!(fq.len(), 0);
    }
}
