//! The `apim-emu.yaml` format (documented in docs/configuration.md; JSON Schema in
//! docs/schema/apim-emu.schema.json, generated from these types by [`json_schema`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use apim_engine::service::{
    Api, Backend, BackendAuthorization, BackendCredentials, BackendPool, BackendTls, BackendType,
    CircuitBreaker, CircuitBreakerRule, FailureCondition, Group, IsoDuration, NamedValue,
    Operation, PolicyFragment, PoolMember, Product, ProductState, ServiceDefinition,
    StatusCodeRange, Subscription, SubscriptionKeyParameterNames, SubscriptionScope,
    SubscriptionState, User, VersioningScheme, Workspace,
};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::de::{OrderedMap, Spanned, did_you_mean, from_node};
use super::diag::{ConfigError, ErrorKind};
use super::node::{Mark, parse_file};
use super::vars::Vars;
use super::{
    Certificate, ConfigFormat, Ctx, LoadOptions, LoadedConfig, Logger, LoggerSink, SimulatorBackend,
};

/// An apim-emu configuration: one APIM instance to emulate.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "apim-emu configuration")]
pub struct ConfigFile {
    /// JSON Schema reference for editors; ignored.
    #[serde(rename = "$schema", default)]
    pub schema: Option<String>,
    /// The service itself (`context.Deployment`).
    #[serde(default)]
    pub service: ServiceSection,
    /// Global (all APIs) policy file, relative to this file.
    #[serde(default)]
    pub policy: Option<Spanned<String>>,
    /// Named values by name, referenced in policies as `{{name}}`.
    #[serde(default)]
    pub named_values: OrderedMap<NamedValueEntry>,
    /// Policy fragments: fragment id → policy file (used by `<include-fragment fragment-id="..."/>`).
    #[serde(default)]
    pub policy_fragments: OrderedMap<Spanned<String>>,
    /// APIs by id.
    #[serde(default)]
    pub apis: OrderedMap<ApiEntry>,
    /// Products by id.
    #[serde(default)]
    pub products: OrderedMap<ProductEntry>,
    /// Subscriptions by id.
    #[serde(default)]
    pub subscriptions: OrderedMap<SubscriptionEntry>,
    /// Users by id.
    #[serde(default)]
    pub users: OrderedMap<UserEntry>,
    /// Groups by id.
    #[serde(default)]
    pub groups: OrderedMap<GroupEntry>,
    /// Backends by id (the name `set-backend-service backend-id` uses).
    #[serde(default)]
    pub backends: OrderedMap<BackendEntry>,
    /// Workspaces by id: a policy scope between global and product.
    #[serde(default)]
    pub workspaces: OrderedMap<WorkspaceEntry>,
    /// APIM's external cache: rate-limit, quota and token counters and the cache policies'
    /// external cache on a Redis server, shared by every gateway that uses it.
    #[serde(default)]
    pub external_cache: Option<ExternalCacheEntry>,
    /// Loggers by id (`log-to-eventhub logger-id`): where their events go.
    #[serde(default)]
    pub loggers: OrderedMap<LoggerEntry>,
    /// Certificates by id (authentication-certificate and validate-jwt `certificate-id`): a PEM
    /// file holding the certificate (and, to present it to backends, its private key), relative
    /// to this file.
    #[serde(default)]
    pub certificates: OrderedMap<Spanned<String>>,
}

/// The external cache (Redis-compatible).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalCacheEntry {
    /// Connection URL: `redis://host:port/db` (`redis://127.0.0.1:6379`).
    pub redis: Spanned<String>,
}

/// Where a logger's events go: `stdout`, `memory`, or `{file: path}`.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum LoggerEntry {
    /// `stdout`: one JSON line per event on standard output; `memory`: kept in the process.
    Named(LoggerKind),
    /// `{file: path}`: one JSON line per event appended to the file (relative to this file).
    File(FileLogger),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoggerKind {
    Stdout,
    Memory,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileLogger {
    /// JSON-lines file, relative to this file; created when missing, appended to.
    pub file: Spanned<String>,
}

impl<'de> Deserialize<'de> for LoggerEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LoggerEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`stdout`, `memory` or {file: PATH}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                match v {
                    "stdout" => Ok(LoggerEntry::Named(LoggerKind::Stdout)),
                    "memory" => Ok(LoggerEntry::Named(LoggerKind::Memory)),
                    other => Err(E::custom(format!(
                        "unknown logger sink `{other}`: expected `stdout`, `memory` or {{file: PATH}}"
                    ))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                FileLogger::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(LoggerEntry::File)
            }
        }
        d.deserialize_any(V)
    }
}

/// A workspace.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkspaceEntry {
    /// Display name; default: the id.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Workspace-scope policy file.
    #[serde(default)]
    pub policy: Option<Spanned<String>>,
}

/// `context.Deployment`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceSection {
    /// `context.Deployment.ServiceName` (default `apim-emu`).
    #[serde(default)]
    pub name: Option<String>,
    /// `context.Deployment.Region` (default `local`).
    #[serde(default)]
    pub region: Option<String>,
}

