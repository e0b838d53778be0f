//! The host's HTTP/1.1 server: one connection loop per client connection, on its worker's
//! runtime. Request heads are parsed (httparse) straight into the engine's `Request`, responses
//! are written straight from the engine's `Response`; no `http` types in between. A connection
//! whose first bytes are HTTP/2's preface goes to hyper's HTTP/2 server instead.
//!
//! Framing follows RFC 9112 §6.3 strictly (request smuggling): `Transfer-Encoding` together with
//! `Content-Length`, two different lengths, or a transfer coding other than a final `chunked`
//! are refused with 400 and the connection is closed.

use std::future::Future;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use apim_engine::errors::{error_response, internal_error_response};
use apim_engine::http::{
    Body, BodyError, HeaderMap, MAX_HEADER_BYTES, Request, Response, Url, UrlError,
    is_repeated_line_header, reason_phrase,
};
use bytes::{Buf, Bytes, BytesMut};
use futures_util::{FutureExt, Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;
use tokio::time::Sleep;

use super::chunked::{ChunkedDecoder, Decoded, LAST_CHUNK, chunk_header, encode_chunk};
use super::date;
use super::fields::{field_text, parse_length, push_value};
use crate::host::{
    HostState, LEGACY_TRACE_HEADER, Prepared, RequestMeta, TRACE_HEADER, answer, convert, emu_h1,
    is_emu_path, method_text, serve_h2, slow_body_response, too_large_response,
};

/// What an HTTP/2 client sends first (prior knowledge).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// A request body declared this small is read whole before the policies run: one buffer
/// instead of a stream the engine would buffer anyway to forward it.
const READ_WHOLE_UP_TO: u64 = 64 * 1024;
/// A response this small goes out with its head in one write; a larger one in a vectored write.
const WRITE_WHOLE_UP_TO: usize = 64 * 1024;
/// A streamed chunk this small is copied next to its framing; a larger one is written as it is.
const COPY_CHUNK_UP_TO: usize = 16 * 1024;
/// Header slots parsed on the stack; a larger `max_headers` takes them from the heap.
const STACK_HEADERS: usize = 128;
/// What is read and thrown away of a body the handler left unread; past it the connection
/// is closed instead.
const DRAIN_UP_TO: u64 = 256 * 1024;
/// Room made in the read buffer before each read.
const READ_SIZE: usize = 8 * 1024;
/// After a response that closes the connection, how long what the client still sends is read
/// and dropped (closing with unread bytes resets the connection, and the client could lose
/// the response).
const LINGER: Duration = Duration::from_secs(1);

/// The connection's read side: the socket and what was read from it but not used yet.
struct Reader {
    io: OwnedReadHalf,
    buf: BytesMut,
}

/// The connection's one timer, armed only when the connection actually waits.
#[derive(Default)]
struct Deadline {
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Deadline {
    fn arm(&mut self, after: Duration) {
        let at = tokio::time::Instant::now() + after;
        match &mut self.sleep {
            Some(s) => s.as_mut().reset(at),
            None => self.sleep = Some(Box::pin(tokio::time::sleep_until(at))),
        }
    }

    /// Resolves when the armed time has passed (never when not armed).
    async fn passed(&mut self) {
        match &mut self.sleep {
            Some(s) => s.as_mut().await,
            None => std::future::pending().await,
        }
    }
}

enum Waited {
    Read,
    Closed,
    TimedOut,
    Stopped,
}

/// Reads more into the buffer; gives up when the deadline passes or, with `stop`, when the
/// host stops (`stop` lives as long as the connection: it is registered once, not per wait).
async fn read_more<F: Future>(
    rd: &mut Reader,
    deadline: &mut Deadline,
    stop: Option<Pin<&mut F>>,
) -> Waited {
    rd.buf.reserve(READ_SIZE);
    let stopped = async {
        match stop {
            Some(s) => {
                s.await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        r = rd.io.read_buf(&mut rd.buf) => match r {
            Ok(0) | Err(_) => Waited::Closed,
            Ok(_) => Waited::Read,
        },
        () = deadline.passed() => Waited::TimedOut,
        () = stopped => Waited::Stopped,
    }
}

/// [`read_more`] whatever the host does (a request in progress finishes).
async fn read_body_more(rd: &mut Reader, deadline: &mut Deadline) -> Waited {
    read_more(rd, deadline, None::<Pin<&mut std::future::Pending<()>>>).await
}

/// How a request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// Why a head is refused before any answer is made.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// 400, and the connection is closed.
    Malformed,
    /// 431: too many header lines.
    TooManyHeaders,
}

/// A parsed request head, with what the connection needs to know about it.
struct Head {
    /// The engine request (no body yet), or the answer when its URL cannot be used.
    request: Result<Request, Response>,
    meta: RequestMeta,
    framing: Framing,
    http10: bool,
    keep_alive: bool,
    expect_continue: bool,
    is_head: bool,
    /// The request target, for `/_emu` paths.
    emu_target: Option<String>,
}

/// Parses a request head from the front of `buf`: `Ok(None)` while it is incomplete, else the
/// head and its length.
fn parse_head(
    buf: &[u8],
    state: &HostState,
    peer_ip: &str,
) -> Result<Option<(usize, Head)>, Refusal> {
    let max_headers = state.config.max_headers;
    let mut stack: [MaybeUninit<httparse::Header<'_>>; STACK_HEADERS] =
        [const { MaybeUninit::uninit() }; STACK_HEADERS];
    let mut heap = Vec::new();
    let slots = if max_headers <= STACK_HEADERS {
        &mut stack[..max_headers]
    } else {
        heap.resize_with(max_headers, MaybeUninit::uninit);
        &mut heap[..]
    };
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, slots) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Refusal::TooManyHeaders),
        Err(_) => return Err(Refusal::Malformed),
    };
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Err(Refusal::Malformed);
    };
    let http10 = version == 0;

    let mut headers = HeaderMap::with_capacity(req.headers.len());
    let mut host: Option<&[u8]> = None;
    let mut length: Option<u64> = None;
    let mut bad_length = false;
    let mut transfer_encoding = false;
    // Codings in order; `chunked` must come once, last.
    let mut chunked_seen = 0u32;
    let mut chunked_last = false;
    let (mut close, mut keep_alive) = (false, false);
    let mut expect_continue = false;
    let (mut trace, mut legacy_trace) = (false, false);
    for h in req.headers.iter() {
        let (name, value) = (h.name, h.value);
        match name.len() {
            4 if name.eq_ignore_ascii_case("host") => {
                host.get_or_insert(value);
            }
            6 if name.eq_ignore_ascii_case("expect") => {
                expect_continue |= trimmed(value).eq_ignore_ascii_case(b"100-continue");
            }
            10 if name.eq_ignore_ascii_case("connection") => {
                for token in value.split(|b| *b == b',').map(trimmed) {
                    close |= token.eq_ignore_ascii_case(b"close");
                    keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            14 if name.eq_ignore_ascii_case("content-length") => {
                for part in value.split(|b| *b == b',').map(trimmed) {
                    match parse_length(part) {
                        Some(n) if length.is_none_or(|l| l == n) => length = Some(n),
                        _ => bad_length = true,
                    }
                }
            }
            17 if name.eq_ignore_ascii_case("transfer-encoding") => {
                transfer_encoding = true;
                for coding in value.split(|b| *b == b',').map(trimmed) {
                    if coding.is_empty() {
                        continue;
                    }
                    chunked_last = coding.eq_ignore_ascii_case(b"chunked");
                    chunked_seen += u32::from(chunked_last);
                }
            }
            _ => {
                if name.eq_ignore_ascii_case(TRACE_HEADER) {
                    trace |= trimmed(value).eq_ignore_ascii_case(b"true");
                } else if name.eq_ignore_ascii_case(LEGACY_TRACE_HEADER) {
                    legacy_trace |= trimmed(value).eq_ignore_ascii_case(b"true");
                }
            }
        }
        if value.len() > MAX_HEADER_BYTES {
            return Err(Refusal::Malformed);
        }
        headers.push_parsed_line(name, field_text(value));
    }
    let framing = if transfer_encoding {
        // RFC 9112 §6.1/§6.3: with Content-Length too, in HTTP/1.0, or not ending in chunked,
        // the framing is faulty.
        if length.is_some() || bad_length || http10 || !chunked_last || chunked_seen != 1 {
            return Err(Refusal::Malformed);
        }
        Framing::Chunked
    } else if bad_length {
        return Err(Refusal::Malformed);
    } else {
        length.map_or(Framing::None, Framing::Length)
    };

    // origin-form (`/path?query`) with the Host header, or absolute-form.
    let (authority, path_and_query) = match split_absolute(target) {
        Some((a, p)) => (Some(a.to_string()), p),
        None => (host.map(field_text), target),
    };
    let path = path_and_query
        .split_once('?')
        .map_or(path_and_query, |(p, _)| p);
    let emu_target = is_emu_path(path).then(|| path_and_query.to_string());
    let logging = state.config.request_log.is_some();
    let meta = RequestMeta {
        method: method_text(method),
        path: logging.then(|| path.to_string()),
        trace: trace || legacy_trace,
        legacy_trace,
        host: if legacy_trace {
            authority.clone()
        } else {
            None
        },
    };
    let url = match &authority {
        Some(a) => Url::from_request_target("http", a, path_and_query),
        None => Url::from_request_target("http", &state.local_addr.to_string(), path_and_query),
    };
    let request = match url {
        Ok(url) => {
            let mut r = Request::new(method, url);
            r.headers = headers;
            r.ip_address = peer_ip.to_string();
            Ok(r)
        }
        Err(UrlError::TooLong) => Err(error_response(414, "URI Too Long")),
        Err(_) => Err(error_response(400, "Bad Request")),
    };
    Ok(Some((
        len,
        Head {
            request,
            meta,
            framing,
            http10,
            keep_alive: if http10 { keep_alive && !close } else { !close },
            expect_continue: expect_continue && !http10,
            is_head: method == "HEAD",
            emu_target,
        },
    )))
}

/// `http://host:port/path` (absolute-form): the authority and the rest (`/` when empty).
fn split_absolute(target: &str) -> Option<(&str, &str)> {
    let rest = strip_prefix_ignore_case(target, "http://")
        .or_else(|| strip_prefix_ignore_case(target, "https://"))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    Some((authority, if path.is_empty() { "/" } else { path }))
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn trimmed(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// A request body that streams from the connection to the handler.
struct RequestBody {
    /// The connection's read side while the body is read; handed back when the body ends or
    /// this is dropped.
    reader: Option<BodyReader>,
    shared: Arc<BodyShared>,
    fault: Arc<AtomicU8>,
    limit: usize,
    seen: usize,
    idle: Duration,
    /// Armed while no bytes arrive.
    sleep: Option<Pin<Box<Sleep>>>,
}

/// The read side and what is left of the body.
struct BodyReader {
    rd: Reader,
    left: Left,
}

enum Left {
    Length(u64),
    Chunked(ChunkedDecoder),
}

impl Left {
    fn is_done(&self) -> bool {
        match self {
            Left::Length(n) => *n == 0,
            Left::Chunked(d) => d.is_done(),
        }
    }
}

/// Where the body hands the read side back to the connection.
struct BodyShared {
    back: parking_lot::Mutex<Option<BodyReader>>,
}

/// What the buffer gave.
enum Step {
    Data(Bytes),
    End,
    NeedMore,
    Broken(String),
}

impl BodyReader {
    fn step(&mut self) -> Step {
        let buf = &mut self.rd.buf;
        match &mut self.left {
            Left::Length(0) => Step::End,
            Left::Length(_) if buf.is_empty() => Step::NeedMore,
            Left::Length(n) => {
                let take = usize::try_from(*n).unwrap_or(usize::MAX).min(buf.len());
                *n -= take as u64;
                Step::Data(buf.split_to(take).freeze())
            }
            Left::Chunked(d) => match d.decode(buf) {
                Ok(Decoded::Data(b)) => Step::Data(b),
                Ok(Decoded::NeedMore) => Step::NeedMore,
                Ok(Decoded::End) => Step::End,
                Err(e) => Step::Broken(e.to_string()),
            },
        }
    }
}

/// Reads what the socket has into the buffer (zeroed first: no unsafe code here; this path
/// is only taken by large or chunked bodies).
fn poll_read_more(rd: &mut Reader, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
    let len = rd.buf.len();
    rd.buf.resize(len + READ_SIZE, 0);
    let mut read = ReadBuf::new(&mut rd.buf[len..]);
    let polled = Pin::new(&mut rd.io).poll_read(cx, &mut read);
    let n = read.filled().len();
    rd.buf.truncate(len + n);
    polled.map_ok(|()| n)
}

impl RequestBody {
    fn fail(&mut self, fault: u8, error: BodyError) -> Poll<Option<Result<Bytes, BodyError>>> {
        if fault != convert::FAULT_NONE {
            self.fault.store(fault, Ordering::SeqCst);
        }
        self.reader = None;
        Poll::Ready(Some(Err(error)))
    }
}

impl Stream for RequestBody {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            let Some(reader) = this.reader.as_mut() else {
                return Poll::Ready(None);
            };
            match reader.step() {
                Step::Data(b) => {
                    this.seen = this.seen.saturating_add(b.len());
                    if this.seen > this.limit {
                        let limit = this.limit;
                        return this.fail(convert::FAULT_TOO_LARGE, BodyError::TooLarge { limit });
                    }
                    this.sleep = None;
                    return Poll::Ready(Some(Ok(b)));
                }
                Step::End => {
                    *this.shared.back.lock() = this.reader.take();
                    return Poll::Ready(None);
                }
                Step::Broken(why) => {
                    return this.fail(
                        convert::FAULT_BAD_FRAMING,
                        BodyError::Transport(format!("invalid chunked body: {why}")),
                    );
                }
                Step::NeedMore => match poll_read_more(&mut reader.rd, cx) {
                    Poll::Ready(Ok(0)) => {
                        return this.fail(
                            convert::FAULT_NONE,
                            BodyError::Transport(
                                "the client closed the connection before the end of the body"
                                    .into(),
                            ),
                        );
                    }
                    Poll::Ready(Ok(_)) => {}
                    Poll::Ready(Err(e)) => {
                        return this.fail(convert::FAULT_NONE, BodyError::Transport(e.to_string()));
                    }
                    Poll::Pending => {
                        let idle = this.idle;
                        let sleep = this
                            .sleep
                            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                        if sleep.as_mut().poll(cx).is_ready() {
                            return this.fail(
                                convert::FAULT_TIMED_OUT,
                                BodyError::Transport(format!(
                                    "the client sent no body bytes for {idle:?}"
                                )),
                            );
                        }
                        return Poll::Pending;
                    }
                },
            }
        }
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        if let Some(r) = self.reader.take() {
            *self.shared.back.lock() = Some(r);
        }
    }
}

/// Reads and drops what is left of a body nobody read; false when that is too much or the
/// client does not send it.
async fn drain(body: &mut BodyReader, deadline: &mut Deadline, idle: Duration) -> bool {
    let mut budget = DRAIN_UP_TO;
    if let Left::Length(n) = body.left {
        if n > budget {
            return false;
        }
    }
    loop {
        match body.step() {
            Step::End => return true,
            Step::Broken(_) => return false,
            Step::Data(b) => match budget.checked_sub(b.len() as u64) {
                Some(left) => budget = left,
                None => return false,
            },
            Step::NeedMore => {
                deadline.arm(idle);
                if !matches!(read_body_more(&mut body.rd, deadline).await, Waited::Read) {
                    return false;
                }
            }
        }
    }
}

/// How the response body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framed {
    /// No framing header (1xx, 204, 304; a HEAD answer of unknown length; HTTP/1.0 streams).
    Bare,
    Length(u64),
    Chunked,
}

/// Headers the host writes itself (framing and this hop's connection).
fn is_ours(name: &str) -> bool {
    const OURS: [&str; 7] = [
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "upgrade",
        "te",
    ];
    OURS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// Writes a response head into `out`. `Err` when the response cannot be sent as it is (a
/// status outside 100-999, a header name that is not a token, a value outside Latin-1 or with
/// control characters).
fn encode_head(
    out: &mut BytesMut,
    resp: &Response,
    framed: Framed,
    close: bool,
    http10_keep_alive: bool,
) -> Result<(), String> {
    out.clear();
    let status = resp.status;
    if !(100..=999).contains(&status) {
        return Err(format!("status code {status} cannot be sent"));
    }
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(&[
        b'0' + (status / 100) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
        b' ',
    ]);
    let reason = if resp.reason.is_empty() {
        reason_phrase(status)
    } else {
        resp.reason.as_str()
    };
    if push_value(out, reason).is_err() {
        // A reason that cannot go on the wire is replaced by the standard one.
        out.truncate(13);
        out.extend_from_slice(reason_phrase(status).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    let mut has_date = false;
    for (name, values) in resp.headers.iter() {
        if is_ours(name) {
            continue;
        }
        if !apim_engine::http::is_valid_name(name) {
            return Err(format!("'{name}' is not a valid HTTP header name"));
        }
        has_date |= name.eq_ignore_ascii_case("date");
        let invalid = || {
            format!("the value of header '{name}' contains a character not allowed in HTTP headers")
        };
        if values.len() > 1 && is_repeated_line_header(name) {
            for v in values {
                push_line_start(out, name);
                push_value(out, v).map_err(|()| invalid())?;
                out.extend_from_slice(b"\r\n");
            }
        } else {
            push_line_start(out, name);
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b",");
                }
                push_value(out, v).map_err(|()| invalid())?;
            }
            out.extend_from_slice(b"\r\n");
        }
    }
    if !has_date {
        out.extend_from_slice(b"date: ");
        date::push_now(out);
        out.extend_from_slice(b"\r\n");
    }
    match framed {
        Framed::Bare => {}
        Framed::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            push_decimal(out, n);
            out.extend_from_slice(b"\r\n");
        }
        Framed::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    } else if http10_keep_alive {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

fn push_line_start(out: &mut BytesMut, name: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
}

fn push_decimal(out: &mut BytesMut, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// The connection's write side and the buffer heads are built in.
struct Writer {
    io: OwnedWriteHalf,
    out: BytesMut,
}

impl Writer {
    /// A bodiless answer before any request is made of the head (400, 408, 431).
    async fn refuse(&mut self, status: u16) {
        self.out.clear();
        self.out.extend_from_slice(b"HTTP/1.1 ");
        push_decimal(&mut self.out, u64::from(status));
        self.out.extend_from_slice(b" ");
        self.out.extend_from_slice(reason_phrase(status).as_bytes());
        self.out
            .extend_from_slice(b"\r\ncontent-length: 0\r\nconnection: close\r\ndate: ");
        date::push_now(&mut self.out);
        self.out.extend_from_slice(b"\r\n\r\n");
        let _ = self.io.write_all(&self.out).await;
    }

    /// Writes a streamed body (chunked, or bare for HTTP/1.0): each chunk goes out as soon as
    /// it comes; chunks already there are written together. `out` holds the head. False when
    /// the body failed (it is cut off: no last chunk) or the client went away.
    async fn stream(&mut self, mut body: apim_engine::http::BodyStream, chunked: bool) -> bool {
        loop {
            let next = if self.out.is_empty() {
                body.next().await
            } else {
                match body.next().now_or_never() {
                    Some(next) => next,
                    None => {
                        if self.io.write_all(&self.out).await.is_err() {
                            return false;
                        }
                        self.out.clear();
                        continue;
                    }
                }
            };
            match next {
                Some(Ok(chunk)) if chunk.is_empty() => {}
                Some(Ok(chunk)) => {
                    if chunk.len() <= COPY_CHUNK_UP_TO {
                        if chunked {
                            encode_chunk(&mut self.out, &chunk);
                        } else {
                            self.out.extend_from_slice(&chunk);
                        }
                        if self.out.len() >= WRITE_WHOLE_UP_TO {
                            if self.io.write_all(&self.out).await.is_err() {
                                return false;
                            }
                            self.out.clear();
                        }
                    } else {
                        if chunked {
                            self.out
                                .extend_from_slice(chunk_header(chunk.len()).as_ref());
                        }
                        let end: &[u8] = if chunked { b"\r\n" } else { b"" };
                        let mut all = Buf::chain(Buf::chain(&self.out[..], chunk), end);
                        if self.io.write_all_buf(&mut all).await.is_err() {
                            return false;
                        }
                        self.out.clear();
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(target: "apim_emu::host", error = %e, "response body failed; connection closed");
                    // What came before the failure still goes out; the body stays incomplete.
                    let _ = self.io.write_all(&self.out).await;
                    return false;
                }
                None => {
                    if chunked {
                        self.out.extend_from_slice(LAST_CHUNK);
                    }
                    return self.io.write_all(&self.out).await.is_ok();
                }
            }
        }
    }
}

/// Closes the connection: the write side first, then what the client still sends is read
/// and dropped for a while (see [`LINGER`]).
async fn close(mut wr: Writer, rd: Option<Reader>) {
    let _ = wr.io.shutdown().await;
    if let Some(mut rd) = rd {
        let _ = tokio::time::timeout(LINGER, async {
            let mut dropped = 0usize;
            while dropped < 1024 * 1024 {
                rd.buf.clear();
                match rd.io.read_buf(&mut rd.buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => dropped += n,
                }
            }
        })
        .await;
    }
}

/// What a connection does after a request.
enum Next {
    /// Reads the next request.
    KeepAlive(Reader),
    /// Closes (gracefully; with the read side when it is still here).
    Close(Option<Reader>),
    /// The client is gone or the response was cut off: drop the connection as it is.
    Abort,
}

/// Serves one client connection until it closes, fails, idles out or the host stops.
pub(crate) async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<HostState>,
    emu: axum::Router,
    stop: watch::Receiver<bool>,
) {
    let (io_r, io_w) = stream.into_split();
    let mut held = Reader {
        io: io_r,
        buf: BytesMut::with_capacity(READ_SIZE),
    };
    let mut conn = Conn {
        wr: Writer {
            io: io_w,
            out: BytesMut::with_capacity(1024),
        },
        deadline: Deadline::default(),
        peer,
        peer_ip: peer.ip().to_string(),
    };
    let max_head = state.config.max_header_bytes.max(8192);
    let mut first = true;
    // Idle connections close when the host stops.
    let mut stop_wait = stop.clone();
    let mut stopped = std::pin::pin!(stop_wait.changed());
    loop {
        let mut rd = held;
        // A whole head; the deadline runs from the first wait for it.
        let mut armed = false;
        let (len, head) = loop {
            if !rd.buf.is_empty() {
                let seen = &rd.buf[..rd.buf.len().min(PREFACE.len())];
                if first && PREFACE.starts_with(seen) {
                    if seen.len() == PREFACE.len() {
                        let Ok(stream) = rd.io.reunite(conn.wr.io) else {
                            return;
                        };
                        return serve_h2(stream, rd.buf.freeze(), peer, state, emu, stop).await;
                    }
                } else {
                    match parse_head(&rd.buf, &state, &conn.peer_ip) {
                        Ok(Some(parsed)) if parsed.0 <= max_head => break parsed,
                        Ok(None) if rd.buf.len() < max_head => {}
                        Ok(_) | Err(Refusal::TooManyHeaders) => {
                            conn.wr.refuse(431).await;
                            return close(conn.wr, Some(rd)).await;
                        }
                        Err(Refusal::Malformed) => {
                            conn.wr.refuse(400).await;
                            return close(conn.wr, Some(rd)).await;
                        }
                    }
                }
            }
            let idle = rd.buf.is_empty();
            if idle && stop.has_changed().unwrap_or(true) {
                return close(conn.wr, None).await;
            }
            if !armed {
                conn.deadline.arm(state.config.header_read_timeout);
                armed = true;
            }
            match read_more(
                &mut rd,
                &mut conn.deadline,
                idle.then_some(stopped.as_mut()),
            )
            .await
            {
                Waited::Read => {}
                // Between requests nothing is left unread: no need to linger.
                Waited::Closed => return,
                Waited::Stopped => return close(conn.wr, None).await,
                Waited::TimedOut if idle => return close(conn.wr, None).await,
                Waited::TimedOut => {
                    // A head that started and never finished (slowloris) is told so.
                    conn.wr.refuse(408).await;
                    return close(conn.wr, Some(rd)).await;
                }
            }
        };
        rd.buf.advance(len);
        first = false;
        match conn.request(head, rd, &state, &emu, &stop).await {
            Next::KeepAlive(rd) => held = rd,
            Next::Close(rd) => return close(conn.wr, rd).await,
            Next::Abort => return,
        }
    }
}

/// A connection's state across requests, but the read side (which a request body may hold).
struct Conn {
    wr: Writer,
    deadline: Deadline,
    peer: SocketAddr,
    peer_ip: String,
}

impl Conn {
    /// One request, from its head to the end of its response.
    async fn request(
        &mut self,
        head: Head,
        mut rd: Reader,
        state: &HostState,
        emu: &axum::Router,
        stop: &watch::Receiver<bool>,
    ) -> Next {
        let start = Instant::now();
        let config = &state.config;
        let limit = config.max_request_body;
        let Head {
            request,
            meta,
            framing,
            http10,
            keep_alive,
            expect_continue,
            is_head,
            emu_target,
        } = head;
        let mut close_after = !keep_alive;

        // The body: none, read whole, or a stream that holds the read side meanwhile.
        let mut streamed = None;
        let mut held = None;
        let prepared = match request {
            Err(answer) => {
                close_after = true;
                held = Some(rd);
                Prepared::Answer(answer)
            }
            Ok(mut request) => match framing {
                Framing::None | Framing::Length(0) => {
                    held = Some(rd);
                    Prepared::Request {
                        request,
                        fault: None,
                    }
                }
                Framing::Length(n) if n > limit as u64 => {
                    close_after = true;
                    held = Some(rd);
                    Prepared::Answer(too_large_response(limit))
                }
                Framing::Length(n) if n <= READ_WHOLE_UP_TO => {
                    let n = n as usize;
                    if expect_continue && rd.buf.len() < n {
                        let _ = self.wr.io.write_all(CONTINUE).await;
                    }
                    let mut whole = Ok(());
                    while whole.is_ok() && rd.buf.len() < n {
                        rd.buf.reserve(n - rd.buf.len());
                        self.deadline.arm(config.body_read_timeout);
                        whole = match read_body_more(&mut rd, &mut self.deadline).await {
                            Waited::Read => Ok(()),
                            Waited::TimedOut => Err(true),
                            Waited::Closed | Waited::Stopped => Err(false),
                        };
                    }
                    let prepared = match whole {
                        Ok(()) => {
                            request.body = Body::from_bytes(rd.buf.split_to(n).freeze());
                            Prepared::Request {
                                request,
                                fault: None,
                            }
                        }
                        Err(slow) => {
                            close_after = true;
                            if slow {
                                Prepared::SlowBody
                            } else {
                                // The client went away mid-body.
                                Prepared::Answer(error_response(400, "Bad Request"))
                            }
                        }
                    };
                    held = Some(rd);
                    prepared
                }
                framing => {
                    if expect_continue {
                        let _ = self.wr.io.write_all(CONTINUE).await;
                    }
                    let left = match framing {
                        Framing::Length(n) => Left::Length(n),
                        _ => Left::Chunked(ChunkedDecoder::new()),
                    };
                    let shared = Arc::new(BodyShared {
                        back: parking_lot::Mutex::new(None),
                    });
                    let fault = Arc::new(AtomicU8::new(convert::FAULT_NONE));
                    request.body = Body::from_stream(Box::pin(RequestBody {
                        reader: Some(BodyReader { rd, left }),
                        shared: shared.clone(),
                        fault: fault.clone(),
                        limit,
                        seen: 0,
                        idle: config.body_read_timeout,
                        sleep: None,
                    }));
                    streamed = Some(shared);
                    Prepared::Request {
                        request,
                        fault: Some(fault),
                    }
                }
            },
        };

        let (mut response, done) = match emu_target {
            Some(target) => {
                let response = match prepared {
                    Prepared::Request { request, .. } => {
                        emu_h1(emu, &request.method, &target, request.body).await
                    }
                    Prepared::Answer(r) => r,
                    Prepared::SlowBody => slow_body_response(),
                };
                (response, None)
            }
            None => {
                let answer = answer(state, self.peer, meta, prepared, start).await;
                close_after |= answer.close;
                (answer.response, Some(answer.done))
            }
        };

        // The read side comes back from a streamed body (read to its end or dropped); when it
        // does not (still held, or the body failed), the connection cannot go on.
        let mut left = None;
        if let Some(shared) = streamed {
            match shared.back.lock().take() {
                Some(body) => {
                    if !body.left.is_done() {
                        if matches!(body.left, Left::Length(n) if n > DRAIN_UP_TO) {
                            close_after = true;
                        }
                        left = Some(body.left);
                    }
                    held = Some(body.rd);
                }
                None => close_after = true,
            }
        }
        if stop.has_changed().unwrap_or(true) {
            close_after = true;
        }

        let mut framed = framing_for(&response, is_head, http10);
        if framed == Framed::Bare && response.body.is_stream() && !is_head {
            // HTTP/1.0 has no chunks: the end of the body is the end of the connection.
            close_after |= body_allowed(response.status);
        }
        let keep_alive_10 = http10 && !close_after;
        if let Err(why) = encode_head(
            &mut self.wr.out,
            &response,
            framed,
            close_after,
            keep_alive_10,
        ) {
            let id = done.as_ref().map_or("", |d| d.request_id());
            tracing::error!(target: "apim_emu::host", request_id = %id, error = %why, "response cannot be sent");
            response = internal_error_response(id);
            framed = framing_for(&response, is_head, http10);
            if encode_head(
                &mut self.wr.out,
                &response,
                framed,
                close_after,
                keep_alive_10,
            )
            .is_err()
            {
                return Next::Abort;
            }
            if let Some(done) = done {
                done.sent(state, response.status, true);
            }
        } else if let Some(done) = done {
            done.sent(state, response.status, false);
        }

        let body = std::mem::take(&mut response.body);
        let written = if is_head || !body_allowed(response.status) {
            self.wr.io.write_all(&self.wr.out).await.is_ok()
        } else if let Some(whole) = body.peek() {
            if whole.len() <= WRITE_WHOLE_UP_TO {
                self.wr.out.extend_from_slice(whole);
                self.wr.io.write_all(&self.wr.out).await.is_ok()
            } else {
                let mut all = Buf::chain(&self.wr.out[..], whole.clone());
                self.wr.io.write_all_buf(&mut all).await.is_ok()
            }
        } else if body.is_stream() {
            self.wr
                .stream(body.into_stream(), framed == Framed::Chunked)
                .await
        } else {
            self.wr.io.write_all(&self.wr.out).await.is_ok()
        };
        if !written {
            return Next::Abort;
        }

        let Some(rd) = held else {
            return Next::Close(None);
        };
        if close_after {
            return Next::Close(Some(rd));
        }
        if let Some(left) = left {
            let mut body = BodyReader { rd, left };
            return if drain(&mut body, &mut self.deadline, config.body_read_timeout).await {
                Next::KeepAlive(body.rd)
            } else {
                Next::Close(Some(body.rd))
            };
        }
        Next::KeepAlive(rd)
    }
}

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// 1xx, 204 and 304 answers have no body.
fn body_allowed(status: u16) -> bool {
    !(status < 200 || status == 204 || status == 304)
}

/// How a response's body goes on the wire.
fn framing_for(resp: &Response, is_head: bool, http10: bool) -> Framed {
    if !body_allowed(resp.status) {
        return Framed::Bare;
    }
    let declared = || {
        resp.headers
            .first("content-length")
            .and_then(|v| parse_length(trimmed(v.as_bytes())))
    };
    match resp.body.peek() {
        Some(b) => Framed::Length(b.len() as u64),
        // A HEAD answer tells the length of what a GET would get, when the handler knows it.
        None if is_head => declared().map_or(
            if resp.body.is_stream() {
                Framed::Bare
            } else {
                Framed::Length(0)
            },
            Framed::Length,
        ),
        None if resp.body.is_stream() && http10 => Framed::Bare,
        None if resp.body.is_stream() => Framed::Chunked,
        None => Framed::Length(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_of(config: crate::host::HostConfig, raw: &[u8]) -> Result<Option<Head>, Refusal> {
        let state = crate::host::HostState::for_tests(config);
        parse_head(raw, &state, "127.0.0.1").map(|h| h.map(|(_, h)| h))
    }

    fn framing(raw: &str) -> Result<Framing, Refusal> {
        head_of(crate::host::HostConfig::default(), raw.as_bytes())
            .map(|h| h.expect("a whole head").framing)
    }

    #[test]
    fn body_framing_follows_rfc_9112() {
        let h = "POST / HTTP/1.1\r\nHost: x\r\n";
        assert_eq!(framing(&format!("{h}\r\n")), Ok(Framing::None));
        assert_eq!(
            framing(&format!("{h}Content-Length: 12\r\n\r\n")),
            Ok(Framing::Length(12))
        );
        // The same length twice (lines or a list) is one length.
        assert_eq!(
            framing(&format!(
                "{h}Content-Length: 5\r\nContent-Length: 5, 5\r\n\r\n"
            )),
            Ok(Framing::Length(5))
        );
        assert_eq!(
            framing(&format!("{h}Transfer-Encoding: gzip, Chunked\r\n\r\n")),
            Ok(Framing::Chunked)
        );
        for bad in [
            "Content-Length: 5\r\nContent-Length: 6\r\n",
            "Content-Length: 5, 6\r\n",
            "Content-Length: -5\r\n",
            "Content-Length: +5\r\n",
            "Content-Length: 5 5\r\n",
            "Content-Length: 99999999999999999999\r\n",
            "Content-Length:\r\n",
            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: gzip\r\n",
            "Transfer-Encoding: chunked, gzip\r\n",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: identity\r\n",
        ] {
            assert_eq!(
                framing(&format!("{h}{bad}\r\n")),
                Err(Refusal::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            framing("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(Refusal::Malformed)
        );
    }

    #[test]
    fn heads_become_engine_requests() {
        let raw = b"GET /api/items?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\nX-Multi: a\r\nx-multi: b\r\nX-Latin: caf\xe9\r\nConnection: keep-alive, Close\r\n\r\n";
        let head = head_of(crate::host::HostConfig::default(), raw)
            .unwrap()
            .unwrap();
        let r = head.request.unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.url.host(), "example.com");
        assert_eq!(r.url.port(), 8080);
        assert_eq!(r.url.path(), "/api/items");
        assert_eq!(r.url.query_string(), "?x=1&y=%20");
        assert_eq!(r.headers.get("x-multi").unwrap(), ["a", "b"]);
        assert_eq!(r.headers.first("x-latin"), Some("café"));
        assert!(!head.keep_alive);
        assert!(!head.http10);

        // absolute-form takes its authority from the target.
        let head = head_of(
            crate::host::HostConfig::default(),
            b"GET http://other:81/p HTTP/1.0\r\nHost: example.com\r\nConnection: keep-alive\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        let r = head.request.unwrap();
        assert_eq!(
            (r.url.host(), r.url.port(), r.url.path()),
            ("other", 81, "/p")
        );
        assert!(head.http10 && head.keep_alive);

        // A target that is not a path is answered, not dropped.
        let head = head_of(
            crate::host::HostConfig::default(),
            b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(head.request.unwrap_err().status, 400);
    }

    #[test]
    fn incomplete_oversized_and_malformed_heads() {
        let cfg = crate::host::HostConfig::default();
        assert!(matches!(
            head_of(cfg.clone(), b"GET / HTTP/1.1\r\nHost: x\r\n"),
            Ok(None)
        ));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=cfg.max_headers {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(
            head_of(cfg.clone(), &many).err(),
            Some(Refusal::TooManyHeaders)
        );
        // More header slots than fit on the stack.
        let mut big = cfg.clone();
        big.max_headers = STACK_HEADERS * 2;
        assert!(matches!(head_of(big, &many), Ok(Some(_))));
        for bad in [
            &b"GET / HTTP/1.1\r\nBad\x01Name: v\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
            b"GET / HTTP/2.0\r\n\r\n",
            b"\x16\x03\x01\x02\x00garbage\r\n\r\n",
            b"GET / HTTP/1.1\r\n folded: v\r\n\r\n",
        ] {
            assert_eq!(
                head_of(cfg.clone(), bad).err(),
                Some(Refusal::Malformed),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn hostile_heads_never_panic() {
        // Deterministic mutations of a valid head: bytes replaced, cut, duplicated.
        let base = b"POST http://h:1/a?b=c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, close\r\nOcp-Apim-Trace: true\r\nExpect: 100-continue\r\n\r\n";
        let state = crate::host::HostState::for_tests(crate::host::HostConfig::default());
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        const INTERESTING: &[u8] = b"\r\n:, \t\x00\x7f\xff\xe9/?%#;\"0123456789abcdefHTPhttp";
        for _ in 0..20_000 {
            let mut input = base.to_vec();
            for _ in 0..(next() % 6 + 1) {
                let at = (next() as usize) % input.len().max(1);
                match next() % 4 {
                    0 => input[at] = INTERESTING[(next() as usize) % INTERESTING.len()],
                    1 => input.truncate(at),
                    2 => {
                        let piece = input[at..].to_vec();
                        input.splice(at..at, piece);
                    }
                    _ => input.insert(at, next() as u8),
                }
                if input.is_empty() {
                    input.push(b'G');
                }
            }
            let _ = parse_head(&input, &state, "127.0.0.1");
        }
    }

    fn head_text(resp: &Response, framed: Framed, close: bool) -> Result<String, String> {
        let mut out = BytesMut::new();
        encode_head(&mut out, resp, framed, close, false)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn response_heads_are_written_from_the_engine_response() {
        let mut r = Response::new(401);
        r.reason = "Access Denied".into();
        r.headers
            .set_one("Content-Type", "application/json")
            .unwrap();
        r.headers
            .set("Set-Cookie", vec!["a=1".into(), "b=2".into()])
            .unwrap();
        r.headers
            .set("X-List", vec!["a".into(), "b".into()])
            .unwrap();
        // Framing headers are the host's own.
        r.headers.set_one("Content-Length", "999").unwrap();
        r.headers.set_one("Transfer-Encoding", "chunked").unwrap();
        r.headers.set_one("Connection", "keep-alive").unwrap();
        r.headers.set_one("X-Latin", "café").unwrap();
        let text = head_text(&r, Framed::Length(12), true).unwrap();
        assert!(text.starts_with("HTTP/1.1 401 Access Denied\r\n"), "{text}");
        for line in [
            "Content-Type: application/json\r\n",
            "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n",
            "X-List: a,b\r\n",
            "content-length: 12\r\n",
            "connection: close\r\n",
            "date: ",
        ] {
            assert!(text.contains(line), "{line:?} missing in {text}");
        }
        assert!(!text.contains("999") && !text.contains("chunked") && !text.contains("keep-alive"));
        assert!(text.contains("X-Latin: caf\u{fffd}") || text.contains("X-Latin: caf"));
        assert!(text.ends_with("\r\n\r\n"));

        // The handler's own Date is kept, not doubled.
        let mut r = Response::new(200);
        r.headers
            .set_one("Date", "Sun, 06 Nov 1994 08:49:37 GMT")
            .unwrap();
        let text = head_text(&r, Framed::Chunked, false).unwrap();
        assert_eq!(
            text.to_ascii_lowercase().matches("date: ").count(),
            1,
            "{text}"
        );
        assert!(text.contains("transfer-encoding: chunked\r\n"));

        // What cannot go on the wire is an error (the host answers 500 instead).
        let mut r = Response::new(200);
        r.headers.set_one("x-name", "名前").unwrap();
        assert!(head_text(&r, Framed::Length(0), false).is_err());
        assert!(head_text(&Response::new(1000), Framed::Length(0), false).is_err());
        // An unknown status without a reason still has a well-formed status line.
        let mut r = Response::new(599);
        r.reason.clear();
        assert!(
            head_text(&r, Framed::Length(0), false)
                .unwrap()
                .starts_with("HTTP/1.1 599 \r\n")
        );
    }

    #[test]
    fn response_framing() {
        let mut r = Response::new(200);
        assert_eq!(framing_for(&r, false, false), Framed::Length(0));
        r.body = Body::from("hello");
        assert_eq!(framing_for(&r, false, false), Framed::Length(5));
        assert_eq!(framing_for(&r, true, false), Framed::Length(5));
        r.body = Body::from_chunks(vec![]);
        assert_eq!(framing_for(&r, false, false), Framed::Chunked);
        assert_eq!(framing_for(&r, false, true), Framed::Bare);
        assert_eq!(framing_for(&r, true, false), Framed::Bare);
        r.headers.set_one("Content-Length", "42").unwrap();
        assert_eq!(framing_for(&r, true, false), Framed::Length(42));
        for status in [101, 204, 304] {
            let mut r = Response::new(status);
            r.body = Body::from("x");
            assert_eq!(framing_for(&r, false, false), Framed::Bare, "{status}");
        }
    }
}
