//! `JToken.Parse` / `JObject.Parse` / `JArray.Parse` with Newtonsoft's defaults: comments
//! skipped, single quotes and unquoted property names tolerated, ISO-8601 strings read as
//! dates (DateParseHandling.DateTime, RoundtripKind), integers as Int64 or BigInteger.

use super::{JToken, JValue};
use crate::datetime::{DateTime, DateTimeKind, TICKS_PER_MILLISECOND, UNIX_EPOCH_TICKS};
use crate::error::{DotNetException, DotNetResult};
use num_bigint::BigInt;

/// Reader settings that matter for parsing (Newtonsoft defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadSettings {
    /// DateParseHandling.DateTime (default): ISO-8601-looking strings become Date tokens.
    pub parse_dates: bool,
}

impl Default for LoadSettings {
    fn default() -> Self {
        LoadSettings { parse_dates: true }
    }
}

/// What the caller wants at the root (`JToken.Parse`, `JObject.Parse`, `JArray.Parse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    Token,
    Object,
    Array,
}

enum Frame {
    Object(Option<String>),
    Array(i64),
}

/// Newtonsoft's characters that force `['name']` in a path.
pub(crate) fn path_needs_brackets(name: &str) -> bool {
    name.chars().any(|c| {
        matches!(
            c,
            '.' | ' '
                | '\''
                | '/'
                | '"'
                | '['
                | ']'
                | '('
                | ')'
                | '\t'
                | '\n'
                | '\r'
                | '\u{c}'
                | '\u{8}'
                | '\\'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        )
    })
}

pub(crate) fn path_part(name: &str, first: bool, out: &mut String) {
    if path_needs_brackets(name) {
        out.push_str("['");
        out.push_str(&name.replace('\\', "\\\\").replace('\'', "\\'"));
        out.push_str("']");
    } else {
        if !first {
            out.push('.');
        }
        out.push_str(name);
    }
}

/// Properties of an object being read, with a name index once the object grows, so that
/// duplicate detection stays linear on large hostile bodies.
#[derive(Default)]
struct ObjectBuilder {
    props: Vec<(String, JToken)>,
    index: Option<std::collections::HashMap<String, usize>>,
}

impl ObjectBuilder {
    fn insert(&mut self, name: String, value: JToken) {
        if self.index.is_none() && self.props.len() >= 16 {
            self.index = Some(
                self.props
                    .iter()
                    .enumerate()
                    .map(|(i, (n, _))| (n.clone(), i))
                    .collect(),
            );
        }
        let existing = match &self.index {
            Some(map) => map.get(&name).copied(),
            None => self.props.iter().position(|(n, _)| *n == name),
        };
        match existing {
            Some(i) => self.props[i].1 = value,
            None => {
                if let Some(map) = &mut self.index {
                    map.insert(name.clone(), self.props.len());
                }
                self.props.push((name, value));
            }
        }
    }
}

