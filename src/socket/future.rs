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

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::Socket;
use crate::{Error, Message, Result};

/// The future of [`Socket::recv_async`].
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
