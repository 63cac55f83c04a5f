//! Caps the size of every request body before anything parses it: a body
//! over the limit is a 413 whether or not it declares its length, and the
//! client gets to read that answer. The whole body must arrive within the
//! body timeout (408 beyond), so a trickled body cannot hold a connection.

use super::error::Problem;
use poem::http::header;
use poem::{Endpoint, Middleware, Request, Result};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// The middleware: at most `max_bytes` of body per request, within `timeout`.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    max_bytes: usize,
    timeout: Duration,
}

impl BodyLimit {
    /// A limit of `max_bytes`, all of which must arrive within `timeout`.
    pub fn new(max_bytes: usize, timeout: Duration) -> Self {
        Self { max_bytes, timeout }
    }
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint { inner, max_bytes: self.max_bytes, timeout: self.timeout }
    }
}

/// [`BodyLimit`] applied to an endpoint.
#[derive(Debug)]
pub struct BodyLimitEndpoint<E> {
    inner: E,
    max_bytes: usize,
    timeout: Duration,
}

/// How much of an oversized body is read and thrown away before the 413, so
/// that a client still writing its body reads the answer instead of a reset
/// connection. Beyond this the connection is cut: that much is abuse.
const DRAIN_MAX: u64 = 64 * 1024 * 1024;

/// A body read up to a limit.
enum Bounded {
    /// Within the limit.
    Body(Vec<u8>),
    /// Over the limit (read and discarded up to [`DRAIN_MAX`]).
    TooLarge,
}

/// Reads `body`, keeping at most `max` bytes and discarding the rest up to [`DRAIN_MAX`].
async fn read_bounded(body: poem::Body, max: usize) -> std::io::Result<Bounded> {
    let mut reader = body.into_async_read();
    let mut kept = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    loop {
        let n = reader.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        total = total.saturating_add(n as u64);
        if total <= max as u64 {
            kept.extend_from_slice(&chunk[..n]);
        } else if total > DRAIN_MAX {
            break;
        }
    }
    Ok(if total > max as u64 { Bounded::TooLarge } else { Bounded::Body(kept) })
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > DRAIN_MAX) {
            return Err(Problem::body_too_large(self.max_bytes).into());
        }
        let body = req.take_body();
        // A request without a body (no Content-Length nor Transfer-Encoding,
        // RFC 9112 §6.3, or a zero length): nothing to read or wait for, and
        // no 64 KiB read buffer to allocate and zero — a tenth of a GET's CPU (issue 15).
        if body.is_empty() {
            req.set_body(body);
            return self.inner.call(req).await;
        }
        let Ok(read) = tokio::time::timeout(self.timeout, read_bounded(body, self.max_bytes)).await else {
            return Err(Problem::body_timeout(self.timeout).into());
        };
        match read {
            Ok(Bounded::Body(body)) => {
                req.set_body(body);
                self.inner.call(req).await
            }
            Ok(Bounded::TooLarge) => Err(Problem::body_too_large(self.max_bytes).into()),
            Err(e) => Err(Problem::bad_request(format!("could not read the request body: {e}")).into()),
        }
    }
}
