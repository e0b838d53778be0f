//! Environment variables for `env:` values and secrets: the process environment (or a map given
//! by the caller) first, then a `.env` file next to the configuration.

use std::collections::BTreeMap;
use std::path::Path;

use super::diag::{Diagnostic, ErrorKind};

/// Where environment variables come from.
#[derive(Debug, Clone, Default)]
pub enum Environment {
    /// The process environment.
    #[default]
    Process,
    /// A fixed set (tests, embedding).
    Map(BTreeMap<String, String>),
}

impl Environment {
    fn get(&self, name: &str) -> Option<String> {
        match self {
            Environment::Process => std::env::var(name).ok(),
            Environment::Map(m) => m.get(name).cloned(),
        }
    }
}

/// Variables visible to one load: the environment, then the `.env` file.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    env: Environment,
    dotenv: BTreeMap<String, String>,
}

impl Vars {
    /// Reads `dir/.env` when it exists. A malformed line is an error naming the line.
    pub fn load(env: Environment, dir: &Path) -> Result<Self, Diagnostic> {
        let path = dir.join(".env");
        let dotenv = match std::fs::read_to_string(&path) {
            Ok(text) => parse_dotenv(&path, &text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                return Err(Diagnostic::at_file(
                    ErrorKind::Io,
                    &path,
                    format!("cannot read: {e}"),
                ));
            }
        };
        Ok(Vars { env, dotenv })
    }
    pub fn get(&self, name: &str) -> Option<String> {
        self.env
            .get(name)
            .or_else(|| self.dotenv.get(name).cloned())
    }
}

fn parse_dotenv(path: &Path, text: &str) -> Result<BTreeMap<String, String>, Diagnostic> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let t = t.strip_prefix("export ").unwrap_or(t);
        let bad = |msg: &str| Diagnostic {
            kind: ErrorKind::Syntax,
            file: Some(path.to_path_buf()),
            line: i as u32 + 1,
            col: 1,
            line_text: Some(line.to_string()),
            message: msg.to_string(),
            notes: Vec::new(),
        };
        let Some((k, v)) = t.split_once('=') else {
            return Err(bad("expected NAME=value"));
        };
        let k = k.trim();
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(bad("variable names use letters, digits and `_`"));
        }
        let v = v.trim();
        let v = if let Some(inner) = v.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            inner
                .replace("\\n", "\n")
                .replace("\\\"", "\"")
                .replace("\\\\", "\\")
        } else if let Some(inner) = v.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
            inner.to_string()
        } else {
            // Unquoted: a ` #` starts a comment.
            v.split(" #").next().unwrap_or("").trim_end().to_string()
        };
        out.insert(k.to_string(), v);
    }
    Ok(out)
}

/// The environment variable that holds a secret the configuration does not: the name upper-cased,
/// every character that is not an ASCII letter or digit replaced by `_`, after `prefix`.
pub fn secret_var(prefix: &str, name: &str) -> String {
    let mut s = String::from(prefix);
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_uppercase());
        } else {
            s.push('_');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines() {
        let m = parse_dotenv(
            Path::new(".env"),
            "# c\nA=1\nexport B = \"x y\\n\"\nC='q # r'\nD=v # comment\n\n",
        )
        .unwrap();
        assert_eq!(m["A"], "1");
        assert_eq!(m["B"], "x y\n");
        assert_eq!(m["C"], "q # r");
        assert_eq!(m["D"], "v");
        let e = parse_dotenv(Path::new(".env"), "A=1\nnot a line\n").unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (2, "expected NAME=value"));
    }

    #[test]
    fn secret_variable_names() {
        assert_eq!(
            secret_var("APIM_NV_", "aoai-key.east 1"),
            "APIM_NV_AOAI_KEY_EAST_1"
        );
    }

    #[test]
    fn process_or_map_wins_over_dotenv() {
        let mut v = Vars {
            env: Environment::Map([("A".to_string(), "env".to_string())].into()),
            dotenv: [
                ("A".to_string(), "file".to_string()),
                ("B".to_string(), "file".to_string()),
            ]
            .into(),
        };
        assert_eq!(v.get("A").as_deref(), Some("env"));
        assert_eq!(v.get("B").as_deref(), Some("file"));
        v.dotenv.clear();
        assert_eq!(v.get("B"), None);
    }
}
