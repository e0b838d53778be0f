//! Section execution (pipeline.md §3, §6): inbound → backend → outbound, jumping to on-error on
//! the first error with `context.LastError` and the pending error response set; `return-response`
//! (and mock-response) stop the pipeline at once. The Plan compiler turns policies into [`Step`]s.

use futures_util::future::BoxFuture;

use crate::backends::BackendRegistry;
use crate::context::RequestContext;
use crate::errors::{LastError, PipelineError, Section, internal_error_response};
use crate::services::Services;

/// What a step asks the pipeline to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Stop the whole pipeline and send `context.Response` (return-response, mock-response).
    Return,
}

pub type StepResult = Result<Flow, Box<PipelineError>>;

/// Services and shared runtime state a step may use.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub services: &'a Services,
    pub backends: Option<&'a BackendRegistry>,
}

/// One executable statement of an effective section.
pub trait Step<V: Send>: Send + Sync {
    fn run<'a>(
        &'a self,
        ctx: &'a mut RequestContext<'_, V>,
        env: Env<'a>,
    ) -> BoxFuture<'a, StepResult>;

    /// Runs the step at once when it never awaits; `None` (changing nothing): use [`Step::run`].
    fn run_now(&self, _ctx: &mut RequestContext<'_, V>, _env: Env<'_>) -> Option<StepResult> {
        None
    }
}

/// Runs one step: at once when it can, else through its future.
pub async fn run_step<V: Send>(
    step: &dyn Step<V>,
    ctx: &mut RequestContext<'_, V>,
    env: Env<'_>,
) -> StepResult {
    match step.run_now(ctx, env) {
        Some(r) => r,
        None => step.run(ctx, env).await,
    }
}

/// The four effective sections of one API operation (after `<base/>` expansion).
pub struct Sections<V: Send> {
    pub inbound: Vec<Box<dyn Step<V>>>,
    pub backend: Vec<Box<dyn Step<V>>>,
    pub outbound: Vec<Box<dyn Step<V>>>,
    pub on_error: Vec<Box<dyn Step<V>>>,
}

