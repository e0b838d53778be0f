//! Compiled policy statements and how each one runs.

use std::sync::Arc;
use std::time::Duration;

use apim_csharp::{EvalError, Program, Value};
use futures_util::future::BoxFuture;

use super::host;
use crate::backend_call::{ForwardOptions, forward_request};
use crate::context::RequestContext;
use crate::errors::{
    PipelineError, PolicyLocation, RetryBackoff, RetrySchedule, internal_error_response,
};
use crate::http::{ExistsAction, Response, Url};
use crate::matching::UrlTemplate;
use crate::pipeline::{Env, Flow, Step, StepResult};
use crate::service::ServiceDefinition;
use crate::trace::TraceEntry;

mod ai_backend;
pub(crate) mod content_safety;
pub(crate) mod semantic;

/// An attribute value or element text after named-value substitution.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Lit(String),
    Expr(Arc<Expr>),
}

/// A compiled expression and what of `context` it can reach.
#[derive(Debug)]
pub(crate) struct Expr {
    pub program: Program,
    /// What of `context` the source reaches: with only `context.Variables` (and
    /// `context.Response`), only those are handed to the evaluation (the rest of the request
    /// is not swapped in).
    pub reach: Reach,
}

/// What of `context` an expression's source can reach, judged on its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    Variables,
    VariablesAndResponse,
    All,
}

impl Expr {
    pub fn new(program: Program, source: &str) -> Self {
        Expr {
            program,
            reach: reach(source),
        }
    }
}

impl std::ops::Deref for Expr {
    type Target = Program;
    fn deref(&self) -> &Program {
        &self.program
    }
}

/// True when each occurrence of the identifier `context` in `source` is followed by
/// `.Variables` (conservative: a `context` in a string literal counts as any other).
#[cfg(test)]
fn only_variables(source: &str) -> bool {
    reach(source) == Reach::Variables
}

/// [`Reach::Variables`] when each occurrence of the identifier `context` in `source` is
/// followed by `.Variables`, [`Reach::VariablesAndResponse`] when some are `.Response` instead,
/// else [`Reach::All`] (conservative: a `context` in a string literal counts as any other).
fn reach(source: &str) -> Reach {
    let b = source.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut response = false;
    let mut from = 0;
    while let Some(i) = source[from..].find("context").map(|i| i + from) {
        let end = i + "context".len();
        from = end;
        let standalone = (i == 0 || !ident(b[i - 1])) && b.get(end).is_none_or(|c| !ident(*c));
        if !standalone {
            continue;
        }
        let member = [".Variables", ".Response"]
            .into_iter()
            .find(|m| source[end..].starts_with(m));
        match member {
            Some(m) if b.get(end + m.len()).is_none_or(|c| !ident(*c)) => {
                response |= m == ".Response";
            }
            _ => return Reach::All,
        }
    }
    if response {
        Reach::VariablesAndResponse
    } else {
        Reach::Variables
    }
}

/// One compiled policy statement and where it sits (for `context.LastError`).
pub(crate) struct Node {
    pub loc: PolicyLocation,
    pub kind: Kind,
}

/// azure-openai-token-limit / llm-token-limit: the inbound check and, at the start of
/// outbound, the settlement with the usage the backend reported.
pub(crate) struct TokenLimitSpec {
    pub loc: PolicyLocation,
    pub counter_key: Val,
    pub tokens_per_minute: Option<Val>,
    /// estimate-prompt-tokens.
    pub estimate: Val,
    pub quota: Option<(u64, crate::counters::TokenQuotaPeriod)>,
    pub retry_after_header: Option<String>,
    pub retry_after_variable: Option<String>,
    pub remaining_tokens_header: Option<String>,
    pub remaining_tokens_variable: Option<String>,
    pub remaining_quota_header: Option<String>,
    pub remaining_quota_variable: Option<String>,
    pub consumed_header: Option<String>,
    pub consumed_variable: Option<String>,
    /// One set of counters for the whole plan, shared by every request.
    pub limiters: Arc<crate::counters::Limiters>,
    /// Tickets of admitted requests by request id, until outbound (or on-error) settles them.
    pub pending:
        parking_lot::Mutex<std::collections::HashMap<String, crate::counters::TokenTicket>>,
}

pub(crate) enum Kind {
    /// rate-limit, rate-limit-by-key, quota, quota-by-key (inbound check).
    Limit(Arc<super::limits::LimitPolicy>),
    /// validate-jwt / validate-azure-ad-token.
    ValidateJwt(Arc<super::jwt::JwtSpec>),
    /// proxy: forward-request goes through it.
    Proxy(super::proxy::ProxySpec),
    /// authentication-certificate: forward-request presents it.
    AuthenticationCertificate(super::proxy::CertificateSpec),
    /// Inbound half of a token-limit policy.
    TokenLimit(Arc<TokenLimitSpec>),
    /// After the backend response: count the usage; `on_error`: the response never came, the
    /// estimate is what is counted and no header is set.
    TokenSettle {
        spec: Arc<TokenLimitSpec>,
        on_error: bool,
    },
    /// emit-metric, the token-metric policies, log-to-eventhub.
    Observe(super::observe::Observe),
    Choose {
        whens: Vec<(Val, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    SetVariable {
        name: String,
        value: Val,
    },
    /// set-header; `response`: targets the response (outbound, on-error, return-response).
    SetHeader {
        response: bool,
        name: String,
        action: ExistsAction,
        values: Vec<Val>,
    },
    SetQueryParameter {
        name: String,
        action: ExistsAction,
        values: Vec<Val>,
    },
    SetBody {
        response: bool,
        value: Val,
    },
    SetStatus {
        code: Val,
        reason: Option<Val>,
    },
    SetMethod {
        value: Val,
    },
    /// Children run against a fresh 200 response, which then replaces `context.Response`.
    ReturnResponse {
        variable: Option<String>,
        children: Vec<Node>,
    },
    SetBackendService {
        base_url: Option<Val>,
        backend_id: Option<Val>,
    },
    ForwardRequest {
        opts: ForwardOptions,
    },
    Retry {
        condition: Val,
        count: Val,
        interval: Val,
        max_interval: Option<Val>,
        delta: Option<Val>,
        first_fast_retry: Option<Val>,
        children: Vec<Node>,
    },
    RewriteUri {
        template: Val,
        copy_unmatched: Option<Val>,
    },
    AuthenticationBasic {
        username: Val,
        password: Val,
    },
    MockResponse {
        status: u16,
        content_type: Option<String>,
    },
    CacheLookupValue {
        key: Val,
        variable: String,
        default: Option<Val>,
        caching: crate::counters::CachingType,
    },
    CacheStoreValue {
        key: Val,
        value: Val,
        duration: Val,
        caching: crate::counters::CachingType,
    },
    SetBodyLiquid {
        response: bool,
        template: Arc<crate::liquid::Template>,
    },
    FindAndReplace {
        response: bool,
        from: Val,
        to: Val,
    },
    Trace {
        source: String,
        message: Val,
        metadata: Vec<(String, Val)>,
    },
    CheckHeader {
        name: String,
        status: u16,
        error_message: Val,
        ignore_case: bool,
        values: Vec<Val>,
    },
    /// `rules`: an address (`to` = None) or an address range.
    IpFilter {
        action: Val,
        rules: Vec<(Val, Option<Val>)>,
    },
    SendRequest(Box<SendSpec>),
    CacheRemoveValue {
        key: Val,
        caching: crate::counters::CachingType,
    },
    Wait {
        any: bool,
        children: Vec<Node>,
    },
    AuthenticationManagedIdentity {
        resource: Val,
        client_id: Option<String>,
        output_variable: Option<String>,
        ignore_error: bool,
    },
    LimitConcurrency {
        key: Val,
        max: u32,
        limiter: Arc<crate::limits::ConcurrencyLimiter>,
        children: Vec<Node>,
    },
    JsonToXml {
        response: bool,
        apply: Val,
        consider_accept: Option<Val>,
        opts: crate::convert::JsonToXmlOptions,
    },
    XmlToJson {
        response: bool,
        apply: Val,
        consider_accept: Option<Val>,
        opts: crate::convert::XmlToJsonOptions,
    },
    ContentSafety(Box<content_safety::ContentSafetySpec>),
}

/// send-request / send-one-way-request.
pub(crate) struct SendSpec {
    pub mode: Option<Val>,
    /// `None`: send-one-way-request.
    pub variable: Option<String>,
    pub timeout: Option<Val>,
    pub ignore_error: bool,
    pub url: Option<Val>,
    pub method: Option<Val>,
    pub headers: Vec<(String, ExistsAction, Vec<Val>)>,
    pub body: Option<Val>,
    /// authentication-managed-identity child: resource, client id.
    pub identity: Option<(Val, Option<String>)>,
    /// proxy child.
    pub proxy: Option<super::proxy::ProxySpec>,
    /// authentication-certificate child.
    pub certificate: Option<super::proxy::CertificateSpec>,
}

/// A top-level statement of an effective section.
pub(crate) struct PlanStep {
    pub node: Node,
    pub service: Arc<ServiceDefinition>,
}

impl Step<Value> for PlanStep {
    fn run<'a>(
        &'a self,
        ctx: &'a mut RequestContext<'_, Value>,
        env: Env<'a>,
    ) -> BoxFuture<'a, StepResult> {
        exec(&self.node, &self.service, ctx, env)
    }
    fn run_now(&self, ctx: &mut RequestContext<'_, Value>, env: Env<'_>) -> Option<StepResult> {
        if is_sync(&self.node.kind) {
            return Some(exec_now(&self.node, &self.service, ctx, env));
        }
        exec_cache_value_now(&self.node, &self.service, ctx, env)
    }
}

