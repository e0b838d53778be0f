//! The gateway host: an HTTP server on 127.0.0.1:8080 (by default) that hands each request to
//! the current [`RequestHandler`], streams its response back, keeps traces and exposes metrics.
//!
//! Reserved paths (never reach policies): `GET /_emu/traces/{id}`, `GET /_emu/metrics`; any
//! other `/_emu/...` path answers 404.

mod backends;
mod convert;
mod handler;
mod metrics;
mod traces;
mod usage;
mod watch;

use std::collections::hash_map::RandomState;
use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apim_engine::errors::{error_body, error_response, internal_error_response};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{any, get};
use futures_util::FutureExt;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;

pub use backends::{IN_PROCESS_BODY_LIMIT, InProcessBackends, recording_backend};
pub use handler::{
    HandledResponse, RequestHandler, RequestInfo, RequestLog, TokenUsage, handler_fn,
};
pub use metrics::{DURATION_BUCKETS, HostMetrics, MetricSeries, sanitize_name};
pub use traces::TraceStore;
pub use watch::{WatchError, Watcher, watch, watch_and_reload};

use handler::HandlerCell;

/// Request header asking for a trace (the emulator's own).
pub const TRACE_HEADER: &str = "apim-emu-trace";
/// APIM's legacy trace request header.
pub const LEGACY_TRACE_HEADER: &str = "Ocp-Apim-Trace";
/// Response header carrying the trace id.
pub const TRACE_ID_HEADER: &str = "apim-emu-trace-id";
/// APIM's legacy response header: the URL of the trace.
pub const TRACE_LOCATION_HEADER: &str = "Ocp-Apim-Trace-Location";

/// Makes request ids (also trace ids and a 500's `activityId`).
pub type IdSource = Arc<dyn Fn() -> String + Send + Sync>;

/// Host settings.
#[derive(Clone)]
pub struct HostConfig {
    /// Where to listen; 127.0.0.1:8080 by default.
    pub listen: SocketAddr,
    /// Largest request body accepted (413 past it). Default 100 MiB.
    pub max_request_body: usize,
    /// Bytes buffered while reading a request head (request line and headers); a larger head
    /// gets 431. Default 64 KiB (at least 8 KiB).
    pub max_header_bytes: usize,
    /// Most header lines in a request. Default 100.
    pub max_headers: usize,
    /// A client must send its whole request head within this time (slowloris); an idle
    /// keep-alive connection is closed after it too. Default 30 s.
    pub header_read_timeout: Duration,
    /// Longest pause while a request body is read (slow body): past it the answer is 408 and
    /// the connection is closed. Default 30 s.
    pub body_read_timeout: Duration,
    /// Largest response body sent (`None`: no limit, as APIM). A buffered body past it is
    /// answered 502; a streamed one is cut off there (the connection is aborted).
    pub max_response_body: Option<usize>,
    /// On shutdown, requests in flight get this long to finish. Default 30 s.
    pub shutdown_grace: Duration,
    /// Traces kept (the oldest dropped first). Default 1,000.
    pub trace_capacity: usize,
    /// The metric sink the engine's services emit to, served on `/_emu/metrics`.
    pub metrics: Option<MetricSeries>,
    /// Request ids; random 128-bit ids by default.
    pub ids: IdSource,
}

impl std::fmt::Debug for HostConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostConfig")
            .field("listen", &self.listen)
            .field("max_request_body", &self.max_request_body)
            .field("max_header_bytes", &self.max_header_bytes)
            .field("max_headers", &self.max_headers)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("max_response_body", &self.max_response_body)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("trace_capacity", &self.trace_capacity)
            .finish_non_exhaustive()
    }
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_request_body: apim_engine::http::DEFAULT_BUFFER_LIMIT,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
            max_response_body: None,
            shutdown_grace: Duration::from_secs(30),
            trace_capacity: 1000,
            metrics: None,
            ids: random_ids(),
        }
    }
}

/// Random request ids in GUID form (std's randomly keyed hasher over a counter; no
/// cryptographic strength needed).
pub fn random_ids() -> IdSource {
    let keys = RandomState::new();
    let counter = AtomicU64::new(0);
    Arc::new(move || {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let mut h1 = keys.build_hasher();
        h1.write_u64(n);
        h1.write_u8(1);
        let mut h2 = keys.build_hasher();
        h2.write_u64(n);
        h2.write_u8(2);
        let (a, b) = (h1.finish(), h2.finish());
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    })
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("listener error: {0}")]
    Io(#[from] std::io::Error),
}

struct HostState {
    handler: HandlerCell,
    traces: TraceStore,
    host_metrics: HostMetrics,
    config: HostConfig,
    local_addr: SocketAddr,
}

