//! Type checker and lowering: AST → [`Code`]. Reports what APIM reports when a policy is saved
//! (unknown members, disallowed types, wrong arguments, paths without `return`...), and fixes
//! the static types the evaluator relies on.
use std::sync::Arc;

use crate::ast::{self, *};
use crate::code::*;
use crate::diag::Diagnostic;
use crate::host::{self, BodyTarget, HostMember};
use crate::members::{Kind, Member, P, Subst};
use crate::types::*;
use crate::value::Value;

/// Result of checking an expression.
#[derive(Clone)]
struct Ex {
    node: Node,
    ty: Ty,
    konst: Option<Value>,
}

impl Ex {
    fn new(node: Node, ty: Ty) -> Ex {
        Ex {
            node,
            ty,
            konst: None,
        }
    }
    fn err() -> Ex {
        Ex {
            node: Node::Const(Value::Null),
            ty: Ty::Error,
            konst: None,
        }
    }
}

struct Local {
    name: String,
    slot: u16,
    ty: Ty,
}

/// Definite assignment and reachability state.
#[derive(Clone)]
struct Flow {
    reachable: bool,
    assigned: Vec<bool>,
}

impl Flow {
    fn join(a: &Flow, b: &Flow) -> Flow {
        match (a.reachable, b.reachable) {
            (false, _) => b.clone(),
            (_, false) => a.clone(),
            _ => Flow {
                reachable: true,
                assigned: a
                    .assigned
                    .iter()
                    .zip(b.assigned.iter().chain(std::iter::repeat(&false)))
                    .map(|(x, y)| *x && *y)
                    .collect(),
            },
        }
    }
    fn unreachable(&self) -> Flow {
        Flow {
            reachable: false,
            assigned: self.assigned.clone(),
        }
    }
}

struct LambdaCtx {
    returns: Vec<Ty>,
}

pub struct Compiler {
    diags: Vec<Diagnostic>,
    locals: Vec<Local>,
    scopes: Vec<usize>,
    slots: u16,
    lambdas: Vec<LambdaCode>,
    checked: bool,
    loops: u32,
    catch_depth: u32,
    flow: Flow,
    lambda_stack: Vec<LambdaCtx>,
    /// Names declared anywhere in an enclosing scope (C# forbids reusing them in nested scopes).
    in_block: bool,
    /// Flow states at `break` statements, per enclosing loop or switch.
    break_flows: Vec<Vec<Flow>>,
    last_loop_breaks: Vec<Flow>,
    /// Inside `unchecked(...)` / `unchecked { }`: constant casts may overflow.
    explicit_unchecked: bool,
}

/// Compiles a parsed expression.
pub fn compile(root: &Root) -> Result<Code, Vec<Diagnostic>> {
    let mut c = Compiler {
        diags: Vec::new(),
        locals: Vec::new(),
        scopes: vec![0],
        slots: 0,
        lambdas: Vec::new(),
        checked: false,
        loops: 0,
        catch_depth: 0,
        flow: Flow {
            reachable: true,
            assigned: Vec::new(),
        },
        lambda_stack: Vec::new(),
        in_block: false,
        break_flows: Vec::new(),
        last_loop_breaks: Vec::new(),
        explicit_unchecked: false,
    };
    let (body, result) = match root {
        Root::Expr(e) => {
            let x = c.expr(e);
            if x.ty == Ty::Void {
                c.diag(
                    "CS0029",
                    e.span,
                    "Cannot implicitly convert type 'void' to 'object'",
                );
            }
            if matches!(x.ty, Ty::Lambda(_)) {
                c.diag("CS1660", e.span, "Cannot convert lambda expression to type 'object' because it is not a delegate type");
            }
            (Body::Expr(x.node), x.ty)
        }
        Root::Block(stmts, span) => {
            c.in_block = true;
            let st = c.block(stmts);
            if c.flow.reachable {
                c.diag(
                    "CS0161",
                    Span {
                        start: span.end.saturating_sub(1),
                        end: span.end,
                    },
                    "not all code paths return a value",
                );
            }
            (Body::Block(st), Ty::Object)
        }
    };
    if c.diags.is_empty() {
        Ok(Code {
            body,
            slots: c.slots,
            lambdas: c.lambdas,
            result,
        })
    } else {
        let mut d = c.diags;
        d.sort_by_key(|d| d.span.start);
        d.dedup();
        Err(d)
    }
}

/// A resolved call: member, argument nodes, return type, `out` places.
type Resolved = (Member, Vec<Node>, Ty, Vec<(usize, Place)>);
/// An overload candidate: score, member, method type arguments, parameter order.
type Candidate = (i32, Member, Vec<Option<Ty>>, Vec<usize>);

fn bx(n: Node) -> Box<Node> {
    Box::new(n)
}

impl Compiler {
    fn diag(&mut self, code: &'static str, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::new(code, span, msg));
    }
    /// CS0023: a unary operator (or `?.`) on an operand type it does not apply to.
    fn bad_unary(&mut self, op: &str, span: Span, ty: &Ty) {
        let t = ty.name();
        let msg = format!("Operator '{op}' cannot be applied to operand of type '{t}'");
        self.diag("CS0023", span, msg);
    }
    /// CS0019: a binary operator on operand types it does not apply to.
    fn bad_binary(&mut self, op: &str, span: Span, a: &Ty, b: &Ty) {
        let (a, b) = (a.name(), b.name());
        let msg = format!("Operator '{op}' cannot be applied to operands of type '{a}' and '{b}'");
        self.diag("CS0019", span, msg);
    }
    /// CS1503: an `out` argument must have exactly the parameter's type.
    fn check_out_arg(&mut self, index: usize, ty: &Ty, pt: &Ty, span: Span) {
        if ty != pt && !ty.is_error() {
            let (n, t, p) = (index + 1, ty.name(), pt.name());
            let msg = format!("Argument {n}: cannot convert from 'out {t}' to 'out {p}'");
            self.diag("CS1503", span, msg);
        }
    }
    /// A member `t.name` that cannot be used: CS0117 (none of that name), CS1955 (a property
    /// called like a method) or APIM0003 (not allowed in policy expressions).
    fn member_diag(&mut self, code: &'static str, t: &Ty, name: &str, span: Span) {
        let t = t.name();
        let msg = match code {
            "CS1955" => format!("Non-invocable member '{t}.{name}' cannot be used like a method."),
            "APIM0003" => format!("Member '{t}.{name}' is not allowed in policy expressions"),
            _ => format!("'{t}' does not contain a definition for '{name}'"),
        };
        self.diag(code, span, msg);
    }

    // ---------------------------------------------------------------- locals
    fn push_scope(&mut self) {
        self.scopes.push(self.locals.len());
    }
    fn pop_scope(&mut self) {
        let n = self.scopes.pop().unwrap_or(0);
        self.locals.truncate(n);
    }
    fn lookup_local(&self, name: &str) -> Option<&Local> {
        self.locals.iter().rev().find(|l| l.name == name)
    }
    fn declare(&mut self, name: &str, ty: Ty, span: Span, assigned: bool) -> u16 {
        if name == "context" {
            self.diag("CS0136", span, "A local variable named 'context' cannot be declared in this scope because it would give a different meaning to 'context'");
        } else if self.lookup_local(name).is_some() {
            let start = *self.scopes.last().unwrap_or(&0);
            if self.locals[start..].iter().any(|l| l.name == name) {
                self.diag(
                    "CS0128",
                    span,
                    format!("A local variable named '{name}' is already defined in this scope"),
                );
            } else {
                self.diag("CS0136", span, format!("A local or parameter named '{name}' cannot be declared in this scope because that name is used in an enclosing local scope to define a local or parameter"));
            }
        }
        let slot = self.slots;
        self.slots = self.slots.saturating_add(1);
        self.locals.push(Local {
            name: name.to_string(),
            slot,
            ty,
        });
        let i = slot as usize;
        if self.flow.assigned.len() <= i {
            self.flow.assigned.resize(i + 1, false);
        }
        self.flow.assigned[i] = assigned;
        slot
    }
    fn temp(&mut self) -> u16 {
        let slot = self.slots;
        self.slots = self.slots.saturating_add(1);
        let i = slot as usize;
        if self.flow.assigned.len() <= i {
            self.flow.assigned.resize(i + 1, true);
        }
        slot
    }
    fn mark_assigned(&mut self, slot: u16) {
        let i = slot as usize;
        if self.flow.assigned.len() <= i {
            self.flow.assigned.resize(i + 1, false);
        }
        self.flow.assigned[i] = true;
    }

    // ---------------------------------------------------------------- types
    fn resolve_type(&mut self, t: &TypeRef) -> Ty {
        let base = if t.parts.len() == 1 && t.args.is_empty() {
            predefined(&t.parts[0])
        } else {
            None
        };
        let name = t.name();
        let mut ty = match base {
            Some(b) => b,
            None if !t.args.is_empty() => match generic_type_name(&name) {
                Some(g) => {
                    let args: Vec<Ty> = t.args.iter().map(|a| self.resolve_type(a)).collect();
                    let want = match g {
                        Gen::Dictionary
                        | Gen::IDictionary
                        | Gen::IReadOnlyDictionary
                        | Gen::KeyValuePair
                        | Gen::IGrouping => 2,
                        Gen::Func | Gen::Action | Gen::Tuple => args.len(),
                        _ => 1,
                    };
                    if args.len() != want || args.is_empty() {
                        self.diag(
                            "CS0305",
                            t.span,
                            format!(
                                "Using the generic type '{}' requires {} type arguments",
                                g.name(),
                                want
                            ),
                        );
                        return Ty::Error;
                    }
                    if g == Gen::Nullable {
                        Ty::nullable(args[0].clone())
                    } else {
                        Ty::generic(g, args)
                    }
                }
                None => return self.unknown_type(&name, t.span),
            },
            None => match lookup_type_name(&name) {
                Some(ty) => ty,
                None => {
                    if name == "var" {
                        self.diag("CS0825", t.span, "The contextual keyword 'var' may only appear within a local variable declaration");
                        return Ty::Error;
                    }
                    if name == "dynamic" {
                        self.diag(
                            "APIM0002",
                            t.span,
                            "Type 'dynamic' is not allowed in policy expressions",
                        );
                        return Ty::Error;
                    }
                    return self.unknown_type(&name, t.span);
                }
            },
        };
        if matches!(ty, Ty::Named(c) if host::is_context_class(c))
            && !matches!(
                ty,
                Ty::Named(
                    Cls::Response
                        | Cls::Request
                        | Cls::Url
                        | Cls::MessageBody
                        | Cls::Authorization
                        | Cls::Api
                        | Cls::Operation
                        | Cls::Product
                        | Cls::Subscription
                        | Cls::User
                        | Cls::Deployment
                        | Cls::LastError
                        | Cls::Backend
                        | Cls::Group_
                        | Cls::UserIdentity
                )
            )
        {
            // interfaces without a public name are not nameable
        }
        if t.nullable {
            if ty.is_value_type() {
                ty = Ty::nullable(ty);
            } else {
                self.diag("CS0453", t.span, format!("The type '{}' must be a non-nullable value type in order to use it as parameter 'T' in the generic type 'Nullable<T>'", ty.name()));
            }
        }
        for _ in &t.ranks {
            ty = Ty::array(ty);
        }
        ty
    }

    fn unknown_type(&mut self, name: &str, span: Span) -> Ty {
        if is_disallowed_type(name) {
            self.diag(
                "APIM0002",
                span,
                format!("Type '{name}' is not allowed in policy expressions"),
            );
        } else {
            self.diag("CS0246", span, format!("The type or namespace name '{name}' could not be found (are you missing a using directive or an assembly reference?)"));
        }
        Ty::Error
    }

    // ---------------------------------------------------------------- conversions
    /// The implicit conversion from `from` to `to`, if any.
    fn implicit(&self, from: &Ty, to: &Ty, konst: Option<&Value>) -> Option<Conv> {
        if from == to || from.is_error() || to.is_error() {
            return Some(Conv::Identity);
        }
        match (from, to) {
            (Ty::Null, t) if t.accepts_null() => return Some(Conv::Identity),
            (Ty::Null, _) => return None,
            (Ty::Lambda(n), Ty::Gen(Gen::Func, a)) if a.len() == n + 1 => {
                return Some(Conv::Lambda);
            }
            (Ty::Lambda(_), _) => return None,
            (Ty::Void, _) => return None,
            (_, Ty::Object) => return Some(Conv::Identity),
            _ => {}
        }
        if from.is_numeric() && to.is_numeric() {
            if numeric_widening(from, to) {
                return Some(Conv::Numeric(to.clone(), false));
            }
            if let Some(Value::I32(v)) = konst {
                let fits = match to {
                    Ty::I8 => i8::try_from(*v).is_ok(),
                    Ty::U8 => u8::try_from(*v).is_ok(),
                    Ty::I16 => i16::try_from(*v).is_ok(),
                    Ty::U16 => u16::try_from(*v).is_ok(),
                    Ty::U32 => *v >= 0,
                    Ty::U64 => *v >= 0,
                    _ => false,
                };
                if fits {
                    return Some(Conv::Numeric(to.clone(), false));
                }
            }
            if let Some(Value::I64(v)) = konst {
                if *to == Ty::U64 && *v >= 0 {
                    return Some(Conv::Numeric(to.clone(), false));
                }
            }
            return None;
        }
        if let Ty::Nullable(inner) = to {
            if let Ty::Nullable(f) = from {
                return if numeric_widening(f, inner) {
                    Some(Conv::Numeric((**inner).clone(), false))
                } else {
                    None
                };
            }
            return self.implicit(from, inner, konst);
        }
        if self.is_ref_subtype(from, to) {
            return Some(Conv::Identity);
        }
        // LINQ to XML's implicit operators from string: an XNamespace / XName is held as its
        // text (`urn:x`, `{urn:x}local`) until used.
        if *from == Ty::String && matches!(to, Ty::Named(Cls::XNamespace | Cls::XName)) {
            return Some(Conv::Identity);
        }
        if matches!(to, Ty::Named(Cls::JToken)) && json_implicit_source(from) {
            return Some(Conv::ToJson);
        }
        if let (Some(0), true) = (konst.and_then(int_of), to.is_enum()) {
            if from.is_integral() {
                if let Ty::Named(c) = to {
                    return Some(Conv::IntToEnum(*c));
                }
            }
        }
        None
    }

