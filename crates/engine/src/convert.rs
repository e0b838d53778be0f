//! Body conversions for `json-to-xml` and `xml-to-json` (policies.md §2), following the shapes
//! APIM produces: a single-property JSON root becomes the XML root, several properties are
//! wrapped in `<Document>`; arrays repeat their element; null is `xsi:nil`; XML→JSON keeps the
//! root element, turns attributes into `@name`, repeats into arrays, writes `prefix$name`.

use chrono::{DateTime, NaiveDateTime};
use serde_json::{Map, Value};

use crate::liquid::format_double;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the body is not valid XML: {0}")]
    InvalidXml(String),
}

/// Largest XML document converted (nodes), against hostile input.
pub const MAX_XML_NODES: u32 = 1_000_000;
/// Deepest element nesting converted.
pub const MAX_XML_DEPTH: usize = 256;

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// `json-to-xml` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonToXmlOptions {
    pub parse_date: bool,
    /// Stands for `:` in property names whose prefix is a declared namespace prefix.
    pub namespace_separator: char,
    /// Properties starting with this become namespace declarations (`xmlns` is always one).
    pub namespace_prefix: Option<String>,
    /// Properties of the object with this name become attributes of the enclosing element.
    pub attribute_block_name: Option<String>,
}

impl Default for JsonToXmlOptions {
    fn default() -> Self {
        JsonToXmlOptions {
            parse_date: true,
            namespace_separator: '_',
            namespace_prefix: None,
            attribute_block_name: None,
        }
    }
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == ':'
}
fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_numeric() || c == '-' || c == '.' || c == '\u{b7}'
}

/// `XmlConvert.EncodeName`: characters not allowed in XML names become `_xHHHH_`.
pub fn encode_xml_name(name: &str) -> String {
    if name.is_empty() {
        return "_x0000_".into();
    }
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        let ok = if i == 0 {
            is_name_start(c)
        } else {
            is_name_char(c)
        };
        if ok {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("_x{unit:04X}_"));
            }
        }
    }
    out
}

fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                out.push_str(&format!("&#x{:X};", c as u32))
            }
            c => out.push(c),
        }
    }
}

fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            '\t' => out.push_str("&#x9;"),
            c if (c as u32) < 0x20 => out.push_str(&format!("&#x{:X};", c as u32)),
            c => out.push(c),
        }
    }
}

/// ISO date-time strings (`yyyy-MM-ddTHH:mm:ss[.f][Z|±hh:mm]`) re-written the way .NET writes a
/// parsed `DateTime` (fraction without trailing zeros; offsets converted to UTC).
fn normalize_date(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 19
        || b.get(10) != Some(&b'T')
        || !b[..4].iter().all(u8::is_ascii_digit)
        || b[4] != b'-'
    {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(format!("{}Z", dotnet_roundtrip(&d.to_utc().naive_utc())));
    }
    let d = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Some(dotnet_roundtrip(&d))
}

/// `yyyy-MM-ddTHH:mm:ss.FFFFFFF` (fraction without trailing zeros).
fn dotnet_roundtrip(d: &NaiveDateTime) -> String {
    let mut text = d.format("%Y-%m-%dT%H:%M:%S").to_string();
    let ticks = d.and_utc().timestamp_subsec_nanos() / 100;
    if ticks > 0 {
        let frac = format!("{ticks:07}");
        text.push('.');
        text.push_str(frac.trim_end_matches('0'));
    }
    text
}

fn scalar_text(v: &Value, parse_date: bool) -> String {
    match v {
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(u)) => u.to_string(),
            _ => format_double(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => {
            if parse_date {
                normalize_date(s).unwrap_or_else(|| s.clone())
            } else {
                s.clone()
            }
        }
        _ => String::new(),
    }
}

struct JsonWriter<'a> {
    opts: &'a JsonToXmlOptions,
    out: String,
    /// Namespace prefixes declared on the open elements.
    prefixes: Vec<Vec<String>>,
}

