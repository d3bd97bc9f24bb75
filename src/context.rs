//! [`Context`]: owns the I/O threads and makes sockets.
//!
//! Ownership: every `Context` clone holds the one [`Handle`]; sockets hold
//! only the inner state. When the last `Context` goes (or on
//! [`Context::shutdown`]) the context terminates: blocked calls return
//! [`Error::Terminated`], the I/O threads flush pending output within each
//! socket's linger and exit, and the call waits for them.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::io::{self, IoCmd, IoHandle};
use crate::socket::{Mailbox, Socket};
use crate::{Error, Result, SocketType};

/// The shared state of a context, kept alive by its sockets too.
pub(crate) struct ContextInner {
    io: Vec<IoHandle>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    next_io: AtomicUsize,
    terminated: AtomicBool,
    mailboxes: Mutex<Vec<Weak<Mailbox>>>,
    /// The inproc names bound in this context.
    pub(crate) inproc: Mutex<crate::transport::inproc::Registry>,
    /// How long a thread out of work polls before it sleeps.
    pub(crate) spin: Duration,
    /// The ZAP client, once a handshake asked for one (see `zap`).
    pub(crate) zap: crate::zap::ZapSlot,
}

impl ContextInner {
    /// Whether the context was shut down.
    pub(crate) fn is_terminated(&self) -> bool {
        self.terminated.load(Ordering::Acquire)
    }

    /// The I/O thread for a new socket (round-robin).
    pub(crate) fn pick_io(&self) -> Result<IoHandle> {
        if self.is_terminated() {
            return Err(Error::Terminated);
        }
        let i = self.next_io.fetch_add(1, Ordering::Relaxed) % self.io.len();
        Ok(self.io[i].clone())
    }

    /// The inproc registry, locked.
    pub(crate) fn inproc_registry(
        &self,
    ) -> std::sync::MutexGuard<'_, crate::transport::inproc::Registry> {
        self.inproc.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers a socket's mailbox so termination can wake it.
    pub(crate) fn register(&self, mailbox: &Arc<Mailbox>) {
        let mut list = self.mailboxes.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|w| w.strong_count() > 0);
        list.push(Arc::downgrade(mailbox));
    }

    /// Forgets a closed socket's mailbox.
    pub(crate) fn unregister(&self, mailbox: &Arc<Mailbox>) {
        let mut list = self.mailboxes.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), Arc::as_ptr(mailbox)));
    }

    fn shutdown(&self) {
        if self.terminated.swap(true, Ordering::AcqRel) {
            return;
        }
        log::debug!("context shutting down");
        let mailboxes: Vec<Arc<Mailbox>> = self
            .mailboxes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for mb in mailboxes {
            mb.interrupt();
        }
        for io in &self.io {
            io.post(IoCmd::Shutdown);
        }
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for t in threads {
            if t.join().is_err() {
                log::error!("an I/O thread panicked");
            }
        }
    }
}

/// Terminates the context when the last [`Context`] clone is dropped.
struct Handle {
    inner: Arc<ContextInner>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.inner.shutdown();
    }
}

/// The owner of a set of I/O threads and the factory of sockets.
///
/// Cheap to clone; all clones share the threads. Dropping the last clone
/// shuts the context down (see [`Context::shutdown`]).
///
/// ```
/// use brokerless::{Context, Error, SocketType};
///
/// let ctx = Context::builder().io_threads(2).build()?;
/// let pull = ctx.socket(SocketType::Pull)?;
/// let waiter = std::thread::spawn(move || pull.recv());
/// ctx.shutdown(); // the blocked recv returns at once
/// assert!(matches!(waiter.join().unwrap(), Err(Error::Terminated)));
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone)]
pub struct Context {
    handle: Arc<Handle>,
}

impl Context {
    /// A context with one I/O thread.
    ///
    /// # Panics
    /// If the operating system refuses to create the I/O thread or its
    /// poller; use [`ContextBuilder::build`] to get that as an error.
    pub fn new() -> Context {
        match Context::builder().build() {
            Ok(ctx) => ctx,
            Err(e) => panic!("cannot start the brokerless I/O thread: {e}"),
        }
    }

    /// A builder to choose the number of I/O threads.
    pub fn builder() -> ContextBuilder {
        ContextBuilder {
            io_threads: 1,
            spin: DEFAULT_SPIN,
        }
    }

