//! Runner overhead for 1,000 cases (the passthrough fixture's 3 cases repeated, including
//! virtual-clock latency and timeouts) on 2 threads, against the FakeEngine test double: what the
//! testkit adds on top of the engine's own per-request time.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;

use apim_testkit::format::read_suite;
use apim_testkit::runner::{RunOptions, run_suites};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut file =
        read_suite(&dir.join("tests/fixtures/passthrough/tests/passthrough.yaml")).unwrap();
    let base = file.suite.cases.clone();
    file.suite.cases = (0..1000).map(|i| base[i % base.len()].clone()).collect();
    file.case_lines = vec![0; 1000];
    let opts = RunOptions {
        threads: Some(2),
        ..Default::default()
    };
    let files = [file];
    let r = run_suites(&common::FakeEngine, &files, &opts);
    assert_eq!(r.passed(), 1000);
    c.bench_function("run 1000 cases (fake engine, 2 threads)", |b| {
        b.iter(|| run_suites(&common::FakeEngine, &files, &opts))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
