//! Load balancing (round-robin) over outbound pipes, as libzmq's `lb_t`.
//!
//! Each message goes to the next active pipe after the one that took the
//! previous message; a full pipe is parked (see [`ActiveSet`]) and skipped
//! until it reports room again; a closed pipe is dropped.

use super::active::ActiveSet;
use crate::Message;
use crate::pipe::{PipeId, PipeWriter, WriteError};

/// Round-robin over the writable pipes.
#[derive(Default)]
pub(crate) struct LoadBalancer {
    pipes: ActiveSet<PipeWriter>,
}

impl LoadBalancer {
    /// Adds a pipe, active at once.
    pub(crate) fn attach(&mut self, pipe: PipeWriter) {
        self.pipes.attach(pipe);
    }

    /// The pipe `id` reported room (or that its reader closed).
    pub(crate) fn activated(&mut self, id: PipeId) {
        match self.pipes.get(id) {
            Some(p) if p.is_closed() => self.pipes.remove(id),
            Some(_) => self.pipes.activate(id),
            None => {}
        }
    }

    /// Number of attached pipes.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.pipes.len()
    }

    /// Whether some pipe has room now. Full pipes found on the way are
    /// parked (each will report room), dead ones dropped.
    pub(crate) fn has_room(&mut self) -> bool {
        while let Some(pipe) = self.pipes.current() {
            if pipe.is_closed() {
                self.pipes.remove_current();
            } else if pipe.check_writable() {
                return true;
            } else {
                self.pipes.deactivate_current();
            }
        }
        false
    }

    /// Sends `msg` to the next pipe with room and says which pipe took it,
    /// or hands the message back when every pipe is full (or there is
    /// none).
    pub(crate) fn send(&mut self, msg: Message) -> Result<PipeId, Message> {
        self.send_after(msg, |_| {})
    }

    /// [`LoadBalancer::send`], calling `before` with each pipe's id just
    /// before trying it (REQ clears stale replies there, so that the
    /// reply to this message cannot be mistaken for one).
    pub(crate) fn send_after(
        &mut self,
        mut msg: Message,
        mut before: impl FnMut(PipeId),
    ) -> Result<PipeId, Message> {
        while let Some(pipe) = self.pipes.current() {
            let id = pipe.id();
            before(id);
            match pipe.write(msg) {
                Ok(()) => {
                    self.pipes.advance();
                    return Ok(id);
                }
                Err(WriteError::Full(back)) => {
                    msg = back;
                    self.pipes.deactivate_current();
                }
                Err(WriteError::Closed(back)) => {
                    msg = back;
                    self.pipes.remove_current();
                }
            }
        }
        Err(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::{Read, pipe};

    fn take(r: &mut crate::pipe::PipeReader) -> Vec<String> {
        let mut out = Vec::new();
        while let Read::Message(m) = r.read() {
            out.push(String::from_utf8(m[0].to_vec()).unwrap());
        }
        out
    }

    #[test]
    fn round_robin_skips_full_and_returns() {
        let mut lb = LoadBalancer::default();
        let (w1, mut r1) = pipe(1, 2);
        let (w2, mut r2) = pipe(2, 0);
        let (w3, mut r3) = pipe(3, 0);
        lb.attach(w1);
        lb.attach(w2);
        lb.attach(w3);
        for i in 0..9 {
            lb.send(Message::from(i.to_string())).unwrap();
        }
        // Pipe 1 took two messages, then was full and skipped.
        // The other two shared the rest evenly.
        assert_eq!(take(&mut r1), ["0", "3"]);
        let (n2, n3) = (take(&mut r2).len(), take(&mut r3).len());
        assert_eq!(n2 + n3, 7);
        assert!(n2.abs_diff(n3) <= 1);
        lb.activated(1);
        lb.send(Message::from("x")).unwrap();
        lb.send(Message::from("y")).unwrap();
        lb.send(Message::from("z")).unwrap();
        let mut all = take(&mut r1);
        all.extend(take(&mut r2));
        all.extend(take(&mut r3));
        all.sort();
        assert_eq!(all, ["x", "y", "z"]);
    }

    #[test]
    fn all_full_hands_message_back_and_closed_pipes_go() {
        let mut lb = LoadBalancer::default();
        assert!(lb.send(Message::from("a")).is_err());
        let (w, r) = pipe(1, 1);
        lb.attach(w);
        lb.send(Message::from("a")).unwrap();
        assert!(lb.send(Message::from("b")).is_err());
        drop(r);
        lb.activated(1);
        assert_eq!(lb.len(), 0);
    }
}