type PErr = Box<PipelineError>;

pub(crate) fn expr_err(
    loc: &PolicyLocation,
    ctx: &RequestContext<'_, Value>,
    msg: impl Into<String>,
) -> PErr {
    Box::new(PipelineError::expression_failure(loc, msg, &ctx.request_id))
}

pub(crate) fn trace(
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    section: crate::errors::Section,
    source: &str,
    data: serde_json::Value,
) {
    if !ctx.trace.is_enabled() {
        return;
    }
    let entry = TraceEntry {
        source: source.to_string(),
        timestamp: env.services.clock.now(),
        elapsed: ctx.elapsed(env.services.clock.monotonic()),
        data,
    };
    ctx.trace.record(section, entry);
}

/// A trace entry from the policy at `loc`; `data` is built only when the request is traced.
pub(crate) fn trace_policy(
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
    data: impl FnOnce() -> serde_json::Value,
) {
    trace_with(ctx, env, loc.section, &loc.policy, data);
}

/// A trace entry whose `data` is built only when the request is traced.
pub(crate) fn trace_with(
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    section: crate::errors::Section,
    source: &str,
    data: impl FnOnce() -> serde_json::Value,
) {
    if ctx.trace.is_enabled() {
        let data = data();
        trace(ctx, env, section, source, data);
    }
}

