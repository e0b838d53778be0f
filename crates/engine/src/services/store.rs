//! Counter and cache stores (rate limits, quotas, token counters, cache policies) and sinks
//! (metrics, event logs). Small async traits; in-memory implementations here, moka and Redis
//! ones come with the limits issue.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use parking_lot::Mutex;

use super::Clock;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached (Redis down...).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Other(String),
}

/// Integer counters with an expiry, shared by all requests (and, with Redis, by all gateways).
pub trait CounterStore: Send + Sync + std::fmt::Debug {
    /// Adds `delta` to the counter and returns the new value. A missing or expired counter
    /// starts at 0 and expires `ttl` after this call; an existing one keeps its expiry.
    fn add(&self, key: &str, delta: i64, ttl: Duration) -> BoxFuture<'_, Result<i64, StoreError>>;
    /// Current value, `None` when missing or expired.
    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<i64>, StoreError>>;
    /// Time left before the counter expires.
    fn ttl(&self, key: &str) -> BoxFuture<'_, Result<Option<Duration>, StoreError>>;
    fn remove(&self, key: &str) -> BoxFuture<'_, Result<(), StoreError>>;
}

/// Byte values with a time to live (cache-store, cache-store-value; callers serialize).
pub trait CacheStore: Send + Sync + std::fmt::Debug {
    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<Bytes>, StoreError>>;
    fn set(&self, key: &str, value: Bytes, ttl: Duration) -> BoxFuture<'_, Result<(), StoreError>>;
    fn remove(&self, key: &str) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The same store answering without a future, when it never waits (in-process caches):
    /// a policy step then runs at once.
    fn immediate(&self) -> Option<&dyn ImmediateCacheStore> {
        None
    }
}

/// A [`CacheStore`] whose answers are there at once (same results as its async methods).
pub trait ImmediateCacheStore {
    fn lookup_now(&self, key: &str) -> Result<Option<Bytes>, StoreError>;
    fn store_now(&self, key: &str, value: Bytes, ttl: Duration) -> Result<(), StoreError>;
}

#[derive(Debug)]
struct Entry<T> {
    value: T,
    expires: Duration,
}

/// In-process counters, expiring on the engine clock.
#[derive(Debug, Clone)]
pub struct MemoryCounterStore {
    clock: Arc<dyn Clock>,
    map: Arc<Mutex<HashMap<String, Entry<i64>>>>,
}

impl MemoryCounterStore {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        MemoryCounterStore {
            clock,
            map: Arc::default(),
        }
    }
}

fn ready<T: Send + 'static>(v: T) -> BoxFuture<'static, T> {
    Box::pin(std::future::ready(v))
}

impl CounterStore for MemoryCounterStore {
    fn add(&self, key: &str, delta: i64, ttl: Duration) -> BoxFuture<'_, Result<i64, StoreError>> {
        let now = self.clock.monotonic();
        let mut m = self.map.lock();
        let e = m.entry(key.to_string()).or_insert(Entry {
            value: 0,
            expires: now + ttl,
        });
        if e.expires <= now {
            *e = Entry {
                value: 0,
                expires: now + ttl,
            };
        }
        e.value = e.value.saturating_add(delta);
        ready(Ok(e.value))
    }
    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<i64>, StoreError>> {
        let now = self.clock.monotonic();
        ready(Ok(self
            .map
            .lock()
            .get(key)
            .filter(|e| e.expires > now)
            .map(|e| e.value)))
    }
    fn ttl(&self, key: &str) -> BoxFuture<'_, Result<Option<Duration>, StoreError>> {
        let now = self.clock.monotonic();
        ready(Ok(self
            .map
            .lock()
            .get(key)
            .filter(|e| e.expires > now)
            .map(|e| e.expires - now)))
    }
    fn remove(&self, key: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        self.map.lock().remove(key);
        ready(Ok(()))
    }
}

/// In-process cache, expiring on the engine clock.
#[derive(Debug, Clone)]
pub struct MemoryCacheStore {
    clock: Arc<dyn Clock>,
    map: Arc<Mutex<HashMap<String, Entry<Bytes>>>>,
}

impl MemoryCacheStore {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        MemoryCacheStore {
            clock,
            map: Arc::default(),
        }
    }
}

impl ImmediateCacheStore for MemoryCacheStore {
    fn lookup_now(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let now = self.clock.monotonic();
        let mut m = self.map.lock();
        Ok(match m.get(key) {
            Some(e) if e.expires > now => Some(e.value.clone()),
            Some(_) => {
                m.remove(key);
                None
            }
            None => None,
        })
    }
    fn store_now(&self, key: &str, value: Bytes, ttl: Duration) -> Result<(), StoreError> {
        let expires = self.clock.monotonic() + ttl;
        let mut m = self.map.lock();
        // An existing key keeps its string (no copy of the key per store).
        match m.get_mut(key) {
            Some(e) => *e = Entry { value, expires },
            None => {
                m.insert(key.to_string(), Entry { value, expires });
            }
        }
        Ok(())
    }
}

