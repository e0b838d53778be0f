//! Pre-scan of the raw text, done before the XML parser sees it.
//!
//! APIM accepts policy expressions written raw inside attribute values and element text
//! (`condition="@(context.Variables["x"] == 1 && a < b)"`). The gateway finds each expression by
//! bracket matching that skips C# string and char literals and comments; so does this scan. Each
//! expression, and each other character APIM keeps as plain text but XML would reject (a raw `<`
//! or an `&` that starts no entity in a value, a stray quote inside an attribute value), is
//! replaced by filler of the same byte length, so the XML parser's positions are the source's.
//! The reader then takes every value's text from the original source.

/// Deepest element nesting accepted; deeper documents get a diagnostic instead of a parse.
pub const MAX_DEPTH: usize = 100;

const FILL: u8 = b'_';

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprKind {
    /// `@( ... )`
    Paren,
    /// `@{ ... }`
    Block,
}

/// One expression found in the source: `start` is the `@`, `end` is just after the closing
/// bracket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExprSpan {
    pub start: usize,
    pub end: usize,
    pub kind: ExprKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrescanError {
    /// `@(` / `@{` at this offset has no matching bracket.
    Unbalanced { start: usize, kind: ExprKind },
    /// An element starting at this offset is nested deeper than [`MAX_DEPTH`].
    TooDeep { at: usize },
}

#[derive(Debug)]
pub struct Prescan {
    /// Same byte length as the source; expressions and stray characters replaced by filler.
    pub sanitized: String,
    /// Expressions in source order.
    pub expressions: Vec<ExprSpan>,
    /// Start tags in source order: (offset of `<`, offset just after `>`).
    pub start_tags: Vec<(usize, usize)>,
    /// Names of the top-level start tags and their offsets.
    pub top_level: Vec<(usize, String)>,
    /// Offset of an XML declaration `<?xml ... ?>` range, if present.
    pub xml_decl: Option<(usize, usize)>,
}

impl Prescan {
    /// Expressions whose start lies in `start..end`.
    pub fn expressions_in(&self, start: usize, end: usize) -> &[ExprSpan] {
        let a = self.expressions.partition_point(|e| e.start < start);
        let b = self.expressions.partition_point(|e| e.start < end);
        &self.expressions[a..b]
    }

    /// Offset just after the `>` of the start tag that begins at `lt`.
    pub fn start_tag_end(&self, lt: usize) -> Option<usize> {
        self.start_tags
            .binary_search_by_key(&lt, |t| t.0)
            .ok()
            .map(|i| self.start_tags[i].1)
    }
}

/// The character an entity reference (`&lt;`, `&#34;`, `&#x22;` ...) at `i` stands for, and the
/// reference's length; `None` when the `&` starts no well-formed entity reference.
pub fn entity_char(src: &[u8], i: usize) -> Option<(char, usize)> {
    let rest = &src[i..];
    for (name, c) in [
        (&b"&lt;"[..], '<'),
        (b"&gt;", '>'),
        (b"&amp;", '&'),
        (b"&quot;", '"'),
        (b"&apos;", '\''),
    ] {
        if rest.starts_with(name) {
            return Some((c, name.len()));
        }
    }
    if rest.starts_with(b"&#") {
        let (radix, digits_from) = if rest.get(2) == Some(&b'x') {
            (16, 3)
        } else {
            (10, 2)
        };
        let mut j = digits_from;
        let mut value: u32 = 0;
        while j < rest.len() && j < digits_from + 8 {
            let c = rest[j];
            if c == b';' && j > digits_from {
                return char::from_u32(value).map(|ch| (ch, j + 1));
            }
            let d = (c as char).to_digit(radix)?;
            value = value.checked_mul(radix)?.checked_add(d)?;
            j += 1;
        }
    }
    None
}

/// Like [`entity_char`], with the character as a byte (0xFF for non-ASCII characters).
pub fn entity_at(src: &[u8], i: usize) -> Option<(u8, usize)> {
    entity_char(src, i).map(|(c, l)| (if c.is_ascii() { c as u8 } else { 0xFF }, l))
}

