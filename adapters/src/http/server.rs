//! The accept loop: HTTP/1.1 through hyper, with the connection limits that
//! poem's own `Server` does not offer (it sets no timer, so hyper's header
//! read timeout never fires, and it accepts without bound).
//!
//! - At most `max_connections` are served at once: the loop takes a permit
//!   before it accepts, so beyond the cap new connections wait in the kernel's
//!   backlog while the admitted ones keep being served.
//! - A request's headers must arrive within `header_timeout`; hyper's timer
//!   starts as soon as it waits for a request head, so an idle keep-alive
//!   connection is closed after the same time.
//! - The body's own deadline is the body-reading middleware's (it reads every
//!   body before a handler runs).

use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, EndpointExt, Request};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What one gateway lets its clients hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a request head may take to arrive, and an idle connection may wait.
    pub header_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self { header_timeout: Duration::from_secs(10), max_connections: 1024 }
    }
}

/// Serves `ep` on `listener` until `shutdown` resolves; then stops accepting
/// and lets running requests finish for up to `grace`. Past the grace it runs
/// `cut_off` (the caller stops what still runs, so that each request still
/// open is answered, saying why) and waits up to `drain` for those answers
/// to go out before it returns and the connections close.
pub async fn serve<E>(
    listener: TcpListener,
    ep: E,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
    cut_off: impl Future<Output = ()>,
    drain: Duration,
) -> std::io::Result<()>
where
    E: Endpoint + 'static,
{
    let ep = Arc::new(ep.map_to_response().boxed());
    let local = listener.local_addr()?;
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let stopping = CancellationToken::new();
    let connections = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, remote) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let ep = ep.clone();
        let stopping = stopping.clone();
        connections.spawn(async move {
            serve_connection(stream, local, remote, ep, limits.header_timeout, stopping).await;
            drop(permit);
        });
    }
    drop(listener);
    stopping.cancel();
    connections.close();
    if tokio::time::timeout(grace, connections.wait()).await.is_err() {
        tracing::warn!(grace_secs = grace.as_secs(), "requests still running after the grace period");
        cut_off.await;
        if tokio::time::timeout(drain, connections.wait()).await.is_err() {
            tracing::warn!(drain_secs = drain.as_secs(), "requests still unanswered after the cut-off");
        }
    }
    Ok(())
}

type SharedEndpoint = Arc<poem::endpoint::BoxEndpoint<'static, poem::Response>>;

async fn serve_connection(
    stream: tokio::net::TcpStream,
    local: SocketAddr,
    remote: SocketAddr,
    ep: SharedEndpoint,
    header_timeout: Duration,
    stopping: CancellationToken,
) {
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let ep = ep.clone();
        async move {
            let req = Request::from((
                req,
                LocalAddr(Addr::SocketAddr(local)),
                RemoteAddr(Addr::SocketAddr(remote)),
                poem::http::uri::Scheme::HTTP,
            ));
            let resp: hyper::Response<_> = ep.get_response(req).await.into();
            Ok::<_, Infallible>(resp)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(header_timeout).keep_alive(true);
    let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = &mut conn => return,
        _ = stopping.cancelled() => {}
    }
    // Shutdown: finish the request in flight, take no other.
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}
