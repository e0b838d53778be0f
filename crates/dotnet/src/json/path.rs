//! `SelectToken` / `SelectTokens`: Newtonsoft's JSONPath subset — `$`, `.name`, `['name']`,
//! `[0]`, `[0,2]`, `[1:3]`, `[*]`, `.*`, `..name`, and filters `[?(@.a == 1)]` with
//! `== != < <= > >=`, `&&`, `||` and existence tests.

use super::{JToken, JValue};
use crate::error::{DotNetException, DotNetResult, ExceptionKind};

#[derive(Debug, Clone)]
enum Step {
    Field(Vec<String>),
    Wildcard,
    Index(Vec<i64>),
    Slice(Option<i64>, Option<i64>, i64),
    Scan(Option<String>),
    Filter(Expr),
    Root,
}

#[derive(Debug, Clone)]
enum Operand {
    Path(bool, Vec<Step>),
    Literal(JValue),
}

#[derive(Debug, Clone)]
enum Expr {
    Exists(Operand),
    Cmp(Operand, String, Operand),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

fn perr(msg: impl Into<String>) -> DotNetException {
    DotNetException::new(ExceptionKind::JsonException, msg)
}

struct P<'a> {
    s: &'a [char],
    i: usize,
}

impl P<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }
    fn skip_ws(&mut self) {
        while self.peek() == Some(' ') {
            self.i += 1;
        }
    }
    fn name(&mut self) -> String {
        let mut n = String::new();
        while let Some(c) = self.peek() {
            if matches!(
                c,
                '.' | '[' | ']' | '(' | ')' | ' ' | '=' | '!' | '<' | '>' | '&' | '|'
            ) {
                break;
            }
            n.push(c);
            self.i += 1;
        }
        n
    }
    fn quoted(&mut self) -> DotNetResult<String> {
        let q = self
            .peek()
            .ok_or_else(|| perr("Path ended with open indexer."))?;
        self.i += 1;
        let mut n = String::new();
        loop {
            match self.peek() {
                None => return Err(perr("Path ended with open indexer.")),
                Some('\\') => {
                    self.i += 1;
                    if let Some(c) = self.peek() {
                        n.push(c);
                        self.i += 1;
                    }
                }
                Some(c) if c == q => {
                    self.i += 1;
                    return Ok(n);
                }
                Some(c) => {
                    n.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn steps(&mut self, in_filter: bool) -> DotNetResult<Vec<Step>> {
        let mut steps = Vec::new();
        if self.peek() == Some('$') {
            self.i += 1;
            steps.push(Step::Root);
        }
        let mut first = true;
        loop {
            match self.peek() {
                None => break,
                Some('.') => {
                    self.i += 1;
                    if self.peek() == Some('.') {
                        self.i += 1;
                        if self.peek() == Some('*') {
                            self.i += 1;
                            steps.push(Step::Scan(None));
                        } else if self.peek() == Some('[') {
                            steps.push(Step::Scan(None));
                        } else {
                            let n = self.name();
                            steps.push(Step::Scan(Some(n)));
                        }
                    } else if self.peek() == Some('*') {
                        self.i += 1;
                        steps.push(Step::Wildcard);
                    } else {
                        let n = self.name();
                        if n.is_empty() {
                            return Err(perr("Unexpected end while parsing path."));
                        }
                        steps.push(Step::Field(vec![n]));
                    }
                }
                Some('[') => {
                    self.i += 1;
                    self.skip_ws();
                    steps.push(self.bracket()?);
                }
                Some(c)
                    if in_filter && matches!(c, ' ' | ')' | '=' | '!' | '<' | '>' | '&' | '|') =>
                {
                    break;
                }
                Some('*') if first => {
                    self.i += 1;
                    steps.push(Step::Wildcard);
                }
                Some(_) if first => {
                    let n = self.name();
                    if n.is_empty() {
                        return Err(perr(format!(
                            "Unexpected character while parsing path: {}",
                            self.peek().unwrap_or(' ')
                        )));
                    }
                    steps.push(Step::Field(vec![n]));
                }
                Some(c) => {
                    return Err(perr(format!("Unexpected character following indexer: {c}")));
                }
            }
            first = false;
        }
        Ok(steps)
    }

    fn bracket(&mut self) -> DotNetResult<Step> {
        match self.peek() {
            Some('\'') | Some('"') => {
                let mut names = vec![self.quoted()?];
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(',') => {
                            self.i += 1;
                            self.skip_ws();
                            names.push(self.quoted()?);
                        }
                        Some(']') => {
                            self.i += 1;
                            return Ok(Step::Field(names));
                        }
                        _ => return Err(perr("Unexpected character while parsing path indexer.")),
                    }
                }
            }
            Some('*') => {
                self.i += 1;
                self.skip_ws();
                self.expect(']')?;
                Ok(Step::Wildcard)
            }
            Some('?') => {
                self.i += 1;
                self.expect('(')?;
                let e = self.expr()?;
                self.skip_ws();
                self.expect(')')?;
                self.skip_ws();
                self.expect(']')?;
                Ok(Step::Filter(e))
            }
            _ => {
                let mut text = String::new();
                while let Some(c) = self.peek() {
                    if c == ']' {
                        break;
                    }
                    text.push(c);
                    self.i += 1;
                }
                self.expect(']')?;
                let text = text.trim();
                let int = |t: &str| -> DotNetResult<Option<i64>> {
                    let t = t.trim();
                    if t.is_empty() {
                        return Ok(None);
                    }
                    t.parse::<i64>().map(Some).map_err(|_| {
                        perr(format!(
                            "Unexpected character while parsing path indexer: {t}"
                        ))
                    })
                };
                if text.contains(':') {
                    let parts: Vec<&str> = text.split(':').collect();
                    let step = match parts.get(2) {
                        Some(s) => int(s)?.unwrap_or(1),
                        None => 1,
                    };
                    if step == 0 {
                        return Err(perr("Step cannot be zero."));
                    }
                    return Ok(Step::Slice(
                        int(parts[0])?,
                        int(parts.get(1).copied().unwrap_or(""))?,
                        step,
                    ));
                }
                let mut idx = Vec::new();
                for p in text.split(',') {
                    idx.push(int(p)?.ok_or_else(|| perr("Array index expected."))?);
                }
                Ok(Step::Index(idx))
            }
        }
    }

    fn expect(&mut self, c: char) -> DotNetResult<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(perr(format!(
                "Unexpected character while parsing path query: {}",
                self.peek().unwrap_or(' ')
            )))
        }
    }

    fn operand(&mut self) -> DotNetResult<Operand> {
        self.skip_ws();
        match self.peek() {
            Some('@') | Some('$') => {
                let root = self.peek() == Some('$');
                self.i += 1;
                let steps = self.steps(true)?;
                Ok(Operand::Path(root, steps))
            }
            Some('\'') | Some('"') => Ok(Operand::Literal(JValue::String(self.quoted()?))),
            _ => {
                let mut t = String::new();
                while let Some(c) = self.peek() {
                    if matches!(c, ' ' | ')' | '&' | '|' | '=' | '!' | '<' | '>') {
                        break;
                    }
                    t.push(c);
                    self.i += 1;
                }
                let v = match t.as_str() {
                    "true" => JValue::Boolean(true),
                    "false" => JValue::Boolean(false),
                    "null" => JValue::Null,
                    _ => match t.parse::<i64>() {
                        Ok(i) => JValue::Integer(i),
                        Err(_) => JValue::Float(
                            t.parse::<f64>()
                                .map_err(|_| perr(format!("Could not read query value: {t}")))?,
                        ),
                    },
                };
                Ok(Operand::Literal(v))
            }
        }
    }

    fn comparison(&mut self) -> DotNetResult<Expr> {
        let left = self.operand()?;
        self.skip_ws();
        let mut op = String::new();
        while let Some(c) = self.peek() {
            if matches!(c, '=' | '!' | '<' | '>') {
                op.push(c);
                self.i += 1;
            } else {
                break;
            }
        }
        if op.is_empty() {
            return Ok(Expr::Exists(left));
        }
        if !matches!(
            op.as_str(),
            "==" | "!=" | "<" | "<=" | ">" | ">=" | "===" | "!=="
        ) {
            return Err(perr(format!("Unexpected operator: {op}")));
        }
        let right = self.operand()?;
        Ok(Expr::Cmp(left, op, right))
    }

    fn expr(&mut self) -> DotNetResult<Expr> {
        let mut left = self.and_expr()?;
        loop {
            self.skip_ws();
            if self.s.get(self.i) == Some(&'|') && self.s.get(self.i + 1) == Some(&'|') {
                self.i += 2;
                let r = self.and_expr()?;
                left = Expr::Or(Box::new(left), Box::new(r));
            } else {
                return Ok(left);
            }
        }
    }
    fn and_expr(&mut self) -> DotNetResult<Expr> {
        let mut left = self.comparison()?;
        loop {
            self.skip_ws();
            if self.s.get(self.i) == Some(&'&') && self.s.get(self.i + 1) == Some(&'&') {
                self.i += 2;
                let r = self.comparison()?;
                left = Expr::And(Box::new(left), Box::new(r));
            } else {
                return Ok(left);
            }
        }
    }
}

