//! The per-request state behind `context` (expressions.md §4): the request and response, the
//! matched API/operation, the caller (subscription, product, user), variables, the last error
//! and the trace. Generic over the variable value type (the expression evaluator's values).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::admission::Admission;
use crate::backends::BackendInfo;
use crate::errors::LastError;
use crate::http::{HeaderMap, Request, Response, Url};
use crate::matching::MatchedParameters;
use crate::service::{Api, Operation, Product, ServiceDefinition, Subscription, User, Workspace};
use crate::trace::Trace;

/// `context.Variables`: names compare ordinally (case-sensitive); insertion order is kept.
#[derive(Debug, Clone)]
pub struct Variables<V> {
    entries: Vec<(String, V)>,
}

impl<V> Default for Variables<V> {
    fn default() -> Self {
        Variables {
            entries: Vec::new(),
        }
    }
}

impl<V> Variables<V> {
    pub fn get(&self, name: &str) -> Option<&V> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// Sets (or overwrites) a variable; the name is copied only for a new variable.
    pub fn set(&mut self, name: impl AsRef<str> + Into<String>, value: V) {
        match self.entries.iter_mut().find(|(n, _)| n == name.as_ref()) {
            Some(e) => e.1 = value,
            None => self.entries.push((name.into(), value)),
        }
    }
    pub fn remove(&mut self, name: &str) -> Option<V> {
        let i = self.entries.iter().position(|(n, _)| n == name)?;
        Some(self.entries.remove(i).1)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v))
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// `context.Deployment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub gateway_id: String,
    pub instance_id: String,
    pub is_managed: bool,
    pub region: String,
    pub service_id: String,
    pub service_name: String,
}

impl Deployment {
    /// As the managed gateway reports itself (`GatewayId` "managed").
    pub fn managed(service: &ServiceDefinition) -> Self {
        Deployment {
            gateway_id: "managed".into(),
            instance_id: "managed".into(),
            is_managed: true,
            region: service.region.clone(),
            service_id: format!("/services/{}", service.service_name),
            service_name: service.service_name.clone(),
        }
    }

    /// [`Deployment::managed`], shared: the same service gives the same value, so requests on
    /// one thread reuse it instead of building it again.
    pub fn managed_shared(service: &ServiceDefinition) -> std::sync::Arc<Self> {
        thread_local! {
            static LAST: std::cell::RefCell<Option<std::sync::Arc<Deployment>>> =
                const { std::cell::RefCell::new(None) };
        }
        LAST.with(|last| {
            let mut last = last.borrow_mut();
            match &*last {
                Some(d) if d.region == service.region && d.service_name == service.service_name => {
                    d.clone()
                }
                _ => {
                    let d = std::sync::Arc::new(Deployment::managed(service));
                    *last = Some(d.clone());
                    d
                }
            }
        })
    }
}

/// Everything one request runs over.
#[derive(Debug)]
pub struct RequestContext<'a, V> {
    pub service: &'a ServiceDefinition,
    /// `context.RequestId`.
    pub request_id: String,
    /// `context.Timestamp`.
    pub timestamp: DateTime<Utc>,
    /// Engine-clock monotonic time at arrival (for `context.Elapsed`).
    pub started: Duration,
    pub request: Request,
    /// The method the client used (`OriginalMethod` in Liquid).
    pub original_method: String,
    pub response: Response,
    pub matched_parameters: MatchedParameters,
    pub api: Option<&'a Api>,
    pub operation: Option<&'a Operation>,
    pub product: Option<&'a Product>,
    pub subscription: Option<&'a Subscription>,
    /// The key this call used.
    pub subscription_key: Option<String>,
    pub user: Option<&'a User>,
    pub workspace: Option<&'a Workspace>,
    pub deployment: std::sync::Arc<Deployment>,
    /// The API service URL that `set-backend-service base-url` replaces.
    pub backend_base: Option<Url>,
    /// Backend entity in use (`set-backend-service backend-id`, or matched by URL).
    pub backend_id: Option<String>,
    /// `context.Backend`.
    pub backend: Option<BackendInfo>,
    /// `backend_id` came from `set-backend-service backend-id` (not from URL matching).
    pub backend_from_policy: bool,
    /// The `proxy` policy's proxy for forward-request.
    pub backend_proxy: Option<crate::services::ProxyOptions>,
    /// The authentication-certificate policy's client certificate for forward-request.
    pub backend_certificate: Option<std::sync::Arc<crate::services::ClientCertificate>>,
    /// `context.LastError` (set when on-error runs).
    pub last_error: Option<LastError>,
    /// `scheme://host[:port]` of the last backend forward-request called (for the log line).
    pub called_backend: Option<String>,
    pub variables: Variables<V>,
    pub trace: Trace,
}

