//! What the perf tools (`perf_thr`, `perf_lat`) share: argument parsing,
//! socket set-up and error helpers. Included by both with `#[path]`.

use std::ffi::OsString;
use std::process::ExitCode;

use brokerless::{Context, Socket, SocketType};

/// What a tool's argument parser found.
pub enum Cli<A> {
    /// Arguments to run with.
    Run(A),
    /// `--help` was asked for.
    Help,
}

/// A tool's `main`: parses the arguments (usage and exit code 2 on a
/// mistake), runs, and reports an error with exit code 1.
pub fn main_with<A>(
    tool: &str,
    usage: &str,
    parse: impl FnOnce(std::iter::Skip<std::env::ArgsOs>) -> Result<Cli<A>, String>,
    run: impl FnOnce(&A) -> Res<()>,
) -> ExitCode {
    let args = match parse(std::env::args_os().skip(1)) {
        Ok(Cli::Run(args)) => args,
        Ok(Cli::Help) => {
            print!("{usage}");
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("{tool}: {why}\n\n{usage}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{tool}: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The arguments as UTF-8 strings.
pub fn utf8_args(argv: impl Iterator<Item = OsString>) -> Result<Vec<String>, String> {
    argv.map(|a| {
        a.into_string()
            .map_err(|a| format!("argument {a:?} is not UTF-8"))
    })
    .collect()
}

/// A result whose error is anything printable.
pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Parses a count or size, allowing `_` separators.
pub fn parse_number<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, String> {
    s.replace('_', "")
        .parse()
        .map_err(|_| format!("bad {what} {s:?}: expected a non-negative integer"))
}

/// A socket of `kind` with both high-water marks set to `hwm`, if given.
pub fn new_socket(ctx: &Context, kind: SocketType, hwm: Option<usize>) -> Res<Socket> {
    let socket = ctx.socket(kind)?;
    if let Some(hwm) = hwm {
        socket.set_send_hwm(hwm)?;
        socket.set_recv_hwm(hwm)?;
    }
    Ok(socket)
}

/// Binds or connects; returns the endpoint to report (or to connect to),
/// with a wildcard resolved.
pub fn attach(socket: &Socket, endpoint: &str, bind: bool) -> Res<String> {
    if bind {
        socket
            .bind(endpoint)
            .map_err(|e| format!("cannot bind {endpoint}: {e}"))?;
        Ok(socket
            .last_endpoint()
            .unwrap_or_else(|| endpoint.to_string()))
    } else {
        socket
            .connect(endpoint)
            .map_err(|e| format!("cannot connect to {endpoint}: {e}"))?;
        Ok(endpoint.to_string())
    }
}

/// "bound to" or "connected to".
pub fn how(bind: bool) -> &'static str {
    if bind { "bound to" } else { "connected to" }
}

/// Whether `e` is the context shutting down.
pub fn is_terminated(e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    matches!(
        e.downcast_ref::<brokerless::Error>(),
        Some(brokerless::Error::Terminated)
    )
}
