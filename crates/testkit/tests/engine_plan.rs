//! The real engine behind the runner: an inline suite (one policy with settings) through
//! `PlanEngine`.

use std::path::PathBuf;

use apim_testkit::PlanEngine;
use apim_testkit::report::{human, summary};
use apim_testkit::runner::{RunOptions, TempDir, run_paths};

const POLICY: &str = r#"<policies>
    <inbound>
        <base />
        <set-variable name="attempt" value="@(1)" />
        <set-header name="x-route" exists-action="override"><value>orders</value></set-header>
    </inbound>
    <backend><base /></backend>
    <outbound><base /></outbound>
    <on-error><base /></on-error>
</policies>
"#;

const SUITE: &str = r#"
name: inline
policy: policy.xml
settings:
  api: {path: shop, serviceUrl: "https://orders.example.com/api"}
cases:
  - name: forwarded with the header
    mocks:
      orders.example.com: {rules: [{respond: {status: 200, json: {ok: true}}}]}
    request: {method: GET, path: /shop/orders/7}
    expect:
      status: 200
      body: {jsonPath: {$.ok: true}}
      variables: {attempt: 1}
      policies: [forward-request]
      backendCalls:
        calls:
          - {backend: orders.example.com, url: "https://orders.example.com/api/orders/7", headers: {x-route: orders}}
  - name: deliberately wrong status
    mocks:
      orders.example.com: {rules: [{respond: {status: 200, json: {ok: true}}}]}
    request: {method: GET, path: /shop/orders/8}
    expect:
      status: 201
"#;

fn suite_dir() -> TempDir {
    let dir = TempDir::new("engine-plan").expect("temp dir");
    std::fs::write(dir.path().join("policy.xml"), POLICY).expect("write policy");
    std::fs::write(dir.path().join("inline.test.yaml"), SUITE).expect("write suite");
    dir
}

#[test]
fn real_engine_passes_and_fails_with_a_full_report() {
    let dir = suite_dir();
    let opts = RunOptions {
        threads: Some(2),
        ..Default::default()
    };
    let report = run_paths(&PlanEngine, &[PathBuf::from(dir.path())], &opts).expect("runs");
    let text = human(&report);
    assert_eq!(summary(&report), "1 passed, 1 failed", "{text}");
    assert_eq!(report.exit_code(), 1);
    let failure = text
        .split_once("deliberately wrong status")
        .and_then(|(_, rest)| rest.split_once("deliberately wrong status"))
        .map(|(_, rest)| rest)
        .unwrap_or(&text);
    // The failure names the request, the expected and actual status, and the trace.
    assert!(
        failure.contains("GET") && failure.contains("/shop/orders/8"),
        "{text}"
    );
    assert!(failure.contains("201") && failure.contains("200"), "{text}");
    assert!(failure.contains("forward-request"), "trace missing: {text}");
    // The whole report, as a user reads it (the temporary folder's name replaced).
    let stable = text.replace(&dir.path().display().to_string(), "[suite]");
    insta::assert_snapshot!("broken_status_report", stable);
}

#[test]
fn an_unsupported_policy_is_reported_not_ignored() {
    let dir = TempDir::new("engine-plan-unsupported").expect("temp dir");
    std::fs::write(
        dir.path().join("policy.xml"),
        "<policies><inbound><base /><no-such-policy /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>",
    )
    .expect("write policy");
    std::fs::write(
        dir.path().join("u.test.yaml"),
        "policy: policy.xml\nsettings:\n  api: {path: shop, serviceUrl: \"https://orders.example.com\"}\ncases:\n  - name: c\n    request: {path: /shop/x}\n    expect: {status: 200}\n",
    )
    .expect("write suite");
    let report = run_paths(
        &PlanEngine,
        &[PathBuf::from(dir.path())],
        &RunOptions::default(),
    )
    .expect("runs");
    assert_eq!(report.exit_code(), 1);
    assert!(
        human(&report).contains("no-such-policy"),
        "{}",
        human(&report)
    );
}
