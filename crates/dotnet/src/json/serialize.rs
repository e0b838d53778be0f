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

fn reader_word(target: ClrType) -> &'static str {
    match target {
        ClrType::Int32
        | ClrType::Int64
        | ClrType::Int16
        | ClrType::Byte
        | ClrType::SByte
        | ClrType::UInt16
        | ClrType::UInt32
        | ClrType::UInt64 => "integer",
        ClrType::Double | ClrType::Single => "double",
        ClrType::Decimal => "decimal",
        ClrType::Boolean => "boolean",
        ClrType::DateTime | ClrType::DateTimeOffset => "date",
        ClrType::String => "string",
        _ => "value",
    }
}

fn start_token_name(token: &JToken) -> &'static str {
    match token.token_type() {
        super::JTokenType::Object => "StartObject",
        super::JTokenType::Array => "StartArray",
        super::JTokenType::Property => "PropertyName",
        t => t.name(),
    }
}

/// How Newtonsoft's serializer reads one token into `target` (elements of `List<T>`, values of
/// `Dictionary<string, T>`): `object` keeps primitives boxed (Int64, Double, String, Boolean,
/// DateTime) and containers as tokens; strings take any primitive's invariant text.
pub fn serializer_convert(
    token: &JToken,
    target: ClrType,
    nullable: bool,
) -> DotNetResult<ClrValue> {
    let path = token.path();
    if matches!(target, ClrType::Object) {
        return Ok(match token.boxed_value() {
            Some(v) => v,
            None => ClrValue::Token(token.deep_clone()),
        });
    }
    if matches!(
        target,
        ClrType::JToken | ClrType::JObject | ClrType::JArray | ClrType::JValue | ClrType::JProperty
    ) {
        return token.to_object(target, nullable);
    }
    let Some(v) = token.value() else {
        return Err(DotNetException::json_reader(format!(
            "Error reading {}. Unexpected token: {}. Path '{path}'.",
            reader_word(target),
            start_token_name(token)
        )));
    };
    if matches!(v, super::JValue::Null | super::JValue::Undefined) {
        if nullable || !target.is_value_type() {
            return Ok(ClrValue::Null);
        }
        return Err(DotNetException::new(
            ExceptionKind::JsonSerializationException,
            format!(
                "Error converting value {{null}} to type '{}'. Path '{path}'.",
                target.full_name()
            ),
        ));
    }
    if target == ClrType::String {
        return Ok(
            crate::convert::to_string_invariant(&super::convert::value_to_clr(&v))
                .map(ClrValue::String)
                .unwrap_or(ClrValue::Null),
        );
    }
    let numeric = crate::number::integral_range(target).is_some()
        || matches!(target, ClrType::Double | ClrType::Single | ClrType::Decimal);
    if numeric && matches!(v, super::JValue::Boolean(_)) {
        return Err(DotNetException::json_reader(format!(
            "Error reading {}. Unexpected token: Boolean. Path '{path}'.",
            reader_word(target)
        )));
    }
    token
        .convert_explicit(target, nullable)
        .map_err(|e| match e.kind {
            ExceptionKind::FormatException
            | ExceptionKind::ArgumentException
            | ExceptionKind::InvalidCastException => DotNetException::json_reader(format!(
                "Could not convert string to {}: {}. Path '{path}'.",
                reader_word(target),
                token.to_string_default()
            )),
            _ => e,
        })
}

fn list_type_name(elem: ClrType) -> String {
    format!("System.Collections.Generic.List`1[{}]", elem.full_name())
}

/// `token.ToObject<List<T>>()` / `ToObject<T[]>()`: the token must be an array.
pub fn to_object_list(
    token: &JToken,
    elem: ClrType,
    nullable: bool,
) -> DotNetResult<Vec<ClrValue>> {
    if !token.is_array() {
        return Err(DotNetException::new(
            ExceptionKind::JsonSerializationException,
            format!(
                "Cannot deserialize the current JSON {} into type '{}' because the type requires a JSON array (e.g. [1,2,3]) to deserialize correctly. Path '{}'.",
                if token.is_object() {
                    "object (e.g. {\"name\":\"value\"})"
                } else {
                    "value"
                },
                list_type_name(elem),
                token.path()
            ),
        ));
    }
    token
        .children()
        .iter()
        .map(|c| serializer_convert(c, elem, nullable))
        .collect()
}

