//! `/_emu/metrics`: emitted metrics (emit-metric, llm-emit-token-metric) and the host's own
//! request counters in Prometheus text format (version 0.0.4).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::time::Duration;

use std::sync::Arc;

use apim_engine::services::{MetricRecord, MetricSink};
use parking_lot::Mutex;

/// Upper bounds (seconds) of the request duration histogram.
pub const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The host's request counters and latency histogram.
#[derive(Debug, Default)]
pub struct HostMetrics {
    inner: Mutex<HostInner>,
}

#[derive(Debug, Default)]
struct HostInner {
    /// api → status → count (an api seen before costs no allocation).
    requests: HashMap<String, HashMap<u16, u64>>,
    buckets: [u64; DURATION_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl HostMetrics {
    pub fn observe(&self, status: u16, api: Option<&str>, duration: Duration) {
        let secs = duration.as_secs_f64();
        let mut m = self.inner.lock();
        let api = api.unwrap_or("");
        let by_status = match m.requests.get_mut(api) {
            Some(s) => s,
            None => m.requests.entry(api.to_string()).or_default(),
        };
        *by_status.entry(status).or_default() += 1;
        for (i, le) in DURATION_BUCKETS.iter().enumerate() {
            if secs <= *le {
                m.buckets[i] += 1;
            }
        }
        m.count += 1;
        m.sum += secs;
    }

    fn render(&self, out: &mut String) {
        let m = self.inner.lock();
        out.push_str("# HELP apim_emu_requests_total Requests answered by the gateway.\n");
        out.push_str("# TYPE apim_emu_requests_total counter\n");
        let mut rows: Vec<(u16, &str, u64)> = m
            .requests
            .iter()
            .flat_map(|(api, s)| s.iter().map(move |(status, n)| (*status, api.as_str(), *n)))
            .collect();
        rows.sort_unstable();
        for (status, api, n) in rows {
            let _ = writeln!(
                out,
                "apim_emu_requests_total{{api=\"{}\",status=\"{status}\"}} {n}",
                escape_label(api)
            );
        }
        out.push_str(
            "# HELP apim_emu_request_duration_seconds Time until the response headers were ready.\n",
        );
        out.push_str("# TYPE apim_emu_request_duration_seconds histogram\n");
        for (i, le) in DURATION_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "apim_emu_request_duration_seconds_bucket{{le=\"{le}\"}} {}",
                m.buckets[i]
            );
        }
        let _ = writeln!(
            out,
            "apim_emu_request_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            m.count
        );
        let _ = writeln!(out, "apim_emu_request_duration_seconds_sum {}", m.sum);
        let _ = writeln!(out, "apim_emu_request_duration_seconds_count {}", m.count);
    }
}