    /// Creates a socket of the given type. Types not built yet return
    /// [`Error::NotSupported`]; after shutdown, [`Error::Terminated`].
    pub fn socket(&self, socket_type: SocketType) -> Result<Socket> {
        Socket::new(self.handle.inner.clone(), socket_type)
    }

    /// Shuts the context down now, as dropping the last clone would: every
    /// call blocked on one of its sockets, in any thread, returns
    /// [`Error::Terminated`], as does every later call; pending output is
    /// flushed for up to each socket's linger (forever by default, as in
    /// libzmq), then the I/O threads stop. Returns when they have.
    pub fn shutdown(&self) {
        self.handle.inner.shutdown();
    }

    /// The number of I/O threads.
    pub fn io_threads(&self) -> usize {
        self.handle.inner.io.len()
    }

    /// How long an idle thread polls before it sleeps
    /// ([`ContextBuilder::spin`]).
    pub fn spin(&self) -> Duration {
        self.handle.inner.spin
    }
}

impl Default for Context {
    fn default() -> Context {
        Context::new()
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("io_threads", &self.io_threads())
            .field("terminated", &self.handle.inner.is_terminated())
            .finish()
    }
}

/// The default of [`ContextBuilder::spin`].
const DEFAULT_SPIN: Duration = Duration::from_micros(30);

/// Builds a [`Context`] with non-default settings.
///
/// ```
/// use std::time::Duration;
/// use brokerless::{Context, SocketType};
///
/// // Two I/O threads, and no spinning: the least CPU when idle.
/// let ctx = Context::builder()
///     .io_threads(2)
///     .spin(Duration::ZERO)
///     .build()?;
/// assert_eq!(ctx.io_threads(), 2);
/// assert_eq!(ctx.spin(), Duration::ZERO);
///
/// // Sockets are spread over the threads; they work as with Context::new.
/// let rep = ctx.socket(SocketType::Rep)?;
/// rep.bind("tcp://127.0.0.1:*")?;
/// let req = ctx.socket(SocketType::Req)?;
/// req.connect(&rep.last_endpoint().unwrap())?;
/// req.send("ping")?;
/// assert_eq!(&rep.recv()?[0], b"ping");
/// rep.send("pong")?;
/// assert_eq!(&req.recv()?[0], b"pong");
/// # Ok::<(), brokerless::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ContextBuilder {
    io_threads: usize,
    spin: Duration,
}

impl ContextBuilder {
    /// Sets the number of I/O threads (at least 1; default 1). One thread
    /// moves well over a gigabyte per second; more help with many busy
    /// connections.
    pub fn io_threads(mut self, n: usize) -> ContextBuilder {
        self.io_threads = n.max(1);
        self
    }

    /// Sets how long a thread that runs out of work keeps looking for
    /// more before it goes to sleep: an I/O thread polling its
    /// connections, and a `send` or `recv` that must wait polling its
    /// socket. It yields the CPU between looks, so other threads run.
    ///
    /// Default 30 µs. Being woken from sleep costs tens of microseconds
    /// on virtual machines, most of a round trip on loopback; a reply that
    /// comes within the spin is caught at once (REQ/REP round trips over
    /// TCP loopback take about a third of the time with it). The price is
    /// up to that much CPU per wait: at low message rates, each message
    /// may cost one spin per thread it wakes. `Duration::ZERO` never
    /// spins, for the least CPU, as libzmq does.
    /// At most one second is used.
    pub fn spin(mut self, spin: Duration) -> ContextBuilder {
        self.spin = spin.min(Duration::from_secs(1));
        self
    }

    /// Starts the I/O threads.
    pub fn build(self) -> Result<Context> {
        let mut io = Vec::new();
        let mut threads = Vec::new();
        for i in 0..self.io_threads {
            match io::spawn(i, self.spin) {
                Ok((handle, join)) => {
                    io.push(handle);
                    threads.push(join);
                }
                Err(e) => {
                    // Stop the threads already started.
                    for handle in &io {
                        handle.post(IoCmd::Shutdown);
                    }
                    for join in threads {
                        let _ = join.join();
                    }
                    return Err(e.into());
                }
            }
        }
        Ok(Context {
            handle: Arc::new(Handle {
                inner: Arc::new(ContextInner {
                    io,
                    threads: Mutex::new(threads),
                    next_io: AtomicUsize::new(0),
                    terminated: AtomicBool::new(false),
                    mailboxes: Mutex::new(Vec::new()),
                    inproc: Mutex::new(Default::default()),
                    spin: self.spin,
                    zap: Default::default(),
                }),
            }),
        })
    }
}
