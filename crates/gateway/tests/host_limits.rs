//! Bad input the host cuts off: slow bodies, idle connections, responses over the size limit.
//! Small limits and clients that stop sending; the tests assert what the client sees (the
//! answer, the closed connection), never how long it took.

#[path = "host_common.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use apim_engine::http::{Body, Response};
use apim_gateway::host::{HandledResponse, handler_fn};
use bytes::Bytes;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection (the safety net fails the test otherwise).
async fn read_until_closed(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(SAFETY, s.read_to_end(&mut out))
        .await
        .expect("the server left the connection open")
        .ok();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_client_that_stops_sending_its_body_gets_408_and_a_closed_connection() {
    let mut cfg = config();
    cfg.body_read_timeout = Duration::from_millis(100);
    let host = start(cfg, Arc::new(Echo { tag: "echo" })).await;
    let mut s = TcpStream::connect(host.addr).await.unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhello")
        .await
        .unwrap();
    // 95 bytes never come.
    let text = read_until_closed(&mut s).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.ends_with(
            r#"{ "statusCode": 408, "message": "Request timeout: the client stopped sending the request body." }"#
        ),
        "{text}"
    );
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    // Others are still served.
    let resp = client().get(host.url("/after")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    host.shutdown().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let mut cfg = config();
    cfg.header_read_timeout = Duration::from_millis(200);
    let host = start(cfg, Arc::new(Echo { tag: "echo" })).await;
    let mut s = TcpStream::connect(host.addr).await.unwrap();
    s.write_all(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // One answered request, then nothing more from the client.
    let text = read_until_closed(&mut s).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
    host.shutdown().await;
}

fn body_of(parts: &[&'static str], streamed: bool) -> Response {
    let mut r = Response::new(200);
    r.headers.set_one("Content-Type", "text/plain").unwrap();
    r.body = if streamed {
        Body::from_chunks(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p.as_bytes())))
                .collect(),
        )
    } else {
        Body::from_bytes(parts.concat())
    };
    r
}

#[tokio::test]
async fn responses_over_the_size_limit_are_refused_or_cut_off() {
    let mut cfg = config();
    cfg.max_response_body = Some(16);
    let handler = handler_fn(|req, _info| {
        Box::pin(async move {
            let parts: &[&'static str] = if req.url.path().ends_with("/small") {
                &["0123456789", "012345"]
            } else {
                &["0123456789", "0123456789", "0123456789"]
            };
            HandledResponse::new(body_of(parts, req.url.path().starts_with("/streamed")))
        })
    });
    let host = start(cfg, handler).await;

    let resp = client()
        .get(host.url("/buffered/big"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    assert_eq!(
        resp.text().await.unwrap(),
        r#"{ "statusCode": 502, "message": "Bad gateway: the response body is larger than 16 bytes." }"#
    );

    // A streamed body is cut off at the limit: the connection is aborted (before or after the
    // headers went out, depending on how fast the chunks come), never a complete-looking body.
    match client().get(host.url("/streamed/big")).send().await {
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
        Ok(resp) => {
            assert_eq!(resp.status(), 200);
            assert!(
                resp.bytes().await.is_err(),
                "a cut-off body must not look complete"
            );
        }
    }

    // At the limit, both are sent whole.
    for path in ["/buffered/small", "/streamed/small"] {
        let resp = client().get(host.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.text().await.unwrap(), "0123456789012345", "{path}");
    }
    host.shutdown().await;
}
