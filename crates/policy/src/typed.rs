//! A typed view of the model: [`Policy`] has one variant per policy element, each a struct with
//! one field per attribute (`Value` when required, `Option<Value>` when optional) and typed
//! child elements. Built from a validated [`Element`] with [`Policy::from_element`]; the engine
//! can match on it instead of reading attributes by name.
//!
//! Attribute names map to snake_case fields (`exists-action` → `exists_action`). A required
//! attribute is always present in a document that read without errors.

use crate::model::{AttrValue, Content, Element, ElementKind, Markup, Section, Value};
use crate::span::Span;

use ElementKind as K;

impl Value {
    /// An empty literal: what a required attribute holds if the element was built without
    /// validation.
    pub fn missing() -> Value {
        Value {
            value: AttrValue::Literal(String::new()),
            span: Span::NONE,
        }
    }
}

macro_rules! field_ty {
    (req) => { Value };
    (opt) => { Option<Value> };
}

macro_rules! field_get {
    (req, $e:ident, $a:literal) => {
        $e.attr($a).cloned().unwrap_or_else(Value::missing)
    };
    (opt, $e:ident, $a:literal) => {
        $e.attr($a).cloned()
    };
}

/// Declares element structs: attributes (`field: req|opt "name"`) and content fields computed
/// by a helper function (`+ field: Type = helper`).
macro_rules! elements {
    ($(
        $(#[$m:meta])*
        $name:ident {
            $( $field:ident : $req:ident $attr:literal ),* $(,)?
            $( ; $( + $cfield:ident : $cty:ty = $cfn:path ),* $(,)? )?
        }
    )*) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// The optional `id` attribute every policy accepts (→ `context.LastError.PolicyId`).
            pub id: Option<Value>,
            $( pub $field: field_ty!($req), )*
            $( $( pub $cfield: $cty, )* )?
            pub span: Span,
        }

        impl $name {
            pub fn from_element(e: &Element) -> $name {
                $name {
                    id: e.attr("id").cloned(),
                    $( $field: field_get!($req, e, $attr), )*
                    $( $( $cfield: $cfn(e), )* )?
                    span: e.span,
                }
            }
        }
    )*};
}

/// Text or markup content of an element (set-body, xsl-transform ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    None,
    Text(Value),
    Markup(Markup),
}

fn policies_of(e: &Element) -> Vec<Policy> {
    e.children()
        .iter()
        .filter_map(Policy::from_element)
        .collect()
}

fn text_of(e: &Element) -> Value {
    e.text().cloned().unwrap_or_else(Value::missing)
}

fn opt_text(e: &Element) -> Option<Value> {
    e.text().cloned()
}

fn body_of(e: &Element) -> Body {
    match &e.content {
        Content::Text(v) => Body::Text(v.clone()),
        Content::Markup(m) => Body::Markup(m.clone()),
        _ => Body::None,
    }
}

fn texts(e: &Element, kind: ElementKind) -> Vec<Value> {
    e.children_of(kind).map(text_of).collect()
}

fn values_of(e: &Element) -> Vec<Value> {
    texts(e, K::Value)
}

fn child<T>(e: &Element, kind: ElementKind, f: fn(&Element) -> T) -> Option<T> {
    e.children_of(kind).next().map(f)
}

fn all<T>(e: &Element, kind: ElementKind, f: fn(&Element) -> T) -> Vec<T> {
    e.children_of(kind).map(f).collect()
}

/// The `list` children's `item` children, read with `f` (`<required-claims><claim>` ...).
fn nested_all<T>(
    e: &Element,
    list: ElementKind,
    item: ElementKind,
    f: fn(&Element) -> T,
) -> Vec<T> {
    e.children_of(list).flat_map(|l| all(l, item, f)).collect()
}
fn nested_texts(e: &Element, list: ElementKind, item: ElementKind) -> Vec<Value> {
    e.children_of(list).flat_map(|l| texts(l, item)).collect()
}
/// The text of the first child of this kind, if any.
fn first_text(e: &Element, kind: ElementKind) -> Option<Value> {
    e.children_of(kind).next().and_then(opt_text)
}

