//! The `context` object of expressions over a [`RequestContext`] (expressions.md §4), and the
//! expression `Environment` over the engine's clock and randomness.
//!
//! `HostObject`s must be `'static`, while a `RequestContext` borrows the service definition, so
//! for one evaluation the parts expressions read are swapped into a shared [`Live`] cell and
//! swapped back afterwards. Nothing is copied: the cell of the last evaluation on this thread
//! is kept (with the placeholders the swaps leave in it) and used again when no host object of
//! that evaluation outlived it.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use apim_csharp::host::{BodyTarget, HostMember as M};
use apim_csharp::types::{Cls, Exc, Ty};
use apim_csharp::value::{Seq, SeqKind};
use apim_csharp::{Environment, Exception, HostObject, Value};
use apim_dotnet::{DateTime, DateTimeKind, Guid, TimeSpan};
use parking_lot::Mutex;

use crate::context::{Deployment, RequestContext, Variables};
use crate::errors::LastError;
use crate::http::{HeaderMap, Request, Response, Url};
use crate::matching::MatchedParameters;
use crate::service::ServiceDefinition;
use crate::services::Rng;

/// The state expressions can read (and consume, for bodies): the request's own, swapped in
/// from the context for one evaluation.
pub(crate) struct Live {
    pub request: Request,
    pub response: Response,
    pub variables: Variables<Value>,
    /// `context.Trace(message)` calls, recorded into the trace after the evaluation.
    pub traces: Vec<String>,
    pub info: Info,
}

/// The read-only facts of the request.
pub(crate) struct Info {
    pub service: Arc<ServiceDefinition>,
    pub request_id: String,
    pub timestamp: chrono::DateTime<chrono::Utc>,
    pub elapsed: Duration,
    pub tracing: bool,
    pub matched: MatchedParameters,
    pub api_id: Option<String>,
    pub operation_id: Option<String>,
    pub product_id: Option<String>,
    pub subscription_id: Option<String>,
    pub subscription_key: Option<String>,
    pub user_id: Option<String>,
    pub last_error: Option<LastError>,
    pub deployment: Arc<Deployment>,
    pub backend: Option<crate::backends::BackendInfo>,
    /// Id and name.
    pub workspace: Option<(String, String)>,
}

/// The shared cell of one evaluation and the `context` host object over it.
pub(crate) struct Cell {
    live: Arc<Mutex<Live>>,
    host: Arc<ContextHost>,
    /// `Value::Host(host)`, kept: evaluations borrow it (no reference count change each time).
    context: Value,
}

impl Cell {
    /// The `context` value expressions evaluate against.
    pub(crate) fn context(&self) -> &Value {
        &self.context
    }

    /// A host object of the evaluation outlived it (kept in a variable).
    fn leaked(&self) -> bool {
        let h = &self.host;
        // The cell, the context host and its three members hold `live` when nothing leaked;
        // the cell and its `context` value hold the host.
        Arc::strong_count(h) > 2
            || Arc::strong_count(&h.request) > 1
            || Arc::strong_count(&h.response) > 1
            || Arc::strong_count(&h.variables) > 1
            || Arc::strong_count(&self.live) > 5
    }
}

thread_local! {
    /// The cell of the last evaluation on this thread, when nothing else holds it (it keeps
    /// that evaluation's service alive until the next one).
    static SPARE: RefCell<Option<Cell>> = const { RefCell::new(None) };
}

fn new_cell(ctx: &RequestContext<'_, Value>, service: &Arc<ServiceDefinition>) -> Cell {
    let live = new_live(ctx, service);
    let host = Arc::new(ContextHost {
        live: live.clone(),
        request: Arc::new(MessageHost {
            live: live.clone(),
            request: true,
        }),
        response: Arc::new(MessageHost {
            live: live.clone(),
            request: false,
        }),
        variables: Arc::new(VariablesView { live: live.clone() }),
    });
    Cell {
        context: Value::Host(host.clone()),
        host,
        live,
    }
}

