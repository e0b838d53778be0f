//! A `context` built from the eval context file (CONTRACTS §A, docs/eval-context.md): used by
//! `apim-emu eval`, tests and the C# oracle comparison.
use std::sync::Arc;

use apim_dotnet::{DateTime, DateTimeKind, Guid, JToken, TimeSpan};
use parking_lot::Mutex;
use serde_json::Value as J;

use crate::host::{BodyTarget, FixedEnvironment, HostDictionary, HostMember as M, HostObject};
use crate::types::{Cls, Exc, Ty};
use crate::value::{Exception, Seq, SeqKind, Value};

/// An error in the context file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("context file: {0}")]
pub struct ContextError(pub String);

/// A plain object of the context model: a class and its property values.
pub struct JsonObject {
    class: Cls,
    props: Vec<(M, Value)>,
    body: Option<Arc<JsonBody>>,
}

impl HostObject for JsonObject {
    fn class(&self) -> Cls {
        self.class
    }
    fn get(&self, member: M) -> Result<Value, Exception> {
        if member == M::Body {
            return Ok(match &self.body {
                Some(b) => Value::Host(b.clone()),
                None => Value::Null,
            });
        }
        Ok(self
            .props
            .iter()
            .find(|(m, _)| *m == member)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null))
    }
    fn call(&self, member: M, args: &[Value]) -> Result<Value, Exception> {
        match member {
            M::Trace => {
                if let Some(Value::Str(s)) = args.first() {
                    eprintln!("trace: {s}");
                }
                Ok(Value::Null)
            }
            M::UrlToString => Ok(self
                .props
                .iter()
                .find(|(m, _)| *m == M::UrlToString)
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Null)),
            other => Err(Exception::new(
                Exc::NotSupportedException,
                format!("{other:?} is not a method"),
            )),
        }
    }
}

/// A message body; reading it without `preserveContent: true` consumes it.
pub struct JsonBody {
    text: Mutex<Option<String>>,
}

impl HostObject for JsonBody {
    fn class(&self) -> Cls {
        Cls::MessageBody
    }
    fn get(&self, _member: M) -> Result<Value, Exception> {
        Ok(Value::Null)
    }
    fn call(&self, member: M, args: &[Value]) -> Result<Value, Exception> {
        let M::BodyAs(target) = member else {
            return Err(Exception::new(
                Exc::NotSupportedException,
                format!("{member:?} is not a method of IMessageBody"),
            ));
        };
        let preserve = matches!(args.first(), Some(Value::Bool(true)));
        let text = {
            let mut guard = self.text.lock();
            let Some(t) = guard.clone() else {
                return Err(Exception::new(
                    Exc::InvalidOperationException,
                    "The message body has already been read.",
                ));
            };
            if !preserve {
                // the stream is consumed: a later read throws
                *guard = None;
            }
            t
        };
        body_as(&text, target)
    }
}

/// Converts body text as `IMessageBody.As<T>()` does.
pub fn body_as(text: &str, target: BodyTarget) -> Result<Value, Exception> {
    Ok(match target {
        BodyTarget::String => Value::str(text),
        BodyTarget::Bytes => Value::bytes(text.as_bytes().to_vec()),
        BodyTarget::JObject => Value::Json(JToken::parse_object(text)?),
        BodyTarget::JArray => Value::Json(JToken::parse_array(text)?),
        BodyTarget::JToken => Value::Json(JToken::parse(text)?),
        BodyTarget::XDocument => crate::lib_misc::parse_xml(text, true).map_err(fault_exc)?,
        BodyTarget::XElement => crate::lib_misc::parse_xml(text, false).map_err(fault_exc)?,
        BodyTarget::FormUrlEncoded => form_url_encoded(text),
    })
}

