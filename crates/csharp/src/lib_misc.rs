//! Library bindings: Random, Regex, StringBuilder, Encoding, hashes, WebUtility, Uri,
//! BitConverter, Jwt / BasicAuthCredentials, XDocument basics.
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::code::{Fault, NativeFn};
use crate::interp::Machine;
use crate::lib_core::sfn as mfn;
use crate::lib_core::{R, bytes_of, exc, i32_of, recv_str, s_of, str_array, utf16_len};
use crate::members::{Member, P};
use crate::types::{Cls, Exc, Hash, Ty};
use crate::value::*;

pub type NetRandom = apim_dotnet::random::Random;

pub fn tables(c: Cls) -> Vec<&'static [Member]> {
    match c {
        Cls::Random => vec![RANDOM],
        Cls::Regex => vec![REGEX],
        Cls::Match => vec![MATCH, GROUP],
        Cls::Group | Cls::Capture => vec![GROUP],
        Cls::GroupCollection => vec![GROUPS],
        Cls::MatchCollection => vec![MATCHES],
        Cls::StringBuilder => vec![STRINGBUILDER],
        Cls::Encoding => vec![ENCODING],
        Cls::HashAlgo(h) => match h {
            Hash::Md5 => vec![HASH_MD5, HASH],
            Hash::Sha1 => vec![HASH_SHA1, HASH],
            Hash::Sha256 => vec![HASH_SHA256, HASH],
            Hash::Sha384 => vec![HASH_SHA384, HASH],
            Hash::Sha512 => vec![HASH_SHA512, HASH],
            _ => vec![HASH],
        },
        Cls::WebUtility => vec![WEBUTILITY],
        Cls::Uri => vec![URI],
        Cls::BitConverter => vec![BITCONVERTER],
        Cls::Jwt => vec![JWT],
        Cls::BasicAuth => vec![BASIC],
        Cls::XDocument => vec![XDOC, XELEM],
        Cls::XElement => vec![XELEM],
        Cls::XAttribute => vec![XATTR],
        Cls::XName => vec![XNAME],
        Cls::XNamespace => vec![XNAMESPACE],
        Cls::StringComparer => vec![STRINGCOMPARER],
        _ => vec![],
    }
}

fn obj(v: &Value) -> R<&Obj> {
    match v {
        Value::Obj(o) => Ok(o),
        Value::Null => Err(Exception::null_ref().into()),
        _ => Err(exc(Exc::InvalidCastException, "unexpected value")),
    }
}

// ------------------------------------------------------------------ Random
mfn!(rnd_new, |m, a| {
    let seed = if a.len() > 1 {
        i32_of(&a[1])
    } else {
        m.env.random_seed()
    };
    Ok(Value::Obj(Arc::new(Obj::Random(Mutex::new(
        NetRandom::new(seed),
    )))))
});
fn rnd(v: &Value) -> R<&Mutex<NetRandom>> {
    match obj(v)? {
        Obj::Random(r) => Ok(r),
        _ => Err(exc(Exc::InvalidCastException, "expected Random")),
    }
}
mfn!(rnd_next, |m, a| {
    let r = rnd(&a[0])?;
    let v = match a.len() {
        1 => r.lock().next(),
        2 => r.lock().next_max(i32_of(&a[1]))?,
        _ => r.lock().next_range(i32_of(&a[1]), i32_of(&a[2]))?,
    };
    Ok(Value::I32(v))
});
mfn!(rnd_next_double, |m, a| Ok(Value::F64(
    rnd(&a[0])?.lock().next_double()
)));
mfn!(rnd_next_bytes, |m, a| {
    let Value::Array(s) = &a[1] else {
        return Err(crate::lib_core::arg_null("buffer"));
    };
    let mut buf = vec![0u8; s.items.read().len()];
    rnd(&a[0])?.lock().next_bytes(&mut buf);
    *s.items.write() = buf.into_iter().map(Value::U8).collect();
    Ok(Value::Null)
});
static RANDOM: &[Member] = &[
    Member::ctor(&[], rnd_new),
    Member::ctor(&[P::I32], rnd_new),
    Member::method("Next", &[], P::I32, rnd_next),
    Member::method("Next", &[P::I32], P::I32, rnd_next),
    Member::method("Next", &[P::I32, P::I32], P::I32, rnd_next),
    Member::method("NextDouble", &[], P::F64, rnd_next_double),
    Member::method("NextBytes", &[P::Arr(&P::U8)], P::Void, rnd_next_bytes),
];

// ------------------------------------------------------------------ Regex
/// A compiled .NET regular expression (apim_dotnet's .NET dialect).
pub type NetRegex = apim_dotnet::regex::Regex;
/// A regex match (a `Match`, or one of its groups when the index is not 0).
pub type MatchData = apim_dotnet::regex::Match;

fn regex_options(v: Option<&Value>) -> u32 {
    match v {
        Some(Value::Enum(Cls::RegexOptions, k)) => *k as u32,
        _ => 0,
    }
}

fn compile_regex(pattern: &str, opts: u32) -> R<Arc<NetRegex>> {
    Ok(Arc::new(NetRegex::new(pattern, opts)?))
}

/// The receiver regex for instance calls (`a[0]`), or a new one from a static call's
/// pattern argument.
fn regex_arg(a: &[Value], pat_index: usize, opts_index: usize) -> R<Arc<NetRegex>> {
    match &a[0] {
        Value::Obj(o) => match &**o {
            Obj::Regex(r) => Ok(r.clone()),
            _ => Err(exc(Exc::InvalidCastException, "expected Regex")),
        },
        _ => compile_regex(
            s_of(&a[pat_index], "pattern")?,
            regex_options(a.get(opts_index)),
        ),
    }
}

fn match_value(m: MatchData) -> Value {
    Value::Obj(Arc::new(Obj::Match(Arc::new(m), 0)))
}

fn matches_value(ms: Vec<MatchData>) -> Value {
    Value::List(Seq::new(
        SeqKind::Enumerable,
        Ty::Named(Cls::Match),
        ms.into_iter().map(match_value).collect(),
    ))
}

