//! Sends a request on to the gateway that owns its session and hands its
//! answer back as it arrives (streams stay streams: nothing is buffered).

use super::secret::ClusterSecret;
use super::SECRET_HEADER;
use crate::http::error::Problem;
use clawdforge_domain::ownership::NodeRecord;
use futures::TryStreamExt;
use poem::http::{HeaderName, HeaderValue, StatusCode};
use poem::{Body, Request, Response};

/// The request headers that travel to the owner: what the handlers read.
/// Nothing else does (no `Host`, no hop-by-hop header, no client-chosen
/// routing header), so the owner answers exactly what the client asked.
const REQUEST_HEADERS: &[&str] = &["authorization", "content-type", "accept", "last-event-id"];

/// Response headers that belong to one hop only.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "proxy-connection",
    "upgrade",
    "te",
    "trailer",
];

/// Where on `node` the request goes: the node's address (from the ledger,
/// never from the request), with the request's own path and query.
fn target(node: &NodeRecord, req: &Request) -> Option<reqwest::Url> {
    let mut url = reqwest::Url::parse(&node.url).ok()?;
    url.set_path(req.uri().path());
    url.set_query(req.uri().query());
    Some(url)
}

/// Forwards `req` to `node`, marked with the cluster secret.
pub(super) async fn forward(
    client: &reqwest::Client,
    secret: &ClusterSecret,
    node: &NodeRecord,
    retry_after_secs: u64,
    mut req: Request,
) -> poem::Result<Response> {
    let Some(url) = target(node, &req) else {
        return Err(Problem::internal("a node's advertise_url in the ledger is not a URL").into());
    };
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .map_err(|_| Problem::internal("an HTTP method that reqwest cannot send"))?;
    let body = req.take_body().into_bytes().await?;
    let mut out = client.request(method, url).header(SECRET_HEADER, secret.expose());
    for name in REQUEST_HEADERS {
        for value in req.headers().get_all(*name) {
            out = out.header(*name, value.as_bytes());
        }
    }
    if !body.is_empty() {
        out = out.body(body);
    }
    let answer = out.send().await.map_err(|e| {
        tracing::warn!(node = %node.id, error = %e, "the session's gateway did not answer");
        Problem::unavailable(
            "the gateway that runs this session does not answer; retry (if it stays silent, another gateway takes the \
             session over)",
            retry_after_secs,
        )
    })?;
    let mut resp = Response::builder()
        .status(StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY))
        .finish();
    for (name, value) in answer.headers() {
        if HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        if let (Ok(n), Ok(v)) =
            (HeaderName::from_bytes(name.as_str().as_bytes()), HeaderValue::from_bytes(value.as_bytes()))
        {
            resp.headers_mut().append(n, v);
        }
    }
    resp.set_body(Body::from_bytes_stream(answer.bytes_stream().map_err(std::io::Error::other)));
    Ok(resp)
}
