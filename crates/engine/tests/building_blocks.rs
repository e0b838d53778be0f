//! The engine's building blocks composed the way the policies will compose them: admission,
//! a backend pool chosen per forward-request, and a retry loop with APIM's backoff, all on the
//! virtual clock against mocked backends.

use std::time::Duration;

use apim_engine::admission::admit;
use apim_engine::backend_call::{ForwardOptions, forward_request};
use apim_engine::backends::BackendRegistry;
use apim_engine::context::RequestContext;
use apim_engine::errors::{PolicyLocation, RetryBackoff, RetrySchedule, Scope, Section};
use apim_engine::http::{Body, Request, Url};
use apim_engine::service::{
    Api, Backend, BackendPool, BackendType, CircuitBreaker, CircuitBreakerRule, FailureCondition,
    IsoDuration, Operation, PoolMember, ServiceDefinition, StatusCodeRange, Subscription,
    SubscriptionKeyParameterNames,
};
use apim_engine::services::{MockMatch, MockReply, Services, TestHandles, VirtualClock};

fn breaker() -> CircuitBreaker {
    CircuitBreaker {
        rules: vec![CircuitBreakerRule {
            name: "openai".into(),
            failure_condition: FailureCondition {
                count: Some(1),
                interval: IsoDuration(Duration::from_secs(10)),
                status_code_ranges: vec![StatusCodeRange { min: 429, max: 429 }],
                ..Default::default()
            },
            trip_duration: IsoDuration(Duration::from_secs(10)),
            accept_retry_after: true,
        }],
    }
}

