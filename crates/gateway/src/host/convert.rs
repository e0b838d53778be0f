//! hyper ↔ engine conversions (HTTP/2 requests; HTTP/1.1 has its own server in `h1`). Bodies
//! stay streams in both directions.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use apim_engine::errors::error_response;
use std::pin::Pin;
use std::task::{Context, Poll};

use apim_engine::http::{
    Body, BodyError, BodyStream, HeaderMap, Request, Response, Url, UrlError,
    is_repeated_line_header,
};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// Headers that describe one hop's connection; hyper sets its own.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
];

/// Why a request does not reach the handler.
pub(crate) enum Rejected {
    /// Answer this instead (400, 414).
    Answer(Response),
    /// The client stopped sending its body (408, and the connection is closed).
    SlowBody,
}

/// A request body declared this small (`Content-Length`) is read whole before the policies
/// run: one buffer instead of a stream the engine would buffer anyway to forward it.
const READ_WHOLE_UP_TO: u64 = 64 * 1024;

/// An engine request from a hyper request. A body declared small is read whole first (pausing
/// longer than `idle` between bytes: [`Rejected::SlowBody`]); any other body is streamed: past
/// `limit` bytes the stream ends with [`BodyError::TooLarge`], and when no bytes arrive for
/// `idle` it ends with a transport error; the returned fault records which, so the host
/// answers 413 or 408 whatever the handler made of it.
pub(crate) async fn to_engine_request(
    req: http::Request<Incoming>,
    client: SocketAddr,
    local: SocketAddr,
    limit: usize,
    idle: Duration,
) -> Result<(Request, Option<Arc<AtomicU8>>), Rejected> {
    let (parts, mut body) = req.into_parts();
    let host = parts.uri.authority().map(|a| a.as_str()).or_else(|| {
        parts
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
    });
    let local_text;
    let host = match host {
        Some(h) => h,
        None => {
            local_text = local.to_string();
            &local_text
        }
    };
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let url = Url::from_request_target("http", host, target).map_err(|e| {
        Rejected::Answer(match e {
            UrlError::TooLong => error_response(414, "URI Too Long"),
            _ => error_response(400, "Bad Request"),
        })
    })?;
    let mut request = Request::new(parts.method.as_str(), url);
    request.headers = HeaderMap::from_http(&parts.headers)
        .map_err(|_| Rejected::Answer(error_response(400, "Bad Request")))?;
    request.ip_address = client.ip().to_string();
    if body.is_end_stream() {
        return Ok((request, None));
    }
    let declared = body.size_hint().exact();
    if declared.is_some_and(|n| n <= READ_WHOLE_UP_TO && n <= limit as u64) {
        let mut whole = BytesMut::with_capacity(declared.unwrap_or(0) as usize);
        loop {
            match tokio::time::timeout(idle, body.frame()).await {
                Err(_) => return Err(Rejected::SlowBody),
                Ok(None) => break,
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        whole.extend_from_slice(&data);
                    }
                }
                // The client went away or broke the framing mid-body.
                Ok(Some(Err(_))) => {
                    return Err(Rejected::Answer(error_response(400, "Bad Request")));
                }
            }
        }
        request.body = Body::from_bytes(whole.freeze());
        return Ok((request, None));
    }
    let fault = Arc::new(AtomicU8::new(FAULT_NONE));
    request.body = Body::from_stream(limited(body, limit, idle, fault.clone()));
    Ok((request, Some(fault)))
}

/// No body fault.
pub(crate) const FAULT_NONE: u8 = 0;
/// The body grew past the limit.
pub(crate) const FAULT_TOO_LARGE: u8 = 1;
/// The client stopped sending the body (slow body).
pub(crate) const FAULT_TIMED_OUT: u8 = 2;
/// The body's framing was broken (a malformed chunk): the request cannot be read.
pub(crate) const FAULT_BAD_FRAMING: u8 = 3;

