//! `System.String` members with UTF-16 indices, `char` helpers, composite formatting.

/// `char.IsWhiteSpace` (Unicode White_Space, as .NET defines it).
pub fn is_dotnet_whitespace(c: char) -> bool {
    matches!(c, '\u{9}'..='\u{d}' | ' ' | '\u{85}' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}')
}

/// `ToUpperInvariant()`: simple (1:1) case mapping, as .NET does (no "ß" → "SS").
pub fn to_upper_invariant(s: &str) -> String {
    map_simple_case(s, char::to_uppercase)
}

/// `ToLowerInvariant()`: simple (1:1) case mapping.
pub fn to_lower_invariant(s: &str) -> String {
    map_simple_case(s, char::to_lowercase)
}

/// A character whose case mapping is more than one character stays as it is.
#[inline]
fn map_simple_case<I: Iterator<Item = char>>(s: &str, map: impl Fn(char) -> I) -> String {
    s.chars()
        .map(|c| {
            let mut u = map(c);
            match (u.next(), u.next()) {
                (Some(x), None) => x,
                _ => c,
            }
        })
        .collect()
}

use crate::clr::ClrValue;
use crate::error::{DotNetException, DotNetResult};

/// UTF-16 code units of a string (.NET's `char`s).
pub fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// Back from UTF-16; a lone surrogate (from cutting a pair) becomes U+FFFD.
pub fn from_utf16(units: &[u16]) -> String {
    String::from_utf16_lossy(units)
}

/// `Length`.
pub fn length(s: &str) -> i32 {
    s.encode_utf16().count() as i32
}

/// `s[i]` (`Chars[i]`): IndexOutOfRangeException outside the string.
pub fn char_at(s: &str, index: i32) -> DotNetResult<u16> {
    let u = utf16(s);
    if index < 0 || index as usize >= u.len() {
        return Err(DotNetException::new(
            crate::error::ExceptionKind::IndexOutOfRangeException,
            "Index was outside the bounds of the array.",
        ));
    }
    Ok(u[index as usize])
}

/// The checked `startIndex` of both Substring overloads.
fn substring_start(u: &[u16], start: i32) -> DotNetResult<usize> {
    if start < 0 {
        return Err(DotNetException::out_of_range(
            "startIndex",
            "StartIndex cannot be less than zero.",
        ));
    }
    if start as usize > u.len() {
        return Err(DotNetException::out_of_range(
            "startIndex",
            "startIndex cannot be larger than length of string.",
        ));
    }
    Ok(start as usize)
}

/// `Substring(startIndex)`.
pub fn substring(s: &str, start: i32) -> DotNetResult<String> {
    let u = utf16(s);
    let start = substring_start(&u, start)?;
    Ok(from_utf16(&u[start..]))
}

/// `Substring(startIndex, length)`.
pub fn substring_len(s: &str, start: i32, len: i32) -> DotNetResult<String> {
    let u = utf16(s);
    let start = substring_start(&u, start)?;
    if len < 0 {
        return Err(DotNetException::out_of_range(
            "length",
            "Length cannot be less than zero.",
        ));
    }
    if start + len as usize > u.len() {
        return Err(DotNetException::out_of_range(
            "length",
            "Index and length must refer to a location within the string.",
        ));
    }
    Ok(from_utf16(&u[start..start + len as usize]))
}

/// `System.StringComparison`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringComparison {
    CurrentCulture = 0,
    CurrentCultureIgnoreCase = 1,
    InvariantCulture = 2,
    InvariantCultureIgnoreCase = 3,
    Ordinal = 4,
    OrdinalIgnoreCase = 5,
}

impl StringComparison {
    pub fn from_value(v: i64) -> DotNetResult<StringComparison> {
        Ok(match v {
            0 => StringComparison::CurrentCulture,
            1 => StringComparison::CurrentCultureIgnoreCase,
            2 => StringComparison::InvariantCulture,
            3 => StringComparison::InvariantCultureIgnoreCase,
            4 => StringComparison::Ordinal,
            5 => StringComparison::OrdinalIgnoreCase,
            _ => {
                return Err(DotNetException::argument(
                    "The string comparison type passed in is currently not supported. (Parameter 'comparisonType')",
                ));
            }
        })
    }
    pub fn ignore_case(self) -> bool {
        matches!(
            self,
            StringComparison::CurrentCultureIgnoreCase
                | StringComparison::InvariantCultureIgnoreCase
                | StringComparison::OrdinalIgnoreCase
        )
    }
    pub fn is_culture(self) -> bool {
        !matches!(
            self,
            StringComparison::Ordinal | StringComparison::OrdinalIgnoreCase
        )
    }
}

fn upper_unit(u: u16) -> u16 {
    match char::from_u32(u as u32) {
        Some(c) => {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(x), None) if (x as u32) <= 0xFFFF => x as u32 as u16,
                _ => u,
            }
        }
        None => u,
    }
}

fn units_eq(a: &[u16], b: &[u16], ignore_case: bool) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (ignore_case && upper_unit(*x) == upper_unit(*y)))
}

