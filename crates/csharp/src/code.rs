//! The compiled form: the checked syntax tree lowered to resolved operations (local slots,
//! member ids, function pointers, folded constants). Built once, evaluated many times.
use crate::ast::{BinOp, Span};
use crate::host::HostMember;
use crate::interp::Machine;
use crate::types::{Exc, Ty};
use crate::value::{Exception, Value};

/// A library member implementation: `args[0]` is the receiver for instance members.
pub type NativeFn = fn(&mut Machine<'_>, &mut [Value]) -> Result<Value, Fault>;

/// Why evaluation stopped early.
#[derive(Debug, Clone)]
pub enum Fault {
    /// A .NET exception (catchable by `try/catch`).
    Throw(Exception),
    /// The step budget ran out (not catchable).
    Budget(u64),
}

impl From<Exception> for Fault {
    fn from(e: Exception) -> Fault {
        Fault::Throw(e)
    }
}

impl From<apim_dotnet::DotNetException> for Fault {
    fn from(e: apim_dotnet::DotNetException) -> Fault {
        Fault::Throw(e.into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EqKind {
    /// Value equality with numeric promotion (numbers, bool, char, enums, string, structs).
    Value,
    /// Reference identity (objects).
    Ref,
}

#[derive(Debug, Clone)]
pub enum Conv {
    /// Numeric conversion to the target numeric type (implicit or explicit).
    Numeric(Ty, bool),
    /// `(T)obj`: unboxing; the runtime type must be exactly `T`.
    Unbox(Ty),
    /// Reference conversion checked at run time.
    Ref(Ty),
    /// Newtonsoft's explicit operators `(int)token`, `(string)token`...
    FromJson(Ty),
    /// Implicit operators into `JToken` (`JToken t = 5`).
    ToJson,
    /// `T` → `T?` and boxing: no change to the value.
    Identity,
    /// Enum ↔ integral.
    EnumToInt(Ty),
    IntToEnum(crate::types::Cls),
    /// `Func` from a lambda: no change.
    Lambda,
}

#[derive(Debug, Clone)]
pub enum Place {
    Local(u16),
    /// Indexer or property setter: `f(target, args..., value)`.
    Setter {
        f: NativeFn,
        get: NativeFn,
        target: Box<Node>,
        args: Vec<Node>,
    },
}

#[derive(Debug, Clone)]
pub enum InterpSeg {
    Text(String),
    Hole {
        value: Node,
        align: i32,
        format: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub enum Node {
    Const(Value),
    Local(u16),
    Context,
    HostGet(Box<Node>, HostMember, Span),
    HostCall(Box<Node>, HostMember, Vec<Node>, Span),
    Native {
        f: NativeFn,
        args: Vec<Node>,
        span: Span,
    },
    /// A native call with `out` arguments written back to places.
    NativeOut {
        f: NativeFn,
        args: Vec<Node>,
        outs: Vec<(usize, Place)>,
        span: Span,
    },
    Neg(Box<Node>, bool),
    Not(Box<Node>),
    BitNot(Box<Node>),
    Arith(BinOp, Box<Node>, Box<Node>, bool, Span),
    Concat(Vec<Node>),
    Eq(EqKind, bool, Box<Node>, Box<Node>),
    Cmp(BinOp, Box<Node>, Box<Node>),
    AndAlso(Box<Node>, Box<Node>),
    OrElse(Box<Node>, Box<Node>),
    Coalesce(Box<Node>, Box<Node>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
    Conv(Conv, Box<Node>, Span),
    Is(Ty, Box<Node>, Option<u16>),
    As(Ty, Box<Node>),
    /// `target?.rest`: evaluates target into the slot; null short-circuits to null.
    CondAccess(Box<Node>, u16, Box<Node>),
    /// Throws NullReferenceException when the value is null.
    NotNull(Box<Node>, Span),
    Assign(Place, Box<Node>),
    /// `x op= v`, `++x`, `x++`: place, operator, operand, conversion of the result, returns old?
    Compound {
        place: Place,
        op: BinOp,
        value: Box<Node>,
        conv: Option<Conv>,
        post: bool,
        checked: bool,
        concat: bool,
    },
    Lambda(u32),
    Interp(Vec<InterpSeg>),
    /// Evaluates `create` into the slot, runs the initialisers, yields the slot.
    Init(Box<Node>, u16, Vec<Node>),
    Throw(Box<Node>),
    NewArray(Ty, Vec<Node>),
    NewArraySized(Ty, Box<Node>),
    /// Invokes a lambda value with arguments.
    Invoke(Box<Node>, Vec<Node>),
}

#[derive(Debug, Clone)]
pub struct Catch {
    pub exc: Exc,
    pub slot: Option<u16>,
    pub filter: Option<Node>,
    pub body: St,
}

#[derive(Debug, Clone)]
pub enum St {
    Expr(Node),
    Block(Vec<St>),
    If(Node, Box<St>, Option<Box<St>>),
    While(Node, Box<St>),
    DoWhile(Box<St>, Node),
    For(Vec<St>, Option<Node>, Vec<Node>, Box<St>),
    Foreach {
        coll: Node,
        slot: u16,
        conv: Option<Conv>,
        body: Box<St>,
        span: Span,
    },
    Switch {
        value: Node,
        labels: Vec<(Value, usize)>,
        default: Option<usize>,
        bodies: Vec<Vec<St>>,
    },
    Break,
    Continue,
    Return(Node),
    Throw(Option<Node>, Span),
    Try {
        body: Box<St>,
        catches: Vec<Catch>,
        finally: Option<Box<St>>,
    },
    Checked(Box<St>),
}

#[derive(Debug, Clone)]
pub struct LambdaCode {
    pub params: Vec<u16>,
    pub body: LambdaBody,
}

#[derive(Debug, Clone)]
pub enum LambdaBody {
    Expr(Node),
    Block(St),
}

#[derive(Debug, Clone)]
pub enum Body {
    Expr(Node),
    Block(St),
}

/// A compiled expression: evaluate it with [`Program::evaluate`](crate::Program::evaluate).
#[derive(Debug, Clone)]
pub struct Code {
    pub body: Body,
    pub slots: u16,
    pub lambdas: Vec<LambdaCode>,
    pub result: Ty,
}
