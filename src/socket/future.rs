//! `send_async` and `recv_async`: std futures woken by the socket's own
//! mailbox, so they run under any executor (tokio, async-std, smol, a
//! hand-written one) and the crate depends on no async runtime.
//!
//! Cancel safety: a [`RecvFuture`] holds no message until it completes, so
//! dropping it loses nothing; a [`SendFuture`] holds its message until the
//! socket takes it whole, so dropping it means the message was sent
//! entirely or not at all. The sockets' timeouts do not apply (use the
//! executor's timers); [`Error::Terminated`](crate::Error::Terminated)
//! ends both after context shutdown.
//!
//! These futures borrow the socket, which is not `Sync`, so they are not
//! `Send`: await them on the task that owns the socket (a current-thread
//! runtime, a `LocalSet`, `block_on`, or a multi-threaded runtime's
//! `block_on`). To `tokio::spawn` a task using a socket, give it a half of
//! [`Socket::split`], whose futures
//! ([`SplitRecvFuture`](crate::SplitRecvFuture),
//! [`SplitSendFuture`](crate::SplitSendFuture)) are `Send`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::Socket;
use crate::{Error, Message, Result};

/// The future of [`Socket::recv_async`].
///
/// It runs under any executor; here under one of a dozen lines of `std`
/// (a thread that parks until the socket wakes it):
///
/// ```
/// use std::future::Future;
/// use std::pin::pin;
/// use std::sync::Arc;
/// use std::task::{Context as TaskContext, Poll, Wake, Waker};
/// use std::thread::{self, Thread};
/// use std::time::Duration;
/// use brokerless::{Context, SocketType};
///
/// /// Wakes the thread that waits in `block_on`.
/// struct Unpark(Thread);
///
/// impl Wake for Unpark {
///     fn wake(self: Arc<Self>) {
///         self.0.unpark();
///     }
/// }
///
/// fn block_on<F: Future>(future: F) -> F::Output {
///     let mut future = pin!(future);
///     let waker = Waker::from(Arc::new(Unpark(thread::current())));
///     let mut cx = TaskContext::from_waker(&waker);
///     loop {
///         if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
///             return output;
///         }
///         thread::park(); // until the socket has news (or spuriously)
///     }
/// }
///
/// fn main() -> brokerless::Result<()> {
///     let ctx = Context::new();
///     let pull = ctx.socket(SocketType::Pull)?;
///     pull.bind("tcp://127.0.0.1:*")?;
///     let push = ctx.socket(SocketType::Push)?;
///     push.connect(&pull.last_endpoint().unwrap())?;
///
///     let sender = thread::spawn(move || {
///         thread::sleep(Duration::from_millis(20)); // the future waits first
///         push.send("woken by the socket")
///     });
///     let msg = block_on(pull.recv_async())?;
///     assert_eq!(&msg[0], b"woken by the socket");
///     sender.join().unwrap()?;
///     Ok(())
/// }
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct RecvFuture<'a> {
    socket: &'a Socket,
}

impl Future for RecvFuture<'_> {
    type Output = Result<Message>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Message>> {
        match self.socket.try_recv() {
            Err(Error::WouldBlock) => {}
            done => return Poll::Ready(done),
        }
        // Watch first, then look again: a message arriving in between
        // wakes the task rather than being missed.
        self.socket.mailbox().wake_on_post(cx.waker());
        match self.socket.try_recv() {
            Err(Error::WouldBlock) => Poll::Pending,
            done => Poll::Ready(done),
        }
    }
}

/// The future of [`Socket::send_async`].
///
/// Under tokio (or any other executor). A send that cannot complete is
/// bounded by the executor's timer, not the socket's `send_timeout`, and
/// dropping it sends nothing:
///
/// ```
/// use std::time::Duration;
/// use brokerless::{Context, SocketType};
///
/// #[tokio::main]
/// async fn main() -> brokerless::Result<()> {
///     let ctx = Context::new();
///     let pull = ctx.socket(SocketType::Pull)?;
///     pull.bind("tcp://127.0.0.1:*")?;
///     let push = ctx.socket(SocketType::Push)?;
///     push.connect(&pull.last_endpoint().unwrap())?;
///
///     let (sent, received) = tokio::join!(
///         push.send_async("async hello"),
///         pull.recv_async(),
///     );
///     sent?;
///     assert_eq!(&received?[0], b"async hello");
///
///     // A PUSH with no peer cannot send: give up after 50 ms.
///     let lonely = ctx.socket(SocketType::Push)?;
///     let lost = lonely.send_async("lost");
///     let attempt = tokio::time::timeout(Duration::from_millis(50), lost).await;
///     assert!(attempt.is_err(), "timed out, and the message was not sent");
///     Ok(())
/// }
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct SendFuture<'a> {
    socket: &'a Socket,
    msg: Option<Message>,
}

impl Future for SendFuture<'_> {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        for attempt in 0..2 {
            let Some(msg) = self.msg.take() else {
                return Poll::Ready(Ok(()));
            };
            match self.socket.send_now(msg) {
                Ok(Ok(())) => return Poll::Ready(Ok(())),
                Ok(Err(back)) => self.msg = Some(back),
                Err(e) => return Poll::Ready(Err(e)),
            }
            if attempt == 0 {
                // As for RecvFuture: watch, then try once more.
                self.socket.mailbox().wake_on_post(cx.waker());
            }
        }
        Poll::Pending
    }
}

impl Socket {
    /// Receives a whole message, as a future (see the module notes on
    /// cancel safety: dropping it loses no message).
    pub fn recv_async(&self) -> RecvFuture<'_> {
        RecvFuture { socket: self }
    }

    /// Sends a whole message, as a future that completes once the socket
    /// has taken it (dropping it before then sends nothing).
    pub fn send_async(&self, msg: impl Into<Message>) -> SendFuture<'_> {
        SendFuture {
            socket: self,
            msg: Some(msg.into()),
        }
    }
}
