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