impl CacheStore for MemoryCacheStore {
    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<Bytes>, StoreError>> {
        ready(self.lookup_now(key))
    }
    fn set(&self, key: &str, value: Bytes, ttl: Duration) -> BoxFuture<'_, Result<(), StoreError>> {
        ready(self.store_now(key, value, ttl))
    }
    fn remove(&self, key: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        self.map.lock().remove(key);
        ready(Ok(()))
    }
    fn immediate(&self) -> Option<&dyn ImmediateCacheStore> {
        Some(self)
    }
}

/// One emitted metric value (emit-metric, llm-emit-token-metric).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRecord {
    pub namespace: String,
    pub name: String,
    pub value: f64,
    pub dimensions: Vec<(String, String)>,
}

pub trait MetricSink: Send + Sync + std::fmt::Debug {
    fn record(&self, m: MetricRecord);
}

/// One event (log-to-eventhub).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub logger_id: String,
    pub partition_id: Option<String>,
    pub partition_key: Option<String>,
    pub message: String,
}

pub trait EventSink: Send + Sync + std::fmt::Debug {
    fn write(&self, e: EventRecord) -> BoxFuture<'_, Result<(), StoreError>>;
}

/// Keeps metrics in memory for the host to expose and tests to inspect.
#[derive(Debug, Clone, Default)]
pub struct MemoryMetricSink {
    records: Arc<Mutex<Vec<MetricRecord>>>,
}

impl MemoryMetricSink {
    pub fn records(&self) -> Vec<MetricRecord> {
        self.records.lock().clone()
    }
}

impl MetricSink for MemoryMetricSink {
    fn record(&self, m: MetricRecord) {
        self.records.lock().push(m);
    }
}

/// Keeps events in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryEventSink {
    events: Arc<Mutex<Vec<EventRecord>>>,
}

impl MemoryEventSink {
    pub fn events(&self) -> Vec<EventRecord> {
        self.events.lock().clone()
    }
}

impl EventSink for MemoryEventSink {
    fn write(&self, e: EventRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        self.events.lock().push(e);
        ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::VirtualClock;
    use futures_util::FutureExt;

    #[test]
    fn counters_expire_on_the_virtual_clock() {
        let c = VirtualClock::at_default_start();
        let s = MemoryCounterStore::new(Arc::new(c.clone()));
        let ttl = Duration::from_secs(60);
        assert_eq!(s.add("k", 1, ttl).now_or_never().unwrap().unwrap(), 1);
        c.advance(Duration::from_secs(30));
        assert_eq!(s.add("k", 5, ttl).now_or_never().unwrap().unwrap(), 6);
        assert_eq!(
            s.ttl("k").now_or_never().unwrap().unwrap(),
            Some(Duration::from_secs(30))
        );
        c.advance(Duration::from_secs(30));
        assert_eq!(s.get("k").now_or_never().unwrap().unwrap(), None);
        assert_eq!(s.add("k", 2, ttl).now_or_never().unwrap().unwrap(), 2);
        s.remove("k").now_or_never().unwrap().unwrap();
        assert_eq!(s.get("k").now_or_never().unwrap().unwrap(), None);
    }

    #[test]
    fn cache_entries_expire() {
        let c = VirtualClock::at_default_start();
        let s = MemoryCacheStore::new(Arc::new(c.clone()));
        s.set("a", Bytes::from("v"), Duration::from_secs(10))
            .now_or_never()
            .unwrap()
            .unwrap();
        assert_eq!(
            s.get("a").now_or_never().unwrap().unwrap(),
            Some(Bytes::from("v"))
        );
        c.advance(Duration::from_secs(10));
        assert_eq!(s.get("a").now_or_never().unwrap().unwrap(), None);
    }

    #[test]
    fn sinks_keep_records() {
        let m = MemoryMetricSink::default();
        m.record(MetricRecord {
            namespace: "ns".into(),
            name: "n".into(),
            value: 2.0,
            dimensions: vec![("API ID".into(), "a".into())],
        });
        assert_eq!(m.records()[0].value, 2.0);
        let e = MemoryEventSink::default();
        e.write(EventRecord {
            logger_id: "l".into(),
            partition_id: None,
            partition_key: None,
            message: "m".into(),
        })
        .now_or_never()
        .unwrap()
        .unwrap();
        assert_eq!(e.events()[0].message, "m");
    }
}