fn new_live(ctx: &RequestContext<'_, Value>, service: &Arc<ServiceDefinition>) -> Arc<Mutex<Live>> {
    Arc::new(Mutex::new(Live {
        request: Request::new("GET", ctx.request.original_url.clone()),
        response: Response::default(),
        variables: Variables::default(),
        traces: Vec::new(),
        info: Info {
            service: service.clone(),
            request_id: String::new(),
            timestamp: ctx.timestamp,
            elapsed: Duration::ZERO,
            tracing: false,
            matched: MatchedParameters::default(),
            api_id: None,
            operation_id: None,
            product_id: None,
            subscription_id: None,
            subscription_key: None,
            user_id: None,
            last_error: None,
            deployment: Arc::new(Deployment {
                gateway_id: String::new(),
                instance_id: String::new(),
                is_managed: false,
                region: String::new(),
                service_id: String::new(),
                service_name: String::new(),
            }),
            backend: None,
            workspace: None,
        },
    }))
}

/// `slot = id`, reusing the slot's buffer.
fn set_id(slot: &mut Option<String>, id: Option<&str>) {
    match (slot.as_mut(), id) {
        (Some(s), Some(id)) => {
            s.clear();
            s.push_str(id);
        }
        (None, Some(id)) => *slot = Some(id.to_string()),
        (_, None) => *slot = None,
    }
}

/// Swaps the parts of `ctx` expressions read into a `context` value; [`restore`] swaps them
/// back.
pub(crate) fn enter(
    ctx: &mut RequestContext<'_, Value>,
    service: &Arc<ServiceDefinition>,
    now_monotonic: Duration,
) -> Cell {
    let cell = SPARE
        .with(|s| s.borrow_mut().take())
        .unwrap_or_else(|| new_cell(ctx, service));
    {
        let mut g = cell.live.lock();
        let g = &mut *g;
        std::mem::swap(&mut g.request, &mut ctx.request);
        std::mem::swap(&mut g.response, &mut ctx.response);
        std::mem::swap(&mut g.variables, &mut ctx.variables);
        g.traces.clear();
        let i = &mut g.info;
        if !Arc::ptr_eq(&i.service, service) {
            i.service = service.clone();
        }
        std::mem::swap(&mut i.request_id, &mut ctx.request_id);
        i.timestamp = ctx.timestamp;
        i.elapsed = ctx.elapsed(now_monotonic);
        i.tracing = ctx.trace.is_enabled();
        std::mem::swap(&mut i.matched, &mut ctx.matched_parameters);
        set_id(&mut i.api_id, ctx.api.map(|a| a.id.as_str()));
        set_id(&mut i.operation_id, ctx.operation.map(|o| o.id.as_str()));
        set_id(&mut i.product_id, ctx.product.map(|p| p.id.as_str()));
        set_id(
            &mut i.subscription_id,
            ctx.subscription.map(|s| s.id.as_str()),
        );
        set_id(&mut i.user_id, ctx.user.map(|u| u.id.as_str()));
        std::mem::swap(&mut i.subscription_key, &mut ctx.subscription_key);
        std::mem::swap(&mut i.last_error, &mut ctx.last_error);
        std::mem::swap(&mut i.deployment, &mut ctx.deployment);
        std::mem::swap(&mut i.backend, &mut ctx.backend);
        i.workspace = ctx.workspace.map(|w| (w.id.clone(), w.name.clone()));
    }
    cell
}

/// Evaluates a program whose only uses of `context` are `context.Variables` (and, with
/// `response`, `context.Response`): just those are swapped into the cell (no trace messages
/// can come from it; the objects it can reach read nothing else of the cell).
pub(crate) fn evaluate_on_variables(
    program: &apim_csharp::Program,
    ctx: &mut RequestContext<'_, Value>,
    service: &Arc<ServiceDefinition>,
    environment: &dyn Environment,
    response: bool,
) -> Result<Value, apim_csharp::EvalError> {
    let cell = SPARE
        .with(|s| s.borrow_mut().take())
        .unwrap_or_else(|| new_cell(ctx, service));
    {
        let mut g = cell.live.lock();
        std::mem::swap(&mut g.variables, &mut ctx.variables);
        if response {
            std::mem::swap(&mut g.response, &mut ctx.response);
        }
    }
    let r = program.evaluate(cell.context(), environment);
    let leaked = cell.leaked();
    {
        let mut g = cell.live.lock();
        std::mem::swap(&mut g.variables, &mut ctx.variables);
        if response {
            std::mem::swap(&mut g.response, &mut ctx.response);
        }
        if leaked {
            g.variables.clone_from(&ctx.variables);
        }
    }
    if !leaked {
        SPARE.with(|s| *s.borrow_mut() = Some(cell));
    }
    r
}