fn index_range_error(param: &str) -> DotNetException {
    DotNetException::out_of_range(
        param,
        "Index was out of range. Must be non-negative and less than the size of the collection.",
    )
}

fn count_error() -> DotNetException {
    DotNetException::out_of_range(
        "count",
        "Count must be positive and count must refer to a location within the string/array/collection.",
    )
}

/// `IndexOf(value, startIndex, count, comparison)`: culture comparisons are treated as
/// ordinal (see docs/compat.md). `count` None = to the end.
pub fn index_of(
    s: &str,
    value: &str,
    start: i32,
    count: Option<i32>,
    cmp: StringComparison,
) -> DotNetResult<i32> {
    let h = utf16(s);
    let n = utf16(value);
    if start < 0 || start as usize > h.len() {
        return Err(index_range_error("startIndex"));
    }
    let count = count.unwrap_or(h.len() as i32 - start);
    if count < 0 || start as usize + count as usize > h.len() {
        return Err(count_error());
    }
    let end = start as usize + count as usize;
    if n.is_empty() {
        return Ok(start);
    }
    let ic = cmp.ignore_case();
    let mut i = start as usize;
    while i + n.len() <= end {
        if units_eq(&h[i..i + n.len()], &n, ic) {
            return Ok(i as i32);
        }
        i += 1;
    }
    Ok(-1)
}

/// `IndexOf(char, startIndex, count)` (ordinal).
pub fn index_of_char(s: &str, c: u16, start: i32, count: Option<i32>) -> DotNetResult<i32> {
    let h = utf16(s);
    if start < 0 || start as usize > h.len() {
        return Err(index_range_error("startIndex"));
    }
    let count = count.unwrap_or(h.len() as i32 - start);
    if count < 0 || start as usize + count as usize > h.len() {
        return Err(count_error());
    }
    Ok(h[start as usize..start as usize + count as usize]
        .iter()
        .position(|&x| x == c)
        .map(|p| p as i32 + start)
        .unwrap_or(-1))
}

/// `IndexOfAny(chars, startIndex)`.
pub fn index_of_any(s: &str, chars: &[u16], start: i32) -> DotNetResult<i32> {
    let h = utf16(s);
    if start < 0 || start as usize > h.len() {
        return Err(index_range_error("startIndex"));
    }
    Ok(h[start as usize..]
        .iter()
        .position(|x| chars.contains(x))
        .map(|p| p as i32 + start)
        .unwrap_or(-1))
}

/// `LastIndexOf(value, comparison)` over the whole string.
pub fn last_index_of(s: &str, value: &str, cmp: StringComparison) -> i32 {
    let h = utf16(s);
    let n = utf16(value);
    if n.is_empty() {
        // .NET 5+: LastIndexOf("") returns Length - 1 clamped... use .NET Core 3.0+ rule (Length).
        return h.len() as i32;
    }
    let ic = cmp.ignore_case();
    if n.len() > h.len() {
        return -1;
    }
    (0..=h.len() - n.len())
        .rev()
        .find(|&i| units_eq(&h[i..i + n.len()], &n, ic))
        .map(|i| i as i32)
        .unwrap_or(-1)
}

/// `LastIndexOf(char)`.
pub fn last_index_of_char(s: &str, c: u16) -> i32 {
    utf16(s)
        .iter()
        .rposition(|&x| x == c)
        .map(|i| i as i32)
        .unwrap_or(-1)
}

/// `Contains(value, comparison)` (ordinal by default, as in .NET).
pub fn contains(s: &str, value: &str, cmp: StringComparison) -> bool {
    if !cmp.ignore_case() {
        return s.contains(value);
    }
    index_of(s, value, 0, None, cmp)
        .map(|i| i >= 0)
        .unwrap_or(false)
}

/// `StartsWith(value, comparison)`.
pub fn starts_with(s: &str, value: &str, cmp: StringComparison) -> bool {
    let h = utf16(s);
    let n = utf16(value);
    n.len() <= h.len() && units_eq(&h[..n.len()], &n, cmp.ignore_case())
}

/// `EndsWith(value, comparison)`.
pub fn ends_with(s: &str, value: &str, cmp: StringComparison) -> bool {
    let h = utf16(s);
    let n = utf16(value);
    n.len() <= h.len() && units_eq(&h[h.len() - n.len()..], &n, cmp.ignore_case())
}

/// `Replace(oldValue, newValue)`: ordinal; empty oldValue is an ArgumentException.
pub fn replace(s: &str, old: &str, new: Option<&str>) -> DotNetResult<String> {
    if old.is_empty() {
        return Err(DotNetException::argument(
            "String cannot be of zero length. (Parameter 'oldValue')",
        ));
    }
    Ok(s.replace(old, new.unwrap_or("")))
}

