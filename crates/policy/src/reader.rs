//! Reads policy text (raw or escaped XML) into a [`PolicyDocument`] and validates it as APIM
//! does when a policy is saved.

use std::path::{Path, PathBuf};

use roxmltree::Node;

use crate::diag::{Diagnostic, codes};
use crate::model::*;
use crate::prescan::{self, ExprSpan, Prescan, PrescanError, entity_char};
use crate::schema::{self, ContentSpec, ElementSpec};
use crate::span::{LineIndex, Span};

/// The outcome of reading one document.
#[derive(Debug, Clone)]
pub struct ReadResult {
    /// The model; `None` when there is any error diagnostic.
    pub document: Option<PolicyDocument>,
    /// Errors, warnings and notes, in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// Where the text came from (as given by the caller).
    pub origin: PathBuf,
}

impl ReadResult {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Reads a policy document from bytes (UTF-8, optional BOM). Never panics; problems are
/// diagnostics.
pub fn read(source: impl AsRef<[u8]>, origin: impl AsRef<Path>) -> ReadResult {
    let bytes = source.as_ref();
    let origin = origin.as_ref().to_path_buf();
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let mut r = read_text(text);
            r.origin = origin;
            r
        }
        Err(e) => {
            let at = e.valid_up_to();
            let prefix = std::str::from_utf8(&bytes[..at]).unwrap_or("");
            let idx = LineIndex::new(prefix);
            let span = idx.span(prefix, at, at + 1);
            ReadResult {
                document: None,
                diagnostics: vec![Diagnostic::error(
                    codes::INVALID_UTF8,
                    span,
                    format!("the file is not valid UTF-8 (invalid byte at offset {at})"),
                )],
                origin,
            }
        }
    }
}

/// Reads a policy document from text.
pub fn read_str(text: &str) -> ReadResult {
    read_text(text)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Attribute,
    Text,
    /// Text of a Liquid template: `{{ }}` are Liquid, not named values.
    Liquid,
}

/// Which policies a container accepts.
#[derive(Clone, Copy)]
enum Allow {
    Any,
    Only(&'static [&'static str]),
    Except(&'static [&'static str]),
}

struct Reader<'a> {
    full: &'a str,
    base: usize,
    text: &'a str,
    index: LineIndex,
    pre: Prescan,
    /// Length of the synthetic root start tag put in front of a bare snippet.
    shift: usize,
    diags: Vec<Diagnostic>,
}

fn read_text(full: &str) -> ReadResult {
    let base = if full.starts_with('\u{FEFF}') { 3 } else { 0 };
    let text = &full[base..];
    let index = LineIndex::new(full);
    let mut diags = Vec::new();
    let pre = match prescan::prescan(text) {
        Ok(p) => p,
        Err(e) => {
            let d = match e {
                PrescanError::Unbalanced { start, kind } => {
                    let close = match kind {
                        ExprKind::Paren => ')',
                        ExprKind::Block => '}',
                    };
                    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
                    Diagnostic::error(
                        codes::UNBALANCED_EXPRESSION,
                        index.span(full, base + start, base + line_end),
                        format!(
                            "expression `{}` has no matching `{close}`",
                            &text[start..start + 2]
                        ),
                    )
                }
                PrescanError::TooDeep { at } => Diagnostic::error(
                    codes::TOO_DEEP,
                    index.span(full, base + at, base + at + 1),
                    format!(
                        "elements are nested more than {} deep; policy documents never need this",
                        prescan::MAX_DEPTH
                    ),
                ),
            };
            diags.push(d);
            return ReadResult {
                document: None,
                diagnostics: diags,
                origin: PathBuf::new(),
            };
        }
    };
    let mut reader = Reader {
        full,
        base,
        text,
        index,
        pre,
        shift: 0,
        diags,
    };
    let document = reader.run();
    let mut diagnostics = reader.diags;
    diagnostics.sort_by_key(|d| d.span.start);
    let document = if diagnostics.iter().any(Diagnostic::is_error) {
        None
    } else {
        document
    };
    ReadResult {
        document,
        diagnostics,
        origin: PathBuf::new(),
    }
}