/// A bound, not yet serving, gateway host.
pub struct GatewayHost {
    state: Arc<HostState>,
    listener: TcpListener,
}

/// A cheap handle on a running host: reload the handler, read traces.
#[derive(Clone)]
pub struct HostHandle {
    state: Arc<HostState>,
}

impl HostHandle {
    /// Swaps in a new handler. Requests already running finish on the old one; requests
    /// that start after this call see the new one.
    pub fn reload(&self, handler: Arc<dyn RequestHandler>) {
        self.state.handler.store(handler);
    }

    /// A stored trace document (JSON text).
    pub fn trace(&self, id: &str) -> Option<Arc<String>> {
        self.state.traces.get(id)
    }

    /// The `/_emu/metrics` text.
    pub fn metrics_text(&self) -> String {
        metrics_text(&self.state)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.state.local_addr
    }
}

impl GatewayHost {
    /// Binds the listening socket (`config.listen`; port 0 picks a free port).
    pub async fn bind(
        config: HostConfig,
        handler: Arc<dyn RequestHandler>,
    ) -> Result<GatewayHost, HostError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| HostError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr()?;
        let state = Arc::new(HostState {
            handler: HandlerCell::new(handler),
            traces: TraceStore::new(config.trace_capacity),
            host_metrics: HostMetrics::default(),
            config,
            local_addr,
        });
        Ok(GatewayHost { state, listener })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.state.local_addr
    }

    pub fn handle(&self) -> HostHandle {
        HostHandle {
            state: self.state.clone(),
        }
    }

    /// Serves until `shutdown` completes, then stops accepting connections, lets requests in
    /// flight finish (at most `shutdown_grace`) and returns.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), HostError> {
        let GatewayHost { state, listener } = self;
        let router = router(state.clone());
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(state.config.header_read_timeout)
            .max_buf_size(state.config.max_header_bytes.max(8192))
            .max_headers(state.config.max_headers);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(state.config.max_header_bytes).unwrap_or(u32::MAX));
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            // Out of file descriptors and the like: keep serving.
                            tracing::warn!(target: "apim_emu::host", error = %e, "accept failed");
                            continue;
                        }
                    };
                    let router = router.clone();
                    let service = hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(Peer(peer));
                        let router = router.clone();
                        async move {
                            let resp = router.oneshot(req.map(axum::body::Body::new)).await;
                            Ok::<_, Infallible>(match resp {
                                Ok(r) => r,
                                Err(never) => match never {},
                            })
                        }
                    });
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(target: "apim_emu::host", error = %e, "connection ended with an error");
                        }
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        let grace = state.config.shutdown_grace;
        if tokio::time::timeout(grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(target: "apim_emu::host", "requests still running after {grace:?}; stopping anyway");
        }
        Ok(())
    }
}

/// The client's address, set per connection.
#[derive(Clone, Copy)]
struct Peer(SocketAddr);

fn router(state: Arc<HostState>) -> Router {
    let gw = state.clone();
    Router::new()
        .route("/_emu/traces/{id}", get(get_trace))
        .route("/_emu/metrics", get(get_metrics))
        .route("/_emu", any(emu_not_found))
        .route("/_emu/", any(emu_not_found))
        .route("/_emu/{*rest}", any(emu_not_found))
        .with_state(state)
        .fallback(move |req: axum::extract::Request| gateway(gw.clone(), req))
}

fn json_response(status: u16, body: String) -> http::Response<axum::body::Body> {
    let mut r = http::Response::new(axum::body::Body::from(body));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

async fn get_trace(
    State(state): State<Arc<HostState>>,
    Path(id): Path<String>,
) -> http::Response<axum::body::Body> {
    match state.traces.get(&id) {
        Some(doc) => json_response(200, doc.as_str().to_string()),
        None => json_response(404, error_body(404, "Trace not found")),
    }
}

fn metrics_text(state: &HostState) -> String {
    metrics::render(state.config.metrics.as_ref(), &state.host_metrics)
}

async fn get_metrics(State(state): State<Arc<HostState>>) -> http::Response<axum::body::Body> {
    let mut r = http::Response::new(axum::body::Body::from(metrics_text(&state)));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

async fn emu_not_found() -> http::Response<axum::body::Body> {
    json_response(404, error_body(404, "Resource not found"))
}

fn wants_trace(headers: &http::HeaderMap, name: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.trim().eq_ignore_ascii_case("true"))
    })
}

