//! Host overhead: one keep-alive HTTP/1.1 request over loopback to a handler that answers at
//! once (no policies), client and server in one process. What the host adds per request.

use std::net::SocketAddr;
use std::sync::Arc;

use apim_engine::http::{Body, Request, Response};
use apim_gateway::host::{GatewayHost, HandledResponse, HostConfig, RequestHandler, RequestInfo};
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::future::BoxFuture;

struct Ok200;

impl RequestHandler for Ok200 {
    fn handle(&self, _request: Request, _info: RequestInfo) -> BoxFuture<'_, HandledResponse> {
        Box::pin(async {
            let mut r = Response::new(200);
            r.body = Body::from("ok");
            HandledResponse::new(r)
        })
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (url, client) = rt.block_on(async {
        let host = GatewayHost::bind(
            HostConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                ..HostConfig::default()
            },
            Arc::new(Ok200),
        )
        .await
        .expect("bind");
        let url = format!("http://{}/bench", host.local_addr());
        tokio::spawn(host.serve(std::future::pending()));
        (
            url,
            reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
        )
    });
    c.bench_function("host: GET round trip over loopback (keep-alive)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let r = client.get(&url).send().await.expect("send");
                assert_eq!(r.status(), 200);
                r.bytes().await.expect("body")
            })
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
