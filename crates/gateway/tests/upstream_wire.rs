//! forward-request's HTTP/1.1 client (`DirectHttp1`) against backends written here on raw TCP,
//! so the bytes on the wire are exactly the ones under test: response framing (chunked, length,
//! until close, none), interim responses, connection reuse and its limits, malformed responses,
//! and what the client writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use apim_engine::http::{Body, BodyError, Response, Url};
use apim_engine::services::{BackendRequest, HttpClient, HttpError};
use apim_gateway::host::DirectHttp1;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const SAFETY: Duration = Duration::from_secs(20);

#[derive(Debug)]
struct NoFallback;

impl HttpClient for NoFallback {
    fn send(&self, req: BackendRequest) -> BoxFuture<'static, Result<Response, HttpError>> {
        panic!("{} went to the fallback client", req.url)
    }
}

fn client() -> DirectHttp1 {
    DirectHttp1::new(Arc::new(NoFallback))
}

async fn send(c: &DirectHttp1, req: BackendRequest) -> Result<Response, HttpError> {
    tokio::time::timeout(SAFETY, c.send(req))
        .await
        .expect("backend call hangs")
}

async fn body_text(resp: Response) -> String {
    let b = tokio::time::timeout(SAFETY, resp.body.into_bytes(usize::MAX))
        .await
        .expect("body hangs")
        .unwrap();
    String::from_utf8(b.to_vec()).unwrap()
}

fn get(addr: &str, path: &str) -> BackendRequest {
    BackendRequest::new("GET", Url::parse(&format!("http://{addr}{path}")).unwrap())
}

/// Reads one request (head, and a body framed by Content-Length or chunked) from `s`; `None`
/// when the client closed the connection. Bytes after it stay in `buf`.
async fn read_request(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut tmp = vec![0u8; 64 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map(|v| v.trim().parse::<usize>().unwrap());
    let chunked = head.contains("transfer-encoding: chunked");
    let end = loop {
        if let Some(n) = length {
            if buf.len() >= head_end + n {
                break head_end + n;
            }
        } else if chunked {
            if let Some(i) = buf[head_end..].windows(5).position(|w| w == b"0\r\n\r\n") {
                break head_end + i + 5;
            }
        } else {
            break head_end;
        }
        let n = s.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    Some(buf.drain(..end).collect())
}

/// What a scripted backend does after reading a request.
enum Reply {
    /// Write these bytes and wait for the next request.
    Send(Vec<u8>),
    /// Write these bytes and close the connection.
    SendAndClose(Vec<u8>),
}

struct Backend {
    addr: String,
    accepted: Arc<AtomicUsize>,
    /// Every request received, as bytes, in order.
    requests: mpsc::UnboundedReceiver<Vec<u8>>,
}

/// A backend answering request `n` (counted over all connections, from 0) with `reply(n, req)`.
async fn backend(reply: impl Fn(usize, &[u8]) -> Reply + Send + Sync + 'static) -> Backend {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let (tx, requests) = mpsc::unbounded_channel();
    let reply = Arc::new(reply);
    let served = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            let (tx, reply, served) = (tx.clone(), reply.clone(), served.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while let Some(req) = read_request(&mut s, &mut buf).await {
                    let n = served.fetch_add(1, Ordering::SeqCst);
                    let answer = reply(n, &req);
                    let _ = tx.send(req);
                    match answer {
                        Reply::Send(b) => {
                            if s.write_all(&b).await.is_err() {
                                return;
                            }
                        }
                        Reply::SendAndClose(b) => {
                            let _ = s.write_all(&b).await;
                            let _ = s.shutdown().await;
                            return;
                        }
                    }
                }
            });
        }
    });
    Backend {
        addr,
        accepted,
        requests,
    }
}

