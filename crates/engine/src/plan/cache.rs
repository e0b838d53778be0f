//! `cache-lookup` / `cache-store` (policies.md §4): the response cache. They change the
//! pipeline's flow (a hit skips to the policy after `cache-store`), so the runner handles them
//! at their positions in the effective inbound and outbound sections.

use std::sync::Arc;

use apim_csharp::Value;
use serde::{Deserialize, Serialize};

use super::steps::{self, Val};
use crate::context::RequestContext;
use crate::errors::PolicyLocation;
use crate::http::{HeaderMap, Response};
use crate::pipeline::{Env, StepResult};
use crate::service::ServiceDefinition;

/// `cache-lookup` settings.
pub(crate) struct CacheLookup {
    pub vary_by_developer: bool,
    pub vary_by_developer_groups: bool,
    pub allow_private_response_caching: bool,
    pub headers: Vec<String>,
    pub query: Vec<String>,
    /// caching-type: cache-store stores where the lookup looked.
    pub caching: crate::counters::CachingType,
    /// downstream-caching-type private / public (`None`: none, the default).
    pub downstream: Option<DownstreamCaching>,
}

/// `cache-store` settings.
pub(crate) struct CacheStore {
    pub duration: Val,
    pub cache_response: bool,
    pub loc: PolicyLocation,
}

/// Where the two sit in an effective plan.
pub(crate) struct ResponseCache {
    /// Index in the effective inbound steps: the lookup runs before that step.
    pub lookup_at: usize,
    pub lookup: CacheLookup,
    /// Index in the effective outbound steps: the store runs before that step.
    pub store: Option<(usize, CacheStore)>,
}

/// cache-lookup's downstream-caching-type: responses served through the cache tell clients
/// and proxies how long they may keep them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DownstreamCaching {
    /// `public` (shared caches too) rather than `private`.
    pub public: bool,
    pub must_revalidate: bool,
}

impl DownstreamCaching {
    /// `Cache-Control` for a response that stays cached for `secs` more seconds.
    fn header(&self, secs: u64) -> String {
        let scope = if self.public { "public" } else { "private" };
        let revalidate = if self.must_revalidate {
            ", must-revalidate"
        } else {
            ""
        };
        format!("{scope}, max-age={secs}{revalidate}")
    }
}

#[derive(Serialize, Deserialize)]
struct Cached {
    status: u16,
    reason: String,
    headers: Vec<(String, Vec<String>)>,
    body: Option<String>,
    /// When the entry expires (engine clock, epoch milliseconds).
    #[serde(default)]
    expires_ms: Option<i64>,
}

/// The key of this request, or `None` when it is not cacheable (only GET; requests with
/// `Authorization` only with allow-private-response-caching).
pub(crate) fn key(c: &CacheLookup, ctx: &RequestContext<'_, Value>) -> Option<String> {
    if !ctx.request.method.eq_ignore_ascii_case("GET") {
        return None;
    }
    if !c.allow_private_response_caching && ctx.request.headers.contains("Authorization") {
        return None;
    }
    let u = &ctx.request.url;
    let mut k = format!(
        "cache-lookup\u{1f}{}\u{1f}{}\u{1f}{}://{}:{}{}",
        ctx.api.map(|a| a.id.as_str()).unwrap_or(""),
        ctx.operation.map(|o| o.id.as_str()).unwrap_or(""),
        u.scheme(),
        u.host(),
        u.port(),
        u.path()
    );
    for q in c.query.iter().flat_map(|q| q.split(';')).map(str::trim) {
        let v = u.query().get_joined(q).unwrap_or_default();
        k.push_str(&format!("\u{1f}q:{q}={v}"));
    }
    for h in &c.headers {
        let v = ctx.request.headers.get_joined(h).unwrap_or_default();
        k.push_str(&format!("\u{1f}h:{}={v}", h.to_ascii_lowercase()));
    }
    if c.vary_by_developer {
        k.push_str(&format!(
            "\u{1f}dev:{}",
            ctx.user.map(|u| u.id.as_str()).unwrap_or("")
        ));
    }
    if c.vary_by_developer_groups {
        let groups = ctx.user.map(|u| u.groups.join(",")).unwrap_or_default();
        k.push_str(&format!("\u{1f}groups:{groups}"));
    }
    Some(k)
}