/// `Replace(oldValue, newValue, comparison)` (.NET Core 2.0+).
pub fn replace_with(
    s: &str,
    old: &str,
    new: Option<&str>,
    cmp: StringComparison,
) -> DotNetResult<String> {
    if !cmp.ignore_case() {
        return replace(s, old, new);
    }
    if old.is_empty() {
        return Err(DotNetException::argument(
            "String cannot be of zero length. (Parameter 'oldValue')",
        ));
    }
    let h = utf16(s);
    let n = utf16(old);
    let r = utf16(new.unwrap_or(""));
    let mut out = Vec::with_capacity(h.len());
    let mut i = 0;
    while i < h.len() {
        if i + n.len() <= h.len() && units_eq(&h[i..i + n.len()], &n, true) {
            out.extend_from_slice(&r);
            i += n.len();
        } else {
            out.push(h[i]);
            i += 1;
        }
    }
    Ok(from_utf16(&out))
}

/// `System.StringSplitOptions` flags.
pub const SPLIT_NONE: u32 = 0;
pub const SPLIT_REMOVE_EMPTY_ENTRIES: u32 = 1;
pub const SPLIT_TRIM_ENTRIES: u32 = 2;

/// A `Split` separator set.
#[derive(Debug, Clone)]
pub enum Separators<'a> {
    /// `Split(params char[])`; empty = whitespace.
    Chars(&'a [u16]),
    /// `Split(string[] , ...)`; empty (or all empty strings) = whitespace / no split as .NET.
    Strings(&'a [&'a str]),
    /// `Split(string, ...)`: null or empty means "do not split".
    String(&'a str),
}

fn is_ws_unit(u: u16) -> bool {
    char::from_u32(u as u32).is_some_and(is_dotnet_whitespace)
}

fn trim_units(u: &[u16]) -> &[u16] {
    let mut a = 0;
    let mut b = u.len();
    while a < b && is_ws_unit(u[a]) {
        a += 1;
    }
    while b > a && is_ws_unit(u[b - 1]) {
        b -= 1;
    }
    &u[a..b]
}

/// `Split(separators, count, options)` with .NET Core's algorithm (count limits the number
/// of parts; RemoveEmptyEntries / TrimEntries flags).
pub fn split(s: &str, seps: &Separators, count: i32, options: u32) -> DotNetResult<Vec<String>> {
    if count < 0 {
        return Err(DotNetException::out_of_range(
            "count",
            "Count cannot be less than zero.",
        ));
    }
    if options & !3 != 0 {
        return Err(DotNetException::argument(format!(
            "Value of flags is invalid: {options}. (Parameter 'options')"
        )));
    }
    let remove_empty = options & SPLIT_REMOVE_EMPTY_ENTRIES != 0;
    let trim = options & SPLIT_TRIM_ENTRIES != 0;
    let h = utf16(s);
    let sole = |count: i32| -> Vec<String> {
        let mut cand: &[u16] = &h;
        if trim && count > 0 {
            cand = trim_units(cand);
        }
        if count == 0 || (remove_empty && cand.is_empty()) {
            Vec::new()
        } else {
            vec![from_utf16(cand)]
        }
    };
    if count <= 1 || h.is_empty() {
        return Ok(sole(count));
    }
    // (position, separator length)
    let mut found: Vec<(usize, usize)> = Vec::new();
    match seps {
        Separators::Chars(cs) => {
            for (i, u) in h.iter().enumerate() {
                if if cs.is_empty() {
                    is_ws_unit(*u)
                } else {
                    cs.contains(u)
                } {
                    found.push((i, 1));
                }
            }
        }
        Separators::String(sep) => {
            let n = utf16(sep);
            if n.is_empty() {
                return Ok(sole(count));
            }
            let mut i = 0;
            while i + n.len() <= h.len() {
                if h[i..i + n.len()] == n[..] {
                    found.push((i, n.len()));
                    i += n.len();
                } else {
                    i += 1;
                }
            }
        }
        Separators::Strings(list) => {
            if list.is_empty() {
                for (i, u) in h.iter().enumerate() {
                    if is_ws_unit(*u) {
                        found.push((i, 1));
                    }
                }
            } else {
                let ns: Vec<Vec<u16>> = list.iter().map(|x| utf16(x)).collect();
                let mut i = 0;
                'outer: while i < h.len() {
                    for n in &ns {
                        if !n.is_empty() && i + n.len() <= h.len() && h[i..i + n.len()] == n[..] {
                            found.push((i, n.len()));
                            i += n.len();
                            continue 'outer;
                        }
                    }
                    i += 1;
                }
            }
        }
    }
    if found.is_empty() {
        return Ok(sole(count));
    }
    let count = count as usize;
    let mut out: Vec<String> = Vec::new();
    let mut cur = 0usize;
    if !remove_empty && !trim {
        for (pos, len) in &found {
            if out.len() == count - 1 {
                break;
            }
            out.push(from_utf16(&h[cur..*pos]));
            cur = pos + len;
        }
        out.push(from_utf16(&h[cur..]));
        return Ok(out);
    }
    let mut i = 0;
    while i < found.len() {
        let (pos, len) = found[i];
        let mut entry: &[u16] = &h[cur..pos];
        if trim {
            entry = trim_units(entry);
        }
        if !entry.is_empty() || !remove_empty {
            out.push(from_utf16(entry));
        }
        cur = pos + len;
        if out.len() == count - 1 {
            if remove_empty {
                i += 1;
                while i < found.len() {
                    let (p2, l2) = found[i];
                    let mut e: &[u16] = &h[cur..p2];
                    if trim {
                        e = trim_units(e);
                    }
                    if !e.is_empty() {
                        break;
                    }
                    cur = p2 + l2;
                    i += 1;
                }
            }
            break;
        }
        i += 1;
    }
    let mut last: &[u16] = &h[cur..];
    if trim {
        last = trim_units(last);
    }
    if !last.is_empty() || !remove_empty {
        out.push(from_utf16(last));
    }
    Ok(out)
}

