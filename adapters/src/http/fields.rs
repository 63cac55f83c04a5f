//! Reads a request body's JSON object field by field, so that every refusal
//! names the field (poem-openapi's own parser names only the type).

use clawdforge_domain::Error;
use serde_json::{Map, Value};

/// The fields of a JSON object, taken out one at a time.
#[derive(Debug, Default)]
pub struct Fields(Map<String, Value>);

impl Fields {
    /// Wraps a parsed object.
    pub fn new(map: Map<String, Value>) -> Self {
        Self(map)
    }

    /// A string that must be present.
    pub fn required_string(&mut self, name: &str) -> Result<String, Error> {
        self.optional_string(name)?.ok_or_else(|| Error::invalid(name, "is required"))
    }

    /// A string that may be absent or `null`.
    pub fn optional_string(&mut self, name: &str) -> Result<Option<String>, Error> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(wrong_type(name, "a string", &other)),
        }
    }

    /// A whole number in `1..=u32::MAX` that may be absent or `null`.
    pub fn optional_u32(&mut self, name: &str) -> Result<Option<u32>, Error> {
        self.optional_u64(name)?
            .map(|n| u32::try_from(n).map_err(|_| Error::invalid(name, format!("must be at most {}", u32::MAX))))
            .transpose()
    }

    /// A whole number of at least 1 that may be absent or `null` (every
    /// number the API takes in a body is a count or a duration of at least 1).
    pub fn optional_u64(&mut self, name: &str) -> Result<Option<u64>, Error> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match (n.as_u64(), n.as_i64()) {
                (Some(0), _) | (None, Some(_)) => Err(Error::invalid(name, "must be at least 1")),
                (Some(v), _) => Ok(Some(v)),
                (None, None) => Err(Error::invalid(name, format!("must be a whole number, not {n}"))),
            },
            Some(other) => Err(wrong_type(name, "a whole number", &other)),
        }
    }

    /// A boolean that may be absent or `null`.
    pub fn optional_bool(&mut self, name: &str) -> Result<Option<bool>, Error> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(wrong_type(name, "true or false", &other)),
        }
    }

    /// A list of strings; absent or `null` is the empty list.
    pub fn optional_strings(&mut self, name: &str) -> Result<Vec<String>, Error> {
        match self.take(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s),
                    other => Err(wrong_type(&format!("{name}[{i}]"), "a string", &other)),
                })
                .collect(),
            Some(other) => Err(wrong_type(name, "an array of strings", &other)),
        }
    }

    /// Any JSON value, left for the domain to judge; absent and `null` are `None`.
    pub fn optional_any(&mut self, name: &str) -> Option<Value> {
        self.take(name)
    }

    // `null` counts as absent, as clients that serialize every optional field expect.
    fn take(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name).filter(|v| !v.is_null())
    }
}

fn wrong_type(name: &str, expected: &str, got: &Value) -> Error {
    Error::invalid(name, format!("must be {expected}, not {}", kind(got)))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Fields {
        match v {
            Value::Object(m) => Fields::new(m),
            _ => Fields::default(),
        }
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let e = fields(json!({})).required_string("prompt").expect_err("refused");
        assert_eq!(e.to_string(), "prompt: is required");
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named_with_what_it_was() {
        let e = fields(json!({"prompt": 5})).required_string("prompt").expect_err("refused");
        assert_eq!(e.to_string(), "prompt: must be a string, not a number");
        let e = fields(json!({"files": ["/a", 1]})).optional_strings("files").expect_err("refused");
        assert_eq!(e.to_string(), "files[1]: must be a string, not a number");
        let e = fields(json!({"max_turns": -1})).optional_u32("max_turns").expect_err("refused");
        assert_eq!(e.to_string(), "max_turns: must be at least 1");
        let e = fields(json!({"max_turns": 0})).optional_u32("max_turns").expect_err("refused");
        assert_eq!(e.to_string(), "max_turns: must be at least 1");
        let e = fields(json!({"timeout_secs": 1.5})).optional_u64("timeout_secs").expect_err("refused");
        assert_eq!(e.to_string(), "timeout_secs: must be a whole number, not 1.5");
    }

    #[test]
    fn null_counts_as_absent_for_optional_fields() {
        let mut f = fields(json!({"model": null, "files": null}));
        assert_eq!(f.optional_string("model").expect("accepted"), None);
        assert!(f.optional_strings("files").expect("accepted").is_empty());
    }
}
