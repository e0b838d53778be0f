//! Compiling emit-metric, azure-openai-emit-token-metric / llm-emit-token-metric and
//! log-to-eventhub.

use std::sync::Arc;

use apim_policy::{Element, ElementKind};

use super::{Builder, Doc};
use crate::errors::PolicyLocation;
use crate::plan::observe::{
    DEFAULT_NAMESPACE, DefaultDimension, Dimension, EventSpec, MetricSpec, Observe,
    TokenMetricSpec, parse_double,
};
use crate::plan::steps::{Kind, Val};

impl Builder<'_> {
    /// The statement of one observability policy; `None` after a diagnostic.
    pub(super) fn observe(
        &mut self,
        el: &Element,
        doc: &Doc,
        loc: &PolicyLocation,
    ) -> Option<Kind> {
        let o = match el.kind {
            ElementKind::EmitMetric => {
                let name = self.literal(doc, el, "name");
                if name.is_none() && el.attr("name").is_none() {
                    self.required(doc, el, "name");
                }
                let namespace = self.namespace(doc, el);
                let value = self.attr(doc, el, "value");
                if let Some(Val::Lit(v)) = &value
                    && parse_double(v).is_none()
                {
                    self.bad(doc, el, format!("emit-metric: value '{v}' is not a number"));
                    return None;
                }
                let dimensions = self.dimensions(doc, el, 10, false)?;
                Observe::EmitMetric(Box::new(MetricSpec {
                    namespace: namespace?,
                    name: name?,
                    value,
                    dimensions,
                }))
            }
            ElementKind::AzureOpenAiEmitTokenMetric | ElementKind::LlmEmitTokenMetric => {
                let llm = el.kind == ElementKind::LlmEmitTokenMetric;
                if !llm && el.attr("value").is_some() {
                    // An older form of the documentation listed it; nothing says what it does.
                    self.diag(
                        doc,
                        el.span.line,
                        el.span.col,
                        "PLAN0001",
                        "azure-openai-emit-token-metric: the 'value' attribute is not supported by the emulator (the metrics' values are the token counts)".into(),
                    );
                    return None;
                }
                let namespace = self.namespace(doc, el);
                // azure-openai-emit-token-metric: 10 dimensions; llm-emit-token-metric: 5.
                let max = if llm { 5 } else { 10 };
                let dimensions = self.dimensions(doc, el, max, llm)?;
                // Streamed requests' prompts are estimated from the request body.
                self.reads_body = true;
                let spec = Arc::new(TokenMetricSpec::new(
                    loc.clone(),
                    namespace?,
                    dimensions,
                    llm,
                ));
                self.token_metrics.push(spec.clone());
                Observe::TokenMetric(spec)
            }
            ElementKind::LogToEventhub => {
                let logger_id = match self.literal(doc, el, "logger-id") {
                    Some(l) => Some(l),
                    None if el.attr("logger-id").is_none() => {
                        self.required(doc, el, "logger-id");
                        None
                    }
                    None => None,
                };
                let partition_id = self.literal(doc, el, "partition-id");
                let partition_key = self.attr(doc, el, "partition-key");
                if partition_id.is_some() && partition_key.is_some() {
                    self.bad(
                        doc,
                        el,
                        "log-to-eventhub: use partition-id or partition-key, not both".into(),
                    );
                    return None;
                }
                if let Some(p) = &partition_id
                    && p.trim().parse::<u32>().is_err()
                {
                    self.bad(
                        doc,
                        el,
                        format!("log-to-eventhub: partition-id '{p}' is not a partition index"),
                    );
                    return None;
                }
                let message = self.text(doc, el)?;
                Observe::LogToEventhub(Box::new(EventSpec {
                    logger_id: logger_id?,
                    partition_id: partition_id.map(|p| p.trim().to_string()),
                    partition_key,
                    message,
                }))
            }
            _ => return None,
        };
        Some(Kind::Observe(o))
    }

    fn bad(&mut self, doc: &Doc, el: &Element, msg: String) {
        self.diag(doc, el.span.line, el.span.col, "PLAN0003", msg);
    }

    fn namespace(&mut self, doc: &Doc, el: &Element) -> Option<String> {
        if el.attr("namespace").is_none() {
            return Some(DEFAULT_NAMESPACE.to_string());
        }
        self.literal(doc, el, "namespace")
    }

    /// The `<dimension>` children: at least one, at most `max`.
    fn dimensions(
        &mut self,
        doc: &Doc,
        el: &Element,
        max: usize,
        backend_allowed: bool,
    ) -> Option<Vec<Dimension>> {
        let mut out = Vec::new();
        let mut ok = true;
        let mut count = 0;
        for c in el.children() {
            if c.kind != ElementKind::Dimension {
                self.unsupported(doc, c);
                ok = false;
                continue;
            }
            count += 1;
            let Some(name) = self.required(doc, c, "name") else {
                ok = false;
                continue;
            };
            let value = match c.attr("value") {
                Some(_) => match self.attr(doc, c, "value") {
                    Some(v) => Some(v),
                    None => {
                        ok = false;
                        continue;
                    }
                },
                None => None,
            };
            out.push(match (name, value) {
                (name, Some(value)) => Dimension::Given { name, value },
                (Val::Lit(n), None) => match DefaultDimension::from_name(&n, backend_allowed) {
                    Some(d) => Dimension::Default(n, d),
                    None => {
                        self.bad(
                            doc,
                            c,
                            format!(
                                "{}: dimension '{n}' needs a value: it is not one of the default dimensions ({})",
                                el.name(),
                                if backend_allowed {
                                    "API ID, Operation ID, Product ID, User ID, Subscription ID, Location, Gateway ID, Backend ID"
                                } else {
                                    "API ID, Operation ID, Product ID, User ID, Subscription ID, Location, Gateway ID"
                                }
                            ),
                        );
                        ok = false;
                        continue;
                    }
                },
                (name @ Val::Expr(_), None) => Dimension::DefaultByExpr(name),
            });
        }
        if count == 0 {
            self.bad(
                doc,
                el,
                format!("{} requires at least one dimension", el.name()),
            );
            return None;
        }
        if count > max {
            self.bad(
                doc,
                el,
                format!(
                    "{} allows at most {max} dimensions, {count} are configured",
                    el.name()
                ),
            );
            return None;
        }
        ok.then_some(out)
    }
}
