//! One request through a [`Plan`](super::Plan): admission (404 / 401 through on-error), then the
//! effective sections of the matched (operation, product-or-none).

use crate::admission::admit;
use crate::context::RequestContext;
use crate::cors::CorsOutcome;
use crate::http::{Request, Response};
use crate::pipeline::{Env, RunSummary, run_on_error};
use crate::services::Services;
use crate::trace::Trace;

use super::Plan;

/// What one request produced.
#[derive(Debug)]
pub struct Outcome {
    /// What the client gets.
    pub response: Response,
    /// The request trace (entries only when tracing was asked for).
    pub trace: Trace,
    /// `context.RequestId`.
    pub request_id: String,
    /// The error on-error ran for, where the pipeline returned, whether on-error failed.
    pub summary: RunSummary,
    /// `context.Variables` at the end, as .NET `ToString()` text (for tests and `test`).
    pub variables: Vec<(String, String)>,
    /// The matched API (`None` when no API's URL suffix matched).
    pub api_id: Option<String>,
    /// The matched operation (`None` when no operation matched).
    pub operation_id: Option<String>,
    /// `scheme://host[:port]` of the last backend a forward-request called, if any.
    pub backend: Option<String>,
}

/// Runs `request` (its `url` and `original_url` the client's URL) with tracing off.
pub fn run<'a>(
    plan: &'a Plan,
    request: Request,
    services: &'a Services,
) -> impl std::future::Future<Output = Outcome> + Send + 'a {
    // No async wrapper: the request's future is not copied into another one.
    run_with(plan, request, services, false)
}

/// Runs `request`; `tracing` is what `context.Tracing` reports and whether the trace records.
pub fn run_with<'a>(
    plan: &'a Plan,
    request: Request,
    services: &'a Services,
    tracing: bool,
) -> impl std::future::Future<Output = Outcome> + Send + 'a {
    run_request(plan, request, services, tracing, Variables::Rendered)
}

/// As [`run_with`], for a host that only sends the response: [`Outcome::variables`] is left
/// empty (rendering every variable as text costs time nobody would see).
pub fn run_served<'a>(
    plan: &'a Plan,
    request: Request,
    services: &'a Services,
    tracing: bool,
) -> impl std::future::Future<Output = Outcome> + Send + 'a {
    run_request(plan, request, services, tracing, Variables::Dropped)
}

/// Whether [`Outcome::variables`] is filled.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variables {
    Rendered,
    Dropped,
}

