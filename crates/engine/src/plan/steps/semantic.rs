//! azure-openai-semantic-cache-lookup / llm-semantic-cache-lookup and the matching -store
//! (policies.md §6): the prompt is vectorized by the embeddings backend, compared with the
//! prompts answered before in the same partition (exact cosine scan), and the closest one's
//! response is served when its distance (1 − cosine similarity) is at most `score-threshold`.
//! Like cache-lookup, a hit continues with the outbound policies after the store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use apim_csharp::Value;
use parking_lot::Mutex;

use super::{Val, ai_backend, text, trace_policy};
use crate::context::RequestContext;
use crate::errors::PolicyLocation;
use crate::http::{HeaderMap, Response};
use crate::pipeline::{Env, Flow, RunSummary, StepResult};
use crate::service::ServiceDefinition;

/// The api-version of the embeddings call when the backend URL names none.
pub(crate) const EMBEDDINGS_API_VERSION: &str = "2024-10-21";

/// Entries one plan's index keeps at most (the oldest is dropped first).
pub(crate) const MAX_ENTRIES: usize = 10_000;

/// Lookup settings.
pub(crate) struct SemanticLookup {
    pub loc: PolicyLocation,
    /// A distance: 0 only identical vectors, larger is more lenient.
    pub score_threshold: f64,
    pub embeddings_backend_id: String,
    pub ignore_system_messages: bool,
    pub max_message_count: Option<usize>,
    pub vary_by: Vec<Val>,
}

/// Store settings.
pub(crate) struct SemanticStore {
    pub loc: PolicyLocation,
    pub duration: Val,
}

/// Where lookup and store sit in an effective plan, and the plan's vector index.
pub(crate) struct SemanticCache {
    /// Index in the effective inbound steps: the lookup runs before that step.
    pub lookup_at: usize,
    pub lookup: SemanticLookup,
    /// Index in the effective outbound steps: the store runs before that step.
    pub store: Option<(usize, SemanticStore)>,
    pub index: Arc<VectorIndex>,
}

#[derive(Clone)]
struct CachedResponse {
    status: u16,
    reason: String,
    headers: Vec<(String, Vec<String>)>,
    body: Option<bytes::Bytes>,
}

struct Entry {
    partition: String,
    /// Unit length.
    vector: Vec<f32>,
    response: CachedResponse,
    /// On the engine's monotonic clock.
    expires: Duration,
}

/// The in-process vector index of one plan: every stored prompt vector with its response,
/// and the vectors of requests that missed, until their store runs.
#[derive(Default)]
pub(crate) struct VectorIndex {
    entries: Mutex<Vec<Entry>>,
    pending: Mutex<HashMap<String, (String, Vec<f32>)>>,
}

/// The closest live entry of `partition`: (distance, response).
fn nearest(
    index: &VectorIndex,
    partition: &str,
    vector: &[f32],
    now: Duration,
) -> Option<(f64, CachedResponse)> {
    let mut entries = index.entries.lock();
    entries.retain(|e| e.expires > now);
    entries
        .iter()
        .filter(|e| e.partition == partition && e.vector.len() == vector.len())
        .map(|e| (1.0 - dot(&e.vector, vector), e))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(d, e)| (d.max(0.0), e.response.clone()))
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

fn normalize(mut v: Vec<f32>) -> Option<Vec<f32>> {
    let n = v
        .iter()
        .map(|x| f64::from(*x) * f64::from(*x))
        .sum::<f64>()
        .sqrt();
    if n == 0.0 || !n.is_finite() {
        return None;
    }
    for x in &mut v {
        *x = (f64::from(*x) / n) as f32;
    }
    Some(v)
}

/// What the request's prompt is, for caching.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Prompt {
    Text(String),
    /// Not a chat or completions request, or more dialog messages than max-message-count.
    NotCacheable(&'static str),
}

/// The prompt text of a chat completions (`messages`) or completions (`prompt`) body.
pub(crate) fn prompt_of(
    body: Option<&[u8]>,
    ignore_system_messages: bool,
    max_message_count: Option<usize>,
) -> Prompt {
    let Some(json) = body.and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok()) else {
        return Prompt::NotCacheable("the request body is not JSON");
    };
    if let Some(messages) = json.get("messages").and_then(|m| m.as_array()) {
        let kept: Vec<&serde_json::Value> = messages
            .iter()
            .filter(|m| {
                !(ignore_system_messages
                    && m.get("role").and_then(|r| r.as_str()) == Some("system"))
            })
            .collect();
        if let Some(max) = max_message_count
            && kept.len() > max
        {
            return Prompt::NotCacheable("more dialog messages than max-message-count");
        }
        let texts: Vec<String> = kept
            .iter()
            .filter_map(|m| m.get("content").and_then(ai_backend::content_text))
            .collect();
        return Prompt::Text(texts.join("\n"));
    }
    if let Some(p) = json.get("prompt").and_then(ai_backend::prompt_text) {
        return Prompt::Text(p);
    }
    Prompt::NotCacheable("the request has no messages or prompt")
}