mfn!(re_new, |m, a| Ok(Value::Obj(Arc::new(Obj::Regex(
    compile_regex(s_of(&a[1], "pattern")?, regex_options(a.get(2)))?
)))));
mfn!(re_is_match_s, |m, a| {
    let re = compile_regex(s_of(&a[1], "pattern")?, regex_options(a.get(2)))?;
    Ok(Value::Bool(re.is_match(s_of(&a[0], "input")?)?))
});
mfn!(re_is_match_i, |m, a| {
    let re = regex_arg(a, 0, 9)?;
    Ok(Value::Bool(re.is_match(s_of(&a[1], "input")?)?))
});
mfn!(re_match_s, |m, a| {
    let re = compile_regex(s_of(&a[1], "pattern")?, regex_options(a.get(2)))?;
    Ok(match_value(re.match_first(s_of(&a[0], "input")?)?))
});
mfn!(re_match_i, |m, a| {
    let re = regex_arg(a, 0, 9)?;
    Ok(match_value(re.match_first(s_of(&a[1], "input")?)?))
});
mfn!(re_matches_s, |m, a| {
    let re = compile_regex(s_of(&a[1], "pattern")?, regex_options(a.get(2)))?;
    Ok(matches_value(re.matches(s_of(&a[0], "input")?, 0)?))
});
mfn!(re_matches_i, |m, a| {
    let re = regex_arg(a, 0, 9)?;
    Ok(matches_value(re.matches(s_of(&a[1], "input")?, 0)?))
});
mfn!(re_replace_s, |m, a| {
    let re = compile_regex(s_of(&a[1], "pattern")?, regex_options(a.get(3)))?;
    Ok(Value::string(re.replace(
        s_of(&a[0], "input")?,
        s_of(&a[2], "replacement")?,
        -1,
        0,
    )?))
});
/// `Regex.Replace(input, pattern, evaluator)`: the lambda computes each replacement.
fn replace_eval(m: &mut Machine<'_>, re: &NetRegex, input: &str, f: &Value) -> R<Value> {
    let mut fault: Option<Fault> = None;
    let r = re.replace_with(input, -1, 0, |mt| {
        let v = Value::Obj(Arc::new(Obj::Match(Arc::new(mt.clone()), 0)));
        match m.call_lambda(f, &[v]) {
            Ok(s) => Ok(crate::render::net_string(&s)),
            Err(e) => {
                fault = Some(e);
                Err(apim_dotnet::DotNetException::invalid_operation(
                    "evaluator failed",
                ))
            }
        }
    });
    if let Some(f) = fault {
        return Err(f);
    }
    Ok(Value::string(r?))
}
mfn!(re_replace_eval_s, |m, a| {
    let re = compile_regex(s_of(&a[1], "pattern")?, 0)?;
    let input = s_of(&a[0], "input")?.to_string();
    let f = a[2].clone();
    replace_eval(m, &re, &input, &f)
});
mfn!(re_replace_i, |m, a| {
    let re = regex_arg(a, 0, 9)?;
    Ok(Value::string(re.replace(
        s_of(&a[1], "input")?,
        s_of(&a[2], "replacement")?,
        -1,
        0,
    )?))
});
mfn!(re_split_s, |m, a| {
    let re = compile_regex(s_of(&a[1], "pattern")?, regex_options(a.get(2)))?;
    Ok(str_array(re.split(s_of(&a[0], "input")?, 0, 0)?))
});
mfn!(re_split_i, |m, a| {
    let re = regex_arg(a, 0, 9)?;
    Ok(str_array(re.split(s_of(&a[1], "input")?, 0, 0)?))
});
mfn!(re_unescape, |m, a| Ok(Value::string(
    apim_dotnet::regex::unescape(s_of(&a[0], "str")?)?
)));
const OPTS: P = P::C(Cls::RegexOptions);
static REGEX: &[Member] = &[
    Member::ctor(&[P::Str], re_new),
    Member::ctor(&[P::Str, OPTS], re_new),
    Member::stat("IsMatch", &[P::Str, P::Str], P::Bool, re_is_match_s),
    Member::stat("IsMatch", &[P::Str, P::Str, OPTS], P::Bool, re_is_match_s),
    Member::stat("Match", &[P::Str, P::Str], P::C(Cls::Match), re_match_s),
    Member::stat(
        "Match",
        &[P::Str, P::Str, OPTS],
        P::C(Cls::Match),
        re_match_s,
    ),
    Member::stat(
        "Matches",
        &[P::Str, P::Str],
        P::C(Cls::MatchCollection),
        re_matches_s,
    ),
    Member::stat(
        "Matches",
        &[P::Str, P::Str, OPTS],
        P::C(Cls::MatchCollection),
        re_matches_s,
    ),
    Member::stat("Replace", &[P::Str, P::Str, P::Str], P::Str, re_replace_s),
    Member::stat(
        "Replace",
        &[P::Str, P::Str, P::Func(&[P::C(Cls::Match)], &P::Str)],
        P::Str,
        re_replace_eval_s,
    ),
    Member::stat(
        "Replace",
        &[P::Str, P::Str, P::Str, OPTS],
        P::Str,
        re_replace_s,
    ),
    Member::stat("Split", &[P::Str, P::Str], P::Arr(&P::Str), re_split_s),
    Member::stat(
        "Split",
        &[P::Str, P::Str, OPTS],
        P::Arr(&P::Str),
        re_split_s,
    ),
    Member::stat("Unescape", &[P::Str], P::Str, re_unescape),
    Member::method("IsMatch", &[P::Str], P::Bool, re_is_match_i),
    Member::method("Match", &[P::Str], P::C(Cls::Match), re_match_i),
    Member::method(
        "Matches",
        &[P::Str],
        P::C(Cls::MatchCollection),
        re_matches_i,
    ),
    Member::method("Replace", &[P::Str, P::Str], P::Str, re_replace_i),
    Member::method("Split", &[P::Str], P::Arr(&P::Str), re_split_i),
];

fn group_of(v: &Value) -> R<(Arc<MatchData>, apim_dotnet::regex::Group)> {
    match obj(v)? {
        Obj::Match(m, g) => {
            let grp = m.group_by_number(*g as i32);
            Ok((m.clone(), grp))
        }
        _ => Err(exc(Exc::InvalidCastException, "expected Match")),
    }
}
mfn!(m_success, |m, a| Ok(Value::Bool(
    group_of(&a[0])?.1.success
)));
mfn!(m_value, |m, a| Ok(Value::string(group_of(&a[0])?.1.value)));
mfn!(m_index, |m, a| Ok(Value::I32(group_of(&a[0])?.1.index)));
mfn!(m_length, |m, a| Ok(Value::I32(group_of(&a[0])?.1.length)));
mfn!(m_groups, |m, a| Ok(a[0].clone()));
mfn!(m_result, |m, a| {
    let (md, _) = group_of(&a[0])?;
    Ok(Value::string(md.result(s_of(&a[1], "replacement")?)?))
});
mfn!(groups_get, |m, a| {
    let (md, _) = group_of(&a[0])?;
    let g = match &a[1] {
        Value::Str(name) => md.group_by_name(name),
        v => md.group_by_number(i32_of(v)),
    };
    // a group is represented by its match and number; unknown names give an unsuccessful group
    let number = if g.success
        || md
            .groups()
            .iter()
            .any(|x| x.number == g.number && x.name == g.name)
    {
        g.number
    } else {
        usize::MAX
    };
    Ok(Value::Obj(Arc::new(Obj::Match(md, number))))
});
mfn!(groups_count, |m, a| Ok(Value::I32(
    group_of(&a[0])?.0.groups().len() as i32
)));
mfn!(matches_count, |m, a| match &a[0] {
    Value::List(s) => Ok(Value::I32(s.items.read().len() as i32)),
    _ => Ok(Value::I32(0)),
});
mfn!(matches_get, |m, a| match &a[0] {
    Value::List(s) => s
        .items
        .read()
        .get(i32_of(&a[1]) as usize)
        .cloned()
        .ok_or_else(|| Exception::arg_range("i").into()),
    _ => Ok(Value::Null),
});
static MATCH: &[Member] = &[
    Member::prop("Groups", P::C(Cls::GroupCollection), m_groups),
    Member::method("Result", &[P::Str], P::Str, m_result),
];
static GROUP: &[Member] = &[
    Member::prop("Success", P::Bool, m_success),
    Member::prop("Value", P::Str, m_value),
    Member::prop("Index", P::I32, m_index),
    Member::prop("Length", P::I32, m_length),
];
static GROUPS: &[Member] = &[
    Member::indexer(&[P::Str], P::C(Cls::Group), groups_get, None),
    Member::indexer(&[P::I32], P::C(Cls::Group), groups_get, None),
    Member::prop("Count", P::I32, groups_count),
];
static MATCHES: &[Member] = &[
    Member::indexer(&[P::I32], P::C(Cls::Match), matches_get, None),
    Member::prop("Count", P::I32, matches_count),
];

// ------------------------------------------------------------------ StringBuilder
fn sb(v: &Value) -> R<&Mutex<String>> {
    match obj(v)? {
        Obj::StringBuilder(s) => Ok(s),
        _ => Err(exc(Exc::InvalidCastException, "expected StringBuilder")),
    }
}
mfn!(sb_new, |m, a| {
    let init = match a.get(1) {
        Some(Value::Str(s)) => s.to_string(),
        _ => String::new(),
    };
    Ok(Value::Obj(Arc::new(Obj::StringBuilder(Mutex::new(init)))))
});
mfn!(sb_append, |m, a| {
    let text = crate::render::net_string(&a[1]);
    sb(&a[0])?.lock().push_str(&text);
    Ok(a[0].clone())
});
mfn!(sb_insert, |m, a| {
    let text = crate::render::net_string(&a[2]);
    let mut g = sb(&a[0])?.lock();
    let updated = apim_dotnet::string::insert(&g, i32_of(&a[1]), &text)?;
    *g = updated;
    drop(g);
    Ok(a[0].clone())
});
mfn!(sb_remove, |m, a| {
    let mut g = sb(&a[0])?.lock();
    let updated = apim_dotnet::string::remove(&g, i32_of(&a[1]), Some(i32_of(&a[2])))?;
    *g = updated;
    drop(g);
    Ok(a[0].clone())
});
mfn!(sb_replace, |m, a| {
    let old = s_of(&a[1], "oldValue")?.to_string();
    let new = match &a[2] {
        Value::Str(s) => Some(s.to_string()),
        _ => None,
    };
    let mut g = sb(&a[0])?.lock();
    let updated = apim_dotnet::string::replace(&g, &old, new.as_deref())?;
    *g = updated;
    drop(g);
    Ok(a[0].clone())
});
mfn!(sb_append_line, |m, a| {
    let text = if a.len() > 1 {
        crate::render::net_string(&a[1])
    } else {
        String::new()
    };
    let mut s = sb(&a[0])?.lock();
    s.push_str(&text);
    s.push_str(apim_dotnet::environment::new_line());
    drop(s);
    Ok(a[0].clone())
});
mfn!(sb_append_format, |m, a| {
    let args = crate::lib_core::seq_items(&a[2]).unwrap_or_default();
    let text = crate::lib_core::composite_format(s_of(&a[1], "format")?, &args)?;
    sb(&a[0])?.lock().push_str(&text);
    Ok(a[0].clone())
});
mfn!(sb_length, |m, a| Ok(Value::I32(
    utf16_len(&sb(&a[0])?.lock()) as i32
)));
mfn!(sb_clear, |m, a| {
    sb(&a[0])?.lock().clear();
    Ok(a[0].clone())
});
mfn!(sb_to_string, |m, a| Ok(Value::string(
    sb(&a[0])?.lock().clone()
)));
static STRINGBUILDER: &[Member] = &[
    Member::ctor(&[], sb_new),
    Member::ctor(&[P::Str], sb_new),
    Member::method("Append", &[P::Obj], P::C(Cls::StringBuilder), sb_append),
    Member::method("AppendLine", &[], P::C(Cls::StringBuilder), sb_append_line),
    Member::method(
        "AppendLine",
        &[P::Str],
        P::C(Cls::StringBuilder),
        sb_append_line,
    ),
    Member::method(
        "AppendFormat",
        &[P::Str, P::Params(&P::Obj)],
        P::C(Cls::StringBuilder),
        sb_append_format,
    ),
    Member::method("Clear", &[], P::C(Cls::StringBuilder), sb_clear),
    Member::method(
        "Insert",
        &[P::I32, P::Obj],
        P::C(Cls::StringBuilder),
        sb_insert,
    ),
    Member::method(
        "Remove",
        &[P::I32, P::I32],
        P::C(Cls::StringBuilder),
        sb_remove,
    ),
    Member::method(
        "Replace",
        &[P::Str, P::Str],
        P::C(Cls::StringBuilder),
        sb_replace,
    ),
    Member::method("ToString", &[], P::Str, sb_to_string),
    Member::prop("Length", P::I32, sb_length),
];

