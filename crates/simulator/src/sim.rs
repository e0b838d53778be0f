//! The simulator: routing, authentication, validation, limits, faults, latency and answers.
// Validation helpers return the finished error response; it is built once per refused request.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::Body;
use crate::azure;
use crate::clock::{Clock, SystemClock, unix_seconds};
use crate::config::{
    ConfigError, DeploymentConfig, ModelKind, SimulatorConfig, validate_deployment,
};
use crate::embed;
use crate::generate::{self, Generated};
use crate::limits::{Admission, LimitKind, Windows, retry_after_seconds};
use crate::rng::{RandomSource, SeededRng, stable_hash};
use crate::tokens::{self, CountOptions, Encoding, Operation, TextInput, TokenError};

/// The connection was dropped without a response (fault injection). Servers close the
/// connection; an in-process caller should treat it as a failed backend connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the simulated backend dropped the connection")]
pub struct ConnectionDropped;

struct DeploymentState {
    config: DeploymentConfig,
    windows: Arc<Mutex<Windows>>,
}

struct Inner {
    seed: u64,
    auth: crate::config::AuthConfig,
    content_safety: crate::safety::ContentSafetyConfig,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn RandomSource>,
    deployments: RwLock<HashMap<String, Arc<DeploymentState>>>,
}

/// An Azure OpenAI compatible backend. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

/// Builds a [`Simulator`] with injected time and randomness.
pub struct SimulatorBuilder {
    config: SimulatorConfig,
    clock: Option<Arc<dyn Clock>>,
    rng: Option<Arc<dyn RandomSource>>,
}

impl SimulatorBuilder {
    /// Uses `clock` for `created`, rate-limit windows and latency.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Uses `rng` for fault draws and ids.
    pub fn rng(mut self, rng: Arc<dyn RandomSource>) -> Self {
        self.rng = Some(rng);
        self
    }

    pub fn build(self) -> Result<Simulator, ConfigError> {
        self.config.validate()?;
        let seed = self.config.seed;
        let content_safety = self.config.content_safety;
        let deployments = self
            .config
            .deployments
            .into_iter()
            .map(|(name, config)| {
                (
                    name,
                    Arc::new(DeploymentState {
                        config,
                        windows: Arc::new(Mutex::new(Windows::default())),
                    }),
                )
            })
            .collect();
        Ok(Simulator {
            inner: Arc::new(Inner {
                seed,
                auth: self.config.auth,
                content_safety,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                rng: self.rng.unwrap_or_else(|| Arc::new(SeededRng::new(seed))),
                deployments: RwLock::new(deployments),
            }),
        })
    }
}

/// What the request asked for, by route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Azure,
    OpenAi,
}

impl Simulator {
    /// A simulator on the real clock with a RNG seeded from the configuration.
    pub fn new(config: SimulatorConfig) -> Result<Simulator, ConfigError> {
        Self::builder(config).build()
    }

    pub fn builder(config: SimulatorConfig) -> SimulatorBuilder {
        SimulatorBuilder {
            config,
            clock: None,
            rng: None,
        }
    }

    /// Loads the tokenizer tables of every configured model, so the first request does not
    /// pay for it (a few hundred milliseconds).
    pub fn warm_up(&self) {
        for (_, d) in self.deployments() {
            Encoding::for_model(&d.model).count("warm up");
        }
    }