impl JsonWriter<'_> {
    fn is_ns_decl(&self, key: &str) -> Option<String> {
        let sep = self.opts.namespace_separator;
        let map = |rest: &str| -> Option<String> {
            if rest.is_empty() {
                Some("xmlns".into())
            } else {
                rest.strip_prefix(':')
                    .or_else(|| rest.strip_prefix(sep))
                    .map(|p| format!("xmlns:{p}"))
            }
        };
        if let Some(r) = key.strip_prefix("xmlns") {
            if let Some(m) = map(r) {
                return Some(m);
            }
        }
        if let Some(prefix) = &self.opts.namespace_prefix {
            if let Some(r) = key.strip_prefix(prefix.as_str()) {
                return map(r);
            }
        }
        None
    }

    fn element_name(&self, key: &str, extra: &[String]) -> String {
        let sep = self.opts.namespace_separator;
        if let Some((p, local)) = key.split_once(':').or_else(|| key.split_once(sep)) {
            let declared =
                extra.iter().any(|x| x == p) || self.prefixes.iter().flatten().any(|x| x == p);
            if declared && !local.is_empty() {
                return format!("{}:{}", encode_xml_name(p), encode_xml_name(local));
            }
        }
        encode_xml_name(key)
    }

    fn element(&mut self, key: &str, value: &Value) {
        match value {
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Array(_) => {
                            let name = self.element_name(key, &[]);
                            self.out.push_str(&format!("<{name}>"));
                            self.element(key, item);
                            self.out.push_str(&format!("</{name}>"));
                        }
                        _ => self.element(key, item),
                    }
                }
                if items.is_empty() {
                    let name = self.element_name(key, &[]);
                    self.out.push_str(&format!("<{name} />"));
                }
            }
            Value::Null => {
                let name = self.element_name(key, &[]);
                self.out
                    .push_str(&format!("<{name} xsi:nil=\"true\" xmlns:xsi=\"{XSI}\" />"));
            }
            Value::Object(map) => self.object_element(key, map),
            scalar => {
                let name = self.element_name(key, &[]);
                self.out.push_str(&format!("<{name}>"));
                escape_text(&scalar_text(scalar, self.opts.parse_date), &mut self.out);
                self.out.push_str(&format!("</{name}>"));
            }
        }
    }

    fn object_element(&mut self, key: &str, map: &Map<String, Value>) {
        let mut attrs: Vec<(String, String)> = Vec::new();
        let mut declared = Vec::new();
        let mut children = Vec::new();
        let mut text = None;
        for (k, v) in map {
            if self.opts.attribute_block_name.as_deref() == Some(k.as_str()) {
                if let Value::Object(a) = v {
                    for (ak, av) in a {
                        attrs.push((encode_xml_name(ak), scalar_text(av, self.opts.parse_date)));
                    }
                    continue;
                }
            }
            if let Some(decl) = self.is_ns_decl(k) {
                if let Some(p) = decl.strip_prefix("xmlns:") {
                    declared.push(p.to_string());
                }
                attrs.push((decl, scalar_text(v, false)));
                continue;
            }
            if k == "#text" {
                text = Some(scalar_text(v, self.opts.parse_date));
                continue;
            }
            children.push((k, v));
        }
        let name = self.element_name(key, &declared);
        self.out.push('<');
        self.out.push_str(&name);
        for (n, v) in &attrs {
            self.out.push(' ');
            self.out.push_str(n);
            self.out.push_str("=\"");
            escape_attr(v, &mut self.out);
            self.out.push('"');
        }
        if children.is_empty() && text.is_none() {
            self.out.push_str(" />");
            return;
        }
        self.out.push('>');
        if let Some(t) = text {
            escape_text(&t, &mut self.out);
        }
        self.prefixes.push(declared);
        for (k, v) in children {
            self.element(k, v);
        }
        self.prefixes.pop();
        self.out.push_str(&format!("</{name}>"));
    }
}

/// Converts a JSON body to XML.
pub fn json_to_xml(json: &str, opts: &JsonToXmlOptions) -> Result<String, ConvertError> {
    let json = json.strip_prefix('\u{feff}').unwrap_or(json);
    let value: Value =
        serde_json::from_str(json).map_err(|e| ConvertError::InvalidJson(e.to_string()))?;
    let mut w = JsonWriter {
        opts,
        out: String::new(),
        prefixes: Vec::new(),
    };
    match &value {
        Value::Object(m) if m.len() == 1 => {
            let (k, v) = m
                .iter()
                .next()
                .map(|(k, v)| (k.clone(), v.clone()))
                .unwrap_or_default();
            match v {
                Value::Array(_) => w.object_element("Document", m),
                _ => w.element(&k, &v),
            }
        }
        Value::Object(m) => w.object_element("Document", m),
        Value::Array(items) => {
            let mut m = Map::new();
            m.insert("Array".into(), Value::Array(items.clone()));
            w.object_element("Document", &m);
        }
        scalar => w.element("Document", scalar),
    }
    Ok(w.out)
}

/// `xml-to-json kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XmlToJsonKind {
    /// Mirrors the XML: declaration attributes at the top, `@attribute`, `prefix$name`.
    Direct,
    /// Plain property names for attributes, no declaration properties.
    JavascriptFriendly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlToJsonOptions {
    pub kind: XmlToJsonKind,
    pub always_array_child_elements: bool,
}

fn qualified(node: roxmltree::Node, local: &str, ns: Option<&str>) -> String {
    match ns.and_then(|u| node.lookup_prefix(u)) {
        Some(p) if !p.is_empty() => format!("{p}${local}"),
        _ => local.to_string(),
    }
}

