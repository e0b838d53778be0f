//! `MockHttp`: scripted backends for tests. Routes match by host, path and body; each route
//! answers with an ordered list of replies (or always the same one), after a latency measured
//! on the engine's clock, or fails with a fault. Every call is recorded.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use parking_lot::Mutex;

use super::Clock;
use super::http_client::{BackendRequest, HttpClient, HttpError};
use crate::http::{Body, BodyError, HeaderMap, Response, Url, reason_phrase};

/// What a mocked backend does instead of answering normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MockFault {
    ConnectionRefused,
    /// Never sends headers (the caller's timeout fires).
    NoResponse,
    Tls,
    InvalidResponse,
    /// Sends the headers and `after_bytes` of the body, then resets the connection.
    ResetMidBody {
        after_bytes: usize,
    },
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct MockReply {
    pub status: u16,
    pub reason: Option<String>,
    pub headers: Vec<(String, String)>,
    /// Body chunks with the delay before each one (streaming); one chunk for a plain body.
    pub chunks: Vec<(Duration, Bytes)>,
    /// Time before the status line and headers.
    pub latency: Duration,
    pub fault: Option<MockFault>,
}

impl MockReply {
    pub fn status(status: u16) -> Self {
        MockReply {
            status,
            reason: None,
            headers: Vec::new(),
            chunks: Vec::new(),
            latency: Duration::ZERO,
            fault: None,
        }
    }
    pub fn json(status: u16, body: &str) -> Self {
        Self::status(status)
            .header("Content-Type", "application/json")
            .body(Bytes::copy_from_slice(body.as_bytes()))
    }
    pub fn fault(f: MockFault) -> Self {
        MockReply {
            fault: Some(f),
            ..Self::status(200)
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub fn body(mut self, b: impl Into<Bytes>) -> Self {
        self.chunks = vec![(Duration::ZERO, b.into())];
        self
    }
    /// Adds a streamed chunk sent `delay` after the previous one.
    pub fn chunk(mut self, delay: Duration, b: impl Into<Bytes>) -> Self {
        self.chunks.push((delay, b.into()));
        self
    }
    pub fn latency(mut self, d: Duration) -> Self {
        self.latency = d;
        self
    }
}

/// Which calls a route answers. Empty fields match anything.
#[derive(Debug, Clone, Default)]
pub struct MockMatch {
    /// Host, or `host:port`, compared case-insensitively.
    pub host: Option<String>,
    pub method: Option<String>,
    /// Exact path, or a prefix when it ends with `*`.
    pub path: Option<String>,
    pub body_contains: Option<String>,
}

impl MockMatch {
    pub fn host(h: &str) -> Self {
        MockMatch {
            host: Some(h.into()),
            ..Default::default()
        }
    }
    pub fn url(url: &str) -> Result<Self, crate::http::UrlError> {
        let u = Url::parse(url)?;
        Ok(MockMatch {
            host: Some(u.host_header()),
            path: Some(u.path().to_string()),
            ..Default::default()
        })
    }
    pub fn with_path(mut self, p: &str) -> Self {
        self.path = Some(p.into());
        self
    }
    pub fn with_method(mut self, m: &str) -> Self {
        self.method = Some(m.into());
        self
    }
    pub fn with_body_containing(mut self, s: &str) -> Self {
        self.body_contains = Some(s.into());
        self
    }

    fn matches(&self, method: &str, url: &Url, body: &[u8]) -> bool {
        if let Some(h) = &self.host {
            if !(h.eq_ignore_ascii_case(url.host()) || h.eq_ignore_ascii_case(&url.host_header())) {
                return false;
            }
        }
        if let Some(m) = &self.method {
            if !m.eq_ignore_ascii_case(method) {
                return false;
            }
        }
        if let Some(p) = &self.path {
            let ok = match p.strip_suffix('*') {
                Some(prefix) => url.path().starts_with(prefix),
                None => url.path() == p,
            };
            if !ok {
                return false;
            }
        }
        if let Some(s) = &self.body_contains {
            if !String::from_utf8_lossy(body).contains(s.as_str()) {
                return false;
            }
        }
        true
    }
}

#[derive(Debug)]
struct Route {
    matcher: MockMatch,
    /// Shared: a reply repeated forever is not copied for each call.
    replies: VecDeque<Arc<MockReply>>,
    /// Repeat the last reply forever instead of running out.
    repeat_last: bool,
}

/// A call the mock received.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    pub method: String,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When the call arrived (engine clock).
    pub at: DateTime<Utc>,
    /// Index of the route that answered; `None` when no route matched.
    pub route: Option<usize>,
    /// The proxy the call was sent through (`proxy` policy).
    pub proxy: Option<super::http_client::ProxyOptions>,
    /// Thumbprint of the client certificate presented (authentication-certificate).
    pub client_certificate: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    routes: Vec<Route>,
    calls: Vec<RecordedCall>,
}

/// Scripted backends. Cloning shares routes and the call log.
#[derive(Debug, Clone)]
pub struct MockHttp {
    clock: Arc<dyn Clock>,
    state: Arc<Mutex<State>>,
}

impl MockHttp {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        MockHttp {
            clock,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// Answers matching calls with `replies` in order; once used up the route no longer matches.
    pub fn sequence(&self, m: MockMatch, replies: Vec<MockReply>) -> usize {
        self.add(m, replies, false)
    }

