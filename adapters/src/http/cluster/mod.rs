//! Several gateways on one ledger: a request for a session is answered by
//! the gateway that runs its agent. This middleware asks the ledger who owns
//! the session and, following the core's [`Ownership`] rules, serves it here,
//! forwards it to its live owner, or takes it over from a dead one first.
//!
//! - Every session-scoped request (`/sessions/{id}` and below, any method)
//!   is routed; creates, listings and the rest are served where they land.
//! - The owner's address comes from the ledger's `nodes` table only, never
//!   from the request.
//! - A forwarded request carries the cluster secret in [`SECRET_HEADER`];
//!   a request with that header is never forwarded again, and one whose
//!   secret does not match is refused (401).
//! - A takeover is the ledger's conditional claim: of two gateways racing,
//!   one wins and serves; the other forwards to it.

mod proxy;
mod secret;

pub use secret::ClusterSecret;

use super::error::Problem;
use clawdforge_domain::model::SessionId;
use clawdforge_domain::ownership::{NodeRecord, Ownership, Route};
use clawdforge_domain::ports::{Clock, Ledger};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The header that carries the cluster secret on a forwarded request.
pub const SECRET_HEADER: &str = "x-clawdforge-cluster-secret";

/// How long a forward may take to connect before the owner counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Up while this gateway's heartbeat has not been written for so long that
/// the others may soon take its sessions over (the core's
/// [`Ownership::must_fence`]): it then serves no session, and its agents are
/// stopped, until a heartbeat is written again. It is read from the time of
/// the last write, not from a flag, so a gateway that was frozen (stopped,
/// swapped out) is fenced from its first instant back.
#[derive(Debug)]
pub struct Fence {
    ownership: Ownership,
    margin: Duration,
    start: Instant,
    /// Milliseconds from `start` to the last written heartbeat.
    last_written: AtomicU64,
}

impl Fence {
    /// A fence for a gateway whose heartbeat is written every `margin`, as
    /// if one had just been written.
    pub fn new(ownership: Ownership, margin: Duration) -> Self {
        Self { ownership, margin, start: Instant::now(), last_written: AtomicU64::new(0) }
    }

    /// A heartbeat was written now.
    pub fn written(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_written.store(ms, Ordering::Release);
    }

    /// Whether the fence is up.
    pub fn is_up(&self) -> bool {
        let since =
            self.start.elapsed().saturating_sub(Duration::from_millis(self.last_written.load(Ordering::Acquire)));
        self.ownership.must_fence(since, self.margin)
    }
}

/// One gateway's place in the cluster.
pub struct Cluster {
    ledger: Arc<dyn Ledger>,
    clock: Arc<dyn Clock>,
    ownership: Ownership,
    secret: ClusterSecret,
    client: reqwest::Client,
    fence: Arc<Fence>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("ownership", &self.ownership).finish_non_exhaustive()
    }
}

impl Cluster {
    /// This gateway (`ownership.me`) on `ledger`, showing `secret` to the others.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        clock: Arc<dyn Clock>,
        ownership: Ownership,
        secret: ClusterSecret,
        fence: Arc<Fence>,
    ) -> std::result::Result<Self, String> {
        // Owners are reached at the address they advertise, never through a proxy of the environment.
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("cannot build the forwarding client: {e}"))?;
        Ok(Self { ledger, clock, ownership, secret, client, fence })
    }

    /// Completes once `node` is no longer the live owner of session `id`
    /// (its heartbeat went stale, or the session moved); polls the ledger.
    async fn owner_gone(&self, id: &SessionId, node: &NodeRecord) {
        let every = (self.ownership.dead_after / 4).clamp(Duration::from_millis(250), Duration::from_secs(2));
        loop {
            tokio::time::sleep(every).await;
            let Ok(Some(owner)) = self.ledger.session_owner(id).await else { continue };
            // Closed meanwhile (by the very request being answered, perhaps) does not count.
            let still = owner.node.as_ref() == Some(&node.id)
                && owner.seen.is_some_and(|seen| self.ownership.alive(seen.heartbeat_at, self.clock.now()));
            if !still {
                return;
            }
        }
    }

    /// How long until the owner last heard of at `heartbeat_at` counts as dead (at least 1 s).
    fn retry_after(&self, heartbeat_at: clawdforge_domain::model::Timestamp) -> u64 {
        let dead_at = heartbeat_at.plus(self.ownership.dead_after);
        dead_at.millis_since(self.clock.now()).div_ceil(1000).max(1)
    }
}

