//! `System.String` members with UTF-16 indices, `char` helpers, composite formatting.

/// `char.IsWhiteSpace` (Unicode White_Space, as .NET defines it).
pub fn is_dotnet_whitespace(c: char) -> bool {
    matches!(c, '\u{9}'..='\u{d}' | ' ' | '\u{85}' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}')
}

/// `ToUpperInvariant()`: simple (1:1) case mapping, as .NET does (no "ß" → "SS").
pub fn to_upper_invariant(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut u = c.to_uppercase();
            match (u.next(), u.next()) {
                (Some(x), None) => x,
                _ => c,
            }
        })
        .collect()
}

/// `ToLowerInvariant()`: simple (1:1) case mapping.
pub fn to_lower_invariant(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut u = c.to_lowercase();
            match (u.next(), u.next()) {
                (Some(x), None) => x,
                _ => c,
            }
        })
        .collect()
}
