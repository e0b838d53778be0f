//! The Newtonsoft.Json LINQ model: `JToken` and its kinds (JObject, JArray, JProperty,
//! JValue) as shared, mutable nodes with reference semantics and parent links, so that
//! `backends[i]["isThrottling"] = false` mutates the document in place.

mod convert;
mod parse;
mod path;
mod serialize;
mod write;

pub use convert::{
    explicit_convert, extensions_convert, from_clr, to_object, value_from_clr, value_to_clr,
};
pub use parse::{LoadSettings, RootKind, parse_root, parse_token, try_parse_date};
pub use serialize::{
    deserialize_dictionary, deserialize_list, deserialize_object, serialize_object,
    serializer_convert, to_object_dictionary, to_object_list,
};
pub use write::{
    Formatting, NEW_LINE, iso_date_time, iso_date_time_offset, json_string_literal,
    quote_json_string,
};

use crate::datetime::{DateTime, DateTimeOffset, TimeSpan};
use crate::error::{DotNetException, DotNetResult, ExceptionKind};
use crate::guid::Guid;
use num_bigint::BigInt;
use parking_lot::{Mutex, RwLock};
use rust_decimal::Decimal;
use std::sync::{Arc, Weak};

/// `Newtonsoft.Json.Linq.JTokenType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JTokenType {
    None,
    Object,
    Array,
    Constructor,
    Property,
    Comment,
    Integer,
    Float,
    String,
    Boolean,
    Null,
    Undefined,
    Date,
    Raw,
    Bytes,
    Guid,
    Uri,
    TimeSpan,
}

impl JTokenType {
    /// The enum member name (`ToString()`), also used in Newtonsoft's messages.
    pub fn name(self) -> &'static str {
        match self {
            JTokenType::None => "None",
            JTokenType::Object => "Object",
            JTokenType::Array => "Array",
            JTokenType::Constructor => "Constructor",
            JTokenType::Property => "Property",
            JTokenType::Comment => "Comment",
            JTokenType::Integer => "Integer",
            JTokenType::Float => "Float",
            JTokenType::String => "String",
            JTokenType::Boolean => "Boolean",
            JTokenType::Null => "Null",
            JTokenType::Undefined => "Undefined",
            JTokenType::Date => "Date",
            JTokenType::Raw => "Raw",
            JTokenType::Bytes => "Bytes",
            JTokenType::Guid => "Guid",
            JTokenType::Uri => "Uri",
            JTokenType::TimeSpan => "TimeSpan",
        }
    }
    /// The numeric enum value (`(int)JTokenType.String` is 8).
    pub fn value(self) -> i32 {
        self as i32
    }
}

/// The payload of a `JValue`.
#[derive(Debug, Clone)]
pub enum JValue {
    Null,
    Undefined,
    Integer(i64),
    /// Integers beyond `long` (Newtonsoft stores `BigInteger`; `ulong` values above
    /// `long.MaxValue` also land here).
    BigInteger(BigInt),
    Float(f64),
    /// A `decimal` held by a JValue (type Float).
    Decimal(Decimal),
    /// A `float` (`Single`) held by a JValue (type Float).
    Single(f32),
    String(String),
    Boolean(bool),
    Date(DateTime),
    DateOffset(DateTimeOffset),
    Guid(Guid),
    Uri(String),
    TimeSpan(TimeSpan),
    Bytes(Vec<u8>),
    Raw(String),
    Comment(String),
}

impl JValue {
    pub fn token_type(&self) -> JTokenType {
        match self {
            JValue::Null => JTokenType::Null,
            JValue::Undefined => JTokenType::Undefined,
            JValue::Integer(_) | JValue::BigInteger(_) => JTokenType::Integer,
            JValue::Float(_) | JValue::Decimal(_) | JValue::Single(_) => JTokenType::Float,
            JValue::String(_) => JTokenType::String,
            JValue::Boolean(_) => JTokenType::Boolean,
            JValue::Date(_) | JValue::DateOffset(_) => JTokenType::Date,
            JValue::Guid(_) => JTokenType::Guid,
            JValue::Uri(_) => JTokenType::Uri,
            JValue::TimeSpan(_) => JTokenType::TimeSpan,
            JValue::Bytes(_) => JTokenType::Bytes,
            JValue::Raw(_) => JTokenType::Raw,
            JValue::Comment(_) => JTokenType::Comment,
        }
    }

    /// Newtonsoft's `JValue.Equals` / DeepEquals value comparison (`ValuesEquals`).
    pub fn values_equal(&self, other: &JValue) -> bool {
        convert::values_equal(self, other)
    }
}

enum Data {
    Object(Vec<JToken>),
    Array(Vec<JToken>),
    Property { name: String, value: JToken },
    Value(JValue),
}

struct Node {
    parent: Mutex<Weak<Node>>,
    data: RwLock<Data>,
}

