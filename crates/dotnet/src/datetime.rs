//! `System.DateTime`, `System.TimeSpan`, `System.DateTimeOffset`: 100 ns ticks since
//! 0001-01-01, the proleptic Gregorian calendar, and .NET's range checks and messages.

use crate::error::{DotNetException, DotNetResult, ExceptionKind};

pub const TICKS_PER_MILLISECOND: i64 = 10_000;
pub const TICKS_PER_SECOND: i64 = 10_000_000;
pub const TICKS_PER_MINUTE: i64 = 600_000_000;
pub const TICKS_PER_HOUR: i64 = 36_000_000_000;
pub const TICKS_PER_DAY: i64 = 864_000_000_000;
const DAYS_PER_YEAR: i64 = 365;
const DAYS_PER_4_YEARS: i64 = DAYS_PER_YEAR * 4 + 1;
const DAYS_PER_100_YEARS: i64 = DAYS_PER_4_YEARS * 25 - 1;
const DAYS_PER_400_YEARS: i64 = DAYS_PER_100_YEARS * 4 + 1;
const DAYS_TO_10000: i64 = DAYS_PER_400_YEARS * 25 - 366;
pub const MAX_TICKS: i64 = DAYS_TO_10000 * TICKS_PER_DAY - 1;
/// Ticks of 1970-01-01T00:00:00.
pub const UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;

const DAYS_TO_MONTH_365: [i64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
const DAYS_TO_MONTH_366: [i64; 13] = [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366];

/// `System.DateTimeKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateTimeKind {
    Unspecified,
    Utc,
    Local,
}

/// `System.DayOfWeek` (Sunday = 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayOfWeek {
    Sunday = 0,
    Monday = 1,
    Tuesday = 2,
    Wednesday = 3,
    Thursday = 4,
    Friday = 5,
    Saturday = 6,
}

impl DayOfWeek {
    pub fn from_index(i: i64) -> DayOfWeek {
        match i.rem_euclid(7) {
            0 => DayOfWeek::Sunday,
            1 => DayOfWeek::Monday,
            2 => DayOfWeek::Tuesday,
            3 => DayOfWeek::Wednesday,
            4 => DayOfWeek::Thursday,
            5 => DayOfWeek::Friday,
            _ => DayOfWeek::Saturday,
        }
    }
    /// The enum member name, as `ToString()` prints it.
    pub fn name(self) -> &'static str {
        match self {
            DayOfWeek::Sunday => "Sunday",
            DayOfWeek::Monday => "Monday",
            DayOfWeek::Tuesday => "Tuesday",
            DayOfWeek::Wednesday => "Wednesday",
            DayOfWeek::Thursday => "Thursday",
            DayOfWeek::Friday => "Friday",
            DayOfWeek::Saturday => "Saturday",
        }
    }
}

/// `DateTime.IsLeapYear(year)`.
pub fn is_leap_year(year: i32) -> DotNetResult<bool> {
    if !(1..=9999).contains(&year) {
        return Err(DotNetException::out_of_range(
            "year",
            "Year must be between 1 and 9999.",
        ));
    }
    Ok(leap(year as i64))
}

fn leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// `DateTime.DaysInMonth(year, month)`.
pub fn days_in_month(year: i32, month: i32) -> DotNetResult<i32> {
    if !(1..=12).contains(&month) {
        return Err(DotNetException::out_of_range(
            "month",
            "Month must be between one and twelve.",
        ));
    }
    let leap = is_leap_year(year)?;
    let table = if leap {
        &DAYS_TO_MONTH_366
    } else {
        &DAYS_TO_MONTH_365
    };
    Ok((table[month as usize] - table[month as usize - 1]) as i32)
}

fn date_to_days(year: i64, month: i64, day: i64) -> Option<i64> {
    if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || day < 1 {
        return None;
    }
    let table = if leap(year) {
        &DAYS_TO_MONTH_366
    } else {
        &DAYS_TO_MONTH_365
    };
    if day > table[month as usize] - table[month as usize - 1] {
        return None;
    }
    let y = year - 1;
    Some(y * 365 + y / 4 - y / 100 + y / 400 + table[month as usize - 1] + day - 1)
}

