//! Parser: pest grammar → [`ast`](crate::ast) with spans. Never panics; deep nesting is a
//! diagnostic.
use pest::Parser as _;
use pest::iterators::Pair;

use crate::ast::*;
use crate::diag::Diagnostic;

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
struct CsParser;

/// Longest expression text accepted (APIM policy documents are far smaller).
pub const MAX_SOURCE_LEN: usize = 64 * 1024;
/// Deepest bracket nesting accepted.
pub const MAX_BRACKET_DEPTH: usize = 64;
/// Deepest syntax tree accepted (operators chained left to right count too).
pub const MAX_TREE_DEPTH: usize = 100;
const MAX_LAMBDA_ARROWS: usize = 64;
/// Inputs at most this deep (brackets plus lambdas) and long parse on the calling thread.
const INLINE_DEPTH: usize = 12;
const INLINE_LEN: usize = 4 * 1024;

type R<T> = Result<T, Diagnostic>;

/// Parses a full expression text (`@(...)` or `@{...}`).
pub fn parse(source: &str) -> Result<Root, Vec<Diagnostic>> {
    with_stack(source, parse_inner)
}

/// Runs `f` (parsing, checking) on the calling thread for shallow input, else on a thread
/// with a large stack: pest and the checker recurse per nesting level.
pub fn with_stack<T: Send + 'static>(
    source: &str,
    f: fn(&str) -> Result<T, Vec<Diagnostic>>,
) -> Result<T, Vec<Diagnostic>> {
    let depth = prescan(source).map_err(|d| vec![d])?;
    // debug builds have much larger frames: always use the big stack there
    if !cfg!(debug_assertions) && depth <= INLINE_DEPTH && source.len() <= INLINE_LEN {
        return f(source);
    }
    let src = source.to_owned();
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(move || f(&src));
    match handle {
        Ok(h) => match h.join() {
            Ok(r) => r,
            Err(_) => Err(vec![Diagnostic::new(
                "EMU0001",
                Span::new(0, source.len()),
                "internal error while parsing the expression",
            )]),
        },
        Err(_) => f(source),
    }
}

/// Parses without the stack guard thread (caller guarantees a large stack).
pub fn parse_inner(source: &str) -> Result<Root, Vec<Diagnostic>> {
    let trimmed_start = source.len() - source.trim_start().len();
    let rest = &source[trimmed_start..];
    let is_block = rest.starts_with("@{");
    if !is_block && !rest.starts_with("@(") {
        return Err(vec![Diagnostic::new(
            "APIM0001",
            Span::new(trimmed_start, (trimmed_start + 2).min(source.len())),
            "a policy expression must start with `@(` or `@{`",
        )]);
    }
    let rule = if is_block {
        Rule::block_root
    } else {
        Rule::expression_root
    };
    let mut pairs = CsParser::parse(rule, source).map_err(|e| vec![pest_error(source, e)])?;
    let root = pairs.next().ok_or_else(|| {
        vec![Diagnostic::new(
            "EMU0001",
            Span::new(0, source.len()),
            "empty parse",
        )]
    })?;
    let mut b = Builder { src: source };
    let span = span_of(&root);
    let result = if is_block {
        let mut stmts = Vec::new();
        for p in root.into_inner() {
            if p.as_rule() == Rule::EOI {
                continue;
            }
            stmts.push(b.stmt(p).map_err(|d| vec![d])?);
        }
        Root::Block(stmts, span)
    } else {
        let e = root
            .into_inner()
            .find(|p| p.as_rule() == Rule::expr)
            .ok_or_else(|| vec![Diagnostic::new("EMU0001", span, "missing expression")])?;
        Root::Expr(b.expr(e).map_err(|d| vec![d])?)
    };
    check_depth(&result).map_err(|d| vec![d])?;
    Ok(result)
}

