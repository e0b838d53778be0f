//! The backend call behind `forward-request` (policies.md §3, backends.md): choose the backend
//! (pool selection and circuit breaker per call), apply its credentials, send with the timeout
//! on the engine clock, feed the breaker, trace, and turn failures into the errors APIM raises.

use std::time::Duration;

use serde_json::{Value, json};

use crate::backends::{BackendError, BackendRegistry, CallOutcome};
use crate::context::RequestContext;
use crate::errors::{LastError, PipelineError, PolicyLocation, Section};
use crate::http::{DEFAULT_BUFFER_LIMIT, HeaderMap, Url};
use crate::services::{BackendRequest, HttpVersion, Services, TlsOptions, send_with_timeout};

/// `forward-request` settings (defaults per pipeline.md §9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardOptions {
    pub timeout: Duration,
    pub follow_redirects: bool,
    pub buffer_request_body: bool,
    pub buffer_response: bool,
    pub fail_on_error_status_code: bool,
    pub http_version: HttpVersion,
    /// Largest request body buffered for `buffer-request-body`.
    pub buffer_limit: usize,
}

impl Default for ForwardOptions {
    fn default() -> Self {
        ForwardOptions {
            timeout: Duration::from_secs(300),
            follow_redirects: false,
            buffer_request_body: false,
            buffer_response: true,
            fail_on_error_status_code: false,
            http_version: HttpVersion::Http1,
            buffer_limit: DEFAULT_BUFFER_LIMIT,
        }
    }
}

fn headers_trace(h: &HeaderMap) -> Value {
    Value::Array(
        h.wire_lines()
            .into_iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect(),
    )
}

fn trace<V>(
    ctx: &mut RequestContext<'_, V>,
    services: &Services,
    section: Section,
    source: &str,
    data: Value,
) {
    ctx.record_trace(services.clock.as_ref(), section, source, data);
}

/// Sends `context.Request` to the backend and makes the answer `context.Response`.
///
/// With `ctx.backend_id` set (and known to `registry`) the backend entity is used: a pool picks a
/// member for this call, a tripped breaker gives the 503 outcome, credentials are added, and the
/// outcome feeds the breaker. Otherwise the request goes to `context.Request.Url` as it is.
pub async fn forward_request<V>(
    ctx: &mut RequestContext<'_, V>,
    services: &Services,
    registry: Option<&BackendRegistry>,
    opts: &ForwardOptions,
    loc: &PolicyLocation,
) -> Result<(), Box<PipelineError>> {
    let mut url = ctx.request.url.clone();
    let mut headers = ctx.request.headers.clone();
    let mut tls = TlsOptions::default();
    // Taken out while the call is prepared (so `ctx` can change meanwhile), put back below.
    let backend_id = ctx.backend_id.take();
    let selected = match (backend_id.as_deref(), registry) {
        (Some(id), Some(reg)) => Some((id, reg, reg.select(id, &services.rng))),
        _ => None,
    };
    let prepared = prepare_backend(
        ctx,
        services,
        selected,
        &mut url,
        &mut headers,
        &mut tls,
        loc,
    );
    ctx.backend_id = backend_id;
    let chosen = prepared?;
    finish_forward(
        ctx, services, registry, opts, loc, url, headers, tls, chosen,
    )
    .await
}

