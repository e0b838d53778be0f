//! Newtonsoft.Json bindings (JToken family, JsonConvert) over `apim_dotnet::json`.
use std::sync::Arc;

use apim_dotnet::json::{self, Formatting};
use apim_dotnet::{ClrType, ClrValue, JKey, JToken};

use crate::code::{Fault, NativeFn};
use crate::interp::Machine;
use crate::lib_core::sfn as jfn;
use crate::lib_core::{R, exc, i32_of, recv_str, s_of, ty_of};
use crate::members::{Member, P};
use crate::types::{Cls, Exc, Gen, Ty};
use crate::value::*;

// ------------------------------------------------------------------ conversions
pub fn clr_type(t: &Ty) -> Option<ClrType> {
    Some(match t {
        Ty::Bool => ClrType::Boolean,
        Ty::U8 => ClrType::Byte,
        Ty::I8 => ClrType::SByte,
        Ty::Char => ClrType::Char,
        Ty::I16 => ClrType::Int16,
        Ty::U16 => ClrType::UInt16,
        Ty::I32 => ClrType::Int32,
        Ty::U32 => ClrType::UInt32,
        Ty::I64 => ClrType::Int64,
        Ty::U64 => ClrType::UInt64,
        Ty::F32 => ClrType::Single,
        Ty::F64 => ClrType::Double,
        Ty::Decimal => ClrType::Decimal,
        Ty::String => ClrType::String,
        Ty::Object => ClrType::Object,
        Ty::Named(Cls::DateTime) => ClrType::DateTime,
        Ty::Named(Cls::DateTimeOffset) => ClrType::DateTimeOffset,
        Ty::Named(Cls::TimeSpan) => ClrType::TimeSpan,
        Ty::Named(Cls::Guid) => ClrType::Guid,
        Ty::Named(Cls::Uri) => ClrType::Uri,
        Ty::Named(Cls::JToken) | Ty::Named(Cls::JContainer) => ClrType::JToken,
        Ty::Named(Cls::JObject) => ClrType::JObject,
        Ty::Named(Cls::JArray) => ClrType::JArray,
        Ty::Named(Cls::JValue) => ClrType::JValue,
        Ty::Named(Cls::JProperty) => ClrType::JProperty,
        Ty::Array(e) if **e == Ty::U8 => ClrType::ByteArray,
        _ => return None,
    })
}

fn clr_target(t: &Ty) -> R<(ClrType, bool)> {
    let (inner, nullable) = match t {
        Ty::Nullable(i) => ((**i).clone(), true),
        t => (t.clone(), false),
    };
    match clr_type(&inner) {
        Some(c) => Ok((c, nullable)),
        None => Err(exc(
            Exc::NotSupportedException,
            format!(
                "conversion of JSON to '{}' is not supported by apim-emu",
                t.name()
            ),
        )),
    }
}

pub fn to_clr_value(v: &Value) -> R<ClrValue> {
    Ok(match v {
        Value::Null => ClrValue::Null,
        Value::Bool(b) => ClrValue::Boolean(*b),
        Value::Char(c) => ClrValue::Char(*c),
        Value::I8(x) => ClrValue::SByte(*x),
        Value::U8(x) => ClrValue::Byte(*x),
        Value::I16(x) => ClrValue::Int16(*x),
        Value::U16(x) => ClrValue::UInt16(*x),
        Value::I32(x) => ClrValue::Int32(*x),
        Value::U32(x) => ClrValue::UInt32(*x),
        Value::I64(x) => ClrValue::Int64(*x),
        Value::U64(x) => ClrValue::UInt64(*x),
        Value::F32(x) => ClrValue::Single(*x),
        Value::F64(x) => ClrValue::Double(*x),
        Value::Dec(x) => ClrValue::Decimal(*x),
        Value::Str(s) => ClrValue::String(s.to_string()),
        Value::DateTime(d) => ClrValue::DateTime(*d),
        Value::DateTimeOffset(d) => ClrValue::DateTimeOffset(*d),
        Value::TimeSpan(t) => ClrValue::TimeSpan(*t),
        Value::Guid(g) => ClrValue::Guid(*g),
        Value::Enum(_, x) => ClrValue::Int32(*x as i32),
        Value::Json(t) => ClrValue::Token(t.clone()),
        Value::Array(s) if s.elem == Ty::U8 => ClrValue::Bytes(crate::lib_core::bytes_of(v)?),
        Value::Array(s) | Value::List(s) => {
            let items = s.items.read().clone();
            ClrValue::List(items.iter().map(to_clr_value).collect::<R<Vec<_>>>()?)
        }
        Value::Dict(d) => {
            let e = d.entries.read().clone();
            ClrValue::Dictionary(
                e.iter()
                    .map(|(k, v)| Ok((to_clr_value(k)?, to_clr_value(v)?)))
                    .collect::<R<Vec<_>>>()?,
            )
        }
        Value::Anon(a) => ClrValue::Anonymous(
            a.fields
                .iter()
                .map(|(n, v)| Ok((n.clone(), to_clr_value(v)?)))
                .collect::<R<Vec<_>>>()?,
        ),
        Value::Pair(p) => ClrValue::Anonymous(vec![
            ("Key".into(), to_clr_value(&p.key)?),
            ("Value".into(), to_clr_value(&p.value)?),
        ]),
        Value::Obj(o) if matches!(&**o, Obj::Uri(_)) => match &**o {
            Obj::Uri(u) => ClrValue::Uri(u.clone()),
            _ => ClrValue::Null,
        },
        other => {
            return Err(exc(
                Exc::JsonSerializationException,
                format!(
                    "apim-emu cannot convert a value of type '{}' to JSON",
                    crate::render::type_name(other)
                ),
            ));
        }
    })
}

