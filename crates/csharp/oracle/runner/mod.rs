//! The differential oracle: loads the case files, compiles them into one C# program with Mono,
//! runs it, and compares the outcomes with ours (CONTRACTS.md §B). Included by
//! `crates/csharp/tests/oracle.rs` with `#[path]`; plain Rust, no dependency on the evaluator.

#![allow(dead_code)]

use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Bumped whenever the generated program changes shape, to invalidate cached Mono results.
const GENERATOR_VERSION: &str = "oracle-gen-4";

/// The namespaces APIM imports implicitly around every expression.
pub const USINGS: &[&str] = &[
    "System",
    "System.Collections.Generic",
    "System.Linq",
    "System.Text",
    "System.Text.RegularExpressions",
    "System.Xml.Linq",
    "System.Net",
    "System.Security.Cryptography",
    "System.Security.Cryptography.X509Certificates",
    "Newtonsoft.Json",
    "Newtonsoft.Json.Linq",
];

pub fn oracle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oracle")
}

/// How the two sides are compared for one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compare {
    /// Type and rendered value (or exception type).
    Full,
    /// Only the result type: the value depends on a random source neither side can share
    /// (`Guid.NewGuid()`, unseeded `new Random()`).
    TypeOnly,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub category: String,
    pub expr: String,
    pub context: Value,
    pub note: Option<String>,
    pub source: Option<String>,
    pub compare: Compare,
    /// Mono must refuse to compile it (APIM refuses it too); ours must reject it.
    pub compile_error: Option<String>,
    /// Mono compiles it but APIM refuses it (a type or member outside APIM's allowed list).
    pub apim_rejects: Option<String>,
}

/// What the C# side produced for one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OracleOutcome {
    Value {
        type_name: String,
        rendered: String,
    },
    Exception {
        type_name: String,
        message: String,
    },
    CompileError {
        message: String,
    },
    /// The harness itself failed (timeout, bad context): never a valid comparison.
    Failed {
        message: String,
    },
}

/// What our evaluator produced (mirrors `apim_csharp::EvalOutcome`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ours {
    Value { type_name: String, rendered: String },
    Exception { type_name: String, message: String },
    Rejected { diagnostics: Vec<String> },
}

#[derive(Debug, thiserror::Error)]
pub enum OracleError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("case file {path}: {message}")]
    CaseFile { path: String, message: String },
    #[error("mcs/mono: {0}")]
    Mono(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OracleError + '_ {
    move |source| OracleError::Io {
        path: path.display().to_string(),
        source,
    }
}

// ---------------------------------------------------------------------------------------------
// Case files

