//! The request trace (pipeline.md §10): entries `{source, timestamp, elapsed, data}` grouped by
//! section, filled by policies and served by the gateway as JSON.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::errors::Section;

/// One trace entry.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEntry {
    /// Policy name or step (`forward-request`, `api-inspector`, a `trace` policy's source).
    pub source: String,
    pub timestamp: DateTime<Utc>,
    /// Time since the request was received.
    pub elapsed: Duration,
    pub data: Value,
}

impl TraceEntry {
    pub fn to_json(&self) -> Value {
        json!({
            "source": self.source,
            "timestamp": self.timestamp.to_rfc3339_opts(SecondsFormat::Micros, true),
            "elapsed": format_elapsed(self.elapsed),
            "data": self.data,
        })
    }
}

/// Elapsed time as APIM prints it: `00:00:00.0006939` (`hh:mm:ss.fffffff`, days as `d.`).
pub fn format_elapsed(d: Duration) -> String {
    let total = d.as_secs();
    let (days, h, m, s) = (
        total / 86400,
        total / 3600 % 24,
        total / 60 % 60,
        total % 60,
    );
    let ticks = d.subsec_nanos() / 100;
    let day = if days > 0 {
        format!("{days}.")
    } else {
        String::new()
    };
    format!("{day}{h:02}:{m:02}:{s:02}.{ticks:07}")
}

/// Trace of one request. Recording is a no-op unless the trace is enabled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    enabled: bool,
    inbound: Vec<TraceEntry>,
    backend: Vec<TraceEntry>,
    outbound: Vec<TraceEntry>,
    on_error: Vec<TraceEntry>,
}

impl Trace {
    pub fn new(enabled: bool) -> Self {
        Trace {
            enabled,
            ..Default::default()
        }
    }

    /// `context.Tracing`.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    pub fn record(&mut self, section: Section, entry: TraceEntry) {
        if !self.enabled {
            return;
        }
        self.section_mut(section).push(entry);
    }

    fn section_mut(&mut self, section: Section) -> &mut Vec<TraceEntry> {
        match section {
            Section::Inbound => &mut self.inbound,
            Section::Backend => &mut self.backend,
            Section::Outbound => &mut self.outbound,
            Section::OnError => &mut self.on_error,
        }
    }

    pub fn entries(&self, section: Section) -> &[TraceEntry] {
        match section {
            Section::Inbound => &self.inbound,
            Section::Backend => &self.backend,
            Section::Outbound => &self.outbound,
            Section::OnError => &self.on_error,
        }
    }

    /// Rewrites every string in the entries' data with `mask` (e.g. `Plan::mask`, so secret named
    /// values that reached headers never leave the process in a served trace).
    pub fn mask_strings(&mut self, mask: &dyn Fn(&str) -> String) {
        fn walk(v: &mut Value, mask: &dyn Fn(&str) -> String) {
            match v {
                Value::String(s) => *s = mask(s),
                Value::Array(items) => items.iter_mut().for_each(|i| walk(i, mask)),
                Value::Object(map) => map.values_mut().for_each(|i| walk(i, mask)),
                _ => {}
            }
        }
        for entry in self
            .inbound
            .iter_mut()
            .chain(&mut self.backend)
            .chain(&mut self.outbound)
            .chain(&mut self.on_error)
        {
            walk(&mut entry.data, mask);
        }
    }

    /// All entries in pipeline order.
    pub fn all(&self) -> impl Iterator<Item = (Section, &TraceEntry)> {
        [
            Section::Inbound,
            Section::Backend,
            Section::Outbound,
            Section::OnError,
        ]
        .into_iter()
        .flat_map(move |s| self.entries(s).iter().map(move |e| (s, e)))
    }

    /// `{ "traceId": ..., "traceEntries": { "inbound": [...], "backend": [...], "outbound": [...], "on-error": [...] } }`
    pub fn to_json(&self, trace_id: &str) -> Value {
        let arr = |v: &[TraceEntry]| Value::Array(v.iter().map(TraceEntry::to_json).collect());
        json!({
            "traceId": trace_id,
            "traceEntries": {
                "inbound": arr(&self.inbound),
                "backend": arr(&self.backend),
                "outbound": arr(&self.outbound),
                "on-error": arr(&self.on_error),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(source: &str, ms: u64) -> TraceEntry {
        TraceEntry {
            source: source.into(),
            timestamp: DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
                .unwrap()
                .to_utc(),
            elapsed: Duration::from_micros(ms),
            data: json!({"message": "Request is being forwarded to the backend service. Timeout set to 300 seconds"}),
        }
    }

    #[test]
    fn mask_strings_reaches_nested_data() {
        let mut t = Trace::new(true);
        let mut e = entry("forward-request", 1);
        e.data = json!({"request": {"headers": [{"name": "api-key", "value": "s3cret"}]}, "n": 1});
        t.record(Section::Backend, e);
        t.mask_strings(&|s| s.replace("s3cret", "***"));
        let j = t.to_json("id");
        assert_eq!(
            j["traceEntries"]["backend"][0]["data"]["request"]["headers"][0]["value"],
            "***"
        );
        assert_eq!(j["traceEntries"]["backend"][0]["data"]["n"], 1);
    }

    #[test]
    fn entries_group_by_section_only_when_enabled() {
        let mut off = Trace::new(false);
        off.record(Section::Inbound, entry("x", 1));
        assert!(off.all().next().is_none());
        let mut t = Trace::new(true);
        t.record(Section::Backend, entry("forward-request", 694));
        t.record(Section::Inbound, entry("set-header", 10));
        let order: Vec<&str> = t.all().map(|(_, e)| e.source.as_str()).collect();
        assert_eq!(order, ["set-header", "forward-request"]);
        let j = t.to_json("abc");
        assert_eq!(
            j["traceEntries"]["backend"][0]["elapsed"],
            "00:00:00.0006940"
        );
        assert_eq!(
            j["traceEntries"]["backend"][0]["timestamp"],
            "2024-01-01T00:00:00.000000Z"
        );
        assert_eq!(j["traceEntries"]["on-error"], json!([]));
        assert_eq!(j["traceId"], "abc");
    }

    #[test]
    fn elapsed_format() {
        assert_eq!(
            format_elapsed(Duration::from_nanos(693_900)),
            "00:00:00.0006939"
        );
        assert_eq!(
            format_elapsed(Duration::from_secs(90_061)),
            "1.01:01:01.0000000"
        );
    }
}