fn ok(body: &str) -> Reply {
    Reply::Send(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

#[tokio::test]
async fn consecutive_calls_reuse_one_connection() {
    let b = backend(|n, _| ok(&format!("answer {n}"))).await;
    let c = client();
    for i in 0..4 {
        let resp = send(&c, get(&b.addr, &format!("/r/{i}"))).await.unwrap();
        assert_eq!(resp.status, 200);
        // Small and already arrived: bytes, not a stream.
        assert!(resp.body.peek().is_some());
        assert_eq!(body_text(resp).await, format!("answer {i}"));
    }
    assert_eq!(b.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_connection_the_backend_closed_while_idle_is_not_used_even_for_a_streamed_body() {
    // The backend closes every connection after its answer (while saying nothing about it).
    let b = backend(|n, _| {
        Reply::SendAndClose(format!("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n{n}").into_bytes())
    })
    .await;
    let c = client();
    assert_eq!(
        body_text(send(&c, get(&b.addr, "/")).await.unwrap()).await,
        "0"
    );
    // Let the runtime's I/O driver see the backend's FIN.
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
    // A streamed body cannot be sent twice: this works only if the closed connection is
    // recognised before anything is written to it.
    let mut req = get(&b.addr, "/stream");
    req.method = "POST".into();
    req.body = Body::from_chunks(vec![Ok(Bytes::from_static(b"abc"))]);
    assert_eq!(body_text(send(&c, req).await.unwrap()).await, "1");
    assert_eq!(b.accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_reused_connection_that_fails_before_the_answer_is_replaced_once() {
    // Connection 1 answers once and stays open; the backend then drops it without answering
    // the second request (as a backend does that times a kept-alive connection out as the
    // request arrives).
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let n = count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let _ = read_request(&mut s, &mut buf).await;
                let body = format!("connection {n}");
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                s.write_all(format!("{head}{body}").as_bytes())
                    .await
                    .unwrap();
                if n == 0 {
                    // Read the next request, then hang up without a word.
                    let _ = read_request(&mut s, &mut buf).await;
                }
            });
        }
    });
    let c = client();
    let mut post = get(&addr, "/");
    post.method = "POST".into();
    post.body = Body::from("replayable");
    assert_eq!(
        body_text(send(&c, get(&addr, "/")).await.unwrap()).await,
        "connection 0"
    );
    assert_eq!(
        body_text(send(&c, post).await.unwrap()).await,
        "connection 1"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_chunked_answer_split_at_awkward_places_is_decoded() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let pieces: [&[u8]; 9] = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r",
        b"\n\r\n5",
        b"\r\nhel",
        b"lo\r",
        b"\n6;ext=1\r\n wor",
        b"ld\r\n1",
        b"0\r\n0123456789abcdef\r\n0\r\n",
        b"x-trailer: 1\r\n",
        b"\r\n",
    ];
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        let mut buf = Vec::new();
        while read_request(&mut s, &mut buf).await.is_some() {
            for p in pieces {
                s.write_all(p).await.unwrap();
                // Let the client read each piece on its own.
                for _ in 0..4 {
                    tokio::task::yield_now().await;
                }
            }
        }
    });
    let c = client();
    let resp = send(&c, get(&addr, "/")).await.unwrap();
    assert_eq!(body_text(resp).await, "hello world0123456789abcdef");
    // The trailer was read to its end: the connection serves the next call.
    let resp = send(&c, get(&addr, "/again")).await.unwrap();
    assert_eq!(body_text(resp).await, "hello world0123456789abcdef");
}

