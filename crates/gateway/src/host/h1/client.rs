//! The host's HTTP/1.1 client for plain-`http` backends (forward-request through
//! [`DirectHttp1`](crate::host::DirectHttp1)). The request's own future writes the request and
//! reads the response head; the response body owns the connection and puts it back in its
//! thread's pool once read to its end. No connection task, no channels, no `http::` types: the
//! request is written from the engine's types and the response parsed straight into them.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use apim_engine::http::{
    Body, BodyError, BodyStream, HeaderMap, MAX_HEADER_BYTES, Response, default_port,
    is_repeated_line_header, is_valid_name, is_valid_value, reason_phrase,
};
use apim_engine::services::{BackendRequest, HttpError};
use bytes::{Buf, Bytes, BytesMut};
use futures_util::{FutureExt, Stream, StreamExt};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;

use super::chunked::{ChunkedDecoder, Decoded, LAST_CHUNK, chunk_header, encode_chunk};
use super::fields::{field_text, parse_length, push_value};

/// Idle connections kept per backend (`host:port`) and thread.
const MAX_IDLE_PER_HOST: usize = 128;
/// Backends (`host:port`) a thread's pool keeps slots for.
const MAX_BACKENDS: usize = 256;
/// An idle connection older than this is closed rather than reused (reqwest's default).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// A response head (status line and header fields) larger than this is refused.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Header fields a response head may have.
const MAX_HEADERS: usize = 100;
/// A request body this small goes in the same write as the head; a response body this small
/// that has arrived with its head is handed on as bytes rather than as a stream.
const WHOLE_UP_TO: usize = 64 * 1024;
/// What a read buffer grows by when it has less than [`MIN_READ_ROOM`] left.
const READ_BUFFER: usize = 16 * 1024;
const MIN_READ_ROOM: usize = 4 * 1024;
/// Chunks of a streamed request body gathered before a write.
const WRITE_GATHER: usize = 16 * 1024;

/// Headers that describe one hop's connection, and the body's framing: written by this client.
const SKIP_REQUEST_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "upgrade",
    "transfer-encoding",
    "content-length",
];

/// One kept-alive connection to a backend.
struct Conn {
    io: TcpStream,
    /// Bytes read and not yet handed on; empty between responses.
    rbuf: BytesMut,
    /// The request being written (kept for its capacity).
    wbuf: BytesMut,
    /// The query string while the request line is written (kept for its capacity).
    scratch: String,
    /// The last read left nothing behind in the socket (it filled less than the room it had).
    drained: bool,
    /// The pool slot's host, shared by all of its connections.
    host: Arc<str>,
    port: u16,
}

impl Conn {
    fn new(io: TcpStream, host: Arc<str>, port: u16) -> Self {
        Conn {
            io,
            rbuf: BytesMut::with_capacity(READ_BUFFER),
            wbuf: BytesMut::new(),
            scratch: String::new(),
            drained: false,
            host,
            port,
        }
    }

