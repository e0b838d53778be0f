//! `diff`: the same requests, in order, through two service definitions (OLD and NEW) with the
//! same mocks, clock start and seed; what differs in the backend calls and the client responses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use apim_engine::http::{DEFAULT_BUFFER_LIMIT, HeaderMap};
use apim_engine::service::ServiceDefinition;
use apim_engine::services::{MockMatch, MockReply, RecordedCall, Services, VirtualClock};
use apim_gateway::config::{LoadOptions, load};
use bytes::Bytes;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::EngineUnderTest;
use crate::format::{Mock, RequestSpec, Settings, parse_duration};
use crate::runner::{DEFAULT_BASE_URL, TempDir, build_request, install_mocks, policy_config};

/// Errors preparing a diff (a difference is not an error).
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{0}")]
    Target(String),
    #[error("{file}:{line}: {message}")]
    Requests {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{0}")]
    Engine(String),
}

/// One line of the `--requests` JSON-lines file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DiffRequest {
    #[serde(default)]
    pub method: Option<String>,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub json: Option<Value>,
    /// Clock advance before this request (`15s`).
    #[serde(default)]
    pub advance: Option<String>,
}

impl DiffRequest {
    fn spec(&self) -> RequestSpec {
        RequestSpec {
            method: self.method.clone(),
            path: self.path.clone(),
            headers: self.headers.clone(),
            body: self.body.clone(),
            body_file: None,
            json: self.json.clone(),
        }
    }
}

/// Reads a JSON-lines requests file (blank lines and lines starting with `#` are skipped).
pub fn read_requests(path: &Path) -> Result<Vec<DiffRequest>, DiffError> {
    let text = std::fs::read_to_string(path).map_err(|e| DiffError::Requests {
        file: path.into(),
        line: 0,
        message: format!("cannot read: {e}"),
    })?;
    parse_requests(path, &text)
}

pub fn parse_requests(path: &Path, text: &str) -> Result<Vec<DiffRequest>, DiffError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let err = |message: String| DiffError::Requests {
            file: path.into(),
            line: i + 1,
            message,
        };
        let r: DiffRequest = serde_json::from_str(t).map_err(|e| err(e.to_string()))?;
        if !r.path.starts_with('/') {
            return Err(err(format!("path `{}` must start with `/`", r.path)));
        }
        if let Some(a) = &r.advance {
            parse_duration(a).map_err(err)?;
        }
        out.push(r);
    }
    Ok(out)
}

/// Reads a `--mocks` file: YAML (or JSON) mapping backend ids or hosts to mocks, in the test
/// format's `mocks:` shape. Errors name `file:line:col`.
pub fn read_mocks(path: &Path) -> Result<BTreeMap<String, Mock>, DiffError> {
    use apim_gateway::config::de::from_node;
    use apim_gateway::config::node::{Sources, parse_file};
    let text = std::fs::read_to_string(path)
        .map_err(|e| DiffError::Target(format!("{}: cannot read: {e}", path.display())))?;
    let mut sources = Sources::default();
    let id = sources.add(path, text);
    let node = parse_file(&sources, id)
        .map_err(|d| DiffError::Target(d.render().trim_end().to_string()))?;
    let mocks: BTreeMap<String, Mock> = from_node(&node).map_err(|e| {
        DiffError::Target(
            e.into_diagnostic(&sources, node.mark)
                .render()
                .trim_end()
                .to_string(),
        )
    })?;
    for (k, m) in &mocks {
        for r in m.responses.iter().chain(
            m.rules
                .iter()
                .flat_map(|r| r.respond.iter().chain(&r.responses)),
        ) {
            if let Some(l) = &r.latency {
                parse_duration(l).map_err(|e| {
                    DiffError::Target(format!("{}: mock `{k}`: {e}", path.display()))
                })?;
            }
        }
    }
    Ok(mocks)
}

/// Mocks, clock and seed both sides share.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Mocked backends; calls nothing else answers get `200` with `{}` (the diff compares what
    /// the policies do, not what backends say).
    pub mocks: BTreeMap<String, Mock>,
    /// Clock start (default 2024-01-01T00:00:00Z).
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    pub seed: u64,
    /// Default [`DEFAULT_BASE_URL`].
    pub base_url: Option<String>,
    /// How OLD and NEW configurations are loaded (`--env`).
    pub load: LoadOptions,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// 1-based line number among the requests.
    pub request: usize,
    /// `response status`, `response header x`, `response body`, `backend calls`,
    /// `backend call 1 url`, `backend call 1 header api-key`, `backend call 1 body`, `error`.
    pub what: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// All differences.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffReport {
    /// `METHOD /path` of each request.
    pub requests: Vec<String>,
    pub differences: Vec<Difference>,
}