impl<'a, V> RequestContext<'a, V> {
    /// The context of an admitted request.
    pub fn new(
        service: &'a ServiceDefinition,
        admission: Admission<'a>,
        started: Duration,
        tracing: bool,
    ) -> Self {
        Self::with_deployment(
            service,
            admission,
            started,
            tracing,
            Deployment::managed_shared(service),
        )
    }

    /// [`RequestContext::new`] with `context.Deployment` already built (a plan builds it once).
    pub fn with_deployment(
        service: &'a ServiceDefinition,
        admission: Admission<'a>,
        started: Duration,
        tracing: bool,
        deployment: std::sync::Arc<Deployment>,
    ) -> Self {
        let workspace = admission
            .route
            .api
            .workspace
            .as_deref()
            .and_then(|w| service.workspace(w));
        RequestContext {
            service,
            request_id: admission.request_id,
            timestamp: admission.timestamp,
            started,
            original_method: admission.request.method.clone(),
            request: admission.request,
            response: Response::default(),
            matched_parameters: admission.route.matched_parameters,
            api: Some(admission.route.api),
            operation: Some(admission.route.operation),
            product: admission.caller.product,
            subscription: admission.caller.subscription,
            subscription_key: admission.caller.key,
            user: admission.caller.user,
            workspace,
            deployment,
            backend_base: admission.backend_base,
            backend_id: admission.backend_id,
            backend: None,
            backend_from_policy: false,
            backend_proxy: None,
            backend_certificate: None,
            last_error: None,
            called_backend: None,
            variables: Variables::default(),
            trace: Trace::new(tracing),
        }
    }

    /// The context of a request stopped by a built-in step (404, 401), so on-error can run.
    /// Returns the context and the error to run on-error with.
    pub fn from_rejection(
        service: &'a ServiceDefinition,
        rejection: crate::admission::Rejection<'a>,
        started: Duration,
        tracing: bool,
    ) -> (Self, crate::errors::PipelineError) {
        let api = rejection.route.as_ref().map(|r| r.api).or(rejection.api);
        let workspace = api
            .and_then(|a| a.workspace.as_deref())
            .and_then(|w| service.workspace(w));
        let ctx = RequestContext {
            service,
            request_id: rejection.request_id,
            timestamp: rejection.timestamp,
            started,
            original_method: rejection.request.method.clone(),
            request: rejection.request,
            response: Response::default(),
            matched_parameters: rejection
                .route
                .as_ref()
                .map(|r| r.matched_parameters.clone())
                .unwrap_or_default(),
            api,
            operation: rejection.route.as_ref().map(|r| r.operation),
            product: None,
            subscription: None,
            subscription_key: None,
            user: None,
            workspace,
            deployment: Deployment::managed_shared(service),
            backend_base: None,
            backend_id: None,
            backend: None,
            backend_from_policy: false,
            backend_proxy: None,
            backend_certificate: None,
            last_error: None,
            called_backend: None,
            variables: Variables::default(),
            trace: Trace::new(tracing),
        };
        (ctx, rejection.error)
    }

    /// Adds a trace entry (no-op when tracing is off): `context.Trace(message)`, the `trace`
    /// policy, and the engine's own steps.
    pub fn record_trace(
        &mut self,
        clock: &dyn crate::services::Clock,
        section: crate::errors::Section,
        source: &str,
        data: Value,
    ) {
        if !self.trace.is_enabled() {
            return;
        }
        let elapsed = self.elapsed(clock.monotonic());
        let entry = crate::trace::TraceEntry {
            source: source.to_string(),
            timestamp: clock.now(),
            elapsed,
            data,
        };
        self.trace.record(section, entry);
    }

    /// `context.Elapsed` given the clock's current monotonic time.
    pub fn elapsed(&self, now: Duration) -> Duration {
        now.saturating_sub(self.started)
    }

