//! Reading, composing (pipeline.md §2) and compiling policy documents into steps.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use apim_policy::{
    AttrValue, Element, ElementKind, LineIndex, PolicyDocument, SectionKind, TemplatePart,
};

use super::steps::{Kind, Node, PlanStep, SendSpec, Val};
use super::{Effective, PlanDiagnostic, PlanKey};
use crate::backend_call::ForwardOptions;
use crate::errors::{PolicyLocation, Scope, Section};
use crate::http::ExistsAction;
use crate::named_values::{NamedValues, UnknownNames};
use crate::pipeline::Step;
use crate::service::{PolicySource, ServiceDefinition};

mod ai;
mod jwt;
// rate-limit, quota and the cache policies' caching-type (issue 5).
mod limits;
mod observe;

/// A read policy document and what is needed to report positions in it.
pub(super) struct Doc {
    origin: String,
    text: String,
    index: LineIndex,
    doc: PolicyDocument,
}

/// Reads a document attached at `scope` and checks the policies APIM allows there.
fn read_at(
    src: &Option<PolicySource>,
    scope: apim_policy::Scope,
    diags: &mut Vec<PlanDiagnostic>,
) -> Option<Doc> {
    let d = read_doc(src.as_ref()?, diags)?;
    for e in apim_policy::check_scope(&d.doc, scope) {
        diags.push(PlanDiagnostic {
            origin: d.origin.clone(),
            line: e.span.line,
            col: e.span.col,
            code: e.code,
            message: e.message,
        });
    }
    Some(d)
}

fn read_doc(src: &PolicySource, diags: &mut Vec<PlanDiagnostic>) -> Option<Doc> {
    let origin = src.origin.to_string();
    let r = apim_policy::read(src.text.as_bytes(), &origin);
    for d in &r.diagnostics {
        if d.severity == apim_policy::Severity::Error {
            diags.push(PlanDiagnostic {
                origin: origin.clone(),
                line: d.span.line,
                col: d.span.col,
                code: d.code,
                message: d.message.clone(),
            });
        }
    }
    let doc = r.document?;
    Some(Doc {
        index: LineIndex::new(&src.text),
        text: src.text.clone(),
        origin,
        doc,
    })
}

fn section_of(k: SectionKind) -> Section {
    match k {
        SectionKind::Inbound => Section::Inbound,
        SectionKind::Backend => Section::Backend,
        SectionKind::Outbound => Section::Outbound,
        SectionKind::OnError => Section::OnError,
    }
}

/// A statement of an effective section before compilation.
enum Placed<'d> {
    El(&'d Element, Scope, &'d Doc),
    /// The global scope's default `<forward-request/>`.
    DefaultForward,
}

/// `effective(section)`: each `<base/>` replaced by the next broader scope's same section; a
/// missing section counts as `<base/>` (at global: the global default).
fn expand<'d>(
    section: SectionKind,
    scopes: &[(Scope, Option<&'d Doc>)],
    i: usize,
    out: &mut Vec<Placed<'d>>,
) {
    let Some(&(scope, doc)) = scopes.get(i) else {
        return;
    };
    match doc.and_then(|d| d.doc.section(section).map(|s| (d, s))) {
        None => {
            if scope == Scope::Global {
                if section == SectionKind::Backend {
                    out.push(Placed::DefaultForward);
                }
            } else {
                expand(section, scopes, i + 1, out);
            }
        }
        Some((d, s)) => {
            for el in &s.policies {
                if el.kind == ElementKind::Base {
                    expand(section, scopes, i + 1, out);
                } else {
                    out.push(Placed::El(el, scope, d));
                }
            }
        }
    }
}

struct Builder<'s> {
    service: Arc<ServiceDefinition>,
    named: NamedValues,
    fragments: &'s HashMap<String, Doc>,
    programs: HashMap<String, Arc<super::steps::Expr>>,
    diags: Vec<PlanDiagnostic>,
    /// limit-concurrency slots, shared by every request of the plan.
    limiter: Arc<crate::limits::ConcurrencyLimiter>,
    /// The effective plan being built reads the request body.
    reads_body: bool,
    /// The first cors policy of the effective inbound section being built.
    cors: Option<crate::cors::CorsConfig>,
    lookup: Option<(usize, super::cache::CacheLookup)>,
    store: Option<(usize, super::cache::CacheStore)>,
    /// Token counters of the plan (token-limit policies).
    limiters: Arc<crate::counters::Limiters>,
    /// Token-limit policies of the effective inbound section being built: settled at the start
    /// of outbound and on-error.
    token_limits: Vec<Arc<super::steps::TokenLimitSpec>>,
    /// Per-request state of rate-limit / quota policies, and whether the effective plan being
    /// built has any; whether the services have an external cache.
    ledgers: Arc<super::limits::Ledgers>,
    has_limits: bool,
    external_cache: bool,
    /// Semantic-cache lookup and store of the effective plan being built.
    ai: ai::AiState,
    /// OpenID configurations fetched by validate-jwt / validate-azure-ad-token, per plan.
    openid: Arc<super::jwt::OpenIdCache>,
    /// Token-metric policies of the effective inbound section being built: emitted at the
    /// start of outbound.
    token_metrics: Vec<Arc<super::observe::TokenMetricSpec>>,
}

struct At<'d> {
    scope: Scope,
    section: Section,
    doc: &'d Doc,
    path: String,
    /// Inside return-response: set-header / set-body target the response.
    in_return: bool,
}

impl<'s> Builder<'s> {
    fn diag(&mut self, doc: &Doc, line: u32, col: u32, code: &'static str, msg: String) {
        self.diags.push(PlanDiagnostic {
            origin: doc.origin.clone(),
            line,
            col,
            code,
            // Secret named values never appear in messages.
            message: self.named.mask(&msg),
        });
    }

    fn compile_expr(
        &mut self,
        doc: &Doc,
        source: &str,
        map: Option<&apim_policy::Expression>,
        at: apim_policy::Span,
    ) -> Option<Val> {
        if source.contains("Body") {
            self.reads_body = true;
        }
        if let Some(p) = self.programs.get(source) {
            return Some(Val::Expr(p.clone()));
        }
        match apim_csharp::compile(source) {
            Ok(p) => {
                let p = Arc::new(super::steps::Expr::new(p, source));
                self.programs.insert(source.to_string(), p.clone());
                Some(Val::Expr(p))
            }
            Err(ds) => {
                for d in ds {
                    let (line, col) = match map {
                        Some(e) => {
                            let off = e.file_offset(d.span.start as usize);
                            doc.index.line_col(&doc.text, off)
                        }
                        None => (at.line, at.col),
                    };
                    self.diag(doc, line, col, d.code, d.message);
                }
                None
            }
        }
    }

