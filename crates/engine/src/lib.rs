//! The policy engine: the `context` object model, the `Plan` compiler (scopes, `<base/>`,
//! fragments, named values), policy implementations and the `Services` they run on.
//!
//! Building blocks (the Plan compiler and the policies are built on these):
//!
//! | module | what |
//! |---|---|
//! | [`service`] | `ServiceDefinition`: APIs, operations, products, subscriptions, users, named values, fragments, backends (serde, camelCase) |
//! | [`http`] | `HeaderMap` (case-insensitive, ordered, multi-value, APIM wire joining), `Url` (IUrl + composition), `Body` (buffered/stream, consume-once), `Request`, `Response` |
//! | [`services`] | `Services`: `Clock` (wall, `VirtualClock`), `Rng`, `HttpClient` (reqwest, `MockHttp`), counter/cache stores, metric/event sinks, managed-identity tokens |
//! | [`matching`] | API and operation matching, URL templates, `MatchedParameters` |
//! | [`subscription`] | the subscription-key decision table |
//! | [`admission`] | request id, matching and key check together; backend URL of the request |
//! | [`context`] | `RequestContext`: the state behind `context`; `Variables<V>`; the Liquid `context` view |
//! | [`pipeline`] | section runner: `Step`, on-error with `LastError`, `return-response` short-circuit |
//! | [`backends`] | circuit breakers, pool selection, credentials (`BackendRegistry`) |
//! | [`mock_response`] | the response mock-response returns (examples, schema samples) |
//! | [`routing`] | `rewrite_uri`, `set-backend-service` base-url / backend-id on the context |
//! | [`backend_call`] | `forward_request`: one backend call with pool choice, breaker feedback, timeout, trace |
//! | [`scopes`] | scope chain (operation → API → product → workspace → global) and `<base/>`/fragment expansion |
//! | [`errors`] | `LastError`, `PipelineError`, APIM's gateway responses, retry backoff |
//! | [`named_values`] | `{{name}}` substitution and secret masking |
//! | [`trace`] | the request trace |
//! | [`liquid`] | Liquid templates (DotLiquid C# mode) |
//! | [`convert`] | json-to-xml / xml-to-json |
//! | [`cors`] | the cors policy's decision (preflight answers, response headers, unmatched requests) |
//! | [`counters`] | sliding-window rate limits, fixed-window quotas, token limits; in-process and Redis stores |
//! | [`limits`] | limit-concurrency slots, ip-filter rules, Basic authorization |

pub mod admission;
pub mod backend_call;
pub mod backends;
pub mod context;
pub mod convert;
pub mod cors;
pub mod counters;
pub mod errors;
mod fast_hash;
pub mod http;
pub mod limits;
pub mod liquid;
pub mod matching;
pub mod mock_response;
pub mod named_values;
pub mod pipeline;
pub mod plan;
pub mod routing;
pub mod scopes;
pub mod service;
pub mod services;
pub mod subscription;
pub mod trace;
