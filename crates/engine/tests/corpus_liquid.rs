//! Every Liquid template in the shared policy corpus parses, and renders what its policy means.

use std::path::{Path, PathBuf};

use apim_engine::liquid::{Bindings, Template};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            xml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "xml") {
            out.push(p);
        }
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Bodies of `<set-body template="liquid">` elements.
fn liquid_bodies(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("<set-body") {
        let after = &rest[i..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body_start = tag_end + 1;
        let Some(close) = after[body_start..].find("</set-body>") else {
            break;
        };
        if tag.contains("template=\"liquid\"") && !tag.ends_with('/') {
            out.push(unescape(&after[body_start..body_start + close]));
        }
        rest = &after[body_start + close..];
    }
    out
}

#[test]
fn corpus_liquid_templates_parse() {
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        println!("skipped: policy corpus not found at {}", root.display());
        return;
    }
    let mut files = Vec::new();
    xml_files(root, &mut files);
    let mut count = 0;
    let mut failures = Vec::new();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for body in liquid_bodies(&text) {
            count += 1;
            if let Err(e) = Template::parse(&body) {
                failures.push(format!("{}: {e}", f.display()));
            }
        }
    }
    println!("{count} Liquid templates in the corpus");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn chat_completion_reshaping_template() {
    // The shape used by the corpus' enterprise-azureai operation policy.
    let t =
        Template::parse("{\n    \"response\": \"{{body.choices[0].message.content}}\"\n}").unwrap();
    let body =
        serde_json::json!({"choices": [{"message": {"role": "assistant", "content": "Hello!"}}]});
    let out = t
        .render(&Bindings {
            body: Some(body),
            context: serde_json::json!({}),
            now: None,
        })
        .unwrap();
    assert_eq!(out, "{\n    \"response\": \"Hello!\"\n}");
}