impl<'a> Reader<'a> {
    /// Span of a range of `text` (offsets without BOM).
    fn span(&self, a: usize, b: usize) -> Span {
        self.index.span(self.full, self.base + a, self.base + b)
    }

    /// Range of a node in `text` offsets.
    fn range(&self, r: std::ops::Range<usize>) -> (usize, usize) {
        let len = self.text.len();
        (
            r.start.saturating_sub(self.shift).min(len),
            r.end.saturating_sub(self.shift).min(len),
        )
    }

    /// Suggestions cost an edit distance per candidate: past this many diagnostics a document
    /// is hostile or hopeless, and they are skipped.
    fn suggest<'c>(
        &self,
        name: &str,
        candidates: impl IntoIterator<Item = &'c str>,
    ) -> Option<&'c str> {
        if self.diags.len() > 100 {
            return None;
        }
        schema::suggest(name, candidates)
    }

    fn err(&mut self, code: &'static str, a: usize, b: usize, msg: String) -> &mut Diagnostic {
        let span = self.span(a, b);
        self.diags.push(Diagnostic::error(code, span, msg));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    fn run(&mut self) -> Option<PolicyDocument> {
        let top: Vec<(usize, String)> = self.pre.top_level.clone();
        if top.is_empty() {
            let end = self.text.len();
            self.err(
                codes::XML,
                0,
                end,
                "the document has no root element (expected <policies> or <fragment>)".into(),
            );
            return None;
        }
        let is_root = |n: &str| n == "policies" || n == "fragment";
        let sanitized = std::mem::take(&mut self.pre.sanitized);
        let owned;
        // a document with a real root goes to the XML parser as is (which reports anything after
        // the root); only text without one is wrapped
        let parse_text: &str = if top.iter().any(|(_, n)| is_root(n)) {
            &sanitized
        } else {
            // a bare snippet: wrap it so the XML parser sees one root
            let sections = top.iter().all(|(_, n)| SectionKind::from_name(n).is_some());
            let root = if sections { "policies" } else { "fragment" };
            let mut body = sanitized.clone().into_bytes();
            if let Some((a, b)) = self.pre.xml_decl {
                body[a..b].iter_mut().for_each(|c| *c = b' ');
            }
            let body = String::from_utf8(body).unwrap_or_default();
            let at = top[0].0;
            let span = self.span(at, at + 1 + top[0].1.len());
            self.diags.push(Diagnostic::note(
                codes::BARE_SNIPPET,
                span,
                format!("no <policies> or <fragment> root element: read as the body of a <{root}>"),
            ));
            self.shift = root.len() + 2;
            owned = format!("<{root}>{body}</{root}>");
            &owned
        };
        let opts = roxmltree::ParsingOptions {
            allow_dtd: false,
            nodes_limit: 2_000_000,
            ..Default::default()
        };
        let doc = match roxmltree::Document::parse_with_options(parse_text, opts) {
            Ok(d) => d,
            Err(e) => {
                self.xml_error(parse_text, &e);
                return None;
            }
        };
        let root = doc.root_element();
        let (rs, re) = self.range(root.range());
        let span = self.span(rs, re);
        self.no_attributes(root);
        let kind = match root.tag_name().name() {
            "policies" if root.tag_name().namespace().is_none() => DocumentKind::Policies {
                sections: self.read_sections(root),
            },
            "fragment" if root.tag_name().namespace().is_none() => DocumentKind::Fragment {
                body: self.read_policies(root, None, Allow::Any),
            },
            other => {
                let msg = format!(
                    "unknown root element `{other}`: a policy document is <policies> or <fragment>"
                );
                self.err(codes::UNKNOWN_ROOT, rs, rs + 1 + other.len(), msg);
                return None;
            }
        };
        Some(PolicyDocument { kind, span })
    }

    fn xml_error(&mut self, parse_text: &str, e: &roxmltree::Error) {
        let pos = e.pos();
        let pidx = LineIndex::new(parse_text);
        let off = pidx.offset(parse_text, pos.row, pos.col);
        let off = off.saturating_sub(self.shift).min(self.text.len());
        let end = (off + 1).min(self.text.len());
        let (code, msg) = match e {
            roxmltree::Error::UnexpectedCloseTag(expected, actual, _) => (
                codes::MISMATCHED_END_TAG,
                format!("end tag `</{actual}>` does not match the open element `<{expected}>`"),
            ),
            roxmltree::Error::UnclosedRootNode | roxmltree::Error::UnexpectedEndOfStream => (
                codes::XML,
                "the document ends before all elements are closed".to_string(),
            ),
            roxmltree::Error::DtdDetected => (
                codes::XML,
                "a DOCTYPE is not allowed in a policy document".to_string(),
            ),
            other => {
                let s = other.to_string();
                let s = match s.rfind(" at ") {
                    Some(i) => s[..i].to_string(),
                    None => s,
                };
                (codes::XML, format!("not well-formed XML: {s}"))
            }
        };
        let (a, b) = if matches!(
            e,
            roxmltree::Error::UnclosedRootNode | roxmltree::Error::UnexpectedEndOfStream
        ) {
            let n = self.text.len();
            (n.saturating_sub(1), n)
        } else {
            (off, end)
        };
        self.err(code, a, b, msg);
    }

    fn no_attributes(&mut self, node: Node) {
        for a in node.attributes() {
            let (s, e) = self.range(a.range());
            let msg = format!(
                "unknown attribute `{}` on `<{}>`",
                a.name(),
                node.tag_name().name()
            );
            self.err(codes::UNKNOWN_ATTRIBUTE, s, e, msg);
        }
    }

    fn stray_text(&mut self, node: Node, parent: &str, what: &str) {
        for c in node.children() {
            if c.is_text() && !c.text().unwrap_or("").trim().is_empty() {
                let (s, e) = self.range(c.range());
                let t = &self.text[s..e];
                let lead = t.len() - t.trim_start().len();
                let msg = format!("text is not allowed in `<{parent}>`; it holds {what}");
                self.err(codes::UNEXPECTED_CONTENT, s + lead, e, msg);
            }
        }
    }

    fn qualified_name(node: Node) -> String {
        let t = node.tag_name();
        match node.lookup_prefix(t.namespace().unwrap_or("")) {
            Some(p) if t.namespace().is_some() => format!("{p}:{}", t.name()),
            _ => t.name().to_string(),
        }
    }

    fn name_span(&self, node: Node) -> (usize, usize) {
        let (s, _) = self.range(node.range());
        (s, s + 1 + Self::qualified_name(node).len())
    }

    fn read_sections(&mut self, root: Node) -> Vec<Section> {
        let mut sections: Vec<Section> = Vec::new();
        self.stray_text(
            root,
            "policies",
            "only the sections inbound, backend, outbound, on-error",
        );
        for child in root.children().filter(Node::is_element) {
            let name = Self::qualified_name(child);
            let (ns, ne) = self.name_span(child);
            let Some(kind) = SectionKind::from_name(&name) else {
                let msg = format!(
                    "unknown element `{name}` in <policies>: expected a section (inbound, backend, outbound, on-error)"
                );
                let hint = self.suggest(&name, SectionKind::ALL.iter().map(|s| s.name()));
                let is_policy = schema::policy_spec(&name).is_some();
                let d = self.err(codes::UNKNOWN_ELEMENT, ns, ne, msg);
                if let Some(h) = hint {
                    d.notes.push(format!("help: did you mean `{h}`?"));
                } else if is_policy {
                    d.notes
                        .push("help: policies go inside a section such as <inbound>".into());
                }
                continue;
            };
            if sections.iter().any(|s| s.kind == kind) {
                let msg = format!("section `{name}` appears more than once");
                self.err(codes::DUPLICATE_SECTION, ns, ne, msg);
                continue;
            }
            self.no_attributes(child);
            let (s, e) = self.range(child.range());
            let policies = self.read_policies(child, Some(kind), Allow::Any);
            self.once_per_section(&policies, kind);
            sections.push(Section {
                kind,
                policies,
                span: self.span(s, e),
            });
        }
        sections
    }

    /// Warns about policies the docs allow once per section (or, for forward-request, once per
    /// document) that appear again as statements of the same section.
    fn once_per_section(&mut self, policies: &[Element], section: SectionKind) {
        const ONCE: &[ElementKind] = &[
            ElementKind::CacheLookup,
            ElementKind::CacheStore,
            ElementKind::AzureOpenAiSemanticCacheLookup,
            ElementKind::LlmSemanticCacheLookup,
            ElementKind::AzureOpenAiSemanticCacheStore,
            ElementKind::LlmSemanticCacheStore,
            ElementKind::RateLimit,
            ElementKind::Quota,
            ElementKind::ForwardRequest,
            ElementKind::Cors,
        ];
        // direct statements only: the same policy in exclusive choose branches is a real pattern
        let mut seen: Vec<ElementKind> = Vec::new();
        for e in policies {
            if !ONCE.contains(&e.kind) {
                continue;
            }
            if seen.contains(&e.kind) {
                let span = Span {
                    end: e.span.start + 1 + e.name().len(),
                    ..e.span
                };
                let scope = if e.kind == ElementKind::ForwardRequest {
                    "a policy document".to_string()
                } else {
                    format!("the {} section", section.name())
                };
                self.diags.push(Diagnostic {
                    severity: crate::diag::Severity::Warning,
                    ..Diagnostic::error(
                        codes::REPEATED_POLICY,
                        span,
                        format!("`{}` may be used only once in {scope}", e.name()),
                    )
                });
            } else {
                seen.push(e.kind);
            }
        }
    }

    /// Reads the policy statements inside a section, a fragment, or a container policy.
    fn read_policies(
        &mut self,
        parent: Node,
        section: Option<SectionKind>,
        allow: Allow,
    ) -> Vec<Element> {
        let parent_name = Self::qualified_name(parent);
        self.stray_text(parent, &parent_name, "policy elements only");
        let mut out = Vec::new();
        for child in parent.children().filter(Node::is_element) {
            let name = Self::qualified_name(child);
            let (ns, ne) = self.name_span(child);
            let Some(spec) = schema::policy_spec(&name) else {
                if SectionKind::from_name(&name).is_some() {
                    let msg = match section {
                        None => format!("a policy fragment cannot contain the section `{name}`"),
                        Some(_) => {
                            format!("section `{name}` cannot be nested in `<{parent_name}>`")
                        }
                    };
                    self.err(codes::NOT_ALLOWED_HERE, ns, ne, msg);
                } else {
                    let hint = self.suggest(&name, schema::policies().iter().map(|p| p.name()));
                    let d = self.err(
                        codes::UNKNOWN_ELEMENT,
                        ns,
                        ne,
                        format!("unknown policy `{name}`"),
                    );
                    if let Some(h) = hint {
                        d.notes.push(format!("help: did you mean `{h}`?"));
                    }
                }
                continue;
            };
            let allowed = match allow {
                Allow::Any => true,
                Allow::Only(list) => list.contains(&spec.name()),
                Allow::Except(list) => !list.contains(&spec.name()),
            };
            if !allowed {
                let msg = match allow {
                    Allow::Only(list) => format!(
                        "`{name}` is not allowed in `<{parent_name}>`; it may contain only {}",
                        list.join(", ")
                    ),
                    _ => format!("`{name}` is not allowed in `<{parent_name}>`"),
                };
                self.err(codes::NOT_ALLOWED_HERE, ns, ne, msg);
            }
            match section {
                Some(sec) if spec.sections & sec.bit() == 0 => {
                    let allowed: Vec<&str> = SectionKind::ALL
                        .iter()
                        .filter(|s| spec.sections & s.bit() != 0)
                        .map(|s| s.name())
                        .collect();
                    let msg = format!(
                        "policy `{name}` is not allowed in the {} section (allowed in: {})",
                        sec.name(),
                        allowed.join(", ")
                    );
                    self.err(codes::NOT_ALLOWED_HERE, ns, ne, msg);
                }
                None if matches!(
                    spec.kind,
                    ElementKind::Base | ElementKind::IncludeFragment | ElementKind::CacheLookup
                ) =>
                {
                    let msg = format!("policy `{name}` is not allowed in a policy fragment");
                    self.err(codes::NOT_ALLOWED_HERE, ns, ne, msg);
                }
                _ => {}
            }
            out.push(self.read_element(child, spec, section));
        }
        out
    }

    fn read_element(
        &mut self,
        node: Node,
        spec: &'static ElementSpec,
        section: Option<SectionKind>,
    ) -> Element {
        let name = spec.name();
        let (s, e) = self.range(node.range());
        let (ns, ne) = (s, s + 1 + name.len());
        let mut attributes = Vec::new();
        let mut liquid = false;
        for a in node.attributes() {
            let aname = match a.namespace() {
                Some(ns_uri) => match node.lookup_prefix(ns_uri) {
                    Some(p) => format!("{p}:{}", a.name()),
                    None => a.name().to_string(),
                },
                None => a.name().to_string(),
            };
            let (as_, ae) = self.range(a.range());
            let (vs, ve) = self.range(a.range_value());
            let aspec = spec.attr(&aname);
            let is_id = aname == "id" && spec.kind.is_policy();
            if aspec.is_none() && !is_id {
                let extra = spec.kind.is_policy().then_some("id");
                let hint = self.suggest(&aname, spec.attrs.iter().map(|a| a.name).chain(extra));
                let d = self.err(
                    codes::UNKNOWN_ATTRIBUTE,
                    as_,
                    as_ + aname.len(),
                    format!("unknown attribute `{aname}` on `{name}`"),
                );
                if let Some(h) = hint {
                    d.notes.push(format!("help: did you mean `{h}`?"));
                }
                continue;
            }
            let value = self.make_value(vs, ve, Ctx::Attribute);
            if let Some(aspec) = aspec {
                if !aspec.expr && matches!(value.value, AttrValue::Expression(_)) {
                    let msg = format!(
                        "attribute `{aname}` of `{name}` does not allow a policy expression; it takes a literal value"
                    );
                    self.err(codes::EXPRESSION_NOT_ALLOWED, vs, ve, msg);
                }
                if let AttrValue::Literal(lit) = &value.value {
                    let lit = lit.trim();
                    if !aspec.values.is_empty()
                        && !aspec.values.iter().any(|v| v.eq_ignore_ascii_case(lit))
                    {
                        let hint = self.suggest(lit, aspec.values.iter().copied());
                        let msg = format!(
                            "invalid value `{lit}` for attribute `{aname}` of `{name}`; expected one of: {}",
                            aspec.values.join(", ")
                        );
                        let d = self.err(codes::INVALID_VALUE, vs, ve.max(vs + 1), msg);
                        if let Some(h) = hint {
                            d.notes.push(format!("help: did you mean `{h}`?"));
                        }
                    }
                    if spec.kind == ElementKind::SetBody
                        && aname == "template"
                        && lit.eq_ignore_ascii_case("liquid")
                    {
                        liquid = true;
                    }
                }
            }
            attributes.push(Attribute {
                name: aname,
                value,
                span: self.span(as_, ae),
            });
        }
        for aspec in spec.attrs.iter().filter(|a| a.required) {
            if !attributes.iter().any(|a| a.name == aspec.name) {
                let msg = format!(
                    "`{name}` is missing the required attribute `{}`",
                    aspec.name
                );
                self.err(codes::MISSING_ATTRIBUTE, ns, ne, msg);
            }
        }
        for group in spec.one_of {
            if !group
                .iter()
                .any(|g| attributes.iter().any(|a| a.name == *g))
            {
                let list: Vec<String> = group.iter().map(|g| format!("`{g}`")).collect();
                let msg = format!("`{name}` needs one of the attributes {}", list.join(", "));
                self.err(codes::MISSING_ONE_OF, ns, ne, msg);
            }
        }

        let elements: Vec<Node> = node.children().filter(Node::is_element).collect();
        let has_text = node
            .children()
            .any(|c| c.is_text() && !c.text().unwrap_or("").trim().is_empty());
        let (is_, ie) = self.inner_range(s, e);
        let content_spec = match spec.content {
            // the older trace syntax: the message as the element's text
            ContentSpec::ChildrenOrText(_) if elements.is_empty() && has_text => {
                ContentSpec::Text { expr: true }
            }
            ContentSpec::ChildrenOrText(l) => ContentSpec::Children(l),
            other => other,
        };
        let content = match content_spec {
            ContentSpec::Empty => {
                if let Some(c) = elements.first() {
                    let (cs, ce) = self.name_span(*c);
                    let msg = format!("`{name}` takes no child elements");
                    self.err(codes::UNEXPECTED_CONTENT, cs, ce, msg);
                } else if has_text {
                    self.stray_text(node, name, "no content");
                }
                Content::Empty
            }
            ContentSpec::Policies => {
                Content::Children(self.read_policies(node, section, Allow::Any))
            }
            ContentSpec::PoliciesOnly(l) => {
                Content::Children(self.read_policies(node, section, Allow::Only(l)))
            }
            ContentSpec::PoliciesExcept(l) => {
                Content::Children(self.read_policies(node, section, Allow::Except(l)))
            }
            ContentSpec::Children(_) | ContentSpec::ChildrenOrText(_) => {
                self.stray_text(node, name, "child elements only");
                let mut children = Vec::new();
                for c in &elements {
                    let cname = Self::qualified_name(*c);
                    match spec.child(&cname) {
                        Some(cs) => children.push(self.read_element(*c, cs, section)),
                        None => {
                            let (cs, ce) = self.name_span(*c);
                            let names: Vec<&str> = match spec.content {
                                ContentSpec::Children(l) | ContentSpec::ChildrenOrText(l) => {
                                    l.iter().map(|c| c.name()).collect()
                                }
                                _ => Vec::new(),
                            };
                            let hint = self.suggest(&cname, names.iter().copied());
                            let msg = if names.is_empty() {
                                format!("unknown element `{cname}` in `{name}`")
                            } else {
                                format!(
                                    "unknown element `{cname}` in `{name}` (expected {})",
                                    names.join(", ")
                                )
                            };
                            let d = self.err(codes::UNKNOWN_ELEMENT, cs, ce, msg);
                            if let Some(h) = hint {
                                d.notes.push(format!("help: did you mean `{h}`?"));
                            }
                        }
                    }
                }
                Content::Children(children)
            }
            ContentSpec::Text { expr } => {
                if let Some(c) = elements.first() {
                    let (cs, ce) = self.name_span(*c);
                    let msg = format!("`{name}` takes text, not child elements");
                    self.err(codes::UNEXPECTED_CONTENT, cs, ce, msg);
                }
                let v = self.make_value(is_, ie, if liquid { Ctx::Liquid } else { Ctx::Text });
                if !expr && matches!(v.value, AttrValue::Expression(_)) {
                    let msg =
                        format!("`{name}` here takes a literal value, not a policy expression");
                    self.err(codes::EXPRESSION_NOT_ALLOWED, is_, ie, msg);
                }
                Content::Text(v)
            }
            ContentSpec::Markup => Content::Markup(self.markup(is_, ie, liquid)),
            ContentSpec::TextOrMarkup => {
                if elements.is_empty() {
                    Content::Text(self.make_value(
                        is_,
                        ie,
                        if liquid { Ctx::Liquid } else { Ctx::Text },
                    ))
                } else {
                    Content::Markup(self.markup(is_, ie, liquid))
                }
            }
        };
        for rc in spec.required_children {
            if !elements.iter().any(|c| c.tag_name().name() == *rc) {
                let msg = format!("`{name}` needs at least one `<{rc}>` element");
                self.err(codes::MISSING_CHILD, ns, ne, msg);
            }
        }
        Element {
            kind: spec.kind,
            attributes,
            content,
            span: self.span(s, e),
        }
    }

    /// XML content kept as written, with the named values in it (none in a Liquid template,
    /// where `{{ }}` are Liquid's).
    fn markup(&self, start: usize, end: usize, liquid: bool) -> Markup {
        let xml = self.text[start..end].to_string();
        let named_values = if liquid {
            Vec::new()
        } else {
            named_value_refs(&xml)
                .into_iter()
                .map(|(name, r)| NamedValueRef {
                    name,
                    span: self.span(start + r.start, start + r.end),
                    offset: r,
                })
                .collect()
        };
        Markup {
            xml,
            span: self.span(start, end),
            named_values,
        }
    }

    /// The content range (between start and end tag) of an element spanning `s..e`.
    fn inner_range(&self, s: usize, e: usize) -> (usize, usize) {
        let Some(tag_end) = self.pre.start_tag_end(s) else {
            return (e, e);
        };
        if tag_end >= e {
            return (e, e);
        }
        let b = self.text.as_bytes();
        let mut j = e;
        while j > tag_end + 1 {
            j -= 1;
            if b[j - 1] == b'<' && b[j] == b'/' {
                return (tag_end, j - 1);
            }
        }
        (tag_end, e)
    }

    /// Decodes `text[start..end]` and classifies it as literal, template or expression.
    fn make_value(&mut self, start: usize, end: usize, ctx: Ctx) -> Value {
        let span = self.span(start, end);
        let exprs: Vec<ExprSpan> = self.pre.expressions_in(start, end).to_vec();
        let d = decode(self.text.as_bytes(), start, end, &exprs, ctx);
        let trimmed = d.text.trim_start();
        let lead = d.text.len() - trimmed.len();
        let trimmed = trimmed.trim_end();
        if trimmed.starts_with("@(") || trimmed.starts_with("@{") {
            match prescan::scan_expression(trimmed.as_bytes(), 0, false) {
                Ok(x) => {
                    if x.end < trimmed.len() {
                        let a = d.to_src(lead + x.end);
                        let b = d.to_src(lead + trimmed.len());
                        self.err(
                            codes::TEXT_AROUND_EXPRESSION,
                            a,
                            b.max(a + 1),
                            "unexpected text after the expression; a value is either text or one expression".into(),
                        );
                    }
                    let source = trimmed[..x.end].to_string();
                    let named_values = named_value_refs(&source)
                        .into_iter()
                        .map(|(name, r)| {
                            let a = d.to_src(lead + r.start);
                            let b = d.to_src(lead + r.end);
                            NamedValueRef {
                                name,
                                offset: r,
                                span: self.span(a, b),
                            }
                        })
                        .collect();
                    let es = d.to_src(lead);
                    let ee = d.to_src(lead + x.end);
                    let mut offset_map = vec![(0, self.base + es)];
                    offset_map.extend(
                        d.map
                            .iter()
                            .filter(|(dec, _)| *dec > lead && *dec <= lead + x.end)
                            .map(|(dec, src)| (dec - lead, self.base + src)),
                    );
                    return Value {
                        value: AttrValue::Expression(Expression {
                            kind: x.kind,
                            source,
                            span: self.span(es, ee),
                            named_values,
                            offset_map,
                        }),
                        span,
                    };
                }
                Err(_) => {
                    let a = d.to_src(lead);
                    self.err(
                        codes::UNBALANCED_EXPRESSION,
                        a,
                        a + 2,
                        format!("expression `{}` has no matching bracket", &trimmed[..2]),
                    );
                }
            }
        } else if let Some(x) = exprs.first() {
            // a value that does not start with the expression is plain text (expressions.md §1)
            let span = self.span(x.start, x.end);
            self.diags.push(Diagnostic {
                severity: crate::diag::Severity::Warning,
                ..Diagnostic::error(
                    codes::TEXT_AROUND_EXPRESSION,
                    span,
                    "text before `@`: the whole value is plain text and the expression is not evaluated; use one expression such as @(\"text\" + ...)",
                )
            });
        }
        if ctx != Ctx::Liquid {
            let refs = named_value_refs(&d.text);
            if !refs.is_empty() {
                let mut parts = Vec::new();
                let mut at = 0;
                for (name, r) in refs {
                    if r.start > at {
                        parts.push(TemplatePart::Text(d.text[at..r.start].to_string()));
                    }
                    let a = d.to_src(r.start);
                    let b = d.to_src(r.end);
                    at = r.end;
                    parts.push(TemplatePart::NamedValue(NamedValueRef {
                        name,
                        offset: r,
                        span: self.span(a, b),
                    }));
                }
                if at < d.text.len() {
                    parts.push(TemplatePart::Text(d.text[at..].to_string()));
                }
                return Value {
                    value: AttrValue::Template(Template { parts }),
                    span,
                };
            }
        }
        Value {
            value: AttrValue::Literal(d.text),
            span,
        }
    }
}

