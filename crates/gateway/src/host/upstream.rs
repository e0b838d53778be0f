//! forward-request's transport for plain `http://` backends: the host's own HTTP/1.1 client
//! ([`super::h1::client`]) with a pool of kept-alive connections per thread. Each worker thread
//! of the host runs its own runtime, so a connection, its pool slot and the requests on it stay
//! on one thread: no locks, no wake-ups across threads. Every other call (https, a `proxy`
//! policy, a client certificate, HTTP/2, redirects followed) goes to the fallback client
//! (reqwest).

use std::fmt;
use std::sync::Arc;

use apim_engine::http::Response;
use apim_engine::services::{BackendRequest, HttpClient, HttpError, HttpVersion};
use futures_util::future::BoxFuture;

/// Plain-HTTP/1.1 backend calls on pooled connections; everything else to `fallback`.
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
        Box::pin(super::h1::client::send(req))
    }
}
