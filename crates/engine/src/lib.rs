//! The policy engine: the `context` object model, the `Plan` compiler (scopes, `<base/>`,
//! fragments, named values), policy implementations and the `Services` they run on.
//!
//! Building blocks available now: [`service`] (the APIM instance description), [`http`]
//! (headers, URLs, bodies, messages), [`matching`] (API/operation matching).

pub mod admission;
pub mod backend_call;
pub mod backends;
pub mod context;
pub mod convert;
pub mod counters;
pub mod errors;
pub mod http;
pub mod limits;
pub mod liquid;
pub mod matching;
pub mod named_values;
pub mod pipeline;
pub mod service;
pub mod services;
pub mod subscription;
pub mod trace;