/// (year, month, day, day_of_year) of a tick count.
fn ticks_to_date(ticks: i64) -> (i32, i32, i32, i32) {
    let mut n = ticks / TICKS_PER_DAY;
    let y400 = n / DAYS_PER_400_YEARS;
    n -= y400 * DAYS_PER_400_YEARS;
    let mut y100 = n / DAYS_PER_100_YEARS;
    if y100 == 4 {
        y100 = 3;
    }
    n -= y100 * DAYS_PER_100_YEARS;
    let y4 = n / DAYS_PER_4_YEARS;
    n -= y4 * DAYS_PER_4_YEARS;
    let mut y1 = n / DAYS_PER_YEAR;
    if y1 == 4 {
        y1 = 3;
    }
    let year = y400 * 400 + y100 * 100 + y4 * 4 + y1 + 1;
    n -= y1 * DAYS_PER_YEAR;
    let day_of_year = n + 1;
    let leap_year = y1 == 3 && (y4 != 24 || y100 == 3);
    let table = if leap_year {
        &DAYS_TO_MONTH_366
    } else {
        &DAYS_TO_MONTH_365
    };
    let mut m = ((n >> 5) + 1) as usize;
    while n >= table[m] {
        m += 1;
    }
    let day = n - table[m - 1] + 1;
    (year as i32, m as i32, day as i32, day_of_year as i32)
}

fn time_to_ticks(hour: i64, minute: i64, second: i64) -> Option<i64> {
    if (0..24).contains(&hour) && (0..60).contains(&minute) && (0..60).contains(&second) {
        Some(hour * TICKS_PER_HOUR + minute * TICKS_PER_MINUTE + second * TICKS_PER_SECOND)
    } else {
        None
    }
}

fn unrepresentable_add() -> DotNetException {
    DotNetException::out_of_range(
        "value",
        "The added or subtracted value results in an un-representable DateTime.",
    )
}

/// `System.DateTime`: ticks plus kind. Equality and ordering compare ticks only, as .NET does.
#[derive(Debug, Clone, Copy)]
pub struct DateTime {
    ticks: i64,
    kind: DateTimeKind,
}

impl PartialEq for DateTime {
    fn eq(&self, other: &Self) -> bool {
        self.ticks == other.ticks
    }
}
impl Eq for DateTime {}
impl PartialOrd for DateTime {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for DateTime {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.ticks.cmp(&other.ticks)
    }
}
impl std::hash::Hash for DateTime {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.ticks.hash(state)
    }
}

impl DateTime {
    pub const MIN_VALUE: DateTime = DateTime {
        ticks: 0,
        kind: DateTimeKind::Unspecified,
    };
    pub const MAX_VALUE: DateTime = DateTime {
        ticks: MAX_TICKS,
        kind: DateTimeKind::Unspecified,
    };
    pub const UNIX_EPOCH: DateTime = DateTime {
        ticks: UNIX_EPOCH_TICKS,
        kind: DateTimeKind::Utc,
    };

    /// `new DateTime(ticks, kind)`.
    pub fn from_ticks(ticks: i64, kind: DateTimeKind) -> DotNetResult<DateTime> {
        if !(0..=MAX_TICKS).contains(&ticks) {
            return Err(DotNetException::out_of_range(
                "ticks",
                "Ticks must be between DateTime.MinValue.Ticks and DateTime.MaxValue.Ticks.",
            ));
        }
        Ok(DateTime { ticks, kind })
    }

    /// `new DateTime(year, month, day)`.
    pub fn from_ymd(year: i32, month: i32, day: i32) -> DotNetResult<DateTime> {
        Self::new(year, month, day, 0, 0, 0, 0, DateTimeKind::Unspecified)
    }

