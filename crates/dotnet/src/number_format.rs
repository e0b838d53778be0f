//! `ToString(format)` for integral types, double, float and decimal: .NET's standard format
//! strings (C D E F G N P R X with precision) and custom ones ("0.00", "#,##0", "0.###",
//! "0%", "0.0E+00", sections, quotes and escapes), invariant culture.

// A close port of .NET's formatting loops; keep their shape rather than clippy's.
#![allow(clippy::collapsible_match, clippy::collapsible_if)]

use crate::error::{DotNetException, DotNetResult};
use crate::number::{format_double, format_single};
use rust_decimal::Decimal;

/// Digits of a number: value = 0.`digits` × 10^`scale` (ASCII digits, may be empty for 0).
#[derive(Debug, Clone)]
struct Num {
    digits: Vec<u8>,
    scale: i32,
    negative: bool,
    floating: bool,
}

fn bad_format() -> DotNetException {
    DotNetException::format("Format specifier was invalid.")
}

impl Num {
    fn from_integer(v: i128) -> Num {
        let s = v.unsigned_abs().to_string();
        let digits: Vec<u8> = if v == 0 { Vec::new() } else { s.into_bytes() };
        Num {
            scale: digits.len() as i32,
            digits,
            negative: v < 0,
            floating: false,
        }
    }
    fn from_decimal(d: Decimal) -> Num {
        let m = d.mantissa().unsigned_abs();
        let s = m.to_string();
        let digits: Vec<u8> = if m == 0 {
            Vec::new()
        } else {
            s.clone().into_bytes()
        };
        let scale = if m == 0 {
            0
        } else {
            s.len() as i32 - d.scale() as i32
        };
        Num {
            digits,
            scale,
            negative: d.is_sign_negative() && m != 0,
            floating: false,
        }
    }
    /// From Rust's exact scientific text "d.ddde±x".
    fn from_sci(text: &str, negative: bool) -> Num {
        let (mant, exp) = text.split_once('e').unwrap_or((text, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let mut digits: Vec<u8> = mant.bytes().filter(|b| b.is_ascii_digit()).collect();
        while digits.first() == Some(&b'0') && digits.len() > 1 {
            digits.remove(0);
        }
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        if digits.is_empty() {
            return Num {
                digits,
                scale: 0,
                negative,
                floating: true,
            };
        }
        Num {
            digits,
            scale: exp + 1,
            negative,
            floating: true,
        }
    }
    /// From Rust's exact fixed text "ddd.ddd".
    fn from_fixed(text: &str, negative: bool) -> Num {
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let mut all: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
        let mut scale = int.len() as i32;
        while all.first() == Some(&b'0') {
            all.remove(0);
            scale -= 1;
        }
        while all.last() == Some(&b'0') {
            all.pop();
        }
        if all.is_empty() {
            scale = 0;
        }
        Num {
            digits: all,
            scale,
            negative,
            floating: true,
        }
    }
    fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// .NET's `RoundNumber`: keep `pos` digits, half up, drop trailing zeros.
    fn round(&mut self, pos: i32) {
        let mut i = 0usize;
        while (i as i32) < pos && i < self.digits.len() {
            i += 1;
        }
        if (i as i32) == pos && i < self.digits.len() && self.digits[i] >= b'5' {
            while i > 0 && self.digits[i - 1] == b'9' {
                i -= 1;
            }
            if i > 0 {
                self.digits[i - 1] += 1;
            } else {
                self.scale += 1;
                self.digits.clear();
                self.digits.push(b'1');
                i = 1;
            }
        } else {
            while i > 0 && self.digits.get(i - 1) == Some(&b'0') {
                i -= 1;
            }
        }
        if pos < 0 {
            i = 0;
        }
        self.digits.truncate(i);
        if i == 0 {
            self.scale = 0;
            if !self.floating {
                self.negative = false;
            }
        }
    }
}

/// Splits "X2" into ('X', Some(2)); None for a custom format.
/// Precision above this is refused (a huge precision would allocate gigabytes).
const MAX_PRECISION: i32 = 100_000;

fn parse_specifier(format: &str) -> Option<(char, Option<i32>)> {
    let mut chars = format.chars();
    let c = chars.next()?;
    if !c.is_ascii_alphabetic() {
        return None;
    }
    let rest = chars.as_str();
    if rest.is_empty() {
        return Some((c, None));
    }
    if rest.len() <= 9 && rest.bytes().all(|b| b.is_ascii_digit()) {
        return rest
            .parse()
            .ok()
            .map(|p: i32| (c, Some(p.min(MAX_PRECISION + 1))));
    }
    None
}

fn push_exponent(
    out: &mut String,
    value: i32,
    exp_char: char,
    min_digits: usize,
    positive_sign: bool,
) {
    out.push(exp_char);
    if value < 0 {
        out.push('-');
    } else if positive_sign {
        out.push('+');
    }
    let s = value.unsigned_abs().to_string();
    for _ in s.len()..min_digits {
        out.push('0');
    }
    out.push_str(&s);
}

/// The significant digit at `idx` (moving past it), or '0' once they are used up.
fn next_digit(n: &Num, idx: &mut usize) -> char {
    match n.digits.get(*idx) {
        Some(&d) => {
            *idx += 1;
            d as char
        }
        None => '0',
    }
}

fn format_fixed(out: &mut String, n: &Num, mut max_digits: i32, group: bool) {
    let mut idx = 0usize;
    let mut dig_pos = n.scale;
    if dig_pos > 0 {
        let mut int_part = String::new();
        loop {
            int_part.push(next_digit(n, &mut idx));
            dig_pos -= 1;
            if dig_pos <= 0 {
                break;
            }
        }
        if group {
            let bytes = int_part.as_bytes();
            let len = bytes.len();
            for (k, b) in bytes.iter().enumerate() {
                if k > 0 && (len - k) % 3 == 0 {
                    out.push(',');
                }
                out.push(*b as char);
            }
        } else {
            out.push_str(&int_part);
        }
    } else {
        out.push('0');
    }
    if max_digits > 0 {
        out.push('.');
        if dig_pos < 0 {
            let zeros = (-dig_pos).min(max_digits);
            for _ in 0..zeros {
                out.push('0');
            }
            max_digits -= zeros;
        }
        while max_digits > 0 {
            out.push(next_digit(n, &mut idx));
            max_digits -= 1;
        }
    }
}

fn format_general(
    out: &mut String,
    n: &Num,
    max_digits: i32,
    exp_char: char,
    suppress_scientific: bool,
) {
    let mut dig_pos = n.scale;
    let mut scientific = false;
    if !suppress_scientific && (dig_pos > max_digits || dig_pos < -3) {
        dig_pos = 1;
        scientific = true;
    }
    let mut idx = 0usize;
    if dig_pos > 0 {
        loop {
            out.push(next_digit(n, &mut idx));
            dig_pos -= 1;
            if dig_pos <= 0 {
                break;
            }
        }
    } else {
        out.push('0');
    }
    if idx < n.digits.len() || dig_pos < 0 {
        out.push('.');
        while dig_pos < 0 {
            out.push('0');
            dig_pos += 1;
        }
        while idx < n.digits.len() {
            out.push(n.digits[idx] as char);
            idx += 1;
        }
    }
    if scientific {
        push_exponent(out, n.scale - 1, exp_char, 2, true);
    }
}

fn format_scientific(out: &mut String, n: &Num, mut max_digits: i32, exp_char: char) {
    let mut idx = 0usize;
    out.push(if n.digits.is_empty() {
        '0'
    } else {
        n.digits[0] as char
    });
    if !n.digits.is_empty() {
        idx = 1;
    }
    if max_digits != 1 {
        out.push('.');
    }
    while max_digits > 1 {
        out.push(next_digit(n, &mut idx));
        max_digits -= 1;
    }
    let e = if n.digits.is_empty() { 0 } else { n.scale - 1 };
    push_exponent(out, e, exp_char, 3, true);
}

/// Standard formats over prepared digits (after any type-specific digit generation).
fn number_to_string(
    mut n: Num,
    fmt: char,
    precision: Option<i32>,
    is_decimal: bool,
) -> DotNetResult<String> {
    let mut out = String::new();
    match fmt.to_ascii_uppercase() {
        'C' => {
            let p = precision.unwrap_or(2);
            n.round(n.scale + p);
            // Invariant: "¤n" positive, "(¤n)" negative.
            if n.negative {
                out.push_str("(¤");
            } else {
                out.push('¤');
            }
            format_fixed(&mut out, &n, p, true);
            if n.negative {
                out.push(')');
            }
        }
        // fixed-point and number: the same but for group separators
        upper @ ('F' | 'N') => {
            let p = precision.unwrap_or(2);
            n.round(n.scale + p);
            if n.negative {
                out.push('-');
            }
            format_fixed(&mut out, &n, p, upper == 'N');
        }
        'E' => {
            let p = precision.unwrap_or(6) + 1;
            n.round(p);
            if n.negative {
                out.push('-');
            }
            format_scientific(&mut out, &n, p, fmt);
        }
        'G' => {
            let exp_char = if fmt == 'g' { 'e' } else { 'E' };
            let mut suppress = false;
            let p = match precision {
                Some(p) if p >= 1 => {
                    n.round(p);
                    p
                }
                _ => {
                    if is_decimal {
                        suppress = true;
                    } else {
                        let d = n.digits.len() as i32;
                        n.round(d);
                    }
                    n.digits.len() as i32
                }
            };
            if n.negative {
                out.push('-');
            }
            format_general(&mut out, &n, p, exp_char, suppress);
        }
        'P' => {
            let p = precision.unwrap_or(2);
            if !n.is_zero() {
                n.scale += 2;
            }
            n.round(n.scale + p);
            if n.negative {
                out.push('-');
            }
            format_fixed(&mut out, &n, p, true);
            out.push_str(" %");
        }
        _ => return Err(bad_format()),
    }
    Ok(out)
}

/// `ToString(format)` of an integral value; `bits` and `signed` give the type (for "X").
pub fn format_integer(v: i128, bits: u32, signed: bool, format: &str) -> DotNetResult<String> {
    let _ = signed;
    if format.is_empty() {
        return Ok(v.to_string());
    }
    check_precision(format)?;
    match parse_specifier(format) {
        Some((c, p)) => match c.to_ascii_uppercase() {
            'D' => {
                let digits = v.unsigned_abs().to_string();
                let mut out = String::new();
                if v < 0 {
                    out.push('-');
                }
                for _ in digits.len()..p.unwrap_or(0).max(0) as usize {
                    out.push('0');
                }
                out.push_str(&digits);
                Ok(out)
            }
            'X' => {
                let mask: u128 = if bits >= 128 {
                    u128::MAX
                } else {
                    (1u128 << bits) - 1
                };
                let u = (v as u128) & mask;
                let s = if c == 'X' {
                    format!("{u:X}")
                } else {
                    format!("{u:x}")
                };
                let mut out = String::new();
                for _ in s.len()..p.unwrap_or(0).max(0) as usize {
                    out.push('0');
                }
                out.push_str(&s);
                Ok(out)
            }
            'R' => Err(bad_format()),
            'G' if p.unwrap_or(0) == 0 => Ok(v.to_string()),
            _ => number_to_string(Num::from_integer(v), c, p, false),
        },
        None => custom_format(Num::from_integer(v), format),
    }
}

fn float_digits_for(v: f64, fmt: char, precision: Option<i32>, single: bool) -> Num {
    let neg = v.is_sign_negative();
    let a = v.abs();
    match fmt.to_ascii_uppercase() {
        'F' | 'N' | 'C' => {
            let p = precision.unwrap_or(2).clamp(0, 1000) as usize;
            Num::from_fixed(&format!("{a:.p$}"), neg)
        }
        'P' => {
            let p = (precision.unwrap_or(2).clamp(0, 1000) + 2) as usize;
            Num::from_fixed(&format!("{a:.p$}"), neg)
        }
        'E' => {
            let p = precision.unwrap_or(6).clamp(0, 1000) as usize;
            Num::from_sci(&format!("{a:.p$e}"), neg)
        }
        _ => {
            // G with a precision: that many significant digits.
            let p = precision
                .unwrap_or(if single { 7 } else { 15 })
                .clamp(1, 1000) as usize
                - 1;
            Num::from_sci(&format!("{a:.p$e}"), neg)
        }
    }
}

fn check_precision(format: &str) -> DotNetResult<()> {
    match parse_specifier(format) {
        Some((_, Some(p))) if p > MAX_PRECISION => Err(DotNetException::format(format!(
            "Precision specifiers above {MAX_PRECISION} are not supported by apim-emu."
        ))),
        _ => Ok(()),
    }
}

fn special_float(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        })
    } else {
        None
    }
}

