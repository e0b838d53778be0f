//! Library bindings: object, string, numbers, Math, Convert, DateTime/TimeSpan/Guid,
//! collections, dictionaries (including the context's), LINQ, exceptions.
use std::cmp::Ordering;
use std::sync::Arc;

use apim_dotnet::{DateTime, DateTimeKind, DateTimeOffset, Decimal, Guid, TimeSpan};

use crate::code::{Fault, NativeFn};
use crate::interp::{Machine, as_f64, as_i64, compare, values_equal};
use crate::members::{Kind, Member, P};
use crate::render::net_string;
use crate::types::{Cls, Exc, Gen, Ty};
use crate::value::*;

pub type R<T> = Result<T, Fault>;

// ------------------------------------------------------------------ helpers
pub fn exc(kind: Exc, msg: impl Into<String>) -> Fault {
    Fault::Throw(Exception::new(kind, msg))
}

pub fn arg_null(param: &str) -> Fault {
    exc(
        Exc::ArgumentNullException,
        format!("Value cannot be null.\r\nParameter name: {param}"),
    )
}

pub fn s_of<'v>(v: &'v Value, param: &str) -> R<&'v str> {
    match v {
        Value::Str(s) => Ok(s),
        Value::Null => Err(arg_null(param)),
        _ => Err(exc(Exc::InvalidCastException, "expected a string")),
    }
}

pub fn recv_str(v: &Value) -> R<&str> {
    match v {
        Value::Str(s) => Ok(s),
        Value::Null => Err(Exception::null_ref().into()),
        _ => Err(exc(Exc::InvalidCastException, "expected a string")),
    }
}

pub fn i32_of(v: &Value) -> i32 {
    as_i64(v).unwrap_or(0) as i32
}

pub fn i64_of(v: &Value) -> i64 {
    as_i64(v).unwrap_or(0)
}

pub fn f64_of(v: &Value) -> f64 {
    as_f64(v).unwrap_or(0.0)
}

pub fn bool_of(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

pub fn ty_of(v: &Value) -> Ty {
    match v {
        Value::Type(t) => (**t).clone(),
        _ => Ty::Object,
    }
}

pub fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

fn from_utf16(u: &[u16]) -> String {
    String::from_utf16_lossy(u)
}

fn char_str(c: u16) -> String {
    String::from_utf16_lossy(&[c])
}

pub fn str_array(items: Vec<String>) -> Value {
    Value::Array(Seq::new(
        SeqKind::Array,
        Ty::String,
        items.into_iter().map(Value::string).collect(),
    ))
}

pub fn seq_items(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(s) | Value::List(s) => Some(s.items.read().clone()),
        _ => None,
    }
}

pub fn bytes_of(v: &Value) -> R<Vec<u8>> {
    match v {
        Value::Array(s) => Ok(s
            .items
            .read()
            .iter()
            .map(|x| if let Value::U8(b) = x { *b } else { 0 })
            .collect()),
        Value::Null => Err(arg_null("bytes")),
        _ => Err(exc(Exc::InvalidCastException, "expected byte[]")),
    }
}

fn ok<T: Into<Value>>(v: T) -> R<Value> {
    Ok(v.into())
}

/// The primitive results natives return, each wrapped in its own variant.
macro_rules! value_from {
    ($($t:ty => $variant:ident),*) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$variant(v)
            }
        })*
    };
}
value_from!(bool => Bool, i32 => I32, i64 => I64, f64 => F64);
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::string(s)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

// ------------------------------------------------------------------ lookup
/// Member tables for a type, most derived first.
pub fn tables(t: &Ty) -> Vec<&'static [Member]> {
    let mut v: Vec<&'static [Member]> = match t {
        Ty::String => vec![STRING],
        Ty::Bool => vec![BOOL],
        Ty::Char => vec![CHAR],
        Ty::I32 => vec![INT32],
        Ty::I64 => vec![INT64],
        Ty::U8 => vec![BYTE],
        Ty::I8 => vec![SBYTE],
        Ty::I16 => vec![INT16],
        Ty::U16 => vec![UINT16],
        Ty::U32 => vec![UINT32],
        Ty::U64 => vec![UINT64],
        Ty::F64 => vec![DOUBLE],
        Ty::F32 => vec![FLOAT],
        Ty::Decimal => vec![DECIMAL],
        Ty::Object => vec![],
        Ty::Nullable(_) => vec![NULLABLE],
        Ty::Array(_) => vec![ARRAY],
        Ty::Named(c) => match c {
            Cls::Math => vec![MATH],
            Cls::Convert => vec![CONVERT],
            Cls::DateTime => vec![DATETIME],
            Cls::DateTimeOffset => vec![DATETIMEOFFSET],
            Cls::TimeSpan => vec![TIMESPAN],
            Cls::Guid => vec![GUID],
            Cls::SysArray => vec![SYSARRAY],
            Cls::Enumerable => vec![ENUMERABLE],
            Cls::TupleClass => vec![TUPLE_CLASS],
            Cls::Exception(e) if e.is_a(Exc::ArgumentException) => vec![ARG_EXCEPTION, EXCEPTION],
            Cls::Exception(_) => vec![EXCEPTION],
            Cls::JObject => vec![
                crate::lib_json::JOBJECT,
                crate::lib_json::JCONTAINER,
                crate::lib_json::JTOKEN,
            ],
            Cls::JArray => vec![
                crate::lib_json::JARRAY,
                crate::lib_json::JCONTAINER,
                crate::lib_json::JTOKEN,
            ],
            Cls::JProperty => vec![
                crate::lib_json::JPROPERTY,
                crate::lib_json::JCONTAINER,
                crate::lib_json::JTOKEN,
            ],
            Cls::JValue => vec![crate::lib_json::JVALUE, crate::lib_json::JTOKEN],
            Cls::JContainer => vec![crate::lib_json::JCONTAINER, crate::lib_json::JTOKEN],
            Cls::JToken => vec![crate::lib_json::JTOKEN],
            Cls::JsonConvert => vec![crate::lib_json::JSONCONVERT],
            c => crate::lib_misc::tables(*c),
        },
        Ty::Gen(g, _) => match g {
            Gen::List => vec![LIST],
            Gen::HashSet => vec![HASHSET],
            Gen::Queue => vec![QUEUE],
            Gen::Stack => vec![STACK],
            Gen::Dictionary | Gen::IDictionary => vec![DICT, RODICT],
            Gen::IReadOnlyDictionary => vec![RODICT],
            Gen::KeyValuePair => vec![KVP],
            Gen::Tuple => vec![TUPLE],
            Gen::IGrouping => vec![GROUPING],
            Gen::IList | Gen::ICollection | Gen::IReadOnlyCollection => vec![ICOLL],
            _ => vec![],
        },
        _ => vec![],
    };
    v.push(OBJECT);
    v
}

/// Extension methods applicable to a receiver (LINQ on enumerables).
pub fn extension_tables(t: &Ty) -> Vec<&'static [Member]> {
    let mut v = Vec::new();
    if t.element().is_some() {
        v.push(LINQ);
    }
    v
}

pub fn enum_member(t: &Ty, name: &str) -> Option<Value> {
    let Ty::Named(c) = t else { return None };
    let names = enum_names(*c)?;
    let i = names.iter().position(|(n, _)| *n == name)?;
    Some(Value::Enum(*c, names[i].1))
}

fn enum_names(c: Cls) -> Option<&'static [(&'static str, i64)]> {
    Some(match c {
        Cls::JTokenType => &[
            ("None", 0),
            ("Object", 1),
            ("Array", 2),
            ("Constructor", 3),
            ("Property", 4),
            ("Comment", 5),
            ("Integer", 6),
            ("Float", 7),
            ("String", 8),
            ("Boolean", 9),
            ("Null", 10),
            ("Undefined", 11),
            ("Date", 12),
            ("Raw", 13),
            ("Bytes", 14),
            ("Guid", 15),
            ("Uri", 16),
            ("TimeSpan", 17),
        ],
        Cls::Formatting => &[("None", 0), ("Indented", 1)],
        Cls::StringComparison => &[
            ("CurrentCulture", 0),
            ("CurrentCultureIgnoreCase", 1),
            ("InvariantCulture", 2),
            ("InvariantCultureIgnoreCase", 3),
            ("Ordinal", 4),
            ("OrdinalIgnoreCase", 5),
        ],
        Cls::StringSplitOptions => &[("None", 0), ("RemoveEmptyEntries", 1), ("TrimEntries", 2)],
        Cls::RegexOptions => &[
            ("None", 0),
            ("IgnoreCase", 1),
            ("Multiline", 2),
            ("ExplicitCapture", 4),
            ("Compiled", 8),
            ("Singleline", 16),
            ("IgnorePatternWhitespace", 32),
            ("RightToLeft", 64),
            ("ECMAScript", 256),
            ("CultureInvariant", 512),
        ],
        Cls::DayOfWeek => &[
            ("Sunday", 0),
            ("Monday", 1),
            ("Tuesday", 2),
            ("Wednesday", 3),
            ("Thursday", 4),
            ("Friday", 5),
            ("Saturday", 6),
        ],
        Cls::DateTimeKind => &[("Unspecified", 0), ("Utc", 1), ("Local", 2)],
        Cls::MidpointRounding => &[
            ("ToEven", 0),
            ("AwayFromZero", 1),
            ("ToZero", 2),
            ("ToNegativeInfinity", 3),
            ("ToPositiveInfinity", 4),
        ],
        Cls::UriKind => &[("RelativeOrAbsolute", 0), ("Absolute", 1), ("Relative", 2)],
        Cls::UriPartial => &[("Scheme", 0), ("Authority", 1), ("Path", 2), ("Query", 3)],
        Cls::SaveOptions => &[
            ("None", 0),
            ("DisableFormatting", 1),
            ("OmitDuplicateNamespaces", 2),
        ],
        Cls::ProductState => &[("NotPublished", 0), ("Published", 1)],
        Cls::BackendType => &[("Single", 0), ("Pool", 1)],
        _ => return None,
    })
}

pub fn enum_name(c: Cls, v: i64) -> String {
    match enum_names(c).and_then(|n| n.iter().find(|(_, x)| *x == v)) {
        Some((n, _)) => n.to_string(),
        None => v.to_string(),
    }
}

pub fn const_field(t: &Ty, name: &str) -> Option<Value> {
    Some(match (t, name) {
        (Ty::I32, "MaxValue") => Value::I32(i32::MAX),
        (Ty::I32, "MinValue") => Value::I32(i32::MIN),
        (Ty::I64, "MaxValue") => Value::I64(i64::MAX),
        (Ty::I64, "MinValue") => Value::I64(i64::MIN),
        (Ty::U8, "MaxValue") => Value::U8(u8::MAX),
        (Ty::U8, "MinValue") => Value::U8(0),
        (Ty::I16, "MaxValue") => Value::I16(i16::MAX),
        (Ty::U32, "MaxValue") => Value::U32(u32::MAX),
        (Ty::U64, "MaxValue") => Value::U64(u64::MAX),
        (Ty::F64, "MaxValue") => Value::F64(f64::MAX),
        (Ty::F32, "MaxValue") => Value::F32(f32::MAX),
        (Ty::F32, "MinValue") => Value::F32(f32::MIN),
        (Ty::U16, "MaxValue") => Value::U16(u16::MAX),
        (Ty::I8, "MaxValue") => Value::I8(i8::MAX),
        (Ty::I16, "MinValue") => Value::I16(i16::MIN),
        (Ty::Char, "MaxValue") => Value::Char(u16::MAX),
        (Ty::F64, "MinValue") => Value::F64(f64::MIN),
        (Ty::F64, "Epsilon") => Value::F64(f64::from_bits(1)),
        (Ty::F64, "NaN") => Value::F64(f64::NAN),
        (Ty::F64, "PositiveInfinity") => Value::F64(f64::INFINITY),
        (Ty::F64, "NegativeInfinity") => Value::F64(f64::NEG_INFINITY),
        (Ty::Decimal, "MaxValue") => Value::Dec(Decimal::MAX),
        (Ty::Decimal, "MinValue") => Value::Dec(Decimal::MIN),
        (Ty::Decimal, "Zero") => Value::Dec(Decimal::ZERO),
        (Ty::Decimal, "One") => Value::Dec(Decimal::ONE),
        (Ty::String, "Empty") => Value::str(""),
        (Ty::Named(Cls::Math), "PI") => Value::F64(std::f64::consts::PI),
        (Ty::Named(Cls::Math), "E") => Value::F64(std::f64::consts::E),
        (Ty::Named(Cls::DateTime), "MinValue") => Value::DateTime(DateTime::MIN_VALUE),
        (Ty::Named(Cls::DateTime), "MaxValue") => Value::DateTime(DateTime::MAX_VALUE),
        (Ty::Named(Cls::TimeSpan), "Zero") => Value::TimeSpan(TimeSpan::from_ticks(0)),
        (Ty::Named(Cls::TimeSpan), "MaxValue") => Value::TimeSpan(TimeSpan::from_ticks(i64::MAX)),
        (Ty::Named(Cls::TimeSpan), "MinValue") => Value::TimeSpan(TimeSpan::from_ticks(i64::MIN)),
        (Ty::Named(Cls::Guid), "Empty") => Value::Guid(Guid::from_bytes([0; 16])),
        _ => return None,
    })
}

/// Settable properties (`Name = value` in initialisers, `x.Prop = v`): setter and (getter, type).
pub fn property_setter(t: &Ty, name: &str) -> Option<(NativeFn, (NativeFn, Ty))> {
    crate::lib_json::property_setter(t, name).or_else(|| crate::lib_misc::property_setter(t, name))
}

pub fn new_anon(_m: &mut Machine<'_>, a: &mut [Value]) -> R<Value> {
    let Value::Type(t) = &a[0] else {
        return Ok(Value::Null);
    };
    let Ty::Anon(fields) = &**t else {
        return Ok(Value::Null);
    };
    let vals: Vec<(String, Value)> = fields
        .iter()
        .zip(a[1..].iter())
        .map(|((n, _), v)| (n.clone(), v.clone()))
        .collect();
    Ok(Value::Anon(Arc::new(Anon {
        fields: vals,
        tys: fields.iter().map(|(_, t)| t.clone()).collect(),
    })))
}

pub fn anon_field(_m: &mut Machine<'_>, a: &mut [Value]) -> R<Value> {
    match &a[0] {
        Value::Anon(o) => Ok(o
            .fields
            .get(i32_of(&a[1]) as usize)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null)),
        Value::Null => Err(Exception::null_ref().into()),
        _ => Ok(Value::Null),
    }
}

/// Materialises an enumerable value.
pub fn enumerate(_m: &mut Machine<'_>, v: &Value) -> R<Vec<Value>> {
    Ok(match v {
        Value::Array(s) | Value::List(s) => {
            let items = s.items.read().clone();
            if s.kind == SeqKind::Stack {
                items.into_iter().rev().collect()
            } else {
                items
            }
        }
        Value::Str(s) => s.encode_utf16().map(Value::Char).collect(),
        Value::Json(j) => j.children().into_iter().map(Value::Json).collect(),
        Value::Obj(o) if matches!(&**o, Obj::Grouping(..)) => match &**o {
            Obj::Grouping(_, _, s) => s.items.read().clone(),
            _ => Vec::new(),
        },
        Value::Dict(d) => d
            .entries
            .read()
            .iter()
            .map(|(k, v)| {
                Value::Pair(Arc::new(Pair {
                    key_ty: d.key.clone(),
                    value_ty: d.value.clone(),
                    key: k.clone(),
                    value: v.clone(),
                }))
            })
            .collect(),
        Value::HostDict(h) => {
            let keys = h.keys();
            let vty = Ty::Object;
            keys.into_iter()
                .map(|k| {
                    let value = h.get(&k).unwrap_or(Value::Null);
                    let value_ty = match &value {
                        Value::Array(s) => Ty::array(s.elem.clone()),
                        Value::Str(_) => Ty::String,
                        _ => vty.clone(),
                    };
                    Value::Pair(Arc::new(Pair {
                        key_ty: Ty::String,
                        value_ty,
                        key: Value::Str(k),
                        value,
                    }))
                })
                .collect()
        }
        Value::Obj(o) => match &**o {
            Obj::Match(m, _) => (0..m.groups().len())
                .map(|g| Value::Obj(Arc::new(Obj::Match(m.clone(), g))))
                .collect(),
            _ => return Err(exc(Exc::InvalidCastException, "value is not enumerable")),
        },
        Value::Null => return Err(Exception::null_ref().into()),
        _ => return Err(exc(Exc::InvalidCastException, "value is not enumerable")),
    })
}

// ------------------------------------------------------------------ formatting
/// `value.ToString(format)` / interpolation hole format.
pub fn format_with(v: &Value, f: &str) -> R<String> {
    use apim_dotnet::number_format as nf;
    Ok(match v {
        Value::I8(x) => nf::format_integer(*x as i128, 8, true, f)?,
        Value::U8(x) => nf::format_integer(*x as i128, 8, false, f)?,
        Value::I16(x) => nf::format_integer(*x as i128, 16, true, f)?,
        Value::U16(x) => nf::format_integer(*x as i128, 16, false, f)?,
        Value::I32(x) => nf::format_integer(*x as i128, 32, true, f)?,
        Value::U32(x) => nf::format_integer(*x as i128, 32, false, f)?,
        Value::I64(x) => nf::format_integer(*x as i128, 64, true, f)?,
        Value::U64(x) => nf::format_integer(*x as i128, 64, false, f)?,
        Value::F64(x) => nf::format_double_with(*x, f)?,
        Value::F32(x) => nf::format_single_with(*x, f)?,
        Value::Dec(x) => nf::format_decimal_with(*x, f)?,
        Value::DateTime(d) => format_datetime(*d, f)?,
        Value::DateTimeOffset(d) => format_dto(*d, f)?,
        Value::Guid(g) => g.to_string_format(f)?,
        Value::TimeSpan(t) => apim_dotnet::datetime_format::format_timespan(*t, f)?,
        other => net_string(other),
    })
}

pub fn pad_align(out: &mut String, text: &str, align: i32) {
    let len = utf16_len(text) as i32;
    let width = align.abs();
    if len >= width {
        out.push_str(text);
    } else if align > 0 {
        out.extend(std::iter::repeat_n(' ', (width - len) as usize));
        out.push_str(text);
    } else {
        out.push_str(text);
        out.extend(std::iter::repeat_n(' ', (width - len) as usize));
    }
}

pub fn format_datetime_o(d: DateTime) -> String {
    format_datetime(d, "o").unwrap_or_default()
}

pub fn format_dto_o(d: DateTimeOffset) -> String {
    format_dto(d, "o").unwrap_or_default()
}

fn format_dto(d: DateTimeOffset, f: &str) -> R<String> {
    Ok(apim_dotnet::datetime_format::format_date_time_offset(d, f)?)
}

pub fn format_datetime(d: DateTime, f: &str) -> R<String> {
    Ok(apim_dotnet::datetime_format::format_date_time(d, f)?)
}

pub fn compare_strings_culture(a: &str, b: &str) -> Ordering {
    // Invariant culture comparison approximated: case-insensitive first, lower before upper.
    let la = a.to_lowercase();
    let lb = b.to_lowercase();
    match la.cmp(&lb) {
        Ordering::Equal => b.cmp(a),
        o => o,
    }
}

// ------------------------------------------------------------------ object
fn obj_to_string(_m: &mut Machine<'_>, a: &mut [Value]) -> R<Value> {
    Ok(Value::string(net_string(&a[0])))
}
fn obj_equals(_m: &mut Machine<'_>, a: &mut [Value]) -> R<Value> {
    ok(crate::interp::values_equal(&a[0], &a[1])
        && crate::render::type_name(&a[0]) == crate::render::type_name(&a[1]))
}
fn obj_hash(_m: &mut Machine<'_>, a: &mut [Value]) -> R<Value> {
    Ok(Value::I32(match &a[0] {
        Value::Guid(g) => g.get_hash_code(),
        Value::I32(x) => *x,
        Value::Bool(b) => *b as i32,
        Value::I64(x) => (*x as i32) ^ ((*x >> 32) as i32),
        Value::DateTime(d) => d.get_hash_code(),
        Value::Str(s) => string_hash(s),
        Value::Char(c) => (*c as i32) | ((*c as i32) << 16),
        _ => {
            return Err(exc(
                Exc::NotSupportedException,
                "GetHashCode of this value is not reproducible",
            ));
        }
    }))
}

