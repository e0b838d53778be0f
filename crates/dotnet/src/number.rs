//! Number formatting and parsing with .NET's invariant-culture rules.
//!
//! `double.ToString()` follows .NET Core 3.0+: the shortest round-trippable digits, printed
//! in fixed notation unless the decimal exponent is above 15 (7 for `float`) or below -5.

use crate::error::{DotNetException, DotNetResult};

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

/// NaN, the infinities and the signed zeros, written the same for float and double.
fn special_float(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v.is_infinite() {
        Some(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else if v == 0.0 {
        Some(if v.is_sign_negative() { "-0" } else { "0" })
    } else {
        None
    }
}

/// `double.ToString()` / `ToString("R")` (invariant culture, .NET Core 3.0+).
pub fn format_double(v: f64) -> String {
    if let Some(text) = special_float(v) {
        return text.into();
    }
    let (digits, scale) = shortest_digits_f64(v);
    let max = (digits.len() as i32).max(15);
    general_layout(v < 0.0, &digits, scale, max, 'E')
}

/// `float.ToString()` / `ToString("R")` (invariant culture, .NET Core 3.0+).
pub fn format_single(v: f32) -> String {
    if let Some(text) = special_float(v as f64) {
        return text.into();
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

/// `System.Globalization.NumberStyles` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberStyles(pub u32);

impl NumberStyles {
    pub const NONE: NumberStyles = NumberStyles(0);
    pub const ALLOW_LEADING_WHITE: u32 = 1;
    pub const ALLOW_TRAILING_WHITE: u32 = 2;
    pub const ALLOW_LEADING_SIGN: u32 = 4;
    pub const ALLOW_TRAILING_SIGN: u32 = 8;
    pub const ALLOW_PARENTHESES: u32 = 16;
    pub const ALLOW_DECIMAL_POINT: u32 = 32;
    pub const ALLOW_THOUSANDS: u32 = 64;
    pub const ALLOW_EXPONENT: u32 = 128;
    pub const ALLOW_CURRENCY_SYMBOL: u32 = 256;
    pub const ALLOW_HEX_SPECIFIER: u32 = 512;
    pub const INTEGER: NumberStyles = NumberStyles(7);
    pub const HEX_NUMBER: NumberStyles = NumberStyles(515);
    pub const NUMBER: NumberStyles = NumberStyles(111);
    pub const FLOAT: NumberStyles = NumberStyles(167);
    pub const CURRENCY: NumberStyles = NumberStyles(383);
    pub const ANY: NumberStyles = NumberStyles(511);
    /// `double.Parse` default: Float | AllowThousands.
    pub const FLOAT_THOUSANDS: NumberStyles = NumberStyles(231);
    fn has(self, f: u32) -> bool {
        self.0 & f != 0
    }
}

/// A parsed decimal number: value = 0.`digits` × 10^`scale` (digits without leading zeros).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedNumber {
    pub negative: bool,
    pub digits: String,
    pub scale: i32,
    /// "NaN" / "Infinity" for floating-point parsing.
    pub special: Option<f64>,
    /// Every digit as written (no point), and how many of them are fractional after the
    /// exponent is applied: decimal keeps the written scale ("1.50").
    pub all_digits: String,
    pub frac_len: i64,
}

fn is_parse_ws(c: char) -> bool {
    matches!(c, '\u{9}'..='\u{d}' | ' ')
}

/// .NET's number scanner (invariant culture). None = FormatException.
pub(crate) fn scan_number(
    s: &str,
    styles: NumberStyles,
    allow_special: bool,
) -> Option<ParsedNumber> {
    let mut t = s;
    if styles.has(NumberStyles::ALLOW_LEADING_WHITE) {
        t = t.trim_start_matches(is_parse_ws);
    }
    if styles.has(NumberStyles::ALLOW_TRAILING_WHITE) {
        t = t.trim_end_matches(is_parse_ws);
    }
    // Trailing NUL characters are ignored by .NET.
    t = t.trim_end_matches('\0');
    let mut negative = false;
    let mut parens = false;
    if styles.has(NumberStyles::ALLOW_LEADING_SIGN) {
        if let Some(r) = t.strip_prefix('-') {
            negative = true;
            t = r;
        } else if let Some(r) = t.strip_prefix('+') {
            t = r;
        }
    }
    if !negative
        && styles.has(NumberStyles::ALLOW_PARENTHESES)
        && t.starts_with('(')
        && t.ends_with(')')
        && t.len() >= 2
    {
        parens = true;
        negative = true;
        t = &t[1..t.len() - 1];
    }
    if !parens && styles.has(NumberStyles::ALLOW_TRAILING_SIGN) && !negative {
        if let Some(r) = t.strip_suffix('-') {
            negative = true;
            t = r.trim_end_matches(is_parse_ws);
        } else if let Some(r) = t.strip_suffix('+') {
            t = r.trim_end_matches(is_parse_ws);
        }
    }
    if allow_special {
        let sign = if negative { -1.0 } else { 1.0 };
        if t.eq_ignore_ascii_case("Infinity") || t == "∞" {
            return Some(ParsedNumber {
                negative,
                digits: String::new(),
                scale: 0,
                special: Some(sign * f64::INFINITY),
                all_digits: String::new(),
                frac_len: 0,
            });
        }
        if t.eq_ignore_ascii_case("NaN") {
            return Some(ParsedNumber {
                negative,
                digits: String::new(),
                scale: 0,
                special: Some(f64::NAN),
                all_digits: String::new(),
                frac_len: 0,
            });
        }
        if !negative && t.eq_ignore_ascii_case("-Infinity") {
            return Some(ParsedNumber {
                negative: true,
                digits: String::new(),
                scale: 0,
                special: Some(f64::NEG_INFINITY),
                all_digits: String::new(),
                frac_len: 0,
            });
        }
    }
    let b = t.as_bytes();
    let mut i = 0;
    let mut digits = String::new();
    let mut scale: i32 = 0;
    let mut any_digit = false;
    let mut all_digits = String::new();
    let mut frac_len: i64 = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            any_digit = true;
            all_digits.push(c as char);
            if !(digits.is_empty() && c == b'0') {
                digits.push(c as char);
                scale += 1;
            }
            i += 1;
        } else if c == b',' && styles.has(NumberStyles::ALLOW_THOUSANDS) && any_digit {
            i += 1;
        } else {
            break;
        }
    }
    if i < b.len() && b[i] == b'.' && styles.has(NumberStyles::ALLOW_DECIMAL_POINT) {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            any_digit = true;
            all_digits.push(b[i] as char);
            frac_len += 1;
            if digits.is_empty() && b[i] == b'0' {
                scale -= 1;
            } else {
                digits.push(b[i] as char);
            }
            i += 1;
        }
    }
    if !any_digit {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') && styles.has(NumberStyles::ALLOW_EXPONENT) {
        let mut j = i + 1;
        let mut eneg = false;
        if j < b.len() && (b[j] == b'-' || b[j] == b'+') {
            eneg = b[j] == b'-';
            j += 1;
        }
        let start = j;
        let mut e: i64 = 0;
        while j < b.len() && b[j].is_ascii_digit() {
            e = (e * 10 + (b[j] - b'0') as i64).min(1_000_000);
            j += 1;
        }
        if j > start {
            scale = (scale as i64 + if eneg { -e } else { e }).clamp(-2_000_000, 2_000_000) as i32;
            frac_len -= if eneg { -e } else { e };
            i = j;
        }
    }
    if i != b.len() {
        return None;
    }
    let trimmed = digits.trim_end_matches('0').to_string();
    if trimmed.is_empty() {
        scale = 0;
    }
    Some(ParsedNumber {
        negative,
        digits: trimmed,
        scale,
        special: None,
        all_digits,
        frac_len,
    })
}

