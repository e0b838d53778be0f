//! `Services`: everything a policy needs from outside the engine — time, randomness, HTTP,
//! stores and sinks — injectable so the gateway and the test runner share one engine.

mod clock;
mod event_sinks;
mod http_client;
mod mock;
mod moka_store;
mod redis_store;
mod rng;
mod store;
mod tokens;

use std::sync::Arc;

pub use clock::{Clock, VirtualClock, WallClock};
pub use event_sinks::{EventRouter, JsonLinesFileSink, StdoutEventSink, event_json_line};
pub use http_client::{
    BackendRequest, HttpClient, HttpError, HttpVersion, ReqwestClient, SharedHttp, TlsOptions,
    send_with_timeout,
};
pub use mock::{MockFault, MockHttp, MockMatch, MockReply, RecordedCall};
pub use moka_store::{DEFAULT_CACHE_BYTES, MokaCacheStore};
pub use redis_store::{RedisOptions, RedisStore};
pub use rng::{Rng, format_guid};
pub use store::{
    CacheStore, CounterStore, EventRecord, EventSink, MemoryCacheStore, MemoryCounterStore,
    MemoryEventSink, MemoryMetricSink, MetricRecord, MetricSink, StoreError,
};
pub use tokens::{
    AccessToken, LocalIssuerConfig, LocalTokenIssuer, TokenClaims, TokenError, TokenProvider,
};

/// The services one engine instance runs on. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Services {
    pub clock: Arc<dyn Clock>,
    pub rng: Rng,
    pub http: Arc<dyn HttpClient>,
    pub counters: Arc<dyn CounterStore>,
    pub cache: Arc<dyn CacheStore>,
    pub metrics: Arc<dyn MetricSink>,
    pub events: Arc<dyn EventSink>,
    /// Managed-identity tokens.
    pub tokens: Arc<dyn TokenProvider>,
}

/// Handles to the test doubles behind [`Services::for_tests`].
#[derive(Debug, Clone)]
pub struct TestHandles {
    pub clock: VirtualClock,
    pub http: MockHttp,
    pub metrics: MemoryMetricSink,
    pub events: MemoryEventSink,
    pub tokens: LocalTokenIssuer,
}

impl Services {
    /// Wall clock, entropy-seeded randomness, reqwest, in-memory stores and sinks.
    pub fn live() -> Services {
        let clock: Arc<dyn Clock> = Arc::new(WallClock::new());
        Services {
            rng: Rng::from_entropy(),
            http: Arc::new(ReqwestClient::new()),
            counters: Arc::new(MemoryCounterStore::new(clock.clone())),
            cache: Arc::new(MemoryCacheStore::new(clock.clone())),
            metrics: Arc::new(MemoryMetricSink::default()),
            events: Arc::new(MemoryEventSink::default()),
            tokens: Arc::new(LocalTokenIssuer::new(
                LocalIssuerConfig::default(),
                clock.clone(),
            )),
            clock,
        }
    }

    /// Virtual clock at `clock`'s time, seeded randomness, mocked backends, in-memory stores.
    pub fn for_tests(clock: VirtualClock, seed: u64) -> (Services, TestHandles) {
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let http = MockHttp::new(shared.clone());
        let metrics = MemoryMetricSink::default();
        let events = MemoryEventSink::default();
        let tokens = LocalTokenIssuer::new(LocalIssuerConfig::default(), shared.clone());
        let services = Services {
            rng: Rng::seeded(seed),
            http: Arc::new(http.clone()),
            counters: Arc::new(MemoryCounterStore::new(shared.clone())),
            cache: Arc::new(MemoryCacheStore::new(shared.clone())),
            metrics: Arc::new(metrics.clone()),
            events: Arc::new(events.clone()),
            tokens: Arc::new(tokens.clone()),
            clock: shared,
        };
        (
            services,
            TestHandles {
                clock,
                http,
                metrics,
                events,
                tokens,
            },
        )
    }
}