/// The embedding of `input` from the embeddings backend.
async fn embed(
    env: Env<'_>,
    backend_id: &str,
    input: &str,
) -> Result<Vec<f32>, ai_backend::AiCallError> {
    let (id, url) = ai_backend::backend_url(env, backend_id, "", EMBEDDINGS_API_VERSION)?;
    let body = serde_json::json!({ "input": input });
    let json = ai_backend::post_json(env, "the embeddings backend", &id, url, &body).await?;
    let bad = |detail: &str| ai_backend::AiCallError::Body {
        service: "the embeddings backend",
        detail: detail.to_string(),
    };
    let values = json
        .pointer("/data/0/embedding")
        .and_then(|e| e.as_array())
        .ok_or_else(|| bad("no data[0].embedding array"))?;
    let v: Option<Vec<f32>> = values
        .iter()
        .map(|x| x.as_f64().map(|f| f as f32))
        .collect();
    let v = v.ok_or_else(|| bad("data[0].embedding holds a value that is not a number"))?;
    normalize(v).ok_or_else(|| bad("the embedding is a zero vector"))
}

/// The lookup: `Some(response)` on a hit. On a miss the request's vector is kept for the store.
async fn lookup(
    c: &SemanticCache,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
) -> Result<Option<Response>, Box<crate::errors::PipelineError>> {
    let l = &c.lookup;
    let loc = &l.loc;
    let prompt = prompt_of(
        ctx.request.body.peek().map(|b| b.as_ref()),
        l.ignore_system_messages,
        l.max_message_count,
    );
    let text_to_embed = match prompt {
        Prompt::Text(t) => t,
        Prompt::NotCacheable(why) => {
            trace_policy(
                ctx,
                env,
                loc,
                || serde_json::json!({"cached": false, "reason": why}),
            );
            return Ok(None);
        }
    };
    let mut partition = ctx.api.map(|a| a.id.clone()).unwrap_or_default();
    partition.push('\u{1f}');
    for v in &l.vary_by {
        partition.push_str(&text(v, service, ctx, env, loc)?);
    }
    let vector = match embed(env, &l.embeddings_backend_id, &text_to_embed).await {
        Ok(v) => v,
        Err(e) => {
            // The request goes on to the backend uncached (docs/compat.md).
            tracing::warn!(policy = %loc.policy, error = %e, "semantic cache: embeddings call failed; treated as a miss");
            trace_policy(
                ctx,
                env,
                loc,
                || serde_json::json!({"hit": false, "embeddingsError": e.to_string()}),
            );
            return Ok(None);
        }
    };
    let now = env.services.clock.monotonic();
    let found = nearest(&c.index, &partition, &vector, now);
    let hit = found
        .as_ref()
        .filter(|(d, _)| *d <= l.score_threshold)
        .map(|(_, r)| r.clone());
    trace_policy(ctx, env, loc, || {
        serde_json::json!({
            "hit": hit.is_some(),
            "distance": found.as_ref().map(|(d, _)| *d),
            "scoreThreshold": l.score_threshold,
        })
    });
    match hit {
        Some(r) => {
            let mut resp = Response::new(r.status);
            resp.reason = r.reason;
            let mut headers = HeaderMap::new();
            for (n, v) in r.headers {
                // Names and values were valid when stored.
                let _ = headers.set(&n, v);
            }
            resp.headers = headers;
            if let Some(b) = r.body {
                resp.body.set(b);
            }
            Ok(Some(resp))
        }
        None => {
            c.index
                .pending
                .lock()
                .insert(ctx.request_id.clone(), (partition, vector));
            Ok(None)
        }
    }
}

/// The store: keeps a 200 response of a request that missed, for `duration` seconds.
async fn store(
    c: &SemanticCache,
    s: &SemanticStore,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
) -> StepResult {
    let Some((partition, vector)) = c.index.pending.lock().remove(&ctx.request_id) else {
        return Ok(Flow::Continue);
    };
    if ctx.response.status != 200 {
        return Ok(Flow::Continue);
    }
    let secs = super::integer(&s.duration, service, ctx, env, &s.loc)?;
    if secs <= 0 {
        return Ok(Flow::Continue);
    }
    if ctx.response.body.is_stream()
        && ctx
            .response
            .body
            .buffer(crate::http::DEFAULT_BUFFER_LIMIT)
            .await
            .is_err()
    {
        return Ok(Flow::Continue);
    }
    let response = CachedResponse {
        status: ctx.response.status,
        reason: ctx.response.reason.clone(),
        headers: ctx
            .response
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_vec()))
            .collect(),
        body: ctx.response.body.peek().cloned(),
    };
    let now = env.services.clock.monotonic();
    let ttl = Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    // A huge duration keeps the entry for good rather than overflowing.
    let expires = now.checked_add(ttl).unwrap_or(Duration::MAX);
    let mut entries = c.index.entries.lock();
    entries.retain(|e| e.expires > now);
    if entries.len() >= MAX_ENTRIES {
        // Bounded like APIM's cache: the oldest entry makes room.
        entries.remove(0);
    }
    entries.push(Entry {
        partition,
        vector,
        response,
        expires,
    });
    Ok(Flow::Continue)
}