/// Text given literally or taken from an environment variable.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum TextOrEnv {
    /// The value itself.
    Text(#[schemars(schema_with = "scalar_text")] String),
    /// `{env: VAR}`: the value of an environment variable (or of `VAR` in `.env` next to this file).
    Env(EnvRef),
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvRef {
    /// Environment variable name.
    pub env: Spanned<String>,
}

impl<'de> Deserialize<'de> for TextOrEnv {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TextOrEnv;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or {env: VAR}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TextOrEnv::Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(TextOrEnv::Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(TextOrEnv::Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(TextOrEnv::Text(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                EnvRef::deserialize(de::value::MapAccessDeserializer::new(map)).map(TextOrEnv::Env)
            }
        }
        d.deserialize_any(V)
    }
}

/// A named value: a plain string, or a mapping.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum NamedValueEntry {
    /// A literal, non-secret value.
    Text(#[schemars(schema_with = "scalar_text")] String),
    /// `{value | env, secret}`.
    Detailed(NamedValueSpec),
}

/// A named value with options. Exactly one of `value` and `env`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamedValueSpec {
    /// The value (may hold a policy expression `@(...)`).
    #[serde(default)]
    pub value: Option<String>,
    /// Take the value from this environment variable (or `.env`).
    #[serde(default)]
    pub env: Option<Spanned<String>>,
    /// Masked in traces and logs, as APIM does for secret named values.
    #[serde(default)]
    pub secret: bool,
}

impl<'de> Deserialize<'de> for NamedValueEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NamedValueEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or {value | env, secret}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(NamedValueEntry::Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(NamedValueEntry::Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(NamedValueEntry::Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(NamedValueEntry::Text(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                NamedValueSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(NamedValueEntry::Detailed)
            }
        }
        d.deserialize_any(V)
    }
}

/// A scalar read as text: `4096` and `true` are the strings "4096" and "true".
fn scalar_text(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": ["string", "number", "boolean"] })
}

/// One string or a list of strings.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(OneOrMany::One(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(OneOrMany::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(OneOrMany::Many(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// An API (`IApi`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiEntry {
    /// Display name (`context.Api.Name`); default: the id.
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// API URL suffix (`context.Api.Path`), e.g. `openai`; may be empty.
    pub path: Spanned<String>,
    /// Backend base URL (`context.Api.ServiceUrl`); omit when policies always set the backend.
    #[serde(default)]
    pub service_url: Option<Spanned<String>>,
    /// Accepted schemes (default `[https]`; `http`, `https`, `ws`, `wss`).
    #[serde(default)]
    pub protocols: Option<Vec<Spanned<String>>>,
    /// Whether calls need a subscription key (default true).
    #[serde(default)]
    pub subscription_required: Option<bool>,
    /// Where the subscription key is read (default header `Ocp-Apim-Subscription-Key`, query
    /// `subscription-key`; Azure OpenAI clients send `api-key`).
    #[serde(default)]
    pub subscription_key_parameter_names: Option<KeyNames>,
    /// Revision number (default `1`).
    #[serde(default)]
    pub revision: Option<String>,
    /// Whether this revision is the current one (default true).
    #[serde(default)]
    pub is_current: Option<bool>,
    /// Version name in a version set.
    #[serde(default)]
    pub version: Option<String>,
    /// How a versioned API's version is carried.
    #[serde(default)]
    pub versioning: Option<Versioning>,
    /// API-scope policy file.
    #[serde(default)]
    pub policy: Option<Spanned<String>>,
    /// OpenAPI 3.x or Swagger 2.0 file (JSON or YAML) to import operations from.
    #[serde(default)]
    pub openapi: Option<Spanned<String>>,
    /// Operations by id: declared here, or (with `openapi`) imported ones given a policy.
    #[serde(default)]
    pub operations: OrderedMap<OperationEntry>,
    /// Workspace id the API belongs to.
    #[serde(default)]
    pub workspace: Option<Spanned<String>>,
}

/// `subscriptionKeyParameterNames`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyNames {
    /// Header name (default `Ocp-Apim-Subscription-Key`).
    #[serde(default)]
    pub header: Option<Spanned<String>>,
    /// Query parameter name (default `subscription-key`).
    #[serde(default)]
    pub query: Option<Spanned<String>>,
}

/// Versioning scheme of a versioned API.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Versioning {
    pub scheme: VersioningKind,
    /// Query parameter or header name (query and header schemes).
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum VersioningKind {
    Segment,
    Query,
    Header,
}

/// An operation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OperationEntry {
    /// Display name (`context.Operation.Name`); default: the id (or the OpenAPI summary).
    #[serde(default)]
    pub display_name: Option<String>,
    /// HTTP method, or `*` for any.
    #[serde(default)]
    pub method: Option<Spanned<String>>,
    /// URL template relative to the API path, e.g. `/deployments/{deployment-id}/chat/completions`.
    #[serde(default)]
    pub url_template: Option<Spanned<String>>,
    /// Operation-scope policy file.
    #[serde(default)]
    pub policy: Option<Spanned<String>>,
}

/// A product.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProductEntry {
    /// Display name (`context.Product.Name`); default: the id.
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Ids of the APIs in the product.
    #[serde(default)]
    pub apis: Vec<Spanned<String>>,
    /// Ids of the groups that see the product.
    #[serde(default)]
    pub groups: Vec<Spanned<String>>,
    /// Default true. A product without it is an "open" product.
    #[serde(default)]
    pub subscription_required: Option<bool>,
    #[serde(default)]
    pub approval_required: bool,
    #[serde(default)]
    pub subscriptions_limit: Option<i32>,
    /// `published` (default) or `notPublished`.
    #[serde(default)]
    pub state: Option<ProductStateEntry>,
    /// Product-scope policy file.
    #[serde(default)]
    pub policy: Option<Spanned<String>>,
    /// Workspace id the product belongs to.
    #[serde(default)]
    pub workspace: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ProductStateEntry {
    Published,
    NotPublished,
}

/// A subscription.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SubscriptionEntry {
    /// Display name (`context.Subscription.Name`); default: the id.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `allApis`, `{product: ID}` or `{api: ID}`.
    pub scope: Spanned<ScopeEntry>,
    /// Primary key, literal or `{env: VAR}`.
    pub primary_key: Spanned<TextOrEnv>,
    #[serde(default)]
    pub secondary_key: Option<Spanned<TextOrEnv>>,
    /// `active` (default), `suspended`, `submitted`, `rejected`, `cancelled`, `expired`.
    #[serde(default)]
    pub state: Option<StateEntry>,
    /// Owner user id.
    #[serde(default)]
    pub user: Option<Spanned<String>>,
    #[serde(default)]
    pub allow_tracing: bool,
    /// RFC 3339 date-time.
    #[serde(default)]
    pub start_date: Option<Spanned<String>>,
    /// RFC 3339 date-time.
    #[serde(default)]
    pub end_date: Option<Spanned<String>>,
}

