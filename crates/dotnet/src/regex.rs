//! `System.Text.RegularExpressions.Regex`: .NET patterns translated to fancy-regex (named
//! groups `(?<n>)`/`(?'n')`, lookarounds, backreferences, atomic groups, class subtraction,
//! .NET group numbering, `$` and `\Z` semantics, RegexOptions), with .NET replacement syntax
//! and Split. Indices and lengths are UTF-16 code units.

use crate::error::{DotNetException, DotNetResult, ExceptionKind};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

/// `RegexOptions` flags.
pub mod options {
    pub const NONE: u32 = 0;
    pub const IGNORE_CASE: u32 = 1;
    pub const MULTILINE: u32 = 2;
    pub const EXPLICIT_CAPTURE: u32 = 4;
    pub const COMPILED: u32 = 8;
    pub const SINGLELINE: u32 = 16;
    pub const IGNORE_PATTERN_WHITESPACE: u32 = 32;
    pub const RIGHT_TO_LEFT: u32 = 64;
    pub const ECMA_SCRIPT: u32 = 256;
    pub const CULTURE_INVARIANT: u32 = 512;
    pub const NON_BACKTRACKING: u32 = 1024;
}

#[derive(Debug, Clone)]
struct GroupInfo {
    /// .NET group number.
    number: usize,
    /// .NET group name (the number as text for unnamed groups).
    name: String,
    /// Index in the translated (fancy-regex) pattern.
    inner: usize,
}

/// A compiled .NET regex.
#[derive(Debug, Clone)]
pub struct Regex {
    pattern: String,
    options: u32,
    re: Arc<fancy_regex::Regex>,
    /// Groups in .NET order (by number), group 0 first.
    groups: Arc<Vec<GroupInfo>>,
}

/// The name from `start` up to the `close` character and that character's index; `None`
/// when the pattern ends first.
fn name_until(p: &[char], start: usize, close: char) -> Option<(String, usize)> {
    let len = p.get(start..)?.iter().position(|&c| c == close)?;
    Some((p[start..start + len].iter().collect(), start + len))
}

fn parse_error(pattern: &str, reason: &str) -> DotNetException {
    DotNetException::argument(format!("parsing \"{pattern}\" - {reason}"))
}

/// One capture group in the source pattern, in order of its opening parenthesis.
struct SourceGroup {
    name: Option<String>,
}

fn scan_groups(p: &[char], explicit: bool) -> Vec<SourceGroup> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut in_class = false;
    while i < p.len() {
        let c = p[i];
        if c == '\\' {
            i += 2;
            continue;
        }
        if in_class {
            if c == ']' {
                in_class = false;
            }
            i += 1;
            continue;
        }
        if c == '[' {
            in_class = true;
            i += 1;
            if p.get(i) == Some(&'^') {
                i += 1;
            }
            if p.get(i) == Some(&']') {
                i += 1;
            }
            continue;
        }
        if c == '(' {
            if p.get(i + 1) == Some(&'?') {
                let n = p.get(i + 2).copied();
                if (n == Some('<') && !matches!(p.get(i + 3), Some('=') | Some('!')))
                    || n == Some('\'')
                {
                    let close = if n == Some('<') { '>' } else { '\'' };
                    let mut j = i + 3;
                    let mut name = String::new();
                    while j < p.len() && p[j] != close {
                        name.push(p[j]);
                        j += 1;
                    }
                    out.push(SourceGroup { name: Some(name) });
                } else if n == Some('P') && p.get(i + 3) == Some(&'<') {
                    let mut j = i + 4;
                    let mut name = String::new();
                    while j < p.len() && p[j] != '>' {
                        name.push(p[j]);
                        j += 1;
                    }
                    out.push(SourceGroup { name: Some(name) });
                }
            } else if !explicit {
                out.push(SourceGroup { name: None });
            }
        }
        i += 1;
    }
    out
}

struct Translator<'a> {
    p: &'a [char],
    pattern: &'a str,
    options: u32,
    /// .NET number → translated group index.
    number_to_inner: HashMap<usize, usize>,
    out: String,
    explicit: bool,
}

