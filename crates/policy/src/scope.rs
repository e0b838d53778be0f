//! Scope rules: some policies are allowed only at some scopes (pipeline.md §5: `rate-limit` at
//! product, API and operation; `quota` at product only ...). A file does not say its scope, so
//! this check runs when the caller knows it (`apim-emu check --scope`, or the gateway loading
//! an APIOps folder).

use crate::diag::{Diagnostic, codes};
use crate::model::PolicyDocument;
use crate::schema::{self, ALL_SCOPES};
use crate::span::Span;

/// Where a policy document is attached, broadest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Global,
    Workspace,
    Product,
    Api,
    Operation,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::Global,
        Scope::Workspace,
        Scope::Product,
        Scope::Api,
        Scope::Operation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Workspace => "workspace",
            Scope::Product => "product",
            Scope::Api => "API",
            Scope::Operation => "operation",
        }
    }

    /// The scope's bit in [`schema::ElementSpec::scopes`].
    pub fn bit(self) -> u8 {
        match self {
            Scope::Global => schema::GLOBAL,
            Scope::Workspace => schema::WORKSPACE,
            Scope::Product => schema::PRODUCT,
            Scope::Api => schema::API,
            Scope::Operation => schema::OPERATION,
        }
    }
}

/// Diagnostics for policies the document uses that APIM does not allow at `scope`.
pub fn check_scope(doc: &PolicyDocument, scope: Scope) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    doc.walk(&mut |e| {
        let Some(spec) = schema::policy_spec(e.name()) else {
            return;
        };
        if spec.scopes == ALL_SCOPES || spec.scopes & scope.bit() != 0 {
            return;
        }
        let allowed: Vec<&str> = Scope::ALL
            .iter()
            .filter(|s| spec.scopes & s.bit() != 0)
            .map(|s| s.name())
            .collect();
        let span = Span {
            end: e.span.start + 1 + e.name().len(),
            ..e.span
        };
        out.push(Diagnostic::error(
            codes::NOT_ALLOWED_AT_SCOPE,
            span,
            format!(
                "policy `{}` is not allowed at {} scope (allowed at: {})",
                e.name(),
                scope.name(),
                allowed.join(", ")
            ),
        ));
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_and_quota_scopes() {
        let doc = crate::read_str(
            r#"<policies><inbound><rate-limit calls="1" renewal-period="60" /><quota calls="1" renewal-period="60" /></inbound></policies>"#,
        )
        .document
        .expect("reads");
        let codes_at = |s| check_scope(&doc, s).len();
        assert_eq!(codes_at(Scope::Global), 2);
        assert_eq!(codes_at(Scope::Product), 0);
        assert_eq!(codes_at(Scope::Api), 1);
        let d = &check_scope(&doc, Scope::Operation)[0];
        assert_eq!(d.code, "APIM0020");
        assert!(
            d.message
                .contains("`quota` is not allowed at operation scope (allowed at: product)")
        );
    }
}
