//! `IUrl`: scheme, host, port, path, query (ordered multi-map) and APIM's URL composition
//! (API service URL + operation path + query; `set-backend-service base-url` replacing the base).

use std::fmt;

/// Longest URL accepted, against hostile input.
pub const MAX_URL_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("URL is empty")]
    Empty,
    #[error("URL is longer than {MAX_URL_BYTES} bytes")]
    TooLong,
    #[error("URL '{0}' has no scheme (expected http:// or https://)")]
    MissingScheme(String),
    #[error("URL '{0}' has an invalid scheme")]
    InvalidScheme(String),
    #[error("URL '{0}' has no host")]
    MissingHost(String),
    #[error("URL '{0}' has an invalid host")]
    InvalidHost(String),
    #[error("URL '{0}' has an invalid port")]
    InvalidPort(String),
    #[error("URL '{0}' contains a character that is not allowed")]
    InvalidCharacter(String),
    #[error("request target '{0}' is not a valid path")]
    InvalidPath(String),
}

fn shorten(s: &str) -> String {
    if s.len() <= 200 {
        return s.to_string();
    }
    let mut end = 200;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// Decodes `%XX` sequences (and `+` as space when `plus_is_space`); invalid sequences stay as
/// they are, invalid UTF-8 becomes U+FFFD.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    // Valid UTF-8 (the usual case) keeps its buffer; only invalid bytes pay for a copy.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Characters kept as-is in a query name or value; everything else is `%XX`-encoded (UTF-8).
fn query_keep(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~!$'()*,;:@/?".contains(&c)
}

/// Characters kept in a path segment.
fn path_keep(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&c)
}

fn encode_with(s: &str, keep: fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    encode_into(&mut out, s, keep);
    out
}

fn encode_into(out: &mut String, s: &str, keep: fn(u8) -> bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &c in s.as_bytes() {
        if keep(c) {
            out.push(c as char);
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(c >> 4)]));
            out.push(char::from(HEX[usize::from(c & 0xf)]));
        }
    }
}

/// Encodes a query-string name or value.
pub fn encode_query_component(s: &str) -> String {
    encode_with(s, query_keep)
}

/// Encodes one path segment (a `/` inside is encoded).
pub fn encode_path_segment(s: &str) -> String {
    encode_with(s, path_keep)
}

type QueryEntry = (String, Vec<String>);

/// Ordered multi-map of query parameters with case-insensitive names; values are decoded.
#[derive(Clone, Default)]
pub struct QueryMap {
    /// Shared until changed: a URL composed from the request's URL (every backend call) and
    /// copies of it do not copy the query. `None`: empty.
    entries: Option<std::sync::Arc<Vec<QueryEntry>>>,
}

impl fmt::Debug for QueryMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryMap")
            .field("entries", &self.entries())
            .finish()
    }
}

impl PartialEq for QueryMap {
    fn eq(&self, o: &Self) -> bool {
        self.entries() == o.entries()
    }
}
impl Eq for QueryMap {}

impl QueryMap {
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> &[QueryEntry] {
        self.entries.as_deref().map_or(&[], Vec::as_slice)
    }

    fn entries_mut(&mut self) -> &mut Vec<QueryEntry> {
        std::sync::Arc::make_mut(self.entries.get_or_insert_with(Default::default))
    }

    /// Parses a query string (with or without the leading `?`).
    pub fn parse(query: &str) -> Self {
        let mut m = QueryMap::new();
        let q = query.strip_prefix('?').unwrap_or(query);
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (n, v) = match pair.split_once('=') {
                Some((n, v)) => (n, v),
                None => (pair, ""),
            };
            m.append(&percent_decode(n, true), vec![percent_decode(v, true)]);
        }
        m
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.entries()
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.position(name).map(|i| self.entries()[i].1.as_slice())
    }

    /// Values joined with `,` (`Query.GetValueOrDefault`).
    pub fn get_joined(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| v.join(","))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    pub fn set(&mut self, name: &str, values: Vec<String>) {
        match self.position(name) {
            Some(i) => self.entries_mut()[i].1 = values,
            None => self.entries_mut().push((name.to_string(), values)),
        }
    }

    pub fn append(&mut self, name: &str, values: Vec<String>) {
        match self.position(name) {
            Some(i) => self.entries_mut()[i].1.extend(values),
            None => self.entries_mut().push((name.to_string(), values)),
        }
    }

    pub fn set_if_absent(&mut self, name: &str, values: Vec<String>) -> bool {
        if self.contains(name) {
            return false;
        }
        self.set(name, values);
        true
    }

    pub fn remove(&mut self, name: &str) -> Option<Vec<String>> {
        let i = self.position(name)?;
        Some(self.entries_mut().remove(i).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// Encoded form without `?`; several values give repeated `name=v` pairs.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        self.encode_into(&mut out);
        out
    }

    /// [`QueryMap::encode`] appended to `out`.
    pub fn encode_into(&self, out: &mut String) {
        let mut first = true;
        for (n, vs) in self.entries() {
            for v in vs {
                if !first {
                    out.push('&');
                }
                first = false;
                encode_into(out, n, query_keep);
                out.push('=');
                encode_into(out, v, query_keep);
            }
        }
    }
}

