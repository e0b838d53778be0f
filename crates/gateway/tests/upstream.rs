//! forward-request's direct HTTP/1.1 client (`DirectHttp1`) against local backends: what goes
//! on the wire, connection reuse, a kept-alive connection the backend closed, streamed bodies,
//! and which calls go to the fallback client.

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
use tokio::net::TcpListener;

const SAFETY: Duration = Duration::from_secs(20);

/// A backend that answers every request with what it received (as text), counting the
/// connections it accepted.
async fn echo_backend() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    |req: http::Request<hyper::body::Incoming>| async move {
                        use http_body_util::BodyExt;
                        let mut text = format!("{} {}\n", req.method(), req.uri());
                        for (n, v) in req.headers() {
                            text.push_str(&format!("{n}: {}\n", v.to_str().unwrap_or("?")));
                        }
                        let body = req.into_body().collect().await?.to_bytes();
                        text.push('\n');
                        text.push_str(&String::from_utf8_lossy(&body));
                        let mut resp =
                            http::Response::new(http_body_util::Full::new(Bytes::from(text)));
                        *resp.status_mut() = http::StatusCode::from_u16(429).unwrap();
                        resp.headers_mut()
                            .insert("x-backend", "echo".parse().unwrap());
                        resp.headers_mut()
                            .append("set-cookie", "a=1".parse().unwrap());
                        resp.headers_mut()
                            .append("set-cookie", "b=2".parse().unwrap());
                        Ok::<_, hyper::Error>(resp)
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), accepted)
}

/// The fallback client: records the URLs it was asked for and answers 202.
#[derive(Debug, Default)]
struct Fallback(parking_lot::Mutex<Vec<String>>);

impl HttpClient for Fallback {
    fn send(&self, req: BackendRequest) -> BoxFuture<'static, Result<Response, HttpError>> {
        self.0.lock().push(req.url.to_string());
        Box::pin(async { Ok(Response::new(202)) })
    }
}

fn client() -> DirectHttp1 {
    DirectHttp1::new(Arc::new(Fallback::default()))
}

async fn text(resp: Response) -> String {
    let b = resp.body.into_bytes(usize::MAX).await.unwrap();
    String::from_utf8(b.to_vec()).unwrap()
}

async fn send(c: &DirectHttp1, req: BackendRequest) -> Result<Response, HttpError> {
    tokio::time::timeout(SAFETY, c.send(req))
        .await
        .expect("backend call hangs")
}

#[tokio::test]
async fn a_call_carries_method_target_headers_and_body_and_the_answer_comes_back() {
    let (base, _) = echo_backend().await;
    let c = client();
    let mut req = BackendRequest::new(
        "POST",
        Url::parse(&format!(
            "{base}/openai/chat?api-version=2024-10-21&x=a%20b"
        ))
        .unwrap(),
    );
    req.headers.set_one("api-key", "k1").unwrap();
    req.headers
        .set(
            "Accept",
            vec!["text/plain".into(), "application/json".into()],
        )
        .unwrap();
    req.headers
        .set("Cookie", vec!["c=1".into(), "d=2".into()])
        .unwrap();
    // Hop-by-hop and length headers are the client's own business.
    req.headers.set_one("Connection", "close").unwrap();
    req.headers.set_one("Content-Length", "999").unwrap();
    req.body = Body::from("{\"messages\":[]}");
    let resp = send(&c, req).await.unwrap();
    assert_eq!(resp.status, 429);
    assert_eq!(resp.reason, "Too Many Requests");
    assert_eq!(resp.headers.first("x-backend"), Some("echo"));
    assert_eq!(
        resp.headers.get("set-cookie").unwrap(),
        &["a=1".to_string(), "b=2".to_string()]
    );
    // A small body that arrived with the headers is handed on as bytes.
    assert!(resp.body.peek().is_some());
    let echoed = text(resp).await;
    let host = base.trim_start_matches("http://");
    for line in [
        "POST /openai/chat?api-version=2024-10-21&x=a%20b\n",
        "api-key: k1\n",
        "accept: text/plain,application/json\n",
        "cookie: c=1\n",
        "cookie: d=2\n",
        &format!("host: {host}\n"),
        "content-length: 15\n",
        "\n{\"messages\":[]}",
    ] {
        assert!(echoed.contains(line), "{line:?} missing in:\n{echoed}");
    }
    assert!(!echoed.contains("connection: close"), "{echoed}");
}

#[tokio::test]
async fn a_host_header_set_by_policy_is_sent_as_it_is() {
    let (base, _) = echo_backend().await;
    let mut req = BackendRequest::new("GET", Url::parse(&format!("{base}/")).unwrap());
    req.headers.set_one("Host", "backend.example.com").unwrap();
    let echoed = text(send(&client(), req).await.unwrap()).await;
    assert!(echoed.contains("host: backend.example.com\n"), "{echoed}");
    assert_eq!(echoed.matches("host:").count(), 1, "{echoed}");
}

