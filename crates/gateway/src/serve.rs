//! `apim-emu serve`: configuration + plan + host, wired together (docs/gateway.md, "Running").

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use apim_engine::plan::{Plan, PlanDiagnostic, compile, run_served};
use apim_engine::services::{RedisOptions, ReqwestClient, Services};
use apim_simulator::Simulator;

use crate::config::{ConfigError, LoadOptions, LoadedConfig, Logger, SimulatorBackend, load};
use crate::host::{
    DirectHttp1, GatewayHost, HandledResponse, HostConfig, HostError, HostHandle,
    InProcessBackends, MetricSeries, RequestHandler, RequestLog, WatchError, Watcher, handler_fn,
    stderr_sink, watch,
};
use crate::loggers::LoggerSinks;

/// The allocator the `apim-emu` binary installs (`#[global_allocator]`): under load, glibc's
/// malloc and free took about 30% of the gateway's CPU time (docs/performance.md).
pub use mimalloc::MiMalloc as Allocator;

/// What `serve` was asked for.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// `configuration.<env>.yaml` overrides of an APIOps folder.
    pub env: Option<String>,
    /// Reload on changes to the configuration and policy files.
    pub watch: bool,
    /// Request and response limits of the host.
    pub limits: Limits,
    /// Threads serving connections (`None`: one per core).
    pub workers: Option<usize>,
    /// Write one log line per request on stderr.
    pub log_requests: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: HostConfig::default().listen,
            env: None,
            watch: false,
            limits: Limits::default(),
            workers: None,
            log_requests: false,
        }
    }
}

/// The host's limits against hostile or broken clients and backends (docs/gateway.md, "Limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body (413 past it).
    pub max_request_body: usize,
    /// Largest response body (`None`: no limit).
    pub max_response_body: Option<usize>,
    /// Time to receive a request head; also how long an idle keep-alive connection stays open.
    pub header_read_timeout: Duration,
    /// Longest pause while a request body arrives (408 past it).
    pub body_read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        let h = HostConfig::default();
        Limits {
            max_request_body: h.max_request_body,
            max_response_body: h.max_response_body,
            header_read_timeout: h.header_read_timeout,
            body_read_timeout: h.body_read_timeout,
        }
    }
}

/// Why the gateway did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{}", .0.render())]
    Config(ConfigError),
    #[error("{}", render_plan_diagnostics(.0))]
    Plan(Vec<PlanDiagnostic>),
    #[error("simulator backend `{id}`: {message}")]
    Simulator { id: String, message: String },
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Watch(#[from] WatchError),
    #[error(transparent)]
    Logger(#[from] crate::loggers::LoggerError),
    /// A `certificates:` entry the engine refused.
    #[error("{0}")]
    Certificate(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("externalCache: {0}")]
    ExternalCache(String),
}

/// One line per diagnostic: `file:line:col: error[CODE]: message`.
pub fn render_plan_diagnostics(diags: &[PlanDiagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&format!(
            "{}:{}:{}: error[{}]: {}\n",
            d.origin, d.line, d.col, d.code, d.message
        ));
    }
    out
}

/// A bound gateway, not yet serving (call [`RunningGateway::serve`]).
pub struct RunningGateway {
    host: GatewayHost,
    handle: HostHandle,
    apis: Vec<String>,
    loggers: LoggerSinks,
    _watcher: Option<Watcher>,
}

impl fmt::Debug for RunningGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningGateway")
            .field("local_addr", &self.handle.local_addr())
            .field("apis", &self.apis)
            .finish_non_exhaustive()
    }
}

impl RunningGateway {
    pub fn local_addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    pub fn handle(&self) -> HostHandle {
        self.handle.clone()
    }

    /// The events a `memory` logger kept (as configured at start).
    pub fn logger_events(
        &self,
        logger_id: &str,
    ) -> Option<Vec<apim_engine::services::EventRecord>> {
        self.loggers.memory(logger_id)
    }

    /// The APIs served, as `name (/path)`.
    pub fn apis(&self) -> &[String] {
        &self.apis
    }

    /// The startup line printed by the CLI.
    pub fn startup_line(&self) -> String {
        format!(
            "apim-emu serve: listening on http://{} (APIs: {})",
            self.local_addr(),
            if self.apis.is_empty() {
                "none".to_string()
            } else {
                self.apis.join(", ")
            }
        )
    }

    /// Serves until `shutdown` completes, then drains requests in flight.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), HostError> {
        let RunningGateway { host, _watcher, .. } = self;
        let r = host.serve(shutdown).await;
        drop(_watcher);
        r
    }
}