/// One logical character of code: decoded from an entity when `decode` is set.
#[inline]
fn logical(src: &[u8], i: usize, decode: bool) -> (u8, usize) {
    let c = src[i];
    if decode && c == b'&' {
        if let Some(e) = entity_at(src, i) {
            return e;
        }
    }
    (c, 1)
}

#[inline]
fn peek(src: &[u8], i: usize, decode: bool) -> Option<(u8, usize)> {
    if i < src.len() {
        Some(logical(src, i, decode))
    } else {
        None
    }
}

/// Deepest nesting of interpolated strings inside expressions; deeper text is reported as an
/// unbalanced expression instead of exhausting the stack.
const MAX_INTERPOLATION_DEPTH: usize = 32;

/// Scans C# code from `i` until the bracket `close` that balances an already open `open`;
/// returns the offset just after it, or `None` at end of text.
fn scan_code(src: &[u8], i: usize, decode: bool, open: u8, close: u8) -> Option<usize> {
    scan_code_at(src, i, decode, open, close, 0)
}

fn scan_code_at(
    src: &[u8],
    mut i: usize,
    decode: bool,
    open: u8,
    close: u8,
    nesting: usize,
) -> Option<usize> {
    if nesting > MAX_INTERPOLATION_DEPTH {
        return None;
    }
    let mut depth = 1usize;
    while i < src.len() {
        let (c, l) = logical(src, i, decode);
        match c {
            b'"' => i = scan_string(src, i + l, decode, false, false, nesting)?,
            b'\'' => i = scan_char(src, i + l, decode)?,
            b'@' | b'$' => {
                // verbatim / interpolated string prefixes: @" $" $@" @$"
                let mut j = i + l;
                let mut verbatim = c == b'@';
                let mut interp = c == b'$';
                if let Some((c2, l2)) = peek(src, j, decode) {
                    if (c2 == b'@' && interp) || (c2 == b'$' && verbatim) {
                        verbatim = true;
                        interp = true;
                        j += l2;
                    }
                }
                match peek(src, j, decode) {
                    Some((b'"', l3)) => {
                        i = scan_string(src, j + l3, decode, verbatim, interp, nesting)?
                    }
                    _ => i += l,
                }
            }
            b'/' => match peek(src, i + l, decode) {
                Some((b'/', l2)) => {
                    let mut j = i + l + l2;
                    while j < src.len() && src[j] != b'\n' {
                        j += 1;
                    }
                    i = j;
                }
                Some((b'*', l2)) => {
                    let mut j = i + l + l2;
                    loop {
                        let (c, l) = peek(src, j, decode)?;
                        if c == b'*' {
                            if let Some((b'/', l2)) = peek(src, j + l, decode) {
                                i = j + l + l2;
                                break;
                            }
                        }
                        j += l;
                    }
                }
                _ => i += l,
            },
            _ if c == open => {
                depth += 1;
                i += l;
            }
            _ if c == close => {
                depth -= 1;
                i += l;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += l,
        }
    }
    None
}

/// Scans a string literal body (after its opening quote); returns the offset after the closing
/// quote. Interpolated strings recurse into their `{...}` holes.
fn scan_string(
    src: &[u8],
    mut i: usize,
    decode: bool,
    verbatim: bool,
    interp: bool,
    nesting: usize,
) -> Option<usize> {
    loop {
        let (c, l) = peek(src, i, decode)?;
        match c {
            b'\\' if !verbatim => {
                let (_, l2) = peek(src, i + l, decode)?;
                i += l + l2;
            }
            b'"' => {
                if verbatim {
                    if let Some((b'"', l2)) = peek(src, i + l, decode) {
                        i += l + l2;
                        continue;
                    }
                }
                return Some(i + l);
            }
            b'{' if interp => {
                if let Some((b'{', l2)) = peek(src, i + l, decode) {
                    i += l + l2;
                } else {
                    i = scan_code_at(src, i + l, decode, b'{', b'}', nesting + 1)?;
                }
            }
            b'\n' if !verbatim && !interp => return Some(i),
            _ => i += l,
        }
    }
}

/// Scans a char literal body (after the opening quote).
fn scan_char(src: &[u8], mut i: usize, decode: bool) -> Option<usize> {
    let start = i;
    loop {
        // not a char literal after all (a quoted word): scan it as code
        let Some((c, l)) = peek(src, i, decode) else {
            return Some(start);
        };
        match c {
            b'\\' => {
                let (_, l2) = peek(src, i + l, decode)?;
                i += l + l2;
            }
            b'\'' => return Some(i + l),
            b'\n' => return Some(start),
            _ => i += l,
        }
        if i - start > 16 {
            return Some(start);
        }
    }
}

/// Scans the expression starting with `@(` or `@{` at `start`; returns its span, or
/// `Unbalanced` when the closing bracket is missing (or `start` is no expression start).
pub fn scan_expression(src: &[u8], start: usize, decode: bool) -> Result<ExprSpan, PrescanError> {
    let (open, close, kind) = match src.get(start + 1) {
        Some(b'(') => (b'(', b')', ExprKind::Paren),
        Some(b'{') => (b'{', b'}', ExprKind::Block),
        // not an expression start: nothing to match
        _ => {
            return Err(PrescanError::Unbalanced {
                start,
                kind: ExprKind::Paren,
            });
        }
    };
    match scan_code(src, start + 2, decode, open, close) {
        Some(end) => Ok(ExprSpan { start, end, kind }),
        None => Err(PrescanError::Unbalanced { start, kind }),
    }
}

#[inline]
fn is_expr_start(src: &[u8], i: usize) -> bool {
    src[i] == b'@' && matches!(src.get(i + 1), Some(b'(') | Some(b'{'))
}

#[inline]
fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':' || c >= 0x80
}

