//! cargo-fuzz entry point; the checks live in `fuzz/targets/trie.rs`,
//! shared with the corpus replay test `tests/fuzz_corpus.rs`.
#![no_main]

#[path = "../targets/trie.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