/// Subscription scope.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ScopeEntry {
    /// Every API.
    AllApis,
    /// The APIs of one product.
    Product(Spanned<String>),
    /// One API.
    Api(Spanned<String>),
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum StateEntry {
    Active,
    Suspended,
    Submitted,
    Rejected,
    Cancelled,
    Expired,
}

/// A user.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserEntry {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// Group ids.
    #[serde(default)]
    pub groups: Vec<Spanned<String>>,
}

/// A group.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupEntry {
    /// Display name; default: the id.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// A backend, in the shape of ARM's `Microsoft.ApiManagement/service/backends` properties.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BackendEntry {
    /// `single` (default), `pool`, or `simulator` (the built-in Azure OpenAI simulator).
    #[serde(rename = "type", default)]
    pub backend_type: Option<Spanned<BackendKind>>,
    /// Runtime URL (single backends).
    #[serde(default)]
    pub url: Option<Spanned<String>>,
    /// `http` (default) or `soap`.
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub resource_id: Option<String>,
    /// `context.Backend.AzureRegion`.
    #[serde(default)]
    pub azure_region: Option<String>,
    #[serde(default)]
    pub credentials: Option<CredentialsEntry>,
    #[serde(default)]
    pub tls: Option<TlsEntry>,
    #[serde(default)]
    pub circuit_breaker: Option<CircuitBreakerEntry>,
    /// Members of a `pool` backend.
    #[serde(default)]
    pub pool: Option<PoolEntry>,
    /// Settings of a `simulator` backend.
    #[serde(default)]
    pub simulator: Option<SimulatorSettings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum BackendKind {
    Single,
    Pool,
    Simulator,
}

/// Credentials sent on every call through the backend.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CredentialsEntry {
    /// Headers added to the backend request (values may be `{{named value}}`).
    #[serde(default)]
    pub header: BTreeMap<String, Spanned<OneOrMany>>,
    /// Query parameters added to the backend request.
    #[serde(default)]
    pub query: BTreeMap<String, Spanned<OneOrMany>>,
    /// `Authorization: <scheme> <parameter>`.
    #[serde(default)]
    pub authorization: Option<AuthorizationEntry>,
    /// Client certificate ids.
    #[serde(default)]
    pub certificate_ids: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthorizationEntry {
    pub scheme: String,
    pub parameter: Spanned<String>,
}

/// TLS checks of the backend's certificate (both default true).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TlsEntry {
    #[serde(default)]
    pub validate_certificate_chain: Option<bool>,
    #[serde(default)]
    pub validate_certificate_name: Option<bool>,
}

/// Circuit breaker (ARM shape; APIM supports one rule).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CircuitBreakerEntry {
    pub rules: Spanned<Vec<RuleEntry>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleEntry {
    pub name: String,
    pub failure_condition: Spanned<FailureConditionEntry>,
    /// ISO-8601 duration, e.g. `PT1M`.
    pub trip_duration: Spanned<String>,
    /// Use the backend's `Retry-After` as the trip duration.
    #[serde(default)]
    pub accept_retry_after: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FailureConditionEntry {
    /// Number of failures in `interval` that trips the breaker (or use `percentage`).
    #[serde(default)]
    pub count: Option<u32>,
    /// Percentage of failed calls in `interval` that trips the breaker (1..100).
    #[serde(default)]
    pub percentage: Option<u32>,
    /// ISO-8601 duration of the counting window.
    pub interval: Spanned<String>,
    /// Status codes that count as failures.
    #[serde(default)]
    pub status_code_ranges: Vec<Spanned<StatusRangeEntry>>,
    /// Gateway error reasons that count as failures.
    #[serde(default)]
    pub error_reasons: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StatusRangeEntry {
    pub min: u16,
    pub max: u16,
}

/// Pool members.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoolEntry {
    pub services: Spanned<Vec<PoolMemberEntry>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoolMemberEntry {
    /// Backend id (or its ARM id `.../backends/<id>`).
    pub id: Spanned<String>,
    /// 0..100, smaller is tried first.
    #[serde(default)]
    pub priority: Option<Spanned<u32>>,
    /// 0..100, share within a priority group.
    #[serde(default)]
    pub weight: Option<Spanned<u32>>,
}

/// Settings of the built-in Azure OpenAI simulator backend.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SimulatorSettings {
    /// Deployments served, by deployment name.
    #[serde(default)]
    pub deployments: BTreeMap<String, SimulatorDeployment>,
    /// Added latency per response, in milliseconds.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Seed for generated completions (same seed, same text).
    #[serde(default)]
    pub seed: Option<u64>,
}

impl SimulatorSettings {
    /// The simulator configuration `serve` (and `apim-emu test`) runs this backend with: its
    /// deployments (or the simulator's default set), `latencyMs` as the time to the first token,
    /// any key accepted (the gateway sends whatever credential the backend is configured with),
    /// and `seed`, else `default_seed`.
    pub fn to_simulator_config(&self, default_seed: u64) -> apim_simulator::SimulatorConfig {
        let mut config = apim_simulator::SimulatorConfig {
            seed: self.seed.unwrap_or(default_seed),
            ..apim_simulator::SimulatorConfig::default()
        };
        if !self.deployments.is_empty() {
            config.deployments.clear();
            for (name, d) in &self.deployments {
                let mut dc = apim_simulator::DeploymentConfig::new(
                    d.model.clone().unwrap_or_else(|| name.clone()),
                );
                dc.tokens_per_minute = d.tokens_per_minute;
                dc.requests_per_minute = d.requests_per_minute;
                config.deployments.insert(name.clone(), dc);
            }
        }
        if let Some(ms) = self.latency_ms {
            for d in config.deployments.values_mut() {
                d.latency.time_to_first_token_ms = ms;
            }
        }
        config.auth.keys.clear();
        config
    }
}

/// One simulated deployment.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SimulatorDeployment {
    /// Model name reported in responses (e.g. `gpt-4o`).
    #[serde(default)]
    pub model: Option<String>,
    /// Tokens-per-minute limit (429 with `Retry-After` beyond it).
    #[serde(default)]
    pub tokens_per_minute: Option<u64>,
    /// Requests-per-minute limit.
    #[serde(default)]
    pub requests_per_minute: Option<u64>,
}

