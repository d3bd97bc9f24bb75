//! Prefix tries for topic matching (RFC 29: "a subscription matches a
//! message if it is a prefix of the message's first frame; the empty
//! subscription matches everything").
//!
//! [`CountedTrie`] holds one socket's own subscriptions, counted (two
//! subscribes need two cancels), and answers "does anything match?".
//! [`PipeTrie`] holds the subscriptions of many peers, as sets per pipe,
//! and collects the pipes a message goes to. Both cost time proportional
//! to the length of the topic or message prefix walked, not to the number
//! of subscriptions.

use std::collections::BTreeMap;

use crate::pipe::PipeId;

#[derive(Default)]
struct CountedNode {
    count: u32,
    children: BTreeMap<u8, CountedNode>,
}

/// A socket's own subscriptions, counted.
#[derive(Default)]
pub struct CountedTrie {
    root: CountedNode,
}

impl CountedTrie {
    /// Adds one subscription to `topic`; true if it is the first.
    pub fn add(&mut self, topic: &[u8]) -> bool {
        let mut node = &mut self.root;
        for b in topic {
            node = node.children.entry(*b).or_default();
        }
        node.count += 1;
        node.count == 1
    }

    /// Removes one subscription to `topic`; true if it was the last. A
    /// topic not subscribed is ignored (false).
    pub fn remove(&mut self, topic: &[u8]) -> bool {
        fn walk(node: &mut CountedNode, topic: &[u8]) -> Option<bool> {
            match topic.split_first() {
                None => {
                    if node.count == 0 {
                        return None;
                    }
                    node.count -= 1;
                    Some(node.count == 0)
                }
                Some((b, rest)) => {
                    let child = node.children.get_mut(b)?;
                    let last = walk(child, rest)?;
                    if child.count == 0 && child.children.is_empty() {
                        node.children.remove(b);
                    }
                    Some(last)
                }
            }
        }
        walk(&mut self.root, topic).unwrap_or(false)
    }

    /// Whether `topic` itself is subscribed (exact match, as DISH groups).
    pub fn contains(&self, topic: &[u8]) -> bool {
        let mut node = &self.root;
        for b in topic {
            match node.children.get(b) {
                Some(child) => node = child,
                None => return false,
            }
        }
        node.count > 0
    }

    /// Whether some subscription is a prefix of `data`.
    pub fn matches(&self, data: &[u8]) -> bool {
        let mut node = &self.root;
        if node.count > 0 {
            return true;
        }
        for b in data {
            match node.children.get(b) {
                Some(child) if child.count > 0 => return true,
                Some(child) => node = child,
                None => return false,
            }
        }
        false
    }

    /// Every subscribed topic once (for resending after a reconnection).
    pub fn topics(&self) -> Vec<Vec<u8>> {
        fn walk(node: &CountedNode, prefix: &mut Vec<u8>, out: &mut Vec<Vec<u8>>) {
            if node.count > 0 {
                out.push(prefix.clone());
            }
            for (b, child) in &node.children {
                prefix.push(*b);
                walk(child, prefix, out);
                prefix.pop();
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut Vec::new(), &mut out);
        out
    }
}

#[derive(Default)]
struct PipeNode {
    pipes: Vec<PipeId>,
    children: BTreeMap<u8, PipeNode>,
}

/// The subscriptions of many peers: per topic, the set of pipes.
#[derive(Default)]
pub struct PipeTrie {
    root: PipeNode,
}

impl PipeTrie {
    /// Subscribes `pipe` to `topic`; true if it was not already.
    pub fn add(&mut self, topic: &[u8], pipe: PipeId) -> bool {
        let mut node = &mut self.root;
        for b in topic {
            node = node.children.entry(*b).or_default();
        }
        if node.pipes.contains(&pipe) {
            return false;
        }
        node.pipes.push(pipe);
        true
    }

    /// Cancels `pipe`'s subscription to `topic`; true if it had one.
    pub fn remove(&mut self, topic: &[u8], pipe: PipeId) -> bool {
        fn walk(node: &mut PipeNode, topic: &[u8], pipe: PipeId) -> bool {
            match topic.split_first() {
                None => match node.pipes.iter().position(|p| *p == pipe) {
                    Some(i) => {
                        node.pipes.swap_remove(i);
                        true
                    }
                    None => false,
                },
                Some((b, rest)) => {
                    let Some(child) = node.children.get_mut(b) else {
                        return false;
                    };
                    let removed = walk(child, rest, pipe);
                    if child.pipes.is_empty() && child.children.is_empty() {
                        node.children.remove(b);
                    }
                    removed
                }
            }
        }
        walk(&mut self.root, topic, pipe)
    }

    /// Whether any pipe is subscribed to exactly `topic`.
    pub fn has_topic(&self, topic: &[u8]) -> bool {
        let mut node = &self.root;
        for b in topic {
            match node.children.get(b) {
                Some(child) => node = child,
                None => return false,
            }
        }
        !node.pipes.is_empty()
    }

