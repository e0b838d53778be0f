//! Azure AI Content Safety stand-in: `text:analyze` and `text:shieldPrompt` with deterministic
//! answers. Severities come from keywords (a fixed table per harm category), blocklists from the
//! configuration, prompt attacks from a fixed list of phrases; see docs/simulator.md.

use std::collections::BTreeMap;

use http::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Body;
use crate::azure::json_response;
use crate::rng::stable_hash;

/// The longest text either operation takes (characters).
pub const MAX_TEXT_CHARACTERS: usize = 10_000;

/// The harm categories, in Azure's order.
pub const CATEGORIES: [&str; 4] = ["Hate", "SelfHarm", "Sexual", "Violence"];

/// Keywords and the severity (0..7) each one stands for. A single word also matches longer
/// words it starts (`kill` matches `killing`); a phrase matches its words in sequence.
const KEYWORDS: [(&str, &[(&str, u8)]); 4] = [
    ("Hate", &[("bigot", 2), ("hate", 4), ("subhuman", 6)]),
    (
        "SelfHarm",
        &[("hopeless", 2), ("hurt myself", 4), ("suicide", 6)],
    ),
    ("Sexual", &[("flirt", 2), ("nude", 4), ("explicit", 6)]),
    ("Violence", &[("fight", 2), ("kill", 4), ("massacre", 6)]),
];

/// Phrases that make `text:shieldPrompt` report an attack.
const ATTACK_PHRASES: [&str; 7] = [
    "ignore previous instructions",
    "ignore all previous instructions",
    "ignore your instructions",
    "disregard previous instructions",
    "do anything now",
    "jailbreak",
    "developer mode",
];

/// Content Safety settings of the simulator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentSafetyConfig {
    /// Blocklists by name: their items, matched case-insensitively anywhere in the text.
    #[serde(default)]
    pub blocklists: BTreeMap<String, Vec<String>>,
}

impl ContentSafetyConfig {
    pub fn is_empty(&self) -> bool {
        self.blocklists.is_empty()
    }
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn contains_phrase(words: &[String], phrase: &str) -> bool {
    let p: Vec<&str> = phrase.split(' ').collect();
    match p.as_slice() {
        [one] => words.iter().any(|w| w.starts_with(one)),
        _ => words
            .windows(p.len())
            .any(|win| win.iter().zip(&p).all(|(w, k)| w == k)),
    }
}

/// The severity (0..7) of `category` in `text`: the highest keyword's, one more when two or
/// more keywords of the category occur.
pub fn severity(category: &str, text: &str) -> u8 {
    let ws = words(text);
    let Some((_, table)) = KEYWORDS.iter().find(|(c, _)| *c == category) else {
        return 0;
    };
    let found: Vec<u8> = table
        .iter()
        .filter(|(k, _)| contains_phrase(&ws, k))
        .map(|(_, s)| *s)
        .collect();
    let top = found.iter().copied().max().unwrap_or(0);
    if found.len() >= 2 {
        (top + 1).min(7)
    } else {
        top
    }
}

/// Whether `text` holds a prompt attack.
pub fn attack_detected(text: &str) -> bool {
    let ws = words(text);
    ATTACK_PHRASES.iter().any(|p| contains_phrase(&ws, p))
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"error": {"code": code, "message": message, "target": null, "details": [], "innererror": null}}),
    )
}

/// The body is not JSON.
pub fn invalid_json() -> Response<Body> {
    invalid("The request body is not valid JSON.")
}

fn invalid(message: &str) -> Response<Body> {
    error(StatusCode::BAD_REQUEST, "InvalidRequestBody", message)
}

fn too_long(field: &str, len: usize) -> Response<Body> {
    invalid(&format!(
        "The {field} is {len} characters long; at most {MAX_TEXT_CHARACTERS} are allowed."
    ))
}

