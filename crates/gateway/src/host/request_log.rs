//! The per-request log line: written by the host itself, once per request, in the shape
//! tracing's text format gives events (timestamp, level, target, message, `key=value` fields):
//!
//! ```text
//! 2026-11-22T01:02:03.456789Z  INFO apim_emu::request: request method=POST path=/openai/... status=200 api="azure-openai" operation="ChatCompletions_Create" backend="http://..." duration_ms=2.1 tokens="9/12/21" request_id=5f0c...
//! ```
//!
//! It is formatted into one buffer, a fraction of the cost of a general-purpose event. On the
//! host's worker threads lines are gathered and handed to the sink together, at least every
//! [`FLUSH_EVERY`] (one `write` on stderr for many requests under load, as nginx's
//! `access_log ... buffer=` does); elsewhere each line goes to the sink at once.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::handler::TokenUsage;

/// How long a line may wait on a worker thread before it is written.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// Lines waiting on a worker thread are written once they reach this size.
const FLUSH_AT: usize = 32 * 1024;

/// Where request lines go: each call gets whole lines, newlines included.
pub type RequestLogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Lines on the process's stderr, one `write` each (lines of concurrent requests never mix).
pub fn stderr_sink() -> RequestLogSink {
    Arc::new(|line: &str| {
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    })
}

/// The fields of one line.
pub(crate) struct LineFields<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub api: Option<&'a str>,
    pub operation: Option<&'a str>,
    pub backend: Option<&'a str>,
    pub duration: Duration,
    pub tokens: Option<TokenUsage>,
    pub request_id: &'a str,
    pub complete: bool,
}

/// Lines gathered on a worker thread, for `sink`.
struct Pending {
    sink: RequestLogSink,
    lines: String,
}

thread_local! {
    /// Set on worker threads (see [`gather_on_this_thread`]).
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
    /// The line being formatted, and the `YYYY-MM-DDTHH:MM:SS` text of the last second seen.
    static BUFFER: RefCell<(String, u64, String)> = RefCell::new((String::with_capacity(512), u64::MAX, String::new()));
}

/// Formats the line and hands it to `sink`.
pub(crate) fn write(sink: &RequestLogSink, f: &LineFields<'_>) {
    BUFFER.with(|b| {
        let Ok(mut b) = b.try_borrow_mut() else {
            // Only a sink that logs a request line from inside itself gets here.
            return;
        };
        let (line, second, stamp) = &mut *b;
        line.clear();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        if now.as_secs() != *second {
            *second = now.as_secs();
            stamp.clear();
            match chrono::DateTime::from_timestamp(now.as_secs() as i64, 0) {
                Some(t) => {
                    let _ = write!(stamp, "{}", t.format("%Y-%m-%dT%H:%M:%S"));
                }
                None => stamp.push_str("1970-01-01T00:00:00"),
            }
        }
        let message = if f.complete {
            "request"
        } else {
            "request (the response body did not reach its end: client gone or size limit)"
        };
        // Pieces pushed one by one: the general formatter costs more than the line's I/O.
        line.push_str(stamp);
        line.push('.');
        push_padded(line, now.subsec_micros(), 6);
        line.push_str("Z  INFO apim_emu::request: ");
        line.push_str(message);
        line.push_str(" method=");
        line.push_str(f.method);
        line.push_str(" path=");
        line.push_str(f.path);
        line.push_str(" status=");
        push_padded(line, u32::from(f.status), 1);
        line.push_str(" api=");
        push_quoted(line, f.api.unwrap_or("-"));
        line.push_str(" operation=");
        push_quoted(line, f.operation.unwrap_or("-"));
        line.push_str(" backend=");
        push_quoted(line, f.backend.unwrap_or("-"));
        let _ = write!(line, " duration_ms={}", f.duration.as_secs_f64() * 1000.0);
        line.push_str(" tokens=");
        match f.tokens {
            // `prompt/completion/total` without the formatter (it showed up under load).
            Some(t) => {
                line.push('"');
                push_u64(line, t.prompt);
                line.push('/');
                push_u64(line, t.completion);
                line.push('/');
                push_u64(line, t.total);
                line.push('"');
            }
            None => line.push_str("\"-\""),
        }
        line.push_str(" request_id=");
        line.push_str(f.request_id);
        line.push('\n');
        let gathered = PENDING.with(|p| {
            let Ok(mut p) = p.try_borrow_mut() else {
                return false;
            };
            match &mut *p {
                Some(p) if Arc::ptr_eq(&p.sink, sink) => {
                    p.lines.push_str(line);
                    if p.lines.len() >= FLUSH_AT {
                        (p.sink)(&p.lines);
                        p.lines.clear();
                    }
                    true
                }
                _ => false,
            }
        });
        if !gathered {
            sink(line);
        }
    })
}

/// `n` in decimal, zero-padded to `width` digits.
fn push_padded(line: &mut String, n: u32, width: usize) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n);
    line.extend(std::iter::repeat_n('0', width.saturating_sub(digits.len())));
    line.push_str(digits);
}

