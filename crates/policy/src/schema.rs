//! The schema of every policy element: attributes (required or not, expression allowed or
//! literal only, allowed values), allowed content and child elements, and the sections where a
//! policy may appear (pipeline.md §5). One table drives both validation and model construction.

/// Section bits.
pub const I: u8 = 1;
pub const B: u8 = 2;
pub const O: u8 = 4;
pub const E: u8 = 8;
pub const ALL: u8 = I | B | O | E;

/// Scope bits (global, workspace, product, API, operation).
pub const GLOBAL: u8 = 1;
pub const WORKSPACE: u8 = 2;
pub const PRODUCT: u8 = 4;
pub const API: u8 = 8;
pub const OPERATION: u8 = 16;
pub const ALL_SCOPES: u8 = GLOBAL | WORKSPACE | PRODUCT | API | OPERATION;

macro_rules! element_kinds {
    ($($variant:ident = $name:literal,)*) => {
        /// Every element the reader knows: policies and their child elements. A child element
        /// that appears under several parents (`value`, `key`, `header` ...) has one kind.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ElementKind { $($variant,)* }

        impl ElementKind {
            /// The element name as written in policy documents.
            pub fn name(self) -> &'static str {
                match self { $(ElementKind::$variant => $name,)* }
            }

            pub fn from_name(name: &str) -> Option<ElementKind> {
                match name { $($name => Some(ElementKind::$variant),)* _ => None }
            }
        }
    };
}

element_kinds! {
    // policies
    Base = "base",
    IncludeFragment = "include-fragment",
    Choose = "choose",
    When = "when",
    Otherwise = "otherwise",
    SetVariable = "set-variable",
    Retry = "retry",
    ReturnResponse = "return-response",
    MockResponse = "mock-response",
    Wait = "wait",
    LimitConcurrency = "limit-concurrency",
    SetHeader = "set-header",
    SetQueryParameter = "set-query-parameter",
    SetBody = "set-body",
    SetMethod = "set-method",
    SetStatus = "set-status",
    RewriteUri = "rewrite-uri",
    FindAndReplace = "find-and-replace",
    JsonToXml = "json-to-xml",
    XmlToJson = "xml-to-json",
    XslTransform = "xsl-transform",
    SetBackendService = "set-backend-service",
    ForwardRequest = "forward-request",
    SendRequest = "send-request",
    SendOneWayRequest = "send-one-way-request",
    Proxy = "proxy",
    InvokeDaprBinding = "invoke-dapr-binding",
    PublishToDapr = "publish-to-dapr",
    SendServiceBusMessage = "send-service-bus-message",
    CacheLookup = "cache-lookup",
    CacheStore = "cache-store",
    CacheLookupValue = "cache-lookup-value",
    CacheStoreValue = "cache-store-value",
    CacheRemoveValue = "cache-remove-value",
    RateLimit = "rate-limit",
    RateLimitByKey = "rate-limit-by-key",
    Quota = "quota",
    QuotaByKey = "quota-by-key",
    AzureOpenAiTokenLimit = "azure-openai-token-limit",
    LlmTokenLimit = "llm-token-limit",
    AzureOpenAiEmitTokenMetric = "azure-openai-emit-token-metric",
    LlmEmitTokenMetric = "llm-emit-token-metric",
    AzureOpenAiSemanticCacheLookup = "azure-openai-semantic-cache-lookup",
    LlmSemanticCacheLookup = "llm-semantic-cache-lookup",
    AzureOpenAiSemanticCacheStore = "azure-openai-semantic-cache-store",
    LlmSemanticCacheStore = "llm-semantic-cache-store",
    LlmContentSafety = "llm-content-safety",
    AuthenticationManagedIdentity = "authentication-managed-identity",
    AuthenticationBasic = "authentication-basic",
    AuthenticationCertificate = "authentication-certificate",
    GetAuthorizationContext = "get-authorization-context",
    ValidateJwt = "validate-jwt",
    ValidateAzureAdToken = "validate-azure-ad-token",
    ValidateClientCertificate = "validate-client-certificate",
    CheckHeader = "check-header",
    IpFilter = "ip-filter",
    Cors = "cors",
    Jsonp = "jsonp",
    CrossDomain = "cross-domain",
    RedirectContentUrls = "redirect-content-urls",
    ValidateContent = "validate-content",
    ValidateParameters = "validate-parameters",
    ValidateHeaders = "validate-headers",
    ValidateStatusCode = "validate-status-code",
    ValidateOdataRequest = "validate-odata-request",
    ValidateGraphqlRequest = "validate-graphql-request",
    Trace = "trace",
    LogToEventhub = "log-to-eventhub",
    EmitMetric = "emit-metric",
    // child elements
    Value = "value",
    VaryByHeader = "vary-by-header",
    VaryByQueryParameter = "vary-by-query-parameter",
    VaryBy = "vary-by",
    Dimension = "dimension",
    SetUrl = "set-url",
    Api = "api",
    Operation = "operation",
    Categories = "categories",
    Category = "category",
    Blocklists = "blocklists",
    Id = "id",
    OpenidConfig = "openid-config",
    IssuerSigningKeys = "issuer-signing-keys",
    DecryptionKeys = "decryption-keys",
    Key = "key",
    Audiences = "audiences",
    Audience = "audience",
    Issuers = "issuers",
    Issuer = "issuer",
    RequiredClaims = "required-claims",
    Claim = "claim",
    ClientApplicationIds = "client-application-ids",
    BackendApplicationIds = "backend-application-ids",
    ApplicationId = "application-id",
    Identities = "identities",
    Identity = "identity",
    Address = "address",
    AddressRange = "address-range",
    AllowedOrigins = "allowed-origins",
    Origin = "origin",
    AllowedMethods = "allowed-methods",
    Method = "method",
    AllowedHeaders = "allowed-headers",
    ExposeHeaders = "expose-headers",
    Header = "header",
    ContentTypeMap = "content-type-map",
    Type = "type",
    Content = "content",
    Headers = "headers",
    Query = "query",
    Path = "path",
    Parameter = "parameter",
    StatusCode = "status-code",
    Authorize = "authorize",
    Rule = "rule",
    Message = "message",
    Metadata = "metadata",
    Item = "item",
    Data = "data",
    MessageProperties = "message-properties",
    MessageProperty = "message-property",
    Payload = "payload",
}