    /// Substitutes named values and compiles expressions (once per distinct source).
    fn val(&mut self, doc: &Doc, v: &apim_policy::Value) -> Option<Val> {
        match &v.value {
            AttrValue::Literal(s) => Some(Val::Lit(s.clone())),
            AttrValue::Template(t) => {
                let mut out = String::new();
                let mut ok = true;
                for p in &t.parts {
                    match p {
                        TemplatePart::Text(s) => out.push_str(s),
                        TemplatePart::NamedValue(r) => match self.named.get(&r.name) {
                            Some(nv) => out.push_str(&nv.value),
                            None => {
                                ok = false;
                                self.diag(
                                    doc,
                                    r.span.line,
                                    r.span.col,
                                    "PLAN0002",
                                    format!("named value '{}' is not defined", r.name),
                                );
                            }
                        },
                    }
                }
                if !ok {
                    return None;
                }
                // A named value may hold an expression.
                let t = out.trim();
                if (t.starts_with("@(") && t.ends_with(')'))
                    || (t.starts_with("@{") && t.ends_with('}'))
                {
                    let t = t.to_string();
                    return self.compile_expr(doc, &t, None, v.span);
                }
                Some(Val::Lit(out))
            }
            AttrValue::Expression(e) => {
                if e.named_values.is_empty() {
                    return self.compile_expr(doc, &e.source, Some(e), v.span);
                }
                match self.named.substitute(&e.source, UnknownNames::Error) {
                    Ok(s) => self.compile_expr(doc, &s.text, None, v.span),
                    Err(err) => {
                        self.diag(doc, v.span.line, v.span.col, "PLAN0002", err.to_string());
                        None
                    }
                }
            }
        }
    }

    fn attr(&mut self, doc: &Doc, el: &Element, name: &str) -> Option<Val> {
        el.attr(name).and_then(|v| self.val(doc, v))
    }

    fn required(&mut self, doc: &Doc, el: &Element, name: &str) -> Option<Val> {
        if el.attr(name).is_none() {
            self.diag(
                doc,
                el.span.line,
                el.span.col,
                "PLAN0003",
                format!("{} requires the '{name}' attribute", el.name()),
            );
            return None;
        }
        self.attr(doc, el, name)
    }

    fn literal(&mut self, doc: &Doc, el: &Element, name: &str) -> Option<String> {
        match self.attr(doc, el, name)? {
            Val::Lit(s) => Some(s),
            Val::Expr(_) => {
                self.diag(
                    doc,
                    el.span.line,
                    el.span.col,
                    "PLAN0004",
                    format!(
                        "the '{name}' attribute of {} does not accept an expression",
                        el.name()
                    ),
                );
                None
            }
        }
    }

    fn text(&mut self, doc: &Doc, el: &Element) -> Option<Val> {
        match el.text() {
            Some(v) => self.val(doc, v),
            None => Some(Val::Lit(String::new())),
        }
    }

    fn unsupported(&mut self, doc: &Doc, el: &Element) {
        self.diag(
            doc,
            el.span.line,
            el.span.col,
            "PLAN0001",
            format!(
                "policy '{}' is not supported by the emulator yet",
                el.name()
            ),
        );
    }

    fn nodes(&mut self, els: &[Element], at: &At<'_>) -> Vec<Node> {
        let mut out = Vec::new();
        for (i, el) in els.iter().enumerate() {
            let path = if at.path.is_empty() {
                format!("{}[{}]", el.name(), i + 1)
            } else {
                format!("{}/{}[{}]", at.path, el.name(), i + 1)
            };
            let here = At {
                scope: at.scope,
                section: at.section,
                doc: at.doc,
                path,
                in_return: at.in_return,
            };
            self.node(el, &here, &mut out);
        }
        out
    }