/// Swaps the request, response, variables and facts back into `ctx`; returns the Trace()
/// messages.
pub(crate) fn restore(ctx: &mut RequestContext<'_, Value>, cell: Cell) -> Vec<String> {
    let leaked = cell.leaked();
    let traces = {
        let mut g = cell.live.lock();
        let g = &mut *g;
        std::mem::swap(&mut g.request, &mut ctx.request);
        std::mem::swap(&mut g.response, &mut ctx.response);
        std::mem::swap(&mut g.variables, &mut ctx.variables);
        let i = &mut g.info;
        std::mem::swap(&mut i.request_id, &mut ctx.request_id);
        std::mem::swap(&mut i.matched, &mut ctx.matched_parameters);
        std::mem::swap(&mut i.subscription_key, &mut ctx.subscription_key);
        std::mem::swap(&mut i.last_error, &mut ctx.last_error);
        std::mem::swap(&mut i.deployment, &mut ctx.deployment);
        std::mem::swap(&mut i.backend, &mut ctx.backend);
        if leaked {
            // A host object of this evaluation was kept (in a variable): it goes on seeing
            // the request's facts and variables, as they were.
            g.variables.clone_from(&ctx.variables);
            let i = &mut g.info;
            i.request_id.clone_from(&ctx.request_id);
            i.matched.clone_from(&ctx.matched_parameters);
            i.subscription_key.clone_from(&ctx.subscription_key);
            i.last_error.clone_from(&ctx.last_error);
            i.deployment.clone_from(&ctx.deployment);
            i.backend.clone_from(&ctx.backend);
        }
        std::mem::take(&mut g.traces)
    };
    if !leaked {
        SPARE.with(|s| *s.borrow_mut() = Some(cell));
    }
    traces
}

/// `DateTime` (Kind Utc) of a chrono instant.
pub(crate) fn dotnet_time(t: chrono::DateTime<chrono::Utc>) -> DateTime {
    let ticks = apim_dotnet::datetime::UNIX_EPOCH_TICKS
        .saturating_add(t.timestamp().saturating_mul(10_000_000))
        .saturating_add(i64::from(t.timestamp_subsec_nanos() / 100));
    DateTime::from_ticks(ticks, DateTimeKind::Utc).unwrap_or(DateTime::UNIX_EPOCH)
}

fn timespan(d: Duration) -> TimeSpan {
    TimeSpan::from_ticks(i64::try_from(d.as_nanos() / 100).unwrap_or(i64::MAX))
}

/// The expression environment: the engine clock and seeded randomness.
pub(crate) struct EngineEnvironment<'a> {
    /// Read only when an expression asks for the time (`DateTime.UtcNow`).
    pub clock: &'a dyn crate::services::Clock,
    pub rng: &'a Rng,
}

impl Environment for EngineEnvironment<'_> {
    fn utc_now(&self) -> DateTime {
        dotnet_time(self.clock.now())
    }
    fn new_guid(&self) -> Guid {
        Guid::from_bytes(self.rng.guid_v4())
    }
    fn random_seed(&self) -> i32 {
        self.rng.dotnet_seed()
    }
}

fn s(v: &str) -> Value {
    Value::str(v)
}

fn opt_s(v: Option<&str>) -> Value {
    v.map(Value::str).unwrap_or(Value::Null)
}

fn string_array(items: &[String]) -> Value {
    Value::Array(Seq::new(
        SeqKind::Array,
        Ty::String,
        items.iter().map(|i| Value::str(i)).collect(),
    ))
}

/// A case-insensitive or ordinal dictionary snapshot (the csharp crate's host dictionary).
fn dict(entries: Vec<(String, Value)>, ignore_case: bool) -> Value {
    apim_csharp::json_context::dictionary(entries, ignore_case)
}

fn headers_dict(h: &HeaderMap) -> Value {
    dict(
        h.iter()
            .map(|(n, v)| (n.to_string(), string_array(v)))
            .collect(),
        true,
    )
}

/// An object with fixed properties (entities, URLs, LastError, Deployment).
struct Props {
    class: Cls,
    props: Vec<(M, Value)>,
}

impl HostObject for Props {
    fn class(&self) -> Cls {
        self.class
    }
    fn get(&self, member: M) -> Result<Value, Exception> {
        Ok(self
            .props
            .iter()
            .find(|(m, _)| *m == member)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null))
    }
    fn call(&self, member: M, _args: &[Value]) -> Result<Value, Exception> {
        match member {
            M::UrlToString => self.get(M::UrlToString),
            other => Err(not_supported(other, self.class)),
        }
    }
}

