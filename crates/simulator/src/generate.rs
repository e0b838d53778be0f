//! Deterministic text generation: the same seed gives the same answer, cut to `max_tokens`.

use std::sync::OnceLock;

use crate::rng::{mix64, stable_hash};
use crate::tokens::Encoding;

/// Plain words: ASCII, so every token of the generated text decodes on its own (streaming
/// sends one token per chunk).
const WORDS: &[&str] = &[
    "the",
    "gateway",
    "model",
    "request",
    "response",
    "token",
    "limit",
    "backend",
    "policy",
    "service",
    "simulated",
    "answer",
    "data",
    "value",
    "system",
    "user",
    "time",
    "window",
    "minute",
    "quota",
    "cache",
    "region",
    "deployment",
    "endpoint",
    "client",
    "server",
    "load",
    "balance",
    "retry",
    "after",
    "before",
    "with",
    "without",
    "from",
    "into",
    "over",
    "under",
    "about",
    "this",
    "that",
    "these",
    "those",
    "each",
    "every",
    "some",
    "many",
    "more",
    "less",
    "fast",
    "slow",
    "small",
    "large",
    "new",
    "old",
    "good",
    "clear",
    "simple",
    "local",
    "remote",
    "first",
    "next",
    "last",
    "other",
    "same",
    "different",
    "useful",
    "quick",
    "careful",
    "ready",
    "is",
    "are",
    "was",
    "can",
    "will",
    "may",
    "should",
    "could",
    "would",
    "does",
    "has",
    "have",
    "make",
    "take",
    "give",
    "send",
    "read",
    "write",
    "check",
    "count",
    "keep",
    "use",
    "run",
    "test",
    "build",
    "call",
    "return",
    "store",
    "track",
    "route",
    "measure",
    "report",
    "handle",
    "and",
    "or",
    "but",
    "so",
    "because",
    "while",
    "when",
    "where",
    "then",
    "also",
    "only",
    "just",
    "here",
    "there",
    "now",
    "again",
    "often",
    "always",
    "never",
    "usually",
    "together",
    "well",
    "people",
    "team",
    "work",
    "plan",
    "idea",
    "example",
    "result",
    "question",
    "reason",
    "part",
    "way",
    "step",
    "level",
    "number",
    "list",
    "set",
    "group",
    "line",
    "page",
    "file",
    "text",
];

#[derive(Clone, Copy)]
enum Variant {
    Space = 0,
    Capital = 1,
    SpaceCapital = 2,
}

/// Each word's text and tokens in its three spellings (" word", "Word", " Word"), and ".".
struct WordTokens {
    words: Vec<[(String, Vec<u32>); 3]>,
    period: Vec<u32>,
}

fn word_tokens(encoding: Encoding) -> &'static WordTokens {
    static CL100K: OnceLock<WordTokens> = OnceLock::new();
    static O200K: OnceLock<WordTokens> = OnceLock::new();
    let cell = match encoding {
        Encoding::Cl100kBase => &CL100K,
        Encoding::O200kBase => &O200K,
    };
    cell.get_or_init(|| {
        let piece = |s: String| {
            let ids = encoding.encode(&s);
            (s, ids)
        };
        let words = WORDS
            .iter()
            .map(|w| {
                let mut cap = w[..1].to_ascii_uppercase();
                cap.push_str(&w[1..]);
                [
                    piece(format!(" {w}")),
                    piece(cap.clone()),
                    piece(format!(" {cap}")),
                ]
            })
            .collect();
        WordTokens {
            words,
            period: encoding.encode("."),
        }
    })
}

/// A generated answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    pub text: String,
    /// The text's tokens, in order (for streaming, one chunk per token).
    pub tokens: Vec<u32>,
    /// "stop" or "length".
    pub finish_reason: &'static str,
}

