//! Reloading the handler: requests in flight finish on the old one; the file watcher swaps a
//! new one in and keeps the old one when the rebuild fails.

#[path = "host_common.rs"]
mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use apim_gateway::host::{RequestHandler, watch_and_reload};
use common::*;
use tokio::sync::mpsc;

#[tokio::test]
async fn reload_keeps_requests_in_flight_on_the_old_handler() {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let release = Arc::new(tokio::sync::Notify::new());
    let host = start(
        config(),
        Arc::new(Slow {
            tag: "old",
            started: started_tx,
            release: release.clone(),
        }),
    )
    .await;
    let url = host.url("/slow");
    let in_flight = tokio::spawn(async move { client().get(url).send().await });
    tokio::time::timeout(SAFETY, started.recv())
        .await
        .unwrap()
        .unwrap();

    host.handle.reload(Arc::new(Echo { tag: "new" }));
    let resp = client().get(host.url("/x")).send().await.unwrap();
    assert_eq!(resp.headers()["x-handler"], "new");

    release.notify_one();
    let resp = in_flight.await.unwrap().unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "old");
    host.shutdown().await;
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("apim-emu-host-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn watcher_reloads_on_change_and_keeps_the_old_handler_on_error() {
    let dir = temp_dir("watch");
    let policy = dir.join("policy.xml");
    std::fs::write(&policy, "<policies/>").unwrap();
    let host = start(config(), Arc::new(Echo { tag: "first" })).await;

    let (report_tx, mut reports) = mpsc::unbounded_channel::<Result<(), String>>();
    let file = policy.clone();
    let _watcher = watch_and_reload(
        host.handle.clone(),
        std::slice::from_ref(&dir),
        Duration::from_millis(50),
        move || -> Result<Arc<dyn RequestHandler>, String> {
            let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
            if text.contains("broken") {
                Err(format!("{}:1:1: error: broken policy", file.display()))
            } else {
                Ok(Arc::new(Echo { tag: "second" }))
            }
        },
        move |r| {
            let _ = report_tx.send(r.map_err(|e| e.clone()));
        },
    )
    .unwrap();

    // A bad edit: reported, old handler kept.
    std::fs::write(&policy, "<policies broken").unwrap();
    let r = tokio::time::timeout(SAFETY, reports.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(r.unwrap_err().contains("broken policy"));
    let resp = client().get(host.url("/x")).send().await.unwrap();
    assert_eq!(resp.headers()["x-handler"], "first");

    // A good edit: swapped in.
    std::fs::write(&policy, "<policies></policies>").unwrap();
    loop {
        // Editors may produce several debounced batches; wait for a successful one.
        let r = tokio::time::timeout(SAFETY, reports.recv())
            .await
            .unwrap()
            .unwrap();
        if r.is_ok() {
            break;
        }
    }
    let resp = client().get(host.url("/x")).send().await.unwrap();
    assert_eq!(resp.headers()["x-handler"], "second");
    host.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
