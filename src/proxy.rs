//! [`proxy`]: a built-in forwarder between two sockets, as libzmq's
//! `zmq_proxy`.

use crate::{Error, Interest, Message, Poller, Result, Socket, SocketType};

fn can_recv(t: SocketType) -> bool {
    !matches!(t, SocketType::Push | SocketType::Pub | SocketType::Radio)
}

fn can_send(t: SocketType) -> bool {
    !matches!(t, SocketType::Pull | SocketType::Sub | SocketType::Dish)
}

/// How many messages one direction moves before the other gets a turn.
const BATCH: usize = 256;

/// One direction of a proxy: `from` -> `to` (and `capture`).
struct Direction<'s> {
    from: &'s Socket,
    to: &'s Socket,
    /// The poller tokens of `from` and `to`.
    tokens: (usize, usize),
    /// A message received that `to` could not take yet.
    pending: Option<Message>,
}

impl Direction<'_> {
    /// Moves messages until `from` has none, `to` must wait (the message
    /// is kept in `pending`), or [`BATCH`] went; returns whether the
    /// batch ran out (more may be ready).
    fn pump(&mut self, capture: Option<&Socket>) -> Result<bool> {
        for _ in 0..BATCH {
            let msg = match self.pending.take() {
                Some(msg) => msg,
                None => match self.from.try_recv() {
                    Ok(msg) => {
                        if let Some(c) = capture {
                            c.send(msg.clone())?;
                        }
                        msg
                    }
                    Err(Error::WouldBlock) => return Ok(false),
                    Err(e) => return Err(e),
                },
            };
            if let Err(back) = self.to.send_now(msg)? {
                self.pending = Some(back);
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// What to wait for: room in `to` for the pending message, else a
    /// message in `from`.
    fn wants(&self) -> (usize, Interest) {
        match self.pending {
            Some(_) => (self.tokens.1, Interest::WRITABLE),
            None => (self.tokens.0, Interest::READABLE),
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
/// [`Error::Terminated`]; it returns [`Error::InvalidArgument`] at once
/// if neither direction can forward anything, and any other error of a
/// socket as soon as it happens (as libzmq's `zmq_proxy` returns -1).
///
/// As in libzmq, one thread does all the work: it waits on a
/// [`Poller`] for a message in either source (or, while a destination is
/// full, for room in it) and moves whole messages without blocking, so a
/// full destination holds back only its own direction, and the sockets'
/// receive and send timeouts play no part. Sends to `capture` block as
/// its socket type says (a PUB or a PUSH with no HWM never waits).
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
    let mut poller = Poller::new()?;
    let front = poller.add(frontend, Interest::NONE)?;
    let back = poller.add(backend, Interest::NONE)?;
    let mut directions: Vec<Direction<'_>> = [
        (down, frontend, backend, (front, back)),
        (up, backend, frontend, (back, front)),
    ]
    .into_iter()
    .filter(|d| d.0)
    .map(|(_, from, to, tokens)| Direction {
        from,
        to,
        tokens,
        pending: None,
    })
    .collect();
    loop {
        let mut more = false;
        for d in &mut directions {
            more |= d.pump(capture)?;
        }
        let mut interest = [Interest::NONE; 2];
        for d in &directions {
            let (token, i) = d.wants();
            interest[token] = interest[token] | i;
        }
        poller.modify(front, interest[front])?;
        poller.modify(back, interest[back])?;
        // A direction whose batch ran out goes on after a look at the
        // other; otherwise wait for news.
        let timeout = more.then_some(std::time::Duration::ZERO);
        poller.wait(timeout)?;
    }
}