impl Translator<'_> {
    fn ecma(&self) -> bool {
        self.options & options::ECMA_SCRIPT != 0
    }

    fn escape(&mut self, i: &mut usize, in_class: bool) -> DotNetResult<()> {
        let p = self.p;
        let Some(&c) = p.get(*i + 1) else {
            return Err(parse_error(self.pattern, "Illegal \\ at end of pattern."));
        };
        *i += 2;
        match c {
            'd' | 'D' | 'w' | 'W' | 's' | 'S' if self.ecma() => {
                let (cls, neg) = match c {
                    'd' => ("0-9", false),
                    'D' => ("0-9", true),
                    'w' => ("a-zA-Z0-9_", false),
                    'W' => ("a-zA-Z0-9_", true),
                    's' => (" \\f\\n\\r\\t\\x0B", false),
                    _ => (" \\f\\n\\r\\t\\x0B", true),
                };
                if in_class {
                    if neg {
                        return Err(parse_error(
                            self.pattern,
                            "negated ECMAScript class inside a set is not supported.",
                        ));
                    }
                    self.out.push_str(cls);
                } else {
                    self.out
                        .push_str(&format!("[{}{cls}]", if neg { "^" } else { "" }));
                }
            }
            'Z' if !in_class => self.out.push_str("(?=\\n?\\z)"),
            'k' if !in_class => {
                let open = p.get(*i).copied();
                let close = match open {
                    Some('<') => '>',
                    Some('\'') => '\'',
                    _ => {
                        return Err(parse_error(
                            self.pattern,
                            "Malformed \\k<...> named back reference.",
                        ));
                    }
                };
                let Some((name, j)) = name_until(p, *i + 1, close) else {
                    return Err(parse_error(
                        self.pattern,
                        "Malformed \\k<...> named back reference.",
                    ));
                };
                *i = j + 1;
                if let Ok(num) = name.parse::<usize>() {
                    let inner = self.number_to_inner.get(&num).copied().ok_or_else(|| {
                        parse_error(
                            self.pattern,
                            &format!("Reference to undefined group number {num}."),
                        )
                    })?;
                    self.out.push_str(&format!("\\{inner}"));
                } else {
                    self.out.push_str(&format!("\\k<{name}>"));
                }
            }
            '1'..='9' if !in_class => {
                let mut num = c.to_digit(10).unwrap_or(0) as usize;
                while let Some(d) = p.get(*i).and_then(|d| d.to_digit(10)) {
                    let candidate = num * 10 + d as usize;
                    if self.number_to_inner.contains_key(&candidate) {
                        num = candidate;
                        *i += 1;
                    } else {
                        break;
                    }
                }
                let inner = self.number_to_inner.get(&num).copied().ok_or_else(|| {
                    parse_error(
                        self.pattern,
                        &format!("Reference to undefined group number {num}."),
                    )
                })?;
                self.out.push_str(&format!("(?:\\{inner})"));
            }
            '0' => {
                // Octal escape \0, \0nn.
                let mut v = 0u32;
                let mut k = 0;
                while k < 2 {
                    match p.get(*i).and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            *i += 1;
                            k += 1;
                        }
                        None => break,
                    }
                }
                self.out.push_str(&format!("\\x{{{v:X}}}"));
            }
            // \uFFFF and \xFF: exactly four or two hex digits
            'u' | 'x' => {
                let width = if c == 'u' { 4 } else { 2 };
                let hex: String = p.iter().skip(*i).take(width).collect();
                if hex.len() != width || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                    return Err(parse_error(
                        self.pattern,
                        "Insufficient hexadecimal digits.",
                    ));
                }
                *i += width;
                self.out.push_str(&format!("\\x{{{hex}}}"));
            }
            'e' => self.out.push_str("\\x1B"),
            'a' => self.out.push_str("\\x07"),
            'c' => {
                let Some(&l) = p.get(*i) else {
                    return Err(parse_error(self.pattern, "Missing control character."));
                };
                *i += 1;
                let v = (l.to_ascii_uppercase() as u32) ^ 0x40;
                self.out.push_str(&format!("\\x{{{v:X}}}"));
            }
            'b' if in_class => self.out.push_str("\\x08"),
            'A' | 'z' | 'b' | 'B' | 'G' | 'd' | 'D' | 'w' | 'W' | 's' | 'S' | 'n' | 'r' | 't'
            | 'f' | 'v' => {
                self.out.push('\\');
                self.out.push(c);
            }
            'p' | 'P' => {
                let mut j = *i;
                if p.get(j) != Some(&'{') {
                    return Err(parse_error(
                        self.pattern,
                        "Malformed \\p{X} character escape.",
                    ));
                }
                let mut name = String::new();
                j += 1;
                while j < p.len() && p[j] != '}' {
                    name.push(p[j]);
                    j += 1;
                }
                *i = j + 1;
                let name = match name.strip_prefix("Is") {
                    // .NET block names (IsGreek) → Rust script names where they coincide.
                    Some(block) => block.to_string(),
                    None => name,
                };
                self.out.push_str(&format!("\\{c}{{{name}}}"));
            }
            other if other.is_ascii_alphanumeric() => {
                return Err(parse_error(
                    self.pattern,
                    &format!("Unrecognized escape sequence \\{other}."),
                ));
            }
            other => {
                // Escaped punctuation or any other char: a literal.
                self.push_literal(other, in_class);
            }
        }
        Ok(())
    }

    fn push_literal(&mut self, c: char, in_class: bool) {
        if c.is_ascii_punctuation()
            || (in_class && c == ' ')
            || c == ' ' && self.options & options::IGNORE_PATTERN_WHITESPACE != 0
        {
            self.out.push('\\');
        }
        self.out.push(c);
    }

    fn class(&mut self, i: &mut usize) -> DotNetResult<()> {
        let p = self.p;
        // At '['.
        *i += 1;
        self.out.push('[');
        if p.get(*i) == Some(&'^') {
            self.out.push('^');
            *i += 1;
        }
        if p.get(*i) == Some(&']') {
            self.out.push_str("\\]");
            *i += 1;
        }
        loop {
            let Some(&c) = p.get(*i) else {
                return Err(parse_error(self.pattern, "Unterminated [] set."));
            };
            match c {
                ']' => {
                    self.out.push(']');
                    *i += 1;
                    return Ok(());
                }
                '\\' => self.escape(i, true)?,
                '-' if p.get(*i + 1) == Some(&'[') => {
                    // Character class subtraction: [a-z-[aeiou]].
                    self.out.push_str("--");
                    *i += 1;
                    self.class(i)?;
                    if p.get(*i) != Some(&']') {
                        return Err(parse_error(
                            self.pattern,
                            "A subtraction must be the last element in a character class.",
                        ));
                    }
                }
                '[' | '&' | '~' => {
                    self.out.push('\\');
                    self.out.push(c);
                    *i += 1;
                }
                '-' if p.get(*i + 1) == Some(&'-') => {
                    self.out.push_str("\\-");
                    *i += 1;
                }
                _ => {
                    self.out.push(c);
                    *i += 1;
                }
            }
        }
    }

    fn run(&mut self) -> DotNetResult<()> {
        let p = self.p;
        let mut i = 0;
        // Multiline (which decides how `$` is translated) follows inline (?m) options, scoped
        // to the enclosing group as in .NET.
        let mut multiline = self.options & options::MULTILINE != 0;
        let mut saved: Vec<bool> = Vec::new();
        while i < p.len() {
            let c = p[i];
            match c {
                '\\' => self.escape(&mut i, false)?,
                '[' => self.class(&mut i)?,
                '$' => {
                    self.out
                        .push_str(if multiline { "(?m:$)" } else { "(?=\\n?\\z)" });
                    i += 1;
                }
                '(' if p.get(i + 1) == Some(&'?') => {
                    let n = p.get(i + 2).copied();
                    match n {
                        Some('#') => {
                            // Inline comment.
                            while i < p.len() && p[i] != ')' {
                                i += 1;
                            }
                            i += 1;
                        }
                        Some('<') if matches!(p.get(i + 3), Some('=') | Some('!')) => {
                            saved.push(multiline);
                            self.out.push_str("(?<");
                            i += 3;
                        }
                        Some('<') | Some('\'') => {
                            let close = if n == Some('<') { '>' } else { '\'' };
                            let Some((name, j)) = name_until(p, i + 3, close) else {
                                return Err(parse_error(
                                    self.pattern,
                                    "Unrecognized grouping construct.",
                                ));
                            };
                            if name.contains('-') {
                                return Err(parse_error(
                                    self.pattern,
                                    "Balancing groups are not supported by apim-emu.",
                                ));
                            }
                            if name.is_empty()
                                || name.chars().next().is_some_and(|f| f.is_ascii_digit())
                            {
                                return Err(parse_error(
                                    self.pattern,
                                    "Numbered named groups are not supported by apim-emu.",
                                ));
                            }
                            if !name.chars().all(|ch| ch.is_alphanumeric() || ch == '_') {
                                return Err(parse_error(
                                    self.pattern,
                                    "Invalid group name: Group names must begin with a word character.",
                                ));
                            }
                            saved.push(multiline);
                            self.out.push_str(&format!("(?P<{name}>"));
                            i = j + 1;
                        }
                        Some(':') | Some('=') | Some('!') | Some('>') | Some('(') | Some('P') => {
                            saved.push(multiline);
                            self.out.push_str("(?");
                            i += 2;
                        }
                        _ => {
                            // Inline options (?imnsx-imnsx) or (?imnsx-imnsx:...).
                            let mut j = i + 2;
                            let mut flags = String::new();
                            while j < p.len() && matches!(p[j], 'i' | 'm' | 'n' | 's' | 'x' | '-') {
                                flags.push(p[j]);
                                j += 1;
                            }
                            if j >= p.len() || !matches!(p[j], ')' | ':') {
                                return Err(parse_error(
                                    self.pattern,
                                    "Unrecognized grouping construct.",
                                ));
                            }
                            let on_part = flags.split('-').next().unwrap_or("");
                            let off_part = flags.split_once('-').map(|(_, off)| off).unwrap_or("");
                            if on_part.contains('n') {
                                self.explicit = true;
                            }
                            let scoped_ml = if on_part.contains('m') {
                                true
                            } else if off_part.contains('m') {
                                false
                            } else {
                                multiline
                            };
                            if p[j] == ':' {
                                saved.push(multiline);
                            }
                            multiline = scoped_ml;
                            let kept: String = flags.chars().filter(|f| *f != 'n').collect();
                            let kept = kept.trim_end_matches('-').to_string();
                            if kept.is_empty() {
                                self.out.push_str(if p[j] == ')' { "" } else { "(?:" });
                            } else {
                                self.out.push_str(&format!("(?{kept}{}", p[j]));
                            }
                            i = j + 1;
                        }
                    }
                }
                '(' => {
                    saved.push(multiline);
                    self.out.push_str(if self.explicit { "(?:" } else { "(" });
                    i += 1;
                }
                ')' => {
                    if let Some(m) = saved.pop() {
                        multiline = m;
                    }
                    self.out.push(')');
                    i += 1;
                }
                '{' => {
                    // A quantifier when well-formed, else a literal brace (as .NET).
                    let mut j = i + 1;
                    let mut body = String::new();
                    while j < p.len() && (p[j].is_ascii_digit() || p[j] == ',') {
                        body.push(p[j]);
                        j += 1;
                    }
                    let valid = p.get(j) == Some(&'}')
                        && !body.is_empty()
                        && body.chars().next().is_some_and(|f| f.is_ascii_digit())
                        && body.matches(',').count() <= 1;
                    if valid {
                        self.out.push('{');
                        self.out.push_str(&body);
                        self.out.push('}');
                        i = j + 1;
                    } else {
                        self.out.push_str("\\{");
                        i += 1;
                    }
                }
                '}' => {
                    self.out.push_str("\\}");
                    i += 1;
                }
                _ => {
                    self.out.push(c);
                    i += 1;
                }
            }
        }
        Ok(())
    }
}

