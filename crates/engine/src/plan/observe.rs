//! Observability policies: emit-metric, azure-openai-emit-token-metric / llm-emit-token-metric
//! (metrics to `Services::metrics`) and log-to-eventhub (events to `Services::events`).

use std::collections::HashMap;
use std::sync::Arc;

use apim_csharp::Value;
use parking_lot::Mutex;

use super::steps::{self, Kind, Node, Val};
use super::usage::{self, Reported};
use crate::context::RequestContext;
use crate::errors::{PipelineError, PolicyLocation};
use crate::pipeline::{Env, Flow, StepResult};
use crate::service::ServiceDefinition;
use crate::services::{EventRecord, MetricRecord};

/// The namespace when the policy names none.
pub(crate) const DEFAULT_NAMESPACE: &str = "API Management";
/// log-to-eventhub sends at most 200 KB; longer messages are truncated.
pub(crate) const MAX_EVENT_BYTES: usize = 200 * 1024;

/// A dimension APIM fills in when it is given by name only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefaultDimension {
    ApiId,
    OperationId,
    ProductId,
    UserId,
    SubscriptionId,
    Location,
    GatewayId,
    /// llm-emit-token-metric only.
    BackendId,
}

impl DefaultDimension {
    /// The documented names (exact spelling).
    pub(crate) fn from_name(name: &str, backend_allowed: bool) -> Option<DefaultDimension> {
        use DefaultDimension::*;
        Some(match name {
            "API ID" => ApiId,
            "Operation ID" => OperationId,
            "Product ID" => ProductId,
            "User ID" => UserId,
            "Subscription ID" => SubscriptionId,
            "Location" => Location,
            "Gateway ID" => GatewayId,
            "Backend ID" if backend_allowed => BackendId,
            _ => return None,
        })
    }

    /// The value for this request; empty when the request has none (no product...).
    fn resolve(self, ctx: &RequestContext<'_, Value>) -> String {
        use DefaultDimension::*;
        let s = |o: Option<&str>| o.unwrap_or("").to_string();
        match self {
            ApiId => s(ctx.api.map(|a| a.id.as_str())),
            OperationId => s(ctx.operation.map(|o| o.id.as_str())),
            ProductId => s(ctx.product.map(|p| p.id.as_str())),
            UserId => s(ctx.user.map(|u| u.id.as_str())),
            SubscriptionId => s(ctx.subscription.map(|x| x.id.as_str())),
            Location => ctx.deployment.region.clone(),
            GatewayId => ctx.deployment.gateway_id.clone(),
            BackendId => s(ctx.backend_id.as_deref()),
        }
    }
}

/// One `<dimension>`: a name and a value, or a default dimension named without a value.
pub(crate) enum Dimension {
    Given {
        name: Val,
        value: Val,
    },
    Default(String, DefaultDimension),
    /// The name is an expression and no value is given: a default dimension, known only when
    /// the name is evaluated.
    DefaultByExpr(Val),
}

pub(crate) struct MetricSpec {
    pub namespace: String,
    pub name: String,
    /// `None`: 1.
    pub value: Option<Val>,
    pub dimensions: Vec<Dimension>,
}

/// A dimension after evaluation; default ones resolved when the metric is emitted.
#[derive(Debug, Clone)]
enum Evaluated {
    Known(String, String),
    Default(String, DefaultDimension),
}

pub(crate) struct TokenMetricSpec {
    pub loc: PolicyLocation,
    pub namespace: String,
    pub dimensions: Vec<Dimension>,
    /// llm-emit-token-metric: `Backend ID` is a default dimension.
    pub backend_allowed: bool,
    /// Dimensions evaluated in inbound, by request id, until the response is known.
    pending: Mutex<HashMap<String, Vec<Evaluated>>>,
}

impl TokenMetricSpec {
    pub(crate) fn new(
        loc: PolicyLocation,
        namespace: String,
        dimensions: Vec<Dimension>,
        backend_allowed: bool,
    ) -> Self {
        TokenMetricSpec {
            loc,
            namespace,
            dimensions,
            backend_allowed,
            pending: Mutex::default(),
        }
    }

    /// Forgets a request that ended without its metrics being emitted.
    pub(crate) fn forget(&self, request_id: &str) {
        self.pending.lock().remove(request_id);
    }
}

/// The outbound statement that emits the metrics of `spec`.
pub(crate) fn emit_node(spec: &Arc<TokenMetricSpec>) -> Node {
    let mut loc = spec.loc.clone();
    loc.section = crate::errors::Section::Outbound;
    Node {
        loc,
        kind: Kind::Observe(Observe::TokenMetricEmit(spec.clone())),
    }
}

