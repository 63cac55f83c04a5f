//! The driving HTTP adapter (poem + poem-openapi): routes, the bearer-auth
//! security scheme, request and response bodies with their OpenAPI docs, and
//! the one place where a domain error becomes a status and a JSON body.

mod allow;
mod auth;
mod body;
mod body_limit;
pub mod cluster;
mod detached;
mod early_auth;
mod error;
mod health;
mod logging;
mod metrics;
mod ok_response;
mod run;
mod schemas;
mod server;
mod sessions;
mod sse;
mod streaming;
mod usage;

#[cfg(test)]
mod tests;

use allow::{AllowHeader, AllowTable};
use body_limit::BodyLimit;
use clawdforge_domain::{Apps, Runs, Sessions};
use early_auth::EarlyAuth;
use health::HealthApi;
use logging::RequestLog;
use poem::middleware::CatchPanic;
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route};
use poem_openapi::{OpenApiService, Tags};
use run::RunApi;
use sessions::SessionsApi;
use std::sync::Arc;
use std::time::Duration;
use usage::UsageApi;

pub use error::Problem;
pub use metrics::{metrics_routes, MetricsRoute};
pub use server::{serve, ConnectionLimits};

/// The URL the spec names as its server: the default listen address, fixed
/// so that the printed spec never varies between runs.
pub const SPEC_SERVER_URL: &str = "http://127.0.0.1:8765";

/// The use cases the handlers call.
#[derive(Clone)]
pub struct HttpState {
    /// Authentication.
    pub apps: Arc<Apps>,
    /// The session surface.
    pub sessions: Arc<Sessions>,
    /// The one-shot surface.
    pub runs: Arc<Runs>,
    /// The gateway's version, shown by `/healthz`.
    pub version: String,
}

/// Limits of the HTTP layer itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpConfig {
    /// The largest request body, in bytes; larger is a 413.
    pub max_body_bytes: usize,
    /// How long a request body may take to arrive; longer is a 408.
    pub body_timeout: Duration,
    /// The silence after which an event stream sends a `: keep-alive` comment.
    pub keep_alive: std::time::Duration,
}

impl HttpConfig {
    /// Room for a prompt of `max_prompt_bytes` even if JSON escaping doubles it,
    /// plus 64 KiB for the other fields (`meta` is at most 16 KiB).
    pub fn for_max_prompt(max_prompt_bytes: usize) -> Self {
        Self { max_body_bytes: max_prompt_bytes.saturating_mul(2).saturating_add(64 * 1024), ..Self::default() }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        // Room for the default 256 KiB prompt after JSON escaping, plus meta.
        Self {
            max_body_bytes: 1024 * 1024,
            body_timeout: Duration::from_secs(30),
            keep_alive: std::time::Duration::from_secs(15),
        }
    }
}

/// The groups of operations in the spec.
#[derive(Tags)]
enum ApiTags {
    /// Multi-turn sessions with ACP agents.
    Sessions,
    /// One-shot `claude -p` jobs (the v0.1 surface).
    Runs,
    /// Liveness.
    Health,
    /// What each app spent.
    Usage,
}

type Apis = (SessionsApi, RunApi, HealthApi, UsageApi);

fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new((SessionsApi, RunApi, HealthApi, UsageApi), "clawdforge", env!("CARGO_PKG_VERSION"))
        .description(
            "Self-hosted gateway for driving AI coding agents over HTTP. Every error is \
             `{ok: false, code, error}` with a stable `code`, except the v0.1 `/run` 502/504 answers.",
        )
        .server(SPEC_SERVER_URL)
}

/// Every route of the API, ready to serve: the operations, `/openapi.yaml`,
/// `/openapi.json` and `/docs` (Swagger UI), with body limit, JSON errors and request logging.
pub fn api_routes(state: HttpState, cfg: HttpConfig) -> impl Endpoint<Output = Response> {
    api_routes_with_metrics(state, cfg, None)
}