fn format_float(v: f64, format: &str, single: bool) -> DotNetResult<String> {
    check_precision(format)?;
    if let Some(s) = special_float(v) {
        return Ok(s);
    }
    let shortest = || {
        if single {
            format_single(v as f32)
        } else {
            format_double(v)
        }
    };
    if format.is_empty() {
        return Ok(shortest());
    }
    match parse_specifier(format) {
        Some((c, p)) => match c.to_ascii_uppercase() {
            'R' => Ok(shortest()),
            'G' if p.unwrap_or(0) == 0 => {
                let s = shortest();
                Ok(if c == 'g' { s.replace('E', "e") } else { s })
            }
            'D' | 'X' => Err(bad_format()),
            _ => {
                let n = float_digits_for(v, c, p, single);
                number_to_string(n, c, p, false)
            }
        },
        None => {
            // Custom formats start from 15 (double) / 7 (float) significant digits.
            let sig = if single { 6 } else { 14 };
            let n = if v == 0.0 {
                Num {
                    digits: Vec::new(),
                    scale: 0,
                    negative: v.is_sign_negative(),
                    floating: true,
                }
            } else {
                Num::from_sci(&format!("{:.sig$e}", v.abs()), v < 0.0)
            };
            custom_format(n, format)
        }
    }
}

