//! DotLiquid's standard filters with C# (PascalCase) names, at DotLiquid's default syntax
//! compatibility level (2.0): `Capitalize` title-cases words, `Replace`/`ReplaceFirst` take a
//! regular expression, `Plus` on a string concatenates, `Times` on a string repeats it.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;

use super::value::{LValue, double_to_decimal};

pub const FILTER_NAMES: &[&str] = &[
    "Abs",
    "Append",
    "AtLeast",
    "AtMost",
    "Capitalize",
    "Compact",
    "Currency",
    "Date",
    "Default",
    "DividedBy",
    "Downcase",
    "Escape",
    "First",
    "H",
    "Join",
    "Last",
    "Lstrip",
    "Map",
    "Minus",
    "Modulo",
    "NewlineToBr",
    "Plus",
    "Prepend",
    "Remove",
    "RemoveFirst",
    "Replace",
    "ReplaceFirst",
    "Round",
    "Rstrip",
    "Size",
    "Slice",
    "Sort",
    "Split",
    "Strip",
    "StripHtml",
    "StripNewlines",
    "Times",
    "Truncate",
    "TruncateWords",
    "Uniq",
    "Upcase",
    "UrlDecode",
    "UrlEncode",
];

type R = Result<LValue, String>;

fn s(v: &LValue) -> String {
    v.render()
}

fn arg<'a>(args: &'a [LValue], i: usize, filter: &str) -> Result<&'a LValue, String> {
    args.get(i)
        .ok_or_else(|| format!("filter '{filter}' needs {} argument(s)", i + 1))
}

fn str_or_nil(input: &LValue, f: impl FnOnce(String) -> String) -> LValue {
    match input {
        LValue::Nil => LValue::Nil,
        v => LValue::Str(f(s(v))),
    }
}

fn flatten(v: &LValue, out: &mut Vec<LValue>) {
    match v {
        LValue::Array(a) => a.iter().for_each(|x| flatten(x, out)),
        other => out.push(other.clone()),
    }
}

fn to_decimal(v: &LValue) -> Option<Decimal> {
    match v {
        LValue::Int(i) => Some(Decimal::from(*i)),
        LValue::Float(f) => double_to_decimal(*f),
        LValue::Decimal(d) => Some(*d),
        LValue::Str(t) => t.trim().parse::<Decimal>().ok(),
        _ => None,
    }
}

fn math(name: &str, input: &LValue, operand: &LValue) -> R {
    if input.is_nil() || operand.is_nil() {
        return Ok(LValue::Nil);
    }
    let real = |v: &LValue| matches!(v, LValue::Float(_) | LValue::Decimal(_));
    if real(input) || real(operand) {
        let (Some(a), Some(b)) = (to_decimal(input), to_decimal(operand)) else {
            return Err(format!("{name}: operands must be numbers"));
        };
        let r = match name {
            "Plus" => a.checked_add(b),
            "Minus" => a.checked_sub(b),
            "Times" => a.checked_mul(b),
            "DividedBy" => {
                if b.is_zero() {
                    return Err("Attempted to divide by zero.".into());
                }
                a.checked_div(b).map(|d| d.normalize())
            }
            _ => {
                if b.is_zero() {
                    return Err("Attempted to divide by zero.".into());
                }
                a.checked_rem(b)
            }
        };
        return match r {
            Some(d) => Ok(LValue::Decimal(d)),
            None => {
                let (x, y) = (
                    input.as_f64().unwrap_or(0.0),
                    operand.as_f64().unwrap_or(0.0),
                );
                Ok(LValue::Float(match name {
                    "Plus" => x + y,
                    "Minus" => x - y,
                    "Times" => x * y,
                    "DividedBy" => x / y,
                    _ => x % y,
                }))
            }
        };
    }
    match (input, operand) {
        (LValue::Int(a), LValue::Int(b)) => {
            let r = match name {
                "Plus" => a.checked_add(*b),
                "Minus" => a.checked_sub(*b),
                "Times" => a.checked_mul(*b),
                "DividedBy" | "Modulo" if *b == 0 => {
                    return Err("Attempted to divide by zero.".into());
                }
                "DividedBy" => a.checked_div(*b),
                _ => a.checked_rem(*b),
            };
            r.map(LValue::Int)
                .ok_or_else(|| "Arithmetic operation resulted in an overflow.".to_string())
        }
        _ => Err(format!(
            "{name}: operands must be numbers (got {} and {})",
            s(input),
            s(operand)
        )),
    }
}

