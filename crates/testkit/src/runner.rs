//! The runner: finds suites, loads each suite's service once, and runs the cases in parallel.
//! Each case is deterministic: its own `Services` (virtual clock at `at:`, seeded randomness,
//! mocked backends, in-memory stores), so the order cases run in never changes a result.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use apim_engine::http::{DEFAULT_BUFFER_LIMIT, Request, Url};
use apim_engine::service::{NamedValue, ServiceDefinition};
use apim_engine::services::{
    Clock, EventRecord, MetricRecord, MockFault, MockMatch, MockReply, RecordedCall, Services,
    VirtualClock,
};
use apim_gateway::config::{LoadOptions, LoadedConfig, SimulatorBackend, load};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::engine::{EngineUnderTest, Outcome};
use crate::format::{
    CallExpect, Case, Expect, Fault, Mock, MockResponse, RequestSpec, SuiteFile, parse_duration,
    parse_time, read_suite,
};
use crate::matching::{Mismatch, json_subset, match_body, match_header};
use crate::simulators::SuiteBackends;

/// Where requests go when a suite gives no `baseUrl`.
pub const DEFAULT_BASE_URL: &str = "https://apim-emu.local";

/// Options of a run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Only cases whose `suite/case` name contains this text.
    pub filter: Option<String>,
    /// Worker threads (default: available parallelism).
    pub threads: Option<usize>,
    /// Options for loading `config:` configurations.
    pub load: LoadOptions,
}

/// One case's result.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub suite: String,
    pub file: PathBuf,
    /// Line of the case in the file (0 for a suite that did not load).
    pub line: u32,
    pub case: String,
    pub outcome: CaseOutcome,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        matches!(self.outcome, CaseOutcome::Passed)
    }
    /// `suite/case`, what `--filter` matches.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.suite, self.case)
    }
}

#[derive(Debug, Clone)]
pub enum CaseOutcome {
    Passed,
    /// Expectations did not hold.
    Failed(Vec<StepFailure>),
    /// The case could not run (suite not loadable, engine error, bad mock).
    Error(String),
}

/// The failed expectations of one request.
#[derive(Debug, Clone)]
pub struct StepFailure {
    /// 1-based step number for `steps:` cases.
    pub step: Option<usize>,
    /// `POST /path`, with the request headers and body.
    pub request: String,
    pub mismatches: Vec<Mismatch>,
    /// Trace entries: `section source data`.
    pub trace: Vec<String>,
}

/// All results, in file and case order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub cases: Vec<CaseResult>,
}

impl Report {
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed()).count()
    }
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }
    /// `apim-emu test`'s exit status: 0 when every case passed, 1 otherwise (also when nothing
    /// ran, so a wrong path or filter is not a green build).
    pub fn exit_code(&self) -> i32 {
        if self.cases.is_empty() || self.failed() > 0 {
            1
        } else {
            0
        }
    }
}

/// Test files under `paths`: files as given; in folders (recursively) `*.test.yaml`,
/// `*.test.yml` and any `.yaml`/`.yml` in a folder named `tests`. Sorted, without duplicates.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_file() {
            out.push(p.clone());
        } else if p.is_dir() {
            walk(p, &mut out).map_err(|e| format!("{}: {e}", p.display()))?;
        } else {
            return Err(format!("{}: no such file or folder", p.display()));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let in_tests = dir.file_name().is_some_and(|n| n == "tests");
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                walk(&p, out)?;
            }
        } else if name.ends_with(".test.yaml")
            || name.ends_with(".test.yml")
            || (in_tests && (name.ends_with(".yaml") || name.ends_with(".yml")))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// The service a suite runs against: its `config:`, or its `policy:` with `settings:`.
pub fn load_suite_service(
    file: &SuiteFile,
    options: &LoadOptions,
) -> Result<ServiceDefinition, String> {
    load_suite_config(file, options).map(|l| l.service)
}