/// `name=value&...` pairs, names and values URL-decoded, names case-insensitive, every value
/// of a repeated name kept in order.
fn form_url_encoded(text: &str) -> Value {
    let mut entries: Vec<(Value, Value)> = Vec::new();
    let mut lists: Vec<(String, Vec<Value>)> = Vec::new();
    for part in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let k = apim_dotnet::web::url_decode(k);
        let v = if part.contains('=') {
            apim_dotnet::web::url_decode(v)
        } else {
            String::new()
        };
        match lists.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&k)) {
            Some((_, l)) => l.push(Value::string(v)),
            None => lists.push((k, vec![Value::string(v)])),
        }
    }
    for (k, l) in lists {
        entries.push((
            Value::string(k),
            Value::List(crate::value::Seq::new(
                crate::value::SeqKind::List,
                Ty::String,
                l,
            )),
        ));
    }
    Value::Dict(Arc::new(crate::value::Dict {
        key: Ty::String,
        value: Ty::generic(crate::types::Gen::IList, vec![Ty::String]),
        entries: parking_lot::RwLock::new(entries),
        ignore_case: true,
    }))
}

fn fault_exc(f: crate::code::Fault) -> Exception {
    match f {
        crate::code::Fault::Throw(e) => e,
        crate::code::Fault::Budget(_) => Exception::new(Exc::Exception, "budget"),
    }
}

/// A dictionary of the context (headers, query, variables...).
pub struct JsonDict {
    entries: Vec<(Arc<str>, Value)>,
    ignore_case: bool,
}

impl HostDictionary for JsonDict {
    fn get(&self, key: &str) -> Option<Value> {
        self.entries
            .iter()
            .find(|(k, _)| {
                if self.ignore_case {
                    k.eq_ignore_ascii_case(key)
                } else {
                    &**k == key
                }
            })
            .map(|(_, v)| v.clone())
    }
    fn keys(&self) -> Vec<Arc<str>> {
        self.entries.iter().map(|(k, _)| k.clone()).collect()
    }
    fn count(&self) -> usize {
        self.entries.len()
    }
}

/// Builds a host dictionary from entries (for engines and tests).
pub fn dictionary(entries: Vec<(String, Value)>, ignore_case: bool) -> Value {
    Value::HostDict(Arc::new(JsonDict {
        entries: entries
            .into_iter()
            .map(|(k, v)| (Arc::from(k), v))
            .collect(),
        ignore_case,
    }))
}

fn obj(class: Cls, props: Vec<(M, Value)>) -> Value {
    Value::Host(Arc::new(JsonObject {
        class,
        props,
        body: None,
    }))
}

fn err(msg: impl Into<String>) -> ContextError {
    ContextError(msg.into())
}

fn s(j: Option<&J>, default: &str) -> Value {
    match j {
        Some(J::String(x)) => Value::str(x),
        Some(J::Null) => Value::Null,
        Some(other) => Value::string(other.to_string()),
        None => Value::str(default),
    }
}

fn date(j: Option<&J>) -> Result<Value, ContextError> {
    match j {
        Some(J::String(x)) => Ok(Value::DateTime(parse_date(x)?)),
        Some(J::Null) | None => Ok(Value::Null),
        Some(other) => Err(err(format!("expected a date string, got {other}"))),
    }
}

fn parse_date(x: &str) -> Result<DateTime, ContextError> {
    let d = apim_dotnet::datetime_format::parse_date_time(x)
        .map_err(|e| err(format!("bad date '{x}': {}", e.message)))?;
    // ISO text ending in Z is UTC (APIM's clock is UTC)
    Ok(if x.ends_with('Z') {
        apim_dotnet::datetime::DateTime::from_ticks(d.ticks(), DateTimeKind::Utc).unwrap_or(d)
    } else {
        d
    })
}

fn headers(j: Option<&J>) -> Result<Value, ContextError> {
    let mut entries = Vec::new();
    if let Some(J::Object(m)) = j {
        for (k, v) in m {
            let vals: Vec<String> = match v {
                J::String(x) => vec![x.clone()],
                J::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| x.to_string())
                    })
                    .collect(),
                other => vec![other.to_string()],
            };
            entries.push((k.clone(), crate::lib_core::str_array(vals)));
        }
    }
    Ok(dictionary(entries, true))
}

struct ParsedUrl {
    scheme: String,
    host: String,
    port: i32,
    path: String,
    query: Vec<(String, Vec<String>)>,
    query_string: String,
    text: String,
}

