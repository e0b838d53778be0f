// Shared test helpers for the host_*.rs tests (included with `mod`, not a test target itself).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apim_engine::errors::Section;
use apim_engine::http::{Body, BodyError, Request, Response};
use apim_engine::trace::{Trace, TraceEntry};
use apim_gateway::host::{
    GatewayHost, HandledResponse, HostConfig, HostHandle, RequestHandler, RequestInfo, RequestLog,
};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

/// Safety net only: a test that waits longer than this has failed.
pub const SAFETY: Duration = Duration::from_secs(20);

pub fn config() -> HostConfig {
    HostConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..HostConfig::default()
    }
}

pub struct Running {
    pub addr: SocketAddr,
    pub handle: HostHandle,
    pub stop: Option<oneshot::Sender<()>>,
    pub done: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
    /// Triggers graceful shutdown and waits for `serve` to return.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        tokio::time::timeout(SAFETY, self.done)
            .await
            .expect("host did not stop")
            .expect("serve task failed");
    }
}

pub async fn start(config: HostConfig, handler: Arc<dyn RequestHandler>) -> Running {
    let host = GatewayHost::bind(config, handler).await.expect("bind");
    let addr = host.local_addr();
    let handle = host.handle();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        host.serve(async {
            let _ = stopped.await;
        })
        .await
        .expect("serve");
    });
    Running {
        addr,
        handle,
        stop: Some(stop),
        done,
    }
}

/// Echoes method, path, query, client address and body; records a trace entry when asked.
pub struct Echo {
    pub tag: &'static str,
}

impl RequestHandler for Echo {
    fn handle(&self, mut request: Request, info: RequestInfo) -> BoxFuture<'_, HandledResponse> {
        Box::pin(async move {
            let body = request
                .body
                .take()
                .into_bytes(usize::MAX)
                .await
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            let mut r = Response::new(200);
            r.headers
                .set_one("Content-Type", "application/json")
                .unwrap();
            r.headers.set_one("x-handler", self.tag).unwrap();
            r.headers
                .set("x-multi", vec!["a".into(), "b".into()])
                .unwrap();
            let doc = serde_json::json!({
                "method": request.method,
                "path": request.original_url.path(),
                "query": request.original_url.query_string(),
                "ip": request.ip_address,
                "header": request.headers.get_joined("x-test"),
                "body": body.as_ref().ok(),
                "bodyError": body.as_ref().err().map(|e| e.to_string()),
            });
            r.body = Body::from(doc.to_string());
            let trace = info.trace.then(|| {
                let mut t = Trace::new(true);
                t.record(
                    Section::Inbound,
                    TraceEntry {
                        source: "echo".into(),
                        timestamp: chrono::DateTime::from_timestamp(0, 0).unwrap(),
                        elapsed: Duration::from_micros(5),
                        data: serde_json::json!({ "message": "echoed" }),
                    },
                );
                t
            });
            HandledResponse {
                response: r,
                trace,
                log: RequestLog {
                    api: Some("echo-api".into()),
                    operation: Some("echo".into()),
                    backend: None,
                    tokens: Some(apim_gateway::host::TokenUsage {
                        prompt: 3,
                        completion: 4,
                        total: 7,
                    }),
                },
            }
        })
    }
}

/// Answers once released: tells the test it started, then waits for the release.
pub struct Slow {
    pub tag: &'static str,
    pub started: mpsc::UnboundedSender<()>,
    pub release: Arc<tokio::sync::Notify>,
}

impl RequestHandler for Slow {
    fn handle(&self, _request: Request, _info: RequestInfo) -> BoxFuture<'_, HandledResponse> {
        Box::pin(async move {
            let _ = self.started.send(());
            self.release.notified().await;
            let mut r = Response::new(200);
            r.body = Body::from(self.tag);
            HandledResponse::new(r)
        })
    }
}

/// Streams the chunks the test sends on a channel (server-sent events).
pub struct Streamer {
    pub chunks: parking_lot::Mutex<Option<mpsc::UnboundedReceiver<Bytes>>>,
}

impl RequestHandler for Streamer {
    fn handle(&self, _request: Request, _info: RequestInfo) -> BoxFuture<'_, HandledResponse> {
        let rx = self.chunks.lock().take();
        Box::pin(async move {
            let mut r = Response::new(200);
            r.headers
                .set_one("Content-Type", "text/event-stream")
                .unwrap();
            if let Some(rx) = rx {
                let s = futures_util::stream::unfold(rx, |mut rx| async move {
                    rx.recv().await.map(|c| (Ok::<_, BodyError>(c), rx))
                });
                r.body = Body::from_stream(Box::pin(s));
            }
            HandledResponse::new(r)
        })
    }
}

pub struct Panics;

impl RequestHandler for Panics {
    fn handle(&self, _request: Request, _info: RequestInfo) -> BoxFuture<'_, HandledResponse> {
        Box::pin(async move { panic!("handler bug") })
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(SAFETY)
        .no_proxy()
        .build()
        .unwrap()
}
