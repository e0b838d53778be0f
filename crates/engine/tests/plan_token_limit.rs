//! azure-openai-token-limit / llm-token-limit through the Plan, on the virtual clock.

mod common;

use std::time::Duration;

use apim_engine::http::{Body, Request, Url};
use apim_engine::plan::{self, Outcome, Plan};
use apim_engine::service::{Api, Operation, PolicySource, ServiceDefinition};
use apim_engine::services::{MockMatch, MockReply, Services, TestHandles, VirtualClock};

fn service(api_policy: &str) -> ServiceDefinition {
    ServiceDefinition {
        service_name: "contoso".into(),
        region: "West Europe".into(),
        apis: vec![Api {
            id: "openai".into(),
            name: "Azure OpenAI".into(),
            path: "openai".into(),
            service_url: Some("https://aoai.example.com/openai".into()),
            subscription_required: false,
            policy: Some(PolicySource::inline("api:openai", api_policy)),
            operations: vec![Operation {
                id: "chat".into(),
                name: "Chat completions".into(),
                method: "POST".into(),
                url_template: "/deployments/{d}/chat/completions".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn request() -> Request {
    let mut r = Request::new(
        "POST",
        Url::parse("https://gw.example.com/openai/deployments/gpt-4o/chat/completions").unwrap(),
    );
    r.headers
        .set_one("Content-Type", "application/json")
        .unwrap();
    r.body = Body::from_bytes(r#"{"messages":[{"role":"user","content":"hi"}]}"#);
    r
}

fn setup(s: &ServiceDefinition) -> (Plan, Services, TestHandles) {
    common::compiled(s, 3)
}

async fn go(plan: &Plan, services: &Services, h: &TestHandles) -> Outcome {
    h.clock.run(plan::run(plan, request(), services)).await
}

fn completion(total: u64) -> MockReply {
    let body = format!(
        r#"{{"id":"chatcmpl-1","object":"chat.completion","choices":[{{"index":0,"message":{{"role":"assistant","content":"Hello"}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":{p},"completion_tokens":{c},"total_tokens":{total}}}}}"#,
        p = total - 10,
        c = 10
    );
    MockReply::json(200, &body)
}

fn body_text(o: &Outcome) -> String {
    String::from_utf8_lossy(o.response.body.peek().map(|b| b.as_ref()).unwrap_or(b"")).into_owned()
}

fn var(o: &Outcome, name: &str) -> Option<String> {
    o.variables
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

#[derive(Debug, PartialEq, Eq)]
enum Run {
    Ok {
        consumed: String,
        remaining: String,
    },
    TooMany {
        message: String,
        retry_after: String,
    },
}

fn run_of(o: &Outcome) -> Run {
    let h = |n: &str| o.response.headers.first(n).unwrap_or("-").to_string();
    match o.response.status {
        200 => Run::Ok {
            consumed: h("x-consumed-tokens"),
            remaining: h("x-remaining-tokens"),
        },
        429 => {
            let j: serde_json::Value = serde_json::from_str(&body_text(o)).unwrap();
            Run::TooMany {
                message: j["message"].as_str().unwrap_or("").to_string(),
                retry_after: h("Retry-After"),
            }
        }
        s => panic!("unexpected status {s}: {}", body_text(o)),
    }
}

/// The token-limit guide's transcript (same timings as the counter-level test in
/// `limits_support.rs`): TPM 100, a 15 s pause after each response, backend latencies 2 s then
/// 1 s.
#[tokio::test]
async fn token_limit_guide_transcript_through_the_plan() {
    for policy in ["azure-openai-token-limit", "llm-token-limit"] {
        let doc = format!(
            r#"<policies>
  <inbound>
    <base />
    <{policy} counter-key="@(context.Subscription?.Id ?? "anonymous")" tokens-per-minute="100"
        estimate-prompt-tokens="false" remaining-tokens-header-name="x-remaining-tokens"
        tokens-consumed-header-name="x-consumed-tokens" remaining-tokens-variable-name="remaining"
        tokens-consumed-variable-name="consumed" />
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"#
        );
        let (plan, services, h) = setup(&service(&doc));
        h.http.sequence(
            MockMatch::host("aoai.example.com"),
            vec![
                completion(59).latency(Duration::from_millis(2000)),
                completion(55).latency(Duration::from_millis(1000)),
                completion(55).latency(Duration::from_millis(1000)),
            ],
        );
        let mut runs = Vec::new();
        for _ in 0..5 {
            let o = go(&plan, &services, &h).await;
            if o.response.status == 200 {
                assert_eq!(
                    var(&o, "consumed").as_deref(),
                    o.response.headers.first("x-consumed-tokens")
                );
                assert_eq!(
                    var(&o, "remaining").as_deref(),
                    o.response.headers.first("x-remaining-tokens")
                );
                // The body is still there for the client after the usage was read.
                assert!(body_text(&o).contains("chat.completion"));
            }
            runs.push(run_of(&o));
            h.clock.advance(Duration::from_secs(15));
        }
        let ok = |c: &str, r: &str| Run::Ok {
            consumed: c.into(),
            remaining: r.into(),
        };
        let too_many = |n: u64| Run::TooMany {
            message: format!("Token limit is exceeded. Try again in {n} seconds."),
            retry_after: n.to_string(),
        };
        assert_eq!(
            runs,
            vec![
                ok("59", "41"),
                ok("55", "0"),
                too_many(29),
                too_many(14),
                ok("55", "0"),
            ],
            "{policy}"
        );
        assert_eq!(h.http.call_count(), 3, "429s never reach the backend");
    }
}

#[tokio::test]
async fn token_limit_errors_go_to_on_error_with_custom_names() {
    let doc = r#"<policies>
  <inbound>
    <llm-token-limit counter-key="k" tokens-per-minute="50" estimate-prompt-tokens="false"
        retry-after-header-name="x-wait" retry-after-variable-name="wait" />
  </inbound>
  <backend><forward-request /></backend>
  <outbound />
  <on-error>
    <set-header name="x-reason" exists-action="override">
      <value>@(context.LastError.Reason + "|" + context.LastError.Source)</value>
    </set-header>
  </on-error>
</policies>"#;
    let (plan, services, h) = setup(&service(doc));
    h.http
        .always(MockMatch::host("aoai.example.com"), completion(80));
    let first = go(&plan, &services, &h).await;
    assert_eq!(first.response.status, 200);
    h.clock.advance(Duration::from_secs(10));
    let second = go(&plan, &services, &h).await;
    assert_eq!(second.response.status, 429, "{}", body_text(&second));
    assert_eq!(second.response.headers.first("x-wait"), Some("50"));
    assert!(second.response.headers.first("Retry-After").is_none());
    assert_eq!(var(&second, "wait").as_deref(), Some("50"));
    assert_eq!(
        second.response.headers.first("x-reason"),
        Some("TokenLimitExceeded|llm-token-limit")
    );
}

#[tokio::test]
async fn token_quota_exceeded_is_a_403_with_the_wait_in_words() {
    let doc = r#"<policies>
  <inbound>
    <azure-openai-token-limit counter-key="k" token-quota="100" token-quota-period="Hourly"
        estimate-prompt-tokens="false" remaining-quota-tokens-header-name="x-quota-left"
        remaining-quota-tokens-variable-name="left" />
  </inbound>
  <backend><forward-request /></backend>
  <outbound />
  <on-error />
</policies>"#;
    let (plan, services, h) = setup(&service(doc));
    h.http
        .always(MockMatch::host("aoai.example.com"), completion(120));
    let first = go(&plan, &services, &h).await;
    assert_eq!(first.response.status, 200);
    assert_eq!(first.response.headers.first("x-quota-left"), Some("0"));
    assert_eq!(var(&first, "left").as_deref(), Some("0"));
    let second = go(&plan, &services, &h).await;
    assert_eq!(second.response.status, 403);
    assert!(
        body_text(&second).contains("Token quota is exceeded. Try again in"),
        "{}",
        body_text(&second)
    );
    assert!(second.response.headers.first("Retry-After").is_some());
}

#[test]
fn token_limit_attributes_are_checked_when_compiling() {
    let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 1);
    let compile = |attrs: &str| {
        let doc = format!(
            r#"<policies><inbound><llm-token-limit {attrs} /></inbound><backend><forward-request /></backend><outbound /><on-error /></policies>"#
        );
        match plan::compile(&service(&doc), &services) {
            Ok(_) => String::new(),
            Err(d) => d
                .iter()
                .map(|d| format!("{} {}", d.code, d.message))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    };
    assert_eq!(
        compile(r#"counter-key="k" tokens-per-minute="10" estimate-prompt-tokens="false""#),
        ""
    );
    assert!(
        compile(r#"counter-key="k" estimate-prompt-tokens="false""#)
            .contains("needs one of the attributes `tokens-per-minute`, `token-quota`")
    );
    assert!(
        compile(r#"counter-key="k" token-quota="10" estimate-prompt-tokens="false""#)
            .contains("token-quota and token-quota-period go together")
    );
    assert!(
        compile(r#"counter-key="k" token-quota="10" token-quota-period="Fortnightly" estimate-prompt-tokens="false""#)
            .contains("Fortnightly")
    );
}

/// estimate-prompt-tokens="true": the prompt is counted before the backend call, so a request
/// whose estimate does not fit is refused without reaching the backend.
#[tokio::test]
async fn estimated_prompt_tokens_are_counted_before_the_backend_call() {
    let body: serde_json::Value =
        serde_json::from_str(r#"{"messages":[{"role":"user","content":"hi"}]}"#).unwrap();
    let expected = apim_simulator::tokens::count_prompt_tokens(
        apim_simulator::tokens::Operation::ChatCompletions,
        "",
        &body,
        apim_simulator::tokens::CountOptions { image_tokens: 1200 },
    )
    .unwrap();
    assert!(expected > 0 && expected < 10, "{expected}");
    let mut statuses = Vec::new();
    for estimate in ["true", "false"] {
        let doc = format!(
            r#"<policies>
  <inbound>
    <azure-openai-token-limit counter-key="k" tokens-per-minute="20"
        estimate-prompt-tokens="{estimate}" tokens-consumed-variable-name="consumed" />
  </inbound>
  <backend>
    <set-variable name="in-backend" value="@(context.Variables["consumed"].ToString())" />
    <forward-request />
  </backend>
  <outbound />
  <on-error />
</policies>"#
        );
        let (plan, services, h) = setup(&service(&doc));
        h.http
            .always(MockMatch::host("aoai.example.com"), completion(15));
        let first = go(&plan, &services, &h).await;
        assert_eq!(first.response.status, 200);
        let in_backend = if estimate == "true" { expected } else { 0 };
        assert_eq!(
            var(&first, "in-backend"),
            Some(in_backend.to_string()),
            "{estimate}"
        );
        assert_eq!(var(&first, "consumed").as_deref(), Some("15"));
        let second = go(&plan, &services, &h).await;
        statuses.push((second.response.status, h.http.call_count()));
    }
    assert_eq!(statuses, vec![(429, 1), (200, 2)]);
}

/// A streamed completion: the usage is read from the last server-sent event that carries it,
/// and the client still gets every event.
#[tokio::test]
async fn streamed_responses_are_counted_from_the_usage_chunk() {
    let doc = r#"<policies>
  <inbound>
    <llm-token-limit counter-key="k" tokens-per-minute="100" estimate-prompt-tokens="false"
        tokens-consumed-header-name="x-consumed" remaining-tokens-header-name="x-left" />
  </inbound>
  <backend><forward-request /></backend>
  <outbound />
  <on-error />
</policies>"#;
    let (plan, services, h) = setup(&service(doc));
    let events = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n\
                  data: {\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":7,\"total_tokens\":37}}\n\n\
                  data: [DONE]\n\n";
    h.http.always(
        MockMatch::host("aoai.example.com"),
        MockReply::status(200)
            .header("Content-Type", "text/event-stream")
            .chunk(Duration::from_millis(10), events.to_string()),
    );
    let o = go(&plan, &services, &h).await;
    assert_eq!(o.response.status, 200);
    assert_eq!(o.response.headers.first("x-consumed"), Some("37"));
    assert_eq!(o.response.headers.first("x-left"), Some("63"));
    assert!(body_text(&o).ends_with("data: [DONE]\n\n"));
}

/// A streamed request (`"stream": true`) has its prompt estimated even with
/// estimate-prompt-tokens="false".
#[tokio::test]
async fn a_streamed_request_is_always_estimated() {
    let doc = r#"<policies>
  <inbound>
    <llm-token-limit counter-key="k" tokens-per-minute="20" estimate-prompt-tokens="false" />
  </inbound>
  <backend><forward-request /></backend>
  <outbound />
  <on-error />
</policies>"#;
    let (plan, services, h) = setup(&service(doc));
    h.http
        .always(MockMatch::host("aoai.example.com"), completion(15));
    let streamed = || {
        let mut r = request();
        r.body = Body::from_bytes(r#"{"stream":true,"messages":[{"role":"user","content":"hi"}]}"#);
        r
    };
    let first = h.clock.run(plan::run(&plan, streamed(), &services)).await;
    assert_eq!(first.response.status, 200);
    // 15 counted; the estimate of the next prompt does not fit in the 5 left.
    let second = h.clock.run(plan::run(&plan, streamed(), &services)).await;
    assert_eq!(second.response.status, 429);
    assert_eq!(h.http.call_count(), 1);
}

#[tokio::test]
async fn the_trace_says_what_the_token_limit_decided() {
    let doc = r#"<policies>
  <inbound>
    <base />
    <llm-token-limit counter-key="k" tokens-per-minute="100" estimate-prompt-tokens="false" />
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"#;
    let (plan, services, h) = setup(&service(doc));
    h.http.sequence(
        MockMatch::host("aoai.example.com"),
        vec![completion(120), completion(10)],
    );
    let traced = |o: &Outcome| -> Vec<serde_json::Value> {
        o.trace
            .all()
            .filter(|(_, e)| e.source == "llm-token-limit")
            .map(|(_, e)| e.data.clone())
            .collect()
    };
    let first = h
        .clock
        .run(plan::run_with(&plan, request(), &services, true))
        .await;
    assert_eq!(first.response.status, 200);
    let entries = traced(&first);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["counterKey"], "k");
    assert_eq!(entries[0]["decision"], "allowed");
    let second = h
        .clock
        .run(plan::run_with(&plan, request(), &services, true))
        .await;
    assert_eq!(second.response.status, 429);
    let entries = traced(&second);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(
        entries[0]["decision"]["tokenLimitExceeded"]["retryAfterSeconds"]
            .as_u64()
            .is_some_and(|s| s > 0 && s <= 60),
        "{entries:?}"
    );
}