    fn node(&mut self, el: &Element, at: &At<'_>, out: &mut Vec<Node>) {
        let doc = at.doc;
        let response_target =
            at.in_return || matches!(at.section, Section::Outbound | Section::OnError);
        let loc = PolicyLocation {
            policy: el.name().to_string(),
            scope: at.scope,
            section: at.section,
            path: at.path.clone(),
            policy_id: el
                .attr("id")
                .and_then(|v| v.as_literal())
                .map(str::to_string),
        };
        let kind = match el.kind {
            ElementKind::IncludeFragment => {
                let Some(id) = self.literal(doc, el, "fragment-id") else {
                    return;
                };
                let Some(frag) = self.fragments.get(&id) else {
                    self.diag(
                        doc,
                        el.span.line,
                        el.span.col,
                        "PLAN0005",
                        format!("policy fragment '{id}' is not defined"),
                    );
                    return;
                };
                let apim_policy::DocumentKind::Fragment { body } = &frag.doc.kind else {
                    self.diag(
                        doc,
                        el.span.line,
                        el.span.col,
                        "PLAN0005",
                        format!("'{id}' is not a <fragment> document"),
                    );
                    return;
                };
                // Fragments are inlined: their statements sit where include-fragment was.
                let inner = At {
                    scope: at.scope,
                    section: at.section,
                    doc: frag,
                    path: at.path.clone(),
                    in_return: at.in_return,
                };
                for (i, child) in body.iter().enumerate() {
                    if child.kind == ElementKind::IncludeFragment {
                        self.diag(
                            frag,
                            child.span.line,
                            child.span.col,
                            "PLAN0006",
                            "a fragment cannot include another fragment".into(),
                        );
                        continue;
                    }
                    let here = At {
                        path: format!("{}/{}[{}]", inner.path, child.name(), i + 1),
                        ..inner_clone(&inner)
                    };
                    self.node(child, &here, out);
                }
                return;
            }
            ElementKind::Base => {
                self.diag(
                    doc,
                    el.span.line,
                    el.span.col,
                    "PLAN0007",
                    "<base/> is only allowed directly in a section".into(),
                );
                return;
            }
            ElementKind::Choose => {
                let mut whens = Vec::new();
                let mut otherwise = Vec::new();
                let mut nth = 0;
                for c in el.children() {
                    nth += 1;
                    let sub = At {
                        path: format!("{}/{}[{}]", at.path, c.name(), nth),
                        ..inner_clone(at)
                    };
                    match c.kind {
                        ElementKind::When => {
                            let cond = self.required(doc, c, "condition");
                            let body = self.nodes(c.children(), &sub);
                            if let Some(cond) = cond {
                                whens.push((cond, body));
                            }
                        }
                        ElementKind::Otherwise => otherwise = self.nodes(c.children(), &sub),
                        _ => self.unsupported(doc, c),
                    }
                }
                Kind::Choose { whens, otherwise }
            }
            ElementKind::SetVariable => {
                let name = self.literal(doc, el, "name");
                let value = self.required(doc, el, "value");
                let (Some(name), Some(value)) = (name, value) else {
                    return;
                };
                Kind::SetVariable { name, value }
            }
            ElementKind::SetHeader | ElementKind::SetQueryParameter => {
                let name = self.literal(doc, el, "name");
                let action = match el.attr("exists-action") {
                    None => Some(ExistsAction::Override),
                    Some(v) => match v.as_literal().and_then(ExistsAction::parse) {
                        Some(a) => Some(a),
                        None => {
                            self.diag(
                                doc,
                                v.span.line,
                                v.span.col,
                                "PLAN0008",
                                "exists-action must be override, skip, append or delete".into(),
                            );
                            None
                        }
                    },
                };
                let mut values = Vec::new();
                for v in el.children_of(ElementKind::Value) {
                    if let Some(x) = self.text(doc, v) {
                        values.push(x);
                    }
                }
                let (Some(name), Some(action)) = (name, action) else {
                    return;
                };
                if el.kind == ElementKind::SetHeader {
                    Kind::SetHeader {
                        response: response_target,
                        name,
                        action,
                        values,
                    }
                } else {
                    Kind::SetQueryParameter {
                        name,
                        action,
                        values,
                    }
                }
            }
            ElementKind::SetBody => {
                if let Some(t) = el.attr("template").and_then(|v| v.as_literal())
                    && t.eq_ignore_ascii_case("liquid")
                {
                    let source = match el.text().map(|v| &v.value) {
                        None => String::new(),
                        Some(AttrValue::Literal(s)) => s.clone(),
                        Some(_) => match self.text(doc, el) {
                            Some(Val::Lit(s)) => s,
                            _ => {
                                self.diag(
                                    doc,
                                    el.span.line,
                                    el.span.col,
                                    "PLAN0004",
                                    "a Liquid template cannot be a policy expression".into(),
                                );
                                return;
                            }
                        },
                    };
                    self.reads_body |= !response_target;
                    match crate::liquid::Template::parse(&source) {
                        Ok(t) => {
                            out.push(Node {
                                loc,
                                kind: Kind::SetBodyLiquid {
                                    response: response_target,
                                    template: Arc::new(t),
                                },
                            });
                        }
                        Err(e) => self.diag(
                            doc,
                            el.span.line,
                            el.span.col,
                            "PLAN0009",
                            format!("Liquid template: {e}"),
                        ),
                    }
                    return;
                }
                let Some(value) = self.text(doc, el) else {
                    return;
                };
                Kind::SetBody {
                    response: response_target,
                    value,
                }
            }
            ElementKind::SetStatus => {
                let code = self.required(doc, el, "code");
                let reason = self.attr(doc, el, "reason");
                let Some(code) = code else { return };
                Kind::SetStatus { code, reason }
            }
            ElementKind::SetMethod => {
                let Some(value) = self.text(doc, el) else {
                    return;
                };
                Kind::SetMethod { value }
            }
            ElementKind::ReturnResponse => {
                let variable = self.literal(doc, el, "response-variable-name");
                let sub = At {
                    in_return: true,
                    ..inner_clone(at)
                };
                let children = self.nodes(el.children(), &sub);
                Kind::ReturnResponse { variable, children }
            }
            ElementKind::SetBackendService => {
                let base_url = self.attr(doc, el, "base-url");
                let backend_id = self.attr(doc, el, "backend-id");
                for a in [
                    "sf-partition-key",
                    "sf-service-instance-name",
                    "dapr-app-id",
                ] {
                    if el.attr(a).is_some() {
                        self.diag(
                            doc,
                            el.span.line,
                            el.span.col,
                            "PLAN0001",
                            format!("set-backend-service {a} is not supported by the emulator"),
                        );
                    }
                }
                if let Some(Val::Lit(id)) = &backend_id
                    && self.service.backend(id).is_none()
                {
                    self.diag(
                        doc,
                        el.span.line,
                        el.span.col,
                        "PLAN0011",
                        format!("backend '{id}' is not defined"),
                    );
                }
                if base_url.is_none() && backend_id.is_none() {
                    self.diag(
                        doc,
                        el.span.line,
                        el.span.col,
                        "PLAN0003",
                        "set-backend-service requires base-url or backend-id".into(),
                    );
                    return;
                }
                Kind::SetBackendService {
                    base_url,
                    backend_id,
                }
            }
            ElementKind::ForwardRequest => {
                let mut opts = ForwardOptions::default();
                if let Some(t) = self.literal(doc, el, "timeout") {
                    match t.trim().parse::<u64>() {
                        Ok(s) => opts.timeout = Duration::from_secs(s),
                        Err(_) => self.diag(
                            doc,
                            el.span.line,
                            el.span.col,
                            "PLAN0008",
                            format!("timeout '{t}' is not a number of seconds"),
                        ),
                    }
                }
                if let Some(ms) = self.literal(doc, el, "timeout-ms") {
                    match ms.trim().parse::<u64>() {
                        Ok(m) => opts.timeout = Duration::from_millis(m),
                        Err(_) => self.diag(
                            doc,
                            el.span.line,
                            el.span.col,
                            "PLAN0008",
                            format!("timeout-ms '{ms}' is not a number"),
                        ),
                    }
                }
                for (name, field) in [
                    ("buffer-request-body", &mut opts.buffer_request_body),
                    ("buffer-response", &mut opts.buffer_response),
                    (
                        "fail-on-error-status-code",
                        &mut opts.fail_on_error_status_code,
                    ),
                    ("follow-redirects", &mut opts.follow_redirects),
                ] {
                    if let Some(v) = el.attr(name) {
                        match v.as_literal().map(|s| s.trim().to_ascii_lowercase()) {
                            Some(s) if s == "true" => *field = true,
                            Some(s) if s == "false" => *field = false,
                            _ => self.diags.push(PlanDiagnostic {
                                origin: doc.origin.clone(),
                                line: v.span.line,
                                col: v.span.col,
                                code: "PLAN0008",
                                message: format!("{name} must be true or false"),
                            }),
                        }
                    }
                }
                if let Some(v) = self.literal(doc, el, "http-version") {
                    opts.http_version = match v.trim() {
                        "1" => crate::services::HttpVersion::Http1,
                        "2" => crate::services::HttpVersion::Http2,
                        "2or1" => crate::services::HttpVersion::Http2Or1,
                        other => {
                            self.diag(
                                doc,
                                el.span.line,
                                el.span.col,
                                "PLAN0008",
                                format!("http-version '{other}' must be 1, 2 or 2or1"),
                            );
                            opts.http_version
                        }
                    };
                }
                Kind::ForwardRequest { opts }
            }
            ElementKind::Retry => {
                let condition = self.required(doc, el, "condition");
                let count = self.required(doc, el, "count");
                let interval = self.required(doc, el, "interval");
                let max_interval = self.attr(doc, el, "max-interval");
                let delta = self.attr(doc, el, "delta");
                let first_fast_retry = self.attr(doc, el, "first-fast-retry");
                let children = self.nodes(el.children(), at);
                let (Some(condition), Some(count), Some(interval)) = (condition, count, interval)
                else {
                    return;
                };
                Kind::Retry {
                    condition,
                    count,
                    interval,
                    max_interval,
                    delta,
                    first_fast_retry,
                    children,
                }
            }
            ElementKind::RewriteUri => {
                let Some(template) = self.required(doc, el, "template") else {
                    return;
                };
                let copy_unmatched = self.attr(doc, el, "copy-unmatched-params");
                Kind::RewriteUri {
                    template,
                    copy_unmatched,
                }
            }
            ElementKind::AuthenticationBasic => {
                let u = self.required(doc, el, "username");
                let p = self.required(doc, el, "password");
                let (Some(username), Some(password)) = (u, p) else {
                    return;
                };
                Kind::AuthenticationBasic { username, password }
            }
            ElementKind::MockResponse => {
                let status = match self.literal(doc, el, "status-code") {
                    None => 200,
                    Some(s) => match s.trim().parse::<u16>() {
                        Ok(n) => n,
                        Err(_) => {
                            self.diag(
                                doc,
                                el.span.line,
                                el.span.col,
                                "PLAN0008",
                                format!("status-code '{s}' is not a status code"),
                            );
                            return;
                        }
                    },
                };
                let content_type = self.literal(doc, el, "content-type");
                Kind::MockResponse {
                    status,
                    content_type,
                }
            }
            ElementKind::CacheLookupValue => {
                let caching = self.caching_type(doc, el);
                let key = self.required(doc, el, "key");
                let variable = self.literal(doc, el, "variable-name");
                let default = self.attr(doc, el, "default-value");
                let (Some(key), Some(variable), Some(caching)) = (key, variable, caching) else {
                    return;
                };
                Kind::CacheLookupValue {
                    key,
                    variable,
                    default,
                    caching,
                }
            }
            ElementKind::RateLimit
            | ElementKind::RateLimitByKey
            | ElementKind::Quota
            | ElementKind::QuotaByKey => {
                let Some(p) = self.limit_policy(el, doc, &loc) else {
                    return;
                };
                Kind::Limit(p)
            }
            ElementKind::AzureOpenAiTokenLimit | ElementKind::LlmTokenLimit => {
                let Some(spec) = self.token_limit(el, doc, &loc) else {
                    return;
                };
                let spec = Arc::new(spec);
                self.token_limits.push(spec.clone());
                Kind::TokenLimit(spec)
            }
            ElementKind::AuthenticationCertificate => {
                let Some(spec) = self.certificate(doc, el) else {
                    return;
                };
                Kind::AuthenticationCertificate(spec)
            }
            ElementKind::Proxy => {
                let Some(spec) = self.proxy(doc, el) else {
                    return;
                };
                Kind::Proxy(spec)
            }
            ElementKind::ValidateJwt | ElementKind::ValidateAzureAdToken => {
                let Some(spec) = self.validate_jwt(el, doc) else {
                    return;
                };
                Kind::ValidateJwt(Arc::new(spec))
            }
            ElementKind::EmitMetric
            | ElementKind::AzureOpenAiEmitTokenMetric
            | ElementKind::LlmEmitTokenMetric
            | ElementKind::LogToEventhub => {
                let Some(kind) = self.observe(el, doc, &loc) else {
                    return;
                };
                kind
            }
            ElementKind::CacheStoreValue => {
                let caching = self.caching_type(doc, el);
                let key = self.required(doc, el, "key");
                let value = self.required(doc, el, "value");
                let duration = self.required(doc, el, "duration");
                let (Some(key), Some(value), Some(duration), Some(caching)) =
                    (key, value, duration, caching)
                else {
                    return;
                };
                Kind::CacheStoreValue {
                    key,
                    value,
                    duration,
                    caching,
                }
            }
            ElementKind::FindAndReplace => {
                let from = self.required(doc, el, "from");
                let to = self.required(doc, el, "to");
                let (Some(from), Some(to)) = (from, to) else {
                    return;
                };
                self.reads_body |= !response_target;
                Kind::FindAndReplace {
                    response: response_target,
                    from,
                    to,
                }
            }
            ElementKind::Trace => {
                let source = self.literal(doc, el, "source");
                let mut message = None;
                let mut metadata = Vec::new();
                for c in el.children() {
                    match c.kind {
                        ElementKind::Message => message = self.text(doc, c),
                        ElementKind::Metadata => {
                            let n = self.literal(doc, c, "name");
                            let v = self.required(doc, c, "value");
                            if let (Some(n), Some(v)) = (n, v) {
                                metadata.push((n, v));
                            }
                        }
                        _ => self.unsupported(doc, c),
                    }
                }
                let (Some(source), Some(message)) = (source, message) else {
                    self.diag(
                        doc,
                        el.span.line,
                        el.span.col,
                        "PLAN0003",
                        "trace requires a source and a <message>".into(),
                    );
                    return;
                };
                Kind::Trace {
                    source,
                    message,
                    metadata,
                }
            }
            ElementKind::CheckHeader => {
                let name = self.literal(doc, el, "name");
                let status = self.literal(doc, el, "failed-check-httpcode");
                let error_message = self.required(doc, el, "failed-check-error-message");
                let ignore_case = self.literal(doc, el, "ignore-case");
                let mut values = Vec::new();
                for v in el.children_of(ElementKind::Value) {
                    if let Some(x) = self.text(doc, v) {
                        values.push(x);
                    }
                }
                let status = status.and_then(|s| s.trim().parse::<u16>().ok());
                let (Some(name), Some(status), Some(error_message), Some(ignore_case)) =
                    (name, status, error_message, ignore_case)
                else {
                    self.diag(doc, el.span.line, el.span.col, "PLAN0003", "check-header requires name, failed-check-httpcode (a status code), failed-check-error-message and ignore-case".into());
                    return;
                };
                Kind::CheckHeader {
                    name,
                    status,
                    error_message,
                    ignore_case: ignore_case.trim().eq_ignore_ascii_case("true"),
                    values,
                }
            }
            ElementKind::IpFilter => {
                let Some(action) = self.required(doc, el, "action") else {
                    return;
                };
                let mut rules = Vec::new();
                for c in el.children() {
                    match c.kind {
                        ElementKind::Address => {
                            if let Some(a) = self.text(doc, c) {
                                rules.push((a, None));
                            }
                        }
                        ElementKind::AddressRange => {
                            let a = self.required(doc, c, "from");
                            let b = self.required(doc, c, "to");
                            if let (Some(a), Some(b)) = (a, b) {
                                rules.push((a, Some(b)));
                            }
                        }
                        _ => self.unsupported(doc, c),
                    }
                }
                Kind::IpFilter { action, rules }
            }
            ElementKind::SendRequest | ElementKind::SendOneWayRequest => {
                let one_way = el.kind == ElementKind::SendOneWayRequest;
                let mode = self.attr(doc, el, "mode");
                let variable = if one_way {
                    None
                } else {
                    match self.literal(doc, el, "response-variable-name") {
                        Some(v) => Some(v),
                        None => {
                            self.diag(
                                doc,
                                el.span.line,
                                el.span.col,
                                "PLAN0003",
                                "send-request requires a literal response-variable-name".into(),
                            );
                            return;
                        }
                    }
                };
                let timeout = self.attr(doc, el, "timeout");
                let ignore_error = self
                    .literal(doc, el, "ignore-error")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
                let mut spec = SendSpec {
                    mode,
                    variable,
                    timeout,
                    ignore_error,
                    url: None,
                    method: None,
                    headers: Vec::new(),
                    body: None,
                    identity: None,
                    proxy: None,
                    certificate: None,
                };
                for c in el.children() {
                    match c.kind {
                        ElementKind::SetUrl => spec.url = self.text(doc, c),
                        ElementKind::SetMethod => spec.method = self.text(doc, c),
                        ElementKind::SetBody => spec.body = self.text(doc, c),
                        ElementKind::SetHeader => {
                            let name = self.literal(doc, c, "name");
                            let action = c
                                .attr("exists-action")
                                .and_then(|v| v.as_literal())
                                .map(ExistsAction::parse)
                                .unwrap_or(Some(ExistsAction::Override));
                            let mut values = Vec::new();
                            for v in c.children_of(ElementKind::Value) {
                                if let Some(x) = self.text(doc, v) {
                                    values.push(x);
                                }
                            }
                            match (name, action) {
                                (Some(n), Some(a)) => spec.headers.push((n, a, values)),
                                _ => self.diag(
                                    doc,
                                    c.span.line,
                                    c.span.col,
                                    "PLAN0008",
                                    "set-header needs a name and a valid exists-action".into(),
                                ),
                            }
                        }
                        ElementKind::AuthenticationManagedIdentity => {
                            let r = self.required(doc, c, "resource");
                            let id = self.literal(doc, c, "client-id");
                            if let Some(r) = r {
                                spec.identity = Some((r, id));
                            }
                        }
                        ElementKind::Proxy => spec.proxy = self.proxy(doc, c),
                        ElementKind::AuthenticationCertificate => {
                            spec.certificate = self.certificate(doc, c)
                        }
                        _ => self.unsupported(doc, c),
                    }
                }
                Kind::SendRequest(Box::new(spec))
            }
            ElementKind::AuthenticationManagedIdentity => {
                let Some(resource) = self.required(doc, el, "resource") else {
                    return;
                };
                let client_id = self.literal(doc, el, "client-id");
                let output_variable = self.literal(doc, el, "output-token-variable-name");
                let ignore_error = self
                    .literal(doc, el, "ignore-error")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
                Kind::AuthenticationManagedIdentity {
                    resource,
                    client_id,
                    output_variable,
                    ignore_error,
                }
            }
            ElementKind::LimitConcurrency => {
                let key = self.required(doc, el, "key");
                let max = self
                    .literal(doc, el, "max-count")
                    .and_then(|m| m.trim().parse::<u32>().ok());
                let children = self.nodes(el.children(), at);
                let (Some(key), Some(max)) = (key, max) else {
                    self.diag(
                        doc,
                        el.span.line,
                        el.span.col,
                        "PLAN0003",
                        "limit-concurrency requires key and a numeric max-count".into(),
                    );
                    return;
                };
                Kind::LimitConcurrency {
                    key,
                    max,
                    limiter: self.limiter.clone(),
                    children,
                }
            }
            ElementKind::JsonToXml => {
                let Some(apply) = self.required(doc, el, "apply") else {
                    return;
                };
                let consider_accept = self.attr(doc, el, "consider-accept-header");
                let mut opts = crate::convert::JsonToXmlOptions::default();
                if let Some(p) = self.literal(doc, el, "parse-date") {
                    opts.parse_date = !p.trim().eq_ignore_ascii_case("false");
                }
                if let Some(sep) = self.literal(doc, el, "namespace-separator") {
                    match sep.chars().next() {
                        Some(c) => opts.namespace_separator = c,
                        None => self.diag(
                            doc,
                            el.span.line,
                            el.span.col,
                            "PLAN0008",
                            "namespace-separator is empty".into(),
                        ),
                    }
                }
                opts.namespace_prefix = self.literal(doc, el, "namespace-prefix");
                opts.attribute_block_name = self.literal(doc, el, "attribute-block-name");
                self.reads_body |= !response_target;
                Kind::JsonToXml {
                    response: response_target,
                    apply,
                    consider_accept,
                    opts,
                }
            }
            ElementKind::XmlToJson => {
                let Some(apply) = self.required(doc, el, "apply") else {
                    return;
                };
                let consider_accept = self.attr(doc, el, "consider-accept-header");
                let kind = match self.literal(doc, el, "kind").as_deref().map(str::trim) {
                    Some("direct") => crate::convert::XmlToJsonKind::Direct,
                    Some("javascript-friendly") => {
                        crate::convert::XmlToJsonKind::JavascriptFriendly
                    }
                    _ => {
                        self.diag(
                            doc,
                            el.span.line,
                            el.span.col,
                            "PLAN0008",
                            "xml-to-json kind must be direct or javascript-friendly".into(),
                        );
                        return;
                    }
                };
                let always_array_child_elements = self
                    .literal(doc, el, "always-array-child-elements")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
                self.reads_body |= !response_target;
                Kind::XmlToJson {
                    response: response_target,
                    apply,
                    consider_accept,
                    opts: crate::convert::XmlToJsonOptions {
                        kind,
                        always_array_child_elements,
                    },
                }
            }
            ElementKind::Cors => {
                if at.section != Section::Inbound || at.path.contains('/') {
                    self.diag(
                        doc,
                        el.span.line,
                        el.span.col,
                        "PLAN0007",
                        "cors must be a direct child of the inbound section".into(),
                    );
                    return;
                }
                let mut cfg = crate::cors::CorsConfig::default();
                if let Some(v) = self.literal(doc, el, "allow-credentials") {
                    cfg.allow_credentials = v.trim().eq_ignore_ascii_case("true");
                }
                if let Some(v) = self.literal(doc, el, "terminate-unmatched-request") {
                    cfg.terminate_unmatched_request = !v.trim().eq_ignore_ascii_case("false");
                }
                let lits = |b: &mut Self, parent: &Element| -> Vec<String> {
                    parent
                        .children()
                        .iter()
                        .filter_map(|c| match b.text(doc, c) {
                            Some(Val::Lit(s)) => Some(s.trim().to_string()),
                            Some(Val::Expr(_)) => {
                                b.diag(
                                    doc,
                                    c.span.line,
                                    c.span.col,
                                    "PLAN0004",
                                    format!("<{}> of cors does not accept an expression", c.name()),
                                );
                                None
                            }
                            None => None,
                        })
                        .collect()
                };
                for c in el.children() {
                    match c.kind {
                        ElementKind::AllowedOrigins => cfg.allowed_origins = lits(self, c),
                        ElementKind::AllowedMethods => {
                            if let Some(age) = c
                                .attr("preflight-result-max-age")
                                .and_then(|v| v.as_literal())
                            {
                                cfg.preflight_result_max_age = age.trim().parse().unwrap_or(0);
                            }
                            cfg.allowed_methods = Some(lits(self, c));
                        }
                        ElementKind::AllowedHeaders => cfg.allowed_headers = lits(self, c),
                        ElementKind::ExposeHeaders => cfg.expose_headers = lits(self, c),
                        _ => self.unsupported(doc, c),
                    }
                }
                if self.cors.is_none() {
                    self.cors = Some(cfg);
                }
                return;
            }
            ElementKind::Wait => {
                let any = match self.literal(doc, el, "for").as_deref().map(str::trim) {
                    None | Some("all") => false,
                    Some("any") => true,
                    Some(other) => {
                        self.diag(
                            doc,
                            el.span.line,
                            el.span.col,
                            "PLAN0008",
                            format!("wait for='{other}' must be all or any"),
                        );
                        return;
                    }
                };
                for c in el.children() {
                    if !matches!(
                        c.kind,
                        ElementKind::SendRequest
                            | ElementKind::CacheLookupValue
                            | ElementKind::Choose
                    ) {
                        self.diag(doc, c.span.line, c.span.col, "PLAN0007", format!("<{}> is not allowed in wait (send-request, cache-lookup-value, choose)", c.name()));
                    }
                }
                let children = self.nodes(el.children(), at);
                Kind::Wait { any, children }
            }
            ElementKind::CacheRemoveValue => {
                let caching = self.caching_type(doc, el);
                let (Some(key), Some(caching)) = (self.required(doc, el, "key"), caching) else {
                    return;
                };
                Kind::CacheRemoveValue { key, caching }
            }
            ElementKind::LlmContentSafety => match self.content_safety(el, doc, at) {
                Some(k) => k,
                None => return,
            },
            k if ai::is_semantic_lookup(k) || ai::is_semantic_store(k) => {
                let section = if ai::is_semantic_lookup(k) {
                    "inbound"
                } else {
                    "outbound"
                };
                self.diag(doc, el.span.line, el.span.col, "PLAN0007", format!("{} must be directly in the {section} section (not nested, not in a fragment)", el.name()));
                return;
            }
            ElementKind::CacheLookup | ElementKind::CacheStore => {
                let section = if el.kind == ElementKind::CacheLookup {
                    "inbound"
                } else {
                    "outbound"
                };
                self.diag(doc, el.span.line, el.span.col, "PLAN0007", format!("{} must be directly in the {section} section (not nested, not in a fragment)", el.name()));
                return;
            }
            _ => {
                self.unsupported(doc, el);
                return;
            }
        };
        out.push(Node { loc, kind });
    }