// ------------------------------------------------------------------ Encoding
pub type Enc = apim_dotnet::encoding::Encoding;
fn enc_value(e: Enc) -> Value {
    Value::Obj(Arc::new(Obj::Encoding(e)))
}
mfn!(enc_utf8, |m, a| Ok(enc_value(Enc::Utf8)));
mfn!(enc_ascii, |m, a| Ok(enc_value(Enc::Ascii)));
mfn!(enc_unicode, |m, a| Ok(enc_value(Enc::Unicode)));
mfn!(enc_be_unicode, |m, a| Ok(enc_value(Enc::BigEndianUnicode)));
mfn!(enc_utf32, |m, a| Ok(enc_value(Enc::Utf32)));
mfn!(enc_latin1, |m, a| Ok(enc_value(Enc::Latin1)));
mfn!(enc_get_encoding, |m, a| Ok(enc_value(Enc::from_name(
    s_of(&a[0], "name")?
)?)));
fn enc(v: &Value) -> R<Enc> {
    match obj(v)? {
        Obj::Encoding(e) => Ok(*e),
        _ => Err(exc(Exc::InvalidCastException, "expected Encoding")),
    }
}
mfn!(enc_get_bytes, |m, a| Ok(Value::bytes(
    enc(&a[0])?.get_bytes(s_of(&a[1], "s")?)
)));
mfn!(enc_get_string, |m, a| Ok(Value::string(
    enc(&a[0])?.get_string(&bytes_of(&a[1])?)
)));
mfn!(enc_byte_count, |m, a| Ok(Value::I32(
    enc(&a[0])?.get_byte_count(s_of(&a[1], "s")?)
)));
mfn!(enc_web_name, |m, a| Ok(Value::str(enc(&a[0])?.web_name())));
static ENCODING: &[Member] = &[
    Member::sprop("UTF8", P::C(Cls::Encoding), enc_utf8),
    Member::sprop("ASCII", P::C(Cls::Encoding), enc_ascii),
    Member::sprop("Unicode", P::C(Cls::Encoding), enc_unicode),
    Member::sprop("BigEndianUnicode", P::C(Cls::Encoding), enc_be_unicode),
    Member::sprop("UTF32", P::C(Cls::Encoding), enc_utf32),
    Member::sprop("Latin1", P::C(Cls::Encoding), enc_latin1),
    Member::sprop("Default", P::C(Cls::Encoding), enc_default),
    Member::method("GetPreamble", &[], P::Arr(&P::U8), enc_preamble),
    Member::stat(
        "GetEncoding",
        &[P::Str],
        P::C(Cls::Encoding),
        enc_get_encoding,
    ),
    Member::method("GetBytes", &[P::Str], P::Arr(&P::U8), enc_get_bytes),
    Member::method("GetString", &[P::Arr(&P::U8)], P::Str, enc_get_string),
    Member::method("GetByteCount", &[P::Str], P::I32, enc_byte_count),
    Member::prop("WebName", P::Str, enc_web_name),
];

// ------------------------------------------------------------------ hashes
fn hash_new(h: Hash, key: Vec<u8>) -> Value {
    Value::Obj(Arc::new(Obj::Hash(h, key)))
}
mfn!(hash_ctor, |m, a| {
    let Ty::Named(Cls::HashAlgo(h)) = crate::lib_core::ty_of(&a[0]) else {
        return Ok(Value::Null);
    };
    let key = if a.len() > 1 {
        bytes_of(&a[1])?
    } else {
        vec![0u8; 64]
    };
    Ok(hash_new(h, key))
});
fn compute(h: Hash, key: &[u8], data: &[u8]) -> Vec<u8> {
    use apim_dotnet::crypto::HashAlgorithm as A;
    let (alg, hmac) = match h {
        Hash::Md5 => (A::Md5, false),
        Hash::Sha1 => (A::Sha1, false),
        Hash::Sha256 => (A::Sha256, false),
        Hash::Sha384 => (A::Sha384, false),
        Hash::Sha512 => (A::Sha512, false),
        Hash::HmacMd5 => (A::Md5, true),
        Hash::HmacSha1 => (A::Sha1, true),
        Hash::HmacSha256 => (A::Sha256, true),
        Hash::HmacSha384 => (A::Sha384, true),
        Hash::HmacSha512 => (A::Sha512, true),
    };
    if hmac {
        alg.compute_hmac(key, data)
    } else {
        alg.compute_hash(data)
    }
}
mfn!(hash_compute, |m, a| {
    let (h, key) = match obj(&a[0])? {
        Obj::Hash(h, k) => (*h, k.clone()),
        _ => return Err(exc(Exc::InvalidCastException, "expected a hash algorithm")),
    };
    let data = bytes_of(&a[1])?;
    Ok(Value::bytes(compute(h, &key, &data)))
});
mfn!(hash_dispose, |m, a| Ok(Value::Null));
macro_rules! hash_create {
    ($($f:ident => $h:expr),*) => {
        $(mfn!($f, |m, a| Ok(hash_new($h, vec![0u8; 64])));)*
    };
}
hash_create!(create_md5 => Hash::Md5, create_sha1 => Hash::Sha1, create_sha256 => Hash::Sha256, create_sha384 => Hash::Sha384, create_sha512 => Hash::Sha512);
mfn!(hash_size, |m, a| match obj(&a[0])? {
    Obj::Hash(h, _) => Ok(Value::I32(match h {
        Hash::Md5 | Hash::HmacMd5 => 128,
        Hash::Sha1 | Hash::HmacSha1 => 160,
        Hash::Sha256 | Hash::HmacSha256 => 256,
        Hash::Sha384 | Hash::HmacSha384 => 384,
        Hash::Sha512 | Hash::HmacSha512 => 512,
    })),
    _ => Ok(Value::I32(0)),
});
/// The algorithm classes (`MD5`, `SHA256` ...) have only their `Create()` factory.
macro_rules! hash_classes {
    ($($table:ident = $hash:ident, $create:ident;)*) => {
        $(static $table: &[Member] =
            &[Member::stat("Create", &[], P::C(Cls::HashAlgo(Hash::$hash)), $create)];)*
    };
}
hash_classes! {
    HASH_MD5 = Md5, create_md5;
    HASH_SHA1 = Sha1, create_sha1;
    HASH_SHA256 = Sha256, create_sha256;
    HASH_SHA384 = Sha384, create_sha384;
    HASH_SHA512 = Sha512, create_sha512;
}
static HASH: &[Member] = &[
    Member::prop("HashSize", P::I32, hash_size),
    Member::ctor(&[], hash_ctor),
    Member::ctor(&[P::Arr(&P::U8)], hash_ctor),
    Member::method(
        "ComputeHash",
        &[P::Arr(&P::U8)],
        P::Arr(&P::U8),
        hash_compute,
    ),
    Member::method("Dispose", &[], P::Void, hash_dispose),
];

