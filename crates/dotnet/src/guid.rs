//! `System.Guid`: .NET's field layout (Int32, Int16, Int16, 8 bytes), formats N/D/B/P/X,
//! parsing and `GetHashCode`.

use crate::error::{DotNetException, DotNetResult, ExceptionKind};

/// `System.Guid`, stored as its 16-byte `ToByteArray()` form (first three fields little-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Guid {
    bytes: [u8; 16],
}

fn unrecognized() -> DotNetException {
    DotNetException::format("Unrecognized Guid format.")
}

impl Guid {
    pub const EMPTY: Guid = Guid { bytes: [0; 16] };

    /// `new Guid(byte[])`: the `ToByteArray()` layout.
    pub fn from_bytes(bytes: [u8; 16]) -> Guid {
        Guid { bytes }
    }
    /// `new Guid(byte[])` from a slice: must be 16 bytes long.
    pub fn from_slice(bytes: &[u8]) -> DotNetResult<Guid> {
        let arr: [u8; 16] = bytes.try_into().map_err(|_| {
            DotNetException::argument(
                "Byte array for Guid must be exactly 16 bytes long. (Parameter 'b')",
            )
        })?;
        Ok(Guid { bytes: arr })
    }
    /// `new Guid(int a, short b, short c, byte[8] d)`.
    pub fn from_fields(a: u32, b: u16, c: u16, d: [u8; 8]) -> Guid {
        let mut bytes = [0u8; 16];
        bytes[0..4].copy_from_slice(&a.to_le_bytes());
        bytes[4..6].copy_from_slice(&b.to_le_bytes());
        bytes[6..8].copy_from_slice(&c.to_le_bytes());
        bytes[8..16].copy_from_slice(&d);
        Guid { bytes }
    }
    /// `Guid.NewGuid()` from 16 caller-provided random bytes: sets the version-4 and RFC 4122
    /// variant bits as .NET does.
    pub fn new_v4(mut random: [u8; 16]) -> Guid {
        random[7] = (random[7] & 0x0F) | 0x40;
        random[8] = (random[8] & 0x3F) | 0x80;
        Guid { bytes: random }
    }
    /// `ToByteArray()`.
    pub fn to_byte_array(self) -> [u8; 16] {
        self.bytes
    }
    fn a(self) -> u32 {
        u32::from_le_bytes([self.bytes[0], self.bytes[1], self.bytes[2], self.bytes[3]])
    }
    fn b(self) -> u16 {
        u16::from_le_bytes([self.bytes[4], self.bytes[5]])
    }
    fn c(self) -> u16 {
        u16::from_le_bytes([self.bytes[6], self.bytes[7]])
    }

    /// `GetHashCode()`: XOR of the four little-endian Int32s of the byte layout.
    pub fn get_hash_code(self) -> i32 {
        let w = |i: usize| {
            i32::from_le_bytes([
                self.bytes[i],
                self.bytes[i + 1],
                self.bytes[i + 2],
                self.bytes[i + 3],
            ])
        };
        w(0) ^ w(4) ^ w(8) ^ w(12)
    }

