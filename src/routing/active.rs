//! [`ActiveSet`]: the pipe list both load balancing and fair queuing walk,
//! as libzmq's `lb_t` and `fq_t` keep theirs.
//!
//! Invariant: `items[..active]` are the pipes worth trying (they had room
//! or data when last tried); the rest wait for a notification that moves
//! them back. `current` indexes the next active pipe to try and is always
//! `< active` when `active > 0`. Moving a pipe between the two ranges is
//! one swap, so a full or empty pipe costs nothing until it is woken.

use crate::pipe::{PipeId, PipeReader, PipeWriter};

/// Something with a pipe id.
pub(crate) trait Keyed {
    /// The pipe's id.
    fn key(&self) -> PipeId;
}

impl Keyed for PipeReader {
    fn key(&self) -> PipeId {
        self.id()
    }
}

impl Keyed for PipeWriter {
    fn key(&self) -> PipeId {
        self.id()
    }
}

/// Pipes split into an active and an inactive range, with a rotating
/// cursor over the active one.
pub(crate) struct ActiveSet<T> {
    items: Vec<T>,
    active: usize,
    current: usize,
}

impl<T> Default for ActiveSet<T> {
    fn default() -> Self {
        ActiveSet {
            items: Vec::new(),
            active: 0,
            current: 0,
        }
    }
}

impl<T: Keyed> ActiveSet<T> {
    /// Adds a pipe to the active range.
    pub(crate) fn attach(&mut self, item: T) {
        self.items.push(item);
        let last = self.items.len() - 1;
        self.items.swap(self.active, last);
        self.active += 1;
    }

    /// The pipe with this id, if attached.
    pub(crate) fn get(&self, id: PipeId) -> Option<&T> {
        self.items.iter().find(|p| p.key() == id)
    }

    /// Moves the pipe `id` back into the active range.
    pub(crate) fn activate(&mut self, id: PipeId) {
        if let Some(i) = self.items.iter().position(|p| p.key() == id)
            && i >= self.active
        {
            self.items.swap(i, self.active);
            self.active += 1;
        }
    }

    /// Detaches (and so drops) the pipe `id`.
    pub(crate) fn remove(&mut self, id: PipeId) {
        if let Some(i) = self.items.iter().position(|p| p.key() == id) {
            if i < self.active {
                self.deactivate_at(i);
                self.items.swap_remove(self.active);
            } else {
                self.items.swap_remove(i);
            }
        }
    }

    /// The pipe to try next, if any is active.
    pub(crate) fn current(&mut self) -> Option<&mut T> {
        if self.active == 0 {
            None
        } else {
            self.items.get_mut(self.current)
        }
    }

    /// The current pipe served: the next one goes next.
    pub(crate) fn advance(&mut self) {
        self.current = (self.current + 1) % self.active;
    }

    /// The current pipe is full or empty: skip it until activated.
    pub(crate) fn deactivate_current(&mut self) {
        self.deactivate_at(self.current);
    }

    /// The current pipe is dead: drop it.
    pub(crate) fn remove_current(&mut self) {
        self.deactivate_at(self.current);
        self.items.swap_remove(self.active);
    }

    fn deactivate_at(&mut self, i: usize) {
        self.active -= 1;
        self.items.swap(i, self.active);
        if self.current >= self.active {
            self.current = 0;
        }
    }

    /// Number of attached pipes, active or not.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct P(PipeId);
    impl Keyed for P {
        fn key(&self) -> PipeId {
            self.0
        }
    }

    fn ids_from_current(s: &mut ActiveSet<P>) -> Vec<PipeId> {
        let mut out = Vec::new();
        while let Some(p) = s.current() {
            out.push(p.0);
            s.deactivate_current();
        }
        out
    }

    #[test]
    fn rotates_and_parks() {
        let mut s = ActiveSet::default();
        for id in 1..=3 {
            s.attach(P(id));
        }
        assert_eq!(s.current().map(|p| p.0), Some(1));
        s.advance();
        assert_eq!(s.current().map(|p| p.0), Some(2));
        s.deactivate_current();
        // 2 is parked: the cursor moves on among 1 and 3.
        let mut seen = ids_from_current(&mut s);
        seen.sort();
        assert_eq!(seen, [1, 3]);
        assert!(s.current().is_none());
        s.activate(2);
        assert_eq!(s.current().map(|p| p.0), Some(2));
        s.activate(2); // already active: no change
        assert_eq!(ids_from_current(&mut s), [2]);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn removes_active_and_parked() {
        let mut s = ActiveSet::default();
        for id in 1..=4 {
            s.attach(P(id));
        }
        s.deactivate_current(); // parks 1
        s.remove(1);
        s.remove(3);
        assert!(s.get(1).is_none() && s.get(3).is_none());
        assert_eq!(s.len(), 2);
        s.remove_current();
        assert_eq!(s.len(), 1);
        let left = ids_from_current(&mut s);
        assert_eq!(left.len(), 1);
        assert!(left[0] == 2 || left[0] == 4);
    }
}
