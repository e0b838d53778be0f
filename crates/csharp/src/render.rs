//! .NET `ToString()` of values, runtime type names, and the oracle rendering (CONTRACTS §B).
use apim_dotnet::json::Formatting;

use crate::types::{Cls, Ty, cls_name};
use crate::value::*;

/// `GetType()` in C# spelling (keyword aliases, simple names, generic syntax).
pub fn type_name(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Char(_) => "char".into(),
        Value::I8(_) => "sbyte".into(),
        Value::U8(_) => "byte".into(),
        Value::I16(_) => "short".into(),
        Value::U16(_) => "ushort".into(),
        Value::I32(_) => "int".into(),
        Value::U32(_) => "uint".into(),
        Value::I64(_) => "long".into(),
        Value::U64(_) => "ulong".into(),
        Value::F32(_) => "float".into(),
        Value::F64(_) => "double".into(),
        Value::Dec(_) => "decimal".into(),
        Value::Str(_) => "string".into(),
        Value::DateTime(_) => "DateTime".into(),
        Value::TimeSpan(_) => "TimeSpan".into(),
        Value::DateTimeOffset(_) => "DateTimeOffset".into(),
        Value::Guid(_) => "Guid".into(),
        Value::Enum(c, _) => cls_name(*c).into(),
        Value::Json(j) => j.clr_type_name().into(),
        Value::Array(s) => format!("{}[]", s.elem.name()),
        Value::List(s) => match s.kind {
            SeqKind::HashSet => format!("HashSet<{}>", s.elem.name()),
            SeqKind::Queue => format!("Queue<{}>", s.elem.name()),
            SeqKind::Stack => format!("Stack<{}>", s.elem.name()),
            SeqKind::Enumerable => match &s.dict_view {
                Some((k, v, keys)) => format!(
                    "Dictionary<{}, {}>.{}",
                    k.name(),
                    v.name(),
                    if *keys {
                        "KeyCollection"
                    } else {
                        "ValueCollection"
                    }
                ),
                None => format!("IEnumerable<{}>", s.elem.name()),
            },
            _ => format!("List<{}>", s.elem.name()),
        },
        Value::Dict(d) => format!("Dictionary<{}, {}>", d.key.name(), d.value.name()),
        Value::Pair(p) => format!("KeyValuePair<{}, {}>", p.key_ty.name(), p.value_ty.name()),
        // Runtimes name anonymous types differently; the oracle normalises them to this.
        Value::Anon(_) => "<anonymous>".into(),
        Value::Lambda(_) => "Func".into(),
        Value::Host(h) => cls_name(h.class()).into(),
        Value::HostDict(_) => "IReadOnlyDictionary".into(),
        Value::Exception(e) => e.kind.name().into(),
        Value::Type(_) => "Type".into(),
        Value::Obj(o) => match &**o {
            Obj::Random(_) => "Random".into(),
            Obj::StringBuilder(_) => "StringBuilder".into(),
            Obj::Regex(_) => "Regex".into(),
            Obj::Match(_, g) => {
                if *g == 0 {
                    "Match".into()
                } else {
                    "Group".into()
                }
            }
            Obj::Encoding(_) => "Encoding".into(),
            Obj::Hash(h, _) => h.name().into(),
            Obj::Jwt(_) => "Jwt".into(),
            Obj::Basic(..) => "BasicAuthCredentials".into(),
            Obj::Uri(_) => "Uri".into(),
            Obj::StringComparer(_) => "StringComparer".into(),
            Obj::Xml(x) => x.class_name().into(),
            Obj::XAttr(..) => "XAttribute".into(),
            Obj::XName(..) => "XName".into(),
            Obj::Grouping(k, _, items) => {
                format!("IGrouping<{}, {}>", k.name(), items.elem.name())
            }
            Obj::Tuple(tys, _) => format!(
                "Tuple<{}>",
                tys.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
            ),
        },
    }
}

