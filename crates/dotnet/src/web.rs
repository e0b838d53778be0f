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

/// The HTML 4 named entities (.NET's `WebUtility.HtmlDecode` table).
const ENTITIES: &[(&str, char)] = &[
    ("apos", '\''),
    ("AElig", '\u{c6}'),
    ("Aacute", '\u{c1}'),
    ("Acirc", '\u{c2}'),
    ("Agrave", '\u{c0}'),
    ("Alpha", '\u{391}'),
    ("Aring", '\u{c5}'),
    ("Atilde", '\u{c3}'),
    ("Auml", '\u{c4}'),
    ("Beta", '\u{392}'),
    ("Ccedil", '\u{c7}'),
    ("Chi", '\u{3a7}'),
    ("Dagger", '\u{2021}'),
    ("Delta", '\u{394}'),
    ("ETH", '\u{d0}'),
    ("Eacute", '\u{c9}'),
    ("Ecirc", '\u{ca}'),
    ("Egrave", '\u{c8}'),
    ("Epsilon", '\u{395}'),
    ("Eta", '\u{397}'),
    ("Euml", '\u{cb}'),
    ("Gamma", '\u{393}'),
    ("Iacute", '\u{cd}'),
    ("Icirc", '\u{ce}'),
    ("Igrave", '\u{cc}'),
    ("Iota", '\u{399}'),
    ("Iuml", '\u{cf}'),
    ("Kappa", '\u{39a}'),
    ("Lambda", '\u{39b}'),
    ("Mu", '\u{39c}'),
    ("Ntilde", '\u{d1}'),
    ("Nu", '\u{39d}'),
    ("OElig", '\u{152}'),
    ("Oacute", '\u{d3}'),
    ("Ocirc", '\u{d4}'),
    ("Ograve", '\u{d2}'),
    ("Omega", '\u{3a9}'),
    ("Omicron", '\u{39f}'),
    ("Oslash", '\u{d8}'),
    ("Otilde", '\u{d5}'),
    ("Ouml", '\u{d6}'),
    ("Phi", '\u{3a6}'),
    ("Pi", '\u{3a0}'),
    ("Prime", '\u{2033}'),
    ("Psi", '\u{3a8}'),
    ("Rho", '\u{3a1}'),
    ("Scaron", '\u{160}'),
    ("Sigma", '\u{3a3}'),
    ("THORN", '\u{de}'),
    ("Tau", '\u{3a4}'),
    ("Theta", '\u{398}'),
    ("Uacute", '\u{da}'),
    ("Ucirc", '\u{db}'),
    ("Ugrave", '\u{d9}'),
    ("Upsilon", '\u{3a5}'),
    ("Uuml", '\u{dc}'),
    ("Xi", '\u{39e}'),
    ("Yacute", '\u{dd}'),
    ("Yuml", '\u{178}'),
    ("Zeta", '\u{396}'),
    ("aacute", '\u{e1}'),
    ("acirc", '\u{e2}'),
    ("acute", '\u{b4}'),
    ("aelig", '\u{e6}'),
    ("agrave", '\u{e0}'),
    ("alefsym", '\u{2135}'),
    ("alpha", '\u{3b1}'),
    ("amp", '\u{26}'),
    ("and", '\u{2227}'),
    ("ang", '\u{2220}'),
    ("aring", '\u{e5}'),
    ("asymp", '\u{2248}'),
    ("atilde", '\u{e3}'),
    ("auml", '\u{e4}'),
    ("bdquo", '\u{201e}'),
    ("beta", '\u{3b2}'),
    ("brvbar", '\u{a6}'),
    ("bull", '\u{2022}'),
    ("cap", '\u{2229}'),
    ("ccedil", '\u{e7}'),
    ("cedil", '\u{b8}'),
    ("cent", '\u{a2}'),
    ("chi", '\u{3c7}'),
    ("circ", '\u{2c6}'),
    ("clubs", '\u{2663}'),
    ("cong", '\u{2245}'),
    ("copy", '\u{a9}'),
    ("crarr", '\u{21b5}'),
    ("cup", '\u{222a}'),
    ("curren", '\u{a4}'),
    ("dArr", '\u{21d3}'),
    ("dagger", '\u{2020}'),
    ("darr", '\u{2193}'),
    ("deg", '\u{b0}'),
    ("delta", '\u{3b4}'),
    ("diams", '\u{2666}'),
    ("divide", '\u{f7}'),
    ("eacute", '\u{e9}'),
    ("ecirc", '\u{ea}'),
    ("egrave", '\u{e8}'),
    ("empty", '\u{2205}'),
    ("emsp", '\u{2003}'),
    ("ensp", '\u{2002}'),
    ("epsilon", '\u{3b5}'),
    ("equiv", '\u{2261}'),
    ("eta", '\u{3b7}'),
    ("eth", '\u{f0}'),
    ("euml", '\u{eb}'),
    ("euro", '\u{20ac}'),
    ("exist", '\u{2203}'),
    ("fnof", '\u{192}'),
    ("forall", '\u{2200}'),
    ("frac12", '\u{bd}'),
    ("frac14", '\u{bc}'),
    ("frac34", '\u{be}'),
    ("frasl", '\u{2044}'),
    ("gamma", '\u{3b3}'),
    ("ge", '\u{2265}'),
    ("gt", '\u{3e}'),
    ("hArr", '\u{21d4}'),
    ("harr", '\u{2194}'),
    ("hearts", '\u{2665}'),
    ("hellip", '\u{2026}'),
    ("iacute", '\u{ed}'),
    ("icirc", '\u{ee}'),
    ("iexcl", '\u{a1}'),
    ("igrave", '\u{ec}'),
    ("image", '\u{2111}'),
    ("infin", '\u{221e}'),
    ("int", '\u{222b}'),
    ("iota", '\u{3b9}'),
    ("iquest", '\u{bf}'),
    ("isin", '\u{2208}'),
    ("iuml", '\u{ef}'),
    ("kappa", '\u{3ba}'),
    ("lArr", '\u{21d0}'),
    ("lambda", '\u{3bb}'),
    ("lang", '\u{2329}'),
    ("laquo", '\u{ab}'),
    ("larr", '\u{2190}'),
    ("lceil", '\u{2308}'),
    ("ldquo", '\u{201c}'),
    ("le", '\u{2264}'),
    ("lfloor", '\u{230a}'),
    ("lowast", '\u{2217}'),
    ("loz", '\u{25ca}'),
    ("lrm", '\u{200e}'),
    ("lsaquo", '\u{2039}'),
    ("lsquo", '\u{2018}'),
    ("lt", '\u{3c}'),
    ("macr", '\u{af}'),
    ("mdash", '\u{2014}'),
    ("micro", '\u{b5}'),
    ("middot", '\u{b7}'),
    ("minus", '\u{2212}'),
    ("mu", '\u{3bc}'),
    ("nabla", '\u{2207}'),
    ("nbsp", '\u{a0}'),
    ("ndash", '\u{2013}'),
    ("ne", '\u{2260}'),
    ("ni", '\u{220b}'),
    ("not", '\u{ac}'),
    ("notin", '\u{2209}'),
    ("nsub", '\u{2284}'),
    ("ntilde", '\u{f1}'),
    ("nu", '\u{3bd}'),
    ("oacute", '\u{f3}'),
    ("ocirc", '\u{f4}'),
    ("oelig", '\u{153}'),
    ("ograve", '\u{f2}'),
    ("oline", '\u{203e}'),
    ("omega", '\u{3c9}'),
    ("omicron", '\u{3bf}'),
    ("oplus", '\u{2295}'),
    ("or", '\u{2228}'),
    ("ordf", '\u{aa}'),
    ("ordm", '\u{ba}'),
    ("oslash", '\u{f8}'),
    ("otilde", '\u{f5}'),
    ("otimes", '\u{2297}'),
    ("ouml", '\u{f6}'),
    ("para", '\u{b6}'),
    ("part", '\u{2202}'),
    ("permil", '\u{2030}'),
    ("perp", '\u{22a5}'),
    ("phi", '\u{3c6}'),
    ("pi", '\u{3c0}'),
    ("piv", '\u{3d6}'),
    ("plusmn", '\u{b1}'),
    ("pound", '\u{a3}'),
    ("prime", '\u{2032}'),
    ("prod", '\u{220f}'),
    ("prop", '\u{221d}'),
    ("psi", '\u{3c8}'),
    ("quot", '\u{22}'),
    ("rArr", '\u{21d2}'),
    ("radic", '\u{221a}'),
    ("rang", '\u{232a}'),
    ("raquo", '\u{bb}'),
    ("rarr", '\u{2192}'),
    ("rceil", '\u{2309}'),
    ("rdquo", '\u{201d}'),
    ("real", '\u{211c}'),
    ("reg", '\u{ae}'),
    ("rfloor", '\u{230b}'),
    ("rho", '\u{3c1}'),
    ("rlm", '\u{200f}'),
    ("rsaquo", '\u{203a}'),
    ("rsquo", '\u{2019}'),
    ("sbquo", '\u{201a}'),
    ("scaron", '\u{161}'),
    ("sdot", '\u{22c5}'),
    ("sect", '\u{a7}'),
    ("shy", '\u{ad}'),
    ("sigma", '\u{3c3}'),
    ("sigmaf", '\u{3c2}'),
    ("sim", '\u{223c}'),
    ("spades", '\u{2660}'),
    ("sub", '\u{2282}'),
    ("sube", '\u{2286}'),
    ("sum", '\u{2211}'),
    ("sup", '\u{2283}'),
    ("sup1", '\u{b9}'),
    ("sup2", '\u{b2}'),
    ("sup3", '\u{b3}'),
    ("supe", '\u{2287}'),
    ("szlig", '\u{df}'),
    ("tau", '\u{3c4}'),
    ("there4", '\u{2234}'),
    ("theta", '\u{3b8}'),
    ("thetasym", '\u{3d1}'),
    ("thinsp", '\u{2009}'),
    ("thorn", '\u{fe}'),
    ("tilde", '\u{2dc}'),
    ("times", '\u{d7}'),
    ("trade", '\u{2122}'),
    ("uArr", '\u{21d1}'),
    ("uacute", '\u{fa}'),
    ("uarr", '\u{2191}'),
    ("ucirc", '\u{fb}'),
    ("ugrave", '\u{f9}'),
    ("uml", '\u{a8}'),
    ("upsih", '\u{3d2}'),
    ("upsilon", '\u{3c5}'),
    ("uuml", '\u{fc}'),
    ("weierp", '\u{2118}'),
    ("xi", '\u{3be}'),
    ("yacute", '\u{fd}'),
    ("yen", '\u{a5}'),
    ("yuml", '\u{ff}'),
    ("zeta", '\u{3b6}'),
    ("zwj", '\u{200d}'),
    ("zwnj", '\u{200c}'),
];