impl DiffReport {
    /// 1 when anything differs.
    pub fn exit_code(&self) -> i32 {
        if self.differences.is_empty() { 0 } else { 1 }
    }

    /// The human rendering.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let mut last = 0;
        for d in &self.differences {
            if d.request != last {
                last = d.request;
                let r = self
                    .requests
                    .get(d.request - 1)
                    .map(String::as_str)
                    .unwrap_or("");
                out.push_str(&format!("request {}: {r}\n", d.request));
            }
            out.push_str(&format!("  {}\n", d.what));
            out.push_str(&format!(
                "    old: {}\n",
                d.old.as_deref().unwrap_or("(none)")
            ));
            out.push_str(&format!(
                "    new: {}\n",
                d.new.as_deref().unwrap_or("(none)")
            ));
        }
        let differ = {
            let mut v: Vec<usize> = self.differences.iter().map(|d| d.request).collect();
            v.dedup();
            v.len()
        };
        out.push_str(&format!(
            "{} requests, {differ} differ\n",
            self.requests.len()
        ));
        out
    }

    /// `--format json`.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// What one request did on one side.
#[derive(Debug, Default)]
struct SideResult {
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: Bytes,
    calls: Vec<RecordedCall>,
    error: Option<String>,
}

fn header_pairs(h: &HeaderMap) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = h
        .iter()
        .map(|(k, vals)| (k.to_ascii_lowercase(), vals.join(",")))
        .collect();
    v.sort();
    v
}

fn run_side<E: EngineUnderTest>(
    engine: &E,
    service: &ServiceDefinition,
    requests: &[DiffRequest],
    opts: &DiffOptions,
) -> Result<Vec<SideResult>, DiffError> {
    let clock = match opts.at {
        Some(t) => VirtualClock::new(t),
        None => VirtualClock::at_default_start(),
    };
    let (services, handles) = Services::for_tests(clock, opts.seed);
    install_mocks(&handles.http, service, &opts.mocks).map_err(DiffError::Target)?;
    handles
        .http
        .always(MockMatch::default(), MockReply::json(200, "{}"));
    let instance = engine
        .prepare(service, services)
        .map_err(|e| DiffError::Engine(e.to_string()))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| DiffError::Engine(format!("cannot start a runtime: {e}")))?;
    let base = opts.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
    let fut = async {
        let mut out = Vec::new();
        for r in requests {
            if let Some(a) = &r.advance {
                if let Ok(d) = parse_duration(a) {
                    handles.clock.advance(d);
                }
            }
            let c0 = handles.http.call_count();
            let mut side = SideResult::default();
            match build_request(&r.spec(), base, Path::new("."), None) {
                Err(e) => side.error = Some(e),
                Ok(req) => match engine.send(&instance, req).await {
                    Err(e) => side.error = Some(e.to_string()),
                    Ok(mut o) => {
                        side.status = Some(o.response.status);
                        side.headers = header_pairs(&o.response.headers);
                        match o.response.body.buffer(DEFAULT_BUFFER_LIMIT).await {
                            Ok(()) => {
                                side.body = o.response.body.peek().cloned().unwrap_or_default()
                            }
                            Err(e) => side.error = Some(format!("response body: {e}")),
                        }
                    }
                },
            }
            side.calls = handles.http.calls().into_iter().skip(c0).collect();
            out.push(side);
        }
        out
    };
    Ok(rt.block_on(handles.clock.run(fut)))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn compare_pairs(
    at: &str,
    old: &[(String, String)],
    new: &[(String, String)],
    request: usize,
    out: &mut Vec<Difference>,
) {
    let names: std::collections::BTreeSet<&String> =
        old.iter().chain(new).map(|(k, _)| k).collect();
    for n in names {
        let get = |v: &[(String, String)]| {
            let vals: Vec<&str> = v
                .iter()
                .filter(|(k, _)| k == n)
                .map(|(_, x)| x.as_str())
                .collect();
            (!vals.is_empty()).then(|| vals.join(","))
        };
        let (o, w) = (get(old), get(new));
        if o != w {
            out.push(Difference {
                request,
                what: format!("{at} header {n}"),
                old: o,
                new: w,
            });
        }
    }
}