/// Checks the size limits; returns the deepest bracket nesting plus the number of lambdas.
fn prescan(source: &str) -> R<usize> {
    if source.len() > MAX_SOURCE_LEN {
        return Err(Diagnostic::new(
            "EMU0003",
            Span::new(0, source.len()),
            format!("expression is longer than {MAX_SOURCE_LEN} bytes"),
        ));
    }
    let bytes = source.as_bytes();
    let mut depth = 0usize;
    let mut max_depth = 0usize;
    let mut arrows = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' | b'{' => {
                depth += 1;
                max_depth = max_depth.max(depth);
                if depth > MAX_BRACKET_DEPTH {
                    return Err(Diagnostic::new(
                        "EMU0002",
                        Span::new(i, i + 1),
                        format!("expression nesting is deeper than {MAX_BRACKET_DEPTH} brackets"),
                    ));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'=' if bytes.get(i + 1) == Some(&b'>') => {
                arrows += 1;
                if arrows > MAX_LAMBDA_ARROWS {
                    return Err(Diagnostic::new(
                        "EMU0002",
                        Span::new(i, i + 2),
                        "too many lambdas in one expression",
                    ));
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(max_depth + arrows)
}

fn too_deep(span: Span, what: &str) -> Diagnostic {
    let msg = format!("{what} nested deeper than {MAX_TREE_DEPTH} levels");
    Diagnostic::new("EMU0002", span, msg)
}

fn check_depth(root: &Root) -> R<()> {
    fn e(x: &Expr, d: usize) -> R<()> {
        if d > MAX_TREE_DEPTH {
            return Err(too_deep(x.span, "expression is"));
        }
        let d = d + 1;
        match &x.kind {
            ExprKind::Lit(_) | ExprKind::Name(..) | ExprKind::PredefType(_) => Ok(()),
            ExprKind::Typeof(_) | ExprKind::Default(_) => Ok(()),
            ExprKind::Interp(ps) => {
                for p in ps {
                    if let Piece::Hole(h) = p {
                        e(&h.expr, d)?;
                        if let Some(a) = &h.align {
                            e(a, d)?;
                        }
                    }
                }
                Ok(())
            }
            ExprKind::Member { target, .. } => e(target, d),
            ExprKind::Index { target, args, .. } | ExprKind::Call { target, args } => {
                e(target, d)?;
                args.iter().try_for_each(|a| e(&a.value, d))
            }
            ExprKind::Unary(_, x) | ExprKind::Cast(_, x) | ExprKind::As(x, _) => e(x, d),
            ExprKind::Checked(_, x) => e(x, d),
            ExprKind::Is { expr, .. } => e(expr, d),
            ExprKind::Binary(_, a, b) => {
                e(a, d)?;
                e(b, d)
            }
            ExprKind::Assign { target, value, .. } => {
                e(target, d)?;
                e(value, d)
            }
            ExprKind::Conditional(a, b, c) => {
                e(a, d)?;
                e(b, d)?;
                e(c, d)
            }
            ExprKind::Lambda { body, .. } => match body {
                LambdaBody::Expr(x) => e(x, d),
                LambdaBody::Block(s) => st(s, d),
            },
            ExprKind::New { args, init, .. } => {
                args.iter().try_for_each(|a| e(&a.value, d))?;
                if let Some(init) = init {
                    for i in init {
                        match i {
                            InitElem::Member(_, _, x) => e(x, d)?,
                            InitElem::Index(a, x) => {
                                a.iter().try_for_each(|a| e(&a.value, d))?;
                                e(x, d)?
                            }
                            InitElem::Add(xs) => xs.iter().try_for_each(|x| e(x, d))?,
                        }
                    }
                }
                Ok(())
            }
            ExprKind::NewArray { sizes, init, .. } => {
                sizes.iter().try_for_each(|x| e(x, d))?;
                init.iter().flatten().try_for_each(|x| e(x, d))
            }
            ExprKind::ArrayInit(xs) => xs.iter().try_for_each(|x| e(x, d)),
            ExprKind::NewAnon(ms) => ms.iter().try_for_each(|(_, _, x)| e(x, d)),
        }
    }
    fn st(s: &Stmt, d: usize) -> R<()> {
        if d > MAX_TREE_DEPTH {
            return Err(too_deep(s.span, "statements are"));
        }
        let d = d + 1;
        match &s.kind {
            StmtKind::Block(ss) => ss.iter().try_for_each(|s| st(s, d)),
            StmtKind::Empty | StmtKind::Break | StmtKind::Continue => Ok(()),
            StmtKind::Decl(_, ds) => ds
                .iter()
                .filter_map(|x| x.init.as_ref())
                .try_for_each(|x| e(x, d)),
            StmtKind::Expr(x) => e(x, d),
            StmtKind::Return(x) | StmtKind::Throw(x) => x.iter().try_for_each(|x| e(x, d)),
            StmtKind::If(c, a, b) => {
                e(c, d)?;
                st(a, d)?;
                b.iter().try_for_each(|b| st(b, d))
            }
            StmtKind::While(c, b) | StmtKind::DoWhile(b, c) => {
                e(c, d)?;
                st(b, d)
            }
            StmtKind::For {
                init,
                cond,
                iter,
                body,
            } => {
                init.iter().try_for_each(|s| st(s, d))?;
                cond.iter().try_for_each(|x| e(x, d))?;
                iter.iter().try_for_each(|x| e(x, d))?;
                st(body, d)
            }
            StmtKind::Foreach { coll, body, .. } => {
                e(coll, d)?;
                st(body, d)
            }
            StmtKind::Switch(x, secs) => {
                e(x, d)?;
                for sec in secs {
                    sec.labels.iter().flatten().try_for_each(|x| e(x, d))?;
                    sec.body.iter().try_for_each(|s| st(s, d))?;
                }
                Ok(())
            }
            StmtKind::Try {
                body,
                catches,
                finally,
            } => {
                st(body, d)?;
                for c in catches {
                    c.filter.iter().try_for_each(|x| e(x, d))?;
                    st(&c.body, d)?;
                }
                finally.iter().try_for_each(|s| st(s, d))
            }
            StmtKind::Using(a, b) => {
                st(a, d)?;
                st(b, d)
            }
            StmtKind::Checked(_, b) => st(b, d),
        }
    }
    match root {
        Root::Expr(x) => e(x, 0),
        Root::Block(ss, _) => ss.iter().try_for_each(|s| st(s, 0)),
    }
}

fn pest_error(source: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    let pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let pos = pos.min(source.len());
    let rest = &source[pos..];
    let tok: String = if rest.is_empty() {
        String::new()
    } else {
        let first = rest.chars().next().unwrap_or(' ');
        if first.is_alphanumeric() || first == '_' {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        } else {
            first.to_string()
        }
    };
    let end = pos + tok.len().max(if rest.is_empty() { 0 } else { 1 });
    if tok.is_empty() {
        Diagnostic::new(
            "CS1733",
            Span::new(pos, pos),
            "syntax error: unexpected end of expression",
        )
    } else {
        Diagnostic::new(
            "CS1525",
            Span::new(pos, end.min(source.len())),
            format!("syntax error: unexpected `{tok}`"),
        )
    }
}

fn span_of(p: &Pair<'_, Rule>) -> Span {
    let s = p.as_span();
    Span::new(s.start(), s.end())
}

struct Builder<'a> {
    #[allow(dead_code)]
    src: &'a str,
}

/// A part the grammar guarantees; its absence is an internal parser error (EMU0001).
fn need<T>(part: Option<T>, span: Span, what: &'static str) -> R<T> {
    part.ok_or_else(|| Diagnostic::new("EMU0001", span, what))
}

fn bad(p: &Pair<'_, Rule>, what: &str) -> Diagnostic {
    Diagnostic::new(
        "EMU0001",
        span_of(p),
        format!(
            "internal parser error: unexpected {:?} in {what}",
            p.as_rule()
        ),
    )
}

impl<'a> Builder<'a> {
    fn expr(&mut self, p: Pair<'a, Rule>) -> R<Expr> {
        let span = span_of(&p);
        match p.as_rule() {
            Rule::expr => {
                let mut it = p.into_inner();
                let first = need(it.next(), span, "empty expression")?;
                if first.as_rule() == Rule::lambda {
                    return self.expr(first);
                }
                // a = b = c: right associative
                let mut items = vec![self.expr(first)?];
                let mut ops = Vec::new();
                while let Some(op) = it.next() {
                    let v = it.next().ok_or_else(|| bad(&op, "assignment"))?;
                    ops.push(assign_op(op.as_str()));
                    items.push(self.expr(v)?);
                }
                let mut value = need(items.pop(), span, "empty")?;
                while let Some(target) = items.pop() {
                    let op = ops.pop().flatten();
                    let sp = target.span.to(value.span);
                    value = Expr {
                        kind: ExprKind::Assign {
                            op,
                            target: Box::new(target),
                            value: Box::new(value),
                        },
                        span: sp,
                    };
                }
                Ok(value)
            }
            Rule::lambda => {
                let mut it = p.into_inner().peekable();
                if it.peek().is_some_and(|x| x.as_rule() == Rule::kw_delegate) {
                    it.next();
                }
                let params_p = need(it.next(), span, "lambda")?;
                let mut params = Vec::new();
                for lp in params_p.into_inner() {
                    match lp.as_rule() {
                        Rule::ident => params.push(LambdaParam {
                            ty: None,
                            name: ident_text(&lp),
                            span: span_of(&lp),
                        }),
                        Rule::lambda_param => {
                            let mut pi = lp.into_inner();
                            let a = need(pi.next(), span, "lambda")?;
                            if let Some(b) = pi.next() {
                                params.push(LambdaParam {
                                    ty: Some(self.type_ref(a)?),
                                    name: ident_text(&b),
                                    span: span_of(&b),
                                });
                            } else {
                                params.push(LambdaParam {
                                    ty: None,
                                    name: ident_text(&a),
                                    span: span_of(&a),
                                });
                            }
                        }
                        _ => return Err(bad(&lp, "lambda parameters")),
                    }
                }
                let body_p = need(it.next(), span, "lambda body")?;
                let body = if body_p.as_rule() == Rule::block {
                    LambdaBody::Block(Box::new(self.stmt(body_p)?))
                } else {
                    LambdaBody::Expr(Box::new(self.expr(body_p)?))
                };
                Ok(Expr {
                    kind: ExprKind::Lambda { params, body },
                    span,
                })
            }
            Rule::non_assign => {
                let mut it = p.into_inner();
                let first = need(it.next(), span, "empty")?;
                let mut conds = vec![self.expr(first)?];
                let mut thens = Vec::new();
                while let Some(_q) = it.next() {
                    let t = need(it.next(), span, "conditional")?;
                    let e = need(it.next(), span, "conditional")?;
                    thens.push(self.expr(t)?);
                    conds.push(self.expr(e)?);
                }
                // a ? b : c ? d : e  ==  a ? b : (c ? d : e)
                let mut acc = need(conds.pop(), span, "empty")?;
                while let Some(t) = thens.pop() {
                    let c = need(conds.pop(), span, "conditional")?;
                    let sp = c.span.to(acc.span);
                    acc = Expr {
                        kind: ExprKind::Conditional(Box::new(c), Box::new(t), Box::new(acc)),
                        span: sp,
                    };
                }
                Ok(acc)
            }
            Rule::coalesce => {
                let mut items = Vec::new();
                for c in p.into_inner() {
                    if c.as_rule() != Rule::op_coalesce {
                        items.push(self.expr(c)?);
                    }
                }
                let mut acc = need(items.pop(), span, "empty")?;
                while let Some(l) = items.pop() {
                    let sp = l.span.to(acc.span);
                    acc = Expr {
                        kind: ExprKind::Binary(BinOp::Coalesce, Box::new(l), Box::new(acc)),
                        span: sp,
                    };
                }
                Ok(acc)
            }
            Rule::cond_or
            | Rule::cond_and
            | Rule::bit_or
            | Rule::bit_xor
            | Rule::bit_and
            | Rule::equality
            | Rule::shift
            | Rule::additive
            | Rule::multiplicative => {
                let mut it = p.into_inner();
                let first = need(it.next(), span, "empty")?;
                let mut acc = self.expr(first)?;
                while let Some(op) = it.next() {
                    let r = it.next().ok_or_else(|| bad(&op, "binary"))?;
                    let op = bin_op(op.as_str()).ok_or_else(|| bad(&op, "operator"))?;
                    let r = self.expr(r)?;
                    let sp = acc.span.to(r.span);
                    acc = Expr {
                        kind: ExprKind::Binary(op, Box::new(acc), Box::new(r)),
                        span: sp,
                    };
                }
                Ok(acc)
            }
            Rule::relational => {
                let mut it = p.into_inner();
                let first = need(it.next(), span, "empty")?;
                let mut acc = self.expr(first)?;
                for tail in it {
                    let tspan = span_of(&tail);
                    let mut ti = tail.into_inner();
                    let op = need(ti.next(), tspan, "relational")?;
                    let rhs = need(ti.next(), tspan, "relational")?;
                    let sp = acc.span.to(tspan);
                    acc = match op.as_rule() {
                        Rule::op_rel => {
                            let o = bin_op(op.as_str()).ok_or_else(|| bad(&op, "operator"))?;
                            let r = self.expr(rhs)?;
                            Expr {
                                kind: ExprKind::Binary(o, Box::new(acc), Box::new(r)),
                                span: sp,
                            }
                        }
                        Rule::kw_is => {
                            let mut pi = rhs.into_inner();
                            let first = need(pi.next(), tspan, "is")?;
                            if first.as_rule() == Rule::kw_null {
                                Expr {
                                    kind: ExprKind::Is {
                                        expr: Box::new(acc),
                                        ty: None,
                                        bind: None,
                                    },
                                    span: sp,
                                }
                            } else {
                                let ty = self.type_ref(first)?;
                                let bind = pi.next().map(|b| (ident_text(&b), span_of(&b)));
                                Expr {
                                    kind: ExprKind::Is {
                                        expr: Box::new(acc),
                                        ty: Some(ty),
                                        bind,
                                    },
                                    span: sp,
                                }
                            }
                        }
                        Rule::kw_as => {
                            let ty = self.type_ref(rhs)?;
                            Expr {
                                kind: ExprKind::As(Box::new(acc), ty),
                                span: sp,
                            }
                        }
                        _ => return Err(bad(&op, "relational")),
                    };
                }
                Ok(acc)
            }
            Rule::unary => {
                let mut prefixes: Vec<Pair<'a, Rule>> = p.into_inner().collect();
                let prim = need(prefixes.pop(), span, "empty")?;
                let mut acc = self.expr(prim)?;
                while let Some(pre) = prefixes.pop() {
                    let sp = span_of(&pre).to(acc.span);
                    acc = match pre.as_rule() {
                        Rule::op_unary => {
                            let op = match pre.as_str() {
                                "++" => UnOp::PreInc,
                                "--" => UnOp::PreDec,
                                "+" => UnOp::Plus,
                                "-" => UnOp::Neg,
                                "!" => UnOp::Not,
                                _ => UnOp::BitNot,
                            };
                            Expr {
                                kind: ExprKind::Unary(op, Box::new(acc)),
                                span: sp,
                            }
                        }
                        Rule::cast_prefix => {
                            let t = need(pre.into_inner().next(), sp, "cast")?;
                            let ty = self.type_ref(t)?;
                            Expr {
                                kind: ExprKind::Cast(ty, Box::new(acc)),
                                span: sp,
                            }
                        }
                        _ => return Err(bad(&pre, "unary")),
                    };
                }
                Ok(acc)
            }
            Rule::primary => {
                let mut it = p.into_inner();
                let head = need(it.next(), span, "empty")?;
                let mut acc = self.primary_head(head)?;
                for post in it {
                    let psp = span_of(&post);
                    let sp = acc.span.to(psp);
                    acc = match post.as_rule() {
                        Rule::member_access | Rule::cond_member => {
                            let conditional = post.as_rule() == Rule::cond_member;
                            let mut pi = post.into_inner();
                            let id = need(pi.next(), psp, "member")?;
                            let type_args = match pi.next() {
                                Some(g) => self.type_args_of(g)?,
                                None => Vec::new(),
                            };
                            Expr {
                                kind: ExprKind::Member {
                                    target: Box::new(acc),
                                    name: ident_text(&id),
                                    name_span: span_of(&id),
                                    type_args,
                                    conditional,
                                },
                                span: sp,
                            }
                        }
                        Rule::index | Rule::cond_index => {
                            let conditional = post.as_rule() == Rule::cond_index;
                            let args = match post.into_inner().next() {
                                Some(a) => self.args(a)?,
                                None => Vec::new(),
                            };
                            Expr {
                                kind: ExprKind::Index {
                                    target: Box::new(acc),
                                    args,
                                    conditional,
                                },
                                span: sp,
                            }
                        }
                        Rule::invocation => {
                            let args = match post.into_inner().next() {
                                Some(a) => self.args(a)?,
                                None => Vec::new(),
                            };
                            Expr {
                                kind: ExprKind::Call {
                                    target: Box::new(acc),
                                    args,
                                },
                                span: sp,
                            }
                        }
                        Rule::post_inc => Expr {
                            kind: ExprKind::Unary(UnOp::PostInc, Box::new(acc)),
                            span: sp,
                        },
                        Rule::post_dec => Expr {
                            kind: ExprKind::Unary(UnOp::PostDec, Box::new(acc)),
                            span: sp,
                        },
                        _ => return Err(bad(&post, "postfix")),
                    };
                }
                Ok(acc)
            }
            Rule::interp_align | Rule::for_cond => {
                let inner = need(p.into_inner().next(), span, "empty")?;
                self.expr(inner)
            }
            _ => self.primary_head(p),
        }
    }

    fn primary_head(&mut self, p: Pair<'a, Rule>) -> R<Expr> {
        let span = span_of(&p);
        let kind = match p.as_rule() {
            Rule::kw_true => ExprKind::Lit(Lit::Bool(true)),
            Rule::kw_false => ExprKind::Lit(Lit::Bool(false)),
            Rule::kw_null => ExprKind::Lit(Lit::Null),
            Rule::hex_int | Rule::dec_int => {
                ExprKind::Lit(int_literal(p.as_str(), p.as_rule() == Rule::hex_int, span)?)
            }
            Rule::real_lit => ExprKind::Lit(real_literal(p.as_str(), span)?),
            Rule::char_lit => {
                let s = p.as_str();
                let body = &s[1..s.len() - 1];
                let text = unescape(body, span)?;
                let units: Vec<u16> = text.encode_utf16().collect();
                match units.len() {
                    1 => ExprKind::Lit(Lit::Char(units[0])),
                    0 => return Err(Diagnostic::new("CS1011", span, "Empty character literal")),
                    _ => {
                        return Err(Diagnostic::new(
                            "CS1012",
                            span,
                            "Too many characters in character literal",
                        ));
                    }
                }
            }
            Rule::regular_string => {
                let s = p.as_str();
                ExprKind::Lit(Lit::Str(unescape(&s[1..s.len() - 1], span)?))
            }
            Rule::verbatim_string => {
                let s = p.as_str();
                ExprKind::Lit(Lit::Str(s[2..s.len() - 1].replace("\"\"", "\"")))
            }
            Rule::interp_string => {
                let inner = need(p.into_inner().next(), span, "string")?;

                let mut pieces = Vec::new();
                for part in inner.into_inner() {
                    match part.as_rule() {
                        Rule::interp_text_reg => {
                            let t = part
                                .as_str()
                                .replace("{{", "\u{0}{")
                                .replace("}}", "\u{0}}");
                            let t = unescape(&t, span_of(&part))?
                                .replace("\u{0}{", "{")
                                .replace("\u{0}}", "}");
                            pieces.push(Piece::Text(t));
                        }
                        Rule::interp_text_verb => {
                            pieces.push(Piece::Text(
                                part.as_str()
                                    .replace("{{", "{")
                                    .replace("}}", "}")
                                    .replace("\"\"", "\""),
                            ));
                        }
                        Rule::interp_hole => {
                            let mut hi = part.into_inner();
                            let e = need(hi.next(), span, "hole")?;
                            let expr = self.expr(e)?;
                            let mut align = None;
                            let mut format = None;
                            for x in hi {
                                match x.as_rule() {
                                    Rule::interp_align => align = Some(self.expr(x)?),
                                    Rule::interp_format => format = Some(x.as_str().to_string()),
                                    _ => {}
                                }
                            }
                            pieces.push(Piece::Hole(Box::new(InterpPart {
                                expr,
                                align,
                                format,
                            })));
                        }
                        _ => return Err(bad(&part, "interpolated string")),
                    }
                }
                ExprKind::Interp(pieces)
            }
            Rule::paren_expr => {
                let e = need(p.into_inner().next(), span, "paren")?;
                let mut x = self.expr(e)?;
                x.span = span;
                return Ok(x);
            }
            Rule::simple_name => {
                let mut it = p.into_inner();
                let id = need(it.next(), span, "name")?;
                let targs = match it.next() {
                    Some(g) => self.type_args_of(g)?,
                    None => Vec::new(),
                };
                ExprKind::Name(ident_text(&id), targs)
            }
            Rule::predefined_type_expr => ExprKind::PredefType(p.as_str().trim().to_string()),
            Rule::typeof_expr => {
                let t = need(p.into_inner().nth(1), span, "typeof")?;
                ExprKind::Typeof(self.type_ref(t)?)
            }
            Rule::default_expr => {
                let t = need(p.into_inner().nth(1), span, "default")?;
                ExprKind::Default(self.type_ref(t)?)
            }
            Rule::checked_expr | Rule::unchecked_expr => {
                let checked = p.as_rule() == Rule::checked_expr;
                let e = need(p.into_inner().nth(1), span, "checked")?;
                ExprKind::Checked(checked, Box::new(self.expr(e)?))
            }
            Rule::new_expr => return self.new_expr(p),
            Rule::expr => return self.expr(p),
            _ => return Err(bad(&p, "expression")),
        };
        Ok(Expr { kind, span })
    }

    fn new_expr(&mut self, p: Pair<'a, Rule>) -> R<Expr> {
        let span = span_of(&p);
        let body = need(p.into_inner().nth(1), span, "new")?;
        let kind = match body.as_rule() {
            Rule::anon_object => {
                let mut members = Vec::new();
                for m in body.into_inner() {
                    let msp = span_of(&m);
                    let mut mi = m.into_inner();
                    let a = need(mi.next(), msp, "anonymous member")?;
                    if a.as_rule() == Rule::ident {
                        let v = need(mi.nth(1), msp, "anonymous member")?;
                        members.push((ident_text(&a), span_of(&a), self.expr(v)?));
                    } else {
                        let e = self.expr(a)?;
                        let name = match &e.kind {
                            ExprKind::Name(n, _) => n.clone(),
                            ExprKind::Member { name, .. } => name.clone(),
                            _ => {
                                return Err(Diagnostic::new(
                                    "CS0746",
                                    msp,
                                    "Invalid anonymous type member declarator. Anonymous type members must be declared with a member assignment, simple name or member access.",
                                ));
                            }
                        };
                        members.push((name, msp, e));
                    }
                }
                ExprKind::NewAnon(members)
            }
            Rule::implicit_array => {
                let init = need(body.into_inner().next(), span, "array")?;
                ExprKind::NewArray {
                    elem: None,
                    sizes: Vec::new(),
                    init: Some(self.array_init(init)?),
                }
            }
            Rule::array_creation => {
                let mut it = body.into_inner();
                let t = need(it.next(), span, "array")?;
                let mut elem = self.type_ref(t)?;
                let mut sizes = Vec::new();
                let mut init = None;
                let mut ranks = Vec::new();
                for x in it {
                    match x.as_rule() {
                        Rule::expr => sizes.push(self.expr(x)?),
                        Rule::rank => ranks.push(rank_dims(&x)),
                        Rule::array_init => init = Some(self.array_init(x)?),
                        _ => return Err(bad(&x, "array creation")),
                    }
                }
                if sizes.len() > 1 || ranks.iter().any(|r| *r > 1) {
                    return Err(Diagnostic::new(
                        "EMU0004",
                        span,
                        "multi-dimensional arrays are not supported",
                    ));
                }
                // `new int[3][]` / `new int[][] {..}`: the element type carries the remaining ranks
                if sizes.is_empty() && !ranks.is_empty() {
                    ranks.remove(0);
                }
                elem.ranks = ranks;
                ExprKind::NewArray {
                    elem: Some(elem),
                    sizes,
                    init,
                }
            }
            Rule::object_creation => {
                let mut it = body.into_inner();
                let t = need(it.next(), span, "new")?;
                let ty = self.type_ref(t)?;
                let mut args = Vec::new();
                let mut init = None;
                for x in it {
                    match x.as_rule() {
                        Rule::arg_list => args = self.args(x)?,
                        Rule::object_init => init = Some(self.object_init(x)?),
                        _ => return Err(bad(&x, "object creation")),
                    }
                }
                ExprKind::New { ty, args, init }
            }
            _ => return Err(bad(&body, "new")),
        };
        Ok(Expr { kind, span })
    }

    fn array_init(&mut self, p: Pair<'a, Rule>) -> R<Vec<Expr>> {
        let mut out = Vec::new();
        for x in p.into_inner() {
            if x.as_rule() == Rule::array_init {
                let sp = span_of(&x);
                let items = self.array_init(x)?;
                out.push(Expr {
                    kind: ExprKind::ArrayInit(items),
                    span: sp,
                });
            } else {
                out.push(self.expr(x)?);
            }
        }
        Ok(out)
    }

    fn object_init(&mut self, p: Pair<'a, Rule>) -> R<Vec<InitElem>> {
        let mut out = Vec::new();
        for x in p.into_inner() {
            let sp = span_of(&x);
            match x.as_rule() {
                Rule::member_init => {
                    let mut it = x.into_inner();
                    let id = need(it.next(), sp, "initializer")?;
                    let v = need(it.nth(1), sp, "initializer")?;
                    if v.as_rule() == Rule::object_init {
                        return Err(Diagnostic::new(
                            "EMU0004",
                            span_of(&v),
                            "nested object initializers are not supported",
                        ));
                    }
                    out.push(InitElem::Member(
                        ident_text(&id),
                        span_of(&id),
                        self.expr(v)?,
                    ));
                }
                Rule::index_init => {
                    let mut it = x.into_inner();
                    let a = need(it.next(), sp, "initializer")?;
                    let args = self.args(a)?;
                    let v = need(it.nth(1), sp, "initializer")?;
                    if v.as_rule() == Rule::object_init {
                        return Err(Diagnostic::new(
                            "EMU0004",
                            span_of(&v),
                            "nested object initializers are not supported",
                        ));
                    }
                    out.push(InitElem::Index(args, self.expr(v)?));
                }
                Rule::complex_elem => {
                    let mut items = Vec::new();
                    for e in x.into_inner() {
                        items.push(self.expr(e)?);
                    }
                    out.push(InitElem::Add(items));
                }
                _ => out.push(InitElem::Add(vec![self.expr(x)?])),
            }
        }
        Ok(out)
    }

    fn args(&mut self, p: Pair<'a, Rule>) -> R<Vec<Arg>> {
        let mut out = Vec::new();
        for a in p.into_inner() {
            let span = span_of(&a);
            let mut name = None;
            let mut kind = ArgKind::Value;
            let mut value = None;
            for x in a.into_inner() {
                match x.as_rule() {
                    Rule::arg_name => name = Some(x.as_str().trim_start_matches('@').to_string()),
                    Rule::expr => value = Some(self.expr(x)?),
                    Rule::ref_arg => {
                        kind = ArgKind::Ref;
                        let e = need(x.into_inner().nth(1), span, "ref")?;
                        value = Some(self.expr(e)?);
                    }
                    Rule::out_arg => {
                        let inner = need(x.into_inner().nth(1), span, "out")?;
                        if inner.as_rule() == Rule::out_decl {
                            let mut it = inner.into_inner();
                            let t = need(it.next(), span, "out")?;
                            let id = need(it.next(), span, "out")?;
                            let nm = ident_text(&id);
                            let isp = span_of(&id);
                            kind = ArgKind::OutDecl(self.type_ref(t)?, nm.clone());
                            value = Some(Expr {
                                kind: ExprKind::Name(nm, Vec::new()),
                                span: isp,
                            });
                        } else {
                            kind = ArgKind::Out;
                            value = Some(self.expr(inner)?);
                        }
                    }
                    _ => return Err(bad(&x, "argument")),
                }
            }
            let value = need(value, span, "argument")?;
            out.push(Arg {
                name,
                kind,
                value,
                span,
            });
        }
        Ok(out)
    }

    fn type_args_of(&mut self, p: Pair<'a, Rule>) -> R<Vec<TypeRef>> {
        // generic_call -> type_args -> type_ref*
        let p = if p.as_rule() == Rule::generic_call {
            p.into_inner()
                .next()
                .ok_or_else(|| Diagnostic::new("EMU0001", Span::default(), "type args"))?
        } else {
            p
        };
        p.into_inner().map(|t| self.type_ref(t)).collect()
    }

    fn type_ref(&mut self, p: Pair<'a, Rule>) -> R<TypeRef> {
        let span = span_of(&p);
        let mut parts = Vec::new();
        let mut args = Vec::new();
        let mut nullable = false;
        let mut ranks = Vec::new();
        for x in p.into_inner() {
            match x.as_rule() {
                Rule::predefined_type => parts.push(x.as_str().trim().to_string()),
                Rule::named_type => {
                    let n = x.clone().into_inner().count();
                    for (i, part) in x.into_inner().enumerate() {
                        let psp = span_of(&part);
                        let mut pi = part.into_inner();
                        let id = need(pi.next(), psp, "type")?;
                        parts.push(ident_text(&id));
                        if let Some(ta) = pi.next() {
                            if i + 1 != n {
                                return Err(Diagnostic::new(
                                    "EMU0004",
                                    psp,
                                    "nested generic types are not supported",
                                ));
                            }
                            args = self.type_args_of(ta)?;
                        }
                    }
                }
                Rule::nullable_mark => nullable = true,
                Rule::rank => ranks.push(rank_dims(&x)),
                _ => return Err(bad(&x, "type")),
            }
        }
        if ranks.iter().any(|r| *r > 1) {
            return Err(Diagnostic::new(
                "EMU0004",
                span,
                "multi-dimensional arrays are not supported",
            ));
        }
        Ok(TypeRef {
            parts,
            args,
            nullable,
            ranks,
            span,
        })
    }

    fn stmt(&mut self, p: Pair<'a, Rule>) -> R<Stmt> {
        let span = span_of(&p);
        let rule = p.as_rule();
        let mut it = p.into_inner();
        macro_rules! next {
            () => {
                it.next()
                    .ok_or_else(|| Diagnostic::new("EMU0001", span, "statement"))?
            };
        }
        let kind = match rule {
            Rule::block => {
                let mut v = Vec::new();
                for s in it {
                    v.push(self.stmt(s)?);
                }
                StmtKind::Block(v)
            }
            Rule::empty_stmt => StmtKind::Empty,
            Rule::decl_stmt => {
                let mut d = next!();
                if d.as_rule() == Rule::kw_const {
                    d = next!();
                }
                return self.stmt(d);
            }
            Rule::local_decl => {
                let t = next!();
                let ty = self.type_ref(t)?;
                let mut decls = Vec::new();
                for d in it {
                    let dsp = span_of(&d);
                    let mut di = d.into_inner();
                    let id = need(di.next(), dsp, "declarator")?;
                    let init = match di.nth(1) {
                        Some(v) if v.as_rule() == Rule::array_init => {
                            let vsp = span_of(&v);
                            Some(Expr {
                                kind: ExprKind::ArrayInit(self.array_init(v)?),
                                span: vsp,
                            })
                        }
                        Some(v) => Some(self.expr(v)?),
                        None => None,
                    };
                    decls.push(Declarator {
                        name: ident_text(&id),
                        span: span_of(&id),
                        init,
                    });
                }
                StmtKind::Decl(ty, decls)
            }
            Rule::expr_stmt => StmtKind::Expr(self.expr(next!())?),
            Rule::if_stmt => {
                let _ = next!();
                let c = self.expr(next!())?;
                let a = self.stmt(next!())?;
                let b = match it.nth(1) {
                    Some(s) => Some(Box::new(self.stmt(s)?)),
                    None => None,
                };
                StmtKind::If(c, Box::new(a), b)
            }
            Rule::while_stmt => {
                let _ = next!();
                let c = self.expr(next!())?;
                StmtKind::While(c, Box::new(self.stmt(next!())?))
            }
            Rule::do_stmt => {
                let _ = next!();
                let b = self.stmt(next!())?;
                let _ = next!();
                StmtKind::DoWhile(Box::new(b), self.expr(next!())?)
            }
            Rule::for_stmt => {
                let _ = next!();
                let mut init = Vec::new();
                let mut cond = None;
                let mut iter = Vec::new();
                let mut body = None;
                for x in it {
                    match x.as_rule() {
                        Rule::for_init => {
                            let i = need(x.into_inner().next(), span, "for")?;
                            if i.as_rule() == Rule::local_decl {
                                init.push(self.stmt(i)?);
                            } else {
                                for e in i.into_inner() {
                                    let esp = span_of(&e);
                                    init.push(Stmt {
                                        kind: StmtKind::Expr(self.expr(e)?),
                                        span: esp,
                                    });
                                }
                            }
                        }
                        Rule::for_cond => cond = Some(self.expr(x)?),
                        Rule::for_iter => {
                            let l = need(x.into_inner().next(), span, "for")?;
                            for e in l.into_inner() {
                                iter.push(self.expr(e)?);
                            }
                        }
                        _ => body = Some(self.stmt(x)?),
                    }
                }
                let body = need(body, span, "for body")?;
                StmtKind::For {
                    init,
                    cond,
                    iter,
                    body: Box::new(body),
                }
            }
            Rule::foreach_stmt => {
                let _ = next!();
                let ty = self.type_ref(next!())?;
                let id = next!();
                let _ = next!();
                let coll = self.expr(next!())?;
                let body = self.stmt(next!())?;
                StmtKind::Foreach {
                    ty,
                    name: ident_text(&id),
                    name_span: span_of(&id),
                    coll,
                    body: Box::new(body),
                }
            }
            Rule::switch_stmt => {
                let _ = next!();
                let e = self.expr(next!())?;
                let mut secs = Vec::new();
                for sec in it {
                    let ssp = span_of(&sec);
                    let mut labels = Vec::new();
                    let mut body = Vec::new();
                    for x in sec.into_inner() {
                        if x.as_rule() == Rule::switch_label {
                            let mut li = x.into_inner();
                            let kw = need(li.next(), ssp, "label")?;
                            if kw.as_rule() == Rule::kw_default {
                                labels.push(None);
                            } else {
                                let v = need(li.next(), ssp, "label")?;
                                labels.push(Some(self.expr(v)?));
                            }
                        } else {
                            body.push(self.stmt(x)?);
                        }
                    }
                    secs.push(SwitchSection {
                        labels,
                        body,
                        span: ssp,
                    });
                }
                StmtKind::Switch(e, secs)
            }
            Rule::break_stmt => StmtKind::Break,
            Rule::continue_stmt => StmtKind::Continue,
            Rule::return_stmt | Rule::throw_stmt => {
                let _ = next!();
                let e = match it.next() {
                    Some(e) => Some(self.expr(e)?),
                    None => None,
                };
                if rule == Rule::return_stmt {
                    StmtKind::Return(e)
                } else {
                    StmtKind::Throw(e)
                }
            }
            Rule::try_stmt => {
                let _ = next!();
                let body = self.stmt(next!())?;
                let mut catches = Vec::new();
                let mut finally = None;
                for x in it {
                    let xsp = span_of(&x);
                    if x.as_rule() == Rule::finally_clause {
                        let b = need(x.into_inner().nth(1), xsp, "finally")?;
                        finally = Some(Box::new(self.stmt(b)?));
                        continue;
                    }
                    let mut ty = None;
                    let mut name = None;
                    let mut filter = None;
                    let mut cbody = None;
                    for c in x.into_inner() {
                        match c.as_rule() {
                            Rule::kw_catch | Rule::kw_when => {}
                            Rule::type_ref => ty = Some(self.type_ref(c)?),
                            Rule::ident => name = Some((ident_text(&c), span_of(&c))),
                            Rule::expr => filter = Some(self.expr(c)?),
                            Rule::block => cbody = Some(self.stmt(c)?),
                            _ => return Err(bad(&c, "catch")),
                        }
                    }
                    let cbody = need(cbody, xsp, "catch")?;
                    catches.push(CatchClause {
                        ty,
                        name,
                        filter,
                        body: Box::new(cbody),
                        span: xsp,
                    });
                }
                StmtKind::Try {
                    body: Box::new(body),
                    catches,
                    finally,
                }
            }
            Rule::using_stmt => {
                let _ = next!();
                let r = next!();
                let rsp = span_of(&r);
                let res = if r.as_rule() == Rule::local_decl {
                    self.stmt(r)?
                } else {
                    Stmt {
                        kind: StmtKind::Expr(self.expr(r)?),
                        span: rsp,
                    }
                };
                StmtKind::Using(Box::new(res), Box::new(self.stmt(next!())?))
            }
            Rule::checked_stmt | Rule::unchecked_stmt => {
                let _ = next!();
                StmtKind::Checked(rule == Rule::checked_stmt, Box::new(self.stmt(next!())?))
            }
            _ => {
                return Err(Diagnostic::new(
                    "EMU0001",
                    span,
                    format!("internal parser error: unexpected {rule:?} as statement"),
                ));
            }
        };
        Ok(Stmt { kind, span })
    }
}

fn rank_dims(p: &Pair<'_, Rule>) -> u8 {
    (p.as_str().matches(',').count() + 1).min(255) as u8
}

fn ident_text(p: &Pair<'_, Rule>) -> String {
    p.as_str().trim_start_matches('@').to_string()
}

fn assign_op(s: &str) -> Option<BinOp> {
    match s {
        "=" => None,
        "+=" => Some(BinOp::Add),
        "-=" => Some(BinOp::Sub),
        "*=" => Some(BinOp::Mul),
        "/=" => Some(BinOp::Div),
        "%=" => Some(BinOp::Rem),
        "&=" => Some(BinOp::And),
        "|=" => Some(BinOp::Or),
        "^=" => Some(BinOp::Xor),
        "<<=" => Some(BinOp::Shl),
        ">>=" => Some(BinOp::Shr),
        _ => Some(BinOp::Coalesce),
    }
}

fn bin_op(s: &str) -> Option<BinOp> {
    Some(match s {
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "%" => BinOp::Rem,
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "<<" => BinOp::Shl,
        ">>" => BinOp::Shr,
        "<" => BinOp::Lt,
        ">" => BinOp::Gt,
        "<=" => BinOp::Le,
        ">=" => BinOp::Ge,
        "==" => BinOp::Eq,
        "!=" => BinOp::Ne,
        "&" => BinOp::And,
        "^" => BinOp::Xor,
        "|" => BinOp::Or,
        "&&" => BinOp::AndAlso,
        "||" => BinOp::OrElse,
        _ => return None,
    })
}

fn int_literal(text: &str, hex: bool, span: Span) -> R<Lit> {
    let lower = text.to_ascii_lowercase();
    let (digits, suffix) = if lower.ends_with("ul") || lower.ends_with("lu") {
        (&text[..text.len() - 2], IntSuffix::UL)
    } else if lower.ends_with('u') {
        (&text[..text.len() - 1], IntSuffix::U)
    } else if lower.ends_with('l') {
        (&text[..text.len() - 1], IntSuffix::L)
    } else {
        (text, IntSuffix::None)
    };
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let v = if hex {
        u64::from_str_radix(&clean[2..], 16)
    } else {
        clean.parse::<u64>()
    };
    match v {
        Ok(v) => Ok(Lit::Int(v, suffix)),
        Err(_) => Err(Diagnostic::new(
            "CS1021",
            span,
            "Integral constant is too large",
        )),
    }
}

fn real_literal(text: &str, span: Span) -> R<Lit> {
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let last = clean.chars().last().unwrap_or('0').to_ascii_lowercase();
    let (num, kind) = match last {
        'f' | 'd' | 'm' => (&clean[..clean.len() - 1], last),
        _ => (&clean[..], 'd'),
    };
    match kind {
        'f' => num.parse::<f32>().map(Lit::Float).map_err(|_| {
            Diagnostic::new(
                "CS0594",
                span,
                "Floating-point constant is outside the range of type 'float'",
            )
        }),
        'm' => {
            let parsed = if num.contains(['e', 'E']) {
                rust_decimal::Decimal::from_scientific(num)
            } else {
                num.parse::<rust_decimal::Decimal>()
            };
            parsed.map(Lit::Decimal).map_err(|_| {
                Diagnostic::new(
                    "CS0594",
                    span,
                    "Floating-point constant is outside the range of type 'decimal'",
                )
            })
        }
        _ => match num.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Lit::Double(v)),
            _ => Err(Diagnostic::new(
                "CS0594",
                span,
                "Floating-point constant is outside the range of type 'double'",
            )),
        },
    }
}

/// Decodes C# escape sequences of a regular string or char literal.
fn unescape(body: &str, span: Span) -> R<String> {
    if !body.contains('\\') {
        return Ok(body.to_string());
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    let mut pending_high: Option<u16> = None;
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars
            .next()
            .ok_or_else(|| Diagnostic::new("CS1009", span, "Unrecognized escape sequence"))?;
        let unit: u32 = match e {
            '\'' => '\'' as u32,
            '"' => '"' as u32,
            '\\' => '\\' as u32,
            '0' => 0,
            'a' => 7,
            'b' => 8,
            'f' => 12,
            'n' => 10,
            'r' => 13,
            't' => 9,
            'v' => 11,
            'u' | 'x' | 'U' => {
                let max = if e == 'U' { 8 } else { 4 };
                let mut hex = String::new();
                while hex.len() < max {
                    match chars.peek() {
                        Some(h) if h.is_ascii_hexdigit() => {
                            hex.push(*h);
                            chars.next();
                        }
                        _ => break,
                    }
                }
                if hex.is_empty() || (e != 'x' && hex.len() != max) {
                    return Err(Diagnostic::new(
                        "CS1009",
                        span,
                        "Unrecognized escape sequence",
                    ));
                }
                u32::from_str_radix(&hex, 16)
                    .map_err(|_| Diagnostic::new("CS1009", span, "Unrecognized escape sequence"))?
            }
            _ => {
                return Err(Diagnostic::new(
                    "CS1009",
                    span,
                    "Unrecognized escape sequence",
                ));
            }
        };
        // surrogate pairs written as two \u escapes
        if (0xD800..0xDC00).contains(&unit) {
            pending_high = Some(unit as u16);
            continue;
        }
        if (0xDC00..0xE000).contains(&unit) {
            if let Some(h) = pending_high.take() {
                let cp = 0x10000 + (((h as u32) - 0xD800) << 10) + (unit - 0xDC00);
                out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                continue;
            }
        }
        if pending_high.take().is_some() {
            out.push('\u{FFFD}');
        }
        out.push(char::from_u32(unit).unwrap_or('\u{FFFD}'));
    }
    if pending_high.is_some() {
        out.push('\u{FFFD}');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Root {
        match parse(s) {
            Ok(r) => r,
            Err(d) => panic!("{s}: {}", d[0].render(s)),
        }
    }

    #[test]
    fn parses_common_forms() {
        ok("@(context.Variables.GetValueOrDefault<int>(\"urlId\") % 3 + 1)");
        ok("@((string)context.Variables[\"x\"])");
        ok("@(((JArray)x).Count)");
        ok("@(a ? b : c ? d : e)");
        ok("@($\"Bearer {context.Variables[\"token\"]} {x,5:N2} {{}}\")");
        ok("@(x.As<JObject>(preserveContent: true))");
        ok("@(new JObject() { { \"a\", 1 }, { \"b\", 2 }, })");
        ok("@(new { a = 1, b })");
        ok("@(new[] { 1, 2 })");
        ok("@(new byte[16])");
        ok("@(new string[] { \"a\" })");
        ok("@(new Dictionary<string,int> { [\"a\"] = 1, { \"b\", 2 } })");
        ok("@(x is JObject o && o != null)");
        ok("@(x as JArray ?? new JArray())");
        ok("@((x) is JArray)");
        ok("@((int)-1)");
        ok("@(list.Where(x => x > 1).Select((a, i) => a * i))");
        ok("@{ foreach (JObject c in arr) { } return 1; }");
        ok("@{ int i = 0, j; for (i = 0, j = 1; i < 3; i++) { j += i; } return j; }");
        ok("@{ switch (x) { case \"a\": case \"b\": return 1; default: return 2; } }");
        ok(
            "@{ try { throw new Exception(\"x\"); } catch (Exception ex) when (ex != null) { return 1; } finally { } }",
        );
        ok("@{ if (!d.TryGetValue(\"k\", out var g)) { g = 1; } return g; }");
        ok("@{ unchecked { b[0] = (byte)(t >> 40); } return 1; }");
        ok("@(@\"a\"\"b\" + 'c' + '\\n' + 0x1Fu + 1.5e3f + 2m + 10UL)");
        ok("@($@\"{a}\"\"x\")");
    }

    #[test]
    fn char_literal_with_many_characters_is_cs1012() {
        let e = parse("@(context.Variables['abc'])").unwrap_err();
        assert_eq!(e[0].code, "CS1012");
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse("@(1 + )").unwrap_err();
        assert_eq!(e[0].code, "CS1525");
        assert_eq!(e[0].span.start, 6);
    }

    #[test]
    fn deep_nesting_is_a_diagnostic() {
        let s = format!("@({}1{})", "(".repeat(1000), ")".repeat(1000));
        assert_eq!(parse(&s).unwrap_err()[0].code, "EMU0002");
        let s = format!("@({}1)", "1+".repeat(20000));
        assert_eq!(parse(&s).unwrap_err()[0].code, "EMU0002");
        let s = format!("@({}1)", "!".repeat(30000));
        assert_eq!(parse(&s).unwrap_err()[0].code, "EMU0002");
        let s = format!("@({}a)", "a?a:".repeat(15000));
        assert_eq!(parse(&s).unwrap_err()[0].code, "EMU0002");
        let s = format!("@({}a)", "(int)".repeat(12000));
        assert_eq!(parse(&s).unwrap_err()[0].code, "EMU0002");
    }
}
