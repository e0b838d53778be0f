//! `context.LastError`, the errors the pipeline raises, and the responses the gateway itself
//! produces, with APIM's exact bodies and headers (pipeline.md §6-7).

use std::fmt;
use std::time::Duration;

use crate::http::{Body, Response};
use crate::services::HttpError;

/// Pipeline section (`context.LastError.Section`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    Inbound,
    Backend,
    Outbound,
    OnError,
}

impl Section {
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Inbound => "inbound",
            Section::Backend => "backend",
            Section::Outbound => "outbound",
            Section::OnError => "on-error",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Policy scope (`context.LastError.Scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Global,
    Workspace,
    Product,
    Api,
    Operation,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Workspace => "workspace",
            Scope::Product => "product",
            Scope::Api => "api",
            Scope::Operation => "operation",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `context.LastError` (`ProxyError`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LastError {
    /// Policy name (`rate-limit`) or built-in step (`configuration`, `authorization`).
    pub source: String,
    pub reason: String,
    pub message: String,
    pub scope: String,
    pub section: String,
    /// Nesting path, e.g. `choose[3]/when[2]`.
    pub path: String,
    /// The failing policy's `id` attribute.
    pub policy_id: Option<String>,
}

/// Where a policy sits, for filling `LastError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyLocation {
    pub policy: String,
    pub scope: Scope,
    pub section: Section,
    pub path: String,
    pub policy_id: Option<String>,
}

impl LastError {
    pub fn at(loc: &PolicyLocation, reason: &str, message: impl Into<String>) -> Self {
        LastError {
            source: loc.policy.clone(),
            reason: reason.to_string(),
            message: message.into(),
            scope: loc.scope.as_str().to_string(),
            section: loc.section.as_str().to_string(),
            path: loc.path.clone(),
            policy_id: loc.policy_id.clone(),
        }
    }

    /// Built-in pipeline steps run before inbound; we report them as global scope, inbound section.
    fn builtin(source: &str, reason: &str, message: &str) -> Self {
        LastError {
            source: source.into(),
            reason: reason.into(),
            message: message.into(),
            scope: Scope::Global.as_str().into(),
            section: Section::Inbound.as_str().into(),
            path: String::new(),
            policy_id: None,
        }
    }
}

/// An error raised in the pipeline: what on-error sees in `context.LastError`, and the response
/// the client gets unless on-error changes it (already in `context.Response` during on-error).
#[derive(Debug)]
pub struct PipelineError {
    pub last_error: LastError,
    pub response: Response,
}

pub const MSG_KEY_MISSING: &str = "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.";
pub const MSG_KEY_MISSING_TABLE: &str = "Access denied due to missing subscription key. Make sure to include subscription key when making requests to this API.";
pub const MSG_KEY_INVALID: &str = "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.";
pub const MSG_OPERATION_NOT_FOUND: &str = "Unable to match incoming request to an operation.";

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// APIM's error body: `{ "statusCode": 404, "message": "Resource not found" }`.
pub fn error_body(status: u16, message: &str) -> String {
    format!(
        "{{ \"statusCode\": {status}, \"message\": {} }}",
        json_string(message)
    )
}

/// A gateway-generated JSON error response.
pub fn error_response(status: u16, message: &str) -> Response {
    let mut r = Response::new(status);
    // Header names and values here are constants, so these cannot fail.
    let _ = r.headers.set_one("Content-Type", "application/json");
    r.body = Body::from(error_body(status, message));
    r
}

/// 401 for a missing key, with `WWW-Authenticate` naming the key header. `realm` is the
/// gateway URL of the API.
pub fn missing_key_response(realm: &str, header_name: &str) -> Response {
    let mut r = error_response(401, MSG_KEY_MISSING);
    r.reason = "Access Denied".into();
    let realm = realm.replace('"', "%22");
    let header_name = header_name.replace('"', "%22");
    let _ = r.headers.set_one(
        "WWW-Authenticate",
        format!("AzureApiManagementKey realm=\"{realm}\",name=\"{header_name}\",type=\"header\""),
    );
    r
}

/// 401 for an invalid or inactive key.
pub fn invalid_key_response(realm: &str, header_name: &str) -> Response {
    let mut r = missing_key_response(realm, header_name);
    r.body = Body::from(error_body(401, MSG_KEY_INVALID));
    r
}

pub fn not_found_response() -> Response {
    error_response(404, "Resource not found")
}

/// 500 with the request id as `activityId`.
pub fn internal_error_response(activity_id: &str) -> Response {
    let mut r = Response::new(500);
    let _ = r.headers.set_one("Content-Type", "application/json");
    r.body = Body::from(format!(
        "{{ \"statusCode\": 500, \"message\": \"Internal server error\", \"activityId\": {} }}",
        json_string(activity_id)
    ));
    r
}

fn with_retry_after(mut r: Response, header: Option<&str>, retry_after_secs: u64) -> Response {
    if let Some(h) = header {
        if r.headers.set_one(h, retry_after_secs.to_string()).is_err() {
            let _ = r
                .headers
                .set_one("Retry-After", retry_after_secs.to_string());
        }
    }
    r
}

/// 429 from rate-limit / rate-limit-by-key. `retry_after_header` is the policy's header name
/// (`Retry-After` by default, `None` when the policy turns it off).
pub fn rate_limit_response(retry_after_secs: u64, retry_after_header: Option<&str>) -> Response {
    let r = error_response(
        429,
        &format!("Rate limit is exceeded. Try again in {retry_after_secs} seconds."),
    );
    with_retry_after(r, retry_after_header, retry_after_secs)
}

/// 429 from the token limit (tokens-per-minute).
pub fn token_limit_response(retry_after_secs: u64, retry_after_header: Option<&str>) -> Response {
    let r = error_response(
        429,
        &format!("Token limit is exceeded. Try again in {retry_after_secs} seconds."),
    );
    with_retry_after(r, retry_after_header, retry_after_secs)
}

/// Which quota ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaKind {
    Calls,
    Bandwidth,
}

/// 403 from quota / quota-by-key: `Out of call volume quota. Quota will be replenished in 00:05:00.`
pub fn quota_response(kind: QuotaKind, renewal_in: Duration) -> Response {
    let what = match kind {
        QuotaKind::Calls => "call volume",
        QuotaKind::Bandwidth => "bandwidth",
    };
    let secs = renewal_in.as_secs() + u64::from(renewal_in.subsec_nanos() > 0);
    let text = format_timespan(Duration::from_secs(secs));
    let r = error_response(
        403,
        &format!("Out of {what} quota. Quota will be replenished in {text}."),
    );
    with_retry_after(r, Some("Retry-After"), secs)
}

/// 403 from the token quota: `Token quota is exceeded. Try again in 21 minutes and 33 seconds.`
pub fn token_quota_response(retry_after: Duration, retry_after_header: Option<&str>) -> Response {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let r = error_response(
        403,
        &format!(
            "Token quota is exceeded. Try again in {}.",
            wait_in_words(secs)
        ),
    );
    with_retry_after(r, retry_after_header, secs)
}

/// 503 when no backend can take the call (circuit breaker open, whole pool tripped).
pub fn backend_unavailable_response() -> Response {
    error_response(503, "Service Unavailable")
}

/// .NET `TimeSpan.ToString()` ("c" format): `[-][d.]hh:mm:ss[.fffffff]`.
pub fn format_timespan(d: Duration) -> String {
    let total = d.as_secs();
    let (days, h, m, s) = (
        total / 86400,
        total / 3600 % 24,
        total / 60 % 60,
        total % 60,
    );
    let ticks = d.subsec_nanos() / 100;
    let mut out = String::new();
    if days > 0 {
        out.push_str(&format!("{days}."));
    }
    out.push_str(&format!("{h:02}:{m:02}:{s:02}"));
    if ticks > 0 {
        out.push_str(&format!(".{ticks:07}"));
    }
    out
}

/// A wait in words, as the token-quota message phrases it: the two largest non-zero units
/// (`21 minutes and 33 seconds`, `23 hours`, `24 days and 14 hours`, `1 second`).
pub fn wait_in_words(secs: u64) -> String {
    let units = [
        (secs / 86400, "day"),
        (secs / 3600 % 24, "hour"),
        (secs / 60 % 60, "minute"),
        (secs % 60, "second"),
    ];
    let parts: Vec<String> = units
        .iter()
        .filter(|(n, _)| *n > 0)
        .take(2)
        .map(|(n, u)| format!("{n} {u}{}", if *n == 1 { "" } else { "s" }))
        .collect();
    match parts.len() {
        0 => "0 seconds".into(),
        1 => parts[0].clone(),
        _ => format!("{} and {}", parts[0], parts[1]),
    }
}

impl PipelineError {
    /// Built-in 404: no API or operation matched.
    pub fn operation_not_found() -> Self {
        PipelineError {
            last_error: LastError::builtin(
                "configuration",
                "OperationNotFound",
                MSG_OPERATION_NOT_FOUND,
            ),
            response: not_found_response(),
        }
    }

