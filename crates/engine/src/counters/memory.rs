//! In-process, exact counter stores: keys spread over mutex-guarded shards so requests on
//! different keys rarely contend; every operation on one key runs under its shard lock, which
//! makes admissions atomic.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::future::BoxFuture;
use parking_lot::Mutex;

use super::window::Window;
use super::{
    EntryId, FixedAdmission, FixedWindow, FixedWindowStore, Millis, WindowAdmission, WindowAdmit,
    WindowStore,
};
use crate::services::StoreError;

const SHARDS: usize = 32;
/// Idle keys of a shard are swept every this many operations on it.
const SWEEP_EVERY: u32 = 4096;

struct Shard<T> {
    map: HashMap<String, T>,
    ops: u32,
}

impl<T> Default for Shard<T> {
    fn default() -> Self {
        Shard {
            map: HashMap::new(),
            ops: 0,
        }
    }
}

struct Sharded<T> {
    shards: Vec<Mutex<Shard<T>>>,
    hasher: RandomState,
}

impl<T> Sharded<T> {
    fn new() -> Self {
        Sharded {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, key: &str) -> &Mutex<Shard<T>> {
        let i = (self.hasher.hash_one(key) as usize) % SHARDS;
        &self.shards[i]
    }
}

fn ready<T: Send + 'static>(v: T) -> BoxFuture<'static, T> {
    Box::pin(std::future::ready(v))
}

/// Exact in-process sliding windows.
#[derive(Clone)]
pub struct MemoryWindowStore {
    inner: Arc<Sharded<Window>>,
    next_id: Arc<AtomicU64>,
}

impl std::fmt::Debug for MemoryWindowStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryWindowStore").finish_non_exhaustive()
    }
}

impl Default for MemoryWindowStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryWindowStore {
    pub fn new() -> Self {
        MemoryWindowStore {
            inner: Arc::new(Sharded::new()),
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    fn with_window<R>(
        &self,
        key: &str,
        window_ms: u64,
        now: Millis,
        f: impl FnOnce(&mut Window) -> R,
    ) -> R {
        let mut shard = self.inner.shard(key).lock();
        shard.ops = shard.ops.wrapping_add(1);
        if shard.ops % SWEEP_EVERY == 0 {
            shard.map.retain(|_, w| !w.is_idle(now));
        }
        if let Some(w) = shard.map.get_mut(key) {
            w.trim(window_ms, now);
            return f(w);
        }
        let mut w = Window::default();
        w.trim(window_ms, now);
        let r = f(&mut w);
        if w.sum() > 0 {
            shard.map.insert(key.to_string(), w);
        }
        r
    }

    /// Decision without an `async` round trip (the in-process store is always ready).
    pub fn admit_now(&self, key: &str, req: WindowAdmit) -> WindowAdmission {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.with_window(key, req.window_ms, req.now_ms, |w| {
            let (mut out, counted) =
                w.admit(req.window_ms, req.limit, req.need, req.add, req.now_ms, id);
            if counted && let WindowAdmission::Admitted { entry, .. } = &mut out {
                *entry = Some(EntryId {
                    origin: 0,
                    seq: id,
                    amount: req.add,
                });
            }
            out
        })
    }

    pub fn record_now(
        &self,
        key: &str,
        window_ms: u64,
        now_ms: Millis,
        amount: u64,
        replace: Option<&EntryId>,
    ) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.with_window(key, window_ms, now_ms, |w| {
            if let Some(old) = replace.filter(|e| e.origin == 0) {
                w.remove(old.seq);
            }
            if amount > 0 {
                w.push(now_ms, amount, id);
            }
            w.sum()
        })
    }

    pub fn used_now(&self, key: &str, window_ms: u64, now_ms: Millis) -> u64 {
        self.with_window(key, window_ms, now_ms, |w| w.sum())
    }
}

impl WindowStore for MemoryWindowStore {
    fn admit<'a>(
        &'a self,
        key: &'a str,
        req: WindowAdmit,
    ) -> BoxFuture<'a, Result<WindowAdmission, StoreError>> {
        ready(Ok(self.admit_now(key, req)))
    }

    fn record<'a>(
        &'a self,
        key: &'a str,
        window_ms: u64,
        now_ms: Millis,
        amount: u64,
        replace: Option<&'a EntryId>,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        ready(Ok(self.record_now(key, window_ms, now_ms, amount, replace)))
    }

    fn used<'a>(
        &'a self,
        key: &'a str,
        window_ms: u64,
        now_ms: Millis,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        ready(Ok(self.used_now(key, window_ms, now_ms)))
    }
}