/// The selected backend applied to the call: its URL, credentials and TLS options, and
/// `context.Backend`. Returns the member chosen (for the breaker).
fn prepare_backend<'r, V>(
    ctx: &mut RequestContext<'_, V>,
    services: &Services,
    selected: Option<(
        &str,
        &'r BackendRegistry,
        Result<crate::backends::SelectedBackend<'r>, BackendError>,
    )>,
    url: &mut Url,
    headers: &mut HeaderMap,
    tls: &mut TlsOptions,
    loc: &PolicyLocation,
) -> Result<Option<&'r str>, Box<PipelineError>> {
    let mut chosen: Option<&'r str> = None;
    if let Some((id, reg, selection)) = selected {
        match selection {
            Ok(sel) => {
                let origin;
                let old_base = match &ctx.backend_base {
                    Some(b) => b,
                    None => {
                        origin = url.origin();
                        &origin
                    }
                };
                *url = url.rebase(old_base, sel.url).map_err(|e| {
                    Box::new(PipelineError::backend_failure(
                        loc,
                        &crate::services::HttpError::InvalidRequest(e.to_string()),
                        &ctx.request_id,
                    ))
                })?;
                reg.apply_credentials(sel.backend_id, headers, url)
                    .map_err(|e| {
                        Box::new(PipelineError::backend_failure(
                            loc,
                            &crate::services::HttpError::InvalidRequest(e.to_string()),
                            &ctx.request_id,
                        ))
                    })?;
                *tls = sel.tls;
                reg.fill_info(id, &mut ctx.backend);
                if let Some(info) = ctx.backend.as_mut() {
                    if sel.pool_id.is_some() {
                        info.azure_region = sel.azure_region.map(str::to_string);
                    }
                }
                chosen = Some(sel.backend_id);
            }
            Err(BackendError::Unavailable(b)) => {
                let message = format!("Backend '{b}' is unavailable: its circuit breaker is open.");
                if ctx.trace.is_enabled() {
                    ctx.record_trace(
                        services.clock.as_ref(),
                        loc.section,
                        "forward-request",
                        json!({"messages": [message.clone()]}),
                    );
                }
                return Err(Box::new(PipelineError::backend_unavailable(loc, message)));
            }
            Err(e) => {
                let err = PipelineError {
                    last_error: LastError::at(loc, "BackendNotFound", e.to_string()),
                    response: crate::errors::internal_error_response(&ctx.request_id),
                };
                return Err(Box::new(err));
            }
        }
    }
    Ok(chosen)
}

