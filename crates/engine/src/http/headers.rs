//! Header collection with APIM's semantics: names compare case-insensitively, insertion order is
//! kept, a header holds several values, and the wire form joins values with commas except for
//! the headers whose values may themselves contain commas or dates.

use std::fmt;

/// Headers that are written as repeated lines instead of one comma-joined line (set-header doc).
pub const REPEATED_LINE_HEADERS: &[&str] = &[
    "User-Agent",
    "WWW-Authenticate",
    "Proxy-Authenticate",
    "Cookie",
    "Set-Cookie",
    "Warning",
    "Date",
    "Expires",
    "If-Modified-Since",
    "If-Unmodified-Since",
    "Last-Modified",
    "Retry-After",
];

/// Headers set-header may not change (`Server` may not be removed; these may not be modified).
pub const PROTECTED_HEADERS: &[&str] = &[
    "Connection",
    "Content-Length",
    "Keep-Alive",
    "Transfer-Encoding",
];

/// Largest header name or single value accepted, against hostile input.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("'{0}' is not a valid HTTP header name")]
    InvalidName(String),
    #[error("the value of header '{name}' contains a character not allowed in HTTP headers")]
    InvalidValue { name: String },
    #[error("header '{name}' is longer than {MAX_HEADER_BYTES} bytes")]
    TooLarge { name: String },
}

/// RFC 9110 token characters, by byte (every header set by a policy is checked).
const TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
};

/// True when `name` is an RFC 9110 token.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_HEADER_BYTES
        && name.bytes().all(|b| TOKEN[usize::from(b)])
}

