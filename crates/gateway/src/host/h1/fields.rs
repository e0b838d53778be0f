//! Header field values between the wire and the engine, the same way on both sides of the host:
//! bytes become text as .NET's HTTP stack reads them, text goes out in Latin-1.

use bytes::BytesMut;

/// A `Content-Length` value: decimal digits only (no sign, no spaces), at most `u64`.
pub fn parse_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    v.iter().try_fold(0u64, |n, b| {
        b.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(u64::from(b - b'0')))
            .flatten()
    })
}

/// A header value as text: UTF-8 when it is, else Latin-1 (as .NET's HTTP stack reads it).
pub fn field_text(v: &[u8]) -> String {
    match std::str::from_utf8(v) {
        Ok(s) => s.to_string(),
        Err(_) => v.iter().map(|&b| b as char).collect(),
    }
}

/// Appends a value as it goes on the wire: the engine's text in Latin-1 (as .NET's headers
/// are). `Err` for a character past Latin-1 or a control character other than tab (CR and LF
/// would start a header of their own).
pub fn push_value(out: &mut BytesMut, value: &str) -> Result<(), ()> {
    let allowed = |b: u8| b == b'\t' || (b >= 0x20 && b != 0x7f);
    if value.is_ascii() {
        if !value.bytes().all(allowed) {
            return Err(());
        }
        out.extend_from_slice(value.as_bytes());
        return Ok(());
    }
    for c in value.chars() {
        let b = u8::try_from(u32::from(c)).map_err(|_| ())?;
        if !allowed(b) {
            return Err(());
        }
        out.extend_from_slice(&[b]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_digits_only() {
        assert_eq!(parse_length(b"0"), Some(0));
        assert_eq!(parse_length(b"18446744073709551615"), None, "20 digits");
        assert_eq!(
            parse_length(b"9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        for bad in [&b""[..], b"+1", b"-1", b"1 ", b"0x10", b"1,2"] {
            assert_eq!(parse_length(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn latin1_text_goes_out_as_it_came_in() {
        let mut out = BytesMut::new();
        push_value(&mut out, "caf\u{e9} \tok").unwrap();
        assert_eq!(&out[..], b"caf\xe9 \tok");
        assert_eq!(field_text(&out), "caf\u{e9} \tok");
        assert_eq!(
            field_text("caf\u{e9}".as_bytes()),
            "caf\u{e9}",
            "UTF-8 read as such"
        );
        for bad in ["a\r\nX-Injected: 1", "nul\0", "del\u{7f}", "snow\u{2603}"] {
            assert!(push_value(&mut BytesMut::new(), bad).is_err(), "{bad:?}");
        }
    }
}
