//! Expectation matching: pure functions that describe every mismatch as expected vs actual, with
//! where it was found (`body $.choices[0].message`, `header retry-after`, `backend call 2 url`).

use std::fmt;

use serde_json::Value;

use crate::format::{BodyExpect, HeaderExpect, HeaderRule};

/// One failed expectation.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// What was checked: `status`, `header x-y`, `body $.a[0]`, `backend call 1 url`.
    pub at: String,
    pub expected: String,
    pub actual: String,
}

impl Mismatch {
    pub fn new(
        at: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Mismatch {
            at: at.into(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }
    /// The same mismatch under a prefix (`step 2: ...`).
    pub fn under(mut self, prefix: &str) -> Self {
        self.at = format!("{prefix} {}", self.at);
        self
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\n    expected: {}\n    actual:   {}",
            self.at, self.expected, self.actual
        )
    }
}

fn show(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn join_path(base: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        format!("{base}.{key}")
    } else {
        format!("{base}[{}]", show(&Value::String(key.into())))
    }
}

/// JSON subset: every member of an expected object must be in the actual one (more members are
/// fine); arrays must have the same length and match element-wise; numbers compare by value.
pub fn json_subset(expected: &Value, actual: &Value, path: &str, out: &mut Vec<Mismatch>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let p = join_path(path, k);
                match a.get(k) {
                    Some(av) => json_subset(ev, av, &p, out),
                    None => out.push(Mismatch::new(p, show(ev), "(no such member)")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                out.push(Mismatch::new(
                    path,
                    format!("an array of {} items: {}", e.len(), show(expected)),
                    format!("an array of {} items: {}", a.len(), show(actual)),
                ));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                json_subset(ev, av, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            let same = match (e.as_i64(), a.as_i64()) {
                (Some(x), Some(y)) => x == y,
                _ => e.as_f64() == a.as_f64(),
            };
            if !same {
                out.push(Mismatch::new(path, e.to_string(), a.to_string()));
            }
        }
        (e, a) if e == a => {}
        (e, a) => out.push(Mismatch::new(path, show(e), show(a))),
    }
}

/// A parsed JSONPath: `$`, `.name`, `['name']`, `[n]` (negative from the end), `[*]`, `.*`,
/// `..name`.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Child(String),
    Index(i64),
    Wildcard,
    Descendant(String),
}

/// Parses the JSONPath subset; filters (`[?(...)]`) are reported as unsupported.
pub fn parse_json_path(p: &str) -> Result<Vec<Segment>, String> {
    let rest = p
        .strip_prefix('$')
        .ok_or_else(|| format!("JSONPath `{p}` must start with `$`"))?;
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let ident = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && chars[*i] != '.' && chars[*i] != '[' {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    while i < chars.len() {
        match chars[i] {
            '.' if chars.get(i + 1) == Some(&'.') => {
                i += 2;
                let name = ident(&mut i);
                if name.is_empty() {
                    return Err(format!("JSONPath `{p}`: `..` needs a member name"));
                }
                out.push(Segment::Descendant(name));
            }
            '.' => {
                i += 1;
                let name = ident(&mut i);
                match name.as_str() {
                    "" => return Err(format!("JSONPath `{p}`: empty member name")),
                    "*" => out.push(Segment::Wildcard),
                    _ => out.push(Segment::Child(name)),
                }
            }
            '[' => {
                let close = chars[i..]
                    .iter()
                    .position(|c| *c == ']')
                    .ok_or_else(|| format!("JSONPath `{p}`: `[` without `]`"))?;
                let inner: String = chars[i + 1..i + close].iter().collect();
                let inner = inner.trim();
                i += close + 1;
                if inner == "*" {
                    out.push(Segment::Wildcard);
                } else if inner.starts_with('?') {
                    return Err(format!(
                        "JSONPath `{p}`: filters (`[?(...)]`) are not supported; use `[*]` and a JSON subset"
                    ));
                } else if let Some(q) = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    out.push(Segment::Child(q.to_string()));
                } else {
                    let n: i64 = inner
                        .parse()
                        .map_err(|_| format!("JSONPath `{p}`: `[{inner}]` is not an index"))?;
                    out.push(Segment::Index(n));
                }
            }
            c => return Err(format!("JSONPath `{p}`: unexpected `{c}`")),
        }
    }
    Ok(out)
}

fn descendants<'a>(v: &'a Value, name: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == name {
                    out.push(x);
                }
                descendants(x, name, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| descendants(x, name, out)),
        _ => {}
    }
}

