//! Backends of `type: simulator` in test suites: a call to such a backend that none of the case's
//! mocks answers is answered by the built-in Azure OpenAI simulator, in process, on the case's
//! virtual clock and seeded, so the answer is the same on every run.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use apim_engine::http::{Body, Response};
use apim_engine::services::{BackendRequest, Clock, HttpClient, HttpError, MockHttp};
use apim_gateway::config::{SimulatorBackend, SimulatorSettings};
use apim_gateway::host::InProcessBackends;
use apim_simulator::{Simulator, SimulatorConfig};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The simulator configuration of a `type: simulator` backend, as `apim-emu serve` builds it:
/// the backend's deployments (or the simulator's default set), `latencyMs` as the time to the
/// first token, and any key accepted (the gateway sends whatever credential the backend has).
/// The seed is the backend's `simulator.seed`, else `default_seed` (the case's `seed`).
pub fn simulator_config(settings: &SimulatorSettings, default_seed: u64) -> SimulatorConfig {
    settings.to_simulator_config(default_seed)
}

/// The engine's clock seen as the simulator's: its latency, rate-limit windows and `created`
/// follow the case's virtual clock.
#[derive(Debug, Clone)]
pub struct SimulatorClock(pub Arc<dyn Clock>);

impl apim_simulator::Clock for SimulatorClock {
    fn now(&self) -> SystemTime {
        SystemTime::from(self.0.now())
    }

    fn sleep(&self, duration: Duration) -> apim_simulator::clock::Sleep {
        self.0.sleep(duration)
    }
}

/// Why a case's simulator could not start (its settings are invalid).
#[derive(Debug, Clone, thiserror::Error)]
#[error("simulator backend `{id}`: {message}")]
pub struct SimulatorError {
    pub id: String,
    pub message: String,
}

/// Hosts nothing serves in process: never reached, since only simulator hosts are sent here.
#[derive(Debug)]
struct NoOtherHosts;

impl HttpClient for NoOtherHosts {
    fn send(&self, req: BackendRequest) -> BoxFuture<Result<Response, HttpError>> {
        let host = req.url.host_header();
        Box::pin(async move {
            Err(HttpError::ConnectionRefused(format!(
                "{host} is not a simulator backend"
            )))
        })
    }
}

/// A case's backends: the case's mocks first; a call no mock answers goes to the simulator when
/// its host is a `type: simulator` backend's (`http://<id>.simulator.invalid`), and otherwise
/// fails as a refused connection. Every call is recorded by the mocks' call log, whoever answers.
#[derive(Debug, Clone)]
pub struct SuiteBackends {
    mocks: MockHttp,
    simulator_hosts: HashSet<String>,
    simulators: InProcessBackends,
}

impl SuiteBackends {
    /// The case's mocks in front of one fresh simulator per `type: simulator` backend, each on
    /// `clock` and seeded by its settings (or `default_seed`).
    pub fn new(
        mocks: MockHttp,
        simulators: &[SimulatorBackend],
        clock: Arc<dyn Clock>,
        default_seed: u64,
    ) -> Result<SuiteBackends, SimulatorError> {
        let mut in_process = InProcessBackends::new(Arc::new(NoOtherHosts));
        let mut simulator_hosts = HashSet::new();
        for s in simulators {
            let sim = Simulator::builder(simulator_config(&s.settings, default_seed))
                .clock(Arc::new(SimulatorClock(clock.clone())))
                .build()
                .map_err(|e| SimulatorError {
                    id: s.id.clone(),
                    message: e.to_string(),
                })?;
            let url = SimulatorBackend::placeholder_url(&s.id);
            simulator_hosts.insert(host_of(&url));
            in_process = in_process.with_simulator(&url, sim);
        }
        Ok(SuiteBackends {
            mocks,
            simulator_hosts,
            simulators: in_process,
        })
    }

    /// Whether calls to `host` that no mock answers reach a simulator.
    pub fn is_simulator_host(&self, host: &str) -> bool {
        self.simulator_hosts.contains(&host.to_ascii_lowercase())
    }
}

