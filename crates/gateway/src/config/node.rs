//! A YAML/JSON document tree where every value keeps the file, line and column it came from,
//! so that errors found after parsing (unknown references, bad values) can point at the source.

use std::path::{Path, PathBuf};

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::diag::{Diagnostic, ErrorKind};

/// Index of a file in [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileId(pub u32);

/// A position in a source file: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mark {
    pub file: FileId,
    pub line: u32,
    pub col: u32,
}

/// Every file read while loading a configuration, kept for diagnostics.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<(PathBuf, String)>,
}

impl Sources {
    pub fn add(&mut self, path: &Path, text: String) -> FileId {
        self.files.push((path.to_path_buf(), text));
        FileId((self.files.len() - 1) as u32)
    }
    pub fn path(&self, id: FileId) -> &Path {
        self.files
            .get(id.0 as usize)
            .map(|f| f.0.as_path())
            .unwrap_or(Path::new("<unknown>"))
    }
    pub fn text(&self, id: FileId) -> &str {
        self.files
            .get(id.0 as usize)
            .map(|f| f.1.as_str())
            .unwrap_or("")
    }
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|f| f.0.as_path())
    }
    /// A diagnostic at `mark`, with the source line for the caret.
    pub fn error(&self, kind: ErrorKind, mark: Mark, message: impl Into<String>) -> Diagnostic {
        let line_text = self
            .text(mark.file)
            .lines()
            .nth(mark.line.saturating_sub(1) as usize)
            .map(str::to_string);
        Diagnostic {
            kind,
            file: Some(self.path(mark.file).to_path_buf()),
            line: mark.line,
            col: mark.col,
            line_text,
            message: message.into(),
            notes: Vec::new(),
        }
    }
    /// A diagnostic about a whole file (no line).
    pub fn file_error(
        &self,
        kind: ErrorKind,
        file: FileId,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::at_file(kind, self.path(file), message)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub mark: Mark,
    /// The scalar exactly as written (plain scalars), for reading `8080` or `true` as text.
    pub raw: Option<String>,
}

impl Node {
    pub fn new(value: Value, mark: Mark) -> Self {
        Node {
            value,
            mark,
            raw: None,
        }
    }
    /// Value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.value, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => self.raw.as_deref(),
        }
    }
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(e) => e,
            _ => &[],
        }
    }
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(e) => e,
            _ => &[],
        }
    }
    pub fn kind_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
    /// The document as JSON (positions dropped), e.g. to validate against the JSON Schema.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::Seq(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect())
            }
            Value::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Deep merge (APIOps override semantics): mappings merge key by key, anything else replaces.
    pub fn merge(&mut self, other: &Node) {
        match (&mut self.value, &other.value) {
            (Value::Map(mine), Value::Map(theirs)) => {
                for (k, v) in theirs {
                    let slot = mine.iter_mut().find(|(mk, _)| mk.value == k.value);
                    match slot {
                        Some((_, mv)) => mv.merge(v),
                        None => mine.push((k.clone(), v.clone())),
                    }
                }
            }
            _ => *self = other.clone(),
        }
    }
}

/// Deeper documents are rejected: the tree and its readers are recursive.
const MAX_DEPTH: usize = 128;

struct Frame {
    node: Node,
    pending_key: Option<usize>,
    anchor: usize,
}

struct Builder {
    file: FileId,
    stack: Vec<Frame>,
    anchors: Vec<(usize, Node)>,
    root: Option<Node>,
    errors: Vec<(Mark, String)>,
    docs: usize,
    alias_budget: usize,
}

fn count_nodes(n: &Node) -> usize {
    1 + match &n.value {
        Value::Seq(items) => items.iter().map(count_nodes).sum(),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| count_nodes(k) + count_nodes(v))
            .sum(),
        _ => 0,
    }
}

fn mark_of(file: FileId, m: Marker) -> Mark {
    Mark {
        file,
        line: m.line() as u32,
        col: m.col() as u32 + 1,
    }
}

fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let b = s.as_bytes();
    let numeric_start = b[0].is_ascii_digit() || (matches!(b[0], b'-' | b'+') && b.len() > 1);
    if numeric_start {
        if let Some(h) = s.strip_prefix("0x") {
            if let Ok(i) = i64::from_str_radix(h, 16) {
                return Value::Int(i);
            }
        }
        if let Some(o) = s.strip_prefix("0o") {
            if let Ok(i) = i64::from_str_radix(o, 8) {
                return Value::Int(i);
            }
        }
        if s.bytes().skip(1).all(|c| c.is_ascii_digit()) {
            if let Ok(i) = s.parse::<i64>() {
                return Value::Int(i);
            }
        }
        if s.bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'))
        {
            if let Ok(f) = s.parse::<f64>() {
                return Value::Float(f);
            }
        }
    }
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" => Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Value::Float(f64::NAN),
        _ => Value::Str(s.to_string()),
    }
}

impl Builder {
    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(frame) => match &mut frame.node.value {
                Value::Seq(items) => items.push(node),
                Value::Map(entries) => match frame.pending_key.take() {
                    None => {
                        // A key: stored with a placeholder value until the value arrives.
                        entries.push((node, Node::new(Value::Null, Mark::default())));
                        frame.pending_key = Some(entries.len() - 1);
                    }
                    Some(i) => {
                        if let Some(e) = entries.get_mut(i) {
                            e.1 = node;
                        }
                    }
                },
                _ => {}
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, m: Marker) {
        let mark = mark_of(self.file, m);
        match ev {
            Event::DocumentStart => {
                self.docs += 1;
                if self.docs > 1 {
                    self.errors
                        .push((mark, "only one YAML document per file is supported".into()));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = if style == TScalarStyle::Plain && tag.is_none() {
                    resolve_plain(&text)
                } else {
                    Value::Str(text.clone())
                };
                let raw = (style == TScalarStyle::Plain).then_some(text);
                self.push_value(Node { value, mark, raw }, anchor);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                if self.errors.is_empty() {
                    self.errors
                        .push((mark, format!("nesting deeper than {MAX_DEPTH} levels")));
                }
                // Keep the tree shallow: deeper values are dropped (the load fails anyway).
                self.stack.push(Frame {
                    node: Node::new(Value::Seq(Vec::new()), mark),
                    pending_key: None,
                    anchor: 0,
                });
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame {
                node: Node::new(Value::Seq(Vec::new()), mark),
                pending_key: None,
                anchor,
            }),
            Event::MappingStart(anchor, _) => self.stack.push(Frame {
                node: Node::new(Value::Map(Vec::new()), mark),
                pending_key: None,
                anchor,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(mut frame) = self.stack.pop() {
                    // A block mapping's start event sits at its first `:`; point at the first key.
                    if let Some((k, _)) = frame.node.entries().first() {
                        frame.node.mark = k.mark;
                    }
                    let entries = frame.node.entries();
                    for (i, (k, _)) in entries.iter().enumerate() {
                        if entries[..i].iter().any(|(p, _)| p.value == k.value) {
                            let name = k.as_str().unwrap_or("?").to_string();
                            self.errors
                                .push((k.mark, format!("duplicate key `{name}`")));
                        }
                    }
                    self.push_value(frame.node, frame.anchor);
                }
            }
            Event::Alias(id) => match self.anchors.iter().rev().find(|(a, _)| *a == id) {
                Some((_, n)) => {
                    // Aliases copy; bound the copies so `&a [*a, *a, ...]` chains cannot explode.
                    self.alias_budget = self.alias_budget.saturating_sub(count_nodes(n));
                    if self.alias_budget == 0 {
                        if self.errors.is_empty() {
                            self.errors.push((mark, "too many alias expansions".into()));
                        }
                        return;
                    }
                    let mut n = n.clone();
                    n.mark = mark;
                    self.push_value(n, 0);
                }
                None => self.errors.push((mark, "unknown YAML alias".into())),
            },
            _ => {}
        }
    }
}

/// Parses YAML text into a node tree. An empty document is `Null`.
pub fn parse_yaml(sources: &Sources, file: FileId) -> Result<Node, Diagnostic> {
    let text = sources.text(file);
    let mut b = Builder {
        file,
        stack: Vec::new(),
        anchors: Vec::new(),
        root: None,
        errors: Vec::new(),
        docs: 0,
        alias_budget: 200_000,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut b, true) {
        let m = mark_of(file, *e.marker());
        return Err(sources.error(ErrorKind::Syntax, m, format!("invalid YAML: {}", e.info())));
    }
    if let Some((m, msg)) = b.errors.into_iter().next() {
        return Err(sources.error(ErrorKind::Syntax, m, msg));
    }
    Ok(b.root.unwrap_or(Node::new(
        Value::Null,
        Mark {
            file,
            line: 1,
            col: 1,
        },
    )))
}

/// Parses JSON text: syntax errors come from serde_json (its messages and positions), the tree
/// with positions from a small reader of (already valid) JSON.
pub fn parse_json(sources: &Sources, file: FileId) -> Result<Node, Diagnostic> {
    let text = sources.text(file);
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let json: serde_json::Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => {
            let m = Mark {
                file,
                line: e.line() as u32,
                col: e.column().max(1) as u32,
            };
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            return Err(sources.error(ErrorKind::Syntax, m, format!("invalid JSON: {msg}")));
        }
    };
    let mut r = JsonReader {
        chars: body.chars().peekable(),
        file,
        line: 1,
        col: 1,
        depth: 0,
    };
    match r.value() {
        Some(n) => {
            if let Some((k, _)) = duplicate_key(&n) {
                let name = k.as_str().unwrap_or("?").to_string();
                return Err(sources.error(
                    ErrorKind::Syntax,
                    k.mark,
                    format!("duplicate key `{name}`"),
                ));
            }
            Ok(n)
        }
        // Not expected for JSON serde_json accepted; keep the values, lose the positions.
        None => Ok(from_json(
            &json,
            Mark {
                file,
                line: 1,
                col: 1,
            },
        )),
    }
}

fn duplicate_key(n: &Node) -> Option<(&Node, &Node)> {
    match &n.value {
        Value::Map(entries) => {
            for (i, (k, v)) in entries.iter().enumerate() {
                if entries[..i].iter().any(|(p, _)| p.value == k.value) {
                    return Some((k, v));
                }
                if let Some(d) = duplicate_key(v) {
                    return Some(d);
                }
            }
            None
        }
        Value::Seq(items) => items.iter().find_map(duplicate_key),
        _ => None,
    }
}

struct JsonReader<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    file: FileId,
    line: u32,
    col: u32,
    depth: usize,
}

