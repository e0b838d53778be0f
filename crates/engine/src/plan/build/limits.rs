//! Compiling rate-limit, rate-limit-by-key, quota, quota-by-key, and the cache policies'
//! `caching-type`.

use std::sync::Arc;
use std::time::Duration;

use apim_policy::{Element, ElementKind};

use super::{Builder, Doc};
use crate::counters::{CachingType, QuotaSpec, RateLimit};
use crate::errors::PolicyLocation;
use crate::plan::limits::{Amounts, LimitPolicy, Names, Policy, Scoped, Selector};
use crate::plan::steps::Val;

/// rate-limit's renewal-period maximum (seconds).
const MAX_RATE_PERIOD: u64 = 300;
/// quota-by-key's renewal-period minimum (seconds), 0 aside.
const MIN_QUOTA_PERIOD: u64 = 300;

impl Builder<'_> {
    /// `caching-type` of cache-lookup-value / cache-store-value / cache-remove-value.
    pub(super) fn caching_type(&mut self, doc: &Doc, el: &Element) -> Option<CachingType> {
        let t = match self.literal(doc, el, "caching-type") {
            None => return Some(CachingType::default()),
            Some(t) => t,
        };
        match t.parse::<CachingType>() {
            Ok(CachingType::External) if !self.external_cache => {
                self.diag(
                    doc,
                    el.span.line,
                    el.span.col,
                    "PLAN0012",
                    format!(
                        "{}: caching-type is 'external' but no external cache is configured \
                         (externalCache in apim-emu.yaml, or Services::with_redis)",
                        el.name()
                    ),
                );
                None
            }
            Ok(c) => Some(c),
            Err(e) => {
                self.diag(
                    doc,
                    el.span.line,
                    el.span.col,
                    "PLAN0008",
                    format!("{}: {e}", el.name()),
                );
                None
            }
        }
    }

    /// A whole number from a literal attribute; `None` (with a diagnostic) when it is not one.
    fn number(&mut self, doc: &Doc, el: &Element, name: &str) -> Option<Option<u64>> {
        let Some(v) = self.literal(doc, el, name) else {
            return Some(None);
        };
        match v.trim().parse::<u64>() {
            Ok(n) => Some(Some(n)),
            Err(_) => {
                self.diag(
                    doc,
                    el.span.line,
                    el.span.col,
                    "PLAN0008",
                    format!("{} {name} '{v}' is not a whole number", el.name()),
                );
                None
            }
        }
    }

    fn missing(&mut self, doc: &Doc, el: &Element, what: &str) {
        self.diag(
            doc,
            el.span.line,
            el.span.col,
            "PLAN0003",
            format!("{} requires {what}", el.name()),
        );
    }

    /// calls + renewal-period of rate-limit and its `<api>` / `<operation>` children.
    fn rate_literal(&mut self, doc: &Doc, el: &Element) -> Option<RateLimit> {
        let calls = self.number(doc, el, "calls")?;
        let period = self.number(doc, el, "renewal-period")?;
        let (Some(calls), Some(period)) = (calls, period) else {
            self.missing(doc, el, "calls and renewal-period");
            return None;
        };
        self.check_rate_period(doc, el, period)?;
        Some(RateLimit::new(calls, period))
    }

    fn check_rate_period(&mut self, doc: &Doc, el: &Element, period: u64) -> Option<()> {
        if period == 0 || period > MAX_RATE_PERIOD {
            self.diag(
                doc,
                el.span.line,
                el.span.col,
                "PLAN0008",
                format!(
                    "{} renewal-period must be between 1 and {MAX_RATE_PERIOD} seconds, not {period}",
                    el.name()
                ),
            );
            return None;
        }
        Some(())
    }

    /// calls / bandwidth / renewal-period of quota and its children; a child without
    /// renewal-period takes its parent's.
    fn amounts(&mut self, doc: &Doc, el: &Element, parent: Option<Duration>) -> Option<Amounts> {
        let calls = self.number(doc, el, "calls")?;
        let bandwidth_kb = self.number(doc, el, "bandwidth")?;
        let renewal = match (self.number(doc, el, "renewal-period")?, parent) {
            (Some(p), _) => Duration::from_secs(p),
            (None, Some(p)) => p,
            (None, None) => {
                self.missing(doc, el, "renewal-period");
                return None;
            }
        };
        if calls.is_none() && bandwidth_kb.is_none() {
            self.missing(doc, el, "calls or bandwidth");
            return None;
        }
        Some(Amounts {
            calls,
            bandwidth_kb,
            renewal,
        })
    }

    fn selector(&mut self, doc: &Doc, el: &Element) -> Option<Selector> {
        let id = self.literal(doc, el, "id");
        let name = self.literal(doc, el, "name");
        if id.is_none() && name.is_none() {
            self.missing(doc, el, "name or id");
            return None;
        }
        Some(Selector { id, name })
    }

    /// `<api>` children (with their `<operation>` children) of rate-limit / quota.
    fn children<L>(
        &mut self,
        doc: &Doc,
        el: &Element,
        mut limit: impl FnMut(&mut Self, &Element, bool) -> Option<Option<L>>,
    ) -> Option<Vec<Scoped<L>>> {
        let mut out = Vec::new();
        let mut ok = true;
        for api in el.children() {
            if api.kind != ElementKind::Api {
                self.unsupported(doc, api);
                ok = false;
                continue;
            }
            let sel = self.selector(doc, api);
            let own = limit(self, api, !api.children().is_empty());
            let mut operations = Vec::new();
            for op in api.children() {
                if op.kind != ElementKind::Operation {
                    self.unsupported(doc, op);
                    ok = false;
                    continue;
                }
                let s = self.selector(doc, op);
                match (s, limit(self, op, false)) {
                    (Some(s), Some(Some(l))) => operations.push((s, l)),
                    _ => ok = false,
                }
            }
            match (sel, own) {
                (Some(api), Some(limit)) => out.push(Scoped {
                    api,
                    limit,
                    operations,
                }),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn names(&mut self, doc: &Doc, el: &Element) -> Names {
        Names {
            retry_after_header: self
                .literal(doc, el, "retry-after-header-name")
                .unwrap_or_else(|| "Retry-After".into()),
            retry_after_variable: self.literal(doc, el, "retry-after-variable-name"),
            remaining_header: self.literal(doc, el, "remaining-calls-header-name"),
            remaining_variable: self.literal(doc, el, "remaining-calls-variable-name"),
            total_header: self.literal(doc, el, "total-calls-header-name"),
        }
    }

    /// rate-limit, rate-limit-by-key, quota, quota-by-key.
    pub(super) fn limit_policy(
        &mut self,
        el: &Element,
        doc: &Doc,
        loc: &PolicyLocation,
    ) -> Option<Arc<LimitPolicy>> {
        let policy = match el.kind {
            ElementKind::RateLimit => {
                let limit = self.rate_literal(doc, el);
                // An <api> with operations may leave out its own calls and renewal-period.
                let apis = self.children(doc, el, |b, e, grouping| {
                    if grouping && e.attr("calls").is_none() && e.attr("renewal-period").is_none() {
                        return Some(None);
                    }
                    b.rate_literal(doc, e).map(Some)
                });
                Policy::Rate {
                    limit: limit?,
                    apis: apis?,
                }
            }
            ElementKind::RateLimitByKey => {
                let calls = self.required(doc, el, "calls");
                let renewal = self.required(doc, el, "renewal-period");
                let counter_key = self.required(doc, el, "counter-key");
                let condition = self.attr(doc, el, "increment-condition");
                let count = self.attr(doc, el, "increment-count");
                if let Some(Val::Lit(p)) = &renewal {
                    match p.trim().parse::<u64>() {
                        Ok(p) => self.check_rate_period(doc, el, p)?,
                        Err(_) => {
                            self.number(doc, el, "renewal-period")?;
                        }
                    }
                }
                if let Some(Val::Lit(_)) = &calls {
                    self.number(doc, el, "calls")?;
                }
                let deferred = is_expr(&condition) || is_expr(&count);
                Policy::RateByKey {
                    calls: calls?,
                    renewal: renewal?,
                    counter_key: counter_key?,
                    condition,
                    count,
                    deferred,
                }
            }
            ElementKind::Quota => {
                let amounts = self.amounts(doc, el, None);
                let parent = amounts.map(|a| a.renewal);
                let apis = self.children(doc, el, |b, e, grouping| {
                    if grouping && e.attr("calls").is_none() && e.attr("bandwidth").is_none() {
                        return Some(None);
                    }
                    b.amounts(doc, e, parent).map(Some)
                });
                Policy::Quota {
                    amounts: amounts?,
                    apis: apis?,
                }
            }
            ElementKind::QuotaByKey => {
                let amounts = self.amounts(doc, el, None);
                let counter_key = self.required(doc, el, "counter-key");
                let condition = self.attr(doc, el, "increment-condition");
                let count = self.attr(doc, el, "increment-count");
                let start = match self.literal(doc, el, "first-period-start") {
                    None => Some(QuotaSpec::default_first_period_start()),
                    Some(t) => match chrono::DateTime::parse_from_rfc3339(t.trim()) {
                        Ok(d) => Some(d.to_utc()),
                        Err(_) => {
                            self.diag(
                                doc,
                                el.span.line,
                                el.span.col,
                                "PLAN0008",
                                format!(
                                    "quota-by-key first-period-start '{t}' is not a \
                                     yyyy-MM-ddTHH:mm:ssZ date and time"
                                ),
                            );
                            None
                        }
                    },
                };
                let amounts = amounts?;
                let secs = amounts.renewal.as_secs();
                if secs != 0 && secs < MIN_QUOTA_PERIOD {
                    self.diag(
                        doc,
                        el.span.line,
                        el.span.col,
                        "PLAN0008",
                        format!(
                            "quota-by-key renewal-period must be 0 (never renews) or at least \
                             {MIN_QUOTA_PERIOD} seconds, not {secs}"
                        ),
                    );
                    return None;
                }
                // increment-count other than 1 counts when the request ends, like an
                // expression.
                let deferred = is_expr(&condition)
                    || match &count {
                        None => false,
                        Some(Val::Lit(n)) => n.trim() != "1",
                        Some(Val::Expr(_)) => true,
                    };
                Policy::QuotaByKey {
                    amounts,
                    counter_key: counter_key?,
                    condition,
                    count,
                    deferred,
                    first_period_start: start?,
                }
            }
            _ => return None,
        };
        let names = self.names(doc, el);
        self.has_limits = true;
        Some(Arc::new(LimitPolicy {
            loc: loc.clone(),
            id: policy_id(loc, doc, el),
            policy,
            names,
            ledgers: self.ledgers.clone(),
        }))
    }
}

/// Identity of a rate-limit / quota policy for its per-subscription counters: its scope, the
/// text of its document and its position. The same on every gateway with the same policies,
/// wherever their files are (Redis-shared counters); two different policies never share.
fn policy_id(loc: &PolicyLocation, doc: &Doc, el: &Element) -> String {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: stable between processes of the same build.
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    doc.text.hash(&mut h);
    format!(
        "{:?}:{:016x}:{}:{}",
        loc.scope,
        h.finish(),
        el.span.line,
        el.span.col
    )
}

fn is_expr(v: &Option<Val>) -> bool {
    matches!(v, Some(Val::Expr(_)))
}
