//! The APIOps fixture (fixtures/apiops, the extractor's layout) loads into the expected
//! ServiceDefinition; secrets come from the environment; `--env prod` applies overrides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use apim_engine::service::*;
use apim_gateway::config::{ConfigFormat, Environment, ErrorKind, LoadOptions, load};

fn fixture() -> PathBuf {
    Path::new("../../fixtures/apiops").to_path_buf()
}

fn env(pairs: &[(&str, &str)]) -> Environment {
    Environment::Map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn secrets() -> Vec<(&'static str, &'static str)> {
    vec![
        ("APIM_NV_AOAI_EASTUS_KEY", "east-secret"),
        ("APIM_NV_AOAI_WESTUS_KEY", "west-secret"),
        ("APIM_SUB_TEAM_ALPHA_PRIMARY_KEY", "alpha-primary"),
    ]
}

fn policy(rel: &str) -> PolicySource {
    let p = fixture().join(rel);
    let text = std::fs::read_to_string(&p).unwrap();
    PolicySource::file(p, text)
}

const ARM: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ai-gateway/providers/Microsoft.ApiManagement/service/apim-ai-gateway/backends/";

fn throttling_rule(
    percentage: Option<u32>,
    count: Option<u32>,
    secs: u64,
    ranges: Vec<StatusCodeRange>,
    reasons: Vec<String>,
    accept: bool,
) -> CircuitBreaker {
    CircuitBreaker {
        rules: vec![CircuitBreakerRule {
            name: "openai-throttling".into(),
            failure_condition: FailureCondition {
                count,
                percentage,
                interval: IsoDuration(Duration::from_secs(secs)),
                status_code_ranges: ranges,
                error_reasons: reasons,
            },
            trip_duration: IsoDuration(Duration::from_secs(secs)),
            accept_retry_after: accept,
        }],
    }
}

fn expected() -> ServiceDefinition {
    let op = |id: &str, name: &str, tail: &str, policy_rel: Option<&str>| Operation {
        id: id.into(),
        name: name.into(),
        method: "POST".into(),
        url_template: format!("/deployments/{{deployment-id}}/{tail}?api-version={{api-version}}"),
        policy: policy_rel.map(policy),
        // The fixture's specification declares `200: OK` with no content.
        responses: vec![OperationResponse {
            status_code: 200,
            description: "OK".into(),
            representations: Vec::new(),
        }],
    };
    ServiceDefinition {
        service_name: "apiops".into(),
        region: "local".into(),
        global_policy: Some(policy("policy.xml")),
        workspaces: vec![],
        apis: vec![Api {
            id: "azure-openai".into(),
            name: "Azure OpenAI".into(),
            path: "openai".into(),
            service_url: Some("https://aoai-eastus.openai.azure.com/openai".into()),
            protocols: vec!["https".into()],
            subscription_required: true,
            subscription_key_parameter_names: SubscriptionKeyParameterNames {
                header: "api-key".into(),
                query: "api-key".into(),
            },
            revision: "1".into(),
            is_current_revision: true,
            version: None,
            versioning_scheme: None,
            policy: Some(policy("apis/azure-openai/policy.xml")),
            operations: vec![
                op(
                    "ChatCompletions_Create",
                    "Creates a chat completion",
                    "chat/completions",
                    Some("apis/azure-openai/operations/ChatCompletions_Create/policy.xml"),
                ),
                op(
                    "Completions_Create",
                    "Creates a completion",
                    "completions",
                    None,
                ),
                op(
                    "embeddings_create",
                    "Creates embeddings",
                    "embeddings",
                    Some("apis/azure-openai/operations/embeddings_create/policy.xml"),
                ),
            ],
            ..Default::default()
        }],
        products: vec![Product {
            id: "ai-starter".into(),
            name: "AI Starter".into(),
            description: "Azure OpenAI access for internal teams".into(),
            state: ProductState::Published,
            subscription_required: true,
            approval_required: false,
            subscriptions_limit: Some(10),
            apis: vec!["azure-openai".into()],
            groups: vec![],
            policy: Some(policy("products/ai-starter/policy.xml")),
            ..Default::default()
        }],
        subscriptions: vec![Subscription {
            id: "team-alpha".into(),
            name: "Team Alpha".into(),
            primary_key: "alpha-primary".into(),
            secondary_key: String::new(),
            scope: SubscriptionScope::Product("ai-starter".into()),
            state: SubscriptionState::Active,
            allow_tracing: true,
            ..Default::default()
        }],
        users: vec![],
        groups: vec![],
        named_values: vec![
            NamedValue {
                name: "aoai-eastus-key".into(),
                value: "east-secret".into(),
                secret: true,
            },
            NamedValue {
                name: "aoai-westus-key".into(),
                value: "west-secret".into(),
                secret: true,
            },
            NamedValue {
                name: "tokens-per-minute".into(),
                value: "5000".into(),
                secret: false,
            },
        ],
        policy_fragments: vec![PolicyFragment {
            id: "retry-on-429".into(),
            source: policy("policy fragments/retry-on-429/policy.xml"),
        }],
        backends: vec![
            Backend {
                id: "aoai-eastus".into(),
                backend_type: BackendType::Single,
                url: Some("https://aoai-eastus.openai.azure.com/openai".into()),
                protocol: Some("http".into()),
                description: Some("Azure OpenAI, East US (primary)".into()),
                credentials: BackendCredentials {
                    header: BTreeMap::from([(
                        "api-key".to_string(),
                        vec!["{{aoai-eastus-key}}".to_string()],
                    )]),
                    ..Default::default()
                },
                tls: BackendTls::default(),
                circuit_breaker: Some(throttling_rule(
                    None,
                    Some(1),
                    60,
                    vec![
                        StatusCodeRange { min: 429, max: 429 },
                        StatusCodeRange { min: 500, max: 599 },
                    ],
                    vec![],
                    true,
                )),
                ..Default::default()
            },
            Backend {
                id: "aoai-pool".into(),
                backend_type: BackendType::Pool,
                description: Some(
                    "Priority pool: East US first, West US when East US is tripped".into(),
                ),
                pool: Some(BackendPool {
                    services: vec![
                        PoolMember {
                            id: format!("{ARM}aoai-eastus"),
                            priority: Some(1),
                            weight: Some(3),
                        },
                        PoolMember {
                            id: format!("{ARM}aoai-westus"),
                            priority: Some(2),
                            weight: Some(1),
                        },
                    ],
                }),
                ..Default::default()
            },
            Backend {
                id: "aoai-westus".into(),
                backend_type: BackendType::Single,
                url: Some("https://aoai-westus.openai.azure.com/openai".into()),
                protocol: Some("http".into()),
                description: Some("Azure OpenAI, West US (fallback)".into()),
                credentials: BackendCredentials {
                    header: BTreeMap::from([(
                        "api-key".to_string(),
                        vec!["{{aoai-westus-key}}".to_string()],
                    )]),
                    ..Default::default()
                },
                circuit_breaker: Some(throttling_rule(
                    Some(50),
                    None,
                    30,
                    vec![StatusCodeRange { min: 429, max: 429 }],
                    vec!["Server errors".into()],
                    false,
                )),
                ..Default::default()
            },
        ],
    }
}

#[test]
fn apiops_fixture_loads_into_the_expected_service() {
    let loaded = load(
        &fixture(),
        &LoadOptions {
            env: None,
            environment: env(&secrets()),
        },
    )
    .unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(loaded.format, ConfigFormat::ApiOps);
    let want = expected();
    // Field by field first, for readable failures.
    assert_eq!(loaded.service.apis, want.apis);
    assert_eq!(loaded.service.backends, want.backends);
    assert_eq!(loaded.service.named_values, want.named_values);
    assert_eq!(loaded.service.products, want.products);
    assert_eq!(loaded.service.subscriptions, want.subscriptions);
    assert_eq!(loaded.service, want);
    // Pool members resolve to the Single backends by name.
    let pool = loaded
        .service
        .backend("aoai-pool")
        .unwrap()
        .pool
        .as_ref()
        .unwrap();
    let ids: Vec<&str> = pool.services.iter().map(PoolMember::backend_id).collect();
    assert_eq!(ids, ["aoai-eastus", "aoai-westus"]);
    // Unemulated folders are reported, not silently skipped.
    let notes = loaded.notes.join("\n");
    for ignored in ["gateways/", "loggers/", "tags/"] {
        assert!(notes.contains(ignored), "no note for {ignored}: {notes}");
    }
    // Every file read is listed for --watch.
    assert!(
        loaded
            .files
            .iter()
            .any(|f| f.ends_with("specification.yaml"))
    );
    assert!(
        loaded
            .files
            .iter()
            .any(|f| f.ends_with("policy fragments/retry-on-429/policy.xml"))
    );
}

#[test]
fn env_prod_applies_publisher_overrides_and_tokens() {
    let mut vars = secrets();
    vars.retain(|(k, _)| *k != "APIM_NV_AOAI_WESTUS_KEY");
    vars.push(("AOAI_WESTUS_KEY_PROD", "west-prod-secret"));
    let loaded = load(
        &fixture(),
        &LoadOptions {
            env: Some("prod".into()),
            environment: env(&vars),
        },
    )
    .unwrap_or_else(|e| panic!("{}", e.render()));
    let s = &loaded.service;
    assert_eq!(s.named_value("tokens-per-minute").unwrap().value, "20000");
    assert_eq!(
        s.named_value("aoai-westus-key").unwrap().value,
        "west-prod-secret"
    );
    assert!(
        s.named_value("aoai-westus-key").unwrap().secret,
        "the Key Vault named value stays secret"
    );
    let east = s.backend("aoai-eastus").unwrap();
    assert_eq!(
        east.url.as_deref(),
        Some("https://aoai-eastus-prod.openai.azure.com/openai")
    );
    // Properties the override does not name are kept.
    assert!(east.circuit_breaker.is_some());
    assert!(
        loaded
            .notes
            .iter()
            .any(|n| n.contains("`loggers` overrides are not emulated")),
        "{:?}",
        loaded.notes
    );
}

#[test]
fn missing_secrets_are_named_in_one_error() {
    let err = load(
        &fixture(),
        &LoadOptions {
            env: None,
            environment: env(&[]),
        },
    )
    .unwrap_err();
    assert_eq!(err.diagnostics.len(), 1, "{}", err.render());
    let d = &err.diagnostics[0];
    assert_eq!(d.kind, ErrorKind::MissingSecret);
    let text = d.render();
    for var in [
        "APIM_NV_AOAI_EASTUS_KEY",
        "APIM_NV_AOAI_WESTUS_KEY",
        "APIM_SUB_TEAM_ALPHA_PRIMARY_KEY",
    ] {
        assert!(text.contains(var), "{var} not named in:\n{text}");
    }
}

#[test]
fn unknown_environment_is_an_error() {
    let err = load(
        &fixture(),
        &LoadOptions {
            env: Some("qa".into()),
            environment: env(&secrets()),
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("no configuration.qa.yaml"),
        "{err}"
    );
}