impl JsonReader<'_> {
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }
    fn ws(&mut self) {
        while matches!(self.chars.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.bump();
        }
    }
    fn mark(&self) -> Mark {
        Mark {
            file: self.file,
            line: self.line,
            col: self.col,
        }
    }
    fn value(&mut self) -> Option<Node> {
        self.ws();
        let mark = self.mark();
        let value = match *self.chars.peek()? {
            '{' => {
                self.bump();
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return None;
                }
                let mut entries = Vec::new();
                self.ws();
                if self.chars.peek() == Some(&'}') {
                    self.bump();
                } else {
                    loop {
                        self.ws();
                        let kmark = self.mark();
                        let k = self.string()?;
                        self.ws();
                        if self.bump()? != ':' {
                            return None;
                        }
                        let v = self.value()?;
                        entries.push((Node::new(Value::Str(k), kmark), v));
                        self.ws();
                        match self.bump()? {
                            ',' => continue,
                            '}' => break,
                            _ => return None,
                        }
                    }
                }
                self.depth -= 1;
                Value::Map(entries)
            }
            '[' => {
                self.bump();
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return None;
                }
                let mut items = Vec::new();
                self.ws();
                if self.chars.peek() == Some(&']') {
                    self.bump();
                } else {
                    loop {
                        items.push(self.value()?);
                        self.ws();
                        match self.bump()? {
                            ',' => continue,
                            ']' => break,
                            _ => return None,
                        }
                    }
                }
                self.depth -= 1;
                Value::Seq(items)
            }
            '"' => Value::Str(self.string()?),
            _ => {
                let mut word = String::new();
                while let Some(&c) = self.chars.peek() {
                    if c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.') {
                        word.push(c);
                        self.bump();
                    } else {
                        break;
                    }
                }
                let v = match word.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    w if w.contains(['.', 'e', 'E']) => Value::Float(w.parse().ok()?),
                    w => match w.parse::<i64>() {
                        Ok(i) => Value::Int(i),
                        Err(_) => Value::Float(w.parse().ok()?),
                    },
                };
                return Some(Node {
                    value: v,
                    mark,
                    raw: Some(word),
                });
            }
        };
        Some(Node::new(value, mark))
    }
    fn string(&mut self) -> Option<String> {
        if self.bump()? != '"' {
            return None;
        }
        let mut out = String::new();
        loop {
            match self.bump()? {
                '"' => return Some(out),
                '\\' => match self.bump()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'u' => {
                        let hi = self.hex4()?;
                        let c = if (0xd800..0xdc00).contains(&hi) {
                            if self.bump()? != '\\' || self.bump()? != 'u' {
                                return None;
                            }
                            let lo = self.hex4()?;
                            char::from_u32(
                                0x10000 + ((hi - 0xd800) << 10) + (lo.checked_sub(0xdc00)?),
                            )
                        } else {
                            char::from_u32(hi)
                        };
                        out.push(c.unwrap_or('\u{fffd}'));
                    }
                    c => out.push(c),
                },
                c => out.push(c),
            }
        }
    }
    fn hex4(&mut self) -> Option<u32> {
        let mut v = 0;
        for _ in 0..4 {
            v = v * 16 + self.bump()?.to_digit(16)?;
        }
        Some(v)
    }
}