fn apply(steps: &[Step], root: &JToken, start: Vec<JToken>) -> Vec<JToken> {
    let mut cur = start;
    for step in steps {
        let mut next = Vec::new();
        for t in &cur {
            match step {
                Step::Root => next.push(root.clone()),
                Step::Field(names) => {
                    if t.is_object() {
                        for n in names {
                            if let Ok(Some(v)) = t.get(n) {
                                next.push(v);
                            }
                        }
                    }
                }
                Step::Wildcard => {
                    for c in t.children() {
                        next.push(if c.is_property() {
                            c.property_value().unwrap_or(c)
                        } else {
                            c
                        });
                    }
                }
                Step::Index(idx) => {
                    if t.is_array() {
                        let kids = t.children();
                        for &i in idx {
                            let i = if i < 0 { kids.len() as i64 + i } else { i };
                            if i >= 0 && (i as usize) < kids.len() {
                                next.push(kids[i as usize].clone());
                            }
                        }
                    }
                }
                Step::Slice(s, e, step) => {
                    if t.is_array() {
                        let kids = t.children();
                        let n = kids.len() as i64;
                        let norm = |v: i64| if v < 0 { (n + v).max(0) } else { v.min(n) };
                        if *step > 0 {
                            let mut i = norm(s.unwrap_or(0));
                            let end = norm(e.unwrap_or(n));
                            while i < end {
                                next.push(kids[i as usize].clone());
                                i += step;
                            }
                        } else {
                            let mut i = s.map(norm).unwrap_or(n - 1).min(n - 1);
                            let end = e.map(norm).unwrap_or(-1);
                            while i > end && i >= 0 {
                                next.push(kids[i as usize].clone());
                                i += step;
                            }
                        }
                    }
                }
                Step::Scan(name) => {
                    for d in t.descendants() {
                        match name {
                            Some(n) => {
                                if d.is_property() && d.name().is_ok_and(|x| &x == n) {
                                    if let Ok(v) = d.property_value() {
                                        next.push(v);
                                    }
                                }
                            }
                            None => {
                                if !d.is_property() {
                                    next.push(d);
                                }
                            }
                        }
                    }
                }
                Step::Filter(e) => {
                    let items: Vec<JToken> = if t.is_array() {
                        t.children()
                    } else if t.is_object() {
                        t.children()
                            .into_iter()
                            .filter_map(|p| p.property_value().ok())
                            .collect()
                    } else {
                        Vec::new()
                    };
                    for item in items {
                        if eval(e, root, &item) {
                            next.push(item);
                        }
                    }
                }
            }
        }
        cur = next;
    }
    cur
}

