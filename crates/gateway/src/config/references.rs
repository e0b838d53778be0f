//! References from policy documents to configuration entities that APIM checks when a policy is
//! saved: a `log-to-eventhub logger-id` must name a logger of the service.

use std::path::Path;

use apim_engine::service::{PolicyOrigin, PolicySource, ServiceDefinition};
use apim_policy::{ElementKind, LineIndex, PolicyDocument};

use super::de::did_you_mean;
use super::diag::{Diagnostic, ErrorKind};

/// Every policy document of `service`: global, workspace, product, API, operation, fragment.
fn policies(service: &ServiceDefinition) -> Vec<&PolicySource> {
    let mut out: Vec<&PolicySource> = Vec::new();
    out.extend(service.global_policy.as_ref());
    out.extend(service.workspaces.iter().filter_map(|w| w.policy.as_ref()));
    out.extend(service.products.iter().filter_map(|p| p.policy.as_ref()));
    for api in &service.apis {
        out.extend(api.policy.as_ref());
        out.extend(api.operations.iter().filter_map(|o| o.policy.as_ref()));
    }
    out.extend(service.policy_fragments.iter().map(|f| &f.source));
    out
}

/// One error per `log-to-eventhub` whose literal `logger-id` is none of `loggers`, at the
/// attribute's value. Documents that do not read are left to the policy compiler, which
/// reports them with their own diagnostics; a `logger-id` that is not a literal is too.
pub fn check_logger_ids(service: &ServiceDefinition, loggers: &[&str]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // A file attached at several scopes is read once.
    let mut seen: Vec<&Path> = Vec::new();
    for source in policies(service) {
        // Most documents have no log-to-eventhub: not read a second time.
        if !source.text.contains("log-to-eventhub") {
            continue;
        }
        let path = match &source.origin {
            PolicyOrigin::File(p) => {
                if seen.contains(&p.as_path()) {
                    continue;
                }
                seen.push(p);
                Some(p.as_path())
            }
            PolicyOrigin::Name(_) => None,
        };
        let origin = match &source.origin {
            PolicyOrigin::File(p) => p.display().to_string(),
            PolicyOrigin::Name(n) => n.clone(),
        };
        let Some(doc) = apim_policy::read(&source.text, &origin).document else {
            continue;
        };
        unknown_loggers(&doc, &source.text, path, &origin, loggers, &mut out);
    }
    out
}

fn unknown_loggers(
    doc: &PolicyDocument,
    text: &str,
    path: Option<&Path>,
    origin: &str,
    loggers: &[&str],
    out: &mut Vec<Diagnostic>,
) {
    let mut index: Option<LineIndex> = None;
    doc.walk(&mut |el| {
        if el.kind != ElementKind::LogToEventhub {
            return;
        }
        let Some(value) = el.attr("logger-id") else {
            return;
        };
        let Some(id) = value.as_literal() else {
            return;
        };
        if loggers.contains(&id) {
            return;
        }
        let hint = match did_you_mean(id, loggers.iter().copied()) {
            Some(m) => format!(", did you mean `{m}`?"),
            None => String::new(),
        };
        let index = index.get_or_insert_with(|| LineIndex::new(text));
        let mut d = match path {
            Some(p) => Diagnostic::at_file(
                ErrorKind::UnknownReference,
                p,
                format!("log-to-eventhub: unknown logger `{id}`{hint}"),
            ),
            None => Diagnostic::general(
                ErrorKind::UnknownReference,
                format!("{origin}: log-to-eventhub: unknown logger `{id}`{hint}"),
            ),
        };
        if path.is_some() {
            d.line = value.span.line;
            d.col = value.span.col;
            d.line_text = Some(index.line_text(text, value.span.line).to_string());
        }
        d.notes.push(if loggers.is_empty() {
            "no logger is configured: declare it under `loggers:` in apim-emu.yaml".to_string()
        } else {
            let list: Vec<String> = loggers.iter().map(|l| format!("`{l}`")).collect();
            format!("configured loggers: {}", list.join(", "))
        });
        out.push(d);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use apim_engine::service::{Api, PolicyFragment};

    fn service(global: &str, fragment: &str) -> ServiceDefinition {
        ServiceDefinition {
            global_policy: Some(PolicySource::file("policy.xml", global)),
            apis: vec![Api {
                id: "a".into(),
                // The same file at a second scope: reported once.
                policy: Some(PolicySource::file("policy.xml", global)),
                ..Default::default()
            }],
            policy_fragments: vec![PolicyFragment {
                id: "f".into(),
                source: PolicySource::file("fragment.xml", fragment),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn unknown_logger_ids_are_reported_at_their_value_with_a_suggestion() {
        let sd = service(
            "<policies><inbound>\n  <log-to-eventhub logger-id=\"usage-hb\">x</log-to-eventhub>\n  <log-to-eventhub logger-id=\"usage-hub\">y</log-to-eventhub>\n</inbound></policies>",
            "<fragment><log-to-eventhub logger-id=\"zzz\">@(\"m\")</log-to-eventhub></fragment>",
        );
        let errs = check_logger_ids(&sd, &["usage-hub", "audit"]);
        let shown: Vec<String> = errs.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            shown,
            vec![
                "policy.xml:2:31: error: log-to-eventhub: unknown logger `usage-hb`, did you mean `usage-hub`?",
                "fragment.xml:1:39: error: log-to-eventhub: unknown logger `zzz`",
            ]
        );
        assert_eq!(
            errs[1].notes,
            vec!["configured loggers: `usage-hub`, `audit`"]
        );
    }

    #[test]
    fn expressions_and_unreadable_documents_are_left_to_the_compiler() {
        let sd = service(
            "<policies><inbound><log-to-eventhub logger-id=\"@(&quot;x&quot;)\">m</log-to-eventhub></inbound></policies>",
            "<fragment><log-to-eventhub logger-id=\"nope\">",
        );
        assert!(check_logger_ids(&sd, &[]).is_empty());
    }
}
