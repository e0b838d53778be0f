//! The `Date` header value (RFC 9110 §5.6.7 IMF-fixdate), formatted at most once a second per
//! thread, as hyper does: every response carries one and formatting it per request showed up.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::BufMut;

/// `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const DATE_LEN: usize = 29;

struct Cached {
    second: u64,
    text: [u8; DATE_LEN],
}

thread_local! {
    static CACHED: RefCell<Cached> = const {
        RefCell::new(Cached {
            second: u64::MAX,
            text: [b' '; DATE_LEN],
        })
    };
}

/// Appends the current date (as a `Date` value) to `out`.
pub fn push_now(out: &mut impl BufMut) {
    let second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHED.with(|c| {
        let mut c = c.borrow_mut();
        if c.second != second {
            c.second = second;
            c.text = imf_fixdate(second);
        }
        out.put_slice(&c.text);
    });
}

/// Seconds since the Unix epoch as an IMF-fixdate.
pub fn imf_fixdate(secs: u64) -> [u8; DATE_LEN] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (hour, minute, second) = (rem / 3600, rem / 60 % 60, rem % 60);
    let (year, month, day) = civil_from_days(days);
    let mut out = [b' '; DATE_LEN];
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    out[3] = b',';
    two_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    let y = year.min(9999);
    out[12] = b'0' + (y / 1000) as u8;
    out[13] = b'0' + (y / 100 % 10) as u8;
    out[14] = b'0' + (y / 10 % 10) as u8;
    out[15] = b'0' + (y % 10) as u8;
    two_digits(&mut out[17..19], hour);
    out[19] = b':';
    two_digits(&mut out[20..22], minute);
    out[22] = b':';
    two_digits(&mut out[23..25], second);
    out[26..29].copy_from_slice(b"GMT");
    out
}

fn two_digits(dst: &mut [u8], n: u64) {
    dst[0] = b'0' + (n / 10 % 10) as u8;
    dst[1] = b'0' + (n % 10) as u8;
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_imf_fixdates() {
        assert_eq!(&imf_fixdate(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&imf_fixdate(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        // A leap day and the end of a leap year.
        assert_eq!(
            &imf_fixdate(1_709_210_096),
            b"Thu, 29 Feb 2024 12:34:56 GMT"
        );
        assert_eq!(
            &imf_fixdate(1_735_689_599),
            b"Tue, 31 Dec 2024 23:59:59 GMT"
        );
        let mut out = Vec::new();
        push_now(&mut out);
        assert_eq!(out.len(), DATE_LEN);
        assert!(out.ends_with(b" GMT"));
    }
}