    /// `new DateTime(year, month, day, hour, minute, second, millisecond, kind)`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        year: i32,
        month: i32,
        day: i32,
        hour: i32,
        minute: i32,
        second: i32,
        millisecond: i32,
        kind: DateTimeKind,
    ) -> DotNetResult<DateTime> {
        let days = date_to_days(year as i64, month as i64, day as i64).ok_or_else(|| {
            DotNetException::out_of_range(
                "",
                "Year, Month, and Day parameters describe an un-representable DateTime.",
            )
            .without_param()
        })?;
        let time = time_to_ticks(hour as i64, minute as i64, second as i64).ok_or_else(|| {
            DotNetException::out_of_range(
                "",
                "Hour, Minute, and Second parameters describe an un-representable DateTime.",
            )
            .without_param()
        })?;
        if !(0..1000).contains(&millisecond) {
            return Err(DotNetException::out_of_range(
                "millisecond",
                "Valid values are between 0 and 999, inclusive.",
            ));
        }
        Ok(DateTime {
            ticks: days * TICKS_PER_DAY + time + millisecond as i64 * TICKS_PER_MILLISECOND,
            kind,
        })
    }

    pub fn ticks(self) -> i64 {
        self.ticks
    }
    pub fn kind(self) -> DateTimeKind {
        self.kind
    }
    /// `DateTime.SpecifyKind`.
    pub fn with_kind(self, kind: DateTimeKind) -> DateTime {
        DateTime {
            ticks: self.ticks,
            kind,
        }
    }
    pub fn year(self) -> i32 {
        ticks_to_date(self.ticks).0
    }
    pub fn month(self) -> i32 {
        ticks_to_date(self.ticks).1
    }
    pub fn day(self) -> i32 {
        ticks_to_date(self.ticks).2
    }
    pub fn day_of_year(self) -> i32 {
        ticks_to_date(self.ticks).3
    }
    /// (year, month, day) in one calendar computation.
    pub fn ymd(self) -> (i32, i32, i32) {
        let (y, m, d, _) = ticks_to_date(self.ticks);
        (y, m, d)
    }
    pub fn hour(self) -> i32 {
        ((self.ticks / TICKS_PER_HOUR) % 24) as i32
    }
    pub fn minute(self) -> i32 {
        ((self.ticks / TICKS_PER_MINUTE) % 60) as i32
    }
    pub fn second(self) -> i32 {
        ((self.ticks / TICKS_PER_SECOND) % 60) as i32
    }
    pub fn millisecond(self) -> i32 {
        ((self.ticks / TICKS_PER_MILLISECOND) % 1000) as i32
    }
    pub fn day_of_week(self) -> DayOfWeek {
        DayOfWeek::from_index(self.ticks / TICKS_PER_DAY + 1)
    }
    /// `Date`: midnight of the same day, same kind.
    pub fn date(self) -> DateTime {
        DateTime {
            ticks: self.ticks - self.ticks % TICKS_PER_DAY,
            kind: self.kind,
        }
    }
    pub fn time_of_day(self) -> TimeSpan {
        TimeSpan::from_ticks(self.ticks % TICKS_PER_DAY)
    }

    pub fn add_ticks(self, ticks: i64) -> DotNetResult<DateTime> {
        let t = self
            .ticks
            .checked_add(ticks)
            .ok_or_else(unrepresentable_add)?;
        if !(0..=MAX_TICKS).contains(&t) {
            return Err(unrepresentable_add());
        }
        Ok(DateTime {
            ticks: t,
            kind: self.kind,
        })
    }
    pub fn add(self, span: TimeSpan) -> DotNetResult<DateTime> {
        self.add_ticks(span.ticks())
    }
    /// .NET 7+ `AddUnits`: whole units exactly, the fraction truncated to ticks.
    fn add_units(self, value: f64, max_units: i64, ticks_per_unit: i64) -> DotNetResult<DateTime> {
        if value.is_nan() || value.abs() > max_units as f64 {
            return Err(unrepresentable_add());
        }
        let integral = value.trunc();
        let fraction = value - integral;
        let ticks = (integral as i64) * ticks_per_unit + (fraction * ticks_per_unit as f64) as i64;
        self.add_ticks(ticks)
    }
    pub fn add_days(self, value: f64) -> DotNetResult<DateTime> {
        self.add_units(value, MAX_TICKS / TICKS_PER_DAY, TICKS_PER_DAY)
    }
    pub fn add_hours(self, value: f64) -> DotNetResult<DateTime> {
        self.add_units(value, MAX_TICKS / TICKS_PER_HOUR, TICKS_PER_HOUR)
    }
    pub fn add_minutes(self, value: f64) -> DotNetResult<DateTime> {
        self.add_units(value, MAX_TICKS / TICKS_PER_MINUTE, TICKS_PER_MINUTE)
    }
    pub fn add_seconds(self, value: f64) -> DotNetResult<DateTime> {
        self.add_units(value, MAX_TICKS / TICKS_PER_SECOND, TICKS_PER_SECOND)
    }
    pub fn add_milliseconds(self, value: f64) -> DotNetResult<DateTime> {
        self.add_units(
            value,
            MAX_TICKS / TICKS_PER_MILLISECOND,
            TICKS_PER_MILLISECOND,
        )
    }
    pub fn add_months(self, months: i32) -> DotNetResult<DateTime> {
        if !(-120_000..=120_000).contains(&months) {
            return Err(DotNetException::out_of_range(
                "months",
                "Months value must be between +/-120000.",
            ));
        }
        let (y, m, d, _) = ticks_to_date(self.ticks);
        let i = m as i64 - 1 + months as i64;
        let (ny, nm) = (y as i64 + i.div_euclid(12), i.rem_euclid(12) + 1);
        if !(1..=9999).contains(&ny) {
            return Err(DotNetException::out_of_range(
                "months",
                "The added or subtracted value results in an un-representable DateTime.",
            ));
        }
        let dim = days_in_month(ny as i32, nm as i32)?;
        let nd = d.min(dim);
        let days = date_to_days(ny, nm, nd as i64).ok_or_else(unrepresentable_add)?;
        Ok(DateTime {
            ticks: days * TICKS_PER_DAY + self.ticks % TICKS_PER_DAY,
            kind: self.kind,
        })
    }
    pub fn add_years(self, years: i32) -> DotNetResult<DateTime> {
        if !(-10_000..=10_000).contains(&years) {
            return Err(DotNetException::out_of_range(
                "years",
                "Years value must be between +/-10000.",
            ));
        }
        self.add_months(years * 12).map_err(|_| {
            DotNetException::out_of_range(
                "years",
                "The added or subtracted value results in an un-representable DateTime.",
            )
        })
    }
    /// `a - b` / `a.Subtract(b)` for two DateTimes (kinds ignored, as .NET does).
    pub fn subtract_date(self, other: DateTime) -> TimeSpan {
        TimeSpan::from_ticks(self.ticks - other.ticks)
    }
    /// `a - span` / `a.Subtract(span)`.
    pub fn subtract(self, span: TimeSpan) -> DotNetResult<DateTime> {
        let neg = span.ticks().checked_neg().ok_or_else(unrepresentable_add)?;
        self.add_ticks(neg)
    }
    /// `DateTime.Compare` / `CompareTo`: -1, 0 or 1.
    pub fn compare(self, other: DateTime) -> i32 {
        self.ticks.cmp(&other.ticks) as i32
    }
    /// `ToUniversalTime()`: the gateway's local zone is UTC, so only the kind changes.
    pub fn to_universal_time(self) -> DateTime {
        self.with_kind(DateTimeKind::Utc)
    }
    /// `ToLocalTime()`: the gateway's local zone is UTC.
    pub fn to_local_time(self) -> DateTime {
        self.with_kind(DateTimeKind::Local)
    }
    /// `IsDaylightSavingTime()`: never, in UTC.
    pub fn is_daylight_saving_time(self) -> bool {
        false
    }
    /// `GetHashCode()`: `(int)ticks ^ (int)(ticks >> 32)` over the internal ticks (kind bits
    /// excluded in .NET Core's `Ticks`-based hash).
    pub fn get_hash_code(self) -> i32 {
        (self.ticks as i32) ^ ((self.ticks >> 32) as i32)
    }
}