/// The loaded configuration of a suite: the service, and its `type: simulator` backends.
pub fn load_suite_config(file: &SuiteFile, options: &LoadOptions) -> Result<LoadedConfig, String> {
    let dir = file.path.parent().unwrap_or(Path::new("."));
    if let Some(c) = &file.suite.config {
        let path = dir.join(c);
        return load(&path, options).map_err(|e| e.render().trim_end().to_string());
    }
    let policy = file.suite.policy.as_deref().unwrap_or_default();
    let policy = std::fs::canonicalize(dir.join(policy))
        .map_err(|e| format!("{}: policy `{policy}`: {e}", file.path.display()))?;
    let config = policy_config(&policy, file.suite.settings.as_ref());
    let tmp = TempDir::new("suite").map_err(|e| format!("temporary folder: {e}"))?;
    let path = tmp.path().join("apim-emu.json");
    std::fs::write(&path, config.to_string()).map_err(|e| format!("{}: {e}", path.display()))?;
    load(&path, options).map_err(|e| {
        format!(
            "{}: settings: {}",
            file.path.display(),
            e.render().trim_end()
        )
    })
}

/// An `apim-emu.json` holding one API with `policy` at API scope.
pub fn policy_config(policy: &Path, settings: Option<&crate::format::Settings>) -> Value {
    let default = crate::format::Settings::default();
    let s = settings.unwrap_or(&default);
    let api = s.api.clone().unwrap_or_default();
    let operations = api.operations.unwrap_or_else(|| {
        let mut ops = serde_json::Map::new();
        for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            ops.insert(
                format!("{}-all", m.to_ascii_lowercase()),
                json!({"method": m, "urlTemplate": "/*"}),
            );
        }
        Value::Object(ops)
    });
    let mut a = json!({
        "path": api.path.unwrap_or_default(),
        "policy": policy.display().to_string(),
        "subscriptionRequired": api.subscription_required.unwrap_or(false),
        "operations": operations,
    });
    if let Some(u) = api.service_url {
        a["serviceUrl"] = json!(u);
    }
    if let Some(k) = api.subscription_key_parameter_names {
        a["subscriptionKeyParameterNames"] = k;
    }
    let mut cfg = json!({"apis": {"api": a}});
    for (k, v) in [
        ("namedValues", &s.named_values),
        ("subscriptions", &s.subscriptions),
        ("products", &s.products),
        ("backends", &s.backends),
    ] {
        if let Some(v) = v {
            cfg[k] = v.clone();
        }
    }
    cfg
}

/// A temporary folder removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(what: &str) -> std::io::Result<TempDir> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "apim-emu-{what}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Job<'a> {
    file: &'a SuiteFile,
    suite_name: String,
    service: &'a ServiceDefinition,
    simulators: &'a [SimulatorBackend],
    index: usize,
}

/// Runs every case of the test files under `paths`.
pub fn run_paths<E: EngineUnderTest>(
    engine: &E,
    paths: &[PathBuf],
    options: &RunOptions,
) -> Result<Report, String> {
    let files = discover(paths)?;
    let mut report_errors = Vec::new();
    let mut loaded = Vec::new();
    for f in &files {
        match read_suite(f) {
            Ok(s) => loaded.push(s),
            Err(e) => report_errors.push(CaseResult {
                suite: suite_name_of(f),
                file: f.clone(),
                line: e.0.line,
                case: "(suite)".into(),
                outcome: CaseOutcome::Error(e.to_string()),
            }),
        }
    }
    let mut report = run_suites(engine, &loaded, options);
    report_errors.append(&mut report.cases);
    report.cases = report_errors;
    Ok(report)
}

fn suite_name_of(path: &Path) -> String {
    let n = path.file_name().and_then(|n| n.to_str()).unwrap_or("suite");
    n.trim_end_matches(".yaml")
        .trim_end_matches(".yml")
        .trim_end_matches(".test")
        .to_string()
}

