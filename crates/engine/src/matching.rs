//! API and operation matching as the gateway does it (pipeline.md §3 step 2): the API by its URL
//! suffix (longest first; version and revision), then the operation by method and URL template
//! (`{param}` segments, `{*param}` and `/*` wildcards, template query parameters).

use std::cmp::Ordering;

use crate::http::{HeaderMap, QueryMap, Url, percent_decode};
use crate::service::{Api, Operation, ServiceDefinition, VersioningScheme};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("URL template '{0}' must start with '/'")]
    NoLeadingSlash(String),
    #[error("URL template '{0}' has an unbalanced '{{' or '}}'")]
    Unbalanced(String),
    #[error("URL template '{0}' has an empty or invalid parameter name")]
    BadParameter(String),
    #[error("URL template '{0}' has two parameters with nothing between them")]
    AdjacentParameters(String),
    #[error("URL template '{0}': a wildcard must be the last segment")]
    WildcardNotLast(String),
    #[error("URL template '{0}' declares parameter '{1}' twice")]
    DuplicateParameter(String, String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// Shared with every match's MatchedParameters.
    Param(std::sync::Arc<str>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Parts(Vec<Part>),
    /// `{*name}` (named) or `*` (unnamed): the rest of the path.
    Wildcard(Option<std::sync::Arc<str>>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum QueryPart {
    Param(std::sync::Arc<str>),
    Literal(String),
}

/// A parsed operation URL template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate {
    text: String,
    segments: Vec<Segment>,
    query: Vec<(String, QueryPart)>,
}

fn parse_parts(seg: &str, full: &str, names: &mut Vec<String>) -> Result<Vec<Part>, TemplateError> {
    let mut parts = Vec::new();
    let mut rest = seg;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('{') {
            let close = after
                .find('}')
                .ok_or_else(|| TemplateError::Unbalanced(full.into()))?;
            let name = &after[..close];
            if name.is_empty() || name.contains(['{', '/', '*', '?']) {
                return Err(TemplateError::BadParameter(full.into()));
            }
            if matches!(parts.last(), Some(Part::Param(_))) {
                return Err(TemplateError::AdjacentParameters(full.into()));
            }
            if names.iter().any(|n| n == name) {
                return Err(TemplateError::DuplicateParameter(full.into(), name.into()));
            }
            names.push(name.to_string());
            parts.push(Part::Param(name.into()));
            rest = &after[close + 1..];
        } else {
            let end = rest.find('{').unwrap_or(rest.len());
            let lit = &rest[..end];
            if lit.contains('}') {
                return Err(TemplateError::Unbalanced(full.into()));
            }
            parts.push(Part::Literal(lit.to_string()));
            rest = &rest[end..];
        }
    }
    Ok(parts)
}

impl UrlTemplate {
    pub fn parse(text: &str) -> Result<UrlTemplate, TemplateError> {
        let t = text.trim();
        if !t.starts_with('/') {
            return Err(TemplateError::NoLeadingSlash(text.into()));
        }
        let (path, query) = t.split_once('?').unwrap_or((t, ""));
        let mut names = Vec::new();
        let mut segments = Vec::new();
        let raw: Vec<&str> = path[1..].split('/').collect();
        for (i, seg) in raw.iter().enumerate() {
            let last = i + 1 == raw.len();
            let wildcard = if *seg == "*" {
                Some(None)
            } else if let Some(n) = seg.strip_prefix("{*").and_then(|s| s.strip_suffix('}')) {
                if n.is_empty() || n.contains(['{', '}', '/']) {
                    return Err(TemplateError::BadParameter(text.into()));
                }
                names.push(n.to_string());
                Some(Some(n.into()))
            } else {
                None
            };
            match wildcard {
                Some(w) if last => segments.push(Segment::Wildcard(w)),
                Some(_) => return Err(TemplateError::WildcardNotLast(text.into())),
                None if seg.is_empty() && last => {} // trailing slash or bare "/"
                None => segments.push(Segment::Parts(parse_parts(seg, text, &mut names)?)),
            }
        }
        let mut q = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            let part = match v.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
                Some(p) if !p.is_empty() && !p.contains(['{', '}']) => {
                    if names.iter().any(|x| x == p) {
                        return Err(TemplateError::DuplicateParameter(text.into(), p.into()));
                    }
                    names.push(p.to_string());
                    QueryPart::Param(p.into())
                }
                _ if v.contains(['{', '}']) => return Err(TemplateError::Unbalanced(text.into())),
                _ => QueryPart::Literal(percent_decode(v, true)),
            };
            q.push((percent_decode(n, true), part));
        }
        Ok(UrlTemplate {
            text: text.to_string(),
            segments,
            query: q,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Names of the template's query parameters.
    pub fn query_names(&self) -> impl Iterator<Item = &str> {
        self.query.iter().map(|(n, _)| n.as_str())
    }

    /// Parameter names in declaration order (path, then query).
    pub fn parameter_names(&self) -> Vec<&str> {
        let mut v = Vec::new();
        for s in &self.segments {
            match s {
                Segment::Parts(ps) => v.extend(ps.iter().filter_map(|p| match p {
                    Part::Param(n) => Some(&**n),
                    _ => None,
                })),
                Segment::Wildcard(Some(n)) => v.push(&**n),
                Segment::Wildcard(None) => {}
            }
        }
        v.extend(self.query.iter().filter_map(|(_, p)| match p {
            QueryPart::Param(n) => Some(&**n),
            _ => None,
        }));
        v
    }

    /// Matches a path (raw, after the API prefix, starting with `/` or empty) and query.
    pub fn matches(&self, path: &str, query: &QueryMap) -> Option<MatchedParameters> {
        self.matches_segments(&path_segments(path), query)
    }

    /// [`UrlTemplate::matches`] on a path already split by [`path_segments`] (split once for
    /// every operation of an API).
    fn matches_segments(&self, segs: &[&str], query: &QueryMap) -> Option<MatchedParameters> {
        // Literal segments decide most misses: check them before capturing anything.
        if !self
            .segments
            .iter()
            .any(|s| matches!(s, Segment::Wildcard(_)))
            && self.segments.len() != segs.len()
        {
            return None;
        }
        for (seg, s) in self.segments.iter().zip(segs) {
            if let Segment::Parts(parts) = seg
                && let [Part::Literal(l)] = parts.as_slice()
                && !s.eq_ignore_ascii_case(l)
            {
                return None;
            }
        }
        let mut params = MatchedParameters::default();
        let mut i = 0;
        for seg in &self.segments {
            match seg {
                Segment::Wildcard(name) => {
                    let rest = segs[i.min(segs.len())..].join("/");
                    if let Some(n) = name {
                        params.push(n, &rest);
                    }
                    i = segs.len();
                }
                Segment::Parts(parts) => {
                    let s = segs.get(i)?;
                    match_parts(parts, s, &mut params)?;
                    i += 1;
                }
            }
        }
        if i != segs.len() {
            return None;
        }
        for (name, part) in &self.query {
            let values = query.get(name)?;
            let first = values.first()?;
            match part {
                QueryPart::Param(p) => params.push_decoded(p, first.clone(), None),
                QueryPart::Literal(l) => {
                    if !values.iter().any(|v| v == l) {
                        return None;
                    }
                }
            }
        }
        Some(params)
    }
}

/// The segments of a path after the API prefix (leading and trailing `/` dropped).
fn path_segments(path: &str) -> Vec<&str> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    }
}

