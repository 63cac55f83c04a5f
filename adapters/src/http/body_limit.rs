//! Caps the size of every request body before anything parses it: a body
//! over the limit is a 413 whether or not it declares its length.

use super::error::Problem;
use poem::error::ReadBodyError;
use poem::http::header;
use poem::{Endpoint, Middleware, Request, Result};

/// The middleware: at most `max_bytes` of body per request.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    max_bytes: usize,
}

impl BodyLimit {
    /// A limit of `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        Self { max_bytes }
    }
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint { inner, max_bytes: self.max_bytes }
    }
}

/// [`BodyLimit`] applied to an endpoint.
#[derive(Debug)]
pub struct BodyLimitEndpoint<E> {
    inner: E,
    max_bytes: usize,
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        // A declared length over the limit is refused without reading a byte.
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.max_bytes as u64) {
            return Err(Problem::body_too_large(self.max_bytes).into());
        }
        // An undeclared (chunked) body is read up to the limit and no further.
        let body = req.take_body().into_bytes_limit(self.max_bytes).await.map_err(|e| match e {
            ReadBodyError::PayloadTooLarge => Problem::body_too_large(self.max_bytes),
            other => Problem::bad_request(format!("could not read the request body: {other}")),
        })?;
        req.set_body(body);
        self.inner.call(req).await
    }
}
