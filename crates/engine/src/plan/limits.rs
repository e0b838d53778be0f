//! rate-limit, rate-limit-by-key, quota and quota-by-key in the plan (policies.md §5): the
//! inbound check, and what happens when the request ends (deferred increments with
//! `increment-condition` / `increment-count` evaluated on the final response, bandwidth,
//! remaining-calls headers). Counting is [`crate::counters`]' on the services' `limiters`
//! (in process, or Redis shared by several gateways).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use apim_csharp::Value;
use chrono::{DateTime, Utc};

use super::steps::{self, Val};
use crate::context::RequestContext;
use crate::counters::{
    CachingType, Limiters, QuotaDecision, QuotaRequestLedger, QuotaSpec, RateDecision, RateLimit,
};
use crate::errors::{PipelineError, PolicyLocation, QuotaKind};
use crate::http::{Body, HeaderMap};
use crate::pipeline::{Env, Flow, StepResult};
use crate::service::{Api, Operation, ServiceDefinition};
use crate::services::CacheStore;

type PErr = Box<PipelineError>;

/// `<api name|id>` / `<operation name|id>` of rate-limit and quota: `id` wins over `name`.
#[derive(Debug, Clone)]
pub(crate) struct Selector {
    pub id: Option<String>,
    pub name: Option<String>,
}

impl Selector {
    fn api(&self, a: &Api) -> bool {
        match (&self.id, &self.name) {
            (Some(id), _) => a.id == *id,
            (None, Some(n)) => a.name == *n,
            (None, None) => false,
        }
    }
    fn operation(&self, o: &Operation) -> bool {
        match (&self.id, &self.name) {
            (Some(id), _) => o.id == *id,
            (None, Some(n)) => o.name == *n,
            (None, None) => false,
        }
    }
}

/// An API's limit inside rate-limit / quota, and its operations' limits.
#[derive(Debug, Clone)]
pub(crate) struct Scoped<L> {
    pub api: Selector,
    /// `None`: the API element only groups operation limits.
    pub limit: Option<L>,
    pub operations: Vec<(Selector, L)>,
}

/// Calls / bandwidth per renewal period of quota and its children.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Amounts {
    pub calls: Option<u64>,
    pub bandwidth_kb: Option<u64>,
    pub renewal: Duration,
}

/// The response header and variable names of the rate-limit pair.
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    /// `Retry-After` unless retry-after-header-name says otherwise.
    pub retry_after_header: String,
    pub retry_after_variable: Option<String>,
    pub remaining_header: Option<String>,
    pub remaining_variable: Option<String>,
    pub total_header: Option<String>,
}

pub(crate) enum Policy {
    /// rate-limit: counted per subscription (and per API / operation for the children).
    Rate {
        limit: RateLimit,
        apis: Vec<Scoped<RateLimit>>,
    },
    RateByKey {
        calls: Val,
        renewal: Val,
        counter_key: Val,
        condition: Option<Val>,
        count: Option<Val>,
        /// increment-condition or increment-count is an expression: counted when the request
        /// ends.
        deferred: bool,
    },
    /// quota: per subscription, windows from the subscription's start.
    Quota {
        amounts: Amounts,
        apis: Vec<Scoped<Amounts>>,
    },
    QuotaByKey {
        amounts: Amounts,
        counter_key: Val,
        condition: Option<Val>,
        count: Option<Val>,
        deferred: bool,
        first_period_start: DateTime<Utc>,
    },
}

/// One compiled rate-limit / quota policy.
pub(crate) struct LimitPolicy {
    pub loc: PolicyLocation,
    /// The policy's scope, document text and position: per-subscription counters of two
    /// rate-limit policies are separate, and the same on every gateway sharing a store.
    pub id: String,
    pub policy: Policy,
    pub names: Names,
    pub ledgers: Arc<Ledgers>,
}

/// A count postponed to the end of the request.
enum Deferred {
    Rate {
        loc: PolicyLocation,
        condition: Option<Val>,
        count: Option<Val>,
        key: String,
        limit: RateLimit,
        remaining_header: Option<String>,
    },
    Quota {
        loc: PolicyLocation,
        condition: Option<Val>,
        count: Option<Val>,
        key: String,
        spec: QuotaSpec,
    },
}

