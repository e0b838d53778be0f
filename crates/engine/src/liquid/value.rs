//! Liquid values: what JSON bodies and the `context` object become inside a template.

use std::fmt::Write;

use rust_decimal::Decimal;
use serde_json::Value as Json;

#[derive(Debug, Clone, PartialEq)]
pub enum LValue {
    Nil,
    Bool(bool),
    Int(i64),
    /// JSON reals and `Abs`/`AtLeast`/`AtMost` results (.NET `double`).
    Float(f64),
    /// Results of arithmetic on reals (.NET `decimal`, as DotLiquid computes them).
    Decimal(Decimal),
    Str(String),
    Array(Vec<LValue>),
    Object(Vec<(String, LValue)>),
}

impl From<&Json> for LValue {
    fn from(j: &Json) -> Self {
        match j {
            Json::Null => LValue::Nil,
            Json::Bool(b) => LValue::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => LValue::Int(i),
                None => LValue::Float(n.as_f64().unwrap_or(0.0)),
            },
            Json::String(s) => LValue::Str(s.clone()),
            Json::Array(a) => LValue::Array(a.iter().map(LValue::from).collect()),
            Json::Object(o) => LValue::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), LValue::from(v)))
                    .collect(),
            ),
        }
    }
}

/// .NET `double.ToString()` (shortest round-trip form; exponent for very large/small values).
pub fn format_double(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "∞".into() } else { "-∞".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let abs = f.abs();
    if (1e-5..1e15).contains(&abs) {
        let s = format!("{f}");
        return s;
    }
    // Scientific: .NET prints E+XX / E-XX with at least two exponent digits.
    let s = format!("{f:e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut out = String::from(mant);
    let _ = write!(out, "E{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    out
}

/// `Convert.ToDecimal(double)`: 15 significant digits, trailing zeros dropped.
pub fn double_to_decimal(f: f64) -> Option<Decimal> {
    if !f.is_finite() {
        return None;
    }
    let s = format!("{f:.14e}");
    Decimal::from_scientific(&s).ok().map(|d| d.normalize())
}

impl LValue {
    pub fn is_truthy(&self) -> bool {
        !matches!(self, LValue::Nil | LValue::Bool(false))
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, LValue::Nil)
    }

    /// Empty string, array or object (`== empty`).
    pub fn is_empty_value(&self) -> bool {
        match self {
            LValue::Str(s) => s.is_empty(),
            LValue::Array(a) => a.is_empty(),
            LValue::Object(o) => o.is_empty(),
            _ => false,
        }
    }

    /// `blank`: nil, false, empty, or whitespace-only.
    pub fn is_blank(&self) -> bool {
        match self {
            LValue::Nil | LValue::Bool(false) => true,
            LValue::Str(s) => s.trim().is_empty(),
            other => other.is_empty_value(),
        }
    }

    /// How the value renders in `{{ }}`.
    pub fn render(&self) -> String {
        let mut s = String::new();
        self.render_into(&mut s);
        s
    }

    pub fn render_into(&self, out: &mut String) {
        match self {
            LValue::Nil => {}
            LValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            LValue::Int(i) => {
                let _ = write!(out, "{i}");
            }
            LValue::Float(f) => out.push_str(&format_double(*f)),
            LValue::Decimal(d) => {
                let _ = write!(out, "{d}");
            }
            LValue::Str(s) => out.push_str(s),
            LValue::Array(a) => a.iter().for_each(|v| v.render_into(out)),
            LValue::Object(_) => out.push_str(&self.to_json().to_string()),
        }
    }

    pub fn to_json(&self) -> Json {
        match self {
            LValue::Nil => Json::Null,
            LValue::Bool(b) => Json::Bool(*b),
            LValue::Int(i) => Json::from(*i),
            LValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            LValue::Decimal(d) => d
                .to_string()
                .parse::<serde_json::Number>()
                .map(Json::Number)
                .unwrap_or(Json::Null),
            LValue::Str(s) => Json::String(s.clone()),
            LValue::Array(a) => Json::Array(a.iter().map(LValue::to_json).collect()),
            LValue::Object(o) => {
                Json::Object(o.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }

    /// Member lookup: object keys (exact), and `size`/`first`/`last` on arrays and strings.
    pub fn member(&self, name: &str) -> LValue {
        match self {
            LValue::Object(o) => match o.iter().find(|(k, _)| k == name) {
                Some((_, v)) => v.clone(),
                None if name == "size" || name == "Size" => LValue::Int(o.len() as i64),
                None => LValue::Nil,
            },
            LValue::Array(a) => match name {
                "size" | "Size" => LValue::Int(a.len() as i64),
                "first" | "First" => a.first().cloned().unwrap_or(LValue::Nil),
                "last" | "Last" => a.last().cloned().unwrap_or(LValue::Nil),
                _ => LValue::Nil,
            },
            LValue::Str(s) => match name {
                "size" | "Size" | "Length" => LValue::Int(s.encode_utf16().count() as i64),
                _ => LValue::Nil,
            },
            _ => LValue::Nil,
        }
    }

    /// `x[i]` / `x["key"]`.
    pub fn index(&self, key: &LValue) -> LValue {
        match (self, key) {
            (LValue::Array(a), LValue::Int(i)) => {
                let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                usize::try_from(idx)
                    .ok()
                    .and_then(|i| a.get(i))
                    .cloned()
                    .unwrap_or(LValue::Nil)
            }
            (_, LValue::Str(s)) => self.member(s),
            _ => LValue::Nil,
        }
    }

    /// Items for `for` loops and array filters (objects iterate as `[key, value]` pairs).
    pub fn items(&self) -> Vec<LValue> {
        match self {
            LValue::Array(a) => a.clone(),
            LValue::Object(o) => o
                .iter()
                .map(|(k, v)| LValue::Array(vec![LValue::Str(k.clone()), v.clone()]))
                .collect(),
            LValue::Nil => Vec::new(),
            other => vec![other.clone()],
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            LValue::Int(i) => Some(*i as f64),
            LValue::Float(f) => Some(*f),
            LValue::Decimal(d) => d.to_string().parse().ok(),
            LValue::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            LValue::Int(i) => Some(*i),
            LValue::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(*f as i64),
            LValue::Decimal(d) => d
                .to_string()
                .parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0)
                .map(|f| f as i64),
            LValue::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_conversion_and_rendering() {
        let v = LValue::from(&serde_json::json!({"a": [1, 2.5, "x", null, true], "o": {"k": 1}}));
        assert_eq!(v.member("a").render(), "12.5xtrue");
        assert_eq!(v.member("o").render(), "{\"k\":1}");
        assert_eq!(v.member("a").member("size"), LValue::Int(5));
        assert_eq!(v.member("a").index(&LValue::Int(-1)), LValue::Bool(true));
        assert_eq!(v.member("missing"), LValue::Nil);
        assert_eq!(format_double(2.0), "2");
        assert_eq!(format_double(0.1), "0.1");
        assert_eq!(format_double(1e20), "1E+20");
        assert_eq!(double_to_decimal(0.1).unwrap().to_string(), "0.1");
        assert_eq!(double_to_decimal(2.0).unwrap().to_string(), "2");
    }
}