    /// Reads what the socket has into `rbuf`; `Ok(0)` at end of stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.rbuf.capacity() - self.rbuf.len() < MIN_READ_ROOM {
            self.rbuf.reserve(READ_BUFFER);
        }
        let room = self.rbuf.capacity() - self.rbuf.len();
        loop {
            ready!(self.io.poll_read_ready(cx))?;
            match self.io.try_read_buf(&mut self.rbuf) {
                Ok(n) => {
                    self.drained = n < room;
                    return Poll::Ready(Ok(n));
                }
                // The readiness was stale (and is now cleared): wait for the next.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    async fn fill(&mut self) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// Whether an idle connection is still good: nothing (neither data nor FIN nor reset)
    /// arrived while it sat in the pool. Costs no system call unless the readiness left by the
    /// last read was kept (see [`release`]).
    fn is_quiet(&self) -> bool {
        // `try_io` looks at the readiness tokio holds without a system call and, unlike
        // `poll_read_ready`, without spending the task's cooperative budget (an exhausted
        // budget would read as "nothing arrived").
        match self.io.try_io(Interest::READABLE, || Ok(())) {
            Err(_) => true,
            Ok(()) => {
                let mut probe = [0u8; 1];
                matches!(self.io.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
        }
    }

    fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

struct Idle {
    conn: Conn,
    since: Instant,
}

/// The idle connections to one backend.
struct Slot {
    host: Arc<str>,
    port: u16,
    idle: VecDeque<Idle>,
}

thread_local! {
    /// Few backends per gateway: a list searched by port then host beats hashing a key.
    static POOL: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

/// A good idle connection to `host:port` from this thread's pool, most recently used first.
fn checkout(host: &str, port: u16) -> Option<Conn> {
    POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        let slot = pool
            .iter_mut()
            .find(|s| s.port == port && &*s.host == host)?;
        while let Some(idle) = slot.idle.pop_back() {
            if idle.since.elapsed() < IDLE_TIMEOUT && idle.conn.is_quiet() {
                return Some(idle.conn);
            }
        }
        None
    })
    .ok()
    .flatten()
}

/// The pool slot's shared host name for a new connection (allocated once per backend).
fn slot_host(host: &str, port: u16) -> Arc<str> {
    POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        if let Some(s) = pool.iter().find(|s| s.port == port && &*s.host == host) {
            return s.host.clone();
        }
        if pool.len() >= MAX_BACKENDS {
            // Many backends (hosts made by expressions): forget those with no idle connection;
            // their connections in use then close when done instead of coming back.
            pool.retain(|s| !s.idle.is_empty());
            if pool.len() >= MAX_BACKENDS {
                pool.remove(0);
            }
        }
        let shared: Arc<str> = Arc::from(host);
        pool.push(Slot {
            host: shared.clone(),
            port,
            idle: VecDeque::new(),
        });
        shared
    })
    .unwrap_or_else(|_| Arc::from(host))
}

/// Puts a connection whose response has been read to its end back in this thread's pool.
fn release(conn: Conn) {
    if !conn.rbuf.is_empty() {
        // Bytes after the response: the backend is not speaking HTTP/1.1 as we read it.
        return;
    }
    if conn.drained {
        // The socket was empty when last read and the response is complete, so the read
        // readiness left set is stale: clear it (no system call) so the idle check costs none.
        // A FIN or reset arriving later sets it again; closed states are never cleared.
        let _ = conn.io.try_io(Interest::READABLE, || {
            Err::<(), _>(io::ErrorKind::WouldBlock.into())
        });
    }
    // A thread that is ending has no pool left; the connection just closes.
    let _ = POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        let Some(slot) = pool
            .iter_mut()
            .find(|s| s.port == conn.port && Arc::ptr_eq(&s.host, &conn.host))
        else {
            return;
        };
        let now = Instant::now();
        while slot
            .idle
            .front()
            .is_some_and(|i| now.duration_since(i.since) >= IDLE_TIMEOUT)
        {
            slot.idle.pop_front();
        }
        if slot.idle.len() < MAX_IDLE_PER_HOST {
            slot.idle.push_back(Idle { conn, since: now });
        }
    });
}

async fn connect(host: &str, port: u16) -> Result<Conn, HttpError> {
    // An IPv6 literal is kept in brackets in URLs.
    let name = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let io = TcpStream::connect((name, port))
        .await
        .map_err(|e| HttpError::ConnectionRefused(format!("{host}:{port}: {e}")))?;
    // Requests are written whole: do not wait for acknowledgements between segments.
    let _ = io.set_nodelay(true);
    Ok(Conn::new(io, slot_host(host, port), port))
}

/// The request body as this client sends it.
enum Outgoing {
    None,
    Whole(Bytes),
    Stream(BodyStream),
}

impl Outgoing {
    /// Whether the request can be sent again on another connection.
    fn replayable(&self) -> bool {
        !matches!(self, Outgoing::Stream(_))
    }
}