async fn run_request(
    plan: &Plan,
    request: Request,
    services: &Services,
    tracing: bool,
    variables: Variables,
) -> Outcome {
    let inner = &plan.inner;
    let service = &*inner.service;
    let env = Env {
        services,
        backends: Some(&inner.backends),
    };
    let started = services.clock.monotonic();
    match admit(
        service,
        &inner.router,
        Some(&inner.backends),
        request,
        services,
    ) {
        Ok(adm) => {
            let effective = inner.effective_for(
                Some(adm.route.api.id.as_str()),
                Some(adm.route.operation.id.as_str()),
                adm.caller.product.map(|p| p.id.as_str()),
            );
            let mut ctx = RequestContext::with_deployment(
                service,
                adm,
                started,
                tracing,
                inner.deployment.clone(),
            );
            let mut cors_headers = Vec::new();
            let summary = match effective {
                Some(e) => {
                    if let Some(cfg) = &e.cors {
                        match cfg.evaluate(&ctx.request.method, &ctx.request.headers) {
                            CorsOutcome::Respond(r) => {
                                ctx.response = r;
                                let summary = RunSummary {
                                    error: None,
                                    returned_in: Some(crate::errors::Section::Inbound),
                                    on_error_failed: false,
                                };
                                return finish(ctx, summary, variables);
                            }
                            CorsOutcome::Continue(h) => cors_headers = h,
                            CorsOutcome::NotCors | CorsOutcome::Unmatched => {}
                        }
                    }
                    if e.reads_request_body && ctx.request.body.is_stream() {
                        // A body too large to buffer stays a stream; reading it then fails in
                        // the expression that tries.
                        let _ =
                            Box::pin(ctx.request.body.buffer(crate::http::DEFAULT_BUFFER_LIMIT))
                                .await;
                    }
                    let summary = match (&e.cache, &e.semantic) {
                        (Some(c), _) => {
                            Box::pin(run_cached(&e.sections, c, &inner.service, &mut ctx, env))
                                .await
                        }
                        (None, Some(s)) => {
                            Box::pin(super::steps::semantic::run_semantic(
                                &e.sections,
                                s,
                                &inner.service,
                                &mut ctx,
                                env,
                            ))
                            .await
                        }
                        (None, None) => crate::pipeline::run(&e.sections, &mut ctx, env).await,
                    };
                    if let Some(l) = &e.limits {
                        Box::pin(super::limits::finish(l, &inner.service, &mut ctx, env)).await;
                    }
                    for (n, v) in cors_headers {
                        let _ = ctx.response.headers.set_one(&n, v);
                    }
                    for t in &e.token_limits {
                        t.pending.lock().remove(&ctx.request_id);
                    }
                    for m in &e.token_metrics {
                        m.forget(&ctx.request_id);
                    }
                    summary
                }
                None => {
                    // Every (operation, product) is compiled; a miss means the service changed.
                    ctx.response = crate::errors::internal_error_response(&ctx.request_id);
                    RunSummary {
                        error: None,
                        returned_in: None,
                        on_error_failed: true,
                    }
                }
            };
            finish(ctx, summary, variables)
        }
        Err(rejection) => {
            let api_id = rejection.api.map(|a| a.id.as_str());
            let operation_id = rejection.route.as_ref().map(|r| r.operation.id.as_str());
            let exact = inner.effective_for(api_id, operation_id, None);
            let fallback = inner.effective_for(api_id, None, None);
            // A preflight for an API without an OPTIONS operation: only cors answers it.
            if rejection.route.is_none()
                && rejection.request.method.eq_ignore_ascii_case("OPTIONS")
                && let Some(cfg) = fallback.and_then(|e| e.cors.as_ref())
            {
                let outcome = cfg.evaluate(&rejection.request.method, &rejection.request.headers);
                let (mut ctx, _) =
                    RequestContext::from_rejection(service, *rejection, started, tracing);
                ctx.response = match outcome {
                    CorsOutcome::Respond(r) => r,
                    _ => Response::new(200),
                };
                let summary = RunSummary {
                    error: None,
                    returned_in: Some(crate::errors::Section::Inbound),
                    on_error_failed: false,
                };
                return finish(ctx, summary, variables);
            }
            let (mut ctx, err) =
                RequestContext::from_rejection(service, *rejection, started, tracing);
            let sections = exact
                .or(fallback)
                .or_else(|| inner.effective_for(None, None, None));
            let summary = match sections {
                Some(s) => Box::pin(run_on_error(&s.sections.on_error, &mut ctx, env, err)).await,
                None => {
                    ctx.last_error = Some(err.last_error.clone());
                    ctx.response = err.response;
                    RunSummary {
                        error: Some(err.last_error),
                        returned_in: None,
                        on_error_failed: false,
                    }
                }
            };
            finish(ctx, summary, variables)
        }
    }
}

fn finish(
    mut ctx: RequestContext<'_, apim_csharp::Value>,
    summary: RunSummary,
    keep: Variables,
) -> Outcome {
    let variables = match keep {
        Variables::Rendered => ctx
            .variables
            .iter()
            .map(|(n, v)| (n.to_string(), apim_csharp::render::net_string(v)))
            .collect(),
        Variables::Dropped => Vec::new(),
    };
    Outcome {
        // The context ends here: what is left in its place is never read.
        response: std::mem::replace(
            &mut ctx.response,
            Response {
                status: 0,
                reason: String::new(),
                headers: crate::http::HeaderMap::new(),
                body: crate::http::Body::none(),
            },
        ),
        trace: std::mem::replace(&mut ctx.trace, Trace::new(false)),
        request_id: std::mem::take(&mut ctx.request_id),
        summary,
        variables,
        api_id: ctx.api.map(|a| a.id.clone()),
        operation_id: ctx.operation.map(|o| o.id.clone()),
        backend: ctx.called_backend.take(),
    }
}

type Steps = [Box<dyn crate::pipeline::Step<apim_csharp::Value>>];

async fn steps(
    list: &Steps,
    ctx: &mut RequestContext<'_, apim_csharp::Value>,
    env: Env<'_>,
) -> crate::pipeline::StepResult {
    for s in list {
        if crate::pipeline::run_step(s.as_ref(), ctx, env).await? == crate::pipeline::Flow::Return {
            return Ok(crate::pipeline::Flow::Return);
        }
    }
    Ok(crate::pipeline::Flow::Continue)
}

