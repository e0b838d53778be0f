//! Issue 8's bar: 1,000 test cases of the examples' suites (every `examples/*/tests` suite,
//! its cases repeated in turn) through the library runner and the real engine, on 2 threads.
//! The suites include minute-long token-limit and circuit-breaker windows on the virtual clock.
//! Prints the case count, the steps (requests) they make, and the time of one whole run.

use std::path::PathBuf;
use std::time::Instant;

use apim_testkit::PlanEngine;
use apim_testkit::format::{SuiteFile, read_suite};
use apim_testkit::runner::{RunOptions, discover, run_suites};
use criterion::{Criterion, criterion_group, criterion_main};

const CASES: usize = 1000;

/// The examples' suites, each suite's cases repeated so that all suites together hold at least
/// `CASES` cases in the same proportions as the originals.
fn suites() -> Vec<SuiteFile> {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples"));
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .flatten()
        .map(|e| e.path().join("tests"))
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    let files = discover(&folders).unwrap_or_else(|e| panic!("{e}"));
    let mut suites: Vec<SuiteFile> = files
        .iter()
        .map(|f| read_suite(f).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let total: usize = suites.iter().map(|s| s.suite.cases.len()).sum();
    let rounds = CASES.div_ceil(total.max(1));
    for s in &mut suites {
        let base = s.suite.cases.clone();
        let lines = s.case_lines.clone();
        s.suite.cases = (0..rounds).flat_map(|_| base.iter().cloned()).collect();
        s.case_lines = (0..rounds).flat_map(|_| lines.iter().copied()).collect();
    }
    suites
}

fn bench(c: &mut Criterion) {
    let files = suites();
    let opts = RunOptions {
        threads: Some(2),
        ..Default::default()
    };
    let t = Instant::now();
    let report = run_suites(&PlanEngine, &files, &opts);
    let first = t.elapsed();
    let cases = report.cases.len();
    let steps: usize = files
        .iter()
        .flat_map(|f| &f.suite.cases)
        .map(|c| c.steps.len().max(usize::from(c.request.is_some())))
        .sum();
    assert!(cases >= CASES, "only {cases} cases");
    assert_eq!(
        report.failed(),
        0,
        "{}",
        apim_testkit::report::human(&report)
    );
    println!(
        "examples' suites: {cases} cases ({steps} requests, {} suites) on 2 threads: first run {first:.2?}",
        files.len()
    );
    c.bench_function(
        "examples' suites, >=1000 cases, 2 threads (real engine)",
        |b| b.iter(|| run_suites(&PlanEngine, &files, &opts)),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
