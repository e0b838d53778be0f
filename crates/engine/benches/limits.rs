//! Counter part of llm-token-limit, in-process: the inbound check plus the usage added after
//! the response, per request. Target: ~1 µs (the whole llm-token-limit + llm-emit-token-metric
//! pair must stay within 10 µs per request).

use std::sync::Arc;
use std::time::Duration;

use apim_engine::counters::{
    RateLimit, RateLimiter, TokenDecision, TokenLimiter, TokenLimits, TokenQuotaPeriod,
};
use apim_engine::services::VirtualClock;
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;

fn token_limit(c: &mut Criterion) {
    let clock = VirtualClock::at_default_start();
    let limiter = TokenLimiter::in_memory(Arc::new(clock.clone()));
    let limits = TokenLimits {
        tokens_per_minute: Some(u64::MAX / 4),
        quota: Some((u64::MAX / 4, TokenQuotaPeriod::Monthly)),
    };
    let keys: Vec<String> = (0..64).map(|i| format!("subscription-{i}")).collect();
    let mut i = 0usize;
    c.bench_function(
        "llm-token-limit counters: check + settle (in-process)",
        |b| {
            b.iter(|| {
                i = i.wrapping_add(1);
                // 1 ms of virtual time per request over 64 keys: ~940 entries per key window.
                clock.advance(Duration::from_millis(1));
                let key = &keys[i % keys.len()];
                let Some(TokenDecision::Allowed(ticket)) =
                    limiter.check(key, &limits, Some(30)).now_or_never()
                else {
                    panic!("bench limits are never reached")
                };
                limiter.settle(&ticket, 55).now_or_never()
            })
        },
    );
    let rate = RateLimiter::in_memory(Arc::new(clock.clone()));
    let lim = RateLimit::new(100, 60);
    c.bench_function("rate-limit-by-key counter: check (in-process)", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            clock.advance(Duration::from_millis(1));
            rate.check(&keys[i % keys.len()], lim, Some(1))
                .now_or_never()
        })
    });
}

criterion_group!(benches, token_limit);
criterion_main!(benches);