/// [`api_routes`], each request also counted and timed in `metrics`, and
/// `GET /metrics` served behind its token when one is configured.
pub fn api_routes_with_metrics(
    state: HttpState,
    cfg: HttpConfig,
    metrics: Option<MetricsRoute>,
) -> impl Endpoint<Output = Response> {
    api_routes_in_cluster(state, cfg, metrics, None)
}

/// [`api_routes_with_metrics`], each session-scoped request routed to the
/// gateway that owns its session when `cluster` is given (see [`cluster`]).
pub fn api_routes_in_cluster(
    state: HttpState,
    cfg: HttpConfig,
    metrics: Option<MetricsRoute>,
    cluster: Option<Arc<cluster::Cluster>>,
) -> impl Endpoint<Output = Response> {
    let service = service();
    let spec = ServedSpec::new(state.runs.policy().max_timeout.as_secs());
    let allow = AllowTable::from_spec(
        &service.spec(),
        &[("/openapi.yaml", "GET"), ("/openapi.json", "GET"), ("/docs", "GET"), ("/metrics", "GET")],
    );
    let mut routes =
        Route::new().at("/openapi.yaml", spec.yaml).at("/openapi.json", spec.json).nest("/docs", service.swagger_ui());
    if let Some(MetricsRoute { metrics, token: Some(token) }) = &metrics {
        let guarded = metrics::GuardedMetrics {
            metrics: metrics.clone(),
            sessions: state.sessions.clone(),
            token: token.clone(),
        };
        routes = routes.at("/metrics", poem::get(guarded));
    }
    routes
        .nest("/", service)
        .with(metrics::OperationTap)
        .with(cluster::Forwarding(cluster))
        .with(BodyLimit::new(cfg.max_body_bytes, cfg.body_timeout))
        .with(EarlyAuth)
        .catch_all_error(error::rejection::render)
        .data(state)
        .data(cfg)
        // A bug must still answer in the error shape, not drop the connection.
        .with(CatchPanic::new().with_handler(|_| Problem::internal("a handler panicked")))
        .with(AllowHeader(Arc::new(allow)))
        .with(metrics::RequestMetrics(metrics.map(|m| m.metrics)))
        .with(RequestLog)
}

/// The largest `/run` `timeout_secs` that the printed spec states: the default.
const DEFAULT_RUN_MAX_TIMEOUT_SECS: u64 = 1800;

/// The spec as one server serves it: the printed one, with `timeout_secs`'s
/// `maximum` set to the server's own `run_max_timeout_secs`, so that a client
/// generated from the served spec never sends a value the server refuses.
struct ServedSpec {
    yaml: poem::endpoint::BoxEndpoint<'static>,
    json: poem::endpoint::BoxEndpoint<'static>,
}

impl ServedSpec {
    fn new(max_timeout_secs: u64) -> Self {
        let (yaml, json) = if max_timeout_secs == DEFAULT_RUN_MAX_TIMEOUT_SECS {
            (openapi_yaml(), openapi_json())
        } else {
            let doc = with_max_timeout(max_timeout_secs);
            (serde_yaml::to_string(&doc).unwrap_or_else(|_| openapi_yaml()), doc.to_string())
        };
        Self { yaml: serve_text(yaml, "application/yaml"), json: serve_text(json, "application/json") }
    }
}

fn with_max_timeout(max_timeout_secs: u64) -> serde_json::Value {
    let mut doc: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap_or_default();
    if let Some(field) = doc.pointer_mut("/components/schemas/RunRequest/properties/timeout_secs") {
        field["maximum"] = serde_json::Value::from(max_timeout_secs);
    }
    doc
}

fn serve_text(body: String, content_type: &'static str) -> poem::endpoint::BoxEndpoint<'static> {
    poem::endpoint::make_sync(move |_| body.clone().with_content_type(content_type).into_response()).boxed()
}

/// The OpenAPI document as YAML, exactly what `/openapi.yaml` serves.
pub fn openapi_yaml() -> String {
    service().spec_yaml()
}

/// The OpenAPI document as JSON, exactly what `/openapi.json` serves.
pub fn openapi_json() -> String {
    service().spec()
}
