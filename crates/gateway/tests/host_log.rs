//! One log line per request, with what the handler reported.

#[path = "host_common.rs"]
mod common;

use std::io::Write;
use std::sync::Arc;

use apim_engine::http::Response;
use apim_gateway::host::{HandledResponse, RequestLog, handler_fn};
use common::*;
use parking_lot::Mutex;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// Current-thread runtime: the host's tasks run on this thread, under this subscriber.
#[tokio::test]
async fn each_request_logs_one_line() {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let handler = handler_fn(|_req, _info| {
        Box::pin(async {
            HandledResponse {
                response: Response::new(429),
                trace: None,
                log: RequestLog {
                    api: Some("chat".into()),
                    operation: Some("completions".into()),
                    backend: Some("openai-eastus".into()),
                    tokens: Some(1532),
                },
            }
        })
    });
    let host = start(config(), handler).await;
    let resp = client()
        .post(host.url("/chat/completions?x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let resp = client().get(host.url("/other")).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    host.shutdown().await;

    let text = String::from_utf8(buf.0.lock().clone()).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("apim_emu::request"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    let l = lines[0];
    for part in [
        "method=POST",
        "path=/chat/completions",
        "status=429",
        "api=\"chat\"",
        "operation=\"completions\"",
        "backend=\"openai-eastus\"",
        "tokens=\"1532\"",
        "duration_ms=",
    ] {
        assert!(l.contains(part), "{part} missing in {l}");
    }
    assert!(lines[1].contains("path=/other"), "{}", lines[1]);
}
