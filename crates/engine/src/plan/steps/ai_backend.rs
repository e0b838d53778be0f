//! Calls the AI-gateway policies make to backend entities of the service (the embeddings
//! backend of the semantic cache, the Azure AI Content Safety backend): the backend's URL, a
//! managed-identity token for Cognitive Services, the backend's credentials, a JSON body.

use std::time::Duration;

use crate::http::Url;
use crate::pipeline::Env;
use crate::services::BackendRequest;

/// The audience of the managed-identity token both services accept.
pub(crate) const COGNITIVE_SERVICES: &str = "https://cognitiveservices.azure.com";

/// How long a call to an AI service may take before it counts as failed.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a call to an AI service gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AiCallError {
    #[error("backend '{0}' could not be found")]
    BackendNotFound(String),
    #[error("backend '{backend}': {message}")]
    Backend { backend: String, message: String },
    #[error("managed identity token for {COGNITIVE_SERVICES}: {0}")]
    Token(String),
    #[error("{0}")]
    Http(String),
    #[error("{service} answered {status}: {body}")]
    Status {
        service: &'static str,
        status: u16,
        body: String,
    },
    #[error("{service} answered with a body that is not the expected JSON: {detail}")]
    Body {
        service: &'static str,
        detail: String,
    },
}

/// The URL of backend `backend_id` (a pool picks a member) with `path` appended and
/// `api-version` added when the URL has none.
pub(crate) fn backend_url(
    env: Env<'_>,
    backend_id: &str,
    path: &str,
    api_version: &str,
) -> Result<(String, Url), AiCallError> {
    let reg = env
        .backends
        .ok_or_else(|| AiCallError::BackendNotFound(backend_id.to_string()))?;
    let selected = reg
        .select(backend_id, &env.services.rng)
        .map_err(|e| match e {
            crate::backends::BackendError::NotFound(id) => AiCallError::BackendNotFound(id),
            other => AiCallError::Backend {
                backend: backend_id.to_string(),
                message: other.to_string(),
            },
        })?;
    let base = selected.url.to_string();
    let (before_query, query) = match base.split_once('?') {
        Some((b, q)) => (b.to_string(), Some(q.to_string())),
        None => (base.clone(), None),
    };
    let mut text = format!("{}{}", before_query.trim_end_matches('/'), path);
    if let Some(q) = query {
        text.push('?');
        text.push_str(&q);
    }
    let mut url = Url::parse(&text).map_err(|e| AiCallError::Backend {
        backend: backend_id.to_string(),
        message: format!("invalid URL '{text}': {e}"),
    })?;
    if url.query().get_joined("api-version").is_none() {
        url.query_mut()
            .set("api-version", vec![api_version.to_string()]);
    }
    Ok((selected.backend_id.to_string(), url))
}

/// POSTs `body` as JSON to `url` with a managed-identity token and the credentials of
/// `backend_id`; the answer's JSON when it is a 2xx.
pub(crate) async fn post_json(
    env: Env<'_>,
    service: &'static str,
    backend_id: &str,
    url: Url,
    body: &serde_json::Value,
) -> Result<serde_json::Value, AiCallError> {
    let token = env
        .services
        .tokens
        .token(COGNITIVE_SERVICES, None)
        .await
        .map_err(|e| AiCallError::Token(e.to_string()))?;
    let mut req = BackendRequest::new("POST", url);
    let header_err = |e: crate::http::HeaderError| AiCallError::Http(e.to_string());
    req.headers
        .set_one("Content-Type", "application/json")
        .map_err(header_err)?;
    req.headers
        .set_one("Authorization", format!("Bearer {}", token.token))
        .map_err(header_err)?;
    if let Some(reg) = env.backends {
        reg.apply_credentials(backend_id, &mut req.headers, &mut req.url)
            .map_err(|e| AiCallError::Backend {
                backend: backend_id.to_string(),
                message: e.to_string(),
            })?;
    }
    req.body = crate::http::Body::from_bytes(body.to_string().into_bytes());
    let mut resp = crate::services::send_with_timeout(
        env.services.http.as_ref(),
        env.services.clock.as_ref(),
        req,
        CALL_TIMEOUT,
    )
    .await
    .map_err(|e| AiCallError::Http(e.to_string()))?;
    resp.body
        .buffer(crate::http::DEFAULT_BUFFER_LIMIT)
        .await
        .map_err(|e| AiCallError::Http(e.to_string()))?;
    let bytes = resp.body.peek().cloned().unwrap_or_default();
    if !(200..300).contains(&resp.status) {
        let text = String::from_utf8_lossy(&bytes);
        return Err(AiCallError::Status {
            service,
            status: resp.status,
            body: text.chars().take(300).collect(),
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| AiCallError::Body {
        service,
        detail: e.to_string(),
    })
}

/// The text of a message `content`: a string, or the `text` of its text parts.
pub(crate) fn content_text(content: &serde_json::Value) -> Option<String> {
    match content {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| p.get("text").and_then(|t| t.as_str()))
                .collect();
            if texts.is_empty() {
                None
            } else {
                Some(texts.join("\n"))
            }
        }
        _ => None,
    }
}

/// The text of a completions `prompt` (a string or an array of strings).
pub(crate) fn prompt_text(prompt: &serde_json::Value) -> Option<String> {
    match prompt {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(items) => {
            let texts: Vec<&str> = items.iter().filter_map(|t| t.as_str()).collect();
            if texts.is_empty() {
                None
            } else {
                Some(texts.join("\n"))
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_of_strings_and_parts() {
        assert_eq!(content_text(&json!("hi")).as_deref(), Some("hi"));
        let parts = json!([{"type":"text","text":"a"},{"type":"image_url","image_url":{}},{"type":"text","text":"b"}]);
        assert_eq!(content_text(&parts).as_deref(), Some("a\nb"));
        assert_eq!(content_text(&json!(null)), None);
        assert_eq!(prompt_text(&json!(["x", "y"])).as_deref(), Some("x\ny"));
    }
}
