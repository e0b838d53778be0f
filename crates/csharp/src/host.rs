//! What the engine implements for expressions: the `context` object model and the environment
//! (clock, Guids, randomness). Member ids are resolved when an expression is compiled, so no
//! member name is looked up at run time.
use std::sync::Arc;

use apim_dotnet::{DateTime, Guid};

use crate::types::{Cls, Gen, Ty};
use crate::value::{Exception, Value};

/// Members of the APIM context interfaces (`IProxyRequestContext`, `IRequest`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostMember {
    // context
    Api,
    Backend,
    Deployment,
    Elapsed,
    LastError,
    Operation,
    Product,
    Request,
    RequestId,
    Response,
    Subscription,
    Timestamp,
    Tracing,
    User,
    Variables,
    Workspace,
    /// `context.Trace(message)` (method).
    Trace,
    // request / response / url / body
    Body,
    Headers,
    IpAddress,
    MatchedParameters,
    Method,
    OriginalUrl,
    Url,
    StatusCode,
    StatusReason,
    Scheme,
    Host,
    Port,
    Path,
    Query,
    QueryString,
    /// `IUrl.ToString()` (method).
    UrlToString,
    /// `IMessageBody.As<T>(preserveContent)` (method): args `[preserveContent]`, target in [`BodyTarget`].
    BodyAs(BodyTarget),
    // entities
    Id,
    Name,
    IsCurrentRevision,
    Revision,
    Version,
    Protocols,
    ServiceUrl,
    SubscriptionKeyParameterNames,
    UrlTemplate,
    ApprovalRequired,
    Groups,
    State,
    SubscriptionsLimit,
    SubscriptionRequired,
    CreatedDate,
    EndDate,
    Key,
    PrimaryKey,
    SecondaryKey,
    StartDate,
    Email,
    FirstName,
    LastName,
    Identities,
    Note,
    RegistrationDate,
    Provider,
    Region,
    ServiceName,
    ServiceId,
    GatewayId,
    Gateway,
    InstanceId,
    IsManaged,
    Source,
    Reason,
    Message,
    Scope,
    Section,
    PolicyId,
    Type,
    AzureRegion,
    Header,
    AccessToken,
    Claims,
}

/// The `T` of `Body.As<T>()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyTarget {
    String,
    Bytes,
    JObject,
    JArray,
    JToken,
    XDocument,
    XElement,
    /// `AsFormUrlEncodedContent()`: `IDictionary<string, IList<string>>`.
    FormUrlEncoded,
}

/// An object of the context model (`context`, `context.Request`, a stored `IResponse`...).
pub trait HostObject: Send + Sync {
    /// Which interface this object implements (for casts, `is` and `GetType()`).
    fn class(&self) -> Cls;
    /// A property.
    fn get(&self, member: HostMember) -> Result<Value, Exception>;
    /// A method (`Trace`, `Url.ToString()`, `Body.As<T>()`).
    fn call(&self, member: HostMember, args: &[Value]) -> Result<Value, Exception> {
        let _ = args;
        Err(Exception::new(
            crate::types::Exc::NotSupportedException,
            format!(
                "{:?} is not available on {}",
                member,
                crate::types::cls_name(self.class())
            ),
        ))
    }
}

/// A read-only dictionary of the context (`Variables`, `Headers`, `Query`, `MatchedParameters`,
/// `Jwt.Claims`). Header and query lookups are case-insensitive in the engine's implementation.
pub trait HostDictionary: Send + Sync {
    fn get(&self, key: &str) -> Option<Value>;
    fn keys(&self) -> Vec<Arc<str>>;
    fn count(&self) -> usize {
        self.keys().len()
    }
}

/// Time, identifiers and randomness for expressions: never the real clock or OS randomness.
pub trait Environment: Send + Sync {
    /// `DateTime.UtcNow` (Kind Utc). `DateTime.Now` is the same instant with Kind Local
    /// (APIM's gateway runs in UTC).
    fn utc_now(&self) -> DateTime;
    /// `Guid.NewGuid()`.
    fn new_guid(&self) -> Guid;
    /// The seed of `new Random()` (unseeded).
    fn random_seed(&self) -> i32;
}

/// A fixed environment (the `eval` command and tests).
#[derive(Debug, Clone)]
pub struct FixedEnvironment {
    pub now: DateTime,
    pub guid: Guid,
    pub seed: i32,
}

