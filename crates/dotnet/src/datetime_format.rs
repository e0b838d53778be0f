//! DateTime / DateTimeOffset / TimeSpan formatting and parsing (invariant culture).

use crate::datetime::{DateTime, DateTimeOffset, TICKS_PER_DAY, TICKS_PER_SECOND, TimeSpan};

/// `TimeSpan.ToString()` = "c": `[-][d.]hh:mm:ss[.fffffff]`.
pub fn format_timespan_c(t: TimeSpan) -> String {
    let ticks = t.ticks();
    let mut out = String::new();
    let abs = ticks.unsigned_abs();
    if ticks < 0 {
        out.push('-');
    }
    let days = abs / TICKS_PER_DAY as u64;
    let rem = abs % TICKS_PER_DAY as u64;
    if days != 0 {
        out.push_str(&format!("{days}."));
    }
    let secs = rem / TICKS_PER_SECOND as u64;
    out.push_str(&format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    ));
    let frac = rem % TICKS_PER_SECOND as u64;
    if frac != 0 {
        out.push_str(&format!(".{frac:07}"));
    }
    out
}

/// `DateTime.ToString()` in the invariant culture: `MM/dd/yyyy HH:mm:ss`.
pub fn format_date_time_default(d: DateTime) -> String {
    let (y, m, day) = d.ymd();
    format!(
        "{m:02}/{day:02}/{y:04} {:02}:{:02}:{:02}",
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// `DateTimeOffset.ToString()` in the invariant culture: `MM/dd/yyyy HH:mm:ss zzz`.
pub fn format_date_time_offset_default(d: DateTimeOffset) -> String {
    let m = d.offset_minutes();
    let sign = if m < 0 { '-' } else { '+' };
    format!(
        "{} {sign}{:02}:{:02}",
        format_date_time_default(d.date_time()),
        m.abs() / 60,
        m.abs() % 60
    )
}

use crate::datetime::{DateTimeKind, MAX_TICKS, TICKS_PER_HOUR, TICKS_PER_MINUTE};
use crate::error::{DotNetException, DotNetResult};
use std::sync::LazyLock;

pub(crate) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(crate) const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A parsed date/time before the kind rules are applied.
#[derive(Debug, Clone, Copy)]
struct ParsedDateTime {
    clock_ticks: i64,
    /// Offset from UTC in minutes when the text carried a zone (Z/GMT → 0).
    offset_minutes: Option<i64>,
}

fn bad_date(s: &str) -> DotNetException {
    DotNetException::format(format!(
        "String '{s}' was not recognized as a valid DateTime."
    ))
}

fn month_from_name(name: &str) -> Option<i64> {
    let lower = name.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| {
            let ml = m.to_ascii_lowercase();
            lower == ml || (lower.len() == 3 && ml.starts_with(&lower))
        })
        .map(|i| i as i64 + 1)
}

static ISO: LazyLock<fancy_regex::Regex> = LazyLock::new(|| {
    fancy_regex::Regex::new(
        r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|z|GMT|[+-]\d{1,2}(?::?\d{2})?)?$",
    )
    .expect("static regex")
});
static SLASHED: LazyLock<fancy_regex::Regex> = LazyLock::new(|| {
    fancy_regex::Regex::new(
        r"(?i)^(\d{1,4})[/.-](\d{1,2})[/.-](\d{1,4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(AM|PM)?)?\s*(Z|GMT|[+-]\d{1,2}(?::?\d{2})?)?$",
    )
    .expect("static regex")
});
static MONTH_YEAR: LazyLock<fancy_regex::Regex> = LazyLock::new(|| {
    fancy_regex::Regex::new(r"(?i)^([a-z]+)\.?,?\s+(\d{4})$").expect("static regex")
});
static NAMED: LazyLock<fancy_regex::Regex> = LazyLock::new(|| {
    fancy_regex::Regex::new(
        r"(?i)^(?:([a-z]+),?\s+)?(?:(\d{1,2})\s+([a-z]+)\.?,?\s+(\d{4})|([a-z]+)\.?\s+(\d{1,2}),?\s+(\d{4}))(?:\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(AM|PM)?)?\s*(Z|GMT|UTC|[+-]\d{1,2}(?::?\d{2})?)?$",
    )
    .expect("static regex")
});

fn cap<'t>(c: &fancy_regex::Captures<'t>, i: usize) -> Option<&'t str> {
    c.get(i).map(|m| m.as_str())
}

fn num(s: Option<&str>) -> i64 {
    s.and_then(|t| t.parse().ok()).unwrap_or(0)
}

fn fraction_ticks(s: Option<&str>) -> i64 {
    match s {
        None => 0,
        Some(d) => {
            let v: f64 = format!("0.{d}").parse().unwrap_or(0.0);
            (v * 10_000_000.0).round() as i64
        }
    }
}

fn zone_minutes(z: Option<&str>) -> Option<i64> {
    let z = z?;
    if z.eq_ignore_ascii_case("Z") || z.eq_ignore_ascii_case("GMT") || z.eq_ignore_ascii_case("UTC")
    {
        return Some(0);
    }
    let sign = if z.starts_with('-') { -1 } else { 1 };
    let body = &z[1..];
    let (h, m) = if let Some((h, m)) = body.split_once(':') {
        (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?)
    } else if body.len() > 2 {
        (
            body[..body.len() - 2].parse().ok()?,
            body[body.len() - 2..].parse().ok()?,
        )
    } else {
        (body.parse().ok()?, 0)
    };
    Some(sign * (h * 60 + m))
}

#[allow(clippy::too_many_arguments)]
fn build(
    y: i64,
    mo: i64,
    d: i64,
    h: i64,
    mi: i64,
    s: i64,
    frac: i64,
    ampm: Option<&str>,
) -> Option<i64> {
    let mut h = h;
    if let Some(ap) = ampm {
        if !(1..=12).contains(&h) {
            return None;
        }
        let pm = ap.eq_ignore_ascii_case("PM");
        h = match (pm, h) {
            (false, 12) => 0,
            (true, 12) => 12,
            (true, x) => x + 12,
            (false, x) => x,
        };
    }
    let dt = crate::datetime::DateTime::new(
        y as i32,
        mo as i32,
        d as i32,
        h as i32,
        mi as i32,
        s as i32,
        0,
        DateTimeKind::Unspecified,
    )
    .ok()?;
    Some(dt.ticks() + frac)
}

