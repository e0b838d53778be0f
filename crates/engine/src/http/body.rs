//! Message bodies: buffered bytes or a stream of chunks, with `IMessageBody.As<T>(preserveContent)`'s
//! consume-once rule (expressions.md §4.11).

use std::fmt;
use std::pin::Pin;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

/// A streamed body: chunks as they arrive from the client or the backend.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, BodyError>> + Send>>;

/// Default limit when a streamed body is buffered (set per host).
pub const DEFAULT_BUFFER_LIMIT: usize = 100 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Reading a body that an earlier `As<T>()` without `preserveContent: true` consumed.
    #[error(
        "The message body has already been read. Use preserveContent: true to read it more than once."
    )]
    AlreadyConsumed,
    /// Expressions read bodies synchronously; the engine must buffer first.
    #[error("the message body is a stream that has not been buffered")]
    NotBuffered,
    #[error("the message body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// The peer reset the connection or sent garbage while the body was being read.
    #[error("error while reading the message body: {0}")]
    Transport(String),
}

enum State {
    /// No body (`context.Request.Body` is null).
    None,
    Buffered(Bytes),
    Stream(BodyStream),
    Consumed,
}

pub struct Body {
    state: State,
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            State::None => f.write_str("Body::None"),
            State::Buffered(b) => write!(f, "Body::Buffered({} bytes)", b.len()),
            State::Stream(_) => f.write_str("Body::Stream"),
            State::Consumed => f.write_str("Body::Consumed"),
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::none()
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body::from_bytes(b)
    }
}
impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::from_bytes(Bytes::from(s))
    }
}
impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body::from_bytes(Bytes::from_static(s.as_bytes()))
    }
}
impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Body::from_bytes(Bytes::from(v))
    }
}

impl Body {
    pub fn none() -> Self {
        Body { state: State::None }
    }
    pub fn from_bytes(b: impl Into<Bytes>) -> Self {
        Body {
            state: State::Buffered(b.into()),
        }
    }
    pub fn from_stream(s: BodyStream) -> Self {
        Body {
            state: State::Stream(s),
        }
    }
    /// A stream of ready chunks (tests, simulated backends).
    pub fn from_chunks(chunks: Vec<Result<Bytes, BodyError>>) -> Self {
        Body::from_stream(Box::pin(futures_util::stream::iter(chunks)))
    }

    /// False when the message has no body: expressions then see `Body == null`.
    pub fn is_present(&self) -> bool {
        !matches!(self.state, State::None)
    }
    pub fn is_stream(&self) -> bool {
        matches!(self.state, State::Stream(_))
    }
    pub fn is_consumed(&self) -> bool {
        matches!(self.state, State::Consumed)
    }
    /// Bytes when buffered (without consuming).
    pub fn peek(&self) -> Option<&Bytes> {
        match &self.state {
            State::Buffered(b) => Some(b),
            _ => None,
        }
    }

    /// Reads a stream to the end (at most `limit` bytes) so it can be read synchronously and
    /// re-sent. A body already buffered, absent or consumed is left as it is.
    pub async fn buffer(&mut self, limit: usize) -> Result<(), BodyError> {
        if let State::Stream(s) = &mut self.state {
            let mut buf = BytesMut::new();
            while let Some(chunk) = s.next().await {
                match chunk {
                    Ok(c) => {
                        if buf.len() + c.len() > limit {
                            self.state = State::Consumed;
                            return Err(BodyError::TooLarge { limit });
                        }
                        buf.extend_from_slice(&c);
                    }
                    Err(e) => {
                        self.state = State::Consumed;
                        return Err(e);
                    }
                }
            }
            self.state = State::Buffered(buf.freeze());
        }
        Ok(())
    }

    /// `As<T>(preserveContent)`: the body's bytes. Without `preserve` the body is consumed and a
    /// second read fails with [`BodyError::AlreadyConsumed`]. An absent body reads as empty here;
    /// callers that must see `null` check [`Body::is_present`] first.
    pub fn read(&mut self, preserve: bool) -> Result<Bytes, BodyError> {
        match &self.state {
            State::None => Ok(Bytes::new()),
            State::Buffered(b) => {
                let b = b.clone();
                if !preserve {
                    self.state = State::Consumed;
                }
                Ok(b)
            }
            State::Stream(_) => Err(BodyError::NotBuffered),
            State::Consumed => Err(BodyError::AlreadyConsumed),
        }
    }

    /// `As<string>`: the body decoded as UTF-8 (invalid sequences become U+FFFD, as .NET's decoder does).
    pub fn read_text(&mut self, preserve: bool) -> Result<String, BodyError> {
        let b = self.read(preserve)?;
        let b = b.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(&b);
        Ok(String::from_utf8_lossy(b).into_owned())
    }

