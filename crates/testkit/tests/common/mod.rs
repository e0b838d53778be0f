//! TEST DOUBLE, not an engine: `FakeEngine` runs no policies. It forwards each request to the
//! matched API's `serviceUrl` through the case's `Services` (so mocks, the virtual clock and the
//! call log are the real ones), and records a small trace. It exists to test the runner, the
//! reporters and `diff`; the real adapter is the engine's `Plan`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use apim_engine::errors::Section;
use apim_engine::http::{Request, Response, Url};
use apim_engine::service::ServiceDefinition;
use apim_engine::services::{BackendRequest, HttpError, MetricRecord, Services, send_with_timeout};
use apim_engine::trace::{Trace, TraceEntry};
use apim_testkit::{EngineError, EngineUnderTest, Outcome};
use serde_json::json;

pub struct FakeEngine;

pub struct FakeInstance {
    service: ServiceDefinition,
    services: Services,
}

impl EngineUnderTest for FakeEngine {
    type Instance = FakeInstance;

    fn prepare(
        &self,
        service: &ServiceDefinition,
        services: Services,
    ) -> Result<FakeInstance, EngineError> {
        Ok(FakeInstance {
            service: service.clone(),
            services,
        })
    }

    async fn send(&self, i: &FakeInstance, mut request: Request) -> Result<Outcome, EngineError> {
        let mut trace = Trace::new(true);
        let at = i.services.clock.now();
        let path = request.url.path().trim_start_matches('/').to_string();
        let api = i
            .service
            .apis
            .iter()
            .filter(|a| path.starts_with(a.path.trim_matches('/')))
            .max_by_key(|a| a.path.len())
            .ok_or_else(|| EngineError("fake engine: no API matches".into()))?;
        let base = api
            .service_url
            .clone()
            .ok_or_else(|| EngineError("fake engine: the API has no serviceUrl".into()))?;
        let rest = &path[api.path.trim_matches('/').len()..];
        let q = request.url.query_string();
        let target = format!(
            "{}/{}{}",
            base.trim_end_matches('/'),
            rest.trim_start_matches('/'),
            q
        );
        let url = Url::parse(&target).map_err(|e| EngineError(e.to_string()))?;
        let mut variables = BTreeMap::new();
        variables.insert("target".to_string(), json!(target));
        let named: serde_json::Map<String, serde_json::Value> = i
            .service
            .named_values
            .iter()
            .map(|n| (n.name.clone(), json!(n.value)))
            .collect();
        variables.insert("namedValues".to_string(), serde_json::Value::Object(named));
        trace.record(
            Section::Inbound,
            TraceEntry {
                source: "fake-route".into(),
                timestamp: at,
                elapsed: Duration::ZERO,
                data: json!({"api": api.id}),
            },
        );
        let mut back = BackendRequest::new(request.method.clone(), url);
        back.headers = request.headers.clone();
        back.body = request.body.take();
        let result = send_with_timeout(
            i.services.http.as_ref(),
            i.services.clock.as_ref(),
            back,
            Duration::from_secs(20),
        )
        .await;
        let response = match result {
            Ok(r) => r,
            Err(HttpError::Timeout) => Response::new(504),
            Err(_) => Response::new(502),
        };
        trace.record(
            Section::Backend,
            TraceEntry {
                source: "fake-forward".into(),
                timestamp: at,
                elapsed: Duration::ZERO,
                data: json!({"url": target, "status": response.status}),
            },
        );
        i.services.metrics.record(MetricRecord {
            namespace: "fake".into(),
            name: "requests".into(),
            value: 1.0,
            dimensions: vec![("status".into(), response.status.to_string())],
        });
        Ok(Outcome {
            response,
            trace,
            variables,
        })
    }
}
