//! serde over [`Node`]: derived config types deserialize from the position-keeping tree, and every
//! error is attached to the innermost node it concerns. Unknown fields get a "did you mean".

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::diag::{Diagnostic, ErrorKind};
use super::node::{Mark, Node, Sources, Value};

/// A deserialization error with the position of the node it concerns.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub mark: Option<Mark>,
}

impl Error {
    pub fn into_diagnostic(self, sources: &Sources, fallback: Mark) -> Diagnostic {
        sources.error(self.kind, self.mark.unwrap_or(fallback), self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// `did you mean `x`?` for the closest candidate, if any is close enough.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&word.to_ascii_lowercase(), &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn expected_list(expected: &[&str]) -> String {
    expected
        .iter()
        .map(|e| format!("`{e}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// serde's words for shapes, in the words of YAML users.
fn plain(expected: String) -> String {
    expected
        .replace("a sequence", "a list")
        .replace("struct ", "")
        .replace("a mapping", "\u{0}")
        .replace("a map", "a mapping")
        .replace('\u{0}', "a mapping")
}

fn unexpected(u: de::Unexpected) -> String {
    use de::Unexpected as U;
    match u {
        U::Bool(_) => "a boolean".into(),
        U::Unsigned(_) | U::Signed(_) => "an integer".into(),
        U::Float(_) => "a number".into(),
        U::Str(_) | U::Char(_) => "a string".into(),
        U::Unit | U::Option => "null".into(),
        U::Seq => "a list".into(),
        U::Map => "a mapping".into(),
        other => other.to_string(),
    }
}

impl de::Error for Error {
    fn invalid_type(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        Error {
            kind: ErrorKind::InvalidValue,
            message: format!(
                "expected {}, found {}",
                plain(exp.to_string()),
                unexpected(unexp)
            ),
            mark: None,
        }
    }
    fn invalid_value(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        Error {
            kind: ErrorKind::InvalidValue,
            message: format!(
                "invalid value {}: expected {}",
                unexp,
                plain(exp.to_string())
            ),
            mark: None,
        }
    }
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error {
            kind: ErrorKind::InvalidValue,
            message: msg.to_string(),
            mark: None,
        }
    }
    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let message = match did_you_mean(field, expected.iter().copied()) {
            Some(m) => format!("unknown field `{field}`, did you mean `{m}`?"),
            None if expected.is_empty() => {
                format!("unknown field `{field}`: no fields are allowed here")
            }
            None => format!(
                "unknown field `{field}`; expected one of {}",
                expected_list(expected)
            ),
        };
        Error {
            kind: ErrorKind::UnknownField,
            message,
            mark: None,
        }
    }
    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let message = match did_you_mean(variant, expected.iter().copied()) {
            Some(m) => format!("unknown value `{variant}`, did you mean `{m}`?"),
            None => format!(
                "unknown value `{variant}`; expected one of {}",
                expected_list(expected)
            ),
        };
        Error {
            kind: ErrorKind::InvalidValue,
            message,
            mark: None,
        }
    }
    fn missing_field(field: &'static str) -> Self {
        Error {
            kind: ErrorKind::InvalidValue,
            message: format!("missing field `{field}`"),
            mark: None,
        }
    }
}

fn at<T>(r: Result<T, Error>, mark: Mark) -> Result<T, Error> {
    r.map_err(|mut e| {
        if e.mark.is_none() {
            e.mark = Some(mark);
        }
        e
    })
}

/// Deserializes `T` from a node.
pub fn from_node<'de, T: Deserialize<'de>>(node: &'de Node) -> Result<T, Error> {
    at(T::deserialize(NodeDe(node)), node.mark)
}

const SPANNED: &str = "$apim_emu::Spanned";
const SPANNED_FIELDS: &[&str] = &["$line", "$col", "$file", "$value"];

/// A value with the position it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub mark: Mark,
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Spanned<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut mark = Mark::default();
                let mut value = None;
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "$line" => mark.line = map.next_value()?,
                        "$col" => mark.col = map.next_value()?,
                        "$file" => mark.file.0 = map.next_value()?,
                        _ => value = Some(map.next_value()?),
                    }
                }
                let value = value.ok_or_else(|| de::Error::custom("spanned value missing"))?;
                Ok(Spanned { value, mark })
            }
        }
        d.deserialize_struct(SPANNED, SPANNED_FIELDS, V(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        T::json_schema(g)
    }
}