fn compare(request: usize, old: &SideResult, new: &SideResult, out: &mut Vec<Difference>) {
    let mut push = |what: String, o: Option<String>, n: Option<String>| {
        if o != n {
            out.push(Difference {
                request,
                what,
                old: o,
                new: n,
            });
        }
    };
    push("error".into(), old.error.clone(), new.error.clone());
    if old.calls.len() != new.calls.len() {
        let list = |c: &[RecordedCall]| {
            c.iter()
                .map(|c| format!("{} {}", c.method, c.url))
                .collect::<Vec<_>>()
                .join(", ")
        };
        push(
            "backend calls".into(),
            Some(format!("{}: [{}]", old.calls.len(), list(&old.calls))),
            Some(format!("{}: [{}]", new.calls.len(), list(&new.calls))),
        );
    }
    for (i, (o, n)) in old.calls.iter().zip(&new.calls).enumerate() {
        let at = format!("backend call {}", i + 1);
        push(
            format!("{at} method"),
            Some(o.method.clone()),
            Some(n.method.clone()),
        );
        push(
            format!("{at} url"),
            Some(o.url.to_string()),
            Some(n.url.to_string()),
        );
        push(
            format!("{at} body"),
            Some(text(&o.body)),
            Some(text(&n.body)),
        );
    }
    push(
        "response status".into(),
        old.status.map(|s| s.to_string()),
        new.status.map(|s| s.to_string()),
    );
    push(
        "response body".into(),
        Some(text(&old.body)),
        Some(text(&new.body)),
    );
    // A Host header that only follows the URL would repeat the URL difference.
    let call_headers = |c: &RecordedCall| {
        let host = c.url.host_header();
        let mut h = header_pairs(&c.headers);
        h.retain(|(k, v)| !(k == "host" && v.eq_ignore_ascii_case(&host)));
        h
    };
    for (i, (o, n)) in old.calls.iter().zip(&new.calls).enumerate() {
        compare_pairs(
            &format!("backend call {}", i + 1),
            &call_headers(o),
            &call_headers(n),
            request,
            out,
        );
    }
    compare_pairs("response", &old.headers, &new.headers, request, out);
}

/// Runs `requests` through OLD and NEW and lists the differences.
pub fn diff<E: EngineUnderTest>(
    engine: &E,
    old: &ServiceDefinition,
    new: &ServiceDefinition,
    requests: &[DiffRequest],
    opts: &DiffOptions,
) -> Result<DiffReport, DiffError> {
    let a = run_side(engine, old, requests, opts)?;
    let b = run_side(engine, new, requests, opts)?;
    let mut differences = Vec::new();
    for (i, (o, n)) in a.iter().zip(&b).enumerate() {
        compare(i + 1, o, n, &mut differences);
    }
    Ok(DiffReport {
        requests: requests
            .iter()
            .map(|r| format!("{} {}", r.method.as_deref().unwrap_or("GET"), r.path))
            .collect(),
        differences,
    })
}

/// OLD or NEW on disk: as given, or a `git:REV:PATH` checked out into a temporary folder (kept
/// while this value lives).
#[derive(Debug)]
pub struct ResolvedTarget {
    pub path: PathBuf,
    _tmp: Option<TempDir>,
}

/// Resolves `git:REV:PATH` (PATH relative to the repository root of `cwd`) by extracting the
/// whole tree at REV with `git archive` (so files a configuration references outside PATH are
/// there too); any other text is a path.
pub fn resolve_target(spec: &str, cwd: &Path) -> Result<ResolvedTarget, DiffError> {
    let Some(rest) = spec.strip_prefix("git:") else {
        return Ok(ResolvedTarget {
            path: cwd.join(spec),
            _tmp: None,
        });
    };
    let (rev, path) = rest
        .split_once(':')
        .ok_or_else(|| DiffError::Target(format!("`{spec}`: write git:REV:PATH")))?;
    let top = Command::new("git")
        .arg("-C")
        .arg(cwd)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .map_err(|e| DiffError::Target(format!("`{spec}`: cannot run git: {e}")))?;
    if !top.status.success() {
        return Err(DiffError::Target(format!(
            "`{spec}`: {}",
            String::from_utf8_lossy(&top.stderr).trim()
        )));
    }
    let top = PathBuf::from(String::from_utf8_lossy(&top.stdout).trim());
    let tmp =
        TempDir::new("git").map_err(|e| DiffError::Target(format!("temporary folder: {e}")))?;
    let mut git = Command::new("git")
        .arg("-C")
        .arg(&top)
        .args(["archive", "--format=tar", rev])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| DiffError::Target(format!("`{spec}`: cannot run git: {e}")))?;
    let Some(stdout) = git.stdout.take() else {
        return Err(DiffError::Target(format!("`{spec}`: git gave no output")));
    };
    let tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(tmp.path())
        .stdin(stdout)
        .output()
        .map_err(|e| DiffError::Target(format!("`{spec}`: cannot run tar: {e}")))?;
    let g = git
        .wait_with_output()
        .map_err(|e| DiffError::Target(format!("`{spec}`: git: {e}")))?;
    if !g.status.success() {
        return Err(DiffError::Target(format!(
            "`{spec}`: git archive {rev}: {}",
            String::from_utf8_lossy(&g.stderr).trim()
        )));
    }
    if !tar.status.success() {
        return Err(DiffError::Target(format!(
            "`{spec}`: tar: {}",
            String::from_utf8_lossy(&tar.stderr).trim()
        )));
    }
    let p = tmp.path().join(path);
    if !p.exists() {
        return Err(DiffError::Target(format!("`{spec}`: no `{path}` at {rev}")));
    }
    Ok(ResolvedTarget {
        path: p,
        _tmp: Some(tmp),
    })
}

