//! The evaluator: runs [`Code`] with .NET semantics and a step budget.
use std::cmp::Ordering;
use std::sync::Arc;

use apim_dotnet::Decimal;

use crate::ast::BinOp;
use crate::code::*;
use crate::host::Environment;
use crate::types::{Cls, Exc, Gen, Ty};
use crate::value::*;

type R<T> = Result<T, Fault>;

/// Longest string an expression may build (.NET would run out of memory long before 2^31).
pub const MAX_TEXT: usize = 256 * 1024 * 1024;

enum Flow {
    Normal,
    Break,
    Continue,
    Return(Value),
}

pub struct Machine<'a> {
    pub slots: Vec<Value>,
    pub context: &'a Value,
    pub env: &'a dyn Environment,
    pub steps: u64,
    pub budget: u64,
    lambdas: &'a [LambdaCode],
    caught: Vec<Exception>,
    /// JSON trees created during this evaluation: a token only holds a weak link to its
    /// parent, so a temporary root (`JObject.Parse(s)["a"]["b"]`) stays alive for `Parent` and
    /// `Path` until the evaluation ends, as .NET's GC would keep it.
    json_roots: Vec<apim_dotnet::JToken>,
}

impl<'a> Machine<'a> {
    pub fn new(
        code: &'a Code,
        context: &'a Value,
        env: &'a dyn Environment,
        budget: u64,
    ) -> Machine<'a> {
        Machine {
            slots: vec![Value::Null; code.slots as usize],
            context,
            env,
            steps: 0,
            budget,
            lambdas: &code.lambdas,
            caught: Vec::new(),
            json_roots: Vec::new(),
        }
    }

    #[inline]
    fn keep_json_root(&mut self, v: &Value) {
        if let Value::Json(t) = v {
            if t.is_container() && t.parent().is_none() {
                self.json_roots.push(t.clone());
            }
        }
    }

    #[inline]
    pub fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > self.budget {
            return Err(Fault::Budget(self.budget));
        }
        Ok(())
    }

    pub fn run(&mut self, body: &Body) -> R<Value> {
        match body {
            Body::Expr(n) => self.eval(n),
            Body::Block(st) => match self.exec(st)? {
                Flow::Return(v) => Ok(v),
                _ => Ok(Value::Null),
            },
        }
    }

    /// Building text costs steps in proportion to its size, so doubling loops end too.
    pub fn charge_text(&mut self, len: usize) -> R<()> {
        if len > MAX_TEXT {
            return Err(Exception::new(
                Exc::OutOfMemoryException,
                "Insufficient memory to continue the execution of the program.",
            )
            .into());
        }
        self.steps += (len / 4096) as u64;
        if self.steps > self.budget {
            return Err(Fault::Budget(self.budget));
        }
        Ok(())
    }

    /// Number of parameters of a lambda value.
    pub fn lambda_arity(&self, f: &Value) -> usize {
        match f {
            Value::Lambda(id) => self
                .lambdas
                .get(*id as usize)
                .map(|l| l.params.len())
                .unwrap_or(0),
            _ => 0,
        }
    }

    /// Calls a lambda value (LINQ, `Func` invocation).
    pub fn call_lambda(&mut self, f: &Value, args: &[Value]) -> R<Value> {
        self.step()?;
        let Value::Lambda(id) = f else {
            return Err(Exception::null_ref().into());
        };
        let lambdas = self.lambdas;
        let Some(code) = lambdas.get(*id as usize) else {
            return Err(Exception::null_ref().into());
        };
        for (slot, a) in code.params.iter().zip(args) {
            self.slots[*slot as usize] = a.clone();
        }
        match &code.body {
            LambdaBody::Expr(n) => self.eval(n),
            LambdaBody::Block(st) => match self.exec(st)? {
                Flow::Return(v) => Ok(v),
                _ => Ok(Value::Null),
            },
        }
    }

    pub fn eval(&mut self, n: &Node) -> R<Value> {
        match n {
            Node::Const(v) => Ok(v.clone()),
            Node::Local(s) => Ok(self.slots[*s as usize].clone()),
            Node::Context => Ok(self.context.clone()),
            Node::HostGet(t, m, _) => match self.eval(t)? {
                Value::Host(h) => Ok(h.get(*m)?),
                Value::Null => Err(Exception::null_ref().into()),
                other => Err(Exception::invalid_cast(
                    &crate::render::type_name(&other),
                    "host object",
                )
                .into()),
            },
            Node::HostCall(t, m, args, _) => {
                let target = self.eval(t)?;
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a)?);
                }
                match target {
                    Value::Host(h) => Ok(h.call(*m, &vals)?),
                    Value::Null => Err(Exception::null_ref().into()),
                    other => Err(Exception::invalid_cast(
                        &crate::render::type_name(&other),
                        "host object",
                    )
                    .into()),
                }
            }
            Node::Native { f, args, .. } => {
                // short argument lists live on the stack: no allocation per call
                if args.len() <= 4 {
                    let mut buf = [Value::Null, Value::Null, Value::Null, Value::Null];
                    for (slot, a) in buf.iter_mut().zip(args) {
                        *slot = self.eval(a)?;
                    }
                    let v = f(self, &mut buf[..args.len()])?;
                    self.keep_json_root(&v);
                    return Ok(v);
                }
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a)?);
                }
                let v = f(self, &mut vals)?;
                self.keep_json_root(&v);
                Ok(v)
            }
            Node::NativeOut { f, args, outs, .. } => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a)?);
                }
                let r = f(self, &mut vals)?;
                for (i, place) in outs {
                    let v = vals.get(*i).cloned().unwrap_or(Value::Null);
                    self.store(place, v)?;
                }
                Ok(r)
            }
            Node::Neg(x, checked) => {
                let v = self.eval(x)?;
                neg(&v, *checked)
            }
            Node::Not(x) => match self.eval(x)? {
                Value::Bool(b) => Ok(Value::Bool(!b)),
                Value::Null => Ok(Value::Null),
                _ => Err(Exception::invalid_cast("value", "bool").into()),
            },
            Node::BitNot(x) => match self.eval(x)? {
                Value::I32(v) => Ok(Value::I32(!v)),
                Value::U32(v) => Ok(Value::U32(!v)),
                Value::I64(v) => Ok(Value::I64(!v)),
                Value::U64(v) => Ok(Value::U64(!v)),
                Value::Null => Ok(Value::Null),
                _ => Err(Exception::invalid_cast("value", "int").into()),
            },
            Node::Arith(op, a, b, checked, _) => {
                let x = self.eval(a)?;
                let y = self.eval(b)?;
                arith(*op, &x, &y, *checked)
            }
            Node::Concat(parts) => {
                let mut s = String::new();
                for p in parts {
                    let v = self.eval(p)?;
                    crate::render::append_net_string(&mut s, &v);
                }
                self.charge_text(s.len())?;
                Ok(Value::string(s))
            }
            Node::Eq(kind, ne, a, b) => {
                let x = self.eval(a)?;
                let y = self.eval(b)?;
                let eq = match kind {
                    EqKind::Value => values_equal(&x, &y),
                    EqKind::Ref => ref_equal(&x, &y),
                };
                Ok(Value::Bool(eq != *ne))
            }
            Node::Cmp(op, a, b) => {
                let x = self.eval(a)?;
                let y = self.eval(b)?;
                let r = match compare(&x, &y) {
                    None => false,
                    Some(o) => match op {
                        BinOp::Lt => o == Ordering::Less,
                        BinOp::Gt => o == Ordering::Greater,
                        BinOp::Le => o != Ordering::Greater,
                        _ => o != Ordering::Less,
                    },
                };
                Ok(Value::Bool(r))
            }
            Node::AndAlso(a, b) => {
                if truthy(&self.eval(a)?) {
                    Ok(Value::Bool(truthy(&self.eval(b)?)))
                } else {
                    Ok(Value::Bool(false))
                }
            }
            Node::OrElse(a, b) => {
                if truthy(&self.eval(a)?) {
                    Ok(Value::Bool(true))
                } else {
                    Ok(Value::Bool(truthy(&self.eval(b)?)))
                }
            }
            Node::Coalesce(a, b) => {
                let x = self.eval(a)?;
                if x.is_null() { self.eval(b) } else { Ok(x) }
            }
            Node::Cond(c, a, b) => {
                if truthy(&self.eval(c)?) {
                    self.eval(a)
                } else {
                    self.eval(b)
                }
            }
            Node::Conv(c, x, _) => {
                let v = self.eval(x)?;
                convert(c, v)
            }
            Node::Is(t, x, slot) => {
                let v = self.eval(x)?;
                let r = is_instance(&v, t);
                if let (true, Some(s)) = (r, slot) {
                    self.slots[*s as usize] = v;
                }
                Ok(Value::Bool(r))
            }
            Node::As(t, x) => {
                let v = self.eval(x)?;
                Ok(if is_instance(&v, t) { v } else { Value::Null })
            }
            Node::CondAccess(t, slot, rest) => {
                let v = self.eval(t)?;
                if v.is_null() {
                    return Ok(Value::Null);
                }
                self.slots[*slot as usize] = v;
                self.eval(rest)
            }
            Node::NotNull(x, _) => {
                let v = self.eval(x)?;
                if v.is_null() {
                    Err(Exception::null_ref().into())
                } else {
                    Ok(v)
                }
            }
            Node::Assign(place, x) => {
                let v = self.eval(x)?;
                self.store(place, v.clone())?;
                Ok(v)
            }
            Node::Compound {
                place,
                op,
                value,
                conv,
                post,
                checked,
                concat,
            } => {
                let (old, target, args) = self.load(place)?;
                let rhs = self.eval(value)?;
                let mut new = if *concat {
                    let mut s = String::new();
                    crate::render::append_net_string(&mut s, &old);
                    crate::render::append_net_string(&mut s, &rhs);
                    self.charge_text(s.len())?;
                    Value::string(s)
                } else {
                    arith(*op, &old, &rhs, *checked)?
                };
                if let Some(c) = conv {
                    new = convert(c, new)?;
                }
                self.store_loaded(place, target, args, new.clone())?;
                Ok(if *post { old } else { new })
            }
            Node::Lambda(id) => Ok(Value::Lambda(*id)),
            Node::Interp(segs) => {
                let mut s = String::new();
                for seg in segs {
                    match seg {
                        InterpSeg::Text(t) => s.push_str(t),
                        InterpSeg::Hole {
                            value,
                            align,
                            format,
                        } => {
                            let v = self.eval(value)?;
                            let text = match format {
                                Some(f) => crate::lib_core::format_with(&v, f)?,
                                None => crate::render::net_string(&v),
                            };
                            crate::lib_core::pad_align(
                                &mut s,
                                &text,
                                (*align).clamp(-1_000_000, 1_000_000),
                            );
                        }
                    }
                }
                self.charge_text(s.len())?;
                Ok(Value::string(s))
            }
            Node::Init(create, slot, steps) => {
                let obj = self.eval(create)?;
                self.slots[*slot as usize] = obj.clone();
                for st in steps {
                    self.eval(st)?;
                }
                Ok(obj)
            }
            Node::Throw(x) => {
                let v = self.eval(x)?;
                Err(throw_value(v).into())
            }
            Node::NewArray(t, items) => {
                let mut vals = Vec::with_capacity(items.len());
                for i in items {
                    vals.push(self.eval(i)?);
                }
                Ok(Value::Array(Seq::new(SeqKind::Array, t.clone(), vals)))
            }
            Node::NewArraySized(t, size) => {
                let n = match self.eval(size)? {
                    Value::I32(n) => n,
                    _ => 0,
                };
                if n < 0 {
                    return Err(Exception::new(
                        Exc::OverflowException,
                        "Arithmetic operation resulted in an overflow.",
                    )
                    .into());
                }
                if n > 10_000_000 {
                    return Err(Exception::new(
                        Exc::OverflowException,
                        "Array dimensions exceeded supported range.",
                    )
                    .into());
                }
                self.steps += n as u64 / 64;
                Ok(Value::Array(Seq::new(
                    SeqKind::Array,
                    t.clone(),
                    vec![default_value(t); n as usize],
                )))
            }
            Node::Invoke(f, args) => {
                let fv = self.eval(f)?;
                if fv.is_null() {
                    return Err(Exception::null_ref().into());
                }
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a)?);
                }
                self.call_lambda(&fv, &vals)
            }
        }
    }

    fn store(&mut self, place: &Place, v: Value) -> R<()> {
        match place {
            Place::Local(s) => {
                self.slots[*s as usize] = v;
                Ok(())
            }
            Place::Setter {
                f, target, args, ..
            } => {
                let mut vals = vec![self.eval(target)?];
                for a in args {
                    vals.push(self.eval(a)?);
                }
                vals.push(v);
                f(self, &mut vals)?;
                Ok(())
            }
        }
    }

    fn load(&mut self, place: &Place) -> R<(Value, Option<Value>, Vec<Value>)> {
        match place {
            Place::Local(s) => Ok((self.slots[*s as usize].clone(), None, Vec::new())),
            Place::Setter {
                get, target, args, ..
            } => {
                let t = self.eval(target)?;
                let mut vals = vec![t.clone()];
                for a in args {
                    vals.push(self.eval(a)?);
                }
                let old = get(self, &mut vals.clone())?;
                Ok((old, Some(t), vals[1..].to_vec()))
            }
        }
    }

    fn store_loaded(
        &mut self,
        place: &Place,
        target: Option<Value>,
        args: Vec<Value>,
        v: Value,
    ) -> R<()> {
        match (place, target) {
            (Place::Local(s), _) => {
                self.slots[*s as usize] = v;
                Ok(())
            }
            (Place::Setter { f, .. }, Some(t)) => {
                let mut vals = vec![t];
                vals.extend(args);
                vals.push(v);
                f(self, &mut vals)?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn exec(&mut self, st: &St) -> R<Flow> {
        match st {
            St::Expr(n) => {
                self.eval(n)?;
                Ok(Flow::Normal)
            }
            St::Block(ss) => {
                for s in ss {
                    match self.exec(s)? {
                        Flow::Normal => {}
                        f => return Ok(f),
                    }
                }
                Ok(Flow::Normal)
            }
            St::If(c, a, b) => {
                if truthy(&self.eval(c)?) {
                    self.exec(a)
                } else if let Some(b) = b {
                    self.exec(b)
                } else {
                    Ok(Flow::Normal)
                }
            }
            St::While(c, body) => {
                while truthy(&self.eval(c)?) {
                    self.step()?;
                    match self.exec(body)? {
                        Flow::Break => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => {}
                    }
                }
                Ok(Flow::Normal)
            }
            St::DoWhile(body, c) => {
                loop {
                    self.step()?;
                    match self.exec(body)? {
                        Flow::Break => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => {}
                    }
                    if !truthy(&self.eval(c)?) {
                        break;
                    }
                }
                Ok(Flow::Normal)
            }
            St::For(init, cond, iter, body) => {
                for s in init {
                    self.exec(s)?;
                }
                loop {
                    if let Some(c) = cond {
                        if !truthy(&self.eval(c)?) {
                            break;
                        }
                    }
                    self.step()?;
                    match self.exec(body)? {
                        Flow::Break => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => {}
                    }
                    for i in iter {
                        self.eval(i)?;
                    }
                }
                Ok(Flow::Normal)
            }
            St::Foreach {
                coll,
                slot,
                conv,
                body,
                ..
            } => {
                let c = self.eval(coll)?;
                if c.is_null() {
                    return Err(Exception::null_ref().into());
                }
                let items = crate::lib_core::enumerate(self, &c)?;
                for item in items {
                    self.step()?;
                    let v = match conv {
                        Some(cv) => convert(cv, item)?,
                        None => item,
                    };
                    self.slots[*slot as usize] = v;
                    match self.exec(body)? {
                        Flow::Break => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => {}
                    }
                }
                Ok(Flow::Normal)
            }
            St::Switch {
                value,
                labels,
                default,
                bodies,
            } => {
                let v = self.eval(value)?;
                let target = labels
                    .iter()
                    .find(|(l, _)| values_equal(l, &v))
                    .map(|(_, i)| *i)
                    .or(*default);
                if let Some(i) = target {
                    for s in &bodies[i] {
                        match self.exec(s)? {
                            Flow::Normal => {}
                            Flow::Break => return Ok(Flow::Normal),
                            f => return Ok(f),
                        }
                    }
                }
                Ok(Flow::Normal)
            }
            St::Break => Ok(Flow::Break),
            St::Continue => Ok(Flow::Continue),
            St::Return(n) => Ok(Flow::Return(self.eval(n)?)),
            St::Throw(x, _) => match x {
                Some(x) => {
                    let v = self.eval(x)?;
                    Err(throw_value(v).into())
                }
                None => Err(self
                    .caught
                    .last()
                    .cloned()
                    .unwrap_or_else(Exception::null_ref)
                    .into()),
            },
            St::Try {
                body,
                catches,
                finally,
            } => {
                let r = self.exec(body);
                let r = match r {
                    Err(Fault::Throw(e)) => {
                        let mut handled = None;
                        for c in catches {
                            if !e.kind.is_a(c.exc) {
                                continue;
                            }
                            if let Some(s) = c.slot {
                                self.slots[s as usize] = Value::Exception(Arc::new(e.clone()));
                            }
                            if let Some(f) = &c.filter {
                                match self.eval(f) {
                                    Ok(v) if truthy(&v) => {}
                                    Ok(_) | Err(Fault::Throw(_)) => continue,
                                    Err(b) => return Err(b),
                                }
                            }
                            self.caught.push(e.clone());
                            let r = self.exec(&c.body);
                            self.caught.pop();
                            handled = Some(r);
                            break;
                        }
                        handled.unwrap_or(Err(Fault::Throw(e)))
                    }
                    other => other,
                };
                if let Some(f) = finally {
                    if matches!(r, Err(Fault::Budget(_))) {
                        return r;
                    }
                    match self.exec(f)? {
                        Flow::Normal => {}
                        other => return Ok(other),
                    }
                }
                r
            }
            St::Checked(b) => self.exec(b),
        }
    }
}

fn throw_value(v: Value) -> Exception {
    match v {
        Value::Exception(e) => (*e).clone(),
        _ => Exception::null_ref(),
    }
}

#[inline]
pub fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

// ------------------------------------------------------------------- numbers
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum NumKind {
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
    Dec,
}

fn num_kind(v: &Value) -> Option<NumKind> {
    Some(match v {
        Value::I8(_)
        | Value::U8(_)
        | Value::I16(_)
        | Value::U16(_)
        | Value::Char(_)
        | Value::I32(_) => NumKind::I32,
        Value::U32(_) => NumKind::U32,
        Value::I64(_) => NumKind::I64,
        Value::U64(_) => NumKind::U64,
        Value::F32(_) => NumKind::F32,
        Value::F64(_) => NumKind::F64,
        Value::Dec(_) => NumKind::Dec,
        _ => return None,
    })
}

fn promote_kind(a: NumKind, b: NumKind, av: &Value, bv: &Value) -> NumKind {
    use NumKind::*;
    let signed_small = |v: &Value| matches!(v, Value::I8(_) | Value::I16(_) | Value::I32(_));
    match (a, b) {
        (Dec, _) | (_, Dec) => Dec,
        (F64, _) | (_, F64) => F64,
        (F32, _) | (_, F32) => F32,
        (U64, _) | (_, U64) => U64,
        (I64, _) | (_, I64) => I64,
        (U32, I32) if signed_small(bv) => I64,
        (I32, U32) if signed_small(av) => I64,
        (U32, _) | (_, U32) => U32,
        _ => I32,
    }
}

pub fn as_i64(v: &Value) -> Option<i64> {
    Some(match v {
        Value::I8(x) => *x as i64,
        Value::U8(x) => *x as i64,
        Value::I16(x) => *x as i64,
        Value::U16(x) => *x as i64,
        Value::Char(x) => *x as i64,
        Value::I32(x) => *x as i64,
        Value::U32(x) => *x as i64,
        Value::I64(x) => *x,
        Value::U64(x) => *x as i64,
        _ => return None,
    })
}

pub fn as_f64(v: &Value) -> Option<f64> {
    Some(match v {
        Value::F32(x) => *x as f64,
        Value::F64(x) => *x,
        Value::Dec(d) => rust_decimal::prelude::ToPrimitive::to_f64(d).unwrap_or(0.0),
        Value::U64(x) => *x as f64,
        other => as_i64(other)? as f64,
    })
}

fn as_dec(v: &Value) -> Option<Decimal> {
    Some(match v {
        Value::Dec(d) => *d,
        Value::U64(x) => Decimal::from(*x),
        other => Decimal::from(as_i64(other)?),
    })
}

pub fn arith(op: BinOp, a: &Value, b: &Value, checked: bool) -> R<Value> {
    if a.is_null() || b.is_null() {
        return Ok(Value::Null);
    }
    if let (Some(ka), Some(kb)) = (num_kind(a), num_kind(b)) {
        if matches!(op, BinOp::Shl | BinOp::Shr) {
            let n = as_i64(b).unwrap_or(0);
            // C# masks the count to the operand's width (31 or 63).
            macro_rules! shift {
                ($variant:ident, $x:expr, $mask:literal) => {{
                    let x = $x;
                    let s = (n & $mask) as u32;
                    Value::$variant(if op == BinOp::Shl {
                        x.wrapping_shl(s)
                    } else {
                        x >> s
                    })
                }};
            }
            return Ok(match ka {
                NumKind::I32 => shift!(I32, as_i64(a).unwrap_or(0) as i32, 31),
                NumKind::U32 => shift!(U32, as_i64(a).unwrap_or(0) as u32, 31),
                NumKind::I64 => shift!(I64, as_i64(a).unwrap_or(0), 63),
                _ => {
                    let x = match a {
                        Value::U64(x) => *x,
                        _ => 0,
                    };
                    shift!(U64, x, 63)
                }
            });
        }
        let k = promote_kind(ka, kb, a, b);
        return match k {
            NumKind::I32 => int_op(
                op,
                as_i64(a).unwrap_or(0) as i32,
                as_i64(b).unwrap_or(0) as i32,
                checked,
            )
            .map(Value::I32),
            NumKind::U32 => int_op_u32(
                op,
                as_i64(a).unwrap_or(0) as u32,
                as_i64(b).unwrap_or(0) as u32,
                checked,
            )
            .map(Value::U32),
            NumKind::I64 => int_op_i64(op, as_i64(a).unwrap_or(0), as_i64(b).unwrap_or(0), checked)
                .map(Value::I64),
            NumKind::U64 => {
                let x = match a {
                    Value::U64(x) => *x,
                    o => as_i64(o).unwrap_or(0) as u64,
                };
                let y = match b {
                    Value::U64(x) => *x,
                    o => as_i64(o).unwrap_or(0) as u64,
                };
                int_op_u64(op, x, y, checked).map(Value::U64)
            }
            NumKind::F32 => {
                let (x, y) = (
                    as_f64(a).unwrap_or(0.0) as f32,
                    as_f64(b).unwrap_or(0.0) as f32,
                );
                float_op(op, x, y).map(Value::F32)
            }
            NumKind::F64 => {
                let (x, y) = (as_f64(a).unwrap_or(0.0), as_f64(b).unwrap_or(0.0));
                float_op(op, x, y).map(Value::F64)
            }
            NumKind::Dec => {
                let (x, y) = (as_dec(a).unwrap_or_default(), as_dec(b).unwrap_or_default());
                let r = match op {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div => {
                        if y.is_zero() {
                            return Err(Exception::div_zero().into());
                        }
                        // .NET keeps the smallest scale that represents the quotient
                        x.checked_div(y).map(|q| q.normalize())
                    }
                    BinOp::Rem => {
                        if y.is_zero() {
                            return Err(Exception::div_zero().into());
                        }
                        x.checked_rem(y)
                    }
                    _ => return Err(bad_op()),
                };
                r.map(Value::Dec).ok_or_else(|| {
                    Exception::new(
                        Exc::OverflowException,
                        "Value was either too large or too small for a Decimal.",
                    )
                    .into()
                })
            }
        };
    }
    match (op, a, b) {
        (BinOp::And, Value::Bool(x), Value::Bool(y)) => Ok(Value::Bool(*x & *y)),
        (BinOp::Or, Value::Bool(x), Value::Bool(y)) => Ok(Value::Bool(*x | *y)),
        (BinOp::Xor, Value::Bool(x), Value::Bool(y)) => Ok(Value::Bool(*x ^ *y)),
        (BinOp::And, Value::Enum(c, x), Value::Enum(_, y)) => Ok(Value::Enum(*c, x & y)),
        (BinOp::Or, Value::Enum(c, x), Value::Enum(_, y)) => Ok(Value::Enum(*c, x | y)),
        (BinOp::Add, Value::DateTime(d), Value::TimeSpan(t)) => Ok(Value::DateTime(d.add(*t)?)),
        (BinOp::Sub, Value::DateTime(d), Value::TimeSpan(t)) => {
            Ok(Value::DateTime(d.subtract(*t)?))
        }
        (BinOp::Sub, Value::DateTime(d), Value::DateTime(e)) => {
            Ok(Value::TimeSpan(d.subtract_date(*e)))
        }
        (BinOp::Add, Value::DateTimeOffset(d), Value::TimeSpan(t)) => {
            Ok(Value::DateTimeOffset(d.add(*t)?))
        }
        (BinOp::Sub, Value::DateTimeOffset(d), Value::TimeSpan(t)) => {
            Ok(Value::DateTimeOffset(d.subtract(*t)?))
        }
        (BinOp::Sub, Value::DateTimeOffset(d), Value::DateTimeOffset(e)) => {
            Ok(Value::TimeSpan(d.subtract_offset(*e)))
        }
        (BinOp::Add, Value::TimeSpan(x), Value::TimeSpan(y)) => Ok(Value::TimeSpan(x.add(*y)?)),
        (BinOp::Sub, Value::TimeSpan(x), Value::TimeSpan(y)) => {
            Ok(Value::TimeSpan(x.subtract(*y)?))
        }
        _ => Err(bad_op()),
    }
}

/// float and double arithmetic: IEEE, never checked.
#[inline]
fn float_op<T>(op: BinOp, x: T, y: T) -> R<T>
where
    T: std::ops::Add<Output = T>
        + std::ops::Sub<Output = T>
        + std::ops::Mul<Output = T>
        + std::ops::Div<Output = T>
        + std::ops::Rem<Output = T>,
{
    Ok(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
        BinOp::Rem => x % y,
        _ => return Err(bad_op()),
    })
}

fn bad_op() -> Fault {
    Exception::new(
        Exc::InvalidOperationException,
        "Operator is not defined for these operand types.",
    )
    .into()
}

macro_rules! int_ops {
    ($name:ident, $t:ty) => {
        fn $name(op: BinOp, x: $t, y: $t, checked: bool) -> R<$t> {
            let ov = || Fault::from(Exception::overflow());
            Ok(match op {
                BinOp::Add => {
                    if checked {
                        x.checked_add(y).ok_or_else(ov)?
                    } else {
                        x.wrapping_add(y)
                    }
                }
                BinOp::Sub => {
                    if checked {
                        x.checked_sub(y).ok_or_else(ov)?
                    } else {
                        x.wrapping_sub(y)
                    }
                }
                BinOp::Mul => {
                    if checked {
                        x.checked_mul(y).ok_or_else(ov)?
                    } else {
                        x.wrapping_mul(y)
                    }
                }
                BinOp::Div => {
                    if y == 0 {
                        return Err(Exception::div_zero().into());
                    }
                    // int.MinValue / -1 overflows in .NET even unchecked
                    x.checked_div(y).ok_or_else(ov)?
                }
                BinOp::Rem => {
                    if y == 0 {
                        return Err(Exception::div_zero().into());
                    }
                    x.checked_rem(y).ok_or_else(ov)?
                }
                BinOp::And => x & y,
                BinOp::Or => x | y,
                BinOp::Xor => x ^ y,
                _ => return Err(bad_op()),
            })
        }
    };
}
int_ops!(int_op, i32);
int_ops!(int_op_u32, u32);
int_ops!(int_op_i64, i64);
int_ops!(int_op_u64, u64);

fn neg(v: &Value, checked: bool) -> R<Value> {
    Ok(match v {
        Value::I32(x) => Value::I32(if checked {
            x.checked_neg().ok_or_else(Exception::overflow)?
        } else {
            x.wrapping_neg()
        }),
        Value::I64(x) => Value::I64(if checked {
            x.checked_neg().ok_or_else(Exception::overflow)?
        } else {
            x.wrapping_neg()
        }),
        Value::F32(x) => Value::F32(-x),
        Value::F64(x) => Value::F64(-x),
        Value::Dec(x) => Value::Dec(-*x),
        Value::Null => Value::Null,
        other => match as_i64(other) {
            Some(x) => Value::I64(-x),
            None => return Err(bad_op()),
        },
    })
}

/// Numeric conversion with C# cast semantics (`checked` throws OverflowException).
pub fn convert_numeric(v: &Value, to: &Ty, checked: bool) -> R<Value> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let ov = || Fault::from(Exception::overflow());
    macro_rules! int_target {
        ($t:ty, $variant:ident) => {{
            match v {
                Value::F32(_) | Value::F64(_) => {
                    let f = as_f64(v).unwrap_or(0.0);
                    if checked {
                        let t = f.trunc();
                        if !(t >= <$t>::MIN as f64 && t <= <$t>::MAX as f64) || f.is_nan() {
                            return Err(ov());
                        }
                        Value::$variant(t as $t)
                    } else {
                        Value::$variant(float_to_int_unchecked(f) as $t)
                    }
                }
                Value::Dec(d) => {
                    let t = d.trunc();
                    match rust_decimal::prelude::ToPrimitive::to_i128(&t)
                        .and_then(|i| <$t>::try_from(i).ok())
                    {
                        Some(x) => Value::$variant(x),
                        None => {
                            return Err(Exception::new(
                                Exc::OverflowException,
                                format!(
                                    "Value was either too large or too small for {}.",
                                    stringify!($variant)
                                ),
                            )
                            .into());
                        }
                    }
                }
                Value::U64(x) => {
                    if checked {
                        Value::$variant(<$t>::try_from(*x).map_err(|_| ov())?)
                    } else {
                        Value::$variant(*x as $t)
                    }
                }
                other => {
                    let x = as_i64(other).ok_or_else(|| {
                        Fault::from(Exception::invalid_cast(
                            &crate::render::type_name(other),
                            &to.name(),
                        ))
                    })?;
                    if checked {
                        Value::$variant(<$t>::try_from(x).map_err(|_| ov())?)
                    } else {
                        Value::$variant(x as $t)
                    }
                }
            }
        }};
    }
    Ok(match to {
        Ty::I8 => int_target!(i8, I8),
        Ty::U8 => int_target!(u8, U8),
        Ty::I16 => int_target!(i16, I16),
        Ty::U16 => int_target!(u16, U16),
        Ty::I32 => int_target!(i32, I32),
        Ty::U32 => int_target!(u32, U32),
        Ty::I64 => int_target!(i64, I64),
        Ty::U64 => match v {
            Value::F32(_) | Value::F64(_) => {
                let f = as_f64(v).unwrap_or(0.0);
                if checked && !(f.trunc() >= 0.0 && f.trunc() <= u64::MAX as f64) {
                    return Err(ov());
                }
                Value::U64(f as u64)
            }
            Value::Dec(d) => {
                Value::U64(rust_decimal::prelude::ToPrimitive::to_u64(&d.trunc()).ok_or_else(ov)?)
            }
            Value::U64(x) => Value::U64(*x),
            other => {
                let x = as_i64(other).unwrap_or(0);
                if checked && x < 0 {
                    return Err(ov());
                }
                Value::U64(x as u64)
            }
        },
        Ty::Char => match as_i64(v) {
            Some(x) => {
                if checked && u16::try_from(x).is_err() {
                    return Err(ov());
                }
                Value::Char(x as u16)
            }
            None => {
                let f = as_f64(v).unwrap_or(0.0);
                Value::Char(float_to_int_unchecked(f) as u16)
            }
        },
        Ty::F32 => Value::F32(match v {
            Value::U64(x) => *x as f32,
            o => as_f64(o).unwrap_or(0.0) as f32,
        }),
        Ty::F64 => Value::F64(match v {
            Value::F32(x) => *x as f64,
            o => as_f64(o).unwrap_or(0.0),
        }),
        Ty::Decimal => match v {
            Value::F32(_) | Value::F64(_) => {
                let f = as_f64(v).unwrap_or(0.0);
                Value::Dec(
                    Decimal::from_f64_retain(f)
                        .filter(|_| f.is_finite())
                        .ok_or_else(|| {
                            Fault::from(Exception::new(
                                Exc::OverflowException,
                                "Value was either too large or too small for a Decimal.",
                            ))
                        })?,
                )
            }
            o => Value::Dec(as_dec(o).unwrap_or_default()),
        },
        Ty::Nullable(inner) => return convert_numeric(v, inner, checked),
        _ => v.clone(),
    })
}