fn obj(class: Cls, props: Vec<(M, Value)>) -> Value {
    Value::Host(Arc::new(Props { class, props }))
}

fn not_supported(member: M, class: Cls) -> Exception {
    Exception::new(
        Exc::NotSupportedException,
        format!(
            "{member:?} is not supported on {}",
            apim_csharp::types::cls_name(class)
        ),
    )
}

fn url_value(u: &Url) -> Value {
    obj(
        Cls::Url,
        vec![
            (M::Scheme, s(u.scheme())),
            (M::Host, s(u.host())),
            (M::Port, Value::I32(i32::from(u.port()))),
            (M::Path, s(u.path())),
            (
                M::Query,
                dict(
                    u.query()
                        .iter()
                        .map(|(n, v)| (n.to_string(), string_array(v)))
                        .collect(),
                    true,
                ),
            ),
            (M::QueryString, s(&u.query_string())),
            (M::UrlToString, s(&u.to_string())),
        ],
    )
}

struct ContextHost {
    live: Arc<Mutex<Live>>,
    /// `context.Request`, `context.Response` and `context.Variables`, made once per cell.
    request: Arc<MessageHost>,
    response: Arc<MessageHost>,
    variables: Arc<VariablesView>,
}

impl Info {
    fn api(&self) -> Value {
        let Some(api) = self.api_id.as_deref().and_then(|id| self.service.api(id)) else {
            return Value::Null;
        };
        let service_url = api
            .service_url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
            .map(|u| url_value(&u))
            .unwrap_or(Value::Null);
        obj(
            Cls::Api,
            vec![
                (M::Id, s(&api.id)),
                (M::Name, s(&api.name)),
                (M::Path, s(&api.path)),
                (M::ServiceUrl, service_url),
                (M::IsCurrentRevision, Value::Bool(api.is_current_revision)),
                (M::Revision, s(&api.revision)),
                (M::Version, opt_s(api.version.as_deref())),
                (
                    M::SubscriptionKeyParameterNames,
                    obj(
                        Cls::SubscriptionKeyParameterNames,
                        vec![
                            (M::Header, s(&api.subscription_key_parameter_names.header)),
                            (M::Query, s(&api.subscription_key_parameter_names.query)),
                        ],
                    ),
                ),
            ],
        )
    }

    fn operation(&self) -> Value {
        let op = self
            .api_id
            .as_deref()
            .and_then(|id| self.service.api(id))
            .and_then(|a| {
                a.operations
                    .iter()
                    .find(|o| Some(o.id.as_str()) == self.operation_id.as_deref())
            });
        match op {
            Some(o) => obj(
                Cls::Operation,
                vec![
                    (M::Id, s(&o.id)),
                    (M::Name, s(&o.name)),
                    (M::Method, s(&o.method)),
                    (M::UrlTemplate, s(&o.url_template)),
                ],
            ),
            None => Value::Null,
        }
    }

    fn product(&self) -> Value {
        match self
            .product_id
            .as_deref()
            .and_then(|id| self.service.product(id))
        {
            Some(p) => obj(
                Cls::Product,
                vec![
                    (M::Id, s(&p.id)),
                    (M::Name, s(&p.name)),
                    (M::ApprovalRequired, Value::Bool(p.approval_required)),
                    (
                        M::SubscriptionRequired,
                        Value::Bool(p.subscription_required),
                    ),
                    (
                        M::SubscriptionsLimit,
                        p.subscriptions_limit.map(Value::I32).unwrap_or(Value::Null),
                    ),
                ],
            ),
            None => Value::Null,
        }
    }

    fn subscription(&self) -> Value {
        let Some(sub) = self
            .subscription_id
            .as_deref()
            .and_then(|id| self.service.subscriptions.iter().find(|s| s.id == id))
        else {
            return Value::Null;
        };
        obj(
            Cls::Subscription,
            vec![
                (M::Id, s(&sub.id)),
                (M::Name, s(&sub.name)),
                (M::Key, opt_s(self.subscription_key.as_deref())),
                (M::PrimaryKey, s(&sub.primary_key)),
                (M::SecondaryKey, s(&sub.secondary_key)),
                (
                    M::CreatedDate,
                    Value::DateTime(dotnet_time(sub.created_date)),
                ),
                (
                    M::StartDate,
                    sub.start_date
                        .map(|d| Value::DateTime(dotnet_time(d)))
                        .unwrap_or(Value::Null),
                ),
                (
                    M::EndDate,
                    sub.end_date
                        .map(|d| Value::DateTime(dotnet_time(d)))
                        .unwrap_or(Value::Null),
                ),
            ],
        )
    }

