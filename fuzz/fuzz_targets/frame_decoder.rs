//! cargo-fuzz entry point; the checks live in `fuzz/targets/frame_decoder.rs`,
//! shared with the corpus replay test `tests/fuzz_corpus.rs`.
//!
//! Run: `cargo fuzz run frame_decoder` (nightly) or
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run frame_decoder`, from the repository root.
#![no_main]

#[path = "../targets/frame_decoder.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
