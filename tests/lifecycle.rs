//! Context shutdown leaks nothing: every file descriptor and thread the
//! context opened is gone once it is dropped. (Its own test binary, so no
//! other test opens descriptors meanwhile.)

use std::time::Duration;

use brokerless::{Context, SocketType};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn context_shutdown_closes_every_descriptor_and_thread() {
    let (fds, tasks) = (open_fds(), threads());
    {
        let ctx = Context::builder().io_threads(2).build().unwrap();
        let dir = std::env::temp_dir().join(format!("brokerless-lifecycle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for ep in [
            "tcp://127.0.0.1:*".to_string(),
            format!("ipc://{}", dir.join("fd.sock").display()),
            "inproc://fd".to_string(),
        ] {
            let pull = ctx.socket(SocketType::Pull).unwrap();
            pull.set_recv_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let monitor = pull.monitor().unwrap();
            pull.bind(&ep).unwrap();
            let bound = pull.last_endpoint().unwrap();
            let push = ctx.socket(SocketType::Push).unwrap();
            push.set_heartbeat_interval(Some(Duration::from_millis(10)))
                .unwrap();
            push.connect(&bound).unwrap();
            push.send("x").unwrap();
            assert_eq!(&pull.recv().unwrap()[0], b"x");
            drop(monitor);
            // A connect that never succeeds keeps retrying until the end.
            let lost = ctx.socket(SocketType::Push).unwrap();
            lost.set_linger(Some(Duration::ZERO)).unwrap();
            lost.connect("tcp://127.0.0.1:1").unwrap();
        }
        // udp://: a DISH's bind and a RADIO's connect, both still open at
        // the shutdown.
        let dish = ctx.socket(SocketType::Dish).unwrap();
        dish.set_recv_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        dish.bind("udp://127.0.0.1:*").unwrap();
        dish.join("g").unwrap();
        let radio = ctx.socket(SocketType::Radio).unwrap();
        radio.connect(&dish.last_endpoint().unwrap()).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            radio
                .send(brokerless::Message::with_group("g", "x"))
                .unwrap();
            if dish.recv().is_ok() {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "udp never delivered");
        }
        ctx.shutdown();
        drop((dish, radio));
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert_eq!(open_fds(), fds, "descriptors leaked");
    assert_eq!(threads(), tasks, "threads leaked");
}