    /// The current configuration of every deployment.
    pub fn deployments(&self) -> Vec<(String, DeploymentConfig)> {
        let mut v: Vec<_> = self
            .inner
            .deployments
            .read()
            .iter()
            .map(|(k, d)| (k.clone(), d.config.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The configuration of one deployment.
    pub fn deployment(&self, name: &str) -> Option<DeploymentConfig> {
        self.inner
            .deployments
            .read()
            .get(name)
            .map(|d| d.config.clone())
    }

    /// Adds or replaces a deployment; usage already counted in its windows is kept.
    pub fn set_deployment(&self, name: &str, config: DeploymentConfig) -> Result<(), ConfigError> {
        validate_deployment(name, &config)?;
        let mut map = self.inner.deployments.write();
        let windows = map.get(name).map(|d| d.windows.clone()).unwrap_or_default();
        map.insert(
            name.to_string(),
            Arc::new(DeploymentState { config, windows }),
        );
        Ok(())
    }

    /// Removes a deployment; true if it existed.
    pub fn remove_deployment(&self, name: &str) -> bool {
        self.inner.deployments.write().remove(name).is_some()
    }

    /// Forgets all rate-limit usage.
    pub fn reset(&self) {
        for d in self.inner.deployments.read().values() {
            d.windows.lock().clear();
        }
    }

    /// Requests and tokens counted in a deployment's current window.
    pub fn usage(&self, name: &str) -> Option<(u64, u64)> {
        let d = self.inner.deployments.read().get(name).cloned()?;
        let now = self.inner.clock.now();
        let usage = d.windows.lock().usage(now);
        Some(usage)
    }

    /// Handles one request in process, with no socket. `Err(ConnectionDropped)` stands for a
    /// connection the backend dropped (fault injection).
    pub async fn handle(&self, req: Request<Bytes>) -> Result<Response<Body>, ConnectionDropped> {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path();
        if let Some(rest) = path.strip_prefix("/_sim/") {
            return Ok(self.admin(&parts.method, rest, &body));
        }
        let query = parts.uri.query().unwrap_or("");
        if let Some(op) = path.strip_prefix("/contentsafety/") {
            return Ok(self.content_safety(&parts.method, op, query, &parts.headers, &body));
        }
        let (style, deployment, operation) = match route(path) {
            Some((s, d, o)) => (s, d.to_string(), o),
            None => match self.only_embeddings_deployment(path) {
                Some(d) => (Style::Azure, d, Operation::Embeddings),
                None => return Ok(azure::resource_not_found()),
            },
        };
        if parts.method != Method::POST {
            return Ok(azure::resource_not_found());
        }
        let api_version = query_param(query, "api-version");
        if style == Style::Azure && api_version.as_deref().is_none_or(str::is_empty) {
            return Ok(azure::resource_not_found());
        }
        if !self.inner.auth.accepts(&presented_key(&parts.headers)) {
            return Ok(azure::access_denied());
        }
        let api_version = api_version.unwrap_or_else(|| "v1".to_string());
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        let deployment_name = match style {
            Style::Azure => deployment.to_string(),
            Style::OpenAi => {
                let Some(Value::Object(obj)) = &parsed else {
                    return Ok(azure::bad_json());
                };
                match obj.get("model").and_then(Value::as_str) {
                    Some(m) => m.to_string(),
                    None => {
                        return Ok(azure::invalid_request(
                            None,
                            "'model' is a required property",
                            Some("model"),
                        ));
                    }
                }
            }
        };
        let Some(state) = self.inner.deployments.read().get(&deployment_name).cloned() else {
            return Ok(azure::deployment_not_found());
        };
        let Some(Value::Object(body)) = parsed else {
            return Ok(azure::bad_json());
        };
        let ctx = RequestContext {
            sim: self,
            state: &state,
            deployment: &deployment_name,
            api_version: &api_version,
        };
        ctx.run(operation, body).await
    }

    /// A POST to the root path: the only embeddings deployment answers it (an embeddings
    /// backend entity whose URL is the simulator itself).
    fn only_embeddings_deployment(&self, path: &str) -> Option<String> {
        if !path.trim_end_matches('/').is_empty() {
            return None;
        }
        let deployments = self.inner.deployments.read();
        let mut embeddings = deployments
            .iter()
            .filter(|(_, d)| d.config.kind() == ModelKind::Embeddings);
        match (embeddings.next(), embeddings.next()) {
            (Some((name, _)), None) => Some(name.clone()),
            _ => None,
        }
    }

    /// `/contentsafety/text:analyze` and `/contentsafety/text:shieldPrompt`.
    fn content_safety(
        &self,
        method: &Method,
        operation: &str,
        query: &str,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Response<Body> {
        let op = operation.trim_end_matches('/');
        if method != Method::POST || !matches!(op, "text:analyze" | "text:shieldPrompt") {
            return azure::resource_not_found();
        }
        if query_param(query, "api-version").is_none_or(|v| v.is_empty()) {
            return azure::resource_not_found();
        }
        let key = headers
            .get("ocp-apim-subscription-key")
            .and_then(|v| v.to_str().ok())
            .map(|k| k.trim().to_string())
            .unwrap_or_else(|| presented_key(headers));
        if !self.inner.auth.accepts(&key) {
            return azure::access_denied();
        }
        let Ok(json) = serde_json::from_slice::<Value>(body) else {
            return crate::safety::invalid_json();
        };
        if op == "text:analyze" {
            crate::safety::analyze(&self.inner.content_safety, &json)
        } else {
            crate::safety::shield_prompt(&json)
        }
    }

    fn admin(&self, method: &Method, rest: &str, body: &Bytes) -> Response<Body> {
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let admin_error = |status: StatusCode, message: String| {
            azure::short_error(status, "InvalidRequest", &message)
        };
        match (method, segments.as_slice()) {
            (&Method::GET, ["deployments"]) => {
                let map: Map<String, Value> = self
                    .deployments()
                    .into_iter()
                    .map(|(k, c)| (k, serde_json::to_value(c).unwrap_or(Value::Null)))
                    .collect();
                azure::json_response(StatusCode::OK, &Value::Object(map))
            }
            (&Method::GET, ["deployments", name]) => match self.deployment(name) {
                Some(c) => azure::json_response(
                    StatusCode::OK,
                    &serde_json::to_value(c).unwrap_or(Value::Null),
                ),
                None => azure::deployment_not_found(),
            },
            (&Method::GET, ["deployments", name, "usage"]) => match self.usage(name) {
                Some((requests, tokens)) => azure::json_response(
                    StatusCode::OK,
                    &json!({"requests_in_window": requests, "tokens_in_window": tokens}),
                ),
                None => azure::deployment_not_found(),
            },
            (&Method::PUT, ["deployments", name]) => {
                let config: DeploymentConfig = match serde_json::from_slice(body) {
                    Ok(c) => c,
                    Err(e) => {
                        return admin_error(
                            StatusCode::BAD_REQUEST,
                            format!("invalid deployment configuration: {e}"),
                        );
                    }
                };
                match self.set_deployment(name, config.clone()) {
                    Ok(()) => azure::json_response(
                        StatusCode::OK,
                        &serde_json::to_value(config).unwrap_or(Value::Null),
                    ),
                    Err(e) => admin_error(StatusCode::BAD_REQUEST, e.to_string()),
                }
            }
            (&Method::DELETE, ["deployments", name]) => {
                if self.remove_deployment(name) {
                    let mut r = Response::new(Body::empty());
                    *r.status_mut() = StatusCode::NO_CONTENT;
                    r
                } else {
                    azure::deployment_not_found()
                }
            }
            (&Method::POST, ["reset"]) => {
                self.reset();
                let mut r = Response::new(Body::empty());
                *r.status_mut() = StatusCode::NO_CONTENT;
                r
            }
            _ => admin_error(
                StatusCode::NOT_FOUND,
                format!("no admin operation {method} /_sim/{rest}"),
            ),
        }
    }
}

/// Azure `/openai/deployments/{d}/{op}` or OpenAI `/v1/{op}` (also `/openai/v1/{op}`).
fn route(path: &str) -> Option<(Style, &str, Operation)> {
    let op = |s: &str| match s {
        "chat/completions" => Some(Operation::ChatCompletions),
        "completions" => Some(Operation::Completions),
        "embeddings" => Some(Operation::Embeddings),
        _ => None,
    };
    let path = path.trim_end_matches('/');
    if let Some(rest) = path.strip_prefix("/openai/deployments/") {
        let (deployment, tail) = rest.split_once('/')?;
        if deployment.is_empty() {
            return None;
        }
        return Some((Style::Azure, deployment, op(tail)?));
    }
    let rest = path
        .strip_prefix("/openai/v1/")
        .or_else(|| path.strip_prefix("/v1/"))?;
    Some((Style::OpenAi, "", op(rest)?))
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| v.replace("%2D", "-").replace("%2d", "-"))
    })
}

fn presented_key(headers: &HeaderMap) -> String {
    if let Some(k) = headers.get("api-key").and_then(|v| v.to_str().ok()) {
        return k.trim().to_string();
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        })
        .unwrap_or_default()
}