    /// The message that set-header / set-body / find-and-replace target in `section`: the
    /// request in inbound and backend, the response in outbound and on-error.
    pub fn targets_request(section: crate::errors::Section) -> bool {
        matches!(
            section,
            crate::errors::Section::Inbound | crate::errors::Section::Backend
        )
    }

    /// Headers that set-header changes in `section`: the backend request in inbound and
    /// backend, the client response in outbound and on-error.
    pub fn target_headers_mut(&mut self, section: crate::errors::Section) -> &mut HeaderMap {
        if Self::targets_request(section) {
            &mut self.request.headers
        } else {
            &mut self.response.headers
        }
    }

    /// Body that set-body / find-and-replace / json-to-xml change in `section`.
    pub fn target_body_mut(&mut self, section: crate::errors::Section) -> &mut crate::http::Body {
        if Self::targets_request(section) {
            &mut self.request.body
        } else {
            &mut self.response.body
        }
    }

    /// `find-and-replace`: ordinal replacement of every occurrence in the section's body (which
    /// must be buffered first). An empty `from` or an absent body changes nothing.
    pub fn find_and_replace(
        &mut self,
        section: crate::errors::Section,
        from: &str,
        to: &str,
    ) -> Result<(), crate::http::BodyError> {
        let body = self.target_body_mut(section);
        if from.is_empty() || !body.is_present() {
            return Ok(());
        }
        let text = body.read_text(true)?;
        if text.contains(from) {
            body.set(text.replace(from, to));
        }
        Ok(())
    }

    /// The `context` object a Liquid template sees (expressions.md §9).
    pub fn liquid_context(&self) -> Value {
        let mut params = Map::new();
        for (n, v) in self.matched_parameters.iter() {
            params.insert(n.to_string(), Value::String(v.to_string()));
        }
        json!({
            "Request": {
                "Url": url_json(&self.request.url),
                "Method": self.request.method,
                "OriginalMethod": self.original_method,
                "OriginalUrl": url_json(&self.request.original_url),
                "IpAddress": self.request.ip_address,
                "MatchedParameters": Value::Object(params),
                "HasBody": self.request.body.is_present(),
                "ClientCertificates": [],
                "Headers": headers_json(&self.request.headers),
            },
            "Response": {
                "StatusCode": self.response.status,
                "Method": self.request.method,
                "Headers": headers_json(&self.response.headers),
            }
        })
    }
}

/// `IUrl` as a JSON object (Liquid): Scheme, Host, Port, Path, Query (joined values), QueryString.
pub fn url_json(u: &Url) -> Value {
    let mut q = Map::new();
    for (n, v) in u.query().iter() {
        q.insert(n.to_string(), Value::String(v.join(",")));
    }
    json!({
        "Scheme": u.scheme(),
        "Host": u.host(),
        "Port": u.port(),
        "Path": u.path(),
        "Query": Value::Object(q),
        "QueryString": u.query_string(),
        "ToString": u.to_string(),
        "ToUri": u.to_string(),
    })
}

