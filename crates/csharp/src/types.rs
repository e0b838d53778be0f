//! Static types of the checker and their C# names.
use std::sync::Arc;

/// Named non-generic types the expression language knows (APIM's allowed types, the context
/// interfaces, and static classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cls {
    DateTime,
    TimeSpan,
    DateTimeOffset,
    Guid,
    DayOfWeek,
    DateTimeKind,
    JToken,
    JContainer,
    JObject,
    JArray,
    JProperty,
    JValue,
    JTokenType,
    Formatting,
    JsonConvert,
    Random,
    Regex,
    RegexOptions,
    Match,
    Group,
    GroupCollection,
    Capture,
    MatchCollection,
    StringBuilder,
    Math,
    MidpointRounding,
    Convert,
    Encoding,
    StringComparison,
    StringSplitOptions,
    StringComparer,
    WebUtility,
    Uri,
    UriKind,
    UriPartial,
    /// The static class `System.Tuple` (`Tuple.Create`).
    TupleClass,
    SaveOptions,
    BitConverter,
    SysArray,
    Enumerable,
    Exception(Exc),
    HashAlgo(Hash),
    XDocument,
    XElement,
    XAttribute,
    XName,
    XNamespace,
    // APIM context model
    Context,
    Request,
    Response,
    Url,
    MessageBody,
    Api,
    Operation,
    Product,
    Subscription,
    User,
    Group_,
    UserIdentity,
    Deployment,
    Gateway,
    LastError,
    Backend,
    Workspace,
    SubscriptionKeyParameterNames,
    Jwt,
    BasicAuth,
    Authorization,
    PrivateEndpointConnection,
    ProductState,
    BackendType,
}

/// Exception types a policy expression can name, throw or catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exc {
    Exception,
    SystemException,
    ArgumentException,
    ArgumentNullException,
    ArgumentOutOfRangeException,
    ArithmeticException,
    DivideByZeroException,
    OverflowException,
    FormatException,
    InvalidCastException,
    InvalidOperationException,
    NullReferenceException,
    IndexOutOfRangeException,
    KeyNotFoundException,
    NotSupportedException,
    NotImplementedException,
    UriFormatException,
    JsonException,
    JsonReaderException,
    JsonSerializationException,
    RegexMatchTimeoutException,
    TimeoutException,
    OutOfMemoryException,
    XmlException,
}

