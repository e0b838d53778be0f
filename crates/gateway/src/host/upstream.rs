//! forward-request's transport for plain `http://` backends: HTTP/1.1 over hyper with a pool of
//! kept-alive connections per thread. Each worker thread of the host runs its own runtime, so a
//! connection, its pool slot and the requests on it stay on one thread: no locks, no wake-ups
//! across threads. Every other call (https, a `proxy` policy, a client certificate, HTTP/2,
//! redirects followed) goes to the fallback client (reqwest).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use apim_engine::http::{
    Body, BodyError, HeaderMap, Response, is_repeated_line_header, reason_phrase,
};
use apim_engine::services::{BackendRequest, HttpClient, HttpError, HttpVersion, error_chain};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use http_body::Body as _;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use super::convert::MessageBody;

/// Idle connections kept per backend host and thread.
const MAX_IDLE_PER_HOST: usize = 128;
/// An idle connection older than this is closed rather than reused (reqwest's default).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Hop-by-hop headers hyper writes itself, and `Content-Length`, which it takes from the body.
const SKIP_REQUEST_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "upgrade",
    "te",
    "proxy-connection",
];

/// Plain-HTTP/1.1 backend calls on pooled hyper connections; everything else to `fallback`.
pub struct DirectHttp1 {
    fallback: Arc<dyn HttpClient>,
}

impl fmt::Debug for DirectHttp1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectHttp1")
            .field("fallback", &self.fallback)
            .finish()
    }
}

impl DirectHttp1 {
    pub fn new(fallback: Arc<dyn HttpClient>) -> Self {
        DirectHttp1 { fallback }
    }

    /// Whether this client sends `req` itself (rather than the fallback).
    pub fn handles(req: &BackendRequest) -> bool {
        req.url.scheme() == "http"
            && req.proxy.is_none()
            && req.client_certificate.is_none()
            && !req.follow_redirects
            // Without TLS there is no negotiation: `2or1` is HTTP/1.1, `2` needs prior knowledge.
            && req.http_version != HttpVersion::Http2
    }
}

impl HttpClient for DirectHttp1 {
    fn send(&self, req: BackendRequest) -> BoxFuture<'static, Result<Response, HttpError>> {
        if !Self::handles(&req) {
            return self.fallback.send(req);
        }
        Box::pin(send(req))
    }
}

/// `host:port` of a backend: the pool key and where to connect.
type Address = Arc<str>;

struct Idle {
    sender: SendRequest<MessageBody>,
    since: Instant,
}

thread_local! {
    static POOL: RefCell<HashMap<Address, Vec<Idle>>> = RefCell::new(HashMap::new());
}

/// A ready connection to `address` from this thread's pool.
fn checkout(address: &str) -> Option<SendRequest<MessageBody>> {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let idle = pool.get_mut(address)?;
        while let Some(c) = idle.pop() {
            if c.sender.is_ready() && c.since.elapsed() < IDLE_TIMEOUT {
                return Some(c.sender);
            }
        }
        None
    })
}

/// Puts a connection whose response has been read back in this thread's pool.
fn release(address: Address, sender: SendRequest<MessageBody>) {
    if !sender.is_ready() {
        return;
    }
    // A thread that is ending has no pool left; the connection just closes.
    let _ = POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        let idle = pool.entry(address).or_default();
        if idle.len() < MAX_IDLE_PER_HOST {
            idle.push(Idle {
                sender,
                since: Instant::now(),
            });
        }
    });
}

async fn connect(address: &str) -> Result<SendRequest<MessageBody>, HttpError> {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| HttpError::ConnectionRefused(format!("{address}: {e}")))?;
    // Requests are written whole: do not wait for acknowledgements between segments.
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| HttpError::ConnectionRefused(format!("{address}: {e}")))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(target: "apim_emu::upstream", error = %e, "backend connection ended with an error");
        }
    });
    Ok(sender)
}

fn request_head(req: &mut BackendRequest) -> Result<http::Request<MessageBody>, HttpError> {
    let method = http::Method::from_bytes(req.method.as_bytes())
        .map_err(|_| HttpError::InvalidRequest(format!("invalid method '{}'", req.method)))?;
    let uri = http::Uri::try_from(req.url.request_target())
        .map_err(|e| HttpError::InvalidRequest(format!("request target: {e}")))?;
    let mut headers = http::HeaderMap::with_capacity(req.headers.len() + 1);
    let mut has_host = false;
    for (name, values) in req.headers.iter() {
        if SKIP_REQUEST_HEADERS
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            continue;
        }
        let header = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpError::InvalidRequest(format!("invalid header name '{name}'")))?;
        has_host |= header == http::header::HOST;
        let value = |v: &str| {
            http::HeaderValue::from_bytes(v.as_bytes())
                .map_err(|_| HttpError::InvalidRequest(format!("invalid value of header '{name}'")))
        };
        if values.len() == 1 {
            headers.append(header, value(&values[0])?);
        } else if is_repeated_line_header(name) {
            for v in values {
                headers.append(header.clone(), value(v)?);
            }
        } else {
            headers.append(header, value(&values.join(","))?);
        }
    }
    if !has_host {
        let host = http::HeaderValue::from_str(&req.url.host_header())
            .map_err(|_| HttpError::InvalidRequest("invalid backend host".into()))?;
        headers.insert(http::header::HOST, host);
    }
    let body = MessageBody::from(req.body.take());
    let mut request = http::Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