    fn section(
        &mut self,
        kind: SectionKind,
        scopes: &[(Scope, Option<&Doc>)],
    ) -> Vec<Box<dyn Step<apim_csharp::Value>>> {
        let mut placed = Vec::new();
        expand(kind, scopes, 0, &mut placed);
        let section = section_of(kind);
        let mut steps: Vec<Box<dyn Step<apim_csharp::Value>>> = Vec::new();
        for (i, p) in placed.iter().enumerate() {
            match p {
                Placed::DefaultForward => steps.push(Box::new(PlanStep {
                    node: Node {
                        loc: PolicyLocation {
                            policy: "forward-request".into(),
                            scope: Scope::Global,
                            section,
                            path: format!("forward-request[{}]", i + 1),
                            policy_id: None,
                        },
                        kind: Kind::ForwardRequest {
                            opts: ForwardOptions::default(),
                        },
                    },
                    service: self.service.clone(),
                })),
                Placed::El(el, scope, doc) => {
                    let at = At {
                        scope: *scope,
                        section,
                        doc,
                        path: format!("{}[{}]", el.name(), i + 1),
                        in_return: false,
                    };
                    if el.kind == ElementKind::CacheLookup && section == Section::Inbound {
                        self.cache_lookup(el, doc, steps.len());
                        continue;
                    }
                    if el.kind == ElementKind::CacheStore && section == Section::Outbound {
                        self.cache_store(el, &at, steps.len());
                        continue;
                    }
                    if ai::is_semantic_lookup(el.kind) && section == Section::Inbound {
                        self.semantic_lookup(el, &at, steps.len());
                        continue;
                    }
                    if ai::is_semantic_store(el.kind) && section == Section::Outbound {
                        self.semantic_store(el, &at, steps.len());
                        continue;
                    }
                    let mut nodes = Vec::new();
                    self.node(el, &at, &mut nodes);
                    for node in nodes {
                        steps.push(Box::new(PlanStep {
                            node,
                            service: self.service.clone(),
                        }));
                    }
                }
            }
        }
        steps
    }