/// `token.ToObject<Dictionary<string, T>>()`: the token must be an object.
pub fn to_object_dictionary(
    token: &JToken,
    value: ClrType,
    nullable: bool,
) -> DotNetResult<Vec<(String, ClrValue)>> {
    if !token.is_object() {
        return Err(DotNetException::new(
            ExceptionKind::JsonSerializationException,
            format!(
                "Cannot deserialize the current JSON {} into type 'System.Collections.Generic.Dictionary`2[System.String,{}]' because the type requires a JSON object (e.g. {{\"name\":\"value\"}}) to deserialize correctly. Path '{}'.",
                if token.is_array() {
                    "array (e.g. [1,2,3])"
                } else {
                    "value"
                },
                value.full_name(),
                token.path()
            ),
        ));
    }
    let mut out = Vec::new();
    for p in token.properties()? {
        let v = p.property_value()?;
        out.push((p.name()?, serializer_convert(&v, value, nullable)?));
    }
    Ok(out)
}

/// `JsonConvert.DeserializeObject<List<T>>(text)` / `<T[]>`; null for "null" or empty text.
pub fn deserialize_list(
    text: &str,
    elem: ClrType,
    nullable: bool,
) -> DotNetResult<Option<Vec<ClrValue>>> {
    deserialized_root(text)?
        .map(|t| to_object_list(&t, elem, nullable))
        .transpose()
}

/// The token `DeserializeObject` reads; `None` for empty text or JSON null.
fn deserialized_root(text: &str) -> DotNetResult<Option<JToken>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let t = parse_root(text, RootKind::Token, LoadSettings::default())?;
    if t.token_type() == super::JTokenType::Null {
        return Ok(None);
    }
    Ok(Some(t))
}

/// `JsonConvert.DeserializeObject<Dictionary<string, T>>(text)`; null for "null" or empty.
pub fn deserialize_dictionary(
    text: &str,
    value: ClrType,
    nullable: bool,
) -> DotNetResult<Option<Vec<(String, ClrValue)>>> {
    deserialized_root(text)?
        .map(|t| to_object_dictionary(&t, value, nullable))
        .transpose()
}

#[cfg(test)]
mod collection_tests {
    use super::*;

    #[test]
    fn lists_and_dictionaries() {
        let t = JToken::parse(r#"[1, "2", 3.5, true, null, "x"]"#).unwrap();
        let strings = to_object_list(&t, ClrType::String, false).unwrap();
        assert_eq!(
            strings,
            vec![
                ClrValue::String("1".into()),
                ClrValue::String("2".into()),
                ClrValue::String("3.5".into()),
                ClrValue::String("True".into()),
                ClrValue::Null,
                ClrValue::String("x".into()),
            ]
        );
        let ints = JToken::parse("[1, \"2\", 3.5]").unwrap();
        assert_eq!(
            to_object_list(&ints, ClrType::Int32, false).unwrap(),
            vec![ClrValue::Int32(1), ClrValue::Int32(2), ClrValue::Int32(4)]
        );
        let bad = JToken::parse("[\"x\"]").unwrap();
        assert_eq!(
            to_object_list(&bad, ClrType::Int32, false)
                .unwrap_err()
                .kind,
            ExceptionKind::JsonReaderException
        );
        let nul = JToken::parse("[null]").unwrap();
        assert_eq!(
            to_object_list(&nul, ClrType::Int32, false)
                .unwrap_err()
                .kind,
            ExceptionKind::JsonSerializationException
        );
        assert_eq!(
            to_object_list(&nul, ClrType::Int32, true).unwrap(),
            vec![ClrValue::Null]
        );
        let obj = JToken::parse(r#"{"a":1,"b":{"c":2},"d":"2024-05-01T00:00:00Z"}"#).unwrap();
        let d = to_object_dictionary(&obj, ClrType::Object, false).unwrap();
        assert_eq!(d[0], ("a".to_string(), ClrValue::Int64(1)));
        assert!(matches!(d[1].1, ClrValue::Token(_)));
        assert!(matches!(d[2].1, ClrValue::DateTime(_)));
        assert_eq!(
            to_object_list(&obj, ClrType::String, false)
                .unwrap_err()
                .kind,
            ExceptionKind::JsonSerializationException
        );
        let parsed = deserialize_dictionary(r#"{"k":"v","n":5}"#, ClrType::String, false)
            .unwrap()
            .unwrap();
        assert_eq!(parsed[1], ("n".to_string(), ClrValue::String("5".into())));
        assert_eq!(
            deserialize_list("null", ClrType::Int32, false).unwrap(),
            None
        );
    }
}
