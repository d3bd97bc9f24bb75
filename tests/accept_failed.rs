//! `AcceptFailed`: a listener that runs out of file descriptors reports
//! it, and accepts the waiting connection once descriptors are free again.
//!
//! Its own test binary: it exhausts the process's descriptors.

mod common;

use std::fs::File;

use brokerless::{Context, MonitorEvent, SocketType};
use common::*;

#[test]
fn running_out_of_descriptors_is_reported_and_survived() {
    // A low soft limit keeps the test quick whatever the machine allows.
    let status = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg("--nofile=512:")
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(status.success());

    let ctx = Context::new();
    let pull = sock(&ctx, SocketType::Pull);
    let mon = pull.monitor().unwrap();
    let (pull, endpoint) = bind_any(pull);
    wait_for(&mon, |e| matches!(e, MonitorEvent::Listening { .. }));

    // Use up every descriptor but one, which the client takes.
    let mut files = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(f) => files.push(f),
            Err(e) if e.raw_os_error() == Some(24) => break, // EMFILE
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    files.pop();
    let client = std::net::TcpStream::connect(endpoint.trim_start_matches("tcp://")).unwrap();

    let ev = wait_for(&mon, |e| {
        matches!(
            e,
            MonitorEvent::AcceptFailed { .. } | MonitorEvent::Accepted { .. }
        )
    });
    let MonitorEvent::AcceptFailed {
        endpoint: failed_on,
        error,
    } = ev
    else {
        panic!("accepted with no descriptor free: {ev:?}");
    };
    assert_eq!(failed_on, endpoint);
    assert!(
        error.contains("open files"),
        "expected EMFILE's message, got {error}"
    );

    // Descriptors come back: the listener retries on its own.
    drop(files);
    let me = client.local_addr().unwrap();
    wait_for(
        &mon,
        |e| matches!(e, MonitorEvent::Accepted { peer, .. } if *peer == Some(me)),
    );
    drop(pull);
}
