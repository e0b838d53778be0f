//! Simulator configuration: deployments with their model, limits, latency and faults.
//! Read from YAML or JSON; every deployment can be replaced at run time (admin endpoint).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What a deployment's model does, which decides the operations it serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Chat completions (gpt-4o, gpt-35-turbo, gpt-4 ...).
    Chat,
    /// Legacy completions (gpt-35-turbo-instruct, davinci-002, babbage-002).
    Completions,
    /// Embeddings (text-embedding-ada-002, text-embedding-3-small/large).
    Embeddings,
}

impl ModelKind {
    /// The kind a model name implies.
    pub fn for_model(model: &str) -> ModelKind {
        let m = model.to_ascii_lowercase();
        if m.contains("embedding") {
            ModelKind::Embeddings
        } else if m.contains("instruct") || m.starts_with("davinci") || m.starts_with("babbage") {
            ModelKind::Completions
        } else {
            ModelKind::Chat
        }
    }
}

/// The whole simulator configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorConfig {
    /// Seed for generated text, embeddings, ids and fault draws.
    #[serde(default)]
    pub seed: u64,
    /// Which keys are accepted (`api-key` header or `Authorization: Bearer`).
    #[serde(default)]
    pub auth: AuthConfig,
    /// Deployments by name (the `{deployment}` of the Azure path, or `model` of /v1 calls).
    #[serde(default)]
    pub deployments: BTreeMap<String, DeploymentConfig>,
    /// Azure AI Content Safety endpoints (`/contentsafety/...`).
    #[serde(
        default,
        skip_serializing_if = "crate::safety::ContentSafetyConfig::is_empty"
    )]
    pub content_safety: crate::safety::ContentSafetyConfig,
}

/// Accepted keys.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Keys accepted.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Accept any non-empty key. Defaults to true when `keys` is empty, false otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_any_key: Option<bool>,
}

impl AuthConfig {
    /// Whether a presented key is accepted. A missing or empty key never is (as in Azure).
    pub fn accepts(&self, key: &str) -> bool {
        if key.is_empty() {
            return false;
        }
        if self.allow_any_key.unwrap_or(self.keys.is_empty()) {
            return true;
        }
        self.keys.iter().any(|k| k == key)
    }
}

/// One deployment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentConfig {
    /// Model name, e.g. `gpt-4o`, `gpt-35-turbo`, `text-embedding-3-small`. Decides the
    /// tokenizer (o200k_base for the gpt-4o family, cl100k_base otherwise) and the kind.
    pub model: String,
    /// Model version; the response's `model` is `{model}-{model_version}` when set (Azure
    /// reports e.g. `gpt-4o-2024-08-06`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
    /// Overrides the kind implied by the model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ModelKind>,
    /// Tokens-per-minute limit (sliding 60 s window, charged at admission). None: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u64>,
    /// Requests-per-minute limit (sliding 60 s window). None: derived from the TPM limit the
    /// way Azure does (6 RPM per 1000 TPM); 0: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u64>,
    /// Context window in tokens (prompt + max_tokens). None: the model's known window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    /// Length of generated answers, in tokens, before `max_tokens` cuts them.
    #[serde(default)]
    pub response_tokens: TokenRange,
    /// Latency model. All zero (the default): answers at once.
    #[serde(default)]
    pub latency: LatencyConfig,
    /// Fault injection.
    #[serde(default)]
    pub faults: FaultConfig,
    /// Embedding dimensions when the request does not ask for any. None: the model's native
    /// size (1536 for ada-002 and 3-small, 3072 for 3-large).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<usize>,
}

impl DeploymentConfig {
    /// A deployment of `model` with no limits, no latency and no faults.
    pub fn new(model: impl Into<String>) -> Self {
        DeploymentConfig {
            model: model.into(),
            model_version: None,
            kind: None,
            tokens_per_minute: None,
            requests_per_minute: None,
            context_window: None,
            response_tokens: TokenRange::default(),
            latency: LatencyConfig::default(),
            faults: FaultConfig::default(),
            dimensions: None,
        }
    }

    pub fn kind(&self) -> ModelKind {
        self.kind
            .unwrap_or_else(|| ModelKind::for_model(&self.model))
    }

    /// The `model` value reported in responses.
    pub fn reported_model(&self) -> String {
        match &self.model_version {
            Some(v) if !v.is_empty() => format!("{}-{}", self.model, v),
            _ => self.model.clone(),
        }
    }

