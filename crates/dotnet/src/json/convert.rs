//! Conversions between tokens and CLR values: Newtonsoft's explicit operators (`(int)token`),
//! `Value<T>()` (`Extensions.Convert`), `ToObject<T>()`, and `JToken.FromObject` / the
//! implicit conversions to JToken.

use super::{JToken, JTokenType, JValue};
use crate::clr::{ClrType, ClrValue};
use crate::convert::{change_type, default_value, double_to_decimal, single_to_decimal};
use crate::error::{DotNetException, DotNetResult};
use num_bigint::BigInt;
use num_traits::ToPrimitive;

fn approx_equals(a: f64, b: f64) -> bool {
    if a == b {
        return true;
    }
    let tolerance = (a.abs() + b.abs() + 10.0) * 2.220_446_049_250_313e-16;
    let d = a - b;
    -tolerance < d && tolerance > d
}

fn float_of(v: &JValue) -> Option<f64> {
    match v {
        JValue::Float(f) => Some(*f),
        JValue::Single(f) => Some(*f as f64),
        JValue::Decimal(d) => d.to_f64(),
        _ => None,
    }
}

/// Newtonsoft's `JValue.ValuesEquals`: same token type and `Compare(...) == 0`.
pub(crate) fn values_equal(a: &JValue, b: &JValue) -> bool {
    use JValue::*;
    if a.token_type() != b.token_type() {
        return false;
    }
    match (a, b) {
        (Null, Null) | (Undefined, Undefined) => true,
        (Integer(x), Integer(y)) => x == y,
        (BigInteger(x), BigInteger(y)) => x == y,
        (Integer(x), BigInteger(y)) | (BigInteger(y), Integer(x)) => BigInt::from(*x) == *y,
        (Decimal(x), Decimal(y)) => x == y,
        (x, y) if x.token_type() == JTokenType::Float => match (float_of(x), float_of(y)) {
            (Some(p), Some(q)) => approx_equals(p, q) || (p.is_nan() && q.is_nan()),
            _ => false,
        },
        (String(x), String(y)) | (Raw(x), Raw(y)) | (Comment(x), Comment(y)) | (Uri(x), Uri(y)) => {
            x == y
        }
        (Boolean(x), Boolean(y)) => x == y,
        (Date(x), Date(y)) => x == y,
        (DateOffset(x), DateOffset(y)) => x == y,
        (Date(x), DateOffset(y)) | (DateOffset(y), Date(x)) => x.ticks() == y.utc_ticks(),
        (Guid(x), Guid(y)) => x == y,
        (TimeSpan(x), TimeSpan(y)) => x == y,
        (Bytes(x), Bytes(y)) => x == y,
        _ => false,
    }
}

/// The boxed value of a JValue (`JValue.Value`), as a CLR value.
pub fn value_to_clr(v: &JValue) -> ClrValue {
    match v {
        JValue::Null | JValue::Undefined => ClrValue::Null,
        JValue::Integer(i) => ClrValue::Int64(*i),
        JValue::BigInteger(b) => ClrValue::BigInteger(b.clone()),
        JValue::Float(f) => ClrValue::Double(*f),
        JValue::Single(f) => ClrValue::Single(*f),
        JValue::Decimal(d) => ClrValue::Decimal(*d),
        JValue::String(s) | JValue::Raw(s) | JValue::Comment(s) => ClrValue::String(s.clone()),
        JValue::Boolean(b) => ClrValue::Boolean(*b),
        JValue::Date(d) => ClrValue::DateTime(*d),
        JValue::DateOffset(d) => ClrValue::DateTimeOffset(*d),
        JValue::Guid(g) => ClrValue::Guid(*g),
        JValue::Uri(u) => ClrValue::Uri(u.clone()),
        JValue::TimeSpan(t) => ClrValue::TimeSpan(*t),
        JValue::Bytes(b) => ClrValue::Bytes(b.clone()),
    }
}