fn timespan_overflow() -> DotNetException {
    DotNetException::overflow("TimeSpan overflowed because the duration is too long.")
}

/// `System.TimeSpan`: a signed tick count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TimeSpan(i64);

impl TimeSpan {
    pub const ZERO: TimeSpan = TimeSpan(0);
    pub const MIN_VALUE: TimeSpan = TimeSpan(i64::MIN);
    pub const MAX_VALUE: TimeSpan = TimeSpan(i64::MAX);

    pub const fn from_ticks(ticks: i64) -> TimeSpan {
        TimeSpan(ticks)
    }
    /// `new TimeSpan(hours, minutes, seconds)`.
    pub fn from_hms(hours: i32, minutes: i32, seconds: i32) -> DotNetResult<TimeSpan> {
        Self::new(0, hours, minutes, seconds, 0)
    }
    /// `new TimeSpan(days, hours, minutes, seconds, milliseconds)`.
    pub fn new(
        days: i32,
        hours: i32,
        minutes: i32,
        seconds: i32,
        millis: i32,
    ) -> DotNetResult<TimeSpan> {
        let total_ms =
            (days as i64 * 3600 * 24 + hours as i64 * 3600 + minutes as i64 * 60 + seconds as i64)
                as i128
                * 1000
                + millis as i128;
        let ticks = total_ms * TICKS_PER_MILLISECOND as i128;
        if ticks > i64::MAX as i128 || ticks < i64::MIN as i128 {
            return Err(DotNetException::out_of_range(
                "",
                "TimeSpan overflowed because the duration is too long.",
            )
            .without_param());
        }
        Ok(TimeSpan(ticks as i64))
    }
    pub fn ticks(self) -> i64 {
        self.0
    }
    pub fn days(self) -> i32 {
        (self.0 / TICKS_PER_DAY) as i32
    }
    pub fn hours(self) -> i32 {
        ((self.0 / TICKS_PER_HOUR) % 24) as i32
    }
    pub fn minutes(self) -> i32 {
        ((self.0 / TICKS_PER_MINUTE) % 60) as i32
    }
    pub fn seconds(self) -> i32 {
        ((self.0 / TICKS_PER_SECOND) % 60) as i32
    }
    pub fn milliseconds(self) -> i32 {
        ((self.0 / TICKS_PER_MILLISECOND) % 1000) as i32
    }
    pub fn total_days(self) -> f64 {
        self.0 as f64 / TICKS_PER_DAY as f64
    }
    pub fn total_hours(self) -> f64 {
        self.0 as f64 / TICKS_PER_HOUR as f64
    }
    pub fn total_minutes(self) -> f64 {
        self.0 as f64 / TICKS_PER_MINUTE as f64
    }
    pub fn total_seconds(self) -> f64 {
        self.0 as f64 / TICKS_PER_SECOND as f64
    }
    pub fn total_milliseconds(self) -> f64 {
        let t = self.0 as f64 / TICKS_PER_MILLISECOND as f64;
        // .NET clamps to the representable millisecond range.
        let max = (i64::MAX / TICKS_PER_MILLISECOND) as f64;
        let min = (i64::MIN / TICKS_PER_MILLISECOND) as f64;
        t.clamp(min, max)
    }