/// Full CLR name for exception messages (`System.Int32`).
pub fn clr_full_name(v: &Value) -> String {
    match v {
        Value::Bool(_) => "System.Boolean".into(),
        Value::Char(_) => "System.Char".into(),
        Value::I8(_) => "System.SByte".into(),
        Value::U8(_) => "System.Byte".into(),
        Value::I16(_) => "System.Int16".into(),
        Value::U16(_) => "System.UInt16".into(),
        Value::I32(_) => "System.Int32".into(),
        Value::U32(_) => "System.UInt32".into(),
        Value::I64(_) => "System.Int64".into(),
        Value::U64(_) => "System.UInt64".into(),
        Value::F32(_) => "System.Single".into(),
        Value::F64(_) => "System.Double".into(),
        Value::Dec(_) => "System.Decimal".into(),
        Value::Str(_) => "System.String".into(),
        Value::DateTime(_) => "System.DateTime".into(),
        Value::TimeSpan(_) => "System.TimeSpan".into(),
        Value::DateTimeOffset(_) => "System.DateTimeOffset".into(),
        Value::Guid(_) => "System.Guid".into(),
        Value::Json(j) => format!("Newtonsoft.Json.Linq.{}", j.clr_type_name()),
        Value::Array(s) => format!("{}[]", s.elem.name()),
        other => type_name(other),
    }
}

/// .NET `ToString()` of a value (`null` → empty, as string concatenation does).
pub fn net_string(v: &Value) -> String {
    let mut s = String::new();
    append_net_string(&mut s, v);
    s
}

pub fn append_net_string(out: &mut String, v: &Value) {
    use std::fmt::Write;
    match v {
        Value::Null => {}
        Value::Str(s) => out.push_str(s),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::Char(c) => out.push_str(&String::from_utf16_lossy(&[*c])),
        Value::I8(x) => {
            let _ = write!(out, "{x}");
        }
        Value::U8(x) => {
            let _ = write!(out, "{x}");
        }
        Value::I16(x) => {
            let _ = write!(out, "{x}");
        }
        Value::U16(x) => {
            let _ = write!(out, "{x}");
        }
        Value::I32(x) => {
            let _ = write!(out, "{x}");
        }
        Value::U32(x) => {
            let _ = write!(out, "{x}");
        }
        Value::I64(x) => {
            let _ = write!(out, "{x}");
        }
        Value::U64(x) => {
            let _ = write!(out, "{x}");
        }
        Value::F32(x) => out.push_str(&apim_dotnet::number::format_single(*x)),
        Value::F64(x) => out.push_str(&apim_dotnet::number::format_double(*x)),
        Value::Dec(d) => out.push_str(&apim_dotnet::number::format_decimal(*d)),
        Value::DateTime(d) => {
            out.push_str(&apim_dotnet::datetime_format::format_date_time_default(*d))
        }
        Value::DateTimeOffset(d) => {
            out.push_str(&apim_dotnet::datetime_format::format_date_time_offset_default(*d))
        }
        Value::TimeSpan(t) => out.push_str(&apim_dotnet::datetime_format::format_timespan_c(*t)),
        Value::Guid(g) => out.push_str(&g.to_string_d()),
        Value::Enum(c, x) => out.push_str(&crate::lib_core::enum_name(*c, *x)),
        Value::Json(j) => out.push_str(&j.to_string_default()),
        Value::Array(s) => {
            let _ = write!(out, "System.{}[]", clr_simple(&s.elem));
        }
        Value::List(s) => {
            let _ = write!(
                out,
                "System.Collections.Generic.List`1[System.{}]",
                clr_simple(&s.elem)
            );
        }
        Value::Dict(d) => {
            let _ = write!(
                out,
                "System.Collections.Generic.Dictionary`2[System.{},System.{}]",
                clr_simple(&d.key),
                clr_simple(&d.value)
            );
        }
        Value::Pair(p) => {
            out.push('[');
            append_net_string(out, &p.key);
            out.push_str(", ");
            append_net_string(out, &p.value);
            out.push(']');
        }
        Value::Anon(a) => {
            out.push_str("{ ");
            for (i, (n, v)) in a.fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(n);
                out.push_str(" = ");
                append_net_string(out, v);
            }
            out.push_str(" }");
        }
        Value::Exception(e) => out.push_str(&format!("{}: {}", e.full_name(), e.message)),
        Value::Obj(o) => match &**o {
            Obj::StringBuilder(sb) => out.push_str(&sb.lock()),
            Obj::Uri(u) => out.push_str(u),
            Obj::Match(m, g) => out.push_str(&m.group_by_number(*g as i32).value),
            Obj::Xml(x) => out.push_str(&x.to_string_default()),
            Obj::XName(ns, local) => out.push_str(&crate::lib_misc::xname_text(ns, local)),
            Obj::Tuple(_, items) => {
                out.push('(');
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    append_net_string(out, x);
                }
                out.push(')');
            }
            Obj::XAttr(n, v) => {
                out.push_str(&format!("{n}=\"{}\"", apim_dotnet::web::html_encode(v)))
            }
            _ => out.push_str(&type_name(v)),
        },
        Value::Type(t) => out.push_str(&t.name()),
        Value::Host(h) => {
            // IUrl.ToString() is the URL; other context objects print their type name
            match (h.class(), h.call(crate::host::HostMember::UrlToString, &[])) {
                (Cls::Url, Ok(Value::Str(u))) => out.push_str(&u),
                _ => {
                    let _ = write!(out, "{}", cls_name(h.class()));
                }
            }
        }
        other => out.push_str(&type_name(other)),
    }
}

