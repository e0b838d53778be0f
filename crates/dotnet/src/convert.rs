//! `System.Convert`.

use crate::error::{DotNetException, DotNetResult};

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `Convert.ToBase64String(bytes)`.
pub fn to_base64_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            B64[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            B64[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

fn bad_base64() -> DotNetException {
    DotNetException::format(
        "The input is not a valid Base-64 string as it contains a non-base 64 character, more than two padding characters, or an illegal character among the padding characters.",
    )
}

/// `Convert.FromBase64String(s)`: whitespace (space, tab, CR, LF) ignored; length (without
/// whitespace) must be a multiple of 4; at most two '=' at the end.
pub fn from_base64_string(s: &str) -> DotNetResult<Vec<u8>> {
    let chars: Vec<u8> = s
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .collect();
    if chars.len() % 4 != 0 {
        return Err(DotNetException::format(
            "The input is not a valid Base-64 string as it is not a multiple of 4 characters long, contains a non-base 64 character, more than two padding characters, or an illegal character among the padding characters.",
        ));
    }
    let pad = chars.iter().rev().take_while(|&&b| b == b'=').count();
    if pad > 2 {
        return Err(bad_base64());
    }
    let mut out = Vec::with_capacity(chars.len() / 4 * 3);
    let body = &chars[..chars.len() - pad];
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in body {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(bad_base64()),
        } as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        assert_eq!(to_base64_string(b"hello"), "aGVsbG8=");
        assert_eq!(to_base64_string(b""), "");
        assert_eq!(to_base64_string(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(from_base64_string("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(from_base64_string(" aGVs\nbG8= ").unwrap(), b"hello");
        assert!(from_base64_string("aGVsbG8").is_err());
        assert!(from_base64_string("aGV$bG8=").is_err());
    }
}
