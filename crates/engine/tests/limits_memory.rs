//! Counter-level tests of the limit algorithms on the in-process stores.

#[path = "limits_support.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use apim_engine::counters::{
    Limiters, RateDecision, RateLimit, RateLimiter, TokenDecision, TokenLimiter, TokenLimits,
    TokenQuotaPeriod,
};
use apim_engine::errors::{token_limit_response, token_quota_response};
use apim_engine::services::VirtualClock;
use chrono::DateTime;
use support::*;

fn clock_at(s: &str) -> VirtualClock {
    VirtualClock::new(DateTime::parse_from_rfc3339(s).unwrap().to_utc())
}

#[tokio::test]
async fn token_limit_guide_transcript_in_process() {
    let clock = VirtualClock::at_default_start();
    let gw = Limiters::in_memory(Arc::new(clock.clone())).tokens;
    let runs = token_limit_transcript(&[gw], &clock).await;
    assert_eq!(runs, transcript_expected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limit_by_key_admits_exactly_100_per_key_under_8_workers() {
    let clock = VirtualClock::at_default_start();
    let limiter = Arc::new(RateLimiter::in_memory(Arc::new(clock)));
    assert_eq!(hammer(vec![limiter]).await, vec![100; KEYS]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_token_estimates_never_over_admit() {
    let clock = VirtualClock::at_default_start();
    let gw = Arc::new(TokenLimiter::in_memory(Arc::new(clock)));
    assert_eq!(hammer_estimates(vec![gw]).await, 1000 / 7);
}

#[tokio::test]
async fn rate_limit_window_slides_call_by_call() {
    let clock = VirtualClock::at_default_start();
    let r = RateLimiter::in_memory(Arc::new(clock.clone()));
    let lim = RateLimit::new(3, 10);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        match r.check("sub", lim, Some(1)).await {
            RateDecision::Allowed { remaining: n, .. } => remaining.push(n),
            other => panic!("{other:?}"),
        }
        clock.advance(Duration::from_secs(2));
    }
    assert_eq!(remaining, vec![2, 1, 0]);
    // t=6: the call at t=0 leaves at t=10.
    let RateDecision::Limited {
        retry_after_secs, ..
    } = r.check("sub", lim, Some(1)).await
    else {
        panic!("expected 429")
    };
    assert_eq!(retry_after_secs, 4);
    let resp = apim_engine::errors::rate_limit_response(retry_after_secs, Some("Retry-After"));
    assert_eq!(resp.status, 429);
    clock.advance(Duration::from_secs(4));
    assert!(matches!(
        r.check("sub", lim, Some(1)).await,
        RateDecision::Allowed { remaining: 0, .. }
    ));
    // Other keys have their own counters.
    assert!(matches!(
        r.check("other", lim, Some(1)).await,
        RateDecision::Allowed { remaining: 2, .. }
    ));
}

#[tokio::test]
async fn estimated_prompt_tokens_are_provisional_and_must_fit() {
    let clock = VirtualClock::at_default_start();
    let t = TokenLimiter::in_memory(Arc::new(clock.clone()));
    let limits = TokenLimits {
        tokens_per_minute: Some(100),
        quota: None,
    };
    let TokenDecision::Allowed(ticket) = t.check("k", &limits, Some(70)).await else {
        panic!("first call fits")
    };
    assert_eq!(ticket.remaining_tokens, Some(30));
    assert_eq!(ticket.estimate(), 70);
    // While the first is in flight its estimate counts: 40 more do not fit.
    clock.advance(Duration::from_secs(5));
    let d = t.check("k", &limits, Some(40)).await;
    assert_eq!(
        d,
        TokenDecision::RateExceeded {
            retry_after: Some(Duration::from_secs(55)),
            retry_after_secs: Some(55)
        }
    );
    // The actual usage replaces the estimate.
    let u = t.settle(&ticket, 20).await;
    assert_eq!((u.consumed, u.remaining_tokens), (20, Some(80)));
    assert_eq!(t.tokens_in_window("k").await, 20);
    assert!(matches!(
        t.check("k", &limits, Some(40)).await,
        TokenDecision::Allowed(_)
    ));
    // An estimate above the limit never fits: no retry time.
    assert_eq!(
        t.check("k", &limits, Some(101)).await,
        TokenDecision::RateExceeded {
            retry_after: None,
            retry_after_secs: None
        }
    );
}

#[tokio::test]
async fn token_quota_403_waits_until_the_period_ends() {
    let clock = clock_at("2024-05-06T23:38:27Z");
    let t = TokenLimiter::in_memory(Arc::new(clock.clone()));
    let hourly = TokenLimits {
        tokens_per_minute: None,
        quota: Some((1000, TokenQuotaPeriod::Hourly)),
    };
    let TokenDecision::Allowed(ticket) = t.check("team", &hourly, None).await else {
        panic!("fresh quota")
    };
    assert_eq!(ticket.remaining_quota, Some(1000));
    let u = t.settle(&ticket, 1200).await;
    assert_eq!(u.remaining_quota, Some(0));
    let TokenDecision::QuotaExceeded { retry_after } = t.check("team", &hourly, None).await else {
        panic!("quota used up")
    };
    assert_eq!(retry_after, Duration::from_secs(21 * 60 + 33));
    let body = String::from_utf8(
        token_quota_response(retry_after, Some("Retry-After"))
            .body
            .peek()
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(
        body.contains("Token quota is exceeded. Try again in 21 minutes and 33 seconds."),
        "{body}"
    );
    // The next hour starts a new quota.
    clock.advance(retry_after);
    assert!(matches!(
        t.check("team", &hourly, None).await,
        TokenDecision::Allowed(_)
    ));

    // Daily at 01:00 UTC: "23 hours".
    let clock = clock_at("2024-05-07T01:00:00Z");
    let t = TokenLimiter::in_memory(Arc::new(clock.clone()));
    let daily = TokenLimits {
        tokens_per_minute: Some(1_000_000),
        quota: Some((10, TokenQuotaPeriod::Daily)),
    };
    let TokenDecision::Allowed(ticket) = t.check("team", &daily, Some(10)).await else {
        panic!("estimate fits the quota")
    };
    assert_eq!(ticket.remaining_quota, Some(0));
    let TokenDecision::QuotaExceeded { retry_after } = t.check("team", &daily, None).await else {
        panic!("quota used up by the provisional estimate")
    };
    let body = String::from_utf8(
        token_quota_response(retry_after, None)
            .body
            .peek()
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(body.contains("Try again in 23 hours."), "{body}");
    // A rate rejection gives the provisional quota back.
    let u = t.settle(&ticket, 4).await;
    assert_eq!(u.remaining_quota, Some(6));
    let resp = token_limit_response(29, Some("Retry-After"));
    assert_eq!(resp.status, 429);
}
