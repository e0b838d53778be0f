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
