//! Cost of one in-process chat completion and of its parts (no HTTP). Prints microseconds.
//! `cargo bench -p apim-simulator --bench handle_cost`

use std::time::Instant;

use apim_simulator::tokens::{self, CountOptions, Encoding};
use apim_simulator::{Simulator, SimulatorConfig};
use bytes::Bytes;

fn per_call(label: &str, n: u32, mut f: impl FnMut()) {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!("{label}: {us:.2} us");
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 20_000 } else { 200 };
    let body = r#"{"messages":[{"role":"system","content":"You are a helpful assistant that answers briefly."},{"role":"user","content":"Question 7: how does a token limit policy protect a backend?"}],"max_tokens":100}"#;
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    let enc = Encoding::O200kBase;
    enc.count("warm up");
    per_call("encode a 12-token sentence", n, || {
        std::hint::black_box(
            enc.count("Question 7: how does a token limit policy protect a backend?"),
        );
    });
    per_call("count chat prompt", n, || {
        std::hint::black_box(
            tokens::count_prompt_tokens(
                tokens::Operation::ChatCompletions,
                "gpt-4o",
                &value,
                CountOptions::default(),
            )
            .unwrap(),
        );
    });
    per_call("generate 40 tokens", n, || {
        std::hint::black_box(apim_simulator::generate::generate(
            enc,
            42,
            40,
            Some(100),
            &[],
        ));
    });
    per_call("parse request JSON", n, || {
        std::hint::black_box(serde_json::from_slice::<serde_json::Value>(body.as_bytes()).unwrap());
    });
    per_call("build + serialize filter results json", n, || {
        let v = serde_json::json!({"a": apim_simulator::azure::content_filter_results(), "b": apim_simulator::azure::prompt_filter_results()});
        std::hint::black_box(serde_json::to_vec(&v).unwrap());
    });
    let sim = Simulator::new(
        SimulatorConfig::from_yaml_str("deployments: { gpt-4o: { model: gpt-4o } }").unwrap(),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    per_call("handle chat completion in process", n, || {
        let req = http::Request::post(
            "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
        )
        .header("api-key", "k")
        .body(Bytes::from_static(body.as_bytes()))
        .unwrap();
        let r = rt.block_on(sim.handle(req)).unwrap();
        assert_eq!(r.status(), 200);
        std::hint::black_box(
            rt.block_on(axum::body::to_bytes(r.into_body(), usize::MAX))
                .unwrap(),
        );
    });
}
