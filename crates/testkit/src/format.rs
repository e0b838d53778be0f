//! The test file format (`*.test.yaml`, `tests/*.yaml`): a suite names its configuration and
//! lists cases; each case sends one request (or `steps:`) against mocked backends on a virtual
//! clock and checks what happened. Read with the gateway configuration's position-keeping YAML
//! reader, so every error names `file:line:col`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use apim_gateway::config::de::from_node;
use apim_gateway::config::node::{Mark, Sources, parse_file};
use apim_gateway::config::{Diagnostic, ErrorKind};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// One test file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Suite {
    /// Suite name (default: the file name).
    #[serde(default)]
    pub name: Option<String>,
    /// A configuration folder or file (`apim-emu.yaml`, or an APIOps folder), relative to this
    /// file.
    #[serde(default)]
    pub config: Option<String>,
    /// One policy document (API scope), relative to this file; the service around it comes from
    /// `settings`.
    #[serde(default)]
    pub policy: Option<String>,
    /// With `policy:`: the API, named values, subscriptions, products and backends around it.
    #[serde(default)]
    pub settings: Option<Settings>,
    /// Scheme and host requests are sent to (default `https://apim-emu.local`).
    #[serde(default)]
    pub base_url: Option<String>,
    pub cases: Vec<Case>,
}

/// The service around a lone policy file. Sections other than `api` use the `apim-emu.yaml`
/// format of the same name (docs/configuration.md) and are checked by the configuration loader.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    #[serde(default)]
    pub api: Option<ApiSettings>,
    #[serde(default)]
    pub named_values: Option<Value>,
    #[serde(default)]
    pub subscriptions: Option<Value>,
    #[serde(default)]
    pub products: Option<Value>,
    #[serde(default)]
    pub backends: Option<Value>,
}

/// The API the lone policy is attached to.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiSettings {
    /// API URL suffix (default empty).
    #[serde(default)]
    pub path: Option<String>,
    /// Backend URL of the API.
    #[serde(default)]
    pub service_url: Option<String>,
    /// Default `false` here (a lone policy rarely cares about keys).
    #[serde(default)]
    pub subscription_required: Option<bool>,
    /// `subscriptionKeyParameterNames` as in apim-emu.yaml.
    #[serde(default)]
    pub subscription_key_parameter_names: Option<Value>,
    /// Operations as in apim-emu.yaml (default: `GET|POST|PUT|PATCH|DELETE /*`).
    #[serde(default)]
    pub operations: Option<Value>,
}

/// One test case.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Case {
    pub name: String,
    /// The clock's start (RFC 3339; default 2024-01-01T00:00:00Z).
    #[serde(default)]
    pub at: Option<String>,
    /// Seed of the case's random numbers (default 0).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Named values replaced (or added) for this case.
    #[serde(default)]
    pub named_values: BTreeMap<String, String>,
    /// The subscription the requests use (its key is sent in the API's key header).
    #[serde(default)]
    pub subscription: Option<SubscriptionRef>,
    /// Mocked backends by backend id or host.
    #[serde(default)]
    pub mocks: BTreeMap<String, Mock>,
    /// The request (or use `steps`).
    #[serde(default)]
    pub request: Option<RequestSpec>,
    /// Expectations of `request`.
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Requests in order, with clock advances between them.
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// `subscription: {key: ...}` or `{id: ...}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SubscriptionRef {
    #[serde(default)]
    pub key: Option<String>,
    /// Subscription id: its primary key is sent.
    #[serde(default)]
    pub id: Option<String>,
}

/// One step of a sequence.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Step {
    /// Time to move the clock forward before this step (`15s`, `250ms`, `2m`, `1h`).
    #[serde(default)]
    pub advance: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub request: Option<RequestSpec>,
    #[serde(default)]
    pub expect: Option<Expect>,
}

