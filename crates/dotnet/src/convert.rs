//! `System.Convert`.

use crate::error::{DotNetException, DotNetResult};

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `Convert.ToBase64String(bytes)`.
pub fn to_base64_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            B64[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            B64[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

fn bad_base64() -> DotNetException {
    DotNetException::format(
        "The input is not a valid Base-64 string as it contains a non-base 64 character, more than two padding characters, or an illegal character among the padding characters.",
    )
}

/// `Convert.FromBase64String(s)`: whitespace (space, tab, CR, LF) ignored; length (without
/// whitespace) must be a multiple of 4; at most two '=' at the end.
pub fn from_base64_string(s: &str) -> DotNetResult<Vec<u8>> {
    let chars: Vec<u8> = s
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .collect();
    if chars.len() % 4 != 0 {
        return Err(DotNetException::format(
            "The input is not a valid Base-64 string as it is not a multiple of 4 characters long, contains a non-base 64 character, more than two padding characters, or an illegal character among the padding characters.",
        ));
    }
    let pad = chars.iter().rev().take_while(|&&b| b == b'=').count();
    if pad > 2 {
        return Err(bad_base64());
    }
    let mut out = Vec::with_capacity(chars.len() / 4 * 3);
    let body = &chars[..chars.len() - pad];
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in body {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(bad_base64()),
        } as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        assert_eq!(to_base64_string(b"hello"), "aGVsbG8=");
        assert_eq!(to_base64_string(b""), "");
        assert_eq!(to_base64_string(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(from_base64_string("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(from_base64_string(" aGVs\nbG8= ").unwrap(), b"hello");
        assert!(from_base64_string("aGVsbG8").is_err());
        assert!(from_base64_string("aGV$bG8=").is_err());
    }
}

use crate::clr::{ClrType, ClrValue};
use crate::number::{NumberStyles, format_decimal, format_double, format_single, overflow_for};
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

fn invalid_cast(from: &str, to: ClrType) -> DotNetException {
    DotNetException::invalid_cast(format!("Invalid cast from '{from}' to '{}'.", to.name()))
}

/// .NET's `Convert.ToInt32(double)`-style rounding: half to even, then range check.
pub fn double_to_integral(v: f64, min: i128, max: i128, type_name: &str) -> DotNetResult<i128> {
    if v.is_nan() {
        return Err(overflow_for(type_name));
    }
    let r = v.round_ties_even();
    if r < min as f64 || r > max as f64 || !r.is_finite() {
        return Err(overflow_for(type_name));
    }
    let i = r as i128;
    if i < min || i > max {
        return Err(overflow_for(type_name));
    }
    Ok(i)
}

/// `new decimal(double)` / `Convert.ToDecimal(double)`: 15 significant digits.
pub fn double_to_decimal(v: f64) -> DotNetResult<Decimal> {
    if !v.is_finite() || v.abs() >= 7.922_816_251_426_434e28 {
        return Err(overflow_for("Decimal"));
    }
    significant_to_decimal(v, 15)
}

/// `(decimal)float` / `Convert.ToDecimal(float)`: 7 significant digits.
pub fn single_to_decimal(v: f32) -> DotNetResult<Decimal> {
    if !v.is_finite() || v.abs() >= 7.922_816e28 {
        return Err(overflow_for("Decimal"));
    }
    significant_to_decimal(v as f64, 7)
}

/// A finite value within decimal's range, rounded to `digits` significant digits (f32 → f64
/// is exact, so a float rounds the same either way).
fn significant_to_decimal(v: f64, digits: usize) -> DotNetResult<Decimal> {
    if v == 0.0 {
        return Ok(Decimal::ZERO);
    }
    let s = format!("{v:.*e}", digits - 1);
    let d = crate::number::parse_decimal(&s, NumberStyles::FLOAT)
        .map_err(|_| overflow_for("Decimal"))?;
    Ok(d.normalize())
}

fn to_i128(v: &ClrValue) -> Option<i128> {
    Some(match v {
        ClrValue::Byte(x) => *x as i128,
        ClrValue::SByte(x) => *x as i128,
        ClrValue::Int16(x) => *x as i128,
        ClrValue::UInt16(x) => *x as i128,
        ClrValue::Int32(x) => *x as i128,
        ClrValue::UInt32(x) => *x as i128,
        ClrValue::Int64(x) => *x as i128,
        ClrValue::UInt64(x) => *x as i128,
        _ => return None,
    })
}

fn make_integral(v: i128, t: ClrType) -> ClrValue {
    match t {
        ClrType::Byte => ClrValue::Byte(v as u8),
        ClrType::SByte => ClrValue::SByte(v as i8),
        ClrType::Int16 => ClrValue::Int16(v as i16),
        ClrType::UInt16 => ClrValue::UInt16(v as u16),
        ClrType::Int32 => ClrValue::Int32(v as i32),
        ClrType::UInt32 => ClrValue::UInt32(v as u32),
        ClrType::Int64 => ClrValue::Int64(v as i64),
        ClrType::UInt64 => ClrValue::UInt64(v as u64),
        ClrType::Char => ClrValue::Char(v as u16),
        _ => ClrValue::Int64(v as i64),
    }
}

/// `IConvertible.ToString(InvariantCulture)` of a value (`Convert.ToString(value)`).
pub fn to_string_invariant(v: &ClrValue) -> Option<String> {
    Some(match v {
        ClrValue::Null => return None,
        ClrValue::Boolean(b) => if *b { "True" } else { "False" }.to_string(),
        ClrValue::Char(c) => String::from_utf16_lossy(&[*c]),
        ClrValue::Single(f) => format_single(*f),
        ClrValue::Double(f) => format_double(*f),
        ClrValue::Decimal(d) => format_decimal(*d),
        ClrValue::String(s) | ClrValue::Uri(s) => s.clone(),
        ClrValue::DateTime(d) => crate::datetime_format::format_date_time_default(*d),
        ClrValue::DateTimeOffset(d) => crate::datetime_format::format_date_time_offset_default(*d),
        ClrValue::TimeSpan(t) => crate::datetime_format::format_timespan_c(*t),
        ClrValue::Guid(g) => g.to_string_d(),
        ClrValue::Bytes(_) => "System.Byte[]".to_string(),
        ClrValue::BigInteger(b) => b.to_string(),
        ClrValue::Token(t) => t.to_string_default(),
        ClrValue::List(_) => "System.Collections.Generic.List`1[System.Object]".to_string(),
        ClrValue::Dictionary(_) => {
            "System.Collections.Generic.Dictionary`2[System.String,System.Object]".to_string()
        }
        ClrValue::Anonymous(fields) => {
            let parts: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{k} = {}", to_string_invariant(v).unwrap_or_default()))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        other => to_i128(other).map(|i| i.to_string()).unwrap_or_default(),
    })
}

fn is_iconvertible(v: &ClrValue) -> bool {
    !matches!(
        v,
        ClrValue::Guid(_)
            | ClrValue::TimeSpan(_)
            | ClrValue::DateTimeOffset(_)
            | ClrValue::Uri(_)
            | ClrValue::Bytes(_)
            | ClrValue::BigInteger(_)
            | ClrValue::Token(_)
            | ClrValue::List(_)
            | ClrValue::Dictionary(_)
            | ClrValue::Anonymous(_)
    )
}

fn same_type(v: &ClrValue, t: ClrType) -> bool {
    matches!(
        (v, t),
        (ClrValue::Boolean(_), ClrType::Boolean)
            | (ClrValue::Byte(_), ClrType::Byte)
            | (ClrValue::SByte(_), ClrType::SByte)
            | (ClrValue::Char(_), ClrType::Char)
            | (ClrValue::Int16(_), ClrType::Int16)
            | (ClrValue::UInt16(_), ClrType::UInt16)
            | (ClrValue::Int32(_), ClrType::Int32)
            | (ClrValue::UInt32(_), ClrType::UInt32)
            | (ClrValue::Int64(_), ClrType::Int64)
            | (ClrValue::UInt64(_), ClrType::UInt64)
            | (ClrValue::Single(_), ClrType::Single)
            | (ClrValue::Double(_), ClrType::Double)
            | (ClrValue::Decimal(_), ClrType::Decimal)
            | (ClrValue::String(_), ClrType::String)
            | (ClrValue::DateTime(_), ClrType::DateTime)
            | (ClrValue::DateTimeOffset(_), ClrType::DateTimeOffset)
            | (ClrValue::TimeSpan(_), ClrType::TimeSpan)
            | (ClrValue::Guid(_), ClrType::Guid)
            | (ClrValue::Uri(_), ClrType::Uri)
            | (ClrValue::Bytes(_), ClrType::ByteArray)
            | (_, ClrType::Object)
    )
}

/// `Convert.ChangeType(value, type, CultureInfo.InvariantCulture)` and the `Convert.ToXxx`
/// family (`Convert.ToInt32(object)` etc.), with .NET's exceptions.
pub fn change_type(value: &ClrValue, target: ClrType) -> DotNetResult<ClrValue> {
    if same_type(value, target) {
        return Ok(value.clone());
    }
    if value.is_null() {
        if target.is_value_type() {
            return Err(DotNetException::invalid_cast(
                "Null object cannot be converted to a value type.",
            ));
        }
        return Ok(ClrValue::Null);
    }
    if let ClrValue::Token(t) = value {
        let ok = match target {
            ClrType::JToken => true,
            ClrType::JObject => t.is_object(),
            ClrType::JArray => t.is_array(),
            ClrType::JProperty => t.is_property(),
            ClrType::JValue => t.is_value(),
            _ => false,
        };
        if ok {
            return Ok(value.clone());
        }
    }
    if !is_iconvertible(value) {
        return Err(DotNetException::invalid_cast(
            "Object must implement IConvertible.",
        ));
    }
    let from = value.type_name();
    if target == ClrType::String {
        return Ok(to_string_invariant(value)
            .map(ClrValue::String)
            .unwrap_or(ClrValue::Null));
    }
    if let Some((min, max)) = crate::number::integral_range(target) {
        let name = target.name();
        let i = match value {
            ClrValue::Boolean(b) if target != ClrType::Char => *b as i128,
            ClrValue::Char(c) => *c as i128,
            ClrValue::Single(f) if target != ClrType::Char => {
                double_to_integral(*f as f64, min, max, name)?
            }
            ClrValue::Double(f) if target != ClrType::Char => {
                double_to_integral(*f, min, max, name)?
            }
            ClrValue::Decimal(d) if target != ClrType::Char => {
                let r = d
                    .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointNearestEven);
                r.to_i128().ok_or_else(|| overflow_for(name))?
            }
            ClrValue::String(s) => {
                if target == ClrType::Char {
                    let units: Vec<u16> = s.encode_utf16().collect();
                    if units.len() != 1 {
                        return Err(DotNetException::format(
                            "String must be exactly one character long.",
                        ));
                    }
                    units[0] as i128
                } else {
                    crate::number::parse_integer(s, NumberStyles::INTEGER, min, max, name)?
                }
            }
            v => match to_i128(v) {
                Some(i) => i,
                None => return Err(invalid_cast(from, target)),
            },
        };
        if i < min || i > max {
            return Err(overflow_for(name));
        }
        return Ok(make_integral(i, target));
    }
    match target {
        ClrType::Boolean => Ok(ClrValue::Boolean(match value {
            ClrValue::String(s) => crate::number::parse_bool(s)?,
            ClrValue::Single(f) => *f != 0.0,
            ClrValue::Double(f) => *f != 0.0,
            ClrValue::Decimal(d) => !d.is_zero(),
            v => match to_i128(v) {
                Some(i) => i != 0,
                None => return Err(invalid_cast(from, target)),
            },
        })),
        ClrType::Double | ClrType::Single => {
            let d = match value {
                ClrValue::String(s) => crate::number::parse_double_default(s)?,
                ClrValue::Boolean(b) => *b as i32 as f64,
                ClrValue::Single(f) => *f as f64,
                ClrValue::Double(f) => *f,
                ClrValue::Decimal(d) => d.to_f64().unwrap_or(0.0),
                v => match to_i128(v) {
                    Some(i) => i as f64,
                    None => return Err(invalid_cast(from, target)),
                },
            };
            if target == ClrType::Single {
                let f = match value {
                    ClrValue::String(s) => {
                        crate::number::parse_single(s, NumberStyles::FLOAT_THOUSANDS)?
                    }
                    _ => d as f32,
                };
                Ok(ClrValue::Single(f))
            } else {
                Ok(ClrValue::Double(d))
            }
        }
        ClrType::Decimal => Ok(ClrValue::Decimal(match value {
            ClrValue::String(s) => crate::number::parse_decimal(s, NumberStyles::NUMBER)?,
            ClrValue::Boolean(b) => Decimal::from(*b as i32),
            ClrValue::Single(f) => single_to_decimal(*f)?,
            ClrValue::Double(f) => double_to_decimal(*f)?,
            v => match to_i128(v) {
                Some(i) => Decimal::from_i128(i).ok_or_else(|| overflow_for("Decimal"))?,
                None => return Err(invalid_cast(from, target)),
            },
        })),
        ClrType::DateTime => match value {
            ClrValue::String(s) => Ok(ClrValue::DateTime(crate::datetime_format::parse_date_time(
                s,
            )?)),
            _ => Err(invalid_cast(from, target)),
        },
        _ => Err(DotNetException::invalid_cast(format!(
            "Invalid cast from '{}' to '{}'.",
            full_name_of(value),
            target.full_name()
        ))),
    }
}

fn full_name_of(v: &ClrValue) -> String {
    match v {
        ClrValue::Token(t) => format!("Newtonsoft.Json.Linq.{}", t.clr_type_name()),
        other => format!("System.{}", other.type_name()),
    }
}

/// The default value of a type (`default(T)`): zero, false, MinValue, or null.
pub fn default_value(t: ClrType) -> ClrValue {
    match t {
        ClrType::Boolean => ClrValue::Boolean(false),
        ClrType::Byte => ClrValue::Byte(0),
        ClrType::SByte => ClrValue::SByte(0),
        ClrType::Char => ClrValue::Char(0),
        ClrType::Int16 => ClrValue::Int16(0),
        ClrType::UInt16 => ClrValue::UInt16(0),
        ClrType::Int32 => ClrValue::Int32(0),
        ClrType::UInt32 => ClrValue::UInt32(0),
        ClrType::Int64 => ClrValue::Int64(0),
        ClrType::UInt64 => ClrValue::UInt64(0),
        ClrType::Single => ClrValue::Single(0.0),
        ClrType::Double => ClrValue::Double(0.0),
        ClrType::Decimal => ClrValue::Decimal(Decimal::ZERO),
        ClrType::DateTime => ClrValue::DateTime(crate::datetime::DateTime::MIN_VALUE),
        ClrType::DateTimeOffset => {
            ClrValue::DateTimeOffset(crate::datetime::DateTimeOffset::MIN_VALUE)
        }
        ClrType::TimeSpan => ClrValue::TimeSpan(crate::datetime::TimeSpan::ZERO),
        ClrType::Guid => ClrValue::Guid(crate::guid::Guid::EMPTY),
        _ => ClrValue::Null,
    }
}

#[cfg(test)]
mod change_type_tests {
    use super::*;
    use crate::error::ExceptionKind;

    #[test]
    fn convert_rounds_half_to_even() {
        assert_eq!(
            change_type(&ClrValue::Double(2.5), ClrType::Int32).unwrap(),
            ClrValue::Int32(2)
        );
        assert_eq!(
            change_type(&ClrValue::Double(3.5), ClrType::Int32).unwrap(),
            ClrValue::Int32(4)
        );
        assert_eq!(
            change_type(&ClrValue::Double(-2.5), ClrType::Int32).unwrap(),
            ClrValue::Int32(-2)
        );
        assert_eq!(
            change_type(&ClrValue::Double(3e9), ClrType::Int32)
                .unwrap_err()
                .kind,
            ExceptionKind::OverflowException
        );
        assert_eq!(
            change_type(&ClrValue::Double(f64::NAN), ClrType::Int64)
                .unwrap_err()
                .kind,
            ExceptionKind::OverflowException
        );
    }

    #[test]
    fn convert_from_strings_and_bools() {
        assert_eq!(
            change_type(&ClrValue::String("42".into()), ClrType::Int32).unwrap(),
            ClrValue::Int32(42)
        );
        assert_eq!(
            change_type(&ClrValue::String("4.2".into()), ClrType::Int32)
                .unwrap_err()
                .kind,
            ExceptionKind::FormatException
        );
        assert_eq!(
            change_type(&ClrValue::Boolean(true), ClrType::Int32).unwrap(),
            ClrValue::Int32(1)
        );
        assert_eq!(
            change_type(&ClrValue::Int64(0), ClrType::Boolean).unwrap(),
            ClrValue::Boolean(false)
        );
        assert_eq!(
            change_type(&ClrValue::String("True".into()), ClrType::Boolean).unwrap(),
            ClrValue::Boolean(true)
        );
        assert_eq!(
            change_type(&ClrValue::Int64(5), ClrType::String).unwrap(),
            ClrValue::String("5".into())
        );
        assert_eq!(
            change_type(&ClrValue::Boolean(false), ClrType::String).unwrap(),
            ClrValue::String("False".into())
        );
        let e = change_type(&ClrValue::Boolean(true), ClrType::DateTime).unwrap_err();
        assert_eq!(e.message, "Invalid cast from 'Boolean' to 'DateTime'.");
        let e = change_type(&ClrValue::Null, ClrType::Int32).unwrap_err();
        assert_eq!(
            e.message,
            "Null object cannot be converted to a value type."
        );
        assert_eq!(
            change_type(&ClrValue::Null, ClrType::String).unwrap(),
            ClrValue::Null
        );
        assert_eq!(
            change_type(&ClrValue::Int32(300), ClrType::Byte)
                .unwrap_err()
                .message,
            "Value was either too large or too small for an unsigned byte."
        );
        assert_eq!(
            change_type(&ClrValue::Double(0.1), ClrType::Decimal).unwrap(),
            ClrValue::Decimal(Decimal::new(1, 1))
        );
        assert_eq!(
            change_type(&ClrValue::String("ab".into()), ClrType::Char)
                .unwrap_err()
                .kind,
            ExceptionKind::FormatException
        );
    }
}

/// `Convert.ToXxx(value)`: like [`change_type`], except that null gives the type's default
/// (`Convert.ToInt32(null)` is 0, `Convert.ToString((object)null)` is "").
pub fn convert_to(value: &ClrValue, target: ClrType) -> DotNetResult<ClrValue> {
    if value.is_null() {
        return Ok(match target {
            ClrType::String => ClrValue::String(String::new()),
            t => default_value(t),
        });
    }
    change_type(value, target)
}

/// `Convert.ToInt32(string, fromBase)` / `ToInt64` / `ToInt16` / `ToByte` with base 2, 8, 10
/// or 16 (non-decimal bases read two's complement of the target width).
pub fn to_integer_from_base(s: &str, from_base: i32, target: ClrType) -> DotNetResult<i128> {
    let (min, max) = crate::number::integral_range(target)
        .ok_or_else(|| DotNetException::argument("Invalid target type for a base conversion."))?;
    if ![2, 8, 10, 16].contains(&from_base) {
        return Err(DotNetException::argument(
            "Invalid Base. (Parameter 'fromBase')",
        ));
    }
    if from_base == 10 {
        return crate::number::parse_integer(s, NumberStyles::INTEGER, min, max, target.name());
    }
    let mut t = s;
    if from_base == 16 {
        t = t
            .strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .unwrap_or(t);
    }
    if t.is_empty() {
        return Err(DotNetException::out_of_range(
            "value",
            "Index was out of range. Must be non-negative and less than the size of the collection.",
        ));
    }
    let bits = match target {
        ClrType::Byte | ClrType::SByte => 8,
        ClrType::Int16 | ClrType::UInt16 => 16,
        ClrType::Int32 | ClrType::UInt32 => 32,
        _ => 64,
    };
    let v = u128::from_str_radix(t, from_base as u32).map_err(|_| {
        if t.chars().all(|c| c.is_digit(from_base as u32)) {
            crate::number::overflow_for(target.name())
        } else {
            DotNetException::format("Could not find any recognizable digits.")
        }
    })?;
    if v >> bits != 0 {
        return Err(crate::number::overflow_for(target.name()));
    }
    let signed = if min < 0 && (v >> (bits - 1)) & 1 == 1 {
        v as i128 - (1i128 << bits)
    } else {
        v as i128
    };
    Ok(signed)
}

/// `Convert.ToString(long value, int toBase)`: two's complement for negative values in
/// bases 2, 8 and 16.
pub fn to_string_in_base(v: i64, bits: u32, to_base: i32) -> DotNetResult<String> {
    let mask: u64 = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let u = (v as u64) & mask;
    Ok(match to_base {
        2 => format!("{u:b}"),
        8 => format!("{u:o}"),
        10 => v.to_string(),
        16 => format!("{u:x}"),
        _ => {
            return Err(DotNetException::argument(
                "Invalid Base. (Parameter 'toBase')",
            ));
        }
    })
}

#[cfg(test)]
mod convert_to_tests {
    use super::*;

    #[test]
    fn null_gives_defaults_and_bases_work() {
        assert_eq!(
            convert_to(&ClrValue::Null, ClrType::Int32).unwrap(),
            ClrValue::Int32(0)
        );
        assert_eq!(
            convert_to(&ClrValue::Null, ClrType::String).unwrap(),
            ClrValue::String(String::new())
        );
        assert_eq!(
            convert_to(&ClrValue::Null, ClrType::Boolean).unwrap(),
            ClrValue::Boolean(false)
        );
        assert_eq!(to_integer_from_base("ff", 16, ClrType::Int32).unwrap(), 255);
        assert_eq!(
            to_integer_from_base("0xFFFFFFFF", 16, ClrType::Int32).unwrap(),
            -1
        );
        assert_eq!(to_integer_from_base("101", 2, ClrType::Int32).unwrap(), 5);
        assert!(to_integer_from_base("12", 3, ClrType::Int32).is_err());
        assert_eq!(to_string_in_base(255, 32, 16).unwrap(), "ff");
        assert_eq!(to_string_in_base(-1, 32, 2).unwrap(), "1".repeat(32));
    }
}

/// `Convert.ToBase64String(bytes, Base64FormattingOptions.InsertLineBreaks)`: CRLF every 76
/// characters.
pub fn to_base64_string_with_line_breaks(bytes: &[u8]) -> String {
    let s = to_base64_string(bytes);
    let lines: Vec<&str> = s
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    lines.join("\r\n")
}

/// `Convert.ToHexString(bytes)` (.NET 5+): uppercase, no separators.
pub fn to_hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// `Convert.FromHexString(s)` (.NET 5+).
pub fn from_hex_string(s: &str) -> DotNetResult<Vec<u8>> {
    if s.len() % 2 != 0 {
        return Err(DotNetException::format(
            "The input is not a valid hex string as its length is not a multiple of 2.",
        ));
    }
    s.as_bytes()
        .chunks(2)
        .map(|c| {
            std::str::from_utf8(c)
                .ok()
                .and_then(|t| u8::from_str_radix(t, 16).ok())
                .ok_or_else(|| {
                    DotNetException::format(
                        "The input is not a valid hex string as it contains a non-hex character.",
                    )
                })
        })
        .collect()
}

/// `T.Parse(s)` for any integral CLR type with the given styles.
pub fn parse_integral(s: &str, target: ClrType, styles: NumberStyles) -> DotNetResult<ClrValue> {
    let (min, max) = crate::number::integral_range(target).ok_or_else(|| {
        DotNetException::argument(format!("{} is not an integral type.", target.name()))
    })?;
    let v = crate::number::parse_integer(s, styles, min, max, target.name())?;
    Ok(make_integral(v, target))
}

#[cfg(test)]
mod extra_tests {
    use super::*;

    #[test]
    fn hex_base64_lines_and_integral_parse() {
        assert_eq!(to_hex_string(&[0xAB, 0x01]), "AB01");
        assert_eq!(from_hex_string("ab01").unwrap(), vec![0xAB, 0x01]);
        assert!(from_hex_string("abc").is_err());
        assert!(from_hex_string("zz").is_err());
        let long = to_base64_string_with_line_breaks(&[0u8; 60]);
        assert_eq!(
            long.split("\r\n").map(str::len).collect::<Vec<_>>(),
            vec![76, 4]
        );
        assert_eq!(
            parse_integral("255", ClrType::Byte, NumberStyles::INTEGER).unwrap(),
            ClrValue::Byte(255)
        );
        assert_eq!(
            parse_integral("256", ClrType::Byte, NumberStyles::INTEGER)
                .unwrap_err()
                .kind,
            crate::error::ExceptionKind::OverflowException
        );
        assert_eq!(
            parse_integral("-1", ClrType::UInt32, NumberStyles::INTEGER)
                .unwrap_err()
                .kind,
            crate::error::ExceptionKind::OverflowException
        );
    }
}