/// The service of a target: a configuration (folder or file), or a policy file (`.xml`) with
/// `settings` around it.
pub fn load_target(
    path: &Path,
    settings: Option<&Settings>,
    options: &LoadOptions,
) -> Result<ServiceDefinition, DiffError> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
    {
        let abs = std::fs::canonicalize(path)
            .map_err(|e| DiffError::Target(format!("{}: {e}", path.display())))?;
        let tmp = TempDir::new("diff")
            .map_err(|e| DiffError::Target(format!("temporary folder: {e}")))?;
        let cfg = tmp.path().join("apim-emu.json");
        std::fs::write(&cfg, policy_config(&abs, settings).to_string())
            .map_err(|e| DiffError::Target(format!("{}: {e}", cfg.display())))?;
        return load(&cfg, options)
            .map(|l| l.service)
            .map_err(|e| DiffError::Target(e.render().trim_end().to_string()));
    }
    load(path, options)
        .map(|l| l.service)
        .map_err(|e| DiffError::Target(e.render().trim_end().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_file_errors_name_the_line() {
        let ok = parse_requests(Path::new("r.jsonl"), "# c\n{\"path\":\"/a\"}\n\n{\"method\":\"POST\",\"path\":\"/b\",\"json\":{},\"advance\":\"1s\"}\n").unwrap();
        assert_eq!(ok.len(), 2);
        let e = parse_requests(
            Path::new("r.jsonl"),
            "{\"path\":\"/a\"}\n{\"pth\":\"/a\"}\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("r.jsonl:2: unknown field `pth`"),
            "{e}"
        );
        let e = parse_requests(Path::new("r.jsonl"), "{\"path\":\"a\"}\n").unwrap_err();
        assert!(e.to_string().contains("must start with"), "{e}");
    }

    #[test]
    fn compare_lists_status_header_body_and_call_count() {
        let old = SideResult {
            status: Some(200),
            headers: vec![("x-a".into(), "1".into()), ("x-same".into(), "s".into())],
            body: Bytes::from_static(b"a"),
            ..Default::default()
        };
        let new = SideResult {
            status: Some(429),
            headers: vec![("x-b".into(), "2".into()), ("x-same".into(), "s".into())],
            body: Bytes::from_static(b"a"),
            ..Default::default()
        };
        let mut out = Vec::new();
        compare(3, &old, &new, &mut out);
        let whats: Vec<(&str, Option<&str>, Option<&str>)> = out
            .iter()
            .map(|d| (d.what.as_str(), d.old.as_deref(), d.new.as_deref()))
            .collect();
        assert_eq!(
            whats,
            vec![
                ("response status", Some("200"), Some("429")),
                ("response header x-a", Some("1"), None),
                ("response header x-b", None, Some("2")),
            ]
        );
        assert!(out.iter().all(|d| d.request == 3));
    }

    #[test]
    fn mocks_file_reads_and_reports_positions() {
        let dir =
            std::env::temp_dir().join(format!("apim-emu-testkit-mocks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ok = dir.join("mocks.yaml");
        std::fs::write(&ok, "aoai-eastus:\n  responses: [{status: 429}]\n").unwrap();
        let bad = dir.join("bad.yaml");
        std::fs::write(&bad, "aoai-eastus:\n  respones: []\n").unwrap();
        let m = read_mocks(&ok).unwrap();
        let e = read_mocks(&bad).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(m["aoai-eastus"].responses[0].status, Some(429));
        assert!(e.contains("bad.yaml:2:3"), "{e}");
    }

    #[test]
    fn report_renders_and_maps_exit_status() {
        let r = DiffReport {
            requests: vec!["POST /a".into(), "POST /b".into()],
            differences: vec![Difference {
                request: 2,
                what: "backend call 1 url".into(),
                old: Some("https://east/x".into()),
                new: Some("https://west/x".into()),
            }],
        };
        assert_eq!(r.exit_code(), 1);
        assert_eq!(
            r.human(),
            "request 2: POST /b\n  backend call 1 url\n    old: https://east/x\n    new: https://west/x\n2 requests, 1 differ\n"
        );
        let j: Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(j["differences"][0]["new"], "https://west/x");
        assert_eq!(DiffReport::default().exit_code(), 0);
    }
}