pub fn from_clr_value(v: &ClrValue) -> Value {
    match v {
        ClrValue::Null => Value::Null,
        ClrValue::Boolean(b) => Value::Bool(*b),
        ClrValue::Byte(x) => Value::U8(*x),
        ClrValue::SByte(x) => Value::I8(*x),
        ClrValue::Char(c) => Value::Char(*c),
        ClrValue::Int16(x) => Value::I16(*x),
        ClrValue::UInt16(x) => Value::U16(*x),
        ClrValue::Int32(x) => Value::I32(*x),
        ClrValue::UInt32(x) => Value::U32(*x),
        ClrValue::Int64(x) => Value::I64(*x),
        ClrValue::UInt64(x) => Value::U64(*x),
        ClrValue::Single(x) => Value::F32(*x),
        ClrValue::Double(x) => Value::F64(*x),
        ClrValue::Decimal(x) => Value::Dec(*x),
        ClrValue::String(s) => Value::str(s),
        ClrValue::DateTime(d) => Value::DateTime(*d),
        ClrValue::DateTimeOffset(d) => Value::DateTimeOffset(*d),
        ClrValue::TimeSpan(t) => Value::TimeSpan(*t),
        ClrValue::Guid(g) => Value::Guid(*g),
        ClrValue::Uri(u) => Value::Obj(Arc::new(Obj::Uri(u.clone()))),
        ClrValue::Bytes(b) => Value::bytes(b.clone()),
        ClrValue::BigInteger(b) => Value::string(b.to_string()),
        ClrValue::Token(t) => Value::Json(t.clone()),
        ClrValue::List(items) => Value::List(Seq::new(
            SeqKind::List,
            Ty::Object,
            items.iter().map(from_clr_value).collect(),
        )),
        ClrValue::Dictionary(e) => Value::Dict(Arc::new(Dict {
            key: Ty::Object,
            value: Ty::Object,
            entries: parking_lot::RwLock::new(
                e.iter()
                    .map(|(k, v)| (from_clr_value(k), from_clr_value(v)))
                    .collect(),
            ),
            ignore_case: false,
        })),
        ClrValue::Anonymous(f) => Value::Anon(Arc::new(Anon {
            fields: f
                .iter()
                .map(|(n, v)| (n.clone(), from_clr_value(v)))
                .collect(),
            tys: f.iter().map(|_| Ty::Object).collect(),
        })),
    }
}

/// `(T)token` (Newtonsoft explicit operators).
pub fn from_token(v: &Value, t: &Ty) -> R<Value> {
    // LINQ to XML's explicit operators: `(int)element`, `(string)attribute` (XmlConvert).
    if let Some(text) = crate::lib_misc::xml_text_of(v) {
        let inner = match t {
            Ty::Nullable(i) => (**i).clone(),
            t => t.clone(),
        };
        return match inner {
            Ty::String => Ok(Value::string(text)),
            Ty::Bool => match text.trim() {
                "true" | "1" => Ok(Value::Bool(true)),
                "false" | "0" => Ok(Value::Bool(false)),
                _ => Err(exc(
                    Exc::FormatException,
                    "String was not recognized as a valid Boolean.",
                )),
            },
            other => crate::lib_core::parse_err_to_value(&other, text.trim()),
        };
    }
    let (clr, nullable) = clr_target(t)?;
    let token = match v {
        Value::Json(j) => Some(j),
        Value::Null => None,
        other => {
            return Err(
                Exception::invalid_cast(&crate::render::clr_full_name(other), &t.name()).into(),
            );
        }
    };
    let r = json::explicit_convert(token, clr, nullable)?;
    Ok(from_clr_value(&r))
}