/// A client request.
#[derive(Debug, Clone, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequestSpec {
    /// Default `GET`.
    #[serde(default)]
    pub method: Option<String>,
    /// Path and query, e.g. `/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21`.
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    /// File with the body, relative to the test file.
    #[serde(default)]
    pub body_file: Option<String>,
    /// JSON body (sets `Content-Type: application/json` when absent).
    #[serde(default)]
    pub json: Option<Value>,
}

/// A mocked backend: ordered `responses`, then `rules`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Mock {
    /// Answers in order, each used once.
    #[serde(default)]
    pub responses: Vec<MockResponse>,
    /// After `responses`: the first matching rule answers.
    #[serde(default)]
    pub rules: Vec<MockRule>,
}

/// A rule: calls matching `path` (exact, or prefix ending in `*`), `method` and `bodyContains`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MockRule {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub body_contains: Option<String>,
    /// Answers every matching call.
    #[serde(default)]
    pub respond: Option<MockResponse>,
    /// Answers matching calls in order, each once.
    #[serde(default)]
    pub responses: Vec<MockResponse>,
}

/// A backend's answer.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MockResponse {
    /// Default 200.
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    /// JSON body (sets `Content-Type: application/json` when absent).
    #[serde(default)]
    pub json: Option<Value>,
    /// Time before the answer (virtual clock).
    #[serde(default)]
    pub latency: Option<String>,
    #[serde(default)]
    pub fault: Option<Fault>,
}

/// A failure instead of an answer.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    ConnectionRefused,
    /// Never answers: the caller's timeout fires.
    Timeout,
    /// Sends the headers, then resets the connection.
    Reset,
    Tls,
    InvalidResponse,
}

/// What a request must produce. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expect {
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderExpect>,
    #[serde(default)]
    pub body: Option<BodyExpect>,
    #[serde(default)]
    pub backend_calls: Option<CallsExpect>,
    /// `context.Variables` after the request: name → value (JSON subset).
    #[serde(default)]
    pub variables: BTreeMap<String, Value>,
    /// Policies (trace sources) that must appear in the trace.
    #[serde(default)]
    pub policies: Vec<String>,
    /// Policies that must not appear in the trace.
    #[serde(default)]
    pub policies_absent: Vec<String>,
    /// Metrics emitted by this request (each must match one record).
    #[serde(default)]
    pub metrics: Vec<MetricExpect>,
    /// Log events written by this request (each must match one record).
    #[serde(default)]
    pub events: Vec<EventExpect>,
    /// Metrics this request must not emit: no record may match any of these (`{}` matches
    /// every metric).
    #[serde(default)]
    pub metrics_absent: Vec<MetricPattern>,
    /// Log events this request must not write: no record may match any of these (`{}` matches
    /// every event).
    #[serde(default)]
    pub events_absent: Vec<EventExpect>,
    /// Backend calls this request must not make: no call may match any of these (`{}` matches
    /// every call).
    #[serde(default)]
    pub backend_calls_absent: Vec<CallExpect>,
}

/// A header rule: a string (exact value), or one of the forms.
#[derive(Debug, Clone, Deserialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum HeaderExpect {
    Exact(String),
    Rule(HeaderRule),
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HeaderRule {
    #[serde(default)]
    pub equals: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub contains: Option<String>,
    /// `true`: the header must be absent; `false`: present.
    #[serde(default)]
    pub absent: Option<bool>,
}

/// Body checks; all given ones must hold.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BodyExpect {
    /// Exact text.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub contains: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
    /// JSON subset: objects may have more members; arrays must match element-wise.
    #[serde(default)]
    pub json: Option<Value>,
    /// JSONPath → expected value (JSON subset) of the first match.
    #[serde(default)]
    pub json_path: BTreeMap<String, Value>,
    /// `true`: the body must be empty.
    #[serde(default)]
    pub empty: Option<bool>,
}

/// Backend calls made by the request.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CallsExpect {
    #[serde(default)]
    pub count: Option<usize>,
    /// The calls in order (when given, the count must match too).
    #[serde(default)]
    pub calls: Option<Vec<CallExpect>>,
}