/// Every value `path` selects, in document order.
pub fn json_path<'a>(root: &'a Value, path: &str) -> Result<Vec<&'a Value>, String> {
    let segs = parse_json_path(path)?;
    let mut cur = vec![root];
    for s in &segs {
        let mut next = Vec::new();
        for v in cur {
            match (s, v) {
                (Segment::Child(k), Value::Object(m)) => next.extend(m.get(k)),
                (Segment::Index(n), Value::Array(a)) => {
                    let idx = if *n < 0 { a.len() as i64 + n } else { *n };
                    if idx >= 0 {
                        next.extend(a.get(idx as usize));
                    }
                }
                (Segment::Wildcard, Value::Array(a)) => next.extend(a.iter()),
                (Segment::Wildcard, Value::Object(m)) => next.extend(m.values()),
                (Segment::Descendant(k), v) => descendants(v, k, &mut next),
                _ => {}
            }
        }
        cur = next;
    }
    Ok(cur)
}

fn compile(re: &str, at: &str, out: &mut Vec<Mismatch>) -> Option<regex::Regex> {
    match regex::Regex::new(re) {
        Ok(r) => Some(r),
        Err(e) => {
            out.push(Mismatch::new(
                at,
                format!("a valid regex `{re}`"),
                format!("invalid: {e}"),
            ));
            None
        }
    }
}

/// Checks a header rule against the header's values (`None`: absent).
pub fn match_header(
    name: &str,
    rule: &HeaderExpect,
    actual: Option<&str>,
    at: &str,
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let at = format!("{at}header {name}");
    let shown = |a: Option<&str>| match a {
        Some(v) => format!("{v:?}"),
        None => "(absent)".to_string(),
    };
    let rule = match rule {
        HeaderExpect::Exact(v) => &HeaderRule {
            equals: Some(v.clone()),
            ..Default::default()
        },
        HeaderExpect::Rule(r) => r,
    };
    match (rule.absent, actual) {
        (Some(true), Some(v)) => out.push(Mismatch::new(&at, "(absent)", format!("{v:?}"))),
        (Some(false), None) => out.push(Mismatch::new(&at, "(present)", "(absent)")),
        _ => {}
    }
    if let Some(e) = &rule.equals {
        if actual != Some(e.as_str()) {
            out.push(Mismatch::new(&at, format!("{e:?}"), shown(actual)));
        }
    }
    if let Some(c) = &rule.contains {
        if !actual.is_some_and(|a| a.contains(c.as_str())) {
            out.push(Mismatch::new(
                &at,
                format!("containing {c:?}"),
                shown(actual),
            ));
        }
    }
    if let Some(re) = &rule.regex {
        if let Some(r) = compile(re, &at, &mut out) {
            if !actual.is_some_and(|a| r.is_match(a)) {
                out.push(Mismatch::new(
                    &at,
                    format!("matching /{re}/"),
                    shown(actual),
                ));
            }
        }
    }
    out
}

fn clip(s: &str) -> String {
    const MAX: usize = 400;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}… ({} bytes)", s.len())
    }
}

