//! `apim-emu test` and `apim-emu diff` as a user runs them: the real binary on the round-robin
//! example and its second version.

use std::process::{Command, Output};

use serde_json::Value;

fn apim_emu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apim-emu"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run apim-emu")
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn round_robin_suite_passes() {
    let o = apim_emu(&["test", "examples/round-robin"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(" passed, 0 failed") && !last.starts_with("0 passed"),
        "{}",
        text(&o)
    );
    assert!(!out.contains("FAIL"), "{}", text(&o));
}

#[test]
fn a_filter_that_matches_nothing_fails() {
    let o = apim_emu(&["test", "examples/round-robin", "--filter", "no such case"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn diff_of_the_round_robin_versions_shows_only_the_swapped_backend() {
    let o = apim_emu(&[
        "diff",
        "examples/round-robin",
        "examples/round-robin/v2",
        "--requests",
        "examples/round-robin/requests.jsonl",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1), "differences exit 1: {}", text(&o));
    let report: Value = serde_json::from_slice(&o.stdout).expect("JSON report");
    let diffs = report["differences"].as_array().expect("differences");
    // Old: east, west, east, west. New: the other way round.
    let old_regions = ["eastus", "westus", "eastus", "westus"];
    let mut seen = Vec::new();
    for d in diffs {
        let request = d["request"].as_u64().expect("request number") as usize;
        let what = d["what"].as_str().expect("what");
        let (old, new) = (
            d["old"].as_str().unwrap_or_default(),
            d["new"].as_str().unwrap_or_default(),
        );
        let old_region = old_regions[request - 1];
        let new_region = if old_region == "eastus" {
            "westus"
        } else {
            "eastus"
        };
        match what {
            // Where the request went.
            "backend call 1 url" => {
                assert!(old.contains(&format!("aoai-{old_region}.")), "{d}");
                assert!(new.contains(&format!("aoai-{new_region}.")), "{d}");
                assert_eq!(
                    old.replace(old_region, "REGION"),
                    new.replace(new_region, "REGION"),
                    "only the backend differs: {d}"
                );
            }
            // The chosen backend's own credential goes with it.
            "backend call 1 header api-key" => {
                assert!(old.contains(old_region) && new.contains(new_region), "{d}");
            }
            other => panic!("unexpected difference {other}: {d}"),
        }
        seen.push((request, what.to_string()));
    }
    let urls: Vec<usize> = seen
        .iter()
        .filter(|(_, w)| w == "backend call 1 url")
        .map(|(r, _)| *r)
        .collect();
    assert_eq!(
        urls,
        vec![1, 2, 3, 4],
        "every request changed region: {}",
        text(&o)
    );
}

#[test]
fn diff_of_a_version_with_itself_is_empty() {
    let o = apim_emu(&[
        "diff",
        "examples/round-robin",
        "examples/round-robin",
        "--requests",
        "examples/round-robin/requests.jsonl",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}