/// Implicit conversion of a primitive to `JToken` (`obj["a"] = 5`).
pub fn to_token(v: &Value) -> R<Value> {
    match v {
        Value::Json(_) => Ok(v.clone()),
        Value::Null => Ok(Value::Null),
        other => Ok(Value::Json(JToken::from_primitive(&to_clr_value(other)?)?)),
    }
}

/// Newtonsoft's `CreateFromContent`: tokens as they are, anything else as a JValue.
fn content_token(v: &Value) -> R<JToken> {
    match v {
        Value::Json(j) => Ok(j.clone()),
        Value::Null => Ok(JToken::null()),
        other => Ok(JToken::from_primitive(&to_clr_value(other)?)?),
    }
}

pub fn tok(v: &Value) -> R<&JToken> {
    match v {
        Value::Json(j) => Ok(j),
        Value::Null => Err(Exception::null_ref().into()),
        other => Err(Exception::invalid_cast(
            &crate::render::clr_full_name(other),
            "Newtonsoft.Json.Linq.JToken",
        )
        .into()),
    }
}

fn opt_tok(t: Option<JToken>) -> Value {
    match t {
        Some(t) => Value::Json(t),
        None => Value::Null,
    }
}

fn key_of(v: &Value) -> R<JKey<'_>> {
    Ok(match v {
        Value::Str(s) => JKey::Name(s),
        Value::I32(i) => JKey::Index(*i as i64),
        Value::I64(i) => JKey::Index(*i),
        Value::Null => return Err(crate::lib_core::arg_null("key")),
        _ => JKey::Other("?"),
    })
}

fn tokens_of(items: Vec<JToken>, elem: Cls) -> Value {
    Value::List(Seq::new(
        SeqKind::Enumerable,
        Ty::Named(elem),
        items.into_iter().map(Value::Json).collect(),
    ))
}

/// Adds constructor content (tokens, values or enumerables of them) to a container.
fn add_content(m: &mut Machine<'_>, container: &JToken, content: &Value) -> R<()> {
    match content {
        Value::Array(_) | Value::List(_) => {
            for item in crate::lib_core::enumerate(m, content)? {
                add_content(m, container, &item)?;
            }
            Ok(())
        }
        other => {
            let t = content_token(other)?;
            container.add(t)?;
            Ok(())
        }
    }
}

// ------------------------------------------------------------------ JToken
jfn!(jt_get, |m, a| {
    let t = tok(&a[0])?;
    Ok(opt_tok(t.get_key(&key_of(&a[1])?)?))
});
jfn!(jt_set, |m, a| {
    let t = tok(&a[0])?.clone();
    let v = match &a[2] {
        Value::Null => None,
        other => Some(content_token(other)?),
    };
    t.set_key(&key_of(&a[1])?, v)?;
    Ok(Value::Null)
});
jfn!(jt_type, |m, a| Ok(Value::Enum(
    Cls::JTokenType,
    tok(&a[0])?.token_type().value() as i64
)));
jfn!(jt_to_string, |m, a| Ok(Value::string(
    tok(&a[0])?.to_string_default()
)));
jfn!(jt_to_string_fmt, |m, a| {
    let f = match a[1] {
        Value::Enum(_, 0) => Formatting::None,
        _ => Formatting::Indented,
    };
    Ok(Value::string(tok(&a[0])?.to_string_formatting(f)))
});
jfn!(jt_value_t, |m, a| {
    let t = ty_of(&a[a.len() - 1]);
    let (clr, nullable) = clr_target(&t)?;
    let token = tok(&a[0])?;
    let r = if a.len() == 3 {
        token.value_of_key(&key_of(&a[1])?, clr, nullable)?
    } else {
        token.value_as(clr, nullable)?
    };
    Ok(from_clr_value(&r))
});
jfn!(jt_values_t, |m, a| {
    let t = ty_of(&a[a.len() - 1]);
    let (clr, nullable) = clr_target(&t)?;
    let r = tok(&a[0])?.values_as(clr, nullable)?;
    Ok(Value::List(Seq::new(
        SeqKind::Enumerable,
        t,
        r.iter().map(from_clr_value).collect(),
    )))
});
jfn!(jt_to_object, |m, a| {
    let t = ty_of(&a[a.len() - 1]);
    to_typed(tok(&a[0])?, &t)
});