impl UrlTemplate {
    /// Orders templates from most to least specific (literal beats mixed beats parameter beats
    /// wildcard, segment by segment; then more query conditions; then more segments).
    fn specificity_cmp(&self, other: &UrlTemplate) -> Ordering {
        fn rank(s: Option<&Segment>) -> u8 {
            match s {
                Some(Segment::Parts(p)) if p.iter().all(|x| matches!(x, Part::Literal(_))) => 4,
                Some(Segment::Parts(p)) if p.iter().any(|x| matches!(x, Part::Literal(_))) => 3,
                Some(Segment::Parts(_)) => 2,
                Some(Segment::Wildcard(_)) => 1,
                None => 0,
            }
        }
        let n = self.segments.len().max(other.segments.len());
        for k in 0..n {
            let c = rank(self.segments.get(k)).cmp(&rank(other.segments.get(k)));
            if c != Ordering::Equal {
                return c;
            }
        }
        self.query.len().cmp(&other.query.len())
    }
}

fn match_parts(parts: &[Part], seg: &str, params: &mut MatchedParameters) -> Option<()> {
    let mut rest = seg;
    let mut idx = 0;
    while idx < parts.len() {
        match &parts[idx] {
            Part::Literal(l) => {
                if rest.len() < l.len()
                    || !rest.is_char_boundary(l.len())
                    || !rest[..l.len()].eq_ignore_ascii_case(l)
                {
                    return None;
                }
                rest = &rest[l.len()..];
            }
            Part::Param(name) => {
                let value = match parts.get(idx + 1) {
                    // Up to the next literal (shortest match).
                    Some(Part::Literal(next)) => {
                        let lower = rest.to_ascii_lowercase();
                        let at = lower.get(1..)?.find(&next.to_ascii_lowercase())? + 1;
                        &rest[..at]
                    }
                    _ => rest,
                };
                if value.is_empty() {
                    return None;
                }
                params.push(name, value);
                rest = &rest[value.len()..];
            }
        }
        idx += 1;
    }
    rest.is_empty().then_some(())
}