/// A YAML mapping from ids to entries, in file order, keeping each key's position.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderedMap<T>(pub Vec<(Spanned<String>, T)>);

impl<T> Default for OrderedMap<T> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<T> OrderedMap<T> {
    pub fn iter(&self) -> impl Iterator<Item = &(Spanned<String>, T)> {
        self.0.iter()
    }
    pub fn get(&self, key: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k.value == key).map(|(_, v)| v)
    }
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.value.as_str())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OrderedMap<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OrderedMap<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of names to entries")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(OrderedMap::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    out.push((k, map.next_value()?));
                }
                Ok(OrderedMap(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for OrderedMap<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", T::schema_name()).into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let sub = g.subschema_for::<T>();
        schemars::json_schema!({
            "type": "object",
            "additionalProperties": sub,
        })
    }
}

/// The deserializer over one node.
#[derive(Clone, Copy)]
pub struct NodeDe<'a>(pub &'a Node);

impl<'a> NodeDe<'a> {
    fn scalar_text(&self) -> Option<Cow<'a, str>> {
        let n = self.0;
        match &n.value {
            Value::Str(s) => Some(Cow::Borrowed(s.as_str())),
            Value::Bool(_) | Value::Int(_) | Value::Float(_) => n.raw.as_deref().map(Cow::Borrowed),
            _ => None,
        }
    }
    fn invalid(&self, exp: &dyn de::Expected) -> Error {
        Error {
            kind: ErrorKind::InvalidValue,
            message: format!(
                "expected {}, found {}",
                plain(exp.to_string()),
                self.0.kind_name()
            ),
            mark: Some(self.0.mark),
        }
    }
}

struct Seq<'a> {
    items: std::slice::Iter<'a, Node>,
}

impl<'de> SeqAccess<'de> for Seq<'de> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            None => Ok(None),
            Some(n) => at(seed.deserialize(NodeDe(n)), n.mark).map(Some),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    value: Option<&'a Node>,
}

impl<'de> MapAccess<'de> for Map<'de> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            None => Ok(None),
            Some((k, v)) => {
                self.value = Some(v);
                at(seed.deserialize(NodeDe(k)), k.mark).map(Some)
            }
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(v) => at(seed.deserialize(NodeDe(v)), v.mark),
            None => Err(de::Error::custom("value without a key")),
        }
    }
}

/// Feeds a `Spanned<T>` visitor: position fields, then the value itself.
struct SpanAccess<'a> {
    node: &'a Node,
    step: usize,
}

impl<'de> MapAccess<'de> for SpanAccess<'de> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.step >= SPANNED_FIELDS.len() {
            return Ok(None);
        }
        let key = SPANNED_FIELDS[self.step];
        seed.deserialize(key.into_deserializer()).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let step = self.step;
        self.step += 1;
        let m = self.node.mark;
        match step {
            0 => seed.deserialize(m.line.into_deserializer()),
            1 => seed.deserialize(m.col.into_deserializer()),
            2 => seed.deserialize(m.file.0.into_deserializer()),
            _ => at(seed.deserialize(NodeDe(self.node)), m),
        }
    }
}

struct Enum<'a> {
    variant: &'a Node,
    value: Option<&'a Node>,
}

impl<'de> EnumAccess<'de> for Enum<'de> {
    type Error = Error;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let v = at(seed.deserialize(NodeDe(self.variant)), self.variant.mark)?;
        Ok((v, self))
    }
}

