//! hyper ↔ engine conversions. Bodies stay streams in both directions.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use apim_engine::errors::error_response;
use apim_engine::http::{Body, BodyError, HeaderMap, Request, Response, Url, UrlError};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http_body::Body as _;
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
pub(crate) fn to_hyper_response(
    resp: Response,
) -> Result<http::Response<axum::body::Body>, String> {
    let status = http::StatusCode::from_u16(resp.status)
        .map_err(|_| format!("status code {} cannot be sent", resp.status))?;
    let mut headers = resp.headers.to_http().map_err(|e| e.to_string())?;
    for h in HOP_BY_HOP {
        headers.remove(h);
    }
    let body = if !resp.body.is_present() || resp.body.is_consumed() {
        headers.remove(http::header::CONTENT_LENGTH);
        axum::body::Body::empty()
    } else if let Some(b) = resp.body.peek() {
        // hyper computes the length of a buffered body.
        headers.remove(http::header::CONTENT_LENGTH);
        axum::body::Body::from(b.clone())
    } else {
        axum::body::Body::from_stream(resp.body.into_stream())
    };
    let mut out = http::Response::new(body);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    // A reason phrase other than the standard one ("Access Denied") goes on the HTTP/1 status line.
    if status.canonical_reason() != Some(resp.reason.as_str()) && !resp.reason.is_empty() {
        if let Ok(r) = hyper::ext::ReasonPhrase::try_from(Bytes::from(resp.reason.clone())) {
            out.extensions_mut().insert(r);
        }
    }
    Ok(out)
}