#[tokio::test]
async fn a_chunked_answer_that_arrived_whole_is_handed_on_as_bytes() {
    let b = backend(|_, _| {
        Reply::Send(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                .to_vec(),
        )
    })
    .await;
    let c = client();
    for _ in 0..2 {
        let resp = send(&c, get(&b.addr, "/")).await.unwrap();
        assert!(resp.body.peek().is_some());
        assert_eq!(body_text(resp).await, "abcde");
    }
    assert_eq!(b.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_body_delimited_by_close_is_read_to_the_end_and_the_connection_not_reused() {
    let b = backend(|n, _| {
        Reply::SendAndClose(format!("HTTP/1.1 200 OK\r\n\r\nuntil close {n}").into_bytes())
    })
    .await;
    let c = client();
    let resp = send(&c, get(&b.addr, "/")).await.unwrap();
    assert_eq!(body_text(resp).await, "until close 0");
    let resp = send(&c, get(&b.addr, "/")).await.unwrap();
    assert_eq!(body_text(resp).await, "until close 1");
    assert_eq!(b.accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn interim_responses_are_skipped() {
    let b = backend(|_, _| {
        Reply::Send(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n\
              HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
                .to_vec(),
        )
    })
    .await;
    let resp = send(&client(), get(&b.addr, "/")).await.unwrap();
    assert_eq!(resp.status, 201);
    assert_eq!(resp.reason, "Created");
    assert!(!resp.headers.contains("link"));
    assert_eq!(body_text(resp).await, "ok");
}

#[tokio::test]
async fn head_204_and_304_answers_have_no_body_and_keep_the_connection() {
    let b = backend(|n, _| match n {
        // A HEAD answer announces the length a GET would have.
        0 => Reply::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n".to_vec()),
        1 => Reply::Send(b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()),
        2 => Reply::Send(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n".to_vec()),
        _ => ok("after"),
    })
    .await;
    let c = client();
    let mut head = get(&b.addr, "/");
    head.method = "HEAD".into();
    let resp = send(&c, head).await.unwrap();
    assert_eq!(
        (resp.status, resp.headers.first("content-length")),
        (200, Some("10"))
    );
    assert_eq!(body_text(resp).await, "");
    let resp = send(&c, get(&b.addr, "/")).await.unwrap();
    assert_eq!(resp.status, 204);
    assert_eq!(body_text(resp).await, "");
    let resp = send(&c, get(&b.addr, "/")).await.unwrap();
    assert_eq!(resp.status, 304);
    assert_eq!(body_text(resp).await, "");
    assert_eq!(
        body_text(send(&c, get(&b.addr, "/")).await.unwrap()).await,
        "after"
    );
    assert_eq!(b.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_answer_with_connection_close_is_not_reused() {
    // The backend says close but leaves the connection open: the client must not reuse it.
    let b = backend(|_, _| {
        Reply::Send(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok".to_vec())
    })
    .await;
    let c = client();
    for _ in 0..2 {
        assert_eq!(
            body_text(send(&c, get(&b.addr, "/")).await.unwrap()).await,
            "ok"
        );
    }
    assert_eq!(b.accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn server_sent_events_arrive_one_by_one_before_the_backend_finishes() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (next_tx, mut next_rx) = mpsc::unbounded_channel::<()>();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            let mut buf = Vec::new();
            let req = read_request(&mut s, &mut buf).await.unwrap();
            if req.starts_with(b"GET /events ") {
                s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                      Transfer-Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n",
                )
                .await
                .unwrap();
                // Each further event only once the client has the previous one.
                next_rx.recv().await.unwrap();
                s.write_all(b"9\r\ndata: 2\n\n\r\n").await.unwrap();
                next_rx.recv().await.unwrap();
                s.write_all(b"0\r\n\r\n").await.unwrap();
            }
            let _ = read_request(&mut s, &mut buf).await;
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone")
                .await
                .unwrap();
            let _ = read_request(&mut s, &mut buf).await;
        }
    });
    let c = client();
    let resp = send(&c, get(&addr, "/events")).await.unwrap();
    assert!(resp.body.is_stream());
    let mut events = resp.body.into_stream();
    assert_eq!(
        next_event(&mut events).await.unwrap().unwrap(),
        "data: 1\n\n"
    );
    next_tx.send(()).unwrap();
    assert_eq!(
        next_event(&mut events).await.unwrap().unwrap(),
        "data: 2\n\n"
    );
    next_tx.send(()).unwrap();
    assert!(next_event(&mut events).await.is_none());
    // Read to its end: the connection is back in the pool.
    assert_eq!(
        body_text(send(&c, get(&addr, "/after")).await.unwrap()).await,
        "done"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

async fn next_event(
    events: &mut apim_engine::http::BodyStream,
) -> Option<Result<Bytes, BodyError>> {
    tokio::time::timeout(SAFETY, events.next())
        .await
        .expect("event hangs")
}

#[tokio::test]
async fn a_large_answer_streams_intact_and_frees_the_connection() {
    let big: String = (0..200_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let expected = big.clone();
    let b = backend(move |n, _| if n == 0 { ok(&big) } else { ok("small") }).await;
    let c = client();
    let resp = send(&c, get(&b.addr, "/")).await.unwrap();
    assert!(resp.body.is_stream());
    assert_eq!(body_text(resp).await, expected);
    assert_eq!(
        body_text(send(&c, get(&b.addr, "/")).await.unwrap()).await,
        "small"
    );
    assert_eq!(b.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_body_cut_short_is_a_transport_error() {
    let b = backend(|_, _| {
        Reply::SendAndClose(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nonly this".to_vec())
    })
    .await;
    let resp = send(&client(), get(&b.addr, "/")).await.unwrap();
    match resp.body.into_bytes(usize::MAX).await {
        Err(BodyError::Transport(t)) => assert!(t.contains(&b.addr), "{t}"),
        other => panic!("expected a transport error, got {other:?}"),
    }
}

async fn invalid_response(answer: &'static [u8]) -> String {
    let b = backend(move |_, _| Reply::Send(answer.to_vec())).await;
    match send(&client(), get(&b.addr, "/")).await {
        Err(e @ HttpError::InvalidResponse(_)) => {
            assert_eq!(e.reason(), "BackendConnectionFailure");
            e.to_string()
        }
        other => panic!("expected an invalid response, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_answers_are_invalid_responses() {
    invalid_response(b"HTTP/1.1 OK 200\r\n\r\n").await;
    invalid_response(b"SPDY/3 200 OK\r\n\r\n").await;
    invalid_response(b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n").await;
    let t =
        invalid_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc")
            .await;
    assert!(t.contains("Content-Length"), "{t}");
    let t = invalid_response(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .await;
    assert!(t.contains("Transfer-Encoding"), "{t}");
    invalid_response(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n").await;
}

#[tokio::test]
async fn an_oversize_answer_head_is_an_invalid_response() {
    let mut answer = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..90 {
        answer.extend_from_slice(format!("x-filler-{i}: {}\r\n", "v".repeat(1000)).as_bytes());
    }
    answer.extend_from_slice(b"\r\n");
    let b = backend(move |_, _| Reply::Send(answer.clone())).await;
    match send(&client(), get(&b.addr, "/")).await {
        Err(HttpError::InvalidResponse(t)) => assert!(t.contains("larger than"), "{t}"),
        other => panic!("expected an invalid response, got {other:?}"),
    }
}

#[tokio::test]
async fn a_request_that_cannot_be_written_is_refused_before_anything_is_sent() {
    let mut b = backend(|_, _| ok("fine")).await;
    let c = client();
    // No connection is made for it.
    let mut bad = get(&b.addr, "/");
    bad.method = "GET / HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET".into();
    assert!(matches!(
        send(&c, bad).await,
        Err(HttpError::InvalidRequest(_))
    ));
    assert_eq!(b.accepted.load(Ordering::SeqCst), 0);
    // Nor is anything written on a kept-alive connection: the next request is the next thing
    // the backend reads.
    assert_eq!(
        body_text(send(&c, get(&b.addr, "/one")).await.unwrap()).await,
        "fine"
    );
    let mut bad = get(&b.addr, "/");
    bad.method = "PO\nST".into();
    assert!(matches!(
        send(&c, bad).await,
        Err(HttpError::InvalidRequest(_))
    ));
    assert_eq!(
        body_text(send(&c, get(&b.addr, "/two")).await.unwrap()).await,
        "fine"
    );
    assert!(
        b.requests
            .recv()
            .await
            .unwrap()
            .starts_with(b"GET /one HTTP/1.1\r\n")
    );
    assert!(
        b.requests
            .recv()
            .await
            .unwrap()
            .starts_with(b"GET /two HTTP/1.1\r\n")
    );
    assert_eq!(b.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn what_goes_on_the_wire() {
    let mut b = backend(|_, _| ok("")).await;
    let c = client();
    let mut req = BackendRequest::new(
        "POST",
        Url::parse(&format!("http://{}/chat?api-version=1&q=a%20b", b.addr)).unwrap(),
    );
    req.headers.set_one("api-key", "k").unwrap();
    req.headers
        .set("Accept", vec!["a/b".into(), "c/d".into()])
        .unwrap();
    req.headers
        .set("Set-Cookie", vec!["a=1".into(), "b=2".into()])
        .unwrap();
    req.headers.set_one("Keep-Alive", "timeout=5").unwrap();
    req.headers.set_one("TE", "trailers").unwrap();
    req.headers.set_one("Content-Length", "99").unwrap();
    req.body = Body::from("{}");
    send(&c, req).await.unwrap();
    let wire = String::from_utf8(b.requests.recv().await.unwrap()).unwrap();
    assert_eq!(
        wire,
        format!(
            "POST /chat?api-version=1&q=a%20b HTTP/1.1\r\nHost: {}\r\napi-key: k\r\n\
             Accept: a/b,c/d\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\
             Content-Length: 2\r\n\r\n{{}}",
            b.addr
        )
    );
    // An empty POST says so.
    let mut req = get(&b.addr, "/");
    req.method = "POST".into();
    send(&c, req).await.unwrap();
    let wire = String::from_utf8(b.requests.recv().await.unwrap()).unwrap();
    assert!(wire.ends_with("\r\nContent-Length: 0\r\n\r\n"), "{wire}");
}

#[tokio::test]
async fn a_streamed_request_body_goes_chunked_part_by_part() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (seen_tx, mut seen) = mpsc::unbounded_channel::<Vec<u8>>();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut wire = Vec::new();
        let mut tmp = vec![0u8; 64 * 1024];
        // What has arrived once the first part is in; then the whole request.
        while !wire.windows(12).any(|w| w == b"part one, \r\n") {
            let n = s.read(&mut tmp).await.unwrap();
            assert!(n > 0, "closed early");
            wire.extend_from_slice(&tmp[..n]);
        }
        seen_tx.send(wire.clone()).unwrap();
        while !wire.ends_with(b"\r\n0\r\n\r\n") {
            let n = s.read(&mut tmp).await.unwrap();
            assert!(n > 0, "closed early");
            wire.extend_from_slice(&tmp[..n]);
        }
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        seen_tx.send(wire).unwrap();
        let _ = s.read(&mut tmp).await;
    });
    let (tx, rx) = mpsc::unbounded_channel::<Result<Bytes, BodyError>>();
    let mut req = get(&addr, "/up");
    req.method = "PUT".into();
    req.body = Body::from_stream(Box::pin(stream_from(rx)));
    tx.send(Ok(Bytes::from_static(b"part one, "))).unwrap();
    let call = tokio::spawn(async move { send(&client(), req).await.map(|r| r.status) });
    // The first part goes out before the body has ended.
    let first = tokio::time::timeout(SAFETY, seen.recv())
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&first).into_owned();
    assert!(text.starts_with("PUT /up HTTP/1.1\r\n"), "{text}");
    assert!(
        text.ends_with("\r\nTransfer-Encoding: chunked\r\n\r\na\r\npart one, \r\n"),
        "{text}"
    );
    assert!(
        !text.to_ascii_lowercase().contains("content-length"),
        "{text}"
    );
    tx.send(Ok(Bytes::from_static(b"part two"))).unwrap();
    tx.send(Ok(Bytes::from(vec![b'x'; 100_000]))).unwrap();
    drop(tx);
    assert_eq!(call.await.unwrap().unwrap(), 200);
    let wire = seen.recv().await.unwrap();
    let body = &wire[wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
    let mut expected = b"part one, part two".to_vec();
    expected.extend_from_slice(&[b'x'; 100_000]);
    assert!(dechunk(body) == expected, "body differs");
}

fn stream_from(
    mut rx: mpsc::UnboundedReceiver<Result<Bytes, BodyError>>,
) -> impl futures_util::Stream<Item = Result<Bytes, BodyError>> + Send {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// The data of a chunked body (test backends only: no extensions or trailers).
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&body[..line]).unwrap(), 16).unwrap();
        body = &body[line + 2..];
        if size == 0 {
            assert_eq!(body, b"\r\n");
            return out;
        }
        out.extend_from_slice(&body[..size]);
        assert_eq!(&body[size..size + 2], b"\r\n");
        body = &body[size + 2..];
    }
}

#[tokio::test]
async fn a_large_request_body_arrives_intact() {
    let mut b = backend(|_, _| ok("")).await;
    let c = client();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut req = get(&b.addr, "/big");
    req.method = "POST".into();
    req.body = Body::from(big.clone());
    assert_eq!(send(&c, req).await.unwrap().status, 200);
    let wire = b.requests.recv().await.unwrap();
    let head_end = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&wire[..head_end]);
    assert!(head.contains("\r\nContent-Length: 3000000\r\n"), "{head}");
    assert!(wire[head_end..] == big[..], "body differs");
    // And streamed, in large chunks.
    let chunks = big
        .chunks(700_000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let mut req = get(&b.addr, "/big-stream");
    req.method = "POST".into();
    req.body = Body::from_chunks(chunks);
    assert_eq!(send(&c, req).await.unwrap().status, 200);
    let wire = b.requests.recv().await.unwrap();
    let head_end = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(dechunk(&wire[head_end..]) == big, "streamed body differs");
    assert_eq!(b.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failing_request_body_stream_is_an_invalid_request() {
    let b = backend(|_, _| ok("")).await;
    let mut req = get(&b.addr, "/");
    req.method = "POST".into();
    req.body = Body::from_chunks(vec![
        Ok(Bytes::from_static(b"abc")),
        Err(BodyError::Transport("client went away".into())),
    ]);
    match send(&client(), req).await {
        Err(HttpError::InvalidRequest(t)) => assert!(t.contains("client went away"), "{t}"),
        other => panic!("expected an invalid request, got {other:?}"),
    }
}

#[tokio::test]
async fn a_fresh_connection_closed_without_an_answer_is_a_reset() {
    let b = backend(|_, _| Reply::SendAndClose(Vec::new())).await;
    match send(&client(), get(&b.addr, "/")).await {
        Err(e @ HttpError::ConnectionReset(_)) => {
            assert!(e.to_string().contains(&b.addr), "{e}")
        }
        other => panic!("expected a reset, got {other:?}"),
    }
}