fn title_case(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    for (i, word) in t.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let all_upper =
            word.chars().any(char::is_alphabetic) && word.chars().all(|c| !c.is_lowercase());
        if all_upper {
            out.push_str(word);
            continue;
        }
        let mut chars = word.chars();
        if let Some(f) = chars.next() {
            out.extend(f.to_uppercase());
            out.push_str(&chars.as_str().to_lowercase());
        }
    }
    out
}

fn regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("invalid pattern '{pattern}': {e}"))
}

/// .NET `Math.Round(decimal, places)`: to even.
fn round_half_even(d: Decimal, places: u32) -> Decimal {
    d.round_dp_with_strategy(places, rust_decimal::RoundingStrategy::MidpointNearestEven)
}

fn parse_date(t: &str) -> Option<NaiveDateTime> {
    let t = t.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.naive_utc());
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(t) {
        return Some(d.naive_utc());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %I:%M:%S %p",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Some(d);
        }
    }
    for f in ["%Y-%m-%d", "%m/%d/%Y", "%B %d, %Y", "%d %B %Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, f) {
            return d.and_hms_opt(0, 0, 0);
        }
    }
    None
}

/// `DateTime.ToString(format)` with en-US standard formats (DotLiquid formats with the
/// current culture); custom patterns, and any other one-letter format, are .NET's own.
pub fn format_dotnet_date(d: &NaiveDateTime, format: &str) -> Result<String, String> {
    let pattern = match format {
        "d" => "M/d/yyyy",
        "D" => "dddd, MMMM d, yyyy",
        "t" => "h:mm tt",
        "T" => "h:mm:ss tt",
        "g" => "M/d/yyyy h:mm tt",
        "G" => "M/d/yyyy h:mm:ss tt",
        "f" => "dddd, MMMM d, yyyy h:mm tt",
        "F" => "dddd, MMMM d, yyyy h:mm:ss tt",
        "U" => "dddd, MMMM d, yyyy h:mm:ss tt",
        "s" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
        "u" => "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
        "o" | "O" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffff",
        "r" | "R" => "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
        "M" | "m" => "MMMM d",
        "y" | "Y" => "MMMM yyyy",
        other => other,
    };
    // Ticks: 100 ns since 0001-01-01 (62135596800 s before the Unix epoch).
    let utc = d.and_utc();
    let ticks = (utc.timestamp() + 62_135_596_800)
        .checked_mul(10_000_000)
        .map(|t| t + i64::from(utc.timestamp_subsec_nanos() / 100));
    let dt = ticks
        .ok_or_else(|| "the date is out of range".to_string())
        .and_then(|t| {
            apim_dotnet::DateTime::from_ticks(t, apim_dotnet::DateTimeKind::Unspecified)
                .map_err(|e| e.message)
        })?;
    apim_dotnet::datetime_format::format_date_time(dt, pattern).map_err(|e| e.message)
}