/// `new JValue(x)` / implicit conversion of a primitive to a JValue payload.
pub fn value_from_clr(v: &ClrValue) -> DotNetResult<JValue> {
    Ok(match v {
        ClrValue::Null => JValue::Null,
        ClrValue::Boolean(b) => JValue::Boolean(*b),
        ClrValue::Byte(x) => JValue::Integer(*x as i64),
        ClrValue::SByte(x) => JValue::Integer(*x as i64),
        ClrValue::Int16(x) => JValue::Integer(*x as i64),
        ClrValue::UInt16(x) => JValue::Integer(*x as i64),
        ClrValue::Int32(x) => JValue::Integer(*x as i64),
        ClrValue::UInt32(x) => JValue::Integer(*x as i64),
        ClrValue::Int64(x) => JValue::Integer(*x),
        ClrValue::UInt64(x) => match i64::try_from(*x) {
            Ok(i) => JValue::Integer(i),
            Err(_) => JValue::BigInteger(BigInt::from(*x)),
        },
        ClrValue::Char(c) => JValue::String(String::from_utf16_lossy(&[*c])),
        ClrValue::Single(f) => JValue::Single(*f),
        ClrValue::Double(f) => JValue::Float(*f),
        ClrValue::Decimal(d) => JValue::Decimal(*d),
        ClrValue::String(s) => JValue::String(s.clone()),
        ClrValue::DateTime(d) => JValue::Date(*d),
        ClrValue::DateTimeOffset(d) => JValue::DateOffset(*d),
        ClrValue::TimeSpan(t) => JValue::TimeSpan(*t),
        ClrValue::Guid(g) => JValue::Guid(*g),
        ClrValue::Uri(u) => JValue::Uri(u.clone()),
        ClrValue::Bytes(b) => JValue::Bytes(b.clone()),
        ClrValue::BigInteger(b) => JValue::BigInteger(b.clone()),
        other => {
            return Err(DotNetException::argument(format!(
                "Could not determine JSON object type for type {}.",
                other.type_name()
            )));
        }
    })
}

/// `JToken.FromObject(value)`: primitives become JValues, lists JArrays, dictionaries and
/// anonymous objects JObjects; a token is copied.
pub fn from_clr(value: &ClrValue) -> DotNetResult<JToken> {
    Ok(match value {
        ClrValue::Token(t) => t.deep_clone(),
        ClrValue::List(items) => {
            let a = JToken::new_array();
            for i in items {
                a.add(from_clr(i)?)?;
            }
            a
        }
        ClrValue::Dictionary(pairs) => {
            let o = JToken::new_object();
            for (k, v) in pairs {
                let key = match k {
                    ClrValue::DateTime(d) => super::write::iso_date_time(*d),
                    other => crate::convert::to_string_invariant(other).unwrap_or_default(),
                };
                o.add_property(&key, Some(from_clr(v)?))?;
            }
            o
        }
        ClrValue::Anonymous(fields) => {
            let o = JToken::new_object();
            for (k, v) in fields {
                o.add_property(k, Some(from_clr(v)?))?;
            }
            o
        }
        other => JToken::new_value(value_from_clr(other)?),
    })
}

/// Newtonsoft's `GetType(token)` for messages: a property's value type.
fn type_for_message(token: &JToken) -> String {
    let t = if token.is_property() {
        token.property_value().unwrap_or_else(|_| token.clone())
    } else {
        token.clone()
    };
    t.token_type().name().to_string()
}

fn allowed_types(target: ClrType) -> &'static [JTokenType] {
    use JTokenType::*;
    match target {
        ClrType::Boolean => &[Integer, Float, String, Comment, Raw, Boolean],
        ClrType::Char => &[Integer, Float, String, Comment, Raw],
        ClrType::DateTime | ClrType::DateTimeOffset => &[Date, String, Comment, Raw],
        ClrType::String => &[
            Date, Integer, Float, String, Comment, Boolean, Bytes, Guid, TimeSpan, Uri,
        ],
        ClrType::Guid => &[String, Comment, Guid, Raw, Bytes],
        ClrType::TimeSpan => &[String, Comment, Raw, TimeSpan],
        ClrType::Uri => &[String, Comment, Raw, Uri],
        ClrType::ByteArray => &[Bytes, String, Comment, Raw, Integer],
        _ => &[Integer, Float, String, Comment, Boolean],
    }
}

