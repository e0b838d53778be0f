//! Converts a policy document between the escaped XML form (what Bicep, ARM and Terraform
//! need) and the raw form people edit. Only attribute values and element text are rewritten;
//! comments, layout and markup stay byte for byte, so the output is a minimal diff.

use crate::diag::Diagnostic;
use crate::model::{AttrValue, Content, DocumentKind, Element, TemplatePart, Value};
use crate::prescan::entity_char;
use crate::reader::read_str;

/// The two forms APIM accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Escaped XML: every value XML-escaped (`&quot;`, `&lt;`, `&amp;` inside expressions).
    Xml,
    /// Raw: expressions written as C# (`"`, `<`, `&&` unescaped); other text escaped.
    RawXml,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The document has errors, so it cannot be converted faithfully.
    #[error("the document has {} error(s); fix them before converting", .0.iter().filter(|d| d.is_error()).count())]
    Invalid(Vec<Diagnostic>),
}

/// Rewrites `source` in the given form.
pub fn write(source: &str, form: Form) -> Result<String, WriteError> {
    let r = read_str(source);
    let Some(doc) = r.document else {
        return Err(WriteError::Invalid(r.diagnostics));
    };
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut visit = |e: &Element| collect(e, source, form, &mut edits);
    match &doc.kind {
        DocumentKind::Policies { sections } => sections
            .iter()
            .flat_map(|s| &s.policies)
            .for_each(&mut visit),
        DocumentKind::Fragment { body } => body.iter().for_each(&mut visit),
    }
    edits.sort_by_key(|e| e.0);
    let mut out = String::with_capacity(source.len() + source.len() / 8);
    let mut at = 0;
    for (a, b, text) in edits {
        if a < at || b > source.len() {
            continue;
        }
        out.push_str(&source[at..a]);
        out.push_str(&text);
        at = b;
    }
    out.push_str(&source[at..]);
    Ok(out)
}

fn collect(e: &Element, source: &str, form: Form, edits: &mut Vec<(usize, usize, String)>) {
    for a in &e.attributes {
        let v = &a.value;
        let quote = v
            .span
            .start
            .checked_sub(1)
            .and_then(|i| source.as_bytes().get(i))
            .copied()
            .unwrap_or(b'"');
        edit(v, source, form, Some(quote), edits);
    }
    match &e.content {
        Content::Text(v) => {
            let original = source.get(v.span.start..v.span.end).unwrap_or("");
            // CDATA and comments inside text are kept as written
            if !original.contains("<!") {
                edit(v, source, form, None, edits);
            }
        }
        Content::Children(children) => {
            for c in children {
                collect(c, source, form, edits);
            }
        }
        Content::Empty | Content::Markup(_) => {}
    }
}

/// The edit for one value: an expression is rewritten in place (whitespace around it stays);
/// text is escaped for the escaped form and left as written for the raw form, which accepts it.
fn edit(
    v: &Value,
    source: &str,
    form: Form,
    quote: Option<u8>,
    edits: &mut Vec<(usize, usize, String)>,
) {
    let (start, end) = match &v.value {
        AttrValue::Expression(x) => (x.span.start, x.span.end),
        _ if form == Form::RawXml => return,
        _ => (v.span.start, v.span.end),
    };
    let text = encode(v, form, quote);
    if source.get(start..end) != Some(text.as_str()) {
        edits.push((start, end, text));
    }
}

fn encode(v: &Value, form: Form, quote: Option<u8>) -> String {
    match &v.value {
        AttrValue::Literal(s) => escape(s, quote),
        AttrValue::Template(t) => {
            let mut s = String::new();
            for p in &t.parts {
                match p {
                    TemplatePart::Text(x) => s.push_str(x),
                    TemplatePart::NamedValue(n) => {
                        s.push_str("{{");
                        s.push_str(&n.name);
                        s.push_str("}}");
                    }
                }
            }
            escape(&s, quote)
        }
        AttrValue::Expression(x) => match form {
            Form::Xml => escape(&x.source, quote),
            Form::RawXml => raw(&x.source),
        },
    }
}

/// XML escaping for a value in an attribute (with its quote) or in element text.
fn escape(s: &str, quote: Option<u8>) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quote == Some(b'"') => out.push_str("&quot;"),
            '\'' if quote == Some(b'\'') => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// An expression as raw text: only an `&` that would read back as an entity is escaped.
fn raw(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    for (i, c) in b.iter().enumerate() {
        if *c == b'&' && entity_char(b, i).is_some() {
            out.push_str(&s[at..i]);
            out.push_str("&amp;");
            at = i + 1;
        }
    }
    out.push_str(&s[at..]);
    out
}