/// Parses an integral value in `[min, max]` with the given styles (`int.Parse` etc.).
pub fn parse_integer(
    s: &str,
    styles: NumberStyles,
    min: i128,
    max: i128,
    type_name: &str,
) -> DotNetResult<i128> {
    if styles.has(NumberStyles::ALLOW_HEX_SPECIFIER) {
        let mut t = s;
        if styles.has(NumberStyles::ALLOW_LEADING_WHITE) {
            t = t.trim_start_matches(is_parse_ws);
        }
        if styles.has(NumberStyles::ALLOW_TRAILING_WHITE) {
            t = t.trim_end_matches(is_parse_ws);
        }
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DotNetException::bad_number_format());
        }
        let t = t.trim_start_matches('0');
        // Hex parses two's complement of the target width.
        let bits = if max > u32::MAX as i128 {
            64
        } else if max > u16::MAX as i128 {
            32
        } else if max > u8::MAX as i128 {
            16
        } else {
            8
        };
        if t.len() * 4 > bits && t.len() > bits / 4 {
            return Err(overflow_for(type_name));
        }
        let v = u128::from_str_radix(if t.is_empty() { "0" } else { t }, 16)
            .map_err(|_| overflow_for(type_name))?;
        if v >> bits != 0 {
            return Err(overflow_for(type_name));
        }
        let signed = if min < 0 && v >> (bits - 1) & 1 == 1 {
            v as i128 - (1i128 << bits)
        } else {
            v as i128
        };
        return Ok(signed);
    }
    let p = scan_number(s, styles, false).ok_or_else(DotNetException::bad_number_format)?;
    if p.digits.is_empty() {
        return Ok(0);
    }
    if p.scale < p.digits.len() as i32 {
        // Non-zero fractional digits.
        return Err(overflow_for(type_name));
    }
    if p.scale > 39 {
        return Err(overflow_for(type_name));
    }
    let mut v: i128 = 0;
    for (k, ch) in p.digits.chars().enumerate() {
        let _ = k;
        v = v * 10 + (ch as i128 - '0' as i128);
    }
    for _ in p.digits.len() as i32..p.scale {
        v *= 10;
    }
    let v = if p.negative { -v } else { v };
    if v < min || v > max {
        return Err(overflow_for(type_name));
    }
    Ok(v)
}