    /// Built-in 401: no subscription key.
    pub fn subscription_key_not_found(realm: &str, header_name: &str) -> Self {
        PipelineError {
            last_error: LastError::builtin(
                "authorization",
                "SubscriptionKeyNotFound",
                MSG_KEY_MISSING_TABLE,
            ),
            response: missing_key_response(realm, header_name),
        }
    }

    /// Built-in 401: key not valid for this API.
    pub fn subscription_key_invalid(realm: &str, header_name: &str) -> Self {
        PipelineError {
            last_error: LastError::builtin(
                "authorization",
                "SubscriptionKeyInvalid",
                MSG_KEY_INVALID,
            ),
            response: invalid_key_response(realm, header_name),
        }
    }

    /// An expression threw at run time: 500 with the request id.
    pub fn expression_failure(
        loc: &PolicyLocation,
        message: impl Into<String>,
        request_id: &str,
    ) -> Self {
        PipelineError {
            last_error: LastError::at(loc, "ExpressionValueEvaluationFailure", message),
            response: internal_error_response(request_id),
        }
    }

    /// A backend call failed (connection, TLS, garbage, timeout): 500 with the request id.
    pub fn backend_failure(loc: &PolicyLocation, err: &HttpError, request_id: &str) -> Self {
        PipelineError {
            last_error: LastError::at(loc, err.reason(), err.to_string()),
            response: internal_error_response(request_id),
        }
    }

