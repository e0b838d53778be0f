//! Finds the policy expressions in the corpus documents (test helper; the policy crate does
//! this for real).
#![allow(dead_code)]
use std::path::{Path, PathBuf};

pub fn corpus_dir() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ));
    if p.is_dir() {
        Some(p)
    } else {
        println!("skipping: corpus folder {} is absent", p.display());
        None
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "xml") {
            out.push(p);
        }
    }
}

/// (file, expression text) for every `@(`/`@{` span of every corpus document, with XML
/// character references decoded and named values `{{x}}` outside string literals replaced by `1`.
pub fn corpus_expressions() -> Option<Vec<(String, String)>> {
    let dir = corpus_dir()?;
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let rel = f.strip_prefix(&dir).unwrap_or(&f).display().to_string();
        for e in scan(&text) {
            out.push((rel.clone(), prepare(&e)));
        }
    }
    Some(out)
}

fn prepare(e: &str) -> String {
    let e = if e.contains("&quot;")
        || e.contains("&lt;")
        || e.contains("&amp;")
        || e.contains("&gt;")
        || e.contains("&apos;")
    {
        e.replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    } else {
        e.to_string()
    };
    // named values: textual substitution happens before compilation
    let mut s = String::new();
    let mut rest = e.as_str();
    while let Some(i) = rest.find("{{") {
        let before = &rest[..i];
        let in_string = before.matches('"').count() % 2 == 1 || s.matches('"').count() % 2 == 1;
        if let Some(j) = rest[i..].find("}}") {
            s.push_str(before);
            let name = &rest[i + 2..i + j];
            let is_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if in_string || !is_name {
                s.push_str(&rest[i..i + j + 2]);
            } else {
                s.push('1');
            }
            rest = &rest[i + j + 2..];
        } else {
            break;
        }
    }
    s.push_str(rest);
    s
}

/// Bracket matching that skips C# string and char literals.
pub fn scan(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'@' && (b[i + 1] == b'(' || b[i + 1] == b'{') {
            let mut j = i + 1;
            let mut depth = 0i32;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        let verbatim = b[j - 1] == b'@' || (b[j - 1] == b'$' && b[j - 2] == b'@');
                        j += 1;
                        while j < b.len() {
                            if verbatim {
                                if b[j] == b'"' {
                                    if j + 1 < b.len() && b[j + 1] == b'"' {
                                        j += 2;
                                        continue;
                                    }
                                    break;
                                }
                            } else {
                                if b[j] == b'\\' {
                                    j += 2;
                                    continue;
                                }
                                if b[j] == b'"' {
                                    break;
                                }
                            }
                            j += 1;
                        }
                    }
                    b'/' if b.get(j + 1) == Some(&b'/') => {
                        while j < b.len() && b[j] != b'\n' {
                            j += 1;
                        }
                    }
                    b'/' if b.get(j + 1) == Some(&b'*') => {
                        j += 2;
                        while j + 1 < b.len() && !(b[j] == b'*' && b[j + 1] == b'/') {
                            j += 1;
                        }
                        j += 1;
                    }
                    b'\'' => {
                        j += 1;
                        while j < b.len() && b[j] != b'\'' {
                            if b[j] == b'\\' {
                                j += 1;
                            }
                            j += 1;
                        }
                    }
                    b'(' | b'{' | b'[' => depth += 1,
                    b')' | b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            let end = (j + 1).min(b.len());
            out.push(String::from_utf8_lossy(&b[i..end]).into_owned());
            i = end;
        } else {
            i += 1;
        }
    }
    out
}