    fn user(&self) -> Value {
        let Some(u) = self.user_id.as_deref().and_then(|id| self.service.user(id)) else {
            return Value::Null;
        };
        obj(
            Cls::User,
            vec![
                (M::Id, s(&u.id)),
                (M::Email, s(&u.email)),
                (M::FirstName, s(&u.first_name)),
                (M::LastName, s(&u.last_name)),
                (M::Note, opt_s(u.note.as_deref())),
                (
                    M::RegistrationDate,
                    Value::DateTime(dotnet_time(u.registration_date)),
                ),
            ],
        )
    }

    fn last_error(&self) -> Value {
        match &self.last_error {
            Some(e) => obj(
                Cls::LastError,
                vec![
                    (M::Source, s(&e.source)),
                    (M::Reason, s(&e.reason)),
                    (M::Message, s(&e.message)),
                    (M::Scope, s(&e.scope)),
                    (M::Section, s(&e.section)),
                    (M::Path, s(&e.path)),
                    (M::PolicyId, opt_s(e.policy_id.as_deref())),
                ],
            ),
            None => Value::Null,
        }
    }

    fn deployment(&self) -> Value {
        let d = &self.deployment;
        obj(
            Cls::Deployment,
            vec![
                (M::Region, s(&d.region)),
                (M::ServiceName, s(&d.service_name)),
                (M::ServiceId, s(&d.service_id)),
                (M::GatewayId, s(&d.gateway_id)),
                (
                    M::Gateway,
                    obj(
                        Cls::Gateway,
                        vec![
                            (M::Id, s(&d.gateway_id)),
                            (M::InstanceId, s(&d.instance_id)),
                            (M::IsManaged, Value::Bool(d.is_managed)),
                        ],
                    ),
                ),
            ],
        )
    }
}

impl HostObject for ContextHost {
    fn class(&self) -> Cls {
        Cls::Context
    }
    fn get(&self, member: M) -> Result<Value, Exception> {
        Ok(match member {
            M::Request => Value::Host(self.request.clone()),
            M::Response => Value::Host(self.response.clone()),
            M::Variables => Value::HostDict(self.variables.clone()),
            _ => {
                let g = self.live.lock();
                return context_member(&g.info, member);
            }
        })
    }
    fn call(&self, member: M, args: &[Value]) -> Result<Value, Exception> {
        match member {
            M::Trace => {
                let text = args
                    .first()
                    .map(apim_csharp::render::net_string)
                    .unwrap_or_default();
                self.live.lock().traces.push(text);
                Ok(Value::Null)
            }
            other => Err(not_supported(other, Cls::Context)),
        }
    }
}

/// `context.Variables`: read in place (names ordinal), not copied per access.
struct VariablesView {
    live: Arc<Mutex<Live>>,
}

impl apim_csharp::HostDictionary for VariablesView {
    fn get(&self, key: &str) -> Option<Value> {
        self.live.lock().variables.get(key).cloned()
    }
    fn keys(&self) -> Vec<Arc<str>> {
        self.live
            .lock()
            .variables
            .iter()
            .map(|(n, _)| Arc::from(n))
            .collect()
    }
    fn count(&self) -> usize {
        self.live.lock().variables.len()
    }
}

/// The members of `context` that read the request's facts.
fn context_member(info: &Info, member: M) -> Result<Value, Exception> {
    Ok(match member {
        M::RequestId => match Guid::parse(&info.request_id) {
            Ok(g) => Value::Guid(g),
            Err(_) => Value::Null,
        },
        M::Timestamp => Value::DateTime(dotnet_time(info.timestamp)),
        M::Elapsed => Value::TimeSpan(timespan(info.elapsed)),
        M::Tracing => Value::Bool(info.tracing),
        M::Api => info.api(),
        M::Operation => info.operation(),
        M::Product => info.product(),
        M::Subscription => info.subscription(),
        M::User => info.user(),
        M::LastError => info.last_error(),
        M::Deployment => info.deployment(),
        M::Backend => match &info.backend {
            Some(b) => obj(
                Cls::Backend,
                vec![
                    (M::Id, s(&b.id)),
                    (
                        M::Type,
                        Value::Enum(
                            Cls::BackendType,
                            match b.backend_type {
                                crate::service::BackendType::Single => 0,
                                crate::service::BackendType::Pool => 1,
                            },
                        ),
                    ),
                    (M::AzureRegion, opt_s(b.azure_region.as_deref())),
                ],
            ),
            None => Value::Null,
        },
        M::Workspace => match &info.workspace {
            Some((id, name)) => obj(Cls::Workspace, vec![(M::Id, s(id)), (M::Name, s(name))]),
            None => Value::Null,
        },
        other => return Err(not_supported(other, Cls::Context)),
    })
}

