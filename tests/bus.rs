//! BUS: many-to-many, no echo, duplicates suppressed, relays.

mod common;

use std::time::Duration;

use brokerless::{Context, Error, SocketType};
use common::*;

#[test]
fn three_nodes_each_hear_the_others_once() {
    let ctx = Context::new();
    let nodes: Vec<_> = (0..3)
        .map(|i| {
            let s = sock(&ctx, SocketType::Bus);
            s.set_routing_id(format!("n{i}")).unwrap();
            s.bind("tcp://127.0.0.1:*").unwrap();
            s
        })
        .collect();
    let eps: Vec<String> = nodes.iter().map(|n| n.last_endpoint().unwrap()).collect();
    let mons: Vec<_> = nodes.iter().map(|n| n.monitor().unwrap()).collect();
    for (i, n) in nodes.iter().enumerate() {
        for (j, ep) in eps.iter().enumerate() {
            if i != j {
                n.connect(ep).unwrap();
            }
        }
    }
    // Each node: 2 connects + 2 accepted = 4 handshakes.
    for m in &mons {
        handshakes(m, 4);
    }
    for (i, n) in nodes.iter().enumerate() {
        n.send(format!("from {i}").as_str()).unwrap();
    }
    for (i, n) in nodes.iter().enumerate() {
        let mut got: Vec<String> = (0..2).map(|_| text(&n.recv().unwrap()[0])).collect();
        got.sort();
        let want: Vec<String> = (0..3)
            .filter(|j| *j != i)
            .map(|j| format!("from {j}"))
            .collect();
        assert_eq!(got, want);
        n.set_recv_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        assert!(
            matches!(n.recv(), Err(Error::Timeout)),
            "a duplicate or an echo"
        );
    }
    let peers = nodes[0].bus_peers().unwrap();
    assert_eq!(peers.len(), 4);
}

#[test]
fn a_line_of_relays_reaches_the_end() {
    // a - b - c - d over inproc; b and c relay.
    let ctx = Context::new();
    let n: Vec<_> = (0..4).map(|_| sock(&ctx, SocketType::Bus)).collect();
    for (i, s) in n.iter().enumerate() {
        s.bind(&format!("inproc://line-{i}")).unwrap();
    }
    for (i, s) in n.iter().take(3).enumerate() {
        s.connect(&format!("inproc://line-{}", i + 1)).unwrap();
    }
    n[1].set_bus_relay(true).unwrap();
    n[2].set_bus_relay(true).unwrap();
    n[0].send("hello").unwrap();
    assert_eq!(text(&n[1].recv().unwrap()[0]), "hello");
    assert_eq!(text(&n[2].recv().unwrap()[0]), "hello");
    assert_eq!(text(&n[3].recv().unwrap()[0]), "hello");
    // Nothing came back to the origin.
    assert!(matches!(n[0].try_recv(), Err(Error::WouldBlock)));
    let bus = ctx.socket(SocketType::Pull).unwrap();
    assert!(matches!(bus.bus_peers(), Err(Error::NotSupported(_))));
}