fn from_json(v: &serde_json::Value, mark: Mark) -> Node {
    let value = match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(a) => Value::Seq(a.iter().map(|x| from_json(x, mark)).collect()),
        serde_json::Value::Object(o) => Value::Map(
            o.iter()
                .map(|(k, x)| (Node::new(Value::Str(k.clone()), mark), from_json(x, mark)))
                .collect(),
        ),
    };
    Node::new(value, mark)
}

/// Parses by extension: `.json` as JSON, anything else as YAML.
pub fn parse_file(sources: &Sources, file: FileId) -> Result<Node, Diagnostic> {
    let is_json = sources
        .path(file)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        parse_json(sources, file)
    } else {
        parse_yaml(sources, file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Node, Diagnostic> {
        let mut s = Sources::default();
        let id = s.add(Path::new("t.yaml"), text.to_string());
        parse_yaml(&s, id)
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let n = parse("a: 1\nb:\n  c: [x, 'y']\n  d: true\n").unwrap();
        let c = n.get("b").unwrap().get("c").unwrap();
        assert_eq!((c.mark.line, c.mark.col), (3, 6));
        assert_eq!(c.items()[1].value, Value::Str("y".into()));
        assert_eq!(c.items()[1].mark.col, 10);
        assert_eq!(n.get("a").unwrap().value, Value::Int(1));
        assert_eq!(
            n.get("b").unwrap().get("d").unwrap().value,
            Value::Bool(true)
        );
    }

    #[test]
    fn plain_scalars_resolve_like_yaml_1_2_core() {
        let n = parse("[~, 1.5, '1', 2024-02-01, -3, 0x10, yes]").unwrap();
        let v: Vec<_> = n.items().iter().map(|i| i.value.clone()).collect();
        assert_eq!(
            v,
            vec![
                Value::Null,
                Value::Float(1.5),
                Value::Str("1".into()),
                Value::Str("2024-02-01".into()),
                Value::Int(-3),
                Value::Int(16),
                Value::Str("yes".into())
            ]
        );
    }

    #[test]
    fn duplicate_keys_and_syntax_errors_are_located() {
        let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!((e.line, e.col), (3, 1));
        assert!(e.message.contains("duplicate key `a`"));
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Syntax);
        assert!(e.line >= 1);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = "[".repeat(100_000);
        let e = parse(&text).unwrap_err();
        assert!(
            e.message.contains("nesting") || e.message.starts_with("invalid YAML"),
            "{}",
            e.message
        );
        let text = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let e = parse(&text).unwrap_err();
        assert_eq!(e.message, "nesting deeper than 128 levels");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let e = parse(&text).unwrap_err();
        assert_eq!(e.message, "too many alias expansions");
    }

    #[test]
    fn aliases_copy_anchored_values() {
        let n = parse("base: &b {x: 1}\nother: *b\nlist: &l [1]\nl2: *l\n").unwrap();
        assert_eq!(
            n.get("other").unwrap().get("x").unwrap().value,
            Value::Int(1)
        );
        assert_eq!(n.get("l2").unwrap().items().len(), 1);
    }

    #[test]
    fn json_keeps_positions_and_reports_syntax_errors() {
        let mut s = Sources::default();
        let id = s.add(
            Path::new("t.json"),
            "{\n  \"a\": {\n    \"b\": 2\n  }\n}".into(),
        );
        let n = parse_json(&s, id).unwrap();
        let b = n.get("a").unwrap().get("b").unwrap();
        assert_eq!((b.mark.line, b.mark.col, &b.value), (3, 10, &Value::Int(2)));
        let id = s.add(Path::new("u.json"), "{\n  \"a\": 1,\n}".into());
        let e = parse_json(&s, id).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            e.message.starts_with("invalid JSON: trailing comma"),
            "{}",
            e.message
        );
    }

    #[test]
    fn merge_is_deep_for_mappings() {
        let mut a = parse("p: {x: 1, y: {z: 2}}").unwrap();
        let b = parse("p: {y: {w: 3}, x: 9}").unwrap();
        a.merge(&b);
        let p = a.get("p").unwrap();
        assert_eq!(p.get("x").unwrap().value, Value::Int(9));
        assert_eq!(p.get("y").unwrap().get("z").unwrap().value, Value::Int(2));
        assert_eq!(p.get("y").unwrap().get("w").unwrap().value, Value::Int(3));
    }
}