/// Evaluates an expression over the context.
fn evaluate(
    prog: &Expr,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<Value, PErr> {
    if prog.reach != Reach::All {
        let environment = host::EngineEnvironment {
            clock: &*env.services.clock,
            rng: &env.services.rng,
        };
        let response = prog.reach == Reach::VariablesAndResponse;
        return host::evaluate_on_variables(&prog.program, ctx, service, &environment, response)
            .map_err(|e| eval_err(e, loc, ctx));
    }
    let live = host::enter(ctx, service, env.services.clock.monotonic());
    let environment = host::EngineEnvironment {
        clock: &*env.services.clock,
        rng: &env.services.rng,
    };
    let r = prog.evaluate(live.context(), &environment);
    let traces = host::restore(ctx, live);
    for t in traces {
        if ctx.trace.is_enabled() {
            let entry = TraceEntry {
                source: "context.Trace".into(),
                timestamp: env.services.clock.now(),
                elapsed: ctx.elapsed(env.services.clock.monotonic()),
                data: serde_json::Value::String(t),
            };
            ctx.trace.record(loc.section, entry);
        }
    }
    r.map_err(|e| eval_err(e, loc, ctx))
}

fn eval_err(e: EvalError, loc: &PolicyLocation, ctx: &RequestContext<'_, Value>) -> PErr {
    match e {
        EvalError::Exception(x) => expr_err(loc, ctx, x.message),
        EvalError::StepBudget(_) => expr_err(loc, ctx, e.to_string()),
    }
}

pub(super) fn value(
    v: &Val,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<Value, PErr> {
    match v {
        Val::Lit(s) => Ok(Value::str(s)),
        Val::Expr(p) => evaluate(p, service, ctx, env, loc),
    }
}

pub(crate) fn text(
    v: &Val,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<String, PErr> {
    match v {
        Val::Lit(s) => Ok(s.clone()),
        Val::Expr(p) => {
            let v = evaluate(p, service, ctx, env, loc)?;
            Ok(match v {
                Value::Null => String::new(),
                other => apim_csharp::render::net_string(&other),
            })
        }
    }
}

/// [`text`] without copying a literal.
pub(crate) fn text_cow<'v>(
    v: &'v Val,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<std::borrow::Cow<'v, str>, PErr> {
    match v {
        Val::Lit(s) => Ok(std::borrow::Cow::Borrowed(s)),
        Val::Expr(_) => text(v, service, ctx, env, loc).map(std::borrow::Cow::Owned),
    }
}

pub(crate) fn boolean(
    v: &Val,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<bool, PErr> {
    if let Val::Lit(s) = v {
        // A literal is parsed as the string value would be, without making one.
        let t = s.trim();
        if t.eq_ignore_ascii_case("true") {
            return Ok(true);
        }
        if t.eq_ignore_ascii_case("false") {
            return Ok(false);
        }
    }
    match value(v, service, ctx, env, loc)? {
        Value::Bool(b) => Ok(b),
        Value::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(expr_err(
                loc,
                ctx,
                format!("String '{s}' was not recognized as a valid Boolean."),
            )),
        },
        other => Err(expr_err(
            loc,
            ctx,
            format!(
                "Unable to cast object of type '{}' to type 'System.Boolean'.",
                apim_csharp::render::clr_full_name(&other)
            ),
        )),
    }
}

pub(crate) fn integer(
    v: &Val,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<i64, PErr> {
    let t = text_cow(v, service, ctx, env, loc)?;
    t.trim().parse::<i64>().map_err(|_| {
        expr_err(
            loc,
            ctx,
            format!("Input string '{t}' was not in a correct format."),
        )
    })
}

fn seconds(
    v: &Val,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<Duration, PErr> {
    let n = integer(v, service, ctx, env, loc)?;
    Ok(Duration::from_secs(u64::try_from(n).unwrap_or(0)))
}

pub(crate) fn policy_err(
    loc: &PolicyLocation,
    ctx: &RequestContext<'_, Value>,
    reason: &str,
    msg: String,
) -> PErr {
    Box::new(PipelineError::policy(
        loc,
        reason,
        msg,
        internal_error_response(&ctx.request_id),
    ))
}

/// Runs a list of statements; stops at the first `Return` or error.
pub(crate) fn exec_all<'a>(
    nodes: &'a [Node],
    service: &'a Arc<ServiceDefinition>,
    ctx: &'a mut RequestContext<'_, Value>,
    env: Env<'a>,
) -> BoxFuture<'a, StepResult> {
    Box::pin(async move {
        for n in nodes {
            let flow = if is_sync(&n.kind) {
                exec_now(n, service, ctx, env)?
            } else {
                exec(n, service, ctx, env).await?
            };
            if flow == Flow::Return {
                return Ok(Flow::Return);
            }
        }
        Ok(Flow::Continue)
    })
}

pub(crate) fn exec<'a>(
    node: &'a Node,
    service: &'a Arc<ServiceDefinition>,
    ctx: &'a mut RequestContext<'_, Value>,
    env: Env<'a>,
) -> BoxFuture<'a, StepResult> {
    // Each policy's future is boxed on its own, sized to that policy (not to the largest).
    let loc = &node.loc;
    if is_sync(&node.kind) {
        return Box::pin(std::future::ready(exec_now(node, service, ctx, env)));
    }
    match &node.kind {
        Kind::Limit(p) => {
            Box::pin(async move { super::limits::check(p, service, ctx, env, loc).await })
        }
        Kind::TokenLimit(spec) => {
            Box::pin(async move { token_check(spec, service, ctx, env, loc).await })
        }
        Kind::ValidateJwt(spec) => {
            Box::pin(async move { super::jwt::validate(spec, service, ctx, env, loc).await })
        }
        Kind::TokenSettle { spec, on_error } => {
            Box::pin(async move { token_settle(spec, *on_error, ctx).await })
        }
        Kind::ContentSafety(spec) => {
            Box::pin(async move { content_safety::run(spec, service, ctx, env, loc).await })
        }
        Kind::Observe(o) => {
            Box::pin(async move { super::observe::run(o, service, ctx, env, loc).await })
        }
        Kind::Choose { whens, otherwise } => Box::pin(async move {
            let branch = choose_branch(whens, otherwise, service, ctx, env, loc)?;
            exec_all(branch, service, ctx, env).await
        }),
        Kind::ReturnResponse { variable, children } => Box::pin(async move {
            let previous = begin_return_response(variable.as_deref(), ctx);
            let children = exec_all(children, service, ctx, env).await;
            end_return_response(children, previous, ctx, env, loc)
        }),
        Kind::ForwardRequest { opts } => Box::pin(async move {
            forward_request(ctx, env.services, env.backends, opts, loc).await?;
            Ok(Flow::Continue)
        }),
        Kind::Retry {
            condition,
            count,
            interval,
            max_interval,
            delta,
            first_fast_retry,
            children,
        } => Box::pin(async move {
            let count = integer(count, service, ctx, env, loc)?;
            let backoff = RetryBackoff {
                interval: seconds(interval, service, ctx, env, loc)?,
                max_interval: match max_interval {
                    Some(v) => Some(seconds(v, service, ctx, env, loc)?),
                    None => None,
                },
                delta: match delta {
                    Some(v) => Some(seconds(v, service, ctx, env, loc)?),
                    None => None,
                },
                first_fast_retry: match first_fast_retry {
                    Some(v) => boolean(v, service, ctx, env, loc)?,
                    None => false,
                },
            };
            let mut schedule =
                RetrySchedule::new(backoff, u32::try_from(count.max(0)).unwrap_or(u32::MAX));
            loop {
                // A child error (a fail-on-error-status-code 429, say) is retried while the
                // condition holds and retries remain; otherwise it goes on to on-error.
                let failure = match exec_all(children, service, ctx, env).await {
                    Ok(Flow::Return) => return Ok(Flow::Return),
                    Ok(Flow::Continue) => None,
                    Err(e) => Some(e),
                };
                if !boolean(condition, service, ctx, env, loc)? {
                    return match failure {
                        Some(e) => Err(e),
                        None => Ok(Flow::Continue),
                    };
                }
                let Some(wait) = schedule.next_delay(&env.services.rng) else {
                    return match failure {
                        Some(e) => Err(e),
                        None => Ok(Flow::Continue),
                    };
                };
                trace_with(
                    ctx,
                    env,
                    loc.section,
                    "retry",
                    || serde_json::json!({"retry": schedule.retries(), "waitMs": wait.as_millis() as u64}),
                );
                if !wait.is_zero() {
                    env.services.clock.sleep(wait).await;
                }
            }
        }),
        Kind::CacheLookupValue {
            key,
            variable,
            default,
            caching,
        } => Box::pin(async move {
            let k = text_cow(key, service, ctx, env, loc)?;
            let cache = super::limits::cache_of(env, *caching, loc, ctx)?;
            // An unreachable cache is a miss (docs/compat.md; the store logs the fault).
            let found = cache.get(&k).await.unwrap_or(None);
            set_looked_up(found, variable, default.as_ref(), service, ctx, env, loc)
        }),
        Kind::CacheStoreValue {
            key,
            value: v,
            duration,
            caching,
        } => Box::pin(async move {
            let (k, bytes, d) = store_inputs(key, v, duration, service, ctx, env, loc)?;
            let cache = super::limits::cache_of(env, *caching, loc, ctx)?;
            // An unreachable cache skips the store (docs/compat.md).
            let _ = cache.set(&k, bytes, d).await;
            Ok(Flow::Continue)
        }),
        Kind::SendRequest(spec) => {
            Box::pin(async move { send(spec, node, service, ctx, env).await })
        }
        Kind::CacheRemoveValue { key, caching } => Box::pin(async move {
            let k = text(key, service, ctx, env, loc)?;
            let cache = super::limits::cache_of(env, *caching, loc, ctx)?;
            let _ = cache.remove(&k).await;
            Ok(Flow::Continue)
        }),
        Kind::Wait { any, children } => {
            Box::pin(async move { wait_all(children, *any, service, ctx, env).await })
        }
        Kind::AuthenticationManagedIdentity {
            resource,
            client_id,
            output_variable,
            ignore_error,
        } => Box::pin(async move {
            let res = text(resource, service, ctx, env, loc)?;
            match env.services.tokens.token(&res, client_id.as_deref()).await {
                Ok(t) => match output_variable {
                    Some(v) => ctx.variables.set(v.clone(), Value::str(&t.token)),
                    None => ctx
                        .request
                        .headers
                        .set_one("Authorization", format!("Bearer {}", t.token))
                        .map_err(|e| policy_err(loc, ctx, "PolicyError", e.to_string()))?,
                },
                Err(_) if *ignore_error => {}
                Err(e) => {
                    return Err(policy_err(
                        loc,
                        ctx,
                        "ManagedIdentityTokenFailure",
                        e.to_string(),
                    ));
                }
            }
            Ok(Flow::Continue)
        }),
        Kind::LimitConcurrency {
            key,
            max,
            limiter,
            children,
        } => Box::pin(async move {
            let k = text(key, service, ctx, env, loc)?;
            let Some(slot) = limiter.try_acquire(&k, *max) else {
                return Err(Box::new(PipelineError::policy(
                    loc,
                    "ConcurrencyLimitExceeded",
                    "Too many concurrent requests.",
                    crate::errors::error_response(429, "Too many requests"),
                )));
            };
            let r = exec_all(children, service, ctx, env).await;
            drop(slot);
            r
        }),
        _ => Box::pin(std::future::ready(exec_now(node, service, ctx, env))),
    }
}

/// Whether a statement (and every statement inside it) runs without awaiting anything.
/// The statements of the first `when` whose condition holds, else `otherwise`.
fn choose_branch<'n>(
    whens: &'n [(Val, Vec<Node>)],
    otherwise: &'n [Node],
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<&'n [Node], PErr> {
    for (i, (cond, body)) in whens.iter().enumerate() {
        if boolean(cond, service, ctx, env, loc)? {
            trace_with(
                ctx,
                env,
                loc.section,
                "choose",
                || serde_json::json!({"path": loc.path, "taken": format!("when[{}]", i + 1)}),
            );
            return Ok(body);
        }
    }
    trace_with(
        ctx,
        env,
        loc.section,
        "choose",
        || serde_json::json!({"path": loc.path, "taken": "otherwise"}),
    );
    Ok(otherwise)
}

