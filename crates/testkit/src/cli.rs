//! What `apim-emu test` and `apim-emu diff` do, minus argument parsing: the CLI module parses
//! its flags into these options, passes the engine adapter, prints `stdout` and exits with
//! `exit_code`.

use std::path::{Path, PathBuf};

use apim_gateway::config::LoadOptions;

use crate::diff::{DiffOptions, diff, load_target, read_requests, resolve_target};
use crate::engine::EngineUnderTest;
use crate::report::{human, junit};
use crate::runner::{RunOptions, run_paths};

/// Output and exit status of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    pub stdout: String,
    /// Messages for stderr (errors before anything ran).
    pub stderr: String,
    /// 0: all passed / no differences; 1: failures / differences; 2: could not run.
    pub exit_code: i32,
}

/// `apim-emu test PATH... [--junit FILE] [--filter PAT]`.
pub fn test_command<E: EngineUnderTest>(
    engine: &E,
    paths: &[PathBuf],
    junit_file: Option<&Path>,
    filter: Option<&str>,
    load: LoadOptions,
) -> CommandOutput {
    let opts = RunOptions {
        filter: filter.map(str::to_string),
        threads: None,
        load,
    };
    let report = match run_paths(engine, paths, &opts) {
        Ok(r) => r,
        Err(e) => {
            return CommandOutput {
                stdout: String::new(),
                stderr: format!("error: {e}\n"),
                exit_code: 2,
            };
        }
    };
    let mut stderr = String::new();
    if report.cases.is_empty() {
        stderr.push_str("error: no test cases found (check the paths and --filter)\n");
    }
    if let Some(f) = junit_file {
        if let Err(e) = std::fs::write(f, junit(&report)) {
            return CommandOutput {
                stdout: human(&report),
                stderr: format!("error: cannot write {}: {e}\n", f.display()),
                exit_code: 2,
            };
        }
    }
    CommandOutput {
        stdout: human(&report),
        stderr,
        exit_code: report.exit_code(),
    }
}

/// `--format` of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiffFormat {
    #[default]
    Human,
    Json,
}

/// `apim-emu diff OLD NEW --requests FILE [--format json]`. OLD and NEW: a configuration folder
/// or file, a policy file, or `git:REV:PATH` (resolved from `cwd`). `--mocks FILE`
/// ([`crate::diff::read_mocks`]), `--seed` and `--at` go into `options`.
pub fn diff_command<E: EngineUnderTest>(
    engine: &E,
    old: &str,
    new: &str,
    requests: &Path,
    format: DiffFormat,
    options: &DiffOptions,
    cwd: &Path,
) -> CommandOutput {
    let run = || -> Result<crate::diff::DiffReport, crate::diff::DiffError> {
        let reqs = read_requests(requests)?;
        let o = resolve_target(old, cwd)?;
        let n = resolve_target(new, cwd)?;
        let os = load_target(&o.path, None, &options.load)?;
        let ns = load_target(&n.path, None, &options.load)?;
        diff(engine, &os, &ns, &reqs, options)
    };
    match run() {
        Ok(r) => CommandOutput {
            stdout: match format {
                DiffFormat::Human => r.human(),
                DiffFormat::Json => r.json(),
            },
            stderr: String::new(),
            exit_code: r.exit_code(),
        },
        Err(e) => CommandOutput {
            stdout: String::new(),
            stderr: format!("error: {e}\n"),
            exit_code: 2,
        },
    }
}
