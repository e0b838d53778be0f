//! The `proxy` policy: forward-request (or, nested, a send-request) goes through an HTTP proxy
//! with optional Basic credentials (policies.md proxy); authentication-certificate: the call
//! presents a configured client certificate.

use std::sync::Arc;

use apim_csharp::Value;

use super::steps::{Val, text};
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
    let url = text(&spec.url, service, ctx, env, loc)?.trim().to_string();
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
        Some(u) => Some(text(u, service, ctx, env, loc)?),
        None => None,
    };
    let password = match &spec.password {
        Some(p) => Some(text(p, service, ctx, env, loc)?),
        None => None,
    };
    Ok(ProxyOptions {
        url,
        username,
        password,
    })
}

/// authentication-certificate: a certificate entity by `thumbprint` or `certificate-id`, or
/// PKCS#12 (PFX) bytes given in the policy (`body`, optional `password`).
pub(crate) enum CertificateSpec {
    Thumbprint(Val),
    Id(Val),
    Body { body: Val, password: Option<Val> },
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
        CertificateSpec::Body { body, password } => {
            return from_body(body, password.as_ref(), service, ctx, env, loc);
        }
        CertificateSpec::Id(v) => {
            let id = text(v, service, ctx, env, loc)?.trim().to_string();
            (store.by_id(&id), format!("id '{id}'"))
        }
        CertificateSpec::Thumbprint(v) => {
            let t = text(v, service, ctx, env, loc)?.trim().to_string();
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

/// authentication-certificate `body`: the byte[] the expression yields, read as PKCS#12 with
/// `password` (none: the empty password). Unreadable bytes or a wrong password: a policy error
/// (`CertificateNotValid`, 500) before the backend is called.
fn from_body(
    body: &Val,
    password: Option<&Val>,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<Arc<ClientCertificate>, Box<PipelineError>> {
    let value = super::steps::value(body, service, ctx, env, loc)?;
    let password = match password {
        Some(p) => text(p, service, ctx, env, loc)?,
        None => String::new(),
    };
    let fail = |msg: String| {
        Box::new(PipelineError::policy(
            loc,
            "CertificateNotValid",
            msg,
            crate::errors::internal_error_response(&ctx.request_id),
        ))
    };
    let bytes = match byte_array(&value) {
        Some(b) => b,
        None => {
            return Err(fail(format!(
                "authentication-certificate body must be a byte[] (PKCS#12 certificate), not {}.",
                apim_csharp::render::clr_full_name(&value)
            )));
        }
    };
    ClientCertificate::from_pkcs12(&bytes, &password)
        .map(Arc::new)
        .map_err(|e| {
            fail(format!(
                "The certificate in the body could not be read: {e}."
            ))
        })
}

/// The items of a `byte[]`; anything else: `None`.
fn byte_array(v: &Value) -> Option<Vec<u8>> {
    let Value::Array(seq) = v else { return None };
    seq.items
        .read()
        .iter()
        .map(|x| match x {
            Value::U8(b) => Some(*b),
            _ => None,
        })
        .collect()
}
