use std::path::{Path, PathBuf};
use std::process::ExitCode;

use apim_policy::diag::{self, Diagnostic, FileDiagnostics};
use apim_policy::{AttrValue, LineIndex, PolicyDocument};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// Policy files or folders (folders are searched recursively for *.xml).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// The scope the documents are attached at; also reports policies APIM does not allow there.
    #[arg(long, value_enum)]
    scope: Option<ScopeArg>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ScopeArg {
    Global,
    Workspace,
    Product,
    Api,
    Operation,
}

impl From<ScopeArg> for apim_policy::Scope {
    fn from(s: ScopeArg) -> Self {
        match s {
            ScopeArg::Global => apim_policy::Scope::Global,
            ScopeArg::Workspace => apim_policy::Scope::Workspace,
            ScopeArg::Product => apim_policy::Scope::Product,
            ScopeArg::Api => apim_policy::Scope::Api,
            ScopeArg::Operation => apim_policy::Scope::Operation,
        }
    }
}

/// Files named on the command line, and `*.xml` under folders, in a stable order.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml")) {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or folder", p.display()));
        }
    }
    Ok(out)
}

pub fn run(args: Args) -> ExitCode {
    let files = match collect_files(&args.paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut results: Vec<(String, String, Vec<Diagnostic>)> = Vec::new();
    for f in &files {
        let bytes = match std::fs::read(f) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {}: {e}", f.display());
                return ExitCode::from(2);
            }
        };
        let r = apim_policy::read(&bytes, f);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let mut diagnostics = r.diagnostics;
        if let Some(doc) = &r.document {
            if let Some(scope) = args.scope {
                diagnostics.extend(apim_policy::check_scope(doc, scope.into()));
            }
            diagnostics.extend(expression_diagnostics(doc, &text));
            diagnostics.sort_by_key(|d| d.span.start);
        }
        results.push((f.display().to_string(), text, diagnostics));
    }
    for config in configurations(&args.paths) {
        add_configuration_diagnostics(&config, &mut results);
    }
    let views: Vec<FileDiagnostics> = results
        .iter()
        .map(|(p, t, d)| FileDiagnostics {
            path: p,
            source: t,
            diagnostics: d,
        })
        .collect();
    // A closed pipe (`check ... | head`) ends the output quietly instead of panicking.
    let mut text = String::new();
    match args.format {
        Format::Human => {
            for v in &views {
                text.push_str(&diag::render_human(v));
            }
            text.push_str(&diag::summary(&views));
        }
        Format::Json => text.push_str(&diag::render_json(&views)),
    }
    text.push('\n');
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    if views
        .iter()
        .any(|v| v.diagnostics.iter().any(Diagnostic::is_error))
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The gateway configurations among `paths`: an `apim-emu.yaml` (`.yml`, `.json`), a folder
/// holding one, or an APIOps extractor folder.
fn configurations(paths: &[PathBuf]) -> Vec<PathBuf> {
    use apim_gateway::config::{CONFIG_FILE_NAMES, apiops};
    paths
        .iter()
        .filter(|p| {
            if p.is_dir() {
                CONFIG_FILE_NAMES.iter().any(|n| p.join(n).is_file())
                    || apiops::looks_like_apiops(p)
            } else {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| CONFIG_FILE_NAMES.contains(&n))
            }
        })
        .cloned()
        .collect()
}

/// Loads a configuration as `serve` does and adds what stops it to `results` (code APIM0021),
/// under the file each problem is in. Secrets missing from the environment are not reported:
/// `check` runs where they are not set (CI).
fn add_configuration_diagnostics(
    config: &Path,
    results: &mut Vec<(String, String, Vec<Diagnostic>)>,
) {
    use apim_gateway::config::{ErrorKind, LoadOptions, load};
    let Err(e) = load(config, &LoadOptions::default()) else {
        return;
    };
    for d in e
        .diagnostics
        .iter()
        .filter(|d| d.kind != ErrorKind::MissingSecret)
    {
        let file = d.file.clone().unwrap_or_else(|| config.to_path_buf());
        let path = file.display().to_string();
        let at = match results.iter().position(|(p, _, _)| *p == path) {
            Some(i) => i,
            None => {
                let text = std::fs::read(&file)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                results.push((path, text, Vec::new()));
                results.len() - 1
            }
        };
        let (_, text, diagnostics) = &mut results[at];
        let span = if d.line > 0 {
            let start = LineIndex::new(text).offset(text, d.line, d.col.max(1));
            apim_policy::Span {
                start,
                end: start,
                line: d.line,
                col: d.col.max(1),
            }
        } else {
            apim_policy::Span::NONE
        };
        diagnostics.push(Diagnostic {
            code: diag::codes::CONFIGURATION,
            severity: diag::Severity::Error,
            message: d.message.clone(),
            span,
            notes: d.notes.clone(),
        });
        diagnostics.sort_by_key(|d| d.span.start);
    }
}

