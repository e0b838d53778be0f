//! `apim-emu serve` end to end: the real binary on a free port, driven over HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// The running binary; killed when the test ends, however it ends.
struct Gateway {
    child: Child,
    addr: SocketAddr,
    /// stderr lines, when captured.
    stderr: Option<mpsc::Receiver<String>>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_apim-emu"))
}

fn lines_of(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn start(config: &Path) -> Gateway {
    start_with(config, &[])
}

fn start_with(config: &Path, extra: &[&str]) -> Gateway {
    let capture = !extra.is_empty();
    let child = bin()
        .arg("serve")
        .arg(config)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(if capture {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .spawn()
        .expect("spawn apim-emu");
    let mut gw = Gateway {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        stderr: None,
    };
    let rx = lines_of(gw.child.stdout.take().expect("piped stdout"));
    gw.stderr = gw.child.stderr.take().map(lines_of);
    // Bounded wait for the startup line (no sleeps: the line arrives or the timeout fires).
    let line = rx
        .recv_timeout(STARTUP_TIMEOUT)
        .expect("apim-emu serve printed no startup line");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in startup line: {line}"));
    assert!(line.contains("azure-openai"), "APIs missing from: {line}");
    gw.addr = addr.parse().expect("socket address");
    gw
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 client (the package has no HTTP client dependency).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body: String::from_utf8(body).expect("utf-8 body"),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .expect("chunk size");
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 2 + size + 2..];
    }
    out
}

fn round_robin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/round-robin")
}

const CHAT: &str = "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21";
const CHAT_BODY: &str = r#"{"messages":[{"role":"user","content":"Say hello"}]}"#;

#[test]
fn keys_and_unknown_paths_get_apims_bodies() {
    let gw = start(&round_robin());
    let r = request(
        gw.addr,
        "POST",
        CHAT,
        &[("Content-Type", "application/json")],
        CHAT_BODY,
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        r#"{ "statusCode": 401, "message": "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API." }"#
    );
    let r = request(gw.addr, "GET", "/no/such/api", &[], "");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        r#"{ "statusCode": 404, "message": "Resource not found" }"#
    );
}

