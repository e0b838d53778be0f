mod common;

use std::path::Path;

use apim_gateway::config::LoadOptions;
use apim_testkit::diff::{DiffOptions, diff, load_target, read_requests, resolve_target};
use common::FakeEngine;

fn load(p: &str) -> apim_engine::service::ServiceDefinition {
    load_target(Path::new(p), None, &LoadOptions::default()).unwrap()
}

#[test]
fn diff_shows_exactly_the_changed_backend() {
    let old = load("tests/fixtures/diff/old");
    let new = load("tests/fixtures/diff/new");
    let reqs = read_requests(Path::new("tests/fixtures/diff/requests.jsonl")).unwrap();
    let r = diff(&FakeEngine, &old, &new, &reqs, &DiffOptions::default()).unwrap();
    assert_eq!(r.exit_code(), 1);
    insta::assert_snapshot!("diff_human", r.human());
    insta::assert_snapshot!("diff_json", r.json());
}

#[test]
fn same_definition_has_no_differences() {
    let old = load("tests/fixtures/diff/old");
    let reqs = read_requests(Path::new("tests/fixtures/diff/requests.jsonl")).unwrap();
    let r = diff(&FakeEngine, &old, &old, &reqs, &DiffOptions::default()).unwrap();
    assert_eq!(r.differences, vec![]);
    assert_eq!(r.exit_code(), 0);
    assert_eq!(r.human(), "2 requests, 0 differ\n");
}

#[test]
fn a_policy_file_target_uses_default_settings() {
    let s = load("tests/fixtures/policy.xml");
    assert_eq!(s.apis.len(), 1);
    assert!(!s.apis[0].subscription_required);
}

fn git_available() -> bool {
    let ok = std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "git is required in CI");
        println!("skipped: git is not installed");
    }
    ok
}

#[test]
fn git_rev_path_reads_the_file_at_that_revision() {
    if !git_available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("apim-emu-testkit-git-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("cfg")).unwrap();
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    git(&["init", "-q"]);
    std::fs::write(dir.join("cfg/policy.xml"), "<policies>v1</policies>").unwrap();
    git(&["add", "."]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "v1",
    ]);
    std::fs::write(dir.join("cfg/policy.xml"), "<policies>v2</policies>").unwrap();
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qam",
        "v2",
    ]);

    let t = resolve_target("git:HEAD~1:cfg/policy.xml", &dir.join("cfg")).unwrap();
    assert_eq!(
        std::fs::read_to_string(&t.path).unwrap(),
        "<policies>v1</policies>"
    );
    let tmp = t.path.clone();
    drop(t);
    assert!(!tmp.exists(), "the checkout is removed with its handle");
    let plain = resolve_target("cfg/policy.xml", &dir).unwrap();
    assert_eq!(
        std::fs::read_to_string(&plain.path).unwrap(),
        "<policies>v2</policies>"
    );
    let e = resolve_target("git:HEAD:nope.xml", &dir).unwrap_err();
    assert!(e.to_string().contains("no `nope.xml` at HEAD"), "{e}");
    let e = resolve_target("git:nosuchrev:cfg", &dir).unwrap_err();
    assert!(e.to_string().contains("git archive nosuchrev"), "{e}");
    assert!(resolve_target("git:HEAD", &dir).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