/// What the limit policies of one request leave for its end.
#[derive(Default)]
struct RequestLimits {
    quota_keys: QuotaRequestLedger,
    deferred: Vec<Deferred>,
    /// Quotas with a bandwidth: the request's bytes (counted at inbound), per counter.
    bandwidth: Vec<(String, QuotaSpec, u64)>,
    /// remaining-calls / total-calls headers for the final response.
    headers: Vec<(String, String)>,
}

/// Per-request state of the limit policies of one plan, by request id.
pub(crate) struct Ledgers {
    limiters: Arc<Limiters>,
    requests: parking_lot::Mutex<HashMap<String, RequestLimits>>,
}

impl Ledgers {
    pub fn new(limiters: Arc<Limiters>) -> Self {
        Ledgers {
            limiters,
            requests: parking_lot::Mutex::default(),
        }
    }

    fn with<T>(&self, request_id: &str, f: impl FnOnce(&mut RequestLimits) -> T) -> T {
        let mut m = self.requests.lock();
        f(m.entry(request_id.to_string()).or_default())
    }
}

fn non_negative(
    v: &Val,
    what: &str,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<u64, PErr> {
    let n = steps::integer(v, service, ctx, env, loc)?;
    u64::try_from(n)
        .map_err(|_| steps::expr_err(loc, ctx, format!("{what} must not be negative, was {n}")))
}

fn signed(n: u64) -> Value {
    Value::I64(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Bytes of a message body: its length when buffered, else its Content-Length.
fn body_bytes(body: &Body, headers: &HeaderMap) -> u64 {
    match body.len_hint() {
        Some(n) => n as u64,
        None => headers
            .first("Content-Length")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0),
    }
}

/// The inbound check of a limit policy.
pub(crate) async fn check(
    p: &LimitPolicy,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> StepResult {
    match &p.policy {
        Policy::Rate { limit, apis } => {
            // "Only applied when an API is accessed using a subscription key."
            let Some(sub) = ctx.subscription else {
                return skipped(p, ctx, env);
            };
            let base = format!("rate-limit\u{1f}{}\u{1f}{}", p.id, sub.id);
            let mut counters = vec![(base.clone(), *limit)];
            scoped(apis, ctx, &base, |k, l| counters.push((k, *l)));
            rate_counting(p, counters, 1, ctx, env, loc).await
        }
        Policy::RateByKey {
            calls,
            renewal,
            counter_key,
            condition,
            count,
            deferred,
        } => {
            let key = steps::text(counter_key, service, ctx, env, loc)?;
            let calls = non_negative(calls, "calls", service, ctx, env, loc)?;
            let renewal = non_negative(renewal, "renewal-period", service, ctx, env, loc)?;
            let limit = RateLimit::new(calls, renewal);
            if *deferred {
                let d = Deferred::Rate {
                    loc: loc.clone(),
                    condition: condition.clone(),
                    count: count.clone(),
                    key: key.clone(),
                    limit,
                    remaining_header: p.names.remaining_header.clone(),
                };
                return rate_deferred(p, key, limit, d, ctx, env, loc).await;
            }
            let counted = match condition {
                Some(c) => steps::boolean(c, service, ctx, env, loc)?,
                None => true,
            };
            let n = match (counted, count) {
                (false, _) => 0,
                (true, Some(c)) => non_negative(c, "increment-count", service, ctx, env, loc)?,
                (true, None) => 1,
            };
            rate_counting(p, vec![(key, limit)], n, ctx, env, loc).await
        }
        Policy::Quota { amounts, apis } => {
            let Some(sub) = ctx.subscription else {
                return skipped(p, ctx, env);
            };
            let start = sub.start_date.unwrap_or(sub.created_date);
            let spec = |a: &Amounts| QuotaSpec {
                calls: a.calls,
                bandwidth_kb: a.bandwidth_kb,
                renewal_period: a.renewal,
                first_period_start: start,
            };
            let base = format!("quota\u{1f}{}\u{1f}{}", p.id, sub.id);
            let mut counters = vec![(base.clone(), spec(amounts))];
            scoped(apis, ctx, &base, |k, a| counters.push((k, spec(a))));
            quota(p, counters, ctx, env, loc).await
        }
        Policy::QuotaByKey {
            amounts,
            counter_key,
            condition,
            count,
            deferred,
            first_period_start,
        } => {
            let key = steps::text(counter_key, service, ctx, env, loc)?;
            let spec = QuotaSpec {
                calls: amounts.calls,
                bandwidth_kb: amounts.bandwidth_kb,
                renewal_period: amounts.renewal,
                first_period_start: *first_period_start,
            };
            let key = format!("quota-by-key\u{1f}{key}");
            if *deferred {
                let d = Deferred::Quota {
                    loc: loc.clone(),
                    condition: condition.clone(),
                    count: count.clone(),
                    key: key.clone(),
                    spec,
                };
                p.ledgers.with(&ctx.request_id, |r| r.deferred.push(d));
                return quota_one(p, key, spec, Count::No, ctx, env, loc).await;
            }
            let counted = match condition {
                Some(c) => steps::boolean(c, service, ctx, env, loc)?,
                None => true,
            };
            // Several quota-by-key policies with the same key count it once per request.
            let count = match counted {
                false => Count::No,
                true if p
                    .ledgers
                    .with(&ctx.request_id, |r| r.quota_keys.first_increment(&key)) =>
                {
                    Count::Yes
                }
                true => Count::AlreadyCounted,
            };
            quota_one(p, key, spec, count, ctx, env, loc).await
        }
    }
}

/// Counters of the `<api>` / `<operation>` children that match the request.
fn scoped<L>(
    apis: &[Scoped<L>],
    ctx: &RequestContext<'_, Value>,
    base: &str,
    mut push: impl FnMut(String, &L),
) {
    let Some(api) = ctx.api else { return };
    for s in apis.iter().filter(|s| s.api.api(api)) {
        let key = format!("{base}\u{1f}api:{}", api.id);
        if let Some(l) = &s.limit {
            push(key.clone(), l);
        }
        if let Some(op) = ctx.operation {
            for (_, l) in s.operations.iter().filter(|(sel, _)| sel.operation(op)) {
                push(format!("{key}\u{1f}operation:{}", op.id), l);
            }
        }
    }
}

fn skipped(p: &LimitPolicy, ctx: &mut RequestContext<'_, Value>, env: Env<'_>) -> StepResult {
    steps::trace_policy(
        ctx,
        env,
        &p.loc,
        || serde_json::json!({"message": "No subscription: the policy does not apply."}),
    );
    Ok(Flow::Continue)
}

/// rate-limit-by-key in deferred mode: the check uses the counter as is; the count comes when
/// the request ends.
async fn rate_deferred(
    p: &LimitPolicy,
    key: String,
    limit: RateLimit,
    d: Deferred,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> StepResult {
    match p.ledgers.limiters.rate.check(&key, limit, None).await {
        RateDecision::Allowed { remaining, .. } => {
            p.ledgers.with(&ctx.request_id, |r| r.deferred.push(d));
            rate_admitted(p, &[(key, limit)], vec![remaining], ctx, env);
            Ok(Flow::Continue)
        }
        RateDecision::Limited {
            retry_after_secs, ..
        } => Err(rate_limited(p, limit, retry_after_secs, ctx, loc)),
    }
}

/// Counts `n` on every counter; a call any of them rejects is counted on none.
async fn rate_counting(
    p: &LimitPolicy,
    counters: Vec<(String, RateLimit)>,
    n: u64,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> StepResult {
    let limiter = &p.ledgers.limiters.rate;
    let mut counted = Vec::new();
    let mut remaining = Vec::new();
    for (key, limit) in &counters {
        match limiter.check(key, *limit, Some(n)).await {
            RateDecision::Allowed {
                remaining: r,
                entry,
            } => {
                remaining.push(r);
                counted.push((key, *limit, entry));
            }
            RateDecision::Limited {
                retry_after_secs, ..
            } => {
                for (k, l, entry) in counted {
                    if let Some(e) = entry {
                        limiter.release(k, l, &e).await;
                    }
                }
                return Err(rate_limited(p, *limit, retry_after_secs, ctx, loc));
            }
        }
    }
    rate_admitted(p, &counters, remaining, ctx, env);
    Ok(Flow::Continue)
}

/// Remaining calls: the fewest left among the counters (the first to run out).
fn rate_admitted(
    p: &LimitPolicy,
    counters: &[(String, RateLimit)],
    remaining: Vec<u64>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
) {
    let left = remaining.iter().copied().min().unwrap_or(0);
    let total = counters.first().map(|(_, l)| l.calls).unwrap_or(0);
    if let Some(v) = &p.names.remaining_variable {
        ctx.variables.set(v.clone(), signed(left));
    }
    let mut headers = Vec::new();
    if let Some(h) = &p.names.remaining_header {
        headers.push((h.clone(), left.to_string()));
    }
    if let Some(h) = &p.names.total_header {
        headers.push((h.clone(), total.to_string()));
    }
    if !headers.is_empty() {
        p.ledgers
            .with(&ctx.request_id, |r| r.headers.extend(headers));
    }
    steps::trace_policy(
        ctx,
        env,
        &p.loc,
        || serde_json::json!({"remainingCalls": left, "totalCalls": total}),
    );
}

/// 429 "Rate limit is exceeded. Try again in N seconds." with Retry-After (or the policy's
/// header name), the retry-after variable, and the remaining / total headers.
fn rate_limited(
    p: &LimitPolicy,
    limit: RateLimit,
    secs: u64,
    ctx: &mut RequestContext<'_, Value>,
    loc: &PolicyLocation,
) -> PErr {
    if let Some(v) = &p.names.retry_after_variable {
        ctx.variables.set(v.clone(), signed(secs));
    }
    if let Some(v) = &p.names.remaining_variable {
        ctx.variables.set(v.clone(), signed(0));
    }
    let mut r = crate::errors::rate_limit_response(secs, Some(&p.names.retry_after_header));
    if let Some(h) = &p.names.remaining_header {
        let _ = r.headers.set_one(h, "0");
    }
    if let Some(h) = &p.names.total_header {
        let _ = r.headers.set_one(h, limit.calls.to_string());
    }
    Box::new(PipelineError::policy(
        loc,
        "RateLimitExceeded",
        "Rate limit is exceeded",
        r,
    ))
}

/// quota: every counter counts the call; one that rejects takes back the others' counts.
async fn quota(
    p: &LimitPolicy,
    counters: Vec<(String, QuotaSpec)>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> StepResult {
    let q = &p.ledgers.limiters.quota;
    let mut counted: Vec<(String, QuotaSpec)> = Vec::new();
    for (key, spec) in counters {
        let d = q.check(&key, &spec, true).await;
        if let QuotaDecision::Allowed(u) = &d {
            if !u.degraded && spec.calls.is_some() {
                counted.push((key.clone(), spec));
            }
            note_bandwidth(p, &key, spec, ctx);
            continue;
        }
        for (k, s) in &counted {
            q.release(k, s).await;
        }
        return Err(quota_exceeded(d, loc));
    }
    steps::trace_policy(
        ctx,
        env,
        &p.loc,
        || serde_json::json!({"message": "Within quota."}),
    );
    Ok(Flow::Continue)
}

/// How a quota-by-key check counts this call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Count {
    Yes,
    /// Not counted (increment-condition false, or counted when the request ends): the
    /// counter as it is must leave room for a call.
    No,
    /// Another quota-by-key counted this key in this request already.
    AlreadyCounted,
}

async fn quota_one(
    p: &LimitPolicy,
    key: String,
    spec: QuotaSpec,
    count: Count,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> StepResult {
    let q = &p.ledgers.limiters.quota;
    let d = match count {
        Count::AlreadyCounted => q.check_counted(&key, &spec).await,
        c => q.check(&key, &spec, c == Count::Yes).await,
    };
    match d {
        QuotaDecision::Allowed(u) => {
            note_bandwidth(p, &key, spec, ctx);
            steps::trace_policy(
                ctx,
                env,
                &p.loc,
                || serde_json::json!({"callsUsed": u.calls_used, "bandwidthUsedBytes": u.bandwidth_used_bytes}),
            );
            Ok(Flow::Continue)
        }
        d => Err(quota_exceeded(d, loc)),
    }
}

/// The request's bytes now (before the backend call consumes the body); the response's are
/// added when the request ends.
fn note_bandwidth(p: &LimitPolicy, key: &str, spec: QuotaSpec, ctx: &RequestContext<'_, Value>) {
    if spec.bandwidth_kb.is_none() {
        return;
    }
    let bytes = body_bytes(&ctx.request.body, &ctx.request.headers);
    p.ledgers.with(&ctx.request_id, |r| {
        r.bandwidth.push((key.to_string(), spec, bytes));
    });
}

/// 403 "Out of call volume quota. Quota will be replenished in 00:05:00." (or bandwidth) with
/// Retry-After; a quota that never renews says only "Out of call volume quota." and has no
/// Retry-After.
fn quota_exceeded(d: QuotaDecision, loc: &PolicyLocation) -> PErr {
    let QuotaDecision::Exceeded {
        kind,
        replenished_in,
    } = d
    else {
        return Box::new(PipelineError::policy(
            loc,
            "QuotaExceeded",
            "Out of call volume quota.",
            crate::errors::error_response(403, "Out of call volume quota."),
        ));
    };
    let (response, message) = match replenished_in {
        Some(wait) => {
            let r = crate::errors::quota_response(kind, wait);
            let m = message_of(&r);
            (r, m)
        }
        None => {
            let what = match kind {
                QuotaKind::Calls => "call volume",
                QuotaKind::Bandwidth => "bandwidth",
            };
            let m = format!("Out of {what} quota.");
            (crate::errors::error_response(403, &m), m)
        }
    };
    Box::new(PipelineError::policy(
        loc,
        "QuotaExceeded",
        message,
        response,
    ))
}

fn message_of(r: &crate::http::Response) -> String {
    r.body
        .peek()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .and_then(|j| j.get("message")?.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The end of a request: deferred increments (increment-condition / increment-count evaluated
/// on the final response), bandwidth, and the remaining / total calls headers.
pub(crate) async fn finish(
    ledgers: &Ledgers,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
) {
    let Some(mut r) = ledgers.requests.lock().remove(&ctx.request_id) else {
        return;
    };
    for d in std::mem::take(&mut r.deferred) {
        match d {
            Deferred::Rate {
                loc,
                condition,
                count,
                key,
                limit,
                remaining_header,
            } => {
                let Some(n) = deferred_count(&condition, &count, service, ctx, env, &loc) else {
                    continue;
                };
                if n == 0 {
                    continue;
                }
                let left = ledgers.limiters.rate.increment(&key, limit, n).await;
                if let Some(h) = remaining_header {
                    r.headers.retain(|(name, _)| *name != h);
                    r.headers.push((h, left.to_string()));
                }
            }
            Deferred::Quota {
                loc,
                condition,
                count,
                key,
                spec,
            } => {
                let Some(n) = deferred_count(&condition, &count, service, ctx, env, &loc) else {
                    continue;
                };
                if n > 0 && r.quota_keys.first_increment(&key) {
                    ledgers.limiters.quota.add(&key, &spec, n, 0).await;
                }
            }
        }
    }
    if !r.bandwidth.is_empty() {
        let response = body_bytes(&ctx.response.body, &ctx.response.headers);
        for (key, spec, request) in &r.bandwidth {
            ledgers
                .limiters
                .quota
                .add(key, spec, 0, request.saturating_add(response))
                .await;
        }
    }
    for (h, v) in r.headers {
        let _ = ctx.response.headers.set_one(&h, v);
    }
}

/// increment-condition (default true) and increment-count (default 1) at the end of the
/// request; `None` when an expression fails there (nothing is counted; the failure is traced
/// and logged, the response is already decided).
fn deferred_count(
    condition: &Option<Val>,
    count: &Option<Val>,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Option<u64> {
    let result = (|| {
        if let Some(c) = condition
            && !steps::boolean(c, service, ctx, env, loc)?
        {
            return Ok(0);
        }
        match count {
            Some(c) => non_negative(c, "increment-count", service, ctx, env, loc),
            None => Ok(1),
        }
    })();
    match result {
        Ok(n) => Some(n),
        Err(e) => {
            let message = e.last_error.message.clone();
            tracing::warn!(policy = %loc.policy, error = %message, "increment not counted");
            steps::trace_policy(
                ctx,
                env,
                loc,
                || serde_json::json!({"message": "increment not counted", "error": message}),
            );
            None
        }
    }
}

/// The cache a -value policy uses (`caching-type`); external without one configured is a
/// compile diagnostic, so this fails only for a plan run with other services than compiled.
pub(crate) fn cache_of<'e>(
    env: Env<'e>,
    caching: CachingType,
    loc: &PolicyLocation,
    ctx: &RequestContext<'_, Value>,
) -> Result<&'e Arc<dyn CacheStore>, PErr> {
    env.services
        .cache_for(caching)
        .map_err(|e| steps::policy_err(loc, ctx, "CacheError", e.to_string()))
}
