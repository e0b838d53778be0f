//! `System.Net.WebUtility` (UrlEncode/UrlDecode/HtmlEncode/HtmlDecode) and `System.Uri`
//! (EscapeDataString, UnescapeDataString, EscapeUriString, and parsing basics).

use crate::error::{DotNetException, DotNetResult, ExceptionKind};

fn hex_upper(b: u8) -> String {
    format!("%{b:02X}")
}

/// `WebUtility.UrlEncode(s)`: UTF-8, space → '+', unreserved `A-Za-z0-9-_.!*()` kept, the
/// rest as uppercase %XX.
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'*'
            | b'('
            | b')' => out.push(b as char),
            b' ' => out.push('+'),
            other => out.push_str(&hex_upper(other)),
        }
    }
    out
}

fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'+' && plus_is_space {
            out.push(b' ');
            i += 1;
        } else if c == b'%' && i + 2 < b.len() {
            let h = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|t| u8::from_str_radix(t, 16).ok());
            match h {
                Some(v) => {
                    out.push(v);
                    i += 3;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `WebUtility.UrlDecode(s)`: '+' → space, %XX bytes decoded as UTF-8 (invalid → U+FFFD);
/// malformed escapes are kept literally.
pub fn url_decode(s: &str) -> String {
    percent_decode(s, true)
}

/// `WebUtility.HtmlEncode(s)`.
pub fn html_encode(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            c if (160..256).contains(&(c as u32)) || (c as u32) > 0xFFFF => {
                out.push_str(&format!("&#{};", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

const ENTITIES: &[(&str, char)] = &[
    ("quot", '"'),
    ("amp", '&'),
    ("apos", '\''),
    ("lt", '<'),
    ("gt", '>'),
    ("nbsp", '\u{a0}'),
    ("iexcl", '¡'),
    ("cent", '¢'),
    ("pound", '£'),
    ("curren", '¤'),
    ("yen", '¥'),
    ("brvbar", '¦'),
    ("sect", '§'),
    ("uml", '¨'),
    ("copy", '©'),
    ("ordf", 'ª'),
    ("laquo", '«'),
    ("not", '¬'),
    ("shy", '\u{ad}'),
    ("reg", '®'),
    ("macr", '¯'),
    ("deg", '°'),
    ("plusmn", '±'),
    ("sup2", '²'),
    ("sup3", '³'),
    ("acute", '´'),
    ("micro", 'µ'),
    ("para", '¶'),
    ("middot", '·'),
    ("cedil", '¸'),
    ("sup1", '¹'),
    ("ordm", 'º'),
    ("raquo", '»'),
    ("frac14", '¼'),
    ("frac12", '½'),
    ("frac34", '¾'),
    ("iquest", '¿'),
    ("times", '×'),
    ("divide", '÷'),
    ("Agrave", 'À'),
    ("Aacute", 'Á'),
    ("Auml", 'Ä'),
    ("Ccedil", 'Ç'),
    ("Eacute", 'É'),
    ("Egrave", 'È'),
    ("Ntilde", 'Ñ'),
    ("Ouml", 'Ö'),
    ("Uuml", 'Ü'),
    ("szlig", 'ß'),
    ("agrave", 'à'),
    ("aacute", 'á'),
    ("acirc", 'â'),
    ("auml", 'ä'),
    ("ccedil", 'ç'),
    ("egrave", 'è'),
    ("eacute", 'é'),
    ("ecirc", 'ê'),
    ("euml", 'ë'),
    ("iacute", 'í'),
    ("ntilde", 'ñ'),
    ("oacute", 'ó'),
    ("ouml", 'ö'),
    ("uacute", 'ú'),
    ("uuml", 'ü'),
    ("euro", '€'),
    ("hellip", '…'),
    ("mdash", '—'),
    ("ndash", '–'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("bull", '•'),
    ("trade", '™'),
];

/// `WebUtility.HtmlDecode(s)`: numeric (`&#65;`, `&#x41;`) and common named entities; unknown
/// entities are kept as written.
pub fn html_decode(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let end = after
            .find(';')
            .filter(|&e| e > 0 && e < 32 && !after[..e].contains('&'));
        let decoded = end.and_then(|e| {
            let ent = &after[..e];
            let ch = if let Some(num) = ent.strip_prefix('#') {
                let v = if let Some(h) = num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
                    u32::from_str_radix(h, 16).ok()
                } else {
                    num.parse::<u32>().ok()
                };
                v.and_then(char::from_u32)
            } else {
                ENTITIES.iter().find(|(n, _)| *n == ent).map(|(_, c)| *c)
            };
            ch.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn escape_with(s: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&hex_upper(b));
        }
    }
    out
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_reserved(b: u8) -> bool {
    matches!(
        b,
        b':' | b'/'
            | b'?'
            | b'#'
            | b'['
            | b']'
            | b'@'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
    )
}

/// `Uri.EscapeDataString(s)`: everything but RFC 3986 unreserved characters.
pub fn escape_data_string(s: &str) -> String {
    escape_with(s, is_unreserved)
}

/// `Uri.EscapeUriString(s)`: keeps unreserved and reserved characters.
pub fn escape_uri_string(s: &str) -> String {
    escape_with(s, |b| is_unreserved(b) || is_reserved(b))
}

/// `Uri.UnescapeDataString(s)`: %XX sequences that form valid UTF-8 are decoded; others
/// stay as written.
pub fn unescape_data_string(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            // Collect a run of %XX bytes and decode what is valid UTF-8.
            let mut bytes = Vec::new();
            let mut j = i;
            while j + 2 < b.len() && b[j] == b'%' {
                match std::str::from_utf8(&b[j + 1..j + 3])
                    .ok()
                    .and_then(|t| u8::from_str_radix(t, 16).ok())
                {
                    Some(v) => {
                        bytes.push(v);
                        j += 3;
                    }
                    None => break,
                }
            }
            if bytes.is_empty() {
                out.push('%');
                i += 1;
                continue;
            }
            // Decode valid prefixes; invalid bytes are kept as their %XX text.
            let mut k = 0;
            while k < bytes.len() {
                let mut decoded = false;
                for len in (1..=4.min(bytes.len() - k)).rev() {
                    if let Ok(t) = std::str::from_utf8(&bytes[k..k + len]) {
                        out.push_str(t);
                        k += len;
                        decoded = true;
                        break;
                    }
                }
                if !decoded {
                    out.push_str(&s[i + 3 * k..i + 3 * k + 3]);
                    k += 1;
                }
            }
            i = j;
        } else {
            let ch = s[i..].chars().next().unwrap_or('\u{FFFD}');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// A parsed absolute `System.Uri` (basics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    pub original_string: String,
    pub scheme: String,
    pub user_info: String,
    pub host: String,
    pub port: i32,
    pub is_default_port: bool,
    /// Escaped, dot segments removed, "/" when empty (for hierarchical schemes).
    pub absolute_path: String,
    /// "?..." or "".
    pub query: String,
    /// "#..." or "".
    pub fragment: String,
}

fn default_port(scheme: &str) -> i32 {
    match scheme {
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        "ftp" => 21,
        _ => -1,
    }
}

fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segs: Vec<&str> = path.split('/').collect();
    for (i, seg) in segs.iter().enumerate() {
        let last = i == segs.len() - 1;
        match *seg {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

fn escape_path(p: &str) -> String {
    // Keep what is legal in a path and already-escaped sequences.
    escape_with(p, |b| {
        is_unreserved(b)
            || matches!(
                b,
                b'/' | b'%'
                    | b':'
                    | b'@'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            )
    })
}

fn escape_query(p: &str) -> String {
    escape_with(p, |b| is_unreserved(b) || is_reserved(b) || b == b'%')
}

fn uri_error(msg: &str) -> DotNetException {
    DotNetException::new(
        ExceptionKind::UriFormatException,
        format!("Invalid URI: {msg}"),
    )
}

impl Uri {
    /// `new Uri(s)` for absolute URIs (UriFormatException otherwise).
    pub fn parse(s: &str) -> DotNetResult<Uri> {
        let t = s.trim();
        if t.is_empty() {
            return Err(uri_error("The URI is empty."));
        }
        let colon = t
            .find(':')
            .ok_or_else(|| uri_error("The format of the URI could not be determined."))?;
        let scheme = &t[..colon];
        if scheme.is_empty()
            || !scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return Err(uri_error("The format of the URI could not be determined."));
        }
        let scheme = scheme.to_ascii_lowercase();
        let rest = &t[colon + 1..];
        let Some(after) = rest.strip_prefix("//") else {
            // Non-hierarchical (mailto:, urn:).
            return Ok(Uri {
                original_string: s.to_string(),
                scheme,
                user_info: String::new(),
                host: String::new(),
                port: -1,
                is_default_port: true,
                absolute_path: rest.to_string(),
                query: String::new(),
                fragment: String::new(),
            });
        };
        let auth_end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let authority = &after[..auth_end];
        let tail = &after[auth_end..];
        let (user_info, hostport) = match authority.rfind('@') {
            Some(i) => (authority[..i].to_string(), &authority[i + 1..]),
            None => (String::new(), authority),
        };
        let (host, port_text) = if hostport.starts_with('[') {
            let close = hostport
                .find(']')
                .ok_or_else(|| uri_error("The hostname could not be parsed."))?;
            (&hostport[..=close], hostport[close + 1..].strip_prefix(':'))
        } else {
            match hostport.rfind(':') {
                Some(i) => (&hostport[..i], Some(&hostport[i + 1..])),
                None => (hostport, None),
            }
        };
        if host.is_empty() && scheme != "file" {
            return Err(uri_error("The hostname could not be parsed."));
        }
        if host.chars().any(|c| {
            c.is_whitespace() || matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`')
        }) {
            return Err(uri_error("The hostname could not be parsed."));
        }
        let dp = default_port(&scheme);
        let port = match port_text {
            Some("") | None => dp,
            Some(p) => {
                let v: i64 = p
                    .parse()
                    .map_err(|_| uri_error("Invalid port specified."))?;
                if !(0..=65535).contains(&v) {
                    return Err(uri_error("Invalid port specified."));
                }
                v as i32
            }
        };
        let (path_part, query_frag) = match tail.find(['?', '#']) {
            Some(i) => (&tail[..i], &tail[i..]),
            None => (tail, ""),
        };
        let (query, fragment) = match query_frag.find('#') {
            Some(i) => (&query_frag[..i], &query_frag[i..]),
            None => (query_frag, ""),
        };
        let path = if path_part.is_empty() {
            "/".to_string()
        } else {
            remove_dot_segments(&path_part.replace('\\', "/"))
        };
        Ok(Uri {
            original_string: s.to_string(),
            scheme,
            user_info,
            host: host.to_ascii_lowercase(),
            port,
            is_default_port: port == dp,
            absolute_path: escape_path(&path),
            query: escape_query(query),
            fragment: escape_query(fragment),
        })
    }

    /// `Uri.TryCreate(s, UriKind.Absolute, out uri)`.
    pub fn try_parse(s: &str) -> Option<Uri> {
        Uri::parse(s).ok()
    }

    /// `Authority`: host, plus the port when it is not the default.
    pub fn authority(&self) -> String {
        if self.is_default_port || self.port < 0 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `PathAndQuery`.
    pub fn path_and_query(&self) -> String {
        format!("{}{}", self.absolute_path, self.query)
    }

    /// `AbsoluteUri`.
    pub fn absolute_uri(&self) -> String {
        if self.host.is_empty() && self.scheme != "file" {
            return format!("{}:{}", self.scheme, self.absolute_path);
        }
        let ui = if self.user_info.is_empty() {
            String::new()
        } else {
            format!("{}@", self.user_info)
        };
        format!(
            "{}://{}{}{}{}{}",
            self.scheme,
            ui,
            self.authority(),
            self.absolute_path,
            self.query,
            self.fragment
        )
    }

    /// `ToString()`: the absolute URI with escaped characters shown unescaped where safe.
    pub fn to_display_string(&self) -> String {
        let a = self.absolute_uri();
        a.replace("%20", " ")
    }

    /// `Segments`: "/", "a/", "b".
    pub fn segments(&self) -> Vec<String> {
        let mut out = Vec::new();
        let p = &self.absolute_path;
        let mut start = 0;
        for (i, ch) in p.char_indices() {
            if ch == '/' {
                out.push(p[start..=i].to_string());
                start = i + 1;
            }
        }
        if start < p.len() {
            out.push(p[start..].to_string());
        }
        out
    }

    /// `GetLeftPart(UriPartial.Authority)` etc.: 0 Scheme, 1 Authority, 2 Path, 3 Query.
    pub fn get_left_part(&self, part: i32) -> DotNetResult<String> {
        let base = format!("{}://{}", self.scheme, self.authority());
        Ok(match part {
            0 => format!("{}://", self.scheme),
            1 => base,
            2 => format!("{base}{}", self.absolute_path),
            3 => format!("{base}{}{}", self.absolute_path, self.query),
            _ => {
                return Err(DotNetException::argument(format!(
                    "The value '{part}' passed for the 'part' parameter is not valid. (Parameter 'part')"
                )));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_utility() {
        assert_eq!(url_encode("a b&c=d/é*"), "a+b%26c%3Dd%2F%C3%A9*");
        assert_eq!(url_decode("a+b%26c%3dd%2F%C3%A9%zz"), "a b&c=d/é%zz");
        assert_eq!(
            html_encode("<a href='x'>&\"é"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&#233;"
        );
        assert_eq!(
            html_decode("&lt;b&gt; &amp;amp; &#65;&#x42; &copy; &bogus; & x"),
            "<b> &amp; AB © &bogus; & x"
        );
    }

    #[test]
    fn uri_escaping() {
        assert_eq!(escape_data_string("a b/c?d=é~"), "a%20b%2Fc%3Fd%3D%C3%A9~");
        assert_eq!(
            escape_uri_string("http://x/a b?q=1&r=%"),
            "http://x/a%20b?q=1&r=%25"
        );
        assert_eq!(
            unescape_data_string("a%20b%2Fc%C3%A9%zz%FF"),
            "a b/cé%zz%FF"
        );
    }

    #[test]
    fn uri_parsing() {
        let u = Uri::parse("HTTPS://Contoso.Azure-Api.net:443/openai/../deployments/gpt 4o/chat?api-version=2024&x=a b#frag").unwrap();
        assert_eq!(u.scheme, "https");
        assert_eq!(u.host, "contoso.azure-api.net");
        assert_eq!(u.port, 443);
        assert!(u.is_default_port);
        assert_eq!(u.absolute_path, "/deployments/gpt%204o/chat");
        assert_eq!(u.query, "?api-version=2024&x=a%20b");
        assert_eq!(u.fragment, "#frag");
        assert_eq!(
            u.path_and_query(),
            "/deployments/gpt%204o/chat?api-version=2024&x=a%20b"
        );
        assert_eq!(
            u.absolute_uri(),
            "https://contoso.azure-api.net/deployments/gpt%204o/chat?api-version=2024&x=a%20b#frag"
        );
        assert_eq!(u.segments(), vec!["/", "deployments/", "gpt%204o/", "chat"]);
        let v = Uri::parse("http://localhost:8080").unwrap();
        assert_eq!(
            (v.port, v.absolute_path.as_str(), v.authority()),
            (8080, "/", "localhost:8080".to_string())
        );
        assert_eq!(v.get_left_part(1).unwrap(), "http://localhost:8080");
        assert_eq!(
            Uri::parse("/relative").unwrap_err().kind,
            ExceptionKind::UriFormatException
        );
        assert_eq!(
            Uri::parse("http://h:99999/").unwrap_err().kind,
            ExceptionKind::UriFormatException
        );
    }
}
