//! `System.Text.Encoding` (UTF-8, ASCII, UTF-16 LE/BE, UTF-32, Latin-1) with .NET's
//! replacement behaviour, and `System.BitConverter`.

use crate::error::{DotNetException, DotNetResult};

/// A `System.Text.Encoding` instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Ascii,
    /// `Encoding.Unicode`: UTF-16 little-endian.
    Unicode,
    BigEndianUnicode,
    /// `Encoding.UTF32`: little-endian.
    Utf32,
    Latin1,
}

impl Encoding {
    /// `Encoding.GetEncoding(name)` for the encodings .NET Core has built in.
    pub fn from_name(name: &str) -> DotNetResult<Encoding> {
        let n = name.trim().to_ascii_lowercase();
        Ok(match n.as_str() {
            "utf-8" | "utf8" => Encoding::Utf8,
            "us-ascii" | "ascii" | "us" | "ansi_x3.4-1968" | "ansi_x3.4-1986" | "cp367"
            | "csascii" | "ibm367" | "iso-ir-6" | "iso646-us" | "iso_646.irv:1991" => {
                Encoding::Ascii
            }
            "utf-16" | "utf-16le" | "unicode" | "ucs-2" | "iso-10646-ucs-2" | "unicodefffe1" => {
                Encoding::Unicode
            }
            "utf-16be" | "unicodefffe" => Encoding::BigEndianUnicode,
            "utf-32" | "utf-32le" => Encoding::Utf32,
            "iso-8859-1" | "latin1" | "l1" | "iso_8859-1" | "iso_8859-1:1987" | "cp819"
            | "csisolatin1" | "ibm819" | "iso-ir-100" => Encoding::Latin1,
            _ => {
                return Err(DotNetException::argument(format!(
                    "'{name}' is not a supported encoding name. For information on defining a custom encoding, see the documentation for the Encoding.RegisterProvider method. (Parameter 'name')"
                )));
            }
        })
    }

    /// `Encoding.GetEncoding(codepage)`.
    pub fn from_code_page(cp: i32) -> DotNetResult<Encoding> {
        Ok(match cp {
            65001 => Encoding::Utf8,
            20127 => Encoding::Ascii,
            1200 => Encoding::Unicode,
            1201 => Encoding::BigEndianUnicode,
            12000 => Encoding::Utf32,
            28591 => Encoding::Latin1,
            _ => {
                return Err(DotNetException::not_supported(&format!(
                    "Encoding code page {cp}"
                )));
            }
        })
    }

