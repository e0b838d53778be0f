mod common;

use std::path::PathBuf;

use apim_testkit::report::{human, junit, summary};
use apim_testkit::runner::{CaseOutcome, RunOptions, discover, run_paths};
use common::FakeEngine;

fn run(path: &str, filter: Option<&str>) -> apim_testkit::Report {
    let opts = RunOptions {
        filter: filter.map(str::to_string),
        threads: Some(2),
        ..Default::default()
    };
    run_paths(&FakeEngine, &[PathBuf::from(path)], &opts).unwrap()
}

#[test]
fn passing_suite_passes() {
    let r = run("tests/fixtures/passthrough", None);
    assert_eq!(summary(&r), "4 passed, 0 failed", "{}", human(&r));
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn discovery_finds_tests_folders_and_test_files() {
    let files = discover(&[PathBuf::from("tests/fixtures")]).unwrap();
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(
        names,
        vec![
            "tests/fixtures/broken/broken.test.yaml".to_string(),
            "tests/fixtures/passthrough/tests/passthrough.yaml".to_string(),
        ]
    );
    assert!(discover(&[PathBuf::from("tests/nope")]).is_err());
}

#[test]
fn filter_selects_cases_by_suite_and_name() {
    let r = run("tests/fixtures", Some("passthrough/steps"));
    assert_eq!(r.cases.len(), 1);
    assert_eq!(r.cases[0].case, "steps on the virtual clock");
    let none = run("tests/fixtures", Some("no such case"));
    assert_eq!(none.exit_code(), 1, "nothing ran: not a success");
}

#[test]
fn results_are_the_same_in_any_thread_count() {
    let opts1 = RunOptions {
        threads: Some(1),
        ..Default::default()
    };
    let a = run_paths(&FakeEngine, &[PathBuf::from("tests/fixtures")], &opts1).unwrap();
    let b = run("tests/fixtures", None);
    assert_eq!(human(&a), human(&b));
}

#[test]
fn broken_suite_reports_request_expected_actual_and_trace() {
    let r = run("tests/fixtures/broken", None);
    assert_eq!(summary(&r), "1 passed, 1 failed");
    assert_eq!(r.exit_code(), 1);
    insta::assert_snapshot!("broken_human", human(&r));
    insta::assert_snapshot!("broken_junit", junit(&r));
}

#[test]
fn a_suite_that_does_not_parse_is_an_error_with_its_position() {
    let dir = std::env::temp_dir().join(format!("apim-emu-testkit-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.test.yaml");
    std::fs::write(
        &f,
        "policy: p.xml\ncases:\n  - name: a\n    reqest: {path: /x}\n",
    )
    .unwrap();
    let r = run_paths(
        &FakeEngine,
        std::slice::from_ref(&f),
        &RunOptions::default(),
    )
    .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let CaseOutcome::Error(e) = &r.cases[0].outcome else {
        panic!("{:?}", r.cases)
    };
    assert!(e.contains("bad.test.yaml:4:5"), "{e}");
    assert_eq!(r.exit_code(), 1);
}