fn element_to_json(
    node: roxmltree::Node,
    opts: &XmlToJsonOptions,
    depth: usize,
) -> Result<Value, ConvertError> {
    if depth > MAX_XML_DEPTH {
        return Err(ConvertError::InvalidXml(format!(
            "elements are nested more than {MAX_XML_DEPTH} deep"
        )));
    }
    let attr_prefix = if opts.kind == XmlToJsonKind::Direct {
        "@"
    } else {
        ""
    };
    let mut obj = Map::new();
    // Namespace declarations made on this element.
    let parent_ns: Vec<(Option<&str>, &str)> = node
        .parent_element()
        .map(|p| p.namespaces().map(|n| (n.name(), n.uri())).collect())
        .unwrap_or_default();
    for ns in node.namespaces() {
        if ns.name() == Some("xml") || parent_ns.contains(&(ns.name(), ns.uri())) {
            continue;
        }
        let key = match ns.name() {
            Some(p) => format!("{attr_prefix}xmlns${p}"),
            None => format!("{attr_prefix}xmlns"),
        };
        obj.insert(key, Value::String(ns.uri().to_string()));
    }
    for a in node.attributes() {
        let key = format!("{attr_prefix}{}", qualified(node, a.name(), a.namespace()));
        obj.insert(key, Value::String(a.value().to_string()));
    }
    let mut texts = Vec::new();
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for child in node.children() {
        if child.is_element() {
            let name = qualified(child, child.tag_name().name(), child.tag_name().namespace());
            let v = element_to_json(child, opts, depth + 1)?;
            match groups.iter_mut().find(|(n, _)| *n == name) {
                Some((_, vs)) => vs.push(v),
                None => groups.push((name, vec![v])),
            }
        } else if child.is_text() {
            let t = child.text().unwrap_or("");
            if !t.trim().is_empty() {
                // roxmltree merges CDATA into text; keep it as text.
                texts.push(t.to_string());
            }
        }
    }
    if obj.is_empty() && groups.is_empty() {
        return Ok(match texts.len() {
            0 => Value::Null,
            1 => Value::String(texts.remove(0)),
            _ => Value::Array(texts.into_iter().map(Value::String).collect()),
        });
    }
    match texts.len() {
        0 => {}
        1 => {
            obj.insert("#text".into(), Value::String(texts.remove(0)));
        }
        _ => {
            obj.insert(
                "#text".into(),
                Value::Array(texts.into_iter().map(Value::String).collect()),
            );
        }
    }
    for (name, mut vs) in groups {
        let v = if vs.len() > 1 || opts.always_array_child_elements {
            Value::Array(vs)
        } else {
            vs.remove(0)
        };
        obj.insert(name, v);
    }
    Ok(Value::Object(obj))
}

/// Attributes of the `<?xml ...?>` declaration, if the text starts with one.
fn declaration(xml: &str) -> Vec<(String, String)> {
    let t = xml.trim_start();
    let Some(rest) = t.strip_prefix("<?xml") else {
        return Vec::new();
    };
    let Some(end) = rest.find("?>") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut s = &rest[..end];
    while let Some(eq) = s.find('=') {
        let name = s[..eq].trim().to_string();
        let after = s[eq + 1..].trim_start();
        let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            break;
        };
        let Some(close) = after[1..].find(q) else {
            break;
        };
        out.push((name, after[1..1 + close].to_string()));
        s = &after[close + 2..];
    }
    out
}