    /// `WebName`.
    pub fn web_name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Ascii => "us-ascii",
            Encoding::Unicode => "utf-16",
            Encoding::BigEndianUnicode => "utf-16BE",
            Encoding::Utf32 => "utf-32",
            Encoding::Latin1 => "iso-8859-1",
        }
    }

    /// `CodePage`.
    pub fn code_page(self) -> i32 {
        match self {
            Encoding::Utf8 => 65001,
            Encoding::Ascii => 20127,
            Encoding::Unicode => 1200,
            Encoding::BigEndianUnicode => 1201,
            Encoding::Utf32 => 12000,
            Encoding::Latin1 => 28591,
        }
    }

    /// `GetPreamble()`: the byte-order mark of the static instances.
    pub fn preamble(self) -> Vec<u8> {
        match self {
            Encoding::Utf8 => vec![0xEF, 0xBB, 0xBF],
            Encoding::Unicode => vec![0xFF, 0xFE],
            Encoding::BigEndianUnicode => vec![0xFE, 0xFF],
            Encoding::Utf32 => vec![0xFF, 0xFE, 0, 0],
            Encoding::Ascii | Encoding::Latin1 => Vec::new(),
        }
    }

    /// `GetBytes(s)`: unencodable characters become '?' (one per code point).
    pub fn get_bytes(self, s: &str) -> Vec<u8> {
        match self {
            Encoding::Utf8 => s.as_bytes().to_vec(),
            Encoding::Ascii => s
                .chars()
                .map(|c| if (c as u32) < 0x80 { c as u8 } else { b'?' })
                .collect(),
            Encoding::Latin1 => s
                .chars()
                .map(|c| {
                    if (c as u32) < 0x100 {
                        c as u32 as u8
                    } else {
                        b'?'
                    }
                })
                .collect(),
            Encoding::Unicode => s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect(),
            Encoding::BigEndianUnicode => s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect(),
            Encoding::Utf32 => s.chars().flat_map(|c| (c as u32).to_le_bytes()).collect(),
        }
    }

    /// `GetByteCount(s)`.
    pub fn get_byte_count(self, s: &str) -> i32 {
        self.get_bytes(s).len() as i32
    }

    /// `GetString(bytes)`: invalid sequences become U+FFFD ('?' for ASCII).
    pub fn get_string(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Utf8 => {
                // A leading BOM is kept as U+FEFF by GetString, as in .NET.
                String::from_utf8_lossy(bytes).into_owned()
            }
            Encoding::Ascii => bytes
                .iter()
                .map(|&b| if b < 0x80 { b as char } else { '?' })
                .collect(),
            Encoding::Latin1 => bytes.iter().map(|&b| b as char).collect(),
            Encoding::Unicode | Encoding::BigEndianUnicode => {
                let units: Vec<u16> = bytes
                    .chunks(2)
                    .filter(|c| c.len() == 2)
                    .map(|c| {
                        if self == Encoding::Unicode {
                            u16::from_le_bytes([c[0], c[1]])
                        } else {
                            u16::from_be_bytes([c[0], c[1]])
                        }
                    })
                    .collect();
                let mut s = String::from_utf16_lossy(&units);
                if bytes.len() % 2 == 1 {
                    s.push('\u{FFFD}');
                }
                s
            }
            Encoding::Utf32 => {
                let mut s: String = bytes
                    .chunks(4)
                    .filter(|c| c.len() == 4)
                    .map(|c| {
                        char::from_u32(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                            .unwrap_or('\u{FFFD}')
                    })
                    .collect();
                if bytes.len() % 4 != 0 {
                    s.push('\u{FFFD}');
                }
                s
            }
        }
    }

    /// `GetString(bytes, index, count)`.
    pub fn get_string_range(self, bytes: &[u8], index: i32, count: i32) -> DotNetResult<String> {
        check_range(bytes.len(), index, count, "index", "count")?;
        Ok(self.get_string(&bytes[index as usize..(index + count) as usize]))
    }

    /// `GetCharCount(bytes)` in UTF-16 units.
    pub fn get_char_count(self, bytes: &[u8]) -> i32 {
        crate::string::length(&self.get_string(bytes))
    }
}

fn check_range(len: usize, index: i32, count: i32, ip: &str, cp: &str) -> DotNetResult<()> {
    if index < 0 {
        return Err(DotNetException::out_of_range(
            ip,
            "Non-negative number required.",
        ));
    }
    if count < 0 {
        return Err(DotNetException::out_of_range(
            cp,
            "Non-negative number required.",
        ));
    }
    if index as usize + count as usize > len {
        return Err(DotNetException::out_of_range(
            ip,
            "Index and count must refer to a location within the buffer.",
        ));
    }
    Ok(())
}

/// `BitConverter.ToString(bytes)`: "AB-CD-EF".
pub fn bit_converter_to_string(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join("-")
}

/// `BitConverter.ToString(bytes, start, length)`.
pub fn bit_converter_to_string_range(
    bytes: &[u8],
    start: i32,
    length: i32,
) -> DotNetResult<String> {
    if start < 0
        || (start as usize >= bytes.len() && !bytes.is_empty())
        || (bytes.is_empty() && start > 0)
    {
        return Err(DotNetException::out_of_range(
            "startIndex",
            "Index was out of range. Must be non-negative and less than the size of the collection.",
        ));
    }
    if length < 0 {
        return Err(DotNetException::out_of_range(
            "length",
            "Value must be positive.",
        ));
    }
    if start as usize + length as usize > bytes.len() {
        return Err(DotNetException::argument(
            "Destination array is not long enough to copy all the items in the collection. Check array index and length.",
        ));
    }
    Ok(bit_converter_to_string(
        &bytes[start as usize..(start + length) as usize],
    ))
}

fn take<const N: usize>(bytes: &[u8], start: i32) -> DotNetResult<[u8; N]> {
    if start < 0 || start as usize >= bytes.len().max(1) && !(bytes.is_empty() && start == 0) {
        return Err(DotNetException::out_of_range(
            "startIndex",
            "Index was out of range. Must be non-negative and less than the size of the collection.",
        ));
    }
    if start as usize + N > bytes.len() {
        return Err(DotNetException::argument(
            "Destination array is not long enough to copy all the items in the collection. Check array index and length. (Parameter 'value')",
        ));
    }
    let mut a = [0u8; N];
    a.copy_from_slice(&bytes[start as usize..start as usize + N]);
    Ok(a)
}

