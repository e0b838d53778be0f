//! Expectations that something did NOT happen during a request: `metricsAbsent`,
//! `eventsAbsent`, `backendCallsAbsent` (beside `policiesAbsent` and a header's
//! `{absent: true}`). A pattern that matches fails with what was emitted, logged or called.

use std::collections::BTreeMap;

use apim_engine::service::ServiceDefinition;
use apim_engine::services::{EventRecord, MetricRecord, RecordedCall};

use crate::format::{BodyExpect, CallExpect, EventExpect, Expect, HeaderExpect, MetricPattern};
use crate::matching::Mismatch;
use crate::runner::{Observed, event_matches, match_after, match_call, metric_matches, mock_host};

/// Longest message text shown for a logged event.
const MESSAGE_SHOWN: usize = 200;

/// Every absence expectation of one request.
pub fn check_absent(expect: &Expect, o: &Observed, service: &ServiceDefinition) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for p in &expect.metrics_absent {
        let hits: Vec<String> = o
            .metrics
            .iter()
            .filter(|r| {
                metric_matches(
                    p.name.as_deref(),
                    p.namespace.as_deref(),
                    p.value,
                    &p.dimensions,
                    r,
                )
            })
            .map(metric_text)
            .collect();
        if !hits.is_empty() {
            let at = match &p.name {
                Some(n) => format!("metric {n}"),
                None => "metrics".into(),
            };
            out.push(Mismatch::new(
                at,
                metric_pattern_text(p),
                emitted(&hits, "emitted"),
            ));
        }
    }
    for p in &expect.events_absent {
        let hits: Vec<String> = o
            .events
            .iter()
            .filter(|r| event_matches(p, r))
            .map(event_text)
            .collect();
        if !hits.is_empty() {
            let at = match &p.logger {
                Some(l) => format!("events to {l}"),
                None => "events".into(),
            };
            out.push(Mismatch::new(
                at,
                event_pattern_text(p),
                emitted(&hits, "logged"),
            ));
        }
    }
    for p in &expect.backend_calls_absent {
        let hits: Vec<String> = o
            .calls
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                match_call(p, c, "", service).is_empty()
                    && match_after(p, c, o.sent_at, "").is_none()
            })
            .map(|(i, c)| call_text(i, c))
            .collect();
        if !hits.is_empty() {
            let at = match &p.backend {
                Some(b) => format!("backend calls to {b}"),
                None => "backend calls".into(),
            };
            out.push(Mismatch::new(
                at,
                call_pattern_text(p, service),
                emitted(&hits, "made"),
            ));
        }
    }
    out
}

/// `2 emitted: a; b`: what happened instead of nothing.
fn emitted(hits: &[String], verb: &str) -> String {
    format!("{} {verb}: {}", hits.len(), hits.join("; "))
}

fn dimensions_text<'a>(dims: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    let parts: Vec<String> = dims.map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// `namespace/name = value {dimension: value, ...}`.
pub fn metric_text(r: &MetricRecord) -> String {
    format!(
        "{}/{} = {} {}",
        r.namespace,
        r.name,
        r.value,
        dimensions_text(r.dimensions.iter().map(|(k, v)| (k, v)))
    )
}

fn metric_pattern_text(p: &MetricPattern) -> String {
    let mut s = match &p.name {
        Some(n) => format!("no metric {n}"),
        None => "no metric".to_string(),
    };
    if let Some(ns) = &p.namespace {
        s.push_str(&format!(" in namespace {ns}"));
    }
    if let Some(v) = p.value {
        s.push_str(&format!(" with value {v}"));
    }
    if !p.dimensions.is_empty() {
        s.push_str(&format!(
            " with dimensions {}",
            dimensions_text(p.dimensions.iter())
        ));
    }
    s
}

/// `logger: message` (long messages cut).
pub fn event_text(r: &EventRecord) -> String {
    let mut m = r.message.clone();
    if m.len() > MESSAGE_SHOWN {
        let cut = (0..=MESSAGE_SHOWN)
            .rev()
            .find(|i| m.is_char_boundary(*i))
            .unwrap_or(0);
        m.truncate(cut);
        m.push('…');
    }
    format!("{}: {m}", r.logger_id)
}

fn event_pattern_text(p: &EventExpect) -> String {
    let mut s = match &p.logger {
        Some(l) => format!("no event to logger {l}"),
        None => "no event".to_string(),
    };
    if let Some(m) = &p.message {
        s.push_str(&format!(" whose message {}", body_pattern_text(m)));
    }
    s
}

/// `call N: METHOD URL`.
fn call_text(i: usize, c: &RecordedCall) -> String {
    format!("call {}: {} {}", i + 1, c.method, c.url)
}

fn call_pattern_text(p: &CallExpect, service: &ServiceDefinition) -> String {
    let mut s = "no".to_string();
    if let Some(m) = &p.method {
        s.push_str(&format!(" {m}"));
    }
    s.push_str(" call");
    if let Some(b) = &p.backend {
        match mock_host(service, b) {
            Ok(h) if h != *b => s.push_str(&format!(" to {b} ({h})")),
            _ => s.push_str(&format!(" to {b}")),
        }
    }
    if let Some(u) = &p.url {
        s.push_str(&format!(" at {u}"));
    }
    if let Some(r) = &p.url_regex {
        s.push_str(&format!(" with a URL matching /{r}/"));
    }
    if let Some(path) = &p.path {
        s.push_str(&format!(" to path {path}"));
    }
    if !p.headers.is_empty() {
        s.push_str(&format!(" with headers {}", headers_text(&p.headers)));
    }
    if let Some(b) = &p.body {
        s.push_str(&format!(" whose body {}", body_pattern_text(b)));
    }
    if let Some(a) = &p.after {
        s.push_str(&format!(" after {a}"));
    }
    s
}

