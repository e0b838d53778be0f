//! Reading every document of ../shared/corpus (seed and dev). Target: ≤ 50 ms in total.

use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};

fn corpus() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ));
    let mut files = Vec::new();
    for sub in ["seed", "dev"] {
        collect(&root.join(sub), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "xml") {
            out.push(p);
        }
    }
}

fn bench(c: &mut Criterion) {
    let docs = corpus();
    if docs.is_empty() {
        println!("corpus not found next to the workspace (../shared/corpus): nothing to measure");
        return;
    }
    let bytes: usize = docs.iter().map(|d| d.1.len()).sum();
    let start = std::time::Instant::now();
    let runs = 20;
    for _ in 0..runs {
        for (p, b) in &docs {
            std::hint::black_box(apim_policy::read(b, p));
        }
    }
    let per = start.elapsed() / runs;
    println!(
        "read_corpus: {} documents, {} KiB, {:.2} ms per pass over the whole corpus (target ≤ 50 ms)",
        docs.len(),
        bytes / 1024,
        per.as_secs_f64() * 1000.0
    );
    c.bench_function("read_corpus", |b| {
        b.iter(|| {
            for (p, bytes) in &docs {
                std::hint::black_box(apim_policy::read(bytes, p));
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