/// Declares the content helpers `elements!` takes by path: `helper: reader(args) -> Type`
/// becomes `fn helper(e) -> Type { reader(e, args) }`.
macro_rules! content_readers {
    ($( $helper:ident : $reader:ident ( $($arg:expr),* ) -> $ty:ty; )*) => {
        $( fn $helper(e: &Element) -> $ty { $reader(e, $($arg),*) } )*
    };
}

content_readers! {
    whens: all(K::When, When::from_element) -> Vec<When>;
    otherwise: child(K::Otherwise, policies_of) -> Option<Vec<Policy>>;
    dimensions: all(K::Dimension, Dimension::from_element) -> Vec<Dimension>;
    vary_by_headers: texts(K::VaryByHeader) -> Vec<Value>;
    vary_by_query_parameters: texts(K::VaryByQueryParameter) -> Vec<Value>;
    vary_by: texts(K::VaryBy) -> Vec<Value>;
    set_status: child(K::SetStatus, SetStatus::from_element) -> Option<SetStatus>;
    set_headers: all(K::SetHeader, SetHeader::from_element) -> Vec<SetHeader>;
    set_body: child(K::SetBody, SetBody::from_element) -> Option<SetBody>;
    set_url: first_text(K::SetUrl) -> Option<Value>;
    set_method: first_text(K::SetMethod) -> Option<Value>;
    proxy: child(K::Proxy, Proxy::from_element) -> Option<Proxy>;
    limit_apis: all(K::Api, LimitApi::from_element) -> Vec<LimitApi>;
    limit_operations: all(K::Operation, LimitOperation::from_element) -> Vec<LimitOperation>;
    categories: child(K::Categories, Categories::from_element) -> Option<Categories>;
    category_list: all(K::Category, Category::from_element) -> Vec<Category>;
    blocklists: nested_texts(K::Blocklists, K::Id) -> Vec<Value>;
    openid_configs: all(K::OpenidConfig, OpenidConfig::from_element) -> Vec<OpenidConfig>;
    issuer_signing_keys: nested_all(K::IssuerSigningKeys, K::Key, Key::from_element) -> Vec<Key>;
    decryption_keys: nested_all(K::DecryptionKeys, K::Key, Key::from_element) -> Vec<Key>;
    audiences: nested_texts(K::Audiences, K::Audience) -> Vec<Value>;
    issuers: nested_texts(K::Issuers, K::Issuer) -> Vec<Value>;
    client_application_ids: nested_texts(K::ClientApplicationIds, K::ApplicationId) -> Vec<Value>;
    backend_application_ids: nested_texts(K::BackendApplicationIds, K::ApplicationId) -> Vec<Value>;
    required_claims: nested_all(K::RequiredClaims, K::Claim, Claim::from_element) -> Vec<Claim>;
    identities: nested_all(K::Identities, K::Identity, CertificateIdentity::from_element)
        -> Vec<CertificateIdentity>;
    addresses: texts(K::Address) -> Vec<Value>;
    address_ranges: all(K::AddressRange, AddressRange::from_element) -> Vec<AddressRange>;
    allowed_origins: nested_texts(K::AllowedOrigins, K::Origin) -> Vec<Value>;
    allowed_methods: child(K::AllowedMethods, AllowedMethods::from_element) -> Option<AllowedMethods>;
    methods: texts(K::Method) -> Vec<Value>;
    allowed_headers: nested_texts(K::AllowedHeaders, K::Header) -> Vec<Value>;
    expose_headers: nested_texts(K::ExposeHeaders, K::Header) -> Vec<Value>;
    content_type_map: child(K::ContentTypeMap, ContentTypeMap::from_element) -> Option<ContentTypeMap>;
    content_type_mappings: all(K::Type, ContentTypeMapping::from_element) -> Vec<ContentTypeMapping>;
    content_rules: all(K::Content, ContentRule::from_element) -> Vec<ContentRule>;
    parameter_rules: all(K::Parameter, ParameterRule::from_element) -> Vec<ParameterRule>;
    header_parameters: child(K::Headers, ParameterGroup::from_element) -> Option<ParameterGroup>;
    query_parameters: child(K::Query, ParameterGroup::from_element) -> Option<ParameterGroup>;
    path_parameters: child(K::Path, ParameterGroup::from_element) -> Option<ParameterGroup>;
    header_rules: all(K::Header, HeaderRule::from_element) -> Vec<HeaderRule>;
    status_code_rules: all(K::StatusCode, StatusCodeRule::from_element) -> Vec<StatusCodeRule>;
    graphql_rules: nested_all(K::Authorize, K::Rule, GraphqlRule::from_element) -> Vec<GraphqlRule>;
    trace_metadata: all(K::Metadata, TraceMetadata::from_element) -> Vec<TraceMetadata>;
    dapr_metadata: nested_all(K::Metadata, K::Item, MetadataItem::from_element) -> Vec<MetadataItem>;
    dapr_data: first_text(K::Data) -> Option<Value>;
    message_properties: nested_all(K::MessageProperties, K::MessageProperty, MessageProperty::from_element)
        -> Vec<MessageProperty>;
    payload: first_text(K::Payload) -> Option<Value>;
}

