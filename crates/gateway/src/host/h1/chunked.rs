//! The chunked transfer coding (RFC 9112 §7.1), both ways: client request bodies and backend
//! response bodies arrive in it, streamed responses leave in it. Strict where leniency lets a
//! request be read two ways (request smuggling): sizes are hex digits only, lines end in CRLF.

use bytes::{Bytes, BytesMut};

/// Bytes a chunk's extensions (`;name=value` after the size) may take; they are skipped.
const MAX_EXTENSION_BYTES: usize = 4 * 1024;
/// Bytes the trailer section may take; trailer fields are read and dropped.
const MAX_TRAILER_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkedError {
    #[error("invalid chunk size line")]
    InvalidSize,
    #[error("chunk size too large")]
    SizeTooLarge,
    #[error("chunk extensions longer than {MAX_EXTENSION_BYTES} bytes")]
    ExtensionTooLong,
    #[error("chunk data not followed by CRLF")]
    MissingCrlf,
    #[error("trailer section longer than {MAX_TRAILER_BYTES} bytes")]
    TrailerTooLong,
    #[error("invalid trailer section")]
    InvalidTrailer,
}

/// What one step of decoding gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Body bytes (never empty).
    Data(Bytes),
    /// The buffer holds no more to decode; read more into it and call again.
    NeedMore,
    /// The last chunk and the trailer section have been read: the body is complete. Bytes after
    /// it in the buffer belong to the next message.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Hex digits of a chunk size; `digits` read so far.
    Size {
        digits: u8,
    },
    /// After the size: optional whitespace and `;extensions`, up to CR.
    Extension {
        skipped: usize,
    },
    /// CR of the size line seen, LF expected.
    SizeLf,
    /// Chunk data still to come.
    Data,
    /// Data done, CR expected.
    DataCr,
    /// Data done and CR seen, LF expected.
    DataLf,
    /// In the trailer section, at the start of a line.
    TrailerLineStart,
    /// Inside a trailer field line.
    TrailerLine,
    /// CR at the end of a trailer field line seen, LF expected.
    TrailerLf,
    /// CR of the empty line ending the trailer section seen, LF expected.
    EndLf,
    Done,
}

