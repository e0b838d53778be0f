//! Backends at run time (backends.md): per-backend circuit breakers on the engine clock, pool
//! selection (priority groups, round-robin or weighted), and credentials applied to calls.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::http::{HeaderError, HeaderMap, Url, UrlError};
use crate::service::{Backend, BackendType, CircuitBreakerRule, ServiceDefinition};
use crate::services::{Clock, Rng, TlsOptions};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    #[error("Backend with id '{0}' could not be found.")]
    NotFound(String),
    /// The backend's circuit breaker is open, or every member of the pool is tripped.
    #[error("Backend '{0}' is unavailable: its circuit breaker is open.")]
    Unavailable(String),
    #[error("backend '{backend}' has an invalid url: {error}")]
    InvalidUrl { backend: String, error: UrlError },
    #[error("backend '{backend}': {error}")]
    InvalidCredential { backend: String, error: HeaderError },
}

/// `Retry-After`: delay-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = DateTime::parse_from_rfc2822(v).ok()?.to_utc();
    Some((when - now).to_std().unwrap_or(Duration::ZERO))
}

/// What a backend call ended with, for its circuit breaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// A response arrived; `retry_after` from its `Retry-After` header.
    Response {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No response: the gateway error reason (`BackendConnectionFailure`, `Timeout`).
    Failure { reason: String },
}

#[derive(Debug)]
struct Breaker {
    rule: CircuitBreakerRule,
    /// (time, failed) of calls within the window.
    events: VecDeque<(Duration, bool)>,
    open_until: Option<Duration>,
}

impl Breaker {
    fn is_open(&mut self, now: Duration) -> bool {
        match self.open_until {
            Some(t) if now < t => true,
            Some(_) => {
                self.open_until = None;
                false
            }
            None => false,
        }
    }

    fn counts_as_failure(&self, outcome: &CallOutcome) -> bool {
        let fc = &self.rule.failure_condition;
        match outcome {
            CallOutcome::Response { status, .. } => fc
                .status_code_ranges
                .iter()
                .any(|r| (r.min..=r.max).contains(status)),
            CallOutcome::Failure { reason } => fc
                .error_reasons
                .iter()
                .any(|r| r.eq_ignore_ascii_case(reason)),
        }
    }

    /// Records a call; returns the trip duration when this call tripped the breaker.
    fn record(&mut self, now: Duration, outcome: &CallOutcome) -> Option<Duration> {
        if self.is_open(now) {
            return None;
        }
        let failed = self.counts_as_failure(outcome);
        let window = self.rule.failure_condition.interval.0;
        self.events.push_back((now, failed));
        while self
            .events
            .front()
            .is_some_and(|(t, _)| now.saturating_sub(*t) >= window && !window.is_zero())
        {
            self.events.pop_front();
        }
        if !failed {
            return None;
        }
        let failures = self.events.iter().filter(|(_, f)| *f).count() as u64;
        let total = self.events.len() as u64;
        let fc = &self.rule.failure_condition;
        let trip = match (fc.count, fc.percentage) {
            (Some(c), _) => failures >= u64::from(c),
            (None, Some(p)) => failures * 100 >= u64::from(p) * total,
            (None, None) => false,
        };
        if !trip {
            return None;
        }
        let retry_after = match outcome {
            CallOutcome::Response { retry_after, .. } if self.rule.accept_retry_after => {
                *retry_after
            }
            _ => None,
        };
        let duration = retry_after.unwrap_or(self.rule.trip_duration.0);
        self.open_until = Some(now.saturating_add(duration));
        self.events.clear();
        Some(duration)
    }
}

#[derive(Debug)]
struct Runtime {
    def: Backend,
    /// Parsed URL of a Single backend.
    url: Option<Url>,
    breaker: Option<Mutex<Breaker>>,
    /// Round-robin position per priority group (pools).
    round_robin: Mutex<HashMap<u32, u64>>,
    /// The credential headers (then `Authorization`), shared with every call's header map.
    credential_headers: Vec<(String, Arc<[String]>)>,
}

