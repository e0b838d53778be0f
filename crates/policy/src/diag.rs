//! Diagnostics (errors, warnings, notes with a source position) and their rendering for people
//! (`path:line:col: error[CODE]: message` with the source line and a caret) and for tools (JSON).

use serde::Serialize;

use crate::span::{LineIndex, Span};

/// How bad a diagnostic is. Only errors make a document unusable (and `check` fail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Stable diagnostic codes (documented in docs/diagnostics.md).
pub mod codes {
    /// The text is not well-formed XML (after APIM's tolerance for raw expressions).
    pub const XML: &str = "APIM0001";
    /// Unknown element (policy or child element).
    pub const UNKNOWN_ELEMENT: &str = "APIM0002";
    /// Unknown attribute.
    pub const UNKNOWN_ATTRIBUTE: &str = "APIM0003";
    /// A required attribute is missing.
    pub const MISSING_ATTRIBUTE: &str = "APIM0004";
    /// The value is not one of the attribute's allowed values.
    pub const INVALID_VALUE: &str = "APIM0005";
    /// An expression where the attribute or element takes only a literal.
    pub const EXPRESSION_NOT_ALLOWED: &str = "APIM0006";
    /// A policy in a section (or a fragment) where APIM does not allow it.
    pub const NOT_ALLOWED_HERE: &str = "APIM0007";
    /// `@(` or `@{` without its matching bracket.
    pub const UNBALANCED_EXPRESSION: &str = "APIM0008";
    /// Text before or after an expression in the same value.
    pub const TEXT_AROUND_EXPRESSION: &str = "APIM0009";
    /// The file is not valid UTF-8.
    pub const INVALID_UTF8: &str = "APIM0010";
    /// Elements nested deeper than the reader accepts.
    pub const TOO_DEEP: &str = "APIM0011";
    /// A snippet without `<policies>` or `<fragment>` root, read as a fragment body.
    pub const BARE_SNIPPET: &str = "APIM0012";
    /// The root element is neither `<policies>` nor `<fragment>`.
    pub const UNKNOWN_ROOT: &str = "APIM0013";
    /// Text where only elements are allowed, or elements where only text is allowed.
    pub const UNEXPECTED_CONTENT: &str = "APIM0014";
    /// A section appears twice.
    pub const DUPLICATE_SECTION: &str = "APIM0015";
    /// None of a group of alternative attributes is present (e.g. base-url or backend-id).
    pub const MISSING_ONE_OF: &str = "APIM0016";
    /// An end tag that does not match the open element.
    pub const MISMATCHED_END_TAG: &str = "APIM0017";
    /// A required child element is missing.
    pub const MISSING_CHILD: &str = "APIM0018";
    /// A policy documented as "once per section / document" appears more than once (warning:
    /// whether APIM refuses it on save is unconfirmed).
    pub const REPEATED_POLICY: &str = "APIM0019";
    /// A policy at a scope where APIM does not allow it (checked when the scope is known).
    pub const NOT_ALLOWED_AT_SCOPE: &str = "APIM0020";
    /// The gateway configuration (apim-emu.yaml or an APIOps folder) cannot be loaded: a bad
    /// field, an unknown reference (backend, named value, logger ...), a missing file.
    pub const CONFIGURATION: &str = "APIM0021";
}

/// One finding about a document, with the position it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    /// Extra lines shown after the source excerpt (hints such as "did you mean ...?").
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            notes: Vec::new(),
        }
    }

    pub fn note(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Note,
            ..Diagnostic::error(code, span, message)
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The diagnostics of one file, with the text they point into.
#[derive(Debug, Clone, Copy)]
pub struct FileDiagnostics<'a> {
    pub path: &'a str,
    /// The source text (lossily decoded when the file was not UTF-8).
    pub source: &'a str,
    pub diagnostics: &'a [Diagnostic],
}

/// Renders diagnostics for people, rustc style:
///
/// ```text
/// policy.xml:3:9: error[APIM0002]: unknown policy element `set-heder`
///   3 |         <set-heder name="x" />
///     |         ^^^^^^^^^^
///   = help: did you mean `set-header`?
/// ```
pub fn render_human(file: &FileDiagnostics<'_>) -> String {
    let index = LineIndex::new(file.source);
    let mut out = String::new();
    for d in file.diagnostics {
        let Span { line, col, .. } = d.span;
        out.push_str(&format!(
            "{}:{}:{}: {}[{}]: {}\n",
            file.path,
            line.max(1),
            col.max(1),
            d.severity.as_str(),
            d.code,
            d.message
        ));
        if line > 0 {
            let text = index.line_text(file.source, line);
            let gutter = line.to_string().len();
            out.push_str(&format!(" {line} | {text}\n"));
            let (pad, carets) = caret(text, col, d.span, file.source);
            out.push_str(&format!(" {} | {pad}{carets}\n", " ".repeat(gutter)));
        }
        for n in &d.notes {
            out.push_str(&format!("  = {n}\n"));
        }
    }
    out
}

/// Padding (copying tabs so the caret lines up) and carets covering the span on its first line.
fn caret(line_text: &str, col: u32, span: Span, source: &str) -> (String, String) {
    let col = col.max(1) as usize;
    let pad: String = line_text
        .chars()
        .take(col - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let span_chars = source
        .get(span.start..span.end)
        .map(|s| s.lines().next().unwrap_or("").chars().count())
        .unwrap_or(1);
    let rest = line_text.chars().count().saturating_sub(col - 1);
    let n = span_chars.min(rest).max(1);
    (pad, "^".repeat(n))
}

/// Renders the diagnostics of several files as one JSON document:
/// `{"documents":N,"ok":N,"with_errors":N,"files":[{"path":..,"diagnostics":[..]}]}`.
pub fn render_json(files: &[FileDiagnostics<'_>]) -> String {
    let with_errors = files
        .iter()
        .filter(|f| f.diagnostics.iter().any(Diagnostic::is_error))
        .count();
    let files_json: Vec<serde_json::Value> = files
        .iter()
        .map(|f| {
            let diags: Vec<serde_json::Value> = f
                .diagnostics
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "code": d.code,
                        "severity": d.severity,
                        "message": d.message,
                        "line": d.span.line,
                        "col": d.span.col,
                        "start": d.span.start,
                        "end": d.span.end,
                        "notes": d.notes,
                    })
                })
                .collect();
            serde_json::json!({"path": f.path, "diagnostics": diags})
        })
        .collect();
    let doc = serde_json::json!({
        "documents": files.len(),
        "ok": files.len() - with_errors,
        "with_errors": with_errors,
        "files": files_json,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The summary line of `check`: `N documents: N ok, N with errors`.
pub fn summary(files: &[FileDiagnostics<'_>]) -> String {
    let with_errors = files
        .iter()
        .filter(|f| f.diagnostics.iter().any(Diagnostic::is_error))
        .count();
    format!(
        "{} documents: {} ok, {} with errors",
        files.len(),
        files.len() - with_errors,
        with_errors
    )
}