#[inline]
fn is_name_char(c: u8) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == b'-' || c == b'.'
}

fn find(src: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    if from >= src.len() {
        return None;
    }
    src[from..]
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| p + from)
}

/// Whether the quote just before `i` closes an attribute value: what follows must be the end of
/// the tag or another attribute (`name=`).
fn closes_value(src: &[u8], mut i: usize) -> bool {
    while i < src.len() && src[i].is_ascii_whitespace() {
        i += 1;
    }
    if i >= src.len() {
        return true;
    }
    match src[i] {
        b'>' => true,
        b'/' => src.get(i + 1) == Some(&b'>'),
        b'?' => src.get(i + 1) == Some(&b'>'),
        c if is_name_start(c) => {
            while i < src.len() && is_name_char(src[i]) {
                i += 1;
            }
            while i < src.len() && src[i].is_ascii_whitespace() {
                i += 1;
            }
            src.get(i) == Some(&b'=')
        }
        _ => false,
    }
}

/// Runs the pre-scan over `text` (without BOM).
pub fn prescan(text: &str) -> Result<Prescan, PrescanError> {
    let src = text.as_bytes();
    let n = src.len();
    let mut out = src.to_vec();
    let mut expressions = Vec::new();
    let mut start_tags = Vec::new();
    let mut top_level = Vec::new();
    let mut xml_decl = None;
    let mut depth = 0usize;
    let mut i = 0usize;

    let fill = |out: &mut Vec<u8>, a: usize, b: usize| {
        for byte in &mut out[a..b] {
            if *byte != b'\n' {
                *byte = FILL;
            }
        }
    };

    while i < n {
        let c = src[i];
        if c == b'<' {
            let rest = &src[i..];
            if rest.starts_with(b"<!--") {
                match find(src, i + 4, b"-->") {
                    Some(end) => {
                        // comment text is never read; blank it so `--` or `<!--` inside is fine
                        for byte in &mut out[i + 4..end] {
                            if *byte != b'\n' {
                                *byte = b' ';
                            }
                        }
                        i = end + 3;
                    }
                    None => break,
                }
            } else if rest.starts_with(b"<![CDATA[") {
                match find(src, i + 9, b"]]>") {
                    Some(end) => i = end + 3,
                    None => break,
                }
            } else if rest.starts_with(b"<?") {
                match find(src, i + 2, b"?>") {
                    Some(end) => {
                        if rest.starts_with(b"<?xml") && xml_decl.is_none() {
                            xml_decl = Some((i, end + 2));
                        }
                        i = end + 2;
                    }
                    None => break,
                }
            } else if rest.starts_with(b"<!") {
                match find(src, i + 2, b">") {
                    Some(end) => i = end + 1,
                    None => break,
                }
            } else if rest.get(1) == Some(&b'/') {
                let end = find(src, i + 2, b">").unwrap_or(n.saturating_sub(1));
                depth = depth.saturating_sub(1);
                i = end + 1;
            } else if rest.len() > 1 && is_name_start(rest[1]) {
                let (end, self_closing) =
                    scan_start_tag(src, &mut out, i, &mut expressions, &fill)?;
                if depth == 0 {
                    let mut j = i + 1;
                    while j < n && is_name_char(src[j]) {
                        j += 1;
                    }
                    top_level.push((i, text[i + 1..j].to_string()));
                }
                start_tags.push((i, end));
                if !self_closing {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(PrescanError::TooDeep { at: i });
                    }
                }
                i = end;
            } else {
                // a `<` that starts no markup: APIM keeps it as text
                out[i] = FILL;
                i += 1;
            }
        } else if is_expr_start(src, i) {
            let e = scan_expression(src, i, true)?;
            fill(&mut out, e.start, e.end);
            expressions.push(e);
            i = e.end;
        } else if c == b'&' && entity_at(src, i).is_none() {
            out[i] = FILL;
            i += 1;
        } else {
            i += 1;
        }
    }

    // filler and blanks replace whole ASCII-delimited ranges, so the text stays UTF-8; checked
    // anyway rather than assumed
    let sanitized = String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Ok(Prescan {
        sanitized,
        expressions,
        start_tags,
        top_level,
        xml_decl,
    })
}

