//! The per-request seam between the host and whatever answers requests (the engine's plan at
//! run time, small handlers in tests).

use std::net::SocketAddr;
use std::sync::Arc;

use apim_engine::http::{Request, Response};
use apim_engine::trace::Trace;
use arc_swap::ArcSwap;
use futures_util::future::BoxFuture;

/// What the host knows about a request besides the request itself.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// The client's address (`context.Request.IpAddress` is already set from it).
    pub client_addr: SocketAddr,
    /// The client asked for a trace (`apim-emu-trace: true` or `Ocp-Apim-Trace: true`).
    pub trace: bool,
    /// The host's id for this request; also the trace id and a 500's `activityId`.
    pub request_id: String,
}

/// The fields of the per-request log line the handler knows (the host adds method, path,
/// status and duration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestLog {
    pub api: Option<String>,
    pub operation: Option<String>,
    pub backend: Option<String>,
    /// Tokens of the request, when the handler knows them. When it does not, the host reads
    /// them from the response's `usage` (a JSON body or a streamed usage event).
    pub tokens: Option<TokenUsage>,
}

/// Azure OpenAI's `usage`: prompt, completion and total tokens. Logged as
/// `prompt/completion/total`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub prompt: u64,
    pub completion: u64,
    pub total: u64,
}

impl std::fmt::Display for TokenUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.prompt, self.completion, self.total)
    }
}

/// A handler's answer.
#[derive(Debug)]
pub struct HandledResponse {
    /// Sent to the client; a streamed body is passed on chunk by chunk.
    pub response: Response,
    /// The request's trace, when [`RequestInfo::trace`] asked for one.
    pub trace: Option<Trace>,
    pub log: RequestLog,
}

impl HandledResponse {
    pub fn new(response: Response) -> Self {
        HandledResponse {
            response,
            trace: None,
            log: RequestLog::default(),
        }
    }
}

/// Answers one request. Implementations must not rely on being polled to completion: the
/// client may go away.
pub trait RequestHandler: Send + Sync + 'static {
    fn handle(&self, request: Request, info: RequestInfo) -> BoxFuture<'_, HandledResponse>;
}

/// `ArcSwap` needs a sized value; this wraps the handler.
struct Slot(Arc<dyn RequestHandler>);

/// The current handler. `load` hands out an `Arc` that keeps a handler alive for as long as a
/// request uses it, so swapping never disturbs requests in flight.
pub(crate) struct HandlerCell {
    current: ArcSwap<Slot>,
}

impl HandlerCell {
    pub(crate) fn new(handler: Arc<dyn RequestHandler>) -> Self {
        HandlerCell {
            current: ArcSwap::from_pointee(Slot(handler)),
        }
    }

    pub(crate) fn load(&self) -> Arc<dyn RequestHandler> {
        self.current.load().0.clone()
    }

    pub(crate) fn store(&self, handler: Arc<dyn RequestHandler>) {
        self.current.store(Arc::new(Slot(handler)));
    }
}

/// A handler from a function returning a boxed future (e.g. the adapter that runs a plan).
pub fn handler_fn<F>(f: F) -> Arc<dyn RequestHandler>
where
    F: Fn(Request, RequestInfo) -> BoxFuture<'static, HandledResponse> + Send + Sync + 'static,
{
    Arc::new(FnHandler(f))
}

struct FnHandler<F>(F);

impl<F> RequestHandler for FnHandler<F>
where
    F: Fn(Request, RequestInfo) -> BoxFuture<'static, HandledResponse> + Send + Sync + 'static,
{
    fn handle(&self, request: Request, info: RequestInfo) -> BoxFuture<'_, HandledResponse> {
        (self.0)(request, info)
    }
}