static CACHE: LazyLock<Mutex<HashMap<(String, u32), Regex>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
const CACHE_LIMIT: usize = 512;

impl Regex {
    /// `new Regex(pattern, options)`; compiled patterns are cached.
    pub fn new(pattern: &str, opts: u32) -> DotNetResult<Regex> {
        let key = (pattern.to_string(), opts);
        if let Some(r) = CACHE.lock().get(&key) {
            return Ok(r.clone());
        }
        let r = Self::compile(pattern, opts)?;
        let mut cache = CACHE.lock();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, r.clone());
        Ok(r)
    }

    fn compile(pattern: &str, opts: u32) -> DotNetResult<Regex> {
        let valid = options::IGNORE_CASE
            | options::MULTILINE
            | options::EXPLICIT_CAPTURE
            | options::COMPILED
            | options::SINGLELINE
            | options::IGNORE_PATTERN_WHITESPACE
            | options::RIGHT_TO_LEFT
            | options::ECMA_SCRIPT
            | options::CULTURE_INVARIANT
            | options::NON_BACKTRACKING;
        if opts & !valid != 0 {
            return Err(DotNetException::out_of_range(
                "options",
                "Specified argument was out of the range of valid values.",
            ));
        }
        if opts & options::RIGHT_TO_LEFT != 0 {
            return Err(DotNetException::not_supported("RegexOptions.RightToLeft"));
        }
        let chars: Vec<char> = pattern.chars().collect();
        let explicit = opts & options::EXPLICIT_CAPTURE != 0;
        let source_groups = scan_groups(&chars, explicit);
        // .NET numbers unnamed groups first, then named groups, each in pattern order.
        let mut infos: Vec<GroupInfo> = vec![GroupInfo {
            number: 0,
            name: "0".into(),
            inner: 0,
        }];
        let mut next = 1;
        for (k, g) in source_groups.iter().enumerate() {
            if g.name.is_none() {
                infos.push(GroupInfo {
                    number: next,
                    name: next.to_string(),
                    inner: k + 1,
                });
                next += 1;
            }
        }
        let mut seen_names: HashMap<String, usize> = HashMap::new();
        for (k, g) in source_groups.iter().enumerate() {
            if let Some(n) = &g.name {
                if seen_names.contains_key(n) {
                    return Err(parse_error(
                        pattern,
                        "Reusing a group name is not supported by apim-emu.",
                    ));
                }
                seen_names.insert(n.clone(), next);
                infos.push(GroupInfo {
                    number: next,
                    name: n.clone(),
                    inner: k + 1,
                });
                next += 1;
            }
        }
        let number_to_inner: HashMap<usize, usize> =
            infos.iter().map(|g| (g.number, g.inner)).collect();
        let mut t = Translator {
            p: &chars,
            pattern,
            options: opts,
            number_to_inner,
            out: String::new(),
            explicit,
        };
        t.run()?;
        let mut flags = String::new();
        if opts & options::IGNORE_CASE != 0 {
            flags.push('i');
        }
        if opts & options::MULTILINE != 0 {
            flags.push('m');
        }
        if opts & options::SINGLELINE != 0 {
            flags.push('s');
        }
        if opts & options::IGNORE_PATTERN_WHITESPACE != 0 {
            flags.push('x');
        }
        let translated = if flags.is_empty() {
            t.out
        } else {
            format!("(?{flags}){}", t.out)
        };
        let re = fancy_regex::RegexBuilder::new(&translated)
            .backtrack_limit(1_000_000)
            .build()
            .map_err(|e| parse_error(pattern, &e.to_string()))?;
        Ok(Regex {
            pattern: pattern.to_string(),
            options: opts,
            re: Arc::new(re),
            groups: Arc::new(infos),
        })
    }

    /// `ToString()`: the pattern.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
    pub fn options(&self) -> u32 {
        self.options
    }
    /// `GetGroupNames()` in group-number order.
    pub fn group_names(&self) -> Vec<String> {
        self.groups.iter().map(|g| g.name.clone()).collect()
    }

    fn run_err(e: fancy_regex::Error) -> DotNetException {
        DotNetException::new(
            ExceptionKind::RegexMatchTimeoutException,
            format!("The regex engine gave up on this input (backtracking limit): {e}"),
        )
    }

    fn byte_start(input: &str, start: i32) -> DotNetResult<usize> {
        let len = crate::string::length(input);
        if start < 0 || start > len {
            return Err(DotNetException::out_of_range(
                "startat",
                "Start index cannot be less than 0 or greater than input length.",
            ));
        }
        Ok(utf16_to_byte(input, start as usize))
    }

    /// `IsMatch(input)`.
    pub fn is_match(&self, input: &str) -> DotNetResult<bool> {
        self.re.is_match(input).map_err(Self::run_err)
    }

    /// `Match(input, startat)`.
    pub fn match_at(&self, input: &str, start: i32) -> DotNetResult<Match> {
        let b = Self::byte_start(input, start)?;
        let caps = self.re.captures_from_pos(input, b).map_err(Self::run_err)?;
        Ok(match caps {
            Some(c) => self.make_match(input, &c),
            None => Match::empty(),
        })
    }

    /// `Match(input)`.
    pub fn match_first(&self, input: &str) -> DotNetResult<Match> {
        self.match_at(input, 0)
    }

    /// `Matches(input, startat)`: all successive matches.
    pub fn matches(&self, input: &str, start: i32) -> DotNetResult<Vec<Match>> {
        let mut b = Self::byte_start(input, start)?;
        let mut out = Vec::new();
        loop {
            if b > input.len() {
                break;
            }
            let Some(c) = self.re.captures_from_pos(input, b).map_err(Self::run_err)? else {
                break;
            };
            let Some(m0) = c.get(0) else { break };
            out.push(self.make_match(input, &c));
            if m0.end() == m0.start() {
                // Empty match: bump one character, as .NET does.
                match input[m0.end()..].chars().next() {
                    Some(ch) => b = m0.end() + ch.len_utf8(),
                    None => break,
                }
            } else {
                b = m0.end();
            }
        }
        Ok(out)
    }

    fn make_match(&self, input: &str, c: &fancy_regex::Captures) -> Match {
        let mut groups = Vec::with_capacity(self.groups.len());
        for g in self.groups.iter() {
            let grp = match c.get(g.inner) {
                Some(m) => Group {
                    name: g.name.clone(),
                    number: g.number,
                    success: true,
                    index: utf16_len(&input[..m.start()]) as i32,
                    length: utf16_len(m.as_str()) as i32,
                    value: m.as_str().to_string(),
                },
                None => Group {
                    name: g.name.clone(),
                    number: g.number,
                    success: false,
                    index: 0,
                    length: 0,
                    value: String::new(),
                },
            };
            groups.push(grp);
        }
        Match {
            groups,
            input: Arc::new(input.to_string()),
        }
    }

    /// `Replace(input, replacement, count, startat)` with .NET substitutions; count -1 = all.
    pub fn replace(
        &self,
        input: &str,
        replacement: &str,
        count: i32,
        start: i32,
    ) -> DotNetResult<String> {
        let parts = parse_replacement(replacement, &self.groups);
        self.replace_with(input, count, start, |m| Ok(expand(&parts, m)))
    }

    /// `Replace(input, evaluator, count, startat)`: the evaluator computes each replacement.
    pub fn replace_with(
        &self,
        input: &str,
        count: i32,
        start: i32,
        mut evaluator: impl FnMut(&Match) -> DotNetResult<String>,
    ) -> DotNetResult<String> {
        if count < -1 {
            return Err(DotNetException::out_of_range(
                "count",
                "Count cannot be less than -1.",
            ));
        }
        if count == 0 {
            return Ok(input.to_string());
        }
        let all = self.matches(input, start)?;
        let units = crate::string::utf16(input);
        let mut out: Vec<u16> = Vec::with_capacity(units.len());
        let mut last = 0usize;
        for (k, m) in all.iter().enumerate() {
            if count >= 0 && k as i32 >= count {
                break;
            }
            let idx = m.index() as usize;
            out.extend_from_slice(&units[last..idx]);
            out.extend(evaluator(m)?.encode_utf16());
            last = idx + m.length() as usize;
        }
        out.extend_from_slice(&units[last..]);
        Ok(crate::string::from_utf16(&out))
    }

    /// `Split(input, count, startat)`: captured groups are included in the result, as .NET.
    pub fn split(&self, input: &str, count: i32, start: i32) -> DotNetResult<Vec<String>> {
        if count < 0 {
            return Err(DotNetException::out_of_range(
                "count",
                "Count cannot be less than zero.",
            ));
        }
        if count == 1 {
            return Ok(vec![input.to_string()]);
        }
        let all = self.matches(input, start)?;
        if all.is_empty() {
            return Ok(vec![input.to_string()]);
        }
        let units = crate::string::utf16(input);
        let mut out = Vec::new();
        let mut prev = 0usize;
        let limit = if count == 0 {
            usize::MAX
        } else {
            count as usize - 1
        };
        for m in all.iter().take(limit) {
            let idx = m.index() as usize;
            out.push(crate::string::from_utf16(&units[prev..idx]));
            prev = idx + m.length() as usize;
            for g in m.groups.iter().skip(1) {
                if g.success {
                    out.push(g.value.clone());
                }
            }
        }
        out.push(crate::string::from_utf16(&units[prev..]));
        Ok(out)
    }
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn utf16_to_byte(s: &str, units: usize) -> usize {
    let mut n = 0;
    for (b, ch) in s.char_indices() {
        if n >= units {
            return b;
        }
        n += ch.len_utf16();
    }
    s.len()
}