fn parsed_to_f64(p: &ParsedNumber) -> f64 {
    if let Some(s) = p.special {
        return s;
    }
    if p.digits.is_empty() {
        return if p.negative { -0.0 } else { 0.0 };
    }
    let text = format!(
        "{}0.{}e{}",
        if p.negative { "-" } else { "" },
        p.digits,
        p.scale
    );
    text.parse::<f64>().unwrap_or(f64::NAN)
}

/// `double.Parse(s, styles, invariant)`: overflow gives ±Infinity (.NET Core 3.0+).
pub fn parse_double(s: &str, styles: NumberStyles) -> DotNetResult<f64> {
    let p = scan_number(s, styles, true).ok_or_else(DotNetException::bad_number_format)?;
    Ok(parsed_to_f64(&p))
}

/// `double.Parse(s)` with the default styles (Float | AllowThousands).
pub fn parse_double_default(s: &str) -> DotNetResult<f64> {
    parse_double(s, NumberStyles::FLOAT_THOUSANDS)
}

/// `double.TryParse(s, NumberStyles.Float, invariant)`.
pub(crate) fn parse_double_invariant_float(s: &str) -> Option<f64> {
    scan_number(s, NumberStyles::FLOAT, true).map(|p| parsed_to_f64(&p))
}

/// `float.Parse(s)`.
pub fn parse_single(s: &str, styles: NumberStyles) -> DotNetResult<f32> {
    let p = scan_number(s, styles, true).ok_or_else(DotNetException::bad_number_format)?;
    if let Some(sp) = p.special {
        return Ok(sp as f32);
    }
    if p.digits.is_empty() {
        return Ok(if p.negative { -0.0 } else { 0.0 });
    }
    let text = format!(
        "{}0.{}e{}",
        if p.negative { "-" } else { "" },
        p.digits,
        p.scale
    );
    Ok(text.parse::<f32>().unwrap_or(f32::NAN))
}

