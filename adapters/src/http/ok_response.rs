//! `OkResponse<T>`: a 200 JSON answer whose OpenAPI description comes from `T`,
//! so that every success response in the spec says what it is.

use poem::{IntoResponse, Response};
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::ToJSON;
use poem_openapi::ApiResponse;

/// A response body that can describe itself in the spec.
pub trait Described {
    /// The description of the 200 response that carries it.
    const ANSWER: &'static str;

    /// The body, written straight to JSON bytes, for the types whose answers
    /// are large or frequent (issue 15: a list page spent a third of its CPU
    /// building and dropping a `serde_json::Value` tree); `None` takes
    /// poem-openapi's `to_json` path. A test keeps both paths equal.
    fn json_bytes(&self) -> Option<Vec<u8>> {
        None
    }
}

/// A 200 answer carrying `T` as JSON.
#[derive(Debug)]
pub struct OkResponse<T>(pub T);

impl<T: ToJSON + Described + Send> IntoResponse for OkResponse<T> {
    fn into_response(self) -> Response {
        match self.0.json_bytes() {
            Some(bytes) => Response::builder().content_type("application/json; charset=utf-8").body(bytes),
            None => Json(self.0).into_response(),
        }
    }
}

impl<T: ToJSON + Described + Send> ApiResponse for OkResponse<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: T::ANSWER,
                status: Some(200),
                status_range: None,
                content: json_content::<T>(),
                headers: Vec::new(),
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// The spec's content of a JSON body of `T`: keyed plain `application/json`
/// (the server sends `; charset=utf-8` too), which generators read best.
pub fn json_content<T: poem_openapi::types::Type>() -> Vec<MetaMediaType> {
    vec![MetaMediaType { content_type: "application/json", schema: T::schema_ref() }]
}