// ------------------------------------------------------------------ WebUtility / Uri
fn html_encode(s: &str) -> String {
    apim_dotnet::web::html_encode(s)
}
mfn!(wu_url_encode, |m, a| Ok(match &a[0] {
    Value::Str(s) => Value::string(apim_dotnet::web::url_encode(s)),
    _ => Value::Null,
}));
mfn!(wu_url_decode, |m, a| Ok(match &a[0] {
    Value::Str(s) => Value::string(apim_dotnet::web::url_decode(s)),
    _ => Value::Null,
}));
mfn!(wu_html_encode, |m, a| Ok(match &a[0] {
    Value::Str(s) => Value::string(html_encode(s)),
    _ => Value::Null,
}));
mfn!(wu_html_decode, |m, a| Ok(match &a[0] {
    Value::Str(s) => Value::string(apim_dotnet::web::html_decode(s)),
    _ => Value::Null,
}));
static WEBUTILITY: &[Member] = &[
    Member::stat("UrlEncode", &[P::Str], P::Str, wu_url_encode),
    Member::stat("UrlDecode", &[P::Str], P::Str, wu_url_decode),
    Member::stat("HtmlEncode", &[P::Str], P::Str, wu_html_encode),
    Member::stat("HtmlDecode", &[P::Str], P::Str, wu_html_decode),
];
mfn!(uri_escape_data, |m, a| Ok(Value::string(
    apim_dotnet::web::escape_data_string(s_of(&a[0], "stringToEscape")?)
)));
mfn!(uri_unescape_data, |m, a| Ok(Value::string(
    apim_dotnet::web::unescape_data_string(s_of(&a[0], "stringToUnescape")?)
)));
/// An absolute `System.Uri`, parsed into its parts (canonical: scheme and host lower case,
/// default port dropped, dot segments removed, `\` read as `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetUri {
    scheme: String,
    user_info: String,
    host: String,
    port: Option<i32>,
    path: String,
    query: String,
    fragment: String,
}

fn default_port(scheme: &str) -> i32 {
    match scheme {
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        "ftp" => 21,
        _ => -1,
    }
}