impl Drop for Node {
    /// Dismantles the subtree iteratively so that dropping a very deep tree cannot exhaust
    /// the stack.
    fn drop(&mut self) {
        fn take(data: &mut Data, out: &mut Vec<Arc<Node>>) {
            let is_leaf_property = matches!(data, Data::Property { value, .. } if matches!(&*value.0.data.read_recursive(), Data::Value(_)));
            if matches!(data, Data::Value(_)) || is_leaf_property {
                return;
            }
            match std::mem::replace(data, Data::Value(JValue::Null)) {
                Data::Object(v) | Data::Array(v) => out.extend(v.into_iter().map(|t| t.0)),
                Data::Property { value, .. } => out.push(value.0),
                Data::Value(_) => {}
            }
        }
        let mut pending = Vec::new();
        take(self.data.get_mut(), &mut pending);
        while let Some(node) = pending.pop() {
            if let Ok(mut owned) = Arc::try_unwrap(node) {
                take(owned.data.get_mut(), &mut pending);
            }
        }
    }
}

/// A handle on a JSON token. Cloning the handle shares the token (C# reference semantics);
/// use [`JToken::deep_clone`] for a copy.
#[derive(Clone)]
pub struct JToken(Arc<Node>);

impl std::fmt::Debug for JToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JToken({})", self.to_string_formatting(Formatting::None))
    }
}

fn property_exists(name: &str) -> DotNetException {
    DotNetException::argument(format!(
        "Can not add property {name} to Newtonsoft.Json.Linq.JObject. Property with the same name already exists on object."
    ))
}

fn index_out_of_range() -> DotNetException {
    DotNetException::out_of_range(
        "index",
        "Index was out of range. Must be non-negative and less than the size of the collection.",
    )
}

