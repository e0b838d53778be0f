//! An Azure OpenAI compatible simulated backend: chat, completions, embeddings, streaming,
//! token usage, TPM/RPM limits and fault injection.
//!
//! Use it standalone ([`serve`]) or in process with no socket ([`Simulator::handle`], or
//! [`Simulator::router`] as an axum `Router`). Time and randomness are injected
//! ([`clock::Clock`], [`rng::RandomSource`]) so tests run on a virtual clock.

pub mod azure;
pub mod clock;
pub mod config;
pub mod embed;
pub mod generate;
pub mod limits;
pub mod rng;
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
