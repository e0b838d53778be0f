//! Loading a gateway configuration into the engine's [`ServiceDefinition`]: the own
//! `apim-emu.yaml` format ([`file`]) or an APIOps extractor folder ([`apiops`]). Loading reads
//! files, resolves references and reports every problem with its file, line and column; it never
//! evaluates policies, and a configuration with any error does not load at all.

pub mod apiops;
pub mod de;
pub mod diag;
pub mod file;
pub mod node;
pub mod openapi;
pub mod references;
pub mod vars;

use std::path::{Path, PathBuf};

use apim_engine::service::{PolicySource, ServiceDefinition};

pub use diag::{ConfigError, Diagnostic, ErrorKind};
pub use file::{SimulatorDeployment, SimulatorSettings};
pub use vars::Environment;

use node::{FileId, Mark, Sources};
use vars::Vars;

/// Names the configuration file is looked for under, in a directory.
pub const CONFIG_FILE_NAMES: &[&str] = &["apim-emu.yaml", "apim-emu.yml", "apim-emu.json"];

/// Options of one load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// APIOps environment: applies `configuration.<env>.yaml` (`--env`).
    pub env: Option<String>,
    /// Where `env:` values and secrets come from (the process environment by default).
    pub environment: Environment,
}

/// Which format the configuration was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFormat {
    /// `apim-emu.yaml`.
    File,
    /// An APIOps extractor folder.
    ApiOps,
}

/// A backend of type `simulator`: served by the built-in Azure OpenAI simulator. In `service` it
/// is a `Single` backend whose URL is [`SimulatorBackend::placeholder_url`] until the host
/// starts the simulator and replaces it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorBackend {
    pub id: String,
    pub settings: SimulatorSettings,
}

impl SimulatorBackend {
    /// `http://<id>.simulator.invalid`: a reserved name that never resolves, so an unwired
    /// simulator fails loudly instead of reaching some other host.
    pub fn placeholder_url(id: &str) -> String {
        let host: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        format!("http://{host}.simulator.invalid")
    }
}

/// A loaded configuration.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub service: ServiceDefinition,
    pub format: ConfigFormat,
    /// The configuration file, or the APIOps folder.
    pub root: PathBuf,
    /// Every file read (for `--watch`).
    pub files: Vec<PathBuf>,
    pub simulators: Vec<SimulatorBackend>,
    /// `externalCache.redis`: the Redis URL counters and external cache entries live on.
    pub external_cache: Option<String>,
    /// Things that were read but are not emulated (APIOps `gateways/`, `loggers/`, ...), to print.
    pub notes: Vec<String>,
    /// `loggers:` of apim-emu.yaml: where `log-to-eventhub` events go, by logger id.
    pub loggers: Vec<Logger>,
    /// `certificates:` of apim-emu.yaml, for the engine's `services.certificates`.
    pub certificates: Vec<Certificate>,
}

/// A certificate entity: its id and the PEM text (certificate, and private key when present).
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    pub id: String,
    pub path: PathBuf,
    pub pem: String,
}

impl std::fmt::Debug for Certificate {
    // The PEM may hold a private key: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("id", &self.id)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A logger (`log-to-eventhub logger-id`) and its sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logger {
    pub id: String,
    pub sink: LoggerSink,
}

/// Where a logger's events go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoggerSink {
    /// One JSON line per event on standard output.
    Stdout,
    /// One JSON line per event appended to this file.
    File(PathBuf),
    /// Kept in the process (tests, the library).
    Memory,
}