async fn send(mut req: BackendRequest) -> Result<Response, HttpError> {
    let address: Address = Arc::from(format!("{}:{}", req.url.host(), req.url.port()));
    let mut request = request_head(&mut req)?;
    loop {
        let (mut sender, reused) = match checkout(&address) {
            Some(s) => (s, true),
            None => (connect(&address).await?, false),
        };
        match sender.try_send_request(request).await {
            Ok(resp) => return Ok(response(resp, address, sender)),
            Err(mut e) => match e.take_message() {
                // A kept-alive connection the backend closed meanwhile: the request was not
                // sent; send it on a new connection.
                Some(r) if reused => request = r,
                _ => return Err(classify(&address, e.into_error())),
            },
        }
    }
}

fn classify(address: &str, e: hyper::Error) -> HttpError {
    let text = error_chain(&e);
    if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
        HttpError::InvalidResponse(text)
    } else if e.is_user() {
        HttpError::InvalidRequest(text)
    } else {
        HttpError::ConnectionReset(format!("{address}: {text}"))
    }
}

fn response(
    resp: http::Response<hyper::body::Incoming>,
    address: Address,
    sender: SendRequest<MessageBody>,
) -> Response {
    let (parts, incoming) = resp.into_parts();
    let status = parts.status.as_u16();
    let reason = match parts.extensions.get::<hyper::ext::ReasonPhrase>() {
        Some(r) => String::from_utf8_lossy(r.as_bytes()).into_owned(),
        None => parts
            .status
            .canonical_reason()
            .unwrap_or_else(|| reason_phrase(status))
            .to_string(),
    };
    let mut headers = HeaderMap::with_capacity(parts.headers.keys_len());
    for (name, value) in &parts.headers {
        // hyper has checked the line; a value that is not UTF-8 is kept as text the way the
        // former client kept it.
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers.push_parsed_line(name.as_str(), value);
    }
    let mut body = IncomingStream {
        incoming,
        release: Some((address, sender)),
    };
    let body = match body.take_arrived() {
        Arrived::Whole(bytes) => Body::from_bytes(bytes),
        Arrived::Part(first) if first.is_empty() => Body::from_stream(Box::pin(body)),
        Arrived::Part(first) => Body::from_stream(Box::pin(
            futures_util::stream::once(async move { Ok(first) }).chain(body),
        )),
        Arrived::Broken(first, e) => Body::from_chunks(vec![Ok(first), Err(e)]),
    };
    let mut out = Response::new(status);
    out.reason = reason;
    out.headers = headers;
    out.body = body;
    out
}

/// A backend response body; when it has been read to its end the connection goes back to the
/// pool (an HTTP/1.1 connection carries the next request only after the whole response).
struct IncomingStream {
    incoming: hyper::body::Incoming,
    release: Option<(Address, SendRequest<MessageBody>)>,
}

/// A response body declared this small (`Content-Length`) that has already arrived whole is
/// handed on as bytes rather than as a stream.
const TAKE_WHOLE_UP_TO: u64 = 64 * 1024;

enum Arrived {
    /// The whole body (the connection is back in the pool).
    Whole(Bytes),
    /// What has arrived so far; the rest follows on the stream.
    Part(Bytes),
    /// What arrived before the body broke off.
    Broken(Bytes, BodyError),
}

impl IncomingStream {
    /// Takes what has already arrived of a small body without waiting for more.
    fn take_arrived(&mut self) -> Arrived {
        if self.incoming.is_end_stream() {
            self.finish();
            return Arrived::Whole(Bytes::new());
        }
        if self
            .incoming
            .size_hint()
            .exact()
            .is_none_or(|n| n > TAKE_WHOLE_UP_TO)
        {
            return Arrived::Part(Bytes::new());
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut whole = bytes::BytesMut::new();
        loop {
            match Pin::new(&mut self.incoming).poll_frame(&mut cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        if whole.is_empty() && self.incoming.is_end_stream() {
                            // One frame held it all: no copy.
                            self.finish();
                            return Arrived::Whole(data);
                        }
                        whole.extend_from_slice(&data);
                    }
                }
                Poll::Ready(None) => {
                    self.finish();
                    return Arrived::Whole(whole.freeze());
                }
                Poll::Pending => return Arrived::Part(whole.freeze()),
                Poll::Ready(Some(Err(e))) => {
                    self.release = None;
                    return Arrived::Broken(whole.freeze(), BodyError::Transport(error_chain(&e)));
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Some((address, sender)) = self.release.take() {
            release(address, sender);
        }
    }
}

impl futures_util::Stream for IncomingStream {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match Pin::new(&mut this.incoming).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(e))) => {
                    this.release = None;
                    return Poll::Ready(Some(Err(BodyError::Transport(error_chain(&e)))));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    // Trailers are not passed on.
                    if let Ok(data) = frame.into_data() {
                        if this.incoming.is_end_stream() {
                            this.finish();
                        }
                        return Poll::Ready(Some(Ok(data)));
                    }
                }
            }
        }
    }
}