/// `context.Request.MatchedParameters`: template parameter values (decoded), in template order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchedParameters {
    /// Name (shared with the template), decoded value, and the raw value when it differs.
    entries: Vec<(std::sync::Arc<str>, String, Option<String>)>,
}

impl MatchedParameters {
    fn push(&mut self, name: &std::sync::Arc<str>, raw: &str) {
        let value = percent_decode(raw, false);
        let raw = (value != raw).then(|| raw.to_string());
        self.push_decoded(name, value, raw);
    }
    fn push_decoded(&mut self, name: &std::sync::Arc<str>, value: String, raw: Option<String>) {
        self.entries.push((name.clone(), value, raw));
    }
    /// Decoded value; names compare case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v, _)| v.as_str())
    }
    /// The value as it appeared in the URL (still percent-encoded), for rewrite-uri.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v, r)| r.as_deref().unwrap_or(v))
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v, _)| (&**n, v.as_str()))
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The API and operation a request was matched to.
#[derive(Debug, Clone)]
pub struct RouteMatch<'a> {
    pub api: &'a Api,
    pub operation: &'a Operation,
    /// The request path after the API URL suffix (and version/revision segment), raw.
    pub rest_path: String,
    pub matched_parameters: MatchedParameters,
    /// Query parameters of the request that the operation's template does not name
    /// (rewrite-uri `copy-unmatched-params`).
    pub unmatched_query: QueryMap,
}

impl RouteMatch<'_> {
    /// The backend URL before any policy: API service URL + operation path + request query.
    /// `None` when the API has no service URL (policies must set one).
    pub fn backend_url(&self, original: &Url) -> Option<Result<Url, crate::http::UrlError>> {
        let base = self.api.service_url.as_deref()?;
        Some(Url::parse(base).and_then(|b| Url::compose(&b, &self.rest_path, original.query())))
    }
}

/// Why no operation matched; both become the 404 `OperationNotFound` outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("Unable to match incoming request to an operation.")]
    OperationNotFound {
        /// The API whose URL suffix matched, if any (its on-error may still run).
        api_id: Option<String>,
    },
}

/// Splits `path` after the API's URL suffix: `Some(rest)` when the suffix matches at a segment
/// boundary (case-insensitively).
fn strip_api_path<'p>(path: &'p str, api_path: &str) -> Option<&'p str> {
    let api_path = api_path.trim_matches('/');
    if api_path.is_empty() {
        return Some(path);
    }
    let after = path.strip_prefix('/')?;
    if after.len() < api_path.len() || !after.is_char_boundary(api_path.len()) {
        return None;
    }
    if !after[..api_path.len()].eq_ignore_ascii_case(api_path) {
        return None;
    }
    let rest = &after[api_path.len()..];
    (rest.is_empty() || rest.starts_with('/') || rest.starts_with(';')).then_some(rest)
}

/// Takes the `;rev=N` suffix of the API path segment, if any.
fn strip_revision(rest: &str) -> (Option<&str>, &str) {
    if let Some(r) = rest.strip_prefix(";rev=") {
        let end = r.find('/').unwrap_or(r.len());
        return (Some(&r[..end]), &r[end..]);
    }
    (None, rest)
}

/// Matches a request to an API and operation (builds a [`Router`] each time; hosts keep one).
pub fn match_request<'a>(
    service: &'a ServiceDefinition,
    method: &str,
    url: &Url,
    headers: &HeaderMap,
) -> Result<RouteMatch<'a>, RouteError> {
    Router::new(service).route(service, method, url, headers)
}