    /// No backend can take the call (breaker open / pool exhausted): 503.
    pub fn backend_unavailable(loc: &PolicyLocation, message: impl Into<String>) -> Self {
        PipelineError {
            last_error: LastError::at(loc, "BackendUnavailable", message),
            response: backend_unavailable_response(),
        }
    }

    /// A policy refused the request with its own response (rate-limit, check-header, ...).
    pub fn policy(
        loc: &PolicyLocation,
        reason: &str,
        message: impl Into<String>,
        response: Response,
    ) -> Self {
        PipelineError {
            last_error: LastError::at(loc, reason, message),
            response,
        }
    }
}

/// Waits between `retry` attempts (policies.md `retry`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryBackoff {
    pub interval: Duration,
    pub max_interval: Option<Duration>,
    pub delta: Option<Duration>,
    pub first_fast_retry: bool,
}

impl RetryBackoff {
    /// Wait before the `retry`-th retry (1-based). Fixed: `interval`. Linear (delta):
    /// `interval + (n-1)·delta`. Exponential (delta and max-interval):
    /// `min(interval + (2^k − 1)·random(0.8·delta, 1.2·delta), max-interval)` with the zero-based
    /// k = n-1. `first-fast-retry`: the first retry is immediate; later ones keep their index.
    pub fn delay(&self, retry: u32, rng: &crate::services::Rng) -> Duration {
        if retry == 0 || (self.first_fast_retry && retry == 1) {
            return Duration::ZERO;
        }
        let n = retry - 1;
        let d = match (self.delta, self.max_interval) {
            (None, _) => self.interval,
            (Some(delta), None) => self.interval.saturating_add(delta.saturating_mul(n)),
            (Some(delta), Some(max)) => {
                let factor = 2f64.powi(n.min(60) as i32) - 1.0;
                let jitter = rng.range_f64(delta.as_secs_f64() * 0.8, delta.as_secs_f64() * 1.2);
                let secs = self.interval.as_secs_f64() + factor * jitter;
                if !secs.is_finite() || secs >= max.as_secs_f64() {
                    max
                } else {
                    Duration::from_secs_f64(secs)
                }
            }
        };
        match (self.delta, self.max_interval) {
            (Some(_), Some(max)) => d.min(max),
            _ => d,
        }
    }
}

/// The retries of one `retry` execution: `count` retries at most, each after its backoff.
#[derive(Debug, Clone)]
pub struct RetrySchedule {
    backoff: RetryBackoff,
    count: u32,
    done: u32,
}

impl RetrySchedule {
    pub fn new(backoff: RetryBackoff, count: u32) -> Self {
        RetrySchedule {
            backoff,
            count,
            done: 0,
        }
    }

    /// The wait before the next retry, or `None` once `count` retries were made. Call after the
    /// children ran and the condition was true.
    pub fn next_delay(&mut self, rng: &crate::services::Rng) -> Option<Duration> {
        if self.done >= self.count {
            return None;
        }
        self.done += 1;
        Some(self.backoff.delay(self.done, rng))
    }

