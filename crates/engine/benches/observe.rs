//! What llm-token-limit plus llm-emit-token-metric add to a request, in-process: the same plan
//! run with and without the two policies against an in-process mock backend answering a chat
//! completion with usage. Target: at most 10 µs added per request (median).
//!
//! Criterion measures both plans; a paired run then prints the median added time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apim_engine::http::{Body, Request, Url};
use apim_engine::plan::{self, Plan};
use apim_engine::service::{Api, Operation, PolicySource, ServiceDefinition, Subscription};
use apim_engine::services::{
    MetricRecord, MetricSink, MockMatch, MockReply, Services, TestHandles, VirtualClock,
};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "support/thread_cpu.rs"]
mod thread_cpu;
use thread_cpu::thread_cpu_ns;

const BASE: &str = r#"<policies>
  <inbound><base /></inbound>
  <backend><forward-request /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"#;

const WITH_POLICIES: &str = r#"<policies>
  <inbound>
    <base />
    <llm-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute="1000000000"
        estimate-prompt-tokens="false" remaining-tokens-header-name="x-remaining-tokens"
        tokens-consumed-header-name="x-consumed-tokens" />
    <llm-emit-token-metric namespace="usage">
      <dimension name="API ID" />
      <dimension name="Subscription ID" />
      <dimension name="Client IP" value="@(context.Request.IpAddress)" />
    </llm-emit-token-metric>
  </inbound>
  <backend><forward-request /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"#;

/// Parts of WITH_POLICIES alone, to see where the time goes.
const LIMIT_ONLY: &str = r#"<policies>
  <inbound>
    <base />
    <llm-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute="1000000000"
        estimate-prompt-tokens="false" remaining-tokens-header-name="x-remaining-tokens"
        tokens-consumed-header-name="x-consumed-tokens" />
  </inbound>
  <backend><forward-request /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"#;

const METRIC_ONLY: &str = r#"<policies>
  <inbound>
    <base />
    <llm-emit-token-metric namespace="usage">
      <dimension name="API ID" />
      <dimension name="Subscription ID" />
      <dimension name="Client IP" value="@(context.Request.IpAddress)" />
    </llm-emit-token-metric>
  </inbound>
  <backend><forward-request /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"#;

const COMPLETION: &str = r#"{"id":"chatcmpl-9","object":"chat.completion","created":1700000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"The budget summary is attached."},"finish_reason":"stop"}],"usage":{"prompt_tokens":42,"completion_tokens":13,"total_tokens":55}}"#;

/// Adds the values up: a host keeps aggregates, not every record.
#[derive(Debug, Default)]
struct SummingSink(AtomicU64);

impl MetricSink for SummingSink {
    fn record(&self, m: MetricRecord) {
        self.0.fetch_add(m.value as u64, Ordering::Relaxed);
    }
}

fn service(policy: &str) -> ServiceDefinition {
    ServiceDefinition {
        service_name: "bench".into(),
        region: "West Europe".into(),
        apis: vec![Api {
            id: "openai".into(),
            path: "openai".into(),
            service_url: Some("https://aoai.example.com/openai".into()),
            subscription_required: true,
            policy: Some(PolicySource::inline("api:openai", policy)),
            operations: vec![Operation {
                id: "chat".into(),
                method: "POST".into(),
                url_template: "/deployments/{deployment-id}/chat/completions".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        subscriptions: (0..64)
            .map(|i| Subscription {
                id: format!("s{i}"),
                primary_key: format!("key-{i}"),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

struct Setup {
    plan: Plan,
    services: Services,
    handles: TestHandles,
    rt: tokio::runtime::Runtime,
    url: Url,
    n: usize,
}

impl Setup {
    fn new(policy: &str) -> Setup {
        let (mut services, handles) = Services::for_tests(VirtualClock::at_default_start(), 1);
        services.metrics = Arc::new(SummingSink::default());
        handles
            .http
            .always(MockMatch::default(), MockReply::json(200, COMPLETION));
        let plan =
            plan::compile(&service(policy), &services).unwrap_or_else(|d| panic!("{}", d[0]));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let url = Url::parse("https://gw.local/openai/deployments/gpt-4o/chat/completions")
            .unwrap_or_else(|e| panic!("{e}"));
        Setup {
            plan,
            services,
            handles,
            rt,
            url,
            n: 0,
        }
    }

    fn one(&mut self) -> u16 {
        self.n = self.n.wrapping_add(1);
        // The mock keeps every call; forget them so memory stays flat.
        if self.n % 1024 == 0 {
            self.handles.http.clear_calls();
        }
        // 1 ms of virtual time per request over 64 subscriptions.
        self.handles.clock.advance(Duration::from_millis(1));
        let mut req = Request::new("POST", self.url.clone());
        let _ = req
            .headers
            .set_one("Ocp-Apim-Subscription-Key", format!("key-{}", self.n % 64));
        let _ = req.headers.set_one("Content-Type", "application/json");
        req.body = Body::from("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        let o = self.rt.block_on(self.handles.clock.run(plan::run(
            &self.plan,
            req,
            &self.services,
        )));
        o.response.status
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench(c: &mut Criterion) {
    let mut base = Setup::new(BASE);
    let mut with = Setup::new(WITH_POLICIES);
    assert_eq!(base.one(), 200);
    assert_eq!(with.one(), 200);
    c.bench_function("request without token policies (mock backend)", |b| {
        b.iter(|| base.one())
    });
    c.bench_function(
        "request with llm-token-limit + llm-emit-token-metric (mock backend)",
        |b| b.iter(|| with.one()),
    );
    // Paired batches, alternating, so load changes hit every plan alike.
    let mut limit = Setup::new(LIMIT_ONLY);
    let mut metric = Setup::new(METRIC_ONLY);
    let batch = 500;
    let mut wall: [Vec<f64>; 4] = Default::default();
    let mut cpu: [Vec<f64>; 4] = Default::default();
    for _ in 0..40 {
        for ((setup, w), c) in [&mut base, &mut with, &mut limit, &mut metric]
            .into_iter()
            .zip(wall.iter_mut())
            .zip(cpu.iter_mut())
        {
            let (t, c0) = (Instant::now(), thread_cpu_ns());
            for _ in 0..batch {
                std::hint::black_box(setup.one());
            }
            w.push(t.elapsed().as_secs_f64() * 1e6 / f64::from(batch));
            if let (Some(c0), Some(c1)) = (c0, thread_cpu_ns()) {
                c.push(c1.saturating_sub(c0) as f64 / 1e3 / f64::from(batch));
            }
        }
    }
    for (what, times) in [("wall", wall), ("thread CPU", cpu)] {
        if times.iter().any(|t| t.is_empty()) {
            continue;
        }
        let [a, b, l, m] = times.map(median);
        println!(
            "llm-token-limit + llm-emit-token-metric ({what} time, medians of 40 batches of {batch}): without {a:.2} µs, with {b:.2} µs per request; added {:.2} µs (target ≤ 10 µs); llm-token-limit alone adds {:.2} µs, llm-emit-token-metric alone {:.2} µs",
            b - a,
            l - a,
            m - a
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