/// Loads `path`: an `apim-emu.yaml` (or `.yml`/`.json`) file, a directory holding one, or an
/// APIOps extractor folder.
pub fn load(path: &Path, options: &LoadOptions) -> Result<LoadedConfig, ConfigError> {
    let meta = std::fs::metadata(path).map_err(|e| {
        ConfigError::one(Diagnostic::at_file(
            ErrorKind::Io,
            path,
            format!("cannot read: {e}"),
        ))
    })?;
    if meta.is_dir() {
        for name in CONFIG_FILE_NAMES {
            let f = path.join(name);
            if f.is_file() {
                return file::load(&f, options);
            }
        }
        if apiops::looks_like_apiops(path) {
            return apiops::load(path, options);
        }
        let mut d = Diagnostic::at_file(
            ErrorKind::Io,
            path,
            "neither an apim-emu.yaml nor an APIOps extractor folder (no policy.xml, apis/, backends/, \
             named values/, products/ ...)",
        );
        // A repository root whose artifacts folder is one level down (e.g. `apimartifacts/`).
        if let Ok(rd) = std::fs::read_dir(path) {
            let mut found: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.is_dir()
                        && (apiops::looks_like_apiops(p)
                            || CONFIG_FILE_NAMES.iter().any(|n| p.join(n).is_file()))
                })
                .collect();
            found.sort();
            for f in found {
                d.notes.push(format!("did you mean `{}`?", f.display()));
            }
        }
        return Err(ConfigError::one(d));
    }
    file::load(path, options)
}

/// What is wrong with a circuit breaker failure condition's thresholds, if anything.
pub(crate) fn failure_condition_problem(
    count: Option<u32>,
    percentage: Option<u32>,
) -> Option<&'static str> {
    match (count, percentage) {
        (Some(_), Some(_)) => Some("`count` and `percentage` are exclusive"),
        (None, None) => Some("a failure condition needs `count` or `percentage`"),
        (Some(0), _) => Some("`count` must be at least 1"),
        (_, Some(p)) if p == 0 || p > 100 => Some("`percentage` must be 1..100"),
        _ => None,
    }
}

/// A secret the configuration expects from the environment and did not get.
pub(crate) struct MissingSecret {
    pub var: String,
    pub what: String,
    pub mark: Mark,
}

/// State shared by both loaders while one configuration loads.
pub(crate) struct Ctx {
    pub sources: Sources,
    pub errors: Vec<Diagnostic>,
    pub missing: Vec<MissingSecret>,
    pub notes: Vec<String>,
    pub vars: Vars,
}

impl Ctx {
    pub fn new(vars: Vars) -> Self {
        Ctx {
            sources: Sources::default(),
            errors: Vec::new(),
            missing: Vec::new(),
            notes: Vec::new(),
            vars,
        }
    }

    pub fn error(&mut self, kind: ErrorKind, mark: Mark, message: impl Into<String>) {
        let d = self.sources.error(kind, mark, message);
        self.errors.push(d);
    }