#[cfg(test)]
mod json_edge_tests {
    use super::*;

    fn json(text: &str) -> Node {
        let mut s = Sources::default();
        let id = s.add(Path::new("t.json"), text.into());
        parse_json(&s, id).unwrap()
    }

    #[test]
    fn tabs_bom_escapes_and_long_lines_keep_positions() {
        let n = json(
            "\u{feff}{\n\t\"a\": {\n\t\t\"b\": \"caf\\u00e9\\n\\t\",\n\t\t\"$ref\": [1, 2.5e3, null, true]\n\t}\n}",
        );
        let a = n.get("a").unwrap();
        let b = a.get("b").unwrap();
        assert_eq!(b.value, Value::Str("café\n\t".into()));
        assert_eq!(b.mark.line, 3, "positions survive tab indentation");
        let r = a.get("$ref").unwrap();
        assert_eq!(r.items()[1].value, Value::Float(2500.0));
        assert_eq!(r.items()[2].value, Value::Null);
        assert_eq!((r.items()[1].mark.line, r.items()[1].mark.col), (4, 15));
    }

    #[test]
    fn duplicate_json_keys_are_errors() {
        let mut s = Sources::default();
        let id = s.add(
            Path::new("t.json"),
            "{\"p\": {\"a\": 1,\n \"a\": 2}}".into(),
        );
        let e = parse_json(&s, id).unwrap_err();
        assert_eq!(
            (e.line, e.col, e.message.as_str()),
            (2, 2, "duplicate key `a`")
        );
    }
}
