//! `ApiError<S>`: the error half of every operation's result. One type (the
//! body comes from [`Problem`]), parameterised by the set of statuses the
//! operation documents, so each operation lists exactly the errors it can return.

use super::Problem;
use crate::http::schemas::ErrorBody;
use clawdforge_domain::Error;
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::ApiResponse;
use std::marker::PhantomData;

/// The error statuses an operation documents.
pub trait ErrorSet: Send + Sync + 'static {
    /// The statuses, ascending.
    const STATUSES: &'static [u16];
}

macro_rules! error_set {
    ($(#[$doc:meta])* $name:ident: $($status:literal),+) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;
        impl ErrorSet for $name {
            const STATUSES: &'static [u16] = &[$($status),+];
        }
    };
}

error_set!(
    /// `createSession`: caps, agent start-up, validation.
    CreateSessionErrors: 400, 401, 413, 422, 429, 500, 502, 503, 504
);
error_set!(
    /// `runTurn`: every way a turn can fail.
    TurnErrors: 400, 401, 404, 409, 410, 413, 422, 500, 502, 503, 504
);
error_set!(
    /// `streamSession`: a bad `Last-Event-ID` or `after`.
    StreamErrors: 401, 404, 422, 500, 503
);
error_set!(
    /// `answerPermission`: an unknown request (404) or option (422).
    PermissionErrors: 400, 401, 404, 413, 422, 500, 503
);
error_set!(
    /// Reading or closing one session.
    SessionErrors: 401, 404, 500, 503
);
error_set!(
    /// `listTurns`: a bad query parameter, or no such session.
    TurnListErrors: 401, 404, 422, 500
);
error_set!(
    /// `listSessions`: a bad query parameter.
    ListErrors: 401, 422, 500, 503
);
error_set!(
    /// `runOneShot`: validation; the job's own failures are its 502/504 answers.
    RunErrors: 400, 401, 413, 422, 429, 500, 503
);
error_set!(
    /// `health`: only the ledger can fail.
    HealthErrors: 500, 503
);
error_set!(
    /// `getUsage`: a bad window.
    UsageErrors: 401, 422, 500, 503
);

/// An operation's refusal; handlers get one from a domain error with `?`.
pub struct ApiError<S> {
    problem: Problem,
    // fn() -> S: the marker is only a type-level list, never held.
    set: PhantomData<fn() -> S>,
}

impl<S> From<Problem> for ApiError<S> {
    fn from(problem: Problem) -> Self {
        Self { problem, set: PhantomData }
    }
}

impl<S> From<Error> for ApiError<S> {
    fn from(e: Error) -> Self {
        Problem::from(e).into()
    }
}

impl<S: ErrorSet> IntoResponse for ApiError<S> {
    fn into_response(self) -> Response {
        self.problem.into_response()
    }
}

impl<S> From<ApiError<S>> for poem::Error {
    fn from(e: ApiError<S>) -> Self {
        e.problem.into()
    }
}

impl<S: ErrorSet> ApiResponse for ApiError<S> {
    fn meta() -> MetaResponses {
        MetaResponses { responses: S::STATUSES.iter().map(|&s| describe(s)).collect() }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

fn describe(status: u16) -> MetaResponse {
    let (description, header) = match status {
        400 => ("The body is not a JSON object, or its Content-Type is not JSON.", None),
        401 => (
            "No valid bearer token: missing, malformed, unknown or revoked.",
            Some(("WWW-Authenticate", "Always `Bearer`.")),
        ),
        404 => ("No such session for this app; another app's session answers exactly the same.", None),
        409 => ("Another turn holds the session for longer than the turn timeout.", None),
        410 => ("The session is closed and takes no more turns.", None),
        413 => ("The prompt or the whole request body is over its limit.", None),
        422 => ("A field or query parameter is missing, of the wrong type, or refused; `error` names it.", None),
        429 => (
            "This app holds as many open sessions, or runs as many jobs, as it may.",
            Some(("Retry-After", "Seconds after which a retry may succeed.")),
        ),
        502 => ("The agent failed; the session stays open and usable.", None),
        503 => (
            "The session pool, or the gateway's pool of running jobs, is full (`pool_full`), or the ledger's database cannot be reached (`unavailable`).",
            Some(("Retry-After", "Seconds after which a retry may succeed.")),
        ),
        504 => ("The agent did not finish within the turn timeout; the turn was cancelled.", None),
        _ => ("Internal error; the details are in the gateway's log.", None),
    };
    let headers = header
        .map(|(name, description)| MetaHeader {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            required: true,
            deprecated: false,
            schema: if name == "Retry-After" { u64::schema_ref() } else { String::schema_ref() },
        })
        .into_iter()
        .collect();
    MetaResponse {
        description,
        status: Some(status),
        status_range: None,
        content: vec![MetaMediaType { content_type: "application/json", schema: ErrorBody::schema_ref() }],
        headers,
    }
}
