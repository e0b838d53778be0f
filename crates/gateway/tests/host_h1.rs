//! The host's HTTP/1.1 server byte by byte: keep-alive and pipelining, request body framing
//! (chunked, lengths, refused ambiguous framing), `Expect: 100-continue`, HEAD, HTTP/1.0, and
//! clients that go away mid-body.

#[path = "host_common.rs"]
mod common;

use std::sync::Arc;

use apim_engine::http::{Body, Response};
use apim_gateway::host::{HandledResponse, RequestHandler, handler_fn};
use bytes::Bytes;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Answers `METHOD PATH BODY` (or the body error); `/stream` answers two chunks streamed.
fn echo() -> Arc<dyn RequestHandler> {
    handler_fn(|mut req, _info| {
        Box::pin(async move {
            let mut r = Response::new(200);
            if req.url.path() == "/stream" {
                r.body = Body::from_chunks(vec![
                    Ok(Bytes::from_static(b"ab")),
                    Ok(Bytes::from_static(b"cde")),
                ]);
                return HandledResponse::new(r);
            }
            let body = req.body.take().into_bytes(usize::MAX).await;
            let text = match body {
                Ok(b) => format!(
                    "{} {} {}",
                    req.method,
                    req.url.path(),
                    String::from_utf8_lossy(&b)
                ),
                Err(e) => format!("error: {e}"),
            };
            r.body = Body::from(text);
            HandledResponse::new(r)
        })
    })
}

/// Sends raw bytes and reads until the server closes the connection.
async fn exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(bytes).await;
    read_to_close(&mut s).await
}