    fn flag(&mut self, doc: &Doc, el: &Element, name: &str, default: bool) -> bool {
        match self.literal(doc, el, name) {
            None => default,
            Some(v) => v.trim().eq_ignore_ascii_case("true"),
        }
    }

    fn cache_lookup(&mut self, el: &Element, doc: &Doc, at: usize) {
        if self.lookup.is_some() {
            self.diag(
                doc,
                el.span.line,
                el.span.col,
                "PLAN0007",
                "cache-lookup may appear once per section".into(),
            );
            return;
        }
        let downstream = match self
            .literal(doc, el, "downstream-caching-type")
            .map(|t| t.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("none") => None,
            Some(t @ ("private" | "public")) => Some(super::cache::DownstreamCaching {
                public: t == "public",
                must_revalidate: self.flag(doc, el, "must-revalidate", true),
            }),
            Some(t) => {
                self.diag(
                    doc,
                    el.span.line,
                    el.span.col,
                    "PLAN0008",
                    format!("downstream-caching-type must be none, private or public, not '{t}'"),
                );
                None
            }
        };
        let Some(caching) = self.caching_type(doc, el) else {
            return;
        };
        let mut headers = Vec::new();
        let mut query = Vec::new();
        for c in el.children() {
            let target = match c.kind {
                ElementKind::VaryByHeader => &mut headers,
                ElementKind::VaryByQueryParameter => &mut query,
                _ => {
                    self.unsupported(doc, c);
                    continue;
                }
            };
            match c.text().and_then(|v| v.as_literal()) {
                Some(t) => target.push(t.trim().to_string()),
                None => self.diags.push(PlanDiagnostic {
                    origin: doc.origin.clone(),
                    line: c.span.line,
                    col: c.span.col,
                    code: "PLAN0004",
                    message: format!("<{}> must be a literal name", c.name()),
                }),
            }
        }
        let lookup = super::cache::CacheLookup {
            vary_by_developer: self.flag(doc, el, "vary-by-developer", false),
            vary_by_developer_groups: self.flag(doc, el, "vary-by-developer-groups", false),
            allow_private_response_caching: self.flag(
                doc,
                el,
                "allow-private-response-caching",
                false,
            ),
            headers,
            query,
            caching,
            downstream,
        };
        self.lookup = Some((at, lookup));
    }

