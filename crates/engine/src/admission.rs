//! The pipeline's built-in first steps (pipeline.md §3 steps 1-3): request id and timestamp,
//! API and operation matching, the subscription check, and the backend URL the request starts
//! with. Rejections carry the error on-error will see.

use chrono::{DateTime, Utc};

use crate::backends::BackendRegistry;
use crate::errors::{LastError, PipelineError, internal_error_response};
use crate::http::{Request, Url};
use crate::matching::{RouteError, RouteMatch, Router};
use crate::service::{Api, ServiceDefinition};
use crate::services::Services;
use crate::subscription::{Caller, check_subscription};

/// A request that passed matching and the key check.
#[derive(Debug)]
pub struct Admission<'a> {
    /// `context.RequestId`.
    pub request_id: String,
    /// `context.Timestamp`.
    pub timestamp: DateTime<Utc>,
    pub route: RouteMatch<'a>,
    pub caller: Caller<'a>,
    /// The request; `url` is the backend URL (service URL + operation path + query) and
    /// `original_url` what the client sent.
    pub request: Request,
    /// The API's service URL, which `set-backend-service base-url` replaces.
    pub backend_base: Option<Url>,
    /// A Backend entity whose URL is the service URL (used automatically, backends.md §1).
    pub backend_id: Option<String>,
}

/// A request stopped by a built-in step.
#[derive(Debug)]
pub struct Rejection<'a> {
    pub request_id: String,
    pub timestamp: DateTime<Utc>,
    /// The API whose URL suffix matched, if any (its on-error may run).
    pub api: Option<&'a Api>,
    /// Set when the key check failed after a match.
    pub route: Option<RouteMatch<'a>>,
    pub error: PipelineError,
    pub request: Request,
}

/// Runs steps 1-3 for a request whose `url` and `original_url` are the client's URL.
pub fn admit<'a>(
    service: &'a ServiceDefinition,
    router: &Router,
    backends: Option<&BackendRegistry>,
    mut request: Request,
    services: &Services,
) -> Result<Admission<'a>, Box<Rejection<'a>>> {
    let request_id = services.rng.guid_string();
    let timestamp = services.clock.now();
    let reject = |api, route, error, request| {
        Box::new(Rejection {
            request_id: request_id.clone(),
            timestamp,
            api,
            route,
            error,
            request,
        })
    };
    let route = match router.route(
        service,
        &request.method,
        &request.original_url,
        &request.headers,
    ) {
        Ok(r) => r,
        Err(RouteError::OperationNotFound { api_id }) => {
            let api = api_id.as_deref().and_then(|id| service.api(id));
            return Err(reject(
                api,
                None,
                PipelineError::operation_not_found(),
                request,
            ));
        }
    };
    let caller = match check_subscription(
        service,
        route.api,
        &request.headers,
        &request.original_url,
        timestamp,
    ) {
        Ok(c) => c,
        Err(e) => return Err(reject(Some(route.api), Some(route.clone()), *e, request)),
    };
    let mut backend_base = None;
    let mut backend_id = None;
    let composed = router
        .service_url(service, &route.api.id)
        .map(|base| match base {
            Ok(b) => {
                Url::compose(b, &route.rest_path, request.original_url.query()).map(|u| (b, u))
            }
            Err(e) => Err(e.clone()),
        });
    match composed {
        None => {}
        Some(Ok((b, u))) => {
            backend_id = backends.and_then(|r| r.find_by_url(b)).map(str::to_string);
            backend_base = Some(b.clone());
            request.url = u;
        }
        Some(Err(e)) => {
            let error = PipelineError {
                last_error: LastError {
                    source: "configuration".into(),
                    reason: "InvalidServiceUrl".into(),
                    message: format!(
                        "The service URL of API '{}' is not valid: {e}",
                        route.api.id
                    ),
                    scope: "api".into(),
                    section: "inbound".into(),
                    path: String::new(),
                    policy_id: None,
                },
                response: internal_error_response(&request_id),
            };
            return Err(reject(Some(route.api), Some(route.clone()), error, request));
        }
    }
    Ok(Admission {
        request_id,
        timestamp,
        route,
        caller,
        request,
        backend_base,
        backend_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{Backend, Operation, Subscription};
    use crate::services::VirtualClock;

    fn service() -> ServiceDefinition {
        ServiceDefinition {
            apis: vec![Api {
                id: "aoai".into(),
                path: "openai".into(),
                service_url: Some("https://aoai.example.com/openai".into()),
                operations: vec![Operation {
                    id: "chat".into(),
                    method: "POST".into(),
                    url_template: "/deployments/{deployment-id}/chat/completions".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            subscriptions: vec![Subscription {
                id: "s".into(),
                primary_key: "k".into(),
                ..Default::default()
            }],
            backends: vec![Backend {
                id: "aoai-backend".into(),
                url: Some("https://aoai.example.com/openai/".into()),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn request(url: &str, key: Option<&str>) -> Request {
        let mut r = Request::new("POST", Url::parse(url).unwrap());
        if let Some(k) = key {
            r.headers.set_one("Ocp-Apim-Subscription-Key", k).unwrap();
        }
        r
    }

    #[test]
    fn admitted_request_targets_the_backend_url() {
        let s = service();
        let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 1);
        let reg = BackendRegistry::new(&s, services.clock.clone()).unwrap();
        let a = admit(
            &s,
            &Router::new(&s),
            Some(&reg),
            request(
                "https://gw/openai/deployments/gpt/chat/completions?api-version=1",
                Some("k"),
            ),
            &services,
        )
        .unwrap();
        assert_eq!(
            a.request.url.to_string(),
            "https://aoai.example.com/openai/deployments/gpt/chat/completions?api-version=1"
        );
        assert_eq!(
            a.request.original_url.to_string(),
            "https://gw/openai/deployments/gpt/chat/completions?api-version=1"
        );
        assert_eq!(a.route.matched_parameters.get("deployment-id"), Some("gpt"));
        assert_eq!(a.caller.subscription.unwrap().id, "s");
        assert_eq!(a.backend_id.as_deref(), Some("aoai-backend"));
        assert_eq!(a.request_id.len(), 36);
        assert_eq!(a.timestamp, services.clock.now());
    }

    #[test]
    fn rejections_carry_the_builtin_error() {
        let s = service();
        let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 1);
        let nf = admit(
            &s,
            &crate::matching::Router::new(&s),
            None,
            request("https://gw/openai/unknown", Some("k")),
            &services,
        )
        .unwrap_err();
        assert_eq!(
            (nf.error.response.status, nf.api.map(|a| a.id.as_str())),
            (404, Some("aoai"))
        );
        let nokey = admit(
            &s,
            &crate::matching::Router::new(&s),
            None,
            request("https://gw/openai/deployments/gpt/chat/completions", None),
            &services,
        )
        .unwrap_err();
        assert_eq!(nokey.error.last_error.reason, "SubscriptionKeyNotFound");
        assert_eq!(nokey.route.unwrap().operation.id, "chat");
    }
}