fn parse_url(u: &str) -> Result<ParsedUrl, ContextError> {
    let (scheme, rest) = u
        .split_once("://")
        .ok_or_else(|| err(format!("bad url '{u}'")))?;
    let (authority, pq) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h.to_string(),
            p.parse::<i32>()
                .map_err(|_| err(format!("bad port in '{u}'")))?,
        ),
        None => (
            authority.to_string(),
            if scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            },
        ),
    };
    let (path, qs) = match pq.find('?') {
        Some(i) => (&pq[..i], &pq[i + 1..]),
        None => (pq, ""),
    };
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path.to_string()
    };
    let mut query: Vec<(String, Vec<String>)> = Vec::new();
    for part in qs.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let k = apim_dotnet::web::unescape_data_string(k);
        let v = apim_dotnet::web::unescape_data_string(v);
        match query.iter_mut().find(|(x, _)| *x == k) {
            Some((_, vs)) => vs.push(v),
            None => query.push((k, vec![v])),
        }
    }
    let query_string = if qs.is_empty() {
        String::new()
    } else {
        format!("?{qs}")
    };
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    let text = if port == default_port {
        format!(
            "{}://{}{}{}",
            scheme.to_lowercase(),
            host,
            path,
            query_string
        )
    } else {
        format!(
            "{}://{}:{}{}{}",
            scheme.to_lowercase(),
            host,
            port,
            path,
            query_string
        )
    };
    Ok(ParsedUrl {
        scheme: scheme.to_lowercase(),
        host,
        port,
        path,
        query,
        query_string,
        text,
    })
}

fn url_value(u: &str) -> Result<Value, ContextError> {
    let p = parse_url(u)?;
    let q = dictionary(
        p.query
            .into_iter()
            .map(|(k, v)| (k, crate::lib_core::str_array(v)))
            .collect(),
        false,
    );
    Ok(obj(
        Cls::Url,
        vec![
            (M::Scheme, Value::string(p.scheme)),
            (M::Host, Value::string(p.host)),
            (M::Port, Value::I32(p.port)),
            (M::Path, Value::string(p.path)),
            (M::Query, q),
            (M::QueryString, Value::string(p.query_string)),
            (M::UrlToString, Value::string(p.text)),
        ],
    ))
}

fn body(j: Option<&J>) -> Option<Arc<JsonBody>> {
    match j {
        None | Some(J::Null) => None,
        Some(J::String(t)) => Some(Arc::new(JsonBody {
            text: Mutex::new(Some(t.clone())),
        })),
        Some(other) => Some(Arc::new(JsonBody {
            text: Mutex::new(Some(other.to_string())),
        })),
    }
}

/// A variable value from the context file (see docs/eval-context.md for the typing rules).
pub fn variable(j: &J) -> Result<Value, ContextError> {
    Ok(match j {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::String(x) => Value::str(x),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                match i32::try_from(i) {
                    Ok(v) => Value::I32(v),
                    Err(_) => Value::I64(i),
                }
            } else if let Some(u) = n.as_u64() {
                Value::U64(u)
            } else {
                Value::F64(n.as_f64().unwrap_or(0.0))
            }
        }
        J::Object(m) if m.contains_key("$type") => typed(
            m.get("$type").and_then(|t| t.as_str()).unwrap_or(""),
            m.get("value").unwrap_or(&J::Null),
        )?,
        J::Object(_) | J::Array(_) => {
            Value::Json(JToken::parse(&j.to_string()).map_err(|e| err(e.message))?)
        }
    })
}

