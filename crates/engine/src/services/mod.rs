//! `Services`: everything a policy needs from outside the engine — time, randomness, HTTP,
//! stores and sinks — injectable so the gateway and the test runner share one engine.

mod certificates;
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

pub use certificates::CertificateStore;
pub use clock::{Clock, VirtualClock, WallClock};
pub use event_sinks::{EventRouter, JsonLinesFileSink, StdoutEventSink, event_json_line};
pub use http_client::{
    BackendRequest, ClientCertificate, HttpClient, HttpError, HttpVersion, ProxyOptions,
    ReqwestClient, SharedHttp, TlsOptions, error_chain, send_with_timeout,
};
pub use mock::{MockFault, MockHttp, MockMatch, MockReply, RecordedCall};
pub use moka_store::{DEFAULT_CACHE_BYTES, MokaCacheStore};
pub use redis_store::{RedisOptions, RedisStore};
pub use rng::{Rng, format_guid};
pub use store::{
    CacheStore, CounterStore, EventRecord, EventSink, ImmediateCacheStore, MemoryCacheStore,
    MemoryCounterStore, MemoryEventSink, MemoryMetricSink, MetricRecord, MetricSink, StoreError,
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
    /// Rate-limit, quota and token counters; plans compiled with these services share them.
    pub limiters: Arc<crate::counters::Limiters>,
    /// APIM's "external cache" (Redis), used by the cache policies' `caching-type`
    /// external / prefer-external; `None` when not configured.
    pub external_cache: Option<Arc<dyn CacheStore>>,
    /// Certificate entities (authentication-certificate); empty until the host adds some.
    pub certificates: CertificateStore,
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
            limiters: Arc::new(crate::counters::Limiters::in_memory(clock.clone())),
            external_cache: None,
            clock,
            certificates: CertificateStore::new(),
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
            limiters: Arc::new(crate::counters::Limiters::in_memory(shared.clone())),
            external_cache: None,
            clock: shared,
            certificates: CertificateStore::new(),
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

    /// These services with rate-limit, quota and token counters, plain counters and the
    /// external cache on one Redis server at `url` (`redis://host:port/db`), so gateways
    /// connected to it share them. Connects lazily (starts while Redis is down); must be
    /// called inside a tokio runtime. Plans compiled before this keep their counters.
    pub fn with_redis(mut self, url: &str, opts: RedisOptions) -> Result<Services, StoreError> {
        let store = Arc::new(RedisStore::new(url, self.clock.clone(), opts)?);
        self.limiters = Arc::new(crate::counters::Limiters::on_stores(
            store.clone(),
            store.clone(),
            self.clock.clone(),
        ));
        self.counters = store.clone();
        self.external_cache = Some(store);
        Ok(self)
    }

    /// The cache a cache policy with `caching_type` reads and writes: the external cache for
    /// external / prefer-external when one is configured, the internal one otherwise;
    /// external without an external cache is an error.
    pub fn cache_for(
        &self,
        caching_type: crate::counters::CachingType,
    ) -> Result<&Arc<dyn CacheStore>, crate::counters::CachingTypeError> {
        use crate::counters::{CachingType, CachingTypeError};
        match (caching_type, &self.external_cache) {
            (CachingType::Internal, _) | (CachingType::PreferExternal, None) => Ok(&self.cache),
            (CachingType::External | CachingType::PreferExternal, Some(x)) => Ok(x),
            (CachingType::External, None) => Err(CachingTypeError::NoExternalCache),
        }
    }
}