fn service(priorities: [Option<u32>; 2]) -> ServiceDefinition {
    let single = |id: &str| Backend {
        id: id.into(),
        url: Some(format!("https://{id}.openai.azure.com/openai")),
        circuit_breaker: Some(breaker()),
        ..Default::default()
    };
    ServiceDefinition {
        apis: vec![Api {
            id: "aoai".into(),
            path: "openai".into(),
            service_url: Some("https://east.openai.azure.com/openai".into()),
            subscription_key_parameter_names: SubscriptionKeyParameterNames {
                header: "api-key".into(),
                query: "api-key".into(),
            },
            operations: vec![Operation {
                id: "chat".into(),
                method: "POST".into(),
                url_template:
                    "/deployments/{deployment-id}/chat/completions?api-version={api-version}".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        subscriptions: vec![Subscription {
            id: "team-a".into(),
            primary_key: "key-a".into(),
            ..Default::default()
        }],
        backends: vec![
            single("east"),
            single("west"),
            Backend {
                id: "pool".into(),
                backend_type: BackendType::Pool,
                pool: Some(BackendPool {
                    services: vec![
                        PoolMember {
                            id: "east".into(),
                            priority: priorities[0],
                            weight: None,
                        },
                        PoolMember {
                            id: "west".into(),
                            priority: priorities[1],
                            weight: None,
                        },
                    ],
                }),
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

fn request() -> Request {
    let mut r = Request::new(
        "POST",
        Url::parse(
            "https://gw.local/openai/deployments/gpt-4o/chat/completions?api-version=2024-02-01",
        )
        .unwrap(),
    );
    r.headers.set_one("api-key", "key-a").unwrap();
    r.body = Body::from("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    r
}

fn loc() -> PolicyLocation {
    PolicyLocation {
        policy: "forward-request".into(),
        scope: Scope::Api,
        section: Section::Backend,
        path: "retry[1]/forward-request[1]".into(),
        policy_id: None,
    }
}

/// What the aoai retry policies do: `<retry condition="@(context.Response.StatusCode == 429)"
/// count="n" interval="i" delta="d">` around `<forward-request buffer-request-body="true"/>`
/// with `set-backend-service backend-id="pool"`.
async fn send(
    s: &ServiceDefinition,
    services: &Services,
    reg: &BackendRegistry,
    backoff: RetryBackoff,
    count: u32,
) -> (u16, u32) {
    let adm = admit(
        s,
        &apim_engine::matching::Router::new(s),
        Some(reg),
        request(),
        services,
    )
    .unwrap_or_else(|r| panic!("rejected: {:?}", r.error.last_error));
    let mut ctx: RequestContext<'_, ()> =
        RequestContext::new(s, adm, services.clock.monotonic(), false);
    ctx.backend_id = Some("pool".into());
    let opts = ForwardOptions {
        buffer_request_body: true,
        ..Default::default()
    };
    let mut schedule = RetrySchedule::new(backoff, count);
    loop {
        if let Err(e) = forward_request(&mut ctx, services, Some(reg), &opts, &loc()).await {
            return (e.response.status, schedule.retries());
        }
        if ctx.response.status != 429 {
            break;
        }
        match schedule.next_delay(&services.rng) {
            Some(d) => services.clock.sleep(d).await,
            None => break,
        }
    }
    (ctx.response.status, schedule.retries())
}

fn setup(s: &ServiceDefinition) -> (Services, TestHandles, BackendRegistry) {
    let (services, handles) = Services::for_tests(VirtualClock::at_default_start(), 42);
    let reg = BackendRegistry::new(s, services.clock.clone()).unwrap();
    (services, handles, reg)
}

#[tokio::test]
async fn round_robin_pool_alternates_strictly() {
    let s = service([None, None]);
    let (services, h, reg) = setup(&s);
    h.http
        .always(MockMatch::default(), MockReply::json(200, "{}"));
    let backoff = RetryBackoff {
        interval: Duration::from_secs(1),
        max_interval: None,
        delta: None,
        first_fast_retry: false,
    };
    for _ in 0..6 {
        assert_eq!(
            h.clock.run(send(&s, &services, &reg, backoff, 2)).await,
            (200, 0)
        );
    }
    let hosts: Vec<String> = h
        .http
        .calls()
        .iter()
        .map(|c| c.url.host().to_string())
        .collect();
    let expected: Vec<String> = ["east", "west"]
        .iter()
        .cycle()
        .take(6)
        .map(|h| format!("{h}.openai.azure.com"))
        .collect();
    assert_eq!(hosts, expected);
}

#[tokio::test]
async fn retry_on_429_switches_backend_after_the_backoff() {
    let s = service([Some(1), Some(2)]);
    let (services, h, reg) = setup(&s);
    h.http.sequence(
        MockMatch::host("east.openai.azure.com"),
        vec![MockReply::status(429).header("Retry-After", "30")],
    );
    h.http.always(
        MockMatch::host("east.openai.azure.com"),
        MockReply::json(200, "{\"from\":\"east\"}"),
    );
    h.http.always(
        MockMatch::host("west.openai.azure.com"),
        MockReply::json(200, "{\"from\":\"west\"}"),
    );
    let backoff = RetryBackoff {
        interval: Duration::from_secs(2),
        max_interval: None,
        delta: Some(Duration::from_secs(1)),
        first_fast_retry: false,
    };
    let start = services.clock.monotonic();
    assert_eq!(
        h.clock.run(send(&s, &services, &reg, backoff, 3)).await,
        (200, 1)
    );
    let calls = h.http.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].url.host(), calls[1].url.host()),
        ("east.openai.azure.com", "west.openai.azure.com")
    );
    assert_eq!(calls[1].body, calls[0].body, "buffered body re-sent");
    assert_eq!(
        services.clock.monotonic() - start,
        Duration::from_secs(2),
        "first retry waits `interval`"
    );
    // Priority 1 comes back once its Retry-After has passed.
    h.clock.advance(Duration::from_secs(28));
    h.clock.run(send(&s, &services, &reg, backoff, 3)).await;
    assert_eq!(h.http.calls()[2].url.host(), "east.openai.azure.com");
}

#[tokio::test]
async fn all_tripped_gives_503_without_calling_a_backend() {
    let s = service([Some(1), Some(2)]);
    let (services, h, reg) = setup(&s);
    h.http.always(
        MockMatch::default(),
        MockReply::status(429).header("Retry-After", "60"),
    );
    let backoff = RetryBackoff {
        interval: Duration::from_secs(1),
        max_interval: None,
        delta: None,
        first_fast_retry: false,
    };
    // east 429 (trips), retry → west 429 (trips), retry → both tripped → 503.
    assert_eq!(
        h.clock.run(send(&s, &services, &reg, backoff, 5)).await,
        (503, 2)
    );
    assert_eq!(h.http.call_count(), 2);
}