    /// Answers every matching call with `reply`.
    pub fn always(&self, m: MockMatch, reply: MockReply) -> usize {
        self.add(m, vec![reply], true)
    }

    fn add(&self, matcher: MockMatch, replies: Vec<MockReply>, repeat_last: bool) -> usize {
        let mut s = self.state.lock();
        s.routes.push(Route {
            matcher,
            replies: replies.into_iter().map(Arc::new).collect(),
            repeat_last,
        });
        s.routes.len() - 1
    }

    pub fn calls(&self) -> Vec<RecordedCall> {
        self.state.lock().calls.clone()
    }

    pub fn call_count(&self) -> usize {
        self.state.lock().calls.len()
    }

    /// Calls whose host (or host:port) is `host`.
    pub fn calls_to(&self, host: &str) -> Vec<RecordedCall> {
        self.calls()
            .into_iter()
            .filter(|c| {
                c.url.host().eq_ignore_ascii_case(host)
                    || c.url.host_header().eq_ignore_ascii_case(host)
            })
            .collect()
    }

    pub fn clear_calls(&self) {
        self.state.lock().calls.clear();
    }
}

fn reply_body(
    clock: Arc<dyn Clock>,
    chunks: &[(Duration, Bytes)],
    reset_after: Option<usize>,
) -> Body {
    if reset_after.is_none() && chunks.iter().all(|(d, _)| d.is_zero()) {
        if chunks.is_empty() {
            return Body::none();
        }
        if chunks.len() == 1 {
            return Body::from_bytes(chunks[0].1.clone());
        }
        let all: Vec<u8> = chunks.iter().flat_map(|(_, b)| b.iter().copied()).collect();
        return Body::from_bytes(all);
    }
    let stream = futures_util::stream::unfold(
        (Vec::from(chunks).into_iter(), 0usize, false),
        move |(mut it, sent, done)| {
            let clock = clock.clone();
            async move {
                if done {
                    return None;
                }
                match it.next() {
                    Some((delay, mut b)) => {
                        if !delay.is_zero() {
                            clock.sleep(delay).await;
                        }
                        if let Some(limit) = reset_after {
                            if sent + b.len() > limit {
                                let keep = limit.saturating_sub(sent);
                                if keep == 0 {
                                    return Some((
                                        Err(BodyError::Transport(
                                            "connection reset by peer".into(),
                                        )),
                                        (it, sent, true),
                                    ));
                                }
                                b = b.slice(..keep);
                                return Some((Ok(b), (it, limit, false)));
                            }
                        }
                        let n = sent + b.len();
                        Some((Ok(b), (it, n, false)))
                    }
                    None if reset_after.is_some() => Some((
                        Err(BodyError::Transport("connection reset by peer".into())),
                        (it, sent, true),
                    )),
                    None => None,
                }
            }
        },
    );
    Body::from_stream(Box::pin(stream))
}

impl MockHttp {
    /// Answers `req` from the routes only: `None` when no route matches (the call is recorded
    /// with `route: None`), so a caller can hand it to another backend. A route's fault,
    /// `ConnectionRefused` included, is an answer: `Some(Err(..))`.
    pub fn try_send(
        &self,
        req: BackendRequest,
    ) -> BoxFuture<'static, Option<Result<Response, HttpError>>> {
        let call = self.call(req);
        Box::pin(async move { call.await.ok() })
    }