impl QueryMap {
    /// set-query-parameter: `exists-action` on this map.
    pub fn apply(&mut self, name: &str, action: super::ExistsAction, values: Vec<String>) {
        match action {
            super::ExistsAction::Override => self.set(name, values),
            super::ExistsAction::Skip => {
                self.set_if_absent(name, values);
            }
            super::ExistsAction::Append => self.append(name, values),
            super::ExistsAction::Delete => {
                self.remove(name);
            }
        }
    }

    /// `IMessageBody.AsFormUrlEncodedContent()`: parses `application/x-www-form-urlencoded` text.
    pub fn parse_form(body: &str) -> Self {
        QueryMap::parse(body)
    }

    /// `ToQueryString()` of a form: `?a=b...`, or `None` when empty.
    pub fn to_query_string(&self) -> Option<String> {
        let q = self.encode();
        (!q.is_empty()).then(|| format!("?{q}"))
    }
}

/// An absolute URL as APIM's `IUrl` exposes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `http` and `https` are static: cloning a URL does not copy them.
    scheme: std::borrow::Cow<'static, str>,
    /// Shared: URLs composed from a base (every backend call) share its host.
    host: std::sync::Arc<str>,
    port: u16,
    /// Encoded path, always starting with `/`. Shared: copies of a URL, and a backend URL
    /// whose path did not change with its base, do not copy it.
    path: std::sync::Arc<str>,
    query: QueryMap,
}

thread_local! {
    /// Where composed paths are written before they are shared (one allocation per path).
    static PATH_BUFFER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    static ROOT_PATH: std::sync::Arc<str> = std::sync::Arc::from("/");
}

/// `/`, shared.
fn root_path() -> std::sync::Arc<str> {
    ROOT_PATH.with(std::sync::Arc::clone)
}

/// `base`'s path followed by `rest_path` (APIM's composition), written to `out`.
fn compose_path(out: &mut String, base: &Url, rest_path: &str) -> Result<(), UrlError> {
    let rest = rest_path.trim_start_matches('/');
    if !valid_path(rest) {
        return Err(UrlError::InvalidPath(shorten(rest_path)));
    }
    let base_path = base.path.trim_end_matches('/');
    out.clear();
    if base_path.is_empty() || !base_path.starts_with('/') {
        out.push('/');
    }
    out.push_str(base_path);
    if !(rest.is_empty() && rest_path.is_empty() && !base_path.is_empty()) {
        if !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(rest);
    }
    Ok(())
}

/// A lower-case scheme, without an allocation for the usual ones.
fn scheme_of(lower: &str) -> std::borrow::Cow<'static, str> {
    match lower {
        "https" => std::borrow::Cow::Borrowed("https"),
        "http" => std::borrow::Cow::Borrowed("http"),
        other => std::borrow::Cow::Owned(other.to_string()),
    }
}

pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

fn valid_path(p: &str) -> bool {
    p.bytes()
        .all(|b| b > 0x20 && b != 0x7f && b != b'#' && b != b'?' && b.is_ascii())
}