/// Runs the cases of suites already read.
pub fn run_suites<E: EngineUnderTest>(
    engine: &E,
    files: &[SuiteFile],
    options: &RunOptions,
) -> Report {
    let mut out: Vec<Option<CaseResult>> = Vec::new();
    let mut services = Vec::new();
    for f in files {
        services.push(load_suite_config(f, &options.load));
    }
    let mut jobs = Vec::new();
    for (f, svc) in files.iter().zip(&services) {
        let suite_name = f
            .suite
            .name
            .clone()
            .unwrap_or_else(|| suite_name_of(&f.path));
        let selected: Vec<usize> = (0..f.suite.cases.len())
            .filter(|i| {
                options.filter.as_ref().is_none_or(|p| {
                    format!("{suite_name}/{}", f.suite.cases[*i].name).contains(p.as_str())
                })
            })
            .collect();
        match svc {
            Err(e) => {
                if !selected.is_empty() {
                    out.push(Some(CaseResult {
                        suite: suite_name.clone(),
                        file: f.path.clone(),
                        line: 0,
                        case: "(suite)".into(),
                        outcome: CaseOutcome::Error(e.clone()),
                    }));
                }
            }
            Ok(loaded) => {
                for index in selected {
                    out.push(None);
                    jobs.push((
                        out.len() - 1,
                        Job {
                            file: f,
                            suite_name: suite_name.clone(),
                            service: &loaded.service,
                            simulators: &loaded.simulators,
                            index,
                        },
                    ));
                }
            }
        }
    }
    let threads = options
        .threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .clamp(1, jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread().build();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((slot, job)) = jobs.get(i) else {
                        break;
                    };
                    let case = &job.file.suite.cases[job.index];
                    let outcome = match &rt {
                        Ok(rt) => run_case(engine, rt, job.service, job.simulators, job.file, case),
                        Err(e) => CaseOutcome::Error(format!("cannot start a runtime: {e}")),
                    };
                    let r = CaseResult {
                        suite: job.suite_name.clone(),
                        file: job.file.path.clone(),
                        line: job.file.case_lines.get(job.index).copied().unwrap_or(0),
                        case: case.name.clone(),
                        outcome,
                    };
                    if let Ok(mut v) = results.lock() {
                        v.push((*slot, r));
                    }
                }
            });
        }
    });
    for (slot, r) in results.into_inner().unwrap_or_default() {
        out[slot] = Some(r);
    }
    Report {
        cases: out.into_iter().flatten().collect(),
    }
}

/// Builds a mock reply.
pub fn mock_reply(r: &MockResponse) -> Result<MockReply, String> {
    let mut m = match r.fault {
        Some(Fault::ConnectionRefused) => MockReply::fault(MockFault::ConnectionRefused),
        Some(Fault::Timeout) => MockReply::fault(MockFault::NoResponse),
        Some(Fault::Reset) => MockReply::fault(MockFault::ResetMidBody { after_bytes: 0 }),
        Some(Fault::Tls) => MockReply::fault(MockFault::Tls),
        Some(Fault::InvalidResponse) => MockReply::fault(MockFault::InvalidResponse),
        None => MockReply::status(200),
    };
    m.status = r.status.unwrap_or(200);
    for (k, v) in &r.headers {
        m = m.header(k, v);
    }
    if let Some(j) = &r.json {
        if !r
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"))
        {
            m = m.header("Content-Type", "application/json");
        }
        m = m.body(Bytes::from(j.to_string()));
    } else if let Some(b) = &r.body {
        m = m.body(Bytes::from(b.clone()));
    } else if r.fault == Some(Fault::Reset) {
        // Something to cut: the reset happens mid-body.
        m = m.body(Bytes::from_static(b"{"));
    }
    if let Some(l) = &r.latency {
        m = m.latency(parse_duration(l)?);
    }
    Ok(m)
}

/// The host a mock key stands for: a backend id's URL host, or the key itself.
pub fn mock_host(service: &ServiceDefinition, key: &str) -> Result<String, String> {
    match service.backends.iter().find(|b| b.id == key) {
        Some(b) => match &b.url {
            Some(u) => Url::parse(u)
                .map(|u| u.host().to_string())
                .map_err(|e| format!("backend `{key}` has URL `{u}`: {e}")),
            None => Err(format!(
                "backend `{key}` has no URL (a pool?): mock each of its members instead"
            )),
        },
        None => Ok(key.to_string()),
    }
}

/// Installs a case's mocks on the mock HTTP client.
pub fn install_mocks(
    http: &apim_engine::services::MockHttp,
    service: &ServiceDefinition,
    mocks: &BTreeMap<String, Mock>,
) -> Result<(), String> {
    for (key, m) in mocks {
        let host = mock_host(service, key)?;
        if !m.responses.is_empty() {
            let replies = m
                .responses
                .iter()
                .map(mock_reply)
                .collect::<Result<_, _>>()?;
            http.sequence(MockMatch::host(&host), replies);
        }
        for rule in &m.rules {
            let mut matcher = MockMatch::host(&host);
            matcher.path = rule.path.clone();
            matcher.method = rule.method.clone();
            matcher.body_contains = rule.body_contains.clone();
            match &rule.respond {
                Some(r) => {
                    http.always(matcher, mock_reply(r)?);
                }
                None => {
                    let replies = rule
                        .responses
                        .iter()
                        .map(mock_reply)
                        .collect::<Result<_, _>>()?;
                    http.sequence(matcher, replies);
                }
            }
        }
    }
    Ok(())
}