impl Environment for FixedEnvironment {
    fn utc_now(&self) -> DateTime {
        self.now
    }
    fn new_guid(&self) -> Guid {
        self.guid
    }
    fn random_seed(&self) -> i32 {
        self.seed
    }
}

fn s() -> Ty {
    Ty::String
}
fn n(c: Cls) -> Ty {
    Ty::Named(c)
}
fn dict(v: Ty) -> Ty {
    Ty::generic(Gen::IReadOnlyDictionary, vec![Ty::String, v])
}

/// The schema of the context interfaces: a property's member id and static type.
pub fn property(owner: Cls, name: &str) -> Option<(HostMember, Ty)> {
    use HostMember as M;
    let r = match (owner, name) {
        (Cls::Context, "Api") => (M::Api, n(Cls::Api)),
        (Cls::Context, "Backend") => (M::Backend, n(Cls::Backend)),
        (Cls::Context, "Deployment") => (M::Deployment, n(Cls::Deployment)),
        (Cls::Context, "Elapsed") => (M::Elapsed, n(Cls::TimeSpan)),
        (Cls::Context, "LastError") => (M::LastError, n(Cls::LastError)),
        (Cls::Context, "Operation") => (M::Operation, n(Cls::Operation)),
        (Cls::Context, "Product") => (M::Product, n(Cls::Product)),
        (Cls::Context, "Request") => (M::Request, n(Cls::Request)),
        (Cls::Context, "RequestId") => (M::RequestId, n(Cls::Guid)),
        (Cls::Context, "Response") => (M::Response, n(Cls::Response)),
        (Cls::Context, "Subscription") => (M::Subscription, n(Cls::Subscription)),
        (Cls::Context, "Timestamp") => (M::Timestamp, n(Cls::DateTime)),
        (Cls::Context, "Tracing") => (M::Tracing, Ty::Bool),
        (Cls::Context, "User") => (M::User, n(Cls::User)),
        (Cls::Context, "Variables") => (M::Variables, dict(Ty::Object)),
        (Cls::Context, "Workspace") => (M::Workspace, n(Cls::Workspace)),
        (Cls::Request, "Body") | (Cls::Response, "Body") => (M::Body, n(Cls::MessageBody)),
        (Cls::Request, "Headers") | (Cls::Response, "Headers") => {
            (M::Headers, dict(Ty::array(s())))
        }
        (Cls::Request, "IpAddress") => (M::IpAddress, s()),
        (Cls::Request, "MatchedParameters") => (M::MatchedParameters, dict(s())),
        (Cls::Request, "Method") => (M::Method, s()),
        (Cls::Request, "OriginalUrl") => (M::OriginalUrl, n(Cls::Url)),
        (Cls::Request, "Url") => (M::Url, n(Cls::Url)),
        (Cls::Response, "StatusCode") => (M::StatusCode, Ty::I32),
        (Cls::Response, "StatusReason") => (M::StatusReason, s()),
        (Cls::Url, "Scheme") => (M::Scheme, s()),
        (Cls::Url, "Host") => (M::Host, s()),
        (Cls::Url, "Port") => (M::Port, Ty::I32),
        (Cls::Url, "Path") => (M::Path, s()),
        (Cls::Url, "Query") => (M::Query, dict(Ty::array(s()))),
        (Cls::Url, "QueryString") => (M::QueryString, s()),
        (Cls::Api, "Id")
        | (Cls::Operation, "Id")
        | (Cls::Product, "Id")
        | (Cls::Subscription, "Id") => (M::Id, s()),
        (Cls::User, "Id")
        | (Cls::Group_, "Id")
        | (Cls::UserIdentity, "Id")
        | (Cls::Backend, "Id") => (M::Id, s()),
        (Cls::Workspace, "Id") | (Cls::Gateway, "Id") => (M::Id, s()),
        (Cls::Api, "Name")
        | (Cls::Operation, "Name")
        | (Cls::Product, "Name")
        | (Cls::Subscription, "Name") => (M::Name, s()),
        (Cls::Group_, "Name") | (Cls::Workspace, "Name") => (M::Name, s()),
        (Cls::Api, "Path") => (M::Path, s()),
        (Cls::Api, "Protocols") => (M::Protocols, Ty::enumerable(s())),
        (Cls::Api, "ServiceUrl") => (M::ServiceUrl, n(Cls::Url)),
        (Cls::Api, "SubscriptionKeyParameterNames") => (
            M::SubscriptionKeyParameterNames,
            n(Cls::SubscriptionKeyParameterNames),
        ),
        (Cls::Api, "IsCurrentRevision") => (M::IsCurrentRevision, Ty::Bool),
        (Cls::Api, "Revision") => (M::Revision, s()),
        (Cls::Api, "Version") => (M::Version, s()),
        (Cls::SubscriptionKeyParameterNames, "Header") => (M::Header, s()),
        (Cls::SubscriptionKeyParameterNames, "Query") => (M::Query, s()),
        (Cls::Operation, "Method") => (M::Method, s()),
        (Cls::Operation, "UrlTemplate") => (M::UrlTemplate, s()),
        (Cls::Product, "ApprovalRequired") => (M::ApprovalRequired, Ty::Bool),
        (Cls::Product, "Groups") | (Cls::User, "Groups") => {
            (M::Groups, Ty::enumerable(n(Cls::Group_)))
        }
        (Cls::Product, "State") => (M::State, n(Cls::ProductState)),
        (Cls::Product, "SubscriptionsLimit") => (M::SubscriptionsLimit, Ty::nullable(Ty::I32)),
        (Cls::Product, "SubscriptionRequired") => (M::SubscriptionRequired, Ty::Bool),
        (Cls::Subscription, "CreatedDate") => (M::CreatedDate, n(Cls::DateTime)),
        (Cls::Subscription, "EndDate") => (M::EndDate, Ty::nullable(n(Cls::DateTime))),
        (Cls::Subscription, "StartDate") => (M::StartDate, Ty::nullable(n(Cls::DateTime))),
        (Cls::Subscription, "Key") => (M::Key, s()),
        (Cls::Subscription, "PrimaryKey") => (M::PrimaryKey, s()),
        (Cls::Subscription, "SecondaryKey") => (M::SecondaryKey, s()),
        (Cls::User, "Email") => (M::Email, s()),
        (Cls::User, "FirstName") => (M::FirstName, s()),
        (Cls::User, "LastName") => (M::LastName, s()),
        (Cls::User, "Identities") => (M::Identities, Ty::enumerable(n(Cls::UserIdentity))),
        (Cls::User, "Note") => (M::Note, s()),
        (Cls::User, "RegistrationDate") => (M::RegistrationDate, n(Cls::DateTime)),
        (Cls::UserIdentity, "Provider") => (M::Provider, s()),
        (Cls::Deployment, "Region") => (M::Region, s()),
        (Cls::Deployment, "ServiceName") => (M::ServiceName, s()),
        (Cls::Deployment, "ServiceId") => (M::ServiceId, s()),
        (Cls::Deployment, "GatewayId") => (M::GatewayId, s()),
        (Cls::Deployment, "Gateway") => (M::Gateway, n(Cls::Gateway)),
        (Cls::Gateway, "InstanceId") => (M::InstanceId, s()),
        (Cls::Gateway, "IsManaged") => (M::IsManaged, Ty::Bool),
        (Cls::LastError, "Source") => (M::Source, s()),
        (Cls::LastError, "Reason") => (M::Reason, s()),
        (Cls::LastError, "Message") => (M::Message, s()),
        (Cls::LastError, "Scope") => (M::Scope, s()),
        (Cls::LastError, "Section") => (M::Section, s()),
        (Cls::LastError, "Path") => (M::Path, s()),
        (Cls::LastError, "PolicyId") => (M::PolicyId, s()),
        (Cls::Backend, "Type") => (M::Type, n(Cls::BackendType)),
        (Cls::Backend, "AzureRegion") => (M::AzureRegion, s()),
        (Cls::Authorization, "AccessToken") => (M::AccessToken, s()),
        (Cls::Authorization, "Claims") => (M::Claims, dict(Ty::Object)),
        _ => return None,
    };
    Some(r)
}

/// Member names of each context interface (for "did you mean" style messages and docs).
pub fn is_context_class(c: Cls) -> bool {
    matches!(
        c,
        Cls::Context
            | Cls::Request
            | Cls::Response
            | Cls::Url
            | Cls::MessageBody
            | Cls::Api
            | Cls::Operation
            | Cls::Product
            | Cls::Subscription
            | Cls::User
            | Cls::Group_
            | Cls::UserIdentity
            | Cls::Deployment
            | Cls::Gateway
            | Cls::LastError
            | Cls::Backend
            | Cls::Workspace
            | Cls::SubscriptionKeyParameterNames
            | Cls::Authorization
    )
}