/// Headers as a JSON object with comma-joined values.
pub fn headers_json(h: &HeaderMap) -> Value {
    let mut m = Map::new();
    for (n, v) in h.iter() {
        m.insert(n.to_string(), Value::String(v.join(",")));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::admit;
    use crate::service::Subscription;
    use crate::services::{Services, VirtualClock};

    #[test]
    fn variables_are_ordinal_and_overwrite() {
        let mut v: Variables<i32> = Variables::default();
        v.set("a", 1);
        v.set("A", 2);
        v.set("a", 3);
        assert_eq!((v.get("a"), v.get("A"), v.len()), (Some(&3), Some(&2), 2));
        assert_eq!(v.remove("a"), Some(3));
        assert!(!v.contains("a"));
    }

    #[test]
    fn context_from_admission_and_liquid_view() {
        let service = ServiceDefinition {
            service_name: "contoso".into(),
            apis: vec![Api {
                id: "echo".into(),
                path: "echo".into(),
                service_url: Some("https://backend.example.com/api".into()),
                operations: vec![Operation {
                    id: "get".into(),
                    method: "GET".into(),
                    url_template: "/items/{id}".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            subscriptions: vec![Subscription {
                id: "s".into(),
                primary_key: "k".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let (services, handles) = Services::for_tests(VirtualClock::at_default_start(), 5);
        let mut req = Request::new(
            "GET",
            Url::parse("https://gw.example.com/echo/items/42?x=1&x=2").unwrap(),
        );
        req.headers
            .set_one("Ocp-Apim-Subscription-Key", "k")
            .unwrap();
        req.headers.set_one("Accept", "application/json").unwrap();
        let adm = admit(
            &service,
            &crate::matching::Router::new(&service),
            None,
            req,
            &services,
        )
        .unwrap();
        let ctx: RequestContext<'_, ()> =
            RequestContext::new(&service, adm, services.clock.monotonic(), true);
        assert_eq!(ctx.subscription.unwrap().id, "s");
        assert_eq!(ctx.deployment.service_name, "contoso");
        handles.clock.advance(Duration::from_millis(250));
        assert_eq!(
            ctx.elapsed(services.clock.monotonic()),
            Duration::from_millis(250)
        );
        let l = ctx.liquid_context();
        assert_eq!(l["Request"]["Url"]["Path"], "/api/items/42");
        assert_eq!(l["Request"]["OriginalUrl"]["Host"], "gw.example.com");
        assert_eq!(l["Request"]["Url"]["Query"]["x"], "1,2");
        assert_eq!(l["Request"]["MatchedParameters"]["id"], "42");
        assert_eq!(l["Request"]["Headers"]["Accept"], "application/json");
        assert_eq!(l["Request"]["HasBody"], false);
        assert_eq!(l["Response"]["StatusCode"], 200);
        let rendered = crate::liquid::Template::parse(
            "{{context.Request.Method}} {{context.Request.OriginalUrl.Path}}",
        )
        .unwrap()
        .render(&crate::liquid::Bindings {
            body: None,
            context: l,
            now: None,
        })
        .unwrap();
        assert_eq!(rendered, "GET /echo/items/42");
    }

    #[test]
    fn section_targets_and_find_and_replace() {
        use crate::errors::Section;
        let service = ServiceDefinition {
            apis: vec![Api {
                id: "a".into(),
                path: "a".into(),
                subscription_required: false,
                operations: vec![Operation {
                    id: "o".into(),
                    method: "POST".into(),
                    url_template: "/".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 5);
        let mut req = Request::new("POST", Url::parse("https://gw/a/").unwrap());
        req.body = crate::http::Body::from("hello world, hello");
        let adm = admit(
            &service,
            &crate::matching::Router::new(&service),
            None,
            req,
            &services,
        )
        .unwrap();
        let mut ctx: RequestContext<'_, ()> =
            RequestContext::new(&service, adm, Duration::ZERO, false);
        ctx.find_and_replace(Section::Inbound, "hello", "bye")
            .unwrap();
        assert_eq!(ctx.request.body.read_text(true).unwrap(), "bye world, bye");
        ctx.find_and_replace(Section::Outbound, "x", "y").unwrap();
        assert!(
            !ctx.response.body.is_present(),
            "no response body yet: nothing to replace"
        );
        ctx.target_headers_mut(Section::Outbound)
            .set_one("X-Out", "1")
            .unwrap();
        ctx.target_headers_mut(Section::Backend)
            .set_one("X-In", "1")
            .unwrap();
        assert!(ctx.response.headers.contains("x-out") && ctx.request.headers.contains("x-in"));
    }

    #[test]
    fn rejected_request_keeps_the_matched_api() {
        let service = ServiceDefinition {
            apis: vec![Api {
                id: "echo".into(),
                path: "echo".into(),
                operations: vec![Operation {
                    id: "get".into(),
                    method: "GET".into(),
                    url_template: "/x".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let (services, _) = Services::for_tests(VirtualClock::at_default_start(), 5);
        let rej = admit(
            &service,
            &crate::matching::Router::new(&service),
            None,
            Request::new("GET", Url::parse("https://gw/echo/x").unwrap()),
            &services,
        )
        .unwrap_err();
        let (ctx, err): (RequestContext<'_, ()>, _) =
            RequestContext::from_rejection(&service, *rej, Duration::ZERO, false);
        assert_eq!(ctx.api.unwrap().id, "echo");
        assert_eq!(ctx.operation.unwrap().id, "get");
        assert_eq!(err.response.status, 401);
    }
}
