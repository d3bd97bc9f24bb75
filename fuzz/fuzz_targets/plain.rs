//! cargo-fuzz entry point; the checks live in `fuzz/targets/plain.rs`,
//! shared with the corpus replay test `tests/fuzz_corpus.rs`.
//!
//! Run: `cargo fuzz run plain` (nightly) or
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run plain`, from the repository root.
#![no_main]

#[path = "../targets/plain.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