impl Exc {
    pub const ALL: &'static [Exc] = &[
        Exc::Exception,
        Exc::SystemException,
        Exc::ArgumentException,
        Exc::ArgumentNullException,
        Exc::ArgumentOutOfRangeException,
        Exc::ArithmeticException,
        Exc::DivideByZeroException,
        Exc::OverflowException,
        Exc::FormatException,
        Exc::InvalidCastException,
        Exc::InvalidOperationException,
        Exc::NullReferenceException,
        Exc::IndexOutOfRangeException,
        Exc::KeyNotFoundException,
        Exc::NotSupportedException,
        Exc::NotImplementedException,
        Exc::UriFormatException,
        Exc::JsonException,
        Exc::JsonReaderException,
        Exc::JsonSerializationException,
        Exc::RegexMatchTimeoutException,
        Exc::TimeoutException,
        Exc::OutOfMemoryException,
        Exc::XmlException,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Exc::Exception => "Exception",
            Exc::SystemException => "SystemException",
            Exc::ArgumentException => "ArgumentException",
            Exc::ArgumentNullException => "ArgumentNullException",
            Exc::ArgumentOutOfRangeException => "ArgumentOutOfRangeException",
            Exc::ArithmeticException => "ArithmeticException",
            Exc::DivideByZeroException => "DivideByZeroException",
            Exc::OverflowException => "OverflowException",
            Exc::FormatException => "FormatException",
            Exc::InvalidCastException => "InvalidCastException",
            Exc::InvalidOperationException => "InvalidOperationException",
            Exc::NullReferenceException => "NullReferenceException",
            Exc::IndexOutOfRangeException => "IndexOutOfRangeException",
            Exc::KeyNotFoundException => "KeyNotFoundException",
            Exc::NotSupportedException => "NotSupportedException",
            Exc::NotImplementedException => "NotImplementedException",
            Exc::UriFormatException => "UriFormatException",
            Exc::JsonException => "JsonException",
            Exc::JsonReaderException => "JsonReaderException",
            Exc::JsonSerializationException => "JsonSerializationException",
            Exc::RegexMatchTimeoutException => "RegexMatchTimeoutException",
            Exc::TimeoutException => "TimeoutException",
            Exc::OutOfMemoryException => "OutOfMemoryException",
            Exc::XmlException => "XmlException",
        }
    }
    pub fn namespace(self) -> &'static str {
        match self {
            Exc::KeyNotFoundException => "System.Collections.Generic",
            Exc::JsonException | Exc::JsonReaderException | Exc::JsonSerializationException => {
                "Newtonsoft.Json"
            }
            Exc::RegexMatchTimeoutException => "System.Text.RegularExpressions",
            Exc::XmlException => "System.Xml",
            _ => "System",
        }
    }
    pub fn base(self) -> Option<Exc> {
        Some(match self {
            Exc::Exception => return None,
            Exc::SystemException | Exc::JsonException => Exc::Exception,
            Exc::ArgumentNullException | Exc::ArgumentOutOfRangeException => Exc::ArgumentException,
            Exc::DivideByZeroException | Exc::OverflowException => Exc::ArithmeticException,
            Exc::JsonReaderException | Exc::JsonSerializationException => Exc::JsonException,
            Exc::UriFormatException => Exc::FormatException,
            Exc::RegexMatchTimeoutException => Exc::TimeoutException,
            _ => Exc::SystemException,
        })
    }
    pub fn is_a(self, other: Exc) -> bool {
        let mut c = Some(self);
        while let Some(x) = c {
            if x == other {
                return true;
            }
            c = x.base();
        }
        false
    }
    pub fn from_name(name: &str) -> Option<Exc> {
        Exc::ALL.iter().copied().find(|e| e.name() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hash {
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
    HmacMd5,
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl Hash {
    pub fn name(self) -> &'static str {
        match self {
            Hash::Md5 => "MD5",
            Hash::Sha1 => "SHA1",
            Hash::Sha256 => "SHA256",
            Hash::Sha384 => "SHA384",
            Hash::Sha512 => "SHA512",
            Hash::HmacMd5 => "HMACMD5",
            Hash::HmacSha1 => "HMACSHA1",
            Hash::HmacSha256 => "HMACSHA256",
            Hash::HmacSha384 => "HMACSHA384",
            Hash::HmacSha512 => "HMACSHA512",
        }
    }
    pub fn is_hmac(self) -> bool {
        matches!(
            self,
            Hash::HmacMd5 | Hash::HmacSha1 | Hash::HmacSha256 | Hash::HmacSha384 | Hash::HmacSha512
        )
    }
}

/// Generic type definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gen {
    List,
    Dictionary,
    HashSet,
    Queue,
    Stack,
    KeyValuePair,
    IEnumerable,
    IList,
    ICollection,
    IDictionary,
    IReadOnlyDictionary,
    IReadOnlyCollection,
    ISet,
    Nullable,
    Func,
    Action,
    Tuple,
    /// `IGrouping<TKey, TElement>` (GroupBy results).
    IGrouping,
}

impl Gen {
    pub fn name(self) -> &'static str {
        match self {
            Gen::List => "List",
            Gen::Dictionary => "Dictionary",
            Gen::HashSet => "HashSet",
            Gen::Queue => "Queue",
            Gen::Stack => "Stack",
            Gen::KeyValuePair => "KeyValuePair",
            Gen::IEnumerable => "IEnumerable",
            Gen::IList => "IList",
            Gen::ICollection => "ICollection",
            Gen::IDictionary => "IDictionary",
            Gen::IReadOnlyDictionary => "IReadOnlyDictionary",
            Gen::IReadOnlyCollection => "IReadOnlyCollection",
            Gen::ISet => "ISet",
            Gen::Nullable => "Nullable",
            Gen::Func => "Func",
            Gen::Action => "Action",
            Gen::Tuple => "Tuple",
            Gen::IGrouping => "IGrouping",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ty {
    /// Already reported; suppresses follow-up diagnostics.
    Error,
    /// The type of the `null` literal.
    Null,
    Void,
    Object,
    Bool,
    Char,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
    Decimal,
    String,
    Nullable(Arc<Ty>),
    Array(Arc<Ty>),
    Named(Cls),
    Gen(Gen, Arc<[Ty]>),
    Anon(Arc<[(String, Ty)]>),
    /// A lambda before its parameter types are known (arity).
    Lambda(usize),
    /// A type used as an expression (`Math`, `int`, `JObject`): static member access.
    TypeName(Arc<Ty>),
    /// A namespace prefix (`System.Text`).
    Namespace(Arc<str>),
}

impl Ty {
    pub fn generic(g: Gen, args: Vec<Ty>) -> Ty {
        Ty::Gen(g, args.into())
    }
    pub fn array(t: Ty) -> Ty {
        Ty::Array(Arc::new(t))
    }
    pub fn nullable(t: Ty) -> Ty {
        Ty::Nullable(Arc::new(t))
    }
    pub fn enumerable(t: Ty) -> Ty {
        Ty::generic(Gen::IEnumerable, vec![t])
    }
    pub fn list(t: Ty) -> Ty {
        Ty::generic(Gen::List, vec![t])
    }
    pub fn func(params: Vec<Ty>, ret: Ty) -> Ty {
        let mut v = params;
        v.push(ret);
        Ty::generic(Gen::Func, v)
    }
    pub fn is_integral(&self) -> bool {
        matches!(
            self,
            Ty::I8 | Ty::U8 | Ty::I16 | Ty::U16 | Ty::I32 | Ty::U32 | Ty::I64 | Ty::U64 | Ty::Char
        )
    }
    pub fn is_numeric(&self) -> bool {
        self.is_integral() || matches!(self, Ty::F32 | Ty::F64 | Ty::Decimal)
    }
    pub fn is_enum(&self) -> bool {
        matches!(
            self,
            Ty::Named(
                Cls::JTokenType
                    | Cls::Formatting
                    | Cls::StringComparison
                    | Cls::StringSplitOptions
                    | Cls::RegexOptions
                    | Cls::DayOfWeek
                    | Cls::DateTimeKind
                    | Cls::MidpointRounding
                    | Cls::UriKind
                    | Cls::UriPartial
                    | Cls::SaveOptions
                    | Cls::ProductState
                    | Cls::BackendType
            )
        )
    }
    /// Value types (structs, enums, primitives, Nullable).
    pub fn is_value_type(&self) -> bool {
        self.is_numeric()
            || self.is_enum()
            || matches!(
                self,
                Ty::Bool
                    | Ty::Nullable(_)
                    | Ty::Named(Cls::DateTime | Cls::TimeSpan | Cls::DateTimeOffset | Cls::Guid)
                    | Ty::Gen(Gen::KeyValuePair, _)
            )
    }
    pub fn is_reference(&self) -> bool {
        !self.is_value_type()
            && !matches!(
                self,
                Ty::Void | Ty::Error | Ty::Lambda(_) | Ty::TypeName(_) | Ty::Namespace(_)
            )
    }
    pub fn accepts_null(&self) -> bool {
        self.is_reference() || matches!(self, Ty::Nullable(_))
    }
    pub fn is_error(&self) -> bool {
        matches!(self, Ty::Error)
    }
    /// Element type when enumerated by `foreach` or LINQ.
    pub fn element(&self) -> Option<Ty> {
        match self {
            Ty::Array(t) => Some((**t).clone()),
            Ty::String => Some(Ty::Char),
            Ty::Gen(
                Gen::List
                | Gen::HashSet
                | Gen::Queue
                | Gen::Stack
                | Gen::IEnumerable
                | Gen::IList
                | Gen::ICollection
                | Gen::IReadOnlyCollection
                | Gen::ISet,
                a,
            ) => a.first().cloned(),
            Ty::Gen(Gen::Dictionary | Gen::IDictionary | Gen::IReadOnlyDictionary, a) => {
                Some(Ty::generic(Gen::KeyValuePair, a.to_vec()))
            }
            Ty::Gen(Gen::IGrouping, a) => a.get(1).cloned(),
            Ty::Named(
                Cls::JToken | Cls::JArray | Cls::JContainer | Cls::JObject | Cls::JProperty,
            ) => Some(Ty::Named(Cls::JToken)),
            Ty::Named(Cls::MatchCollection) => Some(Ty::Named(Cls::Match)),
            Ty::Named(Cls::GroupCollection) => Some(Ty::Named(Cls::Group)),
            _ => None,
        }
    }
    /// The C# spelling used in diagnostics and `GetType()` renderings.
    pub fn name(&self) -> String {
        match self {
            Ty::Error => "?".into(),
            Ty::Null => "<null>".into(),
            Ty::Void => "void".into(),
            Ty::Object => "object".into(),
            Ty::Bool => "bool".into(),
            Ty::Char => "char".into(),
            Ty::I8 => "sbyte".into(),
            Ty::U8 => "byte".into(),
            Ty::I16 => "short".into(),
            Ty::U16 => "ushort".into(),
            Ty::I32 => "int".into(),
            Ty::U32 => "uint".into(),
            Ty::I64 => "long".into(),
            Ty::U64 => "ulong".into(),
            Ty::F32 => "float".into(),
            Ty::F64 => "double".into(),
            Ty::Decimal => "decimal".into(),
            Ty::String => "string".into(),
            Ty::Nullable(t) => format!("{}?", t.name()),
            Ty::Array(t) => format!("{}[]", t.name()),
            Ty::Named(c) => cls_name(*c).to_string(),
            Ty::Gen(g, a) => format!(
                "{}<{}>",
                g.name(),
                a.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
            ),
            Ty::Anon(ms) => format!(
                "<anonymous type: {}>",
                ms.iter()
                    .map(|(n, t)| format!("{} {}", t.name(), n))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Ty::Lambda(_) => "lambda expression".into(),
            Ty::TypeName(t) => t.name(),
            Ty::Namespace(n) => n.to_string(),
        }
    }
}

pub fn cls_name(c: Cls) -> &'static str {
    match c {
        Cls::DateTime => "DateTime",
        Cls::TimeSpan => "TimeSpan",
        Cls::DateTimeOffset => "DateTimeOffset",
        Cls::Guid => "Guid",
        Cls::DayOfWeek => "DayOfWeek",
        Cls::DateTimeKind => "DateTimeKind",
        Cls::JToken => "JToken",
        Cls::JContainer => "JContainer",
        Cls::JObject => "JObject",
        Cls::JArray => "JArray",
        Cls::JProperty => "JProperty",
        Cls::JValue => "JValue",
        Cls::JTokenType => "JTokenType",
        Cls::Formatting => "Formatting",
        Cls::JsonConvert => "JsonConvert",
        Cls::Random => "Random",
        Cls::Regex => "Regex",
        Cls::RegexOptions => "RegexOptions",
        Cls::Match => "Match",
        Cls::Group => "Group",
        Cls::GroupCollection => "GroupCollection",
        Cls::Capture => "Capture",
        Cls::MatchCollection => "MatchCollection",
        Cls::StringBuilder => "StringBuilder",
        Cls::Math => "Math",
        Cls::MidpointRounding => "MidpointRounding",
        Cls::Convert => "Convert",
        Cls::Encoding => "Encoding",
        Cls::StringComparison => "StringComparison",
        Cls::StringSplitOptions => "StringSplitOptions",
        Cls::StringComparer => "StringComparer",
        Cls::WebUtility => "WebUtility",
        Cls::Uri => "Uri",
        Cls::UriKind => "UriKind",
        Cls::UriPartial => "UriPartial",
        Cls::TupleClass => "Tuple",
        Cls::SaveOptions => "SaveOptions",
        Cls::BitConverter => "BitConverter",
        Cls::SysArray => "Array",
        Cls::Enumerable => "Enumerable",
        Cls::Exception(e) => e.name(),
        Cls::HashAlgo(h) => h.name(),
        Cls::XDocument => "XDocument",
        Cls::XElement => "XElement",
        Cls::XAttribute => "XAttribute",
        Cls::XName => "XName",
        Cls::XNamespace => "XNamespace",
        Cls::Context => "IProxyRequestContext",
        Cls::Request => "IRequest",
        Cls::Response => "IResponse",
        Cls::Url => "IUrl",
        Cls::MessageBody => "IMessageBody",
        Cls::Api => "IApi",
        Cls::Operation => "IOperation",
        Cls::Product => "IProduct",
        Cls::Subscription => "ISubscription",
        Cls::User => "IUser",
        Cls::Group_ => "IGroup",
        Cls::UserIdentity => "IUserIdentity",
        Cls::Deployment => "IDeployment",
        Cls::Gateway => "IGateway",
        Cls::LastError => "ILastError",
        Cls::Backend => "IBackend",
        Cls::Workspace => "IWorkspace",
        Cls::SubscriptionKeyParameterNames => "ISubscriptionKeyParameterNames",
        Cls::Jwt => "Jwt",
        Cls::BasicAuth => "BasicAuthCredentials",
        Cls::Authorization => "Authorization",
        Cls::PrivateEndpointConnection => "IPrivateEndpointConnection",
        Cls::ProductState => "ProductState",
        Cls::BackendType => "BackendType",
    }
}

/// Simple and fully-qualified names of the allowed named types.
pub fn lookup_type_name(name: &str) -> Option<Ty> {
    let simple = name
        .strip_prefix("System.Collections.Generic.")
        .or_else(|| name.strip_prefix("System.Text.RegularExpressions."))
        .or_else(|| name.strip_prefix("System.Security.Cryptography."))
        .or_else(|| name.strip_prefix("System.Text."))
        .or_else(|| name.strip_prefix("System.Net."))
        .or_else(|| name.strip_prefix("System.Linq."))
        .or_else(|| name.strip_prefix("System.Xml.Linq."))
        .or_else(|| name.strip_prefix("Newtonsoft.Json.Linq."))
        .or_else(|| name.strip_prefix("Newtonsoft.Json."))
        .or_else(|| name.strip_prefix("System."))
        .unwrap_or(name);
    if simple.contains('.') {
        return None;
    }
    let t = match simple {
        "Boolean" => Ty::Bool,
        "Char" => Ty::Char,
        "SByte" => Ty::I8,
        "Byte" => Ty::U8,
        "Int16" => Ty::I16,
        "UInt16" => Ty::U16,
        "Int32" => Ty::I32,
        "UInt32" => Ty::U32,
        "Int64" => Ty::I64,
        "UInt64" => Ty::U64,
        "Single" => Ty::F32,
        "Double" => Ty::F64,
        "Decimal" => Ty::Decimal,
        "String" => Ty::String,
        "Object" => Ty::Object,
        "DateTime" => Ty::Named(Cls::DateTime),
        "TimeSpan" => Ty::Named(Cls::TimeSpan),
        "DateTimeOffset" => Ty::Named(Cls::DateTimeOffset),
        "Guid" => Ty::Named(Cls::Guid),
        "DayOfWeek" => Ty::Named(Cls::DayOfWeek),
        "DateTimeKind" => Ty::Named(Cls::DateTimeKind),
        "JToken" => Ty::Named(Cls::JToken),
        "JContainer" => Ty::Named(Cls::JContainer),
        "JObject" => Ty::Named(Cls::JObject),
        "JArray" => Ty::Named(Cls::JArray),
        "JProperty" => Ty::Named(Cls::JProperty),
        "JValue" => Ty::Named(Cls::JValue),
        "JTokenType" => Ty::Named(Cls::JTokenType),
        "Formatting" => Ty::Named(Cls::Formatting),
        "JsonConvert" => Ty::Named(Cls::JsonConvert),
        "Random" => Ty::Named(Cls::Random),
        "Regex" => Ty::Named(Cls::Regex),
        "RegexOptions" => Ty::Named(Cls::RegexOptions),
        "Match" => Ty::Named(Cls::Match),
        "Group" => Ty::Named(Cls::Group),
        "GroupCollection" => Ty::Named(Cls::GroupCollection),
        "Capture" => Ty::Named(Cls::Capture),
        "MatchCollection" => Ty::Named(Cls::MatchCollection),
        "StringBuilder" => Ty::Named(Cls::StringBuilder),
        "Math" => Ty::Named(Cls::Math),
        "MidpointRounding" => Ty::Named(Cls::MidpointRounding),
        "Convert" => Ty::Named(Cls::Convert),
        "Encoding" => Ty::Named(Cls::Encoding),
        "StringComparison" => Ty::Named(Cls::StringComparison),
        "StringSplitOptions" => Ty::Named(Cls::StringSplitOptions),
        "StringComparer" => Ty::Named(Cls::StringComparer),
        "WebUtility" => Ty::Named(Cls::WebUtility),
        "Uri" => Ty::Named(Cls::Uri),
        "UriKind" => Ty::Named(Cls::UriKind),
        "UriPartial" => Ty::Named(Cls::UriPartial),
        "Tuple" | "System.Tuple" => Ty::Named(Cls::TupleClass),
        "SaveOptions" => Ty::Named(Cls::SaveOptions),
        "BitConverter" => Ty::Named(Cls::BitConverter),
        "Array" => Ty::Named(Cls::SysArray),
        "Enumerable" => Ty::Named(Cls::Enumerable),
        "MD5" => Ty::Named(Cls::HashAlgo(Hash::Md5)),
        "SHA1" | "SHA1Managed" => Ty::Named(Cls::HashAlgo(Hash::Sha1)),
        "SHA256" | "SHA256Managed" => Ty::Named(Cls::HashAlgo(Hash::Sha256)),
        "SHA384" | "SHA384Managed" => Ty::Named(Cls::HashAlgo(Hash::Sha384)),
        "SHA512" | "SHA512Managed" => Ty::Named(Cls::HashAlgo(Hash::Sha512)),
        "HMACMD5" => Ty::Named(Cls::HashAlgo(Hash::HmacMd5)),
        "HMACSHA1" => Ty::Named(Cls::HashAlgo(Hash::HmacSha1)),
        "HMACSHA256" => Ty::Named(Cls::HashAlgo(Hash::HmacSha256)),
        "HMACSHA384" => Ty::Named(Cls::HashAlgo(Hash::HmacSha384)),
        "HMACSHA512" => Ty::Named(Cls::HashAlgo(Hash::HmacSha512)),
        "XDocument" => Ty::Named(Cls::XDocument),
        "XElement" => Ty::Named(Cls::XElement),
        "XAttribute" => Ty::Named(Cls::XAttribute),
        "XName" => Ty::Named(Cls::XName),
        "XNamespace" => Ty::Named(Cls::XNamespace),
        "IResponse" => Ty::Named(Cls::Response),
        "IRequest" => Ty::Named(Cls::Request),
        "IUrl" => Ty::Named(Cls::Url),
        "IMessageBody" => Ty::Named(Cls::MessageBody),
        "IApi" => Ty::Named(Cls::Api),
        "IOperation" => Ty::Named(Cls::Operation),
        "IProduct" => Ty::Named(Cls::Product),
        "ISubscription" => Ty::Named(Cls::Subscription),
        "IUser" => Ty::Named(Cls::User),
        "IGroup" => Ty::Named(Cls::Group_),
        "IUserIdentity" => Ty::Named(Cls::UserIdentity),
        "IDeployment" => Ty::Named(Cls::Deployment),
        "ILastError" => Ty::Named(Cls::LastError),
        "IBackend" => Ty::Named(Cls::Backend),
        "Jwt" => Ty::Named(Cls::Jwt),
        "BasicAuthCredentials" => Ty::Named(Cls::BasicAuth),
        "Authorization" => Ty::Named(Cls::Authorization),
        _ => Ty::Named(Cls::Exception(Exc::from_name(simple)?)),
    };
    Some(t)
}

pub fn generic_type_name(name: &str) -> Option<Gen> {
    let simple = name
        .strip_prefix("System.Collections.Generic.")
        .or_else(|| name.strip_prefix("System."))
        .unwrap_or(name);
    Some(match simple {
        "List" => Gen::List,
        "Dictionary" => Gen::Dictionary,
        "HashSet" => Gen::HashSet,
        "Queue" => Gen::Queue,
        "Stack" => Gen::Stack,
        "KeyValuePair" => Gen::KeyValuePair,
        "IEnumerable" => Gen::IEnumerable,
        "IList" => Gen::IList,
        "ICollection" => Gen::ICollection,
        "IDictionary" => Gen::IDictionary,
        "IReadOnlyDictionary" => Gen::IReadOnlyDictionary,
        "IReadOnlyCollection" => Gen::IReadOnlyCollection,
        "ISet" => Gen::ISet,
        "Nullable" => Gen::Nullable,
        "Func" => Gen::Func,
        "Action" => Gen::Action,
        "Tuple" => Gen::Tuple,
        _ => return None,
    })
}

/// Namespaces a qualified name may start with.
pub fn is_known_namespace(ns: &str) -> bool {
    matches!(
        ns,
        "System"
            | "System.Collections"
            | "System.Collections.Generic"
            | "System.Text"
            | "System.Text.RegularExpressions"
            | "System.Net"
            | "System.Linq"
            | "System.Xml"
            | "System.Xml.Linq"
            | "System.Security"
            | "System.Security.Cryptography"
            | "System.Security.Cryptography.X509Certificates"
            | "System.Globalization"
            | "System.IO"
            | "System.Net.Http"
            | "System.Threading"
            | "System.Threading.Tasks"
            | "System.Reflection"
            | "System.Diagnostics"
            | "Newtonsoft"
            | "Newtonsoft.Json"
            | "Newtonsoft.Json.Linq"
    )
}

pub fn predefined(name: &str) -> Option<Ty> {
    Some(match name {
        "bool" => Ty::Bool,
        "byte" => Ty::U8,
        "sbyte" => Ty::I8,
        "char" => Ty::Char,
        "short" => Ty::I16,
        "ushort" => Ty::U16,
        "int" => Ty::I32,
        "uint" => Ty::U32,
        "long" => Ty::I64,
        "ulong" => Ty::U64,
        "float" => Ty::F32,
        "double" => Ty::F64,
        "decimal" => Ty::Decimal,
        "string" => Ty::String,
        "object" => Ty::Object,
        "void" => Ty::Void,
        _ => return None,
    })
}