/// The client request of a spec.
pub fn build_request(
    spec: &RequestSpec,
    base_url: &str,
    dir: &Path,
    subscription_key: Option<(&str, &str)>,
) -> Result<Request, String> {
    let url_text = format!("{}{}", base_url.trim_end_matches('/'), spec.path);
    let url = Url::parse(&url_text).map_err(|e| format!("request URL `{url_text}`: {e}"))?;
    let mut req = Request::new(spec.method.clone().unwrap_or_else(|| "GET".into()), url);
    if let Some((h, k)) = subscription_key {
        req.headers
            .set_one(h, k)
            .map_err(|e| format!("header `{h}`: {e}"))?;
    }
    for (k, v) in &spec.headers {
        req.headers
            .set_one(k, v.clone())
            .map_err(|e| format!("header `{k}`: {e}"))?;
    }
    let host = req.url.host_header();
    if !req.headers.contains("Host") {
        let _ = req.headers.set_one("Host", host);
    }
    if let Some(b) = &spec.body {
        req.body = Bytes::from(b.clone()).into();
    } else if let Some(f) = &spec.body_file {
        let p = dir.join(f);
        let b = std::fs::read(&p).map_err(|e| format!("bodyFile {}: {e}", p.display()))?;
        req.body = Bytes::from(b).into();
    } else if let Some(j) = &spec.json {
        if !req.headers.contains("Content-Type") {
            let _ = req.headers.set_one("Content-Type", "application/json");
        }
        req.body = Bytes::from(j.to_string()).into();
    }
    Ok(req)
}

fn describe_request(spec: &RequestSpec) -> String {
    let mut s = format!("{} {}", spec.method.as_deref().unwrap_or("GET"), spec.path);
    for (k, v) in &spec.headers {
        s.push_str(&format!("\n  {k}: {v}"));
    }
    if let Some(b) = &spec.body {
        s.push_str(&format!("\n  body: {b}"));
    } else if let Some(f) = &spec.body_file {
        s.push_str(&format!("\n  body: (file {f})"));
    } else if let Some(j) = &spec.json {
        s.push_str(&format!("\n  json: {j}"));
    }
    s
}

/// The key the case's subscription sends, and in which header.
fn subscription_key(
    service: &ServiceDefinition,
    case: &Case,
    path: &str,
) -> Result<Option<(String, String)>, String> {
    let Some(sub) = &case.subscription else {
        return Ok(None);
    };
    let key = match (&sub.key, &sub.id) {
        (Some(k), _) => k.clone(),
        (None, Some(id)) => service
            .subscriptions
            .iter()
            .find(|s| &s.id == id)
            .map(|s| s.primary_key.clone())
            .ok_or_else(|| format!("no subscription `{id}` in the configuration"))?,
        (None, None) => return Ok(None),
    };
    // The API the path goes to decides the header name (longest matching API path).
    let trimmed = path.trim_start_matches('/');
    let header = service
        .apis
        .iter()
        .filter(|a| {
            let p = a.path.trim_matches('/');
            p.is_empty()
                || trimmed == p
                || trimmed.starts_with(&format!("{p}/"))
                || trimmed.starts_with(&format!("{p}?"))
        })
        .max_by_key(|a| a.path.len())
        .map(|a| a.subscription_key_parameter_names.header.clone())
        .unwrap_or_else(|| "Ocp-Apim-Subscription-Key".into());
    Ok(Some((header, key)))
}

/// What one request left behind, for checking.
pub struct Observed {
    /// When the client request was sent (virtual clock).
    pub sent_at: chrono::DateTime<chrono::Utc>,
    pub outcome: Outcome,
    pub body: Bytes,
    pub calls: Vec<RecordedCall>,
    pub metrics: Vec<MetricRecord>,
    pub events: Vec<EventRecord>,
}