    /// .NET Core 3.0+ `Interval`: value × scale in ticks, truncated toward zero.
    fn interval(value: f64, ticks_per_unit: i64) -> DotNetResult<TimeSpan> {
        if value.is_nan() {
            return Err(DotNetException::argument(
                "TimeSpan does not accept floating point Not-a-Number values.",
            ));
        }
        let ticks = value * ticks_per_unit as f64;
        if ticks > i64::MAX as f64 || ticks < i64::MIN as f64 {
            return Err(timespan_overflow());
        }
        Ok(TimeSpan(ticks as i64))
    }
    pub fn from_days(value: f64) -> DotNetResult<TimeSpan> {
        Self::interval(value, TICKS_PER_DAY)
    }
    pub fn from_hours(value: f64) -> DotNetResult<TimeSpan> {
        Self::interval(value, TICKS_PER_HOUR)
    }
    pub fn from_minutes(value: f64) -> DotNetResult<TimeSpan> {
        Self::interval(value, TICKS_PER_MINUTE)
    }
    pub fn from_seconds(value: f64) -> DotNetResult<TimeSpan> {
        Self::interval(value, TICKS_PER_SECOND)
    }
    pub fn from_milliseconds(value: f64) -> DotNetResult<TimeSpan> {
        Self::interval(value, TICKS_PER_MILLISECOND)
    }

    pub fn add(self, other: TimeSpan) -> DotNetResult<TimeSpan> {
        self.0
            .checked_add(other.0)
            .map(TimeSpan)
            .ok_or_else(timespan_overflow)
    }
    pub fn subtract(self, other: TimeSpan) -> DotNetResult<TimeSpan> {
        self.0
            .checked_sub(other.0)
            .map(TimeSpan)
            .ok_or_else(timespan_overflow)
    }
    pub fn negate(self) -> DotNetResult<TimeSpan> {
        self.0.checked_neg().map(TimeSpan).ok_or_else(|| {
            DotNetException::overflow(
                "Negating the minimum value of a twos complement number is invalid.",
            )
        })
    }
    pub fn duration(self) -> DotNetResult<TimeSpan> {
        self.0.checked_abs().map(TimeSpan).ok_or_else(|| {
            DotNetException::overflow("The duration cannot be returned for TimeSpan.MinValue because the absolute value of TimeSpan.MinValue exceeds the value of TimeSpan.MaxValue.")
        })
    }
    /// `TimeSpan * double` (.NET Core 2.0+).
    pub fn multiply(self, factor: f64) -> DotNetResult<TimeSpan> {
        if factor.is_nan() {
            return Err(DotNetException::argument(
                "TimeSpan does not accept floating point Not-a-Number values.",
            ));
        }
        let ticks = (self.0 as f64 * factor).round_ties_even();
        if ticks > i64::MAX as f64 || ticks < i64::MIN as f64 {
            return Err(timespan_overflow());
        }
        Ok(TimeSpan(ticks as i64))
    }
    pub fn compare(self, other: TimeSpan) -> i32 {
        self.0.cmp(&other.0) as i32
    }
}

/// `System.DateTimeOffset`: a clock time plus an offset from UTC in whole minutes.
#[derive(Debug, Clone, Copy)]
pub struct DateTimeOffset {
    /// Clock (local-to-the-offset) ticks.
    clock_ticks: i64,
    offset_minutes: i16,
}

