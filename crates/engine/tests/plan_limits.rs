//! rate-limit, rate-limit-by-key, quota, quota-by-key and the cache policies' caching-type
//! through the Plan, on the virtual clock; and two engine instances sharing counters and the
//! external cache through one real `redis-server` (started by the test on 127.0.0.1; skipped
//! with a message when it is not installed, unless `CI` is set).

#[path = "limits_support.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use apim_engine::http::{Request, Url};
use apim_engine::plan::{self, Outcome, Plan};
use apim_engine::service::{
    Api, Operation, PolicySource, Product, ServiceDefinition, Subscription, SubscriptionScope,
};
use apim_engine::services::{
    CacheStore, MemoryCacheStore, MockMatch, MockReply, RedisOptions, Services, TestHandles,
    VirtualClock,
};

const ON_ERROR: &str = r#"<on-error>
    <base />
    <set-header name="x-error" exists-action="override">
      <value>@(context.LastError.Source + "|" + context.LastError.Reason + "|" + context.LastError.Message)</value>
    </set-header>
  </on-error>"#;

fn doc(inbound: &str) -> String {
    format!(
        "<policies>\n  <inbound>\n    <base />\n    {inbound}\n  </inbound>\n  <backend><base /></backend>\n  <outbound><base /></outbound>\n  {ON_ERROR}\n</policies>"
    )
}

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// API `echo` (GET /items, POST /items) in product `starter` with subscriptions `sub-1` (key
/// `key-1`) and `sub-2` (key `key-2`), both started at the clock's start.
fn service(
    product_policy: Option<&str>,
    api_policy: Option<&str>,
    keys: bool,
) -> ServiceDefinition {
    let sub = |id: &str, key: &str| Subscription {
        id: id.into(),
        name: id.into(),
        primary_key: key.into(),
        secondary_key: format!("{key}-2"),
        scope: SubscriptionScope::Product("starter".into()),
        start_date: Some(at("2024-01-01T00:00:00Z")),
        ..Default::default()
    };
    ServiceDefinition {
        service_name: "contoso".into(),
        region: "West Europe".into(),
        products: vec![Product {
            id: "starter".into(),
            name: "Starter".into(),
            apis: vec!["echo".into()],
            subscription_required: keys,
            policy: product_policy.map(|p| PolicySource::inline("product:starter", p)),
            ..Default::default()
        }],
        subscriptions: vec![sub("sub-1", "key-1"), sub("sub-2", "key-2")],
        apis: vec![Api {
            id: "echo".into(),
            name: "Echo API".into(),
            path: "echo".into(),
            service_url: Some("https://backend.example.com".into()),
            subscription_required: keys,
            policy: api_policy.map(|p| PolicySource::inline("api:echo", p)),
            operations: vec![
                Operation {
                    id: "get-items".into(),
                    name: "Get items".into(),
                    method: "GET".into(),
                    url_template: "/items".into(),
                    ..Default::default()
                },
                Operation {
                    id: "add-item".into(),
                    name: "Add item".into(),
                    method: "POST".into(),
                    url_template: "/items".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn setup(s: &ServiceDefinition) -> (Plan, Services, TestHandles) {
    let (services, handles) = Services::for_tests(VirtualClock::at_default_start(), 7);
    let plan = compile(s, &services);
    (plan, services, handles)
}

fn compile(s: &ServiceDefinition, services: &Services) -> Plan {
    match plan::compile(s, services) {
        Ok(p) => p,
        Err(d) => panic!(
            "{}",
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

fn request(method: &str, key: Option<&str>, client: Option<&str>) -> Request {
    let mut r = Request::new(
        method,
        Url::parse("https://gw.example.com/echo/items").unwrap(),
    );
    if let Some(k) = key {
        r.headers.set_one("Ocp-Apim-Subscription-Key", k).unwrap();
    }
    if let Some(c) = client {
        r.headers.set_one("x-client", c).unwrap();
    }
    r
}

async fn call(plan: &Plan, services: &Services, h: &TestHandles, req: Request) -> Outcome {
    h.clock.run(plan::run(plan, req, services)).await
}

fn body(o: &Outcome) -> String {
    String::from_utf8_lossy(o.response.body.peek().map(|b| b.as_ref()).unwrap_or(b"")).into_owned()
}

fn header<'a>(o: &'a Outcome, name: &str) -> Option<&'a str> {
    o.response.headers.first(name)
}

fn var(o: &Outcome, name: &str) -> Option<String> {
    o.variables
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

fn ok_backend(h: &TestHandles) {
    h.http.always(
        MockMatch::host("backend.example.com"),
        MockReply::json(200, r#"{"ok":true}"#),
    );
}

#[tokio::test]
async fn rate_limit_counts_per_subscription_with_retry_after_counting_down() {
    let policy = doc(
        r#"<rate-limit calls="2" renewal-period="60" remaining-calls-header-name="x-left"
        remaining-calls-variable-name="left" total-calls-header-name="x-total"
        retry-after-variable-name="wait" />"#,
    );
    let (plan, services, h) = setup(&service(Some(&policy), None, true));
    ok_backend(&h);
    let get = |k| request("GET", Some(k), None);
    let first = call(&plan, &services, &h, get("key-1")).await;
    assert_eq!(first.response.status, 200, "{}", body(&first));
    assert_eq!(header(&first, "x-left"), Some("1"));
    assert_eq!(header(&first, "x-total"), Some("2"));
    assert_eq!(var(&first, "left").as_deref(), Some("1"));
    h.clock.advance(Duration::from_secs(10));
    let second = call(&plan, &services, &h, get("key-1")).await;
    assert_eq!(header(&second, "x-left"), Some("0"));

    let third = call(&plan, &services, &h, get("key-1")).await;
    assert_eq!(third.response.status, 429);
    assert_eq!(
        body(&third),
        r#"{ "statusCode": 429, "message": "Rate limit is exceeded. Try again in 50 seconds." }"#
    );
    assert_eq!(header(&third, "Content-Type"), Some("application/json"));
    assert_eq!(header(&third, "Retry-After"), Some("50"));
    assert_eq!(var(&third, "wait").as_deref(), Some("50"));
    assert_eq!(
        header(&third, "x-error"),
        Some("rate-limit|RateLimitExceeded|Rate limit is exceeded")
    );
    // Another subscription has its own counter.
    let other = call(&plan, &services, &h, get("key-2")).await;
    assert_eq!(other.response.status, 200);
    assert_eq!(header(&other, "x-left"), Some("1"));

    // The wait counts down on the virtual clock; rejected calls were not counted.
    h.clock.advance(Duration::from_secs(30));
    let waiting = call(&plan, &services, &h, get("key-1")).await;
    assert_eq!(header(&waiting, "Retry-After"), Some("20"));
    h.clock.advance(Duration::from_secs(20));
    let again = call(&plan, &services, &h, get("key-1")).await;
    assert_eq!(again.response.status, 200, "the first call left the window");
    assert_eq!(header(&again, "x-left"), Some("0"));
    assert_eq!(h.http.call_count(), 4, "429s never reach the backend");
}

#[tokio::test]
async fn rate_limit_api_and_operation_limits_apply_independently() {
    let policy = doc(
        r#"<rate-limit calls="10" renewal-period="60" remaining-calls-header-name="x-left">
      <api name="Echo API" calls="3" renewal-period="60">
        <operation id="get-items" calls="1" renewal-period="60" />
      </api>
      <api id="other" calls="1" renewal-period="60" />
    </rate-limit>"#,
    );
    let (plan, services, h) = setup(&service(Some(&policy), None, true));
    ok_backend(&h);
    let mut got = Vec::new();
    for method in ["GET", "GET", "POST", "POST", "POST"] {
        let o = call(&plan, &services, &h, request(method, Some("key-1"), None)).await;
        got.push((
            o.response.status,
            header(&o, "x-left").unwrap_or("-").to_string(),
        ));
    }
    // GET: operation limit 1; POSTs: the API limit 3 counts the GET too. The rejected GET
    // counted nowhere (the product counter has 7 left after three calls).
    assert_eq!(
        got,
        vec![
            (200, "0".into()),
            (429, "0".into()),
            (200, "1".into()),
            (200, "0".into()),
            (429, "0".into()),
        ]
    );
}

#[tokio::test]
async fn rate_limit_does_not_apply_without_a_subscription() {
    let api =
        doc(r#"<rate-limit calls="1" renewal-period="60" remaining-calls-header-name="x-left" />"#);
    let (plan, services, h) = setup(&service(None, Some(&api), false));
    ok_backend(&h);
    for _ in 0..3 {
        let o = call(&plan, &services, &h, request("GET", None, None)).await;
        assert_eq!(o.response.status, 200);
        assert_eq!(header(&o, "x-left"), None);
    }
}

#[tokio::test]
async fn rate_limit_by_key_counts_increment_count_per_key_with_custom_names() {
    let policy = doc(
        r#"<rate-limit-by-key calls="3" renewal-period="10" increment-count="2"
        counter-key="@(context.Request.Headers.GetValueOrDefault("x-client", "anonymous"))"
        retry-after-header-name="x-retry" retry-after-variable-name="wait"
        remaining-calls-header-name="x-left" total-calls-header-name="x-total" />"#,
    );
    let (plan, services, h) = setup(&service(None, Some(&policy), false));
    ok_backend(&h);
    let go = |c| request("GET", None, Some(c));
    let a1 = call(&plan, &services, &h, go("a")).await;
    assert_eq!(
        (a1.response.status, header(&a1, "x-left")),
        (200, Some("1"))
    );
    assert_eq!(header(&a1, "x-total"), Some("3"));
    h.clock.advance(Duration::from_millis(2500));
    let a2 = call(&plan, &services, &h, go("a")).await;
    assert_eq!(a2.response.status, 429, "2 more do not fit in the 1 left");
    assert_eq!(header(&a2, "x-retry"), Some("8"), "7.5 s rounded up");
    assert_eq!(header(&a2, "Retry-After"), None);
    assert_eq!(var(&a2, "wait").as_deref(), Some("8"));
    assert!(body(&a2).contains("Try again in 8 seconds."));
    let b1 = call(&plan, &services, &h, go("b")).await;
    assert_eq!(b1.response.status, 200, "another key has its own counter");
    h.clock.advance(Duration::from_millis(7500));
    let a3 = call(&plan, &services, &h, go("a")).await;
    assert_eq!(
        (a3.response.status, header(&a3, "x-left")),
        (200, Some("1"))
    );
}

/// increment-condition as an expression is evaluated when the request ends, on the final
/// response: failed backend calls are not counted.
#[tokio::test]
async fn rate_limit_by_key_increment_condition_is_evaluated_after_outbound() {
    let policy = format!(
        r#"<policies>
  <inbound>
    <rate-limit-by-key calls="2" renewal-period="60" counter-key="fixed"
        increment-condition="@(context.Response.StatusCode == 200)"
        remaining-calls-header-name="x-left" remaining-calls-variable-name="left" />
  </inbound>
  <backend><forward-request /></backend>
  <outbound>
    <set-status code="@(context.Response.StatusCode == 418 ? 200 : context.Response.StatusCode)" reason="Set" />
  </outbound>
  {ON_ERROR}
</policies>"#
    );
    let (plan, services, h) = setup(&service(None, Some(&policy), false));
    h.http.sequence(
        MockMatch::host("backend.example.com"),
        vec![
            MockReply::status(500),
            MockReply::status(500),
            // Turned into 200 by outbound: counted.
            MockReply::status(418),
            MockReply::status(200),
            MockReply::status(200),
        ],
    );
    let mut got = Vec::new();
    for _ in 0..5 {
        let o = call(&plan, &services, &h, request("GET", None, None)).await;
        got.push((
            o.response.status,
            header(&o, "x-left").unwrap_or("-").to_string(),
            var(&o, "left").unwrap_or_default(),
        ));
    }
    assert_eq!(
        got,
        vec![
            (500, "2".into(), "2".into()),
            (500, "2".into(), "2".into()),
            // Header: after this call was counted; variable: at the inbound check.
            (200, "1".into(), "2".into()),
            (200, "0".into(), "1".into()),
            (429, "0".into(), "0".into()),
        ]
    );
    assert_eq!(h.http.call_count(), 4);
}

#[tokio::test]
async fn quota_rejects_with_403_until_the_period_renews() {
    let policy = doc(r#"<quota calls="2" renewal-period="300" />"#);
    let (plan, services, h) = setup(&service(Some(&policy), None, true));
    ok_backend(&h);
    let get = |k| request("GET", Some(k), None);
    for _ in 0..2 {
        let o = call(&plan, &services, &h, get("key-1")).await;
        assert_eq!(o.response.status, 200);
    }
    let over = call(&plan, &services, &h, get("key-1")).await;
    assert_eq!(over.response.status, 403);
    assert_eq!(
        body(&over),
        r#"{ "statusCode": 403, "message": "Out of call volume quota. Quota will be replenished in 00:05:00." }"#
    );
    assert_eq!(header(&over, "Retry-After"), Some("300"));
    assert_eq!(
        header(&over, "x-error"),
        Some(
            "quota|QuotaExceeded|Out of call volume quota. Quota will be replenished in 00:05:00."
        )
    );
    assert_eq!(
        call(&plan, &services, &h, get("key-2"))
            .await
            .response
            .status,
        200
    );
    h.clock.advance(Duration::from_secs(100));
    let later = call(&plan, &services, &h, get("key-1")).await;
    assert!(
        body(&later).contains("replenished in 00:03:20."),
        "{}",
        body(&later)
    );
    assert_eq!(header(&later, "Retry-After"), Some("200"));
    h.clock.advance(Duration::from_secs(200));
    let renewed = call(&plan, &services, &h, get("key-1")).await;
    assert_eq!(renewed.response.status, 200);
}

#[tokio::test]
async fn quota_bandwidth_counts_response_bytes_and_a_lifetime_quota_never_renews() {
    let policy = doc(r#"<quota bandwidth="1" renewal-period="0" />"#);
    let (plan, services, h) = setup(&service(Some(&policy), None, true));
    h.http.always(
        MockMatch::host("backend.example.com"),
        MockReply::status(200).body("x".repeat(1500)),
    );
    let first = call(&plan, &services, &h, request("GET", Some("key-1"), None)).await;
    assert_eq!(first.response.status, 200);
    h.clock.advance(Duration::from_secs(365 * 86400));
    let second = call(&plan, &services, &h, request("GET", Some("key-1"), None)).await;
    assert_eq!(second.response.status, 403);
    assert_eq!(
        body(&second),
        r#"{ "statusCode": 403, "message": "Out of bandwidth quota." }"#
    );
    assert_eq!(header(&second, "Retry-After"), None);
}

#[tokio::test]
async fn quota_by_key_aligns_to_first_period_start_and_counts_a_key_once_per_request() {
    let api = doc(
        r#"<quota-by-key calls="2" renewal-period="3600" counter-key="@(context.Request.Headers.GetValueOrDefault("x-client", ""))"
        first-period-start="2024-01-01T00:30:00Z" />"#,
    );
    let mut s = service(None, Some(&api), false);
    // The same key at operation scope: one request increments it once.
    s.apis[0].operations[0].policy = Some(PolicySource::inline(
        "operation:get-items",
        doc(
            r#"<quota-by-key calls="2" renewal-period="3600" counter-key="@(context.Request.Headers.GetValueOrDefault("x-client", ""))" first-period-start="2024-01-01T00:30:00Z" />"#,
        ),
    ));
    let (plan, services, h) = setup(&s);
    ok_backend(&h);
    let go = || request("GET", None, Some("c"));
    assert_eq!(call(&plan, &services, &h, go()).await.response.status, 200);
    assert_eq!(call(&plan, &services, &h, go()).await.response.status, 200);
    let over = call(&plan, &services, &h, go()).await;
    assert_eq!(over.response.status, 403);
    // Windows start at :30 every hour: the clock (00:00) is 30 minutes before the next one.
    assert!(
        body(&over).contains("Quota will be replenished in 00:30:00."),
        "{}",
        body(&over)
    );
    assert_eq!(header(&over, "Retry-After"), Some("1800"));
    assert_eq!(
        header(&over, "x-error").map(|e| e.starts_with("quota-by-key|QuotaExceeded|")),
        Some(true)
    );
    h.clock.advance(Duration::from_secs(1800));
    assert_eq!(call(&plan, &services, &h, go()).await.response.status, 200);
}

#[tokio::test]
async fn quota_by_key_increment_condition_counts_successful_responses_only() {
    let policy = doc(
        r#"<quota-by-key calls="1" renewal-period="300" counter-key="k"
        increment-condition="@(context.Response.StatusCode >= 200 &amp;&amp; context.Response.StatusCode &lt; 400)" />"#,
    );
    let (plan, services, h) = setup(&service(None, Some(&policy), false));
    h.http.sequence(
        MockMatch::host("backend.example.com"),
        vec![MockReply::status(503), MockReply::status(201)],
    );
    let statuses = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(
                call(&plan, &services, &h, request("GET", None, None))
                    .await
                    .response
                    .status,
            );
        }
        v
    };
    assert_eq!(statuses, vec![503, 201, 403]);
}

fn diagnostics(s: &ServiceDefinition, services: &Services) -> String {
    match plan::compile(s, services) {
        Ok(_) => String::new(),
        Err(d) => d
            .iter()
            .map(|d| format!("{} {}", d.code, d.message))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[test]
fn limit_attributes_are_checked_when_compiling() {
    let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 1);
    let api = |inbound: &str| diagnostics(&service(None, Some(&doc(inbound)), false), &services);
    let product = |inbound: &str| diagnostics(&service(Some(&doc(inbound)), None, true), &services);
    assert_eq!(
        api(r#"<rate-limit-by-key calls="5" renewal-period="300" counter-key="k" />"#),
        ""
    );
    assert!(
        api(r#"<rate-limit-by-key calls="5" renewal-period="301" counter-key="k" />"#)
            .contains("PLAN0008 rate-limit-by-key renewal-period must be between 1 and 300")
    );
    assert!(
        product(r#"<rate-limit calls="many" renewal-period="10" />"#)
            .contains("PLAN0008 rate-limit calls 'many' is not a whole number")
    );
    assert!(
        api(r#"<quota-by-key calls="5" renewal-period="60" counter-key="k" />"#).contains(
            "PLAN0008 quota-by-key renewal-period must be 0 (never renews) or at least 300"
        )
    );
    assert!(
        api(r#"<quota-by-key calls="5" renewal-period="0" counter-key="k" first-period-start="yesterday" />"#)
            .contains("first-period-start 'yesterday'")
    );
    assert_eq!(
        product(r#"<quota calls="5" renewal-period="3600"><api id="echo" calls="1" /></quota>"#),
        ""
    );
}

/// caching-type: external needs an external cache (a compile diagnostic otherwise);
/// prefer-external (the default) uses it when there is one, internal never does.
#[tokio::test]
async fn cache_value_policies_use_the_cache_their_caching_type_names() {
    let policy = doc(
        r#"<cache-store-value key="ext" value="@("e")" duration="60" caching-type="external" />
    <cache-store-value key="pref" value="@("p")" duration="60" />
    <cache-store-value key="int" value="@("i")" duration="60" caching-type="internal" />
    <cache-lookup-value key="ext" variable-name="got" caching-type="external" />
    <cache-remove-value key="pref" caching-type="prefer-external" />
    <return-response><set-status code="204" reason="No Content" /></return-response>"#,
    );
    let s = service(None, Some(&policy), false);
    let (services, h) = Services::for_tests(VirtualClock::at_default_start(), 1);
    assert!(
        diagnostics(&s, &services).contains(
            "PLAN0012 cache-store-value: caching-type is 'external' but no external cache is configured"
        ),
        "{}",
        diagnostics(&s, &services)
    );
    let mut services = services;
    let external = MemoryCacheStore::new(services.clock.clone());
    services.external_cache = Some(Arc::new(external.clone()));
    let plan = compile(&s, &services);
    let o = call(&plan, &services, &h, request("GET", None, None)).await;
    assert_eq!(o.response.status, 204, "{}", body(&o));
    assert_eq!(var(&o, "got").as_deref(), Some("e"));
    let present = |c: &dyn CacheStore, k: &str| {
        futures_util::FutureExt::now_or_never(c.get(k))
            .unwrap()
            .unwrap()
            .is_some()
    };
    assert!(present(&external, "ext"));
    assert!(
        !present(&external, "pref"),
        "removed from the external cache"
    );
    assert!(!present(&external, "int"));
    assert!(present(services.cache.as_ref(), "int"));
    assert!(!present(services.cache.as_ref(), "ext"));
}

/// 8 concurrent workers × 1,000 requests through the plan with `rate-limit-by-key calls="100"
/// renewal-period="60"` over 4 keys, all within one window: exactly 100 admitted per key.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limit_by_key_admits_exactly_100_per_key_under_8_concurrent_workers() {
    let policy = doc(r#"<rate-limit-by-key calls="100" renewal-period="60"
        counter-key="@(context.Request.Headers.GetValueOrDefault("x-client", ""))" />"#);
    let s = service(None, Some(&policy), false);
    let (services, h) = Services::for_tests(VirtualClock::at_default_start(), 1);
    ok_backend(&h);
    let plan = compile(&s, &services);
    let admitted = hammer(vec![(plan, services)]).await;
    assert_eq!(admitted, vec![100; 4]);
}

/// Runs 8 workers × 1,000 requests (keys `client-0..3` in turn) over the given engines (worker
/// `w` uses engine `w % n`); returns the 200s per key. Every other answer must be the 429.
async fn hammer(engines: Vec<(Plan, Services)>) -> Vec<u64> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let admitted: Arc<Vec<AtomicU64>> = Arc::new((0..4).map(|_| AtomicU64::new(0)).collect());
    let engines = Arc::new(engines);
    let mut tasks = Vec::new();
    for w in 0..8usize {
        let (engines, admitted) = (engines.clone(), admitted.clone());
        tasks.push(tokio::spawn(async move {
            let (plan, services) = &engines[w % engines.len()];
            for i in 0..1000usize {
                let k = (i + w) % 4;
                let key = format!("client-{k}");
                let o = plan::run(plan, request("GET", None, Some(&key)), services).await;
                match o.response.status {
                    200 => {
                        admitted[k].fetch_add(1, Ordering::SeqCst);
                    }
                    429 => assert!(body(&o).starts_with(
                        r#"{ "statusCode": 429, "message": "Rate limit is exceeded. Try again in "#
                    )),
                    s => panic!("unexpected {s}: {}", body(&o)),
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    admitted.iter().map(|a| a.load(Ordering::SeqCst)).collect()
}

/// Services of one engine instance with counters and the external cache on `url`.
fn redis_engine(clock: &VirtualClock, seed: u64, url: &str) -> (Services, TestHandles) {
    let (services, h) = Services::for_tests(clock.clone(), seed);
    let services = services
        .with_redis(url, RedisOptions::default())
        .expect("redis client");
    (services, h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limit_by_key_admits_exactly_100_per_key_across_two_engines_sharing_redis() {
    let Some(server) = support::start_redis("plan rate_limit_by_key across two engines") else {
        return;
    };
    let policy = doc(r#"<rate-limit-by-key calls="100" renewal-period="60"
        counter-key="@(context.Request.Headers.GetValueOrDefault("x-client", ""))" />"#);
    let s = service(None, Some(&policy), false);
    let clock = VirtualClock::at_default_start();
    let engines = (0..2)
        .map(|i| {
            let (services, h) = redis_engine(&clock, i, &server.url);
            ok_backend(&h);
            (compile(&s, &services), services)
        })
        .collect();
    assert_eq!(hammer(engines).await, vec![100; 4]);
}

/// The token-limit guide's transcript (tests/plan_token_limit.rs) with calls alternating
/// between two engine instances that share one Redis.
#[tokio::test]
async fn token_limit_guide_transcript_with_two_engines_sharing_redis() {
    let Some(server) = support::start_redis("plan token_limit transcript across two engines")
    else {
        return;
    };
    let policy = r#"<policies>
  <inbound>
    <base />
    <azure-openai-token-limit counter-key="@(context.Subscription?.Id ?? "anonymous")"
        tokens-per-minute="100" estimate-prompt-tokens="false"
        remaining-tokens-header-name="x-remaining-tokens" tokens-consumed-header-name="x-consumed-tokens" />
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"#;
    let s = service(None, Some(policy), false);
    let clock = VirtualClock::at_default_start();
    let completion = |total: u64, ms: u64| {
        MockReply::json(
            200,
            &format!(
                r#"{{"object":"chat.completion","choices":[],"usage":{{"prompt_tokens":{},"completion_tokens":10,"total_tokens":{total}}}}}"#,
                total - 10
            ),
        )
        .latency(Duration::from_millis(ms))
    };
    let (a, ha) = redis_engine(&clock, 1, &server.url);
    let (b, hb) = redis_engine(&clock, 2, &server.url);
    // Calls 1, 3, 5 go to engine A and 2, 4 to B; 3 and 4 are refused before the backend.
    ha.http.sequence(
        MockMatch::host("backend.example.com"),
        vec![completion(59, 2000), completion(55, 1000)],
    );
    hb.http.sequence(
        MockMatch::host("backend.example.com"),
        vec![completion(55, 1000)],
    );
    let (pa, pb) = (compile(&s, &a), compile(&s, &b));
    let mut runs = Vec::new();
    for i in 0..5 {
        let (plan, services) = if i % 2 == 0 { (&pa, &a) } else { (&pb, &b) };
        let mut req = request("POST", None, None);
        req.body =
            apim_engine::http::Body::from_bytes(r#"{"messages":[{"role":"user","content":"hi"}]}"#);
        let o = clock.run(plan::run(plan, req, services)).await;
        runs.push(match o.response.status {
            200 => format!(
                "200 consumed {} remaining {}",
                header(&o, "x-consumed-tokens").unwrap_or("-"),
                header(&o, "x-remaining-tokens").unwrap_or("-")
            ),
            429 => {
                let j: serde_json::Value = serde_json::from_str(&body(&o)).unwrap();
                format!(
                    "429 {} Retry-After {}",
                    j["message"].as_str().unwrap_or(""),
                    header(&o, "Retry-After").unwrap_or("-")
                )
            }
            other => panic!("unexpected {other}: {}", body(&o)),
        });
        clock.advance(Duration::from_secs(15));
    }
    assert_eq!(
        runs,
        vec![
            "200 consumed 59 remaining 41",
            "200 consumed 55 remaining 0",
            "429 Token limit is exceeded. Try again in 29 seconds. Retry-After 29",
            "429 Token limit is exceeded. Try again in 14 seconds. Retry-After 14",
            "200 consumed 55 remaining 0",
        ]
    );
    assert_eq!((ha.http.call_count(), hb.http.call_count()), (2, 1));
}

/// quota-by-key and cache values written by one engine are seen by the other.
#[tokio::test]
async fn quotas_and_external_cache_values_are_shared_through_redis() {
    let Some(server) = support::start_redis("plan quotas and cache values through redis") else {
        return;
    };
    let policy = doc(
        r#"<quota-by-key calls="2" renewal-period="300" counter-key="shared" />
    <cache-lookup-value key="greeting" variable-name="seen" caching-type="external" />
    <cache-store-value key="greeting" value="@(new JArray("hello", 1))" duration="60" caching-type="external" />
    <return-response><set-status code="204" reason="No Content" /></return-response>"#,
    );
    let s = service(None, Some(&policy), false);
    let clock = VirtualClock::at_default_start();
    let (a, ha) = redis_engine(&clock, 1, &server.url);
    let (b, hb) = redis_engine(&clock, 2, &server.url);
    let (pa, pb) = (compile(&s, &a), compile(&s, &b));
    let first = call(&pa, &a, &ha, request("GET", None, None)).await;
    assert_eq!(first.response.status, 204, "{}", body(&first));
    assert_eq!(var(&first, "seen"), None);
    let second = call(&pb, &b, &hb, request("GET", None, None)).await;
    assert_eq!(second.response.status, 204);
    let seen = var(&second, "seen").unwrap_or_default();
    assert!(seen.contains("hello"), "a JArray from engine A: {seen}");
    let third = call(&pa, &a, &ha, request("GET", None, None)).await;
    assert_eq!(
        third.response.status, 403,
        "the quota counted both engines' calls"
    );
}

/// Nothing listens on the external cache's port: rate limits count on this gateway, quotas let
/// calls through, cache-lookup-value misses (default-value) and cache-store-value is skipped;
/// no request fails because of the cache.
#[tokio::test]
async fn an_unreachable_external_cache_keeps_limits_per_gateway_and_quotas_open() {
    let policy = doc(
        r#"<rate-limit-by-key calls="2" renewal-period="60" counter-key="k" />
    <quota-by-key calls="1" renewal-period="300" counter-key="q" />
    <cache-lookup-value key="v" variable-name="seen" default-value="miss" />
    <cache-store-value key="v" value="hit" duration="60" />
    <return-response><set-status code="204" reason="No Content" /></return-response>"#,
    );
    let s = service(None, Some(&policy), false);
    let clock = VirtualClock::at_default_start();
    let url = format!("redis://127.0.0.1:{}/", support::free_port());
    let (services, h) = redis_engine(&clock, 1, &url);
    let plan = compile(&s, &services);
    let mut got = Vec::new();
    for _ in 0..3 {
        let o = call(&plan, &services, &h, request("GET", None, None)).await;
        got.push((o.response.status, var(&o, "seen").unwrap_or_default()));
    }
    // The second call passes the used-up quota (fail open).
    assert_eq!(
        got,
        vec![
            (204, "miss".into()),
            (204, "miss".into()),
            // The third is refused by the rate limit before the lookup.
            (429, String::new())
        ]
    );
}

/// cache-lookup / cache-store with caching-type external: a response stored by one engine is
/// served by another engine with the same external cache (and its own internal one).
#[tokio::test]
async fn response_cache_with_caching_type_external_is_shared_by_engines() {
    let policy = r#"<policies>
  <inbound>
    <cache-lookup vary-by-developer="false" vary-by-developer-groups="false" caching-type="external" />
  </inbound>
  <backend><forward-request /></backend>
  <outbound><cache-store duration="60" /></outbound>
  <on-error />
</policies>"#;
    let s = service(None, Some(policy), false);
    let clock = VirtualClock::at_default_start();
    let (mut a, ha) = Services::for_tests(clock.clone(), 1);
    let (mut b, hb) = Services::for_tests(clock.clone(), 2);
    assert!(diagnostics(&s, &a).contains("PLAN0012 cache-lookup: caching-type is 'external'"));
    let external: Arc<dyn CacheStore> = Arc::new(MemoryCacheStore::new(a.clock.clone()));
    a.external_cache = Some(external.clone());
    b.external_cache = Some(external);
    for h in [&ha, &hb] {
        h.http.always(
            MockMatch::host("backend.example.com"),
            MockReply::json(200, r#"{"n":1}"#),
        );
    }
    let (pa, pb) = (compile(&s, &a), compile(&s, &b));
    let first = call(&pa, &a, &ha, request("GET", None, None)).await;
    let second = call(&pb, &b, &hb, request("GET", None, None)).await;
    assert_eq!((first.response.status, second.response.status), (200, 200));
    assert_eq!(body(&second), r#"{"n":1}"#);
    assert_eq!((ha.http.call_count(), hb.http.call_count()), (1, 0));
}
