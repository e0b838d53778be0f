//! Liquid templates for `set-body template="liquid"` (expressions.md §9): DotLiquid in C# mode
//! (PascalCase filters), with `body` and `context` bound from JSON values.
//!
//! Supported: `{{ expr | Filter: arg, arg }}`, `{% if/elsif/else/endif %}`, `unless`, `case/when`,
//! `for` (with `limit:`, `offset:`, `reversed`, `forloop.*`, `else`), `break`, `continue`,
//! `assign`, `capture`, `increment`, `decrement`, `comment`, `raw`, whitespace control (`{%-`, `-%}`).

mod filters;
mod value;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
pub use filters::FILTER_NAMES;
pub use value::{LValue, format_double};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiquidError {
    #[error("Liquid syntax error at offset {offset}: {message}")]
    Syntax { message: String, offset: usize },
    #[error("Liquid error: {0}")]
    Render(String),
}

fn syntax(message: impl Into<String>, offset: usize) -> LiquidError {
    LiquidError::Syntax {
        message: message.into(),
        offset,
    }
}

// ---------------------------------------------------------------- lexing

#[derive(Debug, Clone)]
enum Token {
    Text(String),
    Output(String, usize),
    Tag(String, usize),
}

fn find_block_end(src: &str, from: usize, name: &str) -> Option<(usize, usize)> {
    // Finds `{% endNAME %}` (with optional `-` markers); returns (start, end) byte offsets.
    let mut pos = from;
    while let Some(i) = src[pos..].find("{%") {
        let start = pos + i;
        let inner_start = start + 2;
        let close = src[inner_start..].find("%}")? + inner_start;
        let inner = src[inner_start..close]
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        if inner == format!("end{name}") {
            return Some((start, close + 2));
        }
        pos = close + 2;
    }
    None
}

fn lex(src: &str) -> Result<Vec<Token>, LiquidError> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    let mut trim_next = false;
    while pos < src.len() {
        let next = src[pos..].find(['{']).map(|i| pos + i);
        let Some(open) = next else {
            push_text(&mut tokens, &src[pos..], trim_next, false);
            break;
        };
        let kind = src.get(open..open + 2);
        if kind != Some("{{") && kind != Some("{%") {
            push_text(&mut tokens, &src[pos..open + 1], trim_next, false);
            trim_next = false;
            pos = open + 1;
            continue;
        }
        let is_output = kind == Some("{{");
        let mut inner_start = open + 2;
        let trim_before = src[inner_start..].starts_with('-');
        if trim_before {
            inner_start += 1;
        }
        push_text(&mut tokens, &src[pos..open], trim_next, trim_before);
        let closer = if is_output { "}}" } else { "%}" };
        let close = src[inner_start..]
            .find(closer)
            .map(|i| inner_start + i)
            .ok_or_else(|| {
                syntax(
                    format!("'{}' was not closed with '{closer}'", &src[open..open + 2]),
                    open,
                )
            })?;
        let mut inner_end = close;
        trim_next = false;
        if inner_end > inner_start && src[..inner_end].ends_with('-') {
            inner_end -= 1;
            trim_next = true;
        }
        let inner = src[inner_start..inner_end].trim().to_string();
        pos = close + 2;
        if is_output {
            tokens.push(Token::Output(inner, open));
            continue;
        }
        let tag_name = inner.split_whitespace().next().unwrap_or("");
        if tag_name == "raw" || tag_name == "comment" {
            let (end_start, end_end) = find_block_end(src, pos, tag_name)
                .ok_or_else(|| syntax(format!("'{tag_name}' tag was never closed"), open))?;
            if tag_name == "raw" {
                tokens.push(Token::Text(src[pos..end_start].to_string()));
            }
            trim_next = src[..end_end - 2].ends_with('-');
            pos = end_end;
            continue;
        }
        tokens.push(Token::Tag(inner, open));
    }
    Ok(tokens)
}

fn push_text(tokens: &mut Vec<Token>, text: &str, trim_start: bool, trim_end: bool) {
    let mut t = text;
    if trim_start {
        t = t.trim_start();
    }
    if trim_end {
        t = t.trim_end();
    }
    if !t.is_empty() {
        tokens.push(Token::Text(t.to_string()));
    }
}

// ---------------------------------------------------------------- markup expressions

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    Dot,
    DotDot,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Pipe,
    Colon,
    Comma,
    Op(&'static str),
}

