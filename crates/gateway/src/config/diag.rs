//! Configuration errors: every problem names the file, line and column, and renders as
//! `file:line:col: error: message` followed by the source line and a caret.

use std::fmt;
use std::path::{Path, PathBuf};

/// What kind of problem a [`Diagnostic`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A file could not be read (missing, unreadable, not UTF-8).
    Io,
    /// YAML or JSON syntax.
    Syntax,
    /// A field the format does not have.
    UnknownField,
    /// A value of the wrong type or out of range, or a required field missing.
    InvalidValue,
    /// A name that refers to an API, product, backend, fragment, user, group or operation that
    /// does not exist, or a policy/specification file that does not exist.
    UnknownReference,
    /// Two entities with the same id.
    Duplicate,
    /// Secrets the configuration does not hold and the environment does not provide.
    MissingSecret,
    /// An OpenAPI/Swagger document that cannot be imported.
    Specification,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::Syntax => "syntax",
            ErrorKind::UnknownField => "unknown-field",
            ErrorKind::InvalidValue => "invalid-value",
            ErrorKind::UnknownReference => "unknown-reference",
            ErrorKind::Duplicate => "duplicate",
            ErrorKind::MissingSecret => "missing-secret",
            ErrorKind::Specification => "specification",
        }
    }
}

/// One configuration problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub kind: ErrorKind,
    pub file: Option<PathBuf>,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: u32,
    /// 1-based column in characters; 0 when unknown.
    pub col: u32,
    /// The source line, for the caret.
    pub line_text: Option<String>,
    pub message: String,
    /// Extra lines printed under the caret (`= note: ...`).
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn at_file(kind: ErrorKind, file: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            kind,
            file: Some(file.to_path_buf()),
            line: 0,
            col: 0,
            line_text: None,
            message: message.into(),
            notes: Vec::new(),
        }
    }
    pub fn general(kind: ErrorKind, message: impl Into<String>) -> Self {
        Diagnostic {
            kind,
            file: None,
            line: 0,
            col: 0,
            line_text: None,
            message: message.into(),
            notes: Vec::new(),
        }
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// `file:line:col` (or less when unknown).
    pub fn location(&self) -> String {
        let mut s = match &self.file {
            Some(f) => f.display().to_string(),
            None => String::new(),
        };
        if self.line > 0 {
            s.push_str(&format!(":{}", self.line));
            if self.col > 0 {
                s.push_str(&format!(":{}", self.col));
            }
        }
        s
    }

    /// The full rendering: header, source line with a caret, notes.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let loc = self.location();
        if loc.is_empty() {
            out.push_str(&format!("error: {}\n", self.message));
        } else {
            out.push_str(&format!("{loc}: error: {}\n", self.message));
        }
        if let Some(text) = &self.line_text {
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            out.push_str(&format!("{pad} |\n{num} | {text}\n"));
            if self.col > 0 {
                // Tabs keep their width so the caret lines up.
                let lead: String = text
                    .chars()
                    .take(self.col as usize - 1)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                out.push_str(&format!("{pad} | {lead}^\n"));
            }
        }
        for n in &self.notes {
            out.push_str(&format!("  = note: {n}\n"));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loc = self.location();
        if loc.is_empty() {
            write!(f, "error: {}", self.message)
        } else {
            write!(f, "{loc}: error: {}", self.message)
        }
    }
}

/// A configuration that cannot be loaded, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    pub fn one(d: Diagnostic) -> Self {
        ConfigError {
            diagnostics: vec![d],
        }
    }
    /// Every diagnostic rendered with its source line and caret, then a summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&d.render());
            out.push('\n');
        }
        let n = self.diagnostics.len();
        out.push_str(&format!(
            "error: configuration not loaded ({n} error{})\n",
            if n == 1 { "" } else { "s" }
        ));
        out
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl From<Diagnostic> for ConfigError {
    fn from(d: Diagnostic) -> Self {
        ConfigError::one(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_source_line_and_caret() {
        let d = Diagnostic {
            kind: ErrorKind::UnknownField,
            file: Some("cfg/apim-emu.yaml".into()),
            line: 12,
            col: 5,
            line_text: Some("    servceUrl: x".into()),
            message: "unknown field `servceUrl`, did you mean `serviceUrl`?".into(),
            notes: vec![],
        };
        assert_eq!(
            d.render(),
            "cfg/apim-emu.yaml:12:5: error: unknown field `servceUrl`, did you mean `serviceUrl`?\n   |\n12 |     servceUrl: x\n   |     ^\n"
        );
        assert_eq!(
            d.to_string(),
            "cfg/apim-emu.yaml:12:5: error: unknown field `servceUrl`, did you mean `serviceUrl`?"
        );
    }
}
