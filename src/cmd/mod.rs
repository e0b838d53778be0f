pub mod check;
pub mod diff;
pub mod eval;
pub mod fmt;
pub mod serve;
pub mod simulate;
pub mod test;

use std::process::ExitCode;

/// Exit status for a command that exists in the CLI but is not built yet: says so plainly.
pub fn not_available(command: &str, issue: u32) -> ExitCode {
    eprintln!(
        "error: `apim-emu {command}` is not available in this build yet (tracked in issue #{issue})"
    );
    ExitCode::from(2)
}