struct Reader<'a> {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    line_start_utf16: usize,
    utf16_pos: usize,
    stack: Vec<Frame>,
    settings: LoadSettings,
    _src: &'a str,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        self.utf16_pos += c.len_utf16();
        if c == '\n' || (c == '\r' && self.peek() != Some('\n')) {
            self.line += 1;
            self.line_start_utf16 = self.utf16_pos;
        }
        Some(c)
    }
    fn path(&self) -> String {
        let mut out = String::new();
        for f in &self.stack {
            match f {
                Frame::Object(Some(n)) => {
                    let first = out.is_empty();
                    path_part(n, first, &mut out);
                }
                Frame::Object(None) => {}
                Frame::Array(i) if *i >= 0 => out.push_str(&format!("[{i}]")),
                Frame::Array(_) => {}
            }
        }
        out
    }
    fn error(&self, message: &str) -> DotNetException {
        let mut m = message.trim().to_string();
        if !m.ends_with('.') {
            m.push('.');
        }
        let (line, col) = if self.pos == 0 && self.stack.is_empty() && self.utf16_pos == 0 {
            (0, 0)
        } else {
            (self.line, self.utf16_pos - self.line_start_utf16)
        };
        DotNetException::json_reader(format!(
            "{m} Path '{}', line {line}, position {col}.",
            self.path()
        ))
    }
    /// Error pointing at the next character (counted as consumed, as Newtonsoft reports).
    fn error_at_next(&mut self, message: &str) -> DotNetException {
        self.bump();
        self.error(message)
    }

    /// Skips whitespace and comments. Returns an error for a malformed comment.
    fn skip_ws(&mut self) -> DotNetResult<()> {
        loop {
            match self.peek() {
                Some(c) if crate::string::is_dotnet_whitespace(c) || c == '\0' => {
                    self.bump();
                }
                Some('/') => {
                    self.bump();
                    match self.peek() {
                        Some('*') => {
                            self.bump();
                            loop {
                                match self.bump() {
                                    None => {
                                        return Err(
                                            self.error("Unexpected end while parsing comment.")
                                        );
                                    }
                                    Some('*') if self.peek() == Some('/') => {
                                        self.bump();
                                        break;
                                    }
                                    _ => {}
                                }
                            }
                        }
                        Some('/') => {
                            while let Some(c) = self.peek() {
                                if c == '\n' || c == '\r' {
                                    break;
                                }
                                self.bump();
                            }
                        }
                        Some(c) => {
                            return Err(self.error_at_next(&format!(
                                "Error parsing comment. Expected: *, got {c}."
                            )));
                        }
                        None => return Err(self.error("Unexpected end while parsing comment.")),
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn read_string(&mut self, quote: char) -> DotNetResult<String> {
        // The opening quote is already consumed.
        let mut s = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(self.error(&format!(
                        "Unterminated string. Expected delimiter: {quote}."
                    )));
                }
                Some(c) if c == quote => return Ok(s),
                Some('\\') => {
                    let Some(e) = self.bump() else {
                        return Err(self.error(&format!(
                            "Unterminated string. Expected delimiter: {quote}."
                        )));
                    };
                    match e {
                        'b' => s.push('\u{8}'),
                        't' => s.push('\t'),
                        'n' => s.push('\n'),
                        'f' => s.push('\u{c}'),
                        'r' => s.push('\r'),
                        '\\' => s.push('\\'),
                        '"' | '\'' | '/' => s.push(e),
                        'u' => {
                            let first = self.read_hex4()?;
                            if (0xD800..0xDC00).contains(&first)
                                && self.peek() == Some('\\')
                                && self.chars.get(self.pos + 1) == Some(&'u')
                            {
                                self.bump();
                                self.bump();
                                let second = self.read_hex4()?;
                                if (0xDC00..0xE000).contains(&second) {
                                    let cp = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                                    s.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                                } else {
                                    s.push('\u{FFFD}');
                                    s.push(char::from_u32(second).unwrap_or('\u{FFFD}'));
                                }
                            } else {
                                // Lone surrogates cannot live in a Rust string.
                                s.push(char::from_u32(first).unwrap_or('\u{FFFD}'));
                            }
                        }
                        other => {
                            return Err(
                                self.error(&format!("Bad JSON escape sequence: \\{other}."))
                            );
                        }
                    }
                }
                Some(c) => s.push(c),
            }
        }
    }

    fn read_hex4(&mut self) -> DotNetResult<u32> {
        let mut v = 0u32;
        let mut text = String::new();
        for _ in 0..4 {
            match self.bump() {
                Some(c) if c.is_ascii_hexdigit() => {
                    text.push(c);
                    v = v * 16 + c.to_digit(16).unwrap_or(0);
                }
                Some(c) => {
                    text.push(c);
                    return Err(self.error(&format!("Invalid Unicode escape sequence: \\u{text}.")));
                }
                None => {
                    return Err(self.error("Unexpected end while parsing Unicode escape sequence."));
                }
            }
        }
        Ok(v)
    }

    fn read_number(&mut self) -> DotNetResult<JValue> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if matches!(c, '-' | '.' | '0'..='9' | 'a'..='f' | 'A'..='F' | 'x' | 'X' | '+') {
                self.bump();
            } else {
                if crate::string::is_dotnet_whitespace(c)
                    || matches!(c, ',' | '}' | ']' | ')' | '/')
                {
                    break;
                }
                return Err(self.error(&format!(
                    "Unexpected character encountered while parsing number: {c}."
                )));
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if text == "-" && self.peek() == Some('I') {
            return self.read_literal("Infinity", JValue::Float(f64::NEG_INFINITY));
        }
        let bytes = text.as_bytes();
        let non_base10 =
            bytes.len() > 1 && bytes[0] == b'0' && !matches!(bytes[1], b'.' | b'e' | b'E');
        if non_base10 {
            let parsed = if text.len() > 2 && (text.starts_with("0x") || text.starts_with("0X")) {
                i64::from_str_radix(&text[2..], 16)
            } else {
                i64::from_str_radix(&text[1..], 8)
            };
            return parsed
                .map(JValue::Integer)
                .map_err(|_| self.error(&format!("Input string '{text}' is not a valid number.")));
        }
        let integral = !text.is_empty()
            && text
                .strip_prefix('-')
                .unwrap_or(&text)
                .bytes()
                .all(|b| b.is_ascii_digit())
            && text != "-";
        if integral {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(JValue::Integer(i));
            }
            if text.len() > 380 {
                return Err(self.error(&format!("JSON integer {text} is too large to parse.")));
            }
            if let Ok(b) = text.parse::<BigInt>() {
                return Ok(JValue::BigInteger(b));
            }
        }
        match crate::number::parse_double_invariant_float(&text) {
            Some(d) => Ok(JValue::Float(d)),
            None => Err(self.error(&format!("Input string '{text}' is not a valid number."))),
        }
    }

    fn read_literal(&mut self, word: &str, value: JValue) -> DotNetResult<JValue> {
        for expected in word.chars() {
            match self.peek() {
                Some(c) if c == expected => {
                    self.bump();
                }
                _ => {
                    let what = match value {
                        JValue::Boolean(_) => "Error parsing boolean value.",
                        JValue::Null => "Error parsing null value.",
                        JValue::Undefined => "Error parsing undefined value.",
                        _ => "Cannot read NaN value.",
                    };
                    return Err(self.error_at_next(what));
                }
            }
        }
        // The literal must end at a delimiter.
        match self.peek() {
            None => Ok(value),
            Some(c)
                if crate::string::is_dotnet_whitespace(c)
                    || matches!(c, ',' | '}' | ']' | ')' | '/') =>
            {
                Ok(value)
            }
            Some(_) => {
                Err(self.error_at_next("Unexpected character encountered while parsing value"))
            }
        }
    }

    fn string_value(&self, s: String) -> JValue {
        if self.settings.parse_dates
            && let Some(d) = try_parse_date(&s)
        {
            return JValue::Date(d);
        }
        JValue::String(s)
    }

    fn begin_value(&mut self) {
        if let Some(Frame::Array(i)) = self.stack.last_mut() {
            *i += 1;
        }
    }

    /// Reads one value (after whitespace). `Ok(None)` means a closing bracket or comma was
    /// found where a value could start (handled by the caller).
    fn read_value(&mut self, depth: usize) -> DotNetResult<JToken> {
        self.skip_ws()?;
        // Newtonsoft 13's default MaxDepth: the 65th nested container is an error.
        if depth >= 64 && matches!(self.peek(), Some('{') | Some('[')) {
            self.bump();
            return Err(self.error("The reader's MaxDepth of 64 has been exceeded."));
        }
        let Some(c) = self.peek() else {
            return Err(self.error("Unexpected end when reading JSON."));
        };
        match c {
            '{' => {
                self.begin_value();
                self.bump();
                self.read_object(depth)
            }
            '[' => {
                self.begin_value();
                self.bump();
                self.read_array(depth)
            }
            '"' | '\'' => {
                self.begin_value();
                self.bump();
                let s = self.read_string(c)?;
                Ok(JToken::new_value(self.string_value(s)))
            }
            't' => {
                self.begin_value();
                self.read_literal("true", JValue::Boolean(true))
                    .map(JToken::new_value)
            }
            'f' => {
                self.begin_value();
                self.read_literal("false", JValue::Boolean(false))
                    .map(JToken::new_value)
            }
            'n' => {
                self.begin_value();
                self.read_literal("null", JValue::Null)
                    .map(JToken::new_value)
            }
            'u' => {
                self.begin_value();
                self.read_literal("undefined", JValue::Undefined)
                    .map(JToken::new_value)
            }
            'N' => {
                self.begin_value();
                self.read_literal("NaN", JValue::Float(f64::NAN))
                    .map(JToken::new_value)
            }
            'I' => {
                self.begin_value();
                self.read_literal("Infinity", JValue::Float(f64::INFINITY))
                    .map(JToken::new_value)
            }
            '-' | '0'..='9' | '.' => {
                self.begin_value();
                self.read_number().map(JToken::new_value)
            }
            other => Err(self.error(&format!(
                "Unexpected character encountered while parsing value: {other}."
            ))),
        }
    }

    fn read_object(&mut self, depth: usize) -> DotNetResult<JToken> {
        let mut props = ObjectBuilder::default();
        self.stack.push(Frame::Object(None));
        loop {
            self.skip_ws()?;
            match self.peek() {
                None => return Err(self.error("Unexpected end of content while loading JObject.")),
                Some('}') => {
                    self.bump();
                    break;
                }
                Some(q @ ('"' | '\'')) => {
                    self.bump();
                    let name = self.read_string(q)?;
                    self.finish_property(&mut props, name, depth)?;
                }
                Some(c) if c.is_alphanumeric() || c == '_' || c == '$' => {
                    let mut name = String::new();
                    while let Some(c) = self.peek() {
                        if c.is_alphanumeric() || c == '_' || c == '$' {
                            name.push(c);
                            self.bump();
                        } else if crate::string::is_dotnet_whitespace(c) || c == ':' {
                            break;
                        } else {
                            return Err(self.error_at_next(&format!(
                                "Invalid JavaScript property identifier character: {c}."
                            )));
                        }
                    }
                    self.finish_property(&mut props, name, depth)?;
                }
                Some(c) => {
                    return Err(self.error(&format!("Invalid property identifier character: {c}.")));
                }
            }
            // After a property value: ',' or '}'.
            self.skip_ws()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some('}') => {
                    self.bump();
                    break;
                }
                None => return Err(self.error("Unexpected end of content while loading JObject.")),
                Some(c) => {
                    return Err(self.error_at_next(&format!(
                        "After parsing a value an unexpected character was encountered: {c}."
                    )));
                }
            }
        }
        self.stack.pop();
        Ok(JToken::object_from_fresh(props.props))
    }

    fn finish_property(
        &mut self,
        props: &mut ObjectBuilder,
        name: String,
        depth: usize,
    ) -> DotNetResult<()> {
        if let Some(Frame::Object(n)) = self.stack.last_mut() {
            *n = Some(name.clone());
        }
        self.skip_ws()?;
        match self.peek() {
            Some(':') => {
                self.bump();
            }
            Some(c) => {
                return Err(self.error(&format!(
                    "Invalid character after parsing property name. Expected ':' but got: {c}."
                )));
            }
            None => return Err(self.error("Unexpected end of content while loading JObject.")),
        }
        self.skip_ws()?;
        if self.peek().is_none() {
            return Err(self.error("Unexpected end of content while loading JObject."));
        }
        let value = self.read_value(depth + 1)?;
        // DuplicatePropertyNameHandling.Replace: a repeated name replaces the value in place.
        props.insert(name, value);
        Ok(())
    }

    fn read_array(&mut self, depth: usize) -> DotNetResult<JToken> {
        let mut items: Vec<JToken> = Vec::new();
        self.stack.push(Frame::Array(-1));
        let mut expect_value = true;
        loop {
            self.skip_ws()?;
            match self.peek() {
                None => return Err(self.error("Unexpected end of content while loading JArray.")),
                Some(']') => {
                    self.bump();
                    break;
                }
                Some(',') if expect_value => {
                    // Newtonsoft reads an empty slot as undefined.
                    self.bump();
                    self.begin_value();
                    items.push(JToken::new_value(JValue::Undefined));
                    continue;
                }
                Some(c) if !expect_value => {
                    if c == ',' {
                        self.bump();
                        expect_value = true;
                        continue;
                    }
                    return Err(self.error_at_next(&format!(
                        "After parsing a value an unexpected character was encountered: {c}."
                    )));
                }
                Some(_) => {
                    let v = self.read_value(depth + 1)?;
                    items.push(v);
                    expect_value = false;
                }
            }
        }
        self.stack.pop();
        Ok(JToken::array_from_fresh(items))
    }
}

