//! Query parameters that are documented with their bounds and refused with
//! a sentence of their own, never a parser's text: `PageLimit` (`limit` of
//! paged listings) and `WholeNumber` (a sequence number or Unix seconds).

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromParameter, ParseResult, ToJSON, Type};
use serde_json::Value;
use std::borrow::Cow;

/// The largest page any listing serves (the domain's `SessionPolicy::max_page`).
pub const MAX_PAGE: u32 = 200;

/// A page size; the domain checks the range and names it in its refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(pub u32);

impl Type for PageLimit {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "PageLimit".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::new_with_format("integer", "uint32");
        schema.minimum = Some(1.0);
        schema.maximum = Some(f64::from(MAX_PAGE));
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromParameter for PageLimit {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        value
            .parse()
            .map(Self)
            .map_err(|_| ParseError::custom(format!("must be a whole number between 1 and {MAX_PAGE}")))
    }
}

impl ToJSON for PageLimit {
    fn to_json(&self) -> Option<Value> {
        Some(Value::from(self.0))
    }
}

/// The largest whole number these parameters take: within the ledger's
/// millisecond clock (`i64::MAX / 1000`), and exact as a JSON number (2^53 - 1),
/// so the spec's `maximum` is the very value the server accepts.
pub const MAX_UNIX_SECS: u64 = (1 << 53) - 1;

/// A whole number of 0 up to [`MAX_UNIX_SECS`] (`after`, `since`, `until`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WholeNumber(pub u64);

impl Type for WholeNumber {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "WholeNumber".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::new_with_format("integer", "uint64");
        schema.minimum = Some(0.0);
        schema.maximum = Some(MAX_UNIX_SECS as f64);
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromParameter for WholeNumber {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        value
            .parse()
            .ok()
            .filter(|n| *n <= MAX_UNIX_SECS)
            .map(Self)
            .ok_or_else(|| ParseError::custom(format!("must be a whole number from 0 to {MAX_UNIX_SECS}")))
    }
}

impl ToJSON for WholeNumber {
    fn to_json(&self) -> Option<Value> {
        Some(Value::from(self.0))
    }
}