impl ElementKind {
    /// Whether this is a policy (a statement that may stand in a section), not a child element.
    pub fn is_policy(self) -> bool {
        policy_spec(self.name()).is_some()
    }
}

/// One attribute of an element.
#[derive(Debug, Clone, Copy)]
pub struct AttrSpec {
    pub name: &'static str,
    pub required: bool,
    /// Whether a policy expression may be the value.
    pub expr: bool,
    /// Allowed literal values (compared case-insensitively); empty = any.
    pub values: &'static [&'static str],
}

const fn opt(name: &'static str) -> AttrSpec {
    AttrSpec {
        name,
        required: false,
        expr: true,
        values: &[],
    }
}

const fn req(name: &'static str) -> AttrSpec {
    AttrSpec {
        name,
        required: true,
        expr: true,
        values: &[],
    }
}

impl AttrSpec {
    /// Literal only: no expression allowed.
    const fn lit(self) -> AttrSpec {
        AttrSpec {
            expr: false,
            ..self
        }
    }

    const fn one_of(self, values: &'static [&'static str]) -> AttrSpec {
        AttrSpec { values, ..self }
    }
}

/// What an element may contain.
#[derive(Debug, Clone, Copy)]
pub enum ContentSpec {
    /// Nothing (whitespace and comments only).
    Empty,
    /// Policy statements.
    Policies,
    /// Only the listed policies.
    PoliciesOnly(&'static [&'static str]),
    /// Any policy except the listed ones.
    PoliciesExcept(&'static [&'static str]),
    /// The listed child elements.
    Children(&'static [&'static ElementSpec]),
    /// Text; `expr` says whether it may be a policy expression.
    Text { expr: bool },
    /// Arbitrary XML kept as written (an XSLT stylesheet, a cross-domain policy).
    Markup,
    /// Text (expression allowed), or XML kept as written.
    TextOrMarkup,
    /// The listed child elements, or (older syntax still accepted) text instead of them.
    ChildrenOrText(&'static [&'static ElementSpec]),
}

/// One element: its attributes, content and (for policies) sections.
#[derive(Debug)]
pub struct ElementSpec {
    pub kind: ElementKind,
    pub attrs: &'static [AttrSpec],
    /// Groups of attributes of which at least one must be present.
    pub one_of: &'static [&'static [&'static str]],
    pub content: ContentSpec,
    /// Child elements that must appear at least once.
    pub required_children: &'static [&'static str],
    /// Sections where the policy is allowed (policies only).
    pub sections: u8,
    /// Scopes where the policy is allowed (policies only; [`ALL_SCOPES`] unless documented
    /// otherwise).
    pub scopes: u8,
}

impl ElementSpec {
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    pub fn attr(&self, name: &str) -> Option<&'static AttrSpec> {
        self.attrs.iter().find(|a| a.name == name)
    }

    pub fn child(&self, name: &str) -> Option<&'static ElementSpec> {
        match self.content {
            ContentSpec::Children(children) | ContentSpec::ChildrenOrText(children) => {
                children.iter().copied().find(|c| c.name() == name)
            }
            _ => None,
        }
    }
}

/// A child element: no sections of its own.
const fn el(kind: ElementKind, attrs: &'static [AttrSpec], content: ContentSpec) -> ElementSpec {
    policy(kind, 0, attrs, content)
}

const fn policy(
    kind: ElementKind,
    sections: u8,
    attrs: &'static [AttrSpec],
    content: ContentSpec,
) -> ElementSpec {
    ElementSpec {
        kind,
        attrs,
        one_of: &[],
        content,
        required_children: &[],
        sections,
        scopes: ALL_SCOPES,
    }
}

impl ElementSpec {
    const fn in_scopes(self, scopes: u8) -> ElementSpec {
        ElementSpec { scopes, ..self }
    }

    const fn with_one_of(self, one_of: &'static [&'static [&'static str]]) -> ElementSpec {
        ElementSpec { one_of, ..self }
    }

    const fn with_required_children(self, names: &'static [&'static str]) -> ElementSpec {
        ElementSpec {
            required_children: names,
            ..self
        }
    }
}

use ContentSpec::*;
use ElementKind as K;

const TEXT: ContentSpec = Text { expr: true };
const TEXT_LIT: ContentSpec = Text { expr: false };
const CACHING_TYPE: AttrSpec =
    opt("caching-type")
        .lit()
        .one_of(&["internal", "external", "prefer-external"]);
const EXISTS_ACTION: AttrSpec =
    opt("exists-action").one_of(&["override", "skip", "append", "delete"]);
const VALIDATION_ACTION: &[&str] = &["ignore", "prevent", "detect"];

// ---- shared child elements ----
static VALUE: ElementSpec = el(K::Value, &[], TEXT);
static SET_URL: ElementSpec = el(K::SetUrl, &[], TEXT);
static SEND_SET_METHOD: ElementSpec = el(K::SetMethod, &[], TEXT_LIT);
static DIMENSION: ElementSpec = el(K::Dimension, &[req("name"), opt("value")], Empty);
static VARY_BY_HEADER: ElementSpec = el(K::VaryByHeader, &[], TEXT);
static VARY_BY_QUERY: ElementSpec = el(K::VaryByQueryParameter, &[], TEXT);
static VARY_BY: ElementSpec = el(K::VaryBy, &[], TEXT);
static HEADER_TEXT: ElementSpec = el(K::Header, &[], TEXT_LIT);

