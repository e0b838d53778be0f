//! The gateway host over a real socket: round trip, streaming, limits, traces, metrics,
//! hostile requests, graceful shutdown.

#[path = "host_common.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use apim_engine::services::{MetricRecord, MetricSink};
use apim_gateway::host::MetricSeries;
use bytes::Bytes;
use common::*;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

#[tokio::test]
async fn status_headers_and_body_round_trip() {
    let host = start(config(), Arc::new(Echo { tag: "echo" })).await;
    let resp = client()
        .post(host.url("/echo/items?x=1&y=two"))
        .header("x-test", "hello")
        .body("request body")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-handler"], "echo");
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.headers()["x-multi"], "a,b");
    let doc: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(doc["method"], "POST");
    assert_eq!(doc["path"], "/echo/items");
    assert_eq!(doc["query"], "?x=1&y=two");
    assert_eq!(doc["ip"], "127.0.0.1");
    assert_eq!(doc["header"], "hello");
    assert_eq!(doc["body"], "request body");
    host.shutdown().await;
}

#[tokio::test]
async fn custom_reason_phrase_reaches_the_status_line() {
    struct Denied;
    impl apim_gateway::host::RequestHandler for Denied {
        fn handle(
            &self,
            _r: apim_engine::http::Request,
            _i: apim_gateway::host::RequestInfo,
        ) -> futures_util::future::BoxFuture<'_, apim_gateway::host::HandledResponse> {
            Box::pin(async {
                apim_gateway::host::HandledResponse::new(apim_engine::errors::missing_key_response(
                    "http://x/api",
                    "Ocp-Apim-Subscription-Key",
                ))
            })
        }
    }
    let host = start(config(), Arc::new(Denied)).await;
    let head = raw(
        host.addr,
        b"GET /api HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 401 Access Denied\r\n"), "{head}");
    assert!(
        head.contains("Access denied due to missing subscription key"),
        "{head}"
    );
    host.shutdown().await;
}

#[tokio::test]
async fn streamed_chunks_arrive_one_by_one() {
    let (tx, rx) = mpsc::unbounded_channel();
    let handler = Streamer {
        chunks: parking_lot::Mutex::new(Some(rx)),
    };
    let host = start(config(), Arc::new(handler)).await;
    let resp = client().get(host.url("/chat")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.bytes_stream();
    for n in 0..3 {
        // Chunk n+1 is only produced after chunk n reached the client.
        let chunk = format!("data: {{\"n\":{n}}}\n\n");
        tx.send(Bytes::from(chunk.clone())).unwrap();
        let mut got = Vec::new();
        while got.len() < chunk.len() {
            let part = tokio::time::timeout(SAFETY, body.next())
                .await
                .expect("chunk did not arrive before the next was produced")
                .expect("stream ended early")
                .unwrap();
            got.extend_from_slice(&part);
        }
        assert_eq!(String::from_utf8(got).unwrap(), chunk);
    }
    drop(tx);
    assert!(
        tokio::time::timeout(SAFETY, body.next())
            .await
            .unwrap()
            .is_none()
    );
    host.shutdown().await;
}

#[tokio::test]
async fn body_over_the_limit_gets_413() {
    let mut cfg = config();
    cfg.max_request_body = 16;
    let host = start(cfg, Arc::new(Echo { tag: "echo" })).await;
    // Declared length over the limit.
    let resp = client()
        .post(host.url("/echo"))
        .body(vec![b'x'; 17])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let doc: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(doc["statusCode"], 413);
    // Chunked body (no length) that grows past the limit.
    let chunks = futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(Bytes::from_static(b"0123456789")),
        Ok(Bytes::from_static(b"0123456789")),
    ]);
    let resp = client()
        .post(host.url("/echo"))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    // At the limit is fine.
    let resp = client()
        .post(host.url("/echo"))
        .body(vec![b'x'; 16])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    host.shutdown().await;
}