/// .NET Framework 64-bit `string.GetHashCode()` (randomised per process on .NET Core).
fn string_hash(s: &str) -> i32 {
    let u = utf16(s);
    let mut h1: i32 = 5381;
    let mut h2: i32 = h1;
    let mut i = 0;
    while i < u.len() {
        h1 = (h1.wrapping_shl(5).wrapping_add(h1)) ^ (u[i] as i32);
        if i + 1 < u.len() {
            h2 = (h2.wrapping_shl(5).wrapping_add(h2)) ^ (u[i + 1] as i32);
        }
        i += 2;
    }
    h1.wrapping_add(h2.wrapping_mul(1566083941))
}

static OBJECT: &[Member] = &[
    Member::method("ToString", &[], P::Str, obj_to_string),
    Member::method("Equals", &[P::Obj], P::Bool, obj_equals),
    Member::method("GetHashCode", &[], P::I32, obj_hash),
];

// ------------------------------------------------------------------ string
/// Declares a native member function `fn(machine, args) -> R<Value>` (the library modules
/// share it under their own names).
macro_rules! sfn {
    ($name:ident, |$m:ident, $a:ident| $body:expr) => {
        fn $name($m: &mut Machine<'_>, $a: &mut [Value]) -> R<Value> {
            let _ = (&$m, &$a);
            $body
        }
    };
}
pub(crate) use sfn;

fn cmp_kind(v: &Value) -> i64 {
    match v {
        Value::Enum(Cls::StringComparison, k) => *k,
        _ => 4,
    }
}
fn ignore_case(kind: i64) -> bool {
    kind % 2 == 1
}
fn fold(s: &str, ic: bool) -> String {
    if ic {
        apim_dotnet::string::to_upper_invariant(s)
    } else {
        s.to_string()
    }
}

fn index_of_units(hay: &[u16], needle: &[u16], start: usize) -> Option<usize> {
    if needle.is_empty() {
        return Some(start);
    }
    if needle.len() > hay.len() {
        return None;
    }
    (start..=hay.len() - needle.len()).find(|&i| hay[i..i + needle.len()] == *needle)
}

sfn!(str_length, |m, a| Ok(Value::I32(
    utf16_len(recv_str(&a[0])?) as i32
)));
sfn!(str_contains, |m, a| {
    let s = recv_str(&a[0])?;
    let v = s_of(&a[1], "value")?;
    ok(s.contains(v))
});
sfn!(str_contains_char, |m, a| {
    let s = recv_str(&a[0])?;
    let Value::Char(c) = a[1] else {
        return ok(false);
    };
    ok(s.encode_utf16().any(|x| x == c))
});
sfn!(str_starts, |m, a| {
    let s = recv_str(&a[0])?;
    let v = s_of(&a[1], "value")?;
    let k = if a.len() > 2 { cmp_kind(&a[2]) } else { 0 };
    let ic = ignore_case(k);
    ok(fold(s, ic).starts_with(&fold(v, ic)))
});
sfn!(str_ends, |m, a| {
    let s = recv_str(&a[0])?;
    let v = s_of(&a[1], "value")?;
    let k = if a.len() > 2 { cmp_kind(&a[2]) } else { 0 };
    let ic = ignore_case(k);
    ok(fold(s, ic).ends_with(&fold(v, ic)))
});
sfn!(str_equals_cmp, |m, a| {
    let s = recv_str(&a[0])?;
    let ic = ignore_case(cmp_kind(&a[2]));
    match &a[1] {
        Value::Str(v) => ok(fold(s, ic) == fold(v, ic)),
        _ => ok(false),
    }
});
sfn!(str_equals, |m, a| {
    let s = recv_str(&a[0])?;
    match &a[1] {
        Value::Str(v) => ok(s == &**v),
        _ => ok(false),
    }
});
sfn!(str_s_equals, |m, a| {
    let ic = if a.len() > 2 {
        ignore_case(cmp_kind(&a[2]))
    } else {
        false
    };
    match (&a[0], &a[1]) {
        (Value::Str(x), Value::Str(y)) => ok(fold(x, ic) == fold(y, ic)),
        (Value::Null, Value::Null) => ok(true),
        _ => ok(false),
    }
});
sfn!(str_index_of, |m, a| {
    let s = recv_str(&a[0])?;
    let hay = utf16(s);
    let start = if a.len() > 2 && matches!(a[2], Value::I32(_)) {
        i32_of(&a[2])
    } else {
        0
    };
    if start < 0 || start as usize > hay.len() {
        return Err(Exception::arg_range("startIndex").into());
    }
    let ic = a.len() > 2
        && matches!(a[a.len() - 1], Value::Enum(Cls::StringComparison, _))
        && ignore_case(cmp_kind(&a[a.len() - 1]));
    let needle: Vec<u16> = match &a[1] {
        Value::Char(c) => vec![*c],
        v => utf16(&fold(s_of(v, "value")?, ic)),
    };
    let hay = if ic { utf16(&fold(s, true)) } else { hay };
    ok(index_of_units(&hay, &needle, start as usize)
        .map(|i| i as i32)
        .unwrap_or(-1))
});
sfn!(str_last_index_of, |m, a| {
    let s = recv_str(&a[0])?;
    let hay = utf16(s);
    let needle: Vec<u16> = match &a[1] {
        Value::Char(c) => vec![*c],
        v => utf16(s_of(v, "value")?),
    };
    if needle.is_empty() {
        return ok(hay.len().saturating_sub(1) as i32);
    }
    if needle.len() > hay.len() {
        return ok(-1);
    }
    ok((0..=hay.len() - needle.len())
        .rev()
        .find(|&i| hay[i..i + needle.len()] == *needle)
        .map(|i| i as i32)
        .unwrap_or(-1))
});
sfn!(str_substring, |m, a| {
    let s = recv_str(&a[0])?;
    let u = utf16(s);
    let start = i32_of(&a[1]);
    if start < 0 || start as usize > u.len() {
        return Err(exc(
            Exc::ArgumentOutOfRangeException,
            "startIndex cannot be larger than length of string.\r\nParameter name: startIndex",
        ));
    }
    let len = if a.len() > 2 {
        i32_of(&a[2])
    } else {
        u.len() as i32 - start
    };
    if len < 0 || start as usize + len as usize > u.len() {
        return Err(exc(
            Exc::ArgumentOutOfRangeException,
            "Index and length must refer to a location within the string.\r\nParameter name: length",
        ));
    }
    Ok(Value::string(from_utf16(
        &u[start as usize..(start + len) as usize],
    )))
});
/// The `char` items of a `char[]` (other items cannot occur in one).
fn char_units(s: &Seq) -> Vec<u16> {
    s.items
        .read()
        .iter()
        .filter_map(|c| {
            if let Value::Char(c) = c {
                Some(*c)
            } else {
                None
            }
        })
        .collect()
}
fn trim_set(a: &[Value]) -> Option<Vec<u16>> {
    match a.get(1) {
        Some(Value::Array(s)) => {
            let v = char_units(s);
            if v.is_empty() { None } else { Some(v) }
        }
        Some(Value::Char(c)) => Some(vec![*c]),
        _ => None,
    }
}
fn do_trim(a: &[Value], start: bool, end: bool) -> R<Value> {
    let s = recv_str(&a[0])?;
    let u = utf16(s);
    let set = trim_set(a);
    let is_trim = |c: u16| match &set {
        Some(v) => v.contains(&c),
        None => char::from_u32(c as u32).is_some_and(apim_dotnet::string::is_dotnet_whitespace),
    };
    let mut i = 0;
    let mut j = u.len();
    if start {
        while i < j && is_trim(u[i]) {
            i += 1;
        }
    }
    if end {
        while j > i && is_trim(u[j - 1]) {
            j -= 1;
        }
    }
    Ok(Value::string(from_utf16(&u[i..j])))
}
sfn!(str_trim, |m, a| do_trim(a, true, true));
sfn!(str_trim_start, |m, a| do_trim(a, true, false));
sfn!(str_trim_end, |m, a| do_trim(a, false, true));
sfn!(str_upper, |m, a| Ok(Value::string(
    apim_dotnet::string::to_upper_invariant(recv_str(&a[0])?)
)));
sfn!(str_lower, |m, a| Ok(Value::string(
    apim_dotnet::string::to_lower_invariant(recv_str(&a[0])?)
)));
sfn!(str_replace, |m, a| {
    let s = recv_str(&a[0])?;
    match (&a[1], &a[2]) {
        (Value::Char(x), Value::Char(y)) => {
            let u: Vec<u16> = s
                .encode_utf16()
                .map(|c| if c == *x { *y } else { c })
                .collect();
            Ok(Value::string(from_utf16(&u)))
        }
        (old, new) => {
            let old = s_of(old, "oldValue")?;
            if old.is_empty() {
                return Err(exc(
                    Exc::ArgumentException,
                    "String cannot be of zero length.\r\nParameter name: oldValue",
                ));
            }
            let new = match new {
                Value::Str(n) => n.to_string(),
                _ => String::new(),
            };
            Ok(Value::string(s.replace(old, &new)))
        }
    }
});
sfn!(str_split, |m, a| {
    let s = recv_str(&a[0])?;
    let opts = a
        .iter()
        .skip(1)
        .find_map(|v| {
            if let Value::Enum(Cls::StringSplitOptions, k) = v {
                Some(*k)
            } else {
                None
            }
        })
        .unwrap_or(0);
    let count = a.iter().skip(2).find_map(|v| {
        if let Value::I32(n) = v {
            Some(*n)
        } else {
            None
        }
    });
    let mut seps: Vec<Vec<u16>> = Vec::new();
    match &a[1] {
        Value::Char(c) => seps.push(vec![*c]),
        Value::Str(x) => seps.push(utf16(x)),
        Value::Array(arr) => {
            for v in arr.items.read().iter() {
                match v {
                    Value::Char(c) => seps.push(vec![*c]),
                    Value::Str(x) if !x.is_empty() => seps.push(utf16(x)),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    let u = utf16(s);
    let mut parts: Vec<Vec<u16>> = Vec::new();
    let mut cur = Vec::new();
    let mut i = 0;
    let ws = seps.is_empty();
    let limit = count.unwrap_or(i32::MAX);
    if limit < 0 {
        return Err(exc(
            Exc::ArgumentOutOfRangeException,
            "Count cannot be less than zero.\r\nParameter name: count",
        ));
    }
    if limit == 0 {
        return Ok(str_array(vec![]));
    }
    while i < u.len() {
        if parts.len() as i32 + 1 >= limit {
            break;
        }
        let hit = if ws {
            if char::from_u32(u[i] as u32).is_some_and(apim_dotnet::string::is_dotnet_whitespace) {
                Some(1)
            } else {
                None
            }
        } else {
            seps.iter()
                .find(|sep| u[i..].starts_with(sep))
                .map(|s| s.len())
        };
        match hit {
            Some(n) => {
                parts.push(std::mem::take(&mut cur));
                i += n;
            }
            None => {
                cur.push(u[i]);
                i += 1;
            }
        }
    }
    cur.extend_from_slice(&u[i.min(u.len())..]);
    parts.push(cur);
    let mut out: Vec<String> = parts.iter().map(|p| from_utf16(p)).collect();
    if opts & 2 != 0 {
        out = out.into_iter().map(|x| x.trim().to_string()).collect();
    }
    if opts & 1 != 0 {
        out.retain(|x| !x.is_empty());
    }
    Ok(str_array(out))
});
sfn!(str_is_null_or_empty, |m, a| ok(match &a[0] {
    Value::Str(s) => s.is_empty(),
    _ => true,
}));
sfn!(str_is_null_or_ws, |m, a| ok(match &a[0] {
    Value::Str(s) => s.chars().all(apim_dotnet::string::is_dotnet_whitespace),
    _ => true,
}));
sfn!(str_format, |m, a| {
    let f = s_of(&a[0], "format")?;
    let args = match &a[1] {
        Value::Array(s) => s.items.read().clone(),
        Value::Null => return Err(arg_null("args")),
        _ => vec![],
    };
    Ok(Value::string(composite_format(f, &args)?))
});
sfn!(str_join, |m, a| {
    let sep = match &a[0] {
        Value::Str(s) => s.to_string(),
        Value::Char(c) => char_str(*c),
        _ => String::new(),
    };
    let items = enumerate(m, &a[1])?;
    let parts: Vec<String> = items.iter().map(net_string).collect();
    Ok(Value::string(parts.join(&sep)))
});
sfn!(str_concat, |m, a| {
    let mut s = String::new();
    match &a[0] {
        Value::Array(arr) => {
            for v in arr.items.read().iter() {
                crate::render::append_net_string(&mut s, v);
            }
        }
        other => {
            for v in enumerate(m, other)? {
                crate::render::append_net_string(&mut s, &v);
            }
        }
    }
    Ok(Value::string(s))
});
sfn!(str_compare, |m, a| {
    let ic = if a.len() > 2 {
        match &a[2] {
            Value::Bool(b) => *b,
            v => ignore_case(cmp_kind(v)),
        }
    } else {
        false
    };
    let ordinal = a.len() > 2 && matches!(a[2], Value::Enum(_, 4 | 5));
    let r = match (&a[0], &a[1]) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Str(x), Value::Str(y)) => {
            if ordinal {
                return ok(ordinal_diff(&fold(x, ic), &fold(y, ic)));
            } else if ic {
                compare_strings_culture(&x.to_lowercase(), &y.to_lowercase())
            } else {
                compare_strings_culture(x, y)
            }
        }
        _ => Ordering::Equal,
    };
    ok(match r {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    })
});
fn ordinal_diff(x: &str, y: &str) -> i32 {
    let (a, b) = (utf16(x), utf16(y));
    for (p, q) in a.iter().zip(b.iter()) {
        if p != q {
            return *p as i32 - *q as i32;
        }
    }
    a.len() as i32 - b.len() as i32
}
sfn!(str_compare_ordinal, |m, a| ok(match (&a[0], &a[1]) {
    (Value::Str(x), Value::Str(y)) => ordinal_diff(x, y),
    (Value::Null, Value::Null) => 0,
    (Value::Null, _) => -1,
    _ => 1,
}));
sfn!(str_compare_to, |m, a| {
    let s = recv_str(&a[0])?;
    ok(match &a[1] {
        Value::Str(y) => match compare_strings_culture(s, y) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        },
        _ => 1,
    })
});
sfn!(str_new_chars, |m, a| {
    let units: Vec<u16> = match &a[1] {
        Value::Array(s) => char_units(s),
        _ => Vec::new(),
    };
    Ok(Value::string(from_utf16(&units)))
});
sfn!(str_to_char_array, |m, a| {
    let s = recv_str(&a[0])?;
    Ok(Value::Array(Seq::new(
        SeqKind::Array,
        Ty::Char,
        s.encode_utf16().map(Value::Char).collect(),
    )))
});
sfn!(str_index, |m, a| {
    let s = recv_str(&a[0])?;
    let i = i32_of(&a[1]);
    let u = utf16(s);
    if i < 0 || i as usize >= u.len() {
        return Err(Exception::index_range().into());
    }
    Ok(Value::Char(u[i as usize]))
});
/// PadLeft/PadRight: the same checks and fill, only the side the fill goes differs.
fn pad(m: &mut Machine<'_>, a: &[Value], left: bool) -> R<Value> {
    let s = recv_str(&a[0])?;
    let w = i32_of(&a[1]);
    if w < 0 {
        return Err(exc(
            Exc::ArgumentOutOfRangeException,
            "Non-negative number required.\r\nParameter name: totalWidth",
        ));
    }
    m.charge_text(w as usize)?;
    let c = if a.len() > 2 {
        if let Value::Char(c) = a[2] { c } else { 32 }
    } else {
        32
    };
    let len = utf16_len(s) as i32;
    let mut fill = String::new();
    for _ in len..w {
        fill.push_str(&char_str(c));
    }
    let out = if left {
        fill + s
    } else {
        s.to_string() + &fill
    };
    Ok(Value::string(out))
}
sfn!(str_pad_left, |m, a| pad(m, a, true));
sfn!(str_pad_right, |m, a| pad(m, a, false));
sfn!(str_remove, |m, a| {
    let u = utf16(recv_str(&a[0])?);
    let start = i32_of(&a[1]);
    if start < 0 || start as usize > u.len() {
        return Err(exc(
            Exc::ArgumentOutOfRangeException,
            "startIndex must be less than length of string.\r\nParameter name: startIndex",
        ));
    }
    let count = if a.len() > 2 {
        i32_of(&a[2])
    } else {
        u.len() as i32 - start
    };
    if count < 0 || (start + count) as usize > u.len() {
        return Err(exc(
            Exc::ArgumentOutOfRangeException,
            "Index and count must refer to a location within the string.\r\nParameter name: count",
        ));
    }
    let mut v = u[..start as usize].to_vec();
    v.extend_from_slice(&u[(start + count) as usize..]);
    Ok(Value::string(from_utf16(&v)))
});
sfn!(str_insert, |m, a| {
    let u = utf16(recv_str(&a[0])?);
    let i = i32_of(&a[1]);
    if i < 0 || i as usize > u.len() {
        return Err(Exception::arg_range("startIndex").into());
    }
    let mut v = u[..i as usize].to_vec();
    v.extend(utf16(s_of(&a[2], "value")?));
    v.extend_from_slice(&u[i as usize..]);
    Ok(Value::string(from_utf16(&v)))
});
sfn!(str_new, |m, a| {
    let Value::Char(c) = a[1] else {
        return Ok(Value::str(""));
    };
    let n = i32_of(&a[2]);
    if n < 0 {
        return Err(Exception::arg_range("count").into());
    }
    m.charge_text(n as usize)?;
    Ok(Value::string(char_str(c).repeat(n as usize)))
});
sfn!(str_as_jwt, |m, a| match &a[0] {
    Value::Str(s) => crate::lib_misc::as_jwt(s),
    _ => Ok(Value::Null),
});
sfn!(str_try_parse_jwt, |m, a| {
    let v = match &a[0] {
        Value::Str(s) => crate::lib_misc::as_jwt(s)?,
        _ => Value::Null,
    };
    let okv = !v.is_null();
    a[1] = v;
    ok(okv)
});
sfn!(str_as_basic, |m, a| crate::lib_misc::as_basic(recv_str(
    &a[0]
)?));
sfn!(str_try_parse_basic, |m, a| {
    let v = match &a[0] {
        Value::Str(s) => crate::lib_misc::as_basic(s)?,
        _ => Value::Null,
    };
    let okv = !v.is_null();
    a[1] = v;
    ok(okv)
});

/// `string.Format` composite formatting.
pub fn composite_format(f: &str, args: &[Value]) -> R<String> {
    let bad = || {
        exc(
            Exc::FormatException,
            "Input string was not in a correct format.",
        )
    };
    let chars: Vec<char> = f.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            if chars.get(i + 1) == Some(&'{') {
                out.push('{');
                i += 2;
                continue;
            }
            let mut j = i + 1;
            let mut idx = String::new();
            while j < chars.len() && chars[j].is_ascii_digit() {
                idx.push(chars[j]);
                j += 1;
            }
            let n: usize = idx.parse().map_err(|_| bad())?;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let mut align = 0i32;
            if chars.get(j) == Some(&',') {
                j += 1;
                let mut al = String::new();
                while j < chars.len()
                    && (chars[j] == '-' || chars[j].is_ascii_digit() || chars[j] == ' ')
                {
                    if chars[j] != ' ' {
                        al.push(chars[j]);
                    }
                    j += 1;
                }
                align = al.parse().map_err(|_| bad())?;
                if align.abs() >= 1_000_000 {
                    return Err(bad());
                }
            }
            let mut fmt = None;
            if chars.get(j) == Some(&':') {
                j += 1;
                let mut fs = String::new();
                while j < chars.len() && chars[j] != '}' {
                    fs.push(chars[j]);
                    j += 1;
                }
                fmt = Some(fs);
            }
            if chars.get(j) != Some(&'}') {
                return Err(bad());
            }
            let v = args.get(n).ok_or_else(|| exc(Exc::FormatException, "Index (zero based) must be greater than or equal to zero and less than the size of the argument list."))?;
            let text = match &fmt {
                Some(f) => format_with(v, f)?,
                None => net_string(v),
            };
            pad_align(&mut out, &text, align);
            i = j + 1;
        } else if c == '}' {
            if chars.get(i + 1) == Some(&'}') {
                out.push('}');
                i += 2;
                continue;
            }
            return Err(bad());
        } else {
            out.push(c);
            i += 1;
        }
    }
    Ok(out)
}

