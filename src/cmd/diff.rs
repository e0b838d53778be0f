use std::path::PathBuf;
use std::process::ExitCode;

use apim_testkit::PlanEngine;
use apim_testkit::cli::{DiffFormat, diff_command};
use apim_testkit::diff::{DiffOptions, read_mocks};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// The version before: a configuration folder or file, a policy file, or `git:REV:PATH`.
    old: String,
    /// The version after, in the same forms.
    new: String,
    /// JSON-lines file of requests sent through both versions.
    #[arg(long, value_name = "FILE")]
    requests: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Mocked backends both versions share (YAML or JSON, the test format's `mocks`).
    #[arg(long, value_name = "FILE")]
    mocks: Option<PathBuf>,
    /// Seed of the random numbers both versions share.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// APIOps environment: applies `configuration.<env>.yaml` to both configurations.
    #[arg(long)]
    env: Option<String>,
}

pub fn run(args: Args) -> ExitCode {
    let mocks = match args.mocks.as_deref().map(read_mocks).transpose() {
        Ok(m) => m.unwrap_or_default(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot read the current folder: {e}");
            return ExitCode::from(2);
        }
    };
    let options = DiffOptions {
        mocks,
        seed: args.seed,
        load: apim_gateway::config::LoadOptions {
            env: args.env,
            ..Default::default()
        },
        ..Default::default()
    };
    let format = match args.format {
        Format::Human => DiffFormat::Human,
        Format::Json => DiffFormat::Json,
    };
    let out = diff_command(
        &PlanEngine,
        &args.old,
        &args.new,
        &args.requests,
        format,
        &options,
        &cwd,
    );
    emit(&out)
}

/// Prints what the command produced and turns its exit code into the process's.
fn emit(out: &apim_testkit::cli::CommandOutput) -> ExitCode {
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    ExitCode::from(u8::try_from(out.exit_code).unwrap_or(2))
}
