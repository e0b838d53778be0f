//! Plain values crossing the API boundary: the CLR type a conversion targets and a boxed
//! .NET value. The evaluator maps its own `Value` to and from these.

use crate::datetime::{DateTime, DateTimeOffset, TimeSpan};
use crate::guid::Guid;
use crate::json::JToken;
use rust_decimal::Decimal;

/// A CLR type a conversion (`Convert.ChangeType`, `Value<T>`, `ToObject<T>`, casts) targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClrType {
    Boolean,
    Byte,
    SByte,
    Char,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    UInt64,
    Single,
    Double,
    Decimal,
    String,
    DateTime,
    DateTimeOffset,
    TimeSpan,
    Guid,
    Uri,
    ByteArray,
    /// `object`: the value as stored.
    Object,
    JToken,
    JObject,
    JArray,
    JValue,
    JProperty,
}

impl ClrType {
    /// The .NET simple type name (`Int32`, `String`, ...), as used in exception messages.
    pub fn name(self) -> &'static str {
        match self {
            ClrType::Boolean => "Boolean",
            ClrType::Byte => "Byte",
            ClrType::SByte => "SByte",
            ClrType::Char => "Char",
            ClrType::Int16 => "Int16",
            ClrType::UInt16 => "UInt16",
            ClrType::Int32 => "Int32",
            ClrType::UInt32 => "UInt32",
            ClrType::Int64 => "Int64",
            ClrType::UInt64 => "UInt64",
            ClrType::Single => "Single",
            ClrType::Double => "Double",
            ClrType::Decimal => "Decimal",
            ClrType::String => "String",
            ClrType::DateTime => "DateTime",
            ClrType::DateTimeOffset => "DateTimeOffset",
            ClrType::TimeSpan => "TimeSpan",
            ClrType::Guid => "Guid",
            ClrType::Uri => "Uri",
            ClrType::ByteArray => "Byte[]",
            ClrType::Object => "Object",
            ClrType::JToken => "JToken",
            ClrType::JObject => "JObject",
            ClrType::JArray => "JArray",
            ClrType::JValue => "JValue",
            ClrType::JProperty => "JProperty",
        }
    }
    /// The full name (`System.Int32`, `Newtonsoft.Json.Linq.JObject`).
    pub fn full_name(self) -> String {
        match self {
            ClrType::JToken
            | ClrType::JObject
            | ClrType::JArray
            | ClrType::JValue
            | ClrType::JProperty => {
                format!("Newtonsoft.Json.Linq.{}", self.name())
            }
            _ => format!("System.{}", self.name()),
        }
    }
    pub fn is_value_type(self) -> bool {
        !matches!(
            self,
            ClrType::String
                | ClrType::Uri
                | ClrType::ByteArray
                | ClrType::Object
                | ClrType::JToken
                | ClrType::JObject
                | ClrType::JArray
                | ClrType::JValue
                | ClrType::JProperty
        )
    }
}

/// A boxed .NET value.
#[derive(Debug, Clone)]
pub enum ClrValue {
    Null,
    Boolean(bool),
    Byte(u8),
    SByte(i8),
    /// A UTF-16 code unit.
    Char(u16),
    Int16(i16),
    UInt16(u16),
    Int32(i32),
    UInt32(u32),
    Int64(i64),
    UInt64(u64),
    Single(f32),
    Double(f64),
    Decimal(Decimal),
    String(String),
    DateTime(DateTime),
    DateTimeOffset(DateTimeOffset),
    TimeSpan(TimeSpan),
    Guid(Guid),
    /// `System.Uri`, by its original string.
    Uri(String),
    Bytes(Vec<u8>),
    /// `BigInteger` (only produced by JSON numbers beyond 64 bits).
    BigInteger(num_bigint::BigInt),
    Token(JToken),
    /// Arrays and lists (`int[]`, `List<T>`): serialized as JSON arrays.
    List(Vec<ClrValue>),
    /// Dictionaries, in insertion order: serialized as JSON objects (keys via ToString).
    Dictionary(Vec<(ClrValue, ClrValue)>),
    /// Anonymous objects / plain objects: ordered (field, value) pairs.
    Anonymous(Vec<(String, ClrValue)>),
}

impl ClrValue {
    /// The runtime type's simple name as `GetType().Name` gives it.
    pub fn type_name(&self) -> &'static str {
        match self {
            ClrValue::Null => "Object",
            ClrValue::Boolean(_) => "Boolean",
            ClrValue::Byte(_) => "Byte",
            ClrValue::SByte(_) => "SByte",
            ClrValue::Char(_) => "Char",
            ClrValue::Int16(_) => "Int16",
            ClrValue::UInt16(_) => "UInt16",
            ClrValue::Int32(_) => "Int32",
            ClrValue::UInt32(_) => "UInt32",
            ClrValue::Int64(_) => "Int64",
            ClrValue::UInt64(_) => "UInt64",
            ClrValue::Single(_) => "Single",
            ClrValue::Double(_) => "Double",
            ClrValue::Decimal(_) => "Decimal",
            ClrValue::String(_) => "String",
            ClrValue::DateTime(_) => "DateTime",
            ClrValue::DateTimeOffset(_) => "DateTimeOffset",
            ClrValue::TimeSpan(_) => "TimeSpan",
            ClrValue::Guid(_) => "Guid",
            ClrValue::Uri(_) => "Uri",
            ClrValue::Bytes(_) => "Byte[]",
            ClrValue::BigInteger(_) => "BigInteger",
            ClrValue::Token(t) => t.clr_type_name(),
            ClrValue::List(_) => "List`1",
            ClrValue::Dictionary(_) => "Dictionary`2",
            ClrValue::Anonymous(_) => "<>f__AnonymousType",
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, ClrValue::Null)
    }
}

impl PartialEq for ClrValue {
    fn eq(&self, other: &Self) -> bool {
        use ClrValue::*;
        match (self, other) {
            (Null, Null) => true,
            (Boolean(a), Boolean(b)) => a == b,
            (Byte(a), Byte(b)) => a == b,
            (SByte(a), SByte(b)) => a == b,
            (Char(a), Char(b)) => a == b,
            (Int16(a), Int16(b)) => a == b,
            (UInt16(a), UInt16(b)) => a == b,
            (Int32(a), Int32(b)) => a == b,
            (UInt32(a), UInt32(b)) => a == b,
            (Int64(a), Int64(b)) => a == b,
            (UInt64(a), UInt64(b)) => a == b,
            (Single(a), Single(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Double(a), Double(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Decimal(a), Decimal(b)) => a == b,
            (String(a), String(b)) => a == b,
            (DateTime(a), DateTime(b)) => a == b,
            (DateTimeOffset(a), DateTimeOffset(b)) => a.equals_exact(*b),
            (TimeSpan(a), TimeSpan(b)) => a == b,
            (Guid(a), Guid(b)) => a == b,
            (Uri(a), Uri(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (BigInteger(a), BigInteger(b)) => a == b,
            (Token(a), Token(b)) => a.same_reference(b),
            (List(a), List(b)) => a == b,
            (Dictionary(a), Dictionary(b)) => a == b,
            (Anonymous(a), Anonymous(b)) => a == b,
            _ => false,
        }
    }
}
