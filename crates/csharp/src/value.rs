//! Runtime values with .NET semantics. Reference types are shared (`Arc`), so cloning a
//! `Value` is cheap and aliasing behaves as in C#. Everything is `Send + Sync`.
use std::sync::Arc;

use apim_dotnet::{DateTime, DateTimeOffset, Decimal, Guid, JToken, TimeSpan};
use parking_lot::{Mutex, RwLock};

use crate::host::{HostDictionary, HostObject};
use crate::types::{Cls, Exc, Ty};

#[derive(Clone)]
pub enum Value {
    Null,
    Bool(bool),
    /// A UTF-16 code unit.
    Char(u16),
    I8(i8),
    U8(u8),
    I16(i16),
    U16(u16),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    F32(f32),
    F64(f64),
    Dec(Decimal),
    Str(Arc<str>),
    DateTime(DateTime),
    TimeSpan(TimeSpan),
    DateTimeOffset(DateTimeOffset),
    Guid(Guid),
    /// An enum value: its type and underlying value.
    Enum(Cls, i64),
    Json(JToken),
    /// `T[]`: element type and items (arrays have a fixed length).
    Array(Arc<Seq>),
    /// `List<T>`, `HashSet<T>`, `Queue<T>`, `Stack<T>` and lazy LINQ results materialised.
    List(Arc<Seq>),
    Dict(Arc<Dict>),
    /// `KeyValuePair<K, V>`.
    Pair(Arc<Pair>),
    Anon(Arc<Anon>),
    /// A lambda of the running program (index into its lambda table).
    Lambda(u32),
    Host(Arc<dyn HostObject>),
    HostDict(Arc<dyn HostDictionary>),
    Exception(Arc<Exception>),
    Obj(Arc<Obj>),
    /// A type argument passed to a generic library method (and `typeof(T)`).
    Type(Arc<Ty>),
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({})",
            crate::render::render(self),
            crate::render::type_name(self)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqKind {
    Array,
    List,
    HashSet,
    Queue,
    Stack,
    /// The result of a LINQ operator (an `IEnumerable<T>`).
    Enumerable,
}

pub struct Seq {
    pub kind: SeqKind,
    pub elem: Ty,
    pub items: RwLock<Vec<Value>>,
    /// For `OrderBy(...)` results: the key selectors and directions, so `ThenBy` can refine.
    pub ordering: Vec<(Value, bool)>,
    /// For a `Dictionary<K, V>`'s `Keys` / `Values`: K, V and whether these are the keys (its
    /// runtime type is `Dictionary<K, V>.KeyCollection` / `.ValueCollection`).
    pub dict_view: Option<(Ty, Ty, bool)>,
}

impl Seq {
    pub fn new(kind: SeqKind, elem: Ty, items: Vec<Value>) -> Arc<Seq> {
        Arc::new(Seq {
            kind,
            elem,
            items: RwLock::new(items),
            ordering: Vec::new(),
            dict_view: None,
        })
    }
}

pub struct Dict {
    pub key: Ty,
    pub value: Ty,
    /// Insertion order, as .NET's Dictionary enumerates without removals.
    pub entries: RwLock<Vec<(Value, Value)>>,
    pub ignore_case: bool,
}

pub struct Pair {
    pub key_ty: Ty,
    pub value_ty: Ty,
    pub key: Value,
    pub value: Value,
}

pub struct Anon {
    pub fields: Vec<(String, Value)>,
    pub tys: Vec<Ty>,
}

/// A .NET exception value.
#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    pub kind: Exc,
    pub message: String,
    /// `InnerException`.
    pub inner: Option<Arc<Exception>>,
    /// `ArgumentException.ParamName`.
    pub param: Option<String>,
}

impl Exception {
    pub fn new(kind: Exc, message: impl Into<String>) -> Exception {
        Exception {
            kind,
            message: message.into(),
            inner: None,
            param: None,
        }
    }
    pub fn null_ref() -> Exception {
        Exception::new(
            Exc::NullReferenceException,
            "Object reference not set to an instance of an object.",
        )
    }
    pub fn invalid_cast(from: &str, to: &str) -> Exception {
        Exception::new(
            Exc::InvalidCastException,
            format!("Unable to cast object of type '{from}' to type '{to}'."),
        )
    }
    pub fn div_zero() -> Exception {
        Exception::new(Exc::DivideByZeroException, "Attempted to divide by zero.")
    }
    pub fn overflow() -> Exception {
        Exception::new(
            Exc::OverflowException,
            "Arithmetic operation resulted in an overflow.",
        )
    }
    pub fn index_range() -> Exception {
        Exception::new(
            Exc::IndexOutOfRangeException,
            "Index was outside the bounds of the array.",
        )
    }
    pub fn arg_range(param: &str) -> Exception {
        Exception::new(
            Exc::ArgumentOutOfRangeException,
            format!(
                "Index was out of range. Must be non-negative and less than the size of the collection.\r\nParameter name: {param}"
            ),
        )
    }
    pub fn key_not_found(key: &str) -> Exception {
        Exception::new(
            Exc::KeyNotFoundException,
            format!("The given key '{key}' was not present in the dictionary."),
        )
    }
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.kind.namespace(), self.kind.name())
    }
}

impl From<apim_dotnet::DotNetException> for Exception {
    fn from(e: apim_dotnet::DotNetException) -> Exception {
        let kind = Exc::from_name(e.kind.name()).unwrap_or(Exc::Exception);
        Exception::new(kind, e.message)
    }
}

impl std::fmt::Display for Exception {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.full_name(), self.message)
    }
}

/// Other reference objects.
pub enum Obj {
    Random(Mutex<crate::lib_misc::NetRandom>),
    StringBuilder(Mutex<String>),
    Regex(Arc<crate::lib_misc::NetRegex>),
    Match(Arc<crate::lib_misc::MatchData>, usize),
    Encoding(crate::lib_misc::Enc),
    Hash(crate::types::Hash, Vec<u8>),
    Jwt(Arc<crate::lib_misc::JwtData>),
    Basic(String, String),
    Uri(String),
    StringComparer(i64),
    Xml(crate::lib_misc::XNodeRef),
    /// An `XAttribute`: name and value.
    XAttr(String, String),
    /// An `XName`: namespace and local name.
    XName(String, String),
    /// An `IGrouping<TKey, TElement>`: key type, key and the group's elements.
    Grouping(Ty, Value, Arc<Seq>),
    /// A `Tuple<...>`: item types and items.
    Tuple(Vec<crate::types::Ty>, Vec<Value>),
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }
    pub fn string(s: String) -> Value {
        Value::Str(Arc::from(s))
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    pub fn bytes(b: Vec<u8>) -> Value {
        Value::Array(Seq::new(
            SeqKind::Array,
            Ty::U8,
            b.into_iter().map(Value::U8).collect(),
        ))
    }
}
