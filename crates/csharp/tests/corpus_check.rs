//! Every corpus expression type-checks, except those APIM itself would refuse.
mod corpus_support;

/// Expressions APIM would refuse (substring of the expression, diagnostic code).
const KNOWN_INVALID: &[(&str, &str)] = &[
    ("@(...)", "CS1525"),
    ("@{...}", "CS1525"),
    ("context.Variables['updatedRetryEpoch']", "CS1012"),
    ("ContainsKey('Retry-After')", "CS1012"),
    ("GetValueOrDefault('Retry-After', '0')", "CS1012"),
    // `RETRY_COUNT` is a placeholder the sample's deployment script replaces
    ("RETRY_COUNT", "CS0103"),
];

#[test]
fn every_corpus_expression_type_checks() {
    let Some(exprs) = corpus_support::corpus_expressions() else {
        return;
    };
    let mut failures = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (file, e) in &exprs {
        if !seen.insert(e.clone()) {
            continue;
        }
        let known = KNOWN_INVALID.iter().find(|(k, _)| e.contains(k));
        match (apim_csharp::compile(e), known) {
            (Ok(_), None) => {}
            (Err(d), Some((_, code))) if d.iter().any(|d| d.code == *code) => {}
            (Ok(_), Some(_)) => failures.push(format!("{file}: expected a diagnostic for {e}")),
            (Err(d), _) => failures.push(format!(
                "{file}:\n{}",
                d.iter().map(|d| d.render(e)).collect::<Vec<_>>().join("\n")
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
