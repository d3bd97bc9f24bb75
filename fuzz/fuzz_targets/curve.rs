//! cargo-fuzz entry point; the checks live in `fuzz/targets/curve.rs`,
//! shared with the corpus replay test `tests/fuzz_corpus.rs`.
//!
//! Run: `cargo fuzz run curve` (nightly) or
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run curve`, from the repository root.
#![no_main]

#[path = "../targets/curve.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
