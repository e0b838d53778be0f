//! Writing tokens as JSON text the way Newtonsoft's `JsonTextWriter` does.

use super::{JToken, JValue, View};
use crate::datetime::{DateTime, DateTimeKind, DateTimeOffset, TICKS_PER_SECOND};
use crate::number::{format_decimal, format_double, format_single};

/// `Newtonsoft.Json.Formatting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formatting {
    None = 0,
    Indented = 1,
}

/// JSON string literal with Newtonsoft's default escaping (`JsonConvert.ToString(string)`).
pub fn quote_json_string(s: &str, quote: char, out: &mut String) {
    out.push(quote);
    for c in s.chars() {
        match c {
            '"' if quote == '"' => out.push_str("\\\""),
            '\'' if quote == '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{85}' || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// `JsonConvert.ToString(string)`: the JSON string literal with Newtonsoft's escaping.
pub fn json_string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_json_string(s, '"', &mut out);
    out
}

/// Newtonsoft's `EnsureDecimalPlace`: integral floats get ".0".
fn ensure_decimal_place(text: String) -> String {
    if text.contains('.')
        || text.contains('E')
        || text.contains('e')
        || text == "NaN"
        || text.ends_with("Infinity")
    {
        text
    } else {
        text + ".0"
    }
}

fn push_2(out: &mut String, v: i32) {
    out.push_str(&format!("{v:02}"));
}

/// `yyyy-MM-ddTHH:mm:ss[.FFFFFFF]` of clock ticks.
pub(crate) fn iso_clock(dt: DateTime, out: &mut String) {
    let (y, m, d) = dt.ymd();
    out.push_str(&format!("{y:04}-"));
    push_2(out, m);
    out.push('-');
    push_2(out, d);
    out.push('T');
    push_2(out, dt.hour());
    out.push(':');
    push_2(out, dt.minute());
    out.push(':');
    push_2(out, dt.second());
    let frac = dt.ticks() % TICKS_PER_SECOND;
    if frac != 0 {
        let s = format!("{frac:07}");
        out.push('.');
        out.push_str(s.trim_end_matches('0'));
    }
}

fn push_offset(out: &mut String, minutes: i32) {
    out.push(if minutes < 0 { '-' } else { '+' });
    let a = minutes.abs();
    push_2(out, a / 60);
    out.push(':');
    push_2(out, a % 60);
}

/// Newtonsoft's ISO date text for a DateTime (RoundtripKind: Z for Utc, +00:00 for Local
/// since the gateway runs in UTC, nothing for Unspecified).
pub fn iso_date_time(dt: DateTime) -> String {
    let mut out = String::new();
    iso_clock(dt, &mut out);
    match dt.kind() {
        DateTimeKind::Utc => out.push('Z'),
        DateTimeKind::Local => push_offset(&mut out, 0),
        DateTimeKind::Unspecified => {}
    }
    out
}

pub fn iso_date_time_offset(dto: DateTimeOffset) -> String {
    let mut out = String::new();
    iso_clock(dto.date_time(), &mut out);
    push_offset(&mut out, dto.offset_minutes());
    out
}

/// The JSON text of a value.
pub(crate) fn write_value(v: &JValue, out: &mut String) {
    match v {
        JValue::Null => out.push_str("null"),
        JValue::Undefined => out.push_str("undefined"),
        JValue::Integer(i) => out.push_str(&i.to_string()),
        JValue::BigInteger(b) => out.push_str(&b.to_string()),
        JValue::Float(f) => {
            let t = ensure_decimal_place(format_double(*f));
            if f.is_nan() || f.is_infinite() {
                quote_json_string(&t, '"', out);
            } else {
                out.push_str(&t);
            }
        }
        JValue::Single(f) => {
            let t = ensure_decimal_place(format_single(*f));
            if f.is_nan() || f.is_infinite() {
                quote_json_string(&t, '"', out);
            } else {
                out.push_str(&t);
            }
        }
        JValue::Decimal(d) => out.push_str(&ensure_decimal_place(format_decimal(*d))),
        JValue::String(s) => quote_json_string(s, '"', out),
        JValue::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        JValue::Date(d) => {
            out.push('"');
            out.push_str(&iso_date_time(*d));
            out.push('"');
        }
        JValue::DateOffset(d) => {
            out.push('"');
            out.push_str(&iso_date_time_offset(*d));
            out.push('"');
        }
        JValue::Guid(g) => {
            out.push('"');
            out.push_str(&g.to_string_d());
            out.push('"');
        }
        JValue::Uri(u) => quote_json_string(u, '"', out),
        JValue::TimeSpan(t) => {
            out.push('"');
            out.push_str(&crate::datetime_format::format_timespan_c(*t));
            out.push('"');
        }
        JValue::Bytes(b) => {
            out.push('"');
            out.push_str(&crate::convert::to_base64_string(b));
            out.push('"');
        }
        JValue::Raw(r) => out.push_str(r),
        JValue::Comment(c) => {
            out.push_str("/*");
            out.push_str(c);
            out.push_str("*/");
        }
    }
}

/// `JValue.ToString()`: the value's own `ToString()` (invariant culture); null → "".
pub fn value_to_plain_string(v: &JValue) -> String {
    match v {
        JValue::Null | JValue::Undefined => String::new(),
        JValue::Integer(i) => i.to_string(),
        JValue::BigInteger(b) => b.to_string(),
        JValue::Float(f) => format_double(*f),
        JValue::Single(f) => format_single(*f),
        JValue::Decimal(d) => format_decimal(*d),
        JValue::String(s) | JValue::Uri(s) | JValue::Raw(s) | JValue::Comment(s) => s.clone(),
        JValue::Boolean(b) => if *b { "True" } else { "False" }.to_string(),
        JValue::Date(d) => crate::datetime_format::format_date_time_default(*d),
        JValue::DateOffset(d) => crate::datetime_format::format_date_time_offset_default(*d),
        JValue::Guid(g) => g.to_string_d(),
        JValue::TimeSpan(t) => crate::datetime_format::format_timespan_c(*t),
        JValue::Bytes(_) => "System.Byte[]".to_string(),
    }
}

/// `Environment.NewLine` of the gateway. APIM's managed gateway runs on Windows (its stack
/// traces end lines with CRLF), so indented JSON and `AppendLine` use "\r\n".
pub const NEW_LINE: &str = "\r\n";

fn indent(out: &mut String, level: usize, nl: &str) {
    out.push_str(nl);
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn write_inner(token: &JToken, formatting: Formatting, level: usize, nl: &str, out: &mut String) {
    token.with_view(|view| match view {
        View::Value(v) => write_value(v, out),
        View::Property(name, value) => {
            quote_json_string(name, '"', out);
            out.push(':');
            if formatting == Formatting::Indented {
                out.push(' ');
            }
            write_inner(value, formatting, level, nl, out);
        }
        View::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if formatting == Formatting::Indented {
                    indent(out, level + 1, nl);
                }
                write_inner(item, formatting, level + 1, nl, out);
            }
            if formatting == Formatting::Indented && !items.is_empty() {
                indent(out, level, nl);
            }
            out.push(']');
        }
        View::Object(props) => {
            out.push('{');
            for (i, p) in props.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if formatting == Formatting::Indented {
                    indent(out, level + 1, nl);
                }
                write_inner(p, formatting, level + 1, nl, out);
            }
            if formatting == Formatting::Indented && !props.is_empty() {
                indent(out, level, nl);
            }
            out.push('}');
        }
    })
}

pub(crate) fn write_token(token: &JToken, formatting: Formatting, nl: &str, out: &mut String) {
    write_inner(token, formatting, 0, nl, out);
}
