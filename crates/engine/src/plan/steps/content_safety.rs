//! llm-content-safety (policies.md §6): the prompt (inbound) or the completions (outbound) go to
//! the Azure AI Content Safety backend (`text:analyze`, and `text:shieldPrompt` with
//! shield-prompt); a category whose severity reaches its threshold, a blocklist match or a
//! detected attack blocks the call with 403.

use std::sync::Arc;

use apim_csharp::Value;

use super::{PErr, Val, ai_backend, boolean, integer, text, trace_policy};
use crate::context::RequestContext;
use crate::errors::{PipelineError, PolicyLocation, Section, error_response};
use crate::pipeline::{Env, Flow, StepResult};
use crate::service::ServiceDefinition;

/// The api-version of the Content Safety calls.
pub(crate) const CONTENT_SAFETY_API_VERSION: &str = "2024-09-01";
/// The longest text `text:analyze` and `text:shieldPrompt` take.
pub(crate) const MAX_CHARACTERS: usize = 10_000;
const CATEGORY_NAMES: [&str; 4] = ["Hate", "SelfHarm", "Sexual", "Violence"];

pub(crate) struct ContentSafetySpec {
    pub backend_id: Val,
    pub shield_prompt: Option<Val>,
    pub window_size: Option<Val>,
    pub window_overlap_size: Option<Val>,
    pub output_type: Option<Val>,
    /// (name, threshold).
    pub categories: Vec<(Val, Val)>,
    pub blocklists: Vec<Val>,
}

/// The text content of a chat completions / completions request or response body.
pub(crate) fn content_of(body: &[u8], response: bool) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut texts = Vec::new();
    if response {
        for c in json.get("choices")?.as_array()? {
            if let Some(t) = c
                .pointer("/message/content")
                .and_then(ai_backend::content_text)
            {
                texts.push(t);
            } else if let Some(t) = c.get("text").and_then(|t| t.as_str()) {
                texts.push(t.to_string());
            }
        }
    } else if let Some(messages) = json.get("messages").and_then(|m| m.as_array()) {
        texts.extend(
            messages
                .iter()
                .filter_map(|m| m.get("content").and_then(ai_backend::content_text)),
        );
    } else {
        texts.push(json.get("prompt").and_then(ai_backend::prompt_text)?);
    }
    if texts.is_empty() {
        None
    } else {
        Some(texts.join("\n"))
    }
}

/// `text` cut in windows of `size` characters, each starting `size - overlap` after the last.
pub(crate) fn windows(text: &str, size: Option<usize>, overlap: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let Some(size) = size.filter(|s| *s > 0 && *s < chars.len()) else {
        return vec![text.to_string()];
    };
    let step = size.saturating_sub(overlap).max(1);
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        let end = (start + size).min(chars.len());
        out.push(chars[start..end].iter().collect());
        if end == chars.len() {
            break;
        }
        start += step;
    }
    out
}

fn blocked(loc: &PolicyLocation, why: String) -> PErr {
    let what = if loc.section == Section::Outbound {
        "The response"
    } else {
        "The request"
    };
    let message = format!("{what} was blocked by content safety: {why}.");
    Box::new(PipelineError::policy(
        loc,
        "ContentSafetyBlocked",
        message.clone(),
        error_response(403, &message),
    ))
}

fn failed(loc: &PolicyLocation, ctx: &RequestContext<'_, Value>, msg: String) -> PErr {
    tracing::warn!(policy = %loc.policy, error = %msg, "llm-content-safety: the Content Safety call failed");
    Box::new(PipelineError::policy(
        loc,
        "ContentSafetyFailure",
        msg,
        crate::errors::internal_error_response(&ctx.request_id),
    ))
}