/// Parses JSON text into a token (`JToken.Parse`, or `JObject.Parse` / `JArray.Parse` with
/// their root checks).
pub fn parse_root(text: &str, root: RootKind, settings: LoadSettings) -> DotNetResult<JToken> {
    let mut r = Reader {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        line_start_utf16: 0,
        utf16_pos: 0,
        stack: Vec::new(),
        settings,
        _src: text,
    };
    r.skip_ws()?;
    let Some(first) = r.peek() else {
        let what = match root {
            RootKind::Token => "JToken",
            RootKind::Object => "JObject",
            RootKind::Array => "JArray",
        };
        let line_info = if text.is_empty() {
            (0, 0)
        } else {
            (r.line, r.utf16_pos - r.line_start_utf16)
        };
        return Err(DotNetException::json_reader(format!(
            "Error reading {what} from JsonReader. Path '', line {}, position {}.",
            line_info.0, line_info.1
        )));
    };
    match root {
        RootKind::Object if first != '{' => {
            let kind = token_kind_name(first);
            r.bump();
            return Err(r.error(&format!(
                "Error reading JObject from JsonReader. Current JsonReader item is not an object: {kind}"
            )));
        }
        RootKind::Array if first != '[' => {
            let kind = token_kind_name(first);
            r.bump();
            return Err(r.error(&format!(
                "Error reading JArray from JsonReader. Current JsonReader item is not an array: {kind}"
            )));
        }
        _ => {}
    }
    let token = r.read_value(0)?;
    r.skip_ws()?;
    if let Some(c) = r.peek() {
        return Err(r.error(&format!(
            "Additional text encountered after finished reading JSON content: {c}."
        )));
    }
    Ok(token)
}