impl Url {
    /// Parses an absolute URL. The fragment is dropped; user info is rejected.
    pub fn parse(s: &str) -> Result<Url, UrlError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(UrlError::Empty);
        }
        if s.len() > MAX_URL_BYTES {
            return Err(UrlError::TooLong);
        }
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| UrlError::MissingScheme(shorten(s)))?;
        if scheme.is_empty()
            || !scheme.as_bytes()[0].is_ascii_alphabetic()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(UrlError::InvalidScheme(shorten(s)));
        }
        let scheme = if scheme.bytes().any(|b| b.is_ascii_uppercase()) {
            scheme_of(&scheme.to_ascii_lowercase())
        } else {
            scheme_of(scheme)
        };
        let rest = rest.split('#').next().unwrap_or("");
        let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(auth_end);
        Url::from_authority(scheme, authority, tail, &|| shorten(s))
    }

    /// A URL from its scheme, authority (`host[:port]`) and the rest (`/path?query`, or
    /// empty); `text` gives the URL as written, for error messages only.
    fn from_authority(
        scheme: std::borrow::Cow<'static, str>,
        authority: &str,
        tail: &str,
        text: &dyn Fn() -> String,
    ) -> Result<Url, UrlError> {
        if authority.contains('@') {
            return Err(UrlError::InvalidHost(text()));
        }
        let (host, port_str) = if let Some(r) = authority.strip_prefix('[') {
            let close = r.find(']').ok_or_else(|| UrlError::InvalidHost(text()))?;
            let host = &authority[..close + 2];
            let after = &r[close + 1..];
            if !r[..close]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
                || close == 0
            {
                return Err(UrlError::InvalidHost(text()));
            }
            match after.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None if after.is_empty() => (host, None),
                None => return Err(UrlError::InvalidHost(text())),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(UrlError::MissingHost(text()));
        }
        if !host.starts_with('[')
            && !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b))
        {
            return Err(UrlError::InvalidHost(text()));
        }
        let port = match port_str {
            Some(p) if !p.is_empty() => p
                .parse::<u16>()
                .map_err(|_| UrlError::InvalidPort(text()))?,
            _ => default_port(&scheme).ok_or_else(|| UrlError::InvalidPort(text()))?,
        };
        let (path, query) = match tail.split_once('?') {
            Some((p, q)) => (p, q),
            None => (tail, ""),
        };
        if !valid_path(path)
            || query
                .bytes()
                .any(|b| b <= 0x20 || b == 0x7f || !b.is_ascii())
        {
            return Err(UrlError::InvalidCharacter(text()));
        }
        Ok(Url {
            scheme,
            host: if host.bytes().any(|b| b.is_ascii_uppercase()) {
                host.to_ascii_lowercase().into()
            } else {
                host.into()
            },
            port,
            path: if path.is_empty() {
                root_path()
            } else {
                path.into()
            },
            query: QueryMap::parse(query),
        })
    }

    /// Builds a URL from a request target (`/path?query`) received for `scheme://host:port`.
    pub fn from_request_target(
        scheme: &str,
        host_header: &str,
        target: &str,
    ) -> Result<Url, UrlError> {
        if target.len() > MAX_URL_BYTES {
            return Err(UrlError::TooLong);
        }
        if !target.starts_with('/') {
            return Err(UrlError::InvalidPath(shorten(target)));
        }
        let lowered = if scheme.bytes().any(|b| b.is_ascii_uppercase()) {
            scheme_of(&scheme.to_ascii_lowercase())
        } else {
            scheme_of(scheme)
        };
        let host_header = host_header.trim();
        if scheme.len() + 3 + host_header.len() + target.len() > MAX_URL_BYTES {
            return Err(UrlError::TooLong);
        }
        let tail = target.split('#').next().unwrap_or("");
        // No URL text is put together unless it goes into an error.
        Url::from_authority(lowered, host_header, tail, &|| {
            shorten(&format!("{scheme}://{host_header}{target}"))
        })
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }
    pub fn host(&self) -> &str {
        &self.host
    }
    pub fn port(&self) -> u16 {
        self.port
    }
    /// Encoded path, starting with `/`.
    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn query(&self) -> &QueryMap {
        &self.query
    }
    pub fn query_mut(&mut self) -> &mut QueryMap {
        &mut self.query
    }

    /// `IUrl.QueryString`: `?a=b` or empty.
    pub fn query_string(&self) -> String {
        let mut out = String::new();
        self.push_query_string(&mut out);
        out
    }

    /// [`Url::query_string`] appended to `out`.
    pub fn push_query_string(&self, out: &mut String) {
        let mark = out.len();
        out.push('?');
        self.query.encode_into(out);
        if out.len() == mark + 1 {
            out.truncate(mark);
        }
    }

    /// The path and query string as sent on a request line (`/a/b?x=1`).
    pub fn request_target(&self) -> String {
        let mut out = String::with_capacity(self.path.len() + 32);
        out.push_str(&self.path);
        self.push_query_string(&mut out);
        out
    }

    pub fn set_scheme(&mut self, scheme: &str) -> Result<(), UrlError> {
        let s = scheme.to_ascii_lowercase();
        if s.is_empty()
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(UrlError::InvalidScheme(shorten(scheme)));
        }
        self.scheme = scheme_of(&s);
        Ok(())
    }

    /// Replaces the path (encoded form); a missing leading `/` is added.
    pub fn set_path(&mut self, path: &str) -> Result<(), UrlError> {
        if !valid_path(path) {
            return Err(UrlError::InvalidPath(shorten(path)));
        }
        self.path = if path.starts_with('/') {
            path.into()
        } else {
            format!("/{path}").into()
        };
        Ok(())
    }

    pub fn set_query(&mut self, query: QueryMap) {
        self.query = query;
    }

    /// `scheme://host[:port]` with the port omitted when it is the scheme's default.
    pub fn authority_prefix(&self) -> String {
        let mut out = String::with_capacity(self.scheme.len() + self.host.len() + 9);
        self.push_authority_prefix(&mut out);
        out
    }
    /// Appends `scheme://host[:port]` to `out`.
    pub fn push_authority_prefix(&self, out: &mut String) {
        out.push_str(&self.scheme);
        out.push_str("://");
        out.push_str(&self.host);
        if default_port(&self.scheme) != Some(self.port) {
            use std::fmt::Write;
            let _ = write!(out, ":{}", self.port);
        }
    }

    /// Whether `value` is this URL's `Host` header value (compared case-insensitively).
    pub fn is_host_header(&self, value: &str) -> bool {
        if default_port(&self.scheme) == Some(self.port) {
            return value.eq_ignore_ascii_case(&self.host);
        }
        // The port as `host_header` writes it: decimal, no sign, no leading zero.
        value.rsplit_once(':').is_some_and(|(h, p)| {
            h.eq_ignore_ascii_case(&self.host)
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p == "0" || !p.starts_with('0'))
                && p.parse::<u16>() == Ok(self.port)
        })
    }

    /// The `Host` header value for this URL.
    pub fn host_header(&self) -> String {
        if default_port(&self.scheme) == Some(self.port) {
            self.host.to_string()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Path segments, decoded.
    pub fn segments(&self) -> Vec<String> {
        self.path
            .split('/')
            .skip(1)
            .map(|s| percent_decode(s, false))
            .collect()
    }

    /// APIM's backend URL composition: `base` (API service URL or `set-backend-service` base URL)
    /// followed by `rest` (the request path after the API URL suffix) and the request query.
    /// The base's own query parameters come first.
    pub fn compose(base: &Url, rest_path: &str, query: &QueryMap) -> Result<Url, UrlError> {
        let path = PATH_BUFFER.with_borrow_mut(|buf| {
            compose_path(buf, base, rest_path).map(|()| std::sync::Arc::from(buf.as_str()))
        })?;
        let query = if base.query.is_empty() {
            // Appending every parameter to an empty map gives the same map: share it.
            query.clone()
        } else {
            let mut q = base.query.clone();
            for (n, v) in query.iter() {
                q.append(n, v.to_vec());
            }
            q
        };
        Ok(base.with_path_and_query(path, query))
    }

    fn with_path_and_query(&self, path: std::sync::Arc<str>, query: QueryMap) -> Url {
        Url {
            scheme: self.scheme.clone(),
            host: self.host.clone(),
            port: self.port,
            path,
            query,
        }
    }

    /// `set-backend-service base-url`: replaces `old_base` (the base this URL was composed from)
    /// with `new_base`, keeping the operation path and the query parameters not from the old base.
    pub fn rebase(&self, old_base: &Url, new_base: &Url) -> Result<Url, UrlError> {
        let old_path = old_base.path.trim_end_matches('/');
        let rest = match self.path.strip_prefix(old_path) {
            Some(r) if r.is_empty() || r.starts_with('/') => r,
            // The path was rewritten to something outside the old base: keep it whole.
            _ => &*self.path,
        };
        let path = PATH_BUFFER.with_borrow_mut(|buf| {
            compose_path(buf, new_base, rest).map(|()| {
                if *buf == *self.path {
                    // The same path under another host (bases without a path): shared.
                    self.path.clone()
                } else {
                    std::sync::Arc::from(buf.as_str())
                }
            })
        })?;
        let query = if old_base.query.is_empty() && new_base.query.is_empty() {
            // Nothing to drop, nothing to add: the same parameters, shared.
            self.query.clone()
        } else {
            let mut q = new_base.query.clone();
            for (n, v) in self.query.iter() {
                if old_base.query.get(n).is_none_or(|ov| ov != v) {
                    q.append(n, v.to_vec());
                }
            }
            q
        };
        Ok(new_base.with_path_and_query(path, query))
    }

    /// `scheme://host[:port]/`: the base of a URL that has no API service URL.
    pub fn origin(&self) -> Url {
        Url {
            scheme: self.scheme.clone(),
            host: self.host.clone(),
            port: self.port,
            path: root_path(),
            query: QueryMap::new(),
        }
    }
}

impl fmt::Display for Url {
    /// `IUrl.ToString()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.authority_prefix(),
            self.path,
            self.query_string()
        )
    }
}