/// A date with the time read from the captures: hour, minute, second and fraction from group
/// `at` on, then (when the pattern has one) the AM/PM group, then the zone group.
fn with_time(
    c: &fancy_regex::Captures<'_>,
    (y, mo, d): (i64, i64, i64),
    at: usize,
    has_am_pm: bool,
) -> Option<ParsedDateTime> {
    let (am_pm, zone) = if has_am_pm {
        (cap(c, at + 4), at + 5)
    } else {
        (None, at + 4)
    };
    let (h, mi, sec) = (num(cap(c, at)), num(cap(c, at + 1)), num(cap(c, at + 2)));
    let ticks = build(y, mo, d, h, mi, sec, fraction_ticks(cap(c, at + 3)), am_pm)?;
    Some(ParsedDateTime {
        clock_ticks: ticks,
        offset_minutes: zone_minutes(cap(c, zone)),
    })
}

fn parse_any(s: &str) -> Option<ParsedDateTime> {
    let t = s.trim_matches(crate::string::is_dotnet_whitespace);
    if let Ok(Some(c)) = ISO.captures(t) {
        let date = (num(cap(&c, 1)), num(cap(&c, 2)), num(cap(&c, 3)));
        return with_time(&c, date, 4, false);
    }
    if let Ok(Some(c)) = SLASHED.captures(t) {
        let (a, b, cc) = (cap(&c, 1)?, num(cap(&c, 2)), cap(&c, 3)?);
        // yyyy/MM/dd or MM/dd/yyyy (invariant culture's month-first order).
        let (y, mo, d) = if a.len() == 4 {
            (num(Some(a)), b, num(Some(cc)))
        } else {
            (num(Some(cc)), num(Some(a)), b)
        };
        let y = if cc.len() <= 2 && a.len() != 4 {
            2000 + y - if y > 49 { 100 } else { 0 }
        } else {
            y
        };
        return with_time(&c, (y, mo, d), 4, true);
    }
    if let Ok(Some(c)) = MONTH_YEAR.captures(t) {
        let mo = month_from_name(cap(&c, 1)?)?;
        let ticks = build(num(cap(&c, 2)), mo, 1, 0, 0, 0, 0, None)?;
        return Some(ParsedDateTime {
            clock_ticks: ticks,
            offset_minutes: None,
        });
    }
    if let Ok(Some(c)) = NAMED.captures(t) {
        let mut day_of_week = None;
        if let Some(dn) = cap(&c, 1) {
            let dl = dn.to_ascii_lowercase();
            let idx = DAYS.iter().position(|d| {
                let d = d.to_ascii_lowercase();
                d == dl || (dl.len() == 3 && d.starts_with(&dl))
            })?;
            day_of_week = Some(idx);
        }
        let (d, mo, y) = if cap(&c, 2).is_some() {
            (
                num(cap(&c, 2)),
                month_from_name(cap(&c, 3)?)?,
                num(cap(&c, 4)),
            )
        } else {
            (
                num(cap(&c, 6)),
                month_from_name(cap(&c, 5)?)?,
                num(cap(&c, 7)),
            )
        };
        let parsed = with_time(&c, (y, mo, d), 8, true)?;
        // A day name must agree with the date, as .NET checks.
        if let Some(dow) = day_of_week
            && DateTime::from_ticks(parsed.clock_ticks, DateTimeKind::Unspecified)
                .ok()?
                .day_of_week() as usize
                != dow
        {
            return None;
        }
        return Some(parsed);
    }
    None
}

static TIME_ONLY: LazyLock<fancy_regex::Regex> = LazyLock::new(|| {
    fancy_regex::Regex::new(r"(?i)^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(AM|PM)?\s*(Z|GMT|[+-]\d{1,2}(?::?\d{2})?)?$")
        .expect("static regex")
});

fn parse_time_only(s: &str, today: DateTime) -> Option<ParsedDateTime> {
    let t = s.trim_matches(crate::string::is_dotnet_whitespace);
    let c = TIME_ONLY.captures(t).ok()??;
    let (y, m, d) = today.ymd();
    with_time(&c, (y as i64, m as i64, d as i64), 1, true)
}

/// `DateTime.Parse(s)` where a time without a date takes `today` (the host clock's date), as
/// .NET takes the current date.
pub fn parse_date_time_at(s: &str, today: DateTime) -> DotNetResult<DateTime> {
    let p = parse_any(s)
        .or_else(|| parse_time_only(s, today))
        .ok_or_else(|| bad_date(s))?;
    finish_parse(s, p)
}

/// `DateTime.Parse(s)` (invariant culture): ISO 8601, `MM/dd/yyyy [HH:mm:ss]`, RFC 1123 and
/// month-name forms. A zone (Z, GMT, ±hh:mm) converts to local time (the gateway's zone is
/// UTC) with Kind Local; no zone gives Kind Unspecified. A time without a date needs the
/// host's date: use [`parse_date_time_at`].
pub fn parse_date_time(s: &str) -> DotNetResult<DateTime> {
    let p = match parse_any(s) {
        Some(p) => p,
        None if parse_time_only(s, DateTime::MIN_VALUE).is_some() => {
            return Err(DotNetException::not_supported(
                "DateTime.Parse of a time without a date (needs the host's date; use parse_date_time_at)",
            ));
        }
        None => return Err(bad_date(s)),
    };
    finish_parse(s, p)
}

