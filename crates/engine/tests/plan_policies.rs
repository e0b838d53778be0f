//! Policies and the `context` object through the Plan, on the virtual clock.

mod common;

use std::time::Duration;

use apim_engine::http::{Body, Request, Url};
use apim_engine::plan::{self, Outcome, Plan};
use apim_engine::service::{Api, NamedValue, Operation, PolicySource, ServiceDefinition};
use apim_engine::services::{MockMatch, MockReply, Services, TestHandles, VirtualClock};

fn service(api_policy: &str) -> ServiceDefinition {
    ServiceDefinition {
        service_name: "contoso".into(),
        region: "West Europe".into(),
        apis: vec![Api {
            id: "echo".into(),
            name: "Echo API".into(),
            path: "echo".into(),
            service_url: Some("https://backend.example.com/api".into()),
            subscription_required: false,
            policy: Some(PolicySource::inline("api:echo", api_policy)),
            operations: vec![Operation {
                id: "get-item".into(),
                name: "Get item".into(),
                method: "POST".into(),
                url_template: "/items/{id}".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn request(body: &str) -> Request {
    let mut r = Request::new(
        "POST",
        Url::parse("https://gw.example.com/echo/items/42?x=1&x=2").unwrap(),
    );
    r.headers
        .set_one("Content-Type", "application/json")
        .unwrap();
    r.body = Body::from_bytes(body.to_string());
    r
}

fn setup(s: &ServiceDefinition) -> (Plan, Services, TestHandles) {
    common::compiled(s, 3)
}

async fn go(plan: &Plan, services: &Services, h: &TestHandles, req: Request) -> Outcome {
    h.clock.run(plan::run(plan, req, services)).await
}

fn var(o: &Outcome, name: &str) -> Option<String> {
    o.variables
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

fn body_text(o: &Outcome) -> String {
    String::from_utf8_lossy(o.response.body.peek().map(|b| b.as_ref()).unwrap_or(b"")).into_owned()
}

#[tokio::test]
async fn context_members_reflect_the_request_and_the_service() {
    let policy = r#"<policies>
  <inbound>
    <set-variable name="method" value="@(context.Request.Method)" />
    <set-variable name="url" value="@(context.Request.Url.ToString())" />
    <set-variable name="original" value="@(context.Request.OriginalUrl.Host + context.Request.OriginalUrl.Path)" />
    <set-variable name="query" value="@(string.Join(";", context.Request.Url.Query["x"]))" />
    <set-variable name="qs" value="@(context.Request.OriginalUrl.QueryString)" />
    <set-variable name="port" value="@(context.Request.Url.Port)" />
    <set-variable name="id" value="@(context.Request.MatchedParameters["id"])" />
    <set-variable name="ct" value="@(context.Request.Headers.GetValueOrDefault("content-type", ""))" />
    <set-variable name="api" value="@(context.Api.Name + "|" + context.Api.Path + "|" + context.Operation.Id + "|" + context.Operation.UrlTemplate)" />
    <set-variable name="deployment" value="@(context.Deployment.ServiceName + "|" + context.Deployment.Region)" />
    <set-variable name="ip" value="@(context.Request.IpAddress)" />
    <set-variable name="noSub" value="@(context.Subscription == null)" />
    <set-variable name="reqid" value="@(context.RequestId.ToString())" />
  </inbound>
  <backend />
</policies>"#;
    let (plan, services, h) = setup(&service(policy));
    let o = go(&plan, &services, &h, request("{}")).await;
    assert_eq!(var(&o, "method").as_deref(), Some("POST"));
    assert_eq!(
        var(&o, "url").as_deref(),
        Some("https://backend.example.com/api/items/42?x=1&x=2")
    );
    assert_eq!(
        var(&o, "original").as_deref(),
        Some("gw.example.com/echo/items/42")
    );
    assert_eq!(var(&o, "query").as_deref(), Some("1;2"));
    assert_eq!(var(&o, "qs").as_deref(), Some("?x=1&x=2"));
    assert_eq!(var(&o, "port").as_deref(), Some("443"));
    assert_eq!(var(&o, "id").as_deref(), Some("42"));
    assert_eq!(var(&o, "ct").as_deref(), Some("application/json"));
    assert_eq!(
        var(&o, "api").as_deref(),
        Some("Echo API|echo|get-item|/items/{id}")
    );
    assert_eq!(
        var(&o, "deployment").as_deref(),
        Some("contoso|West Europe")
    );
    assert_eq!(var(&o, "ip").as_deref(), Some("127.0.0.1"));
    assert_eq!(var(&o, "noSub").as_deref(), Some("True"));
    assert_eq!(var(&o, "reqid").as_deref(), Some(o.request_id.as_str()));
}

#[tokio::test]
async fn body_as_consumes_unless_preserved() {
    let policy = r#"<policies>
  <inbound>
    <set-variable name="first" value="@(context.Request.Body.As<JObject>(preserveContent: true)["n"].ToString())" />
    <set-variable name="second" value="@(context.Request.Body.As<string>())" />
    <set-variable name="third" value="@(context.Request.Body.As<string>())" />
  </inbound>
  <backend />
  <on-error>
    <set-header name="X-Reason" exists-action="override"><value>@(context.LastError.Reason + ":" + context.LastError.Source)</value></set-header>
  </on-error>
</policies>"#;
    let (plan, services, h) = setup(&service(policy));
    let o = go(&plan, &services, &h, request(r#"{"n":5}"#)).await;
    assert_eq!(var(&o, "first").as_deref(), Some("5"));
    assert_eq!(var(&o, "second").as_deref(), Some(r#"{"n":5}"#));
    // the second read without preserveContent consumed the body: the third read fails
    assert_eq!(var(&o, "third"), None);
    assert_eq!(o.response.status, 500);
    assert_eq!(
        o.response.headers.first("X-Reason"),
        Some("ExpressionValueEvaluationFailure:set-variable")
    );
}

#[tokio::test]
async fn elapsed_and_timestamp_follow_the_virtual_clock() {
    let policy = r#"<policies>
  <inbound>
    <set-variable name="t0" value="@(context.Timestamp.ToString("yyyy-MM-ddTHH:mm:ss"))" />
  </inbound>
  <backend><forward-request /></backend>
  <outbound>
    <set-variable name="elapsed" value="@(context.Elapsed.TotalSeconds)" />
    <set-variable name="now" value="@((DateTime.UtcNow - context.Timestamp).TotalSeconds)" />
  </outbound>
</policies>"#;
    let (plan, services, h) = setup(&service(policy));
    h.http.always(
        MockMatch::host("backend.example.com"),
        MockReply::status(200).latency(Duration::from_secs(3)),
    );
    let o = go(&plan, &services, &h, request("{}")).await;
    assert_eq!(o.response.status, 200);
    assert_eq!(var(&o, "elapsed").as_deref(), Some("3"));
    assert_eq!(var(&o, "now").as_deref(), Some("3"));
    assert!(var(&o, "t0").unwrap().len() == 19);
}

#[tokio::test]
async fn set_header_exists_actions_and_set_query_parameter() {
    let policy = r#"<policies>
  <inbound>
    <set-header name="X-Keep" exists-action="skip"><value>new</value></set-header>
    <set-header name="X-Add" exists-action="append"><value>b</value><value>c</value></set-header>
    <set-header name="X-Gone" exists-action="delete" />
    <set-header name="X-Over" exists-action="override"><value>@("v" + 1)</value></set-header>
    <set-query-parameter name="x" exists-action="override"><value>9</value></set-query-parameter>
    <set-query-parameter name="y" exists-action="skip"><value>1</value></set-query-parameter>
  </inbound>
  <backend><forward-request /></backend>
  <outbound>
    <set-header name="X-Out" exists-action="override"><value>@(context.Response.StatusCode.ToString())</value></set-header>
    <set-status code="202" reason="Accepted Later" />
  </outbound>
</policies>"#;
    let (plan, services, h) = setup(&service(policy));
    h.http.always(
        MockMatch::host("backend.example.com"),
        MockReply::status(201),
    );
    let mut req = request("{}");
    req.headers.set_one("X-Keep", "old").unwrap();
    req.headers.set_one("X-Add", "a").unwrap();
    req.headers.set_one("X-Gone", "1").unwrap();
    let o = go(&plan, &services, &h, req).await;
    let call = &h.http.calls()[0];
    assert_eq!(call.headers.first("X-Keep"), Some("old"));
    assert_eq!(call.headers.get("X-Add").unwrap(), ["a", "b", "c"]);
    assert!(!call.headers.contains("X-Gone"));
    assert_eq!(call.headers.first("X-Over"), Some("v1"));
    assert_eq!(call.url.query().get_joined("x").as_deref(), Some("9"));
    assert_eq!(call.url.query().get_joined("y").as_deref(), Some("1"));
    assert_eq!(o.response.headers.first("X-Out"), Some("201"));
    assert_eq!(
        (o.response.status, o.response.reason.as_str()),
        (202, "Accepted Later")
    );
}

#[tokio::test]
async fn set_body_expression_liquid_and_find_and_replace() {
    let policy = r#"<policies>
  <inbound>
    <set-body>@{ var j = context.Request.Body.As<JObject>(); j["added"] = "yes"; return j.ToString(Newtonsoft.Json.Formatting.None); }</set-body>
    <find-and-replace from="yes" to="indeed" />
  </inbound>
  <backend><forward-request /></backend>
  <outbound>
    <set-body template="liquid">{"greeting":"hello {{body.name}}","method":"{{context.Request.Method}}"}</set-body>
  </outbound>
</policies>"#;
    let (plan, services, h) = setup(&service(policy));
    h.http.always(
        MockMatch::host("backend.example.com"),
        MockReply::json(200, r#"{"name":"Ada"}"#),
    );
    let o = go(&plan, &services, &h, request(r#"{"n":1}"#)).await;
    let sent = String::from_utf8_lossy(&h.http.calls()[0].body).into_owned();
    assert_eq!(sent, r#"{"n":1,"added":"indeed"}"#);
    assert_eq!(body_text(&o), r#"{"greeting":"hello Ada","method":"POST"}"#);
}

#[tokio::test]
async fn choose_picks_the_first_true_when_and_otherwise() {
    let policy = r#"<policies>
  <inbound>
    <choose>
      <when condition="@(context.Request.MatchedParameters["id"] == "1")"><set-variable name="branch" value="one" /></when>
      <when condition="@(context.Request.MatchedParameters["id"] == "42")"><set-variable name="branch" value="answer" /></when>
      <when condition="@(true)"><set-variable name="branch" value="later-true" /></when>
      <otherwise><set-variable name="branch" value="otherwise" /></otherwise>
    </choose>
    <choose>
      <when condition="@(false)"><set-variable name="b2" value="no" /></when>
      <otherwise><set-variable name="b2" value="otherwise" /></otherwise>
    </choose>
    <set-method>GET</set-method>
  </inbound>
  <backend />
</policies>"#;
    let (plan, services, h) = setup(&service(policy));
    let o = go(&plan, &services, &h, request("{}")).await;
    assert_eq!(var(&o, "branch").as_deref(), Some("answer"));
    assert_eq!(var(&o, "b2").as_deref(), Some("otherwise"));
}

#[tokio::test]
async fn check_header_and_ip_filter_refuse_with_their_status() {
    let policy = r#"<policies>
  <inbound>
    <ip-filter action="forbid"><address-range from="10.0.0.0" to="10.0.0.255" /></ip-filter>
    <check-header name="X-Tenant" failed-check-httpcode="403" failed-check-error-message="Tenant not allowed" ignore-case="true">
      <value>contoso</value>
    </check-header>
  </inbound>
  <backend />
  <on-error>
    <set-header name="X-Reason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header>
  </on-error>
</policies>"#;
    let (plan, services, h) = setup(&service(policy));
    let o = go(&plan, &services, &h, request("{}")).await;
    assert_eq!(o.response.status, 403);
    assert_eq!(o.response.headers.first("X-Reason"), Some("HeaderNotFound"));
    let body: serde_json::Value = serde_json::from_str(&body_text(&o)).unwrap();
    assert_eq!(body["message"], "Tenant not allowed");

    let mut req = request("{}");
    req.headers.set_one("X-Tenant", "CONTOSO").unwrap();
    let o = go(&plan, &services, &h, req).await;
    assert_eq!(o.response.status, 200);

    let mut req = request("{}");
    req.headers.set_one("X-Tenant", "fabrikam").unwrap();
    let o = go(&plan, &services, &h, req).await;
    assert_eq!(
        o.response.headers.first("X-Reason"),
        Some("HeaderValueNotAllowed")
    );

    let mut req = request("{}");
    req.ip_address = "10.0.0.7".into();
    let o = go(&plan, &services, &h, req).await;
    assert_eq!(o.response.status, 403);
    assert_eq!(
        o.response.headers.first("X-Reason"),
        Some("CallerIpBlocked")
    );
}

#[tokio::test]
async fn cache_values_round_trip_and_mock_response_short_circuits() {
    let policy = r#"<policies>
  <inbound>
    <cache-lookup-value key="k" variable-name="cached" default-value="none" />
    <cache-store-value key="k" value="@("stored-" + context.Request.MatchedParameters["id"])" duration="60" />
    <mock-response status-code="204" />
  </inbound>
  <backend><forward-request /></backend>
</policies>"#;
    let (plan, services, h) = setup(&service(policy));
    let o = go(&plan, &services, &h, request("{}")).await;
    assert_eq!(var(&o, "cached").as_deref(), Some("none"));
    assert_eq!(o.response.status, 204);
    let o = go(&plan, &services, &h, request("{}")).await;
    assert_eq!(var(&o, "cached").as_deref(), Some("stored-42"));
    assert_eq!(h.http.call_count(), 0);
    // expired after its duration on the virtual clock
    h.clock.advance(Duration::from_secs(61));
    let o = go(&plan, &services, &h, request("{}")).await;
    assert_eq!(var(&o, "cached").as_deref(), Some("none"));
}

#[tokio::test]
async fn cache_values_keep_their_type_and_can_be_removed() {
    let policy = r#"<policies>
  <inbound>
    <choose>
      <when condition="@(context.Request.MatchedParameters["id"] == "1")">
        <cache-store-value key="obj" value="@(new JObject(new JProperty("n", 7)))" duration="60" />
        <cache-store-value key="num" value="@(41 + 1)" duration="60" />
      </when>
      <when condition="@(context.Request.MatchedParameters["id"] == "2")">
        <cache-lookup-value key="obj" variable-name="obj" />
        <cache-lookup-value key="num" variable-name="num" />
        <set-variable name="sum" value="@((int)((JObject)context.Variables["obj"])["n"] + (int)context.Variables["num"])" />
        <cache-remove-value key="num" />
      </when>
      <otherwise>
        <cache-lookup-value key="num" variable-name="num" default-value="gone" />
      </otherwise>
    </choose>
  </inbound>
  <backend />
</policies>"#;
    let (plan, services, h) = setup(&service(policy));
    let at = |id: &str| {
        let mut r = request("{}");
        r.url = Url::parse(&format!("https://gw.example.com/echo/items/{id}")).unwrap();
        r.original_url = r.url.clone();
        r
    };
    go(&plan, &services, &h, at("1")).await;
    let o = go(&plan, &services, &h, at("2")).await;
    assert_eq!(var(&o, "sum").as_deref(), Some("49"));
    let o = go(&plan, &services, &h, at("3")).await;
    assert_eq!(var(&o, "num").as_deref(), Some("gone"));
}

#[tokio::test]
async fn trace_policy_and_context_trace_record_entries_when_tracing() {
    let policy = r#"<policies>
  <inbound>
    <trace source="my-api" severity="information">
      <message>@("id " + context.Request.MatchedParameters["id"])</message>
      <metadata name="k" value="v" />
    </trace>
  </inbound>
  <backend />
</policies>"#;
    let (plan, services, h) = setup(&service(policy));
    let o = h
        .clock
        .run(plan::run_with(&plan, request("{}"), &services, true))
        .await;
    let entries: Vec<_> = o.trace.all().collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].1.source, "my-api");
    assert_eq!(entries[0].1.data["message"], "id 42");
    assert_eq!(entries[0].1.data["metadata"]["k"], "v");
    let o = go(&plan, &services, &h, request("{}")).await;
    assert_eq!(o.trace.all().count(), 0);
}

#[tokio::test]
async fn secret_named_values_never_appear_in_diagnostics_and_unknown_ones_are_reported() {
    let policy = r#"<policies>
  <inbound>
    <set-variable name="a" value="@({{secret}})" />
    <set-variable name="b" value="{{missing}}" />
  </inbound>
</policies>"#;
    let mut s = service(policy);
    s.named_values = vec![NamedValue {
        name: "secret".into(),
        value: "hunter2 +".into(),
        secret: true,
    }];
    let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 1);
    let diags = plan::compile(&s, &services).unwrap_err();
    let all: String = diags.iter().map(|d| format!("{d}\n")).collect();
    assert!(!all.contains("hunter2"), "{all}");
    assert!(
        all.contains("named value 'missing' is not defined"),
        "{all}"
    );
    assert!(all.contains("api:echo:3:"), "{all}");
}

#[tokio::test]
async fn send_request_stores_the_response_and_ignore_error_gives_null() {
    let policy = r#"<policies>
  <inbound>
    <send-request mode="new" response-variable-name="lookup" timeout="10" ignore-error="false">
      <set-url>@("https://lookup.example.com/users/" + context.Request.MatchedParameters["id"])</set-url>
      <set-method>GET</set-method>
      <set-header name="X-Caller" exists-action="override"><value>gw</value></set-header>
      <authentication-managed-identity resource="https://lookup.example.com" />
    </send-request>
    <set-variable name="status" value="@(((IResponse)context.Variables["lookup"]).StatusCode)" />
    <set-variable name="name" value="@(((IResponse)context.Variables["lookup"]).Body.As<JObject>()["name"].ToString())" />
    <send-request mode="new" response-variable-name="down" timeout="1" ignore-error="true">
      <set-url>https://down.example.com/</set-url>
      <set-method>GET</set-method>
    </send-request>
    <set-variable name="downIsNull" value="@(context.Variables["down"] == null)" />
  </inbound>
  <backend />
</policies>"#;
    let (plan, services, h) = setup(&service(policy));
    h.http.always(
        MockMatch::host("lookup.example.com"),
        MockReply::json(404, r#"{"name":"nobody"}"#),
    );
    h.http.always(
        MockMatch::host("down.example.com"),
        MockReply::status(200).latency(Duration::from_secs(5)),
    );
    let o = go(&plan, &services, &h, request("{}")).await;
    assert_eq!(o.response.status, 200, "{}", body_text(&o));
    assert_eq!(var(&o, "status").as_deref(), Some("404"));
    assert_eq!(var(&o, "name").as_deref(), Some("nobody"));
    assert_eq!(var(&o, "downIsNull").as_deref(), Some("True"));
    let call = &h.http.calls_to("lookup.example.com")[0];
    assert_eq!(call.url.path(), "/users/42");
    assert_eq!(call.headers.first("X-Caller"), Some("gw"));
    let bearer = call.headers.first("Authorization").unwrap();
    let token = bearer.strip_prefix("Bearer ").unwrap();
    assert!(h.tokens.verify(token, "https://lookup.example.com").is_ok());
}

#[tokio::test]
async fn limit_concurrency_refuses_beyond_max_count_with_429() {
    let policy = r#"<policies>
  <inbound>
    <limit-concurrency key="k" max-count="1">
      <set-variable name="outer" value="in" />
      <limit-concurrency key="k" max-count="1">
        <set-variable name="inner" value="in" />
      </limit-concurrency>
    </limit-concurrency>
  </inbound>
  <backend />
  <on-error>
    <set-header name="X-Reason" exists-action="override"><value>@(context.LastError.Source)</value></set-header>
  </on-error>
</policies>"#;
    let (plan, services, h) = setup(&service(policy));
    let o = go(&plan, &services, &h, request("{}")).await;
    assert_eq!(o.response.status, 429);
    assert_eq!(var(&o, "outer").as_deref(), Some("in"));
    assert_eq!(var(&o, "inner"), None);
    assert_eq!(
        o.response.headers.first("X-Reason"),
        Some("limit-concurrency")
    );
    // the slot was released: the next request gets in again
    let o = go(&plan, &services, &h, request("{}")).await;
    assert_eq!(var(&o, "outer").as_deref(), Some("in"));
}

#[tokio::test]
async fn json_to_xml_converts_the_backend_response_when_xml_is_accepted() {
    let policy = r#"<policies>
  <inbound />
  <backend><forward-request /></backend>
  <outbound>
    <json-to-xml apply="content-type-json" consider-accept-header="true" />
  </outbound>
</policies>"#;
    let (plan, services, h) = setup(&service(policy));
    h.http.always(
        MockMatch::host("backend.example.com"),
        MockReply::json(200, r#"{"a":"1"}"#),
    );
    let o = go(&plan, &services, &h, request("{}")).await;
    assert_eq!(body_text(&o), r#"{"a":"1"}"#);
    let mut req = request("{}");
    req.headers.set_one("Accept", "application/xml").unwrap();
    let o = go(&plan, &services, &h, req).await;
    assert!(body_text(&o).contains("<a>1</a>"), "{}", body_text(&o));
    assert_eq!(
        o.response.headers.first("Content-Type"),
        Some("application/xml")
    );
}

#[tokio::test]
async fn cors_answers_preflights_adds_headers_and_terminates_unmatched_requests() {
    let policy = r#"<policies>
  <inbound>
    <cors allow-credentials="true">
      <allowed-origins><origin>https://app.example.com</origin></allowed-origins>
      <allowed-methods preflight-result-max-age="300"><method>POST</method></allowed-methods>
      <allowed-headers><header>content-type</header></allowed-headers>
    </cors>
    <base />
  </inbound>
  <backend><forward-request /></backend>
</policies>"#;
    let (plan, services, h) = setup(&service(policy));
    h.http.always(
        MockMatch::host("backend.example.com"),
        MockReply::json(200, "{}"),
    );
    let mut pre = Request::new(
        "OPTIONS",
        Url::parse("https://gw.example.com/echo/items/42").unwrap(),
    );
    pre.headers
        .set_one("Origin", "https://app.example.com")
        .unwrap();
    pre.headers
        .set_one("Access-Control-Request-Method", "POST")
        .unwrap();
    pre.headers
        .set_one("Access-Control-Request-Headers", "Content-Type")
        .unwrap();
    let o = go(&plan, &services, &h, pre).await;
    assert_eq!(o.response.status, 200);
    assert_eq!(
        o.response.headers.first("Access-Control-Allow-Origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        o.response.headers.first("Access-Control-Max-Age"),
        Some("300")
    );
    assert_eq!(h.http.call_count(), 0);

    let mut req = request("{}");
    req.headers
        .set_one("Origin", "https://app.example.com")
        .unwrap();
    let o = go(&plan, &services, &h, req).await;
    assert_eq!(
        o.response.headers.first("Access-Control-Allow-Origin"),
        Some("https://app.example.com")
    );
    assert_eq!(h.http.call_count(), 1);

    let mut req = request("{}");
    req.headers
        .set_one("Origin", "https://evil.example.com")
        .unwrap();
    let o = go(&plan, &services, &h, req).await;
    assert_eq!(o.response.status, 200);
    assert!(!o.response.body.is_present());
    assert_eq!(
        o.response.headers.first("Access-Control-Allow-Origin"),
        None
    );
    assert_eq!(h.http.call_count(), 1);
}

#[tokio::test]
async fn wait_runs_send_requests_concurrently_for_all_and_any() {
    let make = |mode: &str| {
        format!(
            r#"<policies>
  <inbound>
    <wait for="{mode}">
      <send-request mode="new" response-variable-name="fast" timeout="20">
        <set-url>https://fast.example.com/</set-url>
        <set-method>GET</set-method>
      </send-request>
      <send-request mode="new" response-variable-name="slow" timeout="20">
        <set-url>https://slow.example.com/</set-url>
        <set-method>GET</set-method>
      </send-request>
    </wait>
    <set-variable name="elapsed" value="@(context.Elapsed.TotalSeconds)" />
    <set-variable name="hasFast" value="@(context.Variables.ContainsKey("fast"))" />
    <set-variable name="hasSlow" value="@(context.Variables.ContainsKey("slow"))" />
  </inbound>
  <backend />
</policies>"#
        )
    };
    for (mode, elapsed, slow) in [("all", "5", "True"), ("any", "3", "False")] {
        let (plan, services, h) = setup(&service(&make(mode)));
        h.http.always(
            MockMatch::host("fast.example.com"),
            MockReply::status(200).latency(Duration::from_secs(3)),
        );
        h.http.always(
            MockMatch::host("slow.example.com"),
            MockReply::status(200).latency(Duration::from_secs(5)),
        );
        let o = go(&plan, &services, &h, request("{}")).await;
        assert_eq!(var(&o, "elapsed").as_deref(), Some(elapsed), "{mode}");
        assert_eq!(var(&o, "hasFast").as_deref(), Some("True"), "{mode}");
        assert_eq!(var(&o, "hasSlow").as_deref(), Some(slow), "{mode}");
    }
}

#[tokio::test]
async fn context_backend_follows_set_backend_service() {
    let policy = r#"<policies>
  <inbound>
    <set-variable name="before" value="@(context.Backend == null)" />
    <set-backend-service backend-id="east" />
    <set-variable name="after" value="@(context.Backend.Id + "|" + context.Backend.Type.ToString() + "|" + context.Backend.AzureRegion)" />
    <set-backend-service base-url="https://other.example.com/v2" />
    <set-variable name="url" value="@(context.Request.Url.ToString())" />
  </inbound>
  <backend />
</policies>"#;
    let mut s = service(policy);
    s.backends = vec![apim_engine::service::Backend {
        id: "east".into(),
        url: Some("https://east.example.com/api".into()),
        azure_region: Some("eastus".into()),
        ..Default::default()
    }];
    let (plan, services, h) = setup(&s);
    let o = go(&plan, &services, &h, request("{}")).await;
    assert_eq!(var(&o, "before").as_deref(), Some("True"));
    assert_eq!(var(&o, "after").as_deref(), Some("east|Single|eastus"));
    assert_eq!(
        var(&o, "url").as_deref(),
        Some("https://other.example.com/v2/items/42?x=1&x=2")
    );
}

#[tokio::test]
async fn cache_lookup_and_store_answer_repeated_gets_from_the_cache() {
    let policy = r#"<policies>
  <inbound>
    <cache-lookup vary-by-developer="false" vary-by-developer-groups="false" downstream-caching-type="none">
      <vary-by-header>Accept</vary-by-header>
    </cache-lookup>
  </inbound>
  <backend><forward-request /></backend>
  <outbound>
    <set-header name="X-Before-Store" exists-action="override"><value>@(context.Elapsed.TotalSeconds.ToString())</value></set-header>
    <cache-store duration="20" />
    <set-header name="X-After-Store" exists-action="override"><value>@(context.Elapsed.TotalSeconds.ToString())</value></set-header>
  </outbound>
</policies>"#;
    let mut s = service(policy);
    s.apis[0].operations[0].method = "GET".into();
    let (plan, services, h) = setup(&s);
    h.http.always(
        MockMatch::host("backend.example.com"),
        MockReply::json(200, r#"{"v":1}"#).latency(Duration::from_secs(2)),
    );
    let get = |accept: &str| {
        let mut r = Request::new(
            "GET",
            Url::parse("https://gw.example.com/echo/items/42").unwrap(),
        );
        r.headers.set_one("Accept", accept).unwrap();
        r
    };
    let o = go(&plan, &services, &h, get("application/json")).await;
    assert_eq!(o.response.headers.first("X-Before-Store"), Some("2"));
    assert_eq!(h.http.call_count(), 1);
    // a hit: no backend call, the stored response, and only the policies after cache-store run
    let o = go(&plan, &services, &h, get("application/json")).await;
    assert_eq!(h.http.call_count(), 1);
    assert_eq!(body_text(&o), r#"{"v":1}"#);
    assert_eq!(o.response.headers.first("X-Before-Store"), Some("2"));
    assert_eq!(o.response.headers.first("X-After-Store"), Some("0"));
    // another Accept is another entry
    go(&plan, &services, &h, get("text/plain")).await;
    assert_eq!(h.http.call_count(), 2);
    // expired after the duration
    h.clock.advance(Duration::from_secs(21));
    go(&plan, &services, &h, get("application/json")).await;
    assert_eq!(h.http.call_count(), 3);
}

#[tokio::test]
async fn the_trace_says_which_branch_ran_and_where_the_request_went() {
    let policy = r#"<policies>
  <inbound>
    <choose>
      <when condition="@(false)"><set-variable name="a" value="1" /></when>
      <when condition="@(true)"><set-backend-service base-url="https://elsewhere.example.com/x" /></when>
    </choose>
  </inbound>
  <backend><forward-request /></backend>
</policies>"#;
    let (plan, services, h) = setup(&service(policy));
    h.http.always(
        MockMatch::host("elsewhere.example.com"),
        MockReply::status(200),
    );
    let o = h
        .clock
        .run(plan::run_with(&plan, request("{}"), &services, true))
        .await;
    let entries: Vec<_> = o.trace.all().map(|(_, e)| e.clone()).collect();
    let choose = entries.iter().find(|e| e.source == "choose").unwrap();
    assert_eq!(choose.data["taken"], "when[2]");
    let sbs = entries
        .iter()
        .find(|e| e.source == "set-backend-service")
        .unwrap();
    assert_eq!(
        sbs.data["url"],
        "https://elsewhere.example.com/x/items/42?x=1&x=2"
    );
    assert!(entries.iter().any(|e| e.source == "forward-request"));
}

#[tokio::test]
async fn downstream_caching_type_tells_clients_how_long_to_keep_a_cached_response() {
    let policy = r#"<policies>
  <inbound>
    <cache-lookup vary-by-developer="false" vary-by-developer-groups="false" downstream-caching-type="public" must-revalidate="true" />
  </inbound>
  <backend><forward-request /></backend>
  <outbound>
    <cache-store duration="60" />
  </outbound>
</policies>"#;
    let mut s = service(policy);
    s.apis[0].operations[0].method = "GET".into();
    let (plan, services, h) = setup(&s);
    h.http.sequence(
        MockMatch::host("backend.example.com"),
        vec![MockReply::json(200, r#"{"n":1}"#)],
    );
    let get = || {
        let mut r = request("");
        r.method = "GET".into();
        r.body = Body::none();
        r
    };
    let first = go(&plan, &services, &h, get()).await;
    assert_eq!(first.response.status, 200);
    assert_eq!(
        first.response.headers.first("Cache-Control"),
        Some("public, max-age=60, must-revalidate")
    );
    h.clock.advance(Duration::from_secs(15));
    let hit = go(&plan, &services, &h, get()).await;
    assert_eq!(h.http.call_count(), 1, "served from the cache");
    assert_eq!(body_text(&hit), r#"{"n":1}"#);
    assert_eq!(
        hit.response.headers.first("Cache-Control"),
        Some("public, max-age=45, must-revalidate")
    );
}

#[test]
fn downstream_caching_type_must_be_none_private_or_public() {
    let policy = r#"<policies>
  <inbound>
    <cache-lookup vary-by-developer="false" vary-by-developer-groups="false" downstream-caching-type="shared" />
  </inbound>
  <backend><forward-request /></backend>
  <outbound><cache-store duration="60" /></outbound>
</policies>"#;
    let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 1);
    let diags = plan::compile(&service(policy), &services).unwrap_err();
    assert!(
        diags
            .iter()
            .any(|d| d.message.contains("shared") && d.message.contains("none, private, public")),
        "{diags:?}"
    );
}
