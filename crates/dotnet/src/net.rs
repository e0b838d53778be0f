//! `System.Net.IPAddress` (the members APIM allows: Parse, TryParse, ToString,
//! GetAddressBytes, IsLoopback, AddressFamily, Equals).

use crate::error::{DotNetException, DotNetResult};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `System.Net.IPAddress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpAddress(pub IpAddr);

fn bad_ip() -> DotNetException {
    DotNetException::format("An invalid IP address was specified.")
}

/// IPv4 in the classic inet_aton forms .NET accepts: `a.b.c.d`, `a.b.c` (c is 16 bits),
/// `a.b` (b is 24 bits), `a` (32 bits); each part decimal, octal (leading 0) or hex (0x).
fn parse_v4(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(parts.len());
    for p in &parts {
        if p.is_empty() {
            return None;
        }
        let v = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            if h.is_empty() {
                0
            } else {
                u64::from_str_radix(h, 16).ok()?
            }
        } else if p.len() > 1 && p.starts_with('0') {
            u64::from_str_radix(&p[1..], 8).ok()?
        } else {
            p.parse::<u64>().ok()?
        };
        if v > u32::MAX as u64 {
            return None;
        }
        nums.push(v as u32);
    }
    let last = *nums.last()?;
    let (head, max_last): (&[u32], u64) = match nums.len() {
        1 => (&[], u32::MAX as u64),
        2 => (&nums[..1], 0xFF_FFFF),
        3 => (&nums[..2], 0xFFFF),
        _ => (&nums[..3], 0xFF),
    };
    if last as u64 > max_last || head.iter().any(|&h| h > 255) {
        return None;
    }
    let mut v: u32 = 0;
    for (i, h) in head.iter().enumerate() {
        v |= h << (24 - 8 * i);
    }
    Some(Ipv4Addr::from(v | last))
}

impl IpAddress {
    /// `IPAddress.Parse(s)`: FormatException "An invalid IP address was specified.".
    pub fn parse(s: &str) -> DotNetResult<IpAddress> {
        let t = s.trim();
        if t.contains(':') {
            let inner = t
                .strip_prefix('[')
                .and_then(|x| x.split_once(']'))
                .map(|(a, _)| a)
                .unwrap_or(t);
            // Drop a zone id (fe80::1%4); .NET keeps it as ScopeId.
            let addr = inner.split('%').next().unwrap_or(inner);
            return addr
                .parse::<Ipv6Addr>()
                .map(|a| IpAddress(IpAddr::V6(a)))
                .map_err(|_| bad_ip());
        }
        parse_v4(t)
            .map(|a| IpAddress(IpAddr::V4(a)))
            .ok_or_else(bad_ip)
    }
    /// `IPAddress.TryParse(s, out address)`.
    pub fn try_parse(s: &str) -> Option<IpAddress> {
        Self::parse(s).ok()
    }
    /// `GetAddressBytes()`.
    pub fn address_bytes(self) -> Vec<u8> {
        match self.0 {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        }
    }
    /// `AddressFamily`: "InterNetwork" or "InterNetworkV6".
    pub fn address_family(self) -> &'static str {
        match self.0 {
            IpAddr::V4(_) => "InterNetwork",
            IpAddr::V6(_) => "InterNetworkV6",
        }
    }
    /// `IPAddress.IsLoopback(address)`: 127.0.0.0/8 and ::1.
    pub fn is_loopback(self) -> bool {
        self.0.is_loopback()
    }
    /// `ToString()`: dotted quad, or RFC 5952 IPv6 (IPv4-mapped as `::ffff:a.b.c.d`).
    pub fn to_string_value(self) -> String {
        match self.0 {
            IpAddr::V4(a) => a.to_string(),
            IpAddr::V6(a) => a.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExceptionKind;

    #[test]
    fn parse_forms_and_members() {
        assert_eq!(
            IpAddress::parse("10.0.0.1").unwrap().to_string_value(),
            "10.0.0.1"
        );
        assert_eq!(
            IpAddress::parse("127.1").unwrap().to_string_value(),
            "127.0.0.1"
        );
        assert_eq!(
            IpAddress::parse("0x7f.0.0.1").unwrap().to_string_value(),
            "127.0.0.1"
        );
        assert_eq!(IpAddress::parse("1").unwrap().to_string_value(), "0.0.0.1");
        assert_eq!(
            IpAddress::parse("010.0.0.1").unwrap().to_string_value(),
            "8.0.0.1"
        );
        assert_eq!(
            IpAddress::parse("2001:DB8::1").unwrap().to_string_value(),
            "2001:db8::1"
        );
        assert_eq!(
            IpAddress::parse("::ffff:1.2.3.4")
                .unwrap()
                .to_string_value(),
            "::ffff:1.2.3.4"
        );
        assert_eq!(
            IpAddress::parse("[::1]:80").unwrap().to_string_value(),
            "::1"
        );
        assert!(IpAddress::parse("::1").unwrap().is_loopback());
        assert!(IpAddress::parse("127.0.0.5").unwrap().is_loopback());
        assert_eq!(
            IpAddress::parse("1.2.3.4").unwrap().address_bytes(),
            vec![1, 2, 3, 4]
        );
        assert_eq!(
            IpAddress::parse("1.2.3.4").unwrap().address_family(),
            "InterNetwork"
        );
        for bad in ["256.1.1.1", "1.2.3.4.5", "a.b.c.d", "", "1..2", "::g"] {
            assert_eq!(
                IpAddress::parse(bad).unwrap_err().kind,
                ExceptionKind::FormatException,
                "{bad}"
            );
        }
    }
}