/// `ToObject<T>()` / `DeserializeObject<T>()` for `T` a CLR type, `object` (a JValue gives its
/// value, a container itself), an array, `List<T>`/`IList<T>`/`IEnumerable<T>` or
/// `Dictionary<string, T>`/`IDictionary<string, T>`.
pub fn to_typed(token: &JToken, t: &Ty) -> R<Value> {
    let null = token
        .value()
        .is_some_and(|v| v.token_type() == apim_dotnet::JTokenType::Null);
    let elems = |token: &JToken, e: &Ty| -> R<Vec<Value>> {
        if !token.is_array() {
            return Err(exc(
                Exc::JsonSerializationException,
                format!(
                    "Cannot deserialize the current JSON object into type '{}'",
                    t.name()
                ),
            ));
        }
        token.children().iter().map(|c| to_typed(c, e)).collect()
    };
    match t {
        Ty::Object if token.is_value() => Ok(token
            .boxed_value()
            .map(|v| from_clr_value(&v))
            .unwrap_or(Value::Null)),
        Ty::Array(e) if **e != Ty::U8 => {
            if null {
                return Ok(Value::Null);
            }
            Ok(Value::Array(Seq::new(
                SeqKind::Array,
                (**e).clone(),
                elems(token, e)?,
            )))
        }
        Ty::Gen(Gen::List | Gen::IList | Gen::IEnumerable | Gen::ICollection, args)
            if args.len() == 1 =>
        {
            if null {
                return Ok(Value::Null);
            }
            Ok(Value::List(Seq::new(
                SeqKind::List,
                args[0].clone(),
                elems(token, &args[0])?,
            )))
        }
        Ty::Gen(Gen::Dictionary | Gen::IDictionary, args)
            if args.len() == 2 && args[0] == Ty::String =>
        {
            if null {
                return Ok(Value::Null);
            }
            if !token.is_object() {
                return Err(exc(
                    Exc::JsonSerializationException,
                    format!(
                        "Cannot deserialize the current JSON array into type '{}'",
                        t.name()
                    ),
                ));
            }
            let mut entries = Vec::new();
            for p in token.properties()? {
                entries.push((
                    Value::string(p.name()?),
                    to_typed(&p.property_value()?, &args[1])?,
                ));
            }
            Ok(Value::Dict(Arc::new(Dict {
                key: Ty::String,
                value: args[1].clone(),
                entries: parking_lot::RwLock::new(entries),
                ignore_case: false,
            })))
        }
        _ => {
            let (clr, nullable) = clr_target(t)?;
            let v = from_clr_value(&token.to_object(clr, nullable)?);
            if !v.is_null() && !crate::interp::is_instance(&v, t) {
                return crate::interp::convert_numeric(&v, t, true);
            }
            Ok(v)
        }
    }
}
jfn!(jt_select_token, |m, a| Ok(opt_tok(
    tok(&a[0])?.select_token(s_of(&a[1], "path")?)?
)));
jfn!(jt_select_tokens, |m, a| Ok(tokens_of(
    tok(&a[0])?.select_tokens(s_of(&a[1], "path")?)?,
    Cls::JToken
)));
jfn!(jt_parent, |m, a| Ok(opt_tok(tok(&a[0])?.parent())));
jfn!(jt_root, |m, a| Ok(Value::Json(tok(&a[0])?.root())));
jfn!(jt_path, |m, a| Ok(Value::string(tok(&a[0])?.path())));
jfn!(jt_has_values, |m, a| Ok(Value::Bool(
    tok(&a[0])?.has_values()
)));
jfn!(jt_first, |m, a| Ok(opt_tok(tok(&a[0])?.first())));
jfn!(jt_last, |m, a| Ok(opt_tok(tok(&a[0])?.last())));
jfn!(jt_next, |m, a| Ok(opt_tok(tok(&a[0])?.next())));
jfn!(jt_previous, |m, a| Ok(opt_tok(tok(&a[0])?.previous())));
jfn!(jt_children, |m, a| Ok(tokens_of(
    tok(&a[0])?.children(),
    Cls::JToken
)));
jfn!(jt_children_t, |m, a| {
    let t = ty_of(&a[a.len() - 1]);
    let items: Vec<Value> = tok(&a[0])?
        .children()
        .into_iter()
        .map(Value::Json)
        .filter(|v| crate::interp::is_instance(v, &t))
        .collect();
    Ok(Value::List(Seq::new(SeqKind::Enumerable, t, items)))
});
jfn!(jt_deep_clone, |m, a| Ok(Value::Json(
    tok(&a[0])?.deep_clone()
)));
jfn!(jt_remove, |m, a| {
    tok(&a[0])?.remove()?;
    Ok(Value::Null)
});
jfn!(jt_replace, |m, a| {
    let t = tok(&a[0])?.clone();
    t.replace(content_token(&a[1])?)?;
    Ok(Value::Null)
});
jfn!(jt_parse, |m, a| Ok(Value::Json(JToken::parse(s_of(
    &a[0], "json"
)?)?)));
jfn!(jt_from_object, |m, a| Ok(Value::Json(JToken::from_object(
    &to_clr_value(&a[0])?
)?)));
jfn!(jt_deep_equals, |m, a| Ok(Value::Bool(
    match (&a[0], &a[1]) {
        (Value::Json(x), Value::Json(y)) => x.deep_equals(y),
        (Value::Null, Value::Null) => true,
        _ => false,
    }
)));

