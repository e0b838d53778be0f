//! The `proxy` policy: forward-request (or, nested, a send-request) goes through an HTTP proxy
//! with optional Basic credentials (policies.md proxy).

use std::sync::Arc;

use apim_csharp::Value;

use super::steps::{Val, text_of};
use crate::context::RequestContext;
use crate::errors::{PipelineError, PolicyLocation};
use crate::pipeline::Env;
use crate::service::ServiceDefinition;
use crate::services::ProxyOptions;

pub(crate) struct ProxySpec {
    pub url: Val,
    pub username: Option<Val>,
    pub password: Option<Val>,
}

/// The proxy settings for this request; the URL must be an `http://` URL (APIM supports HTTP
/// proxies only).
pub(crate) fn evaluate(
    spec: &ProxySpec,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<ProxyOptions, Box<PipelineError>> {
    let url = text_of(&spec.url, service, ctx, env, loc)?
        .trim()
        .to_string();
    let valid =
        crate::http::Url::parse(&url).is_ok_and(|u| u.scheme().eq_ignore_ascii_case("http"));
    if !valid {
        return Err(Box::new(PipelineError::expression_failure(
            loc,
            format!("The proxy URL '{url}' is not valid: an http:// URL is required."),
            &ctx.request_id,
        )));
    }
    let username = match &spec.username {
        Some(u) => Some(text_of(u, service, ctx, env, loc)?),
        None => None,
    };
    let password = match &spec.password {
        Some(p) => Some(text_of(p, service, ctx, env, loc)?),
        None => None,
    };
    Ok(ProxyOptions {
        url,
        username,
        password,
    })
}
