//! Every expression of the corpus parses (the ones APIM itself would refuse are listed).
mod corpus_support;

/// Expressions in the corpus that are not C#, with the diagnostic code we give.
pub const KNOWN_INVALID: &[(&str, &str)] = &[
    // documentation placeholders
    ("@(...)", "CS1525"),
    ("@{...}", "CS1525"),
    // a string written with single quotes: C# reads a char literal of many characters
    (
        "@((string)context.Variables['updatedRetryEpoch'])",
        "CS1012",
    ),
    (
        "context.Response.Headers.ContainsKey('Retry-After')",
        "CS1012",
    ),
    ("GetValueOrDefault('Retry-After', '0')", "CS1012"),
];

#[test]
fn every_corpus_expression_parses() {
    let Some(exprs) = corpus_support::corpus_expressions() else {
        return;
    };
    assert!(exprs.len() > 500, "found only {} expressions", exprs.len());
    let mut failures = Vec::new();
    for (file, e) in &exprs {
        let r = apim_csharp::parser::parse(e);
        let known = KNOWN_INVALID.iter().find(|(k, _)| e.contains(k));
        match (r, known) {
            (Ok(_), None) => {}
            (Err(d), Some((_, code))) if d[0].code == *code => {}
            (Ok(_), Some(_)) => failures.push(format!("{file}: expected a diagnostic for {e}")),
            (Err(d), _) => failures.push(format!("{file}:\n{}", d[0].render(e))),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        exprs.len(),
        failures.join("\n\n")
    );
}