/// `decimal.Parse(s, styles)` (default styles: Number). Keeps the written scale ("1.50");
/// more than 28 fractional digits round half to even.
pub fn parse_decimal(s: &str, styles: NumberStyles) -> DotNetResult<rust_decimal::Decimal> {
    use rust_decimal::Decimal;
    let p = scan_number(s, styles, false).ok_or_else(DotNetException::bad_number_format)?;
    if p.scale > 29 && !p.digits.is_empty() {
        return Err(overflow_for("Decimal"));
    }
    let mut digits: Vec<u8> = p.all_digits.bytes().map(|b| b - b'0').collect();
    let mut frac = p.frac_len;
    // Negative fractional length: append zeros.
    while frac < 0 {
        digits.push(0);
        frac += 1;
    }
    // Drop leading zeros of the integer part to keep the mantissa small.
    while digits.len() as i64 > frac + 1 && digits.first() == Some(&0) {
        digits.remove(0);
    }
    let mut round_up = false;
    if frac > 28 {
        let drop = (frac - 28) as usize;
        let keep = digits.len().saturating_sub(drop);
        let dropped: Vec<u8> = digits[keep..].to_vec();
        digits.truncate(keep);
        let first = dropped.first().copied().unwrap_or(0);
        let rest = dropped.iter().skip(1).any(|d| *d != 0);
        let last_odd = digits.last().is_some_and(|d| d % 2 == 1);
        round_up = first > 5 || (first == 5 && (rest || last_odd));
        frac = 28;
    }
    let mut m: i128 = 0;
    for d in &digits {
        m = m
            .checked_mul(10)
            .and_then(|v| v.checked_add(*d as i128))
            .ok_or_else(|| overflow_for("Decimal"))?;
    }
    if round_up {
        m += 1;
    }
    // Too many significant digits for 96 bits: drop fractional digits (rounding) while we can.
    while m >= (1i128 << 96) && frac > 0 {
        let r = m % 10;
        m /= 10;
        if r > 5 || (r == 5 && m % 2 == 1) {
            m += 1;
        }
        frac -= 1;
    }
    if m >= (1i128 << 96) {
        return Err(overflow_for("Decimal"));
    }
    let m = if p.negative { -m } else { m };
    Decimal::try_from_i128_with_scale(m, frac as u32).map_err(|_| overflow_for("Decimal"))
}

/// `bool.Parse(s)`: "True"/"False" in any case, surrounding whitespace and NULs ignored.
pub fn parse_bool(s: &str) -> DotNetResult<bool> {
    let t = s.trim_matches(|c: char| crate::string::is_dotnet_whitespace(c) || c == '\0');
    if t.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if t.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(DotNetException::format(format!(
            "String '{s}' was not recognized as a valid Boolean."
        )))
    }
}

/// `int.Parse(s)`.
pub fn parse_i32(s: &str) -> DotNetResult<i32> {
    parse_integer(
        s,
        NumberStyles::INTEGER,
        i32::MIN as i128,
        i32::MAX as i128,
        "Int32",
    )
    .map(|v| v as i32)
}

/// `long.Parse(s)`.
pub fn parse_i64(s: &str) -> DotNetResult<i64> {
    parse_integer(
        s,
        NumberStyles::INTEGER,
        i64::MIN as i128,
        i64::MAX as i128,
        "Int64",
    )
    .map(|v| v as i64)
}

