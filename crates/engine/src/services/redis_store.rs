//! Redis store (APIM's "external cache"): rate-limit windows, quotas, token counters and cache
//! entries shared by several gateway instances. Every read-modify-write is one Lua script, so
//! gateways sharing the server count exactly. Times come from the engine clock as script
//! arguments (never Redis `TIME`), so tests on the virtual clock stay deterministic; Redis key
//! expiry is only garbage collection, generously longer than the windows.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use super::{CacheStore, Clock, CounterStore, StoreError};
use crate::counters::{
    EntryId, FixedAdmission, FixedWindow, FixedWindowStore, Millis, WindowAdmission, WindowAdmit,
    WindowStore,
};

/// Connection settings. Every operation gives up after `operation_timeout` (the limit
/// policies then apply their fallback, see docs/compat.md), so an unreachable Redis never
/// hangs a request. After a connection fault the store is considered down for `down_for`
/// (engine clock): operations fail at once instead of each paying the timeouts, then the next
/// one tries again.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Prepended to every key (`apim-emu:` by default) so instances can share a server.
    pub prefix: String,
    pub connect_timeout: Duration,
    pub operation_timeout: Duration,
    pub down_for: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "apim-emu:".into(),
            connect_timeout: Duration::from_millis(500),
            operation_timeout: Duration::from_secs(1),
            down_for: Duration::from_secs(5),
        }
    }
}

/// Garbage-collection margin added to Redis expiries (milliseconds of Redis' own clock).
const GC_MARGIN_MS: u64 = 60_000;

// Window entries: sorted set, score = engine time (ms), member = "<unique id>:<amount>".
const WINDOW_ADMIT: &str = r#"
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local need = tonumber(ARGV[4])
local add = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local entries = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
local used = 0
for i = 1, #entries, 2 do
  used = used + tonumber(string.match(entries[i], ':(%d+)$'))
end
if used + need <= limit then
  if add > 0 then
    redis.call('ZADD', key, now, ARGV[6])
    used = used + add
  end
  if used > 0 then redis.call('PEXPIRE', key, ARGV[7]) end
  return {1, used, 0}
end
if need > limit then return {0, used, -1} end
local excess = used + need - limit
local freed = 0
for i = 1, #entries, 2 do
  freed = freed + tonumber(string.match(entries[i], ':(%d+)$'))
  if freed >= excess then
    local wait = tonumber(entries[i + 1]) + window - now
    if wait < 0 then wait = 0 end
    return {0, used, wait}
  end
end
return {0, used, -1}
"#;

const WINDOW_RECORD: &str = r#"
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if ARGV[5] ~= '' then redis.call('ZREM', key, ARGV[5]) end
if amount > 0 then redis.call('ZADD', key, now, ARGV[4]) end
local entries = redis.call('ZRANGE', key, 0, -1)
local used = 0
for i = 1, #entries do
  used = used + tonumber(string.match(entries[i], ':(%d+)$'))
end
if used > 0 then redis.call('PEXPIRE', key, ARGV[6]) end
return used
"#;

// Fixed windows: hash {s = window start (ms), v = value}; a later window resets.
const FIXED_ADMIT: &str = r#"
local key = KEYS[1]
local start = tonumber(ARGV[1])
local need = tonumber(ARGV[2])
local add = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local gc = tonumber(ARGV[5])
local cur = redis.call('HGET', key, 's')
local v = 0
if cur == false or tonumber(cur) < start then
  redis.call('HSET', key, 's', ARGV[1], 'v', 0)
else
  v = tonumber(redis.call('HGET', key, 'v') or '0')
end
local admitted = 0
if v + need <= limit then
  admitted = 1
  if add ~= 0 then
    v = v + add
    if v < 0 then v = 0 end
    redis.call('HSET', key, 'v', v)
  end
end
if gc > 0 then redis.call('PEXPIRE', key, gc) else redis.call('PERSIST', key) end
return {admitted, v}
"#;

// Plain counters (CounterStore): hash {v = value, e = engine-clock expiry (ms)}.
const COUNTER_ADD: &str = r#"
local key = KEYS[1]
local now = tonumber(ARGV[1])
local e = redis.call('HGET', key, 'e')
if e == false or tonumber(e) <= now then
  redis.call('HSET', key, 'v', 0, 'e', now + tonumber(ARGV[3]))