/// The lower-case host of `scheme://host[:port]/...`.
fn host_of(url: &str) -> String {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', ':', '?'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

impl HttpClient for SuiteBackends {
    fn send(&self, mut req: BackendRequest) -> BoxFuture<Result<Response, HttpError>> {
        if !self.is_simulator_host(req.url.host()) {
            return self.mocks.send(req);
        }
        let mocks = self.mocks.clone();
        let simulators = self.simulators.clone();
        Box::pin(async move {
            // Read once: the mocks see the body, and the simulator too when no mock answers.
            let body = req.body.take().into_bytes(usize::MAX).await?;
            let to_mock = BackendRequest {
                method: req.method.clone(),
                url: req.url.clone(),
                headers: req.headers.clone(),
                body: Body::from_bytes(body.clone()),
                follow_redirects: req.follow_redirects,
                http_version: req.http_version,
                tls: req.tls,
                proxy: req.proxy.clone(),
                client_certificate: req.client_certificate.clone(),
            };
            if let Some(answer) = mocks.try_send(to_mock).await {
                return answer;
            }
            req.body = Body::from_bytes(body);
            simulators.send(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apim_engine::http::Url;
    use apim_engine::services::{MockMatch, MockReply, VirtualClock};
    use apim_gateway::config::SimulatorDeployment;

    fn settings(seed: Option<u64>, latency_ms: Option<u64>) -> SimulatorSettings {
        let mut deployments = std::collections::BTreeMap::new();
        deployments.insert(
            "chat".to_string(),
            SimulatorDeployment {
                model: Some("gpt-4o-mini".into()),
                tokens_per_minute: Some(1000),
                requests_per_minute: None,
            },
        );
        SimulatorSettings {
            deployments,
            latency_ms,
            seed,
        }
    }

    #[test]
    fn config_follows_the_backend_settings() {
        let c = simulator_config(&settings(Some(7), Some(250)), 3);
        assert_eq!(c.seed, 7);
        assert_eq!(c.deployments.len(), 1);
        let d = &c.deployments["chat"];
        assert_eq!(d.model, "gpt-4o-mini");
        assert_eq!(d.tokens_per_minute, Some(1000));
        assert_eq!(d.latency.time_to_first_token_ms, 250);
        assert!(c.auth.keys.is_empty(), "any key is accepted");
        // No seed in the settings: the case's.
        assert_eq!(simulator_config(&settings(None, None), 3).seed, 3);
        // No deployments: the simulator's default set.
        let empty = SimulatorSettings {
            deployments: Default::default(),
            latency_ms: None,
            seed: None,
        };
        assert!(
            simulator_config(&empty, 0)
                .deployments
                .contains_key("gpt-4o")
        );
    }

    fn chat_request(host: &str) -> BackendRequest {
        let url = Url::parse(&format!(
            "http://{host}/openai/deployments/chat/chat/completions?api-version=2024-10-21"
        ))
        .unwrap();
        let mut req = BackendRequest::new("POST", url);
        req.headers
            .set_one("Content-Type", "application/json")
            .unwrap();
        // Any key: the simulator only refuses a missing one, as Azure does.
        req.headers.set_one("api-key", "any").unwrap();
        req.body = Body::from_bytes(r#"{"messages":[{"role":"user","content":"Hello"}]}"#);
        req
    }

    fn backends(clock: &VirtualClock, latency_ms: Option<u64>) -> (SuiteBackends, MockHttp) {
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let mocks = MockHttp::new(shared.clone());
        let sim = SimulatorBackend {
            id: "aoai-sim".into(),
            settings: settings(Some(1), latency_ms),
        };
        let b = SuiteBackends::new(mocks.clone(), &[sim], shared, 0).unwrap();
        (b, mocks)
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn an_unmocked_call_is_answered_by_the_simulator_on_the_virtual_clock() {
        let clock = VirtualClock::at_default_start();
        let (b, mocks) = backends(&clock, Some(400));
        let start = clock.monotonic();
        let rt = runtime();
        let (status, usage) = rt.block_on(clock.run(async {
            let mut r = b
                .send(chat_request("aoai-sim.simulator.invalid"))
                .await
                .unwrap();
            r.body.buffer(1 << 20).await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(r.body.peek().unwrap()).unwrap();
            (r.status, body["usage"].clone())
        }));
        assert_eq!(status, 200);
        assert!(usage["total_tokens"].as_u64().unwrap() > 0, "{usage}");
        // The latency passed on the virtual clock, not the wall clock.
        assert_eq!(clock.monotonic() - start, Duration::from_millis(400));
        // Recorded like any backend call.
        assert_eq!(mocks.calls().len(), 1);
        assert_eq!(mocks.calls()[0].url.host(), "aoai-sim.simulator.invalid");
    }

    #[test]
    fn a_mock_wins_over_the_simulator_until_it_is_used_up() {
        let clock = VirtualClock::at_default_start();
        let (b, mocks) = backends(&clock, None);
        mocks.sequence(
            MockMatch::host("aoai-sim.simulator.invalid"),
            vec![MockReply::status(429).header("Retry-After", "5")],
        );
        let rt = runtime();
        let statuses = rt.block_on(clock.run(async {
            let mut out = Vec::new();
            for _ in 0..2 {
                let r = b.send(chat_request("aoai-sim.simulator.invalid")).await;
                out.push(r.map(|r| r.status).unwrap());
            }
            out
        }));
        assert_eq!(statuses, vec![429, 200]);
        assert_eq!(mocks.calls().len(), 2);
    }

    #[test]
    fn a_mocked_fault_is_not_replaced_by_the_simulator() {
        let clock = VirtualClock::at_default_start();
        let (b, mocks) = backends(&clock, None);
        mocks.always(
            MockMatch::host("aoai-sim.simulator.invalid"),
            MockReply::fault(apim_engine::services::MockFault::ConnectionRefused),
        );
        let rt = runtime();
        let r = rt.block_on(clock.run(b.send(chat_request("aoai-sim.simulator.invalid"))));
        assert!(matches!(r, Err(HttpError::ConnectionRefused(_))), "{r:?}");
    }

    #[test]
    fn other_hosts_still_need_a_mock() {
        let clock = VirtualClock::at_default_start();
        let (b, mocks) = backends(&clock, None);
        let rt = runtime();
        let r = rt.block_on(clock.run(b.send(chat_request("aoai.example.com"))));
        assert!(matches!(r, Err(HttpError::ConnectionRefused(_))), "{r:?}");
        assert_eq!(mocks.calls().len(), 1);
    }
}