impl PartialEq for DateTimeOffset {
    fn eq(&self, other: &Self) -> bool {
        self.utc_ticks() == other.utc_ticks()
    }
}
impl Eq for DateTimeOffset {}
impl PartialOrd for DateTimeOffset {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for DateTimeOffset {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.utc_ticks().cmp(&other.utc_ticks())
    }
}

fn validate_offset(offset: TimeSpan) -> DotNetResult<i16> {
    if offset.ticks() % TICKS_PER_MINUTE != 0 {
        return Err(DotNetException::new(
            ExceptionKind::ArgumentException,
            "Offset must be specified in whole minutes. (Parameter 'offset')",
        ));
    }
    if offset.ticks() < -14 * TICKS_PER_HOUR || offset.ticks() > 14 * TICKS_PER_HOUR {
        return Err(DotNetException::out_of_range(
            "offset",
            "Offset must be within plus or minus 14 hours.",
        ));
    }
    Ok((offset.ticks() / TICKS_PER_MINUTE) as i16)
}

/// `DateTimeOffset` members that read the clock time (`DateTime`) part.
macro_rules! forward_to_clock {
    ($($name:ident -> $ret:ty),* $(,)?) => {
        $(pub fn $name(self) -> $ret {
            self.date_time().$name()
        })*
    };
}

/// `DateTimeOffset` arithmetic: the clock time moves, the offset stays.
macro_rules! shift_clock {
    ($($name:ident($arg:ty)),* $(,)?) => {
        $(pub fn $name(self, v: $arg) -> DotNetResult<DateTimeOffset> {
            self.with_clock(self.date_time().$name(v)?)
        })*
    };
}

impl DateTimeOffset {
    pub const MIN_VALUE: DateTimeOffset = DateTimeOffset {
        clock_ticks: 0,
        offset_minutes: 0,
    };
    pub const MAX_VALUE: DateTimeOffset = DateTimeOffset {
        clock_ticks: MAX_TICKS,
        offset_minutes: 0,
    };
    pub const UNIX_EPOCH: DateTimeOffset = DateTimeOffset {
        clock_ticks: UNIX_EPOCH_TICKS,
        offset_minutes: 0,
    };