fn token_kind_name(first: char) -> &'static str {
    match first {
        '{' => "StartObject",
        '[' => "StartArray",
        '"' | '\'' => "String",
        't' | 'f' => "Boolean",
        'n' => "Null",
        'u' => "Undefined",
        '-' | '0'..='9' | 'N' | 'I' => "Integer",
        _ => "None",
    }
}

/// `JToken.Parse(text)`.
pub fn parse_token(text: &str, settings: LoadSettings) -> DotNetResult<JToken> {
    parse_root(text, RootKind::Token, settings)
}

/// Newtonsoft's `DateTimeUtils.TryParseDateTime` for a string token (ISO 8601 and
/// `/Date(ms)/`), with DateTimeZoneHandling.RoundtripKind and the gateway's zone as UTC.
pub fn try_parse_date(s: &str) -> Option<DateTime> {
    // Cheap rejection first: most strings are not dates.
    let first = s.as_bytes().first().copied()?;
    if first != b'/' && (!first.is_ascii_digit() || s.len() < 19) {
        return None;
    }
    let b: Vec<char> = s.chars().collect();
    if b.first() == Some(&'/') {
        if b.len() >= 9 && s.starts_with("/Date(") && s.ends_with(")/") {
            return parse_ms_date(&s[6..s.len() - 2]);
        }
        return None;
    }
    if b.len() < 19 || b.len() > 40 || !b[0].is_ascii_digit() || b[10] != 'T' {
        return None;
    }
    parse_iso(&b)
}