#[allow(clippy::too_many_arguments)]
async fn finish_forward<V>(
    ctx: &mut RequestContext<'_, V>,
    services: &Services,
    registry: Option<&BackendRegistry>,
    opts: &ForwardOptions,
    loc: &PolicyLocation,
    url: Url,
    mut headers: HeaderMap,
    tls: TlsOptions,
    chosen: Option<&str>,
) -> Result<(), Box<PipelineError>> {
    let section = loc.section;
    // The client's Host goes away so the backend's host is sent; a Host set by a policy stays.
    if headers
        .first("Host")
        .is_some_and(|h| ctx.request.original_url.is_host_header(h))
    {
        headers.delete("Host");
    }
    let xff = match headers.get_joined("X-Forwarded-For") {
        Some(prev) if !prev.is_empty() => format!("{prev}, {}", ctx.request.ip_address),
        _ => ctx.request.ip_address.clone(),
    };
    let _ = headers.set_one("X-Forwarded-For", xff);
    if opts.buffer_request_body {
        if let Err(e) = ctx.request.body.buffer(opts.buffer_limit).await {
            let err = crate::services::HttpError::InvalidRequest(e.to_string());
            return Err(Box::new(PipelineError::backend_failure(
                loc,
                &err,
                &ctx.request_id,
            )));
        }
    }
    let body = ctx.request.body.take_for_send();
    let timeout_secs = opts.timeout.as_secs_f64();
    if ctx.trace.is_enabled() {
        trace(
            ctx,
            services,
            section,
            "forward-request",
            json!({
                "message": format!("Request is being forwarded to the backend service. Timeout set to {timeout_secs} seconds"),
                "request": {"method": ctx.request.method, "url": url.to_string(), "headers": headers_trace(&headers)},
            }),
        );
    }
    let called = ctx
        .called_backend
        .get_or_insert_with(|| String::with_capacity(url.scheme().len() + url.host().len() + 9));
    called.clear();
    url.push_authority_prefix(called);
    let req = BackendRequest {
        method: ctx.request.method.clone(),
        url,
        headers,
        body,
        follow_redirects: opts.follow_redirects,
        http_version: opts.http_version,
        tls,
        proxy: ctx.backend_proxy.clone(),
        client_certificate: ctx.backend_certificate.clone(),
    };
    match send_with_timeout(
        services.http.as_ref(),
        services.clock.as_ref(),
        req,
        opts.timeout,
    )
    .await
    {
        Err(e) => {
            if let (Some(b), Some(reg)) = (chosen, registry) {
                reg.record(
                    b,
                    &CallOutcome::Failure {
                        reason: e.reason().to_string(),
                    },
                );
            }
            if ctx.trace.is_enabled() {
                trace(
                    ctx,
                    services,
                    section,
                    "forward-request",
                    json!({"messages": ["Error occured while calling backend service.", e.to_string()]}),
                );
            }
            Err(Box::new(PipelineError::backend_failure(
                loc,
                &e,
                &ctx.request_id,
            )))
        }
        Ok(resp) => {
            if let (Some(b), Some(reg)) = (chosen, registry) {
                reg.record_response(b, resp.status, &resp.headers);
            }
            if ctx.trace.is_enabled() {
                trace(
                    ctx,
                    services,
                    section,
                    "forward-request",
                    json!({"response": {"status": {"code": resp.status, "reason": resp.reason}, "headers": headers_trace(&resp.headers)}}),
                );
            }
            let status = resp.status;
            ctx.response = resp;
            if opts.fail_on_error_status_code && (400..=599).contains(&status) {
                let message = format!("Backend service responded with status code {status}.");
                let pending = ctx
                    .response
                    .try_clone()
                    .unwrap_or_else(|| crate::http::Response::new(status));
                return Err(Box::new(PipelineError {
                    last_error: LastError::at(loc, "BackendResponseError", message),
                    response: pending,
                }));
            }
            Ok(())
        }
    }
}

/// `send-request mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendMode {
    #[default]
    New,
    /// Start from the current request's method, URL, headers and body (the body is not copied
    /// in outbound).
    Copy,
}

/// The request send-request starts from, before its `set-url`/`set-method`/`set-header`/
/// `set-body` children apply. `None` for mode `new` without a URL yet.
pub fn send_request_base<V>(
    ctx: &RequestContext<'_, V>,
    mode: SendMode,
    section: Section,
) -> Option<BackendRequest> {
    match mode {
        SendMode::New => None,
        SendMode::Copy => {
            let mut req = BackendRequest::new(ctx.request.method.clone(), ctx.request.url.clone());
            req.headers = ctx.request.headers.clone();
            if section != Section::Outbound {
                req.body = ctx.request.body.try_clone().unwrap_or_default();
            }
            Some(req)
        }
    }
}

