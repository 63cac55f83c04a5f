use serde_json::{Map, Value};

/// Client-supplied session metadata: a JSON object of at most [`Meta::MAX_BYTES`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Meta(Map<String, Value>);

/// Why metadata was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidMeta {
    /// The value is not a JSON object.
    #[error("must be a JSON object")]
    NotAnObject,
    /// The serialized object is too large.
    #[error("must be at most {max} bytes of JSON, got {got}")]
    TooLarge {
        /// The limit, in bytes of serialized JSON.
        max: usize,
        /// The serialized size of the value given.
        got: usize,
    },
}

impl Meta {
    /// The largest accepted serialized size: 16 KiB.
    pub const MAX_BYTES: usize = 16 * 1024;

    /// Validates a client's value.
    pub fn new(value: Value) -> Result<Self, InvalidMeta> {
        let Value::Object(map) = value else {
            return Err(InvalidMeta::NotAnObject);
        };
        let got = Value::Object(map.clone()).to_string().len();
        if got > Self::MAX_BYTES {
            return Err(InvalidMeta::TooLarge { max: Self::MAX_BYTES, got });
        }
        Ok(Self(map))
    }

    /// Rebuilds metadata already validated once, as read back from storage.
    pub fn from_stored(map: Map<String, Value>) -> Self {
        Self(map)
    }

    /// The JSON object, as the client gave it.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The object as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn meta_must_be_an_object() {
        assert_eq!(Meta::new(json!([1])), Err(InvalidMeta::NotAnObject));
        assert!(Meta::new(json!({"purpose": "smoke"})).is_ok());
    }

    #[test]
    fn meta_over_sixteen_kib_is_refused() {
        let big = "x".repeat(Meta::MAX_BYTES);
        assert!(matches!(Meta::new(json!({ "b": big })), Err(InvalidMeta::TooLarge { .. })));
    }
}
