//! The one seam between the test runner and the policy engine. The engine's `Plan` implements
//! [`EngineUnderTest`] in one adapter; the runner never looks inside the engine.

use std::collections::BTreeMap;
use std::future::Future;

use apim_engine::http::{Request, Response};
use apim_engine::service::ServiceDefinition;
use apim_engine::services::Services;
use apim_engine::trace::Trace;
use serde_json::Value;

/// What one request produced. Backend calls, metrics and log events are read by the runner from
/// the case's `Services` (mock HTTP client, metric and event sinks), so the engine does not
/// report them.
#[derive(Debug)]
pub struct Outcome {
    /// The response the client receives. A streamed body is read to the end by the runner.
    pub response: Response,
    /// The request's trace, recorded with tracing enabled.
    pub trace: Trace,
    /// `context.Variables` when the request finished, as JSON values.
    pub variables: BTreeMap<String, Value>,
}

/// Why an engine could not prepare a service or run a request (not a failing policy: a policy
/// error is a response).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct EngineError(pub String);

/// A policy engine the runner drives.
pub trait EngineUnderTest: Send + Sync {
    /// A service compiled and bound to one case's services (stores, clock, HTTP).
    type Instance: Send + Sync;

    /// Compiles `service` (policies, named values, backends) to run on `services`.
    fn prepare(
        &self,
        service: &ServiceDefinition,
        services: Services,
    ) -> Result<Self::Instance, EngineError>;

    /// Runs one client request through the gateway pipeline, tracing enabled. Waits only on the
    /// services' clock (the runner drives it with `VirtualClock::run`).
    fn send(
        &self,
        instance: &Self::Instance,
        request: Request,
    ) -> impl Future<Output = Result<Outcome, EngineError>> + Send;
}

/// The real engine: the service compiled once per case into an [`apim_engine::plan::Plan`], each
/// request run with tracing on.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanEngine;

/// A compiled [`apim_engine::plan::Plan`] and the case's services it runs on.
#[derive(Debug)]
pub struct PlanInstance {
    plan: apim_engine::plan::Plan,
    services: Services,
}

impl EngineUnderTest for PlanEngine {
    type Instance = PlanInstance;

    fn prepare(
        &self,
        service: &ServiceDefinition,
        services: Services,
    ) -> Result<PlanInstance, EngineError> {
        let plan = apim_engine::plan::compile(service, &services).map_err(|diags| {
            EngineError(
                diags
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
        Ok(PlanInstance { plan, services })
    }

    async fn send(&self, i: &PlanInstance, request: Request) -> Result<Outcome, EngineError> {
        let out = apim_engine::plan::run_with(&i.plan, request, &i.services, true).await;
        Ok(Outcome {
            response: out.response,
            trace: out.trace,
            variables: out
                .variables
                .into_iter()
                .map(|(k, v)| (k, variable_json(&v)))
                .collect(),
        })
    }
}

/// The engine reports variables as their .NET `ToString()` text: integers, decimals and
/// `True`/`False` become JSON numbers and booleans so `expect.variables` can say `{n: 1}`;
/// anything else stays text.
fn variable_json(text: &str) -> Value {
    match text {
        "True" => return Value::Bool(true),
        "False" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(n) = text.parse::<i64>() {
        return Value::from(n);
    }
    if text.contains('.')
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && let Ok(f) = text.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::variable_json;
    use serde_json::json;

    #[test]
    fn variables_become_json_where_their_text_says_so() {
        assert_eq!(variable_json("1"), json!(1));
        assert_eq!(variable_json("-3"), json!(-3));
        assert_eq!(variable_json("2.5"), json!(2.5));
        assert_eq!(variable_json("True"), json!(true));
        assert_eq!(variable_json("False"), json!(false));
        assert_eq!(variable_json("eastus"), json!("eastus"));
        assert_eq!(variable_json("1.2.3"), json!("1.2.3"));
        assert_eq!(variable_json(""), json!(""));
    }
}