/// Values may not hold CR, LF or NUL (header injection).
pub fn is_valid_value(value: &str) -> bool {
    !value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

pub fn is_repeated_line_header(name: &str) -> bool {
    REPEATED_LINE_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

pub fn is_protected_header(name: &str) -> bool {
    PROTECTED_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

/// A header name as stored: the usual names are static (no allocation when a header is added),
/// others shared (copying a map does not copy them).
#[derive(Clone)]
enum Name {
    Static(&'static str),
    Shared(std::sync::Arc<str>),
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Name::Static(s) => s,
            Name::Shared(s) => s,
        }
    }
}

impl PartialEq for Name {
    fn eq(&self, o: &Self) -> bool {
        **self == **o
    }
}
impl Eq for Name {}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl From<&str> for Name {
    /// The name exactly as given (case kept): static when it is one of the usual spellings.
    fn from(n: &str) -> Self {
        let known = match n {
            "Content-Type" => "Content-Type",
            "content-type" => "content-type",
            "Content-Length" => "Content-Length",
            "content-length" => "content-length",
            "Host" => "Host",
            "host" => "host",
            "Accept" => "Accept",
            "accept" => "accept",
            "Accept-Encoding" => "Accept-Encoding",
            "accept-encoding" => "accept-encoding",
            "User-Agent" => "User-Agent",
            "user-agent" => "user-agent",
            "Authorization" => "Authorization",
            "authorization" => "authorization",
            "api-key" => "api-key",
            "Ocp-Apim-Subscription-Key" => "Ocp-Apim-Subscription-Key",
            "ocp-apim-subscription-key" => "ocp-apim-subscription-key",
            "X-Forwarded-For" => "X-Forwarded-For",
            "x-forwarded-for" => "x-forwarded-for",
            "Connection" => "Connection",
            "connection" => "connection",
            "Date" => "Date",
            "date" => "date",
            "Server" => "Server",
            "server" => "server",
            "Retry-After" => "Retry-After",
            "retry-after" => "retry-after",
            "Cache-Control" => "Cache-Control",
            "cache-control" => "cache-control",
            "Transfer-Encoding" => "Transfer-Encoding",
            "transfer-encoding" => "transfer-encoding",
            "apim-request-id" => "apim-request-id",
            "x-request-id" => "x-request-id",
            "x-ms-region" => "x-ms-region",
            _ => return Name::Shared(n.into()),
        };
        Name::Static(known)
    }
}

/// A header's values. Shared: copying a map (every backend call does) does not copy them; a
/// change replaces them.
type Values = std::sync::Arc<[String]>;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct HeaderMap {
    entries: Vec<(Name, Values)>,
}

impl fmt::Debug for HeaderMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl HeaderMap {
    pub fn new() -> Self {
        Self::default()
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    fn check(name: &str, values: &[String]) -> Result<(), HeaderError> {
        if !is_valid_name(name) {
            return Err(HeaderError::InvalidName(name.chars().take(200).collect()));
        }
        for v in values {
            if v.len() > MAX_HEADER_BYTES {
                return Err(HeaderError::TooLarge {
                    name: name.to_string(),
                });
            }
            if !is_valid_value(v) {
                return Err(HeaderError::InvalidValue {
                    name: name.to_string(),
                });
            }
        }
        Ok(())
    }

    /// All values of a header, or `None` when absent.
    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.position(name).map(|i| &*self.entries[i].1)
    }

    /// First value of a header.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.first()).map(String::as_str)
    }

    /// Values joined with `,` (what `Headers.GetValueOrDefault(name)` returns).
    pub fn get_joined(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| v.join(","))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Replaces the header's values (exists-action="override"); keeps its position if present.
    pub fn set(&mut self, name: &str, values: Vec<String>) -> Result<(), HeaderError> {
        Self::check(name, &values)?;
        self.put(name, values.into());
        Ok(())
    }

    /// [`HeaderMap::set`] with values already shared (a backend's credentials): nothing is
    /// copied.
    pub fn set_shared(
        &mut self,
        name: &str,
        values: std::sync::Arc<[String]>,
    ) -> Result<(), HeaderError> {
        Self::check(name, &values)?;
        self.put(name, values);
        Ok(())
    }

    fn put(&mut self, name: &str, values: Values) {
        match self.position(name) {
            Some(i) => self.entries[i].1 = values,
            None => self.entries.push((name.into(), values)),
        }
    }

    /// Sets a single value.
    pub fn set_one(&mut self, name: &str, value: impl Into<String>) -> Result<(), HeaderError> {
        let value = value.into();
        Self::check(name, std::slice::from_ref(&value))?;
        self.put(name, std::sync::Arc::from([value]));
        Ok(())
    }

    /// Adds values after the existing ones (exists-action="append").
    pub fn append(&mut self, name: &str, values: Vec<String>) -> Result<(), HeaderError> {
        Self::check(name, &values)?;
        self.add(name, values);
        Ok(())
    }

    fn add(&mut self, name: &str, values: Vec<String>) {
        match self.position(name) {
            Some(i) => {
                let e = &mut self.entries[i].1;
                *e = e.iter().cloned().chain(values).collect();
            }
            None => self.entries.push((name.into(), values.into())),
        }
    }

    /// Sets the header only when absent (exists-action="skip"). Returns whether it was set.
    pub fn set_if_absent(&mut self, name: &str, values: Vec<String>) -> Result<bool, HeaderError> {
        if self.contains(name) {
            return Ok(false);
        }
        self.set(name, values)?;
        Ok(true)
    }

    /// Removes the header; returns its values.
    pub fn remove(&mut self, name: &str) -> Option<Vec<String>> {
        self.position(name)
            .map(|i| self.entries.remove(i).1.to_vec())
    }

    /// Removes the header without returning its values.
    pub fn delete(&mut self, name: &str) -> bool {
        match self.position(name) {
            Some(i) => {
                self.entries.remove(i);
                true
            }
            None => false,
        }
    }

    /// Adds one received header line (repeated lines become several values).
    pub fn push_line(&mut self, name: &str, value: &str) -> Result<(), HeaderError> {
        let value = value.to_string();
        Self::check(name, std::slice::from_ref(&value))?;
        self.push_parsed_line(name, value);
        Ok(())
    }

    /// Adds one header line an HTTP parser has already checked (a valid name, a value without
    /// CR, LF or NUL, within the parser's size limits): what [`HeaderMap::push_line`] does,
    /// without checking again.
    pub fn push_parsed_line(&mut self, name: &str, value: String) {
        match self.position(name) {
            Some(_) => self.add(name, vec![value]),
            None => self
                .entries
                .push((name.into(), std::sync::Arc::from([value]))),
        }
    }

    /// An empty map with room for `n` headers.
    pub fn with_capacity(n: usize) -> Self {
        HeaderMap {
            entries: Vec::with_capacity(n),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries.iter().map(|(n, v)| (&**n, &**v))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| &**n)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The header lines as sent on the wire: one comma-joined line per header, except
    /// [`REPEATED_LINE_HEADERS`], which get one line per value.
    pub fn wire_lines(&self) -> Vec<(String, String)> {
        let mut out = Vec::with_capacity(self.entries.len());
        for (name, values) in &self.entries {
            if is_repeated_line_header(name) {
                out.extend(values.iter().map(|v| (name.to_string(), v.clone())));
            } else {
                out.push((name.to_string(), values.join(",")));
            }
        }
        out
    }

    /// Builds a map from received lines; invalid lines are reported, not dropped silently.
    pub fn from_lines<'a>(
        lines: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, HeaderError> {
        let mut m = HeaderMap::new();
        for (n, v) in lines {
            m.push_line(n, v)?;
        }
        Ok(m)
    }

    /// The `Content-Type` media type, lowercase, without parameters.
    pub fn media_type(&self) -> Option<String> {
        self.first("Content-Type")
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|m| !m.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_order_is_kept() {
        let mut h = HeaderMap::new();
        h.set_one("Content-Type", "application/json").unwrap();
        h.set_one("x-b", "1").unwrap();
        h.set_one("X-A", "2").unwrap();
        assert_eq!(h.first("content-type"), Some("application/json"));
        h.set_one("CONTENT-TYPE", "text/plain").unwrap();
        let names: Vec<_> = h.names().collect();
        assert_eq!(names, ["Content-Type", "x-b", "X-A"]);
        assert_eq!(h.first("Content-Type"), Some("text/plain"));
    }

    #[test]
    fn exists_actions() {
        let mut h = HeaderMap::new();
        h.set("x", vec!["1".into()]).unwrap();
        assert!(!h.set_if_absent("X", vec!["2".into()]).unwrap());
        h.append("x", vec!["3".into(), "4".into()]).unwrap();
        assert_eq!(h.get("x").unwrap(), ["1", "3", "4"]);
        assert_eq!(h.get_joined("x").unwrap(), "1,3,4");
        assert_eq!(h.remove("X").unwrap(), ["1", "3", "4"]);
        assert!(h.get("x").is_none());
        assert!(h.set_if_absent("x", vec!["5".into()]).unwrap());
    }

    #[test]
    fn wire_form_joins_except_repeated_line_headers() {
        let mut h = HeaderMap::new();
        h.set("Accept", vec!["a".into(), "b".into()]).unwrap();
        h.set("Set-Cookie", vec!["a=1; Path=/".into(), "b=2".into()])
            .unwrap();
        h.set("retry-after", vec!["5".into(), "6".into()]).unwrap();
        assert_eq!(
            h.wire_lines(),
            vec![
                ("Accept".to_string(), "a,b".to_string()),
                ("Set-Cookie".to_string(), "a=1; Path=/".to_string()),
                ("Set-Cookie".to_string(), "b=2".to_string()),
                ("retry-after".to_string(), "5".to_string()),
                ("retry-after".to_string(), "6".to_string()),
            ]
        );
    }

    #[test]
    fn token_characters_are_rfc_9110s() {
        for b in 0..=255u8 {
            let rfc = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(TOKEN[usize::from(b)], rfc, "byte {b}");
        }
        assert!(is_valid_name("X-Forwarded-For") && !is_valid_name("a:b") && !is_valid_name("é"));
    }

    #[test]
    fn hostile_names_and_values_are_errors() {
        let mut h = HeaderMap::new();
        assert!(matches!(
            h.set_one("bad name", "v"),
            Err(HeaderError::InvalidName(_))
        ));
        assert!(matches!(
            h.set_one("", "v"),
            Err(HeaderError::InvalidName(_))
        ));
        assert!(matches!(
            h.set_one("x", "a\r\nInjected: 1"),
            Err(HeaderError::InvalidValue { .. })
        ));
        assert!(matches!(
            h.set_one("x", "a".repeat(MAX_HEADER_BYTES + 1)),
            Err(HeaderError::TooLarge { .. })
        ));
        assert!(h.is_empty());
        assert!(is_protected_header("content-length"));
    }

    #[test]
    fn media_type_strips_parameters() {
        let mut h = HeaderMap::new();
        h.set_one("content-type", "Application/JSON; charset=utf-8")
            .unwrap();
        assert_eq!(h.media_type().as_deref(), Some("application/json"));
    }
}

impl HeaderMap {
    /// From the `http` crate's map (hosts): repeated lines become several values; bytes that
    /// are not UTF-8 are read as Latin-1, as .NET's HTTP stack does.
    pub fn from_http(h: &http::HeaderMap) -> Result<Self, HeaderError> {
        let mut m = HeaderMap::with_capacity(h.keys_len());
        for (n, v) in h {
            let value = match v.to_str() {
                Ok(s) => s.to_string(),
                Err(_) => v.as_bytes().iter().map(|&b| b as char).collect(),
            };
            if value.len() > MAX_HEADER_BYTES {
                return Err(HeaderError::TooLarge {
                    name: n.as_str().to_string(),
                });
            }
            if !is_valid_value(&value) {
                return Err(HeaderError::InvalidValue {
                    name: n.as_str().to_string(),
                });
            }
            // The `http` crate's names are valid tokens already.
            m.push_parsed_line(n.as_str(), value);
        }
        Ok(m)
    }

    /// To the `http` crate's map, with APIM's wire form (comma-joined except repeated-line
    /// headers). Characters outside Latin-1 are an error, not silently dropped.
    pub fn to_http(&self) -> Result<http::HeaderMap, HeaderError> {
        let mut out = http::HeaderMap::new();
        for (n, v) in self.wire_lines() {
            let name = http::HeaderName::from_bytes(n.as_bytes())
                .map_err(|_| HeaderError::InvalidName(n.clone()))?;
            let bytes: Option<Vec<u8>> =
                v.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
            let value = bytes
                .and_then(|b| http::HeaderValue::from_bytes(&b).ok())
                .ok_or_else(|| HeaderError::InvalidValue { name: n.clone() })?;
            out.append(name, value);
        }
        Ok(out)
    }
}

/// `exists-action` of set-header / set-query-parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExistsAction {
    #[default]
    Override,
    Skip,
    Append,
    Delete,
}

impl ExistsAction {
    /// Parses the attribute value (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "override" => Some(ExistsAction::Override),
            "skip" => Some(ExistsAction::Skip),
            "append" => Some(ExistsAction::Append),
            "delete" => Some(ExistsAction::Delete),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetHeaderError {
    #[error("header '{0}' cannot be modified by policies")]
    Protected(String),
    #[error("header 'Server' cannot be removed")]
    ServerNotRemovable,
    #[error(transparent)]
    Header(#[from] HeaderError),
}

impl HeaderMap {
    /// set-header: applies `action` with APIM's restrictions (Connection, Content-Length,
    /// Keep-Alive, Transfer-Encoding cannot be changed; Server cannot be removed).
    pub fn apply(
        &mut self,
        name: &str,
        action: ExistsAction,
        values: Vec<String>,
    ) -> Result<(), SetHeaderError> {
        if is_protected_header(name) {
            return Err(SetHeaderError::Protected(name.to_string()));
        }
        match action {
            ExistsAction::Override => self.set(name, values)?,
            ExistsAction::Skip => {
                self.set_if_absent(name, values)?;
            }
            ExistsAction::Append => self.append(name, values)?,
            ExistsAction::Delete => {
                if name.eq_ignore_ascii_case("Server") {
                    return Err(SetHeaderError::ServerNotRemovable);
                }
                self.remove(name);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod apply_tests {
    use super::*;

    #[test]
    fn set_header_actions_and_restrictions() {
        let mut h = HeaderMap::new();
        h.apply("X-A", ExistsAction::Override, vec!["1".into(), "2".into()])
            .unwrap();
        h.apply("x-a", ExistsAction::Skip, vec!["3".into()])
            .unwrap();
        h.apply("x-a", ExistsAction::Append, vec!["4".into()])
            .unwrap();
        assert_eq!(h.get("X-A").unwrap(), ["1", "2", "4"]);
        h.apply("X-A", ExistsAction::Delete, vec![]).unwrap();
        assert!(!h.contains("x-a"));
        assert_eq!(
            h.apply("content-length", ExistsAction::Override, vec!["1".into()]),
            Err(SetHeaderError::Protected("content-length".into()))
        );
        assert_eq!(
            h.apply("Server", ExistsAction::Delete, vec![]),
            Err(SetHeaderError::ServerNotRemovable)
        );
        assert!(
            h.apply("Server", ExistsAction::Override, vec!["x".into()])
                .is_ok()
        );
        assert_eq!(ExistsAction::parse("Append"), Some(ExistsAction::Append));
        assert_eq!(ExistsAction::parse("bogus"), None);
    }

    #[test]
    fn http_crate_round_trip() {
        let mut src = http::HeaderMap::new();
        src.append("accept", http::HeaderValue::from_static("a"));
        src.append("accept", http::HeaderValue::from_static("b"));
        src.append(
            "x-latin",
            http::HeaderValue::from_bytes(b"caf\xe9").unwrap(),
        );
        let h = HeaderMap::from_http(&src).unwrap();
        assert_eq!(h.get("Accept").unwrap(), ["a", "b"]);
        assert_eq!(h.first("x-latin"), Some("café"));
        let back = h.to_http().unwrap();
        assert_eq!(back.get_all("accept").iter().collect::<Vec<_>>(), ["a,b"]);
        assert_eq!(back.get("x-latin").unwrap().as_bytes(), b"caf\xe9");
        let mut bad = HeaderMap::new();
        bad.set_one("x", "\u{4e2d}").unwrap();
        assert!(bad.to_http().is_err());
    }
}