    fn cache_store(&mut self, el: &Element, at: &At<'_>, index: usize) {
        let doc = at.doc;
        if self.store.is_some() {
            self.diag(
                doc,
                el.span.line,
                el.span.col,
                "PLAN0007",
                "cache-store may appear once per section".into(),
            );
            return;
        }
        let Some(duration) = self.required(doc, el, "duration") else {
            return;
        };
        let cache_response = self.flag(doc, el, "cache-response", false);
        self.store = Some((
            index,
            super::cache::CacheStore {
                duration,
                cache_response,
                loc: PolicyLocation {
                    policy: "cache-store".into(),
                    scope: at.scope,
                    section: at.section,
                    path: at.path.clone(),
                    policy_id: None,
                },
            },
        ));
    }

    fn token_limit(
        &mut self,
        el: &Element,
        doc: &Doc,
        loc: &PolicyLocation,
    ) -> Option<super::steps::TokenLimitSpec> {
        let counter_key = self.required(doc, el, "counter-key");
        let tokens_per_minute = self.attr(doc, el, "tokens-per-minute");
        let quota = self.literal(doc, el, "token-quota");
        let period = self.literal(doc, el, "token-quota-period");
        let estimate = self.required(doc, el, "estimate-prompt-tokens");
        let bad = |b: &mut Self, msg: String| {
            b.diag(doc, el.span.line, el.span.col, "PLAN0003", msg);
        };
        let quota = match (quota, period) {
            (None, None) => None,
            (Some(q), Some(p)) => {
                let q = q.trim().parse::<u64>();
                let p = p.parse::<crate::counters::TokenQuotaPeriod>();
                match (q, p) {
                    (Ok(q), Ok(p)) => Some((q, p)),
                    (Err(_), _) => {
                        bad(
                            self,
                            format!("{}: token-quota must be a whole number", el.name()),
                        );
                        return None;
                    }
                    (_, Err(e)) => {
                        bad(self, format!("{}: {e}", el.name()));
                        return None;
                    }
                }
            }
            _ => {
                bad(
                    self,
                    format!(
                        "{}: token-quota and token-quota-period go together",
                        el.name()
                    ),
                );
                return None;
            }
        };
        if tokens_per_minute.is_none() && quota.is_none() {
            bad(
                self,
                format!("{} requires tokens-per-minute or token-quota", el.name()),
            );
            return None;
        }
        let estimate = estimate?;
        // The estimate (and whether the request is streamed) comes from the request body:
        // buffer it before inbound.
        self.reads_body = true;
        let names = [
            "retry-after-header-name",
            "retry-after-variable-name",
            "remaining-tokens-header-name",
            "remaining-tokens-variable-name",
            "remaining-quota-tokens-header-name",
            "remaining-quota-tokens-variable-name",
            "tokens-consumed-header-name",
            "tokens-consumed-variable-name",
        ]
        .map(|n| self.literal(doc, el, n));
        let [
            retry_after_header,
            retry_after_variable,
            remaining_tokens_header,
            remaining_tokens_variable,
            remaining_quota_header,
            remaining_quota_variable,
            consumed_header,
            consumed_variable,
        ] = names;
        Some(super::steps::TokenLimitSpec {
            loc: loc.clone(),
            counter_key: counter_key?,
            tokens_per_minute,
            estimate,
            quota,
            retry_after_header,
            retry_after_variable,
            remaining_tokens_header,
            remaining_tokens_variable,
            remaining_quota_header,
            remaining_quota_variable,
            consumed_header,
            consumed_variable,
            limiters: self.limiters.clone(),
            pending: Default::default(),
        })
    }

