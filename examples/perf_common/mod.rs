//! What the perf tools (`perf_thr`, `perf_lat`) share: argument parsing,
//! socket set-up and error helpers. Included by both with `#[path]`.

use brokerless::{Context, Socket, SocketType};

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