end
local v = redis.call('HINCRBY', key, 'v', ARGV[2])
redis.call('PEXPIRE', key, ARGV[4])
return v
"#;

/// Store on a Redis server, shared by every gateway connected to it. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    clock: Arc<dyn Clock>,
    opts: RedisOptions,
    /// Makes window entry ids unique across gateways.
    instance: u64,
    seq: Arc<AtomicU64>,
    scripts: Arc<Scripts>,
    /// Engine-clock (monotonic) time until which the server is considered down.
    down_until: Arc<parking_lot::Mutex<Option<Duration>>>,
}

struct Scripts {
    window_admit: Script,
    window_record: Script,
    fixed_admit: Script,
    counter_add: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.opts.prefix)
            .finish_non_exhaustive()
    }
}

fn map_err(e: redis::RedisError) -> StoreError {
    if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Other(e.to_string())
    }
}

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::process::id())
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl RedisStore {
    /// Connects lazily to `url` (`redis://host:port/db`): the gateway starts even when Redis
    /// is down, and reconnects when it comes back. Must be called inside a tokio runtime.
    pub fn new(url: &str, clock: Arc<dyn Clock>, opts: RedisOptions) -> Result<Self, StoreError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::Other(
                "the Redis store must be created inside a tokio runtime".into(),
            ));
        }
        let client = redis::Client::open(url).map_err(|e| StoreError::Other(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(opts.connect_timeout))
            .set_response_timeout(Some(opts.operation_timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(map_err)?;
        Ok(RedisStore {
            conn,
            clock,
            opts,
            // Non-zero: 0 marks entries of the in-process store.
            instance: random_u64() | 1,
            seq: Arc::new(AtomicU64::new(0)),
            down_until: Arc::default(),
            scripts: Arc::new(Scripts {
                window_admit: Script::new(WINDOW_ADMIT),
                window_record: Script::new(WINDOW_RECORD),
                fixed_admit: Script::new(FIXED_ADMIT),
                counter_add: Script::new(COUNTER_ADD),
            }),
        })
    }

    fn key(&self, kind: &str, key: &str) -> String {
        format!("{}{kind}:{key}", self.opts.prefix)
    }

    fn entry_id(&self, amount: u64) -> EntryId {
        EntryId {
            origin: self.instance,
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            amount,
        }
    }

    /// Runs `f` with a connection, bounded by the operation timeout.
    async fn run<T, F, Fut>(&self, what: &'static str, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let now = self.clock.monotonic();
        if let Some(until) = *self.down_until.lock() {
            if now < until {
                return Err(StoreError::Unavailable(format!(
                    "redis marked down after a connection fault; next attempt in {:?}",
                    until - now
                )));
            }
        }
        let fut = f(self.conn.clone());
        // Connecting may take up to the connect timeout before the operation itself starts.
        let limit = self.opts.operation_timeout + self.opts.connect_timeout;
        let out = match tokio::time::timeout(limit, fut).await {
            Ok(r) => r.map_err(map_err),
            Err(_) => Err(StoreError::Unavailable(format!(
                "redis {what} timed out after {limit:?}"
            ))),
        };
        let mut down = self.down_until.lock();
        match &out {
            Err(StoreError::Unavailable(e)) => {
                tracing::warn!(
                    operation = what,
                    error = %e,
                    retry_in = ?self.opts.down_for,
                    "redis store unreachable: rate and token-per-minute limits count on this \
                     gateway, quotas let calls through, cache lookups miss"
                );
                *down = Some(now.saturating_add(self.opts.down_for));
            }
            Err(e) => tracing::warn!(operation = what, error = %e, "redis store operation failed"),
            Ok(_) => {
                if down.take().is_some() {
                    tracing::info!("redis store reachable again");
                }
            }
        }
        out
    }

    /// Checks that the server answers (PING).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run("ping", |mut c| async move {
            redis::cmd("PING")
                .query_async::<String>(&mut c)
                .await
                .map(|_| ())
        })
        .await
    }

    fn now_ms(&self) -> Millis {
        self.clock.now().timestamp_millis()
    }
}