pub static JTOKEN: &[Member] = &[
    Member::method("Equals", &[P::Obj], P::Bool, jv_equals),
    Member::indexer(&[P::Obj], P::JTOKEN, jt_get, Some(jt_set)),
    Member::prop("Type", P::C(Cls::JTokenType), jt_type),
    Member::prop("Parent", P::C(Cls::JContainer), jt_parent),
    Member::prop("Root", P::JTOKEN, jt_root),
    Member::prop("Path", P::Str, jt_path),
    Member::prop("HasValues", P::Bool, jt_has_values),
    Member::prop("First", P::JTOKEN, jt_first),
    Member::prop("Last", P::JTOKEN, jt_last),
    Member::prop("Next", P::JTOKEN, jt_next),
    Member::prop("Previous", P::JTOKEN, jt_previous),
    Member::method("ToString", &[], P::Str, jt_to_string),
    Member::method(
        "ToString",
        &[P::C(Cls::Formatting)],
        P::Str,
        jt_to_string_fmt,
    ),
    Member::method("Value", &[], P::M(0), jt_value_t).generic(1),
    Member::method("Value", &[P::Obj], P::M(0), jt_value_t).generic(1),
    Member::method("Values", &[], P::IEnum(&P::M(0)), jt_values_t).generic(1),
    Member::method("ToObject", &[], P::M(0), jt_to_object).generic(1),
    Member::method("SelectToken", &[P::Str], P::JTOKEN, jt_select_token),
    Member::method(
        "SelectTokens",
        &[P::Str],
        P::IEnum(&P::JTOKEN),
        jt_select_tokens,
    ),
    Member::method("Children", &[], P::IEnum(&P::JTOKEN), jt_children),
    Member::method("Children", &[], P::IEnum(&P::M(0)), jt_children_t).generic(1),
    Member::method("DeepClone", &[], P::JTOKEN, jt_deep_clone),
    Member::method("Remove", &[], P::Void, jt_remove),
    Member::method("Replace", &[P::JTOKEN], P::Void, jt_replace),
    Member::stat("Parse", &[P::Str], P::JTOKEN, jt_parse),
    Member::stat("FromObject", &[P::Obj], P::JTOKEN, jt_from_object),
    Member::stat(
        "DeepEquals",
        &[P::JTOKEN, P::JTOKEN],
        P::Bool,
        jt_deep_equals,
    ),
];

// ------------------------------------------------------------------ JContainer
jfn!(jc_count, |m, a| Ok(Value::I32(tok(&a[0])?.count()?)));
jfn!(jc_descendants, |m, a| Ok(tokens_of(
    tok(&a[0])?.descendants(),
    Cls::JToken
)));
jfn!(jc_remove_all, |m, a| {
    tok(&a[0])?.remove_all()?;
    Ok(Value::Null)
});
pub static JCONTAINER: &[Member] = &[
    Member::prop("Count", P::I32, jc_count),
    Member::method("Merge", &[P::Obj], P::Void, jc_merge),
    Member::method("Descendants", &[], P::IEnum(&P::JTOKEN), jc_descendants),
    Member::method("RemoveAll", &[], P::Void, jc_remove_all),
];