/// The JSON Schema of the configuration file, pretty-printed (docs/schema/apim-emu.schema.json).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(ConfigFile);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

pub(crate) fn load(path: &Path, options: &LoadOptions) -> Result<LoadedConfig, ConfigError> {
    let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let vars = Vars::load(
        options.environment.clone(),
        if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &dir
        },
    )?;
    let mut ctx = Ctx::new(vars);
    let Some(fid) = ctx.read(path, None) else {
        return Err(ConfigError {
            diagnostics: ctx.errors,
        });
    };
    if let Some(env) = &options.env {
        return Err(ConfigError::one(ctx.sources.file_error(
            ErrorKind::InvalidValue,
            fid,
            format!("--env {env}: environments apply to APIOps folders; apim-emu.yaml takes values from `env:` entries"),
        )));
    }
    let root = parse_file(&ctx.sources, fid)?;
    let cfg: ConfigFile = match &root.value {
        super::node::Value::Null => {
            return Err(ConfigError::one(ctx.sources.file_error(
                ErrorKind::InvalidValue,
                fid,
                "the configuration file is empty",
            )));
        }
        _ => from_node(&root)
            .map_err(|e| ConfigError::one(e.into_diagnostic(&ctx.sources, root.mark)))?,
    };
    let mut b = Build {
        ctx,
        dir,
        simulators: Vec::new(),
    };
    let redis = cfg.external_cache.as_ref().map(|e| e.redis.clone());
    if let Some(r) = &redis
        && !r.value.starts_with("redis://")
    {
        b.ctx.error(
            ErrorKind::InvalidValue,
            r.mark,
            format!(
                "externalCache.redis must be a redis://host:port URL, not `{}`",
                r.value
            ),
        );
    }
    let loggers = b.loggers(&cfg.loggers);
    // Every declared id, also of a logger whose sink is in error (reported above).
    let logger_ids: Vec<String> = cfg.loggers.iter().map(|(id, _)| id.value.clone()).collect();
    let certificates = b.certificates(&cfg.certificates);
    let service = b.service(cfg);
    let Build {
        mut ctx,
        dir,
        simulators,
    } = b;
    let ids: Vec<&str> = logger_ids.iter().map(String::as_str).collect();
    ctx.errors
        .extend(super::references::check_logger_ids(&service, &ids));
    let mut loaded = ctx.finish(service, ConfigFormat::File, path, &dir, simulators)?;
    loaded.external_cache = redis.map(|r| r.value);
    loaded.loggers = loggers;
    // Certificate files are watched like the configuration itself.
    loaded
        .files
        .extend(certificates.iter().map(|c| c.path.clone()));
    loaded.files.sort();
    loaded.files.dedup();
    loaded.certificates = certificates;
    Ok(loaded)
}

struct Build {
    ctx: Ctx,
    dir: std::path::PathBuf,
    simulators: Vec<SimulatorBackend>,
}

impl Build {
    /// Certificates read from their PEM files; an unreadable file or one without a
    /// certificate is an error at its line.
    fn certificates(&mut self, entries: &OrderedMap<Spanned<String>>) -> Vec<Certificate> {
        let mut out = Vec::new();
        for (id, file) in entries.iter() {
            let path = self.dir.join(&file.value);
            let pem = match std::fs::read_to_string(&path) {
                Ok(pem) => pem,
                Err(e) => {
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        file.mark,
                        format!(
                            "certificate `{}`: cannot read `{}`: {e}",
                            id.value, file.value
                        ),
                    );
                    continue;
                }
            };
            if let Err(e) = apim_engine::services::ClientCertificate::from_pem(&pem) {
                self.ctx.error(
                    ErrorKind::InvalidValue,
                    file.mark,
                    format!(
                        "certificate `{}`: `{}` is not a PEM certificate: {e}",
                        id.value, file.value
                    ),
                );
                continue;
            }
            out.push(Certificate {
                id: id.value.clone(),
                path,
                pem,
            });
        }
        out
    }

    /// Loggers with their file paths resolved; a file whose folder does not exist is an error.
    fn loggers(&mut self, entries: &OrderedMap<LoggerEntry>) -> Vec<Logger> {
        let mut out = Vec::new();
        for (id, entry) in entries.iter() {
            let sink = match entry {
                LoggerEntry::Named(LoggerKind::Stdout) => LoggerSink::Stdout,
                LoggerEntry::Named(LoggerKind::Memory) => LoggerSink::Memory,
                LoggerEntry::File(f) => {
                    let path = self.dir.join(&f.file.value);
                    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
                    if f.file.value.trim().is_empty() || folder.is_some_and(|p| !p.is_dir()) {
                        self.ctx.error(
                            ErrorKind::InvalidValue,
                            f.file.mark,
                            format!(
                                "logger `{}`: cannot write events to `{}`: its folder does not exist",
                                id.value, f.file.value
                            ),
                        );
                        continue;
                    }
                    LoggerSink::File(path)
                }
            };
            out.push(Logger {
                id: id.value.clone(),
                sink,
            });
        }
        out
    }
}

/// `{{name}}` references in a backend's credentials must name existing named values.
fn check_credentials(ctx: &mut Ctx, sd: &ServiceDefinition, c: &CredentialsEntry) {
    let named = apim_engine::named_values::NamedValues::from_service(sd);
    let names: Vec<&str> = sd.named_values.iter().map(|n| n.name.as_str()).collect();
    for v in c.header.values().chain(c.query.values()) {
        for text in v.value.clone().into_vec() {
            ctx.check_named_value_refs(&named, &names, &text, v.mark);
        }
    }
    if let Some(a) = &c.authorization {
        ctx.check_named_value_refs(&named, &names, &a.parameter.value, a.parameter.mark);
    }
}

