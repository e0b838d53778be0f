//! Token usage of a backend response, shared by the token-limit policies (what is counted)
//! and the token-metric policies (what is emitted): the `usage` of a JSON response or, for a
//! streamed (server-sent events) response, of its last chunk that carries one.

use apim_csharp::Value;

use crate::context::RequestContext;

/// Token counts of one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Usage {
    pub prompt: u64,
    pub completion: u64,
    pub total: u64,
    /// Counted by the emulator (a stream without a usage event), not reported by the backend.
    pub estimated: bool,
}

/// What the response body says about usage.
pub(crate) enum Reported {
    /// A `usage` object was found.
    Usage(Usage),
    /// A server-sent events stream without a usage event: the text the stream produced and the
    /// model it named, for estimating.
    StreamWithoutUsage {
        completion_text: String,
        model: Option<String>,
    },
    /// Neither (an error body, a non-JSON response...).
    None,
}

/// Reads the response body without consuming it (a stream is buffered first).
pub(crate) async fn reported(ctx: &mut RequestContext<'_, Value>) -> Reported {
    if ctx.response.body.is_stream()
        && ctx
            .response
            .body
            .buffer(crate::http::DEFAULT_BUFFER_LIMIT)
            .await
            .is_err()
    {
        return Reported::None;
    }
    let Some(bytes) = ctx.response.body.peek() else {
        return Reported::None;
    };
    // A JSON response: only `usage` is read (typed, the rest skipped without building it).
    if let Ok(doc) = serde_json::from_slice::<WithUsage>(bytes) {
        return match doc.usage.and_then(RawUsage::usage) {
            Some(u) => Reported::Usage(u),
            None => Reported::None,
        };
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
        // JSON whose `usage` is not an object of counts.
        return Reported::None;
    }
    let text = String::from_utf8_lossy(bytes);
    let chunks: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d.trim()).ok())
        .collect();
    if chunks.is_empty() {
        return Reported::None;
    }
    if let Some(u) = chunks.iter().rev().find_map(usage_of) {
        return Reported::Usage(u);
    }
    let mut completion_text = String::new();
    let mut model = None;
    for c in &chunks {
        if model.is_none() {
            model = c.get("model").and_then(|m| m.as_str()).map(str::to_string);
        }
        let Some(choices) = c.get("choices").and_then(|c| c.as_array()) else {
            continue;
        };
        for choice in choices {
            // Chat chunks carry `delta.content`, completions chunks `text`.
            let piece = choice
                .get("delta")
                .and_then(|d| d.get("content"))
                .or_else(|| choice.get("text"))
                .and_then(|t| t.as_str());
            if let Some(p) = piece {
                completion_text.push_str(p);
            }
        }
    }
    Reported::StreamWithoutUsage {
        completion_text,
        model,
    }
}

#[derive(serde::Deserialize)]
struct WithUsage {
    #[serde(default)]
    usage: Option<RawUsage>,
}

#[derive(serde::Deserialize)]
struct RawUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
}

impl RawUsage {
    fn usage(self) -> Option<Usage> {
        counts(
            self.prompt_tokens,
            self.completion_tokens,
            self.total_tokens,
        )
    }
}

/// `usage` of one JSON document; `total_tokens` when given, else prompt + completion.
pub(crate) fn usage_of(json: &serde_json::Value) -> Option<Usage> {
    let usage = json.get("usage")?;
    let part = |n: &str| usage.get(n).and_then(|t| t.as_u64());
    counts(
        part("prompt_tokens"),
        part("completion_tokens"),
        part("total_tokens"),
    )
}

fn counts(prompt: Option<u64>, completion: Option<u64>, total: Option<u64>) -> Option<Usage> {
    if prompt.is_none() && completion.is_none() && total.is_none() {
        return None;
    }
    let prompt_n = prompt.unwrap_or(0);
    let completion_n = completion.unwrap_or(0);
    Some(Usage {
        prompt: prompt_n,
        completion: completion_n,
        total: total.unwrap_or(prompt_n.saturating_add(completion_n)),
        estimated: false,
    })
}

/// The request body asks for a streamed response (`"stream": true`); only that member is read.
pub(crate) fn requests_stream(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct StreamFlag {
        #[serde(default)]
        stream: Option<serde_json::Value>,
    }
    serde_json::from_slice::<StreamFlag>(body)
        .ok()
        .and_then(|f| f.stream)
        .and_then(|s| s.as_bool())
        .unwrap_or(false)
}

/// The total the token-limit policies count: reported usage only (`None` when the response
/// has none; the caller then keeps its estimate).
pub(crate) async fn reported_total(ctx: &mut RequestContext<'_, Value>) -> Option<u64> {
    match reported(ctx).await {
        Reported::Usage(u) => Some(u.total),
        _ => None,
    }
}

/// Completion tokens of streamed text, with the tokenizer of `model` (o200k for gpt-4o and
/// later, cl100k otherwise).
pub(crate) fn estimate_completion(text: &str, model: Option<&str>) -> u64 {
    use apim_simulator::tokens::Encoding;
    if text.is_empty() {
        return 0;
    }
    let n = Encoding::for_model(model.unwrap_or("")).count(text);
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_prefers_total_and_fills_missing_parts() {
        let j = serde_json::json!({"usage": {"prompt_tokens": 7, "total_tokens": 7}});
        let u = usage_of(&j).unwrap();
        assert_eq!((u.prompt, u.completion, u.total), (7, 0, 7));
        let j = serde_json::json!({"usage": {"prompt_tokens": 3, "completion_tokens": 4}});
        assert_eq!(usage_of(&j).unwrap().total, 7);
        assert!(usage_of(&serde_json::json!({"usage": {}})).is_none());
        assert!(usage_of(&serde_json::json!({"usage": null})).is_none());
    }

    #[test]
    fn typed_reading_matches_the_generic_one() {
        for doc in [
            r#"{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":0}}}"#,
            r#"{"usage":{"prompt_tokens":3,"total_tokens":3}}"#,
            r#"{"usage":null}"#,
            r#"{"id":"x"}"#,
        ] {
            let typed = serde_json::from_slice::<WithUsage>(doc.as_bytes())
                .unwrap()
                .usage
                .and_then(RawUsage::usage);
            let generic = usage_of(&serde_json::from_str(doc).unwrap());
            assert_eq!(typed, generic, "{doc}");
        }
    }

    #[test]
    fn only_a_boolean_true_stream_member_streams() {
        assert!(requests_stream(br#"{"stream":true,"messages":[]}"#));
        assert!(!requests_stream(br#"{"stream":false}"#));
        assert!(!requests_stream(br#"{"stream":"true"}"#));
        assert!(!requests_stream(br#"{"messages":[]}"#));
        assert!(!requests_stream(b"not json"));
        assert!(!requests_stream(br#"[1]"#));
    }

    #[test]
    fn completion_estimate_uses_the_model_tokenizer() {
        assert_eq!(estimate_completion("", Some("gpt-4o")), 0);
        assert!(estimate_completion("Hello there, how are you?", Some("gpt-4o")) >= 5);
    }
}
