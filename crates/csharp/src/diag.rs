//! Diagnostics: what APIM would report when a policy with this expression is saved.
use crate::ast::Span;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code: C# compiler codes where C# has one (`CS1061`), `APIM...` for APIM's own
    /// restrictions and `EMU...` for limits of this emulator.
    pub code: &'static str,
    pub message: String,
    pub span: Span,
}

impl Diagnostic {
    pub fn new(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            span,
        }
    }

    /// `error CS1061: message` followed by the source line and a caret under the span.
    pub fn render(&self, source: &str) -> String {
        let start = (self.span.start as usize).min(source.len());
        let end = (self.span.end as usize).clamp(start, source.len());
        let line_start = source[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let line_end = source[start..]
            .find('\n')
            .map(|i| start + i)
            .unwrap_or(source.len());
        let line_no = source[..start].matches('\n').count() + 1;
        let col = source[line_start..start].chars().count() + 1;
        let text = &source[line_start..line_end];
        let width = source[start..end.min(line_end)].chars().count().max(1);
        let pad: String = source[line_start..start]
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!(
            "error {}: {}\n --> {}:{}\n  | {}\n  | {}{}",
            self.code,
            self.message,
            line_no,
            col,
            text,
            pad,
            "^".repeat(width)
        )
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at {}..{}: {}",
            self.code, self.span.start, self.span.end, self.message
        )
    }
}
