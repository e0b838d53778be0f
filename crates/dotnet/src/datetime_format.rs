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

fn parse_any(s: &str) -> Option<ParsedDateTime> {
    let t = s.trim_matches(crate::string::is_dotnet_whitespace);
    if let Ok(Some(c)) = ISO.captures(t) {
        let ticks = build(
            num(cap(&c, 1)),
            num(cap(&c, 2)),
            num(cap(&c, 3)),
            num(cap(&c, 4)),
            num(cap(&c, 5)),
            num(cap(&c, 6)),
            fraction_ticks(cap(&c, 7)),
            None,
        )?;
        return Some(ParsedDateTime {
            clock_ticks: ticks,
            offset_minutes: zone_minutes(cap(&c, 8)),
        });
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
        let ticks = build(
            y,
            mo,
            d,
            num(cap(&c, 4)),
            num(cap(&c, 5)),
            num(cap(&c, 6)),
            fraction_ticks(cap(&c, 7)),
            cap(&c, 8),
        )?;
        return Some(ParsedDateTime {
            clock_ticks: ticks,
            offset_minutes: zone_minutes(cap(&c, 9)),
        });
    }
    if let Ok(Some(c)) = NAMED.captures(t) {
        if let Some(dn) = cap(&c, 1) {
            let dl = dn.to_ascii_lowercase();
            if !DAYS.iter().any(|d| {
                let d = d.to_ascii_lowercase();
                d == dl || (dl.len() == 3 && d.starts_with(&dl))
            }) {
                return None;
            }
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
        let ticks = build(
            y,
            mo,
            d,
            num(cap(&c, 8)),
            num(cap(&c, 9)),
            num(cap(&c, 10)),
            fraction_ticks(cap(&c, 11)),
            cap(&c, 12),
        )?;
        return Some(ParsedDateTime {
            clock_ticks: ticks,
            offset_minutes: zone_minutes(cap(&c, 13)),
        });
    }
    None
}

/// `DateTime.Parse(s)` (invariant culture): ISO 8601, `MM/dd/yyyy [HH:mm:ss]`, RFC 1123 and
/// month-name forms. A zone (Z, GMT, ±hh:mm) converts to local time (the gateway's zone is
/// UTC) with Kind Local; no zone gives Kind Unspecified.
pub fn parse_date_time(s: &str) -> DotNetResult<DateTime> {
    let p = parse_any(s).ok_or_else(|| bad_date(s))?;
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