fn clr_simple(t: &Ty) -> String {
    match t {
        Ty::I32 => "Int32".into(),
        Ty::I64 => "Int64".into(),
        Ty::String => "String".into(),
        Ty::Object => "Object".into(),
        Ty::Bool => "Boolean".into(),
        Ty::U8 => "Byte".into(),
        Ty::F64 => "Double".into(),
        Ty::Char => "Char".into(),
        Ty::Named(c @ (Cls::JToken | Cls::JObject | Cls::JArray)) => {
            format!("Newtonsoft.Json.Linq.{}", cls_name(*c))
        }
        t => t.name(),
    }
}

/// The oracle rendering of a value (CONTRACTS §B).
pub fn render(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Str(s) => json_string(s),
        Value::Bool(b) => {
            if *b {
                "true".into()
            } else {
                "false".into()
            }
        }
        Value::Char(c) => format!("'{}'", String::from_utf16_lossy(&[*c])),
        Value::F32(x) => apim_dotnet::number::format_single(*x),
        Value::F64(x) => apim_dotnet::number::format_double(*x),
        Value::DateTime(d) => crate::lib_core::format_datetime_o(*d),
        Value::DateTimeOffset(d) => crate::lib_core::format_dto_o(*d),
        Value::TimeSpan(t) => apim_dotnet::datetime_format::format_timespan_c(*t),
        Value::Guid(g) => g.to_string_d(),
        Value::Json(j) => j.to_string_formatting(Formatting::None),
        Value::Array(s) if s.elem == Ty::U8 => {
            let bytes: Vec<u8> = s
                .items
                .read()
                .iter()
                .map(|v| if let Value::U8(b) = v { *b } else { 0 })
                .collect();
            format!("bytes:{}", apim_dotnet::convert::to_base64_string(&bytes))
        }
        Value::Array(s) | Value::List(s) => {
            let items = s.items.read();
            format!(
                "[{}]",
                items.iter().map(render).collect::<Vec<_>>().join(",")
            )
        }
        Value::Dict(d) => {
            let entries = d.entries.read();
            format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|(k, v)| format!("{}:{}", render(k), render(v)))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
        Value::HostDict(h) => {
            let keys = h.keys();
            format!(
                "{{{}}}",
                keys.iter()
                    .map(|k| format!(
                        "{}:{}",
                        json_string(k),
                        render(&h.get(k).unwrap_or(Value::Null))
                    ))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
        other => net_string(other),
    }
}

/// `JsonConvert.ToString(string)`: Newtonsoft's default escaping.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{85}' || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What `apim-emu eval` shows: `ToString()` for most values, JSON for tokens, quoted strings.
pub fn display(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Str(s) => json_string(s),
        Value::Json(_) | Value::Array(_) | Value::List(_) | Value::Dict(_) => render(v),
        other => net_string(other),
    }
}

/// The full .NET type name (`System.Int32`, `Newtonsoft.Json.Linq.JObject`).
pub fn clr_type_full_name(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Enum(c, _) => match c {
            Cls::JTokenType => "Newtonsoft.Json.Linq.JTokenType".into(),
            c => format!("System.{}", cls_name(*c)),
        },
        Value::List(s) => format!(
            "System.Collections.Generic.{}",
            type_name(v).replace(&s.elem.name(), &clr_simple(&s.elem))
        ),
        Value::Array(s) => format!("System.{}[]", clr_simple(&s.elem)),
        Value::Host(h) => cls_name(h.class()).into(),
        other => clr_full_name(other),
    }
}