/// Size and modification time of each file (and the folder, for added files), read without
/// opening them.
type Fingerprint = Vec<(PathBuf, Option<(std::time::SystemTime, u64)>)>;

fn fingerprint(files: &[PathBuf], root: &Path) -> Fingerprint {
    files
        .iter()
        .chain(std::iter::once(&root.to_path_buf()))
        .map(|f| {
            let m = std::fs::metadata(f)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())));
            (f.clone(), m)
        })
        .collect()
}

/// A loaded configuration compiled into a handler.
struct Built {
    handler: Arc<dyn RequestHandler>,
    loggers: LoggerSinks,
    apis: Vec<String>,
    files: Vec<PathBuf>,
    root: PathBuf,
}

fn services_for(
    simulators: &[SimulatorBackend],
    loggers: &[Logger],
    metrics: &MetricSeries,
) -> Result<(Services, LoggerSinks), ServeError> {
    let direct = DirectHttp1::new(Arc::new(ReqwestClient::new()));
    let mut http = InProcessBackends::new(Arc::new(direct));
    for s in simulators {
        let sim = Simulator::new(s.settings.to_simulator_config(0)).map_err(|e| {
            ServeError::Simulator {
                id: s.id.clone(),
                message: e.to_string(),
            }
        })?;
        // Tokenizer tables load now rather than on the first request.
        sim.warm_up();
        http = http.with_simulator(&SimulatorBackend::placeholder_url(&s.id), sim);
    }
    let mut services = Services::live();
    services.http = Arc::new(http);
    services.metrics = Arc::new(metrics.clone());
    // Event lines are stamped with the engine's clock.
    let loggers = LoggerSinks::from_config(loggers, services.clock.clone())?;
    services.events = Arc::new(loggers.clone());
    Ok((services, loggers))
}

fn plan_handler(plan: Plan, services: Services) -> Arc<dyn RequestHandler> {
    let services = Arc::new(services);
    handler_fn(move |req, info| {
        let (plan, services) = (plan.clone(), services.clone());
        Box::pin(async move {
            let mut o = run_served(&plan, req, &services, info.trace).await;
            // Served traces never show secret named values (keys in forwarded headers).
            if info.trace {
                o.trace.mask_strings(&|s| plan.mask(s));
            }
            let log = RequestLog {
                api: o.api_id,
                operation: o.operation_id,
                backend: o.backend,
                // The host reads them from the response's usage.
                tokens: None,
            };
            HandledResponse {
                response: o.response,
                trace: info.trace.then_some(o.trace),
                log,
            }
        })
    })
}

fn build(path: &Path, env: &Option<String>, metrics: &MetricSeries) -> Result<Built, ServeError> {
    let options = LoadOptions {
        env: env.clone(),
        ..Default::default()
    };
    let loaded: LoadedConfig = load(path, &options).map_err(ServeError::Config)?;
    let (mut services, loggers) = services_for(&loaded.simulators, &loaded.loggers, metrics)?;
    for c in &loaded.certificates {
        services
            .certificates
            .add(&c.id, &c.pem)
            .map_err(ServeError::Certificate)?;
    }
    if let Some(url) = &loaded.external_cache {
        // Counters and the external cache on Redis (connects lazily: starts while it is down).
        services = services
            .with_redis(url, RedisOptions::default())
            .map_err(|e| ServeError::ExternalCache(e.to_string()))?;
    }
    let plan = compile(&loaded.service, &services).map_err(ServeError::Plan)?;
    let apis = loaded
        .service
        .apis
        .iter()
        .map(|a| format!("{} (/{})", a.id, a.path))
        .collect();
    Ok(Built {
        handler: plan_handler(plan, services),
        loggers,
        apis,
        files: loaded.files,
        root: loaded.root,
    })
}

