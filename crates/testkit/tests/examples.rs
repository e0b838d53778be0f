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