fn member(e: &EntryId) -> String {
    format!("{:x}-{:x}:{}", e.origin, e.seq, e.amount)
}

impl WindowStore for RedisStore {
    fn admit<'a>(
        &'a self,
        key: &'a str,
        req: WindowAdmit,
    ) -> BoxFuture<'a, Result<WindowAdmission, StoreError>> {
        Box::pin(async move {
            let k = self.key("w", key);
            let id = self.entry_id(req.add);
            let m = member(&id);
            let gc = req.window_ms.saturating_mul(2).saturating_add(GC_MARGIN_MS);
            let (admitted, used, wait): (i64, u64, i64) = self
                .run("window admit", |mut c| {
                    let s = &self.scripts.window_admit;
                    let mut inv = s.key(&k);
                    inv.arg(req.now_ms)
                        .arg(req.window_ms)
                        .arg(req.limit)
                        .arg(req.need)
                        .arg(req.add)
                        .arg(&m)
                        .arg(gc);
                    async move { inv.invoke_async(&mut c).await }
                })
                .await?;
            Ok(if admitted == 1 {
                WindowAdmission::Admitted {
                    used,
                    entry: (req.add > 0).then_some(id),
                }
            } else {
                WindowAdmission::Rejected {
                    used,
                    retry_after_ms: u64::try_from(wait).ok(),
                }
            })
        })
    }

    fn record<'a>(
        &'a self,
        key: &'a str,
        window_ms: u64,
        now_ms: Millis,
        amount: u64,
        replace: Option<&'a EntryId>,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let k = self.key("w", key);
            let m = member(&self.entry_id(amount));
            let old = replace.map(member).unwrap_or_default();
            let gc = window_ms.saturating_mul(2).saturating_add(GC_MARGIN_MS);
            self.run("window record", |mut c| {
                let mut inv = self.scripts.window_record.key(&k);
                inv.arg(now_ms)
                    .arg(window_ms)
                    .arg(amount)
                    .arg(&m)
                    .arg(&old)
                    .arg(gc);
                async move { inv.invoke_async(&mut c).await }
            })
            .await
        })
    }

    fn used<'a>(
        &'a self,
        key: &'a str,
        window_ms: u64,
        now_ms: Millis,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        self.record(key, window_ms, now_ms, 0, None)
    }
}

impl RedisStore {
    fn fixed_gc(&self, window: FixedWindow) -> u64 {
        match window.end_ms {
            // Time left in the window, plus the margin; 0 = keep (never renews).
            Some(end) => u64::try_from(end.saturating_sub(self.now_ms()))
                .unwrap_or(0)
                .saturating_add(GC_MARGIN_MS),
            None => 0,
        }
    }

    async fn fixed(
        &self,
        key: &str,
        window: FixedWindow,
        need: u64,
        add: i64,
        limit: u64,
    ) -> Result<FixedAdmission, StoreError> {
        let k = self.key("f", key);
        let gc = self.fixed_gc(window);
        let (admitted, used): (i64, u64) = self
            .run("fixed window", |mut c| {
                let mut inv = self.scripts.fixed_admit.key(&k);
                inv.arg(window.start_ms)
                    .arg(need)
                    .arg(add)
                    .arg(limit)
                    .arg(gc);
                async move { inv.invoke_async(&mut c).await }
            })
            .await?;
        Ok(FixedAdmission {
            admitted: admitted == 1,
            used,
        })
    }
}

impl FixedWindowStore for RedisStore {
    fn admit<'a>(
        &'a self,
        key: &'a str,
        window: FixedWindow,
        need: u64,
        add: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<FixedAdmission, StoreError>> {
        let add = i64::try_from(add).unwrap_or(i64::MAX);
        Box::pin(self.fixed(key, window, need, add, limit))
    }

    fn add<'a>(
        &'a self,
        key: &'a str,
        window: FixedWindow,
        delta: i64,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move { Ok(self.fixed(key, window, 0, delta, u64::MAX / 2).await?.used) })
    }

    fn get<'a>(
        &'a self,
        key: &'a str,
        window: FixedWindow,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move { Ok(self.fixed(key, window, 0, 0, u64::MAX / 2).await?.used) })
    }
}