    /// Reference (identity-preserving) conversions: base classes, interfaces, covariance.
    fn is_ref_subtype(&self, from: &Ty, to: &Ty) -> bool {
        if from == to {
            return true;
        }
        match (from, to) {
            (Ty::Named(a), Ty::Named(b)) => cls_is_a(*a, *b),
            (_, Ty::Gen(Gen::IEnumerable, u)) => match from.element() {
                Some(t) => {
                    let u = &u[0];
                    t == *u || (t.is_reference() && self.is_ref_subtype(&t, u))
                }
                None => false,
            },
            (
                Ty::Array(t),
                Ty::Gen(Gen::IList | Gen::ICollection | Gen::IReadOnlyCollection, u),
            ) => **t == u[0],
            (Ty::Array(t), Ty::Array(u)) => {
                t.is_reference() && u.is_reference() && self.is_ref_subtype(t, u)
            }
            (Ty::Array(_), Ty::Named(Cls::SysArray)) => true,
            (
                Ty::Gen(Gen::List, a),
                Ty::Gen(Gen::IList | Gen::ICollection | Gen::IReadOnlyCollection, b),
            ) => a == b,
            (
                Ty::Gen(Gen::HashSet, a),
                Ty::Gen(Gen::ISet | Gen::ICollection | Gen::IReadOnlyCollection, b),
            ) => a == b,
            (
                Ty::Gen(Gen::Dictionary, a),
                Ty::Gen(Gen::IDictionary | Gen::IReadOnlyDictionary, b),
            ) => a == b,
            (
                Ty::Gen(Gen::Dictionary | Gen::IDictionary | Gen::IReadOnlyDictionary, a),
                Ty::Gen(Gen::ICollection | Gen::IReadOnlyCollection, b),
            ) => b[0] == Ty::generic(Gen::KeyValuePair, a.to_vec()),
            _ => false,
        }
    }

    /// Converts `x` to `to` implicitly or reports CS0029/CS1503-style errors (with `what`).
    fn coerce(&mut self, x: Ex, to: &Ty, span: Span) -> Node {
        match self.implicit(&x.ty, to, x.konst.as_ref()) {
            Some(Conv::Identity) | Some(Conv::Lambda) => x.node,
            Some(c) => Node::Conv(c, bx(x.node), span),
            None => {
                let msg = if x.ty == Ty::Null {
                    format!(
                        "Cannot convert null to '{}' because it is a non-nullable value type",
                        to.name()
                    )
                } else if self.explicit(&x.ty, to).is_some() {
                    format!(
                        "Cannot implicitly convert type '{}' to '{}'. An explicit conversion exists (are you missing a cast?)",
                        x.ty.name(),
                        to.name()
                    )
                } else {
                    format!(
                        "Cannot implicitly convert type '{}' to '{}'",
                        x.ty.name(),
                        to.name()
                    )
                };
                self.diag(
                    if x.ty == Ty::Null {
                        "CS0037"
                    } else if self.explicit(&x.ty, to).is_some() {
                        "CS0266"
                    } else {
                        "CS0029"
                    },
                    span,
                    msg,
                );
                Node::Const(Value::Null)
            }
        }
    }

    /// The explicit conversion `(to)from`, if any.
    fn explicit(&self, from: &Ty, to: &Ty) -> Option<Conv> {
        if let Some(c) = self.implicit(from, to, None) {
            if !matches!(c, Conv::Identity)
                || from == to
                || from.is_error()
                || to.is_error()
                || *from == Ty::Null
            {
                return Some(c);
            }
            // boxing / upcast
            return Some(c);
        }
        let fu = match from {
            Ty::Nullable(i) => (**i).clone(),
            t => t.clone(),
        };
        let tu = match to {
            Ty::Nullable(i) => (**i).clone(),
            t => t.clone(),
        };
        if (fu.is_numeric() || fu.is_enum()) && (tu.is_numeric() || tu.is_enum()) {
            if fu.is_enum() && tu.is_numeric() {
                return Some(Conv::EnumToInt(tu));
            }
            if let (true, Ty::Named(c)) = (tu.is_enum(), &tu) {
                return Some(Conv::IntToEnum(*c));
            }
            return Some(Conv::Numeric(tu, self.checked));
        }
        let from_is_json = matches!(
            from,
            Ty::Named(
                Cls::JToken
                    | Cls::JValue
                    | Cls::JContainer
                    | Cls::JObject
                    | Cls::JArray
                    | Cls::JProperty
            )
        );
        if from_is_json && json_explicit_target(to) {
            return Some(Conv::FromJson(to.clone()));
        }
        let from_xml = matches!(fu, Ty::Named(Cls::XElement | Cls::XAttribute));
        let to_inner = match to {
            Ty::Nullable(i) => (**i).clone(),
            t => t.clone(),
        };
        if from_xml && (to_inner.is_numeric() || matches!(to_inner, Ty::String | Ty::Bool)) {
            return Some(Conv::FromJson(to.clone()));
        }
        let from_general = matches!(from, Ty::Object) || is_interface(from);
        if from_general && to.is_value_type() {
            return Some(Conv::Unbox(to.clone()));
        }
        if to.is_reference()
            && (from.is_reference() || from_general)
            && (self.is_ref_subtype(to, from) || from_general || is_interface(to))
        {
            return Some(Conv::Ref(to.clone()));
        }
        None
    }

