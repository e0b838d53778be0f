//! Suites with `config:` load the example configurations, and mocks keyed by backend id reach
//! those backends' hosts.

use std::path::PathBuf;

use apim_gateway::config::LoadOptions;
use apim_testkit::format::parse_suite;
use apim_testkit::runner::{load_suite_service, mock_host};

#[test]
fn config_suite_loads_the_round_robin_example_and_maps_backend_ids() {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/round-robin"
    ));
    let file = parse_suite(
        &dir.join("round-robin.test.yaml"),
        "config: .\ncases:\n  - name: a\n    request: {path: /openai/x}\n".into(),
    )
    .unwrap();
    let service = load_suite_service(&file, &LoadOptions::default()).unwrap();
    assert!(service.apis.iter().any(|a| a.path == "openai"));
    let east = mock_host(&service, "aoai-eastus").unwrap();
    let west = mock_host(&service, "aoai-westus").unwrap();
    assert_ne!(east, west);
    assert_eq!(
        mock_host(&service, "api.example.com").unwrap(),
        "api.example.com"
    );
}

#[test]
fn a_config_that_does_not_load_is_reported_with_its_position() {
    let dir = std::env::temp_dir().join(format!("apim-emu-testkit-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("apim-emu.yaml"), "apis:\n  a:\n    pth: x\n").unwrap();
    let file = parse_suite(
        &dir.join("t.test.yaml"),
        "config: .\ncases:\n  - name: a\n    request: {path: /x}\n".into(),
    )
    .unwrap();
    let e = load_suite_service(&file, &LoadOptions::default()).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(e.contains("apim-emu.yaml:3:5"), "{e}");
}

/// Every `examples/<name>/tests` folder: found here without a list, so a suite added to any
/// example runs in `cargo test`.
fn example_suite_folders() -> Vec<PathBuf> {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples"));
    let mut out: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .flatten()
        .map(|e| e.path().join("tests"))
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

#[test]
fn every_example_suite_passes_on_the_real_engine() {
    let folders = example_suite_folders();
    // The scenarios whose suites live in this repository's examples (others add theirs).
    for name in [
        "circuit-breaker-pool",
        "latency-routing",
        "per-model-retry",
        "priority-payg-spillover",
        "round-robin",
        "token-limit",
        "weighted-round-robin",
    ] {
        assert!(
            folders
                .iter()
                .any(|f| f.parent().is_some_and(|p| p.ends_with(name))),
            "examples/{name}/tests is missing"
        );
    }
    let options = apim_testkit::RunOptions {
        threads: Some(2),
        ..Default::default()
    };
    let report = apim_testkit::run_paths(&apim_testkit::PlanEngine, &folders, &options)
        .unwrap_or_else(|e| panic!("{e}"));
    let text = apim_testkit::report::human(&report);
    assert_eq!(report.exit_code(), 0, "{text}");
    // Each suite ran: a folder without a single case would be a silent gap.
    for f in &folders {
        assert!(
            report.cases.iter().any(|c| c.file.starts_with(f)),
            "no case ran from {}",
            f.display()
        );
    }
}