/// Converts an XML body to JSON (compact).
pub fn xml_to_json(xml: &str, opts: &XmlToJsonOptions) -> Result<String, ConvertError> {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let parse_opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(xml, parse_opts)
        .map_err(|e| ConvertError::InvalidXml(e.to_string()))?;
    let root = doc.root_element();
    let mut out = Map::new();
    if opts.kind == XmlToJsonKind::Direct {
        for (k, v) in declaration(xml) {
            out.insert(k, Value::String(v));
        }
    }
    let name = qualified(root, root.tag_name().name(), root.tag_name().namespace());
    let v = element_to_json(root, opts, 0)?;
    out.insert(name, v);
    Ok(Value::Object(out).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_to_xml_documented_example() {
        let json = r#"{"firstName":"John","isAlive":true,"age":25,"address":{"city":"New York"},
            "phoneNumbers":[{"type":"home"},{"type":"mobile"}],"children":[],"spouse":null,"ratio":1.5}"#;
        let xml = json_to_xml(json, &JsonToXmlOptions::default()).unwrap();
        assert_eq!(
            xml,
            "<Document><firstName>John</firstName><isAlive>True</isAlive><age>25</age><address><city>New York</city></address>\
             <phoneNumbers><type>home</type></phoneNumbers><phoneNumbers><type>mobile</type></phoneNumbers><children />\
             <spouse xsi:nil=\"true\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" /><ratio>1.5</ratio></Document>"
        );
    }

    #[test]
    fn json_to_xml_single_root_namespaces_and_attribute_block() {
        let json = r##"{"soapenv:Envelope":{"xmlns:soapenv":"http://schemas.xmlsoap.org/soap/envelope/","xmlns:v1":"http://localdomain.com/core/v1",
            "soapenv:Header":{},"soapenv:Body":{"v1:QueryList":{"#attrs":{"queryName":"test"},"v1:QueryItem":{"name":"dummy text"}}}}}"##;
        let opts = JsonToXmlOptions {
            parse_date: false,
            namespace_separator: ':',
            namespace_prefix: None,
            attribute_block_name: Some("#attrs".into()),
        };
        assert_eq!(
            json_to_xml(json, &opts).unwrap(),
            "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:v1=\"http://localdomain.com/core/v1\">\
             <soapenv:Header /><soapenv:Body><v1:QueryList queryName=\"test\"><v1:QueryItem><name>dummy text</name></v1:QueryItem>\
             </v1:QueryList></soapenv:Body></soapenv:Envelope>"
        );
        // Undeclared prefixes and underscores stay plain names.
        assert_eq!(
            json_to_xml(r#"{"postal_code":"1"}"#, &JsonToXmlOptions::default()).unwrap(),
            "<postal_code>1</postal_code>"
        );
    }

    #[test]
    fn json_to_xml_names_escaping_dates_and_errors() {
        let xml = json_to_xml(
            r#"{"first name":"<a&b>","1x":"2020-01-02T03:04:05.500+01:00"}"#,
            &JsonToXmlOptions::default(),
        )
        .unwrap();
        assert_eq!(
            xml,
            "<Document><first_x0020_name>&lt;a&amp;b&gt;</first_x0020_name><_x0031_x>2020-01-02T02:04:05.5Z</_x0031_x></Document>"
        );
        let kept = json_to_xml(
            r#"{"d":"2020-01-02T03:04:05.500+01:00"}"#,
            &JsonToXmlOptions {
                parse_date: false,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(kept, "<d>2020-01-02T03:04:05.500+01:00</d>");
        assert_eq!(
            json_to_xml("[1,2]", &JsonToXmlOptions::default()).unwrap(),
            "<Document><Array>1</Array><Array>2</Array></Document>"
        );
        assert!(matches!(
            json_to_xml("{not json", &JsonToXmlOptions::default()),
            Err(ConvertError::InvalidJson(_))
        ));
    }

    #[test]
    fn xml_to_json_direct_matches_observed_output() {
        let xml = r#"<?xml version="1.0"?>
<soap:Envelope xmlns="http://fyicenter.com/" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
    <soap:Body><GetOrders><Customer>1234567</Customer></GetOrders></soap:Body>
</soap:Envelope>"#;
        let opts = XmlToJsonOptions {
            kind: XmlToJsonKind::Direct,
            always_array_child_elements: false,
        };
        assert_eq!(
            xml_to_json(xml, &opts).unwrap(),
            r#"{"version":"1.0","soap$Envelope":{"@xmlns":"http://fyicenter.com/","@xmlns$soap":"http://schemas.xmlsoap.org/soap/envelope/","soap$Body":{"GetOrders":{"Customer":"1234567"}}}}"#
        );
    }

    #[test]
    fn xml_to_json_arrays_attributes_text_and_empty() {
        let xml = r#"<r a="1"><i>x</i><i>y</i><e/><t k="v">text</t></r>"#;
        let direct = XmlToJsonOptions {
            kind: XmlToJsonKind::Direct,
            always_array_child_elements: false,
        };
        assert_eq!(
            xml_to_json(xml, &direct).unwrap(),
            r##"{"r":{"@a":"1","i":["x","y"],"e":null,"t":{"@k":"v","#text":"text"}}}"##
        );
        let js = XmlToJsonOptions {
            kind: XmlToJsonKind::JavascriptFriendly,
            always_array_child_elements: true,
        };
        assert_eq!(
            xml_to_json(xml, &js).unwrap(),
            r##"{"r":{"a":"1","i":["x","y"],"e":[null],"t":[{"k":"v","#text":"text"}]}}"##
        );
    }

    #[test]
    fn hostile_xml_is_an_error() {
        let direct = XmlToJsonOptions {
            kind: XmlToJsonKind::Direct,
            always_array_child_elements: false,
        };
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><l>&lol2;</l>"#;
        assert!(matches!(
            xml_to_json(bomb, &direct),
            Err(ConvertError::InvalidXml(_))
        ));
        assert!(matches!(
            xml_to_json("<a><b></a>", &direct),
            Err(ConvertError::InvalidXml(_))
        ));
        assert!(matches!(
            xml_to_json("", &direct),
            Err(ConvertError::InvalidXml(_))
        ));
    }
}