/// `double.ToString(format)` (invariant culture).
pub fn format_double_with(v: f64, format: &str) -> DotNetResult<String> {
    format_float(v, format, false)
}

/// `float.ToString(format)` (invariant culture).
pub fn format_single_with(v: f32, format: &str) -> DotNetResult<String> {
    format_float(v as f64, format, true)
}

/// `decimal.ToString(format)` (invariant culture).
pub fn format_decimal_with(v: Decimal, format: &str) -> DotNetResult<String> {
    check_precision(format)?;
    if format.is_empty() {
        return Ok(crate::number::format_decimal(v));
    }
    let n = Num::from_decimal(v);
    match parse_specifier(format) {
        Some((c, p)) => match c.to_ascii_uppercase() {
            'D' | 'X' | 'R' => Err(bad_format()),
            _ => number_to_string(n, c, p, true),
        },
        None => custom_format(n, format),
    }
}

fn find_section(format: &[char], section: usize) -> usize {
    if section == 0 {
        return 0;
    }
    let mut remaining = section;
    let mut src = 0usize;
    loop {
        if src >= format.len() {
            return 0;
        }
        let ch = format[src];
        src += 1;
        match ch {
            '\'' | '"' => {
                src = after_quoted(format, src, ch);
            }
            '\\' => {
                if src < format.len() {
                    src += 1;
                }
            }
            ';' => {
                remaining -= 1;
                if remaining != 0 {
                    continue;
                }
                if src < format.len() && format[src] != ';' {
                    return src;
                }
                return 0;
            }
            _ => {}
        }
    }
}