struct ApiRoute {
    /// Index into `ServiceDefinition::apis`.
    api: usize,
    /// Parsed operation templates (`None` when invalid: never matches; `validate` reports it).
    templates: Vec<Option<UrlTemplate>>,
    service_url: Option<Result<Url, crate::http::UrlError>>,
}

/// API and operation matching prepared once for a `ServiceDefinition`: templates parsed, APIs
/// ordered by URL suffix length. Use it only with the definition it was built from.
pub struct Router {
    routes: Vec<ApiRoute>,
}

impl Router {
    pub fn new(service: &ServiceDefinition) -> Router {
        let mut routes: Vec<ApiRoute> = service
            .apis
            .iter()
            .enumerate()
            .map(|(i, api)| ApiRoute {
                api: i,
                templates: api
                    .operations
                    .iter()
                    .map(|o| UrlTemplate::parse(&o.url_template).ok())
                    .collect(),
                service_url: api.service_url.as_deref().map(Url::parse),
            })
            .collect();
        // Longest API URL suffix first (stable: declaration order among equals).
        routes.sort_by_key(|r| std::cmp::Reverse(service.apis[r.api].path.trim_matches('/').len()));
        Router { routes }
    }

    /// The parsed service URL of an API.
    pub fn service_url(
        &self,
        service: &ServiceDefinition,
        api_id: &str,
    ) -> Option<Result<&Url, &crate::http::UrlError>> {
        self.routes
            .iter()
            .find(|r| service.apis[r.api].id == api_id)
            .and_then(|r| r.service_url.as_ref().map(|x| x.as_ref()))
    }

    /// Matches a request. `url` is the client's URL.
    pub fn route<'a>(
        &self,
        service: &'a ServiceDefinition,
        method: &str,
        url: &Url,
        headers: &HeaderMap,
    ) -> Result<RouteMatch<'a>, RouteError> {
        let path = url.path();
        let mut first_api: Option<&'a Api> = None;
        for route in &self.routes {
            let Some(api) = service.apis.get(route.api) else {
                continue;
            };
            let Some(rest) = api_rest(api, path, url, headers) else {
                continue;
            };
            first_api.get_or_insert(api);
            let segs = path_segments(rest);
            let mut best: Option<(&'a Operation, &UrlTemplate, MatchedParameters)> = None;
            for (op, tpl) in api.operations.iter().zip(&route.templates) {
                if op.method != "*" && !op.method.eq_ignore_ascii_case(method) {
                    continue;
                }
                let Some(tpl) = tpl else { continue };
                let Some(params) = tpl.matches_segments(&segs, url.query()) else {
                    continue;
                };
                let better = match &best {
                    None => true,
                    Some((bop, btpl, _)) => match tpl.specificity_cmp(btpl) {
                        Ordering::Greater => true,
                        Ordering::Equal => bop.method == "*" && op.method != "*",
                        Ordering::Less => false,
                    },
                };
                if better {
                    best = Some((op, tpl, params));
                }
            }
            if let Some((op, tpl, params)) = best {
                let mut unmatched = QueryMap::new();
                for (n, v) in url.query().iter() {
                    if !tpl.query_names().any(|x| x.eq_ignore_ascii_case(n)) {
                        unmatched.append(n, v.to_vec());
                    }
                }
                return Ok(RouteMatch {
                    api,
                    operation: op,
                    rest_path: rest.to_string(),
                    matched_parameters: params,
                    unmatched_query: unmatched,
                });
            }
        }
        Err(RouteError::OperationNotFound {
            api_id: first_api.map(|a| a.id.clone()),
        })
    }
}

