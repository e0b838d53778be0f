//! `ServiceDefinition`: the in-memory description of one APIM instance (APIs, operations,
//! products, subscriptions, users, named values, fragments, backends) that the engine compiles.
//! Plain data, built by `crates/gateway` from configuration files and by `crates/testkit` in tests.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Policy document text and where it came from (for diagnostics). Read by `crates/policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicySource {
    pub text: String,
    pub origin: PolicyOrigin,
}

impl PolicySource {
    pub fn inline(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            origin: PolicyOrigin::Name(name.into()),
        }
    }
    pub fn file(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            origin: PolicyOrigin::File(path.into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicyOrigin {
    File(PathBuf),
    Name(String),
}

impl fmt::Display for PolicyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyOrigin::File(p) => write!(f, "{}", p.display()),
            PolicyOrigin::Name(n) => f.write_str(n),
        }
    }
}

/// One APIM instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceDefinition {
    /// `context.Deployment.ServiceName`.
    pub service_name: String,
    /// `context.Deployment.Region`.
    pub region: String,
    /// Global (all APIs) policy. `None` = APIM's default (`<backend><forward-request/></backend>`).
    pub global_policy: Option<PolicySource>,
    pub workspaces: Vec<Workspace>,
    pub products: Vec<Product>,
    pub apis: Vec<Api>,
    pub subscriptions: Vec<Subscription>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub named_values: Vec<NamedValue>,
    pub policy_fragments: Vec<PolicyFragment>,
    pub backends: Vec<Backend>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub policy: Option<PolicySource>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProductState {
    NotPublished,
    #[default]
    Published,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub description: String,
    pub state: ProductState,
    pub subscription_required: bool,
    pub approval_required: bool,
    pub subscriptions_limit: Option<i32>,
    /// Ids of the APIs in this product.
    pub apis: Vec<String>,
    /// Ids of the groups that can see this product.
    pub groups: Vec<String>,
    pub workspace: Option<String>,
    pub policy: Option<PolicySource>,
}

impl Default for Product {
    fn default() -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            description: String::new(),
            state: ProductState::Published,
            subscription_required: true,
            approval_required: false,
            subscriptions_limit: None,
            apis: Vec::new(),
            groups: Vec::new(),
            workspace: None,
            policy: None,
        }
    }
}

/// `IApi.SubscriptionKeyParameterNames`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionKeyParameterNames {
    pub header: String,
    pub query: String,
}

impl Default for SubscriptionKeyParameterNames {
    fn default() -> Self {
        Self {
            header: "Ocp-Apim-Subscription-Key".into(),
            query: "subscription-key".into(),
        }
    }
}