/// A C# explicit conversion of a token: `(int)token`, `(string)token`, `(bool?)token`, ...
/// `token` None is a C# null reference. Errors are Newtonsoft's ("Can not convert Object to
/// Int32." as ArgumentException).
pub fn explicit_convert(
    token: Option<&JToken>,
    target: ClrType,
    nullable: bool,
) -> DotNetResult<ClrValue> {
    let reference_target = !target.is_value_type();
    let Some(token) = token else {
        if nullable || reference_target {
            return Ok(ClrValue::Null);
        }
        return Err(DotNetException::argument_null("value"));
    };
    // JToken-typed casts are reference casts.
    match target {
        ClrType::JToken | ClrType::Object => return Ok(ClrValue::Token(token.clone())),
        ClrType::JObject if token.is_object() => return Ok(ClrValue::Token(token.clone())),
        ClrType::JArray if token.is_array() => return Ok(ClrValue::Token(token.clone())),
        ClrType::JProperty if token.is_property() => return Ok(ClrValue::Token(token.clone())),
        ClrType::JValue if token.is_value() => return Ok(ClrValue::Token(token.clone())),
        ClrType::JObject | ClrType::JArray | ClrType::JProperty | ClrType::JValue => {
            return Err(token.cast_error(target.name()));
        }
        _ => {}
    }
    let value_token = if token.is_property() {
        token.property_value()?
    } else {
        token.clone()
    };
    let target_name = if target == ClrType::ByteArray {
        "byte array".to_string()
    } else {
        target.name().to_string()
    };
    let cannot = || {
        DotNetException::argument(format!(
            "Can not convert {} to {target_name}.",
            type_for_message(token)
        ))
    };
    let Some(v) = value_token.value() else {
        return Err(cannot());
    };
    let tt = v.token_type();
    let null_ok = nullable || reference_target;
    if matches!(tt, JTokenType::Null | JTokenType::Undefined) {
        if null_ok {
            return Ok(ClrValue::Null);
        }
        return Err(cannot());
    }
    if !allowed_types(target).contains(&tt) {
        return Err(cannot());
    }
    match (&v, target) {
        (JValue::Bytes(b), ClrType::String) => {
            return Ok(ClrValue::String(crate::convert::to_base64_string(b)));
        }
        (JValue::BigInteger(b), ClrType::String) => return Ok(ClrValue::String(b.to_string())),
        (JValue::BigInteger(b), t) if crate::number::integral_range(t).is_some() => {
            let (min, max) = crate::number::integral_range(t).unwrap_or((0, 0));
            let i = b
                .to_i128()
                .filter(|i| *i >= min && *i <= max)
                .ok_or_else(|| crate::number::overflow_for(t.name()))?;
            return change_type(&ClrValue::String(i.to_string()), t);
        }
        (JValue::BigInteger(b), ClrType::Double) => {
            return Ok(ClrValue::Double(b.to_f64().unwrap_or(f64::NAN)));
        }
        (JValue::DateOffset(d), ClrType::DateTime) => return Ok(ClrValue::DateTime(d.date_time())),
        (JValue::Date(d), ClrType::DateTimeOffset) => {
            return Ok(ClrValue::DateTimeOffset(
                crate::datetime::DateTimeOffset::from_date_time(*d),
            ));
        }
        (JValue::String(s) | JValue::Comment(s) | JValue::Raw(s), ClrType::DateTimeOffset) => {
            return Ok(ClrValue::DateTimeOffset(
                crate::datetime_format::parse_date_time_offset(s)?,
            ));
        }
        (JValue::Guid(g), ClrType::Guid) => return Ok(ClrValue::Guid(*g)),
        (JValue::Bytes(b), ClrType::Guid) => {
            return Ok(ClrValue::Guid(crate::guid::Guid::from_slice(b)?));
        }
        (JValue::String(s) | JValue::Comment(s) | JValue::Raw(s), ClrType::Guid) => {
            return Ok(ClrValue::Guid(crate::guid::Guid::parse(s)?));
        }
        (JValue::TimeSpan(t), ClrType::TimeSpan) => return Ok(ClrValue::TimeSpan(*t)),
        (JValue::String(s) | JValue::Comment(s) | JValue::Raw(s), ClrType::TimeSpan) => {
            return Ok(ClrValue::TimeSpan(crate::datetime_format::parse_timespan(
                s,
            )?));
        }
        (
            JValue::Uri(u) | JValue::String(u) | JValue::Comment(u) | JValue::Raw(u),
            ClrType::Uri,
        ) => {
            return Ok(ClrValue::Uri(u.clone()));
        }
        (JValue::Bytes(b), ClrType::ByteArray) => return Ok(ClrValue::Bytes(b.clone())),
        (JValue::String(s) | JValue::Comment(s) | JValue::Raw(s), ClrType::ByteArray) => {
            return Ok(ClrValue::Bytes(crate::convert::from_base64_string(s)?));
        }
        (_, ClrType::ByteArray) => return Err(cannot()),
        (JValue::Float(f), ClrType::Decimal) => {
            return Ok(ClrValue::Decimal(double_to_decimal(*f)?));
        }
        (JValue::Single(f), ClrType::Decimal) => {
            return Ok(ClrValue::Decimal(single_to_decimal(*f)?));
        }
        (JValue::Decimal(d), ClrType::Decimal) => return Ok(ClrValue::Decimal(*d)),
        _ => {}
    }
    change_type(&value_to_clr(&v), target)
}

