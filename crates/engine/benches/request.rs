//! The engine's own time for the parts of a request that exist without policies: admission
//! (API/operation matching, subscription check) plus one pool-selected forward-request against
//! an in-process mock backend.

use std::time::Duration;

use apim_engine::admission::admit;
use apim_engine::backend_call::{ForwardOptions, forward_request};
use apim_engine::backends::BackendRegistry;
use apim_engine::context::RequestContext;
use apim_engine::errors::{PolicyLocation, Scope, Section};
use apim_engine::http::{Body, Request, Url};
use apim_engine::service::{
    Api, Backend, BackendPool, BackendType, Operation, PoolMember, ServiceDefinition, Subscription,
    SubscriptionKeyParameterNames,
};
use apim_engine::services::{MockMatch, MockReply, Services, VirtualClock};
use criterion::{Criterion, criterion_group, criterion_main};

fn service() -> ServiceDefinition {
    let single = |id: &str| Backend {
        id: id.into(),
        url: Some(format!("https://{id}.openai.azure.com/openai")),
        ..Default::default()
    };
    ServiceDefinition {
        apis: vec![Api {
            id: "aoai".into(),
            path: "openai".into(),
            service_url: Some("https://east.openai.azure.com/openai".into()),
            subscription_key_parameter_names: SubscriptionKeyParameterNames {
                header: "api-key".into(),
                query: "api-key".into(),
            },
            operations: vec![
                Operation {
                    id: "chat".into(),
                    method: "POST".into(),
                    url_template:
                        "/deployments/{deployment-id}/chat/completions?api-version={api-version}"
                            .into(),
                    ..Default::default()
                },
                Operation {
                    id: "embeddings".into(),
                    method: "POST".into(),
                    url_template:
                        "/deployments/{deployment-id}/embeddings?api-version={api-version}".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        subscriptions: vec![Subscription {
            id: "s".into(),
            primary_key: "key-1".into(),
            ..Default::default()
        }],
        backends: vec![
            single("east"),
            single("west"),
            Backend {
                id: "pool".into(),
                backend_type: BackendType::Pool,
                pool: Some(BackendPool {
                    services: vec![
                        PoolMember {
                            id: "east".into(),
                            ..Default::default()
                        },
                        PoolMember {
                            id: "west".into(),
                            ..Default::default()
                        },
                    ],
                }),
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let s = service();
    let (services, handles) = Services::for_tests(VirtualClock::at_default_start(), 1);
    handles.http.always(
        MockMatch::default(),
        MockReply::json(200, "{\"choices\":[]}"),
    );
    let reg = BackendRegistry::new(&s, services.clock.clone()).unwrap_or_else(|e| panic!("{e}"));
    let router = apim_engine::matching::Router::new(&s);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let loc = PolicyLocation {
        policy: "forward-request".into(),
        scope: Scope::Global,
        section: Section::Backend,
        path: String::new(),
        policy_id: None,
    };
    let opts = ForwardOptions {
        buffer_request_body: true,
        ..Default::default()
    };
    let url = Url::parse(
        "https://gw.local/openai/deployments/gpt-4o/chat/completions?api-version=2024-02-01",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("admission + pool forward-request (mock backend)", |b| {
        b.iter(|| {
            let mut req = Request::new("POST", url.clone());
            let _ = req.headers.set_one("api-key", "key-1");
            let _ = req.headers.set_one("Content-Type", "application/json");
            req.body = Body::from("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
            let adm = admit(&s, &router, Some(&reg), req, &services)
                .unwrap_or_else(|_| panic!("rejected"));
            let mut ctx: RequestContext<'_, ()> =
                RequestContext::new(&s, adm, Duration::ZERO, false);
            ctx.backend_id = Some("pool".into());
            rt.block_on(forward_request(
                &mut ctx,
                &services,
                Some(&reg),
                &opts,
                &loc,
            ))
            .unwrap_or_else(|_| panic!("failed"));
            handles.http.clear_calls();
            ctx.response.status
        })
    });
}

fn bench_admission(c: &mut Criterion) {
    let s = service();
    let (services, _handles) = Services::for_tests(VirtualClock::at_default_start(), 1);
    let reg = BackendRegistry::new(&s, services.clock.clone()).unwrap_or_else(|e| panic!("{e}"));
    let router = apim_engine::matching::Router::new(&s);
    let url = Url::parse(
        "https://gw.local/openai/deployments/gpt-4o/chat/completions?api-version=2024-02-01",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("admission only (match + key check + backend URL)", |b| {
        b.iter(|| {
            let mut req = Request::new("POST", url.clone());
            let _ = req.headers.set_one("api-key", "key-1");
            let adm = admit(&s, &router, Some(&reg), req, &services)
                .unwrap_or_else(|_| panic!("rejected"));
            adm.request.url.port()
        })
    });
}

criterion_group!(benches, bench_admission, bench);
criterion_main!(benches);
