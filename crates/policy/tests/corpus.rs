//! The bar over the real policy documents in ../shared/corpus: every seed document reads into
//! the full model; every dev document reads, or is rejected with the diagnostic listed here;
//! `fmt` in both directions keeps the model and is idempotent.

use std::path::{Path, PathBuf};

use apim_policy::{Form, read, write};

fn corpus_dir(sub: &str) -> Option<PathBuf> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ))
    .join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: corpus folder {} not found", dir.display());
        None
    }
}

fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .expect("corpus folder readable")
            .flatten()
        {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "xml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn rel(p: &Path, dir: &Path) -> String {
    p.strip_prefix(dir).unwrap_or(p).display().to_string()
}

#[test]
fn every_seed_document_reads_without_errors() {
    let Some(dir) = corpus_dir("seed") else {
        return;
    };
    let files = xml_files(&dir);
    assert!(
        files.len() >= 50,
        "expected the seed corpus, found {}",
        files.len()
    );
    for f in files {
        let bytes = std::fs::read(&f).expect("readable");
        let r = read(&bytes, &f);
        let errors: Vec<_> = r.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", rel(&f, &dir));
        let doc = r.document.expect("a document when there is no error");
        let mut count = 0;
        doc.walk(&mut |_| count += 1);
        assert!(count > 0, "{}: no policy read", rel(&f, &dir));
    }
}

/// Dev documents APIM would refuse, with the diagnostics a person expects (code, message part).
const EXPECTED_REJECTIONS: &[(&str, &[(&str, &str)])] = &[
    (
        "policy-toolkit/azure-openai-semantic-cache-lookup.xml",
        &[("APIM0003", "unknown attribute `cache-id`")],
    ),
    (
        "policy-toolkit/azure-openai-token-limit.xml",
        &[
            ("APIM0003", "unknown attribute `estimate-prompt-token`"),
            (
                "APIM0004",
                "missing the required attribute `estimate-prompt-tokens`",
            ),
        ],
    ),
    (
        "policy-toolkit/cache-value.xml",
        &[("APIM0002", "unknown policy `cache-value`")],
    ),
    (
        "policy-toolkit/invoke-darp-binding.xml",
        &[("APIM0002", "unknown policy `invoke-darp-binding`")],
    ),
    (
        "policy-toolkit/llm-semantic-cache-lookup.xml",
        &[
            (
                "APIM0005",
                "invalid value `managed-identity` for attribute `embeddings-backend-auth`",
            ),
            ("APIM0003", "unknown attribute `cache-id`"),
        ],
    ),
    (
        "policy-toolkit/llm-token-limit.xml",
        &[
            ("APIM0003", "unknown attribute `estimate-prompt-token`"),
            (
                "APIM0004",
                "missing the required attribute `estimate-prompt-tokens`",
            ),
            (
                "APIM0005",
                "invalid value `day` for attribute `token-quota-period`",
            ),
        ],
    ),
    (
        "policy-toolkit/publish-to-darp.xml",
        &[("APIM0002", "unknown policy `publish-to-darp`")],
    ),
    (
        "policy-toolkit/validate-status-code.xml",
        &[("APIM0003", "unknown attribute `error-variable-name`")],
    ),
];

#[test]
fn every_dev_document_reads_or_is_rejected_as_expected() {
    let Some(dir) = corpus_dir("dev") else {
        return;
    };
    let mut rejected = Vec::new();
    for f in xml_files(&dir) {
        let bytes = std::fs::read(&f).expect("readable");
        let r = read(&bytes, &f);
        let name = rel(&f, &dir);
        if !r.has_errors() {
            assert!(r.document.is_some(), "{name}: no document and no error");
            continue;
        }
        let Some((_, expected)) = EXPECTED_REJECTIONS.iter().find(|(n, _)| *n == name) else {
            panic!("{name} rejected unexpectedly: {:#?}", r.diagnostics);
        };
        let errors: Vec<_> = r.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert_eq!(errors.len(), expected.len(), "{name}: {errors:#?}");
        for (code, msg) in *expected {
            assert!(
                errors
                    .iter()
                    .any(|d| d.code == *code && d.message.contains(msg)),
                "{name}: expected {code} `{msg}` in {errors:#?}"
            );
        }
        rejected.push(name);
    }
    let expected: Vec<&str> = EXPECTED_REJECTIONS.iter().map(|(n, _)| *n).collect();
    assert_eq!(rejected, expected);
}

#[test]
fn typos_get_a_suggestion() {
    let Some(dir) = corpus_dir("dev") else {
        return;
    };
    let bytes = std::fs::read(dir.join("policy-toolkit/invoke-darp-binding.xml")).expect("file");
    let r = read(&bytes, "invoke-darp-binding.xml");
    assert!(
        r.diagnostics[0]
            .notes
            .iter()
            .any(|n| n.contains("did you mean `invoke-dapr-binding`?")),
        "{:#?}",
        r.diagnostics
    );
}

#[test]
fn fmt_round_trips_every_corpus_document_in_both_directions() {
    let (Some(seed), Some(dev)) = (corpus_dir("seed"), corpus_dir("dev")) else {
        return;
    };
    let mut checked = 0;
    for f in xml_files(&seed).into_iter().chain(xml_files(&dev)) {
        let text = std::fs::read_to_string(&f).expect("UTF-8 corpus file");
        let r = read(text.as_bytes(), &f);
        let Some(doc) = r.document else {
            continue;
        };
        let model = doc.without_spans();
        for (first, second) in [(Form::Xml, Form::RawXml), (Form::RawXml, Form::Xml)] {
            let a = write(&text, first).expect("converts");
            let ra = read(a.as_bytes(), &f);
            let da = ra
                .document
                .unwrap_or_else(|| panic!("{} as {first:?}: {:#?}", f.display(), ra.diagnostics));
            assert_eq!(da.without_spans(), model, "{} as {first:?}", f.display());
            assert_eq!(
                write(&a, first).expect("converts"),
                a,
                "{} {first:?} not idempotent",
                f.display()
            );
            let b = write(&a, second).expect("converts");
            let db = read(b.as_bytes(), &f).document.expect("reads");
            assert_eq!(
                db.without_spans(),
                model,
                "{} as {first:?} then {second:?}",
                f.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 200, "only {checked} documents checked");
}