    fn hex32(self) -> String {
        let mut s = format!("{:08x}{:04x}{:04x}", self.a(), self.b(), self.c());
        for b in &self.bytes[8..] {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    /// `ToString()` = `ToString("D")`.
    pub fn to_string_d(self) -> String {
        let h = self.hex32();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// `ToString(format)`: "" / D, N, B, P, X (either case); other formats throw FormatException.
    pub fn to_string_format(self, format: &str) -> DotNetResult<String> {
        match format {
            "" | "D" | "d" => Ok(self.to_string_d()),
            "N" | "n" => Ok(self.hex32()),
            "B" | "b" => Ok(format!("{{{}}}", self.to_string_d())),
            "P" | "p" => Ok(format!("({})", self.to_string_d())),
            "X" | "x" => {
                let d = &self.bytes[8..];
                let tail: Vec<String> = d.iter().map(|b| format!("0x{b:02x}")).collect();
                Ok(format!(
                    "{{0x{:08x},0x{:04x},0x{:04x},{{{}}}}}",
                    self.a(),
                    self.b(),
                    self.c(),
                    tail.join(",")
                ))
            }
            _ => Err(DotNetException::format(
                "Format string can be only \"D\", \"d\", \"N\", \"n\", \"P\", \"p\", \"B\", \"b\", \"X\" or \"x\".",
            )),
        }
    }

    /// `Guid.Parse(input)`: any of the N, D, B, P, X forms, surrounding whitespace allowed.
    pub fn parse(input: &str) -> DotNetResult<Guid> {
        let s = input.trim_matches(crate::string::is_dotnet_whitespace);
        for f in ["D", "N", "B", "P", "X"] {
            if let Ok(g) = Self::parse_exact_inner(s, f) {
                return Ok(g);
            }
        }
        Err(unrecognized())
    }

    /// `Guid.TryParse`.
    pub fn try_parse(input: &str) -> Option<Guid> {
        Self::parse(input).ok()
    }

    /// `Guid.ParseExact(input, format)`.
    pub fn parse_exact(input: &str, format: &str) -> DotNetResult<Guid> {
        let f = format.to_ascii_uppercase();
        if !matches!(f.as_str(), "D" | "N" | "B" | "P" | "X") {
            return Err(DotNetException::format(
                "Format string can be only \"D\", \"d\", \"N\", \"n\", \"P\", \"p\", \"B\", \"b\", \"X\" or \"x\".",
            ));
        }
        let s = input.trim_matches(crate::string::is_dotnet_whitespace);
        Self::parse_exact_inner(s, &f)
    }

    fn parse_exact_inner(s: &str, format: &str) -> DotNetResult<Guid> {
        let hex = |t: &str| -> DotNetResult<Vec<u8>> {
            if !t.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(unrecognized());
            }
            Ok(t.bytes()
                .map(|b| (b as char).to_digit(16).unwrap_or(0) as u8)
                .collect())
        };
        let from32 = |digits: Vec<u8>| -> Guid {
            let mut bytes = [0u8; 16];
            let mut raw = [0u8; 16];
            for i in 0..16 {
                raw[i] = digits[2 * i] << 4 | digits[2 * i + 1];
            }
            // raw is big-endian text order; convert the first three fields to little-endian.
            bytes[0] = raw[3];
            bytes[1] = raw[2];
            bytes[2] = raw[1];
            bytes[3] = raw[0];
            bytes[4] = raw[5];
            bytes[5] = raw[4];
            bytes[6] = raw[7];
            bytes[7] = raw[6];
            bytes[8..].copy_from_slice(&raw[8..]);
            Guid { bytes }
        };
        match format {
            "N" => {
                if s.len() != 32 {
                    return Err(unrecognized());
                }
                Ok(from32(hex(s)?))
            }
            "D" | "B" | "P" => {
                let inner = match format {
                    "B" => s.strip_prefix('{').and_then(|t| t.strip_suffix('}')),
                    "P" => s.strip_prefix('(').and_then(|t| t.strip_suffix(')')),
                    _ => Some(s),
                }
                .ok_or_else(unrecognized)?;
                let parts: Vec<&str> = inner.split('-').collect();
                let lens = [8, 4, 4, 4, 12];
                if parts.len() != 5 || parts.iter().zip(lens).any(|(p, l)| p.len() != l) {
                    return Err(unrecognized());
                }
                Ok(from32(hex(&parts.concat())?))
            }
            "X" => {
                let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
                let inner = compact
                    .strip_prefix('{')
                    .and_then(|t| t.strip_suffix("}}"))
                    .ok_or_else(unrecognized)?;
                let (head, tail) = inner.split_once(",{").ok_or_else(unrecognized)?;
                let head: Vec<&str> = head.split(',').collect();
                let tail: Vec<&str> = tail.split(',').collect();
                if head.len() != 3 || tail.len() != 8 {
                    return Err(unrecognized());
                }
                let num = |t: &str, max_digits: usize| -> DotNetResult<u32> {
                    let h = t
                        .strip_prefix("0x")
                        .or_else(|| t.strip_prefix("0X"))
                        .ok_or_else(unrecognized)?;
                    if h.is_empty()
                        || h.len() > max_digits
                        || !h.bytes().all(|b| b.is_ascii_hexdigit())
                    {
                        return Err(unrecognized());
                    }
                    u32::from_str_radix(h, 16).map_err(|_| unrecognized())
                };
                let a = num(head[0], 8)?;
                let b = num(head[1], 4)? as u16;
                let c = num(head[2], 4)? as u16;
                let mut d = [0u8; 8];
                for (i, t) in tail.iter().enumerate() {
                    d[i] = num(t, 2)? as u8;
                }
                Ok(Guid::from_fields(a, b, c, d))
            }
            _ => Err(DotNetException::new(
                ExceptionKind::FormatException,
                "Unrecognized Guid format.",
            )),
        }
    }
}

impl PartialOrd for Guid {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Guid {
    /// `CompareTo`: fields a, b, c as unsigned numbers, then the remaining bytes.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.a(), self.b(), self.c(), &self.bytes[8..]).cmp(&(
            other.a(),
            other.b(),
            other.c(),
            &other.bytes[8..],
        ))
    }
}