    // ---------------------------------------------------------------- expressions
    fn expr(&mut self, e: &Expr) -> Ex {
        match &e.kind {
            ExprKind::Lit(l) => {
                let (v, ty) = match l {
                    Lit::Null => (Value::Null, Ty::Null),
                    Lit::Bool(b) => (Value::Bool(*b), Ty::Bool),
                    Lit::Int(v, s) => int_lit(*v, *s),
                    Lit::Double(d) => (Value::F64(*d), Ty::F64),
                    Lit::Float(f) => (Value::F32(*f), Ty::F32),
                    Lit::Decimal(d) => (Value::Dec(*d), Ty::Decimal),
                    Lit::Char(c) => (Value::Char(*c), Ty::Char),
                    Lit::Str(s) => (Value::str(s), Ty::String),
                };
                Ex {
                    node: Node::Const(v.clone()),
                    ty,
                    konst: Some(v),
                }
            }
            ExprKind::Interp(pieces) => {
                let mut segs = Vec::new();
                for p in pieces {
                    match p {
                        Piece::Text(t) => segs.push(InterpSeg::Text(t.clone())),
                        Piece::Hole(h) => {
                            let x = self.expr(&h.expr);
                            if x.ty == Ty::Void || matches!(x.ty, Ty::Lambda(_)) {
                                self.diag(
                                    "CS1503",
                                    h.expr.span,
                                    "Cannot use this expression in an interpolated string",
                                );
                            }
                            let align = match &h.align {
                                Some(a) => {
                                    let ax = self.expr(a);
                                    match ax.konst.as_ref().and_then(int_of) {
                                        Some(v) => v as i32,
                                        None => {
                                            self.diag(
                                                "CS0150",
                                                a.span,
                                                "A constant value is expected",
                                            );
                                            0
                                        }
                                    }
                                }
                                None => 0,
                            };
                            segs.push(InterpSeg::Hole {
                                value: x.node,
                                align,
                                format: h.format.clone(),
                            });
                        }
                    }
                }
                Ex::new(Node::Interp(segs), Ty::String)
            }
            ExprKind::Name(name, targs) => {
                if !targs.is_empty() {
                    self.diag(
                        "CS0307",
                        e.span,
                        format!("The name '{name}' cannot be used with type arguments here"),
                    );
                    return Ex::err();
                }
                if let Some(l) = self.lookup_local(name) {
                    let (slot, ty) = (l.slot, l.ty.clone());
                    if !self
                        .flow
                        .assigned
                        .get(slot as usize)
                        .copied()
                        .unwrap_or(true)
                    {
                        self.diag(
                            "CS0165",
                            e.span,
                            format!("Use of unassigned local variable '{name}'"),
                        );
                        self.mark_assigned(slot);
                    }
                    return Ex::new(Node::Local(slot), ty);
                }
                if name == "context" {
                    return Ex::new(Node::Context, Ty::Named(Cls::Context));
                }
                if let Some(t) = lookup_type_name(name) {
                    return Ex::new(Node::Const(Value::Null), Ty::TypeName(Arc::new(t)));
                }
                if is_known_namespace(name) {
                    return Ex::new(
                        Node::Const(Value::Null),
                        Ty::Namespace(Arc::from(name.as_str())),
                    );
                }
                if is_disallowed_type(name) {
                    self.diag(
                        "APIM0002",
                        e.span,
                        format!("Type '{name}' is not allowed in policy expressions"),
                    );
                    return Ex::err();
                }
                self.diag(
                    "CS0103",
                    e.span,
                    format!("The name '{name}' does not exist in the current context"),
                );
                Ex::err()
            }
            ExprKind::PredefType(n) => {
                let t = predefined(n).unwrap_or(Ty::Error);
                Ex::new(Node::Const(Value::Null), Ty::TypeName(Arc::new(t)))
            }
            ExprKind::Member {
                target,
                name,
                name_span,
                type_args,
                conditional,
            } => {
                if !type_args.is_empty() {
                    self.diag(
                        "CS0307",
                        *name_span,
                        format!("The property '{name}' cannot be used with type arguments"),
                    );
                    return Ex::err();
                }
                self.member_access(target, name, *name_span, *conditional, e.span)
            }
            ExprKind::Index {
                target,
                args,
                conditional,
            } => self.index(target, args, *conditional, e.span),
            ExprKind::Call { target, args } => self.call(target, args, e.span),
            ExprKind::Unary(op, x) => self.unary(*op, x, e.span),
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, e.span),
            ExprKind::Assign { op, target, value } => self.assign(*op, target, value, e.span),
            ExprKind::Conditional(c, a, b) => {
                let cx = self.expr(c);
                let cn = self.coerce(cx, &Ty::Bool, c.span);
                let before = self.flow.clone();
                let ax = self.expr(a);
                let fa = std::mem::replace(&mut self.flow, before);
                let bxx = self.expr(b);
                self.flow = Flow::join(&fa, &self.flow.clone());
                let ty = if ax.ty == bxx.ty
                    || (self.implicit(&bxx.ty, &ax.ty, bxx.konst.as_ref()).is_some()
                        && ax.ty != Ty::Null)
                {
                    ax.ty.clone()
                } else if self.implicit(&ax.ty, &bxx.ty, ax.konst.as_ref()).is_some()
                    && bxx.ty != Ty::Null
                {
                    bxx.ty.clone()
                } else {
                    self.diag(
                        "CS0173",
                        e.span,
                        format!("Type of conditional expression cannot be determined because there is no implicit conversion between '{}' and '{}'", ax.ty.name(), bxx.ty.name()),
                    );
                    Ty::Error
                };
                let an = self.coerce(ax, &ty, a.span);
                let bn = self.coerce(bxx, &ty, b.span);
                Ex::new(Node::Cond(bx(cn), bx(an), bx(bn)), ty)
            }
            ExprKind::Cast(t, x) => {
                let to = self.resolve_type(t);
                // `(Func<int, string>)(x => ...)`: the cast gives the lambda its delegate type.
                let xx = if matches!(to, Ty::Gen(Gen::Func, _)) {
                    self.expr_expecting(x, &to)
                } else {
                    self.expr(x)
                };
                if to.is_error() || xx.ty.is_error() {
                    return Ex::new(xx.node, to);
                }
                // constant folding of numeric casts keeps `(byte)1` a constant
                match self.explicit(&xx.ty, &to) {
                    Some(Conv::Identity) if xx.ty == to => Ex {
                        node: xx.node,
                        ty: to,
                        konst: xx.konst,
                    },
                    Some(Conv::Identity) | Some(Conv::Lambda) => Ex::new(xx.node, to),
                    Some(c) => {
                        let konst = match (&c, &xx.konst) {
                            (Conv::Numeric(t, false), Some(v)) => {
                                if !self.explicit_unchecked
                                    && crate::interp::convert_numeric(v, t, true).is_err()
                                {
                                    self.diag(
                                        "CS0221",
                                        e.span,
                                        format!(
                                            "Constant value '{}' cannot be converted to a '{}' (use 'unchecked' syntax to override)",
                                            crate::render::net_string(v),
                                            t.name()
                                        ),
                                    );
                                }
                                crate::interp::convert_numeric(v, t, false).ok()
                            }
                            _ => None,
                        };
                        let node = match &konst {
                            Some(v) => Node::Const(v.clone()),
                            None => Node::Conv(c, bx(xx.node), e.span),
                        };
                        Ex {
                            node,
                            ty: to,
                            konst,
                        }
                    }
                    None => {
                        self.diag(
                            "CS0030",
                            e.span,
                            format!("Cannot convert type '{}' to '{}'", xx.ty.name(), to.name()),
                        );
                        Ex::err()
                    }
                }
            }
            ExprKind::Is { expr, ty, bind } => {
                let xx = self.expr(expr);
                match ty {
                    None => Ex::new(
                        Node::Eq(
                            EqKind::Ref,
                            false,
                            bx(xx.node),
                            bx(Node::Const(Value::Null)),
                        ),
                        Ty::Bool,
                    ),
                    Some(t) => {
                        let to = self.resolve_type(t);
                        if matches!(xx.ty, Ty::TypeName(_) | Ty::Namespace(_)) {
                            self.diag(
                                "CS0119",
                                expr.span,
                                format!(
                                    "'{}' is a type, which is not valid in the given context",
                                    xx.ty.name()
                                ),
                            );
                        }
                        let slot = bind
                            .as_ref()
                            .map(|(n, sp)| self.declare(n, to.clone(), *sp, true));
                        Ex::new(Node::Is(to, bx(xx.node), slot), Ty::Bool)
                    }
                }
            }
            ExprKind::As(x, t) => {
                let to = self.resolve_type(t);
                let xx = self.expr(x);
                if !to.accepts_null() && !to.is_error() {
                    self.diag("CS0077", e.span, format!("The as operator must be used with a reference type or nullable type ('{}' is a non-nullable value type)", to.name()));
                    return Ex::err();
                }
                if !xx.ty.is_error()
                    && !to.is_error()
                    && self.explicit(&xx.ty, &to).is_none()
                    && xx.ty != Ty::Null
                {
                    self.diag("CS0039", e.span, format!("Cannot convert type '{}' to '{}' via a reference conversion, boxing conversion, unboxing conversion, wrapping conversion, or null type conversion", xx.ty.name(), to.name()));
                }
                let test = match &to {
                    Ty::Nullable(i) => (**i).clone(),
                    t => t.clone(),
                };
                Ex::new(Node::As(test, bx(xx.node)), to)
            }
            ExprKind::Lambda { params, .. } => {
                // only valid where a delegate type is expected (handled by call resolution)
                Ex::new(Node::Const(Value::Null), Ty::Lambda(params.len()))
            }
            ExprKind::New { ty, args, init } => self.new_object(ty, args, init.as_deref(), e.span),
            ExprKind::NewArray { elem, sizes, init } => {
                self.new_array(elem.as_ref(), sizes, init.as_deref(), e.span)
            }
            ExprKind::ArrayInit(_) => {
                self.diag("CS0622", e.span, "Can only use array initializer expressions to assign to array types. Try using a new expression instead.");
                Ex::err()
            }
            ExprKind::NewAnon(members) => {
                let mut tys = Vec::new();
                let mut nodes = Vec::new();
                let mut names: Vec<String> = Vec::new();
                for (n, sp, x) in members {
                    if names.contains(n) {
                        self.diag("CS0833", *sp, format!("An anonymous type cannot have multiple properties with the same name ('{n}')"));
                    }
                    names.push(n.clone());
                    let xx = self.expr(x);
                    if matches!(xx.ty, Ty::Null | Ty::Void | Ty::Lambda(_)) {
                        self.diag(
                            "CS0828",
                            x.span,
                            format!(
                                "Cannot assign '{}' to anonymous type property",
                                xx.ty.name()
                            ),
                        );
                    }
                    tys.push((n.clone(), xx.ty.clone()));
                    nodes.push(xx.node);
                }
                let ty = Ty::Anon(tys.into());
                let mut args = vec![Node::Const(Value::Type(Arc::new(ty.clone())))];
                args.extend(nodes);
                Ex::new(
                    Node::Native {
                        f: crate::lib_core::new_anon,
                        args,
                        span: e.span,
                    },
                    ty,
                )
            }
            ExprKind::Typeof(t) => {
                let ty = self.resolve_type(t);
                let _ = ty;
                self.diag(
                    "APIM0002",
                    e.span,
                    "Type 'System.Type' is not allowed in policy expressions",
                );
                Ex::err()
            }
            ExprKind::Default(t) => {
                let ty = self.resolve_type(t);
                let v = crate::interp::default_value(&ty);
                Ex {
                    node: Node::Const(v.clone()),
                    ty,
                    konst: Some(v),
                }
            }
            ExprKind::Checked(c, x) => {
                let saved = (self.checked, self.explicit_unchecked);
                self.checked = *c;
                self.explicit_unchecked = !*c;
                let r = self.expr(x);
                (self.checked, self.explicit_unchecked) = saved;
                r
            }
        }
    }

    /// A value-producing expression (not a type, namespace or lambda).
    fn value(&mut self, e: &Expr) -> Ex {
        let x = self.expr(e);
        match &x.ty {
            Ty::TypeName(t) => {
                self.diag(
                    "CS0119",
                    e.span,
                    format!(
                        "'{}' is a type, which is not valid in the given context",
                        t.name()
                    ),
                );
                Ex::err()
            }
            Ty::Namespace(n) => {
                self.diag(
                    "CS0118",
                    e.span,
                    format!("'{n}' is a namespace but is used like a variable"),
                );
                Ex::err()
            }
            _ => x,
        }
    }

    fn member_access(
        &mut self,
        target: &Expr,
        name: &str,
        name_span: Span,
        conditional: bool,
        span: Span,
    ) -> Ex {
        let tx = self.expr(target);
        match &tx.ty {
            Ty::Error => return Ex::err(),
            Ty::Namespace(ns) => {
                let full = format!("{ns}.{name}");
                if let Some(t) = lookup_type_name(&full) {
                    return Ex::new(Node::Const(Value::Null), Ty::TypeName(Arc::new(t)));
                }
                if is_known_namespace(&full) {
                    return Ex::new(
                        Node::Const(Value::Null),
                        Ty::Namespace(Arc::from(full.as_str())),
                    );
                }
                if is_disallowed_type(&full) || is_disallowed_namespace(ns) {
                    self.diag(
                        "APIM0002",
                        span,
                        format!("Type '{full}' is not allowed in policy expressions"),
                    );
                } else {
                    self.diag("CS0234", name_span, format!("The type or namespace name '{name}' does not exist in the namespace '{ns}' (are you missing an assembly reference?)"));
                }
                return Ex::err();
            }
            Ty::TypeName(t) => {
                let t = (**t).clone();
                return self.static_member(&t, name, name_span, span);
            }
            _ => {}
        }
        let recv_ty = tx.ty.clone();
        if conditional {
            if !recv_ty.accepts_null() {
                self.bad_unary("?", span, &recv_ty);
                return Ex::err();
            }
            let slot = self.temp();
            let inner_recv = Ex::new(Node::Local(slot), strip_nullable(&recv_ty));
            let r = self.instance_property(inner_recv, name, name_span, span);
            let ty = lift_nullable(&r.ty);
            return Ex::new(Node::CondAccess(bx(tx.node), slot, bx(r.node)), ty);
        }
        self.instance_property(tx, name, name_span, span)
    }

    fn static_member(&mut self, t: &Ty, name: &str, name_span: Span, span: Span) -> Ex {
        // enum members
        if let Some(v) = crate::lib_core::enum_member(t, name) {
            return Ex {
                node: Node::Const(v.clone()),
                ty: t.clone(),
                konst: Some(v),
            };
        }
        if let Some(v) = crate::lib_core::const_field(t, name) {
            // Math.PI / Math.E are doubles; other constants have their declaring type
            let ty = if matches!(v, Value::F64(_)) {
                Ty::F64
            } else {
                t.clone()
            };
            return Ex {
                node: Node::Const(v.clone()),
                ty,
                konst: Some(v),
            };
        }
        let tables = crate::lib_core::tables(t);
        for tb in &tables {
            for m in tb.iter() {
                if m.name == name && m.stat && m.kind == Kind::Prop {
                    let ty = m
                        .ret
                        .resolve(&Subst {
                            recv: Some(t),
                            margs: &[],
                        })
                        .unwrap_or(Ty::Error);
                    return Ex::new(
                        Node::Native {
                            f: m.f,
                            args: vec![],
                            span,
                        },
                        ty,
                    );
                }
            }
        }
        if tables.iter().any(|tb| tb.iter().any(|m| m.name == name)) {
            self.diag(
                "CS0428",
                name_span,
                format!("Cannot convert method group '{name}' to non-delegate type"),
            );
        } else if is_disallowed_member(t, name) {
            self.member_diag("APIM0003", t, name, name_span);
        } else {
            self.member_diag("CS0117", t, name, name_span);
        }
        Ex::err()
    }

    fn instance_property(&mut self, recv: Ex, name: &str, name_span: Span, span: Span) -> Ex {
        let rt = recv.ty.clone();
        if let Ty::Named(c) = &rt {
            if let Some((member, ty)) = host::property(*c, name) {
                return Ex::new(Node::HostGet(bx(recv.node), member, span), ty);
            }
        }
        if let Ty::Anon(fields) = &rt {
            if let Some(i) = fields.iter().position(|(n, _)| n == name) {
                let ty = fields[i].1.clone();
                return Ex::new(
                    Node::Native {
                        f: crate::lib_core::anon_field,
                        args: vec![recv.node, Node::Const(Value::I32(i as i32))],
                        span,
                    },
                    ty,
                );
            }
        }
        let tables = crate::lib_core::tables(&rt);
        for tb in &tables {
            for m in tb.iter() {
                if m.name == name && !m.stat && m.kind == Kind::Prop {
                    let ty = m
                        .ret
                        .resolve(&Subst {
                            recv: Some(&rt),
                            margs: &[],
                        })
                        .unwrap_or(Ty::Error);
                    let node = Node::Native {
                        f: m.f,
                        args: vec![null_checked(recv.node, &rt, span)],
                        span,
                    };
                    return Ex::new(node, ty);
                }
            }
        }
        let is_method = tables
            .iter()
            .any(|tb| tb.iter().any(|m| m.name == name && m.kind == Kind::Method))
            || crate::lib_core::extension_tables(&rt)
                .iter()
                .any(|tb| tb.iter().any(|m| m.name == name));
        if is_method {
            self.diag("CS0428", name_span, format!("Cannot convert method group '{name}' to non-delegate type 'object'. Did you intend to invoke the method?"));
        } else {
            self.no_member(&rt, name, name_span);
        }
        Ex::err()
    }

    fn no_member(&mut self, rt: &Ty, name: &str, span: Span) {
        if rt.is_error() {
            return;
        }
        if is_disallowed_member(rt, name) {
            self.member_diag("APIM0003", rt, name, span);
        } else if matches!(rt, Ty::Void) {
            self.diag(
                "CS0023",
                span,
                "Operator '.' cannot be applied to operand of type 'void'",
            );
        } else if matches!(rt, Ty::Null) {
            self.diag(
                "CS0023",
                span,
                "Operator '.' cannot be applied to operand of type '<null>'",
            );
        } else {
            self.diag(
                "CS1061",
                span,
                format!("'{}' does not contain a definition for '{}' and no accessible extension method '{}' accepting a first argument of type '{}' could be found", rt.name(), name, name, rt.name()),
            );
        }
    }

    fn index(&mut self, target: &Expr, args: &[Arg], conditional: bool, span: Span) -> Ex {
        let tx = self.value(target);
        if tx.ty.is_error() {
            for a in args {
                self.expr(&a.value);
            }
            return Ex::err();
        }
        if conditional {
            if !tx.ty.accepts_null() {
                self.bad_unary("?", span, &tx.ty);
                return Ex::err();
            }
            let slot = self.temp();
            let inner = Ex::new(Node::Local(slot), strip_nullable(&tx.ty));
            let r = self.index_on(inner, args, span);
            let ty = lift_nullable(&r.ty);
            return Ex::new(Node::CondAccess(bx(tx.node), slot, bx(r.node)), ty);
        }
        self.index_on(tx, args, span)
    }

    /// The indexers of a type; CS0021 and `None` when it has none.
    fn indexers(&mut self, rt: &Ty, span: Span) -> Option<Vec<Member>> {
        let cands: Vec<Member> = crate::lib_core::tables(rt)
            .iter()
            .flat_map(|t| t.iter())
            .filter(|m| m.kind == Kind::Indexer)
            .copied()
            .collect();
        if cands.is_empty() {
            let msg = format!(
                "Cannot apply indexing with [] to an expression of type '{}'",
                rt.name()
            );
            self.diag("CS0021", span, msg);
            return None;
        }
        Some(cands)
    }

    fn index_on(&mut self, tx: Ex, args: &[Arg], span: Span) -> Ex {
        let rt = tx.ty.clone();
        let Some(cands) = self.indexers(&rt, span) else {
            for a in args {
                self.expr(&a.value);
            }
            return Ex::err();
        };
        let recv_node = null_checked(tx.node, &rt, span);
        match self.resolve_call(&cands, Some(&rt), &[], args, span, "this[]") {
            Some((m, nodes, ret, _)) => {
                let mut all = vec![recv_node];
                all.extend(nodes);
                Ex::new(
                    Node::Native {
                        f: m.f,
                        args: all,
                        span,
                    },
                    ret,
                )
            }
            None => Ex::err(),
        }
    }

    /// A place that can be assigned: local or indexer with a setter.
    fn place(&mut self, e: &Expr) -> Option<(Place, Ty)> {
        match &e.kind {
            ExprKind::Name(n, _) => {
                if let Some(l) = self.lookup_local(n) {
                    return Some((Place::Local(l.slot), l.ty.clone()));
                }
                if n == "context" {
                    self.diag("CS0131", e.span, "The left-hand side of an assignment must be a variable, property or indexer");
                    return None;
                }
                self.expr(e);
                None
            }
            ExprKind::Index {
                target,
                args,
                conditional: false,
            } => {
                let tx = self.value(target);
                if tx.ty.is_error() {
                    return None;
                }
                let rt = tx.ty.clone();
                let cands = self.indexers(&rt, e.span)?;
                let (m, nodes, ret, _) =
                    self.resolve_call(&cands, Some(&rt), &[], args, e.span, "this[]")?;
                match m.set {
                    Some(set) => Some((
                        Place::Setter {
                            f: set,
                            get: m.f,
                            target: bx(null_checked(tx.node, &rt, e.span)),
                            args: nodes,
                        },
                        ret,
                    )),
                    None => {
                        self.diag("CS0200", e.span, format!("Property or indexer '{}.this[]' cannot be assigned to -- it is read only", rt.name()));
                        None
                    }
                }
            }
            ExprKind::Member { target, name, .. } => {
                let tx = self.expr(target);
                if !tx.ty.is_error() {
                    if let Some(set) = crate::lib_core::property_setter(&tx.ty, name) {
                        let (get, ty) = set.1;
                        return Some((
                            Place::Setter {
                                f: set.0,
                                get,
                                target: bx(null_checked(tx.node, &tx.ty, e.span)),
                                args: vec![],
                            },
                            ty,
                        ));
                    }
                    self.diag(
                        "CS0200",
                        e.span,
                        format!(
                            "Property or indexer '{}.{}' cannot be assigned to -- it is read only",
                            tx.ty.name(),
                            name
                        ),
                    );
                }
                None
            }
            _ => {
                self.expr(e);
                self.diag(
                    "CS0131",
                    e.span,
                    "The left-hand side of an assignment must be a variable, property or indexer",
                );
                None
            }
        }
    }

    fn assign(&mut self, op: Option<BinOp>, target: &Expr, value: &Expr, span: Span) -> Ex {
        let Some((place, ty)) = self.place_for_write(target, op.is_some()) else {
            self.expr(value);
            return Ex::err();
        };
        match op {
            None => {
                let vx = self.expr_expecting(value, &ty);
                let vn = self.coerce(vx, &ty, value.span);
                if let Place::Local(s) = &place {
                    self.mark_assigned(*s);
                }
                Ex::new(Node::Assign(place, bx(vn)), ty)
            }
            Some(BinOp::Coalesce) => {
                self.diag(
                    "CS8652",
                    span,
                    "The feature 'null-coalescing assignment' is not available in C# 7.3",
                );
                Ex::err()
            }
            Some(op) => {
                let vx = self.value(value);
                let left = Ex::new(Node::Const(Value::Null), ty.clone());
                let (res_ty, concat) = match self.binary_type(op, &left, &vx, span) {
                    Some(r) => r,
                    None => return Ex::err(),
                };
                let conv = if res_ty == ty {
                    None
                } else if self.explicit(&res_ty, &ty).is_some()
                    && (res_ty.is_numeric() || ty.is_numeric())
                {
                    Some(Conv::Numeric(strip_nullable(&ty), self.checked))
                } else if self.implicit(&res_ty, &ty, None).is_some() {
                    None
                } else {
                    self.diag(
                        "CS0029",
                        span,
                        format!(
                            "Cannot implicitly convert type '{}' to '{}'",
                            res_ty.name(),
                            ty.name()
                        ),
                    );
                    None
                };
                Ex::new(
                    Node::Compound {
                        place,
                        op,
                        value: bx(vx.node),
                        conv,
                        post: false,
                        checked: self.checked,
                        concat,
                    },
                    ty,
                )
            }
        }
    }

    fn place_for_write(&mut self, target: &Expr, read_too: bool) -> Option<(Place, Ty)> {
        let r = self.place(target)?;
        if read_too {
            if let Place::Local(s) = &r.0 {
                if !self.flow.assigned.get(*s as usize).copied().unwrap_or(true) {
                    self.diag("CS0165", target.span, "Use of unassigned local variable");
                }
            }
        }
        Some(r)
    }

    /// Checks an expression where a delegate type may be expected (lambdas assigned to Func).
    fn expr_expecting(&mut self, e: &Expr, ty: &Ty) -> Ex {
        if let (ExprKind::Lambda { params, body }, Ty::Gen(Gen::Func, a)) = (&e.kind, ty) {
            if params.len() + 1 == a.len() {
                let ptys: Vec<Ty> = a[..params.len()].to_vec();
                let saved = self.diags.len();
                if let Some((code, ret)) = self.check_lambda(params, body, &ptys) {
                    let want = &a[params.len()];
                    if self.implicit(&ret, want, None).is_none() {
                        self.diag("CS1662", e.span, format!("Cannot convert lambda expression to intended delegate type because some of the return types in the block are not implicitly convertible to the delegate return type ('{}')", want.name()));
                    }
                    let id = self.lambdas.len() as u32;
                    self.lambdas.push(code);
                    return Ex::new(Node::Lambda(id), ty.clone());
                }
                self.diags.truncate(saved.max(self.diags.len()));
                return Ex::err();
            }
        }
        if let (ExprKind::ArrayInit(items), Ty::Array(el)) = (&e.kind, ty) {
            let mut nodes = Vec::new();
            for it in items {
                let x = self.expr_expecting(it, el);
                nodes.push(self.coerce(x, el, it.span));
            }
            return Ex::new(Node::NewArray((**el).clone(), nodes), ty.clone());
        }
        self.value(e)
    }

    fn unary(&mut self, op: UnOp, x: &Expr, span: Span) -> Ex {
        match op {
            UnOp::PreInc | UnOp::PreDec | UnOp::PostInc | UnOp::PostDec => {
                let Some((place, ty)) = self.place_for_write(x, true) else {
                    return Ex::err();
                };
                let base = strip_nullable(&ty);
                if !base.is_numeric() {
                    self.bad_unary(
                        if matches!(op, UnOp::PreInc | UnOp::PostInc) {
                            "++"
                        } else {
                            "--"
                        },
                        span,
                        &ty,
                    );
                    return Ex::err();
                }
                let bop = if matches!(op, UnOp::PreInc | UnOp::PostInc) {
                    BinOp::Add
                } else {
                    BinOp::Sub
                };
                let conv = if matches!(
                    base,
                    Ty::I32 | Ty::U32 | Ty::I64 | Ty::U64 | Ty::F32 | Ty::F64 | Ty::Decimal
                ) {
                    None
                } else {
                    Some(Conv::Numeric(base.clone(), self.checked))
                };
                Ex::new(
                    Node::Compound {
                        place,
                        op: bop,
                        value: bx(Node::Const(Value::I32(1))),
                        conv,
                        post: matches!(op, UnOp::PostInc | UnOp::PostDec),
                        checked: self.checked,
                        concat: false,
                    },
                    ty,
                )
            }
            UnOp::Not => {
                let xx = self.value(x);
                let t = strip_nullable(&xx.ty);
                if t != Ty::Bool && !xx.ty.is_error() {
                    self.bad_unary("!", span, &xx.ty);
                    return Ex::err();
                }
                let konst = match xx.konst {
                    Some(Value::Bool(b)) => Some(Value::Bool(!b)),
                    _ => None,
                };
                Ex {
                    node: Node::Not(bx(xx.node)),
                    ty: xx.ty,
                    konst,
                }
            }
            UnOp::Neg | UnOp::Plus | UnOp::BitNot => {
                let xx = self.value(x);
                if xx.ty.is_error() {
                    return Ex::err();
                }
                let t = strip_nullable(&xx.ty);
                if !t.is_numeric() || (op == UnOp::BitNot && !t.is_integral()) {
                    self.bad_unary(
                        match op {
                            UnOp::Neg => "-",
                            UnOp::Plus => "+",
                            _ => "~",
                        },
                        span,
                        &xx.ty,
                    );
                    return Ex::err();
                }
                let pt = match t {
                    Ty::I8 | Ty::U8 | Ty::I16 | Ty::U16 | Ty::Char => Ty::I32,
                    Ty::U32 if op == UnOp::Neg => Ty::I64,
                    Ty::U64 if op == UnOp::Neg => {
                        self.diag(
                            "CS0023",
                            span,
                            "Operator '-' cannot be applied to operand of type 'ulong'",
                        );
                        return Ex::err();
                    }
                    t => t,
                };
                let inner = if pt != strip_nullable(&xx.ty) {
                    Node::Conv(Conv::Numeric(pt.clone(), false), bx(xx.node.clone()), span)
                } else {
                    xx.node.clone()
                };
                let ty = if matches!(xx.ty, Ty::Nullable(_)) {
                    Ty::nullable(pt.clone())
                } else {
                    pt.clone()
                };
                // fold `-5` so `int.MinValue` literals and constant conversions work
                if let (UnOp::Neg, Some(v)) = (op, &xx.konst) {
                    let folded = match v {
                        Value::I32(i) => Some(Value::I32(i.wrapping_neg())),
                        Value::I64(i) => Some(Value::I64(i.wrapping_neg())),
                        Value::U32(u) => Some(Value::I64(-(*u as i64))),
                        Value::F64(f) => Some(Value::F64(-f)),
                        Value::F32(f) => Some(Value::F32(-f)),
                        Value::Dec(d) => Some(Value::Dec(-*d)),
                        _ => None,
                    };
                    if let Some(f) = folded {
                        return Ex {
                            node: Node::Const(f.clone()),
                            ty,
                            konst: Some(f),
                        };
                    }
                }
                let node = match op {
                    UnOp::Neg => Node::Neg(bx(inner), self.checked),
                    UnOp::BitNot => Node::BitNot(bx(inner)),
                    _ => inner,
                };
                Ex::new(node, ty)
            }
        }
    }

    /// Result type of a binary operator (and whether it is string concatenation).
    fn binary_type(&mut self, op: BinOp, a: &Ex, b: &Ex, span: Span) -> Option<(Ty, bool)> {
        let (ta, tb) = (&a.ty, &b.ty);
        if ta.is_error() || tb.is_error() {
            return None;
        }
        let fail = |s: &mut Compiler| {
            s.bad_binary(op.symbol(), span, ta, tb);
            None
        };
        if matches!(
            ta,
            Ty::Void | Ty::Lambda(_) | Ty::TypeName(_) | Ty::Namespace(_)
        ) || matches!(
            tb,
            Ty::Void | Ty::Lambda(_) | Ty::TypeName(_) | Ty::Namespace(_)
        ) {
            return fail(self);
        }
        if op == BinOp::Add && (*ta == Ty::String || *tb == Ty::String) {
            return Some((Ty::String, true));
        }
        let lifted = matches!(ta, Ty::Nullable(_))
            || matches!(tb, Ty::Nullable(_))
            || *ta == Ty::Null
            || *tb == Ty::Null;
        let ua = strip_nullable(ta);
        let ub = strip_nullable(tb);
        let lift = |t: Ty| {
            if lifted && t.is_value_type() {
                Ty::nullable(t)
            } else {
                t
            }
        };
        let dt = Ty::Named(Cls::DateTime);
        let ts = Ty::Named(Cls::TimeSpan);
        let dto = Ty::Named(Cls::DateTimeOffset);
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => {
                if ua.is_numeric() && ub.is_numeric() {
                    return match promote(&ua, &ub) {
                        Some(t) => Some((lift(t), false)),
                        None => fail(self),
                    };
                }
                let r = match (op, &ua, &ub) {
                    (BinOp::Add, a, b) if *a == dt && *b == ts => dt.clone(),
                    (BinOp::Add, a, b) if *a == dto && *b == ts => dto.clone(),
                    (BinOp::Add | BinOp::Sub, a, b) if *a == ts && *b == ts => ts.clone(),
                    (BinOp::Sub, a, b) if *a == dt && *b == dt => ts.clone(),
                    (BinOp::Sub, a, b) if *a == dt && *b == ts => dt.clone(),
                    (BinOp::Sub, a, b) if *a == dto && *b == dto => ts.clone(),
                    (BinOp::Sub, a, b) if *a == dto && *b == ts => dto.clone(),
                    _ => return fail(self),
                };
                Some((lift(r), false))
            }
            BinOp::Shl | BinOp::Shr => {
                if ua.is_integral() && ub.is_integral() && promote(&ub, &Ty::I32) == Some(Ty::I32) {
                    let t = match ua {
                        Ty::I8 | Ty::U8 | Ty::I16 | Ty::U16 | Ty::Char | Ty::I32 => Ty::I32,
                        t => t,
                    };
                    return Some((lift(t), false));
                }
                fail(self)
            }
            BinOp::And | BinOp::Or | BinOp::Xor => {
                if ua == Ty::Bool && ub == Ty::Bool {
                    return Some((lift(Ty::Bool), false));
                }
                if ua.is_integral() && ub.is_integral() {
                    return match promote(&ua, &ub) {
                        Some(t) => Some((lift(t), false)),
                        None => fail(self),
                    };
                }
                if ua.is_enum() && ua == ub {
                    return Some((lift(ua), false));
                }
                fail(self)
            }
            BinOp::AndAlso | BinOp::OrElse => {
                if *ta == Ty::Bool && *tb == Ty::Bool {
                    Some((Ty::Bool, false))
                } else {
                    fail(self)
                }
            }
            BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge => {
                if (ua.is_numeric() && ub.is_numeric() && promote(&ua, &ub).is_some())
                    || (ua == ub && (ua == dt || ua == ts || ua == dto || ua.is_enum()))
                {
                    return Some((Ty::Bool, false));
                }
                fail(self)
            }
            BinOp::Eq | BinOp::Ne => Some((Ty::Bool, false)),
            BinOp::Coalesce => None,
        }
    }

    fn binary(&mut self, op: BinOp, a: &Expr, b: &Expr, span: Span) -> Ex {
        match op {
            BinOp::AndAlso | BinOp::OrElse => {
                let ax = self.value(a);
                let an = self.coerce(ax, &Ty::Bool, a.span);
                let before = self.flow.clone();
                let bxx = self.value(b);
                let bn = self.coerce(bxx, &Ty::Bool, b.span);
                // assignments in the right operand are not definite
                let after = self.flow.clone();
                self.flow = Flow::join(&before, &after);
                let node = if op == BinOp::AndAlso {
                    Node::AndAlso(bx(an), bx(bn))
                } else {
                    Node::OrElse(bx(an), bx(bn))
                };
                return Ex::new(node, Ty::Bool);
            }
            BinOp::Coalesce => {
                let ax = self.value(a);
                let before = self.flow.clone();
                let bxx = self.value(b);
                self.flow = Flow::join(&before, &self.flow.clone());
                if ax.ty.is_error() || bxx.ty.is_error() {
                    return Ex::err();
                }
                if !ax.ty.accepts_null() || ax.ty == Ty::Null {
                    self.bad_binary("??", span, &ax.ty, &bxx.ty);
                    return Ex::err();
                }
                let under = strip_nullable(&ax.ty);
                let ty = if matches!(ax.ty, Ty::Nullable(_))
                    && self.implicit(&bxx.ty, &under, bxx.konst.as_ref()).is_some()
                {
                    under
                } else if self.implicit(&bxx.ty, &ax.ty, bxx.konst.as_ref()).is_some() {
                    ax.ty.clone()
                } else if self.implicit(&ax.ty, &bxx.ty, None).is_some() {
                    bxx.ty.clone()
                } else {
                    self.bad_binary("??", span, &ax.ty, &bxx.ty);
                    return Ex::err();
                };
                let bn = self.coerce(bxx, &ty, b.span);
                return Ex::new(Node::Coalesce(bx(ax.node), bx(bn)), ty);
            }
            _ => {}
        }
        let ax = self.value(a);
        let bxx = self.value(b);
        // `XNamespace + string` is LINQ to XML's operator giving an XName.
        if op == BinOp::Add && ax.ty == Ty::Named(Cls::XNamespace) {
            let bn = self.coerce(bxx, &Ty::String, b.span);
            return Ex::new(
                Node::Native {
                    f: crate::lib_misc::xnamespace_plus,
                    args: vec![ax.node, bn],
                    span,
                },
                Ty::Named(Cls::XName),
            );
        }
        let Some((ty, concat)) = self.binary_type(op, &ax, &bxx, span) else {
            return Ex::err();
        };
        if concat {
            let mut parts = Vec::new();
            for x in [ax, bxx] {
                match x.node {
                    Node::Concat(p) => parts.extend(p),
                    n => parts.push(n),
                }
            }
            return Ex::new(Node::Concat(parts), Ty::String);
        }
        match op {
            BinOp::Eq | BinOp::Ne => {
                let ne = op == BinOp::Ne;
                let (ta, tb) = (strip_nullable(&ax.ty), strip_nullable(&bxx.ty));
                let kind = if (ta.is_numeric() && tb.is_numeric())
                    || (ta == tb && ta.is_value_type())
                    || (ta == Ty::String && tb == Ty::String)
                {
                    if ta.is_numeric() && tb.is_numeric() && promote(&ta, &tb).is_none() {
                        self.bad_binary(op.symbol(), span, &ax.ty, &bxx.ty);
                    }
                    EqKind::Value
                } else if ax.ty == Ty::Null || bxx.ty == Ty::Null {
                    EqKind::Ref
                } else if ta.is_value_type() || tb.is_value_type() {
                    self.bad_binary(op.symbol(), span, &ax.ty, &bxx.ty);
                    EqKind::Value
                } else {
                    if self.explicit(&ax.ty, &bxx.ty).is_none()
                        && self.explicit(&bxx.ty, &ax.ty).is_none()
                    {
                        self.bad_binary(op.symbol(), span, &ax.ty, &bxx.ty);
                    }
                    EqKind::Ref
                };
                Ex::new(Node::Eq(kind, ne, bx(ax.node), bx(bxx.node)), Ty::Bool)
            }
            BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge => {
                Ex::new(Node::Cmp(op, bx(ax.node), bx(bxx.node)), Ty::Bool)
            }
            _ => {
                // constant folding for integer literals keeps `1 + 2` a constant and reports
                // constant overflow as C# does
                if let (Some(x), Some(y)) = (&ax.konst, &bxx.konst) {
                    if ty == Ty::I32 || ty == Ty::I64 {
                        match crate::interp::arith(op, x, y, true) {
                            Ok(v) => {
                                return Ex {
                                    node: Node::Const(v.clone()),
                                    ty,
                                    konst: Some(v),
                                };
                            }
                            Err(crate::code::Fault::Throw(e))
                                if e.kind == Exc::OverflowException =>
                            {
                                self.diag(
                                    "CS0220",
                                    span,
                                    "The operation overflows at compile time in checked mode",
                                );
                                return Ex::err();
                            }
                            Err(crate::code::Fault::Throw(e))
                                if e.kind == Exc::DivideByZeroException =>
                            {
                                self.diag("CS0020", span, "Division by constant zero");
                                return Ex::err();
                            }
                            _ => {}
                        }
                    }
                }
                Ex::new(
                    Node::Arith(op, bx(ax.node), bx(bxx.node), self.checked, span),
                    ty,
                )
            }
        }
    }

    fn new_object(
        &mut self,
        t: &TypeRef,
        args: &[Arg],
        init: Option<&[InitElem]>,
        span: Span,
    ) -> Ex {
        let ty = self.resolve_type(t);
        if ty.is_error() {
            for a in args {
                self.expr(&a.value);
            }
            return Ex::err();
        }
        // `new Func<T>(lambda)`: a delegate creation expression.
        if matches!(ty, Ty::Gen(Gen::Func, _)) && args.len() == 1 && init.is_none() {
            return self.expr_expecting(&args[0].value, &ty);
        }
        let tables = crate::lib_core::tables(&ty);
        // constructors are not inherited: the first table that declares any
        let cands: Vec<Member> = tables
            .iter()
            .find(|t| t.iter().any(|m| m.kind == Kind::Ctor))
            .map(|t| t.iter().filter(|m| m.kind == Kind::Ctor).copied().collect())
            .unwrap_or_default();
        if cands.is_empty() {
            if is_disallowed_type(&ty.name())
                || matches!(ty, Ty::Named(c) if host::is_context_class(c))
            {
                self.diag(
                    "CS0144",
                    span,
                    format!(
                        "Cannot create an instance of the abstract type or interface '{}'",
                        ty.name()
                    ),
                );
            } else {
                self.diag(
                    "CS0143",
                    span,
                    format!("The type '{}' has no constructors defined", ty.name()),
                );
            }
            return Ex::err();
        }
        let Some((m, mut nodes, _, _)) =
            self.resolve_call(&cands, Some(&ty), &[], args, span, &ty.name())
        else {
            return Ex::err();
        };
        nodes.insert(0, Node::Const(Value::Type(Arc::new(ty.clone()))));
        let create = Node::Native {
            f: m.f,
            args: nodes,
            span,
        };
        let Some(init) = init else {
            return Ex::new(create, ty);
        };
        let slot = self.temp();
        let mut steps = Vec::new();
        for el in init {
            match el {
                InitElem::Add(items) => {
                    let adds: Vec<Member> = crate::lib_core::tables(&ty)
                        .iter()
                        .flat_map(|t| t.iter())
                        .filter(|m| m.name == "Add" && !m.stat)
                        .copied()
                        .collect();
                    if adds.is_empty() {
                        self.diag("CS1922", span, format!("Cannot initialize type '{}' with a collection initializer because it does not implement 'System.Collections.IEnumerable'", ty.name()));
                        return Ex::err();
                    }
                    let sp = items.first().map(|i| i.span).unwrap_or(span);
                    let args: Vec<Arg> = items
                        .iter()
                        .map(|x| Arg {
                            name: None,
                            kind: ArgKind::Value,
                            value: x.clone(),
                            span: x.span,
                        })
                        .collect();
                    if let Some((m, nodes, _, _)) =
                        self.resolve_call(&adds, Some(&ty), &[], &args, sp, "Add")
                    {
                        let mut all = vec![Node::Local(slot)];
                        all.extend(nodes);
                        steps.push(Node::Native {
                            f: m.f,
                            args: all,
                            span: sp,
                        });
                    }
                }
                InitElem::Index(args, value) => {
                    let cands: Vec<Member> = crate::lib_core::tables(&ty)
                        .iter()
                        .flat_map(|t| t.iter())
                        .filter(|m| m.kind == Kind::Indexer && m.set.is_some())
                        .copied()
                        .collect();
                    let Some((m, nodes, ret, _)) =
                        self.resolve_call(&cands, Some(&ty), &[], args, value.span, "this[]")
                    else {
                        continue;
                    };
                    let vx = self.value(value);
                    let vn = self.coerce(vx, &ret, value.span);
                    let mut all = vec![Node::Local(slot)];
                    all.extend(nodes);
                    all.push(vn);
                    if let Some(set) = m.set {
                        steps.push(Node::Native {
                            f: set,
                            args: all,
                            span: value.span,
                        });
                    }
                }
                InitElem::Member(name, nsp, value) => {
                    match crate::lib_core::property_setter(&ty, name) {
                        Some((set, (_, pty))) => {
                            let vx = self.value(value);
                            let vn = self.coerce(vx, &pty, value.span);
                            steps.push(Node::Native {
                                f: set,
                                args: vec![Node::Local(slot), vn],
                                span: *nsp,
                            });
                        }
                        None => {
                            self.member_diag("CS0117", &ty, name, *nsp);
                        }
                    }
                }
            }
        }
        Ex::new(Node::Init(bx(create), slot, steps), ty)
    }

    fn new_array(
        &mut self,
        elem: Option<&TypeRef>,
        sizes: &[Expr],
        init: Option<&[Expr]>,
        span: Span,
    ) -> Ex {
        let et = elem.map(|t| self.resolve_type(t));
        if let Some(size) = sizes.first() {
            let sx = self.value(size);
            let sn = self.coerce(sx, &Ty::I32, size.span);
            let et = et.unwrap_or(Ty::Error);
            if let Some(items) = init {
                let mut nodes = Vec::new();
                for it in items {
                    let x = self.expr_expecting(it, &et);
                    nodes.push(self.coerce(x, &et, it.span));
                }
                return Ex::new(Node::NewArray(et.clone(), nodes), Ty::array(et));
            }
            return Ex::new(Node::NewArraySized(et.clone(), bx(sn)), Ty::array(et));
        }
        let items = init.unwrap_or(&[]);
        let xs: Vec<Ex> = match &et {
            Some(t) => items.iter().map(|it| self.expr_expecting(it, t)).collect(),
            None => items.iter().map(|it| self.value(it)).collect(),
        };
        let et = match et {
            Some(t) => t,
            None => {
                // best common type
                let mut best: Option<Ty> = None;
                for x in &xs {
                    if x.ty == Ty::Null {
                        continue;
                    }
                    best = Some(match best {
                        None => x.ty.clone(),
                        Some(b) if self.implicit(&x.ty, &b, x.konst.as_ref()).is_some() => b,
                        Some(b) if self.implicit(&b, &x.ty, None).is_some() => x.ty.clone(),
                        Some(_) => {
                            self.diag(
                                "CS0826",
                                span,
                                "No best type found for implicitly-typed array",
                            );
                            return Ex::err();
                        }
                    });
                }
                match best {
                    Some(b) => b,
                    None => {
                        self.diag(
                            "CS0826",
                            span,
                            "No best type found for implicitly-typed array",
                        );
                        return Ex::err();
                    }
                }
            }
        };
        let mut nodes = Vec::new();
        for (x, it) in xs.into_iter().zip(items) {
            nodes.push(self.coerce(x, &et, it.span));
        }
        Ex::new(Node::NewArray(et.clone(), nodes), Ty::array(et))
    }

    // ---------------------------------------------------------------- calls
    /// A static method group passed as an argument (`.Select(int.Parse)`): read as the
    /// one-parameter lambda `x => T.M(x)` when `T` has a one-parameter static `M`.
    fn method_group_as_lambda(&self, a: &Arg) -> Option<Arg> {
        let ExprKind::Member {
            target,
            name,
            type_args,
            conditional: false,
            ..
        } = &a.value.kind
        else {
            return None;
        };
        if !type_args.is_empty() || !matches!(a.kind, ArgKind::Value) {
            return None;
        }
        let ty = match &target.kind {
            ExprKind::PredefType(n) => predefined(n)?,
            ExprKind::Name(n, ta) if ta.is_empty() && self.lookup_local(n).is_none() => {
                lookup_type_name(n)?
            }
            _ => return None,
        };
        let unary = crate::lib_core::tables(&ty).iter().any(|tb| {
            tb.iter()
                .any(|m| m.name == name && m.stat && m.kind == Kind::Method && m.params.len() == 1)
        });
        if !unary {
            return None;
        }
        let sp = a.value.span;
        let param = "<method group argument>".to_string();
        let call = Expr {
            kind: ExprKind::Call {
                target: Box::new(a.value.clone()),
                args: vec![Arg {
                    name: None,
                    kind: ArgKind::Value,
                    value: Expr {
                        kind: ExprKind::Name(param.clone(), Vec::new()),
                        span: sp,
                    },
                    span: sp,
                }],
            },
            span: sp,
        };
        Some(Arg {
            value: Expr {
                kind: ExprKind::Lambda {
                    params: vec![ast::LambdaParam {
                        ty: None,
                        name: param,
                        span: sp,
                    }],
                    body: ast::LambdaBody::Expr(Box::new(call)),
                },
                span: sp,
            },
            ..a.clone()
        })
    }

    fn call(&mut self, target: &Expr, args: &[Arg], span: Span) -> Ex {
        let rewritten: Option<Vec<Arg>> = if args
            .iter()
            .any(|a| matches!(a.value.kind, ExprKind::Member { .. }))
        {
            Some(
                args.iter()
                    .map(|a| self.method_group_as_lambda(a).unwrap_or_else(|| a.clone()))
                    .collect(),
            )
        } else {
            None
        };
        let args = rewritten.as_deref().unwrap_or(args);
        match &target.kind {
            ExprKind::Member {
                target: recv,
                name,
                name_span,
                type_args,
                conditional,
            } => {
                let rx = self.expr(recv);
                let targs: Vec<Ty> = type_args.iter().map(|t| self.resolve_type(t)).collect();
                match &rx.ty {
                    Ty::Error => {
                        for a in args {
                            self.expr(&a.value);
                        }
                        Ex::err()
                    }
                    Ty::Namespace(ns) => {
                        let full = format!("{ns}.{name}");
                        if is_disallowed_type(ns) || is_disallowed_namespace(ns) {
                            self.diag(
                                "APIM0002",
                                target.span,
                                format!("Type '{ns}' is not allowed in policy expressions"),
                            );
                        } else {
                            self.diag("CS0234", *name_span, format!("The type or namespace name '{name}' does not exist in the namespace '{ns}'"));
                        }
                        let _ = full;
                        Ex::err()
                    }
                    Ty::TypeName(t) => {
                        let t = (**t).clone();
                        let tables = crate::lib_core::tables(&t);
                        let cands: Vec<Member> = tables
                            .iter()
                            .flat_map(|tb| tb.iter())
                            .filter(|m| m.name == name && m.stat && m.kind == Kind::Method)
                            .copied()
                            .collect();
                        if cands.is_empty() {
                            if tables
                                .iter()
                                .any(|tb| tb.iter().any(|m| m.name == name && m.kind == Kind::Prop))
                            {
                                self.member_diag("CS1955", &t, name, *name_span);
                            } else if is_disallowed_member(&t, name) {
                                self.member_diag("APIM0003", &t, name, *name_span);
                            } else {
                                self.member_diag("CS0117", &t, name, *name_span);
                            }
                            for a in args {
                                self.expr(&a.value);
                            }
                            return Ex::err();
                        }
                        match self.resolve_call(&cands, Some(&t), &targs, args, span, name) {
                            Some((m, nodes, ret, outs)) => {
                                Ex::new(mk_call(m.f, nodes, outs, span), ret)
                            }
                            None => Ex::err(),
                        }
                    }
                    _ => {
                        if *conditional {
                            if !rx.ty.accepts_null() {
                                self.bad_unary("?", span, &rx.ty);
                                return Ex::err();
                            }
                            let slot = self.temp();
                            let inner = Ex::new(Node::Local(slot), strip_nullable(&rx.ty));
                            let r = self.instance_call(inner, name, *name_span, &targs, args, span);
                            if r.ty == Ty::Void {
                                return Ex::new(
                                    Node::CondAccess(bx(rx.node), slot, bx(r.node)),
                                    Ty::Void,
                                );
                            }
                            let ty = lift_nullable(&r.ty);
                            return Ex::new(Node::CondAccess(bx(rx.node), slot, bx(r.node)), ty);
                        }
                        self.instance_call(rx, name, *name_span, &targs, args, span)
                    }
                }
            }
            ExprKind::Name(name, type_args) if self.lookup_local(name).is_none() => {
                let _ = type_args;
                if name == "nameof" {
                    // `nameof(x)` / `nameof(a.b)`: the last simple name, as a constant.
                    let last = match args.first().map(|a| &a.value.kind) {
                        Some(ExprKind::Name(n, _)) => Some(n.clone()),
                        Some(ExprKind::Member { name, .. }) => Some(name.clone()),
                        _ => None,
                    };
                    match (args.len(), last) {
                        (1, Some(n)) => {
                            if matches!(args[0].value.kind, ExprKind::Name(..)) {
                                self.expr(&args[0].value);
                            }
                            return Ex::new(Node::Const(Value::string(n)), Ty::String);
                        }
                        _ => self.diag("CS8081", target.span, "Expression does not have a name"),
                    }
                } else {
                    self.diag(
                        "CS0103",
                        target.span,
                        format!("The name '{name}' does not exist in the current context"),
                    );
                }
                for a in args {
                    self.expr(&a.value);
                }
                Ex::err()
            }
            _ => {
                let fx = self.value(target);
                if let Ty::Gen(Gen::Func, a) = &fx.ty {
                    if a.len() == args.len() + 1 {
                        let mut nodes = Vec::new();
                        for (arg, pt) in args.iter().zip(a.iter()) {
                            let x = self.value(&arg.value);
                            nodes.push(self.coerce(x, pt, arg.span));
                        }
                        let ret = a[a.len() - 1].clone();
                        return Ex::new(Node::Invoke(bx(fx.node), nodes), ret);
                    }
                }
                if !fx.ty.is_error() {
                    self.diag("CS0149", target.span, "Method name expected");
                }
                Ex::err()
            }
        }
    }

    fn instance_call(
        &mut self,
        rx: Ex,
        name: &str,
        name_span: Span,
        targs: &[Ty],
        args: &[Arg],
        span: Span,
    ) -> Ex {
        let rt = rx.ty.clone();
        if matches!(rt, Ty::Void | Ty::Null | Ty::Lambda(_)) {
            self.no_member(&rt, name, name_span);
            return Ex::err();
        }
        // host methods
        if let Ty::Named(c) = &rt {
            if let Some(r) = self.host_call(*c, &rx, name, name_span, targs, args, span) {
                return r;
            }
            if host::property(*c, name).is_some() {
                self.member_diag("CS1955", &rt, name, name_span);
                for a in args {
                    self.expr(&a.value);
                }
                return Ex::err();
            }
        }
        let tables = crate::lib_core::tables(&rt);
        let mut cands: Vec<Member> = tables
            .iter()
            .flat_map(|tb| tb.iter())
            .filter(|m| m.name == name && !m.stat && m.kind == Kind::Method)
            .copied()
            .collect();
        let mut is_ext = false;
        if cands.is_empty() {
            cands = crate::lib_core::extension_tables(&rt)
                .iter()
                .flat_map(|tb| tb.iter())
                .filter(|m| m.name == name)
                .copied()
                .collect();
            is_ext = !cands.is_empty();
        }
        if cands.is_empty() {
            if tables
                .iter()
                .any(|tb| tb.iter().any(|m| m.name == name && m.kind == Kind::Prop))
            {
                self.member_diag("CS1955", &rt, name, name_span);
            } else {
                self.no_member(&rt, name, name_span);
            }
            for a in args {
                self.expr(&a.value);
            }
            return Ex::err();
        }
        // APIM's AsJwt/AsBasic/TryParse* are extension methods: a null receiver is allowed
        let apim_ext = rt == Ty::String
            && matches!(name, "AsJwt" | "AsBasic" | "TryParseJwt" | "TryParseBasic");
        let recv_node = if is_ext || apim_ext {
            rx.node
        } else {
            null_checked(rx.node, &rt, span)
        };
        match self.resolve_call(&cands, Some(&rt), targs, args, span, name) {
            Some((m, nodes, ret, outs)) => {
                let mut all = vec![recv_node];
                all.extend(nodes);
                let outs = outs.into_iter().map(|(i, p)| (i + 1, p)).collect();
                Ex::new(mk_call(m.f, all, outs, span), ret)
            }
            None => Ex::err(),
        }
    }

    /// `body.As<T>(preserveContent)` and `body.AsFormUrlEncodedContent(preserveContent)`: at most
    /// one argument, a bool named `preserveContent` when named.
    #[allow(clippy::too_many_arguments)]
    fn body_as(
        &mut self,
        rx: &Ex,
        method: &str,
        target: BodyTarget,
        ty: Ty,
        args: &[Arg],
        name_span: Span,
        span: Span,
    ) -> Option<Ex> {
        if args.len() > 1 {
            let msg = format!(
                "No overload for method '{method}' takes {} arguments",
                args.len()
            );
            self.diag("CS1501", name_span, msg);
            return Some(Ex::err());
        }
        let preserve = match args.first() {
            Some(a) => {
                if let Some(n) = &a.name
                    && n != "preserveContent"
                {
                    let msg = format!(
                        "The best overload for '{method}' does not have a parameter named '{n}'"
                    );
                    self.diag("CS1739", a.span, msg);
                }
                let x = self.value(&a.value);
                self.coerce(x, &Ty::Bool, a.span)
            }
            None => Node::Const(Value::Bool(false)),
        };
        let node = Node::HostCall(
            bx(rx.node.clone()),
            HostMember::BodyAs(target),
            vec![preserve],
            span,
        );
        Some(Ex::new(node, ty))
    }

    #[allow(clippy::too_many_arguments)]
    fn host_call(
        &mut self,
        c: Cls,
        rx: &Ex,
        name: &str,
        name_span: Span,
        targs: &[Ty],
        args: &[Arg],
        span: Span,
    ) -> Option<Ex> {
        match (c, name) {
            (Cls::Context, "Trace") => {
                if args.len() != 1 {
                    self.diag(
                        "CS1501",
                        name_span,
                        format!(
                            "No overload for method 'Trace' takes {} arguments",
                            args.len()
                        ),
                    );
                    return Some(Ex::err());
                }
                let x = self.value(&args[0].value);
                let n = self.coerce(x, &Ty::String, args[0].span);
                Some(Ex::new(
                    Node::HostCall(bx(rx.node.clone()), HostMember::Trace, vec![n], span),
                    Ty::Void,
                ))
            }
            (Cls::Url, "ToString") if args.is_empty() => Some(Ex::new(
                Node::HostCall(bx(rx.node.clone()), HostMember::UrlToString, vec![], span),
                Ty::String,
            )),
            (Cls::MessageBody, "As") => {
                if targs.len() != 1 {
                    self.diag("CS0411", name_span, "The type arguments for method 'IMessageBody.As<T>(bool)' cannot be inferred from the usage. Try specifying the type arguments explicitly.");
                    return Some(Ex::err());
                }
                let (target, ty) = match &targs[0] {
                    Ty::String => (BodyTarget::String, Ty::String),
                    Ty::Array(e) if **e == Ty::U8 => (BodyTarget::Bytes, targs[0].clone()),
                    Ty::Named(Cls::JObject) => (BodyTarget::JObject, targs[0].clone()),
                    Ty::Named(Cls::JArray) => (BodyTarget::JArray, targs[0].clone()),
                    Ty::Named(Cls::JToken) => (BodyTarget::JToken, targs[0].clone()),
                    Ty::Named(Cls::XDocument) => (BodyTarget::XDocument, targs[0].clone()),
                    Ty::Named(Cls::XElement) => (BodyTarget::XElement, targs[0].clone()),
                    Ty::Error => return Some(Ex::err()),
                    t => {
                        self.diag("APIM0005", name_span, format!("IMessageBody.As<T> does not support type '{}' (string, byte[], JObject, JArray, JToken, XDocument, XElement)", t.name()));
                        return Some(Ex::err());
                    }
                };
                self.body_as(rx, "As", target, ty, args, name_span, span)
            }
            (Cls::MessageBody, "AsFormUrlEncodedContent") => {
                let ty = Ty::generic(
                    Gen::IDictionary,
                    vec![Ty::String, Ty::generic(Gen::IList, vec![Ty::String])],
                );
                let target = BodyTarget::FormUrlEncoded;
                self.body_as(
                    rx,
                    "AsFormUrlEncodedContent",
                    target,
                    ty,
                    args,
                    name_span,
                    span,
                )
            }
            (Cls::Url, "ToUri") if args.is_empty() => Some(Ex::new(
                Node::Native {
                    f: crate::lib_misc::uri_from_string,
                    args: vec![Node::HostCall(
                        bx(rx.node.clone()),
                        HostMember::UrlToString,
                        vec![],
                        span,
                    )],
                    span,
                },
                Ty::Named(Cls::Uri),
            )),
            _ => None,
        }
    }

    /// Overload resolution; returns the member, converted argument nodes (plus trailing type
    /// arguments for generic members), the return type and `out` places.
    fn resolve_call(
        &mut self,
        cands: &[Member],
        recv: Option<&Ty>,
        targs: &[Ty],
        args: &[Arg],
        span: Span,
        name: &str,
    ) -> Option<Resolved> {
        // check non-lambda arguments once
        let mut pre: Vec<Option<Ex>> = Vec::new();
        for a in args {
            match (&a.value.kind, &a.kind) {
                (ExprKind::Lambda { .. }, _) => pre.push(None),
                (_, ArgKind::OutDecl(..)) => pre.push(None),
                (_, ArgKind::Out) => pre.push(None),
                _ => pre.push(Some(self.value(&a.value))),
            }
        }
        if pre.iter().flatten().any(|x| x.ty.is_error()) {
            return None;
        }
        let mut best: Option<Candidate> = None;
        let mut ambiguous = false;
        let mut first_mismatch: Option<(usize, Ty, Ty)> = None;
        let mut arity_ok = false;
        for m in cands {
            // map arguments to parameter positions
            let Some(order) = map_args(m, args) else {
                continue;
            };
            let has_params = is_expanded(m, args, &pre);
            if !targs.is_empty() && targs.len() != m.targs as usize {
                continue;
            }
            arity_ok = true;
            let mut margs: Vec<Option<Ty>> = if targs.is_empty() {
                vec![None; m.targs as usize]
            } else {
                targs.iter().cloned().map(Some).collect()
            };
            let mut score = 0;
            let mut ok = true;
            // first pass: infer from non-lambda arguments
            for (ai, pi) in order.iter().enumerate() {
                if let Some(x) = &pre[ai] {
                    let p = param_at(m, *pi, has_params, args.len());
                    infer(&p, &x.ty, &mut margs);
                }
            }
            let saved_diags = self.diags.len();
            let saved_lambdas = self.lambdas.len();
            for (ai, pi) in order.iter().enumerate() {
                let p = param_at(m, *pi, has_params, args.len());
                let out_param = *pi < 8 && m.outs & (1 << *pi) != 0;
                let is_out_arg = matches!(args[ai].kind, ArgKind::Out | ArgKind::OutDecl(..));
                if out_param != is_out_arg {
                    ok = false;
                    break;
                }
                if let Some(x) = &pre[ai] {
                    let Some(pt) = p.resolve(&Subst {
                        recv,
                        margs: &margs,
                    }) else {
                        ok = false;
                        break;
                    };
                    if matches!(p, P::Num) {
                        if strip_nullable(&x.ty).is_numeric() {
                            score += 1;
                            continue;
                        }
                        ok = false;
                        break;
                    }
                    match self.implicit(&x.ty, &pt, x.konst.as_ref()) {
                        Some(Conv::Identity) if x.ty == pt => score += 2,
                        Some(_) => score += 1,
                        None => {
                            if first_mismatch.is_none() {
                                first_mismatch = Some((ai, x.ty.clone(), pt));
                            }
                            ok = false;
                            break;
                        }
                    }
                } else if let ExprKind::Lambda { params, body } = &args[ai].value.kind {
                    let P::Func(fps, fret) = p else {
                        ok = false;
                        break;
                    };
                    if fps.len() != params.len() {
                        ok = false;
                        break;
                    }
                    let mut ptys = Vec::new();
                    for fp in fps.iter() {
                        match fp.resolve(&Subst {
                            recv,
                            margs: &margs,
                        }) {
                            Some(t) => ptys.push(t),
                            None => {
                                ok = false;
                                break;
                            }
                        }
                    }
                    if !ok {
                        break;
                    }
                    let Some((_, ret)) = self.check_lambda(params, body, &ptys) else {
                        ok = false;
                        break;
                    };
                    self.diags.truncate(saved_diags);
                    infer(fret, &ret, &mut margs);
                    match fret.resolve(&Subst {
                        recv,
                        margs: &margs,
                    }) {
                        Some(want) => match self.implicit(&ret, &want, None) {
                            Some(Conv::Identity) if ret == want => score += 2,
                            Some(_) => score += 1,
                            None => {
                                ok = false;
                                break;
                            }
                        },
                        None => {
                            ok = false;
                            break;
                        }
                    }
                }
            }
            self.diags.truncate(saved_diags);
            self.lambdas.truncate(saved_lambdas);
            if !ok || margs.iter().any(|m| m.is_none()) {
                continue;
            }
            // prefer non-params forms
            if matches!(m.params.last(), Some(P::Params(_))) {
                score -= 1;
            }
            match &best {
                Some((s, ..)) if *s > score => {}
                Some((s, ..)) if *s == score => ambiguous = true,
                _ => {
                    ambiguous = false;
                    best = Some((score, *m, margs, order));
                }
            }
        }
        let _ = ambiguous;
        let Some((_, m, margs, order)) = best else {
            if !arity_ok {
                if cands.iter().all(|c| c.targs > 0) && targs.is_empty() {
                    self.diag("CS0411", span, format!("The type arguments for method '{name}' cannot be inferred from the usage. Try specifying the type arguments explicitly."));
                } else {
                    self.diag(
                        "CS1501",
                        span,
                        format!(
                            "No overload for method '{}' takes {} arguments",
                            name,
                            args.len()
                        ),
                    );
                }
            } else if let Some((ai, from, to)) = first_mismatch {
                self.diag(
                    "CS1503",
                    args[ai].span,
                    format!(
                        "Argument {}: cannot convert from '{}' to '{}'",
                        ai + 1,
                        from.name(),
                        to.name()
                    ),
                );
            } else {
                self.diag(
                    "CS1502",
                    span,
                    format!(
                        "The best overloaded method match for '{name}' has some invalid arguments"
                    ),
                );
            }
            // check lambdas anyway for their own diagnostics? (skipped: types unknown)
            return None;
        };
        // build the argument list in parameter order
        let has_params = matches!(m.params.last(), Some(P::Params(_)));
        let nfixed = if has_params {
            m.params.len() - 1
        } else {
            m.params.len()
        };
        let mut fixed: Vec<Option<Node>> = vec![None; nfixed];
        let mut rest: Vec<Node> = Vec::new();
        let mut outs = Vec::new();
        let expanded = is_expanded(&m, args, &pre);
        let mut pre = pre;
        for (ai, pi) in order.iter().enumerate() {
            let p = param_at(&m, *pi, expanded, args.len());
            let pt = p
                .resolve(&Subst {
                    recv,
                    margs: &margs,
                })
                .unwrap_or(Ty::Error);
            let node = match (&args[ai].kind, pre[ai].take()) {
                (ArgKind::OutDecl(t, n), _) => {
                    let ty = if t.is_var() {
                        pt.clone()
                    } else {
                        self.resolve_type(t)
                    };
                    self.check_out_arg(ai, &ty, &pt, args[ai].span);
                    let slot = self.declare(n, ty, args[ai].value.span, true);
                    outs.push((*pi, Place::Local(slot)));
                    Node::Const(crate::interp::default_value(&pt))
                }
                (ArgKind::Out, _) => {
                    if let Some((place, ty)) = self.place(&args[ai].value) {
                        self.check_out_arg(ai, &ty, &pt, args[ai].span);
                        if let Place::Local(s) = &place {
                            self.mark_assigned(*s);
                        }
                        outs.push((*pi, place));
                    }
                    Node::Const(crate::interp::default_value(&pt))
                }
                (_, Some(x)) => {
                    if matches!(p, P::Num) {
                        x.node
                    } else {
                        self.coerce(x, &pt, args[ai].span)
                    }
                }
                (_, None) => {
                    let x = self.expr_expecting(&args[ai].value, &pt);
                    x.node
                }
            };
            if *pi < nfixed {
                fixed[*pi] = Some(node);
            } else {
                rest.push(node);
            }
        }
        let mut nodes: Vec<Node> = fixed
            .into_iter()
            .map(|n| n.unwrap_or(Node::Const(Value::Null)))
            .collect();
        if has_params {
            if expanded {
                let et = match m.params.last() {
                    Some(P::Params(e)) => e
                        .resolve(&Subst {
                            recv,
                            margs: &margs,
                        })
                        .unwrap_or(Ty::Object),
                    _ => Ty::Object,
                };
                nodes.push(Node::NewArray(et, rest));
            } else {
                nodes.extend(rest);
            }
        }
        for t in margs.iter().flatten() {
            nodes.push(Node::Const(Value::Type(Arc::new(t.clone()))));
        }
        let ret = m
            .ret
            .resolve(&Subst {
                recv,
                margs: &margs,
            })
            .unwrap_or(Ty::Error);
        Some((m, nodes, ret, outs))
    }

    /// Checks a lambda body with the given parameter types; returns its code and return type.
    fn check_lambda(
        &mut self,
        params: &[LambdaParam],
        body: &ast::LambdaBody,
        ptys: &[Ty],
    ) -> Option<(LambdaCode, Ty)> {
        self.push_scope();
        let mut slots = Vec::new();
        for (p, t) in params.iter().zip(ptys) {
            let ty = match &p.ty {
                Some(tr) => self.resolve_type(tr),
                None => t.clone(),
            };
            slots.push(self.declare(&p.name, ty, p.span, true));
        }
        let saved_flow = self.flow.clone();
        let saved_loops = std::mem::replace(&mut self.loops, 0);
        let r = match body {
            ast::LambdaBody::Expr(e) => {
                let x = self.expr(e);
                let ty = x.ty.clone();
                Some((
                    LambdaCode {
                        params: slots,
                        body: crate::code::LambdaBody::Expr(x.node),
                    },
                    ty,
                ))
            }
            ast::LambdaBody::Block(s) => {
                self.lambda_stack.push(LambdaCtx {
                    returns: Vec::new(),
                });
                self.flow.reachable = true;
                let st = self.stmt(s);
                let ctx = self.lambda_stack.pop();
                let rets = ctx.map(|c| c.returns).unwrap_or_default();
                let ty = if rets.is_empty() {
                    Ty::Void
                } else {
                    let mut best = rets[0].clone();
                    for r in &rets[1..] {
                        if self.implicit(&best, r, None).is_some() && best != *r {
                            best = r.clone();
                        }
                    }
                    best
                };
                if self.flow.reachable && ty != Ty::Void {
                    self.diag(
                        "CS1643",
                        s.span,
                        "Not all code paths return a value in lambda expression",
                    );
                }
                Some((
                    LambdaCode {
                        params: slots,
                        body: crate::code::LambdaBody::Block(st),
                    },
                    ty,
                ))
            }
        };
        self.loops = saved_loops;
        self.flow = saved_flow;
        self.pop_scope();
        r
    }

    // ---------------------------------------------------------------- statements
    fn block(&mut self, stmts: &[Stmt]) -> St {
        self.push_scope();
        let mut out = Vec::new();
        for s in stmts {
            out.push(self.stmt(s));
        }
        self.pop_scope();
        St::Block(out)
    }

    fn stmt(&mut self, s: &Stmt) -> St {
        match &s.kind {
            StmtKind::Block(ss) => self.block(ss),
            StmtKind::Empty => St::Block(vec![]),
            StmtKind::Decl(t, decls) => {
                let mut out = Vec::new();
                let declared = if t.is_var() {
                    None
                } else {
                    Some(self.resolve_type(t))
                };
                if t.is_var() && decls.len() > 1 {
                    self.diag(
                        "CS0819",
                        s.span,
                        "Implicitly-typed variables cannot have multiple declarators",
                    );
                }
                for d in decls {
                    match (&declared, &d.init) {
                        (None, None) => {
                            self.diag(
                                "CS0818",
                                d.span,
                                "Implicitly-typed variables must be initialized",
                            );
                            self.declare(&d.name, Ty::Error, d.span, true);
                        }
                        (None, Some(init)) => {
                            let x = self.value(init);
                            let ty = match &x.ty {
                                Ty::Null | Ty::Void | Ty::Lambda(_) => {
                                    self.diag(
                                        "CS0815",
                                        d.span,
                                        format!(
                                            "Cannot assign {} to an implicitly-typed variable",
                                            x.ty.name()
                                        ),
                                    );
                                    Ty::Error
                                }
                                t => t.clone(),
                            };
                            let slot = self.declare(&d.name, ty, d.span, true);
                            out.push(St::Expr(Node::Assign(Place::Local(slot), bx(x.node))));
                        }
                        (Some(ty), None) => {
                            self.declare(&d.name, ty.clone(), d.span, false);
                        }
                        (Some(ty), Some(init)) => {
                            let x = self.expr_expecting(init, ty);
                            let n = self.coerce(x, ty, init.span);
                            let slot = self.declare(&d.name, ty.clone(), d.span, true);
                            out.push(St::Expr(Node::Assign(Place::Local(slot), bx(n))));
                        }
                    }
                }
                St::Block(out)
            }
            StmtKind::Expr(e) => {
                let ok = matches!(
                    &e.kind,
                    ExprKind::Call { .. }
                        | ExprKind::Assign { .. }
                        | ExprKind::New { .. }
                        | ExprKind::Unary(
                            UnOp::PreInc | UnOp::PreDec | UnOp::PostInc | UnOp::PostDec,
                            _
                        )
                ) || matches!(
                    &e.kind,
                    ExprKind::Member {
                        conditional: true,
                        ..
                    }
                );
                let x = self.expr(e);
                if !ok && !x.ty.is_error() {
                    self.diag("CS0201", e.span, "Only assignment, call, increment, decrement, and new object expressions can be used as a statement");
                }
                St::Expr(x.node)
            }
            StmtKind::If(c, a, b) => {
                let cx = self.value(c);
                let konst = cx.konst.clone();
                let cn = self.coerce(cx, &Ty::Bool, c.span);
                let before = self.flow.clone();
                let an = self.embedded(a);
                let fa = std::mem::replace(&mut self.flow, before);
                let bn = b.as_ref().map(|b| Box::new(self.embedded(b)));
                let fb = self.flow.clone();
                self.flow = match konst {
                    Some(Value::Bool(true)) => fa,
                    Some(Value::Bool(false)) => fb,
                    _ => Flow::join(&fa, &fb),
                };
                St::If(cn, Box::new(an), bn)
            }
            StmtKind::While(c, body) => {
                let cx = self.value(c);
                let always = matches!(cx.konst, Some(Value::Bool(true)));
                let cn = self.coerce(cx, &Ty::Bool, c.span);
                let before = self.flow.clone();
                let (bn, _) = self.loop_body(body);
                self.flow = self.after_loop(&before, always);
                St::While(cn, Box::new(bn))
            }
            StmtKind::DoWhile(body, c) => {
                let before = self.flow.clone();
                let (bn, broke) = self.loop_body(body);
                let cx = self.value(c);
                let always = matches!(cx.konst, Some(Value::Bool(true)));
                let cn = self.coerce(cx, &Ty::Bool, c.span);
                let end_of_body = self.flow.clone();
                self.flow = if always {
                    self.after_loop(&before, true)
                } else if broke {
                    self.after_loop(&end_of_body, false)
                } else {
                    end_of_body
                };
                let _ = before;
                St::DoWhile(Box::new(bn), cn)
            }
            StmtKind::For {
                init,
                cond,
                iter,
                body,
            } => {
                self.push_scope();
                let inits: Vec<St> = init.iter().map(|s| self.stmt(s)).collect();
                let (cn, always) = match cond {
                    Some(c) => {
                        let cx = self.value(c);
                        let always = matches!(cx.konst, Some(Value::Bool(true)));
                        (Some(self.coerce(cx, &Ty::Bool, c.span)), always)
                    }
                    None => (None, true),
                };
                let before = self.flow.clone();
                let (bn, _) = self.loop_body(body);
                let breaks = std::mem::take(&mut self.last_loop_breaks);
                let its: Vec<Node> = iter.iter().map(|e| self.expr(e).node).collect();
                self.last_loop_breaks = breaks;
                self.flow = self.after_loop(&before, always);
                self.pop_scope();
                St::For(inits, cn, its, Box::new(bn))
            }
            StmtKind::Foreach {
                ty,
                name,
                name_span,
                coll,
                body,
            } => {
                let cx = self.value(coll);
                let elem = match cx.ty.element() {
                    Some(t) => t,
                    None => {
                        if !cx.ty.is_error() {
                            self.diag("CS1579", coll.span, format!("foreach statement cannot operate on variables of type '{}' because '{}' does not contain a public instance definition for 'GetEnumerator'", cx.ty.name(), cx.ty.name()));
                        }
                        Ty::Error
                    }
                };
                let (var_ty, conv) = if ty.is_var() {
                    (elem.clone(), None)
                } else {
                    let t = self.resolve_type(ty);
                    let conv = match self.explicit(&elem, &t) {
                        Some(Conv::Identity) => None,
                        Some(c) => Some(c),
                        None => {
                            if !elem.is_error() && !t.is_error() {
                                self.diag(
                                    "CS0030",
                                    ty.span,
                                    format!(
                                        "Cannot convert type '{}' to '{}'",
                                        elem.name(),
                                        t.name()
                                    ),
                                );
                            }
                            None
                        }
                    };
                    (t, conv)
                };
                self.push_scope();
                let slot = self.declare(name, var_ty, *name_span, true);
                let before = self.flow.clone();
                let (bn, _) = self.loop_body(body);
                self.flow = before;
                self.pop_scope();
                St::Foreach {
                    coll: cx.node,
                    slot,
                    conv,
                    body: Box::new(bn),
                    span: coll.span,
                }
            }
            StmtKind::Switch(e, sections) => {
                let x = self.value(e);
                let gty = x.ty.clone();
                let okty = matches!(strip_nullable(&gty), Ty::String | Ty::Bool | Ty::Char)
                    || strip_nullable(&gty).is_integral()
                    || strip_nullable(&gty).is_enum()
                    || gty.is_error();
                if !okty {
                    self.diag("CS0151", e.span, format!("A switch expression or case label must be a bool, char, string, integral, enum, or corresponding nullable type in C# 6 and earlier (got '{}')", gty.name()));
                }
                let before = self.flow.clone();
                let mut labels: Vec<(Value, usize)> = Vec::new();
                let mut default = None;
                let mut bodies = Vec::new();
                let mut end = before.unreachable();
                self.break_flows.push(Vec::new());
                for (i, sec) in sections.iter().enumerate() {
                    for l in &sec.labels {
                        match l {
                            None => default = Some(i),
                            Some(le) => {
                                let lx = self.value(le);
                                let v = match &lx.konst {
                                    Some(v) => {
                                        let conv =
                                            self.implicit(&lx.ty, &strip_nullable(&gty), Some(v));
                                        match conv {
                                            Some(Conv::Numeric(t, _)) => {
                                                crate::interp::convert_numeric(v, &t, false)
                                                    .unwrap_or(Value::Null)
                                            }
                                            Some(_) => v.clone(),
                                            None => {
                                                if !gty.is_error() {
                                                    self.diag("CS0029", le.span, format!("Cannot implicitly convert type '{}' to '{}'", lx.ty.name(), gty.name()));
                                                }
                                                Value::Null
                                            }
                                        }
                                    }
                                    None => {
                                        self.diag(
                                            "CS0150",
                                            le.span,
                                            "A constant value is expected",
                                        );
                                        Value::Null
                                    }
                                };
                                if labels
                                    .iter()
                                    .any(|(x, _)| crate::interp::values_equal(x, &v))
                                {
                                    self.diag("CS0152", le.span, "The switch statement contains multiple cases with the same label value");
                                }
                                labels.push((v, i));
                            }
                        }
                    }
                    self.flow = before.clone();
                    self.loops += 1; // `break` leaves the switch
                    self.push_scope();
                    let saved_breaks = self.flow.clone();
                    let body: Vec<St> = sec.body.iter().map(|s| self.stmt(s)).collect();
                    let _ = saved_breaks;
                    self.pop_scope();
                    self.loops -= 1;
                    if self.flow.reachable {
                        self.diag(
                            "CS0163",
                            sec.span,
                            "Control cannot fall through from one case label to another",
                        );
                    }
                    bodies.push(body);
                }
                for f in self.break_flows.pop().unwrap_or_default() {
                    end = Flow::join(&end, &f);
                }
                if default.is_none() {
                    end = Flow::join(&end, &before);
                }
                self.flow = end;
                St::Switch {
                    value: x.node,
                    labels,
                    default,
                    bodies,
                }
            }
            StmtKind::Break | StmtKind::Continue => {
                if matches!(s.kind, StmtKind::Break) {
                    let f = self.flow.clone();
                    if let Some(v) = self.break_flows.last_mut() {
                        v.push(f);
                    }
                }
                if self.loops == 0 {
                    self.diag(
                        "CS0139",
                        s.span,
                        "No enclosing loop out of which to break or continue",
                    );
                }
                self.flow = self.flow.unreachable();
                if matches!(s.kind, StmtKind::Break) {
                    St::Break
                } else {
                    St::Continue
                }
            }
            StmtKind::Return(e) => {
                let st = match e {
                    Some(e) => {
                        let x = self.value(e);
                        if let Some(ctx) = self.lambda_stack.last_mut() {
                            ctx.returns.push(x.ty.clone());
                        } else if matches!(x.ty, Ty::Void | Ty::Lambda(_)) {
                            self.diag(
                                "CS0029",
                                e.span,
                                format!(
                                    "Cannot implicitly convert type '{}' to 'object'",
                                    x.ty.name()
                                ),
                            );
                        }
                        St::Return(x.node)
                    }
                    None => {
                        if self.lambda_stack.is_empty() {
                            self.diag(
                                "CS0126",
                                s.span,
                                "An object of a type convertible to 'object' is required",
                            );
                        }
                        St::Return(Node::Const(Value::Null))
                    }
                };
                self.flow = self.flow.unreachable();
                st
            }
            StmtKind::Throw(e) => {
                let n = match e {
                    Some(e) => {
                        let x = self.value(e);
                        if !matches!(&x.ty, Ty::Named(Cls::Exception(_))) && !x.ty.is_error() {
                            self.diag(
                                "CS0155",
                                e.span,
                                "The type caught or thrown must be derived from System.Exception",
                            );
                        }
                        Some(x.node)
                    }
                    None => {
                        if self.catch_depth == 0 {
                            self.diag("CS0156", s.span, "A throw statement with no arguments is not allowed outside of a catch clause");
                        }
                        None
                    }
                };
                self.flow = self.flow.unreachable();
                St::Throw(n, s.span)
            }
            StmtKind::Try {
                body,
                catches,
                finally,
            } => {
                let before = self.flow.clone();
                let b = self.stmt(body);
                let mut end = self.flow.clone();
                let mut cs = Vec::new();
                for c in catches {
                    self.flow = before.clone();
                    self.push_scope();
                    let exc = match &c.ty {
                        Some(t) => match self.resolve_type(t) {
                            Ty::Named(Cls::Exception(e)) => e,
                            Ty::Error => Exc::Exception,
                            other => {
                                self.diag("CS0155", t.span, format!("The type caught or thrown must be derived from System.Exception (got '{}')", other.name()));
                                Exc::Exception
                            }
                        },
                        None => Exc::Exception,
                    };
                    let slot = c
                        .name
                        .as_ref()
                        .map(|(n, sp)| self.declare(n, Ty::Named(Cls::Exception(exc)), *sp, true));
                    let filter = c.filter.as_ref().map(|f| {
                        let x = self.value(f);
                        self.coerce(x, &Ty::Bool, f.span)
                    });
                    self.catch_depth += 1;
                    let cb = self.stmt(&c.body);
                    self.catch_depth -= 1;
                    self.pop_scope();
                    end = Flow::join(&end, &self.flow);
                    cs.push(Catch {
                        exc,
                        slot,
                        filter,
                        body: cb,
                    });
                }
                let fin = finally.as_ref().map(|f| {
                    self.flow = before.clone();
                    Box::new(self.stmt(f))
                });
                let fin_reach = self.flow.reachable;
                self.flow = end;
                if fin.is_some() && !fin_reach {
                    self.flow = self.flow.unreachable();
                }
                St::Try {
                    body: Box::new(b),
                    catches: cs,
                    finally: fin,
                }
            }
            StmtKind::Using(res, body) => {
                self.push_scope();
                let r = self.stmt(res);
                let b = self.stmt(body);
                self.pop_scope();
                St::Block(vec![r, b])
            }
            StmtKind::Checked(c, b) => {
                let saved = (self.checked, self.explicit_unchecked);
                self.checked = *c;
                self.explicit_unchecked = !*c;
                let r = self.stmt(b);
                (self.checked, self.explicit_unchecked) = saved;
                St::Checked(Box::new(r))
            }
        }
    }

    fn embedded(&mut self, s: &Stmt) -> St {
        if matches!(s.kind, StmtKind::Decl(..)) {
            self.diag(
                "CS1023",
                s.span,
                "Embedded statement cannot be a declaration or labeled statement",
            );
        }
        self.push_scope();
        let r = self.stmt(s);
        self.pop_scope();
        r
    }

    /// Returns the body and whether it contains a `break` for this loop.
    /// Flow after a loop: the joined `break` states, plus the state before the loop when the
    /// condition can be false.
    fn after_loop(&self, before: &Flow, always: bool) -> Flow {
        let mut f = if always {
            before.unreachable()
        } else {
            before.clone()
        };
        for b in &self.last_loop_breaks {
            f = Flow::join(&f, b);
        }
        f
    }

    fn loop_body(&mut self, body: &Stmt) -> (St, bool) {
        self.loops += 1;
        self.break_flows.push(Vec::new());
        let r = self.embedded(body);
        let breaks = self.break_flows.pop().unwrap_or_default();
        self.loops -= 1;
        self.last_loop_breaks = breaks;
        let broke = !self.last_loop_breaks.is_empty();
        (r, broke)
    }
}