/// One gateway request: convert, run the current handler, store the trace, log, convert back.
async fn gateway(
    state: Arc<HostState>,
    req: axum::extract::Request,
) -> http::Response<axum::body::Body> {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let host_header = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let peer = req
        .extensions()
        .get::<Peer>()
        .map(|p| p.0)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let legacy_trace = wants_trace(req.headers(), LEGACY_TRACE_HEADER);
    let trace = legacy_trace || wants_trace(req.headers(), TRACE_HEADER);
    let request_id = (state.config.ids)();
    let limit = state.config.max_request_body;

    let declared_len = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok());
    let fault = Arc::new(AtomicU8::new(convert::FAULT_NONE));
    let mut log = RequestLog::default();
    let mut trace_doc = None;
    let response = if declared_len.is_some_and(|n| n > limit as u64) {
        too_large_response(limit)
    } else {
        match convert::to_engine_request(
            req,
            peer,
            state.local_addr,
            limit,
            state.config.body_read_timeout,
            fault.clone(),
        ) {
            Err(r) => r,
            Ok(engine_req) => {
                let handler = state.handler.load();
                let info = RequestInfo {
                    client_addr: peer,
                    trace,
                    request_id: request_id.clone(),
                };
                match AssertUnwindSafe(handler.handle(engine_req, info))
                    .catch_unwind()
                    .await
                {
                    Ok(handled) => {
                        log = handled.log;
                        trace_doc = handled.trace;
                        match fault.load(Ordering::SeqCst) {
                            convert::FAULT_TOO_LARGE => too_large_response(limit),
                            convert::FAULT_TIMED_OUT => slow_body_response(),
                            _ => handled.response,
                        }
                    }
                    Err(panic) => {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        tracing::error!(target: "apim_emu::host", request_id = %request_id, panic = %what, "request handler panicked");
                        internal_error_response(&request_id)
                    }
                }
            }
        }
    };

    // A streamed body is logged when it ends (its usage event comes last); the line waits in
    // `slot` until the status is known.
    let mut response = response;
    let max_response = state.config.max_response_body;
    if let Some(max) = max_response {
        if response.body.peek().is_some_and(|b| b.len() > max) {
            response = response_too_large(max);
        }
    }
    let slot = if response.body.is_present()
        && !response.body.is_consumed()
        && response.body.peek().is_none()
    {
        let scan = BodyScan::for_content_type(
            response
                .headers
                .first("content-type")
                .map(str::to_ascii_lowercase)
                .as_deref(),
        );
        let slot: LogSlot = Arc::new(parking_lot::Mutex::new(None));
        let inner = std::mem::replace(&mut response.body, apim_engine::http::Body::none());
        response.body = apim_engine::http::Body::from_stream(Box::pin(LoggedStream {
            inner: inner.into_stream(),
            scan,
            slot: slot.clone(),
            ended: false,
            cut: false,
            limit: max_response,
            sent: 0,
        }));
        Some(slot)
    } else {
        None
    };
    let buffered_tokens = response.body.peek().and_then(|b| usage::from_json(b));

    let (mut out, slot) = match convert::to_hyper_response(response) {
        Ok(r) => (r, slot),
        Err(why) => {
            tracing::error!(target: "apim_emu::host", request_id = %request_id, error = %why, "response cannot be sent");
            let r = convert::to_hyper_response(internal_error_response(&request_id))
                .unwrap_or_else(|_| json_response(500, error_body(500, "Internal server error")));
            (r, None)
        }
    };
    // The status actually sent (a response that could not be sent became a 500).
    let status = out.status().as_u16();
    if fault.load(Ordering::SeqCst) == convert::FAULT_TIMED_OUT {
        // What is left of a body that stopped arriving cannot be told from the next request.
        out.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }

    if trace {
        if let Some(t) = trace_doc {
            let doc = t.to_json(&request_id).to_string();
            state.traces.insert(request_id.clone(), doc);
            if let Ok(v) = http::HeaderValue::from_str(&request_id) {
                out.headers_mut().insert(TRACE_ID_HEADER, v);
            }
            if legacy_trace {
                let host = host_header.unwrap_or_else(|| state.local_addr.to_string());
                let url = format!("http://{host}/_emu/traces/{request_id}");
                if let Ok(v) = http::HeaderValue::from_str(&url) {
                    out.headers_mut().insert(TRACE_LOCATION_HEADER, v);
                }
            }
        }
    }

    state
        .host_metrics
        .observe(status, log.api.as_deref(), start.elapsed());
    let line = LogLine {
        method,
        path,
        status,
        log,
        request_id,
        start,
    };
    match slot {
        Some(slot) => *slot.lock() = Some(line),
        None => line.emit(buffered_tokens, true),
    }
    out
}

/// The per-request log line, written once the whole response has been handed to the
/// connection (or the client went away).
struct LogLine {
    method: http::Method,
    path: String,
    status: u16,
    log: RequestLog,
    request_id: String,
    start: Instant,
}

