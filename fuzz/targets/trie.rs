//! The subscription tries against naive models: a list of counted topics
//! for `CountedTrie` (a socket's own subscriptions) and a set of
//! (topic, pipe) pairs for `PipeTrie` (a publisher's peers).
//!
//! Input: a sequence of operations, each an opcode byte, a length byte
//! and that many bytes of topic or message (short alphabets so that
//! prefixes overlap often).

use brokerless::fuzzing::{CountedTrie, PipeTrie};
use std::collections::BTreeSet;

pub fn run(data: &[u8]) {
    let mut counted = CountedTrie::default();
    let mut counts: Vec<(Vec<u8>, u32)> = Vec::new();
    let mut pipes = PipeTrie::default();
    let mut pairs: BTreeSet<(Vec<u8>, u64)> = BTreeSet::new();
    let mut out = Vec::new();
    let mut rest = data;
    while let [op, len, tail @ ..] = rest {
        let n = usize::from(*len % 8).min(tail.len());
        // A 4-letter alphabet makes shared prefixes the rule.
        let word: Vec<u8> = tail[..n].iter().map(|b| b'a' + b % 4).collect();
        rest = &tail[n..];
        let pipe = u64::from(*op >> 4) % 4;
        match op % 8 {
            0 => {
                let first = counted.add(&word);
                match counts.iter_mut().find(|(t, _)| *t == word) {
                    Some((_, c)) => {
                        assert!(!first);
                        *c += 1;
                    }
                    None => {
                        assert!(first);
                        counts.push((word.clone(), 1));
                    }
                }
            }
            1 => {
                let last = counted.remove(&word);
                let expect = match counts.iter().position(|(t, _)| *t == word) {
                    Some(i) => {
                        counts[i].1 -= 1;
                        if counts[i].1 == 0 {
                            counts.remove(i);
                            true
                        } else {
                            false
                        }
                    }
                    None => false,
                };
                assert_eq!(last, expect);
            }
            2 => {
                let expect = counts.iter().any(|(t, _)| word.starts_with(t));
                assert_eq!(counted.matches(&word), expect);
                let exact = counts.iter().any(|(t, _)| *t == word);
                assert_eq!(counted.contains(&word), exact);
            }
            3 => {
                let mut all: Vec<Vec<u8>> = counts.iter().map(|(t, _)| t.clone()).collect();
                all.sort();
                let mut got = counted.topics();
                got.sort();
                assert_eq!(got, all);
            }
            4 => assert_eq!(pipes.add(&word, pipe), pairs.insert((word.clone(), pipe))),
            5 => assert_eq!(
                pipes.remove(&word, pipe),
                pairs.remove(&(word.clone(), pipe))
            ),
            6 => {
                pipes.matching(&word, &mut out);
                let mut got = out.clone();
                got.sort_unstable();
                got.dedup();
                assert_eq!(got.len(), out.len(), "a pipe listed twice");
                let want: BTreeSet<u64> = pairs
                    .iter()
                    .filter(|(t, _)| word.starts_with(t))
                    .map(|(_, p)| *p)
                    .collect();
                assert_eq!(got, want.into_iter().collect::<Vec<_>>());
            }
            _ => {
                let want = pairs.iter().any(|(t, _)| *t == word);
                assert_eq!(pipes.has_topic(&word), want);
            }
        }
    }
}