/// One backend call.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CallExpect {
    /// Backend id (its URL's host) or host.
    #[serde(default)]
    pub backend: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    /// Full URL, exact.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub url_regex: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderExpect>,
    #[serde(default)]
    pub body: Option<BodyExpect>,
    /// When the call was made: virtual time since the client request was sent (`0s`, `2s`,
    /// `1500ms`), exact (retry intervals, mock latencies).
    #[serde(default)]
    pub after: Option<String>,
}

/// A metric record (`emit-metric`, `azure-openai-emit-token-metric`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetricExpect {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub value: Option<f64>,
    /// Dimensions that must be present with these values.
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
}

/// Metrics a request must not emit: every given field must match for a record to count.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetricPattern {
    /// Any name when absent.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub value: Option<f64>,
    /// Dimensions a record must have with these values.
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
}

/// A log event (`log-to-eventhub`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EventExpect {
    #[serde(default)]
    pub logger: Option<String>,
    /// The message as text.
    #[serde(default)]
    pub message: Option<BodyExpect>,
}

/// A suite read from a file.
#[derive(Debug, Clone)]
pub struct SuiteFile {
    pub path: PathBuf,
    pub suite: Suite,
    /// Line of each case (same order as `suite.cases`).
    pub case_lines: Vec<u32>,
}

/// Errors reading or checking a test file.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.render().trim_end())]
pub struct FormatError(pub Diagnostic);

impl FormatError {
    pub fn location(&self) -> String {
        self.0.location()
    }
}

/// Reads and checks one test file.
pub fn read_suite(path: &Path) -> Result<SuiteFile, FormatError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        FormatError(Diagnostic::at_file(
            ErrorKind::Io,
            path,
            format!("cannot read: {e}"),
        ))
    })?;
    parse_suite(path, text)
}

/// Parses a test file's text (`path` names it in errors).
pub fn parse_suite(path: &Path, text: String) -> Result<SuiteFile, FormatError> {
    let mut sources = Sources::default();
    let id = sources.add(path, text);
    let node = parse_file(&sources, id).map_err(FormatError)?;
    let suite: Suite =
        from_node(&node).map_err(|e| FormatError(e.into_diagnostic(&sources, node.mark)))?;
    let case_nodes = node.get("cases").map(|c| c.items()).unwrap_or(&[]);
    let case_lines = case_nodes.iter().map(|n| n.mark.line).collect();
    let err =
        |mark: Mark, msg: String| FormatError(sources.error(ErrorKind::InvalidValue, mark, msg));
    match (&suite.config, &suite.policy) {
        (Some(_), Some(_)) => {
            return Err(err(node.mark, "give `config` or `policy`, not both".into()));
        }
        (None, None) => {
            return Err(err(
                node.mark,
                "the suite needs `config:` (a configuration) or `policy:` (one policy file)".into(),
            ));
        }
        (Some(_), None) if suite.settings.is_some() => {
            let m = node.get("settings").map(|n| n.mark).unwrap_or(node.mark);
            return Err(err(
                m,
                "`settings` go with `policy:`; a `config:` has its own".into(),
            ));
        }
        _ => {}
    }
    for (i, case) in suite.cases.iter().enumerate() {
        let m = case_nodes.get(i).map(|n| n.mark).unwrap_or(node.mark);
        check_case(case).map_err(|msg| err(m, format!("case `{}`: {msg}", case.name)))?;
    }
    Ok(SuiteFile {
        path: path.to_path_buf(),
        suite,
        case_lines,
    })
}