/// `string.Join(separator, values)`: null elements are empty.
pub fn join(separator: &str, values: &[Option<String>]) -> String {
    values
        .iter()
        .map(|v| v.as_deref().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(separator)
}

/// `Trim()` / `TrimStart()` / `TrimEnd()` with optional trim chars (empty = whitespace).
pub fn trim(s: &str, chars: &[u16], start: bool, end: bool) -> String {
    let u = utf16(s);
    let hit = |x: u16| {
        if chars.is_empty() {
            is_ws_unit(x)
        } else {
            chars.contains(&x)
        }
    };
    let mut a = 0;
    let mut b = u.len();
    if start {
        while a < b && hit(u[a]) {
            a += 1;
        }
    }
    if end {
        while b > a && hit(u[b - 1]) {
            b -= 1;
        }
    }
    from_utf16(&u[a..b])
}

/// Strings longer than this are refused with OutOfMemoryException (.NET's own limit is about
/// a billion characters; an emulator must not try to allocate that).
pub const MAX_STRING_LENGTH: usize = 64 * 1024 * 1024;

/// `PadLeft(totalWidth, paddingChar)` / `PadRight`.
pub fn pad(s: &str, total_width: i32, pad_char: u16, left: bool) -> DotNetResult<String> {
    if total_width < 0 {
        return Err(DotNetException::out_of_range(
            "totalWidth",
            "Non-negative number required.",
        ));
    }
    let u = utf16(s);
    if u.len() >= total_width as usize {
        return Ok(s.to_string());
    }
    if total_width as usize > MAX_STRING_LENGTH {
        return Err(DotNetException::out_of_memory());
    }
    let fill = vec![pad_char; total_width as usize - u.len()];
    let all: Vec<u16> = if left {
        [fill, u].concat()
    } else {
        [u, fill].concat()
    };
    Ok(from_utf16(&all))
}

/// `Insert(startIndex, value)`.
pub fn insert(s: &str, start: i32, value: &str) -> DotNetResult<String> {
    let u = utf16(s);
    if start < 0 || start as usize > u.len() {
        return Err(DotNetException::out_of_range(
            "startIndex",
            "Index was out of range. Must be non-negative and less than or equal to the size of the collection.",
        ));
    }
    let mut out = u[..start as usize].to_vec();
    out.extend(utf16(value));
    out.extend_from_slice(&u[start as usize..]);
    Ok(from_utf16(&out))
}

/// `Remove(startIndex)` / `Remove(startIndex, count)`.
pub fn remove(s: &str, start: i32, count: Option<i32>) -> DotNetResult<String> {
    let u = utf16(s);
    if start < 0 {
        return Err(DotNetException::out_of_range(
            "startIndex",
            "StartIndex cannot be less than zero.",
        ));
    }
    match count {
        None => {
            if start as usize >= u.len() {
                return Err(DotNetException::out_of_range(
                    "startIndex",
                    "startIndex must be less than length of string.",
                ));
            }
            Ok(from_utf16(&u[..start as usize]))
        }
        Some(c) => {
            if c < 0 {
                return Err(DotNetException::out_of_range(
                    "count",
                    "Count cannot be less than zero.",
                ));
            }
            if start as usize + c as usize > u.len() {
                return Err(DotNetException::out_of_range(
                    "count",
                    "Index and count must refer to a location within the string.",
                ));
            }
            let mut out = u[..start as usize].to_vec();
            out.extend_from_slice(&u[start as usize + c as usize..]);
            Ok(from_utf16(&out))
        }
    }
}

/// `string.Equals(a, b, comparison)`.
pub fn equals(a: &str, b: &str, cmp: StringComparison) -> bool {
    if !cmp.ignore_case() {
        return a == b;
    }
    units_eq(&utf16(a), &utf16(b), true)
}

/// `string.Compare(a, b, comparison)`. Ordinal returns the UTF-16 difference; culture
/// comparisons order case-insensitively first, then lowercase before uppercase (ICU-like for
/// letters and digits; see docs/compat.md).
pub fn compare(a: Option<&str>, b: Option<&str>, cmp: StringComparison) -> i32 {
    let (a, b) = match (a, b) {
        (None, None) => return 0,
        (None, Some(_)) => return -1,
        (Some(_), None) => return 1,
        (Some(a), Some(b)) => (a, b),
    };
    let ua = utf16(a);
    let ub = utf16(b);
    if !cmp.is_culture() {
        let ic = cmp.ignore_case();
        for (x, y) in ua.iter().zip(&ub) {
            let (x, y) = if ic {
                (upper_unit(*x), upper_unit(*y))
            } else {
                (*x, *y)
            };
            if x != y {
                return x as i32 - y as i32;
            }
        }
        return ua.len() as i32 - ub.len() as i32;
    }
    let fold = |s: &str| to_lower_invariant(s);
    let primary = fold(a).cmp(&fold(b));
    let ord = if primary != std::cmp::Ordering::Equal || cmp.ignore_case() {
        primary
    } else {
        // Same letters: lowercase sorts first.
        let mut o = std::cmp::Ordering::Equal;
        for (x, y) in a.chars().zip(b.chars()) {
            if x != y {
                o = if x.is_lowercase() {
                    std::cmp::Ordering::Less
                } else {
                    std::cmp::Ordering::Greater
                };
                break;
            }
        }
        o
    };
    ord as i32
}

/// `string.IsNullOrEmpty`.
pub fn is_null_or_empty(s: Option<&str>) -> bool {
    s.is_none_or(|s| s.is_empty())
}

/// `string.IsNullOrWhiteSpace`.
pub fn is_null_or_white_space(s: Option<&str>) -> bool {
    s.is_none_or(|s| s.chars().all(is_dotnet_whitespace))
}

/// `char.IsDigit` (decimal digits, Unicode Nd approximated by Rust's numeric + decimal value).
pub fn char_is_digit(c: u16) -> bool {
    char::from_u32(c as u32).is_some_and(|ch| {
        ch.is_ascii_digit()
            || (!ch.is_ascii()
                && ch.is_numeric()
                && ch.to_digit(10).is_none()
                && is_unicode_decimal(ch))
    })
}

fn is_unicode_decimal(ch: char) -> bool {
    // Common Nd blocks: Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali, fullwidth.
    matches!(ch as u32, 0x660..=0x669 | 0x6F0..=0x6F9 | 0x966..=0x96F | 0x9E6..=0x9EF | 0xFF10..=0xFF19)
}

pub fn char_is_letter(c: u16) -> bool {
    char::from_u32(c as u32).is_some_and(char::is_alphabetic)
}
pub fn char_is_letter_or_digit(c: u16) -> bool {
    char_is_letter(c) || char_is_digit(c)
}
pub fn char_is_white_space(c: u16) -> bool {
    is_ws_unit(c)
}
pub fn char_is_upper(c: u16) -> bool {
    char::from_u32(c as u32).is_some_and(char::is_uppercase)
}
pub fn char_is_lower(c: u16) -> bool {
    char::from_u32(c as u32).is_some_and(char::is_lowercase)
}
pub fn char_is_punctuation(c: u16) -> bool {
    char::from_u32(c as u32)
        .is_some_and(|ch| ch.is_ascii_punctuation() && !"$+<=>^`|~".contains(ch))
}
pub fn char_to_upper(c: u16) -> u16 {
    upper_unit(c)
}
pub fn char_to_lower(c: u16) -> u16 {
    match char::from_u32(c as u32) {
        Some(ch) => {
            let mut l = ch.to_lowercase();
            match (l.next(), l.next()) {
                (Some(x), None) if (x as u32) <= 0xFFFF => x as u32 as u16,
                _ => c,
            }
        }
        None => c,
    }
}

/// `IFormattable.ToString(format, InvariantCulture)` for a boxed value (used by composite
/// formatting and interpolation holes).
pub fn format_value(v: &ClrValue, format: &str) -> DotNetResult<String> {
    use crate::number_format::*;
    Ok(match v {
        ClrValue::Null => String::new(),
        ClrValue::Byte(x) => format_integer(*x as i128, 8, false, format)?,
        ClrValue::SByte(x) => format_integer(*x as i128, 8, true, format)?,
        ClrValue::Int16(x) => format_integer(*x as i128, 16, true, format)?,
        ClrValue::UInt16(x) => format_integer(*x as i128, 16, false, format)?,
        ClrValue::Int32(x) => format_integer(*x as i128, 32, true, format)?,
        ClrValue::UInt32(x) => format_integer(*x as i128, 32, false, format)?,
        ClrValue::Int64(x) => format_integer(*x as i128, 64, true, format)?,
        ClrValue::UInt64(x) => format_integer(*x as i128, 64, false, format)?,
        ClrValue::Single(x) => format_single_with(*x, format)?,
        ClrValue::Double(x) => format_double_with(*x, format)?,
        ClrValue::Decimal(x) => format_decimal_with(*x, format)?,
        ClrValue::DateTime(d) => crate::datetime_format::format_date_time(*d, format)?,
        ClrValue::DateTimeOffset(d) => crate::datetime_format::format_date_time_offset(*d, format)?,
        ClrValue::TimeSpan(t) => crate::datetime_format::format_timespan(*t, format)?,
        ClrValue::Guid(g) => g.to_string_format(format)?,
        other => crate::convert::to_string_invariant(other).unwrap_or_default(),
    })
}

/// Pads a formatted hole to `{x,alignment}` (negative = left-aligned).
pub fn apply_alignment(s: String, alignment: i32) -> String {
    let len = length(&s);
    let width = alignment.unsigned_abs() as i32;
    if len >= width {
        return s;
    }
    let fill = " ".repeat((width - len) as usize);
    if alignment < 0 { s + &fill } else { fill + &s }
}

fn composite_error() -> DotNetException {
    DotNetException::format("Input string was not in a correct format.")
}

/// `string.Format(format, args)`: `{index[,alignment][:format]}` holes, `{{` and `}}`.
pub fn format_composite(format: &str, args: &[ClrValue]) -> DotNetResult<String> {
    let f: Vec<char> = format.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < f.len() {
        let c = f[i];
        if c == '}' {
            if f.get(i + 1) == Some(&'}') {
                out.push('}');
                i += 2;
                continue;
            }
            return Err(composite_error());
        }
        if c != '{' {
            out.push(c);
            i += 1;
            continue;
        }
        if f.get(i + 1) == Some(&'{') {
            out.push('{');
            i += 2;
            continue;
        }
        i += 1;
        let mut idx_text = String::new();
        while i < f.len() && f[i].is_ascii_digit() {
            idx_text.push(f[i]);
            i += 1;
        }
        if idx_text.is_empty() || idx_text.len() > 6 {
            return Err(composite_error());
        }
        let index: usize = idx_text.parse().map_err(|_| composite_error())?;
        while i < f.len() && f[i] == ' ' {
            i += 1;
        }
        let mut alignment = 0i32;
        if f.get(i) == Some(&',') {
            i += 1;
            while i < f.len() && f[i] == ' ' {
                i += 1;
            }
            let mut neg = false;
            if f.get(i) == Some(&'-') {
                neg = true;
                i += 1;
            }
            let mut t = String::new();
            while i < f.len() && f[i].is_ascii_digit() {
                t.push(f[i]);
                i += 1;
            }
            if t.is_empty() || t.len() > 6 {
                return Err(composite_error());
            }
            alignment = t.parse::<i32>().map_err(|_| composite_error())?;
            if neg {
                alignment = -alignment;
            }
            while i < f.len() && f[i] == ' ' {
                i += 1;
            }
        }
        let mut item_format = String::new();
        if f.get(i) == Some(&':') {
            i += 1;
            loop {
                match f.get(i) {
                    None => return Err(composite_error()),
                    Some('}') if f.get(i + 1) == Some(&'}') => {
                        item_format.push('}');
                        i += 2;
                    }
                    Some('}') => break,
                    Some('{') if f.get(i + 1) == Some(&'{') => {
                        item_format.push('{');
                        i += 2;
                    }
                    Some('{') => return Err(composite_error()),
                    Some(ch) => {
                        item_format.push(*ch);
                        i += 1;
                    }
                }
            }
        }
        if f.get(i) != Some(&'}') {
            return Err(composite_error());
        }
        i += 1;
        let arg = args.get(index).ok_or_else(|| {
            DotNetException::format(
                "Index (zero based) must be greater than or equal to zero and less than the size of the argument list.",
            )
        })?;
        let text = format_value(arg, &item_format)?;
        out.push_str(&apply_alignment(text, alignment));
    }
    Ok(out)
}

/// `System.Text.StringBuilder` basics (Append, AppendLine, AppendFormat, Insert, Remove,
/// Replace, Clear, Length, ToString).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StringBuilder {
    units: Vec<u16>,
}