/// A key for the general `JToken this[object key]` indexer.
#[derive(Debug, Clone, PartialEq)]
pub enum JKey<'a> {
    Name(&'a str),
    Index(i64),
    /// Any other key type, by its `ToString()`, for the error message.
    Other(&'a str),
}

impl JToken {
    fn from_data(data: Data) -> JToken {
        JToken(Arc::new(Node {
            parent: Mutex::new(Weak::new()),
            data: RwLock::new(data),
        }))
    }
    /// `new JObject()`.
    pub fn new_object() -> JToken {
        Self::from_data(Data::Object(Vec::new()))
    }
    /// `new JArray()`.
    pub fn new_array() -> JToken {
        Self::from_data(Data::Array(Vec::new()))
    }
    /// `new JValue(...)`.
    pub fn new_value(value: JValue) -> JToken {
        Self::from_data(Data::Value(value))
    }
    /// `JValue.CreateNull()`.
    pub fn null() -> JToken {
        Self::new_value(JValue::Null)
    }
    pub fn string(s: impl Into<String>) -> JToken {
        Self::new_value(JValue::String(s.into()))
    }
    /// `new JProperty(name, value)`; a value that already has a parent is deep-cloned.
    pub fn new_property(name: impl Into<String>, value: JToken) -> JToken {
        let p = Self::from_data(Data::Property {
            name: name.into(),
            value: JToken::null(),
        });
        let value = p.ensure_parent_token(value);
        value.set_parent(Some(&p));
        if let Data::Property { value: v, .. } = &mut *p.0.data.write() {
            *v = value;
        }
        p
    }
    /// `new JArray(items...)`: each item added as by `Add`.
    pub fn array_from(items: impl IntoIterator<Item = JToken>) -> JToken {
        let a = Self::new_array();
        for item in items {
            // Adding to a fresh array cannot fail.
            let _ = a.add(item);
        }
        a
    }
    /// `new JObject(properties...)`.
    pub fn object_from(properties: impl IntoIterator<Item = JToken>) -> DotNetResult<JToken> {
        let o = Self::new_object();
        for p in properties {
            o.add(p)?;
        }
        Ok(o)
    }

    /// Builds a JObject from fresh (parentless) values without the checks of `Add`; names must
    /// be unique. Used by the parser.
    pub(crate) fn object_from_fresh(props: Vec<(String, JToken)>) -> JToken {
        let o = Self::new_object();
        let mut nodes = Vec::with_capacity(props.len());
        for (name, value) in props {
            let p = Self::from_data(Data::Property {
                name,
                value: value.clone(),
            });
            value.set_parent(Some(&p));
            p.set_parent(Some(&o));
            nodes.push(p);
        }
        if let Data::Object(v) = &mut *o.0.data.write() {
            *v = nodes;
        }
        o
    }

    /// Builds a JArray from fresh (parentless) items. Used by the parser.
    pub(crate) fn array_from_fresh(items: Vec<JToken>) -> JToken {
        let a = Self::new_array();
        for item in &items {
            item.set_parent(Some(&a));
        }
        if let Data::Array(v) = &mut *a.0.data.write() {
            *v = items;
        }
        a
    }

    /// True when both handles are the same token (C# `ReferenceEquals`).
    pub fn same_reference(&self, other: &JToken) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    pub fn token_type(&self) -> JTokenType {
        match &*self.0.data.read_recursive() {
            Data::Object(_) => JTokenType::Object,
            Data::Array(_) => JTokenType::Array,
            Data::Property { .. } => JTokenType::Property,
            Data::Value(v) => v.token_type(),
        }
    }
    /// The runtime class name: `JObject`, `JArray`, `JProperty`, `JRaw` or `JValue`.
    pub fn clr_type_name(&self) -> &'static str {
        match &*self.0.data.read_recursive() {
            Data::Object(_) => "JObject",
            Data::Array(_) => "JArray",
            Data::Property { .. } => "JProperty",
            Data::Value(JValue::Raw(_)) => "JRaw",
            Data::Value(_) => "JValue",
        }
    }
    pub fn is_object(&self) -> bool {
        matches!(&*self.0.data.read_recursive(), Data::Object(_))
    }
    pub fn is_array(&self) -> bool {
        matches!(&*self.0.data.read_recursive(), Data::Array(_))
    }
    pub fn is_property(&self) -> bool {
        matches!(&*self.0.data.read_recursive(), Data::Property { .. })
    }
    pub fn is_value(&self) -> bool {
        matches!(&*self.0.data.read_recursive(), Data::Value(_))
    }
    /// A container (JObject, JArray, JProperty).
    pub fn is_container(&self) -> bool {
        !self.is_value()
    }

    /// The JValue payload (a copy), or None for containers.
    pub fn value(&self) -> Option<JValue> {
        match &*self.0.data.read_recursive() {
            Data::Value(v) => Some(v.clone()),
            _ => None,
        }
    }
    /// `JValue.Value = x`: replaces the payload in place.
    pub fn set_value(&self, value: JValue) -> DotNetResult<()> {
        match &mut *self.0.data.write() {
            Data::Value(v) => {
                *v = value;
                Ok(())
            }
            _ => Err(DotNetException::invalid_cast(format!(
                "Unable to cast object of type 'Newtonsoft.Json.Linq.{}' to type 'Newtonsoft.Json.Linq.JValue'.",
                self.clr_type_name()
            ))),
        }
    }

    /// `Parent`.
    pub fn parent(&self) -> Option<JToken> {
        self.0.parent.lock().upgrade().map(JToken)
    }
    fn set_parent(&self, parent: Option<&JToken>) {
        *self.0.parent.lock() = parent.map(|p| Arc::downgrade(&p.0)).unwrap_or_default();
    }
    /// `Root`.
    pub fn root(&self) -> JToken {
        let mut t = self.clone();
        while let Some(p) = t.parent() {
            t = p;
        }
        t
    }

    /// Newtonsoft's `EnsureParentToken`: a token that already has a parent, or that is this
    /// container's root, is added as a deep clone.
    fn ensure_parent_token(&self, item: JToken) -> JToken {
        if item.parent().is_some() || item.same_reference(&self.root()) {
            item.deep_clone()
        } else {
            item
        }
    }

    /// `JProperty.Name`.
    pub fn name(&self) -> DotNetResult<String> {
        match &*self.0.data.read_recursive() {
            Data::Property { name, .. } => Ok(name.clone()),
            _ => Err(self.cast_error("JProperty")),
        }
    }
    /// `JProperty.Value`.
    pub fn property_value(&self) -> DotNetResult<JToken> {
        match &*self.0.data.read_recursive() {
            Data::Property { value, .. } => Ok(value.clone()),
            _ => Err(self.cast_error("JProperty")),
        }
    }
    /// `JProperty.Value = x` (null becomes a JSON null value).
    pub fn set_property_value(&self, value: Option<JToken>) -> DotNetResult<()> {
        if !self.is_property() {
            return Err(self.cast_error("JProperty"));
        }
        let value = value.unwrap_or_else(JToken::null);
        let value = self.ensure_parent_token(value);
        value.set_parent(Some(self));
        let old = match &mut *self.0.data.write() {
            Data::Property { value: v, .. } => std::mem::replace(v, value),
            _ => return Err(self.cast_error("JProperty")),
        };
        old.set_parent(None);
        Ok(())
    }

    /// An `InvalidCastException` as a C# cast of this token to `target` throws.
    pub fn cast_error(&self, target: &str) -> DotNetException {
        DotNetException::invalid_cast(format!(
            "Unable to cast object of type 'Newtonsoft.Json.Linq.{}' to type 'Newtonsoft.Json.Linq.{target}'.",
            self.clr_type_name()
        ))
    }

    /// Children of a container (`Children()`); a property's single child is its value.
    pub fn children(&self) -> Vec<JToken> {
        match &*self.0.data.read_recursive() {
            Data::Object(v) | Data::Array(v) => v.clone(),
            Data::Property { value, .. } => vec![value.clone()],
            Data::Value(_) => Vec::new(),
        }
    }
    /// `Count` of JObject / JArray / JProperty (1).
    pub fn count(&self) -> DotNetResult<i32> {
        match &*self.0.data.read_recursive() {
            Data::Object(v) | Data::Array(v) => Ok(v.len() as i32),
            Data::Property { .. } => Ok(1),
            Data::Value(_) => Err(DotNetException::new(
                ExceptionKind::InvalidCastException,
                "Unable to cast object of type 'Newtonsoft.Json.Linq.JValue' to type 'System.Collections.ICollection'.",
            )),
        }
    }
    /// `HasValues`.
    pub fn has_values(&self) -> bool {
        match &*self.0.data.read_recursive() {
            Data::Object(v) | Data::Array(v) => !v.is_empty(),
            Data::Property { .. } => true,
            Data::Value(_) => false,
        }
    }
    /// `First` (null for values and empty containers).
    pub fn first(&self) -> Option<JToken> {
        self.children().into_iter().next()
    }
    /// `Last`.
    pub fn last(&self) -> Option<JToken> {
        self.children().into_iter().last()
    }
    fn sibling(&self, delta: isize) -> Option<JToken> {
        let parent = self.parent()?;
        let kids = parent.children();
        let i = kids.iter().position(|k| k.same_reference(self))? as isize + delta;
        if i < 0 {
            None
        } else {
            kids.get(i as usize).cloned()
        }
    }
    /// `Next`.
    pub fn next(&self) -> Option<JToken> {
        self.sibling(1)
    }
    /// `Previous`.
    pub fn previous(&self) -> Option<JToken> {
        self.sibling(-1)
    }

    // ----- JObject -----

    /// `JObject.Property(name)` (ordinal, case-sensitive).
    pub fn property(&self, name: &str) -> Option<JToken> {
        match &*self.0.data.read_recursive() {
            Data::Object(props) => props
                .iter()
                .find(|p| matches!(&*p.0.data.read_recursive(), Data::Property { name: n, .. } if n == name))
                .cloned(),
            _ => None,
        }
    }
    /// `JObject.Properties()`.
    pub fn properties(&self) -> DotNetResult<Vec<JToken>> {
        match &*self.0.data.read_recursive() {
            Data::Object(props) => Ok(props.clone()),
            _ => Err(self.cast_error("JObject")),
        }
    }
    /// Property names in order.
    pub fn keys(&self) -> DotNetResult<Vec<String>> {
        self.properties()?.iter().map(|p| p.name()).collect()
    }
    /// `JObject[name]` getter: the property's value, or None when absent.
    pub fn get(&self, name: &str) -> DotNetResult<Option<JToken>> {
        if !self.is_object() {
            return self.get_key(&JKey::Name(name));
        }
        Ok(self.property(name).and_then(|p| p.property_value().ok()))
    }
    /// `JObject.GetValue(name)`: same as the indexer.
    pub fn get_value(&self, name: &str) -> DotNetResult<Option<JToken>> {
        if !self.is_object() {
            return Err(self.cast_error("JObject"));
        }
        self.get(name)
    }
    /// `JObject.GetValue(name, comparison)` with `ignore_case` for the *IgnoreCase
    /// comparisons: an exact match wins, else the first case-insensitive one.
    pub fn get_value_comparison(
        &self,
        name: &str,
        ignore_case: bool,
    ) -> DotNetResult<Option<JToken>> {
        if let Some(v) = self.get_value(name)? {
            return Ok(Some(v));
        }
        if !ignore_case {
            return Ok(None);
        }
        let lower = crate::string::to_upper_invariant(name);
        for p in self.properties()? {
            if crate::string::to_upper_invariant(&p.name()?) == lower {
                return Ok(Some(p.property_value()?));
            }
        }
        Ok(None)
    }
    /// `JObject.TryGetValue(name, out value)`.
    pub fn try_get_value(&self, name: &str) -> DotNetResult<Option<JToken>> {
        self.get_value(name)
    }
    /// `JObject.ContainsKey(name)`.
    pub fn contains_key(&self, name: &str) -> DotNetResult<bool> {
        if !self.is_object() {
            return Err(self.cast_error("JObject"));
        }
        Ok(self.property(name).is_some())
    }
    /// `JObject[name] = value`: replaces the value of an existing property in place, or adds one.
    pub fn set(&self, name: &str, value: Option<JToken>) -> DotNetResult<()> {
        if !self.is_object() {
            return self.set_key(&JKey::Name(name), value);
        }
        if let Some(p) = self.property(name) {
            return p.set_property_value(value);
        }
        self.add(JToken::new_property(
            name,
            value.unwrap_or_else(JToken::null),
        ))
    }
    /// `JObject.Add(name, value)`: ArgumentException when the name exists.
    pub fn add_property(&self, name: &str, value: Option<JToken>) -> DotNetResult<()> {
        self.add(JToken::new_property(
            name,
            value.unwrap_or_else(JToken::null),
        ))
    }
    /// `JObject.Remove(name)`.
    pub fn remove_property(&self, name: &str) -> DotNetResult<bool> {
        if !self.is_object() {
            return Err(self.cast_error("JObject"));
        }
        match self.property(name) {
            Some(p) => {
                self.remove_child(&p);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    // ----- JArray / JContainer -----

    /// `JContainer.Add(item)`: JArray appends (null → JSON null); JObject takes a JProperty
    /// (ArgumentException otherwise or for a duplicate name); JProperty cannot grow.
    pub fn add(&self, item: JToken) -> DotNetResult<()> {
        let kind = self.token_type();
        match kind {
            JTokenType::Array => {
                let item = self.adopt_array_item(item)?;
                if let Data::Array(v) = &mut *self.0.data.write() {
                    v.push(item);
                }
                Ok(())
            }
            JTokenType::Object => {
                if !item.is_property() {
                    return Err(DotNetException::argument(format!(
                        "Can not add {} to Newtonsoft.Json.Linq.JObject.",
                        item.clr_type_name_full()
                    )));
                }
                let name = item.name()?;
                if self.property(&name).is_some() {
                    return Err(property_exists(&name));
                }
                let item = self.ensure_parent_token(item);
                item.set_parent(Some(self));
                if let Data::Object(v) = &mut *self.0.data.write() {
                    v.push(item);
                }
                Ok(())
            }
            JTokenType::Property => Err(DotNetException::argument(
                "Newtonsoft.Json.Linq.JProperty cannot have multiple values.",
            )),
            _ => Err(DotNetException::invalid_cast(format!(
                "Unable to cast object of type '{}' to type 'Newtonsoft.Json.Linq.JContainer'.",
                self.clr_type_name_full()
            ))),
        }
    }
    /// An item entering this JArray: never a JProperty; it becomes (a copy as) a child here.
    fn adopt_array_item(&self, item: JToken) -> DotNetResult<JToken> {
        if item.is_property() {
            return Err(DotNetException::argument(
                "Can not add Newtonsoft.Json.Linq.JProperty to Newtonsoft.Json.Linq.JArray.",
            ));
        }
        let item = self.ensure_parent_token(item);
        item.set_parent(Some(self));
        Ok(item)
    }
    fn clr_type_name_full(&self) -> String {
        format!("Newtonsoft.Json.Linq.{}", self.clr_type_name())
    }
    /// `JArray.Insert(index, item)`.
    pub fn insert(&self, index: i32, item: JToken) -> DotNetResult<()> {
        if !self.is_array() {
            return Err(self.cast_error("JArray"));
        }
        let len = self.count()?;
        if index < 0 || index > len {
            return Err(DotNetException::out_of_range(
                "index",
                "Index is equal to or greater than Count.",
            ));
        }
        let item = self.adopt_array_item(item)?;
        if let Data::Array(v) = &mut *self.0.data.write() {
            v.insert(index as usize, item);
        }
        Ok(())
    }
    /// `JArray[index]` getter: ArgumentOutOfRangeException outside the array.
    pub fn get_index(&self, index: i64) -> DotNetResult<JToken> {
        match &*self.0.data.read_recursive() {
            Data::Array(v) => {
                if index < 0 || index as usize >= v.len() {
                    return Err(index_out_of_range());
                }
                Ok(v[index as usize].clone())
            }
            _ => Err(DotNetException::invalid_operation("")),
        }
        .or_else(|e| {
            if self.is_array() {
                Err(e)
            } else {
                self.get_key(&JKey::Index(index))
                    .map(|t| t.unwrap_or_else(JToken::null))
            }
        })
    }
    /// `JArray[index] = value`.
    pub fn set_index(&self, index: i64, value: Option<JToken>) -> DotNetResult<()> {
        if !self.is_array() {
            return self.set_key(&JKey::Index(index), value);
        }
        let len = self.count()? as i64;
        if index < 0 || index >= len {
            return Err(index_out_of_range());
        }
        let value = value.unwrap_or_else(JToken::null);
        if value.is_property() {
            return Err(DotNetException::argument(
                "Can not add Newtonsoft.Json.Linq.JProperty to Newtonsoft.Json.Linq.JArray.",
            ));
        }
        let value = self.ensure_parent_token(value);
        value.set_parent(Some(self));
        let old = match &mut *self.0.data.write() {
            Data::Array(v) => std::mem::replace(&mut v[index as usize], value),
            _ => return Err(index_out_of_range()),
        };
        old.set_parent(None);
        Ok(())
    }
    /// `JArray.RemoveAt(index)`.
    pub fn remove_at(&self, index: i32) -> DotNetResult<()> {
        if !self.is_array() {
            return Err(self.cast_error("JArray"));
        }
        let len = self.count()?;
        if index < 0 || index >= len {
            return Err(DotNetException::out_of_range(
                "index",
                "Index is equal to or greater than Count.",
            ));
        }
        let old = match &mut *self.0.data.write() {
            Data::Array(v) => v.remove(index as usize),
            _ => return Err(self.cast_error("JArray")),
        };
        old.set_parent(None);
        Ok(())
    }
    /// `JArray.Remove(item)`: by reference.
    pub fn remove_item(&self, item: &JToken) -> DotNetResult<bool> {
        if !self.is_array() {
            return Err(self.cast_error("JArray"));
        }
        Ok(self.remove_child(item))
    }
    /// `JArray.IndexOf(item)`: by reference.
    pub fn index_of(&self, item: &JToken) -> i32 {
        self.children()
            .iter()
            .position(|k| k.same_reference(item))
            .map(|i| i as i32)
            .unwrap_or(-1)
    }
    /// `JContainer.RemoveAll()` / `JArray.Clear()`.
    pub fn remove_all(&self) -> DotNetResult<()> {
        let olds = match &mut *self.0.data.write() {
            Data::Object(v) | Data::Array(v) => std::mem::take(v),
            _ => {
                return Err(DotNetException::invalid_operation(
                    "Cannot remove children of a JValue or JProperty.",
                ));
            }
        };
        for o in olds {
            o.set_parent(None);
        }
        Ok(())
    }

    fn remove_child(&self, child: &JToken) -> bool {
        let removed = match &mut *self.0.data.write() {
            Data::Object(v) | Data::Array(v) => {
                match v.iter().position(|k| k.same_reference(child)) {
                    Some(i) => {
                        v.remove(i);
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        };
        if removed {
            child.set_parent(None);
        }
        removed
    }

    /// `JToken.Remove()`: detaches this token from its parent.
    pub fn remove(&self) -> DotNetResult<()> {
        let parent = self
            .parent()
            .ok_or_else(|| DotNetException::invalid_operation("The parent is missing."))?;
        if parent.is_property() {
            // Newtonsoft: a JProperty cannot lose its value.
            return Err(DotNetException::invalid_operation(
                "Cannot add or remove items from Newtonsoft.Json.Linq.JProperty.",
            ));
        }
        parent.remove_child(self);
        Ok(())
    }

    /// `JToken.Replace(value)`: puts `value` where this token is in its parent.
    pub fn replace(&self, value: JToken) -> DotNetResult<()> {
        let parent = self
            .parent()
            .ok_or_else(|| DotNetException::invalid_operation("The parent is missing."))?;
        match parent.token_type() {
            JTokenType::Property => parent.set_property_value(Some(value)),
            JTokenType::Array => {
                let i = parent.index_of(self);
                parent.set_index(i as i64, Some(value))
            }
            JTokenType::Object => {
                if !value.is_property() {
                    return Err(DotNetException::argument(format!(
                        "Can not add {} to Newtonsoft.Json.Linq.JObject.",
                        value.clr_type_name_full()
                    )));
                }
                let new_name = value.name()?;
                let old_name = self.name()?;
                if new_name != old_name && parent.property(&new_name).is_some() {
                    return Err(property_exists(&new_name));
                }
                let value = parent.ensure_parent_token(value);
                value.set_parent(Some(&parent));
                if let Data::Object(v) = &mut *parent.0.data.write()
                    && let Some(i) = v.iter().position(|k| k.same_reference(self))
                {
                    v[i] = value;
                }
                self.set_parent(None);
                Ok(())
            }
            _ => Err(DotNetException::invalid_operation("The parent is missing.")),
        }
    }

    /// `AddFirst(item)` for arrays and objects.
    pub fn add_first(&self, item: JToken) -> DotNetResult<()> {
        if self.is_array() {
            return self.insert(0, item);
        }
        if self.is_object() {
            self.add(item.clone())?;
            // Move the just-added property to the front.
            if let Data::Object(v) = &mut *self.0.data.write()
                && let Some(last) = v.pop()
            {
                v.insert(0, last);
            }
            return Ok(());
        }
        self.add(item)
    }

    /// The general `this[object key]` indexer.
    pub fn get_key(&self, key: &JKey) -> DotNetResult<Option<JToken>> {
        match (self.token_type(), key) {
            (JTokenType::Object, JKey::Name(n)) => self.get(n),
            (JTokenType::Object, other) => Err(DotNetException::argument(format!(
                "Accessed JObject values with invalid key value: {}. Object property name expected.",
                key_text(other)
            ))),
            (JTokenType::Array, JKey::Index(i)) => self.get_index(*i).map(Some),
            (JTokenType::Array, other) => Err(DotNetException::argument(format!(
                "Accessed JArray values with invalid key value: {}. Int32 array index expected.",
                key_text(other)
            ))),
            _ => Err(DotNetException::invalid_operation(format!(
                "Cannot access child value on {}.",
                self.clr_type_name_full()
            ))),
        }
    }
    /// The general `this[object key] = value` indexer.
    pub fn set_key(&self, key: &JKey, value: Option<JToken>) -> DotNetResult<()> {
        match (self.token_type(), key) {
            (JTokenType::Object, JKey::Name(n)) => self.set(n, value),
            (JTokenType::Object, other) => Err(DotNetException::argument(format!(
                "Set JObject values with invalid key value: {}. Object property name expected.",
                key_text(other)
            ))),
            (JTokenType::Array, JKey::Index(i)) => self.set_index(*i, value),
            (JTokenType::Array, other) => Err(DotNetException::argument(format!(
                "Set JArray values with invalid key value: {}. Int32 array index expected.",
                key_text(other)
            ))),
            _ => Err(DotNetException::invalid_operation(format!(
                "Cannot set child value on {}.",
                self.clr_type_name_full()
            ))),
        }
    }

    /// A copy of this node alone: values copied, containers empty, a property with a
    /// placeholder value (filled in by the caller).
    fn shallow_copy(&self) -> JToken {
        match &*self.0.data.read_recursive() {
            Data::Value(v) => JToken::new_value(v.clone()),
            Data::Array(_) => JToken::new_array(),
            Data::Object(_) => JToken::new_object(),
            Data::Property { name, .. } => JToken::from_data(Data::Property {
                name: name.clone(),
                value: JToken::new_value(JValue::Null),
            }),
        }
    }

    /// `DeepClone()` (iterative, so deep trees cannot exhaust the stack).
    pub fn deep_clone(&self) -> JToken {
        let root = self.shallow_copy();
        let mut stack: Vec<(JToken, JToken)> = vec![(self.clone(), root.clone())];
        while let Some((src, dst)) = stack.pop() {
            let kids: Vec<JToken> = match &*src.0.data.read_recursive() {
                Data::Value(_) => continue,
                Data::Property { value, .. } => vec![value.clone()],
                Data::Array(v) | Data::Object(v) => v.clone(),
            };
            let copies: Vec<JToken> = kids.iter().map(JToken::shallow_copy).collect();
            for c in &copies {
                c.set_parent(Some(&dst));
            }
            match &mut *dst.0.data.write() {
                Data::Property { value, .. } => {
                    if let Some(c) = copies.first() {
                        *value = c.clone();
                    }
                }
                Data::Array(v) | Data::Object(v) => *v = copies.clone(),
                Data::Value(_) => {}
            }
            stack.extend(kids.into_iter().zip(copies));
        }
        root
    }

    /// `JToken.DeepEquals(a, b)` (iterative).
    pub fn deep_equals(&self, other: &JToken) -> bool {
        let mut stack: Vec<(JToken, JToken)> = vec![(self.clone(), other.clone())];
        while let Some((a, b)) = stack.pop() {
            if a.same_reference(&b) {
                continue;
            }
            let da = a.0.data.read_recursive();
            let db = b.0.data.read_recursive();
            match (&*da, &*db) {
                (Data::Value(x), Data::Value(y)) => {
                    if !x.values_equal(y) {
                        return false;
                    }
                }
                (Data::Array(x), Data::Array(y)) => {
                    if x.len() != y.len() {
                        return false;
                    }
                    stack.extend(x.iter().cloned().zip(y.iter().cloned()));
                }
                (
                    Data::Property {
                        name: n1,
                        value: v1,
                    },
                    Data::Property {
                        name: n2,
                        value: v2,
                    },
                ) => {
                    if n1 != n2 {
                        return false;
                    }
                    stack.push((v1.clone(), v2.clone()));
                }
                (Data::Object(x), Data::Object(y)) => {
                    // Newtonsoft compares objects as dictionaries: order does not matter.
                    if x.len() != y.len() {
                        return false;
                    }
                    for p in x {
                        let (name, value) = match &*p.0.data.read_recursive() {
                            Data::Property { name, value } => (name.clone(), value.clone()),
                            _ => return false,
                        };
                        let found = y.iter().find_map(|q| match &*q.0.data.read_recursive() {
                            Data::Property { name: n, value: v } if *n == name => Some(v.clone()),
                            _ => None,
                        });
                        match found {
                            Some(v) => stack.push((value, v)),
                            None => return false,
                        }
                    }
                }
                _ => return false,
            }
        }
        true
    }

    /// `JContainer.Merge(content)` with the default settings (arrays concatenated, null values
    /// ignored): objects merge property by property, recursively.
    pub fn merge(&self, content: &JToken) -> DotNetResult<()> {
        if !self.is_container() || self.is_property() {
            return Err(self.cast_error("JContainer"));
        }
        // Iterative over the pairs of containers still to merge.
        let mut stack: Vec<(JToken, JToken)> = vec![(self.clone(), content.clone())];
        while let Some((dst, src)) = stack.pop() {
            match (dst.token_type(), src.token_type()) {
                (JTokenType::Object, JTokenType::Object) => {
                    for p in src.properties()? {
                        let name = p.name()?;
                        let value = p.property_value()?;
                        match dst.property(&name) {
                            None => dst.add_property(&name, Some(value.deep_clone()))?,
                            Some(existing) => {
                                let current = existing.property_value()?;
                                let both_objects = current.is_object() && value.is_object();
                                let both_arrays = current.is_array() && value.is_array();
                                if both_objects || both_arrays {
                                    stack.push((current, value));
                                } else if value.token_type() != JTokenType::Null {
                                    existing.set_property_value(Some(value.deep_clone()))?;
                                }
                            }
                        }
                    }
                }
                (JTokenType::Array, JTokenType::Array) => {
                    for item in src.children() {
                        dst.add(item.deep_clone())?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// `Descendants()` in document order.
    pub fn descendants(&self) -> Vec<JToken> {
        let mut out = Vec::new();
        let mut stack: Vec<JToken> = self.children().into_iter().rev().collect();
        while let Some(t) = stack.pop() {
            stack.extend(t.children().into_iter().rev());
            out.push(t);
        }
        out
    }

    /// `Path` (e.g. `a.b[0]['x y']`).
    pub fn path(&self) -> String {
        // Newtonsoft: walk self and ancestors; properties give their name, arrays the index
        // of the previous token.
        enum Pos {
            Name(String),
            Index(i32),
        }
        let mut positions: Vec<Pos> = Vec::new();
        let mut previous: Option<JToken> = None;
        let mut current = Some(self.clone());
        while let Some(cur) = current {
            match cur.token_type() {
                JTokenType::Property => {
                    if let Ok(n) = cur.name() {
                        positions.push(Pos::Name(n));
                    }
                }
                JTokenType::Array => {
                    if let Some(prev) = &previous {
                        positions.push(Pos::Index(cur.index_of(prev)));
                    }
                }
                _ => {}
            }
            current = cur.parent();
            previous = Some(cur);
        }
        positions.reverse();
        let mut s = String::new();
        for p in positions {
            match p {
                Pos::Name(n) => {
                    let first = s.is_empty();
                    parse::path_part(&n, first, &mut s);
                }
                Pos::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        s
    }

    /// `ToString()`: indented JSON (a JValue prints its value without quotes).
    pub fn to_string_default(&self) -> String {
        match &*self.0.data.read_recursive() {
            Data::Value(v) => write::value_to_plain_string(v),
            _ => self.to_string_formatting(Formatting::Indented),
        }
    }
    /// `ToString(formatting)`: JSON text (a JValue string keeps its quotes here).
    pub fn to_string_formatting(&self, formatting: Formatting) -> String {
        self.to_string_with_newline(formatting, crate::environment::new_line())
    }
    /// `ToString(formatting)` with an explicit line break for indented output (the Mono
    /// oracle on Linux writes "\n" where the gateway writes "\r\n").
    pub fn to_string_with_newline(&self, formatting: Formatting, new_line: &str) -> String {
        let mut out = String::new();
        write::write_token(self, formatting, new_line, &mut out);
        out
    }
}

fn key_text(k: &JKey) -> String {
    match k {
        JKey::Name(n) => format!("\"{n}\""),
        JKey::Index(i) => i.to_string(),
        JKey::Other(o) => o.to_string(),
    }
}

impl std::fmt::Display for JToken {
    /// `ToString()`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string_default())
    }
}

impl From<JValue> for JToken {
    fn from(v: JValue) -> Self {
        JToken::new_value(v)
    }
}

/// Read access to a token's node for sibling modules.
pub(crate) enum View<'a> {
    Object(&'a [JToken]),
    Array(&'a [JToken]),
    Property(&'a str, &'a JToken),
    Value(&'a JValue),
}

impl JToken {
    pub(crate) fn with_view<R>(&self, f: impl FnOnce(View<'_>) -> R) -> R {
        let d = self.0.data.read_recursive();
        match &*d {
            Data::Object(v) => f(View::Object(v)),
            Data::Array(v) => f(View::Array(v)),
            Data::Property { name, value } => f(View::Property(name, value)),
            Data::Value(v) => f(View::Value(v)),
        }
    }
}

#[cfg(test)]
mod tests;