#[tokio::test]
async fn calls_one_after_another_share_one_connection() {
    let (base, accepted) = echo_backend().await;
    let c = client();
    for i in 0..5 {
        let req = BackendRequest::new("GET", Url::parse(&format!("{base}/n/{i}")).unwrap());
        let echoed = text(send(&c, req).await.unwrap()).await;
        assert!(echoed.starts_with(&format!("GET /n/{i}\n")), "{echoed}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_kept_alive_connection_the_backend_closed_is_replaced() {
    // Answers one request per connection with a keep-alive response, then hangs up.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            let mut buf = vec![0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                let k = s.read(&mut buf).await.unwrap();
                if k == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..k]);
            }
            let body = format!("connection {n}");
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
            s.write_all(head.as_bytes()).await.unwrap();
            s.write_all(body.as_bytes()).await.unwrap();
            s.shutdown().await.unwrap();
        }
    });
    let c = client();
    let url = Url::parse(&format!("http://{addr}/")).unwrap();
    assert_eq!(
        text(
            send(&c, BackendRequest::new("GET", url.clone()))
                .await
                .unwrap()
        )
        .await,
        "connection 1"
    );
    assert_eq!(
        text(send(&c, BackendRequest::new("GET", url)).await.unwrap()).await,
        "connection 2"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_streamed_answer_arrives_chunk_by_chunk_and_then_frees_the_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<&'static str>();
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            let rx = rx.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let rx = rx.clone();
                        async move {
                            let body: http_body_util::combinators::BoxBody<
                                Bytes,
                                std::convert::Infallible,
                            > = if req.uri().path() == "/events" {
                                let s = futures_util::stream::unfold(rx, |rx| async move {
                                    let next = rx.lock().await.recv().await;
                                    next.map(|c| (Ok(hyper::body::Frame::data(Bytes::from(c))), rx))
                                });
                                http_body_util::BodyExt::boxed(http_body_util::StreamBody::new(s))
                            } else {
                                http_body_util::BodyExt::boxed(http_body_util::Full::new(
                                    Bytes::from("done"),
                                ))
                            };
                            Ok::<_, hyper::Error>(http::Response::new(body))
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let c = client();
    let req = BackendRequest::new("GET", Url::parse(&format!("http://{addr}/events")).unwrap());
    let resp = send(&c, req).await.unwrap();
    assert!(resp.body.is_stream());
    let mut stream = resp.body.into_stream();
    tx.send("data: 1\n\n").unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap(), "data: 1\n\n");
    tx.send("data: 2\n\n").unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap(), "data: 2\n\n");
    drop(tx);
    assert!(stream.next().await.is_none());
    // The stream reached its end: the next call reuses the connection.
    let req = BackendRequest::new("GET", Url::parse(&format!("http://{addr}/after")).unwrap());
    assert_eq!(text(send(&c, req).await.unwrap()).await, "done");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_streamed_request_body_is_sent_chunked() {
    let (base, _) = echo_backend().await;
    let mut req = BackendRequest::new("PUT", Url::parse(&format!("{base}/up")).unwrap());
    req.body = Body::from_chunks(vec![
        Ok::<_, BodyError>(Bytes::from_static(b"part one, ")),
        Ok(Bytes::from_static(b"part two")),
    ]);
    let echoed = text(send(&client(), req).await.unwrap()).await;
    assert!(echoed.contains("transfer-encoding: chunked\n"), "{echoed}");
    assert!(echoed.ends_with("\npart one, part two"), "{echoed}");
}

#[tokio::test]
async fn a_refused_connection_is_a_connection_failure() {
    // A port that was free a moment ago.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let req = BackendRequest::new("GET", Url::parse(&format!("http://{addr}/")).unwrap());
    match send(&client(), req).await {
        Err(e @ HttpError::ConnectionRefused(_)) => {
            assert_eq!(e.reason(), "BackendConnectionFailure");
            assert!(e.to_string().contains(&addr.to_string()), "{e}");
        }
        other => panic!("expected a refused connection, got {other:?}"),
    }
}

#[tokio::test]
async fn https_proxies_and_redirects_go_to_the_fallback_client() {
    let fallback = Arc::new(Fallback::default());
    let c = DirectHttp1::new(fallback.clone());
    let https = BackendRequest::new("GET", Url::parse("https://aoai.example.com/x").unwrap());
    let mut redirects = BackendRequest::new("GET", Url::parse("http://a.example.com/").unwrap());
    redirects.follow_redirects = true;
    let mut proxied = BackendRequest::new("GET", Url::parse("http://b.example.com/").unwrap());
    proxied.proxy = Some(apim_engine::services::ProxyOptions {
        url: "http://proxy.example.com:3128".into(),
        username: None,
        password: None,
    });
    for req in [https, redirects, proxied] {
        assert!(!DirectHttp1::handles(&req));
        assert_eq!(send(&c, req).await.unwrap().status, 202);
    }
    assert_eq!(
        *fallback.0.lock(),
        [
            "https://aoai.example.com/x",
            "http://a.example.com/",
            "http://b.example.com/"
        ]
    );
}
