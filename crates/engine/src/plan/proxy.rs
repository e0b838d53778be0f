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

/// The configured certificate the policy names; not configured (or unreadable): a policy error
/// before the backend is called.
pub(crate) fn certificate(
    spec: &CertificateSpec,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<Arc<ClientCertificate>, Box<PipelineError>> {
    let (found, what) = match spec {
        CertificateSpec::Id(v) => {
            let id = text_of(v, service, ctx, env, loc)?.trim().to_string();
            let found = service
                .certificates
                .iter()
                .find(|c| c.id.eq_ignore_ascii_case(&id))
                .map(|c| ClientCertificate::from_pem(&c.pem));
            (found, format!("id '{id}'"))
        }
        CertificateSpec::Thumbprint(v) => {
            let t = text_of(v, service, ctx, env, loc)?;
            let wanted: String = t.chars().filter(char::is_ascii_hexdigit).collect();
            let found = service
                .certificates
                .iter()
                .map(|c| ClientCertificate::from_pem(&c.pem))
                .find(|c| {
                    c.as_ref()
                        .is_ok_and(|c| c.thumbprint.eq_ignore_ascii_case(&wanted))
                });
            (found, format!("thumbprint '{}'", t.trim()))
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
        Some(Ok(c)) => Ok(Arc::new(c)),
        Some(Err(e)) => Err(fail(format!("Certificate with {what} cannot be used: {e}"))),
        None => Err(fail(format!("Certificate with {what} was not found."))),
    }
}