/// `Extensions.Convert<JToken, U>` as used by `token.Value<T>()` / `Value<T>(key)` /
/// `Values<T>()`: a missing token gives `default(T)` (null when `nullable`).
pub fn extensions_convert(
    token: Option<&JToken>,
    target: ClrType,
    nullable: bool,
) -> DotNetResult<ClrValue> {
    let Some(token) = token else {
        return Ok(if nullable {
            ClrValue::Null
        } else {
            default_value(target)
        });
    };
    let is_instance = match target {
        ClrType::JToken | ClrType::Object => true,
        ClrType::JObject => token.is_object(),
        ClrType::JArray => token.is_array(),
        ClrType::JProperty => token.is_property(),
        ClrType::JValue => token.is_value(),
        _ => false,
    };
    if is_instance {
        return Ok(ClrValue::Token(token.clone()));
    }
    let Some(v) = token.value() else {
        return Err(DotNetException::invalid_cast(format!(
            "Cannot cast Newtonsoft.Json.Linq.{} to Newtonsoft.Json.Linq.JToken.",
            token.clr_type_name()
        )));
    };
    let boxed = value_to_clr(&v);
    if nullable && boxed.is_null() {
        return Ok(ClrValue::Null);
    }
    match (&boxed, target) {
        (ClrValue::BigInteger(b), t) if crate::number::integral_range(t).is_some() => {
            let (min, max) = crate::number::integral_range(t).unwrap_or((0, 0));
            let i = b
                .to_i128()
                .filter(|i| *i >= min && *i <= max)
                .ok_or_else(|| crate::number::overflow_for(t.name()))?;
            change_type(&ClrValue::String(i.to_string()), t)
        }
        (ClrValue::BigInteger(b), ClrType::String) => Ok(ClrValue::String(b.to_string())),
        (ClrValue::DateTimeOffset(d), ClrType::DateTimeOffset) => Ok(ClrValue::DateTimeOffset(*d)),
        (ClrValue::Guid(g), ClrType::Guid) => Ok(ClrValue::Guid(*g)),
        (ClrValue::TimeSpan(t), ClrType::TimeSpan) => Ok(ClrValue::TimeSpan(*t)),
        (ClrValue::Uri(u), ClrType::Uri) => Ok(ClrValue::Uri(u.clone())),
        (ClrValue::Bytes(b), ClrType::ByteArray) => Ok(ClrValue::Bytes(b.clone())),
        (ClrValue::Double(f), ClrType::Decimal) => Ok(ClrValue::Decimal(double_to_decimal(*f)?)),
        _ => change_type(&boxed, target),
    }
}

