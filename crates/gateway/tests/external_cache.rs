//! `externalCache: { redis: ... }` in apim-emu.yaml: read and checked by the loader, and used by
//! `serve` so that two gateways share rate-limit counters through one `redis-server` (started
//! by the test on 127.0.0.1; skipped with a message when absent, unless `CI` is set).

#[path = "../../engine/tests/limits_support.rs"]
mod support;

use std::path::{Path, PathBuf};

use apim_gateway::config::LoadOptions;
use apim_gateway::serve::{ServeOptions, start};

/// A folder holding `apim-emu.yaml` (removed when the guard drops) and the file's path.
fn temp_config(yaml: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::Builder::new()
        .prefix("apim-emu-xcache-")
        .tempdir()
        .unwrap();
    let f = d.path().join("apim-emu.yaml");
    std::fs::write(&f, yaml).unwrap();
    (d, f)
}

fn config(redis: &str) -> String {
    format!(
        r#"externalCache:
  redis: "{redis}"
apis:
  echo:
    path: echo
    subscriptionRequired: false
    policy: policy.xml
    operations:
      get:
        method: GET
        urlTemplate: /
"#
    )
}

fn load(path: &Path) -> Result<apim_gateway::LoadedConfig, String> {
    apim_gateway::load(path, &LoadOptions::default()).map_err(|e| e.render())
}

const POLICY: &str = r#"<policies>
  <inbound>
    <rate-limit-by-key calls="1" renewal-period="60" counter-key="everyone" />
    <return-response><set-status code="200" reason="OK" /></return-response>
  </inbound>
  <backend><forward-request /></backend>
  <outbound />
  <on-error />
</policies>"#;

#[test]
fn external_cache_is_read_and_checked() {
    let (_ok_dir, ok) = temp_config(&config("redis://127.0.0.1:6379"));
    std::fs::write(ok.with_file_name("policy.xml"), POLICY).unwrap();
    let l = load(&ok).unwrap();
    assert_eq!(l.external_cache.as_deref(), Some("redis://127.0.0.1:6379"));

    let (_bad_dir, bad) = temp_config(&config("http://127.0.0.1:6379"));
    std::fs::write(bad.with_file_name("policy.xml"), POLICY).unwrap();
    let e = load(&bad).unwrap_err();
    assert!(
        e.contains("externalCache.redis must be a redis://host:port URL"),
        "{e}"
    );

    let (_unknown_dir, unknown) = temp_config("externalCache:\n  host: 127.0.0.1\napis: {}\n");
    let e = load(&unknown).unwrap_err();
    assert!(e.contains("host"), "{e}");

    let (_none_dir, none) = temp_config("apis: {}\n");
    assert_eq!(load(&none).unwrap().external_cache, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_share_rate_limit_counters_through_the_external_cache() {
    let Some(server) = support::start_redis("serve externalCache two gateways") else {
        return;
    };
    let (_serve_dir, path) = temp_config(&config(&server.url));
    std::fs::write(path.with_file_name("policy.xml"), POLICY).unwrap();
    let mut urls = Vec::new();
    let mut stops = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let options = ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..ServeOptions::default()
        };
        let gw = start(&path, options)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        urls.push(format!("http://{}/echo/", gw.local_addr()));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        stops.push(tx);
        tasks.push(tokio::spawn(gw.serve(async {
            let _ = rx.await;
        })));
    }
    let client = reqwest::Client::new();
    let first = client.get(&urls[0]).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let second = client.get(&urls[1]).send().await.unwrap();
    assert_eq!(
        second.status(),
        429,
        "the other gateway counted the first call"
    );
    assert!(second.headers().contains_key("retry-after"));
    for s in stops {
        let _ = s.send(());
    }
    for t in tasks {
        let _ = t.await;
    }
}