// ---- control flow ----
static WHEN: ElementSpec = el(K::When, &[req("condition")], Policies);
static OTHERWISE: ElementSpec = el(K::Otherwise, &[], Policies);
static CHOOSE: ElementSpec =
    policy(K::Choose, ALL, &[], Children(&[&WHEN, &OTHERWISE])).with_required_children(&["when"]);
static BASE: ElementSpec = policy(K::Base, ALL, &[], Empty);
static INCLUDE_FRAGMENT: ElementSpec =
    policy(K::IncludeFragment, ALL, &[req("fragment-id").lit()], Empty);
static SET_VARIABLE: ElementSpec = policy(
    K::SetVariable,
    ALL,
    &[req("name").lit(), req("value")],
    Empty,
);
static RETRY: ElementSpec = policy(
    K::Retry,
    ALL,
    &[
        req("condition"),
        req("count"),
        req("interval"),
        opt("max-interval"),
        opt("delta"),
        opt("first-fast-retry"),
    ],
    PoliciesExcept(&["wait"]),
);
static RETURN_RESPONSE: ElementSpec = policy(
    K::ReturnResponse,
    ALL,
    &[opt("response-variable-name").lit()],
    Children(&[&SET_STATUS, &SET_HEADER, &SET_BODY]),
);
static MOCK_RESPONSE: ElementSpec = policy(
    K::MockResponse,
    I | O | E,
    &[
        opt("status-code").lit(),
        opt("content-type").lit(),
        opt("index").lit(),
    ],
    Empty,
)
.in_scopes(GLOBAL | PRODUCT | API | OPERATION);
static WAIT: ElementSpec = policy(
    K::Wait,
    I | B | O,
    &[opt("for").one_of(&["all", "any"])],
    PoliciesOnly(&["send-request", "cache-lookup-value", "choose"]),
);
static LIMIT_CONCURRENCY: ElementSpec = policy(
    K::LimitConcurrency,
    ALL,
    &[req("key"), req("max-count").lit()],
    Policies,
);

// ---- transformation ----
static SET_HEADER: ElementSpec = policy(
    K::SetHeader,
    ALL,
    &[req("name"), EXISTS_ACTION],
    Children(&[&VALUE]),
);
static SET_QUERY_PARAMETER: ElementSpec = policy(
    K::SetQueryParameter,
    I | B,
    &[req("name"), EXISTS_ACTION],
    Children(&[&VALUE]),
);
static SET_BODY: ElementSpec = policy(
    K::SetBody,
    ALL,
    &[
        opt("template").lit().one_of(&["liquid", "none"]),
        opt("xsi-nil").lit().one_of(&["blank", "null"]),
        opt("parse-date").one_of(&["true", "false"]),
    ],
    TextOrMarkup,
);
static SET_METHOD: ElementSpec = policy(K::SetMethod, I | E, &[], TEXT);
static SET_STATUS: ElementSpec = policy(K::SetStatus, ALL, &[req("code"), req("reason")], Empty);
static REWRITE_URI: ElementSpec = policy(
    K::RewriteUri,
    I,
    &[req("template"), opt("copy-unmatched-params")],
    Empty,
);
static FIND_AND_REPLACE: ElementSpec =
    policy(K::FindAndReplace, ALL, &[req("from"), req("to")], Empty);
static JSON_TO_XML: ElementSpec = policy(
    K::JsonToXml,
    I | O | E,
    &[
        req("apply").one_of(&["always", "content-type-json"]),
        opt("consider-accept-header"),
        opt("parse-date").lit(),
        opt("namespace-separator"),
        opt("namespace-prefix"),
        opt("attribute-block-name"),
    ],
    Empty,
);
static XML_TO_JSON: ElementSpec = policy(
    K::XmlToJson,
    I | O | E,
    &[
        req("kind").one_of(&["javascript-friendly", "direct"]),
        req("apply").one_of(&["always", "content-type-xml"]),
        opt("consider-accept-header"),
        opt("always-array-child-elements"),
    ],
    Empty,
);
static XSL_PARAMETER: ElementSpec = el(K::Parameter, &[req("name").lit()], TEXT);
static XSL_TRANSFORM: ElementSpec =
    policy(K::XslTransform, I | O, &[], Markup).in_scopes(GLOBAL | PRODUCT | API | OPERATION);