fn finish_parse(s: &str, p: ParsedDateTime) -> DotNetResult<DateTime> {
    match p.offset_minutes {
        None => {
            DateTime::from_ticks(p.clock_ticks, DateTimeKind::Unspecified).map_err(|_| bad_date(s))
        }
        Some(m) => {
            let utc = p.clock_ticks - m * TICKS_PER_MINUTE;
            if !(0..=MAX_TICKS).contains(&utc) {
                return Err(bad_date(s));
            }
            DateTime::from_ticks(utc, DateTimeKind::Local).map_err(|_| bad_date(s))
        }
    }
}

/// `DateTime.TryParse`.
pub fn try_parse_date_time(s: &str) -> Option<DateTime> {
    parse_date_time(s).ok()
}

/// `DateTimeOffset.Parse(s)` (invariant culture); no zone means the local offset (+00:00).
pub fn parse_date_time_offset(s: &str) -> DotNetResult<DateTimeOffset> {
    let p = parse_any(s).ok_or_else(|| bad_date(s))?;
    let clock =
        DateTime::from_ticks(p.clock_ticks, DateTimeKind::Unspecified).map_err(|_| bad_date(s))?;
    DateTimeOffset::new(
        clock,
        TimeSpan::from_ticks(p.offset_minutes.unwrap_or(0) * TICKS_PER_MINUTE),
    )
}

fn bad_timespan(s: &str) -> DotNetException {
    DotNetException::format(format!(
        "String '{s}' was not recognized as a valid TimeSpan."
    ))
}

fn timespan_range(s: &str) -> DotNetException {
    DotNetException::overflow(format!(
        "The TimeSpan string '{s}' could not be parsed because at least one of the numeric components is out of range or contains too many digits."
    ))
}

/// `TimeSpan.Parse(s)` (invariant): `[-]d`, `[-][d.]hh:mm[:ss[.fffffff]]`, `[-]d:hh:mm:ss[.f]`.
pub fn parse_timespan(s: &str) -> DotNetResult<TimeSpan> {
    let t = s.trim_matches(crate::string::is_dotnet_whitespace);
    let (neg, body) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    if body.is_empty() {
        return Err(bad_timespan(s));
    }
    let digits_ok = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    let parse_part = |x: &str, max: i64| -> DotNetResult<i64> {
        if !digits_ok(x) {
            return Err(bad_timespan(s));
        }
        let v: i64 = x.parse().map_err(|_| timespan_range(s))?;
        if v > max {
            return Err(timespan_range(s));
        }
        Ok(v)
    };
    let frac_ticks = |x: &str| -> DotNetResult<i64> {
        if !digits_ok(x) {
            return Err(bad_timespan(s));
        }
        if x.len() > 7 {
            return Err(timespan_range(s));
        }
        let mut v: i64 = x.parse().map_err(|_| bad_timespan(s))?;
        for _ in x.len()..7 {
            v *= 10;
        }
        Ok(v)
    };
    let (days, hms, frac) = if !body.contains(':') {
        (parse_part(body, 10_675_199)?, [0, 0, 0], 0)
    } else {
        let parts: Vec<&str> = body.split(':').collect();
        let (days, rest): (i64, Vec<&str>) = match parts.len() {
            2 | 3 => {
                // [d.]hh:mm[:ss[.f]]
                let first = parts[0];
                match first.split_once('.') {
                    Some((d, h)) => {
                        let mut r = vec![h];
                        r.extend(&parts[1..]);
                        (parse_part(d, 10_675_199)?, r)
                    }
                    None => (0, parts.clone()),
                }
            }
            4 => (parse_part(parts[0], 10_675_199)?, parts[1..].to_vec()),
            _ => return Err(bad_timespan(s)),
        };
        let h = parse_part(rest[0], 23)?;
        let m = parse_part(rest[1], 59)?;
        let (sec, frac) = match rest.get(2) {
            None => (0, 0),
            Some(x) => match x.split_once('.') {
                Some((a, f)) => (parse_part(a, 59)?, frac_ticks(f)?),
                None => (parse_part(x, 59)?, 0),
            },
        };
        (days, [h, m, sec], frac)
    };
    let ticks = (days as i128 * crate::datetime::TICKS_PER_DAY as i128)
        + hms[0] as i128 * TICKS_PER_HOUR as i128
        + hms[1] as i128 * TICKS_PER_MINUTE as i128
        + hms[2] as i128 * TICKS_PER_SECOND as i128
        + frac as i128;
    let ticks = if neg { -ticks } else { ticks };
    if ticks > i64::MAX as i128 || ticks < i64::MIN as i128 {
        return Err(timespan_range(s));
    }
    Ok(TimeSpan::from_ticks(ticks as i64))
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn parse_iso_and_kinds() {
        let d = parse_date_time("2024-05-01T12:30:15.5Z").unwrap();
        assert_eq!(d.kind(), DateTimeKind::Local);
        assert_eq!(
            (d.hour(), d.minute(), d.second(), d.millisecond()),
            (12, 30, 15, 500)
        );
        let d = parse_date_time("2024-05-01T12:30:00+02:00").unwrap();
        assert_eq!(d.hour(), 10);
        let d = parse_date_time("2024-05-01").unwrap();
        assert_eq!(d.kind(), DateTimeKind::Unspecified);
        assert_eq!(d.ymd(), (2024, 5, 1));
        assert_eq!(
            parse_date_time("05/01/2024 13:00:00").unwrap().ymd(),
            (2024, 5, 1)
        );
        assert_eq!(parse_date_time("5/1/2024 1:00:00 PM").unwrap().hour(), 13);
        let r = parse_date_time("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            (r.ymd(), r.hour(), r.kind()),
            ((1994, 11, 6), 8, DateTimeKind::Local)
        );
        assert_eq!(parse_date_time("June 1, 2024").unwrap().ymd(), (2024, 6, 1));
        let e = parse_date_time("not a date").unwrap_err();
        assert_eq!(
            e.message,
            "String 'not a date' was not recognized as a valid DateTime."
        );
        assert!(parse_date_time("2023-02-30").is_err());
        let o = parse_date_time_offset("2024-05-01T12:00:00+02:00").unwrap();
        assert_eq!((o.hour(), o.offset_minutes()), (12, 120));
        let today = DateTime::from_ymd(2024, 5, 1).unwrap();
        let t = parse_date_time_at("1:30 PM", today).unwrap();
        assert_eq!((t.ymd(), t.hour(), t.minute()), ((2024, 5, 1), 13, 30));
        assert_eq!(
            parse_date_time("13:30").unwrap_err().kind,
            crate::error::ExceptionKind::NotSupportedException
        );
    }

    #[test]
    fn parse_timespans() {
        assert_eq!(parse_timespan("00:00:30").unwrap().ticks(), 300_000_000);
        assert_eq!(
            parse_timespan("1.02:03:04.5").unwrap(),
            TimeSpan::new(1, 2, 3, 4, 500).unwrap()
        );
        assert_eq!(parse_timespan("10").unwrap().days(), 10);
        assert_eq!(parse_timespan("-0:01").unwrap().ticks(), -600_000_000);
        assert_eq!(
            parse_timespan("1:02:03:04").unwrap(),
            TimeSpan::new(1, 2, 3, 4, 0).unwrap()
        );
        assert_eq!(
            parse_timespan("25:00").unwrap_err().kind,
            crate::error::ExceptionKind::OverflowException
        );
        assert_eq!(
            parse_timespan("x").unwrap_err().kind,
            crate::error::ExceptionKind::FormatException
        );
    }
}

