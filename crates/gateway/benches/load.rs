//! Configuration load time (what `--watch` pays on every change): the APIOps fixture and the
//! apim-emu.yaml fixture that uses every field.

use std::path::Path;

use apim_gateway::config::{Environment, LoadOptions, load};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let apiops = LoadOptions {
        env: None,
        environment: Environment::Map(
            [
                ("APIM_NV_AOAI_EASTUS_KEY", "e"),
                ("APIM_NV_AOAI_WESTUS_KEY", "w"),
                ("APIM_SUB_TEAM_ALPHA_PRIMARY_KEY", "k"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ),
    };
    let file = LoadOptions {
        env: None,
        environment: Environment::Map([("AOAI_KEY".to_string(), "k".to_string())].into()),
    };
    let apiops_dir = root.join("apiops");
    let file_dir = root.join("config/full");
    // Fail loudly rather than time an error path.
    if let Err(e) = load(&apiops_dir, &apiops) {
        panic!("{}", e.render());
    }
    if let Err(e) = load(&file_dir, &file) {
        panic!("{}", e.render());
    }
    c.bench_function("load fixtures/apiops", |b| {
        b.iter(|| load(&apiops_dir, &apiops))
    });
    c.bench_function("load fixtures/config/full", |b| {
        b.iter(|| load(&file_dir, &file))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