fn typed(t: &str, v: &J) -> Result<Value, ContextError> {
    let num = || {
        v.as_f64()
            .ok_or_else(|| err(format!("'{t}' needs a number")))
    };
    let int = || {
        v.as_i64()
            .ok_or_else(|| err(format!("'{t}' needs an integer")))
    };
    let text = || {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| err(format!("'{t}' needs a string")))
    };
    let conv = |x: i64, ty: Ty| {
        crate::interp::convert_numeric(&Value::I64(x), &ty, true)
            .map_err(|_| err(format!("{x} does not fit in {t}")))
    };
    Ok(match t {
        "bool" => Value::Bool(v.as_bool().ok_or_else(|| err("'bool' needs true/false"))?),
        "byte" => conv(int()?, Ty::U8)?,
        "sbyte" => conv(int()?, Ty::I8)?,
        "short" => conv(int()?, Ty::I16)?,
        "ushort" => conv(int()?, Ty::U16)?,
        "int" => conv(int()?, Ty::I32)?,
        "uint" => conv(int()?, Ty::U32)?,
        "long" => Value::I64(int()?),
        "ulong" => Value::U64(
            v.as_u64()
                .ok_or_else(|| err("'ulong' needs a non-negative integer"))?,
        ),
        "float" => Value::F32(num()? as f32),
        "double" => Value::F64(num()?),
        "decimal" => Value::Dec(match v {
            J::String(x) => x.parse().map_err(|_| err(format!("bad decimal '{x}'")))?,
            other => other.to_string().parse().map_err(|_| err("bad decimal"))?,
        }),
        "char" => {
            let s = text()?;
            let u: Vec<u16> = s.encode_utf16().collect();
            if u.len() != 1 {
                return Err(err("'char' needs a one-character string"));
            }
            Value::Char(u[0])
        }
        "string" => match v {
            J::Null => Value::Null,
            _ => Value::string(text()?),
        },
        "guid" => Value::Guid(Guid::parse(&text()?).map_err(|e| err(e.message))?),
        "datetime" => Value::DateTime(parse_date(&text()?)?),
        "datetimeoffset" => Value::DateTimeOffset(
            apim_dotnet::datetime_format::parse_date_time_offset(&text()?)
                .map_err(|e| err(e.message))?,
        ),
        "timespan" => Value::TimeSpan(
            apim_dotnet::datetime_format::parse_timespan(&text()?).map_err(|e| err(e.message))?,
        ),
        "jobject" | "jarray" | "jtoken" => {
            let tok = match v {
                J::String(s) if t == "jtoken" => JToken::string(s.clone()),
                other => JToken::parse(&other.to_string()).map_err(|e| err(e.message))?,
            };
            if (t == "jobject" && !tok.is_object()) || (t == "jarray" && !tok.is_array()) {
                return Err(err(format!("value is not a {t}")));
            }
            Value::Json(tok)
        }
        "string[]" | "int[]" | "long[]" | "bool[]" | "double[]" => {
            let J::Array(items) = v else {
                return Err(err(format!("'{t}' needs an array")));
            };
            let elem = t.trim_end_matches("[]");
            let vals = items
                .iter()
                .map(|x| typed(elem, x))
                .collect::<Result<Vec<_>, _>>()?;
            let ety = match elem {
                "string" => Ty::String,
                "int" => Ty::I32,
                "long" => Ty::I64,
                "bool" => Ty::Bool,
                _ => Ty::F64,
            };
            Value::Array(Seq::new(SeqKind::Array, ety, vals))
        }
        "response" => {
            let m = v.as_object().cloned().unwrap_or_default();
            Value::Host(Arc::new(JsonObject {
                class: Cls::Response,
                props: vec![
                    (
                        M::StatusCode,
                        Value::I32(
                            m.get("statusCode").and_then(|v| v.as_i64()).unwrap_or(200) as i32
                        ),
                    ),
                    (M::StatusReason, s(m.get("statusReason"), "OK")),
                    (M::Headers, headers(m.get("headers"))?),
                ],
                body: body(m.get("body")),
            }))
        }
        "jwt" => crate::lib_misc::as_jwt(&text()?).map_err(|_| err("bad jwt"))?,
        "authorization" => {
            let m = v.as_object().cloned().unwrap_or_default();
            let claims: Vec<(String, Value)> = match m.get("claims") {
                Some(J::Object(c)) => c
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), variable(v)?)))
                    .collect::<Result<_, ContextError>>()?,
                _ => vec![],
            };
            obj(
                Cls::Authorization,
                vec![
                    (M::AccessToken, s(m.get("accessToken"), "")),
                    (M::Claims, dictionary(claims, false)),
                ],
            )
        }
        other => return Err(err(format!("unknown $type '{other}'"))),
    })
}