fn run_case<E: EngineUnderTest>(
    engine: &E,
    rt: &tokio::runtime::Runtime,
    service: &ServiceDefinition,
    simulators: &[SimulatorBackend],
    file: &SuiteFile,
    case: &Case,
) -> CaseOutcome {
    let start = match case.at.as_deref().map(parse_time) {
        Some(Ok(t)) => VirtualClock::new(t),
        Some(Err(e)) => return CaseOutcome::Error(e),
        None => VirtualClock::at_default_start(),
    };
    let seed = case.seed.unwrap_or(0);
    let (mut services, handles) = Services::for_tests(start.clone(), seed);
    if !simulators.is_empty() {
        // Calls no mock answers reach the configuration's simulators (recorded all the same).
        match SuiteBackends::new(
            handles.http.clone(),
            simulators,
            services.clock.clone(),
            seed,
        ) {
            Ok(b) => services.http = Arc::new(b),
            Err(e) => return CaseOutcome::Error(e.to_string()),
        }
    }
    // Most cases override no named value: they share the suite's definition.
    let mut service = std::borrow::Cow::Borrowed(service);
    for (k, v) in &case.named_values {
        let service = service.to_mut();
        match service
            .named_values
            .iter_mut()
            .find(|n| n.name.eq_ignore_ascii_case(k))
        {
            Some(n) => n.value = v.clone(),
            None => service.named_values.push(NamedValue {
                name: k.clone(),
                value: v.clone(),
                secret: false,
            }),
        }
    }
    if let Err(e) = install_mocks(&handles.http, &service, &case.mocks) {
        return CaseOutcome::Error(e);
    }
    let instance = match engine.prepare(&service, services.clone()) {
        Ok(i) => i,
        Err(e) => return CaseOutcome::Error(format!("the engine did not accept the service: {e}")),
    };
    let steps: Vec<(Option<&str>, &RequestSpec, Option<&Expect>)> = match &case.request {
        Some(r) => vec![(None, r, case.expect.as_ref())],
        None => case
            .steps
            .iter()
            .filter_map(|s| {
                s.request
                    .as_ref()
                    .map(|r| (s.advance.as_deref(), r, s.expect.as_ref()))
            })
            .collect(),
    };
    let dir = file.path.parent().unwrap_or(Path::new("."));
    let base = file.suite.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
    let many = !case.steps.is_empty();
    let fut = async {
        let mut failures = Vec::new();
        for (i, (advance, spec, expect)) in steps.into_iter().enumerate() {
            if let Some(a) = advance {
                match parse_duration(a) {
                    Ok(d) => handles.clock.advance(d),
                    Err(e) => return CaseOutcome::Error(e),
                }
            }
            let key = match subscription_key(&service, case, &spec.path) {
                Ok(k) => k,
                Err(e) => return CaseOutcome::Error(e),
            };
            let req = match build_request(
                spec,
                base,
                dir,
                key.as_ref().map(|(h, k)| (h.as_str(), k.as_str())),
            ) {
                Ok(r) => r,
                Err(e) => return CaseOutcome::Error(e),
            };
            let (c0, m0, e0) = (
                handles.http.call_count(),
                handles.metrics.records().len(),
                handles.events.events().len(),
            );
            let sent_at = handles.clock.now();
            let mut outcome = match engine.send(&instance, req).await {
                Ok(o) => o,
                Err(e) => return CaseOutcome::Error(format!("the engine failed: {e}")),
            };
            let body = match outcome.response.body.buffer(DEFAULT_BUFFER_LIMIT).await {
                Ok(()) => outcome.response.body.peek().cloned().unwrap_or_default(),
                Err(e) => return CaseOutcome::Error(format!("reading the response body: {e}")),
            };
            let observed = Observed {
                sent_at,
                body,
                calls: handles.http.calls().into_iter().skip(c0).collect(),
                metrics: handles.metrics.records().into_iter().skip(m0).collect(),
                events: handles.events.events().into_iter().skip(e0).collect(),
                outcome,
            };
            let Some(expect) = expect else { continue };
            let mismatches = check(expect, &observed, &service);
            if !mismatches.is_empty() {
                failures.push(StepFailure {
                    step: many.then_some(i + 1),
                    request: describe_request(spec),
                    mismatches,
                    trace: trace_lines(&observed.outcome.trace),
                });
            }
        }
        if failures.is_empty() {
            CaseOutcome::Passed
        } else {
            CaseOutcome::Failed(failures)
        }
    };
    rt.block_on(handles.clock.run(fut))
}