fn operation_name(op: Operation) -> &'static str {
    match op {
        Operation::ChatCompletions => "ChatCompletions_Create",
        Operation::Completions => "Completions_Create",
        Operation::Embeddings => "Embeddings_Create",
    }
}

fn operation_word(op: Operation) -> &'static str {
    match op {
        Operation::ChatCompletions => "chatCompletion",
        Operation::Completions => "completion",
        Operation::Embeddings => "embeddings",
    }
}

struct RequestContext<'a> {
    sim: &'a Simulator,
    state: &'a DeploymentState,
    deployment: &'a str,
    api_version: &'a str,
}

/// What a validated request will be answered with.
struct Plan {
    prompt_tokens: usize,
    /// Tokens charged against TPM at admission.
    charge: u64,
    answer: Answer,
}

enum Answer {
    Chat {
        choices: Vec<Generated>,
        stream: bool,
        include_usage: bool,
    },
    Completion {
        choices: Vec<Generated>,
        stream: bool,
        include_usage: bool,
    },
    Embeddings {
        vectors: Vec<Vec<f32>>,
        base64: bool,
    },
}

fn int_param(
    body: &Map<String, Value>,
    name: &'static str,
    min: i64,
    max: i64,
) -> Result<Option<u32>, Response<Body>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n < min => Err(azure::invalid_request(
                None,
                &format!("{n} is less than the minimum of {min} - '{name}'"),
                None,
            )),
            Some(n) if n > max => Err(azure::invalid_request(
                None,
                &format!("{n} is greater than the maximum of {max} - '{name}'"),
                None,
            )),
            Some(n) => Ok(Some(n as u32)),
            None => Err(azure::invalid_request(
                None,
                &format!("{v} is not of type 'integer' - '{name}'"),
                None,
            )),
        },
    }
}

/// A number within `min..=max`, when present (sampling parameters do not change the answer).
fn number_param(
    body: &Map<String, Value>,
    name: &'static str,
    min: f64,
    max: f64,
) -> Result<(), Response<Body>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(()),
        Some(v) => match v.as_f64() {
            Some(x) if x < min => Err(azure::invalid_request(
                None,
                &format!("{v} is less than the minimum of {min} - '{name}'"),
                None,
            )),
            Some(x) if x > max => Err(azure::invalid_request(
                None,
                &format!("{v} is greater than the maximum of {max} - '{name}'"),
                None,
            )),
            Some(_) => Ok(()),
            None => Err(azure::invalid_request(
                None,
                &format!("{v} is not of type 'number' - '{name}'"),
                None,
            )),
        },
    }
}

fn bool_param(body: &Map<String, Value>, name: &'static str) -> Result<bool, Response<Body>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(azure::invalid_request(
            None,
            &format!("{v} is not of type 'boolean' - '{name}'"),
            None,
        )),
    }
}

fn stop_param(body: &Map<String, Value>) -> Result<Vec<String>, Response<Body>> {
    let bad = || {
        azure::invalid_request(
            None,
            "'stop' must be a string or an array of up to 4 strings",
            Some("stop"),
        )
    };
    match body.get("stop") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) if a.len() <= 4 => a
            .iter()
            .map(|s| s.as_str().map(str::to_string).ok_or_else(bad))
            .collect(),
        Some(_) => Err(bad()),
    }
}