pub(crate) struct EventSpec {
    pub logger_id: String,
    pub partition_id: Option<String>,
    pub partition_key: Option<Val>,
    pub message: Val,
}

/// One observability statement.
pub(crate) enum Observe {
    EmitMetric(Box<MetricSpec>),
    /// Inbound: the dimensions of the token metrics.
    TokenMetric(Arc<TokenMetricSpec>),
    /// Start of outbound: the usage is known, the metrics are emitted.
    TokenMetricEmit(Arc<TokenMetricSpec>),
    LogToEventhub(Box<EventSpec>),
}

type PErr = Box<PipelineError>;

pub(super) async fn run(
    o: &Observe,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> StepResult {
    match o {
        Observe::EmitMetric(spec) => emit_metric(spec, service, ctx, env, loc),
        Observe::TokenMetric(spec) => {
            let dims = evaluate_all(
                &spec.dimensions,
                spec.backend_allowed,
                service,
                ctx,
                env,
                loc,
            )?;
            spec.pending.lock().insert(ctx.request_id.clone(), dims);
            Ok(Flow::Continue)
        }
        Observe::TokenMetricEmit(spec) => emit_token_metrics(spec, ctx, env, loc).await,
        Observe::LogToEventhub(spec) => log_to_eventhub(spec, service, ctx, env, loc).await,
    }
}

fn evaluate_all(
    dims: &[Dimension],
    backend_allowed: bool,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<Vec<Evaluated>, PErr> {
    let mut out = Vec::with_capacity(dims.len());
    for d in dims {
        out.push(match d {
            Dimension::Given { name, value } => Evaluated::Known(
                steps::text(name, service, ctx, env, loc)?,
                steps::text(value, service, ctx, env, loc)?,
            ),
            Dimension::Default(name, d) => Evaluated::Default(name.clone(), *d),
            Dimension::DefaultByExpr(name) => {
                let name = steps::text(name, service, ctx, env, loc)?;
                match DefaultDimension::from_name(&name, backend_allowed) {
                    Some(d) => Evaluated::Default(name, d),
                    None => {
                        return Err(steps::policy_err(
                            loc,
                            ctx,
                            "InvalidDimension",
                            format!(
                                "dimension '{name}' has no value and is not a default dimension"
                            ),
                        ));
                    }
                }
            }
        });
    }
    Ok(out)
}

fn resolve(dims: &[Evaluated], ctx: &RequestContext<'_, Value>) -> Vec<(String, String)> {
    dims.iter()
        .map(|d| match d {
            Evaluated::Known(n, v) => (n.clone(), v.clone()),
            Evaluated::Default(n, d) => (n.clone(), d.resolve(ctx)),
        })
        .collect()
}

/// A .NET double from an expression's result (`Convert.ToDouble` of the value).
fn double(
    v: &Val,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<f64, PErr> {
    let value = steps::value(v, service, ctx, env, loc)?;
    let n = match &value {
        Value::I8(n) => Some(f64::from(*n)),
        Value::U8(n) => Some(f64::from(*n)),
        Value::I16(n) => Some(f64::from(*n)),
        Value::U16(n) => Some(f64::from(*n)),
        Value::I32(n) => Some(f64::from(*n)),
        Value::U32(n) => Some(f64::from(*n)),
        Value::I64(n) => Some(*n as f64),
        Value::U64(n) => Some(*n as f64),
        Value::F32(n) => Some(f64::from(*n)),
        Value::F64(n) => Some(*n),
        Value::Dec(d) => rust_decimal::prelude::ToPrimitive::to_f64(d),
        _ => None,
    };
    if let Some(n) = n {
        return Ok(n);
    }
    let t = match value {
        Value::Null => String::new(),
        other => apim_csharp::render::net_string(&other),
    };
    parse_double(&t).ok_or_else(|| {
        steps::expr_err(
            loc,
            ctx,
            format!("Input string '{t}' was not in a correct format."),
        )
    })
}

/// `double.Parse` with the invariant culture (Float | AllowThousands, as .NET's default); a
/// metric value must be finite.
pub(crate) fn parse_double(s: &str) -> Option<f64> {
    apim_dotnet::number::parse_double_default(s)
        .ok()
        .filter(|n| n.is_finite())
}

fn emit_metric(
    spec: &MetricSpec,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> StepResult {
    let value = match &spec.value {
        Some(v) => double(v, service, ctx, env, loc)?,
        None => 1.0,
    };
    let dims = evaluate_all(&spec.dimensions, false, service, ctx, env, loc)?;
    let record = MetricRecord {
        namespace: spec.namespace.clone(),
        name: spec.name.clone(),
        value,
        dimensions: resolve(&dims, ctx),
    };
    record_metric(ctx, env, loc, record);
    Ok(Flow::Continue)
}

fn record_metric(
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
    record: MetricRecord,
) {
    if ctx.trace.is_enabled() {
        let dims: serde_json::Map<String, serde_json::Value> = record
            .dimensions
            .iter()
            .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let data = serde_json::json!({
            "namespace": record.namespace,
            "name": record.name,
            "value": record.value,
            "dimensions": dims,
        });
        steps::trace(ctx, env, loc.section, &loc.policy, data);
    }
    env.services.metrics.record(record);
}

async fn emit_token_metrics(
    spec: &TokenMetricSpec,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> StepResult {
    // No entry: the policy did not run for this request (a branch not taken).
    let Some(dims) = spec.pending.lock().remove(&ctx.request_id) else {
        return Ok(Flow::Continue);
    };
    let usage = match usage::reported(ctx).await {
        Reported::Usage(u) => u,
        // A stream without a usage event: prompt and completion are estimated.
        Reported::StreamWithoutUsage {
            completion_text,
            model,
        } => {
            let prompt = steps::estimate_prompt_tokens(ctx).unwrap_or(0);
            let completion = usage::estimate_completion(&completion_text, model.as_deref());
            usage::Usage {
                prompt,
                completion,
                total: prompt.saturating_add(completion),
                estimated: true,
            }
        }
        // No usage (an error response...): no token metrics.
        Reported::None => return Ok(Flow::Continue),
    };
    let dimensions = resolve(&dims, ctx);
    for (name, value) in [
        ("Total Tokens", usage.total),
        ("Prompt Tokens", usage.prompt),
        ("Completion Tokens", usage.completion),
    ] {
        let record = MetricRecord {
            namespace: spec.namespace.clone(),
            name: name.to_string(),
            value: value as f64,
            dimensions: dimensions.clone(),
        };
        record_metric(ctx, env, loc, record);
    }
    Ok(Flow::Continue)
}

/// `s` cut to at most `max` bytes on a character boundary.
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

async fn log_to_eventhub(
    spec: &EventSpec,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> StepResult {
    let partition_key = match &spec.partition_key {
        Some(v) => Some(steps::text(v, service, ctx, env, loc)?),
        None => None,
    };
    let message = truncate(
        steps::text(&spec.message, service, ctx, env, loc)?,
        MAX_EVENT_BYTES,
    );
    let event = EventRecord {
        logger_id: spec.logger_id.clone(),
        partition_id: spec.partition_id.clone(),
        partition_key,
        message,
    };
    let traced = ctx.trace.is_enabled().then(|| {
        serde_json::json!({
            "loggerId": event.logger_id,
            "partitionId": event.partition_id,
            "partitionKey": event.partition_key,
            "message": event.message,
        })
    });
    // Sending is asynchronous in APIM: a sink failure is logged, never fails the request.
    let failed = env.services.events.write(event).await.err();
    if let Some(e) = &failed {
        tracing::warn!(logger = %spec.logger_id, error = %e, "log-to-eventhub: event not written");
    }
    if let Some(mut data) = traced {
        if let (Some(e), Some(m)) = (&failed, data.as_object_mut()) {
            m.insert("error".into(), serde_json::Value::String(e.to_string()));
        }
        steps::trace(ctx, env, loc.section, &loc.policy, data);
    }
    Ok(Flow::Continue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_id_is_a_default_only_where_allowed() {
        assert_eq!(
            DefaultDimension::from_name("Backend ID", true),
            Some(DefaultDimension::BackendId)
        );
        assert_eq!(DefaultDimension::from_name("Backend ID", false), None);
        assert_eq!(DefaultDimension::from_name("api id", true), None);
    }

    #[test]
    fn doubles_parse_invariantly() {
        assert_eq!(parse_double(" 2.5 "), Some(2.5));
        assert_eq!(parse_double("1e3"), Some(1000.0));
        assert_eq!(parse_double("1,000.5"), Some(1000.5));
        assert_eq!(parse_double("abc"), None);
        assert_eq!(parse_double("NaN"), None);
        assert_eq!(parse_double(""), None);
    }

    #[test]
    fn messages_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("héllo".into(), 2), "h");
        assert_eq!(truncate("hello".into(), 10), "hello");
    }
}
