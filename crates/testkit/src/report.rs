//! Reporters: human output (each failure with its request, expected vs actual and the policy
//! trace) and JUnit XML for CI.

use std::fmt::Write as _;

use crate::runner::{CaseOutcome, Report};

/// The human report: one line per case, then each failure in detail, then the summary line.
pub fn human(report: &Report) -> String {
    let mut out = String::new();
    for c in &report.cases {
        let mark = match c.outcome {
            CaseOutcome::Passed => "ok  ",
            CaseOutcome::Failed(_) => "FAIL",
            CaseOutcome::Error(_) => "ERR ",
        };
        let _ = writeln!(out, "{mark} {}", c.full_name());
    }
    for c in report.cases.iter().filter(|c| !c.passed()) {
        out.push_str(&failure_detail(c));
    }
    let _ = writeln!(out, "\n{}", summary(report));
    out
}

/// One case's failure: location, then per request the request, expected vs actual and trace.
pub fn failure_detail(c: &crate::runner::CaseResult) -> String {
    let mut out = String::new();
    {
        let loc = if c.line > 0 {
            format!("{}:{}", c.file.display(), c.line)
        } else {
            c.file.display().to_string()
        };
        let _ = writeln!(out, "\n---- {} ({loc})", c.full_name());
        match &c.outcome {
            CaseOutcome::Passed => {}
            CaseOutcome::Error(e) => {
                let _ = writeln!(out, "error: {e}");
            }
            CaseOutcome::Failed(steps) => {
                for s in steps {
                    if let Some(n) = s.step {
                        let _ = writeln!(out, "step {n}:");
                    }
                    let _ = writeln!(out, "request: {}", s.request);
                    for m in &s.mismatches {
                        let _ = writeln!(out, "  {}", m.at);
                        let _ = writeln!(out, "    expected: {}", m.expected);
                        let _ = writeln!(out, "    actual:   {}", m.actual);
                    }
                    if s.trace.is_empty() {
                        let _ = writeln!(out, "trace: (empty)");
                    } else {
                        let _ = writeln!(out, "trace:");
                        for t in &s.trace {
                            let _ = writeln!(out, "  {t}");
                        }
                    }
                }
            }
        }
    }
    out
}

/// `N passed, N failed`.
pub fn summary(report: &Report) -> String {
    format!("{} passed, {} failed", report.passed(), report.failed())
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 cannot carry other control characters at all.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => {
                o.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => o.push(c),
        }
    }
    o
}

/// JUnit XML: one `<testsuite>` per suite (in report order), a `<failure>` or `<error>` per case
/// that did not pass, carrying the same text as the human report. No timings: runs are on a
/// virtual clock, and the file stays the same from run to run.
pub fn junit(report: &Report) -> String {
    let mut suites: Vec<(&str, Vec<&crate::runner::CaseResult>)> = Vec::new();
    for c in &report.cases {
        match suites.iter_mut().find(|(n, _)| *n == c.suite) {
            Some((_, v)) => v.push(c),
            None => suites.push((&c.suite, vec![c])),
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"apim-emu\" tests=\"{}\" failures=\"{}\">",
        report.cases.len(),
        report.failed()
    );
    for (name, cases) in suites {
        let failures = cases
            .iter()
            .filter(|c| matches!(c.outcome, CaseOutcome::Failed(_)))
            .count();
        let errors = cases
            .iter()
            .filter(|c| matches!(c.outcome, CaseOutcome::Error(_)))
            .count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">",
            esc(name),
            cases.len()
        );
        for c in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\"",
                esc(name),
                esc(&c.case),
                esc(&c.file.display().to_string()),
                c.line
            );
            match &c.outcome {
                CaseOutcome::Passed => out.push_str("/>\n"),
                CaseOutcome::Error(e) => {
                    let _ = writeln!(
                        out,
                        ">\n      <error message=\"{}\">{}</error>\n    </testcase>",
                        esc(e.lines().next().unwrap_or("")),
                        esc(e)
                    );
                }
                CaseOutcome::Failed(steps) => {
                    let first = steps
                        .first()
                        .and_then(|s| s.mismatches.first())
                        .map(|m| format!("{}: expected {}, actual {}", m.at, m.expected, m.actual))
                        .unwrap_or_default();
                    let text = failure_detail(c);
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        esc(&first),
                        esc(&text)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::matching::Mismatch;
    use crate::runner::{CaseResult, StepFailure};

    fn report() -> Report {
        Report {
            cases: vec![
                CaseResult {
                    suite: "s<1>".into(),
                    file: PathBuf::from("a.test.yaml"),
                    line: 3,
                    case: "ok".into(),
                    outcome: CaseOutcome::Passed,
                },
                CaseResult {
                    suite: "s<1>".into(),
                    file: PathBuf::from("a.test.yaml"),
                    line: 9,
                    case: "bad \"one\"".into(),
                    outcome: CaseOutcome::Failed(vec![StepFailure {
                        step: None,
                        request: "GET /x".into(),
                        mismatches: vec![Mismatch::new("status", "200", "429 Too Many Requests")],
                        trace: vec!["inbound   rate-limit {}".into()],
                    }]),
                },
            ],
        }
    }

    #[test]
    fn junit_escapes_and_counts() {
        let x = junit(&report());
        assert!(
            x.contains("<testsuites name=\"apim-emu\" tests=\"2\" failures=\"1\">"),
            "{x}"
        );
        assert!(
            x.contains("<testsuite name=\"s&lt;1&gt;\" tests=\"2\" failures=\"1\" errors=\"0\">"),
            "{x}"
        );
        assert!(x.contains("name=\"bad &quot;one&quot;\""), "{x}");
        assert!(
            x.contains("<failure message=\"status: expected 200, actual 429 Too Many Requests\">"),
            "{x}"
        );
    }

    #[test]
    fn summary_and_exit_code() {
        let r = report();
        assert_eq!(summary(&r), "1 passed, 1 failed");
        assert_eq!(r.exit_code(), 1);
        assert_eq!(Report::default().exit_code(), 1);
        let ok = Report {
            cases: vec![r.cases[0].clone()],
        };
        assert_eq!(ok.exit_code(), 0);
        assert!(human(&r).contains("FAIL s<1>/bad \"one\""));
    }
}
