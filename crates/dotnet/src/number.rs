//! Number formatting and parsing with .NET's invariant-culture rules.
//!
//! `double.ToString()` follows .NET Core 3.0+: the shortest round-trippable digits, printed
//! in fixed notation unless the decimal exponent is above 15 (7 for `float`) or below -5.

use crate::error::DotNetException;

/// Shortest round-trip decimal digits of a finite non-zero value and its scale (the value is
/// `0.d1d2d3... × 10^scale`).
pub(crate) fn shortest_digits_f64(v: f64) -> (String, i32) {
    let s = format!("{:e}", v.abs());
    split_sci(&s)
}

pub(crate) fn shortest_digits_f32(v: f32) -> (String, i32) {
    let s = format!("{:e}", v.abs());
    split_sci(&s)
}

fn split_sci(s: &str) -> (String, i32) {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0').to_string();
    if digits.is_empty() {
        return ("0".to_string(), 0);
    }
    (digits, exp + 1)
}

/// .NET's general ("G") layout of a digit string: fixed unless `scale > max_digits` or
/// `scale < -3`, exponent with sign and at least two digits.
pub(crate) fn general_layout(
    negative: bool,
    digits: &str,
    scale: i32,
    max_digits: i32,
    exp_char: char,
) -> String {
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if scale > max_digits || scale < -3 {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = scale - 1;
        out.push(exp_char);
        out.push(if e < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", e.abs()));
    } else if scale <= 0 {
        out.push_str("0.");
        for _ in 0..(-scale) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let s = scale as usize;
        if digits.len() <= s {
            out.push_str(digits);
            for _ in digits.len()..s {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..s]);
            out.push('.');
            out.push_str(&digits[s..]);
        }
    }
    out
}

/// `double.ToString()` / `ToString("R")` (invariant culture, .NET Core 3.0+).
pub fn format_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let (digits, scale) = shortest_digits_f64(v);
    let max = (digits.len() as i32).max(15);
    general_layout(v < 0.0, &digits, scale, max, 'E')
}

/// `float.ToString()` / `ToString("R")` (invariant culture, .NET Core 3.0+).
pub fn format_single(v: f32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let (digits, scale) = shortest_digits_f32(v);
    let max = (digits.len() as i32).max(7);
    general_layout(v < 0.0, &digits, scale, max, 'E')
}

/// `decimal.ToString()` (invariant): keeps the scale's trailing zeros.
pub fn format_decimal(v: rust_decimal::Decimal) -> String {
    let s = v.to_string();
    if v.is_zero() {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

pub fn overflow_for(type_name: &str) -> DotNetException {
    DotNetException::overflow(format!(
        "Value was either too large or too small for {}.",
        article_type(type_name)
    ))
}

fn article_type(t: &str) -> String {
    match t {
        "Int32" | "Int16" | "Int64" => format!("an {t}"),
        "Byte" => "an unsigned byte".into(),
        "SByte" => "a signed byte".into(),
        "Char" => "a character".into(),
        _ => format!("a {t}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_shortest_round_trip() {
        assert_eq!(format_double(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_double(1.0), "1");
        assert_eq!(format_double(-60.0), "-60");
        assert_eq!(format_double(1e15), "1E+15");
        assert_eq!(format_double(1e14), "100000000000000");
        assert_eq!(
            format_double(123456789012345680.0),
            "1.2345678901234568E+17"
        );
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(0.00001), "1E-05");
        assert_eq!(format_double(1.5e-7), "1.5E-07");
        assert_eq!(format_double(f64::MAX), "1.7976931348623157E+308");
        assert_eq!(format_double(f64::NAN), "NaN");
        assert_eq!(format_double(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(format_double(-0.0), "-0");
        assert_eq!(format_double(2.5), "2.5");
        assert_eq!(format_single(0.1f32), "0.1");
        assert_eq!(format_single(1e6f32), "1000000");
        assert_eq!(format_single(1e7f32), "1E+07");
    }

    #[test]
    fn overflow_messages() {
        assert_eq!(
            overflow_for("Int32").message,
            "Value was either too large or too small for an Int32."
        );
        assert_eq!(
            overflow_for("UInt32").message,
            "Value was either too large or too small for a UInt32."
        );
        assert_eq!(
            overflow_for("Byte").message,
            "Value was either too large or too small for an unsigned byte."
        );
    }
}
