//! The local gateway host: configuration loaders (own format, APIOps), the axum host,
//! streaming, traces and metrics endpoints.
//!
//! Loading a configuration (an `apim-emu.yaml`, a directory holding one, or an APIOps extractor
//! folder) into the engine's `ServiceDefinition`:
//!
//! ```no_run
//! use std::path::Path;
//! use apim_gateway::config::{load, LoadOptions};
//!
//! match load(Path::new("fixtures/apiops"), &LoadOptions { env: Some("prod".into()), ..Default::default() }) {
//!     Ok(loaded) => {
//!         for note in &loaded.notes {
//!             eprintln!("note: {note}");
//!         }
//!         println!("{} APIs", loaded.service.apis.len());
//!     }
//!     // file:line:col: error: ... with the source line and a caret, for every problem.
//!     Err(e) => eprint!("{}", e.render()),
//! }
//! ```

pub mod config;

pub use config::{ConfigError, LoadOptions, LoadedConfig, load};
pub mod host;
pub mod loggers;
pub mod serve;
