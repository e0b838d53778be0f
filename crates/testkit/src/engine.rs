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