// ------------------------------------------------------------------ JObject
jfn!(jo_new, |m, a| {
    let o = JToken::new_object();
    if a.len() > 1 {
        add_content(m, &o, &a[1])?;
    }
    Ok(Value::Json(o))
});
jfn!(jo_get, |m, a| {
    let t = tok(&a[0])?;
    Ok(opt_tok(t.get(s_of(&a[1], "propertyName")?)?))
});
jfn!(jo_set, |m, a| {
    let t = tok(&a[0])?.clone();
    let v = match &a[2] {
        Value::Null => None,
        other => Some(content_token(other)?),
    };
    t.set(s_of(&a[1], "propertyName")?, v)?;
    Ok(Value::Null)
});
jfn!(jo_add, |m, a| {
    let t = tok(&a[0])?.clone();
    let v = match &a[2] {
        Value::Null => None,
        other => Some(content_token(other)?),
    };
    t.add_property(s_of(&a[1], "propertyName")?, v)?;
    Ok(Value::Null)
});
jfn!(jo_add_prop, |m, a| {
    let t = tok(&a[0])?.clone();
    t.add(content_token(&a[1])?)?;
    Ok(Value::Null)
});
jfn!(jo_property, |m, a| Ok(opt_tok(
    tok(&a[0])?.property(s_of(&a[1], "name")?)
)));
jfn!(jo_get_value, |m, a| Ok(opt_tok(
    tok(&a[0])?.get_value(s_of(&a[1], "propertyName")?)?
)));
jfn!(jo_get_value_cmp, |m, a| {
    let ignore_case = match &a[2] {
        Value::Enum(_, k) => k % 2 == 1,
        _ => false,
    };
    Ok(opt_tok(tok(&a[0])?.get_value_comparison(
        s_of(&a[1], "propertyName")?,
        ignore_case,
    )?))
});
jfn!(jc_merge, |m, a| {
    match &a[1] {
        Value::Null => {}
        Value::Json(t) => tok(&a[0])?.merge(t)?,
        other => tok(&a[0])?.merge(&JToken::from_object(&to_clr_value(other)?)?)?,
    }
    Ok(Value::Null)
});
// `Equals(object)` (virtual): a JValue equals another JValue with an equal value; containers
// compare by reference.
jfn!(jv_equals, |m, a| {
    let me = tok(&a[0])?;
    Ok(Value::Bool(match &a[1] {
        Value::Json(o) => match (me.value(), o.value()) {
            (Some(x), Some(y)) => x.values_equal(&y),
            _ => me.same_reference(o),
        },
        _ => false,
    }))
});
jfn!(jo_contains_key, |m, a| Ok(Value::Bool(
    tok(&a[0])?.contains_key(s_of(&a[1], "propertyName")?)?
)));
jfn!(jo_remove, |m, a| Ok(Value::Bool(
    tok(&a[0])?.remove_property(s_of(&a[1], "propertyName")?)?
)));
jfn!(jo_try_get, |m, a| {
    let r = tok(&a[0])?.try_get_value(s_of(&a[1], "propertyName")?)?;
    let found = r.is_some();
    a[2] = opt_tok(r);
    Ok(Value::Bool(found))
});
jfn!(jo_properties, |m, a| Ok(tokens_of(
    tok(&a[0])?.properties()?,
    Cls::JProperty
)));
jfn!(jo_parse, |m, a| Ok(Value::Json(JToken::parse_object(
    s_of(&a[0], "json")?
)?)));
/// `JObject.FromObject` / `JArray.FromObject`: the serialized token must be of that kind.
fn from_object_as(v: &Value, array: bool) -> R<Value> {
    let t = JToken::from_object(&to_clr_value(v)?)?;
    if (array && !t.is_array()) || (!array && !t.is_object()) {
        let expected = if array { "JArray" } else { "JObject" };
        return Err(exc(
            Exc::ArgumentException,
            format!(
                "Object serialized to {}. {expected} instance expected.",
                t.token_type().name()
            ),
        ));
    }
    Ok(Value::Json(t))
}
jfn!(jo_from_object, |m, a| from_object_as(&a[0], false));
pub static JOBJECT: &[Member] = &[
    Member::ctor(&[], jo_new),
    Member::ctor(&[P::Params(&P::Obj)], jo_new),
    Member::indexer(&[P::Str], P::JTOKEN, jo_get, Some(jo_set)),
    Member::method("Add", &[P::Str, P::JTOKEN], P::Void, jo_add),
    Member::method("Add", &[P::Obj], P::Void, jo_add_prop),
    Member::method("Property", &[P::Str], P::C(Cls::JProperty), jo_property),
    Member::method("GetValue", &[P::Str], P::JTOKEN, jo_get_value),
    Member::method("GetValue", &[P::Str, P::CMP], P::JTOKEN, jo_get_value_cmp),
    Member::method("ContainsKey", &[P::Str], P::Bool, jo_contains_key),
    Member::method("Remove", &[P::Str], P::Bool, jo_remove),
    Member::method("TryGetValue", &[P::Str, P::JTOKEN], P::Bool, jo_try_get).out(1),
    Member::method(
        "Properties",
        &[],
        P::IEnum(&P::C(Cls::JProperty)),
        jo_properties,
    ),
    Member::stat("Parse", &[P::Str], P::C(Cls::JObject), jo_parse),
    Member::stat("FromObject", &[P::Obj], P::C(Cls::JObject), jo_from_object),
];

