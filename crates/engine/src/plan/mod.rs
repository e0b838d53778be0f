//! The Plan: every policy document of a service read once, named values substituted,
//! fragments inlined, scopes composed through `<base/>` (pipeline.md §2), every expression
//! compiled once, and the result turned into pipeline [`Step`](crate::pipeline::Step)s per
//! (operation, product-or-none). [`run`] takes one request through it.
//!
//! ```ignore
//! let plan = apim_engine::plan::compile(&service, &services)?;   // Err(Vec<PlanDiagnostic>)
//! let outcome = apim_engine::plan::run(&plan, request, &services).await;
//! // outcome.response (what the client gets), outcome.trace, outcome.summary (LastError ...)
//! ```
//!
//! Policies that run: base, include-fragment, choose/when/otherwise, set-variable, set-header,
//! set-query-parameter, set-body (text, expression, `template="liquid"`), set-status,
//! set-method, return-response (also from `response-variable-name`), mock-response,
//! set-backend-service (base-url, backend-id with pools and breakers), forward-request
//! (timeout, timeout-ms, buffer-request-body, buffer-response, fail-on-error-status-code,
//! follow-redirects, http-version), retry, rewrite-uri, find-and-replace, json-to-xml,
//! xml-to-json, send-request, send-one-way-request, wait, limit-concurrency, trace,
//! authentication-basic, authentication-managed-identity, check-header, ip-filter, cors,
//! cache-lookup, cache-store, cache-lookup-value, cache-store-value, cache-remove-value
//! (`caching-type` external with `Services::with_redis`), rate-limit, rate-limit-by-key, quota,
//! quota-by-key, azure-openai-token-limit, llm-token-limit, azure-openai-semantic-cache-lookup,
//! azure-openai-semantic-cache-store, llm-semantic-cache-lookup, llm-semantic-cache-store,
//! llm-content-safety, validate-jwt, validate-azure-ad-token, proxy, authentication-certificate
//! (thumbprint, certificate-id), emit-metric, azure-openai-emit-token-metric,
//! llm-emit-token-metric, log-to-eventhub. Any other policy is a compile diagnostic
//! (`PLAN0001`), never a silent no-op.

mod build;
mod cache;
pub(crate) mod host;
mod jwt;
mod limits;
mod observe;
mod proxy;
mod run;
mod steps;
mod usage;

use std::fmt;
use std::sync::Arc;

use apim_csharp::Value;

use crate::backends::BackendRegistry;
use crate::matching::Router;
use crate::pipeline::Sections;
use crate::service::ServiceDefinition;
use crate::services::Services;

pub use run::{Outcome, run, run_served, run_with};

/// A problem found while compiling the policies of a service: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanDiagnostic {
    /// The policy document (file path or entity name).
    pub origin: String,
    /// 1-based; 0 when the problem has no position (a missing fragment reference's target...).
    pub line: u32,
    pub col: u32,
    /// Stable code: the policy reader's, the C# compiler's, or `PLAN...` for the plan's own.
    pub code: &'static str,
    pub message: String,
}

impl fmt::Display for PlanDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error {}: {}",
            self.origin, self.line, self.col, self.code, self.message
        )
    }
}

/// The effective sections of one (API, operation, product-or-none).
pub(crate) struct Effective {
    pub sections: Sections<Value>,
    /// Some expression or policy reads the request body: buffer it before inbound (APIM
    /// buffers a body that policies read).
    pub reads_request_body: bool,
    /// The cors policy of the effective inbound section: decided before inbound runs, its
    /// headers added to the final response (policies.md cors).
    pub cors: Option<crate::cors::CorsConfig>,
    /// cache-lookup / cache-store positions.
    pub cache: Option<cache::ResponseCache>,
    /// Token-limit policies of inbound: tickets a request left unsettled (return-response,
    /// a cache hit) are dropped when it ends.
    pub token_limits: Vec<Arc<steps::TokenLimitSpec>>,
    /// rate-limit / quota policies' per-request state (deferred increments, bandwidth,
    /// headers), finished when the request ends; `None` when the plan has none.
    pub limits: Option<Arc<limits::Ledgers>>,
    /// Semantic-cache lookup / store positions.
    pub semantic: Option<Arc<steps::semantic::SemanticCache>>,
    /// Token-metric policies: dimensions of requests that ended before outbound are dropped.
    pub token_metrics: Vec<Arc<observe::TokenMetricSpec>>,
}

/// Key of an effective plan: API id, operation id (`None`: an API-level request that matched no
/// operation, for on-error), product id (`None`: no product context).
pub(crate) type PlanKey = (Option<String>, Option<String>, Option<String>);

/// A [`PlanKey`] looked up by borrowed ids, so a request allocates nothing to find its plan.
pub(crate) trait PlanKeyRef {
    fn parts(&self) -> (Option<&str>, Option<&str>, Option<&str>);
}

