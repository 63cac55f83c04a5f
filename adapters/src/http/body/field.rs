//! How serde reads a body's fields: `#[serde(deserialize_with = ...)]`
//! helpers whose refusals are sentences of our own (`must be a string, not a
//! number`), never serde's parser text. `serde_path_to_error` puts the
//! field's name in front of them.

use clawdforge_domain::model::InvalidMeta;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// A value a body field may hold, judged from its JSON.
pub trait FieldValue: Sized {
    /// The value, or the sentence that refuses it (without the field's name).
    fn from_json(value: Value) -> Result<Self, String>;
}

/// A field that must be present and not `null`.
pub fn required<'de, D: Deserializer<'de>, T: FieldValue>(d: D) -> Result<T, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Err(de::Error::custom("is required")),
        value => T::from_json(value).map_err(de::Error::custom),
    }
}

/// A field that may be absent or `null` (clients that serialize every
/// optional field send `null`). Pair it with `#[serde(default)]`.
pub fn optional<'de, D: Deserializer<'de>, T: FieldValue>(d: D) -> Result<Option<T>, D::Error> {
    Ok(Option::<Field<T>>::deserialize(d)?.map(|f| f.0))
}

/// A list of strings that may be absent or `null`; a refused item is named
/// by its index (`files[1]: ...`). Pair it with `#[serde(default)]`.
pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<Strings>::deserialize(d)?.map(|s| s.0))
}

struct Field<T>(T);

impl<'de, T: FieldValue> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::from_json(Value::deserialize(d)?).map(Field).map_err(de::Error::custom)
    }
}

struct Strings(Vec<String>);

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringsVisitor).map(Strings)
    }
}

struct StringsVisitor;

impl StringsVisitor {
    fn refuse<E: de::Error>(got: &str) -> Result<Vec<String>, E> {
        Err(E::custom(format!("must be an array of strings, not {got}")))
    }
}

impl<'de> Visitor<'de> for StringsVisitor {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Field(item)) = seq.next_element::<Field<String>>()? {
            items.push(item);
        }
        Ok(items)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Self::refuse("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Self::refuse("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Self::refuse("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Self::refuse("a number")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Self::refuse("a string")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Self::refuse("an object")
    }
}

impl FieldValue for String {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::String(s) => Ok(s),
            other => Err(wrong_type("a string", &other)),
        }
    }
}

impl FieldValue for bool {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(b),
            other => Err(wrong_type("true or false", &other)),
        }
    }
}

/// Every number the API takes in a body is a count or a duration of at least 1.
impl FieldValue for u64 {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(0), _) | (None, Some(_)) => Err("must be at least 1".into()),
                (Some(v), _) => Ok(v),
                (None, None) => Err(format!("must be a whole number, not {n}")),
            },
            other => Err(wrong_type("a whole number", &other)),
        }
    }
}

impl FieldValue for u32 {
    fn from_json(value: Value) -> Result<Self, String> {
        u32::try_from(u64::from_json(value)?).map_err(|_| format!("must be at most {}", u32::MAX))
    }
}

/// A session's `meta`: an object, whose size the domain judges.
impl FieldValue for BTreeMap<String, Value> {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::Object(map) => Ok(map.into_iter().collect()),
            _ => Err(InvalidMeta::NotAnObject.to_string()),
        }
    }
}

fn wrong_type(expected: &str, got: &Value) -> String {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    format!("must be {expected}, not {kind}")
}