fn check_ref(ctx: &mut Ctx, kind: &str, r: &Spanned<String>, known: &[&str]) -> bool {
    if known.contains(&r.value.as_str()) {
        return true;
    }
    let hint = match did_you_mean(&r.value, known.iter().copied()) {
        Some(m) => format!(", did you mean `{m}`?"),
        None if known.is_empty() => format!(" (no {kind}s are defined)"),
        None => String::new(),
    };
    ctx.error(
        ErrorKind::UnknownReference,
        r.mark,
        format!("unknown {kind} `{}`{hint}", r.value),
    );
    false
}

fn duration(ctx: &mut Ctx, s: &Spanned<String>) -> IsoDuration {
    match IsoDuration::parse(&s.value) {
        Ok(d) => d,
        Err(e) => {
            ctx.error(
                ErrorKind::InvalidValue,
                s.mark,
                format!("{e} (expected e.g. `PT30S`, `PT1M`)"),
            );
            IsoDuration::default()
        }
    }
}

fn check_url(ctx: &mut Ctx, u: &Spanned<String>) {
    if let Err(e) = apim_engine::http::Url::parse(&u.value) {
        ctx.error(ErrorKind::InvalidValue, u.mark, format!("invalid URL: {e}"));
    }
}

impl Build {
    fn text_or_env(&mut self, v: &Spanned<TextOrEnv>, what: String) -> String {
        match &v.value {
            TextOrEnv::Text(t) => t.clone(),
            TextOrEnv::Env(EnvRef { env }) => self
                .ctx
                .secret(&env.value, what, env.mark)
                .unwrap_or_default(),
        }
    }

