//! Token usage read from a response for the per-request log line: the `usage` object of a JSON
//! body, or of a server-sent event (`stream_options.include_usage` makes Azure OpenAI send one
//! last chunk with it).

use serde::Deserialize;

use super::handler::TokenUsage;

/// A server-sent event line longer than this is not read for usage (a hostile or odd backend
/// must not make the host buffer without bound).
const MAX_EVENT_LINE: usize = 1024 * 1024;

/// Chat completions and embeddings say `prompt_tokens`/`completion_tokens`; the Responses API
/// says `input_tokens`/`output_tokens`.
#[derive(Deserialize)]
struct Usage {
    #[serde(default, alias = "input_tokens")]
    prompt_tokens: Option<u64>,
    #[serde(default, alias = "output_tokens")]
    completion_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
}

impl Usage {
    fn into_tokens(self) -> Option<TokenUsage> {
        if self.prompt_tokens.is_none()
            && self.completion_tokens.is_none()
            && self.total_tokens.is_none()
        {
            return None;
        }
        let prompt = self.prompt_tokens.unwrap_or(0);
        let completion = self.completion_tokens.unwrap_or(0);
        Some(TokenUsage {
            prompt,
            completion,
            total: self
                .total_tokens
                .unwrap_or_else(|| prompt.saturating_add(completion)),
        })
    }
}

/// Where the value of the top-level member `key` of a JSON object starts (after its `:`).
/// Only nesting and strings are followed: the value itself is parsed by the caller.
fn top_level_member(body: &[u8], key: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < body.len() && body[i] != b'"' {
                    if body[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= body.len() {
                    return None;
                }
                if depth == 1 && &body[start..i] == key {
                    let after = body[i + 1..]
                        .iter()
                        .position(|b| !b.is_ascii_whitespace())?;
                    if body[i + 1 + after] == b':' {
                        return Some(i + 2 + after);
                    }
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.checked_sub(1)?,
            _ => {}
        }
        i += 1;
    }
    None
}

/// `usage` of a JSON object body; `None` for anything else (not JSON, no usage, `"usage": null`).
/// Only the `usage` value is parsed (the rest of a completion is skimmed for its nesting).
pub(crate) fn from_json(body: &[u8]) -> Option<TokenUsage> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace())?;
    if body[start] != b'{' {
        return None;
    }
    let at = top_level_member(&body[start..], b"usage")?;
    let mut de = serde_json::Deserializer::from_slice(&body[start + at..]);
    Option::<Usage>::deserialize(&mut de).ok()??.into_tokens()
}

/// Reads a server-sent event stream as it passes, chunk by chunk, and keeps the last usage seen.
#[derive(Default)]
pub(crate) struct SseUsage {
    line: Vec<u8>,
    /// The current line is too long to be read; skip to its end.
    skipping: bool,
    found: Option<TokenUsage>,
}

impl SseUsage {
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        while let Some(eol) = rest.iter().position(|&b| b == b'\n') {
            let (part, after) = rest.split_at(eol);
            if !self.skipping {
                if self.line.is_empty() {
                    self.line_done(part);
                } else {
                    let mut line = std::mem::take(&mut self.line);
                    line.extend_from_slice(part);
                    self.line_done(&line);
                    line.clear();
                    self.line = line;
                }
            }
            self.skipping = false;
            rest = &after[1..];
        }
        if !self.skipping && !rest.is_empty() {
            if self.line.len() + rest.len() > MAX_EVENT_LINE {
                self.line.clear();
                self.skipping = true;
            } else {
                self.line.extend_from_slice(rest);
            }
        }
    }

    fn line_done(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        if let Some(u) = from_json(data) {
            self.found = Some(u);
        }
    }

    /// The usage seen so far (a line still open at the end of the stream is read too).
    pub(crate) fn finish(&mut self) -> Option<TokenUsage> {
        if !self.skipping && !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(&line);
        }
        self.found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(prompt: u64, completion: u64, total: u64) -> Option<TokenUsage> {
        Some(TokenUsage {
            prompt,
            completion,
            total,
        })
    }

    #[test]
    fn a_completion_body_gives_its_usage() {
        let body = br#"{"id":"x","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}"#;
        assert_eq!(from_json(body), t(9, 12, 21));
    }

    #[test]
    fn embeddings_and_responses_api_usage() {
        assert_eq!(
            from_json(br#" {"data":[],"usage":{"prompt_tokens":5,"total_tokens":5}}"#),
            t(5, 0, 5)
        );
        assert_eq!(
            from_json(br#"{"usage":{"input_tokens":3,"output_tokens":4}}"#),
            t(3, 4, 7)
        );
    }

    #[test]
    fn bodies_without_usage_give_none() {
        assert_eq!(from_json(b""), None);
        assert_eq!(from_json(b"not json"), None);
        assert_eq!(from_json(br#"{"usage":null}"#), None);
        assert_eq!(from_json(br#"{"usage":{}}"#), None);
        assert_eq!(from_json(br#"{"usage":"#), None);
        assert_eq!(from_json(br#"["usage"]"#), None);
        // Only the object's own member counts, not one nested deeper or inside a string.
        assert_eq!(
            from_json(br#"{"choices":[{"usage":{"total_tokens":4}}],"note":"\"usage\":{}"}"#),
            None
        );
        assert_eq!(
            from_json(br#"{"a":{"usage":{"total_tokens":4}},"usage" : {"total_tokens":6}}"#),
            t(0, 0, 6)
        );
    }

    #[test]
    fn the_usage_event_of_a_stream_is_found_across_chunk_boundaries() {
        let stream = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n\
                      data: {\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":2,\"total_tokens\":12}}\r\n\r\n\
                      data: [DONE]\n\n";
        for split in [1, 7, 30, 64, stream.len()] {
            let mut s = SseUsage::default();
            for chunk in stream.as_bytes().chunks(split) {
                s.feed(chunk);
            }
            assert_eq!(s.finish(), t(10, 2, 12), "chunks of {split}");
        }
    }

    #[test]
    fn a_stream_without_usage_gives_none_and_a_last_open_line_is_read() {
        let mut s = SseUsage::default();
        s.feed(b"data: {\"choices\":[]}\n\ndata: [DONE]\n\n");
        assert_eq!(s.finish(), None);
        let mut s = SseUsage::default();
        s.feed(b"data: {\"usage\":{\"total_tokens\":3}}");
        assert_eq!(s.finish(), t(0, 0, 3));
    }

    #[test]
    fn an_overlong_line_is_skipped_not_buffered() {
        let mut s = SseUsage::default();
        s.feed(b"data: {\"usage\":{\"total_tokens\":1}}\n");
        let long = vec![b'x'; MAX_EVENT_LINE + 10];
        s.feed(b"data: ");
        s.feed(&long);
        assert!(s.line.is_empty());
        s.feed(b"\"usage\"\ndata: {\"usage\":{\"total_tokens\":2}}\n");
        assert_eq!(s.finish(), t(0, 0, 2));
    }
}