    /// Retries made so far.
    pub fn retries(&self) -> u32 {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::Rng;

    fn body(r: Response) -> String {
        let mut r = r;
        r.body.read_text(false).unwrap()
    }

    #[test]
    fn subscription_key_responses() {
        let r = missing_key_response(
            "https://contoso.azure-api.net/echo",
            "Ocp-Apim-Subscription-Key",
        );
        assert_eq!((r.status, r.reason.as_str()), (401, "Access Denied"));
        assert_eq!(
            r.headers.first("WWW-Authenticate"),
            Some(
                "AzureApiManagementKey realm=\"https://contoso.azure-api.net/echo\",name=\"Ocp-Apim-Subscription-Key\",type=\"header\""
            )
        );
        assert_eq!(r.headers.first("content-type"), Some("application/json"));
        assert_eq!(
            body(r),
            "{ \"statusCode\": 401, \"message\": \"Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.\" }"
        );
        assert_eq!(
            body(invalid_key_response("x", "api-key")),
            "{ \"statusCode\": 401, \"message\": \"Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.\" }"
        );
    }

    #[test]
    fn not_found_and_internal_error_bodies() {
        assert_eq!(
            body(not_found_response()),
            "{ \"statusCode\": 404, \"message\": \"Resource not found\" }"
        );
        let r = internal_error_response("0c4e2b0f-1e4d-4a38-9d4b-1f7a3b1f2c3d");
        assert_eq!(r.status, 500);
        assert_eq!(
            body(r),
            "{ \"statusCode\": 500, \"message\": \"Internal server error\", \"activityId\": \"0c4e2b0f-1e4d-4a38-9d4b-1f7a3b1f2c3d\" }"
        );
        assert_eq!(
            error_body(400, "a \"quoted\" text"),
            "{ \"statusCode\": 400, \"message\": \"a \\\"quoted\\\" text\" }"
        );
    }

    #[test]
    fn limit_responses() {
        let r = rate_limit_response(17, Some("Retry-After"));
        assert_eq!(
            (r.status, r.headers.first("Retry-After")),
            (429, Some("17"))
        );
        assert_eq!(
            body(r),
            "{ \"statusCode\": 429, \"message\": \"Rate limit is exceeded. Try again in 17 seconds.\" }"
        );
        let t = token_limit_response(42, Some("x-retry"));
        assert_eq!(t.headers.first("x-retry"), Some("42"));
        assert_eq!(
            body(t),
            "{ \"statusCode\": 429, \"message\": \"Token limit is exceeded. Try again in 42 seconds.\" }"
        );
        assert!(
            token_limit_response(1, None)
                .headers
                .first("Retry-After")
                .is_none()
        );
        let q = quota_response(QuotaKind::Calls, Duration::from_secs(300));
        assert_eq!(
            (q.status, q.headers.first("Retry-After")),
            (403, Some("300"))
        );
        assert_eq!(
            body(q),
            "{ \"statusCode\": 403, \"message\": \"Out of call volume quota. Quota will be replenished in 00:05:00.\" }"
        );
        let big = quota_response(
            QuotaKind::Bandwidth,
            Duration::from_secs(14 * 86400 + 7 * 3600 + 13 * 60 + 56),
        );
        assert_eq!(
            body(big),
            "{ \"statusCode\": 403, \"message\": \"Out of bandwidth quota. Quota will be replenished in 14.07:13:56.\" }"
        );
        let tq = token_quota_response(Duration::from_secs(21 * 60 + 33), Some("Retry-After"));
        assert_eq!(
            body(tq),
            "{ \"statusCode\": 403, \"message\": \"Token quota is exceeded. Try again in 21 minutes and 33 seconds.\" }"
        );
        assert_eq!(backend_unavailable_response().status, 503);
    }

    #[test]
    fn timespans_and_words() {
        assert_eq!(format_timespan(Duration::from_secs(0)), "00:00:00");
        assert_eq!(
            format_timespan(Duration::from_millis(1500)),
            "00:00:01.5000000"
        );
        assert_eq!(format_timespan(Duration::from_secs(86400)), "1.00:00:00");
        assert_eq!(wait_in_words(23 * 3600), "23 hours");
        assert_eq!(wait_in_words(1), "1 second");
        assert_eq!(wait_in_words(61), "1 minute and 1 second");
        assert_eq!(
            wait_in_words(24 * 86400 + 14 * 3600 + 5),
            "24 days and 14 hours"
        );
        assert_eq!(wait_in_words(0), "0 seconds");
    }

    #[test]
    fn builtin_errors_fill_last_error() {
        let e = PipelineError::operation_not_found();
        assert_eq!(
            (e.last_error.source.as_str(), e.last_error.reason.as_str()),
            ("configuration", "OperationNotFound")
        );
        assert_eq!(
            e.last_error.message,
            "Unable to match incoming request to an operation."
        );
        assert_eq!(e.response.status, 404);
        let k =
            PipelineError::subscription_key_not_found("http://gw/api", "Ocp-Apim-Subscription-Key");
        assert_eq!(
            (k.last_error.source.as_str(), k.last_error.reason.as_str()),
            ("authorization", "SubscriptionKeyNotFound")
        );
        let loc = PolicyLocation {
            policy: "forward-request".into(),
            scope: Scope::Global,
            section: Section::Backend,
            path: "forward-request[1]".into(),
            policy_id: Some("fwd".into()),
        };
        let b = PipelineError::backend_failure(&loc, &HttpError::Timeout, "rid");
        assert_eq!(b.last_error.reason, "Timeout");
        assert_eq!(
            b.last_error.message,
            "Request to the backend service timed out"
        );
        assert_eq!(
            (b.last_error.scope.as_str(), b.last_error.section.as_str()),
            ("global", "backend")
        );
        assert_eq!(b.last_error.policy_id.as_deref(), Some("fwd"));
        assert_eq!(b.response.status, 500);
        let c =
            PipelineError::backend_failure(&loc, &HttpError::ConnectionRefused("x".into()), "rid");
        assert_eq!(c.last_error.reason, "BackendConnectionFailure");
    }

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    #[test]
    fn retry_backoff_fixed_linear_exponential() {
        let rng = Rng::seeded(3);
        let fixed = RetryBackoff {
            interval: Duration::from_secs(5),
            max_interval: None,
            delta: None,
            first_fast_retry: false,
        };
        assert_eq!(
            (1..=3)
                .map(|n| secs(fixed.delay(n, &rng)))
                .collect::<Vec<_>>(),
            [5.0, 5.0, 5.0]
        );
        let linear = RetryBackoff {
            delta: Some(Duration::from_secs(2)),
            ..fixed
        };
        assert_eq!(
            (1..=3)
                .map(|n| secs(linear.delay(n, &rng)))
                .collect::<Vec<_>>(),
            [5.0, 7.0, 9.0]
        );
        let exp = RetryBackoff {
            interval: Duration::from_secs(10),
            delta: Some(Duration::from_secs(10)),
            max_interval: Some(Duration::from_secs(100)),
            first_fast_retry: false,
        };
        // Documented example: ≈ 10, 20, 40, 80, 100, 100.
        let waits: Vec<f64> = (1..=6).map(|n| secs(exp.delay(n, &rng))).collect();
        assert_eq!(waits[0], 10.0);
        assert!((18.0..=22.0).contains(&waits[1]), "{waits:?}");
        assert!((34.0..=46.0).contains(&waits[2]), "{waits:?}");
        assert!((66.0..=94.0).contains(&waits[3]), "{waits:?}");
        assert_eq!(&waits[4..], [100.0, 100.0]);
        let fast = RetryBackoff {
            first_fast_retry: true,
            ..linear
        };
        assert_eq!(
            (1..=3)
                .map(|n| secs(fast.delay(n, &rng)))
                .collect::<Vec<_>>(),
            [0.0, 7.0, 9.0]
        );
        assert_eq!(exp.delay(50, &rng), Duration::from_secs(100));
        // max-interval without delta: fixed interval.
        let no_delta = RetryBackoff {
            max_interval: Some(Duration::from_secs(1)),
            ..fixed
        };
        assert_eq!(no_delta.delay(4, &rng), Duration::from_secs(5));
    }

    #[test]
    fn schedule_stops_after_count_retries() {
        let rng = Rng::seeded(1);
        let b = RetryBackoff {
            interval: Duration::from_secs(1),
            max_interval: None,
            delta: Some(Duration::from_secs(1)),
            first_fast_retry: false,
        };
        let mut s = RetrySchedule::new(b, 3);
        let waits: Vec<Duration> = std::iter::from_fn(|| s.next_delay(&rng)).collect();
        assert_eq!(
            waits,
            [
                Duration::from_secs(1),
                Duration::from_secs(2),
                Duration::from_secs(3)
            ]
        );
        assert_eq!(s.retries(), 3);
    }

    #[test]
    fn jitter_is_deterministic_per_seed() {
        let exp = RetryBackoff {
            interval: Duration::from_secs(1),
            delta: Some(Duration::from_secs(1)),
            max_interval: Some(Duration::from_secs(1000)),
            first_fast_retry: false,
        };
        let a: Vec<Duration> = (1..6).map(|n| exp.delay(n, &Rng::seeded(9))).collect();
        let b: Vec<Duration> = (1..6).map(|n| exp.delay(n, &Rng::seeded(9))).collect();
        assert_eq!(a, b);
    }
}
