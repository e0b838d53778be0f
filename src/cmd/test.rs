use std::path::PathBuf;
use std::process::ExitCode;

use apim_testkit::PlanEngine;
use apim_testkit::cli::test_command;

#[derive(clap::Args)]
pub struct Args {
    /// Test files (`*.test.yaml`, or YAML in a `tests` folder) or folders to search for them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Run only the cases whose `suite/case` name contains this text.
    #[arg(long, value_name = "PAT")]
    filter: Option<String>,
    /// APIOps environment: applies `configuration.<env>.yaml` to the configurations loaded.
    #[arg(long)]
    env: Option<String>,
}

pub fn run(args: Args) -> ExitCode {
    let load = apim_gateway::config::LoadOptions {
        env: args.env,
        ..Default::default()
    };
    let out = test_command(
        &PlanEngine,
        &args.paths,
        args.junit.as_deref(),
        args.filter.as_deref(),
        load,
    );
    emit(&out)
}

/// Prints what the command produced and turns its exit code into the process's.
fn emit(out: &apim_testkit::cli::CommandOutput) -> ExitCode {
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    ExitCode::from(u8::try_from(out.exit_code).unwrap_or(2))
}