/// Decodes a chunked body from a buffer that the caller fills from the connection.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: State,
    /// Size of the current chunk while reading it, then what is left of it.
    remaining: u64,
    trailer_bytes: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        ChunkedDecoder {
            state: State::Size { digits: 0 },
            remaining: 0,
            trailer_bytes: 0,
        }
    }

    /// Whether the whole body has been decoded.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes framing from the front of `buf` and returns the next data (split off `buf`
    /// without copying), `NeedMore` when `buf` is exhausted, or `End`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, ChunkedError> {
        loop {
            if self.state == State::Done {
                return Ok(Decoded::End);
            }
            if self.state == State::Data {
                if buf.is_empty() {
                    return Ok(Decoded::NeedMore);
                }
                let n = usize::try_from(self.remaining)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                self.remaining -= n as u64;
                if self.remaining == 0 {
                    self.state = State::DataCr;
                }
                return Ok(Decoded::Data(buf.split_to(n).freeze()));
            }
            let Some(&b) = buf.first() else {
                return Ok(Decoded::NeedMore);
            };
            let _ = buf.split_to(1);
            self.step(b)?;
        }
    }

    /// One framing byte.
    fn step(&mut self, b: u8) -> Result<(), ChunkedError> {
        self.state = match self.state {
            State::Size { digits } => match hex_value(b) {
                Some(v) => {
                    // 16 hex digits fill a u64; leading zeros are harmless but bounded too.
                    if digits >= 16 || self.remaining >> 60 != 0 {
                        return Err(ChunkedError::SizeTooLarge);
                    }
                    self.remaining = self.remaining << 4 | u64::from(v);
                    State::Size { digits: digits + 1 }
                }
                None if digits == 0 => return Err(ChunkedError::InvalidSize),
                None if b == b'\r' => State::SizeLf,
                None if matches!(b, b';' | b' ' | b'\t') => State::Extension { skipped: 1 },
                None => return Err(ChunkedError::InvalidSize),
            },
            State::Extension { skipped } => match b {
                b'\r' => State::SizeLf,
                b'\n' => return Err(ChunkedError::InvalidSize),
                _ if skipped >= MAX_EXTENSION_BYTES => return Err(ChunkedError::ExtensionTooLong),
                _ => State::Extension {
                    skipped: skipped + 1,
                },
            },
            State::SizeLf => match b {
                b'\n' if self.remaining == 0 => State::TrailerLineStart,
                b'\n' => State::Data,
                _ => return Err(ChunkedError::InvalidSize),
            },
            State::DataCr => match b {
                b'\r' => State::DataLf,
                _ => return Err(ChunkedError::MissingCrlf),
            },
            State::DataLf => match b {
                b'\n' => State::Size { digits: 0 },
                _ => return Err(ChunkedError::MissingCrlf),
            },
            State::TrailerLineStart => match b {
                b'\r' => State::EndLf,
                b'\n' => return Err(ChunkedError::InvalidTrailer),
                _ => self.trailer_byte(State::TrailerLine)?,
            },
            State::TrailerLine => match b {
                b'\r' => self.trailer_byte(State::TrailerLf)?,
                b'\n' => return Err(ChunkedError::InvalidTrailer),
                _ => self.trailer_byte(State::TrailerLine)?,
            },
            State::TrailerLf => match b {
                b'\n' => self.trailer_byte(State::TrailerLineStart)?,
                _ => return Err(ChunkedError::InvalidTrailer),
            },
            State::EndLf => match b {
                b'\n' => State::Done,
                _ => return Err(ChunkedError::InvalidTrailer),
            },
            State::Data | State::Done => unreachable!("handled by decode"),
        };
        Ok(())
    }

    fn trailer_byte(&mut self, next: State) -> Result<State, ChunkedError> {
        self.trailer_bytes += 1;
        if self.trailer_bytes > MAX_TRAILER_BYTES {
            return Err(ChunkedError::TrailerTooLong);
        }
        Ok(next)
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The end of a chunked body: the last chunk and an empty trailer section.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The line before a chunk of `len` bytes (`len` must not be 0: that is the last chunk).
pub fn chunk_header(len: usize) -> ChunkHeader {
    let mut bytes = [0u8; 18];
    let mut n = 0;
    let digits = (usize::BITS - len.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        bytes[n] = b"0123456789abcdef"[(len >> (i * 4)) & 0xf];
        n += 1;
    }
    bytes[n] = b'\r';
    bytes[n + 1] = b'\n';
    ChunkHeader {
        bytes,
        len: n as u8 + 2,
    }
}

/// `size CRLF`, on the stack.
#[derive(Debug, Clone, Copy)]
pub struct ChunkHeader {
    bytes: [u8; 18],
    len: u8,
}

impl AsRef<[u8]> for ChunkHeader {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// Appends one chunk (header, data, CRLF) to `dst`; nothing for empty data.
pub fn encode_chunk(dst: &mut BytesMut, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    dst.extend_from_slice(chunk_header(data.len()).as_ref());
    dst.extend_from_slice(data);
    dst.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed `step` bytes at a time; the data and what was left after the end.
    fn decode_in_steps(input: &[u8], step: usize) -> Result<(Vec<u8>, Vec<u8>), ChunkedError> {
        let mut d = ChunkedDecoder::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut fed = 0;
        loop {
            match d.decode(&mut buf)? {
                Decoded::Data(b) => {
                    assert!(!b.is_empty());
                    out.extend_from_slice(&b);
                }
                Decoded::End => return Ok((out, buf.to_vec())),
                Decoded::NeedMore => {
                    assert!(fed < input.len(), "input ended before the body");
                    let end = (fed + step).min(input.len());
                    buf.extend_from_slice(&input[fed..end]);
                    fed = end;
                }
            }
        }
    }

    #[test]
    fn chunks_extensions_and_trailers_decode_whatever_the_read_sizes() {
        let input = b"5;name=\"v\"\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\nGET /next";
        for step in [1, 2, 3, 7, 64, input.len()] {
            let (data, rest) = decode_in_steps(input, step).unwrap();
            assert_eq!(data, b"helloabcdefghijklmnopqrstuvwxyz", "step {step}");
            // What follows belongs to the next request (only what was fed is left).
            assert!(b"GET /next".starts_with(&rest), "step {step}: {rest:?}");
        }
    }

    #[test]
    fn an_empty_body_is_the_last_chunk_alone() {
        assert_eq!(decode_in_steps(b"0\r\n\r\n", 1).unwrap().0, b"");
    }

    #[test]
    fn framing_that_could_be_read_two_ways_is_refused() {
        for (input, want) in [
            (&b"x\r\nabc\r\n0\r\n\r\n"[..], ChunkedError::InvalidSize),
            (b"\r\n", ChunkedError::InvalidSize),
            (b"+5\r\nhello\r\n0\r\n\r\n", ChunkedError::InvalidSize),
            (b"5\nhello\r\n0\r\n\r\n", ChunkedError::InvalidSize),
            (b"5\r\nhelloX\r\n0\r\n\r\n", ChunkedError::MissingCrlf),
            (b"5\r\nhello\r\r\n", ChunkedError::MissingCrlf),
            (b"0\r\nX: 1\n\r\n", ChunkedError::InvalidTrailer),
            (b"0\r\n\n", ChunkedError::InvalidTrailer),
            (b"10000000000000000\r\n", ChunkedError::SizeTooLarge),
        ] {
            assert_eq!(
                decode_in_steps(input, 1),
                Err(want.clone()),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn extensions_and_trailers_are_bounded() {
        let mut long_ext = b"1;".to_vec();
        long_ext.extend(std::iter::repeat_n(b'a', MAX_EXTENSION_BYTES + 1));
        long_ext.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
        assert_eq!(
            decode_in_steps(&long_ext, 512),
            Err(ChunkedError::ExtensionTooLong)
        );
        let mut long_trailer = b"0\r\nX: ".to_vec();
        long_trailer.extend(std::iter::repeat_n(b'a', MAX_TRAILER_BYTES));
        long_trailer.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            decode_in_steps(&long_trailer, 512),
            Err(ChunkedError::TrailerTooLong)
        );
    }

    #[test]
    fn encoded_chunks_decode_back() {
        let mut wire = BytesMut::new();
        let parts: [&[u8]; 4] = [b"data: {}\n\n", b"", &[b'z'; 300], b"x"];
        for p in parts {
            encode_chunk(&mut wire, p);
        }
        wire.extend_from_slice(LAST_CHUNK);
        let (data, rest) = decode_in_steps(&wire, 5).unwrap();
        assert_eq!(data, parts.concat());
        assert!(rest.is_empty());
        assert_eq!(chunk_header(300).as_ref(), b"12c\r\n");
        assert_eq!(chunk_header(1).as_ref(), b"1\r\n");
        assert_eq!(chunk_header(usize::MAX).as_ref().len(), 18);
    }
}