/// `WebUtility.HtmlDecode(s)`: numeric (`&#65;`, `&#x41;`) and the HTML 4 named entities;
/// unknown entities are kept as written.
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
    b":/?#[]@!$&'()*+,;=".contains(&b)
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

/// RFC 3986 §5.2.4, as `System.Uri` applies it to hierarchical paths.
pub fn remove_dot_segments(path: &str) -> String {
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
    escape_with(p, |b| is_unreserved(b) || b"/%:@!$&'()*+,;=".contains(&b))
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

    /// `new Uri(baseUri, relative)`: RFC 3986 reference resolution (an absolute `relative`
    /// wins; `//host`, `/path`, `?query`, `#fragment` and relative paths merge with the base).
    pub fn join(&self, relative: &str) -> DotNetResult<Uri> {
        let r = relative.trim();
        if let Ok(abs) = Uri::parse(r)
            && r.contains("://")
        {
            return Ok(abs);
        }
        let base = format!(
            "{}://{}{}",
            self.scheme,
            if self.user_info.is_empty() {
                String::new()
            } else {
                format!("{}@", self.user_info)
            },
            self.authority()
        );
        let target = if r.starts_with("//") {
            format!("{}:{r}", self.scheme)
        } else if r.starts_with('/') {
            format!("{base}{r}")
        } else if r.starts_with('?') {
            format!("{base}{}{r}", self.absolute_path)
        } else if r.starts_with('#') {
            format!("{base}{}{}{r}", self.absolute_path, self.query)
        } else if r.is_empty() {
            format!("{base}{}{}", self.absolute_path, self.query)
        } else {
            let dir = match self.absolute_path.rfind('/') {
                Some(i) => &self.absolute_path[..=i],
                None => "/",
            };
            format!("{base}{dir}{r}")
        };
        Uri::parse(&target)
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