    /// Reads a text file into the sources; `None` (and an error at `referenced_at`, or about the
    /// file itself) when it cannot be read.
    pub fn read(&mut self, path: &Path, referenced_at: Option<(Mark, &str)>) -> Option<FileId> {
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Some(self.sources.add(path, text)),
                Err(_) => {
                    self.errors
                        .push(Diagnostic::at_file(ErrorKind::Io, path, "not valid UTF-8"));
                    None
                }
            },
            Err(e) => {
                let what = if e.kind() == std::io::ErrorKind::NotFound {
                    "not found".to_string()
                } else {
                    e.to_string()
                };
                match referenced_at {
                    Some((mark, kind)) => self.error(
                        ErrorKind::UnknownReference,
                        mark,
                        format!("{kind} `{}`: {what}", path.display()),
                    ),
                    None => self.errors.push(Diagnostic::at_file(
                        ErrorKind::Io,
                        path,
                        format!("cannot read: {what}"),
                    )),
                }
                None
            }
        }
    }

    /// Reads a policy file named at `mark`, relative to `base`.
    pub fn policy(&mut self, base: &Path, rel: &str, mark: Mark) -> Option<PolicySource> {
        let path = base.join(rel);
        let id = self.read(&path, Some((mark, "policy file")))?;
        Some(PolicySource::file(path, self.sources.text(id).to_string()))
    }

    /// Reads a policy file that the folder layout itself names (APIOps).
    pub fn policy_at(&mut self, path: &Path) -> Option<PolicySource> {
        let id = self.read(path, None)?;
        Some(PolicySource::file(path, self.sources.text(id).to_string()))
    }

    /// Reports `{{name}}` references in `text` (read at `mark`) to named values that do not exist:
    /// APIM refuses to save such a backend.
    pub fn check_named_value_refs(
        &mut self,
        named: &apim_engine::named_values::NamedValues,
        all: &[&str],
        text: &str,
        mark: Mark,
    ) {
        use apim_engine::named_values::{NamedValueError, UnknownNames};
        if let Err(NamedValueError::Unknown { name, .. }) =
            named.substitute(text, UnknownNames::Error)
        {
            let hint = match de::did_you_mean(&name, all.iter().copied()) {
                Some(m) => format!(", did you mean `{m}`?"),
                None => String::new(),
            };
            self.error(
                ErrorKind::UnknownReference,
                mark,
                format!("unknown named value `{{{{{name}}}}}`{hint}"),
            );
        }
    }

    /// An environment variable, or records it as missing.
    pub fn secret(&mut self, var: &str, what: impl Into<String>, mark: Mark) -> Option<String> {
        if var.is_empty() || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            self.error(
                ErrorKind::InvalidValue,
                mark,
                format!("`{var}` is not an environment variable name (letters, digits and `_`)"),
            );
            return None;
        }
        match self.vars.get(var) {
            Some(v) => Some(v),
            None => {
                if !self.missing.iter().any(|m| m.var == var) {
                    self.missing.push(MissingSecret {
                        var: var.to_string(),
                        what: what.into(),
                        mark,
                    });
                }
                None
            }
        }
    }

    /// Ends the load: every error, or the configuration.
    pub fn finish(
        mut self,
        service: ServiceDefinition,
        format: ConfigFormat,
        root: &Path,
        dotenv_dir: &Path,
        simulators: Vec<SimulatorBackend>,
    ) -> Result<LoadedConfig, ConfigError> {
        if !self.missing.is_empty() {
            let first = self.missing[0].mark;
            let n = self.missing.len();
            let mut d = self.sources.error(
                ErrorKind::MissingSecret,
                first,
                format!(
                    "{n} secret{} not set: define {} in the environment or in {}",
                    if n == 1 { " is" } else { "s are" },
                    if n == 1 { "it" } else { "them" },
                    dotenv_dir.join(".env").display()
                ),
            );
            for m in &self.missing {
                let p = self.sources.path(m.mark.file).display().to_string();
                d.notes.push(format!(
                    "{} ({} at {p}:{}:{})",
                    m.var, m.what, m.mark.line, m.mark.col
                ));
            }
            self.errors.push(d);
        }
        if self.errors.is_empty() {
            // The engine's own consistency check, as a last net under the located checks above.
            if let Err(errs) = service.validate() {
                for e in errs {
                    self.errors.push(Diagnostic::at_file(
                        ErrorKind::InvalidValue,
                        root,
                        e.to_string(),
                    ));
                }
            }
        }
        if !self.errors.is_empty() {
            // Source order reads best; the sort is stable for diagnostics on the same spot.
            self.errors
                .sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
            return Err(ConfigError {
                diagnostics: self.errors,
            });
        }
        let mut files: Vec<PathBuf> = self.sources.paths().map(Path::to_path_buf).collect();
        let dotenv = dotenv_dir.join(".env");
        if dotenv.is_file() {
            files.push(dotenv);
        }
        files.sort();
        files.dedup();
        Ok(LoadedConfig {
            service,
            format,
            root: root.to_path_buf(),
            files,
            simulators,
            external_cache: None,
            notes: self.notes,
            loggers: Vec::new(),
            certificates: Vec::new(),
        })
    }
}
