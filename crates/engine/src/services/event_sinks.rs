//! Event sinks for the host (log-to-eventhub): a JSON-lines file, standard output, and a
//! router sending each logger id to its own sink.
//!
//! Each event is one JSON object on one line:
//! `{"enqueuedTimeUtc":"2024-01-01T00:00:00Z","loggerId":"usage-eventhub","partitionId":null,"partitionKey":"finance","message":"..."}`
//! (`enqueuedTimeUtc` from the engine clock, as Event Hubs stamps what it receives).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{LineWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use parking_lot::Mutex;

use super::Clock;
use super::store::{EventRecord, EventSink, StoreError};

/// One line of JSON for `e`, received at `clock`'s time.
pub fn event_json_line(e: &EventRecord, clock: &dyn Clock) -> String {
    let now = clock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let v = serde_json::json!({
        "enqueuedTimeUtc": now,
        "loggerId": e.logger_id,
        "partitionId": e.partition_id,
        "partitionKey": e.partition_key,
        "message": e.message,
    });
    // A JSON value always serializes; `message` newlines are escaped, so one event per line.
    v.to_string()
}

fn done(r: Result<(), StoreError>) -> BoxFuture<'static, Result<(), StoreError>> {
    Box::pin(std::future::ready(r))
}

/// Appends each event as a JSON line to a file (created if missing, never truncated). Each
/// line is written whole and flushed, so readers see complete events.
#[derive(Debug, Clone)]
pub struct JsonLinesFileSink {
    path: PathBuf,
    file: Arc<Mutex<LineWriter<File>>>,
    clock: Arc<dyn Clock>,
}

impl JsonLinesFileSink {
    /// Opens (or creates) `path` for appending; its parent folder must exist.
    pub fn open(path: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot open event file {}: {e}", path.display()))
            })?;
        Ok(JsonLinesFileSink {
            path,
            file: Arc::new(Mutex::new(LineWriter::new(file))),
            clock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl EventSink for JsonLinesFileSink {
    fn write(&self, e: EventRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut line = event_json_line(&e, &*self.clock);
        line.push('\n');
        // Small appends: written in place (a line writer flushes at the newline).
        let r = self.file.lock().write_all(line.as_bytes()).map_err(|err| {
            StoreError::Unavailable(format!(
                "cannot write event file {}: {err}",
                self.path.display()
            ))
        });
        done(r)
    }
}

/// Writes each event as a JSON line to standard output.
#[derive(Debug, Clone)]
pub struct StdoutEventSink {
    clock: Arc<dyn Clock>,
}

impl StdoutEventSink {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        StdoutEventSink { clock }
    }
}

impl EventSink for StdoutEventSink {
    fn write(&self, e: EventRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        let line = event_json_line(&e, &*self.clock);
        let out = std::io::stdout();
        let mut lock = out.lock();
        let r = writeln!(lock, "{line}")
            .and_then(|_| lock.flush())
            .map_err(|err| StoreError::Unavailable(format!("cannot write to stdout: {err}")));
        done(r)
    }
}

/// Sends each event to the sink of its logger id; loggers without one go to `fallback`, or
/// are refused when there is none (APIM knows only the loggers configured for the service).
#[derive(Debug, Clone, Default)]
pub struct EventRouter {
    loggers: HashMap<String, Arc<dyn EventSink>>,
    fallback: Option<Arc<dyn EventSink>>,
}

impl EventRouter {
    pub fn new() -> Self {
        EventRouter::default()
    }

    /// Events of `logger_id` go to `sink`.
    pub fn with_logger(mut self, logger_id: impl Into<String>, sink: Arc<dyn EventSink>) -> Self {
        self.loggers.insert(logger_id.into(), sink);
        self
    }

    /// Events of loggers not named with [`with_logger`](Self::with_logger) go to `sink`.
    pub fn with_fallback(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.fallback = Some(sink);
        self
    }
}

impl EventSink for EventRouter {
    fn write(&self, e: EventRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        match self.loggers.get(&e.logger_id).or(self.fallback.as_ref()) {
            Some(sink) => sink.write(e),
            None => done(Err(StoreError::Other(format!(
                "no logger '{}' is configured",
                e.logger_id
            )))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::{MemoryEventSink, VirtualClock};
    use futures_util::FutureExt;

    fn event(logger: &str, message: &str) -> EventRecord {
        EventRecord {
            logger_id: logger.into(),
            partition_id: None,
            partition_key: Some("finance".into()),
            message: message.into(),
        }
    }

    #[test]
    fn a_line_is_one_event_even_with_newlines_in_the_message() {
        let clock = VirtualClock::at_default_start();
        let line = event_json_line(&event("hub", "a\nb"), &clock);
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["message"], "a\nb");
        assert_eq!(v["loggerId"], "hub");
        assert_eq!(v["partitionKey"], "finance");
        assert_eq!(v["partitionId"], serde_json::Value::Null);
        assert_eq!(v["enqueuedTimeUtc"], "2024-01-01T00:00:00Z");
    }

    #[test]
    fn the_router_refuses_unknown_loggers_without_a_fallback() {
        let a = MemoryEventSink::default();
        let rest = MemoryEventSink::default();
        let r = EventRouter::new().with_logger("a", Arc::new(a.clone()));
        assert!(r.write(event("b", "x")).now_or_never().unwrap().is_err());
        let r = r.with_fallback(Arc::new(rest.clone()));
        r.write(event("a", "1")).now_or_never().unwrap().unwrap();
        r.write(event("b", "2")).now_or_never().unwrap().unwrap();
        assert_eq!(a.events().len(), 1);
        assert_eq!(rest.events()[0].message, "2");
    }
}
