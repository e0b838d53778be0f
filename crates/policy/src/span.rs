//! Source positions: byte ranges with 1-based line and column, and the index that maps one to the
//! other.

use serde::Serialize;

/// A range of the source text (bytes) with the line and column where it starts.
///
/// `line` and `col` are 1-based; `col` counts characters (not bytes) from the start of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub line: u32,
    pub col: u32,
}

impl Span {
    /// A span with no position, used when comparing models while ignoring positions.
    pub const NONE: Span = Span {
        start: 0,
        end: 0,
        line: 0,
        col: 0,
    };

    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

/// Maps byte offsets of one source text to line and column.
///
/// Column lookups cost O(log n) plus at most [`CHECKPOINT`] bytes of character counting, so a
/// huge single-line document does not make every lookup scan the whole line.
#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Byte offset where each line starts.
    starts: Vec<usize>,
    /// (byte offset, characters since its line start): at every line start and every
    /// [`CHECKPOINT`] bytes within a line.
    checkpoints: Vec<(usize, usize)>,
    len: usize,
}

/// Distance between column checkpoints within a line, in bytes.
pub const CHECKPOINT: usize = 1024;

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        let mut checkpoints = vec![(0, 0)];
        let mut chars_in_line = 0usize;
        let mut last = 0usize;
        for (i, c) in text.char_indices() {
            if i - last >= CHECKPOINT {
                checkpoints.push((i, chars_in_line));
                last = i;
            }
            if c == '\n' {
                starts.push(i + 1);
                checkpoints.push((i + 1, 0));
                last = i + 1;
                chars_in_line = 0;
            } else {
                chars_in_line += 1;
            }
        }
        LineIndex {
            starts,
            checkpoints,
            len: text.len(),
        }
    }

    /// 1-based line and character column of a byte offset (clamped to the text).
    pub fn line_col(&self, text: &str, offset: usize) -> (u32, u32) {
        let mut offset = offset.min(self.len);
        while offset > 0 && !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let cp = self
            .checkpoints
            .partition_point(|c| c.0 <= offset)
            .saturating_sub(1);
        let (at, chars) = self.checkpoints.get(cp).copied().unwrap_or((0, 0));
        let col = chars
            + text
                .get(at..offset)
                .map(|s| s.chars().count())
                .unwrap_or(offset - at);
        (line as u32 + 1, col as u32 + 1)
    }

    /// Byte offset of a 1-based line and character column (clamped to the text).
    pub fn offset(&self, text: &str, line: u32, col: u32) -> usize {
        let line = (line.max(1) as usize - 1).min(self.starts.len() - 1);
        let start = self.starts[line];
        let end = self.starts.get(line + 1).copied().unwrap_or(self.len);
        let mut off = start;
        for (n, (i, _)) in text[start..end].char_indices().enumerate() {
            off = start + i;
            if n + 1 >= col as usize {
                return off;
            }
        }
        if col as usize > 1 {
            end.min(self.len)
        } else {
            off
        }
    }

    /// The span of a byte range.
    pub fn span(&self, text: &str, start: usize, end: usize) -> Span {
        let (line, col) = self.line_col(text, start);
        Span {
            start,
            end: end.max(start),
            line,
            col,
        }
    }

    /// The text of the 1-based line (without its line break).
    pub fn line_text<'a>(&self, text: &'a str, line: u32) -> &'a str {
        let i = (line.max(1) as usize - 1).min(self.starts.len() - 1);
        let start = self.starts[i];
        let end = self.starts.get(i + 1).copied().unwrap_or(self.len);
        text.get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let text = "ab\ncé d\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 0), (1, 1));
        assert_eq!(idx.line_col(text, 3), (2, 1));
        // 'd' is after a two-byte 'é': byte 7, character column 4
        assert_eq!(idx.line_col(text, 7), (2, 4));
        assert_eq!(idx.offset(text, 2, 4), 7);
        assert_eq!(idx.line_text(text, 2), "cé d");
    }

    #[test]
    fn columns_on_a_long_line_use_checkpoints() {
        let text = format!("{}é{}x", "a".repeat(3000), "b".repeat(3000));
        let idx = LineIndex::new(&text);
        let x = text.len() - 1;
        assert_eq!(idx.line_col(&text, x), (1, 6002));
        assert_eq!(idx.line_col(&text, 3002), (1, 3002));
    }
}