/// `send-request` / `send-one-way-request`: sends with the timeout (default 60 s) on the engine
/// clock. Non-2xx answers are responses, not errors. With `ignore_error` a failure yields
/// `Ok(None)` (the response variable becomes null); otherwise it is the error on-error sees.
pub async fn send_request(
    services: &Services,
    req: BackendRequest,
    timeout: Duration,
    ignore_error: bool,
    loc: &PolicyLocation,
    request_id: &str,
) -> Result<Option<crate::http::Response>, Box<PipelineError>> {
    match send_with_timeout(
        services.http.as_ref(),
        services.clock.as_ref(),
        req,
        timeout,
    )
    .await
    {
        Ok(r) => Ok(Some(r)),
        Err(_) if ignore_error => Ok(None),
        Err(e) => Err(Box::new(PipelineError::backend_failure(
            loc, &e, request_id,
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::admit;
    use crate::errors::Scope;
    use crate::http::Request;
    use crate::service::{
        Api, Backend, BackendCredentials, BackendPool, BackendType, CircuitBreaker,
        CircuitBreakerRule, FailureCondition, IsoDuration, Operation, PoolMember,
        ServiceDefinition, StatusCodeRange,
    };
    use crate::services::{Clock, MockFault, MockMatch, MockReply, TestHandles, VirtualClock};

    fn service() -> ServiceDefinition {
        let rule = CircuitBreakerRule {
            name: "429".into(),
            failure_condition: FailureCondition {
                count: Some(1),
                interval: IsoDuration(Duration::from_secs(60)),
                status_code_ranges: vec![StatusCodeRange { min: 429, max: 429 }],
                ..Default::default()
            },
            trip_duration: IsoDuration(Duration::from_secs(60)),
            accept_retry_after: true,
        };
        let single = |id: &str| Backend {
            id: id.into(),
            url: Some(format!("https://{id}.openai.azure.com/openai")),
            circuit_breaker: Some(CircuitBreaker {
                rules: vec![rule.clone()],
            }),
            credentials: BackendCredentials {
                header: [("api-key".to_string(), vec![format!("{id}-key")])].into(),
                ..Default::default()
            },
            ..Default::default()
        };
        ServiceDefinition {
            apis: vec![Api {
                id: "aoai".into(),
                path: "openai".into(),
                service_url: Some("https://placeholder.example.com/openai".into()),
                subscription_required: false,
                operations: vec![Operation {
                    id: "chat".into(),
                    method: "POST".into(),
                    url_template: "/deployments/{d}/chat/completions".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            backends: vec![
                single("east"),
                single("west"),
                Backend {
                    id: "pool".into(),
                    backend_type: BackendType::Pool,
                    pool: Some(BackendPool {
                        services: vec![
                            PoolMember {
                                id: "east".into(),
                                priority: Some(1),
                                weight: None,
                            },
                            PoolMember {
                                id: "west".into(),
                                priority: Some(2),
                                weight: None,
                            },
                        ],
                    }),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    fn loc() -> PolicyLocation {
        PolicyLocation {
            policy: "forward-request".into(),
            scope: Scope::Global,
            section: Section::Backend,
            path: "forward-request[1]".into(),
            policy_id: None,
        }
    }

    fn setup(s: &ServiceDefinition) -> (Services, TestHandles, BackendRegistry) {
        let (services, handles) = Services::for_tests(VirtualClock::at_default_start(), 7);
        let reg = BackendRegistry::new(s, services.clock.clone()).unwrap();
        (services, handles, reg)
    }

    fn context<'a>(s: &'a ServiceDefinition, services: &Services) -> RequestContext<'a, ()> {
        let mut req = Request::new(
            "POST",
            Url::parse("https://gw.local/openai/deployments/gpt/chat/completions?api-version=1")
                .unwrap(),
        );
        req.headers.set_one("Host", "gw.local").unwrap();
        req.body = crate::http::Body::from("{\"messages\":[]}");
        req.ip_address = "10.0.0.5".into();
        let adm = admit(s, &crate::matching::Router::new(s), None, req, services).unwrap();
        RequestContext::new(s, adm, services.clock.monotonic(), true)
    }

    #[tokio::test]
    async fn pool_call_uses_member_url_credentials_and_fails_over_after_429() {
        let s = service();
        let (services, h, reg) = setup(&s);
        h.http.sequence(
            MockMatch::host("east.openai.azure.com"),
            vec![MockReply::status(429).header("Retry-After", "30")],
        );
        h.http.always(
            MockMatch::host("west.openai.azure.com"),
            MockReply::json(200, "{\"ok\":true}"),
        );
        h.http.always(
            MockMatch::host("east.openai.azure.com"),
            MockReply::json(200, "{\"east\":true}"),
        );
        let mut ctx = context(&s, &services);
        ctx.backend_id = Some("pool".into());
        let opts = ForwardOptions {
            buffer_request_body: true,
            ..Default::default()
        };
        h.clock
            .run(forward_request(
                &mut ctx,
                &services,
                Some(&reg),
                &opts,
                &loc(),
            ))
            .await
            .unwrap();
        assert_eq!(
            ctx.response.status, 429,
            "the tripping response still reaches the caller"
        );
        assert!(reg.is_tripped("east"));
        h.clock
            .run(forward_request(
                &mut ctx,
                &services,
                Some(&reg),
                &opts,
                &loc(),
            ))
            .await
            .unwrap();
        assert_eq!(ctx.response.status, 200);
        let calls = h.http.calls();
        assert_eq!(
            calls[0].url.to_string(),
            "https://east.openai.azure.com/openai/deployments/gpt/chat/completions?api-version=1"
        );
        assert_eq!(calls[1].url.host(), "west.openai.azure.com");
        assert_eq!(calls[1].headers.first("api-key"), Some("west-key"));
        assert_eq!(calls[1].headers.first("X-Forwarded-For"), Some("10.0.0.5"));
        assert!(
            calls[1].headers.first("Host").is_none(),
            "the gateway host is not forwarded"
        );
        assert_eq!(
            calls[1].body, "{\"messages\":[]}",
            "a buffered body is re-sent"
        );
        assert_eq!(ctx.backend.as_ref().unwrap().id, "pool");
        // After Retry-After (30 s) east is used again.
        h.clock.advance(Duration::from_secs(30));
        h.clock
            .run(forward_request(
                &mut ctx,
                &services,
                Some(&reg),
                &opts,
                &loc(),
            ))
            .await
            .unwrap();
        assert_eq!(h.http.calls()[2].url.host(), "east.openai.azure.com");
        let trace = ctx.trace.to_json("t");
        assert!(
            trace["traceEntries"]["backend"][0]["data"]["message"]
                .as_str()
                .unwrap()
                .contains("Timeout set to 300 seconds")
        );
    }

    #[tokio::test]
    async fn send_request_copy_mode_and_errors() {
        let s = service();
        let (services, h, _reg) = setup(&s);
        h.http.always(
            MockMatch::host("placeholder.example.com"),
            MockReply::status(404),
        );
        h.http.always(
            MockMatch::host("down.example.com"),
            MockReply::fault(MockFault::ConnectionRefused),
        );
        let ctx = context(&s, &services);
        assert!(send_request_base(&ctx, SendMode::New, Section::Inbound).is_none());
        let copy = send_request_base(&ctx, SendMode::Copy, Section::Inbound).unwrap();
        assert_eq!(copy.body.peek().map(|b| b.len()), Some(15));
        let out = send_request_base(&ctx, SendMode::Copy, Section::Outbound).unwrap();
        assert!(
            !out.body.is_present(),
            "copy in outbound does not copy the body"
        );
        let loc = PolicyLocation {
            policy: "send-request".into(),
            ..loc()
        };
        let r = h
            .clock
            .run(send_request(
                &services,
                copy,
                Duration::from_secs(60),
                false,
                &loc,
                "rid",
            ))
            .await
            .unwrap();
        assert_eq!(
            r.unwrap().status,
            404,
            "non-2xx is a response, not an error"
        );
        let down = BackendRequest::new("GET", Url::parse("https://down.example.com/").unwrap());
        assert!(
            h.clock
                .run(send_request(
                    &services,
                    down,
                    Duration::from_secs(60),
                    true,
                    &loc,
                    "rid"
                ))
                .await
                .unwrap()
                .is_none()
        );
        let down = BackendRequest::new("GET", Url::parse("https://down.example.com/").unwrap());
        let e = h
            .clock
            .run(send_request(
                &services,
                down,
                Duration::from_secs(60),
                false,
                &loc,
                "rid",
            ))
            .await
            .unwrap_err();
        assert_eq!(
            (e.last_error.source.as_str(), e.last_error.reason.as_str()),
            ("send-request", "BackendConnectionFailure")
        );
    }

    #[tokio::test]
    async fn unbuffered_body_is_not_resent() {
        let s = service();
        let (services, h, reg) = setup(&s);
        h.http.always(
            MockMatch::host("placeholder.example.com"),
            MockReply::status(500),
        );
        let mut ctx = context(&s, &services);
        ctx.request.body = crate::http::Body::from_chunks(vec![Ok(bytes::Bytes::from("streamed"))]);
        let opts = ForwardOptions::default();
        h.clock
            .run(forward_request(
                &mut ctx,
                &services,
                Some(&reg),
                &opts,
                &loc(),
            ))
            .await
            .unwrap();
        h.clock
            .run(forward_request(
                &mut ctx,
                &services,
                Some(&reg),
                &opts,
                &loc(),
            ))
            .await
            .unwrap();
        let calls = h.http.calls();
        assert_eq!(
            (calls[0].body.as_ref(), calls[1].body.as_ref()),
            (b"streamed".as_ref(), b"".as_ref())
        );
    }

    #[tokio::test]
    async fn failures_become_apim_errors() {
        let s = service();
        let (services, h, reg) = setup(&s);
        h.http.always(
            MockMatch::host("placeholder.example.com"),
            MockReply::fault(MockFault::NoResponse),
        );
        let mut ctx = context(&s, &services);
        let opts = ForwardOptions {
            timeout: Duration::from_secs(20),
            ..Default::default()
        };
        let e = h
            .clock
            .run(forward_request(
                &mut ctx,
                &services,
                Some(&reg),
                &opts,
                &loc(),
            ))
            .await
            .unwrap_err();
        assert_eq!(
            (e.last_error.reason.as_str(), e.response.status),
            ("Timeout", 500)
        );
        assert_eq!(h.clock.monotonic(), Duration::from_secs(20));
        assert_eq!(
            ctx.trace.entries(Section::Backend)[1].data["messages"][0],
            "Error occured while calling backend service."
        );

        let (services, h, reg) = setup(&s);
        h.http.always(
            MockMatch::host("placeholder.example.com"),
            MockReply::fault(MockFault::ConnectionRefused),
        );
        let mut ctx = context(&s, &services);
        let e = h
            .clock
            .run(forward_request(
                &mut ctx,
                &services,
                Some(&reg),
                &ForwardOptions::default(),
                &loc(),
            ))
            .await
            .unwrap_err();
        assert_eq!(e.last_error.reason, "BackendConnectionFailure");
        assert_eq!(e.last_error.source, "forward-request");

        // fail-on-error-status-code
        let (services, h, reg) = setup(&s);
        h.http.always(
            MockMatch::host("placeholder.example.com"),
            MockReply::status(502),
        );
        let mut ctx = context(&s, &services);
        let opts = ForwardOptions {
            fail_on_error_status_code: true,
            ..Default::default()
        };
        let e = h
            .clock
            .run(forward_request(
                &mut ctx,
                &services,
                Some(&reg),
                &opts,
                &loc(),
            ))
            .await
            .unwrap_err();
        assert_eq!((e.response.status, ctx.response.status), (502, 502));

        // Whole pool tripped: 503.
        let (services, h, reg) = setup(&s);
        reg.record(
            "east",
            &CallOutcome::Response {
                status: 429,
                retry_after: None,
            },
        );
        reg.record(
            "west",
            &CallOutcome::Response {
                status: 429,
                retry_after: None,
            },
        );
        let mut ctx = context(&s, &services);
        ctx.backend_id = Some("pool".into());
        let e = h
            .clock
            .run(forward_request(
                &mut ctx,
                &services,
                Some(&reg),
                &ForwardOptions::default(),
                &loc(),
            ))
            .await
            .unwrap_err();
        assert_eq!(e.response.status, 503);
        assert_eq!(h.http.call_count(), 0);
    }
}