/// The path after the API's URL suffix, revision and version, when the request is for `api`.
fn api_rest<'p>(api: &Api, path: &'p str, url: &Url, headers: &HeaderMap) -> Option<&'p str> {
    let rest = strip_api_path(path, &api.path)?;
    let (rev, rest) = strip_revision(rest);
    match rev {
        Some(r) if r != api.revision => return None,
        None if !api.is_current_revision => return None,
        _ => {}
    }
    if rest.starts_with(';') {
        return None;
    }
    match (&api.versioning_scheme, api.version.as_deref()) {
        (Some(VersioningScheme::Segment), Some(v)) => {
            let r = rest.strip_prefix('/').unwrap_or("");
            let end = r.find('/').unwrap_or(r.len());
            r[..end].eq_ignore_ascii_case(v).then_some(&r[end..])
        }
        (Some(VersioningScheme::Query { name }), Some(v)) => url
            .query()
            .get(name)
            .and_then(|x| x.first())
            .is_some_and(|x| x == v)
            .then_some(rest),
        (Some(VersioningScheme::Header { name }), Some(v)) => {
            headers.first(name).is_some_and(|x| x == v).then_some(rest)
        }
        _ => Some(rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: &str, method: &str, t: &str) -> Operation {
        Operation {
            id: id.into(),
            name: id.into(),
            method: method.into(),
            url_template: t.into(),
            ..Default::default()
        }
    }

    fn service() -> ServiceDefinition {
        ServiceDefinition {
            apis: vec![
                Api {
                    id: "openai".into(),
                    path: "openai".into(),
                    service_url: Some("https://aoai.example.com/openai".into()),
                    operations: vec![
                        op(
                            "chat",
                            "POST",
                            "/deployments/{deployment-id}/chat/completions?api-version={api-version}",
                        ),
                        op(
                            "embeddings",
                            "POST",
                            "/deployments/{deployment-id}/embeddings",
                        ),
                    ],
                    ..Default::default()
                },
                Api {
                    id: "openai-admin".into(),
                    path: "openai/admin".into(),
                    operations: vec![op("any", "*", "/*")],
                    ..Default::default()
                },
                Api {
                    id: "users".into(),
                    path: "".into(),
                    operations: vec![
                        op("get-user", "GET", "/users/{id}"),
                        op("me", "GET", "/users/me"),
                        op("file", "GET", "/files/{*path}"),
                        op("ext", "GET", "/docs/{name}.{ext}"),
                        op("list", "GET", "/items?view=list"),
                        op("grid", "GET", "/items?view=grid"),
                    ],
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    fn m<'a>(
        s: &'a ServiceDefinition,
        method: &str,
        url: &str,
    ) -> Result<RouteMatch<'a>, RouteError> {
        match_request(s, method, &Url::parse(url).unwrap(), &HeaderMap::new())
    }

    #[test]
    fn literal_segments_and_wildcards_match_as_before() {
        let q = QueryMap::new();
        let t = UrlTemplate::parse("/a/{*rest}").unwrap();
        // A wildcard may match nothing.
        assert_eq!(t.matches("/a", &q).unwrap().get("rest"), Some(""));
        assert_eq!(t.matches("/A/x/y", &q).unwrap().get("rest"), Some("x/y"));
        assert!(t.matches("/b/x", &q).is_none());
        let t = UrlTemplate::parse("/deployments/{id}/chat").unwrap();
        assert_eq!(
            t.matches("/Deployments/gpt/CHAT/", &q).unwrap().get("id"),
            Some("gpt")
        );
        assert!(t.matches("/deployments/gpt", &q).is_none());
        assert!(t.matches("/deployments/gpt/chat/x", &q).is_none());
        assert!(t.matches("/deployments/gpt/embeddings", &q).is_none());
    }

    #[test]
    fn matches_operation_with_path_and_query_parameters() {
        let s = service();
        let r = m(
            &s,
            "POST",
            "https://gw/openai/deployments/gpt-4o/chat/completions?api-version=2024-02-01&x=1",
        )
        .unwrap();
        assert_eq!(
            (r.api.id.as_str(), r.operation.id.as_str()),
            ("openai", "chat")
        );
        assert_eq!(r.matched_parameters.get("deployment-id"), Some("gpt-4o"));
        assert_eq!(r.matched_parameters.get("API-VERSION"), Some("2024-02-01"));
        assert_eq!(r.unmatched_query.get("x").unwrap(), ["1"]);
        assert_eq!(r.rest_path, "/deployments/gpt-4o/chat/completions");
        assert_eq!(
            r.backend_url(
                &Url::parse("https://gw/openai/deployments/gpt-4o/chat/completions?api-version=1")
                    .unwrap()
            )
            .unwrap()
            .unwrap()
            .to_string(),
            "https://aoai.example.com/openai/deployments/gpt-4o/chat/completions?api-version=1"
        );
        // A template query parameter is required.
        assert!(
            m(
                &s,
                "POST",
                "https://gw/openai/deployments/gpt-4o/chat/completions"
            )
            .is_err()
        );
    }

    #[test]
    fn longest_api_suffix_wins_and_wildcards_match_anything() {
        let s = service();
        let r = m(&s, "DELETE", "https://gw/openai/admin/a/b/c").unwrap();
        assert_eq!(r.api.id, "openai-admin");
        assert!(
            m(&s, "DELETE", "https://gw/openaiadmin/x").is_err(),
            "suffix must end at a segment boundary"
        );
    }

    #[test]
    fn literal_segments_beat_parameters_and_parameters_decode() {
        let s = service();
        assert_eq!(
            m(&s, "GET", "http://gw/users/me").unwrap().operation.id,
            "me"
        );
        let r = m(&s, "GET", "http://gw/users/a%20b").unwrap();
        assert_eq!(r.operation.id, "get-user");
        assert_eq!(r.matched_parameters.get("id"), Some("a b"));
        assert_eq!(r.matched_parameters.raw("id"), Some("a%20b"));
        let f = m(&s, "GET", "http://gw/files/a/b/c.txt").unwrap();
        assert_eq!(f.matched_parameters.get("path"), Some("a/b/c.txt"));
        let e = m(&s, "GET", "http://gw/docs/readme.v2.md").unwrap();
        assert_eq!(
            (
                e.matched_parameters.get("name"),
                e.matched_parameters.get("ext")
            ),
            (Some("readme"), Some("v2.md"))
        );
        assert_eq!(
            m(&s, "GET", "http://gw/items?view=grid")
                .unwrap()
                .operation
                .id,
            "grid"
        );
        assert_eq!(
            m(&s, "GET", "http://gw/items?view=list")
                .unwrap()
                .operation
                .id,
            "list"
        );
    }

    #[test]
    fn no_match_is_operation_not_found() {
        let s = service();
        assert_eq!(
            m(&s, "GET", "http://gw/openai/deployments/x/embeddings").unwrap_err(),
            RouteError::OperationNotFound {
                api_id: Some("openai".into())
            }
        );
        assert_eq!(
            m(&s, "GET", "http://gw/users/1/2").unwrap_err(),
            RouteError::OperationNotFound {
                api_id: Some("users".into())
            }
        );
        let empty = ServiceDefinition::default();
        assert_eq!(
            m(&empty, "GET", "http://gw/").unwrap_err(),
            RouteError::OperationNotFound { api_id: None }
        );
        assert_eq!(
            m(&s, "GET", "http://gw/users/1/2").unwrap_err().to_string(),
            "Unable to match incoming request to an operation."
        );
    }

    #[test]
    fn versions_and_revisions() {
        let mut s = ServiceDefinition::default();
        let base = Api {
            path: "conf".into(),
            operations: vec![op("o", "GET", "/x")],
            ..Default::default()
        };
        s.apis.push(Api {
            id: "v1".into(),
            version: Some("v1".into()),
            versioning_scheme: Some(VersioningScheme::Segment),
            ..base.clone()
        });
        s.apis.push(Api {
            id: "v2".into(),
            version: Some("v2".into()),
            versioning_scheme: Some(VersioningScheme::Query {
                name: "api-version".into(),
            }),
            ..base.clone()
        });
        s.apis.push(Api {
            id: "rev2".into(),
            path: "r".into(),
            revision: "2".into(),
            is_current_revision: false,
            ..base.clone()
        });
        s.apis.push(Api {
            id: "rev1".into(),
            path: "r".into(),
            ..base.clone()
        });
        assert_eq!(m(&s, "GET", "http://gw/conf/v1/x").unwrap().api.id, "v1");
        assert_eq!(
            m(&s, "GET", "http://gw/conf/x?api-version=v2")
                .unwrap()
                .api
                .id,
            "v2"
        );
        assert!(m(&s, "GET", "http://gw/conf/x").is_err());
        assert_eq!(m(&s, "GET", "http://gw/r;rev=2/x").unwrap().api.id, "rev2");
        assert_eq!(m(&s, "GET", "http://gw/r/x").unwrap().api.id, "rev1");
    }

    #[test]
    fn bad_templates_are_errors() {
        for bad in [
            "x", "/{", "/{}", "/{a}{b}", "/{*a}/b", "/*/x", "/{a}/{a}", "/a?x={",
        ] {
            assert!(UrlTemplate::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            UrlTemplate::parse("/a/{b}?c={d}")
                .unwrap()
                .parameter_names(),
            ["b", "d"]
        );
    }
}