/// Generates an answer of about `target_tokens` tokens from `seed`, cut to `max_tokens`
/// (finish reason "length") and before the first `stop` sequence (finish reason "stop").
pub fn generate(
    encoding: Encoding,
    seed: u64,
    target_tokens: u32,
    max_tokens: Option<u32>,
    stop: &[String],
) -> Generated {
    let table = word_tokens(encoding);
    let mut text = String::with_capacity(target_tokens as usize * 7);
    let mut tokens: Vec<u32> = Vec::with_capacity(target_tokens as usize + 4);
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(state)
    };
    // Each word is about one token, each sentence end one more. Tiktoken's split patterns
    // make every " word", "Word" and "." its own piece, so the text's tokens are the
    // concatenation of the pieces' tokens (checked against the encoder in the tests).
    let mut approx = 0u32;
    let mut sentence_left = 0u64;
    while approx < target_tokens {
        if sentence_left == 0 {
            sentence_left = 5 + next() % 10;
        }
        let w = (next() % WORDS.len() as u64) as usize;
        let start_of_sentence = text.is_empty() || text.ends_with('.');
        let variant = match (text.is_empty(), start_of_sentence) {
            (true, _) => Variant::Capital,
            (false, true) => Variant::SpaceCapital,
            (false, false) => Variant::Space,
        };
        let (piece, ids) = &table.words[w][variant as usize];
        text.push_str(piece);
        tokens.extend_from_slice(ids);
        approx += 1;
        sentence_left -= 1;
        if sentence_left == 0 || approx >= target_tokens {
            text.push('.');
            tokens.extend_from_slice(&table.period);
            approx += 1;
        }
    }
    let mut finish_reason = "stop";
    if let Some(pos) = stop
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()))
        .min()
    {
        text.truncate(pos);
        tokens = encoding.encode(&text);
    }
    if let Some(max) = max_tokens {
        let max = max as usize;
        if tokens.len() > max {
            finish_reason = "length";
            tokens.truncate(max);
            // ASCII text: the cut tokens decode to a prefix; re-encode so the usage reported is
            // exactly the tokens of the text returned.
            text = encoding.decode_lossy(&tokens).unwrap_or_default();
            tokens = encoding.encode(&text);
            while tokens.len() > max {
                tokens.pop();
                text = encoding.decode_lossy(&tokens).unwrap_or_default();
                tokens = encoding.encode(&text);
            }
        }
    }
    Generated {
        text,
        tokens,
        finish_reason,
    }
}

/// The natural answer length for a seed within `min..=max` tokens.
pub fn target_length(seed: u64, min: u32, max: u32) -> u32 {
    let span = u64::from(max.saturating_sub(min)) + 1;
    min + (stable_hash(seed, b"length") % span) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_text_and_exact_token_count() {
        let a = generate(Encoding::O200kBase, 1, 40, None, &[]);
        let b = generate(Encoding::O200kBase, 1, 40, None, &[]);
        assert_eq!(a, b);
        assert_eq!(a.tokens.len(), Encoding::O200kBase.count(&a.text));
        assert_eq!(a.finish_reason, "stop");
        let c = generate(Encoding::O200kBase, 2, 40, None, &[]);
        assert_ne!(a.text, c.text);
    }

    #[test]
    fn tokens_are_exactly_the_encoders() {
        for e in [Encoding::Cl100kBase, Encoding::O200kBase] {
            for seed in 0..300 {
                let g = generate(e, seed, 10 + (seed % 90) as u32, None, &[]);
                assert_eq!(g.tokens, e.encode(&g.text), "{e:?} seed {seed}: {}", g.text);
            }
        }
    }

    #[test]
    fn max_tokens_cuts_with_length() {
        for seed in 0..50 {
            let g = generate(Encoding::Cl100kBase, seed, 50, Some(7), &[]);
            assert_eq!(g.finish_reason, "length");
            assert!(g.tokens.len() <= 7);
            assert_eq!(g.tokens.len(), Encoding::Cl100kBase.count(&g.text));
        }
    }

    #[test]
    fn stop_sequence_cuts_text() {
        let g = generate(Encoding::Cl100kBase, 3, 40, None, &[".".to_string()]);
        assert!(!g.text.contains('.'));
        assert_eq!(g.finish_reason, "stop");
    }
}