fn mk_call(f: NativeFn, args: Vec<Node>, outs: Vec<(usize, Place)>, span: Span) -> Node {
    if outs.is_empty() {
        Node::Native { f, args, span }
    } else {
        Node::NativeOut {
            f,
            args,
            outs,
            span,
        }
    }
}

fn null_checked(n: Node, t: &Ty, span: Span) -> Node {
    // Nullable<T> members (HasValue, Value, GetValueOrDefault) work on null
    if t.is_reference() {
        match n {
            Node::Context => n,
            Node::Const(Value::Str(_)) => n,
            n => Node::NotNull(bx(n), span),
        }
    } else {
        n
    }
}

/// Maps arguments (positional, then named) to parameter indexes.
fn map_args(m: &Member, args: &[Arg]) -> Option<Vec<usize>> {
    let n = m.params.len();
    if matches!(m.params.last(), Some(P::Params(_))) {
        if args.iter().any(|a| a.name.is_some()) || args.len() + 1 < n {
            return None;
        }
        return Some((0..args.len()).collect());
    }
    if args.len() != n {
        return None;
    }
    let mut order = Vec::new();
    let mut used = vec![false; n];
    for (i, a) in args.iter().enumerate() {
        let pi = match &a.name {
            None => i,
            Some(name) => m.names.iter().position(|x| x == name)?,
        };
        if pi >= n || used[pi] {
            return None;
        }
        used[pi] = true;
        order.push(pi);
    }
    Some(order)
}