fn operand_values(o: &Operand, root: &JToken, item: &JToken) -> Vec<JValue> {
    match o {
        Operand::Literal(v) => vec![v.clone()],
        Operand::Path(is_root, steps) => {
            let start = if *is_root { root.clone() } else { item.clone() };
            apply(steps, root, vec![start])
                .into_iter()
                .filter_map(|t| t.value())
                .collect()
        }
    }
}

fn cmp_values(a: &JValue, b: &JValue) -> Option<std::cmp::Ordering> {
    let num = |v: &JValue| match v {
        JValue::Integer(i) => Some(*i as f64),
        JValue::Float(f) => Some(*f),
        JValue::Decimal(d) => rust_decimal::prelude::ToPrimitive::to_f64(d),
        _ => None,
    };
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return x.partial_cmp(&y);
    }
    match (a, b) {
        (JValue::String(x), JValue::String(y)) => Some(x.cmp(y)),
        (JValue::Boolean(x), JValue::Boolean(y)) => Some(x.cmp(y)),
        (JValue::Null, JValue::Null) => Some(std::cmp::Ordering::Equal),
        (JValue::Date(x), JValue::Date(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn eval(e: &Expr, root: &JToken, item: &JToken) -> bool {
    match e {
        Expr::And(a, b) => eval(a, root, item) && eval(b, root, item),
        Expr::Or(a, b) => eval(a, root, item) || eval(b, root, item),
        Expr::Exists(o) => match o {
            Operand::Path(is_root, steps) => {
                let start = if *is_root { root.clone() } else { item.clone() };
                !apply(steps, root, vec![start]).is_empty()
            }
            Operand::Literal(_) => true,
        },
        Expr::Cmp(l, op, r) => {
            let lv = operand_values(l, root, item);
            let rv = operand_values(r, root, item);
            lv.iter().any(|a| {
                rv.iter().any(|b| {
                    let c = cmp_values(a, b);
                    match op.as_str() {
                        "==" | "===" => c == Some(std::cmp::Ordering::Equal),
                        "!=" | "!==" => c != Some(std::cmp::Ordering::Equal),
                        "<" => c == Some(std::cmp::Ordering::Less),
                        "<=" => matches!(
                            c,
                            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
                        ),
                        ">" => c == Some(std::cmp::Ordering::Greater),
                        ">=" => matches!(
                            c,
                            Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
                        ),
                        _ => false,
                    }
                })
            })
        }
    }
}

fn parse_path(path: &str) -> DotNetResult<Vec<Step>> {
    let chars: Vec<char> = path.chars().collect();
    let mut p = P { s: &chars, i: 0 };
    p.steps(false)
}

impl JToken {
    /// `SelectTokens(path)`: every match, in document order.
    pub fn select_tokens(&self, path: &str) -> DotNetResult<Vec<JToken>> {
        let steps = parse_path(path)?;
        Ok(apply(&steps, self, vec![self.clone()]))
    }

    /// `SelectToken(path)`: the single match, None when nothing matches, JsonException when
    /// the path matches more than one token.
    pub fn select_token(&self, path: &str) -> DotNetResult<Option<JToken>> {
        let mut all = self.select_tokens(path)?;
        if all.len() > 1 {
            return Err(perr("Path returned multiple tokens."));
        }
        Ok(all.pop())
    }
}
