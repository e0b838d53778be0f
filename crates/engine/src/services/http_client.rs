//! Backend calls as a service: the `HttpClient` trait, its reqwest implementation, and the
//! timeout rule (status line and headers within the timeout, on the engine's clock).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use futures_util::future::{BoxFuture, Either};
use parking_lot::Mutex;

use super::Clock;
use crate::http::{Body, BodyError, HeaderMap, Response, Url, reason_phrase};

/// `forward-request http-version`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum HttpVersion {
    #[default]
    Http1,
    Http2,
    /// `2or1`: HTTP/2 when the backend offers it, else HTTP/1.1.
    Http2Or1,
}

/// TLS checks for a backend (backend entity `tls` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlsOptions {
    pub validate_certificate_chain: bool,
    pub validate_certificate_name: bool,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            validate_certificate_chain: true,
            validate_certificate_name: true,
        }
    }
}

/// The `proxy` policy: an HTTP proxy the call goes through, with Basic credentials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProxyOptions {
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// A client certificate presented in the TLS handshake (authentication-certificate).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// SHA-1 of the certificate's DER, upper-case hex (APIM's thumbprint).
    pub thumbprint: String,
    /// The certificate, its chain and its private key, PEM.
    pem: Vec<u8>,
    /// The certificate alone, PEM (its public key verifies tokens: validate-jwt).
    certificate: String,
    /// Only a certificate with its key can be presented to a backend.
    pub has_private_key: bool,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key is never printed.
        f.debug_struct("ClientCertificate")
            .field("thumbprint", &self.thumbprint)
            .finish()
    }
}

impl ClientCertificate {
    /// Reads PEM text holding a certificate and (for client authentication) its private key.
    pub fn from_pem(text: &str) -> Result<Self, String> {
        use sha1::Digest;
        let blocks = pem::parse_many(text.as_bytes()).map_err(|e| format!("not PEM: {e}"))?;
        let cert = blocks
            .iter()
            .find(|b| b.tag() == "CERTIFICATE")
            .ok_or("no CERTIFICATE block")?;
        let has_private_key = blocks.iter().any(|b| b.tag().ends_with("PRIVATE KEY"));
        let thumbprint = sha1::Sha1::digest(cert.contents())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        Ok(ClientCertificate {
            thumbprint,
            certificate: pem::encode(cert),
            pem: text.as_bytes().to_vec(),
            has_private_key,
        })
    }

    /// Reads PKCS#12 (PFX) bytes: the first certificate with its private key, and its chain.
    /// A wrong password, bytes that are not PKCS#12, or no private key: an error.
    pub fn from_pkcs12(data: &[u8], password: &str) -> Result<Self, String> {
        use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
        let store = KeyStore::from_pkcs12(data, password, Pkcs12ImportPolicy::Strict).map_err(
            |e| match e {
                p12_keystore::error::Error::MacError(_) => {
                    "the password is not correct".to_string()
                }
                other => format!("not a PKCS#12 certificate ({other})"),
            },
        )?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or("it holds no certificate with its private key")?;
        if chain.certs().is_empty() {
            return Err("it holds no certificate for its private key".into());
        }
        // Leaf first, then its issuers; the key as PKCS#8.
        let mut blocks: Vec<pem::Pem> = chain
            .certs()
            .iter()
            .map(|c| pem::Pem::new("CERTIFICATE", c.as_der().to_vec()))
            .collect();
        blocks.push(pem::Pem::new("PRIVATE KEY", chain.key().as_der().to_vec()));
        Self::from_pem(&pem::encode_many(&blocks))
    }

    /// The certificate alone, PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate
    }
}

/// One outgoing call (forward-request, send-request, send-one-way-request).
#[derive(Debug)]
pub struct BackendRequest {
    pub method: String,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Body,
    pub follow_redirects: bool,
    pub http_version: HttpVersion,
    pub tls: TlsOptions,
    /// Through this HTTP proxy (`proxy` policy); `None`: directly.
    pub proxy: Option<ProxyOptions>,
    /// Presented to the backend (authentication-certificate).
    pub client_certificate: Option<Arc<ClientCertificate>>,
}

impl BackendRequest {
    pub fn new(method: impl Into<String>, url: Url) -> Self {
        BackendRequest {
            method: method.into(),
            url,
            headers: HeaderMap::new(),
            body: Body::none(),
            follow_redirects: false,
            http_version: HttpVersion::Http1,
            tls: TlsOptions::default(),
            proxy: None,
            client_certificate: None,
        }
    }
}