/// Whether a `params` member is called in expanded form.
fn is_expanded(m: &Member, args: &[Arg], pre: &[Option<Ex>]) -> bool {
    let n = m.params.len();
    if !matches!(m.params.last(), Some(P::Params(_))) {
        return false;
    }
    let _ = args;
    !(pre.len() == n
        && pre
            .last()
            .and_then(|x| x.as_ref())
            .is_some_and(|x| matches!(x.ty, Ty::Array(_) | Ty::Null)))
}

fn param_at(m: &Member, pi: usize, expanded: bool, _nargs: usize) -> P {
    let n = m.params.len();
    if let Some(P::Params(e)) = m.params.last() {
        if pi >= n - 1 {
            return if expanded { **e } else { m.params[n - 1] };
        }
    }
    m.params.get(pi).copied().unwrap_or(P::Obj)
}

/// Binds unbound method type arguments from an argument type.
fn infer(p: &P, actual: &Ty, margs: &mut [Option<Ty>]) {
    match p {
        P::M(i) => {
            if let Some(slot) = margs.get_mut(*i as usize) {
                if slot.is_none() && !matches!(actual, Ty::Null | Ty::Error | Ty::Lambda(_)) {
                    *slot = Some(actual.clone());
                }
            }
        }
        P::Arr(inner) | P::Params(inner) => {
            if let Ty::Array(t) = actual {
                infer(inner, t, margs);
            }
        }
        P::IEnum(inner) => {
            if let Some(e) = actual.element() {
                infer(inner, &e, margs);
            }
        }
        P::Nul(inner) => infer(inner, &strip_nullable(actual), margs),
        _ => {}
    }
}

