//! fixtures/config/full/apim-emu.yaml uses every field of the format; it loads into the expected
//! ServiceDefinition.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use apim_engine::service::*;
use apim_gateway::config::{
    ConfigFormat, Environment, LoadOptions, SimulatorBackend, SimulatorDeployment,
    SimulatorSettings, load,
};

const DIR: &str = "../../fixtures/config/full";

fn env(pairs: &[(&str, &str)]) -> Environment {
    Environment::Map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn policy(rel: &str) -> Option<PolicySource> {
    let p = Path::new(DIR).join(rel);
    let text = std::fs::read_to_string(&p).unwrap();
    Some(PolicySource::file(p, text))
}

fn loaded() -> apim_gateway::LoadedConfig {
    // The directory is accepted as well as the file; AOAI_KEY comes from the process map and wins
    // over .env, TEAM_ALPHA_SECONDARY comes from .env.
    load(
        Path::new(DIR),
        &LoadOptions {
            env: None,
            environment: env(&[("AOAI_KEY", "key-from-env")]),
        },
    )
    .unwrap_or_else(|e| panic!("{}", e.render()))
}

#[test]
fn service_named_values_and_fragments() {
    let l = loaded();
    assert_eq!(l.format, ConfigFormat::File);
    assert_eq!(l.root, Path::new(DIR).join("apim-emu.yaml"));
    let s = &l.service;
    assert_eq!(s.service_name, "apim-ai-gateway");
    assert_eq!(s.region, "West Europe");
    assert_eq!(s.global_policy, policy("policies/global.xml"));
    let nv: Vec<(&str, &str, bool)> = s
        .named_values
        .iter()
        .map(|n| (n.name.as_str(), n.value.as_str(), n.secret))
        .collect();
    assert_eq!(
        nv,
        [
            (
                "aoai-endpoint",
                "https://aoai-eastus.openai.azure.com/openai",
                false
            ),
            ("max-tokens", "4096", false),
            ("aoai-key", "key-from-env", true),
            ("tenant-id", "00000000-0000-0000-0000-000000000001", false),
            ("signing-secret", "s3cr3t", true),
        ]
    );
    assert_eq!(
        s.workspaces,
        [Workspace {
            id: "ai-team".into(),
            name: "AI team".into(),
            policy: policy("policies/workspace.xml"),
        }]
    );
    assert_eq!(
        s.policy_fragments,
        [PolicyFragment {
            id: "retry-on-429".into(),
            source: policy("fragments/retry-on-429.xml").unwrap()
        }]
    );
}

#[test]
fn dotenv_supplies_what_the_environment_does_not() {
    let l = load(Path::new(DIR), &LoadOptions::default_with(env(&[]))).unwrap();
    assert_eq!(
        l.service.named_value("aoai-key").unwrap().value,
        "key-from-dotenv"
    );
    assert_eq!(l.service.subscriptions[0].secondary_key, "alpha secondary");
}

trait WithEnv {
    fn default_with(e: Environment) -> Self;
}
impl WithEnv for LoadOptions {
    fn default_with(e: Environment) -> Self {
        LoadOptions {
            env: None,
            environment: e,
        }
    }
}

#[test]
fn apis_and_operations() {
    let l = loaded();
    let api = l.service.api("azure-openai").unwrap();
    let want = Api {
        id: "azure-openai".into(),
        name: "Azure OpenAI".into(),
        path: "openai".into(),
        service_url: Some("https://aoai-eastus.openai.azure.com/openai".into()),
        protocols: vec!["https".into(), "http".into()],
        subscription_required: true,
        subscription_key_parameter_names: SubscriptionKeyParameterNames {
            header: "api-key".into(),
            query: "api-key".into(),
        },
        revision: "3".into(),
        is_current_revision: true,
        version: Some("v1".into()),
        versioning_scheme: Some(VersioningScheme::Query {
            name: "api-version".into(),
        }),
        policy: policy("policies/openai-api.xml"),
        workspace: Some("ai-team".into()),
        operations: vec![
            Operation {
                id: "ChatCompletions_Create".into(),
                name: "Creates a chat completion".into(),
                method: "POST".into(),
                url_template:
                    "/deployments/{deployment-id}/chat/completions?api-version={api-version}".into(),
                policy: policy("policies/chat.xml"),
                responses: Vec::new(),
            },
            Operation {
                id: "embeddings_create".into(),
                name: "embeddings_create".into(),
                method: "POST".into(),
                url_template: "/deployments/{deployment-id}/embeddings?api-version={api-version}"
                    .into(),
                policy: None,
                responses: Vec::new(),
            },
            Operation {
                id: "health".into(),
                name: "Health probe".into(),
                method: "GET".into(),
                url_template: "/health".into(),
                policy: policy("policies/health.xml"),
                responses: Vec::new(),
            },
        ],
    };
    assert_eq!(api, &want);
    let echo = l.service.api("echo").unwrap();
    assert!(!echo.subscription_required);
    assert_eq!(echo.protocols, ["https"]);
    assert_eq!(
        echo.subscription_key_parameter_names,
        SubscriptionKeyParameterNames::default()
    );
    assert_eq!(
        (
            echo.operations[0].method.as_str(),
            echo.operations[0].url_template.as_str()
        ),
        ("*", "/*")
    );
}

#[test]
fn products_subscriptions_users_groups() {
    let l = loaded();
    let s = &l.service;
    let p = s.product("ai-starter").unwrap();
    assert_eq!(
        p,
        &Product {
            id: "ai-starter".into(),
            name: "AI Starter".into(),
            description: "Internal teams".into(),
            state: ProductState::Published,
            subscription_required: true,
            approval_required: true,
            subscriptions_limit: Some(5),
            apis: vec!["azure-openai".into()],
            groups: vec!["developers".into()],
            policy: policy("policies/product.xml"),
            workspace: Some("ai-team".into()),
        }
    );
    let open = s.product("open").unwrap();
    assert!(!open.subscription_required);
    assert_eq!(open.state, ProductState::NotPublished);
    let alpha = &s.subscriptions[0];
    assert_eq!(alpha.id, "team-alpha");
    assert_eq!(alpha.name, "Team Alpha");
    assert_eq!(alpha.primary_key, "alpha-primary-key");
    assert_eq!(alpha.scope, SubscriptionScope::Product("ai-starter".into()));
    assert_eq!(alpha.user_id.as_deref(), Some("alice"));
    assert!(alpha.allow_tracing);
    assert_eq!(
        alpha.start_date.unwrap().to_rfc3339(),
        "2025-01-01T00:00:00+00:00"
    );
    assert_eq!(
        alpha.end_date.unwrap().to_rfc3339(),
        "2029-12-31T23:00:00+00:00"
    );
    assert_eq!(
        s.subscriptions[1].scope,
        SubscriptionScope::Api("echo".into())
    );
    assert_eq!(s.subscriptions[1].state, SubscriptionState::Suspended);
    assert_eq!(s.subscriptions[2].scope, SubscriptionScope::AllApis);
    let alice = s.user("alice").unwrap();
    assert_eq!(
        (
            alice.email.as_str(),
            alice.first_name.as_str(),
            alice.last_name.as_str(),
            alice.note.as_deref()
        ),
        ("alice@example.com", "Alice", "Doe", Some("team lead"))
    );
    assert_eq!(alice.groups, ["developers"]);
    assert_eq!(
        s.groups,
        [Group {
            id: "developers".into(),
            name: "Developers".into()
        }]
    );
}

#[test]
fn backends_pools_and_the_simulator() {
    let l = loaded();
    let s = &l.service;
    let east = s.backend("aoai-eastus").unwrap();
    assert_eq!(
        east,
        &Backend {
            id: "aoai-eastus".into(),
            backend_type: BackendType::Single,
            url: Some("https://aoai-eastus.openai.azure.com/openai".into()),
            protocol: Some("http".into()),
            title: Some("East US".into()),
            description: Some("Primary Azure OpenAI".into()),
            resource_id: Some("/subscriptions/0000/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/aoai-eastus".into()),
            credentials: BackendCredentials {
                header: BTreeMap::from([
                    ("api-key".to_string(), vec!["{{aoai-key}}".to_string()]),
                    ("x-tenant".to_string(), vec!["{{tenant-id}}".to_string(), "second".to_string()]),
                ]),
                query: BTreeMap::from([("trace".to_string(), vec!["1".to_string()])]),
                authorization: Some(BackendAuthorization { scheme: "Bearer".into(), parameter: "{{signing-secret}}".into() }),
                certificate_ids: vec!["client-cert".into()],
            },
            tls: BackendTls { validate_certificate_chain: false, validate_certificate_name: false },
            circuit_breaker: Some(CircuitBreaker {
                rules: vec![CircuitBreakerRule {
                    name: "throttling".into(),
                    failure_condition: FailureCondition {
                        count: Some(3),
                        percentage: None,
                        interval: IsoDuration(Duration::from_secs(60)),
                        status_code_ranges: vec![StatusCodeRange { min: 429, max: 429 }, StatusCodeRange { min: 500, max: 599 }],
                        error_reasons: vec!["Timeout".into()],
                    },
                    trip_duration: IsoDuration(Duration::from_secs(30)),
                    accept_retry_after: true,
                }],
            }),
            pool: None,
            azure_region: Some("eastus".into()),
        }
    );
    let west = s.backend("aoai-westus").unwrap();
    assert_eq!(west.tls, BackendTls::default(), "TLS checks default to on");
    assert_eq!(west.protocol.as_deref(), Some("http"));
    let pool = s.backend("aoai-pool").unwrap();
    assert_eq!(pool.backend_type, BackendType::Pool);
    let members: Vec<(&str, Option<u32>, Option<u32>)> = pool
        .pool
        .as_ref()
        .unwrap()
        .services
        .iter()
        .map(|m| (m.backend_id(), m.priority, m.weight))
        .collect();
    assert_eq!(
        members,
        [
            ("aoai-eastus", Some(1), Some(3)),
            ("aoai-westus", Some(1), Some(1)),
            ("aoai-sim", Some(2), None)
        ]
    );
    // The simulator backend is a Single backend on a placeholder URL until the host wires it.
    let sim = s.backend("aoai-sim").unwrap();
    assert_eq!(sim.backend_type, BackendType::Single);
    assert_eq!(
        sim.url.as_deref(),
        Some("http://aoai-sim.simulator.invalid")
    );
    assert_eq!(
        l.simulators,
        [SimulatorBackend {
            id: "aoai-sim".into(),
            settings: SimulatorSettings {
                deployments: BTreeMap::from([(
                    "gpt-4o".to_string(),
                    SimulatorDeployment {
                        model: Some("gpt-4o".into()),
                        tokens_per_minute: Some(10000),
                        requests_per_minute: Some(60)
                    }
                )]),
                latency_ms: Some(20),
                seed: Some(7),
            },
        }]
    );
}

#[test]
fn every_file_read_is_listed_for_watch() {
    let l = loaded();
    let names: Vec<String> = l
        .files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    for f in [
        "apim-emu.yaml",
        "azure-openai.json",
        "retry-on-429.xml",
        "global.xml",
        "chat.xml",
    ] {
        assert!(names.iter().any(|n| n == f), "{f} missing from {names:?}");
    }
}