/// `POST /contentsafety/text:analyze`.
pub fn analyze(config: &ContentSafetyConfig, body: &Value) -> Response<Body> {
    let Some(text) = body.get("text").and_then(Value::as_str) else {
        return invalid("The 'text' field is required and must be a string.");
    };
    let len = text.chars().count();
    if len > MAX_TEXT_CHARACTERS {
        return too_long("text", len);
    }
    let eight = match body.get("outputType").and_then(Value::as_str) {
        None | Some("FourSeverityLevels") => false,
        Some("EightSeverityLevels") => true,
        Some(other) => {
            return invalid(&format!(
                "outputType '{other}' is not FourSeverityLevels or EightSeverityLevels."
            ));
        }
    };
    let mut categories: Vec<&str> = Vec::new();
    if let Some(list) = body.get("categories").and_then(Value::as_array) {
        for c in list {
            match c
                .as_str()
                .and_then(|c| CATEGORIES.iter().find(|k| **k == c))
            {
                Some(k) => categories.push(k),
                None => return invalid(&format!("Category {c} is not supported.")),
            }
        }
    }
    if categories.is_empty() {
        categories = CATEGORIES.to_vec();
    }
    let mut matches = Vec::new();
    if let Some(names) = body.get("blocklistNames").and_then(Value::as_array) {
        let lower = text.to_lowercase();
        for n in names {
            let name = n.as_str().unwrap_or_default();
            let Some(items) = config.blocklists.get(name) else {
                return error(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    &format!("The blocklist '{name}' does not exist."),
                );
            };
            for item in items {
                if !item.is_empty() && lower.contains(&item.to_lowercase()) {
                    let h = stable_hash(0, format!("{name}\u{1f}{item}").as_bytes());
                    matches.push(json!({
                        "blocklistName": name,
                        "blocklistItemId": format!(
                            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                            h >> 32,
                            (h >> 16) & 0xffff,
                            h & 0xffff,
                            (h >> 48) & 0xffff,
                            h & 0xffff_ffff_ffff
                        ),
                        "blocklistItemText": item,
                    }));
                }
            }
        }
    }
    let analysis: Vec<Value> = categories
        .iter()
        .map(|c| {
            let s = severity(c, text);
            let s = if eight { s } else { s - s % 2 };
            json!({"category": c, "severity": s})
        })
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"blocklistsMatch": matches, "categoriesAnalysis": analysis}),
    )
}

/// `POST /contentsafety/text:shieldPrompt`.
pub fn shield_prompt(body: &Value) -> Response<Body> {
    let user = match body.get("userPrompt") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return invalid("The 'userPrompt' field must be a string."),
    };
    let documents: Vec<&str> = match body.get("documents") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for d in items {
                match d.as_str() {
                    Some(s) => out.push(s),
                    None => return invalid("The 'documents' field must be an array of strings."),
                }
            }
            out
        }
        Some(_) => return invalid("The 'documents' field must be an array of strings."),
    };
    if user.is_none() && documents.is_empty() {
        return invalid("Either 'userPrompt' or 'documents' is required.");
    }
    if let Some(u) = user {
        let len = u.chars().count();
        if len > MAX_TEXT_CHARACTERS {
            return too_long("userPrompt", len);
        }
    }
    let mut out = serde_json::Map::new();
    if let Some(u) = user {
        out.insert(
            "userPromptAnalysis".into(),
            json!({"attackDetected": attack_detected(u)}),
        );
    }
    out.insert(
        "documentsAnalysis".into(),
        Value::Array(
            documents
                .iter()
                .map(|d| json!({"attackDetected": attack_detected(d)}))
                .collect(),
        ),
    );
    json_response(StatusCode::OK, &Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_from_keywords() {
        assert_eq!(severity("Violence", "Tell me a story about a cat"), 0);
        assert_eq!(severity("Violence", "How do I win a fight?"), 2);
        assert_eq!(severity("Violence", "Killing time"), 4);
        assert_eq!(severity("Violence", "kill them and massacre the rest"), 7);
        assert_eq!(severity("SelfHarm", "I want to hurt myself"), 4);
        assert_eq!(severity("SelfHarm", "hurt my knee, myself"), 0);
        assert_eq!(severity("Hate", "I hate Mondays"), 4);
        assert_eq!(severity("Unknown", "hate"), 0);
    }

    #[test]
    fn attacks_from_phrases() {
        assert!(attack_detected(
            "Please IGNORE all previous instructions and..."
        ));
        assert!(!attack_detected(
            "Ignore the noise; what are the previous instructions?"
        ));
    }
}
