//! azure-openai-semantic-cache-lookup / -store and llm-semantic-cache-lookup / -store through
//! the Plan, on the virtual clock, with a mocked embeddings backend.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use apim_engine::http::{Body, Request, Url};
use apim_engine::plan::{self, Outcome, Plan};
use apim_engine::service::{
    Api, Backend, BackendCredentials, Operation, PolicySource, ServiceDefinition,
};
use apim_engine::services::{MockMatch, MockReply, Services, TestHandles, VirtualClock};

const EMB_HOST: &str = "emb.example.com";
const AOAI_HOST: &str = "aoai.example.com";

fn service(op_policy: &str) -> ServiceDefinition {
    let mut header = BTreeMap::new();
    header.insert("api-key".to_string(), vec!["emb-secret".to_string()]);
    ServiceDefinition {
        service_name: "contoso".into(),
        region: "West Europe".into(),
        apis: vec![Api {
            id: "openai".into(),
            name: "Azure OpenAI".into(),
            path: "openai".into(),
            service_url: Some(format!("https://{AOAI_HOST}/openai")),
            subscription_required: false,
            operations: vec![Operation {
                id: "chat".into(),
                name: "Chat completions".into(),
                method: "POST".into(),
                url_template: "/deployments/{d}/chat/completions".into(),
                policy: Some(PolicySource::inline("op:chat", op_policy)),
                ..Default::default()
            }],
            ..Default::default()
        }],
        backends: vec![Backend {
            id: "embeddings-backend".into(),
            url: Some(format!(
                "https://{EMB_HOST}/openai/deployments/text-embedding-3-small/embeddings"
            )),
            credentials: BackendCredentials {
                header,
                ..Default::default()
            },
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn policy(policy: &str, threshold: &str, extra: &str, vary_by: &str, duration: &str) -> String {
    let store = policy.replace("lookup", "store");
    format!(
        r#"<policies>
  <inbound>
    <base />
    <{policy} score-threshold="{threshold}" embeddings-backend-id="embeddings-backend"
        embeddings-backend-auth="system-assigned" {extra}>{vary_by}</{policy}>
  </inbound>
  <backend><base /></backend>
  <outbound>
    <base />
    <{store} duration="{duration}" />
    <set-header name="x-after-store" exists-action="override"><value>ran</value></set-header>
  </outbound>
  <on-error><base /></on-error>
</policies>"#
    )
}

fn chat(messages: &str, team: &str) -> Request {
    let mut r = Request::new(
        "POST",
        Url::parse(
            "https://gw.example.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
        )
        .unwrap(),
    );
    r.headers
        .set_one("Content-Type", "application/json")
        .unwrap();
    r.headers.set_one("x-team", team).unwrap();
    r.body = Body::from_bytes(format!(r#"{{"messages":{messages}}}"#));
    r
}

fn user(text: &str) -> Request {
    chat(
        &format!(r#"[{{"role":"user","content":"{text}"}}]"#),
        "alpha",
    )
}

fn setup(s: &ServiceDefinition) -> (Plan, Services, TestHandles) {
    common::compiled(s, 5)
}

fn embeddings_reply(v: &[f32]) -> MockReply {
    let body = serde_json::json!({
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": v}],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 5, "total_tokens": 5}
    });
    MockReply::json(200, &body.to_string())
}

/// The embeddings backend answers `text` (found in the request body) with `v`.
fn embeds(h: &TestHandles, text: &str, v: &[f32]) {
    h.http.always(
        MockMatch::host(EMB_HOST).with_body_containing(text),
        embeddings_reply(v),
    );
}

/// The simulator's deterministic embedding of `text`.
fn sim_embedding(text: &str) -> Vec<f32> {
    apim_simulator::embed::embed(text, 256, 7)
}

/// Chat completions answer with a fresh id each call.
fn completions(h: &TestHandles, n: usize) {
    let replies = (1..=n)
        .map(|i| {
            MockReply::json(
                200,
                &format!(
                    r#"{{"id":"chatcmpl-{i}","object":"chat.completion","choices":[{{"index":0,"message":{{"role":"assistant","content":"Answer {i}"}},"finish_reason":"stop"}}]}}"#
                ),
            )
            .header("x-backend-call", &i.to_string())
        })
        .collect();
    h.http.sequence(MockMatch::host(AOAI_HOST), replies);
}

async fn go(plan: &Plan, services: &Services, h: &TestHandles, r: Request) -> Outcome {
    h.clock.run(plan::run(plan, r, services)).await
}

fn body_text(o: &Outcome) -> String {
    String::from_utf8_lossy(o.response.body.peek().map(|b| b.as_ref()).unwrap_or(b"")).into_owned()
}

fn completion_id(o: &Outcome) -> String {
    let j: serde_json::Value = serde_json::from_str(&body_text(o)).unwrap_or_default();
    j["id"].as_str().unwrap_or("-").to_string()
}

fn chat_calls(h: &TestHandles) -> usize {
    h.http.calls_to(AOAI_HOST).len()
}

#[tokio::test]
async fn a_repeated_prompt_is_served_from_the_cache_without_calling_the_backend() {
    for name in [
        "azure-openai-semantic-cache-lookup",
        "llm-semantic-cache-lookup",
    ] {
        let (plan, services, h) = setup(&service(&policy(name, "0.05", "", "", "120")));
        embeds(
            &h,
            "capital of France",
            &sim_embedding("What is the capital of France?"),
        );
        completions(&h, 5);
        let first = go(&plan, &services, &h, user("What is the capital of France?")).await;
        assert_eq!(first.response.status, 200, "{}", body_text(&first));
        assert_eq!(completion_id(&first), "chatcmpl-1");
        assert_eq!(first.response.headers.first("x-after-store"), Some("ran"));
        assert_eq!(chat_calls(&h), 1);
        let second = go(&plan, &services, &h, user("What is the capital of France?")).await;
        assert_eq!(second.response.status, 200);
        assert_eq!(
            completion_id(&second),
            "chatcmpl-1",
            "{name}: served from the cache"
        );
        assert_eq!(second.response.headers.first("x-backend-call"), Some("1"));
        // Outbound policies after the store run for a hit too.
        assert_eq!(second.response.headers.first("x-after-store"), Some("ran"));
        assert_eq!(chat_calls(&h), 1, "{name}: no second backend call");
        // The embeddings call: the backend's URL with an api-version, its credentials and a
        // managed-identity token, Azure OpenAI's embeddings request.
        let emb = h.http.calls_to(EMB_HOST);
        assert_eq!(emb.len(), 2);
        let call = &emb[0];
        assert_eq!(call.method, "POST");
        assert_eq!(
            call.url.path(),
            "/openai/deployments/text-embedding-3-small/embeddings"
        );
        assert_eq!(
            call.url.query().get_joined("api-version").as_deref(),
            Some("2024-10-21")
        );
        assert_eq!(call.headers.first("api-key"), Some("emb-secret"));
        assert!(
            call.headers
                .first("Authorization")
                .is_some_and(|a| a.starts_with("Bearer ey")),
            "{:?}",
            call.headers.first("Authorization")
        );
        let sent: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
        assert_eq!(
            sent,
            serde_json::json!({"input": "What is the capital of France?"})
        );
    }
}

#[tokio::test]
async fn a_reworded_prompt_hits_and_an_unrelated_one_misses() {
    let asked = "How do I reset my password?";
    let reworded = "how can I reset my password";
    let unrelated = "The weather in Paris is sunny today";
    let d = |a: &str, b: &str| {
        let (x, y) = (sim_embedding(a), sim_embedding(b));
        1.0 - x
            .iter()
            .zip(&y)
            .map(|(p, q)| f64::from(*p) * f64::from(*q))
            .sum::<f64>()
    };
    // The simulator's embeddings put these where the test needs them.
    assert!(d(asked, reworded) < 0.3, "{}", d(asked, reworded));
    assert!(d(asked, unrelated) > 0.5, "{}", d(asked, unrelated));
    let (plan, services, h) = setup(&service(&policy(
        "llm-semantic-cache-lookup",
        "0.3",
        "",
        "",
        "60",
    )));
    for t in [asked, reworded, unrelated] {
        embeds(&h, t, &sim_embedding(t));
    }
    completions(&h, 5);
    assert_eq!(
        completion_id(&go(&plan, &services, &h, user(asked)).await),
        "chatcmpl-1"
    );
    assert_eq!(
        completion_id(&go(&plan, &services, &h, user(reworded)).await),
        "chatcmpl-1"
    );
    assert_eq!(chat_calls(&h), 1);
    assert_eq!(
        completion_id(&go(&plan, &services, &h, user(unrelated)).await),
        "chatcmpl-2"
    );
    assert_eq!(chat_calls(&h), 2);
}

#[tokio::test]
async fn score_threshold_is_a_distance_and_the_edge_is_a_hit() {
    // Stored [1, 0]; asked [0.8, 0.6]: cosine 0.8, distance 0.2 (to f32 precision).
    for (threshold, hit) in [
        ("0.2", true),
        ("0.1999", false),
        ("0.5", true),
        ("0.0", false),
    ] {
        let (plan, services, h) = setup(&service(&policy(
            "azure-openai-semantic-cache-lookup",
            threshold,
            "",
            "",
            "60",
        )));
        embeds(&h, "first", &[1.0, 0.0]);
        embeds(&h, "second", &[0.8, 0.6]);
        completions(&h, 5);
        go(&plan, &services, &h, user("first")).await;
        let o = go(&plan, &services, &h, user("second")).await;
        let expected = if hit { "chatcmpl-1" } else { "chatcmpl-2" };
        assert_eq!(completion_id(&o), expected, "threshold {threshold}");
        // The same vector again is at distance exactly 0: at most 0.0 is still a hit.
        let again = go(&plan, &services, &h, user("first")).await;
        assert_eq!(completion_id(&again), "chatcmpl-1", "threshold {threshold}");
    }
}

#[tokio::test]
async fn vary_by_partitions_the_cache() {
    let vary = r#"<vary-by>@(context.Request.Headers.GetValueOrDefault("x-team", ""))</vary-by><vary-by>-v1</vary-by>"#;
    let (plan, services, h) = setup(&service(&policy(
        "azure-openai-semantic-cache-lookup",
        "0.05",
        "",
        vary,
        "60",
    )));
    embeds(&h, "Hello", &sim_embedding("Hello"));
    completions(&h, 5);
    let msgs = r#"[{"role":"user","content":"Hello"}]"#;
    let ids = [
        completion_id(&go(&plan, &services, &h, chat(msgs, "alpha")).await),
        completion_id(&go(&plan, &services, &h, chat(msgs, "beta")).await),
        completion_id(&go(&plan, &services, &h, chat(msgs, "beta")).await),
        completion_id(&go(&plan, &services, &h, chat(msgs, "alpha")).await),
    ];
    assert_eq!(
        ids,
        ["chatcmpl-1", "chatcmpl-2", "chatcmpl-2", "chatcmpl-1"]
    );
    assert_eq!(chat_calls(&h), 2);
}

#[tokio::test]
async fn entries_expire_after_the_store_duration_on_the_engine_clock() {
    let (plan, services, h) = setup(&service(&policy(
        "llm-semantic-cache-lookup",
        "0.05",
        "",
        "",
        "@(60)",
    )));
    embeds(&h, "Hello", &sim_embedding("Hello"));
    completions(&h, 5);
    assert_eq!(
        completion_id(&go(&plan, &services, &h, user("Hello")).await),
        "chatcmpl-1"
    );
    h.clock.advance(Duration::from_secs(59));
    assert_eq!(
        completion_id(&go(&plan, &services, &h, user("Hello")).await),
        "chatcmpl-1"
    );
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(
        completion_id(&go(&plan, &services, &h, user("Hello")).await),
        "chatcmpl-2"
    );
    // The miss stored a fresh entry.
    assert_eq!(
        completion_id(&go(&plan, &services, &h, user("Hello")).await),
        "chatcmpl-2"
    );
}

#[tokio::test]
async fn a_failing_embeddings_call_is_a_miss_and_nothing_is_stored() {
    let (plan, services, h) = setup(&service(&policy(
        "azure-openai-semantic-cache-lookup",
        "0.05",
        "",
        "",
        "60",
    )));
    h.http.sequence(
        MockMatch::host(EMB_HOST),
        vec![
            MockReply::json(500, r#"{"error":{"code":"InternalServerError"}}"#),
            MockReply::fault(apim_engine::services::MockFault::ConnectionRefused),
            MockReply::json(200, r#"{"data":[]}"#),
        ],
    );
    embeds(&h, "Hello", &sim_embedding("Hello"));
    completions(&h, 5);
    for expected in ["chatcmpl-1", "chatcmpl-2", "chatcmpl-3"] {
        let o = go(&plan, &services, &h, user("Hello")).await;
        assert_eq!(o.response.status, 200, "{}", body_text(&o));
        assert_eq!(completion_id(&o), expected, "the backend answers");
        assert!(o.summary.error.is_none());
    }
    // Embeddings work again: the first success is a miss (nothing was stored), then a hit.
    assert_eq!(
        completion_id(&go(&plan, &services, &h, user("Hello")).await),
        "chatcmpl-4"
    );
    assert_eq!(
        completion_id(&go(&plan, &services, &h, user("Hello")).await),
        "chatcmpl-4"
    );
    assert_eq!(chat_calls(&h), 4);
}

#[tokio::test]
async fn system_messages_are_ignored_and_long_conversations_are_not_cached() {
    let (plan, services, h) = setup(&service(&policy(
        "azure-openai-semantic-cache-lookup",
        "0.05",
        r#"ignore-system-messages="true" max-message-count="2""#,
        "",
        "60",
    )));
    h.http.always(
        MockMatch::host(EMB_HOST),
        embeddings_reply(&sim_embedding("Hello")),
    );
    completions(&h, 5);
    let with_system = |s: &str| {
        chat(
            &format!(
                r#"[{{"role":"system","content":"{s}"}},{{"role":"user","content":"Hello"}}]"#
            ),
            "alpha",
        )
    };
    assert_eq!(
        completion_id(&go(&plan, &services, &h, with_system("Be brief.")).await),
        "chatcmpl-1"
    );
    let emb = h.http.calls_to(EMB_HOST);
    let sent: serde_json::Value = serde_json::from_slice(&emb[0].body).unwrap();
    assert_eq!(
        sent["input"], "Hello",
        "the system message is not vectorized"
    );
    assert_eq!(
        completion_id(&go(&plan, &services, &h, with_system("Be verbose.")).await),
        "chatcmpl-1"
    );
    // Three dialog messages (over max-message-count 2): no lookup, no store.
    let long = chat(
        r#"[{"role":"system","content":"x"},{"role":"user","content":"Hello"},{"role":"assistant","content":"Hi"},{"role":"user","content":"Hello"}]"#,
        "alpha",
    );
    let before = h.http.calls_to(EMB_HOST).len();
    assert_eq!(
        completion_id(&go(&plan, &services, &h, long).await),
        "chatcmpl-2"
    );
    assert_eq!(
        h.http.calls_to(EMB_HOST).len(),
        before,
        "no embeddings call"
    );
    assert_eq!(chat_calls(&h), 2);
}

#[tokio::test]
async fn only_200_responses_are_stored() {
    let (plan, services, h) = setup(&service(&policy(
        "azure-openai-semantic-cache-lookup",
        "0.05",
        "",
        "",
        "60",
    )));
    embeds(&h, "Hello", &sim_embedding("Hello"));
    h.http.sequence(
        MockMatch::host(AOAI_HOST),
        vec![
            MockReply::json(429, r#"{"error":{"code":"429"}}"#),
            MockReply::json(200, r#"{"id":"chatcmpl-ok","choices":[]}"#),
        ],
    );
    assert_eq!(
        go(&plan, &services, &h, user("Hello"))
            .await
            .response
            .status,
        429
    );
    assert_eq!(
        completion_id(&go(&plan, &services, &h, user("Hello")).await),
        "chatcmpl-ok"
    );
    assert_eq!(
        completion_id(&go(&plan, &services, &h, user("Hello")).await),
        "chatcmpl-ok"
    );
    assert_eq!(chat_calls(&h), 2);
}

fn diagnostics(doc: &str) -> Vec<String> {
    let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 1);
    match plan::compile(&service(doc), &services) {
        Ok(_) => Vec::new(),
        Err(d) => d
            .iter()
            .map(|d| format!("{} {}", d.code, d.message))
            .collect(),
    }
}

#[test]
fn configuration_errors_are_diagnostics() {
    let unknown = policy("llm-semantic-cache-lookup", "0.05", "", "", "60")
        .replace("embeddings-backend\"", "missing-backend\"");
    assert_eq!(
        diagnostics(&unknown),
        ["PLAN0011 backend 'missing-backend' is not defined"]
    );
    let bad = policy("llm-semantic-cache-lookup", "1.5", "", "", "60");
    assert_eq!(
        diagnostics(&bad),
        ["PLAN0008 score-threshold '1.5' must be a number between 0.0 and 1.0"]
    );
    let nested = r#"<policies><inbound><choose><when condition="@(true)">
        <llm-semantic-cache-lookup score-threshold="0.1" embeddings-backend-id="embeddings-backend" embeddings-backend-auth="system-assigned" />
        </when></choose></inbound><backend><forward-request /></backend></policies>"#;
    let d = diagnostics(nested);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].starts_with("PLAN0007"), "{d:?}");
    assert!(diagnostics(&policy("llm-semantic-cache-lookup", "0.05", "", "", "60")).is_empty());
}

#[tokio::test]
async fn a_huge_duration_keeps_the_entry_without_overflowing() {
    let (plan, services, h) = setup(&service(&policy(
        "llm-semantic-cache-lookup",
        "0.05",
        "",
        "",
        "9223372036854775807",
    )));
    embeds(&h, "Hello", &sim_embedding("Hello"));
    completions(&h, 5);
    assert_eq!(
        completion_id(&go(&plan, &services, &h, user("Hello")).await),
        "chatcmpl-1"
    );
    h.clock.advance(Duration::from_secs(365 * 24 * 3600));
    assert_eq!(
        completion_id(&go(&plan, &services, &h, user("Hello")).await),
        "chatcmpl-1"
    );
}
