//! validate-jwt and validate-azure-ad-token: where the token comes from, real signature checks
//! (jsonwebtoken's primitives), lifetime on the engine clock, audiences, issuers, required
//! claims, and the OpenID configuration / JWKS fetched through the HTTP service and cached per
//! plan (policies.md validate-jwt; failure reasons pipeline.md §6.3).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use apim_csharp::Value;
use jsonwebtoken::{Algorithm, DecodingKey, jwk::Jwk};
use parking_lot::Mutex;
use serde_json::Value as Json;

use super::steps::{Val, boolean, integer, text, trace_policy};
use crate::context::RequestContext;
use crate::errors::{PipelineError, PolicyLocation};
use crate::pipeline::{Env, Flow, StepResult};
use crate::service::ServiceDefinition;
use crate::services::{BackendRequest, Services, send_with_timeout};

/// Where the policy reads the token.
pub(crate) enum TokenSource {
    Header(Val),
    Query(Val),
    Value(Val),
}

/// A `<key>` of `<issuer-signing-keys>`.
pub(crate) enum KeySpec {
    /// Base64 of a symmetric (HMAC) key.
    Symmetric { id: Option<String>, value: Val },
    /// RSA public key from its base64url modulus and exponent.
    Rsa {
        id: Option<String>,
        n: String,
        e: String,
    },
    /// The public key of a certificate of the certificate store.
    Certificate {
        id: Option<String>,
        certificate_id: Val,
    },
}

/// `<required-claims><claim>`.
pub(crate) struct ClaimSpec {
    pub name: String,
    /// `match="any"`; default all.
    pub any: bool,
    pub separator: Option<String>,
    pub values: Vec<Val>,
}

/// What validate-azure-ad-token adds to the generic checks.
pub(crate) struct AadSpec {
    pub tenant: Val,
    pub client_application_ids: Vec<Val>,
    pub backend_application_ids: Vec<Val>,
}

pub(crate) struct JwtSpec {
    pub source: TokenSource,
    pub status: Option<Val>,
    pub message: Option<Val>,
    pub require_expiration: Option<Val>,
    pub require_scheme: Option<Val>,
    pub require_signed: Option<Val>,
    pub clock_skew: Option<Val>,
    pub output_variable: Option<String>,
    pub openid_configs: Vec<Val>,
    pub keys: Vec<KeySpec>,
    pub audiences: Vec<Val>,
    pub issuers: Vec<Val>,
    pub claims: Vec<ClaimSpec>,
    pub aad: Option<AadSpec>,
    /// OpenID configurations and key sets, shared by every request of the plan.
    pub metadata: Arc<OpenIdCache>,
}

/// APIM refreshes the configuration every hour, and at most every 5 minutes when a token names
/// a key the cached set lacks or when retrieval failed (validate-jwt doc).
const REFRESH_AFTER: Duration = Duration::from_secs(3600);
const RETRY_AFTER: Duration = Duration::from_secs(300);
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_DOCUMENT: usize = 4 * 1024 * 1024;

#[derive(Clone)]
struct Metadata {
    issuer: Option<String>,
    keys: Vec<Jwk>,
}

#[derive(Default)]
struct CacheEntry {
    metadata: Option<(Duration, Metadata)>,
    last_attempt: Option<Duration>,
    last_error: String,
}

/// OpenID configurations by URL, on the engine's monotonic clock.
#[derive(Default)]
pub(crate) struct OpenIdCache {
    entries: Mutex<HashMap<String, CacheEntry>>,
}