fn check_case(case: &Case) -> Result<(), String> {
    match (&case.request, case.steps.is_empty()) {
        (Some(_), false) => return Err("give `request` or `steps`, not both".into()),
        (None, true) => return Err("needs a `request` or `steps`".into()),
        (None, false) if case.expect.is_some() => {
            return Err("with `steps`, put `expect` in each step".into());
        }
        _ => {}
    }
    if let Some(at) = &case.at {
        parse_time(at)?;
    }
    if let Some(s) = &case.subscription {
        if s.key.is_some() == s.id.is_some() {
            return Err("`subscription` needs exactly one of `key` or `id`".into());
        }
    }
    let mut requests: Vec<&RequestSpec> = case.request.iter().collect();
    for (i, st) in case.steps.iter().enumerate() {
        if let Some(a) = &st.advance {
            parse_duration(a).map_err(|e| format!("step {}: {e}", i + 1))?;
        }
        match &st.request {
            Some(r) => requests.push(r),
            None => return Err(format!("step {} needs a `request`", i + 1)),
        }
    }
    let expects = case.expect.iter().map(|e| (None, e)).chain(
        case.steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.expect.as_ref().map(|e| (Some(i + 1), e))),
    );
    for (step, e) in expects {
        check_absent_patterns(e).map_err(|msg| match step {
            Some(n) => format!("step {n}: {msg}"),
            None => msg,
        })?;
    }
    for r in requests {
        let bodies = [r.body.is_some(), r.body_file.is_some(), r.json.is_some()];
        if bodies.iter().filter(|b| **b).count() > 1 {
            return Err("a request takes one of `body`, `bodyFile`, `json`".into());
        }
        if !r.path.starts_with('/') {
            return Err(format!("request path `{}` must start with `/`", r.path));
        }
    }
    for (id, m) in &case.mocks {
        for r in m.responses.iter().chain(
            m.rules
                .iter()
                .flat_map(|r| r.respond.iter().chain(&r.responses)),
        ) {
            if let Some(l) = &r.latency {
                parse_duration(l).map_err(|e| format!("mock `{id}`: {e}"))?;
            }
            if r.body.is_some() && r.json.is_some() {
                return Err(format!(
                    "mock `{id}`: a response takes `body` or `json`, not both"
                ));
            }
        }
        for rule in &m.rules {
            if rule.respond.is_some() != rule.responses.is_empty() {
                return Err(format!(
                    "mock `{id}`: a rule needs exactly one of `respond` or `responses`"
                ));
            }
        }
    }
    Ok(())
}

/// An absence pattern that cannot match (a bad regex, JSONPath or duration) would pass
/// silently: refuse it when the file is read.
fn check_absent_patterns(e: &Expect) -> Result<(), String> {
    fn regex(r: &str, what: &str) -> Result<(), String> {
        regex::Regex::new(r)
            .map(|_| ())
            .map_err(|err| format!("{what}: `{r}` is not a valid regex ({err})"))
    }
    fn body(b: &BodyExpect, what: &str) -> Result<(), String> {
        if let Some(r) = &b.regex {
            regex(r, what)?;
        }
        for p in b.json_path.keys() {
            crate::matching::parse_json_path(p).map_err(|err| format!("{what}: {err}"))?;
        }
        Ok(())
    }
    for p in &e.events_absent {
        if let Some(m) = &p.message {
            body(m, "eventsAbsent")?;
        }
    }
    for p in &e.backend_calls_absent {
        let what = "backendCallsAbsent";
        if let Some(a) = &p.after {
            parse_duration(a).map_err(|err| format!("{what}: {err}"))?;
        }
        if let Some(r) = &p.url_regex {
            regex(r, what)?;
        }
        for h in p.headers.values() {
            if let HeaderExpect::Rule(HeaderRule { regex: Some(r), .. }) = h {
                regex(r, what)?;
            }
        }
        if let Some(b) = &p.body {
            body(b, what)?;
        }
    }
    Ok(())
}

/// `15s`, `250ms`, `2m`, `1h`, `1.5s`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (like `15s`, `250ms`, `2m`, `1h`)"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => {
            return Err(format!(
                "`{s}`: the unit must be ms, s, m, h or d (like `15s`)"
            ));
        }
    };
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("`{s}` is out of range"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// An RFC 3339 time.
pub fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.to_utc())
        .map_err(|e| format!("`at: {s}` is not an RFC 3339 time ({e})"))
}

