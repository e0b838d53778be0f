//! The Plan end to end: compile a service's policies, run requests on the virtual clock against
//! mocked backends.

use std::time::Duration;

use apim_engine::http::{Body, Request, Url};
use apim_engine::plan::{self, Outcome, Plan};
use apim_engine::service::{
    Api, Backend, NamedValue, Operation, PolicyFragment, PolicySource, ServiceDefinition,
    Subscription,
};
use apim_engine::services::{MockMatch, MockReply, Services, TestHandles, VirtualClock};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

fn service(api_policy: Option<&str>) -> ServiceDefinition {
    ServiceDefinition {
        service_name: "contoso".into(),
        apis: vec![Api {
            id: "aoai".into(),
            name: "aoai".into(),
            path: "openai".into(),
            service_url: Some("https://default.example.com/openai".into()),
            subscription_required: false,
            policy: api_policy.map(|p| PolicySource::inline("api:aoai", p)),
            operations: vec![Operation {
                id: "chat".into(),
                name: "chat".into(),
                method: "POST".into(),
                url_template: "/deployments/{deployment-id}/chat/completions".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn chat_request() -> Request {
    let mut r = Request::new(
        "POST",
        Url::parse("https://gw.example.com/openai/deployments/gpt4/chat/completions").unwrap(),
    );
    r.body = Body::from_bytes(r#"{"messages":[]}"#);
    r
}

fn setup(s: &ServiceDefinition) -> (Plan, Services, TestHandles) {
    let (services, handles) = Services::for_tests(VirtualClock::at_default_start(), 7);
    let plan = match plan::compile(s, &services) {
        Ok(p) => p,
        Err(d) => panic!(
            "compile failed:\n{}",
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    (plan, services, handles)
}

async fn go(plan: &Plan, services: &Services, h: &TestHandles, req: Request) -> Outcome {
    h.clock.run(plan::run(plan, req, services)).await
}

fn body_text(o: &Outcome) -> String {
    String::from_utf8_lossy(o.response.body.peek().map(|b| b.as_ref()).unwrap_or(b"")).into_owned()
}

fn backend(id: &str, url: &str) -> Backend {
    Backend {
        id: id.into(),
        url: Some(url.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn aoai_round_robin_seed_alternates_strictly_between_two_backends() {
    let path =
        format!("{CORPUS}/seed/aoai-apim/apim_aoai_setup_poc-round-robin-backend-counter.xml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skipping: corpus file {path} is absent");
        return;
    };
    let mut s = service(Some(&text));
    s.backends = vec![
        backend(
            "<first_backend_policy_here>",
            "https://one.example.com/openai",
        ),
        backend(
            "<second_backend_policy_here>",
            "https://two.example.com/openai",
        ),
    ];
    let (plan, services, h) = setup(&s);
    h.http.always(
        MockMatch::host("one.example.com"),
        MockReply::json(200, "{}"),
    );
    h.http.always(
        MockMatch::host("two.example.com"),
        MockReply::json(200, "{}"),
    );
    for _ in 0..6 {
        let o = go(&plan, &services, &h, chat_request()).await;
        assert_eq!(o.response.status, 200, "{}", body_text(&o));
    }
    let hosts: Vec<String> = h
        .http
        .calls()
        .iter()
        .map(|c| c.url.host().to_string())
        .collect();
    assert_eq!(
        hosts,
        [
            "one.example.com",
            "two.example.com",
            "one.example.com",
            "two.example.com",
            "one.example.com",
            "two.example.com"
        ]
    );
    let first = &h.http.calls()[0];
    assert_eq!(
        first.url.path(),
        "/openai/deployments/gpt4/chat/completions"
    );
    assert_eq!(
        first.url.query().get_joined("api-version").as_deref(),
        Some("2023-03-15-preview")
    );
    assert_eq!(
        first.headers.first("Content-Type"),
        Some("application/json")
    );
}

const RETRY_429: &str = r#"<policies>
  <inbound>
    <base />
    <set-backend-service backend-id="primary" />
  </inbound>
  <backend>
    <retry condition="@(context.Response.StatusCode == 429)" count="2" interval="2" delta="3" first-fast-retry="false">
      <choose>
        <when condition="@(context.Response.StatusCode == 429)">
          <set-backend-service backend-id="secondary" />
        </when>
      </choose>
      <forward-request buffer-request-body="true" />
    </retry>
  </backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"#;

#[tokio::test]
async fn retry_on_429_switches_backend_and_waits_interval_then_interval_plus_delta() {
    let mut s = service(Some(RETRY_429));
    s.backends = vec![
        backend("primary", "https://primary.example.com/openai"),
        backend("secondary", "https://secondary.example.com/openai"),
    ];
    let (plan, services, h) = setup(&s);
    h.http.always(
        MockMatch::host("primary.example.com"),
        MockReply::status(429),
    );
    h.http.sequence(
        MockMatch::host("secondary.example.com"),
        vec![
            MockReply::status(429),
            MockReply::json(200, r#"{"ok":true}"#),
        ],
    );
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.status, 200);
    assert_eq!(body_text(&o), r#"{"ok":true}"#);
    let calls = h.http.calls();
    let hosts: Vec<&str> = calls.iter().map(|c| c.url.host()).collect();
    assert_eq!(
        hosts,
        [
            "primary.example.com",
            "secondary.example.com",
            "secondary.example.com"
        ]
    );
    // linear backoff: interval, then interval + delta
    assert_eq!((calls[1].at - calls[0].at).num_seconds(), 2);
    assert_eq!((calls[2].at - calls[1].at).num_seconds(), 5);
    // the buffered body is re-sent on every attempt
    assert!(
        calls
            .iter()
            .all(|c| c.body.as_ref() == br#"{"messages":[]}"#)
    );
}

#[tokio::test]
async fn retry_stops_after_count_and_returns_the_last_response() {
    let mut s = service(Some(RETRY_429));
    s.backends = vec![
        backend("primary", "https://primary.example.com/openai"),
        backend("secondary", "https://secondary.example.com/openai"),
    ];
    let (plan, services, h) = setup(&s);
    h.http.always(
        MockMatch::host("primary.example.com"),
        MockReply::status(429),
    );
    h.http.always(
        MockMatch::host("secondary.example.com"),
        MockReply::status(429),
    );
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.status, 429);
    assert_eq!(h.http.call_count(), 3);
}

#[tokio::test]
async fn throwing_expression_gives_500_with_apim_body_and_last_error_in_on_error() {
    let policy = r#"<policies>
  <inbound>
    <base />
    <set-header name="X-Id" exists-action="override" id="boom">
      <value>@(((string)null).Length.ToString())</value>
    </set-header>
    <set-variable name="never" value="x" />
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error>
    <set-header name="X-Error-Source" exists-action="override"><value>@(context.LastError.Source)</value></set-header>
    <set-header name="X-Error-Reason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header>
    <set-header name="X-Error-Scope" exists-action="override"><value>@(context.LastError.Scope + "/" + context.LastError.Section + "/" + context.LastError.PolicyId)</value></set-header>
  </on-error>
</policies>"#;
    let (plan, services, h) = setup(&service(Some(policy)));
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.status, 500);
    let body: serde_json::Value = serde_json::from_str(&body_text(&o)).unwrap();
    assert_eq!(body["statusCode"], 500);
    assert_eq!(body["message"], "Internal server error");
    assert_eq!(body["activityId"], o.request_id.as_str());
    let hd = &o.response.headers;
    assert_eq!(hd.first("X-Error-Source"), Some("set-header"));
    assert_eq!(
        hd.first("X-Error-Reason"),
        Some("ExpressionValueEvaluationFailure")
    );
    assert_eq!(hd.first("X-Error-Scope"), Some("api/inbound/boom"));
    assert!(o.variables.iter().all(|(n, _)| n != "never"));
    assert_eq!(h.http.call_count(), 0);
}

#[tokio::test]
async fn missing_subscription_key_gives_apims_401_body() {
    let mut s = service(None);
    s.apis[0].subscription_required = true;
    s.subscriptions = vec![Subscription {
        id: "sub".into(),
        primary_key: "secret-key".into(),
        ..Default::default()
    }];
    let (plan, services, h) = setup(&s);
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.status, 401);
    let body: serde_json::Value = serde_json::from_str(&body_text(&o)).unwrap();
    assert_eq!(
        body["message"],
        "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."
    );
    assert_eq!(
        o.summary.error.as_ref().unwrap().reason,
        "SubscriptionKeyNotFound"
    );
    // with the key, the default global forward-request calls the API's service URL
    h.http.always(
        MockMatch::host("default.example.com"),
        MockReply::json(200, "{}"),
    );
    let mut req = chat_request();
    req.headers
        .set_one("Ocp-Apim-Subscription-Key", "secret-key")
        .unwrap();
    let o = go(&plan, &services, &h, req).await;
    assert_eq!(o.response.status, 200);
    assert_eq!(h.http.calls_to("default.example.com").len(), 1);
}

#[tokio::test]
async fn unmatched_operation_gives_404_resource_not_found() {
    let (plan, services, h) = setup(&service(None));
    let req = Request::new(
        "GET",
        Url::parse("https://gw.example.com/nothing/here").unwrap(),
    );
    let o = go(&plan, &services, &h, req).await;
    assert_eq!(o.response.status, 404);
    let body: serde_json::Value = serde_json::from_str(&body_text(&o)).unwrap();
    assert_eq!(body["message"], "Resource not found");
}

#[tokio::test]
async fn no_forward_request_means_empty_200_and_return_response_short_circuits() {
    let policy = r#"<policies>
  <inbound>
    <choose>
      <when condition="@(context.Request.Headers.GetValueOrDefault("X-Mode", "") == "teapot")">
        <return-response>
          <set-status code="418" reason="I'm a teapot" />
          <set-header name="X-Why" exists-action="override"><value>short</value></set-header>
          <set-body>@("tea for " + context.Request.MatchedParameters["deployment-id"])</set-body>
        </return-response>
      </when>
    </choose>
    <set-variable name="count" value="@(1 + 2)" />
    <set-variable name="text" value="3" />
  </inbound>
  <backend />
  <outbound>
    <set-header name="X-Out" exists-action="override"><value>@(context.Variables.GetValueOrDefault<int>("count").ToString())</value></set-header>
  </outbound>
  <on-error />
</policies>"#;
    let (plan, services, h) = setup(&service(Some(policy)));
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.status, 200);
    assert!(!o.response.body.is_present());
    assert_eq!(o.response.headers.first("X-Out"), Some("3"));
    assert_eq!(h.http.call_count(), 0);
    let mut req = chat_request();
    req.headers.set_one("X-Mode", "teapot").unwrap();
    let o = go(&plan, &services, &h, req).await;
    assert_eq!(
        (o.response.status, o.response.reason.as_str()),
        (418, "I'm a teapot")
    );
    assert_eq!(o.response.headers.first("X-Why"), Some("short"));
    assert_eq!(o.response.headers.first("X-Out"), None);
    assert_eq!(body_text(&o), "tea for gpt4");
}

#[tokio::test]
async fn set_variable_keeps_literals_as_strings_and_expression_values_typed() {
    let policy = r#"<policies>
  <inbound>
    <set-variable name="n" value="@(40 + 2)" />
    <set-variable name="s" value="42" />
    <set-variable name="isInt" value="@(context.Variables["n"] is int)" />
    <set-variable name="isString" value="@(context.Variables["s"] is string)" />
  </inbound>
  <backend />
</policies>"#;
    let (plan, services, h) = setup(&service(Some(policy)));
    let o = go(&plan, &services, &h, chat_request()).await;
    let get = |n: &str| {
        o.variables
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("isInt").as_deref(), Some("True"));
    assert_eq!(get("isString").as_deref(), Some("True"));
}

#[tokio::test]
async fn scopes_compose_through_base_named_values_and_fragments() {
    let global = r#"<policies>
  <inbound><set-header name="X-Order" exists-action="append"><value>global</value></set-header></inbound>
  <backend><forward-request /></backend>
  <outbound />
  <on-error />
</policies>"#;
    let api = r#"<policies>
  <inbound>
    <set-header name="X-Order" exists-action="append"><value>api-before</value></set-header>
    <base />
    <include-fragment fragment-id="tag" />
    <set-header name="X-Secret" exists-action="override"><value>{{backend-key}}</value></set-header>
    <set-header name="X-Expr" exists-action="override"><value>@("{{greeting}}".ToUpper())</value></set-header>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"#;
    let mut s = service(Some(api));
    s.global_policy = Some(PolicySource::inline("global", global));
    s.named_values = vec![
        NamedValue {
            name: "backend-key".into(),
            value: "s3cr3t".into(),
            secret: true,
        },
        NamedValue {
            name: "greeting".into(),
            value: "hello".into(),
            secret: false,
        },
    ];
    s.policy_fragments = vec![PolicyFragment {
        id: "tag".into(),
        source: PolicySource::inline(
            "fragment:tag",
            r#"<fragment><set-header name="X-Order" exists-action="append"><value>fragment</value></set-header></fragment>"#,
        ),
    }];
    let (plan, services, h) = setup(&s);
    h.http.always(
        MockMatch::host("default.example.com"),
        MockReply::json(200, "{}"),
    );
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.status, 200);
    let call = &h.http.calls()[0];
    assert_eq!(
        call.headers.get("X-Order").unwrap(),
        ["api-before", "global", "fragment"]
    );
    assert_eq!(call.headers.first("X-Secret"), Some("s3cr3t"));
    assert_eq!(call.headers.first("X-Expr"), Some("HELLO"));
}

#[tokio::test]
async fn unsupported_policies_and_bad_expressions_are_compile_diagnostics() {
    let policy = r#"<policies>
  <inbound>
    <base />
    <validate-parameters specified-parameter-action="prevent" unspecified-parameter-action="prevent" />
    <set-variable name="x" value="@(context.Nope)" />
  </inbound>
  <backend><base /></backend>
</policies>"#;
    let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 1);
    let diags = plan::compile(&service(Some(policy)), &services).unwrap_err();
    let text: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    assert!(
        text.iter()
            .any(|d| d.contains("api:aoai:4:")
                && d.contains("'validate-parameters' is not supported")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|d| d.starts_with("api:aoai:5:")),
        "{text:?}"
    );
}

#[tokio::test]
async fn backend_failure_goes_to_on_error_and_rewrite_uri_and_basic_auth_apply() {
    let policy = r#"<policies>
  <inbound>
    <rewrite-uri template="/v2/{deployment-id}/chat" />
    <authentication-basic username="user" password="pass" />
    <set-method>PUT</set-method>
  </inbound>
  <backend><forward-request timeout="5" /></backend>
  <outbound />
  <on-error>
    <set-header name="X-Reason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header>
  </on-error>
</policies>"#;
    let (plan, services, h) = setup(&service(Some(policy)));
    h.http.always(
        MockMatch::host("default.example.com"),
        MockReply::status(200).latency(Duration::from_secs(30)),
    );
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.status, 500);
    assert_eq!(o.response.headers.first("X-Reason"), Some("Timeout"));
    let call = &h.http.calls()[0];
    assert_eq!(call.method, "PUT");
    assert_eq!(call.url.path(), "/openai/v2/gpt4/chat");
    assert_eq!(
        call.headers.first("Authorization"),
        Some("Basic dXNlcjpwYXNz")
    );
}

fn seed(rel: &str) -> Option<String> {
    let path = format!("{CORPUS}/seed/{rel}");
    match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(_) => {
            println!("skipping: corpus file {path} is absent");
            None
        }
    }
}

#[tokio::test]
async fn latency_routing_seed_prefers_the_lowest_latency_backend_and_falls_back_on_429() {
    let toolkit = "apim-genai-gateway-toolkit";
    let (Some(set_latency), Some(policy), Some(inbound), Some(backend_frag)) = (
        seed(&format!(
            "{toolkit}/latency-routing__set-latency-policy.xml"
        )),
        seed(&format!(
            "{toolkit}/latency-routing__latency-routing-policy.xml"
        )),
        seed(&format!(
            "{toolkit}/latency-routing__latency-routing-inbound.xml"
        )),
        seed(&format!(
            "{toolkit}/latency-routing__latency-routing-backend.xml"
        )),
    ) else {
        return;
    };
    let mut s = service(None);
    s.apis[0].operations[0].policy = Some(PolicySource::inline("latency-routing", policy));
    s.apis[0].operations.push(Operation {
        id: "set-latency".into(),
        name: "set-latency".into(),
        method: "POST".into(),
        url_template: "/helpers/set-latency".into(),
        policy: Some(PolicySource::inline("set-latency", set_latency)),
        ..Default::default()
    });
    s.policy_fragments = vec![
        PolicyFragment {
            id: "latency-routing-inbound".into(),
            source: PolicySource::inline("latency-routing-inbound", inbound),
        },
        PolicyFragment {
            id: "latency-routing-backend".into(),
            source: PolicySource::inline("latency-routing-backend", backend_frag),
        },
    ];
    s.backends = vec![
        backend("payg-backend-1", "https://payg.example.com/openai"),
        backend("ptu-east", "https://east.example.com/openai"),
        backend("ptu-west", "https://west.example.com/openai"),
    ];
    let (plan, services, h) = setup(&s);
    h.http.always(
        MockMatch::host("payg.example.com"),
        MockReply::json(200, "{}"),
    );
    h.http.always(
        MockMatch::host("west.example.com"),
        MockReply::json(200, "{}"),
    );
    h.http.sequence(
        MockMatch::host("east.example.com"),
        vec![MockReply::json(200, "{}"), MockReply::status(429)],
    );
    h.http.always(
        MockMatch::host("east.example.com"),
        MockReply::json(200, "{}"),
    );

    // before any latency is measured: the default PAYG backend
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(
        o.response.headers.first("x-apim-backend"),
        Some("payg-backend-1")
    );

    // the helper stores the backends ordered by latency
    let mut req = Request::new(
        "POST",
        Url::parse("https://gw.example.com/openai/helpers/set-latency").unwrap(),
    );
    req.body = Body::from_bytes(r#"{"preferredBackends":["ptu-east","ptu-west"]}"#);
    let o = go(&plan, &services, &h, req).await;
    assert_eq!(o.response.status, 200);
    assert_eq!(
        body_text(&o),
        r#"{"message": "preferred backends are set successfully"}"#
    );

    // the fastest backend is used
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.headers.first("x-apim-backend"), Some("ptu-east"));

    // a 429 from it moves the call to the next one after the retry interval
    h.http.clear_calls();
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.status, 200);
    assert_eq!(o.response.headers.first("x-apim-backend"), Some("ptu-west"));
    let calls = h.http.calls();
    let hosts: Vec<&str> = calls.iter().map(|c| c.url.host()).collect();
    assert_eq!(hosts, ["east.example.com", "west.example.com"]);
    assert_eq!((calls[1].at - calls[0].at).num_seconds(), 1);
}

#[tokio::test]
async fn manage_spikes_with_payg_seed_spills_over_to_payg_on_429() {
    let toolkit = "apim-genai-gateway-toolkit";
    let (Some(policy), Some(fragment)) = (
        seed(&format!(
            "{toolkit}/manage-spikes-with-payg__retry-with-payg-policy.xml"
        )),
        seed(&format!(
            "{toolkit}/manage-spikes-with-payg__retry-with-payg.xml"
        )),
    ) else {
        return;
    };
    let mut s = service(Some(&policy));
    s.policy_fragments = vec![PolicyFragment {
        id: "retry-with-payg".into(),
        source: PolicySource::inline("retry-with-payg", fragment),
    }];
    s.backends = vec![
        backend("ptu-backend-1", "https://ptu.example.com/openai"),
        backend("payg-backend-1", "https://payg.example.com/openai"),
    ];
    let (plan, services, h) = setup(&s);
    h.http.sequence(
        MockMatch::host("ptu.example.com"),
        vec![MockReply::json(200, "{}"), MockReply::status(429)],
    );
    h.http.always(
        MockMatch::host("payg.example.com"),
        MockReply::json(200, "{}"),
    );
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(
        o.response.headers.first("x-apim-backend"),
        Some("ptu-backend-1")
    );
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.status, 200);
    assert_eq!(
        o.response.headers.first("x-apim-backend"),
        Some("payg-backend-1")
    );
    let calls = h.http.calls();
    let hosts: Vec<&str> = calls.iter().map(|c| c.url.host()).collect();
    assert_eq!(
        hosts,
        ["ptu.example.com", "ptu.example.com", "payg.example.com"]
    );
    // first retry of the exponential schedule waits `interval`
    assert_eq!((calls[2].at - calls[1].at).num_seconds(), 1);
}

#[tokio::test]
async fn weighted_round_robin_seed_follows_the_weights_within_5_percent() {
    let Some(fragment) =
        seed("apim-genai-gateway-toolkit/load-balancing__weighted-round-robin.xml")
    else {
        return;
    };
    let policy = r#"<policies>
  <inbound><base /><include-fragment fragment-id="weighted-round-robin" /></inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"#;
    let mut s = service(Some(policy));
    s.policy_fragments = vec![PolicyFragment {
        id: "weighted-round-robin".into(),
        source: PolicySource::inline("weighted-round-robin", fragment),
    }];
    s.backends = vec![
        backend("payg-backend-1", "https://one.example.com/openai"),
        backend("payg-backend-2", "https://two.example.com/openai"),
    ];
    let (plan, services, h) = setup(&s);
    h.http
        .always(MockMatch::host("one.example.com"), MockReply::status(200));
    h.http
        .always(MockMatch::host("two.example.com"), MockReply::status(200));
    let n = 10_000;
    for _ in 0..n {
        let o = go(&plan, &services, &h, chat_request()).await;
        assert_eq!(o.response.status, 200);
    }
    let one = h.http.calls_to("one.example.com").len() as f64 / n as f64;
    let two = h.http.calls_to("two.example.com").len() as f64 / n as f64;
    assert!((one - 2.0 / 3.0).abs() < 0.05 * 2.0 / 3.0, "one: {one}");
    assert!((two - 1.0 / 3.0).abs() < 0.05 * 1.0 / 3.0, "two: {two}");
}

#[tokio::test]
async fn backend_pool_seed_falls_back_to_lower_priority_only_while_the_breaker_is_open() {
    let Some(policy) = seed("ai-gateway-current/backend-pool-load-balancing.xml") else {
        return;
    };
    use apim_engine::service::{
        BackendPool, BackendType, CircuitBreaker, CircuitBreakerRule, FailureCondition,
        IsoDuration, PoolMember, StatusCodeRange,
    };
    let mut s = service(Some(&policy));
    let mut ptu = backend("ptu", "https://ptu.example.com/openai");
    ptu.circuit_breaker = Some(CircuitBreaker {
        rules: vec![CircuitBreakerRule {
            name: "throttled".into(),
            failure_condition: FailureCondition {
                count: Some(1),
                interval: IsoDuration(Duration::from_secs(60)),
                status_code_ranges: vec![StatusCodeRange { min: 429, max: 429 }],
                ..Default::default()
            },
            trip_duration: IsoDuration(Duration::from_secs(60)),
            accept_retry_after: false,
        }],
    });
    s.backends = vec![
        ptu,
        backend("payg", "https://payg.example.com/openai"),
        Backend {
            id: "{backend-id}".into(),
            backend_type: BackendType::Pool,
            pool: Some(BackendPool {
                services: vec![
                    PoolMember {
                        id: "ptu".into(),
                        priority: Some(1),
                        weight: None,
                    },
                    PoolMember {
                        id: "payg".into(),
                        priority: Some(2),
                        weight: None,
                    },
                ],
            }),
            ..Default::default()
        },
    ];
    let (plan, services, h) = setup(&s);
    h.http.sequence(
        MockMatch::host("ptu.example.com"),
        vec![
            MockReply::json(200, "{}"),
            MockReply::json(200, "{}"),
            MockReply::status(429),
        ],
    );
    h.http.always(
        MockMatch::host("ptu.example.com"),
        MockReply::json(200, "{}"),
    );
    h.http.always(
        MockMatch::host("payg.example.com"),
        MockReply::json(200, "{}"),
    );
    let mut hosts = Vec::new();
    for _ in 0..4 {
        h.http.clear_calls();
        let o = go(&plan, &services, &h, chat_request()).await;
        assert_eq!(o.response.status, 200);
        hosts.push(
            h.http
                .calls()
                .iter()
                .map(|c| c.url.host().to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    assert_eq!(
        hosts,
        [
            "ptu.example.com",
            "ptu.example.com",
            // 429 trips the breaker: the retry goes to the lower priority
            "ptu.example.com,payg.example.com",
            // still tripped
            "payg.example.com",
        ]
    );
    // after the trip duration the higher priority takes the traffic again
    h.clock.advance(Duration::from_secs(61));
    h.http.clear_calls();
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.status, 200);
    assert_eq!(h.http.calls()[0].url.host(), "ptu.example.com");
}

#[tokio::test]
async fn product_scope_applies_only_in_a_product_context_and_401_runs_the_api_on_error() {
    use apim_engine::service::{Product, SubscriptionScope};
    let product_policy = r#"<policies>
  <inbound>
    <set-header name="X-Scopes" exists-action="append"><value>@("product:" + context.Product.Name)</value></set-header>
    <base />
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"#;
    let api_policy = r#"<policies>
  <inbound>
    <base />
    <set-header name="X-Scopes" exists-action="append"><value>@("api:" + (context.Subscription == null ? "none" : context.Subscription.Id))</value></set-header>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error>
    <base />
    <set-header name="X-Error" exists-action="override"><value>@(context.LastError.Source + ":" + context.LastError.Reason)</value></set-header>
  </on-error>
</policies>"#;
    let mut s = service(Some(api_policy));
    s.apis[0].subscription_required = true;
    s.products = vec![Product {
        id: "gold".into(),
        name: "Gold".into(),
        apis: vec!["aoai".into()],
        policy: Some(PolicySource::inline("product:gold", product_policy)),
        ..Default::default()
    }];
    s.subscriptions = vec![
        Subscription {
            id: "gold-sub".into(),
            primary_key: "gold-key".into(),
            scope: SubscriptionScope::Product("gold".into()),
            ..Default::default()
        },
        Subscription {
            id: "api-sub".into(),
            primary_key: "api-key".into(),
            scope: SubscriptionScope::Api("aoai".into()),
            ..Default::default()
        },
    ];
    let (plan, services, h) = setup(&s);
    h.http.always(
        MockMatch::host("default.example.com"),
        MockReply::json(200, "{}"),
    );
    let mut req = chat_request();
    req.headers
        .set_one("Ocp-Apim-Subscription-Key", "gold-key")
        .unwrap();
    go(&plan, &services, &h, req).await;
    let mut req = chat_request();
    req.headers
        .set_one("Ocp-Apim-Subscription-Key", "api-key")
        .unwrap();
    go(&plan, &services, &h, req).await;
    let calls = h.http.calls();
    assert_eq!(
        calls[0].headers.get("X-Scopes").unwrap(),
        ["product:Gold", "api:gold-sub"]
    );
    assert_eq!(calls[1].headers.get("X-Scopes").unwrap(), ["api:api-sub"]);
    // a wrong key: 401, and the API's on-error sees the built-in error
    let mut req = chat_request();
    req.headers
        .set_one("Ocp-Apim-Subscription-Key", "nope")
        .unwrap();
    let o = go(&plan, &services, &h, req).await;
    assert_eq!(o.response.status, 401);
    assert_eq!(
        o.response.headers.first("X-Error"),
        Some("authorization:SubscriptionKeyInvalid")
    );
}

#[tokio::test]
async fn a_streamed_request_body_is_buffered_when_policies_read_it() {
    let policy = r#"<policies>
  <inbound>
    <set-variable name="model" value="@((string)context.Request.Body.As<JObject>(preserveContent: true)["model"])" />
  </inbound>
  <backend><forward-request /></backend>
</policies>"#;
    let (plan, services, h) = setup(&service(Some(policy)));
    h.http.always(
        MockMatch::host("default.example.com"),
        MockReply::json(200, "{}"),
    );
    let mut req = chat_request();
    req.body = Body::from_chunks(vec![
        Ok(bytes::Bytes::from_static(br#"{"model":"#)),
        Ok(bytes::Bytes::from_static(br#""gpt-4o"}"#)),
    ]);
    let o = go(&plan, &services, &h, req).await;
    assert_eq!(o.response.status, 200);
    assert_eq!(
        o.variables
            .iter()
            .find(|(n, _)| n == "model")
            .map(|(_, v)| v.as_str()),
        Some("gpt-4o")
    );
    assert_eq!(h.http.calls()[0].body.as_ref(), br#"{"model":"gpt-4o"}"#);
}

#[tokio::test]
async fn policies_outside_their_scopes_and_unknown_backends_are_diagnostics() {
    let policy = r#"<policies>
  <inbound>
    <base />
    <quota calls="10" renewal-period="60" />
    <set-backend-service backend-id="nowhere" />
  </inbound>
</policies>"#;
    let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 1);
    let diags = plan::compile(&service(Some(policy)), &services).unwrap_err();
    let text: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    assert!(
        text.iter()
            .any(|d| d.starts_with("api:aoai:4:") && d.contains("not allowed at API scope")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|d| d.starts_with("api:aoai:5:") && d.contains("backend 'nowhere' is not defined")),
        "{text:?}"
    );
}

#[tokio::test]
async fn api_m_retry_seed_rotates_regions_on_429_with_linear_backoff() {
    let Some(policy) = seed("azure-openai-api-m-retry/gpt-4-fullpolicy.xml") else {
        return;
    };
    let regions = [
        "australiaeast",
        "canadaeast",
        "eastus",
        "francecentral",
        "swedencentral",
        "switzerlandnorth",
    ];
    let mut s = service(Some(&policy));
    for r in regions {
        s.named_values.push(NamedValue {
            name: format!("aoai-{r}-endpoint"),
            value: format!("https://{r}.example.com/openai"),
            secret: false,
        });
        s.named_values.push(NamedValue {
            name: format!("aoai-{r}-key"),
            value: format!("key-{r}"),
            secret: true,
        });
    }
    let (plan, services, h) = setup(&s);
    for r in regions {
        h.http.always(
            MockMatch::host(&format!("{r}.example.com")),
            MockReply::status(429),
        );
    }
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.status, 429);
    let calls = h.http.calls();
    // count="12": the first call and 12 retries
    assert_eq!(calls.len(), 13);
    let index = |c: &apim_engine::services::RecordedCall| {
        regions
            .iter()
            .position(|r| c.url.host() == format!("{r}.example.com"))
            .unwrap()
    };
    for (i, pair) in calls.windows(2).enumerate() {
        // each retry moves to the next region; the policy also bumps urlId on the first pass
        // (before any 429), so the first retry skips one region
        let step = if i == 0 { 2 } else { 1 };
        assert_eq!(index(&pair[1]), (index(&pair[0]) + step) % 6, "call {i}");
        let wait = (pair[1].at - pair[0].at).num_seconds();
        // first-fast-retry, then interval + (n-1)·delta
        let expected = if i == 0 { 0 } else { 10 + 5 * i as i64 };
        assert_eq!(wait, expected, "wait before retry {}", i + 1);
    }
    for c in &calls {
        let r = regions[index(c)];
        assert_eq!(
            c.headers.first("api-key"),
            Some(format!("key-{r}").as_str())
        );
        assert_eq!(
            c.url.path(),
            "/openai/deployments/gpt-4/deployments/gpt4/chat/completions"
        );
    }
    assert_eq!(
        o.response.headers.first("Backend-Service-URL"),
        Some(format!("https://{}.example.com/openai", regions[index(&calls[12])]).as_str())
    );
}

#[tokio::test]
async fn removing_base_drops_the_parent_scopes_and_workspace_scope_sits_between_global_and_api() {
    use apim_engine::service::Workspace;
    let global = r#"<policies>
  <inbound><set-header name="X-Order" exists-action="append"><value>global</value></set-header></inbound>
  <backend><forward-request /></backend>
  <outbound><set-header name="X-Out" exists-action="append"><value>global</value></set-header></outbound>
  <on-error />
</policies>"#;
    let workspace = r#"<policies>
  <inbound><base /><set-header name="X-Order" exists-action="append"><value>workspace</value></set-header></inbound>
  <outbound><base /></outbound>
</policies>"#;
    // no outbound section at API scope: it counts as <base/>; the operation drops inbound's base
    let api = r#"<policies>
  <inbound><base /><set-header name="X-Order" exists-action="append"><value>api</value></set-header></inbound>
  <backend><base /></backend>
</policies>"#;
    let op = r#"<policies>
  <inbound><set-header name="X-Order" exists-action="append"><value>operation</value></set-header></inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
</policies>"#;
    let mut s = service(Some(api));
    s.global_policy = Some(PolicySource::inline("global", global));
    s.workspaces = vec![Workspace {
        id: "team".into(),
        name: "Team".into(),
        policy: Some(PolicySource::inline("workspace:team", workspace)),
    }];
    s.apis[0].workspace = Some("team".into());
    s.apis[0].operations.push(Operation {
        id: "other".into(),
        name: "other".into(),
        method: "GET".into(),
        url_template: "/other".into(),
        policy: Some(PolicySource::inline("op:other", op)),
        ..Default::default()
    });
    let (plan, services, h) = setup(&s);
    h.http.always(
        MockMatch::host("default.example.com"),
        MockReply::json(200, "{}"),
    );
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.headers.get("X-Out").unwrap(), ["global"]);
    let other = Request::new(
        "GET",
        Url::parse("https://gw.example.com/openai/other").unwrap(),
    );
    let o = go(&plan, &services, &h, other).await;
    assert_eq!(o.response.headers.get("X-Out").unwrap(), ["global"]);
    let calls = h.http.calls();
    assert_eq!(
        calls[0].headers.get("X-Order").unwrap(),
        ["global", "workspace", "api"]
    );
    assert_eq!(calls[1].headers.get("X-Order").unwrap(), ["operation"]);
}

#[tokio::test]
async fn refused_connections_garbage_and_runaway_expressions_end_in_on_error() {
    use apim_engine::services::MockFault;
    let policy = r#"<policies>
  <inbound>
    <choose>
      <when condition="@(context.Request.Headers.ContainsKey("X-Loop"))">
        <set-variable name="x" value="@{ var i = 0; while (true) { i++; } return i; }" />
      </when>
    </choose>
  </inbound>
  <backend><forward-request timeout="10" /></backend>
  <on-error>
    <set-header name="X-Error" exists-action="override"><value>@(context.LastError.Source + ":" + context.LastError.Reason + ":" + context.LastError.Section)</value></set-header>
  </on-error>
</policies>"#;
    let (plan, services, h) = setup(&service(Some(policy)));
    h.http.sequence(
        MockMatch::host("default.example.com"),
        vec![
            MockReply::fault(MockFault::ConnectionRefused),
            MockReply::fault(MockFault::InvalidResponse),
        ],
    );
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.status, 500);
    assert_eq!(
        o.response.headers.first("X-Error"),
        Some("forward-request:BackendConnectionFailure:backend")
    );
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.status, 500);
    assert!(
        o.response
            .headers
            .first("X-Error")
            .unwrap()
            .starts_with("forward-request:"),
        "{:?}",
        o.response.headers.first("X-Error")
    );
    let mut req = chat_request();
    req.headers.set_one("X-Loop", "1").unwrap();
    let o = go(&plan, &services, &h, req).await;
    assert_eq!(o.response.status, 500);
    assert_eq!(
        o.response.headers.first("X-Error"),
        Some("set-variable:ExpressionValueEvaluationFailure:inbound")
    );
}

#[tokio::test]
async fn backend_credentials_carry_their_named_values_and_unknown_names_are_diagnostics() {
    use apim_engine::service::{BackendCredentials, NamedValue};
    let policy = r#"<policies>
  <inbound><base /><set-backend-service backend-id="east" /></inbound>
  <backend><forward-request /></backend>
  <outbound><base /></outbound><on-error><base /></on-error>
</policies>"#;
    let mut s = service(Some(policy));
    let mut east = backend("east", "https://east.example.com/openai");
    east.credentials = BackendCredentials {
        header: [("api-key".to_string(), vec!["{{east-key}}".to_string()])].into(),
        query: [("sig".to_string(), vec!["{{east-sig}}".to_string()])].into(),
        ..Default::default()
    };
    s.backends = vec![east];
    s.named_values = vec![
        NamedValue {
            name: "east-key".into(),
            value: "k-123".into(),
            secret: true,
        },
        NamedValue {
            name: "east-sig".into(),
            value: "s-456".into(),
            ..Default::default()
        },
    ];
    let (plan, services, h) = setup(&s);
    h.http
        .always(MockMatch::host("east.example.com"), MockReply::status(200));
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.status, 200);
    let calls = h.http.calls();
    assert_eq!(calls[0].headers.first("api-key"), Some("k-123"));
    assert_eq!(
        calls[0].url.query().get_joined("sig").as_deref(),
        Some("s-456")
    );

    s.named_values.remove(0);
    let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 7);
    let errors = plan::compile(&s, &services).expect_err("east-key is not defined");
    assert!(
        errors
            .iter()
            .any(|d| d.code == "PLAN0002" && d.message.contains("east-key")),
        "{errors:?}"
    );
}

#[tokio::test]
async fn outcome_names_the_matched_api_operation_and_the_backend_called() {
    let policy = r#"<policies>
        <inbound><base /><set-backend-service backend-id="b2" /></inbound>
        <backend>
            <retry condition="@(context.Response.StatusCode == 429)" count="1" interval="0">
                <choose>
                    <when condition="@(context.Response.StatusCode == 429)">
                        <set-backend-service backend-id="b1" />
                    </when>
                </choose>
                <forward-request />
            </retry>
        </backend>
        <outbound><base /></outbound>
        <on-error><base /></on-error>
    </policies>"#;
    let mut s = service(Some(policy));
    s.backends = vec![
        backend("b1", "http://one.example.com:8081/openai"),
        backend("b2", "https://two.example.com/openai"),
    ];
    let (plan, services, h) = setup(&s);
    h.http.always(
        MockMatch::host("two.example.com"),
        MockReply::json(429, "{}"),
    );
    h.http.always(
        MockMatch::host("one.example.com"),
        MockReply::json(200, "{}"),
    );
    let o = go(&plan, &services, &h, chat_request()).await;
    assert_eq!(o.response.status, 200, "{}", body_text(&o));
    // Two calls: the last one (after the retry moved to b1) is the backend reported.
    assert_eq!(h.http.call_count(), 2);
    assert_eq!(o.api_id.as_deref(), Some("aoai"));
    assert_eq!(o.operation_id.as_deref(), Some("chat"));
    assert_eq!(o.backend.as_deref(), Some("http://one.example.com:8081"));

    // An operation that does not match: the API is known, no operation, no backend call.
    let unknown = Request::new(
        "GET",
        Url::parse("https://gw.example.com/openai/nothing-here").unwrap(),
    );
    let o = go(&plan, &services, &h, unknown).await;
    assert_eq!(o.response.status, 404);
    assert_eq!(
        (
            o.api_id.as_deref(),
            o.operation_id.as_deref(),
            o.backend.as_deref()
        ),
        (Some("aoai"), None, None)
    );

    // No API at all.
    let none = Request::new(
        "GET",
        Url::parse("https://gw.example.com/elsewhere").unwrap(),
    );
    let o = go(&plan, &services, &h, none).await;
    assert_eq!(o.response.status, 404);
    assert_eq!((o.api_id, o.operation_id, o.backend), (None, None, None));
}

#[tokio::test]
async fn a_served_run_answers_the_same_without_rendering_variables() {
    let policy = r#"<policies>
        <inbound><base /><set-variable name="n" value="@(41 + 1)" /></inbound>
        <backend><base /></backend>
        <outbound><base /><set-header name="x-n" exists-action="override"><value>@(context.Variables["n"].ToString())</value></set-header></outbound>
        <on-error><base /></on-error>
    </policies>"#;
    let s = service(Some(policy));
    let (plan, services, h) = setup(&s);
    h.http
        .always(MockMatch::default(), MockReply::json(200, "{}"));
    let rendered = go(&plan, &services, &h, chat_request()).await;
    let served = h
        .clock
        .run(plan::run_served(&plan, chat_request(), &services, false))
        .await;
    assert_eq!(
        rendered.variables,
        vec![("n".to_string(), "42".to_string())]
    );
    assert!(served.variables.is_empty());
    assert_eq!(served.response.status, 200);
    assert_eq!(served.response.headers.first("x-n"), Some("42"));
    assert_eq!(served.api_id, rendered.api_id);
}
