//! emit-metric, azure-openai-emit-token-metric / llm-emit-token-metric and log-to-eventhub
//! through the Plan, on the virtual clock.

use std::sync::Arc;
use std::time::Duration;

use apim_engine::http::{Body, Request, Url};
use apim_engine::plan::{self, Outcome, Plan, PlanDiagnostic};
use apim_engine::service::{
    Api, Backend, Operation, PolicySource, Product, ServiceDefinition, Subscription,
    SubscriptionScope, User,
};
use apim_engine::services::{
    JsonLinesFileSink, MetricRecord, MockMatch, MockReply, Services, TestHandles, VirtualClock,
};

fn service(api_policy: &str) -> ServiceDefinition {
    ServiceDefinition {
        service_name: "contoso".into(),
        region: "West Europe".into(),
        apis: vec![Api {
            id: "openai".into(),
            name: "Azure OpenAI".into(),
            path: "openai".into(),
            service_url: Some("https://aoai.example.com/openai".into()),
            subscription_required: true,
            policy: Some(PolicySource::inline("api:openai", api_policy)),
            operations: vec![Operation {
                id: "chat".into(),
                name: "Chat completions".into(),
                method: "POST".into(),
                url_template: "/deployments/{deployment-id}/chat/completions".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        products: vec![Product {
            id: "starter".into(),
            name: "Starter".into(),
            apis: vec!["openai".into()],
            ..Default::default()
        }],
        subscriptions: vec![Subscription {
            id: "finance".into(),
            name: "Finance".into(),
            primary_key: "key-finance".into(),
            scope: SubscriptionScope::Product("starter".into()),
            user_id: Some("alice".into()),
            ..Default::default()
        }],
        users: vec![User {
            id: "alice".into(),
            email: "alice@example.com".into(),
            ..Default::default()
        }],
        backends: vec![Backend {
            id: "aoai".into(),
            url: Some("https://aoai.example.com/openai".into()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

const CHAT: &str = r#"{"messages":[{"role":"user","content":"Draft a budget summary."}]}"#;

fn request(body: &str) -> Request {
    let mut r = Request::new(
        "POST",
        Url::parse("https://gw.example.com/openai/deployments/gpt-4o/chat/completions").unwrap(),
    );
    r.headers
        .set_one("Content-Type", "application/json")
        .unwrap();
    r.headers
        .set_one("Ocp-Apim-Subscription-Key", "key-finance")
        .unwrap();
    r.body = Body::from_bytes(body.to_string());
    r
}

fn compile(s: &ServiceDefinition, services: &Services) -> Result<Plan, Vec<PlanDiagnostic>> {
    plan::compile(s, services)
}

fn setup(policy: &str) -> (Plan, Services, TestHandles) {
    let (services, handles) = Services::for_tests(VirtualClock::at_default_start(), 3);
    let plan = match compile(&service(policy), &services) {
        Ok(p) => p,
        Err(d) => panic!(
            "{}",
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    (plan, services, handles)
}

fn diagnostics(policy: &str) -> Vec<PlanDiagnostic> {
    let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 3);
    match compile(&service(policy), &services) {
        Ok(_) => panic!("expected diagnostics"),
        Err(d) => d,
    }
}

async fn go(plan: &Plan, services: &Services, h: &TestHandles, body: &str) -> Outcome {
    h.clock.run(plan::run(plan, request(body), services)).await
}

fn completion(prompt: u64, completion: u64) -> MockReply {
    let body = format!(
        r#"{{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o","choices":[{{"index":0,"message":{{"role":"assistant","content":"Hello"}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":{prompt},"completion_tokens":{completion},"total_tokens":{}}}}}"#,
        prompt + completion
    );
    MockReply::json(200, &body)
}

fn dims(m: &MetricRecord) -> Vec<(&str, &str)> {
    m.dimensions
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

fn by_name<'a>(ms: &'a [MetricRecord], name: &str) -> Vec<&'a MetricRecord> {
    ms.iter().filter(|m| m.name == name).collect()
}

fn policies(inbound: &str, outbound: &str, on_error: &str) -> String {
    format!(
        r#"<policies>
  <inbound>{inbound}</inbound>
  <backend><forward-request /></backend>
  <outbound>{outbound}</outbound>
  <on-error>{on_error}</on-error>
</policies>"#
    )
}

#[tokio::test]
async fn emit_metric_evaluates_its_value_and_fills_default_dimensions() {
    let doc = policies(
        r#"<set-variable name="n" value="@(2.5 * 2)" />
        <emit-metric name="Requests" value="@((double)context.Variables["n"])">
            <dimension name="API ID" />
            <dimension name="Operation ID" />
            <dimension name="Product ID" />
            <dimension name="User ID" />
            <dimension name="Subscription ID" />
            <dimension name="Location" />
            <dimension name="Gateway ID" />
            <dimension name="@("Dep" + "loyment")" value="@(context.Request.MatchedParameters["deployment-id"])" />
        </emit-metric>"#,
        "",
        "",
    );
    let (plan, services, h) = setup(&doc);
    h.http
        .always(MockMatch::host("aoai.example.com"), completion(10, 5));
    let o = go(&plan, &services, &h, CHAT).await;
    assert_eq!(o.response.status, 200);
    let ms = h.metrics.records();
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0].namespace, "API Management");
    assert_eq!(ms[0].name, "Requests");
    assert_eq!(ms[0].value, 5.0);
    assert_eq!(
        dims(&ms[0]),
        vec![
            ("API ID", "openai"),
            ("Operation ID", "chat"),
            ("Product ID", "starter"),
            ("User ID", "alice"),
            ("Subscription ID", "finance"),
            ("Location", "West Europe"),
            ("Gateway ID", "managed"),
            ("Deployment", "gpt-4o"),
        ]
    );
}

#[tokio::test]
async fn emit_metric_value_defaults_to_one_and_runs_in_every_section() {
    let m = |section: &str| {
        format!(
            r#"<emit-metric name="{section}" namespace="ns"><dimension name="where" value="{section}" /></emit-metric>"#
        )
    };
    let doc = format!(
        r#"<policies>
  <inbound>{}</inbound>
  <backend>{}<forward-request /></backend>
  <outbound>{}</outbound>
  <on-error />
</policies>"#,
        m("inbound"),
        m("backend"),
        m("outbound")
    );
    let (plan, services, h) = setup(&doc);
    h.http
        .always(MockMatch::host("aoai.example.com"), completion(1, 1));
    go(&plan, &services, &h, CHAT).await;
    let names: Vec<(String, f64, String)> = h
        .metrics
        .records()
        .into_iter()
        .map(|m| (m.name, m.value, m.namespace))
        .collect();
    assert_eq!(
        names,
        vec![
            ("inbound".into(), 1.0, "ns".into()),
            ("backend".into(), 1.0, "ns".into()),
            ("outbound".into(), 1.0, "ns".into()),
        ]
    );
}

#[tokio::test]
async fn a_failing_metric_value_goes_to_on_error_with_last_error() {
    let doc = policies(
        r#"<emit-metric name="m" value="@(context.Variables["missing"].ToString())">
            <dimension name="API ID" />
        </emit-metric>"#,
        "",
        r#"<emit-metric name="errors" value="1">
            <dimension name="Reason" value="@(context.LastError.Reason)" />
            <dimension name="Source" value="@(context.LastError.Source)" />
        </emit-metric>"#,
    );
    let (plan, services, h) = setup(&doc);
    h.http
        .always(MockMatch::host("aoai.example.com"), completion(1, 1));
    let o = go(&plan, &services, &h, CHAT).await;
    assert_eq!(o.response.status, 500);
    assert_eq!(h.http.call_count(), 0);
    let err = o.summary.error.expect("on-error ran");
    assert_eq!(err.source, "emit-metric");
    assert_eq!(err.reason, "ExpressionValueEvaluationFailure");
    let ms = h.metrics.records();
    assert_eq!(ms.len(), 1, "{ms:?}");
    assert_eq!(
        dims(&ms[0]),
        vec![
            ("Reason", "ExpressionValueEvaluationFailure"),
            ("Source", "emit-metric")
        ]
    );
}

#[tokio::test]
async fn a_metric_value_that_is_not_a_number_is_an_expression_failure() {
    let doc = policies(
        r#"<emit-metric name="m" value="@("many")"><dimension name="API ID" /></emit-metric>"#,
        "",
        "",
    );
    let (plan, services, h) = setup(&doc);
    let o = go(&plan, &services, &h, CHAT).await;
    let err = o.summary.error.expect("on-error ran");
    assert_eq!(err.reason, "ExpressionValueEvaluationFailure");
    assert!(err.message.contains("'many'"), "{}", err.message);
    assert!(h.metrics.records().is_empty());
}

#[tokio::test]
async fn token_metrics_carry_the_reported_usage_and_the_backend_id() {
    let doc = policies(
        r#"<set-backend-service backend-id="aoai" />
        <llm-emit-token-metric namespace="usage">
            <dimension name="API ID" />
            <dimension name="Subscription ID" />
            <dimension name="Backend ID" />
            <dimension name="Client IP" value="@(context.Request.IpAddress)" />
        </llm-emit-token-metric>"#,
        "",
        "",
    );
    let (plan, services, h) = setup(&doc);
    h.http
        .always(MockMatch::host("aoai.example.com"), completion(30, 12));
    let o = go(&plan, &services, &h, CHAT).await;
    assert_eq!(o.response.status, 200);
    let ms = h.metrics.records();
    let values: Vec<(&str, f64)> = ms.iter().map(|m| (m.name.as_str(), m.value)).collect();
    assert_eq!(
        values,
        vec![
            ("Total Tokens", 42.0),
            ("Prompt Tokens", 30.0),
            ("Completion Tokens", 12.0)
        ]
    );
    for m in &ms {
        assert_eq!(m.namespace, "usage");
        let d = dims(m);
        assert_eq!(d[0], ("API ID", "openai"));
        assert_eq!(d[1], ("Subscription ID", "finance"));
        assert_eq!(d[2], ("Backend ID", "aoai"));
        assert_eq!(d[3].0, "Client IP");
    }
}

#[tokio::test]
async fn azure_openai_token_metrics_default_to_the_api_management_namespace() {
    let doc = policies(
        r#"<azure-openai-emit-token-metric><dimension name="User ID" /></azure-openai-emit-token-metric>"#,
        "",
        "",
    );
    let (plan, services, h) = setup(&doc);
    h.http
        .always(MockMatch::host("aoai.example.com"), completion(3, 4));
    go(&plan, &services, &h, CHAT).await;
    let ms = h.metrics.records();
    assert_eq!(ms.len(), 3);
    assert!(ms.iter().all(|m| m.namespace == "API Management"));
    assert_eq!(by_name(&ms, "Total Tokens")[0].value, 7.0);
    assert_eq!(dims(&ms[0]), vec![("User ID", "alice")]);
}

fn sse(reply_events: &str) -> MockReply {
    MockReply::status(200)
        .header("Content-Type", "text/event-stream")
        .chunk(Duration::from_millis(10), reply_events.to_string())
}

#[tokio::test]
async fn streamed_token_metrics_use_the_usage_event() {
    let doc = policies(
        r#"<llm-emit-token-metric><dimension name="API ID" /></llm-emit-token-metric>"#,
        "",
        "",
    );
    let (plan, services, h) = setup(&doc);
    let events = "data: {\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n\
                  data: {\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":7,\"total_tokens\":37}}\n\n\
                  data: [DONE]\n\n";
    h.http
        .always(MockMatch::host("aoai.example.com"), sse(events));
    let body = r#"{"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#;
    let o = go(&plan, &services, &h, body).await;
    assert_eq!(o.response.status, 200);
    let ms = h.metrics.records();
    let values: Vec<f64> = ms.iter().map(|m| m.value).collect();
    assert_eq!(values, vec![37.0, 30.0, 7.0]);
}

#[tokio::test]
async fn streamed_token_metrics_without_usage_are_estimated() {
    let doc = policies(
        r#"<llm-emit-token-metric><dimension name="API ID" /></llm-emit-token-metric>"#,
        "",
        "",
    );
    let (plan, services, h) = setup(&doc);
    let events = "data: {\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n\
                  data: {\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]}\n\n\
                  data: {\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"content\":\" world\"}}]}\n\n\
                  data: [DONE]\n\n";
    h.http
        .always(MockMatch::host("aoai.example.com"), sse(events));
    let body = r#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let o = go(&plan, &services, &h, body).await;
    assert_eq!(o.response.status, 200);
    let ms = h.metrics.records();
    let prompt = by_name(&ms, "Prompt Tokens")[0].value;
    let completion = by_name(&ms, "Completion Tokens")[0].value;
    let total = by_name(&ms, "Total Tokens")[0].value;
    // "Hello world" is two o200k tokens; the prompt is one short user message (tokens of the
    // message plus the chat format's overhead).
    assert_eq!(completion, 2.0);
    assert!(prompt > 1.0 && prompt < 20.0, "prompt estimate {prompt}");
    assert_eq!(total, prompt + completion);
}

#[tokio::test]
async fn token_metrics_are_not_emitted_without_usage_or_when_the_branch_is_not_taken() {
    let doc = policies(
        r#"<choose>
            <when condition="@(context.Request.Headers.ContainsKey("x-meter"))">
                <llm-emit-token-metric><dimension name="API ID" /></llm-emit-token-metric>
            </when>
        </choose>"#,
        "",
        "",
    );
    let (plan, services, h) = setup(&doc);
    h.http.sequence(
        MockMatch::host("aoai.example.com"),
        vec![
            completion(5, 5),
            MockReply::json(400, r#"{"error":{"code":"BadRequest"}}"#),
        ],
    );
    // Not metered: no metrics although the response has usage.
    go(&plan, &services, &h, CHAT).await;
    assert!(h.metrics.records().is_empty());
    // Metered, but the response carries no usage.
    let mut r = request(CHAT);
    r.headers.set_one("x-meter", "1").unwrap();
    let o = h.clock.run(plan::run(&plan, r, &services)).await;
    assert_eq!(o.response.status, 400);
    assert!(h.metrics.records().is_empty());
}

#[tokio::test]
async fn token_metric_dimension_expression_failures_go_to_on_error() {
    let doc = policies(
        r#"<llm-emit-token-metric>
            <dimension name="Team" value="@(context.Request.Headers["x-team"])" />
        </llm-emit-token-metric>"#,
        "",
        r#"<set-body>@(context.LastError.Source + "/" + context.LastError.Section)</set-body>"#,
    );
    let (plan, services, h) = setup(&doc);
    h.http
        .always(MockMatch::host("aoai.example.com"), completion(1, 1));
    let o = go(&plan, &services, &h, CHAT).await;
    assert_eq!(o.response.status, 500);
    let err = o.summary.error.expect("on-error ran");
    assert_eq!(err.reason, "ExpressionValueEvaluationFailure");
    assert_eq!(err.source, "llm-emit-token-metric");
    assert_eq!(h.http.call_count(), 0);
    assert!(h.metrics.records().is_empty());
}

#[tokio::test]
async fn token_limit_and_token_metric_count_the_same_usage() {
    let doc = policies(
        r#"<llm-token-limit counter-key="k" tokens-per-minute="1000" estimate-prompt-tokens="false"
              tokens-consumed-header-name="x-consumed" />
        <llm-emit-token-metric><dimension name="API ID" /></llm-emit-token-metric>"#,
        "",
        "",
    );
    let (plan, services, h) = setup(&doc);
    h.http
        .always(MockMatch::host("aoai.example.com"), completion(20, 9));
    let o = go(&plan, &services, &h, CHAT).await;
    assert_eq!(o.response.headers.first("x-consumed"), Some("29"));
    assert_eq!(by_name(&h.metrics.records(), "Total Tokens")[0].value, 29.0);
}

#[test]
fn dimension_limits_and_defaults_are_checked_when_compiling() {
    let dims = |n: usize| {
        (0..n)
            .map(|i| format!(r#"<dimension name="d{i}" value="v" />"#))
            .collect::<String>()
    };
    let d = diagnostics(&policies(
        &format!("<llm-emit-token-metric>{}</llm-emit-token-metric>", dims(6)),
        "",
        "",
    ));
    assert!(
        d.iter().any(|d| d.code == "PLAN0003"
            && d.message.contains("at most 5 dimensions, 6 are configured")),
        "{d:?}"
    );
    // azure-openai-emit-token-metric and emit-metric allow 10.
    let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 3);
    let ten = policies(
        &format!(
            "<azure-openai-emit-token-metric>{}</azure-openai-emit-token-metric>",
            dims(10)
        ),
        "",
        "",
    );
    assert!(compile(&service(&ten), &services).is_ok());
    let d = diagnostics(&policies(
        &format!(r#"<emit-metric name="m">{}</emit-metric>"#, dims(11)),
        "",
        "",
    ));
    assert!(
        d.iter()
            .any(|d| d.message.contains("at most 10 dimensions, 11")),
        "{d:?}"
    );
    // Backend ID is a default dimension of llm-emit-token-metric only.
    let d = diagnostics(&policies(
        r#"<emit-metric name="m"><dimension name="Backend ID" /></emit-metric>"#,
        "",
        "",
    ));
    assert!(
        d.iter()
            .any(|d| d.message.contains("dimension 'Backend ID' needs a value")),
        "{d:?}"
    );
    let d = diagnostics(&policies(
        r#"<emit-metric name="m" value="lots"><dimension name="API ID" /></emit-metric>"#,
        "",
        "",
    ));
    assert!(
        d.iter()
            .any(|d| d.message.contains("'lots' is not a number")),
        "{d:?}"
    );
}

#[tokio::test]
async fn log_to_eventhub_sends_the_message_with_its_partition_key() {
    let doc = policies(
        "",
        r#"<log-to-eventhub logger-id="usage-hub" partition-key="@(context.Subscription.Id)">@{
            var usage = context.Response.Body.As<JObject>(preserveContent: true)["usage"];
            return new JObject(
                new JProperty("subscriptionId", context.Subscription.Id),
                new JProperty("totalTokens", usage.Value<int>("total_tokens"))
            ).ToString(Newtonsoft.Json.Formatting.None);
        }</log-to-eventhub>
        <log-to-eventhub logger-id="audit" partition-id="2">done</log-to-eventhub>"#,
        "",
    );
    let (plan, services, h) = setup(&doc);
    h.http
        .always(MockMatch::host("aoai.example.com"), completion(40, 17));
    let o = go(&plan, &services, &h, CHAT).await;
    assert_eq!(o.response.status, 200);
    // The response body is still there for the client.
    assert!(
        String::from_utf8_lossy(o.response.body.peek().unwrap()).contains("\"total_tokens\":57")
    );
    let es = h.events.events();
    assert_eq!(es.len(), 2);
    assert_eq!(es[0].logger_id, "usage-hub");
    assert_eq!(es[0].partition_key.as_deref(), Some("finance"));
    assert_eq!(es[0].partition_id, None);
    assert_eq!(
        es[0].message,
        r#"{"subscriptionId":"finance","totalTokens":57}"#
    );
    assert_eq!(es[1].logger_id, "audit");
    assert_eq!(es[1].partition_id.as_deref(), Some("2"));
    assert_eq!(es[1].message, "done");
}

#[tokio::test]
async fn a_long_event_message_is_truncated_to_200_kb() {
    let doc = policies(
        r#"<log-to-eventhub logger-id="hub">@(new string('x', 300 * 1024))</log-to-eventhub>"#,
        "",
        "",
    );
    let (plan, services, h) = setup(&doc);
    h.http
        .always(MockMatch::host("aoai.example.com"), completion(1, 1));
    go(&plan, &services, &h, CHAT).await;
    assert_eq!(h.events.events()[0].message.len(), 200 * 1024);
}

#[tokio::test]
async fn a_failing_event_message_goes_to_on_error() {
    let doc = policies(
        r#"<log-to-eventhub logger-id="hub">@(context.Request.Headers["x-missing"])</log-to-eventhub>"#,
        "",
        r#"<log-to-eventhub logger-id="errors">@(context.LastError.Source + ": " + context.LastError.Reason)</log-to-eventhub>"#,
    );
    let (plan, services, h) = setup(&doc);
    let o = go(&plan, &services, &h, CHAT).await;
    assert_eq!(o.response.status, 500);
    let es = h.events.events();
    assert_eq!(es.len(), 1);
    assert_eq!(es[0].logger_id, "errors");
    assert_eq!(
        es[0].message,
        "log-to-eventhub: ExpressionValueEvaluationFailure"
    );
}

#[test]
fn partition_id_and_partition_key_exclude_each_other() {
    let d = diagnostics(&policies(
        r#"<log-to-eventhub logger-id="hub" partition-id="1" partition-key="k">m</log-to-eventhub>"#,
        "",
        "",
    ));
    assert!(
        d.iter()
            .any(|d| d.code == "PLAN0003" && d.message.contains("not both")),
        "{d:?}"
    );
}

/// The host's JSON-lines sink: one line per event, appended, in a temporary folder.
#[tokio::test]
async fn events_reach_a_json_lines_file() {
    let dir = std::env::temp_dir().join(format!(
        "apim-emu-events-{}-{}",
        std::process::id(),
        "plan_observe"
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("usage.jsonl");
    let doc = policies(
        r#"<log-to-eventhub logger-id="usage-hub" partition-key="@(context.Subscription.Id)">@(context.Operation.Id)</log-to-eventhub>"#,
        "",
        "",
    );
    let (mut services, h) = Services::for_tests(VirtualClock::at_default_start(), 3);
    services.events = Arc::new(JsonLinesFileSink::open(&path, services.clock.clone()).unwrap());
    let plan = compile(&service(&doc), &services).unwrap();
    h.http
        .always(MockMatch::host("aoai.example.com"), completion(1, 1));
    go(&plan, &services, &h, CHAT).await;
    h.clock.advance(Duration::from_secs(90));
    go(&plan, &services, &h, CHAT).await;
    // A second sink on the same file appends.
    let again = JsonLinesFileSink::open(&path, services.clock.clone()).unwrap();
    services.events = Arc::new(again);
    go(&plan, &services, &h, CHAT).await;
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        serde_json::json!({
            "enqueuedTimeUtc": "2024-01-01T00:00:00Z",
            "loggerId": "usage-hub",
            "partitionId": null,
            "partitionKey": "finance",
            "message": "chat",
        })
    );
    assert_eq!(lines[1]["enqueuedTimeUtc"], "2024-01-01T00:01:30Z");
    assert_eq!(lines[2]["loggerId"], "usage-hub");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn opening_an_event_file_in_a_missing_folder_is_an_error() {
    let clock = Arc::new(VirtualClock::at_default_start());
    let e = JsonLinesFileSink::open("/nonexistent-apim-emu-dir/x.jsonl", clock).unwrap_err();
    assert!(e.to_string().contains("cannot open event file"), "{e}");
}