impl StringBuilder {
    pub fn new() -> StringBuilder {
        StringBuilder::default()
    }
    pub fn from_str(s: &str) -> StringBuilder {
        StringBuilder { units: utf16(s) }
    }
    pub fn append(&mut self, s: &str) -> &mut Self {
        self.units.extend(s.encode_utf16());
        self
    }
    pub fn append_char(&mut self, c: u16, repeat: i32) -> DotNetResult<&mut Self> {
        if repeat < 0 {
            return Err(DotNetException::out_of_range(
                "repeatCount",
                "Count cannot be less than zero.",
            ));
        }
        if self.units.len() + repeat as usize > MAX_STRING_LENGTH {
            return Err(DotNetException::out_of_memory());
        }
        self.units.extend(std::iter::repeat_n(c, repeat as usize));
        Ok(self)
    }
    /// `AppendLine(s)`: uses the gateway's `Environment.NewLine` ("\r\n").
    pub fn append_line(&mut self, s: &str) -> &mut Self {
        self.append(s);
        self.append(crate::environment::new_line())
    }
    pub fn append_format(&mut self, format: &str, args: &[ClrValue]) -> DotNetResult<&mut Self> {
        let s = format_composite(format, args)?;
        Ok(self.append(&s))
    }
    pub fn insert(&mut self, index: i32, s: &str) -> DotNetResult<&mut Self> {
        if index < 0 || index as usize > self.units.len() {
            return Err(DotNetException::out_of_range(
                "index",
                "Index was out of range. Must be non-negative and less than or equal to the size of the collection.",
            ));
        }
        let tail = self.units.split_off(index as usize);
        self.units.extend(s.encode_utf16());
        self.units.extend(tail);
        Ok(self)
    }
    pub fn remove(&mut self, start: i32, len: i32) -> DotNetResult<&mut Self> {
        if start < 0 || len < 0 || start as usize + len as usize > self.units.len() {
            return Err(DotNetException::out_of_range(
                "length",
                "Index was out of range. Must be non-negative and less than the size of the collection.",
            ));
        }
        self.units
            .drain(start as usize..start as usize + len as usize);
        Ok(self)
    }
    pub fn replace(&mut self, old: &str, new: &str) -> DotNetResult<&mut Self> {
        let s = replace(&self.to_string_value(), old, Some(new))?;
        self.units = utf16(&s);
        Ok(self)
    }
    pub fn clear(&mut self) -> &mut Self {
        self.units.clear();
        self
    }
    pub fn length(&self) -> i32 {
        self.units.len() as i32
    }
    /// `Length = n`: truncates or pads with '\0'.
    pub fn set_length(&mut self, n: i32) -> DotNetResult<()> {
        if n < 0 {
            return Err(DotNetException::out_of_range(
                "value",
                "Length cannot be less than zero.",
            ));
        }
        self.units.resize(n as usize, 0);
        Ok(())
    }
    pub fn to_string_value(&self) -> String {
        from_utf16(&self.units)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExceptionKind;
    use StringComparison::*;

    #[test]
    fn utf16_lengths_and_substrings() {
        assert_eq!(length("héllo"), 5);
        assert_eq!(length("😀"), 2);
        assert_eq!(substring("hello", 1).unwrap(), "ello");
        assert_eq!(substring_len("hello", 1, 3).unwrap(), "ell");
        assert_eq!(substring("hello", 5).unwrap(), "");
        let e = substring("hello", 6).unwrap_err();
        assert_eq!(
            e.message,
            "startIndex cannot be larger than length of string. (Parameter 'startIndex')"
        );
        let e = substring_len("hello", 2, 4).unwrap_err();
        assert_eq!(
            e.message,
            "Index and length must refer to a location within the string. (Parameter 'length')"
        );
        assert_eq!(substring_len("a😀b", 1, 2).unwrap(), "😀");
        assert_eq!(
            char_at("ab", 2).unwrap_err().kind,
            ExceptionKind::IndexOutOfRangeException
        );
    }

    #[test]
    fn searching() {
        assert_eq!(
            index_of("hello world", "o", 0, None, CurrentCulture).unwrap(),
            4
        );
        assert_eq!(index_of("hello world", "o", 5, None, Ordinal).unwrap(), 7);
        assert_eq!(
            index_of("Hello", "hello", 0, None, OrdinalIgnoreCase).unwrap(),
            0
        );
        assert_eq!(index_of("abc", "", 1, None, Ordinal).unwrap(), 1);
        assert_eq!(
            index_of("abc", "c", 4, None, Ordinal).unwrap_err().kind,
            ExceptionKind::ArgumentOutOfRangeException
        );
        assert_eq!(index_of_char("a😀b", 'b' as u16, 0, None).unwrap(), 3);
        assert_eq!(last_index_of("abcabc", "bc", Ordinal), 4);
        assert_eq!(last_index_of_char("abcabc", 'a' as u16), 3);
        assert!(contains("Bearer x", "Bearer", Ordinal));
        assert!(!contains("bearer x", "Bearer", Ordinal));
        assert!(contains("bearer x", "BEARER", OrdinalIgnoreCase));
        assert!(starts_with(
            "application/json; charset",
            "application/json",
            CurrentCulture
        ));
        assert!(ends_with("file.JSON", ".json", OrdinalIgnoreCase));
        assert!(!ends_with("a", "ab", Ordinal));
    }

    #[test]
    fn replace_split_join_trim_pad() {
        assert_eq!(replace("a-b-c", "-", Some("+")).unwrap(), "a+b+c");
        assert_eq!(replace("a-b", "-", None).unwrap(), "ab");
        assert_eq!(
            replace("a", "", None).unwrap_err().kind,
            ExceptionKind::ArgumentException
        );
        assert_eq!(
            replace_with("A-a", "a", Some("x"), OrdinalIgnoreCase).unwrap(),
            "x-x"
        );
        let sp =
            |s: &str, c: &[u16], n: i32, o: u32| split(s, &Separators::Chars(c), n, o).unwrap();
        let comma = [',' as u16];
        assert_eq!(sp("a,,b,", &comma, i32::MAX, 0), vec!["a", "", "b", ""]);
        assert_eq!(sp("a,,b,", &comma, i32::MAX, 1), vec!["a", "b"]);
        assert_eq!(sp("a,b,c", &comma, 2, 0), vec!["a", "b,c"]);
        assert_eq!(sp(",a,,b,c", &comma, 2, 1), vec!["a", "b,c"]);
        assert_eq!(sp(" a , b ", &comma, i32::MAX, 3), vec!["a", "b"]);
        assert_eq!(sp("a b\tc", &[], i32::MAX, 0), vec!["a", "b", "c"]);
        assert_eq!(sp("", &comma, i32::MAX, 0), vec![""]);
        assert_eq!(sp("", &comma, i32::MAX, 1), Vec::<String>::new());
        assert_eq!(sp("abc", &comma, 0, 0), Vec::<String>::new());
        let bearer = split(
            "Bearer abc.def",
            &Separators::Chars(&[' ' as u16]),
            i32::MAX,
            0,
        )
        .unwrap();
        assert_eq!(bearer.last().map(String::as_str), Some("abc.def"));
        assert_eq!(
            split("a::b::c", &Separators::String("::"), i32::MAX, 0).unwrap(),
            vec!["a", "b", "c"]
        );
        assert_eq!(
            split("a::b", &Separators::String(""), i32::MAX, 0).unwrap(),
            vec!["a::b"]
        );
        assert_eq!(
            split("a-b_c", &Separators::Strings(&["-", "_"]), i32::MAX, 0).unwrap(),
            vec!["a", "b", "c"]
        );
        assert_eq!(
            split("a", &Separators::Chars(&comma), -1, 0)
                .unwrap_err()
                .kind,
            ExceptionKind::ArgumentOutOfRangeException
        );
        assert_eq!(
            join(", ", &[Some("a".into()), None, Some("c".into())]),
            "a, , c"
        );
        assert_eq!(trim("  x \t\n", &[], true, true), "x");
        assert_eq!(trim("xxaxx", &['x' as u16], true, false), "axx");
        assert_eq!(trim("/path/", &['/' as u16], false, true), "/path");
        assert_eq!(pad("7", 3, '0' as u16, true).unwrap(), "007");
        assert_eq!(pad("7", 3, ' ' as u16, false).unwrap(), "7  ");
        assert_eq!(pad("1234", 3, '0' as u16, true).unwrap(), "1234");
        assert!(pad("7", -1, ' ' as u16, true).is_err());
        assert_eq!(
            pad("7", i32::MAX, ' ' as u16, true).unwrap_err().kind,
            ExceptionKind::OutOfMemoryException
        );
        assert_eq!(insert("abc", 1, "X").unwrap(), "aXbc");
        assert_eq!(remove("abcdef", 2, Some(2)).unwrap(), "abef");
        assert_eq!(remove("abcdef", 4, None).unwrap(), "abcd");
        assert!(remove("abc", 3, None).is_err());
    }

    #[test]
    fn comparisons_and_case() {
        assert!(equals("ABC", "abc", OrdinalIgnoreCase));
        assert!(!equals("ABC", "abc", Ordinal));
        assert_eq!(compare(Some("a"), Some("b"), Ordinal), -1);
        assert_eq!(compare(Some("a"), Some("B"), CurrentCulture), -1);
        assert_eq!(compare(Some("a"), Some("A"), CurrentCulture), -1);
        assert_eq!(compare(Some("a"), Some("A"), CurrentCultureIgnoreCase), 0);
        assert!(compare(Some("B"), Some("a"), Ordinal) < 0);
        assert_eq!(compare(None, Some("a"), Ordinal), -1);
        assert!(
            is_null_or_empty(None) && is_null_or_empty(Some("")) && !is_null_or_empty(Some(" "))
        );
        assert!(is_null_or_white_space(Some(" \t")) && !is_null_or_white_space(Some(" a")));
        assert_eq!(to_upper_invariant("straße"), "STRAßE");
        assert_eq!(to_lower_invariant("ÀB"), "àb");
        assert!(char_is_digit('7' as u16) && !char_is_digit('x' as u16) && char_is_digit(0x0663));
        assert!(
            char_is_letter('é' as u16)
                && char_is_white_space(' ' as u16)
                && char_is_upper('A' as u16)
        );
        assert_eq!(char_to_upper('a' as u16), 'A' as u16);
        assert!(char_is_punctuation('!' as u16) && !char_is_punctuation('+' as u16));
    }

    #[test]
    fn composite_formatting() {
        let args = [
            ClrValue::Int32(42),
            ClrValue::Double(1234.5),
            ClrValue::String("x".into()),
            ClrValue::Null,
        ];
        assert_eq!(
            format_composite("{0} {1:N2} {2}", &args).unwrap(),
            "42 1,234.50 x"
        );
        assert_eq!(
            format_composite("[{0,5}] [{2,-3}] [{3}]", &args).unwrap(),
            "[   42] [x  ] []"
        );
        assert_eq!(format_composite("{{{0}}}", &args).unwrap(), "{42}");
        assert_eq!(format_composite("{0:D5}", &args).unwrap(), "00042");
        assert_eq!(
            format_composite("{4}", &args).unwrap_err().kind,
            ExceptionKind::FormatException
        );
        assert_eq!(
            format_composite("{0", &args).unwrap_err().kind,
            ExceptionKind::FormatException
        );
        assert_eq!(
            format_composite("}", &args).unwrap_err().kind,
            ExceptionKind::FormatException
        );
        let mut sb = StringBuilder::new();
        sb.append("a").append_line("b");
        sb.append_format("{0:X}", &[ClrValue::Int32(255)]).unwrap();
        sb.insert(0, ">").unwrap();
        assert_eq!(sb.to_string_value(), ">ab\r\nFF");
        assert_eq!(sb.length(), 7);
        sb.remove(0, 1).unwrap();
        sb.replace("FF", "ff").unwrap();
        assert_eq!(sb.to_string_value(), "ab\r\nff");
    }
}