/// `Group` (and its single `Capture`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub number: usize,
    pub success: bool,
    /// UTF-16 index in the input.
    pub index: i32,
    /// UTF-16 length.
    pub length: i32,
    pub value: String,
}

impl Group {
    /// `Captures`: fancy-regex keeps the last capture of a repeated group only.
    pub fn captures(&self) -> Vec<Group> {
        if self.success {
            vec![self.clone()]
        } else {
            Vec::new()
        }
    }
}

/// `Match`: group 0 is the match itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    groups: Vec<Group>,
    input: Arc<String>,
}

impl Match {
    /// `Match.Empty`.
    pub fn empty() -> Match {
        Match {
            groups: vec![Group {
                name: "0".into(),
                number: 0,
                success: false,
                index: 0,
                length: 0,
                value: String::new(),
            }],
            input: Arc::new(String::new()),
        }
    }
    pub fn success(&self) -> bool {
        self.groups[0].success
    }
    pub fn value(&self) -> &str {
        &self.groups[0].value
    }
    pub fn index(&self) -> i32 {
        self.groups[0].index
    }
    pub fn length(&self) -> i32 {
        self.groups[0].length
    }
    /// `Groups` in number order.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }
    /// `Groups[n]`: an unknown number gives a failed, empty group (as .NET).
    pub fn group_by_number(&self, n: i32) -> Group {
        self.groups
            .iter()
            .find(|g| g.number as i32 == n)
            .cloned()
            .unwrap_or_else(|| Group {
                name: n.to_string(),
                number: 0,
                success: false,
                index: 0,
                length: 0,
                value: String::new(),
            })
    }
    /// `Groups["name"]`: an unknown name gives a failed, empty group.
    pub fn group_by_name(&self, name: &str) -> Group {
        self.groups
            .iter()
            .find(|g| g.name == name)
            .cloned()
            .unwrap_or_else(|| Group {
                name: name.to_string(),
                number: 0,
                success: false,
                index: 0,
                length: 0,
                value: String::new(),
            })
    }
    /// `Result(replacement)`: the replacement pattern expanded for this match.
    pub fn result(&self, replacement: &str) -> DotNetResult<String> {
        if !self.success() {
            return Err(DotNetException::not_supported(
                "Result cannot be called on a failed Match.",
            ));
        }
        let infos: Vec<GroupInfo> = self
            .groups
            .iter()
            .map(|g| GroupInfo {
                number: g.number,
                name: g.name.clone(),
                inner: 0,
            })
            .collect();
        Ok(expand(&parse_replacement(replacement, &infos), self))
    }
}

