//! The typed view keeps everything the generic model holds: every attribute value and element
//! text under a policy appears in its typed form.

use std::path::Path;

use apim_policy::{Content, Element, Policy, read};

fn values_under(e: &Element, out: &mut Vec<String>) {
    for a in &e.attributes {
        out.push(format!("{:?}", a.value));
    }
    match &e.content {
        Content::Text(v) => out.push(format!("{v:?}")),
        Content::Children(c) => c.iter().for_each(|c| values_under(c, out)),
        Content::Markup(m) => out.push(format!("{m:?}")),
        Content::Empty => {}
    }
}

fn check_dir(dir: &Path, checked: &mut usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            check_dir(&p, checked);
            continue;
        }
        if p.extension().is_none_or(|x| x != "xml") {
            continue;
        }
        let bytes = std::fs::read(&p).expect("readable");
        let Some(doc) = read(&bytes, &p).document else {
            continue;
        };
        let top: Vec<&Element> = match &doc.kind {
            apim_policy::DocumentKind::Policies { sections } => {
                sections.iter().flat_map(|s| &s.policies).collect()
            }
            apim_policy::DocumentKind::Fragment { body } => body.iter().collect(),
        };
        for el in top {
            let typed = Policy::from_element(el).expect("a policy");
            assert_eq!(typed.kind(), el.kind);
            let debug = format!("{typed:?}");
            let mut values = Vec::new();
            values_under(el, &mut values);
            for v in values {
                assert!(
                    debug.contains(&v),
                    "{}: `{}` lost {v} in the typed view",
                    p.display(),
                    el.name()
                );
            }
            *checked += 1;
        }
    }
}

#[test]
fn typed_policies_keep_every_value() {
    let root = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ));
    let mut checked = 0;
    if root.is_dir() {
        check_dir(root, &mut checked);
    } else {
        println!("skipped the corpus: {} not found", root.display());
    }
    check_dir(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies")),
        &mut checked,
    );
    assert!(checked > 0);
}

#[test]
fn typed_access_reads_like_the_policy() {
    let r = apim_policy::read_str(
        r#"<policies><inbound><choose><when condition="@(true)"><set-header name="a" exists-action="append"><value>1</value><value>2</value></set-header></when><otherwise><base /></otherwise></choose></inbound></policies>"#,
    );
    let doc = r.document.expect("reads");
    let policies = doc.sections()[0].typed_policies();
    let Policy::Choose(choose) = &policies[0] else {
        panic!("not a choose")
    };
    assert_eq!(
        choose.whens[0].condition.as_expression().unwrap().code(),
        "true"
    );
    let Policy::SetHeader(h) = &choose.whens[0].policies[0] else {
        panic!("not a set-header")
    };
    assert_eq!(
        h.exists_action.as_ref().unwrap().as_literal(),
        Some("append")
    );
    assert_eq!(h.values.len(), 2);
    assert!(matches!(
        choose.otherwise.as_deref(),
        Some([Policy::Base(_)])
    ));
}