    /// Collects into `out` (cleared first) every pipe with a subscription
    /// that is a prefix of `data`, each once.
    pub fn matching(&self, data: &[u8], out: &mut Vec<PipeId>) {
        out.clear();
        let mut node = &self.root;
        out.extend_from_slice(&node.pipes);
        for b in data {
            match node.children.get(b) {
                Some(child) => {
                    node = child;
                    out.extend_from_slice(&node.pipes);
                }
                None => break,
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn counted_subscriptions_need_as_many_cancels() {
        let mut t = CountedTrie::default();
        assert!(t.add(b"ab"));
        assert!(!t.add(b"ab"));
        assert!(t.matches(b"abc"));
        assert!(!t.matches(b"a"));
        assert!(!t.remove(b"ab"));
        assert!(t.matches(b"ab"));
        assert!(t.remove(b"ab"));
        assert!(!t.matches(b"abc"));
        assert!(!t.remove(b"ab"), "cancelling what is not there is ignored");
        assert!(t.add(b""));
        assert!(t.matches(b"anything"));
        assert_eq!(t.topics(), vec![Vec::<u8>::new()]);
    }

    #[test]
    fn pipe_sets_are_idempotent() {
        let mut t = PipeTrie::default();
        assert!(t.add(b"a", 1));
        assert!(!t.add(b"a", 1));
        assert!(t.add(b"ab", 2));
        assert!(t.add(b"", 3));
        let mut out = Vec::new();
        t.matching(b"abc", &mut out);
        assert_eq!(out, [1, 2, 3]);
        t.matching(b"b", &mut out);
        assert_eq!(out, [3]);
        assert!(t.has_topic(b"a") && t.has_topic(b"") && !t.has_topic(b"x"));
        assert!(t.remove(b"a", 1));
        assert!(!t.remove(b"a", 1));
        assert!(!t.has_topic(b"a") && t.has_topic(b"ab"));
        t.matching(b"abc", &mut out);
        assert_eq!(out, [2, 3]);
    }

    /// A small deterministic generator for the large test below.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (self.0 >> 33) % n
        }

        /// A word of `min` to `max - 1` letters from a 26-letter alphabet.
        fn word(&mut self, min: u64, max: u64) -> Vec<u8> {
            let len = (min + self.next(max - min)) as usize;
            (0..len).map(|_| b'a' + self.next(26) as u8).collect()
        }
    }

    /// 10,000 subscriptions spread over 100 pipes still match exactly as
    /// a naive prefix check does.
    #[test]
    fn ten_thousand_subscriptions() {
        let mut rng = Lcg(0x2545_f491);
        // Never empty: an empty topic would match everything.
        let topics: Vec<(Vec<u8>, PipeId)> = (0..10_000)
            .map(|i| (rng.word(3, 9), (i % 100) as PipeId))
            .collect();
        let mut pipes = PipeTrie::default();
        let mut counted = CountedTrie::default();
        for (t, p) in &topics {
            pipes.add(t, *p);
            counted.add(t);
        }
        let mut out = Vec::new();
        let mut hits = 0usize;
        for _ in 0..2_000 {
            // Half the messages extend a subscribed topic, half are random.
            let data = if rng.next(2) == 0 {
                let mut d = topics[rng.next(10_000) as usize].0.clone();
                d.extend(rng.word(0, 4));
                d
            } else {
                rng.word(0, 12)
            };
            pipes.matching(&data, &mut out);
            let mut want: Vec<PipeId> = topics
                .iter()
                .filter(|(t, _)| data.starts_with(t))
                .map(|(_, p)| *p)
                .collect();
            want.sort_unstable();
            want.dedup();
            assert_eq!(out, want);
            assert_eq!(counted.matches(&data), !want.is_empty());
            hits += usize::from(!want.is_empty());
        }
        // Both outcomes occur often enough for the test to mean something.
        assert!(hits > 500 && hits < 1_500, "{hits}");
    }

    proptest! {
        /// Against a naive matcher, with many topics.
        #[test]
        fn matches_like_a_naive_prefix_check(
            topics in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..4), 0..60),
            cancels in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
            data in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..6), 1..30),
        ) {
            let mut counted = CountedTrie::default();
            let mut pipes = PipeTrie::default();
            let mut live: Vec<(Vec<u8>, PipeId)> = Vec::new();
            for (i, t) in topics.iter().enumerate() {
                counted.add(t);
                let pipe = (i % 5) as PipeId;
                pipes.add(t, pipe);
                live.push((t.clone(), pipe));
            }
            for c in cancels {
                if live.is_empty() {
                    break;
                }
                let (t, pipe) = live.remove(c.index(live.len()));
                counted.remove(&t);
                // Sets: the pipe's subscription stays while another copy does.
                if !live.iter().any(|(t2, p2)| *t2 == t && *p2 == pipe) {
                    pipes.remove(&t, pipe);
                }
            }
            let mut out = Vec::new();
            for d in &data {
                let naive = live.iter().any(|(t, _)| d.starts_with(t));
                prop_assert_eq!(counted.matches(d), naive);
                pipes.matching(d, &mut out);
                let mut want: Vec<PipeId> = live
                    .iter()
                    .filter(|(t, _)| d.starts_with(t))
                    .map(|(_, p)| *p)
                    .collect();
                want.sort_unstable();
                want.dedup();
                prop_assert_eq!(&out, &want);
            }
        }
    }
}