#[tokio::test]
async fn traces_are_stored_and_served() {
    let host = start(config(), Arc::new(Echo { tag: "echo" })).await;
    let c = client();
    let resp = c
        .get(host.url("/echo"))
        .header("apim-emu-trace", "true")
        .send()
        .await
        .unwrap();
    let id = resp.headers()["apim-emu-trace-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(resp.headers().get("ocp-apim-trace-location").is_none());
    let trace = c
        .get(host.url(&format!("/_emu/traces/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(trace.status(), 200);
    assert_eq!(trace.headers()["content-type"], "application/json");
    let doc: serde_json::Value = serde_json::from_slice(&trace.bytes().await.unwrap()).unwrap();
    assert_eq!(doc["traceId"], id.as_str());
    assert_eq!(doc["traceEntries"]["inbound"][0]["source"], "echo");
    assert_eq!(
        doc["traceEntries"]["inbound"][0]["elapsed"],
        "00:00:00.0000050"
    );

    // APIM's legacy header gets the trace URL too.
    let resp = c
        .get(host.url("/echo"))
        .header("Ocp-Apim-Trace", "true")
        .send()
        .await
        .unwrap();
    let id2 = resp.headers()["apim-emu-trace-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(id, id2);
    let loc = resp.headers()["ocp-apim-trace-location"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(loc, host.url(&format!("/_emu/traces/{id2}")));
    assert_eq!(c.get(&loc).send().await.unwrap().status(), 200);

    // No trace unless asked.
    let resp = c.get(host.url("/echo")).send().await.unwrap();
    assert!(resp.headers().get("apim-emu-trace-id").is_none());

    let missing = c.get(host.url("/_emu/traces/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let doc: serde_json::Value = serde_json::from_slice(&missing.bytes().await.unwrap()).unwrap();
    assert_eq!(doc["statusCode"], 404);
    host.shutdown().await;
}

#[tokio::test]
async fn emu_paths_never_reach_the_handler() {
    let host = start(config(), Arc::new(Echo { tag: "echo" })).await;
    for p in ["/_emu", "/_emu/", "/_emu/other", "/_emu/traces"] {
        let resp = client().post(host.url(p)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{p}");
        assert!(resp.headers().get("x-handler").is_none(), "{p}");
    }
    host.shutdown().await;
}

#[tokio::test]
async fn metrics_in_prometheus_text() {
    let sink = MetricSeries::default();
    sink.record(MetricRecord {
        namespace: "openai".into(),
        name: "Total Tokens".into(),
        value: 42.0,
        dimensions: vec![("API ID".into(), "chat".into())],
    });
    let mut cfg = config();
    cfg.metrics = Some(sink);
    let host = start(cfg, Arc::new(Echo { tag: "echo" })).await;
    let c = client();
    assert_eq!(c.get(host.url("/echo")).send().await.unwrap().status(), 200);
    let resp = c.get(host.url("/_emu/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().await.unwrap();
    assert!(
        text.contains("openai_Total_Tokens{API_ID=\"chat\"} 42\n"),
        "{text}"
    );
    assert!(
        text.contains("apim_emu_requests_total{api=\"echo-api\",status=\"200\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("apim_emu_request_duration_seconds_count 1\n"),
        "{text}"
    );
    host.shutdown().await;
}

#[tokio::test]
async fn panicking_handler_gets_apims_500_and_the_host_lives_on() {
    let host = start(config(), Arc::new(Panics)).await;
    let resp = client().get(host.url("/boom")).send().await.unwrap();
    assert_eq!(resp.status(), 500);
    let doc: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(doc["statusCode"], 500);
    assert_eq!(doc["message"], "Internal server error");
    assert!(doc["activityId"].as_str().is_some_and(|s| s.len() == 36));
    host.handle.reload(Arc::new(Echo { tag: "after" }));
    let resp = client().get(host.url("/ok")).send().await.unwrap();
    assert_eq!(resp.headers()["x-handler"], "after");
    host.shutdown().await;
}

/// Sends raw bytes and reads until the server closes the connection.
async fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before reading everything we send.
    let _ = s.write_all(bytes).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(SAFETY, s.read_to_end(&mut out))
        .await
        .expect("server did not answer");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn hostile_requests_get_error_responses() {
    let host = start(config(), Arc::new(Echo { tag: "echo" })).await;
    let bad_name = raw(
        host.addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nBad\x01Name: v\r\n\r\n",
    )
    .await;
    assert!(bad_name.starts_with("HTTP/1.1 400"), "{bad_name}");
    let bad_value = raw(
        host.addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    )
    .await;
    assert!(bad_value.starts_with("HTTP/1.1 400"), "{bad_value}");
    let bad_len = raw(
        host.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\nhello",
    )
    .await;
    assert!(bad_len.starts_with("HTTP/1.1 400"), "{bad_len}");
    let two_lens = raw(
        host.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    )
    .await;
    assert!(two_lens.starts_with("HTTP/1.1 400"), "{two_lens}");
    let mut huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 200 * 1024));
    huge.extend_from_slice(b"\r\n\r\n");
    let huge = raw(host.addr, &huge).await;
    assert!(
        huge.starts_with("HTTP/1.1 431"),
        "{}",
        &huge[..huge.len().min(200)]
    );
    let mut many = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..500 {
        many.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let many = raw(host.addr, &many).await;
    assert!(many.starts_with("HTTP/1.1 431"), "{many}");
    let garbage = raw(host.addr, b"\x16\x03\x01\x02\x00garbage\r\n\r\n").await;
    assert!(
        garbage.is_empty() || garbage.starts_with("HTTP/1.1 400"),
        "{garbage}"
    );
    // Still serving.
    let resp = client().get(host.url("/after")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    host.shutdown().await;
}

#[tokio::test]
async fn slow_request_heads_are_cut_off() {
    let mut cfg = config();
    cfg.header_read_timeout = Duration::from_millis(200);
    let host = start(cfg, Arc::new(Echo { tag: "echo" })).await;
    let mut s = TcpStream::connect(host.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    // Never finish the head: the server must close the connection on its own.
    let mut out = Vec::new();
    tokio::time::timeout(SAFETY, s.read_to_end(&mut out))
        .await
        .expect("slowloris connection was left open")
        .ok();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    host.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_lets_requests_in_flight_finish() {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let release = Arc::new(tokio::sync::Notify::new());
    let host = start(
        config(),
        Arc::new(Slow {
            tag: "finished",
            started: started_tx,
            release: release.clone(),
        }),
    )
    .await;
    let url = host.url("/slow");
    let in_flight = tokio::spawn(async move { client().get(url).send().await });
    tokio::time::timeout(SAFETY, started.recv())
        .await
        .unwrap()
        .unwrap();
    let addr = host.addr;
    let stopping = tokio::spawn(host.shutdown());
    // New connections are refused once the listener is closed; wait until it is.
    loop {
        if TcpStream::connect(addr).await.is_err() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(!stopping.is_finished());
    release.notify_one();
    let resp = in_flight.await.unwrap().unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "finished");
    tokio::time::timeout(SAFETY, stopping)
        .await
        .unwrap()
        .unwrap();
}

/// Reports each request body chunk as it arrives, then answers with all of them.
struct ChunkReader {
    seen: mpsc::UnboundedSender<Bytes>,
}

impl apim_gateway::host::RequestHandler for ChunkReader {
    fn handle(
        &self,
        mut request: apim_engine::http::Request,
        _info: apim_gateway::host::RequestInfo,
    ) -> futures_util::future::BoxFuture<'_, apim_gateway::host::HandledResponse> {
        Box::pin(async move {
            let mut stream = request.body.take().into_stream();
            let mut all = Vec::new();
            while let Some(Ok(chunk)) = stream.next().await {
                let _ = self.seen.send(chunk.clone());
                all.extend_from_slice(&chunk);
            }
            let mut r = apim_engine::http::Response::new(200);
            r.body = apim_engine::http::Body::from(all);
            apim_gateway::host::HandledResponse::new(r)
        })
    }
}

#[tokio::test]
async fn request_bodies_reach_the_handler_as_they_arrive() {
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let host = start(config(), Arc::new(ChunkReader { seen: seen_tx })).await;
    let (body_tx, body_rx) = mpsc::unbounded_channel::<Result<Bytes, std::io::Error>>();
    let body =
        futures_util::stream::unfold(
            body_rx,
            |mut rx| async move { rx.recv().await.map(|c| (c, rx)) },
        );
    let url = host.url("/upload");
    let sent = tokio::spawn(async move {
        client()
            .post(url)
            .body(reqwest::Body::wrap_stream(body))
            .send()
            .await
    });
    // The second chunk is only sent once the handler has read the first.
    body_tx.send(Ok(Bytes::from_static(b"first,"))).unwrap();
    let mut got = Vec::new();
    while got.len() < 6 {
        let c = tokio::time::timeout(SAFETY, seen.recv())
            .await
            .expect("the host held the request body back")
            .unwrap();
        got.extend_from_slice(&c);
    }
    assert_eq!(got, b"first,");
    body_tx.send(Ok(Bytes::from_static(b"second"))).unwrap();
    drop(body_tx);
    let resp = sent.await.unwrap().unwrap();
    assert_eq!(resp.text().await.unwrap(), "first,second");
    host.shutdown().await;
}

#[tokio::test]
async fn http2_prior_knowledge_is_served() {
    let host = start(config(), Arc::new(Echo { tag: "h2" })).await;
    let c = reqwest::Client::builder()
        .http2_prior_knowledge()
        .timeout(SAFETY)
        .no_proxy()
        .build()
        .unwrap();
    let resp = c.get(host.url("/two")).send().await.unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-handler"], "h2");
    let doc: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(doc["path"], "/two");
    host.shutdown().await;
}

#[tokio::test]
async fn a_header_value_that_cannot_be_sent_gets_apims_500() {
    struct BadHeader;
    impl apim_gateway::host::RequestHandler for BadHeader {
        fn handle(
            &self,
            _r: apim_engine::http::Request,
            _i: apim_gateway::host::RequestInfo,
        ) -> futures_util::future::BoxFuture<'_, apim_gateway::host::HandledResponse> {
            Box::pin(async {
                let mut r = apim_engine::http::Response::new(200);
                // Outside Latin-1: cannot go on the wire.
                r.headers.set_one("x-name", "名前").unwrap();
                apim_gateway::host::HandledResponse::new(r)
            })
        }
    }
    let host = start(config(), Arc::new(BadHeader)).await;
    let resp = client().get(host.url("/x")).send().await.unwrap();
    assert_eq!(resp.status(), 500);
    let doc: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(doc["message"], "Internal server error");
    host.shutdown().await;
}
