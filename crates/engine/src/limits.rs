//! In-process building blocks for access-restriction policies: `limit-concurrency` slots,
//! `ip-filter` address checks, and the `Authorization: Basic` value of `authentication-basic`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

/// Concurrent requests per key (limit-concurrency). Slots are released when the guard drops.
#[derive(Debug, Clone, Default)]
pub struct ConcurrencyLimiter {
    counts: Arc<Mutex<HashMap<String, u32>>>,
}

/// A taken slot; dropping it frees the slot.
#[derive(Debug)]
pub struct ConcurrencySlot {
    key: String,
    counts: Arc<Mutex<HashMap<String, u32>>>,
}

impl Drop for ConcurrencySlot {
    fn drop(&mut self) {
        let mut m = self.counts.lock();
        if let Some(c) = m.get_mut(&self.key) {
            *c = c.saturating_sub(1);
            if *c == 0 {
                m.remove(&self.key);
            }
        }
    }
}

impl ConcurrencyLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a slot for `key` when fewer than `max` are in use; `None` means the request must be
    /// refused (APIM does not queue).
    pub fn try_acquire(&self, key: &str, max: u32) -> Option<ConcurrencySlot> {
        let mut m = self.counts.lock();
        let c = m.entry(key.to_string()).or_insert(0);
        if *c >= max {
            if *c == 0 {
                m.remove(key);
            }
            return None;
        }
        *c += 1;
        Some(ConcurrencySlot {
            key: key.to_string(),
            counts: self.counts.clone(),
        })
    }

    pub fn in_use(&self, key: &str) -> u32 {
        self.counts.lock().get(key).copied().unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpError {
    #[error("'{0}' is not a valid IP address")]
    Invalid(String),
    #[error("address range {0} - {1} mixes IPv4 and IPv6")]
    MixedRange(String, String),
}

/// An `ip-filter` entry: one address or an inclusive range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpRule {
    Address(IpAddr),
    Range(IpAddr, IpAddr),
}

fn parse_ip(s: &str) -> Result<IpAddr, IpError> {
    s.trim()
        .parse::<IpAddr>()
        .map_err(|_| IpError::Invalid(s.chars().take(100).collect()))
}

/// Normalises IPv4-mapped IPv6 (`::ffff:1.2.3.4`) to IPv4 so both forms compare.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

impl IpRule {
    pub fn address(s: &str) -> Result<Self, IpError> {
        Ok(IpRule::Address(canonical(parse_ip(s)?)))
    }

    pub fn range(from: &str, to: &str) -> Result<Self, IpError> {
        let (a, b) = (canonical(parse_ip(from)?), canonical(parse_ip(to)?));
        if a.is_ipv4() != b.is_ipv4() {
            return Err(IpError::MixedRange(from.into(), to.into()));
        }
        Ok(IpRule::Range(a, b))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match self {
            IpRule::Address(a) => *a == ip,
            IpRule::Range(a, b) => match (a, b, ip) {
                (IpAddr::V4(a), IpAddr::V4(b), IpAddr::V4(x)) => {
                    (u32::from(*a)..=u32::from(*b)).contains(&u32::from(x))
                }
                (IpAddr::V6(a), IpAddr::V6(b), IpAddr::V6(x)) => {
                    (u128::from(*a)..=u128::from(*b)).contains(&u128::from(x))
                }
                _ => false,
            },
        }
    }
}

/// The caller's address as ip-filter sees it; `Err` is the `FailedToParseCallerIP` case.
pub fn caller_ip(ip_address: &str) -> Result<IpAddr, IpError> {
    parse_ip(ip_address).map(canonical)
}

/// `authentication-basic`: `Basic base64(username:password)` (UTF-8).
pub fn basic_authorization(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        apim_dotnet::convert::to_base64_string(format!("{username}:{password}").as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_slots_are_released_on_drop() {
        let l = ConcurrencyLimiter::new();
        let a = l.try_acquire("k", 2).unwrap();
        let _b = l.try_acquire("k", 2).unwrap();
        assert!(
            l.try_acquire("k", 2).is_none(),
            "no queuing: refused at once"
        );
        assert!(l.try_acquire("other", 2).is_some());
        drop(a);
        assert_eq!(l.in_use("k"), 1);
        assert!(l.try_acquire("k", 2).is_some());
        assert!(l.try_acquire("z", 0).is_none());
        assert_eq!(l.in_use("z"), 0);
    }

    #[test]
    fn ip_rules() {
        let r = IpRule::range("10.0.0.1", "10.0.0.255").unwrap();
        assert!(r.contains("10.0.0.7".parse().unwrap()));
        assert!(!r.contains("10.0.1.0".parse().unwrap()));
        assert!(r.contains("::ffff:10.0.0.9".parse().unwrap()));
        assert!(
            IpRule::address("13.66.201.169")
                .unwrap()
                .contains(caller_ip("13.66.201.169").unwrap())
        );
        let v6 = IpRule::range("2001:db8::", "2001:db8::ffff").unwrap();
        assert!(v6.contains("2001:db8::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert!(matches!(
            IpRule::range("10.0.0.1", "::1"),
            Err(IpError::MixedRange(..))
        ));
        assert!(caller_ip("not-an-ip").is_err());
    }

    #[test]
    fn basic_auth_value() {
        assert_eq!(
            basic_authorization("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        // Both paddings.
        assert_eq!(basic_authorization("", ""), "Basic Og==");
        assert_eq!(basic_authorization("a", ""), "Basic YTo=");
    }
}
