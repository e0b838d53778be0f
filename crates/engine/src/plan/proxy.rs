//! The `proxy` policy: forward-request (or, nested, a send-request) goes through an HTTP proxy
//! with optional Basic credentials (policies.md proxy); authentication-certificate: the call
//! presents a configured client certificate.

use std::sync::Arc;

use apim_csharp::Value;

use super::steps::{Val, text_of};
use crate::context::RequestContext;
use crate::errors::{PipelineError, PolicyLocation};
use crate::pipeline::Env;
use crate::service::ServiceDefinition;
use crate::services::{ClientCertificate, ProxyOptions};

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

/// authentication-certificate: a certificate entity by `thumbprint` or `certificate-id`.
pub(crate) enum CertificateSpec {
    Thumbprint(Val),
    Id(Val),
}

/// The configured certificate the policy names; not configured: a policy error before the
/// backend is called.
pub(crate) fn certificate(
    spec: &CertificateSpec,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<Arc<ClientCertificate>, Box<PipelineError>> {
    let store = &env.services.certificates;
    let (found, what) = match spec {
        CertificateSpec::Id(v) => {
            let id = text_of(v, service, ctx, env, loc)?.trim().to_string();
            (store.by_id(&id), format!("id '{id}'"))
        }
        CertificateSpec::Thumbprint(v) => {
            let t = text_of(v, service, ctx, env, loc)?.trim().to_string();
            (store.by_thumbprint(&t), format!("thumbprint '{t}'"))
        }
    };
    let fail = |msg: String| {
        Box::new(PipelineError::policy(
            loc,
            "CertificateNotFound",
            msg,
            crate::errors::internal_error_response(&ctx.request_id),
        ))
    };
    match found {
        Some(c) if c.has_private_key => Ok(c),
        Some(_) => Err(fail(format!(
            "Certificate with {what} has no private key: it cannot authenticate the gateway."
        ))),
        None => Err(fail(format!("Certificate with {what} was not found."))),
    }
}