/// `context.Request` or `context.Response`.
struct MessageHost {
    live: Arc<Mutex<Live>>,
    request: bool,
}

impl HostObject for MessageHost {
    fn class(&self) -> Cls {
        if self.request {
            Cls::Request
        } else {
            Cls::Response
        }
    }
    fn get(&self, member: M) -> Result<Value, Exception> {
        let g = self.live.lock();
        Ok(match (self.request, member) {
            (true, M::Method) => s(&g.request.method),
            (true, M::Url) => url_value(&g.request.url),
            (true, M::OriginalUrl) => url_value(&g.request.original_url),
            (true, M::IpAddress) => s(&g.request.ip_address),
            (true, M::MatchedParameters) => dict(
                g.info
                    .matched
                    .iter()
                    .map(|(n, v)| (n.to_string(), Value::str(v)))
                    .collect(),
                true,
            ),
            (true, M::Headers) => headers_dict(&g.request.headers),
            (false, M::Headers) => headers_dict(&g.response.headers),
            (false, M::StatusCode) => Value::I32(i32::from(g.response.status)),
            (false, M::StatusReason) => s(&g.response.reason),
            (_, M::Body) => {
                let present = if self.request {
                    g.request.body.is_present()
                } else {
                    g.response.body.is_present()
                };
                if present {
                    Value::Host(Arc::new(BodyHost {
                        live: self.live.clone(),
                        request: self.request,
                    }))
                } else {
                    Value::Null
                }
            }
            (_, other) => return Err(not_supported(other, self.class())),
        })
    }
}

/// `IMessageBody`: `As<T>(preserveContent)` consumes the body unless asked to preserve it.
struct BodyHost {
    live: Arc<Mutex<Live>>,
    request: bool,
}

impl HostObject for BodyHost {
    fn class(&self) -> Cls {
        Cls::MessageBody
    }
    fn get(&self, member: M) -> Result<Value, Exception> {
        Err(not_supported(member, Cls::MessageBody))
    }
    fn call(&self, member: M, args: &[Value]) -> Result<Value, Exception> {
        let M::BodyAs(target) = member else {
            return Err(not_supported(member, Cls::MessageBody));
        };
        let preserve = matches!(args.first(), Some(Value::Bool(true)));
        let text = {
            let mut g = self.live.lock();
            let body = if self.request {
                &mut g.request.body
            } else {
                &mut g.response.body
            };
            body.read_text(preserve)
                .map_err(|e| Exception::new(Exc::InvalidOperationException, e.to_string()))?
        };
        if target == BodyTarget::String {
            return Ok(Value::str(&text));
        }
        apim_csharp::json_context::body_as(&text, target)
    }
}

/// A response kept in a variable (`send-request response-variable-name`): an `IResponse`.
pub(crate) fn response_value(resp: Response) -> Value {
    Value::Host(Arc::new(StoredResponse {
        status: resp.status,
        reason: resp.reason,
        headers: resp.headers,
        body: Arc::new(Mutex::new(resp.body)),
    }))
}

struct StoredResponse {
    status: u16,
    reason: String,
    headers: HeaderMap,
    body: Arc<Mutex<crate::http::Body>>,
}

impl HostObject for StoredResponse {
    fn class(&self) -> Cls {
        Cls::Response
    }
    fn get(&self, member: M) -> Result<Value, Exception> {
        Ok(match member {
            M::StatusCode => Value::I32(i32::from(self.status)),
            M::StatusReason => s(&self.reason),
            M::Headers => headers_dict(&self.headers),
            M::Body => {
                if self.body.lock().is_present() {
                    Value::Host(Arc::new(StoredBody {
                        body: self.body.clone(),
                    }))
                } else {
                    Value::Null
                }
            }
            other => return Err(not_supported(other, Cls::Response)),
        })
    }
}