impl<V: Send> Default for Sections<V> {
    fn default() -> Self {
        Sections {
            inbound: Vec::new(),
            backend: Vec::new(),
            outbound: Vec::new(),
            on_error: Vec::new(),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// The error that sent the request to on-error, if any.
    pub error: Option<LastError>,
    /// The section where `return-response` (or similar) stopped the pipeline.
    pub returned_in: Option<Section>,
    /// on-error itself failed: the client got APIM's 500.
    pub on_error_failed: bool,
}

async fn run_steps<V: Send>(
    steps: &[Box<dyn Step<V>>],
    ctx: &mut RequestContext<'_, V>,
    env: Env<'_>,
) -> StepResult {
    for s in steps {
        if run_step(s.as_ref(), ctx, env).await? == Flow::Return {
            return Ok(Flow::Return);
        }
    }
    Ok(Flow::Continue)
}

/// Runs on-error for `err`: `LastError` set, the pending error response in `context.Response`.
/// An error inside on-error ends with APIM's 500.
pub async fn run_on_error<V: Send>(
    steps: &[Box<dyn Step<V>>],
    ctx: &mut RequestContext<'_, V>,
    env: Env<'_>,
    err: PipelineError,
) -> RunSummary {
    ctx.last_error = Some(err.last_error.clone());
    ctx.response = err.response;
    let mut summary = RunSummary {
        error: Some(err.last_error),
        returned_in: None,
        on_error_failed: false,
    };
    match run_steps(steps, ctx, env).await {
        Ok(Flow::Return) => summary.returned_in = Some(Section::OnError),
        Ok(Flow::Continue) => {}
        Err(_) => {
            summary.on_error_failed = true;
            ctx.response = internal_error_response(&ctx.request_id);
        }
    }
    summary
}

/// Runs the sections for one request. With no forward-request in the backend section the
/// response stays the default 200 OK with no body (or whatever inbound set).
pub async fn run<V: Send>(
    sections: &Sections<V>,
    ctx: &mut RequestContext<'_, V>,
    env: Env<'_>,
) -> RunSummary {
    for (section, steps) in [
        (Section::Inbound, &sections.inbound),
        (Section::Backend, &sections.backend),
        (Section::Outbound, &sections.outbound),
    ] {
        match run_steps(steps, ctx, env).await {
            Ok(Flow::Continue) => {}
            Ok(Flow::Return) => {
                return RunSummary {
                    error: None,
                    returned_in: Some(section),
                    on_error_failed: false,
                };
            }
            Err(e) => return run_on_error(&sections.on_error, ctx, env, *e).await,
        }
    }
    RunSummary {
        error: None,
        returned_in: None,
        on_error_failed: false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use parking_lot::Mutex;

    use super::*;
    use crate::admission::admit;
    use crate::errors::{PolicyLocation, Scope};
    use crate::http::{Request, Url};
    use crate::service::{Api, Operation, ServiceDefinition};
    use crate::services::VirtualClock;

    /// Test step: records its name, then does something.
    struct T {
        name: &'static str,
        log: Arc<Mutex<Vec<String>>>,
        action: fn(&mut RequestContext<'_, ()>) -> StepResult,
    }

    impl Step<()> for T {
        fn run<'a>(
            &'a self,
            ctx: &'a mut RequestContext<'_, ()>,
            _env: Env<'a>,
        ) -> BoxFuture<'a, StepResult> {
            self.log.lock().push(self.name.to_string());
            let r = (self.action)(ctx);
            Box::pin(async move { r })
        }
    }

    fn ok(_: &mut RequestContext<'_, ()>) -> StepResult {
        Ok(Flow::Continue)
    }
    fn set_201(ctx: &mut RequestContext<'_, ()>) -> StepResult {
        ctx.response = crate::http::Response::new(201);
        Ok(Flow::Continue)
    }
    fn ret(ctx: &mut RequestContext<'_, ()>) -> StepResult {
        ctx.response = crate::http::Response::new(418);
        Ok(Flow::Return)
    }
    fn fail(ctx: &mut RequestContext<'_, ()>) -> StepResult {
        let loc = PolicyLocation {
            policy: "set-header".into(),
            scope: Scope::Api,
            section: Section::Inbound,
            path: "set-header[1]".into(),
            policy_id: Some("h".into()),
        };
        Err(Box::new(PipelineError::expression_failure(
            &loc,
            "Object reference not set to an instance of an object.",
            &ctx.request_id,
        )))
    }
    fn read_last_error(ctx: &mut RequestContext<'_, ()>) -> StepResult {
        let reason = ctx
            .last_error
            .as_ref()
            .map(|e| e.reason.clone())
            .unwrap_or_default();
        ctx.response
            .headers
            .set_one("X-Error", reason)
            .map_err(|_| unreachable_error())?;
        Ok(Flow::Continue)
    }
    fn unreachable_error() -> Box<PipelineError> {
        Box::new(PipelineError::operation_not_found())
    }

    fn setup() -> (ServiceDefinition, Services) {
        let s = ServiceDefinition {
            apis: vec![Api {
                id: "a".into(),
                path: "a".into(),
                subscription_required: false,
                operations: vec![Operation {
                    id: "o".into(),
                    method: "GET".into(),
                    url_template: "/".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 1);
        (s, services)
    }

    fn step(
        name: &'static str,
        log: &Arc<Mutex<Vec<String>>>,
        action: fn(&mut RequestContext<'_, ()>) -> StepResult,
    ) -> Box<dyn Step<()>> {
        Box::new(T {
            name,
            log: log.clone(),
            action,
        })
    }

    async fn go(sections: &Sections<()>) -> (RunSummary, u16, Option<String>, bool) {
        let (s, services) = setup();
        let adm = admit(
            &s,
            &crate::matching::Router::new(&s),
            None,
            Request::new("GET", Url::parse("http://gw/a/").unwrap()),
            &services,
        )
        .unwrap();
        let mut ctx = RequestContext::new(&s, adm, std::time::Duration::ZERO, false);
        let summary = run(
            sections,
            &mut ctx,
            Env {
                services: &services,
                backends: None,
            },
        )
        .await;
        let x = ctx.response.headers.first("X-Error").map(str::to_string);
        let has_body = ctx.response.body.is_present();
        (summary, ctx.response.status, x, has_body)
    }

    #[tokio::test]
    async fn sections_run_in_order_and_no_backend_call_means_empty_200() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sections = Sections {
            inbound: vec![step("in1", &log, ok), step("in2", &log, ok)],
            backend: vec![],
            outbound: vec![step("out", &log, ok)],
            on_error: vec![step("err", &log, ok)],
        };
        let (summary, status, _, has_body) = go(&sections).await;
        assert_eq!(*log.lock(), ["in1", "in2", "out"]);
        assert_eq!((status, has_body), (200, false));
        assert_eq!(summary.error, None);
    }

    #[tokio::test]
    async fn return_response_skips_everything_after_it() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sections = Sections {
            inbound: vec![step("in", &log, ret), step("after", &log, ok)],
            backend: vec![step("fwd", &log, set_201)],
            outbound: vec![step("out", &log, ok)],
            on_error: vec![],
        };
        let (summary, status, _, _) = go(&sections).await;
        assert_eq!(*log.lock(), ["in"]);
        assert_eq!((status, summary.returned_in), (418, Some(Section::Inbound)));
    }

    #[tokio::test]
    async fn errors_jump_to_on_error_with_last_error_and_pending_response() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sections = Sections {
            inbound: vec![step("in", &log, fail), step("skipped", &log, ok)],
            backend: vec![step("fwd", &log, set_201)],
            outbound: vec![step("out", &log, ok)],
            on_error: vec![step("err", &log, read_last_error)],
        };
        let (summary, status, x, _) = go(&sections).await;
        assert_eq!(*log.lock(), ["in", "err"]);
        assert_eq!(status, 500);
        assert_eq!(x.as_deref(), Some("ExpressionValueEvaluationFailure"));
        let e = summary.error.unwrap();
        assert_eq!(
            (
                e.source.as_str(),
                e.scope.as_str(),
                e.section.as_str(),
                e.policy_id.as_deref()
            ),
            ("set-header", "api", "inbound", Some("h"))
        );
    }

    #[tokio::test]
    async fn error_inside_on_error_gives_500_and_return_in_on_error_wins() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sections = Sections {
            inbound: vec![step("in", &log, fail)],
            on_error: vec![step("err", &log, fail)],
            ..Default::default()
        };
        let (summary, status, _, has_body) = go(&sections).await;
        assert!(summary.on_error_failed);
        assert_eq!((status, has_body), (500, true));
        let sections = Sections {
            inbound: vec![step("in", &log, fail)],
            on_error: vec![step("ret", &log, ret), step("no", &log, ok)],
            ..Default::default()
        };
        let (summary, status, _, _) = go(&sections).await;
        assert_eq!((status, summary.returned_in), (418, Some(Section::OnError)));
    }
}
