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
    startup_line: String,
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
    let gw = spawn(config, extra, &[], !extra.is_empty());
    let line = gw.startup_line.clone();
    assert!(line.contains("azure-openai"), "APIs missing from: {line}");
    gw
}

/// Starts `apim-emu serve CONFIG --listen 127.0.0.1:0 EXTRA...` with `envs` set and waits for
/// the startup line (the bound address).
fn spawn(config: &Path, extra: &[&str], envs: &[(&str, &str)], capture_stderr: bool) -> Gateway {
    try_spawn(config, extra, envs, capture_stderr)
        .unwrap_or_else(|stderr| panic!("apim-emu serve did not start:\n{stderr}"))
}

/// As [`spawn`]; `Err` holds stderr (when captured) if the gateway exited instead of listening.
fn try_spawn(
    config: &Path,
    extra: &[&str],
    envs: &[(&str, &str)],
    capture_stderr: bool,
) -> Result<Gateway, String> {
    let child = bin()
        .arg("serve")
        .arg(config)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(if capture_stderr {
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
        startup_line: String::new(),
    };
    let rx = lines_of(gw.child.stdout.take().expect("piped stdout"));
    gw.stderr = gw.child.stderr.take().map(lines_of);
    // Bounded wait for the startup line (no sleeps: the line arrives, stdout closes because the
    // process exited, or the timeout fires).
    let Ok(line) = rx.recv_timeout(STARTUP_TIMEOUT) else {
        let _ = gw.child.wait();
        let stderr: Vec<String> = gw
            .stderr
            .as_ref()
            .map(|e| e.try_iter().collect())
            .unwrap_or_default();
        return Err(stderr.join("\n"));
    };
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in startup line: {line}"));
    gw.addr = addr.parse().expect("socket address");
    gw.startup_line = line;
    Ok(gw)
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
    let dir_guard = temp_dir("policy-error");
    let dir = dir_guard.path();
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
        .arg(dir)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .expect("run apim-emu");
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
    let dir_guard = temp_dir("watch");
    let dir = dir_guard.path();
    for f in ["apim-emu.yaml", "policy.xml"] {
        std::fs::copy(round_robin().join(f), dir.join(f)).expect("copy example");
    }
    let good = std::fs::read_to_string(dir.join("policy.xml")).expect("policy");
    let gw = start_with(dir, &["--watch"]);
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
}

/// A local HTTP backend on a free port: each connection carries one request, answered by
/// `answer` (which writes the whole response), then closed. The request heads (request line and
/// headers) are sent to `requests`.
struct Backend {
    addr: SocketAddr,
    requests: mpsc::Receiver<String>,
}

fn backend(answer: impl Fn(&str, &mut TcpStream) + Send + Sync + 'static) -> Backend {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind backend");
    let addr = listener.local_addr().expect("backend address");
    let (tx, requests) = mpsc::channel();
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let (tx, answer) = (tx.clone(), answer.clone());
            std::thread::spawn(move || {
                let mut raw = Vec::new();
                let mut buf = [0u8; 4096];
                let head_end = loop {
                    if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => raw.extend_from_slice(&buf[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        n.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                while raw.len() < head_end + length {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => raw.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tx.send(head.clone());
                answer(&head, &mut conn);
                let _ = conn.flush();
                // End the answer with FIN before closing: closing a socket with unread request
                // bytes (a chunked body this helper does not parse) sends RST, which can
                // overtake the last bytes of the answer.
                let _ = conn.shutdown(std::net::Shutdown::Write);
                conn.set_read_timeout(Some(Duration::from_secs(5))).ok();
                while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    Backend { addr, requests }
}

fn json_answer(conn: &mut TcpStream, body: &str) {
    let _ = write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A scratch folder, removed when the guard drops (also when the test fails).
fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("apim-emu-e2e-{name}-"))
        .tempdir()
        .expect("temp dir")
}

const OPENAPI: &str = r#"openapi: 3.0.1
info: {title: Chat, version: "1"}
paths:
  /deployments/{deployment-id}/chat/completions:
    post:
      operationId: ChatCompletions_Create
      parameters:
        - {name: deployment-id, in: path, required: true, schema: {type: string}}
        - {name: api-version, in: query, required: true, schema: {type: string}}
      responses: {"200": {description: OK}}
  /models:
    get:
      operationId: Models_List
      responses: {"200": {description: OK}}
"#;

const API_POLICY: &str = r#"<policies>
    <inbound><base /></inbound>
    <backend><base /></backend>
    <outbound>
        <base />
        <set-header name="x-operation" exists-action="override">
            <value>@(context.Operation.Id)</value>
        </set-header>
        <set-header name="x-deployment" exists-action="override">
            <value>@(context.Request.MatchedParameters.ContainsKey("deployment-id") ? context.Request.MatchedParameters["deployment-id"] : "none")</value>
        </set-header>
    </outbound>
    <on-error><base /></on-error>
</policies>
"#;

/// Reads from `s` until `needle` has arrived; returns everything read so far.
fn read_until(s: &mut TcpStream, seen: &mut Vec<u8>, needle: &[u8]) {
    let mut buf = [0u8; 4096];
    while !seen.windows(needle.len()).any(|w| w == needle) {
        match s.read(&mut buf) {
            Ok(0) => panic!(
                "connection closed before {:?}; got {}",
                String::from_utf8_lossy(needle),
                String::from_utf8_lossy(seen)
            ),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) => panic!("read failed ({e}); got {}", String::from_utf8_lossy(seen)),
        }
    }
}

#[test]
fn openapi_operations_match_and_streamed_events_pass_one_by_one() {
    // The backend sends the first event, then waits for the test before the rest.
    let (go, gate) = mpsc::channel::<()>();
    let gate = std::sync::Mutex::new(gate);
    let b = backend(move |head, conn| {
        if head.starts_with("GET /models") {
            json_answer(conn, r#"{"data":[]}"#);
            return;
        }
        let _ = conn.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n\
              data: {\"choices\":[{\"delta\":{\"content\":\"one\"}}],\"usage\":null}\n\n",
        );
        let _ = conn.flush();
        let _ = gate.lock().map(|g| g.recv_timeout(STARTUP_TIMEOUT));
        let _ = conn.write_all(
            b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n\
              data: [DONE]\n\n",
        );
    });
    let dir_guard = temp_dir("openapi");
    let dir = dir_guard.path();
    std::fs::write(
        dir.join("apim-emu.yaml"),
        format!(
            "apis:\n  chat:\n    path: ai\n    serviceUrl: http://{}\n    subscriptionKeyParameterNames: {{header: api-key, query: api-key}}\n    openapi: openapi.yaml\n    policy: api.xml\nproducts:\n  starter: {{apis: [chat]}}\nsubscriptions:\n  alpha: {{scope: {{product: starter}}, primaryKey: key-alpha}}\n",
            b.addr
        ),
    )
    .expect("write config");
    std::fs::write(dir.join("openapi.yaml"), OPENAPI).expect("write spec");
    std::fs::write(dir.join("api.xml"), API_POLICY).expect("write policy");
    let gw = spawn(dir, &[], &[], true);
    assert!(
        gw.startup_line.contains("chat (/ai)"),
        "{}",
        gw.startup_line
    );
    let key = [("api-key", "key-alpha")];

    // An imported operation without parameters.
    let r = request(gw.addr, "GET", "/ai/models", &key, "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, r#"{"data":[]}"#);
    assert_eq!(r.header("x-operation"), Some("Models_List"));
    assert_eq!(r.header("x-deployment"), Some("none"));
    let head = b
        .requests
        .recv_timeout(STARTUP_TIMEOUT)
        .expect("backend call");
    assert!(head.starts_with("GET /models HTTP/1.1"), "{head}");

    // The template needs the api-version query parameter (required in the spec): no operation.
    let r = request(
        gw.addr,
        "POST",
        "/ai/deployments/gpt-4o/chat/completions",
        &key,
        "{}",
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        r#"{ "statusCode": 404, "message": "Resource not found" }"#
    );

    // Streamed: the first event reaches the client while the backend still holds the rest.
    let mut s = TcpStream::connect(gw.addr).expect("connect");
    s.set_read_timeout(Some(STARTUP_TIMEOUT)).ok();
    let body = r#"{"messages":[{"role":"user","content":"hi"}],"stream":true}"#;
    write!(
        s,
        "POST /ai/deployments/gpt-4o/chat/completions?api-version=2024-10-21 HTTP/1.1\r\nHost: {}\r\napi-key: key-alpha\r\nOcp-Apim-Trace: true\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        gw.addr,
        body.len()
    )
    .expect("send");
    let mut seen = Vec::new();
    read_until(&mut s, &mut seen, b"\"one\"");
    let first = String::from_utf8_lossy(&seen).to_string();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(!first.contains("[DONE]"), "{first}");
    let lower = first.to_ascii_lowercase();
    assert!(
        lower.contains("x-operation: chatcompletions_create"),
        "{first}"
    );
    assert!(lower.contains("x-deployment: gpt-4o"), "{first}");
    assert!(lower.contains("content-type: text/event-stream"), "{first}");
    go.send(()).expect("release the backend");
    s.read_to_end(&mut seen).expect("read the rest");
    let all = String::from_utf8_lossy(&seen).to_string();
    assert!(all.contains("[DONE]"), "{all}");
    let head = b
        .requests
        .recv_timeout(STARTUP_TIMEOUT)
        .expect("backend call");
    assert!(
        head.starts_with(
            "POST /deployments/gpt-4o/chat/completions?api-version=2024-10-21 HTTP/1.1"
        ),
        "{head}"
    );

    // APIM's legacy trace header: the trace's URL comes back.
    let location = all
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("ocp-apim-trace-location")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no Ocp-Apim-Trace-Location: {all}"));
    let path = location
        .split_once(&gw.addr.to_string())
        .map(|(_, p)| p.to_string())
        .unwrap_or_else(|| panic!("trace location {location}"));
    let t = request(gw.addr, "GET", &path, &[], "");
    assert_eq!(t.status, 200);
    let trace: serde_json::Value = serde_json::from_str(&t.body).expect("trace JSON");
    assert!(trace["traceEntries"]["outbound"].is_array(), "{}", t.body);
    let unknown = request(gw.addr, "GET", "/_emu/traces/no-such-id", &[], "");
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.body,
        r#"{ "statusCode": 404, "message": "Trace not found" }"#
    );

    // The request's log line, written once the stream ended, with the usage event's tokens.
    let log = wait_for_stderr(&gw, "ChatCompletions_Create");
    let line = log
        .lines()
        .find(|l| l.contains("ChatCompletions_Create"))
        .unwrap_or_default();
    for part in [
        "status=200",
        "api=\"chat\"",
        "tokens=\"5/2/7\"",
        &format!("backend=\"http://{}\"", b.addr),
        "duration_ms=",
    ] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    drop(gw);
}

#[test]
fn the_apiops_fixture_serves_with_its_local_overrides() {
    let b = backend(|_head, conn| {
        json_answer(
            conn,
            r#"{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":8,"completion_tokens":1,"total_tokens":9}}"#,
        )
    });
    let url = format!("http://{}/openai", b.addr);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/apiops");
    let started = try_spawn(
        &fixture,
        &["--env", "local"],
        &[
            ("APIM_NV_AOAI_EASTUS_KEY", "eastus-secret"),
            ("APIM_NV_AOAI_WESTUS_KEY", "westus-secret"),
            ("APIM_SUB_TEAM_ALPHA_PRIMARY_KEY", "alpha-key"),
            ("LOCAL_AOAI_EASTUS_URL", &url),
            ("LOCAL_AOAI_WESTUS_URL", &url),
        ],
        true,
    );
    // rate-limit-by-key and azure-openai-emit-token-metric run in the engine: the fixture serves.
    let gw = started.unwrap_or_else(|stderr| panic!("the APIOps fixture did not serve:\n{stderr}"));
    assert!(
        gw.startup_line.contains("azure-openai (/openai)"),
        "{}",
        gw.startup_line
    );
    let r = request(gw.addr, "POST", CHAT, &[], CHAT_BODY);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        r#"{ "statusCode": 401, "message": "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API." }"#
    );
    let r = request(gw.addr, "POST", CHAT, &[("api-key", "wrong")], CHAT_BODY);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        r#"{ "statusCode": 401, "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription." }"#
    );
    let r = request(
        gw.addr,
        "POST",
        CHAT,
        &[
            ("api-key", "alpha-key"),
            ("Content-Type", "application/json"),
        ],
        CHAT_BODY,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("\"total_tokens\":9"), "{}", r.body);
    assert!(
        r.header("x-remaining-tokens").is_some(),
        "the token limit's header is missing: {:?}",
        r.headers
    );
    // Priority pool: East US first, with its credential from the secret named value; the
    // global policy's request id header.
    let head = b
        .requests
        .recv_timeout(STARTUP_TIMEOUT)
        .expect("backend call")
        .to_ascii_lowercase();
    assert!(
        head.starts_with(
            "post /openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21 "
        ),
        "{head}"
    );
    assert!(head.contains("api-key: eastus-secret"), "{head}");
    assert!(head.contains("x-request-id: "), "{head}");
    assert!(!head.contains("x-operation:"), "{head}");

    // The embeddings operation matches and runs its own policy.
    let r = request(
        gw.addr,
        "POST",
        "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21",
        &[
            ("api-key", "alpha-key"),
            ("Content-Type", "application/json"),
        ],
        r#"{"input":"hello"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let head = b
        .requests
        .recv_timeout(STARTUP_TIMEOUT)
        .expect("backend call")
        .to_ascii_lowercase();
    assert!(
        head.starts_with("post /openai/deployments/text-embedding-3-small/embeddings?"),
        "{head}"
    );
    assert!(head.contains("x-operation: embeddings"), "{head}");

    // The product's rate-limit-by-key (100 calls per 60 s per subscription): two calls so far,
    // 98 more pass, the next is refused before reaching the backend.
    for i in 0..98 {
        let r = request(
            gw.addr,
            "POST",
            CHAT,
            &[
                ("api-key", "alpha-key"),
                ("Content-Type", "application/json"),
            ],
            CHAT_BODY,
        );
        assert_eq!(r.status, 200, "call {}: {}", i + 3, r.body);
        b.requests
            .recv_timeout(STARTUP_TIMEOUT)
            .expect("backend call");
    }
    let r = request(
        gw.addr,
        "POST",
        CHAT,
        &[
            ("api-key", "alpha-key"),
            ("Content-Type", "application/json"),
        ],
        CHAT_BODY,
    );
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(
        r.body.starts_with(
            r#"{ "statusCode": 429, "message": "Rate limit is exceeded. Try again in "#
        ),
        "{}",
        r.body
    );
    let retry_after: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {:?}", r.headers));
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    // azure-openai-emit-token-metric on the chat operation: 99 answered chat calls of 9 tokens
    // each (8 prompt, 1 completion), by subscription and deployment.
    let m = request(gw.addr, "GET", "/_emu/metrics", &[], "");
    assert_eq!(m.status, 200);
    for (name, value) in [
        ("openai_Total_Tokens", 891),
        ("openai_Prompt_Tokens", 792),
        ("openai_Completion_Tokens", 99),
    ] {
        assert!(
            m.body.lines().any(|l| l.starts_with(&format!("{name}{{"))
                && l.contains("Deployment=\"gpt-4o-mini\"")
                && l.contains("Subscription_ID=\"team-alpha\"")
                && l.ends_with(&format!(" {value}"))),
            "{name} {value} missing in:\n{}",
            m.body
        );
    }
    assert!(
        m.body
            .lines()
            .any(|l| l.starts_with("apim_emu_requests_total{")
                && l.contains("status=\"429\"")
                && l.ends_with(" 1")),
        "{}",
        m.body
    );
}

#[test]
fn the_request_body_limit_is_set_from_the_command_line() {
    let gw = spawn(&round_robin(), &["--max-request-body", "64"], &[], false);
    let big = format!(
        r#"{{"messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(100)
    );
    let r = request(
        gw.addr,
        "POST",
        CHAT,
        &[
            ("api-key", "demo-key-alpha"),
            ("Content-Type", "application/json"),
        ],
        &big,
    );
    assert_eq!(r.status, 413);
    assert_eq!(
        r.body,
        r#"{ "statusCode": 413, "message": "Request entity too large: the body is larger than 64 bytes." }"#
    );
    assert_eq!(chat(&gw).status, 200);
}
