//! The policy document model. Every node keeps its source [`Span`]; compare two models while
//! ignoring positions with [`PolicyDocument::without_spans`].

pub use crate::prescan::ExprKind;
pub use crate::schema::ElementKind;
use crate::span::Span;

/// A policy document: a `<policies>` document with sections, or a `<fragment>` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    pub kind: DocumentKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentKind {
    /// `<policies>` with its sections, in document order.
    Policies { sections: Vec<Section> },
    /// `<fragment>` (or a bare snippet read as one): policy statements.
    Fragment { body: Vec<Element> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SectionKind {
    Inbound,
    Backend,
    Outbound,
    OnError,
}

impl SectionKind {
    pub const ALL: [SectionKind; 4] = [
        SectionKind::Inbound,
        SectionKind::Backend,
        SectionKind::Outbound,
        SectionKind::OnError,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Inbound => "inbound",
            SectionKind::Backend => "backend",
            SectionKind::Outbound => "outbound",
            SectionKind::OnError => "on-error",
        }
    }

    pub fn from_name(name: &str) -> Option<SectionKind> {
        SectionKind::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The section's bit in [`crate::schema::ElementSpec::sections`].
    pub fn bit(self) -> u8 {
        match self {
            SectionKind::Inbound => crate::schema::I,
            SectionKind::Backend => crate::schema::B,
            SectionKind::Outbound => crate::schema::O,
            SectionKind::OnError => crate::schema::E,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub kind: SectionKind,
    pub policies: Vec<Element>,
    pub span: Span,
}

/// A policy statement or one of its child elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub kind: ElementKind,
    pub attributes: Vec<Attribute>,
    pub content: Content,
    /// The whole element, start tag to end tag.
    pub span: Span,
}

impl Element {
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The value of an attribute, by name.
    pub fn attr(&self, name: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| &a.value)
    }

    /// Child elements (policies inside `when`, `retry` ...; `value`s of `set-header` ...).
    pub fn children(&self) -> &[Element] {
        match &self.content {
            Content::Children(c) => c,
            _ => &[],
        }
    }

    /// Child elements of one kind.
    pub fn children_of(&self, kind: ElementKind) -> impl Iterator<Item = &Element> {
        self.children().iter().filter(move |c| c.kind == kind)
    }

    /// The text content, when the element holds text.
    pub fn text(&self) -> Option<&Value> {
        match &self.content {
            Content::Text(v) => Some(v),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Empty,
    Children(Vec<Element>),
    Text(Value),
    /// XML kept as written (xsl-transform stylesheet, cross-domain policy, XML in set-body).
    Markup(Markup),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Markup {
    /// The content exactly as written in the source.
    pub xml: String,
    pub span: Span,
    /// `{{name}}` references in the markup; offsets are into `xml`.
    pub named_values: Vec<NamedValueRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Value,
    /// The whole attribute, `name="value"`.
    pub span: Span,
}

/// An attribute value or element text, with the span of its text in the source (inside the
/// quotes; between start and end tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub value: AttrValue,
    pub span: Span,
}

impl Value {
    pub fn as_literal(&self) -> Option<&str> {
        match &self.value {
            AttrValue::Literal(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_expression(&self) -> Option<&Expression> {
        match &self.value {
            AttrValue::Expression(e) => Some(e),
            _ => None,
        }
    }

    /// Named-value references anywhere in the value (template parts or inside an expression).
    pub fn named_values(&self) -> Vec<&NamedValueRef> {
        match &self.value {
            AttrValue::Literal(_) => Vec::new(),
            AttrValue::Expression(e) => e.named_values.iter().collect(),
            AttrValue::Template(t) => t
                .parts
                .iter()
                .filter_map(|p| match p {
                    TemplatePart::NamedValue(n) => Some(n),
                    TemplatePart::Text(_) => None,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrValue {
    /// Plain text (XML entities decoded).
    Literal(String),
    /// `@( ... )` or `@{ ... }`.
    Expression(Expression),
    /// Text with `{{named value}}` references, substituted before the document is used.
    Template(Template),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression {
    pub kind: ExprKind,
    /// The expression as written, `@(`/`@{` to the closing bracket, XML entities decoded and
    /// line breaks normalised to `\n`.
    pub source: String,
    pub span: Span,
    /// `{{name}}` references in the expression (also inside C# string literals); offsets are
    /// into `source`.
    pub named_values: Vec<NamedValueRef>,
    /// (offset in `source`, byte offset in the file) wherever the two stop moving together
    /// (after an XML entity or a `\r\n`); see [`Expression::file_offset`].
    pub offset_map: Vec<(usize, usize)>,
}

impl Expression {
    /// The byte offset in the file of a byte offset in `source` (for an error the C# parser
    /// reports inside the expression; turn it into line and column with [`crate::LineIndex`]).
    pub fn file_offset(&self, offset: usize) -> usize {
        let i = self
            .offset_map
            .partition_point(|c| c.0 <= offset)
            .saturating_sub(1);
        match self.offset_map.get(i) {
            Some(&(d, f)) => f + offset.saturating_sub(d),
            None => self.span.start + offset,
        }
    }

    /// The C# code between the brackets.
    pub fn code(&self) -> &str {
        self.source
            .get(2..self.source.len().saturating_sub(1))
            .unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    Text(String),
    NamedValue(NamedValueRef),
}

/// A `{{name}}` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedValueRef {
    pub name: String,
    /// Byte range of `{{name}}` in the decoded value (template text or expression source).
    pub offset: std::ops::Range<usize>,
    /// Where `{{name}}` is in the source file.
    pub span: Span,
}

impl PolicyDocument {
    /// The sections of a `<policies>` document (empty for a fragment).
    pub fn sections(&self) -> &[Section] {
        match &self.kind {
            DocumentKind::Policies { sections } => sections,
            DocumentKind::Fragment { .. } => &[],
        }
    }

    pub fn section(&self, kind: SectionKind) -> Option<&Section> {
        self.sections().iter().find(|s| s.kind == kind)
    }

    /// A copy with every span zeroed: two readings of the same policies in different forms
    /// (raw, escaped, reformatted) compare equal.
    pub fn without_spans(&self) -> PolicyDocument {
        let mut d = self.clone();
        d.span = Span::NONE;
        match &mut d.kind {
            DocumentKind::Policies { sections } => {
                for s in sections {
                    s.span = Span::NONE;
                    s.policies.iter_mut().for_each(strip_element);
                }
            }
            DocumentKind::Fragment { body } => body.iter_mut().for_each(strip_element),
        }
        d
    }

    /// Calls `f` for every element, depth first, in document order.
    pub fn walk(&self, f: &mut dyn FnMut(&Element)) {
        fn go(e: &Element, f: &mut dyn FnMut(&Element)) {
            f(e);
            for c in e.children() {
                go(c, f);
            }
        }
        match &self.kind {
            DocumentKind::Policies { sections } => {
                for s in sections {
                    for p in &s.policies {
                        go(p, f);
                    }
                }
            }
            DocumentKind::Fragment { body } => {
                for p in body {
                    go(p, f);
                }
            }
        }
    }

    /// Every attribute value and element text, in document order.
    pub fn values(&self) -> Vec<&Value> {
        let mut values = Vec::new();
        collect_values(self, &mut values);
        values
    }
}

fn collect_values<'a>(doc: &'a PolicyDocument, out: &mut Vec<&'a Value>) {
    fn go<'a>(e: &'a Element, out: &mut Vec<&'a Value>) {
        for a in &e.attributes {
            out.push(&a.value);
        }
        match &e.content {
            Content::Text(v) => out.push(v),
            Content::Children(c) => c.iter().for_each(|c| go(c, out)),
            _ => {}
        }
    }
    match &doc.kind {
        DocumentKind::Policies { sections } => sections
            .iter()
            .flat_map(|s| &s.policies)
            .for_each(|p| go(p, out)),
        DocumentKind::Fragment { body } => body.iter().for_each(|p| go(p, out)),
    }
}

fn strip_value(v: &mut Value) {
    v.span = Span::NONE;
    match &mut v.value {
        AttrValue::Literal(_) => {}
        AttrValue::Expression(e) => {
            e.span = Span::NONE;
            e.offset_map.clear();
            e.named_values.iter_mut().for_each(|n| n.span = Span::NONE);
        }
        AttrValue::Template(t) => {
            for p in &mut t.parts {
                if let TemplatePart::NamedValue(n) = p {
                    n.span = Span::NONE;
                }
            }
        }
    }
}

fn strip_element(e: &mut Element) {
    e.span = Span::NONE;
    for a in &mut e.attributes {
        a.span = Span::NONE;
        strip_value(&mut a.value);
    }
    match &mut e.content {
        Content::Empty => {}
        Content::Children(c) => c.iter_mut().for_each(strip_element),
        Content::Text(v) => strip_value(v),
        Content::Markup(m) => {
            m.span = Span::NONE;
            m.named_values.iter_mut().for_each(|n| n.span = Span::NONE);
        }
    }
}