    fn effective(&mut self, scopes: &[(Scope, Option<&Doc>)]) -> Effective {
        self.reads_body = false;
        self.cors = None;
        self.lookup = None;
        self.store = None;
        self.token_limits.clear();
        self.has_limits = false;
        self.semantic_reset();
        self.token_metrics.clear();
        let mut sections = crate::pipeline::Sections {
            inbound: self.section(SectionKind::Inbound, scopes),
            backend: self.section(SectionKind::Backend, scopes),
            outbound: self.section(SectionKind::Outbound, scopes),
            on_error: self.section(SectionKind::OnError, scopes),
        };
        // Token usage is counted as soon as the backend response is there, before the
        // outbound policies (or on-error when the response never came).
        let settles = std::mem::take(&mut self.token_limits);
        for (on_error, list) in [
            (false, &mut sections.outbound),
            (true, &mut sections.on_error),
        ] {
            let steps = settles.iter().map(|spec| {
                let mut loc = spec.loc.clone();
                loc.section = if on_error {
                    Section::OnError
                } else {
                    Section::Outbound
                };
                Box::new(PlanStep {
                    node: Node {
                        loc,
                        kind: Kind::TokenSettle {
                            spec: spec.clone(),
                            on_error,
                        },
                    },
                    service: self.service.clone(),
                }) as Box<dyn Step<apim_csharp::Value>>
            });
            list.splice(0..0, steps);
        }
        if let Some((i, _)) = &mut self.store {
            *i += settles.len();
        }
        // Token metrics are emitted once the usage is known, after the token counting.
        let metrics = std::mem::take(&mut self.token_metrics);
        let emits = metrics.iter().map(|spec| {
            Box::new(PlanStep {
                node: super::observe::emit_node(spec),
                service: self.service.clone(),
            }) as Box<dyn Step<apim_csharp::Value>>
        });
        sections
            .outbound
            .splice(settles.len()..settles.len(), emits);
        if let Some((i, _)) = &mut self.store {
            *i += metrics.len();
        }
        let semantic = self.semantic_take(settles.len() + metrics.len());
        if semantic.is_some() && self.lookup.is_some() {
            self.diags.push(PlanDiagnostic {
                origin: "policies".into(),
                line: 0,
                col: 0,
                code: "PLAN0001",
                message: "cache-lookup together with a semantic cache lookup in one effective inbound section is not supported by the emulator yet".into(),
            });
        }
        Effective {
            sections,
            reads_request_body: self.reads_body,
            token_limits: settles,
            limits: self.has_limits.then(|| self.ledgers.clone()),
            semantic: semantic.map(Arc::new),
            token_metrics: metrics,
            cors: self.cors.take(),
            cache: self
                .lookup
                .take()
                .map(|(lookup_at, lookup)| super::cache::ResponseCache {
                    lookup_at,
                    lookup,
                    store: self.store.take(),
                }),
        }
    }
}

