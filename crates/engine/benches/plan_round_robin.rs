//! Issue 4's bar: the engine's own time for one request through a compiled `Plan`, against the
//! in-process `MockHttp` backend, on the virtual clock. Two documents:
//! - examples/round-robin's policy (cache counter + choose + set-backend-service) with its
//!   backend section wrapped in `retry` on 429 (the aoai-apim round-robin + retry shape);
//! - a round-robin pool named by set-backend-service, with the same retry, where every other
//!   backend call answers 429 (so half the requests make two calls).
//!
//! Target: median ≤ 20 µs per request for the first (docs/performance.md).

use apim_engine::http::{Body, Request, Url};
use apim_engine::plan::{self, Plan};
use apim_engine::service::{
    Api, Backend, BackendPool, BackendType, Operation, PolicySource, PoolMember, ServiceDefinition,
    Subscription, SubscriptionKeyParameterNames,
};
use apim_engine::services::{MockMatch, MockReply, Services, TestHandles, VirtualClock};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "support/thread_cpu.rs"]
mod thread_cpu;
use thread_cpu::thread_cpu_ns;

/// Counts heap allocations (malloc/free are a tenth of the gateway's time under load, so the
/// count per request is a figure of its own). Per thread, without atomics: counting must not
/// cost what it measures.
struct Counting;