impl std::str::FromStr for Url {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Url::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_target_and_host_header_checks_match_their_text_forms() {
        for text in [
            "http://a.example.com/x/y?b=2&a=1%202&c",
            "http://a.example.com:8080/",
            "https://A.example.com:443/p%2Fq?x=%C3%A9",
        ] {
            let u = Url::parse(text).unwrap();
            assert_eq!(
                u.request_target(),
                format!("{}{}", u.path(), u.query_string())
            );
            let host = u.host_header();
            assert!(u.is_host_header(&host));
            assert!(u.is_host_header(&host.to_ascii_uppercase()));
            assert!(!u.is_host_header("other.example.com"));
            assert!(!u.is_host_header(&format!("{host}0")));
        }
        let u = Url::parse("http://a.example.com:8080/").unwrap();
        assert!(!u.is_host_header("a.example.com:08080"));
        assert!(!u.is_host_header("a.example.com"));
        let mut q = QueryMap::new();
        q.set("empty", Vec::new());
        let mut u = Url::parse("http://a.example.com/p").unwrap();
        u.set_query(q);
        assert_eq!(u.query_string(), "");
        assert_eq!(u.request_target(), "/p");
    }

    #[test]
    fn parses_iurl_members() {
        let u = Url::parse("HTTPS://Example.COM:8443/a/b%20c?x=1&y=a+b&x=2&z#frag").unwrap();
        assert_eq!(u.scheme(), "https");
        assert_eq!(u.host(), "example.com");
        assert_eq!(u.port(), 8443);
        assert_eq!(u.path(), "/a/b%20c");
        assert_eq!(u.query().get("x").unwrap(), ["1", "2"]);
        assert_eq!(u.query().get("Y").unwrap(), ["a b"]);
        assert_eq!(u.query().get("z").unwrap(), [""]);
        assert_eq!(u.query_string(), "?x=1&x=2&y=a%20b&z=");
        assert_eq!(
            u.to_string(),
            "https://example.com:8443/a/b%20c?x=1&x=2&y=a%20b&z="
        );
        assert_eq!(u.segments(), ["a", "b c"]);
        let d = Url::parse("http://h").unwrap();
        assert_eq!(
            (d.port(), d.path(), d.query_string().as_str()),
            (80, "/", "")
        );
        assert_eq!(d.to_string(), "http://h/");
        let v6 = Url::parse("http://[::1]:9000/x").unwrap();
        assert_eq!((v6.host(), v6.port()), ("[::1]", 9000));
    }

