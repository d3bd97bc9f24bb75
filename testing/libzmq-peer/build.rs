//! Builds a static libzmq 4.3.5 from the sources vendored in the `zeromq-src`
//! crate (compiled with the `cc` crate: no cmake, no system package, no
//! network besides cargo's own crates.io download).
//!
//! The DRAFT API is enabled so that RADIO/DISH (and `zmq_join`,
//! `zmq_msg_set_group`, ...) are available.
//!
//! CURVE is enabled with libsodium: the `libsodium-sys-stable` dependency
//! (`links = "sodium"`) builds the libsodium-stable tarball shipped inside
//! that crate and exports its directories as `DEP_SODIUM_INCLUDE` and
//! `DEP_SODIUM_LIB`, which are passed on here with
//! `Build::with_libsodium(Some(LibLocation::new(lib, include)))`; then
//! `zmq_has("curve")` returns 1.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_SODIUM_INCLUDE");
    println!("cargo:rerun-if-env-changed=DEP_SODIUM_LIB");

    quiet_vendored_warnings();

    let mut build = zeromq_src::Build::new();
    build.enable_draft(true);
    build.with_libsodium(Some(libsodium()));
    // `build()` compiles libzmq (C++) with `cc`, and emits
    // `rustc-link-lib=static=zmq` plus the C++ runtime (`stdc++` on
    // GNU/Linux, `c++` on Apple) through `cc`'s default C++ stdlib linking.
    build.build();
}

/// Where `libsodium-sys-stable` put libsodium: its `cargo:lib=` and
/// `cargo:include=` metadata, which cargo hands to this build script as
/// `DEP_SODIUM_LIB` and `DEP_SODIUM_INCLUDE`.
///
/// Both are set when libsodium is built from the crate's bundled source (the
/// default). Pointing that crate at a prebuilt library with `SODIUM_LIB_DIR`
/// exports neither, so CURVE cannot be built: that is a configuration error
/// here, reported as such rather than as a missing header deep in libzmq.
fn libsodium() -> zeromq_src::LibLocation {
    let var = |name: &str| {
        std::env::var_os(name).unwrap_or_else(|| {
            panic!(
                "{name} is not set: libsodium-sys-stable did not report where libsodium is \
                 (unset SODIUM_LIB_DIR / SODIUM_USE_PKG_CONFIG to let it build its bundled \
                 source)"
            )
        })
    };
    zeromq_src::LibLocation::new(var("DEP_SODIUM_LIB"), var("DEP_SODIUM_INCLUDE"))
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