impl CacheStore for RedisStore {
    /// Values are stored as the engine-clock expiry (8 bytes, big-endian ms) followed by the
    /// bytes; an entry past that expiry is a miss whatever Redis' clock says.
    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<Bytes>, StoreError>> {
        let k = self.key("c", key);
        Box::pin(async move {
            let raw: Option<Vec<u8>> = self
                .run("cache get", |mut c| async move { c.get(&k).await })
                .await?;
            let now = self.now_ms();
            Ok(raw.and_then(|v| {
                let (head, value) = v.split_at_checked(8)?;
                let expires = i64::from_be_bytes(head.try_into().ok()?);
                (expires > now).then(|| Bytes::copy_from_slice(value))
            }))
        })
    }

    fn set(&self, key: &str, value: Bytes, ttl: Duration) -> BoxFuture<'_, Result<(), StoreError>> {
        let k = self.key("c", key);
        Box::pin(async move {
            let expires = self
                .now_ms()
                .saturating_add(i64::try_from(ms(ttl)).unwrap_or(i64::MAX));
            let mut v = Vec::with_capacity(8 + value.len());
            v.extend_from_slice(&expires.to_be_bytes());
            v.extend_from_slice(&value);
            let gc = ms(ttl).saturating_mul(2).saturating_add(GC_MARGIN_MS);
            self.run("cache set", |mut c| async move {
                c.pset_ex::<_, _, ()>(&k, v, gc).await
            })
            .await
        })
    }

    fn remove(&self, key: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        let k = self.key("c", key);
        Box::pin(async move {
            self.run(
                "cache remove",
                |mut c| async move { c.del::<_, ()>(&k).await },
            )
            .await
        })
    }
}

impl CounterStore for RedisStore {
    fn add(&self, key: &str, delta: i64, ttl: Duration) -> BoxFuture<'_, Result<i64, StoreError>> {
        let k = self.key("n", key);
        Box::pin(async move {
            let now = self.now_ms();
            let gc = ms(ttl).saturating_mul(2).saturating_add(GC_MARGIN_MS);
            self.run("counter add", |mut c| {
                let mut inv = self.scripts.counter_add.key(&k);
                inv.arg(now).arg(delta).arg(ms(ttl)).arg(gc);
                async move { inv.invoke_async(&mut c).await }
            })
            .await
        })
    }

    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<i64>, StoreError>> {
        let k = self.key("n", key);
        Box::pin(async move {
            let (v, e): (Option<i64>, Option<i64>) = self
                .run("counter get", |mut c| async move {
                    redis::cmd("HMGET")
                        .arg(&k)
                        .arg("v")
                        .arg("e")
                        .query_async(&mut c)
                        .await
                })
                .await?;
            let now = self.now_ms();
            Ok(match (v, e) {
                (Some(v), Some(e)) if e > now => Some(v),
                _ => None,
            })
        })
    }

    fn ttl(&self, key: &str) -> BoxFuture<'_, Result<Option<Duration>, StoreError>> {
        let k = self.key("n", key);
        Box::pin(async move {
            let e: Option<i64> = self
                .run("counter ttl", |mut c| async move { c.hget(&k, "e").await })
                .await?;
            let now = self.now_ms();
            Ok(e.filter(|e| *e > now)
                .map(|e| Duration::from_millis(u64::try_from(e - now).unwrap_or(0))))
        })
    }

    fn remove(&self, key: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        let k = self.key("n", key);
        Box::pin(async move {
            self.run(
                "counter remove",
                |mut c| async move { c.del::<_, ()>(&k).await },
            )
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::VirtualClock;

    #[test]
    fn creating_outside_a_runtime_or_with_a_bad_url_is_an_error_not_a_panic() {
        let clock: Arc<dyn Clock> = Arc::new(VirtualClock::at_default_start());
        let e = RedisStore::new(
            "redis://127.0.0.1:1/",
            clock.clone(),
            RedisOptions::default(),
        );
        assert!(matches!(e, Err(StoreError::Other(m)) if m.contains("tokio runtime")));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let e = RedisStore::new("not a url", clock, RedisOptions::default());
        assert!(matches!(e, Err(StoreError::Other(_))));
    }
}
