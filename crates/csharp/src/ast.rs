//! Syntax tree of an expression or statement block, every node with its source span.

/// Byte offsets into the full expression text (delimiters included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// A type as written: `int`, `JObject`, `List<int>`, `string[]`, `int?`,
/// `Newtonsoft.Json.Linq.JObject`.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeRef {
    /// Dotted name parts; a predefined type is a single part (`int`).
    pub parts: Vec<String>,
    pub args: Vec<TypeRef>,
    pub nullable: bool,
    /// Array ranks (each entry the dimension count); `int[][]` is `[1, 1]`.
    pub ranks: Vec<u8>,
    pub span: Span,
}

impl TypeRef {
    pub fn name(&self) -> String {
        self.parts.join(".")
    }
    pub fn is_var(&self) -> bool {
        self.parts.len() == 1
            && self.parts[0] == "var"
            && self.args.is_empty()
            && self.ranks.is_empty()
            && !self.nullable
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntSuffix {
    None,
    U,
    L,
    UL,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    /// Integer literal value and suffix (type chosen by the checker as C# does).
    Int(u64, IntSuffix),
    Double(f64),
    Float(f32),
    Decimal(rust_decimal::Decimal),
    Char(u16),
    Str(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Mul,
    Div,
    Rem,
    Add,
    Sub,
    Shl,
    Shr,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
    And,
    Xor,
    Or,
    AndAlso,
    OrElse,
    Coalesce,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Lt => "<",
            BinOp::Gt => ">",
            BinOp::Le => "<=",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::And => "&",
            BinOp::Xor => "^",
            BinOp::Or => "|",
            BinOp::AndAlso => "&&",
            BinOp::OrElse => "||",
            BinOp::Coalesce => "??",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Plus,
    Neg,
    Not,
    BitNot,
    PreInc,
    PreDec,
    PostInc,
    PostDec,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArgKind {
    Value,
    Ref,
    /// `out x` (an existing variable or other assignable expression).
    Out,
    /// `out var x` / `out T x`: declares a local.
    OutDecl(TypeRef, String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: Option<String>,
    pub kind: ArgKind,
    /// For `OutDecl` a placeholder `Name` expression naming the new local.
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InitElem {
    /// `Name = value`
    Member(String, Span, Expr),
    /// `[k] = value`
    Index(Vec<Arg>, Expr),
    /// `value` or `{ a, b }` (collection `Add` call arguments)
    Add(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LambdaParam {
    pub ty: Option<TypeRef>,
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LambdaBody {
    Expr(Box<Expr>),
    Block(Box<Stmt>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct InterpPart {
    pub expr: Expr,
    pub align: Option<Expr>,
    pub format: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Hole(Box<InterpPart>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Lit(Lit),
    Interp(Vec<Piece>),
    /// A simple name with optional generic arguments (`x`, `Math`, `Foo<int>`).
    Name(String, Vec<TypeRef>),
    /// A predefined type used as an expression receiver (`int.Parse`).
    PredefType(String),
    Member {
        target: Box<Expr>,
        name: String,
        name_span: Span,
        type_args: Vec<TypeRef>,
        conditional: bool,
    },
    Index {
        target: Box<Expr>,
        args: Vec<Arg>,
        conditional: bool,
    },
    Call {
        target: Box<Expr>,
        args: Vec<Arg>,
    },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Assign {
        op: Option<BinOp>,
        target: Box<Expr>,
        value: Box<Expr>,
    },
    Conditional(Box<Expr>, Box<Expr>, Box<Expr>),
    Cast(TypeRef, Box<Expr>),
    Is {
        expr: Box<Expr>,
        ty: Option<TypeRef>,
        bind: Option<(String, Span)>,
    },
    As(Box<Expr>, TypeRef),
    Lambda {
        params: Vec<LambdaParam>,
        body: LambdaBody,
    },
    New {
        ty: TypeRef,
        args: Vec<Arg>,
        init: Option<Vec<InitElem>>,
    },
    NewArray {
        elem: Option<TypeRef>,
        sizes: Vec<Expr>,
        init: Option<Vec<Expr>>,
    },
    NewAnon(Vec<(String, Span, Expr)>),
    Typeof(TypeRef),
    Default(TypeRef),
    Checked(bool, Box<Expr>),
    /// An array initializer used directly as a declarator value (`int[] a = { 1 }`).
    ArrayInit(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Declarator {
    pub name: String,
    pub span: Span,
    pub init: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CatchClause {
    pub ty: Option<TypeRef>,
    pub name: Option<(String, Span)>,
    pub filter: Option<Expr>,
    pub body: Box<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SwitchSection {
    /// `None` is `default:`.
    pub labels: Vec<Option<Expr>>,
    pub body: Vec<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    Block(Vec<Stmt>),
    Empty,
    Decl(TypeRef, Vec<Declarator>),
    Expr(Expr),
    If(Expr, Box<Stmt>, Option<Box<Stmt>>),
    While(Expr, Box<Stmt>),
    DoWhile(Box<Stmt>, Expr),
    For {
        init: Vec<Stmt>,
        cond: Option<Expr>,
        iter: Vec<Expr>,
        body: Box<Stmt>,
    },
    Foreach {
        ty: TypeRef,
        name: String,
        name_span: Span,
        coll: Expr,
        body: Box<Stmt>,
    },
    Switch(Expr, Vec<SwitchSection>),
    Break,
    Continue,
    Return(Option<Expr>),
    Throw(Option<Expr>),
    Try {
        body: Box<Stmt>,
        catches: Vec<CatchClause>,
        finally: Option<Box<Stmt>>,
    },
    Using(Box<Stmt>, Box<Stmt>),
    Checked(bool, Box<Stmt>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

/// A parsed `@(...)` or `@{...}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Root {
    Expr(Expr),
    Block(Vec<Stmt>, Span),
}