impl OpenIdCache {
    /// The configuration at `url`: cached for an hour; refetched early (at most every 5
    /// minutes) when `missing_kid` names a key the cached set lacks.
    async fn get(
        &self,
        url: &str,
        missing_kid: Option<&str>,
        services: &Services,
    ) -> Result<Metadata, String> {
        let now = services.clock.monotonic();
        {
            let entries = self.entries.lock();
            if let Some(e) = entries.get(url) {
                let recent_attempt = e
                    .last_attempt
                    .is_some_and(|t| now.saturating_sub(t) < RETRY_AFTER);
                match &e.metadata {
                    Some((at, m)) => {
                        let fresh = now.saturating_sub(*at) < REFRESH_AFTER;
                        let has_kid = missing_kid.is_none_or(|k| {
                            m.keys.iter().any(|j| j.common.key_id.as_deref() == Some(k))
                        });
                        if (fresh && has_kid) || recent_attempt {
                            return Ok(m.clone());
                        }
                    }
                    None if recent_attempt => return Err(e.last_error.clone()),
                    None => {}
                }
            }
        }
        let fetched = fetch_metadata(url, services).await;
        let mut entries = self.entries.lock();
        let e = entries.entry(url.to_string()).or_default();
        e.last_attempt = Some(now);
        match fetched {
            Ok(m) => {
                e.metadata = Some((now, m.clone()));
                Ok(m)
            }
            Err(err) => {
                e.last_error = err.clone();
                match &e.metadata {
                    // A failed refresh keeps the keys already known.
                    Some((_, m)) => Ok(m.clone()),
                    None => Err(err),
                }
            }
        }
    }
}

