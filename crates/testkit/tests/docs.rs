//! The YAML examples in docs/testing.md are valid test files.

use std::path::Path;

#[test]
fn yaml_examples_in_the_docs_parse() {
    let doc = include_str!("../../../docs/testing.md");
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in doc.lines() {
        match (&mut cur, line.trim_end()) {
            (None, "```yaml") => cur = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                cur = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            _ => {}
        }
    }
    let suites: Vec<&String> = blocks.iter().filter(|b| b.contains("cases:")).collect();
    assert_eq!(suites.len(), 4, "the four example suites");
    for b in suites {
        if let Err(e) = apim_testkit::format::parse_suite(Path::new("docs/testing.md"), b.clone()) {
            panic!("{e}\n{b}");
        }
    }
}