fn non_negative(
    v: &Val,
    name: &str,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> Result<usize, PErr> {
    let n = integer(v, service, ctx, env, loc)?;
    usize::try_from(n)
        .map_err(|_| super::expr_err(loc, ctx, format!("{name} must not be negative, was {n}")))
}

pub(crate) async fn run(
    spec: &ContentSafetySpec,
    service: &Arc<ServiceDefinition>,
    ctx: &mut RequestContext<'_, Value>,
    env: Env<'_>,
    loc: &PolicyLocation,
) -> StepResult {
    let response = loc.section == Section::Outbound;
    if response
        && ctx.response.body.is_stream()
        && ctx
            .response
            .body
            .buffer(crate::http::DEFAULT_BUFFER_LIMIT)
            .await
            .is_err()
    {
        return Err(failed(
            loc,
            ctx,
            "the response body could not be read".into(),
        ));
    }
    let body = if response {
        ctx.response.body.peek()
    } else {
        ctx.request.body.peek()
    };
    let Some(content) = body.and_then(|b| content_of(b, response)) else {
        trace_policy(
            ctx,
            env,
            loc,
            || serde_json::json!({"checked": false, "reason": "no text content"}),
        );
        return Ok(Flow::Continue);
    };
    let backend_id = text(&spec.backend_id, service, ctx, env, loc)?;
    let shield = match &spec.shield_prompt {
        Some(v) => boolean(v, service, ctx, env, loc)?,
        None => false,
    };
    let output_type = match &spec.output_type {
        Some(v) => text(v, service, ctx, env, loc)?,
        None => "FourSeverityLevels".into(),
    };
    if output_type != "FourSeverityLevels" && output_type != "EightSeverityLevels" {
        return Err(super::expr_err(
            loc,
            ctx,
            format!(
                "output-type '{output_type}' must be FourSeverityLevels or EightSeverityLevels"
            ),
        ));
    }
    let mut categories = Vec::new();
    for (name, threshold) in &spec.categories {
        let name = text(name, service, ctx, env, loc)?;
        let Some(name) = CATEGORY_NAMES.iter().find(|c| **c == name.trim()) else {
            return Err(super::expr_err(
                loc,
                ctx,
                format!("category '{name}' must be Hate, SelfHarm, Sexual or Violence"),
            ));
        };
        let t = integer(threshold, service, ctx, env, loc)?;
        if !(0..=7).contains(&t) {
            return Err(super::expr_err(
                loc,
                ctx,
                format!("the threshold of category {name} must be between 0 and 7, was {t}"),
            ));
        }
        categories.push((*name, t));
    }
    let mut blocklists = Vec::new();
    for b in &spec.blocklists {
        blocklists.push(text(b, service, ctx, env, loc)?.trim().to_string());
    }
    let size = match &spec.window_size {
        Some(v) => Some(non_negative(v, "window-size", service, ctx, env, loc)?),
        None => None,
    };
    let overlap = match &spec.window_overlap_size {
        Some(v) => non_negative(v, "window-overlap-size", service, ctx, env, loc)?,
        None => 0,
    };
    let analyze = !categories.is_empty() || !blocklists.is_empty();
    for window in windows(&content, size, overlap) {
        if window.chars().count() > MAX_CHARACTERS {
            return Err(blocked(
                loc,
                format!(
                    "the text exceeds the {MAX_CHARACTERS}-character limit of Azure AI Content Safety"
                ),
            ));
        }
        if analyze {
            let body = serde_json::json!({
                "text": window,
                "categories": categories.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
                "blocklistNames": blocklists,
                "haltOnBlocklistHit": false,
                "outputType": output_type,
            });
            let answer = call(env, &backend_id, "/contentsafety/text:analyze", &body)
                .await
                .map_err(|e| failed(loc, ctx, e.to_string()))?;
            if let Some(m) = answer
                .get("blocklistsMatch")
                .and_then(|m| m.as_array())
                .and_then(|m| m.first())
            {
                let list = m
                    .get("blocklistName")
                    .and_then(|n| n.as_str())
                    .unwrap_or("");
                return Err(blocked(loc, format!("it matches blocklist {list}")));
            }
            let analysis = answer
                .get("categoriesAnalysis")
                .and_then(|c| c.as_array())
                .cloned()
                .unwrap_or_default();
            for (name, threshold) in &categories {
                let severity = analysis
                    .iter()
                    .find(|a| a.get("category").and_then(|c| c.as_str()) == Some(name))
                    .and_then(|a| a.get("severity"))
                    .and_then(|s| s.as_i64())
                    .unwrap_or(0);
                trace_policy(
                    ctx,
                    env,
                    loc,
                    || serde_json::json!({"category": name, "severity": severity, "threshold": threshold}),
                );
                if severity >= *threshold {
                    return Err(blocked(
                        loc,
                        format!(
                            "category {name} has severity {severity}, at or above the threshold {threshold}"
                        ),
                    ));
                }
            }
        }
        if shield {
            let body = serde_json::json!({ "userPrompt": window, "documents": [] });
            let answer = call(env, &backend_id, "/contentsafety/text:shieldPrompt", &body)
                .await
                .map_err(|e| failed(loc, ctx, e.to_string()))?;
            let user = answer
                .pointer("/userPromptAnalysis/attackDetected")
                .and_then(|a| a.as_bool())
                .unwrap_or(false);
            let documents = answer
                .get("documentsAnalysis")
                .and_then(|d| d.as_array())
                .is_some_and(|d| {
                    d.iter()
                        .any(|a| a.get("attackDetected").and_then(|x| x.as_bool()) == Some(true))
                });
            trace_policy(
                ctx,
                env,
                loc,
                || serde_json::json!({"shieldPrompt": {"attackDetected": user || documents}}),
            );
            if user || documents {
                return Err(blocked(loc, "a prompt attack was detected".into()));
            }
        }
    }
    Ok(Flow::Continue)
}

async fn call(
    env: Env<'_>,
    backend_id: &str,
    path: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value, ai_backend::AiCallError> {
    let (id, url) = ai_backend::backend_url(env, backend_id, path, CONTENT_SAFETY_API_VERSION)?;
    ai_backend::post_json(env, "Azure AI Content Safety", &id, url, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_overlap_and_cover_the_text() {
        assert_eq!(windows("abcdefg", None, 0), vec!["abcdefg"]);
        assert_eq!(windows("abcdefg", Some(3), 0), vec!["abc", "def", "g"]);
        assert_eq!(windows("abcdefg", Some(3), 1), vec!["abc", "cde", "efg"]);
        assert_eq!(windows("abc", Some(5), 1), vec!["abc"]);
        assert_eq!(windows("abcd", Some(2), 5), vec!["ab", "bc", "cd"]);
    }

    #[test]
    fn content_of_requests_and_responses() {
        let req = br#"{"messages":[{"role":"system","content":"Be kind"},{"role":"user","content":"Hi"}]}"#;
        assert_eq!(content_of(req, false).as_deref(), Some("Be kind\nHi"));
        let resp =
            br#"{"choices":[{"message":{"role":"assistant","content":"Hello"}},{"text":"x"}]}"#;
        assert_eq!(content_of(resp, true).as_deref(), Some("Hello\nx"));
        assert_eq!(
            content_of(br#"{"prompt":"p"}"#, false).as_deref(),
            Some("p")
        );
        assert_eq!(content_of(b"nope", false), None);
    }
}
