//! In-process cache (`internal` cache of cache-store / cache-store-value) on moka: bounded in
//! size like APIM's volatile internal cache, with each entry's TTL kept on the engine clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use moka::Expiry;

use super::{CacheStore, Clock, StoreError};

#[derive(Debug, Clone)]
struct Entry {
    value: Bytes,
    /// Engine-clock expiry (monotonic), the one that decides hits.
    expires: Duration,
    /// Wall-clock lifetime in moka, only to reclaim memory; generously longer than the TTL so
    /// entries never vanish early when the engine clock is virtual.
    gc_after: Duration,
}

fn gc_after(ttl: Duration) -> Duration {
    ttl.saturating_mul(2)
        .saturating_add(Duration::from_secs(60))
}

struct GcExpiry;

impl Expiry<String, Entry> for GcExpiry {
    fn expire_after_create(&self, _k: &String, v: &Entry, _at: Instant) -> Option<Duration> {
        Some(v.gc_after)
    }
    fn expire_after_update(
        &self,
        _k: &String,
        v: &Entry,
        _at: Instant,
        _left: Option<Duration>,
    ) -> Option<Duration> {
        Some(v.gc_after)
    }
}

/// Bounded in-process cache; least-recently-used entries are evicted past `max_bytes`.
#[derive(Clone)]
pub struct MokaCacheStore {
    cache: moka::sync::Cache<String, Entry>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MokaCacheStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MokaCacheStore")
            .field("entries", &self.cache.entry_count())
            .finish()
    }
}

/// Default capacity: 256 MiB of keys and values.
pub const DEFAULT_CACHE_BYTES: u64 = 256 * 1024 * 1024;

impl MokaCacheStore {
    pub fn new(clock: Arc<dyn Clock>, max_bytes: u64) -> Self {
        let cache = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|k: &String, v: &Entry| {
                u32::try_from(k.len() + v.value.len() + 64).unwrap_or(u32::MAX)
            })
            .expire_after(GcExpiry)
            .build();
        MokaCacheStore { cache, clock }
    }

    pub fn get_now(&self, key: &str) -> Option<Bytes> {
        let now = self.clock.monotonic();
        match self.cache.get(key) {
            Some(e) if e.expires > now => Some(e.value),
            Some(_) => {
                self.cache.invalidate(key);
                None
            }
            None => None,
        }
    }

    pub fn set_now(&self, key: &str, value: Bytes, ttl: Duration) {
        let expires = self.clock.monotonic().saturating_add(ttl);
        self.cache.insert(
            key.to_string(),
            Entry {
                value,
                expires,
                gc_after: gc_after(ttl),
            },
        );
    }
}

fn ready<T: Send + 'static>(v: T) -> BoxFuture<'static, T> {
    Box::pin(std::future::ready(v))
}

impl CacheStore for MokaCacheStore {
    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<Bytes>, StoreError>> {
        ready(Ok(self.get_now(key)))
    }
    fn set(&self, key: &str, value: Bytes, ttl: Duration) -> BoxFuture<'_, Result<(), StoreError>> {
        self.set_now(key, value, ttl);
        ready(Ok(()))
    }
    fn remove(&self, key: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        self.cache.invalidate(key);
        ready(Ok(()))
    }
    fn immediate(&self) -> Option<&dyn super::store::ImmediateCacheStore> {
        Some(self)
    }
}

impl super::store::ImmediateCacheStore for MokaCacheStore {
    fn lookup_now(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        Ok(self.get_now(key))
    }
    fn store_now(&self, key: &str, value: Bytes, ttl: Duration) -> Result<(), StoreError> {
        self.set_now(key, value, ttl);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::VirtualClock;

    #[test]
    fn entries_expire_on_the_engine_clock_and_can_be_replaced_or_removed() {
        let c = VirtualClock::at_default_start();
        let s = MokaCacheStore::new(Arc::new(c.clone()), DEFAULT_CACHE_BYTES);
        s.set_now("a", Bytes::from("v1"), Duration::from_secs(10));
        c.advance(Duration::from_secs(9));
        assert_eq!(s.get_now("a"), Some(Bytes::from("v1")));
        s.set_now("a", Bytes::from("v2"), Duration::from_secs(10));
        c.advance(Duration::from_secs(9));
        assert_eq!(s.get_now("a"), Some(Bytes::from("v2")));
        c.advance(Duration::from_secs(1));
        assert_eq!(s.get_now("a"), None);
        s.set_now("b", Bytes::from("x"), Duration::from_secs(10));
        futures_util::FutureExt::now_or_never(s.remove("b"))
            .unwrap()
            .unwrap();
        assert_eq!(s.get_now("b"), None);
    }

    #[test]
    fn capacity_is_bounded() {
        let c = VirtualClock::at_default_start();
        let s = MokaCacheStore::new(Arc::new(c), 10_000);
        for i in 0..1000 {
            s.set_now(
                &format!("k{i}"),
                Bytes::from(vec![0u8; 100]),
                Duration::from_secs(60),
            );
        }
        s.cache.run_pending_tasks();
        assert!(s.cache.weighted_size() <= 10_000);
    }
}