#[derive(Debug, Clone)]
enum Part {
    Lit(String),
    Group(usize),
    Before,
    After,
    LastGroup,
    Input,
}

fn parse_replacement(r: &str, groups: &[GroupInfo]) -> Vec<Part> {
    let c: Vec<char> = r.chars().collect();
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    let has = |n: usize| groups.iter().any(|g| g.number == n);
    while i < c.len() {
        if c[i] != '$' || i + 1 >= c.len() {
            lit.push(c[i]);
            i += 1;
            continue;
        }
        let n = c[i + 1];
        let mut part = None;
        let mut consumed = 2;
        match n {
            '$' => {
                lit.push('$');
                i += 2;
                continue;
            }
            '&' => part = Some(Part::Group(0)),
            '`' => part = Some(Part::Before),
            '\'' => part = Some(Part::After),
            '+' => part = Some(Part::LastGroup),
            '_' => part = Some(Part::Input),
            '{' => {
                let mut j = i + 2;
                let mut name = String::new();
                while j < c.len() && c[j] != '}' {
                    name.push(c[j]);
                    j += 1;
                }
                if j < c.len() {
                    let found = match name.parse::<usize>() {
                        Ok(num) if has(num) => Some(num),
                        Ok(_) => None,
                        Err(_) => groups.iter().find(|g| g.name == name).map(|g| g.number),
                    };
                    if let Some(num) = found {
                        part = Some(Part::Group(num));
                        consumed = j + 1 - i;
                    }
                }
            }
            d if d.is_ascii_digit() => {
                // Longest digit run that names an existing group.
                let mut j = i + 1;
                let mut best: Option<(usize, usize)> = None;
                let mut num = 0usize;
                while j < c.len() && c[j].is_ascii_digit() {
                    num = num
                        .saturating_mul(10)
                        .saturating_add(c[j].to_digit(10).unwrap_or(0) as usize);
                    j += 1;
                    if has(num) {
                        best = Some((num, j));
                    }
                }
                if let Some((num, end)) = best {
                    part = Some(Part::Group(num));
                    consumed = end - i;
                }
            }
            _ => {}
        }
        match part {
            Some(p) => {
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(p);
                i += consumed;
            }
            None => {
                lit.push('$');
                i += 1;
            }
        }
    }
    if !lit.is_empty() {
        parts.push(Part::Lit(lit));
    }
    parts
}

