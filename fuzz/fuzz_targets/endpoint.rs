//! cargo-fuzz entry point; the checks live in `fuzz/targets/endpoint.rs`,
//! shared with the corpus replay test `tests/fuzz_corpus.rs`.
//!
//! Run: `cargo fuzz run endpoint` (nightly) or
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run endpoint`, from the repository root,
//! preferably in a network namespace of its own (see fuzz/README.md).
//!
//! SIGPIPE stays at its default action (libFuzzer's C `main` leaves it
//! so), as in a C host application: a write that raised it would kill the
//! run. This target found such a write (`writev` to a peer that had
//! closed, kept in `fuzz/artifacts/endpoint/sigpipe-ipc-peer-closed`);
//! writes now use `sendmsg` with `MSG_NOSIGNAL`.
#![no_main]

#[path = "../targets/endpoint.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
