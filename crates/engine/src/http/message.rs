//! Requests and responses as the pipeline sees them.

use super::{Body, HeaderMap, Url};

/// A request: the client's (then the backend request, as policies change it).
#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// `context.Request.Url`: where the request will be sent.
    pub url: Url,
    /// `context.Request.OriginalUrl`: what the client sent to the gateway.
    pub original_url: Url,
    pub headers: HeaderMap,
    pub body: Body,
    /// `context.Request.IpAddress`.
    pub ip_address: String,
}

impl Request {
    pub fn new(method: impl Into<String>, url: Url) -> Self {
        Request {
            method: method.into(),
            original_url: url.clone(),
            url,
            headers: HeaderMap::new(),
            body: Body::none(),
            ip_address: "127.0.0.1".into(),
        }
    }

    /// A copy with a buffered (or absent) body; `None` when the body is an unbuffered stream.
    pub fn try_clone(&self) -> Option<Request> {
        Some(Request {
            method: self.method.clone(),
            url: self.url.clone(),
            original_url: self.original_url.clone(),
            headers: self.headers.clone(),
            body: self.body.try_clone()?,
            ip_address: self.ip_address.clone(),
        })
    }
}

/// A response: `context.Response`, or what a backend returned.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// `StatusReason`.
    pub reason: String,
    pub headers: HeaderMap,
    pub body: Body,
}

impl Default for Response {
    /// The response before any backend call: 200 OK, no headers, no body.
    fn default() -> Self {
        Response::new(200)
    }
}

impl Response {
    pub fn new(status: u16) -> Self {
        Response {
            status,
            reason: reason_phrase(status).to_string(),
            headers: HeaderMap::new(),
            body: Body::none(),
        }
    }

    pub fn try_clone(&self) -> Option<Response> {
        Some(Response {
            status: self.status,
            reason: self.reason.clone(),
            headers: self.headers.clone(),
            body: self.body.try_clone()?,
        })
    }
}

/// The reason phrase .NET's `HttpStatusCode` gives a status (empty when unknown).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Entity",
        423 => "Locked",
        424 => "Failed Dependency",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_response_is_empty_200_ok() {
        let r = Response::default();
        assert_eq!((r.status, r.reason.as_str()), (200, "OK"));
        assert!(!r.body.is_present() && r.headers.is_empty());
        assert_eq!(reason_phrase(429), "Too Many Requests");
        assert_eq!(reason_phrase(799), "");
    }

    #[test]
    fn clone_needs_a_buffered_body() {
        let mut r = Request::new("POST", Url::parse("http://h/x").unwrap());
        r.body = Body::from("a");
        assert!(r.try_clone().is_some());
        r.body = Body::from_chunks(vec![]);
        assert!(r.try_clone().is_none());
    }
}