#[test]
fn chat_completions_alternate_between_the_two_backends() {
    let gw = start(&round_robin());
    let mut backends = Vec::new();
    for _ in 0..4 {
        let r = request(
            gw.addr,
            "POST",
            CHAT,
            &[
                ("Content-Type", "application/json"),
                ("api-key", "demo-key-alpha"),
                ("apim-emu-trace", "true"),
            ],
            CHAT_BODY,
        );
        assert_eq!(r.status, 200, "body: {}", r.body);
        let body: serde_json::Value = serde_json::from_str(&r.body).expect("JSON body");
        assert_eq!(body["object"], "chat.completion");
        assert!(body["choices"][0]["message"]["content"].is_string());
        let id = r.header("apim-emu-trace-id").expect("trace id header");
        let t = request(gw.addr, "GET", &format!("/_emu/traces/{id}"), &[], "");
        assert_eq!(t.status, 200);
        let trace: serde_json::Value = serde_json::from_str(&t.body).expect("trace JSON");
        let url = trace["traceEntries"]["backend"]
            .as_array()
            .and_then(|entries| entries.iter().find(|e| e["source"] == "forward-request"))
            .and_then(|e| e["data"]["request"]["url"].as_str())
            .unwrap_or_else(|| panic!("no forward-request in trace: {}", t.body))
            .to_string();
        let host = url
            .split("://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_default()
            .to_string();
        backends.push(host);
    }
    let expected_pair = [
        "aoai-eastus.simulator.invalid",
        "aoai-westus.simulator.invalid",
    ];
    for b in &backends {
        assert!(
            expected_pair.contains(&b.as_str()),
            "unexpected backend {b}"
        );
    }
    for w in backends.windows(2) {
        assert_ne!(
            w[0], w[1],
            "consecutive requests went to the same backend: {backends:?}"
        );
    }

    let m = request(gw.addr, "GET", "/_emu/metrics", &[], "");
    assert_eq!(m.status, 200);
    assert!(
        m.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain")),
        "content type {:?}",
        m.header("content-type")
    );
    assert!(m.body.contains("# TYPE apim_emu_requests_total counter"));
    assert!(
        m.body
            .lines()
            .any(|l| l.starts_with("apim_emu_requests_total{")
                && l.contains("api=\"azure-openai\"")
                && l.contains("status=\"200\"")
                && l.ends_with(" 4")),
        "metrics: {}",
        m.body
    );
}

#[test]
fn a_policy_error_stops_the_start_with_file_line_col() {
    let dir = std::env::temp_dir().join(format!("apim-emu-serve-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(
        dir.join("apim-emu.yaml"),
        "apis:\n  echo:\n    path: echo\n    serviceUrl: http://127.0.0.1:9\n    subscriptionRequired: false\n    policy: policy.xml\n    operations:\n      get:\n        method: GET\n        urlTemplate: /\n",
    )
    .expect("write config");
    std::fs::write(
        dir.join("policy.xml"),
        "<policies>\n    <inbound>\n        <base />\n        <set-header name=\"x\" exists-action=\"override\">\n            <value>@(context.NoSuchMember)</value>\n        </set-header>\n    </inbound>\n    <backend><base /></backend>\n    <outbound><base /></outbound>\n    <on-error><base /></on-error>\n</policies>\n",
    )
    .expect("write policy");
    let out = bin()
        .arg("serve")
        .arg(&dir)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .expect("run apim-emu");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("policy.xml:5:30: error[CS1061]:") && stderr.contains("NoSuchMember"),
        "stderr: {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "it must not start: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Reads stderr lines until one contains `needle` (bounded wait); returns what was read.
fn wait_for_stderr(gw: &Gateway, needle: &str) -> String {
    let rx = gw.stderr.as_ref().expect("stderr captured");
    let deadline = std::time::Instant::now() + STARTUP_TIMEOUT;
    let mut seen = String::new();
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
                if line.contains(needle) {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no stderr line containing {needle:?}; stderr so far:\n{seen}");
}

fn chat(gw: &Gateway) -> Reply {
    request(
        gw.addr,
        "POST",
        CHAT,
        &[
            ("Content-Type", "application/json"),
            ("api-key", "demo-key-alpha"),
        ],
        CHAT_BODY,
    )
}

#[test]
fn watch_keeps_the_last_good_plan_on_a_bad_edit_and_reloads_a_good_one() {
    let dir = std::env::temp_dir().join(format!("apim-emu-serve-watch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for f in ["apim-emu.yaml", "policy.xml"] {
        std::fs::copy(round_robin().join(f), dir.join(f)).expect("copy example");
    }
    let good = std::fs::read_to_string(dir.join("policy.xml")).expect("policy");
    let gw = start_with(&dir, &["--watch"]);
    assert_eq!(chat(&gw).status, 200);

    // A bad edit: printed with file:line:col, and the old plan keeps serving.
    let bad = good.replace(
        r#"<set-backend-service backend-id="aoai-eastus" />"#,
        r#"<set-backend-service backend-id="aoai-eastus" /><set-header name="x" exists-action="override"><value>@(context.NoSuchMember)</value></set-header>"#,
    );
    assert_ne!(bad, good, "the example changed: update the edit");
    std::fs::write(dir.join("policy.xml"), &bad).expect("write bad policy");
    let seen = wait_for_stderr(&gw, "reload failed");
    assert!(
        seen.contains("policy.xml:")
            && seen.contains("error[CS1061]")
            && seen.contains("NoSuchMember"),
        "stderr: {seen}"
    );
    assert_eq!(chat(&gw).status, 200);

    // A good edit: a policy that answers by itself, served once reloaded.
    let mock = good.replace(
        "<base />\n        <cache-lookup-value",
        "<base />\n        <return-response><set-status code=\"418\" reason=\"Teapot\" /></return-response>\n        <cache-lookup-value",
    );
    assert_ne!(mock, good, "the example changed: update the edit");
    std::fs::write(dir.join("policy.xml"), &mock).expect("write good policy");
    wait_for_stderr(&gw, "configuration reloaded");
    assert_eq!(chat(&gw).status, 418);
    drop(gw);
    let _ = std::fs::remove_dir_all(&dir);
}