/// The index just past the quote that closes a literal opened by `quote` (or the end).
fn after_quoted(format: &[char], start: usize, quote: char) -> usize {
    match format[start.min(format.len())..]
        .iter()
        .position(|&c| c == quote)
    {
        Some(k) => start + k + 1,
        None => format.len(),
    }
}

/// .NET's `NumberToStringFormat` (custom numeric format strings).
fn custom_format(mut n: Num, format_str: &str) -> DotNetResult<String> {
    let format: Vec<char> = format_str.chars().collect();
    let mut section = find_section(
        &format,
        if n.is_zero() {
            2
        } else if n.negative {
            1
        } else {
            0
        },
    );
    let (mut digit_count, mut decimal_pos, mut first_digit, mut last_digit);
    let mut scientific;
    let (mut thousand_pos, mut thousand_count, mut thousand_seps, mut scale_adjust);
    loop {
        digit_count = 0i32;
        decimal_pos = -1i32;
        first_digit = i32::MAX;
        last_digit = 0i32;
        scientific = false;
        thousand_pos = -1i32;
        thousand_count = 0i32;
        thousand_seps = false;
        scale_adjust = 0i32;
        let mut src = section;
        while src < format.len() {
            let ch = format[src];
            src += 1;
            if ch == ';' {
                break;
            }
            match ch {
                '#' => digit_count += 1,
                '0' => {
                    if first_digit == i32::MAX {
                        first_digit = digit_count;
                    }
                    digit_count += 1;
                    last_digit = digit_count;
                }
                '.' => {
                    if decimal_pos < 0 {
                        decimal_pos = digit_count;
                    }
                }
                ',' => {
                    if digit_count > 0 && decimal_pos < 0 {
                        if thousand_pos >= 0 {
                            if thousand_pos == digit_count {
                                thousand_count += 1;
                                continue;
                            }
                            thousand_seps = true;
                        }
                        thousand_pos = digit_count;
                        thousand_count = 1;
                    }
                }
                '%' => scale_adjust += 2,
                '\u{2030}' => scale_adjust += 3,
                '\'' | '"' => {
                    src = after_quoted(&format, src, ch);
                }
                '\\' => {
                    if src < format.len() {
                        src += 1;
                    }
                }
                'E' | 'e' => {
                    if (src < format.len() && format[src] == '0')
                        || (src + 1 < format.len()
                            && (format[src] == '+' || format[src] == '-')
                            && format[src + 1] == '0')
                    {
                        src += 1;
                        while src < format.len() && format[src] == '0' {
                            src += 1;
                        }
                        scientific = true;
                    }
                }
                _ => {}
            }
        }
        if decimal_pos < 0 {
            decimal_pos = digit_count;
        }
        if thousand_pos >= 0 {
            if thousand_pos == decimal_pos {
                scale_adjust -= thousand_count * 3;
            } else {
                thousand_seps = true;
            }
        }
        if !n.is_zero() {
            n.scale += scale_adjust;
            let pos = if scientific {
                digit_count
            } else {
                n.scale + digit_count - decimal_pos
            };
            n.round(pos);
            if n.is_zero() {
                let s2 = find_section(&format, 2);
                if s2 != section {
                    section = s2;
                    continue;
                }
            }
        } else {
            if !n.floating {
                n.negative = false;
            }
            n.scale = 0;
        }
        break;
    }
    first_digit = if first_digit < decimal_pos {
        decimal_pos - first_digit
    } else {
        0
    };
    last_digit = if last_digit > decimal_pos {
        decimal_pos - last_digit
    } else {
        0
    };
    let (mut dig_pos, mut adjust) = if scientific {
        (decimal_pos, 0)
    } else {
        (n.scale.max(decimal_pos), n.scale - decimal_pos)
    };
    let mut src = section;
    let mut sep_positions: Vec<i32> = Vec::new();
    if thousand_seps {
        let mut group_total = 3;
        let total_digits = dig_pos + if adjust < 0 { adjust } else { 0 };
        let num_digits = first_digit.max(total_digits);
        while num_digits > group_total {
            sep_positions.push(group_total);
            group_total += 3;
        }
    }
    let mut sep_ctr: i32 = sep_positions.len() as i32 - 1;
    // a group separator goes after the digit at this position
    let sep_due = |dig_pos: i32, sep_ctr: i32| {
        thousand_seps
            && dig_pos > 1
            && sep_ctr >= 0
            && dig_pos == sep_positions[sep_ctr as usize] + 1
    };
    let mut out = String::new();
    if n.negative && section == 0 && n.scale != 0 {
        out.push('-');
    }
    let mut decimal_written = false;
    let mut cur = 0usize;
    while src < format.len() {
        let ch = format[src];
        src += 1;
        if ch == ';' {
            break;
        }
        if adjust > 0 && matches!(ch, '#' | '0' | '.') {
            while adjust > 0 {
                out.push(next_digit(&n, &mut cur));
                if sep_due(dig_pos, sep_ctr) {
                    out.push(',');
                    sep_ctr -= 1;
                }
                dig_pos -= 1;
                adjust -= 1;
            }
        }
        match ch {
            '#' | '0' => {
                let c: Option<char> = if adjust < 0 {
                    adjust += 1;
                    if dig_pos <= first_digit {
                        Some('0')
                    } else {
                        None
                    }
                } else if cur < n.digits.len() {
                    cur += 1;
                    Some(n.digits[cur - 1] as char)
                } else if dig_pos > last_digit {
                    Some('0')
                } else {
                    None
                };
                if let Some(c) = c {
                    out.push(c);
                    if sep_due(dig_pos, sep_ctr) {
                        out.push(',');
                        sep_ctr -= 1;
                    }
                }
                dig_pos -= 1;
            }
            '.' => {
                if dig_pos != 0 || decimal_written {
                    continue;
                }
                if last_digit < 0 || (decimal_pos < digit_count && cur < n.digits.len()) {
                    out.push('.');
                    decimal_written = true;
                }
            }
            '\u{2030}' => out.push('‰'),
            '%' => out.push('%'),
            ',' => {}
            '\'' | '"' => {
                while src < format.len() && format[src] != ch {
                    out.push(format[src]);
                    src += 1;
                }
                if src < format.len() {
                    src += 1;
                }
            }
            '\\' => {
                if src < format.len() {
                    out.push(format[src]);
                    src += 1;
                }
            }
            'E' | 'e' => {
                let mut positive_sign = false;
                let mut i = 0usize;
                if scientific {
                    if src < format.len() && format[src] == '0' {
                        i += 1;
                    } else if src + 1 < format.len() && format[src] == '+' && format[src + 1] == '0'
                    {
                        positive_sign = true;
                    } else if src + 1 < format.len() && format[src] == '-' && format[src + 1] == '0'
                    {
                    } else {
                        out.push(ch);
                        continue;
                    }
                    loop {
                        src += 1;
                        if src < format.len() && format[src] == '0' {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    let i = i.min(10);
                    let exp = if n.is_zero() {
                        0
                    } else {
                        n.scale - decimal_pos
                    };
                    push_exponent(&mut out, exp, ch, i, positive_sign);
                    scientific = false;
                } else {
                    out.push(ch);
                    if src < format.len() {
                        if format[src] == '+' || format[src] == '-' {
                            out.push(format[src]);
                            src += 1;
                        }
                        while src < format.len() && format[src] == '0' {
                            out.push(format[src]);
                            src += 1;
                        }
                    }
                }
            }
            _ => out.push(ch),
        }
    }
    if n.negative && section == 0 && n.scale == 0 && !out.is_empty() {
        out.insert(0, '-');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: f64, f: &str) -> String {
        format_double_with(v, f).unwrap()
    }
    fn i(v: i128, f: &str) -> String {
        format_integer(v, 32, true, f).unwrap()
    }
    fn m(s: &str, f: &str) -> String {
        format_decimal_with(s.parse().unwrap(), f).unwrap()
    }

    #[test]
    fn standard_integer_formats() {
        assert_eq!(i(42, "D5"), "00042");
        assert_eq!(i(-42, "D5"), "-00042");
        assert_eq!(i(255, "X"), "FF");
        assert_eq!(i(255, "x4"), "00ff");
        assert_eq!(i(-1, "X"), "FFFFFFFF");
        assert_eq!(
            format_integer(-1, 64, true, "X").unwrap(),
            "FFFFFFFFFFFFFFFF"
        );
        assert_eq!(i(1234567, "N"), "1,234,567.00");
        assert_eq!(i(1234567, "N0"), "1,234,567");
        assert_eq!(i(-1234, "C"), "(¤1,234.00)");
        assert_eq!(i(1234, "C0"), "¤1,234");
        assert_eq!(i(12345, "E2"), "1.23E+004");
        assert_eq!(i(12345, "e"), "1.234500e+004");
        assert_eq!(i(42, "F"), "42.00");
        assert_eq!(i(12345, "G3"), "1.23E+04");
        assert_eq!(i(1, "P"), "100.00 %");
        assert_eq!(i(42, "G"), "42");
        assert!(format_integer(1, 32, true, "R").is_err());
        assert!(format_integer(1, 32, true, "K").is_err());
        assert_eq!(
            format_integer(1, 32, true, "D999999999").unwrap_err().kind,
            crate::error::ExceptionKind::FormatException
        );
    }

    #[test]
    fn standard_double_formats() {
        assert_eq!(d(1234.5678, "F2"), "1234.57");
        assert_eq!(d(1234.5678, "N2"), "1,234.57");
        assert_eq!(d(0.5, "P"), "50.00 %");
        assert_eq!(d(0.1234, "P1"), "12.3 %");
        assert_eq!(d(1234.5678, "E2"), "1.23E+003");
        assert_eq!(d(1234.5678, "G"), "1234.5678");
        assert_eq!(d(1234.5678, "G3"), "1.23E+03");
        assert_eq!(d(0.0001234, "G"), "0.0001234");
        assert_eq!(d(0.1 + 0.2, "R"), "0.30000000000000004");
        assert_eq!(d(-0.0001, "F2"), "-0.00");
        assert_eq!(d(f64::NAN, "F2"), "NaN");
        assert_eq!(d(f64::INFINITY, "N"), "Infinity");
        // .NET Core 2.1+: exact binary ties go to even in standard formats, up in custom ones.
        assert_eq!(d(2.5, "F0"), "2");
        assert_eq!(d(3.5, "F0"), "4");
        assert_eq!(d(2.5, "0"), "3");
        assert_eq!(d(1e21, "F0"), "1000000000000000000000");
        assert!(format_double_with(1.0, "D").is_err());
        assert!(format_double_with(1.0, "X").is_err());
    }

    #[test]
    fn decimal_formats() {
        assert_eq!(m("1.50", ""), "1.50");
        assert_eq!(m("1.50", "G"), "1.50");
        assert_eq!(m("2.5", "F0"), "3");
        assert_eq!(m("0.125", "F2"), "0.13");
        assert_eq!(m("1234.5", "N1"), "1,234.5");
        assert_eq!(m("1.50", "0.##"), "1.5");
        assert_eq!(m("-0.001", "F2"), "0.00");
    }

    #[test]
    fn custom_formats() {
        assert_eq!(d(1234.5678, "0.00"), "1234.57");
        assert_eq!(d(1234.5678, "#,##0.00"), "1,234.57");
        assert_eq!(d(1234567.0, "#,##0"), "1,234,567");
        assert_eq!(d(0.5, "0.###"), "0.5");
        assert_eq!(d(5.0, "00"), "05");
        assert_eq!(d(0.256, "0%"), "26%");
        assert_eq!(d(0.256, "0.0 %"), "25.6 %");
        assert_eq!(d(1234.0, "0.0E+00"), "1.2E+03");
        assert_eq!(d(0.00012, "0.00e0"), "1.20e-4");
        assert_eq!(d(-5.0, "0;(0)"), "(5)");
        assert_eq!(d(0.0, "0;(0);zero"), "zero");
        assert_eq!(d(5.0, "'#'0"), "#5");
        assert_eq!(d(5.0, "\\#0"), "#5");
        assert_eq!(d(1234567.0, "#,#,,"), "1");
        assert_eq!(d(1234567.0, "0,,.0"), "1.2");
        assert_eq!(d(0.1 + 0.2, "0.####################"), "0.3");
        assert_eq!(d(-0.4, "0"), "-0");
        assert_eq!(d(0.5, "#"), "1");
        assert_eq!(d(0.0, "#"), "");
        assert_eq!(i(-1234, "#,##0"), "-1,234");
        assert_eq!(i(42, "000000"), "000042");
        assert_eq!(i(1234, "(###) ###"), "(1) 234");
    }
}