/// Sends `req` over a pooled or new connection and reads the response head. The body follows
/// as bytes (small, already arrived) or as a stream that owns the connection.
pub async fn send(mut req: BackendRequest) -> Result<Response, HttpError> {
    let body = req.body.take();
    let mut outgoing = match body.peek() {
        Some(b) => Outgoing::Whole(b.clone()),
        None if body.is_stream() => Outgoing::Stream(body.into_stream()),
        None => Outgoing::None,
    };
    let host = req.url.host();
    let port = req.url.port();
    let head_request = req.method == "HEAD";
    let mut retried = false;
    loop {
        // A retry goes on a new connection: the backend may have closed all idle ones.
        let mut pooled = if retried { None } else { checkout(host, port) };
        let reused = pooled.is_some();
        let (mut wbuf, mut scratch) = match pooled.as_mut() {
            Some(c) => (std::mem::take(&mut c.wbuf), std::mem::take(&mut c.scratch)),
            None => (BytesMut::with_capacity(1024), String::new()),
        };
        wbuf.clear();
        // The head is checked before a connection is made or written to: nothing is sent when
        // it is invalid.
        if let Err(e) = encode_head(&mut wbuf, &mut scratch, &req, &outgoing) {
            if let Some(mut c) = pooled {
                c.wbuf = wbuf;
                c.scratch = scratch;
                release(c);
            }
            return Err(e);
        }
        let mut conn = match pooled {
            Some(c) => c,
            None => connect(host, port).await?,
        };
        conn.wbuf = wbuf;
        conn.scratch = scratch;
        let replayable = outgoing.replayable();
        let retry_allowed = reused && replayable && !retried;
        match write_request(&mut conn, &mut outgoing).await {
            Ok(()) => {}
            Err(WriteError::Io(_)) if retry_allowed => {
                retried = true;
                continue;
            }
            Err(WriteError::Io(e)) => {
                return Err(HttpError::ConnectionReset(format!(
                    "{}: {e}",
                    conn.address()
                )));
            }
            Err(WriteError::Body(e)) => {
                return Err(HttpError::InvalidRequest(format!("request body: {e}")));
            }
        }
        match read_head(&mut conn, head_request).await {
            Ok(head) => return Ok(response(conn, head)),
            Err(HeadError::ClosedBeforeAnswer(_)) if retry_allowed => {
                // A kept-alive connection the backend closed meanwhile: send again on a new one.
                retried = true;
                continue;
            }
            Err(HeadError::ClosedBeforeAnswer(e) | HeadError::Io(e)) => {
                return Err(HttpError::ConnectionReset(format!(
                    "{}: {e}",
                    conn.address()
                )));
            }
            Err(HeadError::Invalid(text)) => return Err(HttpError::InvalidResponse(text)),
        }
    }
}

/// Writes the request line and header section into `dst`, checking what goes on the wire.
fn encode_head(
    dst: &mut BytesMut,
    scratch: &mut String,
    req: &BackendRequest,
    body: &Outgoing,
) -> Result<(), HttpError> {
    let method = req.method.as_str();
    if !is_valid_name(method) {
        return Err(HttpError::InvalidRequest(format!(
            "invalid method '{}'",
            method.escape_debug()
        )));
    }
    let path = req.url.path();
    scratch.clear();
    req.url.push_query_string(scratch);
    if !is_target(path) || !is_target(scratch) {
        return Err(HttpError::InvalidRequest(format!(
            "invalid request target '{}{}'",
            path.escape_debug(),
            scratch.escape_debug()
        )));
    }
    dst.extend_from_slice(method.as_bytes());
    dst.extend_from_slice(b" ");
    dst.extend_from_slice(path.as_bytes());
    dst.extend_from_slice(scratch.as_bytes());
    dst.extend_from_slice(b" HTTP/1.1\r\n");
    if !req.headers.contains("host") {
        let host = req.url.host();
        if !is_valid_value(host) {
            return Err(HttpError::InvalidRequest("invalid backend host".into()));
        }
        dst.extend_from_slice(b"Host: ");
        dst.extend_from_slice(host.as_bytes());
        if default_port(req.url.scheme()) != Some(req.url.port()) {
            let _ = write!(dst, ":{}", req.url.port());
        }
        dst.extend_from_slice(b"\r\n");
    }
    for (name, values) in req.headers.iter() {
        if SKIP_REQUEST_HEADERS
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            continue;
        }
        if values.len() > 1 && is_repeated_line_header(name) {
            for v in values {
                header_line(dst, name, std::slice::from_ref(v))?;
            }
        } else {
            header_line(dst, name, values)?;
        }
    }
    match body {
        Outgoing::Whole(b) if !b.is_empty() || sends_empty_length(method) => {
            let _ = write!(dst, "Content-Length: {}\r\n", b.len());
        }
        Outgoing::None if sends_empty_length(method) => {
            dst.extend_from_slice(b"Content-Length: 0\r\n");
        }
        Outgoing::Stream(_) => dst.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        Outgoing::Whole(_) | Outgoing::None => {}
    }
    dst.extend_from_slice(b"\r\n");
    Ok(())
}

/// `name: v1,v2,...` (values joined with `,`, in Latin-1 as the server side writes them), or
/// `InvalidRequest` when the field cannot go on the wire as it is: a name that is not a token,
/// a value with a control character (header injection) or a character past Latin-1.
fn header_line(dst: &mut BytesMut, name: &str, values: &[String]) -> Result<(), HttpError> {
    if !is_valid_name(name) {
        return Err(HttpError::InvalidRequest(format!(
            "invalid header name '{}'",
            name.escape_debug()
        )));
    }
    dst.extend_from_slice(name.as_bytes());
    dst.extend_from_slice(b": ");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            dst.extend_from_slice(b",");
        }
        push_value(dst, v)
            .map_err(|()| HttpError::InvalidRequest(format!("invalid value of header '{name}'")))?;
    }
    dst.extend_from_slice(b"\r\n");
    Ok(())
}