/// A cached response for `key`.
pub(crate) async fn lookup(
    env: Env<'_>,
    key: &str,
    caching: crate::counters::CachingType,
    downstream: Option<&DownstreamCaching>,
) -> Option<Response> {
    let bytes = env
        .services
        .cache_for(caching)
        .ok()?
        .get(key)
        .await
        .ok()??;
    let c: Cached = serde_json::from_slice(&bytes).ok()?;
    let mut r = Response::new(c.status);
    r.reason = c.reason;
    let mut headers = HeaderMap::new();
    for (n, v) in c.headers {
        headers.set(&n, v).ok()?;
    }
    if let (Some(d), Some(expires)) = (downstream, c.expires_ms) {
        let left_ms = expires - env.services.clock.now().timestamp_millis();
        let secs = u64::try_from(left_ms.max(0)).unwrap_or(0).div_ceil(1000);
        headers.set("Cache-Control", vec![d.header(secs)]).ok()?;
    }
    r.headers = headers;
    if let Some(b) = c.body {
        r.body.set(b.into_bytes());
    }
    Some(r)
}

/// A miss: the backend must send a full response.
pub(crate) fn strip_conditional_headers(ctx: &mut RequestContext<'_, Value>) {
    for h in [
        "Cache-Control",
        "If-Match",
        "If-None-Match",
        "If-Modified-Since",
        "If-Unmodified-Since",
        "If-Range",
    ] {
        ctx.request.headers.remove(h);
    }
}

/// `cache-store`: keeps `context.Response` (200 only unless cache-response) for `duration`.
pub(crate) async fn store(
    s: &CacheStore,
    key: &str,
    caching: crate::counters::CachingType,
    downstream: Option<&DownstreamCaching>,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
) -> StepResult {
    if !(s.cache_response || ctx.response.status == 200) {
        return Ok(crate::pipeline::Flow::Continue);
    }
    let secs = steps::integer(&s.duration, service, ctx, env, &s.loc)?;
    if secs <= 0 {
        return Ok(crate::pipeline::Flow::Continue);
    }
    // The response is buffered so both the cache and the client get it.
    if ctx.response.body.is_stream()
        && ctx
            .response
            .body
            .buffer(crate::http::DEFAULT_BUFFER_LIMIT)
            .await
            .is_err()
    {
        return Ok(crate::pipeline::Flow::Continue);
    }
    let body = match ctx.response.body.peek() {
        Some(b) => match std::str::from_utf8(b) {
            Ok(t) => Some(t.to_string()),
            // Not text: kept out of the cache rather than altered.
            Err(_) => return Ok(crate::pipeline::Flow::Continue),
        },
        None => None,
    };
    let c = Cached {
        status: ctx.response.status,
        reason: ctx.response.reason.clone(),
        headers: ctx
            .response
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_vec()))
            .collect(),
        body,
        expires_ms: Some(env.services.clock.now().timestamp_millis() + secs.saturating_mul(1000)),
    };
    if let Some(d) = downstream {
        let header = d.header(u64::try_from(secs).unwrap_or(0));
        let _ = ctx.response.headers.set("Cache-Control", vec![header]);
    }
    if let (Ok(bytes), Ok(cache)) = (serde_json::to_vec(&c), env.services.cache_for(caching)) {
        let _ = cache
            .set(
                key,
                bytes.into(),
                std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(0)),
            )
            .await;
    }
    Ok(crate::pipeline::Flow::Continue)
}