#[derive(Debug, Clone, Copy)]
struct Fixed {
    start_ms: Millis,
    end_ms: Option<Millis>,
    used: u64,
}

/// Exact in-process fixed-window counters.
#[derive(Clone)]
pub struct MemoryFixedStore {
    inner: Arc<Sharded<Fixed>>,
}

impl std::fmt::Debug for MemoryFixedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryFixedStore").finish_non_exhaustive()
    }
}

impl Default for MemoryFixedStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryFixedStore {
    pub fn new() -> Self {
        MemoryFixedStore {
            inner: Arc::new(Sharded::new()),
        }
    }

    fn with_counter<R>(&self, key: &str, window: FixedWindow, f: impl FnOnce(&mut u64) -> R) -> R {
        let mut shard = self.inner.shard(key).lock();
        shard.ops = shard.ops.wrapping_add(1);
        if shard.ops % SWEEP_EVERY == 0 {
            // A counter whose window ended before this one started can go.
            shard
                .map
                .retain(|_, c| c.end_ms.is_none_or(|end| end > window.start_ms));
        }
        let c = shard.map.entry(key.to_string()).or_insert(Fixed {
            start_ms: window.start_ms,
            end_ms: window.end_ms,
            used: 0,
        });
        // A later window resets; an earlier one (a caller whose clock lags) reads the current.
        if window.start_ms > c.start_ms {
            *c = Fixed {
                start_ms: window.start_ms,
                end_ms: window.end_ms,
                used: 0,
            };
        }
        f(&mut c.used)
    }

    pub fn admit_now(
        &self,
        key: &str,
        window: FixedWindow,
        need: u64,
        add: u64,
        limit: u64,
    ) -> FixedAdmission {
        self.with_counter(key, window, |used| {
            let admitted = used.saturating_add(need) <= limit;
            if admitted {
                *used = used.saturating_add(add);
            }
            FixedAdmission {
                admitted,
                used: *used,
            }
        })
    }

    pub fn add_now(&self, key: &str, window: FixedWindow, delta: i64) -> u64 {
        self.with_counter(key, window, |used| {
            *used = used.saturating_add_signed(delta);
            *used
        })
    }
}

impl FixedWindowStore for MemoryFixedStore {
    fn admit<'a>(
        &'a self,
        key: &'a str,
        window: FixedWindow,
        need: u64,
        add: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<FixedAdmission, StoreError>> {
        ready(Ok(self.admit_now(key, window, need, add, limit)))
    }

    fn add<'a>(
        &'a self,
        key: &'a str,
        window: FixedWindow,
        delta: i64,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        ready(Ok(self.add_now(key, window, delta)))
    }

    fn get<'a>(
        &'a self,
        key: &'a str,
        window: FixedWindow,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        ready(Ok(self.with_counter(key, window, |used| *used)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_counters_reset_in_a_later_window_only() {
        let s = MemoryFixedStore::new();
        let w1 = FixedWindow {
            start_ms: 0,
            end_ms: Some(1000),
        };
        let w2 = FixedWindow {
            start_ms: 1000,
            end_ms: Some(2000),
        };
        assert!(s.admit_now("k", w1, 1, 1, 1).admitted);
        assert!(!s.admit_now("k", w1, 1, 1, 1).admitted);
        assert_eq!(s.add_now("k", w2, 5), 5);
        assert_eq!(
            s.add_now("k", w1, -7),
            0,
            "a lagging caller reads the current window"
        );
    }

    #[test]
    fn provisional_entries_are_replaced() {
        let s = MemoryWindowStore::new();
        let req = WindowAdmit {
            window_ms: 60_000,
            limit: 100,
            need: 30,
            add: 30,
            now_ms: 0,
        };
        let WindowAdmission::Admitted { used: 30, entry } = s.admit_now("k", req) else {
            panic!("expected admission");
        };
        assert_eq!(s.record_now("k", 60_000, 1000, 12, entry.as_ref()), 12);
        assert_eq!(s.used_now("k", 60_000, 60_999), 12);
        assert_eq!(s.used_now("k", 60_000, 61_000), 0);
    }
}