/// The section runner with the semantic lookup and store at their positions: a hit answers
/// from the cache and continues with the outbound policies after the store.
pub(crate) async fn run_semantic(
    sections: &crate::pipeline::Sections<Value>,
    c: &SemanticCache,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
) -> RunSummary {
    let summary = crate::plan::run::run_cached(sections, c, service, ctx, env).await;
    c.index.pending.lock().remove(&ctx.request_id);
    summary
}

impl crate::plan::run::CachePoints for SemanticCache {
    type Miss = ();

    fn lookup_at(&self) -> usize {
        self.lookup_at
    }

    fn store_at(&self) -> Option<usize> {
        self.store.as_ref().map(|(i, _)| *i)
    }

    async fn lookup(
        &self,
        service: &Arc<ServiceDefinition>,
        ctx: &mut RequestContext<'_, Value>,
        env: Env<'_>,
    ) -> Result<Result<Response, ()>, Box<crate::errors::PipelineError>> {
        Ok(lookup(self, service, ctx, env).await?.ok_or(()))
    }

    async fn store(
        &self,
        _miss: (),
        service: &Arc<ServiceDefinition>,
        ctx: &mut RequestContext<'_, Value>,
        env: Env<'_>,
    ) -> StepResult {
        match &self.store {
            Some((_, s)) => store(self, s, service, ctx, env).await,
            None => Ok(Flow::Continue),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_ignores_system_messages_and_counts_the_rest() {
        let body = br#"{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":[{"type":"text","text":"Capital of France?"}]}]}"#;
        assert_eq!(
            prompt_of(Some(body), true, None),
            Prompt::Text("Hi\nHello\nCapital of France?".into())
        );
        assert_eq!(
            prompt_of(Some(body), false, None),
            Prompt::Text("Be brief.\nHi\nHello\nCapital of France?".into())
        );
        assert_eq!(
            prompt_of(Some(body), true, Some(3)),
            Prompt::Text("Hi\nHello\nCapital of France?".into())
        );
        assert!(matches!(
            prompt_of(Some(body), true, Some(2)),
            Prompt::NotCacheable(_)
        ));
        assert!(matches!(
            prompt_of(Some(body), false, Some(3)),
            Prompt::NotCacheable(_)
        ));
        assert_eq!(
            prompt_of(Some(br#"{"prompt":"Once upon"}"#), false, None),
            Prompt::Text("Once upon".into())
        );
        assert!(matches!(
            prompt_of(Some(b"not json"), false, None),
            Prompt::NotCacheable(_)
        ));
        assert!(matches!(
            prompt_of(Some(br#"{"input":"x"}"#), false, None),
            Prompt::NotCacheable(_)
        ));
    }

    #[test]
    fn nearest_skips_other_partitions_and_expired_entries() {
        let index = VectorIndex::default();
        let r = CachedResponse {
            status: 200,
            reason: "OK".into(),
            headers: vec![],
            body: None,
        };
        let unit = |v: Vec<f32>| normalize(v).unwrap_or_default();
        index.entries.lock().push(Entry {
            partition: "a".into(),
            vector: unit(vec![1.0, 0.0]),
            response: r.clone(),
            expires: Duration::from_secs(10),
        });
        index.entries.lock().push(Entry {
            partition: "b".into(),
            vector: unit(vec![0.0, 1.0]),
            response: r,
            expires: Duration::from_secs(10),
        });
        let q = unit(vec![1.0, 0.1]);
        let (d, _) = nearest(&index, "a", &q, Duration::ZERO).unwrap_or((9.0, dummy()));
        assert!((d - (1.0 - 1.0 / 1.01f64.sqrt())).abs() < 1e-6, "{d}");
        let (d, _) = nearest(&index, "b", &q, Duration::ZERO).unwrap_or((9.0, dummy()));
        assert!(d > 0.9);
        assert!(nearest(&index, "a", &q, Duration::from_secs(10)).is_none());
        assert!(index.entries.lock().is_empty());
    }

    fn dummy() -> CachedResponse {
        CachedResponse {
            status: 0,
            reason: String::new(),
            headers: vec![],
            body: None,
        }
    }
}