fn section<'a>(root: &'a J, key: &str) -> Option<&'a serde_json::Map<String, J>> {
    root.get(key).and_then(|v| v.as_object())
}

/// The `context` value for a context file.
pub fn context(root: &J) -> Result<Value, ContextError> {
    if !root.is_object() {
        return Err(err("the context file must hold a JSON object"));
    }
    let empty = serde_json::Map::new();
    let req = section(root, "request").unwrap_or(&empty);
    let url = req
        .get("url")
        .and_then(|u| u.as_str())
        .unwrap_or("https://localhost/");
    let original = req
        .get("originalUrl")
        .and_then(|u| u.as_str())
        .unwrap_or(url);
    let matched: Vec<(String, Value)> = match req.get("matchedParameters") {
        Some(J::Object(m)) => m.iter().map(|(k, v)| (k.clone(), s(Some(v), ""))).collect(),
        _ => vec![],
    };
    let request = Value::Host(Arc::new(JsonObject {
        class: Cls::Request,
        props: vec![
            (M::Method, s(req.get("method"), "GET")),
            (M::Url, url_value(url)?),
            (M::OriginalUrl, url_value(original)?),
            (M::Headers, headers(req.get("headers"))?),
            (M::IpAddress, s(req.get("ipAddress"), "127.0.0.1")),
            (M::MatchedParameters, dictionary(matched, true)),
        ],
        body: body(req.get("body")),
    }));
    let res = section(root, "response").unwrap_or(&empty);
    let response = Value::Host(Arc::new(JsonObject {
        class: Cls::Response,
        props: vec![
            (
                M::StatusCode,
                Value::I32(
                    res.get("statusCode")
                        .and_then(|v| v.as_i64())
                        .unwrap_or(200) as i32,
                ),
            ),
            (M::StatusReason, s(res.get("statusReason"), "OK")),
            (M::Headers, headers(res.get("headers"))?),
        ],
        body: body(res.get("body")),
    }));
    let mut vars = Vec::new();
    if let Some(J::Object(m)) = root.get("variables") {
        for (k, v) in m {
            vars.push((k.clone(), variable(v)?));
        }
    }
    let entity = |key: &str, class: Cls, f: &PropsFn| -> Result<Value, ContextError> {
        match root.get(key) {
            Some(J::Object(m)) => Ok(obj(class, f(m)?)),
            _ => Ok(Value::Null),
        }
    };
    let groups =
        |m: &serde_json::Map<String, J>, key: &str, class: Cls, second: (&str, M)| -> Value {
            let items: Vec<Value> = match m.get(key) {
                Some(J::Array(a)) => a
                    .iter()
                    .map(|g| {
                        obj(
                            class,
                            vec![
                                (M::Id, s(g.get("id"), "")),
                                (second.1, s(g.get(second.0), "")),
                            ],
                        )
                    })
                    .collect(),
                _ => vec![],
            };
            Value::List(Seq::new(SeqKind::Enumerable, Ty::Named(class), items))
        };
    let subscription = entity("subscription", Cls::Subscription, &|m| {
        Ok(vec![
            (M::Id, s(m.get("id"), "")),
            (M::Key, s(m.get("key"), "")),
            (M::Name, s(m.get("name"), "")),
            (M::PrimaryKey, s(m.get("primaryKey"), "")),
            (M::SecondaryKey, s(m.get("secondaryKey"), "")),
            (M::CreatedDate, date(m.get("createdDate"))?),
            (M::StartDate, date(m.get("startDate"))?),
            (M::EndDate, date(m.get("endDate"))?),
        ])
    })?;
    let user = entity("user", Cls::User, &|m| {
        Ok(vec![
            (M::Id, s(m.get("id"), "")),
            (M::Email, s(m.get("email"), "")),
            (M::FirstName, s(m.get("firstName"), "")),
            (M::LastName, s(m.get("lastName"), "")),
            (M::Note, s(m.get("note"), "")),
            (M::RegistrationDate, date(m.get("registrationDate"))?),
            (
                M::Groups,
                groups(m, "groups", Cls::Group_, ("name", M::Name)),
            ),
            (
                M::Identities,
                groups(
                    m,
                    "identities",
                    Cls::UserIdentity,
                    ("provider", M::Provider),
                ),
            ),
        ])
    })?;
    let product = entity("product", Cls::Product, &|m| {
        Ok(vec![
            (M::Id, s(m.get("id"), "")),
            (M::Name, s(m.get("name"), "")),
            (
                M::ApprovalRequired,
                Value::Bool(
                    m.get("approvalRequired")
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false),
                ),
            ),
            (
                M::SubscriptionRequired,
                Value::Bool(
                    m.get("subscriptionRequired")
                        .and_then(|v| v.as_bool())
                        .unwrap_or(true),
                ),
            ),
            (
                M::SubscriptionsLimit,
                m.get("subscriptionsLimit")
                    .and_then(|v| v.as_i64())
                    .map(|x| Value::I32(x as i32))
                    .unwrap_or(Value::Null),
            ),
            (
                M::State,
                Value::Enum(
                    Cls::ProductState,
                    if m.get("state").and_then(|v| v.as_str()) == Some("NotPublished") {
                        0
                    } else {
                        1
                    },
                ),
            ),
            (
                M::Groups,
                groups(m, "groups", Cls::Group_, ("name", M::Name)),
            ),
        ])
    })?;
    let api = match root.get("api") {
        Some(J::Object(m)) => {
            let protocols: Vec<Value> = match m.get("protocols") {
                Some(J::Array(a)) => a.iter().map(|p| s(Some(p), "")).collect(),
                _ => vec![Value::str("https")],
            };
            let skp = m.get("subscriptionKeyParameterNames");
            obj(
                Cls::Api,
                vec![
                    (M::Id, s(m.get("id"), "")),
                    (M::Name, s(m.get("name"), "")),
                    (M::Path, s(m.get("path"), "")),
                    (
                        M::Protocols,
                        Value::List(Seq::new(SeqKind::Enumerable, Ty::String, protocols)),
                    ),
                    (
                        M::ServiceUrl,
                        match m.get("serviceUrl").and_then(|v| v.as_str()) {
                            Some(u) => url_value(u)?,
                            None => Value::Null,
                        },
                    ),
                    (M::Revision, s(m.get("revision"), "1")),
                    (M::Version, s(m.get("version"), "")),
                    (
                        M::IsCurrentRevision,
                        Value::Bool(
                            m.get("isCurrentRevision")
                                .and_then(|v| v.as_bool())
                                .unwrap_or(true),
                        ),
                    ),
                    (
                        M::SubscriptionKeyParameterNames,
                        obj(
                            Cls::SubscriptionKeyParameterNames,
                            vec![
                                (
                                    M::Header,
                                    s(
                                        skp.and_then(|x| x.get("header")),
                                        "Ocp-Apim-Subscription-Key",
                                    ),
                                ),
                                (
                                    M::Query,
                                    s(skp.and_then(|x| x.get("query")), "subscription-key"),
                                ),
                            ],
                        ),
                    ),
                ],
            )
        }
        _ => Value::Null,
    };
    let operation = match root.get("operation") {
        Some(J::Object(m)) => obj(
            Cls::Operation,
            vec![
                (M::Id, s(m.get("id"), "")),
                (M::Method, s(m.get("method"), "GET")),
                (M::Name, s(m.get("name"), "")),
                (M::UrlTemplate, s(m.get("urlTemplate"), "/")),
            ],
        ),
        _ => Value::Null,
    };
    let dep = section(root, "deployment").unwrap_or(&empty);
    let gateway_id = s(dep.get("gatewayId"), "managed");
    let deployment = obj(
        Cls::Deployment,
        vec![
            (M::Region, s(dep.get("region"), "West Europe")),
            (M::ServiceName, s(dep.get("serviceName"), "contoso")),
            (M::ServiceId, s(dep.get("serviceId"), "")),
            (M::GatewayId, gateway_id.clone()),
            (
                M::Gateway,
                obj(
                    Cls::Gateway,
                    vec![
                        (M::Id, gateway_id.clone()),
                        (M::InstanceId, gateway_id.clone()),
                        (
                            M::IsManaged,
                            Value::Bool(matches!(&gateway_id, Value::Str(g) if &**g == "managed")),
                        ),
                    ],
                ),
            ),
        ],
    );
    let backend = entity("backend", Cls::Backend, &|m| {
        Ok(vec![
            (M::Id, s(m.get("id"), "")),
            (
                M::Type,
                Value::Enum(
                    Cls::BackendType,
                    if m.get("type").and_then(|v| v.as_str()) == Some("Pool") {
                        1
                    } else {
                        0
                    },
                ),
            ),
            (M::AzureRegion, s(m.get("azureRegion"), "")),
        ])
    })?;
    let workspace = entity("workspace", Cls::Workspace, &|m| {
        Ok(vec![
            (M::Id, s(m.get("id"), "")),
            (M::Name, s(m.get("name"), "")),
        ])
    })?;
    let last_error = entity("lastError", Cls::LastError, &|m| {
        Ok([
            "source", "reason", "message", "scope", "section", "path", "policyId",
        ]
        .iter()
        .zip([
            M::Source,
            M::Reason,
            M::Message,
            M::Scope,
            M::Section,
            M::Path,
            M::PolicyId,
        ])
        .map(|(k, mm)| (mm, s(m.get(*k), "")))
        .collect())
    })?;
    let request_id = match root.get("requestId").and_then(|v| v.as_str()) {
        Some(g) => Guid::parse(g).map_err(|e| err(e.message))?,
        None => Guid::parse(DEFAULT_REQUEST_ID).map_err(|e| err(e.message))?,
    };
    let timestamp = timestamp(root)?;
    let elapsed = match root.get("elapsed").and_then(|v| v.as_str()) {
        Some(t) => apim_dotnet::datetime_format::parse_timespan(t).map_err(|e| err(e.message))?,
        None => TimeSpan::from_ticks(0),
    };
    Ok(Value::Host(Arc::new(JsonObject {
        class: Cls::Context,
        props: vec![
            (M::Request, request),
            (M::Response, response),
            (M::Variables, dictionary(vars, false)),
            (M::Subscription, subscription),
            (M::User, user),
            (M::Product, product),
            (M::Api, api),
            (M::Operation, operation),
            (M::Deployment, deployment),
            (M::Backend, backend),
            (M::Workspace, workspace),
            (M::LastError, last_error),
            (M::RequestId, Value::Guid(request_id)),
            (M::Timestamp, Value::DateTime(timestamp)),
            (M::Elapsed, Value::TimeSpan(elapsed)),
            (
                M::Tracing,
                Value::Bool(
                    root.get("tracing")
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false),
                ),
            ),
        ],
        body: None,
    })))
}