/// x86 `cvttsd2si` semantics used by .NET Framework for out-of-range unchecked casts.
fn float_to_int_unchecked(f: f64) -> i64 {
    if f.is_nan() || !(-9.223372036854776e18..9.223372036854776e18).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

pub fn convert(c: &Conv, v: Value) -> R<Value> {
    match c {
        Conv::Identity | Conv::Lambda => Ok(v),
        Conv::Numeric(t, checked) => convert_numeric(&v, t, *checked),
        Conv::Unbox(t) => {
            if v.is_null() {
                return if matches!(t, Ty::Nullable(_)) {
                    Ok(Value::Null)
                } else {
                    Err(Exception::null_ref().into())
                };
            }
            let inner = match t {
                Ty::Nullable(i) => &**i,
                t => t,
            };
            if is_instance(&v, inner) {
                Ok(v)
            } else {
                Err(Exception::invalid_cast(
                    &crate::render::clr_full_name(&v),
                    &full_ty_name(inner),
                )
                .into())
            }
        }
        Conv::Ref(t) => {
            if v.is_null() || is_instance(&v, t) {
                Ok(v)
            } else {
                Err(
                    Exception::invalid_cast(&crate::render::clr_full_name(&v), &full_ty_name(t))
                        .into(),
                )
            }
        }
        Conv::FromJson(t) => crate::lib_json::from_token(&v, t),
        Conv::ToJson => crate::lib_json::to_token(&v),
        Conv::EnumToInt(t) => match v {
            Value::Enum(_, x) => convert_numeric(&Value::I64(x), t, false),
            other => Ok(other),
        },
        Conv::IntToEnum(c) => match as_i64(&v) {
            Some(x) => Ok(Value::Enum(*c, x)),
            None => Ok(v),
        },
    }
}

fn full_ty_name(t: &Ty) -> String {
    match t {
        Ty::I32 => "System.Int32".into(),
        Ty::I64 => "System.Int64".into(),
        Ty::String => "System.String".into(),
        Ty::Bool => "System.Boolean".into(),
        Ty::F64 => "System.Double".into(),
        Ty::Named(Cls::JObject) => "Newtonsoft.Json.Linq.JObject".into(),
        Ty::Named(Cls::JArray) => "Newtonsoft.Json.Linq.JArray".into(),
        t => t.name(),
    }
}

/// Runtime type test (`is`, `as`, casts): exact for value types, subtyping for references.
pub fn is_instance(v: &Value, t: &Ty) -> bool {
    match (v, t) {
        (Value::Null, _) => false,
        (_, Ty::Object) => true,
        (_, Ty::Nullable(i)) => is_instance(v, i),
        (Value::Bool(_), Ty::Bool)
        | (Value::Char(_), Ty::Char)
        | (Value::I8(_), Ty::I8)
        | (Value::U8(_), Ty::U8)
        | (Value::I16(_), Ty::I16)
        | (Value::U16(_), Ty::U16)
        | (Value::I32(_), Ty::I32)
        | (Value::U32(_), Ty::U32)
        | (Value::I64(_), Ty::I64)
        | (Value::U64(_), Ty::U64)
        | (Value::F32(_), Ty::F32)
        | (Value::F64(_), Ty::F64)
        | (Value::Dec(_), Ty::Decimal)
        | (Value::Str(_), Ty::String)
        | (Value::DateTime(_), Ty::Named(Cls::DateTime))
        | (Value::TimeSpan(_), Ty::Named(Cls::TimeSpan))
        | (Value::DateTimeOffset(_), Ty::Named(Cls::DateTimeOffset))
        | (Value::Guid(_), Ty::Named(Cls::Guid)) => true,
        (Value::Enum(c, _), Ty::Named(d)) => c == d,
        (Value::Json(j), Ty::Named(c)) => match c {
            Cls::JToken => true,
            Cls::JObject => j.is_object(),
            Cls::JArray => j.is_array(),
            Cls::JProperty => j.is_property(),
            Cls::JValue => j.is_value(),
            Cls::JContainer => j.is_container(),
            _ => false,
        },
        (Value::Json(j), Ty::Gen(Gen::IEnumerable, a)) => {
            a[0] == Ty::Named(Cls::JToken) && !j.is_value()
        }
        (Value::Array(s), Ty::Array(e)) => {
            s.elem == **e
                || (e.is_reference() && s.elem.is_reference() && matches!(**e, Ty::Object))
        }
        (
            Value::Array(s) | Value::List(s),
            Ty::Gen(Gen::IEnumerable | Gen::ICollection | Gen::IList | Gen::IReadOnlyCollection, a),
        ) => s.elem == a[0] || (a[0] == Ty::Object && s.elem.is_reference()),
        (Value::List(s), Ty::Gen(g, a)) => {
            a.first() == Some(&s.elem)
                && matches!(
                    (s.kind, g),
                    (SeqKind::List, Gen::List)
                        | (SeqKind::HashSet, Gen::HashSet | Gen::ISet)
                        | (SeqKind::Queue, Gen::Queue)
                        | (SeqKind::Stack, Gen::Stack)
                )
        }
        (Value::Array(_), Ty::Named(Cls::SysArray)) => true,
        (Value::Str(_), Ty::Gen(Gen::IEnumerable, a)) => a[0] == Ty::Char,
        (
            Value::Dict(d),
            Ty::Gen(Gen::Dictionary | Gen::IDictionary | Gen::IReadOnlyDictionary, a),
        ) => a.len() == 2 && d.key == a[0] && d.value == a[1],
        (Value::HostDict(_), Ty::Gen(Gen::IReadOnlyDictionary, _)) => true,
        (Value::Pair(p), Ty::Gen(Gen::KeyValuePair, a)) => {
            a.len() == 2 && p.key_ty == a[0] && p.value_ty == a[1]
        }
        (Value::Host(h), Ty::Named(c)) => h.class() == *c,
        (Value::Exception(e), Ty::Named(Cls::Exception(x))) => e.kind.is_a(*x),
        (Value::Anon(_), Ty::Anon(_)) => true,
        (Value::Obj(o), Ty::Named(c)) => {
            matches!(
                (&**o, c),
                (Obj::Random(_), Cls::Random)
                    | (Obj::StringBuilder(_), Cls::StringBuilder)
                    | (Obj::Regex(_), Cls::Regex)
                    | (Obj::Match(..), Cls::Match | Cls::Group | Cls::Capture)
                    | (Obj::Encoding(_), Cls::Encoding)
                    | (Obj::Jwt(_), Cls::Jwt)
                    | (Obj::Basic(..), Cls::BasicAuth)
                    | (Obj::Uri(_), Cls::Uri)
                    | (Obj::XAttr(..), Cls::XAttribute)
                    | (Obj::XName(..), Cls::XName)
            ) || matches!((&**o, c), (Obj::Hash(h, _), Cls::HashAlgo(x)) if h == x)
                || matches!((&**o, c), (Obj::Xml(x), Cls::XDocument | Cls::XElement) if x.matches_class(*c))
        }
        _ => false,
    }
}

/// .NET `Equals` semantics for `==` on values (numeric promotion, string by value).
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Obj(_), _) | (_, Value::Obj(_)) if crate::lib_misc::xname_eq(a, b).is_some() => {
            crate::lib_misc::xname_eq(a, b).unwrap_or(false)
        }
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Enum(c, x), Value::Enum(d, y)) => c == d && x == y,
        (Value::DateTime(x), Value::DateTime(y)) => x == y,
        (Value::TimeSpan(x), Value::TimeSpan(y)) => x == y,
        (Value::DateTimeOffset(x), Value::DateTimeOffset(y)) => x == y,
        (Value::Guid(x), Value::Guid(y)) => x == y,
        _ => match (num_kind(a), num_kind(b)) {
            (Some(ka), Some(kb)) => match promote_kind(ka, kb, a, b) {
                NumKind::F32 | NumKind::F64 => as_f64(a) == as_f64(b),
                NumKind::Dec => as_dec(a) == as_dec(b),
                NumKind::U64 => as_u64(a) == as_u64(b),
                _ => as_i64(a) == as_i64(b),
            },
            _ => ref_equal(a, b),
        },
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::U64(x) => Some(*x),
        o => as_i64(o).map(|x| x as u64),
    }
}

