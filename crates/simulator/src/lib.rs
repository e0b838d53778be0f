//! An Azure OpenAI compatible simulated backend: chat, completions, embeddings, streaming,
//! token usage, TPM/RPM limits and fault injection.
//!
//! Use it standalone ([`serve`]) or in process with no socket ([`Simulator::handle`], or
//! [`Simulator::router`] as an axum `Router`). Time and randomness are injected
//! ([`clock::Clock`], [`rng::RandomSource`]) so tests run on a virtual clock.
//!
//! ```
//! use std::sync::Arc;
//! use apim_simulator::{ManualClock, Simulator, SimulatorConfig};
//!
//! let clock = ManualClock::at_default_start();
//! let sim = Simulator::builder(SimulatorConfig::default_deployments())
//!     .clock(Arc::new(clock.clone()))
//!     .build()
//!     .unwrap();
//! let request = http::Request::post("/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21")
//!     .header("api-key", "any")
//!     .body(bytes::Bytes::from(r#"{"messages":[{"role":"user","content":"Hello"}]}"#))
//!     .unwrap();
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! let response = runtime.block_on(sim.handle(request)).unwrap();
//! assert_eq!(response.status(), 200);
//! assert!(response.headers().contains_key("x-ratelimit-remaining-tokens"));
//!
//! // Prompt tokens of a request body, as OpenAI counts them (the engine's estimate).
//! let body = serde_json::json!({"messages": [{"role": "user", "content": "Hello"}]});
//! let n = apim_simulator::tokens::count_prompt_tokens(
//!     apim_simulator::tokens::Operation::ChatCompletions, "gpt-4o", &body, Default::default()).unwrap();
//! assert_eq!(n, 8);
//! ```

pub mod azure;
pub mod clock;
pub mod config;
pub mod embed;
pub mod generate;
pub mod limits;
pub mod rng;
pub mod safety;
mod server;
mod sim;
pub mod tokens;

/// The response body type.
pub type Body = axum::body::Body;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    AuthConfig, ConfigError, DeploymentConfig, FaultConfig, LatencyConfig, ModelKind,
    SimulatorConfig, TokenRange,
};
pub use rng::{RandomSource, ScriptedRng, SeededRng};
pub use server::{run_blocking, serve};
pub use sim::{ConnectionDropped, Simulator, SimulatorBuilder};