fn limited(
    body: Incoming,
    limit: usize,
    idle: Duration,
    fault: Arc<AtomicU8>,
) -> apim_engine::http::BodyStream {
    let stream = http_body_util::BodyDataStream::new(body);
    Box::pin(futures_util::stream::unfold(
        (stream, 0usize, false),
        move |(mut stream, seen, done)| {
            let fault = fault.clone();
            async move {
                if done {
                    return None;
                }
                let Ok(next) = tokio::time::timeout(idle, stream.next()).await else {
                    fault.store(FAULT_TIMED_OUT, Ordering::SeqCst);
                    return Some((
                        Err(BodyError::Transport(format!(
                            "the client sent no body bytes for {idle:?}"
                        ))),
                        (stream, seen, true),
                    ));
                };
                match next {
                    None => None,
                    Some(Ok(chunk)) => {
                        let seen = seen + chunk.len();
                        if seen > limit {
                            fault.store(FAULT_TOO_LARGE, Ordering::SeqCst);
                            Some((Err(BodyError::TooLarge { limit }), (stream, seen, true)))
                        } else {
                            Some((Ok(chunk), (stream, seen, false)))
                        }
                    }
                    Some(Err(e)) => Some((
                        Err(BodyError::Transport(e.to_string())),
                        (stream, seen, true),
                    )),
                }
            }
        },
    ))
}

/// A hyper response from an engine response. `Err` carries the reason when the response
/// cannot be sent as it is (a header value outside Latin-1, a status outside 100-999).
pub(crate) fn to_hyper_response(resp: Response) -> Result<http::Response<MessageBody>, String> {
    let status = http::StatusCode::from_u16(resp.status)
        .map_err(|_| format!("status code {} cannot be sent", resp.status))?;
    // hyper computes the length of a buffered body, and there is none without a body.
    let skip_length =
        resp.body.peek().is_some() || !resp.body.is_present() || resp.body.is_consumed();
    let mut headers = http::HeaderMap::with_capacity(resp.headers.len());
    for (name, values) in resp.headers.iter() {
        if HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name))
            || (skip_length && name.eq_ignore_ascii_case("content-length"))
        {
            continue;
        }
        let header = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("'{name}' is not a valid HTTP header name"))?;
        if values.len() == 1 {
            headers.append(header, wire_value(name, &values[0])?);
        } else if is_repeated_line_header(name) {
            for v in values {
                headers.append(header.clone(), wire_value(name, v)?);
            }
        } else {
            headers.append(header, wire_value(name, &values.join(","))?);
        }
    }
    let body = if resp.body.is_consumed() {
        MessageBody::Empty
    } else {
        MessageBody::from(resp.body)
    };
    let mut out = http::Response::new(body);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    // A reason phrase other than the standard one ("Access Denied") goes on the HTTP/1 status line.
    if status.canonical_reason() != Some(resp.reason.as_str()) && !resp.reason.is_empty() {
        if let Ok(r) = hyper::ext::ReasonPhrase::try_from(Bytes::from(resp.reason)) {
            out.extensions_mut().insert(r);
        }
    }
    Ok(out)
}

/// A header value on the wire: the engine's text is Latin-1 (as .NET's headers are); a
/// character past it cannot be sent.
fn wire_value(name: &str, value: &str) -> Result<http::HeaderValue, String> {
    let invalid =
        || format!("the value of header '{name}' contains a character not allowed in HTTP headers");
    if value.is_ascii() {
        return http::HeaderValue::from_str(value).map_err(|_| invalid());
    }
    let bytes: Option<Vec<u8>> = value
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect();
    bytes
        .and_then(|b| http::HeaderValue::from_bytes(&b).ok())
        .ok_or_else(invalid)
}

/// A message body for hyper (a response to the client, a request to a backend): none,
/// buffered bytes (sent with `Content-Length`), or a stream (sent chunked).
pub(crate) enum MessageBody {
    Empty,
    Full(Option<Bytes>),
    Stream(BodyStream),
}

impl From<Body> for MessageBody {
    fn from(body: Body) -> Self {
        if let Some(b) = body.peek() {
            return MessageBody::Full(Some(b.clone()));
        }
        if body.is_stream() {
            MessageBody::Stream(body.into_stream())
        } else {
            MessageBody::Empty
        }
    }
}

impl http_body::Body for MessageBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match &mut *self {
            MessageBody::Empty => Poll::Ready(None),
            MessageBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            MessageBody::Stream(s) => s
                .as_mut()
                .poll_next(cx)
                .map(|c| c.map(|c| c.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            MessageBody::Empty => true,
            MessageBody::Full(b) => b.is_none(),
            MessageBody::Stream(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            MessageBody::Empty => SizeHint::with_exact(0),
            MessageBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            MessageBody::Stream(_) => SizeHint::default(),
        }
    }
}
