//! Building the semantic-cache and content-safety policies.

use std::sync::Arc;

use apim_policy::{Element, ElementKind};

use super::{At, Builder, Doc};
use crate::errors::{PolicyLocation, Section};
use crate::plan::steps::content_safety::ContentSafetySpec;
use crate::plan::steps::semantic::{SemanticCache, SemanticLookup, SemanticStore, VectorIndex};
use crate::plan::steps::{Kind, Val};

/// Semantic-cache state of the builder: the lookup and store of the effective plan being
/// built, and the vector index every effective plan of the plan shares.
#[derive(Default)]
pub(super) struct AiState {
    lookup: Option<(usize, SemanticLookup)>,
    store: Option<(usize, SemanticStore)>,
    index: Arc<VectorIndex>,
}

pub(super) fn is_semantic_lookup(k: ElementKind) -> bool {
    matches!(
        k,
        ElementKind::AzureOpenAiSemanticCacheLookup | ElementKind::LlmSemanticCacheLookup
    )
}

pub(super) fn is_semantic_store(k: ElementKind) -> bool {
    matches!(
        k,
        ElementKind::AzureOpenAiSemanticCacheStore | ElementKind::LlmSemanticCacheStore
    )
}

fn location(el: &Element, at: &At<'_>) -> PolicyLocation {
    PolicyLocation {
        policy: el.name().to_string(),
        scope: at.scope,
        section: at.section,
        path: at.path.clone(),
        policy_id: el
            .attr("id")
            .and_then(|v| v.as_literal())
            .map(str::to_string),
    }
}

