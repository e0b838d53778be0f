//! `quota` / `quota-by-key`: calls and bandwidth per fixed renewal period.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{
    FixedWindow, FixedWindowStore, MemoryFixedStore, Millis, now_millis, retry_after_secs,
};
use crate::errors::{QuotaKind, format_timespan};
use crate::services::{Clock, StoreError};

/// One quota: at least one of `calls` / `bandwidth_kb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaSpec {
    pub calls: Option<u64>,
    /// Kilobytes (1024 bytes).
    pub bandwidth_kb: Option<u64>,
    /// Zero: the quota never renews.
    pub renewal_period: Duration,
    /// Windows are aligned to this instant (`first-period-start`, default
    /// `0001-01-01T00:00:00Z`; for `quota` the subscription's start).
    pub first_period_start: DateTime<Utc>,
}

impl QuotaSpec {
    /// `quota-by-key`'s default `first-period-start`.
    pub fn default_first_period_start() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z")
            .map(|d| d.to_utc())
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// The fixed window containing `now_ms`: index = floor((now − start) / period).
    pub fn window_at(&self, now_ms: Millis) -> FixedWindow {
        let first = self.first_period_start.timestamp_millis();
        let period = i64::try_from(self.renewal_period.as_millis()).unwrap_or(i64::MAX);
        if period == 0 {
            return FixedWindow {
                start_ms: first,
                end_ms: None,
            };
        }
        let index = now_ms.saturating_sub(first).div_euclid(period);
        let start_ms = first.saturating_add(index.saturating_mul(period));
        FixedWindow {
            start_ms,
            end_ms: Some(start_ms.saturating_add(period)),
        }
    }
}

/// Counters of one request after a quota check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUsage {
    pub calls_used: u64,
    pub bandwidth_used_bytes: u64,
    /// Until the window renews; `None` when it never does.
    pub replenished_in: Option<Duration>,
    /// The shared store was unreachable: the call was let through uncounted.
    pub degraded: bool,
}

/// Outcome of a quota check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaDecision {
    Allowed(QuotaUsage),
    /// 403 "Out of call volume quota. Quota will be replenished in 00:05:00." (or bandwidth).
    Exceeded {
        kind: QuotaKind,
        /// `None` when the quota never renews (renewal-period 0).
        replenished_in: Option<Duration>,
    },
}

impl QuotaDecision {
    /// Retry-After seconds (rounded up); `None` when the quota never renews.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            QuotaDecision::Exceeded {
                replenished_in: Some(d),
                ..
            } => Some(retry_after_secs(
                u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            )),
            _ => None,
        }
    }

    /// The TimeSpan text of the 403 message (`00:05:00`, `14.07:13:56`).
    pub fn replenished_in_text(&self) -> Option<String> {
        self.retry_after_secs()
            .map(|s| format_timespan(Duration::from_secs(s)))
    }
}

/// "If several quota-by-key policies would increment the same key in one request, it is
/// incremented once": one ledger per request, kept by the policy in the request context.
#[derive(Debug, Clone, Default)]
pub struct QuotaRequestLedger {
    incremented: HashSet<String>,
}

impl QuotaRequestLedger {
    /// True the first time `key` is incremented in this request.
    pub fn first_increment(&mut self, key: &str) -> bool {
        self.incremented.insert(key.to_string())
    }
}

/// Fixed-window quota counting per counter key.
#[derive(Debug, Clone)]
pub struct QuotaCounter {
    store: Arc<dyn FixedWindowStore>,
    clock: Arc<dyn Clock>,
}

fn calls_key(key: &str) -> String {
    format!("quota-calls:{key}")
}
fn bytes_key(key: &str) -> String {
    format!("quota-bytes:{key}")
}

fn log_fail_open(key: &str, e: &StoreError) {
    tracing::debug!(
        counter = "quota",
        counter_key = key,
        error = %e,
        "quota store unreachable; call let through uncounted (fail open)"
    );
}

impl QuotaCounter {
    pub fn new(store: Arc<dyn FixedWindowStore>, clock: Arc<dyn Clock>) -> Self {
        QuotaCounter { store, clock }
    }