struct StoredBody {
    body: Arc<Mutex<crate::http::Body>>,
}

impl HostObject for StoredBody {
    fn class(&self) -> Cls {
        Cls::MessageBody
    }
    fn get(&self, member: M) -> Result<Value, Exception> {
        Err(not_supported(member, Cls::MessageBody))
    }
    fn call(&self, member: M, args: &[Value]) -> Result<Value, Exception> {
        let M::BodyAs(target) = member else {
            return Err(not_supported(member, Cls::MessageBody));
        };
        let preserve = matches!(args.first(), Some(Value::Bool(true)));
        let text = self
            .body
            .lock()
            .read_text(preserve)
            .map_err(|e| Exception::new(Exc::InvalidOperationException, e.to_string()))?;
        if target == BodyTarget::String {
            return Ok(Value::str(&text));
        }
        apim_csharp::json_context::body_as(&text, target)
    }
}

/// A response kept in a variable, as a [`Response`] (`return-response response-variable-name`).
/// Read through the `IResponse` members, so it works for any response object; the body is read
/// with preserveContent.
pub(crate) fn response_from_value(h: &dyn HostObject) -> Option<Response> {
    if h.class() != Cls::Response {
        return None;
    }
    let status = match h.get(M::StatusCode).ok()? {
        Value::I32(n) => u16::try_from(n).ok()?,
        _ => return None,
    };
    let mut r = Response::new(status);
    if let Ok(Value::Str(reason)) = h.get(M::StatusReason) {
        r.reason = reason.to_string();
    }
    if let Ok(Value::HostDict(d)) = h.get(M::Headers) {
        for k in d.keys() {
            let values: Vec<String> = match d.get(&k) {
                Some(Value::Array(seq)) => seq
                    .items
                    .read()
                    .iter()
                    .map(apim_csharp::render::net_string)
                    .collect(),
                Some(v) => vec![apim_csharp::render::net_string(&v)],
                None => continue,
            };
            let _ = r.headers.set(&k, values);
        }
    }
    if let Ok(Value::Host(b)) = h.get(M::Body)
        && let Ok(Value::Str(text)) = b.call(M::BodyAs(BodyTarget::String), &[Value::Bool(true)])
    {
        r.body.set(text.as_bytes().to_vec());
    }
    Some(r)
}

/// cache-store-value keeps the value's type: a tag byte, then the text.
pub(crate) fn encode_cached(v: &Value) -> Vec<u8> {
    use std::io::Write;
    // Integers (counters) are written straight into the buffer.
    let mut out = Vec::with_capacity(12);
    match v {
        Value::I32(n) => {
            let _ = write!(out, "i{n}");
            return out;
        }
        Value::I64(n) => {
            let _ = write!(out, "l{n}");
            return out;
        }
        _ => {}
    }
    let (tag, text) = match v {
        Value::Str(s) => (b's', s.to_string()),
        Value::Bool(b) => (b'b', b.to_string()),
        Value::I32(n) => (b'i', n.to_string()),
        Value::I64(n) => (b'l', n.to_string()),
        Value::F64(n) => (b'd', format!("{n:?}")),
        Value::Json(j) => (b'j', j.to_string_formatting(apim_dotnet::Formatting::None)),
        Value::Null => (b'n', String::new()),
        other => (b's', apim_csharp::render::net_string(other)),
    };
    out.push(tag);
    out.extend_from_slice(text.as_bytes());
    out
}

/// The value [`encode_cached`] stored.
pub(crate) fn decode_cached(bytes: &[u8]) -> Value {
    let (tag, rest) = match bytes.split_first() {
        Some((t, r)) => (*t, String::from_utf8_lossy(r)),
        None => return Value::Null,
    };
    match tag {
        b'b' => Value::Bool(rest == "true"),
        b'i' => rest.parse().map(Value::I32).unwrap_or(Value::Null),
        b'l' => rest.parse().map(Value::I64).unwrap_or(Value::Null),
        b'd' => rest.parse().map(Value::F64).unwrap_or(Value::Null),
        b'j' => apim_dotnet::JToken::parse(&rest)
            .map(Value::Json)
            .unwrap_or(Value::Null),
        b'n' => Value::Null,
        _ => Value::str(&rest),
    }
}
