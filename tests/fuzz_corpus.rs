//! Replays the fuzz corpora on stable Rust, as part of `cargo test`: every
//! file under `fuzz/corpus/<target>/` (seeds, and whatever a local fuzz
//! run added) and `fuzz/artifacts/<target>/` (crashes found and kept as
//! regression inputs) goes through the same checks as the cargo-fuzz
//! target, from the shared `fuzz/targets/<target>.rs`.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

#[path = "../fuzz/targets/command.rs"]
mod command;
#[path = "../fuzz/targets/curve.rs"]
mod curve;
#[path = "../fuzz/targets/endpoint.rs"]
mod endpoint;
#[path = "../fuzz/targets/frame_decoder.rs"]
mod frame_decoder;
#[path = "../fuzz/targets/greeting.rs"]
mod greeting;
#[path = "../fuzz/targets/plain.rs"]
mod plain;
#[path = "../fuzz/targets/trie.rs"]
mod trie;
#[path = "../fuzz/targets/zmtp_connection.rs"]
mod zmtp_connection;

/// The input files of `target`, corpus then artifacts, in a stable order
/// (README, .gitkeep and other dot files are not inputs).
fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                !name.starts_with('.') && name != "README.md"
            })
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

/// Runs `run` on every input of `target`, naming the ones that fail.
fn replay(target: &str, run: fn(&[u8])) {
    let files = inputs(target);
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().contains("/corpus/")),
        "no seed corpus for {target}"
    );
    let mut failed = Vec::new();
    for file in &files {
        let data = fs::read(file).expect("read a corpus file");
        if panic::catch_unwind(|| run(&data)).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(failed.is_empty(), "{target}: failing inputs: {failed:#?}");
}

#[test]
fn frame_decoder_corpus() {
    replay("frame_decoder", frame_decoder::run);
}

#[test]
fn greeting_corpus() {
    replay("greeting", greeting::run);
}

#[test]
fn command_corpus() {
    replay("command", command::run);
}

#[test]
fn zmtp_connection_corpus() {
    replay("zmtp_connection", zmtp_connection::run);
}

#[test]
fn endpoint_corpus() {
    replay("endpoint", endpoint::run);
    // The directory the target made for its ipc socket files.
    let dir = std::env::temp_dir().join(format!("brokerless-fuzz-{}", std::process::id()));
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn trie_corpus() {
    replay("trie", trie::run);
}

#[test]
fn plain_corpus() {
    replay("plain", plain::run);
}

#[test]
fn curve_corpus() {
    replay("curve", curve::run);
}