    /// Replaces the body (set-body, find-and-replace...).
    pub fn set(&mut self, b: impl Into<Bytes>) {
        self.state = State::Buffered(b.into());
    }

    /// Takes the body to send it. A buffered body is kept so a retry can re-send it
    /// (`buffer-request-body="true"`); a streamed one is moved out and the message is left
    /// without a body, so a retried forward-request sends none, as APIM does.
    pub fn take_for_send(&mut self) -> Body {
        match &self.state {
            State::Buffered(b) => Body::from_bytes(b.clone()),
            State::None | State::Consumed => Body::none(),
            State::Stream(_) => std::mem::take(self),
        }
    }

    /// Moves the body out, leaving none.
    pub fn take(&mut self) -> Body {
        std::mem::take(self)
    }

    /// A copy when buffered (send-request mode="copy"); `None` for a stream.
    pub fn try_clone(&self) -> Option<Body> {
        match &self.state {
            State::None => Some(Body::none()),
            State::Buffered(b) => Some(Body::from_bytes(b.clone())),
            State::Consumed => Some(Body {
                state: State::Consumed,
            }),
            State::Stream(_) => None,
        }
    }

    /// Length when known.
    pub fn len_hint(&self) -> Option<usize> {
        match &self.state {
            State::None | State::Consumed => Some(0),
            State::Buffered(b) => Some(b.len()),
            State::Stream(_) => None,
        }
    }

    /// The body as a stream of chunks for the host to send (a buffered body is one chunk).
    pub fn into_stream(self) -> BodyStream {
        match self.state {
            State::None | State::Consumed => Box::pin(futures_util::stream::empty()),
            State::Buffered(b) => Box::pin(futures_util::stream::once(async move { Ok(b) })),
            State::Stream(s) => s,
        }
    }

    /// Buffers (at most `limit` bytes) and returns the bytes, for hosts and tests.
    pub async fn into_bytes(mut self, limit: usize) -> Result<Bytes, BodyError> {
        self.buffer(limit).await?;
        match self.state {
            State::Buffered(b) => Ok(b),
            State::Consumed => Err(BodyError::AlreadyConsumed),
            _ => Ok(Bytes::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn as_without_preserve_consumes() {
        let mut b = Body::from("{\"a\":1}");
        assert_eq!(b.read_text(true).unwrap(), "{\"a\":1}");
        assert_eq!(b.read_text(false).unwrap(), "{\"a\":1}");
        assert!(b.is_present() && b.is_consumed());
        assert_eq!(b.read(true), Err(BodyError::AlreadyConsumed));
        b.set("new");
        assert_eq!(b.read_text(false).unwrap(), "new");
    }

    #[test]
    fn streams_must_be_buffered_before_sync_reads() {
        let mut b = Body::from_chunks(vec![Ok(Bytes::from("ab")), Ok(Bytes::from("cd"))]);
        assert_eq!(b.read(true), Err(BodyError::NotBuffered));
        block(b.buffer(10)).unwrap();
        assert_eq!(b.read(true).unwrap(), "abcd");
    }

    #[test]
    fn buffering_enforces_the_limit_and_reports_transport_errors() {
        let mut b = Body::from_chunks(vec![Ok(Bytes::from("abc")), Ok(Bytes::from("def"))]);
        assert_eq!(block(b.buffer(5)), Err(BodyError::TooLarge { limit: 5 }));
        let mut r = Body::from_chunks(vec![
            Ok(Bytes::from("abc")),
            Err(BodyError::Transport("connection reset".into())),
        ]);
        assert_eq!(
            block(r.buffer(100)),
            Err(BodyError::Transport("connection reset".into()))
        );
    }

    #[test]
    fn unbuffered_body_is_sent_once_buffered_is_resent() {
        let mut s = Body::from_chunks(vec![Ok(Bytes::from("x"))]);
        let first = s.take_for_send();
        assert!(first.is_stream());
        assert!(!s.is_present(), "a retry sends no body");
        let mut b = Body::from("payload");
        let _ = b.take_for_send();
        assert_eq!(block(b.take_for_send().into_bytes(100)).unwrap(), "payload");
    }

    #[test]
    fn invalid_utf8_is_replaced_and_bom_stripped() {
        let mut b = Body::from(vec![0xEF, 0xBB, 0xBF, b'h', 0xFF, b'i']);
        assert_eq!(b.read_text(true).unwrap(), "h\u{fffd}i");
        assert!(!Body::none().is_present());
    }
}