/// Methods whose empty body is announced with `Content-Length: 0` (as hyper and reqwest do).
fn sends_empty_length(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH")
}

/// A request target has no whitespace or control characters (the URL is already encoded).
fn is_target(s: &str) -> bool {
    s.bytes().all(|b| b > b' ' && b != 0x7f)
}

enum WriteError {
    /// The connection failed.
    Io(io::Error),
    /// The request body (a stream) failed; the connection is left half-written.
    Body(BodyError),
}

/// Writes the head in `conn.wbuf` and the body.
async fn write_request(conn: &mut Conn, body: &mut Outgoing) -> Result<(), WriteError> {
    let io_err = WriteError::Io;
    match body {
        Outgoing::None => conn.io.write_all(&conn.wbuf).await.map_err(io_err)?,
        Outgoing::Whole(b) if b.len() <= WHOLE_UP_TO => {
            // Head and body in one write.
            conn.wbuf.extend_from_slice(b);
            conn.io.write_all(&conn.wbuf).await.map_err(io_err)?;
        }
        Outgoing::Whole(b) => {
            let mut slices = [IoSlice::new(&conn.wbuf), IoSlice::new(b)];
            write_all_vectored(&mut conn.io, &mut slices)
                .await
                .map_err(io_err)?;
        }
        Outgoing::Stream(stream) => write_chunked(conn, stream).await?,
    }
    conn.wbuf.clear();
    Ok(())
}

/// Writes a streamed body in the chunked coding after the head already in `conn.wbuf`. The head
/// and the chunks ready with it go in one write, and so do chunks that are ready together later;
/// each chunk is passed on without waiting for the next.
async fn write_chunked(conn: &mut Conn, stream: &mut BodyStream) -> Result<(), WriteError> {
    loop {
        // Gather what the stream has ready now.
        let mut ended = false;
        while conn.wbuf.len() < WRITE_GATHER {
            match stream.next().now_or_never() {
                None => break,
                Some(None) => {
                    ended = true;
                    break;
                }
                Some(Some(Ok(chunk))) => put_chunk(conn, &chunk).await?,
                Some(Some(Err(e))) => return Err(WriteError::Body(e)),
            }
        }
        if ended {
            conn.wbuf.extend_from_slice(LAST_CHUNK);
        }
        if !conn.wbuf.is_empty() {
            conn.io
                .write_all(&conn.wbuf)
                .await
                .map_err(WriteError::Io)?;
            conn.wbuf.clear();
        }
        if ended {
            return Ok(());
        }
        // Nothing more ready: wait for the next chunk.
        match stream.next().await {
            None => {
                return conn.io.write_all(LAST_CHUNK).await.map_err(WriteError::Io);
            }
            Some(Ok(chunk)) => put_chunk(conn, &chunk).await?,
            Some(Err(e)) => return Err(WriteError::Body(e)),
        }
    }
}

/// Adds one chunk to the pending write; a large one is written at once, without a copy.
async fn put_chunk(conn: &mut Conn, chunk: &Bytes) -> Result<(), WriteError> {
    if chunk.len() <= WRITE_GATHER {
        encode_chunk(&mut conn.wbuf, chunk);
        return Ok(());
    }
    let header = chunk_header(chunk.len());
    let mut slices = [
        IoSlice::new(&conn.wbuf),
        IoSlice::new(header.as_ref()),
        IoSlice::new(chunk),
        IoSlice::new(b"\r\n"),
    ];
    write_all_vectored(&mut conn.io, &mut slices)
        .await
        .map_err(WriteError::Io)?;
    conn.wbuf.clear();
    Ok(())
}

async fn write_all_vectored(io: &mut TcpStream, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        let n = io.write_vectored(slices).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut slices, n);
    }
    Ok(())
}

/// How the response body is delimited (RFC 9112 §6.3).
#[derive(Debug)]
enum Framing {
    /// Exactly this many bytes (0: no body).
    Length(u64),
    Chunked(ChunkedDecoder),
    /// Until the backend closes the connection.
    Close,
}