fn currency(v: &LValue) -> LValue {
    let Some(d) = to_decimal(v) else {
        return LValue::Str(s(v));
    };
    let r = round_half_even(d, 2);
    let neg = r.is_sign_negative() && !r.is_zero();
    let text = format!("{:.2}", r.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    LValue::Str(format!("{}${grouped}.{frac}", if neg { "-" } else { "" }))
}

fn truncate_utf16(t: &str, n: usize) -> String {
    let units: Vec<u16> = t.encode_utf16().take(n).collect();
    String::from_utf16_lossy(&units)
}

pub fn apply(name: &str, input: LValue, args: &[LValue], now: DateTime<Utc>) -> R {
    Ok(match name {
        "Size" => LValue::Int(match &input {
            LValue::Str(t) => t.encode_utf16().count() as i64,
            LValue::Array(a) => a.len() as i64,
            LValue::Object(o) => o.len() as i64,
            _ => 0,
        }),
        "Downcase" => str_or_nil(&input, |t| t.to_lowercase()),
        "Upcase" => str_or_nil(&input, |t| t.to_uppercase()),
        "Capitalize" => str_or_nil(&input, |t| title_case(&t)),
        "Escape" | "H" => str_or_nil(&input, |t| apim_dotnet::web::html_encode(&t)),
        "UrlEncode" => str_or_nil(&input, |t| apim_dotnet::web::url_encode(&t)),
        "UrlDecode" => str_or_nil(&input, |t| apim_dotnet::web::url_decode(&t)),
        "Strip" => str_or_nil(&input, |t| t.trim().to_string()),
        "Lstrip" => str_or_nil(&input, |t| t.trim_start().to_string()),
        "Rstrip" => str_or_nil(&input, |t| t.trim_end().to_string()),
        "StripNewlines" => str_or_nil(&input, |t| t.replace("\r\n", "").replace('\n', "")),
        "NewlineToBr" => str_or_nil(&input, |t| {
            t.replace("\r\n", "<br />\u{0}")
                .replace('\n', "<br />\n")
                .replace('\u{0}', "\r\n")
        }),
        "StripHtml" => {
            let blocks = regex(r"(?is)<script.*?</script>|<!--.*?-->|<style.*?</style>")?;
            let tags = regex(r"(?s)<.*?>")?;
            str_or_nil(&input, |t| {
                tags.replace_all(&blocks.replace_all(&t, ""), "")
                    .into_owned()
            })
        }
        "Append" => str_or_nil(&input, |t| {
            t + &s(arg(args, 0, name).unwrap_or(&LValue::Nil))
        }),
        "Prepend" => str_or_nil(&input, |t| {
            s(arg(args, 0, name).unwrap_or(&LValue::Nil)) + &t
        }),
        "Remove" => {
            let pat = s(arg(args, 0, name)?);
            str_or_nil(&input, |t| {
                if pat.is_empty() || t.trim().is_empty() {
                    t
                } else {
                    t.replace(&pat, "")
                }
            })
        }
        "Replace" | "ReplaceFirst" | "RemoveFirst" => {
            let pat = s(arg(args, 0, name)?);
            let rep = if name == "RemoveFirst" {
                String::new()
            } else {
                args.get(1).map(s).unwrap_or_default()
            };
            match &input {
                LValue::Nil => LValue::Nil,
                v => {
                    let t = s(v);
                    if t.is_empty() || pat.is_empty() {
                        LValue::Str(t)
                    } else {
                        let re = regex(&pat)?;
                        LValue::Str(if name == "Replace" {
                            re.replace_all(&t, rep.as_str()).into_owned()
                        } else {
                            re.replace(&t, rep.as_str()).into_owned()
                        })
                    }
                }
            }
        }
        "Truncate" => {
            let len = args.first().and_then(LValue::as_i64).unwrap_or(50);
            let tail = args.get(1).map(s).unwrap_or_else(|| "...".into());
            match &input {
                LValue::Nil => LValue::Nil,
                v => {
                    let t = s(v);
                    if t.is_empty() {
                        LValue::Str(t)
                    } else if len < 0 {
                        LValue::Str(tail)
                    } else if t.encode_utf16().count() as i64 > len {
                        let keep = (len - tail.encode_utf16().count() as i64).max(0) as usize;
                        LValue::Str(truncate_utf16(&t, keep) + &tail)
                    } else {
                        LValue::Str(t)
                    }
                }
            }
        }
        "TruncateWords" => {
            let words = args.first().and_then(LValue::as_i64).unwrap_or(15);
            let tail = args.get(1).map(s).unwrap_or_else(|| "...".into());
            match &input {
                LValue::Nil => LValue::Nil,
                v => {
                    let t = s(v);
                    if t.is_empty() {
                        LValue::Str(t)
                    } else if words <= 0 {
                        LValue::Str(tail)
                    } else {
                        let parts: Vec<&str> = t.split(' ').collect();
                        if parts.len() as i64 > words {
                            LValue::Str(parts[..words as usize].join(" ") + &tail)
                        } else {
                            LValue::Str(t)
                        }
                    }
                }
            }
        }
        "Split" => {
            let pat = s(arg(args, 0, name)?);
            let t = s(&input);
            if t.trim().is_empty() {
                LValue::Array(vec![input])
            } else if pat.is_empty() {
                LValue::Array(t.chars().map(|c| LValue::Str(c.to_string())).collect())
            } else {
                LValue::Array(
                    t.split(pat.as_str())
                        .filter(|p| !p.is_empty())
                        .map(|p| LValue::Str(p.into()))
                        .collect(),
                )
            }
        }
        "Slice" => {
            let start = arg(args, 0, name)?
                .as_i64()
                .ok_or("Slice: start must be an integer")?;
            let len = args.get(1).and_then(LValue::as_i64).unwrap_or(1);
            match &input {
                LValue::Str(t) => {
                    let units: Vec<u16> = t.encode_utf16().collect();
                    let n = units.len() as i64;
                    let (mut st, mut ln) = (start, len);
                    if st > n {
                        return Ok(LValue::Nil);
                    }
                    if st < 0 {
                        st += n;
                        if st < 0 {
                            ln = (ln + st).max(0);
                            st = 0;
                        }
                    }
                    if st + ln > n {
                        ln = n - st;
                    }
                    let ln = ln.max(0);
                    LValue::Str(String::from_utf16_lossy(
                        &units[st as usize..(st + ln) as usize],
                    ))
                }
                LValue::Array(a) if a.iter().all(|x| matches!(x, LValue::Str(_))) => {
                    let skip = if start < 0 {
                        (a.len() as i64 + start).max(0)
                    } else {
                        start
                    } as usize;
                    LValue::Str(
                        a.iter()
                            .skip(skip)
                            .take(len.max(0) as usize)
                            .map(s)
                            .collect(),
                    )
                }
                other => other.clone(),
            }
        }
        "Join" => match &input {
            LValue::Nil => LValue::Nil,
            v => {
                let glue = args.first().map(s).unwrap_or_else(|| " ".into());
                LValue::Str(v.items().iter().map(s).collect::<Vec<_>>().join(&glue))
            }
        },
        "First" => match &input {
            LValue::Str(t) => t
                .chars()
                .next()
                .map(|c| LValue::Str(c.to_string()))
                .unwrap_or(LValue::Nil),
            v => v.items().into_iter().next().unwrap_or(LValue::Nil),
        },
        "Last" => match &input {
            LValue::Str(t) => t
                .chars()
                .last()
                .map(|c| LValue::Str(c.to_string()))
                .unwrap_or(LValue::Nil),
            v => v.items().into_iter().last().unwrap_or(LValue::Nil),
        },
        "Sort" => {
            if input.is_nil() {
                return Ok(LValue::Nil);
            }
            let mut items = Vec::new();
            let property = args.first().map(s);
            match (&input, &property) {
                (LValue::Array(a), Some(_)) => items = a.clone(),
                _ => flatten(&input, &mut items),
            }
            let key = |v: &LValue| match &property {
                Some(p) => v.member(p),
                None => v.clone(),
            };
            items.sort_by(|a, b| {
                let (ka, kb) = (key(a), key(b));
                match (ka.as_f64(), kb.as_f64(), &ka, &kb) {
                    (_, _, LValue::Str(x), LValue::Str(y)) => {
                        x.to_lowercase().cmp(&y.to_lowercase())
                    }
                    (Some(x), Some(y), _, _) => {
                        x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal)
                    }
                    (_, _, LValue::Nil, LValue::Nil) => std::cmp::Ordering::Equal,
                    (_, _, LValue::Nil, _) => std::cmp::Ordering::Less,
                    (_, _, _, LValue::Nil) => std::cmp::Ordering::Greater,
                    _ => s(&ka).cmp(&s(&kb)),
                }
            });
            LValue::Array(items)
        }
        "Map" => {
            let p = s(arg(args, 0, name)?);
            match &input {
                LValue::Nil => LValue::Nil,
                v => LValue::Array(v.items().iter().map(|x| x.member(&p)).collect()),
            }
        }
        "Uniq" | "Compact" => {
            if input.is_nil() {
                return Ok(LValue::Nil);
            }
            let mut items = Vec::new();
            flatten(&input, &mut items);
            let mut out: Vec<LValue> = Vec::new();
            for i in items {
                if name == "Compact" {
                    if !i.is_nil() {
                        out.push(i);
                    }
                } else if !out.contains(&i) {
                    out.push(i);
                }
            }
            LValue::Array(out)
        }
        "Plus" if matches!(input, LValue::Str(_)) => {
            LValue::Str(s(&input) + &s(arg(args, 0, name)?))
        }
        "Times"
            if matches!(input, LValue::Str(_)) && matches!(args.first(), Some(LValue::Int(_))) =>
        {
            let n = args.first().and_then(LValue::as_i64).unwrap_or(0);
            let len = s(&input).len() as i64;
            if n > 1_000_000 || n.saturating_mul(len) > super::MAX_OUTPUT_BYTES as i64 {
                return Err("Times: result too large".into());
            }
            LValue::Array((0..n.max(0)).map(|_| input.clone()).collect())
        }
        "Plus" | "Minus" | "Times" | "DividedBy" | "Modulo" => {
            math(name, &input, arg(args, 0, name)?)?
        }
        "Round" => {
            let places = match args.first() {
                Some(p) => match p.as_i64() {
                    Some(p) if (0..=28).contains(&p) => p as u32,
                    _ => return Ok(LValue::Nil),
                },
                None => 0,
            };
            match to_decimal(&input) {
                Some(d) => LValue::Decimal(round_half_even(d, places)),
                None => LValue::Nil,
            }
        }
        "Abs" => LValue::Float(s(&input).trim().parse::<f64>().map(f64::abs).unwrap_or(0.0)),
        "AtLeast" | "AtMost" => {
            let other = arg(args, 0, name)?;
            match (
                s(&input).trim().parse::<f64>(),
                s(other).trim().parse::<f64>(),
            ) {
                (Ok(n), Ok(m)) => LValue::Float(if name == "AtLeast" {
                    n.max(m)
                } else {
                    n.min(m)
                }),
                _ => input,
            }
        }
        "Default" => {
            let t = match &input {
                LValue::Nil => String::new(),
                v => s(v),
            };
            if t.trim().is_empty() {
                arg(args, 0, name)?.clone()
            } else {
                LValue::Str(t)
            }
        }
        "Currency" => currency(&input),
        "Date" => {
            let format = args.first().map(s).unwrap_or_default();
            let value = s(&input);
            if input.is_nil() {
                return Ok(LValue::Nil);
            }
            let date = if value.eq_ignore_ascii_case("now") || value.eq_ignore_ascii_case("today") {
                now.naive_utc()
            } else {
                match parse_date(&value) {
                    Some(d) => d,
                    None => return Ok(LValue::Str(value)),
                }
            };
            let format = if format.trim().is_empty() {
                "G"
            } else {
                &format
            };
            LValue::Str(format_dotnet_date(&date, format)?)
        }
        other => return Err(format!("unknown filter '{other}'")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-03-05T17:08:09.1234567Z")
            .unwrap()
            .to_utc()
    }

    fn f(name: &str, input: LValue, args: &[LValue]) -> LValue {
        apply(name, input, args, now()).unwrap()
    }

    fn st(t: &str) -> LValue {
        LValue::Str(t.into())
    }

    #[test]
    fn string_filters() {
        assert_eq!(
            f("Capitalize", st("hello wORLD NASA"), &[]),
            st("Hello World NASA")
        );
        assert_eq!(
            f("Escape", st("<a href=\"x\">'&'</a>"), &[]),
            st("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
        );
        assert_eq!(f("UrlEncode", st("a b&c/d"), &[]), st("a+b%26c%2Fd"));
        assert_eq!(f("UrlDecode", st("a+b%26c"), &[]), st("a b&c"));
        assert_eq!(
            f(
                "Truncate",
                st("Ground control to Major Tom."),
                &[LValue::Int(20)]
            ),
            st("Ground control to...")
        );
        assert_eq!(
            f(
                "TruncateWords",
                st("Ground control to Major Tom."),
                &[LValue::Int(3)]
            ),
            st("Ground control to...")
        );
        assert_eq!(
            f("Replace", st("a1b22c"), &[st("[0-9]+"), st("#")]),
            st("a#b#c")
        );
        assert_eq!(
            f("ReplaceFirst", st("a1b22c"), &[st("[0-9]+"), st("#")]),
            st("a#b22c")
        );
        assert_eq!(f("RemoveFirst", st("xaxa"), &[st("a")]), st("xxa"));
        assert_eq!(f("Remove", st("xaxa"), &[st("a")]), st("xx"));
        assert_eq!(
            f("Split", st("a,b,,c"), &[st(",")]),
            LValue::Array(vec![st("a"), st("b"), st("c")])
        );
        assert_eq!(
            f("Slice", st("Liquid"), &[LValue::Int(-3), LValue::Int(2)]),
            st("ui")
        );
        assert_eq!(
            f(
                "StripHtml",
                st("<p>Hi <b>there</b></p><script>x()</script>"),
                &[]
            ),
            st("Hi there")
        );
        assert_eq!(f("NewlineToBr", st("a\nb"), &[]), st("a<br />\nb"));
        assert_eq!(f("StripNewlines", st("a\r\nb\nc"), &[]), st("abc"));
        assert_eq!(f("Upcase", LValue::Nil, &[]), LValue::Nil);
        assert_eq!(f("Plus", st("a"), &[st("b")]), st("ab"));
        assert_eq!(f("Times", st("ab"), &[LValue::Int(2)]).render(), "abab");
    }

    #[test]
    fn number_filters() {
        assert_eq!(
            f("DividedBy", LValue::Int(10), &[LValue::Int(4)]),
            LValue::Int(2)
        );
        assert_eq!(
            f("DividedBy", LValue::Float(10.0), &[LValue::Int(4)]).render(),
            "2.5"
        );
        assert_eq!(
            f("Plus", LValue::Float(0.1), &[LValue::Float(0.2)]).render(),
            "0.3"
        );
        assert_eq!(f("Round", LValue::Float(2.5), &[]).render(), "2");
        assert_eq!(
            f("Round", LValue::Float(1.23456), &[LValue::Int(2)]).render(),
            "1.23"
        );
        assert_eq!(f("Abs", st("-3"), &[]).render(), "3");
        assert_eq!(
            f("AtLeast", LValue::Int(3), &[LValue::Int(5)]).render(),
            "5"
        );
        assert_eq!(f("AtMost", LValue::Int(3), &[LValue::Int(5)]).render(), "3");
        assert_eq!(f("Currency", LValue::Float(1234.5), &[]), st("$1,234.50"));
        assert_eq!(f("Currency", LValue::Int(-5), &[]), st("-$5.00"));
        assert!(apply("Plus", LValue::Int(i64::MAX), &[LValue::Int(1)], now()).is_err());
        assert!(apply("Minus", st("5"), &[LValue::Int(1)], now()).is_err());
    }

    #[test]
    fn array_filters() {
        let arr = LValue::Array(vec![st("b"), st("A"), LValue::Nil, st("b")]);
        assert_eq!(f("Compact", arr.clone(), &[]).render(), "bAb");
        assert_eq!(f("Uniq", arr.clone(), &[]).render(), "bA");
        assert_eq!(
            f("Sort", LValue::Array(vec![st("b"), st("A"), st("c")]), &[]).render(),
            "Abc"
        );
        assert_eq!(f("First", arr.clone(), &[]), st("b"));
        assert_eq!(f("Last", arr, &[]), st("b"));
        let objs = LValue::from(&serde_json::json!([{"n": "x", "p": 2}, {"n": "y", "p": 1}]));
        assert_eq!(f("Map", objs.clone(), &[st("n")]).render(), "xy");
        assert_eq!(
            f(
                "Join",
                f("Map", f("Sort", objs, &[st("p")]), &[st("n")]),
                &[st("-")]
            ),
            st("y-x")
        );
        assert_eq!(
            f(
                "Join",
                LValue::Array(vec![LValue::Int(1), LValue::Int(2)]),
                &[]
            ),
            st("1 2")
        );
    }

    #[test]
    fn date_filter_uses_dotnet_formats() {
        assert_eq!(
            f("Date", st("now"), &[st("yyyy-MM-dd HH:mm:ss")]),
            st("2024-03-05 17:08:09")
        );
        assert_eq!(
            f(
                "Date",
                st("2021-07-04T09:05:00Z"),
                &[st("dddd, MMMM d, yyyy h:mm tt")]
            ),
            st("Sunday, July 4, 2021 9:05 AM")
        );
        assert_eq!(
            f("Date", st("2021-07-04"), &[st("MMM dd 'at' HH\\h")]),
            st("Jul 04 at 00h")
        );
        assert_eq!(f("Date", st("not a date"), &[st("yyyy")]), st("not a date"));
        assert_eq!(f("Date", st("now"), &[st("fff")]), st("123"));
        assert_eq!(
            f("Date", st("now"), &[st("o")]),
            st("2024-03-05T17:08:09.1234567")
        );
        // Standard formats in en-US, the default one `G`.
        assert_eq!(
            f("Date", st("2021-07-04T21:05:00Z"), &[st("d")]),
            st("7/4/2021")
        );
        assert_eq!(
            f("Date", st("2021-07-04T21:05:00Z"), &[]),
            st("7/4/2021 9:05:00 PM")
        );
        // A one-letter format that is not a standard one is .NET's FormatException.
        assert!(apply("Date", st("now"), &[st("h")], now()).is_err());
    }
}