/// Parses and type-checks every `@(...)` / `@{...}` of a document (attribute values and element
/// text) with the expression compiler the engine's plan uses (`apim_csharp::compile`, no other
/// options), as APIM does when a policy is saved. Diagnostics point at their place in the file.
///
/// A `{{named value}}` inside a C# string literal is checked with placeholder text of the same
/// length (its value cannot change the types); one in the code itself is only known at
/// deployment, so that expression gets a note saying it was not checked.
pub fn expression_diagnostics(doc: &PolicyDocument, text: &str) -> Vec<Diagnostic> {
    let index = LineIndex::new(text);
    let mut out = Vec::new();
    for value in doc.values() {
        let AttrValue::Expression(e) = &value.value else {
            continue;
        };
        let source = match with_placeholders(e) {
            Ok(s) => s,
            Err(name) => {
                out.push(Diagnostic::note(
                    "EXPR0001",
                    e.span,
                    format!(
                        "expression not type-checked: named value '{{{{{name}}}}}' is part of its code, known only at deployment"
                    ),
                ));
                continue;
            }
        };
        let Err(diags) = apim_csharp::compile(&source) else {
            continue;
        };
        for d in diags {
            let start = e.file_offset(d.span.start as usize).min(text.len());
            let end = e
                .file_offset((d.span.end as usize).max(d.span.start as usize))
                .clamp(start, text.len());
            let span = index.span(text, start, end);
            out.push(Diagnostic::error(d.code, span, d.message));
        }
    }
    out
}

/// The expression source with each `{{name}}` inside a string or char literal replaced by as
/// many `x` (offsets stay the same); `Err(name)` when one stands in the code itself.
fn with_placeholders(e: &apim_policy::Expression) -> Result<String, String> {
    if e.named_values.is_empty() {
        return Ok(e.source.clone());
    }
    let literal = literal_mask(&e.source);
    let mut s = e.source.clone();
    for nv in &e.named_values {
        let r = nv.offset.clone();
        if r.end > s.len() || !literal.get(r.start).copied().unwrap_or(false) {
            return Err(nv.name.clone());
        }
        s.replace_range(r.clone(), &"x".repeat(r.len()));
    }
    Ok(s)
}

/// For each byte of C# source: whether it is inside a string or char literal (interpolation
/// holes count as literal text; only placement of named values depends on this).
fn literal_mask(src: &str) -> Vec<bool> {
    let b = src.as_bytes();
    let mut mask = vec![false; b.len()];
    let mut i = 0;
    while i < b.len() {
        let verbatim = (b[i] == b'@' && b.get(i + 1) == Some(&b'"'))
            || ((b[i] == b'$' && b.get(i + 1) == Some(&b'@'))
                || (b[i] == b'@' && b.get(i + 1) == Some(&b'$')))
                && b.get(i + 2) == Some(&b'"');
        let quote = if b[i] == b'"' || b[i] == b'\'' {
            Some(b[i])
        } else if verbatim {
            i += if b[i + 1] == b'"' { 1 } else { 2 };
            Some(b'"')
        } else {
            None
        };
        let Some(q) = quote else {
            i += 1;
            continue;
        };
        i += 1;
        while i < b.len() {
            if !verbatim && b[i] == b'\\' {
                mask[i] = true;
                if i + 1 < b.len() {
                    mask[i + 1] = true;
                }
                i += 2;
                continue;
            }
            if b[i] == q {
                if verbatim && b.get(i + 1) == Some(&b'"') {
                    mask[i] = true;
                    mask[i + 1] = true;
                    i += 2;
                    continue;
                }
                break;
            }
            mask[i] = true;
            i += 1;
        }
        i += 1;
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("apim-emu-check-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("nested")).expect("temp dir");
        dir
    }

    #[test]
    fn sample_policies_have_no_errors() {
        let policies = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/policies"));
        let args = Args {
            paths: vec![policies],
            format: Format::Human,
            scope: None,
        };
        assert_eq!(run(args), ExitCode::SUCCESS);
    }

    #[test]
    fn scope_rules_apply_when_a_scope_is_given() {
        let dir = temp_dir("scope");
        std::fs::write(
            dir.join("p.xml"),
            "<policies><inbound><quota calls=\"10\" renewal-period=\"3600\" /></inbound></policies>",
        )
        .unwrap();
        let args = |scope| Args {
            paths: vec![dir.clone()],
            format: Format::Human,
            scope,
        };
        assert_eq!(run(args(None)), ExitCode::SUCCESS);
        assert_eq!(run(args(Some(ScopeArg::Product))), ExitCode::SUCCESS);
        assert_eq!(run(args(Some(ScopeArg::Api))), ExitCode::from(1));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn folders_are_searched_for_xml_and_errors_fail() {
        let dir = temp_dir("errors");
        std::fs::write(dir.join("ok.xml"), "<fragment><base-x /></fragment>").unwrap();
        std::fs::write(dir.join("nested/readme.txt"), "not a policy").unwrap();
        std::fs::write(
            dir.join("nested/good.xml"),
            "<fragment><set-variable name=\"a\" value=\"1\" /></fragment>",
        )
        .unwrap();
        let files = collect_files(std::slice::from_ref(&dir)).unwrap();
        assert_eq!(files.len(), 2);
        let args = Args {
            paths: vec![dir.clone()],
            format: Format::Json,
            scope: None,
        };
        assert_eq!(run(args), ExitCode::from(1));
        std::fs::remove_file(dir.join("ok.xml")).unwrap();
        let args = Args {
            paths: vec![dir.clone()],
            format: Format::Human,
            scope: None,
        };
        assert_eq!(run(args), ExitCode::SUCCESS);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_path_is_a_usage_error() {
        let args = Args {
            paths: vec![PathBuf::from("/definitely/not/here.xml")],
            format: Format::Human,
            scope: None,
        };
        assert_eq!(run(args), ExitCode::from(2));
    }
}