    fn service(&mut self, cfg: ConfigFile) -> ServiceDefinition {
        let mut sd = ServiceDefinition {
            service_name: cfg.service.name.unwrap_or_else(|| "apim-emu".into()),
            region: cfg.service.region.unwrap_or_else(|| "local".into()),
            ..Default::default()
        };
        let dir = self.dir.clone();
        if let Some(p) = &cfg.policy {
            sd.global_policy = self.ctx.policy(&dir, &p.value, p.mark);
        }
        for (name, entry) in cfg.named_values.iter() {
            let nv = match entry {
                NamedValueEntry::Text(t) => NamedValue {
                    name: name.value.clone(),
                    value: t.clone(),
                    secret: false,
                },
                NamedValueEntry::Detailed(spec) => {
                    let value = match (&spec.value, &spec.env) {
                        (Some(v), None) => v.clone(),
                        (None, Some(var)) => self
                            .ctx
                            .secret(
                                &var.value,
                                format!("named value `{}`", name.value),
                                var.mark,
                            )
                            .unwrap_or_default(),
                        _ => {
                            self.ctx.error(
                                ErrorKind::InvalidValue,
                                name.mark,
                                format!(
                                    "named value `{}` needs exactly one of `value` and `env`",
                                    name.value
                                ),
                            );
                            String::new()
                        }
                    };
                    NamedValue {
                        name: name.value.clone(),
                        value,
                        secret: spec.secret,
                    }
                }
            };
            if !valid_named_value_name(&nv.name) {
                self.ctx.error(
                    ErrorKind::InvalidValue,
                    name.mark,
                    format!("named value name `{}`: use letters, digits, `.`, `-` and `_` (at most 256)", nv.name),
                );
            }
            if sd
                .named_values
                .iter()
                .any(|n| n.name.eq_ignore_ascii_case(&nv.name))
            {
                self.ctx.error(
                    ErrorKind::Duplicate,
                    name.mark,
                    format!(
                        "named value `{}` differs from another only by case",
                        nv.name
                    ),
                );
            }
            sd.named_values.push(nv);
        }
        for (id, file) in cfg.policy_fragments.iter() {
            if let Some(source) = self.ctx.policy(&dir, &file.value, file.mark) {
                sd.policy_fragments.push(PolicyFragment {
                    id: id.value.clone(),
                    source,
                });
            }
        }
        for (id, w) in cfg.workspaces.iter() {
            let policy = w
                .policy
                .as_ref()
                .and_then(|f| self.ctx.policy(&dir, &f.value, f.mark));
            sd.workspaces.push(Workspace {
                id: id.value.clone(),
                name: w.display_name.clone().unwrap_or_else(|| id.value.clone()),
                policy,
            });
        }
        let workspace_ids: Vec<String> = sd.workspaces.iter().map(|w| w.id.clone()).collect();
        let workspace_ids: Vec<&str> = workspace_ids.iter().map(String::as_str).collect();
        for (id, g) in cfg.groups.iter() {
            sd.groups.push(Group {
                id: id.value.clone(),
                name: g.display_name.clone().unwrap_or_else(|| id.value.clone()),
            });
        }
        let group_ids: Vec<String> = sd.groups.iter().map(|g| g.id.clone()).collect();
        let group_ids: Vec<&str> = group_ids.iter().map(String::as_str).collect();
        for (id, u) in cfg.users.iter() {
            for g in &u.groups {
                check_ref(&mut self.ctx, "group", g, &group_ids);
            }
            sd.users.push(User {
                id: id.value.clone(),
                email: u.email.clone().unwrap_or_default(),
                first_name: u.first_name.clone().unwrap_or_default(),
                last_name: u.last_name.clone().unwrap_or_default(),
                note: u.note.clone(),
                groups: u.groups.iter().map(|g| g.value.clone()).collect(),
                ..Default::default()
            });
        }
        for (id, a) in cfg.apis.iter() {
            if let Some(w) = &a.workspace {
                check_ref(&mut self.ctx, "workspace", w, &workspace_ids);
            }
            let api = self.api(id, a);
            sd.apis.push(api);
        }
        let api_ids: Vec<String> = sd.apis.iter().map(|a| a.id.clone()).collect();
        let api_ids: Vec<&str> = api_ids.iter().map(String::as_str).collect();
        for (id, p) in cfg.products.iter() {
            if let Some(w) = &p.workspace {
                check_ref(&mut self.ctx, "workspace", w, &workspace_ids);
            }
            for a in &p.apis {
                check_ref(&mut self.ctx, "api", a, &api_ids);
            }
            for g in &p.groups {
                check_ref(&mut self.ctx, "group", g, &group_ids);
            }
            let policy = p
                .policy
                .as_ref()
                .and_then(|f| self.ctx.policy(&dir, &f.value, f.mark));
            sd.products.push(Product {
                id: id.value.clone(),
                name: p.display_name.clone().unwrap_or_else(|| id.value.clone()),
                description: p.description.clone().unwrap_or_default(),
                state: match p.state {
                    Some(ProductStateEntry::NotPublished) => ProductState::NotPublished,
                    _ => ProductState::Published,
                },
                subscription_required: p.subscription_required.unwrap_or(true),
                approval_required: p.approval_required,
                subscriptions_limit: p.subscriptions_limit,
                apis: p.apis.iter().map(|a| a.value.clone()).collect(),
                groups: p.groups.iter().map(|g| g.value.clone()).collect(),
                policy,
                workspace: p.workspace.as_ref().map(|w| w.value.clone()),
            });
        }
        let product_ids: Vec<String> = sd.products.iter().map(|a| a.id.clone()).collect();
        let product_ids: Vec<&str> = product_ids.iter().map(String::as_str).collect();
        let user_ids: Vec<String> = sd.users.iter().map(|a| a.id.clone()).collect();
        let user_ids: Vec<&str> = user_ids.iter().map(String::as_str).collect();
        let mut keys_seen: Vec<(String, Mark)> = Vec::new();
        for (id, s) in cfg.subscriptions.iter() {
            let scope = match &s.scope.value {
                ScopeEntry::AllApis => SubscriptionScope::AllApis,
                ScopeEntry::Product(p) => {
                    check_ref(&mut self.ctx, "product", p, &product_ids);
                    SubscriptionScope::Product(p.value.clone())
                }
                ScopeEntry::Api(a) => {
                    check_ref(&mut self.ctx, "api", a, &api_ids);
                    SubscriptionScope::Api(a.value.clone())
                }
            };
            if let Some(u) = &s.user {
                check_ref(&mut self.ctx, "user", u, &user_ids);
            }
            let primary_key = self.text_or_env(
                &s.primary_key,
                format!("primary key of subscription `{}`", id.value),
            );
            let secondary_key = match &s.secondary_key {
                Some(k) => {
                    self.text_or_env(k, format!("secondary key of subscription `{}`", id.value))
                }
                None => String::new(),
            };
            for (k, mark) in [
                (&primary_key, s.primary_key.mark),
                (
                    &secondary_key,
                    s.secondary_key.as_ref().map(|k| k.mark).unwrap_or_default(),
                ),
            ] {
                if k.is_empty() {
                    continue;
                }
                if let Some((_, first)) = keys_seen.iter().find(|(seen, _)| seen == k) {
                    let line = first.line;
                    self.ctx.error(
                        ErrorKind::Duplicate,
                        mark,
                        format!("this key is already used by another subscription (line {line}); keys identify subscriptions"),
                    );
                } else {
                    keys_seen.push((k.clone(), mark));
                }
            }
            let date = |ctx: &mut Ctx, d: &Option<Spanned<String>>| -> Option<DateTime<Utc>> {
                let d = d.as_ref()?;
                match DateTime::parse_from_rfc3339(&d.value) {
                    Ok(t) => Some(t.with_timezone(&Utc)),
                    Err(e) => {
                        ctx.error(
                            ErrorKind::InvalidValue,
                            d.mark,
                            format!("invalid RFC 3339 date-time: {e}"),
                        );
                        None
                    }
                }
            };
            let start_date = date(&mut self.ctx, &s.start_date);
            let end_date = date(&mut self.ctx, &s.end_date);
            sd.subscriptions.push(Subscription {
                id: id.value.clone(),
                name: s.display_name.clone().unwrap_or_else(|| id.value.clone()),
                primary_key,
                secondary_key,
                scope,
                state: match s.state.unwrap_or(StateEntry::Active) {
                    StateEntry::Active => SubscriptionState::Active,
                    StateEntry::Suspended => SubscriptionState::Suspended,
                    StateEntry::Submitted => SubscriptionState::Submitted,
                    StateEntry::Rejected => SubscriptionState::Rejected,
                    StateEntry::Cancelled => SubscriptionState::Cancelled,
                    StateEntry::Expired => SubscriptionState::Expired,
                },
                user_id: s.user.as_ref().map(|u| u.value.clone()),
                start_date,
                end_date,
                allow_tracing: s.allow_tracing,
                ..Default::default()
            });
        }
        let backend_ids: Vec<(String, BackendKind)> = cfg
            .backends
            .iter()
            .map(|(id, b)| {
                (
                    id.value.clone(),
                    b.backend_type
                        .as_ref()
                        .map(|t| t.value)
                        .unwrap_or(BackendKind::Single),
                )
            })
            .collect();
        for (id, b) in cfg.backends.iter() {
            if let Some(c) = &b.credentials {
                check_credentials(&mut self.ctx, &sd, c);
            }
            let backend = self.backend(id, b, &backend_ids);
            sd.backends.push(backend);
        }
        sd
    }

