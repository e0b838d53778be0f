//! The limit counters and caches on a real Redis shared by several "gateways". Each test
//! starts its own `redis-server` on 127.0.0.1 (free port, no persistence) and stops it. Without
//! `redis-server` the tests are skipped with a message, unless `CI` is set.

#[path = "limits_support.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use apim_engine::counters::{
    QuotaCounter, QuotaDecision, QuotaSpec, RateDecision, RateLimit, RateLimiter, TokenDecision,
    TokenLimiter, TokenLimits, TokenQuotaPeriod,
};
use apim_engine::services::{
    CacheStore, Clock, CounterStore, RedisOptions, RedisStore, StoreError, VirtualClock,
};
use bytes::Bytes;
use support::*;

fn gateway(server: &RedisServer, clock: &VirtualClock) -> Arc<RedisStore> {
    let clock: Arc<dyn Clock> = Arc::new(clock.clone());
    Arc::new(RedisStore::new(&server.url, clock, RedisOptions::default()).expect("client"))
}

#[tokio::test]
async fn token_limit_guide_transcript_with_two_gateways_sharing_redis() {
    let Some(server) = start_redis("token_limit_guide_transcript_with_two_gateways") else {
        return;
    };
    let clock = VirtualClock::at_default_start();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let gateways: Vec<TokenLimiter> = (0..2)
        .map(|_| {
            let store = gateway(&server, &clock);
            TokenLimiter::new(store.clone(), store, shared.clone())
        })
        .collect();
    let runs = token_limit_transcript(&gateways, &clock).await;
    assert_eq!(runs, transcript_expected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limit_by_key_admits_exactly_100_per_key_across_gateways_sharing_redis() {
    let Some(server) = start_redis("rate_limit_by_key_admits_exactly_100_per_key") else {
        return;
    };
    let clock = VirtualClock::at_default_start();
    let limiters: Vec<Arc<RateLimiter>> = (0..2)
        .map(|_| {
            Arc::new(RateLimiter::new(
                gateway(&server, &clock),
                Arc::new(clock.clone()),
            ))
        })
        .collect();
    assert_eq!(hammer(limiters).await, vec![100; KEYS]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_token_estimates_never_over_admit_across_gateways() {
    let Some(server) = start_redis("concurrent_token_estimates_never_over_admit") else {
        return;
    };
    let clock = VirtualClock::at_default_start();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let gateways = (0..2)
        .map(|_| {
            let s = gateway(&server, &clock);
            Arc::new(TokenLimiter::new(s.clone(), s, shared.clone()))
        })
        .collect();
    assert_eq!(hammer_estimates(gateways).await, 1000 / 7);
}

#[tokio::test]
async fn sliding_window_and_provisional_entries_on_redis() {
    let Some(server) = start_redis("sliding_window_and_provisional_entries_on_redis") else {
        return;
    };
    let clock = VirtualClock::at_default_start();
    let (a, b) = (gateway(&server, &clock), gateway(&server, &clock));
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let (ra, rb) = (
        RateLimiter::new(a.clone(), shared.clone()),
        RateLimiter::new(b.clone(), shared.clone()),
    );
    let lim = RateLimit::new(2, 10);
    assert!(matches!(
        ra.check("k", lim, Some(1)).await,
        RateDecision::Allowed { remaining: 1, .. }
    ));
    clock.advance(Duration::from_millis(2500));
    assert!(matches!(
        rb.check("k", lim, Some(1)).await,
        RateDecision::Allowed { remaining: 0, .. }
    ));
    let RateDecision::Limited {
        retry_after,
        retry_after_secs,
    } = ra.check("k", lim, Some(1)).await
    else {
        panic!("third call in 10 s")
    };
    assert_eq!(
        (retry_after, retry_after_secs),
        (Duration::from_millis(7500), 8)
    );
    clock.advance(retry_after);
    assert!(matches!(
        rb.check("k", lim, Some(1)).await,
        RateDecision::Allowed { remaining: 0, .. }
    ));
    // Deferred increments count where the other gateway sees them.
    assert_eq!(ra.increment("d", lim, 2).await, 0);
    assert!(matches!(
        rb.check("d", lim, None).await,
        RateDecision::Limited { .. }
    ));

    // Token estimate replaced by the actual usage, seen by both gateways.
    let (ta, tb) = (
        TokenLimiter::new(a.clone(), a.clone(), shared.clone()),
        TokenLimiter::new(b.clone(), b.clone(), shared.clone()),
    );
    let limits = TokenLimits {
        tokens_per_minute: Some(100),
        quota: Some((150, TokenQuotaPeriod::Daily)),
    };
    let TokenDecision::Allowed(t) = ta.check("t", &limits, Some(80)).await else {
        panic!("fits")
    };
    assert_eq!(
        (t.remaining_tokens, t.remaining_quota),
        (Some(20), Some(70))
    );
    assert!(matches!(
        tb.check("t", &limits, Some(30)).await,
        TokenDecision::RateExceeded {
            retry_after_secs: Some(60),
            ..
        }
    ));
    let u = ta.settle(&t, 10).await;
    assert_eq!(
        (u.remaining_tokens, u.remaining_quota),
        (Some(90), Some(140))
    );
    assert_eq!(tb.tokens_in_window("t").await, 10);
    let TokenDecision::Allowed(t2) = tb.check("t", &limits, Some(30)).await else {
        panic!("fits after the estimate was replaced")
    };
    tb.settle(&t2, 140).await;
    let d = ta.check("t", &limits, None).await;
    let TokenDecision::QuotaExceeded { retry_after } = d else {
        panic!("quota used: {d:?}")
    };
    // 10 s into the day.
    assert_eq!(retry_after, Duration::from_secs(86400 - 10));
}

#[tokio::test]
async fn quotas_are_shared_by_gateways() {
    let Some(server) = start_redis("quotas_are_shared_by_gateways") else {
        return;
    };
    let clock = VirtualClock::at_default_start();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let qa = QuotaCounter::new(gateway(&server, &clock), shared.clone());
    let qb = QuotaCounter::new(gateway(&server, &clock), shared.clone());
    let spec = QuotaSpec {
        calls: Some(3),
        bandwidth_kb: Some(2),
        renewal_period: Duration::from_secs(3600),
        first_period_start: QuotaSpec::default_first_period_start(),
    };
    for q in [&qa, &qb, &qa] {
        assert!(matches!(
            q.check("sub", &spec, true).await,
            QuotaDecision::Allowed(_)
        ));
    }
    let d = qb.check("sub", &spec, true).await;
    assert_eq!(d.replenished_in_text().as_deref(), Some("01:00:00"));
    clock.advance(Duration::from_secs(3600));
    qa.add("sub", &spec, 0, 2048).await;
    let d = qb.check("sub", &spec, true).await;
    assert!(matches!(
        d,
        QuotaDecision::Exceeded {
            kind: apim_engine::errors::QuotaKind::Bandwidth,
            ..
        }
    ));
}

#[tokio::test]
async fn cache_and_counters_expire_on_the_engine_clock() {
    let Some(server) = start_redis("cache_and_counters_expire_on_the_engine_clock") else {
        return;
    };
    let clock = VirtualClock::at_default_start();
    let (a, b) = (gateway(&server, &clock), gateway(&server, &clock));
    let value = Bytes::from_static(b"[1,\"two\",{\"x\":null}]\x00\xff");
    CacheStore::set(a.as_ref(), "k", value.clone(), Duration::from_secs(30))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(29));
    assert_eq!(CacheStore::get(b.as_ref(), "k").await.unwrap(), Some(value));
    clock.advance(Duration::from_secs(1));
    assert_eq!(CacheStore::get(b.as_ref(), "k").await.unwrap(), None);
    CacheStore::set(a.as_ref(), "r", Bytes::from("v"), Duration::from_secs(30))
        .await
        .unwrap();
    CacheStore::remove(b.as_ref(), "r").await.unwrap();
    assert_eq!(CacheStore::get(a.as_ref(), "r").await.unwrap(), None);

    let ttl = Duration::from_secs(60);
    assert_eq!(CounterStore::add(a.as_ref(), "n", 2, ttl).await.unwrap(), 2);
    clock.advance(Duration::from_secs(20));
    assert_eq!(CounterStore::add(b.as_ref(), "n", 3, ttl).await.unwrap(), 5);
    assert_eq!(
        CounterStore::ttl(a.as_ref(), "n").await.unwrap(),
        Some(Duration::from_secs(40))
    );
    clock.advance(Duration::from_secs(40));
    assert_eq!(CounterStore::get(a.as_ref(), "n").await.unwrap(), None);
    assert_eq!(CounterStore::add(b.as_ref(), "n", 1, ttl).await.unwrap(), 1);
    CounterStore::remove(a.as_ref(), "n").await.unwrap();
    assert_eq!(CounterStore::get(b.as_ref(), "n").await.unwrap(), None);
}

#[tokio::test]
async fn unreachable_redis_fails_open_per_counter_kind_without_hanging() {
    // Nothing listens on this port: every operation fails fast with Unavailable.
    let url = format!("redis://127.0.0.1:{}/", free_port());
    let clock = VirtualClock::at_default_start();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let opts = RedisOptions {
        connect_timeout: Duration::from_millis(200),
        operation_timeout: Duration::from_millis(200),
        ..RedisOptions::default()
    };
    let store = Arc::new(RedisStore::new(&url, shared.clone(), opts).expect("lazy client"));
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(CacheStore::get(store.as_ref(), "k").await.is_err());

    // Rate limits: counted on this gateway alone, still enforced.
    let r = RateLimiter::new(store.clone(), shared.clone());
    let lim = RateLimit::new(2, 60);
    let mut out = Vec::new();
    for _ in 0..3 {
        out.push(matches!(
            r.check("k", lim, Some(1)).await,
            RateDecision::Allowed { .. }
        ));
    }
    assert_eq!(out, vec![true, true, false]);

    // Token limits: per-minute window local, quota fails open.
    let t = TokenLimiter::new(store.clone(), store.clone(), shared.clone());
    let limits = TokenLimits {
        tokens_per_minute: Some(100),
        quota: Some((10, TokenQuotaPeriod::Monthly)),
    };
    let TokenDecision::Allowed(ticket) = t.check("k", &limits, None).await else {
        panic!("fail open")
    };
    let u = t.settle(&ticket, 120).await;
    assert_eq!((u.remaining_tokens, u.remaining_quota), (Some(0), None));
    assert!(matches!(
        t.check("k", &limits, None).await,
        TokenDecision::RateExceeded { .. }
    ));

    // Quotas fail open.
    let q = QuotaCounter::new(store, shared);
    let spec = QuotaSpec {
        calls: Some(1),
        bandwidth_kb: None,
        renewal_period: Duration::from_secs(300),
        first_period_start: QuotaSpec::default_first_period_start(),
    };
    for _ in 0..3 {
        assert!(matches!(
            q.check("k", &spec, true).await,
            QuotaDecision::Allowed(u) if u.degraded
        ));
    }
}

/// The Lua scripts and the in-process stores implement the same rules: a long pseudo-random
/// sequence of admissions, records (with replaced entries) and clock moves gives the same
/// answers on both.
#[tokio::test]
async fn redis_scripts_agree_with_the_in_process_stores() {
    use apim_engine::counters::{
        FixedWindow, FixedWindowStore, MemoryFixedStore, MemoryWindowStore, WindowAdmission,
        WindowAdmit, WindowStore,
    };
    let Some(server) = start_redis("redis_scripts_agree_with_the_in_process_stores") else {
        return;
    };
    let clock = VirtualClock::at_default_start();
    let redis = gateway(&server, &clock);
    let memory = MemoryWindowStore::new();
    let fixed_memory = MemoryFixedStore::new();
    let mut seed: u64 = 0x5eed;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let mut pending: Vec<(
        String,
        Option<apim_engine::counters::EntryId>,
        Option<apim_engine::counters::EntryId>,
    )> = Vec::new();
    // Rejections with a retry time, never-fitting needs, counted admissions.
    let mut seen = (0, 0, 0);
    for step in 0..600 {
        clock.advance(Duration::from_millis(next(1500)));
        let now_ms = clock.now().timestamp_millis();
        let key = format!("k{}", next(3));
        let window_ms = 10_000;
        match next(4) {
            0 | 1 => {
                let req = WindowAdmit {
                    window_ms,
                    limit: 20,
                    need: if next(20) == 0 { 21 } else { next(6) },
                    add: next(6),
                    now_ms,
                };
                let m = memory.admit(&key, req).await.unwrap();
                let r = WindowStore::admit(redis.as_ref(), &key, req).await.unwrap();
                let strip = |a: &WindowAdmission| match a {
                    WindowAdmission::Admitted { used, entry } => {
                        (true, *used, None, entry.is_some())
                    }
                    WindowAdmission::Rejected {
                        used,
                        retry_after_ms,
                    } => (false, *used, *retry_after_ms, false),
                };
                assert_eq!(strip(&m), strip(&r), "step {step}: admit {req:?}");
                match strip(&m) {
                    (false, _, Some(_), _) => seen.0 += 1,
                    (false, _, None, _) => seen.1 += 1,
                    (true, _, _, true) => seen.2 += 1,
                    _ => {}
                }
                let entry = |a: WindowAdmission| match a {
                    WindowAdmission::Admitted { entry, .. } => entry,
                    WindowAdmission::Rejected { .. } => None,
                };
                pending.push((key, entry(m), entry(r)));
            }
            2 => {
                let amount = next(8);
                let (k, m_old, r_old) = if pending.is_empty() || next(2) == 0 {
                    (key, None, None)
                } else {
                    let i = usize::try_from(next(pending.len() as u64)).unwrap();
                    pending.swap_remove(i)
                };
                let m = memory
                    .record(&k, window_ms, now_ms, amount, m_old.as_ref())
                    .await
                    .unwrap();
                let r = redis
                    .record(&k, window_ms, now_ms, amount, r_old.as_ref())
                    .await
                    .unwrap();
                assert_eq!(m, r, "step {step}: record");
            }
            _ => {
                let len = 5_000 + i64::try_from(next(10_000)).unwrap();
                let start = now_ms - now_ms.rem_euclid(len);
                let w = FixedWindow {
                    start_ms: start,
                    end_ms: Some(start + len),
                };
                let (need, add, limit) = (next(4), next(4), 10);
                let m = fixed_memory.admit(&key, w, need, add, limit).await.unwrap();
                let r = FixedWindowStore::admit(redis.as_ref(), &key, w, need, add, limit)
                    .await
                    .unwrap();
                assert_eq!(m, r, "step {step}: fixed admit");
            }
        }
    }
    assert!(seen.0 > 10 && seen.1 > 0 && seen.2 > 10, "{seen:?}");
}

#[tokio::test]
async fn redis_outage_is_bridged_and_the_store_recovers() {
    let port = free_port();
    let Some(server) = start_redis_on("redis_outage_is_bridged_and_the_store_recovers", port)
    else {
        return;
    };
    let clock = VirtualClock::at_default_start();
    let store = gateway(&server, &clock);
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let r = RateLimiter::new(store.clone(), shared);
    let lim = RateLimit::new(1, 60);
    assert!(matches!(
        r.check("a", lim, Some(1)).await,
        RateDecision::Allowed { .. }
    ));
    drop(server);
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
    // Down: calls are counted on this gateway (which has not seen key "a" yet).
    assert!(matches!(
        r.check("a", lim, Some(1)).await,
        RateDecision::Allowed { .. }
    ));
    let server =
        start_redis_on("redis_outage_is_bridged_and_the_store_recovers", port).expect("restarted");
    // Still marked down until `down_for` has passed on the engine clock.
    let e = store.ping().await;
    assert!(
        matches!(&e, Err(StoreError::Unavailable(m)) if m.contains("marked down")),
        "{e:?}"
    );
    let mut attempts = 0;
    loop {
        clock.advance(RedisOptions::default().down_for);
        attempts += 1;
        if store.ping().await.is_ok() {
            break;
        }
        assert!(attempts < 5, "store did not reconnect");
    }
    // Shared counting again (the restarted server starts empty).
    assert!(matches!(
        r.check("b", lim, Some(1)).await,
        RateDecision::Allowed { .. }
    ));
    assert!(matches!(
        r.check("b", lim, Some(1)).await,
        RateDecision::Limited { .. }
    ));
    drop(server);
}