/// Checks a body against every given rule. `at` prefixes the description (`body`, `backend call 1 body`).
pub fn match_body(rule: &BodyExpect, body: &[u8], at: &str) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let text = String::from_utf8_lossy(body);
    if let Some(e) = rule.empty {
        if e != body.is_empty() {
            out.push(Mismatch::new(
                at,
                if e { "an empty body" } else { "a body" },
                if body.is_empty() {
                    "(empty)".to_string()
                } else {
                    clip(&text)
                },
            ));
        }
    }
    if let Some(t) = &rule.text {
        if text != t.as_str() {
            out.push(Mismatch::new(at, clip(t), clip(&text)));
        }
    }
    if let Some(c) = &rule.contains {
        if !text.contains(c.as_str()) {
            out.push(Mismatch::new(at, format!("containing {c:?}"), clip(&text)));
        }
    }
    if let Some(re) = &rule.regex {
        if let Some(r) = compile(re, at, &mut out) {
            if !r.is_match(&text) {
                out.push(Mismatch::new(at, format!("matching /{re}/"), clip(&text)));
            }
        }
    }
    if rule.json.is_none() && rule.json_path.is_empty() {
        return out;
    }
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            out.push(Mismatch::new(
                at,
                "a JSON body",
                format!("not JSON ({e}): {}", clip(&text)),
            ));
            return out;
        }
    };
    if let Some(j) = &rule.json {
        json_subset(j, &parsed, &format!("{at} $"), &mut out);
    }
    for (p, expected) in &rule.json_path {
        let where_ = format!("{at} {p}");
        match json_path(&parsed, p) {
            Err(e) => out.push(Mismatch::new(where_, "a supported JSONPath", e)),
            Ok(found) => match found.first() {
                None => out.push(Mismatch::new(where_, show(expected), "(no match)")),
                Some(v) => json_subset(expected, v, &where_, &mut out),
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn subset(e: Value, a: Value) -> Vec<Mismatch> {
        let mut out = Vec::new();
        json_subset(&e, &a, "$", &mut out);
        out
    }

    #[test]
    fn json_subset_allows_extra_members_and_names_paths() {
        assert!(subset(json!({"a": 1}), json!({"a": 1.0, "b": 2})).is_empty());
        let m = subset(
            json!({"a": {"b": [1, {"c": "x"}]}, "d weird": true}),
            json!({"a": {"b": [1, {"c": "y"}]}}),
        );
        assert_eq!(
            m,
            vec![
                Mismatch::new("$.a.b[1].c", "\"x\"", "\"y\""),
                Mismatch::new("$[\"d weird\"]", "true", "(no such member)"),
            ]
        );
        let m = subset(json!([1]), json!([1, 2]));
        assert_eq!(m[0].expected, "an array of 1 items: [1]");
        assert_eq!(subset(json!("1"), json!(1))[0].actual, "1");
    }

    #[test]
    fn json_path_subset() {
        let doc = json!({"choices": [{"message": {"content": "hi"}}, {"message": {"content": "yo"}}],
                         "usage": {"total_tokens": 12}});
        let one = |p: &str| {
            json_path(&doc, p)
                .unwrap()
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(one("$.usage.total_tokens"), vec![json!(12)]);
        assert_eq!(one("$.choices[1].message.content"), vec![json!("yo")]);
        assert_eq!(one("$.choices[-1].message.content"), vec![json!("yo")]);
        assert_eq!(
            one("$.choices[*].message.content"),
            vec![json!("hi"), json!("yo")]
        );
        assert_eq!(one("$..content"), vec![json!("hi"), json!("yo")]);
        assert_eq!(one("$['usage']['total_tokens']"), vec![json!(12)]);
        assert_eq!(one("$.nope"), Vec::<Value>::new());
        assert_eq!(one("$"), vec![doc.clone()]);
        assert!(
            json_path(&doc, "$.a[?(@.x)]")
                .unwrap_err()
                .contains("filters")
        );
        assert!(json_path(&doc, "a.b").is_err());
        assert!(json_path(&doc, "$.a[").is_err());
    }

    #[test]
    fn headers() {
        let exact = HeaderExpect::Exact("5".into());
        assert!(match_header("retry-after", &exact, Some("5"), "").is_empty());
        assert_eq!(
            match_header("retry-after", &exact, None, ""),
            vec![Mismatch::new("header retry-after", "\"5\"", "(absent)")]
        );
        let absent = HeaderExpect::Rule(HeaderRule {
            absent: Some(true),
            ..Default::default()
        });
        assert_eq!(match_header("x", &absent, Some("v"), "")[0].actual, "\"v\"");
        assert!(match_header("x", &absent, None, "").is_empty());
        let re = HeaderExpect::Rule(HeaderRule {
            regex: Some("^[0-9]+$".into()),
            ..Default::default()
        });
        assert!(match_header("x", &re, Some("42"), "").is_empty());
        assert_eq!(
            match_header("x", &re, Some("4a"), "")[0].expected,
            "matching /^[0-9]+$/"
        );
        let bad = HeaderExpect::Rule(HeaderRule {
            regex: Some("(".into()),
            ..Default::default()
        });
        assert!(
            match_header("x", &bad, Some("a"), "")[0]
                .actual
                .starts_with("invalid")
        );
    }

    #[test]
    fn bodies() {
        let body = br#"{"error":{"code":"429","message":"Rate limit"}}"#;
        let mut rule = BodyExpect {
            json: Some(json!({"error": {"code": "429"}})),
            regex: Some("Rate".into()),
            ..Default::default()
        };
        rule.json_path
            .insert("$.error.message".into(), json!("Rate limit"));
        assert!(match_body(&rule, body, "body").is_empty());
        rule.json_path.insert("$.error.status".into(), json!(429));
        assert_eq!(
            match_body(&rule, body, "body"),
            vec![Mismatch::new("body $.error.status", "429", "(no match)")]
        );
        let text = BodyExpect {
            text: Some("a".into()),
            ..Default::default()
        };
        assert_eq!(
            match_body(&text, b"b", "body"),
            vec![Mismatch::new("body", "\"a\"", "\"b\"")]
        );
        let j = BodyExpect {
            json: Some(json!({})),
            ..Default::default()
        };
        assert_eq!(match_body(&j, b"<x/>", "body")[0].expected, "a JSON body");
        let empty = BodyExpect {
            empty: Some(true),
            ..Default::default()
        };
        assert!(match_body(&empty, b"", "body").is_empty());
        assert_eq!(match_body(&empty, b"x", "body")[0].actual, "\"x\"");
    }
}
