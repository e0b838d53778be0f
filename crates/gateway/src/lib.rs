//! The local gateway host: configuration loaders (own format, APIOps), the axum host,
//! streaming, traces and metrics endpoints.

pub mod config;

pub use config::{ConfigError, LoadOptions, LoadedConfig, load};
