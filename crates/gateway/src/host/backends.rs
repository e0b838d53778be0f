//! Backend calls for `serve`: hosts served in process (the built-in Azure OpenAI simulator,
//! `http://<id>.simulator.invalid`) are answered without a socket; every other URL goes to the
//! real HTTP client.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use apim_engine::http::{Body, BodyError, HeaderMap, Response};
use apim_engine::services::{BackendRequest, HttpClient, HttpError};
use apim_simulator::Simulator;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;

/// Largest request body passed to an in-process backend (the simulator reads whole bodies).
pub const IN_PROCESS_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// An [`HttpClient`] that answers some hosts in process.
#[derive(Clone)]
pub struct InProcessBackends {
    simulators: HashMap<String, Simulator>,
    fallback: Arc<dyn HttpClient>,
}

impl fmt::Debug for InProcessBackends {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut hosts: Vec<&String> = self.simulators.keys().collect();
        hosts.sort();
        f.debug_struct("InProcessBackends")
            .field("simulators", &hosts)
            .field("fallback", &self.fallback)
            .finish()
    }
}

impl InProcessBackends {
    pub fn new(fallback: Arc<dyn HttpClient>) -> Self {
        InProcessBackends {
            simulators: HashMap::new(),
            fallback,
        }
    }

    /// Serves requests for `url`'s host (e.g. `SimulatorBackend::placeholder_url(id)`) with `sim`.
    pub fn with_simulator(mut self, url: &str, sim: Simulator) -> Self {
        let host = url
            .split_once("://")
            .map_or(url, |(_, rest)| rest)
            .split(['/', ':', '?'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        self.simulators.insert(host, sim);
        self
    }
}

impl HttpClient for InProcessBackends {
    fn send(&self, req: BackendRequest) -> BoxFuture<'static, Result<Response, HttpError>> {
        let Some(sim) = self.simulators.get(&req.url.host().to_ascii_lowercase()) else {
            return self.fallback.send(req);
        };
        let sim = sim.clone();
        Box::pin(async move {
            let target = format!("{}{}", req.url.path(), req.url.query_string());
            let headers = req
                .headers
                .to_http()
                .map_err(|e| HttpError::InvalidRequest(e.to_string()))?;
            let body = req
                .body
                .into_bytes(IN_PROCESS_BODY_LIMIT)
                .await
                .map_err(|e| HttpError::InvalidRequest(e.to_string()))?;
            let mut builder = http::Request::builder()
                .method(req.method.as_str())
                .uri(target.as_str());
            if let Some(h) = builder.headers_mut() {
                *h = headers;
            }
            let request = builder
                .body(body)
                .map_err(|e| HttpError::InvalidRequest(e.to_string()))?;
            let resp = sim.handle(request).await.map_err(|_| {
                HttpError::ConnectionReset("the simulator dropped the connection".into())
            })?;
            let (parts, body) = resp.into_parts();
            let mut out = Response::new(parts.status.as_u16());
            out.headers = HeaderMap::from_http(&parts.headers)
                .map_err(|e| HttpError::InvalidResponse(e.to_string()))?;
            let stream = body
                .into_data_stream()
                .map(|c| c.map_err(|e| BodyError::Transport(e.to_string())));
            out.body = Body::from_stream(Box::pin(stream));
            Ok(out)
        })
    }
}