/// `token.ToObject<T>()`: primitives as the explicit conversions; JToken types get a copy
/// (the serializer re-reads the token), with Newtonsoft's reader error for a wrong kind.
pub fn to_object(token: &JToken, target: ClrType, nullable: bool) -> DotNetResult<ClrValue> {
    let wrong = |what: &str, want: &str| {
        DotNetException::json_reader(format!(
            "Error reading {what} from JsonReader. Current JsonReader item is not {want}: {}. Path ''.",
            start_token_name(token)
        ))
    };
    match target {
        ClrType::JToken | ClrType::Object => Ok(ClrValue::Token(token.deep_clone())),
        ClrType::JObject if token.is_object() => Ok(ClrValue::Token(token.deep_clone())),
        ClrType::JObject => Err(wrong("JObject", "an object")),
        ClrType::JArray if token.is_array() => Ok(ClrValue::Token(token.deep_clone())),
        ClrType::JArray => Err(wrong("JArray", "an array")),
        ClrType::JValue if token.is_value() => Ok(ClrValue::Token(token.deep_clone())),
        ClrType::JProperty if token.is_property() => Ok(ClrValue::Token(token.deep_clone())),
        ClrType::JValue | ClrType::JProperty => Err(token.cast_error(target.name())),
        _ => explicit_convert(Some(token), target, nullable),
    }
}

fn start_token_name(token: &JToken) -> &'static str {
    match token.token_type() {
        JTokenType::Object => "StartObject",
        JTokenType::Array => "StartArray",
        JTokenType::Property => "PropertyName",
        t => t.name(),
    }
}

impl JToken {
    /// `(T)token` explicit conversion; see [`explicit_convert`].
    pub fn convert_explicit(&self, target: ClrType, nullable: bool) -> DotNetResult<ClrValue> {
        explicit_convert(Some(self), target, nullable)
    }
    /// `token.Value<T>()` on the token itself.
    pub fn value_as(&self, target: ClrType, nullable: bool) -> DotNetResult<ClrValue> {
        extensions_convert(Some(self), target, nullable)
    }
    /// `token.Value<T>(key)`: `this[key]` then `Extensions.Convert`.
    pub fn value_of_key(
        &self,
        key: &super::JKey,
        target: ClrType,
        nullable: bool,
    ) -> DotNetResult<ClrValue> {
        let child = self.get_key(key)?;
        extensions_convert(child.as_ref(), target, nullable)
    }
    /// `token.Values<T>()`: each child converted (a JObject yields its property values).
    pub fn values_as(&self, target: ClrType, nullable: bool) -> DotNetResult<Vec<ClrValue>> {
        // Newtonsoft: a JValue child converts itself; any other child yields its children.
        let mut out = Vec::new();
        for c in self.children() {
            if c.is_value() {
                out.push(extensions_convert(Some(&c), target, nullable)?);
            } else {
                for g in c.children() {
                    out.push(extensions_convert(Some(&g), target, nullable)?);
                }
            }
        }
        Ok(out)
    }
    /// `token.ToObject<T>()`.
    pub fn to_object(&self, target: ClrType, nullable: bool) -> DotNetResult<ClrValue> {
        to_object(self, target, nullable)
    }
    /// `JToken.FromObject(value)`.
    pub fn from_object(value: &ClrValue) -> DotNetResult<JToken> {
        from_clr(value)
    }
    /// The implicit conversion of a CLR primitive to a JValue (`obj["a"] = 5`).
    pub fn from_primitive(value: &ClrValue) -> DotNetResult<JToken> {
        match value {
            ClrValue::Token(t) => Ok(t.clone()),
            other => Ok(JToken::new_value(value_from_clr(other)?)),
        }
    }
    /// `JValue.ToString(format)` (IFormattable, invariant culture): formats the boxed value.
    pub fn value_to_string_format(&self, format: &str) -> DotNetResult<String> {
        match self.value() {
            Some(v) => crate::string::format_value(&value_to_clr(&v), format),
            None => Err(self.cast_error("JValue")),
        }
    }

    /// `JValue.Value` as a CLR value (None for containers).
    pub fn boxed_value(&self) -> Option<ClrValue> {
        self.value().map(|v| value_to_clr(&v))
    }
}
