mod common;

use std::path::{Path, PathBuf};

use apim_gateway::config::LoadOptions;
use apim_testkit::cli::{DiffFormat, diff_command, test_command};
use apim_testkit::diff::DiffOptions;
use common::FakeEngine;

#[test]
fn test_command_writes_junit_and_maps_exit_status() {
    let junit =
        std::env::temp_dir().join(format!("apim-emu-testkit-junit-{}.xml", std::process::id()));
    let out = test_command(
        &FakeEngine,
        &[PathBuf::from("tests/fixtures")],
        Some(&junit),
        None,
        LoadOptions::default(),
    );
    assert_eq!(out.exit_code, 1);
    assert!(
        out.stdout.ends_with("\n5 passed, 1 failed\n"),
        "{}",
        out.stdout
    );
    let x = std::fs::read_to_string(&junit).unwrap();
    std::fs::remove_file(&junit).unwrap();
    assert!(x.contains("tests=\"6\" failures=\"1\""), "{x}");

    let ok = test_command(
        &FakeEngine,
        &[PathBuf::from("tests/fixtures")],
        None,
        Some("passthrough/"),
        LoadOptions::default(),
    );
    assert_eq!(ok.exit_code, 0, "{}", ok.stdout);

    let none = test_command(
        &FakeEngine,
        &[PathBuf::from("tests/fixtures")],
        None,
        Some("zzz"),
        LoadOptions::default(),
    );
    assert_eq!(none.exit_code, 1);
    assert!(none.stderr.contains("no test cases found"));

    let missing = test_command(
        &FakeEngine,
        &[PathBuf::from("tests/missing")],
        None,
        None,
        LoadOptions::default(),
    );
    assert_eq!(missing.exit_code, 2);
    assert!(missing.stderr.contains("no such file or folder"));
}

#[test]
fn diff_command_formats() {
    let run = |f| {
        diff_command(
            &FakeEngine,
            "tests/fixtures/diff/old",
            "tests/fixtures/diff/new",
            Path::new("tests/fixtures/diff/requests.jsonl"),
            f,
            &DiffOptions::default(),
            Path::new("."),
        )
    };
    let h = run(DiffFormat::Human);
    assert_eq!(h.exit_code, 1);
    assert!(h.stdout.ends_with("2 requests, 2 differ\n"));
    let j = run(DiffFormat::Json);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(v["differences"].as_array().unwrap().len(), 2);
    let bad = diff_command(
        &FakeEngine,
        "tests/fixtures/diff/old",
        "tests/nope",
        Path::new("tests/fixtures/diff/requests.jsonl"),
        DiffFormat::Human,
        &DiffOptions::default(),
        Path::new("."),
    );
    assert_eq!(bad.exit_code, 2);
    assert!(bad.stderr.starts_with("error: "), "{}", bad.stderr);
}