/// Why a backend call failed before a response arrived. A reset after the headers arrives as a
/// [`BodyError::Transport`] from the response body stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("Unable to connect to the remote server: {0}")]
    ConnectionRefused(String),
    #[error("Request to the backend service timed out")]
    Timeout,
    #[error("The SSL connection could not be established: {0}")]
    Tls(String),
    #[error("The server returned an invalid or unrecognized response: {0}")]
    InvalidResponse(String),
    #[error("The connection was closed before a response was received: {0}")]
    ConnectionReset(String),
    #[error("The request was not valid: {0}")]
    InvalidRequest(String),
}

impl HttpError {
    /// `context.LastError.Reason` for this failure.
    pub fn reason(&self) -> &'static str {
        match self {
            HttpError::Timeout => "Timeout",
            _ => "BackendConnectionFailure",
        }
    }
}

pub trait HttpClient: Send + Sync + std::fmt::Debug {
    /// Sends the request; resolves when the status line and headers are in. The body streams.
    fn send(&self, req: BackendRequest) -> BoxFuture<'static, Result<Response, HttpError>>;
}

/// Sends with APIM's timeout rule: status line and headers must arrive within `timeout`
/// measured on `clock` (so a virtual clock times mocked backends out deterministically).
///
/// The request is handed to `http` at once; the future holds only the call and its timer (it
/// is part of every forward-request's future, so its size counts).
pub fn send_with_timeout<'c>(
    http: &dyn HttpClient,
    clock: &'c dyn Clock,
    req: BackendRequest,
    timeout: Duration,
) -> impl std::future::Future<Output = Result<Response, HttpError>> + Send + 'c {
    let mut call = http.send(req);
    async move {
        if clock.is_tokio_wall_clock() {
            // tokio's own timeout: no boxed timer, and no timer at all for an answer that is
            // ready at once.
            return tokio::time::timeout(timeout, call)
                .await
                .unwrap_or(Err(HttpError::Timeout));
        }
        // An in-process backend (a mock) usually answers at once: no timer for it. The timer
        // starts after that first poll: other clocks (the virtual one) do not move during a
        // poll.
        let first = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(std::future::Future::poll(call.as_mut(), cx))
        })
        .await;
        if let std::task::Poll::Ready(r) = first {
            return r;
        }
        let timer = clock.sleep(timeout);
        match futures_util::future::select(call, timer).await {
            Either::Left((r, _)) => r,
            Either::Right(_) => Err(HttpError::Timeout),
        }
    }
}

/// Hop-by-hop headers the client library manages itself.
const SKIP_REQUEST_HEADERS: &[&str] = &[
    "Connection",
    "Keep-Alive",
    "Transfer-Encoding",
    "Content-Length",
    "Upgrade",
    "TE",
    "Proxy-Connection",
];

type ClientKey = (
    bool,
    bool,
    HttpVersion,
    Option<ProxyOptions>,
    Option<String>,
);

/// Real backend calls through reqwest with rustls.
#[derive(Debug, Default)]
pub struct ReqwestClient {
    clients: Mutex<HashMap<ClientKey, reqwest::Client>>,
}

impl ReqwestClient {
    pub fn new() -> Self {
        Self::default()
    }

    fn client(&self, req: &BackendRequest) -> Result<reqwest::Client, HttpError> {
        let insecure = !(req.tls.validate_certificate_chain && req.tls.validate_certificate_name);
        let key = (
            insecure,
            req.follow_redirects,
            req.http_version,
            req.proxy.clone(),
            req.client_certificate
                .as_ref()
                .map(|c| c.thumbprint.clone()),
        );
        let mut map = self.clients.lock();
        if let Some(c) = map.get(&key) {
            return Ok(c.clone());
        }
        let mut b = reqwest::Client::builder()
            .danger_accept_invalid_certs(insecure)
            .redirect(if req.follow_redirects {
                reqwest::redirect::Policy::limited(10)
            } else {
                reqwest::redirect::Policy::none()
            });
        b = match &req.proxy {
            // Environment proxies never apply: only the policy's.
            None => b.no_proxy(),
            Some(p) => {
                let mut proxy = reqwest::Proxy::all(&p.url)
                    .map_err(|e| HttpError::InvalidRequest(format!("proxy '{}': {e}", p.url)))?;
                if let Some(user) = &p.username {
                    proxy = proxy.basic_auth(user, p.password.as_deref().unwrap_or(""));
                }
                b.proxy(proxy)
            }
        };
        if let Some(cert) = &req.client_certificate {
            if !cert.has_private_key {
                return Err(HttpError::Tls(
                    "the client certificate has no private key".into(),
                ));
            }
            let identity = reqwest::Identity::from_pem(&cert.pem)
                .map_err(|e| HttpError::Tls(format!("client certificate: {}", error_chain(&e))))?;
            b = b.identity(identity);
        }
        b = match req.http_version {
            HttpVersion::Http1 => b.http1_only(),
            HttpVersion::Http2 => b.http2_prior_knowledge(),
            HttpVersion::Http2Or1 => b,
        };
        let c = b
            .build()
            .map_err(|e| HttpError::InvalidRequest(e.to_string()))?;
        map.insert(key, c.clone());
        Ok(c)
    }
}

