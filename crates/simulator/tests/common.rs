#![allow(dead_code)]
use std::sync::Arc;

use apim_simulator::{ManualClock, RandomSource, SeededRng, Simulator, SimulatorConfig};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use serde_json::Value;

pub fn sim_with(yaml: &str, clock: &ManualClock, rng: Arc<dyn RandomSource>) -> Simulator {
    let config = SimulatorConfig::from_yaml_str(yaml).expect("config");
    Simulator::builder(config)
        .clock(Arc::new(clock.clone()))
        .rng(rng)
        .build()
        .expect("simulator")
}

pub fn sim(yaml: &str, clock: &ManualClock) -> Simulator {
    sim_with(yaml, clock, Arc::new(SeededRng::new(1)))
}

pub fn post(path: &str, body: &str) -> Request<Bytes> {
    Request::post(path)
        .header("api-key", "k")
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap()
}

pub fn chat_path(deployment: &str) -> String {
    format!("/openai/deployments/{deployment}/chat/completions?api-version=2024-10-21")
}

pub async fn body_bytes(r: Response<apim_simulator::Body>) -> Bytes {
    r.into_body().collect().await.unwrap().to_bytes()
}

pub async fn json(r: Response<apim_simulator::Body>) -> Value {
    serde_json::from_slice(&body_bytes(r).await).unwrap()
}

pub fn header(r: &Response<apim_simulator::Body>, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}
