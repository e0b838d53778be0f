//! `rate-limit` / `rate-limit-by-key`: calls per sliding `renewal-period`.

use std::sync::Arc;
use std::time::Duration;

use super::{
    EntryId, MemoryWindowStore, WindowAdmission, WindowAdmit, WindowStore, now_millis,
    retry_after_secs,
};
use crate::services::{Clock, StoreError};

/// `calls` per `renewal-period` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub calls: u64,
    pub renewal_period: Duration,
}

impl RateLimit {
    pub fn new(calls: u64, renewal_period_secs: u64) -> Self {
        RateLimit {
            calls,
            renewal_period: Duration::from_secs(renewal_period_secs),
        }
    }

    fn window_ms(&self) -> u64 {
        u64::try_from(self.renewal_period.as_millis()).unwrap_or(u64::MAX)
    }
}

/// Outcome of a rate-limit check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateDecision {
    /// Go on. `remaining` = calls left in the window after this one (remaining-calls header
    /// and variable).
    Allowed {
        remaining: u64,
        /// The counted entry (for tests and diagnostics).
        entry: Option<EntryId>,
    },
    /// 429 "Rate limit is exceeded. Try again in N seconds."
    Limited {
        /// Until the oldest counted calls leave the window so this call fits.
        retry_after: Duration,
        /// `retry_after` in whole seconds, rounded up (Retry-After, message, variable).
        retry_after_secs: u64,
    },
}

/// Sliding-window call counting per counter key. Counters of `rate-limit-by-key` are shared by
/// every policy using the same key value; `rate-limit` callers pass a key derived from the
/// subscription (and API/operation for nested limits).
#[derive(Debug, Clone)]
pub struct RateLimiter {
    store: Arc<dyn WindowStore>,
    /// Per-gateway counting while a shared store is unreachable.
    fallback: MemoryWindowStore,
    clock: Arc<dyn Clock>,
}

fn counter_key(key: &str) -> String {
    format!("rate:{key}")
}

impl RateLimiter {
    pub fn new(store: Arc<dyn WindowStore>, clock: Arc<dyn Clock>) -> Self {
        RateLimiter {
            store,
            fallback: MemoryWindowStore::new(),
            clock,
        }
    }

    /// In-process counting.
    pub fn in_memory(clock: Arc<dyn Clock>) -> Self {
        Self::new(Arc::new(MemoryWindowStore::new()), clock)
    }

    async fn admit(&self, key: &str, req: WindowAdmit) -> WindowAdmission {
        match self.store.admit(key, req).await {
            Ok(a) => a,
            Err(e) => {
                log_fallback("rate-limit", key, &e);
                self.fallback.admit_now(key, req)
            }
        }
    }

    /// Inbound check. `count`: `Some(n)` counts `n` calls now (increment-count, literal or
    /// absent increment-condition/-count: the call is admitted only if `n` more fit); `None`
    /// is the deferred mode (increment-condition or increment-count is an expression): the
    /// check uses the counter as is and [`RateLimiter::increment`] counts at the end of
    /// outbound. Rejected calls are never counted.
    pub async fn check(&self, key: &str, limit: RateLimit, count: Option<u64>) -> RateDecision {
        let key = counter_key(key);
        let (need, add) = match count {
            // Counting nothing (a literal false increment-condition) still checks the counter.
            Some(n) => (n.max(1), n),
            None => (1, 0),
        };
        let req = WindowAdmit {
            window_ms: limit.window_ms(),
            limit: limit.calls,
            need,
            add,
            now_ms: now_millis(self.clock.as_ref()),
        };
        match self.admit(&key, req).await {
            WindowAdmission::Admitted { used, entry } => RateDecision::Allowed {
                remaining: limit.calls.saturating_sub(used),
                entry,
            },
            WindowAdmission::Rejected { retry_after_ms, .. } => {
                // A count larger than the limit never fits; announce a whole window.
                let ms = retry_after_ms.unwrap_or(limit.window_ms());
                RateDecision::Limited {
                    retry_after: Duration::from_millis(ms),
                    retry_after_secs: retry_after_secs(ms),
                }
            }
        }
    }

    /// Takes back an admitted call (`entry` from [`RateDecision::Allowed`]): a rate-limit with
    /// API or operation limits admits a call only when every limit does.
    pub async fn release(&self, key: &str, limit: RateLimit, entry: &EntryId) {
        let key = counter_key(key);
        let now = now_millis(self.clock.as_ref());
        let window = limit.window_ms();
        if let Err(e) = self.store.record(&key, window, now, 0, Some(entry)).await {
            log_fallback("rate-limit", &key, &e);
            self.fallback.record_now(&key, window, now, 0, Some(entry));
        }
    }

    /// Deferred increment at the end of outbound (increment-condition true, increment-count
    /// `count`). Returns the calls remaining in the window afterwards.
    pub async fn increment(&self, key: &str, limit: RateLimit, count: u64) -> u64 {
        let key = counter_key(key);
        let now = now_millis(self.clock.as_ref());
        let used = match self
            .store
            .record(&key, limit.window_ms(), now, count, None)
            .await
        {
            Ok(u) => u,
            Err(e) => {
                log_fallback("rate-limit", &key, &e);
                self.fallback
                    .record_now(&key, limit.window_ms(), now, count, None)
            }
        };
        limit.calls.saturating_sub(used)
    }
}

pub(super) fn log_fallback(kind: &str, key: &str, e: &StoreError) {
    tracing::debug!(
        counter = kind,
        counter_key = key,
        error = %e,
        "counter store unreachable; counting on this gateway only"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::VirtualClock;
    use futures_util::FutureExt;

    fn limited(d: RateDecision) -> u64 {
        match d {
            RateDecision::Limited {
                retry_after_secs, ..
            } => retry_after_secs,
            other => panic!("expected 429, got {other:?}"),
        }
    }

    #[test]
    fn deferred_increments_make_the_429_one_call_later() {
        let clock = VirtualClock::at_default_start();
        let r = RateLimiter::in_memory(Arc::new(clock.clone()));
        let lim = RateLimit::new(2, 60);
        for _ in 0..2 {
            let d = r.check("k", lim, None).now_or_never().unwrap();
            assert!(matches!(d, RateDecision::Allowed { remaining: 2, .. }));
        }
        // Both calls counted only now, after their responses.
        clock.advance(Duration::from_secs(1));
        assert_eq!(r.increment("k", lim, 1).now_or_never().unwrap(), 1);
        assert_eq!(r.increment("k", lim, 1).now_or_never().unwrap(), 0);
        clock.advance(Duration::from_millis(500));
        assert_eq!(limited(r.check("k", lim, None).now_or_never().unwrap()), 60);
    }

    #[test]
    fn count_larger_than_the_limit_waits_a_whole_window() {
        let clock = VirtualClock::at_default_start();
        let r = RateLimiter::in_memory(Arc::new(clock.clone()));
        let lim = RateLimit::new(3, 10);
        assert_eq!(
            limited(r.check("k", lim, Some(4)).now_or_never().unwrap()),
            10
        );
        assert!(matches!(
            r.check("k", lim, Some(3)).now_or_never().unwrap(),
            RateDecision::Allowed { remaining: 0, .. }
        ));
        assert!(matches!(
            r.check("k", lim, Some(0)).now_or_never().unwrap(),
            RateDecision::Limited { .. }
        ));
    }
}
