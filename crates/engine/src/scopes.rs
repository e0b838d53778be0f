//! Scope composition (pipeline.md §2, §4): which policy documents apply to a request (operation →
//! API → product (only in a product context) → workspace → global) and how one effective section
//! is built by replacing each `<base/>` with the next broader scope's same section, with
//! `include-fragment` inlined. Generic over the policy statement type the Plan compiler uses.

use crate::errors::Scope;
use crate::service::{Api, Operation, PolicySource, Product, ServiceDefinition};

/// APIM's default global policy: forward every request.
pub const DEFAULT_GLOBAL_POLICY: &str = "<policies>\n\t<inbound />\n\t<backend>\n\t\t<forward-request />\n\t</backend>\n\t<outbound />\n\t<on-error />\n</policies>";

/// The policy documents of a request, narrowest first. `None` = no document at that scope
/// (every section behaves as `<base/>`); the global scope falls back to
/// [`DEFAULT_GLOBAL_POLICY`] when the service has none.
pub fn scope_chain<'a>(
    service: &'a ServiceDefinition,
    api: &'a Api,
    operation: Option<&'a Operation>,
    product: Option<&'a Product>,
) -> Vec<(Scope, Option<&'a PolicySource>)> {
    let mut chain = Vec::with_capacity(5);
    if let Some(op) = operation {
        chain.push((Scope::Operation, op.policy.as_ref()));
    }
    chain.push((Scope::Api, api.policy.as_ref()));
    if let Some(p) = product {
        chain.push((Scope::Product, p.policy.as_ref()));
    }
    if let Some(w) = api.workspace.as_deref().and_then(|w| service.workspace(w)) {
        chain.push((Scope::Workspace, w.policy.as_ref()));
    }
    chain.push((Scope::Global, service.global_policy.as_ref()));
    chain
}

/// A statement of a section as far as composition cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt<T> {
    Base,
    IncludeFragment(String),
    Policy(T),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("policy fragment '{0}' does not exist")]
    UnknownFragment(String),
    #[error("policy fragment '{0}' includes another fragment; fragments cannot be nested")]
    NestedFragment(String),
    #[error("policy fragment '{0}' contains <base />, which is not allowed in fragments")]
    BaseInFragment(String),
}

/// Builds one effective section. `sections[i]` is that section at the i-th scope of the chain
/// (narrowest first); `None` when the scope has no document or the document lacks the section
/// (treated as `<base/>`). `fragment` returns a fragment's statements. Each statement comes out
/// with the scope whose document (or included fragment) holds it.
pub fn effective_section<T: Clone>(
    sections: &[(Scope, Option<&[Stmt<T>]>)],
    fragment: &dyn Fn(&str) -> Option<Vec<Stmt<T>>>,
) -> Result<Vec<(Scope, T)>, ScopeError> {
    let mut out = Vec::new();
    expand(sections, 0, fragment, &mut out)?;
    Ok(out)
}