fn int_lit(v: u64, s: IntSuffix) -> (Value, Ty) {
    match s {
        IntSuffix::None => {
            if v <= i32::MAX as u64 {
                (Value::I32(v as i32), Ty::I32)
            } else if v <= u32::MAX as u64 {
                (Value::U32(v as u32), Ty::U32)
            } else if v <= i64::MAX as u64 {
                (Value::I64(v as i64), Ty::I64)
            } else {
                (Value::U64(v), Ty::U64)
            }
        }
        IntSuffix::U => {
            if v <= u32::MAX as u64 {
                (Value::U32(v as u32), Ty::U32)
            } else {
                (Value::U64(v), Ty::U64)
            }
        }
        IntSuffix::L => {
            if v <= i64::MAX as u64 {
                (Value::I64(v as i64), Ty::I64)
            } else {
                (Value::U64(v), Ty::U64)
            }
        }
        IntSuffix::UL => (Value::U64(v), Ty::U64),
    }
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::I32(i) => Some(*i as i64),
        Value::I64(i) => Some(*i),
        Value::U32(i) => Some(*i as i64),
        _ => None,
    }
}

pub(crate) fn strip_nullable(t: &Ty) -> Ty {
    match t {
        Ty::Nullable(i) => (**i).clone(),
        t => t.clone(),
    }
}

