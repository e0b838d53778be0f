//! `type: simulator` backends in suites, and absence expectations, on the real engine.

use std::path::PathBuf;

use apim_testkit::PlanEngine;
use apim_testkit::report::{human, junit, summary};
use apim_testkit::runner::{CaseOutcome, RunOptions, run_paths};

const FIXTURE: &str = "tests/fixtures/simulator";

fn run(file: &str) -> apim_testkit::Report {
    let opts = RunOptions {
        threads: Some(2),
        ..Default::default()
    };
    run_paths(&PlanEngine, &[PathBuf::from(FIXTURE).join(file)], &opts).expect("runs")
}

#[test]
fn unmocked_calls_reach_the_simulator_on_the_virtual_clock() {
    let r = run("suites/simulator.yaml");
    assert_eq!(summary(&r), "2 passed, 0 failed", "{}", human(&r));
}

#[test]
fn the_same_suite_gives_the_same_report_every_run() {
    let a = human(&run("suites/absent-violated.yaml"));
    let b = human(&run("suites/absent-violated.yaml"));
    assert_eq!(a, b);
}

#[test]
fn violated_absences_fail_and_say_what_happened_instead() {
    let r = run("suites/absent-violated.yaml");
    assert_eq!(summary(&r), "0 passed, 1 failed", "{}", human(&r));
    let CaseOutcome::Failed(steps) = &r.cases[0].outcome else {
        panic!("{}", human(&r));
    };
    let at: Vec<&str> = steps[0].mismatches.iter().map(|m| m.at.as_str()).collect();
    // `Cost` was not emitted: only the three violated patterns fail.
    assert_eq!(
        at,
        [
            "metric Prompt Tokens",
            "events to audit",
            "backend calls to aoai-sim"
        ]
    );
    insta::assert_snapshot!("absent_violated_human", human(&r));
    insta::assert_snapshot!("absent_violated_junit", junit(&r));
}

#[test]
fn a_lone_policy_reaches_a_simulator_given_in_its_settings() {
    let dir = apim_testkit::runner::TempDir::new("simulator-settings").expect("temp dir");
    std::fs::write(
        dir.path().join("policy.xml"),
        r#"<policies><inbound><base /><set-backend-service backend-id="sim" /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"#,
    )
    .expect("write policy");
    std::fs::write(
        dir.path().join("s.test.yaml"),
        r#"policy: policy.xml
settings:
  api: {path: openai}
  backends:
    sim: {type: simulator, credentials: {header: {api-key: k}}}
cases:
  - name: answered by the simulator's default deployments
    request:
      method: POST
      path: /openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21
      json: {messages: [{role: user, content: Hello}]}
    expect:
      status: 200
      body: {jsonPath: {$.model: gpt-4o-2024-08-06, $.usage.prompt_tokens: 8}}
      backendCalls: {calls: [{backend: sim}]}
"#,
    )
    .expect("write suite");
    let r = run_paths(
        &PlanEngine,
        &[PathBuf::from(dir.path())],
        &RunOptions::default(),
    )
    .expect("runs");
    assert_eq!(summary(&r), "1 passed, 0 failed", "{}", human(&r));
}