fn expand<T: Clone>(
    sections: &[(Scope, Option<&[Stmt<T>]>)],
    idx: usize,
    fragment: &dyn Fn(&str) -> Option<Vec<Stmt<T>>>,
    out: &mut Vec<(Scope, T)>,
) -> Result<(), ScopeError> {
    let Some((scope, stmts)) = sections.get(idx) else {
        return Ok(());
    };
    let Some(stmts) = stmts else {
        // No section here: as if it held just <base/>.
        return expand(sections, idx + 1, fragment, out);
    };
    for s in stmts.iter() {
        match s {
            Stmt::Base => expand(sections, idx + 1, fragment, out)?,
            Stmt::Policy(p) => out.push((*scope, p.clone())),
            Stmt::IncludeFragment(id) => {
                let body = fragment(id).ok_or_else(|| ScopeError::UnknownFragment(id.clone()))?;
                for f in body {
                    match f {
                        Stmt::Policy(p) => out.push((*scope, p)),
                        Stmt::Base => return Err(ScopeError::BaseInFragment(id.clone())),
                        Stmt::IncludeFragment(_) => {
                            return Err(ScopeError::NestedFragment(id.clone()));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Workspace;

    fn p(s: &str) -> Stmt<String> {
        Stmt::Policy(s.to_string())
    }

    fn names(v: &[(Scope, String)]) -> Vec<String> {
        v.iter().map(|(s, p)| format!("{s}:{p}")).collect()
    }

    #[test]
    fn base_is_replaced_by_the_broader_scope() {
        let op = vec![p("op-before"), Stmt::Base, p("op-after")];
        let api = vec![Stmt::Base, p("api")];
        let global = vec![p("global"), Stmt::Base];
        let sections: Vec<(Scope, Option<&[Stmt<String>]>)> = vec![
            (Scope::Operation, Some(&op)),
            (Scope::Api, Some(&api)),
            (Scope::Global, Some(&global)),
        ];
        let r = effective_section(&sections, &|_| None).unwrap();
        assert_eq!(
            names(&r),
            [
                "operation:op-before",
                "global:global",
                "api:api",
                "operation:op-after"
            ]
        );
    }

    #[test]
    fn missing_sections_pass_through_and_removed_base_cuts_parents() {
        let api = vec![p("api-only")];
        let global = vec![p("global")];
        let sections: Vec<(Scope, Option<&[Stmt<String>]>)> = vec![
            (Scope::Operation, None),
            (Scope::Api, Some(&api)),
            (Scope::Global, Some(&global)),
        ];
        assert_eq!(
            names(&effective_section(&sections, &|_| None).unwrap()),
            ["api:api-only"]
        );
        let sections: Vec<(Scope, Option<&[Stmt<String>]>)> = vec![
            (Scope::Operation, None),
            (Scope::Api, None),
            (Scope::Global, Some(&global)),
        ];
        assert_eq!(
            names(&effective_section(&sections, &|_| None).unwrap()),
            ["global:global"]
        );
    }

    #[test]
    fn fragments_are_inlined_and_cannot_nest() {
        let api = vec![p("a"), Stmt::IncludeFragment("frag".into()), p("b")];
        let sections: Vec<(Scope, Option<&[Stmt<String>]>)> = vec![(Scope::Api, Some(&api))];
        let frag = |id: &str| match id {
            "frag" => Some(vec![p("f1"), p("f2")]),
            "nested" => Some(vec![Stmt::IncludeFragment("frag".into())]),
            "based" => Some(vec![Stmt::Base]),
            _ => None,
        };
        assert_eq!(
            names(&effective_section(&sections, &frag).unwrap()),
            ["api:a", "api:f1", "api:f2", "api:b"]
        );
        for (id, err) in [
            ("nested", ScopeError::NestedFragment("nested".into())),
            ("based", ScopeError::BaseInFragment("based".into())),
            ("missing", ScopeError::UnknownFragment("missing".into())),
        ] {
            let api = vec![Stmt::IncludeFragment(id.to_string())];
            let sections: Vec<(Scope, Option<&[Stmt<String>]>)> = vec![(Scope::Api, Some(&api))];
            assert_eq!(effective_section(&sections, &frag).unwrap_err(), err);
        }
    }

    #[test]
    fn chain_includes_product_only_in_a_product_context_and_workspace_for_workspace_apis() {
        let src = |n: &str| Some(PolicySource::inline(n, "<policies/>"));
        let service = ServiceDefinition {
            global_policy: src("global"),
            workspaces: vec![Workspace {
                id: "w".into(),
                name: "W".into(),
                policy: src("workspace"),
            }],
            products: vec![Product {
                id: "p".into(),
                policy: src("product"),
                ..Default::default()
            }],
            apis: vec![Api {
                id: "a".into(),
                workspace: Some("w".into()),
                policy: src("api"),
                ..Default::default()
            }],
            ..Default::default()
        };
        let api = &service.apis[0];
        let op = Operation {
            id: "o".into(),
            policy: src("op"),
            ..Default::default()
        };
        let scopes: Vec<Scope> = scope_chain(&service, api, Some(&op), service.product("p"))
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(
            scopes,
            [
                Scope::Operation,
                Scope::Api,
                Scope::Product,
                Scope::Workspace,
                Scope::Global
            ]
        );
        let scopes: Vec<Scope> = scope_chain(&service, api, Some(&op), None)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(
            scopes,
            [
                Scope::Operation,
                Scope::Api,
                Scope::Workspace,
                Scope::Global
            ]
        );
        assert!(DEFAULT_GLOBAL_POLICY.contains("<forward-request />"));
    }
}