/// A parsed final response head.
#[derive(Debug)]
struct Head {
    status: u16,
    reason: String,
    headers: HeaderMap,
    framing: Framing,
    /// The connection can carry another request after this response.
    keep_alive: bool,
}

#[derive(Debug)]
enum HeadError {
    /// End of stream or a failure before any byte of the response: the backend closed the
    /// connection without reading the request (a kept-alive connection it timed out).
    ClosedBeforeAnswer(io::Error),
    Io(io::Error),
    Invalid(String),
}

/// What [`parse_head`] found at the front of the buffer.
#[derive(Debug)]
enum Parsed {
    Final(Head),
    /// A 1xx response (other than 101), removed from the buffer.
    Informational,
    /// The head is not complete yet.
    Partial,
}

async fn read_head(conn: &mut Conn, head_request: bool) -> Result<Head, HeadError> {
    let mut answered = !conn.rbuf.is_empty();
    loop {
        if !conn.rbuf.is_empty() {
            match parse_head(&mut conn.rbuf, head_request)? {
                Parsed::Final(head) => return Ok(head),
                Parsed::Informational => continue,
                Parsed::Partial => {}
            }
        }
        match conn.fill().await {
            Ok(0) if !answered => {
                return Err(HeadError::ClosedBeforeAnswer(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed before the response",
                )));
            }
            Ok(0) => {
                return Err(HeadError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed in the middle of the response head",
                )));
            }
            Ok(_) => answered = true,
            Err(e) if !answered => return Err(HeadError::ClosedBeforeAnswer(e)),
            Err(e) => return Err(HeadError::Io(e)),
        }
    }
}

fn invalid(text: impl Into<String>) -> HeadError {
    HeadError::Invalid(text.into())
}

