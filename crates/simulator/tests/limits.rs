//! 429 and Retry-After behaviour, on the virtual clock (nothing sleeps).

mod common;

use std::time::Duration;

use apim_simulator::ManualClock;
use common::*;

const TPM_100: &str = r#"
deployments:
  chat:
    model: gpt-4o
    tokens_per_minute: 100
    requests_per_minute: 0
"#;

fn small_request(max_tokens: u32) -> String {
    format!(
        r#"{{"messages":[{{"role":"user","content":"Hello there"}}],"max_tokens":{max_tokens}}}"#
    )
}

#[tokio::test]
async fn token_limit_refuses_with_retry_after_until_the_window_slides() {
    let clock = ManualClock::at_default_start();
    let sim = sim(TPM_100, &clock);
    // "Hello there" with the chat formula: 3 + role(1) + content(2) + 3 = 9 prompt tokens;
    // charged 9 + max_tokens at admission.
    let r = sim
        .handle(post(&chat_path("chat"), &small_request(50)))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "x-ratelimit-remaining-tokens").as_deref(),
        Some("41")
    );
    let body = json(r).await;
    assert_eq!(body["usage"]["prompt_tokens"], 9);

    clock.advance(Duration::from_secs(15));
    let r = sim
        .handle(post(&chat_path("chat"), &small_request(32)))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "x-ratelimit-remaining-tokens").as_deref(),
        Some("0")
    );

    clock.advance(Duration::from_secs(15));
    let r = sim
        .handle(post(&chat_path("chat"), &small_request(10)))
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    // The first request (59 tokens) leaves the window 60 s after it was made: 30 s from now.
    assert_eq!(header(&r, "retry-after").as_deref(), Some("30"));
    assert_eq!(header(&r, "retry-after-ms").as_deref(), Some("30000"));
    assert_eq!(
        header(&r, "x-ratelimit-remaining-tokens").as_deref(),
        Some("0")
    );
    let body = json(r).await;
    assert_eq!(body["error"]["code"], "429");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit"),
        "{message}"
    );
    assert!(
        message.contains("Please retry after 30 seconds."),
        "{message}"
    );

    clock.advance(Duration::from_millis(29_500));
    let r = sim
        .handle(post(&chat_path("chat"), &small_request(10)))
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "retry-after").as_deref(), Some("1"));
    assert_eq!(header(&r, "retry-after-ms").as_deref(), Some("500"));

    clock.advance(Duration::from_millis(500));
    let r = sim
        .handle(post(&chat_path("chat"), &small_request(10)))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // 41 from the second request still in the window, plus 19 now.
    assert_eq!(
        header(&r, "x-ratelimit-remaining-tokens").as_deref(),
        Some("40")
    );
}

#[tokio::test]
async fn request_limit_uses_call_rate_wording() {
    let clock = ManualClock::at_default_start();
    let sim = sim(
        "deployments: { chat: { model: gpt-35-turbo, requests_per_minute: 2 } }",
        &clock,
    );
    for expected in ["1", "0"] {
        let r = sim
            .handle(post(&chat_path("chat"), &small_request(5)))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            header(&r, "x-ratelimit-remaining-requests").as_deref(),
            Some(expected)
        );
        assert_eq!(header(&r, "x-ratelimit-remaining-tokens"), None);
        clock.advance(Duration::from_secs(10));
    }
    let r = sim
        .handle(post(&chat_path("chat"), &small_request(5)))
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "retry-after").as_deref(), Some("40"));
    let body = json(r).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exceeded call rate limit")
    );
}

#[tokio::test]
async fn rpm_is_derived_from_tpm_like_azure() {
    let clock = ManualClock::at_default_start();
    // 1000 TPM gives 6 RPM.
    let sim = sim(
        "deployments: { chat: { model: gpt-4o, tokens_per_minute: 1000 } }",
        &clock,
    );
    let r = sim
        .handle(post(&chat_path("chat"), &small_request(5)))
        .await
        .unwrap();
    assert_eq!(
        header(&r, "x-ratelimit-remaining-requests").as_deref(),
        Some("5")
    );
    assert_eq!(
        header(&r, "x-ratelimit-remaining-tokens").as_deref(),
        Some("986")
    );
}

#[tokio::test]
async fn reset_and_runtime_reconfiguration_through_the_admin_endpoint() {
    let clock = ManualClock::at_default_start();
    let sim = sim(TPM_100, &clock);
    let r = sim
        .handle(post(&chat_path("chat"), &small_request(91)))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = sim
        .handle(post(&chat_path("chat"), &small_request(1)))
        .await
        .unwrap();
    assert_eq!(r.status(), 429);

    let r = sim
        .handle(post("/_sim/deployments/chat/usage", ""))
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "usage is GET only");
    let get = http::Request::get("/_sim/deployments/chat/usage")
        .body(bytes::Bytes::new())
        .unwrap();
    let usage = json(sim.handle(get).await.unwrap()).await;
    assert_eq!(usage["tokens_in_window"], 100);

    let r = sim.handle(post("/_sim/reset", "")).await.unwrap();
    assert_eq!(r.status(), 204);
    let r = sim
        .handle(post(&chat_path("chat"), &small_request(1)))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Raise the limit at run time; usage already counted is kept.
    let put = http::Request::put("/_sim/deployments/chat")
        .body(bytes::Bytes::from(
            r#"{"model":"gpt-4o","tokens_per_minute":1000,"requests_per_minute":0}"#,
        ))
        .unwrap();
    let r = sim.handle(put).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = sim
        .handle(post(&chat_path("chat"), &small_request(1)))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "x-ratelimit-remaining-tokens").as_deref(),
        Some("980")
    );

    let get = http::Request::get("/_sim/deployments/chat")
        .body(bytes::Bytes::new())
        .unwrap();
    let config = json(sim.handle(get).await.unwrap()).await;
    assert_eq!(config["tokens_per_minute"], 1000);

    let bad = http::Request::put("/_sim/deployments/chat")
        .body(bytes::Bytes::from(
            r#"{"model":"gpt-4o","faults":{"drop_rate":2}}"#,
        ))
        .unwrap();
    let r = sim.handle(bad).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        json(r).await["error"]["message"]
            .as_str()
            .unwrap()
            .contains("drop_rate")
    );
}
