//! Endpoints, response shapes, errors, streaming, embeddings, faults and latency, in process.

mod common;

use std::sync::Arc;
use std::time::Duration;

use apim_simulator::{ConnectionDropped, ManualClock, ScriptedRng, tokens};
use bytes::Bytes;
use common::*;
use serde_json::{Value, json};

const CONFIG: &str = r#"
seed: 5
auth: { keys: [good-key] }
deployments:
  gpt-4o: { model: gpt-4o, model_version: "2024-08-06" }
  gpt-35-turbo: { model: gpt-35-turbo, context_window: 100 }
  instruct: { model: gpt-35-turbo-instruct }
  ada: { model: text-embedding-ada-002 }
  small: { model: text-embedding-3-small }
"#;

fn keyed(path: &str, body: &str) -> http::Request<Bytes> {
    http::Request::post(path)
        .header("api-key", "good-key")
        .body(Bytes::from(body.to_string()))
        .unwrap()
}

fn setup() -> (ManualClock, apim_simulator::Simulator) {
    let clock = ManualClock::at_default_start();
    let s = sim(CONFIG, &clock);
    (clock, s)
}

const HELLO: &str = r#"{"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello","name":"bob"}]}"#;

#[tokio::test]
async fn chat_completion_has_azures_shape_and_exact_usage() {
    let (_, sim) = setup();
    let r = sim
        .handle(keyed(&chat_path("gpt-4o"), HELLO))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "content-type").as_deref(),
        Some("application/json")
    );
    assert!(header(&r, "apim-request-id").is_some());
    let b = json(r).await;
    assert!(b["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(b["object"], "chat.completion");
    assert_eq!(b["model"], "gpt-4o-2024-08-06");
    assert_eq!(b["created"], 1_704_067_200u64);
    assert!(b["system_fingerprint"].as_str().unwrap().starts_with("fp_"));
    assert_eq!(b["prompt_filter_results"][0]["prompt_index"], 0);
    let choice = &b["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["content_filter_results"]["hate"]["severity"], "safe");
    let text = choice["message"]["content"].as_str().unwrap();
    let enc = tokens::Encoding::O200kBase;
    // Cookbook: 3 per message + tokens of every value + 1 for name, + 3.
    let expected_prompt = 3
        + enc.count("system")
        + enc.count("You are terse.")
        + 3
        + enc.count("user")
        + enc.count("Say hello")
        + enc.count("bob")
        + 1
        + 3;
    assert_eq!(b["usage"]["prompt_tokens"], expected_prompt);
    assert_eq!(b["usage"]["completion_tokens"], enc.count(text));
    assert_eq!(
        b["usage"]["total_tokens"].as_u64().unwrap(),
        (expected_prompt + enc.count(text)) as u64
    );
    let n = enc.count(text);
    assert!((20..=62).contains(&n), "answer length {n}");
}

#[tokio::test]
async fn answers_are_deterministic_and_depend_on_prompt_and_seed() {
    let (_, sim) = setup();
    let text = |body: Value| {
        let sim = sim.clone();
        async move {
            let b = json(
                sim.handle(keyed(&chat_path("gpt-4o"), &body.to_string()))
                    .await
                    .unwrap(),
            )
            .await;
            b["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let m = json!([{"role": "user", "content": "Tell me a story"}]);
    let a = text(json!({"messages": m})).await;
    assert_eq!(a, text(json!({"messages": m})).await);
    assert_ne!(a, text(json!({"messages": m, "seed": 42})).await);
    assert_ne!(
        a,
        text(json!({"messages": [{"role": "user", "content": "Tell me a joke"}]})).await
    );
}

#[tokio::test]
async fn max_tokens_cuts_the_answer_with_length() {
    let (_, sim) = setup();
    for field in ["max_tokens", "max_completion_tokens"] {
        let body = json!({"messages": [{"role": "user", "content": "hi"}], field: 5});
        let b = json(
            sim.handle(keyed(&chat_path("gpt-4o"), &body.to_string()))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(b["choices"][0]["finish_reason"], "length");
        assert_eq!(b["usage"]["completion_tokens"], 5);
        let text = b["choices"][0]["message"]["content"].as_str().unwrap();
        assert_eq!(tokens::Encoding::O200kBase.count(text), 5);
    }
}

#[tokio::test]
async fn n_choices() {
    let (_, sim) = setup();
    let body = r#"{"messages":[{"role":"user","content":"hi"}],"n":3}"#;
    let b = json(sim.handle(keyed(&chat_path("gpt-4o"), body)).await.unwrap()).await;
    let choices = b["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 3);
    let total: u64 = choices
        .iter()
        .map(|c| {
            tokens::Encoding::O200kBase.count(c["message"]["content"].as_str().unwrap()) as u64
        })
        .sum();
    assert_eq!(b["usage"]["completion_tokens"], total);
}

#[tokio::test]
async fn openai_style_routes_pick_the_deployment_from_model_and_accept_bearer() {
    let (_, sim) = setup();
    for path in ["/v1/chat/completions", "/openai/v1/chat/completions"] {
        let req = http::Request::post(path)
            .header("authorization", "Bearer good-key")
            .body(Bytes::from(
                r#"{"model":"gpt-35-turbo","messages":[{"role":"user","content":"hi"}]}"#,
            ))
            .unwrap();
        let r = sim.handle(req).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(json(r).await["model"], "gpt-35-turbo");
    }
}

#[tokio::test]
async fn errors_have_azures_shapes() {
    let (_, sim) = setup();
    let cases: Vec<(http::Request<Bytes>, u16, Value)> = vec![
        (post(&chat_path("gpt-4o"), HELLO), 401, json!("401")),
        (
            http::Request::post(chat_path("gpt-4o"))
                .body(Bytes::from(HELLO))
                .unwrap(),
            401,
            json!("401"),
        ),
        (
            keyed("/openai/deployments/gpt-4o/chat/completions", HELLO),
            404,
            json!("404"),
        ),
        (
            keyed(&chat_path("nope"), HELLO),
            404,
            json!("DeploymentNotFound"),
        ),
        (
            keyed(
                "/openai/deployments/gpt-4o/images/generations?api-version=1",
                HELLO,
            ),
            404,
            json!("404"),
        ),
        (keyed(&chat_path("gpt-4o"), "{not json"), 400, Value::Null),
        (keyed(&chat_path("gpt-4o"), "{}"), 400, Value::Null),
        (
            keyed(&chat_path("gpt-4o"), r#"{"messages":[]}"#),
            400,
            Value::Null,
        ),
        (
            keyed(
                &chat_path("gpt-4o"),
                r#"{"messages":[{"role":"robot","content":"x"}]}"#,
            ),
            400,
            Value::Null,
        ),
        (
            keyed(
                &chat_path("gpt-4o"),
                r#"{"messages":[{"role":"user","content":"x"}],"max_tokens":0}"#,
            ),
            400,
            Value::Null,
        ),
        (
            keyed(
                &chat_path("gpt-4o"),
                r#"{"messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}"#,
            ),
            400,
            Value::Null,
        ),
        (
            keyed(&chat_path("ada"), HELLO),
            400,
            json!("OperationNotSupported"),
        ),
        (
            keyed(
                &chat_path("gpt-4o"),
                r#"{"messages":[{"role":"user","content":"x"}],"temperature":2.5}"#,
            ),
            400,
            Value::Null,
        ),
        (
            keyed(
                &chat_path("gpt-4o"),
                r#"{"messages":[{"role":"user","content":"x"}],"top_p":"high"}"#,
            ),
            400,
            Value::Null,
        ),
        (
            keyed(
                &chat_path("gpt-35-turbo"),
                r#"{"messages":[{"role":"user","content":"x"}],"max_tokens":95}"#,
            ),
            400,
            json!("context_length_exceeded"),
        ),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let r = sim.handle(req).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "case {i}");
        let b = json(r).await;
        assert_eq!(b["error"]["code"], code, "case {i}: {b}");
        assert!(
            b["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "case {i}"
        );
        if status == 400 {
            assert_eq!(b["error"]["type"], "invalid_request_error", "case {i}");
            assert!(
                b["error"].as_object().unwrap().contains_key("param"),
                "case {i}"
            );
        }
    }
    let b = json(sim.handle(keyed(&chat_path("gpt-4o"), "{}")).await.unwrap()).await;
    assert_eq!(b["error"]["message"], "'messages' is a required property");
    let b = json(sim.handle(post(&chat_path("gpt-4o"), HELLO)).await.unwrap()).await;
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Access denied due to invalid subscription key")
    );
}

fn sse_events(body: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(body).unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| e.strip_prefix("data: ").expect("data: prefix").to_string())
        .collect()
}

#[tokio::test]
async fn streaming_sends_azures_chunks_and_the_usage_chunk() {
    let (_, sim) = setup();
    let plain = json(
        sim.handle(keyed(&chat_path("gpt-4o"), HELLO))
            .await
            .unwrap(),
    )
    .await;
    let mut body: Value = serde_json::from_str(HELLO).unwrap();
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let r = sim
        .handle(keyed(&chat_path("gpt-4o"), &body.to_string()))
        .await
        .unwrap();
    assert_eq!(
        header(&r, "content-type").as_deref(),
        Some("text/event-stream; charset=utf-8")
    );
    let events = sse_events(&body_bytes(r).await);
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    // Prompt filter results first, with empty choices and id.
    assert_eq!(chunks[0]["choices"], json!([]));
    assert_eq!(chunks[0]["id"], "");
    assert!(chunks[0]["prompt_filter_results"].is_array());
    // Then the role.
    assert_eq!(chunks[1]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(chunks[1]["object"], "chat.completion.chunk");
    // Content deltas rebuild the same text as the non-streamed answer.
    let n = chunks.len();
    let text: String = chunks[2..n - 2]
        .iter()
        .map(|c| c["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        text,
        plain["choices"][0]["message"]["content"].as_str().unwrap()
    );
    // One chunk per token.
    assert_eq!(
        (n - 4) as u64,
        plain["usage"]["completion_tokens"].as_u64().unwrap()
    );
    assert_eq!(chunks[n - 2]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[n - 2]["choices"][0]["delta"], json!({}));
    assert_eq!(chunks[n - 1]["choices"], json!([]));
    assert_eq!(chunks[n - 1]["usage"], plain["usage"]);
    assert!(chunks[2]["usage"].is_null());
    let id = chunks[1]["id"].as_str().unwrap();
    assert!(chunks[1..].iter().all(|c| c["id"] == id));

    // Without include_usage: no usage chunk and no usage fields.
    body.as_object_mut().unwrap().remove("stream_options");
    let r = sim
        .handle(keyed(&chat_path("gpt-4o"), &body.to_string()))
        .await
        .unwrap();
    let events = sse_events(&body_bytes(r).await);
    assert!(events.iter().all(|e| !e.contains("\"usage\"")));
}

#[tokio::test]
async fn streaming_is_paced_by_the_latency_model_on_the_virtual_clock() {
    let clock = ManualClock::at_default_start();
    let sim = sim(
        r#"deployments: { chat: { model: gpt-4o, response_tokens: { min: 3, max: 3 },
             latency: { time_to_first_token_ms: 500, time_per_token_ms: 100 } } }"#,
        &clock,
    );
    let body = r#"{"messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":3}"#;
    let r = sim.handle(post(&chat_path("chat"), body)).await.unwrap();
    let mut body = r.into_body();
    use http_body_util::BodyExt;
    let next = |b: &mut apim_simulator::Body| {
        let f = b.frame();
        futures_util::FutureExt::now_or_never(f)
    };
    // Nothing before the time to first token.
    assert!(next(&mut body).is_none());
    clock.advance(Duration::from_millis(499));
    assert!(next(&mut body).is_none());
    clock.advance(Duration::from_millis(1));
    // Prompt filter, role and the first token come together.
    for _ in 0..3 {
        assert!(next(&mut body).is_some());
    }
    assert!(next(&mut body).is_none());
    clock.advance(Duration::from_millis(100));
    assert!(next(&mut body).is_some());
    assert!(next(&mut body).is_none());
}

#[tokio::test]
async fn non_streamed_answer_waits_first_token_plus_per_token() {
    let clock = ManualClock::at_default_start();
    let sim = sim(
        r#"deployments: { chat: { model: gpt-4o, latency: { time_to_first_token_ms: 1000, time_per_token_ms: 10 } } }"#,
        &clock,
    );
    let body = r#"{"messages":[{"role":"user","content":"hi"}],"max_tokens":11}"#;
    let mut fut = Box::pin(sim.handle(post(&chat_path("chat"), body)));
    assert!(futures_util::poll!(&mut fut).is_pending());
    clock.advance(Duration::from_millis(1099));
    assert!(futures_util::poll!(&mut fut).is_pending());
    clock.advance(Duration::from_millis(1));
    match futures_util::poll!(&mut fut) {
        std::task::Poll::Ready(r) => assert_eq!(r.unwrap().status(), 200),
        std::task::Poll::Pending => panic!("answer should be ready after 1 s + 10 x 10 ms"),
    }
}

#[tokio::test]
async fn faults_follow_the_seeded_draws() {
    let clock = ManualClock::at_default_start();
    let rng = Arc::new(ScriptedRng::new([]));
    let sim = sim_with(
        r#"deployments: { chat: { model: gpt-4o, faults: { error_500_rate: 0.1, error_503_rate: 0.1, timeout_rate: 0.1, timeout_seconds: 30, drop_rate: 0.1 } } }"#,
        &clock,
        rng.clone(),
    );
    let body = r#"{"messages":[{"role":"user","content":"hi"}]}"#;
    rng.push([0.05]);
    let r = sim.handle(post(&chat_path("chat"), body)).await.unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(json(r).await["error"]["type"], "server_error");
    rng.push([0.15]);
    let r = sim.handle(post(&chat_path("chat"), body)).await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(json(r).await["error"]["code"], "ServiceUnavailable");
    rng.push([0.35]);
    assert_eq!(
        sim.handle(post(&chat_path("chat"), body))
            .await
            .unwrap_err(),
        ConnectionDropped
    );
    rng.push([0.25]);
    let mut fut = Box::pin(sim.handle(post(&chat_path("chat"), body)));
    assert!(futures_util::poll!(&mut fut).is_pending());
    clock.advance(Duration::from_secs(29));
    assert!(futures_util::poll!(&mut fut).is_pending());
    clock.advance(Duration::from_secs(1));
    match futures_util::poll!(&mut fut) {
        std::task::Poll::Ready(r) => assert_eq!(r.unwrap_err(), ConnectionDropped),
        std::task::Poll::Pending => panic!("timed-out request should drop after 30 s"),
    }
    rng.push([0.45]);
    assert_eq!(
        sim.handle(post(&chat_path("chat"), body))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn seeded_faults_hit_about_their_share() {
    let clock = ManualClock::at_default_start();
    let sim = sim(
        r#"seed: 11
deployments: { chat: { model: gpt-4o, faults: { error_503_rate: 0.3 } } }"#,
        &clock,
    );
    let body = r#"{"messages":[{"role":"user","content":"hi"}]}"#;
    let mut failed = 0;
    for _ in 0..1000 {
        if sim
            .handle(post(&chat_path("chat"), body))
            .await
            .unwrap()
            .status()
            == 503
        {
            failed += 1;
        }
    }
    assert!((250..350).contains(&failed), "{failed} of 1000 failed");
}

#[tokio::test]
async fn embeddings_sizes_usage_and_similarity() {
    let (_, sim) = setup();
    let path = |d: &str| format!("/openai/deployments/{d}/embeddings?api-version=2024-10-21");
    let embed = |d: &'static str, body: Value| {
        let sim = sim.clone();
        let p = path(d);
        async move { json(sim.handle(keyed(&p, &body.to_string())).await.unwrap()).await }
    };
    let b = embed("ada", json!({"input": "The food was delicious"})).await;
    assert_eq!(b["object"], "list");
    assert_eq!(b["model"], "text-embedding-ada-002");
    assert_eq!(b["data"][0]["object"], "embedding");
    assert_eq!(b["data"][0]["embedding"].as_array().unwrap().len(), 1536);
    let n = tokens::Encoding::Cl100kBase.count("The food was delicious");
    assert_eq!(b["usage"], json!({"prompt_tokens": n, "total_tokens": n}));

    let b = embed("small", json!({"input": ["How do I reset my password?", "how can i reset my password", "Quarterly revenue grew in Europe"], "dimensions": 256})).await;
    let v: Vec<Vec<f64>> = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    assert!(v.iter().all(|x| x.len() == 256));
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    assert!((dot(&v[0], &v[0]) - 1.0).abs() < 1e-4);
    assert!(dot(&v[0], &v[1]) > 0.7, "similar: {}", dot(&v[0], &v[1]));
    assert!(dot(&v[0], &v[2]) < 0.3, "unrelated: {}", dot(&v[0], &v[2]));

    let b = embed("small", json!({"input": "x", "encoding_format": "base64"})).await;
    let s = b["data"][0]["embedding"].as_str().unwrap();
    assert_eq!(s.len(), (1536 * 4usize).div_ceil(3) * 4);

    let b = embed("ada", json!({"input": "x", "dimensions": 256})).await;
    assert_eq!(
        b["error"]["message"],
        "This model does not support specifying dimensions."
    );
    let b = embed("ada", json!({"input": []})).await;
    assert_eq!(b["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn legacy_completions() {
    let (_, sim) = setup();
    let p = "/openai/deployments/instruct/completions?api-version=2024-10-21";
    let b = json(
        sim.handle(keyed(p, r#"{"prompt":"Once upon a time"}"#))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(b["object"], "text_completion");
    assert!(b["id"].as_str().unwrap().starts_with("cmpl-"));
    // Completions default to max_tokens 16.
    assert_eq!(b["choices"][0]["finish_reason"], "length");
    assert_eq!(b["usage"]["completion_tokens"], 16);
    assert_eq!(
        b["usage"]["prompt_tokens"],
        tokens::Encoding::Cl100kBase.count("Once upon a time")
    );
}

#[tokio::test]
async fn legacy_completions_stream_text_chunks() {
    let (_, sim) = setup();
    let p = "/openai/deployments/instruct/completions?api-version=2024-10-21";
    let body = r#"{"prompt":"Once upon a time","max_tokens":4,"stream":true}"#;
    let r = sim.handle(keyed(p, body)).await.unwrap();
    let events = sse_events(&body_bytes(r).await);
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"], json!([]));
    let text: String = chunks[1..chunks.len() - 1]
        .iter()
        .map(|c| c["choices"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(tokens::Encoding::Cl100kBase.count(&text), 4);
    let last = chunks.last().unwrap();
    assert_eq!(last["object"], "text_completion");
    assert_eq!(last["choices"][0]["finish_reason"], "length");
}

#[tokio::test]
async fn router_serves_the_same_answers_as_handle() {
    use tower::ServiceExt;
    let (_, sim) = setup();
    let direct = json(
        sim.handle(keyed(&chat_path("gpt-4o"), HELLO))
            .await
            .unwrap(),
    )
    .await;
    let req = http::Request::post(chat_path("gpt-4o"))
        .header("api-key", "good-key")
        .body(apim_simulator::Body::from(HELLO))
        .unwrap();
    let r = sim.router().oneshot(req).await.unwrap();
    assert_eq!(r.status(), 200);
    let routed = json(r).await;
    assert_eq!(routed["choices"], direct["choices"]);
    assert_eq!(routed["usage"], direct["usage"]);
}
