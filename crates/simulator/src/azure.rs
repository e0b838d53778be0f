//! Azure OpenAI's error bodies and the content-filter annotations it adds to answers.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Body;

/// A JSON response.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut r = Response::new(Body::from(Bytes::from(bytes)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `{"error": {"code": ..., "message": ...}}`: the short form Azure uses for 401/404/429/503.
pub fn short_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
}

/// `{"error": {"code", "message", "param", "type"}}`: the request-validation form.
pub fn invalid_request(code: Option<&str>, message: &str, param: Option<&str>) -> Response<Body> {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": {"code": code, "message": message, "param": param, "type": "invalid_request_error"}}),
    )
}

pub fn resource_not_found() -> Response<Body> {
    short_error(StatusCode::NOT_FOUND, "404", "Resource not found")
}

pub fn access_denied() -> Response<Body> {
    short_error(
        StatusCode::UNAUTHORIZED,
        "401",
        "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
    )
}

pub fn deployment_not_found() -> Response<Body> {
    short_error(
        StatusCode::NOT_FOUND,
        "DeploymentNotFound",
        "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
    )
}

pub fn bad_json() -> Response<Body> {
    invalid_request(
        None,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
        None,
    )
}

pub fn internal_error() -> Response<Body> {
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({"error": {"code": null, "message": "The server had an error while processing your request. Sorry about that!", "param": null, "type": "server_error"}}),
    )
}

pub fn service_unavailable() -> Response<Body> {
    short_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "ServiceUnavailable",
        "The service is temporarily unable to process your request. Please try again later.",
    )
}

/// One harm category's verdict.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Verdict {
    pub filtered: bool,
    pub severity: &'static str,
}

/// A detection (jailbreak, protected material).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Detection {
    pub filtered: bool,
    pub detected: bool,
}

/// `content_filter_results` of a choice.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ContentFilterResults {
    pub hate: Verdict,
    pub self_harm: Verdict,
    pub sexual: Verdict,
    pub violence: Verdict,
}

const SAFE_VERDICT: Verdict = Verdict {
    filtered: false,
    severity: "safe",
};

/// Safe verdicts for the four harm categories.
pub const SAFE: ContentFilterResults = ContentFilterResults {
    hate: SAFE_VERDICT,
    self_harm: SAFE_VERDICT,
    sexual: SAFE_VERDICT,
    violence: SAFE_VERDICT,
};

/// `content_filter_results` of a prompt.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PromptContentFilterResults {
    pub hate: Verdict,
    pub jailbreak: Detection,
    pub self_harm: Verdict,
    pub sexual: Verdict,
    pub violence: Verdict,
}

/// One entry of `prompt_filter_results`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PromptFilterResult {
    pub prompt_index: u32,
    pub content_filter_results: PromptContentFilterResults,
}

/// The safe result for prompt 0.
pub const SAFE_PROMPT: PromptFilterResult = PromptFilterResult {
    prompt_index: 0,
    content_filter_results: PromptContentFilterResults {
        hate: SAFE_VERDICT,
        jailbreak: Detection {
            filtered: false,
            detected: false,
        },
        self_harm: SAFE_VERDICT,
        sexual: SAFE_VERDICT,
        violence: SAFE_VERDICT,
    },
};

/// Safe verdicts for the four harm categories, as JSON.
pub fn content_filter_results() -> Value {
    serde_json::to_value(SAFE).unwrap_or(Value::Null)
}

/// `prompt_filter_results` for prompt 0, as JSON.
pub fn prompt_filter_results() -> Value {
    serde_json::to_value([SAFE_PROMPT]).unwrap_or(Value::Null)
}