/// An error and its sources, `: `-separated (what a backend failure message says).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

fn classify(e: reqwest::Error) -> HttpError {
    let text = error_chain(&e);
    let lower = text.to_ascii_lowercase();
    if e.is_timeout() {
        HttpError::Timeout
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        HttpError::Tls(text)
    } else if e.is_connect() {
        HttpError::ConnectionRefused(text)
    } else if e.is_builder() || e.is_request() && lower.contains("builder") {
        HttpError::InvalidRequest(text)
    } else if lower.contains("invalid") || lower.contains("parse") || e.is_decode() {
        HttpError::InvalidResponse(text)
    } else {
        HttpError::ConnectionReset(text)
    }
}

impl HttpClient for ReqwestClient {
    fn send(&self, mut req: BackendRequest) -> BoxFuture<'static, Result<Response, HttpError>> {
        let client = self.client(&req);
        Box::pin(async move {
            let client = client?;
            let method = reqwest::Method::from_bytes(req.method.as_bytes()).map_err(|_| {
                HttpError::InvalidRequest(format!("invalid method '{}'", req.method))
            })?;
            let mut rb = client.request(method, req.url.to_string());
            for (name, value) in req.headers.wire_lines() {
                if SKIP_REQUEST_HEADERS
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(&name))
                {
                    continue;
                }
                rb = rb.header(name, value);
            }
            let body = req.body.take();
            if body.is_present() {
                rb = match body.len_hint() {
                    Some(_) => rb.body(body.into_bytes(usize::MAX).await.unwrap_or_default()),
                    None => rb.body(reqwest::Body::wrap_stream(body.into_stream())),
                };
            }
            let resp = rb.send().await.map_err(classify)?;
            let status = resp.status().as_u16();
            let reason = resp
                .status()
                .canonical_reason()
                .unwrap_or_else(|| reason_phrase(status))
                .to_string();
            let mut headers = HeaderMap::new();
            for (n, v) in resp.headers() {
                let value = String::from_utf8_lossy(v.as_bytes());
                headers.push_line(n.as_str(), &value).map_err(|e| {
                    HttpError::InvalidResponse(format!("invalid header from backend: {e}"))
                })?;
            }
            let stream = resp
                .bytes_stream()
                .map_err(|e| BodyError::Transport(error_chain(&e)));
            Ok(Response {
                status,
                reason,
                headers,
                body: Body::from_stream(Box::pin(stream)),
            })
        })
    }
}

impl From<BodyError> for HttpError {
    fn from(e: BodyError) -> Self {
        HttpError::ConnectionReset(e.to_string())
    }
}