fn tokenize(markup: &str, offset: usize) -> Result<Vec<Tok>, LiquidError> {
    let b = markup.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut open = 0usize;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'\'' | b'"' => {
                let end = markup[i + 1..]
                    .find(c as char)
                    .ok_or_else(|| syntax("unterminated string", offset + i))?
                    + i
                    + 1;
                out.push(Tok::Str(markup[i + 1..end].to_string()));
                i = end + 1;
            }
            b'0'..=b'9' | b'-' if c != b'-' || b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let start = i;
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let mut is_float = false;
                if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
                    is_float = true;
                    i += 1;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                let text = &markup[start..i];
                out.push(if is_float {
                    Tok::Float(
                        text.parse()
                            .map_err(|_| syntax("invalid number", offset + start))?,
                    )
                } else {
                    match text.parse() {
                        Ok(n) => Tok::Int(n),
                        Err(_) => Tok::Float(
                            text.parse()
                                .map_err(|_| syntax("invalid number", offset + start))?,
                        ),
                    }
                });
            }
            b'.' if b.get(i + 1) == Some(&b'.') => {
                out.push(Tok::DotDot);
                i += 2;
            }
            b'.' => {
                out.push(Tok::Dot);
                i += 1;
            }
            b'[' => {
                open += 1;
                if open > MAX_NESTING {
                    return Err(syntax("brackets are nested too deep", offset + i));
                }
                out.push(Tok::LBracket);
                i += 1;
            }
            b']' => {
                open = open.saturating_sub(1);
                out.push(Tok::RBracket);
                i += 1;
            }
            b'(' => {
                open += 1;
                if open > MAX_NESTING {
                    return Err(syntax("parentheses are nested too deep", offset + i));
                }
                out.push(Tok::LParen);
                i += 1;
            }
            b')' => {
                open = open.saturating_sub(1);
                out.push(Tok::RParen);
                i += 1;
            }
            b'|' => {
                out.push(Tok::Pipe);
                i += 1;
            }
            b':' => {
                out.push(Tok::Colon);
                i += 1;
            }
            b',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            b'=' | b'!' | b'<' | b'>' => {
                let two = markup.get(i..i + 2).unwrap_or("");
                let op = match two {
                    "==" => "==",
                    "!=" => "!=",
                    "<>" => "<>",
                    "<=" => "<=",
                    ">=" => ">=",
                    _ => match c {
                        b'<' => "<",
                        b'>' => ">",
                        _ => return Err(syntax(format!("unexpected '{}'", c as char), offset + i)),
                    },
                };
                i += op.len();
                out.push(Tok::Op(op));
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'_'
                        || b[i] == b'-'
                        || b[i] == b'?')
                {
                    i += 1;
                }
                out.push(Tok::Ident(markup[start..i].to_string()));
            }
            _ => {
                let ch = markup[i..].chars().next().unwrap_or('?');
                return Err(syntax(format!("unexpected character '{ch}'"), offset + i));
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Name(String),
    Index(Expr),
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Lit(LValue),
    Empty,
    Blank,
    Path(String, Vec<Seg>),
    Range(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
struct Filtered {
    expr: Expr,
    filters: Vec<(String, Vec<Expr>)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Test(Expr, Option<(&'static str, Expr)>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

struct P<'a> {
    toks: &'a [Tok],
    pos: usize,
    offset: usize,
    /// `and`/`or` seen so far in this markup.
    connectives: usize,
}

impl<'a> P<'a> {
    fn new(toks: &'a [Tok], offset: usize) -> Self {
        P {
            toks,
            pos: 0,
            offset,
            connectives: 0,
        }
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn err(&self, m: impl Into<String>) -> LiquidError {
        syntax(m, self.offset)
    }
    fn done(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn primary(&mut self) -> Result<Expr, LiquidError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Expr::Lit(LValue::Str(s))),
            Some(Tok::Int(i)) => Ok(Expr::Lit(LValue::Int(i))),
            Some(Tok::Float(f)) => Ok(Expr::Lit(LValue::Float(f))),
            Some(Tok::LParen) => {
                let a = self.primary()?;
                if !self.eat(&Tok::DotDot) {
                    return Err(self.err("expected '..' in range"));
                }
                let b = self.primary()?;
                if !self.eat(&Tok::RParen) {
                    return Err(self.err("expected ')' after range"));
                }
                Ok(Expr::Range(Box::new(a), Box::new(b)))
            }
            Some(Tok::Ident(id)) => {
                match id.as_str() {
                    "true" => return Ok(Expr::Lit(LValue::Bool(true))),
                    "false" => return Ok(Expr::Lit(LValue::Bool(false))),
                    "nil" | "null" => return Ok(Expr::Lit(LValue::Nil)),
                    "empty" => return Ok(Expr::Empty),
                    "blank" => return Ok(Expr::Blank),
                    _ => {}
                }
                let mut segs = Vec::new();
                loop {
                    if self.eat(&Tok::Dot) {
                        match self.next() {
                            Some(Tok::Ident(n)) => segs.push(Seg::Name(n)),
                            _ => return Err(self.err("expected a name after '.'")),
                        }
                    } else if self.eat(&Tok::LBracket) {
                        let e = self.primary()?;
                        if !self.eat(&Tok::RBracket) {
                            return Err(self.err("expected ']'"));
                        }
                        segs.push(Seg::Index(e));
                    } else {
                        break;
                    }
                }
                Ok(Expr::Path(id, segs))
            }
            Some(Tok::LBracket) => {
                // `[ "key" ]` at the root.
                let e = self.primary()?;
                if !self.eat(&Tok::RBracket) {
                    return Err(self.err("expected ']'"));
                }
                match e {
                    Expr::Lit(LValue::Str(s)) => Ok(Expr::Path(s, Vec::new())),
                    _ => Err(self.err("expected a string key")),
                }
            }
            Some(t) => Err(self.err(format!("unexpected {t:?}"))),
            None => Err(self.err("expected a value")),
        }
    }

    fn filtered(&mut self) -> Result<Filtered, LiquidError> {
        let expr = self.primary()?;
        let mut filters = Vec::new();
        while self.eat(&Tok::Pipe) {
            let name = match self.next() {
                Some(Tok::Ident(n)) => n,
                _ => return Err(self.err("expected a filter name after '|'")),
            };
            if !FILTER_NAMES.contains(&name.as_str()) {
                let hint = FILTER_NAMES
                    .iter()
                    .find(|f| f.eq_ignore_ascii_case(&name.replace('_', "")))
                    .map(|f| format!(" (APIM's Liquid uses C# names: '{f}')"))
                    .unwrap_or_default();
                return Err(self.err(format!("unknown filter '{name}'{hint}")));
            }
            let mut args = Vec::new();
            if self.eat(&Tok::Colon) {
                loop {
                    args.push(self.primary()?);
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
            }
            filters.push((name, args));
        }
        Ok(Filtered { expr, filters })
    }

    fn test(&mut self) -> Result<Cond, LiquidError> {
        let left = self.primary()?;
        let op = match self.peek() {
            Some(Tok::Op(o)) => Some(*o),
            Some(Tok::Ident(c)) if c == "contains" => Some("contains"),
            _ => None,
        };
        match op {
            Some(o) => {
                self.pos += 1;
                let right = self.primary()?;
                Ok(Cond::Test(left, Some((o, right))))
            }
            None => Ok(Cond::Test(left, None)),
        }
    }

    /// `and`/`or` bind right to left, as in Liquid.
    fn condition(&mut self) -> Result<Cond, LiquidError> {
        self.connectives += 1;
        if self.connectives > MAX_NESTING {
            return Err(self.err("too many 'and'/'or' in one condition"));
        }
        let left = self.test()?;
        match self.peek() {
            Some(Tok::Ident(k)) if k == "and" => {
                self.pos += 1;
                Ok(Cond::And(Box::new(left), Box::new(self.condition()?)))
            }
            Some(Tok::Ident(k)) if k == "or" => {
                self.pos += 1;
                Ok(Cond::Or(Box::new(left), Box::new(self.condition()?)))
            }
            _ => Ok(left),
        }
    }
}

fn parse_all<T>(
    markup: &str,
    offset: usize,
    f: impl FnOnce(&mut P) -> Result<T, LiquidError>,
) -> Result<T, LiquidError> {
    let toks = tokenize(markup, offset)?;
    let mut p = P::new(&toks, offset);
    let v = f(&mut p)?;
    if !p.done() {
        return Err(syntax(format!("unexpected text in '{markup}'"), offset));
    }
    Ok(v)
}

// ---------------------------------------------------------------- template tree

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Output(Filtered),
    If(Vec<(Cond, Vec<Node>)>, Vec<Node>),
    Case(Expr, Vec<(Vec<Expr>, Vec<Node>)>, Vec<Node>),
    For {
        var: String,
        coll: Expr,
        limit: Option<Expr>,
        offset: Option<Expr>,
        reversed: bool,
        body: Vec<Node>,
        empty: Vec<Node>,
    },
    Assign(String, Filtered),
    Capture(String, Vec<Node>),
    Increment(String, i64),
    Break,
    Continue,
}

/// The tag that closed a block: name, markup, offset.
type EndTag = (String, String, usize);

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

/// Deepest nesting of block tags accepted (against hostile templates).
pub const MAX_NESTING: usize = 128;

impl Parser {
    /// Parses nodes until one of `ends` (returns that tag's name, markup and offset).
    fn block(&mut self, ends: &[&str]) -> Result<(Vec<Node>, Option<EndTag>), LiquidError> {
        if self.depth >= MAX_NESTING {
            return Err(syntax(
                format!("blocks are nested more than {MAX_NESTING} deep"),
                self.pos,
            ));
        }
        self.depth += 1;
        let r = self.block_inner(ends);
        self.depth -= 1;
        r
    }

    fn block_inner(&mut self, ends: &[&str]) -> Result<(Vec<Node>, Option<EndTag>), LiquidError> {
        let mut nodes = Vec::new();
        while self.pos < self.tokens.len() {
            let tok = self.tokens[self.pos].clone();
            self.pos += 1;
            match tok {
                Token::Text(t) => nodes.push(Node::Text(t)),
                Token::Output(m, off) => {
                    nodes.push(Node::Output(parse_all(&m, off, |p| p.filtered())?))
                }
                Token::Tag(m, off) => {
                    let (name, rest) = m
                        .split_once(char::is_whitespace)
                        .map(|(a, b)| (a, b.trim()))
                        .unwrap_or((m.as_str(), ""));
                    if ends.contains(&name) {
                        return Ok((nodes, Some((name.to_string(), rest.to_string(), off))));
                    }
                    nodes.push(self.tag(name, rest, off)?);
                }
            }
        }
        if ends.is_empty() {
            Ok((nodes, None))
        } else {
            Err(syntax(
                format!("missing '{{% {} %}}'", ends.last().unwrap_or(&"end")),
                self.tokens.len(),
            ))
        }
    }

    fn tag(&mut self, name: &str, rest: &str, off: usize) -> Result<Node, LiquidError> {
        match name {
            "if" | "unless" => {
                let mut cond = parse_all(rest, off, |p| p.condition())?;
                if name == "unless" {
                    cond = Cond::Not(Box::new(cond));
                }
                let end = if name == "if" { "endif" } else { "endunless" };
                let mut branches = Vec::new();
                let mut otherwise = Vec::new();
                loop {
                    let (body, term) = self.block(&["elsif", "else", end])?;
                    branches.push((cond, body));
                    match term {
                        Some((t, m, o)) if t == "elsif" => {
                            cond = parse_all(&m, o, |p| p.condition())?
                        }
                        Some((t, _, _)) if t == "else" => {
                            let (body, _) = self.block(&[end])?;
                            otherwise = body;
                            break;
                        }
                        _ => break,
                    }
                }
                Ok(Node::If(branches, otherwise))
            }
            "case" => {
                let subject = parse_all(rest, off, |p| p.primary())?;
                let (_, mut term) = self.block(&["when", "else", "endcase"])?;
                let mut whens = Vec::new();
                let mut otherwise = Vec::new();
                while let Some((t, m, o)) = term.clone() {
                    match t.as_str() {
                        "when" => {
                            let values = parse_all(&m, o, |p| {
                                let mut v = vec![p.primary()?];
                                while p.eat(&Tok::Comma)
                                    || matches!(p.peek(), Some(Tok::Ident(k)) if k == "or") && {
                                        p.pos += 1;
                                        true
                                    }
                                {
                                    v.push(p.primary()?);
                                }
                                Ok(v)
                            })?;
                            let (body, next) = self.block(&["when", "else", "endcase"])?;
                            whens.push((values, body));
                            term = next;
                        }
                        "else" => {
                            let (body, _) = self.block(&["endcase"])?;
                            otherwise = body;
                            break;
                        }
                        _ => break,
                    }
                }
                Ok(Node::Case(subject, whens, otherwise))
            }
            "for" => {
                let (var, coll, limit, offset, reversed) = parse_all(rest, off, |p| {
                    let var = match p.next() {
                        Some(Tok::Ident(v)) => v,
                        _ => return Err(p.err("expected a loop variable")),
                    };
                    if p.next() != Some(Tok::Ident("in".into())) {
                        return Err(p.err("expected 'in'"));
                    }
                    let coll = p.primary()?;
                    let (mut limit, mut offset, mut reversed) = (None, None, false);
                    while let Some(Tok::Ident(k)) = p.peek().cloned() {
                        p.pos += 1;
                        match k.as_str() {
                            "reversed" => reversed = true,
                            "limit" | "offset" => {
                                if !p.eat(&Tok::Colon) {
                                    return Err(p.err(format!("expected ':' after {k}")));
                                }
                                let v = Some(p.primary()?);
                                if k == "limit" { limit = v } else { offset = v }
                            }
                            other => {
                                return Err(p.err(format!("unknown for-loop option '{other}'")));
                            }
                        }
                        p.eat(&Tok::Comma);
                    }
                    Ok((var, coll, limit, offset, reversed))
                })?;
                let (body, term) = self.block(&["else", "endfor"])?;
                let empty = match term {
                    Some((t, _, _)) if t == "else" => self.block(&["endfor"])?.0,
                    _ => Vec::new(),
                };
                Ok(Node::For {
                    var,
                    coll,
                    limit,
                    offset,
                    reversed,
                    body,
                    empty,
                })
            }
            "assign" => {
                let (var, value) = rest
                    .split_once('=')
                    .ok_or_else(|| syntax("assign needs 'name = value'", off))?;
                let var = var.trim();
                if var.is_empty()
                    || !var
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(syntax(format!("invalid variable name '{var}'"), off));
                }
                Ok(Node::Assign(
                    var.to_string(),
                    parse_all(value, off, |p| p.filtered())?,
                ))
            }
            "capture" => {
                let var = rest.trim().trim_matches(['"', '\'']).to_string();
                if var.is_empty() {
                    return Err(syntax("capture needs a variable name", off));
                }
                let (body, _) = self.block(&["endcapture"])?;
                Ok(Node::Capture(var, body))
            }
            "increment" | "decrement" => Ok(Node::Increment(
                rest.trim().to_string(),
                if name == "increment" { 1 } else { -1 },
            )),
            "break" => Ok(Node::Break),
            "continue" => Ok(Node::Continue),
            other => Err(syntax(format!("unknown tag '{other}'"), off)),
        }
    }
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

/// What a template sees: `body` (parsed JSON/XML body, or nil) and `context`.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    pub body: Option<serde_json::Value>,
    pub context: serde_json::Value,
    /// `now` for the `Date` filter (engine clock).
    pub now: Option<DateTime<Utc>>,
}

/// Upper bound on nodes rendered, against hostile templates (huge ranges, nested loops).
pub const MAX_RENDER_STEPS: u64 = 5_000_000;
/// Upper bound on output size.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024 * 1024;

enum Flow {
    Normal,
    Break,
    Continue,
}

struct Render<'a> {
    globals: HashMap<String, LValue>,
    locals: Vec<HashMap<String, LValue>>,
    counters: HashMap<String, i64>,
    body: LValue,
    context: LValue,
    now: DateTime<Utc>,
    steps: u64,
    max_steps: u64,
    _p: std::marker::PhantomData<&'a ()>,
}

impl Template {
    pub fn parse(src: &str) -> Result<Template, LiquidError> {
        let tokens = lex(src)?;
        let mut p = Parser {
            tokens,
            pos: 0,
            depth: 0,
        };
        let (nodes, _) = p.block(&[])?;
        Ok(Template { nodes })
    }

    pub fn render(&self, b: &Bindings) -> Result<String, LiquidError> {
        self.render_limited(b, MAX_RENDER_STEPS)
    }

    /// Renders with a custom bound on rendering steps.
    pub fn render_limited(&self, b: &Bindings, max_steps: u64) -> Result<String, LiquidError> {
        let mut r = Render {
            max_steps,
            globals: HashMap::new(),
            locals: Vec::new(),
            counters: HashMap::new(),
            body: b.body.as_ref().map(LValue::from).unwrap_or(LValue::Nil),
            context: LValue::from(&b.context),
            now: b.now.unwrap_or_else(Utc::now),
            steps: 0,
            _p: std::marker::PhantomData,
        };
        let mut out = String::new();
        r.nodes(&self.nodes, &mut out)?;
        Ok(out)
    }
}

fn compare(left: &LValue, op: &str, right: &LValue) -> bool {
    match op {
        "==" => equal(left, right),
        "!=" | "<>" => !equal(left, right),
        "contains" => match (left, right) {
            (LValue::Str(s), r) => s.contains(&r.render()),
            (LValue::Array(a), r) => a.iter().any(|x| equal(x, r)),
            (LValue::Object(o), LValue::Str(k)) => o.iter().any(|(x, _)| x == k),
            _ => false,
        },
        _ => {
            let ord = match (left.as_f64_strict(), right.as_f64_strict()) {
                (Some(a), Some(b)) => a.partial_cmp(&b),
                _ => match (left, right) {
                    (LValue::Str(a), LValue::Str(b)) => Some(a.cmp(b)),
                    _ => None,
                },
            };
            match (ord, op) {
                (Some(o), "<") => o.is_lt(),
                (Some(o), ">") => o.is_gt(),
                (Some(o), "<=") => o.is_le(),
                (Some(o), ">=") => o.is_ge(),
                _ => false,
            }
        }
    }
}

impl LValue {
    fn as_f64_strict(&self) -> Option<f64> {
        match self {
            LValue::Int(_) | LValue::Float(_) | LValue::Decimal(_) => self.as_f64(),
            _ => None,
        }
    }
}

fn equal(a: &LValue, b: &LValue) -> bool {
    match (a.as_f64_strict(), b.as_f64_strict()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

impl Render<'_> {
    fn step(&mut self) -> Result<(), LiquidError> {
        self.steps += 1;
        if self.steps > self.max_steps {
            return Err(LiquidError::Render(format!(
                "template exceeded {} rendering steps",
                self.max_steps
            )));
        }
        Ok(())
    }

    fn lookup(&self, root: &str) -> LValue {
        for scope in self.locals.iter().rev() {
            if let Some(v) = scope.get(root) {
                return v.clone();
            }
        }
        if let Some(v) = self.globals.get(root) {
            return v.clone();
        }
        match root {
            "body" => self.body.clone(),
            "context" => self.context.clone(),
            _ => LValue::Nil,
        }
    }

    fn eval(&mut self, e: &Expr) -> Result<LValue, LiquidError> {
        Ok(match e {
            Expr::Lit(v) => v.clone(),
            Expr::Empty => LValue::Str(String::new()),
            Expr::Blank => LValue::Str(String::new()),
            Expr::Path(root, segs) => {
                let mut v = self.lookup(root);
                for s in segs {
                    v = match s {
                        Seg::Name(n) => v.member(n),
                        Seg::Index(i) => {
                            let k = self.eval(i)?;
                            v.index(&k)
                        }
                    };
                }
                v
            }
            Expr::Range(a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) else {
                    return Err(LiquidError::Render("range bounds must be integers".into()));
                };
                if b.saturating_sub(a) > MAX_RENDER_STEPS as i64 {
                    return Err(LiquidError::Render("range is too large".into()));
                }
                LValue::Array((a..=b).map(LValue::Int).collect())
            }
        })
    }

    fn cond(&mut self, c: &Cond) -> Result<bool, LiquidError> {
        Ok(match c {
            Cond::Test(l, None) => self.eval(l)?.is_truthy(),
            Cond::Test(l, Some((op, r))) => {
                let lv = self.eval(l)?;
                match r {
                    Expr::Empty if matches!(*op, "==" | "!=" | "<>") => {
                        lv.is_empty_value() == (*op == "==")
                    }
                    Expr::Blank if matches!(*op, "==" | "!=" | "<>") => {
                        lv.is_blank() == (*op == "==")
                    }
                    _ => {
                        let rv = self.eval(r)?;
                        compare(&lv, op, &rv)
                    }
                }
            }
            Cond::And(a, b) => self.cond(a)? && self.cond(b)?,
            Cond::Or(a, b) => self.cond(a)? || self.cond(b)?,
            Cond::Not(a) => !self.cond(a)?,
        })
    }

    fn filtered(&mut self, f: &Filtered) -> Result<LValue, LiquidError> {
        let mut v = self.eval(&f.expr)?;
        for (name, args) in &f.filters {
            let args: Vec<LValue> = args
                .iter()
                .map(|a| self.eval(a))
                .collect::<Result<_, _>>()?;
            v = filters::apply(name, v, &args, self.now).map_err(LiquidError::Render)?;
        }
        Ok(v)
    }

    fn nodes(&mut self, nodes: &[Node], out: &mut String) -> Result<Flow, LiquidError> {
        for n in nodes {
            self.step()?;
            if out.len() > MAX_OUTPUT_BYTES {
                return Err(LiquidError::Render(format!(
                    "template output exceeded {MAX_OUTPUT_BYTES} bytes"
                )));
            }
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Output(f) => self.filtered(f)?.render_into(out),
                Node::If(branches, otherwise) => {
                    let mut done = false;
                    for (c, body) in branches {
                        if self.cond(c)? {
                            match self.nodes(body, out)? {
                                Flow::Normal => {}
                                flow => return Ok(flow),
                            }
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        match self.nodes(otherwise, out)? {
                            Flow::Normal => {}
                            flow => return Ok(flow),
                        }
                    }
                }
                Node::Case(subject, whens, otherwise) => {
                    let s = self.eval(subject)?;
                    let mut matched = false;
                    for (values, body) in whens {
                        let mut hit = false;
                        for v in values {
                            if equal(&s, &self.eval(v)?) {
                                hit = true;
                            }
                        }
                        if hit {
                            matched = true;
                            match self.nodes(body, out)? {
                                Flow::Normal => {}
                                flow => return Ok(flow),
                            }
                        }
                    }
                    if !matched {
                        match self.nodes(otherwise, out)? {
                            Flow::Normal => {}
                            flow => return Ok(flow),
                        }
                    }
                }
                Node::For {
                    var,
                    coll,
                    limit,
                    offset,
                    reversed,
                    body,
                    empty,
                } => {
                    let mut items = self.eval(coll)?.items();
                    let off = match offset {
                        Some(e) => self.eval(e)?.as_i64().unwrap_or(0).max(0) as usize,
                        None => 0,
                    };
                    items = items.into_iter().skip(off).collect();
                    if let Some(e) = limit {
                        let l = self.eval(e)?.as_i64().unwrap_or(0).max(0) as usize;
                        items.truncate(l);
                    }
                    if *reversed {
                        items.reverse();
                    }
                    if items.is_empty() {
                        match self.nodes(empty, out)? {
                            Flow::Normal => {}
                            flow => return Ok(flow),
                        }
                        continue;
                    }
                    let len = items.len() as i64;
                    for (i, item) in items.into_iter().enumerate() {
                        let i = i as i64;
                        let forloop = LValue::Object(vec![
                            ("name".into(), LValue::Str(var.to_string())),
                            ("length".into(), LValue::Int(len)),
                            ("index".into(), LValue::Int(i + 1)),
                            ("index0".into(), LValue::Int(i)),
                            ("rindex".into(), LValue::Int(len - i)),
                            ("rindex0".into(), LValue::Int(len - i - 1)),
                            ("first".into(), LValue::Bool(i == 0)),
                            ("last".into(), LValue::Bool(i == len - 1)),
                        ]);
                        self.locals.push(HashMap::from([
                            (var.clone(), item),
                            ("forloop".to_string(), forloop),
                        ]));
                        let flow = self.nodes(body, out);
                        self.locals.pop();
                        match flow? {
                            Flow::Break => break,
                            Flow::Continue | Flow::Normal => {}
                        }
                    }
                }
                Node::Assign(name, f) => {
                    let v = self.filtered(f)?;
                    self.globals.insert(name.clone(), v);
                }
                Node::Capture(name, body) => {
                    let mut s = String::new();
                    self.nodes(body, &mut s)?;
                    self.globals.insert(name.clone(), LValue::Str(s));
                }
                Node::Increment(name, by) => {
                    let c =
                        self.counters
                            .entry(name.clone())
                            .or_insert(if *by > 0 { 0 } else { -1 });
                    if *by > 0 {
                        out.push_str(&c.to_string());
                        *c += 1;
                    } else {
                        out.push_str(&c.to_string());
                        *c -= 1;
                    }
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(t: &str, body: serde_json::Value) -> String {
        let b = Bindings {
            body: Some(body),
            context: json!({"Request": {"Method": "POST", "Url": {"Path": "/echo", "Query": {"a": ["1"]}}}, "Response": {"StatusCode": 200}}),
            now: DateTime::parse_from_rfc3339("2024-03-05T07:08:09Z")
                .ok()
                .map(|d| d.to_utc()),
        };
        Template::parse(t).unwrap().render(&b).unwrap()
    }

    #[test]
    fn outputs_bindings_and_filters() {
        let body = json!({"name": "ada", "tags": ["b", "a", "c"], "price": 12.5, "n": 7});
        assert_eq!(
            render("Hello {{ body.name | Upcase }}!", body.clone()),
            "Hello ADA!"
        );
        assert_eq!(
            render(
                "{{context.Request.Method}} {{ context.Request.Url.Path }}",
                body.clone()
            ),
            "POST /echo"
        );
        assert_eq!(
            render("{{ body.tags | Sort | Join: ', ' }}", body.clone()),
            "a, b, c"
        );
        assert_eq!(
            render(
                "{{ body.tags.size }} {{ body.tags[0] }} {{ body.tags.last }}",
                body.clone()
            ),
            "3 b c"
        );
        assert_eq!(
            render(
                "{{ body.n | Plus: 3 | Times: 2 }} {{ body.n | DividedBy: 2 }} {{ body.n | Modulo: 4 }}",
                body.clone()
            ),
            "20 3 3"
        );
        assert_eq!(render("{{ body.price | Plus: 0.1 }}", body.clone()), "12.6");
        assert_eq!(
            render("{{ body.missing | Default: 'none' }}", body.clone()),
            "none"
        );
        assert_eq!(
            render("{{ 'x' | Append: body.name | Prepend: '<' }}", body),
            "<xada"
        );
    }

    #[test]
    fn control_flow() {
        let body = json!({"items": [{"id": 1, "ok": true}, {"id": 2, "ok": false}, {"id": 3, "ok": true}], "kind": "b"});
        let t = "{% for i in body.items %}{% if i.ok %}{{ i.id }}{% else %}-{% endif %}{% unless forloop.last %},{% endunless %}{% endfor %}";
        assert_eq!(render(t, body.clone()), "1,-,3");
        let t = "{% for i in (1..10) limit: 3 offset: 2 %}{{ i }}{% endfor %}|{% for i in (1..3) reversed %}{{ i }}{% endfor %}";
        assert_eq!(render(t, body.clone()), "345|321");
        let t = "{% for i in (1..9) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 4 %}{% break %}{% endif %}{{ i }}{% endfor %}";
        assert_eq!(render(t, body.clone()), "134");
        let t = "{% case body.kind %}{% when 'a' %}A{% when 'b', 'c' %}BC{% else %}?{% endcase %}";
        assert_eq!(render(t, body.clone()), "BC");
        let t = "{% assign total = body.items | Size %}{% capture msg %}n={{ total }}{% endcapture %}{{ msg }}";
        assert_eq!(render(t, body.clone()), "n=3");
        assert_eq!(
            render(
                "{% for x in body.none %}x{% else %}empty{% endfor %}",
                body.clone()
            ),
            "empty"
        );
        assert_eq!(
            render(
                "{% if body.kind == 'b' and body.items.size > 2 or false %}yes{% endif %}",
                body.clone()
            ),
            "yes"
        );
        assert_eq!(
            render(
                "{% if body.items contains 5 %}y{% else %}n{% endif %}{% if 'abc' contains 'b' %}y{% endif %}",
                body.clone()
            ),
            "ny"
        );
        assert_eq!(
            render(
                "{% if body.none == empty %}e{% endif %}{% if '' == empty %}E{% endif %}",
                body
            ),
            "E"
        );
    }

    #[test]
    fn whitespace_control_raw_and_comment() {
        assert_eq!(
            render("a  {%- if true -%}  b  {%- endif -%}  c", json!({})),
            "abc"
        );
        assert_eq!(
            render("{% raw %}{{ not parsed }}{% endraw %}", json!({})),
            "{{ not parsed }}"
        );
        assert_eq!(
            render("x{% comment %}{% bogus %}{% endcomment %}y", json!({})),
            "xy"
        );
        assert_eq!(render("{{- ' a ' -}}", json!({})), " a ");
    }

    #[test]
    fn syntax_errors_and_limits() {
        for bad in [
            "{{ x",
            "{% if x %}",
            "{% for %}{% endfor %}",
            "{{ x | upcase }}",
            "{% frobnicate %}",
            "{{ 'unterminated }}",
            "{% assign = 1 %}",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
        let e = Template::parse("{{ x | upcase }}").unwrap_err().to_string();
        assert!(e.contains("'Upcase'"), "{e}");
        let huge = Template::parse(
            "{% for i in (1..1000) %}{% for j in (1..1000) %}x{% endfor %}{% endfor %}",
        )
        .unwrap();
        assert!(matches!(
            huge.render_limited(&Bindings::default(), 10_000),
            Err(LiquidError::Render(_))
        ));
        assert!(matches!(
            Template::parse("{% for i in (1..9999999999) %}{% endfor %}")
                .unwrap()
                .render(&Bindings::default()),
            Err(LiquidError::Render(_))
        ));
        let deep = "{% if true %}".repeat(MAX_NESTING + 1);
        assert!(Template::parse(&deep).is_err());
        assert!(Template::parse(&format!("{{{{ a{} }}}}", "[".repeat(10_000))).is_err());
        assert!(
            Template::parse(&format!(
                "{{% if {} %}}{{% endif %}}",
                vec!["true"; 10_000].join(" and ")
            ))
            .is_err()
        );
        let div = Template::parse("{{ 1 | DividedBy: 0 }}").unwrap();
        assert!(matches!(
            div.render(&Bindings::default()),
            Err(LiquidError::Render(_))
        ));
    }

    #[test]
    fn increment_counters() {
        assert_eq!(
            render(
                "{% increment c %}{% increment c %}{% decrement d %}",
                json!({})
            ),
            "01-1"
        );
    }
}