    pub fn in_memory(clock: Arc<dyn Clock>) -> Self {
        Self::new(Arc::new(MemoryFixedStore::new()), clock)
    }

    /// Inbound check. Rejects when the calls or the bandwidth of the window are used up;
    /// otherwise counts one call when `count_call` (false: increment-condition false, the key
    /// was already incremented in this request — see [`QuotaRequestLedger`] — or the
    /// increment is deferred to [`QuotaCounter::add`]).
    pub async fn check(&self, key: &str, spec: &QuotaSpec, count_call: bool) -> QuotaDecision {
        self.check_inner(key, spec, 1, u64::from(count_call)).await
    }

    /// Check of a call this request already counted under `key` (a second quota-by-key with
    /// the same key): admitted while the counter has not gone past the limit.
    pub async fn check_counted(&self, key: &str, spec: &QuotaSpec) -> QuotaDecision {
        self.check_inner(key, spec, 0, 0).await
    }

    async fn check_inner(&self, key: &str, spec: &QuotaSpec, need: u64, add: u64) -> QuotaDecision {
        let now = now_millis(self.clock.as_ref());
        let window = spec.window_at(now);
        let replenished_in = window
            .end_ms
            .map(|end| Duration::from_millis(u64::try_from(end - now).unwrap_or(0)));
        let mut usage = QuotaUsage {
            calls_used: 0,
            bandwidth_used_bytes: 0,
            replenished_in,
            degraded: false,
        };
        if let Some(kb) = spec.bandwidth_kb {
            let bkey = bytes_key(key);
            match self.store.get(&bkey, window).await {
                Ok(used) if used >= kb.saturating_mul(1024) => {
                    return QuotaDecision::Exceeded {
                        kind: QuotaKind::Bandwidth,
                        replenished_in,
                    };
                }
                Ok(used) => usage.bandwidth_used_bytes = used,
                Err(e) => {
                    log_fail_open(&bkey, &e);
                    usage.degraded = true;
                    return QuotaDecision::Allowed(usage);
                }
            }
        }
        let ckey = calls_key(key);
        let (need, limit) = match spec.calls {
            Some(calls) => (need, calls),
            None => (0, u64::MAX),
        };
        match self.store.admit(&ckey, window, need, add, limit).await {
            Ok(a) if a.admitted => {
                usage.calls_used = a.used;
                QuotaDecision::Allowed(usage)
            }
            Ok(_) => QuotaDecision::Exceeded {
                kind: QuotaKind::Calls,
                replenished_in,
            },
            Err(e) => {
                log_fail_open(&ckey, &e);
                usage.degraded = true;
                QuotaDecision::Allowed(usage)
            }
        }
    }

    /// Takes back one call counted by [`QuotaCounter::check`] (a quota whose API or operation
    /// limit then refused the call).
    pub async fn release(&self, key: &str, spec: &QuotaSpec) {
        let window = spec.window_at(now_millis(self.clock.as_ref()));
        let k = calls_key(key);
        if let Err(e) = self.store.add(&k, window, -1).await {
            log_fail_open(&k, &e);
        }
    }