fn request_authentication(e: &Element) -> Vec<Policy> {
    e.children()
        .iter()
        .filter(|c| {
            matches!(
                c.kind,
                K::AuthenticationBasic
                    | K::AuthenticationCertificate
                    | K::AuthenticationManagedIdentity
            )
        })
        .filter_map(Policy::from_element)
        .collect()
}
fn trace_message(e: &Element) -> Option<Value> {
    // the older syntax has the message as the element's text
    e.text()
        .cloned()
        .or_else(|| e.children_of(K::Message).next().and_then(opt_text))
}

elements! {
    // ---- child elements ----
    /// `<when condition>` of `choose`.
    When { condition: req "condition"; + policies: Vec<Policy> = policies_of }
    /// `<dimension>` of emit-metric and the token-metric policies.
    Dimension { name: req "name", value: opt "value" }
    /// `<api>` of rate-limit / quota.
    LimitApi {
        name: opt "name", api_id: opt "id", calls: opt "calls", bandwidth: opt "bandwidth",
        renewal_period: opt "renewal-period";
        + operations: Vec<LimitOperation> = limit_operations
    }
    /// `<operation>` inside `<api>` of rate-limit / quota.
    LimitOperation {
        name: opt "name", operation_id: opt "id", calls: opt "calls", bandwidth: opt "bandwidth",
        renewal_period: opt "renewal-period"
    }
    Categories { output_type: opt "output-type"; + categories: Vec<Category> = category_list }
    Category { name: req "name", threshold: req "threshold" }
    OpenidConfig { url: req "url", validate_connectivity: opt "validate-connectivity" }
    /// `<key>` of issuer-signing-keys / decryption-keys (text: base64 key).
    Key {
        key_id: opt "id", certificate_id: opt "certificate-id", n: opt "n", e: opt "e";
        + value: Option<Value> = opt_text
    }
    Claim {
        name: req "name", match_: opt "match", separator: opt "separator";
        + values: Vec<Value> = values_of
    }
    CertificateIdentity {
        thumbprint: opt "thumbprint", serial_number: opt "serial-number",
        common_name: opt "common-name", subject: opt "subject", dns_name: opt "dns-name",
        issuer_subject: opt "issuer-subject", issuer_thumbprint: opt "issuer-thumbprint",
        issuer_certificate_id: opt "issuer-certificate-id"
    }
    AddressRange { from: req "from", to: req "to" }
    AllowedMethods {
        preflight_result_max_age: opt "preflight-result-max-age";
        + methods: Vec<Value> = methods
    }
    ContentTypeMap {
        any_content_type_value: opt "any-content-type-value",
        missing_content_type_value: opt "missing-content-type-value";
        + types: Vec<ContentTypeMapping> = content_type_mappings
    }
    /// `<type>` of content-type-map.
    ContentTypeMapping { any: opt "any", from: opt "from", when: opt "when", to: req "to" }
    /// `<content>` of validate-content.
    ContentRule {
        content_type: opt "type", validate_as: req "validate-as", schema_id: opt "schema-id",
        schema_ref: opt "schema-ref", allow_additional_properties: opt "allow-additional-properties",
        case_insensitive_property_names: opt "case-insensitive-property-names", action: req "action"
    }
    /// `<headers>`, `<query>`, `<path>` of validate-parameters.
    ParameterGroup {
        specified_parameter_action: opt "specified-parameter-action",
        unspecified_parameter_action: opt "unspecified-parameter-action";
        + parameters: Vec<ParameterRule> = parameter_rules
    }
    ParameterRule { name: req "name", action: req "action" }
    /// `<header>` of validate-headers.
    HeaderRule { name: req "name", action: req "action" }
    StatusCodeRule { code: req "code", action: req "action" }
    /// `<rule>` of validate-graphql-request's `<authorize>`.
    GraphqlRule { path: req "path", action: opt "action" }
    /// `<metadata>` of trace.
    TraceMetadata { name: req "name", value: req "value" }
    /// `<item>` of invoke-dapr-binding's `<metadata>`.
    MetadataItem { key: req "key"; + value: Value = text_of }
    MessageProperty { name: req "name"; + value: Value = text_of }

    // ---- policies ----
    Base {}
    IncludeFragment { fragment_id: req "fragment-id" }
    Choose { ; + whens: Vec<When> = whens, + otherwise: Option<Vec<Policy>> = otherwise }
    SetVariable { name: req "name", value: req "value" }
    Retry {
        condition: req "condition", count: req "count", interval: req "interval",
        max_interval: opt "max-interval", delta: opt "delta", first_fast_retry: opt "first-fast-retry";
        + policies: Vec<Policy> = policies_of
    }
    ReturnResponse {
        response_variable_name: opt "response-variable-name";
        + set_status: Option<SetStatus> = set_status,
        + set_headers: Vec<SetHeader> = set_headers,
        + set_body: Option<SetBody> = set_body
    }
    MockResponse { status_code: opt "status-code", content_type: opt "content-type", index: opt "index" }
    Wait { for_: opt "for"; + policies: Vec<Policy> = policies_of }
    LimitConcurrency { key: req "key", max_count: req "max-count"; + policies: Vec<Policy> = policies_of }
    SetHeader { name: req "name", exists_action: opt "exists-action"; + values: Vec<Value> = values_of }
    SetQueryParameter { name: req "name", exists_action: opt "exists-action"; + values: Vec<Value> = values_of }
    SetBody {
        template: opt "template", xsi_nil: opt "xsi-nil", parse_date: opt "parse-date";
        + body: Body = body_of
    }
    SetMethod { ; + method: Value = text_of }
    SetStatus { code: req "code", reason: req "reason" }
    RewriteUri { template: req "template", copy_unmatched_params: opt "copy-unmatched-params" }
    FindAndReplace { from: req "from", to: req "to" }
    JsonToXml {
        apply: req "apply", consider_accept_header: opt "consider-accept-header",
        parse_date: opt "parse-date", namespace_separator: opt "namespace-separator",
        namespace_prefix: opt "namespace-prefix", attribute_block_name: opt "attribute-block-name"
    }
    XmlToJson {
        kind: req "kind", apply: req "apply", consider_accept_header: opt "consider-accept-header",
        always_array_child_elements: opt "always-array-child-elements"
    }
    XslTransform { ; + stylesheet: Body = body_of }
    SetBackendService {
        base_url: opt "base-url", backend_id: opt "backend-id",
        sf_resolve_condition: opt "sf-resolve-condition",
        sf_service_instance_name: opt "sf-service-instance-name",
        sf_partition_key: opt "sf-partition-key", sf_replica_type: opt "sf-replica-type",
        sf_listener_name: opt "sf-listener-name", dapr_app_id: opt "dapr-app-id",
        dapr_method: opt "dapr-method", dapr_namespace: opt "dapr-namespace"
    }
    ForwardRequest {
        timeout: opt "timeout", timeout_ms: opt "timeout-ms", continue_timeout: opt "continue-timeout",
        http_version: opt "http-version", follow_redirects: opt "follow-redirects",
        buffer_request_body: opt "buffer-request-body", buffer_response: opt "buffer-response",
        fail_on_error_status_code: opt "fail-on-error-status-code"
    }
    SendRequest {
        mode: opt "mode", response_variable_name: req "response-variable-name",
        timeout: opt "timeout", ignore_error: opt "ignore-error";
        + set_url: Option<Value> = set_url,
        + set_method: Option<Value> = set_method,
        + set_headers: Vec<SetHeader> = set_headers,
        + set_body: Option<SetBody> = set_body,
        + authentication: Vec<Policy> = request_authentication,
        + proxy: Option<Proxy> = proxy
    }
    SendOneWayRequest {
        mode: opt "mode", timeout: opt "timeout";
        + set_url: Option<Value> = set_url,
        + set_method: Option<Value> = set_method,
        + set_headers: Vec<SetHeader> = set_headers,
        + set_body: Option<SetBody> = set_body,
        + authentication: Vec<Policy> = request_authentication,
        + proxy: Option<Proxy> = proxy
    }
    Proxy { url: req "url", username: opt "username", password: opt "password" }
    InvokeDaprBinding {
        name: req "name", operation: opt "operation", ignore_error: opt "ignore-error",
        response_variable_name: opt "response-variable-name", timeout: opt "timeout",
        template: opt "template", content_type: opt "content-type";
        + metadata: Vec<MetadataItem> = dapr_metadata,
        + data: Option<Value> = dapr_data
    }
    PublishToDapr {
        topic: req "topic", pubsub_name: opt "pubsub-name", ignore_error: opt "ignore-error",
        response_variable_name: opt "response-variable-name", timeout: opt "timeout",
        template: opt "template", content_type: opt "content-type";
        + message: Option<Value> = opt_text
    }
    SendServiceBusMessage {
        queue_name: opt "queue-name", topic_name: opt "topic-name", namespace: opt "namespace",
        client_id: opt "client-id";
        + message_properties: Vec<MessageProperty> = message_properties,
        + payload: Option<Value> = payload
    }
    CacheLookup {
        vary_by_developer: req "vary-by-developer", vary_by_developer_groups: req "vary-by-developer-groups",
        caching_type: opt "caching-type", downstream_caching_type: opt "downstream-caching-type",
        must_revalidate: opt "must-revalidate", allow_private_response_caching: opt "allow-private-response-caching";
        + vary_by_headers: Vec<Value> = vary_by_headers,
        + vary_by_query_parameters: Vec<Value> = vary_by_query_parameters
    }
    CacheStore { duration: req "duration", cache_response: opt "cache-response" }
    CacheLookupValue {
        key: req "key", variable_name: req "variable-name", default_value: opt "default-value",
        caching_type: opt "caching-type"
    }
    CacheStoreValue { key: req "key", value: req "value", duration: req "duration", caching_type: opt "caching-type" }
    CacheRemoveValue { key: req "key", caching_type: opt "caching-type" }
    RateLimit {
        calls: req "calls", renewal_period: req "renewal-period",
        retry_after_header_name: opt "retry-after-header-name",
        retry_after_variable_name: opt "retry-after-variable-name",
        remaining_calls_header_name: opt "remaining-calls-header-name",
        remaining_calls_variable_name: opt "remaining-calls-variable-name",
        total_calls_header_name: opt "total-calls-header-name";
        + apis: Vec<LimitApi> = limit_apis
    }
    RateLimitByKey {
        calls: req "calls", renewal_period: req "renewal-period", counter_key: req "counter-key",
        increment_condition: opt "increment-condition", increment_count: opt "increment-count",
        retry_after_header_name: opt "retry-after-header-name",
        retry_after_variable_name: opt "retry-after-variable-name",
        remaining_calls_header_name: opt "remaining-calls-header-name",
        remaining_calls_variable_name: opt "remaining-calls-variable-name",
        total_calls_header_name: opt "total-calls-header-name"
    }
    Quota {
        calls: opt "calls", bandwidth: opt "bandwidth", renewal_period: req "renewal-period";
        + apis: Vec<LimitApi> = limit_apis
    }
    QuotaByKey {
        calls: opt "calls", bandwidth: opt "bandwidth", renewal_period: req "renewal-period",
        counter_key: req "counter-key", increment_condition: opt "increment-condition",
        increment_count: opt "increment-count", first_period_start: opt "first-period-start"
    }
    AzureOpenAiTokenLimit {
        counter_key: req "counter-key", tokens_per_minute: opt "tokens-per-minute",
        token_quota: opt "token-quota", token_quota_period: opt "token-quota-period",
        estimate_prompt_tokens: req "estimate-prompt-tokens",
        retry_after_header_name: opt "retry-after-header-name",
        retry_after_variable_name: opt "retry-after-variable-name",
        remaining_quota_tokens_header_name: opt "remaining-quota-tokens-header-name",
        remaining_quota_tokens_variable_name: opt "remaining-quota-tokens-variable-name",
        remaining_tokens_header_name: opt "remaining-tokens-header-name",
        remaining_tokens_variable_name: opt "remaining-tokens-variable-name",
        tokens_consumed_header_name: opt "tokens-consumed-header-name",
        tokens_consumed_variable_name: opt "tokens-consumed-variable-name"
    }
    AzureOpenAiEmitTokenMetric { namespace: opt "namespace", value: opt "value"; + dimensions: Vec<Dimension> = dimensions }
    LlmEmitTokenMetric { namespace: opt "namespace"; + dimensions: Vec<Dimension> = dimensions }
    AzureOpenAiSemanticCacheLookup {
        score_threshold: req "score-threshold", embeddings_backend_id: req "embeddings-backend-id",
        embeddings_backend_auth: req "embeddings-backend-auth",
        ignore_system_messages: opt "ignore-system-messages", max_message_count: opt "max-message-count";
        + vary_by: Vec<Value> = vary_by
    }
    AzureOpenAiSemanticCacheStore { duration: req "duration" }
    LlmContentSafety {
        backend_id: req "backend-id", shield_prompt: opt "shield-prompt",
        enforce_on_completions: opt "enforce-on-completions", window_size: opt "window-size",
        window_overlap_size: opt "window-overlap-size";
        + categories: Option<Categories> = categories,
        + blocklists: Vec<Value> = blocklists
    }
    AuthenticationManagedIdentity {
        resource: req "resource", client_id: opt "client-id",
        output_token_variable_name: opt "output-token-variable-name", ignore_error: opt "ignore-error"
    }
    AuthenticationBasic { username: req "username", password: req "password" }
    AuthenticationCertificate {
        thumbprint: opt "thumbprint", certificate_id: opt "certificate-id", body: opt "body",
        password: opt "password"
    }
    GetAuthorizationContext {
        provider_id: req "provider-id", authorization_id: req "authorization-id",
        context_variable_name: req "context-variable-name", identity_type: opt "identity-type",
        identity: opt "identity", ignore_error: opt "ignore-error"
    }
    ValidateJwt {
        header_name: opt "header-name", query_parameter_name: opt "query-parameter-name",
        token_value: opt "token-value", failed_validation_httpcode: opt "failed-validation-httpcode",
        failed_validation_error_message: opt "failed-validation-error-message",
        require_expiration_time: opt "require-expiration-time", require_scheme: opt "require-scheme",
        require_signed_tokens: opt "require-signed-tokens", clock_skew: opt "clock-skew",
        output_token_variable_name: opt "output-token-variable-name";
        + openid_configs: Vec<OpenidConfig> = openid_configs,
        + issuer_signing_keys: Vec<Key> = issuer_signing_keys,
        + decryption_keys: Vec<Key> = decryption_keys,
        + audiences: Vec<Value> = audiences,
        + issuers: Vec<Value> = issuers,
        + required_claims: Vec<Claim> = required_claims
    }
    ValidateAzureAdToken {
        tenant_id: req "tenant-id", header_name: opt "header-name",
        query_parameter_name: opt "query-parameter-name", token_value: opt "token-value",
        failed_validation_httpcode: opt "failed-validation-httpcode",
        failed_validation_error_message: opt "failed-validation-error-message",
        output_token_variable_name: opt "output-token-variable-name";
        + client_application_ids: Vec<Value> = client_application_ids,
        + backend_application_ids: Vec<Value> = backend_application_ids,
        + audiences: Vec<Value> = audiences,
        + required_claims: Vec<Claim> = required_claims
    }
    ValidateClientCertificate {
        validate_revocation: opt "validate-revocation", validate_trust: opt "validate-trust",
        validate_not_before: opt "validate-not-before", validate_not_after: opt "validate-not-after",
        ignore_error: opt "ignore-error";
        + identities: Vec<CertificateIdentity> = identities
    }
    CheckHeader {
        name: req "name", failed_check_httpcode: req "failed-check-httpcode",
        failed_check_error_message: req "failed-check-error-message", ignore_case: req "ignore-case";
        + values: Vec<Value> = values_of
    }
    IpFilter {
        action: req "action";
        + addresses: Vec<Value> = addresses,
        + address_ranges: Vec<AddressRange> = address_ranges
    }
    Cors {
        allow_credentials: opt "allow-credentials",
        terminate_unmatched_request: opt "terminate-unmatched-request";
        + allowed_origins: Vec<Value> = allowed_origins,
        + allowed_methods: Option<AllowedMethods> = allowed_methods,
        + allowed_headers: Vec<Value> = allowed_headers,
        + expose_headers: Vec<Value> = expose_headers
    }
    Jsonp { callback_parameter_name: req "callback-parameter-name" }
    CrossDomain { ; + policy: Body = body_of }
    RedirectContentUrls {}
    ValidateContent {
        unspecified_content_type_action: req "unspecified-content-type-action",
        max_size: req "max-size", size_exceeded_action: req "size-exceeded-action",
        errors_variable_name: opt "errors-variable-name";
        + content_type_map: Option<ContentTypeMap> = content_type_map,
        + contents: Vec<ContentRule> = content_rules
    }
    ValidateParameters {
        specified_parameter_action: req "specified-parameter-action",
        unspecified_parameter_action: req "unspecified-parameter-action",
        errors_variable_name: opt "errors-variable-name";
        + headers: Option<ParameterGroup> = header_parameters,
        + query: Option<ParameterGroup> = query_parameters,
        + path: Option<ParameterGroup> = path_parameters
    }
    ValidateHeaders {
        specified_header_action: req "specified-header-action",
        unspecified_header_action: req "unspecified-header-action",
        errors_variable_name: opt "errors-variable-name";
        + headers: Vec<HeaderRule> = header_rules
    }
    ValidateStatusCode {
        unspecified_status_code_action: req "unspecified-status-code-action",
        errors_variable_name: opt "errors-variable-name";
        + status_codes: Vec<StatusCodeRule> = status_code_rules
    }
    ValidateOdataRequest {
        error_variable_name: opt "error-variable-name", default_odata_version: opt "default-odata-version",
        min_odata_version: opt "min-odata-version", max_odata_version: opt "max-odata-version",
        max_size: opt "max-size"
    }
    ValidateGraphqlRequest {
        error_variable_name: opt "error-variable-name", max_size: req "max-size",
        max_depth: opt "max-depth";
        + rules: Vec<GraphqlRule> = graphql_rules
    }
    Trace {
        source: req "source", severity: opt "severity";
        + message: Option<Value> = trace_message,
        + metadata: Vec<TraceMetadata> = trace_metadata
    }
    LogToEventhub {
        logger_id: req "logger-id", partition_id: opt "partition-id", partition_key: opt "partition-key";
        + message: Value = text_of
    }
    EmitMetric { name: req "name", value: opt "value", namespace: opt "namespace"; + dimensions: Vec<Dimension> = dimensions }
}