fn expand(parts: &[Part], m: &Match) -> String {
    let mut out = String::new();
    let units = crate::string::utf16(&m.input);
    for p in parts {
        match p {
            Part::Lit(s) => out.push_str(s),
            Part::Group(n) => out.push_str(&m.group_by_number(*n as i32).value),
            Part::Before => out.push_str(&crate::string::from_utf16(&units[..m.index() as usize])),
            Part::After => out.push_str(&crate::string::from_utf16(
                &units[(m.index() + m.length()) as usize..],
            )),
            Part::LastGroup => {
                if let Some(g) = m.groups.last() {
                    out.push_str(&g.value);
                }
            }
            Part::Input => out.push_str(&m.input),
        }
    }
    out
}

/// `Regex.Unescape(s)`.
pub fn unescape(s: &str) -> DotNetResult<String> {
    let c: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < c.len() {
        if c[i] != '\\' {
            out.push(c[i]);
            i += 1;
            continue;
        }
        let Some(&n) = c.get(i + 1) else {
            return Err(parse_error(s, "Illegal \\ at end of pattern."));
        };
        i += 2;
        let hex = |len: usize, i: &mut usize| -> DotNetResult<char> {
            let h: String = c.iter().skip(*i).take(len).collect();
            if h.len() != len || !h.chars().all(|x| x.is_ascii_hexdigit()) {
                return Err(parse_error(s, "Insufficient hexadecimal digits."));
            }
            *i += len;
            Ok(char::from_u32(u32::from_str_radix(&h, 16).unwrap_or(0xFFFD)).unwrap_or('\u{FFFD}'))
        };
        match n {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            'a' => out.push('\u{7}'),
            'e' => out.push('\u{1b}'),
            'b' => out.push('\u{8}'),
            'x' => out.push(hex(2, &mut i)?),
            'u' => out.push(hex(4, &mut i)?),
            '0'..='7' => {
                let mut v = n.to_digit(8).unwrap_or(0);
                let mut k = 0;
                while k < 2 {
                    match c.get(i).and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            i += 1;
                            k += 1;
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v).unwrap_or('\u{FFFD}'));
            }
            other if other.is_ascii_alphanumeric() => {
                return Err(parse_error(
                    s,
                    &format!("Unrecognized escape sequence \\{other}."),
                ));
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// `Regex.Escape(s)`.
pub fn escape(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        match ch {
            '\\' | '*' | '+' | '?' | '|' | '{' | '[' | '(' | ')' | '^' | '$' | '.' | '#' => {
                out.push('\\');
                out.push(ch);
            }
            ' ' => out.push_str("\\ "),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> Regex {
        Regex::new(p, 0).unwrap()
    }

    fn is_match_with(pattern: &str, options: u32, input: &str) -> bool {
        Regex::new(pattern, options)
            .unwrap()
            .is_match(input)
            .unwrap()
    }

    #[test]
    fn named_groups_and_dotnet_numbering() {
        let r = re(r"(?<year>\d{4})-(\d{2})-(?'day'\d{2})");
        let m = r.match_first("on 2024-05-01!").unwrap();
        assert!(m.success());
        assert_eq!((m.index(), m.length(), m.value()), (3, 10, "2024-05-01"));
        // Unnamed groups are numbered before named ones.
        assert_eq!(m.group_by_number(1).value, "05");
        assert_eq!(m.group_by_number(2).value, "2024");
        assert_eq!(m.group_by_number(3).value, "01");
        assert_eq!(m.group_by_name("day").value, "01");
        assert!(!m.group_by_name("nope").success);
        assert_eq!(r.group_names(), vec!["0", "1", "year", "day"]);
        assert_eq!(
            r.replace("2024-05-01", "${day}/$1/$2", -1, 0).unwrap(),
            "01/05/2024"
        );
    }

    #[test]
    fn lookarounds_backrefs_and_options() {
        assert!(re(r"(?<=\$)\d+").is_match("cost $42").unwrap());
        assert!(!re(r"foo(?!bar)").is_match("foobar").unwrap());
        assert!(re(r"(\w)\1").is_match("hello").unwrap());
        assert!(re(r"(?<c>\w)\k<c>").is_match("hello").unwrap());
        assert!(is_match_with("HELLO", options::IGNORE_CASE, "hello"));
        assert!(re("(?i)HELLO").is_match("hello").unwrap());
        assert!(re("^abc$").is_match("abc\n").unwrap());
        assert!(!re("^abc$").is_match("abc\nx").unwrap());
        assert!(is_match_with("^b$", options::MULTILINE, "a\nb\nc"));
        assert!(re("(?m)^b$").is_match("a\nb\nc").unwrap());
        assert!(re("(?m:^b$)").is_match("a\nb\nc").unwrap());
        assert!(!re("(?m:x)^b$").is_match("a\nb\nc").unwrap());
        assert!(!re("a.c").is_match("a\nc").unwrap());
        assert!(is_match_with("a.c", options::SINGLELINE, "a\nc"));
        assert!(is_match_with(
            "a b # comment",
            options::IGNORE_PATTERN_WHITESPACE,
            "ab"
        ));
        assert!(re(r"[a-z-[aeiou]]+").match_first("xyz").unwrap().success());
        assert_eq!(
            re(r"[a-z-[aeiou]]+").match_first("aeb").unwrap().value(),
            "b"
        );
        assert!(re(r"\d").is_match("٣").unwrap());
        assert!(!is_match_with(r"\d", options::ECMA_SCRIPT, "٣"));
        let m = Regex::new(r"(a)(?<n>b)", options::EXPLICIT_CAPTURE)
            .unwrap()
            .match_first("ab")
            .unwrap();
        assert_eq!(m.groups().len(), 2);
        assert!(re(r"abc\Z").is_match("abc\n").unwrap());
        assert!(re("a{2}").is_match("aa").unwrap());
        assert!(re("a{x").is_match("a{x").unwrap());
    }

    #[test]
    fn invalid_patterns_are_argument_exceptions() {
        let e = Regex::new("(abc", 0).unwrap_err();
        assert_eq!(e.kind, ExceptionKind::ArgumentException);
        assert!(e.message.starts_with("parsing \"(abc\""));
        assert_eq!(
            Regex::new(r"\q", 0).unwrap_err().kind,
            ExceptionKind::ArgumentException
        );
        assert_eq!(
            Regex::new(r"(a)\2", 0).unwrap_err().kind,
            ExceptionKind::ArgumentException
        );
        assert_eq!(
            Regex::new("a", options::RIGHT_TO_LEFT).unwrap_err().kind,
            ExceptionKind::NotSupportedException
        );
    }

    #[test]
    fn matches_indices_are_utf16() {
        let all = re(r"\d+").matches("😀12 ab 345", 0).unwrap();
        let v: Vec<(i32, i32, &str)> = all
            .iter()
            .map(|m| (m.index(), m.length(), m.value()))
            .collect();
        assert_eq!(v, vec![(2, 2, "12"), (8, 3, "345")]);
        assert_eq!(re("x*").matches("abc", 0).unwrap().len(), 4);
        assert_eq!(re(r"\d").match_at("1a2", 1).unwrap().index(), 2);
        assert!(re(r"\d").match_at("1", 5).is_err());
    }

    #[test]
    fn replacement_syntax() {
        let r = re(r"(\w+)@(\w+)");
        let s = "mail bob@host now";
        assert_eq!(
            r.replace(s, "$2 at $1", -1, 0).unwrap(),
            "mail host at bob now"
        );
        assert_eq!(r.replace(s, "[$&]", -1, 0).unwrap(), "mail [bob@host] now");
        assert_eq!(r.replace(s, "$$", -1, 0).unwrap(), "mail $ now");
        assert_eq!(r.replace(s, "$`|", -1, 0).unwrap(), "mail mail | now");
        assert_eq!(r.replace(s, "|$'", -1, 0).unwrap(), "mail | now now");
        assert_eq!(r.replace(s, "$+", -1, 0).unwrap(), "mail host now");
        assert_eq!(
            r.replace(s, "$_", -1, 0).unwrap(),
            "mail mail bob@host now now"
        );
        assert_eq!(r.replace(s, "$9x", -1, 0).unwrap(), "mail $9x now");
        assert_eq!(r.replace(s, "${nope}", -1, 0).unwrap(), "mail ${nope} now");
        assert_eq!(re("a").replace("aaa", "b", 2, 0).unwrap(), "bba");
        let upper = re(r"\w+")
            .replace_with("ab cd", -1, 0, |m| Ok(m.value().to_uppercase()))
            .unwrap();
        assert_eq!(upper, "AB CD");
        let m = r.match_first(s).unwrap();
        assert_eq!(m.result("$2/$1").unwrap(), "host/bob");
    }

    #[test]
    fn split_includes_captures() {
        assert_eq!(
            re(",").split("a,b,,c", 0, 0).unwrap(),
            vec!["a", "b", "", "c"]
        );
        assert_eq!(re("(-)").split("a-b", 0, 0).unwrap(), vec!["a", "-", "b"]);
        assert_eq!(re(",").split("a,b,c", 2, 0).unwrap(), vec!["a", "b,c"]);
        assert_eq!(re("").split("ab", 0, 0).unwrap(), vec!["", "a", "b", ""]);
        assert_eq!(re("x").split("abc", 0, 0).unwrap(), vec!["abc"]);
    }

    #[test]
    fn unescape_and_escape() {
        assert_eq!(unescape(r"a\tb\u0041\x42\.").unwrap(), "a\tbAB.");
        assert_eq!(
            unescape(r"\q").unwrap_err().kind,
            ExceptionKind::ArgumentException
        );
        assert_eq!(escape("a.b*c d"), r"a\.b\*c\ d");
    }
}