fn headers_text(h: &BTreeMap<String, HeaderExpect>) -> String {
    let parts: Vec<String> = h
        .iter()
        .map(|(k, v)| match v {
            HeaderExpect::Exact(x) => format!("{k}: {x}"),
            HeaderExpect::Rule(r) => {
                let mut p = Vec::new();
                if let Some(x) = &r.equals {
                    p.push(format!("= {x}"));
                }
                if let Some(x) = &r.contains {
                    p.push(format!("contains {x}"));
                }
                if let Some(x) = &r.regex {
                    p.push(format!("matches /{x}/"));
                }
                match r.absent {
                    Some(true) => p.push("absent".into()),
                    Some(false) => p.push("present".into()),
                    None => {}
                }
                format!("{k}: {}", p.join(" and "))
            }
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// What a body rule asks for, in words: `contains "x" and has JSON {...}`.
pub fn body_pattern_text(b: &BodyExpect) -> String {
    let mut p = Vec::new();
    if let Some(t) = &b.text {
        p.push(format!("is {t:?}"));
    }
    if let Some(t) = &b.contains {
        p.push(format!("contains {t:?}"));
    }
    if let Some(r) = &b.regex {
        p.push(format!("matches /{r}/"));
    }
    if let Some(j) = &b.json {
        p.push(format!("has JSON {j}"));
    }
    for (path, v) in &b.json_path {
        p.push(format!("has {path} = {v}"));
    }
    match b.empty {
        Some(true) => p.push("is empty".into()),
        Some(false) => p.push("is not empty".into()),
        None => {}
    }
    if p.is_empty() {
        "is anything".into()
    } else {
        p.join(" and ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apim_engine::http::{HeaderMap, Response, Url};
    use apim_engine::trace::Trace;
    use bytes::Bytes;

    use crate::engine::Outcome;

    fn at(s: u32) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(1_704_067_200 + i64::from(s), 0).unwrap_or_default()
    }

    fn observed() -> Observed {
        Observed {
            sent_at: at(0),
            outcome: Outcome {
                response: Response::new(200),
                trace: Trace::default(),
                variables: Default::default(),
            },
            body: Bytes::new(),
            calls: vec![RecordedCall {
                method: "POST".into(),
                url: Url::parse("https://westus.example.com/openai/chat").unwrap(),
                headers: HeaderMap::new(),
                body: Bytes::from_static(b"{}"),
                at: at(2),
                route: None,
                proxy: None,
                client_certificate: None,
            }],
            metrics: vec![MetricRecord {
                namespace: "openai".into(),
                name: "Total Tokens".into(),
                value: 59.0,
                dimensions: vec![("API ID".into(), "azure-openai".into())],
            }],
            events: vec![EventRecord {
                logger_id: "usage-hub".into(),
                partition_id: None,
                partition_key: None,
                message: r#"{"subscriptionId":"team-alpha"}"#.into(),
            }],
        }
    }

    fn expect(yaml: &str) -> Expect {
        let text = format!(
            "config: .\ncases:\n  - name: c\n    request: {{path: /x}}\n    expect: {yaml}\n"
        );
        let file = crate::format::parse_suite(std::path::Path::new("t.yaml"), text).unwrap();
        file.suite.cases[0].expect.clone().unwrap()
    }

    fn check(yaml: &str) -> Vec<Mismatch> {
        check_absent(&expect(yaml), &observed(), &ServiceDefinition::default())
    }

    #[test]
    fn nothing_matching_passes() {
        assert_eq!(
            check(
                "{metricsAbsent: [{name: Prompt Tokens}, {name: Total Tokens, dimensions: {API ID: other}}], eventsAbsent: [{logger: audit}], backendCallsAbsent: [{backend: eastus.example.com}, {backend: westus.example.com, after: 0s}]}"
            ),
            vec![]
        );
    }

    #[test]
    fn an_emitted_metric_fails_and_says_what_was_emitted() {
        let m =
            check("{metricsAbsent: [{name: Total Tokens, dimensions: {api id: azure-openai}}]}");
        assert_eq!(
            m,
            vec![Mismatch::new(
                "metric Total Tokens",
                "no metric Total Tokens with dimensions {api id: azure-openai}",
                "1 emitted: openai/Total Tokens = 59 {API ID: azure-openai}"
            )]
        );
        // `{}`: no metric at all.
        assert_eq!(check("{metricsAbsent: [{}]}")[0].at, "metrics");
    }

    #[test]
    fn a_logged_event_fails_and_shows_the_message() {
        let m = check("{eventsAbsent: [{message: {json: {subscriptionId: team-alpha}}}]}");
        assert_eq!(m.len(), 1);
        assert_eq!(
            m[0].expected,
            r#"no event whose message has JSON {"subscriptionId":"team-alpha"}"#
        );
        assert_eq!(
            m[0].actual,
            r#"1 logged: usage-hub: {"subscriptionId":"team-alpha"}"#
        );
    }

    #[test]
    fn a_backend_call_fails_with_the_call() {
        let m = check("{backendCallsAbsent: [{backend: westus.example.com, method: POST}]}");
        assert_eq!(
            m,
            vec![Mismatch::new(
                "backend calls to westus.example.com",
                "no POST call to westus.example.com",
                "1 made: call 1: POST https://westus.example.com/openai/chat"
            )]
        );
        assert_eq!(check("{backendCallsAbsent: [{after: 2s}]}").len(), 1);
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let r = EventRecord {
            logger_id: "l".into(),
            partition_id: None,
            partition_key: None,
            message: "é".repeat(150),
        };
        let t = event_text(&r);
        assert!(t.ends_with('…'), "{t}");
        assert!(t.len() < 220, "{t}");
    }
}
