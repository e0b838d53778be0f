//! `{{named value}}` substitution (expressions.md §3): textual, before expressions are parsed;
//! values are not themselves substituted; secret values are tracked so they can be masked.

use crate::service::{NamedValue, ServiceDefinition};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamedValueError {
    #[error("named value '{name}' is not defined")]
    Unknown { name: String, offset: usize },
}

/// Result of substituting one text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Substituted {
    pub text: String,
    /// Names used, in order of first use.
    pub used: Vec<String>,
    /// Whether any secret value went into the text (mask it before printing).
    pub has_secret: bool,
}

/// Whether unknown `{{name}}` references are errors or left as they are (Liquid templates use
/// the same braces for their own output tags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownNames {
    Error,
    Keep,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// The named values of a service, for substitution and masking.
#[derive(Debug, Clone, Default)]
pub struct NamedValues {
    values: Vec<NamedValue>,
}

impl NamedValues {
    pub fn new(values: Vec<NamedValue>) -> Self {
        NamedValues { values }
    }

    pub fn from_service(s: &ServiceDefinition) -> Self {
        Self::new(s.named_values.clone())
    }

    /// Exact name first, then case-insensitive.
    pub fn get(&self, name: &str) -> Option<&NamedValue> {
        self.values.iter().find(|n| n.name == name).or_else(|| {
            self.values
                .iter()
                .find(|n| n.name.eq_ignore_ascii_case(name))
        })
    }

    /// Replaces every `{{name}}` in `text`.
    pub fn substitute(
        &self,
        text: &str,
        unknown: UnknownNames,
    ) -> Result<Substituted, NamedValueError> {
        let mut out = Substituted {
            text: String::with_capacity(text.len()),
            ..Default::default()
        };
        let mut rest = text;
        let mut offset = 0;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let name_len = after
                .find(|c: char| !is_name_char(c))
                .unwrap_or(after.len());
            let name = &after[..name_len];
            if !name.is_empty() && after[name_len..].starts_with("}}") {
                match self.get(name) {
                    Some(nv) => {
                        out.text.push_str(&rest[..start]);
                        out.text.push_str(&nv.value);
                        if !out.used.iter().any(|u| u == &nv.name) {
                            out.used.push(nv.name.clone());
                        }
                        out.has_secret |= nv.secret;
                        let consumed = start + 2 + name_len + 2;
                        offset += consumed;
                        rest = &rest[consumed..];
                        continue;
                    }
                    None if unknown == UnknownNames::Error => {
                        return Err(NamedValueError::Unknown {
                            name: name.to_string(),
                            offset: offset + start,
                        });
                    }
                    None => {}
                }
            }
            out.text.push_str(&rest[..start + 2]);
            offset += start + 2;
            rest = &rest[start + 2..];
        }
        out.text.push_str(rest);
        Ok(out)
    }

    /// Replaces the values of secret named values in `text` with `***` (diagnostics, traces
    /// shown to users, logs).
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        let mut secrets: Vec<&str> = self
            .values
            .iter()
            .filter(|v| v.secret && !v.value.is_empty())
            .map(|v| v.value.as_str())
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in secrets {
            out = if s.chars().count() < SHORT_SECRET {
                mask_whole_words(&out, s)
            } else {
                out.replace(s, "***")
            };
        }
        out
    }
}

/// Secrets shorter than this are masked only where they stand alone: masking a one-letter
/// secret everywhere would turn every message into noise (`e` → `***` in every word).
const SHORT_SECRET: usize = 4;

/// `text` with the occurrences of `secret` that are not part of a longer alphanumeric run
/// replaced by `***`.
fn mask_whole_words(text: &str, secret: &str) -> String {
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut from = 0;
    while let Some(found) = text[from..].find(secret) {
        let start = from + found;
        let end = start + secret.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if !is_word(before) && !is_word(after) {
            out.push_str(&text[rest..start]);
            out.push_str("***");
            rest = end;
        }
        from = end;
    }
    out.push_str(&text[rest..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nv() -> NamedValues {
        NamedValues::new(vec![
            NamedValue {
                name: "ContosoHeader".into(),
                value: "TrackingId".into(),
                secret: false,
            },
            NamedValue {
                name: "api-key".into(),
                value: "s3cr3t".into(),
                secret: true,
            },
            NamedValue {
                name: "Expr".into(),
                value: "@(DateTime.Now.ToString())".into(),
                secret: false,
            },
            NamedValue {
                name: "Nested".into(),
                value: "Text: {{ContosoHeader}}".into(),
                secret: false,
            },
        ])
    }

    #[test]
    fn substitutes_in_text_and_inside_expressions() {
        let n = nv();
        let s = n
            .substitute(
                "Custom{{ContosoHeader}} @(\"{{api-key}}\".Length)",
                UnknownNames::Error,
            )
            .unwrap();
        assert_eq!(s.text, "CustomTrackingId @(\"s3cr3t\".Length)");
        assert_eq!(s.used, ["ContosoHeader", "api-key"]);
        assert!(s.has_secret);
        assert_eq!(
            n.substitute("{{expr}}", UnknownNames::Error).unwrap().text,
            "@(DateTime.Now.ToString())"
        );
        // Values are not substituted again.
        assert_eq!(
            n.substitute("{{Nested}}", UnknownNames::Error)
                .unwrap()
                .text,
            "Text: {{ContosoHeader}}"
        );
    }

    #[test]
    fn unknown_names_error_or_stay() {
        let n = nv();
        assert_eq!(
            n.substitute("ab {{missing}}", UnknownNames::Error),
            Err(NamedValueError::Unknown {
                name: "missing".into(),
                offset: 3
            })
        );
        let liquid = "{{body.name}} {{ContosoHeader}} {{ spaced }} {{";
        assert_eq!(
            n.substitute(liquid, UnknownNames::Keep).unwrap().text,
            "{{body.name}} TrackingId {{ spaced }} {{"
        );
        // Not a reference: left alone even in strict mode.
        assert_eq!(
            n.substitute("{{ x }} {{}} {{a b}}", UnknownNames::Error)
                .unwrap()
                .text,
            "{{ x }} {{}} {{a b}}"
        );
    }

    #[test]
    fn short_secrets_are_masked_only_where_they_stand_alone() {
        let nv = NamedValues::new(vec![NamedValue {
            name: "pin".into(),
            value: "e".into(),
            secret: true,
        }]);
        assert_eq!(
            nv.mask("the expression failed: key=e, e;"),
            "the expression failed: key=***, ***;"
        );
    }

    #[test]
    fn masks_secrets() {
        assert_eq!(nv().mask("key=s3cr3t&h=TrackingId"), "key=***&h=TrackingId");
    }
}