    /// Counts `calls` and `bytes` of bandwidth (after the response; deferred increments).
    pub async fn add(&self, key: &str, spec: &QuotaSpec, calls: u64, bytes: u64) {
        let window = spec.window_at(now_millis(self.clock.as_ref()));
        let delta = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        if calls > 0 {
            let k = calls_key(key);
            if let Err(e) = self.store.add(&k, window, delta(calls)).await {
                log_fail_open(&k, &e);
            }
        }
        if bytes > 0 && spec.bandwidth_kb.is_some() {
            let k = bytes_key(key);
            if let Err(e) = self.store.add(&k, window, delta(bytes)).await {
                log_fail_open(&k, &e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::VirtualClock;
    use futures_util::FutureExt;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn windows_align_to_first_period_start() {
        let spec = QuotaSpec {
            calls: Some(1),
            bandwidth_kb: None,
            renewal_period: Duration::from_secs(3600),
            first_period_start: at("2024-01-01T00:10:00Z"),
        };
        let w = spec.window_at(at("2024-01-01T05:00:00Z").timestamp_millis());
        assert_eq!(w.start_ms, at("2024-01-01T04:10:00Z").timestamp_millis());
        assert_eq!(
            w.end_ms,
            Some(at("2024-01-01T05:10:00Z").timestamp_millis())
        );
        // Before the first period: windows extend backwards.
        let w = spec.window_at(at("2024-01-01T00:00:00Z").timestamp_millis());
        assert_eq!(w.start_ms, at("2023-12-31T23:10:00Z").timestamp_millis());
        let default = QuotaSpec {
            first_period_start: QuotaSpec::default_first_period_start(),
            renewal_period: Duration::from_secs(86400),
            ..spec
        };
        let w = default.window_at(at("2024-03-05T13:00:00Z").timestamp_millis());
        assert_eq!(w.start_ms, at("2024-03-05T00:00:00Z").timestamp_millis());
    }

    #[test]
    fn calls_quota_rejects_with_time_until_replenished_then_renews() {
        let clock = VirtualClock::new(at("2024-01-01T00:00:00Z"));
        let q = QuotaCounter::in_memory(Arc::new(clock.clone()));
        let spec = QuotaSpec {
            calls: Some(2),
            bandwidth_kb: None,
            renewal_period: Duration::from_secs(300),
            first_period_start: QuotaSpec::default_first_period_start(),
        };
        for n in 1..=2 {
            match q.check("sub", &spec, true).now_or_never().unwrap() {
                QuotaDecision::Allowed(u) => assert_eq!(u.calls_used, n),
                other => panic!("{other:?}"),
            }
        }
        let d = q.check("sub", &spec, true).now_or_never().unwrap();
        assert_eq!(d.replenished_in_text().as_deref(), Some("00:05:00"));
        assert!(matches!(
            d,
            QuotaDecision::Exceeded {
                kind: QuotaKind::Calls,
                ..
            }
        ));
        clock.advance(Duration::from_secs(299));
        let d = q.check("sub", &spec, true).now_or_never().unwrap();
        assert_eq!(d.retry_after_secs(), Some(1));
        clock.advance(Duration::from_secs(1));
        assert!(matches!(
            q.check("sub", &spec, true).now_or_never().unwrap(),
            QuotaDecision::Allowed(QuotaUsage { calls_used: 1, .. })
        ));
    }

    #[test]
    fn bandwidth_and_never_renewing_quota() {
        let clock = VirtualClock::new(at("2024-01-01T00:00:00Z"));
        let q = QuotaCounter::in_memory(Arc::new(clock.clone()));
        let spec = QuotaSpec {
            calls: None,
            bandwidth_kb: Some(1),
            renewal_period: Duration::ZERO,
            first_period_start: QuotaSpec::default_first_period_start(),
        };
        assert!(matches!(
            q.check("k", &spec, true).now_or_never().unwrap(),
            QuotaDecision::Allowed(_)
        ));
        q.add("k", &spec, 0, 1023).now_or_never().unwrap();
        assert!(matches!(
            q.check("k", &spec, true).now_or_never().unwrap(),
            QuotaDecision::Allowed(QuotaUsage {
                bandwidth_used_bytes: 1023,
                ..
            })
        ));
        q.add("k", &spec, 0, 1).now_or_never().unwrap();
        clock.advance(Duration::from_secs(10 * 365 * 86400));
        let d = q.check("k", &spec, true).now_or_never().unwrap();
        assert_eq!(
            d,
            QuotaDecision::Exceeded {
                kind: QuotaKind::Bandwidth,
                replenished_in: None
            }
        );
        assert_eq!(d.retry_after_secs(), None);
    }

    #[test]
    fn ledger_counts_a_key_once_per_request() {
        let mut l = QuotaRequestLedger::default();
        assert!(l.first_increment("a"));
        assert!(!l.first_increment("a"));
        assert!(l.first_increment("b"));
    }
}