/// The session a path is about, if it is session-scoped.
fn session_in_path(path: &str) -> Option<SessionId> {
    let rest = path.strip_prefix("/sessions/")?;
    SessionId::new(rest.split('/').next()?).ok()
}

/// The middleware; without a cluster it lets every request through.
#[derive(Debug, Clone, Default)]
pub struct Forwarding(pub Option<Arc<Cluster>>);

impl<E: Endpoint> Middleware<E> for Forwarding {
    type Output = ForwardingEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        ForwardingEndpoint { inner, cluster: self.0.clone() }
    }
}

/// [`Forwarding`] applied to an endpoint.
#[derive(Debug)]
pub struct ForwardingEndpoint<E> {
    inner: E,
    cluster: Option<Arc<Cluster>>,
}

/// What to do with one request.
enum Decision {
    Here,
    There(NodeRecord),
}

impl<E: Endpoint> ForwardingEndpoint<E> {
    async fn decide(&self, cluster: &Cluster, id: &SessionId, forwarded: bool) -> Result<Decision> {
        let ledger_problem = |e| Problem::from(clawdforge_domain::Error::from(e));
        // Two rounds at most: a lost takeover race reads the winner, who is alive.
        for _ in 0..2 {
            let Some(owner) = cluster.ledger.session_owner(id).await.map_err(ledger_problem)? else {
                return Ok(Decision::Here); // unknown here is unknown everywhere: 404 from the handler
            };
            match cluster.ownership.route(&owner, cluster.clock.now()) {
                Route::Local => return Ok(Decision::Here),
                Route::Forward(node) if forwarded => {
                    // The sender thought this gateway the owner; it no longer is.
                    let retry = cluster.retry_after(node.heartbeat_at);
                    return Err(Problem::unavailable("the session moved to another gateway; retry", retry).into());
                }
                Route::Forward(node) => return Ok(Decision::There(node)),
                Route::TakeOver { from } => {
                    let me = &cluster.ownership.me;
                    if cluster.ledger.claim_session(id, me, from.clone()).await.map_err(ledger_problem)? {
                        tracing::info!(session = %id, from = ?from.as_ref().map(|n| n.as_str()), "took the session over");
                        return Ok(Decision::Here);
                    }
                }
            }
        }
        Err(Problem::unavailable("the session is changing gateways; retry", 1).into())
    }
}

impl<E: Endpoint> Endpoint for ForwardingEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let (Some(cluster), Some(id)) = (&self.cluster, session_in_path(req.uri().path())) else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        let forwarded = match req.headers().get(SECRET_HEADER) {
            Some(v) if cluster.secret.matches(v.as_bytes()) => true,
            Some(_) => {
                return Err(Problem::unauthorized(format!(
                    "the {SECRET_HEADER} header does not hold this cluster's secret (it is only for gateways)"
                ))
                .into())
            }
            None => false,
        };
        if !forwarded && !req.headers().contains_key(poem::http::header::AUTHORIZATION) {
            // Nothing to forward for: the handler answers 401 here.
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        if cluster.fence.is_up() {
            return Err(Problem::unavailable(
                "this gateway has lost its heartbeat and serves no session until it is back; retry",
                1,
            )
            .into());
        }
        match self.decide(cluster, &id, forwarded).await? {
            Decision::Here => self.inner.call(req).await.map(IntoResponse::into_response),
            Decision::There(node) => {
                let retry = cluster.retry_after(node.heartbeat_at);
                let forward = proxy::forward(&cluster.client, &cluster.secret, &node, retry, req);
                // A frozen owner still accepts connections (the kernel's backlog) but never
                // answers: the wait for its answer ends when it stops being the live owner.
                tokio::select! {
                    answer = forward => answer,
                    () = cluster.owner_gone(&id, &node) => Err(Problem::unavailable(
                        "the gateway that ran this session stopped answering; retry (another gateway takes it over)",
                        1,
                    )
                    .into()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_under_one_session_are_routed() {
        let id = "kV3nAbCdEfGh1234";
        for path in [format!("/sessions/{id}"), format!("/sessions/{id}/turn"), format!("/sessions/{id}/permissions/x")]
        {
            assert_eq!(session_in_path(&path).map(|s| s.as_str().to_owned()), Some(id.to_owned()), "{path}");
        }
        for path in ["/sessions", "/sessions/", "/run", "/sessions/short", "/sessions/http:%2F%2Fevil.example%2Fxx"] {
            assert_eq!(session_in_path(path), None, "{path}");
        }
    }
}