/// Loads every `cases/*.json` file. A case's `context` is an inline object or the name of a
/// file in `contexts/` (without `.json`); absent means `{}` (all defaults).
pub fn load_cases(dir: &Path) -> Result<Vec<Case>, OracleError> {
    let cases_dir = dir.join("cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&cases_dir)
        .map_err(io_err(&cases_dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut named: HashMap<String, Value> = HashMap::new();
    let mut corpus = CorpusExpressions::default();
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(io_err(&file))?;
        let bad = |message: String| OracleError::CaseFile {
            path: file.display().to_string(),
            message,
        };
        let doc: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let category = doc
            .get("category")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                file.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
        let Some(cases) = doc.get("cases").and_then(Value::as_array) else {
            return Err(bad("missing \"cases\" array".into()));
        };
        for c in cases {
            let field = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
            let id = field("id").ok_or_else(|| bad(format!("case without id: {c}")))?;
            let expr = match (field("expr"), field("expr_sha256")) {
                (Some(expr), _) => expr,
                (None, Some(hash)) => match corpus.resolve(dir, &hash) {
                    Resolved::Found(expr) => expr,
                    Resolved::Unavailable => continue,
                    Resolved::Missing => {
                        return Err(bad(format!(
                            "case {id}: no expression in ../shared/corpus has SHA-256 {hash}"
                        )));
                    }
                },
                (None, None) => return Err(bad(format!("case {id} without expr"))),
            };
            if !(expr.starts_with("@(") && expr.ends_with(')')
                || expr.starts_with("@{") && expr.ends_with('}'))
            {
                return Err(bad(format!("case {id}: expr must be @(...) or @{{...}}")));
            }
            if let Some(prev) = seen.insert(id.clone(), file.display().to_string()) {
                return Err(bad(format!("duplicate case id {id} (also in {prev})")));
            }
            let context = match c.get("context") {
                None | Some(Value::Null) => json!({}),
                Some(Value::String(name)) => named_context(dir, &mut named, name)?,
                Some(Value::Object(o)) => match o.get("$base").and_then(Value::as_str) {
                    Some(base) => {
                        let mut merged = named_context(dir, &mut named, base)?;
                        let mut overlay = Value::Object(o.clone());
                        if let Some(m) = overlay.as_object_mut() {
                            m.remove("$base");
                        }
                        merge(&mut merged, overlay);
                        merged
                    }
                    None => Value::Object(o.clone()),
                },
                Some(other) => {
                    return Err(bad(format!(
                        "case {id}: context must be an object or a name, got {other}"
                    )));
                }
            };
            let compare = match field("compare").as_deref() {
                None | Some("full") => Compare::Full,
                Some("type") => Compare::TypeOnly,
                Some(x) => return Err(bad(format!("case {id}: unknown compare mode {x}"))),
            };
            out.push(Case {
                id,
                category: category.clone(),
                expr,
                context,
                note: field("note"),
                source: field("source"),
                compare,
                compile_error: field("compile_error"),
                apim_rejects: field("apim_rejects"),
            });
        }
    }
    Ok(out)
}

/// Corpus expressions by SHA-256, read from ../shared/corpus by `scripts/resolve_corpus.py`
/// once per run: the case files keep only the hashes (the corpus is third-party data).
#[derive(Default)]
struct CorpusExpressions {
    loaded: Option<Option<HashMap<String, String>>>,
}

enum Resolved {
    Found(String),
    /// The corpus (or python3) is not here: the case is skipped, with a message.
    Unavailable,
    Missing,
}

impl CorpusExpressions {
    fn resolve(&mut self, dir: &Path, hash: &str) -> Resolved {
        let map = self.loaded.get_or_insert_with(|| {
            let corpus = dir.join("../../../../shared/corpus");
            let script = dir.join("scripts/resolve_corpus.py");
            let run = std::process::Command::new("python3")
                .arg(&script)
                .arg(&corpus)
                .output();
            match run {
                Ok(o) if o.status.success() => Some(
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                        .filter_map(|v| {
                            Some((
                                v["sha256"].as_str()?.to_owned(),
                                v["expr"].as_str()?.to_owned(),
                            ))
                        })
                        .collect(),
                ),
                other => {
                    let why = match other {
                        Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                        Err(e) => e.to_string(),
                    };
                    let msg = format!(
                        "oracle: corpus cases skipped: cannot read expressions from {} ({})",
                        corpus.display(),
                        why.trim()
                    );
                    if std::env::var_os("CI").is_some() {
                        panic!("{msg} (CI is set, so this is a failure)");
                    }
                    eprintln!("{msg}");
                    None
                }
            }
        });
        match map {
            None => Resolved::Unavailable,
            Some(m) => match m.get(hash) {
                Some(e) => Resolved::Found(e.clone()),
                None => Resolved::Missing,
            },
        }
    }
}

fn named_context(
    dir: &Path,
    cache: &mut HashMap<String, Value>,
    name: &str,
) -> Result<Value, OracleError> {
    if let Some(v) = cache.get(name) {
        return Ok(v.clone());
    }
    let p = dir.join("contexts").join(format!("{name}.json"));
    let t = std::fs::read_to_string(&p).map_err(io_err(&p))?;
    let v: Value = serde_json::from_str(&t).map_err(|e| OracleError::CaseFile {
        path: p.display().to_string(),
        message: e.to_string(),
    })?;
    cache.insert(name.to_owned(), v.clone());
    Ok(v)
}

/// Deep merge: objects merge key by key, anything else replaces.
pub fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

// ---------------------------------------------------------------------------------------------
// Generating the C# program

/// Clock members routed to the context's clock (CONTRACTS.md §C), longest first.
const CLOCK_REWRITES: &[(&str, &str)] = &[
    ("System.DateTimeOffset.UtcNow", "OracleHost.OffsetUtcNow"),
    ("System.DateTimeOffset.Now", "OracleHost.OffsetNow"),
    ("System.DateTime.UtcNow", "OracleHost.UtcNow"),
    ("System.DateTime.Today", "OracleHost.Today"),
    ("System.DateTime.Now", "OracleHost.Now"),
    ("DateTimeOffset.UtcNow", "OracleHost.OffsetUtcNow"),
    ("DateTimeOffset.Now", "OracleHost.OffsetNow"),
    ("DateTime.UtcNow", "OracleHost.UtcNow"),
    ("DateTime.Today", "OracleHost.Today"),
    ("DateTime.Now", "OracleHost.Now"),
];

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Rewrites clock reads in C# code, leaving string/char literals and comments alone (but
/// rewriting inside interpolation holes).
pub fn rewrite_clock(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    code(&chars, &mut i, &mut out, None);
    // Anything left (unbalanced closer) is copied verbatim.
    out.extend(&chars[i..]);
    out
}

/// Copies code until `stop` (a closing `}` at depth 0 of an interpolation hole) or the end.
fn code(s: &[char], i: &mut usize, out: &mut String, stop: Option<char>) {
    let mut depth = 0usize;
    while *i < s.len() {
        let c = s[*i];
        if stop.is_some() && depth == 0 && c == '}' {
            return;
        }
        match c {
            '{' | '(' | '[' => {
                depth += 1;
                out.push(c);
                *i += 1;
            }
            '}' | ')' | ']' => {
                depth = depth.saturating_sub(1);
                out.push(c);
                *i += 1;
            }
            '/' if s.get(*i + 1) == Some(&'/') => {
                while *i < s.len() && s[*i] != '\n' {
                    out.push(s[*i]);
                    *i += 1;
                }
            }
            '/' if s.get(*i + 1) == Some(&'*') => {
                out.push_str("/*");
                *i += 2;
                while *i < s.len() && !(s[*i] == '*' && s.get(*i + 1) == Some(&'/')) {
                    out.push(s[*i]);
                    *i += 1;
                }
                if *i < s.len() {
                    out.push_str("*/");
                    *i += 2;
                }
            }
            '\'' => char_literal(s, i, out),
            '"' | '@' | '$' if starts_string(s, *i) => string_literal(s, i, out),
            _ => {
                let prev_ok = *i == 0 || !(is_ident(s[*i - 1]) || s[*i - 1] == '.');
                if prev_ok
                    && let Some((from, to)) = CLOCK_REWRITES.iter().find(|(from, _)| {
                        let f: Vec<char> = from.chars().collect();
                        s[*i..].starts_with(&f) && s.get(*i + f.len()).is_none_or(|&n| !is_ident(n))
                    })
                {
                    out.push_str(to);
                    *i += from.chars().count();
                    continue;
                }
                out.push(c);
                *i += 1;
            }
        }
    }
}

fn starts_string(s: &[char], i: usize) -> bool {
    match s[i] {
        '"' => true,
        '@' | '$' => {
            let mut k = i;
            while k < s.len() && (s[k] == '@' || s[k] == '$') && k - i < 2 {
                k += 1;
            }
            k > i && s.get(k) == Some(&'"')
        }
        _ => false,
    }
}

fn char_literal(s: &[char], i: &mut usize, out: &mut String) {
    out.push('\'');
    *i += 1;
    while *i < s.len() {
        let c = s[*i];
        out.push(c);
        *i += 1;
        if c == '\\' && *i < s.len() {
            out.push(s[*i]);
            *i += 1;
        } else if c == '\'' || c == '\n' {
            return;
        }
    }
}

fn string_literal(s: &[char], i: &mut usize, out: &mut String) {
    let (mut verbatim, mut interp) = (false, false);
    while s[*i] != '"' {
        if s[*i] == '@' {
            verbatim = true;
        } else {
            interp = true;
        }
        out.push(s[*i]);
        *i += 1;
    }
    out.push('"');
    *i += 1;
    while *i < s.len() {
        let c = s[*i];
        if verbatim && c == '"' {
            if s.get(*i + 1) == Some(&'"') {
                out.push_str("\"\"");
                *i += 2;
                continue;
            }
            out.push('"');
            *i += 1;
            return;
        }
        if !verbatim && c == '\\' {
            out.push(c);
            *i += 1;
            if *i < s.len() {
                out.push(s[*i]);
                *i += 1;
            }
            continue;
        }
        if !verbatim && (c == '"' || c == '\n') {
            out.push(c);
            *i += 1;
            return;
        }
        if interp && c == '{' {
            if s.get(*i + 1) == Some(&'{') {
                out.push_str("{{");
                *i += 2;
                continue;
            }
            out.push('{');
            *i += 1;
            code(s, i, out, Some('}'));
            if *i < s.len() {
                out.push('}');
                *i += 1;
            }
            continue;
        }
        out.push(c);
        *i += 1;
    }
}

/// The C# method body for an expression: `return (<expr>);` for `@(...)`, the block for `@{...}`.
pub fn method_body(expr: &str) -> String {
    let inner = &expr[2..expr.len() - 1];
    let inner = rewrite_clock(inner);
    if expr.starts_with("@(") {
        format!("return (\n{inner}\n);")
    } else {
        format!("{inner}\n")
    }
}

fn harness_sources(dir: &Path) -> Result<Vec<(String, String)>, OracleError> {
    let hdir = dir.join("harness");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&hdir)
        .map_err(io_err(&hdir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cs"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            std::fs::read_to_string(&p)
                .map(|t| (name, t))
                .map_err(io_err(&p))
        })
        .collect()
}

/// One C# file holding every case as `static object CaseN(IContext context)`, with `#line`
/// directives naming the case so compiler errors map back to it.
pub fn generate(cases: &[&Case], context_index: &[usize]) -> String {
    let mut s = String::new();
    for u in USINGS {
        let _ = writeln!(s, "using {u};");
    }
    s.push_str("\nstatic partial class OracleCases\n{\n");
    for (n, c) in cases.iter().enumerate() {
        let _ = writeln!(
            s,
            "static object Case{n}(IContext context)\n{{\n#line 1 \"case-{n}\""
        );
        s.push_str(&method_body(&c.expr));
        s.push_str("\n#line default\n}\n");
    }
    s.push_str("public static readonly OracleCase[] All = {\n");
    for (n, c) in cases.iter().enumerate() {
        let _ = writeln!(
            s,
            "new OracleCase({}, {}, Case{n}),",
            Value::String(c.id.clone()),
            context_index[n]
        );
    }
    s.push_str("};\n}\n");
    s
}

// ---------------------------------------------------------------------------------------------
// Running Mono

pub fn tools_available() -> bool {
    let ok = |cmd: &str, arg: &str| {
        Command::new(cmd)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    ok("mcs", "--version") && ok("mono", "--version") && newtonsoft_dll().is_some()
}

pub fn newtonsoft_dll() -> Option<PathBuf> {
    let base = Path::new("/usr/lib/mono/gac/Newtonsoft.Json");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(base)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    dirs.into_iter()
        .rev()
        .map(|d| d.join("Newtonsoft.Json.dll"))
        .find(|p| p.exists())
}

/// FNV-1a: a hash that is stable across Rust versions, for the cache key.
fn fnv(data: &[u8], mut h: u64) -> u64 {
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

fn compile(work: &Path, dll: &Path) -> Result<(bool, String), OracleError> {
    let mut cmd = Command::new("mcs");
    cmd.current_dir(work)
        .arg("-nologo")
        .arg("-warn:0")
        .arg("-out:oracle.exe")
        .arg(format!("-r:{}", dll.display()))
        .arg("-r:System.Xml.Linq")
        .arg("-r:System.Xml")
        .arg("-r:System.Core")
        .arg("-r:System.Numerics");
    let mut names: Vec<String> = std::fs::read_dir(work)
        .map_err(io_err(work))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".cs"))
        .collect();
    names.sort();
    cmd.args(&names);
    let out = cmd
        .output()
        .map_err(|e| OracleError::Mono(format!("running mcs: {e}")))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Ok((out.status.success(), text))
}

/// Parses `case-N(line,col): error CSxxxx: message` lines; errors elsewhere are returned apart.
fn parse_errors(text: &str) -> (BTreeMap<usize, Vec<String>>, Vec<String>) {
    let mut by_case: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut other = Vec::new();
    for line in text.lines().filter(|l| l.contains("error CS")) {
        let case = line
            .strip_prefix("case-")
            .and_then(|r| r.split('(').next())
            .and_then(|n| n.parse::<usize>().ok());
        match case {
            Some(n) => {
                let msg = line
                    .split_once("): ")
                    .map(|(_, m)| m)
                    .unwrap_or(line)
                    .to_owned();
                by_case.entry(n).or_default().push(msg);
            }
            None => other.push(line.to_owned()),
        }
    }
    (by_case, other)
}

/// Runs every case through Mono, caching the results in `cache_dir` keyed by the case
/// contents, the harness sources and the generator version.
pub fn run_oracle(
    cases: &[Case],
    dir: &Path,
    cache_dir: &Path,
) -> Result<HashMap<String, OracleOutcome>, OracleError> {
    let harness = harness_sources(dir)?;
    // The key covers everything that reaches Mono: harness, generated program, contexts.
    let mut h = fnv(GENERATOR_VERSION.as_bytes(), 0xcbf2_9ce4_8422_2325);
    for (n, t) in &harness {
        h = fnv(n.as_bytes(), h);
        h = fnv(t.as_bytes(), h);
    }
    let refs: Vec<&Case> = cases.iter().collect();
    let zeros = vec![0; cases.len()];
    h = fnv(generate(&refs, &zeros).as_bytes(), h);
    for c in cases {
        h = fnv(c.context.to_string().as_bytes(), h);
    }
    std::fs::create_dir_all(cache_dir).map_err(io_err(cache_dir))?;
    let cache_file = cache_dir.join(format!("oracle-{h:016x}.jsonl"));
    if let Ok(text) = std::fs::read_to_string(&cache_file) {
        let parsed = parse_results(&text);
        if cases.iter().all(|c| parsed.contains_key(&c.id)) {
            return Ok(parsed);
        }
    }
    let results = run_uncached(cases, &harness, cache_dir)?;
    let mut text = String::new();
    for c in cases {
        if let Some(r) = results.get(&c.id) {
            let _ = writeln!(text, "{}", result_line(&c.id, r));
        }
    }
    std::fs::write(&cache_file, text).map_err(io_err(&cache_file))?;
    Ok(results)
}

fn result_line(id: &str, r: &OracleOutcome) -> Value {
    match r {
        OracleOutcome::Value {
            type_name,
            rendered,
        } => {
            json!({"id": id, "kind": "value", "type": type_name, "rendered": rendered})
        }
        OracleOutcome::Exception { type_name, message } => {
            json!({"id": id, "kind": "exception", "type": type_name, "message": message})
        }
        OracleOutcome::CompileError { message } => {
            json!({"id": id, "kind": "compile_error", "message": message})
        }
        OracleOutcome::Failed { message } => {
            json!({"id": id, "kind": "failed", "message": message})
        }
    }
}

fn parse_results(text: &str) -> HashMap<String, OracleOutcome> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let id = s("id");
        let r = match s("kind").as_str() {
            "value" => OracleOutcome::Value {
                type_name: s("type"),
                rendered: s("rendered"),
            },
            "exception" => OracleOutcome::Exception {
                type_name: s("type"),
                message: s("message"),
            },
            "compile_error" => OracleOutcome::CompileError {
                message: s("message"),
            },
            "timeout" => OracleOutcome::Failed {
                message: "timeout".into(),
            },
            _ => OracleOutcome::Failed {
                message: s("message"),
            },
        };
        out.insert(id, r);
    }
    out
}