impl PlanKeyRef for PlanKey {
    fn parts(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        (self.0.as_deref(), self.1.as_deref(), self.2.as_deref())
    }
}

impl PlanKeyRef for (Option<&str>, Option<&str>, Option<&str>) {
    fn parts(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        *self
    }
}

impl<'a> std::borrow::Borrow<dyn PlanKeyRef + 'a> for PlanKey {
    fn borrow(&self) -> &(dyn PlanKeyRef + 'a) {
        self
    }
}

// `Option<String>` and `Option<&str>` hash alike, so the tuple of parts hashes as `PlanKey` does.
impl std::hash::Hash for dyn PlanKeyRef + '_ {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialEq for dyn PlanKeyRef + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn PlanKeyRef + '_ {}

impl PlanInner {
    /// The effective plan of (API, operation, product), without allocating.
    pub(crate) fn effective_for(
        &self,
        api: Option<&str>,
        operation: Option<&str>,
        product: Option<&str>,
    ) -> Option<&Effective> {
        self.effective
            .get(&(api, operation, product) as &dyn PlanKeyRef)
    }
}

pub(crate) struct PlanInner {
    pub service: Arc<ServiceDefinition>,
    pub router: Router,
    pub backends: BackendRegistry,
    pub effective: crate::fast_hash::FastMap<PlanKey, Effective>,
    pub named: crate::named_values::NamedValues,
    /// `context.Deployment`, built once: every request shares it.
    pub deployment: Arc<crate::context::Deployment>,
}

/// An immutable, compiled policy set; cheap to clone and share between requests.
#[derive(Clone)]
pub struct Plan {
    pub(crate) inner: Arc<PlanInner>,
}

impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plan")
            .field("effective_plans", &self.inner.effective.len())
            .finish()
    }
}

impl Plan {
    /// The service this plan was compiled from.
    pub fn service(&self) -> &ServiceDefinition {
        &self.inner.service
    }
    /// The backend entities with their circuit breakers and pool state.
    pub fn backends(&self) -> &BackendRegistry {
        &self.inner.backends
    }
    /// `text` with the values of secret named values replaced by `***` (for traces and logs
    /// shown to users: forward-request traces carry header values).
    pub fn mask(&self, text: &str) -> String {
        self.inner.named.mask(text)
    }
}

/// `service` with `{{name}}` references in backend credential headers, query parameters and
/// authorization replaced by their named values; an unknown name is an error (APIM refuses to
/// save a backend that references a missing named value).
fn substitute_backend_credentials(
    service: &ServiceDefinition,
    named: &crate::named_values::NamedValues,
) -> Result<ServiceDefinition, Vec<PlanDiagnostic>> {
    use crate::named_values::UnknownNames;
    let mut out = service.clone();
    let mut problems = Vec::new();
    for backend in &mut out.backends {
        let id = backend.id.clone();
        let mut fill = |text: &mut String| match named.substitute(text, UnknownNames::Error) {
            Ok(s) => *text = s.text,
            Err(e) => problems.push(PlanDiagnostic {
                origin: format!("backend {id}"),
                line: 0,
                col: 0,
                code: "PLAN0002",
                message: format!("credentials of backend '{id}': {e}"),
            }),
        };
        let c = &mut backend.credentials;
        for values in c.header.values_mut().chain(c.query.values_mut()) {
            values.iter_mut().for_each(&mut fill);
        }
        if let Some(a) = &mut c.authorization {
            fill(&mut a.scheme);
            fill(&mut a.parameter);
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Reads and composes every policy document of `service` and compiles it into a [`Plan`].
/// Every problem is returned (with file, line and column); an unsupported policy is one.
pub fn compile(
    service: &ServiceDefinition,
    services: &Services,
) -> Result<Plan, Vec<PlanDiagnostic>> {
    let named = crate::named_values::NamedValues::from_service(service);
    let service = Arc::new(service.clone());
    // Backend credentials hold `{{named value}}` references (keys are usually secrets): the
    // registry gets them substituted, once, here.
    let credentialed = substitute_backend_credentials(&service, &named)?;
    let backends = BackendRegistry::new(&credentialed, services.clock.clone()).map_err(|e| {
        vec![PlanDiagnostic {
            origin: "backends".into(),
            line: 0,
            col: 0,
            code: "PLAN0010",
            message: e.to_string(),
        }]
    })?;
    // The counters of the services (in-process or Redis), shared by every request and by
    // every plan compiled with them.
    let effective = build::build_all(
        &service,
        services.limiters.clone(),
        services.external_cache.is_some(),
    )?;
    Ok(Plan {
        inner: Arc::new(PlanInner {
            router: Router::new(&service),
            deployment: Arc::new(crate::context::Deployment::managed(&service)),
            named,
            service,
            backends,
            effective: effective.into_iter().collect(),
        }),
    })
}