    #[test]
    fn hostile_urls_are_errors() {
        for bad in [
            "",
            "no-scheme/path",
            "://x",
            "1http://x",
            "http://",
            "http://user@host/",
            "http://host:99999/",
            "http://host:abc/",
            "http://ho st/",
            "http://host/pa th",
            "http://[zz]/",
            "ftp://host/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad:?} should fail");
        }
        assert_eq!(
            Url::parse(&format!("http://h/{}", "a".repeat(MAX_URL_BYTES))),
            Err(UrlError::TooLong)
        );
        assert!(Url::from_request_target("http", "h", "nopath").is_err());
        assert_eq!(percent_decode("%ff%fe%zz%", false), "\u{fffd}\u{fffd}%zz%");
    }

    #[test]
    fn a_request_target_and_host_header_make_the_url_a_full_url_would() {
        for (host, target) in [
            (
                "gw.local:8080",
                "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
            ),
            ("GW.Local", "/a/b?x=1&x=2&y=a%20b"),
            (" spaced:81 ", "/"),
            ("[::1]:8080", "/p#fragment"),
        ] {
            assert_eq!(
                Url::from_request_target("http", host, target),
                Url::parse(&format!("http://{}{target}", host.trim())),
                "{host} {target}"
            );
        }
        // A Host header cannot smuggle a path, query or fragment into the URL.
        for host in ["h/evil", "h?x=1", "h#f", "user@h", "h:port", ""] {
            assert!(
                Url::from_request_target("http", host, "/p").is_err(),
                "{host:?} should fail"
            );
        }
        let long_host = "h".repeat(MAX_URL_BYTES);
        assert_eq!(
            Url::from_request_target("http", &long_host, "/p"),
            Err(UrlError::TooLong)
        );
    }

    #[test]
    fn composes_service_url_operation_path_and_query() {
        let base = Url::parse("https://aoai.example.com/openai").unwrap();
        let q = QueryMap::parse("api-version=2024-02-01");
        let u = Url::compose(&base, "/deployments/gpt4/chat/completions", &q).unwrap();
        assert_eq!(
            u.to_string(),
            "https://aoai.example.com/openai/deployments/gpt4/chat/completions?api-version=2024-02-01"
        );
        let slash = Url::parse("http://contoso.com/api/10.4/").unwrap();
        assert_eq!(
            Url::compose(&slash, "/partners/15", &QueryMap::new())
                .unwrap()
                .to_string(),
            "http://contoso.com/api/10.4/partners/15"
        );
        assert_eq!(
            Url::compose(&base, "", &QueryMap::new()).unwrap().path(),
            "/openai"
        );
        assert_eq!(
            Url::compose(&base, "/", &QueryMap::new()).unwrap().path(),
            "/openai/"
        );
        let root = Url::parse("http://h").unwrap();
        assert_eq!(
            Url::compose(&root, "", &QueryMap::new()).unwrap().path(),
            "/"
        );
        let func = Url::parse("https://f.azurewebsites.net/api?code=secret").unwrap();
        assert_eq!(
            Url::compose(&func, "/run", &QueryMap::parse("a=1"))
                .unwrap()
                .to_string(),
            "https://f.azurewebsites.net/api/run?code=secret&a=1"
        );
    }

    #[test]
    fn query_actions_and_forms() {
        let mut q = QueryMap::parse("a=1");
        q.apply("A", crate::http::ExistsAction::Append, vec!["2".into()]);
        q.apply("b", crate::http::ExistsAction::Skip, vec!["3".into()]);
        q.apply("b", crate::http::ExistsAction::Skip, vec!["4".into()]);
        assert_eq!(q.encode(), "a=1&a=2&b=3");
        q.apply("a", crate::http::ExistsAction::Delete, vec![]);
        assert_eq!(q.to_query_string().as_deref(), Some("?b=3"));
        let form = QueryMap::parse_form("name=J%C3%BCrgen+S&tags=a&tags=b");
        assert_eq!(form.get("name").unwrap(), ["Jürgen S"]);
        assert_eq!(form.get("tags").unwrap(), ["a", "b"]);
        assert_eq!(QueryMap::new().to_query_string(), None);
    }

    #[test]
    fn set_backend_service_base_url_replaces_the_base() {
        // The documented example: service URL http://contoso.com/api/10.4/, base-url http://contoso.com/api/8.2/.
        let old = Url::parse("http://contoso.com/api/10.4/").unwrap();
        let now = Url::compose(
            &old,
            "/partners/15",
            &QueryMap::parse("version=2013-05&account=abc"),
        )
        .unwrap();
        let new = Url::parse("http://contoso.com/api/8.2/").unwrap();
        assert_eq!(
            now.rebase(&old, &new).unwrap().to_string(),
            "http://contoso.com/api/8.2/partners/15?version=2013-05&account=abc"
        );
        let func = Url::parse("https://a/api?code=1").unwrap();
        let u = Url::compose(&func, "/x", &QueryMap::parse("q=2")).unwrap();
        let other = Url::parse("https://b:8443/v2").unwrap();
        assert_eq!(
            u.rebase(&func, &other).unwrap().to_string(),
            "https://b:8443/v2/x?q=2"
        );
    }
}