// ------------------------------------------------------------------ JArray
jfn!(ja_new, |m, a| {
    let arr = JToken::new_array();
    if a.len() > 1 {
        add_content(m, &arr, &a[1])?;
    }
    Ok(Value::Json(arr))
});
jfn!(ja_get, |m, a| Ok(Value::Json(
    tok(&a[0])?.get_index(i32_of(&a[1]) as i64)?
)));
jfn!(ja_set, |m, a| {
    let t = tok(&a[0])?.clone();
    let v = match &a[2] {
        Value::Null => None,
        other => Some(content_token(other)?),
    };
    t.set_index(i32_of(&a[1]) as i64, v)?;
    Ok(Value::Null)
});
jfn!(ja_add, |m, a| {
    let t = tok(&a[0])?.clone();
    t.add(content_token(&a[1])?)?;
    Ok(Value::Null)
});
jfn!(ja_insert, |m, a| {
    let t = tok(&a[0])?.clone();
    t.insert(i32_of(&a[1]), content_token(&a[2])?)?;
    Ok(Value::Null)
});
jfn!(ja_remove_at, |m, a| {
    tok(&a[0])?.remove_at(i32_of(&a[1]))?;
    Ok(Value::Null)
});
jfn!(ja_remove, |m, a| match &a[1] {
    Value::Json(item) => Ok(Value::Bool(tok(&a[0])?.remove_item(item)?)),
    _ => Ok(Value::Bool(false)),
});
jfn!(ja_clear, |m, a| {
    tok(&a[0])?.remove_all()?;
    Ok(Value::Null)
});
jfn!(ja_index_of, |m, a| match &a[1] {
    Value::Json(item) => Ok(Value::I32(tok(&a[0])?.index_of(item))),
    _ => Ok(Value::I32(-1)),
});
jfn!(ja_contains, |m, a| match &a[1] {
    Value::Json(item) => Ok(Value::Bool(tok(&a[0])?.index_of(item) >= 0)),
    _ => Ok(Value::Bool(false)),
});
jfn!(ja_parse, |m, a| Ok(Value::Json(JToken::parse_array(
    s_of(&a[0], "json")?
)?)));
jfn!(ja_from_object, |m, a| from_object_as(&a[0], true));
pub static JARRAY: &[Member] = &[
    Member::ctor(&[], ja_new),
    Member::ctor(&[P::Params(&P::Obj)], ja_new),
    Member::indexer(&[P::I32], P::JTOKEN, ja_get, Some(ja_set)),
    Member::method("Add", &[P::JTOKEN], P::Void, ja_add),
    Member::method("Insert", &[P::I32, P::JTOKEN], P::Void, ja_insert),
    Member::method("RemoveAt", &[P::I32], P::Void, ja_remove_at),
    Member::method("Remove", &[P::JTOKEN], P::Bool, ja_remove),
    Member::method("Clear", &[], P::Void, ja_clear),
    Member::method("IndexOf", &[P::JTOKEN], P::I32, ja_index_of),
    Member::method("Contains", &[P::JTOKEN], P::Bool, ja_contains),
    Member::stat("Parse", &[P::Str], P::C(Cls::JArray), ja_parse),
    Member::stat("FromObject", &[P::Obj], P::C(Cls::JArray), ja_from_object),
];