impl NetUri {
    pub fn parse(s: &str) -> Option<NetUri> {
        let s = s.trim();
        let colon = s.find(':')?;
        let scheme = &s[..colon];
        let mut chars = scheme.chars();
        if !chars.next()?.is_ascii_alphabetic()
            || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return None;
        }
        let rest = s[colon + 1..].replace('\\', "/");
        let rest = rest.strip_prefix("//")?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (user_info, host_port) = match authority.rfind('@') {
            Some(i) => (&authority[..i], &authority[i + 1..]),
            None => ("", authority),
        };
        let (host, port) = match host_port.rfind(':') {
            Some(i) if !host_port[i + 1..].contains(']') => {
                let p = &host_port[i + 1..];
                if p.is_empty() {
                    (&host_port[..i], None)
                } else {
                    let n: i32 = p.parse().ok().filter(|n| (0..=65535).contains(n))?;
                    (&host_port[..i], Some(n))
                }
            }
            _ => (host_port, None),
        };
        if host.is_empty() || host.contains([' ', '<', '>', '"', '{', '}', '|', '^', '`']) {
            return None;
        }
        let (before_frag, fragment) = match tail.find('#') {
            Some(i) => (&tail[..i], &tail[i..]),
            None => (tail, ""),
        };
        let (path, query) = match before_frag.find('?') {
            Some(i) => (&before_frag[..i], &before_frag[i..]),
            None => (before_frag, ""),
        };
        let scheme = scheme.to_ascii_lowercase();
        let port = port.filter(|p| *p != default_port(&scheme));
        Some(NetUri {
            scheme,
            user_info: user_info.to_string(),
            host: host.to_lowercase(),
            port,
            path: apim_dotnet::web::remove_dot_segments(&unescape_unreserved(if path.is_empty() {
                "/"
            } else {
                path
            })),
            query: unescape_unreserved(query),
            fragment: unescape_unreserved(fragment),
        })
    }

    /// `new Uri(baseUri, relativeUri)`: RFC 3986 reference resolution.
    pub fn resolve(&self, rel: &str) -> Option<NetUri> {
        if let Some(u) = NetUri::parse(rel) {
            return Some(u);
        }
        let rel = rel.replace('\\', "/");
        let left = self.left_part(1);
        let text = if rel.starts_with("//") {
            format!("{}:{rel}", self.scheme)
        } else if rel.starts_with('/') {
            format!("{left}{rel}")
        } else if rel.starts_with('?') {
            format!("{left}{}{rel}", self.path)
        } else if rel.starts_with('#') {
            format!("{left}{}{}{rel}", self.path, self.query)
        } else if rel.is_empty() {
            format!("{left}{}{}", self.path, self.query)
        } else {
            let dir = &self.path[..self.path.rfind('/').map_or(0, |i| i + 1)];
            format!("{left}{dir}{rel}")
        };
        NetUri::parse(&text)
    }

    pub fn port(&self) -> i32 {
        self.port.unwrap_or_else(|| default_port(&self.scheme))
    }
    fn authority(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }
    /// `GetLeftPart(UriPartial)`: 0 scheme, 1 authority, 2 path, 3 query.
    pub fn left_part(&self, part: i64) -> String {
        let mut out = format!("{}://", self.scheme);
        if part >= 1 {
            if !self.user_info.is_empty() {
                out.push_str(&escape_uri(&self.user_info));
                out.push('@');
            }
            out.push_str(&self.authority());
        }
        if part >= 2 {
            out.push_str(&escape_uri(&self.path));
        }
        if part >= 3 {
            out.push_str(&escape_uri(&self.query));
        }
        out
    }
    pub fn absolute_uri(&self) -> String {
        format!("{}{}", self.left_part(3), escape_uri(&self.fragment))
    }
    /// `ToString()`: the canonical form, not escaped.
    pub fn canonical(&self) -> String {
        let mut out = format!("{}://", self.scheme);
        if !self.user_info.is_empty() {
            out.push_str(&self.user_info);
            out.push('@');
        }
        out.push_str(&self.authority());
        out.push_str(&self.path);
        out.push_str(&self.query);
        out.push_str(&self.fragment);
        out
    }
    fn segments(&self) -> Vec<String> {
        let p = escape_uri(&self.path);
        let mut out = Vec::new();
        let mut cur = String::new();
        for c in p.chars() {
            cur.push(c);
            if c == '/' {
                out.push(std::mem::take(&mut cur));
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }
}

/// `%XX` of an unreserved character becomes the character (as `System.Uri` canonicalises).
fn unescape_unreserved(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                if v.is_ascii_alphanumeric() || matches!(v, b'-' | b'.' | b'_' | b'~') {
                    out.push(v as char);
                    i += 3;
                    continue;
                }
            }
        }
        let c = s[i..].chars().next().unwrap_or('\0');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Escapes what may not appear in a URI (space, `"<>\^`{|}`, controls, non-ASCII as UTF-8);
/// keeps reserved characters and existing `%XX` escapes.
fn escape_uri(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let keep = c.is_ascii_alphanumeric()
            || matches!(
                c,
                '-' | '.'
                    | '_'
                    | '~'
                    | ':'
                    | '/'
                    | '?'
                    | '#'
                    | '['
                    | ']'
                    | '@'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | '%'
            );
        if keep {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

fn uri_value(u: NetUri) -> Value {
    Value::Obj(Arc::new(Obj::Uri(u.canonical())))
}
fn invalid_uri() -> Fault {
    exc(
        Exc::UriFormatException,
        "Invalid URI: The format of the URI could not be determined.",
    )
}
mfn!(uri_new, |m, a| {
    let s = s_of(&a[1], "uriString")?;
    Ok(uri_value(NetUri::parse(s).ok_or_else(invalid_uri)?))
});
// `IUrl.ToUri()`: the URL text as a `System.Uri`.
pub(crate) fn uri_from_string(_m: &mut Machine<'_>, a: &mut [Value]) -> R<Value> {
    let s = s_of(&a[0], "uriString")?;
    Ok(uri_value(NetUri::parse(s).ok_or_else(invalid_uri)?))
}
mfn!(uri_new_relative, |m, a| {
    let base = uri_of(&a[1])?;
    let rel = s_of(&a[2], "relativeUri")?;
    Ok(uri_value(base.resolve(rel).ok_or_else(invalid_uri)?))
});
// `TryCreate(string, UriKind, out Uri)`; relative `Uri` objects are not modelled.
mfn!(uri_try_create, |m, a| {
    let parsed = match &a[0] {
        Value::Str(s) => NetUri::parse(s),
        _ => None,
    };
    let kind = match &a[1] {
        Value::Enum(_, k) => *k,
        _ => 1,
    };
    match parsed {
        Some(u) if kind != 2 => {
            a[2] = uri_value(u);
            Ok(Value::Bool(true))
        }
        None if kind == 1 => {
            a[2] = Value::Null;
            Ok(Value::Bool(false))
        }
        _ => Err(exc(
            Exc::NotSupportedException,
            "relative System.Uri values are not supported by apim-emu",
        )),
    }
});
mfn!(uri_is_well_formed, |m, a| {
    let Value::Str(s) = &a[0] else {
        return Ok(Value::Bool(false));
    };
    let kind = match &a[1] {
        Value::Enum(_, k) => *k,
        _ => 0,
    };
    let clean = escape_uri(s) == **s;
    let absolute = NetUri::parse(s).is_some();
    Ok(Value::Bool(
        clean
            && match kind {
                1 => absolute,
                2 => !absolute && !s.contains(':'),
                _ => true,
            },
    ))
});
mfn!(uri_escape_uri_string, |m, a| Ok(Value::string(escape_uri(
    s_of(&a[0], "stringToEscape")?
))));
fn uri_of(v: &Value) -> R<NetUri> {
    match obj(v)? {
        Obj::Uri(u) => NetUri::parse(u).ok_or_else(invalid_uri),
        _ => Err(exc(Exc::InvalidCastException, "expected Uri")),
    }
}
mfn!(uri_host, |m, a| Ok(Value::string(uri_of(&a[0])?.host)));
mfn!(uri_scheme, |m, a| Ok(Value::string(uri_of(&a[0])?.scheme)));
mfn!(uri_path, |m, a| Ok(Value::string(escape_uri(
    &uri_of(&a[0])?.path
))));
mfn!(uri_query, |m, a| Ok(Value::string(escape_uri(
    &uri_of(&a[0])?.query
))));
mfn!(uri_fragment, |m, a| Ok(Value::string(escape_uri(
    &uri_of(&a[0])?.fragment
))));
mfn!(uri_path_and_query, |m, a| {
    let u = uri_of(&a[0])?;
    Ok(Value::string(format!(
        "{}{}",
        escape_uri(&u.path),
        escape_uri(&u.query)
    )))
});
mfn!(uri_absolute, |m, a| Ok(Value::string(
    uri_of(&a[0])?.absolute_uri()
)));
mfn!(uri_port, |m, a| Ok(Value::I32(uri_of(&a[0])?.port())));
mfn!(uri_is_default_port, |m, a| Ok(Value::Bool(
    uri_of(&a[0])?.port.is_none()
)));
mfn!(uri_authority, |m, a| Ok(Value::string(
    uri_of(&a[0])?.authority()
)));
mfn!(uri_user_info, |m, a| Ok(Value::string(
    uri_of(&a[0])?.user_info
)));
mfn!(uri_segments, |m, a| Ok(crate::lib_core::str_array(
    uri_of(&a[0])?.segments()
)));
mfn!(uri_left_part, |m, a| {
    let part = match &a[1] {
        Value::Enum(_, k) => *k,
        _ => 0,
    };
    Ok(Value::string(uri_of(&a[0])?.left_part(part)))
});
mfn!(uri_original_string, |m, a| Ok(Value::string(
    uri_of(&a[0])?.canonical()
)));
static URI: &[Member] = &[
    Member::ctor(&[P::Str], uri_new),
    Member::ctor(&[P::C(Cls::Uri), P::Str], uri_new_relative),
    Member::stat("EscapeDataString", &[P::Str], P::Str, uri_escape_data),
    Member::stat("UnescapeDataString", &[P::Str], P::Str, uri_unescape_data),
    Member::stat("EscapeUriString", &[P::Str], P::Str, uri_escape_uri_string),
    Member::stat(
        "TryCreate",
        &[P::Str, P::C(Cls::UriKind), P::C(Cls::Uri)],
        P::Bool,
        uri_try_create,
    )
    .out(2),
    Member::stat(
        "IsWellFormedUriString",
        &[P::Str, P::C(Cls::UriKind)],
        P::Bool,
        uri_is_well_formed,
    ),
    Member::prop("Host", P::Str, uri_host),
    Member::prop("Scheme", P::Str, uri_scheme),
    Member::prop("AbsolutePath", P::Str, uri_path),
    Member::prop("Query", P::Str, uri_query),
    Member::prop("Fragment", P::Str, uri_fragment),
    Member::prop("PathAndQuery", P::Str, uri_path_and_query),
    Member::prop("AbsoluteUri", P::Str, uri_absolute),
    Member::prop("OriginalString", P::Str, uri_original_string),
    Member::prop("Port", P::I32, uri_port),
    Member::prop("IsDefaultPort", P::Bool, uri_is_default_port),
    Member::prop("Authority", P::Str, uri_authority),
    Member::prop("UserInfo", P::Str, uri_user_info),
    Member::prop("Segments", P::Arr(&P::Str), uri_segments),
    Member::method(
        "GetLeftPart",
        &[P::C(Cls::UriPartial)],
        P::Str,
        uri_left_part,
    ),
];

mfn!(bc_to_string, |m, a| {
    let b = bytes_of(&a[0])?;
    Ok(Value::string(
        b.iter()
            .map(|x| format!("{x:02X}"))
            .collect::<Vec<_>>()
            .join("-"),
    ))
});
mfn!(bc_get_bytes_f64, |m, a| Ok(Value::bytes(
    crate::lib_core::f64_of(&a[0]).to_le_bytes().to_vec()
)));
mfn!(bc_get_bytes_bool, |m, a| Ok(Value::bytes(vec![
    matches!(a[0], Value::Bool(true)) as u8
])));
mfn!(bc_is_little_endian, |m, a| Ok(Value::Bool(true)));
mfn!(enc_default, |m, a| Ok(enc_value(Enc::Utf8)));
mfn!(enc_preamble, |m, a| Ok(Value::bytes(
    enc(&a[0])?.preamble()
)));
mfn!(bc_get_bytes_i32, |m, a| Ok(Value::bytes(
    i32_of(&a[0]).to_le_bytes().to_vec()
)));
mfn!(bc_get_bytes_i64, |m, a| Ok(Value::bytes(
    crate::lib_core::i64_of(&a[0]).to_le_bytes().to_vec()
)));
mfn!(bc_to_i32, |m, a| {
    let b = bytes_of(&a[0])?;
    let i = i32_of(&a[1]).max(0) as usize;
    if i + 4 > b.len() {
        return Err(exc(
            Exc::ArgumentException,
            "Destination array is not long enough to copy all the items in the collection. Check array index and length.",
        ));
    }
    Ok(Value::I32(i32::from_le_bytes([
        b[i],
        b[i + 1],
        b[i + 2],
        b[i + 3],
    ])))
});
static BITCONVERTER: &[Member] = &[
    Member::stat("ToString", &[P::Arr(&P::U8)], P::Str, bc_to_string),
    Member::stat("GetBytes", &[P::I32], P::Arr(&P::U8), bc_get_bytes_i32),
    Member::stat("GetBytes", &[P::I64], P::Arr(&P::U8), bc_get_bytes_i64),
    Member::stat("GetBytes", &[P::F64], P::Arr(&P::U8), bc_get_bytes_f64),
    Member::stat("GetBytes", &[P::Bool], P::Arr(&P::U8), bc_get_bytes_bool),
    Member::sprop("IsLittleEndian", P::Bool, bc_is_little_endian),
    Member::stat("ToInt32", &[P::Arr(&P::U8), P::I32], P::I32, bc_to_i32),
];

mfn!(sc_ordinal, |m, a| Ok(Value::Obj(Arc::new(
    Obj::StringComparer(4)
))));
mfn!(sc_ordinal_ic, |m, a| Ok(Value::Obj(Arc::new(
    Obj::StringComparer(5)
))));
static STRINGCOMPARER: &[Member] = &[
    Member::sprop("Ordinal", P::C(Cls::StringComparer), sc_ordinal),
    Member::sprop(
        "OrdinalIgnoreCase",
        P::C(Cls::StringComparer),
        sc_ordinal_ic,
    ),
    Member::sprop(
        "InvariantCultureIgnoreCase",
        P::C(Cls::StringComparer),
        sc_ordinal_ic,
    ),
    Member::sprop("InvariantCulture", P::C(Cls::StringComparer), sc_ordinal),
];

// ------------------------------------------------------------------ Jwt / Basic
/// A parsed JWT (no signature validation, as APIM's `AsJwt`).
pub struct JwtData {
    pub header: apim_dotnet::JToken,
    pub payload: apim_dotnet::JToken,
}

fn b64url(s: &str) -> Option<Vec<u8>> {
    let mut t: String = s.replace('-', "+").replace('_', "/");
    while t.len() % 4 != 0 {
        t.push('=');
    }
    apim_dotnet::convert::from_base64_string(&t).ok()
}

pub fn as_jwt(s: &str) -> R<Value> {
    let token = s.trim();
    let token = token
        .strip_prefix("Bearer ")
        .or_else(|| token.strip_prefix("bearer "))
        .unwrap_or(token)
        .trim();
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Ok(Value::Null);
    }
    let (Some(h), Some(p)) = (b64url(parts[0]), b64url(parts[1])) else {
        return Ok(Value::Null);
    };
    let (Ok(hs), Ok(ps)) = (String::from_utf8(h), String::from_utf8(p)) else {
        return Ok(Value::Null);
    };
    let (Ok(header), Ok(payload)) = (
        apim_dotnet::JToken::parse(&hs),
        apim_dotnet::JToken::parse(&ps),
    ) else {
        return Ok(Value::Null);
    };
    if !header.is_object() || !payload.is_object() {
        return Ok(Value::Null);
    }
    Ok(Value::Obj(Arc::new(Obj::Jwt(Arc::new(JwtData {
        header,
        payload,
    })))))
}

pub fn as_basic(s: &str) -> R<Value> {
    let t = s.trim();
    let Some(rest) = t
        .strip_prefix("Basic ")
        .or_else(|| t.strip_prefix("basic "))
    else {
        return Ok(Value::Null);
    };
    let Ok(bytes) = apim_dotnet::convert::from_base64_string(rest.trim()) else {
        return Ok(Value::Null);
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let Some((u, p)) = text.split_once(':') else {
        return Ok(Value::Null);
    };
    Ok(Value::Obj(Arc::new(Obj::Basic(
        u.to_string(),
        p.to_string(),
    ))))
}

fn jwt(v: &Value) -> R<Arc<JwtData>> {
    match obj(v)? {
        Obj::Jwt(j) => Ok(j.clone()),
        _ => Err(exc(Exc::InvalidCastException, "expected Jwt")),
    }
}
fn claim_strings(t: &apim_dotnet::JToken) -> Vec<String> {
    if t.is_array() {
        t.children().iter().map(|c| c.to_string_default()).collect()
    } else {
        vec![t.to_string_default()]
    }
}
fn jwt_str(j: &apim_dotnet::JToken, name: &str) -> Value {
    match j.get(name).ok().flatten() {
        Some(t) if t.is_value() => Value::string(t.to_string_default()),
        _ => Value::Null,
    }
}
fn jwt_date(j: &apim_dotnet::JToken, name: &str) -> Value {
    match j
        .get(name)
        .ok()
        .flatten()
        .and_then(|t| t.to_string_default().parse::<f64>().ok())
    {
        Some(secs) => match apim_dotnet::DateTime::UNIX_EPOCH.add_seconds(secs.trunc()) {
            Ok(d) => Value::DateTime(d),
            Err(_) => Value::Null,
        },
        None => Value::Null,
    }
}
mfn!(jwt_algorithm, |m, a| Ok(jwt_str(
    &jwt(&a[0])?.header,
    "alg"
)));
mfn!(jwt_type, |m, a| Ok(jwt_str(&jwt(&a[0])?.header, "typ")));
mfn!(jwt_id, |m, a| Ok(jwt_str(&jwt(&a[0])?.payload, "jti")));
mfn!(jwt_issuer, |m, a| Ok(jwt_str(&jwt(&a[0])?.payload, "iss")));
mfn!(jwt_subject, |m, a| Ok(jwt_str(&jwt(&a[0])?.payload, "sub")));
mfn!(jwt_exp, |m, a| Ok(jwt_date(&jwt(&a[0])?.payload, "exp")));
mfn!(jwt_nbf, |m, a| Ok(jwt_date(&jwt(&a[0])?.payload, "nbf")));
mfn!(jwt_iat, |m, a| Ok(jwt_date(&jwt(&a[0])?.payload, "iat")));
mfn!(jwt_audiences, |m, a| {
    let j = jwt(&a[0])?;
    let items = match j.payload.get("aud").ok().flatten() {
        Some(t) => claim_strings(&t),
        None => vec![],
    };
    // Declared IEnumerable<string>; the object behind it is a string[].
    Ok(crate::lib_core::str_array(items))
});
mfn!(jwt_claims, |m, a| {
    let j = jwt(&a[0])?;
    let d = Dict {
        key: Ty::String,
        value: Ty::array(Ty::String),
        entries: parking_lot::RwLock::new(Vec::new()),
        ignore_case: false,
    };
    for p in j.payload.properties().unwrap_or_default() {
        let name = p.name().unwrap_or_default();
        let v = p
            .property_value()
            .map(|t| claim_strings(&t))
            .unwrap_or_default();
        d.entries.write().push((Value::string(name), str_array(v)));
    }
    Ok(Value::Dict(Arc::new(d)))
});
static JWT: &[Member] = &[
    Member::prop("Algorithm", P::Str, jwt_algorithm),
    Member::prop("Type", P::Str, jwt_type),
    Member::prop("Id", P::Str, jwt_id),
    Member::prop("Issuer", P::Str, jwt_issuer),
    Member::prop("Subject", P::Str, jwt_subject),
    Member::prop("ExpirationTime", P::Nul(&P::DT), jwt_exp),
    Member::prop("NotBefore", P::Nul(&P::DT), jwt_nbf),
    Member::prop("IssuedAt", P::Nul(&P::DT), jwt_iat),
    Member::prop("Audiences", P::IEnum(&P::Str), jwt_audiences),
    Member::prop("Claims", P::Dyn(claims_ty), jwt_claims),
];
fn claims_ty(_: &Ty, _: &[Ty]) -> Ty {
    Ty::generic(
        crate::types::Gen::IReadOnlyDictionary,
        vec![Ty::String, Ty::array(Ty::String)],
    )
}
mfn!(basic_user, |m, a| match obj(&a[0])? {
    Obj::Basic(u, _) => Ok(Value::string(u.clone())),
    _ => Ok(Value::Null),
});
mfn!(basic_password, |m, a| match obj(&a[0])? {
    Obj::Basic(_, p) => Ok(Value::string(p.clone())),
    _ => Ok(Value::Null),
});
static BASIC: &[Member] = &[
    Member::prop("UserId", P::Str, basic_user),
    Member::prop("Password", P::Str, basic_password),
];

// ------------------------------------------------------------------ XDocument / XElement
/// An XML element (LINQ to XML): shared and mutable like .NET's, with its namespace.
#[derive(Debug)]
pub struct XNode {
    /// The name as written (`p:a`), used when printing.
    pub name: String,
    pub ns: String,
    pub local: String,
    /// Attributes in order, namespace declarations (`xmlns`, `xmlns:p`) included.
    pub attrs: RwLock<Vec<(String, String)>>,
    pub children: RwLock<Vec<XChild>>,
}

#[derive(Debug, Clone)]
pub enum XChild {
    Element(Arc<XNode>),
    Text(String),
}

#[derive(Clone)]
pub struct XNodeRef {
    pub node: Arc<XNode>,
    pub document: bool,
}

impl XNodeRef {
    pub fn matches_class(&self, c: Cls) -> bool {
        match c {
            Cls::XDocument => self.document,
            Cls::XElement => !self.document,
            _ => false,
        }
    }
    pub fn class_name(&self) -> &'static str {
        if self.document {
            "XDocument"
        } else {
            "XElement"
        }
    }
    pub fn to_string_default(&self) -> String {
        let mut out = String::new();
        write_node(&self.node, &mut out, Some(0));
        out
    }
}

impl XNode {
    fn new(ns: &str, local: &str) -> XNode {
        XNode {
            name: local.to_string(),
            ns: ns.to_string(),
            local: local.to_string(),
            attrs: RwLock::new(Vec::new()),
            children: RwLock::new(Vec::new()),
        }
    }
    fn deep_clone(&self) -> XNode {
        XNode {
            name: self.name.clone(),
            ns: self.ns.clone(),
            local: self.local.clone(),
            attrs: RwLock::new(self.attrs.read().clone()),
            children: RwLock::new(
                self.children
                    .read()
                    .iter()
                    .map(|c| match c {
                        XChild::Element(e) => XChild::Element(Arc::new(e.deep_clone())),
                        t => t.clone(),
                    })
                    .collect(),
            ),
        }
    }
}

/// `XName` from a string: `{namespace}local` or `local`.
fn split_name(s: &str) -> (String, String) {
    if let Some(rest) = s.strip_prefix('{') {
        if let Some(i) = rest.find('}') {
            return (rest[..i].to_string(), rest[i + 1..].to_string());
        }
    }
    (String::new(), s.to_string())
}
fn name_is(n: &XNode, want: &str) -> bool {
    let (ns, local) = split_name(want);
    n.local == local && n.ns == ns
}

/// Writes an element; `indent` is `Some(level)` for `ToString()`, `None` for
/// `SaveOptions.DisableFormatting`.
fn write_node(n: &XNode, out: &mut String, indent: Option<usize>) {
    out.push('<');
    out.push_str(&n.name);
    for (k, v) in n.attrs.read().iter() {
        out.push_str(&format!(" {k}=\"{}\"", escape_attr(v)));
    }
    let children = n.children.read();
    if children.is_empty() {
        out.push_str(" />");
        return;
    }
    out.push('>');
    let only_text = children.iter().all(|c| matches!(c, XChild::Text(_)));
    for c in children.iter() {
        match c {
            XChild::Text(t) => out.push_str(&escape_text(t)),
            XChild::Element(e) => {
                if let (Some(level), false) = (indent, only_text) {
                    out.push_str(apim_dotnet::environment::new_line());
                    out.push_str(&"  ".repeat(level + 1));
                }
                write_node(e, out, indent.map(|l| l + 1));
            }
        }
    }
    if let (Some(level), false) = (indent, only_text) {
        out.push_str(apim_dotnet::environment::new_line());
        out.push_str(&"  ".repeat(level));
    }
    out.push_str(&format!("</{}>", n.name));
}
fn escape_text(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
fn escape_attr(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn convert_xml(n: roxmltree::Node<'_, '_>, parent_ns: &[(String, String)]) -> XNode {
    let tag = n.tag_name();
    let ns = tag.namespace().unwrap_or("").to_string();
    let local = tag.name().to_string();
    let prefix = n
        .lookup_prefix(&ns)
        .filter(|p| !p.is_empty() && !ns.is_empty());
    let name = match prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.clone(),
    };
    let in_scope: Vec<(String, String)> = n
        .namespaces()
        .map(|d| (d.name().unwrap_or("").to_string(), d.uri().to_string()))
        .filter(|(p, _)| p != "xml")
        .collect();
    let mut attrs: Vec<(String, String)> = in_scope
        .iter()
        .filter(|d| !parent_ns.contains(d))
        .map(|(p, u)| {
            let k = if p.is_empty() {
                "xmlns".to_string()
            } else {
                format!("xmlns:{p}")
            };
            (k, u.clone())
        })
        .collect();
    for a in n.attributes() {
        let k = match a.namespace().and_then(|u| n.lookup_prefix(u)) {
            Some(p) if !p.is_empty() => format!("{p}:{}", a.name()),
            _ => a.name().to_string(),
        };
        attrs.push((k, a.value().to_string()));
    }
    let mut children = Vec::new();
    for c in n.children() {
        if c.is_element() {
            children.push(XChild::Element(Arc::new(convert_xml(c, &in_scope))));
        } else if c.is_text() {
            if let Some(t) = c.text() {
                if !t.trim().is_empty() {
                    children.push(XChild::Text(t.to_string()));
                }
            }
        }
    }
    XNode {
        name,
        ns,
        local,
        attrs: RwLock::new(attrs),
        children: RwLock::new(children),
    }
}

fn xml_value(n: &XNode) -> String {
    let mut s = String::new();
    for c in n.children.read().iter() {
        match c {
            XChild::Text(t) => s.push_str(t),
            XChild::Element(e) => s.push_str(&xml_value(e)),
        }
    }
    s
}

fn xnode(v: &Value) -> R<XNodeRef> {
    match obj(v)? {
        Obj::Xml(x) => Ok(x.clone()),
        _ => Err(exc(Exc::InvalidCastException, "expected XElement")),
    }
}
fn xval(node: Arc<XNode>, document: bool) -> Value {
    Value::Obj(Arc::new(Obj::Xml(XNodeRef { node, document })))
}
pub fn parse_xml(text: &str, document: bool) -> R<Value> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, opts)
        .map_err(|e| exc(Exc::XmlException, e.to_string()))?;
    Ok(xval(
        Arc::new(convert_xml(doc.root_element(), &[])),
        document,
    ))
}
/// Adds constructor / `Add` content to an element: elements (copied when they already belong
/// to a tree, as .NET does; here always, since trees are shared), attributes, text, sequences.
fn add_content(m: &mut Machine<'_>, node: &XNode, v: &Value) -> R<()> {
    match v {
        Value::Null => {}
        Value::Obj(o) => match &**o {
            Obj::Xml(x) => {
                let e = Arc::new(x.node.deep_clone());
                node.children.write().push(XChild::Element(e));
            }
            Obj::XAttr(k, val) => node.attrs.write().push((k.clone(), val.clone())),
            _ => push_text(node, crate::render::net_string(v)),
        },
        Value::Array(_) | Value::List(_) => {
            for item in crate::lib_core::enumerate(m, v)? {
                add_content(m, node, &item)?;
            }
        }
        other => push_text(node, xml_text(other)),
    }
    Ok(())
}
/// Text of a value as LINQ to XML writes it (XmlConvert: `true`, ISO dates).
fn xml_text(v: &Value) -> String {
    match v {
        Value::Bool(b) => if *b { "true" } else { "false" }.to_string(),
        Value::DateTime(d) => crate::lib_core::format_datetime_o(*d),
        other => crate::render::net_string(other),
    }
}
fn push_text(node: &XNode, t: String) {
    let mut c = node.children.write();
    if let Some(XChild::Text(last)) = c.last_mut() {
        last.push_str(&t);
    } else {
        c.push(XChild::Text(t));
    }
}
mfn!(xelem_new, |m, a| {
    let (ns, local) = xname_of(&a[1])?;
    let node = XNode::new(&ns, &local);
    for v in &a[2..] {
        add_content(m, &node, v)?;
    }
    Ok(xval(Arc::new(node), false))
});
mfn!(xdoc_new, |m, a| {
    for v in &a[1..] {
        let items = match v {
            Value::Array(_) | Value::List(_) => crate::lib_core::enumerate(m, v)?,
            other => vec![other.clone()],
        };
        for item in items {
            if let Ok(x) = xnode(&item) {
                return Ok(xval(Arc::new(x.node.deep_clone()), true));
            }
        }
    }
    Err(exc(
        Exc::NotSupportedException,
        "an XDocument without a root element is not supported by apim-emu",
    ))
});
mfn!(xattr_new, |m, a| {
    let (ns, local) = xname_of(&a[1])?;
    if a[2].is_null() {
        return Err(crate::lib_core::arg_null("value"));
    }
    let name = if ns.is_empty() {
        local
    } else {
        format!("{{{ns}}}{local}")
    };
    Ok(attr_value(&name, &xml_text(&a[2])))
});
mfn!(xelem_add, |m, a| {
    let x = xnode(&a[0])?;
    for v in &a[1..] {
        add_content(m, &x.node, v)?;
    }
    Ok(Value::Null)
});
mfn!(xelem_set_attribute_value, |m, a| {
    let x = xnode(&a[0])?;
    let (_, local) = xname_of(&a[1])?;
    let mut attrs = x.node.attrs.write();
    let pos = attrs.iter().position(|(k, _)| *k == local);
    match (&a[2], pos) {
        (Value::Null, Some(i)) => {
            attrs.remove(i);
        }
        (Value::Null, None) => {}
        (v, Some(i)) => attrs[i].1 = xml_text(v),
        (v, None) => attrs.push((local, xml_text(v))),
    }
    Ok(Value::Null)
});
fn xname_of(v: &Value) -> R<(String, String)> {
    match v {
        Value::Str(s) => Ok(split_name(s)),
        Value::Obj(o) => match &**o {
            Obj::XName(ns, local) => Ok((ns.clone(), local.clone())),
            _ => Err(exc(Exc::InvalidCastException, "expected XName")),
        },
        Value::Null => Err(crate::lib_core::arg_null("name")),
        _ => Err(exc(Exc::InvalidCastException, "expected XName")),
    }
}
mfn!(xdoc_parse, |m, a| parse_xml(s_of(&a[0], "text")?, true));
mfn!(xelem_parse, |m, a| parse_xml(s_of(&a[0], "text")?, false));
mfn!(xdoc_root, |m, a| {
    let x = xnode(&a[0])?;
    Ok(xval(x.node.clone(), false))
});
mfn!(xelem_element, |m, a| {
    let x = xnode(&a[0])?;
    let (ns, local) = xname_of(&a[1])?;
    let want = |e: &XNode| e.local == local && e.ns == ns;
    if x.document {
        return Ok(if want(&x.node) {
            xval(x.node.clone(), false)
        } else {
            Value::Null
        });
    }
    for c in x.node.children.read().iter() {
        if let XChild::Element(e) = c {
            if want(e) {
                return Ok(xval(e.clone(), false));
            }
        }
    }
    Ok(Value::Null)
});
mfn!(xelem_elements, |m, a| {
    let x = xnode(&a[0])?;
    let name = if a.len() > 1 {
        Some(s_of(&a[1], "name")?.to_string())
    } else {
        None
    };
    let items: Vec<Value> = x
        .node
        .children
        .read()
        .iter()
        .filter_map(|c| match c {
            XChild::Element(e) if name.as_deref().is_none_or(|n| name_is(e, n)) => {
                Some(xval(e.clone(), false))
            }
            _ => None,
        })
        .collect();
    Ok(Value::List(Seq::new(
        SeqKind::Enumerable,
        Ty::Named(Cls::XElement),
        items,
    )))
});
mfn!(xelem_value, |m, a| Ok(Value::string(xml_value(
    &xnode(&a[0])?.node
))));
// `XElement.Value = text`: the element's content becomes that text.
mfn!(xelem_set_value, |m, a| {
    let x = xnode(&a[0])?;
    let text = match a.last() {
        Some(Value::Null) | None => return Err(crate::lib_core::arg_null("value")),
        Some(v) => crate::render::net_string(v),
    };
    *x.node.children.write() = if text.is_empty() {
        Vec::new()
    } else {
        vec![XChild::Text(text)]
    };
    Ok(Value::Null)
});
/// The text an `XElement` / `XAttribute` converts from (`Value`), or `None` for other values.
pub fn xml_text_of(v: &Value) -> Option<String> {
    match v {
        Value::Obj(o) => match &**o {
            Obj::Xml(x) => Some(xml_value(&x.node)),
            Obj::XAttr(_, val) => Some(val.clone()),
            _ => None,
        },
        _ => None,
    }
}
/// Settable library properties outside Newtonsoft: `XElement.Value`.
pub fn property_setter(t: &Ty, name: &str) -> Option<(NativeFn, (NativeFn, Ty))> {
    match (t, name) {
        (Ty::Named(Cls::XElement), "Value") => Some((
            xelem_set_value as NativeFn,
            (xelem_value as NativeFn, Ty::String),
        )),
        _ => None,
    }
}
mfn!(xelem_name, |m, a| {
    let x = xnode(&a[0])?;
    Ok(Value::Obj(Arc::new(Obj::XName(
        x.node.ns.clone(),
        x.node.local.clone(),
    ))))
});
fn attr_value(n: &str, v: &str) -> Value {
    Value::Obj(Arc::new(Obj::XAttr(n.to_string(), v.to_string())))
}
mfn!(xelem_attribute, |m, a| {
    let x = xnode(&a[0])?;
    let name = s_of(&a[1], "name")?;
    Ok(x.node
        .attrs
        .read()
        .iter()
        .find(|(k, _)| k == name)
        .map(|(k, v)| attr_value(k, v))
        .unwrap_or(Value::Null))
});
mfn!(xelem_attributes, |m, a| {
    let x = xnode(&a[0])?;
    let items = x
        .node
        .attrs
        .read()
        .iter()
        .map(|(k, v)| attr_value(k, v))
        .collect();
    Ok(Value::List(Seq::new(
        SeqKind::Enumerable,
        Ty::Named(Cls::XAttribute),
        items,
    )))
});
fn descendants(n: &Arc<XNode>, name: Option<&str>, out: &mut Vec<Value>) {
    for c in n.children.read().iter() {
        if let XChild::Element(e) = c {
            if name.is_none_or(|x| name_is(e, x)) {
                out.push(xval(e.clone(), false));
            }
            descendants(e, name, out);
        }
    }
}
mfn!(xelem_descendants, |m, a| {
    let x = xnode(&a[0])?;
    let name = if a.len() > 1 {
        Some(s_of(&a[1], "name")?.to_string())
    } else {
        None
    };
    let mut out = Vec::new();
    if x.document && name.as_deref().is_none_or(|n| name_is(&x.node, n)) {
        out.push(xval(x.node.clone(), false));
    }
    descendants(&x.node, name.as_deref(), &mut out);
    Ok(Value::List(Seq::new(
        SeqKind::Enumerable,
        Ty::Named(Cls::XElement),
        out,
    )))
});
mfn!(xelem_has_elements, |m, a| Ok(Value::Bool(
    xnode(&a[0])?
        .node
        .children
        .read()
        .iter()
        .any(|c| matches!(c, XChild::Element(_)))
)));
mfn!(xelem_has_attributes, |m, a| Ok(Value::Bool(
    !xnode(&a[0])?.node.attrs.read().is_empty()
)));
fn xattr(v: &Value) -> R<(String, String)> {
    match obj(v)? {
        Obj::XAttr(n, val) => Ok((n.clone(), val.clone())),
        _ => Err(exc(Exc::InvalidCastException, "expected XAttribute")),
    }
}
mfn!(xattr_name, |m, a| Ok(Value::string(xattr(&a[0])?.0)));
mfn!(xattr_value, |m, a| Ok(Value::string(xattr(&a[0])?.1)));
static XATTR: &[Member] = &[
    Member::ctor(&[P::Str, P::Obj], xattr_new),
    Member::prop("Name", P::Str, xattr_name),
    Member::prop("Value", P::Str, xattr_value),
];
fn xname(v: &Value) -> R<(String, String)> {
    if let Value::Str(s) = v {
        return Ok(split_name(s));
    }
    match obj(v)? {
        Obj::XName(ns, local) => Ok((ns.clone(), local.clone())),
        _ => Err(exc(Exc::InvalidCastException, "expected XName")),
    }
}
mfn!(xname_local, |m, a| Ok(Value::string(xname(&a[0])?.1)));
mfn!(xname_namespace, |m, a| Ok(Value::string(xname(&a[0])?.0)));
mfn!(xname_to_string, |m, a| {
    let (ns, local) = xname(&a[0])?;
    Ok(Value::string(xname_text(&ns, &local)))
});
/// `XNamespace + "local"`: the XName `{namespace}local`.
pub(crate) fn xnamespace_plus(_m: &mut Machine<'_>, a: &mut [Value]) -> R<Value> {
    let ns = match &a[0] {
        Value::Str(s) => s.to_string(),
        Value::Null => return Err(crate::lib_core::arg_null("ns")),
        _ => return Err(exc(Exc::InvalidCastException, "expected XNamespace")),
    };
    let local = s_of(&a[1], "localName")?.to_string();
    Ok(Value::Obj(Arc::new(Obj::XName(ns, local))))
}
mfn!(xns_name, |m, a| Ok(Value::string(
    s_of(&a[0], "namespace")?.to_string()
)));
static XNAMESPACE: &[Member] = &[Member::prop("NamespaceName", P::Str, xns_name)];
/// Equality of an `XName` with another `XName` or a string (converted as `XName` does);
/// `None` when neither side is an `XName`.
pub fn xname_eq(a: &Value, b: &Value) -> Option<bool> {
    let as_name = |v: &Value| match v {
        Value::Obj(o) => match &**o {
            Obj::XName(ns, local) => Some((ns.clone(), local.clone())),
            _ => None,
        },
        _ => None,
    };
    match (as_name(a), as_name(b)) {
        (Some(x), Some(y)) => Some(x == y),
        (Some(x), None) => match b {
            Value::Str(s) => Some(split_name(s) == x),
            _ => None,
        },
        (None, Some(y)) => match a {
            Value::Str(s) => Some(split_name(s) == y),
            _ => None,
        },
        (None, None) => None,
    }
}
/// `XName.ToString()`: `{namespace}local`, or `local` without a namespace.
pub fn xname_text(ns: &str, local: &str) -> String {
    if ns.is_empty() {
        local.to_string()
    } else {
        format!("{{{ns}}}{local}")
    }
}
static XNAME: &[Member] = &[
    Member::prop("LocalName", P::Str, xname_local),
    Member::prop("NamespaceName", P::Str, xname_namespace),
    Member::method("ToString", &[], P::Str, xname_to_string),
];
mfn!(xelem_to_string, |m, a| Ok(Value::string(
    xnode(&a[0])?.to_string_default()
)));
mfn!(xelem_to_string_opts, |m, a| {
    let x = xnode(&a[0])?;
    let disable = matches!(&a[1], Value::Enum(_, k) if k & 1 == 1);
    let mut out = String::new();
    write_node(&x.node, &mut out, if disable { None } else { Some(0) });
    Ok(Value::string(out))
});
static XDOC: &[Member] = &[
    Member::ctor(&[P::Params(&P::Obj)], xdoc_new),
    Member::stat("Parse", &[P::Str], P::C(Cls::XDocument), xdoc_parse),
    Member::prop("Root", P::XELEMENT, xdoc_root),
];
static XELEM: &[Member] = &[
    Member::ctor(&[P::Str], xelem_new),
    Member::ctor(&[P::Str, P::Params(&P::Obj)], xelem_new),
    Member::stat("Parse", &[P::Str], P::XELEMENT, xelem_parse),
    Member::method("Element", &[P::Str], P::XELEMENT, xelem_element),
    Member::method("Element", &[P::C(Cls::XName)], P::XELEMENT, xelem_element),
    Member::method("Elements", &[], P::XELEMENTS, xelem_elements),
    Member::method("Elements", &[P::Str], P::XELEMENTS, xelem_elements),
    Member::method("Descendants", &[], P::XELEMENTS, xelem_descendants),
    Member::method("Descendants", &[P::Str], P::XELEMENTS, xelem_descendants),
    Member::method(
        "Attribute",
        &[P::Str],
        P::C(Cls::XAttribute),
        xelem_attribute,
    ),
    Member::method(
        "Attributes",
        &[],
        P::IEnum(&P::C(Cls::XAttribute)),
        xelem_attributes,
    ),
    Member::method("Add", &[P::Params(&P::Obj)], P::Void, xelem_add),
    Member::method(
        "SetAttributeValue",
        &[P::Str, P::Obj],
        P::Void,
        xelem_set_attribute_value,
    ),
    Member::prop("HasElements", P::Bool, xelem_has_elements),
    Member::prop("HasAttributes", P::Bool, xelem_has_attributes),
    Member::prop("Value", P::Str, xelem_value),
    Member::prop("Name", P::C(Cls::XName), xelem_name),
    Member::method("ToString", &[], P::Str, xelem_to_string),
    Member::method(
        "ToString",
        &[P::C(Cls::SaveOptions)],
        P::Str,
        xelem_to_string_opts,
    ),
];

#[allow(dead_code)]
fn _unused(_: Fault) {
    let _ = recv_str;
}