impl std::fmt::Display for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string_d())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "5c7f8f8e-2f4c-4c39-9d55-0d6cde3e9a10";

    #[test]
    fn parse_and_format_all_forms() {
        let g = Guid::parse(TEXT).unwrap();
        assert_eq!(g.to_string(), TEXT);
        assert_eq!(
            g.to_string_format("N").unwrap(),
            "5c7f8f8e2f4c4c399d550d6cde3e9a10"
        );
        assert_eq!(g.to_string_format("B").unwrap(), format!("{{{TEXT}}}"));
        assert_eq!(g.to_string_format("P").unwrap(), format!("({TEXT})"));
        let x = g.to_string_format("X").unwrap();
        assert_eq!(
            x,
            "{0x5c7f8f8e,0x2f4c,0x4c39,{0x9d,0x55,0x0d,0x6c,0xde,0x3e,0x9a,0x10}}"
        );
        for form in ["N", "B", "P", "X"] {
            assert_eq!(Guid::parse(&g.to_string_format(form).unwrap()).unwrap(), g);
        }
        assert_eq!(Guid::parse(&TEXT.to_uppercase()).unwrap(), g);
        assert_eq!(&g.to_byte_array()[0..4], &[0x8e, 0x8f, 0x7f, 0x5c]);
        assert_eq!(
            Guid::parse("nope").unwrap_err().kind,
            ExceptionKind::FormatException
        );
        assert!(Guid::parse_exact(TEXT, "N").is_err());
        assert_eq!(
            g.to_string_format("Q").unwrap_err().kind,
            ExceptionKind::FormatException
        );
    }

    #[test]
    fn hash_code_is_xor_of_four_ints() {
        // Words (LE): 0x5c7f8f8e, 0x4c392f4c, 0x6c0d559d, 0x109a3ede.
        let g = Guid::parse(TEXT).unwrap();
        let expected = (0x5c7f8f8eu32 ^ 0x4c392f4cu32 ^ 0x6c0d559du32 ^ 0x109a3edeu32) as i32;
        assert_eq!(g.get_hash_code(), expected);
        assert_eq!(Guid::EMPTY.get_hash_code(), 0);
    }

    #[test]
    fn compare_to_orders_by_fields() {
        let a = Guid::parse("00000001-0000-0000-0000-000000000000").unwrap();
        let b = Guid::parse("00000100-0000-0000-0000-000000000000").unwrap();
        assert!(a < b);
        assert!(Guid::parse("ffffffff-0000-0000-0000-000000000000").unwrap() > b);
    }

    #[test]
    fn new_guid_sets_version_bits() {
        let g = Guid::new_v4([0xff; 16]);
        let d = g.to_string();
        assert_eq!(&d[14..15], "4");
        assert_eq!(&d[19..20], "b");
    }
}