/// Parses a response head at the front of `buf`, removing it once complete.
fn parse_head(buf: &mut BytesMut, head_request: bool) -> Result<Parsed, HeadError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut fields);
    let len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
            return Err(invalid(format!(
                "response head larger than {MAX_HEAD_BYTES} bytes"
            )));
        }
        Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(invalid(format!(
                "response head with more than {MAX_HEADERS} header fields"
            )));
        }
        Err(e) => return Err(invalid(format!("response head: {e}"))),
    };
    if len > MAX_HEAD_BYTES {
        return Err(invalid(format!(
            "response head larger than {MAX_HEAD_BYTES} bytes"
        )));
    }
    let status = parsed.code.unwrap_or(0);
    if !(100..=999).contains(&status) {
        return Err(invalid(format!("invalid status code {status}")));
    }
    if status == 101 {
        return Err(invalid(
            "101 Switching Protocols: upgrades are not supported",
        ));
    }
    if status < 200 {
        buf.advance(len);
        return Ok(Parsed::Informational);
    }
    let http11 = parsed.version == Some(1);
    let reason = match parsed.reason {
        Some(r) if !r.is_empty() => r.to_string(),
        // hyper gave the status's own phrase when the line had none; so does this.
        _ => reason_phrase(status).to_string(),
    };
    let mut headers = HeaderMap::with_capacity(parsed.headers.len());
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut transfer_encoding = false;
    let mut close = false;
    let mut keep_alive = false;
    for field in parsed.headers.iter() {
        let name = field.name;
        // Read as the server side reads a request's: UTF-8, else Latin-1.
        let value = field_text(field.value);
        if value.len() > MAX_HEADER_BYTES {
            return Err(invalid(format!("response header '{name}' too long")));
        }
        if name.eq_ignore_ascii_case("content-length") {
            for part in value.split(',') {
                let n = parse_length(part.trim_matches([' ', '\t']).as_bytes())
                    .ok_or_else(|| invalid(format!("invalid Content-Length '{value}'")))?;
                if length.is_some_and(|l| l != n) {
                    return Err(invalid("conflicting Content-Length values"));
                }
                length = Some(n);
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = true;
            for coding in value.split(',').map(|c| c.trim_matches([' ', '\t'])) {
                // Only `chunked`, once: any other coding would leave the body encoded in a
                // way the header section no longer says (Transfer-Encoding is hop-by-hop).
                if !coding.eq_ignore_ascii_case("chunked") || chunked {
                    return Err(invalid(format!("unsupported Transfer-Encoding '{value}'")));
                }
                chunked = true;
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for option in value.split(',').map(|c| c.trim_matches([' ', '\t'])) {
                close |= option.eq_ignore_ascii_case("close");
                keep_alive |= option.eq_ignore_ascii_case("keep-alive");
            }
        }
        headers.push_parsed_line(name, value);
    }
    let framing = if head_request || status == 204 || status == 304 {
        Framing::Length(0)
    } else if transfer_encoding {
        if length.is_some() {
            return Err(invalid("both Transfer-Encoding and Content-Length"));
        }
        if !chunked {
            return Err(invalid("empty Transfer-Encoding"));
        }
        Framing::Chunked(ChunkedDecoder::new())
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::Close
    };
    let keep_alive = !close && (http11 || keep_alive) && !matches!(framing, Framing::Close);
    buf.advance(len);
    Ok(Parsed::Final(Head {
        status,
        reason,
        headers,
        framing,
        keep_alive,
    }))
}

/// The engine's response: the body whole when it has all arrived with the head, else a stream
/// that owns the connection.
fn response(mut conn: Conn, head: Head) -> Response {
    let Head {
        status,
        reason,
        headers,
        framing,
        keep_alive,
    } = head;
    let body = match framing {
        Framing::Length(0) => {
            if keep_alive {
                release(conn);
            }
            Body::from_bytes(Bytes::new())
        }
        Framing::Length(n) if n <= WHOLE_UP_TO as u64 && conn.rbuf.len() as u64 >= n => {
            // `n` fits the buffer's length, so it fits a usize.
            let whole = conn.rbuf.split_to(n as usize).freeze();
            if keep_alive {
                release(conn);
            }
            Body::from_bytes(whole)
        }
        Framing::Chunked(mut decoder) => {
            let mut arrived = VecDeque::new();
            loop {
                match decoder.decode(&mut conn.rbuf) {
                    Ok(Decoded::Data(b)) => arrived.push_back(b),
                    Ok(Decoded::End) => {
                        if keep_alive {
                            release(conn);
                        }
                        break Body::from_bytes(concat(arrived));
                    }
                    Ok(Decoded::NeedMore) => {
                        break Body::from_stream(Box::pin(IncomingBody {
                            conn: Some(conn),
                            framing: Framing::Chunked(decoder),
                            arrived,
                            keep_alive,
                        }));
                    }
                    Err(e) => {
                        let mut chunks: Vec<_> = arrived.into_iter().map(Ok).collect();
                        chunks.push(Err(BodyError::Transport(format!(
                            "{}: chunked response body: {e}",
                            conn.address()
                        ))));
                        break Body::from_chunks(chunks);
                    }
                }
            }
        }
        framing => Body::from_stream(Box::pin(IncomingBody {
            conn: Some(conn),
            framing,
            arrived: VecDeque::new(),
            keep_alive,
        })),
    };
    Response {
        status,
        reason,
        headers,
        body,
    }
}

/// The pieces as one buffer (no copy for zero or one piece).
fn concat(mut pieces: VecDeque<Bytes>) -> Bytes {
    match pieces.len() {
        0 => Bytes::new(),
        1 => pieces.pop_front().unwrap_or_default(),
        _ => {
            let mut whole = BytesMut::with_capacity(pieces.iter().map(Bytes::len).sum());
            for p in pieces {
                whole.extend_from_slice(&p);
            }
            whole.freeze()
        }
    }
}

/// A response body still arriving. It owns the connection: read to its end it puts the
/// connection back in the pool; dropped before, the connection closes.
struct IncomingBody {
    /// `None` once the body has ended or failed.
    conn: Option<Conn>,
    framing: Framing,
    /// Decoded before the stream was first polled.
    arrived: VecDeque<Bytes>,
    keep_alive: bool,
}

impl IncomingBody {
    fn finish(&mut self) {
        if let Some(conn) = self.conn.take()
            && self.keep_alive
        {
            release(conn);
        }
    }

    fn fail(&mut self, what: impl std::fmt::Display) -> Poll<Option<Result<Bytes, BodyError>>> {
        let address = self.conn.take().map(|c| c.address()).unwrap_or_default();
        Poll::Ready(Some(Err(BodyError::Transport(format!(
            "{address}: {what}"
        )))))
    }
}

impl Stream for IncomingBody {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(b) = this.arrived.pop_front() {
            return Poll::Ready(Some(Ok(b)));
        }
        loop {
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            match &mut this.framing {
                Framing::Length(remaining) => {
                    if *remaining == 0 {
                        this.finish();
                        return Poll::Ready(None);
                    }
                    if !conn.rbuf.is_empty() {
                        let n = usize::try_from(*remaining)
                            .unwrap_or(usize::MAX)
                            .min(conn.rbuf.len());
                        *remaining -= n as u64;
                        let data = conn.rbuf.split_to(n).freeze();
                        if *remaining == 0 {
                            this.finish();
                        }
                        return Poll::Ready(Some(Ok(data)));
                    }
                }
                Framing::Chunked(decoder) => match decoder.decode(&mut conn.rbuf) {
                    Ok(Decoded::Data(b)) => return Poll::Ready(Some(Ok(b))),
                    Ok(Decoded::End) => {
                        this.finish();
                        return Poll::Ready(None);
                    }
                    Ok(Decoded::NeedMore) => {}
                    Err(e) => return this.fail(format_args!("chunked response body: {e}")),
                },
                Framing::Close => {
                    if !conn.rbuf.is_empty() {
                        return Poll::Ready(Some(Ok(conn.rbuf.split().freeze())));
                    }
                }
            }
            match ready!(conn.poll_fill(cx)) {
                Ok(0) if matches!(this.framing, Framing::Close) => {
                    this.conn = None;
                    return Poll::Ready(None);
                }
                Ok(0) => return this.fail("connection closed before the response body ended"),
                Ok(_) => {}
                Err(e) => return this.fail(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apim_engine::http::Url;

    fn head(bytes: &str, head_request: bool) -> Result<Parsed, HeadError> {
        parse_head(&mut BytesMut::from(bytes), head_request)
    }

    fn final_head(bytes: &str) -> Head {
        match head(bytes, false) {
            Ok(Parsed::Final(h)) => h,
            other => panic!("expected a final head, got {other:?}"),
        }
    }

    fn invalid_text(bytes: &str) -> String {
        match head(bytes, false) {
            Err(HeadError::Invalid(t)) => t,
            other => panic!("expected an invalid head, got {other:?}"),
        }
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let h = final_head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
        assert!(matches!(h.framing, Framing::Length(5)) && h.keep_alive);
        let h = final_head("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n");
        assert!(matches!(h.framing, Framing::Length(5)));
        let h = final_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert!(matches!(h.framing, Framing::Chunked(_)) && h.keep_alive);
        let h = final_head("HTTP/1.1 200 OK\r\n\r\n");
        assert!(matches!(h.framing, Framing::Close) && !h.keep_alive);
        let h = final_head("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n");
        assert!(matches!(h.framing, Framing::Length(0)));
        let h = final_head("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert!(matches!(h.framing, Framing::Length(0)));
        match head("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true) {
            Ok(Parsed::Final(h)) => assert!(matches!(h.framing, Framing::Length(0))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn connection_options_decide_reuse() {
        assert!(
            !final_head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                .keep_alive
        );
        assert!(
            !final_head("HTTP/1.1 200 OK\r\nConnection: x, Close\r\nContent-Length: 0\r\n\r\n")
                .keep_alive
        );
        assert!(!final_head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
        assert!(
            final_head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
                .keep_alive
        );
    }

    #[test]
    fn smuggling_shapes_are_refused() {
        assert!(
            invalid_text("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")
                .contains("conflicting")
        );
        assert!(
            invalid_text("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n").contains("conflicting")
        );
        for cl in ["+5", "0x5", "", "5 5", "-1", "99999999999999999999999"] {
            let t = invalid_text(&format!("HTTP/1.1 200 OK\r\nContent-Length: {cl}\r\n\r\n"));
            assert!(t.contains("Content-Length"), "{cl}: {t}");
        }
        assert!(
            invalid_text(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
            )
            .contains("both")
        );
        assert!(
            invalid_text("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
                .contains("Transfer-Encoding")
        );
        assert!(
            invalid_text("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n")
                .contains("Transfer-Encoding")
        );
        assert!(invalid_text("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n").contains("Transfer-Encoding"));
    }

    #[test]
    fn malformed_and_oversize_heads_are_invalid() {
        invalid_text("HTTP/1.1 2x0 OK\r\n\r\n");
        invalid_text("HTTX/1.1 200 OK\r\n\r\n");
        invalid_text("HTTP/1.1 099 Low\r\n\r\n");
        assert!(
            invalid_text("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
                .contains("101")
        );
        let many: String = (0..=MAX_HEADERS).map(|i| format!("x-{i}: v\r\n")).collect();
        assert!(invalid_text(&format!("HTTP/1.1 200 OK\r\n{many}\r\n")).contains("header fields"));
        let long = format!("HTTP/1.1 200 OK\r\nx-big: {}", "a".repeat(MAX_HEAD_BYTES));
        assert!(invalid_text(&long).contains("larger than"));
        assert!(matches!(
            head("HTTP/1.1 200 OK\r\nx-a: b\r\n", false),
            Ok(Parsed::Partial)
        ));
    }

    #[test]
    fn interim_responses_are_skipped_and_reason_and_values_kept() {
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 \r\nX-A: caf\xc3\xa9\r\nX-B: \xff\r\n\r\nrest"[..],
        );
        assert!(matches!(
            parse_head(&mut buf, false),
            Ok(Parsed::Informational)
        ));
        let Ok(Parsed::Final(h)) = parse_head(&mut buf, false) else {
            panic!("final head expected");
        };
        assert_eq!(h.status, 200);
        assert_eq!(h.reason, "OK");
        assert_eq!(h.headers.first("x-a"), Some("café"));
        // Not UTF-8: Latin-1, as the server side reads request headers.
        assert_eq!(h.headers.first("x-b"), Some("\u{ff}"));
        assert_eq!(&buf[..], b"rest");
        let h = final_head("HTTP/1.1 429 Slow Down Please\r\n\r\n");
        assert_eq!(h.reason, "Slow Down Please");
    }

    fn encoded(req: &BackendRequest, body: &Outgoing) -> Result<String, HttpError> {
        let mut dst = BytesMut::new();
        encode_head(&mut dst, &mut String::new(), req, body)?;
        Ok(String::from_utf8(dst.to_vec()).unwrap())
    }

    #[test]
    fn the_head_is_written_from_the_engine_request() {
        let mut req = BackendRequest::new(
            "POST",
            Url::parse("http://backend:8081/a/b?x=1&y=a%20b").unwrap(),
        );
        req.headers.set_one("api-key", "k").unwrap();
        req.headers
            .set("Accept", vec!["a/b".into(), "c/d".into()])
            .unwrap();
        req.headers
            .set("Cookie", vec!["c=1".into(), "d=2".into()])
            .unwrap();
        req.headers.set_one("Connection", "keep-alive").unwrap();
        req.headers.set_one("Transfer-Encoding", "gzip").unwrap();
        assert_eq!(
            encoded(&req, &Outgoing::None).unwrap(),
            "POST /a/b?x=1&y=a%20b HTTP/1.1\r\nHost: backend:8081\r\napi-key: k\r\n\
             Accept: a/b,c/d\r\nCookie: c=1\r\nCookie: d=2\r\nContent-Length: 0\r\n\r\n"
        );
        let get = BackendRequest::new("GET", Url::parse("http://backend/").unwrap());
        assert_eq!(
            encoded(&get, &Outgoing::Whole(Bytes::new())).unwrap(),
            "GET / HTTP/1.1\r\nHost: backend\r\n\r\n"
        );
        assert_eq!(
            encoded(&get, &Outgoing::Whole(Bytes::from_static(b"abc"))).unwrap(),
            "GET / HTTP/1.1\r\nHost: backend\r\nContent-Length: 3\r\n\r\n"
        );
        let stream = Outgoing::Stream(Box::pin(futures_util::stream::empty()));
        assert!(
            encoded(&get, &stream)
                .unwrap()
                .ends_with("Transfer-Encoding: chunked\r\n\r\n")
        );
    }

    #[test]
    fn what_cannot_go_on_the_wire_is_an_invalid_request() {
        let url = Url::parse("http://backend/").unwrap();
        let bad_method = BackendRequest::new("GE T", url.clone());
        assert!(matches!(
            encoded(&bad_method, &Outgoing::None),
            Err(HttpError::InvalidRequest(_))
        ));
        // The engine's HeaderMap refuses such values already; the client checks again what it
        // writes, whatever built the map.
        let line = |name: &str, values: &[&str]| {
            let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            let mut dst = BytesMut::new();
            header_line(&mut dst, name, &values).map(|()| dst)
        };
        for bad in ["a\r\nx-injected: 1", "a\nb", "a\0b", "snow\u{2603}"] {
            assert!(matches!(
                line("x-test", &["ok", bad]),
                Err(HttpError::InvalidRequest(t)) if t.contains("x-test")
            ));
        }
        for bad in ["", "a b", "a:b", "caf\u{e9}"] {
            assert!(matches!(
                line(bad, &["v"]),
                Err(HttpError::InvalidRequest(_))
            ));
        }
        // Latin-1 on the wire, as the host's server writes response headers.
        assert_eq!(
            &line("x-ok", &["v \t\u{e9}"]).unwrap()[..],
            b"x-ok: v \t\xe9\r\n"
        );
    }
}
