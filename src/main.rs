//! `apim-emu`: run Azure API Management policy documents locally.
//! One thin module per subcommand; the logic lives in the crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

#[derive(Parser)]
#[command(
    name = "apim-emu",
    version,
    about = "Run Azure API Management policies locally, unchanged"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Report errors in policy documents, as APIM would when they are saved.
    Check(cmd::check::Args),
    /// Convert policy documents between the raw form people edit and the escaped XML form.
    Fmt(cmd::fmt::Args),
    /// Evaluate a policy expression and print its value and .NET type.
    Eval(cmd::eval::Args),
    /// Run a local gateway that executes the policies per request.
    Serve(cmd::serve::Args),
    /// Run policy unit tests.
    Test(cmd::test::Args),
    /// Show what a policy change does to a set of requests.
    Diff(cmd::diff::Args),
    /// Run the Azure OpenAI simulator backend.
    Simulate(cmd::simulate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Fmt(args) => cmd::fmt::run(args),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Test(args) => cmd::test::run(args),
        Command::Diff(args) => cmd::diff::run(args),
        Command::Simulate(args) => cmd::simulate::run(args),
    }
}