/// Shared pointer to an HTTP service.
pub type SharedHttp = Arc<dyn HttpClient>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::VirtualClock;

    #[tokio::test]
    async fn reqwest_reports_connection_refused() {
        // Bind then drop a listener so the port is closed.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let c = ReqwestClient::new();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap();
        let e = c.send(BackendRequest::new("GET", url)).await.unwrap_err();
        assert!(matches!(e, HttpError::ConnectionRefused(_)), "{e:?}");
        assert_eq!(e.reason(), "BackendConnectionFailure");
    }

    #[tokio::test]
    async fn reqwest_round_trip_against_a_local_server() {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap();
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            s.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: 1\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello").unwrap();
            req
        });
        let c = ReqwestClient::new();
        let mut req = BackendRequest::new(
            "POST",
            Url::parse(&format!("http://127.0.0.1:{port}/p?q=1")).unwrap(),
        );
        req.headers
            .set("X-Multi", vec!["a".into(), "b".into()])
            .unwrap();
        req.body = Body::from("body!");
        let resp = c.send(req).await.unwrap();
        assert_eq!((resp.status, resp.reason.as_str()), (201, "Created"));
        assert_eq!(resp.headers.get("set-cookie").unwrap(), ["a=1", "b=2"]);
        assert_eq!(resp.body.into_bytes(1024).await.unwrap(), "hello");
        let seen = server.join().unwrap();
        assert!(seen.starts_with("POST /p?q=1 HTTP/1.1\r\n"), "{seen}");
        assert!(
            seen.to_ascii_lowercase().contains("x-multi: a,b\r\n"),
            "{seen}"
        );
        assert!(seen.ends_with("body!"), "{seen}");
    }

    #[tokio::test]
    async fn reqwest_sends_through_the_policy_proxy_with_basic_credentials() {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let proxy = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
            String::from_utf8_lossy(&buf[..n]).to_string()
        });
        let c = ReqwestClient::new();
        let mut req = BackendRequest::new(
            "GET",
            Url::parse("http://backend.invalid/items?x=1").unwrap(),
        );
        req.proxy = Some(ProxyOptions {
            url: format!("http://127.0.0.1:{port}"),
            username: Some("user".into()),
            password: Some("pa:ss".into()),
        });
        let resp = c.send(req).await.unwrap();
        assert_eq!(resp.status, 200);
        let seen = proxy.join().unwrap();
        // A proxied HTTP request carries the absolute URL and the proxy's credentials.
        assert!(
            seen.starts_with("GET http://backend.invalid/items?x=1 HTTP/1.1\r\n"),
            "{seen}"
        );
        assert!(
            seen.to_ascii_lowercase()
                .contains("proxy-authorization: basic dxnlcjpwytpzcw==\r\n"),
            "{seen}"
        );
    }

    #[test]
    fn client_certificates_get_their_thumbprint_and_build_a_tls_identity() {
        let pem = include_str!("../../tests/fixtures/client-cert.pem");
        let cert = ClientCertificate::from_pem(pem).unwrap();
        assert_eq!(cert.thumbprint, "354C3151E0BA044E589A1DA5320D3F93B7EA3884");
        assert!(!format!("{cert:?}").contains("PRIVATE"));
        let mut req = BackendRequest::new("GET", Url::parse("https://backend.invalid/").unwrap());
        req.client_certificate = Some(Arc::new(cert));
        assert!(ReqwestClient::new().client(&req).is_ok());
        let only_cert = pem.split("-----BEGIN PRIVATE KEY-----").next().unwrap();
        let public = ClientCertificate::from_pem(only_cert).unwrap();
        assert!(!public.has_private_key);
        assert!(
            public
                .certificate_pem()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        req.client_certificate = Some(Arc::new(public));
        assert!(matches!(
            ReqwestClient::new().client(&req),
            Err(HttpError::Tls(_))
        ));
        assert!(ClientCertificate::from_pem("hello").is_err());
    }

    #[test]
    fn a_pkcs12_certificate_builds_a_tls_identity() {
        let b64 = include_str!("../../tests/fixtures/client-cert.pfx.b64").trim();
        // The pem crate decodes the base64 (any label).
        let bytes = pem::parse(format!(
            "-----BEGIN PKCS12-----\n{b64}\n-----END PKCS12-----\n"
        ))
        .unwrap()
        .into_contents();
        let cert = ClientCertificate::from_pkcs12(&bytes, "pfx-s3cret").unwrap();
        assert_eq!(cert.thumbprint, "20201BC4ABCF4E31496A9B229F2FB33882C48C44");
        assert!(cert.has_private_key);
        let mut req = BackendRequest::new("GET", Url::parse("https://backend.invalid/").unwrap());
        req.client_certificate = Some(Arc::new(cert));
        assert!(ReqwestClient::new().client(&req).is_ok());
        assert_eq!(
            ClientCertificate::from_pkcs12(&bytes, "wrong").unwrap_err(),
            "the password is not correct"
        );
    }

    #[derive(Debug)]
    struct Never;
    impl HttpClient for Never {
        fn send(&self, _req: BackendRequest) -> BoxFuture<'static, Result<Response, HttpError>> {
            Box::pin(futures_util::future::pending())
        }
    }

    #[tokio::test]
    async fn timeout_is_measured_on_the_engine_clock() {
        let clock = VirtualClock::at_default_start();
        let req = BackendRequest::new("GET", Url::parse("http://h/").unwrap());
        let r = clock
            .run(send_with_timeout(
                &Never,
                &clock,
                req,
                Duration::from_secs(300),
            ))
            .await;
        assert_eq!(r.unwrap_err(), HttpError::Timeout);
        assert_eq!(clock.monotonic(), Duration::from_secs(300));
    }
}