/// The backend chosen for one call (borrowed from the registry: choosing copies nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectedBackend<'a> {
    /// The Single backend that will receive the call.
    pub backend_id: &'a str,
    /// The pool it was chosen from, when the policy named a pool.
    pub pool_id: Option<&'a str>,
    pub url: &'a Url,
    pub tls: TlsOptions,
    /// `context.Backend.AzureRegion`.
    pub azure_region: Option<&'a str>,
}

/// `context.Backend` as expressions see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendInfo {
    pub id: String,
    pub backend_type: BackendType,
    pub azure_region: Option<String>,
}

/// Runtime state of every backend of one service. Shared by all requests (`Arc`).
#[derive(Debug)]
pub struct BackendRegistry {
    backends: crate::fast_hash::FastMap<String, Runtime>,
    /// Single backends' URLs, by id (for `find_by_url`).
    by_url: Vec<(Url, String)>,
    clock: Arc<dyn Clock>,
}

impl BackendRegistry {
    /// Builds the runtime view; URLs must parse (run `ServiceDefinition::validate` first for
    /// the full list of problems).
    pub fn new(service: &ServiceDefinition, clock: Arc<dyn Clock>) -> Result<Self, BackendError> {
        let mut backends = crate::fast_hash::FastMap::default();
        for b in &service.backends {
            let url = match (&b.backend_type, &b.url) {
                (BackendType::Single, Some(u)) => {
                    Some(Url::parse(u).map_err(|error| BackendError::InvalidUrl {
                        backend: b.id.clone(),
                        error,
                    })?)
                }
                _ => None,
            };
            let breaker = b
                .circuit_breaker
                .as_ref()
                .and_then(|cb| cb.rules.first())
                .map(|rule| {
                    Mutex::new(Breaker {
                        rule: rule.clone(),
                        events: VecDeque::new(),
                        open_until: None,
                    })
                });
            backends.insert(
                b.id.clone(),
                Runtime {
                    def: b.clone(),
                    url,
                    breaker,
                    round_robin: Mutex::new(HashMap::new()),
                    credential_headers: credential_headers(&b.credentials),
                },
            );
        }
        let mut by_url: Vec<(Url, String)> = backends
            .iter()
            .filter_map(|(id, r)| r.url.clone().map(|u| (u, id.clone())))
            .collect();
        by_url.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(BackendRegistry {
            backends,
            by_url,
            clock,
        })
    }

    pub fn get(&self, id: &str) -> Option<&Backend> {
        self.backends.get(id).map(|r| &r.def)
    }

    /// The parsed URL of a Single backend (parsed once, when the registry was built).
    pub fn url(&self, id: &str) -> Option<&Url> {
        self.backends.get(id).and_then(|r| r.url.as_ref())
    }

    /// `context.Backend` for a backend id.
    pub fn info(&self, id: &str) -> Option<BackendInfo> {
        self.get(id).map(|b| BackendInfo {
            id: b.id.clone(),
            backend_type: b.backend_type,
            azure_region: b.azure_region.clone(),
        })
    }

    /// `*slot = self.info(id)`, reusing the strings already in `slot`.
    pub fn fill_info(&self, id: &str, slot: &mut Option<BackendInfo>) {
        match (slot.as_mut(), self.get(id)) {
            (Some(info), Some(b)) => {
                info.id.clear();
                info.id.push_str(&b.id);
                info.backend_type = b.backend_type;
                info.azure_region.clone_from(&b.azure_region);
            }
            _ => *slot = self.info(id),
        }
    }

    /// The Single backend whose URL is `url`'s base (APIM uses such a backend automatically).
    pub fn find_by_url(&self, service_url: &Url) -> Option<&str> {
        self.by_url
            .iter()
            .find(|(u, _)| {
                u.scheme() == service_url.scheme()
                    && u.host() == service_url.host()
                    && u.port() == service_url.port()
                    && u.path().trim_end_matches('/') == service_url.path().trim_end_matches('/')
            })
            .map(|(_, id)| id.as_str())
    }

    /// True while the backend's circuit breaker is open.
    pub fn is_tripped(&self, id: &str) -> bool {
        // The clock is read only for a backend that has a breaker.
        self.backends
            .get(id)
            .and_then(|r| r.breaker.as_ref())
            .is_some_and(|b| {
                let now = self.clock.monotonic();
                b.lock().is_open(now)
            })
    }

