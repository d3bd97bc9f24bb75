//! [`proxy`]: a built-in forwarder between two sockets, as libzmq's
//! `zmq_proxy`.

use crate::{Error, Result, Socket, SocketType};

fn can_recv(t: SocketType) -> bool {
    !matches!(t, SocketType::Push | SocketType::Pub | SocketType::Radio)
}

fn can_send(t: SocketType) -> bool {
    !matches!(t, SocketType::Pull | SocketType::Sub | SocketType::Dish)
}

/// Moves messages from one socket to the other until an error.
fn forward(from: &Socket, to: &Socket, capture: Option<&Socket>) -> Error {
    loop {
        let msg = match from.recv() {
            Ok(m) => m,
            Err(e) => return e,
        };
        if let Some(c) = capture
            && let Err(e) = c.send(msg.clone())
        {
            return e;
        }
        if let Err(e) = to.send(msg) {
            return e;
        }
    }
}

/// Forwards whole messages between `frontend` and `backend`, in both
/// directions where the socket types allow it (an XSUB frontend with an
/// XPUB backend makes a publish-subscribe forwarder: data flows down,
/// subscriptions up; ROUTER and DEALER make a request-reply broker; PULL
/// and PUSH a pipeline stage). Every message is also sent to `capture`,
/// if given.
///
/// Runs until the context is shut down, then returns
/// [`Error::Terminated`]; it returns another error at once if neither
/// direction can forward anything. A direction that fails with another
/// error stops; the call returns when both have stopped. Each direction
/// runs on its own thread, so the sockets (which are `Sync`) are shared
/// for the duration of the call.
///
/// Leave the sockets' receive timeouts unset: a direction receives with
/// `recv`, so a timeout (`Error::Timeout`) stops it, where libzmq's
/// proxy, which polls, would carry on.
///
/// A pipeline stage: producers PUSH to the proxy's PULL over TCP, and
/// the proxy PUSHes on to workers in this process, with a copy of every
/// message to a capture socket:
///
/// ```
/// use brokerless::{Context, Error, SocketType};
///
/// let ctx = Context::new();
/// let frontend = ctx.socket(SocketType::Pull)?;
/// frontend.bind("tcp://127.0.0.1:*")?;
/// let endpoint = frontend.last_endpoint().unwrap();
/// let backend = ctx.socket(SocketType::Push)?;
/// backend.bind("inproc://workers")?;
/// let capture = ctx.socket(SocketType::Push)?;
/// capture.bind("inproc://capture")?;
///
/// let worker = ctx.socket(SocketType::Pull)?;
/// worker.connect("inproc://workers")?;
/// let tap = ctx.socket(SocketType::Pull)?;
/// tap.connect("inproc://capture")?;
///
/// let stage = std::thread::spawn(move || {
///     brokerless::proxy(&frontend, &backend, Some(&capture))
/// });
///
/// let producer = ctx.socket(SocketType::Push)?;
/// producer.connect(&endpoint)?;
/// producer.send("job 1")?;
/// assert_eq!(&worker.recv()?[0], b"job 1");
/// assert_eq!(&tap.recv()?[0], b"job 1");
///
/// ctx.shutdown(); // the proxy returns
/// assert!(matches!(stage.join().unwrap(), Err(Error::Terminated)));
/// # Ok::<(), brokerless::Error>(())
/// ```
pub fn proxy(frontend: &Socket, backend: &Socket, capture: Option<&Socket>) -> Result<()> {
    let (f, b) = (frontend.socket_type(), backend.socket_type());
    let down = can_recv(f) && can_send(b);
    let up = can_recv(b) && can_send(f);
    if !down && !up {
        return Err(Error::InvalidArgument(format!(
            "a proxy cannot forward between {f} and {b}"
        )));
    }
    let error = std::thread::scope(|s| {
        let upward = up.then(|| s.spawn(move || forward(backend, frontend, capture)));
        let downward = if down {
            forward(frontend, backend, capture)
        } else {
            Error::Terminated
        };
        match upward.map(|h| h.join()) {
            Some(Ok(e)) if !matches!(e, Error::Terminated) => e,
            Some(Err(_)) => Error::InvalidArgument("a proxy thread panicked".into()),
            _ => downward,
        }
    });
    Err(error)
}