macro_rules! policy_enum {
    ($($v:ident,)*) => {
        /// One variant per policy element (boxed: the structs are large and sizes differ).
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Policy { $($v(Box<$v>),)* }

        impl Policy {
            /// The typed policy for a policy element (`None` for child elements).
            pub fn from_element(e: &Element) -> Option<Policy> {
                match e.kind {
                    $(ElementKind::$v => Some(Policy::$v(Box::new($v::from_element(e)))),)*
                    _ => None,
                }
            }

            pub fn kind(&self) -> ElementKind {
                match self { $(Policy::$v(_) => ElementKind::$v,)* }
            }

            /// The `id` attribute (→ `context.LastError.PolicyId`).
            pub fn id(&self) -> Option<&Value> {
                match self { $(Policy::$v(p) => p.id.as_ref(),)* }
            }

            pub fn span(&self) -> Span {
                match self { $(Policy::$v(p) => p.span,)* }
            }
        }
    };
}

policy_enum! {
    Base, IncludeFragment, Choose, SetVariable, Retry, ReturnResponse, MockResponse, Wait,
    LimitConcurrency, SetHeader, SetQueryParameter, SetBody, SetMethod, SetStatus, RewriteUri,
    FindAndReplace, JsonToXml, XmlToJson, XslTransform, SetBackendService, ForwardRequest,
    SendRequest, SendOneWayRequest, Proxy, InvokeDaprBinding, PublishToDapr,
    SendServiceBusMessage, CacheLookup, CacheStore, CacheLookupValue, CacheStoreValue,
    CacheRemoveValue, RateLimit, RateLimitByKey, Quota, QuotaByKey, AzureOpenAiTokenLimit,
    LlmTokenLimit, AzureOpenAiEmitTokenMetric, LlmEmitTokenMetric,
    AzureOpenAiSemanticCacheLookup, LlmSemanticCacheLookup, AzureOpenAiSemanticCacheStore,
    LlmSemanticCacheStore, LlmContentSafety, AuthenticationManagedIdentity, AuthenticationBasic,
    AuthenticationCertificate, GetAuthorizationContext, ValidateJwt, ValidateAzureAdToken,
    ValidateClientCertificate, CheckHeader, IpFilter, Cors, Jsonp, CrossDomain,
    RedirectContentUrls, ValidateContent, ValidateParameters, ValidateHeaders,
    ValidateStatusCode, ValidateOdataRequest, ValidateGraphqlRequest, Trace, LogToEventhub,
    EmitMetric,
}

// The llm-* policies take the same attributes as their azure-openai-* forms.
pub type LlmTokenLimit = AzureOpenAiTokenLimit;
pub type LlmSemanticCacheLookup = AzureOpenAiSemanticCacheLookup;
pub type LlmSemanticCacheStore = AzureOpenAiSemanticCacheStore;

impl Section {
    /// The section's statements as typed policies.
    pub fn typed_policies(&self) -> Vec<Policy> {
        self.policies
            .iter()
            .filter_map(Policy::from_element)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;

    #[test]
    fn every_policy_in_the_schema_has_a_typed_variant() {
        for spec in schema::policies() {
            let e = Element {
                kind: spec.kind,
                attributes: Vec::new(),
                content: Content::Empty,
                span: Span::NONE,
            };
            let p = Policy::from_element(&e).expect("typed variant");
            assert_eq!(p.kind(), spec.kind);
        }
    }
}