    /// The answer of the first matching route; `Err("METHOD url")` when no route matches. The
    /// call is recorded either way.
    fn call(
        &self,
        mut req: BackendRequest,
    ) -> impl std::future::Future<Output = Result<Result<Response, HttpError>, String>> + Send + 'static
    {
        let clock = self.clock.clone();
        let state = self.state.clone();
        async move {
            let body = req
                .body
                .take()
                .into_bytes(usize::MAX)
                .await
                .unwrap_or_default();
            let reply = {
                let mut s = state.lock();
                let mut chosen = None;
                for (i, r) in s.routes.iter_mut().enumerate() {
                    if r.replies.is_empty() || !r.matcher.matches(&req.method, &req.url, &body) {
                        continue;
                    }
                    let reply = if r.repeat_last && r.replies.len() == 1 {
                        r.replies[0].clone()
                    } else {
                        match r.replies.pop_front() {
                            Some(x) => x,
                            None => continue,
                        }
                    };
                    chosen = Some((reply, i));
                    break;
                }
                let unanswered = chosen
                    .is_none()
                    .then(|| format!("{} {}", req.method, req.url));
                let call = RecordedCall {
                    method: std::mem::take(&mut req.method),
                    url: req.url.clone(),
                    headers: std::mem::take(&mut req.headers),
                    body,
                    at: clock.now(),
                    route: chosen.as_ref().map(|c| c.1),
                    proxy: req.proxy.take(),
                    client_certificate: req
                        .client_certificate
                        .as_ref()
                        .map(|c| c.thumbprint.clone()),
                };
                s.calls.push(call);
                match (chosen, unanswered) {
                    (Some((r, _)), _) => r,
                    (None, what) => return Err(what.unwrap_or_default()),
                }
            };
            Ok(answer(clock, &reply, &req.url).await)
        }
    }
}

/// The scripted reply, after its latency: a response or its fault.
async fn answer(
    clock: Arc<dyn Clock>,
    reply: &MockReply,
    url: &Url,
) -> Result<Response, HttpError> {
    if !reply.latency.is_zero() {
        clock.sleep(reply.latency).await;
    }
    let reset_after = match &reply.fault {
        Some(MockFault::ConnectionRefused) => {
            return Err(HttpError::ConnectionRefused(format!(
                "connection refused by {}",
                url.host_header()
            )));
        }
        Some(MockFault::NoResponse) => {
            futures_util::future::pending::<()>().await;
            None
        }
        Some(MockFault::Tls) => {
            return Err(HttpError::Tls("the remote certificate is invalid".into()));
        }
        Some(MockFault::InvalidResponse) => {
            return Err(HttpError::InvalidResponse(
                "the server committed a protocol violation".into(),
            ));
        }
        Some(MockFault::ResetMidBody { after_bytes }) => Some(*after_bytes),
        None => None,
    };
    let mut headers = HeaderMap::new();
    for (n, v) in &reply.headers {
        headers
            .push_line(n, v)
            .map_err(|e| HttpError::InvalidResponse(e.to_string()))?;
    }
    Ok(Response {
        status: reply.status,
        reason: reply
            .reason
            .clone()
            .unwrap_or_else(|| reason_phrase(reply.status).to_string()),
        headers,
        body: reply_body(clock, &reply.chunks, reset_after),
    })
}

impl HttpClient for MockHttp {
    /// A call no route matches fails as a refused connection.
    fn send(&self, req: BackendRequest) -> BoxFuture<'static, Result<Response, HttpError>> {
        let call = self.call(req);
        Box::pin(async move {
            call.await.unwrap_or_else(|what| {
                Err(HttpError::ConnectionRefused(format!(
                    "no mocked backend answers {what}"
                )))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::{VirtualClock, send_with_timeout};

    fn setup() -> (VirtualClock, MockHttp) {
        let c = VirtualClock::at_default_start();
        let m = MockHttp::new(Arc::new(c.clone()));
        (c, m)
    }

    fn get(url: &str) -> BackendRequest {
        BackendRequest::new("GET", Url::parse(url).unwrap())
    }

    #[tokio::test]
    async fn ordered_replies_then_fall_through_and_calls_are_recorded() {
        let (c, m) = setup();
        m.sequence(
            MockMatch::host("a.example.com"),
            vec![
                MockReply::status(429).header("Retry-After", "10"),
                MockReply::json(200, "{}"),
            ],
        );
        m.always(MockMatch::host("a.example.com"), MockReply::status(503));
        let r1 = c.run(m.send(get("https://a.example.com/x"))).await.unwrap();
        let r2 = c.run(m.send(get("https://a.example.com/y"))).await.unwrap();
        let r3 = c.run(m.send(get("https://a.example.com/z"))).await.unwrap();
        let r4 = c.run(m.send(get("https://a.example.com/z"))).await.unwrap();
        assert_eq!(
            [r1.status, r2.status, r3.status, r4.status],
            [429, 200, 503, 503]
        );
        assert_eq!(r1.headers.first("retry-after"), Some("10"));
        assert_eq!(r2.body.into_bytes(100).await.unwrap(), "{}");
        let e = c.run(m.send(get("https://other/"))).await.unwrap_err();
        assert!(matches!(e, HttpError::ConnectionRefused(_)));
        let calls = m.calls();
        assert_eq!(calls.len(), 5);
        assert_eq!(calls[1].url.path(), "/y");
        assert_eq!(calls[4].route, None);
        assert_eq!(m.calls_to("a.example.com").len(), 4);
    }

    #[tokio::test]
    async fn routes_by_path_and_body() {
        let (c, m) = setup();
        m.always(
            MockMatch::host("h")
                .with_path("/chat/*")
                .with_body_containing("\"stream\":true"),
            MockReply::status(201),
        );
        m.always(
            MockMatch::host("h").with_path("/chat/*"),
            MockReply::status(200),
        );
        let mut streaming = get("http://h/chat/completions");
        streaming.body = Body::from("{\"stream\":true}");
        assert_eq!(c.run(m.send(streaming)).await.unwrap().status, 201);
        assert_eq!(
            c.run(m.send(get("http://h/chat/completions")))
                .await
                .unwrap()
                .status,
            200
        );
        assert!(c.run(m.send(get("http://h/other"))).await.is_err());
    }

    #[tokio::test]
    async fn latency_runs_on_the_virtual_clock_and_times_out() {
        let (c, m) = setup();
        m.always(
            MockMatch::host("slow"),
            MockReply::status(200).latency(Duration::from_secs(5)),
        );
        m.always(
            MockMatch::host("hang"),
            MockReply::fault(MockFault::NoResponse),
        );
        let ok = c
            .run(send_with_timeout(
                &m,
                &c,
                get("http://slow/"),
                Duration::from_secs(10),
            ))
            .await;
        assert_eq!(ok.unwrap().status, 200);
        assert_eq!(c.monotonic(), Duration::from_secs(5));
        let late = c
            .run(send_with_timeout(
                &m,
                &c,
                get("http://slow/"),
                Duration::from_secs(2),
            ))
            .await;
        assert_eq!(late.unwrap_err(), HttpError::Timeout);
        let hang = c
            .run(send_with_timeout(
                &m,
                &c,
                get("http://hang/"),
                Duration::from_secs(300),
            ))
            .await;
        assert_eq!(hang.unwrap_err(), HttpError::Timeout);
    }

    #[tokio::test]
    async fn faults_and_streams() {
        let (c, m) = setup();
        m.always(
            MockMatch::host("refuse"),
            MockReply::fault(MockFault::ConnectionRefused),
        );
        m.always(MockMatch::host("tls"), MockReply::fault(MockFault::Tls));
        m.always(
            MockMatch::host("reset"),
            MockReply {
                fault: Some(MockFault::ResetMidBody { after_bytes: 3 }),
                ..MockReply::status(200).body("hello")
            },
        );
        m.always(
            MockMatch::host("sse"),
            MockReply::status(200)
                .chunk(Duration::from_millis(100), "data: 1\n\n")
                .chunk(Duration::from_millis(100), "data: 2\n\n"),
        );
        assert!(matches!(
            c.run(m.send(get("http://refuse/"))).await,
            Err(HttpError::ConnectionRefused(_))
        ));
        assert!(matches!(
            c.run(m.send(get("http://tls/"))).await,
            Err(HttpError::Tls(_))
        ));
        let r = c.run(m.send(get("http://reset/"))).await.unwrap();
        let e = c.run(r.body.into_bytes(100)).await.unwrap_err();
        assert!(matches!(e, BodyError::Transport(_)));
        let s = c.run(m.send(get("http://sse/"))).await.unwrap();
        assert!(s.body.is_stream());
        let before = c.monotonic();
        let all = c.run(s.body.into_bytes(100)).await.unwrap();
        assert_eq!(all, "data: 1\n\ndata: 2\n\n");
        assert_eq!(c.monotonic() - before, Duration::from_millis(200));
    }

    #[tokio::test]
    async fn try_send_tells_no_route_from_a_mocked_refusal() {
        let (c, m) = setup();
        m.always(
            MockMatch::host("refuse"),
            MockReply::fault(MockFault::ConnectionRefused),
        );
        m.sequence(MockMatch::host("once"), vec![MockReply::status(201)]);
        // A mocked refusal is an answer.
        assert!(matches!(
            c.run(m.try_send(get("http://refuse/"))).await,
            Some(Err(HttpError::ConnectionRefused(_)))
        ));
        let first = c.run(m.try_send(get("http://once/"))).await;
        assert_eq!(first.map(|r| r.map(|r| r.status)), Some(Ok(201)));
        // The route is used up, and no route serves `other`: no answer, but the calls are logged.
        assert!(c.run(m.try_send(get("http://once/"))).await.is_none());
        assert!(c.run(m.try_send(get("http://other/"))).await.is_none());
        let routes: Vec<Option<usize>> = m.calls().iter().map(|c| c.route).collect();
        assert_eq!(routes, vec![Some(0), Some(1), None, None]);
        // `send` turns no answer into a refused connection naming the call.
        match c.run(m.send(get("http://other/x"))).await {
            Err(HttpError::ConnectionRefused(msg)) => {
                assert_eq!(msg, "no mocked backend answers GET http://other/x")
            }
            r => panic!("{r:?}"),
        }
    }
}