impl Builder<'_> {
    fn bad_value(&mut self, doc: &Doc, el: &Element, msg: String) {
        self.diag(doc, el.span.line, el.span.col, "PLAN0008", msg);
    }

    /// A semantic-cache lookup directly in inbound, before step `index`.
    pub(super) fn semantic_lookup(&mut self, el: &Element, at: &At<'_>, index: usize) {
        let doc = at.doc;
        if self.ai.lookup.is_some() {
            self.diag(
                doc,
                el.span.line,
                el.span.col,
                "PLAN0007",
                format!("{} may appear once per section", el.name()),
            );
            return;
        }
        let threshold = self.required(doc, el, "score-threshold");
        let backend = self.required(doc, el, "embeddings-backend-id");
        let auth = self.required(doc, el, "embeddings-backend-auth");
        let (Some(threshold), Some(backend), Some(auth)) = (threshold, backend, auth) else {
            return;
        };
        let lit = |b: &mut Self, v: Val, name: &str| match v {
            Val::Lit(s) => Some(s),
            Val::Expr(_) => {
                b.diag(
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
        };
        let (Some(threshold), Some(backend), Some(auth)) = (
            lit(self, threshold, "score-threshold"),
            lit(self, backend, "embeddings-backend-id"),
            lit(self, auth, "embeddings-backend-auth"),
        ) else {
            return;
        };
        let score_threshold = match threshold.trim().parse::<f64>() {
            Ok(t) if (0.0..=1.0).contains(&t) => t,
            _ => {
                self.bad_value(
                    doc,
                    el,
                    format!("score-threshold '{threshold}' must be a number between 0.0 and 1.0"),
                );
                return;
            }
        };
        if auth.trim() != "system-assigned" {
            self.bad_value(
                doc,
                el,
                format!("embeddings-backend-auth '{auth}' must be system-assigned"),
            );
            return;
        }
        let backend = backend.trim().to_string();
        if self.service.backend(&backend).is_none() {
            self.diag(
                doc,
                el.span.line,
                el.span.col,
                "PLAN0011",
                format!("backend '{backend}' is not defined"),
            );
            return;
        }
        let max_message_count = match self.literal(doc, el, "max-message-count") {
            None => None,
            Some(m) => match m.trim().parse::<usize>() {
                Ok(n) => Some(n),
                Err(_) => {
                    self.bad_value(
                        doc,
                        el,
                        format!("max-message-count '{m}' must be a whole number"),
                    );
                    return;
                }
            },
        };
        let ignore_system_messages = self.flag(doc, el, "ignore-system-messages", false);
        let mut vary_by = Vec::new();
        for c in el.children() {
            if c.kind != ElementKind::VaryBy {
                self.unsupported(doc, c);
                continue;
            }
            if let Some(v) = self.text(doc, c) {
                vary_by.push(v);
            }
        }
        // The prompt comes from the request body: buffer it before inbound.
        self.reads_body = true;
        self.ai.lookup = Some((
            index,
            SemanticLookup {
                loc: location(el, at),
                score_threshold,
                embeddings_backend_id: backend,
                ignore_system_messages,
                max_message_count,
                vary_by,
            },
        ));
    }

    /// A semantic-cache store directly in outbound, before step `index`.
    pub(super) fn semantic_store(&mut self, el: &Element, at: &At<'_>, index: usize) {
        let doc = at.doc;
        if self.ai.store.is_some() {
            self.diag(
                doc,
                el.span.line,
                el.span.col,
                "PLAN0007",
                format!("{} may appear once per section", el.name()),
            );
            return;
        }
        let Some(duration) = self.required(doc, el, "duration") else {
            return;
        };
        self.ai.store = Some((
            index,
            SemanticStore {
                loc: location(el, at),
                duration,
            },
        ));
    }

    /// Clears the lookup and store before an effective plan is built.
    pub(super) fn semantic_reset(&mut self) {
        self.ai.lookup = None;
        self.ai.store = None;
    }

    /// The semantic cache of the effective plan just built; `settles` steps were put at the
    /// start of outbound after the store's position was taken.
    pub(super) fn semantic_take(&mut self, settles: usize) -> Option<SemanticCache> {
        let store = self.ai.store.take().map(|(i, s)| (i + settles, s));
        let (lookup_at, lookup) = self.ai.lookup.take()?;
        Some(SemanticCache {
            lookup_at,
            lookup,
            store,
            index: self.ai.index.clone(),
        })
    }

    /// llm-content-safety.
    pub(super) fn content_safety(&mut self, el: &Element, doc: &Doc, at: &At<'_>) -> Option<Kind> {
        if !matches!(at.section, Section::Inbound | Section::Outbound) {
            self.diag(
                doc,
                el.span.line,
                el.span.col,
                "PLAN0007",
                "llm-content-safety is allowed in inbound and outbound only".into(),
            );
            return None;
        }
        if let Some(v) = el.attr("enforce-on-completions") {
            let off = v
                .as_literal()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("false"));
            // Ignored in outbound (docs); inbound with true is not emulated yet.
            if !off && at.section == Section::Inbound {
                self.diag(
                    doc,
                    el.span.line,
                    el.span.col,
                    "PLAN0001",
                    "llm-content-safety enforce-on-completions is not supported by the emulator yet; put a second llm-content-safety in outbound instead".into(),
                );
            }
        }
        let backend_id = self.required(doc, el, "backend-id");
        if let Some(Val::Lit(id)) = &backend_id
            && self.service.backend(id.trim()).is_none()
        {
            self.diag(
                doc,
                el.span.line,
                el.span.col,
                "PLAN0011",
                format!("backend '{}' is not defined", id.trim()),
            );
        }
        let shield_prompt = self.attr(doc, el, "shield-prompt");
        let window_size = self.attr(doc, el, "window-size");
        let window_overlap_size = self.attr(doc, el, "window-overlap-size");
        let mut output_type = None;
        let mut categories = Vec::new();
        let mut blocklists = Vec::new();
        for c in el.children() {
            match c.kind {
                ElementKind::Categories => {
                    output_type = self.attr(doc, c, "output-type");
                    for cat in c.children() {
                        if cat.kind != ElementKind::Category {
                            self.unsupported(doc, cat);
                            continue;
                        }
                        let name = self.required(doc, cat, "name");
                        let threshold = self.required(doc, cat, "threshold");
                        if let (Some(n), Some(t)) = (name, threshold) {
                            categories.push((n, t));
                        }
                    }
                }
                ElementKind::Blocklists => {
                    for id in c.children() {
                        if id.kind != ElementKind::Id {
                            self.unsupported(doc, id);
                            continue;
                        }
                        if let Some(v) = self.text(doc, id) {
                            blocklists.push(v);
                        }
                    }
                }
                _ => self.unsupported(doc, c),
            }
        }
        if at.section == Section::Inbound {
            self.reads_body = true;
        }
        Some(Kind::ContentSafety(Box::new(ContentSafetySpec {
            backend_id: backend_id?,
            shield_prompt,
            window_size,
            window_overlap_size,
            output_type,
            categories,
            blocklists,
        })))
    }
}