/// Loads the configuration at `path`, compiles its plan and binds the host. Nothing is served
/// until [`RunningGateway::serve`].
pub async fn start(path: &Path, options: ServeOptions) -> Result<RunningGateway, ServeError> {
    let metrics = MetricSeries::default();
    let built = build(path, &options.env, &metrics)?;
    let runtime = tokio::runtime::Handle::current();
    let config = HostConfig {
        listen: options.listen,
        metrics: Some(metrics.clone()),
        max_request_body: options.limits.max_request_body,
        max_response_body: options.limits.max_response_body,
        header_read_timeout: options.limits.header_read_timeout,
        body_read_timeout: options.limits.body_read_timeout,
        request_log: options.log_requests.then(stderr_sink),
        ..HostConfig::default()
    };
    let config = HostConfig {
        workers: options.workers.unwrap_or(config.workers).max(1),
        ..config
    };
    let host = GatewayHost::bind(config, built.handler).await?;
    let handle = host.handle();
    let watcher = if options.watch {
        let mut paths = built.files.clone();
        if built.root.is_dir() {
            paths.push(built.root.clone());
        } else if let Some(dir) = built.root.parent().filter(|d| d.is_dir()) {
            paths.push(dir.to_path_buf());
        }
        let (path, env) = (path.to_path_buf(), options.env.clone());
        let reload = handle.clone();
        let mut last = fingerprint(&built.files, &built.root);
        let mut files = built.files.clone();
        let root = built.root.clone();
        Some(watch(
            &paths,
            Duration::from_millis(200),
            move |_changed: &[PathBuf]| -> Result<(), ServeError> {
                // Reading the files to rebuild is itself reported by the watcher: rebuild only
                // when a file's size or modification time (or the folder's) really changed.
                let now = fingerprint(&files, &root);
                if now == last {
                    return Ok(());
                }
                last = now;
                // The Redis client of a rebuilt configuration runs on the gateway's runtime.
                let _rt = runtime.enter();
                match build(&path, &env, &metrics) {
                    Ok(b) => {
                        reload.reload(b.handler);
                        files = b.files;
                        last = fingerprint(&files, &root);
                        eprintln!("apim-emu serve: configuration reloaded");
                    }
                    Err(e) => {
                        let text = e.to_string();
                        eprint!("{text}");
                        if !text.ends_with('\n') {
                            eprintln!();
                        }
                        eprintln!(
                            "apim-emu serve: reload failed; still serving the last good configuration"
                        );
                    }
                }
                Ok(())
            },
        )?)
    } else {
        None
    };
    Ok(RunningGateway {
        host,
        handle,
        apis: built.apis,
        loggers: built.loggers,
        _watcher: watcher,
    })
}

/// For the CLI (which has no async runtime of its own): starts the gateway, calls `on_ready`
/// once it listens, and serves until ctrl-c.
pub fn run_blocking(
    path: &Path,
    options: ServeOptions,
    on_ready: impl FnOnce(&RunningGateway),
) -> Result<(), ServeError> {
    // One log line per request on stderr (RUST_LOG overrides the level).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,notify=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let options = ServeOptions {
        // RUST_LOG=warn (or any filter without apim_emu::request at INFO) turns the lines off.
        log_requests: options.log_requests
            || tracing::enabled!(target: "apim_emu::request", tracing::Level::INFO),
        ..options
    };
    // The host's worker threads run their own runtimes; this one accepts connections, watches
    // files and runs the Redis client.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    rt.block_on(async {
        let gw = start(path, options).await?;
        on_ready(&gw);
        gw.serve(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SimulatorDeployment, SimulatorSettings};
    use apim_simulator::SimulatorConfig;

    #[test]
    fn simulator_settings_become_the_simulators_deployments() {
        let mut settings = SimulatorSettings {
            latency_ms: Some(25),
            seed: Some(7),
            ..Default::default()
        };
        settings.deployments.insert(
            "chat".into(),
            SimulatorDeployment {
                model: Some("gpt-4o-mini".into()),
                tokens_per_minute: Some(30_000),
                requests_per_minute: Some(60),
            },
        );
        settings
            .deployments
            .insert("gpt-4o".into(), SimulatorDeployment::default());
        let c = settings.to_simulator_config(0);
        assert_eq!(c.seed, 7);
        assert_eq!(c.deployments.len(), 2);
        let chat = &c.deployments["chat"];
        assert_eq!(chat.model, "gpt-4o-mini");
        assert_eq!(chat.tokens_per_minute, Some(30_000));
        assert_eq!(chat.requests_per_minute, Some(60));
        assert_eq!(chat.latency.time_to_first_token_ms, 25);
        // No model: the deployment name is the model.
        assert_eq!(c.deployments["gpt-4o"].model, "gpt-4o");
        assert!(c.auth.keys.is_empty());
    }

    #[test]
    fn no_deployments_keeps_the_simulators_defaults() {
        let c = SimulatorSettings::default().to_simulator_config(0);
        assert_eq!(c.deployments, SimulatorConfig::default().deployments);
    }

    #[test]
    fn plan_diagnostics_print_as_file_line_col_code() {
        let d = PlanDiagnostic {
            origin: "policy.xml".into(),
            line: 12,
            col: 9,
            code: "PLAN0001",
            message: "policy 'validate-jwt' is not supported by the emulator yet".into(),
        };
        assert_eq!(
            render_plan_diagnostics(&[d]),
            "policy.xml:12:9: error[PLAN0001]: policy 'validate-jwt' is not supported by the emulator yet\n"
        );
    }
}