/// Trace entries as `section source data` lines.
pub fn trace_lines(trace: &apim_engine::trace::Trace) -> Vec<String> {
    trace
        .all()
        .map(|(section, e)| {
            let mut data = serde_json::to_string(&e.data).unwrap_or_default();
            if data.len() > 300 {
                let cut = (0..=300)
                    .rev()
                    .find(|i| data.is_char_boundary(*i))
                    .unwrap_or(0);
                data.truncate(cut);
                data.push('…');
            }
            format!("{:<9} {} {}", section.as_str(), e.source, data)
        })
        .collect()
}

/// Checks every expectation of one request.
pub fn check(expect: &Expect, o: &Observed, service: &ServiceDefinition) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let resp = &o.outcome.response;
    if let Some(s) = expect.status {
        if s != resp.status {
            out.push(Mismatch::new(
                "status",
                s.to_string(),
                format!("{} {}", resp.status, resp.reason),
            ));
        }
    }
    for (name, rule) in &expect.headers {
        out.extend(match_header(
            name,
            rule,
            resp.headers.get_joined(name).as_deref(),
            "",
        ));
    }
    if let Some(b) = &expect.body {
        out.extend(match_body(b, &o.body, "body"));
    }
    if let Some(c) = &expect.backend_calls {
        let urls = || {
            o.calls
                .iter()
                .map(|c| format!("{} {}", c.method, c.url))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let want = c.count.or(c.calls.as_ref().map(Vec::len));
        if let Some(n) = want {
            if n != o.calls.len() {
                out.push(Mismatch::new(
                    "backend calls",
                    format!("{n} calls"),
                    format!("{} calls: [{}]", o.calls.len(), urls()),
                ));
            }
        }
        for (i, (e, a)) in c.calls.iter().flatten().zip(&o.calls).enumerate() {
            let at = format!("backend call {}", i + 1);
            out.extend(match_call(e, a, &at, service));
            out.extend(match_after(e, a, o.sent_at, &at));
        }
    }
    for (name, expected) in &expect.variables {
        let at = format!("variable {name}");
        match o.outcome.variables.get(name) {
            Some(v) => json_subset(expected, v, &at, &mut out),
            None => out.push(Mismatch::new(at, expected.to_string(), "(not set)")),
        }
    }
    let sources: Vec<&str> = o
        .outcome
        .trace
        .all()
        .map(|(_, e)| e.source.as_str())
        .collect();
    let list = || {
        if sources.is_empty() {
            "(empty trace)".to_string()
        } else {
            sources.join(", ")
        }
    };
    for p in &expect.policies {
        if !sources.contains(&p.as_str()) {
            out.push(Mismatch::new("trace", format!("policy {p}"), list()));
        }
    }
    for p in &expect.policies_absent {
        if sources.contains(&p.as_str()) {
            out.push(Mismatch::new("trace", format!("no policy {p}"), list()));
        }
    }
    for m in &expect.metrics {
        let ok = o.metrics.iter().any(|r| {
            metric_matches(
                Some(&m.name),
                m.namespace.as_deref(),
                m.value,
                &m.dimensions,
                r,
            )
        });
        if !ok {
            let actual: Vec<String> = o
                .metrics
                .iter()
                .map(|r| format!("{}/{}={} {:?}", r.namespace, r.name, r.value, r.dimensions))
                .collect();
            out.push(Mismatch::new(
                format!("metric {}", m.name),
                format!("value {:?} dimensions {:?}", m.value, m.dimensions),
                if actual.is_empty() {
                    "(no metrics)".into()
                } else {
                    actual.join("; ")
                },
            ));
        }
    }
    for (i, e) in expect.events.iter().enumerate() {
        let ok = o.events.iter().any(|r| event_matches(e, r));
        if !ok {
            let actual: Vec<String> = o
                .events
                .iter()
                .map(|r| format!("{}: {}", r.logger_id, r.message))
                .collect();
            out.push(Mismatch::new(
                format!("event {}", i + 1),
                format!("logger {:?} message {:?}", e.logger, e.message),
                if actual.is_empty() {
                    "(no events)".into()
                } else {
                    actual.join("; ")
                },
            ));
        }
    }
    out.extend(crate::absence::check_absent(expect, o, service));
    out
}