fn token_error(e: TokenError) -> Response<Body> {
    match e {
        TokenError::Missing(p) => {
            azure::invalid_request(None, &format!("'{p}' is a required property"), None)
        }
        TokenError::Invalid(m) => azure::invalid_request(None, &m, None),
    }
}

impl RequestContext<'_> {
    fn config(&self) -> &DeploymentConfig {
        &self.state.config
    }

    async fn run(
        &self,
        operation: Operation,
        body: Map<String, Value>,
    ) -> Result<Response<Body>, ConnectionDropped> {
        let kind = self.config().kind();
        let supported = matches!(
            (operation, kind),
            (Operation::ChatCompletions, ModelKind::Chat)
                | (Operation::Completions, ModelKind::Completions)
                | (Operation::Embeddings, ModelKind::Embeddings)
        );
        if !supported {
            return Ok(azure::invalid_request(
                Some("OperationNotSupported"),
                &format!(
                    "The {} operation does not work with the specified model, {}. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.",
                    operation_word(operation),
                    self.config().model
                ),
                None,
            ));
        }
        let plan = match self.plan(operation, &body) {
            Ok(p) => p,
            Err(r) => return Ok(self.with_rate_headers(r, None)),
        };
        let now = self.sim.inner.clock.now();
        let admission = self.state.windows.lock().admit(
            now,
            self.config().effective_rpm(),
            self.config().tokens_per_minute,
            plan.charge,
        );
        if let Some(limit) = admission.refused_by {
            return Ok(self.too_many_requests(operation, limit, &admission));
        }
        match self.draw_fault() {
            Fault::None => {}
            Fault::Status500 => {
                return Ok(self.with_rate_headers(azure::internal_error(), Some(&admission)));
            }
            Fault::Status503 => {
                return Ok(self.with_rate_headers(azure::service_unavailable(), Some(&admission)));
            }
            Fault::Timeout(d) => {
                self.sleep(d).await;
                return Err(ConnectionDropped);
            }
            Fault::Drop => return Err(ConnectionDropped),
        }
        let response = self.answer(plan, now).await;
        Ok(self.with_rate_headers(response, Some(&admission)))
    }

    /// Validates the body, counts the prompt and prepares the answer.
    fn plan(
        &self,
        operation: Operation,
        body: &Map<String, Value>,
    ) -> Result<Plan, Response<Body>> {
        let config = self.config();
        let encoding = Encoding::for_model(&config.model);
        match operation {
            Operation::ChatCompletions => {
                let messages = match body.get("messages") {
                    None => {
                        return Err(azure::invalid_request(
                            None,
                            "'messages' is a required property",
                            None,
                        ));
                    }
                    Some(Value::Array(m)) if m.is_empty() => {
                        return Err(azure::invalid_request(
                            None,
                            "[] is too short - 'messages'",
                            None,
                        ));
                    }
                    Some(Value::Array(m)) => m,
                    Some(other) => {
                        return Err(azure::invalid_request(
                            None,
                            &format!("{other} is not of type 'array' - 'messages'"),
                            None,
                        ));
                    }
                };
                for (i, m) in messages.iter().enumerate() {
                    let Some(obj) = m.as_object() else {
                        return Err(azure::invalid_request(
                            None,
                            &format!("{m} is not of type 'object' - 'messages.{i}'"),
                            None,
                        ));
                    };
                    match obj.get("role").and_then(Value::as_str) {
                        Some(
                            "system" | "user" | "assistant" | "tool" | "function" | "developer",
                        ) => {}
                        Some(r) => {
                            return Err(azure::invalid_request(
                                None,
                                &format!(
                                    "'{r}' is not one of ['system', 'assistant', 'user', 'function', 'tool', 'developer'] - 'messages.{i}.role'"
                                ),
                                None,
                            ));
                        }
                        None => {
                            return Err(azure::invalid_request(
                                None,
                                &format!("'role' is a required property - 'messages.{i}'"),
                                None,
                            ));
                        }
                    }
                }
                let max_tokens = self.max_tokens(body)?;
                let (n, stream, include_usage) = self.common_params(body)?;
                let stop = stop_param(body)?;
                let prompt_tokens =
                    tokens::count_chat_messages(encoding, messages, CountOptions::default())
                        .map_err(token_error)?;
                self.check_context(prompt_tokens, max_tokens)?;
                let base = self.generation_seed(body, &body["messages"]);
                let choices = self.generate_choices(encoding, base, n, max_tokens, &stop);
                let charge = self.charge(prompt_tokens, max_tokens, n, &choices);
                Ok(Plan {
                    prompt_tokens,
                    charge,
                    answer: Answer::Chat {
                        choices,
                        stream,
                        include_usage,
                    },
                })
            }
            Operation::Completions => {
                let prompt = body.get("prompt").ok_or_else(|| {
                    azure::invalid_request(None, "'prompt' is a required property", None)
                })?;
                let prompt_tokens =
                    tokens::count_text_input(encoding, prompt, "prompt").map_err(token_error)?;
                let max_tokens = self.max_tokens(body)?.or(Some(16));
                let (n, stream, include_usage) = self.common_params(body)?;
                let stop = stop_param(body)?;
                self.check_context(prompt_tokens, max_tokens)?;
                let base = self.generation_seed(body, prompt);
                let choices = self.generate_choices(encoding, base, n, max_tokens, &stop);
                let charge = self.charge(prompt_tokens, max_tokens, n, &choices);
                Ok(Plan {
                    prompt_tokens,
                    charge,
                    answer: Answer::Completion {
                        choices,
                        stream,
                        include_usage,
                    },
                })
            }
            Operation::Embeddings => {
                let input = body.get("input").ok_or_else(|| {
                    azure::invalid_request(None, "'input' is a required property", None)
                })?;
                let inputs = tokens::text_inputs(encoding, input, "input").map_err(token_error)?;
                if inputs.len() > 2048 {
                    return Err(azure::invalid_request(
                        None,
                        &format!(
                            "Too many inputs. The max number of inputs is 2048. We received {}.",
                            inputs.len()
                        ),
                        Some("input"),
                    ));
                }
                let limit = config.effective_context_window() as usize;
                for i in &inputs {
                    if i.token_count() > limit {
                        return Err(azure::invalid_request(
                            Some("context_length_exceeded"),
                            &format!(
                                "This model's maximum context length is {limit} tokens, however you requested {} tokens ({} in your prompt; 0 for the completion). Please reduce your prompt; or completion length.",
                                i.token_count(),
                                i.token_count()
                            ),
                            None,
                        ));
                    }
                }
                let dimensions = match body.get("dimensions") {
                    None | Some(Value::Null) => config
                        .dimensions
                        .unwrap_or_else(|| config.native_dimensions()),
                    Some(v) => {
                        if !config.supports_dimensions() {
                            return Err(azure::invalid_request(
                                None,
                                "This model does not support specifying dimensions.",
                                None,
                            ));
                        }
                        match v.as_u64() {
                            Some(d) if d >= 1 && d as usize <= config.native_dimensions() => {
                                d as usize
                            }
                            _ => {
                                return Err(azure::invalid_request(
                                    None,
                                    &format!(
                                        "{v} is not a valid value for 'dimensions': it must be an integer within 1..{}",
                                        config.native_dimensions()
                                    ),
                                    Some("dimensions"),
                                ));
                            }
                        }
                    }
                };
                let base64 = match body.get("encoding_format").and_then(Value::as_str) {
                    None | Some("float") => false,
                    Some("base64") => true,
                    Some(other) => {
                        return Err(azure::invalid_request(
                            None,
                            &format!(
                                "'{other}' is not one of ['float', 'base64'] - 'encoding_format'"
                            ),
                            None,
                        ));
                    }
                };
                let model_seed = stable_hash(self.sim.inner.seed, config.model.as_bytes());
                let vectors = inputs
                    .iter()
                    .map(|i| match i {
                        TextInput::Text { text, .. } => embed::embed(text, dimensions, model_seed),
                        TextInput::Tokens(t) => embed::embed(
                            &encoding.decode_lossy(t).unwrap_or_default(),
                            dimensions,
                            model_seed,
                        ),
                    })
                    .collect();
                let prompt_tokens = inputs.iter().map(TextInput::token_count).sum::<usize>();
                Ok(Plan {
                    prompt_tokens,
                    charge: prompt_tokens as u64,
                    answer: Answer::Embeddings { vectors, base64 },
                })
            }
        }
    }

    fn max_tokens(&self, body: &Map<String, Value>) -> Result<Option<u32>, Response<Body>> {
        let a = int_param(body, "max_tokens", 1, i64::from(u32::MAX))?;
        let b = int_param(body, "max_completion_tokens", 1, i64::from(u32::MAX))?;
        if a.is_some() && b.is_some() {
            return Err(azure::invalid_request(
                Some("invalid_request_error"),
                "max_tokens is not supported together with max_completion_tokens. Use only max_completion_tokens.",
                Some("max_tokens"),
            ));
        }
        Ok(a.or(b))
    }

    fn common_params(
        &self,
        body: &Map<String, Value>,
    ) -> Result<(u32, bool, bool), Response<Body>> {
        let n = int_param(body, "n", 1, 128)?.unwrap_or(1);
        let stream = bool_param(body, "stream")?;
        number_param(body, "temperature", 0.0, 2.0)?;
        number_param(body, "top_p", 0.0, 1.0)?;
        number_param(body, "presence_penalty", -2.0, 2.0)?;
        number_param(body, "frequency_penalty", -2.0, 2.0)?;
        let include_usage = match body.get("stream_options") {
            None | Some(Value::Null) => false,
            Some(Value::Object(o)) => {
                if !stream {
                    return Err(azure::invalid_request(
                        None,
                        "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                        Some("stream_options"),
                    ));
                }
                o.get("include_usage")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            }
            Some(v) => {
                return Err(azure::invalid_request(
                    None,
                    &format!("{v} is not of type 'object' - 'stream_options'"),
                    None,
                ));
            }
        };
        if let Some(seed) = body.get("seed") {
            if !seed.is_null() && !seed.is_i64() && !seed.is_u64() {
                return Err(azure::invalid_request(
                    None,
                    &format!("{seed} is not of type 'integer' - 'seed'"),
                    None,
                ));
            }
        }
        Ok((n, stream, include_usage))
    }

    fn check_context(&self, prompt: usize, max_tokens: Option<u32>) -> Result<(), Response<Body>> {
        let window = self.config().effective_context_window();
        let completion = u64::from(max_tokens.unwrap_or(0));
        let total = prompt as u64 + completion;
        if total > window {
            return Err(azure::invalid_request(
                Some("context_length_exceeded"),
                &format!(
                    "This model's maximum context length is {window} tokens. However, you requested {total} tokens ({prompt} in the messages, {completion} in the completion). Please reduce the length of the messages or completion."
                ),
                Some("messages"),
            ));
        }
        Ok(())
    }

    /// The answer depends on the configuration seed, the deployment, the request's `seed` and
    /// its prompt: the same request always gets the same text.
    fn generation_seed(&self, body: &Map<String, Value>, prompt: &Value) -> u64 {
        let request_seed = body.get("seed").and_then(Value::as_i64).unwrap_or(0) as u64;
        let mut hasher =
            crate::rng::StableHasher::new(self.sim.inner.seed ^ request_seed.rotate_left(17));
        hasher.write(self.deployment.as_bytes());
        hasher.write(&[0]);
        // Writing JSON into a hasher cannot fail.
        let _ = serde_json::to_writer(&mut hasher, prompt);
        hasher.finish()
    }

    fn generate_choices(
        &self,
        encoding: Encoding,
        base: u64,
        n: u32,
        max_tokens: Option<u32>,
        stop: &[String],
    ) -> Vec<Generated> {
        let range = self.config().response_tokens;
        (0..n)
            .map(|i| {
                let seed = stable_hash(base, &i.to_le_bytes());
                let target = generate::target_length(seed, range.min, range.max);
                generate::generate(encoding, seed, target, max_tokens, stop)
            })
            .collect()
    }

    /// Admission charge: prompt tokens plus `max_tokens` per choice when given, else the
    /// tokens the answer will have.
    fn charge(&self, prompt: usize, max_tokens: Option<u32>, n: u32, choices: &[Generated]) -> u64 {
        let completion = match max_tokens {
            Some(m) => u64::from(m) * u64::from(n),
            None => choices.iter().map(|c| c.tokens.len() as u64).sum(),
        };
        prompt as u64 + completion
    }

    fn too_many_requests(
        &self,
        operation: Operation,
        limit: LimitKind,
        admission: &Admission,
    ) -> Response<Body> {
        let secs = retry_after_seconds(admission.retry_after);
        let what = match limit {
            LimitKind::Tokens => "token rate limit",
            LimitKind::Requests => "call rate limit",
        };
        let message = format!(
            "Requests to the {} Operation under Azure OpenAI API version {} have exceeded {what} of your current OpenAI S0 pricing tier. Please retry after {secs} seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.",
            operation_name(operation),
            self.api_version
        );
        let mut r = azure::short_error(StatusCode::TOO_MANY_REQUESTS, "429", &message);
        let h = r.headers_mut();
        h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        h.insert(
            "retry-after-ms",
            HeaderValue::from(admission.retry_after.as_millis() as u64),
        );
        self.with_rate_headers(r, Some(admission))
    }

    /// `x-ratelimit-remaining-*` on every response of a limited deployment.
    fn with_rate_headers(
        &self,
        mut r: Response<Body>,
        admission: Option<&Admission>,
    ) -> Response<Body> {
        let (rr, rt) = match admission {
            Some(a) => (a.remaining_requests, a.remaining_tokens),
            None => {
                let (requests, tokens) =
                    self.state.windows.lock().usage(self.sim.inner.clock.now());
                (
                    self.config()
                        .effective_rpm()
                        .map(|l| l.saturating_sub(requests)),
                    self.config()
                        .tokens_per_minute
                        .map(|l| l.saturating_sub(tokens)),
                )
            }
        };
        let h = r.headers_mut();
        if let Some(v) = rr {
            h.insert("x-ratelimit-remaining-requests", HeaderValue::from(v));
        }
        if let Some(v) = rt {
            h.insert("x-ratelimit-remaining-tokens", HeaderValue::from(v));
        }
        let id = self.request_id();
        if let Ok(v) = HeaderValue::from_str(&id) {
            h.insert("apim-request-id", v.clone());
            h.insert("x-request-id", v);
        }
        r
    }

    fn request_id(&self) -> String {
        let a = self.sim.inner.rng.next_u64();
        let b = self.sim.inner.rng.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    fn draw_fault(&self) -> Fault {
        let f = self.config().faults;
        if f.is_off() {
            return Fault::None;
        }
        let u = self.sim.inner.rng.next_f64();
        let mut edge = f.error_500_rate;
        if u < edge {
            return Fault::Status500;
        }
        edge += f.error_503_rate;
        if u < edge {
            return Fault::Status503;
        }
        edge += f.timeout_rate;
        if u < edge {
            return Fault::Timeout(Duration::from_secs(f.timeout_seconds));
        }
        edge += f.drop_rate;
        if u < edge {
            return Fault::Drop;
        }
        Fault::None
    }

    fn sleep(&self, d: Duration) -> crate::clock::Sleep {
        self.sim.inner.clock.sleep(d)
    }

    async fn answer(&self, plan: Plan, now: std::time::SystemTime) -> Response<Body> {
        let created = unix_seconds(now);
        let latency = self.config().latency;
        let ttft = Duration::from_millis(latency.time_to_first_token_ms);
        let per_token = Duration::from_millis(latency.time_per_token_ms);
        let model = self.config().reported_model();
        match plan.answer {
            Answer::Embeddings { vectors, base64 } => {
                if !ttft.is_zero() {
                    self.sleep(ttft).await;
                }
                let data: Vec<EmbeddingItem> = vectors
                    .iter()
                    .enumerate()
                    .map(|(index, v)| EmbeddingItem {
                        embedding: if base64 {
                            EmbeddingData::Base64(embed::to_base64(v))
                        } else {
                            EmbeddingData::Floats(v)
                        },
                        index,
                        object: "embedding",
                    })
                    .collect();
                let body = EmbeddingList {
                    data,
                    model: &model,
                    object: "list",
                    usage: EmbeddingUsage {
                        prompt_tokens: plan.prompt_tokens,
                        total_tokens: plan.prompt_tokens,
                    },
                };
                azure::json_response(StatusCode::OK, &body)
            }
            Answer::Chat {
                choices,
                stream,
                include_usage,
            }
            | Answer::Completion {
                choices,
                stream,
                include_usage,
            } if stream => {
                let chat = self.config().kind() == ModelKind::Chat;
                let id = self.completion_id(chat);
                let events = self.stream_events(
                    chat,
                    &id,
                    created,
                    &model,
                    &choices,
                    plan.prompt_tokens,
                    include_usage,
                );
                let mut schedule = Vec::with_capacity(events.len());
                for (i, (paced, event)) in events.into_iter().enumerate() {
                    let delay = if i == 0 {
                        ttft
                    } else if paced {
                        per_token
                    } else {
                        Duration::ZERO
                    };
                    schedule.push((delay, event));
                }
                let clock = self.sim.inner.clock.clone();
                let stream = futures_util::stream::unfold(schedule.into_iter(), move |mut it| {
                    let clock = clock.clone();
                    async move {
                        let (delay, event) = it.next()?;
                        if !delay.is_zero() {
                            clock.sleep(delay).await;
                        }
                        Some((Ok::<Bytes, std::convert::Infallible>(event), it))
                    }
                });
                let mut r = Response::new(Body::from_stream(stream));
                let h = r.headers_mut();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream; charset=utf-8"),
                );
                h.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-cache, must-revalidate"),
                );
                r
            }
            Answer::Chat { choices, .. } | Answer::Completion { choices, .. } => {
                let chat = self.config().kind() == ModelKind::Chat;
                let completion_tokens: usize = choices.iter().map(|c| c.tokens.len()).sum();
                if !latency.is_off() {
                    let longest = choices.iter().map(|c| c.tokens.len()).max().unwrap_or(0) as u32;
                    self.sleep(ttft + per_token * longest.saturating_sub(1))
                        .await;
                }
                let id = self.completion_id(chat);
                let fingerprint = self.fingerprint();
                let body = Completion {
                    choices: choices
                        .iter()
                        .enumerate()
                        .map(|(index, c)| CompletionChoice {
                            content_filter_results: azure::SAFE,
                            finish_reason: c.finish_reason,
                            index,
                            logprobs: None,
                            message: chat.then_some(Message {
                                content: &c.text,
                                refusal: None,
                                role: "assistant",
                            }),
                            text: (!chat).then_some(c.text.as_str()),
                        })
                        .collect(),
                    created,
                    id: &id,
                    model: &model,
                    object: if chat {
                        "chat.completion"
                    } else {
                        "text_completion"
                    },
                    prompt_filter_results: [azure::SAFE_PROMPT],
                    system_fingerprint: chat.then_some(fingerprint.as_str()),
                    usage: Usage {
                        completion_tokens,
                        prompt_tokens: plan.prompt_tokens,
                        total_tokens: completion_tokens + plan.prompt_tokens,
                    },
                };
                azure::json_response(StatusCode::OK, &body)
            }
        }
    }

    fn completion_id(&self, chat: bool) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut id = String::from(if chat { "chatcmpl-" } else { "cmpl-" });
        let mut bits = self.sim.inner.rng.next_u64();
        for i in 0..29 {
            if i == 10 || i == 20 {
                bits = self.sim.inner.rng.next_u64();
            }
            id.push(ALPHABET[(bits % 62) as usize] as char);
            bits /= 62;
        }
        id
    }

    fn fingerprint(&self) -> String {
        format!(
            "fp_{:010x}",
            stable_hash(0, self.config().model.as_bytes()) & 0xff_ffff_ffff
        )
    }

    /// The server-sent events of a streamed answer, in Azure's order: prompt filter results,
    /// then per choice a role chunk, one chunk per token and a finish chunk; then the usage
    /// chunk when asked for; then `[DONE]`. The flag marks token chunks paced by the time per
    /// token.
    #[allow(clippy::too_many_arguments)]
    fn stream_events(
        &self,
        chat: bool,
        id: &str,
        created: u64,
        model: &str,
        choices: &[Generated],
        prompt_tokens: usize,
        include_usage: bool,
    ) -> Vec<(bool, Bytes)> {
        let encoding = Encoding::for_model(&self.config().model);
        let fingerprint = self.fingerprint();
        let event = |choices: Vec<ChunkChoice<'_>>, usage: Option<Option<Usage>>| {
            let chunk = Chunk {
                choices,
                created,
                id,
                model,
                object: if chat {
                    "chat.completion.chunk"
                } else {
                    "text_completion"
                },
                system_fingerprint: chat.then_some(fingerprint.as_str()),
                usage: if include_usage {
                    usage.or(Some(None))
                } else {
                    None
                },
            };
            let mut bytes = Vec::with_capacity(512);
            bytes.extend_from_slice(b"data: ");
            // Serialising plain structs to memory cannot fail.
            let _ = serde_json::to_writer(&mut bytes, &chunk);
            bytes.extend_from_slice(b"\n\n");
            Bytes::from(bytes)
        };
        let mut out = Vec::new();
        out.push((false, prompt_filter_event()));
        for (index, c) in choices.iter().enumerate() {
            fn choice<'t>(
                chat: bool,
                index: usize,
                filter: Filter,
                delta: Delta<'t>,
                finish_reason: Option<&'static str>,
                text: &'t str,
            ) -> ChunkChoice<'t> {
                ChunkChoice {
                    content_filter_results: filter,
                    delta: if chat { Some(delta) } else { None },
                    finish_reason,
                    index,
                    logprobs: None,
                    text: if chat { None } else { Some(text) },
                }
            }
            if chat {
                let role = Delta {
                    content: Some(""),
                    refusal: Some(None),
                    role: Some("assistant"),
                };
                out.push((
                    false,
                    event(
                        vec![choice(chat, index, Filter::Empty(Empty {}), role, None, "")],
                        None,
                    ),
                ));
            }
            let pieces = encoding.token_bytes(&c.tokens).unwrap_or_default();
            for (k, piece) in pieces.iter().enumerate() {
                let text = String::from_utf8_lossy(piece);
                let delta = Delta {
                    content: Some(&text),
                    refusal: None,
                    role: None,
                };
                out.push((
                    k > 0,
                    event(
                        vec![choice(
                            chat,
                            index,
                            Filter::Safe(azure::SAFE),
                            delta,
                            None,
                            &text,
                        )],
                        None,
                    ),
                ));
            }
            let last = choice(
                chat,
                index,
                Filter::Empty(Empty {}),
                Delta::default(),
                Some(c.finish_reason),
                "",
            );
            out.push((false, event(vec![last], None)));
        }
        if include_usage {
            let completion_tokens: usize = choices.iter().map(|c| c.tokens.len()).sum();
            let usage = Usage {
                completion_tokens,
                prompt_tokens,
                total_tokens: completion_tokens + prompt_tokens,
            };
            out.push((false, event(Vec::new(), Some(Some(usage)))));
        }
        out.push((false, Bytes::from_static(b"data: [DONE]\n\n")));
        out
    }
}

