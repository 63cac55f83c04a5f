//! `JsonBody<T>`: a JSON request body documented as `T`'s schema but read by
//! our own parser, so every refusal is our JSON error naming the field.

use super::error::Problem;
use super::fields::Fields;
use clawdforge_domain::Error;
use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde_json::Value;

/// A request body type that can be read from a JSON object's fields.
pub trait FromJsonObject: Sized {
    /// Takes the body's fields; a refusal names the field.
    fn from_fields(fields: &mut Fields) -> Result<Self, Error>;
}

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<'a, T: Type + FromJsonObject + Send> ApiExtractor<'a> for JsonBody<T> {
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
pub fn parse<T: FromJsonObject>(bytes: &[u8]) -> Result<T, Problem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::bad_request("the request body is empty; expected a JSON object"));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| Problem::bad_request(format!("the request body is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(Problem::bad_request("the request body must be a JSON object"));
    };
    let mut fields = Fields::new(map);
    T::from_fields(&mut fields).map_err(Problem::from)
}

/// `application/json`, `application/<x>+json`, with or without parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_are_recognised_with_parameters() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}
