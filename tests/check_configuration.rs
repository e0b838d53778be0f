//! `apim-emu check` on a gateway configuration (an apim-emu.yaml folder, an APIOps folder): the
//! configuration is loaded as `serve` loads it, and what stops it is reported (APIM0021).

use std::path::Path;
use std::process::{Command, Output};

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apim-emu"))
        .arg("check")
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .output()
        .expect("run apim-emu check")
}

#[test]
fn an_unknown_logger_is_an_error_at_its_place_in_the_policy() {
    let out = check(&["fixtures/config/errors/unknown-logger"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    insta::assert_snapshot!(stdout);
}

#[test]
fn json_output_carries_the_configuration_diagnostics() {
    let out = check(&["--format", "json", "fixtures/apiops-errors/unknown-logger"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let diagnostics: Vec<&serde_json::Value> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["diagnostics"].as_array().unwrap())
        .collect();
    assert!(
        diagnostics
            .iter()
            .any(|d| d["code"] == "APIM0021" && d["line"].as_u64() > Some(0)),
        "{doc:#}"
    );
}

#[test]
fn secrets_missing_from_the_environment_do_not_fail_check() {
    // `serve` refuses this configuration until the variables are set; `check` needs none.
    let out = check(&["fixtures/config/errors/missing-secrets"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("APIM0021"), "{stdout}");
}

#[test]
fn every_example_configuration_loads() {
    let out = check(&["examples"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for entry in std::fs::read_dir("examples").unwrap().flatten() {
        if entry.path().join("apim-emu.yaml").is_file() {
            let one = check(&[entry.path().to_str().unwrap()]);
            assert_eq!(
                one.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&one.stdout)
            );
        }
    }
}