    /// Effective requests-per-minute limit.
    pub fn effective_rpm(&self) -> Option<u64> {
        match self.requests_per_minute {
            Some(0) => None,
            Some(n) => Some(n),
            None => self.tokens_per_minute.map(|tpm| (tpm * 6 / 1000).max(1)),
        }
    }

    /// Effective context window.
    pub fn effective_context_window(&self) -> u64 {
        self.context_window
            .unwrap_or_else(|| known_context_window(&self.model))
    }

    /// The model's native embedding size.
    pub fn native_dimensions(&self) -> usize {
        let m = self.model.to_ascii_lowercase();
        if m.contains("3-large") { 3072 } else { 1536 }
    }

    /// Whether the model accepts a `dimensions` parameter (text-embedding-3 and later).
    pub fn supports_dimensions(&self) -> bool {
        !self.model.to_ascii_lowercase().contains("ada")
    }

    fn validate(&self, name: &str) -> Result<(), ConfigError> {
        let bad = |msg: String| ConfigError::Invalid {
            deployment: name.to_string(),
            message: msg,
        };
        if self.model.trim().is_empty() {
            return Err(bad("`model` must not be empty".into()));
        }
        if self.response_tokens.min == 0 || self.response_tokens.min > self.response_tokens.max {
            return Err(bad(format!(
                "`response_tokens` needs 1 <= min <= max, got {}..{}",
                self.response_tokens.min, self.response_tokens.max
            )));
        }
        let f = &self.faults;
        for (field, rate) in [
            ("error_500_rate", f.error_500_rate),
            ("error_503_rate", f.error_503_rate),
            ("timeout_rate", f.timeout_rate),
            ("drop_rate", f.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(bad(format!(
                    "`faults.{field}` must be within 0..1, got {rate}"
                )));
            }
        }
        let total = f.error_500_rate + f.error_503_rate + f.timeout_rate + f.drop_rate;
        if total > 1.0 + 1e-9 {
            return Err(bad(format!("fault rates add up to {total}, more than 1")));
        }
        if let Some(d) = self.dimensions {
            if d == 0 || d > self.native_dimensions() {
                return Err(bad(format!(
                    "`dimensions` must be within 1..={}, got {d}",
                    self.native_dimensions()
                )));
            }
        }
        Ok(())
    }
}

/// Context windows of well-known models (prompt + completion).
fn known_context_window(model: &str) -> u64 {
    let m = model.to_ascii_lowercase();
    if m.contains("embedding") {
        8192
    } else if m.starts_with("gpt-4o")
        || m.starts_with("gpt-4-turbo")
        || m.starts_with("o1")
        || m.starts_with("o3")
        || m.starts_with("o4")
    {
        128_000
    } else if m.starts_with("gpt-4.1") {
        1_047_576
    } else if m.starts_with("gpt-4-32k") {
        32_768
    } else if m.starts_with("gpt-4") {
        8192
    } else if m.contains("instruct") {
        4097
    } else if m.starts_with("gpt-35-turbo") || m.starts_with("gpt-3.5-turbo") {
        16_385
    } else {
        128_000
    }
}

/// An inclusive range of token counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRange {
    pub min: u32,
    pub max: u32,
}

impl Default for TokenRange {
    fn default() -> Self {
        TokenRange { min: 20, max: 60 }
    }
}

/// Latency model: time to first token, then time per further output token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyConfig {
    #[serde(default)]
    pub time_to_first_token_ms: u64,
    #[serde(default)]
    pub time_per_token_ms: u64,
}

impl LatencyConfig {
    pub fn is_off(&self) -> bool {
        self.time_to_first_token_ms == 0 && self.time_per_token_ms == 0
    }
}

/// Fault injection: shares of requests (0..1) that fail in each way, drawn from the seeded RNG.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Share answered `500 InternalServerError`.
    #[serde(default)]
    pub error_500_rate: f64,
    /// Share answered `503 ServiceUnavailable`.
    #[serde(default)]
    pub error_503_rate: f64,
    /// Share that never answers: the connection is held `timeout_seconds`, then dropped.
    #[serde(default)]
    pub timeout_rate: f64,
    /// How long a timed-out request is held before its connection is dropped.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// Share whose connection is dropped at once, without a response.
    #[serde(default)]
    pub drop_rate: f64,
}

fn default_timeout_seconds() -> u64 {
    120
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            error_500_rate: 0.0,
            error_503_rate: 0.0,
            timeout_rate: 0.0,
            timeout_seconds: default_timeout_seconds(),
            drop_rate: 0.0,
        }
    }
}