/// A Prometheus metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`; anything else becomes `_`.
pub fn sanitize_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A label name: like a metric name without `:`, and not starting with `__` (reserved).
fn sanitize_label(s: &str) -> String {
    let mut out = sanitize_name(s).replace(':', "_");
    while out.starts_with("__") {
        out.remove(0);
    }
    out
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// name → labels → (sum, count).
type Series = BTreeMap<String, BTreeMap<String, (f64, u64)>>;

/// The metric sink behind `/_emu/metrics`: each record is added to its series (namespace, name
/// and dimensions) as it arrives, as Azure Monitor aggregates custom metrics, so memory grows
/// with the number of series, not of records. Clones share the series.
#[derive(Debug, Clone, Default)]
pub struct MetricSeries {
    series: Arc<Mutex<Series>>,
}

impl MetricSeries {
    /// The number of series (name and dimension set) kept.
    pub fn len(&self) -> usize {
        self.series.lock().values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl MetricSink for MetricSeries {
    fn record(&self, r: MetricRecord) {
        let name = if r.namespace.is_empty() {
            sanitize_name(&r.name)
        } else {
            sanitize_name(&format!("{}_{}", r.namespace, r.name))
        };
        let mut dims: Vec<(String, String)> = r
            .dimensions
            .iter()
            .map(|(k, v)| (sanitize_label(k), escape_label(v)))
            .collect();
        dims.sort();
        dims.dedup_by(|a, b| a.0 == b.0);
        let labels = dims
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect::<Vec<_>>()
            .join(",");
        let mut series = self.series.lock();
        let e = series.entry(name).or_default().entry(labels).or_default();
        e.0 += r.value;
        e.1 += 1;
    }
}

/// Renders emitted metrics (summed per name and dimensions) and the host's metrics.
pub fn render(metrics: Option<&MetricSeries>, host: &HostMetrics) -> String {
    let empty = Series::new();
    let guard = metrics.map(|m| m.series.lock());
    let series = guard.as_deref().unwrap_or(&empty);
    let mut out = String::new();
    for (name, by_labels) in series {
        let _ = writeln!(out, "# TYPE {name} counter");
        for (labels, (sum, _)) in by_labels {
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {sum}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {sum}");
            }
        }
        let _ = writeln!(out, "# TYPE {name}_count counter");
        for (labels, (_, n)) in by_labels {
            if labels.is_empty() {
                let _ = writeln!(out, "{name}_count {n}");
            } else {
                let _ = writeln!(out, "{name}_count{{{labels}}} {n}");
            }
        }
    }
    host.render(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ns: &str, name: &str, v: f64, dims: &[(&str, &str)]) -> MetricRecord {
        MetricRecord {
            namespace: ns.into(),
            name: name.into(),
            value: v,
            dimensions: dims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn emitted_metrics_are_summed_per_dimension_set_with_sanitized_names() {
        let m = MetricSeries::default();
        for r in [
            rec(
                "openai",
                "Total Tokens",
                10.0,
                &[("API ID", "chat"), ("Client IP", "1.2.3.4")],
            ),
            rec(
                "openai",
                "Total Tokens",
                5.0,
                &[("Client IP", "1.2.3.4"), ("API ID", "chat")],
            ),
            rec("", "9lives", 1.0, &[("q", "a\"b")]),
        ] {
            m.record(r);
        }
        let text = render(Some(&m), &HostMetrics::default());
        assert!(
            text.contains("# TYPE openai_Total_Tokens counter\n"),
            "{text}"
        );
        assert!(
            text.contains("openai_Total_Tokens{API_ID=\"chat\",Client_IP=\"1.2.3.4\"} 15\n"),
            "{text}"
        );
        assert!(
            text.contains("openai_Total_Tokens_count{API_ID=\"chat\",Client_IP=\"1.2.3.4\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("_9lives{q=\"a\\\"b\"} 1\n"), "{text}");
    }

    #[test]
    fn host_histogram_is_cumulative() {
        let h = HostMetrics::default();
        h.observe(200, Some("echo"), Duration::from_millis(3));
        h.observe(404, None, Duration::from_secs(20));
        let text = render(None, &h);
        assert!(text.contains("apim_emu_requests_total{api=\"echo\",status=\"200\"} 1\n"));
        assert!(text.contains("apim_emu_requests_total{api=\"\",status=\"404\"} 1\n"));
        assert!(text.contains("apim_emu_request_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("apim_emu_request_duration_seconds_bucket{le=\"10\"} 1\n"));
        assert!(text.contains("apim_emu_request_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("apim_emu_request_duration_seconds_count 2\n"));
    }

    #[test]
    fn many_records_of_one_series_keep_one_series() {
        let m = MetricSeries::default();
        for i in 0..10_000 {
            m.record(rec(
                "openai",
                "Total Tokens",
                f64::from(i % 3),
                &[("API ID", "chat"), ("Subscription ID", "team-alpha")],
            ));
        }
        assert_eq!(m.len(), 1);
        let text = render(Some(&m), &HostMetrics::default());
        // 0 + 1 + 2 repeated: 3,333 full cycles (9,999 records, sum 9,999) and one more 0.
        assert!(
            text.contains(
                "openai_Total_Tokens{API_ID=\"chat\",Subscription_ID=\"team-alpha\"} 9999\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "openai_Total_Tokens_count{API_ID=\"chat\",Subscription_ID=\"team-alpha\"} 10000\n"
            ),
            "{text}"
        );
        m.record(rec(
            "openai",
            "Total Tokens",
            1.0,
            &[("API ID", "embeddings")],
        ));
        assert_eq!(m.len(), 2);
    }
}