/// `n` in decimal.
fn push_u64(line: &mut String, n: u64) {
    line.push_str(itoa::Buffer::new().format(n));
}

/// `text` as tracing's text format writes a string field (Rust's `Debug` quoting); text that
/// needs no escaping is copied as it is.
fn push_quoted(line: &mut String, text: &str) {
    if text
        .bytes()
        .all(|b| (b.is_ascii_graphic() || b == b' ') && b != b'"' && b != b'\\')
    {
        line.push('"');
        line.push_str(text);
        line.push('"');
    } else {
        let _ = write!(line, "{text:?}");
    }
}

/// From now on, lines for `sink` written on this thread are gathered; the thread must call
/// [`flush_this_thread`] at least every [`FLUSH_EVERY`] and before it ends.
pub(crate) fn gather_on_this_thread(sink: RequestLogSink) {
    PENDING.with(|p| {
        flush_this_thread();
        *p.borrow_mut() = Some(Pending {
            sink,
            lines: String::with_capacity(FLUSH_AT + 1024),
        });
    })
}

/// Writes the lines gathered on this thread.
pub(crate) fn flush_this_thread() {
    PENDING.with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            if let Some(p) = p.as_mut().filter(|p| !p.lines.is_empty()) {
                (p.sink)(&p.lines);
                p.lines.clear();
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

    #[test]
    fn numbers_are_written_whole() {
        let mut line = String::new();
        for n in [0, 7, 10, 1532, u64::MAX] {
            line.clear();
            push_u64(&mut line, n);
            assert_eq!(line, n.to_string());
        }
    }

    #[test]
    fn a_line_has_every_field_in_tracings_text_shape() {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let s = seen.clone();
        let sink: RequestLogSink = Arc::new(move |l: &str| s.lock().push(l.to_string()));
        write(
            &sink,
            &LineFields {
                method: "POST",
                path: "/openai/chat",
                status: 429,
                api: Some("azure-openai"),
                operation: Some("Chat \"quoted\""),
                backend: None,
                duration: Duration::from_micros(2150),
                tokens: Some(TokenUsage {
                    prompt: 9,
                    completion: 12,
                    total: 21,
                }),
                request_id: "5f0c",
                complete: false,
            },
        );
        let lines = seen.lock().clone();
        assert_eq!(lines.len(), 1);
        let l = &lines[0];
        assert!(l.ends_with('\n') && l.matches('\n').count() == 1, "{l}");
        // 2026-11-22T01:02:03.456789Z
        assert_eq!(&l[10..11], "T");
        assert_eq!(&l[26..29], "Z  ", "{l}");
        let rest = &l[29..];
        assert_eq!(
            rest,
            "INFO apim_emu::request: request (the response body did not reach its end: client gone or size limit) method=POST path=/openai/chat status=429 api=\"azure-openai\" operation=\"Chat \\\"quoted\\\"\" backend=\"-\" duration_ms=2.15 tokens=\"9/12/21\" request_id=5f0c\n"
        );
    }

    #[test]
    fn numbers_and_quoted_text_are_written_as_the_formatter_would() {
        for (n, width) in [
            (0, 1),
            (7, 6),
            (123_456, 6),
            (999_999, 6),
            (200, 1),
            (65_535, 1),
        ] {
            let mut line = String::new();
            push_padded(&mut line, n, width);
            assert_eq!(line, format!("{n:0width$}"));
        }
        for text in [
            "azure-openai",
            "-",
            "a \"b\"",
            "tab\there",
            "é ünïcode",
            "back\\slash",
        ] {
            let mut line = String::new();
            push_quoted(&mut line, text);
            assert_eq!(line, format!("{text:?}"));
        }
    }

    #[test]
    fn a_worker_thread_gathers_lines_until_flushed() {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let s = seen.clone();
        let sink: RequestLogSink = Arc::new(move |l: &str| s.lock().push(l.to_string()));
        let other: RequestLogSink = Arc::new(|_: &str| {});
        let seen_other = seen.clone();
        std::thread::spawn(move || {
            gather_on_this_thread(sink.clone());
            let fields = |id| LineFields {
                method: "GET",
                path: "/",
                status: 200,
                api: None,
                operation: None,
                backend: None,
                duration: Duration::ZERO,
                tokens: None,
                request_id: id,
                complete: true,
            };
            write(&sink, &fields("one"));
            write(&sink, &fields("two"));
            // Another host's sink is not gathered with these.
            write(&other, &fields("elsewhere"));
            assert!(seen_other.lock().is_empty());
            flush_this_thread();
        })
        .join()
        .unwrap();
        let batches = seen.lock().clone();
        assert_eq!(batches.len(), 1, "{batches:?}");
        let lines: Vec<&str> = batches[0].lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].ends_with("request_id=one") && lines[1].ends_with("request_id=two"));
    }
}