static STRING: &[Member] = &[
    Member::prop("Length", P::I32, str_length),
    Member::indexer(&[P::I32], P::Char, str_index, None),
    Member::method("Contains", &[P::Str], P::Bool, str_contains),
    Member::method("Contains", &[P::Char], P::Bool, str_contains_char),
    Member::method("StartsWith", &[P::Str], P::Bool, str_starts),
    Member::method("StartsWith", &[P::Str, P::CMP], P::Bool, str_starts),
    Member::method("EndsWith", &[P::Str], P::Bool, str_ends),
    Member::method("EndsWith", &[P::Str, P::CMP], P::Bool, str_ends),
    Member::method("Equals", &[P::Str], P::Bool, str_equals),
    Member::method("Equals", &[P::Str, P::CMP], P::Bool, str_equals_cmp),
    Member::method("IndexOf", &[P::Str], P::I32, str_index_of),
    Member::method("IndexOf", &[P::Char], P::I32, str_index_of),
    Member::method("IndexOf", &[P::Str, P::I32], P::I32, str_index_of),
    Member::method("IndexOf", &[P::Char, P::I32], P::I32, str_index_of),
    Member::method("IndexOf", &[P::Str, P::CMP], P::I32, str_index_of),
    Member::method("LastIndexOf", &[P::Str], P::I32, str_last_index_of),
    Member::method("LastIndexOf", &[P::Char], P::I32, str_last_index_of),
    Member::method("Substring", &[P::I32], P::Str, str_substring),
    Member::method("Substring", &[P::I32, P::I32], P::Str, str_substring),
    Member::method("Trim", &[], P::Str, str_trim),
    Member::method("Trim", &[P::Params(&P::Char)], P::Str, str_trim),
    Member::method("TrimStart", &[P::Params(&P::Char)], P::Str, str_trim_start),
    Member::method("TrimEnd", &[P::Params(&P::Char)], P::Str, str_trim_end),
    Member::method("ToUpper", &[], P::Str, str_upper),
    Member::method("ToUpperInvariant", &[], P::Str, str_upper),
    Member::method("ToLower", &[], P::Str, str_lower),
    Member::method("ToLowerInvariant", &[], P::Str, str_lower),
    Member::method("Replace", &[P::Str, P::Str], P::Str, str_replace),
    Member::method("Replace", &[P::Char, P::Char], P::Str, str_replace),
    Member::method("Split", &[P::Params(&P::Char)], P::Arr(&P::Str), str_split),
    Member::method(
        "Split",
        &[P::Arr(&P::Char), P::SPLIT],
        P::Arr(&P::Str),
        str_split,
    ),
    Member::method(
        "Split",
        &[P::Arr(&P::Char), P::I32],
        P::Arr(&P::Str),
        str_split,
    ),
    Member::method(
        "Split",
        &[P::Arr(&P::Str), P::SPLIT],
        P::Arr(&P::Str),
        str_split,
    ),
    Member::method("Split", &[P::Char, P::SPLIT], P::Arr(&P::Str), str_split),
    Member::method("Split", &[P::Str, P::SPLIT], P::Arr(&P::Str), str_split),
    Member::method("ToCharArray", &[], P::Arr(&P::Char), str_to_char_array),
    Member::method("PadLeft", &[P::I32], P::Str, str_pad_left),
    Member::method("PadLeft", &[P::I32, P::Char], P::Str, str_pad_left),
    Member::method("PadRight", &[P::I32], P::Str, str_pad_right),
    Member::method("PadRight", &[P::I32, P::Char], P::Str, str_pad_right),
    Member::method("Remove", &[P::I32], P::Str, str_remove),
    Member::method("Remove", &[P::I32, P::I32], P::Str, str_remove),
    Member::method("Insert", &[P::I32, P::Str], P::Str, str_insert),
    Member::method("AsJwt", &[], P::C(Cls::Jwt), str_as_jwt),
    Member::method("TryParseJwt", &[P::C(Cls::Jwt)], P::Bool, str_try_parse_jwt).out(0),
    Member::method("AsBasic", &[], P::C(Cls::BasicAuth), str_as_basic),
    Member::method(
        "TryParseBasic",
        &[P::C(Cls::BasicAuth)],
        P::Bool,
        str_try_parse_basic,
    )
    .out(0),
    Member::ctor(&[P::Char, P::I32], str_new),
    Member::stat("IsNullOrEmpty", &[P::Str], P::Bool, str_is_null_or_empty),
    Member::stat("IsNullOrWhiteSpace", &[P::Str], P::Bool, str_is_null_or_ws),
    Member::stat("Format", &[P::Str, P::Params(&P::Obj)], P::Str, str_format),
    Member::stat("Join", &[P::Str, P::Params(&P::Str)], P::Str, str_join),
    Member::stat("Join", &[P::Str, P::Params(&P::Obj)], P::Str, str_join),
    Member::stat("Join", &[P::Str, P::IEnum(&P::Str)], P::Str, str_join),
    Member::stat("Join", &[P::Str, P::IEnum(&P::M(0))], P::Str, str_join).generic(1),
    Member::stat(
        "CompareOrdinal",
        &[P::Str, P::Str],
        P::I32,
        str_compare_ordinal,
    ),
    Member::method("CompareTo", &[P::Str], P::I32, str_compare_to),
    Member::ctor(&[P::Arr(&P::Char)], str_new_chars),
    Member::stat("Join", &[P::Char, P::Params(&P::Str)], P::Str, str_join),
    Member::stat("Concat", &[P::Params(&P::Obj)], P::Str, str_concat),
    Member::stat("Concat", &[P::IEnum(&P::Str)], P::Str, str_concat),
    Member::stat("Concat", &[P::IEnum(&P::M(0))], P::Str, str_concat).generic(1),
    Member::stat("Equals", &[P::Str, P::Str], P::Bool, str_s_equals),
    Member::stat("Equals", &[P::Str, P::Str, P::CMP], P::Bool, str_s_equals),
    Member::stat("Compare", &[P::Str, P::Str], P::I32, str_compare),
    Member::stat("Compare", &[P::Str, P::Str, P::Bool], P::I32, str_compare),
    Member::stat("Compare", &[P::Str, P::Str, P::CMP], P::I32, str_compare),
];

// ------------------------------------------------------------------ numbers
pub(crate) fn parse_err_to_value(t: &Ty, s: &str) -> R<Value> {
    use apim_dotnet::number as n;
    Ok(match t {
        Ty::I32 => Value::I32(n::parse_i32(s)?),
        Ty::I64 => Value::I64(n::parse_i64(s)?),
        Ty::F64 => Value::F64(n::parse_double_default(s)?),
        Ty::Bool => Value::Bool(n::parse_bool(s)?),
        Ty::Decimal => Value::Dec(n::parse_decimal(s, n::NumberStyles::NUMBER)?),
        other => {
            let clr = crate::lib_json::clr_type(other)
                .ok_or_else(|| exc(Exc::NotSupportedException, "parse"))?;
            let r = apim_dotnet::convert::change_type(
                &apim_dotnet::ClrValue::String(s.to_string()),
                clr,
            )?;
            crate::lib_json::from_clr_value(&r)
        }
    })
}
fn parse_generic(t: Ty, a: &mut [Value]) -> R<Value> {
    let s = s_of(&a[0], "s")?.to_string();
    parse_err_to_value(&t, &s)
}
fn try_parse_generic(t: Ty, a: &mut [Value]) -> R<Value> {
    let r = match &a[0] {
        Value::Str(s) => parse_err_to_value(&t, s).ok(),
        _ => None,
    };
    match r {
        Some(v) => {
            a[1] = v;
            ok(true)
        }
        None => {
            a[1] = crate::interp::default_value(&t);
            ok(false)
        }
    }
}
sfn!(i32_parse, |m, a| parse_generic(Ty::I32, a));
sfn!(i32_try_parse, |m, a| try_parse_generic(Ty::I32, a));
sfn!(i64_parse, |m, a| parse_generic(Ty::I64, a));
sfn!(i64_try_parse, |m, a| try_parse_generic(Ty::I64, a));
sfn!(f64_parse, |m, a| parse_generic(Ty::F64, a));
sfn!(f64_try_parse, |m, a| try_parse_generic(Ty::F64, a));
sfn!(dec_parse, |m, a| parse_generic(Ty::Decimal, a));
sfn!(dec_try_parse, |m, a| try_parse_generic(Ty::Decimal, a));
sfn!(bool_parse, |m, a| parse_generic(Ty::Bool, a));
sfn!(bool_try_parse, |m, a| try_parse_generic(Ty::Bool, a));
sfn!(num_to_string_fmt, |m, a| {
    let f = match &a[1] {
        Value::Str(s) => s.to_string(),
        _ => String::new(),
    };
    Ok(Value::string(format_with(&a[0], &f)?))
});
sfn!(num_compare_to, |m, a| ok(match compare(&a[0], &a[1]) {
    Some(Ordering::Less) => -1,
    Some(Ordering::Greater) => 1,
    _ => 0,
}));
sfn!(num_equals_promoted, |m, a| ok(values_equal(&a[0], &a[1])));
sfn!(num_equals, |m, a| ok(values_equal(&a[0], &a[1])
    && crate::render::type_name(&a[0])
        == crate::render::type_name(&a[1])));
sfn!(char_is_digit, |m, a| ok(
    matches!(a[0], Value::Char(c) if char::from_u32(c as u32).is_some_and(|c| c.is_numeric() && c.is_ascii_digit() || (c.is_numeric() && !c.is_ascii())))
));
sfn!(char_is_letter, |m, a| ok(
    matches!(a[0], Value::Char(c) if char::from_u32(c as u32).is_some_and(|c| c.is_alphabetic()))
));
sfn!(char_is_ws, |m, a| ok(
    matches!(a[0], Value::Char(c) if char::from_u32(c as u32).is_some_and(apim_dotnet::string::is_dotnet_whitespace))
));
sfn!(char_is_upper, |m, a| ok(
    matches!(a[0], Value::Char(c) if char::from_u32(c as u32).is_some_and(|c| c.is_uppercase()))
));
sfn!(char_is_lower, |m, a| ok(
    matches!(a[0], Value::Char(c) if char::from_u32(c as u32).is_some_and(|c| c.is_lowercase()))
));
sfn!(char_is_lod, |m, a| ok(
    matches!(a[0], Value::Char(c) if char::from_u32(c as u32).is_some_and(|c| c.is_alphanumeric()))
));
sfn!(char_to_upper, |m, a| {
    let Value::Char(c) = a[0] else {
        return Ok(a[0].clone());
    };
    let s = apim_dotnet::string::to_upper_invariant(&char_str(c));
    Ok(Value::Char(s.encode_utf16().next().unwrap_or(c)))
});
sfn!(char_to_lower, |m, a| {
    let Value::Char(c) = a[0] else {
        return Ok(a[0].clone());
    };
    let s = apim_dotnet::string::to_lower_invariant(&char_str(c));
    Ok(Value::Char(s.encode_utf16().next().unwrap_or(c)))
});

static BOOL: &[Member] = &[
    Member::stat("Parse", &[P::Str], P::Bool, bool_parse),
    Member::stat("TryParse", &[P::Str, P::Bool], P::Bool, bool_try_parse).out(1),
    Member::method("CompareTo", &[P::Bool], P::I32, num_compare_to),
];
sfn!(char_numeric_value, |m, a| {
    let c = match &a[0] {
        Value::Char(c) => *c,
        _ => 0,
    };
    ok(
        match char::from_u32(c as u32).and_then(|c| c.to_digit(10)) {
            Some(d) if (b'0' as u16..=b'9' as u16).contains(&c) => d as f64,
            _ => -1.0,
        },
    )
});
static CHAR: &[Member] = &[
    Member::stat("GetNumericValue", &[P::Char], P::F64, char_numeric_value),
    Member::stat("Parse", &[P::Str], P::Char, char_parse),
    Member::stat("IsDigit", &[P::Char], P::Bool, char_is_digit),
    Member::stat("IsLetter", &[P::Char], P::Bool, char_is_letter),
    Member::stat("IsWhiteSpace", &[P::Char], P::Bool, char_is_ws),
    Member::stat("IsUpper", &[P::Char], P::Bool, char_is_upper),
    Member::stat("IsLower", &[P::Char], P::Bool, char_is_lower),
    Member::stat("IsLetterOrDigit", &[P::Char], P::Bool, char_is_lod),
    Member::stat("ToUpper", &[P::Char], P::Char, char_to_upper),
    Member::stat("ToLower", &[P::Char], P::Char, char_to_lower),
    Member::stat("ToUpperInvariant", &[P::Char], P::Char, char_to_upper),
    Member::stat("ToLowerInvariant", &[P::Char], P::Char, char_to_lower),
];
static INT32: &[Member] = &[
    Member::stat("Parse", &[P::Str], P::I32, i32_parse),
    Member::stat("TryParse", &[P::Str, P::I32], P::Bool, i32_try_parse).out(1),
    Member::method("ToString", &[P::Str], P::Str, num_to_string_fmt),
    Member::method("CompareTo", &[P::I32], P::I32, num_compare_to),
    Member::method("Equals", &[P::I32], P::Bool, num_equals),
];
static INT64: &[Member] = &[
    Member::stat("Parse", &[P::Str], P::I64, i64_parse),
    Member::stat("TryParse", &[P::Str, P::I64], P::Bool, i64_try_parse).out(1),
    Member::method("ToString", &[P::Str], P::Str, num_to_string_fmt),
    Member::method("CompareTo", &[P::I64], P::I32, num_compare_to),
    Member::method("Equals", &[P::I64], P::Bool, num_equals),
];
macro_rules! small_parse {
    ($($f:ident, $g:ident, $tbl:ident => $t:expr),*) => {
        $(
            sfn!($f, |m, a| parse_generic($t, a));
            sfn!($g, |m, a| try_parse_generic($t, a));
            static $tbl: &[Member] = &[
                Member::method("ToString", &[P::Str], P::Str, num_to_string_fmt),
                Member::stat("Parse", &[P::Str], P::SelfTy, $f),
                Member::stat("TryParse", &[P::Str, P::SelfTy], P::Bool, $g).out(1),
            ];
        )*
    };
}
small_parse!(
    u8_parse, u8_try_parse, BYTE => Ty::U8,
    i8_parse, i8_try_parse, SBYTE => Ty::I8,
    i16_parse, i16_try_parse, INT16 => Ty::I16,
    u16_parse, u16_try_parse, UINT16 => Ty::U16,
    u32_parse, u32_try_parse, UINT32 => Ty::U32,
    u64_parse, u64_try_parse, UINT64 => Ty::U64
);
static FLOAT: &[Member] = &[
    Member::stat("Parse", &[P::Str], P::F32, f32_parse),
    Member::method("ToString", &[P::Str], P::Str, num_to_string_fmt),
];
sfn!(f32_parse, |m, a| parse_generic(Ty::F32, a));
sfn!(char_parse, |m, a| {
    let s = s_of(&a[0], "s")?;
    let u: Vec<u16> = s.encode_utf16().collect();
    if u.len() != 1 {
        return Err(exc(
            Exc::FormatException,
            "String must be exactly one character long.",
        ));
    }
    Ok(Value::Char(u[0]))
});
sfn!(conv_to_string_base, |m, a| {
    let (bits, v) = match &a[0] {
        Value::I64(x) => (64, *x),
        Value::I16(x) => (16, *x as i64),
        Value::U8(x) => (8, *x as i64),
        v => (32, i64_of(v)),
    };
    Ok(Value::string(apim_dotnet::convert::to_string_in_base(
        v,
        bits,
        i32_of(&a[1]),
    )?))
});
sfn!(conv_to_i32_base, |m, a| Ok(Value::I32(
    apim_dotnet::convert::to_integer_from_base(
        s_of(&a[0], "value")?,
        i32_of(&a[1]),
        apim_dotnet::ClrType::Int32
    )? as i32
)));
sfn!(conv_to_i64_base, |m, a| Ok(Value::I64(
    apim_dotnet::convert::to_integer_from_base(
        s_of(&a[0], "value")?,
        i32_of(&a[1]),
        apim_dotnet::ClrType::Int64
    )? as i64
)));
static DOUBLE: &[Member] = &[
    Member::stat("Parse", &[P::Str], P::F64, f64_parse),
    Member::stat("TryParse", &[P::Str, P::F64], P::Bool, f64_try_parse).out(1),
    Member::method("ToString", &[P::Str], P::Str, num_to_string_fmt),
    Member::method("CompareTo", &[P::F64], P::I32, num_compare_to),
    Member::stat("IsNaN", &[P::F64], P::Bool, f64_is_nan),
    Member::method("Equals", &[P::F64], P::Bool, num_equals_promoted),
    Member::stat("IsInfinity", &[P::F64], P::Bool, f64_is_inf),
];
sfn!(f64_is_nan, |m, a| ok(f64_of(&a[0]).is_nan()));
sfn!(f64_is_inf, |m, a| ok(f64_of(&a[0]).is_infinite()));
static DECIMAL: &[Member] = &[
    Member::stat("Round", &[P::Dec], P::Dec, math_round),
    Member::stat("Round", &[P::Dec, P::I32], P::Dec, math_round),
    Member::stat("Round", &[P::Dec, P::I32, P::ROUNDING], P::Dec, math_round),
    Member::stat("Floor", &[P::Dec], P::Dec, math_floor),
    Member::stat("Ceiling", &[P::Dec], P::Dec, math_ceiling),
    Member::stat("Truncate", &[P::Dec], P::Dec, math_truncate),
    Member::stat("Parse", &[P::Str], P::Dec, dec_parse),
    Member::stat("TryParse", &[P::Str, P::Dec], P::Bool, dec_try_parse).out(1),
    Member::method("ToString", &[P::Str], P::Str, num_to_string_fmt),
];

sfn!(nullable_has_value, |m, a| ok(!a[0].is_null()));
sfn!(nullable_value, |m, a| {
    if a[0].is_null() {
        return Err(exc(
            Exc::InvalidOperationException,
            "Nullable object must have a value.",
        ));
    }
    Ok(a[0].clone())
});
sfn!(nullable_gvod, |m, a| {
    if a[0].is_null() {
        Ok(if a.len() > 1 && !matches!(a[1], Value::Type(_)) {
            a[1].clone()
        } else {
            Value::Null
        })
    } else {
        Ok(a[0].clone())
    }
});
static NULLABLE: &[Member] = &[
    Member::prop("HasValue", P::Bool, nullable_has_value),
    Member::prop("Value", P::Recv(0), nullable_value),
    Member::method(
        "GetValueOrDefault",
        &[P::Recv(0)],
        P::Recv(0),
        nullable_gvod,
    ),
];