/// Decoded value text and the map back to source offsets.
struct Decoded {
    text: String,
    /// (offset in `text`, offset in source) at every point where the two stop moving together.
    map: Vec<(usize, usize)>,
}

impl Decoded {
    fn to_src(&self, dec: usize) -> usize {
        let i = self.map.partition_point(|c| c.0 <= dec).saturating_sub(1);
        let (d0, s0) = self.map.get(i).copied().unwrap_or((0, 0));
        s0 + (dec - d0.min(dec))
    }
}

fn find_from(b: &[u8], from: usize, to: usize, pat: &[u8]) -> Option<usize> {
    if from >= to {
        return None;
    }
    b[from..to]
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| p + from)
}

/// Decodes a value: entities, line breaks (`\r\n` → `\n`); in attribute text outside
/// expressions, XML whitespace normalisation; in element text, CDATA sections kept verbatim and
/// comments dropped.
fn decode(src: &[u8], start: usize, end: usize, exprs: &[ExprSpan], ctx: Ctx) -> Decoded {
    let mut out: Vec<u8> = Vec::with_capacity(end - start);
    let mut map = vec![(0usize, start)];
    let mut i = start;
    let mut ei = 0;
    while i < end {
        let (seg_end, in_expr) = match exprs.get(ei) {
            Some(x) if x.start == i => {
                ei += 1;
                (x.end.min(end), true)
            }
            Some(x) if x.start < end => (x.start.max(i), false),
            _ => (end, false),
        };
        let normalize = ctx == Ctx::Attribute && !in_expr;
        let markup = ctx != Ctx::Attribute && !in_expr;
        let mut j = i;
        let mut run = i;
        while j < seg_end {
            let c = src[j];
            if c == b'&' {
                if let Some((ch, l)) = entity_char(src, j) {
                    out.extend_from_slice(&src[run..j]);
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    j += l;
                    run = j;
                    map.push((out.len(), j));
                    continue;
                }
            } else if c == b'\r' {
                out.extend_from_slice(&src[run..j]);
                out.push(if normalize { b' ' } else { b'\n' });
                j += if src.get(j + 1) == Some(&b'\n') { 2 } else { 1 };
                run = j;
                map.push((out.len(), j));
                continue;
            } else if normalize && (c == b'\n' || c == b'\t') {
                out.extend_from_slice(&src[run..j]);
                out.push(b' ');
                j += 1;
                run = j;
                continue;
            } else if markup && c == b'<' {
                if src[j..seg_end].starts_with(b"<![CDATA[") {
                    out.extend_from_slice(&src[run..j]);
                    let close = find_from(src, j + 9, seg_end, b"]]>").unwrap_or(seg_end);
                    map.push((out.len(), j + 9));
                    out.extend_from_slice(&src[j + 9..close]);
                    j = (close + 3).min(seg_end);
                    run = j;
                    map.push((out.len(), j));
                    continue;
                }
                if src[j..seg_end].starts_with(b"<!--") {
                    out.extend_from_slice(&src[run..j]);
                    let close = find_from(src, j + 4, seg_end, b"-->").unwrap_or(seg_end);
                    j = (close + 3).min(seg_end);
                    run = j;
                    map.push((out.len(), j));
                    continue;
                }
            }
            j += 1;
        }
        out.extend_from_slice(&src[run..seg_end.max(run)]);
        i = seg_end.max(i + usize::from(seg_end == i));
    }
    // every cut above is at an ASCII byte, so the bytes stay UTF-8
    let text = String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Decoded { text, map }
}

/// `{{name}}` references in `text`: name and byte range of the whole reference. Names are
/// letters, digits, `.`, `-` and `_` (the characters APIM allows in named value names).
pub fn named_value_refs(text: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'{' && b[i + 1] == b'{' {
            let mut j = i + 2;
            while j < b.len()
                && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'.' | b'-' | b'_'))
            {
                j += 1;
            }
            if j > i + 2 && j + 1 < b.len() && b[j] == b'}' && b[j + 1] == b'}' {
                out.push((text[i + 2..j].to_string(), i..j + 2));
                i = j + 2;
                continue;
            }
        }
        i += 1;
    }
    out
}