fn parse_ms_date(inner: &str) -> Option<DateTime> {
    // ticks [+-]hhmm
    let idx = inner
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '+' || *c == '-')
        .map(|(i, _)| i);
    let (num, offset) = match idx {
        Some(i) => (&inner[..i], Some(&inner[i..])),
        None => (inner, None),
    };
    let ms: i64 = num.parse().ok()?;
    let ticks = ms
        .checked_mul(TICKS_PER_MILLISECOND)?
        .checked_add(UNIX_EPOCH_TICKS)?;
    let kind = if offset.is_some() {
        DateTimeKind::Local
    } else {
        DateTimeKind::Utc
    };
    DateTime::from_ticks(ticks, kind).ok()
}

fn digits(b: &[char], at: usize, n: usize) -> Option<i64> {
    let mut v = 0i64;
    for i in 0..n {
        let d = b.get(at + i)?.to_digit(10)?;
        v = v * 10 + d as i64;
    }
    Some(v)
}

fn parse_iso(b: &[char]) -> Option<DateTime> {
    let year = digits(b, 0, 4)?;
    if b.get(4) != Some(&'-') || b.get(7) != Some(&'-') {
        return None;
    }
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    if b.get(13) != Some(&':') {
        return None;
    }
    let minute = digits(b, 14, 2)?;
    if b.get(16) != Some(&':') {
        return None;
    }
    let second = digits(b, 17, 2)?;
    let mut i = 19;
    let mut fraction = 0i64;
    if b.get(i) == Some(&'.') {
        i += 1;
        let mut n = 0;
        while n < 7 {
            match b.get(i).and_then(|c| c.to_digit(10)) {
                Some(d) => {
                    fraction = fraction * 10 + d as i64;
                    n += 1;
                    i += 1;
                }
                None => break,
            }
        }
        if n == 0 {
            return None;
        }
        for _ in n..7 {
            fraction *= 10;
        }
    }
    enum Zone {
        None,
        Utc,
        Offset(i64),
    }
    let zone = match b.get(i) {
        Some('Z') | Some('z') => {
            i += 1;
            Zone::Utc
        }
        Some(&sign @ ('+' | '-')) => {
            i += 1;
            let h = digits(b, i, 2)?;
            i += 2;
            let mut m = 0;
            if b.get(i) == Some(&':') {
                m = digits(b, i + 1, 2)?;
                i += 3;
            } else if let Some(v) = digits(b, i, 2) {
                m = v;
                i += 2;
            }
            let total = h * 60 + m;
            Zone::Offset(if sign == '-' { -total } else { total })
        }
        _ => Zone::None,
    };
    while i < b.len() && crate::string::is_dotnet_whitespace(b[i]) {
        i += 1;
    }
    if i != b.len() {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let date = DateTime::new(
        year as i32,
        month as i32,
        day as i32,
        hour as i32,
        minute as i32,
        second as i32,
        0,
        DateTimeKind::Unspecified,
    )
    .ok()?;
    let ticks = date.ticks() + fraction;
    match zone {
        Zone::None => DateTime::from_ticks(ticks, DateTimeKind::Unspecified).ok(),
        Zone::Utc => DateTime::from_ticks(ticks, DateTimeKind::Utc).ok(),
        Zone::Offset(m) => {
            // To UTC, then "local" (the gateway's zone is UTC), clamped as Newtonsoft does.
            let utc = ticks - m * crate::datetime::TICKS_PER_MINUTE;
            let utc = utc.clamp(0, crate::datetime::MAX_TICKS);
            DateTime::from_ticks(utc, DateTimeKind::Local).ok()
        }
    }
}