/// The JSON Schema of the test file format.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Suite);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SuiteFile, FormatError> {
        parse_suite(Path::new("t.test.yaml"), text.to_string())
    }

    #[test]
    fn reads_a_suite_with_steps_and_mocks() {
        let s = parse(
            "policy: p.xml\nsettings:\n  api: {path: openai}\ncases:\n  - name: a\n    mocks:\n      aoai: {responses: [{status: 429, headers: {Retry-After: '5'}}, {json: {ok: true}}]}\n    steps:\n      - request: {method: POST, path: /openai/x, json: {a: 1}}\n        expect: {status: 429, headers: {retry-after: '5', x-gone: {absent: true}}}\n      - advance: 15s\n        request: {path: /openai/x}\n        expect: {body: {jsonPath: {$.ok: true}}}\n",
        )
        .unwrap();
        let c = &s.suite.cases[0];
        assert_eq!(s.case_lines, vec![5]);
        assert_eq!(c.steps.len(), 2);
        assert_eq!(c.mocks["aoai"].responses[0].status, Some(429));
        let e = c.steps[0].expect.as_ref().unwrap();
        assert_eq!(e.headers["retry-after"], HeaderExpect::Exact("5".into()));
        assert_eq!(
            e.headers["x-gone"],
            HeaderExpect::Rule(HeaderRule {
                absent: Some(true),
                ..Default::default()
            })
        );
    }

    #[test]
    fn unknown_field_names_line_and_column() {
        let e = parse(
            "config: .\ncases:\n  - name: a\n    request: {path: /x}\n    expct: {status: 200}\n",
        )
        .unwrap_err();
        assert_eq!(e.location(), "t.test.yaml:5:5");
        assert!(e.to_string().contains("expct"), "{e}");
    }

    #[test]
    fn case_problems_point_at_the_case() {
        let e = parse("config: .\ncases:\n  - name: a\n    request: {path: x}\n").unwrap_err();
        assert_eq!(e.location(), "t.test.yaml:3:5");
        assert!(e.to_string().contains("must start with `/`"), "{e}");
        let e = parse("config: .\ncases:\n  - name: a\n    steps: [{advance: 5 parsecs, request: {path: /x}}]\n").unwrap_err();
        assert!(e.to_string().contains("unit must be"), "{e}");
        let e = parse("cases: []\n").unwrap_err();
        assert!(e.to_string().contains("needs `config:`"), "{e}");
    }

    #[test]
    fn absence_patterns_that_could_never_match_are_refused() {
        let case = |expect: &str| {
            parse(&format!(
                "config: .\ncases:\n  - name: a\n    steps:\n      - request: {{path: /x}}\n        expect: {expect}\n"
            ))
        };
        let e = case("{backendCallsAbsent: [{urlRegex: '(['}]}").unwrap_err();
        assert_eq!(e.location(), "t.test.yaml:3:5");
        assert!(e.to_string().contains("step 1: backendCallsAbsent"), "{e}");
        let e = case("{backendCallsAbsent: [{after: soon}]}").unwrap_err();
        assert!(e.to_string().contains("not a duration"), "{e}");
        let e = case("{eventsAbsent: [{message: {jsonPath: {'$[?(@.a)]': 1}}}]}").unwrap_err();
        assert!(e.to_string().contains("eventsAbsent"), "{e}");
        let e = case("{backendCallsAbsent: [{headers: {x: {regex: '+'}}}]}").unwrap_err();
        assert!(e.to_string().contains("not a valid regex"), "{e}");
        assert!(
            case("{backendCallsAbsent: [{}], metricsAbsent: [{}], eventsAbsent: [{}]}").is_ok()
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15s").unwrap().as_secs(), 15);
        assert_eq!(parse_duration("250ms").unwrap().as_millis(), 250);
        assert_eq!(parse_duration("2m").unwrap().as_secs(), 120);
        assert_eq!(parse_duration("1.5s").unwrap().as_millis(), 1500);
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