    /// Time left before the breaker closes.
    pub fn open_for(&self, id: &str) -> Option<Duration> {
        let now = self.clock.monotonic();
        let r = self.backends.get(id)?.breaker.as_ref()?;
        let mut b = r.lock();
        if b.is_open(now) {
            b.open_until.map(|t| t - now)
        } else {
            None
        }
    }

    fn single<'a>(
        &'a self,
        id: &str,
        pool: Option<&'a str>,
    ) -> Result<SelectedBackend<'a>, BackendError> {
        let r = self
            .backends
            .get(id)
            .ok_or_else(|| BackendError::NotFound(id.to_string()))?;
        let url = r
            .url
            .as_ref()
            .ok_or_else(|| BackendError::NotFound(id.to_string()))?;
        Ok(SelectedBackend {
            backend_id: &r.def.id,
            pool_id: pool,
            url,
            tls: TlsOptions {
                validate_certificate_chain: r.def.tls.validate_certificate_chain,
                validate_certificate_name: r.def.tls.validate_certificate_name,
            },
            azure_region: r.def.azure_region.as_deref(),
        })
    }

    /// Chooses where one backend call goes (each forward-request execution chooses again).
    /// A Single backend with an open breaker, or a pool whose members are all tripped, is
    /// [`BackendError::Unavailable`] (the 503 outcome).
    pub fn select<'a>(&'a self, id: &str, rng: &Rng) -> Result<SelectedBackend<'a>, BackendError> {
        let r = self
            .backends
            .get(id)
            .ok_or_else(|| BackendError::NotFound(id.to_string()))?;
        match r.def.backend_type {
            BackendType::Single => {
                if self.is_tripped(id) {
                    return Err(BackendError::Unavailable(id.to_string()));
                }
                self.single(id, None)
            }
            BackendType::Pool => {
                let members = r
                    .def
                    .pool
                    .as_ref()
                    .map(|p| p.services.as_slice())
                    .unwrap_or(&[]);
                let available: Vec<_> = members
                    .iter()
                    .filter(|m| !self.is_tripped(m.backend_id()))
                    .collect();
                let Some(priority) = available.iter().map(|m| m.priority.unwrap_or(0)).min() else {
                    return Err(BackendError::Unavailable(id.to_string()));
                };
                let group: Vec<_> = available
                    .into_iter()
                    .filter(|m| m.priority.unwrap_or(0) == priority)
                    .collect();
                let chosen = if group.iter().any(|m| m.weight.is_some()) {
                    let weights: Vec<u64> = group
                        .iter()
                        .map(|m| u64::from(m.weight.unwrap_or(1)))
                        .collect();
                    let total: u64 = weights.iter().sum();
                    if total == 0 {
                        group[rng.below(group.len() as u64) as usize]
                    } else {
                        let mut pick = rng.below(total);
                        let mut idx = 0;
                        for (i, w) in weights.iter().enumerate() {
                            if pick < *w {
                                idx = i;
                                break;
                            }
                            pick -= w;
                        }
                        group[idx]
                    }
                } else {
                    let mut rr = r.round_robin.lock();
                    let n = rr.entry(priority).or_insert(0);
                    let idx = (*n % group.len() as u64) as usize;
                    *n = n.wrapping_add(1);
                    group[idx]
                };
                self.single(chosen.backend_id(), Some(&r.def.id))
            }
        }
    }

    /// Feeds a call's outcome to the backend's circuit breaker. Returns the trip duration when
    /// this call tripped it. The call itself still gets its response.
    pub fn record(&self, backend_id: &str, outcome: &CallOutcome) -> Option<Duration> {
        let breaker = self.backends.get(backend_id)?.breaker.as_ref()?;
        let now = self.clock.monotonic();
        breaker.lock().record(now, outcome)
    }

    /// Convenience: records a response, reading `Retry-After` from its headers.
    pub fn record_response(
        &self,
        backend_id: &str,
        status: u16,
        headers: &HeaderMap,
    ) -> Option<Duration> {
        // Without a breaker there is nothing to feed (and no header to parse).
        self.backends.get(backend_id)?.breaker.as_ref()?;
        let retry_after = headers
            .first("Retry-After")
            .and_then(|v| parse_retry_after(v, self.clock.now()));
        self.record(
            backend_id,
            &CallOutcome::Response {
                status,
                retry_after,
            },
        )
    }

    /// Adds the backend's credentials to a call: headers (replacing same-named ones), query
    /// parameters, and `Authorization: <scheme> <parameter>`.
    pub fn apply_credentials(
        &self,
        backend_id: &str,
        headers: &mut HeaderMap,
        url: &mut Url,
    ) -> Result<(), BackendError> {
        let r = self
            .backends
            .get(backend_id)
            .ok_or_else(|| BackendError::NotFound(backend_id.to_string()))?;
        let c = &r.def.credentials;
        let bad = |error| BackendError::InvalidCredential {
            backend: backend_id.to_string(),
            error,
        };
        let (header_lines, authorization) = r
            .credential_headers
            .split_at(r.credential_headers.len() - usize::from(c.authorization.is_some()));
        for (name, values) in header_lines {
            headers.set_shared(name, values.clone()).map_err(bad)?;
        }
        for (name, values) in &c.query {
            url.query_mut().set(name, values.clone());
        }
        for (name, values) in authorization {
            headers.set_shared(name, values.clone()).map_err(bad)?;
        }
        Ok(())
    }
}

