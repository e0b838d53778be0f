//! Throughput of non-streaming chat completions over loopback HTTP/1.1 keep-alive connections,
//! latency model off. Prints completions per second.
//!
//! `cargo bench -p apim-simulator --bench chat_throughput`
//! Env: SIM_BENCH_SECONDS (default 10), SIM_BENCH_CONNECTIONS (default 64).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apim_simulator::{Simulator, SimulatorConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CONFIG: &str = r#"
deployments:
  gpt-4o: { model: gpt-4o }
"#;

fn request(i: usize) -> Vec<u8> {
    let body = format!(
        r#"{{"messages":[{{"role":"system","content":"You are a helpful assistant that answers briefly."}},{{"role":"user","content":"Question {i}: how does a token limit policy protect a backend?"}}],"max_tokens":100}}"#
    );
    format!(
        "POST /openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21 HTTP/1.1\r\nHost: 127.0.0.1\r\napi-key: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads one HTTP/1.1 response with a Content-Length body; returns its status code.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).unwrap_or("");
            let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            let total = end + 4 + length;
            while buf.len() < total {
                let mut chunk = [0u8; 16 * 1024];
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..total);
            return Ok(status);
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// CPU seconds this process has used (user + system), from /proc; None elsewhere.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Linux reports clock ticks of 1/100 s (USER_HZ) on every mainstream architecture.
    Some((utime + stime) / 100.0)
}

/// CPU seconds used by this process's threads whose name starts with `prefix`.
fn threads_cpu_seconds(prefix: &str) -> Option<f64> {
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let path = entry.ok()?.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !comm.trim_end().starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).ok()?;
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        total += (utime + stime) / 100.0;
    }
    Some(total)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let seconds: f64 = std::env::var("SIM_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full { 10.0 } else { 0.5 });
    let connections: usize = std::env::var("SIM_BENCH_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);

    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sim-server")
        .enable_all()
        .build()
        .expect("server runtime");
    let sim = Simulator::new(SimulatorConfig::from_yaml_str(CONFIG).expect("config")).expect("sim");
    let listener = server
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    server.spawn(apim_simulator::serve(listener, sim));

    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("sim-load")
        .enable_all()
        .build()
        .expect("client runtime");
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (done, failed, counting, stop) =
            (done.clone(), failed.clone(), counting.clone(), stop.clone());
        tasks.push(client.spawn(async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let reqs: Vec<Vec<u8>> = (0..8).map(|k| request(c * 8 + k)).collect();
            let mut buf = Vec::with_capacity(32 * 1024);
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                stream
                    .write_all(&reqs[i % reqs.len()])
                    .await
                    .expect("write");
                let status = read_response(&mut stream, &mut buf).await.expect("read");
                if counting.load(Ordering::Relaxed) {
                    if status == 200 {
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                i += 1;
            }
        }));
    }
    // Warm up (tokenizer tables, connections), then measure.
    std::thread::sleep(Duration::from_millis(if full { 1000 } else { 200 }));
    counting.store(true, Ordering::Relaxed);
    let start = Instant::now();
    let cpu_start = process_cpu_seconds();
    let server_cpu_start = threads_cpu_seconds("sim-server");
    std::thread::sleep(Duration::from_secs_f64(seconds));
    counting.store(false, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    let server_cpu = match (server_cpu_start, threads_cpu_seconds("sim-server")) {
        (Some(a), Some(b)) if b > a => Some(b - a),
        _ => None,
    };
    let cpu = match (cpu_start, process_cpu_seconds()) {
        (Some(a), Some(b)) if b > a => Some(b - a),
        _ => None,
    };
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = client.block_on(t);
    }
    let n = done.load(Ordering::Relaxed);
    let rate = n as f64 / elapsed;
    println!(
        "simulator chat completions (non-streaming, latency off, {connections} keep-alive connections): {n} in {elapsed:.2} s = {rate:.0} per second ({} failed)",
        failed.load(Ordering::Relaxed)
    );
    if let Some(cpu) = cpu {
        // Server and load generator share this process: the CPU figure covers both.
        println!(
            "  CPU used by server + load generator: {cpu:.2} s over {elapsed:.2} s ({:.2} cores busy); {:.0} completions per CPU-second",
            cpu / elapsed,
            n as f64 / cpu
        );
    }
    if let Some(server_cpu) = server_cpu {
        println!(
            "  CPU used by the simulator's threads alone: {server_cpu:.2} s; {:.0} completions per server CPU-second",
            n as f64 / server_cpu
        );
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "  machine load average during the run: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert_eq!(failed.load(Ordering::Relaxed), 0, "non-200 responses");
}
