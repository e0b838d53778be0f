//! Scenarios shared by the in-process and Redis limit tests (included with `#[path]`).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use apim_engine::counters::{
    RateDecision, RateLimit, RateLimiter, TokenDecision, TokenLimiter, TokenLimits,
};
use apim_engine::services::VirtualClock;

/// What the client of the token-limit guide printed for one run.
#[derive(Debug, PartialEq, Eq)]
pub enum Run {
    Ok { consumed: u64, remaining: u64 },
    TooMany(String),
}

/// The guide's notebook (shared/seeds/000_*): TPM 100, five chat completions, a 15 s pause
/// after each response. Backend latencies on the virtual clock, rounded from the guide's
/// "completed in" figures: 2 s, 1 s, then 0.5 s for the 429s and 1 s for the last call. The
/// usage is counted when the response arrives; calls go to `gateways` in turn.
pub async fn token_limit_transcript(gateways: &[TokenLimiter], clock: &VirtualClock) -> Vec<Run> {
    let limits = TokenLimits {
        tokens_per_minute: Some(100),
        quota: None,
    };
    let usage = [59, 55, 58, 55, 55];
    let latency_ms = [2000, 1000, 1000, 1000, 1000];
    let mut out = Vec::new();
    for (i, tokens) in usage.into_iter().enumerate() {
        let gw = &gateways[i % gateways.len()];
        match gw.check("subscription-1", &limits, None).await {
            TokenDecision::Allowed(ticket) => {
                clock.advance(Duration::from_millis(latency_ms[i]));
                let u = gw.settle(&ticket, tokens).await;
                out.push(Run::Ok {
                    consumed: u.consumed,
                    remaining: u.remaining_tokens.unwrap_or(u64::MAX),
                });
            }
            TokenDecision::RateExceeded {
                retry_after_secs: Some(s),
                ..
            } => {
                out.push(Run::TooMany(format!(
                    "Token limit is exceeded. Try again in {s} seconds."
                )));
                clock.advance(Duration::from_millis(500));
            }
            other => panic!("unexpected {other:?}"),
        }
        clock.advance(Duration::from_secs(15));
    }
    out
}

pub fn transcript_expected() -> Vec<Run> {
    vec![
        Run::Ok {
            consumed: 59,
            remaining: 41,
        },
        Run::Ok {
            consumed: 55,
            remaining: 0,
        },
        Run::TooMany("Token limit is exceeded. Try again in 29 seconds.".into()),
        Run::TooMany("Token limit is exceeded. Try again in 14 seconds.".into()),
        Run::Ok {
            consumed: 55,
            remaining: 0,
        },
    ]
}

pub const KEYS: usize = 4;

/// 8 concurrent workers × 1,000 requests over `KEYS` counter keys against
/// `rate-limit-by-key calls="100" renewal-period="60"`, all within one window. Returns the
/// admitted calls per key. `limiters` are used in turn by the workers (one per gateway).
pub async fn hammer(limiters: Vec<Arc<RateLimiter>>) -> Vec<u64> {
    let admitted: Arc<Vec<AtomicU64>> = Arc::new((0..KEYS).map(|_| AtomicU64::new(0)).collect());
    let limit = RateLimit::new(100, 60);
    let mut tasks = Vec::new();
    for w in 0..8 {
        let limiter = limiters[w % limiters.len()].clone();
        let admitted = admitted.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..1000usize {
                let k = (i + w) % KEYS;
                match limiter.check(&format!("client-{k}"), limit, Some(1)).await {
                    RateDecision::Allowed { .. } => {
                        admitted[k].fetch_add(1, Ordering::SeqCst);
                    }
                    RateDecision::Limited {
                        retry_after_secs, ..
                    } => assert!((1..=60).contains(&retry_after_secs)),
                }
                if i % 16 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    admitted.iter().map(|a| a.load(Ordering::SeqCst)).collect()
}

/// 8 concurrent workers × 200 token-limit checks with an estimate of 7 prompt tokens against
/// tokens-per-minute 1000, none settled yet: provisional estimates never over-admit.
pub async fn hammer_estimates(gateways: Vec<Arc<TokenLimiter>>) -> u64 {
    let admitted = Arc::new(AtomicU64::new(0));
    let limits = TokenLimits {
        tokens_per_minute: Some(1000),
        quota: None,
    };
    let mut tasks = Vec::new();
    for w in 0..8 {
        let gw = gateways[w % gateways.len()].clone();
        let admitted = admitted.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..200 {
                if let TokenDecision::Allowed(_) = gw.check("deployment", &limits, Some(7)).await {
                    admitted.fetch_add(1, Ordering::SeqCst);
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    admitted.load(Ordering::SeqCst)
}

/// A `redis-server` on 127.0.0.1 started by a test; stopped when dropped.
pub struct RedisServer {
    child: Child,
    pub url: String,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts `redis-server`, or returns `None` (skip) when it is not installed outside CI.
pub fn start_redis(test: &str) -> Option<RedisServer> {
    start_redis_on(test, free_port())
}

pub fn start_redis_on(test: &str, port: u16) -> Option<RedisServer> {
    let installed = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        if std::env::var_os("CI").is_some() {
            panic!("redis-server is required in CI (.ci/install.d/40-redis.sh installs it)");
        }
        // Straight to stderr: the test harness would capture `eprintln!` of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: redis-server not installed (apt-get install redis-server)"
        );
        return None;
    }
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    // Ready when it says so (no polling on the wall clock); keep draining its log afterwards.
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut ready = false;
    for line in lines.by_ref() {
        let Ok(line) = line else { break };
        if line.contains("Ready to accept connections") {
            ready = true;
            break;
        }
    }
    assert!(ready, "redis-server on port {port} did not start");
    std::thread::spawn(move || for _ in lines {});
    Some(RedisServer {
        child,
        url: format!("redis://127.0.0.1:{port}/"),
    })
}