// ------------------------------------------------------------------ JProperty / JValue
jfn!(jp_new, |m, a| {
    let name = s_of(&a[1], "name")?.to_string();
    let value = if a.len() > 2 {
        match &a[2] {
            Value::Array(_) | Value::List(_) => {
                let arr = JToken::new_array();
                add_content(m, &arr, &a[2])?;
                arr
            }
            other => content_token(other)?,
        }
    } else {
        JToken::null()
    };
    Ok(Value::Json(JToken::new_property(name, value)))
});
jfn!(jp_name, |m, a| Ok(Value::string(tok(&a[0])?.name()?)));
jfn!(jp_value, |m, a| Ok(Value::Json(
    tok(&a[0])?.property_value()?
)));
jfn!(jp_set_value, |m, a| {
    let t = tok(&a[0])?.clone();
    let v = match &a[1] {
        Value::Null => None,
        other => Some(content_token(other)?),
    };
    t.set_property_value(v)?;
    Ok(Value::Null)
});
pub static JPROPERTY: &[Member] = &[
    Member::ctor(&[P::Str, P::Obj], jp_new),
    Member::ctor(&[P::Str, P::Params(&P::Obj)], jp_new),
    Member::prop("Name", P::Str, jp_name),
    Member::prop("Value", P::JTOKEN, jp_value),
];

jfn!(jv_new, |m, a| Ok(Value::Json(content_token(&a[1])?)));
jfn!(jv_value, |m, a| {
    let t = tok(&a[0])?;
    Ok(t.boxed_value()
        .map(|v| from_clr_value(&v))
        .unwrap_or(Value::Null))
});
jfn!(jv_create_null, |m, a| Ok(Value::Json(JToken::null())));
jfn!(jv_create_string, |m, a| Ok(Value::Json(JToken::string(
    s_of(&a[0], "value").unwrap_or("")
))));
pub static JVALUE: &[Member] = &[
    Member::ctor(&[P::Obj], jv_new),
    Member::prop("Value", P::Obj, jv_value),
    Member::stat("CreateNull", &[], P::C(Cls::JValue), jv_create_null),
    Member::stat(
        "CreateString",
        &[P::Str],
        P::C(Cls::JValue),
        jv_create_string,
    ),
];

pub fn property_setter(t: &Ty, name: &str) -> Option<(NativeFn, (NativeFn, Ty))> {
    match (t, name) {
        (Ty::Named(Cls::JProperty), "Value") => Some((
            jp_set_value as NativeFn,
            (jp_value as NativeFn, Ty::Named(Cls::JToken)),
        )),
        _ => None,
    }
}

// ------------------------------------------------------------------ JsonConvert
jfn!(jc_serialize, |m, a| {
    let f = match a.get(1) {
        Some(Value::Enum(_, 1)) => Formatting::Indented,
        _ => Formatting::None,
    };
    Ok(Value::string(json::serialize_object(
        &to_clr_value(&a[0])?,
        f,
    )?))
});
jfn!(jc_deserialize, |m, a| Ok(from_clr_value(
    &json::deserialize_object(s_of(&a[0], "value")?, None)?
)));
jfn!(jc_deserialize_t, |m, a| {
    let t = ty_of(&a[a.len() - 1]);
    if matches!(t, Ty::Gen(..)) || matches!(&t, Ty::Array(e) if **e != Ty::U8) {
        let token = JToken::parse(s_of(&a[0], "value")?)?;
        return to_typed(&token, &t);
    }
    let (clr, _) = clr_target(&t)?;
    let v = from_clr_value(&json::deserialize_object(s_of(&a[0], "value")?, Some(clr))?);
    if !v.is_null() && !crate::interp::is_instance(&v, &t) {
        return crate::interp::convert_numeric(&v, &t, true);
    }
    Ok(v)
});
pub static JSONCONVERT: &[Member] = &[
    Member::stat("SerializeObject", &[P::Obj], P::Str, jc_serialize),
    Member::stat(
        "SerializeObject",
        &[P::Obj, P::C(Cls::Formatting)],
        P::Str,
        jc_serialize,
    ),
    Member::stat("DeserializeObject", &[P::Str], P::Obj, jc_deserialize),
    Member::stat("DeserializeObject", &[P::Str], P::M(0), jc_deserialize_t).generic(1),
];

#[allow(dead_code)]
fn _unused(_: Gen, _: Fault) {
    let _ = recv_str;
}