fn inner_clone<'d>(a: &At<'d>) -> At<'d> {
    At {
        scope: a.scope,
        section: a.section,
        doc: a.doc,
        path: a.path.clone(),
        in_return: a.in_return,
    }
}

/// Every effective plan of the service.
pub(super) fn build_all(
    service: &Arc<ServiceDefinition>,
    limiters: Arc<crate::counters::Limiters>,
    external_cache: bool,
) -> Result<HashMap<PlanKey, Effective>, Vec<PlanDiagnostic>> {
    let mut diags = Vec::new();
    use apim_policy::Scope as At_;
    let global = read_at(&service.global_policy, At_::Global, &mut diags);
    let workspaces: HashMap<&str, Doc> = service
        .workspaces
        .iter()
        .filter_map(|w| read_at(&w.policy, At_::Workspace, &mut diags).map(|d| (w.id.as_str(), d)))
        .collect();
    let products: HashMap<&str, Doc> = service
        .products
        .iter()
        .filter_map(|p| read_at(&p.policy, At_::Product, &mut diags).map(|d| (p.id.as_str(), d)))
        .collect();
    let mut fragments = HashMap::new();
    for f in &service.policy_fragments {
        if let Some(d) = read_doc(&f.source, &mut diags) {
            fragments.insert(f.id.clone(), d);
        }
    }
    let mut apis = HashMap::new();
    let mut ops = HashMap::new();
    for a in &service.apis {
        if let Some(d) = read_at(&a.policy, At_::Api, &mut diags) {
            apis.insert(a.id.as_str(), d);
        }
        for o in &a.operations {
            if let Some(d) = read_at(&o.policy, At_::Operation, &mut diags) {
                ops.insert((a.id.as_str(), o.id.as_str()), d);
            }
        }
    }
    let mut b = Builder {
        service: service.clone(),
        named: NamedValues::from_service(service),
        fragments: &fragments,
        programs: HashMap::new(),
        diags,
        limiter: Arc::new(crate::limits::ConcurrencyLimiter::new()),
        reads_body: false,
        cors: None,
        lookup: None,
        store: None,
        ledgers: Arc::new(super::limits::Ledgers::new(limiters.clone())),
        limiters,
        token_limits: Vec::new(),
        has_limits: false,
        external_cache,
        ai: Default::default(),
        openid: Arc::default(),
        token_metrics: Vec::new(),
    };
    let mut effective = HashMap::new();
    effective.insert(
        (None, None, None),
        b.effective(&[(Scope::Global, global.as_ref())]),
    );
    for a in &service.apis {
        let ws = a.workspace.as_deref().and_then(|w| workspaces.get(w));
        let api_doc = apis.get(a.id.as_str());
        let mut products_of: Vec<Option<&str>> = vec![None];
        products_of.extend(service.products_of_api(&a.id).map(|p| Some(p.id.as_str())));
        // API-level (no operation matched): on-error of the API for built-in errors.
        let mut scopes = vec![(Scope::Api, api_doc)];
        if ws.is_some() {
            scopes.push((Scope::Workspace, ws));
        }
        scopes.push((Scope::Global, global.as_ref()));
        effective.insert((Some(a.id.clone()), None, None), b.effective(&scopes));
        for o in &a.operations {
            for p in &products_of {
                let mut scopes = vec![
                    (Scope::Operation, ops.get(&(a.id.as_str(), o.id.as_str()))),
                    (Scope::Api, api_doc),
                ];
                if let Some(p) = p {
                    scopes.push((Scope::Product, products.get(p)));
                }
                if ws.is_some() {
                    scopes.push((Scope::Workspace, ws));
                }
                scopes.push((Scope::Global, global.as_ref()));
                let e = b.effective(&scopes);
                effective.insert(
                    (
                        Some(a.id.clone()),
                        Some(o.id.clone()),
                        p.map(str::to_string),
                    ),
                    e,
                );
            }
        }
    }
    let mut diags = b.diags;
    if diags.is_empty() {
        return Ok(effective);
    }
    diags.sort_by(|x, y| {
        (&x.origin, x.line, x.col, x.code, &x.message)
            .cmp(&(&y.origin, y.line, y.col, y.code, &y.message))
    });
    diags.dedup();
    Err(diags)
}