/// How the version of a versioned API is carried by the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "scheme")]
pub enum VersioningScheme {
    /// `/{api path}/{version}/...`
    Segment,
    /// `?{name}={version}`
    Query { name: String },
    /// `{name}: {version}`
    Header { name: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Api {
    pub id: String,
    pub name: String,
    /// API URL suffix (`IApi.Path`), without leading or trailing `/`; may be empty.
    pub path: String,
    /// Backend base URL (`IApi.ServiceUrl`); `None` when policies always set the backend.
    pub service_url: Option<String>,
    pub protocols: Vec<String>,
    pub subscription_required: bool,
    pub subscription_key_parameter_names: SubscriptionKeyParameterNames,
    pub revision: String,
    pub is_current_revision: bool,
    pub version: Option<String>,
    pub versioning_scheme: Option<VersioningScheme>,
    pub workspace: Option<String>,
    pub policy: Option<PolicySource>,
    pub operations: Vec<Operation>,
}

impl Default for Api {
    fn default() -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            path: String::new(),
            service_url: None,
            protocols: vec!["https".into()],
            subscription_required: true,
            subscription_key_parameter_names: SubscriptionKeyParameterNames::default(),
            revision: "1".into(),
            is_current_revision: true,
            version: None,
            versioning_scheme: None,
            workspace: None,
            policy: None,
            operations: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Operation {
    pub id: String,
    pub name: String,
    /// HTTP method, or `*` for any method.
    pub method: String,
    /// URL template, e.g. `/deployments/{deployment-id}/chat/completions?api-version={v}`.
    pub url_template: String,
    pub policy: Option<PolicySource>,
    /// Declared responses (for mock-response).
    pub responses: Vec<OperationResponse>,
}

/// A response an operation declares (OpenAPI import or configuration).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OperationResponse {
    pub status_code: u16,
    pub description: String,
    pub representations: Vec<Representation>,
}

/// One content type of a declared response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Representation {
    pub content_type: String,
    /// The example; a JSON string is used as raw text (XML, plain text).
    pub example: Option<serde_json::Value>,
    /// Named examples, in declaration order.
    pub examples: Vec<NamedExample>,
    /// JSON Schema used to generate a sample when there is no example.
    pub schema: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NamedExample {
    pub name: String,
    pub value: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", content = "id")]
pub enum SubscriptionScope {
    Product(String),
    Api(String),
    AllApis,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SubscriptionState {
    #[default]
    Active,
    Suspended,
    Submitted,
    Rejected,
    Cancelled,
    Expired,
}

fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Subscription {
    pub id: String,
    pub name: String,
    pub primary_key: String,
    pub secondary_key: String,
    pub scope: SubscriptionScope,
    pub state: SubscriptionState,
    pub user_id: Option<String>,
    pub created_date: DateTime<Utc>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub allow_tracing: bool,
}

impl Default for Subscription {
    fn default() -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            primary_key: String::new(),
            secondary_key: String::new(),
            scope: SubscriptionScope::AllApis,
            state: SubscriptionState::Active,
            user_id: None,
            created_date: epoch(),
            start_date: None,
            end_date: None,
            allow_tracing: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct User {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub note: Option<String>,
    pub registration_date: DateTime<Utc>,
    /// Group ids.
    pub groups: Vec<String>,
    pub identities: Vec<UserIdentity>,
}

impl Default for User {
    fn default() -> Self {
        Self {
            id: String::new(),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            note: None,
            registration_date: epoch(),
            groups: Vec::new(),
            identities: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserIdentity {
    pub id: String,
    pub provider: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Group {
    pub id: String,
    pub name: String,
}

/// `{{name}}` value. The value may itself hold a policy expression (`@(...)`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NamedValue {
    pub name: String,
    pub value: String,
    pub secret: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyFragment {
    pub id: String,
    pub source: PolicySource,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackendType {
    #[default]
    Single,
    Pool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Backend {
    pub id: String,
    #[serde(rename = "type")]
    pub backend_type: BackendType,
    /// Runtime URL (Single backends).
    pub url: Option<String>,
    /// `http` or `soap`.
    pub protocol: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub resource_id: Option<String>,
    pub credentials: BackendCredentials,
    pub tls: BackendTls,
    pub circuit_breaker: Option<CircuitBreaker>,
    pub pool: Option<BackendPool>,
    /// `context.Backend.AzureRegion`.
    pub azure_region: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackendCredentials {
    pub header: BTreeMap<String, Vec<String>>,
    pub query: BTreeMap<String, Vec<String>>,
    pub authorization: Option<BackendAuthorization>,
    pub certificate_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackendAuthorization {
    pub scheme: String,
    pub parameter: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackendTls {
    pub validate_certificate_chain: bool,
    pub validate_certificate_name: bool,
}

impl Default for BackendTls {
    fn default() -> Self {
        Self {
            validate_certificate_chain: true,
            validate_certificate_name: true,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CircuitBreaker {
    pub rules: Vec<CircuitBreakerRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CircuitBreakerRule {
    pub name: String,
    pub failure_condition: FailureCondition,
    pub trip_duration: IsoDuration,
    pub accept_retry_after: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FailureCondition {
    pub count: Option<u32>,
    pub percentage: Option<u32>,
    pub interval: IsoDuration,
    pub status_code_ranges: Vec<StatusCodeRange>,
    pub error_reasons: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCodeRange {
    pub min: u16,
    pub max: u16,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackendPool {
    pub services: Vec<PoolMember>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PoolMember {
    /// Backend name, or its full ARM id (`.../backends/<name>`).
    pub id: String,
    pub priority: Option<u32>,
    pub weight: Option<u32>,
}

impl PoolMember {
    /// The backend name this member refers to (last segment of an ARM id).
    pub fn backend_id(&self) -> &str {
        match self.id.rfind("/backends/") {
            Some(i) => &self.id[i + "/backends/".len()..],
            None => &self.id,
        }
    }
}

/// An ISO-8601 duration (`PT1H`, `PT30S`, `P1DT2H`, `PT0.5S`) as ARM writes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct IsoDuration(pub Duration);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ISO-8601 duration '{0}'")]
pub struct IsoDurationError(pub String);

impl IsoDuration {
    pub fn parse(s: &str) -> Result<Self, IsoDurationError> {
        let err = || IsoDurationError(s.to_string());
        let rest = s.trim().strip_prefix(['P', 'p']).ok_or_else(err)?;
        if rest.is_empty() {
            return Err(err());
        }
        let mut secs = 0f64;
        let mut in_time = false;
        let mut num = String::new();
        let mut any = false;
        for c in rest.chars() {
            match c {
                'T' | 't' if !in_time && num.is_empty() => in_time = true,
                '0'..='9' | '.' | ',' => num.push(if c == ',' { '.' } else { c }),
                _ => {
                    let v: f64 = num.parse().map_err(|_| err())?;
                    num.clear();
                    let unit = match (c.to_ascii_uppercase(), in_time) {
                        ('W', false) => 7.0 * 86400.0,
                        ('D', false) => 86400.0,
                        ('H', true) => 3600.0,
                        ('M', true) => 60.0,
                        ('S', true) => 1.0,
                        _ => return Err(err()),
                    };
                    secs += v * unit;
                    any = true;
                }
            }
        }
        if !num.is_empty() || !any || !secs.is_finite() || secs > 1e12 {
            return Err(err());
        }
        Ok(IsoDuration(Duration::from_secs_f64(secs)))
    }
}

impl fmt::Display for IsoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.0.as_secs();
        let nanos = self.0.subsec_nanos();
        let (d, h, m, s) = (
            total / 86400,
            total / 3600 % 24,
            total / 60 % 60,
            total % 60,
        );
        f.write_str("P")?;
        if d > 0 {
            write!(f, "{d}D")?;
        }
        if h == 0 && m == 0 && s == 0 && nanos == 0 {
            if d == 0 {
                f.write_str("T0S")?;
            }
            return Ok(());
        }
        f.write_str("T")?;
        if h > 0 {
            write!(f, "{h}H")?;
        }
        if m > 0 {
            write!(f, "{m}M")?;
        }
        if s > 0 || nanos > 0 {
            if nanos > 0 {
                let frac = format!("{:09}", nanos);
                write!(f, "{s}.{}S", frac.trim_end_matches('0'))?;
            } else {
                write!(f, "{s}S")?;
            }
        }
        Ok(())
    }
}

impl Serialize for IsoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IsoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        IsoDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A consistency problem in a `ServiceDefinition`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("duplicate {kind} id '{id}'")]
    Duplicate { kind: &'static str, id: String },
    #[error("{owner} refers to unknown {kind} '{id}'")]
    UnknownReference {
        owner: String,
        kind: &'static str,
        id: String,
    },
    #[error("backend '{backend}': {message}")]
    InvalidBackend { backend: String, message: String },
    #[error("api '{api}': {message}")]
    InvalidApi { api: String, message: String },
}

impl ServiceDefinition {
    pub fn api(&self, id: &str) -> Option<&Api> {
        self.apis.iter().find(|a| a.id == id)
    }
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }
    pub fn backend(&self, id: &str) -> Option<&Backend> {
        self.backends.iter().find(|b| b.id == id)
    }
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }
    pub fn workspace(&self, id: &str) -> Option<&Workspace> {
        self.workspaces.iter().find(|w| w.id == id)
    }
    pub fn fragment(&self, id: &str) -> Option<&PolicyFragment> {
        self.policy_fragments.iter().find(|f| f.id == id)
    }
    /// Named values are looked up by exact name first, then case-insensitively.
    pub fn named_value(&self, name: &str) -> Option<&NamedValue> {
        self.named_values
            .iter()
            .find(|n| n.name == name)
            .or_else(|| {
                self.named_values
                    .iter()
                    .find(|n| n.name.eq_ignore_ascii_case(name))
            })
    }
    /// Products (in declaration order) that contain the API.
    pub fn products_of_api<'a>(
        &'a self,
        api_id: &str,
    ) -> impl Iterator<Item = &'a Product> + use<'a> {
        let id = api_id.to_string();
        self.products.iter().filter(move |p| p.apis.contains(&id))
    }

    /// Checks ids and references; returns every problem found.
    pub fn validate(&self) -> Result<(), Vec<ServiceError>> {
        let mut errs = Vec::new();
        fn dups<'a>(
            kind: &'static str,
            ids: impl Iterator<Item = &'a str>,
            errs: &mut Vec<ServiceError>,
        ) {
            let mut seen = HashSet::new();
            for id in ids {
                if !seen.insert(id) {
                    errs.push(ServiceError::Duplicate {
                        kind,
                        id: id.to_string(),
                    });
                }
            }
        }
        dups("api", self.apis.iter().map(|a| a.id.as_str()), &mut errs);
        dups(
            "product",
            self.products.iter().map(|a| a.id.as_str()),
            &mut errs,
        );
        dups(
            "subscription",
            self.subscriptions.iter().map(|a| a.id.as_str()),
            &mut errs,
        );
        dups("user", self.users.iter().map(|a| a.id.as_str()), &mut errs);
        dups(
            "group",
            self.groups.iter().map(|a| a.id.as_str()),
            &mut errs,
        );
        dups(
            "backend",
            self.backends.iter().map(|a| a.id.as_str()),
            &mut errs,
        );
        dups(
            "named value",
            self.named_values.iter().map(|a| a.name.as_str()),
            &mut errs,
        );
        dups(
            "policy fragment",
            self.policy_fragments.iter().map(|a| a.id.as_str()),
            &mut errs,
        );
        dups(
            "workspace",
            self.workspaces.iter().map(|a| a.id.as_str()),
            &mut errs,
        );
        let mut keys = HashSet::new();
        for s in &self.subscriptions {
            for k in [&s.primary_key, &s.secondary_key] {
                if !k.is_empty() && !keys.insert(k.as_str()) {
                    errs.push(ServiceError::Duplicate {
                        kind: "subscription key",
                        id: format!("of subscription '{}'", s.id),
                    });
                }
            }
        }
        let unknown = |owner: String, kind, id: &str| ServiceError::UnknownReference {
            owner,
            kind,
            id: id.to_string(),
        };
        for api in &self.apis {
            dups(
                "operation",
                api.operations.iter().map(|o| o.id.as_str()),
                &mut errs,
            );
            if let Some(w) = &api.workspace {
                if self.workspace(w).is_none() {
                    errs.push(unknown(format!("api '{}'", api.id), "workspace", w));
                }
            }
            if let Some(u) = &api.service_url {
                if let Err(e) = crate::http::Url::parse(u) {
                    errs.push(ServiceError::InvalidApi {
                        api: api.id.clone(),
                        message: format!("service URL: {e}"),
                    });
                }
            }
            for op in &api.operations {
                if let Err(e) = crate::matching::UrlTemplate::parse(&op.url_template) {
                    errs.push(ServiceError::InvalidApi {
                        api: api.id.clone(),
                        message: format!("operation '{}': {e}", op.id),
                    });
                }
            }
        }
        for p in &self.products {
            for a in &p.apis {
                if self.api(a).is_none() {
                    errs.push(unknown(format!("product '{}'", p.id), "api", a));
                }
            }
            for g in &p.groups {
                if self.group(g).is_none() {
                    errs.push(unknown(format!("product '{}'", p.id), "group", g));
                }
            }
        }
        for s in &self.subscriptions {
            let owner = format!("subscription '{}'", s.id);
            match &s.scope {
                SubscriptionScope::Product(p) if self.product(p).is_none() => {
                    errs.push(unknown(owner.clone(), "product", p))
                }
                SubscriptionScope::Api(a) if self.api(a).is_none() => {
                    errs.push(unknown(owner.clone(), "api", a))
                }
                _ => {}
            }
            if let Some(u) = &s.user_id {
                if self.user(u).is_none() {
                    errs.push(unknown(owner, "user", u));
                }
            }
        }
        for u in &self.users {
            for g in &u.groups {
                if self.group(g).is_none() {
                    errs.push(unknown(format!("user '{}'", u.id), "group", g));
                }
            }
        }
        for b in &self.backends {
            let bad = |m: String| ServiceError::InvalidBackend {
                backend: b.id.clone(),
                message: m,
            };
            match b.backend_type {
                BackendType::Single => match &b.url {
                    None => errs.push(bad("a Single backend needs a url".into())),
                    Some(u) => {
                        if let Err(e) = crate::http::Url::parse(u) {
                            errs.push(bad(format!("url: {e}")));
                        }
                    }
                },
                BackendType::Pool => {
                    match &b.pool {
                        None => errs.push(bad("a Pool backend needs pool.services".into())),
                        Some(pool) => {
                            if pool.services.is_empty() {
                                errs.push(bad("pool has no services".into()));
                            }
                            if pool.services.len() > 30 {
                                errs.push(bad("a pool holds at most 30 backends".into()));
                            }
                            for m in &pool.services {
                                match self.backend(m.backend_id()) {
                                None => errs.push(unknown(format!("backend pool '{}'", b.id), "backend", m.backend_id())),
                                Some(t) if t.backend_type == BackendType::Pool => {
                                    errs.push(bad(format!("pool member '{}' is a pool; pools cannot contain pools", t.id)))
                                }
                                _ => {}
                            }
                                if m.priority.is_some_and(|p| p > 100)
                                    || m.weight.is_some_and(|w| w > 100)
                                {
                                    errs.push(bad(format!(
                                        "member '{}': priority and weight are 0..100",
                                        m.backend_id()
                                    )));
                                }
                            }
                        }
                    }
                }
            }
            if let Some(cb) = &b.circuit_breaker {
                if cb.rules.len() > 1 {
                    errs.push(bad("only one circuit breaker rule is supported".into()));
                }
                for r in &cb.rules {
                    let fc = &r.failure_condition;
                    match (fc.count, fc.percentage) {
                        (Some(_), Some(_)) => errs.push(bad(format!(
                            "rule '{}': count and percentage are exclusive",
                            r.name
                        ))),
                        (None, None) => {
                            errs.push(bad(format!("rule '{}': needs count or percentage", r.name)))
                        }
                        (_, Some(p)) if p == 0 || p > 100 => {
                            errs.push(bad(format!("rule '{}': percentage must be 1..100", r.name)))
                        }
                        (Some(0), _) => {
                            errs.push(bad(format!("rule '{}': count must be at least 1", r.name)))
                        }
                        _ => {}
                    }
                    if fc.status_code_ranges.iter().any(|r| r.min > r.max) {
                        errs.push(bad(format!(
                            "rule '{}': status code range min > max",
                            r.name
                        )));
                    }
                }
            }
        }
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations_parse_and_print() {
        assert_eq!(
            IsoDuration::parse("PT1H").unwrap().0,
            Duration::from_secs(3600)
        );
        assert_eq!(
            IsoDuration::parse("PT30S").unwrap().0,
            Duration::from_secs(30)
        );
        assert_eq!(
            IsoDuration::parse("P1DT2H3M4S").unwrap().0,
            Duration::from_secs(86400 + 7384)
        );
        assert_eq!(
            IsoDuration::parse("PT0.5S").unwrap().0,
            Duration::from_millis(500)
        );
        assert_eq!(
            IsoDuration::parse("PT1M").unwrap().0,
            Duration::from_secs(60)
        );
        assert!(
            IsoDuration::parse("P1M").is_err(),
            "months are not a fixed duration"
        );
        for bad in [
            "",
            "P",
            "PT",
            "1H",
            "PTH",
            "PT1X",
            "PT1",
            "P1H",
            "PT99999999999999999999S",
        ] {
            assert!(IsoDuration::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(IsoDuration(Duration::from_secs(3600)).to_string(), "PT1H");
        assert_eq!(
            IsoDuration(Duration::from_secs(90061)).to_string(),
            "P1DT1H1M1S"
        );
        assert_eq!(
            IsoDuration(Duration::from_millis(1500)).to_string(),
            "PT1.5S"
        );
        assert_eq!(IsoDuration(Duration::ZERO).to_string(), "PT0S");
    }

    #[test]
    fn deserializes_arm_shaped_backend_with_defaults() {
        let json = r#"{
          "apis": [{"id":"aoai","name":"Azure OpenAI","path":"openai","serviceUrl":"https://x.openai.azure.com/openai",
                    "subscriptionKeyParameterNames":{"header":"api-key","query":"api-key"},
                    "operations":[{"id":"chat","name":"Chat","method":"POST","urlTemplate":"/deployments/{d}/chat/completions"}]}],
          "backends": [
            {"id":"b1","url":"https://b1.example.com","circuitBreaker":{"rules":[{"name":"r","failureCondition":{"count":1,"interval":"PT1M","statusCodeRanges":[{"min":429,"max":429}]},"tripDuration":"PT1M","acceptRetryAfter":true}]}},
            {"id":"b2","url":"https://b2.example.com"},
            {"id":"pool","type":"Pool","pool":{"services":[{"id":"/subscriptions/s/resourceGroups/r/providers/Microsoft.ApiManagement/service/a/backends/b1","priority":1,"weight":3},{"id":"b2","priority":2}]}}
          ],
          "subscriptions":[{"id":"s1","primaryKey":"k1","scope":{"type":"product","id":"starter"}}],
          "products":[{"id":"starter","name":"Starter","apis":["aoai"]}]
        }"#;
        let def: ServiceDefinition = serde_json::from_str(json).unwrap();
        def.validate().unwrap();
        let api = def.api("aoai").unwrap();
        assert!(api.subscription_required);
        assert_eq!(api.subscription_key_parameter_names.header, "api-key");
        assert_eq!(api.revision, "1");
        let pool = def.backend("pool").unwrap().pool.as_ref().unwrap();
        assert_eq!(pool.services[0].backend_id(), "b1");
        let rule = &def
            .backend("b1")
            .unwrap()
            .circuit_breaker
            .as_ref()
            .unwrap()
            .rules[0];
        assert_eq!(rule.trip_duration.0, Duration::from_secs(60));
        assert!(def.backend("b2").unwrap().tls.validate_certificate_chain);
        assert_eq!(
            def.subscriptions[0].scope,
            SubscriptionScope::Product("starter".into())
        );
        assert_eq!(def.subscriptions[0].state, SubscriptionState::Active);
        let back: ServiceDefinition =
            serde_json::from_str(&serde_json::to_string(&def).unwrap()).unwrap();
        assert_eq!(back, def);
    }

    #[test]
    fn validate_reports_bad_references() {
        let def = ServiceDefinition {
            products: vec![Product {
                id: "p".into(),
                apis: vec!["nope".into()],
                ..Default::default()
            }],
            subscriptions: vec![Subscription {
                id: "s".into(),
                scope: SubscriptionScope::Api("missing".into()),
                ..Default::default()
            }],
            backends: vec![
                Backend {
                    id: "single".into(),
                    ..Default::default()
                },
                Backend {
                    id: "pool".into(),
                    backend_type: BackendType::Pool,
                    pool: Some(BackendPool {
                        services: vec![PoolMember {
                            id: "ghost".into(),
                            ..Default::default()
                        }],
                    }),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let errs = def.validate().unwrap_err();
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(
            text.contains(&"product 'p' refers to unknown api 'nope'".to_string()),
            "{text:?}"
        );
        assert!(
            text.contains(&"subscription 's' refers to unknown api 'missing'".to_string()),
            "{text:?}"
        );
        assert!(
            text.contains(&"backend 'single': a Single backend needs a url".to_string()),
            "{text:?}"
        );
        assert!(
            text.contains(&"backend pool 'pool' refers to unknown backend 'ghost'".to_string()),
            "{text:?}"
        );
    }
}
