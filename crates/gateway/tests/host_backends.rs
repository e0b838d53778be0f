//! In-process backends: simulator hosts answered without a socket, other hosts passed on.

use std::sync::Arc;

use apim_engine::http::{Response, Url};
use apim_engine::services::{BackendRequest, HttpClient, HttpError};
use apim_gateway::host::InProcessBackends;
use apim_simulator::{Simulator, SimulatorConfig};
use futures_util::future::BoxFuture;
use parking_lot::Mutex;

#[derive(Debug, Default, Clone)]
struct Recorder {
    hosts: Arc<Mutex<Vec<String>>>,
}

impl HttpClient for Recorder {
    fn send(&self, req: BackendRequest) -> BoxFuture<'static, Result<Response, HttpError>> {
        self.hosts.lock().push(req.url.host().to_string());
        Box::pin(async { Ok(Response::new(204)) })
    }
}

fn simulator() -> Simulator {
    let cfg = SimulatorConfig::from_yaml_str(
        "seed: 3\nauth: { keys: [k] }\ndeployments:\n  gpt-4o: { model: gpt-4o }\n",
    )
    .unwrap();
    Simulator::new(cfg).unwrap()
}

fn chat(host: &str, stream: bool) -> BackendRequest {
    let url = Url::parse(&format!(
        "http://{host}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
    ))
    .unwrap();
    let mut r = BackendRequest::new("POST", url);
    r.headers
        .set_one("Content-Type", "application/json")
        .unwrap();
    r.headers.set_one("api-key", "k").unwrap();
    r.body = apim_engine::http::Body::from(format!(
        r#"{{"messages":[{{"role":"user","content":"Say hello"}}],"stream":{stream}}}"#
    ));
    r
}

#[tokio::test]
async fn simulator_hosts_are_answered_in_process_and_others_passed_on() {
    let recorder = Recorder::default();
    let backends = InProcessBackends::new(Arc::new(recorder.clone()))
        .with_simulator("http://openai.simulator.invalid", simulator());

    let resp = backends
        .send(chat("OpenAI.simulator.invalid", false))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    let body = resp.body.into_bytes(usize::MAX).await.unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["object"], "chat.completion");
    assert!(doc["usage"]["total_tokens"].as_u64().is_some_and(|n| n > 0));

    let resp = backends
        .send(chat("openai.simulator.invalid", true))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert!(resp.body.is_stream());
    assert_eq!(
        resp.headers.media_type().as_deref(),
        Some("text/event-stream")
    );
    let text = String::from_utf8(resp.body.into_bytes(usize::MAX).await.unwrap().to_vec()).unwrap();
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");

    assert!(recorder.hosts.lock().is_empty());
    let resp = backends.send(chat("example.com", false)).await.unwrap();
    assert_eq!(resp.status, 204);
    assert_eq!(*recorder.hosts.lock(), vec!["example.com".to_string()]);
}