type PropsFn<'a> =
    dyn Fn(&serde_json::Map<String, J>) -> Result<Vec<(M, Value)>, ContextError> + 'a;

pub const DEFAULT_REQUEST_ID: &str = "5c7f8f8e-2f4c-4c39-9d55-0d6cde3e9a10";
pub const DEFAULT_TIMESTAMP: &str = "2024-05-01T12:00:00Z";
/// `Guid.NewGuid()` in `eval`.
pub const NEW_GUID: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

fn timestamp(root: &J) -> Result<DateTime, ContextError> {
    parse_date(
        root.get("timestamp")
            .and_then(|v| v.as_str())
            .unwrap_or(DEFAULT_TIMESTAMP),
    )
}

/// The environment for a context file: `UtcNow` is `timestamp + elapsed`, `Guid.NewGuid()` is
/// [`NEW_GUID`], `new Random()` uses seed 0.
pub fn environment(root: &J) -> FixedEnvironment {
    let ts = timestamp(root).unwrap_or(DateTime::UNIX_EPOCH);
    let elapsed = root
        .get("elapsed")
        .and_then(|v| v.as_str())
        .and_then(|t| apim_dotnet::datetime_format::parse_timespan(t).ok())
        .unwrap_or(TimeSpan::from_ticks(0));
    FixedEnvironment {
        now: ts.add(elapsed).unwrap_or(ts).with_kind(DateTimeKind::Utc),
        guid: Guid::parse(NEW_GUID).unwrap_or(Guid::from_bytes([0; 16])),
        seed: 0,
    }
}
