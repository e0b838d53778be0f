//! The `loggers:` of apim-emu.yaml as the engine's `services.events`: each logger id gets one
//! of the engine's sinks (standard output, a JSON-lines file, or memory) behind an
//! [`EventRouter`]. The line format is the engine's [`event_json_line`](apim_engine::services::event_json_line).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use apim_engine::services::{
    Clock, EventRecord, EventRouter, EventSink, JsonLinesFileSink, MemoryEventSink,
    StdoutEventSink, StoreError,
};
use futures_util::future::BoxFuture;

use crate::config::{Logger, LoggerSink};

/// A logger's sink could not be made.
#[derive(Debug, thiserror::Error)]
#[error("logger `{id}`: {source}")]
pub struct LoggerError {
    pub id: String,
    pub path: PathBuf,
    pub source: StoreError,
}

/// The configured loggers, by id: the engine's `services.events`.
#[derive(Debug, Clone, Default)]
pub struct LoggerSinks {
    router: EventRouter,
    ids: Vec<String>,
    memory: HashMap<String, MemoryEventSink>,
}

impl LoggerSinks {
    /// Makes each logger's sink (opening files now, so a bad path stops the start); lines are
    /// stamped with `clock`'s time.
    pub fn from_config(
        loggers: &[Logger],
        clock: Arc<dyn Clock>,
    ) -> Result<LoggerSinks, LoggerError> {
        let mut out = LoggerSinks::default();
        for l in loggers {
            let sink: Arc<dyn EventSink> = match &l.sink {
                LoggerSink::Stdout => Arc::new(StdoutEventSink::new(clock.clone())),
                LoggerSink::File(path) => Arc::new(
                    JsonLinesFileSink::open(path, clock.clone()).map_err(|source| LoggerError {
                        id: l.id.clone(),
                        path: path.clone(),
                        source,
                    })?,
                ),
                LoggerSink::Memory => {
                    let m = MemoryEventSink::default();
                    out.memory.insert(l.id.clone(), m.clone());
                    Arc::new(m)
                }
            };
            out.router = out.router.with_logger(l.id.clone(), sink);
            out.ids.push(l.id.clone());
        }
        Ok(out)
    }

    /// The events a `memory` logger kept.
    pub fn memory(&self, logger_id: &str) -> Option<Vec<EventRecord>> {
        self.memory.get(logger_id).map(MemoryEventSink::events)
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

impl EventSink for LoggerSinks {
    fn write(&self, e: EventRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        self.router.write(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apim_engine::services::VirtualClock;

    fn event(logger: &str, message: &str) -> EventRecord {
        EventRecord {
            logger_id: logger.into(),
            partition_id: None,
            partition_key: Some("k1".into()),
            message: message.into(),
        }
    }

    #[tokio::test]
    async fn events_go_to_their_loggers_sink_and_unknown_loggers_are_errors() {
        let sinks = LoggerSinks::from_config(
            &[
                Logger {
                    id: "a".into(),
                    sink: LoggerSink::Memory,
                },
                Logger {
                    id: "b".into(),
                    sink: LoggerSink::Memory,
                },
            ],
            Arc::new(VirtualClock::at_default_start()),
        )
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
            err.to_string().contains("no logger 'c' is configured"),
            "{err}"
        );
    }
}
