//! Expression speed: the figures in docs/performance.md.
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

#[path = "../tests/corpus_support.rs"]
mod corpus_support;

/// CPU time of the calling thread (ns), from /proc/thread-self/schedstat: on a machine
/// shared with parallel builds the wall time per iteration overstates the cost.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn report_cpu(name: &str, n: u32, mut f: impl FnMut()) {
    let Some(start) = thread_cpu_ns() else { return };
    for _ in 0..n {
        f();
    }
    if let Some(end) = thread_cpu_ns() {
        println!(
            "{name}: {:.0} ns CPU time per iteration ({n} iterations)",
            (end - start) as f64 / n as f64
        );
    }
}

fn url_id(c: &mut Criterion) {
    let program =
        apim_csharp::compile("@(context.Variables.GetValueOrDefault<int>(\"urlId\") % 3 + 1)")
            .expect("compiles");
    let ctx_json = json!({"variables": {"urlId": 5}});
    let ctx = apim_csharp::json_context::context(&ctx_json).expect("context");
    let env = apim_csharp::json_context::environment(&ctx_json);
    c.bench_function("eval urlId % 3 + 1", |b| {
        b.iter(|| program.evaluate(&ctx, &env).expect("value"))
    });
    report_cpu("eval urlId % 3 + 1", 1_000_000, || {
        criterion::black_box(program.evaluate(&ctx, &env).expect("value"));
    });
}

fn backend_selection(c: &mut Criterion) {
    let Some(dir) = corpus_support::corpus_dir() else {
        return;
    };
    let text =
        std::fs::read_to_string(dir.join("seed/ai-gateway-2024-08/advanced-load-balancing.xml"))
            .expect("corpus file");
    let Some(block) = corpus_support::scan(&text)
        .into_iter()
        .find(|e| e.contains("selectedPriority"))
    else {
        println!("skipping: backend-selection block not found");
        return;
    };
    let program = apim_csharp::compile(&block).expect("compiles");
    let ctx_json = json!({"variables": {"listBackends": [
        {"name": "b1", "priority": 1, "isThrottling": true, "retryAfter": "2024-05-01T12:01:00Z"},
        {"name": "b2", "priority": 1, "isThrottling": false, "retryAfter": "0001-01-01T00:00:00"},
        {"name": "b3", "priority": 2, "isThrottling": false, "retryAfter": "0001-01-01T00:00:00"},
        {"name": "b4", "priority": 1, "isThrottling": false, "retryAfter": "0001-01-01T00:00:00"}
    ]}});
    let ctx = apim_csharp::json_context::context(&ctx_json).expect("context");
    let env = apim_csharp::json_context::environment(&ctx_json);
    c.bench_function("eval advanced-load-balancing backend selection", |b| {
        b.iter(|| program.evaluate(&ctx, &env).expect("value"))
    });
    report_cpu("eval advanced-load-balancing backend selection", 50_000, || {
        criterion::black_box(program.evaluate(&ctx, &env).expect("value"));
    });
}

fn corpus_compile(c: &mut Criterion) {
    let Some(exprs) = corpus_support::corpus_expressions() else {
        return;
    };
    let mut unique: Vec<String> = exprs.into_iter().map(|(_, e)| e).collect();
    unique.sort();
    unique.dedup();
    let mut group = c.benchmark_group("corpus");
    group.sample_size(10);
    group.bench_function(
        format!("parse and check all {} corpus expressions", unique.len()),
        |b| {
            b.iter(|| {
                unique
                    .iter()
                    .filter(|e| apim_csharp::compile(e).is_ok())
                    .count()
            })
        },
    );
    group.finish();
    report_cpu("parse and check all corpus expressions", 5, || {
        criterion::black_box(
            unique
                .iter()
                .filter(|e| apim_csharp::compile(e).is_ok())
                .count(),
        );
    });
}

criterion_group!(benches, url_id, backend_selection, corpus_compile);
criterion_main!(benches);