impl<'de> VariantAccess<'de> for Enum<'de> {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        match self.value {
            None => Ok(()),
            Some(n) if n.value == Value::Null => Ok(()),
            Some(n) => Err(Error {
                kind: ErrorKind::InvalidValue,
                message: format!("`{}` takes no value", self.variant.as_str().unwrap_or("?")),
                mark: Some(n.mark),
            }),
        }
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.value {
            Some(n) => at(seed.deserialize(NodeDe(n)), n.mark),
            None => Err(Error {
                kind: ErrorKind::InvalidValue,
                message: format!("`{}` needs a value", self.variant.as_str().unwrap_or("?")),
                mark: Some(self.variant.mark),
            }),
        }
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Some(n) => NodeDe(n).deserialize_seq(visitor),
            None => Err(de::Error::custom("expected a list")),
        }
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Some(n) => NodeDe(n).deserialize_map(visitor),
            None => Err(de::Error::custom("expected a mapping")),
        }
    }
}

macro_rules! int_method {
    ($name:ident, $visit:ident, $t:ty) => {
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.0.value {
                Value::Int(i) => match <$t>::try_from(i) {
                    Ok(v) => at(visitor.$visit(v), self.0.mark),
                    Err(_) => Err(Error {
                        kind: ErrorKind::InvalidValue,
                        message: format!("{i} is out of range for {}", stringify!($t)),
                        mark: Some(self.0.mark),
                    }),
                },
                _ => Err(self.invalid(&visitor)),
            }
        }
    };
}