/// A backend's credential headers in the order they are applied, `Authorization: <scheme>
/// <parameter>` last.
fn credential_headers(c: &crate::service::BackendCredentials) -> Vec<(String, Arc<[String]>)> {
    let mut out: Vec<(String, Arc<[String]>)> = c
        .header
        .iter()
        .map(|(n, v)| (n.clone(), v.as_slice().into()))
        .collect();
    if let Some(a) = &c.authorization {
        let value = if a.parameter.is_empty() {
            a.scheme.clone()
        } else {
            format!("{} {}", a.scheme, a.parameter)
        };
        out.push(("Authorization".to_string(), Arc::from([value])));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{
        BackendAuthorization, BackendCredentials, BackendPool, CircuitBreaker, FailureCondition,
        IsoDuration, PoolMember, StatusCodeRange,
    };
    use crate::services::VirtualClock;

    fn single(id: &str, breaker: Option<CircuitBreakerRule>) -> Backend {
        Backend {
            id: id.into(),
            url: Some(format!("https://{id}.example.com/openai")),
            circuit_breaker: breaker.map(|r| CircuitBreaker { rules: vec![r] }),
            ..Default::default()
        }
    }

    fn rule429(count: u32, trip: u64, accept_retry_after: bool) -> CircuitBreakerRule {
        CircuitBreakerRule {
            name: "r".into(),
            failure_condition: FailureCondition {
                count: Some(count),
                percentage: None,
                interval: IsoDuration(Duration::from_secs(60)),
                status_code_ranges: vec![
                    StatusCodeRange { min: 429, max: 429 },
                    StatusCodeRange { min: 500, max: 599 },
                ],
                error_reasons: vec!["BackendConnectionFailure".into()],
            },
            trip_duration: IsoDuration(Duration::from_secs(trip)),
            accept_retry_after,
        }
    }

    fn pool(id: &str, members: &[(&str, Option<u32>, Option<u32>)]) -> Backend {
        Backend {
            id: id.into(),
            backend_type: BackendType::Pool,
            pool: Some(BackendPool {
                services: members
                    .iter()
                    .map(|(m, p, w)| PoolMember {
                        id: format!("/subscriptions/x/backends/{m}"),
                        priority: *p,
                        weight: *w,
                    })
                    .collect(),
            }),
            ..Default::default()
        }
    }

    fn registry(backends: Vec<Backend>) -> (BackendRegistry, VirtualClock) {
        let clock = VirtualClock::at_default_start();
        let def = ServiceDefinition {
            backends,
            ..Default::default()
        };
        def.validate().unwrap();
        (
            BackendRegistry::new(&def, Arc::new(clock.clone())).unwrap(),
            clock,
        )
    }

    fn resp(status: u16) -> CallOutcome {
        CallOutcome::Response {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn round_robin_alternates_strictly() {
        let (reg, _) = registry(vec![
            single("a", None),
            single("b", None),
            single("c", None),
            pool(
                "p",
                &[("a", None, None), ("b", None, None), ("c", None, None)],
            ),
        ]);
        let rng = Rng::seeded(1);
        let picks: Vec<&str> = (0..6)
            .map(|_| reg.select("p", &rng).unwrap().backend_id)
            .collect();
        assert_eq!(picks, ["a", "b", "c", "a", "b", "c"]);
        let s = reg.select("p", &rng).unwrap();
        assert_eq!(
            (s.pool_id, s.url.to_string().as_str()),
            (Some("p"), "https://a.example.com/openai")
        );
    }

    #[test]
    fn weighted_selection_is_within_five_percent_over_10000() {
        let (reg, _) = registry(vec![
            single("a", None),
            single("b", None),
            single("c", None),
            pool(
                "p",
                &[
                    ("a", None, Some(50)),
                    ("b", None, Some(30)),
                    ("c", None, Some(20)),
                ],
            ),
        ]);
        let rng = Rng::seeded(20240101);
        let mut counts: HashMap<&str, u32> = HashMap::new();
        for _ in 0..10_000 {
            *counts
                .entry(reg.select("p", &rng).unwrap().backend_id)
                .or_default() += 1;
        }
        for (id, expected) in [("a", 5000.0), ("b", 3000.0), ("c", 2000.0)] {
            let got = f64::from(counts[id]);
            assert!(
                (got - expected).abs() <= expected * 0.05,
                "{id}: {got} vs {expected} ({counts:?})"
            );
        }
    }

    #[test]
    fn priority_falls_back_only_when_every_higher_member_is_tripped() {
        let (reg, clock) = registry(vec![
            single("p1a", Some(rule429(1, 30, false))),
            single("p1b", Some(rule429(1, 30, false))),
            single("payg", Some(rule429(1, 30, false))),
            pool(
                "pool",
                &[
                    ("p1a", Some(1), None),
                    ("p1b", Some(1), None),
                    ("payg", Some(2), None),
                ],
            ),
        ]);
        let rng = Rng::seeded(1);
        let ids: Vec<&str> = (0..4)
            .map(|_| reg.select("pool", &rng).unwrap().backend_id)
            .collect();
        assert_eq!(ids, ["p1a", "p1b", "p1a", "p1b"]);
        assert_eq!(reg.record("p1a", &resp(429)), Some(Duration::from_secs(30)));
        assert_eq!(reg.select("pool", &rng).unwrap().backend_id, "p1b");
        assert_eq!(
            reg.select("pool", &rng).unwrap().backend_id,
            "p1b",
            "one priority-1 member left"
        );
        reg.record("p1b", &resp(500));
        assert_eq!(reg.select("pool", &rng).unwrap().backend_id, "payg");
        reg.record("payg", &resp(503));
        assert_eq!(
            reg.select("pool", &rng),
            Err(BackendError::Unavailable("pool".into()))
        );
        clock.advance(Duration::from_secs(30));
        assert!(["p1a", "p1b"].contains(&reg.select("pool", &rng).unwrap().backend_id));
    }

    #[test]
    fn breaker_counts_failures_in_the_window_and_resets_after_trip_duration() {
        let (reg, clock) = registry(vec![single("a", Some(rule429(3, 60, false)))]);
        let rng = Rng::seeded(1);
        assert_eq!(reg.record("a", &resp(500)), None);
        assert_eq!(reg.record("a", &resp(200)), None);
        clock.advance(Duration::from_secs(61));
        // The first failure left the window.
        assert_eq!(reg.record("a", &resp(500)), None);
        assert_eq!(
            reg.record(
                "a",
                &CallOutcome::Failure {
                    reason: "BackendConnectionFailure".into()
                }
            ),
            None
        );
        assert_eq!(
            reg.record(
                "a",
                &CallOutcome::Failure {
                    reason: "Timeout".into()
                }
            ),
            None,
            "not a listed reason"
        );
        assert_eq!(reg.record("a", &resp(404)), None);
        assert_eq!(reg.record("a", &resp(502)), Some(Duration::from_secs(60)));
        assert!(reg.is_tripped("a"));
        assert_eq!(
            reg.select("a", &rng),
            Err(BackendError::Unavailable("a".into()))
        );
        clock.advance(Duration::from_secs(59));
        assert!(reg.is_tripped("a"));
        assert_eq!(reg.open_for("a"), Some(Duration::from_secs(1)));
        clock.advance(Duration::from_secs(1));
        assert!(!reg.is_tripped("a"));
        assert!(reg.select("a", &rng).is_ok());
    }

    #[test]
    fn percentage_mode() {
        let mut rule = rule429(1, 10, false);
        rule.failure_condition.count = None;
        rule.failure_condition.percentage = Some(50);
        let (reg, _) = registry(vec![single("a", Some(rule))]);
        for _ in 0..3 {
            assert_eq!(reg.record("a", &resp(200)), None);
        }
        assert_eq!(reg.record("a", &resp(500)), None, "1 of 4 = 25%");
        assert_eq!(reg.record("a", &resp(500)), None, "2 of 5 = 40%");
        assert_eq!(
            reg.record("a", &resp(500)),
            Some(Duration::from_secs(10)),
            "3 of 6 = 50%"
        );
    }

    #[test]
    fn accept_retry_after_uses_seconds_or_http_date() {
        let (reg, clock) = registry(vec![
            single("a", Some(rule429(1, 60, true))),
            single("b", Some(rule429(1, 60, false))),
        ]);
        let mut h = HeaderMap::new();
        h.set_one("Retry-After", "5").unwrap();
        assert_eq!(
            reg.record_response("a", 429, &h),
            Some(Duration::from_secs(5))
        );
        clock.advance(Duration::from_secs(5));
        assert!(!reg.is_tripped("a"));
        let date = (clock.now() + chrono::Duration::seconds(120))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        h.set_one("Retry-After", date).unwrap();
        assert_eq!(
            reg.record_response("a", 429, &h),
            Some(Duration::from_secs(120))
        );
        // Without acceptRetryAfter the rule's trip duration applies.
        assert_eq!(
            reg.record_response("b", 429, &h),
            Some(Duration::from_secs(60))
        );
        // No header: trip duration.
        clock.advance(Duration::from_secs(200));
        assert_eq!(
            reg.record_response("a", 429, &HeaderMap::new()),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn retry_after_parsing() {
        let now = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            parse_retry_after(" 30 ", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Mon, 01 Jan 2024 00:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Sun, 31 Dec 2023 00:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn credentials_are_applied() {
        let mut b = single("a", None);
        b.credentials = BackendCredentials {
            header: [("api-key".to_string(), vec!["secret".to_string()])].into(),
            query: [("code".to_string(), vec!["fn-key".to_string()])].into(),
            authorization: Some(BackendAuthorization {
                scheme: "Bearer".into(),
                parameter: "tok".into(),
            }),
            certificate_ids: vec![],
        };
        let (reg, _) = registry(vec![b]);
        let mut h = HeaderMap::new();
        h.set_one("API-KEY", "client-key").unwrap();
        let mut url = Url::parse("https://a.example.com/openai/x?q=1").unwrap();
        reg.apply_credentials("a", &mut h, &mut url).unwrap();
        assert_eq!(h.get("api-key").unwrap(), ["secret"]);
        assert_eq!(h.first("authorization"), Some("Bearer tok"));
        assert_eq!(
            url.to_string(),
            "https://a.example.com/openai/x?q=1&code=fn-key"
        );
        assert_eq!(
            reg.apply_credentials("zz", &mut h, &mut url),
            Err(BackendError::NotFound("zz".into()))
        );
    }

    #[test]
    fn finds_backend_by_service_url_and_reports_info() {
        let mut b = single("a", None);
        b.azure_region = Some("swedencentral".into());
        let (reg, _) = registry(vec![b, pool("p", &[("a", None, None)])]);
        assert_eq!(
            reg.find_by_url(&Url::parse("https://a.example.com/openai/").unwrap()),
            Some("a")
        );
        assert_eq!(
            reg.find_by_url(&Url::parse("https://b.example.com/openai").unwrap()),
            None
        );
        let info = reg.info("p").unwrap();
        assert_eq!(info.backend_type, BackendType::Pool);
        assert_eq!(
            reg.select("a", &Rng::seeded(0)).unwrap().azure_region,
            Some("swedencentral")
        );
        assert_eq!(
            reg.select("nope", &Rng::seeded(0)),
            Err(BackendError::NotFound("nope".into()))
        );
    }
}