/// `BitConverter.ToInt16/ToInt32/ToInt64/ToUInt*/ToDouble/ToSingle/ToBoolean(bytes, start)`
/// (little-endian, as .NET on x64).
pub fn to_i16(b: &[u8], start: i32) -> DotNetResult<i16> {
    take::<2>(b, start).map(i16::from_le_bytes)
}
pub fn to_u16(b: &[u8], start: i32) -> DotNetResult<u16> {
    take::<2>(b, start).map(u16::from_le_bytes)
}
pub fn to_i32(b: &[u8], start: i32) -> DotNetResult<i32> {
    take::<4>(b, start).map(i32::from_le_bytes)
}
pub fn to_u32(b: &[u8], start: i32) -> DotNetResult<u32> {
    take::<4>(b, start).map(u32::from_le_bytes)
}
pub fn to_i64(b: &[u8], start: i32) -> DotNetResult<i64> {
    take::<8>(b, start).map(i64::from_le_bytes)
}
pub fn to_u64(b: &[u8], start: i32) -> DotNetResult<u64> {
    take::<8>(b, start).map(u64::from_le_bytes)
}
pub fn to_f64(b: &[u8], start: i32) -> DotNetResult<f64> {
    take::<8>(b, start).map(f64::from_le_bytes)
}
pub fn to_f32(b: &[u8], start: i32) -> DotNetResult<f32> {
    take::<4>(b, start).map(f32::from_le_bytes)
}
pub fn to_bool(b: &[u8], start: i32) -> DotNetResult<bool> {
    take::<1>(b, start).map(|a| a[0] != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExceptionKind;

    #[test]
    fn encodings_round_trip_and_replace() {
        assert_eq!(Encoding::Utf8.get_bytes("é"), vec![0xC3, 0xA9]);
        assert_eq!(Encoding::Ascii.get_bytes("aé😀"), b"a??".to_vec());
        assert_eq!(Encoding::Ascii.get_string(&[0x61, 0xC3]), "a?");
        assert_eq!(Encoding::Utf8.get_string(&[0x61, 0xFF, 0x62]), "a\u{FFFD}b");
        assert_eq!(Encoding::Unicode.get_bytes("A"), vec![0x41, 0]);
        assert_eq!(Encoding::BigEndianUnicode.get_bytes("A"), vec![0, 0x41]);
        assert_eq!(Encoding::Utf32.get_bytes("A"), vec![0x41, 0, 0, 0]);
        assert_eq!(Encoding::Unicode.get_string(&[0x41, 0, 0x42]), "A\u{FFFD}");
        assert_eq!(Encoding::Latin1.get_bytes("é€"), vec![0xE9, b'?']);
        assert_eq!(Encoding::from_name("ISO-8859-1").unwrap(), Encoding::Latin1);
        assert_eq!(
            Encoding::from_name("windows-1252").unwrap_err().kind,
            ExceptionKind::ArgumentException
        );
        assert_eq!(Encoding::Utf8.get_byte_count("😀"), 4);
        assert_eq!(
            Encoding::Utf8.get_string_range(b"hello", 1, 3).unwrap(),
            "ell"
        );
        assert!(Encoding::Utf8.get_string_range(b"hello", 3, 3).is_err());
    }

    #[test]
    fn bit_converter() {
        assert_eq!(bit_converter_to_string(&[0xAB, 0x01, 0xFF]), "AB-01-FF");
        assert_eq!(bit_converter_to_string(&[]), "");
        assert_eq!(
            bit_converter_to_string_range(&[1, 2, 3], 1, 2).unwrap(),
            "02-03"
        );
        assert_eq!(to_i32(&[1, 0, 0, 0], 0).unwrap(), 1);
        assert_eq!(
            to_i32(&[0xFF, 0xFF, 0xFF, 0xFF], 1).unwrap_err().kind,
            ExceptionKind::ArgumentException
        );
        assert_eq!(
            to_i32(&[0; 4], 4).unwrap_err().kind,
            ExceptionKind::ArgumentOutOfRangeException
        );
        assert_eq!(to_i64(&1i64.to_le_bytes(), 0).unwrap(), 1);
        assert!(to_bool(&[0, 1], 1).unwrap());
    }
}