/// Whether a metric record has the given name, namespace, value and dimensions (each when
/// given; dimension names ignore case, as App Insights custom dimensions do).
pub fn metric_matches(
    name: Option<&str>,
    namespace: Option<&str>,
    value: Option<f64>,
    dimensions: &BTreeMap<String, String>,
    r: &MetricRecord,
) -> bool {
    name.is_none_or(|n| n == r.name)
        && namespace.is_none_or(|n| n == r.namespace)
        && value.is_none_or(|v| v == r.value)
        && dimensions.iter().all(|(k, v)| {
            r.dimensions
                .iter()
                .any(|(rk, rv)| rk.eq_ignore_ascii_case(k) && rv == v)
        })
}

/// Whether a log event was written to the given logger with a matching message.
pub fn event_matches(e: &crate::format::EventExpect, r: &EventRecord) -> bool {
    e.logger.as_ref().is_none_or(|l| *l == r.logger_id)
        && e.message
            .as_ref()
            .is_none_or(|m| match_body(m, r.message.as_bytes(), "").is_empty())
}

/// Checks a call's `after:` (virtual time since the client request was sent at `sent_at`).
pub fn match_after(
    e: &CallExpect,
    a: &RecordedCall,
    sent_at: chrono::DateTime<chrono::Utc>,
    at: &str,
) -> Option<Mismatch> {
    let after = e.after.as_ref()?;
    let actual = (a.at - sent_at).to_std().unwrap_or_default();
    match parse_duration(after) {
        Ok(want) if want == actual => None,
        Ok(_) => Some(Mismatch::new(
            format!("{at} after"),
            after.clone(),
            duration_text(actual),
        )),
        Err(err) => Some(Mismatch::new(format!("{at} after"), after.clone(), err)),
    }
}

/// A duration as a test file writes it: `3s`, `80ms`, else Rust's notation.
fn duration_text(d: std::time::Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d.subsec_nanos() % 1_000_000 == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{d:?}")
    }
}

/// Checks one backend call.
pub fn match_call(
    e: &CallExpect,
    a: &RecordedCall,
    at: &str,
    service: &ServiceDefinition,
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(b) = &e.backend {
        let host = mock_host(service, b).unwrap_or_else(|_| b.clone());
        if !(host.eq_ignore_ascii_case(a.url.host())
            || host.eq_ignore_ascii_case(&a.url.host_header()))
        {
            out.push(Mismatch::new(
                format!("{at} backend"),
                format!("{b} ({host})"),
                a.url.host_header(),
            ));
        }
    }
    if let Some(m) = &e.method {
        if !m.eq_ignore_ascii_case(&a.method) {
            out.push(Mismatch::new(
                format!("{at} method"),
                m.clone(),
                a.method.clone(),
            ));
        }
    }
    let url = a.url.to_string();
    if let Some(u) = &e.url {
        if *u != url {
            out.push(Mismatch::new(format!("{at} url"), u.clone(), url.clone()));
        }
    }
    if let Some(re) = &e.url_regex {
        match regex::Regex::new(re) {
            Ok(r) if r.is_match(&url) => {}
            Ok(_) => out.push(Mismatch::new(
                format!("{at} url"),
                format!("matching /{re}/"),
                url.clone(),
            )),
            Err(err) => out.push(Mismatch::new(
                format!("{at} url"),
                format!("a valid regex `{re}`"),
                format!("invalid: {err}"),
            )),
        }
    }
    if let Some(p) = &e.path {
        if p != a.url.path() {
            out.push(Mismatch::new(
                format!("{at} path"),
                p.clone(),
                a.url.path().to_string(),
            ));
        }
    }
    for (name, rule) in &e.headers {
        out.extend(match_header(
            name,
            rule,
            a.headers.get_joined(name).as_deref(),
            &format!("{at} "),
        ));
    }
    if let Some(b) = &e.body {
        out.extend(match_body(b, &a.body, &format!("{at} body")));
    }
    out
}
