//! Builds a static libzmq 4.3.5 from the sources vendored in the `zeromq-src`
//! crate (compiled with the `cc` crate: no cmake, no system package, no
//! network besides cargo's own crates.io download).
//!
//! The DRAFT API is enabled so that RADIO/DISH (and `zmq_join`,
//! `zmq_msg_set_group`, ...) are available.
//!
//! CURVE is not enabled yet. To turn it on, add `libsodium-sys-stable` under
//! `[dependencies]` (a normal dependency: cargo passes a `links` crate's
//! metadata to its dependents' build scripts): its build script exports
//! `DEP_SODIUM_INCLUDE` and `DEP_SODIUM_LIB` to this build script, which
//! would then pass them on with
//! `build.with_libsodium(Some(zeromq_src::LibLocation::new(lib, include)))`
//! before calling `build.build()`; `zmq_has("curve")` then returns 1.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");

    quiet_vendored_warnings();

    let mut build = zeromq_src::Build::new();
    build.enable_draft(true);
    // CURVE would go here: build.with_libsodium(Some(LibLocation::new(..)));
    // `build()` compiles libzmq (C++) with `cc`, and emits
    // `rustc-link-lib=static=zmq` plus the C++ runtime (`stdc++` on
    // GNU/Linux, `c++` on Apple) through `cc`'s default C++ stdlib linking.
    build.build();
}

/// Adds `-w` to `CXXFLAGS` for the `cc` builds that `zeromq-src` runs inside
/// this process: without it, gcc's warnings about libzmq's own sources
/// (`-Wimplicit-fallthrough`, `-Wunused-parameter`) are printed as
/// `warning: libzmq-peer@...` lines on every cargo run of the workspace,
/// although they are not ours to fix. Any `CXXFLAGS` already set is kept.
fn quiet_vendored_warnings() {
    let flags = match std::env::var("CXXFLAGS") {
        Ok(existing) if !existing.trim().is_empty() => format!("{existing} -w"),
        _ => "-w".to_owned(),
    };
    // SAFETY: the build script is still single-threaded here (nothing has
    // spawned a thread yet; `cc` only does so later, inside `build()`), so
    // no other thread can read the environment concurrently.
    unsafe { std::env::set_var("CXXFLAGS", flags) };
}
