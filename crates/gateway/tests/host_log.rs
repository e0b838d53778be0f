//! One log line per request, with what the handler reported.

#[path = "host_common.rs"]
mod common;

use std::io::Write;
use std::sync::Arc;

use apim_engine::http::{Body, BodyError, Response};
use apim_gateway::host::{HandledResponse, RequestLog, TokenUsage, handler_fn};
use bytes::Bytes;
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

/// A host configuration whose request lines go to the returned buffer.
fn capture() -> (Buf, apim_gateway::host::HostConfig) {
    let buf = Buf::default();
    let writer = buf.clone();
    let mut cfg = config();
    cfg.request_log = Some(Arc::new(move |line: &str| {
        writer.clone().write_all(line.as_bytes()).unwrap();
    }));
    (buf, cfg)
}

fn request_lines(buf: &Buf) -> Vec<String> {
    let text = String::from_utf8(buf.0.lock().clone()).unwrap();
    text.lines()
        .filter(|l| l.contains("apim_emu::request"))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn each_request_logs_one_line() {
    let (buf, cfg) = capture();

    let handler = handler_fn(|_req, _info| {
        Box::pin(async {
            HandledResponse {
                response: Response::new(429),
                trace: None,
                log: RequestLog {
                    api: Some("chat".into()),
                    operation: Some("completions".into()),
                    backend: Some("openai-eastus".into()),
                    tokens: Some(TokenUsage {
                        prompt: 1000,
                        completion: 532,
                        total: 1532,
                    }),
                },
            }
        })
    });
    let host = start(cfg, handler).await;
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
    // Each worker thread writes its own lines: the order across workers is not the order of arrival.
    let l = lines
        .iter()
        .find(|l| l.contains("path=/chat/completions"))
        .unwrap_or_else(|| panic!("no line for /chat/completions in {text}"));
    for part in [
        "method=POST",
        "path=/chat/completions",
        "status=429",
        "api=\"chat\"",
        "operation=\"completions\"",
        "backend=\"openai-eastus\"",
        "tokens=\"1000/532/1532\"",
        "duration_ms=",
    ] {
        assert!(l.contains(part), "{part} missing in {l}");
    }
    let other = lines.iter().find(|l| l.contains("path=/other"));
    assert!(
        other.is_some_and(|l| l.contains("method=GET")),
        "no GET line for /other in {text}"
    );
}

fn json_response(body: &'static str) -> Response {
    let mut r = Response::new(200);
    r.headers
        .set_one("Content-Type", "application/json")
        .unwrap();
    r.body = Body::from_bytes(body);
    r
}

const COMPLETION: &str = r#"{"id":"c1","object":"chat.completion","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}"#;

#[tokio::test]
async fn tokens_come_from_the_usage_of_a_json_body_buffered_or_streamed() {
    let (buf, cfg) = capture();
    let handler = handler_fn(|req, _info| {
        Box::pin(async move {
            let mut r = json_response(COMPLETION);
            if req.url.path() == "/streamed" {
                // As a backend's body arrives: in pieces, not buffered.
                let (a, b) = COMPLETION.split_at(40);
                r.body = Body::from_chunks(vec![
                    Ok(Bytes::from_static(a.as_bytes())),
                    Ok(Bytes::from_static(b.as_bytes())),
                ]);
            }
            if req.url.path() == "/plain" {
                r.body = Body::from_bytes("no usage here");
            }
            HandledResponse::new(r)
        })
    });
    let host = start(cfg, handler).await;
    for path in ["/buffered", "/streamed", "/plain"] {
        let resp = client().get(host.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.bytes().await.unwrap();
    }
    host.shutdown().await;
    let lines = request_lines(&buf);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    for (path, tokens) in [
        ("/buffered", "tokens=\"9/12/21\""),
        ("/streamed", "tokens=\"9/12/21\""),
        ("/plain", "tokens=\"-\""),
    ] {
        let l = lines
            .iter()
            .find(|l| l.contains(&format!("path={path} ")))
            .unwrap_or_else(|| panic!("no line for {path}: {lines:#?}"));
        assert!(l.contains(tokens), "{tokens} missing in {l}");
    }
}

#[tokio::test]
async fn a_streamed_response_is_logged_once_its_usage_event_has_passed() {
    let (buf, cfg) = capture();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<Bytes, BodyError>>();
    let rx = Arc::new(Mutex::new(Some(rx)));
    let handler = handler_fn(move |_req, _info| {
        let rx = rx.lock().take();
        Box::pin(async move {
            let mut r = Response::new(200);
            r.headers
                .set_one("Content-Type", "text/event-stream")
                .unwrap();
            let rx = rx.expect("one request");
            r.body = Body::from_stream(Box::pin(futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|c| (c, rx)) },
            )));
            HandledResponse {
                response: r,
                trace: None,
                log: RequestLog {
                    api: Some("chat".into()),
                    ..RequestLog::default()
                },
            }
        })
    });
    let host = start(cfg, handler).await;
    let mut resp = client().get(host.url("/chat")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    tx.send(Ok(Bytes::from_static(
        b"data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n",
    )))
    .unwrap();
    let first = resp.chunk().await.unwrap().expect("first event");
    assert!(first.starts_with(b"data: "));
    // Headers and a first event went out, the stream is still open: no line yet.
    assert!(request_lines(&buf).is_empty(), "{:?}", request_lines(&buf));
    tx.send(Ok(Bytes::from_static(
        b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":2,",
    )))
    .unwrap();
    tx.send(Ok(Bytes::from_static(
        b"\"total_tokens\":12}}\n\ndata: [DONE]\n\n",
    )))
    .unwrap();
    drop(tx);
    while resp.chunk().await.unwrap().is_some() {}
    host.shutdown().await;
    let lines = request_lines(&buf);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("tokens=\"10/2/12\""), "{}", lines[0]);
    assert!(lines[0].contains("api=\"chat\""), "{}", lines[0]);
}