/// The first event of every stream: prompt filter results, with empty id, model and choices.
fn prompt_filter_event() -> Bytes {
    static EVENT: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    EVENT
        .get_or_init(|| {
            let v = json!({"choices": [], "created": 0, "id": "", "model": "", "object": "",
                           "prompt_filter_results": [azure::SAFE_PROMPT]});
            Bytes::from(format!("data: {v}\n\n"))
        })
        .clone()
}

#[derive(Serialize)]
struct Usage {
    completion_tokens: usize,
    prompt_tokens: usize,
    total_tokens: usize,
}

#[derive(Serialize)]
struct Completion<'a> {
    choices: Vec<CompletionChoice<'a>>,
    created: u64,
    id: &'a str,
    model: &'a str,
    object: &'static str,
    prompt_filter_results: [azure::PromptFilterResult; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    system_fingerprint: Option<&'a str>,
    usage: Usage,
}

#[derive(Serialize)]
struct CompletionChoice<'a> {
    content_filter_results: azure::ContentFilterResults,
    finish_reason: &'static str,
    index: usize,
    logprobs: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

#[derive(Serialize)]
struct Message<'a> {
    content: &'a str,
    refusal: Option<()>,
    role: &'static str,
}

#[derive(Serialize)]
struct Chunk<'a> {
    choices: Vec<ChunkChoice<'a>>,
    created: u64,
    id: &'a str,
    model: &'a str,
    object: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_fingerprint: Option<&'a str>,
    /// Absent unless `include_usage`; then null on every chunk but the usage chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<Usage>>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    content_filter_results: Filter,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<Delta<'a>>,
    finish_reason: Option<&'static str>,
    index: usize,
    logprobs: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<Option<()>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Filter {
    Empty(Empty),
    Safe(azure::ContentFilterResults),
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct EmbeddingList<'a> {
    data: Vec<EmbeddingItem<'a>>,
    model: &'a str,
    object: &'static str,
    usage: EmbeddingUsage,
}

#[derive(Serialize)]
struct EmbeddingItem<'a> {
    embedding: EmbeddingData<'a>,
    index: usize,
    object: &'static str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum EmbeddingData<'a> {
    Floats(&'a [f32]),
    Base64(String),
}

#[derive(Serialize)]
struct EmbeddingUsage {
    prompt_tokens: usize,
    total_tokens: usize,
}

enum Fault {
    None,
    Status500,
    Status503,
    Timeout(Duration),
    Drop,
}