fn lift_nullable(t: &Ty) -> Ty {
    if t.is_value_type() && !matches!(t, Ty::Nullable(_)) {
        Ty::nullable(t.clone())
    } else {
        t.clone()
    }
}

fn rank(t: &Ty) -> u8 {
    match t {
        Ty::I8 => 1,
        Ty::U8 => 2,
        Ty::I16 => 3,
        Ty::U16 => 4,
        Ty::Char => 4,
        Ty::I32 => 5,
        Ty::U32 => 6,
        Ty::I64 => 7,
        Ty::U64 => 8,
        Ty::F32 => 9,
        Ty::F64 => 10,
        Ty::Decimal => 11,
        _ => 0,
    }
}

pub(crate) fn numeric_widening(from: &Ty, to: &Ty) -> bool {
    use Ty::*;
    matches!(
        (from, to),
        (I8, I16 | I32 | I64 | F32 | F64 | Decimal)
            | (U8, I16 | U16 | I32 | U32 | I64 | U64 | F32 | F64 | Decimal)
            | (I16, I32 | I64 | F32 | F64 | Decimal)
            | (U16, I32 | U32 | I64 | U64 | F32 | F64 | Decimal)
            | (Char, U16 | I32 | U32 | I64 | U64 | F32 | F64 | Decimal)
            | (I32, I64 | F32 | F64 | Decimal)
            | (U32, I64 | U64 | F32 | F64 | Decimal)
            | (I64 | U64, F32 | F64 | Decimal)
            | (F32, F64)
    )
}