    fn api(&mut self, id: &Spanned<String>, a: &ApiEntry) -> Api {
        let dir = self.dir.clone();
        let path = a.path.value.trim_matches('/').to_string();
        if let Some(u) = &a.service_url {
            check_url(&mut self.ctx, u);
        }
        let mut protocols = Vec::new();
        for p in a.protocols.iter().flatten() {
            let lower = p.value.to_ascii_lowercase();
            if !["http", "https", "ws", "wss"].contains(&lower.as_str()) {
                self.ctx.error(
                    ErrorKind::InvalidValue,
                    p.mark,
                    format!(
                        "unknown protocol `{}`; expected `http`, `https`, `ws` or `wss`",
                        p.value
                    ),
                );
            }
            protocols.push(lower);
        }
        if a.protocols.is_none() {
            protocols.push("https".into());
        }
        let mut names = SubscriptionKeyParameterNames::default();
        if let Some(k) = &a.subscription_key_parameter_names {
            if let Some(h) = &k.header {
                // An HTTP header name is a token (RFC 9110 §5.6.2).
                let token = !h.value.is_empty()
                    && h.value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
                if !token {
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        h.mark,
                        format!("`{}` is not a valid header name", h.value),
                    );
                }
                names.header = h.value.clone();
            }
            if let Some(q) = &k.query {
                if q.value.is_empty() {
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        q.mark,
                        "the query parameter name is empty",
                    );
                }
                names.query = q.value.clone();
            }
        }
        let versioning_scheme = a.versioning.as_ref().map(|v| match v.scheme {
            VersioningKind::Segment => VersioningScheme::Segment,
            VersioningKind::Query => VersioningScheme::Query {
                name: v.name.clone().unwrap_or_else(|| "api-version".into()),
            },
            VersioningKind::Header => VersioningScheme::Header {
                name: v.name.clone().unwrap_or_else(|| "Api-Version".into()),
            },
        });
        let mut operations: Vec<Operation> = Vec::new();
        let mut imported = false;
        if let Some(spec) = &a.openapi {
            imported = true;
            let p = dir.join(&spec.value);
            if let Some(fid) = self.ctx.read(&p, Some((spec.mark, "OpenAPI file"))) {
                match parse_file(&self.ctx.sources, fid) {
                    Err(d) => self.ctx.errors.push(d),
                    Ok(node) => match super::openapi::import(&self.ctx.sources, &node) {
                        Ok(ops) => operations.extend(ops.into_iter().map(|o| o.operation)),
                        Err(ds) => self.ctx.errors.extend(ds),
                    },
                }
            }
        }
        for (oid, o) in a.operations.iter() {
            let policy = o
                .policy
                .as_ref()
                .and_then(|f| self.ctx.policy(&dir, &f.value, f.mark));
            if let Some(m) = &o.method {
                let ok = m.value == "*"
                    || (!m.value.is_empty() && m.value.bytes().all(|b| b.is_ascii_alphabetic()));
                if !ok {
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        m.mark,
                        format!("invalid HTTP method `{}`", m.value),
                    );
                }
            }
            if let Some(t) = &o.url_template {
                if let Err(e) = apim_engine::matching::UrlTemplate::parse(&t.value) {
                    self.ctx
                        .error(ErrorKind::InvalidValue, t.mark, e.to_string());
                }
            }
            match operations.iter_mut().find(|x| x.id == oid.value) {
                Some(existing) => {
                    // An imported operation: this entry adds a policy or overrides fields.
                    if let Some(n) = &o.display_name {
                        existing.name = n.clone();
                    }
                    if let Some(m) = &o.method {
                        existing.method = m.value.to_ascii_uppercase();
                    }
                    if let Some(t) = &o.url_template {
                        existing.url_template = t.value.clone();
                    }
                    existing.policy = policy;
                }
                None => match (&o.method, &o.url_template) {
                    (Some(m), Some(t)) => operations.push(Operation {
                        id: oid.value.clone(),
                        name: o.display_name.clone().unwrap_or_else(|| oid.value.clone()),
                        method: m.value.to_ascii_uppercase(),
                        url_template: t.value.clone(),
                        policy,
                        // Declared operations carry no response examples; OpenAPI imports do.
                        responses: Vec::new(),
                    }),
                    _ => {
                        let msg = if imported {
                            let ids: Vec<&str> = operations.iter().map(|x| x.id.as_str()).collect();
                            let hint = did_you_mean(&oid.value, ids.iter().copied())
                                .map(|m| format!(" (did you mean `{m}`?)"))
                                .unwrap_or_default();
                            format!(
                                "operation `{}` is not in the OpenAPI file{hint}; a new operation needs `method` and `urlTemplate`",
                                oid.value
                            )
                        } else {
                            format!("operation `{}` needs `method` and `urlTemplate`", oid.value)
                        };
                        let kind = if imported {
                            ErrorKind::UnknownReference
                        } else {
                            ErrorKind::InvalidValue
                        };
                        self.ctx.error(kind, oid.mark, msg);
                    }
                },
            }
        }
        let policy = a
            .policy
            .as_ref()
            .and_then(|f| self.ctx.policy(&dir, &f.value, f.mark));
        Api {
            id: id.value.clone(),
            name: a.display_name.clone().unwrap_or_else(|| id.value.clone()),
            path,
            service_url: a.service_url.as_ref().map(|u| u.value.clone()),
            protocols,
            subscription_required: a.subscription_required.unwrap_or(true),
            subscription_key_parameter_names: names,
            revision: a.revision.clone().unwrap_or_else(|| "1".into()),
            is_current_revision: a.is_current.unwrap_or(true),
            version: a.version.clone(),
            versioning_scheme,
            policy,
            operations,
            workspace: a.workspace.as_ref().map(|w| w.value.clone()),
        }
    }

    fn backend(
        &mut self,
        id: &Spanned<String>,
        b: &BackendEntry,
        all: &[(String, BackendKind)],
    ) -> Backend {
        let kind = b
            .backend_type
            .as_ref()
            .map(|t| t.value)
            .unwrap_or(BackendKind::Single);
        let kind_mark = b.backend_type.as_ref().map(|t| t.mark).unwrap_or(id.mark);
        let mut url = b.url.as_ref().map(|u| u.value.clone());
        match kind {
            BackendKind::Single => match &b.url {
                Some(u) => check_url(&mut self.ctx, u),
                None => self.ctx.error(
                    ErrorKind::InvalidValue,
                    id.mark,
                    format!(
                        "backend `{}` needs a `url` (or `type: pool` / `type: simulator`)",
                        id.value
                    ),
                ),
            },
            BackendKind::Pool => {
                if b.pool.is_none() {
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        kind_mark,
                        "a pool backend needs `pool.services`",
                    );
                }
                if let Some(u) = &b.url {
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        u.mark,
                        "a pool backend has no `url`; its members do",
                    );
                }
            }
            BackendKind::Simulator => {
                if let Some(u) = &b.url {
                    self.ctx.error(
                        ErrorKind::InvalidValue,
                        u.mark,
                        "a simulator backend has no `url`; apim-emu serves it",
                    );
                }
                url = Some(super::SimulatorBackend::placeholder_url(&id.value));
                self.simulators.push(SimulatorBackend {
                    id: id.value.clone(),
                    settings: b.simulator.clone().unwrap_or_default(),
                });
            }
        }
        if b.simulator.is_some() && kind != BackendKind::Simulator {
            self.ctx.error(
                ErrorKind::InvalidValue,
                kind_mark,
                "`simulator` settings need `type: simulator`",
            );
        }
        if b.pool.is_some() && kind != BackendKind::Pool {
            self.ctx.error(
                ErrorKind::InvalidValue,
                kind_mark,
                "`pool` needs `type: pool`",
            );
        }
        let credentials = match &b.credentials {
            None => BackendCredentials::default(),
            Some(c) => BackendCredentials {
                header: c
                    .header
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value.clone().into_vec()))
                    .collect(),
                query: c
                    .query
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value.clone().into_vec()))
                    .collect(),
                authorization: c.authorization.as_ref().map(|a| BackendAuthorization {
                    scheme: a.scheme.clone(),
                    parameter: a.parameter.value.clone(),
                }),
                certificate_ids: c.certificate_ids.clone(),
            },
        };
        let tls = match &b.tls {
            None => BackendTls::default(),
            Some(t) => BackendTls {
                validate_certificate_chain: t.validate_certificate_chain.unwrap_or(true),
                validate_certificate_name: t.validate_certificate_name.unwrap_or(true),
            },
        };
        let circuit_breaker = b.circuit_breaker.as_ref().map(|cb| {
            if cb.rules.value.len() > 1 {
                self.ctx.error(
                    ErrorKind::InvalidValue,
                    cb.rules.mark,
                    "APIM supports one circuit breaker rule per backend",
                );
            }
            let rules = cb
                .rules
                .value
                .iter()
                .map(|r| {
                    let fc = &r.failure_condition;
                    if let Some(msg) =
                        super::failure_condition_problem(fc.value.count, fc.value.percentage)
                    {
                        self.ctx.error(ErrorKind::InvalidValue, fc.mark, msg);
                    }
                    let mut ranges = Vec::new();
                    for s in &fc.value.status_code_ranges {
                        if s.value.min > s.value.max
                            || !(100..=599).contains(&s.value.min)
                            || s.value.max > 599
                        {
                            self.ctx.error(
                                ErrorKind::InvalidValue,
                                s.mark,
                                "a status code range needs 100 <= min <= max <= 599",
                            );
                        }
                        ranges.push(StatusCodeRange {
                            min: s.value.min,
                            max: s.value.max,
                        });
                    }
                    CircuitBreakerRule {
                        name: r.name.clone(),
                        failure_condition: FailureCondition {
                            count: fc.value.count,
                            percentage: fc.value.percentage,
                            interval: duration(&mut self.ctx, &fc.value.interval),
                            status_code_ranges: ranges,
                            error_reasons: fc.value.error_reasons.clone(),
                        },
                        trip_duration: duration(&mut self.ctx, &r.trip_duration),
                        accept_retry_after: r.accept_retry_after,
                    }
                })
                .collect();
            CircuitBreaker { rules }
        });
        let pool = b.pool.as_ref().map(|p| {
            if p.services.value.is_empty() {
                self.ctx.error(
                    ErrorKind::InvalidValue,
                    p.services.mark,
                    "a pool needs at least one member",
                );
            }
            if p.services.value.len() > 30 {
                self.ctx.error(
                    ErrorKind::InvalidValue,
                    p.services.mark,
                    "a pool holds at most 30 backends",
                );
            }
            let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
            let services = p
                .services
                .value
                .iter()
                .map(|m| {
                    let member = PoolMember {
                        id: m.id.value.clone(),
                        priority: m.priority.as_ref().map(|p| p.value),
                        weight: m.weight.as_ref().map(|w| w.value),
                    };
                    let target = Spanned {
                        value: member.backend_id().to_string(),
                        mark: m.id.mark,
                    };
                    if check_ref(&mut self.ctx, "backend", &target, &names) {
                        if let Some((_, BackendKind::Pool)) =
                            all.iter().find(|(n, _)| *n == target.value)
                        {
                            self.ctx.error(
                                ErrorKind::InvalidValue,
                                m.id.mark,
                                format!("`{}` is a pool; pools cannot contain pools", target.value),
                            );
                        }
                    }
                    for v in [&m.priority, &m.weight].into_iter().flatten() {
                        if v.value > 100 {
                            self.ctx.error(
                                ErrorKind::InvalidValue,
                                v.mark,
                                "priority and weight are 0..100",
                            );
                        }
                    }
                    member
                })
                .collect();
            BackendPool { services }
        });
        Backend {
            id: id.value.clone(),
            backend_type: if kind == BackendKind::Pool {
                BackendType::Pool
            } else {
                BackendType::Single
            },
            url,
            protocol: Some(b.protocol.clone().unwrap_or_else(|| "http".into())),
            title: b.title.clone(),
            description: b.description.clone(),
            resource_id: b.resource_id.clone(),
            credentials,
            tls,
            circuit_breaker,
            pool,
            azure_region: b.azure_region.clone(),
        }
    }
}

/// APIM's rule for named value names: letters, digits, `.`, `-`, `_`; 1..256 characters.
pub(crate) fn valid_named_value_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 256
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}
