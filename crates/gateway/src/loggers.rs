//! Sinks for `log-to-eventhub` events: the `loggers:` of apim-emu.yaml map a logger id to
//! standard output, a JSON-lines file or memory. [`LoggerSinks`] is the engine's
//! `services.events`: it hands each event to the sink of its logger id.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use apim_engine::services::{EventRecord, EventSink, MemoryEventSink, StoreError};
use futures_util::future::BoxFuture;
use parking_lot::Mutex;

use crate::config::{Logger, LoggerSink};

/// One event as a JSON line: `{"loggerId":…,"partitionId":…,"partitionKey":…,"message":…}`
/// (absent partition fields are left out).
pub fn event_json(e: &EventRecord) -> String {
    let mut o = serde_json::Map::new();
    o.insert("loggerId".into(), e.logger_id.clone().into());
    if let Some(p) = &e.partition_id {
        o.insert("partitionId".into(), p.clone().into());
    }
    if let Some(p) = &e.partition_key {
        o.insert("partitionKey".into(), p.clone().into());
    }
    o.insert("message".into(), e.message.clone().into());
    serde_json::Value::Object(o).to_string()
}

/// Events as JSON lines on standard output.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdoutEventSink;

impl EventSink for StdoutEventSink {
    fn write(&self, e: EventRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        let line = event_json(&e);
        let r = {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{line}").and_then(|()| out.flush())
        };
        Box::pin(async move { r.map_err(|e| StoreError::Unavailable(format!("stdout: {e}"))) })
    }
}

/// Events as JSON lines appended to a file (opened once, when the sink is made).
#[derive(Debug)]
pub struct FileEventSink {
    path: PathBuf,
    file: Mutex<File>,
}

impl FileEventSink {
    /// Opens (creates) `path` for appending.
    pub fn open(path: &Path) -> std::io::Result<FileEventSink> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(FileEventSink {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl EventSink for FileEventSink {
    fn write(&self, e: EventRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut line = event_json(&e);
        line.push('\n');
        // One write per line: lines from concurrent requests never interleave.
        let r = self.file.lock().write_all(line.as_bytes());
        Box::pin(async move {
            r.map_err(|err| StoreError::Unavailable(format!("{}: {err}", self.path.display())))
        })
    }
}

/// A logger's sink could not be made.
#[derive(Debug, thiserror::Error)]
#[error("logger `{id}`: cannot open {}: {source}", path.display())]
pub struct LoggerError {
    pub id: String,
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// The configured loggers, by id: the engine's `services.events`.
#[derive(Debug, Clone, Default)]
pub struct LoggerSinks {
    sinks: HashMap<String, Arc<dyn EventSink>>,
    memory: HashMap<String, MemoryEventSink>,
}

impl LoggerSinks {
    /// Makes each logger's sink (opening files now, so a bad path stops the start).
    pub fn from_config(loggers: &[Logger]) -> Result<LoggerSinks, LoggerError> {
        let mut out = LoggerSinks::default();
        for l in loggers {
            let sink: Arc<dyn EventSink> = match &l.sink {
                LoggerSink::Stdout => Arc::new(StdoutEventSink),
                LoggerSink::File(path) => {
                    Arc::new(FileEventSink::open(path).map_err(|source| LoggerError {
                        id: l.id.clone(),
                        path: path.clone(),
                        source,
                    })?)
                }
                LoggerSink::Memory => {
                    let m = MemoryEventSink::default();
                    out.memory.insert(l.id.clone(), m.clone());
                    Arc::new(m)
                }
            };
            out.sinks.insert(l.id.clone(), sink);
        }
        Ok(out)
    }

    /// The events a `memory` logger kept.
    pub fn memory(&self, logger_id: &str) -> Option<Vec<EventRecord>> {
        self.memory.get(logger_id).map(MemoryEventSink::events)
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }
}

impl EventSink for LoggerSinks {
    fn write(&self, e: EventRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        match self.sinks.get(&e.logger_id) {
            Some(sink) => sink.write(e),
            None => {
                let id = e.logger_id;
                Box::pin(async move {
                    Err(StoreError::Other(format!(
                        "logger `{id}` is not configured: add it under `loggers:` in apim-emu.yaml"
                    )))
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(logger: &str, message: &str) -> EventRecord {
        EventRecord {
            logger_id: logger.into(),
            partition_id: None,
            partition_key: Some("k1".into()),
            message: message.into(),
        }
    }

    #[test]
    fn event_lines_leave_out_absent_partitions() {
        assert_eq!(
            event_json(&event("usage", "{\"tokens\":3}")),
            r#"{"loggerId":"usage","partitionKey":"k1","message":"{\"tokens\":3}"}"#
        );
    }

    #[tokio::test]
    async fn events_go_to_their_loggers_sink_and_unknown_loggers_are_errors() {
        let sinks = LoggerSinks::from_config(&[
            Logger {
                id: "a".into(),
                sink: LoggerSink::Memory,
            },
            Logger {
                id: "b".into(),
                sink: LoggerSink::Memory,
            },
        ])
        .unwrap();
        sinks.write(event("b", "one")).await.unwrap();
        sinks.write(event("a", "two")).await.unwrap();
        sinks.write(event("b", "three")).await.unwrap();
        let b: Vec<String> = sinks
            .memory("b")
            .unwrap()
            .into_iter()
            .map(|e| e.message)
            .collect();
        assert_eq!(b, ["one", "three"]);
        assert_eq!(sinks.memory("a").unwrap().len(), 1);
        let err = sinks.write(event("c", "x")).await.unwrap_err();
        assert!(
            err.to_string().contains("logger `c` is not configured"),
            "{err}"
        );
    }
}