/// A cache whose lookup runs at a point of inbound and whose store at a point of outbound:
/// cache-lookup / cache-store, and the semantic-cache pair.
pub(crate) trait CachePoints {
    /// What a missed lookup hands to the store (the response cache's key).
    type Miss: Send;
    /// Index in the effective inbound steps: the lookup runs before that step.
    fn lookup_at(&self) -> usize;
    /// Index in the effective outbound steps where the store runs; `None`: no store.
    fn store_at(&self) -> Option<usize>;
    /// A hit, or what the store needs.
    fn lookup(
        &self,
        service: &std::sync::Arc<crate::service::ServiceDefinition>,
        ctx: &mut RequestContext<'_, apim_csharp::Value>,
        env: Env<'_>,
    ) -> impl std::future::Future<
        Output = Result<Result<Response, Self::Miss>, Box<crate::errors::PipelineError>>,
    > + Send;
    fn store(
        &self,
        miss: Self::Miss,
        service: &std::sync::Arc<crate::service::ServiceDefinition>,
        ctx: &mut RequestContext<'_, apim_csharp::Value>,
        env: Env<'_>,
    ) -> impl std::future::Future<Output = crate::pipeline::StepResult> + Send;
}

/// The section runner with a cache's lookup and store at their positions: a hit answers from
/// the cache and continues with the outbound policies after the store.
pub(crate) async fn run_cached<C: CachePoints + Sync>(
    sections: &crate::pipeline::Sections<apim_csharp::Value>,
    c: &C,
    service: &std::sync::Arc<crate::service::ServiceDefinition>,
    ctx: &mut RequestContext<'_, apim_csharp::Value>,
    env: Env<'_>,
) -> RunSummary {
    use crate::errors::Section;
    use crate::pipeline::Flow;
    let returned = |section| RunSummary {
        error: None,
        returned_in: Some(section),
        on_error_failed: false,
    };
    let done = RunSummary {
        error: None,
        returned_in: None,
        on_error_failed: false,
    };
    let split_in = c.lookup_at().min(sections.inbound.len());
    let store_at = c.store_at().map(|i| i.min(sections.outbound.len()));
    macro_rules! go {
        ($list:expr, $section:expr) => {
            match steps($list, ctx, env).await {
                Ok(Flow::Continue) => {}
                Ok(Flow::Return) => return returned($section),
                Err(e) => return run_on_error(&sections.on_error, ctx, env, *e).await,
            }
        };
    }
    go!(&sections.inbound[..split_in], Section::Inbound);
    let miss = match c.lookup(service, ctx, env).await {
        Ok(Ok(hit)) => {
            ctx.response = hit;
            go!(
                &sections.outbound[store_at.unwrap_or(0)..],
                Section::Outbound
            );
            return done;
        }
        Ok(Err(miss)) => miss,
        Err(e) => return run_on_error(&sections.on_error, ctx, env, *e).await,
    };
    go!(&sections.inbound[split_in..], Section::Inbound);
    go!(&sections.backend, Section::Backend);
    let split_out = store_at.unwrap_or(sections.outbound.len());
    go!(&sections.outbound[..split_out], Section::Outbound);
    if store_at.is_some() {
        if let Err(e) = c.store(miss, service, ctx, env).await {
            return run_on_error(&sections.on_error, ctx, env, *e).await;
        }
    }
    go!(&sections.outbound[split_out..], Section::Outbound);
    done
}

impl CachePoints for super::cache::ResponseCache {
    /// The cache key (`None`: the request is not cached).
    type Miss = Option<String>;

    fn lookup_at(&self) -> usize {
        self.lookup_at
    }

    fn store_at(&self) -> Option<usize> {
        self.store.as_ref().map(|(i, _)| *i)
    }

    async fn lookup(
        &self,
        _service: &std::sync::Arc<crate::service::ServiceDefinition>,
        ctx: &mut RequestContext<'_, apim_csharp::Value>,
        env: Env<'_>,
    ) -> Result<Result<Response, Option<String>>, Box<crate::errors::PipelineError>> {
        let key = super::cache::key(&self.lookup, ctx);
        if let Some(k) = &key {
            let caching = self.lookup.caching;
            if let Some(hit) =
                super::cache::lookup(env, k, caching, self.lookup.downstream.as_ref()).await
            {
                return Ok(Ok(hit));
            }
            super::cache::strip_conditional_headers(ctx);
        }
        Ok(Err(key))
    }

    async fn store(
        &self,
        key: Option<String>,
        service: &std::sync::Arc<crate::service::ServiceDefinition>,
        ctx: &mut RequestContext<'_, apim_csharp::Value>,
        env: Env<'_>,
    ) -> crate::pipeline::StepResult {
        match (&self.store, key) {
            (Some((_, s)), Some(k)) => {
                super::cache::store(
                    s,
                    &k,
                    self.lookup.caching,
                    self.lookup.downstream.as_ref(),
                    service,
                    ctx,
                    env,
                )
                .await
            }
            _ => Ok(crate::pipeline::Flow::Continue),
        }
    }
}