fn bad_format() -> DotNetException {
    DotNetException::format("Input string was not in a correct format.")
}

const ABBREV_DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// The invariant pattern a standard DateTime format letter expands to.
fn standard_pattern(c: char, offset_form: bool) -> Option<&'static str> {
    Some(match c {
        'd' => "MM/dd/yyyy",
        'D' => "dddd, dd MMMM yyyy",
        'f' => "dddd, dd MMMM yyyy HH:mm",
        'F' => "dddd, dd MMMM yyyy HH:mm:ss",
        'g' => "MM/dd/yyyy HH:mm",
        'G' => "MM/dd/yyyy HH:mm:ss",
        'm' | 'M' => "MMMM dd",
        'o' | 'O' => {
            if offset_form {
                "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffzzz"
            } else {
                "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK"
            }
        }
        'r' | 'R' => "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
        's' => "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
        't' => "HH:mm",
        'T' => "HH:mm:ss",
        'u' => "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
        'U' => "dddd, dd MMMM yyyy HH:mm:ss",
        'y' | 'Y' => "yyyy MMMM",
        _ => return None,
    })
}

fn repeat_count(f: &[char], i: usize) -> usize {
    let c = f[i];
    let mut n = 1;
    while i + n < f.len() && f[i + n] == c {
        n += 1;
    }
    n
}

fn push_offset(out: &mut String, minutes: i32, len: usize) {
    out.push(if minutes < 0 { '-' } else { '+' });
    let a = minutes.abs();
    match len {
        1 => out.push_str(&(a / 60).to_string()),
        2 => out.push_str(&format!("{:02}", a / 60)),
        _ => out.push_str(&format!("{:02}:{:02}", a / 60, a % 60)),
    }
}

/// A one-letter specifier writes the number as is, a longer one with at least two digits.
fn push_one_or_two(out: &mut String, v: i32, n: usize) {
    if n == 1 {
        out.push_str(&v.to_string());
    } else {
        out.push_str(&format!("{v:02}"));
    }
}