// ------------------------------------------------------------------ Math
fn math_num2(a: &[Value], fi: fn(i64, i64) -> i64, ff: fn(f64, f64) -> f64) -> R<Value> {
    Ok(match (&a[0], &a[1]) {
        (Value::I32(x), Value::I32(y)) => Value::I32(fi(*x as i64, *y as i64) as i32),
        (Value::U8(x), Value::U8(y)) => Value::U8(fi(*x as i64, *y as i64) as u8),
        (Value::I64(_) | Value::I32(_), Value::I64(_) | Value::I32(_)) => {
            Value::I64(fi(i64_of(&a[0]), i64_of(&a[1])))
        }
        (Value::Dec(x), Value::Dec(y)) => Value::Dec(if fi(1, 2) == 2 {
            (*x).max(*y)
        } else {
            (*x).min(*y)
        }),
        (Value::F32(x), Value::F32(y)) => Value::F32(ff(*x as f64, *y as f64) as f32),
        _ => {
            let (x, y) = (f64_of(&a[0]), f64_of(&a[1]));
            Value::F64(ff(x, y))
        }
    })
}
sfn!(math_max, |m, a| math_num2(
    a,
    |x, y| x.max(y),
    apim_dotnet::math::max_f64
));
sfn!(math_min, |m, a| math_num2(
    a,
    |x, y| x.min(y),
    apim_dotnet::math::min_f64
));
sfn!(math_abs, |m, a| Ok(match &a[0] {
    Value::I32(x) => Value::I32(apim_dotnet::math::abs_i32(*x)?),
    Value::I64(x) => Value::I64(apim_dotnet::math::abs_i64(*x)?),
    Value::Dec(d) => Value::Dec(d.abs()),
    Value::F32(x) => Value::F32(x.abs()),
    v => Value::F64(f64_of(v).abs()),
}));
sfn!(math_round, |m, a| {
    let mode = a
        .iter()
        .skip(1)
        .find_map(|v| {
            if let Value::Enum(Cls::MidpointRounding, k) = v {
                Some(*k)
            } else {
                None
            }
        })
        .unwrap_or(0);
    let digits = a
        .iter()
        .skip(1)
        .find_map(|v| {
            if let Value::I32(k) = v {
                Some(*k)
            } else {
                None
            }
        })
        .unwrap_or(0);
    let mode = apim_dotnet::math::MidpointRounding::from_value(mode)?;
    Ok(match &a[0] {
        Value::Dec(d) => Value::Dec(apim_dotnet::math::round_decimal(*d, digits, mode)?),
        v => Value::F64(apim_dotnet::math::round_digits(f64_of(v), digits, mode)?),
    })
});
sfn!(math_floor, |m, a| Ok(match &a[0] {
    Value::Dec(d) => Value::Dec(apim_dotnet::math::floor_decimal(*d)),
    v => Value::F64(f64_of(v).floor()),
}));
sfn!(math_ceiling, |m, a| Ok(match &a[0] {
    Value::Dec(d) => Value::Dec(apim_dotnet::math::ceiling_decimal(*d)),
    v => Value::F64(f64_of(v).ceil()),
}));
sfn!(math_truncate, |m, a| Ok(match &a[0] {
    Value::Dec(d) => Value::Dec(apim_dotnet::math::truncate_decimal(*d)),
    v => Value::F64(f64_of(v).trunc()),
}));
sfn!(math_pow, |m, a| ok(apim_dotnet::math::pow(
    f64_of(&a[0]),
    f64_of(&a[1])
)));
sfn!(math_sqrt, |m, a| ok(f64_of(&a[0]).sqrt()));
sfn!(math_log, |m, a| ok(if a.len() > 1 {
    apim_dotnet::math::log_base(f64_of(&a[0]), f64_of(&a[1]))
} else {
    f64_of(&a[0]).ln()
}));
sfn!(math_log10, |m, a| ok(f64_of(&a[0]).log10()));
sfn!(math_exp, |m, a| ok(f64_of(&a[0]).exp()));
sfn!(math_sign, |m, a| Ok(Value::I32(match &a[0] {
    Value::F64(_) | Value::F32(_) => apim_dotnet::math::sign_f64(f64_of(&a[0]))?,
    Value::Dec(d) =>
        if d.is_zero() {
            0
        } else if d.is_sign_negative() {
            -1
        } else {
            1
        },
    v => i64_of(v).signum() as i32,
})));

macro_rules! math1 {
    ($($f:ident => $op:expr),*) => {
        $(sfn!($f, |m, a| ok(($op)(f64_of(&a[0]))));)*
    };
}
math1!(math_sin => f64::sin, math_cos => f64::cos, math_tan => f64::tan, math_asin => f64::asin,
    math_acos => f64::acos, math_atan => f64::atan, math_sinh => f64::sinh, math_cosh => f64::cosh,
    math_tanh => f64::tanh);
sfn!(math_atan2, |m, a| ok(f64_of(&a[0]).atan2(f64_of(&a[1]))));
sfn!(math_big_mul, |m, a| ok(i64_of(&a[0]) * i64_of(&a[1])));
static MATH: &[Member] = &[
    Member::stat("Sin", &[P::F64], P::F64, math_sin),
    Member::stat("Cos", &[P::F64], P::F64, math_cos),
    Member::stat("Tan", &[P::F64], P::F64, math_tan),
    Member::stat("Asin", &[P::F64], P::F64, math_asin),
    Member::stat("Acos", &[P::F64], P::F64, math_acos),
    Member::stat("Atan", &[P::F64], P::F64, math_atan),
    Member::stat("Sinh", &[P::F64], P::F64, math_sinh),
    Member::stat("Cosh", &[P::F64], P::F64, math_cosh),
    Member::stat("Tanh", &[P::F64], P::F64, math_tanh),
    Member::stat("Atan2", &[P::F64, P::F64], P::F64, math_atan2),
    Member::stat("BigMul", &[P::I32, P::I32], P::I64, math_big_mul),
    Member::stat("Max", &[P::I32, P::I32], P::I32, math_max),
    Member::stat("Max", &[P::I64, P::I64], P::I64, math_max),
    Member::stat("Max", &[P::F64, P::F64], P::F64, math_max),
    Member::stat("Max", &[P::Dec, P::Dec], P::Dec, math_max),
    Member::stat("Max", &[P::U8, P::U8], P::U8, math_max),
    Member::stat("Min", &[P::I32, P::I32], P::I32, math_min),
    Member::stat("Min", &[P::I64, P::I64], P::I64, math_min),
    Member::stat("Min", &[P::F64, P::F64], P::F64, math_min),
    Member::stat("Min", &[P::Dec, P::Dec], P::Dec, math_min),
    Member::stat("Min", &[P::U8, P::U8], P::U8, math_min),
    Member::stat("Abs", &[P::I32], P::I32, math_abs),
    Member::stat("Abs", &[P::I64], P::I64, math_abs),
    Member::stat("Abs", &[P::F64], P::F64, math_abs),
    Member::stat("Abs", &[P::Dec], P::Dec, math_abs),
    Member::stat("Round", &[P::F64], P::F64, math_round),
    Member::stat("Round", &[P::F64, P::I32], P::F64, math_round),
    Member::stat("Round", &[P::F64, P::ROUNDING], P::F64, math_round),
    Member::stat("Round", &[P::F64, P::I32, P::ROUNDING], P::F64, math_round),
    Member::stat("Round", &[P::Dec], P::Dec, math_round),
    Member::stat("Round", &[P::Dec, P::I32], P::Dec, math_round),
    Member::stat("Round", &[P::Dec, P::ROUNDING], P::Dec, math_round),
    Member::stat("Round", &[P::Dec, P::I32, P::ROUNDING], P::Dec, math_round),
    Member::stat("Floor", &[P::F64], P::F64, math_floor),
    Member::stat("Floor", &[P::Dec], P::Dec, math_floor),
    Member::stat("Ceiling", &[P::F64], P::F64, math_ceiling),
    Member::stat("Ceiling", &[P::Dec], P::Dec, math_ceiling),
    Member::stat("Truncate", &[P::F64], P::F64, math_truncate),
    Member::stat("Truncate", &[P::Dec], P::Dec, math_truncate),
    Member::stat("Pow", &[P::F64, P::F64], P::F64, math_pow),
    Member::stat("Sqrt", &[P::F64], P::F64, math_sqrt),
    Member::stat("Log", &[P::F64], P::F64, math_log),
    Member::stat("Log", &[P::F64, P::F64], P::F64, math_log),
    Member::stat("Log10", &[P::F64], P::F64, math_log10),
    Member::stat("Exp", &[P::F64], P::F64, math_exp),
    Member::stat("Sign", &[P::I32], P::I32, math_sign),
    Member::stat("Sign", &[P::I64], P::I32, math_sign),
    Member::stat("Sign", &[P::F64], P::I32, math_sign),
    Member::stat("Sign", &[P::Dec], P::I32, math_sign),
];

// ------------------------------------------------------------------ Convert
fn convert_to(t: Ty, a: &[Value]) -> R<Value> {
    let clr =
        crate::lib_json::clr_type(&t).ok_or_else(|| exc(Exc::NotSupportedException, "Convert"))?;
    let v = crate::lib_json::to_clr_value(&a[0])?;
    let r = apim_dotnet::convert::convert_to(&v, clr)?;
    Ok(crate::lib_json::from_clr_value(&r))
}
sfn!(conv_to_i32, |m, a| convert_to(Ty::I32, a));
sfn!(conv_to_i64, |m, a| convert_to(Ty::I64, a));
sfn!(conv_to_i16, |m, a| convert_to(Ty::I16, a));
sfn!(conv_to_u8, |m, a| convert_to(Ty::U8, a));
sfn!(conv_to_f32, |m, a| convert_to(Ty::F32, a));
sfn!(conv_to_char, |m, a| convert_to(Ty::Char, a));
sfn!(conv_to_u32, |m, a| convert_to(Ty::U32, a));
sfn!(conv_to_u64, |m, a| convert_to(Ty::U64, a));
sfn!(conv_to_f64, |m, a| convert_to(Ty::F64, a));
sfn!(conv_to_dec, |m, a| convert_to(Ty::Decimal, a));
sfn!(conv_to_bool, |m, a| convert_to(Ty::Bool, a));
sfn!(conv_to_string, |m, a| convert_to(Ty::String, a));
sfn!(conv_to_dt, |m, a| convert_to(Ty::Named(Cls::DateTime), a));
sfn!(conv_to_b64, |m, a| Ok(Value::string(
    apim_dotnet::convert::to_base64_string(&bytes_of(&a[0])?)
)));
sfn!(conv_from_b64, |m, a| Ok(Value::bytes(
    apim_dotnet::convert::from_base64_string(s_of(&a[0], "s")?)?
)));

static CONVERT: &[Member] = &[
    Member::stat("ToInt32", &[P::Obj], P::I32, conv_to_i32),
    Member::stat("ToInt16", &[P::Obj], P::Dyn(|_, _| Ty::I16), conv_to_i16),
    Member::stat("ToByte", &[P::Obj], P::U8, conv_to_u8),
    Member::stat("ToSingle", &[P::Obj], P::F32, conv_to_f32),
    Member::stat("ToChar", &[P::Obj], P::Char, conv_to_char),
    Member::stat("ToUInt32", &[P::Obj], P::Dyn(|_, _| Ty::U32), conv_to_u32),
    Member::stat("ToUInt64", &[P::Obj], P::Dyn(|_, _| Ty::U64), conv_to_u64),
    Member::stat("ToInt64", &[P::Obj], P::I64, conv_to_i64),
    Member::stat("ToString", &[P::I32, P::I32], P::Str, conv_to_string_base),
    Member::stat("ToString", &[P::I64, P::I32], P::Str, conv_to_string_base),
    Member::stat("ToInt32", &[P::Str, P::I32], P::I32, conv_to_i32_base),
    Member::stat("ToInt64", &[P::Str, P::I32], P::I64, conv_to_i64_base),
    Member::stat("ToDouble", &[P::Obj], P::F64, conv_to_f64),
    Member::stat("ToDecimal", &[P::Obj], P::Dec, conv_to_dec),
    Member::stat("ToBoolean", &[P::Obj], P::Bool, conv_to_bool),
    Member::stat("ToString", &[P::Obj], P::Str, conv_to_string),
    Member::stat("ToDateTime", &[P::Obj], P::DT, conv_to_dt),
    Member::stat("ToBase64String", &[P::Arr(&P::U8)], P::Str, conv_to_b64),
    Member::stat("FromBase64String", &[P::Str], P::Arr(&P::U8), conv_from_b64),
];

// ------------------------------------------------------------------ DateTime / TimeSpan / DateTimeOffset
fn dt(v: &Value) -> DateTime {
    match v {
        Value::DateTime(d) => *d,
        _ => DateTime::MIN_VALUE,
    }
}
fn ts(v: &Value) -> TimeSpan {
    match v {
        Value::TimeSpan(t) => *t,
        _ => TimeSpan::from_ticks(0),
    }
}
fn dto(v: &Value) -> DateTimeOffset {
    match v {
        Value::DateTimeOffset(d) => *d,
        _ => DateTimeOffset::from_date_time(DateTime::MIN_VALUE),
    }
}
sfn!(dt_utc_now, |m, a| Ok(Value::DateTime(
    m.env.utc_now().with_kind(DateTimeKind::Utc)
)));
sfn!(dt_now, |m, a| Ok(Value::DateTime(
    m.env.utc_now().with_kind(DateTimeKind::Local)
)));
sfn!(dt_today, |m, a| Ok(Value::DateTime(
    m.env.utc_now().date().with_kind(DateTimeKind::Local)
)));
/// An Unspecified DateTime from year, month, day and the optional hour, minute, second and
/// millisecond (0 when absent), as the DateTime and DateTimeOffset constructors take them.
fn clock_parts(n: &[i32]) -> R<DateTime> {
    let part = |i: usize| n.get(i).copied().unwrap_or(0);
    let (h, mi, s, ms) = (part(3), part(4), part(5), part(6));
    Ok(DateTime::new(
        n[0],
        n[1],
        n[2],
        h,
        mi,
        s,
        ms,
        DateTimeKind::Unspecified,
    )?)
}
sfn!(dt_ctor, |m, a| {
    let n: Vec<i32> = a[1..].iter().map(i32_of).collect();
    let d = match n.len() {
        3 | 6 | 7 => clock_parts(&n)?,
        _ => DateTime::MIN_VALUE,
    };
    Ok(Value::DateTime(d))
});
sfn!(dt_ctor_kind, |m, a| {
    let n: Vec<i32> = a[1..7].iter().map(i32_of).collect();
    let kind = match a[7] {
        Value::Enum(_, 1) => DateTimeKind::Utc,
        Value::Enum(_, 2) => DateTimeKind::Local,
        _ => DateTimeKind::Unspecified,
    };
    Ok(Value::DateTime(DateTime::new(
        n[0], n[1], n[2], n[3], n[4], n[5], 0, kind,
    )?))
});
sfn!(dt_ctor_ticks, |m, a| Ok(Value::DateTime(
    DateTime::from_ticks(i64_of(&a[1]), DateTimeKind::Unspecified)?
)));
sfn!(dt_parse, |m, a| Ok(Value::DateTime(
    apim_dotnet::datetime_format::parse_date_time(s_of(&a[0], "s")?)?
)));
sfn!(dt_add_days, |m, a| Ok(Value::DateTime(
    dt(&a[0]).add_days(f64_of(&a[1]))?
)));
sfn!(dt_add_hours, |m, a| Ok(Value::DateTime(
    dt(&a[0]).add_hours(f64_of(&a[1]))?
)));
sfn!(dt_add_minutes, |m, a| Ok(Value::DateTime(
    dt(&a[0]).add_minutes(f64_of(&a[1]))?
)));
sfn!(dt_add_seconds, |m, a| Ok(Value::DateTime(
    dt(&a[0]).add_seconds(f64_of(&a[1]))?
)));
sfn!(dt_add_ms, |m, a| Ok(Value::DateTime(
    dt(&a[0]).add_milliseconds(f64_of(&a[1]))?
)));
sfn!(dt_add_months, |m, a| Ok(Value::DateTime(
    dt(&a[0]).add_months(i32_of(&a[1]))?
)));
sfn!(dt_add_years, |m, a| Ok(Value::DateTime(
    dt(&a[0]).add_years(i32_of(&a[1]))?
)));
sfn!(dt_add_ticks, |m, a| Ok(Value::DateTime(
    dt(&a[0]).add_ticks(i64_of(&a[1]))?
)));
sfn!(dt_add, |m, a| Ok(Value::DateTime(
    dt(&a[0]).add(ts(&a[1]))?
)));
sfn!(dt_subtract_dt, |m, a| Ok(Value::TimeSpan(
    dt(&a[0]).subtract_date(dt(&a[1]))
)));
sfn!(dt_subtract_ts, |m, a| Ok(Value::DateTime(
    dt(&a[0]).subtract(ts(&a[1]))?
)));
sfn!(dt_year, |m, a| ok(dt(&a[0]).year()));
sfn!(dt_month, |m, a| ok(dt(&a[0]).month()));
sfn!(dt_day, |m, a| ok(dt(&a[0]).day()));
sfn!(dt_hour, |m, a| ok(dt(&a[0]).hour()));
sfn!(dt_minute, |m, a| ok(dt(&a[0]).minute()));
sfn!(dt_second, |m, a| ok(dt(&a[0]).second()));
sfn!(dt_ms, |m, a| ok(dt(&a[0]).millisecond()));
sfn!(dt_ticks, |m, a| ok(dt(&a[0]).ticks()));
sfn!(dt_doy, |m, a| ok(dt(&a[0]).day_of_year()));
sfn!(dt_dow, |m, a| Ok(Value::Enum(
    Cls::DayOfWeek,
    dt(&a[0]).day_of_week() as i64
)));
sfn!(dt_date, |m, a| Ok(Value::DateTime(dt(&a[0]).date())));
sfn!(dt_tod, |m, a| Ok(Value::TimeSpan(dt(&a[0]).time_of_day())));
sfn!(dt_to_string_fmt, |m, a| {
    let f = match &a[1] {
        Value::Str(s) => s.to_string(),
        _ => String::new(),
    };
    Ok(Value::string(format_datetime(dt(&a[0]), &f)?))
});
sfn!(dt_is_leap, |m, a| ok(apim_dotnet::datetime::is_leap_year(
    i32_of(&a[0])
)?));
sfn!(dt_days_in_month, |m, a| ok(
    apim_dotnet::datetime::days_in_month(i32_of(&a[0]), i32_of(&a[1]))?
));
sfn!(dt_is_dst, |m, a| ok(dt(&a[0]).is_daylight_saving_time()));
sfn!(dt_compare_to, |m, a| ok(dt(&a[0]).compare(dt(&a[1]))));

static DATETIME: &[Member] = &[
    Member::sprop("UtcNow", P::DT, dt_utc_now),
    Member::sprop("Now", P::DT, dt_now),
    Member::sprop("Today", P::DT, dt_today),
    Member::ctor(&[P::I32, P::I32, P::I32], dt_ctor),
    Member::ctor(&[P::I32, P::I32, P::I32, P::I32, P::I32, P::I32], dt_ctor),
    Member::ctor(
        &[P::I32, P::I32, P::I32, P::I32, P::I32, P::I32, P::I32],
        dt_ctor,
    ),
    Member::ctor(
        &[
            P::I32,
            P::I32,
            P::I32,
            P::I32,
            P::I32,
            P::I32,
            P::C(Cls::DateTimeKind),
        ],
        dt_ctor_kind,
    ),
    Member::ctor(&[P::I64], dt_ctor_ticks),
    Member::stat("Parse", &[P::Str], P::DT, dt_parse),
    Member::stat("IsLeapYear", &[P::I32], P::Bool, dt_is_leap),
    Member::stat("DaysInMonth", &[P::I32, P::I32], P::I32, dt_days_in_month),
    Member::method("AddDays", &[P::F64], P::DT, dt_add_days),
    Member::method("AddHours", &[P::F64], P::DT, dt_add_hours),
    Member::method("AddMinutes", &[P::F64], P::DT, dt_add_minutes),
    Member::method("AddSeconds", &[P::F64], P::DT, dt_add_seconds),
    Member::method("AddMilliseconds", &[P::F64], P::DT, dt_add_ms),
    Member::method("AddMonths", &[P::I32], P::DT, dt_add_months),
    Member::method("AddYears", &[P::I32], P::DT, dt_add_years),
    Member::method("AddTicks", &[P::I64], P::DT, dt_add_ticks),
    Member::method("Add", &[P::TS], P::DT, dt_add),
    Member::method("Subtract", &[P::DT], P::TS, dt_subtract_dt),
    Member::method("Subtract", &[P::TS], P::DT, dt_subtract_ts),
    Member::method("ToString", &[P::Str], P::Str, dt_to_string_fmt),
    Member::method("IsDaylightSavingTime", &[], P::Bool, dt_is_dst),
    Member::method("CompareTo", &[P::DT], P::I32, dt_compare_to),
    Member::prop("Year", P::I32, dt_year),
    Member::prop("Month", P::I32, dt_month),
    Member::prop("Day", P::I32, dt_day),
    Member::prop("Hour", P::I32, dt_hour),
    Member::prop("Minute", P::I32, dt_minute),
    Member::prop("Second", P::I32, dt_second),
    Member::prop("Millisecond", P::I32, dt_ms),
    Member::prop("Ticks", P::I64, dt_ticks),
    Member::prop("DayOfYear", P::I32, dt_doy),
    Member::prop("DayOfWeek", P::C(Cls::DayOfWeek), dt_dow),
    Member::prop("Date", P::DT, dt_date),
    Member::prop("TimeOfDay", P::TS, dt_tod),
];