// ---- routing and backend calls ----
static SET_BACKEND_SERVICE: ElementSpec = policy(
    K::SetBackendService,
    I | B,
    &[
        opt("base-url"),
        opt("backend-id"),
        opt("sf-resolve-condition"),
        opt("sf-service-instance-name"),
        opt("sf-partition-key"),
        opt("sf-replica-type").one_of(&["primary", "secondary"]),
        opt("sf-listener-name"),
        opt("dapr-app-id"),
        opt("dapr-method"),
        opt("dapr-namespace"),
    ],
    Empty,
)
.with_one_of(&[&["base-url", "backend-id", "dapr-app-id"]]);
static FORWARD_REQUEST: ElementSpec = policy(
    K::ForwardRequest,
    B,
    &[
        opt("timeout"),
        opt("timeout-ms"),
        opt("continue-timeout"),
        opt("http-version").lit().one_of(&["1", "2", "2or1"]),
        opt("follow-redirects"),
        opt("buffer-request-body").lit().one_of(&["true", "false"]),
        opt("buffer-response").lit().one_of(&["true", "false"]),
        opt("fail-on-error-status-code")
            .lit()
            .one_of(&["true", "false"]),
    ],
    Empty,
)
.in_scopes(GLOBAL | PRODUCT | API | OPERATION);
static REQUEST_CHILDREN: &[&ElementSpec] = &[
    &SET_URL,
    &SEND_SET_METHOD,
    &SET_HEADER,
    &SET_BODY,
    &AUTHENTICATION_CERTIFICATE,
    &AUTHENTICATION_MANAGED_IDENTITY,
    &AUTHENTICATION_BASIC,
    &PROXY,
];
static SEND_REQUEST: ElementSpec = policy(
    K::SendRequest,
    ALL,
    &[
        opt("mode").one_of(&["new", "copy"]),
        req("response-variable-name"),
        opt("timeout"),
        opt("ignore-error").lit().one_of(&["true", "false"]),
    ],
    Children(REQUEST_CHILDREN),
);
static SEND_ONE_WAY_REQUEST: ElementSpec = policy(
    K::SendOneWayRequest,
    ALL,
    &[opt("mode").one_of(&["new", "copy"]), opt("timeout")],
    Children(REQUEST_CHILDREN),
);
static PROXY: ElementSpec = policy(
    K::Proxy,
    I,
    &[req("url"), opt("username"), opt("password")],
    Empty,
);
static ITEM: ElementSpec = el(K::Item, &[req("key")], TEXT);
static METADATA_ITEMS: ElementSpec = el(K::Metadata, &[], Children(&[&ITEM]));
static DATA: ElementSpec = el(K::Data, &[], TEXT);
static INVOKE_DAPR_BINDING: ElementSpec = policy(
    K::InvokeDaprBinding,
    I | O | E,
    &[
        req("name"),
        opt("operation").lit(),
        opt("ignore-error").lit().one_of(&["true", "false"]),
        opt("response-variable-name").lit(),
        opt("timeout"),
        opt("template").one_of(&["liquid"]),
        opt("content-type"),
    ],
    Children(&[&METADATA_ITEMS, &DATA]),
);
static PUBLISH_TO_DAPR: ElementSpec = policy(
    K::PublishToDapr,
    I,
    &[
        req("topic"),
        opt("pubsub-name"),
        opt("ignore-error").lit().one_of(&["true", "false"]),
        opt("response-variable-name").lit(),
        opt("timeout"),
        opt("template").one_of(&["liquid"]),
        opt("content-type"),
    ],
    TEXT,
);
static MESSAGE_PROPERTY: ElementSpec = el(K::MessageProperty, &[req("name")], TEXT);
static MESSAGE_PROPERTIES: ElementSpec =
    el(K::MessageProperties, &[], Children(&[&MESSAGE_PROPERTY]));
static PAYLOAD: ElementSpec = el(K::Payload, &[], TEXT);
static SEND_SERVICE_BUS_MESSAGE: ElementSpec = policy(
    K::SendServiceBusMessage,
    I | O | E,
    &[
        opt("queue-name"),
        opt("topic-name"),
        opt("namespace"),
        opt("client-id"),
    ],
    Children(&[&MESSAGE_PROPERTIES, &PAYLOAD]),
)
.with_one_of(&[&["queue-name", "topic-name"]])
.with_required_children(&["payload"]);

// ---- caching ----
static CACHE_LOOKUP: ElementSpec = policy(
    K::CacheLookup,
    I,
    &[
        req("vary-by-developer"),
        req("vary-by-developer-groups"),
        CACHING_TYPE,
        opt("downstream-caching-type").one_of(&["none", "private", "public"]),
        opt("must-revalidate"),
        opt("allow-private-response-caching"),
    ],
    Children(&[&VARY_BY_HEADER, &VARY_BY_QUERY]),
);
static CACHE_STORE: ElementSpec = policy(
    K::CacheStore,
    O,
    &[req("duration"), opt("cache-response")],
    Empty,
);
static CACHE_LOOKUP_VALUE: ElementSpec = policy(
    K::CacheLookupValue,
    ALL,
    &[
        req("key"),
        req("variable-name").lit(),
        opt("default-value"),
        CACHING_TYPE,
    ],
    Empty,
);
static CACHE_STORE_VALUE: ElementSpec = policy(
    K::CacheStoreValue,
    ALL,
    &[req("key"), req("value"), req("duration"), CACHING_TYPE],
    Empty,
);
static CACHE_REMOVE_VALUE: ElementSpec =
    policy(K::CacheRemoveValue, ALL, &[req("key"), CACHING_TYPE], Empty);

// ---- rate limits and quotas ----
/// `api` and `operation` under rate-limit: the same attributes.
const RATE_LIMIT_TARGET: &[AttrSpec] = &[
    opt("name").lit(),
    opt("id").lit(),
    req("calls").lit(),
    req("renewal-period").lit(),
];
static RATE_LIMIT_OPERATION: ElementSpec = el(K::Operation, RATE_LIMIT_TARGET, Empty);
static RATE_LIMIT_API: ElementSpec = el(
    K::Api,
    RATE_LIMIT_TARGET,
    Children(&[&RATE_LIMIT_OPERATION]),
);
static RATE_LIMIT: ElementSpec = policy(
    K::RateLimit,
    I,
    &[
        req("calls").lit(),
        req("renewal-period").lit(),
        opt("retry-after-header-name").lit(),
        opt("retry-after-variable-name").lit(),
        opt("remaining-calls-header-name").lit(),
        opt("remaining-calls-variable-name").lit(),
        opt("total-calls-header-name").lit(),
    ],
    Children(&[&RATE_LIMIT_API]),
)
.in_scopes(PRODUCT | API | OPERATION);
static RATE_LIMIT_BY_KEY: ElementSpec = policy(
    K::RateLimitByKey,
    I,
    &[
        req("calls"),
        req("renewal-period"),
        req("counter-key"),
        opt("increment-condition"),
        opt("increment-count"),
        opt("retry-after-header-name").lit(),
        opt("retry-after-variable-name").lit(),
        opt("remaining-calls-header-name").lit(),
        opt("remaining-calls-variable-name").lit(),
        opt("total-calls-header-name").lit(),
    ],
    Empty,
);
/// `api` and `operation` under quota: the same attributes.
const QUOTA_TARGET: &[AttrSpec] = &[
    opt("name").lit(),
    opt("id").lit(),
    opt("calls").lit(),
    opt("bandwidth").lit(),
    opt("renewal-period").lit(),
];
static QUOTA_OPERATION: ElementSpec = el(K::Operation, QUOTA_TARGET, Empty);
static QUOTA_API: ElementSpec = el(K::Api, QUOTA_TARGET, Children(&[&QUOTA_OPERATION]));
static QUOTA: ElementSpec = policy(
    K::Quota,
    I,
    &[
        opt("calls").lit(),
        opt("bandwidth").lit(),
        req("renewal-period").lit(),
    ],
    Children(&[&QUOTA_API]),
)
.with_one_of(&[&["calls", "bandwidth"]])
.in_scopes(PRODUCT);
static QUOTA_BY_KEY: ElementSpec = policy(
    K::QuotaByKey,
    I,
    &[
        opt("calls").lit(),
        opt("bandwidth").lit(),
        req("renewal-period").lit(),
        req("counter-key"),
        opt("increment-condition"),
        opt("increment-count"),
        opt("first-period-start").lit(),
    ],
    Empty,
)
.with_one_of(&[&["calls", "bandwidth"]]);

