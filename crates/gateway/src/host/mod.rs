//! The gateway host: an HTTP server on 127.0.0.1:8080 (by default) that hands each request to
//! the current [`RequestHandler`], streams its response back, keeps traces and exposes metrics.
//!
//! Reserved paths (never reach policies): `GET /_emu/traces/{id}`, `GET /_emu/metrics`; any
//! other `/_emu/...` path answers 404.

mod backends;
mod convert;
mod h1;
mod handler;
mod metrics;
mod request_log;
mod traces;
mod upstream;
mod usage;
mod watch;

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apim_engine::errors::{error_body, error_response, internal_error_response};
use axum::extract::{Path, State};
use axum::routing::get;
use futures_util::FutureExt;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::ServiceExt;

pub use backends::{IN_PROCESS_BODY_LIMIT, InProcessBackends};
pub use handler::{
    HandledResponse, RequestHandler, RequestInfo, RequestLog, TokenUsage, handler_fn,
};
pub use metrics::{DURATION_BUCKETS, HostMetrics, MetricSeries, sanitize_name};
pub use request_log::{RequestLogSink, stderr_sink};
pub use traces::TraceStore;
pub use upstream::DirectHttp1;
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
    /// Threads serving connections, each with its own runtime. Default: one per core.
    pub workers: usize,
    /// Where the per-request log line goes; `None`: no line. Default `None` (the CLI writes
    /// lines on stderr).
    pub request_log: Option<RequestLogSink>,
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
            .field("workers", &self.workers)
            .field("request_log", &self.request_log.is_some())
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
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            request_log: None,
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
        guid_text(h1.finish(), h2.finish())
    })
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` from 128 bits, without the formatting machinery.
fn guid_text(a: u64, b: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 36];
    let mut i = 0;
    for (n, word) in [a, b].into_iter().enumerate() {
        for k in (0..16).rev() {
            if matches!(n * 16 + (15 - k), 8 | 12 | 16 | 20) {
                out[i] = b'-';
                i += 1;
            }
            out[i] = HEX[((word >> (k * 4)) & 0xf) as usize];
            i += 1;
        }
    }
    // Only ASCII hex digits and dashes were written.
    String::from_utf8_lossy(&out).into_owned()
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

pub(crate) struct HostState {
    handler: HandlerCell,
    traces: TraceStore,
    host_metrics: HostMetrics,
    config: HostConfig,
    local_addr: SocketAddr,
}

#[cfg(test)]
impl HostState {
    /// A state for unit tests of the wire code: a handler that answers 204.
    pub(crate) fn for_tests(config: HostConfig) -> HostState {
        let handler = handler_fn(|_req, _info| {
            Box::pin(async { HandledResponse::new(apim_engine::http::Response::new(204)) })
        });
        HostState {
            handler: HandlerCell::new(handler),
            traces: TraceStore::new(config.trace_capacity),
            host_metrics: HostMetrics::default(),
            local_addr: config.listen,
            config,
        }
    }
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
    ///
    /// Connections are served by `config.workers` threads, each running its own single-threaded
    /// runtime (as nginx runs worker processes): a connection and the backend connections its
    /// requests use stay on one thread. This task only accepts, and hands each connection to
    /// the worker with the fewest open ones.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), HostError> {
        let GatewayHost { state, listener } = self;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut workers = Vec::new();
        for i in 0..state.config.workers.max(1) {
            workers.push(Worker::spawn(i, state.clone(), stopped.clone())?);
        }
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            // Out of file descriptors and the like: keep serving, without
                            // spinning on an error that repeats at once.
                            tracing::warn!(target: "apim_emu::host", error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let worker = workers
                        .iter()
                        .min_by_key(|w| w.open.load(Ordering::Relaxed))
                        .expect("at least one worker");
                    match stream.into_std() {
                        Ok(stream) => worker.hand(stream, peer),
                        Err(e) => tracing::warn!(target: "apim_emu::host", error = %e, "accepted connection lost"),
                    }
                }
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        let _ = stop.send(true);
        for w in workers {
            let _ = w.done.await;
        }
        Ok(())
    }
}

/// A thread serving connections on its own runtime.
struct Worker {
    connections: tokio::sync::mpsc::UnboundedSender<(std::net::TcpStream, SocketAddr)>,
    /// Connections open on this worker.
    open: Arc<AtomicUsize>,
    /// Resolves when the worker has drained and stopped.
    done: tokio::sync::oneshot::Receiver<()>,
}

impl Worker {
    fn spawn(
        index: usize,
        state: Arc<HostState>,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<Worker, HostError> {
        let (connections, incoming) = tokio::sync::mpsc::unbounded_channel();
        let open = Arc::new(AtomicUsize::new(0));
        let (finished, done) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let counter = open.clone();
        std::thread::Builder::new()
            .name(format!("apim-emu-worker-{index}"))
            .spawn(move || {
                runtime.block_on(run_worker(state, incoming, stop, counter));
                // Idle backend connections and anything else still on this runtime close here;
                // a response dropped now still writes its line.
                drop(runtime);
                request_log::flush_this_thread();
                let _ = finished.send(());
            })?;
        Ok(Worker {
            connections,
            open,
            done,
        })
    }

    fn hand(&self, stream: std::net::TcpStream, peer: SocketAddr) {
        self.open.fetch_add(1, Ordering::Relaxed);
        if self.connections.send((stream, peer)).is_err() {
            self.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Decrements a worker's count of open connections when a connection task ends.
struct OpenConnection(Arc<AtomicUsize>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn run_worker(
    state: Arc<HostState>,
    mut incoming: tokio::sync::mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    open: Arc<AtomicUsize>,
) {
    let emu = emu_router(state.clone());
    let flusher = state.config.request_log.clone().map(|sink| {
        request_log::gather_on_this_thread(sink);
        tokio::spawn(async {
            let mut every = tokio::time::interval(request_log::FLUSH_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                request_log::flush_this_thread();
            }
        })
    });
    // Each connection task holds a sender: when all are gone, every connection has closed.
    let (alive, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
    loop {
        tokio::select! {
            next = incoming.recv() => {
                let Some((stream, peer)) = next else { break };
                let counted = OpenConnection(open.clone());
                let stream = match tokio::net::TcpStream::from_std(stream) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(target: "apim_emu::host", error = %e, "connection lost");
                        continue;
                    }
                };
                // Responses are written whole or chunk by chunk as they come: never held back.
                let _ = stream.set_nodelay(true);
                let (state, emu, stop, alive) = (state.clone(), emu.clone(), stop.clone(), alive.clone());
                tokio::spawn(async move {
                    h1::server::serve_connection(stream, peer, state, emu, stop).await;
                    drop(alive);
                    drop(counted);
                });
            }
            _ = stop.changed() => break,
        }
    }
    drop(alive);
    let grace = state.config.shutdown_grace;
    if tokio::time::timeout(grace, all_closed.recv())
        .await
        .is_err()
    {
        tracing::warn!(target: "apim_emu::host", "requests still running after {grace:?}; stopping anyway");
    }
    if let Some(f) = flusher {
        f.abort();
    }
    request_log::flush_this_thread();
}

/// A connection whose first bytes were the HTTP/2 preface: hyper's HTTP/2 server, with the
/// bytes already read replayed. On stop it finishes the streams in flight and closes.
pub(crate) async fn serve_h2(
    stream: tokio::net::TcpStream,
    read: bytes::Bytes,
    peer: SocketAddr,
    state: Arc<HostState>,
    emu: axum::Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(state.config.max_header_bytes).unwrap_or(u32::MAX));
    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let (state, emu) = (state.clone(), emu.clone());
        async move {
            let path = req.uri().path();
            let resp = if is_emu_path(path) {
                let resp = match emu.oneshot(req.map(axum::body::Body::new)).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                // The emulator's own answers are small documents, whole.
                let (parts, body) = resp.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap_or_default();
                http::Response::from_parts(parts, convert::MessageBody::Full(Some(body)))
            } else {
                gateway_h2(state, peer, req).await
            };
            Ok::<_, Infallible>(resp)
        }
    });
    let conn =
        builder.serve_connection(TokioIo::new(h1::rewind::Rewind::new(stream, read)), service);
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(target: "apim_emu::host", error = %e, "connection ended with an error");
    }
}

/// `/_emu` and the paths under it belong to the emulator.
pub(crate) fn is_emu_path(path: &str) -> bool {
    path == "/_emu" || path.starts_with("/_emu/")
}

/// An HTTP/1.1 request for the emulator's own endpoints (rare: the only place an `http`
/// request is built on that path); the answer comes back whole.
pub(crate) async fn emu_h1(
    emu: &axum::Router,
    method: &str,
    target: &str,
    body: apim_engine::http::Body,
) -> apim_engine::http::Response {
    let body = match body.peek() {
        Some(b) => axum::body::Body::from(b.clone()),
        None if body.is_stream() => axum::body::Body::from_stream(body.into_stream()),
        None => axum::body::Body::empty(),
    };
    let mut req = http::Request::new(body);
    *req.method_mut() = http::Method::from_bytes(method.as_bytes()).unwrap_or(http::Method::GET);
    *req.uri_mut() = match target.parse() {
        Ok(u) => u,
        Err(_) => return error_response(400, "Bad Request"),
    };
    let resp = match emu.clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let (parts, body) = resp.into_parts();
    let mut out = apim_engine::http::Response::new(parts.status.as_u16());
    if let Ok(h) = apim_engine::http::HeaderMap::from_http(&parts.headers) {
        out.headers = h;
    }
    out.body = apim_engine::http::Body::from_bytes(
        axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default(),
    );
    out
}

/// The emulator's own endpoints (`/_emu/...`); gateway requests never reach this router.
fn emu_router(state: Arc<HostState>) -> axum::Router {
    axum::Router::new()
        .route("/_emu/traces/{id}", get(get_trace))
        .route("/_emu/metrics", get(get_metrics))
        .with_state(state)
        .fallback(emu_not_found)
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

/// A method as the log line shows it: the common ones without an allocation.
pub(crate) fn method_text(method: &str) -> Cow<'static, str> {
    const KNOWN: [&str; 9] = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT",
    ];
    match KNOWN.iter().find(|m| **m == method) {
        Some(m) => Cow::Borrowed(m),
        None => Cow::Owned(method.to_string()),
    }
}

/// What the host keeps of a request head besides the engine request (log line, traces).
pub(crate) struct RequestMeta {
    pub(crate) method: Cow<'static, str>,
    /// The path for the log line; only when lines are written.
    pub(crate) path: Option<String>,
    /// `apim-emu-trace: true` or `Ocp-Apim-Trace: true`.
    pub(crate) trace: bool,
    /// `Ocp-Apim-Trace: true` (the answer then carries the trace URL).
    pub(crate) legacy_trace: bool,
    /// The `Host` header, read only for the legacy trace URL.
    pub(crate) host: Option<String>,
}

/// A request as the wire side hands it over.
// Moved once per request: boxing the request would cost an allocation each time.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Prepared {
    /// For the handler; `fault` records what went wrong with a streamed body.
    Request {
        request: apim_engine::http::Request,
        fault: Option<Arc<AtomicU8>>,
    },
    /// Answered without the handler (400, 413, 414).
    Answer(apim_engine::http::Response),
    /// The client stopped sending its body.
    SlowBody,
}

/// The answer to one request, and what is left to do once its head is on the wire.
pub(crate) struct Answer {
    pub(crate) response: apim_engine::http::Response,
    /// The connection cannot carry another request (its body is in an unknown state).
    pub(crate) close: bool,
    pub(crate) done: Done,
}

/// The metrics and the log line of a request, recorded once the status actually sent is known.
pub(crate) struct Done {
    start: Instant,
    method: Cow<'static, str>,
    path: Option<String>,
    log: RequestLog,
    request_id: String,
    /// Where a streamed response's line waits for the end of the body.
    slot: Option<LogSlot>,
    buffered_tokens: Option<TokenUsage>,
}

impl Done {
    pub(crate) fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Records the request: `status` is what went on the wire; `replaced` when that is not the
    /// answer's own response (it could not be sent and a 500 went instead).
    pub(crate) fn sent(self, state: &HostState, status: u16, replaced: bool) {
        state
            .host_metrics
            .observe(status, self.log.api.as_deref(), self.start.elapsed());
        if let Some(sink) = &state.config.request_log {
            let line = LogLine {
                sink: sink.clone(),
                method: self.method,
                path: self.path.unwrap_or_default(),
                status,
                log: self.log,
                request_id: self.request_id,
                start: self.start,
            };
            match self.slot {
                Some(slot) if !replaced => *slot.lock() = Some(line),
                _ => line.emit(self.buffered_tokens, true),
            }
        }
    }
}

/// One gateway request, whatever the protocol: run the current handler, apply the body faults
/// and the response size limit, store the trace and prepare the log line.
pub(crate) async fn answer(
    state: &HostState,
    peer: SocketAddr,
    meta: RequestMeta,
    prepared: Prepared,
    start: Instant,
) -> Answer {
    let request_id = (state.config.ids)();
    let limit = state.config.max_request_body;
    let mut log = RequestLog::default();
    let mut trace_doc = None;
    let mut close = false;
    let mut response = match prepared {
        Prepared::Answer(r) => r,
        Prepared::SlowBody => {
            close = true;
            slow_body_response()
        }
        Prepared::Request {
            request: engine_req,
            fault,
        } => {
            let handler = state.handler.load();
            let info = RequestInfo {
                client_addr: peer,
                trace: meta.trace,
                request_id: request_id.clone(),
            };
            match AssertUnwindSafe(handler.handle(engine_req, info))
                .catch_unwind()
                .await
            {
                Ok(handled) => {
                    log = handled.log;
                    trace_doc = handled.trace;
                    match fault.map_or(convert::FAULT_NONE, |f| f.load(Ordering::SeqCst)) {
                        convert::FAULT_TOO_LARGE => {
                            close = true;
                            too_large_response(limit)
                        }
                        convert::FAULT_TIMED_OUT => {
                            close = true;
                            slow_body_response()
                        }
                        convert::FAULT_BAD_FRAMING => {
                            close = true;
                            error_response(400, "Bad Request")
                        }
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
    };

    // A streamed body is logged when it ends (its usage event comes last); the line waits in
    // `slot` until the status is known.
    let max_response = state.config.max_response_body;
    if let Some(max) = max_response {
        if response.body.peek().is_some_and(|b| b.len() > max) {
            response = response_too_large(max);
        }
    }
    let logging = state.config.request_log.is_some();
    let slot = if response.body.is_stream() && (logging || max_response.is_some()) {
        let scan = if logging {
            BodyScan::for_content_type(
                response
                    .headers
                    .first("content-type")
                    .map(str::to_ascii_lowercase)
                    .as_deref(),
            )
        } else {
            BodyScan::Nothing
        };
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
    let buffered_tokens = if logging {
        response.body.peek().and_then(|b| usage::from_json(b))
    } else {
        None
    };

    if meta.trace {
        if let Some(t) = trace_doc {
            let doc = t.to_json(&request_id).to_string();
            state.traces.insert(request_id.clone(), doc);
            let _ = response
                .headers
                .set_one(TRACE_ID_HEADER, request_id.as_str());
            if meta.legacy_trace {
                let host = meta.host.unwrap_or_else(|| state.local_addr.to_string());
                let url = format!("http://{host}/_emu/traces/{request_id}");
                let _ = response.headers.set_one(TRACE_LOCATION_HEADER, url);
            }
        }
    }

    Answer {
        response,
        close,
        done: Done {
            start,
            method: meta.method,
            path: meta.path,
            log,
            request_id,
            slot,
            buffered_tokens,
        },
    }
}

/// One HTTP/2 request (hyper's server): convert, answer, convert back.
async fn gateway_h2(
    state: Arc<HostState>,
    peer: SocketAddr,
    req: http::Request<hyper::body::Incoming>,
) -> http::Response<convert::MessageBody> {
    let start = Instant::now();
    let legacy_trace = wants_trace(req.headers(), LEGACY_TRACE_HEADER);
    let meta = RequestMeta {
        method: method_text(req.method().as_str()),
        path: state
            .config
            .request_log
            .is_some()
            .then(|| req.uri().path().to_string()),
        trace: legacy_trace || wants_trace(req.headers(), TRACE_HEADER),
        legacy_trace,
        host: req
            .uri()
            .authority()
            .map(|a| a.as_str())
            .or_else(|| {
                req.headers()
                    .get(http::header::HOST)
                    .and_then(|v| v.to_str().ok())
            })
            .map(str::to_string),
    };
    let limit = state.config.max_request_body;
    let declared_len = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok());
    let prepared = if declared_len.is_some_and(|n| n > limit as u64) {
        Prepared::Answer(too_large_response(limit))
    } else {
        match convert::to_engine_request(
            req,
            peer,
            state.local_addr,
            limit,
            state.config.body_read_timeout,
        )
        .await
        {
            Err(convert::Rejected::Answer(r)) => Prepared::Answer(r),
            Err(convert::Rejected::SlowBody) => Prepared::SlowBody,
            Ok((request, fault)) => Prepared::Request { request, fault },
        }
    };
    let answer = answer(&state, peer, meta, prepared, start).await;
    let (out, replaced) = match convert::to_hyper_response(answer.response) {
        Ok(r) => (r, false),
        Err(why) => {
            tracing::error!(target: "apim_emu::host", request_id = %answer.done.request_id(), error = %why, "response cannot be sent");
            let r = convert::to_hyper_response(internal_error_response(answer.done.request_id()))
                .unwrap_or_else(|_| {
                    let mut r = http::Response::new(convert::MessageBody::Full(Some(
                        error_body(500, "Internal server error").into(),
                    )));
                    *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                    r
                });
            (r, true)
        }
    };
    answer.done.sent(&state, out.status().as_u16(), replaced);
    out
}

/// The per-request log line, written once the whole response has been handed to the
/// connection (or the client went away).
struct LogLine {
    sink: RequestLogSink,
    method: Cow<'static, str>,
    path: String,
    status: u16,
    log: RequestLog,
    request_id: String,
    start: Instant,
}

impl LogLine {
    fn emit(self, tokens: Option<TokenUsage>, complete: bool) {
        let log = &self.log;
        request_log::write(
            &self.sink,
            &request_log::LineFields {
                method: &self.method,
                path: &self.path,
                status: self.status,
                api: log.api.as_deref(),
                operation: log.operation.as_deref(),
                backend: log.backend.as_deref(),
                duration: self.start.elapsed(),
                tokens: log.tokens.or(tokens),
                request_id: &self.request_id,
                complete,
            },
        );
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
pub(crate) fn slow_body_response() -> apim_engine::http::Response {
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
pub(crate) fn too_large_response(limit: usize) -> apim_engine::http::Response {
    error_response(
        413,
        &format!("Request entity too large: the body is larger than {limit} bytes."),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_are_guids() {
        assert_eq!(
            super::guid_text(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210),
            "01234567-89ab-cdef-fedc-ba9876543210"
        );
        let ids = super::random_ids();
        let (a, b) = (ids(), ids());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }
}