sfn!(dto_utc_now, |m, a| Ok(Value::DateTimeOffset(
    DateTimeOffset::from_date_time(m.env.utc_now().with_kind(DateTimeKind::Utc))
)));
sfn!(dto_now, |m, a| Ok(Value::DateTimeOffset(
    DateTimeOffset::new(
        m.env.utc_now().with_kind(DateTimeKind::Unspecified),
        TimeSpan::from_ticks(0)
    )?
)));
sfn!(dto_unix_s, |m, a| ok(dto(&a[0]).to_unix_time_seconds()));
sfn!(dto_unix_ms, |m, a| ok(
    dto(&a[0]).to_unix_time_milliseconds()
));
sfn!(dto_from_unix_s, |m, a| Ok(Value::DateTimeOffset(
    DateTimeOffset::from_unix_time_seconds(i64_of(&a[0]))?
)));
sfn!(dto_from_unix_ms, |m, a| Ok(Value::DateTimeOffset(
    DateTimeOffset::from_unix_time_milliseconds(i64_of(&a[0]))?
)));
sfn!(dto_parse, |m, a| Ok(Value::DateTimeOffset(
    apim_dotnet::datetime_format::parse_date_time_offset(s_of(&a[0], "input")?)?
)));
sfn!(dto_utc_dt, |m, a| Ok(Value::DateTime(
    dto(&a[0]).utc_date_time()
)));
sfn!(dto_dt, |m, a| Ok(Value::DateTime(dto(&a[0]).date_time())));
sfn!(dto_offset, |m, a| Ok(Value::TimeSpan(dto(&a[0]).offset())));
sfn!(dto_add_seconds, |m, a| Ok(Value::DateTimeOffset(
    dto(&a[0]).add_seconds(f64_of(&a[1]))?
)));
sfn!(dto_add_minutes, |m, a| Ok(Value::DateTimeOffset(
    dto(&a[0]).add_minutes(f64_of(&a[1]))?
)));
sfn!(dto_add_hours, |m, a| Ok(Value::DateTimeOffset(
    dto(&a[0]).add_hours(f64_of(&a[1]))?
)));
sfn!(dto_add_days, |m, a| Ok(Value::DateTimeOffset(
    dto(&a[0]).add_days(f64_of(&a[1]))?
)));
sfn!(dto_add_ms, |m, a| Ok(Value::DateTimeOffset(
    dto(&a[0]).add_milliseconds(f64_of(&a[1]))?
)));
sfn!(dto_to_string_fmt, |m, a| {
    let f = match &a[1] {
        Value::Str(s) => s.to_string(),
        _ => String::new(),
    };
    Ok(Value::string(format_dto(dto(&a[0]), &f)?))
});
sfn!(dto_year, |m, a| ok(dto(&a[0]).year()));
sfn!(dto_ticks, |m, a| ok(dto(&a[0]).ticks()));
sfn!(dto_ctor_dt_off, |m, a| Ok(Value::DateTimeOffset(
    DateTimeOffset::new(dt(&a[1]), ts(&a[2]))?
)));
sfn!(dto_ctor_parts, |m, a| {
    let n: Vec<i32> = a[1..7].iter().map(i32_of).collect();
    let clock = clock_parts(&n)?;
    Ok(Value::DateTimeOffset(DateTimeOffset::new(
        clock,
        ts(&a[7]),
    )?))
});
sfn!(dto_ctor_dt, |m, a| Ok(Value::DateTimeOffset(
    DateTimeOffset::from_date_time(dt(&a[1]))
)));
static DATETIMEOFFSET: &[Member] = &[
    Member::sprop("UtcNow", P::DTO, dto_utc_now),
    Member::sprop("Now", P::DTO, dto_now),
    Member::ctor(&[P::DT], dto_ctor_dt),
    Member::ctor(&[P::DT, P::TS], dto_ctor_dt_off),
    Member::ctor(
        &[P::I32, P::I32, P::I32, P::I32, P::I32, P::I32, P::TS],
        dto_ctor_parts,
    ),
    Member::stat("FromUnixTimeSeconds", &[P::I64], P::DTO, dto_from_unix_s),
    Member::stat(
        "FromUnixTimeMilliseconds",
        &[P::I64],
        P::DTO,
        dto_from_unix_ms,
    ),
    Member::stat("Parse", &[P::Str], P::DTO, dto_parse),
    Member::method("ToUnixTimeSeconds", &[], P::I64, dto_unix_s),
    Member::method("ToUnixTimeMilliseconds", &[], P::I64, dto_unix_ms),
    Member::method("AddSeconds", &[P::F64], P::DTO, dto_add_seconds),
    Member::method("AddMinutes", &[P::F64], P::DTO, dto_add_minutes),
    Member::method("AddHours", &[P::F64], P::DTO, dto_add_hours),
    Member::method("AddDays", &[P::F64], P::DTO, dto_add_days),
    Member::method("AddMilliseconds", &[P::F64], P::DTO, dto_add_ms),
    Member::method("ToString", &[P::Str], P::Str, dto_to_string_fmt),
    Member::prop("UtcDateTime", P::DT, dto_utc_dt),
    Member::prop("DateTime", P::DT, dto_dt),
    Member::prop("Offset", P::TS, dto_offset),
    Member::prop("Year", P::I32, dto_year),
    Member::prop("Ticks", P::I64, dto_ticks),
];

sfn!(ts_from_seconds, |m, a| Ok(Value::TimeSpan(
    TimeSpan::from_seconds(f64_of(&a[0]))?
)));
sfn!(ts_from_minutes, |m, a| Ok(Value::TimeSpan(
    TimeSpan::from_minutes(f64_of(&a[0]))?
)));
sfn!(ts_from_hours, |m, a| Ok(Value::TimeSpan(
    TimeSpan::from_hours(f64_of(&a[0]))?
)));
sfn!(ts_from_days, |m, a| Ok(Value::TimeSpan(
    TimeSpan::from_days(f64_of(&a[0]))?
)));
sfn!(ts_from_ms, |m, a| Ok(Value::TimeSpan(
    TimeSpan::from_milliseconds(f64_of(&a[0]))?
)));
sfn!(ts_from_ticks, |m, a| Ok(Value::TimeSpan(
    TimeSpan::from_ticks(i64_of(&a[0]))
)));
sfn!(ts_parse, |m, a| Ok(Value::TimeSpan(
    apim_dotnet::datetime_format::parse_timespan(s_of(&a[0], "s")?)?
)));
sfn!(ts_ctor3, |m, a| Ok(Value::TimeSpan(TimeSpan::from_hms(
    i32_of(&a[1]),
    i32_of(&a[2]),
    i32_of(&a[3])
)?)));
sfn!(ts_ctor_parts, |m, a| {
    let n: Vec<i32> = a[1..].iter().map(i32_of).collect();
    Ok(Value::TimeSpan(TimeSpan::new(
        n[0],
        n[1],
        n[2],
        n[3],
        n.get(4).copied().unwrap_or(0),
    )?))
});
sfn!(ts_ctor_ticks, |m, a| Ok(Value::TimeSpan(
    TimeSpan::from_ticks(i64_of(&a[1]))
)));
sfn!(ts_total_seconds, |m, a| ok(ts(&a[0]).total_seconds()));
sfn!(ts_total_minutes, |m, a| ok(ts(&a[0]).total_minutes()));
sfn!(ts_total_hours, |m, a| ok(ts(&a[0]).total_hours()));
sfn!(ts_total_days, |m, a| ok(ts(&a[0]).total_days()));
sfn!(ts_total_ms, |m, a| ok(ts(&a[0]).total_milliseconds()));
sfn!(ts_days, |m, a| ok(ts(&a[0]).days()));
sfn!(ts_hours, |m, a| ok(ts(&a[0]).hours()));
sfn!(ts_minutes, |m, a| ok(ts(&a[0]).minutes()));
sfn!(ts_seconds, |m, a| ok(ts(&a[0]).seconds()));
sfn!(ts_ms, |m, a| ok(ts(&a[0]).milliseconds()));
sfn!(ts_ticks, |m, a| ok(ts(&a[0]).ticks()));
sfn!(ts_add, |m, a| Ok(Value::TimeSpan(
    ts(&a[0]).add(ts(&a[1]))?
)));
sfn!(ts_sub, |m, a| Ok(Value::TimeSpan(
    ts(&a[0]).subtract(ts(&a[1]))?
)));
sfn!(ts_neg, |m, a| Ok(Value::TimeSpan(ts(&a[0]).negate()?)));
sfn!(ts_duration, |m, a| Ok(Value::TimeSpan(
    ts(&a[0]).duration()?
)));
sfn!(ts_to_string_fmt, |m, a| Ok(Value::string(format_with(
    &a[0],
    s_of(&a[1], "format").unwrap_or("")
)?)));
static TIMESPAN: &[Member] = &[
    Member::stat("FromSeconds", &[P::F64], P::TS, ts_from_seconds),
    Member::stat("FromMinutes", &[P::F64], P::TS, ts_from_minutes),
    Member::stat("FromHours", &[P::F64], P::TS, ts_from_hours),
    Member::stat("FromDays", &[P::F64], P::TS, ts_from_days),
    Member::stat("FromMilliseconds", &[P::F64], P::TS, ts_from_ms),
    Member::stat("FromTicks", &[P::I64], P::TS, ts_from_ticks),
    Member::stat("Parse", &[P::Str], P::TS, ts_parse),
    Member::ctor(&[P::I32, P::I32, P::I32], ts_ctor3),
    Member::ctor(&[P::I32, P::I32, P::I32, P::I32], ts_ctor_parts),
    Member::ctor(&[P::I32, P::I32, P::I32, P::I32, P::I32], ts_ctor_parts),
    Member::ctor(&[P::I64], ts_ctor_ticks),
    Member::prop("TotalSeconds", P::F64, ts_total_seconds),
    Member::prop("TotalMinutes", P::F64, ts_total_minutes),
    Member::prop("TotalHours", P::F64, ts_total_hours),
    Member::prop("TotalDays", P::F64, ts_total_days),
    Member::prop("TotalMilliseconds", P::F64, ts_total_ms),
    Member::prop("Days", P::I32, ts_days),
    Member::prop("Hours", P::I32, ts_hours),
    Member::prop("Minutes", P::I32, ts_minutes),
    Member::prop("Seconds", P::I32, ts_seconds),
    Member::prop("Milliseconds", P::I32, ts_ms),
    Member::prop("Ticks", P::I64, ts_ticks),
    Member::method("Add", &[P::TS], P::TS, ts_add),
    Member::method("Subtract", &[P::TS], P::TS, ts_sub),
    Member::method("Negate", &[], P::TS, ts_neg),
    Member::method("Duration", &[], P::TS, ts_duration),
    Member::method("ToString", &[P::Str], P::Str, ts_to_string_fmt),
];

// ------------------------------------------------------------------ Guid
sfn!(guid_new, |m, a| Ok(Value::Guid(m.env.new_guid())));
sfn!(guid_parse, |m, a| Ok(Value::Guid(Guid::parse(s_of(
    &a[0], "input"
)?)?)));
sfn!(guid_try_parse, |m, a| {
    let r = match &a[0] {
        Value::Str(s) => Guid::try_parse(s),
        _ => None,
    };
    a[1] = Value::Guid(r.unwrap_or(Guid::from_bytes([0; 16])));
    ok(r.is_some())
});
sfn!(guid_ctor_bytes, |m, a| Ok(Value::Guid(Guid::from_slice(
    &bytes_of(&a[1])?
)?)));
sfn!(guid_ctor_str, |m, a| Ok(Value::Guid(Guid::parse(s_of(
    &a[1], "g"
)?)?)));
sfn!(guid_to_string_fmt, |m, a| {
    let Value::Guid(g) = a[0] else {
        return Ok(Value::Null);
    };
    let f = match &a[1] {
        Value::Str(s) => s.to_string(),
        _ => String::new(),
    };
    Ok(Value::string(g.to_string_format(&f)?))
});
sfn!(guid_to_bytes, |m, a| {
    let Value::Guid(g) = a[0] else {
        return Ok(Value::Null);
    };
    Ok(Value::bytes(g.to_byte_array().to_vec()))
});
static GUID: &[Member] = &[
    Member::stat("NewGuid", &[], P::C(Cls::Guid), guid_new),
    Member::stat("Parse", &[P::Str], P::C(Cls::Guid), guid_parse),
    Member::stat(
        "TryParse",
        &[P::Str, P::C(Cls::Guid)],
        P::Bool,
        guid_try_parse,
    )
    .out(1),
    Member::ctor(&[P::Arr(&P::U8)], guid_ctor_bytes),
    Member::ctor(&[P::Str], guid_ctor_str),
    Member::method("ToString", &[P::Str], P::Str, guid_to_string_fmt),
    Member::method("ToByteArray", &[], P::Arr(&P::U8), guid_to_bytes),
];

// ------------------------------------------------------------------ exceptions
sfn!(exc_ctor0, |m, a| {
    let t = ty_of(&a[0]);
    let Ty::Named(Cls::Exception(k)) = t else {
        return Ok(Value::Null);
    };
    let msg = default_exc_message(k);
    Ok(Value::Exception(Arc::new(Exception::new(k, msg))))
});
sfn!(exc_ctor1, |m, a| {
    let t = ty_of(&a[0]);
    let Ty::Named(Cls::Exception(k)) = t else {
        return Ok(Value::Null);
    };
    let msg = match &a[1] {
        Value::Str(s) => s.to_string(),
        _ => default_exc_message(k),
    };
    Ok(Value::Exception(Arc::new(Exception::new(k, msg))))
});
fn default_exc_message(k: Exc) -> String {
    match k {
        Exc::Exception => "Exception of type 'System.Exception' was thrown.".into(),
        Exc::InvalidOperationException => {
            "Operation is not valid due to the current state of the object.".into()
        }
        Exc::ArgumentException => "Value does not fall within the expected range.".into(),
        Exc::ArgumentNullException => "Value cannot be null.".into(),
        Exc::FormatException => "One of the identified items was in an invalid format.".into(),
        Exc::NotImplementedException => "The method or operation is not implemented.".into(),
        Exc::NotSupportedException => "Specified method is not supported.".into(),
        k => format!(
            "Exception of type '{}.{}' was thrown.",
            k.namespace(),
            k.name()
        ),
    }
}
sfn!(exc_message, |m, a| match &a[0] {
    Value::Exception(e) => Ok(Value::string(e.message.clone())),
    _ => Err(Exception::null_ref().into()),
});
sfn!(exc_ctor_inner, |m, a| {
    let Ty::Named(Cls::Exception(k)) = ty_of(&a[0]) else {
        return Ok(Value::Null);
    };
    let mut e = Exception::new(k, s_of(&a[1], "message").unwrap_or("").to_string());
    if let Value::Exception(inner) = &a[2] {
        e.inner = Some(inner.clone());
    }
    Ok(Value::Exception(Arc::new(e)))
});
sfn!(exc_ctor_param, |m, a| {
    let Ty::Named(Cls::Exception(k)) = ty_of(&a[0]) else {
        return Ok(Value::Null);
    };
    let param = s_of(&a[2], "paramName").ok().map(str::to_string);
    // ArgumentNullException(paramName, message) takes the parameter first
    let (param, msg) = if k == Exc::ArgumentNullException || k == Exc::ArgumentOutOfRangeException {
        (
            s_of(&a[1], "paramName").ok().map(str::to_string),
            s_of(&a[2], "message").unwrap_or("").to_string(),
        )
    } else {
        (param, s_of(&a[1], "message").unwrap_or("").to_string())
    };
    let mut e = Exception::new(k, msg);
    e.param = param;
    Ok(Value::Exception(Arc::new(e)))
});
sfn!(arg_exc_ctor1, |m, a| {
    let Ty::Named(Cls::Exception(k)) = ty_of(&a[0]) else {
        return Ok(Value::Null);
    };
    let text = s_of(&a[1], "message").unwrap_or("").to_string();
    // the one-string constructors of ArgumentNull/ArgumentOutOfRange take the parameter name
    let e = match k {
        Exc::ArgumentNullException => {
            let mut e = Exception::new(k, format!("Value cannot be null. (Parameter '{text}')"));
            e.param = Some(text);
            e
        }
        Exc::ArgumentOutOfRangeException => {
            let mut e = Exception::new(
                k,
                format!(
                    "Specified argument was out of the range of valid values. (Parameter '{text}')"
                ),
            );
            e.param = Some(text);
            e
        }
        _ => Exception::new(k, text),
    };
    Ok(Value::Exception(Arc::new(e)))
});
static ARG_EXCEPTION: &[Member] = &[
    Member::ctor(&[], exc_ctor0),
    Member::ctor(&[P::Str], arg_exc_ctor1),
    Member::ctor(&[P::Str, P::Str], exc_ctor_param),
    Member::ctor(
        &[P::Str, P::C(Cls::Exception(Exc::Exception))],
        exc_ctor_inner,
    ),
    Member::prop("ParamName", P::Str, exc_param),
];
sfn!(exc_inner, |m, a| match &a[0] {
    Value::Exception(e) => Ok(e.inner.clone().map(Value::Exception).unwrap_or(Value::Null)),
    _ => Err(Exception::null_ref().into()),
});
sfn!(exc_param, |m, a| match &a[0] {
    Value::Exception(e) => Ok(e.param.clone().map(Value::string).unwrap_or(Value::Null)),
    _ => Err(Exception::null_ref().into()),
});
static EXCEPTION: &[Member] = &[
    Member::ctor(
        &[P::Str, P::C(Cls::Exception(Exc::Exception))],
        exc_ctor_inner,
    ),
    Member::prop(
        "InnerException",
        P::C(Cls::Exception(Exc::Exception)),
        exc_inner,
    ),
    Member::ctor(&[], exc_ctor0),
    Member::ctor(&[P::Str], exc_ctor1),
    Member::prop("Message", P::Str, exc_message),
];