/// Binary numeric promotion (C# §12.4.7.3).
pub(crate) fn promote(a: &Ty, b: &Ty) -> Option<Ty> {
    use Ty::*;
    if *a == Decimal || *b == Decimal {
        if matches!(a, F32 | F64) || matches!(b, F32 | F64) {
            return None;
        }
        return Some(Decimal);
    }
    if *a == F64 || *b == F64 {
        return Some(F64);
    }
    if *a == F32 || *b == F32 {
        return Some(F32);
    }
    if *a == U64 || *b == U64 {
        let other = if *a == U64 { b } else { a };
        if matches!(other, I8 | I16 | I32 | I64) {
            return None;
        }
        return Some(U64);
    }
    if *a == I64 || *b == I64 {
        return Some(I64);
    }
    if *a == U32 || *b == U32 {
        let other = if *a == U32 { b } else { a };
        if matches!(other, I8 | I16 | I32) {
            return Some(I64);
        }
        return Some(U32);
    }
    let _ = rank;
    Some(I32)
}

fn cls_is_a(a: Cls, b: Cls) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Cls::JObject | Cls::JArray | Cls::JProperty, Cls::JContainer) => true,
        (
            Cls::JObject | Cls::JArray | Cls::JProperty | Cls::JValue | Cls::JContainer,
            Cls::JToken,
        ) => true,
        (Cls::Exception(x), Cls::Exception(y)) => x.is_a(y),
        (Cls::Match, Cls::Group) | (Cls::Match | Cls::Group, Cls::Capture) => true,
        (Cls::XDocument | Cls::XElement, Cls::XName) => false,
        _ => false,
    }
}

fn is_interface(t: &Ty) -> bool {
    match t {
        Ty::Gen(g, _) => matches!(
            g,
            Gen::IEnumerable
                | Gen::IList
                | Gen::ICollection
                | Gen::IDictionary
                | Gen::IReadOnlyDictionary
                | Gen::IReadOnlyCollection
                | Gen::ISet
        ),
        Ty::Named(c) => host::is_context_class(*c),
        _ => false,
    }
}

fn json_implicit_source(t: &Ty) -> bool {
    let u = strip_nullable(t);
    u.is_numeric() && u != Ty::Char
        || matches!(
            u,
            Ty::Bool
                | Ty::String
                | Ty::Named(Cls::DateTime | Cls::DateTimeOffset | Cls::Guid | Cls::TimeSpan)
        )
        || matches!(&u, Ty::Array(e) if **e == Ty::U8)
}

fn json_explicit_target(t: &Ty) -> bool {
    let u = strip_nullable(t);
    (u.is_numeric())
        || matches!(
            u,
            Ty::Bool
                | Ty::String
                | Ty::Named(Cls::DateTime | Cls::DateTimeOffset | Cls::Guid | Cls::TimeSpan)
        )
        || matches!(&u, Ty::Array(e) if **e == Ty::U8)
}

/// Types APIM refuses (not on its allowed list); anything under these namespaces too.
pub fn is_disallowed_type(name: &str) -> bool {
    let n = name.strip_prefix("global::").unwrap_or(name);
    const BAD: &[&str] = &[
        "System.IO.File",
        "File",
        "System.IO.Directory",
        "Directory",
        "System.IO.Path",
        "System.IO.FileStream",
        "FileStream",
        "System.Net.Http.HttpClient",
        "HttpClient",
        "System.Net.WebClient",
        "WebClient",
        "System.Net.WebRequest",
        "WebRequest",
        "System.Diagnostics.Process",
        "Process",
        "System.Threading.Thread",
        "Thread",
        "System.Threading.Tasks.Task",
        "Task",
        "System.Environment",
        "Environment",
        "System.Reflection.Assembly",
        "Assembly",
        "System.Activator",
        "Activator",
        "System.Type",
        "Type",
        "System.AppDomain",
        "AppDomain",
        "System.GC",
        "GC",
        "System.Console",
        "Console",
        "System.ValueTuple",
        "ValueTuple",
        "dynamic",
    ];
    BAD.contains(&n) || is_disallowed_namespace(n.rsplit_once('.').map(|x| x.0).unwrap_or(""))
}

pub fn is_disallowed_namespace(ns: &str) -> bool {
    matches!(
        ns,
        "System.IO"
            | "System.Net.Http"
            | "System.Threading"
            | "System.Threading.Tasks"
            | "System.Reflection"
            | "System.Diagnostics"
    )
}

/// Members of allowed types that APIM's list excludes (e.g. `DateTime.ParseExact`).
fn is_disallowed_member(t: &Ty, name: &str) -> bool {
    // `GetType()` returns System.Type (reflection), which is not on APIM's list.
    if name == "GetType" && !matches!(t, Ty::Void | Ty::Null) {
        return true;
    }
    match t {
        Ty::Named(Cls::DateTime) => matches!(
            name,
            "ParseExact"
                | "TryParse"
                | "TryParseExact"
                | "ToUniversalTime"
                | "ToLocalTime"
                | "Kind"
                | "SpecifyKind"
                | "FromBinary"
                | "ToBinary"
                | "FromFileTime"
                | "ToFileTime"
                | "ToOADate"
        ),
        Ty::Named(Cls::Regex) => matches!(name, "Escape" | "CompileToAssembly"),
        Ty::Named(Cls::JsonConvert) => !matches!(name, "SerializeObject" | "DeserializeObject"),
        Ty::Named(Cls::XDocument) => name == "Load",
        _ => false,
    }
}