/// Reference identity (boxed value types compare by value: the emulator does not track boxes).
pub fn ref_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        // XNames are atomised in .NET: equal names are the same object.
        (Value::Obj(_), _) | (_, Value::Obj(_)) if crate::lib_misc::xname_eq(a, b).is_some() => {
            crate::lib_misc::xname_eq(a, b).unwrap_or(false)
        }
        (Value::Json(x), Value::Json(y)) => x.same_reference(y),
        (Value::Array(x), Value::Array(y)) | (Value::List(x), Value::List(y)) => Arc::ptr_eq(x, y),
        (Value::Dict(x), Value::Dict(y)) => Arc::ptr_eq(x, y),
        (Value::Anon(x), Value::Anon(y)) => Arc::ptr_eq(x, y),
        (Value::Obj(x), Value::Obj(y)) => Arc::ptr_eq(x, y),
        (Value::Exception(x), Value::Exception(y)) => Arc::ptr_eq(x, y),
        (Value::Host(x), Value::Host(y)) => {
            std::ptr::eq(Arc::as_ptr(x) as *const u8, Arc::as_ptr(y) as *const u8)
        }
        (Value::HostDict(x), Value::HostDict(y)) => {
            std::ptr::eq(Arc::as_ptr(x) as *const u8, Arc::as_ptr(y) as *const u8)
        }
        (Value::Str(x), Value::Str(y)) => x == y,
        // two boxes of a value type are different objects
        _ => false,
    }
}

pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::DateTime(x), Value::DateTime(y)) => Some(x.cmp(y)),
        (Value::TimeSpan(x), Value::TimeSpan(y)) => Some(x.ticks().cmp(&y.ticks())),
        (Value::DateTimeOffset(x), Value::DateTimeOffset(y)) => Some(x.cmp(y)),
        (Value::Enum(_, x), Value::Enum(_, y)) => Some(x.cmp(y)),
        (Value::Str(x), Value::Str(y)) => Some(crate::lib_core::compare_strings_culture(x, y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => match promote_kind(num_kind(a)?, num_kind(b)?, a, b) {
            NumKind::F32 | NumKind::F64 => as_f64(a)?.partial_cmp(&as_f64(b)?),
            NumKind::Dec => Some(as_dec(a)?.cmp(&as_dec(b)?)),
            NumKind::U64 => Some(as_u64(a)?.cmp(&as_u64(b)?)),
            _ => Some(as_i64(a)?.cmp(&as_i64(b)?)),
        },
    }
}

/// `default(T)`.
pub fn default_value(t: &Ty) -> Value {
    match t {
        Ty::Bool => Value::Bool(false),
        Ty::Char => Value::Char(0),
        Ty::I8 => Value::I8(0),
        Ty::U8 => Value::U8(0),
        Ty::I16 => Value::I16(0),
        Ty::U16 => Value::U16(0),
        Ty::I32 => Value::I32(0),
        Ty::U32 => Value::U32(0),
        Ty::I64 => Value::I64(0),
        Ty::U64 => Value::U64(0),
        Ty::F32 => Value::F32(0.0),
        Ty::F64 => Value::F64(0.0),
        Ty::Decimal => Value::Dec(Decimal::ZERO),
        Ty::Named(Cls::DateTime) => Value::DateTime(apim_dotnet::DateTime::MIN_VALUE),
        Ty::Named(Cls::TimeSpan) => Value::TimeSpan(apim_dotnet::TimeSpan::from_ticks(0)),
        Ty::Named(Cls::Guid) => Value::Guid(apim_dotnet::Guid::from_bytes([0; 16])),
        Ty::Named(c) if t.is_enum() => Value::Enum(*c, 0),
        _ => Value::Null,
    }
}