type Fill<'a> = dyn Fn(&mut Vec<u8>, usize, usize) + 'a;

/// Scans a start tag at `lt`; returns the offset after its `>` and whether it is self-closing.
fn scan_start_tag(
    src: &[u8],
    out: &mut Vec<u8>,
    lt: usize,
    expressions: &mut Vec<ExprSpan>,
    fill: &Fill<'_>,
) -> Result<(usize, bool), PrescanError> {
    let n = src.len();
    let mut j = lt + 1;
    while j < n && is_name_char(src[j]) {
        j += 1;
    }
    loop {
        while j < n && src[j].is_ascii_whitespace() {
            j += 1;
        }
        if j >= n {
            return Ok((n, false));
        }
        match src[j] {
            b'>' => return Ok((j + 1, false)),
            b'/' if src.get(j + 1) == Some(&b'>') => return Ok((j + 2, true)),
            c if is_name_start(c) => {
                while j < n && is_name_char(src[j]) {
                    j += 1;
                }
                while j < n && src[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < n && src[j] == b'=' {
                    j += 1;
                    while j < n && src[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    if j < n && (src[j] == b'"' || src[j] == b'\'') {
                        j = scan_value(src, out, j, expressions, fill)?;
                    }
                }
            }
            // something the XML parser will report; move on
            b'<' => return Ok((j, false)),
            _ => j += 1,
        }
    }
}

/// Scans an attribute value whose opening quote is at `q`; returns the offset after its closing
/// quote.
fn scan_value(
    src: &[u8],
    out: &mut Vec<u8>,
    q: usize,
    expressions: &mut Vec<ExprSpan>,
    fill: &Fill<'_>,
) -> Result<usize, PrescanError> {
    let quote = src[q];
    let n = src.len();
    let mut k = q + 1;
    while k < n {
        let c = src[k];
        if is_expr_start(src, k) {
            let e = scan_expression(src, k, true)?;
            fill(out, e.start, e.end);
            expressions.push(e);
            k = e.end;
            continue;
        }
        if c == quote {
            if closes_value(src, k + 1) {
                return Ok(k + 1);
            }
            out[k] = FILL;
        } else if c == b'<' || (c == b'&' && entity_at(src, k).is_none()) {
            out[k] = FILL;
        }
        k += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exprs(text: &str) -> Vec<&str> {
        let p = prescan(text).expect("prescan");
        assert_eq!(p.sanitized.len(), text.len());
        p.expressions
            .iter()
            .map(|e| &text[e.start..e.end])
            .collect()
    }

    #[test]
    fn raw_expression_with_quotes_and_operators() {
        let t = r#"<a c="@(context.Variables["x"] == 1 && a < b)" d="y" />"#;
        assert_eq!(exprs(t), vec![r#"@(context.Variables["x"] == 1 && a < b)"#]);
        let p = prescan(t).unwrap();
        assert!(roxmltree::Document::parse(&p.sanitized).is_ok());
    }

    #[test]
    fn brackets_inside_literals_and_comments_are_skipped() {
        let t = "<a>@{ var s = \")\"; var c = ')'; // )\n var v = @\"x\"\")\"; /* } */ return $\"{(s)}\"; }</a>";
        assert_eq!(exprs(t).len(), 1);
        assert!(exprs(t)[0].ends_with("}\"; }"));
    }

    #[test]
    fn nested_interpolation() {
        let t = r#"<a v="@($"a{$"b{(1)}"}c)")" />"#;
        assert_eq!(exprs(t), vec![r#"@($"a{$"b{(1)}"}c)")"#]);
    }

    #[test]
    fn escaped_quotes_count_as_quotes() {
        let t = r#"<a v="@(&quot;)&quot;)" />"#;
        assert_eq!(exprs(t), vec![r#"@(&quot;)&quot;)"#]);
    }

    #[test]
    fn unbalanced_is_reported_at_the_at_sign() {
        let err = prescan(r#"<a v="@(foo(" />"#).unwrap_err();
        assert_eq!(
            err,
            PrescanError::Unbalanced {
                start: 6,
                kind: ExprKind::Paren
            }
        );
    }

    #[test]
    fn placeholders_with_angle_brackets_are_text() {
        let t = r#"<a backend-id="<first_backend_policy_here>" x="a & b" />"#;
        let p = prescan(t).unwrap();
        assert!(
            roxmltree::Document::parse(&p.sanitized).is_ok(),
            "{}",
            p.sanitized
        );
    }

    #[test]
    fn quoted_word_in_single_quotes_is_not_a_char_literal() {
        let t = "<a v=\"@((string)context.Variables['updatedRetryEpoch'])\" />";
        assert_eq!(exprs(t).len(), 1);
        assert!(super::scan_expression(b"@(x['abc'])", 0, false).is_ok());
    }

    #[test]
    fn char_literals_comments_and_verbatim_strings_hide_their_quotes() {
        let cases = [
            r#"<a v="@(c == '"' || c == ')')" b="x" />"#,
            "<a v=\"@{ // a \" quote ) in a comment\n return 1; }\" />",
            r#"<a v="@{ /* ) " } */ return 1; }" />"#,
            r#"<a v="@(@"C:\path"")" + "")" />"#,
            r#"<a v="@($@"{{literal}} {(1)} "" )")" />"#,
            r#"<a v="@(@$"{x} )")" />"#,
            r#"<a v="@("\") \\")" />"#,
        ];
        for t in cases {
            let p = prescan(t).unwrap_or_else(|e| panic!("{t}: {e:?}"));
            assert_eq!(p.expressions.len(), 1, "{t}");
            let e = p.expressions[0];
            assert_eq!(&t[e.end..e.end + 1], "\"", "{t}: ends at {}", &t[..e.end]);
            assert!(roxmltree::Document::parse(&p.sanitized).is_ok(), "{t}");
        }
    }

    #[test]
    fn depth_limit() {
        let t = "<a>".repeat(MAX_DEPTH + 1);
        assert!(matches!(prescan(&t), Err(PrescanError::TooDeep { .. })));
    }
}
