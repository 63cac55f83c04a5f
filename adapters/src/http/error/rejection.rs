//! Refusals raised by the framework before a handler runs (routing, auth
//! extraction, query parsing) become the same JSON error shape as everything
//! else: poem's plain-text defaults never reach a client.

use super::Problem;
use poem::error::{MethodNotAllowedError, NotFoundError, ReadBodyError};
use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::error::{
    AuthorizationError, ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
};

/// Renders any error that reached the edge of the API.
pub async fn render(err: poem::Error) -> Response {
    if err.is_from_response() {
        // Our own `Problem`s (handler errors, the auth checker) are already rendered.
        return err.into_response();
    }
    classify(&err).into_response()
}

fn classify(err: &poem::Error) -> Problem {
    if err.is::<AuthorizationError>() {
        Problem::missing_token()
    } else if err.is::<NotFoundError>() {
        Problem::no_route()
    } else if err.is::<MethodNotAllowedError>() {
        Problem::method_not_allowed()
    } else if let Some(e) = err.downcast_ref::<ParseParamError>() {
        invalid_parameter(e.name, &e.reason)
    } else if let Some(e) = err.downcast_ref::<ParsePathError>() {
        invalid_parameter(e.name, &e.reason)
    } else if let Some(e) = err.downcast_ref::<ContentTypeError>() {
        Problem::bad_request(e.to_string())
    } else if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        Problem::bad_request(e.to_string())
    } else if matches!(err.downcast_ref::<ReadBodyError>(), Some(ReadBodyError::PayloadTooLarge)) {
        Problem::payload_too_large("the request body is too large")
    } else if err.status().is_server_error() {
        Problem::internal(&err.to_string())
    } else {
        by_status(err.status(), err.to_string())
    }
}

/// 422 naming the parameter, with the gist of poem-openapi's reason: its
/// type-name prefix and "(occurred while parsing ...)" suffix say nothing to a client.
fn invalid_parameter(name: &str, reason: &str) -> Problem {
    let gist = reason.split(" (occurred while parsing").next().unwrap_or(reason);
    let gist = gist.split_once("\": ").map_or(gist, |(_, rest)| rest).trim_end_matches('.');
    if gist.starts_with("verification failed. pattern") {
        return Problem::unprocessable(format!("{name}: does not have the form the spec gives for it"));
    }
    if gist.starts_with("must ") {
        // Our own parameter types already speak in sentences.
        return Problem::unprocessable(format!("{name}: {gist}"));
    }
    Problem::unprocessable(format!("{name}: is not a valid value ({})", gist.to_lowercase()))
}

// A client error raised by something not named above: keep its status.
fn by_status(status: StatusCode, message: String) -> Problem {
    match status {
        StatusCode::UNAUTHORIZED => Problem::missing_token(),
        StatusCode::NOT_FOUND => Problem::no_route(),
        StatusCode::METHOD_NOT_ALLOWED => Problem::method_not_allowed(),
        StatusCode::PAYLOAD_TOO_LARGE => Problem::payload_too_large("the request body is too large"),
        StatusCode::UNPROCESSABLE_ENTITY => Problem::unprocessable(message),
        _ => Problem::bad_request(message),
    }
}