fn run_uncached(
    cases: &[Case],
    harness: &[(String, String)],
    cache_dir: &Path,
) -> Result<HashMap<String, OracleOutcome>, OracleError> {
    let dll = newtonsoft_dll()
        .ok_or_else(|| OracleError::Mono("Newtonsoft.Json.dll not found".into()))?;
    // Unique per run: tests in one process may run the oracle concurrently.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let work = cache_dir.join(format!("oracle-work-{}-{run}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(io_err(&work))?;
    for (name, text) in harness {
        let p = work.join(name);
        std::fs::write(&p, text).map_err(io_err(&p))?;
    }
    // Shared contexts, deduplicated by their JSON text.
    let mut ctx_texts: Vec<String> = Vec::new();
    let mut ctx_of: HashMap<String, usize> = HashMap::new();
    let mut index = Vec::with_capacity(cases.len());
    for c in cases {
        let t = c.context.to_string();
        let n = *ctx_of.entry(t.clone()).or_insert_with(|| {
            ctx_texts.push(t);
            ctx_texts.len() - 1
        });
        index.push(n);
    }
    let ctx_path = work.join("contexts.json");
    std::fs::write(&ctx_path, format!("[{}]", ctx_texts.join(","))).map_err(io_err(&ctx_path))?;

    let mut results: HashMap<String, OracleOutcome> = HashMap::new();
    let all: Vec<usize> = (0..cases.len()).collect();
    let live = compile_group(&all, cases, &index, &work, &dll, &mut results)?;
    if live.is_empty() {
        return Ok(results);
    }
    // The last successful compile may have been of a subgroup: build the full program again.
    let batch: Vec<&Case> = live.iter().map(|&n| &cases[n]).collect();
    let idx: Vec<usize> = live.iter().map(|&n| index[n]).collect();
    let src_path = work.join("Cases.cs");
    std::fs::write(&src_path, generate(&batch, &idx)).map_err(io_err(&src_path))?;
    let (ok, text) = compile(&work, &dll)?;
    if !ok {
        return Err(OracleError::Mono(format!(
            "the cases that compiled alone fail together:\n{text}"
        )));
    }
    let out = Command::new("mono")
        .current_dir(&work)
        .env("TZ", "UTC")
        .env("LANG", "C.UTF-8")
        .arg("oracle.exe")
        .arg("contexts.json")
        .output()
        .map_err(|e| OracleError::Mono(format!("running mono: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let parsed = parse_results(&stdout);
    for &n in &live {
        let id = &cases[n].id;
        let r = parsed
            .get(id)
            .cloned()
            .unwrap_or_else(|| OracleOutcome::Failed {
                message: format!(
                    "no result from mono (exit {:?}): {}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr)
                ),
            });
        results.insert(id.clone(), r);
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(results)
}

/// Compiles `group`, removing cases that do not compile (recorded as `CompileError`), and
/// returns the cases that compile. Errors the `#line` markers cannot attribute to a case (one
/// case broke the file's structure) are narrowed down by splitting the group in halves.
fn compile_group(
    group: &[usize],
    cases: &[Case],
    index: &[usize],
    work: &Path,
    dll: &Path,
    results: &mut HashMap<String, OracleOutcome>,
) -> Result<Vec<usize>, OracleError> {
    let mut live: Vec<usize> = group.to_vec();
    let src_path = work.join("Cases.cs");
    loop {
        if live.is_empty() {
            return Ok(live);
        }
        let batch: Vec<&Case> = live.iter().map(|&n| &cases[n]).collect();
        let idx: Vec<usize> = live.iter().map(|&n| index[n]).collect();
        std::fs::write(&src_path, generate(&batch, &idx)).map_err(io_err(&src_path))?;
        let (ok, text) = compile(work, dll)?;
        if ok {
            return Ok(live);
        }
        let (by_case, other) = parse_errors(&text);
        if !by_case.is_empty() {
            let drop: Vec<usize> = by_case
                .keys()
                .filter_map(|&k| live.get(k).copied())
                .collect();
            for (k, msgs) in by_case {
                if let Some(&n) = live.get(k) {
                    results.insert(
                        cases[n].id.clone(),
                        OracleOutcome::CompileError {
                            message: msgs.join("\n"),
                        },
                    );
                }
            }
            live.retain(|n| !drop.contains(n));
            continue;
        }
        // Errors in the harness files themselves (or none parsed at all) are fatal.
        let in_harness = other.iter().any(|l| !l.starts_with("Cases.cs"));
        if other.is_empty() || in_harness {
            return Err(OracleError::Mono(format!(
                "harness does not compile:\n{text}"
            )));
        }
        if live.len() == 1 {
            results.insert(
                cases[live[0]].id.clone(),
                OracleOutcome::CompileError {
                    message: other.join("\n"),
                },
            );
            return Ok(Vec::new());
        }
        let mid = live.len() / 2;
        let (a, b) = live.split_at(mid);
        let mut kept = compile_group(a, cases, index, work, dll, results)?;
        kept.extend(compile_group(b, cases, index, work, dll, results)?);
        return Ok(kept);
    }
}

// ---------------------------------------------------------------------------------------------
// Comparison

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Agree,
    Disagree(String),
}

pub fn compare(case: &Case, oracle: &OracleOutcome, ours: &Ours) -> Verdict {
    use OracleOutcome as O;
    if let Some(why) = &case.apim_rejects {
        return match ours {
            Ours::Rejected { .. } => Verdict::Agree,
            other => Verdict::Disagree(format!("APIM rejects it ({why}); ours gave {other:?}")),
        };
    }
    match (oracle, ours) {
        (O::Failed { message }, _) => Verdict::Disagree(format!("oracle failed: {message}")),
        (O::CompileError { .. }, Ours::Rejected { .. }) => Verdict::Agree,
        (
            O::Value {
                type_name: t1,
                rendered: r1,
            },
            Ours::Value {
                type_name: t2,
                rendered: r2,
            },
        ) => {
            if t1 == t2 && (case.compare == Compare::TypeOnly || r1 == r2) {
                Verdict::Agree
            } else {
                Verdict::Disagree(format!("value: oracle {t1} {r1}, ours {t2} {r2}"))
            }
        }
        (O::Exception { type_name: t1, .. }, Ours::Exception { type_name: t2, .. }) => {
            if t1 == t2 {
                Verdict::Agree
            } else {
                Verdict::Disagree(format!("exception: oracle {t1}, ours {t2}"))
            }
        }
        (o, u) => Verdict::Disagree(format!("kind: oracle {o:?}, ours {u:?}")),
    }
}

/// `known-differences.json`: `[{"id": ..., "reason": ...}]`, each mirrored in docs/compat.md.
pub fn known_differences(dir: &Path) -> Result<HashMap<String, String>, OracleError> {
    let p = dir.join("known-differences.json");
    let text = std::fs::read_to_string(&p).map_err(io_err(&p))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| OracleError::CaseFile {
        path: p.display().to_string(),
        message: e.to_string(),
    })?;
    let mut out = HashMap::new();
    for item in v.as_array().into_iter().flatten() {
        let id = item.get("id").and_then(Value::as_str);
        let reason = item.get("reason").and_then(Value::as_str);
        match (id, reason) {
            (Some(id), Some(reason)) if !reason.trim().is_empty() => {
                out.insert(id.to_owned(), reason.to_owned());
            }
            _ => {
                return Err(OracleError::CaseFile {
                    path: p.display().to_string(),
                    message: format!("entry needs an id and a reason: {item}"),
                });
            }
        }
    }
    Ok(out)
}

pub fn outcome_json(o: &OracleOutcome) -> Value {
    result_line("", o)
}

pub fn ours_json(o: &Ours) -> Value {
    match o {
        Ours::Value {
            type_name,
            rendered,
        } => json!({"kind": "value", "type": type_name, "rendered": rendered}),
        Ours::Exception { type_name, message } => {
            json!({"kind": "exception", "type": type_name, "message": message})
        }
        Ours::Rejected { diagnostics } => json!({"kind": "rejected", "diagnostics": diagnostics}),
    }
}

/// Where reports and cached results go: `target/` (integration tests know `target/tmp`).
pub fn target_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().map(Path::to_path_buf).unwrap_or(tmp)
}
