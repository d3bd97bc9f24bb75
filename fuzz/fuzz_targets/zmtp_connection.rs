//! cargo-fuzz entry point; the checks live in `fuzz/targets/zmtp_connection.rs`,
//! shared with the corpus replay test `tests/fuzz_corpus.rs`.
//!
//! Run: `cargo fuzz run zmtp_connection` (nightly) or
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run zmtp_connection`, from the repository root.
#![no_main]

#[path = "../targets/zmtp_connection.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