async fn read_to_close(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(SAFETY, s.read_to_end(&mut out))
        .await
        .expect("the server left the connection open");
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads one response with a `content-length` (or none): its head and body.
async fn read_response(s: &mut TcpStream) -> (String, String) {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(SAFETY, s.read(&mut chunk))
            .await
            .expect("no response")
            .unwrap();
        assert!(
            n > 0,
            "closed before a whole head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(SAFETY, s.read(&mut chunk))
            .await
            .expect("no body")
            .unwrap();
        assert!(n > 0, "closed mid-body");
        buf.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(buf.len(), head_end + len, "bytes after the response");
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    (head, body)
}

fn bodies(text: &str) -> Vec<&str> {
    text.split("HTTP/1.1 ")
        .skip(1)
        .map(|r| r.split_once("\r\n\r\n").map_or("", |(_, b)| b))
        .collect()
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let host = start(config(), echo()).await;
    let text = exchange(
        host.addr,
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nbee\
          POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nse\r\n1\r\na\r\n0\r\n\r\n\
          GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(text.matches("HTTP/1.1 200 OK\r\n").count(), 4, "{text}");
    assert_eq!(
        bodies(&text),
        ["GET /a ", "POST /b bee", "POST /c sea", "GET /d "],
        "{text}"
    );
    // The last one asked to close: said so, and closed (read_to_close returned).
    assert!(text.ends_with("GET /d "), "{text}");
    host.shutdown().await;
}

#[tokio::test]
async fn a_chunked_request_body_reaches_the_handler_intact_whatever_the_splits() {
    let host = start(config(), echo()).await;
    let wire: &[u8] = b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
        5;ext=\"a;b\"\r\nhello\r\n6\r\n world\r\n1A\r\nABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n0\r\nX-Trailer: t\r\n\r\n";
    for step in [1, 2, 7, 64] {
        let mut s = TcpStream::connect(host.addr).await.unwrap();
        for piece in wire.chunks(step) {
            s.write_all(piece).await.unwrap();
            s.flush().await.unwrap();
        }
        let text = read_to_close(&mut s).await;
        assert!(
            text.starts_with("HTTP/1.1 200 OK\r\n"),
            "step {step}: {text}"
        );
        assert!(
            text.ends_with("\r\n\r\nPOST /up hello worldABCDEFGHIJKLMNOPQRSTUVWXYZ"),
            "step {step}: {text}"
        );
    }
    // A broken chunk is a 400, and the connection closes.
    let text = exchange(
        host.addr,
        b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    host.shutdown().await;
}

#[tokio::test]
async fn ambiguous_framing_is_refused_and_the_connection_closed() {
    let host = start(config(), echo()).await;
    for framing in [
        "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Transfer-Encoding: gzip\r\n",
        "Transfer-Encoding: chunked, gzip\r\n",
    ] {
        // What follows the head would be a second request if the framing were read another way.
        let text = exchange(
            host.addr,
            format!(
                "POST / HTTP/1.1\r\nHost: x\r\n{framing}\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
        assert!(
            text.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{framing}: {text}"
        );
        assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{framing}: {text}");
        assert!(!text.contains("smuggled"), "{framing}: {text}");
        assert!(
            text.to_ascii_lowercase().contains("connection: close"),
            "{text}"
        );
    }
    host.shutdown().await;
}

#[tokio::test]
async fn http_1_0_closes_unless_asked_to_keep_the_connection() {
    let host = start(config(), echo()).await;
    let text = exchange(host.addr, b"GET /ten HTTP/1.0\r\nHost: x\r\n\r\n").await;
    assert_eq!(bodies(&text), ["GET /ten "], "{text}");

    let mut s = TcpStream::connect(host.addr).await.unwrap();
    for path in ["/one", "/two"] {
        s.write_all(
            format!("GET {path} HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let (head, body) = read_response(&mut s).await;
        assert!(
            head.to_ascii_lowercase()
                .contains("connection: keep-alive\r\n"),
            "{head}"
        );
        assert_eq!(body, format!("GET {path} "));
    }
    // A streamed answer has no chunks in HTTP/1.0: its end is the end of the connection.
    s.write_all(b"GET /stream HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
        .await
        .unwrap();
    let text = read_to_close(&mut s).await;
    assert!(text.ends_with("\r\n\r\nabcde"), "{text}");
    assert!(
        !text.to_ascii_lowercase().contains("transfer-encoding"),
        "{text}"
    );
    host.shutdown().await;
}

#[tokio::test]
async fn streamed_responses_are_chunked() {
    let host = start(config(), echo()).await;
    let text = exchange(
        host.addr,
        b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        text.contains("\r\ntransfer-encoding: chunked\r\n"),
        "{text}"
    );
    assert!(
        text.ends_with("\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"),
        "{text}"
    );
    host.shutdown().await;
}

#[tokio::test]
async fn expect_100_continue_gets_100_before_the_body_is_sent() {
    let host = start(config(), echo()).await;
    // Read whole (small) and streamed (chunked) bodies alike.
    for (framing, body) in [
        ("Content-Length: 5", &b"hello"[..]),
        ("Transfer-Encoding: chunked", b"5\r\nhello\r\n0\r\n\r\n"),
    ] {
        let mut s = TcpStream::connect(host.addr).await.unwrap();
        s.write_all(
            format!("PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n{framing}\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let mut interim = [0u8; 25];
        tokio::time::timeout(SAFETY, s.read_exact(&mut interim))
            .await
            .expect("no 100 Continue")
            .unwrap();
        assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
        s.write_all(body).await.unwrap();
        let (head, text) = read_response(&mut s).await;
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert_eq!(text, "PUT /e hello");
    }
    host.shutdown().await;
}

#[tokio::test]
async fn head_gets_the_length_but_no_body() {
    let host = start(config(), echo()).await;
    let mut s = TcpStream::connect(host.addr).await.unwrap();
    s.write_all(b"HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let text = read_to_close(&mut s).await;
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    // The length of what the handler answered ("HEAD /h "), and the next response right after.
    assert!(
        head.to_ascii_lowercase().contains("content-length: 8"),
        "{text}"
    );
    assert!(rest.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(rest.ends_with("\r\n\r\nGET /after "), "{text}");
    host.shutdown().await;
}

#[tokio::test]
async fn a_client_that_closes_mid_body_does_not_disturb_other_connections() {
    let host = start(config(), echo()).await;
    let mut busy = TcpStream::connect(host.addr).await.unwrap();
    busy.write_all(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_response(&mut busy).await.1, "GET /first ");
    // Bodies read whole (small) and streamed (large, chunked) are all cut off.
    for head in [
        "POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npart",
        "POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\npart",
        "POST /cut HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\npart",
    ] {
        let mut gone = TcpStream::connect(host.addr).await.unwrap();
        gone.write_all(head.as_bytes()).await.unwrap();
        drop(gone);
        // The other connection goes on.
        busy.write_all(b"POST /next HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
            .await
            .unwrap();
        assert_eq!(read_response(&mut busy).await.1, "POST /next ok");
    }
    let resp = client().get(host.url("/fresh")).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "GET /fresh ");
    host.shutdown().await;
}

#[tokio::test]
async fn a_body_the_handler_did_not_read_is_skipped_before_the_next_request() {
    // Answers without reading the body.
    let handler = handler_fn(|req, _info| {
        Box::pin(async move {
            let mut r = Response::new(401);
            r.body = Body::from(req.url.path().to_string());
            HandledResponse::new(r)
        })
    });
    let host = start(config(), handler).await;
    let big = "x".repeat(100_000);
    let text = exchange(
        host.addr,
        format!(
            "POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{big}\
             POST /two HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
             GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            big.len()
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(bodies(&text), ["/one", "/two", "/three"], "{text}");
    host.shutdown().await;
}

#[tokio::test]
async fn a_streamed_body_that_stops_arriving_gets_408_and_a_closed_connection() {
    let mut cfg = config();
    cfg.body_read_timeout = std::time::Duration::from_millis(100);
    let host = start(cfg, echo()).await;
    for head in [
        "POST /slow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nhel",
    ] {
        let mut s = TcpStream::connect(host.addr).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        // The rest never comes.
        let text = read_to_close(&mut s).await;
        assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
        assert!(
            text.to_ascii_lowercase().contains("connection: close"),
            "{text}"
        );
        assert!(
            text.ends_with("the client stopped sending the request body.\" }"),
            "{text}"
        );
    }
    host.shutdown().await;
}