thread_local! {
    static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn count_allocation() {
    // Threads being torn down no longer count.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

fn allocations() -> u64 {
    ALLOCATIONS.with(std::cell::Cell::get)
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        count_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const RETRY: &str = r#"<backend>
        <retry condition="@(context.Response.StatusCode == 429)" count="1" interval="0" first-fast-retry="true">
            <forward-request buffer-request-body="true" />
        </retry>
    </backend>"#;

const POOL_POLICY: &str = r#"<policies>
    <inbound>
        <base />
        <set-backend-service backend-id="aoai-pool" />
    </inbound>
    <backend>
        <retry condition="@(context.Response.StatusCode == 429)" count="1" interval="0" first-fast-retry="true">
            <forward-request buffer-request-body="true" />
        </retry>
    </backend>
    <outbound><base /></outbound>
    <on-error><base /></on-error>
</policies>"#;

/// examples/round-robin/policy.xml with `retry` around the forward in the backend section.
fn round_robin_with_retry() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/round-robin/policy.xml"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let start = text
        .find("<backend>")
        .unwrap_or_else(|| panic!("no <backend>"));
    let end = text
        .find("</backend>")
        .unwrap_or_else(|| panic!("no </backend>"))
        + 10;
    format!("{}{RETRY}{}", &text[..start], &text[end..])
}

fn service(policy: &str) -> ServiceDefinition {
    let single = |id: &str| Backend {
        id: id.into(),
        url: Some(format!("https://{id}.openai.azure.com")),
        credentials: apim_engine::service::BackendCredentials {
            header: [("api-key".to_string(), vec![format!("{id}-key")])].into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let member = |id: &str| PoolMember {
        id: id.into(),
        ..Default::default()
    };
    ServiceDefinition {
        apis: vec![Api {
            id: "azure-openai".into(),
            path: "openai".into(),
            subscription_key_parameter_names: SubscriptionKeyParameterNames {
                header: "api-key".into(),
                query: "api-key".into(),
            },
            policy: Some(PolicySource::inline("api:azure-openai", policy)),
            operations: vec![Operation {
                id: "ChatCompletions_Create".into(),
                method: "POST".into(),
                url_template:
                    "/deployments/{deployment-id}/chat/completions?api-version={api-version}".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        subscriptions: vec![Subscription {
            id: "team-alpha".into(),
            primary_key: "demo-key-alpha".into(),
            ..Default::default()
        }],
        backends: vec![
            single("aoai-eastus"),
            single("aoai-westus"),
            Backend {
                id: "aoai-pool".into(),
                backend_type: BackendType::Pool,
                pool: Some(BackendPool {
                    services: vec![member("aoai-eastus"), member("aoai-westus")],
                }),
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

fn setup(policy: &str) -> (Plan, Services, TestHandles) {
    let (services, handles) = Services::for_tests(VirtualClock::at_default_start(), 1);
    let plan = plan::compile(&service(policy), &services).unwrap_or_else(|d| {
        panic!(
            "{}",
            d.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    (plan, services, handles)
}

fn request(url: &Url) -> Request {
    let mut req = Request::new("POST", url.clone());
    let _ = req.headers.set_one("api-key", "demo-key-alpha");
    let _ = req.headers.set_one("Content-Type", "application/json");
    req.body = Body::from("{\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}");
    req
}

/// Prints the CPU time and heap allocations per call of `f`: the median of 7 batches of `n`
/// calls after one batch of warm-up (other builds on the machine disturb single batches).
fn report_cpu(name: &str, n: u32, mut f: impl FnMut()) {
    let mut per_call = Vec::new();
    let mut allocs = 0;
    for batch in 0..8 {
        let Some(start) = thread_cpu_ns() else { return };
        let a = allocations();
        for _ in 0..n {
            f();
        }
        allocs = allocations() - a;
        let Some(end) = thread_cpu_ns() else { return };
        if batch > 0 {
            per_call.push((end - start) as f64 / f64::from(n) / 1000.0);
        }
    }
    per_call.sort_by(f64::total_cmp);
    println!(
        "{name}: {:.2} µs CPU time (median of 7 batches; {:.2}-{:.2}), {:.1} heap allocations per request ({n} requests a batch)",
        per_call[per_call.len() / 2],
        per_call[0],
        per_call[per_call.len() - 1],
        f64::from(u32::try_from(allocs).unwrap_or(u32::MAX)) / f64::from(n)
    );
}

const COMPLETION: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"#;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let url = Url::parse(
        "https://apim-emu.local/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21",
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let (plan, services, handles) = setup(&round_robin_with_retry());
    handles
        .http
        .always(MockMatch::default(), MockReply::json(200, COMPLETION));
    // Strict alternation, so the benchmark measures the policy it claims to.
    let hosts: Vec<String> = (0..4)
        .map(|_| {
            rt.block_on(
                handles
                    .clock
                    .run(plan::run(&plan, request(&url), &services)),
            );
            let calls = handles.http.calls();
            let host = calls.last().map(|c| c.url.host().to_string());
            host.unwrap_or_default()
        })
        .collect();
    assert_eq!(
        hosts,
        [
            "aoai-eastus.openai.azure.com",
            "aoai-westus.openai.azure.com",
            "aoai-eastus.openai.azure.com",
            "aoai-westus.openai.azure.com"
        ]
    );
    measure(
        c,
        &rt,
        (&plan, &services, &handles, &url),
        "examples/round-robin policy + retry",
        "plan: examples/round-robin policy + retry on 429, one request (MockHttp)",
    );

    let (plan, services, handles) = setup(POOL_POLICY);
    handles.http.sequence(
        MockMatch::default(),
        vec![MockReply::json(429, "{}").header("Retry-After", "1")],
    );
    handles
        .http
        .always(MockMatch::default(), MockReply::json(200, COMPLETION));
    let o = rt.block_on(
        handles
            .clock
            .run(plan::run(&plan, request(&url), &services)),
    );
    assert_eq!((o.response.status, handles.http.call_count()), (200, 2));
    measure(
        c,
        &rt,
        (&plan, &services, &handles, &url),
        "pool round-robin + retry",
        "plan: pool round-robin + retry on 429, one request (MockHttp, no 429)",
    );
}

/// Thread CPU time per request, then criterion's figures, for one plan.
fn measure(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    (plan, services, handles, url): (&Plan, &Services, &TestHandles, &Url),
    cpu_name: &str,
    bench_name: &str,
) {
    let once = || {
        let o = rt.block_on(handles.clock.run(plan::run(plan, request(url), services)));
        handles.http.clear_calls();
        o.response.status
    };
    report_cpu(cpu_name, 10_000, || {
        once();
    });
    c.bench_function(bench_name, |b| b.iter(once));
}

criterion_group!(benches, bench);
criterion_main!(benches);