// ---- AI gateway ----
const TOKEN_LIMIT_ATTRS: &[AttrSpec] = &[
    req("counter-key"),
    opt("tokens-per-minute"),
    opt("token-quota").lit(),
    opt("token-quota-period")
        .lit()
        .one_of(&["Hourly", "Daily", "Weekly", "Monthly", "Yearly"]),
    req("estimate-prompt-tokens"),
    opt("retry-after-header-name").lit(),
    opt("retry-after-variable-name").lit(),
    opt("remaining-quota-tokens-header-name").lit(),
    opt("remaining-quota-tokens-variable-name").lit(),
    opt("remaining-tokens-header-name").lit(),
    opt("remaining-tokens-variable-name").lit(),
    opt("tokens-consumed-header-name").lit(),
    opt("tokens-consumed-variable-name").lit(),
];
static AZURE_OPENAI_TOKEN_LIMIT: ElementSpec =
    policy(K::AzureOpenAiTokenLimit, I, TOKEN_LIMIT_ATTRS, Empty)
        .with_one_of(&[&["tokens-per-minute", "token-quota"]]);
static LLM_TOKEN_LIMIT: ElementSpec = policy(K::LlmTokenLimit, I, TOKEN_LIMIT_ATTRS, Empty)
    .with_one_of(&[&["tokens-per-minute", "token-quota"]]);
static AZURE_OPENAI_EMIT_TOKEN_METRIC: ElementSpec = policy(
    K::AzureOpenAiEmitTokenMetric,
    I,
    &[opt("namespace").lit(), opt("value")],
    Children(&[&DIMENSION]),
)
.with_required_children(&["dimension"]);
static LLM_EMIT_TOKEN_METRIC: ElementSpec = policy(
    K::LlmEmitTokenMetric,
    I,
    &[opt("namespace").lit()],
    Children(&[&DIMENSION]),
)
.with_required_children(&["dimension"]);
const SEMANTIC_LOOKUP_ATTRS: &[AttrSpec] = &[
    req("score-threshold"),
    req("embeddings-backend-id"),
    req("embeddings-backend-auth").one_of(&["system-assigned"]),
    opt("ignore-system-messages"),
    opt("max-message-count"),
];
static AZURE_OPENAI_SEMANTIC_CACHE_LOOKUP: ElementSpec = policy(
    K::AzureOpenAiSemanticCacheLookup,
    I,
    SEMANTIC_LOOKUP_ATTRS,
    Children(&[&VARY_BY]),
)
.in_scopes(GLOBAL | PRODUCT | API | OPERATION);
static LLM_SEMANTIC_CACHE_LOOKUP: ElementSpec = policy(
    K::LlmSemanticCacheLookup,
    I,
    SEMANTIC_LOOKUP_ATTRS,
    Children(&[&VARY_BY]),
)
.in_scopes(GLOBAL | PRODUCT | API | OPERATION);
static AZURE_OPENAI_SEMANTIC_CACHE_STORE: ElementSpec = policy(
    K::AzureOpenAiSemanticCacheStore,
    O,
    &[req("duration")],
    Empty,
);
static LLM_SEMANTIC_CACHE_STORE: ElementSpec =
    policy(K::LlmSemanticCacheStore, O, &[req("duration")], Empty);
static CATEGORY: ElementSpec = el(K::Category, &[req("name"), req("threshold")], Empty);
static CATEGORIES: ElementSpec = el(
    K::Categories,
    &[opt("output-type").one_of(&["FourSeverityLevels", "EightSeverityLevels"])],
    Children(&[&CATEGORY]),
);
static BLOCKLIST_ID: ElementSpec = el(K::Id, &[], TEXT);
static BLOCKLISTS: ElementSpec = el(K::Blocklists, &[], Children(&[&BLOCKLIST_ID]));
static LLM_CONTENT_SAFETY: ElementSpec = policy(
    K::LlmContentSafety,
    I | O,
    &[
        req("backend-id"),
        opt("shield-prompt"),
        opt("enforce-on-completions"),
        opt("window-size"),
        opt("window-overlap-size"),
    ],
    Children(&[&CATEGORIES, &BLOCKLISTS]),
)
.in_scopes(GLOBAL | WORKSPACE | PRODUCT | API);