/// Integral type ranges by CLR type, for `Parse` of any integral type.
pub fn integral_range(t: crate::clr::ClrType) -> Option<(i128, i128)> {
    use crate::clr::ClrType::*;
    Some(match t {
        Byte => (0, u8::MAX as i128),
        SByte => (i8::MIN as i128, i8::MAX as i128),
        Int16 => (i16::MIN as i128, i16::MAX as i128),
        UInt16 | Char => (0, u16::MAX as i128),
        Int32 => (i32::MIN as i128, i32::MAX as i128),
        UInt32 => (0, u32::MAX as i128),
        Int64 => (i64::MIN as i128, i64::MAX as i128),
        UInt64 => (0, u64::MAX as i128),
        _ => return None,
    })
}

#[cfg(test)]
mod parse_tests {
    use super::*;
    use crate::error::ExceptionKind;

    #[test]
    fn int_parse_rules() {
        assert_eq!(parse_i32(" 42 ").unwrap(), 42);
        assert_eq!(parse_i32("-0").unwrap(), 0);
        assert_eq!(parse_i32("+7").unwrap(), 7);
        assert_eq!(parse_i32("2147483647").unwrap(), i32::MAX);
        assert_eq!(
            parse_i32("2147483648").unwrap_err().kind,
            ExceptionKind::OverflowException
        );
        assert_eq!(
            parse_i32("1,000").unwrap_err().kind,
            ExceptionKind::FormatException
        );
        assert_eq!(
            parse_i32("1.0").unwrap_err().message,
            "Input string was not in a correct format."
        );
        assert_eq!(
            parse_i32("").unwrap_err().kind,
            ExceptionKind::FormatException
        );
        assert_eq!(
            parse_i32("- 1").unwrap_err().kind,
            ExceptionKind::FormatException
        );
        assert_eq!(
            parse_integer("1,000", NumberStyles::NUMBER, -10000, 10000, "Int32").unwrap(),
            1000
        );
        assert_eq!(
            parse_integer("1.50", NumberStyles::NUMBER, -10000, 10000, "Int32")
                .unwrap_err()
                .kind,
            ExceptionKind::OverflowException
        );
        assert_eq!(
            parse_integer(
                "ff",
                NumberStyles::HEX_NUMBER,
                i32::MIN as i128,
                i32::MAX as i128,
                "Int32"
            )
            .unwrap(),
            255
        );
        assert_eq!(
            parse_integer(
                "FFFFFFFF",
                NumberStyles::HEX_NUMBER,
                i32::MIN as i128,
                i32::MAX as i128,
                "Int32"
            )
            .unwrap(),
            -1
        );
        assert_eq!(parse_i64("9223372036854775807").unwrap(), i64::MAX);
    }

    #[test]
    fn double_and_decimal_parse() {
        assert_eq!(parse_double_default("1,234.5").unwrap(), 1234.5);
        assert_eq!(parse_double_default(" -1e3 ").unwrap(), -1000.0);
        assert_eq!(parse_double_default(".5").unwrap(), 0.5);
        assert_eq!(parse_double_default("1e400").unwrap(), f64::INFINITY);
        assert!(parse_double_default("NaN").unwrap().is_nan());
        assert_eq!(
            parse_double_default("-Infinity").unwrap(),
            f64::NEG_INFINITY
        );
        assert_eq!(parse_double_default("0.1").unwrap(), 0.1);
        assert!(parse_double_default("1e").is_err());
        assert!(parse_double_default("abc").is_err());
        assert_eq!(
            parse_decimal("1.50", NumberStyles::NUMBER)
                .unwrap()
                .to_string(),
            "1.50"
        );
        assert_eq!(
            parse_decimal("-12,345.6", NumberStyles::NUMBER)
                .unwrap()
                .to_string(),
            "-12345.6"
        );
        assert!(parse_decimal("1e5", NumberStyles::NUMBER).is_err());
        assert_eq!(
            parse_decimal("1e5", NumberStyles::FLOAT)
                .unwrap()
                .to_string(),
            "100000"
        );
        assert!(parse_bool(" TRUE ").unwrap());
        assert_eq!(
            parse_bool("yes").unwrap_err().message,
            "String 'yes' was not recognized as a valid Boolean."
        );
    }
}
