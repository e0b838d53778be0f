//! `JsonConvert.SerializeObject` / `DeserializeObject`.

use super::parse::{LoadSettings, RootKind, parse_root};
use super::{Formatting, JToken};
use crate::clr::{ClrType, ClrValue};
use crate::error::{DotNetException, DotNetResult, ExceptionKind};

/// `JsonConvert.SerializeObject(value, formatting)`: tokens, primitives, strings, lists,
/// dictionaries and anonymous objects (ordered fields).
pub fn serialize_object(value: &ClrValue, formatting: Formatting) -> DotNetResult<String> {
    match value {
        ClrValue::Token(t) => Ok(t.to_string_formatting(formatting)),
        other => Ok(super::convert::from_clr(other)?.to_string_formatting(formatting)),
    }
}

/// `JsonConvert.DeserializeObject(text)` (target None: JObject/JArray for containers, the
/// boxed primitive otherwise — long, double, string, bool, DateTime, null) or
/// `DeserializeObject<T>(text)` for primitives and JToken types.
pub fn deserialize_object(text: &str, target: Option<ClrType>) -> DotNetResult<ClrValue> {
    let root = match target {
        Some(ClrType::JObject) => RootKind::Object,
        Some(ClrType::JArray) => RootKind::Array,
        _ => RootKind::Token,
    };
    if text.trim().is_empty() {
        // Newtonsoft returns null for empty input.
        return Ok(ClrValue::Null);
    }
    let token = parse_root(text, root, LoadSettings::default())?;
    match target {
        None | Some(ClrType::Object) => {
            if token.is_value() {
                Ok(token.boxed_value().unwrap_or(ClrValue::Null))
            } else {
                Ok(ClrValue::Token(token))
            }
        }
        Some(ClrType::JToken) | Some(ClrType::JObject) | Some(ClrType::JArray) => {
            Ok(ClrValue::Token(token))
        }
        Some(ClrType::JValue) => {
            if token.is_value() {
                Ok(ClrValue::Token(token))
            } else {
                Err(token.cast_error("JValue"))
            }
        }
        Some(t) => {
            if !token.is_value() {
                return Err(DotNetException::new(
                    ExceptionKind::JsonSerializationException,
                    format!(
                        "Cannot deserialize the current JSON {} into type '{}'. Path ''.",
                        if token.is_object() { "object" } else { "array" },
                        t.full_name()
                    ),
                ));
            }
            token
                .to_object(t, !t.is_value_type())
                .map_err(|e| match e.kind {
                    ExceptionKind::FormatException
                    | ExceptionKind::ArgumentException
                    | ExceptionKind::InvalidCastException => DotNetException::json_reader(format!(
                        "Could not convert string to {}: {}. Path ''.",
                        t.name().to_lowercase(),
                        token.to_string_default()
                    )),
                    _ => e,
                })
        }
    }
}

impl JToken {
    /// `JToken.Parse(text)`.
    pub fn parse(text: &str) -> DotNetResult<JToken> {
        parse_root(text, RootKind::Token, LoadSettings::default())
    }
    /// `JObject.Parse(text)`.
    pub fn parse_object(text: &str) -> DotNetResult<JToken> {
        parse_root(text, RootKind::Object, LoadSettings::default())
    }
    /// `JArray.Parse(text)`.
    pub fn parse_array(text: &str) -> DotNetResult<JToken> {
        parse_root(text, RootKind::Array, LoadSettings::default())
    }
}