impl FaultConfig {
    pub fn is_off(&self) -> bool {
        self.error_500_rate == 0.0
            && self.error_503_rate == 0.0
            && self.timeout_rate == 0.0
            && self.drop_rate == 0.0
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid YAML configuration: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("invalid JSON configuration: {0}")]
    Json(#[from] serde_json::Error),
    #[error("deployment `{deployment}`: {message}")]
    Invalid { deployment: String, message: String },
}

impl SimulatorConfig {
    /// Reads a `.json` file as JSON, anything else as YAML.
    pub fn from_path(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            Self::from_json_str(&text)
        } else {
            Self::from_yaml_str(&text)
        }
    }

    pub fn from_yaml_str(text: &str) -> Result<Self, ConfigError> {
        let config: SimulatorConfig = serde_yaml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    pub fn from_json_str(text: &str) -> Result<Self, ConfigError> {
        let config: SimulatorConfig = serde_json::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every deployment.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, d) in &self.deployments {
            d.validate(name)?;
        }
        Ok(())
    }

    /// The default set: gpt-4o, gpt-35-turbo, text-embedding-ada-002, text-embedding-3-small,
    /// with Azure's default S0 limits and any key accepted.
    pub fn default_deployments() -> Self {
        let mut deployments = BTreeMap::new();
        let mut gpt4o = DeploymentConfig::new("gpt-4o");
        gpt4o.model_version = Some("2024-08-06".into());
        gpt4o.tokens_per_minute = Some(150_000);
        deployments.insert("gpt-4o".to_string(), gpt4o);
        let mut gpt35 = DeploymentConfig::new("gpt-35-turbo");
        gpt35.tokens_per_minute = Some(120_000);
        deployments.insert("gpt-35-turbo".to_string(), gpt35);
        let mut ada = DeploymentConfig::new("text-embedding-ada-002");
        ada.tokens_per_minute = Some(120_000);
        deployments.insert("text-embedding-ada-002".to_string(), ada);
        let mut small = DeploymentConfig::new("text-embedding-3-small");
        small.tokens_per_minute = Some(120_000);
        deployments.insert("text-embedding-3-small".to_string(), small);
        SimulatorConfig {
            seed: 0,
            auth: AuthConfig::default(),
            deployments,
            content_safety: Default::default(),
        }
    }
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self::default_deployments()
    }
}

/// Validates one deployment (used by the admin endpoint).
pub fn validate_deployment(name: &str, d: &DeploymentConfig) -> Result<(), ConfigError> {
    d.validate(name)
}

/// The configuration as YAML (what `apim-emu simulate --print-config` shows).
pub fn to_yaml(config: &SimulatorConfig) -> Result<String, ConfigError> {
    Ok(serde_yaml::to_string(config)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_config_reads_limits_latency_and_faults() {
        let c = SimulatorConfig::from_yaml_str(
            r#"
seed: 7
auth: { keys: [k1] }
deployments:
  chat:
    model: gpt-4o
    tokens_per_minute: 1000
    latency: { time_to_first_token_ms: 200, time_per_token_ms: 10 }
    faults: { error_503_rate: 0.5, timeout_seconds: 5 }
  emb:
    model: text-embedding-3-large
"#,
        )
        .unwrap();
        assert_eq!(c.seed, 7);
        let chat = &c.deployments["chat"];
        assert_eq!(chat.kind(), ModelKind::Chat);
        assert_eq!(chat.effective_rpm(), Some(6));
        assert_eq!(chat.latency.time_per_token_ms, 10);
        assert_eq!(chat.faults.error_503_rate, 0.5);
        assert_eq!(chat.faults.timeout_seconds, 5);
        assert_eq!(c.deployments["emb"].kind(), ModelKind::Embeddings);
        assert_eq!(c.deployments["emb"].native_dimensions(), 3072);
        assert!(c.auth.accepts("k1"));
        assert!(!c.auth.accepts("k2"));
    }

    #[test]
    fn unknown_fields_and_bad_rates_are_errors() {
        let e = SimulatorConfig::from_yaml_str("deployments: { a: { model: gpt-4o, tpm: 3 } }")
            .unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let e = SimulatorConfig::from_yaml_str(
            "deployments: { a: { model: gpt-4o, faults: { error_500_rate: 0.7, drop_rate: 0.6 } } }",
        )
        .unwrap_err();
        assert!(e.to_string().contains("add up to"), "{e}");
    }

    #[test]
    fn any_key_by_default_but_never_an_empty_one() {
        let a = AuthConfig::default();
        assert!(a.accepts("whatever"));
        assert!(!a.accepts(""));
    }
}
