//! `loggers:` in apim-emu.yaml: each logger id gets a sink, and the sinks write the engine's
//! `log-to-eventhub` events.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use apim_engine::services::{EventRecord, EventSink, VirtualClock};
use apim_gateway::config::{LoadOptions, Logger, LoggerSink, load};
use apim_gateway::loggers::LoggerSinks;

/// A scratch folder, removed when the guard drops (also when the test fails).
fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("apim-emu-loggers-{name}-"))
        .tempdir()
        .expect("temp dir")
}

fn write_config(dir: &Path, loggers: &str) -> PathBuf {
    let path = dir.join("apim-emu.yaml");
    std::fs::write(
        &path,
        format!(
            "apis:\n  echo:\n    path: echo\n    serviceUrl: http://127.0.0.1:9\n    subscriptionRequired: false\n    operations:\n      get: {{method: GET, urlTemplate: /}}\n{loggers}"
        ),
    )
    .unwrap();
    path
}

fn event(logger: &str, message: &str) -> EventRecord {
    EventRecord {
        logger_id: logger.into(),
        partition_id: Some("0".into()),
        partition_key: None,
        message: message.into(),
    }
}

#[tokio::test]
async fn loggers_load_and_each_sink_writes_its_events() {
    let dir_guard = temp_dir("ok");
    let dir = dir_guard.path();
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let path = write_config(
        dir,
        "loggers:\n  usage-hub: {file: logs/usage.jsonl}\n  audit: stdout\n  tests: memory\n",
    );
    let loaded = load(&path, &LoadOptions::default()).unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(
        loaded.loggers,
        vec![
            Logger {
                id: "usage-hub".into(),
                sink: LoggerSink::File(dir.join("logs/usage.jsonl")),
            },
            Logger {
                id: "audit".into(),
                sink: LoggerSink::Stdout,
            },
            Logger {
                id: "tests".into(),
                sink: LoggerSink::Memory,
            },
        ]
    );
    let clock = VirtualClock::at_default_start();
    let sinks = LoggerSinks::from_config(&loaded.loggers, Arc::new(clock.clone())).unwrap();
    sinks
        .write(event("usage-hub", r#"{"tokens":21}"#))
        .await
        .unwrap();
    clock.advance(std::time::Duration::from_millis(1500));
    sinks.write(event("usage-hub", "second")).await.unwrap();
    sinks.write(event("tests", "kept")).await.unwrap();
    sinks.write(event("audit", "printed")).await.unwrap();

    let text = std::fs::read_to_string(dir.join("logs/usage.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        vec![
            serde_json::json!({"enqueuedTimeUtc": "2024-01-01T00:00:00Z", "loggerId": "usage-hub", "partitionId": "0", "partitionKey": null, "message": "{\"tokens\":21}"}),
            serde_json::json!({"enqueuedTimeUtc": "2024-01-01T00:00:01.500Z", "loggerId": "usage-hub", "partitionId": "0", "partitionKey": null, "message": "second"}),
        ]
    );
    let kept = sinks.memory("tests").unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].message, "kept");
    assert!(sinks.memory("usage-hub").is_none());

    // A second start appends rather than truncating.
    let again = LoggerSinks::from_config(&loaded.loggers, Arc::new(clock)).unwrap();
    again.write(event("usage-hub", "third")).await.unwrap();
    let text = std::fs::read_to_string(dir.join("logs/usage.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 3);
}

#[test]
fn a_bad_sink_or_a_missing_folder_is_an_error_at_its_line() {
    let dir_guard = temp_dir("bad");
    let dir = dir_guard.path();
    for (loggers, expected) in [
        (
            "loggers:\n  a: eventhub\n",
            "apim-emu.yaml:9:6: error: unknown logger sink `eventhub`",
        ),
        (
            "loggers:\n  b: {file: no/such/folder/events.jsonl}\n",
            "apim-emu.yaml:9:13: error: logger `b`: cannot write events to `no/such/folder/events.jsonl`",
        ),
        ("loggers:\n  c: {path: x}\n", "apim-emu.yaml:9:"),
    ] {
        let path = write_config(dir, loggers);
        let err = load(&path, &LoadOptions::default()).unwrap_err();
        let text = err.render();
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }
}