async fn get_json(url: &str, services: &Services) -> Result<Json, String> {
    let parsed = crate::http::Url::parse(url).map_err(|e| format!("invalid URL '{url}': {e}"))?;
    let req = BackendRequest::new("GET", parsed);
    let resp = send_with_timeout(&*services.http, &*services.clock, req, FETCH_TIMEOUT)
        .await
        .map_err(|e| format!("'{url}': {e}"))?;
    if !(200..300).contains(&resp.status) {
        return Err(format!("'{url}' answered {}", resp.status));
    }
    let bytes = resp
        .body
        .into_bytes(MAX_DOCUMENT)
        .await
        .map_err(|e| format!("'{url}': {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("'{url}' is not JSON: {e}"))
}

async fn fetch_metadata(url: &str, services: &Services) -> Result<Metadata, String> {
    let doc = get_json(url, services).await?;
    let issuer = doc.get("issuer").and_then(Json::as_str).map(str::to_string);
    let jwks_uri = doc
        .get("jwks_uri")
        .and_then(Json::as_str)
        .ok_or_else(|| format!("'{url}' has no jwks_uri"))?;
    let set = get_json(jwks_uri, services).await?;
    let keys = set
        .get("keys")
        .and_then(Json::as_array)
        .ok_or_else(|| format!("'{jwks_uri}' has no keys"))?
        .iter()
        // Keys of kinds jsonwebtoken cannot read are skipped, as .NET skips unknown kinds.
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
        .collect();
    Ok(Metadata { issuer, keys })
}

/// A failed validation: the `context.LastError` reason and message.
struct Failure {
    reason: &'static str,
    message: String,
}

fn fail(reason: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        reason,
        message: message.into(),
    }
}

const NOT_PRESENT: &str = "TokenNotPresent";

type PErr = Box<PipelineError>;

/// Runs validate-jwt / validate-azure-ad-token for one request.
pub(crate) async fn validate(
    spec: &JwtSpec,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> StepResult {
    match check(spec, service, ctx, env, loc).await? {
        Ok(token) => {
            if let Some(var) = &spec.output_variable {
                let jwt = apim_csharp::lib_misc::as_jwt(&token).unwrap_or(Value::Null);
                ctx.variables.set(var.clone(), jwt);
            }
            trace_policy(
                ctx,
                env,
                loc,
                || serde_json::json!({"message": "JWT validated."}),
            );
            Ok(Flow::Continue)
        }
        Err(f) => {
            let status = match &spec.status {
                Some(v) => {
                    let n = integer(v, service, ctx, env, loc)?;
                    u16::try_from(n)
                        .ok()
                        .filter(|c| (100..=599).contains(c))
                        .ok_or_else(|| {
                            Box::new(PipelineError::expression_failure(
                                loc,
                                format!("Status code {n} is not valid."),
                                &ctx.request_id,
                            ))
                        })?
                }
                None => 401,
            };
            let body = match &spec.message {
                Some(m) => text(m, service, ctx, env, loc)?,
                None if f.reason == NOT_PRESENT => "JWT not present.".into(),
                None => "Invalid JWT.".into(),
            };
            trace_policy(
                ctx,
                env,
                loc,
                || serde_json::json!({"reason": f.reason, "message": f.message}),
            );
            Err(Box::new(PipelineError::policy(
                loc,
                f.reason,
                f.message,
                crate::errors::error_response(status, &body),
            )))
        }
    }
}

fn flag(
    v: &Option<Val>,
    default: bool,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<bool, PErr> {
    match v {
        Some(v) => boolean(v, service, ctx, env, loc),
        None => Ok(default),
    }
}

fn texts(
    vals: &[Val],
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<Vec<String>, PErr> {
    let mut out = Vec::with_capacity(vals.len());
    for v in vals {
        out.push(text(v, service, ctx, env, loc)?.trim().to_string());
    }
    Ok(out)
}

/// Strips `scheme` (case-insensitive) and the blanks after it; `None` if absent.
fn strip_scheme<'t>(value: &'t str, scheme: &str) -> Option<&'t str> {
    let v = value.trim_start();
    let head = v.get(..scheme.len())?;
    let rest = &v[scheme.len()..];
    (head.eq_ignore_ascii_case(scheme) && rest.starts_with([' ', '\t'])).then(|| rest.trim())
}

/// `timespan` of clock-skew: seconds, or a .NET TimeSpan `[d.]hh:mm:ss`.
fn parse_skew(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    let (days, rest) = match s.split_once('.') {
        Some((d, r)) if r.contains(':') => (d.parse::<i64>().ok()?, r),
        _ => (0, s),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let [h, m, sec] = parts.as_slice() else {
        return None;
    };
    let sec = sec.split('.').next()?;
    let part = |t: &str| t.trim().parse::<i64>().ok();
    days.checked_mul(86400)?
        .checked_add(part(h)?.checked_mul(3600)?)?
        .checked_add(part(m)?.checked_mul(60)?)?
        .checked_add(part(sec)?)
}

fn b64url(s: &str) -> Option<Vec<u8>> {
    let mut t: String = s.replace('-', "+").replace('_', "/");
    while t.len() % 4 != 0 {
        t.push('=');
    }
    apim_dotnet::convert::from_base64_string(&t).ok()
}

fn json_part(s: &str) -> Option<serde_json::Map<String, Json>> {
    match serde_json::from_slice(&b64url(s)?).ok()? {
        Json::Object(m) => Some(m),
        _ => None,
    }
}

/// A claim's values as .NET's JwtSecurityToken gives them: arrays flattened, non-strings as
/// their JSON text.
fn claim_values(v: &Json) -> Vec<String> {
    match v {
        Json::Array(items) => items.iter().flat_map(claim_values).collect(),
        Json::String(s) => vec![s.clone()],
        Json::Null => vec![],
        other => vec![other.to_string()],
    }
}

fn unix_time(v: Option<&Json>) -> Option<i64> {
    let v = v?;
    v.as_i64()
        .or_else(|| v.as_f64().map(|f| f as i64))
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn utc_text(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.format("%m/%d/%Y %H:%M:%S").to_string())
        .unwrap_or_else(|| secs.to_string())
}

/// Key families; a key is only tried with algorithms of its own family (jsonwebtoken's
/// `crypto::verify` assumes the caller checked, and panics otherwise).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Hmac,
    Rsa,
    Ec,
    Ed,
}

fn family_of(alg: Algorithm) -> Family {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Family::Hmac,
        Algorithm::ES256 | Algorithm::ES384 => Family::Ec,
        Algorithm::EdDSA => Family::Ed,
        _ => Family::Rsa,
    }
}

/// A key to try, with the id it may be matched by against the token's `kid`.
struct Candidate {
    id: Option<String>,
    family: Family,
    key: DecodingKey,
}

/// The token, or why it failed; `Err` outside: an expression of the policy failed.
async fn check(
    spec: &JwtSpec,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<Result<String, Failure>, PErr> {
    // 1. The token.
    let scheme = match &spec.require_scheme {
        Some(v) => Some(text(v, service, ctx, env, loc)?.trim().to_string()),
        None => None,
    };
    let raw = match &spec.source {
        TokenSource::Header(name) => {
            let name = text(name, service, ctx, env, loc)?;
            match ctx.request.headers.get_joined(name.trim()) {
                None => None,
                Some(v) => {
                    let is_authorization = name.trim().eq_ignore_ascii_case("Authorization");
                    match scheme.as_deref().filter(|s| !s.is_empty()) {
                        // require-scheme applies to the Authorization header only.
                        Some(s) if is_authorization => strip_scheme(&v, s).map(str::to_string),
                        _ => Some(strip_scheme(&v, "Bearer").unwrap_or(v.trim()).to_string()),
                    }
                }
            }
        }
        TokenSource::Query(name) => {
            let name = text(name, service, ctx, env, loc)?;
            ctx.request.url.query().get_joined(name.trim())
        }
        TokenSource::Value(v) => Some(text(v, service, ctx, env, loc)?),
    };
    let token = match raw.map(|t| t.trim().to_string()) {
        Some(t) if !t.is_empty() => t,
        _ => return Ok(Err(fail(NOT_PRESENT, "JWT not present."))),
    };

    // 2. Its parts.
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() == 5 {
        return Ok(Err(fail(
            "JwtInvalid",
            "The token is encrypted (JWE): decryption-keys are not supported by the emulator.",
        )));
    }
    let (Some(header), Some(payload), 3) = (
        parts.first().and_then(|p| json_part(p)),
        parts.get(1).and_then(|p| json_part(p)),
        parts.len(),
    ) else {
        return Ok(Err(fail(
            "JwtInvalid",
            "IDX14100: JWT is not well formed: it must be three base64url-encoded JSON segments separated by dots.",
        )));
    };
    let signature = parts[2];
    let signed_part = &token[..parts[0].len() + 1 + parts[1].len()];

    // 3. The signature.
    let require_signed = flag(&spec.require_signed, true, service, ctx, env, loc)?;
    let alg_name = header.get("alg").and_then(Json::as_str).unwrap_or("none");
    let kid = header.get("kid").and_then(Json::as_str).map(str::to_string);
    let mut doc_issuers = Vec::new();
    if alg_name.eq_ignore_ascii_case("none") || signature.is_empty() {
        if require_signed {
            return Ok(Err(fail(
                "TokenSignatureInvalid",
                "IDX10504: Unable to validate signature, token does not have a signature. Access denied.",
            )));
        }
    } else {
        let Ok(alg) = Algorithm::from_str(alg_name) else {
            return Ok(Err(fail(
                "TokenSignatureInvalid",
                format!(
                    "IDX10511: Signature validation failed: the algorithm '{alg_name}' is not supported. Access denied."
                ),
            )));
        };
        let (keys, issuers) =
            match collect_keys(spec, kid.as_deref(), service, ctx, env, loc).await? {
                Ok(k) => k,
                Err(f) => return Ok(Err(f)),
            };
        doc_issuers = issuers;
        if keys.is_empty() {
            return Ok(Err(fail(
                "TokenSignatureKeyNotFound",
                "IDX10500: Signature validation failed. No security keys were provided to validate the signature. Access denied.",
            )));
        }
        // A key whose id matches the token's kid is tried first; others only if none match.
        let matching: Vec<&Candidate> = keys
            .iter()
            .filter(|c| kid.is_some() && c.id == kid)
            .collect();
        let kid_matched = !matching.is_empty();
        let tried: Vec<&Candidate> = if kid_matched {
            matching
        } else {
            keys.iter().collect()
        };
        let ok = tried
            .iter()
            .filter(|c| c.family == family_of(alg))
            .any(|c| {
                jsonwebtoken::crypto::verify(signature, signed_part.as_bytes(), &c.key, alg)
                    .unwrap_or(false)
            });
        if !ok {
            return Ok(Err(match (&kid, kid_matched) {
                (Some(k), false) => fail(
                    "TokenSignatureKeyNotFound",
                    format!(
                        "IDX10503: Signature validation failed. The token's kid '{k}' matches none of the keys tried. Access denied."
                    ),
                ),
                _ => fail(
                    "TokenSignatureInvalid",
                    "IDX10511: Signature validation failed. Access denied.",
                ),
            }));
        }
    }
    if doc_issuers.is_empty() && !spec.openid_configs.is_empty() {
        // An unsigned token still checks its issuer against the configuration.
        match collect_keys(spec, None, service, ctx, env, loc).await? {
            Ok((_, issuers)) => doc_issuers = issuers,
            Err(f) => return Ok(Err(f)),
        }
    }

    // 4. Lifetime, on the engine clock.
    let require_exp = flag(&spec.require_expiration, true, service, ctx, env, loc)?;
    let skew = match &spec.clock_skew {
        Some(v) => {
            let t = text(v, service, ctx, env, loc)?;
            parse_skew(&t).ok_or_else(|| {
                Box::new(PipelineError::expression_failure(
                    loc,
                    format!("clock-skew '{t}' is not a number of seconds or a time span."),
                    &ctx.request_id,
                ))
            })?
        }
        None => 0,
    };
    let now = env.services.clock.now().timestamp();
    let exp = unix_time(payload.get("exp"));
    match exp {
        None if require_exp => {
            return Ok(Err(fail(
                "TokenExpirationTimeMissing",
                "IDX10225: Lifetime validation failed. The token is missing an Expiration Time. Access denied.",
            )));
        }
        Some(e) if e < now.saturating_sub(skew) => {
            return Ok(Err(fail(
                "TokenExpired",
                format!(
                    "IDX10223: Lifetime validation failed. The token is expired. ValidTo (UTC): '{}', Current time (UTC): '{}'. Access denied.",
                    utc_text(e),
                    utc_text(now)
                ),
            )));
        }
        _ => {}
    }
    if let Some(nbf) = unix_time(payload.get("nbf"))
        && nbf > now.saturating_add(skew)
    {
        return Ok(Err(fail(
            "TokenNotYetValid",
            format!(
                "IDX10222: Lifetime validation failed. The token is not yet valid. ValidFrom (UTC): '{}', Current time (UTC): '{}'. Access denied.",
                utc_text(nbf),
                utc_text(now)
            ),
        )));
    }

    // 5. Audience.
    let mut audiences = texts(&spec.audiences, service, ctx, env, loc)?;
    if let Some(aad) = &spec.aad {
        for id in texts(&aad.backend_application_ids, service, ctx, env, loc)? {
            audiences.push(format!("api://{id}"));
            audiences.push(id);
        }
    }
    if !audiences.is_empty() {
        let token_aud = payload.get("aud").map(claim_values).unwrap_or_default();
        if !token_aud.iter().any(|a| audiences.contains(a)) {
            return Ok(Err(fail(
                "TokenAudienceNotAllowed",
                format!(
                    "IDX10214: Audience validation failed. Audiences: '{}'. Did not match: validationParameters.ValidAudiences: '{}'. Access denied.",
                    token_aud.join(", "),
                    audiences.join(", ")
                ),
            )));
        }
    }

    // 6. Issuer.
    let mut issuers = texts(&spec.issuers, service, ctx, env, loc)?;
    issuers.extend(doc_issuers);
    if !issuers.is_empty() {
        let iss = payload.get("iss").and_then(Json::as_str).unwrap_or("");
        let tid = payload.get("tid").and_then(Json::as_str).unwrap_or("");
        // Entra's multi-tenant documents name the issuer with a {tenantid} placeholder.
        if !issuers
            .iter()
            .any(|i| i == iss || i.replace("{tenantid}", tid) == iss)
        {
            return Ok(Err(fail(
                "TokenIssuerNotAllowed",
                format!(
                    "IDX10205: Issuer validation failed. Issuer: '{iss}'. Did not match: validationParameters.ValidIssuers: '{}'. Access denied.",
                    issuers.join(", ")
                ),
            )));
        }
    }

    // 7. Client application (validate-azure-ad-token): azp (v2 tokens) or appid (v1).
    if let Some(aad) = &spec.aad {
        let allowed = texts(&aad.client_application_ids, service, ctx, env, loc)?;
        let (name, app) = match payload.get("azp").and_then(Json::as_str) {
            Some(a) => ("azp", a),
            None => (
                "appid",
                payload.get("appid").and_then(Json::as_str).unwrap_or(""),
            ),
        };
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(app)) {
            return Ok(Err(fail(
                "TokenClaimValueNotAllowed",
                format!("Claim {name} value of {app} is not allowed. Access denied."),
            )));
        }
    }

    // 8. Required claims: every missing one is named, then values are checked.
    let missing: Vec<&str> = spec
        .claims
        .iter()
        .filter(|c| payload.get(&c.name).is_none_or(Json::is_null))
        .map(|c| c.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Ok(Err(fail(
            "TokenClaimNotFound",
            format!(
                "JWT token is missing the following claims: {}. Access denied.",
                missing.join(", ")
            ),
        )));
    }
    for c in &spec.claims {
        if c.values.is_empty() {
            continue;
        }
        let mut have = payload.get(&c.name).map(claim_values).unwrap_or_default();
        if let Some(sep) = c.separator.as_deref().filter(|s| !s.is_empty()) {
            have = have
                .iter()
                .flat_map(|v| v.split(sep).map(|p| p.trim().to_string()))
                .collect();
        }
        let want = texts(&c.values, service, ctx, env, loc)?;
        let ok = if c.any {
            want.iter().any(|w| have.contains(w))
        } else {
            want.iter().all(|w| have.contains(w))
        };
        if !ok {
            return Ok(Err(fail(
                "TokenClaimValueNotAllowed",
                format!(
                    "Claim {} value of {} is not allowed. Access denied.",
                    c.name,
                    have.join(",")
                ),
            )));
        }
    }
    Ok(Ok(token))
}

/// Keys from the policy and from its OpenID configurations, and the configurations' issuers.
/// A configuration that cannot be fetched fails the validation.
async fn collect_keys(
    spec: &JwtSpec,
    kid: Option<&str>,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<Result<(Vec<Candidate>, Vec<String>), Failure>, PErr> {
    let mut keys = Vec::new();
    for k in &spec.keys {
        match k {
            KeySpec::Symmetric { id, value } => {
                let text = text(value, service, ctx, env, loc)?;
                match apim_dotnet::convert::from_base64_string(text.trim()) {
                    Ok(bytes) => keys.push(Candidate {
                        id: id.clone(),
                        family: Family::Hmac,
                        key: DecodingKey::from_secret(&bytes),
                    }),
                    Err(_) => {
                        return Err(Box::new(PipelineError::expression_failure(
                            loc,
                            "The issuer signing key is not a valid Base-64 string.",
                            &ctx.request_id,
                        )));
                    }
                }
            }
            KeySpec::Certificate { id, certificate_id } => {
                let name = text(certificate_id, service, ctx, env, loc)?;
                let Some(cert) = env.services.certificates.by_id(name.trim()) else {
                    return Ok(Err(fail(
                        "TokenSignatureKeyNotFound",
                        format!(
                            "Certificate with id '{}' was not found. Access denied.",
                            name.trim()
                        ),
                    )));
                };
                let pem = cert.certificate_pem().as_bytes();
                // The certificate's public key: RSA or EC (jsonwebtoken reads either from it).
                let key = DecodingKey::from_rsa_pem(pem)
                    .map(|k| (Family::Rsa, k))
                    .or_else(|_| DecodingKey::from_ec_pem(pem).map(|k| (Family::Ec, k)));
                match key {
                    Ok((family, key)) => keys.push(Candidate {
                        id: id.clone(),
                        family,
                        key,
                    }),
                    Err(e) => {
                        return Ok(Err(fail(
                            "TokenSignatureKeyNotFound",
                            format!(
                                "Certificate with id '{}' holds no RSA or EC public key: {e}. Access denied.",
                                name.trim()
                            ),
                        )));
                    }
                }
            }
            KeySpec::Rsa { id, n, e } => match DecodingKey::from_rsa_components(n, e) {
                Ok(key) => keys.push(Candidate {
                    id: id.clone(),
                    family: Family::Rsa,
                    key,
                }),
                Err(err) => {
                    return Err(Box::new(PipelineError::expression_failure(
                        loc,
                        format!("The RSA key (n, e) of issuer-signing-keys is not valid: {err}"),
                        &ctx.request_id,
                    )));
                }
            },
        }
    }
    let mut urls = Vec::new();
    for u in &spec.openid_configs {
        urls.push(text(u, service, ctx, env, loc)?.trim().to_string());
    }
    if let Some(aad) = &spec.aad {
        let tenant = text(&aad.tenant, service, ctx, env, loc)?;
        urls.push(format!(
            "https://login.microsoftonline.com/{}/v2.0/.well-known/openid-configuration",
            tenant.trim()
        ));
    }
    let mut issuers = Vec::new();
    for url in urls {
        let known = |m: &Metadata| {
            kid.is_none_or(|k| m.keys.iter().any(|j| j.common.key_id.as_deref() == Some(k)))
        };
        let mut meta = spec.metadata.get(&url, None, env.services).await;
        if let Ok(m) = &meta
            && !known(m)
        {
            meta = spec.metadata.get(&url, kid, env.services).await;
        }
        let m = match meta {
            Ok(m) => m,
            Err(e) => {
                return Ok(Err(fail(
                    "TokenSignatureKeyNotFound",
                    format!("IDX20803: Unable to obtain configuration from: {e}. Access denied."),
                )));
            }
        };
        if let Some(i) = &m.issuer {
            issuers.push(i.clone());
            if spec.aad.is_some()
                && let Some(t) = i
                    .strip_prefix("https://login.microsoftonline.com/")
                    .and_then(|r| r.strip_suffix("/v2.0"))
            {
                // Entra's v1 access tokens carry the sts.windows.net issuer.
                issuers.push(format!("https://sts.windows.net/{t}/"));
            }
        }
        for j in &m.keys {
            use jsonwebtoken::jwk::AlgorithmParameters as P;
            let family = match &j.algorithm {
                P::RSA(_) => Family::Rsa,
                P::EllipticCurve(_) => Family::Ec,
                P::OctetKeyPair(_) => Family::Ed,
                P::OctetKey(_) => Family::Hmac,
            };
            if let Ok(key) = DecodingKey::from_jwk(j) {
                keys.push(Candidate {
                    id: j.common.key_id.clone(),
                    family,
                    key,
                });
            }
        }
    }
    Ok(Ok((keys, issuers)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_is_stripped_case_insensitively_and_needs_a_blank() {
        assert_eq!(strip_scheme("Bearer abc", "Bearer"), Some("abc"));
        assert_eq!(strip_scheme("bearer   abc ", "Bearer"), Some("abc"));
        assert_eq!(strip_scheme("Bearerabc", "Bearer"), None);
        assert_eq!(strip_scheme("Basic abc", "Bearer"), None);
        assert_eq!(strip_scheme("", "Bearer"), None);
    }

    #[test]
    fn clock_skew_reads_seconds_and_time_spans() {
        assert_eq!(parse_skew("30"), Some(30));
        assert_eq!(parse_skew("00:05:00"), Some(300));
        assert_eq!(parse_skew("1.00:00:01"), Some(86401));
        assert_eq!(parse_skew("soon"), None);
        assert_eq!(
            parse_skew("9223372036854775807.00:00:00"),
            None,
            "overflow is not a skew"
        );
    }

    #[test]
    fn claim_values_flatten_arrays_and_print_non_strings_as_json() {
        let v = serde_json::json!(["a", 1, true, ["b"]]);
        assert_eq!(claim_values(&v), ["a", "1", "true", "b"]);
        assert_eq!(claim_values(&serde_json::json!("x")), ["x"]);
    }
}