// ------------------------------------------------------------------ arrays and collections
fn seq(v: &Value) -> R<&Arc<Seq>> {
    match v {
        Value::Array(s) | Value::List(s) => Ok(s),
        Value::Null => Err(Exception::null_ref().into()),
        _ => Err(exc(Exc::InvalidCastException, "expected a collection")),
    }
}
sfn!(seq_len, |m, a| Ok(Value::I32(
    seq(&a[0])?.items.read().len() as i32
)));
sfn!(seq_len_long, |m, a| Ok(Value::I64(
    seq(&a[0])?.items.read().len() as i64
)));
/// An in-range index of an array (IndexOutOfRange) or list (ArgumentOutOfRange).
fn element_index(s: &Seq, i: i32, len: usize) -> R<usize> {
    if i < 0 || i as usize >= len {
        return Err(if s.kind == SeqKind::Array {
            Exception::index_range()
        } else {
            Exception::arg_range("index")
        }
        .into());
    }
    Ok(i as usize)
}
sfn!(arr_get, |m, a| {
    let s = seq(&a[0])?;
    let i = i32_of(&a[1]);
    let items = s.items.read();
    let i = element_index(s, i, items.len())?;
    Ok(items[i].clone())
});
sfn!(arr_set, |m, a| {
    let s = seq(&a[0])?.clone();
    let i = i32_of(&a[1]);
    let mut items = s.items.write();
    let i = element_index(&s, i, items.len())?;
    items[i] = a[2].clone();
    Ok(Value::Null)
});
sfn!(sysarray_copy, |m, a| {
    let (src, si, dst, di, n) = if a.len() == 3 {
        (&a[0], 0, &a[1], 0, i32_of(&a[2]))
    } else {
        (&a[0], i32_of(&a[1]), &a[2], i32_of(&a[3]), i32_of(&a[4]))
    };
    let src = seq(src)?.clone();
    let dst = seq(dst)?.clone();
    if si < 0 || di < 0 || n < 0 {
        return Err(exc(
            Exc::ArgumentOutOfRangeException,
            "Number was less than the array's lower bound in the first dimension.",
        ));
    }
    let items: Vec<Value> = {
        let s = src.items.read();
        if (si + n) as usize > s.len() {
            return Err(exc(
                Exc::ArgumentException,
                "Source array was not long enough. Check srcIndex and length, and the array's lower bounds.",
            ));
        }
        s[si as usize..(si + n) as usize].to_vec()
    };
    let mut d = dst.items.write();
    if (di + n) as usize > d.len() {
        return Err(exc(
            Exc::ArgumentException,
            "Destination array was not long enough. Check destIndex and length, and the array's lower bounds.",
        ));
    }
    for (k, v) in items.into_iter().enumerate() {
        d[di as usize + k] = v;
    }
    Ok(Value::Null)
});
sfn!(sysarray_index_of, |m, a| {
    let s = seq(&a[0])?;
    ok(s.items
        .read()
        .iter()
        .position(|x| values_equal(x, &a[1]))
        .map(|i| i as i32)
        .unwrap_or(-1))
});
sfn!(sysarray_reverse, |m, a| {
    seq(&a[0])?.items.write().reverse();
    Ok(Value::Null)
});
sfn!(sysarray_empty, |m, a| Ok(Value::Array(Seq::new(
    SeqKind::Array,
    ty_of(&a[0]),
    vec![]
))));
static ARRAY: &[Member] = &[
    Member::prop("Length", P::I32, seq_len),
    Member::prop("LongLength", P::I64, seq_len_long),
    Member::indexer(&[P::I32], P::Elem, arr_get, Some(arr_set)),
];
static SYSARRAY: &[Member] = &[
    Member::stat(
        "Copy",
        &[P::C(Cls::SysArray), P::C(Cls::SysArray), P::I32],
        P::Void,
        sysarray_copy,
    ),
    Member::stat(
        "Copy",
        &[
            P::C(Cls::SysArray),
            P::I32,
            P::C(Cls::SysArray),
            P::I32,
            P::I32,
        ],
        P::Void,
        sysarray_copy,
    ),
    Member::stat(
        "IndexOf",
        &[P::Arr(&P::M(0)), P::M(0)],
        P::I32,
        sysarray_index_of,
    )
    .generic(1),
    Member::stat("Reverse", &[P::C(Cls::SysArray)], P::Void, sysarray_reverse),
    Member::stat("Sort", &[P::C(Cls::SysArray)], P::Void, sysarray_sort),
    Member::stat("Empty", &[], P::Arr(&P::M(0)), sysarray_empty).generic(1),
];

sfn!(list_new, |m, a| {
    let t = ty_of(&a[0]);
    let (kind, elem) = match &t {
        Ty::Gen(Gen::List, e) => (SeqKind::List, e[0].clone()),
        Ty::Gen(Gen::HashSet, e) => (SeqKind::HashSet, e[0].clone()),
        Ty::Gen(Gen::Queue, e) => (SeqKind::Queue, e[0].clone()),
        Ty::Gen(Gen::Stack, e) => (SeqKind::Stack, e[0].clone()),
        _ => (SeqKind::List, Ty::Object),
    };
    let mut items = Vec::new();
    if a.len() > 1 && !matches!(a[1], Value::I32(_)) {
        for v in enumerate(m, &a[1])? {
            if kind == SeqKind::HashSet && items.iter().any(|x| values_equal(x, &v)) {
                continue;
            }
            items.push(v);
        }
    }
    Ok(Value::List(Seq::new(kind, elem, items)))
});
sfn!(list_add, |m, a| {
    let s = seq(&a[0])?;
    if s.kind == SeqKind::HashSet {
        let mut items = s.items.write();
        if items.iter().any(|x| values_equal(x, &a[1])) {
            return ok(false);
        }
        items.push(a[1].clone());
        return ok(true);
    }
    s.items.write().push(a[1].clone());
    Ok(Value::Null)
});
sfn!(list_add_range, |m, a| {
    let s = seq(&a[0])?.clone();
    let items = enumerate(m, &a[1])?;
    s.items.write().extend(items);
    Ok(Value::Null)
});
sfn!(list_clear, |m, a| {
    seq(&a[0])?.items.write().clear();
    Ok(Value::Null)
});
sfn!(list_contains, |m, a| ok(seq(&a[0])?
    .items
    .read()
    .iter()
    .any(|x| values_equal(x, &a[1]))));
sfn!(list_remove, |m, a| {
    let s = seq(&a[0])?;
    let mut items = s.items.write();
    match items.iter().position(|x| values_equal(x, &a[1])) {
        Some(i) => {
            items.remove(i);
            ok(true)
        }
        None => ok(false),
    }
});
sfn!(list_remove_at, |m, a| {
    let s = seq(&a[0])?;
    let i = i32_of(&a[1]);
    let mut items = s.items.write();
    if i < 0 || i as usize >= items.len() {
        return Err(Exception::arg_range("index").into());
    }
    items.remove(i as usize);
    Ok(Value::Null)
});
sfn!(list_insert, |m, a| {
    let s = seq(&a[0])?;
    let i = i32_of(&a[1]);
    let mut items = s.items.write();
    if i < 0 || i as usize > items.len() {
        return Err(Exception::arg_range("index").into());
    }
    items.insert(i as usize, a[2].clone());
    Ok(Value::Null)
});
sfn!(list_index_of, |m, a| ok(seq(&a[0])?
    .items
    .read()
    .iter()
    .position(|x| values_equal(x, &a[1]))
    .map(|i| i as i32)
    .unwrap_or(-1)));
sfn!(list_sort, |m, a| {
    let s = seq(&a[0])?;
    let mut items = s.items.write();
    items.sort_by(|x, y| compare(x, y).unwrap_or(Ordering::Equal));
    Ok(Value::Null)
});
sfn!(list_reverse, |m, a| {
    seq(&a[0])?.items.write().reverse();
    Ok(Value::Null)
});
sfn!(list_to_array, |m, a| {
    let s = seq(&a[0])?;
    Ok(Value::Array(Seq::new(
        SeqKind::Array,
        s.elem.clone(),
        s.items.read().clone(),
    )))
});
sfn!(list_find, |m, a| {
    let et = seq(&a[0])?.elem.clone();
    let items = seq(&a[0])?.items.read().clone();
    for x in items {
        if crate::interp::truthy(&m.call_lambda(&a[1], std::slice::from_ref(&x))?) {
            return Ok(x);
        }
    }
    Ok(crate::interp::default_value(&et))
});
sfn!(list_find_index, |m, a| {
    let items = seq(&a[0])?.items.read().clone();
    for (i, x) in items.into_iter().enumerate() {
        if crate::interp::truthy(&m.call_lambda(&a[1], &[x])?) {
            return ok(i as i32);
        }
    }
    ok(-1)
});
sfn!(list_exists, |m, a| {
    let items = seq(&a[0])?.items.read().clone();
    for x in items {
        if crate::interp::truthy(&m.call_lambda(&a[1], &[x])?) {
            return ok(true);
        }
    }
    ok(false)
});
sfn!(list_true_for_all, |m, a| {
    let items = seq(&a[0])?.items.read().clone();
    for x in items {
        if !crate::interp::truthy(&m.call_lambda(&a[1], &[x])?) {
            return ok(false);
        }
    }
    ok(true)
});
sfn!(list_remove_all, |m, a| {
    let s = seq(&a[0])?.clone();
    let items = s.items.read().clone();
    let mut keep = Vec::new();
    let mut removed = 0;
    for x in items {
        if crate::interp::truthy(&m.call_lambda(&a[1], std::slice::from_ref(&x))?) {
            removed += 1;
        } else {
            keep.push(x);
        }
    }
    *s.items.write() = keep;
    ok(removed)
});
sfn!(list_convert_all, |m, a| {
    let t = out_elem(a);
    let items = seq(&a[0])?.items.read().clone();
    let mut out = Vec::with_capacity(items.len());
    for x in items {
        out.push(m.call_lambda(&a[1], &[x])?);
    }
    Ok(Value::List(Seq::new(SeqKind::List, t, out)))
});
sfn!(list_get_range, |m, a| {
    let s = seq(&a[0])?;
    let (i, n) = (i32_of(&a[1]), i32_of(&a[2]));
    let items = s.items.read();
    if i < 0 || n < 0 || (i + n) as usize > items.len() {
        return Err(exc(
            Exc::ArgumentException,
            "Offset and length were out of bounds for the array or count is greater than the number of elements from index to the end of the source collection.",
        ));
    }
    Ok(Value::List(Seq::new(
        SeqKind::List,
        s.elem.clone(),
        items[i as usize..(i + n) as usize].to_vec(),
    )))
});
sfn!(queue_enqueue, |m, a| {
    seq(&a[0])?.items.write().push(a[1].clone());
    Ok(Value::Null)
});
sfn!(queue_dequeue, |m, a| {
    let s = seq(&a[0])?;
    let mut items = s.items.write();
    if items.is_empty() {
        return Err(exc(Exc::InvalidOperationException, "Queue empty."));
    }
    Ok(items.remove(0))
});
sfn!(queue_peek, |m, a| {
    let s = seq(&a[0])?;
    let items = s.items.read();
    let v = if s.kind == SeqKind::Stack {
        items.last()
    } else {
        items.first()
    };
    v.cloned().ok_or_else(|| {
        exc(
            Exc::InvalidOperationException,
            if s.kind == SeqKind::Stack {
                "Stack empty."
            } else {
                "Queue empty."
            },
        )
    })
});
sfn!(stack_pop, |m, a| seq(&a[0])?
    .items
    .write()
    .pop()
    .ok_or_else(|| exc(
        Exc::InvalidOperationException,
        "Stack empty."
    )));
static QUEUE: &[Member] = &[
    Member::ctor(&[], list_new),
    Member::ctor(&[P::IEnum(&P::Recv(0))], list_new),
    Member::prop("Count", P::I32, seq_len),
    Member::method("Enqueue", &[P::Recv(0)], P::Void, queue_enqueue),
    Member::method("Dequeue", &[], P::Recv(0), queue_dequeue),
    Member::method("Peek", &[], P::Recv(0), queue_peek),
    Member::method("Contains", &[P::Recv(0)], P::Bool, list_contains),
    Member::method("Clear", &[], P::Void, list_clear),
];
static STACK: &[Member] = &[
    Member::ctor(&[], list_new),
    Member::prop("Count", P::I32, seq_len),
    Member::method("Push", &[P::Recv(0)], P::Void, queue_enqueue),
    Member::method("Pop", &[], P::Recv(0), stack_pop),
    Member::method("Peek", &[], P::Recv(0), queue_peek),
    Member::method("Contains", &[P::Recv(0)], P::Bool, list_contains),
    Member::method("Clear", &[], P::Void, list_clear),
];
sfn!(sysarray_sort, |m, a| {
    seq(&a[0])?.items.write().sort_by(key_cmp);
    Ok(Value::Null)
});
sfn!(kvp_new, |m, a| {
    let (kt, vt) = match ty_of(&a[0]) {
        Ty::Gen(_, args) if args.len() == 2 => (args[0].clone(), args[1].clone()),
        _ => (Ty::Object, Ty::Object),
    };
    Ok(Value::Pair(Arc::new(Pair {
        key_ty: kt,
        value_ty: vt,
        key: a[1].clone(),
        value: a[2].clone(),
    })))
});

static LIST: &[Member] = &[
    Member::method("Find", PRED, P::Recv(0), list_find),
    Member::method("FindIndex", PRED, P::I32, list_find_index),
    Member::method("Exists", PRED, P::Bool, list_exists),
    Member::method("TrueForAll", PRED, P::Bool, list_true_for_all),
    Member::method("RemoveAll", PRED, P::I32, list_remove_all),
    Member::method(
        "ConvertAll",
        &[F_ELEM_M0],
        P::ListOf(&P::M(0)),
        list_convert_all,
    )
    .generic(1),
    Member::method(
        "GetRange",
        &[P::I32, P::I32],
        P::ListOf(&P::Recv(0)),
        list_get_range,
    ),
    Member::ctor(&[], list_new),
    Member::ctor(&[P::I32], list_new),
    Member::ctor(&[P::IEnum(&P::Recv(0))], list_new),
    Member::prop("Count", P::I32, seq_len),
    Member::indexer(&[P::I32], P::Recv(0), arr_get, Some(arr_set)),
    Member::method("Add", &[P::Recv(0)], P::Void, list_add),
    Member::method(
        "AddRange",
        &[P::IEnum(&P::Recv(0))],
        P::Void,
        list_add_range,
    ),
    Member::method("Clear", &[], P::Void, list_clear),
    Member::method("Contains", &[P::Recv(0)], P::Bool, list_contains),
    Member::method("Remove", &[P::Recv(0)], P::Bool, list_remove),
    Member::method("RemoveAt", &[P::I32], P::Void, list_remove_at),
    Member::method("Insert", &[P::I32, P::Recv(0)], P::Void, list_insert),
    Member::method("IndexOf", &[P::Recv(0)], P::I32, list_index_of),
    Member::method("Sort", &[], P::Void, list_sort),
    Member::method("Reverse", &[], P::Void, list_reverse),
    Member::method("ToArray", &[], P::Arr(&P::Recv(0)), list_to_array),
];
static HASHSET: &[Member] = &[
    Member::ctor(&[], list_new),
    Member::ctor(&[P::IEnum(&P::Recv(0))], list_new),
    Member::prop("Count", P::I32, seq_len),
    Member::method("Add", &[P::Recv(0)], P::Bool, list_add),
    Member::method("Clear", &[], P::Void, list_clear),
    Member::method("Contains", &[P::Recv(0)], P::Bool, list_contains),
    Member::method("Remove", &[P::Recv(0)], P::Bool, list_remove),
];
static ICOLL: &[Member] = &[
    Member::prop("Count", P::I32, seq_len),
    Member::indexer(&[P::I32], P::Recv(0), arr_get, Some(arr_set)),
    Member::method("Contains", &[P::Recv(0)], P::Bool, list_contains),
];

