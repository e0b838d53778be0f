//! `--watch`: a debounced file watcher that reloads the host when configuration or policy
//! files change. A reload that fails keeps the handler that is serving and reports the error.

use std::fmt::Display;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};

use super::{HostHandle, RequestHandler};

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot watch {path}: {message}")]
    Watch { path: PathBuf, message: String },
    #[error("cannot start the file watcher: {0}")]
    Start(String),
}

/// Watches while alive; dropping it stops watching.
pub struct Watcher {
    _debouncer: Debouncer<RecommendedWatcher>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

/// Calls `on_change` with the changed paths once changes to any of `paths` (files, or
/// folders watched recursively) have been quiet for `debounce`. An `Err` from `on_change` is
/// logged and watching goes on. `on_change` runs on the watcher's own thread.
pub fn watch<F, E>(
    paths: &[PathBuf],
    debounce: Duration,
    mut on_change: F,
) -> Result<Watcher, WatchError>
where
    F: FnMut(&[PathBuf]) -> Result<(), E> + Send + 'static,
    E: Display,
{
    let mut debouncer = new_debouncer(debounce, move |res: DebounceEventResult| match res {
        Ok(events) => {
            let mut changed: Vec<PathBuf> = events.into_iter().map(|e| e.path).collect();
            changed.sort();
            changed.dedup();
            if changed.is_empty() {
                return;
            }
            if let Err(e) = on_change(&changed) {
                tracing::error!(target: "apim_emu::watch", "reload failed; still serving the last good configuration:\n{e}");
            }
        }
        Err(e) => {
            tracing::warn!(target: "apim_emu::watch", error = %e, "file watcher error");
        }
    })
    .map_err(|e| WatchError::Start(e.to_string()))?;
    for p in paths {
        let mode = if p.is_dir() {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        debouncer
            .watcher()
            .watch(p, mode)
            .map_err(|e| WatchError::Watch {
                path: p.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(Watcher {
        _debouncer: debouncer,
    })
}

/// Watches `paths` and, on a change, builds a new handler with `build` and swaps it into the
/// host. When `build` fails (a bad edit) the host keeps its handler and the error is logged;
/// `report` also receives every outcome (e.g. to print the diagnostic on the console).
pub fn watch_and_reload<B, E, R>(
    host: HostHandle,
    paths: &[PathBuf],
    debounce: Duration,
    build: B,
    report: R,
) -> Result<Watcher, WatchError>
where
    B: Fn() -> Result<Arc<dyn RequestHandler>, E> + Send + 'static,
    E: Display,
    R: Fn(Result<(), &E>) + Send + 'static,
{
    watch(paths, debounce, move |_changed| match build() {
        Ok(h) => {
            host.reload(h);
            tracing::info!(target: "apim_emu::watch", "configuration reloaded");
            report(Ok(()));
            Ok(())
        }
        Err(e) => {
            report(Err(&e));
            Err(e)
        }
    })
}
