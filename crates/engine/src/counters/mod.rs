//! Counting algorithms behind the limit policies, exact and deterministic on the engine clock:
//!
//! * [`RateLimiter`] — sliding windows for `rate-limit` / `rate-limit-by-key` (admit or reject
//!   atomically, remaining calls, retry-after, deferred increments);
//! * [`QuotaCounter`] — fixed windows for `quota` / `quota-by-key` (calls and bandwidth,
//!   `first-period-start` alignment, period 0 = never renews, once-per-key-per-request rule);
//! * [`TokenLimiter`] — `azure-openai-token-limit` / `llm-token-limit`: tokens-per-minute over a
//!   sliding 60 s window (check before the call, usage added after) and token quotas over UTC
//!   periods (Hourly ... Yearly).
//!
//! They count in stores behind two small traits, [`WindowStore`] (sliding windows) and
//! [`FixedWindowStore`] (fixed windows), each with an in-process implementation here
//! ([`MemoryWindowStore`], [`MemoryFixedStore`]) and a Redis one
//! ([`crate::services::RedisStore`]) so several gateways share counters exactly. Every store
//! operation receives the engine clock's time (epoch milliseconds), never the store's own, so
//! tests on the virtual clock stay deterministic with Redis too.
//!
//! [`CacheStores`] picks the cache a policy's `caching-type` names.
//!
//! When a shared store cannot be reached, sliding windows fall back to per-gateway in-process
//! counting and quotas fail open (docs/compat.md, "Limits, caches and AI-gateway policies").

mod caching;
mod memory;
mod quota;
mod rate;
mod tokens;
mod window;

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::services::{Clock, StoreError};

pub use caching::{CacheStores, CachingType, CachingTypeError};
pub use memory::{MemoryFixedStore, MemoryWindowStore};
pub use quota::{QuotaCounter, QuotaDecision, QuotaRequestLedger, QuotaSpec, QuotaUsage};
pub use rate::{RateDecision, RateLimit, RateLimiter};
pub use tokens::{
    TokenDecision, TokenLimiter, TokenLimits, TokenQuotaPeriod, TokenTicket, TokenUsage,
    UnknownTokenQuotaPeriod,
};

/// The three counters the limit policies use, on one pair of stores. Cheap to clone; keep one
/// per engine instance (counters live as long as it does).
#[derive(Debug, Clone)]
pub struct Limiters {
    pub rate: RateLimiter,
    pub quota: QuotaCounter,
    pub tokens: TokenLimiter,
}

impl Limiters {
    /// Exact in-process counting (one gateway).
    pub fn in_memory(clock: Arc<dyn Clock>) -> Self {
        Self::on_stores(
            Arc::new(MemoryWindowStore::new()),
            Arc::new(MemoryFixedStore::new()),
            clock,
        )
    }

    /// Counting in shared stores, e.g. one `Arc<RedisStore>` for both.
    pub fn on_stores(
        windows: Arc<dyn WindowStore>,
        fixed: Arc<dyn FixedWindowStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Limiters {
            rate: RateLimiter::new(windows.clone(), clock.clone()),
            quota: QuotaCounter::new(fixed.clone(), clock.clone()),
            tokens: TokenLimiter::new(windows, fixed, clock),
        }
    }
}

/// Milliseconds since the Unix epoch, from the engine clock.
pub type Millis = i64;

/// Milliseconds since the Unix epoch of `clock.now()`.
pub fn now_millis(clock: &dyn crate::services::Clock) -> Millis {
    clock.now().timestamp_millis()
}

/// Seconds to announce for a wait: whole seconds rounded up (a client that waits that long is
/// admitted), as `Retry-After` and the 429/403 messages print them.
pub fn retry_after_secs(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

/// Identifies one counted entry of a sliding window, to replace it later (a provisional token
/// estimate replaced by the actual usage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryId {
    /// The store instance that counted it (random per gateway for shared stores, so ids are
    /// unique across gateways).
    pub origin: u64,
    pub seq: u64,
    pub amount: u64,
}

/// One atomic sliding-window admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowAdmit {
    /// Length of the window (`renewal-period`, 60 s for tokens-per-minute).
    pub window_ms: u64,
    pub limit: u64,
    /// Admitted when `used + need <= limit` (`need` 1 with `add` 0: "reject when the counter
    /// already reached the limit").
    pub need: u64,
    /// Counted at `now_ms` when admitted (0: nothing is counted now).
    pub add: u64,
    pub now_ms: Millis,
}

/// Result of [`WindowStore::admit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowAdmission {
    Admitted {
        /// Sum over the window after the admission.
        used: u64,
        /// The counted entry, when `add > 0`.
        entry: Option<EntryId>,
    },
    Rejected {
        /// Sum over the window (nothing was counted).
        used: u64,
        /// Time until enough counted entries leave the window for `need` to fit; `None` when
        /// `need` exceeds the limit itself (it can never fit).
        retry_after_ms: Option<u64>,
    },
}

/// Sliding-window counters: a list of timestamped amounts per key; the sum over the last
/// `window_ms` is what is counted. Entries at `t` count while `now < t + window`.
pub trait WindowStore: Send + Sync + std::fmt::Debug {
    /// Atomically admits (and counts `add`) or rejects; concurrent callers never over-admit.
    fn admit<'a>(
        &'a self,
        key: &'a str,
        req: WindowAdmit,
    ) -> BoxFuture<'a, Result<WindowAdmission, StoreError>>;
    /// Counts `amount` at `now_ms` unconditionally (deferred increments, actual token usage),
    /// first removing `replace` (a provisional entry) when given. Returns the sum afterwards.
    fn record<'a>(
        &'a self,
        key: &'a str,
        window_ms: u64,
        now_ms: Millis,
        amount: u64,
        replace: Option<&'a EntryId>,
    ) -> BoxFuture<'a, Result<u64, StoreError>>;
    /// Sum over the window at `now_ms`.
    fn used<'a>(
        &'a self,
        key: &'a str,
        window_ms: u64,
        now_ms: Millis,
    ) -> BoxFuture<'a, Result<u64, StoreError>>;
}

/// A fixed window: counters of one key reset when a later window starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedWindow {
    pub start_ms: Millis,
    /// `None`: the window never ends (renewal-period 0).
    pub end_ms: Option<Millis>,
}

/// Result of [`FixedWindowStore::admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedAdmission {
    pub admitted: bool,
    /// Counter value in the window after the operation.
    pub used: u64,
}

/// Fixed-window counters. A stored counter from an earlier window reads as 0.
pub trait FixedWindowStore: Send + Sync + std::fmt::Debug {
    /// Atomically: admitted when `used + need <= limit`, then `add` is counted.
    fn admit<'a>(
        &'a self,
        key: &'a str,
        window: FixedWindow,
        need: u64,
        add: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<FixedAdmission, StoreError>>;
    /// Adds `delta` (negative to take back a provisional amount; never below 0). Returns the
    /// value afterwards.
    fn add<'a>(
        &'a self,
        key: &'a str,
        window: FixedWindow,
        delta: i64,
    ) -> BoxFuture<'a, Result<u64, StoreError>>;
    /// Value in the window.
    fn get<'a>(
        &'a self,
        key: &'a str,
        window: FixedWindow,
    ) -> BoxFuture<'a, Result<u64, StoreError>>;
}