impl<'de> Deserializer<'de> for NodeDe<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let n = self.0;
        let r = match &n.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_borrowed_str(s),
            Value::Seq(items) => visitor.visit_seq(Seq {
                items: items.iter(),
            }),
            Value::Map(entries) => visitor.visit_map(Map {
                entries: entries.iter(),
                value: None,
            }),
        };
        at(r, n.mark)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.value {
            Value::Bool(b) => at(visitor.visit_bool(b), self.0.mark),
            _ => Err(self.invalid(&visitor)),
        }
    }

    int_method!(deserialize_i8, visit_i8, i8);
    int_method!(deserialize_i16, visit_i16, i16);
    int_method!(deserialize_i32, visit_i32, i32);
    int_method!(deserialize_i64, visit_i64, i64);
    int_method!(deserialize_u8, visit_u8, u8);
    int_method!(deserialize_u16, visit_u16, u16);
    int_method!(deserialize_u32, visit_u32, u32);
    int_method!(deserialize_u64, visit_u64, u64);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.value {
            Value::Float(f) => at(visitor.visit_f64(f), self.0.mark),
            Value::Int(i) => at(visitor.visit_f64(i as f64), self.0.mark),
            _ => Err(self.invalid(&visitor)),
        }
    }
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.scalar_text() {
            Some(Cow::Borrowed(s)) => at(visitor.visit_borrowed_str(s), self.0.mark),
            Some(Cow::Owned(s)) => at(visitor.visit_string(s), self.0.mark),
            None => Err(self.invalid(&visitor)),
        }
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.value {
            Value::Null => at(visitor.visit_none(), self.0.mark),
            _ => at(visitor.visit_some(self), self.0.mark),
        }
    }
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.value {
            Value::Null => at(visitor.visit_unit(), self.0.mark),
            _ => Err(self.invalid(&visitor)),
        }
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        at(visitor.visit_newtype_struct(self), self.0.mark)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.0.value {
            Value::Seq(items) => at(
                visitor.visit_seq(Seq {
                    items: items.iter(),
                }),
                self.0.mark,
            ),
            Value::Null => at(visitor.visit_seq(Seq { items: [].iter() }), self.0.mark),
            _ => Err(self.invalid(&visitor)),
        }
    }
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.0.value {
            Value::Map(entries) => at(
                visitor.visit_map(Map {
                    entries: entries.iter(),
                    value: None,
                }),
                self.0.mark,
            ),
            // `key:` with nothing after it is an empty mapping.
            Value::Null => at(
                visitor.visit_map(Map {
                    entries: [].iter(),
                    value: None,
                }),
                self.0.mark,
            ),
            _ => Err(self.invalid(&visitor)),
        }
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == SPANNED {
            return visitor.visit_map(SpanAccess {
                node: self.0,
                step: 0,
            });
        }
        self.deserialize_map(visitor)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let n = self.0;
        match &n.value {
            Value::Str(_) => at(
                visitor.visit_enum(Enum {
                    variant: n,
                    value: None,
                }),
                n.mark,
            ),
            Value::Map(entries) if entries.len() == 1 => at(
                visitor.visit_enum(Enum {
                    variant: &entries[0].0,
                    value: Some(&entries[0].1),
                }),
                n.mark,
            ),
            _ => Err(Error {
                kind: ErrorKind::InvalidValue,
                message: format!(
                    "expected one of {} (a name, or a mapping with one of them as its only key), found {}",
                    expected_list(variants),
                    match &n.value {
                        Value::Map(e) => format!("a mapping with {} keys", e.len()),
                        _ => n.kind_name().to_string(),
                    }
                ),
                mark: Some(n.mark),
            }),
        }
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::node::{Sources, parse_yaml};
    use std::path::Path;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Api {
        path: String,
        service_url: Option<Spanned<String>>,
        #[serde(default)]
        products: Vec<Spanned<String>>,
        port: Option<u16>,
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    enum Kind {
        AllApis,
        Product(String),
    }

    fn load(text: &str) -> Result<OrderedMap<Api>, Error> {
        let mut s = Sources::default();
        let id = s.add(Path::new("t.yaml"), text.into());
        let node = parse_yaml(&s, id).unwrap();
        // The node is leaked only within the test to satisfy the borrow.
        let node: &'static Node = Box::leak(Box::new(node));
        from_node(node)
    }

    #[test]
    fn spans_and_order_are_kept() {
        let m = load("b:\n  path: x\n  serviceUrl: http://a\n  products: [p1, p2]\na:\n  path: 8080\n  kind: {product: p}\n").unwrap();
        let keys: Vec<_> = m.keys().collect();
        assert_eq!(keys, ["b", "a"]);
        let b = m.get("b").unwrap();
        let url = b.service_url.as_ref().unwrap();
        assert_eq!((url.mark.line, url.mark.col), (3, 15));
        assert_eq!((b.products[1].mark.line, b.products[1].mark.col), (4, 18));
        let a = m.get("a").unwrap();
        assert_eq!(
            a.path, "8080",
            "plain scalars read as text where text is expected"
        );
        assert_eq!(a.kind, Some(Kind::Product("p".into())));
    }

    #[test]
    fn unknown_fields_suggest_the_closest_name() {
        let e = load("a:\n  path: x\n  servceUrl: y\n").unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnknownField);
        assert_eq!(
            e.message,
            "unknown field `servceUrl`, did you mean `serviceUrl`?"
        );
        let m = e.mark.unwrap();
        assert_eq!((m.line, m.col), (3, 3));
    }

    #[test]
    fn type_errors_point_at_the_value() {
        let e = load("a:\n  path: x\n  port: 70000\n").unwrap_err();
        assert_eq!((e.mark.unwrap().line, e.mark.unwrap().col), (3, 9));
        assert!(e.message.contains("out of range"), "{}", e.message);
        let e = load("a:\n  path: [1]\n").unwrap_err();
        assert_eq!(e.message, "expected a string, found a list");
        let e = load("a:\n  serviceUrl: x\n").unwrap_err();
        assert_eq!(e.message, "missing field `path`");
        assert_eq!(e.mark.unwrap().line, 2);
        let e = load("a:\n  path: x\n  products: p\n").unwrap_err();
        assert_eq!(e.message, "expected a list, found a string");
        let e = load("[a]").unwrap_err();
        assert_eq!(
            e.message,
            "expected a mapping of names to entries, found a list"
        );
        let e = load("a:\n  path: x\n  kind: {product: p, allApis: }\n").unwrap_err();
        assert_eq!(
            e.message,
            "expected one of `allApis`, `product` (a name, or a mapping with one of them as its only key), found a mapping with 2 keys"
        );
        let e = load("a:\n  path: x\n  kind: allApi\n").unwrap_err();
        assert_eq!(e.message, "unknown value `allApi`, did you mean `allApis`?");
    }
}