// dictionaries: `Dictionary<K,V>` values and the context's read-only dictionaries
fn key_eq(d: &Dict, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) if d.ignore_case => x.eq_ignore_ascii_case(y),
        _ => values_equal(a, b),
    }
}
fn dict_lookup(v: &Value, key: &Value) -> R<Option<Value>> {
    match v {
        Value::Dict(d) => {
            if key.is_null() {
                return Err(arg_null("key"));
            }
            Ok(d.entries
                .read()
                .iter()
                .find(|(k, _)| key_eq(d, k, key))
                .map(|(_, v)| v.clone()))
        }
        Value::HostDict(h) => match key {
            Value::Str(k) => Ok(h.get(k)),
            Value::Null => Err(arg_null("key")),
            _ => Ok(None),
        },
        Value::Null => Err(Exception::null_ref().into()),
        _ => Err(exc(Exc::InvalidCastException, "expected a dictionary")),
    }
}
sfn!(dict_new, |m, a| {
    let t = ty_of(&a[0]);
    let (k, v) = match &t {
        Ty::Gen(_, args) if args.len() == 2 => (args[0].clone(), args[1].clone()),
        _ => (Ty::Object, Ty::Object),
    };
    let ignore_case = a.get(1).is_some_and(
        |c| matches!(c, Value::Obj(o) if matches!(&**o, Obj::StringComparer(k) if k % 2 == 1)),
    );
    Ok(Value::Dict(Arc::new(Dict {
        key: k,
        value: v,
        entries: parking_lot::RwLock::new(Vec::new()),
        ignore_case,
    })))
});
sfn!(dict_get, |m, a| match dict_lookup(&a[0], &a[1])? {
    Some(v) => Ok(v),
    None => Err(Exception::key_not_found(&net_string(&a[1])).into()),
});
sfn!(dict_set, |m, a| {
    let Value::Dict(d) = &a[0] else {
        return Err(Exception::null_ref().into());
    };
    if a[1].is_null() {
        return Err(arg_null("key"));
    }
    let mut e = d.entries.write();
    match e.iter().position(|(k, _)| key_eq(d, k, &a[1])) {
        Some(i) => e[i].1 = a[2].clone(),
        None => e.push((a[1].clone(), a[2].clone())),
    }
    Ok(Value::Null)
});
sfn!(dict_add, |m, a| {
    let Value::Dict(d) = &a[0] else {
        return Err(Exception::null_ref().into());
    };
    if a[1].is_null() {
        return Err(arg_null("key"));
    }
    let mut e = d.entries.write();
    if e.iter().any(|(k, _)| key_eq(d, k, &a[1])) {
        return Err(exc(
            Exc::ArgumentException,
            "An item with the same key has already been added.",
        ));
    }
    e.push((a[1].clone(), a[2].clone()));
    Ok(Value::Null)
});
sfn!(dict_remove, |m, a| {
    let Value::Dict(d) = &a[0] else {
        return Err(Exception::null_ref().into());
    };
    let mut e = d.entries.write();
    match e.iter().position(|(k, _)| key_eq(d, k, &a[1])) {
        Some(i) => {
            e.remove(i);
            ok(true)
        }
        None => ok(false),
    }
});
sfn!(dict_clear, |m, a| {
    if let Value::Dict(d) = &a[0] {
        d.entries.write().clear();
    }
    Ok(Value::Null)
});
sfn!(dict_contains_key, |m, a| ok(
    dict_lookup(&a[0], &a[1])?.is_some()
));
sfn!(dict_contains_value, |m, a| {
    let items = enumerate(m, &a[0])?;
    ok(items
        .iter()
        .any(|p| matches!(p, Value::Pair(p) if values_equal(&p.value, &a[1]))))
});
sfn!(dict_try_get, |m, a| match dict_lookup(&a[0], &a[1])? {
    Some(v) => {
        a[2] = v;
        ok(true)
    }
    None => ok(false),
});
sfn!(dict_count, |m, a| Ok(Value::I32(match &a[0] {
    Value::Dict(d) => d.entries.read().len() as i32,
    Value::HostDict(h) => h.count() as i32,
    _ => 0,
})));
fn dict_key_ty(v: &Value) -> (Ty, Ty) {
    match v {
        Value::Dict(d) => (d.key.clone(), d.value.clone()),
        _ => (Ty::String, Ty::Object),
    }
}
/// `Keys` / `Values`: a `Dictionary`'s own collection types, a plain sequence for other
/// dictionaries (context headers, variables).
fn dict_view(d: &Value, elem: Ty, items: Vec<Value>, keys: bool) -> Arc<Seq> {
    match d {
        Value::Dict(dd) => Arc::new(Seq {
            kind: SeqKind::Enumerable,
            elem,
            items: parking_lot::RwLock::new(items),
            ordering: Vec::new(),
            dict_view: Some((dd.key.clone(), dd.value.clone(), keys)),
        }),
        _ => Seq::new(SeqKind::Enumerable, elem, items),
    }
}
/// `Keys` (`keys`) or `Values`: one half of each entry, in entry order.
fn dict_half(m: &mut Machine<'_>, d: &Value, keys: bool) -> R<Value> {
    let (k, v) = dict_key_ty(d);
    let items: Vec<Value> = enumerate(m, d)?
        .into_iter()
        .filter_map(|p| match p {
            Value::Pair(p) if keys => Some(p.key.clone()),
            Value::Pair(p) => Some(p.value.clone()),
            _ => None,
        })
        .collect();
    let elem = if keys { k } else { v };
    Ok(Value::List(dict_view(d, elem, items, keys)))
}
sfn!(dict_keys, |m, a| dict_half(m, &a[0], true));
sfn!(dict_values, |m, a| dict_half(m, &a[0], false));
// APIM's `GetValueOrDefault(name[, default])` on header/query dictionaries (values joined by ',').
sfn!(dict_gvod_joined, |m, a| {
    let v = dict_lookup(&a[0], &a[1])?;
    Ok(match v {
        Some(Value::Array(s)) => Value::string(
            s.items
                .read()
                .iter()
                .map(net_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        Some(other) => other,
        None => {
            if a.len() > 2 {
                a[2].clone()
            } else {
                Value::Null
            }
        }
    })
});
// `GetValueOrDefault(key[, default])` returning the stored value.
sfn!(dict_gvod_raw, |m, a| {
    Ok(match dict_lookup(&a[0], &a[1])? {
        Some(v) => v,
        None => {
            if a.len() > 2 && !matches!(a[2], Value::Type(_)) {
                a[2].clone()
            } else {
                Value::Null
            }
        }
    })
});
// `Variables.GetValueOrDefault<T>(name[, default])`: the stored value cast to `T`.
sfn!(dict_gvod_t, |m, a| {
    let t = ty_of(&a[a.len() - 1]);
    match dict_lookup(&a[0], &a[1])? {
        Some(v) => {
            if v.is_null() {
                return if t.accepts_null() {
                    Ok(Value::Null)
                } else {
                    Err(Exception::null_ref().into())
                };
            }
            if crate::interp::is_instance(&v, &t) {
                Ok(v)
            } else {
                Err(Exception::invalid_cast(&crate::render::clr_full_name(&v), &t.name()).into())
            }
        }
        None => Ok(if a.len() > 3 {
            a[2].clone()
        } else {
            crate::interp::default_value(&t)
        }),
    }
});

static DICT: &[Member] = &[
    Member::ctor(&[], dict_new),
    Member::ctor(&[P::COMPARER], dict_new),
    Member::indexer(&[P::Recv(0)], P::Recv(1), dict_get, Some(dict_set)),
    Member::method("Add", &[P::Recv(0), P::Recv(1)], P::Void, dict_add),
    Member::method("Remove", &[P::Recv(0)], P::Bool, dict_remove),
    Member::method("Clear", &[], P::Void, dict_clear),
    Member::method("ContainsValue", &[P::Recv(1)], P::Bool, dict_contains_value),
];
static RODICT: &[Member] = &[
    Member::indexer(&[P::Recv(0)], P::Recv(1), dict_get, None),
    Member::prop("Count", P::I32, dict_count),
    Member::prop("Keys", P::IEnum(&P::Recv(0)), dict_keys),
    Member::prop("Values", P::IEnum(&P::Recv(1)), dict_values),
    Member::method("ContainsKey", &[P::Recv(0)], P::Bool, dict_contains_key),
    Member::method(
        "TryGetValue",
        &[P::Recv(0), P::Recv(1)],
        P::Bool,
        dict_try_get,
    )
    .out(1),
    Member::method(
        "GetValueOrDefault",
        &[P::Str],
        P::Dyn(gvod_ret),
        dict_gvod_dyn,
    ),
    Member::method(
        "GetValueOrDefault",
        &[P::Str, P::Dyn(gvod_ret)],
        P::Dyn(gvod_ret),
        dict_gvod_dyn,
    ),
    Member::method(
        "GetValueOrDefault",
        &[P::Str, P::Recv(1)],
        P::Recv(1),
        dict_gvod_raw,
    ),
    Member::method(
        "GetValueOrDefault",
        &[P::Recv(0)],
        P::Recv(1),
        dict_gvod_raw,
    ),
    Member::method(
        "GetValueOrDefault",
        &[P::Recv(0), P::Recv(1)],
        P::Recv(1),
        dict_gvod_raw,
    ),
    Member::method("GetValueOrDefault", &[P::Str], P::M(0), dict_gvod_t).generic(1),
    Member::method(
        "GetValueOrDefault",
        &[P::Str, P::M(0)],
        P::M(0),
        dict_gvod_t,
    )
    .generic(1),
];

/// Header/query/claims dictionaries (`string[]` values) return the comma-joined string.
fn gvod_ret(recv: &Ty, _m: &[Ty]) -> Ty {
    match recv {
        Ty::Gen(_, a) if a.len() == 2 && a[1] == Ty::array(Ty::String) => Ty::String,
        _ => Ty::Error,
    }
}
sfn!(dict_gvod_dyn, |m, a| dict_gvod_joined(m, a));

sfn!(kvp_key, |m, a| match &a[0] {
    Value::Pair(p) => Ok(p.key.clone()),
    _ => Ok(Value::Null),
});
sfn!(kvp_value, |m, a| match &a[0] {
    Value::Pair(p) => Ok(p.value.clone()),
    _ => Ok(Value::Null),
});
static KVP: &[Member] = &[
    Member::ctor(&[P::Recv(0), P::Recv(1)], kvp_new),
    Member::prop("Key", P::Recv(0), kvp_key),
    Member::prop("Value", P::Recv(1), kvp_value),
];

// ------------------------------------------------------------------ LINQ
fn out_elem(a: &[Value]) -> Ty {
    // the last trailing Type argument is the inferred result element type
    match a.last() {
        Some(Value::Type(t)) => (**t).clone(),
        _ => Ty::Object,
    }
}
fn elems(m: &mut Machine<'_>, v: &Value) -> R<Vec<Value>> {
    if v.is_null() {
        return Err(arg_null("source"));
    }
    enumerate(m, v)
}
fn elem_ty_of(v: &Value) -> Ty {
    match v {
        Value::Array(s) | Value::List(s) => s.elem.clone(),
        Value::Json(_) => Ty::Named(Cls::JToken),
        Value::Str(_) => Ty::Char,
        Value::Dict(d) => Ty::generic(Gen::KeyValuePair, vec![d.key.clone(), d.value.clone()]),
        _ => Ty::Object,
    }
}
fn enumerable(elem: Ty, items: Vec<Value>) -> Value {
    Value::List(Seq::new(SeqKind::Enumerable, elem, items))
}
sfn!(linq_where, |m, a| {
    let items = elems(m, &a[0])?;
    let et = elem_ty_of(&a[0]);
    let mut out = Vec::new();
    for (i, x) in items.into_iter().enumerate() {
        let args = if lambda_arity(m, &a[1]) == 2 {
            vec![x.clone(), Value::I32(i as i32)]
        } else {
            vec![x.clone()]
        };
        if crate::interp::truthy(&m.call_lambda(&a[1], &args)?) {
            out.push(x);
        }
    }
    Ok(enumerable(et, out))
});
fn lambda_arity(m: &Machine<'_>, f: &Value) -> usize {
    let _ = m;
    match f {
        Value::Lambda(_) => m_lambda_arity(m, f),
        _ => 1,
    }
}
fn m_lambda_arity(m: &Machine<'_>, f: &Value) -> usize {
    m.lambda_arity(f)
}
sfn!(linq_select, |m, a| {
    let items = elems(m, &a[0])?;
    let t = out_elem(a);
    let two = lambda_arity(m, &a[1]) == 2;
    let mut out = Vec::with_capacity(items.len());
    for (i, x) in items.into_iter().enumerate() {
        let args = if two {
            vec![x, Value::I32(i as i32)]
        } else {
            vec![x]
        };
        out.push(m.call_lambda(&a[1], &args)?);
    }
    Ok(enumerable(t, out))
});
sfn!(linq_select_many, |m, a| {
    let items = elems(m, &a[0])?;
    let t = out_elem(a);
    let mut out = Vec::new();
    for x in items {
        let inner = m.call_lambda(&a[1], &[x])?;
        out.extend(elems(m, &inner)?);
    }
    Ok(enumerable(t, out))
});
sfn!(linq_any, |m, a| {
    let items = elems(m, &a[0])?;
    if a.len() < 2 {
        return ok(!items.is_empty());
    }
    for x in items {
        if crate::interp::truthy(&m.call_lambda(&a[1], &[x])?) {
            return ok(true);
        }
    }
    ok(false)
});
sfn!(linq_all, |m, a| {
    for x in elems(m, &a[0])? {
        if !crate::interp::truthy(&m.call_lambda(&a[1], &[x])?) {
            return ok(false);
        }
    }
    ok(true)
});
sfn!(linq_count, |m, a| {
    let items = elems(m, &a[0])?;
    if a.len() < 2 {
        return ok(items.len() as i32);
    }
    let mut n = 0;
    for x in items {
        if crate::interp::truthy(&m.call_lambda(&a[1], &[x])?) {
            n += 1;
        }
    }
    ok(n)
});
fn filtered(m: &mut Machine<'_>, a: &[Value]) -> R<Vec<Value>> {
    let items = elems(m, &a[0])?;
    if a.len() < 2 || matches!(a[1], Value::Type(_)) || !matches!(a[1], Value::Lambda(_)) {
        return Ok(items);
    }
    let mut out = Vec::new();
    for x in items {
        if crate::interp::truthy(&m.call_lambda(&a[1], std::slice::from_ref(&x))?) {
            out.push(x);
        }
    }
    Ok(out)
}
fn no_elements() -> Fault {
    exc(
        Exc::InvalidOperationException,
        "Sequence contains no elements",
    )
}
fn no_match() -> Fault {
    exc(
        Exc::InvalidOperationException,
        "Sequence contains no matching element",
    )
}
/// First/Last and their OrDefault forms: one filter and one fault, only the end taken differs.
fn first_or_last(m: &mut Machine<'_>, a: &[Value], last: bool, or_default: bool) -> R<Value> {
    let pred = a.len() > 1 && matches!(a[1], Value::Lambda(_));
    let items = filtered(m, a)?;
    let found = if last {
        items.into_iter().last()
    } else {
        items.into_iter().next()
    };
    match found {
        Some(v) => Ok(v),
        None if or_default => Ok(crate::interp::default_value(&elem_ty_of(&a[0]))),
        None if pred => Err(no_match()),
        None => Err(no_elements()),
    }
}
sfn!(linq_first, |m, a| first_or_last(m, a, false, false));
sfn!(linq_first_or_default, |m, a| first_or_last(
    m, a, false, true
));
sfn!(linq_last, |m, a| first_or_last(m, a, true, false));
sfn!(linq_last_or_default, |m, a| first_or_last(m, a, true, true));
/// Single and SingleOrDefault: only the empty case differs.
fn single(m: &mut Machine<'_>, a: &[Value], or_default: bool) -> R<Value> {
    let items = filtered(m, a)?;
    match items.len() {
        1 => Ok(items[0].clone()),
        0 if or_default => Ok(crate::interp::default_value(&elem_ty_of(&a[0]))),
        0 => Err(no_elements()),
        _ => Err(exc(
            Exc::InvalidOperationException,
            "Sequence contains more than one element",
        )),
    }
}
sfn!(linq_single, |m, a| single(m, a, false));
sfn!(linq_single_or_default, |m, a| single(m, a, true));
sfn!(linq_element_at, |m, a| {
    let items = elems(m, &a[0])?;
    let i = i32_of(&a[1]);
    if i < 0 || i as usize >= items.len() {
        return Err(Exception::arg_range("index").into());
    }
    Ok(items[i as usize].clone())
});
sfn!(linq_element_at_or_default, |m, a| {
    let et = elem_ty_of(&a[0]);
    let items = elems(m, &a[0])?;
    let i = i32_of(&a[1]);
    if i < 0 || i as usize >= items.len() {
        return Ok(crate::interp::default_value(&et));
    }
    Ok(items[i as usize].clone())
});
fn projected(m: &mut Machine<'_>, a: &[Value]) -> R<Vec<Value>> {
    let items = elems(m, &a[0])?;
    if a.len() > 1 && matches!(a[1], Value::Lambda(_)) {
        let mut out = Vec::new();
        for x in items {
            out.push(m.call_lambda(&a[1], &[x])?);
        }
        return Ok(out);
    }
    Ok(items)
}
fn sum_values(items: &[Value]) -> R<Value> {
    let mut acc: Option<Value> = None;
    for v in items {
        if v.is_null() {
            continue;
        }
        acc = Some(match acc {
            None => v.clone(),
            Some(x) => crate::interp::arith(crate::ast::BinOp::Add, &x, v, true)?,
        });
    }
    Ok(acc.unwrap_or(Value::I32(0)))
}

/// `Average()`: float for floats, decimal for decimals, double otherwise.
fn average_ret(recv: &Ty, _m: &[Ty]) -> Ty {
    match recv.element() {
        Some(Ty::F32) => Ty::F32,
        Some(Ty::Decimal) => Ty::Decimal,
        _ => Ty::F64,
    }
}
sfn!(linq_average, |m, a| {
    let items = projected(m, a)?;
    if items.is_empty() {
        return Err(no_elements());
    }
    let s = sum_values(&items)?;
    Ok(match s {
        Value::Dec(d) => Value::Dec(d / Decimal::from(items.len() as i64)),
        // Average(IEnumerable<float>) sums in double and returns a float.
        Value::F32(_) => {
            Value::F32((items.iter().map(f64_of).sum::<f64>() / items.len() as f64) as f32)
        }
        other => Value::F64(f64_of(&other) / items.len() as f64),
    })
});
fn minmax(m: &mut Machine<'_>, a: &[Value], want: Ordering) -> R<Value> {
    let items = projected(m, a)?;
    let mut best: Option<Value> = None;
    for v in items {
        if v.is_null() {
            continue;
        }
        best = Some(match best {
            None => v,
            Some(b) => {
                if compare(&v, &b) == Some(want) {
                    v
                } else {
                    b
                }
            }
        });
    }
    match best {
        Some(b) => Ok(b),
        // an empty sequence of a nullable (or reference) type has no minimum: null
        None if elem_ty_of(&a[0]).accepts_null()
            && !(a.len() > 1 && matches!(a[1], Value::Lambda(_))) =>
        {
            Ok(Value::Null)
        }
        None => Err(no_elements()),
    }
}
sfn!(linq_max, |m, a| minmax(m, a, Ordering::Greater));
sfn!(linq_min, |m, a| minmax(m, a, Ordering::Less));
fn key_cmp(k1: &Value, k2: &Value) -> Ordering {
    match (k1, k2) {
        (Value::Str(x), Value::Str(y)) => compare_strings_culture(x, y),
        _ => compare(k1, k2).unwrap_or_else(|| (!k1.is_null()).cmp(&!k2.is_null())),
    }
}
/// The `StringComparer` passed to a LINQ operator, as its `StringComparison` value.
fn comparer_arg(a: &[Value]) -> Option<i64> {
    a.iter().skip(1).find_map(|v| match v {
        Value::Obj(o) => match &**o {
            Obj::StringComparer(k) => Some(*k),
            _ => None,
        },
        _ => None,
    })
}
/// Compares two keys with a `StringComparer` (by `StringComparison` value).
fn comparer_cmp(kind: i64, x: &Value, y: &Value) -> Ordering {
    match (x, y) {
        (Value::Str(a), Value::Str(b)) => match kind {
            4 => ordinal_diff(a, b).cmp(&0),
            5 => ordinal_diff(
                &apim_dotnet::string::to_upper_invariant(a),
                &apim_dotnet::string::to_upper_invariant(b),
            )
            .cmp(&0),
            k if k % 2 == 1 => compare_strings_culture(
                &apim_dotnet::string::to_lower_invariant(a),
                &apim_dotnet::string::to_lower_invariant(b),
            ),
            _ => compare_strings_culture(a, b),
        },
        _ => key_cmp(x, y),
    }
}
fn comparer_eq(kind: Option<i64>, x: &Value, y: &Value) -> bool {
    match (kind, x, y) {
        (Some(k), Value::Str(_), Value::Str(_)) => comparer_cmp(k, x, y) == Ordering::Equal,
        _ => values_equal(x, y),
    }
}
/// `OrderBy` (`then` false) or `ThenBy` (`then` true: refines the source's ordering).
fn order_by(m: &mut Machine<'_>, a: &[Value], desc: bool, then: bool) -> R<Value> {
    let comparer = comparer_arg(&a[1..]);
    let items = elems(m, &a[0])?;
    let et = elem_ty_of(&a[0]);
    let mut ordering = match (&a[0], then) {
        (Value::List(s), true) => s.ordering.clone(),
        _ => Vec::new(),
    };
    ordering.push((a[1].clone(), desc));
    let mut keyed = Vec::with_capacity(items.len());
    for x in items {
        let mut keys = Vec::with_capacity(ordering.len());
        for (f, _) in &ordering {
            keys.push(m.call_lambda(f, std::slice::from_ref(&x))?);
        }
        keyed.push((keys, x));
    }
    // stable sort over all keys, as LINQ's OrderBy/ThenBy
    keyed.sort_by(|(k1, _), (k2, _)| {
        let last = ordering.len() - 1;
        for (i, (_, d)) in ordering.iter().enumerate() {
            let o = match comparer {
                Some(k) if i == last => comparer_cmp(k, &k1[i], &k2[i]),
                _ => key_cmp(&k1[i], &k2[i]),
            };
            let o = if *d { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    Ok(Value::List(Arc::new(Seq {
        kind: SeqKind::Enumerable,
        elem: et,
        items: parking_lot::RwLock::new(keyed.into_iter().map(|(_, x)| x).collect()),
        ordering,
        dict_view: None,
    })))
}
sfn!(linq_order_by, |m, a| order_by(m, a, false, false));
sfn!(linq_order_by_desc, |m, a| order_by(m, a, true, false));
sfn!(linq_then_by_desc, |m, a| order_by(m, a, true, true));
sfn!(linq_skip_while, |m, a| {
    let et = elem_ty_of(&a[0]);
    let mut out = Vec::new();
    let mut skipping = true;
    for x in elems(m, &a[0])? {
        if skipping && crate::interp::truthy(&m.call_lambda(&a[1], std::slice::from_ref(&x))?) {
            continue;
        }
        skipping = false;
        out.push(x);
    }
    Ok(enumerable(et, out))
});
sfn!(linq_take_while, |m, a| {
    let et = elem_ty_of(&a[0]);
    let mut out = Vec::new();
    for x in elems(m, &a[0])? {
        if !crate::interp::truthy(&m.call_lambda(&a[1], std::slice::from_ref(&x))?) {
            break;
        }
        out.push(x);
    }
    Ok(enumerable(et, out))
});
sfn!(linq_sequence_equal, |m, a| {
    let (x, y) = (elems(m, &a[0])?, elems(m, &a[1])?);
    ok(x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| values_equal(p, q)))
});
fn set_op(m: &mut Machine<'_>, a: &[Value], op: u8) -> R<Value> {
    let et = elem_ty_of(&a[0]);
    let (x, y) = (elems(m, &a[0])?, elems(m, &a[1])?);
    let mut out: Vec<Value> = Vec::new();
    let contains = |v: &[Value], e: &Value| v.iter().any(|z| values_equal(z, e));
    let src: Vec<Value> = if op == 2 {
        x.into_iter().chain(y.iter().cloned()).collect()
    } else {
        x
    };
    for e in src {
        let keep = match op {
            0 => !contains(&y, &e),
            1 => contains(&y, &e),
            _ => true,
        };
        if keep && !contains(&out, &e) {
            out.push(e);
        }
    }
    Ok(enumerable(et, out))
}
sfn!(linq_except, |m, a| set_op(m, a, 0));
sfn!(linq_intersect, |m, a| set_op(m, a, 1));
sfn!(linq_union, |m, a| set_op(m, a, 2));
sfn!(linq_long_count, |m, a| Ok(Value::I64(i64_of(&linq_count(
    m, a
)?))));
sfn!(linq_default_if_empty_value, |m, a| {
    let et = elem_ty_of(&a[0]);
    let items = elems(m, &a[0])?;
    Ok(if items.is_empty() {
        enumerable(et, vec![a[1].clone()])
    } else {
        enumerable(et, items)
    })
});
sfn!(linq_concat, |m, a| {
    let et = elem_ty_of(&a[0]);
    let mut x = elems(m, &a[0])?;
    x.extend(elems(m, &a[1])?);
    Ok(enumerable(et, x))
});
sfn!(linq_skip, |m, a| {
    let et = elem_ty_of(&a[0]);
    let n = i32_of(&a[1]).max(0) as usize;
    Ok(enumerable(
        et,
        elems(m, &a[0])?.into_iter().skip(n).collect(),
    ))
});
sfn!(linq_take, |m, a| {
    let et = elem_ty_of(&a[0]);
    let n = i32_of(&a[1]).max(0) as usize;
    Ok(enumerable(
        et,
        elems(m, &a[0])?.into_iter().take(n).collect(),
    ))
});
sfn!(linq_reverse, |m, a| {
    let et = elem_ty_of(&a[0]);
    Ok(enumerable(et, elems(m, &a[0])?.into_iter().rev().collect()))
});
sfn!(linq_distinct, |m, a| {
    let et = elem_ty_of(&a[0]);
    let comparer = comparer_arg(a);
    let mut out: Vec<Value> = Vec::new();
    for x in elems(m, &a[0])? {
        if !out.iter().any(|y| {
            comparer_eq(comparer, y, &x)
                && (!x.is_reference_like() || crate::interp::ref_equal(y, &x))
        }) {
            out.push(x);
        }
    }
    Ok(enumerable(et, out))
});
sfn!(linq_to_array, |m, a| {
    let et = elem_ty_of(&a[0]);
    Ok(Value::Array(Seq::new(SeqKind::Array, et, elems(m, &a[0])?)))
});
sfn!(linq_to_list, |m, a| {
    let et = elem_ty_of(&a[0]);
    Ok(Value::List(Seq::new(SeqKind::List, et, elems(m, &a[0])?)))
});
sfn!(linq_contains, |m, a| {
    let comparer = comparer_arg(&a[1..]);
    ok(elems(m, &a[0])?
        .iter()
        .any(|x| comparer_eq(comparer, x, &a[1])))
});
sfn!(linq_aggregate, |m, a| {
    let items = elems(m, &a[0])?;
    let (mut acc, f, rest) = if a.len() >= 3 && matches!(a[2], Value::Lambda(_)) {
        (a[1].clone(), a[2].clone(), items)
    } else {
        let mut it = items.into_iter();
        let first = it.next().ok_or_else(no_elements)?;
        (first, a[1].clone(), it.collect())
    };
    for x in rest {
        acc = m.call_lambda(&f, &[acc, x])?;
    }
    Ok(acc)
});
sfn!(linq_to_dictionary, |m, a| {
    let items = elems(m, &a[0])?;
    let (kt, vt) = match (a.get(a.len().saturating_sub(2)), a.last()) {
        (Some(Value::Type(k)), Some(Value::Type(v))) if a.len() >= 5 => {
            ((**k).clone(), (**v).clone())
        }
        (_, Some(Value::Type(k))) => ((**k).clone(), elem_ty_of(&a[0])),
        _ => (Ty::Object, Ty::Object),
    };
    let d = Arc::new(Dict {
        key: kt,
        value: vt,
        entries: parking_lot::RwLock::new(Vec::new()),
        ignore_case: false,
    });
    for x in items {
        let k = m.call_lambda(&a[1], std::slice::from_ref(&x))?;
        let v = if a.len() >= 3 && matches!(a[2], Value::Lambda(_)) {
            m.call_lambda(&a[2], &[x])?
        } else {
            x
        };
        let mut e = d.entries.write();
        if e.iter().any(|(kk, _)| values_equal(kk, &k)) {
            return Err(exc(
                Exc::ArgumentException,
                "An item with the same key has already been added.",
            ));
        }
        e.push((k, v));
    }
    Ok(Value::Dict(d))
});
sfn!(linq_default_if_empty, |m, a| {
    let et = elem_ty_of(&a[0]);
    let items = elems(m, &a[0])?;
    Ok(if items.is_empty() {
        enumerable(et.clone(), vec![crate::interp::default_value(&et)])
    } else {
        enumerable(et, items)
    })
});
sfn!(linq_cast, |m, a| {
    let t = out_elem(a);
    let mut out = Vec::new();
    for x in elems(m, &a[0])? {
        if !x.is_null() && !crate::interp::is_instance(&x, &t) {
            return Err(
                Exception::invalid_cast(&crate::render::clr_full_name(&x), &t.name()).into(),
            );
        }
        out.push(x);
    }
    Ok(enumerable(t, out))
});
sfn!(linq_of_type, |m, a| {
    let t = out_elem(a);
    let out = elems(m, &a[0])?
        .into_iter()
        .filter(|x| crate::interp::is_instance(x, &t))
        .collect();
    Ok(enumerable(t, out))
});

impl Value {
    fn is_reference_like(&self) -> bool {
        matches!(
            self,
            Value::Json(_)
                | Value::Array(_)
                | Value::List(_)
                | Value::Dict(_)
                | Value::Obj(_)
                | Value::Anon(_)
        )
    }
}

const F_ELEM_BOOL: P = P::Func(&[P::Elem], &P::Bool);
/// The one-predicate parameter list and the element sequence, named once for the tables below.
const PRED: &[P] = &[F_ELEM_BOOL];
const SEQ: P = P::IEnum(&P::Elem);
const F_ELEM_I_BOOL: P = P::Func(&[P::Elem, P::I32], &P::Bool);
sfn!(linq_zip, |m, a| {
    let first = elems(m, &a[0])?;
    let second = elems(m, &a[1])?;
    let rt = match a.last() {
        Some(t) => ty_of(t),
        None => Ty::Object,
    };
    let mut out = Vec::with_capacity(first.len().min(second.len()));
    for (x, y) in first.into_iter().zip(second) {
        out.push(m.call_lambda(&a[2], &[x, y])?);
    }
    Ok(enumerable(rt, out))
});
// ------------------------------------------------------------------ GroupBy
fn group_by_ret(recv: &Ty, m: &[Ty]) -> Ty {
    let key = m.first().cloned().unwrap_or(Ty::Error);
    let elem = recv.element().unwrap_or(Ty::Error);
    Ty::enumerable(Ty::generic(Gen::IGrouping, vec![key, elem]))
}
sfn!(linq_group_by, |m, a| {
    let et = elem_ty_of(&a[0]);
    let kt = match a.last() {
        Some(t) => ty_of(t),
        None => Ty::Object,
    };
    let mut groups: Vec<(Value, Vec<Value>)> = Vec::new();
    for x in elems(m, &a[0])? {
        let k = m.call_lambda(&a[1], std::slice::from_ref(&x))?;
        match groups.iter_mut().find(|(g, _)| values_equal(g, &k)) {
            Some((_, items)) => items.push(x),
            None => groups.push((k, vec![x])),
        }
    }
    let gt = Ty::generic(Gen::IGrouping, vec![kt.clone(), et.clone()]);
    let out = groups
        .into_iter()
        .map(|(k, items)| {
            Value::Obj(Arc::new(Obj::Grouping(
                kt.clone(),
                k,
                Seq::new(SeqKind::Enumerable, et.clone(), items),
            )))
        })
        .collect();
    Ok(enumerable(gt, out))
});
sfn!(grouping_key, |m, a| match &a[0] {
    Value::Obj(o) => match &**o {
        Obj::Grouping(_, k, _) => Ok(k.clone()),
        _ => Err(exc(Exc::InvalidCastException, "expected IGrouping")),
    },
    _ => Err(Exception::null_ref().into()),
});
static GROUPING: &[Member] = &[Member::prop("Key", P::Recv(0), grouping_key)];

// ------------------------------------------------------------------ Tuple
fn tuple_ret(_recv: &Ty, m: &[Ty]) -> Ty {
    Ty::generic(Gen::Tuple, m.to_vec())
}
sfn!(tuple_create, |m, a| {
    let n = a.len() / 2;
    let tys = a[n..].iter().map(ty_of).collect();
    Ok(Value::Obj(Arc::new(Obj::Tuple(tys, a[..n].to_vec()))))
});
fn tuple_item(a: &[Value], i: usize) -> R<Value> {
    match &a[0] {
        Value::Obj(o) => match &**o {
            Obj::Tuple(_, items) => Ok(items.get(i).cloned().unwrap_or(Value::Null)),
            _ => Err(exc(Exc::InvalidCastException, "expected Tuple")),
        },
        Value::Null => Err(Exception::null_ref().into()),
        _ => Err(exc(Exc::InvalidCastException, "expected Tuple")),
    }
}
sfn!(tuple_item1, |m, a| tuple_item(a, 0));
sfn!(tuple_item2, |m, a| tuple_item(a, 1));
sfn!(tuple_item3, |m, a| tuple_item(a, 2));
sfn!(tuple_item4, |m, a| tuple_item(a, 3));
static TUPLE_CLASS: &[Member] = &[
    Member::stat("Create", &[P::M(0)], P::Dyn(tuple_ret), tuple_create).generic(1),
    Member::stat(
        "Create",
        &[P::M(0), P::M(1)],
        P::Dyn(tuple_ret),
        tuple_create,
    )
    .generic(2),
    Member::stat(
        "Create",
        &[P::M(0), P::M(1), P::M(2)],
        P::Dyn(tuple_ret),
        tuple_create,
    )
    .generic(3),
    Member::stat(
        "Create",
        &[P::M(0), P::M(1), P::M(2), P::M(3)],
        P::Dyn(tuple_ret),
        tuple_create,
    )
    .generic(4),
];
static TUPLE: &[Member] = &[
    Member::prop("Item1", P::Recv(0), tuple_item1),
    Member::prop("Item2", P::Recv(1), tuple_item2),
    Member::prop("Item3", P::Recv(2), tuple_item3),
    Member::prop("Item4", P::Recv(3), tuple_item4),
];

const F_ELEM_M0: P = P::Func(&[P::Elem], &P::M(0));
const F_ELEM_I_M0: P = P::Func(&[P::Elem, P::I32], &P::M(0));
static LINQ: &[Member] = &[
    Member::method("Where", PRED, SEQ, linq_where),
    Member::method("Where", &[F_ELEM_I_BOOL], SEQ, linq_where),
    Member::method("Select", &[F_ELEM_M0], P::IEnum(&P::M(0)), linq_select).generic(1),
    Member::method("GroupBy", &[F_ELEM_M0], P::Dyn(group_by_ret), linq_group_by).generic(1),
    Member::method(
        "Zip",
        &[P::IEnum(&P::M(0)), P::Func(&[P::Elem, P::M(0)], &P::M(1))],
        P::IEnum(&P::M(1)),
        linq_zip,
    )
    .generic(2),
    Member::method("Select", &[F_ELEM_I_M0], P::IEnum(&P::M(0)), linq_select).generic(1),
    Member::method(
        "SelectMany",
        &[P::Func(&[P::Elem], &P::IEnum(&P::M(0)))],
        P::IEnum(&P::M(0)),
        linq_select_many,
    )
    .generic(1),
    Member::method("Any", &[], P::Bool, linq_any),
    Member::method("Any", PRED, P::Bool, linq_any),
    Member::method("All", PRED, P::Bool, linq_all),
    Member::method("Count", &[], P::I32, linq_count),
    Member::method("Count", PRED, P::I32, linq_count),
    Member::method("First", &[], P::Elem, linq_first),
    Member::method("First", PRED, P::Elem, linq_first),
    Member::method("FirstOrDefault", &[], P::Elem, linq_first_or_default),
    Member::method("FirstOrDefault", PRED, P::Elem, linq_first_or_default),
    Member::method("Last", &[], P::Elem, linq_last),
    Member::method("Last", PRED, P::Elem, linq_last),
    Member::method("LastOrDefault", &[], P::Elem, linq_last_or_default),
    Member::method("LastOrDefault", PRED, P::Elem, linq_last_or_default),
    Member::method("Single", &[], P::Elem, linq_single),
    Member::method("Single", PRED, P::Elem, linq_single),
    Member::method("SingleOrDefault", &[], P::Elem, linq_single_or_default),
    Member::method("SingleOrDefault", PRED, P::Elem, linq_single_or_default),
    Member::method("ElementAt", &[P::I32], P::Elem, linq_element_at),
    Member::method(
        "ElementAtOrDefault",
        &[P::I32],
        P::Elem,
        linq_element_at_or_default,
    ),
    Member::method("Sum", &[P::Func(&[P::Elem], &P::I32)], P::I32, linq_sum_i32),
    Member::method("Sum", &[P::Func(&[P::Elem], &P::I64)], P::I64, linq_sum_i64),
    Member::method("Sum", &[P::Func(&[P::Elem], &P::F64)], P::F64, linq_sum_f64),
    Member::method("Sum", &[P::Func(&[P::Elem], &P::Dec)], P::Dec, linq_sum_dec),
    Member::method("Sum", &[], P::Elem, linq_sum_self),
    Member::method("Average", &[], P::Dyn(average_ret), linq_average),
    Member::method(
        "Average",
        &[P::Func(&[P::Elem], &P::F64)],
        P::F64,
        linq_average,
    ),
    Member::method("Max", &[], P::Elem, linq_max),
    Member::method("Max", &[F_ELEM_M0], P::M(0), linq_max).generic(1),
    Member::method("Min", &[], P::Elem, linq_min),
    Member::method("Min", &[F_ELEM_M0], P::M(0), linq_min).generic(1),
    Member::method("OrderBy", &[F_ELEM_M0], SEQ, linq_order_by).generic(1),
    Member::method("OrderBy", &[F_ELEM_M0, P::COMPARER], SEQ, linq_order_by).generic(1),
    Member::method(
        "OrderByDescending",
        &[F_ELEM_M0, P::COMPARER],
        SEQ,
        linq_order_by_desc,
    )
    .generic(1),
    Member::method("OrderByDescending", &[F_ELEM_M0], SEQ, linq_order_by_desc).generic(1),
    Member::method("ThenBy", &[F_ELEM_M0], SEQ, linq_then_by).generic(1),
    Member::method("ThenByDescending", &[F_ELEM_M0], SEQ, linq_then_by_desc).generic(1),
    Member::method("SkipWhile", PRED, SEQ, linq_skip_while),
    Member::method("TakeWhile", PRED, SEQ, linq_take_while),
    Member::method("SequenceEqual", &[SEQ], P::Bool, linq_sequence_equal),
    Member::method("Except", &[SEQ], SEQ, linq_except),
    Member::method("Intersect", &[SEQ], SEQ, linq_intersect),
    Member::method("Union", &[SEQ], SEQ, linq_union),
    Member::method("LongCount", &[], P::I64, linq_long_count),
    Member::method(
        "DefaultIfEmpty",
        &[P::Elem],
        SEQ,
        linq_default_if_empty_value,
    ),
    Member::method("Concat", &[SEQ], SEQ, linq_concat),
    Member::method("Skip", &[P::I32], SEQ, linq_skip),
    Member::method("Take", &[P::I32], SEQ, linq_take),
    Member::method("Reverse", &[], SEQ, linq_reverse),
    Member::method("Distinct", &[], SEQ, linq_distinct),
    Member::method("Distinct", &[P::COMPARER], SEQ, linq_distinct),
    Member::method("ToArray", &[], P::Arr(&P::Elem), linq_to_array),
    Member::method("ToList", &[], P::ListOf(&P::Elem), linq_to_list),
    Member::method("Contains", &[P::Elem], P::Bool, linq_contains),
    Member::method("Contains", &[P::Elem, P::COMPARER], P::Bool, linq_contains),
    Member::method(
        "Aggregate",
        &[P::Func(&[P::Elem, P::Elem], &P::Elem)],
        P::Elem,
        linq_aggregate,
    ),
    Member::method(
        "Aggregate",
        &[P::M(0), P::Func(&[P::M(0), P::Elem], &P::M(0))],
        P::M(0),
        linq_aggregate,
    )
    .generic(1),
    Member::method(
        "ToDictionary",
        &[F_ELEM_M0],
        P::Dyn(dict_of_key_elem),
        linq_to_dictionary,
    )
    .generic(1),
    Member::method(
        "ToDictionary",
        &[F_ELEM_M0, P::Func(&[P::Elem], &P::M(1))],
        P::Dyn(dict_of_key_value),
        linq_to_dictionary,
    )
    .generic(2),
    Member::method("DefaultIfEmpty", &[], SEQ, linq_default_if_empty),
    Member::method("Cast", &[], P::IEnum(&P::M(0)), linq_cast).generic(1),
    Member::method("OfType", &[], P::IEnum(&P::M(0)), linq_of_type).generic(1),
];
sfn!(linq_then_by, |m, a| order_by(m, a, false, true));
sfn!(linq_sum_i32, |m, a| {
    let r = sum_values(&projected(m, a)?)?;
    crate::interp::convert_numeric(&r, &Ty::I32, true)
});
sfn!(linq_sum_i64, |m, a| {
    let r = sum_values(&projected(m, a)?)?;
    crate::interp::convert_numeric(&r, &Ty::I64, true)
});
sfn!(linq_sum_f64, |m, a| {
    let r = sum_values(&projected(m, a)?)?;
    crate::interp::convert_numeric(&r, &Ty::F64, false)
});
sfn!(linq_sum_dec, |m, a| {
    let r = sum_values(&projected(m, a)?)?;
    crate::interp::convert_numeric(&r, &Ty::Decimal, false)
});
sfn!(linq_sum_self, |m, a| {
    let et = elem_ty_of(&a[0]);
    let r = sum_values(&projected(m, a)?)?;
    crate::interp::convert_numeric(&r, &et, true)
});
sfn!(enum_range, |m, a| {
    let (start, count) = (i32_of(&a[0]), i32_of(&a[1]));
    if count < 0 || (start as i64 + count as i64 - 1) > i32::MAX as i64 {
        return Err(Exception::arg_range("count").into());
    }
    m.charge_text(count as usize)?;
    Ok(enumerable(
        Ty::I32,
        (0..count).map(|i| Value::I32(start + i)).collect(),
    ))
});
sfn!(enum_repeat, |m, a| {
    let t = out_elem(a);
    let count = i32_of(&a[1]);
    if count < 0 {
        return Err(Exception::arg_range("count").into());
    }
    m.charge_text(count as usize)?;
    Ok(enumerable(t, vec![a[0].clone(); count as usize]))
});
sfn!(enum_empty, |m, a| Ok(enumerable(out_elem(a), vec![])));
static ENUMERABLE: &[Member] = &[
    Member::stat("Range", &[P::I32, P::I32], P::IEnum(&P::I32), enum_range),
    Member::stat(
        "Repeat",
        &[P::M(0), P::I32],
        P::IEnum(&P::M(0)),
        enum_repeat,
    )
    .generic(1),
    Member::stat("Empty", &[], P::IEnum(&P::M(0)), enum_empty).generic(1),
];

fn dict_of_key_elem(recv: &Ty, m: &[Ty]) -> Ty {
    Ty::generic(
        Gen::Dictionary,
        vec![
            m.first().cloned().unwrap_or(Ty::Object),
            recv.element().unwrap_or(Ty::Object),
        ],
    )
}
fn dict_of_key_value(_recv: &Ty, m: &[Ty]) -> Ty {
    Ty::generic(
        Gen::Dictionary,
        vec![
            m.first().cloned().unwrap_or(Ty::Object),
            m.get(1).cloned().unwrap_or(Ty::Object),
        ],
    )
}

#[allow(dead_code)]
fn unused(_: Kind) {}