// ---- authentication and access restriction ----
static AUTHENTICATION_MANAGED_IDENTITY: ElementSpec = policy(
    K::AuthenticationManagedIdentity,
    I,
    &[
        req("resource"),
        opt("client-id").lit(),
        opt("output-token-variable-name").lit(),
        opt("ignore-error").one_of(&["true", "false"]),
    ],
    Empty,
);
static AUTHENTICATION_BASIC: ElementSpec = policy(
    K::AuthenticationBasic,
    I,
    &[req("username"), req("password")],
    Empty,
);
static AUTHENTICATION_CERTIFICATE: ElementSpec = policy(
    K::AuthenticationCertificate,
    I,
    &[
        opt("thumbprint"),
        opt("certificate-id"),
        opt("body"),
        opt("password"),
    ],
    Empty,
)
.with_one_of(&[&["thumbprint", "certificate-id", "body"]]);
static GET_AUTHORIZATION_CONTEXT: ElementSpec = policy(
    K::GetAuthorizationContext,
    I,
    &[
        req("provider-id"),
        req("authorization-id"),
        req("context-variable-name"),
        opt("identity-type").one_of(&["managed", "jwt"]),
        opt("identity"),
        opt("ignore-error").one_of(&["true", "false"]),
    ],
    Empty,
)
.in_scopes(GLOBAL | PRODUCT | API | OPERATION);
static OPENID_CONFIG: ElementSpec = el(
    K::OpenidConfig,
    &[req("url"), opt("validate-connectivity")],
    Empty,
);
static JWT_KEY: ElementSpec = el(
    K::Key,
    &[
        opt("id"),
        opt("certificate-id"),
        opt("n").lit(),
        opt("e").lit(),
    ],
    TEXT,
);
static ISSUER_SIGNING_KEYS: ElementSpec = el(K::IssuerSigningKeys, &[], Children(&[&JWT_KEY]));
static DECRYPTION_KEYS: ElementSpec = el(K::DecryptionKeys, &[], Children(&[&JWT_KEY]));
static AUDIENCE: ElementSpec = el(K::Audience, &[], TEXT);
static AUDIENCES: ElementSpec = el(K::Audiences, &[], Children(&[&AUDIENCE]));
static ISSUER: ElementSpec = el(K::Issuer, &[], TEXT);
static ISSUERS: ElementSpec = el(K::Issuers, &[], Children(&[&ISSUER]));
static CLAIM: ElementSpec = el(
    K::Claim,
    &[
        req("name"),
        opt("match").one_of(&["all", "any"]),
        opt("separator"),
    ],
    Children(&[&VALUE]),
);
static REQUIRED_CLAIMS: ElementSpec = el(K::RequiredClaims, &[], Children(&[&CLAIM]));
static VALIDATE_JWT: ElementSpec = policy(
    K::ValidateJwt,
    I,
    &[
        opt("header-name"),
        opt("query-parameter-name"),
        opt("token-value"),
        opt("failed-validation-httpcode"),
        opt("failed-validation-error-message"),
        opt("require-expiration-time"),
        opt("require-scheme"),
        opt("require-signed-tokens"),
        opt("clock-skew"),
        opt("output-token-variable-name").lit(),
    ],
    Children(&[
        &OPENID_CONFIG,
        &ISSUER_SIGNING_KEYS,
        &DECRYPTION_KEYS,
        &AUDIENCES,
        &ISSUERS,
        &REQUIRED_CLAIMS,
    ]),
)
.with_one_of(&[&["header-name", "query-parameter-name", "token-value"]]);
static APPLICATION_ID: ElementSpec = el(K::ApplicationId, &[], TEXT);
static CLIENT_APPLICATION_IDS: ElementSpec =
    el(K::ClientApplicationIds, &[], Children(&[&APPLICATION_ID]));
static BACKEND_APPLICATION_IDS: ElementSpec =
    el(K::BackendApplicationIds, &[], Children(&[&APPLICATION_ID]));
static VALIDATE_AZURE_AD_TOKEN: ElementSpec = policy(
    K::ValidateAzureAdToken,
    I,
    &[
        req("tenant-id"),
        opt("header-name"),
        opt("query-parameter-name"),
        opt("token-value"),
        opt("failed-validation-httpcode"),
        opt("failed-validation-error-message"),
        opt("output-token-variable-name").lit(),
    ],
    Children(&[
        &CLIENT_APPLICATION_IDS,
        &BACKEND_APPLICATION_IDS,
        &AUDIENCES,
        &REQUIRED_CLAIMS,
    ]),
)
.with_required_children(&["client-application-ids"]);
static IDENTITY: ElementSpec = el(
    K::Identity,
    &[
        opt("thumbprint"),
        opt("serial-number"),
        opt("common-name"),
        opt("subject"),
        opt("dns-name"),
        opt("issuer-subject"),
        opt("issuer-thumbprint"),
        opt("issuer-certificate-id"),
    ],
    Empty,
);
static IDENTITIES: ElementSpec = el(K::Identities, &[], Children(&[&IDENTITY]));
static VALIDATE_CLIENT_CERTIFICATE: ElementSpec = policy(
    K::ValidateClientCertificate,
    I,
    &[
        opt("validate-revocation"),
        opt("validate-trust"),
        opt("validate-not-before"),
        opt("validate-not-after"),
        opt("ignore-error"),
    ],
    Children(&[&IDENTITIES]),
);
static CHECK_HEADER: ElementSpec = policy(
    K::CheckHeader,
    I,
    &[
        req("name"),
        req("failed-check-httpcode"),
        req("failed-check-error-message"),
        req("ignore-case"),
    ],
    Children(&[&VALUE]),
);
static ADDRESS: ElementSpec = el(K::Address, &[], TEXT);
static ADDRESS_RANGE: ElementSpec = el(K::AddressRange, &[req("from"), req("to")], Empty);
static IP_FILTER: ElementSpec = policy(
    K::IpFilter,
    I,
    &[req("action").one_of(&["allow", "forbid"])],
    Children(&[&ADDRESS, &ADDRESS_RANGE]),
);
static ORIGIN: ElementSpec = el(K::Origin, &[], TEXT_LIT);
static ALLOWED_ORIGINS: ElementSpec = el(K::AllowedOrigins, &[], Children(&[&ORIGIN]));
static METHOD: ElementSpec = el(K::Method, &[], TEXT_LIT);
static ALLOWED_METHODS: ElementSpec = el(
    K::AllowedMethods,
    &[opt("preflight-result-max-age").lit()],
    Children(&[&METHOD]),
);
static ALLOWED_HEADERS: ElementSpec = el(K::AllowedHeaders, &[], Children(&[&HEADER_TEXT]));
static EXPOSE_HEADERS: ElementSpec = el(K::ExposeHeaders, &[], Children(&[&HEADER_TEXT]));
static CORS: ElementSpec = policy(
    K::Cors,
    I,
    &[
        opt("allow-credentials").lit(),
        opt("terminate-unmatched-request").lit(),
    ],
    Children(&[
        &ALLOWED_ORIGINS,
        &ALLOWED_METHODS,
        &ALLOWED_HEADERS,
        &EXPOSE_HEADERS,
    ]),
)
.with_required_children(&["allowed-origins"]);
static JSONP: ElementSpec = policy(K::Jsonp, O, &[req("callback-parameter-name").lit()], Empty);
static CROSS_DOMAIN: ElementSpec = policy(K::CrossDomain, I, &[], Markup);
static REDIRECT_CONTENT_URLS: ElementSpec = policy(K::RedirectContentUrls, I | O, &[], Empty);