/// Custom DateTime pattern over clock time; `offset` = Some(minutes) for DateTimeOffset.
fn format_custom(dt: DateTime, offset: Option<i32>, format: &str) -> DotNetResult<String> {
    let f: Vec<char> = format.chars().collect();
    let mut out = String::new();
    let (y, mo, d) = dt.ymd();
    let mut i = 0;
    while i < f.len() {
        let c = f[i];
        let n = repeat_count(&f, i);
        match c {
            'd' => {
                match n {
                    1 => out.push_str(&d.to_string()),
                    2 => out.push_str(&format!("{d:02}")),
                    3 => out.push_str(ABBREV_DAYS[dt.day_of_week() as usize]),
                    _ => out.push_str(DAYS[dt.day_of_week() as usize]),
                }
                i += n;
            }
            'f' | 'F' => {
                if n > 7 {
                    return Err(bad_format());
                }
                let frac = dt.ticks() % TICKS_PER_SECOND;
                let digits = format!("{frac:07}");
                let part = &digits[..n];
                if c == 'f' {
                    out.push_str(part);
                } else {
                    let t = part.trim_end_matches('0');
                    if t.is_empty() {
                        if out.ends_with('.') {
                            out.pop();
                        }
                    } else {
                        out.push_str(t);
                    }
                }
                i += n;
            }
            'g' => {
                out.push_str("A.D.");
                i += n;
            }
            'h' => {
                let h = dt.hour() % 12;
                push_one_or_two(&mut out, if h == 0 { 12 } else { h }, n);
                i += n;
            }
            'H' => {
                push_one_or_two(&mut out, dt.hour(), n);
                i += n;
            }
            'm' => {
                push_one_or_two(&mut out, dt.minute(), n);
                i += n;
            }
            'M' => {
                match n {
                    1 => out.push_str(&mo.to_string()),
                    2 => out.push_str(&format!("{mo:02}")),
                    3 => out.push_str(&MONTHS[mo as usize - 1][..3]),
                    _ => out.push_str(MONTHS[mo as usize - 1]),
                }
                i += n;
            }
            's' => {
                push_one_or_two(&mut out, dt.second(), n);
                i += n;
            }
            't' => {
                let ap = if dt.hour() < 12 { "AM" } else { "PM" };
                out.push_str(if n == 1 { &ap[..1] } else { ap });
                i += n;
            }
            'y' => {
                if n <= 2 {
                    push_one_or_two(&mut out, y % 100, n);
                } else {
                    out.push_str(&format!("{y:0n$}"));
                }
                i += n;
            }
            'z' => {
                push_offset(&mut out, offset.unwrap_or(0), n);
                i += n;
            }
            'K' => {
                match offset {
                    Some(m) => push_offset(&mut out, m, 3),
                    None => match dt.kind() {
                        DateTimeKind::Utc => out.push('Z'),
                        DateTimeKind::Local => push_offset(&mut out, 0, 3),
                        DateTimeKind::Unspecified => {}
                    },
                }
                i += 1;
            }
            ':' | '/' => {
                out.push(c);
                i += 1;
            }
            '\'' | '"' => {
                let mut j = i + 1;
                let mut closed = false;
                while j < f.len() {
                    if f[j] == '\\' && j + 1 < f.len() {
                        out.push(f[j + 1]);
                        j += 2;
                        continue;
                    }
                    if f[j] == c {
                        closed = true;
                        break;
                    }
                    out.push(f[j]);
                    j += 1;
                }
                if !closed {
                    return Err(DotNetException::format(format!(
                        "Cannot find a matching quote character for the character '{c}'."
                    )));
                }
                i = j + 1;
            }
            '%' => {
                // "%d": the next character is a single custom specifier.
                if i + 1 < f.len() && f[i + 1] != '%' {
                    let next: String = f[i + 1].to_string();
                    out.push_str(&format_custom(dt, offset, &next)?);
                    i += 2;
                } else {
                    return Err(bad_format());
                }
            }
            '\\' => {
                if i + 1 < f.len() {
                    out.push(f[i + 1]);
                    i += 2;
                } else {
                    return Err(bad_format());
                }
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// `DateTime.ToString(format)` (invariant culture): standard formats d D f F g G m M o O
/// r R s t T u U y Y and custom patterns. The gateway's zone is UTC, so local and universal
/// times coincide.
pub fn format_date_time(dt: DateTime, format: &str) -> DotNetResult<String> {
    if format.is_empty() {
        return Ok(format_date_time_default(dt));
    }
    let chars: Vec<char> = format.chars().collect();
    if chars.len() == 1 {
        let pattern = standard_pattern(chars[0], false).ok_or_else(bad_format)?;
        let dt = if chars[0] == 'U' {
            dt.with_kind(DateTimeKind::Utc)
        } else {
            dt
        };
        return format_custom(dt, None, pattern);
    }
    format_custom(dt, None, format)
}

/// `DateTimeOffset.ToString(format)` (invariant culture). "r"/"u" print UTC; K/z print the
/// offset; "U" is not valid for DateTimeOffset.
pub fn format_date_time_offset(dto: DateTimeOffset, format: &str) -> DotNetResult<String> {
    if format.is_empty() {
        return Ok(format_date_time_offset_default(dto));
    }
    let chars: Vec<char> = format.chars().collect();
    if chars.len() == 1 {
        let c = chars[0];
        if c == 'U' {
            return Err(bad_format());
        }
        let pattern = standard_pattern(c, true).ok_or_else(bad_format)?;
        if matches!(c, 'r' | 'R' | 'u') {
            return format_custom(dto.utc_date_time(), Some(0), pattern);
        }
        return format_custom(dto.date_time(), Some(dto.offset_minutes()), pattern);
    }
    format_custom(dto.date_time(), Some(dto.offset_minutes()), format)
}

/// `TimeSpan.ToString(format)`: "c"/"t"/"T" (constant), "g" (general short), "G" (general
/// long) and custom patterns (d h m s f F, quotes and `\` escapes).
pub fn format_timespan(t: TimeSpan, format: &str) -> DotNetResult<String> {
    let ticks = t.ticks();
    let abs = ticks.unsigned_abs();
    let days = abs / TICKS_PER_DAY as u64;
    let rem = abs % TICKS_PER_DAY as u64;
    let secs = rem / TICKS_PER_SECOND as u64;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let frac = rem % TICKS_PER_SECOND as u64;
    let sign = if ticks < 0 { "-" } else { "" };
    match format {
        "" | "c" | "t" | "T" => return Ok(format_timespan_c(t)),
        "g" => {
            let mut out = sign.to_string();
            if days > 0 {
                out.push_str(&format!("{days}:"));
            }
            out.push_str(&format!("{h}:{m:02}:{s:02}"));
            if frac > 0 {
                out.push_str(&format!(".{}", format!("{frac:07}").trim_end_matches('0')));
            }
            return Ok(out);
        }
        "G" => return Ok(format!("{sign}{days}:{h:02}:{m:02}:{s:02}.{frac:07}")),
        _ => {}
    }
    let f: Vec<char> = format.chars().collect();
    if f.len() == 1 {
        return Err(bad_format());
    }
    let mut out = String::new();
    let mut i = 0;
    while i < f.len() {
        let c = f[i];
        let n = repeat_count(&f, i);
        match c {
            'd' => {
                if n > 8 {
                    return Err(bad_format());
                }
                out.push_str(&format!("{days:0n$}"));
                i += n;
            }
            'h' | 'm' | 's' => {
                if n > 2 {
                    return Err(bad_format());
                }
                let v = match c {
                    'h' => h,
                    'm' => m,
                    _ => s,
                };
                // below 60: hours, minutes and seconds of the day
                push_one_or_two(&mut out, v as i32, n);
                i += n;
            }
            'f' | 'F' => {
                if n > 7 {
                    return Err(bad_format());
                }
                let digits = format!("{frac:07}");
                let part = &digits[..n];
                if c == 'f' {
                    out.push_str(part);
                } else {
                    out.push_str(part.trim_end_matches('0'));
                }
                i += n;
            }
            '\'' | '"' => {
                let mut j = i + 1;
                while j < f.len() && f[j] != c {
                    out.push(f[j]);
                    j += 1;
                }
                if j >= f.len() {
                    return Err(bad_format());
                }
                i = j + 1;
            }
            '\\' => {
                if i + 1 >= f.len() {
                    return Err(bad_format());
                }
                out.push(f[i + 1]);
                i += 2;
            }
            '%' => {
                if i + 1 >= f.len() {
                    return Err(bad_format());
                }
                i += 1;
            }
            _ => return Err(bad_format()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod format_tests {
    use super::*;

    fn dt() -> DateTime {
        DateTime::new(2024, 5, 1, 13, 5, 9, 120, DateTimeKind::Utc)
            .unwrap()
            .add_ticks(3456)
            .unwrap()
    }

    #[test]
    fn standard_date_formats() {
        let d = dt();
        let f = |s: &str| format_date_time(d, s).unwrap();
        assert_eq!(format_date_time_default(d), "05/01/2024 13:05:09");
        assert_eq!(f("d"), "05/01/2024");
        assert_eq!(f("D"), "Wednesday, 01 May 2024");
        assert_eq!(f("f"), "Wednesday, 01 May 2024 13:05");
        assert_eq!(f("F"), "Wednesday, 01 May 2024 13:05:09");
        assert_eq!(f("g"), "05/01/2024 13:05");
        assert_eq!(f("G"), "05/01/2024 13:05:09");
        assert_eq!(f("M"), "May 01");
        assert_eq!(f("o"), "2024-05-01T13:05:09.1203456Z");
        assert_eq!(f("r"), "Wed, 01 May 2024 13:05:09 GMT");
        assert_eq!(f("s"), "2024-05-01T13:05:09");
        assert_eq!(f("t"), "13:05");
        assert_eq!(f("T"), "13:05:09");
        assert_eq!(f("u"), "2024-05-01 13:05:09Z");
        assert_eq!(f("y"), "2024 May");
        assert!(format_date_time(d, "q").is_err());
        let local = d.with_kind(DateTimeKind::Local);
        assert_eq!(
            format_date_time(local, "o").unwrap(),
            "2024-05-01T13:05:09.1203456+00:00"
        );
        let unspec = d.with_kind(DateTimeKind::Unspecified);
        assert_eq!(
            format_date_time(unspec, "o").unwrap(),
            "2024-05-01T13:05:09.1203456"
        );
    }

    #[test]
    fn custom_date_formats() {
        let d = dt();
        let f = |s: &str| format_date_time(d, s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(f("yyyy-MM-ddTHH:mm:ssZ"), "2024-05-01T13:05:09Z");
        assert_eq!(f("yyyyMMddHHmmss"), "20240501130509");
        assert_eq!(f("h:mm tt"), "1:05 PM");
        assert_eq!(f("hh t"), "01 P");
        assert_eq!(f("ddd d MMM M yy y"), "Wed 1 May 5 24 24");
        assert_eq!(f("fff"), "120");
        assert_eq!(f("fffffff"), "1203456");
        assert_eq!(f("ss.FFFF"), "09.1203");
        assert_eq!(f("'Day' dd"), "Day 01");
        assert_eq!(f("\\d dd"), "d 01");
        assert_eq!(f("%d"), "1");
        assert_eq!(f("zzz"), "+00:00");
        assert_eq!(f("%K"), "Z");
        assert!(format_date_time(d, "K").is_err());
        let whole = DateTime::from_ymd(2024, 1, 2).unwrap();
        assert_eq!(format_date_time(whole, "HH:mm:ss.FFF").unwrap(), "00:00:00");
        assert!(format_date_time(d, "ffffffff").is_err());
        assert!(format_date_time(d, "'open").is_err());
    }

    #[test]
    fn offset_formats() {
        let clock = DateTime::new(2024, 5, 1, 12, 0, 0, 0, DateTimeKind::Unspecified).unwrap();
        let o = DateTimeOffset::new(clock, TimeSpan::from_hms(2, 0, 0).unwrap()).unwrap();
        assert_eq!(
            format_date_time_offset_default(o),
            "05/01/2024 12:00:00 +02:00"
        );
        for (format, formatted) in [
            ("o", "2024-05-01T12:00:00.0000000+02:00"),
            ("u", "2024-05-01 10:00:00Z"),
            ("r", "Wed, 01 May 2024 10:00:00 GMT"),
            ("yyyy zz K", "2024 +02 +02:00"),
        ] {
            assert_eq!(format_date_time_offset(o, format).unwrap(), formatted);
        }
        assert!(format_date_time_offset(o, "U").is_err());
    }

    #[test]
    fn timespan_formats() {
        let t = TimeSpan::new(1, 2, 3, 4, 500).unwrap();
        assert_eq!(format_timespan(t, "c").unwrap(), "1.02:03:04.5000000");
        assert_eq!(format_timespan(t, "g").unwrap(), "1:2:03:04.5");
        assert_eq!(format_timespan(t, "G").unwrap(), "1:02:03:04.5000000");
        assert_eq!(
            format_timespan(t.negate().unwrap(), "c").unwrap(),
            "-1.02:03:04.5000000"
        );
        assert_eq!(
            format_timespan(TimeSpan::from_seconds(90.0).unwrap(), "").unwrap(),
            "00:01:30"
        );
        assert_eq!(format_timespan(t, "hh\\:mm\\:ss").unwrap(), "02:03:04");
        assert_eq!(format_timespan(t, "d'd 'h'h'").unwrap(), "1d 2h");
        assert_eq!(
            format_timespan(t, "mm:ss").unwrap_err().kind,
            crate::error::ExceptionKind::FormatException
        );
        assert!(format_timespan(t, "x").is_err());
    }
}

/// Fields read by `ParseExact`.
#[derive(Default)]
struct ExactFields {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    day_of_week: Option<usize>,
    hour: Option<i64>,
    hour12: bool,
    pm: Option<bool>,
    minute: i64,
    second: i64,
    fraction: i64,
    offset: Option<i64>,
}

struct ExactInput<'a> {
    s: &'a [char],
    i: usize,
}

impl ExactInput<'_> {
    /// A one-letter specifier reads one or two digits, a longer one exactly two.
    fn one_or_two(&mut self, n: usize) -> Option<i64> {
        self.digits(if n == 1 { 1 } else { 2 }, 2)
    }

    fn digits(&mut self, min: usize, max: usize) -> Option<i64> {
        let mut v = 0i64;
        let mut n = 0;
        while n < max {
            match self.s.get(self.i).and_then(|c| c.to_digit(10)) {
                Some(d) => {
                    v = v * 10 + d as i64;
                    self.i += 1;
                    n += 1;
                }
                None => break,
            }
        }
        if n < min { None } else { Some(v) }
    }
    fn word(&mut self, words: &[&str]) -> Option<usize> {
        // Longest match first (so "May" does not shadow longer names).
        let mut best: Option<(usize, usize)> = None;
        for (k, w) in words.iter().enumerate() {
            let wc: Vec<char> = w.chars().collect();
            if self.s.len() >= self.i + wc.len()
                && self.s[self.i..self.i + wc.len()]
                    .iter()
                    .zip(&wc)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b))
                && best.is_none_or(|(_, l)| wc.len() > l)
            {
                best = Some((k, wc.len()));
            }
        }
        let (k, l) = best?;
        self.i += l;
        Some(k)
    }
    fn lit(&mut self, c: char) -> Option<()> {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }
    fn offset(&mut self, len: usize) -> Option<i64> {
        let sign = match self.s.get(self.i) {
            Some('+') => 1,
            Some('-') => -1,
            _ => return None,
        };
        self.i += 1;
        let h = self.one_or_two(len)?;
        let mut m = 0;
        if len >= 3 {
            self.lit(':')?;
            m = self.digits(2, 2)?;
        }
        if h > 14 || m > 59 {
            return None;
        }
        Some(sign * (h * 60 + m))
    }
}

fn parse_by_format(s: &[char], format: &str) -> Option<ExactFields> {
    let f: Vec<char> = format.chars().collect();
    let mut inp = ExactInput { s, i: 0 };
    let mut r = ExactFields::default();
    let mut i = 0;
    while i < f.len() {
        let c = f[i];
        let n = repeat_count(&f, i);
        match c {
            'y' => {
                let v = if n <= 2 {
                    inp.one_or_two(n)?
                } else {
                    inp.digits(n, n)?
                };
                r.year = Some(if n <= 2 {
                    // TwoDigitYearMax = 2049.
                    if v > 49 { 1900 + v } else { 2000 + v }
                } else {
                    v
                });
                i += n;
            }
            'M' => {
                r.month = Some(match n {
                    1 | 2 => inp.one_or_two(n)?,
                    3 => {
                        let abbrev: Vec<&str> = MONTHS.iter().map(|m| &m[..3]).collect();
                        inp.word(&abbrev)? as i64 + 1
                    }
                    _ => inp.word(&MONTHS)? as i64 + 1,
                });
                i += n;
            }
            'd' => {
                match n {
                    1 | 2 => r.day = Some(inp.one_or_two(n)?),
                    3 => r.day_of_week = Some(inp.word(&ABBREV_DAYS)?),
                    _ => r.day_of_week = Some(inp.word(&DAYS)?),
                }
                i += n;
            }
            'h' | 'H' => {
                r.hour = Some(inp.one_or_two(n)?);
                r.hour12 = c == 'h';
                i += n;
            }
            'm' => {
                r.minute = inp.one_or_two(n)?;
                i += n;
            }
            's' => {
                r.second = inp.one_or_two(n)?;
                i += n;
            }
            'f' | 'F' => {
                if n > 7 {
                    return None;
                }
                let start = inp.i;
                let v = if c == 'f' {
                    inp.digits(n, n)?
                } else {
                    inp.digits(0, n).unwrap_or(0)
                };
                let got = inp.i - start;
                let mut frac = v;
                for _ in got..7 {
                    frac *= 10;
                }
                r.fraction = frac;
                i += n;
            }
            't' => {
                let ap = if n == 1 {
                    inp.word(&["A", "P"])?
                } else {
                    inp.word(&["AM", "PM"])?
                };
                r.pm = Some(ap == 1);
                i += n;
            }
            'z' => {
                r.offset = Some(inp.offset(n)?);
                i += n;
            }
            'K' => {
                if inp.lit('Z').is_some() {
                    r.offset = Some(0);
                } else if matches!(inp.s.get(inp.i), Some('+') | Some('-')) {
                    r.offset = Some(inp.offset(3)?);
                }
                i += 1;
            }
            'Z' => {
                // An unquoted Z in the format is the UTC designator.
                inp.lit('Z')?;
                r.offset = Some(0);
                i += 1;
            }
            '\'' | '"' => {
                let mut j = i + 1;
                let mut text = String::new();
                while j < f.len() && f[j] != c {
                    if f[j] == '\\' && j + 1 < f.len() {
                        j += 1;
                    }
                    text.push(f[j]);
                    j += 1;
                }
                if j >= f.len() {
                    return None;
                }
                for ch in text.chars() {
                    inp.lit(ch)?;
                }
                i = j + 1;
            }
            '\\' => {
                inp.lit(*f.get(i + 1)?)?;
                i += 2;
            }
            '%' => {
                i += 1;
            }
            'G' if f.get(i + 1) == Some(&'M') && f.get(i + 2) == Some(&'T') => {
                // An unquoted GMT in the format is a UTC designator.
                for ch in ['G', 'M', 'T'] {
                    inp.lit(ch)?;
                }
                r.offset = Some(0);
                i += 3;
            }
            other => {
                inp.lit(other)?;
                i += 1;
            }
        }
    }
    if inp.i != s.len() {
        return None;
    }
    Some(r)
}

fn exact_to_date(r: &ExactFields, today: DateTime) -> Option<(i64, Option<i64>)> {
    let no_date = r.year.is_none() && r.month.is_none() && r.day.is_none();
    let (ty, tm, td) = today.ymd();
    let year = r.year.unwrap_or(if no_date { ty as i64 } else { 1 });
    let month = r.month.unwrap_or(if no_date { tm as i64 } else { 1 });
    let day = r.day.unwrap_or(if no_date { td as i64 } else { 1 });
    let mut hour = r.hour.unwrap_or(0);
    if r.hour12 || r.pm.is_some() {
        if let Some(pm) = r.pm {
            if r.hour12 && !(1..=12).contains(&hour) {
                return None;
            }
            hour %= 12;
            if pm {
                hour += 12;
            }
        } else if hour == 12 {
            hour = 0;
        }
    }
    let dt = DateTime::new(
        year as i32,
        month as i32,
        day as i32,
        hour as i32,
        r.minute as i32,
        r.second as i32,
        0,
        DateTimeKind::Unspecified,
    )
    .ok()?;
    if let Some(dow) = r.day_of_week
        && dt.day_of_week() as usize != dow
    {
        return None;
    }
    Some((dt.ticks() + r.fraction, r.offset))
}

fn expand_exact_format(format: &str, offset_form: bool) -> DotNetResult<String> {
    let chars: Vec<char> = format.chars().collect();
    if chars.len() == 1 {
        return standard_pattern(chars[0], offset_form)
            .map(str::to_string)
            .ok_or_else(bad_format);
    }
    Ok(format.to_string())
}

/// `DateTime.ParseExact(s, formats, InvariantCulture, DateTimeStyles.None)`: the first
/// matching format wins; a zone in the text converts to local time (UTC here, Kind Local).
/// `today` supplies the date when the format has only time fields (from the host clock).
pub fn parse_exact_date_time(s: &str, formats: &[&str], today: DateTime) -> DotNetResult<DateTime> {
    let (ticks, offset) = match_exact(s, formats, today, false)?;
    match offset {
        None => DateTime::from_ticks(ticks, DateTimeKind::Unspecified),
        Some(m) => {
            let utc = ticks - m * TICKS_PER_MINUTE;
            DateTime::from_ticks(utc, DateTimeKind::Local).map_err(|_| bad_date(s))
        }
    }
}

/// Clock ticks and zone offset (minutes) from the first of `formats` the text matches, in
/// order, as ParseExact tries them; an empty format is a FormatException.
fn match_exact(
    s: &str,
    formats: &[&str],
    today: DateTime,
    offset_form: bool,
) -> DotNetResult<(i64, Option<i64>)> {
    let chars: Vec<char> = s.chars().collect();
    for f in formats {
        if f.is_empty() {
            return Err(DotNetException::format("Format specifier was invalid."));
        }
        let pattern = expand_exact_format(f, offset_form)?;
        if let Some(r) = parse_by_format(&chars, &pattern)
            && let Some(found) = exact_to_date(&r, today)
        {
            return Ok(found);
        }
    }
    Err(bad_date(s))
}

/// `DateTimeOffset.ParseExact(s, formats, InvariantCulture)`: no zone in the text means the
/// local offset (+00:00).
pub fn parse_exact_date_time_offset(
    s: &str,
    formats: &[&str],
    today: DateTime,
) -> DotNetResult<DateTimeOffset> {
    let (ticks, offset) = match_exact(s, formats, today, true)?;
    let clock = DateTime::from_ticks(ticks, DateTimeKind::Unspecified)?;
    DateTimeOffset::new(
        clock,
        TimeSpan::from_ticks(offset.unwrap_or(0) * TICKS_PER_MINUTE),
    )
}

#[cfg(test)]
mod exact_tests {
    use super::*;

    fn today() -> DateTime {
        DateTime::from_ymd(2024, 5, 1).unwrap()
    }

    #[test]
    fn parse_exact_patterns() {
        let d = parse_exact_date_time("2024-05-01 13:05:09", &["yyyy-MM-dd HH:mm:ss"], today())
            .unwrap();
        assert_eq!(
            (d.ymd(), d.hour(), d.kind()),
            ((2024, 5, 1), 13, DateTimeKind::Unspecified)
        );
        let d = parse_exact_date_time("2024-05-01T13:05:09Z", &["yyyy-MM-ddTHH:mm:ssZ"], today())
            .unwrap();
        assert_eq!((d.hour(), d.kind()), (13, DateTimeKind::Local));
        let d = parse_exact_date_time("01/May/2024:1:05 PM", &["dd/MMM/yyyy:h:mm tt"], today())
            .unwrap();
        assert_eq!((d.hour(), d.minute()), (13, 5));
        // The quoted 'GMT' of "r" is a literal: Unspecified (as .NET/Mono); unquoted GMT is UTC.
        let d = parse_exact_date_time("Wed, 01 May 2024 13:05:09 GMT", &["r"], today()).unwrap();
        assert_eq!((d.hour(), d.kind()), (13, DateTimeKind::Unspecified));
        let d = parse_exact_date_time(
            "06 Nov 1994 08:49:37 GMT",
            &["dd MMM yyyy HH:mm:ss GMT"],
            today(),
        )
        .unwrap();
        assert_eq!((d.hour(), d.kind()), (8, DateTimeKind::Local));
        let d = parse_exact_date_time("20240501", &["yyyyMMdd"], today()).unwrap();
        assert_eq!(d.ymd(), (2024, 5, 1));
        let d = parse_exact_date_time("09:30", &["HH:mm"], today()).unwrap();
        assert_eq!((d.ymd(), d.hour(), d.minute()), ((2024, 5, 1), 9, 30));
        let d =
            parse_exact_date_time("2024-05-01T13:05:09.1234567+02:00", &["o"], today()).unwrap();
        assert_eq!((d.hour(), d.millisecond()), (11, 123));
        assert!(parse_exact_date_time("2024-5-01", &["yyyy-MM-dd"], today()).is_err());
        assert!(parse_exact_date_time(" 2024-05-01", &["yyyy-MM-dd"], today()).is_err());
        assert!(parse_exact_date_time("Thu, 01 May 2024", &["ddd, dd MMM yyyy"], today()).is_err());
        assert!(parse_exact_date_time("x", &["q"], today()).is_err());
        let d = parse_exact_date_time("1.5.24", &["d.M.yy", "yyyy"], today()).unwrap();
        assert_eq!(d.ymd(), (2024, 5, 1));
        let o = parse_exact_date_time_offset(
            "2024-05-01 12:00 +02:00",
            &["yyyy-MM-dd HH:mm zzz"],
            today(),
        )
        .unwrap();
        assert_eq!((o.hour(), o.offset_minutes()), (12, 120));
    }
}