    /// `new DateTimeOffset(dateTime, offset)`: `dateTime` is the clock time at `offset`.
    pub fn new(clock: DateTime, offset: TimeSpan) -> DotNetResult<DateTimeOffset> {
        let offset_minutes = validate_offset(offset)?;
        if clock.kind() == DateTimeKind::Utc && offset_minutes != 0 {
            return Err(DotNetException::argument(
                "The UTC Offset for Utc DateTime instances must be 0. (Parameter 'offset')",
            ));
        }
        let utc = clock.ticks() - offset.ticks();
        if !(0..=MAX_TICKS).contains(&utc) {
            return Err(DotNetException::out_of_range(
                "offset",
                "The UTC time represented when the offset is applied must be between year 0 and 10,000.",
            ));
        }
        Ok(DateTimeOffset {
            clock_ticks: clock.ticks(),
            offset_minutes,
        })
    }
    /// `new DateTimeOffset(dateTime)`: UTC and Local (the gateway's zone is UTC) get offset 0.
    pub fn from_date_time(dt: DateTime) -> DateTimeOffset {
        DateTimeOffset {
            clock_ticks: dt.ticks(),
            offset_minutes: 0,
        }
    }
    /// `new DateTimeOffset(ticks, offset)`.
    pub fn from_ticks(ticks: i64, offset: TimeSpan) -> DotNetResult<DateTimeOffset> {
        Self::new(
            DateTime::from_ticks(ticks, DateTimeKind::Unspecified)?,
            offset,
        )
    }
    pub fn offset(self) -> TimeSpan {
        TimeSpan::from_ticks(self.offset_minutes as i64 * TICKS_PER_MINUTE)
    }
    pub fn offset_minutes(self) -> i32 {
        self.offset_minutes as i32
    }
    pub fn ticks(self) -> i64 {
        self.clock_ticks
    }
    pub fn utc_ticks(self) -> i64 {
        self.clock_ticks - self.offset_minutes as i64 * TICKS_PER_MINUTE
    }
    /// `DateTime`: the clock time, Kind Unspecified.
    pub fn date_time(self) -> DateTime {
        DateTime {
            ticks: self.clock_ticks,
            kind: DateTimeKind::Unspecified,
        }
    }
    pub fn utc_date_time(self) -> DateTime {
        DateTime {
            ticks: self.utc_ticks(),
            kind: DateTimeKind::Utc,
        }
    }
    /// `LocalDateTime`: the gateway's local zone is UTC.
    pub fn local_date_time(self) -> DateTime {
        DateTime {
            ticks: self.utc_ticks(),
            kind: DateTimeKind::Local,
        }
    }
    pub fn to_universal_time(self) -> DateTimeOffset {
        DateTimeOffset {
            clock_ticks: self.utc_ticks(),
            offset_minutes: 0,
        }
    }
    pub fn to_offset(self, offset: TimeSpan) -> DotNetResult<DateTimeOffset> {
        let m = validate_offset(offset)?;
        let clock = self.utc_ticks() + m as i64 * TICKS_PER_MINUTE;
        if !(0..=MAX_TICKS).contains(&clock) {
            return Err(DotNetException::argument(
                "The UTC time represented when the offset is applied must be between year 0 and 10,000.",
            ));
        }
        Ok(DateTimeOffset {
            clock_ticks: clock,
            offset_minutes: m,
        })
    }
    fn with_clock(self, dt: DateTime) -> DotNetResult<DateTimeOffset> {
        Self::new(dt.with_kind(DateTimeKind::Unspecified), self.offset())
    }
    // Parts and arithmetic work on the clock time; arithmetic keeps the offset.
    forward_to_clock! {
        year -> i32, month -> i32, day -> i32, hour -> i32, minute -> i32, second -> i32,
        millisecond -> i32, day_of_week -> DayOfWeek, day_of_year -> i32, date -> DateTime,
        time_of_day -> TimeSpan,
    }
    shift_clock! {
        add(TimeSpan), add_ticks(i64), add_days(f64), add_hours(f64), add_minutes(f64),
        add_seconds(f64), add_milliseconds(f64), add_months(i32), add_years(i32),
    }
    pub fn subtract_offset(self, other: DateTimeOffset) -> TimeSpan {
        TimeSpan::from_ticks(self.utc_ticks() - other.utc_ticks())
    }
    shift_clock! { subtract(TimeSpan) }
    pub fn to_unix_time_seconds(self) -> i64 {
        self.utc_ticks().div_euclid(TICKS_PER_SECOND) - UNIX_EPOCH_TICKS / TICKS_PER_SECOND
    }
    pub fn to_unix_time_milliseconds(self) -> i64 {
        self.utc_ticks().div_euclid(TICKS_PER_MILLISECOND)
            - UNIX_EPOCH_TICKS / TICKS_PER_MILLISECOND
    }
    pub fn from_unix_time_seconds(seconds: i64) -> DotNetResult<DateTimeOffset> {
        const MIN: i64 = -62_135_596_800;
        const MAX: i64 = 253_402_300_799;
        if !(MIN..=MAX).contains(&seconds) {
            return Err(DotNetException::out_of_range(
                "seconds",
                &format!("Valid values are between {MIN} and {MAX}, inclusive."),
            ));
        }
        Ok(DateTimeOffset {
            clock_ticks: seconds * TICKS_PER_SECOND + UNIX_EPOCH_TICKS,
            offset_minutes: 0,
        })
    }
    pub fn from_unix_time_milliseconds(ms: i64) -> DotNetResult<DateTimeOffset> {
        const MIN: i64 = -62_135_596_800_000;
        const MAX: i64 = 253_402_300_799_999;
        if !(MIN..=MAX).contains(&ms) {
            return Err(DotNetException::out_of_range(
                "milliseconds",
                &format!("Valid values are between {MIN} and {MAX}, inclusive."),
            ));
        }
        Ok(DateTimeOffset {
            clock_ticks: ms * TICKS_PER_MILLISECOND + UNIX_EPOCH_TICKS,
            offset_minutes: 0,
        })
    }
    pub fn compare(self, other: DateTimeOffset) -> i32 {
        self.utc_ticks().cmp(&other.utc_ticks()) as i32
    }
    /// `EqualsExact`: same clock time and same offset.
    pub fn equals_exact(self, other: DateTimeOffset) -> bool {
        self.clock_ticks == other.clock_ticks && self.offset_minutes == other.offset_minutes
    }
}

