use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Arguments (not yet defined).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

pub fn run(_args: Args) -> ExitCode {
    super::not_available("simulate", 7)
}
