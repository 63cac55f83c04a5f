//! `JsonBody<T>`: a JSON request body documented as `T`'s schema and read by
//! serde, so every refusal is our JSON error naming the field.

pub mod field;

use super::error::Problem;
use clawdforge_domain::Error;
use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<'a, T: Type + DeserializeOwned + Send> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType { content_type: "application/json", schema: T::schema_ref() }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        if let Some(ct) = request.content_type() {
            if !is_json(ct) {
                return Err(Problem::bad_request(format!("Content-Type must be application/json, not {ct}")).into());
            }
        }
        // The body-limit middleware has already buffered the body within its limit.
        let bytes = body
            .take()?
            .into_bytes()
            .await
            .map_err(|e| Problem::bad_request(format!("could not read the request body: {e}")))?;
        Ok(Self(parse(&bytes)?))
    }
}

/// Reads `T` from raw bytes: 400 when they are not a JSON object, 422 when a field is refused.
pub fn parse<T: Type + DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::bad_request("the request body is empty; expected a JSON object"));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| Problem::bad_request(format!("the request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(Problem::bad_request("the request body must be a JSON object"));
    }
    serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        // serde refuses a missing field at the object itself, whose path names nothing.
        let missing = (path == ".").then(|| required_fields::<T>().into_iter().find(|name| value.get(name).is_none()));
        let error = match missing.flatten() {
            Some(name) => Error::invalid(name, "is required"),
            None => Error::invalid(path, e.into_inner().to_string()),
        };
        Problem::from(error)
    })
}

/// The fields `T`'s schema (and so the spec) calls required, in order.
fn required_fields<T: Type>() -> Vec<&'static str> {
    let mut registry = Registry::new();
    T::register(&mut registry);
    registry.schemas.remove(&*T::name()).map(|schema| schema.required).unwrap_or_default()
}

/// `application/json`, `application/<x>+json`, with or without parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::schemas::{CreateSessionBody, RunRequestBody, TurnRequestBody};

    fn refusal<T: Type + DeserializeOwned>(body: &str) -> (u16, String) {
        let Err(p) = parse::<T>(body.as_bytes()) else { panic!("{body} was accepted") };
        (p.status().as_u16(), p.message().to_owned())
    }

    fn unprocessable(message: &str) -> (u16, String) {
        (422, message.to_owned())
    }

    #[test]
    fn a_missing_or_null_required_field_is_named() {
        assert_eq!(refusal::<TurnRequestBody>(r#"{"files": []}"#), unprocessable("prompt: is required"));
        assert_eq!(refusal::<TurnRequestBody>(r#"{"prompt": null}"#), unprocessable("prompt: is required"));
        assert_eq!(refusal::<CreateSessionBody>(r#"{"meta": {}}"#), unprocessable("agent: is required"));
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named_with_what_it_was() {
        let turn = refusal::<TurnRequestBody>;
        assert_eq!(turn(r#"{"prompt": 5}"#), unprocessable("prompt: must be a string, not a number"));
        assert_eq!(
            turn(r#"{"prompt": "a", "files": ["/a", 1]}"#),
            unprocessable("files[1]: must be a string, not a number")
        );
        assert_eq!(
            turn(r#"{"prompt": "a", "files": "/a"}"#),
            unprocessable("files: must be an array of strings, not a string")
        );
        assert_eq!(
            turn(r#"{"prompt": "a", "wait": "no"}"#),
            unprocessable("wait: must be true or false, not a string")
        );
        let run = refusal::<RunRequestBody>;
        assert_eq!(run(r#"{"prompt": "a", "max_turns": -1}"#), unprocessable("max_turns: must be at least 1"));
        assert_eq!(run(r#"{"prompt": "a", "max_turns": 0}"#), unprocessable("max_turns: must be at least 1"));
        assert_eq!(
            run(r#"{"prompt": "a", "max_turns": 4294967296}"#),
            unprocessable("max_turns: must be at most 4294967295")
        );
        assert_eq!(
            run(r#"{"prompt": "a", "timeout_secs": 1.5}"#),
            unprocessable("timeout_secs: must be a whole number, not 1.5")
        );
        assert_eq!(run(r#"{"prompt": "a", "model": {}}"#), unprocessable("model: must be a string, not an object"));
        let create = refusal::<CreateSessionBody>;
        assert_eq!(create(r#"{"agent": "echo", "meta": [1]}"#), unprocessable("meta: must be a JSON object"));
    }

    #[test]
    fn null_counts_as_absent_for_optional_fields_and_unknown_fields_are_ignored() {
        let body: RunRequestBody =
            parse(br#"{"prompt": "a", "model": null, "max_turns": null, "extra": 1}"#).expect("accepted");
        assert_eq!((body.model, body.max_turns), (None, None));
        let body: TurnRequestBody = parse(br#"{"prompt": "a", "files": null, "wait": null}"#).expect("accepted");
        assert_eq!((body.files, body.wait), (None, None));
        let body: CreateSessionBody = parse(br#"{"agent": "echo", "meta": null}"#).expect("accepted");
        assert_eq!(body.meta, None);
    }

    #[test]
    fn a_body_that_is_not_an_object_is_a_bad_request() {
        for body in ["", " ", "[1]", "null", "{"] {
            assert_eq!(refusal::<CreateSessionBody>(body).0, 400, "{body}");
        }
    }

    #[test]
    fn json_content_types_are_recognised_with_parameters() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}