impl DotNetException {
    /// Drops the " (Parameter '')" suffix for .NET exceptions thrown without a parameter name.
    pub(crate) fn without_param(mut self) -> Self {
        if let Some(s) = self.message.strip_suffix(" (Parameter '')") {
            self.message = s.to_string();
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trip() {
        let d = DateTime::new(2024, 2, 29, 13, 45, 30, 123, DateTimeKind::Utc).unwrap();
        assert_eq!(d.ymd(), (2024, 2, 29));
        assert_eq!(
            (d.hour(), d.minute(), d.second(), d.millisecond()),
            (13, 45, 30, 123)
        );
        assert_eq!(d.day_of_year(), 60);
        assert_eq!(d.day_of_week(), DayOfWeek::Thursday);
        assert_eq!(DateTime::MAX_VALUE.ymd(), (9999, 12, 31));
        assert_eq!(DateTime::MAX_VALUE.ticks(), 3_155_378_975_999_999_999);
        assert_eq!(
            DateTime::from_ymd(1970, 1, 1).unwrap().ticks(),
            UNIX_EPOCH_TICKS
        );
        assert_eq!(DateTime::MIN_VALUE.day_of_week(), DayOfWeek::Monday);
    }

    #[test]
    fn invalid_dates() {
        let e = DateTime::from_ymd(2023, 2, 29).unwrap_err();
        assert_eq!(e.kind, ExceptionKind::ArgumentOutOfRangeException);
        assert_eq!(
            e.message,
            "Year, Month, and Day parameters describe an un-representable DateTime."
        );
        assert_eq!(days_in_month(2023, 2).unwrap(), 28);
        assert_eq!(days_in_month(2000, 2).unwrap(), 29);
        assert!(!is_leap_year(1900).unwrap());
        assert!(days_in_month(2023, 13).is_err());
    }

    #[test]
    fn add_months_clamps_day() {
        let d = DateTime::from_ymd(2024, 1, 31).unwrap();
        assert_eq!(d.add_months(1).unwrap().ymd(), (2024, 2, 29));
        assert_eq!(d.add_months(-2).unwrap().ymd(), (2023, 11, 30));
        assert_eq!(d.add_years(1).unwrap().ymd(), (2025, 1, 31));
        assert!(DateTime::MAX_VALUE.add_days(1.0).is_err());
        assert_eq!(d.add_days(1.5).unwrap().hour(), 12);
        assert_eq!(d.add_minutes(-90.0).unwrap().ymd(), (2024, 1, 30));
    }

    #[test]
    fn timespan_parts() {
        let t = TimeSpan::new(1, 2, 3, 4, 5).unwrap();
        assert_eq!(
            (
                t.days(),
                t.hours(),
                t.minutes(),
                t.seconds(),
                t.milliseconds()
            ),
            (1, 2, 3, 4, 5)
        );
        assert_eq!(TimeSpan::from_seconds(1.5).unwrap().ticks(), 15_000_000);
        assert_eq!(TimeSpan::from_minutes(-1.0).unwrap().minutes(), -1);
        assert_eq!(TimeSpan::from_hours(36.0).unwrap().total_days(), 1.5);
        assert_eq!(
            TimeSpan::MAX_VALUE
                .add(TimeSpan::from_ticks(1))
                .unwrap_err()
                .kind,
            ExceptionKind::OverflowException
        );
        assert_eq!(
            TimeSpan::from_seconds(f64::NAN).unwrap_err().kind,
            ExceptionKind::ArgumentException
        );
    }

    #[test]
    fn offsets_and_unix_time() {
        let d = DateTime::new(2024, 5, 1, 12, 0, 0, 0, DateTimeKind::Unspecified).unwrap();
        let o = DateTimeOffset::new(d, TimeSpan::from_hms(2, 0, 0).unwrap()).unwrap();
        assert_eq!(o.utc_date_time().hour(), 10);
        assert_eq!(o.to_unix_time_seconds(), 1_714_557_600);
        assert_eq!(
            DateTimeOffset::from_unix_time_seconds(0).unwrap(),
            DateTimeOffset::UNIX_EPOCH
        );
        assert_eq!(
            DateTimeOffset::from_unix_time_seconds(1_714_557_600).unwrap(),
            o
        );
        assert!(
            !DateTimeOffset::from_unix_time_seconds(1_714_557_600)
                .unwrap()
                .equals_exact(o)
        );
        assert!(DateTimeOffset::new(d, TimeSpan::from_hms(15, 0, 0).unwrap()).is_err());
        assert_eq!(
            DateTimeOffset::from_unix_time_milliseconds(-1)
                .unwrap()
                .to_unix_time_milliseconds(),
            -1
        );
        assert_eq!(
            DateTimeOffset::from_unix_time_milliseconds(-1)
                .unwrap()
                .to_unix_time_seconds(),
            -1
        );
    }
}