// ---- validation ----
static CONTENT_TYPE: ElementSpec = el(
    K::Type,
    &[
        opt("any").lit(),
        opt("from").lit(),
        opt("when").lit(),
        req("to").lit(),
    ],
    Empty,
);
static CONTENT_TYPE_MAP: ElementSpec = el(
    K::ContentTypeMap,
    &[
        opt("any-content-type-value").lit(),
        opt("missing-content-type-value").lit(),
    ],
    Children(&[&CONTENT_TYPE]),
);
static CONTENT: ElementSpec = el(
    K::Content,
    &[
        opt("type").lit(),
        req("validate-as").lit().one_of(&["json", "xml", "soap"]),
        opt("schema-id").lit(),
        opt("schema-ref").lit(),
        opt("allow-additional-properties").lit(),
        opt("case-insensitive-property-names").lit(),
        req("action").one_of(VALIDATION_ACTION),
    ],
    Empty,
);
static VALIDATE_CONTENT: ElementSpec = policy(
    K::ValidateContent,
    I | O | E,
    &[
        req("unspecified-content-type-action").one_of(VALIDATION_ACTION),
        req("max-size").lit(),
        req("size-exceeded-action").one_of(VALIDATION_ACTION),
        opt("errors-variable-name").lit(),
    ],
    Children(&[&CONTENT_TYPE_MAP, &CONTENT]),
);
static PARAMETER: ElementSpec = el(
    K::Parameter,
    &[req("name").lit(), req("action").one_of(VALIDATION_ACTION)],
    Empty,
);
const PARAMETER_GROUP_ATTRS: &[AttrSpec] = &[
    req("specified-parameter-action").one_of(VALIDATION_ACTION),
    req("unspecified-parameter-action").one_of(VALIDATION_ACTION),
];
static PARAM_HEADERS: ElementSpec = el(K::Headers, PARAMETER_GROUP_ATTRS, Children(&[&PARAMETER]));
static PARAM_QUERY: ElementSpec = el(K::Query, PARAMETER_GROUP_ATTRS, Children(&[&PARAMETER]));
static PARAM_PATH: ElementSpec = el(
    K::Path,
    &[req("specified-parameter-action").one_of(VALIDATION_ACTION)],
    Children(&[&PARAMETER]),
);
static VALIDATE_PARAMETERS: ElementSpec = policy(
    K::ValidateParameters,
    I,
    &[
        req("specified-parameter-action").one_of(VALIDATION_ACTION),
        req("unspecified-parameter-action").one_of(VALIDATION_ACTION),
        opt("errors-variable-name").lit(),
    ],
    Children(&[&PARAM_HEADERS, &PARAM_QUERY, &PARAM_PATH]),
);
static VALIDATED_HEADER: ElementSpec = el(
    K::Header,
    &[req("name").lit(), req("action").one_of(VALIDATION_ACTION)],
    Empty,
);
static VALIDATE_HEADERS: ElementSpec = policy(
    K::ValidateHeaders,
    O | E,
    &[
        req("specified-header-action").one_of(VALIDATION_ACTION),
        req("unspecified-header-action").one_of(VALIDATION_ACTION),
        opt("errors-variable-name").lit(),
    ],
    Children(&[&VALIDATED_HEADER]),
);
static STATUS_CODE: ElementSpec = el(
    K::StatusCode,
    &[req("code").lit(), req("action").one_of(VALIDATION_ACTION)],
    Empty,
);
static VALIDATE_STATUS_CODE: ElementSpec = policy(
    K::ValidateStatusCode,
    O | E,
    &[
        req("unspecified-status-code-action").one_of(VALIDATION_ACTION),
        opt("errors-variable-name").lit(),
    ],
    Children(&[&STATUS_CODE]),
);
static VALIDATE_ODATA_REQUEST: ElementSpec = policy(
    K::ValidateOdataRequest,
    I,
    &[
        opt("error-variable-name").lit(),
        opt("default-odata-version").lit(),
        opt("min-odata-version").lit(),
        opt("max-odata-version").lit(),
        opt("max-size").lit(),
    ],
    Empty,
)
.in_scopes(GLOBAL | WORKSPACE | PRODUCT | API);
static GRAPHQL_RULE: ElementSpec = el(
    K::Rule,
    &[
        req("path").lit(),
        opt("action").one_of(&["allow", "remove", "reject", "ignore"]),
    ],
    Empty,
);
static GRAPHQL_AUTHORIZE: ElementSpec = el(K::Authorize, &[], Children(&[&GRAPHQL_RULE]));
static VALIDATE_GRAPHQL_REQUEST: ElementSpec = policy(
    K::ValidateGraphqlRequest,
    I,
    &[
        opt("error-variable-name").lit(),
        req("max-size").lit(),
        opt("max-depth").lit(),
    ],
    Children(&[&GRAPHQL_AUTHORIZE]),
)
.in_scopes(GLOBAL | PRODUCT | API | OPERATION);