impl LogLine {
    fn emit(self, tokens: Option<TokenUsage>, complete: bool) {
        let elapsed = self.start.elapsed();
        let tokens = self.log.tokens.or(tokens).map(|t| t.to_string());
        let log = &self.log;
        macro_rules! line {
            ($message:literal) => {
                tracing::info!(
                    target: "apim_emu::request",
                    method = %self.method,
                    path = %self.path,
                    status = self.status,
                    api = log.api.as_deref().unwrap_or("-"),
                    operation = log.operation.as_deref().unwrap_or("-"),
                    backend = log.backend.as_deref().unwrap_or("-"),
                    duration_ms = elapsed.as_secs_f64() * 1000.0,
                    tokens = tokens.as_deref().unwrap_or("-"),
                    request_id = %self.request_id,
                    $message
                )
            };
        }
        if complete {
            line!("request");
        } else {
            line!("request (the response body did not reach its end: client gone or size limit)");
        }
    }
}

type LogSlot = Arc<parking_lot::Mutex<Option<LogLine>>>;

/// Largest streamed JSON body kept to read its `usage`.
const MAX_SCANNED_JSON: usize = 1024 * 1024;

/// What a streamed body is read for as it passes.
enum BodyScan {
    Sse(usage::SseUsage),
    Json(Vec<u8>),
    /// Too large, or neither JSON nor events.
    Nothing,
}

impl BodyScan {
    fn for_content_type(content_type: Option<&str>) -> BodyScan {
        match content_type {
            Some(c) if c.contains("event-stream") => BodyScan::Sse(usage::SseUsage::default()),
            Some(c) if c.contains("json") => BodyScan::Json(Vec::new()),
            _ => BodyScan::Nothing,
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        match self {
            BodyScan::Sse(s) => s.feed(chunk),
            BodyScan::Json(b) if b.len() + chunk.len() <= MAX_SCANNED_JSON => {
                b.extend_from_slice(chunk)
            }
            BodyScan::Json(_) => *self = BodyScan::Nothing,
            BodyScan::Nothing => {}
        }
    }

    fn tokens(&mut self) -> Option<TokenUsage> {
        match self {
            BodyScan::Sse(s) => s.finish(),
            BodyScan::Json(b) => usage::from_json(b),
            BodyScan::Nothing => None,
        }
    }
}

/// A streamed response body that writes the request's log line when it ends or is dropped.
struct LoggedStream {
    inner: apim_engine::http::BodyStream,
    scan: BodyScan,
    slot: LogSlot,
    ended: bool,
    /// Cut off at `limit`.
    cut: bool,
    /// `max_response_body`.
    limit: Option<usize>,
    sent: usize,
}

impl futures_util::Stream for LoggedStream {
    type Item = Result<bytes::Bytes, apim_engine::http::BodyError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.ended || this.cut {
            return std::task::Poll::Ready(None);
        }
        let polled = this.inner.as_mut().poll_next(cx);
        match &polled {
            std::task::Poll::Ready(Some(Ok(chunk))) => {
                this.sent += chunk.len();
                if let Some(limit) = this.limit.filter(|l| this.sent > *l) {
                    // The headers are gone: cutting the body off is all that is left to do.
                    this.cut = true;
                    tracing::warn!(target: "apim_emu::host", limit, "streamed response body cut off at the response size limit");
                    return std::task::Poll::Ready(Some(Err(
                        apim_engine::http::BodyError::TooLarge { limit },
                    )));
                }
                this.scan.feed(chunk)
            }
            std::task::Poll::Ready(None) => this.ended = true,
            _ => {}
        }
        polled
    }
}

impl Drop for LoggedStream {
    fn drop(&mut self) {
        if let Some(line) = self.slot.lock().take() {
            let tokens = self.scan.tokens();
            line.emit(tokens, self.ended && !self.cut);
        }
    }
}

/// 408 when the client stopped sending its body (the emulator's wording; see docs/compat.md).
fn slow_body_response() -> apim_engine::http::Response {
    error_response(
        408,
        "Request timeout: the client stopped sending the request body.",
    )
}

/// 502 for a buffered response body past `max_response_body`.
fn response_too_large(limit: usize) -> apim_engine::http::Response {
    error_response(
        502,
        &format!("Bad gateway: the response body is larger than {limit} bytes."),
    )
}

/// 413 in APIM's error body shape (the message is the emulator's; see docs/compat.md).
fn too_large_response(limit: usize) -> apim_engine::http::Response {
    error_response(
        413,
        &format!("Request entity too large: the body is larger than {limit} bytes."),
    )
}