/// return-response: its children build on a new response (or the one kept in `variable`);
/// the pending one is kept aside meanwhile and returned here.
fn begin_return_response(variable: Option<&str>, ctx: &mut RequestContext<'_, Value>) -> Response {
    let start = match variable.and_then(|v| ctx.variables.get(v)) {
        Some(Value::Host(h)) => {
            host::response_from_value(h.as_ref()).unwrap_or_else(|| Response::new(200))
        }
        _ => Response::new(200),
    };
    std::mem::replace(&mut ctx.response, start)
}

/// return-response after its children ran: an error puts the pending response back.
fn end_return_response(
    children: StepResult,
    previous: Response,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> StepResult {
    if let Err(e) = children {
        ctx.response = previous;
        return Err(e);
    }
    let status = ctx.response.status;
    trace_with(
        ctx,
        env,
        loc.section,
        "return-response",
        || serde_json::json!({"status": status}),
    );
    Ok(Flow::Return)
}

/// cache-store-value's key, stored form of the value and duration, evaluated in that order.
fn store_inputs<'v>(
    key: &'v Val,
    v: &Val,
    duration: &Val,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<(std::borrow::Cow<'v, str>, bytes::Bytes, std::time::Duration), PErr> {
    let k = text_cow(key, service, ctx, env, loc)?;
    let val = value(v, service, ctx, env, loc)?;
    let d = seconds(duration, service, ctx, env, loc)?;
    Ok((k, host::encode_cached(&val).into(), d))
}

/// cache-lookup-value's outcome: the cached value in the variable, else its default (when
/// the policy names one); with neither the variable is left as it was.
fn set_looked_up(
    found: Option<bytes::Bytes>,
    variable: &str,
    default: Option<&Val>,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> StepResult {
    match found {
        Some(bytes) => ctx.variables.set(variable, host::decode_cached(&bytes)),
        None => {
            if let Some(d) = default {
                let v = value(d, service, ctx, env, loc)?;
                ctx.variables.set(variable, v);
            }
        }
    }
    Ok(Flow::Continue)
}

/// cache-lookup-value and cache-store-value over a cache that answers at once (the internal
/// one): run without a future, as their async form would. `None` (nothing done) otherwise.
fn exec_cache_value_now(
    node: &Node,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
) -> Option<StepResult> {
    let loc = &node.loc;
    let immediate = |caching: &crate::counters::CachingType| {
        env.services
            .cache_for(*caching)
            .ok()
            .and_then(|c| c.immediate())
    };
    match &node.kind {
        Kind::CacheLookupValue {
            key,
            variable,
            default,
            caching,
        } => {
            let cache = immediate(caching)?;
            Some((|| {
                let k = text_cow(key, service, ctx, env, loc)?;
                // An unreachable cache is a miss (docs/compat.md).
                let found = cache.lookup_now(&k).unwrap_or(None);
                set_looked_up(found, variable, default.as_ref(), service, ctx, env, loc)
            })())
        }
        Kind::CacheStoreValue {
            key,
            value: v,
            duration,
            caching,
        } => {
            let cache = immediate(caching)?;
            Some((|| {
                let (k, bytes, d) = store_inputs(key, v, duration, service, ctx, env, loc)?;
                // An unreachable cache skips the store (docs/compat.md).
                let _ = cache.store_now(&k, bytes, d);
                Ok(Flow::Continue)
            })())
        }
        _ => None,
    }
}

pub(crate) fn is_sync(kind: &Kind) -> bool {
    match kind {
        Kind::Choose { whens, otherwise } => {
            whens.iter().all(|(_, b)| all_sync(b)) && all_sync(otherwise)
        }
        Kind::ReturnResponse { children, .. } => all_sync(children),
        Kind::AuthenticationCertificate(_)
        | Kind::Proxy(_)
        | Kind::SetVariable { .. }
        | Kind::SetHeader { .. }
        | Kind::SetQueryParameter { .. }
        | Kind::SetBody { .. }
        | Kind::SetStatus { .. }
        | Kind::SetMethod { .. }
        | Kind::SetBackendService { .. }
        | Kind::RewriteUri { .. }
        | Kind::AuthenticationBasic { .. }
        | Kind::MockResponse { .. }
        | Kind::SetBodyLiquid { .. }
        | Kind::FindAndReplace { .. }
        | Kind::Trace { .. }
        | Kind::CheckHeader { .. }
        | Kind::IpFilter { .. }
        | Kind::JsonToXml { .. }
        | Kind::XmlToJson { .. } => true,
        _ => false,
    }
}

fn all_sync(nodes: &[Node]) -> bool {
    nodes.iter().all(|n| is_sync(&n.kind))
}

/// Runs statements that never await ([`is_sync`]) without a future.
pub(crate) fn exec_all_now(
    nodes: &[Node],
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
) -> StepResult {
    for n in nodes {
        if exec_now(n, service, ctx, env)? == Flow::Return {
            return Ok(Flow::Return);
        }
    }
    Ok(Flow::Continue)
}

/// Runs one statement that never awaits ([`is_sync`]).
pub(crate) fn exec_now(
    node: &Node,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
) -> StepResult {
    let loc = &node.loc;
    match &node.kind {
        Kind::Choose { whens, otherwise } => {
            let branch = choose_branch(whens, otherwise, service, ctx, env, loc)?;
            exec_all_now(branch, service, ctx, env)
        }
        Kind::ReturnResponse { variable, children } => {
            let previous = begin_return_response(variable.as_deref(), ctx);
            let children = exec_all_now(children, service, ctx, env);
            end_return_response(children, previous, ctx, env, loc)
        }
        Kind::AuthenticationCertificate(spec) => {
            let cert = super::proxy::certificate(spec, service, ctx, env, loc)?;
            ctx.backend_certificate = Some(cert);
            Ok(Flow::Continue)
        }
        Kind::Proxy(spec) => {
            ctx.backend_proxy = Some(super::proxy::evaluate(spec, service, ctx, env, loc)?);
            Ok(Flow::Continue)
        }
        Kind::SetVariable { name, value: v } => {
            let val = value(v, service, ctx, env, loc)?;
            ctx.variables.set(name.as_str(), val);
            Ok(Flow::Continue)
        }
        Kind::SetHeader {
            response,
            name,
            action,
            values,
        } => {
            let mut vals = Vec::with_capacity(values.len());
            for v in values {
                vals.push(text(v, service, ctx, env, loc)?);
            }
            let headers = if *response {
                &mut ctx.response.headers
            } else {
                &mut ctx.request.headers
            };
            headers
                .apply(name, *action, vals)
                .map_err(|e| policy_err(loc, ctx, "PolicyError", e.to_string()))?;
            Ok(Flow::Continue)
        }
        Kind::SetQueryParameter {
            name,
            action,
            values,
        } => {
            let mut vals = Vec::with_capacity(values.len());
            for v in values {
                vals.push(text(v, service, ctx, env, loc)?);
            }
            ctx.request.url.query_mut().apply(name, *action, vals);
            Ok(Flow::Continue)
        }
        Kind::SetBody { response, value: v } => {
            let body = text(v, service, ctx, env, loc)?;
            if *response {
                ctx.response.body.set(body.into_bytes());
            } else {
                ctx.request.body.set(body.into_bytes());
            }
            Ok(Flow::Continue)
        }
        Kind::SetStatus { code, reason } => {
            let c = integer(code, service, ctx, env, loc)?;
            let c = u16::try_from(c)
                .ok()
                .filter(|c| (100..=599).contains(c))
                .ok_or_else(|| expr_err(loc, ctx, format!("Status code {c} is not valid.")))?;
            let reason = match reason {
                Some(r) => Some(text(r, service, ctx, env, loc)?),
                None => None,
            };
            let fresh = Response::new(c);
            ctx.response.status = c;
            ctx.response.reason = reason.unwrap_or(fresh.reason);
            Ok(Flow::Continue)
        }
        Kind::SetMethod { value: v } => {
            let m = text(v, service, ctx, env, loc)?;
            ctx.request.method = m.trim().to_string();
            Ok(Flow::Continue)
        }
        Kind::SetBackendService {
            base_url,
            backend_id,
        } => {
            if let Some(b) = backend_id {
                let id = text(b, service, ctx, env, loc)?;
                let Some(reg) = env.backends else {
                    return Err(policy_err(
                        loc,
                        ctx,
                        "BackendNotFound",
                        format!("Backend with id '{id}' could not be found."),
                    ));
                };
                ctx.set_backend_id(&id, reg)
                    .map_err(|e| policy_err(loc, ctx, "BackendNotFound", e.to_string()))?;
            }
            if let Some(u) = base_url {
                let raw = text(u, service, ctx, env, loc)?;
                let url = Url::parse(raw.trim())
                    .map_err(|e| expr_err(loc, ctx, format!("Invalid URI: {e}")))?;
                ctx.set_backend_base_url(url)
                    .map_err(|e| expr_err(loc, ctx, e.to_string()))?;
            }
            if ctx.trace.is_enabled() {
                let data = serde_json::json!({
                    "backendId": ctx.backend_id,
                    "url": ctx.request.url.to_string(),
                });
                trace(ctx, env, loc.section, "set-backend-service", data);
            }
            Ok(Flow::Continue)
        }
        Kind::RewriteUri {
            template,
            copy_unmatched,
        } => {
            let t = text(template, service, ctx, env, loc)?;
            let copy = match copy_unmatched {
                Some(v) => boolean(v, service, ctx, env, loc)?,
                None => true,
            };
            let op_template = ctx
                .operation
                .map(|o| o.url_template.as_str())
                .unwrap_or("/");
            let op_template =
                UrlTemplate::parse(op_template).map_err(|e| expr_err(loc, ctx, e.to_string()))?;
            let base = match &ctx.backend_base {
                Some(b) => b.clone(),
                None => ctx.request.url.origin(),
            };
            let url = crate::routing::rewrite_uri(
                &base,
                &t,
                &ctx.matched_parameters,
                &op_template,
                ctx.request.url.query(),
                copy,
            )
            .map_err(|e| expr_err(loc, ctx, e.to_string()))?;
            ctx.request.url = url;
            Ok(Flow::Continue)
        }
        Kind::AuthenticationBasic { username, password } => {
            let u = text(username, service, ctx, env, loc)?;
            let p = text(password, service, ctx, env, loc)?;
            ctx.request
                .headers
                .set_one("Authorization", crate::limits::basic_authorization(&u, &p))
                .map_err(|e| policy_err(loc, ctx, "PolicyError", e.to_string()))?;
            Ok(Flow::Continue)
        }
        Kind::MockResponse {
            status,
            content_type,
        } => {
            ctx.response = crate::mock_response::mock_response(
                ctx.operation,
                *status,
                content_type.as_deref(),
            );
            Ok(Flow::Return)
        }
        Kind::SetBodyLiquid { response, template } => {
            let msg = if *response {
                &mut ctx.response.headers
            } else {
                &mut ctx.request.headers
            };
            let is_json = msg.media_type().is_some_and(|m| m.contains("json"));
            let body = if *response {
                &mut ctx.response.body
            } else {
                &mut ctx.request.body
            };
            // Liquid binds `body` only for JSON content (XML bodies bind nil here).
            let bound = if is_json && body.is_present() {
                body.read_text(true)
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
            } else {
                None
            };
            let bindings = crate::liquid::Bindings {
                body: bound,
                context: ctx.liquid_context(),
                now: Some(env.services.clock.now()),
            };
            let out = template
                .render(&bindings)
                .map_err(|e| expr_err(loc, ctx, e.to_string()))?;
            if *response {
                ctx.response.body.set(out.into_bytes());
            } else {
                ctx.request.body.set(out.into_bytes());
            }
            Ok(Flow::Continue)
        }
        Kind::FindAndReplace { response, from, to } => {
            let from = text(from, service, ctx, env, loc)?;
            let to = text(to, service, ctx, env, loc)?;
            let body = if *response {
                &mut ctx.response.body
            } else {
                &mut ctx.request.body
            };
            if body.is_present() && !from.is_empty() {
                let current = body
                    .read_text(true)
                    .map_err(|e| policy_err(loc, ctx, "PolicyError", e.to_string()))?;
                let body = if *response {
                    &mut ctx.response.body
                } else {
                    &mut ctx.request.body
                };
                body.set(current.replace(&from, &to).into_bytes());
            }
            Ok(Flow::Continue)
        }
        Kind::Trace {
            source,
            message,
            metadata,
        } => {
            let m = text(message, service, ctx, env, loc)?;
            let mut meta = serde_json::Map::new();
            for (n, v) in metadata {
                meta.insert(
                    n.clone(),
                    serde_json::Value::String(text(v, service, ctx, env, loc)?),
                );
            }
            if ctx.trace.is_enabled() {
                trace(
                    ctx,
                    env,
                    loc.section,
                    source,
                    serde_json::json!({"message": m, "metadata": meta}),
                );
            }
            Ok(Flow::Continue)
        }
        Kind::CheckHeader {
            name,
            status,
            error_message,
            ignore_case,
            values,
        } => {
            let present = ctx.request.headers.get(name).map(|v| v.to_vec());
            let mut allowed = Vec::with_capacity(values.len());
            for v in values {
                allowed.push(text(v, service, ctx, env, loc)?);
            }
            let failure = match present {
                None => Some((
                    "HeaderNotFound",
                    format!("Header {name} was not found in the request. Access denied."),
                )),
                Some(got) if !allowed.is_empty() => {
                    let joined = got.join(",");
                    let ok = got.iter().any(|g| {
                        allowed.iter().any(|a| {
                            if *ignore_case {
                                a.eq_ignore_ascii_case(g)
                            } else {
                                a == g
                            }
                        })
                    });
                    (!ok).then(|| {
                        (
                            "HeaderValueNotAllowed",
                            format!(
                                "Header {name} value of {joined} is not allowed. Access denied."
                            ),
                        )
                    })
                }
                Some(_) => None,
            };
            if let Some((reason, msg)) = failure {
                let body = text(error_message, service, ctx, env, loc)?;
                return Err(Box::new(PipelineError::policy(
                    loc,
                    reason,
                    msg,
                    crate::errors::error_response(*status, &body),
                )));
            }
            Ok(Flow::Continue)
        }
        Kind::IpFilter { action, rules } => {
            let action = text(action, service, ctx, env, loc)?;
            let allow = match action.trim().to_ascii_lowercase().as_str() {
                "allow" => true,
                "forbid" => false,
                other => {
                    return Err(expr_err(
                        loc,
                        ctx,
                        format!("ip-filter action '{other}' must be allow or forbid"),
                    ));
                }
            };
            let mut parsed = Vec::with_capacity(rules.len());
            for (a, b) in rules {
                let a = text(a, service, ctx, env, loc)?;
                let rule = match b {
                    None => crate::limits::IpRule::address(a.trim()),
                    Some(b) => {
                        let b = text(b, service, ctx, env, loc)?;
                        crate::limits::IpRule::range(a.trim(), b.trim())
                    }
                };
                parsed.push(rule.map_err(|e| expr_err(loc, ctx, e.to_string()))?);
            }
            let forbidden = |reason: &str, msg: String| {
                Box::new(PipelineError::policy(
                    loc,
                    reason,
                    msg.clone(),
                    crate::errors::error_response(403, &msg),
                ))
            };
            let ip = match crate::limits::caller_ip(&ctx.request.ip_address) {
                Ok(ip) => ip,
                Err(_) => {
                    return Err(forbidden(
                        "FailedToParseCallerIP",
                        "Failed to establish IP address for the caller. Access denied.".into(),
                    ));
                }
            };
            let listed = parsed.iter().any(|r| r.contains(ip));
            if allow && !listed {
                return Err(forbidden(
                    "CallerIpNotAllowed",
                    format!("Caller IP address {ip} is not allowed. Access denied."),
                ));
            }
            if !allow && listed {
                return Err(forbidden(
                    "CallerIpBlocked",
                    "Caller IP address is blocked. Access denied.".into(),
                ));
            }
            Ok(Flow::Continue)
        }
        Kind::JsonToXml {
            response,
            apply,
            consider_accept,
            opts,
        } => {
            let how = Conversion {
                from: "json",
                to: "xml",
                content_type: "application/xml",
                response: *response,
            };
            convert_body(
                how,
                apply,
                consider_accept,
                service,
                ctx,
                env,
                loc,
                |text| crate::convert::json_to_xml(text, opts),
            )
        }
        Kind::XmlToJson {
            response,
            apply,
            consider_accept,
            opts,
        } => {
            let how = Conversion {
                from: "xml",
                to: "json",
                content_type: "application/json",
                response: *response,
            };
            convert_body(
                how,
                apply,
                consider_accept,
                service,
                ctx,
                env,
                loc,
                |text| crate::convert::xml_to_json(text, opts),
            )
        }
        _ => Err(policy_err(
            loc,
            ctx,
            "PolicyError",
            format!("internal: {} cannot run without awaiting", loc.policy),
        )),
    }
}

fn take_text(ctx: &mut RequestContext<'_, Value>, response: bool) -> Result<String, String> {
    let body = if response {
        &mut ctx.response.body
    } else {
        &mut ctx.request.body
    };
    body.read_text(true).map_err(|e| e.to_string())
}

fn put_text(ctx: &mut RequestContext<'_, Value>, response: bool, text: String, content_type: &str) {
    let (headers, body) = if response {
        (&mut ctx.response.headers, &mut ctx.response.body)
    } else {
        (&mut ctx.request.headers, &mut ctx.request.body)
    };
    body.set(text.into_bytes());
    let _ = headers.set_one("Content-Type", content_type);
}

/// What json-to-xml / xml-to-json convert: formats, the new `Content-Type`, which message.
struct Conversion {
    from: &'static str,
    to: &'static str,
    content_type: &'static str,
    response: bool,
}

/// json-to-xml / xml-to-json: converts the message body with `convert` when `apply` (and the
/// `Accept` header, with `consider-accept-header`) say so.
#[allow(clippy::too_many_arguments)]
fn convert_body(
    how: Conversion,
    apply: &Val,
    consider_accept: &Option<Val>,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
    convert: impl FnOnce(&str) -> Result<String, crate::convert::ConvertError>,
) -> StepResult {
    if !should_convert(
        apply,
        consider_accept,
        how.from,
        how.to,
        how.response,
        service,
        ctx,
        env,
        loc,
    )? {
        return Ok(Flow::Continue);
    }
    let text = take_text(ctx, how.response).map_err(|e| policy_err(loc, ctx, "PolicyError", e))?;
    let out = convert(&text).map_err(|e| policy_err(loc, ctx, "PolicyError", e.to_string()))?;
    put_text(ctx, how.response, out, how.content_type);
    Ok(Flow::Continue)
}

/// json-to-xml / xml-to-json `apply` and `consider-accept-header`.
#[allow(clippy::too_many_arguments)]
fn should_convert(
    apply: &Val,
    consider_accept: &Option<Val>,
    from: &str,
    to: &str,
    response: bool,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<bool, PErr> {
    let apply = text(apply, service, ctx, env, loc)?;
    let headers = if response {
        &ctx.response.headers
    } else {
        &ctx.request.headers
    };
    let present = if response {
        ctx.response.body.is_present()
    } else {
        ctx.request.body.is_present()
    };
    if !present {
        return Ok(false);
    }
    let is_from = headers
        .media_type()
        .is_some_and(|m| m.to_ascii_lowercase().contains(from));
    match apply.trim().to_ascii_lowercase().as_str() {
        "always" => {}
        a if a == format!("content-type-{from}") => {
            if !is_from {
                return Ok(false);
            }
        }
        other => {
            return Err(expr_err(
                loc,
                ctx,
                format!("apply '{other}' must be always or content-type-{from}"),
            ));
        }
    }
    let consider = match consider_accept {
        Some(v) => boolean(v, service, ctx, env, loc)?,
        None => true,
    };
    if consider {
        let accept = ctx.request.headers.get_joined("Accept").unwrap_or_default();
        if !accept.to_ascii_lowercase().contains(to) {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn prepare_send(
    spec: &SendSpec,
    node: &Node,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
) -> Result<Prepared, PErr> {
    let loc = &node.loc;
    let mode = match &spec.mode {
        Some(m) => text(m, service, ctx, env, loc)?,
        None => "new".into(),
    };
    let mode = match mode.trim().to_ascii_lowercase().as_str() {
        "new" => crate::backend_call::SendMode::New,
        "copy" => crate::backend_call::SendMode::Copy,
        other => {
            return Err(expr_err(
                loc,
                ctx,
                format!("mode '{other}' must be new or copy"),
            ));
        }
    };
    let base = crate::backend_call::send_request_base(ctx, mode, loc.section);
    let url = match &spec.url {
        Some(u) => {
            let raw = text(u, service, ctx, env, loc)?;
            Some(
                Url::parse(raw.trim())
                    .map_err(|e| expr_err(loc, ctx, format!("Invalid URI: {e}")))?,
            )
        }
        None => None,
    };
    let mut req = match (base, url) {
        (Some(mut b), Some(u)) => {
            b.url = u;
            b
        }
        (Some(b), None) => b,
        (None, Some(u)) => crate::services::BackendRequest::new("GET", u),
        (None, None) => {
            return Err(expr_err(
                loc,
                ctx,
                "send-request requires set-url in mode new",
            ));
        }
    };
    if let Some(m) = &spec.method {
        req.method = text(m, service, ctx, env, loc)?.trim().to_string();
    }
    for (name, action, values) in &spec.headers {
        let mut vals = Vec::with_capacity(values.len());
        for v in values {
            vals.push(text(v, service, ctx, env, loc)?);
        }
        req.headers
            .apply(name, *action, vals)
            .map_err(|e| policy_err(loc, ctx, "PolicyError", e.to_string()))?;
    }
    if let Some(b) = &spec.body {
        let t = text(b, service, ctx, env, loc)?;
        req.body = crate::http::Body::from_bytes(t.into_bytes());
    }
    if let Some((resource, client_id)) = &spec.identity {
        let res = text(resource, service, ctx, env, loc)?;
        let token = env
            .services
            .tokens
            .token(&res, client_id.as_deref())
            .await
            .map_err(|e| policy_err(loc, ctx, "ManagedIdentityTokenFailure", e.to_string()))?;
        req.headers
            .set_one("Authorization", format!("Bearer {}", token.token))
            .map_err(|e| policy_err(loc, ctx, "PolicyError", e.to_string()))?;
    }
    if let Some(p) = &spec.proxy {
        req.proxy = Some(super::proxy::evaluate(p, service, ctx, env, loc)?);
    }
    if let Some(c) = &spec.certificate {
        req.client_certificate = Some(super::proxy::certificate(c, service, ctx, env, loc)?);
    }
    let timeout = match &spec.timeout {
        Some(t) => seconds(t, service, ctx, env, loc)?,
        None => Duration::from_secs(60),
    };
    Ok(Prepared { req, timeout })
}

/// A send-request ready to go.
pub(crate) struct Prepared {
    req: crate::services::BackendRequest,
    timeout: Duration,
}

/// Sends and buffers the answer: the variable's value (null on an ignored error).
async fn fetch(
    services: &crate::services::Services,
    p: Prepared,
    ignore_error: bool,
    loc: &PolicyLocation,
    request_id: &str,
) -> Result<Value, PErr> {
    let resp = crate::backend_call::send_request(
        services,
        p.req,
        p.timeout,
        ignore_error,
        loc,
        request_id,
    )
    .await?;
    Ok(match resp {
        Some(mut r) => {
            if r.body
                .buffer(crate::http::DEFAULT_BUFFER_LIMIT)
                .await
                .is_err()
            {
                if ignore_error {
                    Value::Null
                } else {
                    return Err(Box::new(PipelineError::policy(
                        loc,
                        "BackendConnectionFailure",
                        "The response body could not be read.",
                        internal_error_response(request_id),
                    )));
                }
            } else {
                host::response_value(r)
            }
        }
        None => Value::Null,
    })
}

async fn send(
    spec: &SendSpec,
    node: &Node,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
) -> StepResult {
    let loc = &node.loc;
    let p = prepare_send(spec, node, service, ctx, env).await?;
    let Some(variable) = &spec.variable else {
        // send-one-way-request: fire and forget; failures never reach the pipeline.
        let services = env.services.clone();
        let loc = loc.clone();
        let rid = ctx.request_id.clone();
        let fut = async move {
            let _ = fetch(&services, p, true, &loc, &rid).await;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn(fut);
            }
            Err(_) => fut.await,
        }
        return Ok(Flow::Continue);
    };
    let value = fetch(env.services, p, spec.ignore_error, loc, &ctx.request_id).await?;
    ctx.variables.set(variable.clone(), value);
    Ok(Flow::Continue)
}

/// `wait`: send-request children run concurrently; the other children (choose,
/// cache-lookup-value) run in order first. `any`: the first send-request to finish wins and the
/// others are dropped.
pub(crate) async fn wait_all(
    children: &[Node],
    any: bool,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
) -> StepResult {
    let mut sends = Vec::new();
    for c in children {
        match &c.kind {
            Kind::SendRequest(spec) => {
                let p = prepare_send(spec, c, service, ctx, env).await?;
                sends.push((spec, c, p));
            }
            _ => {
                if exec(c, service, ctx, env).await? == Flow::Return {
                    return Ok(Flow::Return);
                }
            }
        }
    }
    let rid = ctx.request_id.clone();
    let futs: Vec<_> = sends
        .into_iter()
        .map(|(spec, c, p)| {
            let rid = rid.clone();
            Box::pin(async move {
                let v = fetch(env.services, p, spec.ignore_error, &c.loc, &rid).await;
                (spec, v)
            })
        })
        .collect();
    if futs.is_empty() {
        return Ok(Flow::Continue);
    }
    let done = if any {
        vec![futures_util::future::select_all(futs).await.0]
    } else {
        futures_util::future::join_all(futs).await
    };
    for (spec, v) in done {
        let v = v?;
        if let Some(name) = &spec.variable {
            ctx.variables.set(name.clone(), v);
        }
    }
    Ok(Flow::Continue)
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

async fn token_check(
    spec: &TokenLimitSpec,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> StepResult {
    use crate::counters::{TokenDecision, TokenLimits};
    let key = text(&spec.counter_key, service, ctx, env, loc)?;
    let tokens_per_minute = match &spec.tokens_per_minute {
        Some(v) => {
            let n = integer(v, service, ctx, env, loc)?;
            Some(u64::try_from(n).map_err(|_| {
                policy_err(
                    loc,
                    ctx,
                    "ExpressionValueEvaluationFailure",
                    format!("tokens-per-minute must not be negative, was {n}"),
                )
            })?)
        }
        None => None,
    };
    let limits = TokenLimits {
        tokens_per_minute,
        quota: spec.quota,
    };
    let header = Some(spec.retry_after_header.as_deref().unwrap_or("Retry-After"));
    // A streamed request's prompt is always estimated (policies.md §6).
    let streamed = ctx
        .request
        .body
        .peek()
        .is_some_and(|b| super::usage::requests_stream(b));
    let estimate = if streamed || boolean(&spec.estimate, service, ctx, env, loc)? {
        estimate_prompt_tokens(ctx)
    } else {
        None
    };
    let decision = spec.limiters.tokens.check(&key, &limits, estimate).await;
    let outcome = match &decision {
        TokenDecision::Allowed(_) => serde_json::json!("allowed"),
        TokenDecision::RateExceeded {
            retry_after_secs, ..
        } => {
            serde_json::json!({"tokenLimitExceeded": {"retryAfterSeconds": retry_after_secs.unwrap_or(60)}})
        }
        TokenDecision::QuotaExceeded { retry_after } => {
            serde_json::json!({"tokenQuotaExceeded": {"retryAfterSeconds": retry_after.as_secs_f64().ceil()}})
        }
    };
    trace_policy(ctx, env, loc, || {
        serde_json::json!({
            "counterKey": key,
            "tokensPerMinute": tokens_per_minute,
            "estimatedPromptTokens": estimate,
            "decision": outcome,
        })
    });
    match decision {
        TokenDecision::Allowed(ticket) => {
            // In backend the consumed variable holds the estimate (0 without estimation).
            if let Some(v) = &spec.consumed_variable {
                ctx.variables
                    .set(v.clone(), Value::I64(signed(ticket.estimate())));
            }
            spec.pending.lock().insert(ctx.request_id.clone(), ticket);
            Ok(Flow::Continue)
        }
        TokenDecision::RateExceeded {
            retry_after_secs, ..
        } => {
            // None: the estimate alone exceeds tokens-per-minute; a minute is the longest wait.
            let secs = retry_after_secs.unwrap_or(60);
            if let Some(v) = &spec.retry_after_variable {
                ctx.variables.set(v.clone(), Value::I64(signed(secs)));
            }
            let r = crate::errors::token_limit_response(secs, header);
            let msg = format!("Token limit is exceeded. Try again in {secs} seconds.");
            Err(Box::new(PipelineError::policy(
                loc,
                "TokenLimitExceeded",
                msg,
                r,
            )))
        }
        TokenDecision::QuotaExceeded { retry_after } => {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            if let Some(v) = &spec.retry_after_variable {
                ctx.variables.set(v.clone(), Value::I64(signed(secs)));
            }
            let r = crate::errors::token_quota_response(retry_after, header);
            let msg = r
                .body
                .peek()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                .and_then(|j| {
                    j.get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| "Token quota is exceeded.".into());
            Err(Box::new(PipelineError::policy(
                loc,
                "TokenQuotaExceeded",
                msg,
                r,
            )))
        }
    }
}

/// Prompt tokens of the request body (chat `messages`, completions `prompt` or embeddings
/// `input`) with the tokenizer of its `model`. `None` when the body is not such a request: the
/// usage the backend reports is then all that is counted.
pub(super) fn estimate_prompt_tokens(ctx: &RequestContext<'_, Value>) -> Option<u64> {
    use apim_simulator::tokens::{CountOptions, Operation, count_prompt_tokens};
    let bytes = ctx.request.body.peek()?;
    let json: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let operation = if json.get("messages").is_some() {
        Operation::ChatCompletions
    } else if json.get("prompt").is_some() {
        Operation::Completions
    } else if json.get("input").is_some() {
        Operation::Embeddings
    } else {
        return None;
    };
    let model = json.get("model").and_then(|m| m.as_str()).unwrap_or("");
    // APIM over-counts each image as up to 1200 tokens when estimating.
    let options = CountOptions { image_tokens: 1200 };
    let n = count_prompt_tokens(operation, model, &json, options).ok()?;
    u64::try_from(n).ok()
}

async fn token_settle(
    spec: &TokenLimitSpec,
    on_error: bool,
    ctx: &mut RequestContext<'_, Value>,
) -> StepResult {
    let ticket = spec.pending.lock().remove(&ctx.request_id);
    // No ticket: the policy did not run for this request (a branch not taken, or it refused).
    let Some(ticket) = ticket else {
        return Ok(Flow::Continue);
    };
    if on_error {
        spec.limiters
            .tokens
            .settle(&ticket, ticket.estimate())
            .await;
        return Ok(Flow::Continue);
    }
    // A response without usage counts what was estimated.
    let total = super::usage::reported_total(ctx)
        .await
        .unwrap_or(ticket.estimate());
    let usage = spec.limiters.tokens.settle(&ticket, total).await;
    let mut put = |header: &Option<String>, variable: &Option<String>, n: Option<u64>| {
        let Some(n) = n else { return };
        if let Some(h) = header {
            let _ = ctx.response.headers.set_one(h, n.to_string());
        }
        if let Some(v) = variable {
            ctx.variables.set(v.clone(), Value::I64(signed(n)));
        }
    };
    put(
        &spec.consumed_header,
        &spec.consumed_variable,
        Some(usage.consumed),
    );
    put(
        &spec.remaining_tokens_header,
        &spec.remaining_tokens_variable,
        usage.remaining_tokens,
    );
    put(
        &spec.remaining_quota_header,
        &spec.remaining_quota_variable,
        usage.remaining_quota,
    );
    Ok(Flow::Continue)
}

#[cfg(test)]
mod tests {
    use super::{Reach, only_variables, reach};

    #[test]
    fn only_expressions_reaching_nothing_but_variables_take_the_light_path() {
        for light in [
            r#"@((int)context.Variables["n"] == 0)"#,
            r#"@(((int)context.Variables["a"] + 1) % 2)"#,
            "@(1)",
            "@(DateTime.UtcNow.Second)",
            r#"@(mycontext + context.Variables.Count)"#,
        ] {
            assert!(only_variables(light), "{light}");
        }
        for response in [
            "@(context.Response.StatusCode == 429)",
            r#"@(context.Response.StatusCode == 429 && (int)context.Variables["n"] < 3)"#,
            r#"@(context.Response.Headers.GetValueOrDefault("Retry-After", ""))"#,
        ] {
            assert_eq!(reach(response), Reach::VariablesAndResponse, "{response}");
        }
        for full in [
            r#"@(context.ResponseX)"#,
            r#"@(context.Response.StatusCode + context.Request.Method)"#,
            r#"@{ var c = context; return c.Variables["a"]; }"#,
            r#"@(context.Variables["a"] + context.Request.Method)"#,
            r#"@(context.Trace("x"))"#,
            r#"@("context" + context.Variables.Count)"#,
            "@(context)",
        ] {
            assert!(!only_variables(full), "{full}");
        }
    }
}