// ---- logging, tracing, metrics ----
static TRACE_MESSAGE: ElementSpec = el(K::Message, &[], TEXT);
static TRACE_METADATA: ElementSpec = el(K::Metadata, &[req("name"), req("value")], Empty);
static TRACE: ElementSpec = policy(
    K::Trace,
    ALL,
    &[
        req("source").lit(),
        opt("severity").one_of(&["verbose", "information", "error"]),
    ],
    ChildrenOrText(&[&TRACE_MESSAGE, &TRACE_METADATA]),
);
static LOG_TO_EVENTHUB: ElementSpec = policy(
    K::LogToEventhub,
    ALL,
    &[
        req("logger-id").lit(),
        opt("partition-id").lit(),
        opt("partition-key"),
    ],
    TEXT,
)
.in_scopes(GLOBAL | PRODUCT | API | OPERATION);
static EMIT_METRIC: ElementSpec = policy(
    K::EmitMetric,
    ALL,
    &[req("name").lit(), opt("value"), opt("namespace").lit()],
    Children(&[&DIMENSION]),
)
.with_required_children(&["dimension"]);

/// Every policy, by name.
static POLICIES: &[&ElementSpec] = &[
    &BASE,
    &INCLUDE_FRAGMENT,
    &CHOOSE,
    &SET_VARIABLE,
    &RETRY,
    &RETURN_RESPONSE,
    &MOCK_RESPONSE,
    &WAIT,
    &LIMIT_CONCURRENCY,
    &SET_HEADER,
    &SET_QUERY_PARAMETER,
    &SET_BODY,
    &SET_METHOD,
    &SET_STATUS,
    &REWRITE_URI,
    &FIND_AND_REPLACE,
    &JSON_TO_XML,
    &XML_TO_JSON,
    &XSL_TRANSFORM,
    &SET_BACKEND_SERVICE,
    &FORWARD_REQUEST,
    &SEND_REQUEST,
    &SEND_ONE_WAY_REQUEST,
    &PROXY,
    &INVOKE_DAPR_BINDING,
    &PUBLISH_TO_DAPR,
    &SEND_SERVICE_BUS_MESSAGE,
    &CACHE_LOOKUP,
    &CACHE_STORE,
    &CACHE_LOOKUP_VALUE,
    &CACHE_STORE_VALUE,
    &CACHE_REMOVE_VALUE,
    &RATE_LIMIT,
    &RATE_LIMIT_BY_KEY,
    &QUOTA,
    &QUOTA_BY_KEY,
    &AZURE_OPENAI_TOKEN_LIMIT,
    &LLM_TOKEN_LIMIT,
    &AZURE_OPENAI_EMIT_TOKEN_METRIC,
    &LLM_EMIT_TOKEN_METRIC,
    &AZURE_OPENAI_SEMANTIC_CACHE_LOOKUP,
    &LLM_SEMANTIC_CACHE_LOOKUP,
    &AZURE_OPENAI_SEMANTIC_CACHE_STORE,
    &LLM_SEMANTIC_CACHE_STORE,
    &LLM_CONTENT_SAFETY,
    &AUTHENTICATION_MANAGED_IDENTITY,
    &AUTHENTICATION_BASIC,
    &AUTHENTICATION_CERTIFICATE,
    &GET_AUTHORIZATION_CONTEXT,
    &VALIDATE_JWT,
    &VALIDATE_AZURE_AD_TOKEN,
    &VALIDATE_CLIENT_CERTIFICATE,
    &CHECK_HEADER,
    &IP_FILTER,
    &CORS,
    &JSONP,
    &CROSS_DOMAIN,
    &REDIRECT_CONTENT_URLS,
    &VALIDATE_CONTENT,
    &VALIDATE_PARAMETERS,
    &VALIDATE_HEADERS,
    &VALIDATE_STATUS_CODE,
    &VALIDATE_ODATA_REQUEST,
    &VALIDATE_GRAPHQL_REQUEST,
    &TRACE,
    &LOG_TO_EVENTHUB,
    &EMIT_METRIC,
];

/// The spec of a policy element by name.
pub fn policy_spec(name: &str) -> Option<&'static ElementSpec> {
    POLICIES.iter().copied().find(|p| p.name() == name)
}

/// All policy specs.
pub fn policies() -> &'static [&'static ElementSpec] {
    POLICIES
}

/// The XSLT parameter child of xsl-transform (kept for the engine; content is markup).
pub fn xsl_parameter_spec() -> &'static ElementSpec {
    &XSL_PARAMETER
}

/// Edit distance (Levenshtein), bounded: names are short.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().take(64).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate to `name`, if close enough to be a likely typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(name, c);
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let (d, c) = best?;
    let limit = (name.chars().count().max(c.len()) / 3).max(1);
    (d <= limit).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_name_is_a_kind_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for p in POLICIES {
            assert_eq!(ElementKind::from_name(p.name()), Some(p.kind));
            assert!(seen.insert(p.name()), "duplicate {}", p.name());
            assert!(p.sections != 0, "{} has no section", p.name());
        }
        assert!(POLICIES.len() >= 65);
    }

    #[test]
    fn suggestions_for_typos() {
        let names = POLICIES.iter().map(|p| p.name());
        assert_eq!(
            suggest("invoke-darp-binding", names.clone()),
            Some("invoke-dapr-binding")
        );
        assert_eq!(suggest("set-heder", names.clone()), Some("set-header"));
        assert_eq!(suggest("completely-different", names), None);
    }
}
